//! The linearizability checker on small hand-written histories: unknown outcomes,
//! parser errors with line numbers, explanations.

use quorumlab_sim::check::{self, Format, Model, Options, Verdict};
use quorumlab_sim::history::{EventType, Func, History, HistoryEvent, Value};

/// `lines`: "process type f value time [key]" with value `_` for null, `a,b` for a
/// cas pair, a number, or anything else as a string.
fn h(lines: &str) -> History {
    let mut out = History::default();
    for l in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let t: Vec<&str> = l.split_whitespace().collect();
        let kind = match t[1] {
            "invoke" => EventType::Invoke,
            "ok" => EventType::Ok,
            "fail" => EventType::Fail,
            _ => EventType::Info,
        };
        let f = match t[2] {
            "read" => Func::Read,
            "write" => Func::Write,
            "cas" => Func::Cas,
            _ => Func::Append,
        };
        let value = if t[3] == "_" {
            Value::Nil
        } else if let Some((a, b)) = t[3].split_once(',') {
            Value::Pair([a.parse().unwrap(), b.parse().unwrap()])
        } else if let Ok(n) = t[3].parse() {
            Value::Int(n)
        } else {
            Value::Str(t[3].to_string())
        };
        out.push(HistoryEvent {
            process: t[0].parse().unwrap(),
            kind,
            f,
            key: t.get(5).map(|k| k.to_string()),
            value,
            time: t[4].parse().unwrap(),
            index: None,
            term: None,
            gave_up: false,
        });
    }
    out
}

fn verdict(lines: &str, model: Model) -> Verdict {
    check::check(&h(lines), model, &mut || false).expect("valid history")
}

/// Whether the history is linearizable (the checker must decide).
fn linearizable(lines: &str, model: Model) -> bool {
    match verdict(lines, model) {
        Verdict::Linearizable => true,
        Verdict::NotLinearizable(_) => false,
        other => panic!("the checker did not decide: {other:?}"),
    }
}

#[test]
fn sequential_register() {
    assert!(linearizable(
        "0 invoke read _ 0
         0 ok read _ 1
         0 invoke write 1 2
         0 ok write 1 3
         0 invoke read _ 4
         0 ok read 1 5",
        Model::Register,
    ));
}

#[test]
fn info_write_that_must_have_happened() {
    // The write's outcome is unknown, but a later read saw its value: it happened.
    assert!(linearizable(
        "0 invoke write 1 0
         0 info write 1 10
         1 invoke read _ 20
         1 ok read 1 30",
        Model::Register,
    ));
    // Same, but the invoke never completed.
    assert!(linearizable(
        "0 invoke write 1 0
         1 invoke read _ 20
         1 ok read 1 30",
        Model::Register,
    ));
    // It may even take effect long after its info, between two reads.
    assert!(linearizable(
        "0 invoke write 1 0
         0 info write 1 10
         1 invoke read _ 20
         1 ok read _ 30
         1 invoke read _ 40
         1 ok read 1 50",
        Model::Register,
    ));
}

#[test]
fn info_write_that_must_not_have_happened() {
    // Reads before and after see null: the write of unknown outcome never happened.
    assert!(linearizable(
        "0 invoke write 1 0
         0 info write 1 10
         1 invoke read _ 20
         1 ok read _ 30",
        Model::Register,
    ));
    // A failed write did not happen, so reading its value is a violation.
    assert!(!linearizable(
        "0 invoke write 1 0
         0 fail write 1 10
         1 invoke read _ 20
         1 ok read 1 30",
        Model::Register,
    ));
    // An info write cannot take effect before its invoke.
    assert!(!linearizable(
        "1 invoke read _ 0
         1 ok read 1 5
         0 invoke write 1 10
         0 info write 1 20",
        Model::Register,
    ));
}

#[test]
fn unknown_reads_are_dropped_and_failed_cas_did_not_happen() {
    assert!(linearizable(
        "0 invoke read _ 0
         0 info read _ 10
         1 invoke cas 5,6 20
         1 fail cas 5,6 30
         2 invoke read _ 40
         2 ok read _ 50",
        Model::CasRegister,
    ));
}

