//! Golden transcripts for the sharded store (`sharded-raft`), in the style of
//! `quorum_golden.rs`.
//!
//! A tiny deterministic driver (no simulator): N nodes in Raft groups of `group_size`, a
//! FIFO message queue delivered only when a script says so, timers (the shard tick and
//! each group member's Raft timers) fired only when a script says so, and a global clock
//! that moves only when a timer fires (to its deadline) or on `advance`. The protocol's
//! invariant checker runs after every handled event; the first failure prints as
//! `VIOLATION ...`.
//!
//! Raft traffic prints compactly as `raft KIND tTERM ...` with the entries an append
//! carries; shard-map imports print decoded (`map 2 {0,1,2}`, `shard 3 in for map 2
//! {x=1}`, `shard 3 out (map 2)`). After each event a node prints what changed of it:
//! role and leader, its own appends as leader, commit and applied indexes, its store's
//! client keys, the newest shard map it knows, and the map it applied with the shards
//! it serves, waits for and hands over.
//!
//! Scripts live in `tests/golden/sharded-raft/*.txt` (shared format:
//! `tests/common/mod.rs`). Run with `UPDATE_GOLDEN=1` to rewrite the expected parts.
//!
//! Commands:
//! * `add-nodes N [param=value ...]`: boot N nodes, the initial members (shard map 1 is
//!   their groups).
//! * `add-spares N`: boot N more nodes knowing no members, as the simulator boots a
//!   spare node (a group that may join later).
//! * `campaign I`, `heartbeat I`: fire node I's Raft election or heartbeat timer.
//! * `elect G`: campaign on group G's first live node, deliver the group's own messages
//!   until quiet, then one heartbeat round so that every member applies the leader's
//!   no-op; only the outcome is printed (and any reply or violation on the way).
//! * `settle G`: deliver group G's own messages (its Raft traffic) until quiet.
//! * `tick I[,J...]`: fire those nodes' shard tick (hand over, poll group 0, move on).
//! * `advance MS`: move the clock.
//! * `put I k=v [client=C]`, `get I k [client=C]`: a client request at gateway I.
//! * `join I`, `leave I`: ask group 0's leader to add or remove node I's group.
//! * `where K`: the key's shard and its group under every shard map known.
//! * `shards`: every known shard map's placement, and what each one moved.
//! * `deliver [A->B]`, `drop A->B`: deliver queued messages (all, repeatedly until
//!   quiet, or only those matching once; `*` matches any node), or drop them.
//! * `crash I`, `restart I [--no-disk]`, `partition 0,1 | 2`, `heal`, `status`.

mod common;

