//! The engine on a toy protocol: a fixed leader (node 0) that keeps the register and
//! pings everyone; followers redirect. Small enough to reason about exactly.

use quorumlab_core::*;
use quorumlab_sim::history::EventType;
use quorumlab_sim::scenario::{self, FaultKind};
use quorumlab_sim::Sim;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
struct Toy {
    id: NodeId,
    members: Vec<NodeId>,
    kv: BTreeMap<String, i64>,
    pings: u64,
    boots: u64,
}

#[derive(Clone, Debug, Hash, Serialize, Deserialize)]
enum ToyMsg {
    Ping(u64),
    Pong,
}
impl Message for ToyMsg {
    fn kind(&self) -> &'static str {
        match self {
            ToyMsg::Ping(_) => "ping",
            ToyMsg::Pong => "pong",
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct ToyParams {}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct ToyDisk {
    boots: u64,
}

#[derive(Clone, Debug, Default)]
struct ToyMonitor {
    checks: u64,
}

quorumlab_core::timers!(ToyTimer { Tick = 0 });

impl Protocol for Toy {
    const NAME: &'static str = "toy";
    const DATA_TYPE: quorumlab_core::DataType = quorumlab_core::DataType::CAS_REGISTER;
    type Params = ToyParams;
    type Msg = ToyMsg;
    type Disk = ToyDisk;
    type Write = u64;
    type Monitor = ToyMonitor;
    type Timer = ToyTimer;
    fn apply_write(disk: &mut ToyDisk, w: u64) {
        disk.boots = w;
    }
    fn boot(id: NodeId, members: &[NodeId], _: &ToyParams, disk: Option<&ToyDisk>) -> Self {
        Toy {
            id,
            members: members.to_vec(),
            kv: BTreeMap::new(),
            pings: 0,
            boots: disk.map(|d| d.boots).unwrap_or(0) + 1,
        }
    }
    fn start(&mut self, cx: &mut Ctx<'_, Self>) {
        cx.persist(self.boots);
        if self.id == 0 {
            let j = cx.rng().below(1000);
            cx.set_timer(ToyTimer::Tick, 10 * MS + j);
        }
    }
    fn on_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: ToyMsg) {
        if let ToyMsg::Ping(_) = msg {
            cx.send(from, ToyMsg::Pong);
        }
    }
    fn on_timer(&mut self, cx: &mut Ctx<'_, Self>, _t: ToyTimer) {
        self.pings += 1;
        for &m in &self.members.clone() {
            if m != self.id {
                cx.send(m, ToyMsg::Ping(self.pings));
            }
        }
        cx.set_timer(ToyTimer::Tick, 10 * MS);
    }
    fn on_client(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest) {
        if self.id != 0 {
            cx.reply(ClientReply {
                client: req.client,
                seq: req.seq,
                outcome: Outcome::Redirect {
                    leader: Some(0),
                    term: 1,
                },
                at: None,
            });
            return;
        }
        let outcome = match req.op {
            Op::Read { key } => Outcome::Ok {
                value: self.kv.get(&key).copied().map(quorumlab_core::Val::Int),
            },
            Op::Write { key, value } => {
                self.kv.insert(key, value);
                Outcome::Ok { value: None }
            }
            Op::Cas { key, expect, new } => {
                if self.kv.get(&key) == Some(&expect) {
                    self.kv.insert(key, new);
                    Outcome::Ok { value: None }
                } else {
                    Outcome::Fail {
                        reason: "mismatch".into(),
                    }
                }
            }
            other => Outcome::Fail {
                reason: format!("{} is not a register's", other.kind().name()),
            },
        };
        cx.reply(ClientReply {
            client: req.client,
            seq: req.seq,
            outcome,
            at: None,
        });
    }
    fn view(&self) -> NodeView {
        NodeView {
            role: if self.id == 0 {
                Role::new("leader", RoleKind::Leader)
            } else {
                Role::new("follower", RoleKind::Follower)
            },
            kv: Some(
                self.kv
                    .iter()
                    .map(|(k, v)| (k.clone(), quorumlab_core::Val::Int(*v)))
                    .collect(),
            ),
            ..Default::default()
        }
    }
    fn invariants() -> &'static [&'static str] {
        &["toy-never-fails"]
    }
    fn check(
        m: &mut ToyMonitor,
        _: NodeId,
        nodes: &[Option<Self>],
        _: Time,
    ) -> Result<(), Violation> {
        m.checks += 1;
        if nodes.iter().flatten().any(|n| n.kv.contains_key("poison")) {
            return Err(Violation::new(
                "toy-never-fails",
                "someone wrote the poison key",
            ));
        }
        Ok(())
    }
}

