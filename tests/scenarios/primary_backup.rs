//! Primary-backup presets teach what they say: each lesson is checked from the run
//! itself (the checks' verdicts, the nodes' views at chosen moments, the history), and
//! the safe settings (sync, chain, fenced) hold up under the nemesis.

use quorumlab_core::{NodeView, MS};
use quorumlab_sim::history::{EventType, Func};
use quorumlab_sim::run::Check;
use quorumlab_sim::scenario::Scenario;
use quorumlab_sim::Engine;
use quorumlab_tests::{root, run};

fn preset(name: &str) -> Scenario {
    let text = std::fs::read_to_string(root().join("scenarios").join(name)).expect("readable");
    quorumlab_sim::scenario::load(&text).expect("valid")
}

fn engine(s: &Scenario) -> Box<dyn Engine> {
    quorumlab_sim::build(s, s.seed, 0).expect("builds")
}

/// The views at `ms` milliseconds (every event before it handled).
fn views_at(e: &mut Box<dyn Engine>, ms: u64) -> Vec<Option<NodeView>> {
    e.run_until(ms * MS - 1);
    e.views()
}

fn note<'a>(v: &'a NodeView, label: &str) -> Option<&'a str> {
    v.field(label)
}

fn up(views: &[Option<NodeView>], i: usize) -> &NodeView {
    views[i]
        .as_ref()
        .unwrap_or_else(|| panic!("node {i} is up"))
}

/// Nodes in the primary role (or head), with their epoch.
fn primaries(views: &[Option<NodeView>]) -> Vec<(usize, u64)> {
    views
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.as_ref().map(|v| (i, v)))
        .filter(|(_, v)| v.role.label == "primary" || v.role.label.starts_with("head"))
        .map(|(i, v)| (i, v.term))
        .collect()
}

fn passed(name: &str, s: &Scenario) {
    let sum = run(s, s.seed);
    assert!(
        sum.ok,
        "{name}: {:?} {:?} {:?}",
        sum.invariants.violation, sum.convergence, sum.linearizable
    );
    assert_eq!(sum.linearizable, Check::Passed, "{name}: checked");
}

/// Latencies (µs) of writes invoked in `[from, to)` ms that completed ok.
fn write_latencies(e: &dyn Engine, from: u64, to: u64) -> Vec<u64> {
    let mut open = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    for ev in &e.history().events {
        match ev.kind {
            EventType::Invoke if ev.f == Func::Write => {
                open.insert(ev.process, ev.time);
            }
            EventType::Ok if ev.f == Func::Write => {
                if let Some(t) = open.remove(&ev.process) {
                    if t >= from * MS && t < to * MS {
                        out.push(ev.time - t);
                    }
                }
            }
            _ => {
                if ev.kind != EventType::Invoke {
                    open.remove(&ev.process);
                }
            }
        }
    }
    out.sort_unstable();
    out
}

fn median(v: &[u64]) -> u64 {
    v.get(v.len() / 2).copied().unwrap_or(0)
}

#[test]
fn async_primary_crash_loses_acknowledged_writes() {
    let s = preset("pb-async-primary-crash.json");
    let sum = run(&s, s.seed);
    assert!(sum.invariants.violation.is_none(), "{:?}", sum.invariants);
    assert!(
        sum.linearizable.failed(),
        "the checker finds the lost write: {:?}",
        sum.linearizable
    );
    let mut e = engine(&s);
    let before = views_at(&mut e, 1500);
    let primary = up(&before, 1);
    assert_eq!(primary.role.label, "primary");
    let best_backup = (2..5)
        .map(|i| up(&before, i).applied_index())
        .max()
        .unwrap();
    assert!(
        primary.applied_index() > best_backup,
        "writes the primary acknowledged are on no backup when it crashes ({} > {best_backup})",
        primary.applied_index()
    );
    let after = views_at(&mut e, 2000);
    let p = primaries(&after);
    assert_eq!(p.len(), 1, "one new primary: {p:?}");
    assert!(p[0].1 > primary.term, "in a new epoch");
}