#[test]
fn cas_register() {
    assert!(linearizable(
        "0 invoke write 1 0
         0 ok write 1 10
         1 invoke cas 1,2 20
         1 ok cas 1,2 30
         2 invoke read _ 40
         2 ok read 2 50",
        Model::CasRegister,
    ));
    let v = verdict(
        "0 invoke write 1 0
         0 ok write 1 10
         1 invoke cas 3,2 20
         1 ok cas 3,2 30",
        Model::CasRegister,
    );
    assert!(matches!(v, Verdict::NotLinearizable(_)));
}

#[test]
fn kv_with_appends_per_key() {
    assert!(linearizable(
        "0 invoke append a 0 x
         1 invoke append b 1 x
         0 ok append a 10 x
         1 ok append b 11 x
         2 invoke read _ 20 x
         2 ok read ba 30 x
         3 invoke write q 20 y
         3 ok write q 30 y",
        Model::Kv,
    ));
    // "ab" is also possible (the appends overlap), "aab" is not.
    let v = verdict(
        "0 invoke append a 0 x
         1 invoke append b 1 x
         0 ok append a 10 x
         1 ok append b 11 x
         2 invoke read _ 20 x
         2 ok read aab 30 x",
        Model::Kv,
    );
    match v {
        Verdict::NotLinearizable(ex) => {
            assert_eq!(ex.key.as_deref(), Some("x"));
            assert!(ex.text.contains("\"aab\""), "{}", ex.text);
        }
        other => panic!("{other:?}"),
    }
    // Keys are independent: a violation on one key is reported with that key.
    let v = verdict(
        "0 invoke write 1 0 a
         0 ok write 1 10 a
         1 invoke read _ 20 b
         1 ok read 1 30 b",
        Model::CasRegister,
    );
    match v {
        Verdict::NotLinearizable(ex) => assert_eq!(ex.key.as_deref(), Some("b")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn textbook_stale_read_explanation_names_the_right_ops() {
    // p1 writes 5, then p3 writes 7 (after the first returned), then p2 reads 5 after
    // both returned. p4 and p5 add noise that has nothing to do with it.
    let v = verdict(
        "1 invoke write 5 1000
         4 invoke read _ 1100
         4 ok read _ 1200
         1 ok write 5 2000
         3 invoke write 7 2500
         5 invoke read _ 2600
         5 ok read 5 2700
         3 ok write 7 3000
         4 invoke read _ 3100
         4 ok read 7 3200
         2 invoke read _ 3600
         2 ok read 5 3900",
        Model::CasRegister,
    );
    let Verdict::NotLinearizable(ex) = v else {
        panic!("{v:?}")
    };
    let named: Vec<(u64, Func, Value)> = ex
        .ops
        .iter()
        .map(|o| (o.process, o.f, o.value.clone()))
        .collect();
    assert_eq!(
        named,
        vec![
            (1, Func::Write, Value::Int(5)),
            (3, Func::Write, Value::Int(7)),
            (2, Func::Read, Value::Int(5)),
        ],
        "{}",
        ex.text
    );
    assert!(ex.minimal);
    let stuck: Vec<_> = ex.ops.iter().filter(|o| o.stuck).collect();
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0].process, 2);
    assert_eq!(stuck[0].invoke_time, 3600);
    assert_eq!(stuck[0].return_time, Some(3900));
    assert!(
        ex.text
            .contains("read by process 2 (C) returned 5 in [3.600 ms, 3.900 ms]"),
        "{}",
        ex.text
    );
    assert!(ex.text.contains("changed it to 7"), "{}", ex.text);
    // The explanation is data for the page too.
    let json = serde_json::to_value(&ex).unwrap();
    assert_eq!(json["ops"][2]["stuck"], true);
}

#[test]
fn never_written_value_is_explained() {
    let v = verdict(
        "0 invoke write 1 0
         0 ok write 1 10
         1 invoke read _ 20
         1 ok read 9 30",
        Model::Register,
    );
    let Verdict::NotLinearizable(ex) = v else {
        panic!("{v:?}")
    };
    assert_eq!(ex.ops.len(), 1);
    assert!(ex.text.contains("no operation ever wrote 9"), "{}", ex.text);
}

#[test]
fn budget_gives_unknown_never_a_guess() {
    let spec = check::gen::GenSpec {
        model: Model::CasRegister,
        clients: 20,
        ops: 2000,
        keys: 0,
        max_latency: 5000,
        max_think: 100,
        unknown_per_mille: 50,
    };
    let hist = check::gen::linearizable_history(&spec, 7);
    let mut opts = Options::new(Model::CasRegister);
    opts.max_steps = Some(10);
    let (v, _) = check::check_with(&hist, None, &opts, &mut || false).unwrap();
    assert!(matches!(v, Verdict::Unknown { .. }), "{v:?}");
    let (v, _) =
        check::check_with(&hist, None, &Options::new(Model::CasRegister), &mut || true).unwrap();
    assert!(matches!(v, Verdict::Unknown { .. }) || v == Verdict::Linearizable);
}

fn jsonl_err(text: &str) -> (usize, String) {
    let e = check::parse_jsonl(text).expect_err("should not parse");
    (e.line, e.message)
}

#[test]
fn jsonl_errors_name_the_line() {
    let ok =
        r#"{"process": 3, "type": "invoke", "f": "write", "key": "x", "value": 4, "time": 1200}"#;
    let done =
        r#"{"process": 3, "type": "ok", "f": "write", "key": "x", "value": 4, "time": 1300}"#;
    assert!(check::parse_jsonl(&format!("{ok}\n{done}\n")).is_ok());

    // Truncated JSON on the last line.
    let (line, msg) = jsonl_err(&format!("{ok}\n{done}\n{}", &ok[..30]));
    assert_eq!(line, 3);
    assert!(msg.contains("truncated"), "{msg}");
    // Invalid JSON, after a blank line.
    let (line, msg) = jsonl_err(&format!("{ok}\n\n{{process: 3}}\n"));
    assert_eq!(line, 3);
    assert!(msg.contains("invalid JSON"), "{msg}");
    // A completion without an open invoke.
    let (line, msg) = jsonl_err(&format!("{done}\n"));
    assert_eq!(line, 1);
    assert!(msg.contains("never invoked"), "{msg}");
    // A second invoke while one is open.
    let (line, msg) = jsonl_err(&format!("{ok}\n{ok}\n"));
    assert_eq!(line, 2);
    assert!(
        msg.contains("still open") && msg.contains("line 1"),
        "{msg}"
    );
    // Unknown f, unknown type.
    let (line, msg) = jsonl_err(&format!("{ok}\n{}\n", done.replace("write", "delete")));
    assert_eq!(line, 2);
    assert!(msg.contains("unknown f \"delete\""), "{msg}");
    let (line, msg) = jsonl_err(&ok.replace("invoke", "start"));
    assert_eq!(line, 1);
    assert!(msg.contains("unknown type"), "{msg}");
    // Completion f not matching the invoke.
    let (line, msg) = jsonl_err(&format!("{ok}\n{}\n", done.replace("write", "read")));
    assert_eq!(line, 2);
    assert!(msg.contains("open invoke on line 1 is a write"), "{msg}");
    // Wrong value types.
    let (line, msg) = jsonl_err(&format!("{ok}\n{}\n", done.replace("4,", "4.5,")));
    assert_eq!(line, 2);
    assert!(msg.contains("\"value\" must be"), "{msg}");
    let (line, msg) = jsonl_err(&ok.replace("\"time\": 1200", "\"time\": -1"));
    assert_eq!(line, 1);
    assert!(msg.contains("time"), "{msg}");
    // Missing and unknown fields.
    let (_, msg) = jsonl_err(&ok.replace(", \"time\": 1200", ""));
    assert!(msg.contains("missing field \"time\""), "{msg}");
    let (_, msg) = jsonl_err(&ok.replace("\"key\"", "\"kee\""));
    assert!(msg.contains("unknown field \"kee\""), "{msg}");
    // Not an object.
    let (_, msg) = jsonl_err("[1, 2]\n");
    assert!(msg.contains("JSON object"), "{msg}");
}

#[test]
fn model_errors_name_the_line() {
    // A cas whose value is not a pair: found by the checker with the model.
    let text = "{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"value\":1,\"time\":0}\n\
                {\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"value\":1,\"time\":1}\n\
                {\"process\":1,\"type\":\"invoke\",\"f\":\"cas\",\"value\":4,\"time\":2}\n";
    let p = check::parse_jsonl(text).expect("syntax is fine");
    let e = check::check_parsed(&p, &Options::new(Model::CasRegister), &mut || false)
        .expect_err("cas needs a pair");
    assert_eq!(e.line, 3);
    assert!(e.message.contains("pair"), "{e}");
    // Cas in the plain register model.
    let text = "{\"process\":1,\"type\":\"invoke\",\"f\":\"cas\",\"value\":[1,2],\"time\":2}\n";
    let p = check::parse_jsonl(text).unwrap();
    let e = check::check_parsed(&p, &Options::new(Model::Register), &mut || false).unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.message.contains("cas-register"), "{e}");
    // Completion value differing from the invoke's.
    let text = "\n{\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"value\":1,\"time\":0}\n\
                {\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"value\":2,\"time\":1}\n";
    let p = check::parse_jsonl(text).unwrap();
    let e = check::check_parsed(&p, &Options::new(Model::Register), &mut || false).unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.message.contains("differs"), "{e}");
    // Model inference.
    assert_eq!(Model::infer(&p.history), Model::CasRegister);
    assert_eq!(Model::infer(&h("0 invoke append a 0 x")), Model::Kv);
}

