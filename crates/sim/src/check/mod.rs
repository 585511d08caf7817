//! Linearizability checking of client histories.
//!
//! The search is Wing & Gong's, with Lowe's just-in-time linearization and the
//! memoisation of (linearized set, model state) that Porcupine made popular: walk the
//! invoke/return entries in time order, try to linearize any operation whose call has
//! been seen, and backtrack when an operation's return comes up before it could be
//! placed. A history is checked one key at a time (linearizability is compositional).
//!
//! Operations whose outcome is unknown (`info`, or an invoke without completion) may
//! take effect at any time after their call, or never: they return at +infinity and
//! need not be linearized. Reads of unknown outcome constrain nothing and are dropped,
//! as are operations that `fail`ed (they did not happen).
//!
//! Nothing here reads a clock: the caller passes `out_of_time`, polled every few
//! thousand steps (the CLI passes a wall-clock deadline; the simulator may pass its
//! own), and optionally a step budget. Running out gives [`Verdict::Unknown`], never a
//! guess. The code is plain Rust and runs on wasm32 too.
//!
//! Entry points: [`parse_jsonl`], [`parse_jepsen_log`], [`check`] (a [`History`] as the
//! simulator records it) and [`check_parsed`] (a parsed file, with line numbers).

mod explain;
pub mod gen;
mod ops;
mod parse;
mod search;
pub mod spec;

use crate::history::{Func, History, Value};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};

pub use explain::{ExplainedOp, Explanation, OpOutcome};
pub use parse::{parse, parse_jepsen_log, parse_jsonl, ParseError, Parsed, JEPSEN_FAILED_CAS};
pub use search::MemoLayout;

/// The object the history's operations act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Model {
    /// read / write; starts `null`.
    Register,
    /// read / write / cas; starts `null`.
    CasRegister,
    /// A map of string keys to string values with read / write / append; every key
    /// starts as `""`; append concatenates.
    Kv,
    /// A lock per key with acquire / release; starts free. An acquire's `ok` carries
    /// its fencing token (see [`spec::Lock`]).
    Lock,
}

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Model::Register => "register",
            Model::CasRegister => "cas-register",
            Model::Kv => "kv",
            Model::Lock => "lock",
        }
    }

    pub fn from_name(s: &str) -> Option<Model> {
        match s {
            "register" => Some(Model::Register),
            "cas-register" => Some(Model::CasRegister),
            "kv" => Some(Model::Kv),
            "lock" => Some(Model::Lock),
            _ => None,
        }
    }

    /// The model of a history: the data type it names (what the protocol that served
    /// it declared: [`quorumlab_core::DataType`]), else [`Model::infer`].
    pub fn of(history: &History) -> Model {
        history
            .data_type
            .as_deref()
            .and_then(Model::from_name)
            .unwrap_or_else(|| Model::infer(history))
    }

    /// The default model for a history that names no data type (files from before it
    /// was recorded): `lock` if it acquires or releases, `kv` if it appends or holds
    /// strings, else `cas-register`.
    pub fn infer(history: &History) -> Model {
        if history
            .events
            .iter()
            .any(|e| matches!(e.f, Func::Acquire | Func::Release))
        {
            return Model::Lock;
        }
        let kv = history
            .events
            .iter()
            .any(|e| e.f == Func::Append || matches!(e.value, Value::Str(_)));
        if kv {
            Model::Kv
        } else {
            Model::CasRegister
        }
    }
}

/// The file formats [`parse`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// The design's JSON Lines (see `history.rs`).
    Jsonl,
    /// Jepsen's `INFO  jepsen.util - PROCESS  :TYPE  :F  VALUE` log lines.
    JepsenLog,
}

impl Format {
    pub fn from_name(s: &str) -> Option<Format> {
        match s {
            "jsonl" => Some(Format::Jsonl),
            "jepsen-log" => Some(Format::JepsenLog),
            _ => None,
        }
    }

    /// `.log` files are Jepsen logs, anything else JSON Lines.
    pub fn from_path(path: &str) -> Format {
        if path.ends_with(".log") {
            Format::JepsenLog
        } else {
            Format::Jsonl
        }
    }
}

/// What a `fail`ed cas means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailedCas {
    /// It did not happen: dropped (the design's histories, Knossos).
    #[default]
    DidNotHappen,
    /// It happened and found a value other than `old` (how etcd answers a cas whose
    /// comparison failed, and how Porcupine reads these Jepsen logs).
    CompareFailed,
}