#[test]
fn sync_writes_wait_for_the_slow_backup() {
    let s = preset("pb-sync-slow-backup.json");
    passed("sync-slow-backup", &s);
    let mut e = engine(&s);
    e.run_to_end();
    let fast = median(&write_latencies(e.as_ref(), 500, 1400));
    let slow = median(&write_latencies(e.as_ref(), 1700, 3900));
    let again = median(&write_latencies(e.as_ref(), 4500, 6000));
    assert!(fast < 30 * MS, "writes are quick at first: {fast} µs");
    assert!(
        slow > 120 * MS,
        "every write waits for node 4's 120 ms round trip: {slow} µs"
    );
    assert!(again < 30 * MS, "and quick again after: {again} µs");
}

#[test]
fn semi_sync_falls_back_to_async_under_a_partition() {
    let s = preset("pb-semi-sync-fallback.json");
    passed("semi-sync-fallback", &s);
    let mut e = engine(&s);
    let before = views_at(&mut e, 1500);
    assert_eq!(note(up(&before, 1), "semi-sync"), None);
    let during = views_at(&mut e, 1800);
    let p = up(&during, 1);
    assert_eq!(
        note(p, "semi-sync"),
        Some("fell back to async"),
        "150 ms without acks: async"
    );
    let later = views_at(&mut e, 3000);
    let p = up(&later, 1);
    for i in 2..5 {
        assert!(
            up(&later, i).applied_index() < p.applied_index(),
            "node {i} lacks writes the primary acknowledged"
        );
    }
    e.run_to_end();
    let end = e.views();
    let p = up(&end, 1);
    assert_eq!(note(p, "semi-sync"), None, "semi-synchronous again");
    for i in 2..5 {
        assert_eq!(
            up(&end, i).applied_index(),
            p.applied_index(),
            "node {i} caught up"
        );
        assert_eq!(up(&end, i).role.label, "backup");
    }
}

#[test]
fn chain_splices_out_the_crashed_middle_and_takes_it_back_at_the_tail() {
    let s = preset("pb-chain-middle-crash.json");
    passed("chain-middle-crash", &s);
    let mut e = engine(&s);
    let chain = |v: &[Option<NodeView>]| note(up(v, 1), "chain").map(str::to_string);
    let before = views_at(&mut e, 1500);
    assert_eq!(chain(&before).as_deref(), Some("1 -> 2 -> 3 -> 4"));
    assert_eq!(up(&before, 4).role.label, "tail");
    let spliced = views_at(&mut e, 2000);
    assert_eq!(chain(&spliced).as_deref(), Some("1 -> 3 -> 4"));
    e.run_to_end();
    let end = e.views();
    assert_eq!(chain(&end).as_deref(), Some("1 -> 3 -> 4 -> 2"));
    let n2 = up(&end, 2);
    assert_eq!(n2.role.label, "tail", "node 2 rejoined at the tail");
    assert!(
        note(n2, "state transfer").is_some_and(|t| t.contains("from node 4")),
        "after a state transfer from the old tail: {:?}",
        n2.fields
    );
    for i in 2..5 {
        assert_eq!(
            up(&end, i).kv(),
            up(&end, 1).kv(),
            "node {i} holds the head's data"
        );
    }
}

