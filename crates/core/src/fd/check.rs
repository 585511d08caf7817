//! The failure detectors' invariants, checked after every simulated event on the node
//! that handled it, in O(nodes).
//!
//! * **suspicion-consistent**: the node's verdicts are what its own detector says of
//!   its own state. Its last evaluation of every peer is less than one check period
//!   old (on its monotonic local clock), and each peer is suspected exactly when the
//!   detector, given what it learnt of that peer, suspects the silence the node had
//!   observed at that evaluation. For the fixed timeout this means: a suspected peer
//!   has been silent for more than `timeout`, and a trusted one for less than
//!   `timeout` + one check period.
//! * **eventual-completeness**: a crashed node is eventually suspected by every live
//!   node. The monitor records (in true time) when it first saw each node crashed
//!   (`nodes[i]` is `None`). If a peer `p` of node `n` has been crashed for more than
//!   the bound `B`, and `n` itself has gone more than `B` of its own (monotonic) local
//!   time without taking a heartbeat from `p` (counted from `n`'s boot if it never
//!   did), then `n` must suspect `p`. Counting on `n`'s clock from its last heartbeat
//!   from `p` is what makes it exact whatever the network does (a heartbeat delayed
//!   past the crash, a duplicate), however `n`'s clock drifts, and whether `n` was
//!   paused or restarted meanwhile. `B` is `10 × timeout + check` for the fixed
//!   timeout; for phi-accrual it is the detector's detection bound (see
//!   [`super::detector::PhiAccrual`]'s `detection_bound`: acceptable pause +
//!   `max_sample` + (y_t + 0.05) · max(`max_sample`/2, `min_std_dev`) + 1 ms, at least
//!   the bootstrap timeout, where y_t is where phi reaches the threshold) plus a check
//!   period. With the defaults that is 10.01 s and about 3.8 s.

use super::{Detector, Fd};
use crate::{NodeId, Time, Violation, MS};

pub const SUSPICION_CONSISTENT: &str = "suspicion-consistent";
pub const EVENTUAL_COMPLETENESS: &str = "eventual-completeness";
pub const INVARIANTS: &[&str] = &[SUSPICION_CONSISTENT, EVENTUAL_COMPLETENESS];

/// Ghost state of the checker: when each node was first seen crashed (true time).
#[derive(Clone, Debug, Default)]
pub struct FdMonitor {
    down_since: Vec<Option<Time>>,
}

fn ms(t: Time) -> String {
    format!("{} ms", t / MS)
}

impl FdMonitor {
    /// True time at which node `i` was first seen crashed, if it is down.
    pub fn down_since(&self, i: NodeId) -> Option<Time> {
        self.down_since.get(i as usize).copied().flatten()
    }

    pub fn check<D: Detector>(
        &mut self,
        changed: NodeId,
        nodes: &[Option<Fd<D>>],
        now: Time,
    ) -> Result<(), Violation> {
        if self.down_since.len() < nodes.len() {
            self.down_since.resize(nodes.len(), None);
        }
        for (d, n) in self.down_since.iter_mut().zip(nodes) {
            if n.is_some() {
                *d = None;
            } else if d.is_none() {
                *d = Some(now);
            }
        }
        let Some(Some(node)) = nodes.get(changed as usize) else {
            return Ok(());
        };
        if !node.started {
            return Ok(());
        }
        consistent(node)?;
        self.complete(node, now)
    }

    fn complete<D: Detector>(&self, node: &Fd<D>, now: Time) -> Result<(), Violation> {
        let bound = node.det.completeness_bound();
        for p in &node.peers {
            let Some(t0) = self.down_since(p.id) else {
                continue;
            };
            if now.saturating_sub(t0) <= bound || p.suspected {
                continue;
            }
            let silence = node.now.saturating_sub(node.silent_since(p));
            if silence > bound {
                return Err(Violation::new(
                    EVENTUAL_COMPLETENESS,
                    format!(
                        "node {} has been down for {} and node {} has not heard from it for \
                         {} of its own clock, yet does not suspect it (suspicion level {:.3}; \
                         the bound is {})",
                        p.id,
                        ms(now - t0),
                        node.id,
                        ms(silence),
                        p.level,
                        ms(bound)
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The suspicion-consistent invariant for one node.
fn consistent<D: Detector>(node: &Fd<D>) -> Result<(), Violation> {
    let period = node.det.check_period();
    if node.last_eval > node.now || node.now - node.last_eval >= period {
        return Err(Violation::new(
            SUSPICION_CONSISTENT,
            format!(
                "node {} last re-evaluated its suspicions {} ago, more than its check period \
                 of {}",
                node.id,
                ms(node.now.saturating_sub(node.last_eval)),
                ms(period)
            ),
        ));
    }
    for p in &node.peers {
        if p.eval_at < node.last_eval || p.eval_at > node.now {
            return Err(Violation::new(
                SUSPICION_CONSISTENT,
                format!(
                    "node {} evaluated node {} at a time outside its last check period",
                    node.id, p.id
                ),
            ));
        }
        let silence = p.eval_at.saturating_sub(node.silent_since(p));
        let (level, says) = node.det.assess(&p.stats, silence);
        if says != p.suspected {
            return Err(Violation::new(
                SUSPICION_CONSISTENT,
                format!(
                    "node {} {} node {}, but after {} without a heartbeat its detector says \
                     level {:.3} against a threshold of {}, so it should {}",
                    node.id,
                    if p.suspected { "suspects" } else { "trusts" },
                    p.id,
                    ms(silence),
                    level,
                    node.det.threshold(),
                    if says { "suspect it" } else { "trust it" }
                ),
            ));
        }
    }
    Ok(())
}
