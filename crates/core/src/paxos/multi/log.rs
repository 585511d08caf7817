//! The learner's slot log: which slots are known chosen, the chosen prefix (the commit
//! index), and the key-value store it has been applied to. Slots up to `base` are
//! truncated into the store (a snapshot).

use super::msg::Snapshot;
use super::MultiPaxos;
use crate::paxos::{Cmd, Ghost};
use crate::raft::{Applied, Kv};
use crate::{ClientId, ClientReply, Ctx, Outcome};
use std::collections::{BTreeMap, VecDeque};

#[derive(Clone, Debug, Default)]
pub struct SlotLog {
    base: u64,
    /// Slot `base + 1 + k` at position `k`: its value once known chosen.
    chosen: VecDeque<Option<Cmd>>,
    /// Every slot up to `commit` is chosen and applied.
    commit: u64,
    state: Kv,
}

impl SlotLog {
    pub fn from_snapshot(s: &Snapshot) -> Self {
        SlotLog {
            base: s.base,
            chosen: VecDeque::new(),
            commit: s.base,
            state: s.state.clone(),
        }
    }

    pub fn base(&self) -> u64 {
        self.base
    }
    pub fn commit(&self) -> u64 {
        self.commit
    }
    pub fn state(&self) -> &Kv {
        &self.state
    }
    /// The last slot known chosen (or the commit index).
    pub fn last_slot(&self) -> u64 {
        self.base + self.chosen.len() as u64
    }

    pub fn is_chosen(&self, slot: u64) -> bool {
        slot <= self.base || self.get(slot).is_some()
    }

    pub fn get(&self, slot: u64) -> Option<&Cmd> {
        if slot <= self.base {
            return None;
        }
        self.chosen
            .get((slot - self.base - 1) as usize)
            .and_then(|c| c.as_ref())
    }

    /// Learn that `cmd` is chosen in `slot`; false if that was known.
    pub fn learn(&mut self, ghost: &mut Ghost, slot: u64, cmd: Cmd) -> bool {
        if self.is_chosen(slot) {
            return false;
        }
        ghost.learn(slot, cmd.digest());
        let k = (slot - self.base - 1) as usize;
        if self.chosen.len() <= k {
            self.chosen.resize(k + 1, None);
        }
        self.chosen[k] = Some(cmd);
        true
    }

    /// Apply the chosen prefix; answer the clients a leader is holding (`waiters`).
    pub fn advance(&mut self, cx: &mut Ctx<'_, MultiPaxos>, waiters: &mut BTreeMap<ClientId, u64>) {
        while self.commit >= self.base {
            let k = (self.commit - self.base) as usize;
            let Some(Some(cmd)) = self.chosen.get(k) else {
                break;
            };
            if let Cmd::Client(req) = cmd {
                let res = self.state.apply(req);
                if waiters.get(&req.client) == Some(&req.seq) {
                    waiters.remove(&req.client);
                    let outcome = match res {
                        Applied::Fresh(o) | Applied::Duplicate(o) => o,
                        Applied::Stale => Outcome::Unknown {
                            reason: "superseded by a newer request of the same client".into(),
                        },
                    };
                    cx.reply(ClientReply {
                        client: req.client,
                        seq: req.seq,
                        outcome,
                        // The slot; the log keeps no ballot for a chosen value.
                        at: Some(crate::LogPos {
                            index: self.commit,
                            term: None,
                        }),
                    });
                }
            }
            self.commit += 1;
        }
    }

    /// The store after every slot up to the commit index.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            base: self.commit,
            state: self.state.clone(),
        }
    }

    /// Truncate the applied slots once `threshold` of them accumulated; the snapshot to
    /// persist if it did.
    pub fn maybe_truncate(&mut self, threshold: u64) -> Option<Snapshot> {
        if threshold == 0 || self.commit < self.base + threshold {
            return None;
        }
        let n = ((self.commit - self.base) as usize).min(self.chosen.len());
        self.chosen.drain(..n);
        self.base = self.commit;
        Some(self.snapshot())
    }

    /// Install a snapshot that is ahead of the commit index; false if it is not.
    pub fn install(&mut self, s: &Snapshot) -> bool {
        if s.base <= self.commit {
            return false;
        }
        let n = ((s.base - self.base) as usize).min(self.chosen.len());
        self.chosen.drain(..n);
        self.base = s.base;
        self.commit = s.base;
        self.state = s.state.clone();
        true
    }
}
