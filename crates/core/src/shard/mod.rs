//! `sharded-raft`: a key-value store split into shards, each served by one Raft group,
//! with shards moved between groups when a group joins or leaves (the multi-Raft design
//! of TiKV and CockroachDB, in miniature).
//!
//! - Nodes form fixed groups of `group_size` (nodes `0..g` are group 0, and so on); each
//!   node runs an unmodified [`Raft`] member of its group (composed: its effects are
//!   wrapped into this protocol's messages, timers and disk) whose store holds the
//!   group's shards. Reads go through the log.
//! - Keys map to shards, shards to groups by consistent hashing ([`map`]). The shard map
//!   is a sequence of numbered configurations (sets of groups) decided by group 0's
//!   leader, one at a time, in group 0's log; a membership change (`add_node`,
//!   `remove_node`) adds or removes the node's group.
//! - Every node is a gateway: a client may ask any node, which passes the request to
//!   the group serving the key's shard (to the leader it knows of, following hints).
//! - Each group moves through the configurations in order, each as one import in its own
//!   log. From the entry that moves it on, a group refuses the shards it loses and hands
//!   their data (with its client sessions) to the new group, resending until that group
//!   confirms; the new group imports the data through its log and only then answers
//!   for the shard. A group takes the next configuration only once every shard of the
//!   current one has arrived and been confirmed. So a shard is served by one group at a
//!   time, and no acknowledged write is lost in a move ([`check`]).
//! - A leader checks ownership against the newest configuration *in its log*, applied or
//!   not: by Raft's log matching, a request appended after a configuration entry was
//!   appended by a leader whose log held that entry, so no request on a shard is
//!   applied after the entry that gave the shard away. (The seeded bug
//!   `unsafe_serve_after_handoff` checks the applied store instead.)

mod check;
pub mod map;
mod msg;
mod params;
mod view;

#[cfg(test)]
mod tests;

pub use check::ShardMonitor;
pub use map::{Config, Status};
pub use msg::ShardMsg;
pub use params::{ShardParams, MAX_GROUPS, SHARD_PARAMS};

use crate::raft::{Cmd, Import, Raft, RaftDisk, RaftWrite, Role as RaftRole};
use crate::{
    ClientId, ClientReply, ClientRequest, Ctx, Effect, MembershipChange, NodeId, NodeView,
    Protocol, Time, Timer, TimerId, Val, Violation, MS,
};
use map::{cfg_key, in_key, out_key, shard_of, Placements, Shards, CONFIG_KEY};
use std::collections::BTreeMap;

crate::timers!(
    /// The sharded store's timers.
    ShardTimer {
        /// Leaders: resend handoffs, poll group 0, take the next configuration.
        Tick = 1,
        /// The group's Raft member's timers, shifted past ours.
        RaftElection = 17,
        RaftHeartbeat = 18,
        RaftCheckQuorum = 19,
    }
);

/// Raft's timer ids are shifted by this.
const RAFT_TIMER_BASE: TimerId = 16;
/// Passes a request may take between gateways and groups before it is dropped (the
/// client then retries).
pub const MAX_HOPS: u8 = 4;
/// A group's leader polls group 0 every this many ticks.
const POLL_EVERY: u64 = 4;

/// One node of the sharded store.
#[derive(Clone, Debug)]
pub struct ShardedRaft {
    id: NodeId,
    p: ShardParams,
    group: u64,
    raft: Raft,
    /// Every configuration this node knows of: `known[e - 1]` holds configuration `e`'s
    /// groups (the first comes from the initial members; the rest from group 0).
    known: Vec<u64>,
    /// As a gateway: each group's leader, as last heard.
    leaders: Vec<Option<NodeId>>,
    /// As a gateway: for each group, the tick of the oldest request passed to its
    /// leader as last heard since anything came back from that group. A leader that
    /// stays silent for [`ShardedRaft::stale_after`] ticks is forgotten (it may have
    /// crashed: without this, every request and poll went on to a dead node).
    unanswered: Vec<Option<u64>>,
    /// As a leader: which gateway waits for each client's request (`client -> (seq,
    /// gateway)`).
    routes: BTreeMap<ClientId, (u64, NodeId)>,
    placements: Placements,
    ticks: u64,
    last_change: String,
    /// Shards this node, leading, sent away and took in (for the panel).
    handed: u64,
    taken: u64,
}