use common::{kv, set, Clients, Net, Transcript};
use quorumlab_core::raft::{Cmd, Entry, Raft, RaftMsg, Role};
use quorumlab_core::shard::map::{fmt_groups, placement, shard_of, Config, Placements, Status};
use quorumlab_core::shard::{ShardMsg, ShardParams, ShardTimer, ShardedRaft};
use quorumlab_core::{
    ClientRequest, Ctx, Effect, MembershipChange, NodeId, Outcome, Protocol, Val, MS,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;

fn req(r: &ClientRequest) -> String {
    format!("{} (c{}#{})", r.op.describe(), r.client, r.seq)
}

/// An import, decoded from its reserved keys.
fn import(kvs: &[(String, Val)]) -> String {
    let users = kvs.iter().filter(|(k, _)| !k.starts_with('#'));
    let mut parts = Vec::new();
    for (k, v) in kvs {
        let x = v.int().unwrap_or(0);
        if k == "#config" {
            let c = Config::unpack(x);
            parts.push(format!("map {} {}", c.epoch, fmt_groups(c.groups)));
        } else if let Some(s) = k.strip_prefix("#in/") {
            parts.push(format!(
                "shard {s} in for map {x} {}",
                kv(users.clone().map(|(k, v)| (k, v)))
            ));
        } else if let Some(s) = k.strip_prefix("#out/") {
            parts.push(format!("shard {s} out (map {x})"));
        }
    }
    if parts.is_empty() {
        parts.push(format!("import {}", kv(users.map(|(k, v)| (k, v)))));
    }
    parts.join(", ")
}

fn entry(index: u64, e: &Entry) -> String {
    let what = match &e.cmd {
        Cmd::Noop => "no-op".to_string(),
        Cmd::Config { members } => format!("config {}", set(members)),
        Cmd::Client(r) => req(r),
        Cmd::Import(i) => import(&i.kv),
    };
    format!("{index}@{} {what}", e.term)
}

fn raft_msg(m: &RaftMsg) -> String {
    let granted = |g: bool| if g { "granted" } else { "rejected" };
    match m {
        RaftMsg::PreVote {
            term,
            last_index,
            last_term,
        } => format!("prevote t{term} last={last_index}@{last_term}"),
        RaftMsg::PreVoteReply { term, granted: g } => {
            format!("prevote-reply t{term} {}", granted(*g))
        }
        RaftMsg::Vote {
            term,
            last_index,
            last_term,
            ..
        } => format!("vote t{term} last={last_index}@{last_term}"),
        RaftMsg::VoteReply { term, granted: g } => format!("vote-reply t{term} {}", granted(*g)),
        RaftMsg::Append {
            term,
            prev_index,
            prev_term,
            entries,
            commit,
            ..
        } => {
            if entries.is_empty() {
                format!("heartbeat t{term} prev={prev_index}@{prev_term} commit={commit}")
            } else {
                let es: Vec<String> = entries
                    .iter()
                    .enumerate()
                    .map(|(k, e)| entry(prev_index + 1 + k as u64, e))
                    .collect();
                format!(
                    "append t{term} prev={prev_index}@{prev_term} commit={commit} [{}]",
                    es.join(", ")
                )
            }
        }
        RaftMsg::AppendReply {
            term,
            success,
            index,
            ..
        } => {
            if *success {
                format!("append-reply t{term} ok match={index}")
            } else {
                format!("append-reply t{term} reject prev={index}")
            }
        }
        RaftMsg::Snapshot { term, snapshot, .. } => {
            format!("snapshot t{term} index={}", snapshot.index)
        }
        RaftMsg::SnapshotReply { term, index, .. } => {
            format!("snapshot-reply t{term} index={index}")
        }
        RaftMsg::TimeoutNow { term } => format!("timeout-now t{term}"),
    }
}

fn maps(known: &[u64]) -> String {
    let v: Vec<String> = known
        .iter()
        .enumerate()
        .map(|(e, g)| format!("{}:{}", e + 1, fmt_groups(*g)))
        .collect();
    format!("[{}]", v.join(" "))
}

fn msg(m: &ShardMsg) -> String {
    match m {
        ShardMsg::Raft { msg } => format!("raft {}", raft_msg(msg)),
        ShardMsg::Forward { req: r, hops } => format!("forward {} hops={hops}", req(r)),
        ShardMsg::Answer { reply } => format!(
            "answer c{}#{}: {}",
            reply.client,
            reply.seq,
            outcome(&reply.outcome)
        ),
        ShardMsg::NotLeader { req: r, hint, hops } => format!(
            "not-leader {} hint={} hops={hops}",
            req(r),
            hint.map(|h| h.to_string()).unwrap_or("-".into())
        ),
        ShardMsg::Moved {
            req: r,
            hops,
            known,
        } => format!("moved {} hops={hops} maps {}", req(r), maps(known)),
        ShardMsg::Poll { have } => format!("poll have={have}"),
        ShardMsg::Configs { known } => format!("configs {}", maps(known)),
        ShardMsg::Handoff {
            shard,
            epoch,
            kv: data,
            sessions,
        } => {
            let s: Vec<String> = sessions
                .iter()
                .map(|(c, x)| format!("c{c}#{}", x.seq))
                .collect();
            format!(
                "handoff shard {shard} for map {epoch} {} sessions [{}]",
                kv(data.iter().map(|(k, v)| (k, v))),
                s.join(" ")
            )
        }
        ShardMsg::HandoffAck { shard, epoch } => format!("handoff-ack shard {shard} map {epoch}"),
    }
}

fn outcome(o: &Outcome) -> String {
    match o {
        Outcome::Redirect { leader: None, .. } => "not now (redirect, no leader)".into(),
        o => common::outcome(o),
    }
}

fn role(r: Role) -> &'static str {
    match r {
        Role::Follower => "follower",
        Role::PreCandidate => "pre-candidate",
        Role::Candidate => "candidate",
        Role::Leader => "leader",
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(",")
    }
}

