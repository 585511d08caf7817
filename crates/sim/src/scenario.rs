//! The scenario file: a versioned JSON document that fully determines a run together
//! with its seed. `docs/scenario-format.md` explains every field; the JSON Schema is
//! `scenarios/scenario.schema.json`.
//!
//! Parsing is two steps: [`parse`] turns text into a [`Scenario`] (with the path of the
//! offending field in every error), then [`Scenario::validate`] checks what JSON types
//! cannot say (node ids in range, times inside the run, probabilities in `[0, 1]`).

use crate::expect::Expectation;
use quorumlab_core::{DataType, NodeId, Op, OpKind, Time, MS};
use serde::{Deserialize, Serialize};

/// The scenario format version this build reads and writes.
pub const VERSION: u32 = 1;

/// A problem with a scenario, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioError {
    /// JSON path of the field, like `faults[3].at_ms` (empty for the whole document).
    pub path: String,
    pub message: String,
}

impl ScenarioError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ScenarioError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ScenarioError {}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(PartialEq))]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Editors' link to the JSON Schema; ignored.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Format version; this build reads version 1.
    pub version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// What the scenario shows, for the gallery.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// What to watch while it runs, for the gallery.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub watch: String,
    pub protocol: ProtocolSpec,
    pub nodes: Nodes,
    #[serde(default)]
    pub network: NetworkSpec,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<WorkloadSpec>,
    /// Faults at given times, and the user's timed actions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nemesis: Option<NemesisSpec>,
    #[serde(default)]
    pub checks: ChecksSpec,
    /// What the run must show: the scenario's lesson as checks, decided during the run
    /// (see [`crate::expect`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<Expectation>,
    /// An exercise: the expectations are the goal, to be met by changing only what this
    /// allows (see [`crate::challenge`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<crate::challenge::Challenge>,
    /// Length of the run in simulated milliseconds.
    pub duration_ms: u64,
    /// The seed of every random choice in the run.
    #[serde(default)]
    pub seed: u64,
    /// Width of a metrics window, in simulated milliseconds.
    #[serde(default = "default_metrics_window")]
    pub metrics_window_ms: u64,
}

fn default_metrics_window() -> u64 {
    1000
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSpec {
    /// A protocol of the catalogue (`quorumlab_sim::registry`), like `raft`.
    pub name: String,
    /// The protocol's own parameters; omitted ones take their defaults.
    #[serde(default, skip_serializing_if = "is_empty_object")]
    pub params: serde_json::Value,
    /// The client data type, among those the protocol serves (`quorumlab protocols`
    /// lists them): Raft, Multi-Paxos and primary-backup serve `cas-register` (their
    /// default) and `kv`, strings grown by append. Omitted: the protocol's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
}

fn is_empty_object(v: &serde_json::Value) -> bool {
    v.is_null() || v.as_object().is_some_and(|o| o.is_empty())
}

/// Nodes: a count, or a list with positions for the picture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Nodes {
    Count(u32),
    List(Vec<NodeSpec>),
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Position in the picture, each in `[0, 1]`; omitted: placed on a circle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<f64>,
    /// A spare node is not running and not a member until an `add_node` fault.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spare: bool,
}

impl Nodes {
    pub fn len(&self) -> usize {
        match self {
            Nodes::Count(n) => *n as usize,
            Nodes::List(l) => l.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn spec(&self, i: usize) -> NodeSpec {
        match self {
            Nodes::Count(_) => NodeSpec::default(),
            Nodes::List(l) => l.get(i).cloned().unwrap_or_default(),
        }
    }
    /// Node ids that are members from the start.
    pub fn initial_members(&self) -> Vec<NodeId> {
        (0..self.len())
            .filter(|&i| !self.spec(i).spare)
            .map(|i| i as NodeId)
            .collect()
    }
}

/// How long a message takes on a link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    /// The least a message takes, in milliseconds.
    pub base_ms: f64,
    /// Spread on top of `base_ms`, in milliseconds (meaning depends on `distribution`).
    #[serde(default)]
    pub jitter_ms: f64,
    #[serde(default)]
    pub distribution: Distribution,
}

impl Default for LatencySpec {
    fn default() -> Self {
        LatencySpec {
            base_ms: 2.0,
            jitter_ms: 3.0,
            distribution: Distribution::Uniform,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    /// `base + U[0, jitter]`.
    #[default]
    Uniform,
    /// `base + |N(0, jitter)|`.
    Normal,
    /// `base + Exp(mean = jitter)`: a long tail.
    Exponential,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    #[serde(default)]
    pub latency: LatencySpec,
    /// Probability that a message is lost.
    #[serde(default)]
    pub loss: f64,
    /// Probability that a message is delivered twice.
    #[serde(default)]
    pub duplicate: f64,
    /// Probability that a message is held back (by up to 4x its latency), so that later
    /// messages overtake it.
    #[serde(default)]
    pub reorder: f64,
    /// Latency between a client and the node it is attached to (its home), in
    /// milliseconds; that hop is never lost. A client's messages to and from any other
    /// node also cross the node network between its home and that node (latency, loss,
    /// partitions and cuts): see [`crate::net::Network::route_client`].
    #[serde(default = "default_client_latency")]
    pub client_latency_ms: f64,
    /// A long tail: some messages held back for a long time, so that many later ones
    /// overtake them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_delay: Option<LongDelay>,
}

/// With `probability`, a message is held back a further `min_ms` to `max_ms` (uniform)
/// on top of its latency: seconds, if you like (a well-known university Raft lab delays
/// some messages 200-2,200 ms). Reordering measured in seconds, not in latencies.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongDelay {
    pub probability: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

fn default_client_latency() -> f64 {
    1.0
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            latency: LatencySpec::default(),
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            client_latency_ms: default_client_latency(),
            long_delay: None,
        }
    }
}

/// An override for the link `from -> to` (and back, unless `both_ways` is false).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub from: NodeId,
    pub to: NodeId,
    #[serde(default = "yes")]
    pub both_ways: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_delay: Option<LongDelay>,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Number of clients. Each runs one operation at a time.
    pub clients: u32,
    /// The node each client is attached to (and first sends to); default: round robin
    /// over the initial members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attach: Vec<NodeId>,
    /// Operations per second per client (mean; think times are exponential).
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// Relative weights of the operations, which must be operations of the protocol's
    /// client data type; left out: the data type's default mix.
    #[serde(default, skip_serializing_if = "OpMix::is_unset")]
    pub mix: OpMix,
    /// Number of distinct keys (`k0`, `k1`, ...).
    #[serde(default = "default_keys")]
    pub keys: u32,
    /// A client gives up on one attempt after this long.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Attempts after the first (same operation, same sequence number) before the
    /// client records the outcome as unknown.
    #[serde(default = "default_retries")]
    pub retries: u32,
    #[serde(default)]
    pub start_ms: u64,
    /// When clients stop starting new operations; default: the end of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_ms: Option<u64>,
    /// How clients pick nodes, wait between attempts and protect themselves (load
    /// balancing, back-off, a retry budget, a circuit breaker, degradation). `None`:
    /// leader-aware clients retrying at once, as before these patterns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientPolicy>,
    /// A token bucket at each node's front door: client requests beyond it are turned
    /// away at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// How many client requests a second each node can serve: requests wait their turn
    /// in a bounded queue, so overload and retries cost time. `None`: a node handles
    /// any number of requests at once, as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<CapacitySpec>,
}

