//! The `window.postMessage` API for pages that embed the playground: commands in,
//! events out, as JSON. Everything from outside is validated; nothing here panics.
//! Versioned by [`API`]: every event says `api`, a command may name the version it was
//! written for (a newer one is refused, naming both). Documented in `docs/embedding.md`.

use quorumlab_core::{NodeId, Op};
use quorumlab_sim::scenario::{self, Scenario};
#[cfg(test)]
use serde_json::json;
use serde_json::Value;

#[derive(Clone, Debug)]
#[cfg_attr(not(target_arch = "wasm32"), derive(PartialEq))]
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
    /// A client operation sent to a node (as the console does).
    Op(NodeId, Op),
}

/// The version of this API. Additions keep it; a change that breaks a sender bumps it.
pub const API: u64 = 1;

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
    if let Some(a) = v.get("api") {
        match a.as_u64() {
            Some(a) if a <= API => {}
            _ => {
                return Err(format!(
                    "`api` {a} is not supported: this widget speaks version {API}"
                ))
            }
        }
    }
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
        "op" => {
            let node = in_range(node_of(v)?)?;
            let key = match v.get("key") {
                None => "k0".to_string(),
                Some(Value::String(k)) if !k.is_empty() && k.len() <= 64 => k.clone(),
                Some(_) => return Err("`key` must be a short non-empty string".into()),
            };
            let int = |name: &str| {
                v.get(name)
                    .and_then(Value::as_i64)
                    .ok_or_else(|| format!("`op` needs `{name}`, a whole number"))
            };
            let op = match v.get("op").and_then(Value::as_str) {
                Some("read") => Op::Read { key },
                Some("write") => Op::Write {
                    key,
                    value: int("value")?,
                },
                Some("cas") => Op::Cas {
                    key,
                    expect: int("expect")?,
                    new: int("new")?,
                },
                _ => return Err("`op` needs `op`: \"read\", \"write\" or \"cas\"".into()),
            };
            Ok(Command::Op(node, op))
        }
        other => Err(format!("unknown message type `{other}`")),
    }
}

/// The most commands read at once, after a quiet moment.
pub const BURST: f64 = 100.0;
/// Commands read per second, once a burst is spent.
pub const PER_SECOND: f64 = 50.0;
/// The largest message read, in characters of JSON (a scenario's share-link cap).
pub const MAX_MESSAGE: usize = quorumlab_sim::url::MAX_JSON;

/// What to do with one message from outside.
#[derive(Clone, Debug, PartialEq)]
pub enum Admit {
    /// Read it.
    Read,
    /// Drop it quietly (the sender was told a moment ago).
    Drop,
    /// Drop it and tell the sender, with this message.
    DropAndTell(String),
}

/// A token bucket for `postMessage` commands, so that an embedding page posting in a
/// tight loop cannot freeze the playground: each command costs a token; tokens come
/// back at [`PER_SECOND`] up to [`BURST`]. The sender hears about dropped commands at
/// most once a second. Times are the browser's milliseconds (wall clock: nothing here
/// touches the simulation).
#[derive(Clone, Debug)]
pub struct RateLimit {
    tokens: f64,
    last_ms: f64,
    dropped: u64,
    told_ms: Option<f64>,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            tokens: BURST,
            last_ms: f64::NEG_INFINITY,
            dropped: 0,
            told_ms: None,
        }
    }
}

impl RateLimit {
    pub fn admit(&mut self, now_ms: f64) -> Admit {
        let now = if now_ms.is_finite() { now_ms } else { 0.0 };
        if self.last_ms.is_finite() {
            let dt = (now - self.last_ms).max(0.0);
            self.tokens = (self.tokens + dt * PER_SECOND / 1000.0).min(BURST);
        }
        self.last_ms = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Admit::Read;
        }
        self.dropped += 1;
        if self.told_ms.is_some_and(|t| now - t < 1000.0) {
            return Admit::Drop;
        }
        self.told_ms = Some(now);
        let n = std::mem::take(&mut self.dropped);
        Admit::DropAndTell(format!(
            "too many messages: the playground reads at most {BURST} at once and {PER_SECOND} a second; {n} ignored"
        ))
    }
}

/// The kinds of event the widget posts (a page forwarding them back is not commanding).
pub const EVENTS: &[&str] = &[
    "ready",
    "time",
    "role",
    "leader",
    "violation",
    "anomaly",
    "finished",
    "trace",
    "error",
];

/// A JSON string (events are written as text: building `Value` maps cost the bundle
/// kilobytes).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A JSON number (`null` for what JSON cannot hold).
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".into()
    }
}

/// One event: its type and its other fields, already JSON.
fn event(ty: &str, fields: &[(&str, String)]) -> String {
    let mut out = format!("{{\"type\":\"{ty}\",\"api\":{API}");
    for (k, v) in fields {
        out.push_str(&format!(",\"{k}\":{v}"));
    }
    out.push('}');
    out
}

pub fn ready(scenario: &str, nodes: usize, seed: u64) -> String {
    event(
        "ready",
        &[
            ("scenario", q(scenario)),
            ("nodes", nodes.to_string()),
            ("seed", seed.to_string()),
        ],
    )
}

pub fn time(ms: f64) -> String {
    event("time", &[("time", num(ms))])
}

