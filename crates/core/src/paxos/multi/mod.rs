//! Multi-Paxos: a replicated key-value store on a log of slots, each decided by its own
//! instance of Paxos, as a pure state machine.
//!
//! Every node is an acceptor ([`acceptor`]), a learner (the slot log and the store,
//! [`log`]) and a proposer ([`leader`]).
//! * **Leader election by ballots.** A node that hears no leader for a random election
//!   timeout takes a ballot `(round, id)` above every round it has seen and runs
//!   phase 1 (prepare/promise) once, for every slot after its commit index. With
//!   promises from a majority it leads. A rejected ballot, or a leader's heartbeat,
//!   sends it back to following, with a fresh random wait before it tries again
//!   (the back-off that settles duels).
//! * **Takeover.** The new leader proposes, in every open slot, the value of the highest
//!   ballot its promises reported there, and a no-op in the holes.
//! * **Phase 2 per slot** (accept/accepted). A value accepted by a majority in the
//!   leader's ballot is chosen; the leader applies the chosen prefix and answers its
//!   clients. Its commit index travels on accepts and heartbeats: a follower holding a
//!   value of the leader's ballot in a slot up to it learns that value.
//! * **Catch-up.** Heartbeat replies carry each follower's chosen prefix; the leader
//!   sends the chosen slots it lacks, or its snapshot if they are truncated.
//! * **Durability.** An acceptor persists its promise and every accepted value before
//!   it replies; a restart boots from that disk (the fold of the writes).
//! * **Truncation.** Every `snapshot_threshold` applied slots, the slots are replaced
//!   by a snapshot of the store (with its client sessions).
//! * **Reads go through the log** like writes: a read is linearizable because it is
//!   ordered among the writes by its slot (no lease, so clock drift cannot break it).
//! * **Client sessions**: a retried `(client, seq)` is applied once (the store keeps
//!   each client's last request and outcome), like Raft's.
//! * **Invariants** ([`crate::paxos::ghost`]): checked after every event.
//!
//! Membership is the boot configuration; it does not change.

pub mod acceptor;
pub mod leader;
pub mod log;
pub mod msg;
pub mod params;
mod view;

pub use acceptor::Acceptor;
pub use leader::{Proposer, Role};
pub use log::SlotLog;
pub use msg::{AcceptedSlot, ChosenSlot, MultiPaxosDisk, MultiPaxosMsg, MultiPaxosWrite, Snapshot};
pub use params::MultiPaxosParams;

use crate::paxos::ghost::{self, Describe};
use crate::paxos::{Ballot, Cmd, Ghost, PaxosMonitor};
use crate::{
    ClientReply, ClientRequest, Ctx, NodeId, NodeView, Outcome, Protocol, Time, Violation,
};

crate::timers!(
    /// Multi-Paxos's timers.
    MultiPaxosTimer {
        /// Followers and candidates: no leader heard from (or phase 1 took too long).
        Election = 1,
        /// Leaders: heartbeats and re-sending unanswered accepts.
        Heartbeat = 2,
        /// Leaders with `check_quorum`: was a majority heard from?
        CheckQuorum = 3,
    }
);
pub const TIMER_ELECTION: MultiPaxosTimer = MultiPaxosTimer::Election;
pub const TIMER_HEARTBEAT: MultiPaxosTimer = MultiPaxosTimer::Heartbeat;
pub const TIMER_CHECK_QUORUM: MultiPaxosTimer = MultiPaxosTimer::CheckQuorum;

/// One Multi-Paxos node.
#[derive(Clone, Debug)]
pub struct MultiPaxos {
    id: NodeId,
    members: Vec<NodeId>,
    p: MultiPaxosParams,
    acceptor: Acceptor,
    log: SlotLog,
    proposer: Proposer,
    /// What this event did, for the invariant checker only.
    ghost: Ghost,
    election_armed: Time,
    last_change: String,
}

