//! Primary-backup replication, as a pure state machine: the replication most production
//! systems run (MySQL and PostgreSQL replicas, Redis), which is not consensus.
//!
//! * **Roles.** Node 0 is the *view service* ([`vs`], MIT 6.824 style): it decides the
//!   view (the primary and its backups, in chain order) and bumps the epoch on every
//!   change. Every other node is a replica ([`replica`]) holding a key-value store and
//!   the log of writes applied to it.
//! * **Failure detection.** Replicas ping the view service every `ping_interval_ms`
//!   (a fixed-timeout heartbeat detector). One it has not heard from for
//!   `dead_timeout_ms` is dead: a dead primary is replaced by the most up-to-date backup
//!   that installed the current epoch's state; a dead backup is removed (a chain is
//!   spliced); a live replica outside the view is added at the end.
//! * **Replication modes** (`mode`): `sync` acknowledges a write once every backup of
//!   the view stored it; `semi-sync` once `acks` did (falling back to async after
//!   `semi_sync_timeout_ms` until they catch up); `async` at once; `chain` sends writes
//!   down the chain from the head, and the tail answers (and serves reads).
//! * **State transfer.** At the start of every epoch each upstream node (the primary;
//!   the predecessor in a chain) sends each downstream node a snapshot of its store,
//!   which replaces the downstream's (so a backup's leftovers from an older epoch are
//!   discarded); entries after it follow as appends. A restarted or new replica catches
//!   up the same way before it counts as synced.
//! * **Fencing** (`fencing`): replicas reject appends and snapshots of an older epoch,
//!   and a replica serves clients only while its lease lasts (`lease_ms` from the
//!   sending of a ping the view service answered with a view containing it). The view
//!   service declares a replica dead only after `dead_timeout_ms > lease_ms`, so a
//!   deposed primary has stopped serving before its successor starts. Without fencing a
//!   primary cut off from the view service keeps serving: split brain.
//! * **Durability.** Appends and snapshots are persisted before any message leaves;
//!   a restart boots from that disk. The view service persists its view.
//! * **Invariants** ([`check`]): checked after every event.

pub mod check;
pub mod msg;
pub mod params;
pub mod raftview;
mod replica;
mod view;
mod vs;

pub use check::PbMonitor;
pub use msg::{Entry, PbDisk, PbMsg, PbWrite, Snapshot, View};
pub use params::{FailureDetector, Mode, PbParams, ReadFrom, ViewStore};
pub use vs::ViewService;

use crate::raft::Kv;
use crate::{ClientRequest, Ctx, NodeId, NodeView, Outcome, Protocol, Time, Violation};
use std::collections::VecDeque;

crate::timers!(
    /// Primary-backup's timers.
    PbTimer {
        /// Every node: pings, re-sends, the view service's decisions, the semi-sync timeout.
        Tick = 1,
        /// A view node's Raft member's timers: Raft's own, shifted past ours
        /// (`raftview::RAFT_TIMER_BASE`).
        RaftElection = 17,
        RaftHeartbeat = 18,
        RaftCheckQuorum = 19,
    }
);
pub const TIMER_TICK: PbTimer = PbTimer::Tick;
/// The node that runs the view service (the first view node, with a Raft view store).
pub const VIEW_SERVICE: NodeId = 0;
/// Entries a replica keeps in memory (for re-sending and for the picture); a peer
/// further behind gets a snapshot.
pub const KEEP: usize = 64;

/// A downstream replica as its upstream sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub node: NodeId,
    /// It installed this epoch's state transfer.
    pub synced: bool,
    /// It holds everything up to here.
    pub acked: u64,
    /// Entries up to here were sent to it.
    pub sent: u64,
    /// Local time of its last answer.
    pub heard: Time,
    /// Local time the last snapshot was sent to it.
    pub snap_sent: Option<Time>,
}

/// A client waiting for its write (or read) to be acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiter {
    pub index: u64,
    pub client: u32,
    pub seq: u64,
    pub outcome: Outcome,
    pub since: Time,
    pub write: bool,
}

/// What this event did, for the invariant checker only.
#[derive(Clone, Debug, Default)]
pub struct Ghost {
    /// A write was accepted as primary (head) in this epoch.
    pub accepted: Option<u64>,
    /// Writes acknowledged to clients: (index, log hash there), with the backups of
    /// the view that acknowledged them.
    pub acked: Vec<(u64, u64)>,
    pub acked_backups: Vec<NodeId>,
}

impl Ghost {
    fn clear(&mut self) {
        self.accepted = None;
        self.acked.clear();
        self.acked_backups.clear();
    }
}

