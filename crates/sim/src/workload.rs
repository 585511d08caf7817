//! Clients: each runs one operation at a time against the cluster, retries with the
//! same sequence number (so a protocol with sessions applies it once), follows
//! redirects, and records every operation in the history.
//!
//! Where a client sends ([`Client::choose`]): to the newest leader it has heard of
//! (hints are ordered by the replying node's term, so a stale hint from a node that has
//! not heard of the election yet does not replace a newer one), unless that node timed
//! out on it recently: a node that timed out is avoided for [`AVOID_FOR`] (or until it
//! answers something). Otherwise to its home node, or to a node it does not avoid,
//! drawn at random. When an
//! answer brings nothing new (no leader known, a stale hint, an unknown outcome) it
//! waits before the next attempt: [`REDIRECT_BACKOFF`], doubling up to 8 times that, with
//! jitter. Every random choice comes from the run's client stream of the seeded RNG.

use crate::history::{EventType, Func, HistoryEvent, Value};
use crate::scenario::{FaultKind, Scenario, ScenarioError, WorkloadSpec};
use quorumlab_core::{ClientId, DataType, NodeId, Op, OpKind, Rng, Time, Val};

/// Redirects a client follows for one operation before it gives up.
pub const MAX_REDIRECTS: u32 = 8;
/// The first wait before retrying when an answer brought nothing new (no leader
/// known, say); it doubles with each such answer in a row, up to 8 times this.
pub const REDIRECT_BACKOFF: Time = 20_000;
/// How long a client avoids a node after an attempt to it timed out: long enough not
/// to follow stale redirects back to a dead leader while the others elect a new one,
/// short enough to find a node that restarted (or a fixed leader) again.
pub const AVOID_FOR: Time = 500_000;

/// One operation in flight.
#[derive(Clone, Debug)]
pub struct InFlight {
    pub seq: u64,
    pub op: Op,
    pub invoked: Time,
    /// Attempts sent so far (each has its own timeout).
    pub attempt: u32,
    /// The latest attempt that got an answer (its timeout then no longer counts).
    pub answered: u32,
    /// Where the latest attempt went.
    pub sent_to: NodeId,
    /// Timeouts and unknown answers so far.
    pub failures: u32,
    pub redirects: u32,
    /// Answers in a row that brought nothing new (for the backoff).
    pub fruitless: u32,
    /// Some attempt may have reached a node that applies it.
    pub maybe_applied: bool,
    /// Where and when each attempt arrived (for who accepted a write: `anomaly`).
    pub arrivals: Vec<(NodeId, Time)>,
}

impl InFlight {
    pub fn new(seq: u64, op: Op, invoked: Time) -> InFlight {
        InFlight {
            seq,
            op,
            invoked,
            attempt: 0,
            answered: 0,
            sent_to: 0,
            failures: 0,
            redirects: 0,
            fruitless: 0,
            arrivals: Vec::new(),
            maybe_applied: false,
        }
    }
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
    /// The newest leader hint and the term it came with (`None` with a term: in that
    /// term no leader was known).
    pub leader: Option<NodeId>,
    pub leader_term: u64,
    /// Per node: until when the client avoids it (an attempt to it timed out).
    pub avoid_until: Vec<Time>,
}

impl Client {
    pub fn new(id: ClientId, home: NodeId, keys: usize, console: bool, nodes: usize) -> Client {
        Client {
            id,
            home,
            target: home,
            current: None,
            next_seq: 1,
            seen: vec![None; keys],
            console,
            leader: None,
            leader_term: 0,
            avoid_until: vec![0; nodes],
        }
    }

    fn avoided(&self, node: NodeId, now: Time) -> bool {
        self.avoid_until
            .get(node as usize)
            .is_some_and(|t| *t > now)
    }

    /// `node` answered: it is up.
    pub fn heard_from(&mut self, node: NodeId) {
        if let Some(t) = self.avoid_until.get_mut(node as usize) {
            *t = 0;
        }
    }

    /// An attempt to `node` timed out at `now`.
    pub fn timed_out(&mut self, node: NodeId, now: Time) {
        if let Some(t) = self.avoid_until.get_mut(node as usize) {
            *t = now + AVOID_FOR;
        }
    }

