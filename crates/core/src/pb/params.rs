//! Primary-backup's user-visible knobs.

use crate::ParamSpec;
use serde::{Deserialize, Serialize};

/// How a write is replicated before the client hears "ok".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Mode {
    /// After every backup of the view stored it.
    #[default]
    #[serde(rename = "sync")]
    Sync,
    /// After `acks` backups stored it (falling back to async after a timeout).
    #[serde(rename = "semi-sync")]
    SemiSync,
    /// At once; the log is shipped in the background.
    #[serde(rename = "async")]
    Async,
    /// Chain replication: writes enter at the head and flow down; the tail answers.
    #[serde(rename = "chain")]
    Chain,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::SemiSync => "semi-sync",
            Mode::Async => "async",
            Mode::Chain => "chain",
        }
    }
}

/// Which replicas answer reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    /// The primary (the tail, in a chain): reads see every acknowledged write.
    #[default]
    Primary,
    /// Any replica answers from its own copy, which may lag: stale reads.
    Any,
}

/// Where the view (who is primary, which epoch) is decided.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewStore {
    /// Node 0 is a single view service (a single point of failure).
    #[default]
    Single,
    /// Nodes 0, 1 and 2 keep the view in a Raft group (one of them may fail).
    Raft,
}

/// How the view manager decides that a replica is dead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureDetector {
    /// No ping for `dead_timeout_ms`.
    #[default]
    Fixed,
    /// Phi-accrual over the replica's ping inter-arrival times (the failure-detector
    /// module's): dead once phi reaches `phi_threshold`.
    PhiAccrual,
}

/// Primary-backup parameters. Durations are in milliseconds of the node's local clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PbParams {
    /// The replication mode.
    pub mode: Mode,
    /// Semi-sync: backups that must store a write before the client hears "ok".
    pub acks: u64,
    /// Semi-sync: how long the primary waits for `acks` backups before it falls back to
    /// async replication (0: never falls back).
    pub semi_sync_timeout_ms: u64,
    /// Who answers reads.
    pub read_from: ReadFrom,
    /// Where the view lives.
    pub view_store: ViewStore,
    /// Epochs fence stale primaries: replicas reject an older epoch's requests and a
    /// primary serves only while its lease from the view service is valid.
    pub fencing: bool,
    /// How often replicas ping the view service (their heartbeat), and the primary
    /// re-sends what its backups lack.
    pub ping_interval_ms: u64,
    /// The view service declares a replica dead after hearing nothing for this long (and
    /// a primary declares a backup that stopped answering unresponsive).
    pub dead_timeout_ms: u64,
    /// With fencing: how long a ping answered by the view service lets a replica serve.
    pub lease_ms: u64,
    /// How the view manager detects a dead replica.
    pub detector: FailureDetector,
    /// Phi-accrual: the suspicion level at which a replica is dead.
    pub phi_threshold: u64,
}

impl Default for PbParams {
    fn default() -> Self {
        PbParams {
            mode: Mode::Sync,
            acks: 1,
            semi_sync_timeout_ms: 200,
            read_from: ReadFrom::Primary,
            view_store: ViewStore::Single,
            fencing: true,
            ping_interval_ms: 20,
            dead_timeout_ms: 120,
            lease_ms: 80,
            detector: FailureDetector::Fixed,
            phi_threshold: 8,
        }
    }
}

impl PbParams {
    /// Problems the types cannot express, as `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if self.ping_interval_ms == 0 {
            v.push(("ping_interval_ms", "must be at least 1".to_string()));
        }
        if self.dead_timeout_ms <= self.ping_interval_ms {
            v.push((
                "dead_timeout_ms",
                format!(
                    "{} must be above ping_interval_ms ({}), or live replicas look dead",
                    self.dead_timeout_ms, self.ping_interval_ms
                ),
            ));
        }
        if self.fencing && (self.lease_ms == 0 || self.lease_ms >= self.dead_timeout_ms) {
            v.push((
                "lease_ms",
                format!(
                    "{} must be at least 1 and below dead_timeout_ms ({}): with fencing a primary's lease must run out before the view service replaces it",
                    self.lease_ms, self.dead_timeout_ms
                ),
            ));
        }
        if self.detector == FailureDetector::PhiAccrual && !(1..=1000).contains(&self.phi_threshold)
        {
            v.push((
                "phi_threshold",
                format!("{} must be between 1 and 1000", self.phi_threshold),
            ));
        }
        if self.mode == Mode::SemiSync && self.acks == 0 {
            v.push((
                "acks",
                "must be at least 1 in semi-sync mode (0 is async)".to_string(),
            ));
        }
        v
    }

    /// How many nodes (the first ones) keep the view: 1 view service, or a Raft group.
    pub fn view_nodes(&self) -> usize {
        match self.view_store {
            ViewStore::Single => 1,
            ViewStore::Raft => super::raftview::RAFT_VIEW_NODES,
        }
    }

    /// Problems with these parameters on a cluster of `nodes` nodes (the view nodes
    /// first, then the replicas).
    pub fn cluster_problems(&self, nodes: usize) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        let k = self.view_nodes();
        let backups = nodes.saturating_sub(k + 1) as u64;
        if self.view_store == ViewStore::Raft {
            let max = k + super::raftview::MAX_PACKED;
            if nodes < k + 2 {
                v.push((
                    "view_store",
                    format!("\"raft\" needs at least {} nodes (nodes 0-{} keep the view in a Raft group, then a primary and a backup); the scenario has {nodes}", k + 2, k - 1),
                ));
            } else if nodes > max {
                v.push((
                    "view_store",
                    format!("\"raft\" keeps views of at most {} replicas: at most {max} nodes; the scenario has {nodes}", super::raftview::MAX_PACKED),
                ));
            }
            if !v.is_empty() {
                return v;
            }
        }
        if nodes < 2 {
            v.push((
                "mode",
                format!("primary-backup needs at least 2 nodes (node 0 is the view service, the rest replicas); the scenario has {nodes}"),
            ));
        } else if self.mode == Mode::SemiSync && self.acks > backups {
            v.push((
                "acks",
                format!(
                    "{} is above the number of backups ({backups}: {nodes} nodes, less {k} view node(s) and the primary)",
                    self.acks
                ),
            ));
        }
        if self.mode == Mode::Chain && self.read_from == ReadFrom::Any && nodes < k + 2 {
            v.push((
                "read_from",
                "\"any\" in a chain needs at least 2 replicas (3 nodes with the view service): a chain of one has only its tail to read from".to_string(),
            ));
        }
        v
    }
}

