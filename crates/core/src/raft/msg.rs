//! Raft's messages and durable writes.

use super::log::Entry;
use super::sm::Kv;
use crate::{Message, NodeId};
use serde::{Deserialize, Serialize};

/// A state-machine snapshot: everything applied up to `index`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SnapshotData {
    /// Last log index it covers (0: no snapshot).
    pub index: u64,
    /// Term of that entry.
    pub term: u64,
    /// Key-value contents and client sessions.
    pub state: Kv,
    /// The configuration in effect at `index`.
    pub members: Vec<NodeId>,
    /// Ghost prefix hash of the log up to `index`, for the invariant checker only.
    pub hash: u64,
}

/// What Raft nodes say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaftMsg {
    /// "Would you vote for me in `term`?" Sent without raising the sender's own term.
    PreVote {
        term: u64,
        last_index: u64,
        last_term: u64,
    },
    /// `term`: the term asked about if granted, the responder's term if not.
    PreVoteReply {
        term: u64,
        granted: bool,
    },
    /// RequestVote. `force`: the leader asked for this election (timeout-now), so
    /// voters must not ignore it because they recently heard from that leader.
    Vote {
        term: u64,
        last_index: u64,
        last_term: u64,
        force: bool,
    },
    VoteReply {
        term: u64,
        granted: bool,
    },
    /// AppendEntries; a heartbeat when `entries` is empty. `round` numbers the leader's
    /// heartbeat rounds, echoed in the reply, to confirm leadership for reads.
    Append {
        term: u64,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<Entry>,
        commit: u64,
        round: u64,
    },
    /// On success `index` is the follower's last index known to match the leader's log.
    /// On failure `index` is the rejected `prev_index`, and the hint tells the leader
    /// where to retry: the follower's term at `prev_index` and the first index of that
    /// term in its log (`conflict_term` 0 when the follower's log is too short, and then
    /// `conflict_index` is its last index + 1).
    AppendReply {
        term: u64,
        success: bool,
        index: u64,
        conflict_term: u64,
        conflict_index: u64,
        round: u64,
    },
    /// InstallSnapshot, for a follower that needs entries the leader has compacted.
    Snapshot {
        term: u64,
        snapshot: Box<SnapshotData>,
        round: u64,
    },
    /// `index`: the follower's commit index after installing (or ignoring) it.
    SnapshotReply {
        term: u64,
        index: u64,
        round: u64,
    },
    /// From a leader that is leaving: "start an election now".
    TimeoutNow {
        term: u64,
    },
}

impl RaftMsg {
    pub fn term(&self) -> u64 {
        match self {
            RaftMsg::PreVote { term, .. }
            | RaftMsg::PreVoteReply { term, .. }
            | RaftMsg::Vote { term, .. }
            | RaftMsg::VoteReply { term, .. }
            | RaftMsg::Append { term, .. }
            | RaftMsg::AppendReply { term, .. }
            | RaftMsg::Snapshot { term, .. }
            | RaftMsg::SnapshotReply { term, .. }
            | RaftMsg::TimeoutNow { term } => *term,
        }
    }
}

impl Message for RaftMsg {
    fn kind(&self) -> &'static str {
        match self {
            RaftMsg::PreVote { .. } => "prevote",
            RaftMsg::PreVoteReply { .. } => "prevote-reply",
            RaftMsg::Vote { .. } => "vote",
            RaftMsg::VoteReply { .. } => "vote-reply",
            RaftMsg::Append { entries, .. } if entries.is_empty() => "heartbeat",
            RaftMsg::Append { .. } => "append",
            RaftMsg::AppendReply { .. } => "append-reply",
            RaftMsg::Snapshot { .. } => "snapshot",
            RaftMsg::SnapshotReply { .. } => "snapshot-reply",
            RaftMsg::TimeoutNow { .. } => "timeout-now",
        }
    }

    fn describe(&self) -> String {
        let t = self.term() as i64;
        match self {
            RaftMsg::Append {
                prev_index,
                entries,
                commit,
                ..
            } if !entries.is_empty() => {
                let (first, n) = (*prev_index as i64 + 1, entries.len() as i64);
                crate::label(
                    "append {}{-} t{} c{}",
                    "",
                    &[first, first + n - 1, t, *commit as i64],
                )
            }
            RaftMsg::PreVoteReply { granted: false, .. }
            | RaftMsg::VoteReply { granted: false, .. } => {
                crate::label("{k} no t{}", self.kind(), &[t])
            }
            _ => crate::label("{k} t{}", self.kind(), &[t]),
        }
    }
}

