//! The proposer: rounds of phase 1 and phase 2 for the keys its clients asked about,
//! with a timeout, and a random back-off after a rejection.

use super::msg::{Accepted, PaxosMsg};
use super::{Paxos, TIMER_ROUND};
use crate::paxos::{fmt_nodes, Ballot};
use crate::{ClientId, ClientReply, ClientRequest, Ctx, NodeId, Op, Outcome, Time, MS};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the next round (after a rejection, during the back-off).
    Idle,
    /// Phase 1: prepare sent, collecting promises.
    Prepare,
    /// Phase 2: accept sent, collecting acceptances.
    Accept,
}

/// The proposer's work on one key.
#[derive(Clone, Debug)]
pub struct Round {
    pub ballot: Ballot,
    pub phase: Phase,
    pub promises: Vec<NodeId>,
    /// The highest-ballot value the promises reported.
    pub highest: Option<Accepted>,
    /// The value proposed in phase 2.
    pub value: Option<i64>,
    pub accepts: Vec<NodeId>,
    /// Local time the next round starts (this one's timeout, or the back-off's end).
    pub due: Time,
    /// Client operations waiting for the decision.
    pub waiting: Vec<(ClientId, u64, Op)>,
    /// Rounds started so far.
    pub rounds: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Proposer {
    pub rounds: BTreeMap<String, Round>,
    /// The highest round seen per key: the next ballot goes above it.
    pub max_round: BTreeMap<String, u64>,
    /// When the round timer is armed for (local time).
    armed: Option<Time>,
    /// Rounds of this node pre-empted by a higher ballot.
    pub preempted: u64,
}

impl Proposer {
    pub fn note(&mut self, key: &str, b: Ballot) {
        match self.max_round.get_mut(key) {
            Some(r) => *r = (*r).max(b.round),
            None => {
                self.max_round.insert(key.to_string(), b.round);
            }
        }
    }

    /// Arm the round timer for the earliest due round.
    pub fn arm(&mut self, cx: &mut Ctx<'_, Paxos>) {
        let due = self.rounds.values().map(|r| r.due).min();
        if due == self.armed {
            return;
        }
        match due {
            Some(t) => cx.set_timer(TIMER_ROUND, t.saturating_sub(cx.now()).max(1)),
            None => cx.cancel_timer(TIMER_ROUND),
        }
        self.armed = due;
    }
}

impl Paxos {
    pub(super) fn enqueue(&mut self, cx: &mut Ctx<'_, Self>, key: String, req: ClientRequest) {
        let new = !self.proposer.rounds.contains_key(&key);
        let r = self.proposer.rounds.entry(key.clone()).or_insert(Round {
            ballot: Ballot::default(),
            phase: Phase::Idle,
            promises: Vec::new(),
            highest: None,
            value: None,
            accepts: Vec::new(),
            due: 0,
            waiting: Vec::new(),
            rounds: 0,
        });
        if !r
            .waiting
            .iter()
            .any(|w| w.0 == req.client && w.1 == req.seq)
        {
            r.waiting.push((req.client, req.seq, req.op));
        }
        if new {
            self.start_round(cx, &key);
        }
    }

    fn start_round(&mut self, cx: &mut Ctx<'_, Self>, key: &str) {
        let round = self.proposer.max_round.get(key).copied().unwrap_or(0) + 1;
        let ballot = Ballot::new(round, self.id);
        self.proposer.note(key, ballot);
        let due = cx.now() + self.p.round_timeout_ms.max(1) * MS;
        let Some(r) = self.proposer.rounds.get_mut(key) else {
            return;
        };
        r.ballot = ballot;
        r.phase = Phase::Prepare;
        r.promises.clear();
        r.highest = None;
        r.value = None;
        r.accepts.clear();
        r.due = due;
        r.rounds += 1;
        self.last_change = format!("phase 1 for {key} with ballot {ballot}");
        // Our own acceptor first.
        if let Ok(acc) = self
            .acceptor
            .prepare(cx, &self.p, &mut self.ghost, key, ballot)
        {
            self.add_promise(key, self.id, acc);
        }
        for m in self.members.clone() {
            if m != self.id {
                cx.send(
                    m,
                    PaxosMsg::Prepare {
                        key: key.to_string(),
                        ballot,
                    },
                );
            }
        }
        self.check_promises(cx, key);
        self.proposer.arm(cx);
    }

    fn add_promise(&mut self, key: &str, from: NodeId, acc: Option<Accepted>) {
        let Some(r) = self.proposer.rounds.get_mut(key) else {
            return;
        };
        if r.promises.contains(&from) {
            return;
        }
        r.promises.push(from);
        if let Some(a) = acc {
            if r.highest.is_none_or(|h| h.ballot < a.ballot) {
                r.highest = Some(a);
            }
        }
    }

    pub(super) fn on_promise(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        from: NodeId,
        key: String,
        ballot: Ballot,
        accepted: Option<Accepted>,
    ) {
        let Some(r) = self.proposer.rounds.get(&key) else {
            return;
        };
        if r.phase != Phase::Prepare || r.ballot != ballot || !self.members.contains(&from) {
            return;
        }
        self.add_promise(&key, from, accepted);
        self.check_promises(cx, &key);
        self.proposer.arm(cx);
    }

