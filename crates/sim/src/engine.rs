//! The discrete-event loop.
//!
//! Simulated time advances in two kinds of steps:
//! - a **control event** (a fault, a client's timer or the arrival of a reply at a
//!   client, the nemesis) is handled by the simulator itself;
//! - a **window** `[t, t + lookahead)` runs every node's events in it. The lookahead is
//!   the least time in which anything a node does can reach another node: the least
//!   message latency, or a round trip through a client (a reply reaches the client after
//!   the client latency, and the client's next request takes as long again). So nothing
//!   a node sends inside a window can arrive inside it: nodes are independent within a
//!   window. A window ends before the next fault (or other control event of the
//!   simulator's own), but a pending client event only shortens it to that event's time
//!   plus the client latency, when its request could first reach a node; the client
//!   events inside the window are handled after it, in time order. Each node runs its own
//!   events in time order ([`Host::run_window`]); then the simulator applies their
//!   effects in node order. A Web Worker can therefore run a node's window in parallel
//!   with the others and the outcome is the same, event for event.
//!
//! The trace hash folds every handled event and every effect in that fixed order.

use crate::expect::{ExpectOutcome, NodeProbe, Probe, Tracker};
use crate::hash::StableHasher;
use crate::history::{EventType, History};
use crate::host::{Cause, Host, Input, InputMeta, Job, JobResult, Jobs, Record};
use crate::marks::{self, Mark, Marks};
use crate::metrics::Metrics;
use crate::net::{Fate, Network};
use crate::resilience::{Capacity, Guard, TokenBucket};
use crate::scenario::{FaultKind, NodeRef, Scenario, ScenarioError};
use crate::workload::{self, Client, InFlight, OpGen, MAX_REDIRECTS};
use quorumlab_core::{
    ClientReply, ClientRequest, Effect, LogWindow, MembershipChange, Message, NodeId, NodeView, Op,
    Outcome, Protocol, Report, Rng, Time, Val, Violation, MS,
};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::hash::Hash;

/// An item in a time-ordered queue: earliest first, then first queued.
#[derive(Clone, Debug)]
struct Pending<T> {
    time: Time,
    seq: u64,
    item: T,
}
impl<T> PartialEq for Pending<T> {
    fn eq(&self, o: &Self) -> bool {
        self.time == o.time && self.seq == o.seq
    }
}
impl<T> Eq for Pending<T> {}
impl<T> PartialOrd for Pending<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Pending<T> {
    fn cmp(&self, o: &Self) -> Ordering {
        (o.time, o.seq).cmp(&(self.time, self.seq))
    }
}

enum Next {
    Done,
    Control,
    Window(Time, Time),
}

/// Events the simulator handles itself.
#[derive(Clone, Debug)]
enum Ctrl {
    Boot(NodeId),
    Fault(FaultKind),
    ClientWake(u32),
    ClientSend(u32, u64),
    ClientTimeout(u32, u64, u32),
    /// A node's reply reaches its client.
    ClientReply(NodeId, ClientReply),
    /// A node's rate limiter (or, with `full`, its full queue) turned an attempt away
    /// (client, sequence number, attempt, node, full): the client hears it at once.
    ClientRejected(u32, u64, u32, NodeId, bool),
    Resume(NodeId),
    Nemesis,
    NemesisUndo(Undo),
    NemesisStop,
    Member(MembershipChange, u32),
}

impl Ctrl {
    /// A client's own event: it reaches nodes only through `client_send` (so never
    /// sooner than the client latency) and reads no node state.
    fn is_client(&self) -> bool {
        matches!(
            self,
            Ctrl::ClientWake(_)
                | Ctrl::ClientSend(..)
                | Ctrl::ClientTimeout(..)
                | Ctrl::ClientReply(..)
                | Ctrl::ClientRejected(..)
        )
    }
}

#[derive(Clone, Debug)]
enum Undo {
    Restart(NodeId, bool),
    Heal,
    Network,
}

/// Whether a node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Up,
    Crashed,
    Paused,
    /// A spare, not yet added.
    Spare,
}

/// A message on the wire, for the picture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flight {
    pub from: NodeId,
    pub to: NodeId,
    pub kind: String,
    /// The message's own short description (`Message::describe`: "append 12-14 t3").
    #[serde(default)]
    pub label: String,
    pub sent: Time,
    pub arrives: Time,
    /// `delivered`, `lost`, `blocked`, `duplicate` (a second copy, delivered), or
    /// `crashed`: it arrived at a node that was down (crashed, or a spare not started),
    /// which heard nothing. Decided at arrival: a message on its way says `delivered`
    /// (or `duplicate`) until then.
    pub fate: String,
}

impl Flight {
    /// The message never reached a running node: lost, blocked by a partition or a cut,
    /// or arrived at a crashed node. These are the dropped messages of the metrics.
    pub fn dropped(&self) -> bool {
        matches!(self.fate.as_str(), "lost" | "blocked" | "crashed")
    }
}

/// A line of the run's log of notable things (faults, client fates, violations).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub time: Time,
    pub what: String,
}

/// The first invariant violation of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    pub time: Time,
    pub event: u64,
    pub invariant: String,
    pub detail: String,
}

/// Optional recording for the page and `--trace`: every message sent, bounded.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    pub flights: Vec<Flight>,
    pub limit: usize,
    pub dropped: u64,
}

impl Recorder {
    /// The message from `from` to `to` arriving at `arrives` reached a node that was
    /// down: mark the latest matching flight so.
    fn arrived_at_crashed(&mut self, from: NodeId, to: NodeId, arrives: Time) {
        if let Some(f) = self.flights.iter_mut().rev().find(|f| {
            f.from == from
                && f.to == to
                && f.arrives == arrives
                && (f.fate == "delivered" || f.fate == "duplicate")
        }) {
            f.fate = "crashed".into();
        }
    }

    fn push(&mut self, f: Flight) {
        if self.flights.len() >= self.limit {
            // Keep the most recent half: the page shows recent traffic.
            let half = self.flights.len() / 2;
            self.dropped += half as u64;
            self.flights.drain(..half);
        }
        self.flights.push(f);
    }

    /// A message sent at `now`: its flight, and a second one for a duplicate copy
    /// (one function for every protocol: the page pays for it once).
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn sent(
        &mut self,
        from: NodeId,
        to: NodeId,
        kind: &str,
        label: String,
        now: Time,
        arrives: Time,
        fate: &str,
        duplicate: Option<Time>,
    ) {
        let f = Flight {
            from,
            to,
            kind: kind.to_string(),
            label,
            sent: now,
            arrives,
            fate: fate.into(),
        };
        if let Some(d) = duplicate {
            let mut copy = f.clone();
            copy.arrives = d;
            copy.fate = "duplicate".into();
            self.push(f);
            self.push(copy);
        } else {
            self.push(f);
        }
    }
}

/// A message's label, out of line (once per protocol, not at every inlined send).
#[inline(never)]
fn label_of<M: Message>(m: &M) -> String {
    m.describe()
}

/// The simulator for one protocol.
#[derive(Clone)]
pub struct Sim<P: Protocol> {
    pub scenario: Scenario,
    pub seed: u64,
    params: P::Params,
    /// The clients' data type: the protocol's own, or another it serves that the
    /// scenario names.
    data_type: quorumlab_core::DataType,
    n: usize,
    states: Vec<Option<P>>,
    hosts: Vec<Host>,
    disks: Vec<Option<P::Disk>>,
    status: Vec<Status>,
    monitor: P::Monitor,
    pub net: Network,
    lookahead: Time,
    end: Time,
    now: Time,
    seq: u64,
    /// Node inputs by time; the payloads live in `slab` (heap entries stay small).
    inputs: BinaryHeap<Pending<u32>>,
    slab: Vec<Option<(NodeId, Input<P>)>>,
    free: Vec<u32>,
    /// Nodes with work in the current window (reused).
    work: Vec<NodeId>,
    meta: Vec<InputMeta>,
    /// Control events that can change nodes at once (faults, boots, the nemesis...).
    ctrl: BinaryHeap<Pending<Ctrl>>,
    /// Clients' control events: they reach nodes only through the client latency.
    client_ctrl: BinaryHeap<Pending<Ctrl>>,
    /// Inputs that reached a paused node, with their sequence numbers.
    deferred: Vec<Vec<(Time, Input<P>, u64)>>,
    clients: Vec<Client>,
    opgen: Option<OpGen>,
    nemesis_rng: Rng,
    /// Nodes in the order they crashed (for "the last crashed node").
    crash_order: Vec<NodeId>,
    /// Draws "a follower" for faults aimed at one.
    aim_rng: Rng,
    /// Clients' choices of node and backoff jitter.
    client_rng: Rng,
    nemesis_active: bool,
    /// Faults the nemesis made so far (for `iterations`).
    nemesis_count: u32,
    client_stop: Time,
    pub history: History,
    /// Clients that are nodes (a lock service's): their open operations and locks.
    node_clients: crate::locks::NodeClients,
    /// The writes a storage node reported taking or refusing.
    storage_writes: Vec<crate::locks::StorageWrite>,
    /// Every fault applied, with its roles resolved, and when.
    applied: Vec<(Time, FaultKind)>,
    /// The network's parts after every change (faults are what change it), for each
    /// side's availability.
    parts: crate::sides::Parts,
    /// Who accepted acknowledged writes, when (for split brain: [`crate::anomaly`]).
    pub serving: crate::anomaly::Serving,
    pub metrics: Metrics,
    hash: StableHasher,
    events: u64,
    check_invariants: bool,
    violation: Option<Found>,
    /// A violation found by a replica that holds every node's state (see
    /// [`Sim::stop_at`]): a coordinator stops at its event.
    stop: Option<Found>,
    /// A client's control event is being handled (see `push_input`).
    in_client_event: bool,
    /// When the last fault or nemesis action happened (for the convergence check).
    last_disturbance: Time,
    /// The convergence check's settle point (0: no check), the views there (taken
    /// before the first step at or after it), and whether a node led after a window
    /// since: see [`crate::converge`].
    settle_at: Time,
    settled: Option<Vec<Option<NodeView>>>,
    leader_seen: bool,
    pub log: Vec<LogLine>,
    pub recorder: Option<Recorder>,
    /// Membership changes asked for, and whether a leader took each.
    admin: Vec<(MembershipChange, bool)>,
    /// Distinct reasons nodes gave for refusing the latest admin request (for the log).
    refusals: Vec<String>,
    /// Nodes crashed since the last [`Sim::take_crashed`] (so a runtime that hosts
    /// nodes elsewhere can kill them).
    crashed: Vec<NodeId>,
    window_end: Time,
    // Reused buffers.
    batches: Vec<Vec<(Time, Input<P>)>>,
    effects: Vec<Effect<P>>,
    records: Vec<Record>,
    /// The scenario's expectations and where each stands (`None`: it has none).
    expect: Option<Box<Tracker>>,
    /// The moments the timeline marks, as they happen (see [`crate::marks`]).
    marks: Marks,
    /// The clients' resilience patterns (`workload.client`), when set.
    guard: Option<Box<Guard>>,
    /// Each node's rate limiter (`workload.rate_limit`), when set.
    buckets: Vec<TokenBucket>,
    /// Each node's queue of client requests (`workload.capacity`), when set.
    capacity: Option<Box<Capacity>>,
    /// Requests a client event sent, with their sequence numbers (see `with_clients`).
    client_out: Vec<(Time, NodeId, ClientRequest, u64)>,
    /// Whether the expectations were told the run is over.
    expect_done: bool,
}

pub use crate::registry::params_of;

/// The run's first violation, at `time`, after event `events` (one copy for every
/// protocol: the page pays for each generic copy).
#[inline(never)]
fn found(
    violation: &mut Option<Found>,
    log: &mut Vec<LogLine>,
    now: &mut Time,
    events: u64,
    time: Time,
    v: Violation,
) {
    *now = time;
    log.push(LogLine {
        time,
        what: format!("invariant violated: {v}"),
    });
    *violation = Some(Found {
        time,
        event: events,
        invariant: v.invariant,
        detail: v.detail,
    });
}

