//! Multi-Paxos's user-visible knobs.

use crate::ParamSpec;
use serde::{Deserialize, Serialize};

/// Multi-Paxos parameters. Durations are in milliseconds of the node's local clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MultiPaxosParams {
    /// Shortest election timeout: a node that hears nothing from a leader for a random
    /// time in `[election_timeout_min_ms, election_timeout_max_ms]` runs phase 1 with a
    /// higher ballot. The same random wait separates two attempts after a rejected
    /// ballot (the back-off that ends duels between proposers). Also the period of the
    /// leader's check-quorum.
    pub election_timeout_min_ms: u64,
    /// Longest election timeout (see `election_timeout_min_ms`).
    pub election_timeout_max_ms: u64,
    /// How often a leader sends heartbeats (with its commit index) and re-sends
    /// accepts that are still unanswered.
    pub heartbeat_interval_ms: u64,
    /// A leader steps down if it has not heard from a majority within an election
    /// timeout.
    pub check_quorum: bool,
    /// Truncate the log (keeping a snapshot of the key-value store) once this many
    /// chosen and applied slots have accumulated. 0 means never.
    pub snapshot_threshold: u64,
    /// Most chosen slots sent in one catch-up message to a lagging node (at least 1).
    pub catch_up_batch: u64,
    /// SEEDED BUG: a new leader ignores the values reported in promises and fills every
    /// open slot with a no-op, overwriting values that may already be chosen.
    pub unsafe_ignore_promised_values: bool,
    /// SEEDED BUG: an acceptor accepts any ballot, without checking its promise.
    pub unsafe_skip_promise_check: bool,
    /// SEEDED BUG: promises are not persisted (accepted values are), so an acceptor
    /// that restarts has forgotten the ballots it promised not to accept below.
    pub unsafe_forget_promise: bool,
}

impl Default for MultiPaxosParams {
    fn default() -> Self {
        MultiPaxosParams {
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            heartbeat_interval_ms: 50,
            check_quorum: true,
            snapshot_threshold: 64,
            catch_up_batch: 64,
            unsafe_ignore_promised_values: false,
            unsafe_skip_promise_check: false,
            unsafe_forget_promise: false,
        }
    }
}

impl MultiPaxosParams {
    /// Problems the types cannot express, as `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if self.election_timeout_min_ms == 0 {
            v.push(("election_timeout_min_ms", "must be at least 1".to_string()));
        }
        if self.election_timeout_max_ms < self.election_timeout_min_ms {
            v.push((
                "election_timeout_max_ms",
                format!(
                    "{} is below election_timeout_min_ms ({})",
                    self.election_timeout_max_ms, self.election_timeout_min_ms
                ),
            ));
        }
        if self.heartbeat_interval_ms == 0
            || self.heartbeat_interval_ms >= self.election_timeout_min_ms
        {
            v.push((
                "heartbeat_interval_ms",
                format!(
                    "{} must be at least 1 and below election_timeout_min_ms ({}), or nodes start elections against a live leader",
                    self.heartbeat_interval_ms, self.election_timeout_min_ms
                ),
            ));
        }
        if self.catch_up_batch == 0 {
            v.push(("catch_up_batch", "must be at least 1".to_string()));
        }
        v
    }
}

/// Multi-Paxos's parameters, described for the schema, the CLI and the page.
pub const MULTI_PAXOS_PARAMS: &[ParamSpec] = &[
    ParamSpec::ms("election_timeout_min_ms", 1, "Shortest election timeout, in milliseconds of the node's clock: a node that hears no leader for a random time between the min and max runs phase 1 with a higher ballot; the same random wait is the back-off after a rejected ballot. Also the check-quorum period."),
    ParamSpec::ms("election_timeout_max_ms", 0, "Longest election timeout, in milliseconds of the node's clock."),
    ParamSpec::ms("heartbeat_interval_ms", 1, "How often a leader sends heartbeats (with its commit index) and re-sends unanswered accepts, in milliseconds of its clock."),
    ParamSpec::flag("check_quorum", "A leader steps down when it has not heard from a majority for an election timeout."),
    ParamSpec::count("snapshot_threshold", 0, "slots", "Truncate the log (keeping a snapshot of the store) after this many chosen and applied slots. 0: never."),
    ParamSpec::count("catch_up_batch", 1, "slots", "Most chosen slots sent in one catch-up message to a lagging node."),
    ParamSpec::flag("unsafe_ignore_promised_values", "SEEDED BUG: a new leader ignores the values reported in promises and fills every open slot with a no-op."),
    ParamSpec::flag("unsafe_skip_promise_check", "SEEDED BUG: an acceptor accepts in any ballot, without checking its promise."),
    ParamSpec::flag("unsafe_forget_promise", "SEEDED BUG: promises are not persisted, so a restarted acceptor forgets them."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_strict_parsing() {
        let p: MultiPaxosParams =
            serde_json::from_str(r#"{"unsafe_forget_promise":true}"#).unwrap();
        assert!(p.unsafe_forget_promise);
        assert_eq!(p.heartbeat_interval_ms, 50);
        assert!(serde_json::from_str::<MultiPaxosParams>(r#"{"no_such":1}"#).is_err());
        assert!(MultiPaxosParams::default().problems().is_empty());
        let bad = MultiPaxosParams {
            heartbeat_interval_ms: 200,
            ..Default::default()
        };
        assert_eq!(bad.problems()[0].0, "heartbeat_interval_ms");
    }
}
