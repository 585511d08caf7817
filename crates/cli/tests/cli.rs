//! The `quorumlab` binary as a user runs it: exit codes, determinism across processes,
//! and explore's reproduce command.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_quorumlab"))
}

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn preset(name: &str) -> String {
    root()
        .join("scenarios")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn run_json(args: &[&str]) -> (i32, serde_json::Value) {
    let out = bin().args(args).output().expect("runs");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), v)
}

#[test]
fn two_processes_give_the_same_trace_and_another_seed_does_not() {
    let p = preset("raft-leader-crash.json");
    let (c1, a) = run_json(&["run", &p, "--json"]);
    let (c2, b) = run_json(&["run", &p, "--json"]);
    let (_, c) = run_json(&["run", &p, "--json", "--seed", "99"]);
    assert_eq!((c1, c2), (0, 0), "{a}");
    assert_eq!(a["trace_hash"], b["trace_hash"]);
    assert_ne!(a["trace_hash"], c["trace_hash"]);
    assert_eq!(a["trace_hash"].as_str().map(str::len), Some(16));
    assert_eq!(a["invariants"]["violation"], serde_json::Value::Null);
}

#[test]
fn the_share_link_reproduces_the_run() {
    let p = preset("raft-minority-partition.json");
    let out = bin().args(["url", &p]).output().unwrap();
    assert!(out.status.success());
    let link = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(link.contains("#2."), "{link}");
    let out = bin().args(["url", "--decode", &link]).output().unwrap();
    assert!(out.status.success());
    let dir = std::env::temp_dir().join(format!("quorumlab-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("decoded.json");
    std::fs::write(&f, &out.stdout).unwrap();
    let (_, a) = run_json(&["run", &p, "--json"]);
    let (_, b) = run_json(&["run", f.to_str().unwrap(), "--json"]);
    assert_eq!(a["trace_hash"], b["trace_hash"]);
}

#[test]
fn bad_input_exits_2_with_a_message() {
    let dir = std::env::temp_dir().join(format!("quorumlab-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.json");
    std::fs::write(
        &f,
        r#"{"version": 1, "protocol": {"name": "raft"}, "nodes": 3, "duration_ms": 1000,
        "faults": [{"at_ms": 5000, "type": "crash", "node": 7}]}"#,
    )
    .unwrap();
    let out = bin().args(["run", f.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("faults[0].at_ms: 5000 is after the end of the run (1000)"),
        "{err}"
    );
    assert!(
        err.contains("faults[0].node: node 7 does not exist"),
        "{err}"
    );
    for args in [
        vec!["run"],
        vec!["frobnicate"],
        vec!["run", "/no/such/file.json"],
        vec!["url", "--decode", "#1.%%%"],
        vec!["explore", "x.json"],
    ] {
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn explore_prints_the_command_that_reproduces_a_violation() {
    // The lease-read preset with its slow clock produces a stale read on its own seed.
    let p = preset("raft-lease-clock-skew.json");
    let out = bin()
        .args(["explore", &p, "--seeds", "20", "--threads", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("quorumlab run"))
        .expect("a reproduce line");
    let seed: u64 = line
        .split("--seed ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (code, v) = run_json(&["run", &p, "--seed", &seed.to_string(), "--json"]);
    assert_eq!(code, 1, "the printed command reproduces the failure: {v}");
}

/// Many clients writing one key while the nemesis cuts the leader off: histories whose
/// check needs more than a few thousand search steps, so `--budget-ms 0` leaves the
/// verdict unknown.
fn heavy_history_scenario() -> String {
    let dir = std::env::temp_dir().join(format!("quorumlab-cli-unknown-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("minority-writes.json");
    std::fs::write(
        &f,
        r#"{"version": 1, "name": "writes to a minority leader", "protocol": {"name": "raft"},
        "nodes": 5,
        "workload": {"clients": 10, "rate": 50, "keys": 1, "timeout_ms": 200,
                     "mix": {"read": 0.2, "write": 0.8, "cas": 0}},
        "nemesis": {"interval_ms": 300, "faults": ["partition_leader", "loss"]},
        "checks": {"converge_after_ms": 0},
        "duration_ms": 6000, "seed": 1}"#,
    )
    .unwrap();
    f.to_string_lossy().into_owned()
}

#[test]
fn an_unknown_verdict_is_never_a_pass() {
    let p = heavy_history_scenario();
    // `run`: exit 3, and the summary does not say ok.
    let (code, v) = run_json(&["run", &p, "--seed", "3", "--budget-ms", "0", "--json"]);
    assert_eq!(v["linearizable"]["result"], "unknown", "{v}");
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["ok"], false);

    // `explore`: the unknown seeds are their own category, with their commands; exit 3.
    let out = bin()
        .args([
            "explore",
            &p,
            "--seeds",
            "4",
            "--threads",
            "2",
            "--budget-ms",
            "0",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(!text.contains("no violation found\n"), "{text}");
    assert!(text.contains("UNKNOWN: 4 of 4 seeds"), "{text}");
    for seed in 0..4 {
        let cmd = format!("quorumlab run {p} --seed {seed} --budget-ms 0");
        assert!(text.contains(&cmd), "{cmd} in {text}");
    }
    let out = bin()
        .args(["explore", &p, "--seeds", "4", "--budget-ms", "0", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(v["seeds_checked"], 0);
    assert_eq!(v["unknown"].as_array().map(Vec::len), Some(4), "{v}");
    assert_eq!(v["failure"], serde_json::Value::Null);

    // --allow-unknown accepts them, and still lists them.
    let out = bin()
        .args([
            "explore",
            &p,
            "--seeds",
            "4",
            "--budget-ms",
            "0",
            "--allow-unknown",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("UNKNOWN: 4 of 4 seeds"), "{text}");
}

/// `explore --swarm` draws a scenario per seed; the printed command redraws exactly that
/// one (same violation, same trace), and `--scenario-out` keeps it as a plain file that
/// runs the same without the swarm.
#[test]
fn a_swarm_seed_reproduces_from_its_command_and_its_file() {
    let (code, v) = run_json(&[
        "explore",
        "--protocol",
        "raft",
        "--swarm",
        "--swarm-unsafe",
        "--seeds",
        "40",
        "--threads",
        "2",
        "--json",
    ]);
    assert_eq!(code, 1, "seeded bugs are found: {v}");
    assert_eq!(v["swarm"], true);
    let cmd = v["failure"]["reproduce"].as_str().expect("a command");
    assert!(
        cmd.contains("--swarm-seed") && cmd.contains("--swarm-unsafe"),
        "{cmd}"
    );
    let args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
    let dir = std::env::temp_dir().join(format!("quorumlab-cli-swarm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("drawn.json");
    let f = f.to_str().unwrap();
    let mut with_out = args.clone();
    with_out.extend(["--scenario-out", f, "--json"]);
    let (c1, a) = run_json(&with_out);
    assert_eq!(c1, 1, "the command reproduces the failure: {a}");
    let (c2, b) = run_json(&["run", f, "--json"]);
    assert_eq!(c2, 1);
    assert_eq!(a["trace_hash"], b["trace_hash"]);
    // Without the seeded bugs, the same seeds draw other parameters: no `unsafe_` one.
    let drawn = std::fs::read_to_string(f).unwrap();
    let seed = v["failure"]["seed"].as_u64().unwrap().to_string();
    let (_, c) = run_json(&[
        "run",
        "--protocol",
        "raft",
        "--swarm-seed",
        &seed,
        "--scenario-out",
        f,
        "--json",
    ]);
    assert!(c["trace_hash"].is_string(), "{c}");
    let safe = std::fs::read_to_string(f).unwrap();
    assert!(
        !safe.contains("unsafe_") && !safe.contains("restart_blank"),
        "{safe}"
    );
    assert!(drawn.contains("\"seed\": ") && safe.contains("\"seed\": "));
}

#[test]
fn determinism_checks_random_scenarios() {
    let (code, v) = run_json(&[
        "determinism",
        "--scenarios",
        "30",
        "--threads",
        "2",
        "--json",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["scenarios_checked"], 30);
    assert_eq!(v["failure"], serde_json::Value::Null);
    // --print: the scenarios themselves, one a line, each valid.
    let out = bin()
        .args(["determinism", "--scenarios", "3", "--print"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 3);
    for l in text.lines() {
        quorumlab_sim::scenario::load(l).expect("a printed scenario loads");
    }
    for args in [
        vec!["determinism"],
        vec!["determinism", "x.json", "--scenarios", "1"],
        vec!["run", "--protocol", "raft"],
        vec!["run", "--protocol", "nope", "--swarm-seed", "1"],
        vec!["explore", "--protocol", "raft", "--seeds", "1"],
        vec![
            "explore",
            "--protocol",
            "raft",
            "--seeds",
            "1",
            "--swarm-unsafe",
        ],
    ] {
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}
