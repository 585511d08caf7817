//! One run on the page: the scenario, the engine running it, and checkpoints for
//! scrubbing back in time. Pure Rust (no browser), so it is tested natively.
//!
//! Exactness: what the page shows is always a run of `(scenario, scenario.seed)`.
//! Every edit, including a user action such as "crash node 2 now", changes the
//! scenario and replays it from the start up to the moment the user was looking at;
//! so the shared scenario reproduces exactly what the user saw, event for event.

use quorumlab_core::{Time, MS};
use quorumlab_sim::scenario::{Fault, FaultKind};
use quorumlab_sim::{Engine, Scenario};

/// Most messages kept for the picture and the space-time diagram.
pub const RECORD_LIMIT: usize = 200_000;
/// Simulated time run per `run_until` call while advancing, so that the per-frame
/// event budget is checked often.
const CHUNK: Time = MS;
/// Messages a checkpoint keeps for the space-time diagram (the most recent): going
/// back in time shows these and what the replay records.
const CHECKPOINT_FLIGHTS: usize = 2_000;
/// History events all checkpoints together may hold (about 100 bytes each).
const HISTORY_HELD: usize = 1_000_000;
/// Most checkpoints kept; past this, every other one is dropped and the interval doubles.
const MAX_CHECKPOINTS: usize = 128;

/// Build an engine for a scenario, with the message recorder on.
pub fn build_engine(s: &Scenario, record: usize) -> Result<Box<dyn Engine>, String> {
    crate::engines::build(s, record)
}

/// Round a time up to a whole simulated millisecond.
pub fn ceil_ms(t: Time) -> Time {
    t.div_ceil(MS) * MS
}

pub struct Session {
    scenario: Scenario,
    engine: Option<Box<dyn Engine>>,
    error: Option<String>,
    /// Copies of the run at increasing times; the first is at time 0.
    checkpoints: Vec<Box<dyn Engine>>,
    every: Time,
    next_checkpoint: Time,
    record: usize,
    /// History events all checkpoints together may hold ([`HISTORY_HELD`]).
    history_held: usize,
    /// Changes with every rebuild, unique across sessions: equal revisions are the same
    /// run (cosmetic edits keep it).
    revision: u64,
    /// Where to go once the engine module arrives (a seek while it was loading).
    pending: Time,
    /// Which scenario this is: a new stamp whenever the scenario is set (a cosmetic edit
    /// too), unique across sessions, so that the page knows its copy is current without
    /// comparing scenarios on every frame.
    stamp: u64,
}

