//! The public picture of a node that the page and the CLI draw. It is display-only and
//! generic: a role (a label in the protocol's words plus a [`RoleKind`] the page colours
//! by), an epoch number with the protocol's name for it, labelled fields, and optional
//! sections (a log with per-entry marks, a key-value table, per-peer gauges, marks on the
//! canvas's edges). The page never reaches into a protocol's internals, and a new
//! protocol's roles ("primary", "backup", "proposer", ...) draw without page edits.
//!
//! Views are never folded into the trace hash: they only read node state.

use crate::NodeId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One node as the page draws it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    /// The node's role, in the protocol's words, and what kind of role it is.
    pub role: Role,
    /// The protocol's epoch number: Raft's term, a Paxos ballot's round, ...
    pub term: u64,
    /// What the protocol calls that number (`term`, `ballot`, `epoch`); empty: it has none.
    pub epoch_label: String,
    /// How to write the number where it has a structure the bare integer hides (a Redis
    /// fencing token `epoch << 32 | grant` as `1.2`); empty: the number itself.
    #[serde(default)]
    pub epoch_text: String,
    /// Labelled fields, shown in order by the node panel (`voted for`, `phase`, ...).
    pub fields: Vec<(String, String)>,
    /// Current configuration (voting members, or the nodes it watches).
    pub members: Vec<NodeId>,
    /// Why the node last changed role, in words.
    pub last_change: String,
    /// The replicated log (or slot table), where the protocol has one.
    pub log: Option<LogSection>,
    /// The replicated state machine's contents, where the protocol has one.
    pub kv: Option<BTreeMap<String, crate::Val>>,
    /// One gauge per peer (suspicion, replication lag, ...).
    pub gauges: Vec<Gauge>,
    /// Relations to other nodes drawn as thin labelled arrows ("follows", "suspects").
    pub edges: Vec<EdgeMark>,
    /// Where keys live, for a store that places them on a consistent-hash ring, as
    /// this node sees the membership.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring: Option<RingSection>,
}

/// A consistent-hash ring as a node sees it: the members' tokens, the keys it knows
/// of with their preference lists, and the hints it keeps for nodes it stood in for.
/// Positions are fractions of the ring, in `[0, 1)`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RingSection {
    /// Every token, in ring order: its position and the node that owns it. The range
    /// ending at a token (after the one before it) belongs to that token's node first.
    pub tokens: Vec<(f64, NodeId)>,
    /// Keys: name, position, preference list (the replicas, in order).
    pub keys: Vec<RingKey>,
    /// Replicas per key.
    pub n: u32,
    /// Hints this node keeps: for which node, how many keys.
    pub hints: Vec<(NodeId, u32)>,
    /// The ring places shards on *groups* (a sharded store): each token is drawn at its
    /// group's first node, a key's list is its group, and the node's key-value table
    /// holds only the keys of the shards its group serves, so a key's state is its
    /// serving group's (the anomaly analysis reads it that way).
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub groups: bool,
}

/// A key on the ring.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RingKey {
    pub key: String,
    pub at: f64,
    pub preference: Vec<NodeId>,
}

/// A role: the protocol's word for it and the kind the page colours by.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// `leader`, `pre-candidate`, `acceptor`, `primary`, ...
    pub label: String,
    pub kind: RoleKind,
}

impl Role {
    pub fn new(label: impl Into<String>, kind: RoleKind) -> Self {
        Role {
            label: label.into(),
            kind,
        }
    }
}

/// The kinds of roles the page knows how to draw (colour and legend).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RoleKind {
    /// Leads: a Raft leader, a distinguished proposer, a primary.
    Leader,
    /// Trying to lead: a candidate, a proposer in a round.
    Candidate,
    /// Follows a leader.
    Follower,
    /// Receives the log without a vote.
    Learner,
    /// A peer among equals (an acceptor, a leaderless replica, a backup).
    Replica,
    /// Nothing in particular (a failure detector's node).
    #[default]
    Neutral,
    /// Not running.
    Down,
}

impl RoleKind {
    /// Every kind, in legend order.
    pub const ALL: [RoleKind; 7] = [
        RoleKind::Leader,
        RoleKind::Candidate,
        RoleKind::Follower,
        RoleKind::Learner,
        RoleKind::Replica,
        RoleKind::Neutral,
        RoleKind::Down,
    ];
    /// Its lowercase name (as serialised): `leader`, `candidate`, ...
    pub fn name(self) -> &'static str {
        match self {
            RoleKind::Leader => "leader",
            RoleKind::Candidate => "candidate",
            RoleKind::Follower => "follower",
            RoleKind::Learner => "learner",
            RoleKind::Replica => "replica",
            RoleKind::Neutral => "neutral",
            RoleKind::Down => "down",
        }
    }
}

/// A log (or a table of slots): its entries and the marks on its row.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSection {
    /// Entries still held (after any compaction), by increasing index.
    pub entries: Vec<LogEntryView>,
    /// Index of the last entry covered by a snapshot or truncation (0: none).
    pub snapshot_index: u64,
    /// Everything up to here is committed (chosen, for Paxos).
    pub commit_index: u64,
    /// Everything up to here is applied to the state machine.
    pub applied_index: u64,
    /// What the protocol calls the committed prefix (`commit`, `chosen`).
    pub commit_label: String,
    /// Replication progress of each peer as a leader sees it.
    pub progress: Vec<ProgressView>,
    /// Where each epoch's entries begin, `(epoch, first index)`, over the whole log
    /// including what a snapshot compacted (empty: not kept). Lets a checker tell which
    /// epoch wrote a compacted position.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epoch_starts: Vec<(u64, u64)>,
}

