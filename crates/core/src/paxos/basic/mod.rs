//! Basic Paxos, the first lesson: single-decree consensus, one instance per key.
//!
//! Every node is a proposer, an acceptor and a learner. Each key is an independent
//! instance that decides one value, once: a **write-once register**. Client operations
//! map onto it so that the linearizability checker's register model stays sound:
//! * `write v`: the node's proposer runs a round (phase 1 with a fresh ballot
//!   `(round, id)`, then phase 2). If the promises report an accepted value, it must
//!   propose that value (the one of the highest ballot); otherwise it proposes `v`.
//!   Once a value is chosen, the write answers **Ok** if it is `v`, and **Fail**
//!   otherwise: another value is chosen and `v` never can be, so the write certainly
//!   did not happen (like a cas whose expected value did not match). A retried write is
//!   harmless: writing the chosen value again changes nothing.
//! * `read`: answered with the chosen value once this node learned it. Otherwise the
//!   proposer runs phase 1: if a majority promises and none of them accepted anything,
//!   nothing can have been chosen before that moment and the read returns *nil*; if
//!   some value was accepted, the proposer completes phase 2 with it and returns it.
//! * `cas`: **Fail**: a write-once register's value never changes.
//!
//! Dueling proposers: two proposers that keep pre-empting each other's ballots can
//! delay a decision for ever (the FLP livelock). The remedy is a random back-off after a
//! rejection (`backoff`); switch it off to watch the livelock.

pub mod acceptor;
pub mod msg;
pub mod params;
pub mod proposer;
mod view;

pub use acceptor::{Acceptor, AcceptorSlot};
pub use msg::{Accepted, DiskSlot, PaxosDisk, PaxosMsg, PaxosWrite};
pub use params::PaxosParams;
pub use proposer::{Phase, Proposer, Round};

use crate::digest::mix;
use crate::paxos::ghost::{self, Describe};
use crate::paxos::{key_slot, Ghost, PaxosMonitor};
use crate::{
    ClientReply, ClientRequest, Ctx, NodeId, NodeView, Op, Outcome, Protocol, Time, Violation,
};
use std::collections::BTreeMap;

crate::timers!(
    /// Basic Paxos's one timer.
    PaxosTimer {
        /// Fires when a round is due: its timeout, or the end of a back-off.
        Round = 1,
    }
);
pub const TIMER_ROUND: PaxosTimer = PaxosTimer::Round;

/// The checker's digest of a value.
pub fn value_digest(v: i64) -> u64 {
    mix(5, v as u64)
}

/// One Basic Paxos node.
#[derive(Clone, Debug)]
pub struct Paxos {
    id: NodeId,
    members: Vec<NodeId>,
    p: PaxosParams,
    acceptor: Acceptor,
    proposer: Proposer,
    /// What this node learned as chosen, per key.
    learned: BTreeMap<String, i64>,
    ghost: Ghost,
    last_change: String,
}

impl Paxos {
    pub fn id(&self) -> NodeId {
        self.id
    }
    pub fn acceptor(&self) -> &Acceptor {
        &self.acceptor
    }
    pub fn proposer(&self) -> &Proposer {
        &self.proposer
    }
    pub fn learned(&self) -> &BTreeMap<String, i64> {
        &self.learned
    }

    fn quorum(&self) -> usize {
        self.members.len() / 2 + 1
    }

    /// The answer to `op` on `key` once `chosen` (None: nothing can have been chosen
    /// before now, for reads).
    fn answer(op: &Op, chosen: Option<i64>) -> Outcome {
        match op {
            Op::Read { .. } => Outcome::Ok {
                value: chosen.map(crate::Val::Int),
            },
            Op::Write { key, value } => match chosen {
                Some(c) if c == *value => Outcome::Ok { value: None },
                Some(c) => Outcome::Fail {
                    reason: format!("{key} is a write-once register and {c} was chosen"),
                },
                None => Outcome::Unknown {
                    reason: "no value chosen yet".into(),
                },
            },
            Op::Cas { key, .. } => Outcome::Fail {
                reason: format!("{key} is a write-once register: its value never changes"),
            },
            other => Outcome::Fail {
                reason: format!(
                    "{} is not an operation of a write-once register",
                    other.kind().name()
                ),
            },
        }
    }

    /// `value` is chosen for `key`: remember it, answer every waiting client.
    fn learn(&mut self, cx: &mut Ctx<'_, Self>, key: &str, value: i64) {
        if !self.learned.contains_key(key) {
            self.ghost.learn(key_slot(key), value_digest(value));
            self.learned.insert(key.to_string(), value);
            self.last_change = format!("learned that {key}={value} is chosen");
        }
        if let Some(r) = self.proposer.rounds.remove(key) {
            for (client, seq, op) in r.waiting {
                cx.reply(ClientReply {
                    client,
                    seq,
                    outcome: Self::answer(&op, Some(value)),
                    at: None,
                });
            }
        }
        self.proposer.arm(cx);
    }

