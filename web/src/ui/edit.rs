//! Scenario edits from the editor panels, the canvas and the timeline. Each returns the
//! edited scenario or a message; the caller validates and replays.

use quorumlab_core::{DataType, NodeId, OpKind};
use quorumlab_sim::scenario::{
    self, FaultKind, LatencySpec, LinkSpec, NemesisSpec, NodeRef, NodeSpec, Nodes, Scenario,
    WorkloadSpec, MAX_NODES,
};

/// Check an edited scenario, as one message.
pub fn checked(s: Scenario) -> Result<Scenario, String> {
    match s.validate() {
        Ok(()) => Ok(s),
        Err(errs) => Err(scenario::describe(&errs)),
    }
}

fn node_list(s: &Scenario) -> Vec<NodeSpec> {
    (0..s.n()).map(|k| s.nodes.spec(k)).collect()
}

/// Add a node at the end (drawn on the circle unless others have positions).
pub fn add_node(s: &Scenario) -> Result<Scenario, String> {
    if s.n() >= MAX_NODES {
        return Err(format!("the playground draws at most {MAX_NODES} nodes"));
    }
    let mut s = s.clone();
    s.nodes = match &s.nodes {
        Nodes::Count(n) => Nodes::Count(n + 1),
        Nodes::List(l) => {
            let mut l = l.clone();
            let all_placed = !l.is_empty() && l.iter().all(|x| x.x.is_some() && x.y.is_some());
            l.push(if all_placed {
                NodeSpec {
                    x: Some(0.5),
                    y: Some(0.5),
                    spare: false,
                }
            } else {
                NodeSpec::default()
            });
            Nodes::List(l)
        }
    };
    checked(s)
}

/// Remove node `id`: everything that names it goes, later ids shift down by one.
pub fn remove_node(s: &Scenario, id: NodeId) -> Result<Scenario, String> {
    let n = s.n();
    if id as usize >= n {
        return Err(format!("there is no node {id}"));
    }
    if n <= 1 {
        return Err("a cluster needs at least one node".into());
    }
    let mut s = s.clone();
    let shift = |x: NodeId| if x > id { x - 1 } else { x };
    let mut list = node_list(&s);
    list.remove(id as usize);
    s.nodes = if list.iter().all(|x| *x == NodeSpec::default()) {
        Nodes::Count(list.len() as u32)
    } else {
        Nodes::List(list)
    };
    s.links.retain(|l| l.from != id && l.to != id);
    for l in &mut s.links {
        l.from = shift(l.from);
        l.to = shift(l.to);
    }
    if let Some(w) = &mut s.workload {
        w.attach.retain(|&a| a != id);
        for a in &mut w.attach {
            *a = shift(*a);
        }
    }
    s.faults.retain_mut(|f| {
        use FaultKind::*;
        match &mut f.kind {
            Crash { node }
            | Restart { node, .. }
            | Pause { node, .. }
            | Clock { node, .. }
            | Isolate { node }
            | Reconnect { node } => {
                match node.id() {
                    Some(x) if x == id => false,
                    Some(x) => {
                        *node = shift(x).into();
                        true
                    }
                    // A role is resolved when the fault fires: still meaningful.
                    None => true,
                }
            }
            AddNode { node } | RemoveNode { node } | Promote { node } | Client { node, .. } => {
                if *node == id {
                    return false;
                }
                *node = shift(*node);
                true
            }
            Cut { from, to } | Degrade { from, to, .. } | Restore { from, to, .. } => {
                if *from == id || *to == id {
                    return false;
                }
                *from = shift(*from);
                *to = shift(*to);
                true
            }
            Partition { groups } => {
                for g in groups.iter_mut() {
                    g.retain(|x| *x != id);
                    for x in g.iter_mut() {
                        if let Some(i) = x.id() {
                            *x = shift(i).into();
                        }
                    }
                }
                groups.retain(|g| !g.is_empty());
                true
            }
            Heal => true,
        }
    });
    checked(s)
}

