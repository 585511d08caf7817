//! Node capacity (`workload.capacity`) and the retry-storm lesson: with a capacity,
//! retries cost the nodes time; clients that retry at once keep the queues full long
//! after a brief stall (a metastable failure), and back-off with a retry budget ends it.
//! Each claim is checked from the runs, on fixed seeds, against the same seed with the
//! other setting.

use quorumlab_sim::expect::ExpectStatus;
use quorumlab_sim::metrics::WindowReport;
use quorumlab_sim::scenario::{self, Scenario};
use quorumlab_sim::{build, Engine};
use std::path::Path;

fn preset(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../scenarios/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    scenario::load(&text).unwrap_or_else(|e| panic!("{name}: {}", scenario::describe(&e)))
}

fn run(s: &Scenario, seed: u64) -> Box<dyn Engine> {
    let mut e = build(s, seed, 0).expect("builds");
    e.run_to_end();
    e
}

/// What a stretch of a run measured: goodput (successful operations a second),
/// offered load (operations started a second), attempts per operation started,
/// messages per successful operation, and the share of served requests whose client no
/// longer waited.
#[derive(Debug)]
struct Stretch {
    goodput: f64,
    offered: f64,
    attempts_per_op: f64,
    messages_per_op: f64,
    wasted: f64,
}

fn stretch(windows: &[WindowReport], from_ms: u64, to_ms: u64) -> Stretch {
    let ws: Vec<&WindowReport> = windows
        .iter()
        .filter(|w| (from_ms..to_ms).contains(&w.start_ms))
        .collect();
    let sum = |f: fn(&WindowReport) -> u64| ws.iter().map(|w| f(w)).sum::<u64>() as f64;
    let secs = (to_ms - from_ms) as f64 / 1000.0;
    let (ok, invoked) = (sum(|w| w.ok), sum(|w| w.invoked));
    Stretch {
        goodput: ok / secs,
        offered: invoked / secs,
        attempts_per_op: sum(|w| w.attempts) / invoked.max(1.0),
        messages_per_op: sum(|w| w.messages) / ok.max(1.0),
        wasted: sum(|w| w.wasted) / sum(|w| w.served).max(1.0),
    }
}

/// The stall is over at 2.4 s; clients stop starting operations at 6 s. From 3 s on,
/// the storm has had time to end if it were going to.
const AFTER: (u64, u64) = (3000, 6000);
const BEFORE: (u64, u64) = (1000, 2000);

fn holds(e: &dyn Engine) -> bool {
    e.expectations()
        .iter()
        .all(|x| x.status == ExpectStatus::Passed)
}

