//! Expectations: what a scenario says it teaches, checked by the simulator while the
//! run goes on.
//!
//! A teacher writes `"expect": [{"type": "leader", "after_ms": 4500, "within_ms": 1000,
//! "says": "after the heal a leader is back within a second"}, ...]`. Each expectation
//! is decided at a moment of simulated time (as soon as the outcome is certain: a leader
//! appeared, the interval ended, a second leader took the same term) and reported with
//! that moment and the reason, so the page can tick it live and the command line can
//! fail a run that does not teach what it says.
//!
//! Everything here is read from what the simulator sees in every runtime (the per-node
//! [`crate::host::Host`] flags: leading, epoch, log length; node status; client
//! completions; messages sent), so the outcome is the same natively, on the page's thread
//! and with nodes in Web Workers. Two expectations need the end of the run: the
//! linearizability verdict and "every live node holds the same state"; they are decided
//! by [`Tracker::finish`] and [`decide_end`].

use crate::engine::Status;
use crate::history::EventType;
use quorumlab_core::{NodeId, NodeView, Time, MS};
use serde::{Deserialize, Serialize};

/// One expectation of a scenario: `{"type": ..., "says": ..., <the type's fields>}`.
/// (Read and written through [`Flat`], one plain struct: the derived internally tagged
/// enum with a flattened `says` cost the page 30 kB of WebAssembly, gzipped.)
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// The lesson in the teacher's words, shown next to the check.
    pub says: String,
    pub kind: ExpectKind,
}

/// Which operations an expectation counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpFilter {
    /// Writes and compare-and-sets.
    Write,
    Read,
    #[default]
    Any,
}

impl OpFilter {
    fn word(self) -> &'static str {
        match self {
            OpFilter::Write => "writes",
            OpFilter::Read => "reads",
            OpFilter::Any => "operations",
        }
    }
}

/// A role an expectation can ask about, resolved from what every runtime knows: whether
/// the node leads, and its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    /// Leads (Raft's leader, Multi-Paxos's distinguished proposer, a primary).
    Leader,
    /// Running and not leading.
    Follower,
    /// Running (leading or not).
    Up,
    /// Crashed (or not started).
    Down,
    Paused,
}

/// What is expected. Intervals are `[from_ms, to_ms)` of simulated time.
#[derive(Clone, Debug, PartialEq)]
pub enum ExpectKind {
    /// Some running node leads within `within_ms` after `after_ms`.
    Leader { after_ms: u64, within_ms: u64 },
    /// Never two nodes leading with the same term (ballot, epoch), over the whole run.
    OneLeaderPerTerm {},
    /// No write (or compare-and-set) succeeds in the interval: nothing commits.
    NoCommit { from_ms: u64, to_ms: u64 },
    /// At least `n` operations of kind `op` succeed in the interval.
    AtLeast {
        n: u64,
        op: OpFilter,
        from_ms: u64,
        to_ms: u64,
    },
    /// The highest term (ballot, epoch) of any running node does not change in the
    /// interval.
    TermStable { from_ms: u64, to_ms: u64 },
    /// The node leading at `from_ms` is the only node that leads until `to_ms`.
    LeaderStable { from_ms: u64, to_ms: u64 },
    /// Messages sent per second in the interval, optionally of one kind (`vote`,
    /// `append`, ...), at most / at least a rate.
    Messages {
        kind: Option<String>,
        at_most_per_s: Option<f64>,
        at_least_per_s: Option<f64>,
        from_ms: u64,
        to_ms: u64,
    },
    /// Availability in the interval (operations answered by the cluster over operations
    /// completed, as in the metrics) at least / at most a fraction.
    Availability {
        at_least: Option<f64>,
        at_most: Option<f64>,
        from_ms: u64,
        to_ms: u64,
        /// Only the clients beside these nodes (one side of a partition); empty: all.
        nodes: Vec<NodeId>,
    },
    /// The client history is linearizable (`holds: false`: it is not, as a seeded bug
    /// or an unsafe mode should show).
    Linearizable { holds: bool },
    /// Node `node` has role `role` at time `at_ms`.
    Role {
        node: NodeId,
        role: RoleName,
        at_ms: u64,
    },
    /// At the end, every running node holds the same state (the replicated key-value
    /// contents, and the same log length).
    StateEqual {},
    /// At `at_ms`, node `node` (absent: every running node) suspects exactly `nodes`
    /// (a node never counts itself) — for failure detectors.
    Suspects {
        node: Option<NodeId>,
        nodes: Vec<NodeId>,
        at_ms: u64,
    },
    /// Suspicions that begin in the interval against a node that is alive (up or
    /// paused, whether or not a partition cuts it off): at least / at most this many.
    FalseSuspicions {
        at_least: Option<f64>,
        at_most: Option<f64>,
        from_ms: u64,
        to_ms: u64,
    },
    /// Spells that begin in the interval in which two or more nodes that are up or
    /// paused lead at once (for a lock service: two clients each believing it holds the
    /// lock, a mutual-exclusion violation): at least / at most this many.
    Overlaps {
        at_least: Option<f64>,
        at_most: Option<f64>,
        from_ms: u64,
        to_ms: u64,
    },
    /// The run's count of one kind of anomaly ([`crate::anomaly`]: lost writes, stale
    /// reads, split brain, divergent replicas, and the clients' broken session
    /// guarantees: read your writes, monotonic reads) is at least / at most this many.
    Anomaly {
        kind: crate::anomaly::AnomalyKind,
        at_least: Option<f64>,
        at_most: Option<f64>,
    },
}

/// Every field any expectation has, for reading and writing them as one plain
/// struct. `type` names the variant; each variant takes the fields listed in
/// [`FIELDS`].
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Flat {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    says: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    within_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    op: Option<OpFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_most_per_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_least_per_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_least: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_most: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holds: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<NodeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nodes: Option<Vec<NodeId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<RoleName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to_ms: Option<u64>,
}

