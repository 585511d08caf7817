//! The quorum store's presets teach what they say, each lesson checked from the run
//! (anomalies, the history, the nodes' views), its invariants can fail (seeded bugs),
//! and the strict settings keep them under the nemesis.

use quorumlab_core::{NodeView, MS};
use quorumlab_sim::history::{EventType, Func, Value};
use quorumlab_sim::registry;
use quorumlab_sim::scenario::Scenario;
use quorumlab_sim::Engine;
use quorumlab_tests::{root, run};
use std::collections::BTreeMap;

fn preset(name: &str) -> Scenario {
    let text = std::fs::read_to_string(root().join("scenarios").join(name)).expect("readable");
    quorumlab_sim::scenario::load(&text).expect("valid")
}

fn with_param(s: &Scenario, param: &str, value: serde_json::Value) -> Scenario {
    let mut s = s.clone();
    let mut params = s.protocol.params.as_object().cloned().unwrap_or_default();
    params.insert(param.into(), value);
    s.protocol.params = serde_json::Value::Object(params);
    s
}

fn variant(s: &Scenario, id: &str) -> Scenario {
    let e = registry::entry("quorum-kv").expect("in the catalogue");
    let v = e
        .listing
        .compare
        .iter()
        .find(|v| v.id == id)
        .expect("a variant");
    v.apply(s).expect("applies")
}

fn ended(s: &Scenario, seed: u64) -> Box<dyn Engine> {
    let mut e = quorumlab_sim::build(s, seed, 0).expect("builds");
    e.run_to_end();
    e
}

fn stale_reads(s: &Scenario, seed: u64) -> u64 {
    quorumlab_sim::run::anomalies(ended(s, seed).as_ref()).stale_reads
}

/// Operations invoked in `[from, to)` ms: (answered ok, all that completed).
fn answered(e: &dyn Engine, from: u64, to: u64) -> (u64, u64) {
    let mut open = BTreeMap::new();
    let (mut ok, mut all) = (0, 0);
    for ev in &e.history().events {
        if ev.kind == EventType::Invoke {
            open.insert(ev.process, ev.time);
        } else if let Some(t) = open.remove(&ev.process) {
            if t >= from * MS && t < to * MS {
                all += 1;
                ok += (ev.kind == EventType::Ok) as u64;
            }
        }
    }
    (ok, all)
}

/// What the console's read of `key` returned (`None`: nil), the first one.
fn console_read(e: &dyn Engine, key: &str) -> Option<Option<i64>> {
    let h = e.history();
    let mut reading = None;
    for ev in &h.events {
        if ev.f == Func::Read && ev.key.as_deref() == Some(key) {
            match ev.kind {
                EventType::Invoke => reading = Some(ev.process),
                EventType::Ok if reading == Some(ev.process) => {
                    return Some(match ev.value {
                        Value::Int(v) => Some(v),
                        _ => None,
                    })
                }
                _ => {}
            }
        }
    }
    None
}

/// Each node's versions, from its view: key -> (value and stamp, preference list).
fn versions(v: &NodeView) -> BTreeMap<String, (String, Vec<u32>)> {
    v.fields
        .iter()
        .filter_map(|(k, x)| {
            let (key, pref) = k.split_once(" @")?;
            let pref = pref.split(',').filter_map(|n| n.parse().ok()).collect();
            Some((key.to_string(), (x.clone(), pref)))
        })
        .collect()
}

/// For every key some node holds, whether all of its preference list hold the same
/// version; the keys where they differ.
fn diverged(views: &[Option<NodeView>]) -> Vec<String> {
    let per: Vec<BTreeMap<String, (String, Vec<u32>)>> = views
        .iter()
        .map(|v| v.as_ref().map(versions).unwrap_or_default())
        .collect();
    let mut keys: Vec<&String> = per.iter().flat_map(|m| m.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| {
            let pref = per
                .iter()
                .find_map(|m| m.get(*k).map(|x| x.1.clone()))
                .unwrap_or_default();
            let held: Vec<Option<&String>> = pref
                .iter()
                .map(|n| per[*n as usize].get(*k).map(|x| &x.0))
                .collect();
            held.windows(2).any(|w| w[0] != w[1])
        })
        .cloned()
        .collect()
}

#[test]
fn r1w1_reads_are_stale_and_strict_quorums_are_not() {
    let s = preset("quorum-r1w1-stale.json");
    let e = ended(&s, s.seed);
    assert_eq!(
        console_read(e.as_ref(), "x"),
        Some(None),
        "node 0 answered nil"
    );
    assert!(stale_reads(&s, s.seed) >= 1);
    let strict = variant(&s, "Strict");
    for seed in 0..20 {
        assert_eq!(stale_reads(&strict, seed), 0, "strict, seed {seed}");
    }
}