/// The lesson on fixed seeds: after the stall, clients with back-off and a retry budget
/// get at least twice the goodput (here, nearly all of it against nearly none) with at
/// most half the messages per successful operation; without them the nodes spend most
/// of their time on requests nobody waits for, and each operation sends several
/// attempts.
#[test]
fn backoff_and_a_budget_end_the_storm_that_plain_retries_keep_going() {
    let storm = preset("client-retry-storm");
    let calm = preset("client-retry-storm-backoff");
    for seed in 0..12 {
        let a = run(&storm, seed);
        let b = run(&calm, seed);
        assert!(holds(a.as_ref()), "seed {seed}: {:?}", a.expectations());
        assert!(holds(b.as_ref()), "seed {seed}: {:?}", b.expectations());
        let (wa, wb) = (a.metrics(), b.metrics());
        let (pre, s, c) = (
            stretch(&wa, BEFORE.0, BEFORE.1),
            stretch(&wa, AFTER.0, AFTER.1),
            stretch(&wb, AFTER.0, AFTER.1),
        );
        // Before the stall: the load is served, with about one attempt per operation.
        assert!(pre.goodput > 250.0, "seed {seed}: {pre:?}");
        assert!(pre.attempts_per_op < 1.1, "seed {seed}: {pre:?}");
        assert!(pre.wasted < 0.02, "seed {seed}: {pre:?}");
        // After it, without the patterns: the storm goes on.
        assert!(s.goodput < 0.1 * pre.goodput, "seed {seed}: {s:?}");
        assert!(s.attempts_per_op > 4.0, "seed {seed}: {s:?}");
        assert!(s.wasted > 0.9, "seed {seed}: {s:?}");
        // With them: recovered.
        assert!(c.goodput >= 2.0 * s.goodput, "seed {seed}: {c:?} vs {s:?}");
        assert!(c.goodput > 0.9 * c.offered, "seed {seed}: {c:?}");
        assert!(
            c.messages_per_op * 2.0 <= s.messages_per_op,
            "seed {seed}: {c:?} vs {s:?}"
        );
        assert!(c.attempts_per_op < 1.2, "seed {seed}: {c:?}");
        assert!(c.wasted < 0.2, "seed {seed}: {c:?}");
        // The queues: full (and turning requests away) in the storm, never near full
        // once the patterns let it drain.
        let (ta, tb) = (a.total(), b.total());
        assert_eq!(ta.queue_peak, 200, "seed {seed}");
        assert!(ta.rejected > 0, "seed {seed}");
        assert!(
            wb.iter()
                .filter(|w| w.start_ms >= AFTER.0)
                .all(|w| w.queue_peak < 50),
            "seed {seed}: {wb:?}"
        );
        assert!(tb.wasted_ms < ta.wasted_ms / 4.0, "seed {seed}");
    }
}

/// Without a capacity a retry costs the nodes nothing: the same stall and the same
/// clients that retry at once recover as soon as it is over, and nothing queues.
#[test]
fn without_a_capacity_retries_are_free_and_there_is_no_storm() {
    let mut s = preset("client-retry-storm");
    s.workload.as_mut().unwrap().capacity = None;
    for seed in 0..5 {
        let e = run(&s, seed);
        let t = e.total();
        assert_eq!((t.served, t.wasted, t.queue_peak), (0, 0, 0), "seed {seed}");
        let after = stretch(&e.metrics(), AFTER.0, AFTER.1);
        assert!(after.goodput > 250.0, "seed {seed}: {after:?}");
        assert!(after.attempts_per_op < 1.1, "seed {seed}: {after:?}");
    }
}

/// A capacity well above the load changes when requests reach the protocol (each waits
/// for its service) and nothing else: nothing is turned away or wasted, every request
/// is served once, and the queue stays short.
#[test]
fn a_capacity_above_the_load_serves_everything_in_turn() {
    let mut s = preset("client-retry-storm");
    s.faults.clear();
    s.workload.as_mut().unwrap().capacity = Some(scenario::CapacitySpec {
        rate: 5000.0,
        queue: 1000,
    });
    let e = run(&s, 3);
    let t = e.total();
    assert!(t.served > 1000);
    assert_eq!(t.wasted, 0);
    assert_eq!(t.rejected, 0);
    assert_eq!(t.served, t.attempts, "every attempt served once");
    assert!(t.queue_peak < 20, "{}", t.queue_peak);
}

/// The queue is bounded: with room for 5 requests and a slow node, the rest are turned
/// away at once (the clients hear so and count the attempt as failed), and no queue
/// ever holds more than 5.
#[test]
fn a_full_queue_turns_requests_away() {
    let mut s = preset("client-retry-storm");
    s.faults.clear();
    s.workload.as_mut().unwrap().capacity = Some(scenario::CapacitySpec {
        rate: 50.0,
        queue: 5,
    });
    let e = run(&s, 1);
    let t = e.total();
    assert!(t.rejected > 100, "{t:?}");
    assert!(t.queue_peak <= 5, "{t:?}");
    assert!(t.ok > 0);
}

