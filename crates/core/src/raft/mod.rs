//! Raft, complete, as a pure state machine.
//!
//! * Leader election with randomised timeouts, pre-vote and check-quorum; a new leader
//!   appends a no-op entry so that it commits an entry of its own term.
//! * Log replication with a conflict hint for fast back-off, the figure-8 commit rule
//!   (a leader only commits, by counting replicas, entries of its own term).
//! * Persistence through incremental [`RaftWrite`]s folded into a [`RaftDisk`].
//! * Snapshots, log compaction and InstallSnapshot.
//! * Single-server membership changes; a configuration takes effect when appended.
//! * A replicated key-value store with client sessions (exactly-once retries).
//! * Reads by ReadIndex, by leader lease, or through the log ([`ReadMode`]).
//! * Five invariants checked incrementally after every event ([`RaftMonitor`]).
//!
//! # Booting
//! `boot(id, members, ..)` with `members` = the initial configuration. A node joining a
//! running cluster must be booted with an **empty** `members` list (or any list that
//! does not contain its own id): it then starts as a *learner* that never campaigns,
//! and waits for the leader, which starts replicating to it once the `Add` change is
//! appended. A node restarted from its disk takes its configuration from the disk
//! (snapshot and configuration entries); `members` only matters while the disk holds
//! no snapshot.
//!
//! # Compaction timing
//! A node takes a snapshot at the *start* of its next event after crossing
//! `snapshot_threshold`, never in the event that applied the entries. The invariant
//! checker thus sees every committed entry in some log at least once.

mod check;
mod log;
mod msg;
mod params;
mod sm;
mod view;

pub use check::{RaftMonitor, INVARIANTS as RAFT_INVARIANTS};
pub use log::{Cmd, Entry, Import, RaftLog};
pub use msg::{RaftDisk, RaftMsg, RaftWrite, SnapshotData};
pub use params::{RaftParams, ReadMode};
pub use sm::{Applied, Kv, Session};

use crate::{
    ClientId, ClientReply, ClientRequest, Ctx, LogWindow, MembershipChange, NodeId, NodeView, Op,
    Outcome, Protocol, Time, Violation, MS,
};
use std::collections::{BTreeMap, VecDeque};

crate::timers!(
    /// Raft's timers.
    RaftTimer {
        /// Followers, candidates and pre-candidates: fires when no leader was heard from.
        Election = 1,
        /// Leaders: time to send heartbeats.
        Heartbeat = 2,
        /// Leaders with `check_quorum`: time to check that a majority was heard from.
        CheckQuorum = 3,
    }
);
pub const TIMER_ELECTION: RaftTimer = RaftTimer::Election;
pub const TIMER_HEARTBEAT: RaftTimer = RaftTimer::Heartbeat;
pub const TIMER_CHECK_QUORUM: RaftTimer = RaftTimer::CheckQuorum;

/// A node's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// How the leader is replicating to one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PrState {
    /// Where the follower's log matches is unknown: one small append at a time.
    Probe,
    /// The follower is in step: stream appends, optimistically advancing `next`.
    Replicate,
    /// The follower needs entries the leader has compacted: a snapshot is on its way.
    Snapshot,
}

#[derive(Clone, Debug)]
struct Progress {
    node: NodeId,
    match_index: u64,
    next_index: u64,
    state: PrState,
    /// Probe: an append is outstanding, wait for its reply (or the next heartbeat).
    probe_sent: bool,
    /// Snapshot: index of the snapshot sent, and when.
    snapshot_index: u64,
    snapshot_sent_at: Time,
    /// Heard from it since the last check-quorum.
    recent_active: bool,
    /// Highest heartbeat round it has answered.
    acked_round: u64,
}

#[derive(Clone, Debug)]
struct PendingRead {
    client: ClientId,
    seq: u64,
    key: String,
    /// A heartbeat round sent after the read arrived; served when a majority acked it.
    round: u64,
    /// The commit index to wait for (known once the leader committed in its term).
    index: Option<u64>,
}

/// One Raft node.
#[derive(Clone, Debug)]
pub struct Raft {
    id: NodeId,
    p: RaftParams,
    // Durable.
    term: u64,
    vote: Option<NodeId>,
    log: RaftLog,
    /// The term last written to disk (a vote request at a new term persists it once).
    persisted_term: u64,
    // Volatile.
    role: Role,
    leader: Option<NodeId>,
    commit: u64,
    applied: u64,
    /// Ghost: prefix hash of the last applied entry (for the invariant checker).
    applied_hash: u64,
    state: Kv,
    /// Configuration as of the snapshot (or boot), then configuration entries in the log.
    config_base: Vec<NodeId>,
    config_log: Vec<(u64, Vec<NodeId>)>,
    /// Votes (or pre-votes) received in the current campaign.
    votes: Vec<(NodeId, bool)>,
    /// Local time of the last message from the current leader.
    leader_contact: Option<Time>,
    /// Local time the election timer was last armed.
    election_armed: Time,
    // Leader only.
    progress: Vec<Progress>,
    /// Index of this leader's no-op: once committed, the leader knows the commit index.
    term_start: u64,
    /// Client requests in the log waiting to be applied: client -> seq.
    waiters: BTreeMap<ClientId, u64>,
    reads: Vec<PendingRead>,
    round: u64,
    quorum_round: u64,
    want_round: bool,
    round_times: VecDeque<(u64, Time)>,
    lease_until: Time,
    last_change: String,
}

fn fmt_members(m: &[NodeId]) -> String {
    let v: Vec<String> = m.iter().map(|x| x.to_string()).collect();
    format!("{{{}}}", v.join(","))
}

impl Raft {
    // ---- small accessors -----------------------------------------------------------