    /// With promises from a majority: phase 2 with the highest reported value, or the
    /// first waiting write's; reads alone with nothing accepted anywhere learn *nil*.
    fn check_promises(&mut self, cx: &mut Ctx<'_, Self>, key: &str) {
        let q = self.quorum();
        let Some(r) = self.proposer.rounds.get_mut(key) else {
            return;
        };
        if r.phase != Phase::Prepare || r.promises.len() < q {
            return;
        }
        let own = r.waiting.iter().find_map(|w| match &w.2 {
            Op::Write { value, .. } => Some(*value),
            _ => None,
        });
        let reported = r.highest.map(|h| h.value);
        let value = if self.p.unsafe_ignore_promised_values {
            own.or(reported)
        } else {
            reported.or(own)
        };
        let ballot = r.ballot;
        let mut who = r.promises.clone();
        who.sort_unstable();
        let Some(value) = value else {
            // Nothing accepted by a majority that promised: nothing was chosen before
            // now. The reads waiting return nil (no write is waiting here).
            if let Some(r) = self.proposer.rounds.remove(key) {
                for (client, seq, op) in r.waiting {
                    cx.reply(ClientReply {
                        client,
                        seq,
                        outcome: Outcome::Ok { value: None },
                        at: None,
                    });
                    debug_assert!(op.is_read());
                }
            }
            self.last_change = format!(
                "phase 1 for {key} with ballot {ballot}: no value accepted by {}, nothing chosen yet",
                fmt_nodes(&who)
            );
            return;
        };
        r.phase = Phase::Accept;
        r.value = Some(value);
        r.due = cx.now() + self.p.round_timeout_ms.max(1) * MS;
        self.last_change = format!(
            "phase 2 for {key} with ballot {ballot}: proposing {value} (promises from {})",
            fmt_nodes(&who)
        );
        if self
            .acceptor
            .accept(cx, &self.p, &mut self.ghost, key, ballot, value)
            .is_ok()
        {
            if let Some(r) = self.proposer.rounds.get_mut(key) {
                r.accepts.push(self.id);
            }
        }
        for m in self.members.clone() {
            if m != self.id {
                cx.send(
                    m,
                    PaxosMsg::Accept {
                        key: key.to_string(),
                        ballot,
                        value,
                    },
                );
            }
        }
        self.check_accepts(cx, key);
    }

    pub(super) fn on_accepted(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        from: NodeId,
        key: String,
        ballot: Ballot,
    ) {
        let Some(r) = self.proposer.rounds.get_mut(&key) else {
            return;
        };
        if r.phase != Phase::Accept
            || r.ballot != ballot
            || r.accepts.contains(&from)
            || !self.members.contains(&from)
        {
            return;
        }
        r.accepts.push(from);
        self.check_accepts(cx, &key);
        self.proposer.arm(cx);
    }

    /// Accepted by a majority in one ballot: chosen. Tell every learner.
    fn check_accepts(&mut self, cx: &mut Ctx<'_, Self>, key: &str) {
        let q = self.quorum();
        let Some(r) = self.proposer.rounds.get(key) else {
            return;
        };
        if r.phase != Phase::Accept || r.accepts.len() < q {
            return;
        }
        let Some(value) = r.value else { return };
        for m in self.members.clone() {
            if m != self.id {
                cx.send(
                    m,
                    PaxosMsg::Chosen {
                        key: key.to_string(),
                        value,
                    },
                );
            }
        }
        self.learn(cx, key, value);
    }

    pub(super) fn on_reject(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        from: NodeId,
        key: String,
        ballot: Ballot,
        promised: Ballot,
    ) {
        self.proposer.note(&key, promised);
        let backoff = self.p.backoff;
        let max = self.p.backoff_max_ms.max(1) * MS;
        let Some(r) = self.proposer.rounds.get_mut(&key) else {
            return;
        };
        if r.ballot != ballot || r.phase == Phase::Idle {
            return;
        }
        self.proposer.preempted += 1;
        if backoff {
            r.phase = Phase::Idle;
            r.due = cx.now() + cx.rng().range(1, max);
            self.last_change = format!(
                "ballot {ballot} for {key} pre-empted: node {from} promised {promised}; backing off"
            );
            self.proposer.arm(cx);
        } else {
            self.last_change = format!(
                "ballot {ballot} for {key} pre-empted: node {from} promised {promised}; trying again at once"
            );
            self.start_round(cx, &key);
        }
    }

    pub(super) fn on_round_timer(&mut self, cx: &mut Ctx<'_, Self>) {
        self.proposer.armed = None;
        let now = cx.now();
        let due: Vec<String> = self
            .proposer
            .rounds
            .iter()
            .filter(|(_, r)| r.due <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            self.start_round(cx, &k);
        }
        self.proposer.arm(cx);
    }
}
