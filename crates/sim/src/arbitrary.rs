//! Random scenarios drawn from one seed: for the determinism property test (any
//! protocol of the catalogue, any fault the format has) and for `explore --swarm`
//! (a base scenario with its fault mix, rates and protocol parameters drawn per seed,
//! the way TigerBeetle's VOPR and FoundationDB's simulation vary their configuration).
//!
//! Everything comes from [`Rng`] streams of the seed, so a drawn scenario is recovered
//! from its seed alone (`quorumlab run --swarm-seed N` redraws it). Every scenario drawn
//! here passes [`Scenario::validate`]; the tests assert it.
//!
//! Scenarios are built as JSON and parsed, so that fields added to the format later
//! take their defaults here without a change.

use crate::registry::{self, Entry};
use crate::scenario::{self, Nodes, Scenario, NEMESIS_KINDS};
use quorumlab_core::{OpKind, ParamKind, ParamSpec, Rng};
use serde_json::{json, Map, Value};

/// Streams of a seed, one per part of the scenario, so that changing how one part is
/// drawn leaves the others as they were.
const STREAM_PROTOCOL: u64 = 0x5741_524d_0001;
const STREAM_NETWORK: u64 = 0x5741_524d_0002;
const STREAM_WORKLOAD: u64 = 0x5741_524d_0003;
const STREAM_FAULTS: u64 = 0x5741_524d_0004;
const STREAM_NEMESIS: u64 = 0x5741_524d_0005;
const STREAM_SHAPE: u64 = 0x5741_524d_0006;

/// A number with at most `places` decimals (so that the JSON reads back exactly the
/// same and stays short in share links).
fn round(x: f64, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (x * m).round() / m
}

/// Uniform in `[lo, hi)`, rounded to 3 decimals.
fn uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    round(lo + (hi - lo) * rng.unit(), 3)
}

/// One of `items`.
fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.below(items.len() as u64) as usize]
}

/// A value for one parameter, around its default: a quarter to four times it (half the
/// time below, half above), a random flag, a random choice. Zero defaults ("off") get a
/// small positive value half the time.
pub fn draw_param(rng: &mut Rng, p: &ParamSpec, default: Option<&Value>) -> Value {
    match p.kind {
        ParamKind::Int { min, max } => {
            let d = default.and_then(Value::as_u64).unwrap_or(min);
            let (lo, hi) = if d == 0 {
                if rng.chance(0.5) {
                    (0, 0)
                } else {
                    (1, 64)
                }
            } else if rng.chance(0.5) {
                ((d / 4).max(1), d)
            } else {
                (d, d.saturating_mul(4))
            };
            Value::from(rng.range(lo, hi).clamp(min, max))
        }
        ParamKind::Float { min, max } => {
            let d = default.and_then(Value::as_f64).unwrap_or(0.0);
            let (lo, hi) = if d == 0.0 {
                (0.0, 10.0)
            } else if rng.chance(0.5) {
                (d / 4.0, d)
            } else {
                (d, d * 4.0)
            };
            let v = uniform(rng, lo.min(hi), lo.max(hi)).clamp(min, max);
            serde_json::Number::from_f64(v)
                .map(Value::Number)
                .unwrap_or_else(|| default.cloned().unwrap_or(Value::Null))
        }
        ParamKind::Bool => Value::Bool(rng.chance(0.5)),
        ParamKind::Choice(options) => Value::from(*pick(rng, options)),
    }
}

/// Draw a protocol's parameters on top of `given` (the base scenario's): each parameter
/// is redrawn with probability `p`; seeded bugs (`unsafe_*`) only when `bugs` is true (then
/// each is switched on with a small probability), otherwise they keep the given value.
/// `spread`: randomised ranges stay wide enough (see [`widen_ranges`]).
fn draw_params(rng: &mut Rng, e: &Entry, given: &Value, p: f64, bugs: bool, spread: bool) -> Value {
    let defaults = e.default_params();
    let mut out: Map<String, Value> = given.as_object().cloned().unwrap_or_default();
    for spec in e.params {
        if spec.is_seeded_bug() {
            let on = bugs && rng.chance(0.25);
            if on {
                out.insert(spec.name.to_string(), Value::Bool(true));
            }
            continue;
        }
        // One draw per parameter whether or not it is used, so that a parameter added
        // later does not shift the draws of the others more than it must.
        let redraw = rng.chance(p);
        let v = draw_param(rng, spec, defaults.get(spec.name));
        if redraw {
            out.insert(spec.name.to_string(), v);
        }
    }
    if spread {
        widen_ranges(&mut out, e);
    }
    Value::Object(out)
}

