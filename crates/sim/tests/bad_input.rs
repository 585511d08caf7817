//! Untrusted input never panics: random bytes and random mutations of valid scenarios
//! fed to the scenario parser and the share-URL decoder always end in a value or a
//! message.

use proptest::prelude::*;
use quorumlab_sim::scenario::{self, Scenario};
use quorumlab_sim::url;

const VALID: &str = r#"{
  "version": 1, "name": "fuzz base", "protocol": {"name": "raft"},
  "nodes": [{"x": 0.5, "y": 0.1}, {}, {}, {"spare": true}],
  "network": {"latency": {"base_ms": 2, "jitter_ms": 5, "distribution": "exponential"}, "loss": 0.01},
  "links": [{"from": 0, "to": 1, "loss": 0.5}],
  "workload": {"clients": 3, "rate": 20, "mix": {"read": 1, "write": 1, "cas": 0.5}, "keys": 3},
  "faults": [
    {"at_ms": 100, "type": "crash", "node": 1},
    {"at_ms": 200, "type": "restart", "node": 1, "disk": false},
    {"at_ms": 300, "type": "partition", "groups": [[0, 1], [2]]},
    {"at_ms": 400, "type": "heal"},
    {"at_ms": 500, "type": "clock", "node": 2, "skew_ms": -30, "drift_ppm": 2000},
    {"at_ms": 600, "type": "client", "node": 0, "op": {"f": "cas", "key": "x", "expect": 1, "new": 2}}
  ],
  "nemesis": {"interval_ms": 300, "faults": ["crash", "partition"]},
  "duration_ms": 2000, "seed": 42
}"#;

fn base() -> Scenario {
    scenario::parse(VALID).expect("the base scenario parses")
}

