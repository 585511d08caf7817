//! `quorum-kv`: leaderless quorum replication in the style of Dynamo, Cassandra and
//! Riak, the AP side of CAP.
//!
//! * **Placement** ([`ring`]): a consistent-hash ring with `vnodes` tokens per node;
//!   a key's preference list is the first `n` distinct nodes clockwise from its hash.
//! * **Requests.** Any node coordinates any client request. A write is stamped with
//!   the coordinator's clock and sent to the key's `n` replicas; the client hears ok
//!   after `w` acknowledgements. A read asks the `n` replicas and answers with the
//!   newest version among the first `r` replies. With `r + w > n` every read quorum
//!   meets every write quorum; with less, reads may miss acknowledged writes.
//! * **Conflicts** (`conflicts = "lww"`): the newest timestamp wins. Timestamps come
//!   from the coordinators' clocks, so a write coordinated by a slow clock silently
//!   loses to an older one: clock skew loses updates.
//! * **Read repair**: after a read (with probability `read_repair_pct`), replicas that
//!   answered with an older version are sent the newest.
//! * **Sloppy quorum** (`sloppy`): a replica that has not answered after
//!   `sloppy_after_ms` is replaced by the next node on the ring, which stores the
//!   write as a *hint* for it and hands it back every `handoff_ms` until the owner
//!   acknowledges. Replicas that time out are avoided for a while.
//! * **Anti-entropy** (`anti_entropy_ms`): each node periodically sends one peer the
//!   hashes of the key ranges (ring ranges) both replicate, under a root hash; the
//!   peer answers with its versions of the ranges that differ and gets the sender's
//!   back. Keys exchanged are counted.
//! * **Invariants** ([`check`]), checked after every event.

pub mod check;
pub mod msg;
pub mod params;
pub mod ring;
mod view;

pub use check::QuorumMonitor;
pub use msg::{QDisk, QMsg, QWrite, Ver};
pub use params::{Conflicts, QuorumParams};
pub use ring::Ring;

use crate::{ClientRequest, Ctx, NodeId, Op, Outcome, Protocol, Time, Violation, MS};
use std::collections::BTreeMap;

crate::timers!(
    /// The quorum store's one timer.
    QuorumTimer {
        /// Request deadlines, sloppy fall-backs, hinted handoff, anti-entropy.
        Tick = 1,
    }
);

/// How often a node looks at its requests' deadlines.
pub const TICK: Time = 10 * MS;
/// How long a replica that timed out is passed over by a sloppy coordinator (unless
/// it is heard from first).
pub const AVOID: Time = 1_000 * MS;
/// Hints offered per handoff round (the rest wait for the next round).
pub const HANDOFF_BATCH: usize = 32;

/// A request this node coordinates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub client: u32,
    pub seq: u64,
    pub key: String,
    /// The version written; `None`: a read.
    pub write: Option<Ver>,
    /// The preference list when the request began.
    pub pref: Vec<NodeId>,
    /// Asked so far: (node, the owner it stands in for).
    pub asked: Vec<(NodeId, Option<NodeId>)>,
    /// Acknowledgements (writes) or replies with the replica's siblings (reads) so far.
    pub answered: Vec<(NodeId, Vec<Ver>)>,
    pub started: Time,
    /// The client has its answer; the request lingers for read repair.
    pub done: bool,
    pub repair: bool,
}

/// What this event did, for the invariant checker only.
#[derive(Clone, Debug, Default)]
pub struct Ghost {
    /// A write acknowledged to its client: key, version, preference list, and the
    /// replicas whose acknowledgements counted.
    pub acked: Vec<(String, Ver, Vec<NodeId>, Vec<NodeId>)>,
    /// Hints this node discarded: (owner, key, version).
    pub dropped: Vec<(NodeId, String, Ver)>,
}

