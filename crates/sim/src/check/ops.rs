//! From events to operations: pair each invoke with its completion, validate values
//! against the model, drop what constrains nothing, group by key.

use super::{FailedCas, Model};
use crate::history::{EventType, Func, HistoryEvent, Value};
use std::collections::{BTreeMap, HashMap};

/// How an operation ended, for the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// `ok`: it happened, with this result.
    Ok,
    /// `info` or never completed: maybe it happened, at any time after its call.
    Unknown,
    /// A cas that completed finding a value other than its `old`.
    CompareFailed,
}

/// One operation the search must place (or may place, if its outcome is unknown).
#[derive(Clone, Debug)]
pub(crate) struct Op {
    pub process: u64,
    pub key: Option<String>,
    pub f: Func,
    /// The invoke's argument (write, cas, append).
    pub input: Value,
    /// What a read returned.
    pub output: Value,
    pub ended: Ended,
    pub call: u64,
    /// `None`: unknown outcome, returns at +infinity.
    pub ret: Option<u64>,
    /// Event indices of the invoke and completion.
    pub call_event: usize,
    pub ret_event: Option<usize>,
}

pub(crate) struct Ops {
    pub ops: Vec<Op>,
    /// Operation indices per key, keys sorted (`None`, a history without keys, first).
    pub keys: Vec<(Option<String>, Vec<usize>)>,
}

/// An event index, the message, and another event it refers to (shown as " (see line N)").
pub(crate) type Bad = (usize, String, Option<usize>);

fn describe(v: &Value) -> String {
    match v {
        Value::Nil => "null".into(),
        Value::Int(i) => format!("the integer {i}"),
        Value::Pair([a, b]) => format!("the pair [{a}, {b}]"),
        Value::Str(s) => format!("the string {s:?}"),
        Value::Siblings { siblings } => format!("the siblings {siblings:?}"),
    }
}

fn fname(f: Func) -> &'static str {
    f.name()
}

/// Whether `f` is an operation of `model`'s data type; else the message, naming the
/// field.
fn fits_model(f: Func, model: Model) -> Result<(), String> {
    let lock_op = matches!(f, Func::Acquire | Func::Release);
    match (model, lock_op) {
        (Model::Lock, true) | (Model::Register | Model::CasRegister | Model::Kv, false) => Ok(()),
        (Model::Lock, false) => Err(format!(
            "field \"f\": {} is not an operation of the lock model (a lock's are acquire and release; for a register use --model register, cas-register or kv)",
            fname(f)
        )),
        (m, true) => Err(format!(
            "field \"f\": {} is an operation of a lock, not of the {} model (use --model lock)",
            fname(f),
            m.name()
        )),
    }
}

fn check_invoke(e: &HistoryEvent, model: Model) -> Result<(), String> {
    fits_model(e.f, model)?;
    let scalar = |v: &Value| match (model, v) {
        (Model::Kv, Value::Str(_)) => Ok(()),
        (Model::Kv, v) => Err(format!(
            "the kv model holds strings, but this {} has {} as its value",
            fname(e.f),
            describe(v)
        )),
        (_, Value::Int(_) | Value::Str(_)) => Ok(()),
        (_, v) => Err(format!(
            "a {} needs an integer or string value, not {}",
            fname(e.f),
            describe(v)
        )),
    };
    match e.f {
        Func::Read => match &e.value {
            Value::Nil => Ok(()),
            v => Err(format!(
                "the invoke of a read carries no value (null), not {}",
                describe(v)
            )),
        },
        Func::Write => scalar(&e.value),
        Func::Cas => {
            if model != Model::CasRegister {
                return Err(format!(
                    "cas is not an operation of the {} model (use --model cas-register)",
                    model.name()
                ));
            }
            match &e.value {
                Value::Pair(_) => Ok(()),
                v => Err(format!(
                    "a cas needs a pair [old, new] of integers as its value, not {}",
                    describe(v)
                )),
            }
        }
        Func::Acquire | Func::Release => match &e.value {
            Value::Nil => Ok(()),
            v => Err(format!(
                "field \"value\": the invoke of {} {} carries no value (null), not {}",
                if e.f == Func::Acquire { "an" } else { "a" },
                fname(e.f),
                describe(v)
            )),
        },
        Func::Append => {
            if model != Model::Kv {
                return Err(format!(
                    "append is not an operation of the {} model (use --model kv)",
                    model.name()
                ));
            }
            match &e.value {
                Value::Str(_) => Ok(()),
                v => Err(format!(
                    "an append needs a string value, not {}",
                    describe(v)
                )),
            }
        }
    }
}