/// Each expectation type with its fields: required ones first, then `?`-marked optional
/// ones.
pub const FIELDS: &[(&str, &[&str])] = &[
    ("leader", &["within_ms", "after_ms?"]),
    ("one_leader_per_term", &[]),
    ("no_commit", &["from_ms", "to_ms"]),
    ("at_least", &["n", "from_ms", "to_ms", "op?"]),
    ("term_stable", &["from_ms", "to_ms"]),
    ("leader_stable", &["from_ms", "to_ms"]),
    (
        "messages",
        &[
            "from_ms",
            "to_ms",
            "kind?",
            "at_most_per_s?",
            "at_least_per_s?",
        ],
    ),
    (
        "availability",
        &["from_ms", "to_ms", "at_least?", "at_most?", "nodes?"],
    ),
    ("linearizable", &["holds?"]),
    ("role", &["node", "role", "at_ms"]),
    ("state_equal", &[]),
    ("suspects", &["nodes", "at_ms", "node?"]),
    (
        "false_suspicions",
        &["from_ms", "to_ms", "at_least?", "at_most?"],
    ),
    ("anomaly", &["kind", "at_least?", "at_most?"]),
    ("overlaps", &["from_ms", "to_ms", "at_least?", "at_most?"]),
];

impl Flat {
    /// The names of the fields that are set, besides `type` and `says`.
    fn set(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        let mut f = |name: &'static str, on: bool| {
            if on {
                v.push(name)
            }
        };
        f("after_ms", self.after_ms.is_some());
        f("within_ms", self.within_ms.is_some());
        f("n", self.n.is_some());
        f("op", self.op.is_some());
        f("kind", self.kind.is_some());
        f("at_most_per_s", self.at_most_per_s.is_some());
        f("at_least_per_s", self.at_least_per_s.is_some());
        f("at_least", self.at_least.is_some());
        f("at_most", self.at_most.is_some());
        f("holds", self.holds.is_some());
        f("node", self.node.is_some());
        f("nodes", self.nodes.is_some());
        f("role", self.role.is_some());
        f("at_ms", self.at_ms.is_some());
        f("from_ms", self.from_ms.is_some());
        f("to_ms", self.to_ms.is_some());
        v
    }

    fn into_expectation(self) -> Result<Expectation, String> {
        let Some((ty, fields)) = FIELDS.iter().find(|(t, _)| *t == self.ty) else {
            let known: Vec<&str> = FIELDS.iter().map(|(t, _)| *t).collect();
            return Err(format!(
                "unknown expectation type `{}`, expected one of {}",
                self.ty,
                known.join(", ")
            ));
        };
        for f in self.set() {
            if !fields.iter().any(|x| x.trim_end_matches('?') == f) {
                return Err(format!(
                    "`{f}` is not a field of a `{ty}` expectation (it takes: {})",
                    if fields.is_empty() {
                        "no field but says".to_string()
                    } else {
                        fields.join(", ")
                    }
                ));
            }
        }
        let need = |v: Option<u64>, name: &str| -> Result<u64, String> {
            v.ok_or_else(|| format!("missing field `{name}` (a `{ty}` expectation needs it)"))
        };
        let interval = || -> Result<(u64, u64), String> {
            Ok((need(self.from_ms, "from_ms")?, need(self.to_ms, "to_ms")?))
        };
        let kind = match *ty {
            "leader" => ExpectKind::Leader {
                after_ms: self.after_ms.unwrap_or(0),
                within_ms: need(self.within_ms, "within_ms")?,
            },
            "one_leader_per_term" => ExpectKind::OneLeaderPerTerm {},
            "no_commit" => {
                let (from_ms, to_ms) = interval()?;
                ExpectKind::NoCommit { from_ms, to_ms }
            }
            "at_least" => {
                let (from_ms, to_ms) = interval()?;
                ExpectKind::AtLeast {
                    n: need(self.n, "n")?,
                    op: self.op.unwrap_or_default(),
                    from_ms,
                    to_ms,
                }
            }
            "term_stable" => {
                let (from_ms, to_ms) = interval()?;
                ExpectKind::TermStable { from_ms, to_ms }
            }
            "leader_stable" => {
                let (from_ms, to_ms) = interval()?;
                ExpectKind::LeaderStable { from_ms, to_ms }
            }
            "messages" => {
                let (from_ms, to_ms) = interval()?;
                ExpectKind::Messages {
                    kind: self.kind.clone(),
                    at_most_per_s: self.at_most_per_s,
                    at_least_per_s: self.at_least_per_s,
                    from_ms,
                    to_ms,
                }
            }
            "availability" => {
                let (from_ms, to_ms) = interval()?;
                ExpectKind::Availability {
                    at_least: self.at_least,
                    at_most: self.at_most,
                    from_ms,
                    to_ms,
                    nodes: self.nodes.clone().unwrap_or_default(),
                }
            }
            "linearizable" => ExpectKind::Linearizable {
                holds: self.holds.unwrap_or(true),
            },
            "role" => ExpectKind::Role {
                node: self
                    .node
                    .ok_or("missing field `node` (a `role` expectation needs it)")?,
                role: self
                    .role
                    .ok_or("missing field `role` (a `role` expectation needs it)")?,
                at_ms: need(self.at_ms, "at_ms")?,
            },
            "suspects" => ExpectKind::Suspects {
                node: self.node,
                nodes: self
                    .nodes
                    .clone()
                    .ok_or("missing field `nodes` (a `suspects` expectation needs it)")?,
                at_ms: need(self.at_ms, "at_ms")?,
            },
            "false_suspicions" => {
                let (from_ms, to_ms) = interval()?;
                ExpectKind::FalseSuspicions {
                    at_least: self.at_least,
                    at_most: self.at_most,
                    from_ms,
                    to_ms,
                }
            }
            "overlaps" => {
                let (from_ms, to_ms) = interval()?;
                ExpectKind::Overlaps {
                    at_least: self.at_least,
                    at_most: self.at_most,
                    from_ms,
                    to_ms,
                }
            }
            "anomaly" => {
                let name = self
                    .kind
                    .as_deref()
                    .ok_or("missing field `kind` (an `anomaly` expectation needs it)")?;
                let kind = crate::anomaly::AnomalyKind::parse(name).ok_or_else(|| {
                    let known: Vec<&str> = crate::anomaly::AnomalyKind::ALL
                        .iter()
                        .map(|k| k.name())
                        .collect();
                    format!(
                        "unknown anomaly kind `{name}`, expected one of {}",
                        known.join(", ")
                    )
                })?;
                ExpectKind::Anomaly {
                    kind,
                    at_least: self.at_least,
                    at_most: self.at_most,
                }
            }
            _ => ExpectKind::StateEqual {},
        };
        Ok(Expectation {
            says: self.says,
            kind,
        })
    }

    fn of(x: &Expectation) -> Flat {
        let mut f = Flat {
            says: x.says.clone(),
            ..Flat::default()
        };
        let ty = match &x.kind {
            ExpectKind::Leader {
                after_ms,
                within_ms,
            } => {
                f.after_ms = Some(*after_ms);
                f.within_ms = Some(*within_ms);
                "leader"
            }
            ExpectKind::OneLeaderPerTerm {} => "one_leader_per_term",
            ExpectKind::NoCommit { from_ms, to_ms } => {
                (f.from_ms, f.to_ms) = (Some(*from_ms), Some(*to_ms));
                "no_commit"
            }
            ExpectKind::AtLeast {
                n,
                op,
                from_ms,
                to_ms,
            } => {
                (f.from_ms, f.to_ms) = (Some(*from_ms), Some(*to_ms));
                f.n = Some(*n);
                f.op = Some(*op);
                "at_least"
            }
            ExpectKind::TermStable { from_ms, to_ms } => {
                (f.from_ms, f.to_ms) = (Some(*from_ms), Some(*to_ms));
                "term_stable"
            }
            ExpectKind::LeaderStable { from_ms, to_ms } => {
                (f.from_ms, f.to_ms) = (Some(*from_ms), Some(*to_ms));
                "leader_stable"
            }
            ExpectKind::Messages {
                kind,
                at_most_per_s,
                at_least_per_s,
                from_ms,
                to_ms,
            } => {
                (f.from_ms, f.to_ms) = (Some(*from_ms), Some(*to_ms));
                f.kind = kind.clone();
                f.at_most_per_s = *at_most_per_s;
                f.at_least_per_s = *at_least_per_s;
                "messages"
            }
            ExpectKind::Availability {
                at_least,
                at_most,
                from_ms,
                to_ms,
                nodes,
            } => {
                (f.from_ms, f.to_ms) = (Some(*from_ms), Some(*to_ms));
                f.at_least = *at_least;
                f.at_most = *at_most;
                f.nodes = (!nodes.is_empty()).then(|| nodes.clone());
                "availability"
            }
            ExpectKind::Linearizable { holds } => {
                f.holds = Some(*holds);
                "linearizable"
            }
            ExpectKind::Role { node, role, at_ms } => {
                f.node = Some(*node);
                f.role = Some(*role);
                f.at_ms = Some(*at_ms);
                "role"
            }
            ExpectKind::StateEqual {} => "state_equal",
            ExpectKind::Suspects { node, nodes, at_ms } => {
                f.node = *node;
                f.nodes = Some(nodes.clone());
                f.at_ms = Some(*at_ms);
                "suspects"
            }
            ExpectKind::FalseSuspicions {
                at_least,
                at_most,
                from_ms,
                to_ms,
            }
            | ExpectKind::Overlaps {
                at_least,
                at_most,
                from_ms,
                to_ms,
            } => {
                (f.from_ms, f.to_ms) = (Some(*from_ms), Some(*to_ms));
                f.at_least = *at_least;
                f.at_most = *at_most;
                if matches!(x.kind, ExpectKind::Overlaps { .. }) {
                    "overlaps"
                } else {
                    "false_suspicions"
                }
            }
            ExpectKind::Anomaly {
                kind,
                at_least,
                at_most,
            } => {
                f.kind = Some(kind.name().to_string());
                f.at_least = *at_least;
                f.at_most = *at_most;
                "anomaly"
            }
        };
        f.ty = ty.to_string();
        f
    }
}

