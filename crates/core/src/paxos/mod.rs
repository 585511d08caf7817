//! Paxos: single-decree Basic Paxos ([`basic`], one instance per key) and Multi-Paxos, a replicated key-value
//! store on a log of Paxos instances ([`multi`]).
//!
//! What both share lives here: ballots ([`Ballot`]), the commands a slot decides
//! ([`Cmd`]), and the invariant checker's ghost state ([`ghost`]): every acceptance and
//! every learned value a node reports, from which the monitor computes what is *chosen*
//! (accepted by a majority of acceptors in one ballot) and checks the four safety
//! properties of Paxos.

pub mod basic;
pub mod ghost;
pub mod multi;

use crate::digest::{self, mix, mix_str};
use crate::{ClientRequest, NodeId, Op};
use serde::{Deserialize, Serialize};

pub use ghost::{Ghost, PaxosMonitor};

/// A ballot (proposal number): a round, made unique by the proposer's id. Ballots are
/// ordered by round, then node. `Ballot::default()` (round 0) is "none": a proposer's
/// first real ballot has round 1.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Ballot {
    pub round: u64,
    pub node: NodeId,
}

impl Ballot {
    pub fn new(round: u64, node: NodeId) -> Self {
        Ballot { round, node }
    }
    pub fn is_none(&self) -> bool {
        self.round == 0
    }
}

impl Ballot {
    /// The ballot's two numbers, for a message label ("b{}.{}").
    pub fn nums(self) -> [i64; 2] {
        [self.round as i64, i64::from(self.node)]
    }
}

impl core::fmt::Display for Ballot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.round == 0 {
            write!(f, "none")
        } else {
            write!(f, "{}.{}", self.round, self.node)
        }
    }
}

/// What one slot (one Paxos instance) decides.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cmd {
    /// Fills a hole: a new leader proposes it for a slot where no value was accepted.
    Noop,
    /// A client's operation.
    Client(ClientRequest),
}

impl Cmd {
    /// A short description: `x=4`, `cas x 4→5`, `read x`, `no-op`.
    pub fn describe(&self) -> String {
        match self {
            Cmd::Noop => "no-op".to_string(),
            Cmd::Client(r) => describe_op(&r.op),
        }
    }

    /// A platform-independent digest, for the invariant checker's bookkeeping.
    pub fn digest(&self) -> u64 {
        match self {
            Cmd::Noop => mix(1, 0),
            Cmd::Client(r) => digest::request(r),
        }
    }
}

/// `x=4`, `cas x 4→5`, `x+=[3]`, `read x`.
pub fn describe_op(op: &Op) -> String {
    op.describe()
}

/// The checker's name for the single-decree instance of `key` (Basic Paxos runs one per
/// key): a digest far above any Multi-Paxos slot number.
pub fn key_slot(key: &str) -> u64 {
    (mix_str(7, key) | (1 << 63)).min(u64::MAX - 1)
}

/// `{0,1,2}`.
pub(crate) fn fmt_nodes(m: &[NodeId]) -> String {
    let v: Vec<String> = m.iter().map(|x| x.to_string()).collect();
    format!("{{{}}}", v.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ballots_order_by_round_then_node() {
        assert!(Ballot::new(2, 0) > Ballot::new(1, 4));
        assert!(Ballot::new(2, 3) > Ballot::new(2, 1));
        assert!(Ballot::default().is_none());
        assert_eq!(Ballot::new(3, 1).to_string(), "3.1");
    }
}
