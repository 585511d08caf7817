//! What quorum-store nodes say to each other, and what they keep on disk.

use crate::{label, Message, NodeId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One version of a key's value: stamped by its coordinator's clock, ties broken by
/// the coordinator's id and the value (so every node orders versions alike), and, with
/// `conflicts = "vector"`, its version vector (empty with last-writer-wins).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ver {
    /// The coordinator's local clock (microseconds) when it took the write.
    pub ts: u64,
    pub node: NodeId,
    pub value: i64,
    /// (node, counter) pairs sorted by node: the writes this version has seen.
    pub vv: Vec<(NodeId, u64)>,
}

impl Ver {
    /// Whether this version has seen `other` (its vector is at least `other`'s
    /// everywhere).
    pub fn descends(&self, other: &Ver) -> bool {
        other.vv.iter().all(|(n, c)| {
            self.vv
                .iter()
                .find(|(m, _)| m == n)
                .is_some_and(|(_, d)| d >= c)
        })
    }
}

/// Whether `list` (a key's siblings) holds `ver` or something that supersedes it.
pub fn covers(list: &[Ver], ver: &Ver, vector: bool) -> bool {
    if vector {
        list.iter().any(|x| x.descends(ver))
    } else {
        list.iter().any(|x| x >= ver)
    }
}

/// Add `ver` to a key's siblings; whether anything changed. Last-writer-wins keeps
/// the one newest version; version vectors keep every version no other has seen
/// (concurrent writes become siblings), dropping those `ver` supersedes.
pub fn merge(list: &mut Vec<Ver>, ver: Ver, vector: bool) -> bool {
    if covers(list, &ver, vector) {
        return false;
    }
    if vector {
        list.retain(|x| !ver.descends(x));
        list.push(ver);
        list.sort_unstable();
    } else {
        *list = vec![ver];
    }
    true
}

/// The version vector of a new write coordinated by `node` at local time `now`, having
/// seen `seen`: their pointwise maximum, with `node`'s own entry moved past both what
/// it saw and its clock.
pub fn next_vv(seen: &[Ver], node: NodeId, now: u64) -> Vec<(NodeId, u64)> {
    let mut vv: Vec<(NodeId, u64)> = Vec::new();
    for (n, c) in seen.iter().flat_map(|v| v.vv.iter()) {
        match vv.iter_mut().find(|(m, _)| m == n) {
            Some(e) => e.1 = e.1.max(*c),
            None => vv.push((*n, *c)),
        }
    }
    match vv.iter_mut().find(|(m, _)| *m == node) {
        Some(e) => e.1 = (e.1 + 1).max(now),
        None => vv.push((node, now.max(1))),
    }
    vv.sort_unstable();
    vv
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
    /// The replica's siblings of the key (none: never written).
    GetReply {
        id: u64,
        vers: Vec<Ver>,
    },
    /// Read repair: the versions this replica lacked.
    Repair {
        key: String,
        vers: Vec<Ver>,
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
        // `#n`: the coordinator's request counter (the low half of the id).
        let n = |id: &u64| (id & 0xFFFF_FFFF) as i64;
        match self {
            QMsg::Put { id, key, ver, hint } => match hint {
                Some(h) => label(
                    "put {k}={} #{} hint {}",
                    key,
                    &[ver.value, n(id), *h as i64],
                ),
                None => label("put {k}={} #{}", key, &[ver.value, n(id)]),
            },
            QMsg::PutAck { id } => label("put-ack #{}", "", &[n(id)]),
            QMsg::Get { id, key } => label("get {k} #{}", key, &[n(id)]),
            QMsg::GetReply { id, vers } => match vers.iter().max() {
                Some(v) if vers.len() > 1 => label(
                    "get-reply {} (+{} siblings) #{}",
                    "",
                    &[v.value, vers.len() as i64 - 1, n(id)],
                ),
                Some(v) => label("get-reply {} #{}", "", &[v.value, n(id)]),
                None => label("get-reply nil #{}", "", &[n(id)]),
            },
            QMsg::Repair { key, vers } => label(
                "repair {k}={}",
                key,
                &[vers.iter().max().map_or(0, |v| v.value)],
            ),
            QMsg::Handoff { key, ver } => label("handoff {k}={}", key, &[ver.value]),
            QMsg::HandoffAck { key, ver } => label("handoff-ack {k}={}", key, &[ver.value]),
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
        }
    }
}

/// One durable write: a key's siblings as they now are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QWrite {
    /// The versions stored as a replica.
    Put { key: String, vers: Vec<Ver> },
    /// The versions kept as a hint for `owner` (none: its hint is gone).
    Hint {
        owner: NodeId,
        key: String,
        vers: Vec<Ver>,
    },
    /// The members as of membership epoch `epoch`.
    Members { epoch: u64, members: Vec<NodeId> },
}

/// A node's disk: its replica store and the hints it keeps for others.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QDisk {
    pub store: BTreeMap<String, Vec<Ver>>,
    pub hints: BTreeMap<(NodeId, String), Vec<Ver>>,
    /// The newest membership this node adopted (`None`: the initial members).
    pub members: Option<(u64, Vec<NodeId>)>,
}

impl QDisk {
    pub fn apply(&mut self, w: QWrite) {
        match w {
            QWrite::Put { key, vers } => {
                self.store.insert(key, vers);
            }
            QWrite::Hint { owner, key, vers } if vers.is_empty() => {
                self.hints.remove(&(owner, key));
            }
            QWrite::Hint { owner, key, vers } => {
                self.hints.insert((owner, key), vers);
            }
            QWrite::Members { epoch, members } => self.members = Some((epoch, members)),
        }
    }
}