/// One node of the quorum store.
#[derive(Clone, Debug)]
pub struct QuorumKv {
    id: NodeId,
    p: QuorumParams,
    pub(crate) members: Vec<NodeId>,
    /// Membership epoch: bumped by every change; the newest one gossiped wins.
    epoch: u64,
    ring: Ring,
    /// Versions this node holds as a replica (siblings, oldest stamp first).
    store: BTreeMap<String, Vec<Ver>>,
    /// Versions it holds for another node: (owner, key).
    hints: BTreeMap<(NodeId, String), Vec<Ver>>,
    pending: BTreeMap<u64, Pending>,
    /// Requests this node asked of itself, handled once the others were sent.
    local: Vec<QMsg>,
    /// Request ids: this incarnation's nonce in the high half, a counter below, so a
    /// late answer to a request from before a restart never matches a new one.
    nonce: u64,
    next: u64,
    /// Per node: avoid it until this local time (sloppy coordinators).
    avoid: Vec<Time>,
    last_handoff: Time,
    last_ae: Time,
    /// Counters for the picture.
    pub stats: Stats,
    pub(crate) blank: bool,
    ghost: Ghost,
}

/// What a node has done, counted (shown in its view).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub repairs: u64,
    pub hinted: u64,
    pub handed_off: u64,
    pub ae_rounds: u64,
    pub ae_turns: u64,
    pub ae_keys: u64,
    pub unavailable: u64,
    /// Reads that found siblings (concurrent versions), and the most found at once.
    pub sibling_reads: u64,
    pub most_siblings: u64,
    /// At the last membership change this node adopted: the key replicas it sent to
    /// nodes that joined those keys' preference lists, and the keys it held.
    pub moved: u64,
    pub held: u64,
    /// Of the keys it was the sender for (`owned`): how many changed their first
    /// replica on the ring, and how many would have under `hash mod N` placement.
    pub owned: u64,
    pub owner_ring: u64,
    pub owner_mod_n: u64,
}

impl QuorumKv {
    pub fn id(&self) -> NodeId {
        self.id
    }
    pub fn params(&self) -> &QuorumParams {
        &self.p
    }
    pub fn ring(&self) -> &Ring {
        &self.ring
    }
    pub fn store(&self) -> &BTreeMap<String, Vec<Ver>> {
        &self.store
    }
    pub fn hints(&self) -> &BTreeMap<(NodeId, String), Vec<Ver>> {
        &self.hints
    }
    pub fn pending(&self) -> &BTreeMap<u64, Pending> {
        &self.pending
    }
    pub fn ghost(&self) -> &Ghost {
        &self.ghost
    }
    /// The versions this node holds of `key`, as a replica or as hints, merged.
    pub fn holds(&self, key: &str) -> Vec<Ver> {
        let vector = self.p.vector();
        let mut out = self.store.get(key).cloned().unwrap_or_default();
        for ((_, k), vs) in &self.hints {
            if k == key {
                for v in vs {
                    msg::merge(&mut out, v.clone(), vector);
                }
            }
        }
        out
    }

    fn n(&self) -> usize {
        self.p.n as usize
    }

    fn avoided(&self, node: NodeId, now: Time) -> bool {
        self.avoid.get(node as usize).is_some_and(|t| *t > now)
    }

    fn heard(&mut self, node: NodeId) {
        if let Some(t) = self.avoid.get_mut(node as usize) {
            *t = 0;
        }
    }

    /// Store `ver` of `key` as a replica (on disk first); whether it changed anything.
    fn keep(&mut self, cx: &mut Ctx<'_, Self>, key: &str, ver: Ver) -> bool {
        let vector = self.p.vector();
        let list = self.store.entry(key.to_string()).or_default();
        if !msg::merge(list, ver, vector) {
            return false;
        }
        let vers = list.clone();
        cx.persist(QWrite::Put {
            key: key.to_string(),
            vers,
        });
        true
    }

    /// Keep `ver` for `owner` as a hint.
    fn keep_hint(&mut self, cx: &mut Ctx<'_, Self>, owner: NodeId, key: &str, ver: Ver) {
        let vector = self.p.vector();
        let list = self.hints.entry((owner, key.to_string())).or_default();
        if msg::merge(list, ver, vector) {
            let vers = list.clone();
            self.stats.hinted += 1;
            cx.persist(QWrite::Hint {
                owner,
                key: key.to_string(),
                vers,
            });
        }
    }

    fn reply(cx: &mut Ctx<'_, Self>, client: u32, seq: u64, outcome: Outcome) {
        cx.reply(crate::ClientReply {
            client,
            seq,
            outcome,
            at: None,
        });
    }

