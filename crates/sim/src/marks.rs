//! The moments that matter in a run, for the timeline and `quorumlab run --marks`:
//! elections won (and so leader changes), snapshots sent, membership changes taking
//! effect, commits stalled while clients wait, the invariant violation and the
//! expectations' verdicts.
//!
//! Some are seen only while the run happens (who leads after each window: the engine
//! keeps no past states), so [`Marks`] collects them as the engine accounts for each
//! node's events; the rest are read from what the run keeps anyway (the history, the
//! violation, the expectation outcomes) when they are asked for, by [`stalls`] and the
//! engine's `marks()`. Collecting reads the hosts' flags only: the trace does not
//! change.

use quorumlab_core::{NodeId, Time, MS};
use serde::{Deserialize, Serialize};

use crate::engine::Found;
use crate::expect::{ExpectOutcome, ExpectStatus};
use crate::history::{EventType, History};

/// What kind of moment a [`Mark`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MarkKind {
    /// A node started to lead. `nodes`: the new leader, then the previous one if
    /// another node led before.
    Elected,
    /// A node sent snapshots (lagging peers caught up by state, not by log).
    /// `nodes`: the sender, then the receivers.
    Snapshot,
    /// A membership change took effect at a node. `nodes`: the node that took it.
    Membership,
    /// Clients waited and nothing committed for longer than the protocol's patience
    /// (about its election timeout). `until`: when something committed again, or now.
    Stalled,
    /// The invariant violation that stopped the run.
    Violation,
    /// An expectation was decided: passed.
    Passed,
    /// An expectation was decided: failed.
    Failed,
}

impl MarkKind {
    /// The stable name used by `--json`, `--marks` and the page's `data-kind`.
    pub fn name(self) -> &'static str {
        match self {
            MarkKind::Elected => "elected",
            MarkKind::Snapshot => "snapshot",
            MarkKind::Membership => "membership",
            MarkKind::Stalled => "stalled",
            MarkKind::Violation => "violation",
            MarkKind::Passed => "passed",
            MarkKind::Failed => "failed",
        }
    }
}

/// One moment on the timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// Simulated time, microseconds.
    pub at: Time,
    pub kind: MarkKind,
    /// The nodes involved (to select on the page); see [`MarkKind`] for the order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeId>,
    /// What happened, in words.
    pub text: String,
    /// The end of a span (a stall), when the mark is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Time>,
}

/// At most this many marks of one source are kept (a long run with a lagging node
/// can send a snapshot every few heartbeats); the rest are counted.
pub const MAX_MARKS: usize = 2_000;

/// The marks seen while the run happens.
#[derive(Clone, Debug, Default)]
pub struct Marks {
    /// Per node: whether it led when last looked at.
    led: Vec<bool>,
    /// The node that led last (for "after node 1").
    last_leader: Option<NodeId>,
    marks: Vec<Mark>,
    /// Marks not kept because [`MAX_MARKS`] were.
    pub dropped: u64,
}

impl Marks {
    pub fn new(n: usize) -> Self {
        Marks {
            led: vec![false; n],
            ..Marks::default()
        }
    }

    pub fn collected(&self) -> &[Mark] {
        &self.marks
    }

    fn push(&mut self, m: Mark) {
        if self.marks.len() < MAX_MARKS {
            self.marks.push(m);
        } else {
            self.dropped += 1;
        }
    }

    /// Node `node` was seen leading or not (`leader`, in `epoch`) after an event at
    /// `at`. Only a node that starts leading won an election: a primary that keeps
    /// leading through new views is not marked again, and a Raft leader must stop
    /// leading (stand as a candidate) before it leads a new term.
    pub fn leader(&mut self, at: Time, node: NodeId, leader: bool, epoch: u64) {
        let i = node as usize;
        if i >= self.led.len() {
            self.led.resize(i + 1, false);
        }
        let was = std::mem::replace(&mut self.led[i], leader);
        if !leader || was {
            return;
        }
        let mut nodes = vec![node];
        let mut text = format!("node {node} leads epoch {epoch}");
        if let Some(p) = self.last_leader.filter(|&p| p != node) {
            nodes.push(p);
            text.push_str(&format!(" (after node {p})"));
        }
        self.last_leader = Some(node);
        self.push(Mark {
            at,
            kind: MarkKind::Elected,
            nodes,
            text,
            until: None,
        });
    }

