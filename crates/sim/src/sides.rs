//! Availability per side of a partition: the CAP trade-off as a figure. While the
//! network is split, a client is on the side of its home node (its requests and replies
//! cross the network from there), so each operation is counted on the side its client
//! stood when it was invoked: the majority side (more than half the nodes), a minority
//! side, or the whole network when nothing was split; it counts as answered only if
//! it was answered before the network changed again. A consensus protocol keeps the
//! minority side's writes unavailable and loses nothing; an available protocol answers
//! on both sides and pays in anomalies.
//!
//! Read from a run by stepping it and reading the network's cuts after each step
//! ([`run_to_end`]): no hook in the engine, so the page's bundle does not pay for it.

use crate::history::{EventType, Func, History};
use crate::run::Engine;
use quorumlab_core::{NodeId, Time};
use serde::{Deserialize, Serialize};

/// Where a client stood when it invoked an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Nothing was split.
    Whole,
    /// A part of the network with more than half of the nodes.
    Majority,
    /// A part with half of the nodes or fewer.
    Minority,
}

/// The network's parts over a run: after each change, the part of every node (the
/// smallest node id in it).
#[derive(Clone, Debug, Default)]
pub struct Parts {
    n: usize,
    changes: Vec<(Time, Vec<NodeId>)>,
}

impl Parts {
    pub fn new(nodes: usize) -> Parts {
        Parts {
            n: nodes,
            changes: Vec::new(),
        }
    }

    /// The network at `now` has these one-way cuts; two nodes are in the same part when
    /// they can talk both ways, directly or through others.
    pub fn record(&mut self, now: Time, blocked: &[(NodeId, NodeId)]) {
        let n = self.n;
        let mut cut = vec![false; n * n];
        for &(a, b) in blocked {
            let (a, b) = (a as usize, b as usize);
            if a < n && b < n {
                cut[a * n + b] = true;
                cut[b * n + a] = true;
            }
        }
        // Parts by flooding from the smallest unlabelled node (n is at most a few dozen).
        let mut part = vec![NodeId::MAX; n];
        for start in 0..n {
            if part[start] != NodeId::MAX {
                continue;
            }
            part[start] = start as NodeId;
            let mut stack = vec![start];
            while let Some(a) = stack.pop() {
                for b in 0..n {
                    if part[b] == NodeId::MAX && !cut[a * n + b] {
                        part[b] = start as NodeId;
                        stack.push(b);
                    }
                }
            }
        }
        if self.changes.last().is_none_or(|(_, p)| *p != part) {
            self.changes.push((now, part));
        }
    }

    /// Which of the network's configurations was in force at `t` (changes so far).
    pub fn epoch(&self, t: Time) -> usize {
        self.changes.partition_point(|(at, _)| *at <= t)
    }

    /// The side node `node` was on at `t`.
    pub fn side(&self, node: NodeId, t: Time) -> Side {
        let i = self.epoch(t);
        let Some((_, part)) = i.checked_sub(1).and_then(|i| self.changes.get(i)) else {
            return Side::Whole;
        };
        let Some(&mine) = part.get(node as usize) else {
            return Side::Whole;
        };
        let size = part.iter().filter(|&&p| p == mine).count();
        if size == self.n {
            Side::Whole
        } else if 2 * size > self.n {
            Side::Majority
        } else {
            Side::Minority
        }
    }

    /// Whether the network was ever split.
    pub fn ever_split(&self) -> bool {
        self.changes
            .iter()
            .any(|(_, p)| p.iter().any(|&x| x != p[0]))
    }
}

/// Run `e` to its end (exactly as [`Engine::run_to_end`]: the same trace), recording
/// the network's parts after every step.
pub fn run_to_end(e: &mut dyn Engine) -> Parts {
    let mut parts = Parts::new(e.scenario().nodes.len());
    parts.record(e.now(), &e.blocked());
    while e.step() {
        parts.record(e.now(), &e.blocked());
    }
    e.run_to_end();
    parts
}