/// Which entries of a log a view describes. Describing every entry of every node's
/// log each frame is what made a long log slow on the page, which draws only the
/// columns in view: it asks for those, each log's newest entries, and every entry
/// above an index (where the grid looks for conflicts with the leader's log).
/// The rest of the section (snapshot, commit, applied, progress) is always complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogWindow {
    /// Entries with an index in `from..=to`.
    pub from: u64,
    pub to: u64,
    /// And each log's last `last` entries.
    pub last: u64,
    /// And every entry above this index.
    pub above: u64,
}

impl LogWindow {
    /// Every entry.
    pub const ALL: LogWindow = LogWindow {
        from: 0,
        to: u64::MAX,
        last: 0,
        above: 0,
    };

    /// Whether the entry at `index` of a log whose last index is `end` is described.
    pub fn keeps(&self, index: u64, end: u64) -> bool {
        (self.from..=self.to).contains(&index)
            || index > self.above
            || index.saturating_add(self.last) > end
    }

    /// Drop the entries of `v`'s log this window does not keep.
    pub fn trim(&self, v: &mut NodeView) {
        if let Some(log) = v.log.as_mut() {
            let end = log.entries.last().map_or(0, |e| e.index);
            log.entries.retain(|e| self.keeps(e.index, end));
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntryView {
    pub index: u64,
    /// The epoch it was written (accepted) in; 0: none.
    pub term: u64,
    /// A short human description: `x=4`, `cas x 4->5`, `no-op`, `config {0,1,2}`.
    pub what: String,
    /// How far this entry got.
    pub mark: Mark,
}

/// How far a log entry (or slot) got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    /// In the log, nothing more known (an uncommitted entry, an empty slot).
    #[default]
    Open,
    /// Promised to a ballot, nothing accepted.
    Promised,
    /// Accepted by this node, not known to be chosen.
    Accepted,
    /// Known chosen (Paxos).
    Chosen,
    /// Committed, not applied yet.
    Committed,
    /// Applied to the state machine.
    Applied,
}

impl Mark {
    pub fn name(self) -> &'static str {
        match self {
            Mark::Open => "open",
            Mark::Promised => "promised",
            Mark::Accepted => "accepted",
            Mark::Chosen => "chosen",
            Mark::Committed => "committed",
            Mark::Applied => "applied",
        }
    }
    /// Whether the entry can no longer change (committed, chosen or applied).
    pub fn is_final(self) -> bool {
        matches!(self, Mark::Chosen | Mark::Committed | Mark::Applied)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressView {
    pub node: NodeId,
    pub match_index: u64,
    pub next_index: u64,
}

/// A per-peer measure: suspicion for a failure detector, replication lag, ...
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gauge {
    pub node: NodeId,
    /// What is measured (`phi`, `silence / timeout`, `lag`).
    pub label: String,
    pub value: f64,
    /// The threshold (or maximum) the value is compared with.
    pub max: f64,
    /// Over the threshold: suspected, lagging.
    pub flagged: bool,
}

/// A relation to another node, drawn on the canvas as a thin labelled arrow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeMark {
    pub to: NodeId,
    /// `follows`, `replicates to`, `suspects`.
    pub label: String,
}

static NO_KV: BTreeMap<String, crate::Val> = BTreeMap::new();

impl NodeView {
    /// Whether the node's role is of the leader kind.
    pub fn is_leader_kind(&self) -> bool {
        self.role.kind == RoleKind::Leader
    }
    /// The value of the field labelled `label`.
    pub fn field(&self, label: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == label)
            .map(|(_, v)| v.as_str())
    }
    /// The log's entries (empty without a log).
    pub fn entries(&self) -> &[LogEntryView] {
        self.log.as_ref().map(|l| &l.entries[..]).unwrap_or(&[])
    }
    pub fn commit_index(&self) -> u64 {
        self.log.as_ref().map_or(0, |l| l.commit_index)
    }
    pub fn applied_index(&self) -> u64 {
        self.log.as_ref().map_or(0, |l| l.applied_index)
    }
    pub fn snapshot_index(&self) -> u64 {
        self.log.as_ref().map_or(0, |l| l.snapshot_index)
    }
    /// The key-value table (empty without one).
    pub fn kv(&self) -> &BTreeMap<String, crate::Val> {
        self.kv.as_ref().unwrap_or(&NO_KV)
    }
    /// The peers whose gauge is flagged (suspected, lagging), in gauge order.
    pub fn flagged(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.gauges.iter().filter(|g| g.flagged).map(|g| g.node)
    }
    /// The node this one follows (its `follows` edge), if any.
    pub fn follows(&self) -> Option<NodeId> {
        self.edges
            .iter()
            .find(|e| e.label == "follows")
            .map(|e| e.to)
    }
}

/// A field value for an optional node id: the id, or `—`.
pub fn node_or_dash(n: Option<NodeId>) -> String {
    n.map(|x| x.to_string()).unwrap_or_else(|| "—".into())
}
