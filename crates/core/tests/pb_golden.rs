//! Golden transcripts for primary-backup, in the style of `multi_paxos_golden.rs`.
//!
//! A tiny deterministic driver (no simulator): node 0 is the view service and the
//! others replicas; a FIFO message queue delivered only when a script says so, the one
//! timer (`tick`) fired only when a script says so, and a global clock that moves only
//! when a timer fires (to its deadline) or on `advance`. The invariant checker runs
//! after every handled event.
//!
//! Scripts live in `tests/golden/primary-backup/*.txt` (shared format:
//! `tests/common/mod.rs`). Run with `UPDATE_GOLDEN=1` to rewrite the expected parts.
//!
//! Commands:
//! * `add-nodes N [param=value ...]`: boot N nodes (node 0: the view service).
//! * `tick I`: fire node I's tick (a replica pings and re-sends; the view service
//!   decides). `tick-all`: every live node's, in order.
//! * `advance MS`: move the clock.
//! * `propose I x=4 | read x | cas x 4 5 [client=C] [seq=S]`: a client request to I.
//! * `deliver [A->B]`, `drop A->B`: as in the other transcripts.
//! * `crash I`, `restart I [--no-disk]`, `partition 0,1 | 2`, `heal`, `status`.
//! * `raft-timer I election|heartbeat|check-quorum`: with `view_store=raft`, fire view
//!   node I's Raft timer (its Raft messages print as `raft KIND term=T`, with the view
//!   a command writes decoded).

mod common;

use common::{kv, set, Clients, Flat, Net, Transcript};
use quorumlab_core::pb::{
    raftview, PbMsg, PbParams, PbTimer, PbWrite, PrimaryBackup, View, TIMER_TICK,
};
use quorumlab_core::raft::{Cmd, RaftMsg, RaftWrite};
use quorumlab_core::{Ctx, Effect, Message, NodeId, Op, Outcome, Protocol, Timer, MS};
use std::fmt::Write as _;

fn view(v: &View) -> String {
    let p = v.primary.map(|p| p.to_string()).unwrap_or("-".into());
    let b: Vec<String> = v.backups.iter().map(|x| x.to_string()).collect();
    format!("epoch {} primary {p} backups [{}]", v.epoch, b.join(","))
}

fn op(o: &Op) -> String {
    match o {
        Op::Read { key } => format!("read {key}"),
        Op::Write { key, value } => format!("{key}={value}"),
        Op::Cas { key, expect, new } => format!("cas {key} {expect}->{new}"),
        other => format!("{} {}", other.kind().name(), other.key()),
    }
}

fn msg(m: &PbMsg) -> String {
    match m {
        PbMsg::Ping {
            epoch,
            synced,
            last,
            lagging,
            ..
        } => {
            let l = if lagging.is_empty() {
                String::new()
            } else {
                format!(" lagging={}", set(lagging))
            };
            format!("ping epoch={epoch} synced={synced} last={last}{l}")
        }
        PbMsg::View { view: v, .. } => format!("view {}", view(v)),
        PbMsg::Snapshot { view: v, snapshot } => format!(
            "snapshot ({}) index={} kv={}",
            view(v),
            snapshot.index,
            kv(&snapshot.state.kv)
        ),
        PbMsg::Append {
            epoch,
            prev,
            entries,
        } => {
            let e: Vec<String> = entries
                .iter()
                .map(|e| {
                    format!(
                        "{}:{} (c{}#{})",
                        e.index,
                        op(&e.req.op),
                        e.req.client,
                        e.req.seq
                    )
                })
                .collect();
            format!("append epoch={epoch} prev={prev} [{}]", e.join(", "))
        }
        PbMsg::Ack {
            epoch,
            last,
            synced,
        } => format!("ack epoch={epoch} last={last} synced={synced}"),
        PbMsg::Stale { epoch } => format!("stale-epoch epoch={epoch}"),
        PbMsg::Forward { req } => format!("forward {} (c{}#{})", op(&req.op), req.client, req.seq),
        PbMsg::Raft { msg: m } => {
            let mut s = format!("raft {} term={}", m.kind(), m.term());
            if let RaftMsg::Append {
                entries, commit, ..
            } = m
            {
                let e: Vec<String> = entries.iter().map(|e| cmd(&e.cmd)).collect();
                let _ = write!(s, " [{}] commit={commit}", e.join(", "));
            }
            s
        }
    }
}

