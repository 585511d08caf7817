//! Client data types: every protocol of the catalogue declares one, its clients ask only
//! for that type's operations, the history names it and is checked against its
//! sequential specification; scenarios and histories of another type are refused,
//! naming the field. A lock service (none in the catalogue yet) declares the lock type
//! in one line and gets a lock workload and the lock's checker.

use quorumlab_core::{
    ClientReply, ClientRequest, Ctx, DataType, NodeId, NodeView, Op, OpKind, Outcome, Protocol,
    Role, RoleKind, Time, Violation, MS,
};
use quorumlab_sim::check::{self, Model};
use quorumlab_sim::engine::Sim;
use quorumlab_sim::history::{EventType, Func, History};
use quorumlab_sim::registry;
use quorumlab_sim::run::{self, Check};
use quorumlab_sim::scenario::{self, Scenario};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

fn preset(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).expect("preset");
    scenario::load(&text).unwrap_or_else(|e| panic!("{name}: {}", scenario::describe(&e)))
}

fn errors(doc: serde_json::Value) -> Vec<scenario::ScenarioError> {
    scenario::load(&doc.to_string()).expect_err("refused")
}

/// The operations a history asks for, as names.
fn ops_of(h: &History) -> Vec<&'static str> {
    let mut ops: Vec<&'static str> = h.events.iter().map(|e| e.f.name()).collect();
    ops.sort();
    ops.dedup();
    ops
}

#[test]
fn every_protocol_declares_its_data_type_and_its_clients_keep_to_it() {
    let entries = registry::entries();
    for e in &entries {
        let d = e.data_type;
        assert!(
            DataType::ALL.contains(&d),
            "{}: data type {} is not one of the known ones",
            e.name,
            d.name
        );
        if !d.serves_clients() {
            // No preset gives it clients, and a scenario that does is refused.
            for p in e.listing.presets {
                assert!(preset(p).workload.is_none(), "{p}");
            }
            let errs = errors(serde_json::json!({
                "version": 1, "protocol": {"name": e.name}, "nodes": 3, "duration_ms": 1000,
                "workload": {"clients": 1}
            }));
            assert!(
                errs.iter()
                    .any(|x| x.path == "workload"
                        && x.message.contains("serves no client operations")),
                "{}: {errs:?}",
                e.name
            );
            continue;
        }
        // The checker has a model of the same name.
        assert_eq!(
            Model::from_name(d.name).map(Model::name),
            Some(d.name),
            "{}",
            e.name
        );
        let mut ran = 0;
        for p in e.listing.presets {
            let s = preset(p);
            if s.workload.is_none() {
                continue;
            }
            // The protocol's own type, or another it serves that the preset names.
            let d = e.data_type_of(&s).expect("a type it serves");
            let mut run = registry::build(&s, s.seed, 0).expect("builds");
            run.run_to_end();
            let h = run.history();
            assert_eq!(h.data_type.as_deref(), Some(d.name), "{p}");
            assert!(!h.events.is_empty(), "{p}: no client operations");
            for op in ops_of(h) {
                let k = OpKind::from_name(op).expect("a kind");
                assert!(d.has(k), "{p}: {op} is not an operation of {}", d.name);
            }
            ran += 1;
        }
        assert!(ran > 0, "{}: no preset with clients", e.name);
    }
}

#[test]
fn a_mix_or_console_operation_of_another_type_is_refused_naming_the_field() {
    let errs = errors(serde_json::json!({
        "version": 1, "protocol": {"name": "raft"}, "nodes": 3, "duration_ms": 1000,
        "workload": {"clients": 1, "mix": {"read": 1, "acquire": 1}}
    }));
    let e = errs
        .iter()
        .find(|e| e.path == "workload.mix.acquire")
        .unwrap_or_else(|| panic!("{errs:?}"));
    assert_eq!(
        e.message,
        "acquire is not an operation of raft's data type cas-register (its operations: read, write, cas)"
    );
    // An operation nobody serves is refused by its name too.
    let errs = errors(serde_json::json!({
        "version": 1, "protocol": {"name": "raft"}, "nodes": 3, "duration_ms": 1000,
        "workload": {"clients": 1, "mix": {"increment": 1}}
    }));
    assert!(
        errs[0].path.starts_with("workload.mix") && errs[0].message.contains("increment"),
        "{errs:?}"
    );
    let errs = errors(serde_json::json!({
        "version": 1, "protocol": {"name": "multi-paxos"}, "nodes": 3, "duration_ms": 1000,
        "faults": [{"at_ms": 10, "type": "client", "node": 0, "op": {"f": "release", "key": "k0"}}]
    }));
    assert!(
        errs.iter().any(|e| e.path == "faults[0].op"
            && e.message
                .contains("release is not an operation of multi-paxos's data type cas-register")),
        "{errs:?}"
    );
    let errs = errors(serde_json::json!({
        "version": 1, "protocol": {"name": "phi-accrual"}, "nodes": 3, "duration_ms": 1000,
        "faults": [{"at_ms": 10, "type": "client", "node": 0, "op": {"f": "read", "key": "k0"}}]
    }));
    assert!(
        errs.iter()
            .any(|e| e.path == "faults[0].op" && e.message.contains("serves no client operations")),
        "{errs:?}"
    );
}