/// Whatever the outcome, it is an `Ok` or an `Err` with a non-empty message.
fn parse_all_ways(text: &str) {
    match scenario::load(text) {
        Ok(s) => {
            // A valid scenario survives the URL codec unchanged.
            let again = url::decode(&url::encode(&s));
            if let Ok(a) = again {
                assert_eq!(a, s);
            }
        }
        Err(errs) => {
            assert!(!errs.is_empty());
            assert!(errs.iter().all(|e| !e.message.is_empty()));
        }
    }
    if let Err(m) = url::decode(text) {
        assert!(!m.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        parse_all_ways(&text);
    }

    #[test]
    fn mutated_scenarios_never_panic(
        edits in proptest::collection::vec((0usize..2000, any::<u8>(), 0u8..3), 1..8),
        cut in 0usize..2100,
    ) {
        let mut b = VALID.as_bytes().to_vec();
        for (pos, byte, how) in edits {
            let p = pos % (b.len() + 1);
            match how {
                0 if p < b.len() => b[p] = byte,
                1 => b.insert(p, byte),
                _ if p < b.len() => { b.remove(p); }
                _ => {}
            }
        }
        b.truncate(cut.max(1));
        parse_all_ways(&String::from_utf8_lossy(&b));
    }

    #[test]
    fn mutated_links_never_panic(
        edits in proptest::collection::vec((0usize..4000, 0u8..80), 1..6),
        cut in 0usize..4000,
    ) {
        let mut link = url::encode(&base()).into_bytes();
        for (pos, c) in edits {
            let p = pos % link.len();
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.#%!@ ";
            link[p] = alphabet[c as usize % alphabet.len()];
        }
        link.truncate(cut.max(1));
        let text = String::from_utf8_lossy(&link);
        if let Err(m) = url::decode(&text) { prop_assert!(!m.is_empty()); }
    }

    #[test]
    fn numbers_anywhere_get_named_errors(n in any::<i64>(), field in 0usize..6) {
        let paths = ["duration_ms", "seed", "links[0].from", "faults[0].at_ms", "workload.clients", "nodes"];
        let mut v: serde_json::Value = serde_json::from_str(VALID).unwrap();
        let ptr = ["/duration_ms", "/seed", "/links/0/from", "/faults/0/at_ms", "/workload/clients", "/nodes"][field];
        *v.pointer_mut(ptr).unwrap() = serde_json::json!(n);
        match scenario::load(&v.to_string()) {
            Ok(_) => {}
            Err(errs) => prop_assert!(
                errs.iter().any(|e| e.path.starts_with(paths[field]) || e.path.is_empty() || e.path == "nodes"),
                "{:?} for {} = {}", errs, paths[field], n
            ),
        }
    }
}

#[test]
fn errors_name_the_field_and_the_problem() {
    let mut v: serde_json::Value = serde_json::from_str(VALID).unwrap();
    v["faults"][3]["at_ms"] = serde_json::json!(12000);
    v["duration_ms"] = serde_json::json!(10000);
    let errs = scenario::load(&v.to_string()).unwrap_err();
    let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert!(
        msgs.contains(&"faults[3].at_ms: 12000 is after the end of the run (10000)".to_string()),
        "{msgs:?}"
    );

    let e = scenario::parse(&VALID.replace("\"heal\"", "\"heel\"")).unwrap_err();
    assert_eq!(e.path, "faults[3]");
    assert!(e.message.contains("heel"), "{e}");

    let e = scenario::parse(&VALID.replace("\"loss\": 0.5", "\"los\": 0.5")).unwrap_err();
    assert_eq!(e.path, "links[0].los");
    assert!(e.message.contains("unknown field `los`"), "{e}");

    let errs = scenario::load(&VALID.replace("\"node\": 1}", "\"node\": 9}")).unwrap_err();
    assert!(
        errs.iter()
            .any(|e| e.path == "faults[0].node" && e.message.contains("node 9 does not exist")),
        "{errs:?}"
    );

    let e = scenario::parse(&VALID.replace("\"version\": 1", "\"version\": 7")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "version: 7 is newer than this quorumlab understands (1)"
    );

    let e = scenario::parse("[1, 2]").unwrap_err();
    assert_eq!(e.to_string(), "a scenario must be a JSON object");
}

#[test]
fn links_round_trip_and_bad_links_say_what_is_wrong() {
    let s = base();
    let link = format!("https://example.org/quorumlab/#{}", url::encode(&s));
    assert_eq!(url::decode(&link).unwrap(), s);
    assert!(
        link.len() < 1000,
        "a typical scenario makes a short link: {}",
        link.len()
    );

    assert!(url::decode("https://x/#")
        .unwrap_err()
        .contains("no scenario"));
    assert!(url::decode("#hello")
        .unwrap_err()
        .contains("not a quorumlab scenario"));
    assert!(url::decode("#9.AAAA")
        .unwrap_err()
        .contains("newer quorumlab"));
    assert!(url::decode("#1.!!!").unwrap_err().contains("not base64url"));
    let enc = url::encode(&s);
    assert!(url::decode(&format!("#{}", &enc[..enc.len() / 2]))
        .unwrap_err()
        .contains("damaged"));
    let huge = format!("#1.{}", "A".repeat(url::MAX_ENCODED + 1));
    assert!(url::decode(&huge).unwrap_err().contains("too long"));
    // A deflate bomb: small link, huge expansion.
    let bomb = vec![b' '; url::MAX_JSON * 4];
    let packed = miniz_oxide_link(&bomb);
    assert!(url::decode(&packed)
        .unwrap_err()
        .contains("expands to more than"));
}

fn miniz_oxide_link(data: &[u8]) -> String {
    // Build a link around arbitrary bytes the way `encode` does.
    let mut s = base();
    s.description = String::from_utf8_lossy(data).into_owned();
    url::encode(&s)
}

/// The resource caps a scenario must keep (the page and the CLI both validate): a run's
/// client operations (the history it records) and its timed faults. Each is named.
#[test]
fn resource_caps_name_the_field_and_the_limit() {
    let load = |text: &str| scenario::load(text).map_err(|e| scenario::describe(&e));
    // 1000 clients at 10 000 a second for an hour: 36 billion operations.
    let e = load(
        r#"{"version":1,"protocol":{"name":"raft"},"nodes":3,"duration_ms":3600000,
            "workload":{"clients":1000,"rate":10000}}"#,
    )
    .unwrap_err();
    assert!(
        e.contains("workload.rate: 1000 clients at 10000 operations a second for 3600 s")
            && e.contains("more than the limit of 1000000"),
        "{e}"
    );
    // Just under the cap is fine; start and stop shorten the time clients run.
    assert!(load(
        r#"{"version":1,"protocol":{"name":"raft"},"nodes":3,"duration_ms":100000,
            "workload":{"clients":100,"rate":100}}"#
    )
    .is_ok());
    assert!(load(
        r#"{"version":1,"protocol":{"name":"raft"},"nodes":3,"duration_ms":3600000,
            "workload":{"clients":100,"rate":100,"start_ms":1000,"stop_ms":101000}}"#
    )
    .is_ok());
    // Too many timed faults: one message for the list, not one per fault.
    let faults: Vec<String> = (0..scenario::MAX_FAULTS + 1)
        .map(|i| format!(r#"{{"at_ms":{},"type":"heal"}}"#, i % 1000))
        .collect();
    let e = load(&format!(
        r#"{{"version":1,"protocol":{{"name":"raft"}},"nodes":3,"duration_ms":1000,"faults":[{}]}}"#,
        faults.join(",")
    ))
    .unwrap_err();
    assert_eq!(
        e,
        format!(
            "faults: {} timed faults is more than the limit of {}",
            scenario::MAX_FAULTS + 1,
            scenario::MAX_FAULTS
        )
    );
}
