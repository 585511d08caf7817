//! A run of any protocol behind one object-safe interface, for the CLI and the page,
//! and the summary a run ends with.

use crate::anomaly::{Anomalies, EndState};
use crate::engine::{Flight, Found, LogLine, Sim, Status};
use crate::expect::{decide_end, ExpectOutcome, ExpectStatus, HistoryVerdict};
use crate::history::History;
use crate::metrics::WindowReport;
use crate::scenario::{FaultKind, Scenario};
use quorumlab_core::{LogWindow, NodeId, NodeView, Protocol, Time, MS};
use serde::{Deserialize, Serialize};

/// A run in progress, whatever its protocol.
pub trait Engine {
    /// Handle the next control event or window of events; false when the run is over.
    fn step(&mut self) -> bool;
    /// Run until simulated time `t` (inclusive) or the end.
    fn run_until(&mut self, t: Time);
    /// Time of the next event (control or node input), if any.
    fn next_time(&self) -> Option<Time>;
    /// Run to the end of the scenario or the first violation.
    fn run_to_end(&mut self);
    fn done(&self) -> bool;
    fn now(&self) -> Time;
    fn end(&self) -> Time;
    /// Events handled so far.
    fn events(&self) -> u64;
    fn trace_hash(&self) -> u64;
    fn views(&self) -> Vec<Option<NodeView>>;
    /// [`Engine::views`] with only the log entries `window` keeps.
    fn views_window(&self, window: LogWindow) -> Vec<Option<NodeView>>;
    fn status(&self) -> Vec<Status>;
    /// What node `node`'s disk holds (see [`Sim::disk_view`]): the page's picture of a
    /// crashed node. `None` where an engine cannot tell.
    fn disk_view(&self, _node: NodeId) -> Option<NodeView> {
        None
    }
    /// Clock offset of each node from true time, in microseconds.
    fn clock_offsets(&self) -> Vec<i64>;
    /// Links cut right now, as `(from, to)`.
    fn blocked(&self) -> Vec<(NodeId, NodeId)>;
    /// Schedule a user action at the current time.
    fn inject(&mut self, action: FaultKind);
    fn history(&self) -> &History;
    fn log(&self) -> &[LogLine];
    /// Messages in flight at `t` (when recording).
    fn flights_at(&self, t: Time) -> Vec<Flight>;
    /// Every recorded message (when recording). An engine in another module
    /// ([`crate::link::Proxy`]) holds none here: ask [`Engine::flights_window`].
    fn flights(&self) -> &[Flight];
    /// The recorded messages the space-time diagram draws at `now` ([`in_window`]).
    fn flights_window(&self, now: Time, window_ms: f64) -> Vec<(usize, Flight)> {
        in_window(self.flights(), now, window_ms)
    }
    /// Keep only the `n` most recent recorded messages (a checkpoint keeps only the
    /// recent ones).
    fn keep_recent_flights(&mut self, n: usize);
    fn violation(&self) -> Option<&Found>;
    fn invariants(&self) -> &'static [&'static str];
    fn scenario(&self) -> &Scenario;
    fn seed(&self) -> u64;
    /// Convergence at the end (see [`Sim::convergence`]).
    fn convergence(&self) -> Option<Result<(), String>>;
    /// Where each of the scenario's expectations stands (see [`crate::expect`]).
    fn expectations(&self) -> Vec<ExpectOutcome>;
    fn metrics(&self) -> Vec<WindowReport>;
    fn total(&self) -> WindowReport;
    /// Who accepted acknowledged writes, when (see [`crate::anomaly`]).
    fn serving(&self) -> &crate::anomaly::Serving;
    /// The moments that matter so far, in time order (see [`crate::marks`]).
    fn marks(&self) -> Vec<crate::marks::Mark>;
    /// A lock service's timeline so far ([`crate::locks`]): `None` for a run whose
    /// clients take no locks.
    fn lock_report(&self) -> Option<crate::locks::LockReport> {
        None
    }
    /// Each side's operations so far, for a partition's availability per side.
    fn sides(&self) -> crate::sides::SidesReport;
    /// A copy of the whole run, for checkpoints (scrubbing back in time).
    fn boxed_clone(&self) -> Box<dyn Engine>;
    /// Why the run cannot go on where it is held (an engine module that trapped: see
    /// [`crate::link::Proxy`]); `None` for a run in this process.
    fn failure(&self) -> Option<&str> {
        None
    }
}

