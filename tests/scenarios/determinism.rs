//! Determinism on random scenarios: every scenario the generator draws
//! (`quorumlab_sim::arbitrary`: any protocol of the catalogue, node counts, network
//! settings, links, workloads, timed faults of every kind, a nemesis) is valid, runs to
//! the same trace hash twice natively, and gives that hash again through the worker
//! boundary in this process (`run_remote_here`, what the Web Worker runtime does).
//! `quorumlab determinism --scenarios N` runs thousands the same way.
//!
//! A worker checks no invariant (a check needs every node's state; the page's own
//! replica of the run does it), so a run that a violation stops natively goes on
//! through the worker boundary. The worker run is therefore compared with the native
//! run with invariant checks off, which must be the very same trace as the checked one
//! up to the violation (and, without one, to the end).

use quorumlab_sim::arbitrary;
use quorumlab_sim::remote::run_remote_here;
use quorumlab_sim::scenario;

/// Every invariant violation found must be one of those by design
/// ([`outside_the_fault_model`]): any other is a protocol bug.
///
/// How many scenarios the test draws (`QUORUMLAB_DETERMINISM_SCENARIOS` for more).
fn count() -> u64 {
    std::env::var("QUORUMLAB_DETERMINISM_SCENARIOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_SCENARIOS)
}

const DEFAULT_SCENARIOS: u64 = 2000;

/// The native run's trace hash, events, and whether a violation stopped it.
fn native(s: &quorumlab_sim::Scenario) -> (u64, u64, bool) {
    let mut e = quorumlab_sim::build(s, s.seed, 0).expect("a valid scenario builds");
    e.run_to_end();
    (e.trace_hash(), e.events(), e.violation().is_some())
}

/// Whether a scenario may break a protocol's promises by design: a seeded bug switched
/// on, or a node restarted with its disk lost (a timed `restart` without its disk, or the
/// nemesis's `restart_blank`), which no protocol here claims to survive.
fn outside_the_fault_model(s: &quorumlab_sim::Scenario) -> bool {
    let seeded_bug = s
        .protocol
        .params
        .as_object()
        .is_some_and(|o| o.iter().any(|(k, v)| k.starts_with("unsafe_") && v == true));
    let blank_restart = s
        .faults
        .iter()
        .any(|f| matches!(f.kind, scenario::FaultKind::Restart { disk: false, .. }))
        || s.nemesis
            .as_ref()
            .is_some_and(|n| n.faults.iter().any(|k| k == "restart_blank"));
    seeded_bug || blank_restart
}

#[test]
fn random_scenarios_are_valid_and_run_the_same_natively_and_through_the_worker_boundary() {
    let mut protocols = std::collections::BTreeMap::<String, u64>::new();
    let mut events = 0;
    let mut violations = 0;
    for seed in 0..count() {
        let s = arbitrary::scenario(seed);
        if let Err(errs) = s.validate() {
            panic!("seed {seed}: not valid: {}", scenario::describe(&errs));
        }
        // The scenario survives its own JSON (what a file or a share link carries).
        let back = scenario::load(&s.to_json()).expect("its JSON loads");
        assert_eq!(back, s, "seed {seed}: JSON round trip");
        let (a, ev, stopped) = native(&s);
        let (b, _, _) = native(&s);
        assert_eq!(a, b, "seed {seed}: two native runs differ\n{}", s.to_json());
        let mut unchecked = s.clone();
        unchecked.checks.invariants = false;
        let (u, _, _) = native(&unchecked);
        if stopped {
            violations += 1;
            assert!(
                outside_the_fault_model(&s),
                "seed {seed}: {} found with no seeded bug and no disk lost: a protocol bug?\n{}",
                quorumlab_sim::build(&s, s.seed, 0)
                    .map(|mut e| {
                        e.run_to_end();
                        format!("{:?}", e.violation())
                    })
                    .unwrap_or_default(),
                s.to_json()
            );
        } else {
            assert_eq!(
                u,
                a,
                "seed {seed}: checking invariants changed the run\n{}",
                s.to_json()
            );
        }
        let r = run_remote_here(&s, s.seed).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(
            r,
            u,
            "seed {seed}: the worker boundary gives another run\n{}",
            s.to_json()
        );
        *protocols.entry(s.protocol.name.clone()).or_default() += 1;
        events += ev;
    }
    eprintln!(
        "{} scenarios, {events} events, {violations} stopped by a violation: {protocols:?}",
        count()
    );
    // The generator reaches every protocol of the catalogue.
    assert_eq!(protocols.len(), quorumlab_sim::registry::names().len());
}

/// Found by the random scenarios (seed 9520): `add_node` on a crashed member booted it
/// with a blank disk, so a Basic Paxos acceptor forgot its promise and a chosen value
/// changed. A crashed node with a disk now restarts from it before asking to join.
#[test]
fn adding_back_a_crashed_member_keeps_its_disk() {
    let text = r#"{"version":1,"protocol":{"name":"paxos"},"nodes":3,
      "network":{"latency":{"base_ms":2.39,"jitter_ms":13.326},"loss":0.248,"client_latency_ms":3.966},
      "links":[{"from":0,"to":2,"latency":{"base_ms":40.696,"jitter_ms":15.075},"loss":0.028},
               {"from":0,"to":1,"both_ways":false}],
      "workload":{"clients":3,"rate":9.215,"mix":{"read":0.953,"write":0.482,"cas":0.0},
                  "keys":2,"timeout_ms":955,"retries":4,"start_ms":137},
      "faults":[{"at_ms":133,"type":"crash","node":2},{"at_ms":261,"type":"add_node","node":2},
                {"at_ms":50,"type":"cut","from":0,"to":2},{"at_ms":305,"type":"heal"},
                {"at_ms":701,"type":"pause","node":0,"duration_ms":208},
                {"at_ms":311,"type":"client","node":1,"op":{"f":"write","key":"k2","value":31}},
                {"at_ms":49,"type":"restart","node":0,"disk":true},
                {"at_ms":485,"type":"client","node":0,"op":{"f":"read","key":"k3"}}],
      "duration_ms":782,"seed":9520,"metrics_window_ms":500}"#;
    let s = scenario::load(text).expect("valid");
    let mut e = quorumlab_sim::build(&s, s.seed, 0).expect("builds");
    e.run_to_end();
    assert_eq!(e.violation(), None);
    assert!(
        e.log()
            .iter()
            .any(|l| format!("{l:?}").contains("node 2 restarts from its disk and asks to join")),
        "the log says what happened to node 2"
    );
}