/// A coordinator reaching the event a replica's violation came after (see
/// [`Sim::stop_at`]) stops there with the same report. True when the run is stopped.
#[inline(never)]
fn stop_due(
    stop: &mut Option<Found>,
    violation: &mut Option<Found>,
    log: &mut Vec<LogLine>,
    now: &mut Time,
    events: u64,
) -> bool {
    if let Some(f) = stop.take_if(|f| events >= f.event) {
        let v = Violation {
            invariant: f.invariant,
            detail: f.detail,
        };
        found(violation, log, now, events, f.time, v);
    }
    violation.is_some()
}

/// Fold a handled event's time, node and cause into the hash (one copy for every
/// protocol).
#[inline(never)]
fn hash_record(
    h: &mut StableHasher,
    metrics: &mut Metrics,
    node: NodeId,
    rec: &Record,
    meta: &[InputMeta],
) {
    metrics.event(rec.time);
    h.add(rec.time);
    h.add(node as u64);
    match &rec.cause {
        Cause::Timer(id) => {
            h.add(2);
            h.add(*id as u64);
        }
        Cause::Input(k) => {
            let m = meta.get(*k as usize).copied().unwrap_or(InputMeta {
                tag: 9,
                from: 0,
                kind: 0,
                client: 0,
                seq: 0,
            });
            h.add(3 + m.tag as u64);
            h.add(m.from as u64);
            h.add(m.kind);
            h.add(m.client as u64);
            h.add(m.seq);
            if m.tag == 3 {
                h.add(rec.admin.as_ref().is_some_and(|r| r.is_ok()) as u64);
            }
        }
    }
}

/// A message sent: its fate on the network, folded into the hash, counted, recorded
/// (one copy for every protocol). `None` when it goes nowhere (no such node).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn route_send(
    hash: &mut StableHasher,
    metrics: &mut Metrics,
    expect: Option<&mut Tracker>,
    net: &mut Network,
    recorder: Option<&mut Recorder>,
    (n, lookahead): (usize, Time),
    (node, to, now): (NodeId, NodeId, Time),
    (kind, msg_hash, label): (&'static str, u64, Option<String>),
) -> Option<Fate> {
    hash.add(10);
    hash.add(to as u64);
    hash.add(msg_hash);
    metrics.message(now, kind);
    if let Some(x) = expect.filter(|x| x.wants_messages) {
        x.on_send(now, kind);
    }
    if to as usize >= n {
        return None;
    }
    let fate = net.route(node, to, now);
    if let Some(r) = recorder {
        let (arrives, f, dup) = match fate {
            Fate::Arrives(t, dup) => (t, "delivered", dup),
            Fate::Lost => (now + lookahead, "lost", None),
            Fate::Blocked => (now + lookahead, "blocked", None),
        };
        r.sent(
            node,
            to,
            kind,
            label.unwrap_or_default(),
            now,
            arrives,
            f,
            dup,
        );
    }
    match fate {
        Fate::Arrives(t, dup) => {
            hash.add(t);
            if let Some(d) = dup {
                hash.add(d);
            }
        }
        _ => {
            metrics.dropped(now);
            hash.add(0);
        }
    }
    Some(fate)
}

impl<P: Protocol> Sim<P> {
    /// Build a run of a validated scenario with `seed`.
    pub fn new(scenario: &Scenario, seed: u64) -> Result<Self, ScenarioError> {
        let params = params_of::<P>(scenario)?;
        let data_type = workload::data_type_of(scenario, P::NAME, P::DATA_TYPE, P::ALSO_SERVES)?;
        // Clients ask only for operations of the run's data type.
        if let Some(e) = workload::check_clients(scenario, P::NAME, &data_type)
            .into_iter()
            .next()
        {
            return Err(e);
        }
        let n = scenario.n();
        let net = Network::new(scenario, Rng::derive(seed, 1));
        let lookahead = Network::min_latency(scenario);
        let mut sim = Sim {
            scenario: scenario.clone(),
            seed,
            params,
            data_type,
            n,
            states: (0..n).map(|_| None).collect(),
            hosts: (0..n).map(|i| Host::new(i as NodeId, seed)).collect(),
            disks: vec![None; n],
            status: (0..n)
                .map(|i| {
                    if scenario.nodes.spec(i).spare {
                        Status::Spare
                    } else {
                        Status::Crashed
                    }
                })
                .collect(),
            monitor: P::Monitor::default(),
            net,
            lookahead,
            end: scenario.duration(),
            now: 0,
            seq: 0,
            inputs: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            work: Vec::new(),
            meta: Vec::new(),
            ctrl: BinaryHeap::new(),
            client_ctrl: BinaryHeap::new(),
            deferred: (0..n).map(|_| Vec::new()).collect(),
            clients: Vec::new(),
            opgen: None,
            nemesis_rng: Rng::derive(seed, 3),
            aim_rng: Rng::derive(seed, 7),
            crash_order: Vec::new(),
            client_rng: Rng::derive(seed, 4),
            nemesis_active: false,
            nemesis_count: 0,
            client_stop: 0,
            node_clients: Default::default(),
            parts: crate::sides::Parts::new(n),
            storage_writes: Vec::new(),
            applied: Vec::new(),
            history: History {
                events: Vec::new(),
                // The run's client data type: what the history is checked as (the
                // workload's, or what the protocol's own nodes ask for as clients).
                data_type: [data_type, P::NODE_CLIENTS]
                    .into_iter()
                    .find(|d| d.serves_clients())
                    .map(|d| d.name.to_string()),
            },
            serving: Default::default(),
            metrics: Metrics::new(scenario.metrics_window_ms * MS),
            hash: StableHasher::new(),
            events: 0,
            check_invariants: scenario.checks.invariants,
            violation: None,
            stop: None,
            last_disturbance: 0,
            settle_at: 0,
            settled: None,
            leader_seen: false,
            log: Vec::new(),
            recorder: None,
            admin: Vec::new(),
            refusals: Vec::new(),
            crashed: Vec::new(),
            window_end: 0,
            in_client_event: false,
            batches: (0..n).map(|_| Vec::new()).collect(),
            effects: Vec::new(),
            records: Vec::new(),
            expect: (!scenario.expect.is_empty()).then(|| Box::new(Tracker::new(&scenario.expect))),
            expect_done: false,
            marks: Marks::new(n),
            guard: scenario
                .workload
                .as_ref()
                .and_then(|w| w.client.as_ref())
                .map(|p| Box::new(Guard::new(p, n))),
            buckets: scenario
                .workload
                .as_ref()
                .and_then(|w| w.rate_limit.as_ref())
                .map(|r| vec![TokenBucket::new(r.rate, r.burst); n])
                .unwrap_or_default(),
            capacity: scenario
                .workload
                .as_ref()
                .and_then(|w| w.capacity.as_ref())
                .map(|c| Box::new(Capacity::new(c.rate, c.queue, n))),
            client_out: Vec::new(),
        };
        sim.hash.add(seed);
        let quiet = scenario.checks.converge_after_ms * MS;
        if quiet > 0 {
            sim.settle_at = sim.end.saturating_sub(quiet / 2).max(1);
        }
        sim.parts.record(0, &sim.net.blocked_pairs());
        let start = Start::of(scenario, seed, &sim.status, sim.end, &data_type);
        for (t, c) in start.ctrl {
            sim.push_ctrl(t, c);
        }
        sim.clients = start.clients;
        sim.opgen = start.opgen;
        sim.client_stop = start.client_stop;
        sim.nemesis_active = start.nemesis_active;
        Ok(sim)
    }

    /// The lookahead: how long a window may be (see the module doc).
    pub fn lookahead(&self) -> Time {
        self.lookahead
    }

    /// Replace the lookahead. Only for testing the simulator's own causality guard: a
    /// longer one than the scenario allows makes runs fail with "simulator causality".
    pub fn with_lookahead(mut self, lookahead: Time) -> Self {
        self.lookahead = lookahead.max(1);
        self
    }

    /// Record every message for the picture (bounded to `limit` entries).
    pub fn with_recorder(mut self, limit: usize) -> Self {
        self.recorder = Some(Recorder {
            flights: Vec::new(),
            limit: limit.max(16),
            dropped: 0,
        });
        self
    }

    fn push_ctrl(&mut self, time: Time, item: Ctrl) {
        push_ctrl(
            &mut self.seq,
            &mut self.ctrl,
            &mut self.client_ctrl,
            time,
            item,
        );
    }

    /// The earliest control event of either queue (by time, then as queued): its time,
    /// and whether it is a client's.
    fn peek_ctrl(&self) -> Option<(Time, bool)> {
        match (self.ctrl.peek(), self.client_ctrl.peek()) {
            (Some(a), Some(b)) if (b.time, b.seq) < (a.time, a.seq) => Some((b.time, true)),
            (Some(a), _) => Some((a.time, false)),
            (None, Some(b)) => Some((b.time, true)),
            (None, None) => None,
        }
    }

    fn pop_ctrl(&mut self) -> Option<Pending<Ctrl>> {
        match self.peek_ctrl()? {
            (_, true) => self.client_ctrl.pop(),
            (_, false) => self.ctrl.pop(),
        }
    }

    fn push_input(&mut self, time: Time, to: NodeId, input: Input<P>) {
        self.seq += 1;
        let seq = self.seq;
        self.push_input_seq(time, to, input, seq);
    }