#[test]
fn reads_from_a_lagging_replica_are_stale() {
    let s = preset("pb-stale-replica-reads.json");
    let sum = run(&s, s.seed);
    assert!(sum.invariants.violation.is_none());
    assert!(sum.linearizable.failed(), "{:?}", sum.linearizable);
    let mut e = engine(&s);
    let v = views_at(&mut e, 1060);
    assert_eq!(
        up(&v, 1).kv().get("x"),
        Some(&quorumlab_core::Val::Int(100)),
        "the primary has x = 100"
    );
    assert_eq!(up(&v, 4).kv().get("x"), None, "node 4 has not heard of it");
    let read = e
        .history()
        .events
        .iter()
        .find(|ev| ev.kind == EventType::Ok && ev.f == Func::Read && ev.key.as_deref() == Some("x"))
        .expect("the console read was answered")
        .clone();
    assert_eq!(
        read.value,
        quorumlab_sim::history::Value::Nil,
        "node 4 answered the old value"
    );
}

#[test]
fn without_fencing_two_primaries_serve_at_once() {
    let s = preset("pb-split-brain.json");
    let sum = run(&s, s.seed);
    assert!(sum.linearizable.failed(), "{:?}", sum.linearizable);
    let mut e = engine(&s);
    let v = views_at(&mut e, 2500);
    let p = primaries(&v);
    assert_eq!(p.len(), 2, "two primaries: {p:?}");
    assert!(
        p.contains(&(1, 1)),
        "node 1 still primary of epoch 1: {p:?}"
    );
    assert_eq!(
        note(up(&v, 1), "semi-sync"),
        Some("fell back to async"),
        "node 1 acknowledges writes alone"
    );
    let old = up(&v, 1).applied_index();
    e.run_to_end();
    let end = e.views();
    let p = primaries(&end);
    assert_eq!(p.len(), 1, "one primary after the heal: {p:?}");
    let n1 = up(&end, 1);
    assert_eq!(n1.role.label, "backup");
    assert!(
        note(n1, "state transfer").is_some(),
        "node 1 took the new primary's state (its {old} entries discarded)"
    );
}

#[test]
fn with_fencing_the_cut_off_primary_stops_before_its_successor_starts() {
    let s = preset("pb-split-brain-fenced.json");
    passed("split-brain-fenced", &s);
    let mut e = engine(&s);
    // Step until another node is primary; node 1's lease must have run out by then.
    e.run_until(1500 * MS);
    let (new, when) = loop {
        assert!(e.step(), "a new primary before the end");
        let v = e.views();
        if let Some((i, _)) = primaries(&v).into_iter().find(|(i, _)| *i != 1) {
            break (i, e.now());
        }
    };
    let v = e.views();
    let lease = note(up(&v, 1), "lease").expect("lease shown").to_string();
    let until: u64 = lease
        .strip_prefix("until ")
        .and_then(|x| x.strip_suffix(" ms"))
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("lease note: {lease}"));
    assert!(
        until * MS <= when,
        "node 1's lease ended at {until} ms, before node {new} became primary at {} µs",
        when
    );
}

#[test]
fn a_crashed_view_service_means_no_failover() {
    let s = preset("pb-view-service-crash.json");
    passed("view-service-crash", &s);
    let mut e = engine(&s);
    let before = views_at(&mut e, 2400);
    assert_eq!(
        primaries(&before),
        vec![(1, 1)],
        "node 1 serves without the view service"
    );
    for t in [3000, 4000, 5000] {
        let v = views_at(&mut e, t);
        assert!(primaries(&v).is_empty(), "no primary at {t} ms");
        let held: Vec<u64> = (2..5).map(|i| up(&v, i).applied_index()).collect();
        assert!(
            held[0] > 0 && held.iter().all(|h| *h == held[0]),
            "the backups hold the same writes: {held:?}"
        );
    }
    e.run_to_end();
    let late_ok = e
        .history()
        .events
        .iter()
        .filter(|ev| ev.kind == EventType::Ok && ev.time > 2700 * MS)
        .count();
    assert_eq!(late_ok, 0, "nothing is served after the primary's crash");
}

