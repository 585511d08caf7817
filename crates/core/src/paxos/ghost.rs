//! The Paxos invariant checker, shared by Basic Paxos and Multi-Paxos.
//!
//! A node never reports to the checker through the protocol: it keeps a *ghost* record
//! ([`Ghost`]) of what it did in the event it is handling (each value it accepted, with
//! the ballot and the promise it held just before; each value it learned as chosen).
//! The record is cleared at the start of every event and read by the monitor right
//! after it. It never influences the protocol.
//!
//! The monitor ([`PaxosMonitor`]) keeps, for the whole run:
//! * every `(slot, ballot, value)` accepted and by which acceptors: a value is *chosen*
//!   in a slot once a majority accepted it in one ballot;
//! * the highest promise every acceptor ever held, across its restarts (a restart
//!   from its disk must keep its promises; one with a blank disk starts afresh).
//!
//! and checks, after every event:
//! * [`ONE_VALUE_CHOSEN`]: at most one value is chosen per slot;
//! * [`CHOSEN_STABLE`]: once `v` is chosen in ballot `b`, no acceptor accepts another
//!   value in a ballot at or above `b` (P2b of *Paxos Made Simple*: the chosen value
//!   never changes);
//! * [`KEEPS_PROMISE`]: an acceptor never accepts in a ballot below its promise;
//! * [`LEARNS_CHOSEN`]: a learner only learns values that are chosen.

use super::Ballot;
use crate::{NodeId, Violation};

pub const ONE_VALUE_CHOSEN: &str = "At Most One Value Chosen";
pub const CHOSEN_STABLE: &str = "Chosen Value Never Changes";
pub const KEEPS_PROMISE: &str = "Acceptor Keeps Its Promise";
pub const LEARNS_CHOSEN: &str = "Learner Learns Only Chosen Values";

pub const INVARIANTS: &[&str] = &[
    ONE_VALUE_CHOSEN,
    CHOSEN_STABLE,
    KEEPS_PROMISE,
    LEARNS_CHOSEN,
];

/// The scope of a promise that covers every slot (Multi-Paxos's phase 1 runs once for
/// all of them). Basic Paxos promises per instance: its scope is the slot.
pub const ALL_SLOTS: u64 = u64::MAX;

/// One acceptance, as the acceptor reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GhostAccept {
    pub slot: u64,
    /// The promise it is checked against: [`ALL_SLOTS`] or the slot itself.
    pub scope: u64,
    pub ballot: Ballot,
    /// [`super::Cmd::digest`] of the value.
    pub value: u64,
    /// The promise the acceptor held just before accepting.
    pub promised_before: Ballot,
}

/// What one node did in the event being handled (ghost state: never read by the
/// protocol). Cleared at the start of each event.
#[derive(Clone, Debug, Default)]
pub struct Ghost {
    pub accepts: Vec<GhostAccept>,
    /// `(slot, value digest)` learned as chosen.
    pub learns: Vec<(u64, u64)>,
    /// `(scope, ballot)`: promises made in this event (by protocols whose promises are
    /// per slot; see [`PaxosMonitor::observe`]).
    pub promises: Vec<(u64, Ballot)>,
    /// The node was just booted with a blank disk (first boot, or the disk was lost):
    /// it made no promises yet.
    pub blank: bool,
}

impl Ghost {
    pub fn clear(&mut self) {
        self.accepts.clear();
        self.learns.clear();
        self.promises.clear();
        self.blank = false;
    }
    pub fn accept(
        &mut self,
        slot: u64,
        scope: u64,
        ballot: Ballot,
        value: u64,
        promised_before: Ballot,
    ) {
        self.accepts.push(GhostAccept {
            slot,
            scope,
            ballot,
            value,
            promised_before,
        });
    }
    pub fn promise(&mut self, scope: u64, ballot: Ballot) {
        self.promises.push((scope, ballot));
    }
    pub fn learn(&mut self, slot: u64, value: u64) {
        self.learns.push((slot, value));
    }
}