impl<P: Protocol> Engine for Sim<P> {
    fn step(&mut self) -> bool {
        Sim::step(self)
    }
    fn run_until(&mut self, t: Time) {
        Sim::run_until(self, t)
    }
    fn next_time(&self) -> Option<Time> {
        Sim::next_time(self)
    }
    fn run_to_end(&mut self) {
        Sim::run(self)
    }
    fn done(&self) -> bool {
        Sim::done(self)
    }
    fn now(&self) -> Time {
        Sim::now(self)
    }
    fn end(&self) -> Time {
        Sim::end(self)
    }
    fn events(&self) -> u64 {
        Sim::events(self)
    }
    fn trace_hash(&self) -> u64 {
        Sim::trace_hash(self)
    }
    fn views(&self) -> Vec<Option<NodeView>> {
        Sim::views(self)
    }
    fn views_window(&self, window: LogWindow) -> Vec<Option<NodeView>> {
        Sim::views_window(self, window)
    }
    fn status(&self) -> Vec<Status> {
        Sim::status(self).to_vec()
    }
    fn disk_view(&self, node: NodeId) -> Option<NodeView> {
        Sim::disk_view(self, node)
    }
    fn clock_offsets(&self) -> Vec<i64> {
        Sim::clock_offsets(self)
    }
    fn blocked(&self) -> Vec<(NodeId, NodeId)> {
        self.net.blocked_pairs()
    }
    fn inject(&mut self, action: FaultKind) {
        Sim::inject(self, action)
    }
    fn history(&self) -> &History {
        &self.history
    }
    fn log(&self) -> &[LogLine] {
        &self.log
    }
    fn flights_at(&self, t: Time) -> Vec<Flight> {
        Sim::flights_at(self, t)
    }
    fn keep_recent_flights(&mut self, n: usize) {
        if let Some(r) = self.recorder.as_mut() {
            r.flights = r.flights.split_off(r.flights.len().saturating_sub(n));
        }
    }
    fn flights(&self) -> &[Flight] {
        self.recorder
            .as_ref()
            .map(|r| r.flights.as_slice())
            .unwrap_or(&[])
    }
    fn violation(&self) -> Option<&Found> {
        Sim::violation(self)
    }
    fn invariants(&self) -> &'static [&'static str] {
        P::invariants()
    }
    fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    fn seed(&self) -> u64 {
        self.seed
    }
    fn convergence(&self) -> Option<Result<(), String>> {
        Sim::convergence(self)
    }
    fn expectations(&self) -> Vec<ExpectOutcome> {
        Sim::expectations(self)
    }
    fn metrics(&self) -> Vec<WindowReport> {
        self.metrics.windows()
    }
    fn total(&self) -> WindowReport {
        self.metrics.total()
    }
    fn serving(&self) -> &crate::anomaly::Serving {
        &self.serving
    }
    fn marks(&self) -> Vec<crate::marks::Mark> {
        Sim::marks(self)
    }
    fn lock_report(&self) -> Option<crate::locks::LockReport> {
        Sim::lock_report(self)
    }
    fn sides(&self) -> crate::sides::SidesReport {
        Sim::sides(self)
    }
    fn boxed_clone(&self) -> Box<dyn Engine> {
        Box::new(Clone::clone(self))
    }
}

pub use crate::registry::build;

/// The messages the space-time diagram draws at `now` with a window of `window_ms`:
/// the most recent 300 that overlap it, each with its position in the run's record
/// (which names it while it stays in the diagram).
pub fn in_window(flights: &[Flight], now: Time, window_ms: f64) -> Vec<(usize, Flight)> {
    let (now, w) = (now as f64, window_ms * MS as f64);
    let (t0, t1) = (now - w * 0.85, now + w * 0.15);
    let mut out: Vec<(usize, Flight)> = flights
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, f)| {
            let (sent, arr) = (f.sent as f64, f.arrives as f64);
            !(sent > now || arr < t0 || sent > t1)
        })
        .take(300)
        .map(|(i, f)| (i, f.clone()))
        .collect();
    out.reverse();
    out
}

/// The verdict of the end-of-run checks and the run's figures: what `quorumlab run
/// --json` prints and the page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub protocol: String,
    pub seed: u64,
    pub nodes: usize,
    pub duration_ms: u64,
    /// How far the run got (less than the duration if it stopped at a violation).
    pub simulated_ms: u64,
    pub events: u64,
    /// The trace hash, 16 hex digits: equal runs have equal hashes.
    pub trace_hash: String,
    pub invariants: InvariantReport,
    pub convergence: Check,
    pub linearizable: Check,
    /// The scenario expects the history not to be linearizable (an anomaly it teaches):
    /// then a failing history check does not fail the run, its expectation decides.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anomaly_expected: bool,
    /// The scenario's expectations, each passed or failed with when and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expectations: Vec<ExpectOutcome>,
    /// Anomalies classified and counted (lost acknowledged writes, stale reads, split
    /// brain, divergent replicas), each with its moment and operations.
    #[serde(default)]
    pub anomalies: Anomalies,
    /// Every node at the end: its status and, when running, its role, term (ballot,
    /// epoch), commit and applied positions, log length and membership.
    #[serde(default)]
    pub final_state: Vec<NodeState>,
    /// The moments that matter, in time order: elections, snapshots, membership
    /// changes, stalls, the violation, expectations decided during the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<crate::marks::Mark>,
    /// A lock service's run: who held the lock when, the storage's writes, and the
    /// spells of two holders at once with their causes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locks: Option<crate::locks::LockReport>,
    pub totals: WindowReport,
    pub windows: Vec<WindowReport>,
    /// True when every check that ran passed. A check whose verdict is unknown did not
    /// pass: `ok` is false, and [`Summary::exit_code`] says 3 rather than 1.
    pub ok: bool,
}