/// One primary-backup node (the view service, or a replica).
#[derive(Clone, Debug)]
pub struct PrimaryBackup {
    id: NodeId,
    p: PbParams,
    /// A view node's view manager (node 0's view service; with a Raft view store, on
    /// each of the group's nodes).
    vs: Option<ViewService>,
    /// With a Raft view store: this view node's member of the group.
    group: Option<Box<raftview::Group>>,
    /// The newest view this replica heard of (epoch 0: none since boot).
    view: View,
    /// The epoch whose state this replica holds (installed a snapshot from upstream, or
    /// took over as primary); 0: none.
    synced: u64,
    store: Kv,
    /// Recent entries, after `base`.
    log: VecDeque<Entry>,
    base: u64,
    base_hash: u64,
    /// Where each epoch's entries began, `(epoch, first index)`, compacted ones too.
    epochs: Vec<(u64, u64)>,
    last: u64,
    hash: u64,
    since_snapshot: u64,
    /// Downstream replicas (the primary's backups; a chain node's successor).
    peers: Vec<Peer>,
    waiters: Vec<Waiter>,
    /// Acknowledged prefix (the primary's).
    commit: u64,
    /// With fencing: serve clients until this local time.
    lease_until: Time,
    /// Semi-sync fell back to async.
    fell_back: bool,
    /// Booted without a disk.
    blank: bool,
    /// The newest epoch this replica adopted before its last restart (from its disk): it
    /// takes nothing from an older epoch even before it hears the current view.
    floor: u64,
    /// The last state transfer this replica installed: (from, index).
    transfer: Option<(NodeId, u64)>,
    /// Local time of the last event handled (for the `is_leader` probe's lease check).
    clock: Time,
    ghost: Ghost,
    last_change: String,
}

impl PrimaryBackup {
    pub fn id(&self) -> NodeId {
        self.id
    }
    pub fn params(&self) -> &PbParams {
        &self.p
    }
    /// The view this node knows (the view service's own, on node 0).
    pub fn view_known(&self) -> &View {
        match &self.vs {
            Some(v) => &v.view,
            None => &self.view,
        }
    }
    pub fn synced_epoch(&self) -> u64 {
        self.synced
    }
    pub fn last_index(&self) -> u64 {
        self.last
    }
    pub fn store(&self) -> &Kv {
        &self.store
    }
    pub fn ghost(&self) -> &Ghost {
        &self.ghost
    }
    /// Whether this replica acts as primary (head) of the view it knows.
    pub fn is_primary(&self) -> bool {
        self.vs.is_none()
            && self.view.epoch > 0
            && self.view.primary == Some(self.id)
            && self.synced == self.view.epoch
    }
    /// The log hash at `index`, while it is in memory (or at the snapshot).
    pub fn hash_at(&self, index: u64) -> Option<u64> {
        if index == self.last {
            return Some(self.hash);
        }
        if index == self.base {
            return Some(self.base_hash);
        }
        if index > self.base && index < self.last {
            return self
                .log
                .get((index - self.base - 1) as usize)
                .map(|e| e.hash);
        }
        None
    }

    fn reply(&self, cx: &mut Ctx<'_, Self>, req: &ClientRequest, outcome: Outcome) {
        cx.reply(crate::ClientReply {
            client: req.client,
            seq: req.seq,
            outcome,
            at: None,
        });
    }
    /// The epoch the entry at `index` was written in, while it is in memory.
    pub fn epoch_at(&self, index: u64) -> Option<u64> {
        if index > self.base && index <= self.last {
            return self
                .log
                .get((index - self.base - 1) as usize)
                .map(|e| e.epoch);
        }
        None
    }

    fn redirect(&self, cx: &mut Ctx<'_, Self>, req: &ClientRequest, to: Option<NodeId>) {
        let view = self.view_known();
        let outcome = Outcome::Redirect {
            leader: to.filter(|l| *l != self.id),
            term: view.epoch,
        };
        self.reply(cx, req, outcome);
    }
}

impl Protocol for PrimaryBackup {
    const NAME: &'static str = "primary-backup";
    const SUMMARY: &'static str =
        "replication without consensus: sync, semi-sync, async and chain, with a view service";
    const PARAMS: &'static [crate::ParamSpec] = params::PB_PARAMS;
    const HAS_LEADER: bool = true;
    const DATA_TYPE: crate::DataType = crate::DataType::CAS_REGISTER;
    const ALSO_SERVES: &'static [crate::DataType] = &[crate::DataType::KV];
    type Params = PbParams;
    type Msg = PbMsg;
    type Disk = PbDisk;
    type Write = PbWrite;
    type Monitor = PbMonitor;
    type Timer = PbTimer;

    fn patience(p: &PbParams) -> crate::Time {
        (p.dead_timeout_ms + p.lease_ms) * crate::MS
    }

    fn param_problems(p: &PbParams) -> Vec<(&'static str, String)> {
        p.problems()
    }

    fn cluster_problems(p: &PbParams, nodes: usize) -> Vec<(&'static str, String)> {
        p.cluster_problems(nodes)
    }

    fn apply_write(disk: &mut PbDisk, write: PbWrite) {
        disk.apply(write);
    }