/// Knobs of a check.
#[derive(Clone, Debug)]
pub struct Options {
    pub model: Model,
    pub failed_cas: FailedCas,
    /// Give up (verdict unknown) after this many search steps in all.
    pub max_steps: Option<u64>,
    /// Give up on a key when everything the searches hold (memo tables, the model's
    /// values and strings, the search's own lists) would pass this many bytes in all:
    /// the largest key still open is abandoned (undecided) and the others go on.
    pub max_bytes: usize,
    /// Search steps spent shrinking a violation to a small explanation.
    pub explain_steps: u64,
    /// How the memo stores linearized sets (for tests; the default is right).
    pub memo_layout: MemoLayout,
    /// Run the register family through its sequential specification
    /// ([`spec::Register`], numbered by [`spec`]'s generic table) instead of its
    /// compiled codes: slower, no pruning; for tests and the benchmark that the two
    /// agree (native builds only: ignored on wasm32). Other data types always run
    /// through their specification.
    pub generic: bool,
}

impl Options {
    pub fn new(model: Model) -> Options {
        Options {
            model,
            failed_cas: FailedCas::DidNotHappen,
            max_steps: None,
            max_bytes: 1 << 30,
            explain_steps: 1_000_000,
            memo_layout: MemoLayout::Auto,
            generic: false,
        }
    }
}

/// The limit that ran out before a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// The caller's clock (`out_of_time`; the CLI's `--budget-ms`).
    Time,
    /// [`Options::max_bytes`] (the CLI's `--memory-mib`).
    Memory,
    /// [`Options::max_steps`].
    Steps,
}

impl Limit {
    /// "the time budget", …
    pub fn describe(self) -> &'static str {
        match self {
            Limit::Time => "the time budget",
            Limit::Memory => "the memory cap",
            Limit::Steps => "the step budget",
        }
    }

    /// The `quorumlab check` option that raises it.
    pub fn option(self) -> &'static str {
        match self {
            Limit::Time => "--budget-ms",
            Limit::Memory => "--memory-mib",
            Limit::Steps => "the step budget (Options::max_steps)",
        }
    }
}

/// The verdict on a history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    Linearizable,
    NotLinearizable(Explanation),
    /// A limit ran out before the search could decide (and no key was found not
    /// linearizable).
    Unknown {
        /// The first key left undecided (`None`: a history without keys).
        key: Option<String>,
        why: String,
        /// The limit that ran out (the first, if several did).
        #[serde(default)]
        limit: Option<Limit>,
        /// Every key left undecided, in key order; the others are linearizable.
        #[serde(default)]
        undecided: Vec<Option<String>>,
    },
}

impl Verdict {
    pub fn is_linearizable(&self) -> bool {
        matches!(self, Verdict::Linearizable)
    }

    /// The CLI's exit code: 0 linearizable, 1 not, 3 unknown.
    pub fn exit_code(&self) -> i32 {
        match self {
            Verdict::Linearizable => 0,
            Verdict::NotLinearizable(_) => 1,
            Verdict::Unknown { .. } => 3,
        }
    }
}

/// Counters of a check.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Operations after dropping failed ones and reads of unknown outcome.
    pub operations: usize,
    /// Of which of unknown outcome.
    pub unknown_outcome: usize,
    pub keys: usize,
    /// Search steps, shrinking included.
    pub steps: u64,
    /// The largest number of (linearized set, state) pairs memoised for one key.
    pub max_memo: usize,
    /// The most the searches held at once, in bytes (what [`Options::max_bytes`] caps).
    #[serde(default)]
    pub peak_bytes: usize,
}

/// A history the checker cannot take: it does not fit the model or pairs badly.
/// `line` is the line of the file ([`check_parsed`]) or the 1-based event number
/// ([`check`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for CheckError {}

fn bad_to_error(bad: ops::Bad, line_of: &dyn Fn(usize) -> usize) -> CheckError {
    let (i, mut message, other) = bad;
    if let Some(j) = other {
        message.push_str(&format!(" (its invoke is on line {})", line_of(j)));
    }
    CheckError {
        line: line_of(i),
        message,
    }
}

/// Check a history as the simulator records it (times in µs).
pub fn check(
    history: &History,
    model: Model,
    out_of_time: &mut dyn FnMut() -> bool,
) -> Result<Verdict, CheckError> {
    check_with(history, None, &Options::new(model), out_of_time).map(|(v, _)| v)
}

/// Check a parsed file: errors and explanations cite its lines, and Jepsen logs (no
/// clock) show line numbers instead of times.
pub fn check_parsed(
    parsed: &Parsed,
    opts: &Options,
    out_of_time: &mut dyn FnMut() -> bool,
) -> Result<(Verdict, Stats), CheckError> {
    check_with(&parsed.history, Some(parsed), opts, out_of_time)
}

