//! The lock presets teach what they say, checked from the runs themselves (the
//! storage's counts in its view, the overlap expectation's count, the clients' notes),
//! each against a run without the fault or the fix, so that every test can fail.

use quorumlab_core::NodeView;
use quorumlab_sim::expect::{ExpectKind, ExpectStatus, Expectation};
use quorumlab_sim::scenario::Scenario;
use quorumlab_tests::{root, run};

fn preset(name: &str) -> Scenario {
    let path = root().join("scenarios").join(format!("{name}.json"));
    let text = std::fs::read_to_string(path).expect("readable");
    quorumlab_sim::scenario::load(&text).expect("valid")
}

fn with_param(mut s: Scenario, key: &str, value: serde_json::Value) -> Scenario {
    s.protocol.params[key] = value;
    s
}

/// What one run showed.
#[derive(Debug)]
struct Seen {
    /// Spells of two clients believing they hold the lock, over the whole run.
    overlaps: u64,
    corrupted: u64,
    refused: u64,
    accepted: u64,
    violation: Option<String>,
    views: Vec<Option<NodeView>>,
}

fn count(v: &NodeView, label: &str) -> u64 {
    v.field(label)
        .unwrap_or_else(|| panic!("no field {label}"))
        .parse()
        .expect("a count")
}

fn observe(s: &Scenario, seed: u64) -> Seen {
    let mut s = s.clone();
    s.expect = vec![Expectation {
        says: String::new(),
        kind: ExpectKind::Overlaps {
            at_least: None,
            at_most: Some(u32::MAX as f64),
            from_ms: 0,
            to_ms: s.duration_ms,
        },
    }];
    let mut e = quorumlab_sim::build(&s, seed, 0).expect("builds");
    e.run_to_end();
    let out = e.expectations();
    assert_eq!(out[0].status, ExpectStatus::Passed, "{:?}", out[0]);
    let overlaps = out[0]
        .detail
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let views = e.views();
    let storage = s.protocol.params["storage"].as_u64().expect("storage") as usize;
    let st = views[storage]
        .clone()
        .expect("the storage is up at the end");
    let sum = run(&s, seed);
    Seen {
        overlaps,
        corrupted: count(&st, "corrupted writes"),
        refused: count(&st, "refused"),
        accepted: count(&st, "accepted"),
        violation: sum.invariants.violation.map(|v| format!("{v:?}")),
        views,
    }
}

fn without_faults(mut s: Scenario) -> Scenario {
    s.faults.clear();
    s
}

#[test]
fn a_gc_pause_corrupts_a_write_without_fencing_and_not_with_it() {
    let unfenced = preset("lock-gc-pause");
    let fenced = preset("lock-gc-pause-fenced");
    for seed in 1..=30 {
        let a = observe(&unfenced, seed);
        assert!(a.overlaps >= 1, "seed {seed}: {a:?}");
        assert!(
            a.corrupted >= 1,
            "seed {seed}: the stale write lands: {a:?}"
        );
        let b = observe(&fenced, seed);
        assert!(
            b.overlaps >= 1,
            "seed {seed}: fencing does not stop the overlap"
        );
        assert_eq!(b.corrupted, 0, "seed {seed}: {b:?}");
        assert!(
            b.refused >= 1,
            "seed {seed}: the stale token is refused: {b:?}"
        );
        // The paused client knows, afterwards, why its hold ended.
        let note = b.views[2]
            .as_ref()
            .unwrap()
            .field("last hold ended")
            .unwrap_or("");
        assert!(!note.is_empty(), "seed {seed}");
        // Without the pause nothing goes wrong: the pause is the cause.
        let c = observe(&without_faults(unfenced.clone()), seed);
        assert_eq!((c.overlaps, c.corrupted), (0, 0), "seed {seed}: {c:?}");
        assert!(c.accepted >= 5, "seed {seed}: clients keep working: {c:?}");
    }
}

#[test]
fn the_redis_failover_loses_the_lock_and_only_the_failover_does() {
    let s = preset("lock-redis-failover");
    for seed in 1..=30 {
        let a = observe(&s, seed);
        assert!(a.overlaps >= 1, "seed {seed}: {a:?}");
        let promoted = a.views[1].as_ref().unwrap();
        assert!(promoted.term >= 2, "seed {seed}: the replica took over");
        let b = observe(&without_faults(s.clone()), seed);
        assert_eq!(b.overlaps, 0, "seed {seed}: {b:?}");
    }
}