/// Acceptances of one value in one ballot.
#[derive(Clone, Debug)]
struct Votes {
    ballot: Ballot,
    value: u64,
    /// Bit `n`: acceptor `n` accepted (nodes 0..=63 are tracked exactly; higher ids
    /// fold onto bit 63, which never over-counts since each bit counts once).
    who: u64,
    /// Set for clusters above 64 nodes: the exact list.
    more: Vec<NodeId>,
}

#[derive(Clone, Debug, Default)]
struct SlotMon {
    votes: Vec<Votes>,
    /// `(ballot, value)` first chosen.
    chosen: Option<(Ballot, u64)>,
}

/// How the checker names values in its reports (the protocol knows how to describe a
/// digest it holds).
pub trait Describe {
    /// A description of the value with `digest` at `slot`, if this node knows it.
    fn describe(&self, slot: u64, digest: u64) -> Option<String>;
    /// What to call instance `slot` in a report, if not "slot N".
    fn instance(&self, _slot: u64) -> Option<String> {
        None
    }
}

/// Ghost state of the Paxos invariant checker.
#[derive(Clone, Debug, Default)]
pub struct PaxosMonitor {
    /// Slots below [`DENSE`], by number.
    slots: Vec<SlotMon>,
    /// Other slots (Basic Paxos names its instances by a digest of the key).
    sparse: std::collections::BTreeMap<u64, SlotMon>,
    /// Highest promise each acceptor held for all slots, across restarts from its disk.
    promised: Vec<Ballot>,
    /// The same for promises of one slot: `(node, slot)`.
    promised_slot: std::collections::BTreeMap<(NodeId, u64), Ballot>,
    /// A description of each chosen value, for reports.
    chosen_text: Vec<(u64, String)>,
}

fn count(v: &Votes) -> usize {
    v.who.count_ones() as usize + v.more.len()
}

/// Slots below this are kept in a vector; others in a map.
const DENSE: u64 = 1 << 24;

impl PaxosMonitor {
    fn slot(&mut self, slot: u64) -> &mut SlotMon {
        if slot >= DENSE {
            return self.sparse.entry(slot).or_default();
        }
        let i = slot as usize;
        if self.slots.len() <= i {
            self.slots.resize(i + 1, SlotMon::default());
        }
        &mut self.slots[i]
    }

    /// What was chosen at `slot`, if anything: `(ballot, value digest)`.
    pub fn chosen(&self, slot: u64) -> Option<(Ballot, u64)> {
        if slot >= DENSE {
            return self.sparse.get(&slot).and_then(|s| s.chosen);
        }
        self.slots.get(slot as usize).and_then(|s| s.chosen)
    }

    fn name<N: Describe>(&self, nodes: &[Option<N>], slot: u64) -> String {
        nodes
            .iter()
            .flatten()
            .find_map(|n| n.instance(slot))
            .unwrap_or_else(|| format!("slot {slot}"))
    }

    fn text<N: Describe>(&self, nodes: &[Option<N>], slot: u64, value: u64) -> String {
        if let Some((_, t)) = self.chosen_text.iter().find(|c| c.0 == slot) {
            if self.chosen(slot).is_some_and(|c| c.1 == value) {
                return format!("`{t}`");
            }
        }
        nodes
            .iter()
            .flatten()
            .find_map(|n| n.describe(slot, value))
            .map(|t| format!("`{t}`"))
            .unwrap_or_else(|| format!("a value (digest {value:016x})"))
    }

    fn held(&self, id: NodeId, scope: u64) -> Ballot {
        if scope == ALL_SLOTS {
            self.promised.get(id as usize).copied().unwrap_or_default()
        } else {
            self.promised_slot
                .get(&(id, scope))
                .copied()
                .unwrap_or_default()
        }
    }

    fn raise(&mut self, id: NodeId, scope: u64, b: Ballot) {
        if scope == ALL_SLOTS {
            let i = id as usize;
            if self.promised.len() <= i {
                self.promised.resize(i + 1, Ballot::default());
            }
            self.promised[i] = self.promised[i].max(b);
        } else if !b.is_none() {
            let e = self.promised_slot.entry((id, scope)).or_default();
            *e = (*e).max(b);
        }
    }