/// A Raft view store's command: the view it writes, decoded.
fn cmd(c: &Cmd) -> String {
    match c {
        Cmd::Noop => "noop".into(),
        Cmd::Config { members } => format!("config {}", set(members)),
        Cmd::Import(i) => format!("import {} keys", i.kv.len()),
        Cmd::Client(r) => match &r.op {
            Op::Write { key, value } if key == "view" => {
                format!("set view ({})", view(&raftview::unpack(*value)))
            }
            Op::Cas { key, expect, new } if key == "view" => format!(
                "cas view ({}) -> ({})",
                view(&raftview::unpack(*expect)),
                view(&raftview::unpack(*new))
            ),
            o => op(o),
        },
    }
}

fn outcome(o: &Outcome) -> String {
    match o {
        Outcome::Redirect {
            leader: Some(l),
            term,
        } => format!("redirect to {l} (epoch {term})"),
        Outcome::Redirect { leader: None, term } => {
            format!("redirect (no primary known, epoch {term})")
        }
        o => common::outcome(o),
    }
}

fn write(w: &PbWrite) -> String {
    match w {
        PbWrite::Append(e) => format!("append {}:{}", e.index, op(&e.req.op)),
        PbWrite::Snapshot(s) => format!("snapshot index={} kv={}", s.index, kv(&s.state.kv)),
        PbWrite::View(v) => format!("view {}", view(v)),
        PbWrite::Raft(RaftWrite::HardState { term, vote }) => {
            let v = vote.map(|v| v.to_string()).unwrap_or("-".into());
            format!("raft term={term} vote={v}")
        }
        PbWrite::Raft(RaftWrite::Append {
            from_index,
            entries,
        }) => {
            let e: Vec<String> = entries.iter().map(|e| cmd(&e.cmd)).collect();
            format!("raft log from {from_index}: [{}]", e.join(", "))
        }
        PbWrite::Raft(RaftWrite::Snapshot(s)) => format!("raft snapshot index={}", s.index),
    }
}

struct Cluster {
    params: PbParams,
    initial: Vec<NodeId>,
    net: Net<PrimaryBackup>,
    clients: Clients,
}

impl Cluster {
    fn line(&mut self, s: impl AsRef<str>) {
        self.net.line(s);
    }

    fn view(&self, i: NodeId) -> Option<Flat> {
        self.net.node(i).map(|n| Flat::from(n.view()))
    }

    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut PrimaryBackup, &mut Ctx<'_, PrimaryBackup>)) {
        let before = self.view(i);
        let ran = self.net.handle(i, f, |e| match e {
            Effect::Persist(w) => Some(write(w)),
            Effect::Reply(r) => Some(outcome(&r.outcome)),
            // This protocol reports nothing of its own.
            _ => None,
        });
        if !ran {
            return;
        }
        if let (Some(b), Some(a)) = (before, self.view(i)) {
            self.diff(i, &b, &a);
        }
        self.net.check(i);
    }

    fn diff(&mut self, i: NodeId, b: &Flat, a: &Flat) {
        if a.role != b.role || a.term != b.term {
            self.line(format!(
                "  {i} {} (epoch {}) -> {} (epoch {}): {}",
                b.role, b.term, a.role, a.term, a.last_change
            ));
        }
        for label in ["semi-sync", "chain", "view group", "status"] {
            if a.note(label) != b.note(label) {
                self.line(format!("  {i} {label}: {}", a.note(label)));
            }
        }
        if a.applied_index != b.applied_index || a.kv != b.kv {
            self.line(format!(
                "  {i} log {} -> {}, kv {}",
                b.applied_index,
                a.applied_index,
                kv(&a.kv)
            ));
        }
    }

    fn boot(&mut self, i: NodeId, disk: bool) {
        self.net.boot(i, &self.initial, &self.params, disk);
        let v = self.view(i).expect("booted");
        self.line(format!(
            "  {i} boots as {} (epoch {}, log {}): {}",
            v.role, v.term, v.applied_index, v.last_change
        ));
        self.run(i, |r, cx| r.start(cx));
    }

    fn fire(&mut self, i: NodeId, timer: PbTimer) {
        if self.net.due(i, timer) {
            self.run(i, |r, cx| r.on_timer(cx, timer));
        }
    }
}

