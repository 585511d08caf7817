//! The Raft log: entries after the last snapshot, plus the snapshot's index and term.
//!
//! Every entry also carries a *ghost* prefix hash (never sent, never used by the
//! protocol): `hash(i) = mix(hash(i-1), i, term(i), command(i))`. Two logs with the same
//! hash at index `i` hold the same entries up to `i`, which lets the invariant checker
//! compare logs in O(1) instead of walking them.

use crate::digest::{self, mix};
use crate::{ClientRequest, NodeId};
use serde::{Deserialize, Serialize};

/// What a log entry asks the state machine to do.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cmd {
    /// Appended by every new leader so that it commits an entry of its own term.
    Noop,
    /// A new configuration (the full list of voting members). It takes effect on every
    /// node as soon as it is appended, committed or not.
    Config { members: Vec<NodeId> },
    /// A client's operation.
    Client(ClientRequest),
    /// A bulk import into the state machine, proposed by a protocol that composes Raft
    /// (never by clients): each key set to its value, and each client session taken
    /// where it is newer than the one held. The sharded store hands a shard over with
    /// one, and keeps its shard map in reserved keys written by them.
    Import(Import),
}

/// What a [`Cmd::Import`] writes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Import {
    pub kv: Vec<(String, crate::Val)>,
    pub sessions: Vec<(crate::ClientId, super::Session)>,
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    pub term: u64,
    pub cmd: Cmd,
}

/// A platform-independent digest of a command.
pub(crate) fn cmd_hash(cmd: &Cmd) -> u64 {
    match cmd {
        Cmd::Noop => mix(1, 0),
        Cmd::Config { members } => members
            .iter()
            .fold(mix(2, members.len() as u64), |h, m| mix(h, *m as u64)),
        Cmd::Client(r) => digest::request(r),
        Cmd::Import(i) => {
            let h = i.kv.iter().fold(mix(4, i.kv.len() as u64), |h, (k, v)| {
                digest::val(digest::mix_str(h, k), v)
            });
            i.sessions.iter().fold(h, |h, (c, s)| {
                digest::outcome(mix(mix(h, *c as u64), s.seq), &s.outcome)
            })
        }
    }
}

/// The prefix hash of entry `index` given the prefix hash of `index - 1`.
pub(crate) fn entry_hash(prev: u64, index: u64, e: &Entry) -> u64 {
    mix(mix(mix(prev, index), e.term), cmd_hash(&e.cmd))
}

/// The in-memory log.
#[derive(Clone, Debug, Default)]
pub struct RaftLog {
    snap_index: u64,
    snap_term: u64,
    snap_hash: u64,
    entries: Vec<Entry>,
    hashes: Vec<u64>,
}

impl RaftLog {
    /// A log that starts after a snapshot at `(index, term)` with prefix hash `hash`.
    pub fn new(snap_index: u64, snap_term: u64, snap_hash: u64) -> Self {
        RaftLog {
            snap_index,
            snap_term,
            snap_hash,
            entries: Vec::new(),
            hashes: Vec::new(),
        }
    }

    pub fn snap_index(&self) -> u64 {
        self.snap_index
    }
    pub fn snap_term(&self) -> u64 {
        self.snap_term
    }
    pub fn first_index(&self) -> u64 {
        self.snap_index + 1
    }
    pub fn last_index(&self) -> u64 {
        self.snap_index + self.entries.len() as u64
    }
    pub fn last_term(&self) -> u64 {
        self.entries
            .last()
            .map(|e| e.term)
            .unwrap_or(self.snap_term)
    }
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Position of `index` in `entries`, if it is there.
    #[inline]
    fn pos(&self, index: u64) -> Option<usize> {
        if index <= self.snap_index || index > self.last_index() {
            None
        } else {
            Some((index - self.snap_index - 1) as usize)
        }
    }

    /// Term of entry `index`: known for the snapshot's last entry and every entry after
    /// it; `None` for compacted or missing entries. Index 0 has term 0.
    pub fn term(&self, index: u64) -> Option<u64> {
        if index == self.snap_index {
            Some(self.snap_term)
        } else {
            self.pos(index).map(|p| self.entries[p].term)
        }
    }

    /// Ghost prefix hash at `index` (see the module documentation).
    pub fn hash_at(&self, index: u64) -> Option<u64> {
        if index == self.snap_index {
            Some(self.snap_hash)
        } else {
            self.pos(index).map(|p| self.hashes[p])
        }
    }

    pub fn entry(&self, index: u64) -> Option<&Entry> {
        self.pos(index).map(|p| &self.entries[p])
    }

    /// Append one entry at the end.
    pub fn push(&mut self, e: Entry) {
        let prev = self.hashes.last().copied().unwrap_or(self.snap_hash);
        let h = entry_hash(prev, self.last_index() + 1, &e);
        self.entries.push(e);
        self.hashes.push(h);
    }

    /// Remove every entry from `index` on (no-op for indexes past the end; never touches
    /// the snapshot).
    pub fn truncate_from(&mut self, index: u64) {
        let keep = index.saturating_sub(self.snap_index + 1) as usize;
        if keep < self.entries.len() {
            self.entries.truncate(keep);
            self.hashes.truncate(keep);
        }
    }

    /// Up to `max` entries starting at `from` (which must be after the snapshot).
    pub fn slice(&self, from: u64, max: usize) -> Vec<Entry> {
        match self.pos(from) {
            Some(p) => self.entries[p..(p + max).min(self.entries.len())].to_vec(),
            None => Vec::new(),
        }
    }

