//! The sharded store's user-visible knobs.

use crate::ParamSpec;
use serde::{Deserialize, Serialize};

/// Most groups a shard map can name (a configuration is a bit set of groups).
pub const MAX_GROUPS: u64 = 16;
/// Most shards.
pub const MAX_SHARDS: u64 = 64;

/// Sharded-store parameters. Durations are in milliseconds of the node's local clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShardParams {
    /// Nodes per Raft group: nodes `0..g` are group 0 (which also keeps the shard map),
    /// the next `g` group 1, and so on.
    pub group_size: u64,
    /// Fixed slices of the hash circle; each is served by one group at a time.
    pub shards: u64,
    /// Tokens each group owns on the ring that places shards on groups.
    pub vnodes: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    pub heartbeat_interval_ms: u64,
    /// How often a group's leader resends shards it hands over, asks group 0 for newer
    /// shard maps and takes the next one.
    pub tick_ms: u64,
    /// Seeded bug: a group keeps answering for a shard it has handed over (it checks
    /// ownership against the shard map it applied, not the newest in its log), so a
    /// write can land on the old group after the new one took its copy.
    pub unsafe_serve_after_handoff: bool,
}

impl Default for ShardParams {
    fn default() -> Self {
        ShardParams {
            group_size: 3,
            shards: 8,
            vnodes: 16,
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            heartbeat_interval_ms: 50,
            tick_ms: 50,
            unsafe_serve_after_handoff: false,
        }
    }
}

pub const SHARD_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "group_size",
        kind: crate::ParamKind::Int { min: 1, max: 7 },
        unit: "nodes",
        help: "Nodes per Raft group: nodes 0 to size-1 are group 0 (which also keeps the shard map), the next ones group 1, and so on. The node count must be a multiple of it.",
    },
    ParamSpec {
        name: "shards",
        kind: crate::ParamKind::Int { min: 1, max: MAX_SHARDS },
        unit: "shards",
        help: "Fixed slices of the hash circle. A key belongs to the slice its hash falls in; each slice is served by one group at a time, placed on the groups by consistent hashing.",
    },
    ParamSpec {
        name: "vnodes",
        kind: crate::ParamKind::Int { min: 1, max: 256 },
        unit: "tokens",
        help: "Tokens each group owns on the ring that places shards: more tokens spread the shards more evenly; a group that joins takes about 1/G of them.",
    },
    ParamSpec::ms("election_timeout_min_ms", 1, "Each group's Raft: shortest election timeout, in milliseconds of the node's clock."),
    ParamSpec::ms("election_timeout_max_ms", 0, "Each group's Raft: longest election timeout."),
    ParamSpec::ms("heartbeat_interval_ms", 1, "Each group's Raft: how often a leader sends heartbeats."),
    ParamSpec::ms("tick_ms", 1, "How often a group's leader resends the shards it hands over, asks group 0 for newer shard maps and moves to the next one."),
    ParamSpec::flag("unsafe_serve_after_handoff", "Seeded bug: a group keeps answering for a shard it is handing over until the new map is applied, not as soon as it is in its log, so a write can land on the old group after the new one took its copy."),
];

impl ShardParams {
    /// Problems the types cannot express, as `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if !(1..=7).contains(&self.group_size) {
            v.push((
                "group_size",
                format!("{} must be from 1 to 7", self.group_size),
            ));
        }
        if !(1..=MAX_SHARDS).contains(&self.shards) {
            v.push((
                "shards",
                format!("{} must be from 1 to {MAX_SHARDS}", self.shards),
            ));
        }
        if !(1..=256).contains(&self.vnodes) {
            v.push(("vnodes", format!("{} must be from 1 to 256", self.vnodes)));
        }
        if self.election_timeout_min_ms == 0 {
            v.push(("election_timeout_min_ms", "must be at least 1".to_string()));
        }
        if self.election_timeout_max_ms < self.election_timeout_min_ms {
            v.push((
                "election_timeout_max_ms",
                format!(
                    "{} is below election_timeout_min_ms ({})",
                    self.election_timeout_max_ms, self.election_timeout_min_ms
                ),
            ));
        }
        if self.heartbeat_interval_ms == 0 {
            v.push(("heartbeat_interval_ms", "must be at least 1".to_string()));
        }
        if self.tick_ms == 0 {
            v.push(("tick_ms", "must be at least 1".to_string()));
        }
        v
    }

    /// Problems on a cluster of `nodes` members.
    pub fn cluster_problems(&self, nodes: usize) -> Vec<(&'static str, String)> {
        self.split_problems(nodes, false)
    }

    /// Every node, spares included, belongs to a whole group: a spare forms a group
    /// with the spares after it, and a group short of members could never elect.
    pub fn all_nodes_problems(&self, nodes: usize) -> Vec<(&'static str, String)> {
        self.split_problems(nodes, true)
    }

    /// `nodes` (with the spares, or the members only) in whole groups, and not too many.
    fn split_problems(&self, nodes: usize, spares: bool) -> Vec<(&'static str, String)> {
        let g = self.group_size.max(1) as usize;
        let with = if spares { " with the spares" } else { "" };
        let why = if !nodes.is_multiple_of(g) {
            let fix = if spares {
                format!(
                    "the last group would have {} (add or remove spares)",
                    nodes % g
                )
            } else {
                format!("use a multiple of {g} nodes")
            };
            format!("{nodes} nodes{with} do not split into groups of {g}: {fix}")
        } else if (nodes / g) as u64 > MAX_GROUPS {
            format!("{} groups of {g}{with}: at most {MAX_GROUPS}", nodes / g)
        } else {
            return Vec::new();
        };
        vec![("group_size", why)]
    }

    /// The Raft settings every group runs with: reads go through the log, so a read is
    /// ordered with the shard map's changes like a write.
    pub fn raft(&self) -> crate::raft::RaftParams {
        crate::raft::RaftParams {
            election_timeout_min_ms: self.election_timeout_min_ms,
            election_timeout_max_ms: self.election_timeout_max_ms,
            heartbeat_interval_ms: self.heartbeat_interval_ms,
            read_mode: crate::raft::ReadMode::Log,
            ..crate::raft::RaftParams::default()
        }
    }
}