#[test]
fn a_partial_mix_weighs_the_rest_zero_and_no_mix_is_the_types_default() {
    let s = scenario::load(
        &serde_json::json!({
            "version": 1, "protocol": {"name": "raft"}, "nodes": 3, "duration_ms": 2000,
            "workload": {"clients": 3, "rate": 50, "mix": {"cas": 1}}
        })
        .to_string(),
    )
    .expect("valid");
    let mut e = registry::build(&s, 3, 0).expect("builds");
    e.run_to_end();
    assert_eq!(ops_of(e.history()), ["cas"]);
    let w = s.workload.as_ref().expect("a workload");
    assert_eq!(
        w.mix.weights(&DataType::CAS_REGISTER),
        [
            (OpKind::Read, 0.0),
            (OpKind::Write, 0.0),
            (OpKind::Cas, 1.0)
        ]
    );
    let unset = scenario::OpMix::default();
    assert_eq!(
        unset.weights(&DataType::LOCK),
        DataType::LOCK.default_mix.to_vec()
    );
    // A scenario without a mix does not write one out (it is the data type's).
    let s = preset("paxos-dueling-proposers");
    assert!(s.workload.as_ref().is_some_and(|w| w.mix.is_unset()));
    assert!(!s.to_json().contains("\"mix\""));
}

// ---- a lock service, declared in one line ---------------------------------------------

/// A lock service on node 0 (the others redirect to it): a lock per key, granted when
/// free with a fencing token one above the last, released by its holder. `sloppy`:
/// grant a held lock as well (a seeded bug the lock's checker must catch).
#[derive(Clone, Debug)]
struct LockToy {
    id: NodeId,
    held: BTreeMap<String, u32>,
    token: i64,
    sloppy: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct LockToyParams {
    /// Grant a held lock too.
    sloppy: bool,
}

#[derive(Clone, Debug, Hash, Serialize, Deserialize)]
enum LockToyMsg {}

impl quorumlab_core::Message for LockToyMsg {
    fn kind(&self) -> &'static str {
        match *self {}
    }
}

quorumlab_core::timers!(LockToyTimer { Never = 0 });

