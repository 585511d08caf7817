//! `quorumlab explore`: run many seeds on every core; at the first failure, print the
//! command that reproduces it.

use crate::args::{force_nemesis, load_scenario, Args};
use crate::run::{check_line, run_once};
use crate::BadInput;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

pub fn main(raw: &[String]) -> Result<i32, BadInput> {
    let a = Args::parse(
        raw,
        &["seeds", "start", "threads"],
        &["nemesis", "json", "quiet"],
    )?;
    let path = a.one_positional("SCENARIO file")?.to_string();
    let mut s = load_scenario(&path)?;
    let nemesis = a.flag("nemesis");
    if nemesis {
        force_nemesis(&mut s);
    }
    let seeds = a
        .number("seeds")?
        .ok_or_else(|| BadInput("--seeds N is required".into()))?;
    let start = a.number("start")?.unwrap_or(0);
    let threads = match a.number("threads")? {
        Some(0) => return Err(BadInput("--threads must be at least 1".into())),
        Some(t) => t as usize,
        None => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    };
    // Validate once up front so that a bad scenario is bad input, not a failing seed.
    quorumlab_sim::build(&s, start, 0).map_err(|e| BadInput(e.to_string()))?;

    let next = AtomicU64::new(start);
    let stop = AtomicBool::new(false);
    let events = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let failure: Mutex<Option<(u64, String)>> = Mutex::new(None);
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= start + seeds {
                    break;
                }
                let Ok((_, sum)) = run_once(&s, seed, 0) else {
                    break;
                };
                events.fetch_add(sum.events, Ordering::Relaxed);
                done.fetch_add(1, Ordering::Relaxed);
                if !sum.ok {
                    let why = match &sum.invariants.violation {
                        Some(v) => format!(
                            "{} at {:.3} ms: {}",
                            v.invariant,
                            v.time as f64 / 1000.0,
                            v.detail
                        ),
                        None if sum.convergence.failed() => {
                            format!("convergence: {}", check_line(&sum.convergence))
                        }
                        None => format!("linearizability: {}", check_line(&sum.linearizable)),
                    };
                    let mut f = failure.lock().unwrap_or_else(|p| p.into_inner());
                    // Keep the smallest failing seed, so the report does not depend on
                    // thread timing more than it must.
                    if f.as_ref().is_none_or(|(s0, _)| seed < *s0) {
                        *f = Some((seed, why));
                    }
                    stop.store(true, Ordering::Relaxed);
                }
            });
        }
    });
    let took = t0.elapsed().as_secs_f64();
    let ran = done.load(Ordering::Relaxed);
    let ev = events.load(Ordering::Relaxed);
    let failure = failure.into_inner().unwrap_or_else(|p| p.into_inner());
    let rate = ev as f64 / took.max(1e-9);
    if a.flag("json") {
        let v = serde_json::json!({
            "scenario": path, "seeds_run": ran, "start": start, "threads": threads,
            "seconds": took, "events": ev, "events_per_second": rate,
            "failure": failure.as_ref().map(|(seed, why)| serde_json::json!({
                "seed": seed, "why": why,
                "reproduce": repro(&path, *seed, nemesis),
            })),
        });
        say!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        say!(
            "explored {ran} seeds of {path} in {took:.2} s on {threads} threads ({ev} events, {:.2} M events/s)",
            rate / 1e6
        );
        match &failure {
            None => say!("no violation found"),
            Some((seed, why)) => {
                say!("VIOLATION with seed {seed}: {why}");
                say!("reproduce with:\n  {}", repro(&path, *seed, nemesis));
            }
        }
    }
    Ok(if failure.is_some() { 1 } else { 0 })
}

fn repro(path: &str, seed: u64, nemesis: bool) -> String {
    format!(
        "quorumlab run {path} --seed {seed}{}",
        if nemesis { " --nemesis" } else { "" }
    )
}
