//! Expectations (`"expect"` in a scenario): decided during the run, at the right
//! moment, with a reason; a false one fails the run; bad ones are refused by field.

use quorumlab_sim::expect::{ExpectOutcome, ExpectStatus};
use quorumlab_sim::run::{check_history, summarize, Outcome};
use quorumlab_sim::scenario;

/// Raft, five nodes; the leader of term 1 is cut off with one follower at 1.5 s (the
/// partition is aimed at whoever leads by choosing the seed: at seed 1 node 2 leads);
/// the network heals at 4.5 s.
fn minority(expect: &str) -> scenario::Scenario {
    let text = format!(
        r#"{{"version": 1, "protocol": {{"name": "raft"}}, "nodes": 5,
            "workload": {{"clients": 3, "rate": 10, "keys": 2, "start_ms": 500}},
            "faults": [
              {{"at_ms": 1500, "type": "partition", "groups": [[1, 2], [0, 3, 4]]}},
              {{"at_ms": 4500, "type": "heal"}}],
            "expect": {expect},
            "duration_ms": 8000, "seed": 1}}"#
    );
    scenario::load(&text).unwrap_or_else(|e| panic!("{}", scenario::describe(&e)))
}

fn outcomes(s: &scenario::Scenario, seed: u64) -> (Outcome, Vec<ExpectOutcome>) {
    let mut e = quorumlab_sim::build(s, seed, 0).expect("builds");
    e.run_to_end();
    let lin = check_history(e.as_ref(), &mut || false);
    let sum = summarize(e.as_ref(), lin);
    (sum.outcome(), sum.expectations)
}

#[test]
fn a_true_lesson_passes_with_the_moment_it_was_decided() {
    let s = minority(
        r#"[{"type": "leader", "within_ms": 1500},
            {"type": "one_leader_per_term"},
            {"type": "at_least", "n": 3, "op": "write", "from_ms": 2500, "to_ms": 4500},
            {"type": "leader", "after_ms": 4500, "within_ms": 1000},
            {"type": "term_stable", "from_ms": 5500, "to_ms": 8000},
            {"type": "leader_stable", "from_ms": 5500, "to_ms": 8000},
            {"type": "messages", "kind": "vote", "at_most_per_s": 0, "from_ms": 5500, "to_ms": 8000},
            {"type": "messages", "kind": "heartbeat", "at_least_per_s": 10, "from_ms": 5500, "to_ms": 8000},
            {"type": "availability", "at_least": 0.9, "from_ms": 500, "to_ms": 1500},
            {"type": "availability", "at_most": 0.99, "from_ms": 1500, "to_ms": 4500},
            {"type": "role", "node": 2, "role": "leader", "at_ms": 1400},
            {"type": "role", "node": 2, "role": "follower", "at_ms": 6000},
            {"type": "linearizable"},
            {"type": "state_equal"}]"#,
    );
    let (outcome, xs) = outcomes(&s, 1);
    for x in &xs {
        assert_eq!(x.status, ExpectStatus::Passed, "{x:?}");
        assert!(x.at_ms.is_some() && !x.detail.is_empty(), "{x:?}");
    }
    assert_eq!(outcome, Outcome::Passed);
    // The first leader is decided when it appears, long before its deadline.
    assert!(xs[0].at_ms.unwrap() < 1000.0, "{:?}", xs[0]);
    // A count is decided when it is reached; a stable interval at its end.
    assert!(
        (2500.0..4500.0).contains(&xs[2].at_ms.unwrap()),
        "{:?}",
        xs[2]
    );
    assert_eq!(xs[4].at_ms, Some(8000.0));
}

#[test]
fn a_false_lesson_fails_at_its_moment_with_the_reason() {
    // The majority side keeps committing during the partition: "no commit" is false,
    // and is decided at the first successful write after 2.5 s, not at the end.
    let s = minority(
        r#"[{"type": "no_commit", "from_ms": 2500, "to_ms": 4500, "says": "wrong on purpose"},
            {"type": "role", "node": 0, "role": "down", "at_ms": 3000},
            {"type": "leader_stable", "from_ms": 1000, "to_ms": 6000}]"#,
    );
    let (outcome, xs) = outcomes(&s, 1);
    assert_eq!(outcome, Outcome::Failed);
    assert!(
        xs.iter().all(|x| x.status == ExpectStatus::Failed),
        "{xs:?}"
    );
    let at = xs[0].at_ms.unwrap();
    assert!((2500.0..4500.0).contains(&at), "{:?}", xs[0]);
    assert_eq!(xs[0].says, "wrong on purpose");
    assert!(xs[0].detail.contains("write succeeded"), "{:?}", xs[0]);
    assert!(xs[1].detail.contains("node 0 was"), "{:?}", xs[1]);
    // The majority elects a new leader while node 2 is cut off.
    assert!(
        xs[2].detail.contains("led instead of node 2"),
        "{:?}",
        xs[2]
    );
}

