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

use crate::history::{Func, History, Value};
use serde::{Deserialize, Serialize};
use std::fmt;

pub use explain::{ExplainedOp, Explanation, OpOutcome};
pub use parse::{parse, parse_jepsen_log, parse_jsonl, ParseError, Parsed, JEPSEN_FAILED_CAS};

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
}

impl Model {
    pub fn name(self) -> &'static str {
        match self {
            Model::Register => "register",
            Model::CasRegister => "cas-register",
            Model::Kv => "kv",
        }
    }

    pub fn from_name(s: &str) -> Option<Model> {
        match s {
            "register" => Some(Model::Register),
            "cas-register" => Some(Model::CasRegister),
            "kv" => Some(Model::Kv),
            _ => None,
        }
    }

    /// The default model for a history: `kv` if it appends or holds strings, else
    /// `cas-register`.
    pub fn infer(history: &History) -> Model {
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
    /// Give up when the memo tables of one key would hold more than this many bytes.
    pub max_memo_bytes: usize,
    /// Search steps spent shrinking a violation to a small explanation.
    pub explain_steps: u64,
}

impl Options {
    pub fn new(model: Model) -> Options {
        Options {
            model,
            failed_cas: FailedCas::DidNotHappen,
            max_steps: None,
            max_memo_bytes: 1 << 30,
            explain_steps: 1_000_000,
        }
    }
}

/// The verdict on a history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    Linearizable,
    NotLinearizable(Explanation),
    /// The budget ran out before the search could decide.
    Unknown {
        /// The key being checked when it ran out (`None`: a history without keys).
        key: Option<String>,
        why: String,
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
    let mut o = opts.clone();
    if parsed.format == Format::JepsenLog && o.failed_cas == FailedCas::DidNotHappen {
        o.failed_cas = parsed.failed_cas;
    }
    check_with(&parsed.history, Some(parsed), &o, out_of_time)
}

/// The general entry point: `source` (when the history came from a file) supplies line
/// numbers and whether times are real.
pub fn check_with(
    history: &History,
    source: Option<&Parsed>,
    opts: &Options,
    out_of_time: &mut dyn FnMut() -> bool,
) -> Result<(Verdict, Stats), CheckError> {
    let line_of = |i: usize| -> usize {
        source
            .and_then(|p| p.lines.get(i).copied())
            .unwrap_or(i + 1)
    };
    let all = ops::pair(&history.events, opts.model, opts.failed_cas)
        .map_err(|bad| bad_to_error(bad, &line_of))?;
    let timed = source.is_none_or(|p| p.format == Format::Jsonl);
    let mut stats = Stats {
        operations: all.ops.len(),
        unknown_outcome: all.ops.iter().filter(|o| o.ret.is_none()).count(),
        keys: all.keys.len(),
        ..Stats::default()
    };
    let mut budget = search::Budget::new(out_of_time, opts.max_steps);
    let mut unknown: Option<Verdict> = None;
    for (key, idx) in &all.keys {
        let useful = ops::drop_unobserved(&all.ops, idx);
        let problem = search::Problem::new(&all.ops, &useful, opts.model);
        let out = search::run(&problem, &mut budget, opts.max_memo_bytes);
        stats.max_memo = stats.max_memo.max(out.memo_len);
        match out.result {
            search::Found::Linearizable => {}
            search::Found::OutOfBudget(why) => {
                if unknown.is_none() {
                    unknown = Some(Verdict::Unknown {
                        key: key.clone(),
                        why: format!(
                            "{why} after {} search steps{}",
                            budget.used,
                            key.as_ref()
                                .map(|k| format!(" on key {k:?}"))
                                .unwrap_or_default()
                        ),
                    });
                }
                if budget.exhausted() {
                    break;
                }
            }
            search::Found::Violation(v) => {
                let ex = explain::explain(
                    &all,
                    key.as_deref(),
                    idx,
                    &v,
                    &problem,
                    opts,
                    &mut budget,
                    &|i| line_of(i),
                    timed,
                );
                stats.steps = budget.used;
                return Ok((Verdict::NotLinearizable(ex), stats));
            }
        }
    }
    stats.steps = budget.used;
    Ok((unknown.unwrap_or(Verdict::Linearizable), stats))
}
