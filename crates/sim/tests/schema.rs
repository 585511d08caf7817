//! The JSON Schema (`scenarios/scenario.schema.json`), the documentation
//! (`docs/scenario-format.md`) and the parser (`quorumlab_sim::scenario`) must agree.
//!
//! The schema is checked with a small validator written here for exactly the subset of
//! JSON Schema the file uses (no new dependencies). A keyword outside that subset fails
//! the tests, so the schema cannot quietly grow something this validator ignores.

use quorumlab_core::raft::RaftParams;
use quorumlab_core::Op;
use quorumlab_sim::expect::{ExpectKind, Expectation, OpFilter, RoleName};
use quorumlab_sim::registry;
use quorumlab_sim::scenario::{
    self, ChecksSpec, Distribution, Fault, FaultKind, LatencySpec, LinkSpec, LongDelay,
    NemesisSpec, NetworkSpec, NodeRef, NodeSpec, Nodes, OpMix, ProtocolSpec, Scenario,
    WorkloadSpec,
};
use serde_json::{json, Map, Number, Value};
use std::cmp::Ordering;
use std::path::{Path, PathBuf};

// ---- files ---------------------------------------------------------------------------

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schema() -> Value {
    let path = repo().join("scenarios/scenario.schema.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the schema is not JSON: {e}"))
}

fn doc() -> String {
    let path = repo().join("docs/scenario-format.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The contents of every fenced block tagged `json` in a markdown text, in order.
fn json_blocks(md: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in md.lines() {
        let t = line.trim();
        match &mut current {
            None if t == "```json" => current = Some(String::new()),
            None => {}
            Some(_) if t == "```" => blocks.extend(current.take()),
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
        }
    }
    assert!(
        current.is_none(),
        "a ```json block in the doc is not closed"
    );
    blocks
}

/// Every scenario file in `scenarios/` (not the schema), sorted.
fn preset_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("scenarios"))
        .expect("scenarios/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p.to_string_lossy().ends_with(".schema.json")
        })
        .collect();
    files.sort();
    files
}

// ---- a validator for the subset of JSON Schema 2020-12 the schema uses ------------------

/// Keywords that constrain instances and that [`Validator`] implements.
const ASSERTIONS: &[&str] = &[
    "$ref",
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "oneOf",
    "anyOf",
    "allOf",
    "if",
    "then",
    "else",
];
/// Keywords that only annotate.
const ANNOTATIONS: &[&str] = &["$schema", "$defs", "title", "description", "default"];

struct Validator<'a> {
    root: &'a Value,
}

/// Order two JSON numbers exactly when both are integers (u64 and i64 bounds matter).
fn cmp_num(a: &Number, b: &Number) -> Ordering {
    fn int(n: &Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    match (int(a), int(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
    }
}

fn is_integer(n: &Number) -> bool {
    n.is_i64() || n.is_u64()
}

/// JSON equality where numbers compare by value (2 equals 2.0), for defaults.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => cmp_num(x, y) == Ordering::Equal,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

impl<'a> Validator<'a> {
    fn new(root: &'a Value) -> Self {
        Validator { root }
    }

    fn resolve(&self, r: &str) -> &'a Value {
        let name = r
            .strip_prefix("#/$defs/")
            .unwrap_or_else(|| panic!("unsupported $ref `{r}` (only #/$defs/NAME)"));
        self.root
            .get("$defs")
            .and_then(|d| d.get(name))
            .unwrap_or_else(|| panic!("$ref `{r}` points nowhere"))
    }

    /// Problems of `inst` against the whole schema; empty when valid.
    fn errors(&self, inst: &Value) -> Vec<String> {
        let mut errs = Vec::new();
        self.check(self.root, inst, "", &mut errs);
        errs
    }

    fn is_valid(&self, schema: &Value, inst: &Value) -> bool {
        let mut errs = Vec::new();
        self.check(schema, inst, "", &mut errs);
        errs.is_empty()
    }

    fn check(&self, schema: &Value, inst: &Value, path: &str, errs: &mut Vec<String>) {
        let s = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => {
                errs.push(format!("{path}: not allowed"));
                return;
            }
            Value::Object(s) => s,
            other => panic!("a schema must be an object or a boolean, not {other}"),
        };
        for k in s.keys() {
            assert!(
                ASSERTIONS.contains(&k.as_str()) || ANNOTATIONS.contains(&k.as_str()),
                "the schema uses `{k}`, which this validator does not implement"
            );
        }
        let at = |p: &str| {
            if p.is_empty() {
                "(root)".to_string()
            } else {
                p.to_string()
            }
        };
        if let Some(Value::String(r)) = s.get("$ref") {
            self.check(self.resolve(r), inst, path, errs);
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(x) => vec![x.as_str()],
                Value::Array(xs) => xs.iter().filter_map(Value::as_str).collect(),
                _ => panic!("bad `type` {t}"),
            };
            let ok = types.iter().any(|t| match *t {
                "null" => inst.is_null(),
                "boolean" => inst.is_boolean(),
                "string" => inst.is_string(),
                "array" => inst.is_array(),
                "object" => inst.is_object(),
                "number" => inst.is_number(),
                "integer" => inst.as_number().is_some_and(is_integer),
                other => panic!("unknown type `{other}`"),
            });
            if !ok {
                errs.push(format!("{}: {inst} is not of type {t}", at(path)));
                return;
            }
        }
        if let Some(Value::Array(options)) = s.get("enum") {
            if !options.contains(inst) {
                errs.push(format!("{}: {inst} is not one of {options:?}", at(path)));
            }
        }
        if let Some(c) = s.get("const") {
            if c != inst {
                errs.push(format!("{}: {inst} is not {c}", at(path)));
            }
        }
        if let Value::Number(n) = inst {
            let bound = |k: &str| s.get(k).and_then(Value::as_number);
            let fails = [
                ("minimum", Ordering::Less, false),
                ("maximum", Ordering::Greater, false),
                ("exclusiveMinimum", Ordering::Less, true),
                ("exclusiveMaximum", Ordering::Greater, true),
            ];
            for (k, bad, exclusive) in fails {
                if let Some(b) = bound(k) {
                    let o = cmp_num(n, b);
                    if o == bad || (exclusive && o == Ordering::Equal) {
                        errs.push(format!("{}: {n} breaks {k} {b}", at(path)));
                    }
                }
            }
        }
        if let Value::String(text) = inst {
            let len = text.chars().count() as u64;
            if s.get("minLength")
                .and_then(Value::as_u64)
                .is_some_and(|m| len < m)
            {
                errs.push(format!("{}: string too short", at(path)));
            }
            if s.get("maxLength")
                .and_then(Value::as_u64)
                .is_some_and(|m| len > m)
            {
                errs.push(format!("{}: string too long", at(path)));
            }
        }
        if let Value::Array(items) = inst {
            let len = items.len() as u64;
            if s.get("minItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| len < m)
            {
                errs.push(format!("{}: fewer than minItems", at(path)));
            }
            if s.get("maxItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| len > m)
            {
                errs.push(format!("{}: more than maxItems", at(path)));
            }
            if let Some(item) = s.get("items") {
                for (i, x) in items.iter().enumerate() {
                    self.check(item, x, &format!("{path}[{i}]"), errs);
                }
            }
        }
        if let Value::Object(obj) = inst {
            let empty = Map::new();
            let props = s
                .get("properties")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            if let Some(Value::Array(req)) = s.get("required") {
                for r in req.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(r) {
                        errs.push(format!("{}: missing `{r}`", at(path)));
                    }
                }
            }
            for (k, v) in obj {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if let Some(p) = props.get(k) {
                    self.check(p, v, &sub, errs);
                } else if let Some(extra) = s.get("additionalProperties") {
                    if extra == &Value::Bool(false) {
                        errs.push(format!("{}: unknown field `{k}`", at(path)));
                    } else {
                        self.check(extra, v, &sub, errs);
                    }
                }
            }
        }
        if let Some(Value::Array(all)) = s.get("allOf") {
            for sub in all {
                self.check(sub, inst, path, errs);
            }
        }
        if let Some(Value::Array(any)) = s.get("anyOf") {
            if !any.iter().any(|sub| self.is_valid(sub, inst)) {
                let mut why = Vec::new();
                for sub in any {
                    self.check(sub, inst, path, &mut why);
                }
                errs.push(format!(
                    "{}: matches none of anyOf ({})",
                    at(path),
                    why.join("; ")
                ));
            }
        }
        if let Some(Value::Array(one)) = s.get("oneOf") {
            let n = one.iter().filter(|sub| self.is_valid(sub, inst)).count();
            if n != 1 {
                let mut why = Vec::new();
                if n == 0 {
                    for sub in one {
                        self.check(sub, inst, path, &mut why);
                    }
                }
                errs.push(format!(
                    "{}: matches {n} of oneOf, not exactly 1 ({})",
                    at(path),
                    why.join("; ")
                ));
            }
        }
        if let Some(cond) = s.get("if") {
            let branch = if self.is_valid(cond, inst) {
                s.get("then")
            } else {
                s.get("else")
            };
            if let Some(b) = branch {
                self.check(b, inst, path, errs);
            }
        }
    }
}

