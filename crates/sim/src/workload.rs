//! Clients: each runs one operation at a time against the cluster, retries with the
//! same sequence number (so a protocol with sessions applies it once), follows
//! redirects, and records every operation in the history.

use crate::history::{EventType, Func, HistoryEvent, Value};
use crate::scenario::WorkloadSpec;
use quorumlab_core::{ClientId, NodeId, Op, Rng, Time};

/// Redirects a client follows for one operation before it gives up.
pub const MAX_REDIRECTS: u32 = 8;
/// Wait before retrying when a node knows no leader.
pub const REDIRECT_BACKOFF: Time = 20_000;

/// One operation in flight.
#[derive(Clone, Debug)]
pub struct InFlight {
    pub seq: u64,
    pub op: Op,
    pub invoked: Time,
    /// Attempts sent so far (each has its own timeout).
    pub attempt: u32,
    /// Timeouts and unknown answers so far.
    pub failures: u32,
    pub redirects: u32,
    /// Some attempt may have reached a node that applies it.
    pub maybe_applied: bool,
}

#[derive(Clone, Debug)]
pub struct Client {
    pub id: ClientId,
    /// The node this client runs beside.
    pub home: NodeId,
    /// Where it sends next.
    pub target: NodeId,
    pub current: Option<InFlight>,
    pub next_seq: u64,
    /// The last value this client saw per key index (for cas).
    pub seen: Vec<Option<i64>>,
    /// A console client (the user's own requests): one attempt, no retries.
    pub console: bool,
}

impl Client {
    pub fn new(id: ClientId, home: NodeId, keys: usize, console: bool) -> Client {
        Client {
            id,
            home,
            target: home,
            current: None,
            next_seq: 1,
            seen: vec![None; keys],
            console,
        }
    }
}

/// Draws operations for the workload.
#[derive(Clone, Debug)]
pub struct OpGen {
    pub rng: Rng,
    /// The next value a write will write: values are unique, readable, increasing.
    pub next_value: i64,
    pub keys: u32,
    weights: [f64; 3],
}

pub fn key_name(k: u32) -> String {
    format!("k{k}")
}

pub fn key_index(key: &str) -> Option<usize> {
    key.strip_prefix('k').and_then(|s| s.parse().ok())
}

impl OpGen {
    pub fn new(w: &WorkloadSpec, rng: Rng) -> OpGen {
        OpGen {
            rng,
            next_value: 1,
            keys: w.keys,
            weights: [w.mix.read, w.mix.write, w.mix.cas],
        }
    }

    pub fn think_time(&mut self, rate: f64) -> Time {
        // Exponential with mean 1/rate seconds.
        let u = 1.0 - self.rng.unit();
        let mean_us = 1e6 / rate;
        ((-crate::detmath::ln(u)) * mean_us).clamp(1.0, 3.6e9) as Time
    }

    pub fn next_op(&mut self, client: &Client) -> Op {
        let k = self.rng.below(self.keys as u64) as u32;
        let key = key_name(k);
        let total: f64 = self.weights.iter().sum();
        let x = self.rng.unit() * total;
        if x < self.weights[0] {
            Op::Read { key }
        } else if x < self.weights[0] + self.weights[1] {
            let value = self.next_value;
            self.next_value += 1;
            Op::Write { key, value }
        } else {
            let expect = client.seen.get(k as usize).copied().flatten().unwrap_or(0);
            let new = self.next_value;
            self.next_value += 1;
            Op::Cas { key, expect, new }
        }
    }
}

/// The history line for an operation.
pub fn history_event(
    process: ClientId,
    kind: EventType,
    op: &Op,
    result: Option<i64>,
    time: Time,
) -> HistoryEvent {
    let (f, key, value) = match op {
        Op::Read { key } => (
            Func::Read,
            key,
            if kind == EventType::Ok {
                result.map(Value::Int).unwrap_or(Value::Nil)
            } else {
                Value::Nil
            },
        ),
        Op::Write { key, value } => (Func::Write, key, Value::Int(*value)),
        Op::Cas { key, expect, new } => (Func::Cas, key, Value::Pair([*expect, *new])),
    };
    HistoryEvent {
        process: process as u64,
        kind,
        f,
        key: Some(key.clone()),
        value,
        time,
    }
}