    /// Ask node `to` (standing in for `owner`, if any) for request `id`.
    fn ask(&mut self, cx: &mut Ctx<'_, Self>, id: u64, to: NodeId, owner: Option<NodeId>) {
        let Some(pd) = self.pending.get_mut(&id) else {
            return;
        };
        pd.asked.push((to, owner));
        let key = pd.key.clone();
        let write = pd.write.clone();
        let m = match write {
            Some(ver) => QMsg::Put {
                id,
                key,
                ver,
                hint: owner,
            },
            None => QMsg::Get { id, key },
        };
        if to == self.id {
            // Handled after the others are asked: answering itself may finish the
            // request, and the other replicas must get the write all the same.
            self.local.push(m);
        } else {
            cx.send(to, m);
        }
    }

    /// Handle the requests this node asked of itself.
    fn run_local(&mut self, cx: &mut Ctx<'_, Self>) {
        for m in std::mem::take(&mut self.local) {
            self.handle(cx, self.id, m);
        }
    }

    fn begin(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest) {
        let (key, write) = match req.op {
            Op::Read { key } => (key, None),
            Op::Write { key, value } => {
                // With version vectors the write supersedes what this node has seen of
                // the key (as a replica or a stand-in), and nothing else.
                let vv = if self.p.vector() {
                    msg::next_vv(&self.holds(&key), self.id, cx.now())
                } else {
                    Vec::new()
                };
                let ver = Ver {
                    ts: cx.now(),
                    node: self.id,
                    value,
                    vv,
                };
                (key, Some(ver))
            }
            other => {
                let reason = format!(
                    "{} is not an operation of quorum-kv (a leaderless store has no single order of writes: read and write only)",
                    other.kind().name()
                );
                Self::reply(cx, req.client, req.seq, Outcome::Fail { reason });
                return;
            }
        };
        let id = self.nonce << 32 | (self.next & 0xFFFF_FFFF);
        self.next += 1;
        let now = cx.now();
        let walk = self.ring.walk(&key);
        let pref: Vec<NodeId> = walk.iter().take(self.n()).copied().collect();
        self.pending.insert(
            id,
            Pending {
                client: req.client,
                seq: req.seq,
                key,
                write,
                pref: pref.clone(),
                asked: Vec::new(),
                answered: Vec::new(),
                started: now,
                done: false,
                repair: false,
            },
        );
        // A sloppy coordinator passes over replicas it knows to be unresponsive at once.
        let mut spare = walk.iter().skip(self.n()).copied();
        for owner in pref {
            if self.p.sloppy && owner != self.id && self.avoided(owner, now) {
                if let Some(s) = spare.by_ref().find(|s| !self.avoided(*s, now)) {
                    self.ask(cx, id, s, Some(owner));
                    continue;
                }
            }
            self.ask(cx, id, owner, None);
        }
        self.run_local(cx);
    }

    /// Request `id` got an answer from `from`: finish it when its quorum is there.
    fn answered(&mut self, cx: &mut Ctx<'_, Self>, id: u64, from: NodeId, vers: Vec<Ver>) {
        let Some(pd) = self.pending.get_mut(&id) else {
            return;
        };
        if !pd.asked.iter().any(|(n, _)| *n == from) || pd.answered.iter().any(|(n, _)| *n == from)
        {
            return;
        }
        pd.answered.push((from, vers.clone()));
        let (w, r) = (self.p.w as usize, self.p.r as usize);
        let vector = self.p.vector();
        match pd.write.clone() {
            Some(wv) if !pd.done && pd.answered.len() >= w => {
                pd.done = true;
                let ackers: Vec<NodeId> = pd.answered.iter().map(|a| a.0).collect();
                self.ghost
                    .acked
                    .push((pd.key.clone(), wv, pd.pref.clone(), ackers));
                let (c, s) = (pd.client, pd.seq);
                self.pending.remove(&id);
                Self::reply(cx, c, s, Outcome::Ok { value: None });
            }
            None if !pd.done && pd.answered.len() >= r => {
                pd.done = true;
                let seen = Self::merged(&pd.answered, vector);
                if seen.len() > 1 {
                    self.stats.sibling_reads += 1;
                    self.stats.most_siblings = self.stats.most_siblings.max(seen.len() as u64);
                }
                // One version: its value. Concurrent versions (version vectors): all of
                // them, for the client to merge; last-writer-wins keeps one anyway.
                let mut values: Vec<i64> = seen.iter().map(|v| v.value).collect();
                values.sort_unstable();
                values.dedup();
                let value = match values.len() {
                    0 => None,
                    1 => Some(crate::Val::Int(values[0])),
                    _ => Some(crate::Val::Siblings(values)),
                };
                let (c, s) = (pd.client, pd.seq);
                let pct = self.p.read_repair_pct;
                let repair = pct >= 100 || (pct > 0 && cx.rng().below(100) < pct);
                if let Some(pd) = self.pending.get_mut(&id) {
                    pd.repair = repair;
                }
                Self::reply(cx, c, s, Outcome::Ok { value });
                let answered = self.pending[&id].answered.clone();
                for (n, v) in answered {
                    self.repair(cx, id, n, &v);
                }
            }
            None if pd.done => self.repair(cx, id, from, &vers),
            _ => {}
        }
        // A read lingers for read repair until every node asked has answered.
        if let Some(pd) = self.pending.get(&id) {
            if pd.done && pd.answered.len() >= pd.asked.len() {
                self.pending.remove(&id);
            }
        }
    }