    fn boot(id: NodeId, members: &[NodeId], params: &PbParams, disk: Option<&PbDisk>) -> Self {
        let nodes = members.iter().map(|m| *m as usize + 1).max().unwrap_or(0);
        let empty = PbDisk::default();
        let d = disk.unwrap_or(&empty);
        let mut node = PrimaryBackup {
            id,
            p: *params,
            vs: None,
            group: None,
            view: View::default(),
            synced: 0,
            store: d.snapshot.state.clone(),
            log: VecDeque::new(),
            base: d.snapshot.index,
            base_hash: d.snapshot.hash,
            epochs: d.snapshot.epochs.clone(),
            last: d.snapshot.index,
            hash: d.snapshot.hash,
            since_snapshot: 0,
            peers: Vec::new(),
            waiters: Vec::new(),
            commit: 0,
            lease_until: 0,
            fell_back: false,
            blank: disk.is_none(),
            floor: d.view.epoch,
            transfer: None,
            clock: 0,
            ghost: Ghost::default(),
            last_change: if disk.is_some() {
                "restarted from its disk".to_string()
            } else {
                "booted".to_string()
            },
        };
        let first = params.view_nodes() as NodeId;
        if id < first {
            if params.view_store == ViewStore::Raft {
                let g = raftview::Group::boot(id, disk.map(|d| &d.raft));
                let mut vs = ViewService::boot(params, nodes, first, None);
                if let Some(v) = g.committed() {
                    vs.view = v;
                }
                node.vs = Some(vs);
                node.group = Some(Box::new(g));
            } else {
                node.vs = Some(ViewService::boot(
                    params,
                    nodes,
                    first,
                    disk.map(|d| d.view.clone()),
                ));
            }
        } else {
            for e in &d.entries {
                node.replay(e.clone());
            }
        }
        node
    }

    fn start(&mut self, cx: &mut Ctx<'_, Self>) {
        self.clock = cx.now();
        if self.vs.is_some() {
            self.vs_start(cx);
            self.drive(cx, raftview::Input::Start);
        } else {
            self.ping(cx);
        }
        cx.set_timer(TIMER_TICK, self.p.ping_interval_ms.max(1) * crate::MS);
    }

    fn on_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: PbMsg) {
        self.ghost.clear();
        self.clock = cx.now();
        if let PbMsg::Raft { msg: m } = msg {
            self.drive(cx, raftview::Input::Msg(from, m));
        } else if self.vs.is_some() {
            self.vs_message(cx, from, msg);
        } else {
            self.replica_message(cx, from, msg);
        }
    }

    fn on_timer(&mut self, cx: &mut Ctx<'_, Self>, timer: PbTimer) {
        self.ghost.clear();
        self.clock = cx.now();
        let id = crate::Timer::id(timer);
        if id >= raftview::RAFT_TIMER_BASE {
            if let Some(t) =
                <crate::raft::RaftTimer as crate::Timer>::from_id(id - raftview::RAFT_TIMER_BASE)
            {
                self.drive(cx, raftview::Input::Timer(t));
            }
            return;
        }
        if timer != TIMER_TICK {
            return;
        }
        if self.vs.is_some() {
            self.vs_tick(cx);
        } else {
            self.replica_tick(cx);
        }
        cx.set_timer(TIMER_TICK, self.p.ping_interval_ms.max(1) * crate::MS);
    }

    fn on_client(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest) {
        self.ghost.clear();
        self.clock = cx.now();
        if self.vs.is_some() {
            // The view service knows the primary: send the client there.
            let to = self.view_known().primary;
            self.redirect(cx, &req, to);
            return;
        }
        self.client(cx, req, false);
    }

    /// Exactly while it would accept a write as primary (head): it holds the epoch's
    /// state as the view's primary and, with fencing, its lease had not run out at its
    /// last event (its tick comes every ping interval). A deposed primary that has not
    /// heard of its successor and is not fenced still accepts writes: it leads here.
    fn is_leader(&self) -> bool {
        self.is_primary() && self.serving(self.clock)
    }

    /// Only an operator's promotion (manual failover): replicas join by pinging the
    /// view manager, and leave when it stops hearing them.
    fn change_membership(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        change: crate::MembershipChange,
    ) -> Result<(), String> {
        self.ghost.clear();
        match change {
            crate::MembershipChange::Promote { node } => self.request_promotion(cx, node),
            _ => Err(
                "primary-backup's view manager adds replicas that ping it and removes silent ones"
                    .to_string(),
            ),
        }
    }

    /// The epoch of the view this node knows.
    fn epoch(&self) -> u64 {
        self.view_known().epoch
    }

    /// A replica's last index (0 on a view node).
    fn log_len(&self) -> u64 {
        if self.vs.is_some() {
            0
        } else {
            self.last
        }
    }

    fn view(&self) -> NodeView {
        view::view(self)
    }

    fn invariants() -> &'static [&'static str] {
        check::INVARIANTS
    }

    fn check(
        monitor: &mut PbMonitor,
        changed: NodeId,
        nodes: &[Option<Self>],
        now: Time,
    ) -> Result<(), Violation> {
        monitor.observe(changed, nodes, now)
    }
}

#[cfg(test)]
mod tests;
