//! The proposer: elections by ballots (phase 1 once per ballot for every open slot), and
//! as leader, phase 2 per slot, heartbeats, catch-up of lagging nodes, and the clients.

use super::msg::{AcceptedSlot, ChosenSlot, MultiPaxosMsg, MultiPaxosWrite, Snapshot};
use super::{MultiPaxos, TIMER_CHECK_QUORUM, TIMER_ELECTION, TIMER_HEARTBEAT};
use crate::paxos::{fmt_nodes, Ballot, Cmd};
use crate::{ClientId, ClientReply, Ctx, NodeId, Outcome, Time, MS};
use std::collections::BTreeMap;

/// What this node's proposer is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Follows a leader (or waits for one); its acceptor and learner do the work.
    Follower,
    /// Running phase 1 with its own ballot.
    Candidate,
    /// Phase 1 done with a majority: proposes in every slot with its ballot.
    Leader,
}

/// A slot the leader proposed in and has not seen chosen yet.
#[derive(Clone, Debug)]
pub struct InFlight {
    pub cmd: Cmd,
    /// Acceptors that accepted it in the leader's ballot.
    pub votes: Vec<NodeId>,
}

/// What the leader knows of another node.
#[derive(Clone, Debug)]
pub struct Peer {
    pub node: NodeId,
    /// Its chosen prefix, as last reported.
    pub commit: u64,
    /// Heard from it since the last check-quorum.
    pub active: bool,
}

#[derive(Clone, Debug)]
pub struct Proposer {
    pub role: Role,
    /// This node's ballot while it is a candidate or leader.
    pub ballot: Ballot,
    /// The highest round seen in any ballot: the next campaign goes above it.
    pub max_round: u64,
    pub leader: Option<NodeId>,
    pub leader_contact: Option<Time>,
    // Candidate.
    pub promises: Vec<NodeId>,
    /// The highest-ballot value reported per slot by the promises so far.
    pub found: BTreeMap<u64, (Ballot, Cmd)>,
    pub found_snapshot: Option<Box<Snapshot>>,
    // Leader.
    pub inflight: BTreeMap<u64, InFlight>,
    pub next_slot: u64,
    /// Client requests proposed and not yet applied: client -> seq.
    pub waiters: BTreeMap<ClientId, u64>,
    pub peers: Vec<Peer>,
}

impl Default for Proposer {
    fn default() -> Self {
        Self::new()
    }
}

impl Proposer {
    pub fn new() -> Self {
        Proposer {
            role: Role::Follower,
            ballot: Ballot::default(),
            max_round: 0,
            leader: None,
            leader_contact: None,
            promises: Vec::new(),
            found: BTreeMap::new(),
            found_snapshot: None,
            inflight: BTreeMap::new(),
            next_slot: 1,
            waiters: BTreeMap::new(),
            peers: Vec::new(),
        }
    }

    /// Merge one promise's report: keep the value of the highest ballot per slot, and
    /// the most advanced snapshot.
    fn merge(&mut self, accepted: Vec<AcceptedSlot>, snapshot: Option<Box<Snapshot>>) {
        for a in accepted {
            match self.found.get(&a.slot) {
                Some((b, _)) if *b >= a.ballot => {}
                _ => {
                    self.found.insert(a.slot, (a.ballot, a.cmd));
                }
            }
        }
        if let Some(s) = snapshot {
            if self.found_snapshot.as_ref().is_none_or(|f| f.base < s.base) {
                self.found_snapshot = Some(s);
            }
        }
    }
}

impl MultiPaxos {
    pub(super) fn reset_election_timer(&mut self, cx: &mut Ctx<'_, Self>) {
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

    pub(super) fn note_round(&mut self, b: Ballot) {
        self.proposer.max_round = self.proposer.max_round.max(b.round);
    }

    fn peers_except_self(&self) -> impl Iterator<Item = NodeId> + '_ {
        let id = self.id;
        self.members.iter().copied().filter(move |m| *m != id)
    }

    /// Stop campaigning or leading; every pending client gets an answer. The election
    /// timer is re-armed with a fresh random wait: the back-off that lets one of two
    /// dueling proposers finish before the other tries again.
    pub(super) fn step_down(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        leader: Option<NodeId>,
        why: String,
    ) {
        let pr = &mut self.proposer;
        if pr.role == Role::Leader {
            cx.cancel_timer(TIMER_HEARTBEAT);
            cx.cancel_timer(TIMER_CHECK_QUORUM);
            let reason = format!(
                "node {} stopped leading ({why}); the request may still take effect",
                self.id
            );
            for (client, seq) in std::mem::take(&mut pr.waiters) {
                cx.reply(ClientReply {
                    client,
                    seq,
                    outcome: Outcome::Unknown {
                        reason: reason.clone(),
                    },
                    at: None,
                });
            }
            pr.inflight.clear();
            pr.peers.clear();
        }
        pr.role = Role::Follower;
        pr.leader = leader;
        pr.promises.clear();
        pr.found.clear();
        pr.found_snapshot = None;
        self.last_change = why;
        self.reset_election_timer(cx);
    }