    /// Every version in `answered`, merged: the newest (last-writer-wins) or the
    /// siblings no other version has seen (version vectors).
    fn merged(answered: &[(NodeId, Vec<Ver>)], vector: bool) -> Vec<Ver> {
        let mut out = Vec::new();
        for v in answered.iter().flat_map(|a| a.1.iter()) {
            msg::merge(&mut out, v.clone(), vector);
        }
        out
    }

    /// Read repair: send node `to`, which answered `had`, what it lacks of the versions
    /// seen.
    fn repair(&mut self, cx: &mut Ctx<'_, Self>, id: u64, to: NodeId, had: &[Ver]) {
        let vector = self.p.vector();
        let Some(pd) = self.pending.get(&id) else {
            return;
        };
        let lacks: Vec<Ver> = Self::merged(&pd.answered, vector)
            .into_iter()
            .filter(|v| !msg::covers(had, v, vector))
            .collect();
        if !pd.repair || lacks.is_empty() {
            return;
        }
        let key = pd.key.clone();
        self.stats.repairs += 1;
        if to == self.id {
            for v in lacks {
                self.keep(cx, &key, v);
            }
        } else {
            cx.send(to, QMsg::Repair { key, vers: lacks });
        }
    }

    fn tick(&mut self, cx: &mut Ctx<'_, Self>) {
        let now = cx.now();
        let timeout = self.p.request_timeout_ms * MS;
        let ids: Vec<u64> = self.pending.keys().copied().collect();
        for id in ids {
            let Some(pd) = self.pending.get(&id) else {
                continue;
            };
            let age = now.saturating_sub(pd.started);
            if age >= timeout {
                let pd = self.pending.remove(&id).expect("present");
                if !pd.done {
                    self.stats.unavailable += 1;
                    let (need, what) = match pd.write {
                        Some(_) => (self.p.w, "acknowledged"),
                        None => (self.p.r, "answered"),
                    };
                    let reason = format!(
                        "only {} of the {need} replicas needed {what} within {} ms",
                        pd.answered.len(),
                        self.p.request_timeout_ms
                    );
                    // A write may be on the replicas that did acknowledge.
                    let outcome = match pd.write {
                        Some(_) => Outcome::Unknown { reason },
                        None => Outcome::Fail { reason },
                    };
                    Self::reply(cx, pd.client, pd.seq, outcome);
                }
                continue;
            }
            if self.p.sloppy && !pd.done && age >= self.p.sloppy_after_ms * MS {
                self.fall_back(cx, id, now);
            }
        }
        if now.saturating_sub(self.last_handoff) >= self.p.handoff_ms * MS {
            self.last_handoff = now;
            self.handoff(cx);
            self.gossip(cx);
        }
        if self.p.anti_entropy_ms > 0
            && now.saturating_sub(self.last_ae) >= self.p.anti_entropy_ms * MS
        {
            self.last_ae = now;
            self.anti_entropy(cx);
        }
    }

