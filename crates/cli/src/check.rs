//! `quorumlab check HISTORY [--model register|cas-register|kv|lock] [--format jsonl|jepsen-log]
//! [--budget-ms N] [--memory-mib N] [--threads N] [--json]`: is a client history
//! linearizable?
//!
//! Keys are checked concurrently, on every core: the first key found not linearizable
//! decides, and the verdict is printed at once; its explanation follows within the same
//! budget. Exit codes: 0 linearizable, 1 not (the explanation is printed), 2 bad input
//! (with the line number), 3 unknown (a limit ran out before a verdict; the message
//! names it and the option that raises it).

use quorumlab_sim::check::{
    self, gen, Checker, Decision, Format, KeyTask, Model, Options, Parsed, Verdict,
};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: quorumlab check HISTORY [--model register|cas-register|kv|lock] [--format jsonl|jepsen-log]
                       [--budget-ms N] [--memory-mib N] [--threads N] [--json]

HISTORY is a file, or - for standard input. The format defaults to jepsen-log for .log
files and jsonl otherwise. The model is the data type the history names on its first line
({\"data_type\": \"cas-register\"}, as `quorumlab run --history` writes it), else detected
from the history (lock if it acquires or releases, kv if it appends or holds strings, else
cas-register), and printed; --model forces one.
--budget-ms bounds the whole command, explanation included (default: no limit);
--memory-mib caps what the search holds (default 1024); --threads: keys are checked on
this many threads (default: every core).
exit codes: 0 linearizable; 1 not linearizable (the explanation is printed); 2 bad input
(with its line number); 3 unknown: a limit ran out before a verdict (the message says
which, and the option that raises it)";

/// The default of `--memory-mib`.
const MEMORY_MIB: u64 = 1024;

struct CheckArgs {
    path: String,
    model: Option<Model>,
    format: Option<Format>,
    budget_ms: Option<u64>,
    memory_mib: u64,
    threads: Option<usize>,
    json: bool,
}

fn parse_args(args: &[String]) -> Result<Option<CheckArgs>, String> {
    let mut path = None;
    let mut model = None;
    let mut format = None;
    let mut budget_ms = None;
    let mut memory_mib = MEMORY_MIB;
    let mut threads = None;
    let mut json = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a, None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            if let Some(v) = inline.clone() {
                return Ok(v);
            }
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| format!("{name} needs {what}"))
        };
        match name {
            "-h" | "--help" => return Ok(None),
            "--json" => json = true,
            "--model" => {
                let v = value("a model (register, cas-register, kv or lock)")?;
                model = Some(Model::from_name(&v).ok_or_else(|| {
                    format!("unknown model {v:?} (expected register, cas-register, kv or lock)")
                })?);
            }
            "--format" => {
                let v = value("a format (jsonl or jepsen-log)")?;
                format = Some(Format::from_name(&v).ok_or_else(|| {
                    format!("unknown format {v:?} (expected jsonl or jepsen-log)")
                })?);
            }
            "--budget-ms" => {
                let v = value("a number of milliseconds")?;
                budget_ms = Some(v.parse::<u64>().map_err(|_| {
                    format!("--budget-ms needs a whole number of milliseconds, not {v:?}")
                })?);
            }
            "--memory-mib" => {
                let v = value("a number of MiB")?;
                memory_mib = v
                    .parse::<u64>()
                    .ok()
                    .filter(|&m| m > 0 && m < 1 << 40)
                    .ok_or_else(|| {
                        format!("--memory-mib needs a whole number of MiB (1 or more), not {v:?}")
                    })?;
            }
            "--threads" => {
                let v = value("a number of threads")?;
                threads = Some(v.parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| {
                    format!("--threads needs a whole number (1 or more), not {v:?}")
                })?);
            }
            _ if a.starts_with("--") => return Err(format!("unknown option {a}")),
            _ => {
                if path.is_some() {
                    return Err(format!("one history at a time (extra argument {a:?})"));
                }
                path = Some(a.to_string());
            }
        }
        i += 1;
    }
    let path = path.ok_or("which history? (give a file, or - for standard input)")?;
    Ok(Some(CheckArgs {
        path,
        model,
        format,
        budget_ms,
        memory_mib,
        threads,
        json,
    }))
}