/// Operations of one side: how many completed (answered, or given up on with the
/// outcome unknown) and how many were answered, for reads and for writes (cas and
/// append count as writes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub reads: u64,
    pub reads_answered: u64,
    pub writes: u64,
    pub writes_answered: u64,
}

impl Tally {
    /// Answered over completed, reads and writes together (`None`: no operation).
    pub fn availability(&self) -> Option<f64> {
        let all = self.reads + self.writes;
        (all > 0).then(|| (self.reads_answered + self.writes_answered) as f64 / all as f64)
    }
    pub fn write_availability(&self) -> Option<f64> {
        (self.writes > 0).then(|| self.writes_answered as f64 / self.writes as f64)
    }
    pub fn read_availability(&self) -> Option<f64> {
        (self.reads > 0).then(|| self.reads_answered as f64 / self.reads as f64)
    }
}

/// Each side's operations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BySide {
    pub whole: Tally,
    pub majority: Tally,
    pub minority: Tally,
}

impl BySide {
    fn side(&mut self, s: Side) -> &mut Tally {
        match s {
            Side::Whole => &mut self.whole,
            Side::Majority => &mut self.majority,
            Side::Minority => &mut self.minority,
        }
    }
}

/// Each side's operations over the run and per window of time (by when each was
/// invoked): how availability on each side of a partition moved.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SidesReport {
    pub total: BySide,
    /// The width of a window.
    pub window: Time,
    pub windows: Vec<BySide>,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.reads += o.reads;
        self.reads_answered += o.reads_answered;
        self.writes += o.writes;
        self.writes_answered += o.writes_answered;
    }
}

/// [`tally`], and the same per window of `window` microseconds.
pub fn tally_windows(
    history: &History,
    parts: &Parts,
    window: Time,
    home: impl Fn(u64) -> Option<NodeId>,
) -> SidesReport {
    let windows = tally_by(history, parts, window, home);
    let mut total = BySide::default();
    for w in &windows {
        total.whole.add(&w.whole);
        total.majority.add(&w.majority);
        total.minority.add(&w.minority);
    }
    SidesReport {
        total,
        window,
        windows,
    }
}

/// Count `history`'s operations by the side their client stood on when it invoked them;
/// `home(process)` is the client's home node (`None`: a process that is not one of the
/// workload's clients, not counted).
pub fn tally(history: &History, parts: &Parts, home: impl Fn(u64) -> Option<NodeId>) -> BySide {
    tally_by(history, parts, Time::MAX, home)
        .pop()
        .unwrap_or_default()
}