/// One node at the end of a run, as `quorumlab run --json` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    pub node: NodeId,
    pub status: Status,
    /// The rest is absent for a node that is not running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<NodeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_index: Option<u64>,
    /// The index of the last entry in its log (compacted entries included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_len: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<NodeId>,
}

fn final_state(e: &dyn Engine) -> Vec<NodeState> {
    e.views()
        .into_iter()
        .zip(e.status())
        .enumerate()
        .map(|(i, (v, status))| NodeState {
            node: i as NodeId,
            status,
            role: v.as_ref().map(|v| v.role.label.clone()),
            term: v.as_ref().map(|v| v.term),
            leader: v.as_ref().and_then(|v| v.field("leader")?.parse().ok()),
            commit_index: v.as_ref().map(|v| v.commit_index()),
            applied_index: v.as_ref().map(|v| v.applied_index()),
            log_len: v.as_ref().map(|v| {
                v.entries()
                    .last()
                    .map(|x| x.index)
                    .unwrap_or(v.snapshot_index())
            }),
            members: v.map(|v| v.members).unwrap_or_default(),
        })
        .collect()
}

/// What a finished run amounts to, worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An invariant, convergence or linearizability failed.
    Failed,
    /// Nothing failed, but a check could not decide (it ran out of its budget): not a
    /// pass.
    Unknown,
    /// Every check that ran passed.
    Passed,
}

impl Summary {
    pub fn outcome(&self) -> Outcome {
        if self.invariants.violation.is_some()
            || self.convergence.failed()
            || (self.linearizable.failed() && !self.anomaly_expected)
            || self
                .expectations
                .iter()
                .any(|x| x.status == ExpectStatus::Failed)
        {
            Outcome::Failed
        } else if self.convergence.is_unknown()
            || self.linearizable.is_unknown()
            || self.expectations_failed() > 0
        {
            Outcome::Unknown
        } else {
            Outcome::Passed
        }
    }

    /// How many expectations failed (or were left undecided at the end).
    pub fn expectations_failed(&self) -> usize {
        self.expectations
            .iter()
            .filter(|x| x.status != ExpectStatus::Passed)
            .count()
    }