/// The contrast: with the view in a Raft group (nodes 0-2), the same two crashes leave
/// two view nodes, a majority, which commit a new view promoting a backup; writes
/// resume. Over many seeds, including those where the crashed view node led the group.
#[test]
fn a_view_kept_in_raft_survives_a_view_node_crash() {
    let s = preset("pb-view-raft-crash.json");
    passed("view-raft-crash", &s);
    let group_leader =
        |v: &NodeView| note(v, "view group").is_some_and(|g| g.starts_with("leader"));
    let mut led_by_crashed = 0;
    for seed in 0..40 {
        let mut s = s.clone();
        s.seed = seed;
        let mut e = engine(&s);
        let before = views_at(&mut e, 1490);
        assert_eq!(
            primaries(&before),
            vec![(3, 1)],
            "seed {seed}: node 3 is the first primary"
        );
        if before[0].as_ref().is_some_and(group_leader) {
            led_by_crashed += 1;
        }
        let after = views_at(&mut e, 4000);
        let p = primaries(&after);
        assert_eq!(p.len(), 1, "seed {seed}: one new primary: {p:?}");
        assert!(
            p[0].0 > 3 && p[0].1 >= 2,
            "seed {seed}: a backup in a new epoch: {p:?}"
        );
        for i in 1..3 {
            let v = up(&after, i);
            assert!(
                v.term >= 2
                    && note(v, "status").is_some_and(|s| s.contains("committed by the Raft group")),
                "seed {seed}: view node {i} learned the new view from Raft: {:?}",
                v.fields
            );
        }
        e.run_to_end();
        let late_ok = e
            .history()
            .events
            .iter()
            .filter(|ev| ev.kind == EventType::Ok && ev.f == Func::Write && ev.time > 3500 * MS)
            .count();
        assert!(
            late_ok >= 20,
            "seed {seed}: writes succeed after the failover ({late_ok})"
        );
        let sum = run(&s, seed);
        assert!(
            sum.ok,
            "seed {seed}: {:?} {:?}",
            sum.invariants.violation, sum.linearizable
        );
    }
    assert!(
        led_by_crashed >= 5,
        "the crashed node 0 led the view group in {led_by_crashed} of 40 seeds"
    );
}

/// A Raft view store needs its three view nodes and at least a primary and a backup;
/// the message names the field.
#[test]
fn a_raft_view_store_on_too_few_nodes_is_refused_by_name() {
    let mut s = preset("pb-view-raft-crash.json");
    s.nodes = quorumlab_sim::scenario::Nodes::Count(4);
    let text = serde_json::to_string(&s).expect("serialises");
    let err = quorumlab_sim::scenario::load(&text).expect_err("4 nodes are too few");
    let msg = format!("{err:?}");
    assert!(msg.contains("view_store"), "{msg}");
    assert!(msg.contains("at least 5 nodes"), "{msg}");
}

fn scenario(json: &str) -> Scenario {
    quorumlab_sim::scenario::load(json).expect("valid")
}

fn logged(e: &dyn Engine, what: &str) -> Option<u64> {
    e.log()
        .iter()
        .find(|l| l.what.contains(what))
        .map(|l| l.time / MS)
}

