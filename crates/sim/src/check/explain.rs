//! Explaining a violation: shrink the history to a small set of operations that still
//! cannot be ordered, then say why in words a student can follow.

use super::ops::{Ended, Op, Ops};
use super::search::{self, Budget, Problem, Violation};
use super::{Model, Options};
use crate::history::{Func, Value};
use serde::{Deserialize, Serialize};

/// How an explained operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpOutcome {
    /// It happened (`ok`).
    Ok,
    /// `info` or no completion: it may have happened, any time after its invoke.
    Unknown,
    /// A cas that found a value other than its `old` (Jepsen logs only, on request).
    CompareFailed,
}

/// One operation of an explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainedOp {
    /// "A", "B", … in invoke order, as the text names them.
    pub label: String,
    pub process: u64,
    pub key: Option<String>,
    pub f: Func,
    /// What a write/cas/append wrote, what a read returned, or the fencing token an
    /// acquire was granted.
    pub value: Value,
    pub outcome: OpOutcome,
    /// µs for the design's histories; the line number for Jepsen logs.
    pub invoke_time: u64,
    /// `None`: unknown outcome (returns at +infinity).
    pub return_time: Option<u64>,
    /// Line (or 1-based event number) of the invoke and completion.
    pub invoke_line: usize,
    pub return_line: Option<usize>,
    /// The operation the search could not place.
    pub stuck: bool,
}

/// Why a history is not linearizable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub model: Model,
    pub key: Option<String>,
    /// The operations that cannot be ordered, in invoke order.
    pub ops: Vec<ExplainedOp>,
    /// Operations of this key, and how many the longest linearizable prefix the
    /// search found placed.
    pub key_operations: usize,
    pub linearized: usize,
    /// Whether removing any one of `ops` makes the rest linearizable (the shrinking
    /// finished within its effort).
    pub minimal: bool,
    /// Whether times are µs (`false`: Jepsen log line numbers).
    pub timed: bool,
    /// One sentence: what went wrong.
    pub summary: String,
    /// The whole explanation, several lines.
    pub text: String,
}

/// A key's violation as the search found it, in indices of the whole operation list.
pub(crate) struct Found {
    /// How many operations the longest linearizable prefix the search reached holds.
    best_len: usize,
    /// The operation the search could not place.
    stuck: usize,
    /// The operation whose return the search could not get past.
    blocked: usize,
    /// The operations searched (all of the key's but those never observed): not
    /// linearizable.
    whole: Vec<usize>,
    /// A sub-history that is itself not linearizable (see [`Violation::prefix`]).
    prefix: Vec<usize>,
}

impl Found {
    pub(crate) fn new(v: &Violation, p: &Problem) -> Found {
        Found {
            best_len: v.best_len,
            stuck: p.ops[v.stuck],
            blocked: p.ops[v.blocked],
            whole: p.ops.clone(),
            prefix: v.prefix.iter().map(|&l| p.ops[l]).collect(),
        }
    }
}

/// Steps one shrinking sub-search may take at least (more for larger candidates).
const SUB_STEPS: u64 = 20_000;

/// Searches of at most `GRACE_OPS` operations (and [`SUB_STEPS`] steps) the explanation
/// may still run, `GRACE` of them, once its budget is spent.
const GRACE: u32 = 8;
const GRACE_OPS: usize = 16;

/// The value an operation leaves in the register, if it writes one.
fn produces(o: &Op) -> Option<Value> {
    match (o.f, &o.input, o.ended) {
        (Func::Write, v, _) => Some(v.clone()),
        (Func::Cas, Value::Pair([_, b]), Ended::Ok | Ended::Unknown) => Some(Value::Int(*b)),
        _ => None,
    }
}

/// The value an operation needs the register to hold.
fn needs(o: &Op) -> Option<Value> {
    match (o.f, &o.input, o.ended) {
        (Func::Read, _, _) => Some(o.output.clone()),
        (Func::Cas, Value::Pair([a, _]), Ended::Ok | Ended::Unknown) => Some(Value::Int(*a)),
        _ => None,
    }
}

/// Shrinking a sub-history known not to be linearizable. Every step removes operations
/// that only remove constraints (so if what is left is not linearizable, neither was
/// the history, and what is left is a true witness): reads and failed comparisons
/// always; writes and cas whose value nothing left needs (with appends: whose string no
/// read left contains).
struct Shrink<'b, 'a> {
    work: Vec<Op>,
    model: Model,
    generic: bool,
    appends: bool,
    budget: &'b mut Budget<'a>,
    effort: u64,
    max_bytes: usize,
    /// How many operations of the current set need each value.
    need_count: std::collections::HashMap<Value, usize>,
    /// Tiny searches left past the budget.
    grace: u32,
}

