//! The quorum store's user-visible knobs.

use crate::ParamSpec;
use serde::{Deserialize, Serialize};

/// How concurrent versions of a key are resolved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Conflicts {
    /// Last writer wins, by the coordinator's clock when it took the write: a write
    /// stamped by a slow clock loses to an older one stamped by a fast clock.
    #[default]
    #[serde(rename = "lww")]
    Lww,
    /// Version vectors: a write supersedes only the versions its coordinator had seen;
    /// concurrent writes are kept side by side as siblings, and a read that finds several
    /// returns them all to the client, to merge.
    #[serde(rename = "vector")]
    Vector,
}

/// Quorum store parameters. Durations are in milliseconds of the node's local clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuorumParams {
    /// Replicas of each key (the length of its preference list).
    pub n: u64,
    /// Replies a read waits for.
    pub r: u64,
    /// Acknowledgements a write waits for.
    pub w: u64,
    /// Tokens each node owns on the ring.
    pub vnodes: u64,
    pub conflicts: Conflicts,
    /// Sloppy quorum: replicas that do not answer are replaced by the next nodes on the
    /// ring, which keep the write as a hint and hand it back later.
    pub sloppy: bool,
    /// Percentage of reads after which stale replicas are repaired.
    pub read_repair_pct: u64,
    /// A coordinator gives up on a request after this long.
    pub request_timeout_ms: u64,
    /// With `sloppy`: how long a coordinator waits for a replica before it asks a
    /// stand-in.
    pub sloppy_after_ms: u64,
    /// How often hints are offered back to their owners.
    pub handoff_ms: u64,
    /// How often a node compares its ranges with a peer's (0: never).
    pub anti_entropy_ms: u64,
    /// Seeded bug: replicas acknowledge writes without storing them.
    pub unsafe_ack_unstored: bool,
    /// Seeded bug: a hint is thrown away as soon as it is offered, before its owner
    /// confirmed it.
    pub unsafe_drop_hints: bool,
}

impl Default for QuorumParams {
    fn default() -> Self {
        QuorumParams {
            n: 3,
            r: 2,
            w: 2,
            vnodes: 8,
            conflicts: Conflicts::Lww,
            sloppy: false,
            read_repair_pct: 100,
            request_timeout_ms: 150,
            sloppy_after_ms: 50,
            handoff_ms: 200,
            anti_entropy_ms: 0,
            unsafe_ack_unstored: false,
            unsafe_drop_hints: false,
        }
    }
}

/// Most tokens a node may own: the ring and every preference walk stay small.
pub const MAX_VNODES: u64 = 256;

pub const QUORUM_PARAMS: &[ParamSpec] = &[
    ParamSpec::count("n", 1, "replicas", "Replicas of each key: the first n distinct nodes clockwise from the key on the ring (its preference list). At most the number of nodes."),
    ParamSpec::count("r", 1, "replies", "Replies a read waits for before answering with the newest version among them. r + w > n makes every read quorum meet every write quorum."),
    ParamSpec::count("w", 1, "acks", "Acknowledgements a write waits for before the client hears ok. w = 1 is fast and fragile."),
    ParamSpec {
        name: "vnodes",
        kind: crate::ParamKind::Int { min: 1, max: MAX_VNODES },
        unit: "tokens",
        help: "Tokens (virtual nodes) each node owns on the hash ring: more tokens spread the keys more evenly.",
    },
    ParamSpec::choice("conflicts", &["lww", "vector"], "How concurrent versions are resolved: lww keeps the version with the newest timestamp from the coordinator's clock, so clock skew loses updates; vector keeps concurrent writes as siblings (version vectors), returned together by a read for the client to merge, and a write from a replica that saw them all resolves them."),
    ParamSpec::flag("sloppy", "Sloppy quorum: a replica that does not answer is replaced by the next healthy node on the ring, which keeps a hint and hands the write back after the partition heals. Stays available, loses read-your-writes."),
    ParamSpec {
        name: "read_repair_pct",
        kind: crate::ParamKind::Int { min: 0, max: 100 },
        unit: "%",
        help: "Percentage of reads after which the coordinator sends the newest version to the replicas that answered with an older one.",
    },
    ParamSpec::ms("request_timeout_ms", 1, "A coordinator answers unavailable (a read) or unknown (a write) when the quorum has not answered after this long."),
    ParamSpec::ms("sloppy_after_ms", 1, "With sloppy: how long a coordinator waits for a replica before asking the next node on the ring instead."),
    ParamSpec::ms("handoff_ms", 1, "How often a node holding hints offers them back to their owners."),
    ParamSpec::ms("anti_entropy_ms", 0, "How often each node compares a hash tree of its key ranges with one peer's and exchanges the keys of the ranges that differ; 0 turns anti-entropy off."),
    ParamSpec::flag("unsafe_ack_unstored", "Seeded bug: replicas acknowledge writes without storing them."),
    ParamSpec::flag("unsafe_drop_hints", "Seeded bug: a hint is discarded as soon as it is offered back, before its owner stored it."),
];

impl QuorumParams {
    /// Problems the types cannot express, as `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if self.n == 0 {
            v.push(("n", "must be at least 1".to_string()));
        }
        if self.r == 0 || self.r > self.n {
            v.push(("r", format!("{} must be from 1 to n ({})", self.r, self.n)));
        }
        if self.w == 0 || self.w > self.n {
            v.push(("w", format!("{} must be from 1 to n ({})", self.w, self.n)));
        }
        if !(1..=MAX_VNODES).contains(&self.vnodes) {
            v.push((
                "vnodes",
                format!("{} must be from 1 to {MAX_VNODES}", self.vnodes),
            ));
        }
        if self.read_repair_pct > 100 {
            v.push((
                "read_repair_pct",
                format!("{} must be from 0 to 100", self.read_repair_pct),
            ));
        }
        for (name, x) in [
            ("request_timeout_ms", self.request_timeout_ms),
            ("sloppy_after_ms", self.sloppy_after_ms),
            ("handoff_ms", self.handoff_ms),
        ] {
            if x == 0 {
                v.push((name, "must be at least 1".to_string()));
            }
        }
        if self.sloppy && self.sloppy_after_ms >= self.request_timeout_ms {
            v.push((
                "sloppy_after_ms",
                format!(
                    "{} must be below request_timeout_ms ({}), or no stand-in is ever asked",
                    self.sloppy_after_ms, self.request_timeout_ms
                ),
            ));
        }
        v
    }

    /// Problems on a cluster of `nodes` nodes.
    pub fn cluster_problems(&self, nodes: usize) -> Vec<(&'static str, String)> {
        if self.n as usize > nodes {
            vec![(
                "n",
                format!(
                    "{} replicas asked for, but the cluster has {nodes} nodes",
                    self.n
                ),
            )]
        } else {
            Vec::new()
        }
    }

    pub fn vector(&self) -> bool {
        self.conflicts == Conflicts::Vector
    }

    /// Whether every read quorum meets every write quorum.
    pub fn strict(&self) -> bool {
        self.r + self.w > self.n
    }
}
