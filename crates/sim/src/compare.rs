//! The trade-off lab's figures: what one run of a configuration measured (availability,
//! latency of reads and writes, throughput, messages per operation, anomalies), and
//! the same figure over many seeds as a mean with a 95% interval. Pure: the CLI's
//! `compare` runs the seeds (on every core) and prints; the page can draw the same
//! figures.

use serde::{Deserialize, Serialize};

use crate::history::{EventType, Func, History};
use crate::run::{Check, Summary};
use quorumlab_core::MS;

/// What one run measured. Latencies are in simulated milliseconds and are `None` when
/// no such operation succeeded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunFigures {
    pub seed: u64,
    /// Operations answered (ok, or a definite failure such as a cas whose expected
    /// value did not match) over operations that completed (answered, or given up
    /// with the outcome unknown).
    pub availability: f64,
    pub ok: u64,
    /// Successful operations per simulated second (the goodput).
    pub throughput: f64,
    /// Operations started per simulated second (the offered load; retries are not new
    /// operations).
    #[serde(default)]
    pub offered: f64,
    pub read_p50: Option<f64>,
    pub read_p99: Option<f64>,
    pub read_p999: Option<f64>,
    pub write_p50: Option<f64>,
    pub write_p99: Option<f64>,
    pub write_p999: Option<f64>,
    /// Messages sent per successful operation (every message: heartbeats count).
    pub messages_per_op: f64,
    /// Client attempts per operation started (retries and redirects make it grow).
    pub attempts_per_op: f64,
    /// Share of attempts that timed out, in percent.
    pub timeouts_pct: f64,
    /// Share of attempts turned away at once (a rate limit, a full queue), in percent.
    #[serde(default)]
    pub rejected_pct: f64,
    /// With a capacity (`workload.capacity`): the share of the nodes' time spent on
    /// client requests whose client no longer waited for them, in percent (`None`
    /// without a capacity, or when nothing was served).
    #[serde(default)]
    pub wasted_pct: Option<f64>,
    /// The longest queue of client requests at a node (0 without a capacity).
    #[serde(default)]
    pub queue_peak: u64,
    /// Reads answered from a client's cache.
    pub degraded: u64,
    pub lost_writes: u64,
    pub stale_reads: u64,
    pub split_brain_ms: f64,
    pub divergent: u64,
    /// The history's verdict: `Some(false)` not linearizable, `None` unknown or not
    /// checked.
    pub linearizable: Option<bool>,
    /// An invariant broke (the run stopped there).
    pub violation: bool,
    /// While the network was split: answered over completed operations of the clients
    /// on the majority side and on a minority side, all of them and writes only (see
    /// [`crate::sides`]); `None` when no such operation completed (or the sides were
    /// not recorded).
    #[serde(default)]
    pub majority: Option<f64>,
    #[serde(default)]
    pub minority: Option<f64>,
    #[serde(default)]
    pub majority_writes: Option<f64>,
    #[serde(default)]
    pub minority_writes: Option<f64>,
}

impl RunFigures {
    /// The figures of a finished run, from its summary and history.
    pub fn of(seed: u64, s: &Summary, history: &History) -> RunFigures {
        let (reads, writes) = latencies(history);
        let t = &s.totals;
        let secs = (s.simulated_ms as f64 / 1000.0).max(1e-9);
        RunFigures {
            seed,
            // Answered over completed, as the metrics count it: a `fail` the client gave
            // up on (no node would take the operation) is not an answer.
            availability: t.availability,
            ok: t.ok,
            throughput: t.ok as f64 / secs,
            offered: t.invoked as f64 / secs,
            read_p50: quantile(&reads, 0.5),
            read_p99: quantile(&reads, 0.99),
            read_p999: quantile(&reads, 0.999),
            write_p50: quantile(&writes, 0.5),
            write_p99: quantile(&writes, 0.99),
            write_p999: quantile(&writes, 0.999),
            messages_per_op: t.messages as f64 / t.ok.max(1) as f64,
            attempts_per_op: t.attempts as f64 / t.invoked.max(1) as f64,
            timeouts_pct: 100.0 * t.timeouts as f64 / t.attempts.max(1) as f64,
            rejected_pct: 100.0 * t.rejected as f64 / t.attempts.max(1) as f64,
            wasted_pct: (t.served > 0).then(|| 100.0 * t.wasted as f64 / t.served as f64),
            queue_peak: t.queue_peak,
            degraded: t.degraded,
            lost_writes: s.anomalies.lost_writes,
            stale_reads: s.anomalies.stale_reads,
            split_brain_ms: s.anomalies.split_brain_ms,
            divergent: s.anomalies.divergent,
            linearizable: match s.linearizable {
                Check::Passed => Some(true),
                Check::Failed { .. } => Some(false),
                _ => None,
            },
            violation: s.invariants.violation.is_some(),
            ..RunFigures::default()
        }
    }