impl Shrink<'_, '_> {
    fn out(&mut self) -> bool {
        self.effort == 0 || self.budget.poll()
    }

    /// Whether the sub-history `set` is not linearizable; the stuck operation if so.
    /// `None` also when the budget ran out first.
    fn not_linearizable(&mut self, set: &[usize]) -> Option<usize> {
        if set.is_empty() {
            return None;
        }
        if self.out() {
            // A few tiny searches past the limit (microseconds each) keep the
            // explanation small when the verdict took the whole budget.
            if set.len() > GRACE_OPS || self.grace == 0 {
                return None;
            }
            self.grace -= 1;
            let p = Problem::new(&self.work, set, self.model, self.generic);
            let mut never = || false;
            let mut b = Budget::new(&mut never, Some(SUB_STEPS));
            return match search::run(p, &mut b, self.max_bytes) {
                search::Found::Violation(v) => Some(set[v.blocked]),
                _ => None,
            };
        }
        let p = Problem::new(&self.work, set, self.model, self.generic);
        let cap = SUB_STEPS.max(8 * set.len() as u64).min(self.effort);
        let mut sub = self.budget.sub(cap);
        let out = search::run(p, &mut sub, self.max_bytes);
        let (used, timed_out) = (sub.used, sub.timed_out);
        self.budget.absorb(used, timed_out);
        self.effort = self.effort.saturating_sub(used.max(1));
        match out {
            search::Found::Violation(v) => Some(set[v.blocked]),
            _ => None,
        }
    }

    fn count_needs(&mut self, set: &[usize]) {
        self.need_count.clear();
        for &i in set {
            if let Some(v) = needs(&self.work[i]) {
                *self.need_count.entry(v).or_default() += 1;
            }
        }
    }

    /// Whether removing `chunk` from `set` only removes constraints (`need_count` is
    /// that of `set`).
    fn removable(&self, set: &[usize], chunk: &[usize]) -> bool {
        let all = &self.work;
        let mut chunk_needs: std::collections::HashMap<&Value, usize> = Default::default();
        let chunk_need_values: Vec<Value> = chunk.iter().filter_map(|&i| needs(&all[i])).collect();
        for v in &chunk_need_values {
            *chunk_needs.entry(v).or_default() += 1;
        }
        chunk.iter().all(|&i| {
            let o = &all[i];
            if o.f == Func::Read || o.ended == Ended::CompareFailed {
                return true;
            }
            if self.appends {
                // An append (or write) whose string no read left contains: any read
                // after it, before the next write, would contain it, so there are none.
                let piece = match (o.f, &o.input) {
                    (Func::Append | Func::Write, Value::Str(p)) if !p.is_empty() => p,
                    _ => return false,
                };
                return !set.iter().any(|&j| {
                    let r = &all[j];
                    r.f == Func::Read
                        && matches!(&r.output, Value::Str(s) if s.contains(piece.as_str()))
                        && !chunk.contains(&j)
                });
            }
            let Some(v) = produces(o) else {
                return false;
            };
            let inside = self.need_count.get(&v).copied().unwrap_or(0);
            let in_chunk = chunk_needs.get(&v).copied().unwrap_or(0);
            inside <= in_chunk
        })
    }