/// For each pair of parameters `X_min_Y` and `X_max_Y` (a randomised range, like an
/// election timeout's), make the range at least half its minimum wide. Protocols accept
/// a narrower one (even a single value), but then nodes time out together and can split
/// their votes for ever: a lesson of its own, not a bug worth a swarm's report.
fn widen_ranges(out: &mut Map<String, Value>, e: &Entry) {
    let defaults = e.default_params();
    for spec in e.params {
        let Some(max_name) = spec
            .name
            .contains("_min_")
            .then(|| spec.name.replacen("_min_", "_max_", 1))
        else {
            continue;
        };
        let value = |o: &Map<String, Value>, k: &str| {
            o.get(k).or_else(|| defaults.get(k)).and_then(Value::as_u64)
        };
        let (Some(lo), Some(hi)) = (value(out, spec.name), value(out, &max_name)) else {
            continue;
        };
        let want = lo.saturating_add(lo / 2);
        if hi < want {
            out.insert(max_name, Value::from(want));
        }
    }
}

/// Make the drawn parameters satisfy the protocol's own rules (a heartbeat below the
/// election timeout, ...): while the scenario's parameters are refused, the parameter
/// named in the refusal goes back to the base's value (or its default), and when that
/// one already is, the first other drawn parameter does. Ends at the base's parameters
/// at worst, which are valid.
fn repair_params(s: &mut Scenario, base: &Value) {
    for _ in 0..64 {
        let Err(err) = registry::check_params(s) else {
            return;
        };
        let Some(o) = s.protocol.params.as_object_mut() else {
            break;
        };
        let field = err
            .path
            .strip_prefix("protocol.params.")
            .map(|f| f.split(['.', '[']).next().unwrap_or(f).to_string());
        let drawn = |o: &Map<String, Value>, k: &str| o.get(k) != base.get(k);
        let reset = match field {
            Some(f) if drawn(o, &f) => f,
            _ => match o.keys().find(|k| drawn(o, k)).cloned() {
                Some(k) => k,
                None => break,
            },
        };
        match base.get(&reset) {
            Some(v) => o.insert(reset, v.clone()),
            None => o.remove(&reset),
        };
    }
    if registry::check_params(s).is_err() {
        s.protocol.params = base.clone();
    }
}

fn latency(rng: &mut Rng, max_base: f64, max_jitter: f64) -> Value {
    json!({
        "base_ms": uniform(rng, 0.1, max_base).max(0.1),
        "jitter_ms": uniform(rng, 0.0, max_jitter),
        "distribution": *pick(rng, &["uniform", "normal", "exponential"]),
    })
}

/// A probability that is 0 with probability `off`, else uniform up to `max`.
fn rate(rng: &mut Rng, off: f64, max: f64) -> f64 {
    let zero = rng.chance(off);
    let v = uniform(rng, 0.0, max);
    if zero {
        0.0
    } else {
        v
    }
}

/// A console operation of a data type with operations `ops` (not empty).
fn op(rng: &mut Rng, ops: &[OpKind]) -> Value {
    let key = format!("k{}", rng.below(4));
    match ops[rng.below(ops.len() as u64) as usize] {
        OpKind::Write => json!({"f": "write", "key": key, "value": rng.below(100)}),
        OpKind::Cas => {
            json!({"f": "cas", "key": key, "expect": rng.below(100), "new": rng.below(100)})
        }
        k => json!({"f": k.name(), "key": key}),
    }
}