/// The link override between `a` and `b` (either direction), if any.
pub fn link_of(s: &Scenario, a: NodeId, b: NodeId) -> Option<&LinkSpec> {
    s.links
        .iter()
        .find(|l| (l.from == a && l.to == b) || (l.both_ways && l.from == b && l.to == a))
}

/// Set the latency (ms; `None`: the network's) and loss of the link `a <-> b`.
pub fn set_link(
    s: &Scenario,
    a: NodeId,
    b: NodeId,
    latency: Option<LatencySpec>,
    loss: Option<f64>,
) -> Result<Scenario, String> {
    let mut s = s.clone();
    s.links
        .retain(|l| !((l.from == a && l.to == b) || (l.from == b && l.to == a)));
    if latency.is_some() || loss.is_some() {
        s.links.push(LinkSpec {
            from: a,
            to: b,
            both_ways: true,
            latency,
            loss,
            duplicate: None,
            reorder: None,
            long_delay: None,
        });
    }
    checked(s)
}

pub fn delete_fault(s: &Scenario, i: usize) -> Result<Scenario, String> {
    let mut s = s.clone();
    if i >= s.faults.len() {
        return Err(format!("there is no fault #{i}"));
    }
    s.faults.remove(i);
    checked(s)
}

pub fn move_fault(s: &Scenario, i: usize, at_ms: u64) -> Result<Scenario, String> {
    let mut s = s.clone();
    let Some(f) = s.faults.get_mut(i) else {
        return Err(format!("there is no fault #{i}"));
    };
    f.at_ms = at_ms.min(s.duration_ms);
    checked(s)
}

pub fn set_nemesis(s: &Scenario, on: bool) -> Result<Scenario, String> {
    let mut s = s.clone();
    s.nemesis = if on {
        Some(s.nemesis.clone().unwrap_or_default())
    } else {
        None
    };
    checked(s)
}

/// Set one protocol parameter (a JSON value) by name.
pub fn set_param(s: &Scenario, name: &str, value: serde_json::Value) -> Result<Scenario, String> {
    let mut s = s.clone();
    let mut obj = s.protocol.params.as_object().cloned().unwrap_or_default();
    obj.insert(name.to_string(), value);
    s.protocol.params = serde_json::Value::Object(obj);
    checked(s)
}

/// Switch the scenario to protocol `name` (a registry name), with that protocol's
/// default parameters; everything else is kept.
pub fn set_protocol(s: &Scenario, name: &str) -> Result<Scenario, String> {
    if s.protocol.name == name {
        return Ok(s.clone());
    }
    let mut s = s.clone();
    s.protocol.name = name.to_string();
    s.protocol.params = serde_json::Value::Null;
    // Its clients ask for what the new protocol serves (a failure detector: nothing);
    // a data type it does not serve gives way to its own.
    if let Some(e) = quorumlab_sim::registry::entry(name) {
        e.fit(&mut s);
    }
    checked(s)
}

/// Switch the clients to the data type called `name`, one the protocol serves: the
/// protocol's own is written as no choice at all; an operation mix of the other type
/// gives way to the new type's default mix, and console requests of it go.
pub fn set_data_type(s: &Scenario, name: &str) -> Result<Scenario, String> {
    let e = quorumlab_sim::registry::entry(&s.protocol.name)
        .ok_or_else(|| format!("unknown protocol {}", s.protocol.name))?;
    let mut s = s.clone();
    s.protocol.data_type = (name != e.data_type.name).then(|| name.to_string());
    let d = e.data_type_of(&s).map_err(|err| err.to_string())?;
    quorumlab_sim::workload::fit_clients(&mut s, &d);
    checked(s)
}

/// Parse a text field as a JSON value of the same type as `like`.
pub fn parse_like(like: &serde_json::Value, text: &str) -> Result<serde_json::Value, String> {
    let t = text.trim();
    match like {
        serde_json::Value::Bool(_) => Ok(serde_json::Value::Bool(t == "true")),
        serde_json::Value::Number(_) => {
            if let Ok(u) = t.parse::<u64>() {
                Ok(u.into())
            } else if let Ok(i) = t.parse::<i64>() {
                Ok(i.into())
            } else {
                match t.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                    Some(n) => Ok(serde_json::Value::Number(n)),
                    None => Err(format!("`{t}` is not a number")),
                }
            }
        }
        _ => Ok(serde_json::Value::String(t.to_string())),
    }
}