/// Walk every subschema of the schema file, calling `f` on each schema object. With
/// `conditions` false, the conditions of `if` are left out (they restate properties
/// declared elsewhere, without descriptions).
fn walk_schemas<'a>(s: &'a Value, conditions: bool, f: &mut dyn FnMut(&'a Map<String, Value>)) {
    let Value::Object(o) = s else { return };
    f(o);
    for (k, v) in o {
        match k.as_str() {
            "properties" | "$defs" => {
                for sub in v.as_object().expect("a map of schemas").values() {
                    walk_schemas(sub, conditions, f);
                }
            }
            "if" if !conditions => {}
            "items" | "additionalProperties" | "if" | "then" | "else" => {
                walk_schemas(v, conditions, f)
            }
            "oneOf" | "anyOf" | "allOf" => {
                for sub in v.as_array().expect("a list of schemas") {
                    walk_schemas(sub, conditions, f);
                }
            }
            _ => {}
        }
    }
}

// ---- helpers -------------------------------------------------------------------------

/// Whether `load` (parse + validate) accepts the text; the error text otherwise.
fn load_verdict(text: &str) -> Result<Scenario, String> {
    scenario::load(text).map_err(|e| scenario::describe(&e))
}

/// Assert that both the schema and the parser accept `v`.
fn assert_accepted(v: &Value, what: &str) {
    let schema = schema();
    let errs = Validator::new(&schema).errors(v);
    assert!(
        errs.is_empty(),
        "{what}: the schema rejects it:\n{}",
        errs.join("\n")
    );
    if let Err(e) = load_verdict(&v.to_string()) {
        panic!("{what}: the parser rejects it: {e}");
    }
}

/// A small valid scenario with five nodes (the last a spare) and ten seconds.
fn base() -> Value {
    json!({
        "version": 1,
        "protocol": {"name": "raft"},
        "nodes": [{}, {}, {}, {}, {"spare": true}],
        "duration_ms": 10000
    })
}

// ---- (a) the schema file -------------------------------------------------------------

