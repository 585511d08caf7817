//! The public picture of a node that the page and the CLI draw. Every protocol fills
//! the parts it has; the page never reaches into a protocol's internals.

use crate::{NodeId, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One node as the page draws it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    /// `leader`, `follower`, `candidate`, `pre-candidate`, `learner`, `up`, ...
    pub role: String,
    /// Term or ballot, where the protocol has one.
    pub term: u64,
    /// Who this node voted for in `term`.
    pub voted_for: Option<NodeId>,
    /// Who this node believes leads, if anyone.
    pub leader: Option<NodeId>,
    /// Log entries still in the log (after any compaction).
    pub log: Vec<LogEntryView>,
    /// Index of the last entry covered by a snapshot (0: none).
    pub snapshot_index: u64,
    pub commit_index: u64,
    pub applied_index: u64,
    /// The replicated state machine's contents.
    pub kv: BTreeMap<String, i64>,
    /// Replication progress of each follower as a leader sees it.
    pub progress: Vec<ProgressView>,
    /// Current configuration (voting members).
    pub members: Vec<NodeId>,
    /// Suspicion of every other node, for failure detectors: (node, level, suspected).
    pub suspicion: Vec<SuspicionView>,
    /// Why the node last changed role, in words.
    pub last_change: String,
    /// Anything else worth showing, as (label, value) pairs.
    pub notes: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntryView {
    pub index: u64,
    pub term: u64,
    /// A short human description: `x=4`, `cas x 4->5`, `no-op`, `config {0,1,2}`.
    pub what: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressView {
    pub node: NodeId,
    pub match_index: u64,
    pub next_index: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuspicionView {
    pub node: NodeId,
    /// Phi for phi-accrual; time since the last heartbeat over the timeout for the
    /// fixed-timeout detector. Either way, `>= 1.0`-ish means suspected.
    pub level: f64,
    pub suspected: bool,
    /// Local time of the last heartbeat heard from that node.
    pub last_heard: Option<Time>,
}
