//! Random linearizable histories, for tests and benchmarks: clients run operations
//! one at a time with random durations; each takes effect at a random instant inside
//! its interval, against a real sequential object, so the history is linearizable by
//! construction.

use super::Model;
use crate::history::{EventType, Func, History, HistoryEvent, Value};
use std::collections::HashMap;

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenSpec {
    pub model: Model,
    pub clients: u64,
    pub ops: usize,
    /// Keys; 0 for a history without keys.
    pub keys: u32,
    /// Longest operation, µs.
    pub max_latency: u64,
    /// Longest pause between a client's operations, µs.
    pub max_think: u64,
    /// Per mille of writes (and cas, append) whose outcome is unknown (`info`).
    pub unknown_per_mille: u32,
}

/// A tiny deterministic generator (splitmix64).
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        super::search::mix(self.0)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

struct Planned {
    process: u64,
    key: Option<String>,
    f: Func,
    input: Value,
    output: Value,
    call: u64,
    ret: u64,
    at: u64,
    unknown: bool,
    happens: bool,
}

/// A linearizable history per `spec`, from `seed`.
pub fn linearizable_history(spec: &GenSpec, seed: u64) -> History {
    let mut rng = SplitMix(seed ^ 0x5eed);
    let clients = spec.clients.max(1);
    let mut clock = vec![0u64; clients as usize];
    let mut plan: Vec<Planned> = Vec::with_capacity(spec.ops);
    // Lock: whether each client's next operation is a release (they alternate).
    let mut releasing = vec![false; clients as usize];
    for next_value in (1i64..).take(spec.ops) {
        let c = rng.below(clients) as usize;
        let call = clock[c] + 1 + rng.below(spec.max_think.max(1));
        let ret = call + 1 + rng.below(spec.max_latency.max(1));
        clock[c] = ret;
        let key = (spec.keys > 0).then(|| format!("k{}", rng.below(spec.keys as u64)));
        let roll = rng.below(100);
        let (f, input) = match spec.model {
            Model::Kv => match roll {
                0..=39 => (Func::Read, Value::Nil),
                40..=59 => (Func::Write, Value::Str(format!("(w{next_value})"))),
                _ => (Func::Append, Value::Str(format!("[{next_value}]"))),
            },
            Model::Register => match roll {
                0..=49 => (Func::Read, Value::Nil),
                _ => (Func::Write, Value::Int(next_value)),
            },
            Model::CasRegister => match roll {
                0..=44 => (Func::Read, Value::Nil),
                45..=74 => (Func::Write, Value::Int(next_value)),
                // The old value is filled in below from what the register holds.
                _ => (Func::Cas, Value::Pair([0, next_value])),
            },
            Model::Lock => {
                let r = releasing[c];
                releasing[c] = !r;
                (if r { Func::Release } else { Func::Acquire }, Value::Nil)
            }
        };
        let unknown = f != Func::Read && rng.below(1000) < spec.unknown_per_mille as u64;
        plan.push(Planned {
            process: c as u64,
            key,
            f,
            input,
            output: Value::Nil,
            call,
            ret,
            at: call + rng.below(ret - call + 1),
            unknown,
            happens: !unknown || rng.below(2) == 0,
        });
    }
    // Apply in the order the operations take effect.
    let mut order: Vec<usize> = (0..plan.len()).collect();
    order.sort_by_key(|&i| (plan[i].at, i));
    let mut state: HashMap<Option<String>, Value> = HashMap::new();
    // Per lock: its holder and the last fencing token granted.
    let mut locks: HashMap<Option<String>, (Option<u64>, i64)> = HashMap::new();
    let init = match spec.model {
        Model::Kv => Value::Str(String::new()),
        _ => Value::Nil,
    };
    for i in order {
        let p = &mut plan[i];
        let cur = state.entry(p.key.clone()).or_insert_with(|| init.clone());
        match p.f {
            Func::Acquire | Func::Release => {
                let (holder, token) = locks.entry(p.key.clone()).or_default();
                let fits = if p.f == Func::Acquire {
                    holder.is_none()
                } else {
                    *holder == Some(p.process)
                };
                if p.happens && fits {
                    if p.f == Func::Acquire {
                        *token += 1;
                        *holder = Some(p.process);
                        p.output = Value::Int(*token);
                    } else {
                        *holder = None;
                    }
                } else {
                    // It did not happen: refused (or, of unknown outcome, never done).
                    p.happens = false;
                }
            }
            Func::Read => p.output = cur.clone(),
            Func::Write => {
                if p.happens {
                    *cur = p.input.clone();
                }
            }
            Func::Append => {
                if p.happens {
                    if let (Value::Str(s), Value::Str(a)) = (&mut *cur, &p.input) {
                        s.push_str(a);
                    }
                }
            }
            Func::Cas => {
                let Value::Pair([_, new]) = p.input else {
                    continue;
                };
                // Succeed half the time (when there is an integer to compare with);
                // otherwise the cas fails and is recorded as such.
                match *cur {
                    Value::Int(old) if p.happens && rng.below(2) == 0 => {
                        p.input = Value::Pair([old, new]);
                        *cur = Value::Int(new);
                    }
                    _ => {
                        // A failed cas did not happen: compare against a value it
                        // does not hold.
                        let old = match *cur {
                            Value::Int(v) => v.wrapping_add(1_000_000),
                            _ => -1,
                        };
                        p.input = Value::Pair([old, new]);
                        if !p.unknown {
                            p.happens = false;
                        }
                    }
                }
            }
        }
    }
    let mut events: Vec<(u64, u8, HistoryEvent)> = Vec::with_capacity(2 * plan.len());
    for p in plan {
        events.push((
            p.call,
            1,
            HistoryEvent {
                process: p.process,
                kind: EventType::Invoke,
                f: p.f,
                key: p.key.clone(),
                value: p.input.clone(),
                time: p.call,
                index: None,
                term: None,
                gave_up: false,
            },
        ));
        let kind = if p.unknown {
            EventType::Info
        } else if matches!(p.f, Func::Cas | Func::Acquire | Func::Release) && !p.happens {
            EventType::Fail
        } else {
            EventType::Ok
        };
        let value = match (p.f, kind) {
            (Func::Read, _) | (Func::Acquire, EventType::Ok) => p.output,
            (Func::Acquire, _) => Value::Nil,
            _ => p.input,
        };
        events.push((
            p.ret,
            0,
            HistoryEvent {
                process: p.process,
                kind,
                f: p.f,
                key: p.key,
                value,
                time: p.ret,
                index: None,
                term: None,
                gave_up: false,
            },
        ));
    }
    // Completions before invokes at the same instant keep each client's events paired.
    events.sort_by_key(|e| (e.0, e.1));
    History {
        events: events.into_iter().map(|e| e.2).collect(),
        data_type: None,
    }
}

