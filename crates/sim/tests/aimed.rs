//! Faults aimed at roles (resolved when they fire, named in the log, skipped when no
//! node has the role), and `isolate` / `reconnect` of one node.

use quorumlab_sim::scenario;

fn load(faults: &str, protocol: &str) -> scenario::Scenario {
    let text = format!(
        r#"{{"version": 1, "protocol": {{"name": "{protocol}"}}, "nodes": 5,
            "workload": {{"clients": 2, "rate": 5, "keys": 1, "start_ms": 300}},
            "faults": {faults}, "duration_ms": 6000}}"#
    );
    scenario::load(&text).unwrap_or_else(|e| panic!("{}", scenario::describe(&e)))
}

fn log_of(
    s: &scenario::Scenario,
    seed: u64,
    until_ms: u64,
) -> (Vec<String>, Box<dyn quorumlab_sim::Engine>) {
    let mut e = quorumlab_sim::build(s, seed, 0).unwrap();
    e.run_until(until_ms * 1000);
    (e.log().iter().map(|l| l.what.clone()).collect(), e)
}

#[test]
fn a_crash_aimed_at_the_leader_takes_the_node_that_leads_then() {
    let s = load(
        r#"[{"at_ms": 2000, "type": "crash", "node": "leader"}]"#,
        "raft",
    );
    for seed in 0..30 {
        // Who leads just before 2 s, in the same run without the fault.
        let mut quiet = s.clone();
        quiet.faults.clear();
        let mut q = quorumlab_sim::build(&quiet, seed, 0).unwrap();
        q.run_until(1_999_000);
        let leader = q
            .views()
            .iter()
            .enumerate()
            .filter(|(_, v)| v.as_ref().is_some_and(|v| v.is_leader_kind()))
            .max_by_key(|(_, v)| v.as_ref().map(|v| v.term))
            .map(|(i, _)| i)
            .expect("a leader by 2 s");
        let (log, e) = log_of(&s, seed, 2001);
        assert!(
            log.iter()
                .any(|l| l == &format!("crash aimed at leader: node {leader}")),
            "seed {seed}: {log:?}"
        );
        assert_eq!(
            e.status()[leader],
            quorumlab_sim::engine::Status::Crashed,
            "seed {seed}"
        );
    }
}

#[test]
fn with_no_node_in_the_role_the_fault_is_skipped_and_the_log_says_so() {
    // At 1 ms nobody leads yet.
    let s = load(
        r#"[{"at_ms": 1, "type": "crash", "node": "leader"}]"#,
        "raft",
    );
    let (log, e) = log_of(&s, 1, 100);
    assert!(
        log.iter()
            .any(|l| l.contains("skipped: no node is leader now")),
        "{log:?}"
    );
    assert!(e
        .status()
        .iter()
        .all(|s| *s == quorumlab_sim::engine::Status::Up));
}

#[test]
fn two_roles_in_one_partition_are_two_nodes() {
    let s = load(
        r#"[{"at_ms": 2000, "type": "partition", "groups": [["leader", "a follower"], "rest"]}]"#,
        "raft",
    );
    for seed in 0..30 {
        let (log, e) = log_of(&s, seed, 2001);
        let aimed: Vec<&String> = log.iter().filter(|l| l.contains("aimed at")).collect();
        assert_eq!(aimed.len(), 2, "seed {seed}: {log:?}");
        assert_ne!(
            aimed[0].rsplit(' ').next(),
            aimed[1].rsplit(' ').next(),
            "seed {seed}: {aimed:?}"
        );
        // Two nodes on one side, three on the other: 2 * 3 * 2 directed links cut.
        assert_eq!(e.blocked().len(), 12, "seed {seed}");
    }
}

