//! The lock family's invariant, checked after every event.
//!
//! * **fencing: the storage accepts no token below the highest it accepted** (with
//!   `check_fencing`): a write accepted with a lower token than one the storage had
//!   already accepted is an older holder's work landing on a newer holder's, a corrupted
//!   write. The checker compares each accepted write with the highest token the
//!   storage held just before (its ghost), so it would catch fencing code that forgot a
//!   case; a test turns fencing off and sees corrupted writes.
//!
//! Two clients believing they hold the lock at once is not an invariant: it is what the
//! unsafe services teach, and the simulator measures it from the `is_leader` probes.

use super::{Lock, Part};
use crate::{NodeId, Time, Violation};

pub const FENCED: &str = "fencing: the storage accepts no token below the highest it accepted";

pub const INVARIANTS: &[&str] = &[FENCED];

#[derive(Clone, Debug, Default)]
pub struct LockMonitor {
    /// Writes the storage accepted so far.
    pub writes: u64,
}

impl LockMonitor {
    pub fn observe(
        &mut self,
        changed: NodeId,
        nodes: &[Option<Lock>],
        _now: Time,
    ) -> Result<(), Violation> {
        let Some(Some(n)) = nodes.get(changed as usize) else {
            return Ok(());
        };
        if !matches!(n.part, Part::Storage(_)) {
            return Ok(());
        }
        if let Some((writer, token, before)) = n.ghost.accepted {
            self.writes += 1;
            if n.p.check_fencing && token < before {
                return Err(Violation::new(
                    FENCED,
                    format!("the storage accepted client {writer}'s write with token {token} after accepting token {before}: a corrupted write with fencing on"),
                ));
            }
        }
        Ok(())
    }
}