/// One fault of any kind at a time in `[0, duration]`, on nodes `0..n`; a console
/// operation is one of `ops` (a heal for a protocol that serves none).
fn fault(rng: &mut Rng, n: u64, duration: u64, ops: &[OpKind]) -> Value {
    let at = rng.range(0, duration);
    let node = rng.below(n);
    let other = rng.below(n);
    let mut f = match rng.below(12) {
        0 | 1 => json!({"type": "crash", "node": node}),
        2 | 3 => json!({"type": "restart", "node": node, "disk": rng.chance(0.8)}),
        4 => json!({"type": "pause", "node": node, "duration_ms": rng.range(1, 2000)}),
        5 => json!({"type": "clock", "node": node,
            "skew_ms": rng.range(0, 4000) as i64 - 2000,
            "drift_ppm": rng.range(0, 400_000) as i64 - 200_000}),
        6 => {
            let mut ids: Vec<u64> = (0..n).collect();
            for i in (1..ids.len()).rev() {
                ids.swap(i, rng.below(i as u64 + 1) as usize);
            }
            let keep = rng.range(1, n) as usize;
            ids.truncate(keep);
            let groups = rng.range(1, 3) as usize;
            let mut gs = vec![Vec::new(); groups];
            for (i, id) in ids.into_iter().enumerate() {
                gs[i % groups].push(id);
            }
            json!({"type": "partition", "groups": gs})
        }
        7 => json!({"type": "cut", "from": node, "to": other}),
        8 => json!({"type": "heal"}),
        9 => {
            let mut d = json!({"type": "degrade", "from": node, "to": other,
                "both_ways": rng.chance(0.5)});
            if rng.chance(0.7) {
                d["latency"] = latency(rng, 50.0, 50.0);
            }
            if rng.chance(0.5) {
                d["loss"] = json!(uniform(rng, 0.0, 0.6));
            }
            d
        }
        10 => match rng.below(3) {
            0 => {
                json!({"type": "restore", "from": node, "to": other, "both_ways": rng.chance(0.5)})
            }
            1 => json!({"type": "add_node", "node": node}),
            _ => json!({"type": "remove_node", "node": node}),
        },
        _ if ops.is_empty() => json!({"type": "heal"}),
        _ => json!({"type": "client", "node": node, "op": op(rng, ops)}),
    };
    f["at_ms"] = json!(at);
    f
}

/// The nemesis fault kinds that lose a disk (amnesia): outside every protocol's fault
/// model, so a swarm uses them only when asked for seeded bugs.
pub const DISK_LOSS_KINDS: &[&str] = &["restart_blank"];

fn nemesis_faults(rng: &mut Rng, disk_loss: bool) -> Vec<&'static str> {
    // Swarm testing: each kind is in or out, so that some runs go deep on few faults.
    // (One draw per kind either way, so that the others are drawn the same.)
    let mut kinds: Vec<&str> = NEMESIS_KINDS
        .iter()
        .copied()
        .filter(|_| rng.chance(0.5))
        .filter(|k| disk_loss || !DISK_LOSS_KINDS.contains(k))
        .collect();
    if kinds.is_empty() {
        let allowed: Vec<&str> = NEMESIS_KINDS
            .iter()
            .copied()
            .filter(|k| disk_loss || !DISK_LOSS_KINDS.contains(k))
            .collect();
        kinds.push(*pick(rng, &allowed));
    }
    kinds
}

/// A mix of `ops` (a data type's operations): each weight drawn, 0 with probability
/// `zero`; all 0 draws give the second operation (the write of a register) weight 1.
fn draw_mix(rng: &mut Rng, ops: &[OpKind], zero: f64) -> Value {
    let mut mix: Vec<f64> = ops
        .iter()
        .map(|_| {
            if rng.chance(zero) {
                0.0
            } else {
                uniform(rng, 0.05, 1.0)
            }
        })
        .collect();
    if mix.iter().all(|&m| m == 0.0) {
        let i = 1.min(mix.len().saturating_sub(1));
        if let Some(m) = mix.get_mut(i) {
            *m = 1.0;
        }
    }
    let o: serde_json::Map<String, Value> = ops
        .iter()
        .zip(mix)
        .map(|(k, w)| (k.name().to_string(), json!(w)))
        .collect();
    Value::Object(o)
}