    /// The command line's exit code: 0 passed, 1 a violation, 3 a check left unknown.
    pub fn exit_code(&self) -> i32 {
        match self.outcome() {
            Outcome::Passed => 0,
            Outcome::Failed => 1,
            Outcome::Unknown => 3,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvariantReport {
    pub checked: bool,
    pub names: Vec<String>,
    pub violation: Option<Found>,
}

/// The result of one end-of-run check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Check {
    Passed,
    Failed {
        detail: String,
        /// For a history that is not linearizable: the operations that cannot be
        /// ordered, as data (the page draws them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        explanation: Option<Box<crate::check::Explanation>>,
    },
    /// The check did not run, and why.
    Skipped {
        why: String,
    },
    /// The check ran out of its budget.
    Unknown {
        why: String,
    },
}

impl Check {
    pub fn failed(&self) -> bool {
        matches!(self, Check::Failed { .. })
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, Check::Unknown { .. })
    }
}

/// Summarise a finished run. `linearizable` is the history check's verdict, made by the
/// caller (it may need a time budget that only the caller can measure).
pub fn summarize(e: &dyn Engine, linearizable: Check) -> Summary {
    let s = e.scenario();
    let invariants = InvariantReport {
        checked: s.checks.invariants,
        names: e.invariants().iter().map(|x| x.to_string()).collect(),
        violation: e.violation().cloned(),
    };
    let convergence = match e.convergence() {
        _ if e.violation().is_some() => Check::Skipped {
            why: "the run stopped at an invariant violation".into(),
        },
        None if s.checks.converge_after_ms == 0 => Check::Skipped {
            why: "switched off".into(),
        },
        None => Check::Skipped {
            why: format!(
                "the faults did not end {} ms before the end with the network healed",
                s.checks.converge_after_ms
            ),
        },
        Some(Ok(())) => Check::Passed,
        Some(Err(d)) => Check::Failed {
            detail: d,
            explanation: None,
        },
    };
    let anomalies = anomalies(e);
    let expectations = expectations_at_end(e, &linearizable, &anomalies);
    let anomaly_expected = s.expect.iter().any(|x| {
        matches!(
            x.kind,
            crate::expect::ExpectKind::Linearizable { holds: false }
        )
    });
    let ok = invariants.violation.is_none()
        && expectations
            .iter()
            .all(|x| x.status == ExpectStatus::Passed)
        && !convergence.failed()
        && (!linearizable.failed() || anomaly_expected)
        && !convergence.is_unknown()
        && !linearizable.is_unknown();
    Summary {
        scenario: s.name.clone(),
        protocol: s.protocol.name.clone(),
        seed: e.seed(),
        nodes: s.n(),
        duration_ms: s.duration_ms,
        simulated_ms: e.now() / MS,
        events: e.events(),
        trace_hash: format!("{:016x}", e.trace_hash()),
        invariants,
        convergence,
        linearizable,
        anomaly_expected,
        expectations,
        anomalies,
        final_state: final_state(e),
        marks: e.marks(),
        locks: e.lock_report(),
        totals: e.total(),
        windows: e.metrics(),
        ok,
    }
}

/// The run's anomalies so far (at its end: all of them), from its history, the
/// serving spans and the nodes' views now.
pub fn anomalies(e: &dyn Engine) -> Anomalies {
    let views = e.views();
    crate::anomaly::analyse(
        e.history(),
        e.serving(),
        &EndState {
            views: &views,
            settled: e.convergence().is_some(),
            end: e.now(),
        },
    )
}

/// Where each of the scenario's expectations stands once the run is over, with the
/// history check's verdict `linearizable` (and the nodes' end state, where the engine has
/// it: in the workers runtime the page asks the workers, so "equal state" stays pending
/// there).
pub fn expectations_at_end(
    e: &dyn Engine,
    linearizable: &Check,
    anomalies: &Anomalies,
) -> Vec<ExpectOutcome> {
    let mut expectations = e.expectations();
    if expectations.is_empty() {
        return expectations;
    }
    let lin = match linearizable {
        Check::Passed => HistoryVerdict::Linearizable,
        Check::Failed {
            explanation: Some(_),
            ..
        } => HistoryVerdict::NotLinearizable,
        Check::Failed { detail: why, .. } | Check::Skipped { why } => {
            HistoryVerdict::None(why.clone())
        }
        Check::Unknown { why } => HistoryVerdict::Unknown(why.clone()),
    };
    let views = e.views();
    let have_views = views
        .iter()
        .zip(e.status())
        .all(|(v, s)| v.is_some() == (s == Status::Up || s == Status::Paused));
    decide_end(
        &e.scenario().expect,
        &mut expectations,
        e.now(),
        lin,
        have_views.then_some(views.as_slice()),
        have_views.then_some(anomalies),
    );
    expectations
}

/// Check a finished run's client history for linearizability (when the scenario asks
/// for it). `out_of_time` is polled during the search; when it says yes the verdict is
/// unknown, never a guess.
pub fn check_history(e: &dyn Engine, out_of_time: &mut dyn FnMut() -> bool) -> Check {
    check_history_of(e.history(), e.scenario().checks.linearizable, out_of_time)
}

/// [`check_history`] from the history alone (`enabled`: the scenario's
/// `checks.linearizable`): what the page's analysis worker runs.
pub fn check_history_of(
    history: &History,
    enabled: bool,
    out_of_time: &mut dyn FnMut() -> bool,
) -> Check {
    if !enabled {
        return Check::Skipped {
            why: "switched off".into(),
        };
    }
    if history.events.is_empty() {
        return Check::Skipped {
            why: "no client operations".into(),
        };
    }
    // The data type the protocol declared (the engine records it); a history without
    // one is a register's, as before data types were recorded.
    let model = history
        .data_type
        .as_deref()
        .and_then(crate::check::Model::from_name)
        .unwrap_or(crate::check::Model::CasRegister);
    match crate::check::check(history, model, out_of_time) {
        Ok(crate::check::Verdict::Linearizable) => Check::Passed,
        Ok(crate::check::Verdict::NotLinearizable(x)) => Check::Failed {
            detail: x.text.clone(),
            explanation: Some(Box::new(x)),
        },
        Ok(crate::check::Verdict::Unknown { why, .. }) => Check::Unknown { why },
        Err(err) => Check::Failed {
            explanation: None,
            detail: format!("the simulator recorded a malformed history ({err})"),
        },
    }
}