/// Manual failover, as operators do it: a switchover with fencing first lets the old
/// primary's lease run out (never two primaries), then the promoted backup leads a new
/// epoch with the old primary as its backup, and nothing acknowledged is lost.
/// Promoting a node that crashed a moment ago, crashing the view service in the middle
/// of a promotion, and promoting with no view service left end in the log and the
/// view service's status, never in a panic.
#[test]
fn an_operator_promotes_a_backup_and_impossible_promotions_are_logged() {
    let s = scenario(
        r#"{"version": 1, "name": "promote",
        "protocol": {"name": "primary-backup", "params": {"mode": "sync"}},
        "nodes": 5,
        "workload": {"clients": 4, "rate": 20, "keys": 2, "start_ms": 500, "attach": [1, 2, 3, 4]},
        "faults": [
            {"at_ms": 1500, "type": "promote", "node": 3},
            {"at_ms": 2500, "type": "crash", "node": 2},
            {"at_ms": 2510, "type": "promote", "node": 2},
            {"at_ms": 3400, "type": "promote", "node": 4},
            {"at_ms": 3450, "type": "crash", "node": 0},
            {"at_ms": 4000, "type": "promote", "node": 1}
        ],
        "duration_ms": 5000, "seed": 3}"#,
    );
    passed("promote", &s);
    let mut e = engine(&s);
    let waiting = views_at(&mut e, 1550);
    assert_eq!(
        primaries(&waiting),
        vec![(1, 1)],
        "with fencing the old primary keeps its role until its lease runs out"
    );
    assert_eq!(
        logged(&*e, "node 0 takes the request to promote node 3"),
        Some(1500)
    );
    let after = views_at(&mut e, 2000);
    assert_eq!(primaries(&after), vec![(3, 2)], "node 3 leads epoch 2");
    assert_eq!(
        up(&after, 1).role.label,
        "backup",
        "the old primary follows it"
    );
    let abandoned = (2510..2900).step_by(5).find(|t| {
        let v = views_at(&mut e, *t);
        note(up(&v, 0), "status")
            .is_some_and(|s| s.contains("promotion of node 2 abandoned: it is down"))
    });
    assert!(
        abandoned.is_some(),
        "the view service says it did not promote the crashed node"
    );
    let vs = views_at(&mut e, 3000);
    assert_eq!(
        primaries(&vs),
        vec![(3, 3)],
        "node 3 still leads (epoch 3 without node 2)"
    );
    let end = views_at(&mut e, 5000);
    assert_eq!(
        primaries(&end),
        vec![(3, 3)],
        "the view service crashed mid-promotion: nothing changed"
    );
    let gave_up = e
        .log()
        .iter()
        .find(|l| l.what.contains("the request to promote node 1 gave up"))
        .map(|l| l.what.clone())
        .unwrap_or_default();
    assert!(
        gave_up.contains("the view manager does"),
        "with the view service down nobody takes it: {gave_up}"
    );
}