fn workload(rng: &mut Rng, ops: &[OpKind], members: u64, duration: u64) -> Value {
    let clients = rng.range(1, 6);
    let mix = draw_mix(rng, ops, 0.25);
    let start = rng.range(0, duration / 2);
    let mut w = json!({
        "clients": clients,
        "rate": uniform(rng, 1.0, 40.0).max(1.0),
        "mix": mix,
        "keys": rng.range(1, 6),
        "timeout_ms": rng.range(50, 1000),
        "retries": rng.range(0, 5),
        "start_ms": start,
    });
    if rng.chance(0.3) {
        w["stop_ms"] = json!(rng.range(start, duration));
    }
    if rng.chance(0.3) {
        let attach: Vec<u64> = (0..rng.range(1, clients))
            .map(|_| rng.below(members))
            .collect();
        w["attach"] = json!(attach);
    }
    w
}

/// A random valid scenario: any protocol of the catalogue (seeded bugs included, now and
/// then), 1 to 9 nodes (spares and positions sometimes), any network, links, workload,
/// up to 10 timed faults of every kind, and a nemesis half the time. Short runs (at most
/// 6 simulated seconds), so that hundreds fit in a test.
pub fn scenario(seed: u64) -> Scenario {
    let mut shape = Rng::derive(seed, STREAM_SHAPE);
    let entries = registry::entries();
    let e = *pick(&mut shape, &entries);
    let n = if shape.chance(0.15) {
        shape.range(1, 2)
    } else {
        shape.range(3, 9)
    };
    // Some protocols need a few members (primary-backup: a view service and a replica).
    let n = fit(e.name, n);
    let duration = shape.range(300, 6000);
    let nodes: Value = if shape.chance(0.3) {
        let mut spares = if n > 1 { shape.below(n.min(3)) } else { 0 };
        while spares > 0 && !fits(e.name, n - spares) {
            spares -= 1;
        }
        let list: Vec<Value> = (0..n)
            .map(|i| {
                let mut v = json!({});
                if shape.chance(0.7) {
                    v["x"] = json!(round(shape.unit(), 2));
                    v["y"] = json!(round(shape.unit(), 2));
                }
                if i >= n - spares {
                    v["spare"] = json!(true);
                }
                v
            })
            .collect();
        Value::Array(list)
    } else {
        json!(n)
    };

    let mut net = Rng::derive(seed, STREAM_NETWORK);
    let network = json!({
        "latency": latency(&mut net, 20.0, 20.0),
        "loss": rate(&mut net, 0.5, 0.3),
        "duplicate": rate(&mut net, 0.6, 0.2),
        "reorder": rate(&mut net, 0.5, 0.3),
        "client_latency_ms": uniform(&mut net, 0.1, 5.0).max(0.1),
    });
    let links: Vec<Value> = (0..net.below(3))
        .map(|_| {
            let mut l = json!({"from": net.below(n), "to": net.below(n),
                "both_ways": net.chance(0.5)});
            if net.chance(0.5) {
                l["latency"] = latency(&mut net, 50.0, 30.0);
            }
            if net.chance(0.5) {
                l["loss"] = json!(uniform(&mut net, 0.0, 0.5));
            }
            if net.chance(0.3) {
                l["duplicate"] = json!(uniform(&mut net, 0.0, 0.3));
            }
            if net.chance(0.3) {
                l["reorder"] = json!(uniform(&mut net, 0.0, 0.5));
            }
            l
        })
        .collect();

    let mut wl = Rng::derive(seed, STREAM_WORKLOAD);
    // A protocol that serves no client operations gets no workload (drawn all the
    // same, so that the other streams' draws do not depend on the protocol).
    let workload_on = wl.chance(0.7) && e.data_type.serves_clients();
    let wl_value = workload(&mut wl, e.data_type.ops, n, duration);

    let mut fr = Rng::derive(seed, STREAM_FAULTS);
    let faults: Vec<Value> = (0..fr.below(11))
        .map(|_| fault(&mut fr, n, duration, e.data_type.ops))
        .collect();

    let mut nm = Rng::derive(seed, STREAM_NEMESIS);
    let nemesis_on = nm.chance(0.5);
    let start = nm.range(0, duration);
    let mut nemesis = json!({
        "interval_ms": nm.range(10, 1000),
        "start_ms": start,
        "faults": nemesis_faults(&mut nm, true),
    });
    if nm.chance(0.5) {
        nemesis["stop_ms"] = json!(nm.range(start, duration));
    }
    let checks = json!({
        "invariants": nm.chance(0.9),
        "linearizable": nm.chance(0.8),
        "converge_after_ms": *pick(&mut nm, &[0, 500, 1000, 3000]),
    });

    let mut pr = Rng::derive(seed, STREAM_PROTOCOL);
    let bugs = pr.chance(0.2);
    let params = draw_params(&mut pr, &e, &json!({}), 0.5, bugs, false);

    let mut doc = json!({
        "version": scenario::VERSION,
        "name": format!("arbitrary {seed}"),
        "protocol": {"name": e.name, "params": params},
        "nodes": nodes,
        "network": network,
        "links": links,
        "faults": faults,
        "checks": checks,
        "duration_ms": duration,
        "seed": seed,
        "metrics_window_ms": *pick(&mut shape, &[100, 250, 500, 1000, 2000]),
    });
    if workload_on {
        doc["workload"] = wl_value;
    }
    if nemesis_on {
        doc["nemesis"] = nemesis;
    }
    match finish(doc, &json!({})) {
        Ok(s) => s,
        Err(e) => panic!("arbitrary: {e}"),
    }
}

