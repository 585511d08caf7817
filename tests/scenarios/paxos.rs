//! Paxos presets teach what they say: each lesson is checked from the run itself
//! (the nodes' views at chosen moments), and the presets and the seeded bugs hold up
//! under seed exploration.

use quorumlab_core::{NodeView, MS};
use quorumlab_sim::run::Check;
use quorumlab_sim::scenario::Scenario;
use quorumlab_sim::Engine;
use quorumlab_tests::{presets, root, run};

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

fn leader(views: &[Option<NodeView>]) -> Option<(usize, NodeView)> {
    views
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.as_ref().map(|v| (i, v.clone())))
        .filter(|(_, v)| v.is_leader_kind())
        .max_by_key(|(_, v)| v.term)
}

fn note<'a>(v: &'a NodeView, label: &str) -> Option<&'a str> {
    v.field(label)
}

/// The value in a slot as a log entry shows it, without the "(accepted in ...)" suffix.
fn value_at(v: &NodeView, slot: u64) -> Option<String> {
    v.entries().iter().find(|e| e.index == slot).map(|e| {
        e.what
            .split(" (accepted in")
            .next()
            .unwrap_or("")
            .to_string()
    })
}

fn passed(name: &str, s: &Scenario) {
    let sum = run(s, s.seed);
    assert!(
        sum.ok,
        "{name}: {:?} {:?} {:?}",
        sum.invariants.violation, sum.convergence, sum.linearizable
    );
    assert_eq!(
        sum.linearizable,
        Check::Passed,
        "{name}: the history was checked"
    );
    assert_eq!(sum.convergence, Check::Passed, "{name}: converged");
}

#[test]
fn leader_crash_between_accept_and_commit() {
    let s = preset("multi-paxos-leader-crash.json");
    passed("leader-crash", &s);
    let mut e = engine(&s);
    let before = views_at(&mut e, 1500);
    let (old, ov) = leader(&before).expect("a leader before the crash");
    assert_eq!(old, 2, "the preset crashes the leader");
    let open: Vec<u64> = note(&ov, "in phase 2")
        .expect("the leader has slots in phase 2 when it crashes")
        .split(", ")
        .map(|x| x.parse().expect("slot"))
        .collect();
    let values: Vec<String> = open
        .iter()
        .map(|&s| value_at(&ov, s).expect("the leader accepted its own proposal"))
        .collect();
    // Step until another node leads: right after its phase 1.
    let (new, nv) = loop {
        assert!(e.step(), "a new leader before the end");
        if let Some((i, v)) = leader(&e.views()) {
            if i != old {
                break (i, v);
            }
        }
    };
    assert!(
        nv.term > ov.term,
        "node {new} took over with a higher ballot"
    );
    for (slot, v) in open.iter().zip(&values) {
        assert_eq!(
            value_at(&nv, *slot).as_ref(),
            Some(v),
            "slot {slot}: the new leader proposes the value the old one left in phase 2"
        );
    }
}

/// The nodes the run's faults were aimed at, in order (from the log's "... aimed at
/// ...: node N" lines).
fn aimed(e: &dyn quorumlab_sim::Engine) -> Vec<usize> {
    e.log()
        .iter()
        .filter(|l| l.what.contains(" aimed at "))
        .filter_map(|l| l.what.rsplit(' ').next()?.parse().ok())
        .collect()
}

#[test]
fn minority_leader_chooses_nothing_and_the_majority_carries_on() {
    let s = preset("multi-paxos-minority-partition.json");
    passed("minority-partition", &s);
    let mut e = engine(&s);
    let at_split = views_at(&mut e, 1500);
    let (old, ov) = leader(&at_split).expect("a leader");
    let end = views_at(&mut e, 4500);
    let cut = aimed(e.as_ref());
    assert_eq!(cut.len(), 2);
    assert_eq!(cut[0], old, "the preset cuts off the leader");
    let minority = end[old].as_ref().expect("up");
    assert_ne!(
        minority.role.label, "leader",
        "the old leader stepped down (check-quorum)"
    );
    for &i in &cut {
        let v = end[i].as_ref().expect("up");
        assert!(
            v.commit_index() <= ov.commit_index() + 1,
            "node {i}: nothing is chosen on the minority side ({} then {})",
            ov.commit_index(),
            v.commit_index()
        );
    }
    let (l, lv) = leader(&end).expect("the majority has a leader");
    assert!(!cut.contains(&l), "the leader is on the majority side");
    assert!(lv.term > ov.term);
    assert!(
        lv.commit_index() > ov.commit_index() + 5,
        "the majority kept choosing"
    );
}

