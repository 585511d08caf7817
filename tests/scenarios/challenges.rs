//! The challenges (`scenarios/challenges/`): each is not solved as given, a solution
//! within its rules solves it, attempts that break the rules are refused, and the one
//! that is impossible stays unsolved over many attempts.

use quorumlab_sim::challenge::{check_rules, seal, state, State};
use quorumlab_sim::scenario::{self, Scenario};
use quorumlab_tests::run;
use std::path::PathBuf;

fn load(name: &str) -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/challenges")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut s =
        scenario::load(&text).unwrap_or_else(|e| panic!("{name}: {}", scenario::describe(&e)));
    // As the page does when a challenge is first opened.
    let sealed = seal(&s);
    s.challenge.as_mut().expect("a challenge").frozen = Some(sealed);
    s
}

fn outcome(s: &Scenario) -> State {
    let summary = run(s, s.seed);
    let attempts = s.challenge.as_ref().map_or(0, |c| c.attempts);
    state(s, attempts, &summary.expectations)
}

fn faults(json: &str) -> Vec<scenario::Fault> {
    scenario::parse(&format!(
        r#"{{"version": 1, "protocol": {{"name": "raft"}}, "nodes": 5, "duration_ms": 10000, "faults": {json}}}"#
    ))
    .expect("faults parse")
    .faults
}

#[test]
fn every_challenge_is_valid_and_unsolved_as_given() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/challenges");
    let mut n = 0;
    for f in std::fs::read_dir(&dir).expect("the challenges folder") {
        let name = f.unwrap().file_name().into_string().unwrap();
        let s = load(&name);
        assert_eq!(
            check_rules(&s),
            Ok(()),
            "{name}: as given it keeps its own rules"
        );
        assert!(
            matches!(outcome(&s), State::NotYet { .. }),
            "{name}: solved without doing anything"
        );
        n += 1;
    }
    assert!(n >= 3, "{n} challenges");
}

#[test]
fn the_stale_read_challenge_is_solved_with_lease_reads_a_slow_clock_and_a_partition() {
    let mut s = load("raft-stale-read.json");
    s.protocol.params["read_mode"] = "lease".into();
    s.faults = faults(
        r#"[{"at_ms": 1000, "type": "clock", "node": 2, "drift_ppm": -900000},
            {"at_ms": 1500, "type": "partition", "groups": [[2]]},
            {"at_ms": 2300, "type": "client", "node": 2, "op": {"f": "read", "key": "k0"}},
            {"at_ms": 2500, "type": "client", "node": 2, "op": {"f": "read", "key": "k0"}},
            {"at_ms": 3500, "type": "heal"}]"#,
    );
    assert_eq!(check_rules(&s), Ok(()));
    assert_eq!(outcome(&s), State::Solved);
    // The same faults with the safe read mode: no stale read.
    let mut safe = s.clone();
    safe.protocol.params["read_mode"] = "read_index".into();
    assert!(matches!(outcome(&safe), State::NotYet { .. }));
    // Shortening the lease is not allowed, nor a seventh action.
    let mut cheat = s.clone();
    cheat.protocol.params["lease_ms"] = 1000.into();
    assert!(
        matches!(outcome(&cheat), State::NotAllowed(why) if why.contains("only faults, protocol.params.read_mode"))
    );
    let mut many = s.clone();
    many.faults.extend(many.faults.clone());
    assert!(matches!(outcome(&many), State::NotAllowed(why) if why.contains("at most 6")));
}

#[test]
fn the_no_commit_challenge_is_solved_by_a_partition_with_no_majority_side_and_a_heal() {
    let mut s = load("raft-no-commit.json");
    s.faults = faults(
        r#"[{"at_ms": 2900, "type": "partition", "groups": [[0, 1], [2, 3], [4]]},
            {"at_ms": 6000, "type": "heal"}]"#,
    );
    assert_eq!(outcome(&s), State::Solved);
    // Two crashes leave a majority of three.
    s.faults = faults(
        r#"[{"at_ms": 2900, "type": "crash", "node": 0}, {"at_ms": 2900, "type": "crash", "node": 1}]"#,
    );
    assert!(matches!(outcome(&s), State::NotYet { impossible: None }));
    // Moving the interval is not allowed.
    let mut cheat = load("raft-no-commit.json");
    cheat.expect.truncate(1);
    assert!(matches!(outcome(&cheat), State::NotAllowed(_)));
}

#[test]
fn losing_an_acknowledged_raft_write_stays_impossible_and_the_page_says_so_after_five_attempts() {
    let base = load("raft-lose-a-write.json");
    // The nemesis at its worst, two hundred seeds: never solved.
    let mut s = base.clone();
    s.nemesis = scenario::parse(
        r#"{"version": 1, "protocol": {"name": "raft"}, "nodes": 5, "duration_ms": 10000,
            "nemesis": {"faults": ["crash", "crash_leader", "partition", "partition_leader", "isolate_leader", "pause", "clock", "loss", "reorder", "duplicate"], "interval_ms": 300, "start_ms": 500, "stop_ms": 7000}}"#,
    )
    .expect("nemesis parses")
    .nemesis;
    for seed in 0..200 {
        s.seed = seed;
        let st = outcome(&s);
        assert!(matches!(st, State::NotYet { .. }), "seed {seed}: {st:?}");
    }
    // A blank-disk restart is refused.
    let mut blank = base.clone();
    blank.faults = faults(
        r#"[{"at_ms": 1000, "type": "crash", "node": 0}, {"at_ms": 1500, "type": "restart", "node": 0, "disk": false}]"#,
    );
    assert!(matches!(outcome(&blank), State::NotAllowed(why) if why.contains("blank disk")));
    // Before the fifth attempt the page does not tell; from it on, it says why.
    let mut a = s.clone();
    a.challenge.as_mut().unwrap().attempts = 3;
    assert!(matches!(outcome(&a), State::NotYet { impossible: None }));
    a.challenge.as_mut().unwrap().attempts = 4;
    assert!(
        matches!(outcome(&a), State::NotYet { impossible: Some(why) } if why.contains("majority"))
    );
}