    /// Sloppy quorum: replace every node asked that has not answered by the next node
    /// on the ring not yet asked, as a stand-in for the owner.
    fn fall_back(&mut self, cx: &mut Ctx<'_, Self>, id: u64, now: Time) {
        let Some(pd) = self.pending.get(&id) else {
            return;
        };
        let silent: Vec<(NodeId, Option<NodeId>)> = pd
            .asked
            .iter()
            .filter(|(n, _)| !pd.answered.iter().any(|a| a.0 == *n))
            .copied()
            .collect();
        if silent.is_empty() {
            return;
        }
        let walk = self.ring.walk(&pd.key);
        let asked: Vec<NodeId> = pd.asked.iter().map(|a| a.0).collect();
        let mut spare = walk
            .into_iter()
            .filter(|n| !asked.contains(n) && !self.avoided(*n, now))
            .collect::<Vec<_>>()
            .into_iter();
        for (n, owner) in silent {
            if let Some(t) = self.avoid.get_mut(n as usize) {
                *t = now + AVOID;
            }
            if let Some(s) = spare.next() {
                // A stand-in for a stand-in keeps the hint for the real owner.
                self.ask(cx, id, s, Some(owner.unwrap_or(n)));
            }
        }
        self.run_local(cx);
    }

    /// Offer hints back to their owners.
    fn handoff(&mut self, cx: &mut Ctx<'_, Self>) {
        let offers: Vec<((NodeId, String), Ver)> = self
            .hints
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone())))
            .take(HANDOFF_BATCH)
            .collect();
        for ((owner, key), ver) in offers {
            if owner == self.id {
                // Its own key came back to it (a stand-in for itself never happens, but
                // a disk may hold one): keep it as a replica.
                self.keep(cx, &key, ver.clone());
                self.drop_hint(cx, owner, &key, &ver);
                continue;
            }
            cx.send(
                owner,
                QMsg::Handoff {
                    key: key.clone(),
                    ver: ver.clone(),
                },
            );
            if self.p.unsafe_drop_hints {
                self.drop_hint(cx, owner, &key, &ver);
            }
        }
    }

    /// The owner holds `ver`: forget it (a newer hint that came since stays).
    fn drop_hint(&mut self, cx: &mut Ctx<'_, Self>, owner: NodeId, key: &str, ver: &Ver) {
        let k = (owner, key.to_string());
        let Some(list) = self.hints.get_mut(&k) else {
            return;
        };
        let before = list.len();
        list.retain(|v| v != ver);
        if list.len() == before {
            return;
        }
        let vers = list.clone();
        if vers.is_empty() {
            self.hints.remove(&k);
        }
        self.stats.handed_off += 1;
        self.ghost
            .dropped
            .push((owner, key.to_string(), ver.clone()));
        cx.persist(QWrite::Hint {
            owner,
            key: key.to_string(),
            vers,
        });
    }

    /// The ranges both this node and `peer` replicate.
    fn shared_ranges(&self, peer: NodeId) -> Vec<u32> {
        (0..self.ring.ranges())
            .filter(|r| {
                let w = self.ring.walk_from(*r);
                let reps = &w[..self.n().min(w.len())];
                reps.contains(&self.id) && reps.contains(&peer)
            })
            .map(|r| r as u32)
            .collect()
    }

    /// The hash of each of `ranges` over this node's versions there.
    fn range_hashes(&self, ranges: &[u32]) -> Vec<(u32, u64)> {
        let mut h: BTreeMap<u32, u64> = ranges.iter().map(|r| (*r, 0)).collect();
        for (k, vs) in &self.store {
            let r = self.ring.range_of(k) as u32;
            let Some(x) = h.get_mut(&r) else { continue };
            for v in vs {
                let mut b = k.as_bytes().to_vec();
                b.extend_from_slice(&v.ts.to_le_bytes());
                b.extend_from_slice(&v.node.to_le_bytes());
                b.extend_from_slice(&v.value.to_le_bytes());
                for (n, c) in &v.vv {
                    b.extend_from_slice(&n.to_le_bytes());
                    b.extend_from_slice(&c.to_le_bytes());
                }
                // Order-free: the sum of the entries' hashes.
                *x = x.wrapping_add(ring::hash_bytes(&b));
            }
        }
        h.into_iter().collect()
    }

    fn root(hashes: &[(u32, u64)]) -> u64 {
        let mut b = Vec::with_capacity(hashes.len() * 12);
        for (r, h) in hashes {
            b.extend_from_slice(&r.to_le_bytes());
            b.extend_from_slice(&h.to_le_bytes());
        }
        ring::hash_bytes(&b)
    }

    /// The other members, in order.
    fn peers(&self) -> Vec<NodeId> {
        self.members
            .iter()
            .copied()
            .filter(|m| *m != self.id)
            .collect()
    }

    fn anti_entropy(&mut self, cx: &mut Ctx<'_, Self>) {
        let peers = self.peers();
        if peers.is_empty() {
            return;
        }
        // Peers in turn, so that every pair compares within a few rounds.
        let peer = peers[(self.stats.ae_turns % peers.len() as u64) as usize];
        self.stats.ae_turns += 1;
        let ranges = self.shared_ranges(peer);
        if ranges.is_empty() {
            return;
        }
        self.stats.ae_rounds += 1;
        let hashes = self.range_hashes(&ranges);
        cx.send(
            peer,
            QMsg::Digest {
                root: Self::root(&hashes),
                ranges: hashes,
            },
        );
    }

    fn versions_in(&self, ranges: &[u32]) -> Vec<(String, Ver)> {
        self.store
            .iter()
            .filter(|(k, _)| ranges.contains(&(self.ring.range_of(k) as u32)))
            .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone())))
            .collect()
    }

    fn handle(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: QMsg) {
        self.heard(from);
        match msg {
            QMsg::Put { id, key, ver, hint } => {
                if !self.p.unsafe_ack_unstored {
                    match hint {
                        Some(owner) if owner != self.id => self.keep_hint(cx, owner, &key, ver),
                        _ => {
                            self.keep(cx, &key, ver);
                        }
                    }
                }
                if from == self.id {
                    self.answered(cx, id, from, Vec::new());
                } else {
                    cx.send(from, QMsg::PutAck { id });
                }
            }
            QMsg::PutAck { id } => self.answered(cx, id, from, Vec::new()),
            QMsg::Get { id, key } => {
                let vers = self.holds(&key);
                if from == self.id {
                    self.answered(cx, id, from, vers);
                } else {
                    cx.send(from, QMsg::GetReply { id, vers });
                }
            }
            QMsg::GetReply { id, vers } => self.answered(cx, id, from, vers),
            QMsg::Repair { key, vers } => {
                for v in vers {
                    self.keep(cx, &key, v);
                }
            }
            QMsg::Handoff { key, ver } => {
                self.keep(cx, &key, ver.clone());
                cx.send(from, QMsg::HandoffAck { key, ver });
            }
            QMsg::HandoffAck { key, ver } => self.drop_hint(cx, from, &key, &ver),
            QMsg::Digest { root, ranges } => {
                let ids: Vec<u32> = ranges.iter().map(|r| r.0).collect();
                // Only ranges this node replicates with the sender count.
                let mine = self.shared_ranges(from);
                let ids: Vec<u32> = ids.into_iter().filter(|r| mine.contains(r)).collect();
                let own = self.range_hashes(&ids);
                if ids.len() == ranges.len() && Self::root(&own) == root {
                    return;
                }
                let differ: Vec<u32> = own
                    .iter()
                    .filter(|(r, h)| !ranges.iter().any(|(x, y)| x == r && y == h))
                    .map(|(r, _)| *r)
                    .collect();
                if differ.is_empty() {
                    return;
                }
                let entries = self.versions_in(&differ);
                self.stats.ae_keys += entries.len() as u64;
                cx.send(
                    from,
                    QMsg::Versions {
                        ranges: differ,
                        entries,
                        reply: true,
                    },
                );
            }
            QMsg::Members { epoch, members } => self.adopt(cx, epoch, members),
            QMsg::Transfer { entries } => {
                for (k, v) in entries {
                    self.keep(cx, &k, v);
                }
            }
            QMsg::Versions {
                ranges,
                entries,
                reply,
            } => {
                let mine = self.shared_ranges(from);
                let ranges: Vec<u32> = ranges.into_iter().filter(|r| mine.contains(r)).collect();
                for (k, v) in entries {
                    if ranges.contains(&(self.ring.range_of(&k) as u32)) {
                        self.keep(cx, &k, v);
                    }
                }
                if reply {
                    let back = self.versions_in(&ranges);
                    self.stats.ae_keys += back.len() as u64;
                    cx.send(
                        from,
                        QMsg::Versions {
                            ranges,
                            entries: back,
                            reply: false,
                        },
                    );
                }
            }
        }
    }
}

