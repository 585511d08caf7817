//! The protocol registry (`quorumlab_sim::registry`) is complete and consistent: every
//! protocol describes every parameter it parses, its defaults are in their ranges, it
//! has presets that exist and name it, every preset file belongs to a protocol, and a
//! scenario that gets the protocol or its parameters wrong is told what is allowed.

use quorumlab_core::ParamKind;
use quorumlab_sim::registry::{self, Entry};
use quorumlab_sim::scenario;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn minimal(protocol: &str, params: Value) -> String {
    json!({
        "version": 1,
        "protocol": {"name": protocol, "params": params},
        "nodes": 3,
        "duration_ms": 1000
    })
    .to_string()
}

fn errors(text: &str) -> String {
    match scenario::load(text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => scenario::describe(&e),
    }
}

#[test]
fn names_are_unique_and_every_protocol_says_what_it_is() {
    let es = registry::entries();
    assert!(!es.is_empty());
    let names: BTreeSet<&str> = es.iter().map(|e| e.name).collect();
    assert_eq!(names.len(), es.len(), "two protocols share a name");
    for e in &es {
        assert!(!e.summary.is_empty(), "{}: no SUMMARY", e.name);
        assert!(
            e.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{}: a name is lowercase words joined by `-`",
            e.name
        );
        assert_eq!(registry::entry(e.name).map(|x| x.name), Some(e.name));
    }
}

/// `PARAMS` names exactly the fields of `Params`, and every default is inside its range.
#[test]
fn every_parameter_is_described_and_its_default_allowed() {
    for e in registry::entries() {
        let defaults = e.default_params();
        let fields: BTreeSet<&str> = defaults
            .as_object()
            .unwrap_or_else(|| panic!("{}: Params is not a struct", e.name))
            .keys()
            .map(String::as_str)
            .collect();
        let described: BTreeSet<&str> = e.params.iter().map(|p| p.name).collect();
        assert_eq!(
            described, fields,
            "{}: PARAMS must describe every field of Params (and no other)",
            e.name
        );
        assert_eq!(
            described.len(),
            e.params.len(),
            "{}: a parameter twice",
            e.name
        );
        for p in e.params {
            assert!(!p.help.is_empty(), "{}.{}: no help text", e.name, p.name);
            let d = &defaults[p.name];
            let ok = match p.kind {
                ParamKind::Int { min, max } => d.as_u64().is_some_and(|x| x >= min && x <= max),
                ParamKind::Float { min, max } => d.as_f64().is_some_and(|x| x >= min && x <= max),
                ParamKind::Bool => d.is_boolean(),
                ParamKind::Choice(o) => d.as_str().is_some_and(|x| o.contains(&x)),
            };
            assert!(
                ok,
                "{}.{}: default {d} is not {}",
                e.name,
                p.name,
                p.allowed()
            );
        }
        // Every default, given explicitly, is accepted.
        scenario::load(&minimal(e.name, defaults.clone()))
            .unwrap_or_else(|err| panic!("{}: {}", e.name, scenario::describe(&err)));
    }
}

