//! Clients that are nodes, and what a lock service's run shows.
//!
//! A lock service's clients are nodes of the cluster: they report their own acquires
//! and releases ([`quorumlab_core::Report::Op`]), which enter the run's history as
//! process `node`, and its storage reports every write it took or refused
//! ([`quorumlab_core::Report::StorageWrite`]). [`NodeClients`] keeps what the engine
//! needs to close a crashed client's operations: a crashed client holds nothing and
//! asks for nothing, so its open request fails and the lock it believed it held is
//! released at the crash.
//!
//! [`analyse`] reads a run's lock history into what the page's lock timeline draws
//! ([`LockReport`]): per client, when it asked and when it believed it held the lock
//! (with its token and, for a service with a time to live, when the lease ran out in
//! real time); the storage's writes; and every spell in which two clients believed
//! they held the lock at once, with the assumption that failed (a pause, a clock, a
//! failover, a session cut off), read from the faults the run applied.

use crate::history::{EventType, Func, History, Value};
use crate::scenario::{FaultKind, NodeRef, Scenario};
use crate::workload;
use quorumlab_core::lock::{LockParams, Service};
use quorumlab_core::{ClientId, DataType, NodeId, Op, OpEnd, Time, MS};
use serde::{Deserialize, Serialize};

/// A write the storage took or refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageWrite {
    pub at: Time,
    /// The client that wrote.
    pub from: NodeId,
    pub token: u64,
    pub accepted: bool,
    /// Taken although a higher token was taken before: an older holder's write.
    pub corrupted: bool,
}

/// What the engine keeps of clients that are nodes: each one's open operation and
/// the locks it believes it holds.
#[derive(Clone, Debug, Default)]
pub struct NodeClients {
    open: Vec<(NodeId, Op)>,
    held: Vec<(NodeId, String)>,
}

impl NodeClients {
    /// Node `node` reported `op` ending with `end` (`None`: invoked) at `now`: the
    /// history event it makes. The history's data type is the operation's, when it has
    /// none yet.
    pub fn report(
        &mut self,
        history: &mut History,
        node: NodeId,
        op: Op,
        end: Option<OpEnd>,
        now: Time,
    ) {
        if history.data_type.is_none() {
            history.data_type = DataType::ALL
                .iter()
                .find(|d| d.has(op.kind()))
                .map(|d| d.name.to_string());
        }
        let (kind, value) = match end {
            None => {
                self.open.retain(|(n, _)| *n != node);
                self.open.push((node, op.clone()));
                (EventType::Invoke, None)
            }
            Some(e) => {
                self.open.retain(|(n, _)| *n != node);
                match e {
                    OpEnd::Ok(v) => {
                        match &op {
                            Op::Acquire { key } => self.held.push((node, key.clone())),
                            Op::Release { key } => {
                                self.held.retain(|(n, k)| !(*n == node && k == key))
                            }
                            _ => {}
                        }
                        (EventType::Ok, v)
                    }
                    OpEnd::Fail => (EventType::Fail, None),
                    OpEnd::Unknown => (EventType::Info, None),
                }
            }
        };
        history.push(workload::history_event(
            node as ClientId,
            kind,
            &op,
            value,
            now,
        ));
    }

    /// Node `node` crashed at `now`: its open request failed (a crashed client believes
    /// nothing), and what it held it holds no more.
    pub fn crashed(&mut self, history: &mut History, node: NodeId, now: Time) {
        if let Some(i) = self.open.iter().position(|(n, _)| *n == node) {
            let (_, op) = self.open.remove(i);
            self.report(history, node, op, Some(OpEnd::Fail), now);
        }
        let held: Vec<String> = self
            .held
            .iter()
            .filter(|(n, _)| *n == node)
            .map(|(_, k)| k.clone())
            .collect();
        for key in held {
            let op = Op::Release { key };
            self.report(history, node, op.clone(), None, now);
            self.report(history, node, op, Some(OpEnd::Ok(None)), now);
        }
    }
}

/// One spell of a client believing it holds the lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// When it learned it holds the lock, and when it stopped believing so (`None`:
    /// still at the end of what ran).
    pub from: Time,
    pub to: Option<Time>,
    /// Its fencing token (`None`: the service issues none, as Redlock).
    pub token: Option<i64>,
    /// A service with a time to live: when the lease ran out in real time, counted from
    /// the request (what a server counts from, at the earliest).
    pub lease_until: Option<Time>,
}