/// Put histories of disjoint clients side by side: each part's processes are numbered
/// after the previous part's, and the events are merged in time order (completions
/// before invokes at the same instant, as [`linearizable_history`] orders them).
pub fn merge(parts: &[History]) -> History {
    let mut events: Vec<(u64, u8, usize, HistoryEvent)> = Vec::new();
    let mut offset = 0u64;
    for h in parts {
        let mut most = 0;
        for e in &h.events {
            let mut e = e.clone();
            most = most.max(e.process + 1);
            e.process += offset;
            let kind = u8::from(e.kind == EventType::Invoke);
            events.push((e.time, kind, events.len(), e));
        }
        offset += most;
    }
    events.sort_by_key(|e| (e.0, e.1, e.2));
    History {
        events: events.into_iter().map(|e| e.3).collect(),
        data_type: parts.first().and_then(|h| h.data_type.clone()),
    }
}

/// Map every integer value `v` of `h` (writes, reads, cas pairs) to `v mod m`: a
/// linearizable history stays linearizable (the register cannot tell renamed values
/// apart), but values repeat, so the checker can no longer tell writes apart by what
/// they wrote: much harder to check.
pub fn squash_values(mut h: History, m: i64) -> History {
    let f = |v: i64| v.rem_euclid(m.max(1));
    for e in &mut h.events {
        e.value = match e.value {
            Value::Int(v) => Value::Int(f(v)),
            Value::Pair([a, b]) => Value::Pair([f(a), f(b)]),
            ref v => v.clone(),
        };
    }
    h
}

/// Give every event of `h` the key `key`.
pub fn with_key(mut h: History, key: &str) -> History {
    for e in &mut h.events {
        e.key = Some(key.to_string());
    }
    h
}

/// Change the `pick`-th ok read on `key` (any key: `None`) to return a value nobody
/// wrote; its event index.
pub fn corrupt_read(h: &mut History, key: Option<&str>, pick: usize) -> Option<usize> {
    let reads: Vec<usize> = h
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.kind == EventType::Ok
                && e.f == Func::Read
                && key.is_none_or(|k| e.key.as_deref() == Some(k))
        })
        .map(|(i, _)| i)
        .collect();
    let &i = reads.get(pick % reads.len().max(1))?;
    h.events[i].value = match h.events[i].value {
        Value::Str(_) => Value::Str("never written".into()),
        _ => Value::Int(-999_999),
    };
    Some(i)
}

