//! Helpers shared by the cross-crate scenario tests in `tests/scenarios/`.

use quorumlab_sim::run::{check_history, summarize, Summary};
use quorumlab_sim::scenario::{self, Scenario};
use std::path::PathBuf;

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every preset in `scenarios/`, by file name, sorted.
pub fn presets() -> Vec<(String, Scenario)> {
    let mut v = Vec::new();
    let dir = root().join("scenarios");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenarios/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && !n.contains("schema"))
        .collect();
    names.sort();
    for n in names {
        let text = std::fs::read_to_string(dir.join(&n)).expect("readable");
        let s = scenario::load(&text).unwrap_or_else(|e| panic!("{n}: {}", scenario::describe(&e)));
        v.push((n, s));
    }
    v
}

/// Every protocol of the registry with each of its presets, loaded: `(protocol, preset,
/// scenario)`. A new protocol's presets are covered by the tests that walk this.
pub fn registry_presets() -> Vec<(&'static str, &'static str, Scenario)> {
    let dir = root().join("scenarios");
    let mut v = Vec::new();
    for e in quorumlab_sim::registry::entries() {
        assert!(!e.listing.presets.is_empty(), "{}: no presets", e.name);
        for p in e.listing.presets {
            let text = std::fs::read_to_string(dir.join(format!("{p}.json")))
                .unwrap_or_else(|err| panic!("{}: preset {p}: {err}", e.name));
            let s = scenario::load(&text)
                .unwrap_or_else(|err| panic!("{p}: {}", scenario::describe(&err)));
            assert_eq!(s.protocol.name, e.name, "{p}");
            v.push((e.name, *p, s));
        }
    }
    v
}

/// Run a scenario with `seed` to the end, with every check.
pub fn run(s: &Scenario, seed: u64) -> Summary {
    let mut e = quorumlab_sim::build(s, seed, 0).expect("builds");
    e.run_to_end();
    let mut steps = 0u64;
    // A step budget, not a clock: tests must not depend on machine speed.
    let lin = check_history(e.as_ref(), &mut || {
        steps += 1;
        steps > 50_000_000
    });
    summarize(e.as_ref(), lin)
}