    /// Check what node `id` did in its last event (`ghost`). `promised_now` lists its
    /// promises after the event, by scope (at least those the event touched); `quorum`
    /// is the size of a majority of acceptors.
    pub fn observe<N: Describe>(
        &mut self,
        id: NodeId,
        ghost: &Ghost,
        promised_now: impl IntoIterator<Item = (u64, Ballot)>,
        quorum: usize,
        nodes: &[Option<N>],
    ) -> Result<(), Violation> {
        let i = id as usize;
        if ghost.blank {
            if let Some(p) = self.promised.get_mut(i) {
                *p = Ballot::default();
            }
            self.promised_slot.retain(|k, _| k.0 != id);
        }
        for a in &ghost.accepts {
            let before = self.held(id, a.scope);
            let held = a.promised_before.max(before);
            if a.ballot < held {
                let forgot = a.promised_before < before;
                return Err(Violation::new(
                    KEEPS_PROMISE,
                    format!(
                        "acceptor {id} accepted {} in {} in ballot {}, below its promise to ballot {held}{}",
                        self.text(nodes, a.slot, a.value),
                        self.name(nodes, a.slot),
                        a.ballot,
                        if forgot { " (which it forgot when it restarted)" } else { "" }
                    ),
                ));
            }
            let s = self.slot(a.slot);
            if let Some((cb, cv)) = s.chosen {
                if a.ballot >= cb && a.value != cv {
                    let (was, now) = (
                        self.text(nodes, a.slot, cv),
                        self.text(nodes, a.slot, a.value),
                    );
                    return Err(Violation::new(
                        CHOSEN_STABLE,
                        format!(
                            "{} chose {was} in ballot {cb}, but acceptor {id} then accepted {now} in ballot {}",
                            self.name(nodes, a.slot), a.ballot
                        ),
                    ));
                }
            }
            let s = self.slot(a.slot);
            let k = match s
                .votes
                .iter()
                .position(|v| v.ballot == a.ballot && v.value == a.value)
            {
                Some(k) => k,
                None => {
                    s.votes.push(Votes {
                        ballot: a.ballot,
                        value: a.value,
                        who: 0,
                        more: Vec::new(),
                    });
                    s.votes.len() - 1
                }
            };
            let v = &mut s.votes[k];
            if id < 64 {
                v.who |= 1 << id;
            } else if !v.more.contains(&id) {
                v.more.push(id);
            }
            if count(v) >= quorum {
                match s.chosen {
                    None => {
                        s.chosen = Some((a.ballot, a.value));
                        let t = nodes
                            .get(i)
                            .and_then(|n| n.as_ref())
                            .and_then(|n| n.describe(a.slot, a.value))
                            .unwrap_or_else(|| format!("digest {:016x}", a.value));
                        self.chosen_text.push((a.slot, t));
                        if self.chosen_text.len() > 256 {
                            self.chosen_text.drain(..128);
                        }
                    }
                    Some((cb, cv)) if cv != a.value => {
                        let (was, now) = (
                            self.text(nodes, a.slot, cv),
                            self.text(nodes, a.slot, a.value),
                        );
                        return Err(Violation::new(
                            ONE_VALUE_CHOSEN,
                            format!(
                                "{} chose {was} in ballot {cb}, and now also {now}: a majority accepted it in ballot {} (the last was acceptor {id})",
                                self.name(nodes, a.slot), a.ballot
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        for (scope, b) in promised_now {
            self.raise(id, scope, b);
        }
        for &(slot, value) in &ghost.learns {
            match self.chosen(slot) {
                Some((_, v)) if v == value => {}
                Some((b, v)) => {
                    return Err(Violation::new(
                        LEARNS_CHOSEN,
                        format!(
                            "node {id} learned {} in {}, but {} was chosen there (ballot {b})",
                            self.text(nodes, slot, value),
                            self.name(nodes, slot),
                            self.text(nodes, slot, v)
                        ),
                    ))
                }
                None => {
                    return Err(Violation::new(
                        LEARNS_CHOSEN,
                        format!(
                        "node {id} learned {} in {}, but no majority has accepted any value there",
                        self.text(nodes, slot, value),
                        self.name(nodes, slot)
                    ),
                    ))
                }
            }
        }
        Ok(())
    }
}