impl Serialize for Expectation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Flat::of(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Expectation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Flat::deserialize(d)?
            .into_expectation()
            .map_err(serde::de::Error::custom)
    }
}

/// Where an expectation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectStatus {
    /// Not decided yet (the run has not reached the moment that decides it).
    Pending,
    Passed,
    Failed,
}

/// An expectation's outcome, as `quorumlab run` prints it and the page ticks it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectOutcome {
    /// What is expected, in words generated from the expectation.
    pub what: String,
    /// The teacher's words, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub says: String,
    pub status: ExpectStatus,
    /// When it was decided, in simulated ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<f64>,
    /// Why it passed or failed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl ExpectKind {
    /// What is expected, in words.
    pub fn describe(&self) -> String {
        match self {
            ExpectKind::Leader {
                after_ms,
                within_ms,
            } => format!("a leader within {within_ms} ms after {after_ms} ms"),
            ExpectKind::OneLeaderPerTerm {} => "at most one leader per term".into(),
            ExpectKind::NoCommit { from_ms, to_ms } => {
                format!("no write succeeds in [{from_ms}, {to_ms}) ms")
            }
            ExpectKind::AtLeast {
                n,
                op,
                from_ms,
                to_ms,
            } => format!(
                "at least {n} successful {} in [{from_ms}, {to_ms}) ms",
                op.word()
            ),
            ExpectKind::TermStable { from_ms, to_ms } => {
                format!("the term does not change in [{from_ms}, {to_ms}) ms")
            }
            ExpectKind::LeaderStable { from_ms, to_ms } => {
                format!("the leader does not change in [{from_ms}, {to_ms}) ms")
            }
            ExpectKind::Messages {
                kind,
                at_most_per_s,
                at_least_per_s,
                from_ms,
                to_ms,
            } => {
                let what = kind
                    .as_ref()
                    .map(|k| format!("'{k}' messages"))
                    .unwrap_or_else(|| "messages".into());
                let bound = bounds(
                    at_least_per_s,
                    at_most_per_s,
                    |x| x.to_string(),
                    "any number of",
                );
                format!("{bound} {what} per second in [{from_ms}, {to_ms}) ms")
            }
            ExpectKind::Availability {
                at_least,
                at_most,
                from_ms,
                to_ms,
                nodes,
            } => {
                let side = if nodes.is_empty() {
                    String::new()
                } else {
                    format!(" for the clients beside nodes {nodes:?}")
                };
                let bound = bounds(at_least, at_most, pct, "any");
                format!("availability {bound}{side} in [{from_ms}, {to_ms}) ms")
            }
            ExpectKind::Linearizable { holds: true } => "the history is linearizable".into(),
            ExpectKind::Linearizable { holds: false } => "the history is not linearizable".into(),
            ExpectKind::Role { node, role, at_ms } => {
                format!("node {node} is {} at {at_ms} ms", role_word(*role))
            }
            ExpectKind::StateEqual {} => {
                "every running node holds the same state at the end".into()
            }
            ExpectKind::Suspects { node, nodes, at_ms } => {
                let who = node
                    .map(|n| format!("node {n} suspects"))
                    .unwrap_or_else(|| "every running node suspects".into());
                if nodes.is_empty() {
                    format!("{who} nobody at {at_ms} ms")
                } else {
                    format!("{who} exactly {nodes:?} at {at_ms} ms")
                }
            }
            ExpectKind::FalseSuspicions {
                at_least,
                at_most,
                from_ms,
                to_ms,
            } => {
                let bound = bounds(at_least, at_most, |x| x.to_string(), "any number of");
                format!("{bound} false suspicions in [{from_ms}, {to_ms}) ms")
            }
            ExpectKind::Overlaps {
                at_least,
                at_most,
                from_ms,
                to_ms,
            } => {
                let bound = match (at_least, at_most) {
                    (None, Some(b)) if *b == 0.0 => "never".into(),
                    _ => bounds(at_least, at_most, |x| x.to_string(), "any number of"),
                };
                format!("{bound} spells of two nodes leading at once (two lock holders) beginning in [{from_ms}, {to_ms}) ms")
            }
            ExpectKind::Anomaly {
                kind,
                at_least,
                at_most,
            } => {
                let bound = match (at_least, at_most) {
                    (None, Some(b)) if *b == 0.0 => "no".into(),
                    _ => bounds(at_least, at_most, |x| x.to_string(), "any number of"),
                };
                format!("{bound} {}", kind.words())
            }
        }
    }

    /// Problems with this expectation for a run of `duration_ms` over `n` nodes of a
    /// protocol that elects a leader or not, as `(field, message)`.
    pub fn problems(
        &self,
        duration_ms: u64,
        n: usize,
        has_leader: bool,
    ) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut interval = |from: u64, to: u64| {
            if to <= from {
                out.push(("to_ms", format!("must be after from_ms ({from})")));
            } else if to > duration_ms {
                out.push((
                    "to_ms",
                    format!("{to} is after the end of the run ({duration_ms} ms)"),
                ));
            }
        };
        match self {
            ExpectKind::NoCommit { from_ms, to_ms }
            | ExpectKind::AtLeast { from_ms, to_ms, .. }
            | ExpectKind::TermStable { from_ms, to_ms }
            | ExpectKind::LeaderStable { from_ms, to_ms }
            | ExpectKind::Messages { from_ms, to_ms, .. }
            | ExpectKind::Availability { from_ms, to_ms, .. }
            | ExpectKind::FalseSuspicions { from_ms, to_ms, .. }
            | ExpectKind::Overlaps { from_ms, to_ms, .. } => interval(*from_ms, *to_ms),
            _ => {}
        }
        let leaderless = |out: &mut Vec<(&'static str, String)>, field: &'static str| {
            if !has_leader {
                out.push((
                    field,
                    "this protocol has no leader: choose an expectation about operations, \
                     messages or availability"
                        .into(),
                ));
            }
        };
        match self {
            ExpectKind::Leader {
                after_ms,
                within_ms,
            } => {
                leaderless(&mut out, "type");
                if after_ms + within_ms > duration_ms {
                    out.push((
                        "within_ms",
                        format!(
                            "after_ms + within_ms = {} is after the end of the run ({duration_ms} ms)",
                            after_ms + within_ms
                        ),
                    ));
                }
            }
            ExpectKind::OneLeaderPerTerm {} | ExpectKind::LeaderStable { .. } => {
                leaderless(&mut out, "type")
            }
            ExpectKind::Role { node, role, at_ms } => {
                if *node as usize >= n {
                    out.push((
                        "node",
                        format!("no node {node}: the cluster has {n} (0..{n})"),
                    ));
                }
                if matches!(role, RoleName::Leader | RoleName::Follower) {
                    leaderless(&mut out, "role");
                }
                if *at_ms > duration_ms {
                    out.push((
                        "at_ms",
                        format!("{at_ms} is after the end of the run ({duration_ms} ms)"),
                    ));
                }
            }
            ExpectKind::Messages {
                at_most_per_s,
                at_least_per_s,
                ..
            } => {
                if at_most_per_s.is_none() && at_least_per_s.is_none() {
                    out.push((
                        "at_most_per_s",
                        "give at_most_per_s or at_least_per_s".into(),
                    ));
                }
                for (f, v) in [
                    ("at_most_per_s", at_most_per_s),
                    ("at_least_per_s", at_least_per_s),
                ] {
                    if v.is_some_and(|v| !(v >= 0.0 && v.is_finite())) {
                        out.push((
                            f,
                            "must be a number of messages per second, at least 0".into(),
                        ));
                    }
                }
            }
            ExpectKind::Availability {
                at_least,
                at_most,
                nodes,
                ..
            } => {
                if let Some(x) = nodes.iter().find(|x| **x as usize >= n) {
                    out.push((
                        "nodes",
                        format!("no node {x}: the cluster has {n} (0..{n})"),
                    ));
                }
                if at_least.is_none() && at_most.is_none() {
                    out.push((
                        "at_least",
                        "give at_least or at_most (a fraction, 0 to 1)".into(),
                    ));
                }
                for (f, v) in [("at_least", at_least), ("at_most", at_most)] {
                    if v.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
                        out.push((f, "must be a fraction between 0 and 1".into()));
                    }
                }
            }
            ExpectKind::Suspects { node, nodes, at_ms } => {
                if node.is_some_and(|x| x as usize >= n) {
                    out.push((
                        "node",
                        format!("no such node: the cluster has {n} (0..{n})"),
                    ));
                }
                if let Some(x) = nodes.iter().find(|x| **x as usize >= n) {
                    out.push((
                        "nodes",
                        format!("no node {x}: the cluster has {n} (0..{n})"),
                    ));
                }
                if *at_ms > duration_ms {
                    out.push((
                        "at_ms",
                        format!("{at_ms} is after the end of the run ({duration_ms} ms)"),
                    ));
                }
            }
            ExpectKind::FalseSuspicions {
                at_least, at_most, ..
            }
            | ExpectKind::Overlaps {
                at_least, at_most, ..
            }
            | ExpectKind::Anomaly {
                at_least, at_most, ..
            } => {
                if at_least.is_none() && at_most.is_none() {
                    out.push(("at_least", "give at_least or at_most (a count)".into()));
                }
                for (f, v) in [("at_least", at_least), ("at_most", at_most)] {
                    if v.is_some_and(|v| !(v >= 0.0 && v.fract() == 0.0 && v < 1e15)) {
                        out.push((f, "must be a whole number, at least 0".into()));
                    }
                }
            }
            ExpectKind::AtLeast { n, .. } if *n == 0 => {
                out.push(("n", "at least 0 always holds: give 1 or more".into()));
            }
            _ => {}
        }
        out
    }
}

