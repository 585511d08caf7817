//! `quorumlab bench`: throughput figures for the README.

use crate::args::Args;
use crate::BadInput;
use quorumlab_sim::scenario;
use std::time::Instant;

fn scenario_json(protocol: &str, nodes: u32, clients: u32, seconds: u64) -> String {
    scenario_json_with(protocol, "{}", nodes, clients, seconds)
}

/// The same with the protocol's parameters (a JSON object).
fn scenario_json_with(
    protocol: &str,
    params: &str,
    nodes: u32,
    clients: u32,
    seconds: u64,
) -> String {
    // Clients only for a protocol that serves them (not the failure detectors).
    let serves =
        quorumlab_sim::registry::entry(protocol).is_some_and(|e| e.data_type.serves_clients());
    let workload = if serves {
        format!(
            r#""workload": {{"clients": {}, "rate": 200, "keys": 4}},"#,
            clients.max(1)
        )
    } else {
        String::new()
    };
    format!(
        r#"{{"version": 1, "name": "bench {protocol} {nodes}", "protocol": {{"name": "{protocol}", "params": {params}}},
            "nodes": {nodes}, "duration_ms": {ms},
            "network": {{"latency": {{"base_ms": 1, "jitter_ms": 4}}}},
            {workload}
            "checks": {{"linearizable": false}} }}"#,
        ms = seconds * 1000,
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

/// Run one scenario repeatedly the way the browser's worker runtime does, with a thread
/// per node ([`crate::threads`]); report events per second and the cost of a window.
fn measure_threads(label: &str, json: &str, min_secs: f64) -> Result<String, BadInput> {
    let s = scenario::load(json).map_err(|e| BadInput(scenario::describe(&e)))?;
    let (mut events, mut windows, mut runs, mut secs, mut threads) = (0u64, 0u64, 0u64, 0.0, 0);
    while secs < min_secs || runs == 0 {
        let t = crate::threads::run(&s, runs).map_err(|e| BadInput(format!("{label}: {e}")))?;
        if runs == 0 {
            // The threads must not change the run: the same trace as on one thread.
            let mut alone = quorumlab_sim::build(&s, 0, 0).map_err(|e| BadInput(e.to_string()))?;
            alone.run_to_end();
            if alone.trace_hash() != t.trace_hash {
                return Err(BadInput(format!(
                    "{label}: a thread per node gave trace {:016x}, one thread {:016x}",
                    t.trace_hash,
                    alone.trace_hash()
                )));
            }
        }
        threads += t.threads;
        events += t.events;
        windows += t.windows;
        secs += t.secs;
        runs += 1;
    }
    Ok(format!(
        "{label:<44} {:>7.1} k events/s  ({:.1} us per window of {:.1} events; a thread per node: {threads} threads in {runs} runs)",
        events as f64 / secs / 1e3,
        secs * 1e6 / windows.max(1) as f64,
        events as f64 / windows.max(1) as f64,
    ))
}

pub fn main(raw: &[String]) -> Result<i32, BadInput> {
    let a = Args::parse(raw, &[], &["quick", "threads", "checker"])?;
    let secs = if a.flag("quick") { 0.3 } else { 2.0 };
    let threads = a.flag("threads");
    say!("quorumlab bench (release build recommended: cargo run --release -p quorumlab-cli -- bench)");
    if let Some(path) = a.positional.first() {
        // One scenario of the user's (seeds 0, 1, 2, ... until the time is up).
        let json = crate::args::read_input(path)?;
        say!("{}", measure(path, &json, secs)?);
        if threads {
            say!("{}", measure_threads(path, &json, secs)?);
        }
        return Ok(0);
    }
    if a.flag("checker") {
        // The linearizability checker only.
        for line in crate::check::bench(a.flag("quick")) {
            say!("{line}");
        }
        return Ok(0);
    }
    let mut lines = Vec::new();
    for (label, proto, nodes) in [
        ("failure detector (heartbeat), 5 nodes", "heartbeat", 5),
        ("failure detector (phi-accrual), 5 nodes", "phi-accrual", 5),
        ("raft, 5 nodes, 5 clients at 200 op/s", "raft", 5),
        ("raft, 25 nodes, 5 clients at 200 op/s", "raft", 25),
        (
            "multi-paxos, 5 nodes, 5 clients at 200 op/s",
            "multi-paxos",
            5,
        ),
    ] {
        let json = scenario_json(proto, nodes, 5, 10);
        let line = measure(label, &json, secs)?;
        say!("{line}");
        lines.push(line);
        if threads && proto == "raft" {
            say!("{}", measure_threads(label, &json, secs)?);
        }
    }
    let modes = ["sync", "semi-sync", "async", "chain"].map(|m| {
        (
            format!("primary-backup {m}, 5 nodes, 200 op/s"),
            format!(r#"{{"mode": "{m}"}}"#),
        )
    });
    let variants = [
        (
            "primary-backup sync, view in a Raft group (3 view nodes, 2 replicas), 200 op/s",
            r#"{"mode": "sync", "view_store": "raft"}"#,
        ),
        (
            "primary-backup sync, phi-accrual detector, 5 nodes, 200 op/s",
            r#"{"mode": "sync", "detector": "phi-accrual"}"#,
        ),
    ]
    .map(|(l, p)| (l.to_string(), p.to_string()));
    for (label, params) in modes.into_iter().chain(variants) {
        let json = scenario_json_with("primary-backup", &params, 5, 5, 10);
        let line = measure(&label, &json, secs)?;
        say!("{line}");
        lines.push(line);
    }
    for (label, params) in [
        (
            "quorum-kv n=3 r=w=2, 5 nodes, 200 op/s",
            r#"{"n": 3, "r": 2, "w": 2}"#,
        ),
        (
            "quorum-kv sloppy, anti-entropy every 200 ms, 5 nodes, 200 op/s",
            r#"{"sloppy": true, "anti_entropy_ms": 200}"#,
        ),
    ] {
        let json = scenario_json_with("quorum-kv", params, 5, 5, 10);
        let line = measure(label, &json, secs)?;
        say!("{line}");
        lines.push(line);
    }
    // Three Raft groups of three, eight shards (keys over every group).
    let json =
        scenario_json_with("sharded-raft", "{}", 9, 5, 10).replace(r#""keys": 4"#, r#""keys": 16"#);
    let line = measure(
        "sharded-raft 3 groups of 3, 8 shards, 200 op/s",
        &json,
        secs,
    )?;
    say!("{line}");
    lines.push(line);
    for line in crate::check::bench(a.flag("quick")) {
        say!("{line}");
    }
    Ok(0)
}
