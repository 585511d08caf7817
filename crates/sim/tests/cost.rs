//! The cost estimate (`quorumlab_sim::cost`): within a factor of six of the events the
//! presets really handle (0.2 to 4 times them today), and only a scenario that would take minutes asks first.

use quorumlab_sim::cost::{estimate, question};
use quorumlab_sim::scenario;

fn presets() -> Vec<(String, scenario::Scenario)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("scenarios/") {
        let p = e.expect("entry").path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") || name.contains("schema") {
            continue;
        }
        let text = std::fs::read_to_string(&p).expect("read");
        out.push((name, scenario::load(&text).expect("valid")));
    }
    assert!(out.len() >= 20, "{} presets", out.len());
    out
}

#[test]
fn the_estimate_is_within_a_factor_of_six_of_the_presets_real_events() {
    for (name, s) in presets() {
        let mut e = quorumlab_sim::build(&s, s.seed, 0).expect("builds");
        e.run_to_end();
        let real = e.events() as f64;
        let est = estimate(&s).events;
        assert!(
            est >= real / 6.0 && est <= real * 6.0,
            "{name}: estimated {est:.0} events, ran {real}"
        );
        assert_eq!(question(&s), None, "{name}: a preset never asks");
    }
}

#[test]
fn a_huge_scenario_asks_with_the_estimate_and_a_small_one_does_not() {
    let big = r#"{"version":1,"protocol":{"name":"raft"},"nodes":40,"duration_ms":3600000,
        "workload":{"clients":5,"rate":20},"nemesis":{"interval_ms":2000},"seed":1}"#;
    let s = scenario::load(big).expect("valid");
    let c = estimate(&s);
    assert!(c.seconds > 600.0, "{c:?}");
    let q = question(&s).expect("asks");
    assert!(
        q.contains("40 nodes") && q.contains("3600 s simulated") && q.contains("nemesis"),
        "{q}"
    );
    assert!(q.contains("minutes"), "{q}");
    // The same cluster for ten seconds does not.
    let small = big.replace("3600000", "10000");
    assert_eq!(question(&scenario::load(&small).expect("valid")), None);
    // More nodes, longer, faster heartbeats or more clients never cost less.
    let more = |from: &str, to: &str| {
        estimate(&scenario::load(&big.replace(from, to)).expect("valid")).events
    };
    assert!(more("\"nodes\":40", "\"nodes\":50") > c.events);
    assert!(more("\"rate\":20", "\"rate\":40") > c.events);
    assert!(
        more(
            r#""name":"raft"}"#,
            r#""name":"raft","params":{"heartbeat_interval_ms":25}}"#
        ) > c.events
    );
}
