//! `view_store = "raft"`: the view kept in a Raft group instead of one view-service node.
//!
//! Nodes `0..RAFT_VIEW_NODES` each run an unmodified [`Raft`] node (composed, not
//! forked: its effects are wrapped into primary-backup's own messages, timers and disk
//! writes) and the view manager of [`super::vs`]. Every view node hears the replicas'
//! pings; only the Raft leader decides, and a decision is a *proposal*: the new view,
//! packed into one integer, written to the key `view` of Raft's key-value store with a
//! compare-and-set against the view it replaces. A view exists once Raft committed it,
//! and every view node learns it by applying the log. So one view node may crash (or be
//! cut off) and the other two still elect a leader and fail the primary over.
//!
//! Only a leader that has committed an entry of its own term (so it applied every view
//! any earlier leader committed) answers pings, and it changes nothing during its first
//! `election_timeout_max_ms` + `dead_timeout_ms`: by then an earlier leader cut off from
//! the group has stepped down (check-quorum) and the leases it handed out have expired,
//! as with the single view service's `dead_timeout_ms > lease_ms`.

use super::{PbMsg, PbTimer, PbWrite, PrimaryBackup, View};
use crate::raft::{Raft, RaftParams};
use crate::{ClientRequest, Ctx, Effect, NodeId, Op, Protocol, Time, Timer, TimerId, MS};

/// Nodes that run the Raft group holding the view.
pub const RAFT_VIEW_NODES: usize = 3;
/// The most members a view can have in a Raft store (it is packed into one integer).
pub const MAX_PACKED: usize = 7;
/// Raft's timers, shifted past primary-backup's own.
pub const RAFT_TIMER_BASE: TimerId = 16;
/// The key holding the packed view.
const KEY: &str = "view";
/// Client ids of the view nodes' proposals (far above any workload client).
const CLIENT_BASE: u32 = u32::MAX - 64;

const SLOT_BITS: u32 = 6;
const EPOCH_SHIFT: u32 = SLOT_BITS * MAX_PACKED as u32;
const EPOCH_BITS: u32 = 20;
const HAS_PRIMARY: i64 = 1 << (EPOCH_SHIFT + EPOCH_BITS);

/// The Raft settings of the view group: quicker than Raft's defaults, since failover
/// waits for it.
pub fn group_params() -> RaftParams {
    RaftParams {
        election_timeout_min_ms: 60,
        election_timeout_max_ms: 120,
        heartbeat_interval_ms: 15,
        snapshot_threshold: 32,
        ..RaftParams::default()
    }
}

/// A view as one integer: the epoch, whether it has a primary, and up to
/// [`MAX_PACKED`] members in chain order (node ids below 63). `None` if it does not fit.
pub fn pack(v: &View) -> Option<i64> {
    let m = v.members();
    if m.len() > MAX_PACKED || v.epoch >= 1 << EPOCH_BITS || m.iter().any(|n| *n >= 63) {
        return None;
    }
    let mut x = (v.epoch as i64) << EPOCH_SHIFT;
    if v.primary.is_some() {
        x |= HAS_PRIMARY;
    }
    for (k, n) in m.iter().enumerate() {
        x |= ((*n as i64) + 1) << (SLOT_BITS * k as u32);
    }
    Some(x)
}

/// The view packed by [`pack`].
pub fn unpack(x: i64) -> View {
    let epoch = ((x >> EPOCH_SHIFT) & ((1 << EPOCH_BITS) - 1)) as u64;
    let mut members: Vec<NodeId> = (0..MAX_PACKED as u32)
        .map(|k| ((x >> (SLOT_BITS * k)) & ((1 << SLOT_BITS) - 1)) as NodeId)
        .take_while(|s| *s > 0)
        .map(|s| s - 1)
        .collect();
    let primary = if x & HAS_PRIMARY != 0 && !members.is_empty() {
        Some(members.remove(0))
    } else {
        None
    };
    View {
        epoch,
        primary,
        backups: members,
    }
}

/// A view node's Raft member and what it proposed.
#[derive(Clone, Debug)]
pub struct Group {
    pub raft: Raft,
    /// The packed view proposed and when (local time), until applied or given up.
    pub pending: Option<(i64, Time)>,
    /// Since when (local time) this node has been a ready leader.
    pub ready_since: Option<Time>,
}

impl Group {
    pub fn boot(id: NodeId, disk: Option<&crate::raft::RaftDisk>) -> Self {
        let members: Vec<NodeId> = (0..RAFT_VIEW_NODES as NodeId).collect();
        Group {
            raft: Raft::boot(id, &members, &group_params(), disk),
            pending: None,
            ready_since: None,
        }
    }

    /// The committed view (applied here), if any was ever committed.
    pub fn committed(&self) -> Option<View> {
        crate::Val::as_int(self.raft.state().kv.get(KEY)).map(unpack)
    }

    /// This node leads the group, knows every committed view, and its predecessors'
    /// leases have run out: it may answer replicas and decide.
    pub fn serving(&self) -> bool {
        self.ready_since.is_some()
    }

    /// It may decide a view change now.
    pub fn may_decide(&self, now: Time, dead_timeout_ms: u64) -> bool {
        let wait = (group_params().election_timeout_max_ms + dead_timeout_ms) * MS;
        self.pending.is_none() && self.ready_since.is_some_and(|t| now >= t + wait)
    }
}

/// What a view node hands its Raft member.
pub(super) enum Input {
    Start,
    Msg(NodeId, crate::raft::RaftMsg),
    Timer(crate::raft::RaftTimer),
    Client(ClientRequest),
}