/// Client-side resilience patterns (see [`crate::resilience`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientPolicy {
    /// Which node an attempt goes to.
    #[serde(default)]
    pub balance: crate::resilience::Balance,
    /// Per node weights for `weighted` (missing nodes weigh 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<u32>,
    /// Failed attempts in a row (timeouts, rejections) after which the balancer takes a
    /// node out of rotation; 0: no health checks.
    #[serde(default)]
    pub eject_after: u32,
    /// How long an ejected node stays out of rotation.
    #[serde(default = "default_eject_ms")]
    pub eject_ms: u64,
    /// The wait before a retry: none (at once), fixed or exponential.
    #[serde(default)]
    pub backoff: crate::resilience::BackoffKind,
    /// The fixed wait, or the first exponential one.
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// The longest exponential wait.
    #[serde(default = "default_backoff_max_ms")]
    pub backoff_max_ms: u64,
    /// Draw each wait uniformly below its value ("full jitter").
    #[serde(default = "yes")]
    pub jitter: bool,
    /// At most this many retries per first attempt, per client (0.1: one retry per ten
    /// operations, after 3 to start with). `None`: no budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_budget: Option<f64>,
    /// A circuit breaker per client per node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerSpec>,
    /// When a read cannot be served (every circuit open, retries or budget spent),
    /// answer it from the client's cache and count it as degraded: not an error, and
    /// not a consistent read (the history records it as not done).
    #[serde(default)]
    pub degrade: bool,
}

impl ClientPolicy {
    fn problems(&self, n: usize, e: &mut Vec<ScenarioError>) {
        use crate::resilience::{BackoffKind, Balance};
        let p = "workload.client";
        if !self.weights.is_empty() && self.balance != Balance::Weighted {
            e.push(ScenarioError::new(
                format!("{p}.weights"),
                "weights are only read with \"balance\": \"weighted\"",
            ));
        }
        if self.balance == Balance::Weighted {
            if self.weights.len() > n {
                e.push(ScenarioError::new(
                    format!("{p}.weights"),
                    format!("lists {} weights for {n} nodes", self.weights.len()),
                ));
            } else if !self.weights.is_empty()
                && self.weights.iter().all(|w| *w == 0)
                && self.weights.len() == n
            {
                e.push(ScenarioError::new(
                    format!("{p}.weights"),
                    "at least one node needs a weight above 0",
                ));
            }
        }
        if self.eject_after > 1000 {
            e.push(ScenarioError::new(
                format!("{p}.eject_after"),
                format!("{} is more than the limit of 1000", self.eject_after),
            ));
        }
        if self.eject_ms == 0 && self.eject_after > 0 {
            e.push(ScenarioError::new(
                format!("{p}.eject_ms"),
                "must be more than 0",
            ));
        }
        if self.backoff != BackoffKind::None && self.backoff_ms == 0 {
            e.push(ScenarioError::new(
                format!("{p}.backoff_ms"),
                "must be more than 0",
            ));
        }
        if self.backoff_max_ms < self.backoff_ms {
            e.push(ScenarioError::new(
                format!("{p}.backoff_max_ms"),
                format!(
                    "{} is below backoff_ms ({})",
                    self.backoff_max_ms, self.backoff_ms
                ),
            ));
        }
        if let Some(r) = self.retry_budget {
            if !(0.0..=10.0).contains(&r) {
                e.push(ScenarioError::new(
                    format!("{p}.retry_budget"),
                    format!("{r} must be between 0 and 10 retries per operation"),
                ));
            }
        }
        if let Some(b) = &self.breaker {
            if b.failures == 0 || b.failures > 1000 {
                e.push(ScenarioError::new(
                    format!("{p}.breaker.failures"),
                    format!("{} must be between 1 and 1000", b.failures),
                ));
            }
            if b.cool_down_ms == 0 {
                e.push(ScenarioError::new(
                    format!("{p}.breaker.cool_down_ms"),
                    "must be more than 0",
                ));
            }
            if b.trials == 0 || b.trials > 100 {
                e.push(ScenarioError::new(
                    format!("{p}.breaker.trials"),
                    format!("{} must be between 1 and 100", b.trials),
                ));
            }
        }
    }
}

/// A circuit breaker's thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSpec {
    /// Failed attempts in a row that open it.
    #[serde(default = "default_breaker_failures")]
    pub failures: u32,
    /// How long it stays open before letting a trial through.
    #[serde(default = "default_cool_down_ms")]
    pub cool_down_ms: u64,
    /// Trial requests that must succeed to close it.
    #[serde(default = "default_trials")]
    pub trials: u32,
}

/// A token bucket per node for client requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests a second each node admits, on average.
    pub rate: f64,
    /// The most it admits at once after a quiet spell.
    #[serde(default = "default_burst")]
    pub burst: u32,
}

/// Each node's capacity for client requests (see [`crate::resilience::ServiceQueue`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacitySpec {
    /// Client requests a second each node serves, one after another.
    pub rate: f64,
    /// The most requests a node holds, waiting or being served; one more is turned
    /// away at once.
    #[serde(default = "default_queue")]
    pub queue: u32,
}

fn default_queue() -> u32 {
    1000
}

fn default_eject_ms() -> u64 {
    1000
}
fn default_backoff_ms() -> u64 {
    20
}
fn default_backoff_max_ms() -> u64 {
    1000
}
fn default_breaker_failures() -> u32 {
    3
}
fn default_cool_down_ms() -> u64 {
    1000
}
fn default_trials() -> u32 {
    1
}
fn default_burst() -> u32 {
    10
}

fn default_rate() -> f64 {
    10.0
}
fn default_keys() -> u32 {
    2
}
fn default_timeout() -> u64 {
    500
}
fn default_retries() -> u32 {
    3
}

/// Relative weights of the operations clients choose, by name. Only the operations of
/// the protocol's client data type may be named ([`quorumlab_core::DataType`]); once
/// one is written, the others weigh 0. None written: the data type's default mix.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpMix {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cas: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub append: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquire: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<f64>,
}