enum Input {
    Start,
    Msg(NodeId, crate::raft::RaftMsg),
    Timer(crate::raft::RaftTimer),
    Client(ClientRequest),
    Propose(Import),
}

impl ShardedRaft {
    pub fn group(&self) -> u64 {
        self.group
    }
    pub fn raft(&self) -> &Raft {
        &self.raft
    }
    pub fn params(&self) -> &ShardParams {
        &self.p
    }
    pub fn known(&self) -> &[u64] {
        &self.known
    }
    fn gs(&self) -> u64 {
        self.p.group_size.max(1)
    }
    fn group_of(&self, n: NodeId) -> u64 {
        n as u64 / self.gs()
    }
    fn members_of(&self, g: u64) -> Vec<NodeId> {
        (g * self.gs()..(g + 1) * self.gs())
            .map(|n| n as NodeId)
            .collect()
    }
    fn initial(&self) -> u64 {
        self.known.first().copied().unwrap_or(0)
    }

    /// The shard-map part of the applied store.
    pub fn applied(&self) -> Shards {
        Shards::of(self.raft.state(), self.p.shards, self.initial())
    }

    /// Hand `input` to the Raft member, wrap its effects, then learn what it applied.
    fn drive(&mut self, cx: &mut Ctx<'_, Self>, input: Input) {
        let mut effects: Vec<Effect<Raft>> = Vec::new();
        {
            let (id, now) = (cx.id(), cx.now());
            let mut rcx = Ctx::new(id, now, cx.rng(), &mut effects);
            let r = &mut self.raft;
            match input {
                Input::Start => r.start(&mut rcx),
                Input::Msg(from, m) => r.on_message(&mut rcx, from, m),
                Input::Timer(t) => r.on_timer(&mut rcx, t),
                Input::Client(req) => r.on_client(&mut rcx, req),
                Input::Propose(imp) => {
                    r.propose(&mut rcx, Cmd::Import(imp));
                }
            }
        }
        for e in effects {
            match e {
                Effect::Send { to, msg } => cx.send(to, ShardMsg::Raft { msg }),
                Effect::SetTimer { timer, after } => {
                    if let Some(t) = ShardTimer::from_id(RAFT_TIMER_BASE + timer) {
                        cx.set_timer(t, after);
                    }
                }
                Effect::CancelTimer { timer } => {
                    if let Some(t) = ShardTimer::from_id(RAFT_TIMER_BASE + timer) {
                        cx.cancel_timer(t);
                    }
                }
                Effect::Persist(w) => cx.persist(w),
                Effect::Reply(r) => self.answer(cx, r),
                Effect::Report(r) => cx.report(r),
            }
        }
        self.learn();
    }

    /// Take the configurations the applied store holds.
    fn learn(&mut self) {
        let kv = &self.raft.state().kv;
        loop {
            let e = self.known.len() as u64 + 1;
            match kv.get(&cfg_key(e)).and_then(Val::int) {
                Some(m) if !self.known.is_empty() || e == 1 => self.known.push(m as u64),
                _ => break,
            }
        }
    }

    /// Take a longer list of configurations that agrees with ours.
    fn merge(&mut self, other: &[u64]) {
        if other.len() > self.known.len() && other.starts_with(&self.known) {
            self.known = other.to_vec();
        }
    }

    /// A reply of the Raft member: to the gateway that passed the request on.
    fn answer(&mut self, cx: &mut Ctx<'_, Self>, mut reply: ClientReply) {
        // Positions in different groups' logs are not comparable (index 5 of group 0
        // and index 5 of group 1 are unrelated): the history gets none.
        reply.at = None;
        let Some((seq, gw)) = self.routes.get(&reply.client).copied() else {
            return;
        };
        if seq != reply.seq {
            return;
        }
        self.routes.remove(&reply.client);
        if gw == self.id {
            cx.reply(reply);
        } else {
            cx.send(gw, ShardMsg::Answer { reply });
        }
    }

    /// The group serving `shard` under the newest configuration known here.
    fn owner(&mut self, shard: u64) -> Option<u64> {
        let mask = *self.known.last()?;
        self.placements
            .of(mask, &self.p)
            .get(shard as usize)
            .copied()
            .flatten()
    }

    /// As a gateway: pass `req` to the group serving its shard.
    fn route(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest, hops: u8) {
        let shard = shard_of(req.op.key(), self.p.shards);
        let Some(g) = self.owner(shard) else {
            return self.not_now(cx, &req, self.id); // No shard map known yet.
        };
        if g == self.group {
            self.serve(cx, req, self.id, hops);
        } else {
            let to = self.target(g, hops);
            self.expect_from(g);
            cx.send(
                to,
                ShardMsg::Forward {
                    req,
                    hops: hops + 1,
                },
            );
        }
    }

