//! Primary-backup's invariants, checked after every event.
//!
//! * **sync: acknowledged writes are on every backup** (mode `sync`, with `fencing`):
//!   when the primary acknowledges a write, every live backup of its view holds the same
//!   entry at that index (the same log hash there). Without fencing a deposed primary's
//!   backups move on to the next epoch while it still acknowledges writes: that is the
//!   split brain the unfenced presets teach, reported as anomalies (lost writes, split
//!   brain), not as a broken promise of the protocol.
//! * **chain: each log is a prefix of its predecessor's** (mode `chain`): for two
//!   neighbours of a chain that both hold the epoch's state, the successor's log is a
//!   prefix of the predecessor's.
//! * **fencing: one primary accepts writes at a time** (with `fencing`): once a primary
//!   of some epoch accepted a write, no primary of an older epoch (nor another node in
//!   the same epoch) accepts one.

use super::{Mode, PrimaryBackup};
use crate::{NodeId, Time, Violation};

pub const SYNC_ACKED: &str = "sync: acknowledged writes are on every backup";
pub const CHAIN_PREFIX: &str = "chain: each log is a prefix of its predecessor's";
pub const ONE_PRIMARY: &str = "fencing: one primary accepts writes at a time";

pub const INVARIANTS: &[&str] = &[SYNC_ACKED, CHAIN_PREFIX, ONE_PRIMARY];

/// What the checker remembers across the run.
#[derive(Clone, Debug, Default)]
pub struct PbMonitor {
    /// The newest epoch in which a primary accepted a write, and that primary.
    pub writer: Option<(u64, NodeId)>,
}

impl PbMonitor {
    pub fn observe(
        &mut self,
        changed: NodeId,
        nodes: &[Option<PrimaryBackup>],
        _now: Time,
    ) -> Result<(), Violation> {
        let Some(Some(n)) = nodes.get(changed as usize) else {
            return Ok(());
        };
        let g = n.ghost();
        if n.params().fencing {
            if let Some(e) = g.accepted {
                match self.writer {
                    Some((we, wn)) if e < we || (e == we && wn != changed) => {
                        return Err(Violation::new(
                            ONE_PRIMARY,
                            format!("node {changed} accepted a write as primary of epoch {e}, but node {wn} already accepted writes as primary of epoch {we}"),
                        ));
                    }
                    Some((we, _)) if e == we => {}
                    _ => self.writer = Some((e, changed)),
                }
            }
        }
        match n.params().mode {
            Mode::Sync if n.params().fencing && !g.acked.is_empty() => {
                for &b in &g.acked_backups {
                    let Some(Some(bn)) = nodes.get(b as usize) else {
                        continue;
                    };
                    for &(index, hash) in &g.acked {
                        let holds = match bn.hash_at(index) {
                            Some(h) => h == hash,
                            // Out of its memory window: compare what can be compared.
                            None => bn.last_index() > index,
                        };
                        if !holds {
                            return Err(Violation::new(
                                SYNC_ACKED,
                                format!("node {changed} acknowledged the write at index {index} in epoch {}, but backup {b} does not hold it (its log ends at {})", n.view_known().epoch, bn.last_index()),
                            ));
                        }
                    }
                }
            }
            Mode::Chain => {
                let v = n.view_known();
                if n.synced_epoch() != v.epoch || v.epoch == 0 {
                    return Ok(());
                }
                let same = |x: NodeId| -> Option<&PrimaryBackup> {
                    let o = nodes.get(x as usize)?.as_ref()?;
                    (o.view_known().epoch == v.epoch && o.synced_epoch() == v.epoch).then_some(o)
                };
                let pairs = [
                    v.predecessor(changed).map(|p| (p, changed)),
                    v.successor(changed).map(|s| (changed, s)),
                ];
                for (p, s) in pairs.into_iter().flatten() {
                    let (Some(pn), Some(sn)) = (same(p), same(s)) else {
                        continue;
                    };
                    let ok = sn.last_index() <= pn.last_index()
                        && pn
                            .hash_at(sn.last_index())
                            .is_none_or(|h| h == sn.hash_at(sn.last_index()).unwrap_or(h));
                    if !ok {
                        return Err(Violation::new(
                            CHAIN_PREFIX,
                            format!("in epoch {}, node {s}'s log (up to {}) is not a prefix of its predecessor node {p}'s (up to {})", v.epoch, sn.last_index(), pn.last_index()),
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}
