//! The `window.postMessage` API for pages that embed the playground: commands in,
//! events out, as JSON. Everything from outside is validated; nothing here panics.

use quorumlab_core::NodeId;
use quorumlab_sim::scenario::{self, Scenario};
use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Load(Box<Scenario>),
    Play,
    Pause,
    Step,
    /// Simulated milliseconds.
    Seek(f64),
    Crash(NodeId),
    Restart(NodeId),
    Partition(Vec<Vec<NodeId>>),
    Heal,
}

fn node_of(v: &Value) -> Result<NodeId, String> {
    v.get("node")
        .and_then(Value::as_u64)
        .filter(|&n| n < scenario::MAX_NODES as u64)
        .map(|n| n as NodeId)
        .ok_or_else(|| "`node` must be a node id (a small whole number)".to_string())
}

/// Read a command sent to the page. `n` is the current number of nodes.
pub fn parse(v: &Value, n: usize) -> Result<Command, String> {
    let ty = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or("a message needs a string `type`")?;
    let in_range = |id: NodeId| -> Result<NodeId, String> {
        if (id as usize) < n {
            Ok(id)
        } else {
            Err(format!(
                "node {id} does not exist (nodes are 0..{})",
                n.saturating_sub(1)
            ))
        }
    };
    match ty {
        "load" => {
            let s = v.get("scenario").ok_or("`load` needs a `scenario`")?;
            // A scenario may come as an object or as JSON text.
            let text = match s {
                Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            let s = scenario::load(&text).map_err(|e| scenario::describe(&e))?;
            Ok(Command::Load(Box::new(s)))
        }
        "play" => Ok(Command::Play),
        "pause" => Ok(Command::Pause),
        "step" => Ok(Command::Step),
        "seek" => {
            let t = v
                .get("time")
                .and_then(Value::as_f64)
                .filter(|t| t.is_finite() && *t >= 0.0)
                .ok_or("`seek` needs a `time` in simulated milliseconds (0 or more)")?;
            Ok(Command::Seek(t))
        }
        "crash" => Ok(Command::Crash(in_range(node_of(v)?)?)),
        "restart" => Ok(Command::Restart(in_range(node_of(v)?)?)),
        "partition" => {
            let groups = v
                .get("groups")
                .and_then(Value::as_array)
                .ok_or("`partition` needs `groups`: a list of lists of node ids")?;
            let mut out = Vec::new();
            for g in groups {
                let g = g
                    .as_array()
                    .ok_or("each group must be a list of node ids")?;
                let mut ids = Vec::new();
                for x in g {
                    let id = x
                        .as_u64()
                        .filter(|&x| x < n as u64)
                        .ok_or_else(|| format!("{x} is not a node id below {n}"))?;
                    ids.push(id as NodeId);
                }
                out.push(ids);
            }
            Ok(Command::Partition(out))
        }
        "heal" => Ok(Command::Heal),
        other => Err(format!("unknown message type `{other}`")),
    }
}

pub fn ready() -> Value {
    json!({"type": "ready"})
}

pub fn time(ms: f64) -> Value {
    json!({"type": "time", "time": ms})
}

pub fn role(node: NodeId, role: &str, term: u64) -> Value {
    json!({"type": "role", "node": node, "role": role, "term": term})
}

pub fn violation(invariant: &str, detail: &str) -> Value {
    json!({"type": "violation", "invariant": invariant, "detail": detail})
}

pub fn trace(hash: &str) -> Value {
    json!({"type": "trace", "hash": hash})
}

pub fn error(message: &str) -> Value {
    json!({"type": "error", "message": message})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_validated() {
        assert_eq!(parse(&json!({"type":"play"}), 5), Ok(Command::Play));
        assert_eq!(
            parse(&json!({"type":"crash","node":2}), 5),
            Ok(Command::Crash(2))
        );
        assert!(parse(&json!({"type":"crash","node":7}), 5).is_err());
        assert!(parse(&json!({"type":"crash","node":-1}), 5).is_err());
        assert!(parse(&json!({"type":"crash","node":"x"}), 5).is_err());
        assert!(parse(&json!({"type":"crash"}), 5).is_err());
        assert_eq!(
            parse(&json!({"type":"seek","time":12.5}), 5),
            Ok(Command::Seek(12.5))
        );
        assert!(parse(&json!({"type":"seek","time":-1}), 5).is_err());
        assert_eq!(
            parse(&json!({"type":"partition","groups":[[0,1],[2]]}), 5),
            Ok(Command::Partition(vec![vec![0, 1], vec![2]]))
        );
        assert!(parse(&json!({"type":"partition","groups":[[0,9]]}), 5).is_err());
        assert!(parse(&json!({"type":"partition","groups":3}), 5).is_err());
        assert!(parse(&json!({"type":"nope"}), 5).is_err());
        assert!(parse(&json!(42), 5).is_err());
        assert!(parse(&json!({"type":"load","scenario":{"version":9}}), 5).is_err());
        let ok = crate::ui::gallery::DEFAULT_JSON;
        assert!(matches!(
            parse(&json!({"type":"load","scenario": ok}), 5),
            Ok(Command::Load(_))
        ));
        let obj: Value = serde_json::from_str(ok).unwrap();
        assert!(matches!(
            parse(&json!({"type":"load","scenario": obj}), 5),
            Ok(Command::Load(_))
        ));
    }
}
