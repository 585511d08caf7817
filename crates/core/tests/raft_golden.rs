//! Golden transcripts for Raft, in the spirit of etcd raft's interaction tests.
//!
//! A tiny deterministic driver (no simulator): N Raft instances, a FIFO message queue
//! delivered only when a script says so, timers fired only when a script says so, and a
//! global clock that moves only when a timer fires (to its deadline) or on `advance`.
//!
//! Scripts live in `tests/golden/raft/*.txt`. Each block is a command line, a `----`
//! line and the expected transcript, ending at a blank line; `#` lines are comments.
//! Run with `UPDATE_GOLDEN=1` to rewrite the expected parts.
//!
//! Commands:
//! * `add-nodes N [param=value ...]`: boot N voters (the initial configuration).
//! * `add-learner ID`: boot node ID with an empty configuration (to be added).
//! * `campaign I`, `tick-heartbeat I`, `tick-quorum I`: fire that timer of node I
//!   (the clock jumps to its deadline if that is later).
//! * `advance MS`: move the clock.
//! * `propose I x=4 | read x | cas x 4 5 [client=C] [seq=S]`: a client request to I.
//! * `change I add|remove N`: ask node I for a membership change.
//! * `deliver [A->B]`: deliver queued messages (all, repeatedly until quiet, or only
//!   those matching once; `*` matches any node).
//! * `drop A->B`: drop matching queued messages.
//! * `crash I`, `restart I [--no-disk]`, `partition 0,1 | 2`, `heal`, `status`.

mod common;

use common::{parse_pat, Flat, Transcript};
use quorumlab_core::raft::{
    Cmd, Entry, Raft, RaftDisk, RaftMonitor, RaftMsg, RaftParams, RaftTimer, TIMER_CHECK_QUORUM,
    TIMER_ELECTION, TIMER_HEARTBEAT,
};
use quorumlab_core::{
    ClientReply, ClientRequest, Ctx, Effect, MembershipChange, NodeId, Op, Outcome, Protocol, Rng,
    Time, Timer, TimerId, MS,
};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

fn entry(index: u64, e: &Entry) -> String {
    let what = match &e.cmd {
        Cmd::Noop => "no-op".to_string(),
        Cmd::Config { members } => format!("config {}", set(members)),
        Cmd::Client(r) => {
            let op = match &r.op {
                Op::Read { key } => format!("read {key}"),
                Op::Write { key, value } => format!("{key}={value}"),
                Op::Cas { key, expect, new } => format!("cas {key} {expect}→{new}"),
                other => format!("{} {}", other.kind().name(), other.key()),
            };
            format!("{op} (c{}#{})", r.client, r.seq)
        }
        Cmd::Import(i) => format!("import {} keys", i.kv.len()),
    };
    format!("{index}@{} {what}", e.term)
}

fn set(m: &[NodeId]) -> String {
    let v: Vec<String> = m.iter().map(|x| x.to_string()).collect();
    format!("{{{}}}", v.join(","))
}