#[test]
fn reconnect_undoes_one_nodes_cuts_and_leaves_the_others() {
    let s = load(
        r#"[{"at_ms": 1000, "type": "cut", "from": 1, "to": 2},
            {"at_ms": 1000, "type": "isolate", "node": 0},
            {"at_ms": 2000, "type": "reconnect", "node": 0}]"#,
        "raft",
    );
    let (_, e) = log_of(&s, 1, 1500);
    assert_eq!(e.blocked().len(), 1 + 2 * 4);
    let (log, e) = log_of(&s, 1, 2500);
    assert_eq!(e.blocked(), vec![(1, 2)]);
    assert!(log.iter().any(|l| l == "node 0 reconnected"), "{log:?}");
}

#[test]
fn a_restart_aimed_at_the_last_crashed_node_brings_it_back() {
    let s = load(
        r#"[{"at_ms": 1500, "type": "crash", "node": "a follower"},
            {"at_ms": 1600, "type": "crash", "node": "leader"},
            {"at_ms": 3000, "type": "restart", "node": "the last crashed node"}]"#,
        "raft",
    );
    let (log, e) = log_of(&s, 3, 3001);
    let leader: String = log
        .iter()
        .find(|l| l.starts_with("crash aimed at leader"))
        .and_then(|l| l.rsplit(' ').next())
        .expect("the leader crashed")
        .into();
    assert!(
        log.iter()
            .any(|l| l == &format!("restart aimed at the last crashed node: node {leader}")),
        "{log:?}"
    );
    let down = e
        .status()
        .iter()
        .filter(|s| **s == quorumlab_sim::engine::Status::Crashed)
        .count();
    assert_eq!(down, 1, "the follower stays down");
}

#[test]
fn roles_a_protocol_lacks_are_refused_by_field() {
    let text = r#"{"version": 1, "protocol": {"name": "heartbeat"}, "nodes": 3,
        "faults": [{"at_ms": 10, "type": "crash", "node": "leader"},
                   {"at_ms": 10, "type": "crash", "node": "the last crashed node"},
                   {"at_ms": 10, "type": "partition", "groups": [["a follower"]]},
                   {"at_ms": 10, "type": "isolate", "node": "the node with the longest log"}],
        "duration_ms": 100}"#;
    let errs = scenario::load(text).expect_err("refused");
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"faults[0].node"), "{paths:?}");
    assert!(paths.contains(&"faults[1].node"), "{paths:?}");
    assert!(paths.contains(&"faults[2].groups[0][0]"), "{paths:?}");
    assert!(
        !paths.iter().any(|p| p.starts_with("faults[3]")),
        "{paths:?}"
    );
    // And a word that is not a role names what is allowed.
    let bad = r#"{"version": 1, "protocol": {"name": "raft"}, "nodes": 3,
        "faults": [{"at_ms": 10, "type": "crash", "node": "the boss"}], "duration_ms": 100}"#;
    let errs = scenario::load(bad).expect_err("refused");
    assert!(
        scenario::describe(&errs).contains("a follower"),
        "{}",
        scenario::describe(&errs)
    );
}

/// Who can talk to whom after the links in `cuts` are cut, among `n` nodes.
fn sees(n: usize, cuts: &[(u32, u32)]) -> Vec<Vec<bool>> {
    let mut m = vec![vec![true; n]; n];
    for &(a, b) in cuts {
        m[a as usize][b as usize] = false;
    }
    m
}