    /// A message from `from`, in `ballot`, that only a leader sends, passed the
    /// acceptor's promise check: follow it.
    pub(super) fn follow(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, ballot: Ballot) {
        if self.proposer.role != Role::Follower {
            let why = format!("node {from} leads with ballot {ballot}");
            self.step_down(cx, Some(from), why);
        } else {
            if self.proposer.leader != Some(from) {
                self.last_change = format!("node {from} leads with ballot {ballot}");
            }
            self.proposer.leader = Some(from);
            self.reset_election_timer(cx);
        }
        self.proposer.leader_contact = Some(cx.now());
    }

    // ---- phase 1 -------------------------------------------------------------------

    pub(super) fn campaign(&mut self, cx: &mut Ctx<'_, Self>, why: String) {
        let round = self.proposer.max_round.max(self.acceptor.promised().round) + 1;
        let ballot = Ballot::new(round, self.id);
        self.proposer.max_round = round;
        let from_slot = self.log.commit() + 1;
        let pr = &mut self.proposer;
        pr.role = Role::Candidate;
        pr.ballot = ballot;
        pr.leader = None;
        pr.promises.clear();
        pr.found.clear();
        pr.found_snapshot = None;
        self.last_change = why;
        // Our own acceptor promises first.
        self.acceptor.prepare(cx, &self.p, ballot);
        self.proposer.promises.push(self.id);
        let own = self.acceptor.accepted_from(from_slot);
        self.proposer.merge(own, None);
        self.reset_election_timer(cx);
        for m in self.peers_except_self().collect::<Vec<_>>() {
            cx.send(m, MultiPaxosMsg::Prepare { ballot, from_slot });
        }
        self.check_promises(cx);
    }

    pub(super) fn on_promise(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        accepted: Vec<AcceptedSlot>,
        snapshot: Option<Box<Snapshot>>,
    ) {
        let pr = &mut self.proposer;
        if pr.role != Role::Candidate
            || ballot != pr.ballot
            || pr.promises.contains(&from)
            || !self.members.contains(&from)
        {
            return;
        }
        pr.promises.push(from);
        pr.merge(accepted, snapshot);
        self.check_promises(cx);
    }

    fn check_promises(&mut self, cx: &mut Ctx<'_, Self>) {
        if self.proposer.role == Role::Candidate && self.proposer.promises.len() >= self.quorum() {
            let mut who = self.proposer.promises.clone();
            who.sort_unstable();
            let why = format!(
                "phase 1 of ballot {} done: promises from {}",
                self.proposer.ballot,
                fmt_nodes(&who)
            );
            self.become_leader(cx, why);
        }
    }

    /// Phase 1 succeeded: adopt the most advanced snapshot reported, then propose in
    /// every open slot the value of the highest ballot reported there, or a no-op to
    /// fill a hole.
    fn become_leader(&mut self, cx: &mut Ctx<'_, Self>, why: String) {
        cx.cancel_timer(TIMER_ELECTION);
        self.last_change = why;
        if let Some(s) = self.proposer.found_snapshot.take() {
            if self.log.install(&s) {
                self.acceptor.truncate(s.base);
                cx.persist(MultiPaxosWrite::Snapshot(s));
            }
        }
        let found = std::mem::take(&mut self.proposer.found);
        self.proposer.promises.clear();
        let pr = &mut self.proposer;
        pr.role = Role::Leader;
        pr.leader = Some(self.id);
        pr.inflight.clear();
        pr.waiters.clear();
        pr.peers = self
            .members
            .iter()
            .filter(|m| **m != self.id)
            .map(|&node| Peer {
                node,
                commit: 0,
                active: false,
            })
            .collect();
        let start = self.log.commit() + 1;
        let end = found
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
            .max(self.log.last_slot())
            .max(self.log.commit());
        self.proposer.next_slot = end + 1;
        cx.set_timer(TIMER_HEARTBEAT, self.p.heartbeat_interval_ms.max(1) * MS);
        if self.p.check_quorum {
            cx.set_timer(
                TIMER_CHECK_QUORUM,
                self.p.election_timeout_min_ms.max(1) * MS,
            );
        }
        self.heartbeat(cx);
        for slot in start..=end {
            if self.log.is_chosen(slot) {
                continue;
            }
            let cmd = match found.get(&slot) {
                Some((_, c)) if !self.p.unsafe_ignore_promised_values => c.clone(),
                _ => Cmd::Noop,
            };
            self.propose(cx, slot, cmd);
            if self.proposer.role != Role::Leader {
                return;
            }
        }
        self.log.advance(cx, &mut self.proposer.waiters);
    }