impl OpMix {
    /// The register's mix (read 0.5, write 0.4, cas 0.1) written out.
    pub fn register(read: f64, write: f64, cas: f64) -> OpMix {
        OpMix {
            read: Some(read),
            write: Some(write),
            cas: Some(cas),
            ..OpMix::default()
        }
    }

    /// Every weight written, with its operation.
    pub fn given(&self) -> Vec<(OpKind, f64)> {
        OpKind::ALL
            .into_iter()
            .filter_map(|k| self.get(k).map(|w| (k, w)))
            .collect()
    }

    /// The weight written for `op` (`None`: left out).
    pub fn get(&self, op: OpKind) -> Option<f64> {
        match op {
            OpKind::Read => self.read,
            OpKind::Write => self.write,
            OpKind::Cas => self.cas,
            OpKind::Acquire => self.acquire,
            OpKind::Release => self.release,
            OpKind::Append => self.append,
        }
    }

    /// The weight `op` has for clients of `data_type`: as written, 0 when left out of a
    /// written mix, the type's default when none is written.
    pub fn weight_of(&self, op: OpKind, data_type: &DataType) -> f64 {
        if self.is_unset() {
            let w = data_type.default_mix.iter().find(|w| w.0 == op);
            w.map_or(0.0, |w| w.1)
        } else {
            self.get(op).unwrap_or(0.0)
        }
    }

    /// Set the weight of `op`, writing out `data_type`'s default mix first if none is
    /// written (so the others keep their weights).
    pub fn set(&mut self, op: OpKind, weight: f64, data_type: &DataType) {
        if self.is_unset() {
            for (o, w) in data_type.default_mix {
                if let Some(slot) = self.slot(*o) {
                    *slot = Some(*w);
                }
            }
        }
        if let Some(slot) = self.slot(op) {
            *slot = Some(weight);
        }
    }

    /// The field of `op`.
    fn slot(&mut self, op: OpKind) -> Option<&mut Option<f64>> {
        match op {
            OpKind::Read => Some(&mut self.read),
            OpKind::Write => Some(&mut self.write),
            OpKind::Cas => Some(&mut self.cas),
            OpKind::Acquire => Some(&mut self.acquire),
            OpKind::Release => Some(&mut self.release),
            OpKind::Append => Some(&mut self.append),
        }
    }

    /// No weight written: the data type's default mix applies.
    pub fn is_unset(&self) -> bool {
        OpKind::ALL.into_iter().all(|k| self.get(k).is_none())
    }

    /// The weights of `data_type`'s operations, in its order: those written (0 for an
    /// operation left out), or its default mix when none is.
    pub fn weights(&self, data_type: &DataType) -> Vec<(OpKind, f64)> {
        if self.is_unset() {
            return data_type.default_mix.to_vec();
        }
        data_type
            .ops
            .iter()
            .map(|o| (*o, self.get(*o).unwrap_or(0.0)))
            .collect()
    }
}

/// One fault or user action at a given simulated time. Read through [`FaultFlat`], one
/// plain struct (the derived internally tagged enum with a flattened field was the
/// largest function in the page's WebAssembly, 26 kB); unknown fields, and fields of
/// another type, are refused by name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fault {
    pub at_ms: u64,
    #[serde(flatten)]
    pub kind: FaultKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// The node stops; volatile state is gone.
    Crash { node: NodeRef },
    /// The node boots again, from its disk (`disk: true`) or blank.
    Restart {
        node: NodeRef,
        #[serde(default = "yes")]
        disk: bool,
    },
    /// The node stops handling anything for a while (a long GC pause), then resumes
    /// with everything that arrived meanwhile.
    Pause { node: NodeRef, duration_ms: u64 },
    /// The node's clock jumps by `skew_ms` and from now on runs `drift_ppm` parts per
    /// million fast (negative: slow).
    Clock {
        node: NodeRef,
        #[serde(default)]
        skew_ms: i64,
        #[serde(default)]
        drift_ppm: i64,
    },
    /// Split the nodes into groups that cannot talk across; nodes not listed form one
    /// more group together.
    Partition {
        #[serde(deserialize_with = "groups_with_rest")]
        groups: Vec<Vec<NodeRef>>,
    },
    /// Cut every link to and from one node, leaving every other cut in place.
    Isolate { node: NodeRef },
    /// Restore every link to and from one node (cuts and partitions alike), leaving
    /// the cuts between other nodes in place.
    Reconnect { node: NodeRef },
    /// Cut the link `from -> to` in one direction only.
    Cut { from: NodeId, to: NodeId },
    /// Remove every partition and cut.
    Heal,
    /// Make a link slow or lossy.
    Degrade {
        from: NodeId,
        to: NodeId,
        #[serde(default = "yes")]
        both_ways: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latency: Option<LatencySpec>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        loss: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duplicate: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reorder: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        long_delay: Option<LongDelay>,
    },
    /// Undo `degrade` on a link.
    Restore {
        from: NodeId,
        to: NodeId,
        #[serde(default = "yes")]
        both_ways: bool,
    },
    /// Start a spare node and ask the cluster to add it.
    AddNode { node: NodeId },
    /// Ask the cluster to remove a member.
    RemoveNode { node: NodeId },
    /// An operator's manual failover: ask the cluster to make this node its leader
    /// (primary-backup: the view manager promotes this backup). Refusals are logged.
    Promote { node: NodeId },
    /// One client operation sent by the user from the console to `node`.
    Client { node: NodeId, op: Op },
}

/// Every field a fault may have, as one plain struct.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultFlat {
    at_ms: u64,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default, deserialize_with = "present")]
    node: Option<NodeRef>,
    #[serde(default, deserialize_with = "present")]
    disk: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    duration_ms: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    skew_ms: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    drift_ppm: Option<i64>,
    #[serde(default, deserialize_with = "opt_groups_with_rest")]
    groups: Option<Vec<Vec<NodeRef>>>,
    #[serde(default, deserialize_with = "present")]
    from: Option<NodeId>,
    #[serde(default, deserialize_with = "present")]
    to: Option<NodeId>,
    #[serde(default, deserialize_with = "present")]
    both_ways: Option<bool>,
    #[serde(default)]
    latency: Option<LatencySpec>,
    #[serde(default)]
    loss: Option<f64>,
    #[serde(default)]
    duplicate: Option<f64>,
    #[serde(default)]
    reorder: Option<f64>,
    #[serde(default)]
    long_delay: Option<LongDelay>,
    #[serde(default, deserialize_with = "present")]
    op: Option<Op>,
}

/// A field that, when present, must hold a value (not `null`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn opt_groups_with_rest<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<Vec<NodeRef>>>, D::Error> {
    groups_with_rest(d).map(Some)
}