    /// A request went to group `g`: if nothing comes back from it for a while, its
    /// leader as last heard is forgotten (see [`ShardedRaft::tick`]).
    fn expect_from(&mut self, g: u64) {
        let now = self.ticks;
        if let Some(w) = self.unanswered.get_mut(g as usize) {
            w.get_or_insert(now);
        }
    }

    /// Something came back from group `g`'s node `from`.
    fn heard_from(&mut self, from: NodeId) {
        let g = self.group_of(from);
        if let Some(w) = self.unanswered.get_mut(g as usize) {
            *w = None;
        }
    }

    /// Ticks of silence after which a gateway forgets a group's leader: a little more
    /// than an election takes.
    fn stale_after(&self) -> u64 {
        self.p.election_timeout_max_ms / self.p.tick_ms.max(1) + 2
    }

    /// Where to send for group `g`: its leader as last heard, else a member in turn (by
    /// hop and by tick, so that a client's retry after a lost request tries another).
    fn target(&self, g: u64, hops: u8) -> NodeId {
        match self.leaders.get(g as usize).copied().flatten() {
            Some(l) => l,
            None => {
                let turn = hops as u64 + self.id as u64 + self.ticks;
                (g * self.gs() + turn % self.gs()) as NodeId
            }
        }
    }

    /// As a member of the serving group: take `req` if this node leads and the group
    /// serves its shard, else tell `gateway` where to go.
    fn serve(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest, gateway: NodeId, hops: u8) {
        if self.raft.role() != RaftRole::Leader {
            let hint = self.raft.leader().filter(|l| *l != self.id);
            return self.tell(cx, gateway, ShardMsg::NotLeader { req, hint, hops });
        }
        let shard = shard_of(req.op.key(), self.p.shards);
        let sh = if self.p.unsafe_serve_after_handoff {
            self.applied()
        } else {
            Shards::in_log(&self.raft, self.p.shards, self.initial())
        };
        match self.placements.status(&sh, self.group, shard, &self.p) {
            Status::Serving => {
                self.routes.insert(req.client, (req.seq, gateway));
                self.drive(cx, Input::Client(req));
            }
            // Its data is on the way.
            Status::Waiting { .. } => self.not_now(cx, &req, gateway),
            Status::Leaving { .. } | Status::Elsewhere => {
                let mut known = self.known.clone();
                if (known.len() as u64) < sh.cfg.epoch {
                    known.clear();
                }
                self.tell(cx, gateway, ShardMsg::Moved { req, hops, known });
            }
        }
    }

    /// Tell the client to try again shortly: nothing happened, and nobody known serves
    /// its shard right now (a group still electing, data still on its way). It backs
    /// off a little rather than waiting out its timeout.
    fn not_now(&mut self, cx: &mut Ctx<'_, Self>, req: &ClientRequest, gateway: NodeId) {
        let reply = ClientReply {
            client: req.client,
            seq: req.seq,
            outcome: crate::Outcome::Redirect {
                leader: None,
                term: 0,
            },
            at: None,
        };
        if gateway == self.id {
            cx.reply(reply);
        } else {
            cx.send(gateway, ShardMsg::Answer { reply });
        }
    }

    /// Send `msg` to `gateway`, or handle it here if that is this node.
    fn tell(&mut self, cx: &mut Ctx<'_, Self>, gateway: NodeId, msg: ShardMsg) {
        if gateway == self.id {
            self.bounced(cx, self.id, msg);
        } else {
            cx.send(gateway, msg);
        }
    }

    /// A request came back to this gateway: follow the hint or the newer map.
    fn bounced(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: ShardMsg) {
        match msg {
            ShardMsg::NotLeader { req, hint, hops } => {
                let g = self.group_of(from);
                let gs = self.gs();
                let next = hint
                    .filter(|h| self.group_of(*h) == g)
                    .unwrap_or(((from as u64 + 1) % gs + g * gs) as NodeId);
                if let Some(l) = self.leaders.get_mut(g as usize) {
                    *l = Some(next);
                }
                if hops >= MAX_HOPS || next == from {
                    self.not_now(cx, &req, self.id);
                } else if next == self.id {
                    self.serve(cx, req, self.id, hops + 1);
                } else {
                    self.expect_from(g);
                    cx.send(
                        next,
                        ShardMsg::Forward {
                            req,
                            hops: hops + 1,
                        },
                    );
                }
            }
            ShardMsg::Moved { req, hops, known } => {
                self.merge(&known);
                if hops < MAX_HOPS {
                    self.route(cx, req, hops + 1);
                } else {
                    self.not_now(cx, &req, self.id);
                }
            }
            _ => {}
        }
    }