    pub fn id(&self) -> NodeId {
        self.id
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn term(&self) -> u64 {
        self.term
    }
    pub fn commit_index(&self) -> u64 {
        self.commit
    }
    pub fn applied_index(&self) -> u64 {
        self.applied
    }
    pub fn log(&self) -> &RaftLog {
        &self.log
    }
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The state machine (the key-value store) as applied so far.
    pub fn state(&self) -> &Kv {
        &self.state
    }

    /// A leader whose own term has an entry committed and who applied everything
    /// committed: its state machine holds every command committed by any leader (used
    /// by primary-backup's Raft view store before it proposes a view change).
    pub fn leader_ready(&self) -> bool {
        self.committed_in_term() && self.applied >= self.commit
    }

    /// Append `cmd` as this leader's next entry and replicate it (a protocol that
    /// composes Raft proposes its own imports this way). False, and nothing appended,
    /// when this node does not lead.
    pub fn propose(&mut self, cx: &mut Ctx<'_, Self>, cmd: Cmd) -> bool {
        if self.role != Role::Leader {
            return false;
        }
        self.append_local(cx, cmd);
        self.replicate_new(cx);
        self.maybe_commit(cx);
        true
    }

    /// The configuration in effect (the last one appended).
    pub fn members(&self) -> &[NodeId] {
        self.config_log
            .last()
            .map(|c| &c.1[..])
            .unwrap_or(&self.config_base)
    }

    fn config_index(&self) -> u64 {
        self.config_log.last().map(|c| c.0).unwrap_or(0)
    }

    /// The configuration in effect at `index` (at or after the snapshot).
    fn config_at(&self, index: u64) -> &[NodeId] {
        self.config_log
            .iter()
            .rev()
            .find(|c| c.0 <= index)
            .map(|c| &c.1[..])
            .unwrap_or(&self.config_base)
    }

    fn is_member(&self, n: NodeId) -> bool {
        self.members().contains(&n)
    }

    fn quorum(&self) -> usize {
        self.members().len() / 2 + 1
    }

    fn election_min(&self) -> Time {
        self.p.election_timeout_min_ms * MS
    }

    fn committed_in_term(&self) -> bool {
        self.role == Role::Leader && self.commit >= self.term_start
    }

    /// Still trusting a leader: it is us, or we heard from it within the minimum
    /// election timeout.
    fn in_lease(&self, now: Time) -> bool {
        match self.role {
            Role::Leader => true,
            _ => {
                self.leader.is_some()
                    && self
                        .leader_contact
                        .is_some_and(|t| now < t + self.election_min())
            }
        }
    }

    /// The `quorum`-th highest of the members' values (`own` for this node).
    fn quorum_value(&self, own: u64, f: fn(&Progress) -> u64) -> u64 {
        let members = self.members();
        let n = members.len();
        if n == 0 {
            return 0;
        }
        let mut buf = [0u64; 16];
        let mut heap = Vec::new();
        let vals: &mut [u64] = if n <= 16 {
            &mut buf[..n]
        } else {
            heap.resize(n, 0);
            &mut heap
        };
        for (k, m) in members.iter().enumerate() {
            vals[k] = if *m == self.id {
                own
            } else {
                self.progress
                    .iter()
                    .find(|p| p.node == *m)
                    .map(f)
                    .unwrap_or(0)
            };
        }
        vals.sort_unstable_by(|a, b| b.cmp(a));
        vals[n / 2]
    }

    // ---- persistence -------------------------------------------------------------

    fn persist_hard_state(&mut self, cx: &mut Ctx<'_, Self>) {
        self.persisted_term = self.term;
        let vote = if self.p.unsafe_forget_vote {
            None
        } else {
            self.vote
        };
        cx.persist(RaftWrite::HardState {
            term: self.term,
            vote,
        });
    }

    fn make_snapshot(&self) -> SnapshotData {
        SnapshotData {
            index: self.applied,
            term: self.log.term(self.applied).unwrap_or(0),
            state: self.state.clone(),
            members: self.config_at(self.applied).to_vec(),
            hash: self.applied_hash,
        }
    }

    /// Compact once enough applied entries accumulated (see the module docs for why
    /// this runs at the start of an event).
    fn maybe_compact(&mut self, cx: &mut Ctx<'_, Self>) {
        let t = self.p.snapshot_threshold;
        if t == 0 || self.applied < self.log.snap_index() + t {
            return;
        }
        let snap = self.make_snapshot();
        let idx = snap.index;
        self.config_base = snap.members.clone();
        cx.persist(RaftWrite::Snapshot(Box::new(snap)));
        self.log.compact_to(idx);
        self.config_log.retain(|c| c.0 > idx);
    }

    // ---- timers --------------------------------------------------------------------

    fn reset_election_timer(&mut self, cx: &mut Ctx<'_, Self>) {
        let lo = self.p.election_timeout_min_ms * MS;
        let hi = self
            .p
            .election_timeout_max_ms
            .max(self.p.election_timeout_min_ms)
            * MS;
        let after = cx.rng().range(lo, hi).max(1);
        cx.set_timer(TIMER_ELECTION, after);
        self.election_armed = cx.now();
    }

    // ---- role changes ------------------------------------------------------------

    /// Leaving leadership: every pending client request gets an answer.
    fn leave_leadership(&mut self, cx: &mut Ctx<'_, Self>, why: &str) {
        cx.cancel_timer(TIMER_HEARTBEAT);
        cx.cancel_timer(TIMER_CHECK_QUORUM);
        let reason = format!(
            "node {} stopped leading ({why}); the request may still take effect",
            self.id
        );
        for (client, seq) in std::mem::take(&mut self.waiters) {
            cx.reply(ClientReply {
                client,
                seq,
                outcome: Outcome::Unknown {
                    reason: reason.clone(),
                },
                at: None,
            });
        }
        for r in std::mem::take(&mut self.reads) {
            let reason = format!(
                "node {} stopped leading ({why}) before it could serve the read",
                self.id
            );
            cx.reply(ClientReply {
                client: r.client,
                seq: r.seq,
                outcome: Outcome::Unknown { reason },
                at: None,
            });
        }
        self.progress.clear();
        self.lease_until = 0;
        self.want_round = false;
        self.round_times.clear();
    }

    fn become_follower(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        term: u64,
        leader: Option<NodeId>,
        why: String,
    ) {
        if term > self.term {
            self.term = term;
            self.vote = None;
            self.persist_hard_state(cx);
        }
        if self.role == Role::Leader {
            self.leave_leadership(cx, &why);
        }
        self.role = Role::Follower;
        self.leader = leader;
        self.votes.clear();
        self.last_change = why;
        self.reset_election_timer(cx);
    }

    fn campaign(&mut self, cx: &mut Ctx<'_, Self>, pre: bool, force: bool, why: String) {
        if !self.is_member(self.id) {
            self.reset_election_timer(cx);
            return;
        }
        self.votes.clear();
        self.votes.push((self.id, true));
        self.leader = None;
        self.last_change = why;
        let (last_index, last_term) = (self.log.last_index(), self.log.last_term());
        let msg = if pre {
            self.role = Role::PreCandidate;
            RaftMsg::PreVote {
                term: self.term + 1,
                last_index,
                last_term,
            }
        } else {
            self.role = Role::Candidate;
            self.term += 1;
            self.vote = Some(self.id);
            self.persist_hard_state(cx);
            RaftMsg::Vote {
                term: self.term,
                last_index,
                last_term,
                force,
            }
        };
        self.reset_election_timer(cx);
        for i in 0..self.members().len() {
            let m = self.members()[i];
            if m != self.id {
                cx.send(m, msg.clone());
            }
        }
        self.check_votes(cx);
    }

    fn check_votes(&mut self, cx: &mut Ctx<'_, Self>) {
        let granted: Vec<NodeId> = self
            .votes
            .iter()
            .filter(|v| v.1 && self.is_member(v.0))
            .map(|v| v.0)
            .collect();
        if granted.len() < self.quorum() {
            return;
        }
        let who = fmt_members(&granted);
        match self.role {
            Role::PreCandidate => {
                let why = format!("won the pre-vote for term {} with {who}", self.term + 1);
                self.campaign(cx, false, false, why)
            }
            Role::Candidate => {
                let why = format!(
                    "won the election for term {} with votes from {who}",
                    self.term
                );
                self.become_leader(cx, why)
            }
            _ => {}
        }
    }

    fn become_leader(&mut self, cx: &mut Ctx<'_, Self>, why: String) {
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.last_change = why;
        self.votes.clear();
        cx.cancel_timer(TIMER_ELECTION);
        let next = self.log.last_index() + 1;
        self.progress.clear();
        for i in 0..self.members().len() {
            let m = self.members()[i];
            if m != self.id {
                self.progress.push(Progress::new(m, next));
            }
        }
        self.round = 0;
        self.quorum_round = 0;
        self.want_round = false;
        self.round_times.clear();
        self.lease_until = 0;
        self.term_start = next;
        self.append_local(cx, Cmd::Noop);
        cx.set_timer(TIMER_HEARTBEAT, self.p.heartbeat_interval_ms.max(1) * MS);
        if self.p.check_quorum {
            for pr in &mut self.progress {
                pr.recent_active = false;
            }
            cx.set_timer(TIMER_CHECK_QUORUM, self.election_min().max(1));
        }
        self.broadcast_round(cx);
        self.maybe_commit(cx);
    }

    // ---- leader: log and replication ------------------------------------------------

    /// Append an entry to the leader's own log (and disk).
    fn append_local(&mut self, cx: &mut Ctx<'_, Self>, cmd: Cmd) -> u64 {
        let index = self.log.last_index() + 1;
        let e = Entry {
            term: self.term,
            cmd,
        };
        cx.persist(RaftWrite::Append {
            from_index: index,
            entries: vec![e.clone()],
        });
        if let Cmd::Config { members } = &e.cmd {
            self.config_log.push((index, members.clone()));
            if self.role == Role::Leader {
                for m in members.clone() {
                    if m != self.id && !self.progress.iter().any(|p| p.node == m) {
                        self.progress.push(Progress::new(m, index));
                    }
                }
            }
        }
        self.log.push(e);
        index
    }

    fn pr_pos(&self, node: NodeId) -> Option<usize> {
        self.progress.iter().position(|p| p.node == node)
    }

    /// Send follower `k` what it needs: entries from its `next` (a heartbeat if none),
    /// or a snapshot.
    fn send_append(&mut self, cx: &mut Ctx<'_, Self>, k: usize) {
        let pr = &self.progress[k];
        let to = pr.node;
        if pr.state == PrState::Snapshot {
            // Heartbeat that every log matches; the snapshot itself is resent if it
            // seems lost.
            if cx.now() >= pr.snapshot_sent_at + self.election_min() {
                self.send_snapshot(cx, k);
                return;
            }
            let msg = RaftMsg::Append {
                term: self.term,
                prev_index: 0,
                prev_term: 0,
                entries: Vec::new(),
                commit: 0,
                round: self.round,
            };
            cx.send(to, msg);
            return;
        }
        let prev = pr.next_index - 1;
        let Some(prev_term) = self.log.term(prev) else {
            self.send_snapshot(cx, k);
            return;
        };
        let max = match pr.state {
            PrState::Probe => 1,
            _ => self.p.max_entries_per_append.max(1) as usize,
        };
        let entries = if pr.next_index <= self.log.last_index() {
            self.log.slice(pr.next_index, max)
        } else {
            Vec::new()
        };
        let n = entries.len() as u64;
        let commit = self.commit.min(prev + n);
        let pr = &mut self.progress[k];
        match pr.state {
            PrState::Replicate => pr.next_index += n,
            _ => pr.probe_sent = true,
        }
        cx.send(
            to,
            RaftMsg::Append {
                term: self.term,
                prev_index: prev,
                prev_term,
                entries,
                commit,
                round: self.round,
            },
        );
    }

    fn send_snapshot(&mut self, cx: &mut Ctx<'_, Self>, k: usize) {
        let snap = self.make_snapshot();
        let pr = &mut self.progress[k];
        pr.state = PrState::Snapshot;
        pr.snapshot_index = snap.index;
        pr.snapshot_sent_at = cx.now();
        let to = pr.node;
        cx.send(
            to,
            RaftMsg::Snapshot {
                term: self.term,
                snapshot: Box::new(snap),
                round: self.round,
            },
        );
    }

    /// New entries: send them to every follower that is ready for them.
    fn replicate_new(&mut self, cx: &mut Ctx<'_, Self>) {
        for k in 0..self.progress.len() {
            let pr = &self.progress[k];
            let ready = match pr.state {
                PrState::Replicate => pr.next_index <= self.log.last_index(),
                PrState::Probe => !pr.probe_sent,
                PrState::Snapshot => false,
            };
            if ready {
                self.send_append(cx, k);
            }
        }
    }

    /// Start a heartbeat round: every follower gets a message carrying the new round.
    fn broadcast_round(&mut self, cx: &mut Ctx<'_, Self>) {
        self.round += 1;
        self.want_round = false;
        self.round_times.push_back((self.round, cx.now()));
        if self.round_times.len() > 64 {
            self.round_times.pop_front();
        }
        for k in 0..self.progress.len() {
            self.send_append(cx, k);
        }
        self.advance_reads(cx);
    }

    fn maybe_commit(&mut self, cx: &mut Ctx<'_, Self>) {
        if self.role != Role::Leader {
            return;
        }
        let n = self.quorum_value(self.log.last_index(), |p| p.match_index);
        if n > self.commit
            && (self.p.unsafe_commit_old_terms || self.log.term(n) == Some(self.term))
        {
            self.commit = n;
            self.apply_committed(cx);
            self.advance_reads(cx);
        }
        if self.role == Role::Leader && self.config_index() <= self.commit {
            self.finish_config_change(cx);
        }
    }

    /// The latest configuration is committed: stop replicating to removed nodes, and
    /// leave if we were removed.
    fn finish_config_change(&mut self, cx: &mut Ctx<'_, Self>) {
        let members = self.members().to_vec();
        self.progress.retain(|p| members.contains(&p.node));
        if !members.contains(&self.id) {
            let last = self.log.last_index();
            let heir = self
                .progress
                .iter()
                .filter(|p| p.match_index == last)
                .map(|p| p.node)
                .next();
            if let Some(h) = heir {
                cx.send(h, RaftMsg::TimeoutNow { term: self.term });
            }
            let why = format!(
                "removed from the configuration (config entry {} committed)",
                self.config_index()
            );
            self.become_follower(cx, self.term, None, why);
        }
    }

    /// Apply committed entries to the state machine; a leader answers its clients.
    fn apply_committed(&mut self, cx: &mut Ctx<'_, Self>) {
        while self.applied < self.commit {
            let i = self.applied + 1;
            let (Some(e), Some(h)) = (self.log.entry(i), self.log.hash_at(i)) else {
                break;
            };
            if let Cmd::Import(imp) = &e.cmd {
                self.state.import(imp);
            }
            if let Cmd::Client(req) = &e.cmd {
                let res = self.state.apply(req);
                if self.waiters.get(&req.client) == Some(&req.seq) {
                    self.waiters.remove(&req.client);
                    let outcome = match res {
                        Applied::Fresh(o) | Applied::Duplicate(o) => o,
                        Applied::Stale => Outcome::Unknown {
                            reason: "superseded by a newer request of the same client".into(),
                        },
                    };
                    cx.reply(ClientReply {
                        client: req.client,
                        seq: req.seq,
                        outcome,
                        at: Some(crate::LogPos {
                            index: i,
                            term: Some(e.term),
                        }),
                    });
                }
            }
            self.applied = i;
            self.applied_hash = h;
        }
    }

    // ---- leader: reads -------------------------------------------------------------

    fn on_read(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest, key: String) {
        let now = cx.now();
        if self.p.read_mode == ReadMode::Lease
            && self.committed_in_term()
            && now < self.lease_until
            && self.applied >= self.commit
        {
            let value = self.state.kv.get(&key).cloned();
            cx.reply(ClientReply {
                client: req.client,
                seq: req.seq,
                outcome: Outcome::Ok { value },
                at: None,
            });
            return;
        }
        let index = if self.committed_in_term() {
            Some(self.commit)
        } else {
            None
        };
        self.reads.push(PendingRead {
            client: req.client,
            seq: req.seq,
            key,
            round: self.round + 1,
            index,
        });
        if self.quorum_round >= self.round {
            self.broadcast_round(cx);
        } else {
            self.want_round = true;
        }
    }

    /// Recompute the round a majority confirmed; renew the lease; serve ready reads.
    fn advance_reads(&mut self, cx: &mut Ctx<'_, Self>) {
        if self.role != Role::Leader {
            return;
        }
        let qr = self.quorum_value(self.round, |p| p.acked_round);
        if qr > self.quorum_round {
            self.quorum_round = qr;
            while self.round_times.front().is_some_and(|r| r.0 < qr) {
                self.round_times.pop_front();
            }
            if let Some(&(r, t)) = self.round_times.front() {
                if r == qr {
                    self.lease_until = self.lease_until.max(t + self.p.lease_ms * MS);
                }
            }
        }
        if self.reads.is_empty() || !self.committed_in_term() {
            return;
        }
        let mut k = 0;
        while k < self.reads.len() {
            let r = &mut self.reads[k];
            let index = *r.index.get_or_insert(self.commit);
            if r.round <= self.quorum_round && self.applied >= index {
                let r = self.reads.swap_remove(k);
                let value = self.state.kv.get(&r.key).cloned();
                cx.reply(ClientReply {
                    client: r.client,
                    seq: r.seq,
                    outcome: Outcome::Ok { value },
                    at: None,
                });
            } else {
                k += 1;
            }
        }
        if self.want_round && self.quorum_round >= self.round && !self.reads.is_empty() {
            self.broadcast_round(cx);
        }
    }

    // ---- message handlers ------------------------------------------------------------

    fn on_append(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: RaftMsg) {
        let RaftMsg::Append {
            prev_index,
            mut prev_term,
            mut entries,
            commit,
            round,
            ..
        } = msg
        else {
            return;
        };
        if self.role == Role::Leader {
            return; // Two leaders in one term cannot happen; the checker would say so.
        }
        if self.role != Role::Follower || self.leader != Some(from) {
            let why = format!("node {from} leads term {}", self.term);
            self.become_follower(cx, self.term, Some(from), why);
        } else {
            self.reset_election_timer(cx);
        }
        self.leader_contact = Some(cx.now());
        let term = self.term;
        let reply = |success, index, conflict_term, conflict_index| RaftMsg::AppendReply {
            term,
            success,
            index,
            conflict_term,
            conflict_index,
            round,
        };
        // Entries up to our commit index are known to match: skip them.
        let mut prev = prev_index;
        if prev < self.commit {
            let skip = self.commit - prev;
            if skip >= entries.len() as u64 {
                cx.send(from, reply(true, self.commit, 0, 0));
                return;
            }
            prev_term = entries[skip as usize - 1].term;
            prev = self.commit;
            entries.drain(..skip as usize);
        }
        match self.log.term(prev) {
            Some(t) if t == prev_term => {}
            Some(t) => {
                let ci = self.log.first_index_of_term_at(prev);
                cx.send(from, reply(false, prev_index, t, ci));
                return;
            }
            None => {
                cx.send(from, reply(false, prev_index, 0, self.log.last_index() + 1));
                return;
            }
        }
        let last_new = prev + entries.len() as u64;
        let mut i = prev + 1;
        let mut k = 0;
        while k < entries.len() && self.log.term(i) == Some(entries[k].term) {
            i += 1;
            k += 1;
        }
        if k < entries.len() {
            if i <= self.log.last_index() {
                self.log.truncate_from(i);
                self.config_log.retain(|c| c.0 < i);
            }
            let new: Vec<Entry> = entries.drain(k..).collect();
            cx.persist(RaftWrite::Append {
                from_index: i,
                entries: new.clone(),
            });
            for e in new {
                if let Cmd::Config { members } = &e.cmd {
                    self.config_log
                        .push((self.log.last_index() + 1, members.clone()));
                }
                self.log.push(e);
            }
        }
        let new_commit = commit.min(last_new);
        if new_commit > self.commit {
            self.commit = new_commit;
            self.apply_committed(cx);
        }
        cx.send(from, reply(true, last_new, 0, 0));
    }

    fn on_snapshot(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        from: NodeId,
        snap: SnapshotData,
        round: u64,
    ) {
        if self.role == Role::Leader {
            return;
        }
        if self.role != Role::Follower || self.leader != Some(from) {
            let why = format!("node {from} leads term {}", self.term);
            self.become_follower(cx, self.term, Some(from), why);
        } else {
            self.reset_election_timer(cx);
        }
        self.leader_contact = Some(cx.now());
        if snap.index > self.commit {
            let idx = snap.index;
            self.log.restore(idx, snap.term, snap.hash);
            let last = self.log.last_index();
            self.config_log.retain(|c| c.0 > idx && c.0 <= last);
            self.config_base = snap.members.clone();
            self.state = snap.state.clone();
            self.commit = idx;
            self.applied = idx;
            self.applied_hash = snap.hash;
            cx.persist(RaftWrite::Snapshot(Box::new(snap)));
        }
        cx.send(
            from,
            RaftMsg::SnapshotReply {
                term: self.term,
                index: self.commit,
                round,
            },
        );
    }

    /// A follower answered an append or a snapshot in our term.
    fn on_progress(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: RaftMsg) {
        if self.role != Role::Leader {
            return;
        }
        let Some(k) = self.pr_pos(from) else { return };
        let last = self.log.last_index();
        let pr = &mut self.progress[k];
        pr.recent_active = true;
        let (success, index, ct, ci, round) = match msg {
            RaftMsg::AppendReply {
                success,
                index,
                conflict_term,
                conflict_index,
                round,
                ..
            } => (success, index, conflict_term, conflict_index, round),
            RaftMsg::SnapshotReply { index, round, .. } => (true, index, 0, 0, round),
            _ => return,
        };
        pr.acked_round = pr.acked_round.max(round);
        let index = index.min(last);
        if success {
            pr.probe_sent = false;
            if index > pr.match_index {
                pr.match_index = index;
            }
            match pr.state {
                PrState::Replicate => pr.next_index = pr.next_index.max(pr.match_index + 1),
                PrState::Probe => {
                    pr.state = PrState::Replicate;
                    pr.next_index = pr.match_index + 1;
                }
                PrState::Snapshot => {
                    if pr.match_index >= pr.snapshot_index {
                        pr.state = PrState::Replicate;
                        pr.next_index = pr.match_index + 1;
                    }
                }
            }
            let more = pr.state == PrState::Replicate && pr.next_index <= last;
            self.maybe_commit(cx);
            if more && self.role == Role::Leader {
                if let Some(k) = self.pr_pos(from) {
                    self.send_append(cx, k);
                }
            }
        } else {
            let stale = index <= pr.match_index
                || (pr.state == PrState::Probe && index + 1 != pr.next_index)
                || pr.state == PrState::Snapshot;
            if !stale {
                let hint = if ct > 0 {
                    self.log
                        .last_index_of_term(ct, index)
                        .map(|j| j + 1)
                        .unwrap_or(ci)
                } else {
                    ci
                };
                let pr = &mut self.progress[k];
                pr.next_index = hint.clamp(pr.match_index + 1, index);
                pr.state = PrState::Probe;
                pr.probe_sent = false;
                self.send_append(cx, k);
            }
        }
        self.advance_reads(cx);
    }

    fn on_vote(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        from: NodeId,
        term: u64,
        last_index: u64,
        last_term: u64,
    ) {
        let up_to_date =
            self.p.unsafe_skip_up_to_date_check || self.log.is_up_to_date(last_index, last_term);
        let free = self.vote.is_none() || self.vote == Some(from);
        let granted = term == self.term && free && up_to_date;
        if granted {
            self.vote = Some(from);
            self.reset_election_timer(cx);
        }
        if granted || term > self.persisted_term {
            self.persist_hard_state(cx);
        }
        cx.send(
            from,
            RaftMsg::VoteReply {
                term: self.term,
                granted,
            },
        );
    }

    fn on_pre_vote(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        from: NodeId,
        term: u64,
        last_index: u64,
        last_term: u64,
    ) {
        let up_to_date =
            self.p.unsafe_skip_up_to_date_check || self.log.is_up_to_date(last_index, last_term);
        let granted = term > self.term && up_to_date && !self.in_lease(cx.now());
        let term = if granted { term } else { self.term };
        cx.send(from, RaftMsg::PreVoteReply { term, granted });
    }

    fn handle(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: RaftMsg) {
        let mt = msg.term();
        if mt > self.term {
            match &msg {
                RaftMsg::PreVote { .. } | RaftMsg::PreVoteReply { granted: true, .. } => {}
                RaftMsg::Vote { force: false, .. }
                    if self.p.check_quorum && self.in_lease(cx.now()) =>
                {
                    // Leader stickiness: we still hear from a leader; ignore the disrupter.
                    return;
                }
                RaftMsg::Vote { .. } => {
                    // Adopt the term; the vote (granted or not) persists it with the vote.
                    let why = format!("saw term {mt} from node {from} (vote)");
                    self.term = mt;
                    self.vote = None;
                    self.become_follower(cx, mt, None, why);
                }
                _ => {
                    let leader = match &msg {
                        RaftMsg::Append { .. }
                        | RaftMsg::Snapshot { .. }
                        | RaftMsg::TimeoutNow { .. } => Some(from),
                        _ => None,
                    };
                    let why = format!(
                        "saw term {mt} from node {from} ({})",
                        crate::Message::kind(&msg)
                    );
                    self.become_follower(cx, mt, leader, why);
                }
            }
        } else if mt < self.term {
            // A stale sender: tell it our term so it catches up (a stale leader steps down).
            let term = self.term;
            match msg {
                RaftMsg::Append {
                    prev_index, round, ..
                } => cx.send(
                    from,
                    RaftMsg::AppendReply {
                        term,
                        success: false,
                        index: prev_index,
                        conflict_term: 0,
                        conflict_index: 0,
                        round,
                    },
                ),
                RaftMsg::Snapshot { round, .. } => cx.send(
                    from,
                    RaftMsg::SnapshotReply {
                        term,
                        index: 0,
                        round,
                    },
                ),
                RaftMsg::PreVote { .. } => cx.send(
                    from,
                    RaftMsg::PreVoteReply {
                        term,
                        granted: false,
                    },
                ),
                RaftMsg::Vote { .. } => cx.send(
                    from,
                    RaftMsg::VoteReply {
                        term,
                        granted: false,
                    },
                ),
                _ => {}
            }
            return;
        }
        match msg {
            RaftMsg::PreVote {
                term,
                last_index,
                last_term,
            } => self.on_pre_vote(cx, from, term, last_index, last_term),
            RaftMsg::PreVoteReply { term, granted } => {
                if self.role == Role::PreCandidate
                    && term == self.term + 1
                    && !self.votes.iter().any(|v| v.0 == from)
                {
                    self.votes.push((from, granted));
                    self.check_votes(cx);
                }
            }
            RaftMsg::Vote {
                term,
                last_index,
                last_term,
                ..
            } => self.on_vote(cx, from, term, last_index, last_term),
            RaftMsg::VoteReply { term, granted } => {
                if self.role == Role::Candidate
                    && term == self.term
                    && !self.votes.iter().any(|v| v.0 == from)
                {
                    self.votes.push((from, granted));
                    self.check_votes(cx);
                }
            }
            m @ RaftMsg::Append { .. } => self.on_append(cx, from, m),
            RaftMsg::Snapshot {
                snapshot, round, ..
            } => self.on_snapshot(cx, from, *snapshot, round),
            m @ (RaftMsg::AppendReply { .. } | RaftMsg::SnapshotReply { .. }) => {
                self.on_progress(cx, from, m)
            }
            RaftMsg::TimeoutNow { .. } => {
                if self.role != Role::Leader && self.is_member(self.id) {
                    let why = format!("leader {from} handed over leadership (timeout-now)");
                    self.campaign(cx, false, true, why);
                }
            }
        }
    }

    fn on_election_timeout(&mut self, cx: &mut Ctx<'_, Self>) {
        if self.role == Role::Leader {
            return;
        }
        if !self.is_member(self.id) {
            self.reset_election_timer(cx);
            return;
        }
        let now = cx.now();
        let waited = now.saturating_sub(self.election_armed) / MS;
        let why = match (self.role, self.leader, self.leader_contact) {
            (Role::Follower, Some(l), Some(t)) => format!(
                "election timeout: no heartbeat from leader {l} for {} ms",
                now.saturating_sub(t) / MS
            ),
            (Role::Follower, _, _) => {
                format!("election timeout: no leader heard from in {waited} ms")
            }
            (Role::PreCandidate, _, _) => format!(
                "pre-vote for term {} got no majority in {waited} ms; trying again",
                self.term + 1
            ),
            _ => format!(
                "election for term {} got no majority in {waited} ms; trying again",
                self.term
            ),
        };
        self.campaign(cx, self.p.pre_vote, false, why);
    }

    fn on_check_quorum(&mut self, cx: &mut Ctx<'_, Self>) {
        if self.role != Role::Leader || !self.p.check_quorum {
            return;
        }
        let members = self.members();
        let heard = members
            .iter()
            .filter(|m| {
                **m == self.id
                    || self
                        .progress
                        .iter()
                        .any(|p| p.node == **m && p.recent_active)
            })
            .count();
        if heard < self.quorum() {
            let why = format!(
                "lost check-quorum: heard from {heard} of {} members in the last {} ms",
                members.len(),
                self.p.election_timeout_min_ms
            );
            self.become_follower(cx, self.term, None, why);
            return;
        }
        for pr in &mut self.progress {
            pr.recent_active = false;
        }
        cx.set_timer(TIMER_CHECK_QUORUM, self.election_min().max(1));
    }
}

impl Progress {
    fn new(node: NodeId, next: u64) -> Self {
        Progress {
            node,
            match_index: 0,
            next_index: next,
            state: PrState::Probe,
            probe_sent: false,
            snapshot_index: 0,
            snapshot_sent_at: 0,
            recent_active: false,
            acked_round: 0,
        }
    }
}

impl Protocol for Raft {
    const NAME: &'static str = "raft";
    const SUMMARY: &'static str = "consensus";
    const DATA_TYPE: crate::DataType = crate::DataType::CAS_REGISTER;
    const ALSO_SERVES: &'static [crate::DataType] = &[crate::DataType::KV];
    const PARAMS: &'static [crate::ParamSpec] = params::RAFT_PARAMS;
    const HAS_LEADER: bool = true;

