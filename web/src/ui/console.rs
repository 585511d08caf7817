//! The client console's rows: each `client` action of the scenario with its fate, read
//! from the run's history and log.

use crate::ui::edit::describe_op;
use quorumlab_core::{NodeId, Time, MS};
use quorumlab_sim::history::{EventType, Value};
use quorumlab_sim::scenario::FaultKind;
use quorumlab_sim::Engine;

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub at_ms: u64,
    pub node: NodeId,
    pub op: String,
    /// `pending`, `ok`, `failed`, `redirected`, `timed out`, `unknown`, `not yet sent`.
    pub state: &'static str,
    pub detail: String,
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Int(i) => i.to_string(),
        Value::Pair([a, b]) => format!("[{a}, {b}]"),
        Value::Str(s) => s.clone(),
        Value::Siblings { siblings } => siblings_text(siblings),
    }
}

/// A read's siblings: `{3 | 5}`.
pub fn siblings_text(s: &[i64]) -> String {
    let all: Vec<String> = s.iter().map(|x| x.to_string()).collect();
    format!("{{{}}}", all.join(" | "))
}

/// Console operations in the order the engine runs them, with their fates so far.
pub fn rows(e: &dyn Engine) -> Vec<Row> {
    let s = e.scenario();
    let mut ops: Vec<(usize, u64, NodeId, &quorumlab_core::Op)> = s
        .faults
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match &f.kind {
            FaultKind::Client { node, op } => Some((i, f.at_ms, *node, op)),
            _ => None,
        })
        .collect();
    // By time, then as listed (a few: the user's own console operations). Not the
    // standard library's sort: its code costs the page a kilobyte per use.
    for i in 1..ops.len() {
        let mut j = i;
        while j > 0 && (ops[j].1, ops[j].0) < (ops[j - 1].1, ops[j - 1].0) {
            ops.swap(j, j - 1);
            j -= 1;
        }
    }
    let first = s.workload.as_ref().map(|w| w.clients).unwrap_or(0) as u64;
    let hist = &e.history().events;
    let now = e.now();
    ops.iter()
        .enumerate()
        .map(|(k, &(_, at_ms, node, op))| {
            let process = first + k as u64;
            let mut row = Row {
                at_ms,
                node,
                op: describe_op(op),
                state: "not yet sent",
                detail: String::new(),
            };
            if at_ms * MS > now {
                return row;
            }
            let mine = hist.iter().filter(|h| h.process == process);
            let mut invoked = false;
            for h in mine {
                match h.kind {
                    EventType::Invoke => {
                        invoked = true;
                        row.state = "pending";
                    }
                    EventType::Ok => {
                        row.state = "ok";
                        row.detail = if op.is_read() {
                            format!("read {}", value_text(&h.value))
                        } else {
                            "applied".into()
                        };
                        refine(e, op, h.time, &mut row);
                    }
                    EventType::Fail | EventType::Info => {
                        row.state = if h.kind == EventType::Fail {
                            "failed"
                        } else {
                            "unknown"
                        };
                        refine(e, op, h.time, &mut row);
                    }
                }
            }
            if !invoked && e.violation().is_none() {
                row.state = "pending";
            }
            row
        })
        .collect()
}

/// Use the log line the engine wrote when the operation finished, for its words.
fn refine(e: &dyn Engine, op: &quorumlab_core::Op, t: Time, row: &mut Row) {
    let prefix = format!("console: {op:?} ");
    let Some(line) = e
        .log()
        .iter()
        .find(|l| l.time == t && l.what.starts_with(&prefix) && !l.what.contains("sent to node"))
    else {
        return;
    };
    let what = line.what[prefix.len()..].to_string();
    if let Some(rest) = what.strip_prefix("redirected") {
        // "redirected to node 3" / "redirected: no leader known": the state says the
        // first word already.
        row.state = "redirected";
        row.detail = rest.trim_start_matches(':').trim().to_string();
    } else if what == "timed out" {
        row.state = "timed out";
    } else if what == "outcome unknown" {
        row.state = "unknown";
    } else if row.state != "ok" {
        row.detail = what;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::gallery::default_scenario;
    use crate::ui::session::Session;
    use quorumlab_core::Op;

    #[test]
    fn console_ops_get_fates() {
        let mut s = default_scenario();
        s.duration_ms = 3000;
        let mut sess = Session::new(s);
        sess.advance_to(1_500_000, u64::MAX);
        for node in 0..5 {
            sess.act(FaultKind::Client {
                node,
                op: Op::Write {
                    key: "k1".into(),
                    value: 40 + node as i64,
                },
            })
            .unwrap();
        }
        let e = sess.engine().unwrap();
        let r = rows(e);
        assert_eq!(r.len(), 5);
        assert!(r.iter().all(|x| x.state == "pending"), "{r:?}");
        sess.run_to_end();
        let r = rows(sess.engine().unwrap());
        // One node leads: it applies the write; the others redirect.
        assert_eq!(r.iter().filter(|x| x.state == "ok").count(), 1, "{r:?}");
        assert_eq!(
            r.iter().filter(|x| x.state == "redirected").count(),
            4,
            "{r:?}"
        );
    }
}