#[test]
fn jepsen_log_errors_name_the_line() {
    let good =
        "INFO  jepsen.util - 0\t:invoke\t:cas\t[3 0]\nINFO  jepsen.util - 0\t:fail\t:cas\t[3 0]\n";
    let p = check::parse(good, Format::JepsenLog).expect("parses");
    assert_eq!(p.history.events[0].value, Value::Pair([3, 0]));
    for (text, line, needle) in [
        ("INFO  jepsen.util - 0\t:invoke\t:cas\t[3]\n", 1, "pair"),
        ("INFO  jepsen.util - 0\t:invoke\t:frob\tnil\n", 1, "unknown f"),
        ("INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\t:timed-out\n", 2, "keyword"),
        ("INFO  jepsen.util - 0\t:ok\t:read\tnil\n", 1, "never invoked"),
        ("INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:invoke\t:read\tnil\n", 2, "still open"),
        ("INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:wri", 2, "expected PROCESS"),
        ("INFO  jepsen.util - x\t:invoke\t:read\tnil\n", 1, "not a number"),
    ] {
        let e = check::parse_jepsen_log(text).expect_err(text);
        assert_eq!(e.line, line, "{text}: {e}");
        assert!(e.message.contains(needle), "{text}: {e}");
    }
    // A timed-out read is an unknown read, an info write may have happened.
    let text = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
                INFO  jepsen.util - 0\t:fail\t:read\t:timed-out\n\
                INFO  jepsen.util - 1\t:invoke\t:write\t3\n\
                INFO  jepsen.util - 1\t:info\t:write\t:timed-out\n\
                INFO  jepsen.util - 2\t:invoke\t:read\tnil\n\
                INFO  jepsen.util - 2\t:ok\t:read\t3\n";
    let p = check::parse_jepsen_log(text).unwrap();
    let (v, stats) =
        check::check_parsed(&p, &Options::new(Model::CasRegister), &mut || false).unwrap();
    assert_eq!(v, Verdict::Linearizable);
    assert_eq!((stats.operations, stats.unknown_outcome), (2, 1));
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "",
        "\n\n",
        "{",
        "}",
        "null",
        "[]",
        "\"x\"",
        "{\"process\":1e400}",
        "{\"process\":18446744073709551616,\"type\":\"invoke\",\"f\":\"read\",\"time\":0}",
        "INFO  jepsen.util - ",
        "INFO  jepsen.util - 1 :invoke :cas [1 2 3]",
        "\u{0}\u{1}\u{ffff}",
        "1 :invoke :write \"unterminated",
    ];
    for s in samples {
        for f in [Format::Jsonl, Format::JepsenLog] {
            if let Ok(p) = check::parse(s, f) {
                for m in [Model::Register, Model::CasRegister, Model::Kv] {
                    let _ = check::check_parsed(&p, &Options::new(m), &mut || false);
                }
            }
        }
    }
}