    fn handle(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: PaxosMsg) {
        match msg {
            PaxosMsg::Prepare { key, ballot } => {
                self.proposer.note(&key, ballot);
                let reply = match self
                    .acceptor
                    .prepare(cx, &self.p, &mut self.ghost, &key, ballot)
                {
                    Ok(accepted) => PaxosMsg::Promise {
                        key,
                        ballot,
                        accepted,
                    },
                    Err(promised) => PaxosMsg::Reject {
                        key,
                        ballot,
                        promised,
                    },
                };
                cx.send(from, reply);
            }
            PaxosMsg::Accept { key, ballot, value } => {
                self.proposer.note(&key, ballot);
                let reply =
                    match self
                        .acceptor
                        .accept(cx, &self.p, &mut self.ghost, &key, ballot, value)
                    {
                        Ok(()) => PaxosMsg::Accepted { key, ballot },
                        Err(promised) => PaxosMsg::Reject {
                            key,
                            ballot,
                            promised,
                        },
                    };
                cx.send(from, reply);
            }
            PaxosMsg::Promise {
                key,
                ballot,
                accepted,
            } => self.on_promise(cx, from, key, ballot, accepted),
            PaxosMsg::Accepted { key, ballot } => self.on_accepted(cx, from, key, ballot),
            PaxosMsg::Reject {
                key,
                ballot,
                promised,
            } => self.on_reject(cx, from, key, ballot, promised),
            PaxosMsg::Chosen { key, value } => self.learn(cx, &key, value),
        }
    }
}

impl Describe for Paxos {
    fn describe(&self, slot: u64, digest: u64) -> Option<String> {
        let key = self
            .acceptor
            .iter()
            .map(|(k, _)| k)
            .chain(self.learned.keys())
            .chain(self.proposer.rounds.keys())
            .find(|k| key_slot(k) == slot)?;
        let a = self.acceptor.get(key).accepted.map(|a| a.value);
        let l = self.learned.get(key).copied();
        let r = self.proposer.rounds.get(key).and_then(|r| r.value);
        [a, l, r]
            .into_iter()
            .flatten()
            .find(|v| value_digest(*v) == digest)
            .map(|v| format!("{key}={v}"))
    }

    fn instance(&self, slot: u64) -> Option<String> {
        self.acceptor
            .iter()
            .map(|(k, _)| k)
            .chain(self.learned.keys())
            .find(|k| key_slot(k) == slot)
            .map(|k| format!("the register of key {k}"))
    }
}

impl Protocol for Paxos {
    const NAME: &'static str = "paxos";
    const SUMMARY: &'static str = "single-decree Basic Paxos";
    const DATA_TYPE: crate::DataType = crate::DataType::CAS_REGISTER;
    const PARAMS: &'static [crate::ParamSpec] = params::PAXOS_PARAMS;
    type Params = PaxosParams;
    type Msg = PaxosMsg;
    type Disk = PaxosDisk;
    type Write = PaxosWrite;
    type Monitor = PaxosMonitor;
    type Timer = PaxosTimer;

    fn patience(p: &PaxosParams) -> crate::Time {
        (p.round_timeout_ms + p.backoff_max_ms) * crate::MS
    }

    fn param_problems(p: &PaxosParams) -> Vec<(&'static str, String)> {
        p.problems()
    }

    fn apply_write(disk: &mut PaxosDisk, write: PaxosWrite) {
        disk.apply(write);
    }

    fn boot(
        id: NodeId,
        members: &[NodeId],
        params: &PaxosParams,
        disk: Option<&PaxosDisk>,
    ) -> Self {
        let mut members = members.to_vec();
        members.sort_unstable();
        members.dedup();
        let mut node = Paxos {
            id,
            members,
            p: *params,
            acceptor: disk.map(Acceptor::from_disk).unwrap_or_default(),
            proposer: Proposer::default(),
            learned: BTreeMap::new(),
            ghost: Ghost::default(),
            last_change: if disk.is_some() {
                "restarted from its disk".into()
            } else {
                "booted".into()
            },
        };
        node.ghost.blank = disk.is_none();
        for (k, s) in node.acceptor.iter() {
            node.proposer.max_round.insert(k.clone(), s.promised.round);
        }
        node
    }

    fn start(&mut self, _cx: &mut Ctx<'_, Self>) {}

    fn on_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: PaxosMsg) {
        self.ghost.clear();
        self.handle(cx, from, msg);
    }

    fn on_timer(&mut self, cx: &mut Ctx<'_, Self>, timer: PaxosTimer) {
        self.ghost.clear();
        if timer == TIMER_ROUND {
            self.on_round_timer(cx);
        }
    }