    // ---- phase 2 -------------------------------------------------------------------

    /// Propose `cmd` in `slot` with the leader's ballot: accept it locally, ask the
    /// others.
    pub(super) fn propose(&mut self, cx: &mut Ctx<'_, Self>, slot: u64, cmd: Cmd) {
        let ballot = self.proposer.ballot;
        let mut votes = Vec::new();
        if self
            .acceptor
            .accept(cx, &self.p, &mut self.ghost, slot, ballot, &cmd)
        {
            votes.push(self.id);
        }
        let commit = self.log.commit();
        for m in self.peers_except_self().collect::<Vec<_>>() {
            cx.send(
                m,
                MultiPaxosMsg::Accept {
                    ballot,
                    slot,
                    cmd: cmd.clone(),
                    commit,
                },
            );
        }
        self.proposer.inflight.insert(slot, InFlight { cmd, votes });
        self.maybe_chosen(cx, slot);
    }

    pub(super) fn on_accepted(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        slot: u64,
        commit: u64,
    ) {
        if self.proposer.role != Role::Leader || ballot != self.proposer.ballot {
            return;
        }
        self.peer_heard(from, commit);
        if let Some(f) = self.proposer.inflight.get_mut(&slot) {
            if !f.votes.contains(&from) && self.members.contains(&from) {
                f.votes.push(from);
                self.maybe_chosen(cx, slot);
            }
        }
    }

    fn maybe_chosen(&mut self, cx: &mut Ctx<'_, Self>, slot: u64) {
        let q = self.quorum();
        if self
            .proposer
            .inflight
            .get(&slot)
            .is_some_and(|f| f.votes.len() >= q)
        {
            if let Some(f) = self.proposer.inflight.remove(&slot) {
                self.log.learn(&mut self.ghost, slot, f.cmd);
                self.log.advance(cx, &mut self.proposer.waiters);
            }
        }
    }

    fn peer_heard(&mut self, from: NodeId, commit: u64) -> Option<usize> {
        let k = self.proposer.peers.iter().position(|p| p.node == from)?;
        let p = &mut self.proposer.peers[k];
        p.active = true;
        p.commit = p.commit.max(commit);
        Some(k)
    }

    // ---- heartbeats, retransmission, catch-up -------------------------------------

    /// Heartbeats to everyone; unanswered accepts again to whoever has not answered.
    pub(super) fn heartbeat(&mut self, cx: &mut Ctx<'_, Self>) {
        let ballot = self.proposer.ballot;
        let commit = self.log.commit();
        for m in self.peers_except_self().collect::<Vec<_>>() {
            cx.send(m, MultiPaxosMsg::Heartbeat { ballot, commit });
        }
        for (slot, f) in &self.proposer.inflight {
            for m in self
                .members
                .iter()
                .filter(|m| **m != self.id && !f.votes.contains(m))
            {
                cx.send(
                    *m,
                    MultiPaxosMsg::Accept {
                        ballot,
                        slot: *slot,
                        cmd: f.cmd.clone(),
                        commit,
                    },
                );
            }
        }
    }

    /// A follower answered a heartbeat: send it the chosen slots it lacks (or the
    /// snapshot, if they are truncated here).
    pub(super) fn on_heartbeat_reply(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        commit: u64,
    ) {
        if self.proposer.role != Role::Leader || ballot != self.proposer.ballot {
            return;
        }
        if self.peer_heard(from, commit).is_none() || commit >= self.log.commit() {
            return;
        }
        if commit < self.log.base() {
            let snapshot = Box::new(self.log.snapshot());
            cx.send(from, MultiPaxosMsg::Snapshot { ballot, snapshot });
            return;
        }
        let to = self.log.commit().min(commit + self.p.catch_up_batch.max(1));
        let slots: Vec<ChosenSlot> = (commit + 1..=to)
            .filter_map(|slot| {
                self.log.get(slot).map(|cmd| ChosenSlot {
                    slot,
                    cmd: cmd.clone(),
                })
            })
            .collect();
        cx.send(from, MultiPaxosMsg::Chosen { ballot, slots });
    }

    pub(super) fn on_check_quorum(&mut self, cx: &mut Ctx<'_, Self>) {
        if self.proposer.role != Role::Leader || !self.p.check_quorum {
            return;
        }
        let heard = 1 + self.proposer.peers.iter().filter(|p| p.active).count();
        if heard < self.quorum() {
            let why = format!(
                "lost check-quorum: heard from {heard} of {} nodes in the last {} ms",
                self.members.len(),
                self.p.election_timeout_min_ms
            );
            self.step_down(cx, None, why);
            return;
        }
        for p in &mut self.proposer.peers {
            p.active = false;
        }
        cx.set_timer(
            TIMER_CHECK_QUORUM,
            self.p.election_timeout_min_ms.max(1) * MS,
        );
    }
}
