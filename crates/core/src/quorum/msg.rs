//! What quorum-store nodes say to each other, and what they keep on disk.

use crate::{label, Message, NodeId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One version of a key's value: stamped by its coordinator's clock, ties broken by
/// the coordinator's id and the value (so every node orders versions alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ver {
    /// The coordinator's local clock (microseconds) when it took the write.
    pub ts: u64,
    pub node: NodeId,
    pub value: i64,
}

/// A message between nodes. `id` names a coordinator's request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QMsg {
    /// Store this version; `hint`: for that node, which did not answer (sloppy quorum).
    Put {
        id: u64,
        key: String,
        ver: Ver,
        hint: Option<NodeId>,
    },
    PutAck {
        id: u64,
    },
    Get {
        id: u64,
        key: String,
    },
    GetReply {
        id: u64,
        ver: Option<Ver>,
    },
    /// Read repair: a newer version than the one this replica answered with.
    Repair {
        key: String,
        ver: Ver,
    },
    /// A hint handed back to its owner.
    Handoff {
        key: String,
        ver: Ver,
    },
    HandoffAck {
        key: String,
        ver: Ver,
    },
    /// Anti-entropy: the hashes of the key ranges both nodes replicate; `root` covers
    /// them all (a two-level hash tree).
    Digest {
        root: u64,
        ranges: Vec<(u32, u64)>,
    },
    /// Anti-entropy: every version held in ranges whose hashes differed; `reply` asks
    /// the receiver to send its own versions of those ranges back.
    Versions {
        ranges: Vec<u32>,
        entries: Vec<(String, Ver)>,
        reply: bool,
    },
    /// The cluster's members as of membership epoch `epoch` (gossiped).
    Members {
        epoch: u64,
        members: Vec<NodeId>,
    },
    /// Versions of keys whose preference list gained the receiver in a membership
    /// change.
    Transfer {
        entries: Vec<(String, Ver)>,
    },
}

impl Message for QMsg {
    fn kind(&self) -> &'static str {
        match self {
            QMsg::Put { .. } => "put",
            QMsg::PutAck { .. } => "put-ack",
            QMsg::Get { .. } => "get",
            QMsg::GetReply { .. } => "get-reply",
            QMsg::Repair { .. } => "repair",
            QMsg::Handoff { .. } => "handoff",
            QMsg::HandoffAck { .. } => "handoff-ack",
            QMsg::Digest { .. } => "digest",
            QMsg::Versions { .. } => "versions",
            QMsg::Members { .. } => "members",
            QMsg::Transfer { .. } => "transfer",
        }
    }
    fn describe(&self) -> String {
        match self {
            QMsg::Put { key, ver, hint, .. } => match hint {
                Some(h) => label("put {k}={} hint {}", key, &[ver.value, *h as i64]),
                None => label("put {k}={}", key, &[ver.value]),
            },
            QMsg::Get { key, .. } => label("get {k}", key, &[]),
            QMsg::GetReply { ver, .. } => match ver {
                Some(v) => label("get-reply {}", "", &[v.value]),
                None => "get-reply nil".to_string(),
            },
            QMsg::Repair { key, ver } => label("repair {k}={}", key, &[ver.value]),
            QMsg::Handoff { key, ver } => label("handoff {k}={}", key, &[ver.value]),
            QMsg::Digest { ranges, .. } => label("digest {} ranges", "", &[ranges.len() as i64]),
            QMsg::Versions { entries, .. } => {
                label("versions {} keys", "", &[entries.len() as i64])
            }
            QMsg::Members { epoch, members } => label(
                "members e{} ({} nodes)",
                "",
                &[*epoch as i64, members.len() as i64],
            ),
            QMsg::Transfer { entries } => label("transfer {} keys", "", &[entries.len() as i64]),
            m => m.kind().to_string(),
        }
    }
}

/// One durable write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QWrite {
    /// A version stored as a replica (kept if newer than what the disk has).
    Put { key: String, ver: Ver },
    /// A hint kept for `owner`.
    Hint {
        owner: NodeId,
        key: String,
        ver: Ver,
    },
    /// A hint handed back (or dropped).
    HintDone { owner: NodeId, key: String },
    /// The members as of membership epoch `epoch`.
    Members { epoch: u64, members: Vec<NodeId> },
}

/// A node's disk: its replica store and the hints it keeps for others.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QDisk {
    pub store: BTreeMap<String, Ver>,
    pub hints: BTreeMap<(NodeId, String), Ver>,
    /// The newest membership this node adopted (`None`: the initial members).
    pub members: Option<(u64, Vec<NodeId>)>,
}

/// Keep `ver` under `key` in `map` if it is newer than what is there; whether it was.
pub fn merge<K: Ord>(map: &mut BTreeMap<K, Ver>, key: K, ver: Ver) -> bool {
    match map.get(&key) {
        Some(old) if *old >= ver => false,
        _ => {
            map.insert(key, ver);
            true
        }
    }
}

impl QDisk {
    pub fn apply(&mut self, w: QWrite) {
        match w {
            QWrite::Put { key, ver } => {
                merge(&mut self.store, key, ver);
            }
            QWrite::Hint { owner, key, ver } => {
                merge(&mut self.hints, (owner, key), ver);
            }
            QWrite::HintDone { owner, key } => {
                self.hints.remove(&(owner, key));
            }
            QWrite::Members { epoch, members } => self.members = Some((epoch, members)),
        }
    }
}