impl MultiPaxos {
    pub fn id(&self) -> NodeId {
        self.id
    }
    pub fn role(&self) -> Role {
        self.proposer.role
    }
    pub fn acceptor(&self) -> &Acceptor {
        &self.acceptor
    }
    pub fn log(&self) -> &SlotLog {
        &self.log
    }
    pub fn proposer(&self) -> &Proposer {
        &self.proposer
    }
    pub fn leader(&self) -> Option<NodeId> {
        self.proposer.leader
    }
    /// The ballot this node shows: its own while campaigning or leading, else the one
    /// it promised.
    pub fn ballot(&self) -> Ballot {
        match self.proposer.role {
            Role::Follower => self.acceptor.promised(),
            _ => self.proposer.ballot,
        }
    }

    fn quorum(&self) -> usize {
        self.members.len() / 2 + 1
    }

    /// Learn every slot up to `commit` in which this acceptor holds a value of
    /// `ballot`: the leader of `ballot` proposed exactly that value there, and says it
    /// is chosen.
    fn learn_up_to(&mut self, cx: &mut Ctx<'_, Self>, ballot: Ballot, commit: u64) {
        let to = commit.min(self.acceptor.last_slot());
        let mut slot = self.log.commit() + 1;
        let mut learned = false;
        while slot <= to {
            if let Some((b, cmd)) = self.acceptor.get(slot) {
                if *b == ballot && !self.log.is_chosen(slot) {
                    let cmd = cmd.clone();
                    learned |= self.log.learn(&mut self.ghost, slot, cmd);
                }
            }
            slot += 1;
        }
        if learned {
            self.log.advance(cx, &mut self.proposer.waiters);
        }
    }

    fn install(&mut self, cx: &mut Ctx<'_, Self>, s: Box<Snapshot>) {
        if self.log.install(&s) {
            self.acceptor.truncate(s.base);
            cx.persist(MultiPaxosWrite::Snapshot(s));
            self.log.advance(cx, &mut self.proposer.waiters);
        }
    }

    fn maybe_truncate(&mut self, cx: &mut Ctx<'_, Self>) {
        if let Some(s) = self.log.maybe_truncate(self.p.snapshot_threshold) {
            self.acceptor.truncate(s.base);
            cx.persist(MultiPaxosWrite::Snapshot(Box::new(s)));
        }
    }

    fn reject(&self, cx: &mut Ctx<'_, Self>, to: NodeId, ballot: Ballot) {
        let promised = self.acceptor.promised();
        cx.send(to, MultiPaxosMsg::Reject { ballot, promised });
    }

