//! Anomalies: what went wrong for the clients, classified and counted, each with the
//! operations, nodes and moments involved.
//!
//! The linearizability checker says *whether* a history has an order; replication
//! systems that are not consensus (asynchronous primary-backup, an unfenced failover,
//! lease reads under clock skew) break it in a few recognisable ways, and a student
//! learns more from "write x=7, acknowledged at 1.32 s, is not on the new primary" than
//! from "no order exists". Four kinds, any protocol:
//!
//! - **lost write**: a write (or successful cas) acknowledged to its client whose log
//!   position is not in the final authority's log (the live leader of the highest
//!   epoch, else the most up-to-date live node): the entry is missing, or another epoch's
//!   entry sits there. Needs the protocol to say where it committed (`ClientReply.at`).
//!   A leaderless store has no such authority: there the newest version of a key on
//!   any running replica is the cluster's, and an acknowledged write is lost when an
//!   older write ended up newer (last-writer-wins with a skewed clock).
//! - **stale read**: a read returned a value older than a write that was acknowledged
//!   before the read began (the value's write finished before that write started, or sits
//!   at an earlier log position). Every stale read makes the history non-linearizable.
//! - **split brain**: two nodes of different epochs both accepting writes that were then
//!   acknowledged, at overlapping times. A node's serving span is, per (node, epoch),
//!   from the acceptance of the first to the last write it accepted and acknowledged.
//!   Acceptance is the request's first arrival at the node in its current epoch, and not
//!   before it started to lead; not reply times: a Raft leader may acknowledge an old
//!   write late (its followers' answers were delayed) after a newer leader began, a
//!   deposed leader may answer a retry from its session table, and neither is two nodes
//!   accepting at once.
//! - **divergent replica**: after the run healed and settled (the convergence check's
//!   moment), a live node whose key-value state differs from the authority's.
//!
//! Two more are session guarantees, judged per client (a client runs one operation at
//! a time, so its operations are a sequence): what one client sees of its own writes and
//! of its earlier reads, the promises a store makes to a session even when it is not
//! linearizable (and that a sloppy quorum breaks).
//!
//! - **read-your-writes violation**: a client reads a key after its own write (append,
//!   successful cas) to it was acknowledged, and gets something older: a value whose
//!   write finished before its own began or sits at an earlier log position of the same
//!   epoch, nil, or a string lacking its own piece.
//! - **monotonic-read violation**: a client reads a key, later reads it again and gets
//!   something older than before (older as above; nil after a value; a string that does
//!   not extend the earlier one).
//!
//! Both are judged by value only where a value says which write wrote it; each implies
//! the history is not linearizable, and a read-your-writes violation is also a stale
//! read (the client's own write was acknowledged before the read began).
//!
//! Pure functions of the history, the serving spans the engine recorded and the nodes'
//! views at the end: the same natively, on the page's thread and with workers (the page
//! computes them from its own replica of the run).

use crate::history::{EventType, Func, History, Value};
use quorumlab_core::{NodeId, NodeView, Time, Val, MS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// At most this many anomalies are listed (the counts stay exact).
pub const LIST_CAP: usize = 200;

/// The kinds of anomaly, as scenarios name them (`expect`'s `anomaly` kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    LostWrite,
    StaleRead,
    SplitBrain,
    Divergent,
    ReadYourWrites,
    MonotonicRead,
    /// A read returned siblings: concurrent versions a store with version vectors kept.
    Siblings,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 7] = [
        AnomalyKind::LostWrite,
        AnomalyKind::StaleRead,
        AnomalyKind::SplitBrain,
        AnomalyKind::Divergent,
        AnomalyKind::ReadYourWrites,
        AnomalyKind::MonotonicRead,
        AnomalyKind::Siblings,
    ];
    /// The name scenarios use.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::LostWrite => "lost_write",
            AnomalyKind::StaleRead => "stale_read",
            AnomalyKind::SplitBrain => "split_brain",
            AnomalyKind::Divergent => "divergent",
            AnomalyKind::ReadYourWrites => "read_your_writes",
            AnomalyKind::MonotonicRead => "monotonic_read",
            AnomalyKind::Siblings => "siblings",
        }
    }
    pub fn parse(s: &str) -> Option<AnomalyKind> {
        AnomalyKind::ALL.into_iter().find(|k| k.name() == s)
    }
    /// In words, plural.
    pub fn words(self) -> &'static str {
        match self {
            AnomalyKind::LostWrite => "acknowledged writes lost",
            AnomalyKind::StaleRead => "stale reads",
            AnomalyKind::SplitBrain => "split-brain intervals",
            AnomalyKind::Divergent => "divergent replicas",
            AnomalyKind::ReadYourWrites => "read-your-writes violations",
            AnomalyKind::MonotonicRead => "monotonic-read violations",
            AnomalyKind::Siblings => "reads that returned siblings",
        }
    }
}

/// One anomaly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// When it shows: the lost write's acknowledgement, the stale (or session-violating)
    /// read's answer, the start of a split brain, the end of the run for a divergent
    /// replica.
    pub at_ms: f64,
    /// The end of a split brain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<f64>,
    /// The nodes involved.
    pub nodes: Vec<NodeId>,
    /// The operations involved, as indices of their completion events in the history.
    pub ops: Vec<usize>,
    pub detail: String,
}

/// Every anomaly of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Anomalies {
    pub lost_writes: u64,
    pub stale_reads: u64,
    /// Split-brain intervals, and their total length (their union).
    pub split_brains: u64,
    pub split_brain_ms: f64,
    pub divergent: u64,
    /// Session guarantees broken (per client: see [`Anomalies::by_client`]).
    #[serde(default)]
    pub read_your_writes: u64,
    #[serde(default)]
    pub monotonic_reads: u64,
    /// Reads that returned siblings (concurrent versions, for the client to merge).
    #[serde(default)]
    pub sibling_reads: u64,
    /// The clients that saw a session guarantee broken, in client order, with their
    /// counts (a client absent here saw none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_client: Vec<ClientAnomalies>,
    /// What could not be measured, and why (no log positions, no settle point, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmeasured: Vec<String>,
    /// What was measured only in part, and how.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The anomalies, in order of their moment, at most [`LIST_CAP`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub list: Vec<Anomaly>,
}

impl Anomalies {
    pub fn count(&self, kind: AnomalyKind) -> u64 {
        match kind {
            AnomalyKind::LostWrite => self.lost_writes,
            AnomalyKind::StaleRead => self.stale_reads,
            AnomalyKind::SplitBrain => self.split_brains,
            AnomalyKind::Divergent => self.divergent,
            AnomalyKind::ReadYourWrites => self.read_your_writes,
            AnomalyKind::MonotonicRead => self.monotonic_reads,
            AnomalyKind::Siblings => self.sibling_reads,
        }
    }
    /// How many anomalies of `kind` client `client` saw: the session kinds per client;
    /// the other kinds belong to no one client (0).
    pub fn of_client(&self, client: u64, kind: AnomalyKind) -> u64 {
        self.by_client
            .iter()
            .find(|c| c.client == client)
            .map_or(0, |c| match kind {
                AnomalyKind::ReadYourWrites => c.read_your_writes,
                AnomalyKind::MonotonicRead => c.monotonic_reads,
                _ => 0,
            })
    }
    pub fn total(&self) -> u64 {
        AnomalyKind::ALL.iter().map(|k| self.count(*k)).sum()
    }
    /// Whether `kind` could be measured in this run (a count of zero then means none).
    pub fn measured(&self, kind: AnomalyKind) -> bool {
        !self.unmeasured.iter().any(|u| u.starts_with(kind.name()))
    }
    /// One line: `2 acknowledged writes lost, 1 stale read` or `none`.
    pub fn line(&self) -> String {
        let parts: Vec<String> = AnomalyKind::ALL
            .iter()
            .filter(|k| self.count(**k) > 0)
            .map(|k| match k {
                AnomalyKind::SplitBrain => format!(
                    "{} {} ({:.0} ms)",
                    self.split_brains,
                    k.words(),
                    self.split_brain_ms
                ),
                _ => format!("{} {}", self.count(*k), k.words()),
            })
            .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }
}

/// One client's broken session guarantees.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientAnomalies {
    /// The history's `process`.
    pub client: u64,
    pub read_your_writes: u64,
    pub monotonic_reads: u64,
}

/// One node's writes in one epoch: from the arrival of the first write it accepted (and
/// acknowledged) to the arrival of the last, and the log positions it gave them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub node: NodeId,
    pub epoch: u64,
    pub first: Time,
    pub last: Time,
    pub writes: u64,
}

