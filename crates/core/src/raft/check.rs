//! Raft's safety invariants (figure 3 of the Raft paper), checked incrementally.
//!
//! The checker runs after every simulated event, so it does work proportional to what
//! changed on the node that handled the event. It leans on the ghost prefix hashes of
//! the log ([`super::RaftLog::hash_at`]): equal hashes at an index mean equal logs up to
//! that index, so comparing one hash stands for comparing a whole prefix.
//!
//! What the monitor remembers for the whole run:
//! * the leader of every term (Election Safety);
//! * per node that leads, the hash of its last entry when last seen (Leader
//!   Append-Only: that entry must still be there, unchanged);
//! * the prefix hash of every `(index, term)` entry ever seen in any log (Log
//!   Matching: a new entry with a known `(index, term)` must have the same hash);
//! * the prefix hash of every committed index and the term in which it was first seen
//!   committed (Leader Completeness: a new leader of term `T` must hold every entry
//!   committed in a term before `T`; State Machine Safety: every node commits and
//!   applies the same entry at each index).

use super::view::describe_entry;
use super::{Raft, Role};
use crate::{NodeId, Time, Violation};
use std::collections::BTreeMap;

pub const ELECTION_SAFETY: &str = "Election Safety";
pub const LEADER_APPEND_ONLY: &str = "Leader Append-Only";
pub const LOG_MATCHING: &str = "Log Matching";
pub const LEADER_COMPLETENESS: &str = "Leader Completeness";
pub const STATE_MACHINE_SAFETY: &str = "State Machine Safety";

pub const INVARIANTS: &[&str] = &[
    ELECTION_SAFETY,
    LEADER_APPEND_ONLY,
    LOG_MATCHING,
    LEADER_COMPLETENESS,
    STATE_MACHINE_SAFETY,
];

/// A node's `Raft` by its id (none while it is down).
pub type Lookup<'a> = &'a dyn Fn(NodeId) -> Option<&'a Raft>;

/// The first `(index, term)` entry seen at an index. Term 0 means empty.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    term: u64,
    hash: u64,
    node: NodeId,
}

/// What was committed at an index.
#[derive(Clone, Copy, Debug, Default)]
struct Committed {
    known: bool,
    hash: u64,
    term: u64,
    /// Term of the node that was first seen to commit it.
    commit_term: u64,
    node: NodeId,
}

/// What the monitor already verified of one node.
#[derive(Clone, Copy, Debug, Default)]
struct NodeMon {
    /// Term in which this node is known to lead (0: not leading).
    leader_term: u64,
    la_index: u64,
    la_hash: u64,
    lm_valid: bool,
    lm_index: u64,
    lm_hash: u64,
    commit_seen: u64,
    applied_seen: u64,
    applied_hash: u64,
}

/// Ghost state of the Raft invariant checker.
#[derive(Clone, Debug, Default)]
pub struct RaftMonitor {
    leaders: BTreeMap<u64, NodeId>,
    slots: Vec<Slot>,
    extra: BTreeMap<(u64, u64), (u64, NodeId)>,
    chain: Vec<Committed>,
    /// `(term, index)`: entries up to `index` were committed in `term` (or before).
    commit_steps: Vec<(u64, u64)>,
    nodes: Vec<NodeMon>,
}

fn entry_text(r: &Raft, index: u64) -> String {
    match r.log.entry(index) {
        Some(e) => describe_entry(e),
        None if index == r.log.snap_index() => format!(
            "the last entry of its snapshot (term {})",
            r.log.snap_term()
        ),
        None => "no entry".to_string(),
    }
}

impl RaftMonitor {
    fn lookup(&self, index: u64, term: u64) -> Option<(u64, NodeId)> {
        let s = self.slots.get(index as usize)?;
        if s.term == term {
            Some((s.hash, s.node))
        } else if s.term == 0 {
            None
        } else {
            self.extra.get(&(index, term)).copied()
        }
    }