    /// The smallest honest witness around `stuck` in a register (not with appends):
    /// it, every write of the value it needs, and for each of those the last write of
    /// another value that returned after it and before `stuck` began (a stale read's
    /// cause); then whatever writes the values those need, to the fixpoint. `None` if
    /// that is linearizable after all.
    fn around(&mut self, start: &[usize], stuck: usize) -> Option<(Vec<usize>, usize)> {
        if self.appends {
            return None;
        }
        let all = &self.work;
        let s = &all[stuck];
        let needed = needs(s)?;
        let writers: Vec<usize> = start
            .iter()
            .copied()
            .filter(|&i| i != stuck && produces(&all[i]).as_ref() == Some(&needed))
            .collect();
        let mut set: Vec<usize> = vec![stuck];
        set.extend(&writers);
        let mut sources: Vec<Option<u64>> = writers.iter().map(|&w| all[w].ret).collect();
        sources.push(Some(0));
        for src_ret in sources.into_iter().flatten() {
            let over = start
                .iter()
                .copied()
                .filter(|&o| {
                    let w = &all[o];
                    o != stuck
                        && w.ended == Ended::Ok
                        && produces(w).is_some_and(|v| v != needed)
                        && w.call > src_ret
                        && w.ret.is_some_and(|r| r < s.call)
                })
                .max_by_key(|&o| all[o].ret);
            if let Some(o) = over {
                set.push(o);
            }
        }
        // Close: everything of `start` that writes a value the set needs.
        loop {
            set.sort_unstable();
            set.dedup();
            let want: std::collections::HashSet<Value> =
                set.iter().filter_map(|&i| needs(&all[i])).collect();
            let more: Vec<usize> = start
                .iter()
                .copied()
                .filter(|i| set.binary_search(i).is_err())
                .filter(|&i| produces(&all[i]).is_some_and(|v| want.contains(&v)))
                .collect();
            if more.is_empty() || set.len() + more.len() > 64 {
                break;
            }
            set.extend(more);
        }
        set.sort_by_key(|&i| (all[i].call, all[i].call_event));
        self.count_needs(&set);
        let honest = {
            let removed: Vec<usize> = start.iter().copied().filter(|i| !set.contains(i)).collect();
            let mut whole = set.clone();
            whole.extend(&removed);
            self.count_needs(&whole);
            let ok = self.removable(&whole, &removed);
            self.count_needs(&set);
            ok
        };
        if !honest {
            return None;
        }
        let st = self.not_linearizable(&set)?;
        Some((set, st))
    }

    /// Add to `set` every operation of `whole` that something in `set` needs (a write
    /// of a value it reads or expects; with appends, a write or append of a piece one
    /// of its reads contains), until nothing is missing: then everything of `whole`
    /// left out only removes constraints, and if `set` is not linearizable, neither is
    /// `whole`. False if it grows past `cap`.
    fn close(&mut self, whole: &[usize], set: &mut Vec<usize>, cap: usize) -> bool {
        loop {
            set.sort_unstable();
            set.dedup();
            if set.len() > cap {
                return false;
            }
            let all = &self.work;
            let add: Vec<usize> = if self.appends {
                let reads: Vec<&str> = set
                    .iter()
                    .filter(|&&i| all[i].f == Func::Read)
                    .filter_map(|&i| match &all[i].output {
                        Value::Str(s) => Some(s.as_str()),
                        _ => None,
                    })
                    .collect();
                whole
                    .iter()
                    .copied()
                    .filter(|i| set.binary_search(i).is_err())
                    .filter(|&i| match (all[i].f, &all[i].input) {
                        (Func::Append | Func::Write, Value::Str(p)) => {
                            p.is_empty() || reads.iter().any(|r| r.contains(p.as_str()))
                        }
                        (Func::Read, _) => false,
                        _ => all[i].ended != Ended::CompareFailed,
                    })
                    .collect()
            } else {
                let want: std::collections::HashSet<Value> =
                    set.iter().filter_map(|&i| needs(&all[i])).collect();
                whole
                    .iter()
                    .copied()
                    .filter(|i| set.binary_search(i).is_err())
                    .filter(|&i| produces(&all[i]).is_some_and(|v| want.contains(&v)))
                    .collect()
            };
            if add.is_empty() {
                return true;
            }
            set.extend(add);
        }
    }

    /// A witness around `stuck` found by widening a window in time: it, the operations
    /// running while it ran, and the last `k` to return before it began (k = 1, 2, 4,
    /// …), closed under what they need ([`Shrink::close`]); the first that is not
    /// linearizable. Any model.
    fn window(&mut self, whole: &[usize], stuck: usize) -> Option<(Vec<usize>, usize)> {
        const CAP: usize = 400;
        let s = self.work[stuck].clone();
        let mut before: Vec<usize> = whole
            .iter()
            .copied()
            .filter(|&i| self.work[i].ret.is_some_and(|r| r < s.call))
            .collect();
        before.sort_by_key(|&i| std::cmp::Reverse(self.work[i].ret));
        let during: Vec<usize> = whole
            .iter()
            .copied()
            .filter(|&i| {
                let o = &self.work[i];
                i != stuck
                    && o.call <= s.ret.unwrap_or(u64::MAX)
                    && o.ret.is_none_or(|r| r >= s.call)
            })
            .collect();
        let mut k = 1;
        loop {
            let mut set = vec![stuck];
            set.extend(&during);
            set.extend(before.iter().take(k));
            if !self.close(whole, &mut set, CAP) {
                return None;
            }
            set.sort_by_key(|&i| (self.work[i].call, self.work[i].call_event));
            if let Some(st) = self.not_linearizable(&set) {
                return Some((set, st));
            }
            if k >= before.len() || self.out() {
                return None;
            }
            k *= 2;
        }
    }