/// The general entry point: `source` (when the history came from a file) supplies line
/// numbers and whether times are real. Keys are searched in turn, a slice of steps at a
/// time (deterministically), until one is found not linearizable or all are decided.
pub fn check_with(
    history: &History,
    source: Option<&Parsed>,
    opts: &Options,
    out_of_time: &mut dyn FnMut() -> bool,
) -> Result<(Verdict, Stats), CheckError> {
    let mut c = Checker::new(history, source, opts)?;
    c.decide(out_of_time);
    Ok(c.finish(out_of_time))
}

/// Steps a key searches before the next key's turn.
const SLICE: u64 = 4096;

const RUNNING: u8 = 0;
const STOP_VIOLATION: u8 = 1;
const STOP_TIME: u8 = 2;
const STOP_STEPS: u8 = 3;

/// What the searches of one check share (threads may share it too): whether to stop,
/// the steps taken and the bytes held in all.
pub struct Control {
    stop: AtomicU8,
    steps: AtomicU64,
    bytes: AtomicUsize,
    peak: AtomicUsize,
    max_steps: u64,
    max_bytes: usize,
}

impl Control {
    fn new(opts: &Options) -> Control {
        Control {
            stop: AtomicU8::new(RUNNING),
            steps: AtomicU64::new(0),
            bytes: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            max_steps: opts.max_steps.unwrap_or(u64::MAX),
            max_bytes: opts.max_bytes,
        }
    }

    fn halt(&self, why: u8) {
        let _ = self
            .stop
            .compare_exchange(RUNNING, why, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Account for a search now holding `now` bytes instead of `*held`.
    fn hold(&self, held: &mut usize, now: usize) {
        if now >= *held {
            let total = self.bytes.fetch_add(now - *held, Ordering::Relaxed) + now - *held;
            self.peak.fetch_max(total, Ordering::Relaxed);
        } else {
            self.bytes.fetch_sub(*held - now, Ordering::Relaxed);
        }
        *held = now;
    }
}

enum KeyState {
    Running,
    Linearizable,
    Violation(explain::Found),
    Undecided(Limit),
}

/// One key's search, as [`run_keys`] drives it.
pub struct KeyTask {
    index: usize,
    search: Option<search::Search>,
    held: usize,
    memo_len: usize,
    state: KeyState,
}

impl KeyTask {
    fn release(&mut self, ctl: &Control) {
        if let Some(s) = self.search.take() {
            self.memo_len = s.memo_len();
        }
        ctl.hold(&mut self.held, 0);
    }
}

/// Search `tasks` round robin, a slice each in turn, until each is decided, one is
/// found not linearizable (here or by another caller sharing `ctl`), or a limit runs
/// out. Call it on one thread with every task, or on several threads with a share
/// each (the CLI does; the simulator and the page use [`Checker::decide`]).
pub fn run_keys(tasks: &mut [KeyTask], ctl: &Control, out_of_time: &mut dyn FnMut() -> bool) {
    // The clock is asked before the first slice too: a budget already spent (or of
    // 0 ms) leaves every open key undecided, however easy, rather than letting the
    // first slice's few thousand steps decide some histories and not others.
    if tasks.iter().any(|t| t.search.is_some()) && out_of_time() {
        ctl.halt(STOP_TIME);
    }
    loop {
        let mut open = false;
        for i in 0..tasks.len() {
            let stop = ctl.stop.load(Ordering::Relaxed);
            if stop != RUNNING {
                let limit = if stop == STOP_STEPS {
                    Limit::Steps
                } else {
                    Limit::Time
                };
                for t in tasks.iter_mut() {
                    if matches!(t.state, KeyState::Running) {
                        t.state = KeyState::Undecided(limit);
                        t.release(ctl);
                    }
                }
                return;
            }
            let t = &mut tasks[i];
            let Some(s) = t.search.as_mut() else {
                continue;
            };
            open = true;
            let left = ctl
                .max_steps
                .saturating_sub(ctl.steps.load(Ordering::Relaxed));
            if left == 0 {
                ctl.halt(STOP_STEPS);
                continue;
            }
            let before = s.steps;
            // The room this key has: the cap less what the others hold.
            let others = ctl.bytes.load(Ordering::Relaxed).saturating_sub(t.held);
            let r = s.step(
                SLICE.min(left),
                ctl.max_bytes.saturating_sub(others),
                out_of_time,
            );
            ctl.steps.fetch_add(s.steps - before, Ordering::Relaxed);
            let now = s.bytes();
            t.memo_len = s.memo_len();
            ctl.hold(&mut t.held, now);
            match r {
                Some(search::Decided::Linearizable) => {
                    t.state = KeyState::Linearizable;
                    t.release(ctl);
                }
                Some(search::Decided::Violation(v)) => {
                    t.state = KeyState::Violation(explain::Found::new(&v, s.problem()));
                    t.release(ctl);
                    ctl.halt(STOP_VIOLATION);
                    continue;
                }
                None => match s.halted() {
                    Some(search::Halt::Memory) => {
                        t.state = KeyState::Undecided(Limit::Memory);
                        t.release(ctl);
                    }
                    Some(search::Halt::Time) => {
                        t.state = KeyState::Undecided(Limit::Time);
                        t.release(ctl);
                        ctl.halt(STOP_TIME);
                        continue;
                    }
                    None => {}
                },
            }
            if out_of_time() {
                ctl.halt(STOP_TIME);
                continue;
            }
            if ctl.bytes.load(Ordering::Relaxed) > ctl.max_bytes {
                // Give up on the key holding most (of this caller's); the rest go on.
                if let Some(big) = tasks
                    .iter_mut()
                    .filter(|t| t.search.is_some())
                    .max_by_key(|t| t.held)
                {
                    big.state = KeyState::Undecided(Limit::Memory);
                    big.release(ctl);
                }
            }
        }
        if !open {
            return;
        }
    }
}

/// A check in progress: the operations paired and split by key, each key's search
/// ready to run. [`check_with`] is `new`, [`Checker::decide`], [`Checker::finish`];
/// the CLI runs the keys on threads between `new` and `finish` with
/// [`Checker::take_tasks`], [`run_keys`] and [`Checker::put_tasks`], and prints the
/// verdict ([`Checker::decision`]) before it spends time explaining it.
pub struct Checker<'h> {
    source: Option<&'h Parsed>,
    opts: Options,
    all: ops::Ops,
    timed: bool,
    stats: Stats,
    tasks: Vec<KeyTask>,
    control: Control,
}

/// A verdict before any explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Linearizable,
    /// This key is not linearizable ([`Checker::finish`] explains why).
    NotLinearizable {
        key: Option<String>,
    },
    /// See [`Verdict::Unknown`].
    Unknown {
        limit: Limit,
        undecided: Vec<Option<String>>,
    },
}

