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