fn scenario(extra: &str) -> scenario::Scenario {
    let text = format!(
        r#"{{"version": 1, "protocol": {{"name": "raft"}}, "nodes": 3, "duration_ms": 2000,
            "workload": {{"clients": 3, "rate": 50, "keys": 2, "timeout_ms": 100}},
            "checks": {{"converge_after_ms": 0}} {extra} }}"#
    );
    let s = scenario::parse(&text).expect("parses");
    s.validate().expect("valid");
    s
}

fn run(s: &scenario::Scenario, seed: u64) -> Sim<Toy> {
    let mut sim = Sim::<Toy>::new(s, seed).expect("builds");
    sim.run();
    sim
}

#[test]
fn same_seed_same_trace_other_seed_other_trace() {
    let s = scenario("");
    let a = run(&s, 7);
    let b = run(&s, 7);
    let c = run(&s, 8);
    assert_eq!(a.trace_hash(), b.trace_hash());
    assert_eq!(a.history, b.history);
    assert_ne!(a.trace_hash(), c.trace_hash());
    assert!(a.events() > 500, "events: {}", a.events());
}

#[test]
fn clients_complete_operations_and_follow_redirects() {
    let s = scenario("");
    let sim = run(&s, 1);
    let h = &sim.history.events;
    let oks = h.iter().filter(|e| e.kind == EventType::Ok).count();
    let invokes = h.iter().filter(|e| e.kind == EventType::Invoke).count();
    // 3 clients at 50 ops/s for 2 s: about 300 operations, nearly all fine.
    assert!(
        invokes > 200 && oks * 10 > invokes * 9,
        "{oks} ok of {invokes}"
    );
    // Each process alternates invoke / completion.
    for p in 0..3 {
        let kinds: Vec<_> = h
            .iter()
            .filter(|e| e.process == p)
            .map(|e| e.kind)
            .collect();
        for (i, k) in kinds.iter().enumerate() {
            assert_eq!(*k == EventType::Invoke, i % 2 == 0, "process {p} event {i}");
        }
    }
}

#[test]
fn crashing_the_leader_makes_operations_time_out_until_it_restarts() {
    let s = scenario(
        r#", "faults": [{"at_ms": 500, "type": "crash", "node": 0},
                        {"at_ms": 1000, "type": "restart", "node": 0}]"#,
    );
    let sim = run(&s, 3);
    let during: Vec<_> = sim
        .history
        .events
        .iter()
        .filter(|e| e.time > 700_000 && e.time < 1_000_000)
        .collect();
    assert!(
        during.iter().all(|e| e.kind != EventType::Ok),
        "no op succeeds while the leader is down"
    );
    // Clients keep trying (avoiding node 0 for a while after it timed out, then back to
    // it, the only leader there is): each is served again soon after the restart.
    for p in 0..3 {
        let first = sim
            .history
            .events
            .iter()
            .find(|e| e.process == p && e.time > 1_000_000 && e.kind == EventType::Ok)
            .map(|e| e.time);
        assert!(
            first.is_some_and(|t| t < 1_300_000),
            "client {p} served again at {first:?}"
        );
    }
    let after = sim
        .history
        .events
        .iter()
        .filter(|e| e.time > 1_200_000 && e.kind == EventType::Ok)
        .count();
    assert!(after > 50, "service resumes after the restart: {after}");
    // The restart booted from disk: the boot counter survived.
    let v = sim.views();
    assert!(v[0].is_some());
}

#[test]
fn partitions_block_messages_and_heal() {
    let s = scenario(
        r#", "faults": [{"at_ms": 500, "type": "partition", "groups": [[0], [1, 2]]},
                        {"at_ms": 1500, "type": "heal"}]"#,
    );
    let mut sim = Sim::<Toy>::new(&s, 5).unwrap().with_recorder(1_000_000);
    sim.run();
    let r = sim.recorder.as_ref().unwrap();
    let blocked = r.flights.iter().filter(|f| f.fate == "blocked").count();
    let mid = r
        .flights
        .iter()
        .filter(|f| f.sent > 600_000 && f.sent < 1_400_000 && f.from == 0);
    assert!(mid.clone().all(|f| f.fate == "blocked"));
    assert!(blocked > 100);
    assert!(r
        .flights
        .iter()
        .any(|f| f.sent > 1_600_000 && f.fate == "delivered" && f.from == 0));
}

#[test]
fn an_invariant_violation_stops_the_run_and_names_the_invariant() {
    let s = scenario(
        r#", "faults": [{"at_ms": 300, "type": "client", "node": 0, "op": {"f": "write", "key": "poison", "value": 1}}]"#,
    );
    let sim = run(&s, 1);
    let v = sim.violation().expect("violation found");
    assert_eq!(v.invariant, "toy-never-fails");
    assert!(v.time >= 300_000 && v.time < 310_000);
}