/// What the engine records as the run goes: who accepted which acknowledged writes when.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Serving {
    spans: Vec<Span>,
    /// (node, epoch) -> its span (not serialised: the analysis reads only the spans).
    #[serde(skip)]
    at: BTreeMap<(NodeId, u64), usize>,
}

impl Serving {
    /// Node `node`, in `epoch`, acknowledged a write that arrived at `arrived`.
    pub fn acked(&mut self, node: NodeId, epoch: u64, arrived: Time) {
        match self.at.get(&(node, epoch)) {
            Some(&i) => {
                let s = &mut self.spans[i];
                s.first = s.first.min(arrived);
                s.last = s.last.max(arrived);
                s.writes += 1;
            }
            None => {
                self.at.insert((node, epoch), self.spans.len());
                self.spans.push(Span {
                    node,
                    epoch,
                    first: arrived,
                    last: arrived,
                    writes: 1,
                });
            }
        }
    }
    pub fn spans(&self) -> &[Span] {
        &self.spans
    }
}

/// The end of a run as the analysis needs it.
pub struct EndState<'a> {
    /// Every node's view at the end (`None`: not running).
    pub views: &'a [Option<NodeView>],
    /// Whether the run healed and settled (the convergence check ran): only then is a
    /// replica differing from the authority an anomaly rather than a lag.
    pub settled: bool,
    pub end: Time,
}

/// One client operation of a history: its invocation and completion.
#[derive(Clone, Debug)]
struct Op {
    /// The client (one operation at a time, so its operations are in history order).
    process: u64,
    f: Func,
    key: String,
    /// What a write wrote (a cas: its new value); what a read returned (`None`: nil).
    value: Option<i64>,
    /// The key-value map's strings: what an append added, what a read returned.
    text: Option<String>,
    /// A read's siblings (its `value` is then the one whose write finished last).
    siblings: Vec<i64>,
    invoke: Time,
    /// Completion time and event index, when it completed `ok`.
    ok: Option<(Time, usize)>,
    index: Option<u64>,
    term: Option<u64>,
}

fn ms(t: Time) -> f64 {
    t as f64 / MS as f64
}

fn ops_of(history: &History) -> Vec<Op> {
    let mut ops: Vec<Op> = Vec::new();
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    for (i, e) in history.events.iter().enumerate() {
        match e.kind {
            EventType::Invoke => {
                let value = match (&e.f, &e.value) {
                    (Func::Write, Value::Int(v)) => Some(*v),
                    (Func::Cas, Value::Pair([_, new])) => Some(*new),
                    _ => None,
                };
                let text = match (&e.f, &e.value) {
                    (Func::Append, Value::Str(p)) => Some(p.clone()),
                    _ => None,
                };
                open.insert(e.process, ops.len());
                ops.push(Op {
                    process: e.process,
                    f: e.f,
                    key: e.key.clone().unwrap_or_default(),
                    value,
                    text,
                    siblings: Vec::new(),
                    invoke: e.time,
                    ok: None,
                    index: None,
                    term: None,
                });
            }
            kind => {
                let Some(j) = open.remove(&e.process) else {
                    continue;
                };
                if kind == EventType::Ok {
                    let op = &mut ops[j];
                    op.ok = Some((e.time, i));
                    op.index = e.index;
                    op.term = e.term;
                    if op.f == Func::Read {
                        op.value = match e.value {
                            Value::Int(v) => Some(v),
                            _ => None,
                        };
                        if let Value::Str(s) = &e.value {
                            op.text = Some(s.clone());
                        }
                        if let Value::Siblings { siblings } = &e.value {
                            op.siblings = siblings.clone();
                        }
                    }
                }
            }
        }
    }
    ops
}

fn describe(op: &Op) -> String {
    if op.f == Func::Read && !op.siblings.is_empty() {
        let all: Vec<String> = op.siblings.iter().map(|v| v.to_string()).collect();
        return format!("read {} = siblings {{{}}}", op.key, all.join(" | "));
    }
    match (op.f, &op.text) {
        (Func::Read, Some(s)) => return format!("read {} = {s:?}", op.key),
        (Func::Append, Some(p)) => return format!("append {} {p}", op.key),
        _ => {}
    }
    match (op.f, op.value) {
        (Func::Read, Some(v)) => format!("read {} = {v}", op.key),
        (Func::Read, None) => format!("read {} = nil", op.key),
        (Func::Cas, Some(v)) => format!("cas {} -> {v}", op.key),
        (_, Some(v)) => format!("write {}={v}", op.key),
        (_, None) => format!("{:?} {}", op.f, op.key).to_lowercase(),
    }
}

/// The node whose state counts as the cluster's at the end: the live leader of the
/// highest epoch, else the live node with the most up-to-date log (last entry's epoch,
/// then length), else the first live node with a key-value table.
pub fn authority(views: &[Option<NodeView>]) -> Option<NodeId> {
    let live = || {
        views
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (i as NodeId, v)))
    };
    if let Some((i, _)) = live()
        .filter(|(_, v)| v.is_leader_kind())
        .max_by_key(|(i, v)| (v.term, std::cmp::Reverse(*i)))
    {
        return Some(i);
    }
    live()
        .filter(|(_, v)| v.log.is_some() || v.kv.is_some())
        .max_by_key(|(i, v)| {
            let last = v
                .entries()
                .last()
                .map_or((0, v.snapshot_index()), |e| (e.term, e.index));
            (last, std::cmp::Reverse(*i))
        })
        .map(|(i, _)| i)
}

/// A sharded store's authority per key (its views say so: [`quorumlab_core::RingSection`]'s
/// `groups`): each node's table holds only the keys of the shards its group serves, so
/// a key's authority is the live node holding it that leads in the highest epoch, else
/// the one with the longest log. `None` for every other protocol.
fn key_authorities(views: &[Option<NodeView>]) -> Option<BTreeMap<String, NodeId>> {
    if !views
        .iter()
        .flatten()
        .any(|v| v.ring.as_ref().is_some_and(|r| r.groups))
    {
        return None;
    }
    let mut best: BTreeMap<String, ((bool, u64, u64), NodeId)> = BTreeMap::new();
    for (i, v) in views.iter().enumerate() {
        let Some(v) = v else { continue };
        let Some(kv) = v.kv.as_ref() else { continue };
        let last = v.entries().last().map_or(v.snapshot_index(), |e| e.index);
        let rank = (v.is_leader_kind(), v.term, last);
        for k in kv.keys() {
            let e = best.entry(k.clone()).or_insert((rank, i as NodeId));
            if rank > e.0 {
                *e = (rank, i as NodeId);
            }
        }
    }
    Some(best.into_iter().map(|(k, (_, n))| (k, n)).collect())
}

/// Classify and count the anomalies of a run.
pub fn analyse(history: &History, serving: &Serving, end: &EndState<'_>) -> Anomalies {
    let mut ops = ops_of(history);
    let mut out = Anomalies::default();
    let mut list = Vec::new();
    siblings(&mut ops, &mut out, &mut list);
    lost_writes(&ops, end, &mut out, &mut list);
    stale_reads(&ops, &mut out, &mut list);
    split_brain(serving, &mut out, &mut list);
    divergent(end, &mut out, &mut list);
    sessions(&ops, &mut out, &mut list);
    // In order of their moments. (Sorting `(u64, u64)` keys rather than the anomalies
    // reuses a sort the page already has: a stable sort of `Anomaly` cost it 35 kB.)
    let mut order: Vec<(u64, u64)> = list
        .iter()
        .enumerate()
        .map(|(i, a)| ((a.at_ms * 1000.0) as u64, i as u64))
        .collect();
    order.sort_unstable();
    let mut slots: Vec<Option<Anomaly>> = list.into_iter().map(Some).collect();
    out.list = order
        .iter()
        .take(LIST_CAP)
        .filter_map(|(_, i)| slots[*i as usize].take())
        .collect();
    out
}

