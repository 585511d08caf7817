//! Golden transcripts for Multi-Paxos, in the style of `raft_golden.rs`.
//!
//! A tiny deterministic driver (no simulator): N Multi-Paxos nodes, a FIFO message
//! queue delivered only when a script says so, timers fired only when a script says so,
//! and a global clock that moves only when a timer fires (to its deadline) or on
//! `advance`. The invariant checker runs after every handled event.
//!
//! Scripts live in `tests/golden/multi-paxos/*.txt`. Each block is a command line, a
//! `----` line and the expected transcript, ending at a blank line; `#` lines are
//! comments. Run with `UPDATE_GOLDEN=1` to rewrite the expected parts.
//!
//! Commands:
//! * `add-nodes N [param=value ...]`: boot N nodes.
//! * `campaign I`, `tick-heartbeat I`, `tick-quorum I`: fire that timer of node I.
//! * `advance MS`: move the clock.
//! * `propose I x=4 | read x | cas x 4 5 [client=C] [seq=S]`: a client request to I.
//! * `deliver [A->B]`: deliver queued messages (all, repeatedly until quiet, or only
//!   those matching once; `*` matches any node).
//! * `drop A->B`: drop matching queued messages.
//! * `crash I`, `restart I [--no-disk]`, `partition 0,1 | 2`, `heal`, `status`.

mod common;

use common::{kv, outcome, set, Clients, Flat, Net, Transcript};
use quorumlab_core::paxos::multi::{
    MultiPaxos, MultiPaxosMsg, MultiPaxosParams, MultiPaxosTimer, MultiPaxosWrite,
    TIMER_CHECK_QUORUM, TIMER_ELECTION, TIMER_HEARTBEAT,
};
use quorumlab_core::paxos::Cmd;
use quorumlab_core::{Ctx, Effect, NodeId, Protocol, MS};
use std::collections::BTreeMap;
use std::fmt::Write as _;

fn cmd(c: &Cmd) -> String {
    match c {
        Cmd::Noop => "no-op".to_string(),
        Cmd::Client(r) => format!("{} (c{}#{})", c.describe(), r.client, r.seq),
    }
}

fn msg(m: &MultiPaxosMsg) -> String {
    match m {
        MultiPaxosMsg::Prepare { ballot, from_slot } => {
            format!("prepare ballot={ballot} from_slot={from_slot}")
        }
        MultiPaxosMsg::Promise {
            ballot,
            accepted,
            snapshot,
        } => {
            let a: Vec<String> = accepted
                .iter()
                .map(|a| format!("{}@{} {}", a.slot, a.ballot, cmd(&a.cmd)))
                .collect();
            let s = snapshot
                .as_ref()
                .map(|s| format!(" snapshot={} kv={}", s.base, kv(&s.state.kv)))
                .unwrap_or_default();
            format!("promise ballot={ballot} accepted=[{}]{s}", a.join(", "))
        }
        MultiPaxosMsg::Accept {
            ballot,
            slot,
            cmd: c,
            commit,
        } => format!(
            "accept ballot={ballot} slot={slot} {} commit={commit}",
            cmd(c)
        ),
        MultiPaxosMsg::Accepted {
            ballot,
            slot,
            commit,
        } => format!("accepted ballot={ballot} slot={slot} commit={commit}"),
        MultiPaxosMsg::Reject { ballot, promised } => {
            format!("reject ballot={ballot} promised={promised}")
        }
        MultiPaxosMsg::Heartbeat { ballot, commit } => {
            format!("heartbeat ballot={ballot} commit={commit}")
        }
        MultiPaxosMsg::HeartbeatReply { ballot, commit } => {
            format!("heartbeat-reply ballot={ballot} commit={commit}")
        }
        MultiPaxosMsg::Chosen { ballot, slots } => {
            let s: Vec<String> = slots
                .iter()
                .map(|c| format!("{} {}", c.slot, cmd(&c.cmd)))
                .collect();
            format!("chosen ballot={ballot} [{}]", s.join(", "))
        }
        MultiPaxosMsg::Snapshot { ballot, snapshot } => format!(
            "snapshot ballot={ballot} base={} kv={}",
            snapshot.base,
            kv(&snapshot.state.kv)
        ),
    }
}

fn write(w: &MultiPaxosWrite) -> String {
    match w {
        MultiPaxosWrite::Promise { ballot } => format!("promise {ballot}"),
        MultiPaxosWrite::Accept(a) => {
            format!("accept slot={} ballot={} {}", a.slot, a.ballot, cmd(&a.cmd))
        }
        MultiPaxosWrite::Snapshot(s) => {
            format!("snapshot base={} kv={}", s.base, kv(&s.state.kv))
        }
    }
}

struct Cluster {
    params: MultiPaxosParams,
    initial: Vec<NodeId>,
    net: Net<MultiPaxos>,
    clients: Clients,
}

