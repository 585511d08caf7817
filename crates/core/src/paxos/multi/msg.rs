//! Multi-Paxos's messages and durable writes.

use crate::paxos::{Ballot, Cmd};
use crate::raft::Kv;
use crate::Message;
use serde::{Deserialize, Serialize};

/// A value an acceptor accepted in a slot, and in which ballot.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AcceptedSlot {
    pub slot: u64,
    pub ballot: Ballot,
    pub cmd: Cmd,
}

/// A slot known to be chosen, and its value (catch-up).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChosenSlot {
    pub slot: u64,
    pub cmd: Cmd,
}

/// The key-value store (with client sessions) after applying every slot up to `base`:
/// what replaces the truncated slots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Snapshot {
    pub base: u64,
    pub state: Kv,
}

/// What Multi-Paxos nodes say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiPaxosMsg {
    /// Phase 1a, once per ballot for every slot from `from_slot` on.
    Prepare { ballot: Ballot, from_slot: u64 },
    /// Phase 1b: "I promise not to accept below `ballot`; here is what I accepted from
    /// `from_slot` on". `snapshot`: the acceptor already truncated slots at or after
    /// `from_slot`; they are chosen, and this is the store after them.
    Promise {
        ballot: Ballot,
        accepted: Vec<AcceptedSlot>,
        snapshot: Option<Box<Snapshot>>,
    },
    /// Phase 2a for one slot. `commit`: every slot up to it is chosen (the leader's
    /// chosen prefix), so an acceptor holding a value of this ballot there learns it.
    Accept {
        ballot: Ballot,
        slot: u64,
        cmd: Cmd,
        commit: u64,
    },
    /// Phase 2b. `commit`: the acceptor's own chosen prefix.
    Accepted {
        ballot: Ballot,
        slot: u64,
        commit: u64,
    },
    /// "Your ballot is below my promise": the sender of a stale prepare, accept or
    /// heartbeat learns the higher ballot and stops.
    Reject { ballot: Ballot, promised: Ballot },
    /// From the leader, every heartbeat interval: it still leads, and its commit index.
    Heartbeat { ballot: Ballot, commit: u64 },
    /// `commit`: the follower's chosen prefix, so the leader knows what it lacks.
    HeartbeatReply { ballot: Ballot, commit: u64 },
    /// Catch-up: chosen slots a lagging node lacks.
    Chosen {
        ballot: Ballot,
        slots: Vec<ChosenSlot>,
    },
    /// Catch-up for a node that lacks slots the leader has truncated.
    Snapshot {
        ballot: Ballot,
        snapshot: Box<Snapshot>,
    },
}

impl MultiPaxosMsg {
    pub fn ballot(&self) -> Ballot {
        match self {
            MultiPaxosMsg::Prepare { ballot, .. }
            | MultiPaxosMsg::Promise { ballot, .. }
            | MultiPaxosMsg::Accept { ballot, .. }
            | MultiPaxosMsg::Accepted { ballot, .. }
            | MultiPaxosMsg::Reject { ballot, .. }
            | MultiPaxosMsg::Heartbeat { ballot, .. }
            | MultiPaxosMsg::HeartbeatReply { ballot, .. }
            | MultiPaxosMsg::Chosen { ballot, .. }
            | MultiPaxosMsg::Snapshot { ballot, .. } => *ballot,
        }
    }
}

impl Message for MultiPaxosMsg {
    fn kind(&self) -> &'static str {
        match self {
            MultiPaxosMsg::Prepare { .. } => "prepare",
            MultiPaxosMsg::Promise { .. } => "promise",
            MultiPaxosMsg::Accept { .. } => "accept",
            MultiPaxosMsg::Accepted { .. } => "accepted",
            MultiPaxosMsg::Reject { .. } => "reject",
            MultiPaxosMsg::Heartbeat { .. } => "heartbeat",
            MultiPaxosMsg::HeartbeatReply { .. } => "heartbeat-reply",
            MultiPaxosMsg::Chosen { .. } => "chosen",
            MultiPaxosMsg::Snapshot { .. } => "snapshot",
        }
    }

    fn describe(&self) -> String {
        let [b0, b1] = self.ballot().nums();
        match self {
            MultiPaxosMsg::Accept { slot, .. } | MultiPaxosMsg::Accepted { slot, .. } => {
                crate::label("{k} {} b{}.{}", self.kind(), &[*slot as i64, b0, b1])
            }
            _ => crate::label("{k} b{}.{}", self.kind(), &[b0, b1]),
        }
    }
}

/// What survives a crash: the acceptor's promise and accepted values, and the snapshot
/// that replaced the truncated slots. (What a node learned as chosen beyond the
/// snapshot is not kept: it learns it again from the leader.)
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiPaxosDisk {
    pub promised: Ballot,
    /// Sorted by slot, all above `snapshot.base`.
    pub accepted: Vec<AcceptedSlot>,
    pub snapshot: Snapshot,
}

/// One durable write, folded into a [`MultiPaxosDisk`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiPaxosWrite {
    /// The acceptor promised `ballot`.
    Promise { ballot: Ballot },
    /// The acceptor accepted a value (which also implies a promise of its ballot).
    Accept(AcceptedSlot),
    /// Slots up to `base` are chosen and applied: keep this instead.
    Snapshot(Box<Snapshot>),
}

impl MultiPaxosDisk {
    pub fn apply(&mut self, w: MultiPaxosWrite) {
        match w {
            MultiPaxosWrite::Promise { ballot } => self.promised = self.promised.max(ballot),
            MultiPaxosWrite::Accept(a) => {
                self.promised = self.promised.max(a.ballot);
                if a.slot <= self.snapshot.base {
                    return;
                }
                match self.accepted.binary_search_by_key(&a.slot, |x| x.slot) {
                    Ok(k) => self.accepted[k] = a,
                    Err(k) => self.accepted.insert(k, a),
                }
            }
            MultiPaxosWrite::Snapshot(s) => {
                if s.base > self.snapshot.base {
                    let base = s.base;
                    self.accepted.retain(|a| a.slot > base);
                    self.snapshot = *s;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(slot: u64, round: u64) -> MultiPaxosWrite {
        MultiPaxosWrite::Accept(AcceptedSlot {
            slot,
            ballot: Ballot::new(round, 0),
            cmd: Cmd::Noop,
        })
    }

    #[test]
    fn disk_folds_writes() {
        let mut d = MultiPaxosDisk::default();
        d.apply(MultiPaxosWrite::Promise {
            ballot: Ballot::new(2, 1),
        });
        d.apply(acc(2, 2));
        d.apply(acc(1, 2));
        d.apply(acc(2, 3));
        assert_eq!(d.promised, Ballot::new(3, 0));
        let slots: Vec<(u64, u64)> = d
            .accepted
            .iter()
            .map(|a| (a.slot, a.ballot.round))
            .collect();
        assert_eq!(slots, vec![(1, 2), (2, 3)]);
        d.apply(MultiPaxosWrite::Snapshot(Box::new(Snapshot {
            base: 1,
            state: Kv::default(),
        })));
        assert_eq!(d.accepted.len(), 1);
        d.apply(acc(1, 4));
        assert_eq!(
            d.accepted.len(),
            1,
            "a slot in the snapshot is not stored again"
        );
        // A promise never goes back.
        d.apply(MultiPaxosWrite::Promise {
            ballot: Ballot::new(1, 0),
        });
        assert_eq!(d.promised, Ballot::new(4, 0));
    }
}