fn check_completion(e: &HistoryEvent, inv: &HistoryEvent, model: Model) -> Result<(), String> {
    if e.f != inv.f {
        return Err(format!(
            "process {} completes a {} but its open invoke is a {}",
            e.process,
            fname(e.f),
            fname(inv.f)
        ));
    }
    if e.key.is_some() && e.key != inv.key {
        return Err(format!(
            "process {}: the completion's key {:?} differs from its invoke's key {:?}",
            e.process,
            e.key.as_deref().unwrap_or(""),
            inv.key.as_deref().unwrap_or("")
        ));
    }
    if e.time < inv.time {
        return Err(format!(
            "process {}: the completion at time {} comes before its invoke at time {}",
            e.process, e.time, inv.time
        ));
    }
    // Fail and info carry no result (Jepsen writes an error keyword there).
    if e.kind != EventType::Ok {
        return Ok(());
    }
    match e.f {
        // A lock without fencing tokens (Redlock's) grants with none: null.
        Func::Acquire => match &e.value {
            Value::Int(_) | Value::Nil => Ok(()),
            v => Err(format!(
                "field \"value\": an acquire's ok carries the fencing token it was granted (an integer, or null for a lock that issues none), not {}",
                describe(v)
            )),
        },
        Func::Release => match &e.value {
            Value::Nil => Ok(()),
            v => Err(format!(
                "field \"value\": a release's ok carries no value (null), not {}",
                describe(v)
            )),
        },
        Func::Read => match (model, &e.value) {
            (_, Value::Pair(_)) => Err("a read cannot return a pair".into()),
            (Model::Kv, Value::Int(i)) => Err(format!(
                "the kv model holds strings, but this read returned the integer {i}"
            )),
            (Model::Kv | Model::Lock, Value::Siblings { .. }) => Err(format!(
                "a read of the {} model cannot return siblings",
                model.name()
            )),
            // Siblings: a register holds one value, so such a read never fits; the
            // search says so, with the siblings shown.
            _ => Ok(()),
        },
        _ => {
            if e.value == Value::Nil || e.value == inv.value {
                Ok(())
            } else {
                Err(format!(
                    "the completion's value {} differs from its invoke's {}",
                    describe(&e.value),
                    describe(&inv.value)
                ))
            }
        }
    }
}