    /// Shrink `start` (known not linearizable): first around the operation the search
    /// could not place, else by removing chunks, then single operations, while it
    /// stays not linearizable; and by treating a cas as a plain write of its new value
    /// (dropping its precondition) where that keeps it so. Returns the set, its stuck
    /// operation, and whether no single such step is left.
    fn shrink(
        &mut self,
        start: Vec<usize>,
        whole: &[usize],
        suspects: &[usize],
    ) -> (Vec<usize>, Option<usize>, bool) {
        let mut s = start;
        let mut last: Option<usize> = None;
        let stuck = suspects[0];
        // The commonest anomaly first: a read that nothing could explain (its value
        // never written) is a witness on its own.
        for &r in suspects {
            if self.work[r].f == Func::Read && self.unexplained_alone(whole, r) {
                if let Some(st) = self.not_linearizable(&[r]) {
                    return (vec![r], Some(st), true);
                }
            }
        }
        let found = suspects
            .iter()
            .find_map(|&o| self.around(whole, o))
            .or_else(|| suspects.iter().find_map(|&o| self.window(whole, o)));
        if let Some((set, st)) = found {
            s = set;
            last = Some(st);
        } else {
            // All reads but the stuck operation, in one go.
            let cand: Vec<usize> = s
                .iter()
                .copied()
                .filter(|&i| {
                    i == stuck
                        || (self.work[i].f != Func::Read
                            && self.work[i].ended != Ended::CompareFailed)
                })
                .collect();
            if cand.len() < s.len() {
                if let Some(st) = self.not_linearizable(&cand) {
                    s = cand;
                    last = Some(st);
                }
            }
        }
        self.count_needs(&s);
        let mut chunk = (s.len() / 2).max(1);
        loop {
            let mut removed = false;
            let mut i = 0;
            while i < s.len() {
                if self.out() && (s.len() > GRACE_OPS || self.grace == 0) {
                    return (s, last, false);
                }
                let end = (i + chunk).min(s.len());
                if !self.removable(&s, &s[i..end]) {
                    i = end;
                    continue;
                }
                let cand: Vec<usize> = s[..i].iter().chain(&s[end..]).copied().collect();
                match self.not_linearizable(&cand) {
                    Some(st) => {
                        s = cand;
                        self.count_needs(&s);
                        last = Some(st);
                        removed = true;
                    }
                    None => i = end,
                }
            }
            if chunk > 1 {
                chunk = (chunk / 2).max(1);
                continue;
            }
            if removed {
                continue;
            }
            // Nothing more to remove: try dropping cas preconditions.
            let mut weakened = false;
            for k in 0..s.len() {
                let i = s[k];
                let (Func::Cas, Value::Pair([_, new]), Ended::Ok | Ended::Unknown) = (
                    self.work[i].f,
                    self.work[i].input.clone(),
                    self.work[i].ended,
                ) else {
                    continue;
                };
                if self.out() && (s.len() > GRACE_OPS || self.grace == 0) {
                    return (s, last, false);
                }
                let saved = self.work[i].clone();
                self.work[i].f = Func::Write;
                self.work[i].input = Value::Int(new);
                match self.not_linearizable(&s) {
                    Some(st) => {
                        last = Some(st);
                        weakened = true;
                    }
                    None => self.work[i] = saved,
                }
            }
            if !weakened {
                return (s, last, true);
            }
            self.count_needs(&s);
        }
    }

