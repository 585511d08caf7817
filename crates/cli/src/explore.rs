//! `quorumlab explore`: run many seeds on every core; at the first failure, print the
//! command that reproduces it. Seeds whose verdict is unknown (the linearizability
//! check ran out of its budget) are not passes: they are listed on their own with their
//! commands, and make the exit code 3 unless `--allow-unknown`.
//!
//! `--swarm` runs each seed on its own scenario drawn from the seed on top of the given
//! one (or of `--protocol NAME`'s plain cluster): the nemesis's fault kinds and pace, the
//! network's rates, the workload's, the node count and the protocol's parameters
//! (`quorumlab_sim::arbitrary::swarm`; seeded bugs only with `--swarm-unsafe`). A
//! failing seed's command is `quorumlab run ... --swarm-seed N`, which draws the same.

use crate::args::{base_scenario, force_nemesis, swarm_scenario, Args};
use crate::run::{budget, check_line, run_with_budget};
use crate::BadInput;
use quorumlab_sim::expect::ExpectStatus;
use quorumlab_sim::run::Outcome;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

pub fn main(raw: &[String]) -> Result<i32, BadInput> {
    let a = Args::parse(
        raw,
        &["seeds", "start", "threads", "budget-ms", "protocol"],
        &[
            "nemesis",
            "json",
            "quiet",
            "allow-unknown",
            "swarm",
            "swarm-unsafe",
        ],
    )?;
    let swarm = a.flag("swarm");
    let swarm_unsafe = a.flag("swarm-unsafe");
    if swarm_unsafe && !swarm {
        return Err(BadInput("--swarm-unsafe needs --swarm".into()));
    }
    let budget = budget(&a)?;
    let allow_unknown = a.flag("allow-unknown");
    // The budget goes into the reproduce commands, so that they check the same way.
    let budget_arg = a
        .value("budget-ms")
        .map(|b| format!(" --budget-ms {b}"))
        .unwrap_or_default();
    let (mut s, path) = base_scenario(&a, swarm)?;
    let nemesis = a.flag("nemesis");
    if nemesis {
        force_nemesis(&mut s);
    } else if swarm && s.nemesis.is_none() && !s.expect.is_empty() {
        eprintln!(
            "note: under the swarm the scenario's {} expectations are not checked (they describe its own faults); invariants, linearizability and convergence are",
            s.expect.len()
        );
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
    let repro = |seed: u64| {
        if swarm {
            format!(
                "quorumlab run {path} --swarm-seed {seed}{}{}{budget_arg}",
                if swarm_unsafe { " --swarm-unsafe" } else { "" },
                if nemesis { " --nemesis" } else { "" },
            )
        } else {
            format!(
                "quorumlab run {path} --seed {seed}{}{budget_arg}",
                if nemesis { " --nemesis" } else { "" }
            )
        }
    };

    let next = AtomicU64::new(start);
    let stop = AtomicBool::new(false);
    let events = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    // Per anomaly kind: how many in all, and in how many seeds.
    let kinds = quorumlab_sim::anomaly::AnomalyKind::ALL;
    let anomalies: [(AtomicU64, AtomicU64); quorumlab_sim::anomaly::AnomalyKind::ALL.len()] =
        Default::default();
    let failure: Mutex<Option<(u64, String)>> = Mutex::new(None);
    let unknown: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());
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
                let drawn;
                let this = if swarm {
                    match swarm_scenario(&s, seed, swarm_unsafe) {
                        Ok(x) => {
                            drawn = x;
                            &drawn
                        }
                        Err(BadInput(why)) => {
                            let mut f = failure.lock().unwrap_or_else(|p| p.into_inner());
                            if f.as_ref().is_none_or(|(s0, _)| seed < *s0) {
                                *f = Some((seed, why));
                            }
                            stop.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                } else {
                    &s
                };
                let Ok((_, sum)) = run_with_budget(this, seed, 0, budget) else {
                    break;
                };
                events.fetch_add(sum.events, Ordering::Relaxed);
                done.fetch_add(1, Ordering::Relaxed);
                for (k, (all, seeds)) in kinds.iter().zip(&anomalies) {
                    let n = sum.anomalies.count(*k);
                    all.fetch_add(n, Ordering::Relaxed);
                    seeds.fetch_add(u64::from(n > 0), Ordering::Relaxed);
                }
                let outcome = sum.outcome();
                if outcome == Outcome::Unknown {
                    let why = if sum.linearizable.is_unknown() {
                        format!("linearizability: {}", check_line(&sum.linearizable))
                    } else if let Some(x) = sum
                        .expectations
                        .iter()
                        .find(|x| x.status != ExpectStatus::Passed)
                    {
                        format!("expectation undecided: {} ({})", x.what, x.detail)
                    } else {
                        format!("convergence: {}", check_line(&sum.convergence))
                    };
                    unknown
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((seed, why));
                }
                if outcome == Outcome::Failed {
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
                        None if !sum.linearizable.failed() => sum
                            .expectations
                            .iter()
                            .find(|x| x.status == ExpectStatus::Failed)
                            .map(crate::run::expectation_line)
                            .unwrap_or_default(),
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
    let mut unknown = unknown.into_inner().unwrap_or_else(|p| p.into_inner());
    unknown.sort();
    let rate = ev as f64 / took.max(1e-9);
    let anomaly_counts: Vec<(&str, u64, u64)> = kinds
        .iter()
        .zip(&anomalies)
        .map(|(k, (all, seeds))| {
            (
                k.name(),
                all.load(Ordering::Relaxed),
                seeds.load(Ordering::Relaxed),
            )
        })
        .collect();
    if a.flag("json") {
        let v = serde_json::json!({
            "scenario": path, "swarm": swarm, "seeds_run": ran, "start": start, "threads": threads,
            "seconds": took, "events": ev, "events_per_second": rate,
            "seeds_checked": ran - unknown.len() as u64,
            "anomalies": anomaly_counts.iter().map(|(k, all, seeds)| (k.to_string(), serde_json::json!({"total": all, "seeds": seeds}))).collect::<serde_json::Map<_, _>>(),
            "unknown": unknown.iter().map(|(seed, why)| serde_json::json!({
                "seed": seed, "why": why,
                "reproduce": repro(*seed),
            })).collect::<Vec<_>>(),
            "failure": failure.as_ref().map(|(seed, why)| serde_json::json!({
                "seed": seed, "why": why,
                "reproduce": repro(*seed),
            })),
        });
        say!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        say!(
            "explored {ran} {}seeds of {path} in {took:.2} s on {threads} threads ({ev} events, {:.2} M events/s)",
            if swarm { "swarm " } else { "" },
            rate / 1e6
        );
        let parts: Vec<String> = anomaly_counts
            .iter()
            .map(|(k, all, seeds)| format!("{k} {all} in {seeds} seeds"))
            .collect();
        say!("anomalies: {}", parts.join(", "));
        if !unknown.is_empty() {
            say!(
                "UNKNOWN: {} of {ran} seeds were not checked to the end (the verdict is unknown, not a pass):",
                unknown.len()
            );
            for (seed, why) in &unknown {
                say!("  seed {seed}: {why}");
                say!("    {}", repro(*seed));
            }
        }
        match &failure {
            None if unknown.is_empty() => say!("no violation found"),
            None => say!(
                "no violation found in the {} seeds checked; {} unknown{}",
                ran - unknown.len() as u64,
                unknown.len(),
                if allow_unknown {
                    " (allowed by --allow-unknown)"
                } else {
                    " (--allow-unknown to accept them, --budget-ms to give the check longer)"
                }
            ),
            Some((seed, why)) => {
                say!("VIOLATION with seed {seed}: {why}");
                say!("reproduce with:\n  {}", repro(*seed));
                if swarm {
                    say!("(add --scenario-out FILE to keep the scenario that seed draws)");
                }
            }
        }
    }
    Ok(if failure.is_some() {
        1
    } else if !unknown.is_empty() && !allow_unknown {
        3
    } else {
        0
    })
}