#[test]
fn schema_is_json_with_the_expected_shape() {
    let s = schema();
    assert_eq!(
        s["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "draft 2020-12"
    );
    assert_eq!(s["type"], "object");
    assert_eq!(s["additionalProperties"], false);
    assert!(s["title"].is_string() && s["description"].is_string());
    let required: Vec<&str> = s["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, ["version", "protocol", "nodes", "duration_ms"]);
    assert_eq!(s["properties"]["version"]["const"], scenario::VERSION);
    let defs = s["$defs"].as_object().expect("$defs");
    for name in ["fault", "op", "latency", "network", "workload", "node_id"] {
        assert!(defs.contains_key(name), "$defs.{name} is missing");
    }
}

#[test]
fn schema_uses_only_supported_keywords_and_resolvable_refs() {
    let s = schema();
    let v = Validator::new(&s);
    walk_schemas(&s, true, &mut |o| {
        for k in o.keys() {
            assert!(
                ASSERTIONS.contains(&k.as_str()) || ANNOTATIONS.contains(&k.as_str()),
                "unsupported keyword `{k}`"
            );
        }
        if let Some(Value::String(r)) = o.get("$ref") {
            v.resolve(r);
        }
    });
}

#[test]
fn every_property_has_a_description() {
    let s = schema();
    let v = Validator::new(&s);
    let mut missing = Vec::new();
    walk_schemas(&s, false, &mut |o| {
        if let Some(Value::Object(props)) = o.get("properties") {
            for (name, p) in props {
                let own = p.get("description").is_some();
                let via_ref = p
                    .get("$ref")
                    .and_then(Value::as_str)
                    .is_some_and(|r| v.resolve(r).get("description").is_some());
                if !own && !via_ref {
                    missing.push(name.clone());
                }
            }
        }
    });
    assert!(
        missing.is_empty(),
        "properties without a description: {missing:?}"
    );
}

// ---- (b) presets and the documentation pass both -------------------------------------

#[test]
fn every_preset_passes_the_schema_and_the_parser() {
    for path in preset_files() {
        let text = std::fs::read_to_string(&path).expect("readable");
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        assert_accepted(&v, &path.display().to_string());
    }
}

#[test]
fn the_documented_example_passes_the_schema_and_the_parser() {
    let blocks = json_blocks(&doc());
    let first = blocks.first().expect("the doc has a ```json block");
    let v: Value = serde_json::from_str(first).expect("the doc's example is JSON");
    assert_accepted(&v, "the doc's complete example");
    let s = scenario::load(first).expect("loads");
    assert_eq!(s.protocol.name, "raft");
    assert_eq!(s.n(), 5);
    let kinds: Vec<&str> = s.faults.iter().map(|f| f.kind.name()).collect();
    for k in ["crash", "partition", "heal"] {
        assert!(kinds.contains(&k), "the complete example has no `{k}`");
    }
    assert!(s.workload.is_some(), "the complete example has a workload");
}

#[test]
fn every_documented_snippet_passes_and_every_fault_type_has_one() {
    let blocks = json_blocks(&doc());
    let mut seen = Vec::new();
    let mut expectations: Vec<String> = Vec::new();
    for (i, b) in blocks.iter().enumerate().skip(1) {
        let v: Value = serde_json::from_str(b)
            .unwrap_or_else(|e| panic!("doc json block {i} is not JSON: {e}\n{b}"));
        if v.get("version").is_some() {
            assert_accepted(&v, &format!("doc json block {i}"));
        } else if let Some(list) = v.as_array() {
            // A list of expectations.
            let mut s = base();
            s["expect"] = v.clone();
            assert_accepted(&s, &format!("doc expectations {i}"));
            expectations.extend(
                list.iter()
                    .filter_map(|x| x["type"].as_str().map(String::from)),
            );
        } else if let (Some(_), Some(t)) = (v.get("at_ms"), v.get("type").and_then(Value::as_str)) {
            let mut s = base();
            s["faults"] = json!([v.clone()]);
            assert_accepted(&s, &format!("doc fault example {i} ({t})"));
            seen.push(t.to_string());
        }
    }
    for t in [
        "crash",
        "restart",
        "pause",
        "clock",
        "partition",
        "isolate",
        "reconnect",
        "cut",
        "heal",
        "degrade",
        "restore",
        "add_node",
        "remove_node",
        "promote",
        "client",
    ] {
        assert!(
            seen.iter().any(|x| x == t),
            "the doc has no example of a `{t}` fault"
        );
    }
    let schema = schema();
    for t in schema["$defs"]["expectation"]["properties"]["type"]["enum"]
        .as_array()
        .expect("expectation types")
        .iter()
        .filter_map(Value::as_str)
    {
        assert!(
            expectations.iter().any(|x| x == t),
            "the doc has no example of a `{t}` expectation"
        );
    }
}

// ---- (c) broken scenarios are rejected by both; odd but valid ones accepted by both -------

/// Apply `f` to a copy of the base scenario.
fn with(f: impl FnOnce(&mut Value)) -> Value {
    let mut v = base();
    f(&mut v);
    v
}

fn broken() -> Vec<(&'static str, Value)> {
    vec![
        (
            "expectation of an unknown type",
            with(|v| v["expect"] = json!([{"type": "happy"}])),
        ),
        (
            "expectation missing a field",
            with(|v| v["expect"] = json!([{"type": "leader"}])),
        ),
        (
            "expectation with a field of another type",
            with(|v| v["expect"] = json!([{"type": "state_equal", "within_ms": 5}])),
        ),
        (
            "expectation of an unknown role",
            with(|v| {
                v["expect"] = json!([{"type": "role", "node": 0, "role": "king", "at_ms": 5}])
            }),
        ),
        (
            "unknown top-level field",
            with(|v| v["colour"] = json!("red")),
        ),
        (
            "unknown network field",
            with(|v| v["network"] = json!({"lossy": 0.1})),
        ),
        (
            "unknown latency field",
            with(|v| v["network"] = json!({"latency": {"base_ms": 1, "jiter_ms": 2}})),
        ),
        (
            "unknown node field",
            with(|v| v["nodes"] = json!([{"z": 0.5}])),
        ),
        (
            "unknown workload field",
            with(|v| v["workload"] = json!({"clients": 1, "speed": 3})),
        ),
        (
            "unknown checks field",
            with(|v| v["checks"] = json!({"linearisable": true})),
        ),
        (
            "unknown nemesis field",
            with(|v| v["nemesis"] = json!({"every_ms": 100})),
        ),
        (
            "unknown fault field",
            with(|v| {
                v["faults"] = json!([{"at_ms": 1, "type": "crash", "node": 0, "disk": false}])
            }),
        ),
        (
            "unknown protocol field",
            with(|v| v["protocol"]["version"] = json!(3)),
        ),
        (
            "unknown raft parameter",
            with(|v| v["protocol"]["params"] = json!({"prevote": false})),
        ),
        (
            "bad raft read mode",
            with(|v| v["protocol"]["params"] = json!({"read_mode": "fast"})),
        ),
        (
            "raft parameter of the wrong type",
            with(|v| v["protocol"]["params"] = json!({"lease_ms": "100"})),
        ),
        ("nodes as a string", with(|v| v["nodes"] = json!("five"))),
        ("nodes as a float", with(|v| v["nodes"] = json!(5.0))),
        (
            "duration as a string",
            with(|v| v["duration_ms"] = json!("10s")),
        ),
        ("negative seed", with(|v| v["seed"] = json!(-1))),
        ("seed as a float", with(|v| v["seed"] = json!(1.5))),
        (
            "fractional at_ms",
            with(|v| v["faults"] = json!([{"at_ms": 1.5, "type": "heal"}])),
        ),
        (
            "node id as a string",
            with(|v| v["faults"] = json!([{"at_ms": 1, "type": "crash", "node": "0"}])),
        ),
        (
            "bad fault type",
            with(|v| v["faults"] = json!([{"at_ms": 1, "type": "explode", "node": 0}])),
        ),
        (
            "fault type in the wrong case",
            with(|v| v["faults"] = json!([{"at_ms": 1, "type": "AddNode", "node": 4}])),
        ),
        (
            "fault without type",
            with(|v| v["faults"] = json!([{"at_ms": 1, "node": 0}])),
        ),
        (
            "fault without at_ms",
            with(|v| v["faults"] = json!([{"type": "heal"}])),
        ),
        (
            "crash without node",
            with(|v| v["faults"] = json!([{"at_ms": 1, "type": "crash"}])),
        ),
        (
            "pause without duration",
            with(|v| v["faults"] = json!([{"at_ms": 1, "type": "pause", "node": 0}])),
        ),
        (
            "client op without key",
            with(|v| {
                v["faults"] =
                    json!([{"at_ms": 1, "type": "client", "node": 0, "op": {"f": "read"}}])
            }),
        ),
        (
            "client op with a bad f",
            with(
                |v| v["faults"] = json!([{"at_ms": 1, "type": "client", "node": 0, "op": {"f": "delete", "key": "k0"}}]),
            ),
        ),
        (
            "write without value",
            with(
                |v| v["faults"] = json!([{"at_ms": 1, "type": "client", "node": 0, "op": {"f": "write", "key": "k0"}}]),
            ),
        ),
        (
            "restart with disk null",
            with(|v| {
                v["faults"] = json!([{"at_ms": 1, "type": "restart", "node": 0, "disk": null}])
            }),
        ),
        (
            "missing version",
            with(|v| {
                v.as_object_mut().unwrap().remove("version");
            }),
        ),
        ("version 2", with(|v| v["version"] = json!(2))),
        ("version as a string", with(|v| v["version"] = json!("1"))),
        (
            "missing protocol",
            with(|v| {
                v.as_object_mut().unwrap().remove("protocol");
            }),
        ),
        (
            "missing protocol name",
            with(|v| v["protocol"] = json!({"params": {}})),
        ),
        (
            "unknown protocol",
            with(|v| v["protocol"]["name"] = json!("zab")),
        ),
        (
            "missing nodes",
            with(|v| {
                v.as_object_mut().unwrap().remove("nodes");
            }),
        ),
        (
            "missing duration",
            with(|v| {
                v.as_object_mut().unwrap().remove("duration_ms");
            }),
        ),
        (
            "workload without clients",
            with(|v| v["workload"] = json!({"rate": 5})),
        ),
        (
            "latency without base_ms",
            with(|v| v["network"] = json!({"latency": {"jitter_ms": 5}})),
        ),
        (
            "link without to",
            with(|v| v["links"] = json!([{"from": 0}])),
        ),
        (
            "bad distribution",
            with(|v| v["network"] = json!({"latency": {"base_ms": 1, "distribution": "pareto"}})),
        ),
        (
            "unknown nemesis fault",
            with(|v| v["nemesis"] = json!({"faults": ["meteor"]})),
        ),
        ("links null", with(|v| v["links"] = json!(null))),
        ("network null", with(|v| v["network"] = json!(null))),
        ("name null", with(|v| v["name"] = json!(null))),
        ("scenario is an array", json!([base()])),
    ]
}

#[test]
fn broken_scenarios_are_rejected_by_both() {
    let schema = schema();
    let val = Validator::new(&schema);
    for (what, v) in broken() {
        assert!(
            !val.errors(&v).is_empty(),
            "the schema accepts a broken scenario ({what}): {v}"
        );
        let text = v.to_string();
        let loaded = scenario::load(&text);
        assert!(
            loaded.is_err(),
            "the parser accepts a broken scenario ({what}): {text}"
        );
    }
}

/// Things a reader might not expect the parser to accept; the schema says the same.
#[test]
fn odd_but_valid_scenarios_are_accepted_by_both() {
    let cases = [
        (
            "nodes as objects, all defaults",
            with(|v| v["nodes"] = json!([{}, {}, {}])),
        ),
        (
            "null optional fields",
            with(|v| {
                v["workload"] = json!(null);
                v["nemesis"] = json!(null);
                v["protocol"]["params"] = json!(null);
                v["nodes"] = json!([{"x": null, "y": null}]);
            }),
        ),
        (
            "null inside a workload and a link",
            with(|v| {
                v["workload"] = json!({"clients": 1, "stop_ms": null});
                v["links"] = json!([{"from": 0, "to": 1, "latency": null, "loss": null}]);
            }),
        ),
        ("largest seed", with(|v| v["seed"] = json!(u64::MAX))),
        (
            "zero clients",
            with(|v| v["workload"] = json!({"clients": 0})),
        ),
        (
            "heal with an extra field (ignored)",
            with(|v| v["faults"] = json!([{"at_ms": 1, "type": "heal", "node": 3}])),
        ),
        (
            "integer where a float is expected",
            with(|v| v["network"] = json!({"latency": {"base_ms": 5}, "loss": 0})),
        ),
        (
            "empty objects",
            with(|v| {
                v["network"] = json!({});
                v["checks"] = json!({});
                v["nemesis"] = json!({});
                v["protocol"]["params"] = json!({});
            }),
        ),
        (
            "fault at the very end",
            with(|v| v["faults"] = json!([{"at_ms": 10000, "type": "heal"}])),
        ),
    ];
    for (what, v) in cases {
        assert_accepted(&v, what);
    }
}

/// Set `value` at the JSON pointer `ptr`, creating the last key if needed.
fn set(v: &mut Value, ptr: &str, value: Value) {
    let (parent, key) = ptr.rsplit_once('/').expect("a pointer");
    let p = v
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no parent for {ptr}"));
    match p {
        Value::Object(o) => {
            o.insert(key.to_string(), value);
        }
        Value::Array(a) => a[key.parse::<usize>().expect("an index")] = value,
        _ => panic!("{ptr}: parent is not a container"),
    }
}

/// Values on both sides of every bound: schema and parser must give the same verdict.
#[test]
fn bounds_agree_with_validation() {
    let base = json!({
        "version": 1,
        "protocol": {"name": "raft", "params": {}},
        "nodes": 3,
        "network": {
            "latency": {"base_ms": 2, "jitter_ms": 1, "distribution": "normal"},
            "loss": 0, "duplicate": 0, "reorder": 0, "client_latency_ms": 1
        },
        "links": [{"from": 0, "to": 0, "latency": {"base_ms": 2}, "loss": 0}],
        // Clients for 10 ms only: the most clients at the highest rate stay within the
        // cap on a run's operations (probed on its own below).
        "workload": {"clients": 2, "rate": 5, "keys": 2, "timeout_ms": 100, "retries": 1,
                     "mix": {"read": 1, "write": 1, "cas": 1}, "stop_ms": 10,
                     "capacity": {"rate": 100, "queue": 10}},
        "faults": [
            {"at_ms": 0, "type": "pause", "node": 0, "duration_ms": 100},
            {"at_ms": 0, "type": "clock", "node": 0, "skew_ms": 0, "drift_ppm": 0},
            {"at_ms": 0, "type": "client", "node": 0, "op": {"f": "write", "key": "k0", "value": 1}},
            {"at_ms": 0, "type": "degrade", "from": 0, "to": 0, "loss": 0.5}
        ],
        "nemesis": {"interval_ms": 100},
        "checks": {"converge_after_ms": 0},
        "duration_ms": 3600000,
        "metrics_window_ms": 1000
    });
    let long_key = "k".repeat(64);
    let too_long_key = "k".repeat(65);
    let many_nodes: Vec<Value> = (0..65).map(|_| json!({})).collect();
    let probe: Vec<(&str, Vec<Value>)> = vec![
        (
            "/duration_ms",
            vec![json!(0), json!(1), json!(3600000), json!(3600001)],
        ),
        (
            "/metrics_window_ms",
            vec![json!(0), json!(1), json!(u64::MAX)],
        ),
        ("/seed", vec![json!(0), json!(u64::MAX), json!(-1)]),
        (
            "/nodes",
            vec![
                json!(0),
                json!(1),
                json!(64),
                json!(65),
                json!(-1),
                json!([]),
                json!([{"x": -0.01}]),
                json!([{"x": 0, "y": 1}]),
                json!([{"y": 1.01}]),
                json!(many_nodes[..64]),
                json!(many_nodes),
            ],
        ),
        (
            "/network/latency/base_ms",
            vec![
                json!(0),
                json!(0.09),
                json!(0.1),
                json!(60000),
                json!(60000.5),
            ],
        ),
        (
            "/network/latency/jitter_ms",
            vec![json!(-0.1), json!(0), json!(60000), json!(60001)],
        ),
        (
            "/network/loss",
            vec![json!(-0.1), json!(0), json!(1), json!(1.01)],
        ),
        (
            "/network/duplicate",
            vec![json!(-0.1), json!(1), json!(1.01)],
        ),
        ("/network/reorder", vec![json!(-0.1), json!(1), json!(1.01)]),
        (
            "/network/client_latency_ms",
            vec![json!(0), json!(0.1), json!(60000), json!(60000.1)],
        ),
        ("/links/0/loss", vec![json!(-0.1), json!(1), json!(1.5)]),
        ("/links/0/reorder", vec![json!(-0.1), json!(1), json!(1.5)]),
        ("/links/0/latency/base_ms", vec![json!(0.05), json!(0.1)]),
        (
            "/workload/clients",
            vec![json!(0), json!(1000), json!(1001)],
        ),
        (
            "/workload/rate",
            vec![
                json!(0),
                json!(-1),
                json!(0.001),
                json!(10000),
                json!(10000.5),
            ],
        ),
        (
            "/workload/keys",
            vec![json!(0), json!(1), json!(10000), json!(10001)],
        ),
        ("/workload/timeout_ms", vec![json!(0), json!(1)]),
        ("/workload/retries", vec![json!(0), json!(100), json!(101)]),
        (
            "/workload/mix/read",
            vec![json!(-0.5), json!(0), json!(7.5)],
        ),
        ("/workload/attach", vec![json!([0, 1, 2]), json!([-1])]),
        (
            "/workload/capacity/rate",
            vec![
                json!(0),
                json!(-1),
                json!(0.0009),
                json!(0.001),
                json!(1000000),
                json!(1000000.5),
            ],
        ),
        (
            "/workload/capacity/queue",
            vec![json!(0), json!(1), json!(1000000), json!(1000001)],
        ),
        (
            "/faults/0/duration_ms",
            vec![json!(0), json!(1), json!(3600000), json!(3600001)],
        ),
        (
            "/faults/1/skew_ms",
            vec![
                json!(-3600001),
                json!(-3600000),
                json!(3600000),
                json!(3600001),
            ],
        ),
        (
            "/faults/1/drift_ppm",
            vec![json!(-900001), json!(-900000), json!(900000), json!(900001)],
        ),
        (
            "/faults/2/op/key",
            vec![json!(""), json!("a"), json!(long_key), json!(too_long_key)],
        ),
        (
            "/faults/2/op/value",
            vec![json!(i64::MIN), json!(i64::MAX), json!(u64::MAX)],
        ),
        ("/faults/3/loss", vec![json!(-0.1), json!(1), json!(1.1)]),
        ("/nemesis/interval_ms", vec![json!(9), json!(10)]),
        (
            "/nemesis/faults",
            vec![
                json!([]),
                json!(scenario::NEMESIS_KINDS),
                json!(["crash", "typo"]),
            ],
        ),
        ("/checks/converge_after_ms", vec![json!(0), json!(u64::MAX)]),
        (
            "/protocol/params/election_timeout_min_ms",
            vec![json!(0), json!(-1), json!(u64::MAX)],
        ),
        (
            "/protocol/params/read_mode",
            vec![
                json!("lease"),
                json!("log"),
                json!("read_index"),
                json!("Lease"),
            ],
        ),
        ("/protocol/params/pre_vote", vec![json!(false), json!(0)]),
    ];
    let schema = schema();
    let val = Validator::new(&schema);
    assert!(val.errors(&base).is_empty(), "{:?}", val.errors(&base));
    load_verdict(&base.to_string()).expect("the probe base loads");
    let mut disagreements = Vec::new();
    for (ptr, values) in probe {
        for x in values {
            let mut v = base.clone();
            set(&mut v, ptr, x.clone());
            let by_schema = val.errors(&v);
            let by_parser = load_verdict(&v.to_string());
            // Rules across fields (a time inside the run, a minimum below its maximum,
            // as many attachments as clients) are the parser's alone: JSON Schema
            // cannot compare two values.
            let cross_field = by_parser.as_ref().err().is_some_and(|e| {
                let e = e.to_string();
                e.contains("after the end of the run")
                    || e.contains("is below")
                    || e.contains(" nodes for ")
            });
            if by_schema.is_empty() != by_parser.is_ok() && !(by_schema.is_empty() && cross_field) {
                disagreements.push(format!(
                    "{ptr} = {x}: schema {}, parser {}",
                    if by_schema.is_empty() {
                        "accepts".to_string()
                    } else {
                        format!("rejects ({})", by_schema.join("; "))
                    },
                    match &by_parser {
                        Ok(_) => "accepts".to_string(),
                        Err(e) => format!("rejects ({e})"),
                    },
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "schema and parser disagree:\n{}",
        disagreements.join("\n")
    );
}

// ---- (d) names and defaults match the serde structs ---------------------------------

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

fn schema_keys(schema: &Value, def: &Value) -> Vec<String> {
    let v = Validator::new(schema);
    let def = match def.get("$ref").and_then(Value::as_str) {
        Some(r) => v.resolve(r),
        None => def,
    };
    keys(&def["properties"])
}

fn latency() -> LatencySpec {
    LatencySpec {
        base_ms: 1.0,
        jitter_ms: 2.0,
        distribution: Distribution::Exponential,
    }
}

fn long_delay() -> LongDelay {
    LongDelay {
        probability: 0.1,
        min_ms: 200.0,
        max_ms: 2200.0,
    }
}

/// A scenario with every optional field set, so that serialisation writes every key.
fn full() -> Scenario {
    Scenario {
        schema: Some("https://example.org/scenario.schema.json".into()),
        version: 1,
        name: "n".into(),
        description: "d".into(),
        watch: "w".into(),
        protocol: ProtocolSpec {
            name: "raft".into(),
            params: json!({"pre_vote": false}),
            data_type: Some("cas-register".into()),
        },
        nodes: Nodes::List(vec![
            NodeSpec {
                x: Some(0.5),
                y: Some(0.5),
                spare: false,
            },
            NodeSpec {
                x: Some(0.1),
                y: Some(0.1),
                spare: true,
            },
        ]),
        network: NetworkSpec {
            long_delay: Some(long_delay()),
            ..NetworkSpec::default()
        },
        links: vec![LinkSpec {
            from: 0,
            to: 1,
            both_ways: false,
            latency: Some(latency()),
            loss: Some(0.1),
            duplicate: Some(0.1),
            reorder: Some(0.1),
            long_delay: Some(long_delay()),
        }],
        workload: Some(WorkloadSpec {
            clients: 2,
            attach: vec![0, 0],
            rate: 3.0,
            mix: OpMix::register(0.5, 0.4, 0.1),
            keys: 3,
            timeout_ms: 100,
            retries: 1,
            start_ms: 10,
            stop_ms: Some(900),
            client: Some(quorumlab_sim::scenario::ClientPolicy {
                balance: quorumlab_sim::resilience::Balance::Weighted,
                weights: vec![1, 2],
                eject_after: 2,
                eject_ms: 300,
                backoff: quorumlab_sim::resilience::BackoffKind::Exponential,
                backoff_ms: 10,
                backoff_max_ms: 80,
                jitter: false,
                retry_budget: Some(0.2),
                breaker: Some(quorumlab_sim::scenario::BreakerSpec {
                    failures: 2,
                    cool_down_ms: 200,
                    trials: 2,
                }),
                degrade: true,
            }),
            rate_limit: Some(quorumlab_sim::scenario::RateLimit {
                rate: 50.0,
                burst: 5,
            }),
            capacity: Some(quorumlab_sim::scenario::CapacitySpec {
                rate: 150.0,
                queue: 40,
            }),
        }),
        faults: all_faults(),
        nemesis: Some(NemesisSpec {
            stop_ms: Some(800),
            keep_majority: true,
            iterations: Some(3),
            ..NemesisSpec::default()
        }),
        checks: ChecksSpec::default(),
        expect: all_expectations(),
        challenge: Some(quorumlab_sim::challenge::Challenge {
            goal: "keep it leaderless".into(),
            allow: vec!["faults".into(), "protocol.params.read_mode".into()],
            max_faults: Some(2),
            keep_disks: true,
            impossible: Some(quorumlab_sim::challenge::Impossible {
                after_attempts: 3,
                why: "why".into(),
            }),
            frozen: Some("0123456789abcdef".into()),
            attempts: 1,
        }),
        duration_ms: 1000,
        seed: 7,
        metrics_window_ms: 100,
    }
}

/// One expectation of every type, every optional field set.
fn all_expectations() -> Vec<Expectation> {
    let kinds = vec![
        ExpectKind::Leader {
            after_ms: 10,
            within_ms: 500,
        },
        ExpectKind::OneLeaderPerTerm {},
        ExpectKind::NoCommit {
            from_ms: 10,
            to_ms: 20,
        },
        ExpectKind::AtLeast {
            n: 1,
            op: OpFilter::Write,
            from_ms: 10,
            to_ms: 20,
        },
        ExpectKind::TermStable {
            from_ms: 10,
            to_ms: 20,
        },
        ExpectKind::LeaderStable {
            from_ms: 10,
            to_ms: 20,
        },
        ExpectKind::Messages {
            kind: Some("vote".into()),
            at_most_per_s: Some(5.0),
            at_least_per_s: Some(1.0),
            from_ms: 10,
            to_ms: 20,
        },
        ExpectKind::Availability {
            at_least: Some(0.5),
            at_most: Some(1.0),
            from_ms: 10,
            to_ms: 20,
            nodes: vec![0],
        },
        ExpectKind::Linearizable { holds: true },
        ExpectKind::Role {
            node: 0,
            role: RoleName::Leader,
            at_ms: 10,
        },
        ExpectKind::StateEqual {},
        ExpectKind::Suspects {
            node: Some(0),
            nodes: vec![1],
            at_ms: 10,
        },
        ExpectKind::FalseSuspicions {
            at_least: Some(0.0),
            at_most: Some(3.0),
            from_ms: 10,
            to_ms: 20,
        },
        ExpectKind::Anomaly {
            kind: quorumlab_sim::anomaly::AnomalyKind::StaleRead,
            at_least: Some(0.0),
            at_most: Some(3.0),
        },
        ExpectKind::Overlaps {
            at_least: Some(0.0),
            at_most: Some(3.0),
            from_ms: 10,
            to_ms: 20,
        },
    ];
    kinds
        .into_iter()
        .map(|kind| Expectation {
            says: "why".into(),
            kind,
        })
        .collect()
}

/// One fault of every type, every optional field set.
fn all_faults() -> Vec<Fault> {
    let kinds = vec![
        FaultKind::Crash { node: 0.into() },
        FaultKind::Restart {
            node: NodeRef::LastCrashed,
            disk: false,
        },
        FaultKind::Pause {
            node: NodeRef::Leader,
            duration_ms: 5,
        },
        FaultKind::Clock {
            node: 0.into(),
            skew_ms: 5,
            drift_ppm: 5,
        },
        FaultKind::Partition {
            groups: vec![vec![0.into(), NodeRef::Follower]],
        },
        FaultKind::Isolate {
            node: NodeRef::LongestLog,
        },
        FaultKind::Reconnect { node: 0.into() },
        FaultKind::Cut { from: 0, to: 1 },
        FaultKind::Heal,
        FaultKind::Degrade {
            from: 0,
            to: 1,
            both_ways: false,
            latency: Some(latency()),
            loss: Some(0.5),
            duplicate: Some(0.1),
            reorder: Some(0.2),
            long_delay: Some(long_delay()),
        },
        FaultKind::Restore {
            from: 0,
            to: 1,
            both_ways: false,
        },
        FaultKind::AddNode { node: 1 },
        FaultKind::RemoveNode { node: 0 },
        FaultKind::Promote { node: 1 },
        FaultKind::Client {
            node: 0,
            op: Op::Cas {
                key: "k0".into(),
                expect: 1,
                new: 2,
            },
        },
    ];
    kinds
        .into_iter()
        .map(|kind| Fault { at_ms: 1, kind })
        .collect()
}

#[test]
fn schema_property_names_are_the_serde_field_names() {
    let schema = schema();
    let s = full();
    scenario::load(&s.to_json()).expect("the full scenario is valid");
    let v = serde_json::to_value(&s).expect("serialises");
    let p = &schema["properties"];
    assert_eq!(keys(p), keys(&v), "top-level fields");
    let pairs = [
        (&p["protocol"], &v["protocol"]),
        (&p["network"], &v["network"]),
        (&p["checks"], &v["checks"]),
        (&schema["$defs"]["latency"], &v["network"]["latency"]),
        (&schema["$defs"]["node"], &v["nodes"][1]),
        (&schema["$defs"]["link"], &v["links"][0]),
        (&schema["$defs"]["workload"], &v["workload"]),
        (&schema["$defs"]["nemesis"], &v["nemesis"]),
    ];
    for (def, inst) in pairs {
        assert_eq!(schema_keys(&schema, def), keys(inst), "fields of {inst}");
    }
    // A mix names the operations of every data type a protocol can declare.
    let mut ops: Vec<String> = quorumlab_core::DataType::ALL
        .iter()
        .flat_map(|d| d.ops.iter().map(|o| o.name().to_string()))
        .collect();
    ops.sort();
    ops.dedup();
    let mut mix_keys = schema_keys(&schema, &schema["$defs"]["op_mix"]);
    mix_keys.sort();
    assert_eq!(mix_keys, ops, "the operations a mix may name");
    // Every fault type, and nothing else, has a variant in the schema.
    let mut types: Vec<String> = Vec::new();
    for f in v["faults"].as_array().expect("faults") {
        let t = f["type"].as_str().expect("a type");
        types.push(t.to_string());
        let def = &schema["$defs"][format!("fault_{t}")];
        assert!(def.is_object(), "no $defs.fault_{t}");
        assert_eq!(schema_keys(&schema, def), keys(f), "fields of fault `{t}`");
    }
    let declared: Vec<String> = schema["$defs"]["fault"]["properties"]["type"]["enum"]
        .as_array()
        .expect("fault type enum")
        .iter()
        .filter_map(|t| t.as_str().map(String::from))
        .collect();
    assert_eq!(declared, types, "fault types (and their order)");
    assert_eq!(
        schema["$defs"]["fault"]["oneOf"].as_array().map(Vec::len),
        Some(types.len())
    );
    // Every expectation type, and nothing else, has a variant in the schema.
    let mut types: Vec<String> = Vec::new();
    for x in v["expect"].as_array().expect("expect") {
        let t = x["type"].as_str().expect("a type");
        types.push(t.to_string());
        let def = &schema["$defs"][format!("expect_{t}")];
        assert!(def.is_object(), "no $defs.expect_{t}");
        assert_eq!(
            schema_keys(&schema, def),
            keys(x),
            "fields of expectation `{t}`"
        );
    }
    let declared: Vec<String> = schema["$defs"]["expectation"]["properties"]["type"]["enum"]
        .as_array()
        .expect("expectation type enum")
        .iter()
        .filter_map(|t| t.as_str().map(String::from))
        .collect();
    assert_eq!(declared, types, "expectation types (and their order)");
    // Operations.
    let ops = [
        Op::Read { key: "k".into() },
        Op::Write {
            key: "k".into(),
            value: 1,
        },
        Op::Cas {
            key: "k".into(),
            expect: 1,
            new: 2,
        },
        Op::Append {
            key: "k".into(),
            value: "[1]".into(),
        },
        Op::Acquire { key: "k".into() },
        Op::Release { key: "k".into() },
    ];
    let variants = schema["$defs"]["op"]["oneOf"]
        .as_array()
        .expect("op variants");
    assert_eq!(variants.len(), ops.len());
    for (op, def) in ops.iter().zip(variants) {
        let o = serde_json::to_value(op).expect("serialises");
        assert_eq!(def["properties"]["f"]["const"], o["f"]);
        assert_eq!(keys(&def["properties"]), keys(&o), "fields of op {o}");
    }
    // Enumerations that live in Rust constants.
    let kinds: Vec<&str> = schema["$defs"]["nemesis"]["properties"]["faults"]["items"]["enum"]
        .as_array()
        .expect("nemesis kinds")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(kinds, scenario::NEMESIS_KINDS, "nemesis fault kinds");
    let anomalies: Vec<&str> = schema["$defs"]["expect_anomaly"]["properties"]["kind"]["enum"]
        .as_array()
        .expect("anomaly kinds")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let named: Vec<&str> = quorumlab_sim::anomaly::AnomalyKind::ALL
        .iter()
        .map(|k| k.name())
        .collect();
    assert_eq!(anomalies, named, "anomaly kinds");
    let names: Vec<&str> = p["protocol"]["properties"]["name"]["enum"]
        .as_array()
        .expect("protocol names")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(names, registry::names(), "protocol names");
    // Raft parameters.
    let raft = serde_json::to_value(RaftParams::default()).expect("serialises");
    assert_eq!(
        keys(&schema["$defs"]["raft_params"]["properties"]),
        keys(&raft),
        "Raft parameters"
    );
}

/// The field names in a serde "unknown field `x`, expected one of `a`, `b`" message.
fn expected_fields(message: &str) -> Vec<String> {
    let Some((_, tail)) = message.split_once("expected") else {
        return Vec::new();
    };
    let mut names: Vec<String> = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect();
    names.sort();
    names
}

/// The parameters each protocol's parser knows are the ones the schema declares, and
/// the schema's defaults are accepted. Learnt from the parser's own "unknown field"
/// message, so this checks the parser, not only the registry's description of it.
#[test]
fn protocol_params_match_the_parser() {
    let schema = schema();
    let val = Validator::new(&schema);
    for e in registry::entries() {
        let (name, def) = (e.name, e.schema_def());
        let mut v = base();
        v["protocol"] = json!({"name": name, "params": {"no_such_parameter": 1}});
        assert!(
            !val.errors(&v).is_empty(),
            "{name}: the schema accepts an unknown parameter"
        );
        let message = load_verdict(&v.to_string())
            .err()
            .unwrap_or_else(|| panic!("{name}: the parser accepts an unknown parameter"));
        let declared = schema_keys(&schema, &schema["$defs"][&def]);
        assert_eq!(
            expected_fields(&message),
            declared,
            "{name} parameters ({message})"
        );
        let mut defaults = Map::new();
        for (k, p) in schema["$defs"][&def]["properties"]
            .as_object()
            .expect("properties")
        {
            defaults.insert(k.clone(), p["default"].clone());
        }
        v["protocol"]["params"] = Value::Object(defaults);
        if name == "sharded-raft" {
            // Its nodes form groups of `group_size` (3): five nodes do not split.
            v["nodes"] = json!(6);
        }
        assert_accepted(
            &v,
            &format!("{name} with every parameter at its schema default"),
        );
    }
}

// ---- (e) the protocol part of the schema is generated from the registry ---------------

/// The byte range of the value of `"key": ` written at exactly `indent` spaces, inside
/// `within`.
fn value_span(
    text: &str,
    key: &str,
    indent: usize,
    within: (usize, usize),
) -> Option<(usize, usize)> {
    let needle = format!("\n{}\"{key}\": ", " ".repeat(indent));
    let start = text[within.0..within.1].find(&needle)? + within.0 + needle.len();
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for (i, &b) in text.as_bytes()[start..within.1].iter().enumerate() {
        if in_str {
            match b {
                _ if esc => esc = false,
                b'\\' => esc = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some((start, start + i + 1));
                }
            }
            _ => {}
        }
    }
    None
}

/// `v` pretty-printed as the schema file is (two spaces), starting at `indent`.
fn pretty_at(v: &Value, indent: usize) -> String {
    serde_json::to_string_pretty(v)
        .expect("serialises")
        .replace('\n', &format!("\n{}", " ".repeat(indent)))
}

/// The schema text with its protocol part replaced by `protocol` and the parameter
/// definitions by `defs` (added at the end of `$defs` when missing).
fn regenerate(text: &str, protocol: &Value, defs: &[(String, Value)]) -> String {
    let mut text = text.to_string();
    let all = (0, text.len());
    let props = value_span(&text, "properties", 2, all).expect("root properties");
    let span = value_span(&text, "protocol", 4, props).expect("properties.protocol");
    text.replace_range(span.0..span.1, &pretty_at(protocol, 4));
    for (name, def) in defs {
        let all = (0, text.len());
        let d = value_span(&text, "$defs", 2, all).expect("$defs");
        match value_span(&text, name, 4, d) {
            Some(span) => text.replace_range(span.0..span.1, &pretty_at(def, 4)),
            None => {
                let close = d.1 - 1;
                let body = text[..close].trim_end().len();
                text.replace_range(
                    body..close,
                    &format!(",\n    \"{name}\": {}\n  ", pretty_at(def, 4)),
                );
            }
        }
    }
    text
}

/// `scenarios/scenario.schema.json`'s protocol names and parameter definitions are the
/// registry's (its `ParamSpec`s and `Params` defaults). When a protocol or a parameter
/// changes, regenerate them: `UPDATE_SCHEMA=1 cargo test -p quorumlab-sim --test schema
/// the_protocol_part`.
#[test]
fn the_protocol_part_of_the_schema_is_generated_from_the_registry() {
    let path = repo().join("scenarios/scenario.schema.json");
    let text = std::fs::read_to_string(&path).expect("the schema file");
    let schema: Value = serde_json::from_str(&text).expect("JSON");
    let protocol = registry::protocol_schema();
    let defs: Vec<(String, Value)> = registry::entries()
        .iter()
        .map(|e| (e.schema_def(), registry::params_schema(e)))
        .collect();
    let mut stale = Vec::new();
    if schema["properties"]["protocol"] != protocol {
        stale.push("properties.protocol".to_string());
    }
    for (name, def) in &defs {
        if &schema["$defs"][name] != def {
            stale.push(format!("$defs.{name}"));
        }
    }
    for name in schema["$defs"].as_object().expect("$defs").keys() {
        assert!(
            !name.ends_with("_params") || defs.iter().any(|(n, _)| n == name),
            "$defs.{name} is no protocol's parameters: remove it from {}",
            path.display()
        );
    }
    if stale.is_empty() {
        return;
    }
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        let new = regenerate(&text, &protocol, &defs);
        let back: Value = serde_json::from_str(&new).expect("regenerated JSON");
        assert_eq!(back["properties"]["protocol"], protocol);
        std::fs::write(&path, new).expect("writes the schema");
        eprintln!("regenerated {}: {}", path.display(), stale.join(", "));
        return;
    }
    panic!(
        "{} is stale ({}): it is generated from the protocol registry \
         (quorumlab_sim::registry, the protocols' PARAMS). Regenerate it with\n  \
         UPDATE_SCHEMA=1 cargo test -p quorumlab-sim --test schema the_protocol_part",
        path.display(),
        stale.join(", ")
    );
}

/// For every property of `def` (following $ref) that has a `default` and that `given`
/// leaves out, the parser must have filled in that default (`got` is what it serialised).
fn check_defaults(
    schema: &Value,
    def: &Value,
    given: &Value,
    got: &Value,
    path: &str,
    bad: &mut Vec<String>,
) {
    let v = Validator::new(schema);
    let def = match def.get("$ref").and_then(Value::as_str) {
        Some(r) => v.resolve(r),
        None => def,
    };
    let props = def["properties"].as_object().expect("properties");
    for (k, p) in props {
        let (Some(d), None, Some(x)) = (p.get("default"), given.get(k), got.get(k)) else {
            continue;
        };
        if !same(d, x) {
            bad.push(format!(
                "{path}.{k}: the schema says {d}, the parser gives {x}"
            ));
        }
    }
}

#[test]
fn schema_defaults_are_the_parser_defaults() {
    let schema = schema();
    let defs = &schema["$defs"];
    let given = json!({
        "version": 1,
        "protocol": {"name": "raft"},
        "nodes": [{}],
        "duration_ms": 1000,
        "links": [{"from": 0, "to": 0, "latency": {"base_ms": 1}}],
        "workload": {"clients": 1},
        "nemesis": {},
        "faults": [
            {"at_ms": 0, "type": "restart", "node": 0},
            {"at_ms": 0, "type": "clock", "node": 0},
            {"at_ms": 0, "type": "degrade", "from": 0, "to": 0, "latency": {"base_ms": 1}},
            {"at_ms": 0, "type": "restore", "from": 0, "to": 0}
        ]
    });
    let s = scenario::load(&given.to_string()).expect("the minimal scenario loads");
    let got = serde_json::to_value(&s).expect("serialises");
    let none = json!({});
    let mut bad = Vec::new();
    let pairs: [(&Value, &Value, &Value, &str); 8] = [
        (&schema, &given, &got, "(root)"),
        (&defs["network"], &none, &got["network"], "network"),
        (&defs["checks"], &none, &got["checks"], "checks"),
        (
            &defs["link"],
            &given["links"][0],
            &got["links"][0],
            "links[0]",
        ),
        (
            &defs["latency"],
            &given["links"][0]["latency"],
            &got["links"][0]["latency"],
            "links[0].latency",
        ),
        (
            &defs["workload"],
            &given["workload"],
            &got["workload"],
            "workload",
        ),
        (
            &defs["nemesis"],
            &given["nemesis"],
            &got["nemesis"],
            "nemesis",
        ),
        (
            &defs["node"],
            &given["nodes"][0],
            &got["nodes"][0],
            "nodes[0]",
        ),
    ];
    for (def, g, x, path) in pairs {
        check_defaults(&schema, def, g, x, path, &mut bad);
    }
    for (i, (g, x)) in given["faults"]
        .as_array()
        .expect("faults")
        .iter()
        .zip(got["faults"].as_array().expect("faults"))
        .enumerate()
    {
        let t = x["type"].as_str().expect("a type");
        let def = &defs[format!("fault_{t}")];
        check_defaults(&schema, def, g, x, &format!("faults[{i}]"), &mut bad);
    }
    // A written-out mix: omitted weights are 0.
    let mix_given = json!({"read": 1});
    let mut with_mix = given.clone();
    with_mix["workload"]["mix"] = mix_given.clone();
    let s2 = scenario::load(&with_mix.to_string()).expect("loads");
    let mix_got = serde_json::to_value(&s2.workload.expect("workload").mix).expect("serialises");
    check_defaults(
        &schema,
        &defs["op_mix"],
        &mix_given,
        &mix_got,
        "workload.mix",
        &mut bad,
    );
    // Raft parameters.
    let raft = serde_json::to_value(RaftParams::default()).expect("serialises");
    check_defaults(
        &schema,
        &defs["raft_params"],
        &none,
        &raft,
        "raft",
        &mut bad,
    );
    // Fields the serialiser leaves out when they hold their default.
    let skipped = [
        ("name", json!("")),
        ("description", json!("")),
        ("watch", json!("")),
        ("links", json!([])),
        ("faults", json!([])),
    ];
    for (k, d) in skipped {
        assert_eq!(schema["properties"][k]["default"], d, "default of {k}");
    }
    assert!(bad.is_empty(), "defaults differ:\n{}", bad.join("\n"));
}

#[test]
fn the_documented_share_link_decodes_to_the_documented_scenario() {
    let md = doc();
    let link = md
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("http") && l.contains("#2."))
        .expect("the doc shows a share link");
    let decoded = quorumlab_sim::url::decode(link).expect("the doc's link decodes");
    let blocks = json_blocks(&md);
    let smallest = blocks.get(1).expect("the doc's second ```json block");
    let expected = scenario::load(smallest).expect("the smallest scenario loads");
    assert_eq!(decoded, expected, "the link is not the smallest scenario");
    assert_eq!(
        link.split_once('#').map(|(_, f)| f.to_string()),
        Some(quorumlab_sim::url::encode(&expected)),
        "the link is not what `quorumlab url` writes"
    );
}

#[test]
fn the_hand_written_pretty_printer_matches_serde_json() {
    let mut s = full();
    s.description = "quotes \" and \\ backslashes, {braces} [brackets]: commas, colons".into();
    let ours = s.to_json_pretty();
    let theirs = serde_json::to_string_pretty(&s).unwrap();
    assert_eq!(ours, theirs);
    for (name, p) in preset_files().iter().map(|p| (p.display().to_string(), p)) {
        let s = scenario::parse(&std::fs::read_to_string(p).unwrap()).unwrap();
        assert_eq!(
            s.to_json_pretty(),
            serde_json::to_string_pretty(&s).unwrap(),
            "{name}"
        );
    }
}