    /// The user keys of `shard` in the applied store.
    fn shard_data(&self, shard: u64) -> Vec<(String, Val)> {
        self.raft
            .state()
            .kv
            .iter()
            .filter(|(k, _)| !k.starts_with('#') && shard_of(k, self.p.shards) == shard)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// A leader's periodic work: hand shards over, learn and take configurations.
    fn tick(&mut self, cx: &mut Ctx<'_, Self>) {
        self.ticks += 1;
        let stale = self.stale_after();
        for (w, l) in self.unanswered.iter_mut().zip(self.leaders.iter_mut()) {
            if w.is_some_and(|t| self.ticks.saturating_sub(t) >= stale) {
                *w = None;
                *l = None;
            }
        }
        let poll = self.group != 0 && self.ticks.is_multiple_of(POLL_EVERY);
        if !self.raft.leader_ready() {
            // A node of a group that joined later knows no shard map until its group's
            // log brings one, and its log holds none before the join's: it asks too.
            if poll && self.known.is_empty() {
                self.poll(cx);
            }
            return;
        }
        let sh = self.applied();
        let st = self.placements.statuses(&sh, self.group, &self.p);
        let mut settled = true;
        for (s, status) in st.iter().enumerate() {
            match *status {
                Status::Leaving { to } => {
                    settled = false;
                    let kv = self.shard_data(s as u64);
                    let sessions: Vec<_> = self
                        .raft
                        .state()
                        .sessions
                        .iter()
                        .map(|(c, x)| (*c, x.clone()))
                        .collect();
                    for m in self.members_of(to) {
                        cx.send(
                            m,
                            ShardMsg::Handoff {
                                shard: s as u64,
                                epoch: sh.cfg.epoch,
                                kv: kv.clone(),
                                sessions: sessions.clone(),
                            },
                        );
                    }
                }
                Status::Waiting { .. } => settled = false,
                _ => {}
            }
        }
        if poll {
            self.poll(cx);
        }
        let pending = Shards::in_log(&self.raft, self.p.shards, self.initial()).cfg != sh.cfg;
        let e = sh.cfg.epoch;
        if settled && !pending && (self.known.len() as u64) > e && e >= 1 {
            let next = Config {
                epoch: e + 1,
                groups: self.known[e as usize],
                prev: sh.cfg.groups,
            };
            self.last_change = format!(
                "moves to shard map {}: groups {}",
                next.epoch,
                map::fmt_groups(next.groups)
            );
            self.propose(cx, config_import(next));
        }
    }

    /// Ask group 0 for configurations newer than ours. Every member of group 0 answers
    /// from what it has applied, so polls go to its members in turn rather than to a
    /// leader that may be gone.
    fn poll(&mut self, cx: &mut Ctx<'_, Self>) {
        let to = ((self.ticks / POLL_EVERY + self.id as u64) % self.gs()) as NodeId;
        cx.send(
            to,
            ShardMsg::Poll {
                have: self.known.len() as u64,
            },
        );
    }

    fn propose(&mut self, cx: &mut Ctx<'_, Self>, imp: Import) {
        self.drive(cx, Input::Propose(imp));
    }

    fn on_handoff(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        from: NodeId,
        shard: u64,
        epoch: u64,
        mut kv: Vec<(String, Val)>,
        sessions: Vec<(ClientId, crate::raft::Session)>,
    ) {
        if self.raft.role() != RaftRole::Leader || shard >= self.p.shards {
            return;
        }
        if self.applied().arrived[shard as usize] >= epoch {
            cx.send(from, ShardMsg::HandoffAck { shard, epoch });
            return;
        }
        let sh = Shards::in_log(&self.raft, self.p.shards, self.initial());
        if sh.arrived[shard as usize] >= epoch || sh.cfg.epoch != epoch {
            return; // Being imported, or not in this configuration yet: it will come again.
        }
        let st = self.placements.status(&sh, self.group, shard, &self.p);
        if matches!(st, Status::Waiting { .. }) {
            kv.push((in_key(shard), Val::Int(epoch as i64)));
            self.taken += 1;
            self.last_change = format!(
                "imports shard {shard} ({} keys) from group {} for shard map {epoch}",
                kv.len() - 1,
                self.group_of(from)
            );
            self.propose(cx, Import { kv, sessions });
        }
    }

    fn on_handoff_ack(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, shard: u64, epoch: u64) {
        if self.raft.role() != RaftRole::Leader || shard >= self.p.shards {
            return;
        }
        let sh = Shards::in_log(&self.raft, self.p.shards, self.initial());
        if sh.cfg.epoch != epoch || sh.confirmed[shard as usize] >= epoch {
            return;
        }
        if matches!(
            self.placements.statuses(&sh, self.group, &self.p)[shard as usize],
            Status::Leaving { .. }
        ) {
            self.handed += 1;
            self.last_change = format!(
                "group {} confirmed it has shard {shard} (shard map {epoch})",
                self.group_of(from)
            );
            self.propose(
                cx,
                Import {
                    kv: vec![(out_key(shard), Val::Int(epoch as i64))],
                    sessions: Vec::new(),
                },
            );
        }
    }
}

/// The import that moves a group to configuration `c` (and records its groups).
fn config_import(c: Config) -> Import {
    Import {
        kv: vec![
            (CONFIG_KEY.to_string(), Val::Int(c.pack())),
            (cfg_key(c.epoch), Val::Int(c.groups as i64)),
        ],
        sessions: Vec::new(),
    }
}

impl Protocol for ShardedRaft {
    const NAME: &'static str = "sharded-raft";
    const SUMMARY: &'static str =
        "a key-value store in shards, one Raft group per shard, shards moved when groups join";
    const PARAMS: &'static [crate::ParamSpec] = SHARD_PARAMS;
    const HAS_LEADER: bool = true;
    // One leader per group acknowledges writes at the same time, by design.
    const LEADERLESS: bool = true;
    const DATA_TYPE: crate::DataType = crate::DataType::CAS_REGISTER;
    const ALSO_SERVES: &'static [crate::DataType] = &[crate::DataType::KV];
    type Params = ShardParams;
    type Msg = ShardMsg;
    type Disk = RaftDisk;
    type Write = RaftWrite;
    type Monitor = ShardMonitor;
    type Timer = ShardTimer;