#[test]
fn a_partition_costs_strict_quorums_availability_and_sloppy_ones_consistency() {
    let strict = preset("quorum-strict-partition.json");
    let sloppy = preset("quorum-sloppy-partition.json");
    let (mut strict_ok, mut sloppy_ok) = ((0, 0), (0, 0));
    for seed in 0..20 {
        let a = ended(&strict, seed);
        let b = ended(&sloppy, seed);
        let (x, y) = (
            answered(a.as_ref(), 1500, 4000),
            answered(b.as_ref(), 1500, 4000),
        );
        strict_ok = (strict_ok.0 + x.0, strict_ok.1 + x.1);
        sloppy_ok = (sloppy_ok.0 + y.0, sloppy_ok.1 + y.1);
        assert_eq!(stale_reads(&strict, seed), 0, "strict, seed {seed}");
        assert!(stale_reads(&sloppy, seed) >= 1, "sloppy, seed {seed}");
        // The strict console write found one replica of x and ended unknown; the
        // sloppy one was acknowledged and the read on the other side missed it.
        assert_eq!(console_read(b.as_ref(), "x"), Some(None), "seed {seed}");
        // After the heal every hint was handed back and its owners hold it.
        let views = b.views();
        for v in views.iter().flatten() {
            assert_eq!(v.field("hints"), Some("0"), "seed {seed}: {:?}", v.fields);
        }
        let x_holders = views
            .iter()
            .flatten()
            .filter(|v| {
                versions(v)
                    .get("x")
                    .is_some_and(|h| h.0.starts_with("100 "))
            })
            .count();
        assert_eq!(x_holders, 3, "seed {seed}: x=100 on its three replicas");
    }
    let frac = |(ok, all): (u64, u64)| ok as f64 / all as f64;
    assert!(
        frac(strict_ok) < 0.9 && frac(sloppy_ok) > 0.98,
        "strict {strict_ok:?}, sloppy {sloppy_ok:?}"
    );
}

#[test]
fn last_writer_wins_with_a_slow_clock_loses_the_newer_write() {
    let s = preset("quorum-lww-clock-skew.json");
    let e = ended(&s, s.seed);
    assert_eq!(
        console_read(e.as_ref(), "x"),
        Some(Some(100)),
        "200 was lost"
    );
    let a = quorumlab_sim::run::anomalies(e.as_ref());
    assert!(
        a.list.iter().any(|x| x.detail.starts_with("write x=200")),
        "the lost update is listed: {:?}",
        a.list
    );
    // The same without the clock fault: the newer write wins.
    let mut fair = s.clone();
    fair.faults
        .retain(|f| !matches!(f.kind, quorumlab_sim::scenario::FaultKind::Clock { .. }));
    for seed in 0..10 {
        let e = ended(&fair, seed);
        assert_eq!(
            console_read(e.as_ref(), "x"),
            Some(Some(200)),
            "seed {seed}"
        );
        assert_eq!(stale_reads(&fair, seed), 0, "seed {seed}");
        let a = quorumlab_sim::run::anomalies(e.as_ref());
        assert_eq!(a.lost_writes, 0, "seed {seed}: {:?}", a.list);
    }
}

#[test]
fn anti_entropy_brings_every_replica_to_the_same_version() {
    let s = preset("quorum-anti-entropy.json");
    let off = with_param(&s, "anti_entropy_ms", serde_json::json!(0));
    let mut behind = 0;
    for seed in 0..20 {
        let e = ended(&s, seed);
        let d = diverged(&e.views());
        assert!(d.is_empty(), "seed {seed}: {d:?} differ");
        let keys = e
            .views()
            .iter()
            .flatten()
            .map(|v| v.field("anti-entropy").unwrap_or("").to_string())
            .collect::<Vec<_>>();
        assert!(
            keys.iter().any(|k| !k.ends_with(" 0 keys exchanged")),
            "seed {seed}: {keys:?}"
        );
        behind += !diverged(&ended(&off, seed).views()).is_empty() as u32;
    }
    assert_eq!(behind, 20, "without anti-entropy node 4 stays behind");
}

#[test]
fn the_invariants_catch_their_seeded_bugs() {
    // Replicas acknowledging without storing break the strict-quorum promise.
    let s = with_param(
        &preset("quorum-strict-partition.json"),
        "unsafe_ack_unstored",
        serde_json::json!(true),
    );
    let v = run(&s, s.seed).invariants.violation.expect("caught");
    assert!(v.invariant.starts_with("strict quorum"), "{v:?}");
    // Hints dropped when offered, before their owner stored them.
    let s = with_param(
        &preset("quorum-sloppy-partition.json"),
        "unsafe_drop_hints",
        serde_json::json!(true),
    );
    let v = run(&s, s.seed).invariants.violation.expect("caught");
    assert!(v.invariant.starts_with("hinted handoff"), "{v:?}");
}