    fn on_client(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest) {
        self.ghost.clear();
        // A node that is not a member (a spare started by `add_node`: Basic Paxos has no
        // membership changes) must not propose: with no members, a quorum of one is
        // itself, and it would choose values on its own.
        if !self.members.contains(&self.id) {
            cx.reply(ClientReply {
                client: req.client,
                seq: req.seq,
                outcome: Outcome::Fail {
                    reason: format!("node {} is not a member of the cluster", self.id),
                },
                at: None,
            });
            return;
        }
        let key = req.op.key().to_string();
        if let Some(&v) = self.learned.get(&key) {
            cx.reply(ClientReply {
                client: req.client,
                seq: req.seq,
                outcome: Self::answer(&req.op, Some(v)),
                at: None,
            });
            return;
        }
        if !matches!(req.op, Op::Read { .. } | Op::Write { .. }) {
            cx.reply(ClientReply {
                client: req.client,
                seq: req.seq,
                outcome: Self::answer(&req.op, None),
                at: None,
            });
            return;
        }
        self.enqueue(cx, key, req);
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
        // Promises are per key: the ghost lists those this event made.
        let promises = n.ghost.promises.iter().copied();
        monitor.observe(changed, &n.ghost, promises, n.quorum(), nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Effect, Rng};
    use std::collections::VecDeque;

    struct Cluster {
        nodes: Vec<Option<Paxos>>,
        rngs: Vec<Rng>,
        queue: VecDeque<(NodeId, NodeId, PaxosMsg)>,
        replies: Vec<ClientReply>,
        monitor: PaxosMonitor,
    }

    impl Cluster {
        fn new(n: u32) -> Self {
            let members: Vec<NodeId> = (0..n).collect();
            let p = PaxosParams::default();
            Cluster {
                nodes: members
                    .iter()
                    .map(|&i| Some(Paxos::boot(i, &members, &p, None)))
                    .collect(),
                rngs: (0..n).map(|i| Rng::derive(1, i as u64)).collect(),
                queue: VecDeque::new(),
                replies: Vec::new(),
                monitor: PaxosMonitor::default(),
            }
        }
        fn run(&mut self, i: NodeId, f: impl FnOnce(&mut Paxos, &mut Ctx<'_, Paxos>)) {
            let mut effects = Vec::new();
            let node = self.nodes[i as usize].as_mut().expect("up");
            f(
                node,
                &mut Ctx::new(i, 0, &mut self.rngs[i as usize], &mut effects),
            );
            for e in effects {
                match e {
                    Effect::Send { to, msg } => self.queue.push_back((i, to, msg)),
                    Effect::Reply(r) => self.replies.push(r),
                    _ => {}
                }
            }
            Paxos::check(&mut self.monitor, i, &self.nodes, 0).expect("invariants hold");
        }
        fn client(&mut self, i: NodeId, client: u32, op: Op) {
            self.run(i, |p, cx| {
                p.on_client(cx, ClientRequest { client, seq: 1, op })
            });
        }
        fn deliver_all(&mut self) {
            while let Some((f, t, m)) = self.queue.pop_front() {
                self.run(t, |p, cx| p.on_message(cx, f, m));
            }
        }
        fn outcome(&self, client: u32) -> &Outcome {
            &self
                .replies
                .iter()
                .find(|r| r.client == client)
                .expect("answered")
                .outcome
        }
    }

    fn w(v: i64) -> Op {
        Op::Write {
            key: "x".into(),
            value: v,
        }
    }

    #[test]
    fn a_write_once_register() {
        let mut c = Cluster::new(3);
        c.client(0, 1, Op::Read { key: "x".into() });
        c.deliver_all();
        assert_eq!(c.outcome(1), &Outcome::Ok { value: None });
        // Two competing writes: one is chosen, the other fails.
        c.client(0, 2, w(5));
        c.client(2, 3, w(6));
        c.deliver_all();
        let oks = [2, 3]
            .iter()
            .filter(|k| matches!(c.outcome(**k), Outcome::Ok { .. }))
            .count();
        assert_eq!(oks, 1, "{:?}", c.replies);
        let chosen = *c.nodes[1]
            .as_ref()
            .unwrap()
            .learned()
            .get("x")
            .expect("learned");
        c.client(1, 4, Op::Read { key: "x".into() });
        assert_eq!(
            c.outcome(4),
            &Outcome::Ok {
                value: Some(crate::Val::Int(chosen))
            }
        );
        c.client(
            1,
            5,
            Op::Cas {
                key: "x".into(),
                expect: chosen,
                new: 9,
            },
        );
        assert!(matches!(c.outcome(5), Outcome::Fail { .. }));
    }

    #[test]
    fn disk_folds_writes() {
        let mut d = PaxosDisk::default();
        let b = |r| crate::paxos::Ballot::new(r, 1);
        d.apply(PaxosWrite::Promise {
            key: "y".into(),
            ballot: b(2),
        });
        d.apply(PaxosWrite::Accept {
            key: "x".into(),
            accepted: Accepted {
                ballot: b(3),
                value: 7,
            },
        });
        d.apply(PaxosWrite::Promise {
            key: "y".into(),
            ballot: b(1),
        });
        assert_eq!(d.keys.len(), 2);
        assert_eq!(d.keys[0].key, "x");
        assert_eq!(d.keys[0].promised, b(3));
        assert_eq!(d.keys[1].promised, b(2), "a promise never goes back");
    }
}