    fn insert(&mut self, index: u64, term: u64, hash: u64, node: NodeId) {
        let i = index as usize;
        if self.slots.len() <= i {
            self.slots.resize(i + 1, Slot::default());
        }
        if self.slots[i].term == 0 {
            self.slots[i] = Slot { term, hash, node };
        } else {
            self.extra.insert((index, term), (hash, node));
        }
    }

    fn committed(&self, index: u64) -> Option<Committed> {
        self.chain.get(index as usize).copied().filter(|c| c.known)
    }

    /// Describe what was committed at `index`, from the log of the node that committed it
    /// if it still has it.
    fn committed_text(&self, nodes: Lookup<'_>, index: u64) -> String {
        let Some(c) = self.committed(index) else {
            return "nothing".into();
        };
        let from = nodes(c.node).filter(|n| n.log.hash_at(index) == Some(c.hash));
        match from.and_then(|n| n.log.entry(index)) {
            Some(e) => format!(
                "{} (committed by node {} in term {})",
                describe_entry(e),
                c.node,
                c.commit_term
            ),
            None => format!(
                "an entry of term {} (committed by node {} in term {})",
                c.term, c.node, c.commit_term
            ),
        }
    }

    /// The first index up to `upto` where `r`'s log differs from what was committed.
    fn first_divergence(&self, r: &Raft, upto: u64) -> u64 {
        let lo = r.log.snap_index();
        (lo..=upto.min(r.log.last_index()))
            .find(|&j| {
                self.committed(j)
                    .is_some_and(|c| r.log.hash_at(j) != Some(c.hash))
            })
            .unwrap_or(upto)
    }

    pub fn check(
        &mut self,
        changed: NodeId,
        nodes: &[Option<Raft>],
        _now: Time,
    ) -> Result<(), Violation> {
        self.check_in(changed, &|i| nodes.get(i as usize).and_then(|n| n.as_ref()))
    }

    /// [`RaftMonitor::check`] for a Raft group inside another protocol's nodes (the
    /// sharded store's groups): `nodes` finds a member's `Raft` by node id (only to
    /// describe what another node committed, in a violation's text).
    pub fn check_in(&mut self, changed: NodeId, nodes: Lookup<'_>) -> Result<(), Violation> {
        let c = changed as usize;
        let Some(node) = nodes(changed) else {
            return Ok(());
        };
        if self.nodes.len() <= c {
            self.nodes.resize(c + 1, NodeMon::default());
        }
        let mut nm = self.nodes[c];
        let res = self.check_node(&mut nm, node, nodes);
        self.nodes[c] = nm;
        res
    }

