//! The preset gallery: every scenario in `scenarios/`. The page fetches them
//! (`dist/scenarios/`, copied by Trunk) after it starts rather than carrying them in its
//! bundle (about 10 kB gzipped, traded for the embeddable widget); the widget does not
//! fetch them. The list is the protocol registry's presets (`quorumlab_sim::registry`; a
//! test checks they agree, and that every file exists and loads).

use quorumlab_sim::scenario::{self, Scenario};

/// `(id, file under scenarios/)` of every preset.
pub const PRESETS: &[(&str, &str)] = &[
    ("client-circuit-breaker", "client-circuit-breaker.json"),
    ("client-degraded-reads", "client-degraded-reads.json"),
    ("client-load-balancer", "client-load-balancer.json"),
    ("client-rate-limit", "client-rate-limit.json"),
    ("client-retry-storm", "client-retry-storm.json"),
    (
        "client-retry-storm-backoff",
        "client-retry-storm-backoff.json",
    ),
    ("fd-crash-detected", "fd-crash-detected.json"),
    ("fd-jitter-fixed-timeout", "fd-jitter-fixed-timeout.json"),
    ("fd-jitter-phi-accrual", "fd-jitter-phi-accrual.json"),
    ("fd-partition", "fd-partition.json"),
    ("lock-gc-pause", "lock-gc-pause.json"),
    ("lock-gc-pause-fenced", "lock-gc-pause-fenced.json"),
    ("lock-redis-failover", "lock-redis-failover.json"),
    ("lock-redlock-clock-jump", "lock-redlock-clock-jump.json"),
    ("lock-zookeeper-nemesis", "lock-zookeeper-nemesis.json"),
    (
        "lock-zookeeper-session-expiry",
        "lock-zookeeper-session-expiry.json",
    ),
    (
        "multi-paxos-acceptor-restart",
        "multi-paxos-acceptor-restart.json",
    ),
    ("multi-paxos-leader-crash", "multi-paxos-leader-crash.json"),
    (
        "multi-paxos-majority-partition",
        "multi-paxos-majority-partition.json",
    ),
    (
        "multi-paxos-minority-partition",
        "multi-paxos-minority-partition.json",
    ),
    ("multi-paxos-nemesis", "multi-paxos-nemesis.json"),
    ("paxos-dueling-proposers", "paxos-dueling-proposers.json"),
    ("pb-append-stale-reads", "pb-append-stale-reads.json"),
    ("pb-async-primary-crash", "pb-async-primary-crash.json"),
    ("pb-chain-middle-crash", "pb-chain-middle-crash.json"),
    ("pb-semi-sync-fallback", "pb-semi-sync-fallback.json"),
    ("pb-split-brain", "pb-split-brain.json"),
    ("pb-split-brain-fenced", "pb-split-brain-fenced.json"),
    ("pb-stale-replica-reads", "pb-stale-replica-reads.json"),
    ("pb-sync-slow-backup", "pb-sync-slow-backup.json"),
    ("pb-view-raft-crash", "pb-view-raft-crash.json"),
    ("pb-view-service-crash", "pb-view-service-crash.json"),
    ("quorum-anti-entropy", "quorum-anti-entropy.json"),
    ("quorum-join", "quorum-join.json"),
    ("quorum-lww-clock-skew", "quorum-lww-clock-skew.json"),
    ("quorum-r1w1-stale", "quorum-r1w1-stale.json"),
    ("quorum-sloppy-partition", "quorum-sloppy-partition.json"),
    ("quorum-strict-partition", "quorum-strict-partition.json"),
    ("quorum-vector-siblings", "quorum-vector-siblings.json"),
    ("raft-append-nemesis", "raft-append-nemesis.json"),
    ("raft-first-election", "raft-first-election.json"),
    ("raft-leader-crash", "raft-leader-crash.json"),
    ("raft-lease-clock-skew", "raft-lease-clock-skew.json"),
    ("raft-log-divergence", "raft-log-divergence.json"),
    ("raft-majority-partition", "raft-majority-partition.json"),
    ("raft-membership", "raft-membership.json"),
    ("raft-minority-partition", "raft-minority-partition.json"),
    ("raft-nemesis", "raft-nemesis.json"),
    ("raft-old-leader-rejoins", "raft-old-leader-rejoins.json"),
    ("raft-snapshot-catchup", "raft-snapshot-catchup.json"),
    (
        "shard-leader-crash-during-move",
        "shard-leader-crash-during-move.json",
    ),
    ("shard-move-on-join", "shard-move-on-join.json"),
    ("shard-nemesis", "shard-nemesis.json"),
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

/// `(id, file under scenarios/)` of every challenge (`scenarios/challenges/`): exercises whose
/// expectations the student makes pass (see `quorumlab_sim::challenge`).
pub const CHALLENGES: &[(&str, &str)] = &[
    ("raft-stale-read", "challenges/raft-stale-read.json"),
    ("raft-no-commit", "challenges/raft-no-commit.json"),
    ("raft-lose-a-write", "challenges/raft-lose-a-write.json"),
];

/// A preset, parsed, or why it does not load ([`LOADING`] until it arrives).
#[derive(Clone)]
pub struct Preset {
    pub id: &'static str,
    pub scenario: Result<Scenario, String>,
}

/// What a preset is before its file arrived.
pub const LOADING: &str = "loading";

/// The presets, then the challenges, all still loading.
pub fn presets() -> Vec<Preset> {
    PRESETS
        .iter()
        .chain(CHALLENGES)
        .map(|(id, _)| Preset {
            id,
            scenario: Err(LOADING.into()),
        })
        .collect()
}

/// Preset `i`'s file arrived (or could not be fetched).
pub fn arrived(presets: &mut [Preset], i: usize, text: Result<String, String>) {
    if let Some(p) = presets.get_mut(i) {
        p.scenario = text.and_then(|t| scenario::load(&t).map_err(|e| scenario::describe(&e)));
    }
}

/// Fetch every preset's file; `on` hears `(index, text)` for each.
#[cfg(target_arch = "wasm32")]
pub fn fetch_all(on: yew::Callback<(usize, Result<String, String>)>) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    let Some(w) = web_sys::window() else { return };
    for (i, (_, path)) in PRESETS.iter().chain(CHALLENGES).enumerate() {
        let failed = {
            let on = on.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                on.emit((i, Err(format!("could not fetch scenarios/{path}"))))
            })
        };
        let got = {
            let on = on.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |r: JsValue| {
                let r: web_sys::Response = r.unchecked_into();
                let (ok, status) = (r.ok(), r.status());
                let on = on.clone();
                let text = Closure::<dyn FnMut(JsValue)>::new(move |t: JsValue| {
                    let t = match t.as_string() {
                        Some(t) if ok => Ok(t),
                        _ => Err(format!("scenarios/{path}: HTTP {status}")),
                    };
                    on.emit((i, t))
                });
                if let Ok(p) = r.text() {
                    let _ = p.then(&text);
                }
                text.forget();
            })
        };
        let _ = w
            .fetch_with_str(&format!("./scenarios/{path}"))
            .then2(&got, &failed);
        got.forget();
        failed.forget();
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub fn fetch_all(_on: yew::Callback<(usize, Result<String, String>)>) {}

/// Every preset, loaded from the repository's files (native: the tests).
#[cfg(test)]
pub fn presets_from_disk() -> Vec<Preset> {
    let mut all = presets();
    for (i, (_, path)) in PRESETS.iter().chain(CHALLENGES).enumerate() {
        let file = format!("{}/../scenarios/{path}", env!("CARGO_MANIFEST_DIR"));
        arrived(
            &mut all,
            i,
            std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}")),
        );
    }
    all
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
            data_type: None,
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
        for p in presets_from_disk() {
            assert!(p.scenario.is_ok(), "{}: {:?}", p.id, p.scenario.err());
        }
    }

    /// The gallery shows exactly the registry's presets (a new protocol's presets, listed in its registry line, must be added to
    /// `PRESETS`).
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
        for p in presets_from_disk()
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