#[test]
fn majority_keeps_choosing_and_higher_ballots_take_over_after_the_heal() {
    let s = preset("multi-paxos-majority-partition.json");
    passed("majority-partition", &s);
    let mut e = engine(&s);
    let at_split = views_at(&mut e, 1500);
    let (l, lv) = leader(&at_split).expect("a leader");
    let healed = views_at(&mut e, 4500);
    let cut = aimed(e.as_ref());
    assert_eq!(cut.len(), 2);
    assert!(!cut.contains(&l), "the leader is on the majority side");
    let still = healed[l].as_ref().expect("up");
    assert_eq!(still.role.label, "leader", "the leader kept leading");
    assert!(
        still.commit_index() > lv.commit_index() + 5,
        "the majority kept choosing"
    );
    for &i in &cut {
        let v = healed[i].as_ref().expect("up");
        assert!(
            v.term > lv.term + 3,
            "node {i}: its ballots climbed ({})",
            v.term
        );
    }
    e.run_to_end();
    let (_, end) = leader(&e.views()).expect("a leader at the end");
    assert!(
        end.term > lv.term,
        "a higher ballot took over after the heal"
    );
}

#[test]
fn restarted_acceptors_keep_their_promises_and_catch_up() {
    let s = preset("multi-paxos-acceptor-restart.json");
    passed("acceptor-restart", &s);
    let mut e = engine(&s);
    let before = views_at(&mut e, 1500);
    let b0 = before[0].as_ref().expect("up").clone();
    let promised = note(&b0, "promised").expect("promise shown").to_string();
    assert_ne!(promised, "none");
    // Right after the restart (boot, nothing received yet).
    let mut after = views_at(&mut e, 3500);
    while after[0].is_none() {
        assert!(e.step());
        after = e.views();
    }
    let a0 = after[0].as_ref().expect("up");
    assert_eq!(
        note(a0, "promised"),
        Some(promised.as_str()),
        "the promise survived the crash"
    );
    assert!(
        a0.entries().iter().any(|x| x.what.contains("(accepted in")) || a0.snapshot_index() > 0
    );
    e.run_to_end();
    let views = e.views();
    let (_, lv) = leader(&views).expect("a leader");
    let v0 = views[0].as_ref().expect("up");
    assert_eq!(v0.commit_index(), lv.commit_index(), "node 0 caught up");
    assert!(
        v0.snapshot_index() > b0.snapshot_index(),
        "it caught up past slots the leader had truncated"
    );
}

#[test]
fn the_nemesis_preset_passes_with_bounded_logs() {
    let s = preset("multi-paxos-nemesis.json");
    passed("nemesis", &s);
    let mut e = engine(&s);
    e.run_to_end();
    for (i, v) in e.views().iter().enumerate() {
        let v = v.as_ref().expect("up at the end");
        assert!(
            v.commit_index() > 150,
            "node {i}: {} slots chosen",
            v.commit_index()
        );
        assert!(v.snapshot_index() > 0, "node {i} truncated its log");
        // Truncation every 64 applied slots, plus what is still in phase 2.
        assert!(
            v.entries().len() <= 64 + 16,
            "node {i} holds {} slots",
            v.entries().len()
        );
    }
}