    /// Node `node` crashed or left: it leads nothing now.
    pub fn down(&mut self, node: NodeId) {
        if let Some(x) = self.led.get_mut(node as usize) {
            *x = false;
        }
    }

    /// `from` sent `to` a snapshot at `at`. Snapshots one node sends at one moment (a
    /// new primary bringing every backup up to date) are one mark.
    pub fn snapshot(&mut self, at: Time, from: NodeId, to: NodeId) {
        let same = |m: &&mut Mark| {
            m.kind == MarkKind::Snapshot && m.at == at && m.nodes.first() == Some(&from)
        };
        if let Some(m) = self.marks.last_mut().filter(same) {
            if !m.nodes[1..].contains(&to) {
                m.nodes.push(to);
                m.text.push_str(&format!(", node {to}"));
            }
            return;
        }
        self.push(Mark {
            at,
            kind: MarkKind::Snapshot,
            nodes: vec![from, to],
            text: format!("node {from} sends a snapshot to node {to}"),
            until: None,
        });
    }

    /// A membership change took effect at `node` (`what`: the log's words for it).
    pub fn membership(&mut self, at: Time, node: NodeId, what: String) {
        self.push(Mark {
            at,
            kind: MarkKind::Membership,
            nodes: vec![node],
            text: what,
            until: None,
        });
    }
}

/// Every mark of a run so far, in time order: those `seen` as they happened, the
/// stalls in `history` (see [`stalls`]), the `violation` and the decided
/// `expectations`. Not generic: the page pays for it once, not once per protocol.
pub fn assemble(
    seen: &Marks,
    history: &History,
    patience: Time,
    now: Time,
    violation: Option<&Found>,
    expectations: &[ExpectOutcome],
) -> Vec<Mark> {
    let mut out = seen.collected().to_vec();
    out.extend(stalls(history, patience, now));
    if let Some(f) = violation {
        out.push(Mark {
            at: f.time,
            kind: MarkKind::Violation,
            nodes: Vec::new(),
            text: format!("{}: {}", f.invariant, f.detail),
            until: None,
        });
    }
    for x in expectations {
        let kind = match x.status {
            ExpectStatus::Passed => MarkKind::Passed,
            ExpectStatus::Failed => MarkKind::Failed,
            ExpectStatus::Pending => continue,
        };
        let Some(ms) = x.at_ms else { continue };
        out.push(Mark {
            at: (ms * MS as f64) as Time,
            kind,
            nodes: Vec::new(),
            text: x.what.clone(),
            until: None,
        });
    }
    // Into time order, stably (marks of one moment keep the order they were made in).
    // By insertion: each source is in time order already, so this is a merge in
    // effect, and the standard library's sort would cost the page about 1 kB gzipped
    // (its stable sort for this type: 2.7 kB of WASM, measured).
    for i in 1..out.len() {
        let mut j = i;
        while j > 0 && out[j - 1].at > out[j].at {
            out.swap(j - 1, j);
            j -= 1;
        }
    }
    out
}