    /// `node` served an operation: it leads (as far as this client can tell).
    pub fn served_by(&mut self, node: NodeId) {
        self.heard_from(node);
        self.leader = Some(node);
    }

    /// `node` gave up on an operation (it may have lost its leadership).
    pub fn gave_up(&mut self, node: NodeId) {
        self.heard_from(node);
        if self.leader == Some(node) {
            self.leader = None;
        }
    }

    /// `from` redirected with `hint` in `term`, at `now`. A hint in a term older than
    /// the client's newest is stale and ignored; one in a newer term replaces it (even
    /// "no leader known"). True when the client now knows a leader worth trying at once
    /// (not `from`, not avoided).
    pub fn redirected(&mut self, from: NodeId, hint: Option<NodeId>, term: u64, now: Time) -> bool {
        self.heard_from(from);
        if term > self.leader_term || (term == self.leader_term && hint.is_some()) {
            self.leader = hint;
            self.leader_term = term;
        }
        self.leader
            .is_some_and(|l| l != from && !self.avoided(l, now))
    }

    /// Where to send next at `now`: the leader hint unless avoided; else the home node
    /// (beside the client, so it answers fastest) unless avoided or just tried; else a
    /// node not avoided (at random, not `last`, when there is a choice); else the node
    /// whose avoidance ends first.
    pub fn choose(&self, members: &[NodeId], last: NodeId, now: Time, rng: &mut Rng) -> NodeId {
        if let Some(l) = self.leader.filter(|l| !self.avoided(*l, now)) {
            if (l as usize) < self.avoid_until.len() {
                return l;
            }
        }
        if self.home != last && !self.avoided(self.home, now) {
            return self.home;
        }
        let fresh: Vec<NodeId> = members
            .iter()
            .copied()
            .filter(|m| !self.avoided(*m, now))
            .collect();
        let others: Vec<NodeId> = fresh.iter().copied().filter(|m| *m != last).collect();
        let pool = if others.is_empty() { fresh } else { others };
        if pool.is_empty() {
            return members
                .iter()
                .copied()
                .min_by_key(|m| (self.avoid_until.get(*m as usize).copied().unwrap_or(0), *m))
                .unwrap_or(last);
        }
        pool[rng.below(pool.len() as u64) as usize]
    }
}

/// The wait before the next attempt after `fruitless` answers in a row that brought
/// nothing new: [`REDIRECT_BACKOFF`] doubled per answer up to 8 times it, with jitter
/// (a uniform draw in its upper half), so that clients do not retry in lockstep.
pub fn backoff(fruitless: u32, rng: &mut Rng) -> Time {
    let d = REDIRECT_BACKOFF << fruitless.saturating_sub(1).min(3);
    d / 2 + rng.below(d / 2 + 1)
}

/// Draws operations for the workload: only operations of the protocol's client data
/// type, weighted by the scenario's mix (or the type's default mix).
#[derive(Clone, Debug)]
pub struct OpGen {
    pub rng: Rng,
    /// The next value a write will write: values are unique, readable, increasing.
    pub next_value: i64,
    pub keys: u32,
    weights: Vec<(OpKind, f64)>,
}

/// The home node of workload client `c`: the node `attach` names for it, else the
/// initial members in turn. Its requests and replies cross the network from there.
pub fn home_of(w: &WorkloadSpec, members: &[NodeId], c: u32) -> NodeId {
    w.attach
        .get(c as usize)
        .copied()
        .unwrap_or_else(|| members[c as usize % members.len()])
}

pub fn key_name(k: u32) -> String {
    format!("k{k}")
}

pub fn key_index(key: &str) -> Option<usize> {
    key.strip_prefix('k').and_then(|s| s.parse().ok())
}

impl OpGen {
    pub fn new(w: &WorkloadSpec, data_type: &DataType, rng: Rng) -> OpGen {
        OpGen {
            rng,
            next_value: 1,
            keys: w.keys,
            weights: w.mix.weights(data_type),
        }
    }

