//! A run held by an engine module and driven through a `link::Proxy` is the same run as
//! the simulator's own, seen the same way: for every preset of every protocol, the
//! proxy and a `Sim<P>` moved by the same calls (chunks of time, a user action, a
//! checkpoint copy going back in time, a step) agree at every stop on everything the
//! page reads. The page links no simulator (see `crates/sim/src/link.rs`), so this is
//! what its picture rests on. The worker runtime's coordinator through a proxy gives
//! the simulator's trace too.

use quorumlab_core::{LogWindow, MS};
use quorumlab_sim::link::{local_link, Proxy};
use quorumlab_sim::registry;
use quorumlab_sim::remote::{run_remote_here, run_remote_with};
use quorumlab_sim::scenario::{self, FaultKind};
use quorumlab_sim::{Engine, Scenario};
use std::path::PathBuf;

fn presets() -> Vec<(String, Scenario)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut out = Vec::new();
    for e in registry::entries() {
        for p in e.listing.presets {
            let text = std::fs::read_to_string(dir.join(format!("{p}.json"))).expect("preset");
            let s = scenario::load(&text).unwrap_or_else(|e| panic!("{p}: {e:?}"));
            out.push((p.to_string(), s));
        }
    }
    assert!(out.len() > 30, "presets found: {}", out.len());
    out
}

fn proxy(s: &Scenario, record: usize) -> Proxy {
    let link = local_link(registry::serve(&s.protocol.name).expect("in the catalogue"));
    Proxy::new(link, s, s.seed, record).expect("builds")
}

/// Everything the page reads, compared.
fn same(name: &str, at: &str, a: &dyn Engine, b: &dyn Engine) {
    let w = |what: &str| format!("{name} {at}: {what}");
    assert_eq!(a.now(), b.now(), "{}", w("now"));
    assert_eq!(a.events(), b.events(), "{}", w("events"));
    assert_eq!(a.trace_hash(), b.trace_hash(), "{}", w("hash"));
    assert_eq!(a.done(), b.done(), "{}", w("done"));
    assert_eq!(a.end(), b.end(), "{}", w("end"));
    assert_eq!(a.next_time(), b.next_time(), "{}", w("next"));
    assert_eq!(a.violation(), b.violation(), "{}", w("violation"));
    assert_eq!(a.views(), b.views(), "{}", w("views"));
    let window = LogWindow {
        from: 2,
        to: 9,
        last: 3,
        above: 5,
    };
    assert_eq!(
        a.views_window(window),
        b.views_window(window),
        "{}",
        w("window")
    );
    assert_eq!(a.status(), b.status(), "{}", w("status"));
    assert_eq!(a.clock_offsets(), b.clock_offsets(), "{}", w("clocks"));
    assert_eq!(a.blocked(), b.blocked(), "{}", w("blocked"));
    assert_eq!(a.history(), b.history(), "{}", w("history"));
    assert_eq!(a.log(), b.log(), "{}", w("log"));
    assert_eq!(
        a.flights_at(a.now()),
        b.flights_at(b.now()),
        "{}",
        w("flights")
    );
    assert_eq!(
        a.flights_window(a.now(), 400.0),
        b.flights_window(b.now(), 400.0),
        "{}",
        w("flights window")
    );
    assert_eq!(a.expectations(), b.expectations(), "{}", w("expectations"));
    assert_eq!(a.metrics(), b.metrics(), "{}", w("metrics"));
    assert_eq!(a.total(), b.total(), "{}", w("total"));
    // The spans (what the analysis reads; the engine's index to them is its own).
    let spans = |e: &dyn Engine| serde_json::to_string(e.serving()).expect("encodes");
    assert_eq!(spans(a), spans(b), "{}", w("serving"));
    assert_eq!(a.marks(), b.marks(), "{}", w("marks"));
    assert_eq!(a.lock_report(), b.lock_report(), "{}", w("lock report"));
    assert_eq!(a.sides(), b.sides(), "{}", w("sides"));
    assert_eq!(a.convergence(), b.convergence(), "{}", w("convergence"));
    assert_eq!(a.invariants(), b.invariants(), "{}", w("invariants"));
    for i in 0..a.status().len() as u32 {
        assert_eq!(a.disk_view(i), b.disk_view(i), "{}", w("disk"));
    }
}