#[test]
fn expectations_do_not_change_the_trace() {
    let with = minority(
        r#"[{"type": "messages", "at_most_per_s": 1000000, "from_ms": 0, "to_ms": 8000}]"#,
    );
    let mut without = with.clone();
    without.expect.clear();
    for seed in 0..20 {
        let mut a = quorumlab_sim::build(&with, seed, 0).unwrap();
        let mut b = quorumlab_sim::build(&without, seed, 0).unwrap();
        a.run_to_end();
        b.run_to_end();
        assert_eq!(a.trace_hash(), b.trace_hash(), "seed {seed}");
    }
}

#[test]
fn not_linearizable_is_a_lesson_too() {
    // Lease reads on a leader whose clock runs slow: stale reads, by design of the
    // preset. "The history is not linearizable" holds; with ReadIndex reads it fails.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/raft-lease-clock-skew.json"
    );
    let mut s = scenario::load(&std::fs::read_to_string(path).unwrap()).unwrap();
    s.expect = serde_json::from_str(r#"[{"type": "linearizable", "holds": false}]"#).unwrap();
    let (outcome, xs) = outcomes(&s, s.seed);
    assert_eq!(xs[0].status, ExpectStatus::Passed, "{xs:?}");
    // The history check fails, as the scenario says it should: the run shows what it
    // teaches, so it passes.
    assert_eq!(outcome, Outcome::Passed);
    // Without an expectation, a history with no order fails the run.
    let mut plain = s.clone();
    plain.expect.clear();
    assert_eq!(outcomes(&plain, s.seed).0, Outcome::Failed);
    // With ReadIndex reads there is no anomaly: the expectation, and the run, fail.
    s.protocol.params = serde_json::json!({"read_mode": "read_index"});
    let (outcome, xs) = outcomes(&s, s.seed);
    assert_eq!(xs[0].status, ExpectStatus::Failed, "{xs:?}");
    assert_eq!(outcome, Outcome::Failed);
}

#[test]
fn session_anomalies_are_expectations_that_name_their_clients() {
    // Last-writer-wins with node 2's clock behind: the client beside node 2 writes, and
    // reads back an older write that was stamped later.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/quorum-lww-clock-skew.json"
    );
    let mut s = scenario::load(&std::fs::read_to_string(path).unwrap()).unwrap();
    s.expect = serde_json::from_str(
        r#"[{"type": "anomaly", "kind": "read_your_writes", "at_least": 1},
            {"type": "anomaly", "kind": "monotonic_read", "at_most": 0}]"#,
    )
    .unwrap();
    let (_, xs) = outcomes(&s, s.seed);
    assert_eq!(xs[0].status, ExpectStatus::Passed, "{xs:?}");
    assert!(
        xs[0]
            .detail
            .contains("read-your-writes violations (client 1: "),
        "{}",
        xs[0].detail
    );
    assert_eq!(xs[1].status, ExpectStatus::Passed, "{xs:?}");
    assert_eq!(xs[1].detail, "0 monotonic-read violations");
    let x = serde_json::from_str::<serde_json::Value>(
        r#"{"type": "anomaly", "kind": "read_your_write"}"#,
    )
    .unwrap();
    let err = serde_json::from_value::<quorumlab_sim::expect::Expectation>(x).unwrap_err();
    assert!(
        err.to_string().contains("read_your_writes, monotonic_read"),
        "{err}"
    );
}

