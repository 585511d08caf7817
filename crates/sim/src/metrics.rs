//! Metrics per window of simulated time: availability, latency percentiles, messages.

use crate::history::EventType;
use quorumlab_core::Time;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default)]
struct Window {
    events: u64,
    messages: u64,
    /// Messages sent by kind (a handful of kinds per protocol: a list beats a map).
    kinds: Vec<(&'static str, u64)>,
    dropped: u64,
    invoked: u64,
    ok: u64,
    fail: u64,
    info: u64,
    /// Completions that got an answer from the cluster (ok, or a definite fail).
    answered: u64,
    /// Latencies of operations that got an answer, in microseconds.
    latencies: Vec<u32>,
    /// Reads answered from a client's cache (`workload.client.degrade`).
    degraded: u64,
    /// Attempts a node's rate limiter turned away.
    rejected: u64,
    /// Client attempts sent (first tries and retries).
    attempts: u64,
    /// Client attempts that timed out.
    timeouts: u64,
    /// Client requests the nodes' capacity served (`workload.capacity`).
    served: u64,
    /// Of those, requests whose client no longer waited for them, and the node time
    /// they took (microseconds).
    wasted: u64,
    wasted_us: u64,
    /// The longest queue of client requests at a node.
    queue_peak: u64,
}

#[derive(Clone, Debug)]
pub struct Metrics {
    width: Time,
    windows: Vec<Window>,
}

/// One window's figures, as reported.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowReport {
    pub start_ms: u64,
    pub events: u64,
    pub messages: u64,
    /// Messages sent, by kind (`vote`, `append`, `prepare`, ...).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub by_kind: std::collections::BTreeMap<String, u64>,
    pub dropped: u64,
    pub invoked: u64,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
    /// Answered over completed (1 when nothing completed).
    pub availability: f64,
    /// Reads answered from a client's cache (counted in `fail`: not done).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub degraded: u64,
    /// Client attempts a node's rate limiter turned away.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rejected: u64,
    /// Client attempts sent: first tries and retries (a retry storm shows here).
    #[serde(default)]
    pub attempts: u64,
    /// Client attempts that timed out.
    #[serde(default)]
    pub timeouts: u64,
    /// With a capacity (`workload.capacity`): client requests the nodes served.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub served: u64,
    /// Of those, requests whose client no longer waited for them (it had given up on
    /// the operation, or another attempt was answered): work a retry storm wastes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub wasted: u64,
    /// The node time those wasted requests took, in milliseconds.
    #[serde(default, skip_serializing_if = "is_zero_f")]
    pub wasted_ms: f64,
    /// The longest queue of client requests at any node (waiting or being served).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub queue_peak: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl Metrics {
    pub fn new(width: Time) -> Metrics {
        Metrics {
            width: width.max(1),
            windows: Vec::new(),
        }
    }

    fn at(&mut self, t: Time) -> &mut Window {
        let i = (t / self.width) as usize;
        if self.windows.len() <= i {
            self.windows.resize_with(i + 1, Window::default);
        }
        &mut self.windows[i]
    }

    #[inline]
    pub fn event(&mut self, t: Time) {
        self.at(t).events += 1;
    }
    #[inline]
    pub fn message(&mut self, t: Time, kind: &'static str) {
        let w = self.at(t);
        w.messages += 1;
        match w
            .kinds
            .iter_mut()
            .find(|k| std::ptr::eq(k.0, kind) || k.0 == kind)
        {
            Some(k) => k.1 += 1,
            None => w.kinds.push((kind, 1)),
        }
    }
    pub fn dropped(&mut self, t: Time) {
        self.at(t).dropped += 1;
    }
    pub fn degraded(&mut self, t: Time) {
        self.at(t).degraded += 1;
    }
    pub fn rejected(&mut self, t: Time) {
        self.at(t).rejected += 1;
    }
    pub fn attempt(&mut self, t: Time) {
        self.at(t).attempts += 1;
    }
    pub fn timeout(&mut self, t: Time) {
        self.at(t).timeouts += 1;
    }
    /// A node's capacity served a client request.
    pub fn served(&mut self, t: Time) {
        self.at(t).served += 1;
    }
    /// A request its client no longer waited for took `took` of a node's time.
    pub fn wasted(&mut self, t: Time, took: Time) {
        let w = self.at(t);
        w.wasted += 1;
        w.wasted_us += took;
    }
    /// A node holds `len` client requests.
    pub fn queue(&mut self, t: Time, len: u64) {
        let w = self.at(t);
        w.queue_peak = w.queue_peak.max(len);
    }
    pub fn invoke(&mut self, t: Time) {
        self.at(t).invoked += 1;
    }
    pub fn complete(&mut self, t: Time, latency: Time, answered: bool, kind: EventType) {
        let w = self.at(t);
        match kind {
            EventType::Ok => w.ok += 1,
            EventType::Fail => w.fail += 1,
            _ => w.info += 1,
        }
        if answered {
            w.answered += 1;
            w.latencies.push(latency.min(u32::MAX as u64) as u32);
        }
    }

    fn report(start_ms: u64, ws: &[&Window]) -> WindowReport {
        let mut r = WindowReport {
            start_ms,
            ..Default::default()
        };
        let mut lat: Vec<u32> = Vec::new();
        let mut answered = 0;
        let mut wasted_us = 0;
        for w in ws {
            r.events += w.events;
            r.messages += w.messages;
            for (k, n) in &w.kinds {
                *r.by_kind.entry((*k).to_string()).or_default() += n;
            }
            r.dropped += w.dropped;
            r.degraded += w.degraded;
            r.rejected += w.rejected;
            r.attempts += w.attempts;
            r.timeouts += w.timeouts;
            r.served += w.served;
            r.wasted += w.wasted;
            wasted_us += w.wasted_us;
            r.queue_peak = r.queue_peak.max(w.queue_peak);
            r.invoked += w.invoked;
            r.ok += w.ok;
            r.fail += w.fail;
            r.info += w.info;
            answered += w.answered;
            lat.extend_from_slice(&w.latencies);
        }
        r.wasted_ms = wasted_us as f64 / 1000.0;
        let done = r.ok + r.fail + r.info;
        r.availability = if done == 0 {
            1.0
        } else {
            answered as f64 / done as f64
        };
        lat.sort_unstable();
        let pct = |p: f64| -> Option<f64> {
            if lat.is_empty() {
                None
            } else {
                let i = ((lat.len() as f64 - 1.0) * p).round() as usize;
                Some(lat[i] as f64 / 1000.0)
            }
        };
        r.p50_ms = pct(0.5);
        r.p99_ms = pct(0.99);
        r.max_ms = lat.last().map(|x| *x as f64 / 1000.0);
        r
    }

    /// Every window, in order.
    pub fn windows(&self) -> Vec<WindowReport> {
        self.windows
            .iter()
            .enumerate()
            .map(|(i, w)| Self::report(i as u64 * self.width / 1000, &[w]))
            .collect()
    }

    /// The whole run as one window.
    pub fn total(&self) -> WindowReport {
        Self::report(0, &self.windows.iter().collect::<Vec<_>>())
    }
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

fn is_zero_f(x: &f64) -> bool {
    *x == 0.0
}