/// Reads that returned siblings: each counted and listed; and, for the other analyses,
/// such a read stands for the newest of its siblings (the last whose write finished:
/// what it saw at the latest), so that it is stale, or breaks a session, only if that
/// one does.
fn siblings(ops: &mut [Op], out: &mut Anomalies, list: &mut Vec<Anomaly>) {
    let mut finished: BTreeMap<(String, i64), Time> = BTreeMap::new();
    for o in ops
        .iter()
        .filter(|o| matches!(o.f, Func::Write | Func::Cas))
    {
        if let (Some(v), Some((t, _))) = (o.value, o.ok) {
            finished.insert((o.key.clone(), v), t);
        }
    }
    for o in ops.iter_mut().filter(|o| !o.siblings.is_empty()) {
        let key = o.key.clone();
        o.value = o
            .siblings
            .iter()
            .copied()
            .max_by_key(|v| finished.get(&(key.clone(), *v)).copied().unwrap_or(0));
        let Some((done, ev)) = o.ok else { continue };
        out.sibling_reads += 1;
        list.push(Anomaly {
            kind: AnomalyKind::Siblings,
            at_ms: ms(done),
            until_ms: None,
            nodes: Vec::new(),
            ops: vec![ev],
            detail: format!(
                "client {}: {}: concurrent writes the store kept side by side (version vectors), for the client to merge",
                o.process,
                describe(o)
            ),
        });
    }
}

fn lost_writes(ops: &[Op], end: &EndState<'_>, out: &mut Anomalies, list: &mut Vec<Anomaly>) {
    let acked: Vec<&Op> = ops
        .iter()
        .filter(|o| o.f != Func::Read && o.ok.is_some())
        .collect();
    if acked.is_empty() {
        return;
    }
    let name = AnomalyKind::LostWrite.name();
    if let Some(owners) = key_authorities(end.views) {
        return sharded_lost_writes(ops, &acked, &owners, end, out, list);
    }
    let Some(a) = authority(end.views) else {
        if leaderless_lost_writes(ops, &acked, end, out, list) {
            return;
        }
        let why = if end.views.iter().any(Option::is_some) {
            "no node keeps a log or a key-value table that holds the cluster's state"
        } else {
            "no node is running at the end"
        };
        out.unmeasured.push(format!("{name}: {why}"));
        return;
    };
    let Some(log) = end.views[a as usize].as_ref().and_then(|v| v.log.as_ref()) else {
        out.unmeasured.push(format!(
            "{name}: node {a}, the authority at the end, keeps no log"
        ));
        return;
    };
    let kv = end.views[a as usize].as_ref().and_then(|v| v.kv.as_ref());
    // Who wrote each value (values are unique per key), for the check by value.
    let mut writer: BTreeMap<(&str, i64), &Op> = BTreeMap::new();
    for o in ops.iter().filter(|o| o.f != Func::Read) {
        if let Some(v) = o.value {
            writer.insert((o.key.as_str(), v), o);
        }
    }
    let mut by_value = 0;
    for o in acked {
        let (t, ev) = o.ok.expect("acked");
        let Some(why) = lost_why(o, (a, log), kv, &writer, &mut by_value) else {
            continue;
        };
        out.lost_writes += 1;
        list.push(Anomaly {
            kind: AnomalyKind::LostWrite,
            at_ms: ms(t),
            until_ms: None,
            nodes: vec![a],
            ops: vec![ev],
            detail: format!("{}, acknowledged at {:.0} ms{why}", describe(o), ms(t)),
        });
    }
    if by_value > 0 {
        out.notes.push(format!(
            "{name}: {by_value} acknowledged writes without a place in node {a}'s log (no position, or compacted into its snapshot) were checked by value only: a lost write a later write overwrote goes unseen"
        ));
    }
}

/// Lost updates in a leaderless store (the views list each replica's versions with
/// their stamps, `converge::quorum_versions`): the cluster's final value of a key is
/// the newest version any running replica holds; an acknowledged write is lost when
/// that value was written by a write that finished before this one began (an older
/// write won: last-writer-wins with a skewed clock, or a stale request stamped late),
/// or when no replica holds the key. `false`: the views are not such a store's.
fn leaderless_lost_writes(
    ops: &[Op],
    acked: &[&Op],
    end: &EndState<'_>,
    out: &mut Anomalies,
    list: &mut Vec<Anomaly>,
) -> bool {
    let mut finals: BTreeMap<&str, ((u64, u64), i64)> = BTreeMap::new();
    let mut any = false;
    for v in end.views.iter().flatten() {
        for (key, value, stamp, _) in crate::converge::quorum_versions(v) {
            any = true;
            let e = finals.entry(key).or_insert((stamp, value));
            if stamp > e.0 {
                *e = (stamp, value);
            }
        }
    }
    if !any {
        return false;
    }
    // With version vectors every sibling on a replica is kept, not only the newest
    // (`"k0 siblings" -> "7 [0:12] | 9 [3:40]"`).
    let mut kept: std::collections::BTreeSet<(&str, i64)> = Default::default();
    for v in end.views.iter().flatten() {
        for (label, value) in &v.fields {
            let Some(key) = label.strip_suffix(" siblings") else {
                continue;
            };
            for part in value.split(" | ") {
                if let Some(x) = part.split(' ').next().and_then(|x| x.parse().ok()) {
                    kept.insert((key, x));
                }
            }
        }
    }
    let mut writer: BTreeMap<(&str, i64), &Op> = BTreeMap::new();
    for o in ops.iter().filter(|o| o.f != Func::Read) {
        if let Some(v) = o.value {
            writer.insert((o.key.as_str(), v), o);
        }
    }
    for o in acked {
        let (Some(value), Some((t, ev))) = (o.value, o.ok) else {
            continue;
        };
        let why = match finals.get(o.key.as_str()) {
            None => "no running replica holds the key".to_string(),
            Some((_, v)) if *v == value || kept.contains(&(o.key.as_str(), value)) => continue,
            Some((_, v)) => match writer
                .get(&(o.key.as_str(), *v))
                .filter(|w| w.ok.is_some_and(|(c, _)| c < o.invoke))
            {
                Some(w) => format!(
                    "the replicas' newest version is {}, an older write stamped later",
                    describe(w)
                ),
                None => continue,
            },
        };
        out.lost_writes += 1;
        list.push(Anomaly {
            kind: AnomalyKind::LostWrite,
            at_ms: ms(t),
            until_ms: None,
            nodes: Vec::new(),
            ops: vec![ev],
            detail: format!(
                "{}, acknowledged at {:.0} ms, is lost: {why}",
                describe(o),
                ms(t)
            ),
        });
    }
    true
}

/// Why the acknowledged write `o` is not in the authority's final log or state (the end
/// of the anomaly's sentence), or `None` when it is there. `by_value` counts the writes
/// only a check by value could judge.
/// Lost writes in a sharded store: each acknowledged write judged by value against its
/// key's authority (the store reports no log positions: its groups' logs are apart).
fn sharded_lost_writes(
    ops: &[Op],
    acked: &[&Op],
    owners: &BTreeMap<String, NodeId>,
    end: &EndState<'_>,
    out: &mut Anomalies,
    list: &mut Vec<Anomaly>,
) {
    let mut writer: BTreeMap<(&str, i64), &Op> = BTreeMap::new();
    for o in ops.iter().filter(|o| o.f != Func::Read) {
        if let Some(v) = o.value {
            writer.insert((o.key.as_str(), v), o);
        }
    }
    let empty = quorumlab_core::LogSection::default();
    let mut by_value = 0;
    for o in acked {
        let (t, ev) = o.ok.expect("acked");
        let (why, nodes) = match owners.get(&o.key) {
            Some(a) => {
                let kv = end.views[*a as usize].as_ref().and_then(|v| v.kv.as_ref());
                let mut plain = (*o).clone();
                plain.index = None;
                match lost_why(&plain, (*a, &empty), kv, &writer, &mut by_value) {
                    Some(w) => (w, vec![*a]),
                    None => continue,
                }
            }
            None => (
                ", is held by no running node's group at the end".to_string(),
                Vec::new(),
            ),
        };
        out.lost_writes += 1;
        list.push(Anomaly {
            kind: AnomalyKind::LostWrite,
            at_ms: ms(t),
            until_ms: None,
            nodes,
            ops: vec![ev],
            detail: format!("{}, acknowledged at {:.0} ms{why}", describe(o), ms(t)),
        });
    }
}

