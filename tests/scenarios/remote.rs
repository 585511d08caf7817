//! The Web Worker path without a browser: every node hosted behind the JSON job
//! boundary the workers use (`quorumlab_sim::remote`), run in this process. It must be
//! the same run as the simulator's own loop, for every preset and under client load.

use quorumlab_sim::remote::run_remote_here;
use quorumlab_sim::scenario;
use quorumlab_tests::{presets, run};

#[test]
fn every_preset_is_the_same_run_through_the_worker_boundary() {
    for (name, s) in presets() {
        for seed in [s.seed, s.seed + 1] {
            let native = run(&s, seed);
            let remote =
                run_remote_here(&s, seed).unwrap_or_else(|e| panic!("{name} seed {seed}: {e}"));
            assert_eq!(
                format!("{remote:016x}"),
                native.trace_hash,
                "{name} seed {seed}"
            );
        }
    }
}

#[test]
fn a_busy_cluster_is_the_same_run_through_the_worker_boundary() {
    for nodes in [5, 9] {
        let text = format!(
            r#"{{"version":1,"protocol":{{"name":"raft"}},"nodes":{nodes},
               "workload":{{"clients":10,"rate":20,"keys":8,"start_ms":300}},
               "duration_ms":5000,"seed":7}}"#
        );
        let s = scenario::load(&text).expect("valid");
        let native = run(&s, 7);
        let remote = run_remote_here(&s, 7).unwrap_or_else(|e| panic!("{nodes} nodes: {e}"));
        assert_eq!(format!("{remote:016x}"), native.trace_hash, "{nodes} nodes");
    }
}