    /// Whether nothing in `set` but the read `r` writes what `r` read (or, with
    /// appends, any part of it), so that `r` alone is an honest witness.
    fn unexplained_alone(&self, set: &[usize], r: usize) -> bool {
        let all = &self.work;
        let read = &all[r].output;
        set.iter().filter(|&&j| j != r).all(|&j| {
            let o = &all[j];
            if o.f == Func::Read || o.ended == Ended::CompareFailed {
                return true;
            }
            if self.appends {
                return match (o.f, &o.input, read) {
                    (Func::Append | Func::Write, Value::Str(p), Value::Str(got))
                        if !p.is_empty() =>
                    {
                        !got.contains(p.as_str())
                    }
                    (Func::Append | Func::Write, Value::Str(_), _) => true,
                    _ => false,
                };
            }
            produces(o).as_ref() != Some(read)
        })
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn explain(
    all: &Ops,
    key: Option<&str>,
    key_ops: &[usize],
    v: &Found,
    opts: &Options,
    budget: &mut Budget,
    line_of: &dyn Fn(usize) -> usize,
    timed: bool,
) -> Explanation {
    let ops = &all.ops;
    // Start from the prefix the search could not get past (itself not linearizable).
    let start: Vec<usize> = v.prefix.clone();
    let appends = key_ops.iter().any(|&i| ops[i].f == Func::Append);
    let mut sh = Shrink {
        work: ops.clone(),
        model: opts.model,
        generic: opts.generic,
        appends,
        budget,
        effort: opts.explain_steps,
        max_bytes: opts.max_bytes,
        need_count: Default::default(),
        grace: GRACE,
    };
    // A lock's operations are not shrunk like a register's (dropping a release adds a
    // constraint): two witnesses that are honest on their own, else the prefix.
    let lock_witness = (opts.model == Model::Lock)
        .then(|| lock_witness(ops, &v.whole))
        .flatten();
    let (mut set, last, minimal) = match (&lock_witness, opts.model) {
        (Some(w), _) => (w.ops.clone(), Some(w.stuck), true),
        (None, Model::Lock) => (start, None, false),
        _ => sh.shrink(start, &v.whole, &[v.blocked, v.stuck]),
    };
    let sh_timed_out = sh.budget.timed_out;
    let stuck_global = last.unwrap_or(v.blocked);
    set.sort_by_key(|&i| (ops[i].call, ops[i].call_event));
    let labels: Vec<String> = (0..set.len()).map(label).collect();
    let explained: Vec<ExplainedOp> = set
        .iter()
        .zip(&labels)
        .map(|(&i, l)| {
            let o = &ops[i];
            ExplainedOp {
                label: l.clone(),
                process: o.process,
                key: o.key.clone(),
                f: o.f,
                value: if matches!(o.f, Func::Read | Func::Acquire) {
                    o.output.clone()
                } else {
                    o.input.clone()
                },
                outcome: match o.ended {
                    Ended::Ok => OpOutcome::Ok,
                    Ended::Unknown => OpOutcome::Unknown,
                    Ended::CompareFailed => OpOutcome::CompareFailed,
                },
                invoke_time: o.call,
                return_time: o.ret,
                invoke_line: line_of(o.call_event),
                return_line: o.ret_event.map(line_of),
                stuck: i == stuck_global,
            }
        })
        .collect();
    let w = Words {
        timed,
        model: opts.model,
        key,
    };
    let why = match &lock_witness {
        Some(lw) => lw.why(&w, ops, &set, &labels),
        None if opts.model == Model::Lock => format!(
            "{}, but no order of these operations that respects real time keeps one holder at a time with growing fencing tokens.",
            w.who(&ops[stuck_global], &labels[set.iter().position(|&i| i == stuck_global).unwrap_or(0)])
        ),
        None => w.why(ops, key_ops, &set, &labels, stuck_global),
    };
    let keyname = key.map(|k| format!(" on key {k:?}")).unwrap_or_default();
    let summary = match explained.len() {
        1 => format!("Not linearizable{keyname}: {why}"),
        n => format!(
            "Not linearizable{keyname}: these {n} operations cannot be put in any order that respects real time and the rules of a {}.",
            w.object()
        ),
    };
    let mut text = String::new();
    if explained.len() == 1 {
        text.push_str(&format!(
            "Not linearizable{keyname}: this operation cannot be placed anywhere:\n"
        ));
    } else {
        text.push_str(&summary);
        text.push('\n');
    }
    for (e, &i) in explained.iter().zip(&set) {
        text.push_str(&format!(
            "  {} {:<10} {:<22} {:<16} {}{}\n",
            e.label,
            format!("process {}", e.process),
            w.op(&ops[i]),
            w.outcome(&ops[i]),
            w.span(&ops[i]),
            if e.stuck {
                "   <- cannot be placed"
            } else {
                ""
            }
        ));
    }

    text.push_str(&format!("Why: {why}\n"));
    text.push_str(
        "Real time: an operation that returned before another was invoked must take effect first; \
         an operation whose outcome is unknown may take effect any time after its invoke, or never.\n",
    );
    text.push_str(&format!(
        "These operations alone cannot be ordered. The search placed {} of the {} operations{} \
         in a valid order before it got stuck; {}.\n",
        v.best_len,
        key_ops.len(),
        key.map(|k| format!(" on key {k:?}")).unwrap_or_default(),
        if opts.model == Model::Lock {
            if minimal {
                "these are enough on their own, whatever else the history holds"
            } else {
                "the operations above are all those invoked before the point the search \
                 could not get past"
            }
        } else if minimal {
            "drop any read above, or any write whose value none of the others reads, \
             and the rest can be ordered"
        } else {
            if sh_timed_out {
                "shrinking to a smallest set stopped when the time budget ran out, so some \
                 of the operations above may not matter"
            } else {
                "shrinking to a smallest set stopped at its effort limit, so some of the \
                 operations above may not matter"
            }
        }
    ));
    Explanation {
        model: opts.model,
        key: key.map(str::to_string),
        ops: explained,
        key_operations: key_ops.len(),
        linearized: v.best_len,
        minimal,
        timed,
        summary,
        text,
    }
}

/// An honest witness in a lock's history: operations that cannot be ordered whatever
/// else happened.
struct LockWitness {
    ops: Vec<usize>,
    stuck: usize,
    /// The earlier acquire and, for a token going back, its holder's release.
    first: usize,
    release: Option<usize>,
}

/// Two kinds: process p's acquire A returned before B's acquire began, and p released
/// only after B returned (no release of p's that could fall between them): two holders
/// at once. Or A, then p's release, then B, all completed in that order, B's token not
/// above A's: a fencing token that went back.
fn lock_witness(ops: &[Op], whole: &[usize]) -> Option<LockWitness> {
    let token = |i: usize| match (ops[i].f, &ops[i].output, ops[i].ended) {
        (Func::Acquire, Value::Int(t), Ended::Ok) => Some(*t),
        _ => None,
    };
    let acquires: Vec<usize> = whole
        .iter()
        .copied()
        .filter(|&i| token(i).is_some())
        .collect();
    let releases = |p: u64| {
        whole
            .iter()
            .copied()
            .filter(move |&i| ops[i].f == Func::Release && ops[i].process == p)
    };
    for &b in &acquires {
        let b_call = ops[b].call;
        for &a in &acquires {
            let Some(a_ret) = ops[a].ret.filter(|&r| r < b_call) else {
                continue;
            };
            // Token first: a release of A's process completed between them.
            if token(b) <= token(a) {
                if let Some(r) = releases(ops[a].process).find(|&r| {
                    ops[r].ended == Ended::Ok
                        && ops[r].call > a_ret
                        && ops[r].ret.is_some_and(|t| t < b_call)
                }) {
                    return Some(LockWitness {
                        ops: vec![a, r, b],
                        stuck: b,
                        first: a,
                        release: Some(r),
                    });
                }
            }
            // Double holding: no release of A's process may take effect between A and
            // B's return (one that returned before A began cannot).
            let b_ret = ops[b].ret.unwrap_or(u64::MAX);
            let freed = releases(ops[a].process)
                .any(|r| ops[r].call < b_ret && ops[r].ret.is_none_or(|t| t >= ops[a].call));
            if !freed {
                return Some(LockWitness {
                    ops: vec![a, b],
                    stuck: b,
                    first: a,
                    release: None,
                });
            }
        }
    }
    None
}

impl LockWitness {
    fn why(&self, w: &Words, ops: &[Op], set: &[usize], labels: &[String]) -> String {
        let l = |i: usize| labels[set.iter().position(|&j| j == i).unwrap_or(0)].clone();
        let (a, b) = (&ops[self.first], &ops[self.stuck]);
        let tok = |o: &Op| match o.output {
            Value::Int(t) => t.to_string(),
            _ => "?".into(),
        };
        let who = w.who(b, &l(self.stuck));
        match self.release {
            Some(r) => format!(
                "{who}, but process {} ({}) had been granted token {} (returned at {}) and released the lock ({}) before it began: fencing tokens must grow, or a storage service fencing by token would refuse the new holder's writes and take the old one's.",
                a.process,
                l(self.first),
                tok(a),
                w.time(a.ret.unwrap_or(0)),
                l(r)
            ),
            None => format!(
                "{who}, but process {} ({}) acquired the lock with token {} (returned at {}) before it began and did not release it before it returned: two holders at once.",
                a.process,
                l(self.first),
                tok(a),
                w.time(a.ret.unwrap_or(0))
            ),
        }
    }
}

fn label(i: usize) -> String {
    let mut s = String::new();
    let mut n = i;
    loop {
        s.insert(0, (b'A' + (n % 26) as u8) as char);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    s
}

struct Words<'a> {
    timed: bool,
    model: Model,
    key: Option<&'a str>,
}

fn show(v: &Value) -> String {
    match v {
        Value::Nil => "null".into(),
        Value::Int(i) => i.to_string(),
        Value::Pair([a, b]) => format!("[{a}, {b}]"),
        Value::Str(s) => format!("{s:?}"),
        Value::Siblings { siblings } => {
            let all: Vec<String> = siblings.iter().map(|x| x.to_string()).collect();
            format!("siblings {{{}}}", all.join(" | "))
        }
    }
}

impl Words<'_> {
    fn object(&self) -> &'static str {
        match self.model {
            Model::Register => "register",
            Model::CasRegister => "register with compare-and-set",
            Model::Kv => "key-value map",
            Model::Lock => "lock",
        }
    }

