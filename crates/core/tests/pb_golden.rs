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

use common::{parse_pat, Flat, Transcript};
use quorumlab_core::pb::{
    raftview, PbDisk, PbMonitor, PbMsg, PbParams, PbTimer, PbWrite, PrimaryBackup, View, TIMER_TICK,
};
use quorumlab_core::raft::{Cmd, RaftMsg, RaftWrite};
use quorumlab_core::{
    ClientReply, ClientRequest, Ctx, Effect, Message, NodeId, Op, Outcome, Protocol, Rng, Time,
    Timer, TimerId, MS,
};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

fn set(m: &[NodeId]) -> String {
    let v: Vec<String> = m.iter().map(|x| x.to_string()).collect();
    format!("{{{}}}", v.join(","))
}

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

fn kv(m: &BTreeMap<String, quorumlab_core::Val>) -> String {
    let v: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", v.join(" "))
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
        Outcome::Ok { value: None } => "ok".into(),
        Outcome::Ok { value: Some(v) } => format!("ok value={v}"),
        Outcome::Fail { reason } => format!("fail: {reason}"),
        Outcome::Redirect {
            leader: Some(l),
            term,
        } => format!("redirect to {l} (epoch {term})"),
        Outcome::Redirect { leader: None, term } => {
            format!("redirect (no primary known, epoch {term})")
        }
        Outcome::Unknown { reason } => format!("unknown: {reason}"),
    }
}

fn note<'a>(v: &'a Flat, label: &str) -> &'a str {
    v.notes
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, x)| x.as_str())
        .unwrap_or("-")
}

struct Cluster {
    params: PbParams,
    initial: Vec<NodeId>,
    nodes: Vec<Option<PrimaryBackup>>,
    disks: Vec<Option<PbDisk>>,
    rngs: Vec<Rng>,
    timers: Vec<BTreeMap<TimerId, Time>>,
    queue: VecDeque<(NodeId, NodeId, PbMsg)>,
    now: Time,
    groups: Option<Vec<Vec<NodeId>>>,
    monitor: PbMonitor,
    violated: bool,
    seqs: BTreeMap<u32, u64>,
    out: String,
}

impl Cluster {
    fn line(&mut self, s: impl AsRef<str>) {
        self.out.push_str(s.as_ref());
        self.out.push('\n');
    }