/// Each fault type with its fields: required ones, then `?`-marked optional ones.
const FAULT_FIELDS: &[(&str, &[&str])] = &[
    ("crash", &["node"]),
    ("restart", &["node", "disk?"]),
    ("pause", &["node", "duration_ms"]),
    ("clock", &["node", "skew_ms?", "drift_ppm?"]),
    ("partition", &["groups"]),
    ("isolate", &["node"]),
    ("reconnect", &["node"]),
    ("cut", &["from", "to"]),
    ("heal", &[]),
    (
        "degrade",
        &[
            "from",
            "to",
            "both_ways?",
            "latency?",
            "loss?",
            "duplicate?",
            "reorder?",
            "long_delay?",
        ],
    ),
    ("restore", &["from", "to", "both_ways?"]),
    ("add_node", &["node"]),
    ("remove_node", &["node"]),
    ("promote", &["node"]),
    ("client", &["node", "op"]),
];

impl FaultFlat {
    fn set(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut f = |name: &'static str, on: bool| {
            if on {
                v.push(name)
            }
        };
        f("node", self.node.is_some());
        f("disk", self.disk.is_some());
        f("duration_ms", self.duration_ms.is_some());
        f("skew_ms", self.skew_ms.is_some());
        f("drift_ppm", self.drift_ppm.is_some());
        f("groups", self.groups.is_some());
        f("from", self.from.is_some());
        f("to", self.to.is_some());
        f("both_ways", self.both_ways.is_some());
        f("latency", self.latency.is_some());
        f("loss", self.loss.is_some());
        f("duplicate", self.duplicate.is_some());
        f("reorder", self.reorder.is_some());
        f("long_delay", self.long_delay.is_some());
        f("op", self.op.is_some());
        v
    }

    fn into_fault(self) -> Result<Fault, String> {
        let Some((ty, fields)) = FAULT_FIELDS.iter().find(|(t, _)| *t == self.ty) else {
            let known: Vec<&str> = FAULT_FIELDS.iter().map(|(t, _)| *t).collect();
            return Err(format!(
                "unknown variant `{}`, expected one of {}",
                self.ty,
                known.join(", ")
            ));
        };
        for f in self.set() {
            // (`heal` ignores other fields, as it always did.)
            if *ty != "heal" && !fields.iter().any(|x| x.trim_end_matches('?') == f) {
                return Err(format!(
                    "unknown field `{f}` for a `{ty}` fault (it takes: {})",
                    if fields.is_empty() {
                        "no field but at_ms".to_string()
                    } else {
                        fields.join(", ")
                    }
                ));
            }
        }
        let missing = |name: &str| format!("missing field `{name}` (a `{ty}` fault needs it)");
        let node = || self.node.ok_or_else(|| missing("node"));
        let id = || -> Result<NodeId, String> {
            match node()? {
                NodeRef::Id(i) => Ok(i),
                r => Err(format!(
                    "a `{ty}` fault takes a node id, not a role (\"{r}\")"
                )),
            }
        };
        let from = || self.from.ok_or_else(|| missing("from"));
        let to = || self.to.ok_or_else(|| missing("to"));
        let kind = match *ty {
            "crash" => FaultKind::Crash { node: node()? },
            "restart" => FaultKind::Restart {
                node: node()?,
                disk: self.disk.unwrap_or(true),
            },
            "pause" => FaultKind::Pause {
                node: node()?,
                duration_ms: self.duration_ms.ok_or_else(|| missing("duration_ms"))?,
            },
            "clock" => FaultKind::Clock {
                node: node()?,
                skew_ms: self.skew_ms.unwrap_or(0),
                drift_ppm: self.drift_ppm.unwrap_or(0),
            },
            "partition" => FaultKind::Partition {
                groups: self.groups.clone().ok_or_else(|| missing("groups"))?,
            },
            "isolate" => FaultKind::Isolate { node: node()? },
            "reconnect" => FaultKind::Reconnect { node: node()? },
            "cut" => FaultKind::Cut {
                from: from()?,
                to: to()?,
            },
            "heal" => FaultKind::Heal,
            "degrade" => FaultKind::Degrade {
                from: from()?,
                to: to()?,
                both_ways: self.both_ways.unwrap_or(true),
                latency: self.latency,
                loss: self.loss,
                duplicate: self.duplicate,
                reorder: self.reorder,
                long_delay: self.long_delay,
            },
            "restore" => FaultKind::Restore {
                from: from()?,
                to: to()?,
                both_ways: self.both_ways.unwrap_or(true),
            },
            "add_node" => FaultKind::AddNode { node: id()? },
            "remove_node" => FaultKind::RemoveNode { node: id()? },
            "promote" => FaultKind::Promote { node: id()? },
            _ => FaultKind::Client {
                node: id()?,
                op: self.op.clone().ok_or_else(|| missing("op"))?,
            },
        };
        Ok(Fault {
            at_ms: self.at_ms,
            kind,
        })
    }
}

impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        FaultFlat::deserialize(d)?
            .into_fault()
            .map_err(serde::de::Error::custom)
    }
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Crash { .. } => "crash",
            FaultKind::Restart { .. } => "restart",
            FaultKind::Pause { .. } => "pause",
            FaultKind::Clock { .. } => "clock",
            FaultKind::Partition { .. } => "partition",
            FaultKind::Isolate { .. } => "isolate",
            FaultKind::Reconnect { .. } => "reconnect",
            FaultKind::Cut { .. } => "cut",
            FaultKind::Heal => "heal",
            FaultKind::Degrade { .. } => "degrade",
            FaultKind::Restore { .. } => "restore",
            FaultKind::AddNode { .. } => "add_node",
            FaultKind::RemoveNode { .. } => "remove_node",
            FaultKind::Promote { .. } => "promote",
            FaultKind::Client { .. } => "client",
        }
    }
}

/// A node a fault takes: by id, or by a role resolved at the moment the fault fires
/// (the trace then says which node it was; with no node in that role the fault is
/// skipped, and the trace says so). Written as a number or as one of the strings
/// `"leader"`, `"a follower"` (one chosen by the run's seed), `"the node with the
/// longest log"`, `"the node with the shortest log"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRef {
    Id(NodeId),
    Leader,
    Follower,
    LongestLog,
    ShortestLog,
    /// The node that crashed last and is still down (for a restart).
    LastCrashed,
}