fn lost_why(
    o: &Op,
    (a, log): (NodeId, &quorumlab_core::LogSection),
    kv: Option<&BTreeMap<String, Val>>,
    writer: &BTreeMap<(&str, i64), &Op>,
    by_value: &mut usize,
) -> Option<String> {
    let placed = |index: u64| {
        let epoch = o.term.map(|t| format!(", epoch {t}")).unwrap_or_default();
        format!(" (index {index}{epoch}), is not in node {a}'s log at the end: ")
    };
    // A compacted position whose epoch the log still knows (`epoch_starts`).
    let compacted_epoch = o.index.filter(|i| *i <= log.snapshot_index).and_then(|i| {
        log.epoch_starts
            .iter()
            .take_while(|(_, first)| *first <= i)
            .last()
            .map(|(e, _)| *e)
    });
    if let (Some(index), Some(want), Some(have)) = (o.index, o.term, compacted_epoch) {
        return (want != have)
            .then(|| format!("{}epoch {have} wrote its index {index}", placed(index)));
    }
    match o.index {
        Some(index) if index > log.snapshot_index => {
            let held = log.entries.iter().find(|e| e.index == index);
            match (held, o.term) {
                (Some(e), Some(t)) if e.term == t => None,
                (Some(_), None) => None,
                (Some(e), _) => Some(format!(
                    "{}it holds epoch {}'s entry {} there",
                    placed(index),
                    e.term,
                    e.what
                )),
                (None, _) => Some(format!(
                    "{}its log ends at {}",
                    placed(index),
                    log.entries.last().map_or(log.snapshot_index, |e| e.index)
                )),
            }
        }
        // No position, or one compacted without its epoch: the final value must not be
        // older than this write (written by a write that finished before this one
        // began), nor missing.
        _ => {
            let kv = kv?;
            *by_value += 1;
            if let (Func::Append, Some(piece)) = (o.f, &o.text) {
                // Every acknowledged append must be somewhere in the key's final string.
                return match kv.get(&o.key) {
                    Some(Val::Text(s)) if s.contains(piece.as_str()) => None,
                    _ => Some(format!(
                        ", is not in node {a}'s state at the end: {} lacks {piece}",
                        o.key
                    )),
                };
            }
            let why = match kv.get(&o.key).and_then(Val::int) {
                None => "the key is missing".to_string(),
                Some(v) => writer
                    .get(&(o.key.as_str(), v))
                    .filter(|w| w.ok.is_some_and(|(c, _)| c < o.invoke))
                    .map(|w| format!("it holds {}, an older write", describe(w)))?,
            };
            Some(format!(", is not in node {a}'s state at the end: {why}"))
        }
    }
}

/// The stale reads of `history` alone (no views: nothing else of the analysis), for a
/// figure that needs only them (the page's PACELC view: consistency when nothing
/// fails), so that a caller links this much of the analysis and no more.
pub fn stale_reads_in(history: &History) -> u64 {
    let mut ops = ops_of(history);
    let (mut out, mut list) = (Anomalies::default(), Vec::new());
    siblings(&mut ops, &mut out, &mut list);
    stale_reads(&ops, &mut out, &mut list);
    out.stale_reads
}

fn stale_reads(ops: &[Op], out: &mut Anomalies, list: &mut Vec<Anomaly>) {
    // Per key: the acknowledged writes by completion time, with running maxima of
    // their invocation times and positions (the newest a read must at least see).
    struct KeyWrites<'a> {
        by_done: Vec<(Time, &'a Op)>,
        /// Prefix maxima over `by_done`: (invoke, which), (index, which).
        max_invoke: Vec<(Time, usize)>,
        max_index: Vec<(u64, usize)>,
    }
    let mut keys: BTreeMap<&str, KeyWrites<'_>> = BTreeMap::new();
    let mut writer: BTreeMap<(&str, i64), &Op> = BTreeMap::new();
    for o in ops.iter().filter(|o| o.f != Func::Read) {
        if let Some(v) = o.value {
            writer.insert((o.key.as_str(), v), o);
        }
        if let Some((t, _)) = o.ok {
            keys.entry(o.key.as_str())
                .or_insert_with(|| KeyWrites {
                    by_done: Vec::new(),
                    max_invoke: Vec::new(),
                    max_index: Vec::new(),
                })
                .by_done
                .push((t, o));
        }
    }
    for k in keys.values_mut() {
        k.by_done.sort_unstable_by_key(|(t, _)| *t);
        let (mut mi, mut mx) = ((0, usize::MAX), (0, usize::MAX));
        for (j, (_, o)) in k.by_done.iter().enumerate() {
            if mi.1 == usize::MAX || o.invoke > mi.0 {
                mi = (o.invoke, j);
            }
            if let Some(ix) = o.index {
                if mx.1 == usize::MAX || ix > mx.0 {
                    mx = (ix, j);
                }
            }
            k.max_invoke.push(mi);
            k.max_index.push(mx);
        }
    }
    for r in ops.iter().filter(|o| o.f == Func::Read) {
        let Some((done, ev)) = r.ok else { continue };
        let Some(k) = keys.get(r.key.as_str()) else {
            continue;
        };
        // The writes acknowledged before the read began.
        let n = k.by_done.partition_point(|(t, _)| *t < r.invoke);
        if n == 0 {
            continue;
        }
        let appends = k.by_done[..n].iter().any(|(_, o)| o.f == Func::Append);
        let newer: Option<&Op> = match r.value {
            // A string grown by appends (nil reads as empty): the newest append
            // acknowledged before the read began whose piece it lacks.
            _ if appends => {
                let got = r.text.as_deref().unwrap_or("");
                k.by_done[..n]
                    .iter()
                    .rev()
                    .map(|(_, o)| *o)
                    .find(|o| o.text.as_deref().is_some_and(|p| !got.contains(p)))
            }
            // Nil is older than any write.
            None => Some(k.by_done[n - 1].1),
            Some(v) => {
                let Some(w) = writer.get(&(r.key.as_str(), v)) else {
                    continue; // a value nobody wrote: the checker's business
                };
                let (inv, j) = k.max_invoke[n - 1];
                let (ix, jx) = k.max_index[n - 1];
                if w.ok.is_some_and(|(c, _)| c < inv) {
                    Some(k.by_done[j].1)
                } else if jx != usize::MAX && w.index.is_some_and(|wi| wi < ix) {
                    Some(k.by_done[jx].1)
                } else {
                    None
                }
            }
        };
        let Some(newer) = newer else { continue };
        out.stale_reads += 1;
        let (wt, wev) = newer.ok.expect("acked");
        list.push(Anomaly {
            kind: AnomalyKind::StaleRead,
            at_ms: ms(done),
            until_ms: None,
            nodes: Vec::new(),
            ops: vec![ev, wev],
            detail: format!(
                "{} (begun at {:.0} ms) missed {}, acknowledged at {:.0} ms",
                describe(r),
                ms(r.invoke),
                describe(newer),
                ms(wt)
            ),
        });
    }
}

/// Why the value `w` wrote is older than the one `than` wrote (the end of a sentence),
/// or `None` when it is not or cannot be told: `w` was acknowledged before `than`
/// began, or both sit in one epoch's log with `w` at an earlier position. Positions of
/// different epochs are not compared: an unfenced old primary numbers its own log, and
/// its index says nothing about the new one's.
fn older(w: &Op, than: &Op) -> Option<String> {
    if let Some((done, _)) = w.ok {
        if done < than.invoke {
            return Some(format!(
                "{} was acknowledged at {:.0} ms, before {} began at {:.0} ms",
                describe(w),
                ms(done),
                describe(than),
                ms(than.invoke)
            ));
        }
    }
    match (w.index, w.term, than.index, than.term) {
        (Some(i), Some(t), Some(j), Some(u)) if t == u && i < j => Some(format!(
            "{} sits at index {i} of epoch {t}, before {} at index {j}",
            describe(w),
            describe(than)
        )),
        _ => None,
    }
}

/// What one client has done and seen of one key, for its session guarantees.
#[derive(Default)]
struct Session<'a> {
    /// Its newest acknowledged write (append, successful cas) to the key: the one the
    /// others precede (one operation at a time), so the one a read must not be older
    /// than.
    own: Option<&'a Op>,
    /// Of its earlier reads that returned a value a known write wrote: the one whose
    /// write began last (a later read older than any of them is older than this one),
    /// with that write.
    newest: Option<(&'a Op, &'a Op)>,
    /// The same by log position, per epoch: the read whose write sits furthest on.
    furthest: BTreeMap<u64, (u64, &'a Op, &'a Op)>,
    /// Its latest earlier read that returned something (not nil, not empty).
    some: Option<&'a Op>,
    /// Its earlier read of the longest string (the key-value map's appends).
    longest: Option<&'a Op>,
}