fn preset_files() -> BTreeSet<String> {
    std::fs::read_dir(scenarios_dir())
        .expect("scenarios/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && !n.contains("schema"))
        .map(|n| n.trim_end_matches(".json").to_string())
        .collect()
}

/// Each protocol has presets; each exists, loads and runs this protocol; and every
/// file in `scenarios/` is some protocol's preset (so the gallery and the preset tests,
/// which walk the registry, see them all).
#[test]
fn every_protocol_has_presets_and_every_preset_a_protocol() {
    let files = preset_files();
    let mut claimed = BTreeSet::new();
    for e in registry::entries() {
        assert!(
            !e.listing.presets.is_empty(),
            "{}: a protocol needs at least one preset in scenarios/ (listed in its registry line)",
            e.name
        );
        for p in e.listing.presets {
            assert!(
                files.contains(*p),
                "{}: preset `{p}` is not a file scenarios/{p}.json",
                e.name
            );
            assert!(claimed.insert(p.to_string()), "`{p}` is listed twice");
            let text = std::fs::read_to_string(scenarios_dir().join(format!("{p}.json")))
                .expect("readable");
            let s = scenario::load(&text)
                .unwrap_or_else(|err| panic!("{p}: {}", scenario::describe(&err)));
            assert_eq!(
                s.protocol.name, e.name,
                "preset `{p}` runs another protocol"
            );
        }
    }
    let orphans: Vec<_> = files.difference(&claimed).collect();
    assert!(
        orphans.is_empty(),
        "presets no protocol lists in crates/sim/src/registry.rs: {orphans:?}"
    );
}

#[test]
fn compare_variants_give_valid_scenarios() {
    for e in registry::entries() {
        let base = scenario::load(&minimal(e.name, json!({}))).expect("valid");
        let ids: BTreeSet<&str> = e.listing.compare.iter().map(|v| v.id).collect();
        assert_eq!(
            ids.len(),
            e.listing.compare.len(),
            "{}: variant ids",
            e.name
        );
        for v in e.listing.compare {
            let s = v
                .apply(&base)
                .unwrap_or_else(|err| panic!("{}: {err}", v.id));
            s.validate().unwrap_or_else(|err| {
                panic!("{} variant {}: {}", e.name, v.id, scenario::describe(&err))
            });
            assert_ne!(s, base, "{} variant {} changes nothing", e.name, v.id);
        }
    }
}

// ---- bad input ---------------------------------------------------------------------------

#[test]
fn an_unknown_protocol_is_told_the_known_ones() {
    let m = errors(&minimal("zab", json!({})));
    assert!(
        m.starts_with("protocol.name: unknown protocol `zab` (known: "),
        "{m}"
    );
    for n in registry::names() {
        assert!(m.contains(n), "{m} does not list {n}");
    }
    let s = scenario::parse(&minimal("zab", json!({}))).expect("parses");
    let err = registry::build(&s, 1, 0).err().expect("no such protocol");
    assert_eq!(err.path, "protocol.name");
    assert!(err.message.contains("raft"), "{}", err.message);
}

#[test]
fn a_parameter_of_another_protocol_is_named_with_the_allowed_ones() {
    let m = errors(&minimal("raft", json!({"catch_up_batch": 4})));
    assert!(
        m.starts_with("protocol.params.catch_up_batch: unknown field `catch_up_batch`"),
        "{m}"
    );
    assert!(m.contains("`election_timeout_min_ms`"), "{m}");
    assert!(m.contains("a parameter of multi-paxos, not of raft"), "{m}");
    // One that no protocol has.
    let m = errors(&minimal("paxos", json!({"bogus": 1})));
    assert!(
        m.starts_with("protocol.params.bogus: unknown field `bogus`"),
        "{m}"
    );
    assert!(
        m.contains("`round_timeout_ms`") && !m.contains("a parameter of"),
        "{m}"
    );
}

#[test]
fn a_parameter_out_of_range_or_of_the_wrong_type_names_the_field() {
    // The protocol's own rule comes first.
    let m = errors(&minimal("raft", json!({"lease_ms": 0})));
    assert_eq!(m, "protocol.params.lease_ms: must be at least 1");
    let m = errors(&minimal("raft", json!({"read_mode": "fast"})));
    assert!(m.starts_with("protocol.params.read_mode: "), "{m}");
    let m = errors(&minimal("heartbeat", json!({"interval_ms": -1})));
    assert!(m.starts_with("protocol.params.interval_ms: "), "{m}");
    assert!(
        m.ends_with("(interval_ms takes a whole number of at least 0 (ms))"),
        "{m}"
    );
}

/// Each entry's schema is the one the file has (`schema.rs` checks the file against
/// the registry as a whole; this checks the generator's shape).
#[test]
fn the_generated_parameter_schema_declares_every_parameter() {
    for e in registry::entries() {
        let s = registry::params_schema(&e);
        let props: BTreeSet<&str> = s["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .map(String::as_str)
            .collect();
        let names: BTreeSet<&str> = e.params.iter().map(|p| p.name).collect();
        assert_eq!(props, names, "{}", e.name);
        assert_eq!(s["additionalProperties"], json!(false));
        let _: &Entry = &e;
    }
}
