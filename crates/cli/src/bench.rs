//! `quorumlab bench`: throughput figures for the README.

use crate::args::Args;
use crate::BadInput;
use quorumlab_sim::scenario;
use std::time::Instant;

fn scenario_json(protocol: &str, nodes: u32, clients: u32, seconds: u64) -> String {
    format!(
        r#"{{"version": 1, "name": "bench {protocol} {nodes}", "protocol": {{"name": "{protocol}"}},
            "nodes": {nodes}, "duration_ms": {ms},
            "network": {{"latency": {{"base_ms": 1, "jitter_ms": 4}}}},
            "workload": {{"clients": {clients}, "rate": 200, "keys": 4}},
            "checks": {{"linearizable": false}} }}"#,
        ms = seconds * 1000,
        clients = clients.max(1)
    )
}

/// Run one scenario repeatedly on one core; report events per second with invariant
/// checks on.
fn measure(label: &str, json: &str, min_secs: f64) -> Result<String, BadInput> {
    let s = scenario::load(json).map_err(|e| BadInput(scenario::describe(&e)))?;
    let t0 = Instant::now();
    let mut events = 0u64;
    let mut runs = 0u64;
    while t0.elapsed().as_secs_f64() < min_secs || runs == 0 {
        let mut e = quorumlab_sim::build(&s, runs, 0).map_err(|e| BadInput(e.to_string()))?;
        e.run_to_end();
        if let Some(v) = e.violation() {
            return Err(BadInput(format!(
                "{label}: invariant violated during the benchmark: {}",
                v.detail
            )));
        }
        events += e.events();
        runs += 1;
    }
    let secs = t0.elapsed().as_secs_f64();
    Ok(format!(
        "{label:<44} {:>7.2} M events/s  ({events} events, {runs} runs, {secs:.2} s, one core, {})",
        events as f64 / secs / 1e6,
        if s.checks.invariants {
            "invariants checked"
        } else {
            "invariants off"
        }
    ))
}

pub fn main(raw: &[String]) -> Result<i32, BadInput> {
    let a = Args::parse(raw, &[], &["quick"])?;
    let secs = if a.flag("quick") { 0.3 } else { 2.0 };
    say!("quorumlab bench (release build recommended: cargo run --release -p quorumlab-cli -- bench)");
    if let Some(path) = a.positional.first() {
        // One scenario of the user's (seeds 0, 1, 2, ... until the time is up).
        let json = crate::args::read_input(path)?;
        say!("{}", measure(path, &json, secs)?);
        return Ok(0);
    }
    let mut lines = Vec::new();
    for (label, proto, nodes) in [
        ("failure detector (heartbeat), 5 nodes", "heartbeat", 5),
        ("failure detector (phi-accrual), 5 nodes", "phi-accrual", 5),
        ("raft, 5 nodes, 5 clients at 200 op/s", "raft", 5),
        ("raft, 25 nodes, 5 clients at 200 op/s", "raft", 25),
    ] {
        let line = measure(label, &scenario_json(proto, nodes, 5, 10), secs)?;
        say!("{line}");
        lines.push(line);
    }
    for line in crate::check::bench() {
        say!("{line}");
    }
    Ok(0)
}
