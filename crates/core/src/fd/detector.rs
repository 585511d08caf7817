//! The two suspicion strategies and their parameters.
//!
//! A [`Detector`] turns "how long has it been silent" (and, for phi-accrual, what it has
//! learnt of the peer's heartbeat rhythm) into a suspicion level and a verdict. All the
//! heartbeat machinery (sending, sequence numbers, the monotonic clock, the periodic
//! check, the record of suspicion changes, the invariants) is shared in [`super::Fd`].

use super::math;
use crate::{ParamKind, ParamSpec, Time, MS};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt::Debug;

/// A suspicion strategy. All durations are microseconds of the node's (monotonic)
/// local clock.
pub trait Detector: Clone + Debug + 'static {
    /// The protocol name.
    const NAME: &'static str;
    /// What a peer's suspicion level measures (the label of its gauge on the page).
    const LEVEL: &'static str;
    /// One line for the protocol picker.
    const SUMMARY: &'static str;
    /// Descriptions of the fields of `Params` (see `Protocol::PARAMS`).
    const PARAMS: &'static [ParamSpec];
    /// User-visible parameters.
    type Params: Clone + Debug + Default + Serialize + DeserializeOwned + 'static;
    /// What the detector learns about one peer from its heartbeats.
    type Stats: Clone + Debug + Default + 'static;

    /// The detector for `params`, with out-of-range values brought into range.
    fn new(params: &Self::Params) -> Self;
    /// Heartbeat period.
    fn interval(&self) -> Time;
    /// Period of the suspicion re-evaluation.
    fn check_period(&self) -> Time;
    /// A heartbeat arrived `gap` after the previous one of the same incarnation.
    fn sample(&self, stats: &mut Self::Stats, gap: Time);
    /// Suspicion level and verdict after `silence` without a heartbeat. `Stats` with
    /// no sample mean "never heard, or heard once": the bootstrap case.
    fn assess(&self, stats: &Self::Stats, silence: Time) -> (f64, bool);
    /// A silence longer than this is suspected, whatever the stats (the detector
    /// guarantees it; the completeness invariant relies on it).
    fn detection_bound(&self) -> Time;
    /// The bound of the eventual-completeness invariant (generous).
    fn completeness_bound(&self) -> Time;
    /// The suspicion threshold on the level scale, for display.
    fn threshold(&self) -> f64;
    /// What was learnt of a peer, in words (`None`: nothing worth showing).
    fn describe(&self, stats: &Self::Stats) -> Option<String>;
}

fn ms(x: u64) -> Time {
    x.saturating_mul(MS)
}

/// Longest duration parameter honoured (one hour); larger values are cut to it.
pub const MAX_DURATION_MS: u64 = 3_600_000;

fn dur(x: u64, min: u64) -> Time {
    ms(x.clamp(min, MAX_DURATION_MS))
}

// ---- fixed timeout -----------------------------------------------------------------

/// Parameters of the fixed-timeout heartbeat detector (`heartbeat`). Durations are
/// milliseconds of the node's local clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeartbeatParams {
    /// Every node sends a heartbeat to every other node this often (at least 1).
    pub interval_ms: u64,
    /// A peer not heard from for longer than this is suspected (at least 1).
    pub timeout_ms: u64,
    /// Suspicion is re-evaluated this often (at least 1), so a peer is suspected at most
    /// one check period after its timeout expired.
    pub check_interval_ms: u64,
}

/// The fixed-timeout detector's parameters, described for the schema, the CLI and the
/// page.
pub const HEARTBEAT_PARAMS: &[ParamSpec] = &[
    ParamSpec::ms("interval_ms", 0, "How often every node sends a heartbeat to every other node, in milliseconds of its clock. Values below 1 count as 1; values above 3600000 count as 3600000."),
    ParamSpec::ms("timeout_ms", 0, "A peer not heard from for longer than this is suspected, in milliseconds of the node's clock. Values below 1 count as 1; values above 3600000 count as 3600000."),
    ParamSpec::ms("check_interval_ms", 0, "How often suspicion is re-evaluated, in milliseconds of the node's clock. Values below 1 count as 1; values above 3600000 count as 3600000."),
];