impl<'h> Checker<'h> {
    pub fn new(
        history: &'h History,
        source: Option<&'h Parsed>,
        opts: &Options,
    ) -> Result<Checker<'h>, CheckError> {
        let mut opts = opts.clone();
        if let Some(p) = source {
            if p.format == Format::JepsenLog && opts.failed_cas == FailedCas::DidNotHappen {
                opts.failed_cas = p.failed_cas;
            }
        }
        let line_of = |i: usize| -> usize {
            source
                .and_then(|p| p.lines.get(i).copied())
                .unwrap_or(i + 1)
        };
        let all = ops::pair(&history.events, opts.model, opts.failed_cas)
            .map_err(|bad| bad_to_error(bad, &line_of))?;
        let timed = source.is_none_or(|p| p.format == Format::Jsonl);
        let stats = Stats {
            operations: all.ops.len(),
            unknown_outcome: all.ops.iter().filter(|o| o.ret.is_none()).count(),
            keys: all.keys.len(),
            ..Stats::default()
        };
        let control = Control::new(&opts);
        let mut tasks = Vec::with_capacity(all.keys.len());
        for (index, (_, idx)) in all.keys.iter().enumerate() {
            let useful = ops::drop_unobserved(&all.ops, idx);
            let s = search::Search::new(
                search::Problem::new(&all.ops, &useful, opts.model, opts.generic),
                opts.memo_layout,
            );
            let mut t = KeyTask {
                index,
                search: Some(s),
                held: 0,
                memo_len: 0,
                state: KeyState::Running,
            };
            let now = t.search.as_ref().map_or(0, |s| s.bytes());
            control.hold(&mut t.held, now);
            tasks.push(t);
        }
        Ok(Checker {
            source,
            opts,
            all,
            timed,
            stats,
            tasks,
            control,
        })
    }

    /// The keys' searches, dealt into `parts` shares (the largest keys first, each to
    /// the share with least so far), for [`run_keys`] on as many threads.
    pub fn take_tasks(&mut self, parts: usize) -> Vec<Vec<KeyTask>> {
        let parts = parts.max(1);
        let mut tasks = std::mem::take(&mut self.tasks);
        let size = |t: &KeyTask| t.search.as_ref().map_or(0, |s| s.problem().len());
        tasks.sort_by_key(|t| std::cmp::Reverse(size(t)));
        let mut out: Vec<(usize, Vec<KeyTask>)> = (0..parts).map(|_| (0, Vec::new())).collect();
        for t in tasks {
            let share = out
                .iter_mut()
                .min_by_key(|s| s.0)
                .expect("at least one share");
            share.0 += size(&t);
            share.1.push(t);
        }
        for s in &mut out {
            s.1.sort_by_key(|t| t.index);
        }
        out.into_iter().map(|s| s.1).collect()
    }

    /// Hand back what [`Checker::take_tasks`] took.
    pub fn put_tasks(&mut self, parts: Vec<Vec<KeyTask>>) {
        self.tasks.extend(parts.into_iter().flatten());
        self.tasks.sort_by_key(|t| t.index);
    }

    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Run every key here, round robin ([`run_keys`]).
    pub fn decide(&mut self, out_of_time: &mut dyn FnMut() -> bool) {
        run_keys(&mut self.tasks, &self.control, out_of_time);
    }

    /// The verdict so far, without explanation.
    pub fn decision(&self) -> Decision {
        if let Some(t) = self
            .tasks
            .iter()
            .find(|t| matches!(t.state, KeyState::Violation(_)))
        {
            return Decision::NotLinearizable {
                key: self.all.keys[t.index].0.clone(),
            };
        }
        let mut limit = None;
        let mut undecided = Vec::new();
        for t in &self.tasks {
            let l = match t.state {
                KeyState::Undecided(l) => l,
                // Not run yet (or interrupted): the caller stopped before it.
                KeyState::Running => Limit::Time,
                _ => continue,
            };
            // Memory first: it is the limit the user can do most about.
            limit = match (limit, l) {
                (None, l) | (Some(_), l @ Limit::Memory) => Some(l),
                (l, _) => l,
            };
            undecided.push(self.all.keys[t.index].0.clone());
        }
        match limit {
            None => Decision::Linearizable,
            Some(limit) => Decision::Unknown { limit, undecided },
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.steps = self.control.steps.load(Ordering::Relaxed);
        s.max_memo = self.tasks.iter().map(|t| t.memo_len).max().unwrap_or(0);
        s.peak_bytes = self.control.peak.load(Ordering::Relaxed);
        s
    }

    /// The verdict, with the explanation of a violation (shrinking spends at most
    /// [`Options::explain_steps`], stops when `out_of_time` says so, and holds at most
    /// [`Options::max_bytes`]), and the counters.
    pub fn finish(mut self, out_of_time: &mut dyn FnMut() -> bool) -> (Verdict, Stats) {
        for t in &mut self.tasks {
            t.release(&self.control);
        }
        let mut stats = self.stats();
        let verdict = match self.decision() {
            Decision::Linearizable => Verdict::Linearizable,
            Decision::Unknown { limit, undecided } => {
                let key = undecided.first().cloned().flatten();
                let keys = undecided
                    .iter()
                    .map(|k| format!("{:?}", k.as_deref().unwrap_or("")))
                    .collect::<Vec<_>>();
                let which = if self.all.keys.len() <= 1 && key.is_none() {
                    String::new()
                } else {
                    format!(
                        "; {} of {} keys undecided: {}",
                        undecided.len(),
                        self.all.keys.len(),
                        keys.join(", ")
                    )
                };
                Verdict::Unknown {
                    why: format!(
                        "{} ran out after {} search steps{which}",
                        limit.describe(),
                        stats.steps
                    ),
                    key,
                    limit: Some(limit),
                    undecided,
                }
            }
            Decision::NotLinearizable { .. } => {
                let t = self
                    .tasks
                    .iter()
                    .find(|t| matches!(t.state, KeyState::Violation(_)))
                    .expect("a violation");
                let KeyState::Violation(found) = &t.state else {
                    unreachable!()
                };
                let (key, idx) = &self.all.keys[t.index];
                let source = self.source;
                let line_of = |i: usize| -> usize {
                    source
                        .and_then(|p| p.lines.get(i).copied())
                        .unwrap_or(i + 1)
                };
                let mut budget = search::Budget::new(out_of_time, None);
                let ex = explain::explain(
                    &self.all,
                    key.as_deref(),
                    idx,
                    found,
                    &self.opts,
                    &mut budget,
                    &line_of,
                    self.timed,
                );
                stats.steps += budget.used;
                Verdict::NotLinearizable(ex)
            }
        };
        (verdict, stats)
    }
}