    fn patience(p: &RaftParams) -> crate::Time {
        p.election_timeout_max_ms * crate::MS
    }

    fn param_problems(p: &RaftParams) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if p.election_timeout_min_ms == 0 {
            v.push(("election_timeout_min_ms", "must be at least 1".to_string()));
        }
        if p.election_timeout_max_ms < p.election_timeout_min_ms {
            v.push((
                "election_timeout_max_ms",
                format!(
                    "{} is below election_timeout_min_ms ({})",
                    p.election_timeout_max_ms, p.election_timeout_min_ms
                ),
            ));
        }
        if p.heartbeat_interval_ms == 0 || p.heartbeat_interval_ms >= p.election_timeout_min_ms {
            v.push((
                "heartbeat_interval_ms",
                format!(
                    "{} must be at least 1 and below election_timeout_min_ms ({}), or followers start elections against a live leader",
                    p.heartbeat_interval_ms, p.election_timeout_min_ms
                ),
            ));
        }
        if p.max_entries_per_append == 0 {
            v.push(("max_entries_per_append", "must be at least 1".to_string()));
        }
        if p.lease_ms == 0 {
            v.push(("lease_ms", "must be at least 1".to_string()));
        }
        v
    }
    type Params = RaftParams;
    type Msg = RaftMsg;
    type Disk = RaftDisk;
    type Write = RaftWrite;
    type Monitor = RaftMonitor;
    type Timer = RaftTimer;