/// Workload fields the editor offers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WorkloadField {
    Clients,
    Rate,
    Keys,
    TimeoutMs,
    /// The weight of one operation in the mix.
    Mix(OpKind),
}

/// The client data type the scenario's run uses (none for an unknown protocol; the
/// protocol's own when the scenario names one it does not serve).
pub fn data_type(s: &Scenario) -> DataType {
    quorumlab_sim::registry::entry(&s.protocol.name)
        .map_or(DataType::NONE, |e| e.data_type_of(s).unwrap_or(e.data_type))
}

pub fn set_workload(s: &Scenario, field: WorkloadField, v: f64) -> Result<Scenario, String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{v} must be a number of 0 or more"));
    }
    let mut s = s.clone();
    let mut w = s.workload.clone().unwrap_or(WorkloadSpec {
        clients: 1,
        attach: Vec::new(),
        rate: 2.0,
        mix: Default::default(),
        keys: 2,
        timeout_ms: 500,
        retries: 3,
        start_ms: 0,
        stop_ms: None,
        client: None,
        rate_limit: None,
        capacity: None,
    });
    match field {
        WorkloadField::Clients => w.clients = v as u32,
        WorkloadField::Rate => w.rate = v,
        WorkloadField::Keys => w.keys = v as u32,
        WorkloadField::TimeoutMs => w.timeout_ms = v as u64,
        WorkloadField::Mix(op) => w.mix.set(op, v, &data_type(&s)),
    }
    s.workload = if w.clients == 0 { None } else { Some(w) };
    checked(s)
}

/// The nemesis with a fault kind switched on or off.
pub fn toggle_nemesis_kind(s: &Scenario, kind: &str) -> Result<Scenario, String> {
    let mut s = s.clone();
    let mut nm: NemesisSpec = s.nemesis.clone().unwrap_or_default();
    if let Some(i) = nm.faults.iter().position(|k| k == kind) {
        nm.faults.remove(i);
    } else {
        nm.faults.push(kind.to_string());
    }
    s.nemesis = Some(nm);
    checked(s)
}

/// Switch the nemesis's "keep a majority up and connected" on or off.
pub fn set_keep_majority(s: &Scenario, on: bool) -> Result<Scenario, String> {
    let mut s = s.clone();
    let mut nm: NemesisSpec = s.nemesis.clone().unwrap_or_default();
    nm.keep_majority = on;
    s.nemesis = Some(nm);
    checked(s)
}

/// A node a fault names, in words: "node 3", "the leader", "a follower", ...
fn who(r: &NodeRef) -> String {
    match r {
        NodeRef::Id(i) => format!("node {i}"),
        NodeRef::Leader => "the leader".into(),
        r => r.to_string(),
    }
}

/// A fault in words, for the timeline and the log.
pub fn describe_fault(k: &FaultKind) -> String {
    use FaultKind::*;
    match k {
        Crash { node } => format!("crash {}", who(node)),
        Restart { node, disk: true } => format!("restart {} from disk", who(node)),
        Restart { node, disk: false } => format!("restart {} blank", who(node)),
        Pause { node, duration_ms } => format!("pause {} for {duration_ms} ms", who(node)),
        Clock {
            node,
            skew_ms,
            drift_ppm,
        } => format!("clock of {}: {skew_ms:+} ms, {drift_ppm:+} ppm", who(node)),
        Partition { groups } => {
            let gs: Vec<String> = groups
                .iter()
                .map(|g| {
                    let xs: Vec<String> = g.iter().map(|r| r.to_string()).collect();
                    format!("[{}]", xs.join(", "))
                })
                .collect();
            format!("partition {}", gs.join(" | "))
        }
        Isolate { node } => format!("isolate {}", who(node)),
        Reconnect { node } => format!("reconnect {}", who(node)),
        Cut { from, to } => format!("cut {from} → {to}"),
        Heal => "heal the network".into(),
        Degrade { from, to, .. } => format!("degrade link {from} – {to}"),
        Restore { from, to, .. } => format!("restore link {from} – {to}"),
        AddNode { node } => format!("add node {node}"),
        RemoveNode { node } => format!("remove node {node}"),
        Promote { node } => format!("promote node {node}"),
        Client { node, op } => format!("console {} → node {node}", describe_op(op)),
    }
}

