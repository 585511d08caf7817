//! Basic Paxos's messages and durable writes. Every key is its own single-decree
//! instance (a write-once register), so every message names its key.

use crate::paxos::Ballot;
use crate::Message;
use serde::{Deserialize, Serialize};

/// A value accepted in a ballot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Accepted {
    pub ballot: Ballot,
    pub value: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaxosMsg {
    /// Phase 1a.
    Prepare { key: String, ballot: Ballot },
    /// Phase 1b: a promise, with the acceptor's accepted value if it has one.
    Promise {
        key: String,
        ballot: Ballot,
        accepted: Option<Accepted>,
    },
    /// Phase 2a.
    Accept {
        key: String,
        ballot: Ballot,
        value: i64,
    },
    /// Phase 2b.
    Accepted { key: String, ballot: Ballot },
    /// "Your ballot is below my promise."
    Reject {
        key: String,
        ballot: Ballot,
        promised: Ballot,
    },
    /// From the proposer that saw `value` chosen, to every learner.
    Chosen { key: String, value: i64 },
}

impl PaxosMsg {
    pub fn key(&self) -> &str {
        match self {
            PaxosMsg::Prepare { key, .. }
            | PaxosMsg::Promise { key, .. }
            | PaxosMsg::Accept { key, .. }
            | PaxosMsg::Accepted { key, .. }
            | PaxosMsg::Reject { key, .. }
            | PaxosMsg::Chosen { key, .. } => key,
        }
    }
}

impl Message for PaxosMsg {
    fn kind(&self) -> &'static str {
        match self {
            PaxosMsg::Prepare { .. } => "prepare",
            PaxosMsg::Promise { .. } => "promise",
            PaxosMsg::Accept { .. } => "accept",
            PaxosMsg::Accepted { .. } => "accepted",
            PaxosMsg::Reject { .. } => "reject",
            PaxosMsg::Chosen { .. } => "chosen",
        }
    }

    fn describe(&self) -> String {
        match self {
            PaxosMsg::Prepare { ballot, .. }
            | PaxosMsg::Promise { ballot, .. }
            | PaxosMsg::Accept { ballot, .. }
            | PaxosMsg::Accepted { ballot, .. }
            | PaxosMsg::Reject { ballot, .. } => {
                crate::label("{k} b{}.{}", self.kind(), &ballot.nums())
            }
            PaxosMsg::Chosen { value, .. } => crate::label("chosen {}", "", &[*value]),
        }
    }
}

/// One key's acceptor state on disk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskSlot {
    pub key: String,
    pub promised: Ballot,
    pub accepted: Option<Accepted>,
}

/// What survives a crash: every key's promise and accepted value, sorted by key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaxosDisk {
    pub keys: Vec<DiskSlot>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaxosWrite {
    Promise {
        key: String,
        ballot: Ballot,
    },
    /// Also a promise of its ballot.
    Accept {
        key: String,
        accepted: Accepted,
    },
}

impl PaxosDisk {
    fn slot(&mut self, key: &str) -> &mut DiskSlot {
        let k = match self.keys.binary_search_by(|s| s.key.as_str().cmp(key)) {
            Ok(k) => k,
            Err(k) => {
                self.keys.insert(
                    k,
                    DiskSlot {
                        key: key.to_string(),
                        ..Default::default()
                    },
                );
                k
            }
        };
        &mut self.keys[k]
    }

    pub fn apply(&mut self, w: PaxosWrite) {
        match w {
            PaxosWrite::Promise { key, ballot } => {
                let s = self.slot(&key);
                s.promised = s.promised.max(ballot);
            }
            PaxosWrite::Accept { key, accepted } => {
                let s = self.slot(&key);
                s.promised = s.promised.max(accepted.ballot);
                s.accepted = Some(accepted);
            }
        }
    }
}
