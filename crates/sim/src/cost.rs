//! What a scenario would cost to run, estimated before running it from its shape alone
//! (nodes, duration, the protocol's heartbeat interval, the clients' rate, the nemesis),
//! so that the page can ask before starting a run that would take minutes. Coarse by
//! design (the tests hold it within a factor of six of the events the presets really
//! handle: 0.2 to 4 times them); the CLI does not ask.

use crate::scenario::Scenario;

/// Events per second of wall time the page's engine handles, counted low (the browser
/// tests measure 200-400 thousand on one thread): the estimate errs towards asking.
pub const PAGE_EVENTS_PER_S: f64 = 150_000.0;

/// A run estimated longer than this (seconds of wall time in the page) asks first.
pub const ASK_ABOVE_S: f64 = 60.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cost {
    /// Simulated events (node events: messages, timers, client requests).
    pub events: f64,
    /// Seconds of wall time in the page at [`PAGE_EVENTS_PER_S`].
    pub seconds: f64,
}

/// The heartbeat (or ping) interval in milliseconds, from the scenario's parameters or
/// the protocol's defaults; 50 when the protocol has none.
fn interval_ms(s: &Scenario) -> f64 {
    const KEYS: [&str; 3] = ["heartbeat_interval_ms", "interval_ms", "ping_interval_ms"];
    let defaults = crate::registry::entry(&s.protocol.name).map(|e| e.default_params());
    let find = |v: Option<&serde_json::Value>| {
        let v = v?;
        KEYS.iter().find_map(|k| v.get(k)?.as_f64())
    };
    find(Some(&s.protocol.params))
        .or_else(|| find(defaults.as_ref()))
        .unwrap_or(50.0)
        .max(1.0)
}

/// The estimate: per simulated second, every node hearing from every other once per
/// heartbeat interval, twenty timer events per node, and for every client operation a
/// request, a reply and a round to the other nodes (each client's `rate`); a nemesis adds half (elections,
/// retries, catch-up).
pub fn estimate(s: &Scenario) -> Cost {
    let n = s.n() as f64;
    let chatter = n * (n - 1.0) * 1000.0 / interval_ms(s) + 20.0 * n;
    let ops = s
        .workload
        .as_ref()
        .map_or(0.0, |w| w.clients as f64 * w.rate * (1.0 + n));
    let nemesis = if s.nemesis.is_some() { 1.5 } else { 1.0 };
    let events = (chatter + ops) * nemesis * s.duration_ms as f64 / 1000.0;
    Cost {
        events,
        seconds: events / PAGE_EVENTS_PER_S,
    }
}

/// The question the page asks before running `s`, if it would take minutes.
pub fn question(s: &Scenario) -> Option<String> {
    let c = estimate(s);
    (c.seconds > ASK_ABOVE_S).then(|| {
        format!(
            "This scenario ({} nodes, {} s simulated{}) would take about {} minutes to run here (about {} million events). Run it?",
            s.n(),
            s.duration_ms / 1000,
            if s.nemesis.is_some() { ", nemesis" } else { "" },
            (c.seconds / 60.0).ceil(),
            (c.events / 1e6).round()
        )
    })
}