    fn check_node(
        &mut self,
        nm: &mut NodeMon,
        r: &Raft,
        nodes: Lookup<'_>,
    ) -> Result<(), Violation> {
        let id = r.id;
        let log = &r.log;
        let last = log.last_index();
        let last_hash = log.hash_at(last).unwrap_or(0);

        // Log Matching: check the entries this node has that the monitor has not seen
        // in this position yet, newest first, until one it knows matches.
        if !(nm.lm_valid && nm.lm_index == last && nm.lm_hash == last_hash) {
            let mut i = last;
            while i > 0 {
                let (Some(t), Some(h)) = (log.term(i), log.hash_at(i)) else {
                    break;
                };
                match self.lookup(i, t) {
                    Some((h2, _)) if h2 == h => break,
                    Some((_, other)) => {
                        return Err(Violation::new(
                            LOG_MATCHING,
                            format!(
                                "nodes {other} and {id} both have an entry at index {i} with term {t}, but their logs differ at or before it (node {id} has {} there)",
                                entry_text(r, i)
                            ),
                        ));
                    }
                    None => self.insert(i, t, h, id),
                }
                if i == log.snap_index() {
                    break;
                }
                i -= 1;
            }
            nm.lm_valid = true;
            nm.lm_index = last;
            nm.lm_hash = last_hash;
        }

        // Election Safety, Leader Completeness, Leader Append-Only.
        if r.role == Role::Leader {
            let term = r.term;
            if nm.leader_term != term {
                match self.leaders.get(&term) {
                    Some(&other) if other != id => {
                        return Err(Violation::new(
                            ELECTION_SAFETY,
                            format!("term {term} has two leaders: node {other} and node {id}"),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        self.leaders.insert(term, id);
                    }
                }
                if let Some(&(ct, ci)) = self.commit_steps.iter().rev().find(|s| s.0 < term) {
                    let ok = ci <= log.snap_index()
                        || (ci <= last
                            && self
                                .committed(ci)
                                .is_none_or(|c| log.hash_at(ci) == Some(c.hash)));
                    if !ok {
                        let j = self.first_divergence(r, ci);
                        let has = if j > last {
                            format!("its log ends at index {last}")
                        } else {
                            format!("it has {} there", entry_text(r, j))
                        };
                        return Err(Violation::new(
                            LEADER_COMPLETENESS,
                            format!(
                                "node {id} became leader of term {term} without the entry committed at index {j}: {}; {has} (entries up to {ci} were committed by term {ct})",
                                self.committed_text(nodes, j)
                            ),
                        ));
                    }
                }
                nm.leader_term = term;
            } else if nm.la_index >= log.snap_index()
                && log.hash_at(nm.la_index) != Some(nm.la_hash)
            {
                let now = if nm.la_index > last {
                    format!("its log now ends at index {last}")
                } else {
                    format!("it now holds {} there", entry_text(r, nm.la_index))
                };
                return Err(Violation::new(
                    LEADER_APPEND_ONLY,
                    format!("leader {id} of term {term} deleted or overwrote its own entry at index {}: {now}", nm.la_index),
                ));
            }
            nm.la_index = last;
            nm.la_hash = last_hash;
        } else {
            nm.leader_term = 0;
        }

        // Commit: record newly committed entries, and check they agree with what other
        // nodes committed.
        let commit = r.commit;
        if commit < nm.commit_seen {
            nm.commit_seen = commit; // restarted
        }
        if commit > nm.commit_seen {
            let from = (nm.commit_seen + 1).max(log.snap_index()).max(1);
            for i in from..=commit {
                let (Some(h), Some(t)) = (log.hash_at(i), log.term(i)) else {
                    continue;
                };
                let iu = i as usize;
                if self.chain.len() <= iu {
                    self.chain.resize(iu + 1, Committed::default());
                }
                let c = self.chain[iu];
                if c.known {
                    if c.hash != h {
                        let j = self.first_divergence(r, i);
                        return Err(Violation::new(
                            STATE_MACHINE_SAFETY,
                            format!(
                                "node {id} committed {} at index {j}, but {} was committed there",
                                entry_text(r, j),
                                self.committed_text(nodes, j)
                            ),
                        ));
                    }
                } else {
                    self.chain[iu] = Committed {
                        known: true,
                        hash: h,
                        term: t,
                        commit_term: r.term,
                        node: id,
                    };
                    match self.commit_steps.last_mut() {
                        Some(s) if i <= s.1 => {}
                        Some(s) if s.0 == r.term => s.1 = i,
                        _ => self.commit_steps.push((r.term, i)),
                    }
                }
            }
            nm.commit_seen = commit;
        }

        // State Machine Safety: what this node applied is what was committed.
        let a = r.applied;
        if a > 0 && (a != nm.applied_seen || r.applied_hash != nm.applied_hash) {
            let au = a as usize;
            if self.chain.len() <= au {
                self.chain.resize(au + 1, Committed::default());
            }
            let c = self.chain[au];
            if c.known && c.hash != r.applied_hash {
                let j = self.first_divergence(r, a);
                return Err(Violation::new(
                    STATE_MACHINE_SAFETY,
                    format!(
                        "node {id} applied {} at index {j}, but {} was committed there",
                        entry_text(r, j),
                        self.committed_text(nodes, j)
                    ),
                ));
            }
            if !c.known {
                let t = log.term(a).unwrap_or(0);
                self.chain[au] = Committed {
                    known: true,
                    hash: r.applied_hash,
                    term: t,
                    commit_term: r.term,
                    node: id,
                };
            }
            nm.applied_seen = a;
            nm.applied_hash = r.applied_hash;
        }
        Ok(())
    }
}