/// What survives a crash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftDisk {
    pub term: u64,
    pub vote: Option<NodeId>,
    /// The last snapshot (index 0: none yet).
    pub snapshot: SnapshotData,
    /// Entries after `snapshot.index`, in order.
    pub log: Vec<Entry>,
}

/// One durable write, applied with [`super::Raft`]'s `apply_write`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaftWrite {
    /// Current term and vote.
    HardState { term: u64, vote: Option<NodeId> },
    /// Put `entries` at `from_index` onward, first discarding any entries at
    /// `from_index` or later.
    Append {
        from_index: u64,
        entries: Vec<Entry>,
    },
    /// Replace the snapshot. Log entries it covers are discarded; if the log does not
    /// hold the snapshot's last entry (same index and term), the whole log is.
    Snapshot(Box<SnapshotData>),
}

impl RaftDisk {
    pub fn apply(&mut self, w: RaftWrite) {
        match w {
            RaftWrite::HardState { term, vote } => {
                self.term = term;
                self.vote = vote;
            }
            RaftWrite::Append {
                from_index,
                entries,
            } => {
                let base = self.snapshot.index;
                // Entries at or below the snapshot are already covered by it.
                let skip = (base + 1).saturating_sub(from_index) as usize;
                let from = from_index.max(base + 1);
                let keep = (from - base - 1) as usize;
                if keep <= self.log.len() {
                    self.log.truncate(keep);
                    self.log.extend(entries.into_iter().skip(skip));
                }
            }
            RaftWrite::Snapshot(s) => {
                let base = self.snapshot.index;
                let pos = s.index.checked_sub(base + 1).map(|p| p as usize);
                match pos {
                    Some(p) if p < self.log.len() && self.log[p].term == s.term => {
                        self.log.drain(..=p);
                    }
                    _ if s.index == base && s.term == self.snapshot.term => {}
                    _ => self.log.clear(),
                }
                self.snapshot = *s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::log::Cmd;
    use super::*;

    fn e(term: u64) -> Entry {
        Entry {
            term,
            cmd: Cmd::Noop,
        }
    }

    #[test]
    fn disk_folds_writes() {
        let mut d = RaftDisk::default();
        d.apply(RaftWrite::HardState {
            term: 2,
            vote: Some(1),
        });
        d.apply(RaftWrite::Append {
            from_index: 1,
            entries: vec![e(1), e(1), e(2)],
        });
        d.apply(RaftWrite::Append {
            from_index: 3,
            entries: vec![e(2), e(2)],
        });
        assert_eq!(
            d.log.iter().map(|e| e.term).collect::<Vec<_>>(),
            vec![1, 1, 2, 2]
        );
        d.apply(RaftWrite::Snapshot(Box::new(SnapshotData {
            index: 2,
            term: 1,
            ..Default::default()
        })));
        assert_eq!(d.log.len(), 2);
        d.apply(RaftWrite::Append {
            from_index: 4,
            entries: vec![e(3)],
        });
        assert_eq!(d.log.iter().map(|e| e.term).collect::<Vec<_>>(), vec![2, 3]);
        // A snapshot that does not match the log replaces it.
        d.apply(RaftWrite::Snapshot(Box::new(SnapshotData {
            index: 3,
            term: 9,
            ..Default::default()
        })));
        assert!(d.log.is_empty());
        // A gap (append past the end) is ignored rather than corrupting the log.
        d.apply(RaftWrite::Append {
            from_index: 9,
            entries: vec![e(9)],
        });
        assert!(d.log.is_empty());
        assert_eq!(d.term, 2);
    }
}
