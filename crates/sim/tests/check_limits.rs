//! Verdicts you can trust: keys are independent (a bad key is found behind a hard
//! one), the keys left undecided are named, the memory cap counts everything, the
//! explanation is small and stays within the budget, and running out names the limit.
//! Behaviour only: step budgets and memory caps make "gives up" deterministic; speed
//! lives in `quorumlab bench`.

use quorumlab_sim::check::gen::{self, shapes, GenSpec};
use quorumlab_sim::check::{self, Checker, Decision, Limit, Model, Options, Verdict};
use quorumlab_sim::history::{EventType, Func, History, HistoryEvent, Value};

/// A key that the search cannot finish within the step budgets below: 40 clients, five
/// values, dozens of operations open at once.
fn hard_key(key: &str, seed: u64) -> History {
    let spec = GenSpec {
        model: Model::Register,
        clients: 40,
        ops: 4000,
        keys: 0,
        max_latency: 5000,
        max_think: 50,
        unknown_per_mille: 50,
    };
    gen::with_key(
        gen::squash_values(gen::linearizable_history(&spec, seed), 5),
        key,
    )
}

fn easy_key(key: &str, seed: u64) -> History {
    let spec = GenSpec {
        model: Model::Register,
        clients: 2,
        ops: 100,
        keys: 0,
        max_latency: 500,
        max_think: 500,
        unknown_per_mille: 50,
    };
    gen::with_key(gen::linearizable_history(&spec, seed), key)
}

#[test]
fn a_bad_key_behind_a_hard_one_is_found_and_named() {
    // The hard key sorts first; checked one key after another, the step budget runs
    // out on it before the bad key is looked at.
    let h = shapes::many_keys_one_bad(1);
    let mut opts = Options::new(Model::CasRegister);
    opts.max_steps = Some(3_000_000);
    let (v, _) = check::check_with(&h, None, &opts, &mut || false).unwrap();
    let Verdict::NotLinearizable(ex) = v else {
        panic!("expected not linearizable, got {v:?}")
    };
    assert_eq!(ex.key.as_deref(), Some("k9"), "{}", ex.text);
    assert_eq!(ex.ops.len(), 1, "{}", ex.text);
    assert!(ex.text.contains("no operation ever wrote"), "{}", ex.text);
}

#[test]
fn the_verdict_comes_before_the_explanation() {
    let h = shapes::many_keys_one_bad(1);
    let mut c = Checker::new(&h, None, &Options::new(Model::CasRegister)).unwrap();
    c.decide(&mut || false);
    assert_eq!(
        c.decision(),
        Decision::NotLinearizable {
            key: Some("k9".into())
        }
    );
}

#[test]
fn keys_left_undecided_are_listed_with_the_limit() {
    let h = gen::merge(&[
        hard_key("a", 1),
        easy_key("b", 2),
        hard_key("c", 3),
        easy_key("d", 4),
    ]);
    let mut opts = Options::new(Model::Register);
    opts.max_steps = Some(1_000_000);
    let (v, stats) = check::check_with(&h, None, &opts, &mut || false).unwrap();
    let Verdict::Unknown {
        key,
        why,
        limit,
        undecided,
    } = v
    else {
        panic!("expected unknown, got {v:?}")
    };
    assert_eq!(limit, Some(Limit::Steps));
    assert_eq!(
        undecided,
        vec![Some("a".to_string()), Some("c".to_string())]
    );
    assert_eq!(key.as_deref(), Some("a"));
    assert!(why.contains("the step budget ran out"), "{why}");
    assert!(why.contains("2 of 4 keys undecided: \"a\", \"c\""), "{why}");
    assert!(stats.steps <= 1_000_000);
}

#[test]
fn running_out_of_memory_gives_up_on_the_biggest_key_and_goes_on() {
    // Two hard keys and a bad one: with a small cap the hard keys are abandoned
    // (undecided) and the bad key still decides the verdict.
    let mut bad = easy_key("z", 5);
    gen::corrupt_read(&mut bad, None, 10).expect("a read to corrupt");
    let h = gen::merge(&[hard_key("a", 1), hard_key("b", 2), bad]);
    let mut opts = Options::new(Model::Register);
    opts.max_bytes = 4 << 20;
    let (v, _) = check::check_with(&h, None, &opts, &mut || false).unwrap();
    let Verdict::NotLinearizable(ex) = v else {
        panic!("expected not linearizable, got {v:?}")
    };
    assert_eq!(ex.key.as_deref(), Some("z"));
    // Without the bad key: unknown, for memory, naming both hard keys.
    let h = gen::merge(&[hard_key("a", 1), easy_key("m", 7), hard_key("b", 2)]);
    let (v, stats) = check::check_with(&h, None, &opts, &mut || false).unwrap();
    let Verdict::Unknown {
        limit, undecided, ..
    } = v
    else {
        panic!("expected unknown, got {v:?}")
    };
    assert_eq!(limit, Some(Limit::Memory));
    assert_eq!(
        undecided,
        vec![Some("a".to_string()), Some("b".to_string())]
    );
    // The cap holds: tables grow only when the grown table fits.
    assert!(stats.peak_bytes <= 4 << 20, "{}", stats.peak_bytes);
}