/// `between a and b`, `at least a`, `at most b`, or `any` (each bound shown by `show`).
fn bounds(
    at_least: &Option<f64>,
    at_most: &Option<f64>,
    show: impl Fn(f64) -> String,
    any: &str,
) -> String {
    match (at_least, at_most) {
        (Some(a), Some(b)) => format!("between {} and {}", show(*a), show(*b)),
        (Some(a), None) => format!("at least {}", show(*a)),
        (None, Some(b)) => format!("at most {}", show(*b)),
        (None, None) => any.into(),
    }
}

fn pct(x: f64) -> String {
    format!("{}%", (x * 1000.0).round() / 10.0)
}

fn role_word(r: RoleName) -> &'static str {
    match r {
        RoleName::Leader => "leader",
        RoleName::Follower => "a follower",
        RoleName::Up => "up",
        RoleName::Down => "down",
        RoleName::Paused => "paused",
    }
}

fn ms(t: Time) -> f64 {
    t as f64 / MS as f64
}

/// What a node's host knows of it after its last event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeProbe {
    pub leader: bool,
    pub epoch: u64,
    pub log_len: u64,
    /// Whom it suspects, a bit per node.
    pub suspects: u64,
}

/// What the simulator shows the tracker after each step: every node's status and the
/// flags its host keeps.
pub struct Probe<'a> {
    pub status: &'a [Status],
    pub nodes: &'a [NodeProbe],
}