#[test]
fn clock_drift_changes_timer_spacing() {
    // Node 0's clock runs 50% fast: its 10 ms ping timer fires every ~6.7 ms of true time.
    let s =
        scenario(r#", "faults": [{"at_ms": 0, "type": "clock", "node": 0, "drift_ppm": 500000}]"#);
    let fast = run(&s, 2);
    let slow = run(&scenario(""), 2);
    let pings = |sim: &Sim<Toy>| {
        sim.views()[0]
            .as_ref()
            .map(|_| sim.metrics.total().messages)
            .unwrap()
    };
    assert!(
        pings(&fast) as f64 > pings(&slow) as f64 * 1.3,
        "{} vs {}",
        pings(&fast),
        pings(&slow)
    );
}

#[test]
fn pause_defers_messages_to_the_paused_node() {
    let s =
        scenario(r#", "faults": [{"at_ms": 500, "type": "pause", "node": 0, "duration_ms": 300}]"#);
    let sim = run(&s, 4);
    // While node 0 is paused no client op completes; they complete after (or time out).
    let oks = sim
        .history
        .events
        .iter()
        .filter(|e| e.kind == EventType::Ok && e.time > 520_000 && e.time < 800_000)
        .count();
    assert_eq!(oks, 0);
    let _ = FaultKind::Heal;
}

/// Run like the browser's worker runtime does: each node's state lives apart (as in its
/// own Web Worker), jobs and results cross a serialisation boundary, and the jobs of a
/// window run in reverse order. The trace must be the same as the simulator's own loop.
fn run_as_workers(s: &scenario::Scenario, seed: u64) -> Sim<Toy> {
    use quorumlab_sim::host::{run_job, Job, JobResult};
    let mut sim = Sim::<Toy>::new(s, seed).unwrap();
    let params = sim.params().clone();
    let mut workers: Vec<Vec<Option<Toy>>> = (0..s.n()).map(|_| vec![None]).collect();
    loop {
        for c in sim.take_crashed() {
            workers[c as usize] = vec![None];
        }
        match sim.begin_step() {
            Err(()) => break,
            Ok(None) => {}
            Ok(Some(jobs)) => {
                let mut results = Vec::new();
                for (i, job) in jobs.into_iter().rev() {
                    let wire = serde_json::to_string(&job).unwrap();
                    let job: Job<Toy> = serde_json::from_str(&wire).unwrap();
                    let r = run_job(&mut workers[i as usize], 0, &params, job, &mut |_, _, _| {
                        Ok(())
                    });
                    let wire = serde_json::to_string(&r).unwrap();
                    let r: JobResult<Toy> = serde_json::from_str(&wire).unwrap();
                    results.push((i, r));
                }
                sim.finish_window(results);
            }
        }
    }
    sim
}

#[test]
fn worker_style_execution_gives_the_same_trace() {
    let s = scenario(
        r#", "faults": [{"at_ms": 300, "type": "crash", "node": 0},
                        {"at_ms": 500, "type": "restart", "node": 0},
                        {"at_ms": 700, "type": "partition", "groups": [[0], [1, 2]]},
                        {"at_ms": 900, "type": "heal"},
                        {"at_ms": 1000, "type": "pause", "node": 1, "duration_ms": 200},
                        {"at_ms": 1100, "type": "clock", "node": 2, "skew_ms": 50, "drift_ppm": 20000}],
            "nemesis": {"interval_ms": 100, "faults": ["crash", "partition", "loss", "duplicate", "pause", "clock"]}"#,
    );
    for seed in 0..5 {
        let a = run(&s, seed);
        let b = run_as_workers(&s, seed);
        assert_eq!(a.trace_hash(), b.trace_hash(), "seed {seed}");
        assert_eq!(a.events(), b.events());
        assert_eq!(a.history, b.history);
    }
}

/// Not a speed test (speed lives in `quorumlab bench`): prints the toy's throughput when
/// run with `--ignored --nocapture` in release, for profiling the engine alone.
#[test]
#[ignore]
fn toy_throughput() {
    let s = scenario("");
    let t = std::time::Instant::now();
    let mut ev = 0;
    for seed in 0..50 {
        ev += run(&s, seed).events();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "toy: {ev} events in {secs:.3} s = {:.2} M/s",
        ev as f64 / secs / 1e6
    );
}

#[test]
fn the_lookahead_is_a_message_latency_or_a_client_round_trip() {
    // Messages take at least 2 ms; a client's reply and next request take 1 ms each.
    let s = scenario("");
    assert_eq!(Sim::<Toy>::new(&s, 1).unwrap().lookahead(), 2 * MS);
    // Slower clients: the messages bound it.
    let s = scenario(r#", "network": {"client_latency_ms": 5}"#);
    assert_eq!(Sim::<Toy>::new(&s, 1).unwrap().lookahead(), 2 * MS);
    // Faster clients: the round trip through a client bounds it.
    let s = scenario(r#", "network": {"client_latency_ms": 0.25}"#);
    assert_eq!(Sim::<Toy>::new(&s, 1).unwrap().lookahead(), MS / 2);
}

#[test]
fn a_lookahead_longer_than_the_scenario_allows_is_caught() {
    // Windows of 50 ms span clients' replies and their next requests: a request would
    // land inside a window that has already run. The simulator must notice, not quietly
    // deliver it late.
    let s = scenario("");
    let mut sim = Sim::<Toy>::new(&s, 3).unwrap().with_lookahead(50 * MS);
    sim.run();
    let v = sim.violation().expect("the guard fires");
    assert_eq!(v.invariant, "simulator causality", "{v:?}");
    // The same scenario with its own lookahead runs clean.
    assert!(run(&s, 3).violation().is_none());
}

#[test]
fn messages_to_a_crashed_node_are_dropped_and_counted() {
    let s = scenario(
        r#", "faults": [{"at_ms": 500, "type": "crash", "node": 1},
                        {"at_ms": 1000, "type": "restart", "node": 1}]"#,
    );
    let mut sim = Sim::<Toy>::new(&s, 5).unwrap().with_recorder(1_000_000);
    sim.run();
    let r = sim.recorder.as_ref().unwrap();
    let to_dead = |f: &&quorumlab_sim::engine::Flight| {
        f.to == 1 && f.arrives > 500_000 && f.arrives < 1_000_000
    };
    let n = r.flights.iter().filter(to_dead).count();
    assert!(n > 30, "pings to the crashed node: {n}");
    assert!(
        r.flights
            .iter()
            .filter(to_dead)
            .all(|f| f.fate == "crashed" && f.dropped()),
        "every message reaching node 1 while it is down is dropped: {:?}",
        r.flights
            .iter()
            .filter(to_dead)
            .find(|f| f.fate != "crashed")
    );
    // Before the crash and after the restart they are delivered.
    assert!(r
        .flights
        .iter()
        .any(|f| f.to == 1 && f.arrives > 1_100_000 && f.fate == "delivered"));
    assert!(r
        .flights
        .iter()
        .any(|f| f.to == 1 && f.arrives < 400_000 && f.fate == "delivered"));
    // The metrics count exactly the dropped messages (no loss, no partition here).
    let dropped = r.flights.iter().filter(|f| f.dropped()).count() as u64;
    assert_eq!(sim.metrics.total().dropped, dropped);
    assert!(dropped >= n as u64);
}

/// Operations of the given processes that complete ok between `from` and `to` (µs).
fn oks_between(sim: &Sim<Toy>, procs: &[u64], from: Time, to: Time) -> usize {
    sim.history
        .events
        .iter()
        .filter(|e| {
            procs.contains(&e.process) && e.kind == EventType::Ok && e.time > from && e.time < to
        })
        .count()
}

#[test]
fn a_client_reaches_other_nodes_over_its_home_nodes_network_both_ways() {
    // Clients 0 and 1 live beside node 1 and are redirected to the leader, node 0;
    // client 2 lives beside node 0. A one-way cut between 0 and 1 stops client 0 and 1's
    // operations whichever way it goes: one way the requests, the other the replies.
    for (from, to) in [(1, 0), (0, 1)] {
        let s = scenario::parse(&format!(
            r#"{{"version": 1, "protocol": {{"name": "raft"}}, "nodes": 3, "duration_ms": 2000,
                "workload": {{"clients": 3, "rate": 50, "keys": 2, "timeout_ms": 100,
                              "attach": [1, 1, 0]}},
                "checks": {{"converge_after_ms": 0}},
                "faults": [{{"at_ms": 500, "type": "cut", "from": {from}, "to": {to}}},
                           {{"at_ms": 1500, "type": "heal"}}]}}"#
        ))
        .expect("parses");
        s.validate().expect("valid");
        let sim = run(&s, 4);
        let name = format!("cut {from} -> {to}");
        assert!(
            oks_between(&sim, &[0, 1], 0, 450_000) > 20,
            "{name}: fine before"
        );
        assert_eq!(
            oks_between(&sim, &[0, 1], 600_000, 1_500_000),
            0,
            "{name}: node 1's clients cannot reach the leader"
        );
        assert!(
            oks_between(&sim, &[2], 600_000, 1_500_000) > 20,
            "{name}: node 0's client is not affected"
        );
        // After the heal (a client avoids a node that timed out on it for a while).
        for p in [0, 1] {
            assert!(
                oks_between(&sim, &[p], 1_500_000, 2_000_000) > 2,
                "{name}: client {p} is served again after the heal"
            );
        }
    }
}