fn read_input(path: &str) -> Result<String, String> {
    let bytes = if path == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .map_err(|e| format!("reading standard input: {e}"))?;
        b
    } else {
        std::fs::read(path).map_err(|e| format!("{path}: {e}"))?
    };
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{path}: not UTF-8 text (bad byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn bad_input(json: bool, path: &str, line: Option<usize>, message: &str) -> i32 {
    if json {
        let v = serde_json::json!({"verdict": "bad-input", "file": path, "line": line, "message": message});
        say!("{v}");
    }
    match line {
        Some(l) => eprintln!("quorumlab check: {path}: line {l}: {message}"),
        None => eprintln!("quorumlab check: {message}"),
    }
    2
}

/// Decide every key of `c`, on `threads` threads (each with its share of the keys,
/// round robin within the share), polling `deadline`.
pub fn decide(c: &mut Checker, threads: usize, deadline: Option<Instant>) {
    let clock = move || deadline.is_some_and(|d| Instant::now() >= d);
    if threads <= 1 {
        c.decide(&mut { clock });
        return;
    }
    let parts = c.take_tasks(threads);
    let ctl = c.control();
    let done: Vec<Vec<KeyTask>> = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|mut part| {
                s.spawn(move || {
                    check::run_keys(&mut part, ctl, &mut { clock });
                    part
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    c.put_tasks(done);
}

/// Threads to check with by default: every core.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub fn main(args: &[String]) -> i32 {
    let t0 = Instant::now();
    let a = match parse_args(args) {
        Ok(Some(a)) => a,
        Ok(None) => {
            say!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("quorumlab check: {e}\n\n{USAGE}");
            return 2;
        }
    };
    let text = match read_input(&a.path) {
        Ok(t) => t,
        Err(e) => return bad_input(a.json, &a.path, None, &e),
    };
    let format = a.format.unwrap_or_else(|| Format::from_path(&a.path));
    let parsed = match check::parse(&text, format) {
        Ok(p) => p,
        Err(e) => return bad_input(a.json, &a.path, Some(e.line), &e.message),
    };
    // The data type the file names (its first line, written by `quorumlab run
    // --history` from the protocol's declaration), else what its operations suggest.
    let declared = parsed
        .history
        .data_type
        .as_deref()
        .and_then(Model::from_name);
    let detected = declared.unwrap_or_else(|| Model::infer(&parsed.history));
    let model = a.model.unwrap_or(detected);
    let how = if a.model.is_some() {
        "given with --model"
    } else if declared.is_some() {
        "the data type the history names; --model forces another"
    } else {
        "detected from the history; --model forces another"
    };
    let mut opts = Options::new(model);
    opts.max_bytes = (a.memory_mib << 20) as usize;
    let deadline = a.budget_ms.map(|ms| t0 + Duration::from_millis(ms));
    let mut c = match Checker::new(&parsed.history, Some(&parsed), &opts) {
        Ok(c) => c,
        Err(e) => {
            let hint = if a.model.is_none() && declared.is_some() {
                format!(
                    " (the history's first line names the data type {}; --model forces another)",
                    model.name()
                )
            } else if let Some(d) = declared.filter(|d| *d != model) {
                format!(
                    " (the history names the data type {}: leave out --model to use it)",
                    d.name()
                )
            } else if model != detected {
                format!(
                    " (this history looks like the {} model: leave out --model to use it)",
                    detected.name()
                )
            } else {
                String::new()
            };
            let msg = format!("{}{hint}", e.message);
            return bad_input(a.json, &a.path, Some(e.line), &msg);
        }
    };
    let stats = c.stats();
    let threads = a.threads.unwrap_or_else(cores).min(stats.keys).max(1);
    decide(&mut c, threads, deadline);
    let decided = t0.elapsed().as_secs_f64();
    let what = format!(
        "{} operations on {} key{} ({} of unknown outcome), model {} ({how})",
        stats.operations,
        stats.keys,
        if stats.keys == 1 { "" } else { "s" },
        stats.unknown_outcome,
        model.name(),
    );
    // The verdict as soon as it is known; the explanation after.
    if !a.json {
        match c.decision() {
            Decision::Linearizable => say!("linearizable: {what}; {decided:.3} s"),
            Decision::NotLinearizable { key } => say!(
                "not linearizable{}: {what}; verdict in {decided:.3} s",
                key.map(|k| format!(" on key {k:?}")).unwrap_or_default()
            ),
            Decision::Unknown { .. } => {}
        }
    }
    let mut clock = move || deadline.is_some_and(|d| Instant::now() >= d);
    let (verdict, stats) = c.finish(&mut clock);
    let secs = t0.elapsed().as_secs_f64();
    if a.json {
        let mut v = serde_json::to_value(&verdict).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("model".into(), model.name().into());
            o.insert("model_detected".into(), a.model.is_none().into());
            o.insert(
                "stats".into(),
                serde_json::to_value(&stats).unwrap_or_default(),
            );
            o.insert("decided_ms".into(), (decided * 1000.0).into());
            o.insert("elapsed_ms".into(), (secs * 1000.0).into());
        }
        say!("{v}");
        return verdict.exit_code();
    }
    match &verdict {
        Verdict::Linearizable => {}
        Verdict::NotLinearizable(ex) => {
            for line in ex.text.lines() {
                say!("{line}");
            }
            say!("explained in {:.3} s ({secs:.3} s in all)", secs - decided);
        }
        Verdict::Unknown { why, limit, .. } => {
            let raise = match limit {
                Some(check::Limit::Time) => format!(
                    "raise --budget-ms (now {})",
                    a.budget_ms.unwrap_or_default()
                ),
                Some(check::Limit::Memory) => {
                    format!("raise --memory-mib (now {})", a.memory_mib)
                }
                Some(l) => format!("raise {}", l.option()),
                None => "raise the limits".into(),
            };
            say!(
                "unknown: {why}; the history may or may not be linearizable ({raise}): {what}; {secs:.3} s"
            )
        }
    }
    verdict.exit_code()
}

/// The Jepsen etcd corpus of the repository.
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/jepsen-etcd")
}

/// Check one generated history as `quorumlab check` does (keys on every core), `runs`
/// times: the verdict, the time to it and to the end (explanation included), min–max.
fn bench_one(
    label: &str,
    h: &quorumlab_sim::history::History,
    model: Model,
    expect: &str,
    runs: usize,
    budget: Option<Duration>,
) -> String {
    bench_opts(label, h, &Options::new(model), expect, runs, budget)
}

fn bench_opts(
    label: &str,
    h: &quorumlab_sim::history::History,
    opts: &Options,
    expect: &str,
    runs: usize,
    budget: Option<Duration>,
) -> String {
    let (mut decided, mut total, mut peak) = (Vec::new(), Vec::new(), 0usize);
    let mut got = String::new();
    let threads = cores();
    for _ in 0..runs.max(1) {
        let t0 = Instant::now();
        let deadline = budget.map(|b| t0 + b);
        let mut c = match Checker::new(h, None, opts) {
            Ok(c) => c,
            Err(e) => return format!("linearizability, {label}: UNEXPECTED error {e}"),
        };
        let keys = c.stats().keys;
        decide(&mut c, threads.min(keys).max(1), deadline);
        decided.push(t0.elapsed().as_secs_f64());
        let (v, stats) = c.finish(&mut move || deadline.is_some_and(|d| Instant::now() >= d));
        total.push(t0.elapsed().as_secs_f64());
        peak = peak.max(stats.peak_bytes);
        got = match &v {
            Verdict::Linearizable => "linearizable".into(),
            Verdict::NotLinearizable(ex) => format!(
                "not-linearizable (key {}, {} op{} explained)",
                ex.key.as_deref().unwrap_or("-"),
                ex.ops.len(),
                if ex.ops.len() == 1 { "" } else { "s" }
            ),
            Verdict::Unknown {
                limit,
                undecided: u,
                ..
            } => {
                let undecided = u.len();
                format!(
                    "unknown ({} ran out, {undecided} key{} undecided)",
                    limit.map_or("a limit", |l| l.describe()),
                    if undecided == 1 { "" } else { "s" }
                )
            }
        };
    }
    let span = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min) * 1000.0;
        let hi = v.iter().copied().fold(0.0, f64::max) * 1000.0;
        if v.len() == 1 {
            format!("{lo:.1} ms")
        } else {
            format!("{lo:.1}–{hi:.1} ms")
        }
    };
    let flag = if got.starts_with(expect) {
        ""
    } else {
        "UNEXPECTED "
    };
    format!(
        "linearizability, {label}: {flag}{got}; verdict {}, total {} ({} run{}, {threads} threads, peak {:.1} MB held)",
        span(&decided),
        span(&total),
        runs.max(1),
        if runs > 1 { "s" } else { "" },
        peak as f64 / 1e6
    )
}