    pub fn think_time(&mut self, rate: f64) -> Time {
        // Exponential with mean 1/rate seconds.
        let u = 1.0 - self.rng.unit();
        let mean_us = 1e6 / rate;
        ((-crate::detmath::ln(u)) * mean_us).clamp(1.0, 3.6e9) as Time
    }

    /// The operations it may make, with their weights.
    pub fn weights(&self) -> &[(OpKind, f64)] {
        &self.weights
    }

    /// The next operation: a key drawn uniformly, then an operation by weight (the
    /// last one when the draw passes the others).
    pub fn next_op(&mut self, client: &Client) -> Op {
        let k = self.rng.below(self.keys as u64) as u32;
        let key = key_name(k);
        let total: f64 = self.weights.iter().map(|w| w.1).sum();
        let x = self.rng.unit() * total;
        let mut kind = self.weights.last().map_or(OpKind::Read, |w| w.0);
        let mut acc = 0.0;
        for &(op, w) in self
            .weights
            .iter()
            .take(self.weights.len().saturating_sub(1))
        {
            acc += w;
            if x < acc {
                kind = op;
                break;
            }
        }
        match kind {
            OpKind::Write => {
                let value = self.next_value;
                self.next_value += 1;
                Op::Write { key, value }
            }
            OpKind::Cas => {
                let expect = client.seen.get(k as usize).copied().flatten().unwrap_or(0);
                let new = self.next_value;
                self.next_value += 1;
                Op::Cas { key, expect, new }
            }
            // A piece no other append writes (values are unique), bracketed so that
            // no piece is found inside another: a read shows which appends it saw.
            OpKind::Append => {
                let value = format!("[{}]", self.next_value);
                self.next_value += 1;
                Op::Append { key, value }
            }
            OpKind::Acquire => Op::Acquire { key },
            OpKind::Release => Op::Release { key },
            OpKind::Read => Op::Read { key },
        }
    }
}

/// The client data type a run of `protocol` uses: the one its scenario names in
/// `protocol.data_type`, which must be `own` or one of `also` (what the protocol
/// serves), else `own`.
pub fn data_type_of(
    s: &Scenario,
    protocol: &str,
    own: DataType,
    also: &[DataType],
) -> Result<DataType, ScenarioError> {
    let Some(name) = s.protocol.data_type.as_deref() else {
        return Ok(own);
    };
    let served = || std::iter::once(own).chain(also.iter().copied());
    served().find(|d| d.name == name).ok_or_else(|| {
        let list: Vec<String> = served()
            .map(|d| format!("{} ({})", d.name, d.op_names()))
            .collect();
        let known = DataType::from_name(name).is_some();
        ScenarioError::new(
            "protocol.data_type",
            format!(
                "{protocol} does not serve {}`{name}`: it serves {}",
                if known {
                    "the data type "
                } else {
                    "a data type called "
                },
                list.join(", ")
            ),
        )
    })
}

/// Fit a scenario just switched to `protocol` (serving `own`, then `also`): a data
/// type it does not serve gives way to its own, then the clients fit the type
/// ([`fit_clients`]).
pub fn fit_protocol(s: &mut Scenario, protocol: &str, own: DataType, also: &[DataType]) {
    let d = data_type_of(s, protocol, own, also).unwrap_or_else(|_| {
        s.protocol.data_type = None;
        own
    });
    fit_clients(s, &d);
}

/// Fit a scenario's clients to `data_type` (the scenario switched to a protocol of
/// another type): without operations, no workload; a mix naming another type's
/// operations gives way to the type's default mix; console operations of another type
/// go.
pub fn fit_clients(s: &mut Scenario, data_type: &DataType) {
    if !data_type.serves_clients() {
        s.workload = None;
    }
    if let Some(w) = s.workload.as_mut() {
        if w.mix.given().iter().any(|(op, _)| !data_type.has(*op)) {
            w.mix = Default::default();
        }
    }
    s.faults.retain(|f| match &f.kind {
        FaultKind::Client { op, .. } => data_type.has(op.kind()),
        _ => true,
    });
}