    fn view(&self, i: NodeId) -> Option<Flat> {
        self.nodes
            .get(i as usize)
            .and_then(|n| n.as_ref())
            .map(|n| Flat::from(n.view()))
    }

    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut PrimaryBackup, &mut Ctx<'_, PrimaryBackup>)) {
        let before = self.view(i);
        let iu = i as usize;
        let mut effects = Vec::new();
        {
            let Some(r) = self.nodes[iu].as_mut() else {
                return;
            };
            let mut cx = Ctx::new(i, self.now, &mut self.rngs[iu], &mut effects);
            f(r, &mut cx);
        }
        for e in effects {
            match e {
                Effect::Send { to, msg: m } => {
                    self.line(format!("  send {i}->{to} {}", msg(&m)));
                    self.queue.push_back((i, to, m));
                }
                Effect::SetTimer { timer, after } => {
                    self.timers[iu].insert(timer, self.now + after);
                }
                Effect::CancelTimer { timer } => {
                    self.timers[iu].remove(&timer);
                }
                Effect::Persist(w) => {
                    let text = match &w {
                        PbWrite::Append(e) => format!("append {}:{}", e.index, op(&e.req.op)),
                        PbWrite::Snapshot(s) => {
                            format!("snapshot index={} kv={}", s.index, kv(&s.state.kv))
                        }
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
                        PbWrite::Raft(RaftWrite::Snapshot(s)) => {
                            format!("raft snapshot index={}", s.index)
                        }
                    };
                    self.line(format!("  {i} persist {text}"));
                    PrimaryBackup::apply_write(
                        self.disks[iu].get_or_insert_with(PbDisk::default),
                        w,
                    );
                }
                // This protocol reports nothing of its own.
                Effect::Report(_) => {}
                Effect::Reply(ClientReply {
                    client,
                    seq,
                    outcome: o,
                    ..
                }) => {
                    self.line(format!("  {i} reply c{client}#{seq}: {}", outcome(&o)));
                }
            }
        }
        let after = self.view(i);
        if let (Some(b), Some(a)) = (before, after) {
            self.diff(i, &b, &a);
        }
        if !self.violated {
            if let Err(v) = PrimaryBackup::check(&mut self.monitor, i, &self.nodes, self.now) {
                self.violated = true;
                self.line(format!("  VIOLATION {v}"));
            }
        }
    }

    fn diff(&mut self, i: NodeId, b: &Flat, a: &Flat) {
        if a.role != b.role || a.term != b.term {
            self.line(format!(
                "  {i} {} (epoch {}) -> {} (epoch {}): {}",
                b.role, b.term, a.role, a.term, a.last_change
            ));
        }
        for label in ["semi-sync", "chain", "view group", "status"] {
            if note(a, label) != note(b, label) {
                self.line(format!("  {i} {label}: {}", note(a, label)));
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
        let iu = i as usize;
        while self.nodes.len() <= iu {
            self.nodes.push(None);
            self.disks.push(None);
            self.rngs.push(Rng::derive(7, self.rngs.len() as u64));
            self.timers.push(BTreeMap::new());
        }
        if !disk {
            self.disks[iu] = None;
        }
        self.timers[iu].clear();
        let r = PrimaryBackup::boot(i, &self.initial, &self.params, self.disks[iu].as_ref());
        self.nodes[iu] = Some(r);
        let v = self.view(i).expect("booted");
        self.line(format!(
            "  {i} boots as {} (epoch {}, log {}): {}",
            v.role, v.term, v.applied_index, v.last_change
        ));
        self.run(i, |r, cx| r.start(cx));
    }

    fn fire(&mut self, i: NodeId, timer: PbTimer) {
        let iu = i as usize;
        if self.nodes.get(iu).is_none_or(|n| n.is_none()) {
            self.line(format!("node {i} is down"));
            return;
        }
        match self.timers[iu].remove(&timer.id()) {
            Some(t) => self.now = self.now.max(t),
            None => self.line(format!(
                "  ({i}: that timer was not armed; firing it anyway)"
            )),
        }
        self.run(i, |r, cx| r.on_timer(cx, timer));
    }

    fn connected(&self, a: NodeId, b: NodeId) -> bool {
        match &self.groups {
            None => true,
            Some(g) => g.iter().any(|grp| grp.contains(&a) && grp.contains(&b)),
        }
    }

    fn deliver_one(&mut self, from: NodeId, to: NodeId, m: PbMsg) {
        let text = format!("{from}->{to} {}", msg(&m));
        if self.nodes.get(to as usize).is_none_or(|n| n.is_none()) {
            self.line(format!("{text}  (dropped: node {to} is down)"));
        } else if !self.connected(from, to) {
            self.line(format!("{text}  (dropped: partitioned)"));
        } else {
            self.line(text);
            self.run(to, |r, cx| r.on_message(cx, from, m));
        }
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

impl Transcript for Cluster {
    fn new() -> Self {
        Cluster {
            params: PbParams::default(),
            initial: Vec::new(),
            nodes: Vec::new(),
            disks: Vec::new(),
            rngs: Vec::new(),
            timers: Vec::new(),
            queue: VecDeque::new(),
            now: 0,
            groups: None,
            monitor: PbMonitor::default(),
            violated: false,
            seqs: BTreeMap::new(),
            out: String::new(),
        }
    }

    fn out(&mut self) -> &mut String {
        &mut self.out
    }

    fn command(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |k: usize| -> u32 {
            words
                .get(k)
                .and_then(|w| w.parse().ok())
                .unwrap_or_else(|| panic!("`{line}`: argument {k}"))
        };
        match words[0] {
            "add-nodes" => {
                let n = num(1);
                let mut obj = serde_json::Map::new();
                for w in &words[2..] {
                    let (k, v) = w.split_once('=').expect("param=value");
                    let v =
                        serde_json::from_str(v).unwrap_or(serde_json::Value::String(v.to_string()));
                    obj.insert(k.to_string(), v);
                }
                self.params =
                    serde_json::from_value(serde_json::Value::Object(obj)).expect("valid params");
                self.initial = (0..n).collect();
                for i in 0..n {
                    self.boot(i, false);
                }
            }
            "tick" => self.fire(num(1), TIMER_TICK),
            "tick-all" => {
                for i in 0..self.nodes.len() as NodeId {
                    if self.nodes[i as usize].is_some() {
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
                self.now += num(1) as u64 * MS;
                self.line(format!("time {} ms", self.now / MS));
            }
            "propose" => {
                let i = num(1);
                let mut client = 1;
                let mut seq = None;
                let mut rest = Vec::new();
                for w in &words[2..] {
                    if let Some(c) = w.strip_prefix("client=") {
                        client = c.parse().expect("client");
                    } else if let Some(s) = w.strip_prefix("seq=") {
                        seq = Some(s.parse().expect("seq"));
                    } else {
                        rest.push(*w);
                    }
                }
                let op = match rest.as_slice() {
                    ["read", k] => Op::Read { key: k.to_string() },
                    ["cas", k, e, n] => Op::Cas {
                        key: k.to_string(),
                        expect: e.parse().expect("int"),
                        new: n.parse().expect("int"),
                    },
                    [kv] => {
                        let (k, v) = kv.split_once('=').expect("k=v");
                        Op::Write {
                            key: k.to_string(),
                            value: v.parse().expect("int"),
                        }
                    }
                    _ => panic!("`{line}`: bad op"),
                };
                let next = self.seqs.entry(client).or_insert(0);
                let seq = seq.unwrap_or(*next + 1);
                *next = (*next).max(seq);
                self.run(i, |r, cx| {
                    r.on_client(cx, ClientRequest { client, seq, op })
                });
            }
            "deliver" => {
                if let Some(pat) = words.get(1) {
                    let (a, b) = parse_pat(pat);
                    let all: Vec<_> = self.queue.drain(..).collect();
                    let (hit, keep): (Vec<_>, Vec<_>) = all.into_iter().partition(|(f, t, _)| {
                        a.is_none_or(|a| a == *f) && b.is_none_or(|b| b == *t)
                    });
                    self.queue.extend(keep);
                    for (f, t, m) in hit {
                        self.deliver_one(f, t, m);
                    }
                } else {
                    while let Some((f, t, m)) = self.queue.pop_front() {
                        self.deliver_one(f, t, m);
                    }
                }
            }
            "drop" => {
                let (a, b) = parse_pat(words[1]);
                let all: Vec<_> = self.queue.drain(..).collect();
                for (f, t, m) in all {
                    if a.is_none_or(|a| a == f) && b.is_none_or(|b| b == t) {
                        self.line(format!("{f}->{t} {}  (dropped)", msg(&m)));
                    } else {
                        self.queue.push_back((f, t, m));
                    }
                }
            }
            "crash" => {
                let i = num(1);
                self.nodes[i as usize] = None;
                self.timers[i as usize].clear();
                self.line(format!("  {i} crashed"));
            }
            "restart" => {
                let i = num(1);
                let disk = !words.contains(&"--no-disk");
                self.boot(i, disk);
            }
            "partition" => {
                let rest = words[1..].join(" ");
                let groups: Vec<Vec<NodeId>> = rest
                    .split('|')
                    .map(|g| {
                        g.split(',')
                            .map(|x| x.trim().parse().expect("node id"))
                            .collect()
                    })
                    .collect();
                let text: Vec<String> = groups.iter().map(|g| set(g)).collect();
                self.line(format!("  partition {}", text.join(" | ")));
                self.groups = Some(groups);
            }
            "heal" => {
                self.groups = None;
                self.line("  network healed");
            }
            "status" => {
                for i in 0..self.nodes.len() as NodeId {
                    self.status(i);
                }
            }
            w => panic!("unknown command {w}"),
        }
    }
}

#[test]
fn golden_transcripts() {
    common::golden_transcripts::<Cluster>("primary-backup");
}