#[test]
fn bad_expectations_are_refused_by_field() {
    let bad = [
        (
            r#"[{"type": "no_commit", "from_ms": 3000, "to_ms": 2000}]"#,
            "expect[0].to_ms",
        ),
        (
            r#"[{"type": "at_least", "n": 1, "from_ms": 0, "to_ms": 9000}]"#,
            "expect[0].to_ms",
        ),
        (
            r#"[{"type": "state_equal"}, {"type": "role", "node": 7, "role": "up", "at_ms": 10}]"#,
            "expect[1].node",
        ),
        (
            r#"[{"type": "leader", "after_ms": 7500, "within_ms": 1000}]"#,
            "expect[0].within_ms",
        ),
        (
            r#"[{"type": "availability", "from_ms": 0, "to_ms": 10}]"#,
            "expect[0].at_least",
        ),
        (
            r#"[{"type": "messages", "at_most_per_s": -1, "from_ms": 0, "to_ms": 10}]"#,
            "expect[0].at_most_per_s",
        ),
    ];
    for (expect, field) in bad {
        let text = format!(
            r#"{{"version": 1, "protocol": {{"name": "raft"}}, "nodes": 3, "expect": {expect}, "duration_ms": 8000}}"#
        );
        let errs = scenario::load(&text).expect_err(expect);
        assert!(
            errs.iter().any(|e| e.path == field),
            "{expect}: expected an error at {field}, got {}",
            scenario::describe(&errs)
        );
    }
    // A field another type takes, or an unknown type: named, with what is allowed.
    for (expect, words) in [
        (
            r#"[{"type": "state_equal", "within_ms": 5}]"#,
            "`within_ms` is not a field of a `state_equal` expectation",
        ),
        (r#"[{"type": "leader"}]"#, "missing field `within_ms`"),
        (r#"[{"type": "happy"}]"#, "unknown expectation type `happy`"),
    ] {
        let text = format!(
            r#"{{"version": 1, "protocol": {{"name": "raft"}}, "nodes": 3, "expect": {expect}, "duration_ms": 8000}}"#
        );
        let errs = scenario::load(&text).expect_err(expect);
        let d = scenario::describe(&errs);
        assert!(
            d.contains(words) && d.contains("expect[0]"),
            "{expect}: {d}"
        );
    }
    // A protocol without a leader: leader expectations make no sense.
    let text = r#"{"version": 1, "protocol": {"name": "heartbeat"}, "nodes": 3,
        "expect": [{"type": "leader", "within_ms": 100}], "duration_ms": 8000}"#;
    let errs = scenario::load(text).expect_err("leaderless");
    assert!(
        errs.iter()
            .any(|e| e.path == "expect[0].type" && e.message.contains("no leader")),
        "{}",
        scenario::describe(&errs)
    );
}

#[test]
fn suspicion_expectations_read_the_failure_detector() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/fd-crash-detected.json"
    );
    let mut s = scenario::load(&std::fs::read_to_string(path).unwrap()).unwrap();
    s.expect = serde_json::from_str(
        r#"[{"type": "suspects", "nodes": [3], "at_ms": 2500},
            {"type": "suspects", "node": 0, "nodes": [2], "at_ms": 2500},
            {"type": "false_suspicions", "at_least": 1, "from_ms": 0, "to_ms": 6000}]"#,
    )
    .unwrap();
    let (_, xs) = outcomes(&s, 1);
    assert_eq!(xs[0].status, ExpectStatus::Failed, "{xs:?}");
    assert!(xs[0].detail.contains("suspects [2]"), "{:?}", xs[0]);
    assert_eq!(xs[1].status, ExpectStatus::Passed, "{xs:?}");
    // The crashed node is suspected rightly: no false suspicion.
    assert_eq!(xs[2].status, ExpectStatus::Failed, "{xs:?}");
    assert!(xs[2].detail.starts_with("0 false"), "{:?}", xs[2]);
}

#[test]
fn availability_per_side_of_a_partition() {
    // Node 2 leads at seed 1; nodes 1 and 2 are cut off with the clients beside node 1.
    let text = r#"{"version": 1, "protocol": {"name": "raft"}, "nodes": 5,
        "workload": {"clients": 4, "rate": 10, "keys": 2, "start_ms": 300, "attach": [1, 1, 3, 4]},
        "faults": [{"at_ms": 1500, "type": "partition", "groups": [[1, 2], "rest"]},
                   {"at_ms": 4500, "type": "heal"}],
        "expect": [
          {"type": "role", "node": 2, "role": "leader", "at_ms": 1400},
          {"type": "availability", "at_most": 0.5, "nodes": [1, 2], "from_ms": 2500, "to_ms": 4500},
          {"type": "availability", "at_least": 0.8, "nodes": [0, 3, 4], "from_ms": 2500, "to_ms": 4500},
          {"type": "availability", "at_least": 0.99, "from_ms": 2500, "to_ms": 4500}],
        "duration_ms": 8000, "seed": 1}"#;
    let s = scenario::load(text).unwrap_or_else(|e| panic!("{}", scenario::describe(&e)));
    let (_, xs) = outcomes(&s, 1);
    for x in &xs[..3] {
        assert_eq!(x.status, ExpectStatus::Passed, "{x:?}");
    }
    // Both sides together are neither: the minority's clients pull it down.
    assert_eq!(xs[3].status, ExpectStatus::Failed, "{:?}", xs[3]);
}
