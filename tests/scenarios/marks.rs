//! The timeline's marks (`quorumlab_sim::marks`) say what happened in the run, at the
//! moment it happened, with the nodes involved: checked against what the presets do
//! and against the run's own record (the log, the history, the violation).

use quorumlab_core::{Time, MS};
use quorumlab_sim::marks::{Mark, MarkKind};
use quorumlab_sim::remote::run_remote_coordinator;
use quorumlab_sim::scenario;
use quorumlab_tests::{registry_presets, root};

fn preset(name: &str) -> scenario::Scenario {
    let text = std::fs::read_to_string(root().join(format!("scenarios/{name}.json")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    scenario::load(&text).unwrap_or_else(|e| panic!("{name}: {}", scenario::describe(&e)))
}

fn marks_of(s: &scenario::Scenario, seed: u64) -> Vec<Mark> {
    let mut e = quorumlab_sim::build(s, seed, 0).expect("builds");
    e.run_to_end();
    e.marks()
}

fn of(marks: &[Mark], kind: MarkKind) -> Vec<&Mark> {
    marks.iter().filter(|m| m.kind == kind).collect()
}

/// The leader is crashed at 1.5 s: the marks show who led, that clients then waited
/// with nothing committing from about the crash, and the next election naming both.
#[test]
fn a_leader_crash_shows_the_election_after_it_and_the_stall_between() {
    let s = preset("raft-leader-crash");
    let crash = 1_500 * MS;
    for seed in s.seed..s.seed + 20 {
        let m = marks_of(&s, seed);
        let elected = of(&m, MarkKind::Elected);
        let before: Vec<_> = elected.iter().filter(|x| x.at < crash).collect();
        let after: Vec<_> = elected.iter().filter(|x| x.at > crash).collect();
        let old = before.last().expect("a leader before the crash").nodes[0];
        let next = after
            .first()
            .unwrap_or_else(|| panic!("seed {seed}: no election after the crash: {m:?}"));
        assert_ne!(next.nodes[0], old, "seed {seed}");
        assert_eq!(next.nodes.get(1), Some(&old), "seed {seed}: {}", next.text);
        // Raft's patience is its longest election timeout; the new leader comes within two.
        assert!(next.at - crash < 2 * 300 * MS, "seed {seed}: {}", next.text);
        let stall = of(&m, MarkKind::Stalled)
            .into_iter()
            .find(|x| x.at <= next.at && x.until.is_some_and(|u| u > next.at))
            .unwrap_or_else(|| panic!("seed {seed}: no stall over the election: {m:?}"));
        assert!(
            stall.at + 100 * MS >= crash,
            "seed {seed}: stall from {}",
            stall.at
        );
    }
}

/// A follower cut off for 3 s falls behind the compacted log: after the heal the
/// leader sends it a snapshot, and the mark names both.
#[test]
fn a_lagging_follower_gets_a_snapshot_after_the_heal() {
    let s = preset("raft-snapshot-catchup");
    for seed in s.seed..s.seed + 10 {
        let m = marks_of(&s, seed);
        let leaders: Vec<_> = of(&m, MarkKind::Elected)
            .iter()
            .map(|x| x.nodes[0])
            .collect();
        // (A follower that merely lags may get one before; the cut-off one gets one
        // after the heal.)
        let heal = of(&m, MarkKind::Snapshot)
            .into_iter()
            .find(|x| x.at >= 4_000 * MS)
            .unwrap_or_else(|| panic!("seed {seed}: no snapshot after the heal: {m:?}"));
        assert!(heal.at < 4_500 * MS, "seed {seed}: {}", heal.text);
        assert!(
            leaders.contains(&heal.nodes[0]),
            "seed {seed}: {}",
            heal.text
        );
        assert!(!heal.nodes[1..].contains(&heal.nodes[0]));
    }
}

/// Each membership change is marked when a node takes it, at or after its request.
#[test]
fn membership_changes_are_marked_where_the_leader_takes_them() {
    let s = preset("raft-membership");
    let m = marks_of(&s, s.seed);
    let ch = of(&m, MarkKind::Membership);
    assert_eq!(ch.len(), 2, "{m:?}");
    assert!(
        ch[0].at >= 1_500 * MS && ch[0].text.contains("adds node 4"),
        "{:?}",
        ch[0]
    );
    assert!(
        ch[1].at >= 4_000 * MS && ch[1].text.contains("removes node 1"),
        "{:?}",
        ch[1]
    );
}

/// A run that breaks an invariant has its violation marked where the run stopped, and
/// each decided expectation is marked at the moment it was decided.
#[test]
fn the_violation_and_the_decided_expectations_are_marked() {
    let text = std::fs::read_to_string(root().join("tests/data/raft-bug-hunt.json")).unwrap();
    let mut s = scenario::load(&text).expect("valid");
    let mut params = s.protocol.params.as_object().cloned().unwrap_or_default();
    params.insert("unsafe_commit_old_terms".into(), serde_json::json!(true));
    s.protocol.params = serde_json::Value::Object(params);
    let mut found = None;
    for seed in 0..2_000u64 {
        let mut e = quorumlab_sim::build(&s, seed, 0).expect("builds");
        e.run_to_end();
        if let Some(f) = e.violation().cloned() {
            found = Some((e.marks(), f));
            break;
        }
    }
    let (m, f) = found.expect("the seeded bug is found within 2,000 seeds");
    let v = of(&m, MarkKind::Violation);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].at, f.time);
    assert!(v[0].text.starts_with(&f.invariant));
    assert!(m
        .iter()
        .all(|x| x.at <= f.time || x.kind == MarkKind::Stalled));

    let s = preset("raft-leader-crash");
    let mut e = quorumlab_sim::build(&s, s.seed, 0).expect("builds");
    e.run_to_end();
    let decided: Vec<Time> = e
        .expectations()
        .iter()
        .filter(|x| x.status != quorumlab_sim::expect::ExpectStatus::Pending)
        .filter_map(|x| x.at_ms.map(|ms| (ms * MS as f64) as Time))
        .collect();
    let marked: Vec<Time> = e
        .marks()
        .iter()
        .filter(|x| matches!(x.kind, MarkKind::Passed | MarkKind::Failed))
        .map(|x| x.at)
        .collect();
    assert!(!decided.is_empty());
    let mut sorted = decided.clone();
    sorted.sort();
    assert_eq!(marked, sorted);
    // In time order overall.
    let m = e.marks();
    assert!(m.windows(2).all(|w| w[0].at <= w[1].at));
}

/// Marks are part of the run: the same through the worker boundary as in the
/// simulator's own loop, for every protocol's presets.
#[test]
fn marks_are_the_same_through_the_worker_boundary() {
    for (protocol, name, s) in registry_presets() {
        let native = marks_of(&s, s.seed);
        let c = run_remote_coordinator(&s, s.seed).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(c.engine().marks(), native, "{protocol}: {name}");
    }
}
