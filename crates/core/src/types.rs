//! Vocabulary shared by every protocol and the simulator.

use serde::{Deserialize, Serialize};

/// A node's id: its index in the scenario's node list.
pub type NodeId = u32;
/// Simulated time in microseconds.
pub type Time = u64;
/// A protocol-chosen timer name; re-arming the same id replaces the earlier deadline.
pub type TimerId = u32;
/// A client (a "process" in the history).
pub type ClientId = u32;

/// Microseconds in one millisecond, for readable constants.
pub const MS: Time = 1_000;
/// Microseconds in one second.
pub const SEC: Time = 1_000_000;

/// A client operation on the replicated key-value store. Values are integers so that
/// every operation can be checked as a compare-and-set register per key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "f", rename_all = "lowercase", deny_unknown_fields)]
pub enum Op {
    Read { key: String },
    Write { key: String, value: i64 },
    Cas { key: String, expect: i64, new: i64 },
}

impl Op {
    pub fn key(&self) -> &str {
        match self {
            Op::Read { key } | Op::Write { key, .. } | Op::Cas { key, .. } => key,
        }
    }
    pub fn is_read(&self) -> bool {
        matches!(self, Op::Read { .. })
    }
}

/// A request from a client. `(client, seq)` names the operation: a retry carries the
/// same pair, so a protocol with client sessions applies it at most once.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClientRequest {
    pub client: ClientId,
    pub seq: u64,
    pub op: Op,
}

/// What became of a request, as far as the node that answers knows.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// It happened. `value` is what a read returned (`None`: never written); for a write
    /// or a successful cas it is `None`.
    Ok { value: Option<i64> },
    /// It certainly did not happen (a cas whose expected value did not match).
    Fail { reason: String },
    /// This node cannot serve it; try `leader` if known. It did not happen here. `term`
    /// is the replying node's term (for Raft: the term in which `leader` leads), so
    /// that a client can tell a newer hint from a stale one.
    Redirect {
        leader: Option<NodeId>,
        #[serde(default)]
        term: u64,
    },
    /// The node gave up on it, and it may or may not happen (leadership lost after the
    /// entry was appended, say).
    Unknown { reason: String },
}

/// A node's answer to a client request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClientReply {
    pub client: ClientId,
    pub seq: u64,
    pub outcome: Outcome,
}

/// A broken promise, found by [`crate::Protocol::check`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// One of [`crate::Protocol::invariants`].
    pub invariant: String,
    /// What was seen, in words a student can follow.
    pub detail: String,
}

impl Violation {
    pub fn new(invariant: &str, detail: impl Into<String>) -> Self {
        Violation {
            invariant: invariant.to_string(),
            detail: detail.into(),
        }
    }
}

impl core::fmt::Display for Violation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.invariant, self.detail)
    }
}

/// A change of cluster membership, asked of the current leader.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum MembershipChange {
    Add { node: NodeId },
    Remove { node: NodeId },
}