#[test]
fn redlock_breaks_with_a_clock_jump_and_holds_without_it() {
    let s = preset("lock-redlock-clock-jump");
    for seed in 1..=30 {
        let a = observe(&s, seed);
        assert!(a.overlaps >= 1, "seed {seed}: {a:?}");
        let master = a.views[2].as_ref().unwrap();
        assert!(
            master.last_change.contains("clock ran"),
            "seed {seed}: the jump is named: {}",
            master.last_change
        );
        // The same cuts, no jump: the bare majority holds.
        let mut calm = s.clone();
        calm.faults
            .retain(|f| !format!("{:?}", f.kind).starts_with("Clock"));
        assert_eq!(calm.faults.len(), s.faults.len() - 1);
        let b = observe(&calm, seed);
        assert_eq!(b.overlaps, 0, "seed {seed}: {b:?}");
    }
}

#[test]
fn a_zookeeper_client_cut_off_gives_up_before_its_session_is_expired() {
    let s = preset("lock-zookeeper-session-expiry");
    for seed in 1..=30 {
        let a = observe(&s, seed);
        assert_eq!((a.overlaps, a.corrupted), (0, 0), "seed {seed}: {a:?}");
        // Just after the server expired client 2's session and client 3 took over.
        let mut e = quorumlab_sim::build(&s, seed, 0).expect("builds");
        e.run_until(1000 * quorumlab_core::MS);
        let views = e.views();
        let server = views[0].as_ref().unwrap();
        assert!(
            server
                .last_change
                .contains("expired the session of client(s) [2]"),
            "seed {seed}: {}",
            server.last_change
        );
        assert_eq!(
            views[3].as_ref().unwrap().role.label,
            "holder",
            "seed {seed}"
        );
        let c2 = views[2].as_ref().unwrap();
        assert!(
            c2.field("last hold ended")
                .is_some_and(|n| n.contains("session")),
            "seed {seed}: {c2:?}"
        );
    }
}

/// The nemesis preset with fencing: never a corrupted write, never a broken invariant,
/// though holders overlap (the lock on a 3-server Raft ensemble). With fencing off, the
/// same seeds do corrupt writes: the check that finds none can find some.
#[test]
fn zookeeper_with_fencing_survives_the_nemesis() {
    let s = preset("lock-zookeeper-nemesis");
    let unfenced = with_param(s.clone(), "check_fencing", false.into());
    let (mut overlaps, mut refused, mut corrupted_unfenced) = (0, 0, 0);
    for seed in 1..=300 {
        let a = observe(&s, seed);
        assert_eq!(a.corrupted, 0, "seed {seed}: {a:?}");
        assert_eq!(a.violation, None, "seed {seed}");
        overlaps += a.overlaps;
        refused += a.refused;
        corrupted_unfenced += observe(&unfenced, seed).corrupted;
    }
    eprintln!("300 nemesis seeds: {overlaps} overlaps, {refused} refused writes; the same seeds unfenced: {corrupted_unfenced} corrupted");
    assert!(
        overlaps > 50,
        "the nemesis makes holders overlap: {overlaps}"
    );
    assert!(refused > 5, "and fencing refuses stale tokens: {refused}");
    assert!(
        corrupted_unfenced > 10,
        "without fencing: {corrupted_unfenced}"
    );
}

/// Bad input is refused with the field named; an even Redlock is allowed, and says why
/// it is no better than one master fewer.
#[test]
fn bad_lock_settings_name_their_field() {
    let load = |params: serde_json::Value, nodes: u64| {
        let doc = serde_json::json!({"version": 1, "protocol": {"name": "lock", "params": params},
            "nodes": nodes, "duration_ms": 1000});
        quorumlab_sim::scenario::load(&doc.to_string())
    };
    let path = |params: serde_json::Value, nodes: u64| {
        let errs = load(params, nodes).expect_err("refused");
        errs[0].path.clone()
    };
    assert_eq!(
        path(serde_json::json!({"ttl_ms": 0}), 4),
        "protocol.params.ttl_ms"
    );
    assert_eq!(
        path(serde_json::json!({"servers": 2, "storage": 1}), 5),
        "protocol.params.storage"
    );
    assert_eq!(path(serde_json::json!({}), 2), "protocol.params.servers");
    let even = serde_json::json!({"service": "redlock", "servers": 4, "storage": 4});
    let s = load(even, 6).expect("an even Redlock is allowed");
    let mut e = quorumlab_sim::build(&s, 1, 0).expect("builds");
    e.run_to_end();
    let v = e.views()[0].clone().expect("up");
    assert!(
        v.field("note").is_some_and(|n| n.contains("as 3 would")),
        "{v:?}"
    );
}