#[test]
fn nemesis_partition_shapes_are_what_they_say() {
    use quorumlab_sim::engine::nemesis_shape;
    for n in 3..=9usize {
        let order: Vec<u32> = (0..n as u32).rev().collect();
        let majority = n / 2 + 1;
        // Ring: every node sees a majority (itself included), no two the same set.
        if n >= 4 {
            let m = sees(n, &nemesis_shape("partition_ring", &order, false));
            let sets: Vec<Vec<bool>> = m.clone();
            for (i, row) in m.iter().enumerate() {
                assert!(
                    row.iter().filter(|x| **x).count() >= majority,
                    "n={n} node {i}"
                );
                assert!(
                    row.iter().filter(|x| **x).count() < n,
                    "n={n} node {i}: sees everyone"
                );
            }
            for i in 0..n {
                for j in i + 1..n {
                    assert_ne!(
                        sets[i], sets[j],
                        "n={n}: nodes {i} and {j} see the same nodes"
                    );
                }
            }
            assert!(nemesis_shape("partition_ring", &order, true).is_empty());
        }
        // Bridge: the first node talks to everyone; the two halves do not talk.
        let m = sees(n, &nemesis_shape("partition_bridge", &order, false));
        let b = order[0] as usize;
        assert!(m[b].iter().all(|x| *x), "n={n}: the bridge talks to all");
        let cut = m.iter().flatten().filter(|x| !**x).count();
        assert_eq!(cut, 2 * ((n - 1) / 2) * (n - 1 - (n - 1) / 2), "n={n}");
        // Isolate: one node alone.
        let m = sees(n, &nemesis_shape("isolate", &order, false));
        assert_eq!(m[order[0] as usize].iter().filter(|x| **x).count(), 1);
        // Halves, keeping a majority: a majority side when the count is odd; none
        // possible for an even count.
        let h = nemesis_shape("partition_halves", &order, true);
        assert_eq!(h.is_empty(), n % 2 == 0, "n={n}");
    }
}

#[test]
fn a_nemesis_with_iterations_stops_after_them() {
    let text = r#"{"version": 1, "protocol": {"name": "raft"}, "nodes": 5,
        "nemesis": {"interval_ms": 200, "faults": ["isolate_leader", "partition_ring", "partition_bridge"],
                    "iterations": 3, "keep_majority": false},
        "duration_ms": 6000}"#;
    let s = scenario::load(text).unwrap_or_else(|e| panic!("{}", scenario::describe(&e)));
    for seed in 0..20 {
        let mut e = quorumlab_sim::build(&s, seed, 0).unwrap();
        e.run_to_end();
        let faults = e
            .log()
            .iter()
            .filter(|l| l.what.starts_with("nemesis: "))
            .count();
        assert_eq!(faults, 3, "seed {seed}: {:?}", e.log());
        assert!(e.violation().is_none());
    }
}

#[test]
fn long_delays_hold_messages_back_by_seconds_and_raft_stays_safe() {
    let text = r#"{"version": 1, "protocol": {"name": "raft"}, "nodes": 5,
        "network": {"long_delay": {"probability": 0.1, "min_ms": 200, "max_ms": 2200}},
        "workload": {"clients": 3, "rate": 10, "keys": 2, "start_ms": 300},
        "faults": [{"at_ms": 2000, "type": "degrade", "from": 0, "to": 1, "reorder": 0.5, "duplicate": 0.3}],
        "duration_ms": 10000}"#;
    let s = scenario::load(text).unwrap_or_else(|e| panic!("{}", scenario::describe(&e)));
    let mut late = 0;
    for seed in 0..50 {
        let mut e = quorumlab_sim::build(&s, seed, usize::MAX).unwrap();
        e.run_to_end();
        assert!(e.violation().is_none(), "seed {seed}: {:?}", e.violation());
        late += e
            .flights()
            .iter()
            .filter(|f| f.fate == "delivered" && f.arrives - f.sent >= 200_000)
            .count();
        let lin = quorumlab_sim::run::check_history(e.as_ref(), &mut || false);
        assert!(!lin.failed(), "seed {seed}: {lin:?}");
    }
    assert!(late > 100, "only {late} messages held back 200 ms or more");
    // The validator names what is wrong.
    let bad = text.replace(r#""max_ms": 2200"#, r#""max_ms": 100"#);
    let errs = scenario::load(&bad).expect_err("max below min");
    assert!(
        errs.iter().any(|e| e.path == "network.long_delay.max_ms"),
        "{}",
        scenario::describe(&errs)
    );
}