/// The tally per window of `window` microseconds, by invocation time.
fn tally_by(
    history: &History,
    parts: &Parts,
    window: Time,
    home: impl Fn(u64) -> Option<NodeId>,
) -> Vec<BySide> {
    let window = window.max(1);
    let mut open: std::collections::BTreeMap<u64, (Side, usize, bool, usize)> = Default::default();
    let mut out: Vec<BySide> = Vec::new();
    for e in &history.events {
        match e.kind {
            EventType::Invoke => {
                if let Some(node) = home(e.process) {
                    let write = !matches!(e.f, Func::Read);
                    let w = (e.time / window) as usize;
                    open.insert(
                        e.process,
                        (parts.side(node, e.time), parts.epoch(e.time), write, w),
                    );
                }
            }
            EventType::Ok | EventType::Fail | EventType::Info => {
                let Some((side, epoch, write, w)) = open.remove(&e.process) else {
                    continue;
                };
                if out.len() <= w {
                    out.resize(w + 1, BySide::default());
                }
                let t = out[w].side(side);
                // A definite failure a node answered (a cas whose expected value did not
                // match) is an answer; an operation the client gave up on is not, nor
                // one answered only once the network had changed (healed, say): that
                // side did not serve it while it stood apart.
                let answered =
                    e.kind != EventType::Info && !e.gave_up && parts.epoch(e.time) == epoch;
                if write {
                    t.writes += 1;
                    t.writes_answered += answered as u64;
                } else {
                    t.reads += 1;
                    t.reads_answered += answered as u64;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorumlab_core::MS;

    #[test]
    fn parts_follow_the_cuts() {
        let mut p = Parts::new(5);
        p.record(0, &[]);
        assert_eq!(p.side(4, 10), Side::Whole);
        assert!(!p.ever_split());
        // {0, 1} | {2, 3, 4}, cut both ways.
        let mut cuts = Vec::new();
        for a in 0..2 {
            for b in 2..5 {
                cuts.push((a, b));
                cuts.push((b, a));
            }
        }
        p.record(100 * MS, &cuts);
        assert!(p.ever_split());
        assert_eq!(p.side(0, 99 * MS), Side::Whole);
        assert_eq!(p.side(0, 100 * MS), Side::Minority);
        assert_eq!(p.side(1, 200 * MS), Side::Minority);
        assert_eq!(p.side(3, 200 * MS), Side::Majority);
        // A one-way cut is enough to separate two nodes; a path through a third joins
        // them again.
        let mut q = Parts::new(3);
        q.record(0, &[(0, 1)]);
        assert_eq!(q.side(0, 1), Side::Whole);
        q.record(5, &[(0, 1), (0, 2)]);
        assert_eq!(q.side(0, 6), Side::Minority);
        assert_eq!(q.side(2, 6), Side::Majority);
        // Recording the same parts again changes nothing.
        q.record(7, &[(0, 2), (0, 1)]);
        assert_eq!(q.changes.len(), 2);
    }

    #[test]
    fn operations_count_where_they_were_invoked() {
        use crate::history::{HistoryEvent, Value};
        let ev = |process, kind, f, ms| HistoryEvent {
            process,
            kind,
            f,
            key: None,
            value: Value::Nil,
            time: ms * MS,
            index: None,
            term: None,
            gave_up: false,
        };
        let mut p = Parts::new(3);
        p.record(0, &[]);
        p.record(50 * MS, &[(0, 1), (1, 0), (0, 2), (2, 0)]);
        let h = History {
            events: vec![
                // Client 0 (home 0) writes before the split: whole.
                ev(0, EventType::Invoke, Func::Write, 10),
                ev(0, EventType::Ok, Func::Write, 20),
                // Client 0 writes on the minority side and gives up.
                ev(0, EventType::Invoke, Func::Write, 60),
                // Client 1 (home 1) reads on the majority side, answered.
                ev(1, EventType::Invoke, Func::Read, 61),
                ev(1, EventType::Ok, Func::Read, 70),
                ev(0, EventType::Info, Func::Write, 90),
                // Client 2 (home 2, majority side): a cas a node refused (answered),
                // then a write it gave up on (no node would take it).
                ev(2, EventType::Invoke, Func::Cas, 61),
                ev(2, EventType::Fail, Func::Cas, 62),
                ev(2, EventType::Invoke, Func::Write, 63),
                HistoryEvent {
                    gave_up: true,
                    ..ev(2, EventType::Fail, Func::Write, 80)
                },
                // Process 9 is not a client of the workload.
                ev(9, EventType::Invoke, Func::Write, 60),
                ev(9, EventType::Ok, Func::Write, 61),
            ],
            data_type: None,
        };
        let by = tally(&h, &p, |c| (c < 3).then_some(c as NodeId));
        assert_eq!(by.whole.write_availability(), Some(1.0));
        assert_eq!(by.minority.write_availability(), Some(0.0));
        assert_eq!(by.minority.read_availability(), None);
        assert_eq!(by.majority.read_availability(), Some(1.0));
        assert_eq!(by.majority.write_availability(), Some(0.5));
        assert_eq!(by.majority.availability(), Some(2.0 / 3.0));
    }
}
