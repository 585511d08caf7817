//! `quorumlab protocols`: the protocol catalogue (`quorumlab_sim::registry`), with every
//! protocol's client data type and its operations, and its parameters, their defaults,
//! ranges and help.

use crate::args::Args;
use crate::BadInput;
use quorumlab_core::DataType;
use quorumlab_sim::registry::{self, Entry};
use serde_json::{json, Value};

pub fn main(raw: &[String]) -> Result<i32, BadInput> {
    let a = Args::parse(raw, &[], &["json", "brief"])?;
    let entries: Vec<Entry> = match a.positional.as_slice() {
        [] => registry::entries(),
        names => names
            .iter()
            .map(|n| registry::entry(n).ok_or_else(|| BadInput(registry::unknown(n).message)))
            .collect::<Result<_, _>>()?,
    };
    if a.flag("json") {
        let v: Vec<Value> = entries.iter().map(as_json).collect();
        say!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(0);
    }
    for (i, e) in entries.iter().enumerate() {
        if i > 0 && !a.flag("brief") {
            say!("");
        }
        say!("{:<12} {}", e.name, e.summary);
        if a.flag("brief") {
            continue;
        }
        say!("  {}", data_type_line(e));
        for d in e.also_serves {
            say!(
                "  also data type {} ({}): operations {}; choose it with \"data_type\": \"{}\" in \"protocol\"",
                d.name,
                d.summary,
                d.op_names(),
                d.name
            );
        }
        let defaults = e.default_params();
        for p in e.params {
            let d = defaults
                .get(p.name)
                .map(|v| v.to_string())
                .unwrap_or_default();
            say!("  {:<30} default {d}; {}", p.name, p.allowed());
            say!("  {:<30} {}", "", p.help);
        }
        if !e.listing.presets.is_empty() {
            say!("  presets: {}", e.listing.presets.join(", "));
        }
        if !e.listing.compare.is_empty() {
            let v: Vec<&str> = e.listing.compare.iter().map(|v| v.label).collect();
            say!("  compare with: {}", v.join("; "));
        }
    }
    Ok(0)
}

/// "data type cas-register (integer registers ...): read, write, cas".
fn data_type_line(e: &Entry) -> String {
    let d = &e.data_type;
    if d.serves_clients() {
        format!(
            "data type {} ({}): operations {}",
            d.name,
            d.summary,
            d.op_names()
        )
    } else {
        format!("data type {}: {} (no workload)", d.name, d.summary)
    }
}

fn data_type_json(d: &DataType) -> Value {
    json!({
        "name": d.name,
        "summary": d.summary,
        "operations": d.ops.iter().map(|o| o.name()).collect::<Vec<_>>(),
        "default_mix": d.default_mix.iter().map(|(o, w)| (o.name().to_string(), json!(w))).collect::<serde_json::Map<String, Value>>(),
    })
}

fn as_json(e: &Entry) -> Value {
    let defaults = e.default_params();
    json!({
        "name": e.name,
        "summary": e.summary,
        "has_leader": e.has_leader,
        "invariants": e.invariants,
        "data_type": data_type_json(&e.data_type),
        "also_serves": e.also_serves.iter().map(data_type_json).collect::<Vec<_>>(),
        "params": e.params.iter().map(|p| json!({
            "name": p.name,
            "default": defaults.get(p.name),
            "allowed": p.allowed(),
            "unit": p.unit,
            "help": p.help,
            "schema": registry::param_schema(p, defaults.get(p.name).cloned()),
        })).collect::<Vec<_>>(),
        "presets": e.listing.presets,
        "compare": e.listing.compare.iter().map(|v| json!({"id": v.id, "label": v.label})).collect::<Vec<_>>(),
    })
}