    fn patience(p: &ShardParams) -> Time {
        (p.election_timeout_max_ms + 4 * p.tick_ms) * MS
    }

    fn param_problems(p: &ShardParams) -> Vec<(&'static str, String)> {
        p.problems()
    }

    fn cluster_problems(p: &ShardParams, nodes: usize) -> Vec<(&'static str, String)> {
        p.cluster_problems(nodes)
    }

    fn all_nodes_problems(p: &ShardParams, nodes: usize) -> Vec<(&'static str, String)> {
        p.all_nodes_problems(nodes)
    }

    fn apply_write(disk: &mut RaftDisk, write: RaftWrite) {
        <Raft as Protocol>::apply_write(disk, write);
    }

    fn boot(id: NodeId, members: &[NodeId], p: &ShardParams, disk: Option<&RaftDisk>) -> Self {
        let gs = p.group_size.max(1);
        let group = id as u64 / gs;
        let mine: Vec<NodeId> = (group * gs..(group + 1) * gs)
            .map(|n| n as NodeId)
            .collect();
        let initial = members.iter().fold(0u64, |m, n| {
            m | 1u64.checked_shl((*n as u64 / gs) as u32).unwrap_or(0)
        });
        let mut node = ShardedRaft {
            id,
            p: *p,
            group,
            raft: Raft::boot(id, &mine, &p.raft(), disk),
            known: if initial != 0 {
                vec![initial]
            } else {
                Vec::new()
            },
            leaders: vec![None; MAX_GROUPS as usize],
            unanswered: vec![None; MAX_GROUPS as usize],
            routes: BTreeMap::new(),
            placements: Placements::default(),
            ticks: 0,
            last_change: String::new(),
            handed: 0,
            taken: 0,
        };
        node.learn();
        node
    }

    fn start(&mut self, cx: &mut Ctx<'_, Self>) {
        self.drive(cx, Input::Start);
        cx.set_timer(ShardTimer::Tick, self.p.tick_ms.max(1) * MS);
    }

