//! Raft's user-visible knobs.

use crate::ParamSpec;
use serde::{Deserialize, Serialize};

/// How a leader serves reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadMode {
    /// ReadIndex: the leader notes its commit index, confirms it still leads with a
    /// heartbeat round acknowledged by a majority, then answers once it has applied up
    /// to that index. Linearizable without touching the log.
    #[default]
    ReadIndex,
    /// Lease: the leader answers locally while its lease (counted on its own clock from
    /// the send time of the last heartbeat round a majority acknowledged) is valid.
    /// Linearizable only while clocks run at the same rate and `check_quorum` is on:
    /// clock skew or drift breaks it, which is the lesson.
    Lease,
    /// Reads are appended to the log and answered when applied, like writes.
    Log,
}

/// Raft parameters. Durations are in milliseconds of the node's local clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RaftParams {
    /// Shortest election timeout: a follower that hears nothing from a leader for a
    /// random time in `[election_timeout_min_ms, election_timeout_max_ms]` starts an
    /// election. Also the period of the leader's check-quorum and the time a follower
    /// keeps trusting its leader (it refuses pre-votes, and votes under check-quorum,
    /// for this long after the last message from it).
    pub election_timeout_min_ms: u64,
    /// Longest election timeout (see `election_timeout_min_ms`).
    pub election_timeout_max_ms: u64,
    /// How often a leader sends heartbeats (empty appends) to every follower.
    pub heartbeat_interval_ms: u64,
    /// Run a pre-vote round (without raising the term) before a real election, so that a
    /// node that cannot win (partitioned, or with a stale log) does not disrupt the
    /// cluster by raising everyone's term.
    pub pre_vote: bool,
    /// A leader steps down if it has not heard from a majority within an election
    /// timeout; followers ignore vote requests while they still hear from their leader.
    pub check_quorum: bool,
    /// Take a snapshot (and compact the log) once this many applied entries have
    /// accumulated since the last one. 0 means never.
    pub snapshot_threshold: u64,
    /// Most entries sent in one append message (at least 1). While probing a follower
    /// whose log position is unknown, a leader sends at most one entry.
    pub max_entries_per_append: u64,
    /// How reads are served: `read_index`, `lease` or `log`.
    pub read_mode: ReadMode,
    /// Length of the leader lease for `lease` reads. Should be below
    /// `election_timeout_min_ms` (it is only safe if the clocks drift by less than the
    /// difference).
    pub lease_ms: u64,
    /// SEEDED BUG (figure 8 of the Raft paper): the leader advances its commit index to
    /// any index stored on a majority, even when that entry is from an earlier term.
    /// Such an entry can later be overwritten by another leader.
    pub unsafe_commit_old_terms: bool,
    /// SEEDED BUG: (pre-)votes are granted without checking that the candidate's log is
    /// at least as up to date, so a leader can be elected that lacks committed entries.
    pub unsafe_skip_up_to_date_check: bool,
    /// SEEDED BUG: the vote is not persisted (only the term is), so a node that crashes
    /// and restarts can vote twice in the same term, electing two leaders.
    pub unsafe_forget_vote: bool,
}

impl Default for RaftParams {
    fn default() -> Self {
        RaftParams {
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            heartbeat_interval_ms: 50,
            pre_vote: true,
            check_quorum: true,
            snapshot_threshold: 64,
            max_entries_per_append: 64,
            read_mode: ReadMode::ReadIndex,
            lease_ms: 120,
            unsafe_commit_old_terms: false,
            unsafe_skip_up_to_date_check: false,
            unsafe_forget_vote: false,
        }
    }
}

/// Raft's parameters, described for the schema, the CLI and the page.
pub const RAFT_PARAMS: &[ParamSpec] = &[
    ParamSpec::ms("election_timeout_min_ms", 1, "Shortest election timeout, in milliseconds of the node's clock. A follower that hears nothing from a leader for a random time between the min and max starts an election. Also the check-quorum period."),
    ParamSpec::ms("election_timeout_max_ms", 0, "Longest election timeout, in milliseconds of the node's clock."),
    ParamSpec::ms("heartbeat_interval_ms", 1, "How often a leader sends heartbeats, in milliseconds of its clock."),
    ParamSpec::flag("pre_vote", "Hold a pre-vote round before a real election, so that a node that cannot win does not raise everyone's term."),
    ParamSpec::flag("check_quorum", "A leader steps down when it has not heard from a majority for an election timeout; followers ignore vote requests while they still hear from a leader."),
    ParamSpec::count("snapshot_threshold", 0, "entries", "Take a snapshot and compact the log after this many applied entries. 0: never."),
    ParamSpec::count("max_entries_per_append", 1, "entries", "Most log entries in one append message (0 counts as 1)."),
    ParamSpec::choice("read_mode", &["read_index", "lease", "log"], "How the leader serves reads: `read_index` (confirm leadership with a heartbeat round), `lease` (answer locally while its lease lasts; unsafe when clocks drift), `log` (put reads in the log)."),
    ParamSpec::ms("lease_ms", 1, "Length of the leader lease for `lease` reads, in milliseconds of the leader's clock. Keep it below election_timeout_min_ms."),
    ParamSpec::flag("unsafe_commit_old_terms", "SEEDED BUG (Raft paper, figure 8): commit entries of earlier terms by counting replicas."),
    ParamSpec::flag("unsafe_skip_up_to_date_check", "SEEDED BUG: grant votes without checking that the candidate's log is up to date."),
    ParamSpec::flag("unsafe_forget_vote", "SEEDED BUG: do not persist the vote, so a restarted node can vote twice in one term."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_strict_parsing() {
        let p: RaftParams =
            serde_json::from_str(r#"{"read_mode":"lease","pre_vote":false}"#).unwrap();
        assert_eq!(p.read_mode, ReadMode::Lease);
        assert!(!p.pre_vote);
        assert_eq!(p.election_timeout_min_ms, 150);
        assert!(serde_json::from_str::<RaftParams>(r#"{"prevote":false}"#).is_err());
        let back: RaftParams =
            serde_json::from_str(&serde_json::to_string(&RaftParams::default()).unwrap()).unwrap();
        assert_eq!(back, RaftParams::default());
    }
}
