//! What the sharded store's nodes say to each other.

use crate::raft::{RaftMsg, Session};
use crate::{ClientId, ClientReply, ClientRequest, Message, NodeId, Val};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ShardMsg {
    /// A group's own Raft traffic.
    Raft { msg: RaftMsg },
    /// A gateway (the node a client asked) passes the request to a member of the group
    /// that serves its shard; `hops` counts the passes, to stop a request circling.
    Forward { req: ClientRequest, hops: u8 },
    /// The serving group's answer, back to the gateway.
    Answer { reply: ClientReply },
    /// Not its group's leader; `hint` is the leader it knows of. The request comes back
    /// so that the gateway keeps nothing per request.
    NotLeader {
        req: ClientRequest,
        hint: Option<NodeId>,
        hops: u8,
    },
    /// Its group does not serve the request's shard (any more); `known` is every
    /// configuration the sender knows of, so the gateway routes by the newest.
    Moved {
        req: ClientRequest,
        hops: u8,
        known: Vec<u64>,
    },
    /// A group's leader asks group 0 for configurations after the first `have`.
    Poll { have: u64 },
    /// Every configuration group 0 decided, oldest first (`known[e-1]`: the groups of
    /// configuration `e`).
    Configs { known: Vec<u64> },
    /// A shard's data and the sessions of its old group, for the group that takes it in
    /// configuration `epoch`.
    Handoff {
        shard: u64,
        epoch: u64,
        kv: Vec<(String, Val)>,
        sessions: Vec<(ClientId, Session)>,
    },
    /// The new group has the shard: its old group may stop sending it.
    HandoffAck { shard: u64, epoch: u64 },
}

impl Message for ShardMsg {
    fn kind(&self) -> &'static str {
        match self {
            ShardMsg::Raft { msg } => msg.kind(),
            ShardMsg::Forward { .. } => "forward",
            ShardMsg::Answer { .. } => "answer",
            ShardMsg::NotLeader { .. } => "not-leader",
            ShardMsg::Moved { .. } => "moved",
            ShardMsg::Poll { .. } => "poll",
            ShardMsg::Configs { .. } => "configs",
            ShardMsg::Handoff { .. } => "handoff",
            ShardMsg::HandoffAck { .. } => "handoff-ack",
        }
    }

    fn describe(&self) -> String {
        let (template, nums): (&str, Vec<i64>) = match self {
            ShardMsg::Raft { msg } => return msg.describe(),
            ShardMsg::Forward { req, .. } | ShardMsg::NotLeader { req, .. } => {
                ("{k} #{}", vec![req.seq as i64])
            }
            ShardMsg::Moved { known, .. } | ShardMsg::Configs { known } => {
                ("{k} c{}", vec![known.len() as i64])
            }
            ShardMsg::Answer { reply } => ("{k} #{}", vec![reply.seq as i64]),
            ShardMsg::Poll { have } => ("{k} >c{}", vec![*have as i64]),
            ShardMsg::Handoff {
                shard, epoch, kv, ..
            } => (
                "{k} s{} c{} ({} keys)",
                vec![*shard as i64, *epoch as i64, kv.len() as i64],
            ),
            ShardMsg::HandoffAck { shard, epoch } => {
                ("{k} s{} c{}", vec![*shard as i64, *epoch as i64])
            }
        };
        crate::label(template, self.kind(), &nums)
    }
}