fn seeds() -> u64 {
    std::env::var("QUORUMLAB_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

/// Under the nemesis (partitions, crashes, pauses, lost and delayed messages) no
/// invariant breaks and, with anti-entropy, the replicas converge, whatever the
/// anomalies.
#[test]
fn every_preset_keeps_its_invariants_under_the_nemesis() {
    for name in [
        "quorum-strict-partition.json",
        "quorum-sloppy-partition.json",
        "quorum-anti-entropy.json",
        "quorum-join.json",
        "quorum-vector-siblings.json",
    ] {
        let mut s = preset(name);
        s.force_nemesis();
        for seed in 0..seeds() {
            let sum = run(&s, seed);
            assert!(
                sum.invariants.violation.is_none() && !sum.convergence.failed(),
                "{name} seed {seed}: {:?} {:?}\nreproduce: quorumlab run scenarios/{name} --seed {seed} --nemesis",
                sum.invariants.violation,
                sum.convergence
            );
        }
    }
}

/// From each node's "last membership change" line, summed: key replicas sent, keys
/// held, owners changed on the ring, keys it sent for, owners changed with hash mod N.
fn moved_figures(views: &[Option<NodeView>]) -> [u64; 5] {
    let mut out = [0; 5];
    for v in views.iter().flatten() {
        let Some(line) = v.field("last membership change") else {
            continue;
        };
        let nums: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|x| x.parse().ok())
            .collect();
        for (o, x) in out.iter_mut().zip(nums) {
            *o += x;
        }
    }
    out
}

/// A join moves about 1/N of the data (to the new node only), where hash mod N
/// placement would give most keys a new owner; afterwards the new node holds its keys
/// and every member agrees on the membership.
#[test]
fn a_join_moves_about_one_nth_of_the_data() {
    let s = preset("quorum-join.json");
    for seed in 0..10 {
        let e = ended(&s, seed);
        let views = e.views();
        let [sent, held, by_ring, owned, by_mod] = moved_figures(&views);
        // Each key is held by n = 3 nodes before the join: `held` counts replicas.
        let frac = sent as f64 / held as f64;
        assert!(
            frac > 0.08 && frac < 0.3,
            "seed {seed}: {sent} of {held} key replicas moved ({frac:.2})"
        );
        let (ring, modn) = (by_ring as f64 / owned as f64, by_mod as f64 / owned as f64);
        assert!(
            ring < 0.3 && modn > 0.7,
            "seed {seed}: owners changed for {by_ring} (ring) and {by_mod} (mod N) of {owned} keys"
        );
        for v in views.iter().flatten() {
            assert_eq!(v.term, 1, "seed {seed}: membership epoch");
            assert_eq!(v.members, vec![0, 1, 2, 3, 4, 5], "seed {seed}");
        }
        let new_keys: usize = views[5].as_ref().map(|v| versions(v).len()).unwrap_or(0);
        assert!(new_keys > 10, "seed {seed}: node 5 holds {new_keys} keys");
        if seed == 0 {
            println!("MEASURE join: {sent} of {held} key replicas moved; owners changed {by_ring} (ring) vs {by_mod} (hash mod N) of {owned} keys");
        }
    }
}

/// Removing a node moves its ranges to the others (nothing acknowledged is lost: reads
/// stay fresh), and removing the last node is refused.
#[test]
fn a_removal_hands_its_ranges_on_and_the_last_node_cannot_go() {
    let mut s = preset("quorum-join.json");
    s.faults = vec![quorumlab_sim::scenario::Fault {
        at_ms: 3000,
        kind: quorumlab_sim::scenario::FaultKind::RemoveNode { node: 1 },
    }];
    s.expect.clear();
    for seed in 0..10 {
        let e = ended(&s, seed);
        let views = e.views();
        assert_eq!(stale_reads(&s, seed), 0, "seed {seed}");
        let [sent, held, ..] = moved_figures(&views);
        assert!(sent > 0 && sent < held, "seed {seed}: {sent} of {held}");
        for (i, v) in views.iter().enumerate() {
            if let (Some(v), true) = (v, i != 1 && i != 5) {
                assert_eq!(v.members, vec![0, 2, 3, 4], "seed {seed} node {i}");
            }
        }
    }
    use quorumlab_core::quorum::{QuorumKv, QuorumParams};
    use quorumlab_core::{Ctx, MembershipChange, Protocol, Rng};
    let mut q = QuorumKv::boot(0, &[0], &QuorumParams::default(), None);
    let (mut rng, mut fx) = (Rng::new(1), Vec::new());
    let mut cx = Ctx::new(0, 0, &mut rng, &mut fx);
    let err = q
        .change_membership(&mut cx, MembershipChange::Remove { node: 0 })
        .unwrap_err();
    assert!(err.contains("last node"), "{err}");
}

/// The convergence rule of the quorum store (with anti-entropy, every version held at
/// the settle point reaches every replica of its key by the end) holds for the preset
/// and fails when anti-entropy is on but too slow to run before the end.
#[test]
fn replicas_converge_with_anti_entropy_and_the_check_can_fail() {
    let s = preset("quorum-anti-entropy.json");
    for seed in 0..20 {
        let sum = run(&s, seed);
        assert!(
            !sum.convergence.failed(),
            "seed {seed}: {:?}",
            sum.convergence
        );
    }
    let slow = with_param(&s, "anti_entropy_ms", serde_json::json!(60_000));
    let sum = run(&slow, s.seed);
    assert!(sum.convergence.failed(), "{:?}", sum.convergence);
}

/// Bad settings are refused with a message naming the field.
#[test]
fn bad_settings_name_their_field() {
    let load = |params: serde_json::Value, nodes: u32| {
        let text = serde_json::json!({
            "version": 1,
            "protocol": {"name": "quorum-kv", "params": params},
            "nodes": nodes,
            "duration_ms": 1000
        })
        .to_string();
        match quorumlab_sim::scenario::load(&text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => quorumlab_sim::scenario::describe(&e),
        }
    };
    let m = load(serde_json::json!({"r": 4}), 5);
    assert!(
        m.starts_with("protocol.params.r: 4 must be from 1 to n (3)"),
        "{m}"
    );
    let m = load(serde_json::json!({"w": 5, "n": 4}), 5);
    assert!(m.starts_with("protocol.params.w: "), "{m}");
    let m = load(serde_json::json!({"n": 5}), 3);
    assert!(
        m.contains("protocol.params.n") && m.contains("3 nodes"),
        "{m}"
    );
    let m = load(serde_json::json!({"vnodes": 1000}), 5);
    assert!(m.starts_with("protocol.params.vnodes: "), "{m}");
    let m = load(serde_json::json!({"conflicts": "crdt"}), 5);
    assert!(m.starts_with("protocol.params.conflicts: "), "{m}");
    // A client operation the store cannot serve is named too.
    let text = serde_json::json!({
        "version": 1,
        "protocol": {"name": "quorum-kv"},
        "nodes": 3,
        "workload": {"clients": 1, "mix": {"cas": 1.0}},
        "duration_ms": 1000
    })
    .to_string();
    let m = quorumlab_sim::scenario::describe(&quorumlab_sim::scenario::load(&text).unwrap_err());
    assert!(m.contains("workload.mix.cas"), "{m}");
}

/// With version vectors the clock-skew preset loses nothing: both console writes of x
/// are siblings on every replica of x, and the lost write of the last-writer-wins run
/// is gone. The console's read of x returns both siblings to the client; with
/// last-writer-wins no read ever returns siblings.
#[test]
fn version_vectors_keep_both_writes_as_siblings() {
    let s = preset("quorum-vector-siblings.json");
    for seed in 0..20 {
        let e = ended(&s, seed);
        let a = quorumlab_sim::run::anomalies(e.as_ref());
        assert_eq!(a.lost_writes, 0, "seed {seed}: {:?}", a.list);
        assert!(a.sibling_reads >= 1, "seed {seed}");
        let read = e.history().events.iter().find(|ev| {
            ev.f == Func::Read && ev.kind == EventType::Ok && ev.key.as_deref() == Some("x")
        });
        assert_eq!(
            read.map(|ev| ev.value.clone()),
            Some(Value::Siblings {
                siblings: vec![100, 200]
            }),
            "seed {seed}: the console's read of x returns both writes"
        );
        let views = e.views();
        for node in [4, 0, 1] {
            let v = views[node].as_ref().expect("up");
            let sib = v.field("x siblings").unwrap_or_default();
            assert!(
                sib.starts_with("200 ") && sib.contains("| 100 "),
                "seed {seed}, node {node}: {sib:?}"
            );
        }
    }
    // The same faults with last-writer-wins lose x = 200.
    let lww = with_param(&s, "conflicts", serde_json::json!("lww"));
    let e = ended(&lww, s.seed);
    let a = quorumlab_sim::run::anomalies(e.as_ref());
    assert!(a.lost_writes >= 1);
    assert_eq!(a.sibling_reads, 0, "last-writer-wins keeps one value");
}
