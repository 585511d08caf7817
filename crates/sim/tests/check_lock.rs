//! The checker's second data type, a lock with fencing tokens, and the register family
//! run through its sequential specification (the generic path) agreeing with its
//! compiled codes.

use quorumlab_sim::check::{self, gen, Model, Options, Verdict};
use quorumlab_sim::history::{EventType, Func, History, HistoryEvent, Value};

/// `lines`: "process type f token time [key]", f `acq` or `rel`, token `_` for none.
fn h(lines: &str) -> History {
    let mut out = History::default();
    for l in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let t: Vec<&str> = l.split_whitespace().collect();
        out.push(HistoryEvent {
            process: t[0].parse().unwrap(),
            kind: match t[1] {
                "invoke" => EventType::Invoke,
                "ok" => EventType::Ok,
                "fail" => EventType::Fail,
                _ => EventType::Info,
            },
            f: if t[2] == "acq" {
                Func::Acquire
            } else {
                Func::Release
            },
            key: t.get(5).map(|k| k.to_string()),
            value: t[3].parse().map(Value::Int).unwrap_or(Value::Nil),
            time: t[4].parse().unwrap(),
            index: None,
            term: None,
            gave_up: false,
        });
    }
    out
}

fn verdict(lines: &str) -> Verdict {
    let hist = h(lines);
    assert_eq!(Model::infer(&hist), Model::Lock);
    check::check(&hist, Model::Lock, &mut || false).expect("a valid lock history")
}

#[test]
fn one_holder_at_a_time_is_linearizable() {
    // 1 holds [0, 30]; 2 asks while 1 holds and is granted once 1 has released.
    let v = verdict(
        "1 invoke acq _ 0
         1 ok acq 1 10
         2 invoke acq _ 15
         1 invoke rel _ 20
         1 ok rel _ 30
         2 ok acq 2 40
         2 invoke rel _ 50
         2 ok rel _ 60
         1 invoke acq _ 70
         1 ok acq 3 80",
    );
    assert_eq!(v, Verdict::Linearizable);
    // A refused acquire did not happen; a release of unknown outcome may have freed it.
    let v = verdict(
        "1 invoke acq _ 0
         1 ok acq 1 10
         2 invoke acq _ 11
         2 fail acq _ 12
         1 invoke rel _ 20
         1 info rel _ 30
         2 invoke acq _ 40
         2 ok acq 5 50",
    );
    assert_eq!(v, Verdict::Linearizable);
    // Concurrent acquires: either may go first, as long as the tokens follow.
    let v = verdict(
        "1 invoke acq _ 0
         2 invoke acq _ 1
         2 ok acq 1 10
         2 invoke rel _ 11
         2 ok rel _ 12
         1 ok acq 2 20",
    );
    assert_eq!(v, Verdict::Linearizable);
}

#[test]
fn a_double_holding_history_is_caught_and_explained() {
    // 1 holds from 10 and releases only at 50; 2 is granted the lock in [20, 30].
    let v = verdict(
        "1 invoke acq _ 0
         1 ok acq 1 10
         2 invoke acq _ 20
         2 ok acq 2 30
         1 invoke rel _ 40
         1 ok rel _ 50",
    );
    let Verdict::NotLinearizable(ex) = v else {
        panic!("two holders at once: {v:?}")
    };
    assert_eq!(ex.model, Model::Lock);
    assert_eq!(ex.ops.len(), 2, "{}", ex.text);
    assert!(ex.text.contains("two holders at once"), "{}", ex.text);
    let stuck: Vec<_> = ex.ops.iter().filter(|o| o.stuck).collect();
    assert_eq!((stuck[0].process, &stuck[0].value), (2, &Value::Int(2)));
    assert!(ex.text.contains("acquire → token 1"), "{}", ex.text);
    // The same holder acquiring again (not re-entrant).
    let v = verdict(
        "1 invoke acq _ 0
         1 ok acq 1 10
         1 invoke acq _ 20
         1 ok acq 2 30",
    );
    assert!(matches!(v, Verdict::NotLinearizable(_)), "{v:?}");
    // A release by a process that does not hold it.
    let v = verdict(
        "1 invoke acq _ 0
         1 ok acq 1 10
         2 invoke rel _ 20
         2 ok rel _ 30",
    );
    assert!(matches!(v, Verdict::NotLinearizable(_)), "{v:?}");
}

#[test]
fn a_fencing_token_that_goes_back_is_caught() {
    let v = verdict(
        "1 invoke acq _ 0
         1 ok acq 7 10
         1 invoke rel _ 20
         1 ok rel _ 30
         2 invoke acq _ 40
         2 ok acq 7 50",
    );
    let Verdict::NotLinearizable(ex) = v else {
        panic!("token 7 twice: {v:?}")
    };
    assert_eq!(ex.ops.len(), 3, "{}", ex.text);
    assert!(ex.text.contains("fencing tokens must grow"), "{}", ex.text);
    // Growing tokens with gaps are fine.
    let v = verdict(
        "1 invoke acq _ 0
         1 ok acq 7 10
         1 invoke rel _ 20
         1 ok rel _ 30
         2 invoke acq _ 40
         2 ok acq 9 50",
    );
    assert_eq!(v, Verdict::Linearizable);
}