/// What a node's applied shard map makes of each shard, in one line.
fn shard_line(pl: &mut Placements, n: &ShardedRaft) -> String {
    let sh = n.applied();
    let st = pl.statuses(&sh, n.group(), n.params());
    let (mut serves, mut waits, mut hands) = (Vec::new(), Vec::new(), Vec::new());
    for (s, x) in st.iter().enumerate() {
        match x {
            Status::Serving => serves.push(s.to_string()),
            Status::Waiting { from } => waits.push(format!("{s} from g{from}")),
            Status::Leaving { to } => hands.push(format!("{s} to g{to}")),
            Status::Elsewhere => {}
        }
    }
    let mut line = format!(
        "map {} {}: serves {}",
        sh.cfg.epoch,
        fmt_groups(sh.cfg.groups),
        list(&serves)
    );
    if !waits.is_empty() {
        let _ = write!(line, "; waits for {}", waits.join(", "));
    }
    if !hands.is_empty() {
        let _ = write!(line, "; hands over {}", hands.join(", "));
    }
    line
}

/// What of a node the transcript follows from one event to the next.
#[derive(PartialEq)]
struct Snap {
    role: Role,
    term: u64,
    leader: Option<NodeId>,
    /// `(index, term)` of every entry in the log.
    log: Vec<(u64, u64)>,
    commit: u64,
    applied: u64,
    kv: BTreeMap<String, Val>,
    known: Vec<u64>,
    shards: String,
}

struct Cluster {
    params: ShardParams,
    initial: Vec<NodeId>,
    net: Net<ShardedRaft>,
    placements: Placements,
    clients: Clients,
}

impl Cluster {
    fn line(&mut self, s: impl AsRef<str>) {
        self.net.line(s);
    }

    fn gs(&self) -> u64 {
        self.params.group_size.max(1)
    }