/// Why `protocol` (of `data_type`) does not take `op`, listing what it does take.
pub fn not_served(protocol: &str, data_type: &DataType, op: OpKind) -> String {
    if data_type.serves_clients() {
        format!(
            "{} is not an operation of {protocol}'s data type {} (its operations: {})",
            op.name(),
            data_type.name,
            data_type.op_names()
        )
    } else {
        format!(
            "{protocol} serves no client operations (its data type is {}), so it takes no {}",
            data_type.name,
            op.name()
        )
    }
}

/// Whether a scenario's clients fit the client data type of its protocol (`protocol`,
/// declaring `data_type`): a protocol that serves no client operations takes no
/// workload and no console requests, and a mix or a console request names only the
/// type's operations. Each problem names its field and what is allowed.
pub fn check_clients(s: &Scenario, protocol: &str, data_type: &DataType) -> Vec<ScenarioError> {
    let mut errs = Vec::new();
    let not_ours = |op: OpKind| not_served(protocol, data_type, op);
    if let Some(w) = &s.workload {
        if !data_type.serves_clients() {
            errs.push(ScenarioError::new(
                "workload",
                format!(
                    "{protocol} serves no client operations (its data type is {}): leave out the workload",
                    data_type.name
                ),
            ));
        } else {
            for (op, _) in w.mix.given() {
                if !data_type.has(op) {
                    errs.push(ScenarioError::new(
                        format!("workload.mix.{}", op.name()),
                        not_ours(op),
                    ));
                }
            }
        }
    }
    for (i, f) in s.faults.iter().enumerate() {
        if let FaultKind::Client { op, .. } = &f.kind {
            if !data_type.has(op.kind()) {
                errs.push(ScenarioError::new(
                    format!("faults[{i}].op"),
                    not_ours(op.kind()),
                ));
            }
        }
    }
    errs
}