impl Default for HeartbeatParams {
    fn default() -> Self {
        HeartbeatParams {
            interval_ms: 100,
            timeout_ms: 300,
            check_interval_ms: 10,
        }
    }
}

/// The fixed-timeout strategy: suspect after `timeout` of silence; the level is
/// silence / timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedTimeout {
    pub interval: Time,
    pub timeout: Time,
    pub check: Time,
}

impl Detector for FixedTimeout {
    const NAME: &'static str = "heartbeat";
    const LEVEL: &'static str = "silence / timeout";
    const SUMMARY: &'static str = "fixed-timeout failure detector";
    const PARAMS: &'static [ParamSpec] = HEARTBEAT_PARAMS;
    type Params = HeartbeatParams;
    type Stats = ();

    fn new(p: &HeartbeatParams) -> Self {
        FixedTimeout {
            interval: dur(p.interval_ms, 1),
            timeout: dur(p.timeout_ms, 1),
            check: dur(p.check_interval_ms, 1),
        }
    }
    fn interval(&self) -> Time {
        self.interval
    }
    fn check_period(&self) -> Time {
        self.check
    }
    fn sample(&self, _: &mut (), _: Time) {}
    fn assess(&self, _: &(), silence: Time) -> (f64, bool) {
        (silence as f64 / self.timeout as f64, silence > self.timeout)
    }
    fn detection_bound(&self) -> Time {
        self.timeout
    }
    /// Ten timeouts plus a check period (a correct node suspects after one timeout
    /// plus at most one check period).
    fn completeness_bound(&self) -> Time {
        self.timeout.saturating_mul(10).saturating_add(self.check)
    }
    fn threshold(&self) -> f64 {
        1.0
    }
    fn describe(&self, _: &()) -> Option<String> {
        None
    }
}

// ---- phi accrual -------------------------------------------------------------------

/// Parameters of the phi-accrual detector (`phi-accrual`). Durations are milliseconds
/// of the node's local clock.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhiAccrualParams {
    /// Every node sends a heartbeat to every other node this often (at least 1).
    pub interval_ms: u64,
    /// Suspicion is re-evaluated this often (at least 1).
    pub check_interval_ms: u64,
    /// A peer is suspected once phi reaches this: phi = 8 means the silence is as
    /// improbable as 1 in 10^8 under the learnt distribution. Values that are not
    /// positive and finite fall back to 8; values above 10000 are cut to 10000.
    pub threshold: f64,
    /// How many inter-arrival times are remembered per peer (1 to 10000).
    pub window: u64,
    /// Floor of the standard deviation, so that a very regular peer is not suspected
    /// for the slightest delay (at least 1).
    pub min_std_dev_ms: u64,
    /// Added to the mean inter-arrival time: a silence this much longer than usual is
    /// still considered normal (tolerates lost heartbeats and pauses).
    pub acceptable_pause_ms: u64,
    /// Until two heartbeats of a peer have arrived (so there is no sample yet), it is
    /// suspected only after this long without a heartbeat (counted from boot if none).
    pub bootstrap_ms: u64,
    /// Inter-arrival times longer than this are not recorded (like Cassandra's
    /// `MAX_INTERVAL`): a partition or a restart should not teach the detector that
    /// heartbeats come every ten seconds. Keep it several times `interval_ms`.
    pub max_sample_ms: u64,
}