    fn handle(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: MultiPaxosMsg) {
        self.note_round(msg.ballot());
        match msg {
            MultiPaxosMsg::Prepare { ballot, from_slot } => {
                if !self.acceptor.prepare(cx, &self.p, ballot) {
                    self.reject(cx, from, ballot);
                    return;
                }
                if self.proposer.role != Role::Follower && ballot > self.proposer.ballot {
                    let why = format!("promised node {from}'s higher ballot {ballot}");
                    self.step_down(cx, None, why);
                } else if self.proposer.role == Role::Follower {
                    // Give the candidate time to finish phase 1.
                    self.reset_election_timer(cx);
                }
                let accepted = self.acceptor.accepted_from(from_slot);
                let snapshot =
                    (self.acceptor.base() >= from_slot).then(|| Box::new(self.log.snapshot()));
                cx.send(
                    from,
                    MultiPaxosMsg::Promise {
                        ballot,
                        accepted,
                        snapshot,
                    },
                );
            }
            MultiPaxosMsg::Promise {
                ballot,
                accepted,
                snapshot,
            } => self.on_promise(cx, from, ballot, accepted, snapshot),
            MultiPaxosMsg::Accept {
                ballot,
                slot,
                cmd,
                commit,
            } => {
                if !self
                    .acceptor
                    .accept(cx, &self.p, &mut self.ghost, slot, ballot, &cmd)
                {
                    self.reject(cx, from, ballot);
                    return;
                }
                // Accepted, so `ballot` is at least our promise (and above any ballot
                // of our own): its leader leads.
                self.follow(cx, from, ballot);
                self.learn_up_to(cx, ballot, commit);
                let commit = self.log.commit();
                cx.send(
                    from,
                    MultiPaxosMsg::Accepted {
                        ballot,
                        slot,
                        commit,
                    },
                );
            }
            MultiPaxosMsg::Accepted {
                ballot,
                slot,
                commit,
            } => self.on_accepted(cx, from, ballot, slot, commit),
            MultiPaxosMsg::Reject { ballot, promised } => {
                if self.proposer.role != Role::Follower
                    && ballot == self.proposer.ballot
                    && promised > ballot
                {
                    let why = format!(
                        "ballot {ballot} rejected by node {from}, which promised ballot {promised}; backing off"
                    );
                    self.step_down(cx, None, why);
                }
            }
            MultiPaxosMsg::Heartbeat { ballot, commit } => {
                if ballot < self.acceptor.promised() {
                    self.reject(cx, from, ballot);
                    return;
                }
                self.follow(cx, from, ballot);
                self.learn_up_to(cx, ballot, commit);
                let commit = self.log.commit();
                cx.send(from, MultiPaxosMsg::HeartbeatReply { ballot, commit });
            }
            MultiPaxosMsg::HeartbeatReply { ballot, commit } => {
                self.on_heartbeat_reply(cx, from, ballot, commit)
            }
            MultiPaxosMsg::Chosen { slots, .. } => {
                // Chosen values are facts, whoever reports them.
                let mut learned = false;
                for c in slots {
                    learned |= self.log.learn(&mut self.ghost, c.slot, c.cmd);
                }
                if learned {
                    self.log.advance(cx, &mut self.proposer.waiters);
                }
            }
            MultiPaxosMsg::Snapshot { snapshot, .. } => self.install(cx, snapshot),
        }
    }

    fn on_election_timeout(&mut self, cx: &mut Ctx<'_, Self>) {
        if self.proposer.role == Role::Leader {
            return;
        }
        if !self.members.contains(&self.id) {
            self.reset_election_timer(cx);
            return;
        }
        let waited = cx.now().saturating_sub(self.election_armed) / crate::MS;
        let why = match (self.proposer.role, self.proposer.leader) {
            (Role::Candidate, _) => format!(
                "phase 1 of ballot {} got no majority in {waited} ms; trying a higher ballot",
                self.proposer.ballot
            ),
            (_, Some(l)) => format!("no heartbeat from leader {l} for {waited} ms"),
            _ => format!("no leader heard from in {waited} ms"),
        };
        self.campaign(cx, why);
    }
}

impl Describe for MultiPaxos {
    fn describe(&self, slot: u64, digest: u64) -> Option<String> {
        let a = self.acceptor.get(slot).map(|x| &x.1);
        let l = self.log.get(slot);
        let f = self.proposer.inflight.get(&slot).map(|f| &f.cmd);
        [a, l, f]
            .into_iter()
            .flatten()
            .find(|c| c.digest() == digest)
            .map(Cmd::describe)
    }
}

impl Protocol for MultiPaxos {
    const NAME: &'static str = "multi-paxos";
    const SUMMARY: &'static str = "consensus: a log of Paxos instances";
    const DATA_TYPE: crate::DataType = crate::DataType::CAS_REGISTER;
    const ALSO_SERVES: &'static [crate::DataType] = &[crate::DataType::KV];
    const PARAMS: &'static [crate::ParamSpec] = params::MULTI_PAXOS_PARAMS;
    const HAS_LEADER: bool = true;
    type Params = MultiPaxosParams;
    type Msg = MultiPaxosMsg;
    type Disk = MultiPaxosDisk;
    type Write = MultiPaxosWrite;
    type Monitor = PaxosMonitor;
    type Timer = MultiPaxosTimer;

    fn patience(p: &MultiPaxosParams) -> crate::Time {
        p.election_timeout_max_ms * crate::MS
    }

    fn param_problems(p: &MultiPaxosParams) -> Vec<(&'static str, String)> {
        p.problems()
    }