/// One client's lane on the lock timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lane {
    pub client: NodeId,
    /// Requests: when it asked, and when the answer came (`None`: open).
    pub asks: Vec<(Time, Option<Time>)>,
    pub holds: Vec<Hold>,
}

/// Two clients believing they hold the lock at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spell {
    pub from: Time,
    pub to: Time,
    /// The client that held it first, and the one that was granted it meanwhile, with
    /// their tokens.
    pub earlier: NodeId,
    pub later: NodeId,
    pub tokens: (Option<i64>, Option<i64>),
    /// The assumption that failed, in words.
    pub cause: String,
    /// The cause's kind: `pause`, `clock`, `failover`, `session`, or `lease`.
    pub kind: String,
}

/// What a lock service's run shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockReport {
    pub lanes: Vec<Lane>,
    pub writes: Vec<StorageWrite>,
    pub spells: Vec<Spell>,
    /// Writes the storage took from an older holder after a newer one's.
    pub corrupted: usize,
    /// The storage's node.
    pub storage: Option<NodeId>,
}

/// The lock timeline of a run up to `now`: lanes from the history's acquires and
/// releases, the storage's writes, and the spells of two believed holders with their
/// causes, judged from `applied` (the faults the run applied, with their times).
pub fn analyse(
    scenario: &Scenario,
    history: &History,
    writes: &[StorageWrite],
    applied: &[(Time, FaultKind)],
    now: Time,
) -> LockReport {
    let p: LockParams = serde_json::from_value(scenario.protocol.params.clone())
        .ok()
        .unwrap_or_default();
    let ttl = (p.service != Service::Zookeeper).then_some(p.ttl_ms * MS);
    let mut lanes: Vec<Lane> = Vec::new();
    let lane = |lanes: &mut Vec<Lane>, c: NodeId| -> usize {
        match lanes.iter().position(|l| l.client == c) {
            Some(i) => i,
            None => {
                lanes.push(Lane {
                    client: c,
                    asks: Vec::new(),
                    holds: Vec::new(),
                });
                lanes.len() - 1
            }
        }
    };
    for e in &history.events {
        let c = e.process as NodeId;
        let i = lane(&mut lanes, c);
        let l = &mut lanes[i];
        match (e.f, e.kind) {
            (Func::Acquire, EventType::Invoke) => l.asks.push((e.time, None)),
            (Func::Acquire, kind) => {
                let asked = l.asks.last_mut().filter(|a| a.1.is_none());
                let at = asked.map(|a| {
                    a.1 = Some(e.time);
                    a.0
                });
                if kind == EventType::Ok {
                    let token = match e.value {
                        Value::Int(t) => Some(t),
                        _ => None,
                    };
                    l.holds.push(Hold {
                        from: e.time,
                        to: None,
                        token,
                        lease_until: ttl.zip(at).map(|(t, a)| a + t),
                    });
                }
            }
            (Func::Release, EventType::Ok) => {
                if let Some(h) = l.holds.last_mut().filter(|h| h.to.is_none()) {
                    h.to = Some(e.time);
                }
            }
            _ => {}
        }
    }
    lanes.sort_by_key(|l| l.client);
    let spells = spells(&lanes, &p, applied, now);
    LockReport {
        corrupted: writes.iter().filter(|w| w.corrupted).count(),
        writes: writes.to_vec(),
        spells,
        lanes,
        storage: Some(p.storage as NodeId),
    }
}

fn spells(lanes: &[Lane], p: &LockParams, applied: &[(Time, FaultKind)], now: Time) -> Vec<Spell> {
    let mut out = Vec::new();
    for a in lanes {
        for b in lanes.iter().filter(|b| b.client != a.client) {
            for ha in &a.holds {
                let a_end = ha.to.unwrap_or(now);
                for hb in &b.holds {
                    // B was granted the lock while A still believed it held it.
                    if hb.from < ha.from || hb.from >= a_end {
                        continue;
                    }
                    let to = a_end.min(hb.to.unwrap_or(now));
                    let (kind, cause) = cause_of(a.client, ha, hb.from, p, applied);
                    out.push(Spell {
                        from: hb.from,
                        to,
                        earlier: a.client,
                        later: b.client,
                        tokens: (ha.token, hb.token),
                        cause,
                        kind: kind.to_string(),
                    });
                }
            }
        }
    }
    out.sort_by_key(|s| (s.from, s.earlier, s.later));
    out
}

