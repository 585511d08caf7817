//! The Web Worker path without a browser: every node hosted behind the JSON job
//! boundary the workers use (`quorumlab_sim::remote`), run in this process. It must be
//! the same run as the simulator's own loop, for every preset and under client load.

use quorumlab_sim::remote::{run_remote_here, run_remote_here_with_expectations};
use quorumlab_sim::scenario;
use quorumlab_tests::{registry_presets, run};

/// Walks the protocol registry, so a new protocol's presets are covered as soon as its
/// registry line lists them.
#[test]
fn every_protocols_presets_are_the_same_run_through_the_worker_boundary() {
    let all = registry_presets();
    let protocols: std::collections::BTreeSet<&str> = all.iter().map(|(p, _, _)| *p).collect();
    assert_eq!(protocols.len(), quorumlab_sim::registry::names().len());
    for (protocol, name, s) in all {
        for seed in [s.seed, s.seed + 1] {
            let native = run(&s, seed);
            let (remote, expectations) = run_remote_here_with_expectations(&s, seed)
                .unwrap_or_else(|e| panic!("{protocol}: {name} seed {seed}: {e}"));
            assert_eq!(
                format!("{remote:016x}"),
                native.trace_hash,
                "{protocol}: {name} seed {seed}"
            );
            // What the run decides during its course is decided alike (the history's
            // verdict and the end state are decided after the run, by the caller).
            let during = |xs: &[quorumlab_sim::expect::ExpectOutcome]| -> Vec<_> {
                xs.iter()
                    .zip(&s.expect)
                    .filter(|(_, e)| {
                        !matches!(
                            e.kind,
                            quorumlab_sim::expect::ExpectKind::Linearizable { .. }
                                | quorumlab_sim::expect::ExpectKind::StateEqual {}
                                | quorumlab_sim::expect::ExpectKind::Anomaly { .. }
                        )
                    })
                    .map(|(x, _)| x.clone())
                    .collect()
            };
            assert_eq!(
                during(&expectations),
                during(&native.expectations),
                "{protocol}: {name} seed {seed}"
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