    fn snap(&mut self, i: NodeId) -> Option<Snap> {
        let n = self.net.node(i)?;
        let r = n.raft();
        let log = (r.log().first_index()..=r.log().last_index())
            .filter_map(|k| r.log().term(k).map(|t| (k, t)))
            .collect();
        Some(Snap {
            role: r.role(),
            term: r.term(),
            leader: r.leader(),
            log,
            commit: r.commit_index(),
            applied: r.applied_index(),
            kv: r
                .state()
                .kv
                .iter()
                .filter(|(k, _)| !k.starts_with('#'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            known: n.known().to_vec(),
            shards: shard_line(&mut self.placements, n),
        })
    }

    /// Run one handler on node `i` and report everything it did.
    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut ShardedRaft, &mut Ctx<'_, ShardedRaft>)) {
        let before = self.snap(i);
        let ran = self.net.handle(i, f, |e| match e {
            Effect::Reply(r) => Some(outcome(&r.outcome)),
            // Writes are not printed (a leader's appends are); the disk is kept for
            // restarts.
            _ => None,
        });
        if !ran {
            return;
        }
        if let (Some(b), Some(a)) = (before, self.snap(i)) {
            self.diff(i, &b, &a);
        }
        self.net.check(i);
    }

    fn diff(&mut self, i: NodeId, b: &Snap, a: &Snap) {
        if a == b {
            return;
        }
        // The first entry that is new or changed, and the log's ends before and after.
        let old: BTreeMap<u64, u64> = b.log.iter().copied().collect();
        let first_new = a
            .log
            .iter()
            .find(|(k, t)| old.get(k) != Some(t))
            .map(|(k, _)| *k);
        let old_last = b.log.last().map(|e| e.0).unwrap_or(0);
        let new_last = a.log.last().map(|e| e.0).unwrap_or(0);
        let n = self.net.node(i).expect("up");
        let g = n.group();
        let why = <Raft as Protocol>::view(n.raft()).last_change;
        let appended: Vec<String> = match (first_new, a.role) {
            (Some(f), Role::Leader) => (f..=new_last)
                .filter_map(|k| n.raft().log().entry(k).map(|e| entry(k, e)))
                .collect(),
            _ => Vec::new(),
        };
        if a.role != b.role {
            self.line(format!(
                "  {i} {} -> {} (g{g} t{}): {why}",
                role(b.role),
                role(a.role),
                a.term
            ));
        } else if a.term != b.term {
            self.line(format!("  {i} term {} -> {}", b.term, a.term));
        }
        if a.leader != b.leader && a.role == b.role {
            let l = a.leader.map(|l| l.to_string()).unwrap_or("unknown".into());
            self.line(format!("  {i} leader of g{g}: {l}"));
        }
        // A log that lost entries (a new leader's log won), or a leader's own appends.
        let cut = first_new.unwrap_or(new_last + 1);
        if old_last >= cut {
            self.line(format!("  {i} log: removed {cut}..={old_last}"));
        }
        if !appended.is_empty() {
            self.line(format!("  {i} appends {}", appended.join(", ")));
        }
        if a.commit != b.commit {
            self.line(format!("  {i} commit {} -> {}", b.commit, a.commit));
        }
        if a.applied != b.applied {
            let mut s = format!("  {i} applied {} -> {}", b.applied, a.applied);
            if a.kv != b.kv {
                let _ = write!(s, ", kv {}", kv(&a.kv));
            }
            self.line(s);
        }
        if a.known != b.known {
            let l = a.known.len();
            self.line(format!(
                "  {i} knows shard maps up to {l} {}",
                fmt_groups(a.known.last().copied().unwrap_or(0))
            ));
        }
        if a.shards != b.shards {
            self.line(format!("  {i} {}", a.shards));
        }
    }

    fn boot(&mut self, i: NodeId, members: Vec<NodeId>, disk: bool) {
        self.net.boot(i, &members, &self.params, disk);
        let n = self.net.node(i).expect("booted");
        let (g, last) = (n.group(), n.raft().log().last_index());
        let knows = match n.known() {
            [] => "no shard map".to_string(),
            k => format!(
                "shard maps up to {} {}",
                k.len(),
                fmt_groups(k[k.len() - 1])
            ),
        };
        let from = if self.net.disks[i as usize].is_some() {
            format!(", from its disk (log {last})")
        } else {
            String::new()
        };
        let shards = shard_line(&mut self.placements, n);
        self.line(format!(
            "  {i} boots in g{g}{from}, knows {knows}; {shards}"
        ));
        self.run(i, |n, cx| n.start(cx));
    }

    fn fire(&mut self, i: NodeId, t: ShardTimer) {
        if self.net.due(i, t) {
            self.run(i, |n, cx| n.on_timer(cx, t));
        }
    }

    /// Deliver the queued messages `pick` picks, in order, until none is left.
    fn deliver_while(&mut self, pick: impl Fn(NodeId, NodeId) -> bool) {
        while let Some((f, t, m)) = self.net.take_first(&pick) {
            self.deliver(f, t, m);
        }
    }

    /// `elect G`, printing only who won (and any reply or violation on the way).
    fn elect(&mut self, g: u64) {
        let mark = self.net.out.len();
        self.elect_loud(g);
        let said = self.net.out.split_off(mark);
        for l in said.lines() {
            if l.contains("VIOLATION") || l.contains(" reply ") {
                self.line(l);
            }
        }
        let gs = self.gs();
        let live: Vec<&ShardedRaft> = (g * gs..(g + 1) * gs)
            .filter_map(|n| self.net.node(n as NodeId))
            .collect();
        let leader = live
            .iter()
            .find(|x| x.raft().role() == Role::Leader)
            .map(|x| (x.raft().id(), x.raft().term()));
        let applied: Vec<String> = live
            .iter()
            .map(|x| format!("{}:{}", x.raft().id(), x.raft().applied_index()))
            .collect();
        let s = match leader {
            Some((l, t)) => format!(
                "  g{g} elects {l} in term {t}; applied {}",
                applied.join(" ")
            ),
            None => format!("  g{g} elects nobody"),
        };
        self.line(s);
    }

    fn elect_loud(&mut self, g: u64) {
        let gs = self.gs();
        let inside = move |f: NodeId, t: NodeId| f as u64 / gs == g && t as u64 / gs == g;
        let first = (g * gs..(g + 1) * gs)
            .map(|n| n as NodeId)
            .find(|n| self.net.node(*n).is_some())
            .expect("a live member");
        self.fire(first, ShardTimer::RaftElection);
        self.deliver_while(inside);
        let leader = (g * gs..(g + 1) * gs).map(|n| n as NodeId).find(|n| {
            self.net
                .node(*n)
                .is_some_and(|x| x.raft().role() == Role::Leader)
        });
        match leader {
            Some(l) => {
                self.fire(l, ShardTimer::RaftHeartbeat);
                self.deliver_while(inside);
            }
            None => self.line(format!("  (group {g} elected nobody)")),
        }
    }

    fn request(&mut self, words: &[&str], read: bool) {
        let i: NodeId = words[1].parse().expect("node id");
        let mut op_words = words[2..].to_vec();
        if read {
            // `get I k` asks what `read k` would.
            op_words.insert(0, "read");
        }
        let r = self.clients.request(&op_words);
        let shard = shard_of(r.op.key(), self.params.shards);
        self.line(format!("{} (shard {shard}) at {i}", req(&r)));
        self.run(i, |n, cx| n.on_client(cx, r));
    }

    /// The longest list of shard maps any live node knows.
    fn known(&self) -> Vec<u64> {
        self.net
            .nodes
            .iter()
            .flatten()
            .map(|n| n.known().to_vec())
            .max_by_key(|k| k.len())
            .unwrap_or_default()
    }

    fn membership(&mut self, node: NodeId, add: bool) {
        let gs = self.gs() as NodeId;
        let leader = (0..gs)
            .filter(|n| {
                self.net
                    .node(*n)
                    .is_some_and(|x| x.raft().role() == Role::Leader)
            })
            .max_by_key(|n| self.net.node(*n).map(|x| x.raft().term()));
        let Some(l) = leader else {
            self.line("  group 0 has no leader");
            return;
        };
        let c = if add {
            MembershipChange::Add { node }
        } else {
            MembershipChange::Remove { node }
        };
        let mut res = Ok(());
        self.line(format!(
            "  {l} (group 0's leader) asked to {} group {}",
            if add { "add" } else { "remove" },
            node / gs
        ));
        self.run(l, |n, cx| res = n.change_membership(cx, c));
        match res {
            Ok(()) => self.line("  accepted"),
            Err(e) => self.line(format!("  refused: {e}")),
        }
    }
}

impl Transcript for Cluster {
    type P = ShardedRaft;