pub fn describe_op(op: &quorumlab_core::Op) -> String {
    use quorumlab_core::Op::*;
    match op {
        Read { key } => format!("read {key}"),
        Write { key, value } => format!("write {key}={value}"),
        Cas { key, expect, new } => format!("cas {key} {expect}→{new}"),
        other => format!("{} {}", other.kind().name(), other.key()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::gallery::default_scenario;
    use quorumlab_sim::scenario::Fault;

    #[test]
    fn add_and_remove_nodes_renumber_everything() {
        let mut s = default_scenario();
        s.faults = vec![
            Fault {
                at_ms: 10,
                kind: FaultKind::Crash { node: 1.into() },
            },
            Fault {
                at_ms: 20,
                kind: FaultKind::Crash { node: 3.into() },
            },
            Fault {
                at_ms: 30,
                kind: FaultKind::Partition {
                    groups: vec![vec![0.into(), 1.into()], vec![2.into(), 3.into(), 4.into()]],
                },
            },
        ];
        let s = add_node(&s).unwrap();
        assert_eq!(s.n(), 6);
        let s = remove_node(&s, 1).unwrap();
        assert_eq!(s.n(), 5);
        assert_eq!(s.faults.len(), 2);
        assert_eq!(s.faults[0].kind, FaultKind::Crash { node: 2.into() });
        assert_eq!(
            s.faults[1].kind,
            FaultKind::Partition {
                groups: vec![vec![0.into()], vec![1.into(), 2.into(), 3.into()]]
            }
        );
        assert!(remove_node(&s, 77).is_err());
    }

    #[test]
    fn links_faults_params_workload() {
        let s = default_scenario();
        let lat = LatencySpec {
            base_ms: 20.0,
            jitter_ms: 1.0,
            distribution: Default::default(),
        };
        let s = set_link(&s, 0, 1, Some(lat), Some(0.1)).unwrap();
        assert!(link_of(&s, 1, 0).is_some());
        assert!(set_link(&s, 0, 1, None, Some(2.0)).is_err());
        let s = set_link(&s, 1, 0, None, None).unwrap();
        assert!(s.links.is_empty());
        let s = set_param(&s, "pre_vote", serde_json::Value::Bool(false)).unwrap();
        assert_eq!(s.protocol.params["pre_vote"], false);
        assert!(set_workload(&s, WorkloadField::Rate, f64::NAN).is_err());
        let s = set_workload(&s, WorkloadField::Rate, 7.0).unwrap();
        assert_eq!(s.workload.as_ref().unwrap().rate, 7.0);
        // One weight edited: the others keep the data type's default weights.
        let c = set_workload(&s, WorkloadField::Mix(OpKind::Cas), 0.3).unwrap();
        let mix = &c.workload.as_ref().unwrap().mix;
        assert_eq!(
            (mix.read, mix.write, mix.cas),
            (Some(0.5), Some(0.4), Some(0.3))
        );
        // A failure detector serves no client operations: no workload for it.
        let mut fd = s.clone();
        fd.protocol.name = "heartbeat".into();
        fd.protocol.params = serde_json::Value::Null;
        fd.workload = None;
        let e = set_workload(&fd, WorkloadField::Clients, 2.0).unwrap_err();
        assert!(
            e.contains("workload: heartbeat serves no client operations"),
            "{e}"
        );
        let s = set_nemesis(&s, true).unwrap();
        assert!(s.nemesis.is_some());
        let s = toggle_nemesis_kind(&s, "crash").unwrap();
        assert!(!s
            .nemesis
            .as_ref()
            .unwrap()
            .faults
            .contains(&"crash".to_string()));
        assert!(toggle_nemesis_kind(&s, "bogus").is_err());
        assert!(delete_fault(&s, 3).is_err());
        assert_eq!(
            parse_like(&serde_json::json!(1), "150").unwrap(),
            serde_json::json!(150)
        );
        assert!(parse_like(&serde_json::json!(1), "abc").is_err());
    }

    /// Raft's clients can switch to the key-value map: the register's mix gives way to
    /// the map's, its console writes go, and the engine runs appends; switching to a
    /// protocol that does not serve the map goes back to that protocol's own type, and
    /// to one that does (Multi-Paxos) keeps it.
    #[test]
    fn the_data_type_can_be_switched_and_survives_only_where_served() {
        let s = set_workload(&default_scenario(), WorkloadField::Mix(OpKind::Cas), 0.3).unwrap();
        let mut s = s;
        s.faults.push(Fault {
            at_ms: 100,
            kind: FaultKind::Client {
                node: 0,
                op: quorumlab_core::Op::Write {
                    key: "k0".into(),
                    value: 4,
                },
            },
        });
        assert_eq!(data_type(&s), DataType::CAS_REGISTER);
        let kv = set_data_type(&s, "kv").unwrap();
        assert_eq!(kv.protocol.data_type.as_deref(), Some("kv"));
        assert_eq!(data_type(&kv), DataType::KV);
        let w = kv.workload.as_ref().unwrap();
        assert!(w.mix.is_unset(), "the register's mix gave way: {:?}", w.mix);
        assert!(kv.faults.is_empty(), "the console write went");
        let kv = set_workload(&kv, WorkloadField::Mix(OpKind::Append), 3.0).unwrap();
        let mix = &kv.workload.as_ref().unwrap().mix;
        assert_eq!((mix.read, mix.append), (Some(0.5), Some(3.0)));
        assert!(crate::ui::session::build_engine(&kv, 0).is_ok());
        // Back to the protocol's own type: written as no choice.
        let back = set_data_type(&kv, "cas-register").unwrap();
        assert_eq!(back.protocol.data_type, None);
        assert!(set_data_type(&kv, "lock").is_err(), "raft serves no locks");
        // Multi-Paxos serves the map too; the quorum store does not.
        let mp = set_protocol(&kv, "multi-paxos").unwrap();
        assert_eq!(data_type(&mp), DataType::KV);
        let q = set_protocol(&kv, "quorum-kv").unwrap();
        assert_eq!(
            (q.protocol.data_type.clone(), data_type(&q)),
            (None, DataType::REGISTER)
        );
    }

    /// Every protocol of the registry can be picked, and its default parameters run.
    #[test]
    fn switching_protocol_resets_its_parameters() {
        let s = set_param(&default_scenario(), "pre_vote", serde_json::json!(false)).unwrap();
        for e in quorumlab_sim::registry::entries() {
            let t = set_protocol(&s, e.name).unwrap_or_else(|err| panic!("{}: {err}", e.name));
            assert_eq!(t.protocol.name, e.name);
            if e.name == "sharded-raft" {
                // Groups of 3 do not split 5 nodes: one group of 5 does.
                assert_eq!(t.protocol.params, serde_json::json!({"group_size": 5}));
            } else if e.name != s.protocol.name {
                assert!(t.protocol.params.is_null(), "{}", e.name);
            }
            assert_eq!(t.nodes, s.nodes);
            // Clients only for a protocol that serves them.
            assert_eq!(
                t.workload.is_some(),
                e.data_type.serves_clients(),
                "{}",
                e.name
            );
            assert!(
                crate::ui::session::build_engine(&t, 0).is_ok(),
                "{}",
                e.name
            );
        }
        assert!(set_protocol(&s, "zab")
            .unwrap_err()
            .contains("unknown protocol `zab`"));
    }
}