    fn apply_write(disk: &mut MultiPaxosDisk, write: MultiPaxosWrite) {
        disk.apply(write);
    }

    fn boot(
        id: NodeId,
        members: &[NodeId],
        params: &MultiPaxosParams,
        disk: Option<&MultiPaxosDisk>,
    ) -> Self {
        let mut members = members.to_vec();
        members.sort_unstable();
        members.dedup();
        let empty = MultiPaxosDisk::default();
        let d = disk.unwrap_or(&empty);
        let mut node = MultiPaxos {
            id,
            members,
            p: *params,
            acceptor: Acceptor::from_disk(d),
            log: SlotLog::from_snapshot(&d.snapshot),
            proposer: Proposer::new(),
            ghost: Ghost::default(),
            election_armed: 0,
            last_change: if disk.is_some() {
                "restarted from its disk".to_string()
            } else {
                "booted".to_string()
            },
        };
        node.ghost.blank = disk.is_none();
        node.proposer.max_round = node.acceptor.promised().round;
        node
    }

    fn start(&mut self, cx: &mut Ctx<'_, Self>) {
        self.reset_election_timer(cx);
    }

    fn on_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: MultiPaxosMsg) {
        self.ghost.clear();
        self.handle(cx, from, msg);
        self.maybe_truncate(cx);
    }

    fn on_timer(&mut self, cx: &mut Ctx<'_, Self>, timer: MultiPaxosTimer) {
        self.ghost.clear();
        match timer {
            TIMER_ELECTION => self.on_election_timeout(cx),
            TIMER_HEARTBEAT if self.proposer.role == Role::Leader => {
                self.heartbeat(cx);
                cx.set_timer(
                    TIMER_HEARTBEAT,
                    self.p.heartbeat_interval_ms.max(1) * crate::MS,
                );
            }
            TIMER_CHECK_QUORUM => self.on_check_quorum(cx),
            _ => {}
        }
        self.maybe_truncate(cx);
    }

    fn on_client(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest) {
        self.ghost.clear();
        if self.proposer.role != Role::Leader {
            cx.reply(ClientReply {
                client: req.client,
                seq: req.seq,
                outcome: Outcome::Redirect {
                    leader: self.proposer.leader.filter(|l| *l != self.id),
                    // The ballot round this node has promised: a hint from a node
                    // that promised a higher ballot is the newer one.
                    term: self.acceptor.promised().round,
                },
                at: None,
            });
            return;
        }
        if let Some(s) = self.log.state().session(req.client) {
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
        if self.proposer.waiters.get(&req.client) == Some(&req.seq) {
            return; // A retry of a request already proposed: its reply will come.
        }
        self.proposer.waiters.insert(req.client, req.seq);
        let slot = self.proposer.next_slot;
        self.proposer.next_slot += 1;
        self.propose(cx, slot, Cmd::Client(req));
        self.maybe_truncate(cx);
    }

    fn is_leader(&self) -> bool {
        self.proposer.role == Role::Leader
    }

    /// The ballot, round and node together (`round * 256 + node`): two proposers may
    /// lead in one round, under different ballots, and that is safe.
    fn epoch(&self) -> u64 {
        let b = self.ballot();
        b.round * 256 + u64::from(b.node)
    }

    fn log_len(&self) -> u64 {
        self.log.last_slot()
    }

    fn view(&self) -> NodeView {
        view::view(self)
    }

    fn invariants() -> &'static [&'static str] {
        ghost::INVARIANTS
    }

    fn check(
        monitor: &mut PaxosMonitor,
        changed: NodeId,
        nodes: &[Option<Self>],
        _now: Time,
    ) -> Result<(), Violation> {
        let Some(Some(n)) = nodes.get(changed as usize) else {
            return Ok(());
        };
        monitor.observe(
            changed,
            &n.ghost,
            [(ghost::ALL_SLOTS, n.acceptor.promised())],
            n.quorum(),
            nodes,
        )
    }
}

#[cfg(test)]
mod tests;
