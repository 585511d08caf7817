//! `quorumlab compare`: the trade-off lab from the command line, as a user runs it.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_quorumlab"))
}

fn preset(name: &str) -> String {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn compare(args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = bin()
        .arg("compare")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn figure(v: &serde_json::Value, config: usize, name: &str) -> f64 {
    v["configurations"][config]["figures"][name]["mean"]
        .as_f64()
        .unwrap_or_else(|| panic!("no {name} for configuration {config}: {v}"))
}

/// The headline trade-off on the same seeds and the same minority partition: Raft
/// loses no acknowledged write and every history is linearizable; asynchronous
/// primary-backup stays as available but loses acknowledged writes, and the worst
/// seed's command reproduces the loss.
#[test]
fn raft_keeps_its_writes_where_async_primary_backup_loses_them() {
    let raft = preset("raft-minority-partition.json");
    let pb = preset("pb-async-primary-crash.json");
    let (code, v, err) = compare(&[&raft, &pb, "--seeds", "30", "--faults", &raft]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(figure(&v, 0, "lost acked writes"), 0.0);
    assert_eq!(figure(&v, 0, "not linearizable"), 0.0);
    assert!(figure(&v, 1, "lost acked writes") > 0.5, "{v}");
    assert!(figure(&v, 1, "not linearizable") > 0.0, "{v}");
    assert!(figure(&v, 1, "availability") >= figure(&v, 0, "availability") - 1.0);
    // Every figure has its interval around its mean.
    for c in v["configurations"].as_array().unwrap() {
        for (name, f) in c["figures"].as_object().unwrap() {
            let (lo, m, hi) = (
                f["lo"].as_f64().unwrap(),
                f["mean"].as_f64().unwrap(),
                f["hi"].as_f64().unwrap(),
            );
            assert!(lo <= m + 1e-9 && m <= hi + 1e-9, "{name}: {f}");
        }
    }
    let worst = &v["configurations"][1]["worst"][0];
    let cmd = worst["command"].as_str().expect("a worst seed");
    let words: Vec<&str> = cmd.split_whitespace().collect();
    assert_eq!(words[..2], ["quorumlab", "run"]);
    let out = bin()
        .args(&words[1..])
        .arg("--json")
        .output()
        .expect("runs");
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let lost = run["anomalies"]["lost_writes"].as_u64().unwrap_or(0);
    assert!(lost > 0, "{cmd}: {}", worst["what"]);
    assert!(worst["what"]
        .as_str()
        .unwrap()
        .contains(&format!("{lost} acknowledged writes lost")));
}

/// PACELC's "else": with no faults at all, consistency costs latency. Synchronous
/// agreement (Raft) answers writes slower than asynchronous primary-backup.
#[test]
fn with_no_faults_consistency_costs_latency() {
    let raft = preset("raft-minority-partition.json");
    let pb = preset("pb-async-primary-crash.json");
    let (code, v, err) = compare(&[&raft, &pb, "--seeds", "20", "--faults", "none"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["faults"], "none");
    assert!(
        figure(&v, 0, "write p50") > figure(&v, 1, "write p50") * 1.3,
        "{v}"
    );
    assert_eq!(figure(&v, 0, "availability"), 100.0);
    assert_eq!(figure(&v, 1, "lost acked writes"), 0.0);
}

/// The figures are the same on one thread as on several (every seed runs alone).
#[test]
fn threads_do_not_change_the_figures() {
    let a = preset("raft-leader-crash.json");
    let b = preset("multi-paxos-leader-crash.json");
    let one = compare(&[&a, &b, "--seeds", "8", "--threads", "1"]).1;
    let two = compare(&[&a, &b, "--seeds", "8", "--threads", "2"]).1;
    assert_eq!(one["configurations"], two["configurations"]);
}

/// A configuration that does not load is named with its error and left out; the
/// others still run, and the exit code says something was wrong.
#[test]
fn a_broken_configuration_is_named_and_the_others_run() {
    let dir = std::env::temp_dir().join(format!("ql-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("broken.json");
    std::fs::write(
        &bad,
        r#"{"version": 1, "protocol": {"name": "raft"}, "nodes": 0, "duration_ms": 1000}"#,
    )
    .unwrap();
    let bad = bad.to_string_lossy().into_owned();
    let a = preset("raft-leader-crash.json");
    let b = preset("pb-async-primary-crash.json");
    let (code, v, err) = compare(&[&a, &bad, &b, "--seeds", "3"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("broken.json is left out") && err.contains("nodes"),
        "{err}"
    );
    assert_eq!(v["configurations"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["left_out"][0]["path"], bad.as_str());
    // Different workloads (and node counts, durations) are allowed, and said.
    assert!(v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d.as_str().unwrap().starts_with("workload")));

    for args in [
        vec![a.as_str()],
        vec![a.as_str(), b.as_str(), "--format", "xml"],
        vec![a.as_str(), b.as_str(), "--seeds", "0"],
        vec![a.as_str(), b.as_str(), "--faults", bad.as_str()],
    ] {
        let out = bin().arg("compare").args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}

/// The markdown table has a row per figure and a column per configuration.
#[test]
fn the_table_reads_as_markdown() {
    let a = preset("raft-leader-crash.json");
    let b = preset("multi-paxos-leader-crash.json");
    let out = bin()
        .args(["compare", &a, &b, "--seeds", "4"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
    assert!(
        rows[0].contains("raft-leader-crash (raft)") && rows[0].contains("(multi-paxos)"),
        "{text}"
    );
    assert!(rows.iter().all(|r| r.matches('|').count() == 4), "{text}");
    assert!(rows
        .iter()
        .any(|r| r.starts_with("| availability as nines")));
    let csv = bin()
        .args(["compare", &a, &b, "--seeds", "4", "--format", "csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&csv.stdout);
    assert!(csv.starts_with("configuration,protocol,figure,unit,mean,lo,hi,n\n"));
    assert!(
        csv.lines().skip(1).all(|l| l.split(',').count() == 8),
        "{csv}"
    );
}

/// A configuration whose scenario switches the history check off is said to be
/// unchecked, not blamed on the check's time budget.
#[test]
fn an_unchecked_configuration_is_named_as_such() {
    let a = preset("client-retry-storm.json");
    let b = preset("raft-leader-crash.json");
    let out = bin()
        .args(["compare", &a, &b, "--seeds", "2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("note: client-retry-storm: its history is not checked for linearizability"),
        "{text}"
    );
    assert!(!text.contains("budget;"), "{text}");
}

/// CAP as a figure, per side of the partition, for each family on its own lesson's
/// preset and the same seeds: consensus (Raft, Multi-Paxos) and fenced primary-backup
/// answer no write on the minority side and show no anomaly; primary-backup without
/// fencing answers writes on both sides and pays with split brain and lost writes.
#[test]
fn each_family_chooses_a_side_of_cap() {
    let names = [
        "raft-minority-partition.json",
        "multi-paxos-minority-partition.json",
        "pb-split-brain-fenced.json",
        "pb-split-brain.json",
    ];
    let files: Vec<String> = names.iter().map(|n| preset(n)).collect();
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.extend(["--seeds", "12"]);
    let (code, v, err) = compare(&args);
    assert_eq!(code, 0, "{err}");
    for (c, name) in names.iter().enumerate().take(3) {
        let minority = &v["configurations"][c]["figures"]["minority side writes answered"];
        assert!(
            minority["n"].as_u64().unwrap_or(0) >= 6,
            "{name}: {minority}"
        );
        assert_eq!(minority["mean"].as_f64(), Some(0.0), "{name}: {minority}");
        assert!(
            figure(&v, c, "majority side writes answered") > 90.0,
            "{name}: {v}"
        );
        for anomaly in [
            "lost acked writes",
            "stale reads",
            "split-brain time",
            "not linearizable",
        ] {
            assert_eq!(figure(&v, c, anomaly), 0.0, "{name}: {anomaly}");
        }
    }
    assert!(figure(&v, 3, "minority side writes answered") > 90.0, "{v}");
    assert!(figure(&v, 3, "majority side writes answered") > 90.0, "{v}");
    assert!(figure(&v, 3, "split-brain time") > 0.0, "{v}");
    assert!(figure(&v, 3, "lost acked writes") > 0.0, "{v}");
}