    fn new() -> Self {
        Cluster {
            params: ShardParams::default(),
            initial: Vec::new(),
            net: Net::new(msg),
            placements: Placements::default(),
            clients: Clients::default(),
        }
    }

    fn net(&mut self) -> &mut Net<ShardedRaft> {
        &mut self.net
    }

    fn command(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |k| common::num(line, k);
        match words[0] {
            "add-nodes" => {
                let n = num(1);
                self.params = common::params::<ShardedRaft>(&words[2..]);
                common::assert_sound::<ShardedRaft>(&self.params, n as usize);
                self.initial = (0..n).collect();
                for i in 0..n {
                    self.boot(i, self.initial.clone(), false);
                }
            }
            "add-spares" => {
                let start = self.net.ids().end;
                for i in start..start + num(1) {
                    self.boot(i, Vec::new(), false);
                }
            }
            "campaign" => self.fire(num(1), ShardTimer::RaftElection),
            "heartbeat" => self.fire(num(1), ShardTimer::RaftHeartbeat),
            "elect" => self.elect(num(1) as u64),
            "settle" => {
                let (gs, g) = (self.gs(), num(1) as u64);
                self.deliver_while(|f, t| f as u64 / gs == g && t as u64 / gs == g);
            }
            "tick" => {
                for i in words[1].split(',') {
                    self.fire(i.parse().expect("node id"), ShardTimer::Tick);
                }
            }
            "advance" => {
                self.net.now += num(1) as u64 * MS;
                self.line(format!("time {} ms", self.net.now / MS));
            }
            "put" => self.request(&words, false),
            "get" => self.request(&words, true),
            "join" => self.membership(num(1), true),
            "leave" => self.membership(num(1), false),
            "where" => {
                let k = words[1];
                let s = shard_of(k, self.params.shards);
                let per: Vec<String> = self
                    .known()
                    .iter()
                    .enumerate()
                    .map(|(e, g)| {
                        let o = placement(*g, &self.params)[s as usize];
                        format!(
                            "map {}: g{}",
                            e + 1,
                            o.map(|o| o.to_string()).unwrap_or("-".into())
                        )
                    })
                    .collect();
                self.line(format!("{k}: shard {s}; {}", per.join(", ")));
            }
            "shards" => {
                let mut before: Option<Vec<Option<u64>>> = None;
                for (e, g) in self.known().iter().enumerate() {
                    let now = placement(*g, &self.params);
                    let owners: Vec<String> = now
                        .iter()
                        .enumerate()
                        .map(|(s, o)| {
                            format!("{s}:g{}", o.map(|o| o.to_string()).unwrap_or("-".into()))
                        })
                        .collect();
                    let mut l = format!("map {} {}: {}", e + 1, fmt_groups(*g), owners.join(" "));
                    if let Some(b) = &before {
                        let moved: Vec<String> = (0..now.len())
                            .filter(|s| b[*s] != now[*s])
                            .map(|s| {
                                let f =
                                    |o: Option<u64>| o.map(|o| o.to_string()).unwrap_or("-".into());
                                format!("{s} g{}->g{}", f(b[s]), f(now[s]))
                            })
                            .collect();
                        let _ = write!(l, "\n  moves {}", list(&moved));
                    }
                    self.line(l);
                    before = Some(now);
                }
            }
            w => panic!("unknown command {w}"),
        }
    }