pub fn role(node: NodeId, role: &str, term: u64) -> String {
    event(
        "role",
        &[
            ("node", node.to_string()),
            ("role", q(role)),
            ("term", term.to_string()),
        ],
    )
}

/// A node became its protocol's leader (or primary) at `term`.
pub fn leader(node: NodeId, term: u64, time_ms: f64) -> String {
    event(
        "leader",
        &[
            ("node", node.to_string()),
            ("term", term.to_string()),
            ("time", num(time_ms)),
        ],
    )
}

pub fn violation(invariant: &str, detail: &str) -> String {
    event(
        "violation",
        &[("invariant", q(invariant)), ("detail", q(detail))],
    )
}

/// An anomaly the end-of-run analysis found (lost write, stale read, split brain...).
pub fn anomaly(kind: &str, at_ms: f64, detail: &str) -> String {
    event(
        "anomaly",
        &[
            ("kind", q(kind)),
            ("time", num(at_ms)),
            ("detail", q(detail)),
        ],
    )
}

/// The run reached its end: its trace hash and a summary of what clients saw.
pub fn finished(
    hash: &str,
    time_ms: f64,
    t: &quorumlab_sim::metrics::WindowReport,
    violation: Option<&str>,
) -> String {
    let summary = format!(
        "{{\"ok\":{},\"fail\":{},\"info\":{},\"availability\":{},\"messages\":{},\"dropped\":{},\"p99_ms\":{},\"violation\":{}}}",
        t.ok,
        t.fail,
        t.info,
        num(t.availability),
        t.messages,
        t.dropped,
        t.p99_ms.map_or("null".into(), num),
        violation.map_or("null".into(), q)
    );
    event(
        "finished",
        &[
            ("trace_hash", q(hash)),
            ("time", num(time_ms)),
            ("summary", summary),
        ],
    )
}

pub fn trace(hash: &str) -> String {
    event("trace", &[("hash", q(hash))])
}

pub fn error(message: &str) -> String {
    event("error", &[("message", q(message))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_commands_is_cut_to_the_rate_and_the_sender_told_once_a_second() {
        let mut r = RateLimit::default();
        let mut read = 0;
        let mut told = Vec::new();
        // 10 000 commands in the same millisecond: the burst is read, the rest dropped,
        // and the sender hears it once.
        for _ in 0..10_000 {
            match r.admit(5.0) {
                Admit::Read => read += 1,
                Admit::Drop => {}
                Admit::DropAndTell(m) => told.push(m),
            }
        }
        assert_eq!(read, BURST as usize);
        assert_eq!(told.len(), 1);
        assert!(told[0].starts_with("too many messages"), "{}", told[0]);
        // Then one a millisecond for three seconds: about PER_SECOND a second get through,
        // and the sender is told about once a second, with the count dropped.
        read = 0;
        told.clear();
        for ms in 0..3000 {
            match r.admit(5.0 + ms as f64) {
                Admit::Read => read += 1,
                Admit::Drop => {}
                Admit::DropAndTell(m) => told.push(m),
            }
        }
        assert!((149..=152).contains(&read), "{read}");
        assert_eq!(told.len(), 2, "{told:?}");
        // A quiet moment refills the burst.
        assert_eq!(r.admit(60_000.0), Admit::Read);
        let burst = (0..200)
            .filter(|_| r.admit(60_000.0) == Admit::Read)
            .count();
        assert_eq!(burst, BURST as usize - 1);
        // Nonsense clocks do not break it.
        let mut r = RateLimit::default();
        assert_eq!(r.admit(f64::NAN), Admit::Read);
        assert_eq!(r.admit(-1e300), Admit::Read);
    }

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
        // Events are JSON, with the API version.
        let v: Value = serde_json::from_str(&error("a \"b\"\n")).unwrap();
        assert_eq!(
            v,
            json!({"type": "error", "api": API, "message": "a \"b\"\n"})
        );
        let t = quorumlab_sim::metrics::WindowReport {
            ok: 3,
            availability: 0.5,
            ..Default::default()
        };
        let v: Value = serde_json::from_str(&finished("ab", 1.5, &t, Some("x"))).unwrap();
        assert_eq!(v["summary"]["ok"], 3);
        assert_eq!(v["summary"]["availability"], 0.5);
        assert_eq!(v["summary"]["p99_ms"], Value::Null);
        assert_eq!(v["time"], 1.5);
        let v: Value = serde_json::from_str(&time(f64::NAN)).unwrap();
        assert_eq!(v["time"], Value::Null);
        assert_eq!(
            parse(
                &json!({"type":"op","node":1,"op":"write","key":"x","value":3}),
                5
            ),
            Ok(Command::Op(
                1,
                Op::Write {
                    key: "x".into(),
                    value: 3
                }
            ))
        );
        assert_eq!(
            parse(&json!({"type":"op","node":0,"op":"read","api":1}), 5),
            Ok(Command::Op(0, Op::Read { key: "k0".into() }))
        );
        let e = parse(&json!({"type":"op","node":0,"op":"write"}), 5).unwrap_err();
        assert!(e.contains("`value`"), "{e}");
        assert!(parse(&json!({"type":"op","node":9,"op":"read"}), 5).is_err());
        assert!(parse(&json!({"type":"op","node":0,"op":"delete"}), 5).is_err());
        let e = parse(&json!({"type":"play","api":2}), 5).unwrap_err();
        assert!(e.contains("version 1"), "{e}");
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
