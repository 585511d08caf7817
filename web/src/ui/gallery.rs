//! The preset gallery: every scenario in `scenarios/`, embedded at compile time. Only
//! list files that exist (a missing one fails the build). The list is the protocol
//! registry's presets (`quorumlab_sim::registry`; a test checks they agree).

use quorumlab_sim::scenario::{self, Scenario};

/// `(id, JSON text)` of every preset.
pub const PRESETS: &[(&str, &str)] = &[
    (
        "client-circuit-breaker",
        include_str!("../../../scenarios/client-circuit-breaker.json"),
    ),
    (
        "client-degraded-reads",
        include_str!("../../../scenarios/client-degraded-reads.json"),
    ),
    (
        "client-load-balancer",
        include_str!("../../../scenarios/client-load-balancer.json"),
    ),
    (
        "client-rate-limit",
        include_str!("../../../scenarios/client-rate-limit.json"),
    ),
    (
        "fd-crash-detected",
        include_str!("../../../scenarios/fd-crash-detected.json"),
    ),
    (
        "fd-jitter-fixed-timeout",
        include_str!("../../../scenarios/fd-jitter-fixed-timeout.json"),
    ),
    (
        "fd-jitter-phi-accrual",
        include_str!("../../../scenarios/fd-jitter-phi-accrual.json"),
    ),
    (
        "fd-partition",
        include_str!("../../../scenarios/fd-partition.json"),
    ),
    (
        "multi-paxos-acceptor-restart",
        include_str!("../../../scenarios/multi-paxos-acceptor-restart.json"),
    ),
    (
        "multi-paxos-leader-crash",
        include_str!("../../../scenarios/multi-paxos-leader-crash.json"),
    ),
    (
        "multi-paxos-majority-partition",
        include_str!("../../../scenarios/multi-paxos-majority-partition.json"),
    ),
    (
        "multi-paxos-minority-partition",
        include_str!("../../../scenarios/multi-paxos-minority-partition.json"),
    ),
    (
        "multi-paxos-nemesis",
        include_str!("../../../scenarios/multi-paxos-nemesis.json"),
    ),
    (
        "paxos-dueling-proposers",
        include_str!("../../../scenarios/paxos-dueling-proposers.json"),
    ),
    (
        "pb-async-primary-crash",
        include_str!("../../../scenarios/pb-async-primary-crash.json"),
    ),
    (
        "pb-chain-middle-crash",
        include_str!("../../../scenarios/pb-chain-middle-crash.json"),
    ),
    (
        "pb-semi-sync-fallback",
        include_str!("../../../scenarios/pb-semi-sync-fallback.json"),
    ),
    (
        "pb-split-brain",
        include_str!("../../../scenarios/pb-split-brain.json"),
    ),
    (
        "pb-split-brain-fenced",
        include_str!("../../../scenarios/pb-split-brain-fenced.json"),
    ),
    (
        "pb-stale-replica-reads",
        include_str!("../../../scenarios/pb-stale-replica-reads.json"),
    ),
    (
        "pb-sync-slow-backup",
        include_str!("../../../scenarios/pb-sync-slow-backup.json"),
    ),
    (
        "pb-view-raft-crash",
        include_str!("../../../scenarios/pb-view-raft-crash.json"),
    ),
    (
        "pb-view-service-crash",
        include_str!("../../../scenarios/pb-view-service-crash.json"),
    ),
    (
        "raft-first-election",
        include_str!("../../../scenarios/raft-first-election.json"),
    ),
    (
        "raft-leader-crash",
        include_str!("../../../scenarios/raft-leader-crash.json"),
    ),
    (
        "raft-lease-clock-skew",
        include_str!("../../../scenarios/raft-lease-clock-skew.json"),
    ),
    (
        "raft-log-divergence",
        include_str!("../../../scenarios/raft-log-divergence.json"),
    ),
    (
        "raft-majority-partition",
        include_str!("../../../scenarios/raft-majority-partition.json"),
    ),
    (
        "raft-membership",
        include_str!("../../../scenarios/raft-membership.json"),
    ),
    (
        "raft-minority-partition",
        include_str!("../../../scenarios/raft-minority-partition.json"),
    ),
    (
        "raft-nemesis",
        include_str!("../../../scenarios/raft-nemesis.json"),
    ),
    (
        "raft-old-leader-rejoins",
        include_str!("../../../scenarios/raft-old-leader-rejoins.json"),
    ),
    (
        "raft-snapshot-catchup",
        include_str!("../../../scenarios/raft-snapshot-catchup.json"),
    ),
];