/// No node ever serves more than its capacity, even when it crashes with a full queue
/// and restarts at once: what it held is gone with the crash (served requests per
/// second stay within the nodes' rates in every window).
#[test]
fn a_crash_empties_the_queue_and_service_never_beats_the_capacity() {
    let mut s = preset("client-retry-storm");
    s.metrics_window_ms = 250;
    s.faults.extend(
        scenario::parse(
            r#"{"version": 1, "protocol": {"name": "quorum-kv"}, "nodes": 3, "duration_ms": 8000,
                "faults": [{"at_ms": 3000, "type": "crash", "node": 0},
                           {"at_ms": 3005, "type": "restart", "node": 0},
                           {"at_ms": 4000, "type": "crash", "node": 1},
                           {"at_ms": 4002, "type": "restart", "node": 1, "disk": false}]}"#,
        )
        .expect("parses")
        .faults,
    );
    s.validate().expect("valid");
    let rate = s.workload.as_ref().unwrap().capacity.as_ref().unwrap().rate;
    for seed in 0..4 {
        let e = run(&s, seed);
        let windows = e.metrics();
        // 250 ms windows: at most rate/4 a node, plus one started before the window.
        let most = s.n() as u64 * (rate as u64 / 4 + 1);
        for w in &windows {
            assert!(
                w.served <= most,
                "seed {seed}: {} served at {} ms",
                w.served,
                w.start_ms
            );
        }
        // The storm keeps every queue busy: the bound is reached, not idle.
        assert!(windows.iter().any(|w| w.served + 3 >= most), "seed {seed}");
    }
}

/// A capacity is deterministic and survives every runtime: the same seed gives the same
/// trace, and the worker boundary (each node apart, jobs serialised) gives the
/// simulator's own trace.
#[test]
fn a_run_with_a_capacity_is_the_same_across_the_worker_boundary() {
    for name in ["client-retry-storm", "client-retry-storm-backoff"] {
        let s = preset(name);
        for seed in [1, 7] {
            let a = run(&s, seed);
            let b = run(&s, seed);
            assert_eq!(a.trace_hash(), b.trace_hash(), "{name} seed {seed}");
            let remote = quorumlab_sim::remote::run_remote_here(&s, seed)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(a.trace_hash(), remote, "{name} seed {seed}");
        }
        assert_ne!(run(&s, 1).trace_hash(), run(&s, 2).trace_hash());
    }
}

/// Bad settings are named with their field.
#[test]
fn bad_capacities_are_named_by_field() {
    let base = |cap: &str| {
        format!(
            r#"{{"version": 1, "protocol": {{"name": "raft"}}, "nodes": 3, "duration_ms": 1000,
                "workload": {{"clients": 2, "capacity": {cap}}}}}"#
        )
    };
    for (cap, field, says) in [
        (r#"{"rate": 0}"#, "workload.capacity.rate", "at least 0.001"),
        (
            r#"{"rate": -5}"#,
            "workload.capacity.rate",
            "at least 0.001",
        ),
        (
            r#"{"rate": 2e6}"#,
            "workload.capacity.rate",
            "at most 1000000",
        ),
        (
            r#"{"rate": 100, "queue": 0}"#,
            "workload.capacity.queue",
            "between 1 and 1000000",
        ),
        (
            r#"{"rate": 100, "queue": 5000000}"#,
            "workload.capacity.queue",
            "between 1 and 1000000",
        ),
    ] {
        let err = scenario::load(&base(cap)).expect_err(cap);
        let text = scenario::describe(&err);
        assert!(text.contains(field), "{cap}: {text}");
        assert!(text.contains(says), "{cap}: {text}");
    }
    for (cap, says) in [
        (r#"{"queue": 5}"#, "rate"),
        (r#"{"rate": 5, "depth": 3}"#, "depth"),
    ] {
        let err = scenario::load(&base(cap)).expect_err(cap);
        let text = scenario::describe(&err);
        assert!(
            text.contains("capacity") && text.contains(says),
            "{cap}: {text}"
        );
    }
    assert!(scenario::load(&base(r#"{"rate": 0.5}"#)).is_ok());
}