/// Make the `pick`-th suitable ok read return a stale value: one written by an ok write
/// on its key that two later ok writes of the same key overwrote, all three returning
/// before the read was invoked (integer registers). Its event index.
pub fn stale_read(h: &mut History, pick: usize) -> Option<usize> {
    // Per event: the invoke time of the operation it completes.
    let mut open: HashMap<u64, u64> = HashMap::new();
    let mut called = vec![0u64; h.events.len()];
    for (i, e) in h.events.iter().enumerate() {
        if e.kind == EventType::Invoke {
            open.insert(e.process, e.time);
        } else {
            called[i] = open.remove(&e.process).unwrap_or(0);
        }
    }
    // Ok writes per key: (call, return, value).
    let mut writes: HashMap<Option<String>, Vec<(u64, u64, i64)>> = HashMap::new();
    let mut candidates = Vec::new();
    for (i, e) in h.events.iter().enumerate() {
        if e.kind != EventType::Ok {
            continue;
        }
        match (e.f, &e.value) {
            (Func::Write, Value::Int(v)) => writes
                .entry(e.key.clone())
                .or_default()
                .push((called[i], e.time, *v)),
            (Func::Read, Value::Int(_)) => {
                let ws = writes.get(&e.key).map(Vec::as_slice).unwrap_or(&[]);
                // Writes that returned before this read was invoked, by return time.
                let before: Vec<&(u64, u64, i64)> = ws.iter().filter(|w| w.1 < called[i]).collect();
                if before.len() >= 3 {
                    let old = before[before.len() - 3];
                    // Two later writes, each invoked after `old` returned.
                    let later = before
                        .iter()
                        .filter(|w| w.0 > old.1 && w.2 != old.2)
                        .count();
                    if later >= 2 {
                        candidates.push((i, old.2));
                    }
                }
            }
            _ => {}
        }
    }
    let &(i, v) = candidates.get(pick % candidates.len().max(1))?;
    h.events[i].value = Value::Int(v);
    Some(i)
}

/// Make the `pick`-th suitable ok read of a kv history return a stale value: its
/// value without the last piece appended, where that append returned before the read
/// was invoked (pieces and written strings are unique, so the shorter value never
/// comes back). Its event index.
pub fn stale_kv_read(h: &mut History, pick: usize) -> Option<usize> {
    let mut open: HashMap<u64, u64> = HashMap::new();
    // (key, piece) → when the ok append of it returned.
    let mut appended: HashMap<(Option<String>, String), u64> = HashMap::new();
    let mut candidates = Vec::new();
    for (i, e) in h.events.iter().enumerate() {
        if e.kind == EventType::Invoke {
            open.insert(e.process, e.time);
            continue;
        }
        let called = open.remove(&e.process).unwrap_or(0);
        if e.kind != EventType::Ok {
            continue;
        }
        match (e.f, &e.value) {
            (Func::Append, Value::Str(p)) => {
                appended.insert((e.key.clone(), p.clone()), e.time);
            }
            (Func::Read, Value::Str(v)) => {
                let Some(cut) = v.rfind('[') else {
                    continue;
                };
                let piece = &v[cut..];
                if appended
                    .get(&(e.key.clone(), piece.to_string()))
                    .is_some_and(|&t| t < called)
                {
                    candidates.push((i, v[..cut].to_string()));
                }
            }
            _ => {}
        }
    }
    let (i, v) = candidates.get(pick % candidates.len().max(1))?.clone();
    h.events[i].value = Value::Str(v);
    Some(i)
}

/// The checker's benchmark shapes (`quorumlab bench`, and the tests that need a hard
/// history): each a history, the model, and the key that makes it not linearizable.
pub mod shapes {
    use super::*;

    fn spec(model: Model, clients: u64, ops: usize, keys: u32, lat: u64, think: u64) -> GenSpec {
        GenSpec {
            model,
            clients,
            ops,
            keys,
            max_latency: lat,
            max_think: think,
            unknown_per_mille: 50,
        }
    }

    /// 50 clients over 10 keys: 40 of them hammer key "k0" (a hard key: dozens of
    /// operations open at once, writing only the values 0 to 4), 10 spread over
    /// "k1".."k9"; one read of "k9" returns a value nobody wrote.
    pub fn many_keys_one_bad(seed: u64) -> History {
        let hard = with_key(
            squash_values(
                linearizable_history(&spec(Model::Register, 40, 4000, 0, 5000, 50), seed),
                5,
            ),
            "k0",
        );
        let mut rest = Vec::new();
        for k in 1..10 {
            let mut h = with_key(
                linearizable_history(&spec(Model::CasRegister, 1, 100, 0, 500, 500), seed + k),
                &format!("k{k}"),
            );
            if k == 9 {
                corrupt_read(&mut h, None, 40);
            }
            rest.push(h);
        }
        let mut parts = vec![hard];
        parts.extend(rest);
        merge(&parts)
    }

    /// 100 clients on 3 keys, about 33 operations open at once per key (every write
    /// and cas of a new value, as the simulator's clients do).
    pub fn many_clients_few_keys(ops: usize, seed: u64) -> History {
        linearizable_history(&spec(Model::CasRegister, 100, ops, 3, 3000, 100), seed)
    }

    /// The same with the values squashed to 0..5 (as Jepsen's register tests write):
    /// values repeat, and the search has little to go on.
    pub fn many_clients_few_keys_squashed(ops: usize, seed: u64) -> History {
        squash_values(
            linearizable_history(&spec(Model::Register, 100, ops, 3, 3000, 100), seed),
            5,
        )
    }

    /// `ops` operations of 50 clients on 10 keys; with `violation`, one stale read.
    pub fn large(ops: usize, violation: bool, seed: u64) -> History {
        let mut h = linearizable_history(&spec(Model::CasRegister, 50, ops, 10, 3000, 500), seed);
        if violation {
            stale_read(&mut h, ops / 4);
        }
        h
    }
}