/// Primary-backup's parameters, described for the schema, the CLI and the page.
pub const PB_PARAMS: &[ParamSpec] = &[
    ParamSpec::choice("mode", &["sync", "semi-sync", "async", "chain"], "sync: a write is acknowledged once every backup of the view stored it; semi-sync: once `acks` backups did (falling back to async after semi_sync_timeout_ms); async: at once, shipped in the background; chain: writes enter at the head, flow down the chain, and the tail answers."),
    ParamSpec::count("acks", 0, "backups", "Semi-sync: how many backups must store a write before the client hears ok (at most the number of backups)."),
    ParamSpec::ms("semi_sync_timeout_ms", 0, "Semi-sync: after waiting this long for `acks` backups the primary falls back to async replication, as MySQL does, until they catch up. 0: never falls back."),
    ParamSpec::choice("read_from", &["primary", "any"], "primary: reads are answered by the primary (the tail in a chain) and see every acknowledged write; any: every replica answers from its own copy, which may lag (stale reads)."),
    ParamSpec::choice("view_store", &["single", "raft"], "single: node 0 is the view service (MIT 6.824 style), which decides the primary and bumps the epoch, and can crash; raft: nodes 0, 1 and 2 keep the view in a Raft group (its leader decides, each change is committed by a majority), so one of them can crash and failover still works; replicas start at node 3."),
    ParamSpec::flag("fencing", "Epochs fence deposed primaries: replicas reject an older epoch's requests and a primary serves only while its lease from the view service lasts. Off: a primary cut off from the view service keeps accepting writes (split brain)."),
    ParamSpec::ms("ping_interval_ms", 1, "How often replicas ping the view service, and the primary re-sends what its backups lack."),
    ParamSpec::ms("dead_timeout_ms", 1, "The view service declares a replica dead after hearing no ping for this long; a primary reports a backup that has not answered for this long."),
    ParamSpec::ms("lease_ms", 0, "With fencing: how long after sending a ping the view service answered a replica may serve clients."),
    ParamSpec::choice("detector", &["fixed", "phi-accrual"], "How the view manager decides a replica is dead. fixed: no ping for dead_timeout_ms. phi-accrual: the failure detectors' phi over the replica's ping inter-arrival times reaches phi_threshold (adapts to a jittery network; with fencing never before lease_ms of silence)."),
    ParamSpec::count("phi_threshold", 1, "", "Phi-accrual: the suspicion level at which a replica is dead (phi = 8: a silence as unlikely as 1 in 10^8 given the pings so far). 1 to 1000."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_strict_parsing_and_problems() {
        let p: PbParams = serde_json::from_str(r#"{"mode":"semi-sync","acks":2}"#).unwrap();
        assert_eq!(p.mode, Mode::SemiSync);
        assert!(p.problems().is_empty());
        assert!(serde_json::from_str::<PbParams>(r#"{"no_such":1}"#).is_err());
        assert_eq!(p.cluster_problems(3)[0].0, "acks");
        assert!(p.cluster_problems(5).is_empty());
        let raft = PbParams {
            view_store: ViewStore::Raft,
            ..Default::default()
        };
        assert!(raft.problems().is_empty());
        assert_eq!(raft.cluster_problems(4)[0].0, "view_store");
        assert!(raft.cluster_problems(4)[0].1.contains("at least 5 nodes"));
        assert!(raft.cluster_problems(5).is_empty());
        assert!(raft.cluster_problems(11)[0].1.contains("at most 10 nodes"));
        let raft_acks = PbParams {
            mode: Mode::SemiSync,
            acks: 2,
            ..raft
        };
        assert_eq!(raft_acks.cluster_problems(5)[0].0, "acks");
        assert!(raft_acks.cluster_problems(6).is_empty());
        let chain = PbParams {
            mode: Mode::Chain,
            read_from: ReadFrom::Any,
            ..Default::default()
        };
        assert_eq!(chain.cluster_problems(2)[0].0, "read_from");
        let lease = PbParams {
            lease_ms: 500,
            ..Default::default()
        };
        assert_eq!(lease.problems()[0].0, "lease_ms");
    }
}