/// Spans of at least `patience` during which some client waited for an operation and
/// none completed successfully, up to `now` (a span still open at `now` ends there and
/// counts once it is long enough). The mark sits where the waiting began: at the last
/// success, or at the first invoke after a quiet spell.
pub fn stalls(history: &History, patience: Time, now: Time) -> Vec<Mark> {
    let mut out = Vec::new();
    let mut pending: i64 = 0;
    // Since when clients have waited with nothing completing (None: nobody waits).
    let mut since: Option<Time> = None;
    let close = |from: Time, to: Time, out: &mut Vec<Mark>| {
        if to.saturating_sub(from) >= patience && out.len() < MAX_MARKS {
            out.push(Mark {
                at: from,
                kind: MarkKind::Stalled,
                nodes: Vec::new(),
                text: format!(
                    "nothing committed for {} ms while clients waited",
                    (to - from) / MS
                ),
                until: Some(to),
            });
        }
    };
    for e in &history.events {
        if e.time > now {
            break;
        }
        match e.kind {
            EventType::Invoke => {
                pending += 1;
                since.get_or_insert(e.time);
            }
            EventType::Ok => {
                pending -= 1;
                if let Some(from) = since.take() {
                    close(from, e.time, &mut out);
                }
                if pending > 0 {
                    since = Some(e.time);
                }
            }
            // An operation that failed or timed out is no progress; the spell goes
            // on while anyone still waits.
            EventType::Fail | EventType::Info => {
                pending -= 1;
                if pending <= 0 {
                    if let Some(from) = since.take() {
                        close(from, e.time, &mut out);
                    }
                }
            }
        }
    }
    if let Some(from) = since {
        close(from, now, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Func, HistoryEvent};

    fn ev(process: u64, kind: EventType, ms: u64) -> HistoryEvent {
        HistoryEvent {
            process,
            kind,
            f: Func::Write,
            key: Some("x".into()),
            value: crate::history::Value::Nil,
            time: ms * MS,
            index: None,
            term: None,
            gave_up: false,
        }
    }

    fn spans(m: &[Mark]) -> Vec<(Time, Vec<NodeId>)> {
        m.iter().map(|x| (x.at, x.nodes.clone())).collect()
    }

    #[test]
    fn an_election_is_a_node_starting_to_lead_with_the_one_before_it() {
        let mut m = Marks::new(3);
        m.leader(10, 0, false, 1);
        m.leader(20, 0, true, 1);
        // Still leading, a new epoch (a primary's new view): not a new election.
        m.leader(30, 0, true, 2);
        m.down(0);
        m.leader(40, 2, true, 3);
        m.leader(50, 2, false, 3);
        m.leader(60, 2, true, 4);
        assert_eq!(
            spans(m.collected()),
            vec![(20, vec![0]), (40, vec![2, 0]), (60, vec![2])]
        );
        assert_eq!(m.collected()[1].text, "node 2 leads epoch 3 (after node 0)");
    }

    #[test]
    fn snapshots_sent_at_one_moment_by_one_node_are_one_mark() {
        let mut m = Marks::new(4);
        m.snapshot(5, 1, 2);
        m.snapshot(5, 1, 3);
        m.snapshot(5, 1, 3);
        m.snapshot(5, 0, 3);
        m.snapshot(6, 1, 2);
        assert_eq!(
            spans(m.collected()),
            vec![(5, vec![1, 2, 3]), (5, vec![0, 3]), (6, vec![1, 2])]
        );
        assert_eq!(
            m.collected()[0].text,
            "node 1 sends a snapshot to node 2, node 3"
        );
    }

    #[test]
    fn a_stall_is_waiting_without_success_for_at_least_the_patience() {
        let h = History {
            events: vec![
                ev(0, EventType::Invoke, 0),
                ev(0, EventType::Ok, 5),
                // Waits 100 ms: a stall at patience 50, not at 200.
                ev(1, EventType::Invoke, 10),
                ev(1, EventType::Ok, 110),
                // Nobody waits between 110 and 500: no stall however long.
                ev(0, EventType::Invoke, 500),
                ev(0, EventType::Info, 520),
                // Still waiting at the end.
                ev(1, EventType::Invoke, 600),
            ],
            ..History::default()
        };
        let s = stalls(&h, 50 * MS, 700 * MS);
        let got: Vec<_> = s
            .iter()
            .map(|m| (m.at / MS, m.until.unwrap_or(0) / MS))
            .collect();
        assert_eq!(got, vec![(10, 110), (600, 700)]);
        assert_eq!(
            s[0].text,
            "nothing committed for 100 ms while clients waited"
        );
        assert!(stalls(&h, 200 * MS, 700 * MS).is_empty());
        // Earlier, the open spell is not long enough yet.
        assert_eq!(stalls(&h, 50 * MS, 620 * MS).len(), 1);
    }
}
