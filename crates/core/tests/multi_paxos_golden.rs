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

use common::{parse_pat, Flat, Transcript};
use quorumlab_core::paxos::multi::{
    MultiPaxos, MultiPaxosDisk, MultiPaxosMsg, MultiPaxosParams, MultiPaxosTimer, MultiPaxosWrite,
    TIMER_CHECK_QUORUM, TIMER_ELECTION, TIMER_HEARTBEAT,
};
use quorumlab_core::paxos::{Cmd, PaxosMonitor};
use quorumlab_core::{
    ClientReply, ClientRequest, Ctx, Effect, NodeId, Op, Outcome, Protocol, Rng, Time, Timer,
    TimerId, MS,
};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

fn cmd(c: &Cmd) -> String {
    match c {
        Cmd::Noop => "no-op".to_string(),
        Cmd::Client(r) => format!("{} (c{}#{})", c.describe(), r.client, r.seq),
    }
}

fn set(m: &[NodeId]) -> String {
    let v: Vec<String> = m.iter().map(|x| x.to_string()).collect();
    format!("{{{}}}", v.join(","))
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

fn kv(m: &BTreeMap<String, quorumlab_core::Val>) -> String {
    let v: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", v.join(" "))
}

fn outcome(o: &Outcome) -> String {
    match o {
        Outcome::Ok { value: None } => "ok".into(),
        Outcome::Ok { value: Some(v) } => format!("ok value={v}"),
        Outcome::Fail { reason } => format!("fail: {reason}"),
        Outcome::Redirect {
            leader: Some(l), ..
        } => format!("redirect to {l}"),
        Outcome::Redirect { leader: None, .. } => "redirect (no leader known)".into(),
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
    params: MultiPaxosParams,
    initial: Vec<NodeId>,
    nodes: Vec<Option<MultiPaxos>>,
    disks: Vec<Option<MultiPaxosDisk>>,
    rngs: Vec<Rng>,
    timers: Vec<BTreeMap<TimerId, Time>>,
    queue: VecDeque<(NodeId, NodeId, MultiPaxosMsg)>,
    now: Time,
    groups: Option<Vec<Vec<NodeId>>>,
    monitor: PaxosMonitor,
    violated: bool,
    seqs: BTreeMap<u32, u64>,
    out: String,
}

impl Cluster {
    fn new() -> Self {
        Cluster {
            params: MultiPaxosParams::default(),
            initial: Vec::new(),
            nodes: Vec::new(),
            disks: Vec::new(),
            rngs: Vec::new(),
            timers: Vec::new(),
            queue: VecDeque::new(),
            now: 0,
            groups: None,
            monitor: PaxosMonitor::default(),
            violated: false,
            seqs: BTreeMap::new(),
            out: String::new(),
        }
    }

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

    /// Run one handler on node `i` and report everything it did.
    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut MultiPaxos, &mut Ctx<'_, MultiPaxos>)) {
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
                        MultiPaxosWrite::Promise { ballot } => format!("promise {ballot}"),
                        MultiPaxosWrite::Accept(a) => {
                            format!("accept slot={} ballot={} {}", a.slot, a.ballot, cmd(&a.cmd))
                        }
                        MultiPaxosWrite::Snapshot(s) => {
                            format!("snapshot base={} kv={}", s.base, kv(&s.state.kv))
                        }
                    };
                    self.line(format!("  {i} persist {text}"));
                    MultiPaxos::apply_write(
                        self.disks[iu].get_or_insert_with(MultiPaxosDisk::default),
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
            if let Err(v) = MultiPaxos::check(&mut self.monitor, i, &self.nodes, self.now) {
                self.violated = true;
                self.line(format!("  VIOLATION {v}"));
            }
        }
    }

    fn diff(&mut self, i: NodeId, b: &Flat, a: &Flat) {
        if a.role != b.role {
            self.line(format!("  {i} {} -> {}: {}", b.role, a.role, a.last_change));
        }
        if note(a, "promised") != note(b, "promised") {
            self.line(format!(
                "  {i} promised {} -> {}",
                note(b, "promised"),
                note(a, "promised")
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
        let r = MultiPaxos::boot(i, &self.initial, &self.params, self.disks[iu].as_ref());
        self.nodes[iu] = Some(r);
        let v = self.view(i).expect("booted");
        self.line(format!(
            "  {i} boots as {} (promised {}, members {}): {}",
            v.role,
            note(&v, "promised"),
            set(&v.members),
            v.last_change
        ));
        self.run(i, |r, cx| r.start(cx));
    }

    fn fire(&mut self, i: NodeId, timer: MultiPaxosTimer) {
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

    fn deliver_one(&mut self, from: NodeId, to: NodeId, m: MultiPaxosMsg) {
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
                let start = self.nodes.len() as u32;
                self.initial = (start..start + n).collect();
                for i in start..start + n {
                    self.boot(i, false);
                }
            }
            "campaign" => self.fire(num(1), TIMER_ELECTION),
            "tick-heartbeat" => self.fire(num(1), TIMER_HEARTBEAT),
            "tick-quorum" => self.fire(num(1), TIMER_CHECK_QUORUM),
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
                self.line(format!(
                    "  partition {}",
                    groups
                        .iter()
                        .map(|g| set(g))
                        .collect::<Vec<_>>()
                        .join(" | ")
                ));
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

    fn status(&mut self, i: NodeId) {
        let Some(r) = self.nodes[i as usize].as_ref() else {
            self.line(format!("{i}: down"));
            return;
        };
        let v = Flat::from(r.view());
        let mut s = format!(
            "{i}: {} ballot={} promised={} leader={} chosen-prefix={}",
            v.role,
            r.ballot(),
            note(&v, "promised"),
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

impl Transcript for Cluster {
    fn new() -> Self {
        Cluster::new()
    }
    fn command(&mut self, line: &str) {
        Cluster::command(self, line)
    }
    fn out(&mut self) -> &mut String {
        &mut self.out
    }
}

#[test]
fn golden_transcripts() {
    common::golden_transcripts::<Cluster>("multi-paxos");
}