impl QuorumKv {
    /// The membership epoch this node knows.
    pub fn membership_epoch(&self) -> u64 {
        self.epoch
    }

    /// After a membership change, every few rounds tell one random member the members
    /// (a node that was down during the change learns them this way).
    fn gossip(&mut self, cx: &mut Ctx<'_, Self>) {
        if self.epoch == 0 {
            return;
        }
        let peers = self.peers();
        if peers.is_empty() {
            return;
        }
        let to = peers[cx.rng().below(peers.len() as u64) as usize];
        cx.send(
            to,
            QMsg::Members {
                epoch: self.epoch,
                members: self.members.clone(),
            },
        );
    }

    /// Take membership `members` of epoch `epoch` if it is newer (at equal epochs the
    /// larger set, then the larger list, so every node settles on the same one), then
    /// send the keys whose preference lists gained a node to it.
    fn adopt(&mut self, cx: &mut Ctx<'_, Self>, epoch: u64, mut members: Vec<NodeId>) {
        members.sort_unstable();
        members.dedup();
        let newer =
            (epoch, members.len(), &members) > (self.epoch, self.members.len(), &self.members);
        if !newer || members.is_empty() {
            return;
        }
        let old_ring = std::mem::replace(
            &mut self.ring,
            Ring::new(&members, self.p.vnodes.clamp(1, params::MAX_VNODES)),
        );
        let old_members = std::mem::replace(&mut self.members, members.clone());
        self.epoch = epoch;
        let top = members.iter().map(|m| *m as usize + 1).max().unwrap_or(0);
        if self.avoid.len() < top {
            self.avoid.resize(top, 0);
        }
        cx.persist(QWrite::Members {
            epoch,
            members: members.clone(),
        });
        // Tell everyone at once, old members too (a removed node learns it is out).
        for m in members.iter().chain(old_members.iter()) {
            if *m != self.id {
                cx.send(
                    *m,
                    QMsg::Members {
                        epoch,
                        members: members.clone(),
                    },
                );
            }
        }
        self.transfer(cx, &old_ring, &old_members);
    }