fn msg(m: &RaftMsg) -> String {
    match m {
        RaftMsg::PreVote {
            term,
            last_index,
            last_term,
        } => format!("prevote term={term} last={last_index}@{last_term}"),
        RaftMsg::PreVoteReply { term, granted } => format!(
            "prevote-reply term={term} {}",
            if *granted { "granted" } else { "rejected" }
        ),
        RaftMsg::Vote {
            term,
            last_index,
            last_term,
            force,
        } => {
            format!(
                "vote term={term} last={last_index}@{last_term}{}",
                if *force { " force" } else { "" }
            )
        }
        RaftMsg::VoteReply { term, granted } => format!(
            "vote-reply term={term} {}",
            if *granted { "granted" } else { "rejected" }
        ),
        RaftMsg::Append {
            term,
            prev_index,
            prev_term,
            entries,
            commit,
            round,
        } => {
            if entries.is_empty() {
                format!("heartbeat term={term} prev={prev_index}@{prev_term} commit={commit} round={round}")
            } else {
                let es: Vec<String> = entries
                    .iter()
                    .enumerate()
                    .map(|(k, e)| entry(prev_index + 1 + k as u64, e))
                    .collect();
                format!("append term={term} prev={prev_index}@{prev_term} commit={commit} round={round} [{}]", es.join(", "))
            }
        }
        RaftMsg::AppendReply {
            term,
            success,
            index,
            conflict_term,
            conflict_index,
            round,
        } => {
            if *success {
                format!("append-reply term={term} ok match={index} round={round}")
            } else if *conflict_term > 0 {
                format!("append-reply term={term} reject prev={index} hint: term {conflict_term} starts at {conflict_index} round={round}")
            } else {
                format!("append-reply term={term} reject prev={index} hint: log ends before {conflict_index} round={round}")
            }
        }
        RaftMsg::Snapshot {
            term,
            snapshot,
            round,
        } => format!(
            "snapshot term={term} index={}@{} members={} kv={} round={round}",
            snapshot.index,
            snapshot.term,
            set(&snapshot.members),
            kv(&snapshot.state.kv)
        ),
        RaftMsg::SnapshotReply { term, index, round } => {
            format!("snapshot-reply term={term} index={index} round={round}")
        }
        RaftMsg::TimeoutNow { term } => format!("timeout-now term={term}"),
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

struct Cluster {
    params: RaftParams,
    initial: Vec<NodeId>,
    nodes: Vec<Option<Raft>>,
    disks: Vec<Option<RaftDisk>>,
    learner_boot: Vec<bool>,
    rngs: Vec<Rng>,
    timers: Vec<BTreeMap<TimerId, Time>>,
    queue: VecDeque<(NodeId, NodeId, RaftMsg)>,
    now: Time,
    groups: Option<Vec<Vec<NodeId>>>,
    monitor: RaftMonitor,
    /// Only the first violation is reported (the simulator stops there too).
    violated: bool,
    seqs: BTreeMap<u32, u64>,
    out: String,
}

impl Cluster {
    fn new() -> Self {
        Cluster {
            params: RaftParams::default(),
            initial: Vec::new(),
            nodes: Vec::new(),
            disks: Vec::new(),
            learner_boot: Vec::new(),
            rngs: Vec::new(),
            timers: Vec::new(),
            queue: VecDeque::new(),
            now: 0,
            groups: None,
            monitor: RaftMonitor::default(),
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
    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut Raft, &mut Ctx<'_, Raft>)) {
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
                        quorumlab_core::raft::RaftWrite::HardState { term, vote } => {
                            format!(
                                "hardstate term={term} vote={}",
                                vote.map(|v| v.to_string()).unwrap_or("none".into())
                            )
                        }
                        quorumlab_core::raft::RaftWrite::Append {
                            from_index,
                            entries,
                        } => {
                            let es: Vec<String> = entries
                                .iter()
                                .enumerate()
                                .map(|(k, e)| entry(from_index + k as u64, e))
                                .collect();
                            format!("append [{}]", es.join(", "))
                        }
                        quorumlab_core::raft::RaftWrite::Snapshot(s) => {
                            format!("snapshot index={}@{}", s.index, s.term)
                        }
                    };
                    self.line(format!("  {i} persist {text}"));
                    Raft::apply_write(self.disks[iu].get_or_insert_with(RaftDisk::default), w);
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
            if let Err(v) = Raft::check(&mut self.monitor, i, &self.nodes, self.now) {
                self.violated = true;
                self.line(format!("  VIOLATION {v}"));
            }
        }
    }

    fn diff(&mut self, i: NodeId, b: &Flat, a: &Flat) {
        if a.role != b.role {
            self.line(format!("  {i} {} -> {}: {}", b.role, a.role, a.last_change));
        }
        if a.term != b.term {
            self.line(format!("  {i} term {} -> {}", b.term, a.term));
        }
        if a.voted_for != b.voted_for {
            if let Some(v) = a.voted_for {
                self.line(format!("  {i} votes for {v}"));
            }
        }
        if a.leader != b.leader && a.role == b.role {
            let l = a.leader.map(|l| l.to_string()).unwrap_or("unknown".into());
            self.line(format!("  {i} leader: {l}"));
        }
        if a.members != b.members {
            self.line(format!(
                "  {i} members {} -> {}",
                set(&b.members),
                set(&a.members)
            ));
        }
        if a.snapshot_index != b.snapshot_index {
            self.line(format!(
                "  {i} snapshot at {} (log compacted)",
                a.snapshot_index
            ));
        }
        // Log: first index where the new log differs from the old.
        let old: BTreeMap<u64, (u64, &str)> = b
            .log
            .iter()
            .map(|e| (e.index, (e.term, e.what.as_str())))
            .collect();
        let first_new = a
            .log
            .iter()
            .find(|e| old.get(&e.index) != Some(&(e.term, e.what.as_str())))
            .map(|e| e.index);
        let old_last = b.log.last().map(|e| e.index).unwrap_or(b.snapshot_index);
        let new_last = a.log.last().map(|e| e.index).unwrap_or(a.snapshot_index);
        let cut = first_new.unwrap_or(new_last + 1);
        if old_last >= cut && cut > a.snapshot_index {
            self.line(format!("  {i} log: removed {cut}..={old_last}"));
        }
        if let Some(f) = first_new {
            let node = self.nodes[i as usize].as_ref().expect("up");
            let es: Vec<String> = (f..=new_last)
                .filter_map(|k| node.log().entry(k).map(|e| entry(k, e)))
                .collect();
            self.line(format!("  {i} log: + {}", es.join(", ")));
        }
        if a.commit_index != b.commit_index {
            self.line(format!(
                "  {i} commit {} -> {}",
                b.commit_index, a.commit_index
            ));
        }
        if a.applied_index != b.applied_index || a.kv != b.kv {
            self.line(format!(
                "  {i} applied {} -> {}, kv {}",
                b.applied_index,
                a.applied_index,
                kv(&a.kv)
            ));
        }
    }

    fn boot(&mut self, i: NodeId, members: Vec<NodeId>, disk: bool) {
        let iu = i as usize;
        while self.nodes.len() <= iu {
            self.nodes.push(None);
            self.disks.push(None);
            self.learner_boot.push(false);
            self.rngs.push(Rng::derive(7, self.rngs.len() as u64));
            self.timers.push(BTreeMap::new());
        }
        if !disk {
            self.disks[iu] = None;
        }
        self.timers[iu].clear();
        let r = Raft::boot(i, &members, &self.params, self.disks[iu].as_ref());
        self.nodes[iu] = Some(r);
        let v = self.view(i).expect("booted");
        self.line(format!(
            "  {i} boots as {} (term {}, members {}): {}",
            v.role,
            v.term,
            set(&v.members),
            v.last_change
        ));
        self.run(i, |r, cx| r.start(cx));
    }

    fn fire(&mut self, i: NodeId, timer: RaftTimer) {
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

    fn deliver_one(&mut self, from: NodeId, to: NodeId, m: RaftMsg) {
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
                    self.boot(i, self.initial.clone(), false);
                }
            }
            "add-learner" => {
                let i = num(1);
                self.boot(i, Vec::new(), false);
                self.learner_boot[i as usize] = true;
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
            "change" => {
                let i = num(1);
                let n = num(3);
                let c = match words[2] {
                    "add" => MembershipChange::Add { node: n },
                    "remove" => MembershipChange::Remove { node: n },
                    w => panic!("change {w}?"),
                };
                let mut res = Ok(());
                self.run(i, |r, cx| res = r.change_membership(cx, c));
                match res {
                    Ok(()) => self.line("  accepted"),
                    Err(e) => self.line(format!("  refused: {e}")),
                }
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
                let members = if self.learner_boot[i as usize] {
                    Vec::new()
                } else {
                    self.initial.clone()
                };
                self.boot(i, members, disk);
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
            "{i}: {} term={} vote={} leader={} commit={} applied={} members={}",
            v.role,
            v.term,
            v.voted_for.map(|x| x.to_string()).unwrap_or("-".into()),
            v.leader.map(|x| x.to_string()).unwrap_or("-".into()),
            v.commit_index,
            v.applied_index,
            set(&v.members)
        );
        let log = r.log();
        let es: Vec<String> = (log.first_index()..=log.last_index())
            .filter_map(|k| log.entry(k).map(|e| entry(k, e)))
            .collect();
        let snap = if log.snap_index() > 0 {
            format!("[snapshot {}@{}] ", log.snap_index(), log.snap_term())
        } else {
            String::new()
        };
        let _ = write!(
            s,
            "\n   log: {snap}{}",
            if es.is_empty() {
                "(empty)".to_string()
            } else {
                es.join(", ")
            }
        );
        let _ = write!(s, "\n   kv: {}", kv(&v.kv));
        if !v.progress.is_empty() {
            let p: Vec<String> = v
                .progress
                .iter()
                .map(|p| format!("{}: match={} next={}", p.node, p.match_index, p.next_index))
                .collect();
            let _ = write!(s, "\n   progress: {}", p.join(", "));
        }
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
    common::golden_transcripts::<Cluster>("raft");
}