/// On a 3-server ensemble the lock outlives a server: crash each server in turn (one
/// of them leads) and the clients keep taking the lock, with growing tokens.
#[test]
fn the_zookeeper_ensemble_outlives_a_server() {
    let mut s = preset("lock-zookeeper-nemesis");
    s.nemesis = None;
    for victim in 0..3u32 {
        let doc = serde_json::json!([
            {"at_ms": 1000, "type": "crash", "node": victim},
            {"at_ms": 6000, "type": "restart", "node": victim}
        ]);
        s.faults = serde_json::from_value(doc).expect("faults");
        for seed in 1..=10 {
            let mut e = quorumlab_sim::build(&s, seed, 0).expect("builds");
            e.run_until(1000 * quorumlab_core::MS);
            let before = count(e.views()[3].as_ref().unwrap(), "accepted");
            e.run_until(5000 * quorumlab_core::MS);
            let after = count(e.views()[3].as_ref().unwrap(), "accepted");
            assert!(
                after >= before + 10,
                "server {victim} down, seed {seed}: {before} then {after} writes"
            );
            let a = observe(&s, seed);
            assert_eq!((a.corrupted, a.violation), (0, None), "seed {seed}");
        }
    }
}

/// The lock timeline ([`quorumlab_sim::locks`]) names the assumption each preset
/// breaks, for every spell of two holders, at every seed; the same run without the
/// fault has no spell, and its lock history (acquires and releases as the clients saw
/// them) is linearizable, while the faulty one's is not.
#[test]
fn every_spell_of_two_holders_is_blamed_on_the_presets_fault() {
    for (name, kind, words) in [
        ("lock-gc-pause", "pause", "paused for"),
        ("lock-gc-pause-fenced", "pause", "paused for"),
        ("lock-redis-failover", "failover", "before replicating"),
        ("lock-redlock-clock-jump", "clock", "clock jumped ahead"),
    ] {
        let s = preset(name);
        for seed in 1..=20 {
            let mut e = quorumlab_sim::build(&s, seed, 0).expect("builds");
            e.run_to_end();
            let r = e.lock_report().expect("a lock run reports its timeline");
            assert!(!r.spells.is_empty(), "{name} seed {seed}: no spell");
            for sp in &r.spells {
                assert_eq!(sp.kind, kind, "{name} seed {seed}: {sp:?}");
                assert!(sp.cause.contains(words), "{name} seed {seed}: {}", sp.cause);
                assert!(sp.from < sp.to, "{sp:?}");
                // Tokens tell the holders apart, where the service issues them.
                assert!(
                    sp.tokens.0.is_none() || sp.tokens.0 != sp.tokens.1,
                    "{sp:?}"
                );
            }
            let sum = run(&s, seed);
            assert!(sum.linearizable.failed(), "{name} seed {seed}");
            let calm = without_faults(s.clone());
            let mut e = quorumlab_sim::build(&calm, seed, 0).expect("builds");
            e.run_to_end();
            let r = e.lock_report().expect("a lock run");
            assert!(
                r.spells.is_empty(),
                "{name} seed {seed} without faults: {:?}",
                r.spells
            );
            assert!(
                r.lanes.iter().all(|l| !l.holds.is_empty()),
                "{name}: everyone holds once"
            );
            assert_eq!(
                run(&calm, seed).linearizable,
                quorumlab_sim::run::Check::Passed,
                "{name} seed {seed} without faults"
            );
        }
    }
}

/// Under the nemesis, the timeline's spells and the linearizability checker's verdict on
/// the lock history are two independent measures of the same thing: a seed has a spell
/// exactly when its history is not linearizable, and the storage's corrupted writes
/// agree with the timeline's count.
#[test]
fn under_the_nemesis_spells_and_the_checkers_verdict_agree() {
    let mut s = with_param(
        preset("lock-zookeeper-nemesis"),
        "check_fencing",
        false.into(),
    );
    // The preset leaves the lock's history unchecked (two holders are its premise).
    s.checks.linearizable = true;
    let (mut with_spells, mut corrupted) = (0, 0);
    for seed in 1..=60 {
        let mut e = quorumlab_sim::build(&s, seed, 0).expect("builds");
        e.run_to_end();
        let r = e.lock_report().expect("a lock run");
        let sum = run(&s, seed);
        assert!(
            !sum.linearizable.is_unknown(),
            "seed {seed}: the checker decided"
        );
        assert_eq!(
            !r.spells.is_empty(),
            sum.linearizable.failed(),
            "seed {seed}: spells {:?}, verdict {:?}",
            r.spells,
            sum.linearizable
        );
        let st = e.views()[3].clone().expect("the storage is up");
        assert_eq!(
            r.corrupted as u64,
            count(&st, "corrupted writes"),
            "seed {seed}"
        );
        with_spells += usize::from(!r.spells.is_empty());
        corrupted += r.corrupted;
    }
    eprintln!("60 nemesis seeds: {with_spells} with spells, {corrupted} corrupted writes");
    assert!(with_spells > 5, "the nemesis breaks the lock at some seeds");
}
