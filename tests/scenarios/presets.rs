//! Every preset runs, keeps its promises, and is deterministic: the same seed gives the
//! same trace, a different seed a different one, and the trace survives the share link.

use quorumlab_sim::run::Check;
use quorumlab_sim::url;
use quorumlab_tests::{presets, run};

/// Presets that exist to show a failure, and the check that must fail.
fn expected_failure(name: &str) -> Option<&'static str> {
    match name {
        "raft-lease-clock-skew.json" => Some("linearizable"),
        _ => None,
    }
}

#[test]
fn every_preset_runs_and_passes_its_checks() {
    let all = presets();
    assert!(all.len() >= 10, "the gallery has its presets");
    for (name, s) in &all {
        let sum = run(s, s.seed);
        assert!(sum.events > 100, "{name}: only {} events", sum.events);
        assert!(
            sum.invariants.violation.is_none(),
            "{name}: {:?}",
            sum.invariants.violation
        );
        match expected_failure(name) {
            Some("linearizable") => {
                assert!(
                    sum.linearizable.failed(),
                    "{name}: the stale read must be caught: {:?}",
                    sum.linearizable
                )
            }
            _ => {
                assert!(!sum.linearizable.failed(), "{name}: {:?}", sum.linearizable);
                assert!(!sum.convergence.failed(), "{name}: {:?}", sum.convergence);
                if s.workload.is_some()
                    && matches!(s.protocol.name.as_str(), "raft" | "multi-paxos" | "paxos")
                {
                    assert_eq!(
                        sum.linearizable,
                        Check::Passed,
                        "{name}: the history was checked"
                    );
                }
            }
        }
    }
}

#[test]
fn same_seed_same_trace_and_the_link_keeps_it() {
    for (name, s) in presets() {
        let a = run(&s, s.seed);
        let b = run(&s, s.seed);
        assert_eq!(a.trace_hash, b.trace_hash, "{name}");
        let c = run(&s, s.seed + 1);
        assert_ne!(
            a.trace_hash, c.trace_hash,
            "{name}: another seed, another run"
        );
        let back = url::decode(&url::encode(&s)).expect("round trip");
        assert_eq!(
            run(&back, s.seed).trace_hash,
            a.trace_hash,
            "{name}: through the share link"
        );
    }
}