/// The history line for an operation.
pub fn history_event(
    process: ClientId,
    kind: EventType,
    op: &Op,
    result: Option<Val>,
    time: Time,
) -> HistoryEvent {
    let (f, key, value) = match op {
        Op::Read { key } => (
            Func::Read,
            key,
            if kind == EventType::Ok {
                match result {
                    Some(Val::Int(i)) => Value::Int(i),
                    Some(Val::Text(s)) => Value::Str(s),
                    Some(Val::Siblings(siblings)) => Value::Siblings { siblings },
                    None => Value::Nil,
                }
            } else {
                Value::Nil
            },
        ),
        Op::Write { key, value } => (Func::Write, key, Value::Int(*value)),
        Op::Cas { key, expect, new } => (Func::Cas, key, Value::Pair([*expect, *new])),
        Op::Append { key, value } => (Func::Append, key, Value::Str(value.clone())),
        // An acquire's ok carries its fencing token.
        Op::Acquire { key } => (
            Func::Acquire,
            key,
            match (kind, result) {
                (EventType::Ok, Some(Val::Int(token))) => Value::Int(token),
                _ => Value::Nil,
            },
        ),
        Op::Release { key } => (Func::Release, key, Value::Nil),
    };
    HistoryEvent {
        process: process as u64,
        kind,
        f,
        key: Some(key.clone()),
        value,
        time,
        index: None,
        term: None,
        gave_up: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorumlab_core::MS;

    #[test]
    fn a_stale_hint_does_not_replace_a_newer_one() {
        let mut c = Client::new(0, 0, 1, false, 5);
        assert!(c.redirected(1, Some(3), 2, 0));
        // Node 4 has not heard of the election of term 2 yet.
        assert!(c.redirected(4, Some(2), 1, 0));
        assert_eq!((c.leader, c.leader_term), (Some(3), 2));
        // "No leader known" in a newer term does clear it.
        assert!(!c.redirected(4, None, 3, 0));
        assert_eq!((c.leader, c.leader_term), (None, 3));
    }

    #[test]
    fn a_node_that_timed_out_is_avoided_until_it_answers_or_time_passes() {
        let members = [0, 1, 2, 3, 4];
        let mut rng = Rng::derive(1, 4);
        let mut c = Client::new(0, 0, 1, false, 5);
        c.served_by(2);
        c.timed_out(2, 100 * MS);
        // A redirect to the dead leader is no reason to go there at once.
        assert!(!c.redirected(1, Some(2), 0, 110 * MS));
        for _ in 0..50 {
            assert_ne!(c.choose(&members, 1, 110 * MS, &mut rng), 2);
        }
        // The home node first, when it is not the one just tried.
        assert_eq!(c.choose(&members, 1, 110 * MS, &mut rng), 0);
        assert_eq!(c.choose(&members, 2, 100 * MS + AVOID_FOR, &mut rng), 2);
        c.heard_from(2);
        assert_eq!(c.choose(&members, 1, 120 * MS, &mut rng), 2);
        // Everyone avoided: the one that has been avoided longest.
        for m in members {
            c.timed_out(m, 200 * MS + m as Time);
        }
        assert_eq!(c.choose(&members, 1, 201 * MS, &mut rng), 0);
    }

    fn workload(mix: &str) -> WorkloadSpec {
        let s = crate::scenario::parse(&format!(
            r#"{{"version": 1, "protocol": {{"name": "raft"}}, "nodes": 3, "duration_ms": 1000,
                "workload": {{"clients": 1, "keys": 3 {mix}}}}}"#
        ))
        .expect("parses");
        s.workload.expect("a workload")
    }

    /// The generator before data types, for the register: three weights in a row.
    fn old_next_op(rng: &mut Rng, w: [f64; 3], keys: u32, next: &mut i64) -> Op {
        let key = key_name(rng.below(keys as u64) as u32);
        let total: f64 = w.iter().sum();
        let x = rng.unit() * total;
        if x < w[0] {
            Op::Read { key }
        } else if x < w[0] + w[1] {
            *next += 1;
            Op::Write {
                key,
                value: *next - 1,
            }
        } else {
            *next += 1;
            Op::Cas {
                key,
                expect: 0,
                new: *next - 1,
            }
        }
    }

    #[test]
    fn the_register_draws_what_it_drew_before_data_types() {
        let client = Client::new(0, 0, 3, false, 3);
        for (mix, w) in [
            ("", [0.5, 0.4, 0.1]),
            (r#", "mix": {"read": 0.7, "write": 0.3}"#, [0.7, 0.3, 0.0]),
            (r#", "mix": {"cas": 2, "read": 0.25}"#, [0.25, 0.0, 2.0]),
        ] {
            let mut gen = OpGen::new(&workload(mix), &DataType::CAS_REGISTER, Rng::derive(5, 2));
            let mut old = Rng::derive(5, 2);
            let mut next = 1;
            for i in 0..5000 {
                let want = old_next_op(&mut old, w, 3, &mut next);
                assert_eq!(gen.next_op(&client), want, "{mix}: draw {i}");
            }
        }
    }

    #[test]
    fn a_lock_workload_only_acquires_and_releases() {
        let client = Client::new(0, 0, 3, false, 3);
        let mut gen = OpGen::new(&workload(""), &DataType::LOCK, Rng::derive(1, 2));
        let mut kinds = std::collections::BTreeMap::new();
        for _ in 0..2000 {
            *kinds.entry(gen.next_op(&client).kind()).or_insert(0) += 1;
        }
        assert_eq!(
            kinds.keys().copied().collect::<Vec<_>>(),
            [OpKind::Acquire, OpKind::Release]
        );
        assert!(kinds.values().all(|n| *n > 800), "{kinds:?}");
        let mut gen = OpGen::new(
            &workload(r#", "mix": {"release": 1}"#),
            &DataType::LOCK,
            Rng::derive(1, 2),
        );
        assert!((0..100).all(|_| gen.next_op(&client).kind() == OpKind::Release));
    }

    #[test]
    fn backoff_doubles_with_jitter_from_the_seeded_stream() {
        let mut a = Rng::derive(9, 4);
        let mut b = Rng::derive(9, 4);
        for k in 1..8u32 {
            let d = REDIRECT_BACKOFF << (k - 1).min(3);
            let x = backoff(k, &mut a);
            assert!(x >= d / 2 && x <= d, "{k}: {x}");
            assert_eq!(x, backoff(k, &mut b));
        }
    }
}