    fn time(&self, t: u64) -> String {
        if self.timed {
            format!("{}.{:03} ms", t / 1000, t % 1000)
        } else {
            format!("line {t}")
        }
    }

    fn span(&self, o: &Op) -> String {
        match o.ret {
            Some(r) if self.timed => format!("[{}, {}]", self.time(o.call), self.time(r)),
            Some(r) => format!("[lines {}–{r}]", o.call),
            None if self.timed => format!("[{}, never returned]", self.time(o.call)),
            None => format!("[from line {}, never returned]", o.call),
        }
    }

    fn op(&self, o: &Op) -> String {
        match (o.f, &o.input) {
            (Func::Read, _) => format!("read → {}", show(&o.output)),
            (Func::Write, v) => format!("write {}", show(v)),
            (Func::Cas, Value::Pair([a, b])) => format!("cas {a} → {b}"),
            (Func::Cas, v) => format!("cas {}", show(v)),
            (Func::Append, v) => format!("append {}", show(v)),
            (Func::Acquire, _) => match (&o.output, o.ended) {
                (Value::Int(t), Ended::Ok) => format!("acquire → token {t}"),
                _ => "acquire".into(),
            },
            (Func::Release, _) => o.f.name().into(),
        }
    }

    fn outcome(&self, o: &Op) -> &'static str {
        match o.ended {
            Ended::Ok => "ok",
            Ended::Unknown => "outcome unknown",
            Ended::CompareFailed => "failed (≠ old)",
        }
    }

    fn keyword(&self) -> String {
        self.key.map(|k| format!(" {k}")).unwrap_or_default()
    }

    /// "read x by process 2 (C) returned 5 in [3.600 ms, 3.900 ms]"
    fn who(&self, o: &Op, l: &str) -> String {
        match (o.f, &o.input) {
            (Func::Read, _) => format!(
                "read{} by process {} ({l}) returned {} in {}",
                self.keyword(),
                o.process,
                show(&o.output),
                self.span(o)
            ),
            (Func::Cas, Value::Pair([a, b])) if o.ended == Ended::Ok => format!(
                "cas{} from {a} to {b} by process {} ({l}) succeeded in {}, so the register held {a} then",
                self.keyword(),
                o.process,
                self.span(o)
            ),
            _ => format!(
                "{} by process {} ({l}, {}) in {}",
                self.op(o),
                o.process,
                self.outcome(o),
                self.span(o)
            ),
        }
    }

    /// Why the stuck operation cannot be placed.
    fn why(
        &self,
        ops: &[Op],
        key_ops: &[usize],
        set: &[usize],
        labels: &[String],
        stuck: usize,
    ) -> String {
        let pos = set.iter().position(|&i| i == stuck).unwrap_or(0);
        let s = &ops[stuck];
        let who = self.who(s, &labels[pos]);
        let generic = format!(
            "{who}, but every order that respects real time leaves it seeing a value the {} does not hold at that point.",
            self.object()
        );
        // The value it needs the register to hold.
        let needed = match (s.f, &s.input, s.ended) {
            (Func::Read, _, _) => s.output.clone(),
            (Func::Cas, Value::Pair([a, _]), Ended::Ok) => Value::Int(*a),
            _ => return generic,
        };
        if key_ops.iter().any(|&i| ops[i].f == Func::Append) {
            // Could any write followed by appends spell what it read?
            let Value::Str(target) = &needed else {
                return generic;
            };
            let t = target.as_bytes();
            let mut reach = vec![false; t.len() + 1];
            reach[0] = true;
            for &i in key_ops {
                if let (Func::Write, Value::Str(w)) = (ops[i].f, &ops[i].input) {
                    if t.starts_with(w.as_bytes()) {
                        reach[w.len()] = true;
                    }
                }
            }
            for at in 0..t.len() {
                if !reach[at] {
                    continue;
                }
                for &i in key_ops {
                    if let (Func::Append, Value::Str(p)) = (ops[i].f, &ops[i].input) {
                        if !p.is_empty() && t[at..].starts_with(p.as_bytes()) {
                            reach[at + p.len()] = true;
                        }
                    }
                }
            }
            if !reach[t.len()] {
                return format!(
                    "{who}, but no operation ever wrote {}: no write followed by appends on this key could spell it.",
                    show(&needed)
                );
            }
            return generic;
        }
        let initial = match self.model {
            Model::Kv => Value::Str(String::new()),
            _ => Value::Nil,
        };
        let writes = |o: &Op, v: &Value| match (o.f, &o.input) {
            (Func::Write, w) => w == v,
            (Func::Cas, Value::Pair([_, b])) => {
                o.ended != Ended::CompareFailed && Value::Int(*b) == *v
            }
            _ => false,
        };
        let writers_all: Vec<usize> = key_ops
            .iter()
            .copied()
            .filter(|&i| i != stuck && writes(&ops[i], &needed))
            .collect();
        let v = show(&needed);
        if let Value::Siblings { siblings } = &needed {
            return format!(
                "{who}: {} values a store with version vectors kept side by side (concurrent writes it would not order, for the client to merge), where a register holds one value at a time.",
                siblings.len()
            );
        }
        if needed != initial && writers_all.is_empty() {
            return format!("{who}, but no operation ever wrote {v}.");
        }
        // Writers that could come before it: invoked before it returned.
        let before = |w: &Op| s.ret.is_none_or(|r| w.call <= r);
        if needed != initial && !writers_all.iter().any(|&i| before(&ops[i])) {
            let w = &ops[writers_all[0]];
            return format!(
                "{who}, but no write of {v} had begun by then: the first, {} by process {}, was invoked at {}.",
                self.op(w),
                w.process,
                self.time(w.call)
            );
        }
        // Stale: every source of the value in the set was overwritten, before it began,
        // by a completed write of another value.
        let in_set = |i: usize| labels[set.iter().position(|&j| j == i).unwrap_or(0)].clone();
        let sources: Vec<Option<usize>> = {
            let mut v: Vec<Option<usize>> = set
                .iter()
                .copied()
                .filter(|&i| i != stuck && writes(&ops[i], &needed) && before(&ops[i]))
                .map(Some)
                .collect();
            if needed == initial {
                v.insert(0, None);
            }
            v
        };
        // For each source, the overwrite that returned last before it began.
        let mut groups: Vec<(usize, Vec<Option<usize>>)> = Vec::new();
        for src in &sources {
            let src_ret = match src {
                None => Some(0),
                Some(i) => ops[*i].ret,
            };
            let over = set
                .iter()
                .copied()
                .filter(|&o| {
                    let w = &ops[o];
                    o != stuck
                        && Some(o) != *src
                        && w.ended == Ended::Ok
                        && matches!(w.f, Func::Write | Func::Cas)
                        && !writes(w, &needed)
                        && src_ret.is_some_and(|t| src.is_none() || w.call > t)
                        && w.ret.is_some_and(|r| r < s.call)
                })
                .max_by_key(|&o| ops[o].ret);
            let Some(o) = over else {
                return generic;
            };
            match groups.iter_mut().find(|g| g.0 == o) {
                Some(g) => g.1.push(*src),
                None => groups.push((o, vec![*src])),
            }
        }
        if groups.is_empty() {
            return generic;
        }
        let list = |xs: &[String]| match xs {
            [] => String::new(),
            [a] => a.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        };
        let began = if s.f == Func::Read {
            "the read began"
        } else {
            "it began"
        };
        let reasons: Vec<String> = groups
            .iter()
            .map(|(o, srcs)| {
                let w = &ops[*o];
                let new = match (&w.f, &w.input) {
                    (Func::Cas, Value::Pair([_, b])) => b.to_string(),
                    (_, x) => show(x),
                };
                let names: Vec<String> = srcs
                    .iter()
                    .map(|x| match x {
                        None => format!("{v} was the initial value"),
                        Some(i) => format!(
                            "{} wrote {v}{}",
                            in_set(*i),
                            ops[*i]
                                .ret
                                .map(|r| format!(" (returned at {})", self.time(r)))
                                .unwrap_or_default()
                        ),
                    })
                    .collect();
                format!(
                    "{}, but then {} by process {} ({}) changed it to {new}, returning at {}, before {began}",
                    list(&names),
                    self.op(w),
                    w.process,
                    in_set(*o),
                    self.time(w.ret.unwrap_or(0))
                )
            })
            .collect();
        let every = if sources.len() > 1 {
            format!("every write of {v} it could have seen was overwritten: ")
        } else {
            String::new()
        };
        format!(
            "{who}, but {every}{}. It should have returned a newer value.",
            reasons.join("; ")
        )
    }
}