/// Whether protocol `name` at its defaults runs on `members` nodes.
/// Whether an expectation names a node (then a swarm keeps the base's node count).
fn expectation_names_a_node(k: &crate::expect::ExpectKind) -> bool {
    use crate::expect::ExpectKind as K;
    match k {
        K::Role { .. } => true,
        K::Suspects { node, nodes, .. } => node.is_some() || !nodes.is_empty(),
        K::Availability { nodes, .. } => !nodes.is_empty(),
        _ => false,
    }
}

/// `n`, or the nearest count of nodes the protocol runs on at its defaults (at least
/// 3; the sharded store: a multiple of its group size).
fn fit(name: &str, n: u64) -> u64 {
    if fits(name, n) {
        n
    } else if fits(name, n.max(3)) {
        n.max(3)
    } else {
        (n..n + 8).find(|m| fits(name, *m)).unwrap_or(n.max(3))
    }
}

fn fits(name: &str, members: u64) -> bool {
    let doc = json!({"version": scenario::VERSION, "protocol": {"name": name}, "nodes": members, "duration_ms": 1000});
    scenario::load(&doc.to_string()).is_ok()
}

/// Parse the drawn document, make its parameters pass the protocol's rules, and
/// validate it. An error here is a bug of this module (the tests look for one).
fn finish(doc: Value, base_params: &Value) -> Result<Scenario, String> {
    let text = doc.to_string();
    let mut s = scenario::parse(&text)
        .map_err(|e| format!("drew a scenario that does not parse ({e}): {text}"))?;
    repair_params(&mut s, base_params);
    // No parameters given reads back as null (the file leaves the field out).
    if s.protocol.params.as_object().is_some_and(|o| o.is_empty()) {
        s.protocol.params = Value::Null;
    }
    s.validate().map_err(|errs| {
        format!(
            "drew a scenario that is not valid ({}): {text}",
            scenario::describe(&errs)
        )
    })?;
    Ok(s)
}

/// What `explore --swarm` varies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swarm {
    /// Also switch seeded bugs (`unsafe_*` parameters) on, now and then, and let the
    /// nemesis restart nodes with a blank disk.
    pub unsafe_bugs: bool,
}

/// A base scenario for `explore --swarm --protocol NAME`: five nodes, four clients, ten
/// simulated seconds.
pub fn swarm_base(protocol: &str) -> Result<Scenario, String> {
    let e = registry::entry(protocol).ok_or_else(|| registry::unknown(protocol).to_string())?;
    let mut doc = json!({
        "version": scenario::VERSION,
        "name": format!("{} swarm", e.name),
        "protocol": {"name": e.name},
        // Five, or the nearest count the protocol runs on (the sharded store: six).
        "nodes": fit(e.name, 5),
        "duration_ms": 10_000,
    });
    // Clients for every protocol that serves them: the swarm draws their rate and mix.
    if e.data_type.serves_clients() {
        doc["workload"] = json!({"clients": 4, "rate": 20, "keys": 3, "timeout_ms": 300});
    }
    scenario::load(&doc.to_string()).map_err(|errs| scenario::describe(&errs))
}