fn node_of(r: &NodeRef) -> Option<NodeId> {
    r.id()
}

/// Why client `a` still believed it held the lock (`hold`) when another was granted
/// it at `granted`: the faults applied between its request and that grant that break
/// one of the service's assumptions, the most telling first.
fn cause_of(
    a: NodeId,
    hold: &Hold,
    granted: Time,
    p: &LockParams,
    applied: &[(Time, FaultKind)],
) -> (&'static str, String) {
    // From a little before the grant it heard of (the request was on its way).
    let since = hold.from.saturating_sub(p.ttl_ms * MS);
    let during = || {
        applied
            .iter()
            .filter(move |(t, _)| *t >= since && *t <= granted)
    };
    let server = |n: NodeId| (n as u64) < p.servers;
    let mut found: Vec<(&'static str, String)> = Vec::new();
    for (t, f) in during() {
        let at = t / MS;
        match f {
            FaultKind::Pause { node, duration_ms } if node_of(node) == Some(a) => found.push((
                "pause",
                format!(
                    "client {a} was paused for {duration_ms} ms at {at} ms (a GC pause) while holding the lock: its lease ran out at the server while it was stopped, and it woke still believing it held it"
                ),
            )),
            FaultKind::Clock {
                node,
                skew_ms,
                drift_ppm,
            } if node_of(node) == Some(a) && (*skew_ms < 0 || *drift_ppm < 0) => found.push((
                "clock",
                format!(
                    "client {a}'s clock {} at {at} ms: it counted its lease as still valid after it ran out at the server",
                    if *skew_ms < 0 { "jumped back" } else { "slowed down" }
                ),
            )),
            FaultKind::Clock {
                node,
                skew_ms,
                drift_ppm,
            } if node_of(node).is_some_and(server) && (*skew_ms > 0 || *drift_ppm > 0) => {
                let s = node_of(node).unwrap_or_default();
                found.push((
                    "clock",
                    format!(
                        "lock server {s}'s clock {} at {at} ms: client {a}'s key expired there early, and the server granted the lock again{}",
                        if *skew_ms > 0 { "jumped ahead" } else { "ran fast" },
                        if p.service == Service::Redlock {
                            " (Redlock assumes bounded clock drift; one master's jump was enough to form a second majority)"
                        } else {
                            ""
                        }
                    ),
                ))
            }
            FaultKind::Crash { node } if node_of(node).is_some_and(server) && p.service == Service::Redis => {
                let s = node_of(node).unwrap_or_default();
                found.push((
                    "failover",
                    format!(
                        "master {s} crashed at {at} ms before replicating client {a}'s lock: the replica promoted in its place had never heard of it and granted it again"
                    ),
                ))
            }
            FaultKind::Partition { groups } if p.service == Service::Zookeeper => {
                let alone = groups.iter().any(|g| {
                    g.iter().any(|n| node_of(n) == Some(a))
                        && !g.iter().any(|n| node_of(n).is_some_and(server))
                });
                if alone {
                    found.push((
                        "session",
                        format!(
                            "client {a} was cut off from ZooKeeper at {at} ms: its session expired and its lock node was deleted, so the next waiter's turn came while it still believed it held the lock"
                        ),
                    ));
                }
            }
            FaultKind::Cut { from, to }
                if p.service == Service::Zookeeper
                    && ((*from == a && server(*to)) || (*to == a && server(*from))) =>
            {
                found.push((
                    "session",
                    format!(
                        "the link between client {a} and ZooKeeper server {} was cut at {at} ms: its session expired and its lock node was deleted, so the next waiter's turn came while it still believed it held the lock",
                        if *from == a { to } else { from }
                    ),
                ))
            }
            FaultKind::Isolate { node } if node_of(node) == Some(a) && p.service == Service::Zookeeper => {
                found.push((
                    "session",
                    format!(
                        "client {a} was isolated at {at} ms: its session expired and its lock node was deleted, so the next waiter's turn came while it still believed it held the lock"
                    ),
                ))
            }
            _ => {}
        }
    }
    // The most telling first: what the client itself did not notice, then the servers.
    let rank = |k: &str| match k {
        "pause" => 0,
        "clock" => 1,
        "failover" => 2,
        "session" => 3,
        _ => 4,
    };
    found.sort_by_key(|f| rank(f.0));
    found.dedup_by(|x, y| x.1 == y.1);
    match found.first() {
        Some((kind, _)) => {
            let words: Vec<String> = found.iter().map(|f| f.1.clone()).collect();
            (kind, words.join("; and "))
        }
        None => (
            "lease",
            format!(
                "client {a}'s lease ran out at the server before it noticed (no fault the run applied explains it: look at the messages it was waiting for)"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::HistoryEvent;
    use quorumlab_core::Val;

    fn ev(process: u64, kind: EventType, f: Func, value: Value, ms: u64) -> HistoryEvent {
        HistoryEvent {
            process,
            kind,
            f,
            key: Some("lock".into()),
            value,
            time: ms * MS,
            index: None,
            term: None,
            gave_up: false,
        }
    }

    fn scenario(service: &str) -> Scenario {
        crate::scenario::parse(&format!(
            r#"{{"version": 1, "protocol": {{"name": "lock", "params": {{"service": "{service}"}}}}, "nodes": 6, "duration_ms": 1000}}"#
        ))
        .expect("parses")
    }

    /// Client 4 is paused while it holds the lock; client 5 is granted it meanwhile:
    /// one spell, blamed on the pause, with both tokens and the lease drawn.
    #[test]
    fn a_pause_while_holding_makes_a_spell_blamed_on_the_pause() {
        use EventType::*;
        let h = History {
            events: vec![
                ev(4, Invoke, Func::Acquire, Value::Nil, 100),
                ev(4, Ok, Func::Acquire, Value::Int(1), 102),
                ev(5, Invoke, Func::Acquire, Value::Nil, 150),
                ev(5, Ok, Func::Acquire, Value::Int(2), 500),
                ev(4, Invoke, Func::Release, Value::Nil, 700),
                ev(4, Ok, Func::Release, Value::Nil, 700),
                ev(5, Invoke, Func::Release, Value::Nil, 800),
                ev(5, Ok, Func::Release, Value::Nil, 800),
            ],
            data_type: Some("lock".into()),
        };
        let pause = FaultKind::Pause {
            node: NodeRef::Id(4),
            duration_ms: 500,
        };
        let r = analyse(&scenario("redis"), &h, &[], &[(200 * MS, pause)], 900 * MS);
        assert_eq!(r.lanes.len(), 2);
        let hold = &r.lanes[0].holds[0];
        assert_eq!(
            (hold.from, hold.to, hold.token),
            (102 * MS, Some(700 * MS), Some(1))
        );
        assert!(hold.lease_until.is_some());
        assert_eq!(r.spells.len(), 1, "{:?}", r.spells);
        let s = &r.spells[0];
        assert_eq!(
            (s.from, s.to, s.earlier, s.later),
            (500 * MS, 700 * MS, 4, 5)
        );
        assert_eq!(s.tokens, (Some(1), Some(2)));
        assert_eq!(s.kind, "pause");
        assert!(s.cause.contains("paused for 500 ms"), "{}", s.cause);
        // Without the fault: no explanation but the lease itself.
        let r = analyse(&scenario("redis"), &h, &[], &[], 900 * MS);
        assert_eq!(r.spells[0].kind, "lease");
    }

    /// A crashed client's open request fails and its lock is released at the crash.
    #[test]
    fn a_crashed_client_holds_nothing() {
        let mut h = History::default();
        let mut c = NodeClients::default();
        let acquire = || Op::Acquire { key: "lock".into() };
        c.report(&mut h, 4, acquire(), None, 10);
        c.report(&mut h, 4, acquire(), Some(OpEnd::Ok(Some(Val::Int(7)))), 20);
        c.report(&mut h, 5, acquire(), None, 30);
        c.crashed(&mut h, 4, 40);
        c.crashed(&mut h, 5, 50);
        assert_eq!(h.data_type.as_deref(), Some("lock"));
        let got: Vec<(u64, EventType, Func)> =
            h.events.iter().map(|e| (e.process, e.kind, e.f)).collect();
        use EventType::*;
        assert_eq!(
            got,
            [
                (4, Invoke, Func::Acquire),
                (4, Ok, Func::Acquire),
                (5, Invoke, Func::Acquire),
                (4, Invoke, Func::Release),
                (4, Ok, Func::Release),
                (5, Fail, Func::Acquire),
            ]
        );
        assert_eq!(h.events[1].value, Value::Int(7));
    }
}