/// The phi-accrual detector's parameters, described for the schema, the CLI and the
/// page.
pub const PHI_ACCRUAL_PARAMS: &[ParamSpec] = &[
    ParamSpec::ms("interval_ms", 0, "How often every node sends a heartbeat to every other node, in milliseconds of its clock. Values below 1 count as 1; values above 3600000 count as 3600000."),
    ParamSpec::ms("check_interval_ms", 0, "How often suspicion is re-evaluated, in milliseconds of the node's clock. Values below 1 count as 1; values above 3600000 count as 3600000."),
    ParamSpec {
        name: "threshold",
        kind: ParamKind::Float { min: f64::NEG_INFINITY, max: f64::INFINITY },
        unit: "",
        help: "A peer is suspected once phi reaches this. phi = 8 means the silence is as unlikely as 1 in 10^8 under the learnt distribution. Values that are not above 0 count as 8; values above 10000 count as 10000.",
    },
    ParamSpec::count("window", 0, "samples", "How many inter-arrival times are remembered per peer. Values below 1 count as 1; above 10000 as 10000."),
    ParamSpec::ms("min_std_dev_ms", 0, "Smallest standard deviation used, in milliseconds, so that a very regular peer is not suspected at the slightest delay. Values below 1 count as 1; values above 3600000 count as 3600000."),
    ParamSpec::ms("acceptable_pause_ms", 0, "Added to the mean inter-arrival time: a silence this much longer than usual still counts as normal (tolerates lost heartbeats and short pauses). Values above 3600000 count as 3600000."),
    ParamSpec::ms("bootstrap_ms", 0, "Until two heartbeats of a peer have arrived, it is suspected only after this long without one (from boot if none arrived). Values below 1 count as 1; values above 3600000 count as 3600000."),
    ParamSpec::ms("max_sample_ms", 0, "Inter-arrival times longer than this are not learnt from, so that a partition or a restart does not teach the detector that heartbeats are rare. Keep it several times interval_ms. Values below 1 count as 1; values above 3600000 count as 3600000."),
];

impl Default for PhiAccrualParams {
    fn default() -> Self {
        PhiAccrualParams {
            interval_ms: 100,
            check_interval_ms: 10,
            threshold: 8.0,
            window: 100,
            min_std_dev_ms: 20,
            acceptable_pause_ms: 100,
            bootstrap_ms: 1000,
            max_sample_ms: 1000,
        }
    }
}

/// Longest window honoured.
pub const MAX_WINDOW: u64 = 10_000;
/// Highest threshold honoured (phi is finite but bounded, see [`math::Y_MAX`]).
pub const MAX_THRESHOLD: f64 = 10_000.0;

/// The phi-accrual strategy (Hayashibara et al. 2004, as in Akka and Cassandra):
/// phi = -log10 P(next heartbeat later than the silence so far), with inter-arrival
/// times assumed normal with the window's mean (plus the acceptable pause) and
/// standard deviation (at least the floor). The normal tail is the logistic
/// approximation, see [`math`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhiAccrual {
    pub interval: Time,
    pub check: Time,
    pub threshold: f64,
    pub window: usize,
    pub min_std: Time,
    pub pause: Time,
    pub bootstrap: Time,
    pub max_sample: Time,
    /// Standard deviations past mean + pause at which phi certainly reaches the threshold.
    pub y_threshold: f64,
}

/// The last `window` inter-arrival times of one peer, with exact integer sums (so the
/// mean and variance do not drift with floating-point accumulation), and the mean and
/// standard deviation they give (recomputed on every sample).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Window {
    samples: VecDeque<Time>,
    sum: u128,
    sum_sq: u128,
    mean_std: Option<(f64, f64)>,
}

impl Window {
    pub fn len(&self) -> usize {
        self.samples.len()
    }
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
    /// Mean and population standard deviation in microseconds (`None` if empty).
    pub fn mean_std(&self) -> Option<(f64, f64)> {
        self.mean_std
    }

    fn compute(&self) -> Option<(f64, f64)> {
        let n = self.samples.len() as u128;
        if n == 0 {
            return None;
        }
        let mean = self.sum as f64 / n as f64;
        // n·Σx² - (Σx)² >= 0 exactly; it fits: n <= 1e4, x <= 3.6e9.
        let num = (n * self.sum_sq).saturating_sub(self.sum * self.sum);
        let var = num as f64 / (n * n) as f64;
        Some((mean, var.sqrt()))
    }
}

