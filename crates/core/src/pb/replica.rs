//! A replica: primary (head), backup (middle, tail), or outside the view.

use super::{
    Entry, Mode, PbMsg, PbWrite, Peer, PrimaryBackup, ReadFrom, Snapshot, View, Waiter, KEEP,
};
use crate::raft::Applied;
use crate::{digest, ClientRequest, Ctx, NodeId, Outcome, Time, MS};

/// Most entries in one append.
const BATCH: usize = 64;

impl PrimaryBackup {
    fn chain(&self) -> bool {
        self.p.mode == Mode::Chain
    }

    /// Whether this replica may answer clients now (with fencing: its lease lasts).
    pub(super) fn serving(&self, now: Time) -> bool {
        !self.p.fencing || now < self.lease_until
    }

    /// The newest epoch this replica knows of, this life or before its restart.
    fn known_epoch(&self) -> u64 {
        self.view.epoch.max(self.floor)
    }

    /// Holds the current epoch's state, as a member of the view.
    fn in_sync(&self) -> bool {
        self.view.epoch > 0 && self.synced == self.view.epoch && self.view.contains(self.id)
    }

    /// Where this replica's state comes from (none for the primary).
    pub(super) fn upstream(&self) -> Option<NodeId> {
        if !self.view.contains(self.id) || self.view.primary == Some(self.id) {
            return None;
        }
        if self.chain() {
            self.view.predecessor(self.id)
        } else {
            self.view.primary
        }
    }

    /// Where this replica sends its state.
    fn downstream(&self) -> Vec<NodeId> {
        if !self.view.contains(self.id) {
            return Vec::new();
        }
        if self.chain() {
            self.view.successor(self.id).into_iter().collect()
        } else if self.view.primary == Some(self.id) {
            self.view.backups.clone()
        } else {
            Vec::new()
        }
    }

    fn is_tail(&self) -> bool {
        self.view.tail() == Some(self.id)
    }

    // ---- the log ---------------------------------------------------------------------

    /// Rebuild from a disk entry at boot.
    pub(super) fn replay(&mut self, e: Entry) {
        if e.index != self.last + 1 {
            return;
        }
        self.store.apply(&e.req);
        self.push(e);
    }

    fn push(&mut self, e: Entry) {
        if self.epochs.last().map(|x| x.0) != Some(e.epoch) {
            self.epochs.push((e.epoch, e.index));
        }
        self.last = e.index;
        self.hash = e.hash;
        self.log.push_back(e);
        if self.log.len() > 2 * KEEP {
            while self.log.len() > KEEP {
                if let Some(x) = self.log.pop_front() {
                    self.base = x.index;
                    self.base_hash = x.hash;
                }
            }
        }
    }