/// Check the Jepsen etcd corpus and the checker's shapes (generated histories); one
/// report line each (for `quorumlab bench`). `quick`: one run each.
pub fn bench(quick: bool) -> Vec<String> {
    let runs = if quick { 1 } else { 5 };
    let mut lines = Vec::new();
    let dir = corpus_dir();
    let verdicts = std::fs::read_to_string(dir.join("verdicts.tsv")).ok();
    match verdicts {
        None => lines.push(format!(
            "linearizability, jepsen etcd corpus: not found at {} (it ships with the source checkout, not the binary)",
            dir.display()
        )),
        Some(tsv) => {
            let mut all_secs = Vec::new();
            let (mut n, mut events, mut agree, mut published) = (0, 0, 0, 0);
            let mut slowest = (0.0f64, String::new());
            let mut trouble = Vec::new();
            for run in 0..runs {
                let t0 = Instant::now();
                (n, events, agree, published) = (0, 0, 0, 0);
                for row in tsv.lines().skip(1) {
                    let Some((file, expect)) = row.split_once('\t') else {
                        continue;
                    };
                    let t = Instant::now();
                    let got = std::fs::read_to_string(dir.join(file))
                        .map_err(|e| e.to_string())
                        .and_then(|text| {
                            check::parse_jepsen_log(&text).map_err(|e| e.to_string())
                        })
                        .and_then(|p: Parsed| {
                            events += p.history.events.len();
                            check::check_parsed(
                                &p,
                                &Options::new(Model::CasRegister),
                                &mut || false,
                            )
                            .map_err(|e| e.to_string())
                        });
                    let dt = t.elapsed().as_secs_f64();
                    if dt > slowest.0 {
                        slowest = (dt, file.to_string());
                    }
                    n += 1;
                    let name = match &got {
                        Ok((Verdict::Linearizable, _)) => "linearizable",
                        Ok((Verdict::NotLinearizable(_), _)) => "not-linearizable",
                        Ok((Verdict::Unknown { .. }, _)) => "unknown",
                        Err(_) => "error",
                    };
                    if expect != "unknown" {
                        published += 1;
                        if name == expect {
                            agree += 1;
                        } else if run == 0 {
                            trouble.push(format!("{file}: {name}, published {expect}"));
                        }
                    }
                }
                all_secs.push(t0.elapsed().as_secs_f64());
            }
            let lo = all_secs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = all_secs.iter().copied().fold(0.0, f64::max);
            lines.push(format!(
                "linearizability, jepsen etcd corpus: {n} histories ({events} events) in {:.1}–{:.1} ms over {runs} run{} incl. reading and parsing, one thread; slowest {} {:.2} ms; agrees with {agree}/{published} published verdicts",
                lo * 1000.0,
                hi * 1000.0,
                if runs == 1 { "" } else { "s" },
                slowest.1,
                slowest.0 * 1000.0
            ));
            for t in trouble {
                lines.push(format!("  DISAGREES: {t}"));
            }
        }
    }
    let spec = gen::GenSpec {
        model: Model::Kv,
        clients: 50,
        ops: 4000,
        keys: 8,
        max_latency: 3000,
        max_think: 500,
        unknown_per_mille: 10,
    };
    let kv = gen::linearizable_history(&spec, 1);
    let shapes = gen::shapes::many_keys_one_bad(1);
    lines.push(bench_one(
        "kv, 50 clients, 4,000 ops on 8 keys with appends",
        &kv,
        Model::Kv,
        "linearizable",
        runs,
        None,
    ));
    lines.push(bench_one(
        "50 clients on 10 keys, one hard key, one bad key",
        &shapes,
        Model::CasRegister,
        "not-linearizable (key k9",
        runs,
        None,
    ));
    lines.push(bench_one(
        "100 clients on 3 keys, 3,000 ops, values of their own",
        &gen::shapes::many_clients_few_keys(3000, 1),
        Model::CasRegister,
        "linearizable",
        runs,
        None,
    ));
    for (ops, bad) in [
        (20_000, false),
        (20_000, true),
        (50_000, false),
        (50_000, true),
    ] {
        lines.push(bench_one(
            &format!(
                "50 clients, {ops} ops on 10 keys{}",
                if bad { ", one stale read" } else { "" }
            ),
            &gen::shapes::large(ops, bad, 1),
            Model::CasRegister,
            if bad {
                "not-linearizable"
            } else {
                "linearizable"
            },
            runs,
            None,
        ));
    }
    // The register through its sequential specification (the generic table, no
    // pruning), against the compiled line above, and the lock.
    let mut generic = Options::new(Model::CasRegister);
    generic.generic = true;
    lines.push(bench_opts(
        "50 clients, 20000 ops on 10 keys, through the register's sequential spec",
        &gen::shapes::large(20_000, false, 1),
        &generic,
        "linearizable",
        runs,
        None,
    ));
    let locks = gen::GenSpec {
        model: Model::Lock,
        clients: 50,
        ops: 20_000,
        keys: 10,
        max_latency: 3000,
        max_think: 500,
        unknown_per_mille: 10,
    };
    lines.push(bench_one(
        "lock, 50 clients, 20,000 acquires and releases on 10 locks",
        &gen::linearizable_history(&locks, 1),
        Model::Lock,
        "linearizable",
        runs,
        None,
    ));
    lines.push(bench_one(
        "100 clients on 3 keys, 3,000 ops, values squashed to 0..4",
        &gen::shapes::many_clients_few_keys_squashed(3000, 1),
        Model::Register,
        "linearizable",
        runs,
        Some(Duration::from_secs(10)),
    ));
    let one_key = gen::GenSpec {
        model: Model::Register,
        clients: 100,
        ops: 1000,
        keys: 1,
        max_latency: 3000,
        max_think: 100,
        unknown_per_mille: 50,
    };
    lines.push(bench_one(
        "100 clients on 1 key, 1,000 ops, values squashed to 0..4 (too hard), --budget-ms 5000",
        &gen::squash_values(gen::linearizable_history(&one_key, 1), 5),
        Model::Register,
        "",
        1,
        Some(Duration::from_secs(5)),
    ));
    lines
}

#[cfg(test)]
mod tests {
    #[test]
    fn bench_runs_and_agrees() {
        let lines = super::bench(true);
        assert!(
            lines
                .iter()
                .all(|l| !l.contains("DISAGREES") && !l.contains("UNEXPECTED")),
            "{lines:#?}"
        );
    }
}
