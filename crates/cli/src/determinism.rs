//! `quorumlab determinism`: draw random valid scenarios (`quorumlab_sim::arbitrary`)
//! and check, for each, that it runs to the same trace twice natively, with invariant
//! checks off, and through the worker boundary, and that any invariant it breaks is
//! broken by design (a seeded bug, a lost disk). On every core; the first failure stops
//! the rest and prints the scenario. `--print` prints the scenarios, one JSON a line.

use crate::args::Args;
use crate::BadInput;
use quorumlab_sim::arbitrary;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

pub fn main(raw: &[String]) -> Result<i32, BadInput> {
    let a = Args::parse(raw, &["scenarios", "start", "threads"], &["json", "print"])?;
    if !a.positional.is_empty() {
        return Err(BadInput(format!(
            "determinism takes no file (it draws its scenarios): `{}`",
            a.positional[0]
        )));
    }
    let count = a
        .number("scenarios")?
        .ok_or_else(|| BadInput("--scenarios N is required".into()))?;
    let start = a.number("start")?.unwrap_or(0);
    if a.flag("print") {
        // The scenarios only, one JSON a line (for the browser tests), nothing run.
        for seed in start..start.saturating_add(count) {
            say!("{}", arbitrary::scenario(seed).to_json());
        }
        return Ok(0);
    }
    let threads = match a.number("threads")? {
        Some(0) => return Err(BadInput("--threads must be at least 1".into())),
        Some(t) => t as usize,
        None => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    };
    let next = AtomicU64::new(start);
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let events = AtomicU64::new(0);
    let violations = AtomicU64::new(0);
    let failure: Mutex<Option<(u64, String, String)>> = Mutex::new(None);
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= start.saturating_add(count) {
                    break;
                }
                let s = arbitrary::scenario(seed);
                match arbitrary::check_determinism(&s) {
                    Ok(c) => {
                        done.fetch_add(1, Ordering::Relaxed);
                        events.fetch_add(c.events, Ordering::Relaxed);
                        violations.fetch_add(c.violation as u64, Ordering::Relaxed);
                    }
                    Err(why) => {
                        let mut f = failure.lock().unwrap_or_else(|p| p.into_inner());
                        if f.as_ref().is_none_or(|(s0, _, _)| seed < *s0) {
                            *f = Some((seed, why, s.to_json()));
                        }
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let took = t0.elapsed().as_secs_f64();
    let (ran, ev, vio) = (
        done.load(Ordering::Relaxed),
        events.load(Ordering::Relaxed),
        violations.load(Ordering::Relaxed),
    );
    let failure = failure.into_inner().unwrap_or_else(|p| p.into_inner());
    if a.flag("json") {
        let v = serde_json::json!({
            "scenarios_checked": ran, "start": start, "threads": threads, "seconds": took,
            "events": ev, "stopped_by_designed_violations": vio,
            "failure": failure.as_ref().map(|(seed, why, json)| serde_json::json!({
                "seed": seed, "why": why, "scenario": json,
                "reproduce": format!("quorumlab determinism --start {seed} --scenarios 1"),
            })),
        });
        say!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        say!(
            "checked {ran} random scenarios (from {start}) in {took:.2} s on {threads} threads: {ev} events, each run twice natively, unchecked and through the worker boundary (those with seeded bugs or lost disks also checked, natively and through the boundary); {vio} stopped by a violation by design"
        );
        match &failure {
            None => say!("every run agreed"),
            Some((seed, why, json)) => {
                say!("FAILED with random scenario {seed}: {why}");
                say!("scenario:\n{json}");
                say!("reproduce with:\n  quorumlab determinism --start {seed} --scenarios 1");
            }
        }
    }
    Ok(if failure.is_some() { 1 } else { 0 })
}