    /// Send each key this node holds to the nodes its preference list gained: every
    /// node of its old list sends; the first of them still a member (this node, if it
    /// is the only one left) counts the move for the view.
    fn transfer(&mut self, cx: &mut Ctx<'_, Self>, old_ring: &Ring, old_members: &[NodeId]) {
        if !old_members.contains(&self.id) {
            // A joining node held nothing under the old ring: what it has, it was sent.
            return;
        }
        let n = self.n();
        let mut out: BTreeMap<NodeId, Vec<(String, Ver)>> = BTreeMap::new();
        let (mut moved, mut owned, mut by_ring, mut by_mod) = (0, 0, 0, 0);
        let mod_n = |members: &[NodeId], key: &str| -> Option<NodeId> {
            let len = members.len() as u64;
            (len > 0).then(|| members[(ring::key_hash(key) % len) as usize])
        };
        for (k, vs) in &self.store {
            let old = old_ring.preference(k, n);
            let new = self.ring.preference(k, n);
            let sender = old
                .iter()
                .copied()
                .find(|x| self.members.contains(x))
                .unwrap_or(self.id);
            // Every replica of the old list sends what it has: one of them may have
            // missed a write the others acknowledged.
            if sender != self.id && !old.contains(&self.id) {
                continue;
            }
            for to in new.iter().filter(|x| !old.contains(x) && **x != self.id) {
                let list = out.entry(*to).or_default();
                list.extend(vs.iter().map(|v| (k.clone(), v.clone())));
            }
            if sender != self.id {
                continue;
            }
            moved += new.iter().filter(|x| !old.contains(x)).count() as u64;
            owned += 1;
            by_ring += (old.first() != new.first()) as u64;
            by_mod += (mod_n(old_members, k) != mod_n(&self.members, k)) as u64;
        }
        self.stats.moved = moved;
        self.stats.held = self.store.len() as u64;
        self.stats.owned = owned;
        self.stats.owner_ring = by_ring;
        self.stats.owner_mod_n = by_mod;
        for (to, entries) in out {
            cx.send(to, QMsg::Transfer { entries });
        }
    }
}