#[test]
fn a_proxied_run_is_the_simulators_run_for_every_preset() {
    for (name, s) in presets() {
        let mut a: Box<dyn Engine> = quorumlab_sim::build(&s, s.seed, 5_000).expect("builds");
        let mut b: Box<dyn Engine> = Box::new(proxy(&s, 5_000));
        same(&name, "start", &*a, &*b);
        let end = a.end();
        // A checkpoint early on, then chunks of time with a user action between.
        a.run_until(end / 5);
        b.run_until(end / 5);
        let (ca, cb) = (a.boxed_clone(), b.boxed_clone());
        same(&name, "a fifth", &*a, &*b);
        let crash = FaultKind::Crash {
            node: quorumlab_sim::scenario::NodeRef::Id(0),
        };
        a.inject(crash.clone());
        b.inject(crash);
        a.run_until(end / 2);
        b.run_until(end / 2);
        same(&name, "half", &*a, &*b);
        a.keep_recent_flights(10);
        b.keep_recent_flights(10);
        a.step();
        b.step();
        same(&name, "a step", &*a, &*b);
        a.run_to_end();
        b.run_to_end();
        same(&name, "end", &*a, &*b);
        // Back in time: the checkpoints are runs of their own.
        let (mut a, mut b) = (ca, cb);
        a.run_until(end / 5 + 300 * MS);
        b.run_until(end / 5 + 300 * MS);
        same(&name, "from the checkpoint", &*a, &*b);
    }
}

#[test]
fn the_worker_runtime_through_a_proxy_gives_the_simulators_trace() {
    for (name, s) in presets().into_iter().step_by(3) {
        let want = run_remote_here(&s, s.seed).expect("runs");
        let replica: Option<Box<dyn Engine>> = match s.checks.invariants {
            true => Some(Box::new(proxy(&s, 0))),
            false => None,
        };
        let c = run_remote_with(Box::new(proxy(&s, 0)), replica, &s).expect("runs");
        assert_eq!(c.engine().trace_hash(), want, "{name}");
    }
}

#[test]
fn a_module_that_fails_ends_the_run_with_why() {
    let (_, s) = presets().remove(0);
    let serve = std::cell::RefCell::new(registry::serve(&s.protocol.name).expect("known"));
    let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let c2 = calls.clone();
    let link: quorumlab_sim::link::LinkFn = std::rc::Rc::new(move |req: &[u8]| {
        c2.set(c2.get() + 1);
        if c2.get() > 5 {
            Err("RuntimeError: unreachable executed".to_string())
        } else {
            Ok(serve.borrow_mut().call(req))
        }
    });
    let mut p = Proxy::new(link, &s, s.seed, 0).expect("builds");
    for _ in 0..10 {
        p.run_until(p.now() + 10 * MS);
    }
    assert!(p.done());
    assert!(p.failure().expect("a failure").contains("unreachable"));
    assert!(p.views().is_empty());
    // A scenario the module cannot build is refused with the module's reason.
    let link = local_link(registry::serve("raft").expect("known"));
    let mut bad = s.clone();
    bad.protocol.name = "raft".into();
    bad.protocol.params = serde_json::json!({"election_timeout_ms": "soon"});
    let err = Proxy::new(link, &bad, 1, 0).err().expect("refused");
    assert!(err.contains("election_timeout_ms"), "{err}");
}

/// The page runs a protocol only through its engine module and its node worker: every
/// protocol of the catalogue has one of each (binaries of crates/engines and
/// crates/worker named after it), and there is none for a protocol it does not have.
#[test]
fn every_protocol_has_an_engine_module_and_a_node_worker() {
    let bins = |manifest: &str, prefix: &str| {
        let toml =
            std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(manifest))
                .expect(manifest);
        let start = format!("name = \"{prefix}");
        let mut v: Vec<String> = toml
            .lines()
            .filter_map(|l| l.trim().strip_prefix(start.as_str()))
            .map(|n| n.trim_end_matches('"').to_string())
            .collect();
        v.sort();
        v
    };
    let mut protocols: Vec<String> = registry::entries()
        .into_iter()
        .map(|e| e.name.to_string())
        .collect();
    protocols.sort();
    assert_eq!(bins("../engines/Cargo.toml", "engine-"), protocols);
    assert_eq!(bins("../worker/Cargo.toml", "node-"), protocols);
}
