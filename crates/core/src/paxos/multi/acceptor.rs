//! The acceptor: the promise and the value accepted in each slot. The only durable
//! part of a node (with the snapshot that replaces truncated slots).

use super::msg::{AcceptedSlot, MultiPaxosDisk, MultiPaxosWrite};
use super::{MultiPaxos, MultiPaxosParams};
use crate::paxos::ghost::ALL_SLOTS;
use crate::paxos::{Ballot, Cmd, Ghost};
use crate::Ctx;
use std::collections::VecDeque;

#[derive(Clone, Debug, Default)]
pub struct Acceptor {
    promised: Ballot,
    /// Slots up to `base` are truncated (chosen, applied, in the snapshot).
    base: u64,
    /// Slot `base + 1 + k` at position `k`: `(ballot, value)` accepted, if any.
    slots: VecDeque<Option<(Ballot, Cmd)>>,
}

impl Acceptor {
    pub fn from_disk(d: &MultiPaxosDisk) -> Self {
        let mut a = Acceptor {
            promised: d.promised,
            base: d.snapshot.base,
            slots: VecDeque::new(),
        };
        for s in &d.accepted {
            a.store(s.slot, s.ballot, s.cmd.clone());
        }
        a
    }

    pub fn promised(&self) -> Ballot {
        self.promised
    }

    pub fn base(&self) -> u64 {
        self.base
    }

    /// The highest slot with something accepted (or the base).
    pub fn last_slot(&self) -> u64 {
        self.base + self.slots.len() as u64
    }

    pub fn get(&self, slot: u64) -> Option<&(Ballot, Cmd)> {
        if slot <= self.base {
            return None;
        }
        self.slots
            .get((slot - self.base - 1) as usize)
            .and_then(|s| s.as_ref())
    }

    /// Accepted values in slots from `from` on (phase 1b).
    pub fn accepted_from(&self, from: u64) -> Vec<AcceptedSlot> {
        let skip = from.saturating_sub(self.base + 1) as usize;
        self.slots
            .iter()
            .enumerate()
            .skip(skip)
            .filter_map(|(k, s)| {
                s.as_ref().map(|(b, c)| AcceptedSlot {
                    slot: self.base + 1 + k as u64,
                    ballot: *b,
                    cmd: c.clone(),
                })
            })
            .collect()
    }

    /// Accepted values still held, with their slots.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &(Ballot, Cmd))> {
        let base = self.base;
        self.slots
            .iter()
            .enumerate()
            .filter_map(move |(k, s)| s.as_ref().map(|x| (base + 1 + k as u64, x)))
    }

    fn store(&mut self, slot: u64, ballot: Ballot, cmd: Cmd) {
        if slot <= self.base {
            return;
        }
        let k = (slot - self.base - 1) as usize;
        if self.slots.len() <= k {
            self.slots.resize(k + 1, None);
        }
        self.slots[k] = Some((ballot, cmd));
    }

    /// Forget slots up to `upto`: they are chosen and kept in a snapshot.
    pub fn truncate(&mut self, upto: u64) {
        if upto <= self.base {
            return;
        }
        let n = ((upto - self.base) as usize).min(self.slots.len());
        self.slots.drain(..n);
        self.base = upto;
    }

    /// Phase 1b: promise `ballot` unless a higher one was promised. The promise is on
    /// disk before the reply leaves.
    pub fn prepare(
        &mut self,
        cx: &mut Ctx<'_, MultiPaxos>,
        p: &MultiPaxosParams,
        ballot: Ballot,
    ) -> bool {
        if ballot < self.promised {
            return false;
        }
        if ballot > self.promised {
            self.promised = ballot;
            if !p.unsafe_forget_promise {
                cx.persist(MultiPaxosWrite::Promise { ballot });
            }
        }
        true
    }

    /// Phase 2b: accept `cmd` in `slot` unless a higher ballot was promised. A slot
    /// already truncated is chosen: a correct leader proposes the chosen value there,
    /// so it is acknowledged (and reported to the checker) without being stored again.
    pub fn accept(
        &mut self,
        cx: &mut Ctx<'_, MultiPaxos>,
        p: &MultiPaxosParams,
        ghost: &mut Ghost,
        slot: u64,
        ballot: Ballot,
        cmd: &Cmd,
    ) -> bool {
        if ballot < self.promised && !p.unsafe_skip_promise_check {
            return false;
        }
        ghost.accept(slot, ALL_SLOTS, ballot, cmd.digest(), self.promised);
        self.promised = self.promised.max(ballot);
        if slot > self.base {
            self.store(slot, ballot, cmd.clone());
            cx.persist(MultiPaxosWrite::Accept(AcceptedSlot {
                slot,
                ballot,
                cmd: cmd.clone(),
            }));
        }
        true
    }
}