    /// Apply and append a request at the next index (persisted); its outcome.
    fn append(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest, epoch: u64) -> Outcome {
        let outcome = match self.store.apply(&req) {
            Applied::Fresh(o) | Applied::Duplicate(o) => o,
            Applied::Stale => Outcome::Unknown {
                reason: format!("client {} already moved on", req.client),
            },
        };
        let index = self.last + 1;
        let hash = digest::mix(digest::mix(self.hash, index), digest::request(&req));
        let e = Entry {
            index,
            epoch,
            hash,
            req,
        };
        cx.persist(PbWrite::Append(e.clone()));
        self.push(e);
        self.since_snapshot += 1;
        if self.since_snapshot >= KEEP as u64 {
            // Keep the disk short: the store at the last index replaces the entries.
            self.since_snapshot = 0;
            cx.persist(PbWrite::Snapshot(Box::new(self.snapshot())));
        }
        outcome
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            index: self.last,
            hash: self.hash,
            state: self.store.clone(),
            epochs: self.epochs.clone(),
        }
    }

    fn install(&mut self, cx: &mut Ctx<'_, Self>, s: Snapshot) {
        self.blank = false;
        self.store = s.state.clone();
        self.last = s.index;
        self.hash = s.hash;
        self.base = s.index;
        self.base_hash = s.hash;
        self.epochs = s.epochs.clone();
        self.log.clear();
        self.since_snapshot = 0;
        cx.persist(PbWrite::Snapshot(Box::new(s)));
    }

    /// Entries after `from` (at most a batch), if still in memory.
    fn entries_after(&self, from: u64) -> Option<Vec<Entry>> {
        if from < self.base {
            return None;
        }
        let skip = (from - self.base) as usize;
        Some(self.log.iter().skip(skip).take(BATCH).cloned().collect())
    }

    // ---- views -----------------------------------------------------------------------

    fn adopt(&mut self, cx: &mut Ctx<'_, Self>, v: View) {
        let now = cx.now();
        let was_primary = self.is_primary();
        let old = self.view.epoch;
        let held = self.synced == old && old > 0;
        self.view = v;
        let e = self.view.epoch;
        // The disk is never empty once the node has been in a view: a restart with an
        // empty disk really lost it.
        cx.persist(PbWrite::View(self.view.clone()));
        if self.view.primary == Some(self.id) {
            // Promoted (or still primary): its state is the epoch's, unless it has no
            // state worth the name (a blank reboot in a later epoch).
            if held || !self.blank || e == 1 {
                self.synced = e;
                self.blank = false;
                // Acknowledged from now on means held by this view's backups.
                self.commit = 0;
                self.last_change = if was_primary {
                    format!("still primary in epoch {e}; transferring state to the new view")
                } else {
                    format!("promoted to primary in epoch {e}")
                };
            } else {
                self.last_change =
                    format!("named primary of epoch {e}, but rebooted blank: not serving");
            }
        } else {
            if was_primary {
                self.step_down(cx, format!("deposed: epoch {e} has another primary"));
            } else if self.view.contains(self.id) {
                self.last_change = format!("epoch {e}: waiting for state transfer");
            } else {
                self.last_change = format!("not in epoch {e}'s view");
            }
            if self.chain() && self.view.primary.is_none() {
                self.synced = 0;
            }
        }
        self.peers = self
            .downstream()
            .into_iter()
            .map(|node| Peer {
                node,
                synced: false,
                acked: 0,
                sent: 0,
                heard: now,
                snap_sent: None,
            })
            .collect();
        self.lease_until = 0;
        if self.in_sync() {
            self.transfer_all(cx);
        }
    }

    fn step_down(&mut self, cx: &mut Ctx<'_, Self>, why: String) {
        for w in std::mem::take(&mut self.waiters) {
            cx.reply(crate::ClientReply {
                client: w.client,
                seq: w.seq,
                outcome: Outcome::Unknown {
                    reason: format!("node {} stopped being primary", self.id),
                },
                at: None,
            });
        }
        self.fell_back = false;
        self.last_change = why;
    }

    /// Send a snapshot to every downstream replica not yet synced.
    fn transfer_all(&mut self, cx: &mut Ctx<'_, Self>) {
        let now = cx.now();
        for k in 0..self.peers.len() {
            if !self.peers[k].synced {
                self.send_snapshot(cx, k, now);
            }
        }
    }

    fn send_snapshot(&mut self, cx: &mut Ctx<'_, Self>, k: usize, now: Time) {
        let view = self.view.clone();
        let snapshot = Box::new(self.snapshot());
        let peer = &mut self.peers[k];
        peer.snap_sent = Some(now);
        peer.sent = snapshot.index;
        cx.send(peer.node, PbMsg::Snapshot { view, snapshot });
    }

    fn send_entries(&mut self, cx: &mut Ctx<'_, Self>, k: usize, now: Time) {
        let from = self.peers[k].acked;
        match self.entries_after(from) {
            Some(entries) if !entries.is_empty() => self.send_append(cx, k, from, entries),
            Some(_) => {}
            None => self.send_snapshot(cx, k, now),
        }
    }

    // ---- ticks -----------------------------------------------------------------------

    pub(super) fn ping(&mut self, cx: &mut Ctx<'_, Self>) {
        let now = cx.now();
        let dead = self.p.dead_timeout_ms * MS;
        let lagging = if self.is_primary() || (self.chain() && self.in_sync()) {
            self.peers
                .iter()
                .filter(|p| now.saturating_sub(p.heard) > dead)
                .map(|p| p.node)
                .collect()
        } else {
            Vec::new()
        };
        // Every view node hears it (with a Raft view store, the group's leader answers).
        for to in 0..self.p.view_nodes() as NodeId {
            cx.send(
                to,
                PbMsg::Ping {
                    epoch: self.view.epoch,
                    synced: self.synced,
                    last: self.last,
                    sent: now,
                    lagging: lagging.clone(),
                },
            );
        }
    }

    pub(super) fn replica_tick(&mut self, cx: &mut Ctx<'_, Self>) {
        let now = cx.now();
        self.ping(cx);
        if !self.in_sync() {
            return;
        }
        let interval = self.p.ping_interval_ms * MS;
        for k in 0..self.peers.len() {
            let p = &self.peers[k];
            if !p.synced {
                if p.snap_sent
                    .is_none_or(|t| now.saturating_sub(t) >= interval)
                {
                    self.send_snapshot(cx, k, now);
                }
            } else if p.acked < self.last {
                self.send_entries(cx, k, now);
            } else {
                // Nothing to send: an empty append, so that it answers (heartbeat).
                let (node, epoch, prev) = (p.node, self.view.epoch, self.last);
                cx.send(
                    node,
                    PbMsg::Append {
                        epoch,
                        prev,
                        entries: Vec::new(),
                    },
                );
            }
        }
        if self.p.mode == Mode::SemiSync && self.p.semi_sync_timeout_ms > 0 && !self.fell_back {
            let limit = self.p.semi_sync_timeout_ms * MS;
            if self
                .waiters
                .iter()
                .any(|w| w.write && now.saturating_sub(w.since) >= limit)
            {
                self.fell_back = true;
                self.last_change = format!(
                    "semi-sync: no {} backup acks for {} ms; fell back to async",
                    self.p.acks, self.p.semi_sync_timeout_ms
                );
            }
        }
        self.flush(cx);
    }

    // ---- messages --------------------------------------------------------------------

    pub(super) fn replica_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: PbMsg) {
        let now = cx.now();
        match msg {
            PbMsg::View { view, sent } => {
                let epoch = view.epoch;
                if epoch > self.view.epoch {
                    self.adopt(cx, view);
                }
                if self.view.epoch == epoch && self.view.contains(self.id) {
                    self.lease_until = self.lease_until.max(sent + self.p.lease_ms * MS);
                    self.flush(cx);
                }
            }
            PbMsg::Snapshot { view, snapshot } => {
                if view.epoch < self.known_epoch() {
                    if self.p.fencing {
                        let epoch = self.known_epoch();
                        cx.send(from, PbMsg::Stale { epoch });
                    }
                    return;
                }
                if view.epoch > self.view.epoch {
                    self.adopt(cx, view);
                }
                if self.upstream() != Some(from) {
                    return;
                }
                let e = self.view.epoch;
                let index = snapshot.index;
                if self.synced == e && index <= self.last {
                    // A late copy of a transfer already installed: the log has moved on.
                    let last = self.last;
                    cx.send(
                        from,
                        PbMsg::Ack {
                            epoch: e,
                            last,
                            synced: true,
                        },
                    );
                    return;
                }
                self.install(cx, *snapshot);
                self.synced = e;
                self.transfer = Some((from, index));
                self.last_change =
                    format!("state transfer from node {from}: snapshot at index {index}, then the log after it");
                cx.send(
                    from,
                    PbMsg::Ack {
                        epoch: e,
                        last: self.last,
                        synced: true,
                    },
                );
                // Pass the new state on down the chain.
                for p in self.peers.iter_mut() {
                    p.synced = false;
                    p.snap_sent = None;
                }
                self.transfer_all(cx);
            }
            PbMsg::Append {
                epoch,
                prev,
                entries,
            } => self.on_append(cx, from, epoch, prev, entries),
            PbMsg::Ack {
                epoch,
                last,
                synced,
            } => {
                if epoch != self.view.epoch || !self.in_sync() {
                    return;
                }
                let Some(k) = self.peers.iter().position(|p| p.node == from) else {
                    return;
                };
                let p = &mut self.peers[k];
                p.heard = now;
                if !synced {
                    p.synced = false;
                    if p.snap_sent
                        .is_none_or(|t| now.saturating_sub(t) >= self.p.ping_interval_ms * MS)
                    {
                        self.send_snapshot(cx, k, now);
                    }
                    return;
                }
                p.synced = true;
                p.acked = last;
                if p.sent < last {
                    p.sent = last;
                }
                if last < self.last && p.sent <= last {
                    self.send_entries(cx, k, now);
                }
                self.flush(cx);
            }
            PbMsg::Stale { epoch } => {
                if epoch > self.view.epoch && self.is_primary() {
                    // Until the view service says who leads in that epoch, it serves
                    // nobody (it may still be primary there).
                    self.lease_until = 0;
                    self.last_change = format!(
                        "fenced: node {from} is already in epoch {epoch}; serving nobody until the view service answers"
                    );
                }
            }
            PbMsg::Forward { req } => self.client(cx, req, true),
            PbMsg::Ping { .. } | PbMsg::Raft { .. } => {}
        }
    }

    fn on_append(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        from: NodeId,
        epoch: u64,
        prev: u64,
        entries: Vec<Entry>,
    ) {
        let now = cx.now();
        if epoch < self.known_epoch() && self.p.fencing {
            let mine = self.known_epoch();
            cx.send(from, PbMsg::Stale { epoch: mine });
            return;
        }
        let current =
            epoch == self.view.epoch && self.synced == epoch && self.upstream() == Some(from);
        // Without fencing, a replica (even a newer primary) takes appends from a primary
        // of an older epoch too: that is how a split brain mixes two primaries' writes.
        let unfenced_old = !self.p.fencing && epoch < self.view.epoch;
        if !current && !unfenced_old {
            cx.send(
                from,
                PbMsg::Ack {
                    epoch,
                    last: self.last,
                    synced: false,
                },
            );
            return;
        }
        let _ = prev;
        let first_new = self.last + 1;
        let tail = self.is_tail() && self.chain() && current;
        let serving = self.serving(now);
        for e in entries {
            if e.index != self.last + 1 {
                continue;
            }
            let req = e.req.clone();
            let written = e.epoch;
            let outcome = self.append(cx, e.req, e.epoch);
            if tail && serving {
                self.ghost.acked.push((self.last, self.hash));
                // The tail acknowledges: the write's place is this entry.
                cx.reply(crate::ClientReply {
                    client: req.client,
                    seq: req.seq,
                    at: (!req.op.is_read()).then_some(crate::LogPos {
                        index: self.last,
                        term: Some(written),
                    }),
                    outcome,
                });
            }
        }
        cx.send(
            from,
            PbMsg::Ack {
                epoch,
                last: self.last,
                synced: true,
            },
        );
        if self.chain() && current && self.last >= first_new {
            for k in 0..self.peers.len() {
                let p = &self.peers[k];
                if p.synced && p.sent + 1 >= first_new && p.sent < self.last {
                    self.send_entries_from(cx, k, p.sent);
                }
            }
        }
    }

    fn send_entries_from(&mut self, cx: &mut Ctx<'_, Self>, k: usize, from: u64) {
        if let Some(entries) = self.entries_after(from).filter(|e| !e.is_empty()) {
            self.send_append(cx, k, from, entries);
        }
    }

    /// Send peer `k` the entries after `from` (not empty), and note what it was sent.
    fn send_append(&mut self, cx: &mut Ctx<'_, Self>, k: usize, from: u64, entries: Vec<Entry>) {
        let peer = &mut self.peers[k];
        peer.sent = entries.last().map(|e| e.index).unwrap_or(from);
        let epoch = self.view.epoch;
        cx.send(
            peer.node,
            PbMsg::Append {
                epoch,
                prev: from,
                entries,
            },
        );
    }

    // ---- clients ---------------------------------------------------------------------

    pub(super) fn client(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest, forwarded: bool) {
        let now = cx.now();
        let read = req.op.is_read();
        if read && self.p.read_from == ReadFrom::Any && self.in_sync() {
            // Any replica answers from its own copy.
            let outcome = self.read(&req);
            self.reply(cx, &req, outcome);
            return;
        }
        if self.chain() {
            if forwarded && !read && self.is_tail() {
                // A retried write the head had applied: answer if it reached the tail.
                if let Some(s) = self.store.session(req.client).filter(|s| s.seq == req.seq) {
                    let outcome = s.outcome.clone();
                    if self.serving(now) {
                        self.reply(cx, &req, outcome);
                    }
                }
                return;
            }
            let target = if read {
                self.view.tail()
            } else {
                self.view.primary
            };
            if target == Some(self.id) && self.in_sync() && self.serving(now) {
                if read {
                    let outcome = self.read(&req);
                    self.reply(cx, &req, outcome);
                } else {
                    self.head_write(cx, req);
                }
            } else if !forwarded && target.is_some() && target != Some(self.id) {
                let to = target.unwrap_or(self.id);
                cx.send(to, PbMsg::Forward { req });
            } else {
                self.redirect(cx, &req, self.view.primary);
            }
            return;
        }
        if !(self.is_primary() && self.serving(now)) {
            self.redirect(cx, &req, self.view.primary);
            return;
        }
        if self
            .waiters
            .iter()
            .any(|w| w.client == req.client && w.seq == req.seq)
        {
            return; // A retry: the first attempt's answer will come.
        }
        let last = self.last;
        if let Some(s) = self.store.session(req.client) {
            if s.seq == req.seq {
                // Applied before (perhaps by an earlier primary): answer once the whole
                // log up to now is acknowledged.
                let outcome = s.outcome.clone();
                self.wait(cx, &req, last, outcome, false);
                return;
            }
            if req.seq < s.seq {
                let reason = format!(
                    "client {} already moved on to request {}",
                    req.client, s.seq
                );
                self.reply(cx, &req, Outcome::Unknown { reason });
                return;
            }
        }
        if read {
            let outcome = self.read(&req);
            self.wait(cx, &req, last, outcome, false);
            return;
        }
        let epoch = self.view.epoch;
        self.ghost.accepted = Some(epoch);
        let outcome = self.append(cx, req.clone(), epoch);
        let index = self.last;
        for k in 0..self.peers.len() {
            let p = &self.peers[k];
            if p.synced && p.sent + 1 == index {
                self.send_entries_from(cx, k, index - 1);
            }
        }
        self.wait(cx, &req, index, outcome, true);
    }

    fn head_write(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest) {
        if let Some(s) = self.store.session(req.client) {
            if s.seq >= req.seq {
                // Applied here already: the tail answers once it has it.
                if let Some(t) = self.view.tail().filter(|t| *t != self.id) {
                    cx.send(t, PbMsg::Forward { req });
                } else if s.seq == req.seq {
                    let outcome = s.outcome.clone();
                    self.reply(cx, &req, outcome);
                }
                return;
            }
        }
        let epoch = self.view.epoch;
        self.ghost.accepted = Some(epoch);
        let outcome = self.append(cx, req.clone(), epoch);
        let index = self.last;
        if self.is_tail() {
            self.ghost.acked.push((index, self.hash));
            self.reply(cx, &req, outcome);
            return;
        }
        for k in 0..self.peers.len() {
            let p = &self.peers[k];
            if p.synced && p.sent + 1 == index {
                self.send_entries_from(cx, k, index - 1);
            }
        }
    }

    fn read(&self, req: &ClientRequest) -> Outcome {
        Outcome::Ok {
            value: self.store.kv.get(req.op.key()).cloned(),
        }
    }

    fn wait(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        req: &ClientRequest,
        index: u64,
        outcome: Outcome,
        write: bool,
    ) {
        self.waiters.push(Waiter {
            index,
            client: req.client,
            seq: req.seq,
            outcome,
            since: cx.now(),
            write,
        });
        self.flush(cx);
    }

    /// The index every backup required by the mode holds.
    fn acked_index(&self) -> u64 {
        let mut acked: Vec<u64> = self
            .peers
            .iter()
            .map(|p| if p.synced { p.acked.min(self.last) } else { 0 })
            .collect();
        match self.p.mode {
            Mode::Async => self.last,
            Mode::Sync | Mode::Chain => acked.iter().copied().min().unwrap_or(self.last),
            Mode::SemiSync => {
                if self.fell_back {
                    return self.last;
                }
                let k = (self.p.acks as usize).min(acked.len());
                if k == 0 {
                    return self.last;
                }
                acked.sort_unstable_by(|a, b| b.cmp(a));
                acked[k - 1]
            }
        }
    }

    /// Answer the waiters whose index is acknowledged (while serving).
    pub(super) fn flush(&mut self, cx: &mut Ctx<'_, Self>) {
        if !self.is_primary() || self.chain() {
            return;
        }
        let a = self.acked_index();
        if self.fell_back && self.p.mode == Mode::SemiSync {
            let k = (self.p.acks as usize).min(self.peers.len());
            let caught_up = self
                .peers
                .iter()
                .filter(|p| p.synced && p.acked >= self.last)
                .count();
            if caught_up >= k {
                self.fell_back = false;
                self.last_change =
                    "semi-sync: backups caught up; acknowledging semi-synchronously again"
                        .to_string();
            }
        }
        self.commit = self.commit.max(a);
        if self.waiters.is_empty() || !self.serving(cx.now()) {
            return;
        }
        let commit = self.commit;
        if self.waiters.iter().all(|w| w.index > commit) {
            return;
        }
        let sync = self.p.mode == Mode::Sync;
        let mut keep = Vec::with_capacity(self.waiters.len());
        for w in std::mem::take(&mut self.waiters) {
            if w.index <= commit {
                if w.write && sync {
                    if let Some(h) = self.hash_at(w.index) {
                        self.ghost.acked.push((w.index, h));
                    }
                }
                cx.reply(crate::ClientReply {
                    client: w.client,
                    seq: w.seq,
                    outcome: w.outcome,
                    // The epoch the entry was written in (a primary may reply after
                    // the view moved on, for an entry of its older epoch).
                    at: w.write.then_some(crate::LogPos {
                        index: w.index,
                        term: Some(self.epoch_at(w.index).unwrap_or(self.view.epoch)),
                    }),
                });
            } else {
                keep.push(w);
            }
        }
        if sync && !self.ghost.acked.is_empty() {
            self.ghost.acked_backups = self.view.backups.clone();
        }
        self.waiters = keep;
    }
}