/// The scenario the page opens on: five Raft nodes with a light client workload.
pub const DEFAULT_JSON: &str = r#"{
  "version": 1,
  "name": "Playground: five Raft nodes",
  "description": "Five Raft nodes elect a leader and replicate a light stream of client writes and reads. Click a node to crash, pause or restart it; click a link to cut it.",
  "watch": "The first election (vote requests racing out), then heartbeats from the leader and appends carrying client writes.",
  "protocol": {"name": "raft"},
  "nodes": 5,
  "workload": {"clients": 2, "rate": 2, "keys": 2, "start_ms": 400},
  "duration_ms": 30000,
  "seed": 1
}"#;

/// `(id, JSON text)` of every challenge (`scenarios/challenges/`): exercises whose
/// expectations the student makes pass (see `quorumlab_sim::challenge`).
pub const CHALLENGES: &[(&str, &str)] = &[
    (
        "raft-stale-read",
        include_str!("../../../scenarios/challenges/raft-stale-read.json"),
    ),
    (
        "raft-no-commit",
        include_str!("../../../scenarios/challenges/raft-no-commit.json"),
    ),
    (
        "raft-lose-a-write",
        include_str!("../../../scenarios/challenges/raft-lose-a-write.json"),
    ),
];

/// A preset, parsed, or why it does not load.
pub struct Preset {
    pub id: &'static str,
    pub scenario: Result<Scenario, String>,
}

/// The presets, then the challenges.
pub fn presets() -> Vec<Preset> {
    PRESETS
        .iter()
        .chain(CHALLENGES)
        .map(|(id, text)| Preset {
            id,
            scenario: scenario::load(text).map_err(|e| scenario::describe(&e)),
        })
        .collect()
}

/// The default scenario (it is tested to load).
pub fn default_scenario() -> Scenario {
    match scenario::load(DEFAULT_JSON) {
        Ok(s) => s,
        // Unreachable (tested below); fall back to the simplest valid scenario anyway.
        Err(_) => minimal(),
    }
}

fn minimal() -> Scenario {
    Scenario {
        schema: None,
        version: scenario::VERSION,
        name: "Five Raft nodes".into(),
        description: String::new(),
        watch: String::new(),
        protocol: scenario::ProtocolSpec {
            name: "raft".into(),
            params: serde_json::Value::Null,
        },
        nodes: scenario::Nodes::Count(5),
        network: Default::default(),
        links: Vec::new(),
        workload: None,
        faults: Vec::new(),
        nemesis: None,
        checks: Default::default(),
        expect: Vec::new(),
        challenge: None,
        duration_ms: 30_000,
        seed: 1,
        metrics_window_ms: 1000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_presets_load() {
        assert!(scenario::load(DEFAULT_JSON).is_ok());
        assert!(minimal().validate().is_ok());
        for p in presets() {
            assert!(p.scenario.is_ok(), "{}: {:?}", p.id, p.scenario.err());
        }
    }

    /// The gallery shows exactly the registry's presets (a new protocol's presets,
    /// listed in its registry line, must be added to `PRESETS`).
    #[test]
    fn the_gallery_is_the_registrys_presets() {
        let mut registered: Vec<&str> = quorumlab_sim::registry::entries()
            .iter()
            .flat_map(|e| e.listing.presets.iter().copied())
            .collect();
        registered.sort_unstable();
        let mut shown: Vec<&str> = PRESETS.iter().map(|(id, _)| *id).collect();
        // Every file of scenarios/challenges/ is in CHALLENGES.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/challenges");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("the challenges")
            .map(|f| f.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort_unstable();
        let mut listed: Vec<String> = CHALLENGES
            .iter()
            .map(|(id, _)| format!("{id}.json"))
            .collect();
        listed.sort_unstable();
        assert_eq!(listed, files);
        shown.sort_unstable();
        assert_eq!(shown, registered);
        for p in presets()
            .into_iter()
            .filter(|p| PRESETS.iter().any(|(id, _)| *id == p.id))
        {
            let s = p.scenario.expect("loads");
            let e = quorumlab_sim::registry::entry(&s.protocol.name).expect("registered");
            assert!(
                e.listing.presets.contains(&p.id),
                "{} under {}",
                p.id,
                e.name
            );
        }
    }
}