    /// [`Sim::push_input`] with its sequence number already drawn.
    fn push_input_seq(&mut self, time: Time, to: NodeId, input: Input<P>, seq: u64) {
        // Client events may be handled after a window that spans them (see the module
        // doc); what they send must not land inside that window.
        if self.in_client_event && time < self.window_end && self.violation.is_none() {
            self.found(
                time,
                Violation::new(
                    "simulator causality",
                    format!(
                        "a client's request reaches node {to} at {time} us, inside a window \
                         (ending at {} us) that has already run: the simulator's lookahead is wrong",
                        self.window_end
                    ),
                ),
            );
        }
        let slot = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some((to, input));
                i
            }
            None => {
                self.slab.push(Some((to, input)));
                (self.slab.len() - 1) as u32
            }
        };
        self.inputs.push(Pending {
            time,
            seq,
            item: slot,
        });
    }

    fn note(&mut self, what: String) {
        self.log.push(LogLine {
            time: self.now,
            what,
        });
    }

    pub fn now(&self) -> Time {
        self.now
    }

    /// Each side's operations so far: the workload's, by the side of a partition its
    /// client's home node stood on when it invoked them (see [`crate::sides`]).
    pub fn sides(&self) -> crate::sides::SidesReport {
        let members = self.scenario.nodes.initial_members();
        let window = self.scenario.metrics_window_ms * MS;
        crate::sides::tally_windows(&self.history, &self.parts, window, |p| {
            let w = self.scenario.workload.as_ref()?;
            (p < u64::from(w.clients) && !members.is_empty())
                .then(|| workload::home_of(w, &members, p as u32))
        })
    }

    /// A lock service's timeline so far: `None` unless clients that are nodes took
    /// locks or a storage node reported writes.
    pub fn lock_report(&self) -> Option<crate::locks::LockReport> {
        // Decided by the protocol's constant, so that an engine module of a protocol
        // whose nodes take no locks links none of the analysis (about 8 kB each).
        if !P::NODE_CLIENTS.serves_clients() {
            return None;
        }
        let locks = self.history.data_type.as_deref() == Some("lock");
        (locks || !self.storage_writes.is_empty()).then(|| {
            crate::locks::analyse(
                &self.scenario,
                &self.history,
                &self.storage_writes,
                &self.applied,
                self.now,
            )
        })
    }
    pub fn end(&self) -> Time {
        self.end
    }
    pub fn events(&self) -> u64 {
        self.events
    }
    pub fn trace_hash(&self) -> u64 {
        use std::hash::Hasher;
        self.hash.finish()
    }
    pub fn violation(&self) -> Option<&Found> {
        self.violation.as_ref()
    }

    /// For a coordinator, whose nodes run elsewhere and so cannot be checked here (an
    /// invariant is about every node's state at once): `found` is the violation a
    /// replica of this run holding every node's state met (the page's own run, or
    /// [`crate::remote::run_remote_here`]'s). The run stops after the same event, with
    /// the same report, as the replica did. False when this run is already past it
    /// (then it cannot be the same run).
    pub fn stop_at(&mut self, found: &Found) -> bool {
        if self.violation.is_some() || self.events > found.event {
            return self.violation.as_ref() == Some(found);
        }
        self.stop = Some(found.clone());
        true
    }

    /// Stop here if this is where [`Sim::stop_at`] said to.
    fn stop_due(&mut self) -> bool {
        stop_due(
            &mut self.stop,
            &mut self.violation,
            &mut self.log,
            &mut self.now,
            self.events,
        )
    }
    pub fn status(&self) -> &[Status] {
        &self.status
    }
    pub fn views(&self) -> Vec<Option<NodeView>> {
        self.views_window(LogWindow::ALL)
    }
    /// [`Sim::views`] with only the log entries `window` keeps (the page draws a few
    /// columns of long logs).
    pub fn views_window(&self, window: LogWindow) -> Vec<Option<NodeView>> {
        self.states
            .iter()
            .map(|s| s.as_ref().map(|p| p.view_window(window)))
            .collect()
    }
    /// What node `i`'s disk holds, as the node would show it if it booted from it now
    /// (`None`: nothing written yet, or no such node). Volatile state (role, commit
    /// index in most protocols) is what a fresh boot has. Pure: the run is untouched.
    pub fn disk_view(&self, i: NodeId) -> Option<NodeView> {
        let disk = self.disks.get(i as usize)?.as_ref()?;
        let members = self.scenario.nodes.initial_members();
        Some(P::boot(i, &members, &self.params, Some(disk)).view())
    }
    pub fn clock_offsets(&self) -> Vec<i64> {
        self.hosts
            .iter()
            .map(|h| h.clock.offset(self.now))
            .collect()
    }

    /// True when the run is over: past its end, or stopped by a violation.
    pub fn done(&self) -> bool {
        self.violation.is_some() || self.next_time().is_none_or(|t| t > self.end)
    }

    fn next_node_time(&self) -> Option<Time> {
        let ti = self.inputs.peek().map(|p| p.time);
        let tt = self
            .hosts
            .iter()
            .zip(&self.status)
            .filter(|(_, s)| **s == Status::Up)
            .filter_map(|(h, _)| h.next_timer())
            .min();
        match (ti, tt) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time of the next control event or node input, if any.
    pub fn next_time(&self) -> Option<Time> {
        let tc = self.peek_ctrl().map(|p| p.0);
        match (tc, self.next_node_time()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// What comes next: a control event (handled before returning), a window, or the end.
    fn next_step(&mut self) -> Next {
        if self.stop_due() {
            self.expect_end();
            return Next::Done;
        }
        let tc = self.peek_ctrl().map(|p| p.0);
        let tn = self.next_node_time();
        let t = match (tc, tn) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => {
                self.expect_end();
                return Next::Done;
            }
        };
        self.settle(t.min(self.end));
        self.observe(t.min(self.end));
        if t > self.end {
            self.expect_end();
            return Next::Done;
        }
        if tc.is_some_and(|c| tn.is_none_or(|n| c <= n)) {
            let Some(p) = self.pop_ctrl() else {
                return Next::Done;
            };
            self.now = p.time;
            self.control(p.item);
            Next::Control
        } else {
            let mut wend = t + self.lookahead;
            if let Some(c) = self.ctrl.peek() {
                wend = wend.min(c.time);
            }
            if let Some(c) = self.client_ctrl.peek() {
                wend = wend.min(c.time + self.net.client_latency);
            }
            Next::Window(t, wend.min(self.end + 1))
        }
    }

    /// Handle the next control event or window. Returns false when the run is over.
    pub fn step(&mut self) -> bool {
        match self.next_step() {
            Next::Done => false,
            Next::Control => true,
            Next::Window(start, end) => {
                self.window(start, end);
                true
            }
        }
    }

    /// Nodes that crashed since the last call.
    pub fn take_crashed(&mut self) -> Vec<NodeId> {
        std::mem::take(&mut self.crashed)
    }

    /// The protocol parameters of this run.
    pub fn params(&self) -> &P::Params {
        &self.params
    }

    /// Run until simulated time `t` (events at `t` included) or the end.
    pub fn run_until(&mut self, t: Time) {
        while self.next_time().is_some_and(|x| x <= t) && self.step() {}
        self.now = self.now.max(t.min(self.end));
    }

    /// Run to the end of the scenario (or the first violation).
    pub fn run(&mut self) {
        while self.step() {}
        if self.violation.is_none() {
            self.now = self.end;
            self.settle(self.end);
        }
    }

    /// Take the convergence check's settle-point views once the next step is at `t`
    /// (everything before `t` has happened). Reads node state only: the trace does not
    /// change.
    fn settle(&mut self, t: Time) {
        if self.settled.is_none() && self.settle_at > 0 && t >= self.settle_at {
            let views = self.views();
            self.leader_seen |= views.iter().flatten().any(|v| v.is_leader_kind());
            self.settled = Some(views);
        }
    }

    /// Show the expectations the state after the last step; the next step is at `t`.
    /// Reads the hosts' flags only: the trace does not change.
    fn observe(&mut self, t: Time) {
        if self.expect.is_some() {
            let nodes = self.probe_nodes();
            let (now, status) = (self.now, &self.status);
            if let Some(x) = self.expect.as_mut() {
                x.observe(
                    now,
                    t,
                    &Probe {
                        status,
                        nodes: &nodes,
                    },
                );
            }
        }
    }

    /// The moments the timeline marks, in time order, up to now: elections, snapshots
    /// and membership changes seen as they happened, stalls read from the history
    /// (patience: [`Protocol::patience`]), the violation and the decided expectations.
    pub fn marks(&self) -> Vec<Mark> {
        marks::assemble(
            &self.marks,
            &self.history,
            P::patience(&self.params),
            self.now,
            self.violation.as_ref(),
            &self.expectations(),
        )
    }

    /// Every node as its host last saw it.
    fn probe_nodes(&self) -> Vec<NodeProbe> {
        self.hosts
            .iter()
            .map(|h| NodeProbe {
                leader: h.leader,
                epoch: h.epoch,
                log_len: h.log_len,
                suspects: h.suspects,
            })
            .collect()
    }

    /// The run is over (its end, or a violation): decide what its course decides.
    fn expect_end(&mut self) {
        if self.expect_done {
            return;
        }
        self.expect_done = true;
        let complete = self.violation.is_none();
        if complete {
            self.observe(Time::MAX);
        }
        let end = if complete { self.end } else { self.now };
        if let Some(x) = self.expect.as_mut() {
            x.finish(end, complete);
        }
    }

    /// Where each expectation stands now. A run that is over but was driven only up
    /// to its end time (the page's `run_until`) has not told the expectations yet: they
    /// are finished on a copy.
    pub fn expectations(&self) -> Vec<ExpectOutcome> {
        let Some(x) = self.expect.as_ref() else {
            return Vec::new();
        };
        if self.expect_done || !self.done() {
            return x.outcomes().to_vec();
        }
        let mut x = (**x).clone();
        let complete = self.violation.is_none();
        if complete {
            let nodes = self.probe_nodes();
            x.observe(
                self.now,
                Time::MAX,
                &Probe {
                    status: &self.status,
                    nodes: &nodes,
                },
            );
        }
        x.finish(if complete { self.end } else { self.now }, complete);
        x.outcomes().to_vec()
    }

    /// After a window: note whether a node leads (for the convergence check).
    fn note_leader(&mut self) {
        if self.settled.is_some() && !self.leader_seen {
            self.leader_seen = self
                .hosts
                .iter()
                .zip(&self.status)
                .any(|(h, s)| *s == Status::Up && h.leader);
        }
    }

    /// Schedule a user action now (from the page's console or editor).
    pub fn inject(&mut self, kind: FaultKind) {
        let now = self.now;
        self.push_ctrl(now, Ctrl::Fault(kind));
    }

    // ---- windows -------------------------------------------------------------------

    /// Move the inputs due before `end` into per-node batches; the nodes with work in
    /// the window, in id order.
    fn gather(&mut self, start: Time, end: Time) {
        while let Some(p) = self.inputs.peek() {
            if p.time >= end {
                break;
            }
            let Some(Pending {
                time,
                seq,
                item: slot,
            }) = self.inputs.pop()
            else {
                break;
            };
            let Some((to, input)) = self.slab.get_mut(slot as usize).and_then(Option::take) else {
                continue;
            };
            self.free.push(slot);
            let input = match input {
                Input::Client(req) if self.capacity.is_some() => {
                    match self.queue_client(time, seq, to, req) {
                        Some(req) => Input::Client(req),
                        None => continue,
                    }
                }
                input => input,
            };
            match self.status[to as usize] {
                Status::Up => self.batches[to as usize].push((time, input)),
                Status::Paused => self.deferred[to as usize].push((time, input, seq)),
                // A crashed node hears nothing: a message to it is dropped, counted and
                // traced as such.
                Status::Crashed | Status::Spare => {
                    if let Input::Msg { from, .. } = input {
                        self.metrics.dropped(time);
                        if let Some(r) = &mut self.recorder {
                            r.arrived_at_crashed(from, to, time);
                        }
                    }
                }
            }
        }
        self.now = start;
        self.window_end = end;
        self.work.clear();
        for i in 0..self.n {
            if self.status[i] == Status::Up
                && (!self.batches[i].is_empty()
                    || self.hosts[i].next_timer().is_some_and(|t| t < end))
            {
                self.work.push(i as NodeId);
            }
        }
    }

    /// A client request `seq` reaching node `to` at `time` with a capacity set: the
    /// node's queue admits it (it comes back when its service ends: `None` now) or
    /// turns it away (`None`: its client hears so), and one whose service has ended
    /// goes to the protocol (`Some`). A paused node keeps what reaches it (it queues
    /// again when the node resumes); a crashed one hears nothing.
    fn queue_client(
        &mut self,
        time: Time,
        seq: u64,
        to: NodeId,
        req: ClientRequest,
    ) -> Option<ClientRequest> {
        let cap = self.capacity.as_mut()?;
        let status = self.status[to as usize];
        if status == Status::Paused {
            return Some(req);
        }
        let ticket = cap.take(seq);
        if status != Status::Up {
            return Some(req);
        }
        let Some(ticket) = ticket else {
            return Some(req);
        };
        let q = &mut cap.queues[to as usize];
        if ticket.admitted && ticket.incarnation != q.incarnation {
            // Admitted before the node crashed: gone with what it held.
            return None;
        }
        if ticket.admitted {
            // Served: the protocol has it now. Wasted when its client no longer waits
            // for the operation (it gave up, or another attempt was answered).
            q.served += 1;
            let service = q.service();
            self.metrics.served(time);
            let cl = self.clients.get_mut(req.client as usize);
            let cur = cl.and_then(|c| c.current.as_mut().filter(|x| x.seq == req.seq));
            match cur {
                Some(cur) => {
                    // It reached the protocol only now (for who accepted a write).
                    if let Some(a) = cur
                        .arrivals
                        .iter_mut()
                        .find(|a| **a == (to, ticket.arrived))
                    {
                        a.1 = time;
                    }
                }
                None => {
                    q.wasted += 1;
                    self.metrics.wasted(time, service);
                }
            }
            return Some(req);
        }
        match q.admit(time) {
            Some(end) => {
                let held = q.held(time);
                self.metrics.queue(time, held as u64);
                self.hash.add(17);
                self.hash.add(end);
                self.seq += 1;
                let new = self.seq;
                cap.requeue(ticket, new, Some(to as usize));
                self.push_input_seq(end, to, Input::Client(req), new);
            }
            None => {
                self.hash.add(18);
                let home = self.clients.get(req.client as usize).map(|c| c.home);
                if let Some(back) = home.and_then(|h| self.net.route_to_client(to, h, time)) {
                    self.push_ctrl(
                        back,
                        Ctrl::ClientRejected(req.client, req.seq, ticket.attempt, to, true),
                    );
                }
            }
        }
        None
    }

    /// Run a window here, node after node, checking invariants after every event.
    fn window(&mut self, start: Time, end: Time) {
        self.gather(start, end);
        let mut meta = std::mem::take(&mut self.meta);
        let work = std::mem::take(&mut self.work);
        for &i in &work {
            let i = i as usize;
            self.effects.clear();
            self.records.clear();
            let mut batch = std::mem::take(&mut self.batches[i]);
            meta.clear();
            meta.extend(batch.iter().map(|(_, x)| InputMeta::of(x)));
            let check_on = self.check_invariants;
            let monitor = &mut self.monitor;
            let mut check =
                |states: &[Option<P>], changed: NodeId, now: Time| -> Result<(), Violation> {
                    if check_on {
                        P::check(monitor, changed, states, now)
                    } else {
                        Ok(())
                    }
                };
            let res = self.hosts[i].run_window(
                &mut self.states,
                i,
                &self.params,
                &mut batch,
                end,
                &mut self.effects,
                &mut self.records,
                &mut check,
            );
            self.batches[i] = batch;
            let records = std::mem::take(&mut self.records);
            let mut effects = std::mem::take(&mut self.effects);
            self.account_all(i as NodeId, &records, &mut effects, &meta);
            self.effects = effects;
            self.records = records;
            if let Err((time, v)) = res {
                self.found(time, v);
                break;
            }
        }
        self.work = work;
        self.meta = meta;
        self.note_leader();
    }

    /// For running nodes elsewhere (Web Workers): start the next step. A control event
    /// is handled at once (`Ok(None)`); a window comes back as one job per node with
    /// work, to be run anywhere and handed back, in any order, to [`Sim::finish_window`].
    /// `Err(())` when the run is over.
    #[allow(clippy::result_unit_err)]
    pub fn begin_step(&mut self) -> Result<Option<Jobs<P>>, ()> {
        match self.next_step() {
            Next::Done => Err(()),
            Next::Control => Ok(None),
            Next::Window(start, end) => {
                self.gather(start, end);
                let jobs = std::mem::take(&mut self.work)
                    .into_iter()
                    .map(|i| {
                        let inputs = std::mem::take(&mut self.batches[i as usize]);
                        (
                            i,
                            Job {
                                host: self.hosts[i as usize].clone(),
                                inputs,
                                end,
                            },
                        )
                    })
                    .collect();
                Ok(Some(jobs))
            }
        }
    }

    /// Apply the results of a window's jobs (see [`Sim::begin_step`]), in node order.
    pub fn finish_window(&mut self, mut results: Vec<(NodeId, JobResult<P>)>) {
        // In node order. At most one result per node, so a few: an insertion sort (the
        // standard library's sort, once for every protocol, costs the page kilobytes).
        for i in 1..results.len() {
            let mut j = i;
            while j > 0 && results[j].0 < results[j - 1].0 {
                results.swap(j, j - 1);
                j -= 1;
            }
        }
        for (i, r) in results {
            let JobResult {
                host,
                records,
                mut effects,
                inputs,
                violation,
            } = r;
            self.hosts[i as usize] = host;
            // A violation the replica met in this window: the events after it never
            // happened.
            let upto = match &self.stop {
                Some(f) => records
                    .len()
                    .min(f.event.saturating_sub(self.events) as usize),
                None => records.len(),
            };
            self.account_all(i, &records[..upto], &mut effects, &inputs);
            if let Some((time, v)) = violation {
                self.found(time, v);
                return;
            }
            if self.stop_due() {
                return;
            }
        }
        self.note_leader();
    }

    fn account_all(
        &mut self,
        node: NodeId,
        records: &[Record],
        effects: &mut Vec<Effect<P>>,
        meta: &[InputMeta],
    ) {
        let mut effs = effects.drain(..);
        for rec in records {
            self.account(node, rec, meta, &mut effs);
        }
        drop(effs);
        if let Some(last) = records.last() {
            let h = &self.hosts[node as usize];
            self.marks.leader(last.time, node, h.leader, h.epoch);
        }
    }

    /// Fold one handled event into the hash and apply its effects.
    fn account(
        &mut self,
        node: NodeId,
        rec: &Record,
        meta: &[InputMeta],
        effs: &mut dyn Iterator<Item = Effect<P>>,
    ) {
        self.events += 1;
        hash_record(&mut self.hash, &mut self.metrics, node, rec, meta);
        match &rec.admin {
            Some(Ok(())) => self.admin_accepted(node, rec.time),
            Some(Err(e)) if !self.refusals.contains(e) && self.refusals.len() < 4 => {
                self.refusals.push(e.clone());
            }
            _ => {}
        }
        let (a, b) = rec.effects;
        for _ in a..b {
            let Some(e) = effs.next() else { break };
            self.apply_effect(node, rec.time, e);
        }
    }

    fn apply_effect(&mut self, node: NodeId, now: Time, e: Effect<P>) {
        match e {
            Effect::Send { to, msg } => {
                if msg.kind() == "snapshot" {
                    self.marks.snapshot(now, node, to);
                }
                // The label only when recording (describing allocates).
                let label = self.recorder.as_ref().map(|_| label_of(&msg));
                let fate = route_send(
                    &mut self.hash,
                    &mut self.metrics,
                    self.expect.as_deref_mut(),
                    &mut self.net,
                    self.recorder.as_mut(),
                    (self.n, self.lookahead),
                    (node, to, now),
                    (msg.kind(), StableHasher::of(&msg), label),
                );
                if let Some(Fate::Arrives(t, dup)) = fate {
                    if let Some(d) = dup {
                        let msg = msg.clone();
                        self.push_input(d, to, Input::Msg { from: node, msg });
                    }
                    self.push_input(t, to, Input::Msg { from: node, msg });
                }
            }
            Effect::SetTimer { timer, after } => {
                self.hash.add(11);
                self.hash.add(timer as u64);
                self.hash.add(after);
            }
            Effect::CancelTimer { timer } => {
                self.hash.add(12);
                self.hash.add(timer as u64);
            }
            Effect::Persist(w) => {
                self.hash.add(13);
                P::apply_write(
                    self.disks[node as usize].get_or_insert_with(Default::default),
                    w,
                );
            }
            Effect::Reply(r) => {
                self.hash.add(14);
                self.hash.add(StableHasher::of(&r));
                let Some(c) = self.clients.get(r.client as usize) else {
                    return;
                };
                // A write acknowledged: the node that accepted it was serving writes.
                if let (Outcome::Ok { .. }, Some(cur)) =
                    (&r.outcome, c.current.as_ref().filter(|x| x.seq == r.seq))
                {
                    if !cur.op.is_read() && !P::LEADERLESS {
                        // Accepted at the request's first arrival at this node in the
                        // node's current epoch (a retry the node answers from its
                        // session table was accepted when it first came), but not
                        // before the node led (a request queued while it was still
                        // winning its ballot waited); else at its last arrival anywhere
                        // (a chain's head took it, the tail answers).
                        let h = &self.hosts[node as usize];
                        let (since, led) = (h.epoch_since, h.leader.then_some(h.leader_since));
                        let (at, arrived) = cur
                            .arrivals
                            .iter()
                            .find(|(n, t)| *n == node && (since..=now).contains(t))
                            .map(|&(n, t)| (n, led.map_or(t, |l| t.max(l.min(now)))))
                            .or(cur.arrivals.last().copied())
                            .unwrap_or((node, now));
                        let host = &self.hosts[at as usize];
                        let epoch = r.at.and_then(|p| p.term).unwrap_or(host.epoch);
                        // Acknowledged in an epoch that is not the node's own: a replay
                        // of an earlier acceptance (an older term's entry committed
                        // under a newer one), not this node taking writes now.
                        if epoch == host.epoch {
                            self.serving.acked(at, epoch, arrived);
                        }
                    }
                }
                if let Some(t) = self.net.route_to_client(node, c.home, now) {
                    self.push_ctrl(t, Ctrl::ClientReply(node, r));
                }
            }
            Effect::Report(r) => {
                self.hash.add(15);
                self.hash.add(StableHasher::of(&r));
                match r {
                    Report::Op { op, outcome } => {
                        self.node_clients
                            .report(&mut self.history, node, op, outcome, now)
                    }
                    Report::StorageWrite {
                        from,
                        token,
                        accepted,
                        corrupted,
                    } => self.storage_writes.push(crate::locks::StorageWrite {
                        at: now,
                        from,
                        token,
                        accepted,
                        corrupted,
                    }),
                }
            }
        }
    }

    fn found(&mut self, time: Time, v: Violation) {
        found(
            &mut self.violation,
            &mut self.log,
            &mut self.now,
            self.events,
            time,
            v,
        );
    }

    // ---- control events ------------------------------------------------------------

    fn control(&mut self, c: Ctrl) {
        self.hash.add(0xC0);
        self.in_client_event = c.is_client();
        self.control_inner(c);
        self.in_client_event = false;
    }

    fn control_inner(&mut self, c: Ctrl) {
        match c {
            Ctrl::Boot(i) => self.boot(i, true),
            Ctrl::Fault(kind) => self.fault(kind),
            Ctrl::ClientWake(c) => self.with_clients(|x| x.client_wake(c)),
            Ctrl::ClientSend(c, seq) => self.with_clients(|x| x.client_send(c, seq)),
            Ctrl::ClientTimeout(c, seq, attempt) => {
                self.with_clients(|x| x.client_timeout(c, seq, attempt))
            }
            Ctrl::ClientReply(node, r) => self.with_clients(|x| x.client_reply(node, r)),
            Ctrl::ClientRejected(c, seq, attempt, node, full) => {
                self.with_clients(|x| x.client_rejected(c, seq, attempt, node, full))
            }
            Ctrl::Resume(i) => {
                if self.status[i as usize] == Status::Paused
                    && self.hosts[i as usize].paused_until <= self.now
                {
                    self.status[i as usize] = Status::Up;
                    self.hosts[i as usize].resume(self.now);
                    let now = self.now;
                    for (_, input, old) in std::mem::take(&mut self.deferred[i as usize]) {
                        self.seq += 1;
                        let new = self.seq;
                        if let Some(c) = self.capacity.as_mut() {
                            c.resumed(old, new);
                        }
                        self.push_input_seq(now, i, input, new);
                    }
                    self.note(format!("node {i} resumes after its pause"));
                }
            }
            Ctrl::Nemesis => self.nemesis(),
            Ctrl::NemesisUndo(u) => self.nemesis_undo(u),
            Ctrl::NemesisStop => self.nemesis_stop(),
            Ctrl::Member(change, tries) => self.member(change, tries),
        }
    }

    fn boot(&mut self, i: NodeId, disk: bool) {
        let iu = i as usize;
        let members = if self.status[iu] == Status::Spare {
            Vec::new()
        } else {
            self.scenario.nodes.initial_members()
        };
        let d = if disk {
            self.disks[iu].clone().map(Box::new)
        } else {
            None
        };
        if !disk {
            self.disks[iu] = None;
        }
        self.status[iu] = Status::Up;
        self.deferred[iu].clear();
        self.hosts[iu].reboot(self.seed);
        let now = self.now;
        self.push_input(now, i, Input::Boot { members, disk: d });
    }

    fn crash(&mut self, i: NodeId) {
        let iu = i as usize;
        if matches!(self.status[iu], Status::Up | Status::Paused) {
            self.status[iu] = Status::Crashed;
            self.deferred[iu].clear();
            if let Some(c) = self.capacity.as_mut() {
                c.queues[iu].clear();
            }
            self.states[iu] = None;
            self.hosts[iu].crash();
            self.marks.down(i);
            self.crashed.push(i);
            self.crash_order.retain(|&x| x != i);
            self.crash_order.push(i);
            self.node_clients.crashed(&mut self.history, i, self.now);
        }
    }

    /// Resolve the roles a fault names into nodes (noting each in the log and the
    /// trace), or `None` when a role has no node now (the fault is skipped, and the log
    /// says so).
    fn resolve(&mut self, kind: FaultKind) -> Option<FaultKind> {
        let probe = self.probe_nodes();
        let mut notes = Vec::new();
        let kind = resolve_roles(
            kind,
            &Aim {
                status: &self.status,
                probe: &probe,
                crash_order: &self.crash_order,
            },
            &mut self.aim_rng,
            &mut notes,
        );
        for (what, node) in notes {
            self.note(what);
            if let Some(i) = node {
                self.hash.add(i as u64);
            }
        }
        kind
    }

    fn fault(&mut self, kind: FaultKind) {
        self.apply_fault(kind);
        // Only faults change the network's cuts: its parts are current after each.
        self.parts.record(self.now, &self.net.blocked_pairs());
    }

    fn apply_fault(&mut self, kind: FaultKind) {
        self.hash.add(StableHasher::of(kind.name()));
        let Some(kind) = self.resolve(kind) else {
            return;
        };
        let id = |r: NodeRef| r.id().unwrap_or(NodeId::MAX);
        if !matches!(kind, FaultKind::Client { .. }) {
            self.last_disturbance = self.now;
            self.applied.push((self.now, kind.clone()));
        }
        let now = self.now;
        match kind {
            FaultKind::Crash { node } => {
                let node = id(node);
                if self.status[node as usize] == Status::Up
                    || self.status[node as usize] == Status::Paused
                {
                    self.note(format!("node {node} crashes"));
                    self.crash(node);
                }
            }
            FaultKind::Restart { node, disk } => {
                let node = id(node);
                if self.status[node as usize] == Status::Crashed {
                    self.note(format!(
                        "node {node} restarts {}",
                        if disk {
                            "from its disk"
                        } else {
                            "with a blank disk"
                        }
                    ));
                    self.boot(node, disk);
                }
            }
            FaultKind::Pause { node, duration_ms } => {
                let node = id(node);
                if self.status[node as usize] == Status::Up {
                    let until = now + duration_ms * MS;
                    self.status[node as usize] = Status::Paused;
                    let h = &mut self.hosts[node as usize];
                    h.paused_until = h.paused_until.max(until);
                    self.push_ctrl(until, Ctrl::Resume(node));
                    self.note(format!("node {node} pauses for {duration_ms} ms"));
                }
            }
            FaultKind::Clock {
                node,
                skew_ms,
                drift_ppm,
            } => {
                let node = id(node);
                self.hosts[node as usize]
                    .clock
                    .adjust(now, skew_ms * MS as i64, drift_ppm);
                self.note(format!(
                    "node {node}'s clock jumps {skew_ms:+} ms and drifts {drift_ppm:+} ppm"
                ));
            }
            FaultKind::Partition { .. }
            | FaultKind::Isolate { .. }
            | FaultKind::Reconnect { .. }
            | FaultKind::Cut { .. }
            | FaultKind::Heal
            | FaultKind::Degrade { .. }
            | FaultKind::Restore { .. } => {
                if let Some(line) = net_fault(&mut self.net, kind) {
                    self.note(line);
                }
            }
            FaultKind::AddNode { node } => {
                let iu = node as usize;
                if self.status[iu] == Status::Crashed {
                    // A crashed node restarts as a `restart` does (from its disk, knowing
                    // the members): booting it as a blank spare would be amnesia (a node
                    // forgetting its votes and promises), which no protocol survives.
                    self.note(format!(
                        "node {node} restarts from its disk and asks to join"
                    ));
                    self.boot(node, true);
                } else if self.status[iu] == Status::Spare {
                    self.note(format!("node {node} starts and asks to join"));
                    self.status[iu] = Status::Spare;
                    self.boot(node, false);
                }
                self.member(MembershipChange::Add { node }, 0);
            }
            FaultKind::RemoveNode { node } => self.member(MembershipChange::Remove { node }, 0),
            FaultKind::Promote { node } => {
                self.note(format!("an operator asks to promote node {node}"));
                self.member(MembershipChange::Promote { node }, 0)
            }
            FaultKind::Client { node, op } => self.with_clients(|x| x.console(node, op)),
        }
    }

    /// Ask every running node for a membership change (only a leader takes it); ask
    /// again every 100 ms until one takes it, at most 100 times.
    fn member(&mut self, change: MembershipChange, tries: u32) {
        let idx = match self.admin.iter().position(|(c, _)| *c == change) {
            Some(i) => i,
            None => {
                self.admin.push((change.clone(), false));
                self.admin.len() - 1
            }
        };
        if self.admin[idx].1 {
            return;
        }
        // A promotion is an operator's request of the moment: asked for half a second.
        let limit = if matches!(change, MembershipChange::Promote { .. }) {
            5
        } else {
            100
        };
        if tries >= limit {
            self.note(admin_note(&change, None, &self.refusals));
            return;
        }
        if tries == 0 {
            self.refusals.clear();
        }
        let now = self.now;
        for i in 0..self.n {
            if self.status[i] == Status::Up {
                self.push_input(now, i as NodeId, Input::Admin(change.clone()));
            }
        }
        self.push_ctrl(now + 100 * MS, Ctrl::Member(change, tries + 1));
    }

    /// Node `node` took the oldest pending membership change it was asked.
    fn admin_accepted(&mut self, node: NodeId, at: Time) {
        if let Some(a) = self.admin.iter_mut().find(|a| !a.1) {
            a.1 = true;
            let line = admin_note(&a.0, Some(node), &[]);
            self.marks.membership(at, node, line.clone());
            self.note(line);
        }
    }

    // ---- clients ----------------------------------------------------------------
    // The clients' logic is in `Cx` below: it needs none of the protocol's types, so it
    // is compiled once rather than once per protocol (each copy cost the page's bundle).

    /// The clients' view of the run, for one client event.
    fn clients_cx(&mut self) -> Cx<'_> {
        Cx {
            scenario: &self.scenario,
            n: self.n,
            now: self.now,
            seq: &mut self.seq,
            ctrl: &mut self.ctrl,
            client_ctrl: &mut self.client_ctrl,
            clients: &mut self.clients,
            opgen: &mut self.opgen,
            client_rng: &mut self.client_rng,
            client_stop: self.client_stop,
            history: &mut self.history,
            metrics: &mut self.metrics,
            hash: &mut self.hash,
            net: &mut self.net,
            expect: &mut self.expect,
            log: &mut self.log,
            guard: &mut self.guard,
            buckets: &mut self.buckets,
            capacity: &mut self.capacity,
            out: &mut self.client_out,
            data_type: self.data_type,
            protocol: P::NAME,
        }
    }

    /// Run a client event, then hand the requests it sent to their nodes (with the
    /// sequence numbers they were given when sent, so ties break as before).
    fn with_clients(&mut self, f: impl FnOnce(&mut Cx<'_>)) {
        f(&mut self.clients_cx());
        let out = std::mem::take(&mut self.client_out);
        for (t, to, req, seq) in out {
            self.push_input_seq(t, to, Input::Client(req), seq);
        }
    }

    // ---- nemesis -------------------------------------------------------------------

    fn nemesis(&mut self) {
        if !self.nemesis_active {
            return;
        }
        let Some(nm) = self.scenario.nemesis.clone() else {
            return;
        };
        let interval = nm.interval_ms * MS;
        let next = self.now + interval / 2 + self.nemesis_rng.below(interval + 1);
        if nm.iterations.is_some_and(|k| self.nemesis_count >= k) {
            return;
        }
        self.nemesis_count += 1;
        let leader = self
            .hosts
            .iter()
            .position(|h| h.leader)
            .map(|i| i as NodeId);
        let plan = plan_nemesis(
            &nm,
            &mut self.nemesis_rng,
            &self.status,
            leader,
            &mut self.net,
        );
        if plan.acted {
            self.last_disturbance = self.now;
        }
        for what in plan.notes {
            self.note(what);
        }
        if let Some(node) = plan.crash {
            self.crash(node);
        }
        if let Some(f) = plan.fault {
            self.fault(f);
        }
        if let Some((after, u)) = plan.undo {
            self.push_ctrl(self.now + after, Ctrl::NemesisUndo(u));
        }
        // The plan may have cut links itself.
        self.parts.record(self.now, &self.net.blocked_pairs());
        self.push_ctrl(next, Ctrl::Nemesis);
    }

    fn nemesis_undo(&mut self, u: Undo) {
        if !self.nemesis_active {
            return;
        }
        self.last_disturbance = self.now;
        match u {
            Undo::Restart(i, disk) => {
                if self.status[i as usize] == Status::Crashed {
                    self.note(format!(
                        "nemesis: node {i} restarts{}",
                        if disk { "" } else { " with a blank disk" }
                    ));
                    self.boot(i, disk);
                }
            }
            Undo::Heal => self.net.heal(),
            Undo::Network => self.net.set_all(None, None, None),
        }
        self.parts.record(self.now, &self.net.blocked_pairs());
    }

    fn nemesis_stop(&mut self) {
        if !self.nemesis_active {
            return;
        }
        self.nemesis_active = false;
        self.last_disturbance = self.now;
        self.note(
            "nemesis stops: network healed, crashed nodes restart, clocks stop drifting".into(),
        );
        self.net.heal();
        self.net.set_all(None, None, None);
        self.parts.record(self.now, &self.net.blocked_pairs());
        for i in 0..self.n {
            match self.status[i] {
                Status::Crashed => self.boot(i as NodeId, true),
                Status::Paused => {
                    self.hosts[i].paused_until = 0;
                    self.control(Ctrl::Resume(i as NodeId));
                }
                _ => {}
            }
            if self.hosts[i].clock.ppm != 0 {
                let now = self.now;
                self.hosts[i].clock.adjust(now, 0, 0);
            }
        }
    }

    /// The convergence check at the end of a run: `None` when it does not apply (the
    /// last disturbance is too recent, or the network is still broken). The rule is the
    /// protocol's (its catalogue line's `converged`): it compares the views at the settle
    /// point with those at the end, not one instant.
    pub fn convergence(&self) -> Option<Result<(), String>> {
        let after = self.scenario.checks.converge_after_ms * MS;
        if after == 0
            || self.now < self.end
            || self.last_disturbance + after > self.end
            || !self.net.is_healthy()
        {
            return None;
        }
        if self.status.contains(&Status::Paused) {
            return None;
        }
        let Some(rule) = crate::registry::listing::<P>().and_then(|l| l.converged) else {
            return Some(Ok(()));
        };
        let end = self.views();
        let settle = self.settled.as_ref().unwrap_or(&end);
        Some(rule(&crate::converge::Observed {
            settle,
            end: &end,
            leader_seen: self.leader_seen,
            settle_time: self.settle_at,
            end_time: self.end,
        }))
    }

    /// Messages in flight at time `t` (needs the recorder).
    pub fn flights_at(&self, t: Time) -> Vec<Flight> {
        self.recorder
            .as_ref()
            .map(|r| {
                r.flights
                    .iter()
                    .filter(|f| f.sent <= t && t < f.arrives)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Hash of a message kind, for the trace.
pub fn kind_hash<M: Message + Hash>(m: &M) -> u64 {
    StableHasher::of(m.kind())
}

/// What resolving a role looks at: every node's status and host flags, and the order
/// the nodes crashed in.
struct Aim<'a> {
    status: &'a [Status],
    probe: &'a [NodeProbe],
    crash_order: &'a [NodeId],
}

impl Aim<'_> {
    /// The node role `r` names now, leaving out `taken`: the leader (of the highest
    /// epoch), a follower (drawn with `rng`), the running node with the longest or
    /// shortest log (lowest id on a tie), the last crashed node still down. `None`: no
    /// node has the role.
    fn node(&self, r: NodeRef, taken: &[NodeId], rng: &mut Rng) -> Option<NodeId> {
        let up: Vec<NodeId> = (0..self.status.len() as NodeId)
            .filter(|&i| self.status[i as usize] == Status::Up && !taken.contains(&i))
            .collect();
        let h = |i: &NodeId| self.probe[*i as usize];
        match r {
            NodeRef::Id(i) => Some(i),
            NodeRef::Leader => up
                .iter()
                .filter(|i| h(i).leader)
                .max_by_key(|i| (h(i).epoch, std::cmp::Reverse(**i)))
                .copied(),
            NodeRef::Follower => {
                let f: Vec<NodeId> = up.iter().filter(|i| !h(i).leader).copied().collect();
                if f.is_empty() {
                    None
                } else {
                    Some(f[rng.below(f.len() as u64) as usize])
                }
            }
            NodeRef::LongestLog => up
                .iter()
                .max_by_key(|i| (h(i).log_len, std::cmp::Reverse(**i)))
                .copied(),
            NodeRef::ShortestLog => up.iter().min_by_key(|i| (h(i).log_len, **i)).copied(),
            NodeRef::LastCrashed => self
                .crash_order
                .iter()
                .rev()
                .find(|&&i| self.status[i as usize] == Status::Crashed)
                .copied(),
        }
    }
}

/// A fault with every role it names resolved to a node (two roles in one partition
/// name two nodes), or `None` if one has no node now. `notes` gets a log line per role,
/// with the node it resolved to. Not generic: one copy serves every protocol.
fn resolve_roles(
    mut kind: FaultKind,
    aim: &Aim<'_>,
    rng: &mut Rng,
    notes: &mut Vec<(String, Option<NodeId>)>,
) -> Option<FaultKind> {
    let mut taken: Vec<NodeId> = match &kind {
        FaultKind::Partition { groups } => groups.iter().flatten().filter_map(|r| r.id()).collect(),
        _ => Vec::new(),
    };
    let name = kind.name();
    let mut one = |r: &mut NodeRef| -> bool {
        if r.id().is_some() {
            return true;
        }
        match aim.node(*r, &taken, rng) {
            Some(i) => {
                taken.push(i);
                notes.push((format!("{name} aimed at {r}: node {i}"), Some(i)));
                *r = NodeRef::Id(i);
                true
            }
            None => {
                notes.push((
                    format!("{name} aimed at {r} skipped: no node is {r} now"),
                    None,
                ));
                false
            }
        }
    };
    let ok = match &mut kind {
        FaultKind::Crash { node }
        | FaultKind::Restart { node, .. }
        | FaultKind::Pause { node, .. }
        | FaultKind::Clock { node, .. }
        | FaultKind::Isolate { node }
        | FaultKind::Reconnect { node } => one(node),
        FaultKind::Partition { groups } => groups.iter_mut().flatten().all(&mut one),
        _ => true,
    };
    ok.then_some(kind)
}

/// The links (both directions listed) a nemesis partition shape cuts, for nodes in the
/// (shuffled) `order`: `partition_halves` splits it in two halves (the second the larger,
/// a majority when the count is odd); `isolate` / `isolate_leader` cut the first node
/// off; `partition_bridge` puts the first node between two halves that cannot talk to
/// each other; `partition_ring` lays the nodes on a ring where each sees the nodes
/// nearest on either side, enough for a majority, so every node sees a majority and no
/// two see the same one. With `keep_majority`, a shape that would leave no majority
/// connected is not made (empty).
pub fn nemesis_shape(kind: &str, order: &[NodeId], keep_majority: bool) -> Vec<(NodeId, NodeId)> {
    let n = order.len();
    let majority = n / 2 + 1;
    let mut cuts = Vec::new();
    let mut both = |a: NodeId, b: NodeId| {
        cuts.push((a, b));
        cuts.push((b, a));
    };
    match kind {
        "partition_halves" if n >= 2 => {
            let (a, b) = order.split_at(n / 2);
            if keep_majority && b.len() < majority {
                return Vec::new();
            }
            for &x in a {
                for &y in b {
                    both(x, y);
                }
            }
        }
        "isolate" | "isolate_leader" if n >= 2 => {
            for &y in &order[1..] {
                both(order[0], y);
            }
        }
        "partition_bridge" if n >= 3 => {
            let rest = &order[1..];
            let (a, b) = rest.split_at(rest.len() / 2);
            for &x in a {
                for &y in b {
                    both(x, y);
                }
            }
        }
        "partition_ring" if n >= 4 && !keep_majority => {
            // Each node sees itself and `d` nodes on either side: 2d + 1 >= majority.
            let d = (majority - 1).div_ceil(2);
            for i in 0..n {
                for j in i + 1..n {
                    let dist = (j - i).min(n - (j - i));
                    if dist > d {
                        both(order[i], order[j]);
                    }
                }
            }
        }
        _ => {}
    }
    cuts
}

/// What one nemesis action does, decided without the protocol's type (one copy serves
/// every protocol): log lines, a node to crash, a fault to inject, and when and how to
/// undo it. Network changes are made here.
#[derive(Default)]
struct NemesisPlan {
    /// Whether a fault kind was drawn (the last disturbance is now).
    acted: bool,
    notes: Vec<String>,
    crash: Option<NodeId>,
    fault: Option<FaultKind>,
    /// After how long, and what.
    undo: Option<(Time, Undo)>,
}

fn shuffled(rng: &mut Rng, n: usize) -> Vec<NodeId> {
    let mut order: Vec<NodeId> = (0..n as NodeId).collect();
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

/// Draw and make one nemesis action (see [`crate::scenario::NemesisSpec`]); `leader`
/// is the lowest-numbered node that leads, for the faults aimed at leaders.
fn plan_nemesis(
    nm: &crate::scenario::NemesisSpec,
    r: &mut Rng,
    status: &[Status],
    leader: Option<NodeId>,
    net: &mut Network,
) -> NemesisPlan {
    let mut plan = NemesisPlan::default();
    let kinds = &nm.faults;
    if kinds.is_empty() {
        return plan;
    }
    let n_nodes = status.len();
    let majority = n_nodes / 2 + 1;
    let interval = nm.interval_ms * MS;
    let kind = kinds[r.below(kinds.len() as u64) as usize].as_str();
    let hold = interval + r.below(2 * interval + 1);
    let n = n_nodes as u64;
    let pick = r.below(n) as NodeId;
    plan.acted = true;
    match kind {
        "crash" | "restart_blank" | "crash_leader" => {
            let pick = if kind == "crash_leader" {
                leader.unwrap_or(pick)
            } else {
                pick
            };
            let up = status.iter().filter(|s| **s == Status::Up).count();
            if nm.keep_majority && up <= majority {
                plan.notes.push(format!(
                    "nemesis: no crash (keeping a majority up: {up} of {n_nodes} up)"
                ));
            } else if status[pick as usize] == Status::Up {
                plan.notes.push(format!("nemesis: node {pick} crashes"));
                plan.crash = Some(pick);
                plan.undo = Some((hold, Undo::Restart(pick, kind != "restart_blank")));
            }
        }
        "partition" | "partition_leader" => {
            let mut order = shuffled(r, n_nodes);
            let mut cut = 1 + r.below(n.saturating_sub(1).max(1)) as usize;
            if nm.keep_majority {
                cut = cut.min(n_nodes - majority).max(1);
            }
            if let (true, Some(l)) = (kind == "partition_leader", leader) {
                // The leader goes first, on the minority side.
                if let Some(p) = order.iter().position(|x| *x == l) {
                    order.swap(0, p);
                }
                cut = cut.min((n_nodes - 1) / 2).max(1);
            }
            let groups = vec![order[..cut].to_vec(), order[cut..].to_vec()];
            plan.notes.push(format!("nemesis: partition {groups:?}"));
            net.partition(&groups);
            plan.undo = Some((hold, Undo::Heal));
        }
        "partition_halves" | "isolate" | "isolate_leader" | "partition_bridge"
        | "partition_ring" => {
            let mut order = shuffled(r, n_nodes);
            if let (true, Some(l)) = (kind == "isolate_leader", leader) {
                if let Some(p) = order.iter().position(|x| *x == l) {
                    order.swap(0, p);
                }
            }
            let cuts = nemesis_shape(kind, &order, nm.keep_majority);
            if cuts.is_empty() {
                plan.notes
                    .push(format!("nemesis: no {kind} for {n_nodes} nodes"));
            } else {
                plan.notes.push(format!(
                    "nemesis: {kind} of {order:?} ({} links cut)",
                    cuts.len()
                ));
                for (a, b) in cuts {
                    net.cut(a, b);
                }
                plan.undo = Some((hold, Undo::Heal));
            }
        }
        "cut" => {
            let to = r.below(n) as NodeId;
            if to != pick {
                plan.notes.push(format!("nemesis: link {pick} -> {to} cut"));
                net.cut(pick, to);
                plan.undo = Some((hold, Undo::Heal));
            }
        }
        "loss" => {
            let p = 0.1 + 0.4 * r.unit();
            plan.notes
                .push(format!("nemesis: {:.0}% of messages lost", p * 100.0));
            net.set_all(Some(p), None, None);
            plan.undo = Some((hold, Undo::Network));
        }
        "duplicate" => {
            plan.notes.push("nemesis: messages duplicated".into());
            net.set_all(None, Some(0.3), None);
            plan.undo = Some((hold, Undo::Network));
        }
        "reorder" => {
            plan.notes
                .push("nemesis: messages delayed out of order".into());
            net.set_all(None, None, Some(0.4));
            plan.undo = Some((hold, Undo::Network));
        }
        "pause" => {
            let d = (interval / 2 + r.below(2 * interval + 1)) / MS;
            plan.fault = Some(FaultKind::Pause {
                node: pick.into(),
                duration_ms: d.max(1),
            });
        }
        "clock" => {
            let skew = r.below(401) as i64 - 200;
            let ppm = r.below(100_001) as i64 - 50_000;
            plan.fault = Some(FaultKind::Clock {
                node: pick.into(),
                skew_ms: skew,
                drift_ppm: ppm,
            });
        }
        _ => {}
    }
    plan
}

/// The log line of an admin request taken by `taker`, or given up (`None`) after the
/// nodes' `refusals`. Not generic: one copy whatever the protocols (the page's bundle).
fn admin_note(change: &MembershipChange, taker: Option<NodeId>, refusals: &[String]) -> String {
    let what = match change {
        MembershipChange::Promote { node } => format!("the request to promote node {node}"),
        MembershipChange::Add { node } => format!("the change that adds node {node}"),
        MembershipChange::Remove { node } => format!("the change that removes node {node}"),
    };
    match taker {
        Some(n) => format!("node {n} takes {what}"),
        None if refusals.is_empty() => format!("{what} gave up: no node took it"),
        None => format!("{what} gave up: no node took it ({})", refusals.join("; ")),
    }
}

/// The network's part of a fault, and its log line. Not generic: one copy in a bundle
/// whatever the number of protocols (each `Sim<P>` would otherwise carry its own).
fn net_fault(net: &mut Network, kind: FaultKind) -> Option<String> {
    let id = |r: NodeRef| r.id().unwrap_or(NodeId::MAX);
    let mut line = None;
    match kind {
        FaultKind::Partition { groups } => {
            let groups: Vec<Vec<NodeId>> = groups
                .iter()
                .map(|g| g.iter().map(|r| id(*r)).collect())
                .collect();
            line = Some(format!("partition {:?}", groups));
            net.partition(&groups);
        }
        FaultKind::Isolate { node } => {
            let node = id(node);
            line = Some(format!("node {node} isolated"));
            net.isolate(node);
        }
        FaultKind::Reconnect { node } => {
            let node = id(node);
            line = Some(format!("node {node} reconnected"));
            net.reconnect(node);
        }
        FaultKind::Cut { from, to } => {
            line = Some(format!("link {from} -> {to} cut"));
            net.cut(from, to);
        }
        FaultKind::Heal => {
            line = Some("network healed".into());
            net.heal();
        }
        FaultKind::Degrade {
            from,
            to,
            both_ways,
            latency,
            loss,
            duplicate,
            reorder,
            long_delay,
        } => {
            line = Some(format!(
                "link {from} {} {to} degraded",
                if both_ways { "<->" } else { "->" }
            ));
            let d = crate::net::Degradation {
                latency: latency.as_ref(),
                loss,
                duplicate,
                reorder,
                long_delay: long_delay.as_ref(),
            };
            net.degrade(from, to, &d);
            if both_ways {
                net.degrade(to, from, &d);
            }
        }
        FaultKind::Restore {
            from,
            to,
            both_ways,
        } => {
            net.restore(from, to);
            if both_ways {
                net.restore(to, from);
            }
        }
        _ => {}
    }
    line
}

/// What a run starts with besides its nodes: the control events in the order they are
/// scheduled (boots, faults, clients' first wakes, the nemesis), the clients and their
/// operation generator. Not generic, so one copy serves every protocol.
struct Start {
    ctrl: Vec<(Time, Ctrl)>,
    clients: Vec<Client>,
    opgen: Option<OpGen>,
    client_stop: Time,
    nemesis_active: bool,
}

impl Start {
    fn of(
        scenario: &Scenario,
        seed: u64,
        status: &[Status],
        end: Time,
        data_type: &quorumlab_core::DataType,
    ) -> Start {
        let n = status.len();
        let mut start = Start {
            ctrl: Vec::new(),
            clients: Vec::new(),
            opgen: None,
            client_stop: 0,
            nemesis_active: false,
        };
        for (i, st) in status.iter().enumerate() {
            if *st != Status::Spare {
                start.ctrl.push((0, Ctrl::Boot(i as NodeId)));
            }
        }
        for f in &scenario.faults {
            start.ctrl.push((f.at_ms * MS, Ctrl::Fault(f.kind.clone())));
        }
        if let Some(w) = &scenario.workload {
            let members = scenario.nodes.initial_members();
            let mut gen = OpGen::new(w, data_type, Rng::derive(seed, 2));
            start.client_stop = w.stop_ms.map(|s| s * MS).unwrap_or_else(|| {
                let c = scenario.checks.converge_after_ms * MS;
                if c > 0 && end > 2 * c {
                    end - c
                } else {
                    end
                }
            });
            for c in 0..w.clients {
                let home = workload::home_of(w, &members, c);
                start
                    .clients
                    .push(Client::new(c, home, w.keys as usize, false, n));
                let first = w.start_ms * MS + gen.think_time(w.rate);
                start.ctrl.push((first, Ctrl::ClientWake(c)));
            }
            start.opgen = Some(gen);
        }
        if let Some(nm) = &scenario.nemesis {
            start.ctrl.push((nm.start_ms * MS, Ctrl::Nemesis));
            start.ctrl.push((
                scenario.nemesis_stop_ms().unwrap_or(0) * MS,
                Ctrl::NemesisStop,
            ));
            start.nemesis_active = true;
        }
        start
    }
}

/// Queue a control event at `time`, numbered after everything queued before it; a
/// client's own events wait in a queue of their own.
fn push_ctrl(
    seq: &mut u64,
    ctrl: &mut BinaryHeap<Pending<Ctrl>>,
    client_ctrl: &mut BinaryHeap<Pending<Ctrl>>,
    time: Time,
    item: Ctrl,
) {
    *seq += 1;
    let p = Pending {
        time,
        seq: *seq,
        item,
    };
    if p.item.is_client() {
        client_ctrl.push(p);
    } else {
        ctrl.push(p);
    }
}

/// Everything a client event touches (none of it the protocol's): the clients and
/// their generator, guard and rate limiters, the run's queues, history, metrics, trace
/// hash, network and log. Requests the clients send wait in `out` for the simulator.
struct Cx<'a> {
    scenario: &'a Scenario,
    n: usize,
    now: Time,
    seq: &'a mut u64,
    ctrl: &'a mut BinaryHeap<Pending<Ctrl>>,
    client_ctrl: &'a mut BinaryHeap<Pending<Ctrl>>,
    clients: &'a mut Vec<Client>,
    opgen: &'a mut Option<OpGen>,
    client_rng: &'a mut Rng,
    client_stop: Time,
    history: &'a mut History,
    metrics: &'a mut Metrics,
    hash: &'a mut StableHasher,
    net: &'a mut Network,
    expect: &'a mut Option<Box<Tracker>>,
    log: &'a mut Vec<LogLine>,
    guard: &'a mut Option<Box<Guard>>,
    buckets: &'a mut Vec<TokenBucket>,
    capacity: &'a mut Option<Box<Capacity>>,
    out: &'a mut Vec<(Time, NodeId, ClientRequest, u64)>,
    data_type: quorumlab_core::DataType,
    protocol: &'static str,
}

impl Cx<'_> {
    fn push_ctrl(&mut self, time: Time, item: Ctrl) {
        push_ctrl(self.seq, self.ctrl, self.client_ctrl, time, item);
    }

    /// A request that reaches `to` at `time`: numbered now, queued by the simulator.
    fn push_request(&mut self, time: Time, to: NodeId, req: ClientRequest) {
        *self.seq += 1;
        self.out.push((time, to, req, *self.seq));
    }

    fn note(&mut self, what: String) {
        self.log.push(LogLine {
            time: self.now,
            what,
        });
    }

    fn console(&mut self, node: NodeId, op: Op) {
        if !self.data_type.has(op.kind()) {
            let why = workload::not_served(self.protocol, &self.data_type, op.kind());
            self.note(format!("console: {why}"));
            return;
        }
        let id = self.clients.len() as u32;
        let keys = self
            .scenario
            .workload
            .as_ref()
            .map(|w| w.keys as usize)
            .unwrap_or(0);
        let mut c = Client::new(id, node, keys, true, self.n);
        c.next_seq = 2;
        c.current = Some(InFlight::new(1, op.clone(), self.now));
        self.clients.push(c);
        self.history.push(workload::history_event(
            id,
            EventType::Invoke,
            &op,
            None,
            self.now,
        ));
        self.metrics.invoke(self.now);
        self.note(format!("console: {op:?} sent to node {node}"));
        self.client_send(id, 1);
    }

    fn client_wake(&mut self, c: u32) {
        let Some(gen) = self.opgen.as_mut() else {
            return;
        };
        let cl = &mut self.clients[c as usize];
        if cl.current.is_some() || self.now >= self.client_stop {
            return;
        }
        let op = gen.next_op(cl);
        let seq = cl.next_seq;
        cl.next_seq += 1;
        cl.current = Some(InFlight::new(seq, op.clone(), self.now));
        // A new operation goes to the leader it knows of, else where the last one went,
        // unless that node timed out on it recently (or, with a load balancer, where
        // the balancer sends it).
        let now = self.now;
        let balanced = self.guard.as_ref().is_some_and(|g| g.balanced());
        if let Some(g) = self.guard.as_mut() {
            g.started(c as usize, self.n);
        }
        let cl = &mut self.clients[c as usize];
        if balanced
            || cl.leader.is_some()
            || cl
                .avoid_until
                .get(cl.target as usize)
                .is_some_and(|t| *t > now)
        {
            let last = cl.target;
            if let Some(t) = self.choose_target(c, last) {
                self.clients[c as usize].target = t;
            }
        }
        self.history.push(workload::history_event(
            c,
            EventType::Invoke,
            &op,
            None,
            self.now,
        ));
        self.metrics.invoke(self.now);
        self.client_send(c, seq);
    }

    fn client_send(&mut self, c: u32, seq: u64) {
        let now = self.now;
        let timeout = self
            .scenario
            .workload
            .as_ref()
            .map(|w| w.timeout_ms)
            .unwrap_or(1000)
            * MS;
        if self.clients[c as usize]
            .current
            .as_ref()
            .is_none_or(|x| x.seq != seq)
        {
            return;
        }
        if !self.guard_lets_through(c) {
            return;
        }
        let cl = &mut self.clients[c as usize];
        let Some(cur) = cl.current.as_mut().filter(|x| x.seq == seq) else {
            return;
        };
        cur.attempt += 1;
        cur.sent_to = cl.target;
        self.metrics.attempt(now);
        let attempt = cur.attempt;
        let req = ClientRequest {
            client: c,
            seq,
            op: cur.op.clone(),
        };
        let (home, target, console) = (cl.home, cl.target, cl.console);
        self.hash.add(StableHasher::of(&req));
        if !console {
            if let Some(g) = self.guard.as_mut() {
                g.sent(c as usize, target, self.n);
            }
        }
        if let Some(t) = self.net.route_client(home, target, now) {
            // The node's front door: a request beyond its rate is turned away.
            if let Some(b) = self.buckets.get_mut(target as usize) {
                if !b.take(t) {
                    self.hash.add(13);
                    if let Some(back) = self.net.route_to_client(target, home, t) {
                        self.push_ctrl(back, Ctrl::ClientRejected(c, seq, attempt, target, false));
                    }
                    self.push_ctrl(now + timeout, Ctrl::ClientTimeout(c, seq, attempt));
                    return;
                }
            }
            if let Some(cur) = self.clients[c as usize].current.as_mut() {
                cur.arrivals.push((target, t));
            }
            self.push_request(t, target, req);
            // With a capacity, the request waits its turn at the node (see
            // `Sim::queue_client`).
            if let Some(cap) = self.capacity.as_mut() {
                cap.sent(*self.seq, c, attempt, t);
            }
        }
        self.push_ctrl(now + timeout, Ctrl::ClientTimeout(c, seq, attempt));
    }

    fn client_timeout(&mut self, c: u32, seq: u64, attempt: u32) {
        let retries = self
            .scenario
            .workload
            .as_ref()
            .map(|w| w.retries)
            .unwrap_or(0);
        let now = self.now;
        let cl = &mut self.clients[c as usize];
        // Only the latest attempt's timeout counts, and only while it is unanswered.
        let Some(cur) = cl
            .current
            .as_mut()
            .filter(|x| x.seq == seq && x.attempt == attempt && x.answered < attempt)
        else {
            return;
        };
        cur.maybe_applied |= !cur.op.is_read();
        cur.failures += 1;
        self.metrics.timeout(now);
        let give_up = cl.console || cur.failures > retries;
        let (last, failures, console) = (cur.sent_to, cur.failures, cl.console);
        cl.timed_out(last, now);
        if let Some(g) = self.guard.as_mut().filter(|_| !console) {
            g.ended(c as usize, last, false, now, self.n);
        }
        self.retry_or_give_up(c, seq, last, give_up, failures, None, "timed out");
    }

    /// After a failed attempt of client `c`'s operation `seq` at `last`: give up, or
    /// retry on the node the client (or its balancer) picks, after the wait its
    /// back-off says (`wait`: the client's own rule when no back-off is set; `None`:
    /// at once).
    #[allow(clippy::too_many_arguments)]
    fn retry_or_give_up(
        &mut self,
        c: u32,
        seq: u64,
        last: NodeId,
        give_up: bool,
        failures: u32,
        wait: Option<Time>,
        what: &str,
    ) {
        let now = self.now;
        let guarded = self.guard.is_some() && !self.clients[c as usize].console;
        let refused = !give_up
            && guarded
            && self
                .guard
                .as_mut()
                .is_some_and(|g| !g.may_retry(c as usize, self.n));
        if give_up || refused {
            let what = if refused { "retry budget spent" } else { what };
            self.cannot_serve(c, what);
            return;
        }
        let wait = match self.guard.as_ref().filter(|_| guarded) {
            Some(g) => g.wait(failures, self.client_rng).or(wait),
            None => wait,
        };
        if let Some(t) = self.choose_target(c, last) {
            self.clients[c as usize].target = t;
        }
        match wait {
            Some(d) if d > 0 => self.push_ctrl(now + d, Ctrl::ClientSend(c, seq)),
            // The wait was long enough: try another node at once.
            _ => self.client_send(c, seq),
        }
    }

    /// Client `c`'s operation cannot be served: a read with degradation on is answered
    /// from the client's cache (degraded, not an error, not a consistent read: the
    /// history records it as not done), anything else ends as given up.
    fn cannot_serve(&mut self, c: u32, what: &str) {
        let degrade = self.guard.as_ref().is_some_and(|g| g.policy.degrade)
            && !self.clients[c as usize].console
            && self.clients[c as usize]
                .current
                .as_ref()
                .is_some_and(|x| x.op.is_read() && !x.maybe_applied);
        if degrade {
            if let Some(g) = self.guard.as_mut() {
                g.degraded += 1;
            }
            self.metrics.degraded(self.now);
            self.finish(
                c,
                Some(Err(format!(
                    "degraded ({what}): served from the client's cache"
                ))),
                "degraded",
            );
        } else {
            self.finish(c, None, what);
        }
    }

    /// Whether client `c` may send to its target now: its breaker for the target is
    /// closed, or half-open and free for a trial; else another node whose breaker
    /// lets it becomes the target. With none, the operation cannot be served (and
    /// false).
    fn guard_lets_through(&mut self, c: u32) -> bool {
        let now = self.now;
        if self.clients[c as usize].console {
            return true;
        }
        let Some(g) = self.guard.as_mut() else {
            return true;
        };
        let target = self.clients[c as usize].target;
        if g.allow(c as usize, target, now, self.n) {
            return true;
        }
        let members = self.scenario.nodes.initial_members();
        for m in g.usable(c as usize, &members, now) {
            if m != target && g.allow(c as usize, m, now, self.n) {
                self.clients[c as usize].target = m;
                return true;
            }
        }
        g.short_circuited += 1;
        self.cannot_serve(c, "every circuit open");
        false
    }

    /// Where client `c` sends next after `last`: its balancer's pick, or its own
    /// choice (the leader hint, its home node, another node), among the nodes whose
    /// circuit is not open. `None`: leave the target as it is.
    fn choose_target(&mut self, c: u32, last: NodeId) -> Option<NodeId> {
        let now = self.now;
        let members = self.scenario.nodes.initial_members();
        let cl = &self.clients[c as usize];
        let Some(g) = self.guard.as_mut().filter(|_| !cl.console) else {
            return Some(cl.choose(&members, last, now, self.client_rng));
        };
        let usable = g.usable(c as usize, &members, now);
        let pool = if usable.is_empty() { &members } else { &usable };
        if g.balanced() {
            return g.balancer.pick(pool, now, self.client_rng);
        }
        Some(cl.choose(pool, last, now, self.client_rng))
    }

    /// A node's rate limiter (`full`: its full queue) turned away attempt `attempt` of
    /// client `c`'s operation `seq`: the attempt failed, fast; the client retries as
    /// after a timeout.
    fn client_rejected(&mut self, c: u32, seq: u64, attempt: u32, node: NodeId, full: bool) {
        let retries = self
            .scenario
            .workload
            .as_ref()
            .map(|w| w.retries)
            .unwrap_or(0);
        let now = self.now;
        self.metrics.rejected(now);
        let Some(cl) = self.clients.get_mut(c as usize) else {
            return;
        };
        let Some(cur) = cl
            .current
            .as_mut()
            .filter(|x| x.seq == seq && x.attempt == attempt && x.answered < attempt)
        else {
            return;
        };
        // Answered: its timeout no longer counts. Never applied: it was not let in.
        cur.answered = attempt;
        cur.failures += 1;
        cur.fruitless += 1;
        let (give_up, failures, fruitless, console) = (
            cl.console || cur.failures > retries,
            cur.failures,
            cur.fruitless,
            cl.console,
        );
        cl.heard_from(node);
        if let Some(g) = self.guard.as_mut().filter(|_| !console) {
            g.ended(c as usize, node, false, now, self.n);
        }
        let wait = workload::backoff(fruitless, self.client_rng);
        self.retry_or_give_up(
            c,
            seq,
            node,
            give_up,
            failures,
            Some(wait),
            if full {
                "turned away: the node's queue is full"
            } else {
                "turned away by the rate limit"
            },
        );
    }

    fn client_reply(&mut self, node: NodeId, r: ClientReply) {
        let retries = self
            .scenario
            .workload
            .as_ref()
            .map(|w| w.retries)
            .unwrap_or(0);
        let now = self.now;
        let members = self.scenario.nodes.initial_members();
        let Some(cl) = self.clients.get_mut(r.client as usize) else {
            return;
        };
        let Some(cur) = cl.current.as_mut().filter(|x| x.seq == r.seq) else {
            // An answer to an attempt of an operation already finished: still news of
            // the node.
            cl.heard_from(node);
            return;
        };
        let seq = cur.seq;
        // A redirect or an unknown outcome answers the latest attempt only if it comes
        // from where that went, once; an earlier attempt's is news of the nodes, no more
        // (acting on it would start a second chain of attempts).
        let current = node == cur.sent_to && cur.answered < cur.attempt;
        if matches!(
            r.outcome,
            Outcome::Redirect { .. } | Outcome::Unknown { .. }
        ) {
            if !current {
                match r.outcome {
                    Outcome::Redirect { leader, term } => {
                        cl.redirected(node, leader.filter(|l| (*l as usize) < self.n), term, now);
                    }
                    _ => {
                        cur.maybe_applied |= !cur.op.is_read();
                        cl.gave_up(node);
                    }
                }
                return;
            }
            cur.answered = cur.attempt;
        }
        let console = cl.console;
        if let Some(g) = self.guard.as_mut().filter(|_| !console) {
            let ok = !matches!(r.outcome, Outcome::Unknown { .. });
            g.ended(r.client as usize, node, ok, now, self.n);
        }
        let balanced = !console && self.guard.as_ref().is_some_and(|g| g.balanced());
        let Some(cl) = self.clients.get_mut(r.client as usize) else {
            return;
        };
        let Some(cur) = cl.current.as_mut() else {
            return;
        };
        match r.outcome {
            Outcome::Ok { value } => {
                cl.served_by(node);
                self.finish_at(r.client, Some(Ok(value)), "ok", r.at)
            }
            Outcome::Fail { reason } => {
                cl.served_by(node);
                self.finish(r.client, Some(Err(reason)), "failed")
            }
            Outcome::Redirect { leader, term } => {
                cur.redirects += 1;
                if cl.console || cur.redirects > MAX_REDIRECTS {
                    let what = match leader {
                        Some(l) => format!("redirected to node {l}"),
                        None => "redirected: no leader known".to_string(),
                    };
                    self.finish(r.client, None, &what);
                    return;
                }
                let leader = leader.filter(|l| (*l as usize) < self.n);
                // A load balancer does not follow the hint: its next pick gets it.
                let news = cl.redirected(node, leader, term, now) && !balanced;
                let cur = cl.current.as_mut().expect("checked above");
                let delay = if news {
                    cur.fruitless = 0;
                    0
                } else if balanced {
                    // A load balancer tries its next pick at once (a redirect is a
                    // fast answer), after the back-off when one is set.
                    let r = cur.redirects;
                    self.guard
                        .as_ref()
                        .and_then(|g| g.wait(r, self.client_rng))
                        .unwrap_or(0)
                } else {
                    cur.fruitless += 1;
                    workload::backoff(cur.fruitless, self.client_rng)
                };
                let cl = &mut self.clients[r.client as usize];
                if self.guard.is_some() && !console {
                    if let Some(t) = self.choose_target(r.client, node) {
                        self.clients[r.client as usize].target = t;
                    }
                } else {
                    cl.target = cl.choose(&members, node, now, self.client_rng);
                }
                self.push_ctrl(now + delay, Ctrl::ClientSend(r.client, seq));
            }
            Outcome::Unknown { .. } => {
                cur.maybe_applied |= !cur.op.is_read();
                cur.failures += 1;
                cur.fruitless += 1;
                let (give_up, fruitless, failures) = (
                    cl.console || cur.failures > retries,
                    cur.fruitless,
                    cur.failures,
                );
                cl.gave_up(node);
                if self.guard.is_some() && !console {
                    let wait = workload::backoff(fruitless, self.client_rng);
                    self.retry_or_give_up(
                        r.client,
                        seq,
                        node,
                        give_up,
                        failures,
                        Some(wait),
                        "outcome unknown",
                    );
                } else if give_up {
                    self.finish(r.client, None, "outcome unknown");
                } else {
                    let delay = workload::backoff(fruitless, self.client_rng);
                    cl.target = cl.choose(&members, node, now, self.client_rng);
                    self.push_ctrl(now + delay, Ctrl::ClientSend(r.client, seq));
                }
            }
        }
    }

    /// Complete the client's operation: `Some(Ok(v))` happened, `Some(Err(_))` certainly
    /// did not (the node said so), `None`: the client gave up.
    fn finish(&mut self, c: u32, result: Option<Result<Option<Val>, String>>, what: &str) {
        self.finish_at(c, result, what, None)
    }

    /// [`Sim::finish`], with where the protocol committed the operation.
    fn finish_at(
        &mut self,
        c: u32,
        result: Option<Result<Option<Val>, String>>,
        what: &str,
        at: Option<quorumlab_core::LogPos>,
    ) {
        let now = self.now;
        if let Some(g) = self.guard.as_mut() {
            g.finished(c as usize);
        }
        let cl = &mut self.clients[c as usize];
        let Some(cur) = cl.current.take() else { return };
        let (kind, value) = match &result {
            Some(Ok(v)) => (EventType::Ok, v.clone()),
            Some(Err(_)) => (EventType::Fail, None),
            None if cur.maybe_applied => (EventType::Info, None),
            None => (EventType::Fail, None),
        };
        if let (EventType::Ok, Some(k)) = (kind, workload::key_index(cur.op.key())) {
            if let Some(slot) = cl.seen.get_mut(k) {
                *slot = match &cur.op {
                    Op::Read { .. } => Val::as_int(value.as_ref()),
                    Op::Write { value, .. } => Some(*value),
                    Op::Cas { new, .. } => Some(*new),
                    Op::Append { .. } | Op::Acquire { .. } | Op::Release { .. } => *slot,
                };
            }
        }
        let (console, home) = (cl.console, cl.home);
        let mut ev = workload::history_event(c, kind, &cur.op, value, now);
        if let (EventType::Ok, Some(p)) = (kind, at) {
            (ev.index, ev.term) = (Some(p.index), p.term);
        }
        ev.gave_up = kind == EventType::Fail && result.is_none();
        self.history.push(ev);
        self.metrics
            .complete(now, now - cur.invoked, result.is_some(), kind);
        if let Some(x) = self.expect.as_mut() {
            let write = !matches!(cur.op, Op::Read { .. });
            x.on_complete(now, home, write, kind, result.is_some());
        }
        if console {
            self.note(format!("console: {:?} {what}", cur.op));
        }
        if !console {
            if let Some(w) = &self.scenario.workload {
                let rate = w.rate;
                if let Some(gen) = self.opgen.as_mut() {
                    let t = gen.think_time(rate);
                    self.push_ctrl(now + t, Ctrl::ClientWake(c));
                }
            }
        }
    }
}