    /// Forget the entries up to and including `index`, which must be in the log: they are
    /// covered by a snapshot now.
    pub fn compact_to(&mut self, index: u64) {
        if let Some(p) = self.pos(index) {
            self.snap_term = self.entries[p].term;
            self.snap_hash = self.hashes[p];
            self.snap_index = index;
            self.entries.drain(..=p);
            self.hashes.drain(..=p);
        }
    }

    /// Install a snapshot at `(index, term)`: if the log has that very entry, keep what
    /// follows it; otherwise throw the whole log away.
    pub fn restore(&mut self, index: u64, term: u64, hash: u64) {
        if self.term(index) == Some(term) && index >= self.snap_index {
            if index > self.snap_index {
                self.compact_to(index);
            }
        } else {
            self.entries.clear();
            self.hashes.clear();
        }
        self.snap_index = index;
        self.snap_term = term;
        self.snap_hash = hash;
    }

    /// First index of the run of entries with the same term as entry `index` (bounded
    /// below by the first index after the snapshot). Used for the conflict hint.
    pub fn first_index_of_term_at(&self, index: u64) -> u64 {
        let Some(t) = self.term(index) else {
            return index;
        };
        let mut i = index;
        while i > self.first_index() && self.term(i - 1) == Some(t) {
            i -= 1;
        }
        i
    }

    /// The last index `<= from` whose entry has term `term`, searching back while terms
    /// are larger (terms never decrease along a log).
    pub fn last_index_of_term(&self, term: u64, from: u64) -> Option<u64> {
        let mut i = from.min(self.last_index());
        loop {
            let t = self.term(i)?;
            if t == term {
                return Some(i);
            }
            if t < term || i == self.snap_index {
                return None;
            }
            i -= 1;
        }
    }

    /// Is a log ending in `(last_index, last_term)` at least as up to date as this one?
    pub fn is_up_to_date(&self, last_index: u64, last_term: u64) -> bool {
        let my_term = self.last_term();
        last_term > my_term || (last_term == my_term && last_index >= self.last_index())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(term: u64) -> Entry {
        Entry {
            term,
            cmd: Cmd::Noop,
        }
    }

    fn log_of(terms: &[u64]) -> RaftLog {
        let mut l = RaftLog::default();
        for t in terms {
            l.push(e(*t));
        }
        l
    }

    #[test]
    fn indexes_terms_and_truncation() {
        let mut l = log_of(&[1, 1, 2, 3]);
        assert_eq!(l.last_index(), 4);
        assert_eq!(l.term(0), Some(0));
        assert_eq!(l.term(3), Some(2));
        assert_eq!(l.term(5), None);
        l.truncate_from(3);
        assert_eq!(l.last_index(), 2);
        l.truncate_from(9);
        assert_eq!(l.last_index(), 2);
        assert_eq!(l.slice(1, 10).len(), 2);
        assert_eq!(l.slice(2, 10).len(), 1);
        assert!(l.slice(3, 10).is_empty());
    }

    #[test]
    fn hashes_identify_prefixes() {
        let a = log_of(&[1, 1, 2]);
        let b = log_of(&[1, 1, 3]);
        assert_eq!(a.hash_at(2), b.hash_at(2));
        assert_ne!(a.hash_at(3), b.hash_at(3));
        let mut c = a.clone();
        c.compact_to(2);
        assert_eq!(c.hash_at(2), a.hash_at(2));
        assert_eq!(c.hash_at(3), a.hash_at(3));
        assert_eq!(c.term(1), None);
        assert_eq!(c.term(2), Some(1));
        c.push(e(4));
        let mut d = a.clone();
        d.push(e(4));
        assert_eq!(c.hash_at(4), d.hash_at(4));
    }

    #[test]
    fn conflict_hints() {
        let l = log_of(&[1, 1, 2, 2, 2, 4]);
        assert_eq!(l.first_index_of_term_at(5), 3);
        assert_eq!(l.first_index_of_term_at(2), 1);
        assert_eq!(l.last_index_of_term(2, 6), Some(5));
        assert_eq!(l.last_index_of_term(3, 6), None);
        assert_eq!(l.last_index_of_term(1, 6), Some(2));
        let mut c = l.clone();
        c.compact_to(4);
        assert_eq!(c.first_index_of_term_at(5), 5);
        assert_eq!(c.last_index_of_term(1, 6), None);
    }

    #[test]
    fn restore_keeps_matching_suffix_only() {
        let mut l = log_of(&[1, 1, 2, 2]);
        let h2 = l.hash_at(2).unwrap();
        l.restore(2, 1, h2);
        assert_eq!(l.last_index(), 4);
        assert_eq!(l.first_index(), 3);
        let mut m = log_of(&[1, 1, 2, 2]);
        m.restore(3, 3, 77);
        assert_eq!(m.last_index(), 3);
        assert_eq!(m.term(3), Some(3));
        assert_eq!(m.hash_at(3), Some(77));
    }

    #[test]
    fn up_to_date() {
        let l = log_of(&[1, 2]);
        assert!(l.is_up_to_date(2, 2));
        assert!(l.is_up_to_date(1, 3));
        assert!(!l.is_up_to_date(5, 1));
        assert!(!l.is_up_to_date(1, 2));
    }
}