/// The scenario swarm seed `seed` runs: `base` with, drawn from the seed, the nemesis's
/// fault kinds (each in or out) and interval, the network's loss, duplication,
/// reordering and latency, the workload's rate, keys and operation mix, the node count
/// (when the base names no node), and each protocol parameter (half of them redrawn
/// around the default; seeded bugs, and the nemesis's disk-losing restarts, only with
/// [`Swarm::unsafe_bugs`]). The scenario's
/// seed is `seed`. The base's timed faults, links and checks stay as they are; its
/// expectations stay only if it has a nemesis of its own.
pub fn swarm(base: &Scenario, seed: u64, opts: Swarm) -> Result<Scenario, String> {
    let mut doc = serde_json::to_value(base).map_err(|e| e.to_string())?;
    let e = registry::entry(&base.protocol.name)
        .ok_or_else(|| registry::unknown(&base.protocol.name).to_string())?;
    let duration = base.duration_ms;

    // The node count, when nothing in the base names a node.
    let mut shape = Rng::derive(seed, STREAM_SHAPE);
    let drawn_n = *pick(&mut shape, &[3u64, 3, 4, 5, 5, 6, 7]);
    let names_nodes = !base.faults.is_empty()
        || !base.links.is_empty()
        || base.workload.as_ref().is_some_and(|w| !w.attach.is_empty())
        || !matches!(base.nodes, Nodes::Count(_))
        || base
            .expect
            .iter()
            .any(|x| expectation_names_a_node(&x.kind));
    if !names_nodes {
        doc["nodes"] = json!(fit(e.name, drawn_n));
    }
    // A lesson without a nemesis states what its own faults do (a partition answers
    // this much); under the swarm's nemesis that no longer applies, as with `explore
    // --nemesis`. A base with a nemesis states what must hold whatever it does: kept.
    if base.nemesis.is_none() {
        doc["expect"] = json!([]);
    }

    // The network: steady rates stay modest (they are still there when the convergence
    // check looks); the nemesis brings the harsh ones, and heals them.
    let mut net = Rng::derive(seed, STREAM_NETWORK);
    let lat = &base.network.latency;
    let scale = *pick(&mut net, &[0.5, 1.0, 1.0, 2.0, 4.0]);
    doc["network"]["latency"] = json!({
        "base_ms": round((lat.base_ms * scale).clamp(0.1, 1000.0), 3),
        "jitter_ms": round((lat.jitter_ms * *pick(&mut net, &[0.0, 0.5, 1.0, 2.0, 4.0])).min(1000.0), 3),
        "distribution": *pick(&mut net, &["uniform", "normal", "exponential"]),
    });
    doc["network"]["loss"] = json!(rate(&mut net, 0.5, 0.05));
    doc["network"]["duplicate"] = json!(rate(&mut net, 0.5, 0.05));
    doc["network"]["reorder"] = json!(rate(&mut net, 0.5, 0.2));

    // The workload's intensity and mix.
    let mut wl = Rng::derive(seed, STREAM_WORKLOAD);
    if base.workload.is_some() {
        let w = &mut doc["workload"];
        let rate_scale = *pick(&mut wl, &[0.25, 0.5, 1.0, 2.0, 4.0]);
        let r = w["rate"].as_f64().unwrap_or(10.0);
        w["rate"] = json!(round((r * rate_scale).clamp(0.5, 200.0), 3));
        w["keys"] = json!(wl.range(1, 8));
        // The base's data type (a map of strings, say), not the protocol's default.
        let d = e.data_type_of(base).unwrap_or(e.data_type);
        w["mix"] = draw_mix(&mut wl, d.ops, 0.2);
    }

    // The fault mix: always a nemesis, with a drawn set of kinds and pace.
    let mut nm = Rng::derive(seed, STREAM_NEMESIS);
    let interval = *pick(&mut nm, &[50u64, 100, 200, 400, 800, 1600]);
    let start = base
        .nemesis
        .as_ref()
        .map(|n| n.start_ms)
        .unwrap_or(500)
        .min(duration);
    let mut nemesis = json!({
        "interval_ms": interval,
        "start_ms": start,
        "faults": nemesis_faults(&mut nm, opts.unsafe_bugs),
    });
    if let Some(stop) = base.nemesis.as_ref().and_then(|n| n.stop_ms) {
        nemesis["stop_ms"] = json!(stop.max(start));
    }
    doc["nemesis"] = nemesis;

    // The protocol's parameters.
    let mut pr = Rng::derive(seed, STREAM_PROTOCOL);
    let given = base.protocol.params.clone();
    doc["protocol"]["params"] = draw_params(&mut pr, &e, &given, 0.5, opts.unsafe_bugs, true);
    doc["seed"] = json!(seed);
    let base_params = if given.is_null() { json!({}) } else { given };
    finish(doc, &base_params)
}