    fn apply_write(disk: &mut RaftDisk, write: RaftWrite) {
        disk.apply(write);
    }

    fn boot(id: NodeId, members: &[NodeId], params: &RaftParams, disk: Option<&RaftDisk>) -> Self {
        let mut r = Raft {
            id,
            p: *params,
            term: 0,
            vote: None,
            log: RaftLog::default(),
            persisted_term: 0,
            role: Role::Follower,
            leader: None,
            commit: 0,
            applied: 0,
            applied_hash: 0,
            state: Kv::default(),
            config_base: members.to_vec(),
            config_log: Vec::new(),
            votes: Vec::new(),
            leader_contact: None,
            election_armed: 0,
            progress: Vec::new(),
            term_start: u64::MAX,
            waiters: BTreeMap::new(),
            reads: Vec::new(),
            round: 0,
            quorum_round: 0,
            want_round: false,
            round_times: VecDeque::new(),
            lease_until: 0,
            last_change: "booted".to_string(),
        };
        r.config_base.sort_unstable();
        r.config_base.dedup();
        if let Some(d) = disk {
            r.term = d.term;
            r.persisted_term = d.term;
            r.vote = d.vote;
            let s = &d.snapshot;
            if s.index > 0 {
                r.config_base = s.members.clone();
                r.state = s.state.clone();
            }
            r.log = RaftLog::new(s.index, s.term, s.hash);
            r.commit = s.index;
            r.applied = s.index;
            r.applied_hash = s.hash;
            for e in &d.log {
                if let Cmd::Config { members } = &e.cmd {
                    r.config_log.push((r.log.last_index() + 1, members.clone()));
                }
                r.log.push(e.clone());
            }
            r.last_change = "restarted from its disk".to_string();
        }
        if !r.is_member(id) {
            r.last_change = format!(
                "{}: not in the configuration, waiting for a leader",
                r.last_change
            );
        }
        r
    }