impl Protocol for QuorumKv {
    const NAME: &'static str = "quorum-kv";
    const LEADERLESS: bool = true;
    const SUMMARY: &'static str =
        "leaderless quorum replication on a consistent-hash ring (Dynamo style): N, R, W, sloppy quorums, read repair";
    const PARAMS: &'static [crate::ParamSpec] = params::QUORUM_PARAMS;
    const DATA_TYPE: crate::DataType = crate::DataType::REGISTER;
    type Params = QuorumParams;
    type Msg = QMsg;
    type Disk = QDisk;
    type Write = QWrite;
    type Monitor = QuorumMonitor;
    type Timer = QuorumTimer;

    fn patience(p: &QuorumParams) -> Time {
        p.request_timeout_ms * MS
    }

    fn param_problems(p: &QuorumParams) -> Vec<(&'static str, String)> {
        p.problems()
    }

    fn cluster_problems(p: &QuorumParams, nodes: usize) -> Vec<(&'static str, String)> {
        p.cluster_problems(nodes)
    }

    fn apply_write(disk: &mut QDisk, write: QWrite) {
        disk.apply(write);
    }

    fn boot(id: NodeId, members: &[NodeId], params: &QuorumParams, disk: Option<&QDisk>) -> Self {
        let size = members.iter().map(|m| *m as usize + 1).max().unwrap_or(0);
        let d = disk.cloned().unwrap_or_default();
        let (epoch, members) = d.members.clone().unwrap_or((0, members.to_vec()));
        let size = size.max(members.iter().map(|m| *m as usize + 1).max().unwrap_or(0));
        QuorumKv {
            id,
            p: *params,
            ring: Ring::new(&members, params.vnodes.clamp(1, params::MAX_VNODES)),
            members,
            epoch,
            store: d.store,
            hints: d.hints,
            pending: BTreeMap::new(),
            local: Vec::new(),
            nonce: 0,
            next: 0,
            avoid: vec![0; size.max(id as usize + 1)],
            last_handoff: 0,
            last_ae: 0,
            stats: Stats::default(),
            blank: disk.is_none(),
            ghost: Ghost::default(),
        }
    }

    fn start(&mut self, cx: &mut Ctx<'_, Self>) {
        self.nonce = cx.rng().next_u64() & 0xFFFF_FFFF;
        self.last_handoff = cx.now();
        self.last_ae = cx.now();
        cx.set_timer(QuorumTimer::Tick, TICK);
    }

    fn on_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: QMsg) {
        self.ghost = Ghost::default();
        self.handle(cx, from, msg);
    }

    fn on_timer(&mut self, cx: &mut Ctx<'_, Self>, timer: QuorumTimer) {
        self.ghost = Ghost::default();
        match timer {
            QuorumTimer::Tick => {
                self.tick(cx);
                cx.set_timer(QuorumTimer::Tick, TICK);
            }
        }
    }

    fn on_client(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest) {
        self.ghost = Ghost::default();
        self.begin(cx, req);
    }

    fn view(&self) -> crate::NodeView {
        view::view(self)
    }

    /// The membership epoch (0 until the first change).
    fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Any member takes a change: it bumps the membership epoch, tells every node and
    /// sends the key ranges that move. Every member asked computes the same new epoch.
    fn change_membership(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        change: crate::MembershipChange,
    ) -> Result<(), String> {
        self.ghost = Ghost::default();
        if !self.members.contains(&self.id) {
            return Err(format!("node {} is not a member", self.id));
        }
        let mut members = self.members.clone();
        match change {
            crate::MembershipChange::Add { node } => {
                if members.contains(&node) {
                    return Err(format!("node {node} is already a member"));
                }
                members.push(node);
            }
            crate::MembershipChange::Remove { node } => {
                if !members.contains(&node) {
                    return Err(format!("node {node} is not a member"));
                }
                if members.len() == 1 {
                    return Err(format!(
                        "node {node} is the last node: removing it would lose every key"
                    ));
                }
                members.retain(|m| *m != node);
            }
            crate::MembershipChange::Promote { .. } => {
                return Err("quorum-kv has no leader to promote: any node coordinates".to_string())
            }
        }
        self.adopt(cx, self.epoch + 1, members);
        Ok(())
    }

    fn invariants() -> &'static [&'static str] {
        check::INVARIANTS
    }

    fn check(
        monitor: &mut QuorumMonitor,
        changed: NodeId,
        nodes: &[Option<Self>],
        now: Time,
    ) -> Result<(), Violation> {
        monitor.observe(changed, nodes, now)
    }
}

#[cfg(test)]
mod tests;
