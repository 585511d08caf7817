//! Primary-backup presets teach what they say: each lesson is checked from the run
//! itself (the checks' verdicts, the nodes' views at chosen moments), and the safe
//! settings hold up under the nemesis.

use quorumlab_core::{NodeView, MS};
use quorumlab_sim::scenario::Scenario;
use quorumlab_sim::Engine;
use quorumlab_tests::root;

fn preset(name: &str) -> Scenario {
    let text = std::fs::read_to_string(root().join("scenarios").join(name)).expect("readable");
    quorumlab_sim::scenario::load(&text).expect("valid")
}

fn engine(s: &Scenario) -> Box<dyn Engine> {
    quorumlab_sim::build(s, s.seed, 0).expect("builds")
}

fn views_at(e: &mut Box<dyn Engine>, ms: u64) -> Vec<Option<NodeView>> {
    e.run_until(ms * MS - 1);
    e.views()
}

#[test]
#[ignore]
fn debug_dump() {
    let name = std::env::var("PB_PRESET").unwrap_or("pb-split-brain.json".into());
    let mut s = preset(&name);
    if std::env::var("PB_NEMESIS").is_ok() {
        s.nemesis = Some(Default::default());
    }
    let seed: u64 = std::env::var("PB_SEED").ok().and_then(|x| x.parse().ok()).unwrap_or(s.seed);
    let from: u64 = std::env::var("PB_FROM").ok().and_then(|x| x.parse().ok()).unwrap_or(1400);
    let to: u64 = std::env::var("PB_TO").ok().and_then(|x| x.parse().ok()).unwrap_or(2400);
    let step: usize = std::env::var("PB_STEP").ok().and_then(|x| x.parse().ok()).unwrap_or(100);
    let mut e = quorumlab_sim::build(&s, seed, 0).expect("builds");
    for t in (from..to).step_by(step) {
        let v = views_at(&mut e, t);
        println!("--- {t} ms");
        for (i, n) in v.iter().enumerate() {
            if let Some(n) = n {
                println!("  {i}: {} e{} last {} {:?} | {}", n.role, n.term, n.applied_index, n.notes, n.last_change);
            }
        }
    }
}
