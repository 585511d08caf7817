//! The client-side resilience patterns (`workload.client`, `workload.rate_limit`): each
//! preset's lesson checked from the run against the same seed without the pattern.

use quorumlab_sim::metrics::WindowReport;
use quorumlab_sim::scenario::{self, Scenario};
use quorumlab_tests::{root, run};

fn preset(name: &str) -> Scenario {
    let text = std::fs::read_to_string(root().join(format!("scenarios/{name}.json")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    scenario::load(&text).unwrap_or_else(|e| panic!("{name}: {}", scenario::describe(&e)))
}

fn totals(s: &Scenario, seed: u64) -> (WindowReport, quorumlab_sim::Summary) {
    let sum = run(s, seed);
    (sum.totals.clone(), sum)
}

fn without_patterns(s: &Scenario) -> Scenario {
    let mut s = s.clone();
    if let Some(w) = s.workload.as_mut() {
        w.client = None;
    }
    s
}

/// A load balancer that does not follow redirects sends most attempts to followers:
/// several attempts per operation, where leader-aware clients need about one.
#[test]
fn a_round_robin_balancer_costs_attempts_a_leader_aware_client_does_not() {
    let s = preset("client-load-balancer");
    let plain = without_patterns(&s);
    for seed in 0..20 {
        let (lb, sum) = totals(&s, seed);
        let (la, _) = totals(&plain, seed);
        assert!(sum.ok, "seed {seed}: {:?}", sum.expectations);
        let per = |t: &WindowReport| t.attempts as f64 / t.invoked.max(1) as f64;
        assert!(
            per(&lb) > 2.5 * per(&la),
            "seed {seed}: {} vs {}",
            per(&lb),
            per(&la)
        );
        assert!(per(&la) < 1.2, "seed {seed}: {}", per(&la));
    }
}

/// With a node down for good, a circuit breaker per client (or the balancer's health
/// checks) stops sending to it: at least half fewer attempts time out, and more
/// operations succeed, on every seed.
#[test]
fn a_breaker_or_health_checks_halve_the_timeouts_on_a_dead_node() {
    let s = preset("client-circuit-breaker");
    let mut bare = s.clone();
    bare.workload
        .as_mut()
        .unwrap()
        .client
        .as_mut()
        .unwrap()
        .breaker = None;
    let mut ejecting = bare.clone();
    {
        let c = ejecting.workload.as_mut().unwrap().client.as_mut().unwrap();
        c.eject_after = 2;
        c.eject_ms = 1000;
    }
    for seed in 0..20 {
        let (with, sum) = totals(&s, seed);
        let (without, _) = totals(&bare, seed);
        let (eject, _) = totals(&ejecting, seed);
        assert!(sum.ok, "seed {seed}: {:?}", sum.expectations);
        let rate = |t: &WindowReport| t.timeouts as f64 / t.attempts.max(1) as f64;
        assert!(without.timeouts > 0, "seed {seed}");
        assert!(
            rate(&with) * 2.0 <= rate(&without),
            "seed {seed}: {} vs {}",
            rate(&with),
            rate(&without)
        );
        assert!(
            rate(&eject) * 2.0 <= rate(&without),
            "seed {seed}: eject {}",
            rate(&eject)
        );
        assert!(with.ok > without.ok && eject.ok > without.ok, "seed {seed}");
    }
}

/// Without a majority, reads that cannot be served are answered from the client's
/// cache and counted as degraded, only while the cluster is down; the history (which
/// records them as not done) stays linearizable; without `degrade` there are none.
#[test]
fn degraded_reads_happen_only_in_the_outage_and_are_not_judged() {
    let s = preset("client-degraded-reads");
    let mut plain = s.clone();
    plain
        .workload
        .as_mut()
        .unwrap()
        .client
        .as_mut()
        .unwrap()
        .degrade = false;
    let mut seen = 0;
    for seed in 0..20 {
        let sum = run(&s, seed);
        assert!(
            sum.ok,
            "seed {seed}: {:?} {:?}",
            sum.expectations, sum.linearizable
        );
        for w in &sum.windows {
            if w.degraded > 0 {
                // Windows of 500 ms; the majority is gone from 1.5 s to 3.5 s (and a
                // breaker may stay open a cool-down longer).
                assert!(
                    (1_000..4_500).contains(&w.start_ms),
                    "seed {seed}: degraded at {} ms",
                    w.start_ms
                );
            }
        }
        seen += sum.totals.degraded;
        assert_eq!(run(&plain, seed).totals.degraded, 0);
    }
    assert!(seen >= 20, "{seen} degraded reads over 20 seeds");
}

/// A rate limit turns attempts away at once: every node admits at most its rate (plus
/// its burst), and without the limit nothing is turned away.
#[test]
fn a_rate_limit_admits_at_most_its_rate() {
    let s = preset("client-rate-limit");
    let mut plain = s.clone();
    plain.workload.as_mut().unwrap().rate_limit = None;
    let r = s.workload.as_ref().unwrap().rate_limit.clone().unwrap();
    for seed in 0..20 {
        let sum = run(&s, seed);
        assert!(sum.ok, "seed {seed}: {:?}", sum.expectations);
        let t = &sum.totals;
        assert!(t.rejected > 0, "seed {seed}");
        let secs = s.duration_ms as f64 / 1000.0;
        let bound = s.n() as f64 * (r.rate * secs + r.burst as f64);
        assert!(
            ((t.attempts - t.rejected) as f64) <= bound,
            "seed {seed}: {} admitted",
            t.attempts - t.rejected
        );
        assert_eq!(run(&plain, seed).totals.rejected, 0);
    }
}

/// Raft has no split brain, and the analysis must not invent one: on this seed a deposed
/// leader that does not know it yet answers a client's retry from its session table
/// after the new leader began taking writes. The write was accepted when it first
/// arrived, so the old leader's serving span ends there (the classifier once dated it by
/// the retry and reported two leaders taking writes for 73 ms).
#[test]
fn a_retry_answered_from_the_session_table_is_not_a_second_brain() {
    let mut s = preset("client-rate-limit");
    s.force_nemesis();
    let sum = run(&s, 2129);
    assert_eq!(sum.anomalies.split_brains, 0, "{:?}", sum.anomalies);
    assert_eq!(sum.anomalies.lost_writes, 0);
}
