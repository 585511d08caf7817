//! Basic Paxos's user-visible knobs.

use crate::ParamSpec;
use serde::{Deserialize, Serialize};

/// Basic Paxos parameters. Durations are in milliseconds of the node's local clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaxosParams {
    /// A round (prepare, then accept) that has not finished after this long is started
    /// again with a higher ballot (messages may be lost).
    pub round_timeout_ms: u64,
    /// After a rejection (another proposer's higher ballot), wait a random time in
    /// `[0, backoff_max_ms]` before the next round. Off: start the next round at once,
    /// and dueling proposers can pre-empt each other for ever (livelock).
    pub backoff: bool,
    /// Longest random back-off (see `backoff`).
    pub backoff_max_ms: u64,
    /// SEEDED BUG: a proposer ignores the values reported in promises and proposes its
    /// own, so a value already chosen can be chosen over.
    pub unsafe_ignore_promised_values: bool,
    /// SEEDED BUG: an acceptor accepts in any ballot, without checking its promise.
    pub unsafe_skip_promise_check: bool,
    /// SEEDED BUG: promises are not persisted (accepted values are), so an acceptor
    /// that restarts has forgotten what it promised.
    pub unsafe_forget_promise: bool,
}

impl Default for PaxosParams {
    fn default() -> Self {
        PaxosParams {
            round_timeout_ms: 100,
            backoff: true,
            backoff_max_ms: 60,
            unsafe_ignore_promised_values: false,
            unsafe_skip_promise_check: false,
            unsafe_forget_promise: false,
        }
    }
}

impl PaxosParams {
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if self.round_timeout_ms == 0 {
            v.push(("round_timeout_ms", "must be at least 1".to_string()));
        }
        if self.backoff && self.backoff_max_ms == 0 {
            v.push((
                "backoff_max_ms",
                "must be at least 1 when backoff is on".to_string(),
            ));
        }
        v
    }
}

/// Basic Paxos's parameters, described for the schema, the CLI and the page.
pub const PAXOS_PARAMS: &[ParamSpec] = &[
    ParamSpec::ms("round_timeout_ms", 1, "A round (phase 1 then phase 2) not finished after this long, in milliseconds of the node's clock, starts again with a higher ballot."),
    ParamSpec::flag("backoff", "After a rejection by a higher ballot, wait a random time up to backoff_max_ms before the next round. Off: retry at once, and dueling proposers can pre-empt each other for ever (livelock)."),
    ParamSpec::ms("backoff_max_ms", 0, "Longest random back-off, in milliseconds of the node's clock (at least 1 when backoff is on)."),
    ParamSpec::flag("unsafe_ignore_promised_values", "SEEDED BUG: a proposer ignores the values reported in promises and proposes its own."),
    ParamSpec::flag("unsafe_skip_promise_check", "SEEDED BUG: an acceptor accepts in any ballot, without checking its promise."),
    ParamSpec::flag("unsafe_forget_promise", "SEEDED BUG: promises are not persisted, so a restarted acceptor forgets them."),
];
