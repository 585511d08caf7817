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
    let init = match spec.model {
        Model::Kv => Value::Str(String::new()),
        _ => Value::Nil,
    };
    for i in order {
        let p = &mut plan[i];
        let cur = state.entry(p.key.clone()).or_insert_with(|| init.clone());
        match p.f {
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
            },
        ));
        let kind = if p.unknown {
            EventType::Info
        } else if p.f == Func::Cas && !p.happens {
            EventType::Fail
        } else {
            EventType::Ok
        };
        let value = if p.f == Func::Read { p.output } else { p.input };
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
            },
        ));
    }
    // Completions before invokes at the same instant keep each client's events paired.
    events.sort_by_key(|e| (e.0, e.1));
    History {
        events: events.into_iter().map(|e| e.2).collect(),
    }
}
