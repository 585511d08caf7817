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

pub const INVARIANTS: &[&str] = &[ONE_VALUE_CHOSEN, CHOSEN_STABLE, KEEPS_PROMISE, LEARNS_CHOSEN];

/// One acceptance, as the acceptor reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GhostAccept {
    pub slot: u64,
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
    /// The node was just booted with a blank disk (first boot, or the disk was lost):
    /// it made no promises yet.
    pub blank: bool,
}

impl Ghost {
    pub fn clear(&mut self) {
        self.accepts.clear();
        self.learns.clear();
        self.blank = false;
    }
    pub fn accept(&mut self, slot: u64, ballot: Ballot, value: u64, promised_before: Ballot) {
        self.accepts.push(GhostAccept {
            slot,
            ballot,
            value,
            promised_before,
        });
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
}

/// Ghost state of the Paxos invariant checker.
#[derive(Clone, Debug, Default)]
pub struct PaxosMonitor {
    slots: Vec<SlotMon>,
    /// Highest promise each acceptor held, across restarts from its disk.
    promised: Vec<Ballot>,
    /// A description of each chosen value, for reports.
    chosen_text: Vec<(u64, String)>,
}

fn count(v: &Votes) -> usize {
    v.who.count_ones() as usize + v.more.len()
}

impl PaxosMonitor {
    fn slot(&mut self, slot: u64) -> &mut SlotMon {
        let i = slot as usize;
        if self.slots.len() <= i {
            self.slots.resize(i + 1, SlotMon::default());
        }
        &mut self.slots[i]
    }

    /// What was chosen at `slot`, if anything: `(ballot, value digest)`.
    pub fn chosen(&self, slot: u64) -> Option<(Ballot, u64)> {
        self.slots.get(slot as usize).and_then(|s| s.chosen)
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

    /// Check what node `id` did in its last event (`ghost`). `promised_now` is its
    /// promise after the event; `quorum` the size of a majority of acceptors.
    pub fn observe<N: Describe>(
        &mut self,
        id: NodeId,
        ghost: &Ghost,
        promised_now: Ballot,
        quorum: usize,
        nodes: &[Option<N>],
    ) -> Result<(), Violation> {
        let i = id as usize;
        if self.promised.len() <= i {
            self.promised.resize(i + 1, Ballot::default());
        }
        if ghost.blank {
            self.promised[i] = Ballot::default();
        }
        for a in &ghost.accepts {
            let held = a.promised_before.max(self.promised[i]);
            if a.ballot < held {
                let forgot = a.promised_before < self.promised[i];
                return Err(Violation::new(
                    KEEPS_PROMISE,
                    format!(
                        "acceptor {id} accepted {} in slot {} in ballot {}, below its promise to ballot {held}{}",
                        self.text(nodes, a.slot, a.value),
                        a.slot,
                        a.ballot,
                        if forgot { " (which it forgot when it restarted)" } else { "" }
                    ),
                ));
            }
            let s = self.slot(a.slot);
            if let Some((cb, cv)) = s.chosen {
                if a.ballot >= cb && a.value != cv {
                    let (was, now) = (self.text(nodes, a.slot, cv), self.text(nodes, a.slot, a.value));
                    return Err(Violation::new(
                        CHOSEN_STABLE,
                        format!(
                            "slot {} chose {was} in ballot {cb}, but acceptor {id} then accepted {now} in ballot {}",
                            a.slot, a.ballot
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
                        let (was, now) =
                            (self.text(nodes, a.slot, cv), self.text(nodes, a.slot, a.value));
                        return Err(Violation::new(
                            ONE_VALUE_CHOSEN,
                            format!(
                                "slot {} chose {was} in ballot {cb}, and now also {now}: a majority accepted it in ballot {} (the last was acceptor {id})",
                                a.slot, a.ballot
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        self.promised[i] = self.promised[i].max(promised_now);
        for &(slot, value) in &ghost.learns {
            match self.chosen(slot) {
                Some((_, v)) if v == value => {}
                Some((b, v)) => {
                    return Err(Violation::new(
                        LEARNS_CHOSEN,
                        format!(
                            "node {id} learned {} in slot {slot}, but {} was chosen there (ballot {b})",
                            self.text(nodes, slot, value),
                            self.text(nodes, slot, v)
                        ),
                    ))
                }
                None => {
                    return Err(Violation::new(
                        LEARNS_CHOSEN,
                        format!(
                            "node {id} learned {} in slot {slot}, but no majority has accepted any value there",
                            self.text(nodes, slot, value)
                        ),
                    ))
                }
            }
        }
        Ok(())
    }
}