impl Protocol for LockToy {
    const NAME: &'static str = "lock-toy";
    const DATA_TYPE: DataType = DataType::LOCK;
    type Params = LockToyParams;
    type Msg = LockToyMsg;
    type Disk = ();
    type Write = ();
    type Monitor = ();
    type Timer = LockToyTimer;
    fn apply_write(_: &mut (), _: ()) {}
    fn boot(id: NodeId, _: &[NodeId], p: &LockToyParams, _: Option<&()>) -> Self {
        LockToy {
            id,
            held: BTreeMap::new(),
            token: 0,
            sloppy: p.sloppy,
        }
    }
    fn start(&mut self, _: &mut Ctx<'_, Self>) {}
    fn on_message(&mut self, _: &mut Ctx<'_, Self>, _: NodeId, msg: LockToyMsg) {
        match msg {}
    }
    fn on_timer(&mut self, _: &mut Ctx<'_, Self>, _: LockToyTimer) {}
    fn on_client(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest) {
        let outcome = if self.id != 0 {
            Outcome::Redirect {
                leader: Some(0),
                term: 1,
            }
        } else {
            match &req.op {
                Op::Acquire { key } if self.sloppy || !self.held.contains_key(key) => {
                    self.token += 1;
                    self.held.insert(key.clone(), req.client);
                    Outcome::Ok {
                        value: Some(quorumlab_core::Val::Int(self.token)),
                    }
                }
                Op::Release { key } if self.held.get(key) == Some(&req.client) => {
                    self.held.remove(key);
                    Outcome::Ok { value: None }
                }
                other => Outcome::Fail {
                    reason: format!("{} {} refused", other.kind().name(), other.key()),
                },
            }
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
            role: Role::new("lock server", RoleKind::Neutral),
            ..Default::default()
        }
    }
    fn invariants() -> &'static [&'static str] {
        &[]
    }
    fn check(_: &mut (), _: NodeId, _: &[Option<Self>], _: Time) -> Result<(), Violation> {
        Ok(())
    }
}

fn lock_run(sloppy: bool, seed: u64) -> Sim<LockToy> {
    // The catalogue has no lock service, so the scenario is parsed, not validated
    // against it; the simulator checks its clients against the lock type itself.
    let s = scenario::parse(
        &serde_json::json!({
            "version": 1, "protocol": {"name": "lock-toy", "params": {"sloppy": sloppy}},
            "nodes": 3, "duration_ms": 3000,
            "workload": {"clients": 4, "rate": 40, "keys": 2, "timeout_ms": 200},
            "checks": {"converge_after_ms": 0}
        })
        .to_string(),
    )
    .expect("parses");
    let mut sim = Sim::<LockToy>::new(&s, seed).expect("builds");
    sim.run();
    sim
}

#[test]
fn a_lock_service_gets_lock_clients_and_the_locks_checker() {
    let sim = lock_run(false, 1);
    let h = &sim.history;
    assert_eq!(h.data_type.as_deref(), Some("lock"));
    assert_eq!(ops_of(h), ["acquire", "release"]);
    let granted = h
        .events
        .iter()
        .filter(|e| e.kind == EventType::Ok && e.f == Func::Acquire)
        .count();
    assert!(granted > 20, "only {granted} acquires granted");
    let linearizable = |h: &History| run::check_history_of(h, true, &mut || false);
    assert!(
        matches!(linearizable(h), Check::Passed),
        "{:?}",
        linearizable(h)
    );
    // The history file names the type, so `quorumlab check` takes the lock's model.
    let back = check::parse_jsonl(&h.to_jsonl()).expect("reads back");
    assert_eq!(&back.history, h);
    assert_eq!(Model::of(&back.history), Model::Lock);

    // Granting a held lock: two holders at once, which the lock's specification refuses.
    let bad = (1..20)
        .map(|seed| lock_run(true, seed))
        .find(|s| matches!(linearizable(&s.history), Check::Failed { .. }));
    let bad = bad.expect("a sloppy lock service caught within 20 seeds");
    let Check::Failed { detail, .. } = linearizable(&bad.history) else {
        unreachable!()
    };
    assert!(detail.contains("lock"), "{detail}");
}

#[test]
fn a_register_protocol_refuses_a_lock_operation_from_the_console() {
    let mut s = preset("raft-first-election");
    s.workload = None;
    let mut e = registry::build(&s, 1, 0).expect("builds");
    e.run_until(500 * MS);
    e.inject(scenario::FaultKind::Client {
        node: 0,
        op: Op::Acquire { key: "k0".into() },
    });
    e.run_to_end();
    assert!(e.history().events.is_empty(), "{:?}", e.history().events);
    assert!(
        e.log().iter().any(|l| l
            .what
            .contains("acquire is not an operation of raft's data type cas-register")),
        "no refusal in the log"
    );
}

// ---- histories --------------------------------------------------------------------------

#[test]
fn a_history_names_its_data_type_on_its_first_line_and_old_ones_still_check() {
    let old = "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"x\",\"value\":1,\"time\":1}\n\
               {\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"key\":\"x\",\"value\":1,\"time\":2}\n\
               {\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"x\",\"value\":null,\"time\":3}\n\
               {\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"key\":\"x\",\"value\":1,\"time\":4}\n";
    let p = check::parse_jsonl(old).expect("an old file parses");
    assert_eq!(p.history.data_type, None);
    assert_eq!(Model::of(&p.history), Model::CasRegister);
    let v = check::check_parsed(&p, &check::Options::new(Model::of(&p.history)), &mut || {
        false
    })
    .expect("checks");
    assert!(v.0.is_linearizable());
    assert!(matches!(
        run::check_history_of(&p.history, true, &mut || false),
        Check::Passed
    ));

    let named = format!("{{\"data_type\":\"cas-register\"}}\n{old}");
    let p = check::parse_jsonl(&named).expect("a named file parses");
    assert_eq!(p.history.data_type.as_deref(), Some("cas-register"));
    assert_eq!(p.lines, [2, 3, 4, 5], "events keep their own line numbers");
    assert_eq!(
        check::parse_jsonl(&p.history.to_jsonl()).unwrap().history,
        p.history
    );

    // Register operations in a file that says it is a lock's: refused, naming "f".
    let lock = format!("{{\"data_type\":\"lock\"}}\n{old}");
    let p = check::parse_jsonl(&lock).expect("parses");
    let e = check::check_parsed(&p, &check::Options::new(Model::of(&p.history)), &mut || {
        false
    })
    .expect_err("refused");
    assert_eq!(e.line, 2);
    assert!(
        e.message
            .starts_with("field \"f\": write is not an operation of the lock model"),
        "{e}"
    );

    let e = check::parse_jsonl(&format!("{old}{{\"data_type\":\"lock\"}}\n")).expect_err("late");
    assert_eq!(e.line, 5);
    assert!(
        e.message.contains("field \"data_type\"") && e.message.contains("first line"),
        "{e}"
    );
    let e = check::parse_jsonl("{\"data_type\":\"queue\"}\n").expect_err("unknown");
    assert_eq!(
        e.message,
        "field \"data_type\": unknown data type \"queue\" (known: register, cas-register, kv, lock)"
    );
    let e = check::parse_jsonl("{\"data_type\":\"lock\",\"process\":1}\n").expect_err("mixed");
    assert!(e.message.contains("a line of its own"), "{e}");
}

/// Raft, Multi-Paxos, primary-backup and the sharded store also serve the key-value map (strings grown by
/// append), chosen with `protocol.data_type`: the clients then only read and append,
/// the history names `kv` and checks as the `kv` model, and every read returns pieces
/// in the order they were appended. A type the protocol does not serve is refused,
/// naming the field and what it serves.
#[test]
fn a_protocol_that_also_serves_the_key_value_map_runs_appends_when_asked() {
    let served: Vec<&str> = registry::entries()
        .iter()
        .filter(|e| e.also_serves.contains(&DataType::KV))
        .map(|e| e.name)
        .collect();
    assert_eq!(
        served,
        ["raft", "multi-paxos", "primary-backup", "sharded-raft"]
    );
    for name in served {
        let doc = serde_json::json!({
            "version": 1, "protocol": {"name": name, "data_type": "kv"}, "nodes": 3,
            "duration_ms": 3000, "workload": {"clients": 3, "rate": 30, "keys": 2}
        });
        let s = scenario::load(&doc.to_string()).expect("a kv scenario loads");
        let mut e = registry::build(&s, 3, 0).expect("builds");
        e.run_to_end();
        let h = e.history();
        assert_eq!(h.data_type.as_deref(), Some("kv"), "{name}");
        assert_eq!(ops_of(h), ["append", "read"], "{name}");
        let verdict = run::check_history_of(h, true, &mut || false);
        assert_eq!(verdict, Check::Passed, "{name}: {verdict:?}");
        // Reads see whole pieces, each appended once, in one order per key.
        let reads: Vec<&str> = h
            .events
            .iter()
            .filter(|x| x.f == Func::Read && x.kind == EventType::Ok)
            .filter_map(|x| match &x.value {
                quorumlab_sim::history::Value::Str(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        let longest = reads.iter().map(|r| r.len()).max().unwrap_or(0);
        assert!(longest >= 12, "{name}: reads saw appends: {reads:?}");
        for r in &reads {
            let pieces: Vec<&str> = r.split_inclusive(']').collect();
            let mut seen = pieces.clone();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), pieces.len(), "{name}: a piece twice in {r}");
        }
    }
    // A type the protocol does not serve: the field, and what it serves.
    let errs = errors(serde_json::json!({
        "version": 1, "protocol": {"name": "quorum-kv", "data_type": "kv"}, "nodes": 3,
        "duration_ms": 1000, "workload": {"clients": 1}
    }));
    assert!(
        errs.iter().any(|x| x.path == "protocol.data_type"
            && x.message
                .contains("quorum-kv does not serve the data type `kv`")
            && x.message.contains("register (read, write)")),
        "{errs:?}"
    );
    let errs = errors(serde_json::json!({
        "version": 1, "protocol": {"name": "raft", "data_type": "queue"}, "nodes": 3,
        "duration_ms": 1000
    }));
    assert!(
        errs.iter().any(|x| x.path == "protocol.data_type"
            && x.message.contains("a data type called `queue`")
            && x.message
                .contains("cas-register (read, write, cas), kv (read, append)")),
        "{errs:?}"
    );
    // The register's operations in a kv run: refused, naming the field.
    let errs = errors(serde_json::json!({
        "version": 1, "protocol": {"name": "raft", "data_type": "kv"}, "nodes": 3,
        "duration_ms": 1000, "workload": {"clients": 1, "mix": {"read": 1, "cas": 1}}
    }));
    assert!(
        errs.iter()
            .any(|x| x.path == "workload.mix.cas" && x.message.contains("data type kv")),
        "{errs:?}"
    );
}