/// With the view in a Raft group, the group's leader takes the promotion and commits it.
#[test]
fn a_raft_view_store_promotes_through_its_leader() {
    let mut s = preset("pb-view-raft-crash.json");
    s.faults = vec![
        serde_json::from_str(r#"{"at_ms": 1500, "type": "promote", "node": 5}"#)
            .expect("a promote fault"),
    ];
    s.expect.clear();
    passed("raft promote", &s);
    let mut e = engine(&s);
    let v = views_at(&mut e, 2500);
    assert_eq!(primaries(&v), vec![(5, 2)], "node 5 leads epoch 2");
    let taker = e
        .log()
        .iter()
        .find(|l| l.what.contains("takes the request to promote node 5"))
        .map(|l| l.what.clone())
        .unwrap_or_default();
    assert!(
        ["node 0", "node 1", "node 2"]
            .iter()
            .any(|n| taker.starts_with(n)),
        "a view node takes it: {taker}"
    );
}

/// When (ms) a node other than `old` first holds the primary role after `from` ms.
fn failover_at(s: &Scenario, old: usize, from: u64) -> Option<u64> {
    let mut e = engine(s);
    (from..from + 1000).step_by(2).find(|t| {
        let v = views_at(&mut e, *t);
        primaries(&v).iter().any(|(i, _)| *i != old)
    })
}

/// Failure detection is a parameter: the view manager's phi-accrual (the failure
/// detector module's) learns the pings' rhythm, and on a steady network declares the
/// crashed primary dead sooner than the fixed 120 ms timeout (with fencing never
/// before a lease can have run out); its status says phi did it, and the view service
/// shows each replica's suspicion as a gauge.
#[test]
fn phi_accrual_detects_the_crashed_primary_sooner_than_the_fixed_timeout() {
    let fixed = preset("pb-async-primary-crash.json");
    let phi = with_param(&fixed, "detector", serde_json::json!("phi-accrual"));
    let t_fixed = failover_at(&fixed, 1, 1500).expect("fixed timeout fails over");
    let t_phi = failover_at(&phi, 1, 1500).expect("phi-accrual fails over");
    assert!(
        t_phi + 20 < t_fixed,
        "phi-accrual at {t_phi} ms, fixed timeout at {t_fixed} ms"
    );
    assert!(
        t_phi >= 1500 + 80,
        "not before the lease ran out: {t_phi} ms"
    );
    let mut e = engine(&phi);
    let v = views_at(&mut e, t_phi + 50);
    let vs = up(&v, 0);
    let status = note(vs, "status").unwrap_or_default();
    assert!(status.contains("suspected: phi"), "{status}");
    assert!(
        vs.gauges.iter().any(|g| g.label == "phi" && !g.flagged),
        "live replicas' phi shown below the threshold: {:?}",
        vs.gauges
    );
    let sum = run(&phi, phi.seed);
    assert!(sum.invariants.violation.is_none(), "{:?}", sum.invariants);
}

/// The CAP panel's comparisons: the same seed, faults and workload as async
/// primary-backup, with sync replication and with Raft instead. Async loses an
/// acknowledged write; sync and Raft do not.
#[test]
fn the_cap_panel_compares_async_with_sync_and_raft() {
    let base = preset("pb-async-primary-crash.json");
    let listing = quorumlab_sim::registry::entries()
        .into_iter()
        .find(|e| e.name == "primary-backup")
        .expect("listed")
        .listing;
    let variant = |id: &str| {
        let v = listing
            .compare
            .iter()
            .find(|v| v.id == id)
            .unwrap_or_else(|| panic!("a {id} variant"));
        let s = v.apply(&base).expect("applies");
        s.validate().expect("valid");
        assert_eq!(s.faults, base.faults, "{id}: same faults");
        assert_eq!(s.seed, base.seed, "{id}: same seed");
        s
    };
    let sync = variant("Sync");
    let raft = variant("Raft");
    assert_eq!(raft.protocol.name, "raft");
    assert!(
        run(&base, base.seed).linearizable.failed(),
        "async loses a write"
    );
    for (name, s) in [("sync", &sync), ("raft", &raft)] {
        let sum = run(s, s.seed);
        assert_eq!(
            sum.linearizable,
            Check::Passed,
            "{name}: {:?}",
            sum.linearizable
        );
        assert!(sum.invariants.violation.is_none(), "{name}");
    }
}

/// The leader probe (`is_leader`, which the anomaly classifier and role-aimed faults
/// read) is true exactly while a node would accept writes as primary: a primary cut off
/// by a partition stops leading once its lease runs out with fencing, and, unfenced,
/// goes on leading (and accepting writes) until it hears of its successor.
#[test]
fn the_leader_probe_is_true_exactly_while_a_primary_accepts_writes() {
    for (name, role_late) in [
        ("pb-split-brain-fenced.json", "follower"),
        ("pb-split-brain.json", "leader"),
    ] {
        let mut s = preset(name);
        s.expect = vec![
            serde_json::from_value(serde_json::json!(
                {"type": "role", "node": 1, "role": "leader", "at_ms": 1450}
            ))
            .expect("an expectation"),
            serde_json::from_value(serde_json::json!(
                {"type": "role", "node": 1, "role": role_late, "at_ms": 1700}
            ))
            .expect("an expectation"),
            serde_json::from_value(serde_json::json!(
                {"type": "role", "node": 1, "role": role_late, "at_ms": 3900}
            ))
            .expect("an expectation"),
        ];
        let sum = run(&s, s.seed);
        for x in &sum.expectations {
            assert_eq!(
                x.status,
                quorumlab_sim::expect::ExpectStatus::Passed,
                "{name}: {} ({})",
                x.what,
                x.detail
            );
        }
        let mut e = engine(&s);
        let v = views_at(&mut e, 1700);
        assert_eq!(
            up(&v, 1).role.label,
            "primary",
            "{name}: node 1 still believes it is primary"
        );
    }
}

fn seeds() -> u64 {
    std::env::var("QUORUMLAB_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150)
}

fn with_param(s: &Scenario, param: &str, value: serde_json::Value) -> Scenario {
    let mut s = s.clone();
    let mut params = s.protocol.params.as_object().cloned().unwrap_or_default();
    params.insert(param.into(), value);
    s.protocol.params = serde_json::Value::Object(params);
    s
}

/// The safe settings keep every promise under the nemesis: no invariant violation,
/// linearizable histories, convergence. The fenced preset runs without its semi-sync
/// fallback here (waiting for all three backups, that is sync): the fallback is async
/// replication, which loses writes whatever the fencing (next test).
#[test]
fn sync_chain_and_fenced_presets_survive_the_nemesis() {
    for name in [
        "pb-sync-slow-backup.json",
        "pb-chain-middle-crash.json",
        "pb-split-brain-fenced.json",
    ] {
        let mut s = preset(name);
        if name == "pb-split-brain-fenced.json" {
            s = with_param(&s, "semi_sync_timeout_ms", serde_json::json!(0));
        }
        s.force_nemesis();
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

/// Async replication loses acknowledged writes under the nemesis too, and the checker
/// finds it within a few seeds; the invariants (which promise nothing for async) hold.
#[test]
fn async_loses_writes_under_the_nemesis() {
    let mut s = preset("pb-async-primary-crash.json");
    s.force_nemesis();
    let lost = (0..50).find(|seed| run(&s, *seed).linearizable.failed());
    assert!(lost.is_some(), "some seed loses an acknowledged write");
}

/// Fencing stops a deposed primary, not the semi-sync fallback: a primary that fell back
/// to async acknowledges writes no backup holds, and the nemesis finds one lost.
#[test]
fn the_semi_sync_fallback_loses_writes_even_with_fencing() {
    let mut s = preset("pb-split-brain-fenced.json");
    s.force_nemesis();
    let found = (0..1000).find(|seed| {
        let sum = run(&s, *seed);
        assert!(
            sum.invariants.violation.is_none(),
            "seed {seed}: {:?}",
            sum.invariants
        );
        sum.linearizable.failed()
    });
    assert!(found.is_some(), "a lost write within 1000 seeds");
}

/// The lesson of fencing, at a thousand seeds: the split-brain preset with fencing on
/// loses no acknowledged write and never has two primaries accepting writes, while the
/// same faults without fencing do both at every seed.
#[test]
fn with_fencing_no_acknowledged_write_is_lost_over_a_thousand_seeds() {
    let fenced = preset("pb-split-brain-fenced.json");
    let anomalies = |s: &Scenario, seed: u64| {
        let mut e = quorumlab_sim::build(s, seed, 0).expect("builds");
        e.run_to_end();
        quorumlab_sim::run::anomalies(e.as_ref())
    };
    let bad: Vec<(u64, String)> = std::thread::scope(|scope| {
        let parts: Vec<_> = (0..2u64)
            .map(|k| {
                let s = &fenced;
                scope.spawn(move || {
                    (k * 500..(k + 1) * 500)
                        .filter_map(|seed| {
                            let a = anomalies(s, seed);
                            (a.lost_writes + a.split_brains > 0).then(|| (seed, a.line()))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("no panic"))
            .collect()
    });
    assert!(bad.is_empty(), "fenced, yet: {bad:?}");
    let unfenced = preset("pb-split-brain.json");
    for seed in 0..20 {
        let a = anomalies(&unfenced, seed);
        assert!(
            a.lost_writes > 0 && a.split_brains > 0,
            "seed {seed}: {}",
            a.line()
        );
    }
}
