//! `quorumlab protocols` lists the registry: every protocol, its client data type and
//! its operations, its parameters with their defaults, ranges and help, and its presets.

use std::process::Command;

fn quorumlab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_quorumlab"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn lists_every_protocol_with_its_parameters_and_presets() {
    let (code, out, err) = quorumlab(&["protocols"]);
    assert_eq!(code, 0, "{err}");
    for e in quorumlab_sim::registry::entries() {
        assert!(
            out.contains(&format!("{:<12} {}", e.name, e.summary)),
            "{out}"
        );
        for p in e.params {
            assert!(out.contains(p.name), "{}: {} missing", e.name, p.name);
            assert!(
                out.contains(p.help),
                "{}: help of {} missing",
                e.name,
                p.name
            );
        }
        for p in e.listing.presets {
            assert!(out.contains(p), "{}: preset {p} missing", e.name);
        }
    }
    assert!(
        out.contains(
            "election_timeout_min_ms        default 150; a whole number of at least 1 (ms)"
        ),
        "{out}"
    );
    // Each protocol's client data type and its operations.
    for e in quorumlab_sim::registry::entries() {
        let d = e.data_type;
        let line = if d.serves_clients() {
            format!(
                "data type {} ({}): operations {}",
                d.name,
                d.summary,
                d.op_names()
            )
        } else {
            format!("data type {}: {} (no workload)", d.name, d.summary)
        };
        let block = out
            .split("\n\n")
            .find(|b| b.starts_with(&format!("{:<12} ", e.name)))
            .expect("its block");
        assert!(block.contains(&line), "{}: {block}", e.name);
    }
    assert!(out.contains("data type cas-register (integer registers per key: read, write, compare-and-set): operations read, write, cas"));
    assert!(out.contains("data type none: serves no client operations (no workload)"));
}

#[test]
fn json_and_one_protocol() {
    let (code, out, _) = quorumlab(&["protocols", "paxos", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v[0]["name"], "paxos");
    assert_eq!(v[0]["params"][0]["name"], "round_timeout_ms");
    assert_eq!(v[0]["params"][0]["default"], 100);
    assert_eq!(v[0]["params"][0]["schema"]["minimum"], 1);
    assert_eq!(v[0]["data_type"]["name"], "cas-register");
    assert_eq!(
        v[0]["data_type"]["operations"],
        serde_json::json!(["read", "write", "cas"])
    );
    assert_eq!(v[0]["data_type"]["default_mix"]["cas"], 0.1);
}

#[test]
fn an_unknown_protocol_lists_the_known_ones() {
    let (code, _, err) = quorumlab(&["protocols", "zab"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown protocol `zab` (known: raft, multi-paxos"),
        "{err}"
    );
    let dir = std::env::temp_dir().join(format!("quorumlab-protocols-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let f = dir.join("zab.json");
    std::fs::write(
        &f,
        r#"{"version":1,"protocol":{"name":"zab"},"nodes":3,"duration_ms":1000}"#,
    )
    .expect("writes");
    let (code, _, err) = quorumlab(&["run", f.to_str().expect("utf-8")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 2);
    assert!(
        err.contains("protocol.name: unknown protocol `zab` (known: raft, multi-paxos, paxos"),
        "{err}"
    );
}