impl NodeRef {
    /// The roles, as written in scenarios.
    pub const ROLES: [(&'static str, NodeRef); 5] = [
        ("leader", NodeRef::Leader),
        ("a follower", NodeRef::Follower),
        ("the node with the longest log", NodeRef::LongestLog),
        ("the node with the shortest log", NodeRef::ShortestLog),
        ("the last crashed node", NodeRef::LastCrashed),
    ];

    /// The node, when named by id.
    pub fn id(self) -> Option<NodeId> {
        match self {
            NodeRef::Id(i) => Some(i),
            _ => None,
        }
    }

    /// Whether this names a role that only a protocol with a leader has.
    pub fn needs_leader(self) -> bool {
        matches!(self, NodeRef::Leader | NodeRef::Follower)
    }
}

impl From<NodeId> for NodeRef {
    fn from(i: NodeId) -> Self {
        NodeRef::Id(i)
    }
}

impl PartialEq<NodeId> for NodeRef {
    fn eq(&self, o: &NodeId) -> bool {
        *self == NodeRef::Id(*o)
    }
}

impl std::fmt::Display for NodeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeRef::Id(i) => write!(f, "{i}"),
            r => {
                let name = NodeRef::ROLES
                    .iter()
                    .find(|(_, x)| x == r)
                    .map(|(n, _)| *n)
                    .unwrap_or("?");
                write!(f, "{name}")
            }
        }
    }
}

impl Serialize for NodeRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            NodeRef::Id(i) => s.serialize_u32(*i),
            r => s.serialize_str(&r.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for NodeRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = NodeRef;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a node id, or \"leader\", \"a follower\", \"the node with the longest log\" \
                     or \"the node with the shortest log\"",
                )
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<NodeRef, E> {
                NodeId::try_from(v)
                    .map(NodeRef::Id)
                    .map_err(|_| E::custom(format!("node {v} does not exist")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<NodeRef, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("node {v} does not exist")))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NodeRef, E> {
                NodeRef::ROLES
                    .iter()
                    .find(|(n, _)| *n == v)
                    .map(|(_, r)| *r)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// Indent compact JSON as `serde_json`'s pretty printer does (two spaces, `"key": value`).
/// Hand-written on purpose: serialising the scenario a second time with the pretty
/// formatter put a second copy of every `Serialize` in the page's bundle.
pub fn pretty_json(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let (mut in_str, mut escaped) = (false, false);
    let mut chars = compact.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                if matches!(chars.peek(), Some('}') | Some(']')) {
                    out.extend(chars.next());
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c => out.push(c),
        }
    }
    out
}

/// Partition groups, where a group may be written `"rest"`: every node not listed.
/// (Unlisted nodes always form one more group, so `"rest"` only says so.) A visitor of
/// its own: an untagged enum buffers every value and cost the page's bundle kilobytes.
fn groups_with_rest<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Vec<NodeRef>>, D::Error> {
    struct Group(Option<Vec<NodeRef>>);
    impl<'de> Deserialize<'de> for Group {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Group;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a list of nodes, or \"rest\"")
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Group, E> {
                    if v == "rest" {
                        Ok(Group(None))
                    } else {
                        Err(E::invalid_value(serde::de::Unexpected::Str(v), &self))
                    }
                }
                fn visit_seq<A: serde::de::SeqAccess<'de>>(
                    self,
                    mut a: A,
                ) -> Result<Group, A::Error> {
                    let mut v = Vec::new();
                    while let Some(x) = a.next_element::<NodeRef>()? {
                        v.push(x);
                    }
                    Ok(Group(Some(v)))
                }
            }
            d.deserialize_any(V)
        }
    }
    let groups = Vec::<Group>::deserialize(d)?;
    Ok(groups.into_iter().filter_map(|g| g.0).collect())
}

/// The seeded random fault injector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NemesisSpec {
    /// Mean time between two nemesis actions.
    #[serde(default = "default_nemesis_interval")]
    pub interval_ms: u64,
    #[serde(default = "default_nemesis_start")]
    pub start_ms: u64,
    /// After this time the nemesis heals everything, restarts crashed nodes and stops;
    /// default: 70% of the run, leaving time to recover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_ms: Option<u64>,
    /// Which faults it may use: crash, crash_leader (crash whichever node leads),
    /// restart_blank (crash, then restart with a blank disk), partition (a random
    /// split), partition_leader (the leader with a minority), partition_halves (two
    /// halves), isolate (one node alone), isolate_leader (the leader alone),
    /// partition_ring (every node sees a majority, no two the same one), partition_bridge
    /// (two halves joined by one node), cut, loss, duplicate, reorder, pause, clock.
    #[serde(default = "default_nemesis_kinds")]
    pub faults: Vec<String>,
    /// Keep a majority of the nodes up and connected to each other: partitions leave a
    /// majority on one side, and a crash that would leave fewer than a majority up is
    /// not made.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_majority: bool,
    /// Stop after this many faults (waves of faults at `interval_ms`, then a heal);
    /// absent: until `stop_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u32>,
}

fn default_nemesis_interval() -> u64 {
    400
}
fn default_nemesis_start() -> u64 {
    500
}

/// The nemesis fault kinds a user can choose from.
pub const NEMESIS_KINDS: &[&str] = &[
    "crash",
    "crash_leader",
    "restart_blank",
    "partition",
    "partition_leader",
    "partition_halves",
    "isolate",
    "isolate_leader",
    "partition_ring",
    "partition_bridge",
    "cut",
    "loss",
    "duplicate",
    "reorder",
    "pause",
    "clock",
];

