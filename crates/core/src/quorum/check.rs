//! The quorum store's invariants, checked after every event. Stale reads and lost
//! updates are what weak settings promise (`r + w <= n`, sloppy quorums, LWW under
//! clock skew): the run reports them as anomalies, not here.
//!
//! * **strict quorum: an acknowledged write is on w of its preference list** (without
//!   `sloppy`): when a coordinator acknowledges a write, at least `w` distinct nodes of
//!   the key's preference list acknowledged it, and each of them that is running holds
//!   that version or one that supersedes it (a newer stamp; with version vectors, one
//!   that has seen it); a crashed one has it on its disk.
//! * **hinted handoff: a hint is discarded only once its owner holds it**: when a node
//!   drops a hint, the owner (if running) holds that version or a newer one.

use super::msg::{covers, Ver};
use super::QuorumKv;

/// A replica's versions of a key, for a message.
fn shown(vs: Option<&Vec<Ver>>) -> String {
    match vs {
        None => "nothing".to_string(),
        Some(vs) => {
            let all: Vec<String> = vs
                .iter()
                .map(|v| format!("{} (t={} us)", v.value, v.ts))
                .collect();
            all.join(", ")
        }
    }
}
use crate::{NodeId, Time, Violation};

pub const STRICT_ACKED: &str =
    "strict quorum: an acknowledged write is on w of its preference list";
pub const HINTS_DELIVERED: &str =
    "hinted handoff: a hint is discarded only once its owner holds it";

pub const INVARIANTS: &[&str] = &[STRICT_ACKED, HINTS_DELIVERED];

/// Nothing is remembered across events: each check reads the event's ghost record.
#[derive(Clone, Debug, Default)]
pub struct QuorumMonitor {}

impl QuorumMonitor {
    pub fn observe(
        &mut self,
        changed: NodeId,
        nodes: &[Option<QuorumKv>],
        _now: Time,
    ) -> Result<(), Violation> {
        let Some(Some(n)) = nodes.get(changed as usize) else {
            return Ok(());
        };
        let g = n.ghost();
        let p = n.params();
        let vector = p.vector();
        let node = |i: NodeId| nodes.get(i as usize).and_then(|x| x.as_ref());
        if !p.sloppy {
            for (key, ver, pref, ackers) in &g.acked {
                let mut counted: Vec<NodeId> = ackers
                    .iter()
                    .copied()
                    .filter(|a| pref.contains(a))
                    .collect();
                counted.sort_unstable();
                counted.dedup();
                if (counted.len() as u64) < p.w {
                    return Err(Violation::new(
                        STRICT_ACKED,
                        format!("node {changed} acknowledged {key}={} with acknowledgements from {counted:?} only, of its preference list {pref:?} (w = {})", ver.value, p.w),
                    ));
                }
                for a in counted {
                    let Some(r) = node(a) else { continue };
                    if !r.store().get(key).is_some_and(|v| covers(v, ver, vector)) {
                        return Err(Violation::new(
                            STRICT_ACKED,
                            format!("node {changed} acknowledged {key}={} (t={} us), but replica {a}, which acknowledged it, holds {}", ver.value, ver.ts, shown(r.store().get(key))),
                        ));
                    }
                }
            }
        }
        for (owner, key, ver) in &g.dropped {
            let Some(o) = node(*owner) else { continue };
            if !o.store().get(key).is_some_and(|v| covers(v, ver, vector)) {
                return Err(Violation::new(
                    HINTS_DELIVERED,
                    format!("node {changed} discarded its hint {key}={} for node {owner}, which holds {}", ver.value, shown(o.store().get(key))),
                ));
            }
        }
        Ok(())
    }
}