impl Cluster {
    fn line(&mut self, s: impl AsRef<str>) {
        self.net.line(s);
    }

    fn view(&self, i: NodeId) -> Option<Flat> {
        self.net.node(i).map(|n| Flat::from(n.view()))
    }

    /// Run one handler on node `i` and report everything it did.
    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut MultiPaxos, &mut Ctx<'_, MultiPaxos>)) {
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
        if a.role != b.role {
            self.line(format!("  {i} {} -> {}: {}", b.role, a.role, a.last_change));
        }
        if a.note("promised") != b.note("promised") {
            self.line(format!(
                "  {i} promised {} -> {}",
                b.note("promised"),
                a.note("promised")
            ));
        }
        if a.leader != b.leader && a.role == b.role {
            let l = a.leader.map(|l| l.to_string()).unwrap_or("unknown".into());
            self.line(format!("  {i} leader: {l}"));
        }
        if a.snapshot_index != b.snapshot_index {
            self.line(format!(
                "  {i} log truncated up to slot {}",
                a.snapshot_index
            ));
        }
        let old: BTreeMap<u64, (u64, &str)> = b
            .log
            .iter()
            .map(|e| (e.index, (e.term, e.what.as_str())))
            .collect();
        let changed: Vec<String> = a
            .log
            .iter()
            .filter(|e| old.get(&e.index) != Some(&(e.term, e.what.as_str())))
            .map(|e| format!("{}: {}", e.index, e.what))
            .collect();
        if !changed.is_empty() {
            self.line(format!("  {i} slots: {}", changed.join("; ")));
        }
        if a.commit_index != b.commit_index || a.kv != b.kv {
            self.line(format!(
                "  {i} chosen prefix {} -> {}, kv {}",
                b.commit_index,
                a.commit_index,
                kv(&a.kv)
            ));
        }
    }

    fn boot(&mut self, i: NodeId, disk: bool) {
        self.net.boot(i, &self.initial, &self.params, disk);
        let v = self.view(i).expect("booted");
        self.line(format!(
            "  {i} boots as {} (promised {}, members {}): {}",
            v.role,
            v.note("promised"),
            set(&v.members),
            v.last_change
        ));
        self.run(i, |r, cx| r.start(cx));
    }

    fn fire(&mut self, i: NodeId, timer: MultiPaxosTimer) {
        if self.net.due(i, timer) {
            self.run(i, |r, cx| r.on_timer(cx, timer));
        }
    }
}

impl Transcript for Cluster {
    type P = MultiPaxos;

    fn new() -> Self {
        Cluster {
            params: MultiPaxosParams::default(),
            initial: Vec::new(),
            net: Net::new(msg),
            clients: Clients::default(),
        }
    }

    fn net(&mut self) -> &mut Net<MultiPaxos> {
        &mut self.net
    }

    fn command(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |k| common::num(line, k);
        match words[0] {
            "add-nodes" => {
                let n = num(1);
                self.params = common::params::<MultiPaxos>(&words[2..]);
                let start = self.net.ids().end;
                self.initial = (start..start + n).collect();
                for i in start..start + n {
                    self.boot(i, false);
                }
            }
            "campaign" => self.fire(num(1), TIMER_ELECTION),
            "tick-heartbeat" => self.fire(num(1), TIMER_HEARTBEAT),
            "tick-quorum" => self.fire(num(1), TIMER_CHECK_QUORUM),
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

    fn receive(&mut self, from: NodeId, to: NodeId, m: MultiPaxosMsg) {
        self.run(to, |r, cx| r.on_message(cx, from, m));
    }

    fn restart(&mut self, i: NodeId, keep_disk: bool) {
        self.boot(i, keep_disk);
    }

    fn status(&mut self, i: NodeId) {
        let Some(r) = self.net.node(i) else {
            self.line(format!("{i}: down"));
            return;
        };
        let v = Flat::from(r.view());
        let mut s = format!(
            "{i}: {} ballot={} promised={} leader={} chosen-prefix={}",
            v.role,
            r.ballot(),
            v.note("promised"),
            v.leader.map(|x| x.to_string()).unwrap_or("-".into()),
            v.commit_index,
        );
        let slots: Vec<String> = v
            .log
            .iter()
            .map(|e| format!("{}: {}", e.index, e.what))
            .collect();
        let trunc = if v.snapshot_index > 0 {
            format!("[truncated up to {}] ", v.snapshot_index)
        } else {
            String::new()
        };
        let _ = write!(
            s,
            "\n   slots: {trunc}{}",
            if slots.is_empty() {
                "(empty)".to_string()
            } else {
                slots.join("; ")
            }
        );
        let _ = write!(s, "\n   kv: {}", kv(&v.kv));
        self.line(s);
    }
}

#[test]
fn golden_transcripts() {
    common::golden_transcripts::<Cluster>("multi-paxos");
}