    /// With the availability of each side of the partitions (see [`crate::sides`]).
    pub fn with_sides(mut self, by: &crate::sides::BySide) -> RunFigures {
        self.majority = by.majority.availability();
        self.minority = by.minority.availability();
        self.majority_writes = by.majority.write_availability();
        self.minority_writes = by.minority.write_availability();
        self
    }

    /// How bad the run was, to find the worst seeds: anomalies, a history that is not
    /// linearizable (counts as one), a violation (counts as many).
    pub fn badness(&self) -> f64 {
        (self.lost_writes + self.stale_reads + self.divergent) as f64
            + self.split_brain_ms / 100.0
            + if self.linearizable == Some(false) {
                1.0
            } else {
                0.0
            }
            + if self.violation { 1000.0 } else { 0.0 }
    }
}

/// Latencies of successful reads and of successful writes (cas and append count as
/// writes), in milliseconds, each sorted. Every client has one operation at a time,
/// so a completion belongs to its process's last invoke.
pub fn latencies(h: &History) -> (Vec<f64>, Vec<f64>) {
    let mut open: std::collections::HashMap<u64, (u64, Func)> = Default::default();
    let (mut reads, mut writes) = (Vec::new(), Vec::new());
    for e in &h.events {
        match e.kind {
            EventType::Invoke => {
                open.insert(e.process, (e.time, e.f));
            }
            EventType::Ok => {
                if let Some((t0, f)) = open.remove(&e.process) {
                    let ms = e.time.saturating_sub(t0) as f64 / MS as f64;
                    match f {
                        Func::Read => reads.push(ms),
                        _ => writes.push(ms),
                    }
                }
            }
            EventType::Fail | EventType::Info => {
                open.remove(&e.process);
            }
        }
    }
    reads.sort_by(f64::total_cmp);
    writes.sort_by(f64::total_cmp);
    (reads, writes)
}

/// The `q` quantile of sorted `xs` by nearest rank (`None` for no values).
pub fn quantile(xs: &[f64], q: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let rank = (q * xs.len() as f64).ceil() as usize;
    Some(xs[rank.clamp(1, xs.len()) - 1])
}

/// A figure over seeds: the mean and a 95% interval for it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
    /// Runs that had the figure (a latency needs a successful operation).
    pub n: usize,
}

/// The mean of `xs` with its 95% confidence interval (Student's t for the sample's
/// size; the interval is the mean alone for one value).
pub fn stat(xs: &[f64]) -> Option<Stat> {
    let n = xs.len();
    if n == 0 {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Some(Stat {
            mean,
            lo: mean,
            hi: mean,
            n,
        });
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t95(n - 1) * (var / n as f64).sqrt();
    Some(Stat {
        mean,
        lo: mean - half,
        hi: mean + half,
        n,
    })
}

/// The two-sided 95% quantile of Student's t with `df` degrees of freedom (table for
/// small samples, then the normal 1.96 with a 1/df correction, within 0.5% of exact).
fn t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        d if d <= 30 => T[d - 1],
        d => 1.96 + 2.4 / d as f64,
    }
}

/// Availability as "nines" (0.999 is 3.0), capped at 9 for a perfect run.
pub fn nines(availability: f64) -> f64 {
    if availability >= 1.0 {
        9.0
    } else {
        (-(1.0 - availability).log10()).clamp(0.0, 9.0)
    }
}

/// The downtime a year that `availability` would mean, in minutes.
pub fn downtime_minutes_per_year(availability: f64) -> f64 {
    (1.0 - availability).max(0.0) * 365.25 * 24.0 * 60.0
}

/// One row of the comparison table: a figure, its unit and how to read it from a run.
pub struct Figure {
    pub name: &'static str,
    pub unit: &'static str,
    /// Whether a lower value is better (for marking the best column).
    pub lower_is_better: bool,
    pub get: fn(&RunFigures) -> Option<f64>,
}

