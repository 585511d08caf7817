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

use common::{kv, outcome, set, Clients, Flat, Net, Transcript};
use quorumlab_core::raft::{
    Cmd, Entry, Raft, RaftMsg, RaftParams, RaftTimer, RaftWrite, TIMER_CHECK_QUORUM,
    TIMER_ELECTION, TIMER_HEARTBEAT,
};
use quorumlab_core::{Ctx, Effect, MembershipChange, NodeId, Op, Protocol, MS};
use std::collections::{BTreeMap, BTreeSet};
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

fn write(w: &RaftWrite) -> String {
    match w {
        RaftWrite::HardState { term, vote } => format!(
            "hardstate term={term} vote={}",
            vote.map(|v| v.to_string()).unwrap_or("none".into())
        ),
        RaftWrite::Append {
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
        RaftWrite::Snapshot(s) => format!("snapshot index={}@{}", s.index, s.term),
    }
}

struct Cluster {
    params: RaftParams,
    initial: Vec<NodeId>,
    /// Nodes booted by `add-learner`: they restart knowing no members.
    learners: BTreeSet<NodeId>,
    net: Net<Raft>,
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
    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut Raft, &mut Ctx<'_, Raft>)) {
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
            let node = self.net.node(i).expect("up");
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
        self.net.boot(i, &members, &self.params, disk);
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
        if self.net.due(i, timer) {
            self.run(i, |r, cx| r.on_timer(cx, timer));
        }
    }
}

impl Transcript for Cluster {
    type P = Raft;

    fn new() -> Self {
        Cluster {
            params: RaftParams::default(),
            initial: Vec::new(),
            learners: BTreeSet::new(),
            net: Net::new(msg),
            clients: Clients::default(),
        }
    }

    fn net(&mut self) -> &mut Net<Raft> {
        &mut self.net
    }

    fn command(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |k| common::num(line, k);
        match words[0] {
            "add-nodes" => {
                let n = num(1);
                self.params = common::params::<Raft>(&words[2..]);
                let start = self.net.ids().end;
                self.initial = (start..start + n).collect();
                for i in start..start + n {
                    self.boot(i, self.initial.clone(), false);
                }
            }
            "add-learner" => {
                let i = num(1);
                self.boot(i, Vec::new(), false);
                self.learners.insert(i);
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
            w => panic!("unknown command {w}"),
        }
    }

    fn receive(&mut self, from: NodeId, to: NodeId, m: RaftMsg) {
        self.run(to, |r, cx| r.on_message(cx, from, m));
    }

    fn restart(&mut self, i: NodeId, keep_disk: bool) {
        let members = if self.learners.contains(&i) {
            Vec::new()
        } else {
            self.initial.clone()
        };
        self.boot(i, members, keep_disk);
    }

    fn status(&mut self, i: NodeId) {
        let Some(r) = self.net.node(i) else {
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

#[test]
fn golden_transcripts() {
    common::golden_transcripts::<Cluster>("raft");
}