fn seeds() -> u64 {
    std::env::var("QUORUMLAB_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

#[test]
fn multi_paxos_presets_survive_the_nemesis() {
    for (name, mut s) in presets() {
        if s.protocol.name != "multi-paxos" {
            continue;
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

fn bug_hunt() -> Scenario {
    let path = root().join("tests/data/multi-paxos-bug-hunt.json");
    let text = std::fs::read_to_string(path).expect("readable");
    quorumlab_sim::scenario::load(&text).expect("valid")
}

#[test]
fn the_bug_hunt_setting_is_safe_for_correct_multi_paxos() {
    let s = bug_hunt();
    for seed in 0..seeds() * 2 {
        let sum = run(&s, seed);
        assert!(
            sum.ok,
            "seed {seed}: {:?} {:?}",
            sum.invariants.violation, sum.convergence
        );
    }
}

/// Explore `s` with `param` switched on, stopping at the first failing seed.
fn find_bug(param: &str, s: &Scenario, max_seeds: u64) -> Option<(u64, String)> {
    let mut s = s.clone();
    let mut params = s.protocol.params.as_object().cloned().unwrap_or_default();
    params.insert(param.into(), serde_json::json!(true));
    s.protocol.params = serde_json::Value::Object(params);
    (0..max_seeds).find_map(|seed| {
        let sum = run(&s, seed);
        (!sum.ok).then(|| {
            let why = match sum.invariants.violation {
                Some(v) => format!("{}: {}", v.invariant, v.detail),
                None => format!("{:?} {:?}", sum.convergence, sum.linearizable),
            };
            (seed, why)
        })
    })
}

/// Each seeded bug is caught, both in the hostile bug-hunt setting and by exploring
/// the nemesis preset (what `quorumlab explore scenarios/multi-paxos-nemesis.json
/// --seeds 1000 --nemesis` does with the bug switched on).
#[test]
fn multi_paxos_seeded_bugs_are_found() {
    let hunt = bug_hunt();
    let nemesis = preset("multi-paxos-nemesis.json");
    for bug in [
        "unsafe_ignore_promised_values",
        "unsafe_skip_promise_check",
        "unsafe_forget_promise",
    ] {
        for (setting, s) in [("bug hunt", &hunt), ("nemesis preset", &nemesis)] {
            let found = find_bug(bug, s, 1000);
            let (seed, why) =
                found.unwrap_or_else(|| panic!("{bug}: no violation in the {setting}"));
            eprintln!("{bug} ({setting}): seed {seed}: {why}");
        }
    }
}

// ---- Basic Paxos -------------------------------------------------------------------

fn with_param(s: &Scenario, param: &str, value: serde_json::Value) -> Scenario {
    let mut s = s.clone();
    let mut params = s.protocol.params.as_object().cloned().unwrap_or_default();
    params.insert(param.into(), value);
    s.protocol.params = serde_json::Value::Object(params);
    s
}

#[test]
fn dueling_proposers_livelock_without_backoff_and_decide_with_it() {
    let s = preset("paxos-dueling-proposers.json");
    let sum = run(&s, s.seed);
    assert!(
        sum.ok,
        "{:?} {:?}",
        sum.invariants.violation, sum.linearizable
    );
    assert_eq!(sum.linearizable, Check::Passed);
    // As shipped (no back-off): x is never decided, and the ballots climbed far.
    let mut e = engine(&s);
    e.run_to_end();
    for (i, v) in e.views().iter().enumerate() {
        let v = v.as_ref().expect("up");
        assert!(
            !v.kv().contains_key("x"),
            "node {i} learned x: {:?}",
            v.kv()
        );
        assert!(v.term > 100, "node {i}: only {} rounds", v.term);
        assert!(
            v.kv().contains_key("k0") || v.kv().contains_key("k1") || v.kv().contains_key("k2"),
            "node {i}: uncontended keys are decided"
        );
    }
    // With the random back-off: decided within 200 ms of the duel's start, the same
    // value everywhere, in a few rounds.
    let mut fixed = with_param(&s, "backoff", serde_json::json!(true));
    // The preset's lesson is the livelock; with back-off it no longer applies.
    fixed.expect.clear();
    assert!(run(&fixed, fixed.seed).ok);
    let mut e = engine(&fixed);
    let views = views_at(&mut e, 500);
    let x: Vec<i64> = views
        .iter()
        .filter_map(|v| v.as_ref()?.kv().get("x")?.int())
        .collect();
    assert_eq!(x.len(), 5, "every node learned x by 0.5 s: {x:?}");
    assert!(x.iter().all(|v| *v == x[0]) && [1001, 1002, 1003].contains(&x[0]));
    assert!(views.iter().flatten().all(|v| v.term < 10));
    let h = e.history();
    let writes_ok = h
        .events
        .iter()
        .filter(|ev| {
            ev.kind == quorumlab_sim::history::EventType::Ok
                && ev.key.as_deref() == Some("x")
                && ev.f == quorumlab_sim::history::Func::Write
        })
        .count();
    assert_eq!(writes_ok, 1, "exactly one of the three writes succeeded");
}

fn basic_bug_hunt() -> Scenario {
    let path = root().join("tests/data/paxos-bug-hunt.json");
    let text = std::fs::read_to_string(path).expect("readable");
    quorumlab_sim::scenario::load(&text).expect("valid")
}

#[test]
fn basic_paxos_survives_the_nemesis_and_the_bug_hunt() {
    let duel = preset("paxos-dueling-proposers.json");
    let mut duel = with_param(&duel, "backoff", serde_json::json!(true));
    duel.force_nemesis();
    let hunt = basic_bug_hunt();
    for (name, s) in [("dueling proposers", &duel), ("bug hunt", &hunt)] {
        for seed in 0..seeds() {
            let sum = run(s, seed);
            assert!(
                sum.ok,
                "{name} seed {seed}: {:?} {:?}",
                sum.invariants.violation, sum.linearizable
            );
        }
    }
}

#[test]
fn basic_paxos_seeded_bugs_are_found() {
    let hunt = basic_bug_hunt();
    let mut duel = preset("paxos-dueling-proposers.json");
    duel.force_nemesis();
    for bug in [
        "unsafe_ignore_promised_values",
        "unsafe_skip_promise_check",
        "unsafe_forget_promise",
    ] {
        for (setting, s) in [("bug hunt", &hunt), ("dueling preset, nemesis", &duel)] {
            let found = find_bug(bug, s, 1000);
            let (seed, why) =
                found.unwrap_or_else(|| panic!("{bug}: no violation in the {setting}"));
            eprintln!("paxos {bug} ({setting}): seed {seed}: {why}");
        }
    }
}