impl Transcript for Cluster {
    type P = PrimaryBackup;

    fn new() -> Self {
        Cluster {
            params: PbParams::default(),
            initial: Vec::new(),
            net: Net::new(msg),
            clients: Clients::default(),
        }
    }

    fn net(&mut self) -> &mut Net<PrimaryBackup> {
        &mut self.net
    }

    fn command(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |k| common::num(line, k);
        match words[0] {
            "add-nodes" => {
                let n = num(1);
                self.params = common::params::<PrimaryBackup>(&words[2..]);
                self.initial = (0..n).collect();
                for i in 0..n {
                    self.boot(i, false);
                }
            }
            "tick" => self.fire(num(1), TIMER_TICK),
            "tick-all" => {
                for i in self.net.ids() {
                    if self.net.is_up(i) {
                        self.fire(i, TIMER_TICK);
                    }
                }
            }
            "raft-timer" => {
                // A view node's Raft timer (a Raft view store).
                let t = match words.get(2).copied() {
                    Some("election") => PbTimer::RaftElection,
                    Some("heartbeat") => PbTimer::RaftHeartbeat,
                    Some("check-quorum") => PbTimer::RaftCheckQuorum,
                    _ => panic!("`{line}`: election, heartbeat or check-quorum"),
                };
                // Raft's own timer ids, shifted past primary-backup's.
                assert_eq!(
                    t.id(),
                    raftview::RAFT_TIMER_BASE
                        + match t {
                            PbTimer::RaftElection => quorumlab_core::raft::TIMER_ELECTION.id(),
                            PbTimer::RaftHeartbeat => quorumlab_core::raft::TIMER_HEARTBEAT.id(),
                            _ => quorumlab_core::raft::TIMER_CHECK_QUORUM.id(),
                        }
                );
                self.fire(num(1), t);
            }
            "advance" => {
                self.net.now += num(1) as u64 * MS;
                self.line(format!("time {} ms", self.net.now / MS));
            }
            "propose" => {
                let req = self.clients.request(&words[2..]);
                self.run(num(1), |r, cx| r.on_client(cx, req));
            }
            w => panic!("unknown command {w}"),
        }
    }

    fn receive(&mut self, from: NodeId, to: NodeId, m: PbMsg) {
        self.run(to, |r, cx| r.on_message(cx, from, m));
    }

    fn restart(&mut self, i: NodeId, keep_disk: bool) {
        self.boot(i, keep_disk);
    }

    fn status(&mut self, i: NodeId) {
        let Some(v) = self.view(i) else {
            self.line(format!("{i}: down"));
            return;
        };
        let mut s = format!(
            "{i}: {} epoch={} primary={} log={} kv={}",
            v.role,
            v.term,
            v.leader.map(|x| x.to_string()).unwrap_or("-".into()),
            v.applied_index,
            kv(&v.kv)
        );
        for (k, x) in &v.notes {
            if k != "mode" {
                let _ = write!(s, "\n   {k}: {x}");
            }
        }
        self.line(s);
    }
}

#[test]
fn golden_transcripts() {
    common::golden_transcripts::<Cluster>("primary-backup");
}