/// Running counters of one expectation.
#[derive(Clone, Debug, Default)]
struct Counts {
    ok: u64,
    completed: u64,
    answered: u64,
    messages: u64,
    /// A value noted at the start of the interval (term, leader).
    start: Option<u64>,
    /// Terms seen led, with their leader (for one-leader-per-term).
    led: Vec<(u64, NodeId)>,
    /// The first spell counted, in words (for overlaps).
    first: String,
}

/// The expectations of one run and where each stands.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    list: Vec<Expectation>,
    counts: Vec<Counts>,
    out: Vec<ExpectOutcome>,
    /// Whether some expectation counts messages (the engine skips the hook otherwise).
    pub wants_messages: bool,
    /// Whom each node suspected at the last step (for false suspicions).
    prev_suspects: Vec<u64>,
    /// Whether two nodes led at once at the last step (for overlaps).
    prev_overlap: bool,
}

impl Tracker {
    pub fn new(list: &[Expectation]) -> Tracker {
        Tracker {
            counts: vec![Counts::default(); list.len()],
            out: list
                .iter()
                .map(|e| ExpectOutcome {
                    what: e.kind.describe(),
                    says: e.says.clone(),
                    status: ExpectStatus::Pending,
                    at_ms: None,
                    detail: String::new(),
                })
                .collect(),
            wants_messages: list
                .iter()
                .any(|e| matches!(e.kind, ExpectKind::Messages { .. })),
            list: list.to_vec(),
            prev_suspects: Vec::new(),
            prev_overlap: false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn outcomes(&self) -> &[ExpectOutcome] {
        &self.out
    }

    fn decide(&mut self, i: usize, pass: bool, at: Time, detail: String) {
        let o = &mut self.out[i];
        if o.status == ExpectStatus::Pending {
            o.status = if pass {
                ExpectStatus::Passed
            } else {
                ExpectStatus::Failed
            };
            o.at_ms = Some(ms(at));
            o.detail = detail;
        }
    }

    /// A client operation completed at `now`: `write` tells a write or CAS from a read;
    /// `answered`: the cluster answered (ok or a definite failure).
    pub fn on_complete(
        &mut self,
        now: Time,
        home: NodeId,
        write: bool,
        kind: EventType,
        answered: bool,
    ) {
        for i in 0..self.list.len() {
            if self.out[i].status != ExpectStatus::Pending {
                continue;
            }
            match self.list[i].kind {
                ExpectKind::NoCommit { from_ms, to_ms }
                    if write && kind == EventType::Ok && in_interval(now, from_ms, to_ms) =>
                {
                    self.decide(i, false, now, "a write succeeded".into());
                }
                ExpectKind::AtLeast {
                    n,
                    op,
                    from_ms,
                    to_ms,
                } if kind == EventType::Ok && in_interval(now, from_ms, to_ms) => {
                    let counted = match op {
                        OpFilter::Any => true,
                        OpFilter::Write => write,
                        OpFilter::Read => !write,
                    };
                    if counted {
                        let c = &mut self.counts[i];
                        c.ok += 1;
                        if c.ok >= n {
                            let what = op.word();
                            self.decide(i, true, now, format!("{n} successful {what}"));
                        }
                    }
                }
                ExpectKind::Availability {
                    from_ms,
                    to_ms,
                    ref nodes,
                    ..
                } if in_interval(now, from_ms, to_ms)
                    && (nodes.is_empty() || nodes.contains(&home)) =>
                {
                    let c = &mut self.counts[i];
                    c.completed += 1;
                    c.answered += u64::from(answered);
                }
                _ => {}
            }
        }
    }

    /// A message of kind `kind` was sent at `now`.
    pub fn on_send(&mut self, now: Time, kind: &str) {
        for i in 0..self.list.len() {
            if let ExpectKind::Messages {
                kind: want,
                from_ms,
                to_ms,
                ..
            } = &self.list[i].kind
            {
                if in_interval(now, *from_ms, *to_ms) && want.as_deref().is_none_or(|w| w == kind) {
                    self.counts[i].messages += 1;
                }
            }
        }
    }

    /// Everything before `t` has happened (the next step starts at `t`): decide what the
    /// state after the last step decides. `now` is the time of the last step.
    pub fn observe(&mut self, now: Time, t: Time, p: &Probe<'_>) {
        let leaders = || {
            p.nodes
                .iter()
                .zip(p.status)
                .enumerate()
                .filter(|(_, (n, s))| n.leader && **s == Status::Up)
                .map(|(i, (n, _))| (i as NodeId, n.epoch))
        };
        let top_term = || {
            p.nodes
                .iter()
                .zip(p.status)
                .filter(|(_, s)| matches!(s, Status::Up | Status::Paused))
                .map(|(n, _)| n.epoch)
                .max()
                .unwrap_or(0)
        };
        // Suspicions that began since the last step, of nodes alive (up or paused: a
        // partition makes them look dead, which is the lesson, but they are not).
        let mut false_new = 0u64;
        if self
            .list
            .iter()
            .any(|x| matches!(x.kind, ExpectKind::FalseSuspicions { .. }))
        {
            self.prev_suspects.resize(p.nodes.len(), 0);
            for (i, n) in p.nodes.iter().enumerate() {
                let began = if p.status[i] == Status::Up {
                    n.suspects & !self.prev_suspects[i]
                } else {
                    0
                };
                for j in 0..p.nodes.len().min(64) {
                    if began & (1 << j) != 0 && matches!(p.status[j], Status::Up | Status::Paused) {
                        false_new += 1;
                    }
                }
                self.prev_suspects[i] = if p.status[i] == Status::Up {
                    n.suspects
                } else {
                    0
                };
            }
        }
        // A spell of two or more nodes leading at once (up or paused: a paused lock
        // client still believes it holds the lock) that began at this step.
        let mut overlap_new: Option<String> = None;
        if self
            .list
            .iter()
            .any(|x| matches!(x.kind, ExpectKind::Overlaps { .. }))
        {
            let who: Vec<usize> = (0..p.nodes.len())
                .filter(|&i| {
                    p.nodes[i].leader && matches!(p.status[i], Status::Up | Status::Paused)
                })
                .collect();
            let now_overlap = who.len() >= 2;
            if now_overlap && !self.prev_overlap {
                overlap_new = Some(format!("nodes {who:?} at {} ms", ms(now)));
            }
            self.prev_overlap = now_overlap;
        }
        // Borrowed out of `self` for the loop (cloning each kind every step allocated).
        let list = std::mem::take(&mut self.list);
        for (i, x) in list.iter().enumerate() {
            if self.out[i].status != ExpectStatus::Pending {
                continue;
            }
            match x.kind {
                ExpectKind::FalseSuspicions { from_ms, to_ms, .. }
                    if now >= from_ms * MS && now < to_ms * MS =>
                {
                    self.counts[i].messages += false_new;
                }
                ExpectKind::Overlaps { from_ms, to_ms, .. }
                    if now >= from_ms * MS && now < to_ms * MS =>
                {
                    if let Some(w) = &overlap_new {
                        let c = &mut self.counts[i];
                        c.messages += 1;
                        if c.first.is_empty() {
                            c.first = w.clone();
                        }
                    }
                }
                ExpectKind::Suspects {
                    node,
                    ref nodes,
                    at_ms,
                } if t > at_ms * MS => {
                    let at = at_ms * MS;
                    let want = |me: usize| {
                        nodes
                            .iter()
                            .filter(|x| **x as usize != me && **x < 64)
                            .fold(0u64, |m, x| m | 1 << x)
                    };
                    let who: Vec<usize> = match node {
                        Some(x) => vec![x as usize],
                        None => (0..p.nodes.len())
                            .filter(|&i| p.status[i] == Status::Up)
                            .collect(),
                    };
                    let wrong = who.iter().find(|&&i| {
                        p.status.get(i) != Some(&Status::Up) || p.nodes[i].suspects != want(i)
                    });
                    match wrong {
                        None => self.decide(i, true, at, format!("{} nodes checked", who.len())),
                        Some(&w) if p.status.get(w) != Some(&Status::Up) => {
                            self.decide(i, false, at, format!("node {w} is not running"))
                        }
                        Some(&w) => {
                            let got: Vec<usize> = (0..64)
                                .filter(|b| p.nodes[w].suspects & (1 << b) != 0)
                                .collect();
                            self.decide(i, false, at, format!("node {w} suspects {got:?}"))
                        }
                    }
                }
                ExpectKind::Leader {
                    after_ms,
                    within_ms,
                } => {
                    let start = after_ms * MS;
                    let deadline = (after_ms + within_ms) * MS;
                    if now >= start && now <= deadline {
                        if let Some((l, term)) = leaders().next() {
                            self.decide(i, true, now, format!("node {l} leads (term {term})"));
                            continue;
                        }
                    }
                    if t > deadline {
                        self.decide(
                            i,
                            false,
                            deadline,
                            format!(
                                "no node led between {after_ms} and {} ms",
                                after_ms + within_ms
                            ),
                        );
                    }
                }
                ExpectKind::OneLeaderPerTerm {} => {
                    let seen: Vec<(NodeId, u64)> = leaders().collect();
                    for (node, term) in seen {
                        let led = &mut self.counts[i].led;
                        match led.iter().find(|(t, _)| *t == term) {
                            Some((_, other)) if *other != node => {
                                let other = *other;
                                self.decide(
                                    i,
                                    false,
                                    now,
                                    format!("nodes {other} and {node} both led in term {term}"),
                                );
                                break;
                            }
                            Some(_) => {}
                            None => led.push((term, node)),
                        }
                    }
                }
                ExpectKind::TermStable { from_ms, to_ms } => {
                    if now >= from_ms * MS && now < to_ms * MS {
                        let term = top_term();
                        match self.counts[i].start {
                            None => self.counts[i].start = Some(term),
                            Some(s) if s != term => {
                                self.decide(
                                    i,
                                    false,
                                    now,
                                    format!("the term went from {s} to {term}"),
                                );
                                continue;
                            }
                            Some(_) => {}
                        }
                    }
                    if t >= to_ms * MS {
                        let term = self.counts[i].start.unwrap_or_else(top_term);
                        self.decide(i, true, to_ms * MS, format!("the term stayed {term}"));
                    }
                }
                ExpectKind::LeaderStable { from_ms, to_ms } => {
                    if now >= from_ms * MS && now < to_ms * MS {
                        let mut ls = leaders();
                        match self.counts[i].start {
                            None => match ls.next() {
                                Some((l, _)) => self.counts[i].start = Some(l as u64),
                                None => {
                                    self.decide(
                                        i,
                                        false,
                                        now,
                                        "no node led at the start of the interval".into(),
                                    );
                                    continue;
                                }
                            },
                            Some(first) => {
                                if let Some((l, _)) = ls.find(|(l, _)| *l as u64 != first) {
                                    self.decide(
                                        i,
                                        false,
                                        now,
                                        format!("node {l} led instead of node {first}"),
                                    );
                                    continue;
                                }
                            }
                        }
                    }
                    if t >= to_ms * MS {
                        match self.counts[i].start {
                            Some(l) => {
                                self.decide(i, true, to_ms * MS, format!("node {l} led throughout"))
                            }
                            None => self.decide(
                                i,
                                false,
                                to_ms * MS,
                                "no node led in the interval".into(),
                            ),
                        }
                    }
                }
                ExpectKind::Role { node, role, at_ms } if t > at_ms * MS => {
                    let s = p.status.get(node as usize).copied();
                    let leads = p.nodes.get(node as usize).is_some_and(|n| n.leader);
                    let actual = match s {
                        Some(Status::Up) if leads => RoleName::Leader,
                        Some(Status::Up) => RoleName::Follower,
                        Some(Status::Paused) => RoleName::Paused,
                        _ => RoleName::Down,
                    };
                    let pass = actual == role || (role == RoleName::Up && s == Some(Status::Up));
                    let at = at_ms * MS;
                    self.decide(
                        i,
                        pass,
                        at,
                        format!("node {node} was {}", role_word(actual)),
                    );
                }
                _ => {}
            }
        }
        self.list = list;
        self.close_intervals(t);
    }

    /// Decide the counted expectations whose interval ended before `t`.
    fn close_intervals(&mut self, t: Time) {
        for i in 0..self.list.len() {
            if self.out[i].status != ExpectStatus::Pending {
                continue;
            }
            let c = &self.counts[i];
            let (ok, messages, completed, answered) = (c.ok, c.messages, c.completed, c.answered);
            match self.list[i].kind.clone() {
                ExpectKind::NoCommit { to_ms, .. } if t >= to_ms * MS => {
                    self.decide(i, true, to_ms * MS, "no write succeeded".into());
                }
                ExpectKind::AtLeast { n, op, to_ms, .. } if t >= to_ms * MS => {
                    self.decide(
                        i,
                        false,
                        to_ms * MS,
                        format!("only {ok} successful {} (expected {n})", op.word()),
                    );
                }
                ExpectKind::Messages {
                    at_most_per_s,
                    at_least_per_s,
                    from_ms,
                    to_ms,
                    ..
                } if t >= to_ms * MS => {
                    let rate = messages as f64 * 1000.0 / (to_ms - from_ms).max(1) as f64;
                    let pass = at_most_per_s.is_none_or(|a| rate <= a)
                        && at_least_per_s.is_none_or(|b| rate >= b);
                    self.decide(
                        i,
                        pass,
                        to_ms * MS,
                        format!("{messages} messages: {rate:.1} per second"),
                    );
                }
                ExpectKind::FalseSuspicions {
                    at_least,
                    at_most,
                    to_ms,
                    ..
                } if t >= to_ms * MS => {
                    // Counted in `messages`.
                    let c = messages as f64;
                    let pass = within(c, at_least, at_most);
                    self.decide(i, pass, to_ms * MS, format!("{messages} false suspicions"));
                }
                ExpectKind::Overlaps {
                    at_least,
                    at_most,
                    to_ms,
                    ..
                } if t >= to_ms * MS => {
                    let c = messages as f64;
                    let pass = within(c, at_least, at_most);
                    let first = &self.counts[i].first;
                    let detail = if first.is_empty() {
                        "no two nodes led at once".to_string()
                    } else {
                        format!("{messages} spells of two leaders at once, the first {first}")
                    };
                    self.decide(i, pass, to_ms * MS, detail);
                }
                ExpectKind::Availability {
                    at_least,
                    at_most,
                    to_ms,
                    ..
                } if t >= to_ms * MS => {
                    if completed == 0 {
                        let pass = at_least.is_none();
                        self.decide(
                            i,
                            pass,
                            to_ms * MS,
                            "no operation completed in the interval".into(),
                        );
                    } else {
                        let a = answered as f64 / completed as f64;
                        let pass =
                            at_least.is_none_or(|x| a >= x) && at_most.is_none_or(|x| a <= x);
                        self.decide(
                            i,
                            pass,
                            to_ms * MS,
                            format!("{answered} of {completed} operations answered ({})", pct(a)),
                        );
                    }
                }
                _ => {}
            }
        }
    }

    /// The run is over at `end` (`complete`), or stopped early at a violation: decide
    /// everything the run's course decides. What needs the end state or the history's
    /// verdict is left to [`decide_end`].
    pub fn finish(&mut self, end: Time, complete: bool) {
        if complete {
            self.close_intervals(Time::MAX);
        }
        for i in 0..self.list.len() {
            if self.out[i].status != ExpectStatus::Pending {
                continue;
            }
            match &self.list[i].kind {
                ExpectKind::OneLeaderPerTerm {} if complete => {
                    let terms = self.counts[i].led.len();
                    self.decide(i, true, end, format!("{terms} terms led, each by one node"));
                }
                ExpectKind::Linearizable { .. }
                | ExpectKind::StateEqual {}
                | ExpectKind::Anomaly { .. } => {}
                _ if !complete => {
                    self.decide(
                        i,
                        false,
                        end,
                        "the run stopped before this was decided".into(),
                    );
                }
                _ => {}
            }
        }
    }
}

/// The history check's verdict, as an expectation sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryVerdict {
    Linearizable,
    NotLinearizable,
    /// The checker ran out of its budget.
    Unknown(String),
    /// No verdict (the check was off, the history empty or malformed), and why.
    None(String),
}

/// Decide what only the end of a run decides: the history check's verdict
/// and whether the running nodes hold equal state (`views` at the end, when the runtime has
/// them).
pub fn decide_end(
    list: &[Expectation],
    out: &mut [ExpectOutcome],
    end: Time,
    linearizable: HistoryVerdict,
    views: Option<&[Option<NodeView>]>,
    anomalies: Option<&crate::anomaly::Anomalies>,
) {
    for (x, o) in list.iter().zip(out.iter_mut()) {
        if o.status != ExpectStatus::Pending {
            continue;
        }
        let (pass, detail) = match &x.kind {
            ExpectKind::Linearizable { holds } => match &linearizable {
                HistoryVerdict::Linearizable => (*holds, "the checker found an order".into()),
                HistoryVerdict::NotLinearizable => {
                    (!*holds, "the checker proved there is no order".into())
                }
                HistoryVerdict::None(why) => (false, format!("no verdict: {why}")),
                HistoryVerdict::Unknown(why) => {
                    // Not a pass, not a fail: the run's outcome is "unknown".
                    o.detail = format!("the checker could not decide: {why}");
                    continue;
                }
            },
            ExpectKind::StateEqual {} => match views {
                Some(v) => state_equal(v),
                None => continue,
            },
            ExpectKind::Anomaly {
                kind,
                at_least,
                at_most,
            } => match anomalies {
                None => continue,
                Some(a) if !a.measured(*kind) => {
                    let why = a
                        .unmeasured
                        .iter()
                        .find(|u| u.starts_with(kind.name()))
                        .cloned()
                        .unwrap_or_default();
                    (false, format!("not measured in this run ({why})"))
                }
                Some(a) => {
                    let n = a.count(*kind) as f64;
                    let pass = at_least.is_none_or(|x| n >= x) && at_most.is_none_or(|x| n <= x);
                    let extra = match kind {
                        crate::anomaly::AnomalyKind::SplitBrain => {
                            format!(" ({:.0} ms in all)", a.split_brain_ms)
                        }
                        // Whose sessions: a student wants to know which client to
                        // follow in the history.
                        crate::anomaly::AnomalyKind::ReadYourWrites
                        | crate::anomaly::AnomalyKind::MonotonicRead
                            if n > 0.0 =>
                        {
                            let per: Vec<String> = a
                                .by_client
                                .iter()
                                .map(|c| (c.client, a.of_client(c.client, *kind)))
                                .filter(|(_, k)| *k > 0)
                                .map(|(c, k)| format!("client {c}: {k}"))
                                .collect();
                            format!(" ({})", per.join(", "))
                        }
                        _ => String::new(),
                    };
                    (pass, format!("{n} {}{extra}", kind.words()))
                }
            },
            _ => continue,
        };
        o.status = if pass {
            ExpectStatus::Passed
        } else {
            ExpectStatus::Failed
        };
        o.at_ms = Some(ms(end));
        o.detail = detail;
    }
}

fn in_interval(t: Time, from_ms: u64, to_ms: u64) -> bool {
    t >= from_ms * MS && t < to_ms * MS
}

/// Whether every running node holds the same state machine and log length.
pub fn state_equal(views: &[Option<NodeView>]) -> (bool, String) {
    let live: Vec<(usize, &NodeView)> = views
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.as_ref().map(|v| (i, v)))
        .collect();
    let Some((first, v0)) = live.first() else {
        return (false, "no node is running".into());
    };
    for (i, v) in &live[1..] {
        let (kv, kv0) = (v.kv(), v0.kv());
        if kv != kv0 {
            let key = kv
                .iter()
                .find(|(k, x)| kv0.get(*k) != Some(x))
                .map(|(k, _)| k.clone())
                .or_else(|| kv0.keys().find(|k| !kv.contains_key(*k)).cloned())
                .unwrap_or_default();
            return (
                false,
                format!(
                    "nodes {first} and {i} differ on key '{key}' ({:?} vs {:?})",
                    kv0.get(&key),
                    kv.get(&key)
                ),
            );
        }
        if v.applied_index() != v0.applied_index() {
            return (
                false,
                format!(
                    "node {first} applied {} entries, node {i} applied {}",
                    v0.applied_index(),
                    v.applied_index()
                ),
            );
        }
    }
    (
        true,
        format!(
            "{} running nodes hold {} keys each",
            live.len(),
            v0.kv().len()
        ),
    )
}

/// Whether count `c` is within the optional bounds of a counting expectation.
fn within(c: f64, at_least: Option<f64>, at_most: Option<f64>) -> bool {
    at_least.is_none_or(|x| c >= x) && at_most.is_none_or(|x| c <= x)
}