/// Pair invokes with completions. Errors name the event index.
pub(crate) fn pair(
    events: &[HistoryEvent],
    model: Model,
    failed_cas: FailedCas,
) -> Result<Ops, Bad> {
    let mut open: HashMap<u64, usize> = HashMap::new();
    let mut ops = Vec::new();
    let mut push = |inv_i: usize, inv: &HistoryEvent, done: Option<(usize, &HistoryEvent)>| {
        let (ended, ret, ret_event, output) = match done {
            None => (Ended::Unknown, None, None, Value::Nil),
            Some((i, e)) => match e.kind {
                EventType::Ok => (Ended::Ok, Some(e.time), Some(i), e.value.clone()),
                EventType::Info => (Ended::Unknown, None, Some(i), Value::Nil),
                EventType::Fail => {
                    if inv.f == Func::Cas && failed_cas == FailedCas::CompareFailed {
                        (Ended::CompareFailed, Some(e.time), Some(i), Value::Nil)
                    } else {
                        return;
                    }
                }
                EventType::Invoke => return,
            },
        };
        if inv.f == Func::Read && ended == Ended::Unknown {
            return;
        }
        let output = if inv.f == Func::Read && model == Model::Kv && output == Value::Nil {
            Value::Str(String::new())
        } else {
            output
        };
        ops.push(Op {
            process: inv.process,
            key: inv.key.clone(),
            f: inv.f,
            input: inv.value.clone(),
            output,
            ended,
            call: inv.time,
            ret,
            call_event: inv_i,
            ret_event,
        });
    };
    for (i, e) in events.iter().enumerate() {
        match e.kind {
            EventType::Invoke => {
                if let Some(&j) = open.get(&e.process) {
                    return Err((
                        i,
                        format!(
                            "process {} invokes a {} while its {} is still open (a second invoke before a completion)",
                            e.process,
                            fname(e.f),
                            fname(events[j].f),
                        ),
                        Some(j),
                    ));
                }
                check_invoke(e, model).map_err(|m| (i, m, None))?;
                open.insert(e.process, i);
            }
            _ => {
                let Some(j) = open.remove(&e.process) else {
                    return Err((
                        i,
                        format!(
                            "process {} completes a {} it never invoked (no open invoke for this process)",
                            e.process,
                            fname(e.f)
                        ),
                        None,
                    ));
                };
                let inv = &events[j];
                check_completion(e, inv, model).map_err(|m| (i, m, Some(j)))?;
                push(j, inv, Some((i, e)));
            }
        }
    }
    let mut still: Vec<usize> = open.into_values().collect();
    still.sort_unstable();
    for j in still {
        push(j, &events[j], None);
    }
    // Keep operations in invoke order (the pending ones were appended last).
    ops.sort_by_key(|o| o.call_event);
    let mut by_key: BTreeMap<Option<String>, Vec<usize>> = BTreeMap::new();
    for (i, o) in ops.iter().enumerate() {
        by_key.entry(o.key.clone()).or_default().push(i);
    }
    Ok(Ops {
        ops,
        keys: by_key.into_iter().collect(),
    })
}

/// Of `idx`, the operations worth searching: an operation of unknown outcome whose
/// effect nobody observes (a write or cas of a value no read returns and no cas
/// expects, an append of a piece no read contains) need never take effect, because
/// taking effect could only make later reads fail. Not with failed comparisons, which
/// a value nobody reads can satisfy.
pub(crate) fn drop_unobserved(all: &[Op], idx: &[usize]) -> Vec<usize> {
    if idx.iter().any(|&i| all[i].ended == Ended::CompareFailed)
        || !idx.iter().any(|&i| all[i].ended == Ended::Unknown)
    {
        return idx.to_vec();
    }
    let mut observed: std::collections::HashSet<&Value> = std::collections::HashSet::new();
    let mut read_strings: Vec<&str> = Vec::new();
    for &i in idx {
        let o = &all[i];
        if let (Func::Read, _) = (o.f, &o.input) {
            observed.insert(&o.output);
            if let Value::Str(s) = &o.output {
                read_strings.push(s);
            }
        }
    }
    let mut olds: Vec<i64> = idx
        .iter()
        .filter_map(|&i| match (all[i].f, &all[i].input) {
            (Func::Cas, Value::Pair([a, _])) => Some(*a),
            _ => None,
        })
        .collect();
    olds.sort_unstable();
    olds.dedup();
    let appends = idx.iter().any(|&i| all[i].f == Func::Append);
    let seen = |v: &Value| {
        observed.contains(v)
            || matches!(v, Value::Int(n) if olds.binary_search(n).is_ok())
            || match v {
                // With appends, a written string may be the start of what a read saw.
                Value::Str(w) if appends => {
                    w.is_empty() || read_strings.iter().any(|s| s.contains(w.as_str()))
                }
                _ => false,
            }
    };
    idx.iter()
        .copied()
        .filter(|&i| {
            let o = &all[i];
            if o.ended != Ended::Unknown {
                return true;
            }
            match (o.f, &o.input) {
                (Func::Write, v) => seen(v),
                (Func::Cas, Value::Pair([_, b])) => seen(&Value::Int(*b)),
                (Func::Append, Value::Str(p)) => {
                    p.is_empty() || read_strings.iter().any(|s| s.contains(p.as_str()))
                }
                _ => true,
            }
        })
        .collect()
}