    fn on_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: ShardMsg) {
        match msg {
            ShardMsg::Raft { msg } => {
                if self.group_of(from) == self.group {
                    self.drive(cx, Input::Msg(from, msg));
                }
            }
            ShardMsg::Forward { req, hops } => self.serve(cx, req, from, hops),
            ShardMsg::Answer { reply } => {
                self.heard_from(from);
                let g = self.group_of(from);
                if let Some(l) = self.leaders.get_mut(g as usize) {
                    *l = Some(from);
                }
                cx.reply(reply);
            }
            m @ (ShardMsg::NotLeader { .. } | ShardMsg::Moved { .. }) => {
                self.heard_from(from);
                self.bounced(cx, from, m)
            }
            ShardMsg::Poll { have } => {
                if self.group == 0 && self.known.len() as u64 > have {
                    cx.send(
                        from,
                        ShardMsg::Configs {
                            known: self.known.clone(),
                        },
                    );
                }
            }
            ShardMsg::Configs { known } => {
                if self.group_of(from) == 0 {
                    self.merge(&known);
                }
            }
            ShardMsg::Handoff {
                shard,
                epoch,
                kv,
                sessions,
            } => self.on_handoff(cx, from, shard, epoch, kv, sessions),
            ShardMsg::HandoffAck { shard, epoch } => self.on_handoff_ack(cx, from, shard, epoch),
        }
    }

    fn on_timer(&mut self, cx: &mut Ctx<'_, Self>, timer: ShardTimer) {
        match timer {
            ShardTimer::Tick => {
                cx.set_timer(ShardTimer::Tick, self.p.tick_ms.max(1) * MS);
                self.tick(cx);
            }
            t => {
                if let Some(rt) = crate::raft::RaftTimer::from_id(t.id() - RAFT_TIMER_BASE) {
                    self.drive(cx, Input::Timer(rt));
                }
            }
        }
    }

    fn on_client(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest) {
        self.route(cx, req, 0);
    }

    fn view(&self) -> NodeView {
        view::view(self, crate::LogWindow::ALL)
    }

    fn view_window(&self, window: crate::LogWindow) -> NodeView {
        view::view(self, window)
    }

    fn invariants() -> &'static [&'static str] {
        check::INVARIANTS
    }

    fn check(
        monitor: &mut ShardMonitor,
        changed: NodeId,
        nodes: &[Option<Self>],
        _now: Time,
    ) -> Result<(), Violation> {
        monitor.check(changed, nodes)
    }

    fn is_leader(&self) -> bool {
        self.raft.role() == RaftRole::Leader
    }

    fn epoch(&self) -> u64 {
        self.raft.term()
    }

    fn log_len(&self) -> u64 {
        self.raft.log().last_index()
    }

    fn change_membership(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        change: MembershipChange,
    ) -> Result<(), String> {
        let (node, add) = match change {
            MembershipChange::Add { node } => (node, true),
            MembershipChange::Remove { node } => (node, false),
            MembershipChange::Promote { .. } => {
                return Err("groups elect their leaders: there is nothing to promote".into())
            }
        };
        let g = self.group_of(node);
        if g >= MAX_GROUPS {
            return Err(format!(
                "node {node} would be in group {g}: at most {MAX_GROUPS} groups"
            ));
        }
        if self.group != 0 || !self.raft.leader_ready() {
            return Err("only group 0's leader changes the shard map".into());
        }
        if !add && g == 0 {
            return Err("group 0 keeps the shard map: it cannot leave".into());
        }
        let sh = self.applied();
        let cur = sh.cfg;
        let want = if add {
            cur.groups | 1 << g
        } else {
            cur.groups & !(1 << g)
        };
        if want == cur.groups {
            return Ok(()); // Already so (another node of the same group asked).
        }
        let pending = Shards::in_log(&self.raft, self.p.shards, self.initial()).cfg != cur;
        let busy = self
            .placements
            .statuses(&sh, self.group, &self.p)
            .iter()
            .any(|s| matches!(s, Status::Waiting { .. } | Status::Leaving { .. }));
        if pending || busy {
            return Err(format!(
                "group 0 is still moving shards for shard map {}",
                cur.epoch
            ));
        }
        let next = Config {
            epoch: cur.epoch + 1,
            groups: want,
            prev: cur.groups,
        };
        self.last_change = format!(
            "decides shard map {}: groups {} ({} group {g})",
            next.epoch,
            map::fmt_groups(want),
            if add { "adds" } else { "removes" }
        );
        self.propose(cx, config_import(next));
        Ok(())
    }
}