/// Every figure the lab compares, in the order it prints them.
pub const FIGURES: &[Figure] = &[
    Figure {
        name: "availability",
        unit: "%",
        lower_is_better: false,
        get: |r| Some(r.availability * 100.0),
    },
    Figure {
        name: "majority side availability",
        unit: "%",
        lower_is_better: false,
        get: |r| r.majority.map(|a| a * 100.0),
    },
    Figure {
        name: "minority side availability",
        unit: "%",
        lower_is_better: false,
        get: |r| r.minority.map(|a| a * 100.0),
    },
    Figure {
        name: "majority side writes answered",
        unit: "%",
        lower_is_better: false,
        get: |r| r.majority_writes.map(|a| a * 100.0),
    },
    Figure {
        name: "minority side writes answered",
        unit: "%",
        lower_is_better: false,
        get: |r| r.minority_writes.map(|a| a * 100.0),
    },
    Figure {
        name: "throughput",
        unit: "ops/s",
        lower_is_better: false,
        get: |r| Some(r.throughput),
    },
    Figure {
        name: "offered load",
        unit: "ops/s",
        lower_is_better: false,
        get: |r| Some(r.offered),
    },
    Figure {
        name: "read p50",
        unit: "ms",
        lower_is_better: true,
        get: |r| r.read_p50,
    },
    Figure {
        name: "read p99",
        unit: "ms",
        lower_is_better: true,
        get: |r| r.read_p99,
    },
    Figure {
        name: "read p99.9",
        unit: "ms",
        lower_is_better: true,
        get: |r| r.read_p999,
    },
    Figure {
        name: "write p50",
        unit: "ms",
        lower_is_better: true,
        get: |r| r.write_p50,
    },
    Figure {
        name: "write p99",
        unit: "ms",
        lower_is_better: true,
        get: |r| r.write_p99,
    },
    Figure {
        name: "write p99.9",
        unit: "ms",
        lower_is_better: true,
        get: |r| r.write_p999,
    },
    Figure {
        name: "messages per op",
        unit: "",
        lower_is_better: true,
        get: |r| Some(r.messages_per_op),
    },
    Figure {
        name: "attempts per op",
        unit: "",
        lower_is_better: true,
        get: |r| Some(r.attempts_per_op),
    },
    Figure {
        name: "attempts timed out",
        unit: "%",
        lower_is_better: true,
        get: |r| Some(r.timeouts_pct),
    },
    Figure {
        name: "attempts turned away",
        unit: "%",
        lower_is_better: true,
        get: |r| Some(r.rejected_pct),
    },
    Figure {
        name: "node time wasted",
        unit: "%",
        lower_is_better: true,
        get: |r| r.wasted_pct,
    },
    Figure {
        name: "degraded reads",
        unit: "",
        lower_is_better: true,
        get: |r| Some(r.degraded as f64),
    },
    Figure {
        name: "lost acked writes",
        unit: "",
        lower_is_better: true,
        get: |r| Some(r.lost_writes as f64),
    },
    Figure {
        name: "stale reads",
        unit: "",
        lower_is_better: true,
        get: |r| Some(r.stale_reads as f64),
    },
    Figure {
        name: "split-brain time",
        unit: "ms",
        lower_is_better: true,
        get: |r| Some(r.split_brain_ms),
    },
    Figure {
        name: "divergent replicas",
        unit: "",
        lower_is_better: true,
        get: |r| Some(r.divergent as f64),
    },
    Figure {
        name: "not linearizable",
        unit: "% of runs",
        lower_is_better: true,
        get: |r| r.linearizable.map(|l| if l { 0.0 } else { 100.0 }),
    },
    Figure {
        name: "invariant violated",
        unit: "% of runs",
        lower_is_better: true,
        get: |r| Some(if r.violation { 100.0 } else { 0.0 }),
    },
];

/// The statistic of figure `f` over `runs`. The interval is clipped to what the figure
/// can be (no negative latency, no share above 100%): tail latencies and anomaly counts
/// are skewed, and a symmetric interval would otherwise reach below zero.
pub fn over(runs: &[RunFigures], f: &Figure) -> Option<Stat> {
    let xs: Vec<f64> = runs.iter().filter_map(f.get).collect();
    let mut s = stat(&xs)?;
    s.lo = s.lo.max(0.0);
    if f.unit.starts_with('%') {
        s.hi = s.hi.min(100.0);
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_by_nearest_rank() {
        let xs: Vec<f64> = (1..=1000).map(|x| x as f64).collect();
        assert_eq!(quantile(&xs, 0.5), Some(500.0));
        assert_eq!(quantile(&xs, 0.99), Some(990.0));
        assert_eq!(quantile(&xs, 0.999), Some(999.0));
        assert_eq!(quantile(&[7.0], 0.999), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn the_interval_narrows_with_more_seeds_and_covers_the_mean() {
        let few = stat(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!((few.mean - 2.5).abs() < 1e-12);
        // sd = 1.291, se = 0.6455, t(3) = 3.182: half-width 2.054.
        assert!((few.hi - few.mean - 2.054).abs() < 1e-3, "{few:?}");
        let many: Vec<f64> = (0..400).map(|i| (i % 4 + 1) as f64).collect();
        let many = stat(&many).unwrap();
        assert!(many.hi - many.lo < few.hi - few.lo);
        assert!(many.lo < 2.5 && 2.5 < many.hi);
        assert_eq!(stat(&[5.0]).unwrap().lo, 5.0);
        assert!(stat(&[]).is_none());
    }

    #[test]
    fn nines_and_downtime_speak_sla() {
        assert!((nines(0.999) - 3.0).abs() < 1e-9);
        assert!((nines(0.99) - 2.0).abs() < 1e-9);
        assert_eq!(nines(1.0), 9.0);
        // Three nines: about 8.8 hours a year.
        let h = downtime_minutes_per_year(0.999) / 60.0;
        assert!((h - 8.766).abs() < 0.01, "{h}");
    }
}