/// Whether a scenario may break a protocol's promises by design: a seeded bug switched
/// on, or a node restarted with its disk lost (a timed `restart` without its disk, or
/// the nemesis's `restart_blank`), which no protocol here claims to survive. An
/// invariant violation in any other scenario is a protocol (or simulator) bug.
pub fn outside_the_fault_model(s: &Scenario) -> bool {
    let seeded_bug = s.protocol.params.as_object().is_some_and(|o| {
        o.iter()
            .any(|(k, v)| k.starts_with("unsafe_") && v == &Value::Bool(true))
    });
    let blank_restart = s
        .faults
        .iter()
        .any(|f| matches!(f.kind, scenario::FaultKind::Restart { disk: false, .. }))
        || s.nemesis.as_ref().is_some_and(|n| {
            n.faults
                .iter()
                .any(|k| DISK_LOSS_KINDS.contains(&k.as_str()))
        });
    seeded_bug || blank_restart
}

/// What [`check_determinism`] measured of one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub trace_hash: u64,
    pub events: u64,
    /// An invariant violation stopped the native run (by design: see
    /// [`outside_the_fault_model`]).
    pub violation: bool,
}

/// Run a scenario the ways that must agree: twice natively (the same trace hash), with
/// invariant checks off (the same trace, unless a violation stopped the checked run),
/// and through the worker boundary in this process (the checked run's hash: a replica
/// with every node's state checks the invariants beside the workers, and a violation
/// stops the coordinator at the same event). An invariant violation must come from a seeded bug or a lost
/// disk. The error says which promise broke.
pub fn check_determinism(s: &Scenario) -> Result<Checked, String> {
    let native = |s: &Scenario| -> Result<(u64, u64, bool), String> {
        let mut e = crate::build(s, s.seed, 0).map_err(|e| format!("does not build: {e}"))?;
        e.run_to_end();
        Ok((e.trace_hash(), e.events(), e.violation().is_some()))
    };
    let (a, events, stopped) = native(s)?;
    let (b, _, _) = native(s)?;
    if a != b {
        return Err(format!("two native runs differ: {a:016x} then {b:016x}"));
    }
    let mut unchecked = s.clone();
    unchecked.checks.invariants = false;
    let (u, _, _) = native(&unchecked)?;
    if !stopped && u != a {
        return Err(format!(
            "checking invariants changed the run: {a:016x} checked, {u:016x} not"
        ));
    }
    if stopped && !outside_the_fault_model(s) {
        let mut e = crate::build(s, s.seed, 0).map_err(|e| e.to_string())?;
        e.run_to_end();
        return Err(format!(
            "an invariant broke with no seeded bug and no disk lost (a protocol bug?): {:?}",
            e.violation()
        ));
    }
    let r = crate::remote::run_remote_here(s, s.seed)
        .map_err(|e| format!("the worker boundary failed: {e}"))?;
    if r != a {
        return Err(format!(
            "the worker boundary gives another run: {r:016x}, natively {a:016x}"
        ));
    }
    // A scenario with seeded bugs runs unchecked (its violations are by design): with
    // its checks on, a violation must stop the worker boundary where it stops the
    // simulator's own loop.
    let mut checked = s.clone();
    checked.checks.invariants = true;
    let mut stopped = stopped;
    if !s.checks.invariants && outside_the_fault_model(s) {
        let (c, _, v) = native(&checked)?;
        let r = crate::remote::run_remote_here(&checked, s.seed)
            .map_err(|e| format!("the worker boundary failed with invariants checked: {e}"))?;
        if r != c {
            return Err(format!(
                "with invariants checked the worker boundary gives another run: {r:016x}, natively {c:016x}"
            ));
        }
        stopped |= v;
    }
    Ok(Checked {
        trace_hash: a,
        events,
        violation: stopped,
    })
}