impl PrimaryBackup {
    /// Hand `input` to this view node's Raft member, turn its effects into ours, then
    /// learn what it committed. (One function, not one per handler: the page's bundle.)
    pub(super) fn drive(&mut self, cx: &mut Ctx<'_, Self>, input: Input) {
        let Some(g) = self.group.as_mut() else { return };
        let mut effects: Vec<Effect<Raft>> = Vec::new();
        {
            let (id, now) = (cx.id(), cx.now());
            let mut rcx = Ctx::new(id, now, cx.rng(), &mut effects);
            let r = &mut g.raft;
            match input {
                Input::Start => r.start(&mut rcx),
                Input::Msg(from, m) => r.on_message(&mut rcx, from, m),
                Input::Timer(t) => r.on_timer(&mut rcx, t),
                Input::Client(req) => r.on_client(&mut rcx, req),
            }
        }
        for e in effects {
            match e {
                Effect::Send { to, msg } => cx.send(to, PbMsg::Raft { msg }),
                Effect::SetTimer { timer, after } => {
                    if let Some(t) = <PbTimer as Timer>::from_id(RAFT_TIMER_BASE + timer) {
                        cx.set_timer(t, after);
                    }
                }
                Effect::CancelTimer { timer } => {
                    if let Some(t) = <PbTimer as Timer>::from_id(RAFT_TIMER_BASE + timer) {
                        cx.cancel_timer(t);
                    }
                }
                Effect::Persist(w) => cx.persist(PbWrite::Raft(w)),
                // Answers to our own proposals: what they did shows in the state.
                Effect::Reply(_) => {}
                Effect::Report(r) => cx.report(r),
            }
        }
        self.learn(cx.now());
    }

    /// Take the view Raft committed, and follow this node's leadership.
    fn learn(&mut self, now: Time) {
        let (Some(g), Some(vs)) = (self.group.as_mut(), self.vs.as_mut()) else {
            return;
        };
        if let Some(v) = g.committed() {
            if g.pending.is_some_and(|(x, _)| unpack(x) == v) {
                g.pending = None;
            }
            if v.epoch > vs.view.epoch {
                vs.view = v;
                vs.lagging.clear();
                vs.promote = None;
                vs.status = format!(
                    "epoch {} committed by the Raft group: {:?}",
                    vs.view.epoch,
                    vs.view.members()
                );
                self.last_change = vs.status.clone();
            }
        }
        let ready = g.raft.leader_ready();
        match (ready, g.ready_since) {
            (true, None) => {
                g.ready_since = Some(now);
                // Hear everyone afresh: nobody is declared dead on old news.
                for s in vs.seen.iter_mut() {
                    if s.heard > 0 {
                        s.heard = now.max(1);
                    }
                }
                for m in vs.view.members() {
                    if let Some(s) = vs.seen.get_mut(m as usize) {
                        s.heard = now.max(1);
                    }
                }
                self.last_change = format!(
                    "leads the view group (Raft term {}); decides views in {} ms",
                    g.raft.term(),
                    group_params().election_timeout_max_ms + self.p.dead_timeout_ms
                );
            }
            (false, Some(_)) => {
                g.ready_since = None;
                g.pending = None;
                vs.promote = None;
                self.last_change = format!(
                    "no longer leads the view group (Raft term {})",
                    g.raft.term()
                );
            }
            _ => {}
        }
        if g.pending
            .is_some_and(|(_, t)| now >= t + self.p.dead_timeout_ms * MS)
        {
            // Not committed in time (the group lost its quorum?): decide again.
            g.pending = None;
        }
    }

    /// Propose `view` (replacing the committed one) to the Raft group.
    pub(super) fn propose(&mut self, cx: &mut Ctx<'_, Self>, view: View, why: &str) {
        let now = cx.now();
        let Some(g) = self.group.as_mut() else { return };
        let Some(new) = pack(&view) else {
            if let Some(vs) = self.vs.as_mut() {
                vs.status = format!("epoch {} does not fit the Raft view store", view.epoch);
            }
            return;
        };
        let op = match crate::Val::as_int(g.raft.state().kv.get(KEY)) {
            Some(old) => Op::Cas {
                key: KEY.to_string(),
                expect: old,
                new,
            },
            None => Op::Write {
                key: KEY.to_string(),
                value: new,
            },
        };
        let req = ClientRequest {
            client: CLIENT_BASE + cx.id(),
            // The index it will take: above every index this client ever used.
            seq: g.raft.log().last_index() + 1,
            op,
        };
        g.pending = Some((new, now));
        if let Some(vs) = self.vs.as_mut() {
            vs.status = format!("proposed epoch {} to the Raft group: {why}", view.epoch);
            self.last_change = vs.status.clone();
        }
        self.drive(cx, Input::Client(req));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_pack_and_unpack() {
        let v = View {
            epoch: 42,
            primary: Some(5),
            backups: vec![3, 9, 4],
        };
        assert_eq!(unpack(pack(&v).unwrap()), v);
        let none = View {
            epoch: 7,
            primary: None,
            backups: vec![],
        };
        assert_eq!(unpack(pack(&none).unwrap()), none);
        let big = View {
            epoch: 1,
            primary: Some(3),
            backups: (4..11).collect(),
        };
        assert_eq!(pack(&big), None, "eight members do not fit");
        assert!(pack(&v).unwrap() > 0);
    }
}