#[test]
fn locks_are_checked_per_key() {
    // Two locks, each held by one process: fine; the same lock: not.
    let two = "1 invoke acq _ 0 a
               1 ok acq 1 10 a
               2 invoke acq _ 20 b
               2 ok acq 1 30 b";
    assert_eq!(verdict(two), Verdict::Linearizable);
    let one = two.replace(" b", " a");
    let Verdict::NotLinearizable(ex) = verdict(&one) else {
        panic!("one lock, two holders")
    };
    assert_eq!(ex.key.as_deref(), Some("a"));
}

/// A lock history of the wrong data type (and a register history read as a lock) gets
/// a message naming the line and the field.
#[test]
fn operations_of_the_wrong_data_type_name_the_field() {
    let acquire = "{\"process\":1,\"type\":\"invoke\",\"f\":\"acquire\",\"time\":0}\n\
                   {\"process\":1,\"type\":\"ok\",\"f\":\"acquire\",\"value\":1,\"time\":5}\n";
    let p = check::parse_jsonl(acquire).expect("parses");
    assert_eq!(Model::infer(&p.history), Model::Lock);
    let (v, _) = check::check_parsed(&p, &Options::new(Model::Lock), &mut || false).unwrap();
    assert_eq!(v, Verdict::Linearizable);
    for m in [Model::Register, Model::CasRegister, Model::Kv] {
        let e = check::check_parsed(&p, &Options::new(m), &mut || false).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("field \"f\""), "{e}");
        assert!(e.message.contains("--model lock"), "{e}");
    }
    let read = "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"time\":0}\n";
    let p = check::parse_jsonl(read).unwrap();
    let e = check::check_parsed(&p, &Options::new(Model::Lock), &mut || false).unwrap_err();
    assert!(e.message.contains("field \"f\""), "{e}");
    assert!(
        e.message.contains("not an operation of the lock model"),
        "{e}"
    );
    // An acquire granted with something that is no token, a release returning
    // something.
    for (text, line, needle) in [
        (
            "{\"process\":1,\"type\":\"invoke\",\"f\":\"acquire\",\"time\":0}\n\
             {\"process\":1,\"type\":\"ok\",\"f\":\"acquire\",\"value\":\"t1\",\"time\":5}\n",
            2,
            "fencing token",
        ),
        (
            "{\"process\":1,\"type\":\"invoke\",\"f\":\"release\",\"value\":\"x\",\"time\":0}\n",
            1,
            "carries no value",
        ),
    ] {
        let p = check::parse_jsonl(text).unwrap();
        let e = check::check_parsed(&p, &Options::new(Model::Lock), &mut || false).unwrap_err();
        assert_eq!(e.line, line, "{e}");
        assert!(e.message.contains("field \"value\""), "{e}");
        assert!(e.message.contains(needle), "{e}");
    }
    // An unknown function lists the lock's too.
    let p = check::parse_jsonl("{\"process\":1,\"type\":\"invoke\",\"f\":\"lock\",\"time\":0}\n")
        .unwrap_err();
    assert!(p.message.contains("acquire or release"), "{p}");
}

fn gen_spec(model: Model, clients: u64, ops: usize, keys: u32, unknown: u32) -> gen::GenSpec {
    gen::GenSpec {
        model,
        clients,
        ops,
        keys,
        max_latency: 3000,
        max_think: 500,
        unknown_per_mille: unknown,
    }
}

#[test]
fn generated_lock_histories_check_and_a_stolen_lock_does_not() {
    let (mut mutated, mut caught) = (0, 0);
    for seed in 0..40 {
        let hist = gen::linearizable_history(&gen_spec(Model::Lock, 6, 300, 2, 50), seed);
        assert!(hist
            .events
            .iter()
            .any(|e| e.f == Func::Acquire && e.kind == EventType::Ok));
        let v = check::check(&hist, Model::Lock, &mut || false).unwrap();
        assert_eq!(v, Verdict::Linearizable, "seed {seed}");
        // Turn the first refused acquire into a granted one, with a token above every
        // other: it took a lock someone else held (the refusal said so).
        let mut bad = hist.clone();
        let Some(i) = bad
            .events
            .iter()
            .position(|e| e.f == Func::Acquire && e.kind == EventType::Fail)
        else {
            continue;
        };
        let key = bad.events[i].key.clone();
        // Only a refusal while the lock was held by someone else all the way through
        // is a sure violation; the checker says which.
        bad.events[i].kind = EventType::Ok;
        bad.events[i].value = Value::Int(1_000_000);
        let v = check::check(&bad, Model::Lock, &mut || false).unwrap();
        mutated += 1;
        if let Verdict::NotLinearizable(ex) = v {
            assert_eq!(ex.key, key);
            caught += 1;
        }
    }
    eprintln!("{caught} of {mutated} stolen locks caught");
    assert!(
        mutated >= 30 && caught * 2 >= mutated,
        "{caught} of {mutated}"
    );
}