/// One client appending 1 KiB pieces to one key and reading it back each time: the
/// states are strings of 1, 2, … 300 KiB, 44 MiB in all.
fn long_strings() -> History {
    let mut h = History::default();
    let mut t = 0;
    let mut cur = String::new();
    let ev = |h: &mut History, kind, f, value: Value, t: u64| {
        h.push(HistoryEvent {
            process: 0,
            kind,
            f,
            key: Some("x".into()),
            value,
            time: t,
            index: None,
            term: None,
            gave_up: false,
        })
    };
    for i in 0..300 {
        let piece = format!("{i:04}").repeat(256);
        cur.push_str(&piece);
        ev(
            &mut h,
            EventType::Invoke,
            Func::Append,
            Value::Str(piece.clone()),
            t,
        );
        ev(
            &mut h,
            EventType::Ok,
            Func::Append,
            Value::Str(piece),
            t + 1,
        );
        ev(&mut h, EventType::Invoke, Func::Read, Value::Nil, t + 2);
        ev(
            &mut h,
            EventType::Ok,
            Func::Read,
            Value::Str(cur.clone()),
            t + 3,
        );
        t += 4;
    }
    h
}

#[test]
fn the_memory_cap_counts_the_model_strings() {
    let h = long_strings();
    let mut opts = Options::new(Model::Kv);
    opts.max_bytes = 16 << 20;
    let (v, _) = check::check_with(&h, None, &opts, &mut || false).unwrap();
    assert!(
        matches!(
            v,
            Verdict::Unknown {
                limit: Some(Limit::Memory),
                ..
            }
        ),
        "{v:?}"
    );
    // With room, it is linearizable, and the peak counts the strings.
    opts.max_bytes = 1 << 30;
    let (v, stats) = check::check_with(&h, None, &opts, &mut || false).unwrap();
    assert_eq!(v, Verdict::Linearizable);
    assert!(stats.peak_bytes > 40 << 20, "{}", stats.peak_bytes);
}

#[test]
fn the_explanation_is_small() {
    for (ops, seed) in [(20_000, 1), (50_000, 1), (20_000, 2)] {
        let h = shapes::large(ops, true, seed);
        let v = check::check(&h, Model::CasRegister, &mut || false).unwrap();
        let Verdict::NotLinearizable(ex) = v else {
            panic!("expected not linearizable, got {v:?}")
        };
        assert!(ex.ops.len() <= 4, "{} ops:\n{}", ex.ops.len(), ex.text);
        assert!(ex.minimal, "{}", ex.text);
        let stuck: Vec<_> = ex.ops.iter().filter(|o| o.stuck).collect();
        assert_eq!(stuck.len(), 1, "{}", ex.text);
        assert_eq!(stuck[0].f, Func::Read, "{}", ex.text);
        assert!(
            ex.text.contains("It should have returned a newer value"),
            "{}",
            ex.text
        );
    }
}

#[test]
fn the_explanation_of_a_stale_read_with_appends_is_small() {
    let spec = GenSpec {
        model: Model::Kv,
        clients: 50,
        ops: 4000,
        keys: 8,
        max_latency: 3000,
        max_think: 500,
        unknown_per_mille: 10,
    };
    for pick in [3, 1000] {
        let mut h = gen::linearizable_history(&spec, 1);
        gen::stale_kv_read(&mut h, pick).expect("a read to make stale");
        let v = check::check(&h, Model::Kv, &mut || false).unwrap();
        let Verdict::NotLinearizable(ex) = v else {
            panic!("expected not linearizable, got {v:?}")
        };
        assert!(ex.ops.len() <= 6, "{} ops:\n{}", ex.ops.len(), ex.text);
        assert!(ex.minimal, "{}", ex.text);
        let stuck: Vec<_> = ex.ops.iter().filter(|o| o.stuck).collect();
        assert_eq!(stuck.len(), 1, "{}", ex.text);
    }
}

#[test]
fn the_explanation_stays_within_the_budget() {
    let h = shapes::large(20_000, true, 1);
    let mut c = Checker::new(&h, None, &Options::new(Model::CasRegister)).unwrap();
    c.decide(&mut || false);
    let decided = c.stats().steps;
    // The time is up once the verdict is known: no more shrinking, beyond a few tiny
    // searches that keep the explanation small.
    let (v, stats) = c.finish(&mut || true);
    let Verdict::NotLinearizable(ex) = v else {
        panic!("expected not linearizable, got {v:?}")
    };
    assert!(stats.steps == decided, "{} > {decided}", stats.steps);
    assert!(ex.ops.len() <= 4, "{} ops:\n{}", ex.ops.len(), ex.text);
    assert!(!ex.minimal || ex.ops.len() <= 4);
}

#[test]
fn many_clients_on_few_keys_are_decided() {
    // 100 clients on 3 keys, each writing values of its own: decided outright.
    let h = shapes::many_clients_few_keys(3000, 1);
    let mut opts = Options::new(Model::CasRegister);
    opts.max_steps = Some(2_000_000);
    let (v, _) = check::check_with(&h, None, &opts, &mut || false).unwrap();
    assert_eq!(v, Verdict::Linearizable);
}

#[test]
fn the_model_is_detected_from_the_history() {
    let spec = |model| GenSpec {
        model,
        clients: 3,
        ops: 50,
        keys: 2,
        max_latency: 100,
        max_think: 100,
        unknown_per_mille: 0,
    };
    assert_eq!(
        Model::infer(&gen::linearizable_history(&spec(Model::CasRegister), 1)),
        Model::CasRegister
    );
    assert_eq!(
        Model::infer(&gen::linearizable_history(&spec(Model::Kv), 1)),
        Model::Kv
    );
}

#[test]
fn many_clients_on_few_keys_with_repeating_values_are_decided() {
    // 100 clients on 3 keys writing five values: of writes of the same value that
    // could go next, only the one that must return first is tried.
    let h = shapes::many_clients_few_keys_squashed(3000, 1);
    let mut opts = Options::new(Model::Register);
    opts.max_steps = Some(20_000_000);
    let (v, _) = check::check_with(&h, None, &opts, &mut || false).unwrap();
    assert_eq!(v, Verdict::Linearizable);
}