/// Read-your-writes and monotonic-read violations, per client and key, judged only
/// where the values say which write came first (values are unique per write; strings
/// grow by unique pieces).
fn sessions(ops: &[Op], out: &mut Anomalies, list: &mut Vec<Anomaly>) {
    let writes = |o: &&Op| matches!(o.f, Func::Write | Func::Cas);
    let mut writer: BTreeMap<(&str, i64), &Op> = BTreeMap::new();
    for o in ops.iter().filter(writes) {
        if let Some(v) = o.value {
            writer.insert((o.key.as_str(), v), o);
        }
    }
    let mut at: BTreeMap<(u64, &str), Session<'_>> = BTreeMap::new();
    let mut by_client: BTreeMap<u64, ClientAnomalies> = BTreeMap::new();
    // `ops` is in invocation order, and a client's next operation begins after its
    // last one returned: per client, this walks its operations in the order it made
    // them.
    for o in ops {
        let Some((done, ev)) = o.ok else { continue };
        let s = at.entry((o.process, o.key.as_str())).or_default();
        if matches!(o.f, Func::Write | Func::Cas | Func::Append) {
            s.own = Some(o);
            continue;
        }
        if o.f != Func::Read {
            continue;
        }
        let got = |r: &Op| match (&r.text, r.value) {
            (Some(t), _) => format!("{:?}", t),
            (None, Some(v)) => v.to_string(),
            (None, None) => "nil".into(),
        };
        let mut found = |kind: AnomalyKind, other: usize, detail: String| {
            let c = by_client.entry(o.process).or_insert(ClientAnomalies {
                client: o.process,
                ..Default::default()
            });
            match kind {
                AnomalyKind::ReadYourWrites => {
                    out.read_your_writes += 1;
                    c.read_your_writes += 1;
                }
                _ => {
                    out.monotonic_reads += 1;
                    c.monotonic_reads += 1;
                }
            }
            list.push(Anomaly {
                kind,
                at_ms: ms(done),
                until_ms: None,
                nodes: Vec::new(),
                ops: vec![ev, other],
                detail: format!("client {}: {detail}", o.process),
            });
        };
        let value_writer = o
            .value
            .and_then(|v| writer.get(&(o.key.as_str(), v)).copied());

        // Read your writes: nothing older than the client's own newest write.
        if let Some(w) = s.own {
            let (acked, wev) = w.ok.expect("acknowledged");
            let why = match (&w.text, &o.text, o.value) {
                // An append: its piece must be in the string (nil reads as empty). The
                // newest piece only: a string grows by appending, so one holding it
                // holds the client's earlier pieces too (missing those as well would
                // be a lost write, counted as such).
                (Some(piece), text, _) => (!text.as_deref().unwrap_or("").contains(piece.as_str()))
                    .then(|| format!("the string lacks its own piece {piece}")),
                (None, Some(_), _) => None,
                (None, None, None) => Some("nil: its own write is not there".into()),
                (None, None, Some(v)) if Some(v) == w.value => None,
                (None, None, Some(_)) => value_writer
                    .and_then(|x| older(x, w))
                    .map(|why| format!("an older value: {why}")),
            };
            if let Some(why) = why {
                let detail = format!(
                    "{} was acknowledged at {:.0} ms, then its read of {} (begun at {:.0} ms) returned {}, {why}",
                    describe(w),
                    ms(acked),
                    o.key,
                    ms(o.invoke),
                    got(o)
                );
                found(AnomalyKind::ReadYourWrites, wev, detail);
            }
        }

        // Monotonic reads: nothing older than what the client read before.
        let before = |r: &Op| {
            format!(
                "read {} = {} (returned at {:.0} ms), then read {} = {} (begun at {:.0} ms)",
                r.key,
                got(r),
                r.ok.map_or(0.0, |(t, _)| ms(t)),
                o.key,
                got(o),
                ms(o.invoke)
            )
        };
        let empty = o.text.as_deref().is_none_or(str::is_empty) && o.value.is_none();
        let mut back: Option<(&Op, String)> = None;
        if let Some(t) = &o.text {
            if let Some(p) = s.longest {
                let prev = p.text.as_deref().unwrap_or("");
                if !t.starts_with(prev) {
                    back = Some((p, "a string that does not extend the one it read".into()));
                }
                if t.len() > prev.len() {
                    s.longest = Some(o);
                }
            } else {
                s.longest = Some(o);
            }
        } else if empty {
            if let Some(p) = s.some {
                back = Some((p, "nil after a value".into()));
            }
        } else if let Some(x) = value_writer {
            let by_time = s
                .newest
                .filter(|(_, pw)| !std::ptr::eq(*pw, x))
                .and_then(|(p, pw)| older(x, pw).map(|why| (p, why)));
            let by_place = || {
                let (i, t) = (x.index?, x.term?);
                let &(j, p, pw) = s.furthest.get(&t)?;
                (i < j).then_some(())?;
                older(x, pw).map(|why| (p, why))
            };
            back = by_time
                .or_else(by_place)
                .map(|(p, why)| (p, format!("an older value: {why}")));
            if s.newest.is_none_or(|(_, pw)| x.invoke > pw.invoke) {
                s.newest = Some((o, x));
            }
            if let (Some(i), Some(t)) = (x.index, x.term) {
                let e = s.furthest.entry(t).or_insert((i, o, x));
                if i > e.0 {
                    *e = (i, o, x);
                }
            }
        }
        if !empty {
            s.some = Some(o);
        }
        if let Some((p, why)) = back {
            let pev = p.ok.map_or(0, |(_, e)| e);
            let detail = format!("{}, {why}", before(p));
            found(AnomalyKind::MonotonicRead, pev, detail);
        }
    }
    out.by_client = by_client.into_values().collect();
}

fn split_brain(serving: &Serving, out: &mut Anomalies, list: &mut Vec<Anomaly>) {
    let spans = serving.spans();
    let mut intervals: Vec<(Time, Time)> = Vec::new();
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            // One epoch has one authority (a term's leader, a ballot's proposer, a
            // view's primary): a node that answers for it (a follower forwarding to the
            // leader and replying once it learns the outcome) is not a second brain.
            if a.node == b.node || a.epoch == b.epoch {
                continue;
            }
            let (from, to) = (a.first.max(b.first), a.last.min(b.last));
            if from > to {
                continue;
            }
            out.split_brains += 1;
            intervals.push((from, to));
            let (x, y) = if a.first <= b.first { (a, b) } else { (b, a) };
            list.push(Anomaly {
                kind: AnomalyKind::SplitBrain,
                at_ms: ms(from),
                until_ms: Some(ms(to)),
                nodes: vec![x.node, y.node],
                ops: Vec::new(),
                detail: format!(
                    "nodes {} (epoch {}, {} writes) and {} (epoch {}, {} writes) both accepted writes from {:.0} to {:.0} ms",
                    x.node, x.epoch, x.writes, y.node, y.epoch, y.writes, ms(from), ms(to)
                ),
            });
        }
    }
    // The union's length.
    intervals.sort_unstable();
    let mut total: Time = 0;
    let mut cur: Option<(Time, Time)> = None;
    for (f, t) in intervals {
        cur = match cur {
            Some((cf, ct)) if f <= ct => Some((cf, ct.max(t))),
            Some((cf, ct)) => {
                total += ct - cf;
                Some((f, t))
            }
            None => Some((f, t)),
        };
    }
    if let Some((cf, ct)) = cur {
        total += ct - cf;
    }
    out.split_brain_ms = ms(total);
}