/// The register family through its sequential specification (no pruning, states
/// numbered by the generic table) gives the compiled search's verdicts.
#[test]
fn the_generic_register_spec_agrees_with_the_compiled_one() {
    let mut disagree = Vec::new();
    let mut seen = [0usize; 2];
    for model in [Model::Register, Model::CasRegister, Model::Kv] {
        for seed in 0..30u64 {
            let mut hist = gen::linearizable_history(&gen_spec(model, 5, 60, 2, 100), seed);
            if seed % 2 == 1 {
                // Corrupt one completed read: usually not linearizable any more.
                if let Some(e) = hist
                    .events
                    .iter_mut()
                    .filter(|e| e.f == Func::Read && e.kind == EventType::Ok)
                    .nth(seed as usize % 7)
                {
                    e.value = match model {
                        Model::Kv => Value::Str(format!("[{seed}]")),
                        _ => Value::Int(seed as i64 % 5),
                    };
                }
            }
            let run = |generic: bool| {
                let mut o = Options::new(model);
                o.generic = generic;
                check::check_with(&hist, None, &o, &mut || false)
                    .unwrap()
                    .0
                    .is_linearizable()
            };
            let (fast, generic) = (run(false), run(true));
            seen[usize::from(fast)] += 1;
            if fast != generic {
                disagree.push((model, seed, fast));
            }
        }
    }
    assert!(disagree.is_empty(), "{disagree:?}");
    assert!(
        seen[0] > 5 && seen[1] > 5,
        "both verdicts exercised: {seen:?}"
    );
}

/// A lock that issues no fencing tokens (Redlock) grants with `null`: the history is
/// still checked for mutual exclusion, and says nothing of tokens.
#[test]
fn a_lock_without_tokens_is_checked_for_mutual_exclusion_only() {
    let line = |p: u64, kind: &str, f: &str, t: u64| {
        format!(
            "{{\"process\":{p},\"type\":\"{kind}\",\"f\":\"{f}\",\"key\":\"lock\",\"time\":{t}}}\n"
        )
    };
    let one_after_another = [
        line(1, "invoke", "acquire", 0),
        line(1, "ok", "acquire", 5),
        line(1, "invoke", "release", 10),
        line(1, "ok", "release", 10),
        line(2, "invoke", "acquire", 12),
        line(2, "ok", "acquire", 15),
    ]
    .concat();
    let p = check::parse_jsonl(&one_after_another).unwrap();
    let (v, _) = check::check_parsed(&p, &Options::new(Model::Lock), &mut || false).unwrap();
    assert_eq!(v, check::Verdict::Linearizable);
    let at_once = [
        line(1, "invoke", "acquire", 0),
        line(1, "ok", "acquire", 5),
        line(2, "invoke", "acquire", 12),
        line(2, "ok", "acquire", 15),
        line(1, "invoke", "release", 20),
        line(1, "ok", "release", 20),
    ]
    .concat();
    let p = check::parse_jsonl(&at_once).unwrap();
    let (v, _) = check::check_parsed(&p, &Options::new(Model::Lock), &mut || false).unwrap();
    assert_ne!(v, check::Verdict::Linearizable, "two holders at once");
}

/// A read from a store with version vectors may return siblings: a register holds one
/// value, so such a read can never be placed, and the verdict says why; the key-value
/// map's model refuses the line, naming the field.
#[test]
fn a_read_returning_siblings_is_never_a_registers() {
    let text = "{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"x\",\"value\":1,\"time\":0}\n\
                {\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"key\":\"x\",\"value\":1,\"time\":5}\n\
                {\"process\":2,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"x\",\"value\":2,\"time\":1}\n\
                {\"process\":2,\"type\":\"ok\",\"f\":\"write\",\"key\":\"x\",\"value\":2,\"time\":6}\n\
                {\"process\":3,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"time\":10}\n\
                {\"process\":3,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":{\"siblings\":[1,2]},\"time\":12}\n";
    let p = check::parse_jsonl(text).unwrap();
    let (v, _) = check::check_parsed(&p, &Options::new(Model::Register), &mut || false).unwrap();
    assert_ne!(v, check::Verdict::Linearizable);
    let e = check::check_parsed(&p, &Options::new(Model::Kv), &mut || false).unwrap_err();
    assert!(
        e.message.contains("siblings") || e.message.contains("strings"),
        "{e}"
    );
}