    fn start(&mut self, cx: &mut Ctx<'_, Self>) {
        self.reset_election_timer(cx);
    }

    fn on_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: RaftMsg) {
        self.maybe_compact(cx);
        self.handle(cx, from, msg);
    }

    fn on_timer(&mut self, cx: &mut Ctx<'_, Self>, timer: RaftTimer) {
        self.maybe_compact(cx);
        match timer {
            TIMER_ELECTION => self.on_election_timeout(cx),
            TIMER_HEARTBEAT if self.role == Role::Leader => {
                self.broadcast_round(cx);
                cx.set_timer(TIMER_HEARTBEAT, self.p.heartbeat_interval_ms.max(1) * MS);
            }
            TIMER_CHECK_QUORUM => self.on_check_quorum(cx),
            _ => {}
        }
    }

    fn on_client(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest) {
        self.maybe_compact(cx);
        if self.role != Role::Leader {
            cx.reply(ClientReply {
                client: req.client,
                seq: req.seq,
                outcome: Outcome::Redirect {
                    leader: self.leader,
                    term: self.term,
                },
                at: None,
            });
            return;
        }
        if let Op::Read { key } = &req.op {
            if self.p.read_mode != ReadMode::Log {
                let key = key.clone();
                self.on_read(cx, req, key);
                return;
            }
        }
        if let Some(s) = self.state.session(req.client) {
            if s.seq == req.seq {
                let outcome = s.outcome.clone();
                cx.reply(ClientReply {
                    client: req.client,
                    seq: req.seq,
                    outcome,
                    at: None,
                });
                return;
            }
            if req.seq < s.seq {
                let reason = format!(
                    "client {} already moved on to request {}",
                    req.client, s.seq
                );
                cx.reply(ClientReply {
                    client: req.client,
                    seq: req.seq,
                    outcome: Outcome::Unknown { reason },
                    at: None,
                });
                return;
            }
        }
        if self.waiters.get(&req.client) == Some(&req.seq) {
            return; // A retry of a request already in the log: its reply will come.
        }
        self.waiters.insert(req.client, req.seq);
        self.append_local(cx, Cmd::Client(req));
        self.replicate_new(cx);
        self.maybe_commit(cx);
    }

    fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    fn epoch(&self) -> u64 {
        self.term
    }

    fn log_len(&self) -> u64 {
        self.log.last_index()
    }

    fn view(&self) -> NodeView {
        view::view(self, LogWindow::ALL)
    }

    fn view_window(&self, window: LogWindow) -> NodeView {
        view::view(self, window)
    }

    fn invariants() -> &'static [&'static str] {
        check::INVARIANTS
    }

    fn check(
        monitor: &mut RaftMonitor,
        changed: NodeId,
        nodes: &[Option<Self>],
        now: Time,
    ) -> Result<(), Violation> {
        monitor.check(changed, nodes, now)
    }

    fn change_membership(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        change: MembershipChange,
    ) -> Result<(), String> {
        if let MembershipChange::Promote { node } = change {
            return Err(format!(
                "Raft elects its leader: node {node} cannot be promoted by hand"
            ));
        }
        if self.role != Role::Leader {
            return Err(match self.leader {
                Some(l) => format!("node {} is not the leader (node {l} is)", self.id),
                None => format!("node {} is not the leader (no leader known)", self.id),
            });
        }
        if !self.committed_in_term() {
            return Err(format!(
                "leader {} has not yet committed an entry of its term {}",
                self.id, self.term
            ));
        }
        if self.config_index() > self.commit {
            return Err(format!(
                "a membership change is still in progress (config entry {} is not committed yet)",
                self.config_index()
            ));
        }
        let mut members = self.members().to_vec();
        match change {
            MembershipChange::Add { node } => {
                if members.contains(&node) {
                    return Err(format!(
                        "node {node} is already a member of {}",
                        fmt_members(&members)
                    ));
                }
                members.push(node);
                members.sort_unstable();
            }
            MembershipChange::Remove { node } => {
                if !members.contains(&node) {
                    return Err(format!(
                        "node {node} is not a member of {}",
                        fmt_members(&members)
                    ));
                }
                if members.len() == 1 {
                    return Err(format!("cannot remove node {node}, the last member"));
                }
                members.retain(|m| *m != node);
            }
            MembershipChange::Promote { .. } => {
                return Err("Raft elects its leader: no manual promotion".to_string())
            }
        }
        self.maybe_compact(cx);
        self.append_local(cx, Cmd::Config { members });
        self.replicate_new(cx);
        self.maybe_commit(cx);
        Ok(())
    }
}

impl Raft {
    /// Make this node leader of `term` by fiat, with no election (for the tests of
    /// monitors that must see two leaders of one term).
    #[cfg(test)]
    pub(crate) fn force_leader(&mut self, term: u64) {
        self.term = term;
        self.role = Role::Leader;
        self.leader = Some(self.id);
    }
}

#[cfg(test)]
mod tests;