fn default_nemesis_kinds() -> Vec<String> {
    [
        "crash",
        "partition",
        "loss",
        "duplicate",
        "reorder",
        "pause",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl Default for NemesisSpec {
    fn default() -> Self {
        NemesisSpec {
            interval_ms: default_nemesis_interval(),
            start_ms: default_nemesis_start(),
            stop_ms: None,
            faults: default_nemesis_kinds(),
            keep_majority: false,
            iterations: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksSpec {
    /// Check the protocol's invariants after every event.
    #[serde(default = "yes")]
    pub invariants: bool,
    /// Check the client history for linearizability at the end.
    #[serde(default = "yes")]
    pub linearizable: bool,
    /// At the end, if the last faults are at least this long ago and everything is
    /// healed: the cluster recovered. For a leader-based protocol, some node led in the
    /// last half of this time, and everything committed at the settle point (half of
    /// this before the end) has been applied by every running member by the end (see
    /// [`crate::converge`]). 0 switches the check off.
    #[serde(default = "default_converge")]
    pub converge_after_ms: u64,
}

fn default_converge() -> u64 {
    3000
}

impl Default for ChecksSpec {
    fn default() -> Self {
        ChecksSpec {
            invariants: true,
            linearizable: true,
            converge_after_ms: default_converge(),
        }
    }
}

/// Parse a scenario from JSON text: syntax, types and unknown fields, with the path of
/// the field in the error. Call [`Scenario::validate`] next.
pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    // Look at the version first, so that a newer file gets the right message rather
    // than complaints about fields this build does not know.
    let raw: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ScenarioError::new("", format!("not valid JSON: {e}")))?;
    let obj = raw
        .as_object()
        .ok_or_else(|| ScenarioError::new("", "a scenario must be a JSON object"))?;
    match obj.get("version") {
        None => {
            return Err(ScenarioError::new(
                "version",
                "missing (this build reads version 1)",
            ))
        }
        Some(v) => match v.as_u64() {
            Some(1) => {}
            Some(n) if n > VERSION as u64 => {
                return Err(ScenarioError::new(
                    "version",
                    format!("{n} is newer than this quorumlab understands ({VERSION})"),
                ))
            }
            _ => {
                return Err(ScenarioError::new(
                    "version",
                    format!("{v} is not a known version (1)"),
                ))
            }
        },
    }
    drop(raw);
    serde_json::from_str(text).map_err(|e| {
        let (path, message) = crate::jsonpath::describe(text, &e);
        ScenarioError::new(path, message)
    })
}

/// Parse and validate.
pub fn load(text: &str) -> Result<Scenario, Vec<ScenarioError>> {
    let s = parse(text).map_err(|e| vec![e])?;
    s.validate()?;
    Ok(s)
}

/// The most nodes a scenario may have (the page draws them all).
pub const MAX_NODES: usize = 64;
/// The longest run, in simulated milliseconds (one hour).
pub const MAX_DURATION_MS: u64 = 3_600_000;
/// The most client operations a workload may start in a run (its clients times its
/// rate times its seconds): the history the checker reads and the page keeps.
pub const MAX_OPERATIONS: u64 = 1_000_000;
/// The most timed faults a scenario may list.
pub const MAX_FAULTS: usize = 10_000;

impl Scenario {
    /// Whether two scenarios say the same thing (their JSON is the same). The page
    /// compares scenarios this way rather than field by field: a derived `PartialEq`
    /// over every nested type cost about 5 kB of its WebAssembly (2026-11-30), for a
    /// comparison made once per edit; native builds keep the derive for tests.
    pub fn same(&self, other: &Scenario) -> bool {
        std::ptr::eq(self, other) || self.to_json() == other.to_json()
    }
}

impl Scenario {
    pub fn n(&self) -> usize {
        self.nodes.len()
    }

    pub fn duration(&self) -> Time {
        self.duration_ms * MS
    }

    /// Check everything the types cannot. Returns every problem found, not only the first.
    pub fn validate(&self) -> Result<(), Vec<ScenarioError>> {
        let mut errs = Vec::new();
        let n = self.n();
        let mut err = |p: String, m: String| errs.push(ScenarioError::new(p, m));
        if n == 0 {
            err("nodes".into(), "a cluster needs at least one node".into());
        }
        if n > MAX_NODES {
            err(
                "nodes".into(),
                format!("{n} nodes is more than the {MAX_NODES} this playground draws"),
            );
        }
        if let Nodes::List(list) = &self.nodes {
            for (i, s) in list.iter().enumerate() {
                for (name, v) in [("x", s.x), ("y", s.y)] {
                    if let Some(v) = v {
                        if !(0.0..=1.0).contains(&v) {
                            err(
                                format!("nodes[{i}].{name}"),
                                format!("{v} is outside [0, 1]"),
                            );
                        }
                    }
                }
            }
            if list.iter().all(|s| s.spare) && !list.is_empty() {
                err(
                    "nodes".into(),
                    "every node is a spare: at least one must start as a member".into(),
                );
            }
        }
        if self.duration_ms == 0 {
            err("duration_ms".into(), "must be more than 0".into());
        }
        if self.duration_ms > MAX_DURATION_MS {
            err(
                "duration_ms".into(),
                format!(
                    "{} is longer than the limit of {MAX_DURATION_MS} (one hour)",
                    self.duration_ms
                ),
            );
        }
        if self.metrics_window_ms == 0 {
            err("metrics_window_ms".into(), "must be more than 0".into());
        }
        if let Err(e) = crate::registry::check_name(self) {
            errs.push(e);
        }
        let has_leader = crate::registry::entries()
            .iter()
            .find(|e| e.name == self.protocol.name)
            .is_some_and(|e| e.has_leader);
        let node = |p: String, id: NodeId, errs: &mut Vec<ScenarioError>| {
            if id as usize >= n {
                errs.push(ScenarioError::new(
                    p,
                    format!(
                        "node {id} does not exist (nodes are 0..{})",
                        n.saturating_sub(1)
                    ),
                ));
            }
        };
        let prob = |p: String, v: f64, errs: &mut Vec<ScenarioError>| {
            if !(0.0..=1.0).contains(&v) || v.is_nan() {
                errs.push(ScenarioError::new(
                    p,
                    format!("{v} is not a probability in [0, 1]"),
                ));
            }
        };
        let lat = |p: &str, l: &LatencySpec, errs: &mut Vec<ScenarioError>| {
            if !(l.base_ms >= 0.1 && l.base_ms <= 60_000.0) {
                errs.push(ScenarioError::new(
                    format!("{p}.base_ms"),
                    format!("{} must be between 0.1 and 60000", l.base_ms),
                ));
            }
            if !(l.jitter_ms >= 0.0 && l.jitter_ms <= 60_000.0) {
                errs.push(ScenarioError::new(
                    format!("{p}.jitter_ms"),
                    format!("{} must be between 0 and 60000", l.jitter_ms),
                ));
            }
        };
        let long = |p: &str, l: &LongDelay, errs: &mut Vec<ScenarioError>| {
            prob(format!("{p}.probability"), l.probability, errs);
            if !(l.min_ms >= 0.0 && l.min_ms <= MAX_DURATION_MS as f64) {
                errs.push(ScenarioError::new(
                    format!("{p}.min_ms"),
                    format!("{} must be between 0 and {MAX_DURATION_MS}", l.min_ms),
                ));
            } else if !(l.max_ms >= l.min_ms && l.max_ms <= MAX_DURATION_MS as f64) {
                errs.push(ScenarioError::new(
                    format!("{p}.max_ms"),
                    format!(
                        "{} must be between min_ms ({}) and {MAX_DURATION_MS}",
                        l.max_ms, l.min_ms
                    ),
                ));
            }
        };
        let mut e2 = Vec::new();
        lat("network.latency", &self.network.latency, &mut e2);
        if let Some(l) = &self.network.long_delay {
            long("network.long_delay", l, &mut e2);
        }
        prob("network.loss".into(), self.network.loss, &mut e2);
        prob("network.duplicate".into(), self.network.duplicate, &mut e2);
        prob("network.reorder".into(), self.network.reorder, &mut e2);
        let cl = self.network.client_latency_ms;
        if !(0.1..=60_000.0).contains(&cl) {
            e2.push(ScenarioError::new(
                "network.client_latency_ms",
                format!("{cl} must be between 0.1 and 60000"),
            ));
        }
        for (i, l) in self.links.iter().enumerate() {
            node(format!("links[{i}].from"), l.from, &mut e2);
            node(format!("links[{i}].to"), l.to, &mut e2);
            if let Some(x) = &l.latency {
                lat(&format!("links[{i}].latency"), x, &mut e2);
            }
            if let Some(x) = &l.long_delay {
                long(&format!("links[{i}].long_delay"), x, &mut e2);
            }
            for (name, v) in [
                ("loss", l.loss),
                ("duplicate", l.duplicate),
                ("reorder", l.reorder),
            ] {
                if let Some(v) = v {
                    prob(format!("links[{i}].{name}"), v, &mut e2);
                }
            }
        }
        if let Some(w) = &self.workload {
            if w.clients > 1000 {
                e2.push(ScenarioError::new(
                    "workload.clients",
                    format!("{} is more than the limit of 1000", w.clients),
                ));
            }
            for (i, a) in w.attach.iter().enumerate() {
                node(format!("workload.attach[{i}]"), *a, &mut e2);
            }
            if !(w.rate > 0.0 && w.rate <= 10_000.0) {
                e2.push(ScenarioError::new(
                    "workload.rate",
                    format!(
                        "{} must be more than 0 and at most 10000 per second",
                        w.rate
                    ),
                ));
            }
            let given = w.mix.given();
            for (op, v) in &given {
                if !(*v >= 0.0 && v.is_finite()) {
                    e2.push(ScenarioError::new(
                        format!("workload.mix.{}", op.name()),
                        format!("{v} must be a weight of 0 or more"),
                    ));
                }
            }
            if !given.is_empty() && given.iter().map(|g| g.1).sum::<f64>() <= 0.0 {
                e2.push(ScenarioError::new(
                    "workload.mix",
                    "at least one operation needs a weight above 0",
                ));
            }
            if w.keys == 0 || w.keys > 10_000 {
                e2.push(ScenarioError::new(
                    "workload.keys",
                    format!("{} must be between 1 and 10000", w.keys),
                ));
            }
            if w.timeout_ms == 0 {
                e2.push(ScenarioError::new(
                    "workload.timeout_ms",
                    "must be more than 0",
                ));
            }
            if w.start_ms > self.duration_ms {
                e2.push(ScenarioError::new(
                    "workload.start_ms",
                    format!(
                        "{} is after the end of the run ({})",
                        w.start_ms, self.duration_ms
                    ),
                ));
            }
            if let Some(stop) = w.stop_ms {
                if stop < w.start_ms {
                    e2.push(ScenarioError::new(
                        "workload.stop_ms",
                        format!("{stop} is before workload.start_ms ({})", w.start_ms),
                    ));
                }
            }
            if w.attach.len() > w.clients as usize {
                e2.push(ScenarioError::new(
                    "workload.attach",
                    format!("lists {} nodes for {} clients", w.attach.len(), w.clients),
                ));
            }
            // The history's length: clients x rate x the seconds clients run for.
            let stop = w.stop_ms.unwrap_or(self.duration_ms).min(self.duration_ms);
            let secs = stop.saturating_sub(w.start_ms) as f64 / 1000.0;
            let ops = w.clients as f64 * w.rate * secs;
            if ops > MAX_OPERATIONS as f64 {
                e2.push(ScenarioError::new(
                    "workload.rate",
                    format!(
                        "{} clients at {} operations a second for {secs} s would start about {ops:.0} operations, more than the limit of {MAX_OPERATIONS} a run may record",
                        w.clients, w.rate
                    ),
                ));
            }
            if w.retries > 100 {
                e2.push(ScenarioError::new(
                    "workload.retries",
                    format!("{} is more than the limit of 100", w.retries),
                ));
            }
            if let Some(c) = &w.client {
                c.problems(self.n(), &mut e2);
            }
            if let Some(r) = &w.rate_limit {
                if !(r.rate > 0.0 && r.rate <= 1e6) {
                    e2.push(ScenarioError::new(
                        "workload.rate_limit.rate",
                        format!(
                            "{} must be above 0 and at most 1000000 requests a second",
                            r.rate
                        ),
                    ));
                }
                if r.burst == 0 || r.burst > 1_000_000 {
                    e2.push(ScenarioError::new(
                        "workload.rate_limit.burst",
                        format!("{} must be between 1 and 1000000", r.burst),
                    ));
                }
            }
            if let Some(c) = &w.capacity {
                if !(c.rate >= 0.001 && c.rate <= 1e6) {
                    e2.push(ScenarioError::new(
                        "workload.capacity.rate",
                        format!(
                            "{} must be at least 0.001 and at most 1000000 requests a second",
                            c.rate
                        ),
                    ));
                }
                if c.queue == 0 || c.queue > 1_000_000 {
                    e2.push(ScenarioError::new(
                        "workload.capacity.queue",
                        format!("{} must be between 1 and 1000000", c.queue),
                    ));
                }
            }
        }
        if self.faults.len() > MAX_FAULTS {
            e2.push(ScenarioError::new(
                "faults",
                format!(
                    "{} timed faults is more than the limit of {MAX_FAULTS}",
                    self.faults.len()
                ),
            ));
        }
        for (i, f) in self.faults.iter().enumerate().take(MAX_FAULTS) {
            let p = format!("faults[{i}]");
            if f.at_ms > self.duration_ms {
                e2.push(ScenarioError::new(
                    format!("{p}.at_ms"),
                    format!(
                        "{} is after the end of the run ({})",
                        f.at_ms, self.duration_ms
                    ),
                ));
            }
            let aimed = |q: String, r: NodeRef, e2: &mut Vec<ScenarioError>| {
                match r {
                NodeRef::Id(x) => node(q, x, e2),
                r if r.needs_leader() && !has_leader => e2.push(ScenarioError::new(
                    q,
                    format!(
                        "{} has no leader, so no node is '{r}': name a node, or \"the node with the longest log\"",
                        self.protocol.name
                    ),
                )),
                _ => {}
            }
            };
            match &f.kind {
                FaultKind::Restart { node: x, .. } => aimed(format!("{p}.node"), *x, &mut e2),
                FaultKind::Crash { node: x }
                | FaultKind::Isolate { node: x }
                | FaultKind::Reconnect { node: x } => {
                    if *x == NodeRef::LastCrashed {
                        e2.push(ScenarioError::new(
                            format!("{p}.node"),
                            "\"the last crashed node\" is down: only a restart can take it",
                        ));
                    }
                    aimed(format!("{p}.node"), *x, &mut e2)
                }
                FaultKind::AddNode { node: x }
                | FaultKind::RemoveNode { node: x }
                | FaultKind::Promote { node: x } => node(format!("{p}.node"), *x, &mut e2),
                FaultKind::Pause {
                    node: x,
                    duration_ms,
                } => {
                    aimed(format!("{p}.node"), *x, &mut e2);
                    if *duration_ms == 0 || *duration_ms > MAX_DURATION_MS {
                        e2.push(ScenarioError::new(
                            format!("{p}.duration_ms"),
                            format!("{duration_ms} must be between 1 and {MAX_DURATION_MS}"),
                        ));
                    }
                }
                FaultKind::Clock {
                    node: x,
                    skew_ms,
                    drift_ppm,
                } => {
                    aimed(format!("{p}.node"), *x, &mut e2);
                    if skew_ms.unsigned_abs() > MAX_DURATION_MS {
                        e2.push(ScenarioError::new(
                            format!("{p}.skew_ms"),
                            format!("{skew_ms} is more than an hour"),
                        ));
                    }
                    if !(-900_000..=900_000).contains(drift_ppm) {
                        e2.push(ScenarioError::new(
                            format!("{p}.drift_ppm"),
                            format!("{drift_ppm} must be between -900000 and 900000"),
                        ));
                    }
                }
                FaultKind::Partition { groups } => {
                    let mut seen = vec![false; n];
                    for (g, grp) in groups.iter().enumerate() {
                        for (k, x) in grp.iter().enumerate() {
                            let q = format!("{p}.groups[{g}][{k}]");
                            let Some(x) = x.id() else {
                                aimed(q, *x, &mut e2);
                                continue;
                            };
                            if (x as usize) >= n {
                                node(q, x, &mut e2);
                            } else if std::mem::replace(&mut seen[x as usize], true) {
                                e2.push(ScenarioError::new(
                                    q,
                                    format!("node {x} is in two groups"),
                                ));
                            }
                        }
                    }
                }
                FaultKind::Cut { from, to } | FaultKind::Restore { from, to, .. } => {
                    node(format!("{p}.from"), *from, &mut e2);
                    node(format!("{p}.to"), *to, &mut e2);
                }
                FaultKind::Degrade {
                    from,
                    to,
                    latency,
                    loss,
                    duplicate,
                    reorder,
                    long_delay,
                    ..
                } => {
                    node(format!("{p}.from"), *from, &mut e2);
                    node(format!("{p}.to"), *to, &mut e2);
                    if let Some(l) = latency {
                        lat(&format!("{p}.latency"), l, &mut e2);
                    }
                    for (name, v) in [
                        ("loss", loss),
                        ("duplicate", duplicate),
                        ("reorder", reorder),
                    ] {
                        if let Some(v) = v {
                            prob(format!("{p}.{name}"), *v, &mut e2);
                        }
                    }
                    if let Some(l) = long_delay {
                        long(&format!("{p}.long_delay"), l, &mut e2);
                    }
                }
                FaultKind::Heal => {}
                FaultKind::Client { node: x, op } => {
                    node(format!("{p}.node"), *x, &mut e2);
                    if op.key().is_empty() || op.key().len() > 64 {
                        e2.push(ScenarioError::new(
                            format!("{p}.op.key"),
                            "a key must have 1 to 64 characters",
                        ));
                    }
                }
            }
        }
        if let Some(nm) = &self.nemesis {
            if nm.interval_ms < 10 {
                e2.push(ScenarioError::new(
                    "nemesis.interval_ms",
                    format!("{} must be at least 10", nm.interval_ms),
                ));
            }
            for (i, k) in nm.faults.iter().enumerate() {
                if !NEMESIS_KINDS.contains(&k.as_str()) {
                    e2.push(ScenarioError::new(
                        format!("nemesis.faults[{i}]"),
                        format!("unknown fault `{k}` (known: {})", NEMESIS_KINDS.join(", ")),
                    ));
                }
            }
            if nm.start_ms > self.duration_ms {
                e2.push(ScenarioError::new(
                    "nemesis.start_ms",
                    format!(
                        "{} is after the end of the run ({})",
                        nm.start_ms, self.duration_ms
                    ),
                ));
            }
            if let Some(s) = nm.stop_ms {
                if s > self.duration_ms {
                    e2.push(ScenarioError::new(
                        "nemesis.stop_ms",
                        format!("{s} is after the end of the run ({})", self.duration_ms),
                    ));
                }
                if s < nm.start_ms {
                    e2.push(ScenarioError::new(
                        "nemesis.stop_ms",
                        format!("{s} is before nemesis.start_ms ({})", nm.start_ms),
                    ));
                }
            }
        }
        errs.extend(e2);
        if let Err(e) = crate::registry::check_params(self) {
            errs.push(e);
        }
        errs.extend(crate::registry::check_clients(self));
        for (i, x) in self.expect.iter().enumerate() {
            for (field, message) in x.kind.problems(self.duration_ms, n, has_leader) {
                errs.push(ScenarioError::new(format!("expect[{i}].{field}"), message));
            }
        }
        if let Some(c) = &self.challenge {
            errs.extend(crate::challenge::problems(self, c));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }

    /// Pretty JSON for files.
    pub fn to_json_pretty(&self) -> String {
        pretty_json(&self.to_json())
    }

    /// Compact JSON for URLs.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Switch the nemesis on (with its defaults) if the scenario has none. Its
    /// expectations go: they describe the run under its own faults, which a nemesis
    /// changes (the invariants, linearizability and convergence are still checked).
    pub fn force_nemesis(&mut self) {
        if self.nemesis.is_none() {
            self.nemesis = Some(NemesisSpec::default());
            self.expect.clear();
        }
    }

    /// When the nemesis stops, if there is one.
    /// 70% of the run, or earlier so that the convergence check applies: the end minus
    /// `checks.converge_after_ms`, when the run is at least twice that long.
    fn default_nemesis_stop_ms(&self) -> u64 {
        let seventy = self.duration_ms * 7 / 10;
        let quiet = self.checks.converge_after_ms;
        if quiet > 0 && self.duration_ms >= 2 * quiet {
            seventy.min(self.duration_ms - quiet)
        } else {
            seventy
        }
    }

    pub fn nemesis_stop_ms(&self) -> Option<u64> {
        self.nemesis
            .as_ref()
            .map(|nm| nm.stop_ms.unwrap_or_else(|| self.default_nemesis_stop_ms()))
    }
}

/// The message for a list of errors, one a line.
pub fn describe(errs: &[ScenarioError]) -> String {
    errs.iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}