    fn receive(&mut self, from: NodeId, to: NodeId, m: ShardMsg) {
        self.run(to, |n, cx| n.on_message(cx, from, m));
    }

    fn restart(&mut self, i: NodeId, keep_disk: bool) {
        // As the simulator does: a restarted node knows the initial members.
        self.boot(i, self.initial.clone(), keep_disk);
    }

    fn status(&mut self, i: NodeId) {
        let Some(n) = self.net.node(i) else {
            self.line(format!("{i}: down"));
            return;
        };
        let r = n.raft();
        let mut s = format!(
            "{i}: g{} {} t{} leader={} commit={} applied={}",
            n.group(),
            role(r.role()),
            r.term(),
            r.leader().map(|x| x.to_string()).unwrap_or("-".into()),
            r.commit_index(),
            r.applied_index(),
        );
        let es: Vec<String> = (r.log().first_index()..=r.log().last_index())
            .filter_map(|k| r.log().entry(k).map(|e| entry(k, e)))
            .collect();
        let _ = write!(s, "\n   log: {}", es.join(", "));
        let user = r.state().kv.iter().filter(|(k, _)| !k.starts_with('#'));
        let _ = write!(s, "\n   kv: {}", kv(user));
        let line = shard_line(&mut self.placements, n);
        let _ = write!(s, "\n   {line}; knows maps {}", maps(n.known()));
        self.line(s);
    }
}

#[test]
fn golden_transcripts() {
    common::golden_transcripts::<Cluster>("sharded-raft");
}