/// A new [`Session`] stamp.
fn next_stamp() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Session {
    pub fn new(scenario: Scenario) -> Session {
        Session::with_record(scenario, RECORD_LIMIT)
    }

    pub fn with_record(scenario: Scenario, record: usize) -> Session {
        let mut s = Session {
            scenario,
            engine: None,
            error: None,
            checkpoints: Vec::new(),
            every: MS,
            next_checkpoint: 0,
            record,
            history_held: HISTORY_HELD,
            pending: 0,
            revision: 0,
            stamp: next_stamp(),
        };
        s.rebuild();
        s
    }

    fn rebuild(&mut self) {
        // Unique across sessions too: the page swaps a lab column's run in as its own
        // (`Action::OpenColumn`), and what is cached by revision must not mistake it.
        self.revision = next_stamp();
        self.checkpoints.clear();
        self.every = (self.scenario.duration() / 64).max(50 * MS);
        self.next_checkpoint = self.every;
        match build_engine(&self.scenario, self.record) {
            Ok(e) => {
                self.checkpoints.push(e.boxed_clone());
                self.engine = Some(e);
                self.error = None;
            }
            Err(why) => {
                self.engine = None;
                self.error = Some(why);
            }
        }
    }

    /// Changes whenever the scenario is set (see the field).
    pub fn stamp(&self) -> u64 {
        self.stamp
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Which run this is: it changes whenever the scenario is replaced by one that runs
    /// differently, not when only node positions move.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn engine(&self) -> Option<&dyn Engine> {
        self.engine.as_deref()
    }

    /// Why there is no engine (the scenario could not be built, or its engine module
    /// is still loading: see [`Session::loading`]).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The run waits for its protocol's engine module to load.
    pub fn loading(&self) -> bool {
        self.error
            .as_deref()
            .is_some_and(crate::engines::is_loading)
    }

    /// An engine module arrived (or failed): build the run that waited for it and go
    /// where it was asked to go meanwhile. False if this session was not waiting.
    pub fn retry(&mut self) -> bool {
        if !self.loading() {
            return false;
        }
        let at = self.pending;
        self.rebuild();
        self.advance_to(at, u64::MAX);
        true
    }

    pub fn now(&self) -> Time {
        self.engine.as_ref().map(|e| e.now()).unwrap_or(0)
    }

    pub fn end(&self) -> Time {
        self.engine
            .as_ref()
            .map(|e| e.end())
            .unwrap_or(self.scenario.duration())
    }

    pub fn done(&self) -> bool {
        self.engine
            .as_ref()
            .is_none_or(|e| e.violation().is_some() || e.now() >= e.end() || e.failure().is_some())
    }

    pub fn checkpoint_times(&self) -> Vec<Time> {
        self.checkpoints.iter().map(|c| c.now()).collect()
    }

    fn maybe_checkpoint(&mut self) {
        let Some(e) = self.engine.as_ref() else {
            return;
        };
        if e.now() < self.next_checkpoint {
            return;
        }
        if self.checkpoints.last().is_none_or(|c| c.now() < e.now()) {
            let mut c = e.boxed_clone();
            // Only the recent messages: a copy of the whole recorder in every checkpoint
            // took hundreds of megabytes in a long run of a big cluster.
            c.keep_recent_flights(CHECKPOINT_FLIGHTS);
            self.checkpoints.push(c);
        }
        while self.next_checkpoint <= e.now() {
            self.next_checkpoint += self.every;
        }
        // Every checkpoint holds the history so far: in a long run with clients, thin
        // them until their histories together stay within a bound (going back then
        // replays further; memory stays bounded).
        let held =
            |c: &[Box<dyn Engine>]| c.iter().map(|e| e.history().events.len()).sum::<usize>();
        while self.checkpoints.len() > MAX_CHECKPOINTS
            || (self.checkpoints.len() > 4 && held(&self.checkpoints) > self.history_held)
        {
            // Keep the first and every other one after it.
            let mut k = 0;
            self.checkpoints.retain(|_| {
                k += 1;
                k % 2 == 1
            });
            self.every *= 2;
        }
    }

    /// Run towards simulated time `target`, handling at most about `budget` events.
    /// Returns true when the target (or the end of the run) was reached.
    pub fn advance_to(&mut self, target: Time, budget: u64) -> bool {
        let Some(e) = self.engine.as_ref() else {
            return true;
        };
        let target = target.min(e.end());
        let start = e.events();
        loop {
            let Some(e) = self.engine.as_mut() else {
                return true;
            };
            if e.now() >= target || e.violation().is_some() || e.failure().is_some() {
                return true;
            }
            let mut t = (e.now() + CHUNK).min(target);
            if self.next_checkpoint > e.now() {
                t = t.min(self.next_checkpoint);
            }
            e.run_until(t);
            let spent = e.events() - start;
            self.maybe_checkpoint();
            if spent > budget {
                return false;
            }
        }
    }

    /// One step of the engine: the next control event or window of node events.
    pub fn step(&mut self) {
        if let Some(e) = self.engine.as_mut() {
            if !e.done() {
                e.step();
            }
        }
        self.maybe_checkpoint();
    }

    pub fn run_to_end(&mut self) {
        if self.engine.is_none() {
            // Its module is still loading: run to the end when it arrives (a click
            // on "End" during the first load used to be lost).
            self.pending = Time::MAX;
        }
        self.advance_to(Time::MAX, u64::MAX);
    }

    /// Go to simulated time `t`, back or forward, exactly: from the nearest checkpoint
    /// at or before `t`.
    pub fn seek(&mut self, t: Time) {
        let t = t.min(self.end());
        if self.engine.is_none() {
            self.pending = t;
        }
        if self.engine.as_ref().is_some_and(|e| e.failure().is_some()) {
            // Its engine module trapped: its checkpoints live there too. Build the run
            // again (the module is loaded afresh) and go to `t` when it is there.
            self.pending = t;
            self.rebuild();
        }
        if self.engine.as_ref().is_some_and(|e| e.now() > t) {
            let best = self.checkpoints.iter().rev().find(|c| c.now() <= t);
            match best {
                Some(c) => self.engine = Some(c.boxed_clone()),
                None => self.rebuild(),
            }
            // Checkpoints after the one restored stay valid: it is the same run.
            self.next_checkpoint = self.now() + self.every;
            if let Some(last) = self.checkpoints.last() {
                self.next_checkpoint = self.next_checkpoint.max(last.now() + self.every);
            }
        }
        self.advance_to(t, u64::MAX);
    }

    /// Replace the scenario (after an edit) and replay it up to `at`.
    pub fn replace(&mut self, scenario: Scenario, at: Time) {
        self.scenario = scenario;
        self.stamp = next_stamp();
        self.pending = at;
        self.rebuild();
        self.advance_to(at, u64::MAX);
    }

    /// Replace only how the scenario is drawn (node positions): no replay.
    pub fn replace_cosmetic(&mut self, scenario: Scenario) {
        self.scenario = scenario;
        self.stamp = next_stamp();
    }

    /// The scenario with a user action added at the current time, rounded up to a
    /// whole millisecond, and that time. Errors say why the action cannot be taken.
    pub fn with_action(&self, kind: FaultKind) -> Result<(Scenario, Time), String> {
        let at = ceil_ms(self.now());
        if self.engine.is_none() {
            return Err("there is no run to act on".into());
        }
        if at >= self.scenario.duration() {
            return Err("the run is over: rewind (scrub back or reset) to act".into());
        }
        let mut s = self.scenario.clone();
        s.faults.push(Fault {
            at_ms: at / MS,
            kind,
        });
        s.validate()
            .map_err(|errs| quorumlab_sim::scenario::describe(&errs))?;
        Ok((s, at))
    }

    /// Take a user action now: it becomes part of the scenario (see the module docs).
    /// (The page goes through [`Session::with_action`] to keep the undo stack.)
    #[cfg(test)]
    pub fn act(&mut self, kind: FaultKind) -> Result<(), String> {
        let (s, at) = self.with_action(kind)?;
        self.replace(s, at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::gallery;
    use quorumlab_core::Op;

    fn small() -> Scenario {
        let mut s = gallery::default_scenario();
        s.duration_ms = 2_000;
        s
    }

    #[test]
    fn checkpoints_hold_a_bounded_history_and_going_back_stays_exact() {
        let mut s = gallery::default_scenario();
        s.duration_ms = 20_000;
        let w = s
            .workload
            .as_mut()
            .expect("the default scenario has clients");
        (w.clients, w.rate) = (10, 50.0);
        let mut sess = Session::new(s.clone());
        sess.history_held = 1_000;
        sess.advance_to(7_000_000, u64::MAX);
        let at = (sess.engine().unwrap().trace_hash(), sess.now());
        sess.run_to_end();
        let lens: Vec<usize> = sess
            .checkpoints
            .iter()
            .map(|c| c.history().events.len())
            .collect();
        let total = sess.engine().unwrap().history().events.len();
        assert!(total > 3_000, "the run records {total} history events");
        assert!(
            lens.len() <= 4 || lens.iter().sum::<usize>() <= 1_000,
            "{lens:?}"
        );
        assert!(lens.len() >= 3, "still some checkpoints: {lens:?}");
        // The checkpoints keep only the recent messages: the last one no longer has
        // the messages of its first quarter, which a run recording everything shows.
        let last = sess.checkpoints.last().expect("checkpoints");
        let early = last.now() / 4;
        assert!(last.flights_window(early, 50.0).is_empty());
        let mut whole = build_engine(sess.scenario(), RECORD_LIMIT).expect("builds");
        whole.run_until(last.now());
        assert!(!whole.flights_window(early, 50.0).is_empty());
        sess.seek(7_000_000);
        assert_eq!((sess.engine().unwrap().trace_hash(), sess.now()), at);
        sess.run_to_end();
        assert_eq!(sess.engine().unwrap().trace_hash(), straight(&s).0);
    }

    #[test]
    fn moving_a_node_keeps_the_run_and_an_edit_makes_a_new_one() {
        let mut s = Session::new(small());
        let first = s.revision();
        let mut moved = s.scenario().clone();
        crate::ui::layout::set_position(&mut moved, 1, 0.2, 0.3);
        s.replace_cosmetic(moved);
        assert_eq!(s.revision(), first, "a cosmetic edit is the same run");
        let mut edited = s.scenario().clone();
        edited.seed += 1;
        s.replace(edited, 0);
        assert_ne!(s.revision(), first, "another seed is another run");
    }

    fn straight(s: &Scenario) -> (u64, u64) {
        let mut e = build_engine(s, 0).unwrap();
        e.run_to_end();
        (e.trace_hash(), e.events())
    }

    #[test]
    fn advancing_in_frames_matches_a_straight_run() {
        let s = small();
        let mut sess = Session::new(s.clone());
        assert!(sess.error().is_none(), "{:?}", sess.error());
        let mut t = 0;
        while !sess.done() {
            t += 7_321; // an odd frame length in microseconds
            sess.advance_to(t, 50);
        }
        let e = sess.engine().unwrap();
        assert_eq!((e.trace_hash(), e.events()), straight(&s));
        assert!(sess.checkpoint_times().len() > 3);
    }

    #[test]
    fn stepping_matches_a_straight_run() {
        let s = small();
        let mut sess = Session::new(s.clone());
        for _ in 0..300 {
            sess.step();
        }
        sess.run_to_end();
        let e = sess.engine().unwrap();
        assert_eq!(e.trace_hash(), straight(&s).0);
    }

    #[test]
    fn seeking_back_is_exact() {
        let s = small();
        let mut sess = Session::new(s.clone());
        sess.advance_to(1_234_000, u64::MAX);
        let at = (sess.engine().unwrap().trace_hash(), sess.now());
        sess.run_to_end();
        sess.seek(1_234_000);
        assert_eq!((sess.engine().unwrap().trace_hash(), sess.now()), at);
        sess.seek(10_000);
        sess.seek(1_234_000);
        assert_eq!((sess.engine().unwrap().trace_hash(), sess.now()), at);
        sess.run_to_end();
        assert_eq!(sess.engine().unwrap().trace_hash(), straight(&s).0);
    }

    #[test]
    fn actions_are_recorded_at_whole_ms_and_reproduce() {
        let mut sess = Session::new(small());
        sess.advance_to(700_500, u64::MAX);
        sess.act(FaultKind::Crash { node: 1.into() }).unwrap();
        assert_eq!(sess.now(), 701_000);
        sess.advance_to(900_000, u64::MAX);
        sess.act(FaultKind::Client {
            node: 0,
            op: Op::Write {
                key: "k0".into(),
                value: 7,
            },
        })
        .unwrap();
        let f = &sess.scenario().faults;
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].at_ms, 701);
        assert_eq!(f[1].at_ms, 900);
        sess.run_to_end();
        let shared = sess.scenario().clone();
        assert_eq!(sess.engine().unwrap().trace_hash(), straight(&shared).0);
        // Through the share link too.
        let back = quorumlab_sim::url::decode(&quorumlab_sim::url::encode(&shared)).unwrap();
        assert_eq!(straight(&back).0, straight(&shared).0);
    }

    #[test]
    fn bad_actions_are_errors_not_panics() {
        let mut sess = Session::new(small());
        assert!(sess.act(FaultKind::Crash { node: 99.into() }).is_err());
        sess.run_to_end();
        assert!(sess.act(FaultKind::Heal).is_err());
    }

    #[test]
    fn unknown_protocol_is_an_error() {
        let mut s = small();
        s.protocol.name = "zab".into();
        let mut sess = Session::new(s);
        assert!(sess.error().unwrap().contains("zab"));
        assert!(sess.engine().is_none());
        sess.advance_to(1000, 10);
        sess.step();
        sess.seek(5);
        assert!(sess.act(FaultKind::Heal).is_err());
    }
}