impl PhiAccrual {
    fn std_floor(&self) -> f64 {
        self.min_std as f64
    }
}

impl Detector for PhiAccrual {
    const NAME: &'static str = "phi-accrual";
    const LEVEL: &'static str = "phi";
    const SUMMARY: &'static str = "adaptive failure detector";
    const PARAMS: &'static [ParamSpec] = PHI_ACCRUAL_PARAMS;
    type Params = PhiAccrualParams;
    type Stats = Window;

    fn new(p: &PhiAccrualParams) -> Self {
        let threshold = if p.threshold.is_finite() && p.threshold > 0.0 {
            p.threshold.min(MAX_THRESHOLD)
        } else {
            8.0
        };
        PhiAccrual {
            interval: dur(p.interval_ms, 1),
            check: dur(p.check_interval_ms, 1),
            threshold,
            window: p.window.clamp(1, MAX_WINDOW) as usize,
            min_std: dur(p.min_std_dev_ms, 1),
            pause: dur(p.acceptable_pause_ms, 0),
            bootstrap: dur(p.bootstrap_ms, 1),
            max_sample: dur(p.max_sample_ms, 1),
            y_threshold: math::y_for_phi(threshold),
        }
    }
    fn interval(&self) -> Time {
        self.interval
    }
    fn check_period(&self) -> Time {
        self.check
    }
    fn sample(&self, w: &mut Window, gap: Time) {
        if gap > self.max_sample {
            return;
        }
        while w.samples.len() >= self.window {
            if let Some(old) = w.samples.pop_front() {
                w.sum -= old as u128;
                w.sum_sq -= old as u128 * old as u128;
            }
        }
        w.samples.push_back(gap);
        w.sum += gap as u128;
        w.sum_sq += gap as u128 * gap as u128;
        w.mean_std = w.compute();
    }
    fn assess(&self, w: &Window, silence: Time) -> (f64, bool) {
        match w.mean_std() {
            // Bootstrap: a straight line reaching the threshold at the bootstrap timeout.
            None => (
                self.threshold * (silence as f64 / self.bootstrap as f64),
                silence > self.bootstrap,
            ),
            Some((mean, std)) => {
                let p = math::phi(
                    silence as f64,
                    mean + self.pause as f64,
                    std.max(self.std_floor()),
                );
                (p, p >= self.threshold)
            }
        }
    }
    /// Every sample is at most `max_sample` (M), so the mean is at most M and the
    /// population standard deviation at most M/2; phi reaches the threshold once the
    /// silence exceeds pause + M + (y_t + 0.05) · max(M/2, min_std), where y_t solves
    /// a(y_t) = threshold · ln 10 (phi >= a / ln 10); 0.05 and 1 ms absorb rounding.
    /// Before the first sample, the bootstrap timeout applies.
    fn detection_bound(&self) -> Time {
        let m = self.max_sample as f64;
        let std = (m / 2.0).max(self.std_floor());
        let phi_bound = self.pause as f64 + m + (self.y_threshold + 0.05) * std + MS as f64;
        // phi_bound is below 1e13 µs for parameters in range, so the cast is exact enough.
        (phi_bound.ceil() as Time).max(self.bootstrap.saturating_add(1))
    }
    /// The detection bound plus a check period.
    fn completeness_bound(&self) -> Time {
        self.detection_bound().saturating_add(self.check)
    }
    fn threshold(&self) -> f64 {
        self.threshold
    }
    fn describe(&self, w: &Window) -> Option<String> {
        let (mean, std) = w.mean_std()?;
        Some(format!(
            "inter-arrival mean {:.1} ms, σ {:.1} ms over {} samples",
            mean / MS as f64,
            std / MS as f64,
            w.len()
        ))
    }
}