fn divergent(end: &EndState<'_>, out: &mut Anomalies, list: &mut Vec<Anomaly>) {
    let name = AnomalyKind::Divergent.name();
    if !end.settled {
        out.unmeasured.push(format!(
            "{name}: the run did not heal and settle before its end"
        ));
        return;
    }
    if let Some(owners) = key_authorities(end.views) {
        // Each node against its keys' authorities.
        for (i, v) in end.views.iter().enumerate() {
            let Some(kv) = v.as_ref().and_then(|v| v.kv.as_ref()) else {
                continue;
            };
            let differs = kv.iter().find_map(|(k, x)| {
                let a = *owners.get(k)?;
                let y = end.views[a as usize].as_ref()?.kv.as_ref()?.get(k)?;
                (y != x).then(|| (k.clone(), a, x.to_string(), y.to_string()))
            });
            if let Some((key, a, x, y)) = differs {
                out.divergent += 1;
                list.push(Anomaly {
                    kind: AnomalyKind::Divergent,
                    at_ms: ms(end.end),
                    until_ms: None,
                    nodes: vec![i as NodeId, a],
                    ops: Vec::new(),
                    detail: format!(
                        "node {i} holds {key}={x} where node {a}, its group's authority, holds {y}, after the cluster healed and settled"
                    ),
                });
            }
        }
        return;
    }
    let Some(a) = authority(end.views) else {
        return;
    };
    let Some(reference) = end.views[a as usize].as_ref().and_then(|v| v.kv.as_ref()) else {
        return;
    };
    // Only the authority's members replicate its state (a node removed by a membership
    // change keeps what it had).
    let members = end.views[a as usize]
        .as_ref()
        .map(|v| &v.members[..])
        .unwrap_or(&[]);
    for (i, v) in end.views.iter().enumerate() {
        let Some(kv) = v.as_ref().and_then(|v| v.kv.as_ref()) else {
            continue;
        };
        if !members.is_empty() && !members.contains(&(i as NodeId)) {
            continue;
        }
        if i as NodeId == a || kv == reference {
            continue;
        }
        let key = reference
            .iter()
            .find(|(k, x)| kv.get(*k) != Some(x))
            .map(|(k, _)| k.clone())
            .or_else(|| kv.keys().find(|k| !reference.contains_key(*k)).cloned())
            .unwrap_or_default();
        let show = |m: &BTreeMap<String, Val>| {
            m.get(&key).map_or("nothing".to_string(), |x| x.to_string())
        };
        out.divergent += 1;
        list.push(Anomaly {
            kind: AnomalyKind::Divergent,
            at_ms: ms(end.end),
            until_ms: None,
            nodes: vec![i as NodeId, a],
            ops: Vec::new(),
            detail: format!(
                "node {i} holds {key}={} where node {a} holds {}, after the cluster healed and settled",
                show(kv),
                show(reference)
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::HistoryEvent;
    use quorumlab_core::{LogEntryView, LogSection, Mark, Role, RoleKind};

    fn ev(p: u64, kind: EventType, f: Func, key: &str, value: Value, t_ms: u64) -> HistoryEvent {
        HistoryEvent {
            process: p,
            kind,
            f,
            key: Some(key.into()),
            value,
            time: t_ms * MS,
            index: None,
            term: None,
            gave_up: false,
        }
    }
    fn placed(mut e: HistoryEvent, index: u64, term: u64) -> HistoryEvent {
        (e.index, e.term) = (Some(index), Some(term));
        e
    }
    fn node(leader: bool, term: u64, log: &[(u64, u64)], kv: &[(&str, i64)]) -> Option<NodeView> {
        Some(NodeView {
            role: Role::new(
                if leader { "primary" } else { "backup" },
                if leader {
                    RoleKind::Leader
                } else {
                    RoleKind::Follower
                },
            ),
            term,
            log: Some(LogSection {
                entries: log
                    .iter()
                    .map(|&(index, term)| LogEntryView {
                        index,
                        term,
                        what: format!("e{index}"),
                        mark: Mark::Committed,
                    })
                    .collect(),
                ..Default::default()
            }),
            kv: Some(
                kv.iter()
                    .map(|(k, v)| (k.to_string(), Val::Int(*v)))
                    .collect(),
            ),
            ..Default::default()
        })
    }
    use EventType::*;

    #[test]
    fn an_acknowledged_write_missing_from_the_new_primary_is_lost() {
        let h = History {
            events: vec![
                ev(0, Invoke, Func::Write, "x", Value::Int(1), 10),
                placed(ev(0, Ok, Func::Write, "x", Value::Int(1), 20), 1, 1),
                ev(0, Invoke, Func::Write, "x", Value::Int(2), 30),
                placed(ev(0, Ok, Func::Write, "x", Value::Int(2), 40), 2, 1),
            ],
            data_type: None,
        };
        // The new primary (epoch 2) has entry 1 but wrote its own entry 2.
        let views = vec![
            None,
            node(true, 2, &[(1, 1), (2, 2)], &[("x", 9)]),
            node(false, 2, &[(1, 1), (2, 2)], &[("x", 9)]),
        ];
        let a = analyse(
            &h,
            &Serving::default(),
            &EndState {
                views: &views,
                settled: true,
                end: 100 * MS,
            },
        );
        assert_eq!(a.lost_writes, 1, "{a:?}");
        assert_eq!(a.list[0].ops, vec![3]);
        assert!(
            a.list[0].detail.contains("write x=2"),
            "{}",
            a.list[0].detail
        );
        assert_eq!(a.divergent, 0);
        // The same writes on the new primary: nothing lost.
        let views = vec![None, node(true, 2, &[(1, 1), (2, 1)], &[("x", 2)]), None];
        let a = analyse(
            &h,
            &Serving::default(),
            &EndState {
                views: &views,
                settled: true,
                end: 100 * MS,
            },
        );
        assert_eq!((a.lost_writes, a.total()), (0, 0), "{a:?}");
    }

    #[test]
    fn a_read_older_than_a_finished_write_is_stale_and_concurrent_ones_are_not() {
        let h = History {
            events: vec![
                ev(0, Invoke, Func::Write, "x", Value::Int(1), 10),
                ev(0, Ok, Func::Write, "x", Value::Int(1), 20),
                ev(0, Invoke, Func::Write, "x", Value::Int(2), 30),
                ev(0, Ok, Func::Write, "x", Value::Int(2), 40),
                // Begins after x=2 was acknowledged, returns 1: stale.
                ev(1, Invoke, Func::Read, "x", Value::Nil, 50),
                ev(1, Ok, Func::Read, "x", Value::Int(1), 60),
                // Concurrent with a write of 3 still in flight: 2 is fine.
                ev(0, Invoke, Func::Write, "x", Value::Int(3), 70),
                ev(1, Invoke, Func::Read, "x", Value::Nil, 75),
                ev(1, Ok, Func::Read, "x", Value::Int(2), 80),
                ev(0, Ok, Func::Write, "x", Value::Int(3), 90),
                // Nil after writes were acknowledged: stale.
                ev(2, Invoke, Func::Read, "x", Value::Nil, 95),
                ev(2, Ok, Func::Read, "x", Value::Nil, 99),
            ],
            data_type: None,
        };
        let a = analyse(
            &h,
            &Serving::default(),
            &EndState {
                views: &[],
                settled: false,
                end: 100 * MS,
            },
        );
        assert_eq!(a.stale_reads, 2, "{a:?}");
        assert_eq!(a.list[0].ops, vec![5, 3]);
        assert!(
            a.list[0].detail.contains("missed write x=2"),
            "{}",
            a.list[0].detail
        );
        assert!(a.list[1].detail.contains("read x = nil"));
        assert!(!a.measured(AnomalyKind::Divergent));
    }

    /// The key-value map's appends: a read lacking a piece acknowledged before it began
    /// is stale (nil reads as empty), one concurrent with the append is not; an
    /// acknowledged piece missing from the final string is lost, judged by value.
    #[test]
    fn appends_show_stale_reads_and_lost_pieces_by_what_the_string_lacks() {
        let s = |t: &str| Value::Str(t.into());
        let h = History {
            events: vec![
                ev(0, Invoke, Func::Append, "x", s("[1]"), 10),
                ev(0, Ok, Func::Append, "x", s("[1]"), 20),
                ev(0, Invoke, Func::Append, "x", s("[2]"), 30),
                ev(0, Ok, Func::Append, "x", s("[2]"), 40),
                // Begins after [2] was acknowledged and lacks it: stale.
                ev(1, Invoke, Func::Read, "x", Value::Nil, 50),
                ev(1, Ok, Func::Read, "x", s("[1]"), 60),
                // Concurrent with [3]: it may lack it.
                ev(0, Invoke, Func::Append, "x", s("[3]"), 70),
                ev(1, Invoke, Func::Read, "x", Value::Nil, 75),
                ev(1, Ok, Func::Read, "x", s("[1][2]"), 80),
                ev(0, Ok, Func::Append, "x", s("[3]"), 90),
                // Nothing at all after three acknowledged appends: stale.
                ev(2, Invoke, Func::Read, "x", Value::Nil, 95),
                ev(2, Ok, Func::Read, "x", Value::Nil, 99),
            ],
            data_type: Some("kv".into()),
        };
        // The final string lacks [2]: lost (no log positions, so judged by value).
        let mut end = node(true, 1, &[], &[]);
        if let Some(v) = end.as_mut() {
            v.kv = Some([("x".to_string(), Val::Text("[1][3]".into()))].into());
        }
        let views = vec![end];
        let a = analyse(
            &h,
            &Serving::default(),
            &EndState {
                views: &views,
                settled: true,
                end: 100 * MS,
            },
        );
        assert_eq!(a.stale_reads, 2, "{a:?}");
        let stale: Vec<&Anomaly> = a
            .list
            .iter()
            .filter(|x| x.kind == AnomalyKind::StaleRead)
            .collect();
        assert_eq!(stale[0].ops, vec![5, 3]);
        assert!(
            stale[0].detail.contains("read x = \"[1]\"")
                && stale[0].detail.contains("missed append x [2]"),
            "{}",
            stale[0].detail
        );
        assert!(
            stale[1].detail.contains("missed append x [3]"),
            "{}",
            stale[1].detail
        );
        assert_eq!(a.lost_writes, 1, "{a:?}");
        let lost = a.list.iter().find(|x| x.kind == AnomalyKind::LostWrite);
        assert!(
            lost.is_some_and(|l| l.detail.contains("x lacks [2]") && l.ops == vec![3]),
            "{lost:?}"
        );
    }

    /// A read returning siblings is counted; for staleness it stands for the sibling
    /// whose write finished last, so siblings holding the newest write are not stale.
    #[test]
    fn siblings_are_counted_and_judged_by_their_newest() {
        let sib = |v: &[i64]| Value::Siblings {
            siblings: v.to_vec(),
        };
        let h = History {
            events: vec![
                ev(0, Invoke, Func::Write, "x", Value::Int(1), 10),
                ev(0, Ok, Func::Write, "x", Value::Int(1), 20),
                ev(1, Invoke, Func::Write, "x", Value::Int(2), 11),
                ev(1, Ok, Func::Write, "x", Value::Int(2), 21),
                ev(2, Invoke, Func::Read, "x", Value::Nil, 30),
                ev(2, Ok, Func::Read, "x", sib(&[1, 2]), 35),
                ev(0, Invoke, Func::Write, "x", Value::Int(3), 40),
                ev(0, Ok, Func::Write, "x", Value::Int(3), 45),
                // Both siblings are older than 3, acknowledged before it began: stale.
                ev(2, Invoke, Func::Read, "x", Value::Nil, 50),
                ev(2, Ok, Func::Read, "x", sib(&[1, 2]), 55),
            ],
            data_type: None,
        };
        let a = analyse(
            &h,
            &Serving::default(),
            &EndState {
                views: &[],
                settled: false,
                end: 100 * MS,
            },
        );
        assert_eq!(a.sibling_reads, 2, "{a:?}");
        assert_eq!(a.stale_reads, 1, "{a:?}");
        let s = a.list.iter().find(|x| x.kind == AnomalyKind::Siblings);
        assert!(
            s.is_some_and(|s| s.detail.contains("siblings {1 | 2}") && s.ops == vec![5]),
            "{s:?}"
        );
    }

    #[test]
    fn overlapping_serving_spans_of_two_nodes_are_a_split_brain() {
        let mut s = Serving::default();
        s.acked(1, 1, 10 * MS);
        s.acked(1, 1, 500 * MS);
        s.acked(2, 2, 300 * MS);
        s.acked(2, 2, 900 * MS);
        // A later epoch of the same node, and a third node after everyone: no overlap.
        s.acked(1, 3, 950 * MS);
        s.acked(3, 4, 2000 * MS);
        // A node answering for epoch 4's authority (a follower that forwarded): the
        // same brain, not a second one.
        s.acked(4, 4, 2000 * MS);
        let a = analyse(
            &History::default(),
            &s,
            &EndState {
                views: &[],
                settled: false,
                end: 3000 * MS,
            },
        );
        assert_eq!(a.split_brains, 1, "{a:?}");
        assert_eq!(a.split_brain_ms, 200.0);
        assert_eq!(a.list[0].nodes, vec![1, 2]);
        assert_eq!(a.list[0].until_ms, Some(500.0));
    }

    #[test]
    fn after_settling_a_replica_with_other_state_is_divergent() {
        let views = vec![
            node(false, 2, &[], &[("x", 1)]),
            node(true, 2, &[], &[("x", 2)]),
            node(false, 2, &[], &[("x", 2)]),
        ];
        let a = analyse(
            &History::default(),
            &Serving::default(),
            &EndState {
                views: &views,
                settled: true,
                end: 100 * MS,
            },
        );
        assert_eq!(a.divergent, 1);
        assert_eq!(a.list[0].nodes, vec![0, 1]);
        assert!(
            a.list[0].detail.contains("x=1 where node 1 holds 2"),
            "{}",
            a.list[0].detail
        );
        assert_eq!(a.line(), "1 divergent replicas");
    }

    fn ended(h: &History) -> Anomalies {
        analyse(
            h,
            &Serving::default(),
            &EndState {
                views: &[],
                settled: false,
                end: 1000 * MS,
            },
        )
    }

    #[test]
    fn a_client_reading_older_than_its_own_acknowledged_write_breaks_read_your_writes() {
        let h = History {
            events: vec![
                ev(1, Invoke, Func::Write, "x", Value::Int(1), 10),
                ev(1, Ok, Func::Write, "x", Value::Int(1), 20),
                // Client 0 writes 2 after 1 was acknowledged, then reads 1 back.
                ev(0, Invoke, Func::Write, "x", Value::Int(2), 30),
                ev(0, Ok, Func::Write, "x", Value::Int(2), 40),
                ev(0, Invoke, Func::Read, "x", Value::Nil, 50),
                ev(0, Ok, Func::Read, "x", Value::Int(1), 60),
                // Client 2 never wrote x: reading 1 is stale, not its session's fault.
                ev(2, Invoke, Func::Read, "x", Value::Nil, 61),
                ev(2, Ok, Func::Read, "x", Value::Int(1), 62),
                // Client 0 writes y, then reads nil: its write is not there.
                ev(0, Invoke, Func::Write, "y", Value::Int(3), 70),
                ev(0, Ok, Func::Write, "y", Value::Int(3), 80),
                ev(0, Invoke, Func::Read, "y", Value::Nil, 90),
                ev(0, Ok, Func::Read, "y", Value::Nil, 99),
            ],
            data_type: None,
        };
        let a = ended(&h);
        assert_eq!(a.read_your_writes, 2, "{a:?}");
        let ryw: Vec<&Anomaly> = a
            .list
            .iter()
            .filter(|x| x.kind == AnomalyKind::ReadYourWrites)
            .collect();
        assert_eq!(ryw[0].ops, vec![5, 3]);
        assert!(
            ryw[0]
                .detail
                .starts_with("client 0: write x=2 was acknowledged at 40 ms")
                && ryw[0]
                    .detail
                    .contains("returned 1, an older value: write x=1"),
            "{}",
            ryw[0].detail
        );
        assert_eq!(ryw[1].ops, vec![11, 9]);
        assert!(ryw[1].detail.contains("nil"), "{}", ryw[1].detail);
        assert_eq!(a.of_client(0, AnomalyKind::ReadYourWrites), 2);
        assert_eq!(a.of_client(2, AnomalyKind::ReadYourWrites), 0);
        assert_eq!(a.stale_reads, 3, "every one is also a stale read");
        assert!(
            a.line().contains("2 read-your-writes violations"),
            "{}",
            a.line()
        );
    }

    #[test]
    fn a_client_seeing_its_writes_or_concurrent_ones_keeps_read_your_writes() {
        let h = History {
            events: vec![
                ev(0, Invoke, Func::Write, "x", Value::Int(1), 10),
                ev(0, Ok, Func::Write, "x", Value::Int(1), 20),
                ev(0, Invoke, Func::Read, "x", Value::Nil, 30),
                ev(0, Ok, Func::Read, "x", Value::Int(1), 40),
                // Client 1's write of 3 overlaps client 0's write of 2: either may be
                // the newer, so reading 3 after its own 2 is fine.
                ev(1, Invoke, Func::Write, "x", Value::Int(3), 45),
                ev(0, Invoke, Func::Write, "x", Value::Int(2), 50),
                ev(1, Ok, Func::Write, "x", Value::Int(3), 55),
                ev(0, Ok, Func::Write, "x", Value::Int(2), 60),
                ev(0, Invoke, Func::Read, "x", Value::Nil, 70),
                ev(0, Ok, Func::Read, "x", Value::Int(3), 80),
                // A cas of the client's: what it set, then newer, is fine.
                ev(0, Invoke, Func::Cas, "x", Value::Pair([3, 4]), 81),
                ev(0, Ok, Func::Cas, "x", Value::Pair([3, 4]), 82),
                ev(0, Invoke, Func::Read, "x", Value::Nil, 83),
                ev(0, Ok, Func::Read, "x", Value::Int(4), 84),
                // A write it does not know the outcome of promises nothing.
                ev(0, Invoke, Func::Write, "y", Value::Int(5), 85),
                ev(0, Info, Func::Write, "y", Value::Int(5), 90),
                ev(0, Invoke, Func::Read, "y", Value::Nil, 91),
                ev(0, Ok, Func::Read, "y", Value::Nil, 95),
            ],
            data_type: None,
        };
        let a = ended(&h);
        assert_eq!((a.read_your_writes, a.monotonic_reads), (0, 0), "{a:?}");
        assert!(a.by_client.is_empty());
        assert!(a.measured(AnomalyKind::ReadYourWrites));
    }

    #[test]
    fn log_positions_of_one_epoch_order_a_clients_write_and_what_it_read() {
        // Two concurrent writes, ordered only by the log: client 0's at index 2 after
        // client 1's at index 1, so reading 1 afterwards misses its own write. In
        // another epoch the positions say nothing (an unfenced primary's own log).
        let h = History {
            events: vec![
                ev(0, Invoke, Func::Write, "x", Value::Int(2), 10),
                ev(1, Invoke, Func::Write, "x", Value::Int(1), 11),
                placed(ev(1, Ok, Func::Write, "x", Value::Int(1), 20), 1, 1),
                placed(ev(0, Ok, Func::Write, "x", Value::Int(2), 21), 2, 1),
                ev(0, Invoke, Func::Read, "x", Value::Nil, 30),
                ev(0, Ok, Func::Read, "x", Value::Int(1), 40),
                ev(2, Invoke, Func::Write, "y", Value::Int(4), 50),
                ev(3, Invoke, Func::Write, "y", Value::Int(3), 51),
                placed(ev(3, Ok, Func::Write, "y", Value::Int(3), 60), 1, 2),
                placed(ev(2, Ok, Func::Write, "y", Value::Int(4), 61), 2, 1),
                ev(2, Invoke, Func::Read, "y", Value::Nil, 70),
                ev(2, Ok, Func::Read, "y", Value::Int(3), 80),
            ],
            data_type: None,
        };
        let a = ended(&h);
        assert_eq!(a.read_your_writes, 1, "{a:?}");
        let x = a
            .list
            .iter()
            .find(|x| x.kind == AnomalyKind::ReadYourWrites);
        assert!(
            x.is_some_and(|x| x
                .detail
                .contains("sits at index 1 of epoch 1, before write x=2 at index 2")),
            "{x:?}"
        );
    }

    #[test]
    fn a_client_reading_older_than_it_read_before_breaks_monotonic_reads() {
        let h = History {
            events: vec![
                ev(1, Invoke, Func::Write, "x", Value::Int(1), 10),
                ev(1, Ok, Func::Write, "x", Value::Int(1), 20),
                ev(1, Invoke, Func::Write, "x", Value::Int(2), 30),
                ev(1, Ok, Func::Write, "x", Value::Int(2), 40),
                ev(0, Invoke, Func::Read, "x", Value::Nil, 50),
                ev(0, Ok, Func::Read, "x", Value::Int(2), 60),
                // 1 was acknowledged before 2 began: older than what client 0 saw.
                ev(0, Invoke, Func::Read, "x", Value::Nil, 70),
                ev(0, Ok, Func::Read, "x", Value::Int(1), 80),
                // And then nothing at all.
                ev(0, Invoke, Func::Read, "x", Value::Nil, 90),
                ev(0, Ok, Func::Read, "x", Value::Nil, 95),
            ],
            data_type: None,
        };
        let a = ended(&h);
        assert_eq!(a.monotonic_reads, 2, "{a:?}");
        assert_eq!(a.read_your_writes, 0);
        let mono: Vec<&Anomaly> = a
            .list
            .iter()
            .filter(|x| x.kind == AnomalyKind::MonotonicRead)
            .collect();
        assert_eq!(mono[0].ops, vec![7, 5]);
        assert!(
            mono[0].detail.starts_with("client 0: read x = 2 (returned at 60 ms), then read x = 1 (begun at 70 ms), an older value")
                && mono[0].detail.contains("an older value: write x=1 was acknowledged at 20 ms, before write x=2 began at 30 ms"),
            "{}",
            mono[0].detail
        );
        // Nil is judged against the latest read that returned something.
        assert_eq!(mono[1].ops, vec![9, 7]);
        assert!(
            mono[1].detail.contains("nil after a value"),
            "{}",
            mono[1].detail
        );
        assert_eq!(
            a.by_client,
            vec![ClientAnomalies {
                client: 0,
                read_your_writes: 0,
                monotonic_reads: 2
            }]
        );
    }

    #[test]
    fn reads_of_concurrent_writes_in_any_order_are_monotonic() {
        let h = History {
            events: vec![
                // Another client's nil then a value: fine (and the same value again).
                ev(3, Invoke, Func::Read, "x", Value::Nil, 5),
                ev(3, Ok, Func::Read, "x", Value::Nil, 6),
                ev(1, Invoke, Func::Write, "x", Value::Int(1), 10),
                ev(2, Invoke, Func::Write, "x", Value::Int(2), 12),
                // Both writes in flight: client 0 may see them in either order.
                ev(0, Invoke, Func::Read, "x", Value::Nil, 14),
                ev(0, Ok, Func::Read, "x", Value::Int(2), 16),
                ev(0, Invoke, Func::Read, "x", Value::Nil, 18),
                ev(0, Ok, Func::Read, "x", Value::Int(1), 20),
                ev(1, Ok, Func::Write, "x", Value::Int(1), 30),
                ev(2, Ok, Func::Write, "x", Value::Int(2), 40),
                ev(3, Invoke, Func::Read, "x", Value::Nil, 50),
                ev(3, Ok, Func::Read, "x", Value::Int(2), 60),
                ev(3, Invoke, Func::Read, "x", Value::Nil, 70),
                ev(3, Ok, Func::Read, "x", Value::Int(2), 80),
                // Another key's nil says nothing about x.
                ev(3, Invoke, Func::Read, "y", Value::Nil, 90),
                ev(3, Ok, Func::Read, "y", Value::Nil, 95),
            ],
            data_type: None,
        };
        let a = ended(&h);
        assert_eq!((a.monotonic_reads, a.read_your_writes), (0, 0), "{a:?}");
    }

    /// The key-value map's strings: a read lacking the client's own acknowledged piece
    /// breaks read-your-writes; a string that does not extend the one read before breaks
    /// monotonic reads; strings that grow are fine.
    #[test]
    fn strings_break_sessions_by_lacking_a_piece_or_not_extending() {
        let s = |t: &str| Value::Str(t.into());
        let h = History {
            events: vec![
                ev(0, Invoke, Func::Append, "x", s("[1]"), 10),
                ev(0, Ok, Func::Append, "x", s("[1]"), 20),
                ev(0, Invoke, Func::Read, "x", Value::Nil, 30),
                ev(0, Ok, Func::Read, "x", s("[1]"), 40),
                ev(1, Invoke, Func::Append, "x", s("[2]"), 41),
                ev(1, Ok, Func::Append, "x", s("[2]"), 42),
                ev(0, Invoke, Func::Read, "x", Value::Nil, 50),
                ev(0, Ok, Func::Read, "x", s("[1][2]"), 60),
                // Then only [2]: lacks its own [1], and does not extend "[1][2]".
                ev(0, Invoke, Func::Read, "x", Value::Nil, 70),
                ev(0, Ok, Func::Read, "x", s("[2]"), 80),
                // Client 1, clean: its piece, then a longer string with it.
                ev(1, Invoke, Func::Read, "x", Value::Nil, 81),
                ev(1, Ok, Func::Read, "x", s("[1][2]"), 82),
                ev(1, Invoke, Func::Read, "x", Value::Nil, 83),
                ev(1, Ok, Func::Read, "x", s("[1][2][3]"), 84),
            ],
            data_type: Some("kv".into()),
        };
        let a = ended(&h);
        assert_eq!((a.read_your_writes, a.monotonic_reads), (1, 1), "{a:?}");
        let ryw = a
            .list
            .iter()
            .find(|x| x.kind == AnomalyKind::ReadYourWrites);
        assert!(
            ryw.is_some_and(|x| x.ops == vec![9, 1] && x.detail.contains("lacks its own piece [1]")),
            "{ryw:?}"
        );
        let mono = a.list.iter().find(|x| x.kind == AnomalyKind::MonotonicRead);
        assert!(
            mono.is_some_and(|x| x.ops == vec![9, 7] && x.detail.contains("does not extend")),
            "{mono:?}"
        );
    }
}
