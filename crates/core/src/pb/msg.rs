//! Primary-backup's view, log entries, messages and durable writes.

use crate::raft::{Kv, RaftDisk, RaftMsg, RaftWrite};
use crate::{ClientRequest, Message, NodeId, Time};
use serde::{Deserialize, Serialize};

/// A configuration decided by the view service: who is primary (the head, in a chain)
/// and which backups follow it, in chain order (the last is the tail).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct View {
    pub epoch: u64,
    pub primary: Option<NodeId>,
    pub backups: Vec<NodeId>,
}

impl View {
    /// The primary then the backups (the chain, head first).
    pub fn members(&self) -> Vec<NodeId> {
        self.primary
            .into_iter()
            .chain(self.backups.iter().copied())
            .collect()
    }
    pub fn contains(&self, n: NodeId) -> bool {
        self.primary == Some(n) || self.backups.contains(&n)
    }
    /// The last node of the chain.
    pub fn tail(&self) -> Option<NodeId> {
        self.backups.last().copied().or(self.primary)
    }
    /// The node before `n` in the chain.
    pub fn predecessor(&self, n: NodeId) -> Option<NodeId> {
        let m = self.members();
        let k = m.iter().position(|x| *x == n)?;
        k.checked_sub(1).map(|j| m[j])
    }
    /// The node after `n` in the chain.
    pub fn successor(&self, n: NodeId) -> Option<NodeId> {
        let m = self.members();
        let k = m.iter().position(|x| *x == n)?;
        m.get(k + 1).copied()
    }
}

/// One client write (or cas) in a replica's log. `hash` is the digest of the whole log
/// up to and including it, so two logs agree up to an index iff their hashes there do.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    pub index: u64,
    /// The epoch of the primary that appended it.
    pub epoch: u64,
    pub hash: u64,
    pub req: ClientRequest,
}

/// The store after applying every entry up to `index`, and the log hash there.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Snapshot {
    pub index: u64,
    pub hash: u64,
    pub state: Kv,
    /// Where each epoch's entries began, `(epoch, first index)`, up to `index`.
    pub epochs: Vec<(u64, u64)>,
}

/// What primary-backup nodes say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PbMsg {
    /// Replica -> view service, every ping interval: what it knows and holds.
    /// `sent`: its clock when sent (echoed, for the lease). `lagging`: from a primary,
    /// backups that stopped answering.
    Ping {
        epoch: u64,
        synced: u64,
        last: u64,
        sent: Time,
        lagging: Vec<NodeId>,
    },
    /// View service -> replica: the current view.
    View { view: View, sent: Time },
    /// Upstream -> downstream at the start of an epoch (or for a lagging replica): the
    /// whole state; the downstream replaces its own with it (state transfer).
    Snapshot { view: View, snapshot: Box<Snapshot> },
    /// Upstream -> downstream: entries after `prev`.
    Append {
        epoch: u64,
        prev: u64,
        entries: Vec<Entry>,
    },
    /// Downstream -> upstream: "I hold everything up to `last`"; `synced`: it installed
    /// this epoch's state transfer (else it needs a snapshot).
    Ack { epoch: u64, last: u64, synced: bool },
    /// With fencing: "your epoch is old, mine is `epoch`".
    Stale { epoch: u64 },
    /// A request passed along the chain: writes to the head, reads to the tail.
    Forward { req: ClientRequest },
    /// Between the view nodes of a Raft view store: their Raft group's messages. (A
    /// struct variant: its field reads and writes through the very code Raft's own
    /// messages do in a job, one copy in the bundles.)
    Raft { msg: RaftMsg },
}

impl Message for PbMsg {
    fn kind(&self) -> &'static str {
        match self {
            PbMsg::Ping { .. } => "ping",
            PbMsg::View { .. } => "view",
            PbMsg::Snapshot { .. } => "snapshot",
            PbMsg::Append { .. } => "append",
            PbMsg::Ack { .. } => "ack",
            PbMsg::Stale { .. } => "stale-epoch",
            PbMsg::Forward { .. } => "forward",
            PbMsg::Raft { .. } => "view-raft",
        }
    }

    fn describe(&self) -> String {
        let (template, n) = match self {
            PbMsg::Append { epoch, .. }
            | PbMsg::Ack { epoch, .. }
            | PbMsg::Ping { epoch, .. }
            | PbMsg::Stale { epoch } => ("{k} e{}", *epoch),
            PbMsg::View { view, .. } | PbMsg::Snapshot { view, .. } => ("{k} e{}", view.epoch),
            PbMsg::Forward { req } => ("{k} #{}", req.seq),
            // The view group's own Raft traffic: Raft's label.
            PbMsg::Raft { msg } => return crate::Message::describe(msg),
        };
        crate::label(template, self.kind(), &[n as i64])
    }
}

/// What survives a crash. Replicas: the snapshot and the entries after it. The view
/// service: the view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbDisk {
    pub snapshot: Snapshot,
    /// Sorted by index, all above `snapshot.index`.
    pub entries: Vec<Entry>,
    pub view: View,
    /// A view node of a Raft view store: its Raft member's disk.
    #[serde(default)]
    pub raft: RaftDisk,
}

/// One durable write, folded into a [`PbDisk`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PbWrite {
    /// An entry appended (entries at or after its index are replaced).
    Append(Entry),
    /// The state up to an index: replaces the snapshot and every entry.
    Snapshot(Box<Snapshot>),
    /// The view service's view.
    View(View),
    /// A view node's Raft member's write.
    Raft(RaftWrite),
}

impl PbDisk {
    pub fn apply(&mut self, w: PbWrite) {
        match w {
            PbWrite::Append(e) => {
                if e.index <= self.snapshot.index {
                    return;
                }
                let keep = self.entries.partition_point(|x| x.index < e.index);
                self.entries.truncate(keep);
                self.entries.push(e);
            }
            PbWrite::Snapshot(s) => {
                self.entries.clear();
                self.snapshot = *s;
            }
            PbWrite::View(v) => self.view = v,
            PbWrite::Raft(w) => self.raft.apply(w),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Op;

    fn entry(index: u64, epoch: u64) -> Entry {
        Entry {
            index,
            epoch,
            hash: index * 10 + epoch,
            req: ClientRequest {
                client: 1,
                seq: index,
                op: Op::Write {
                    key: "x".into(),
                    value: index as i64,
                },
            },
        }
    }

    #[test]
    fn disk_folds_writes_and_a_chain_has_neighbours() {
        let mut d = PbDisk::default();
        for i in 1..=3 {
            d.apply(PbWrite::Append(entry(i, 1)));
        }
        d.apply(PbWrite::Append(entry(2, 2)));
        let idx: Vec<(u64, u64)> = d.entries.iter().map(|e| (e.index, e.epoch)).collect();
        assert_eq!(
            idx,
            vec![(1, 1), (2, 2)],
            "a rewritten index replaces the rest"
        );
        d.apply(PbWrite::Snapshot(Box::new(Snapshot {
            index: 5,
            ..Default::default()
        })));
        assert!(d.entries.is_empty());
        d.apply(PbWrite::Append(entry(4, 2)));
        assert!(d.entries.is_empty(), "below the snapshot: ignored");
        let v = View {
            epoch: 3,
            primary: Some(1),
            backups: vec![2, 3],
        };
        assert_eq!(v.tail(), Some(3));
        assert_eq!(v.successor(1), Some(2));
        assert_eq!(v.predecessor(2), Some(1));
        assert_eq!(v.predecessor(1), None);
        assert_eq!(v.successor(3), None);
    }
}
