//! The view service (node 0): hears every replica's pings and decides the view.
//!
//! Decisions, at most one per tick or ping, each bumping the epoch:
//! 1. The primary is dead (no ping for `dead_timeout_ms`) or rebooted (pings with epoch 0
//!    after having known one): promote the most up-to-date backup that installed this
//!    epoch's state (in a chain: the first such in chain order). With none, the service
//!    is stuck until the primary comes back (as in MIT 6.824's view service).
//! 2. A backup is dead, or the primary reports it stopped answering: remove it (a chain
//!    is spliced).
//! 3. A live replica outside the view: add it at the end (the tail of a chain).
//!
//! And an operator's manual failover ([`PrimaryBackup::request_promotion`]): a live
//! backup holding the epoch's state becomes primary, the old primary (if alive) a
//! backup. With fencing the view manager first stops renewing the old primary's lease
//! and waits `dead_timeout_ms` (longer than a lease), as if it had died, so that two
//! primaries never serve at once.

use super::{FailureDetector, Mode, PbMsg, PbParams, PbWrite, PrimaryBackup, View};
use crate::fd::{Detector, PhiAccrualDetector, PhiAccrualParams, Window};
use crate::{Ctx, NodeId, Time, MS};

/// What the view service keeps of each replica.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Seen {
    /// Phi-accrual: the replica's recent ping inter-arrival times.
    pub gaps: Window,
    /// Local time of its last ping.
    pub heard: Time,
    /// What it reported: the epoch it knows, the epoch of the state it holds, its last
    /// index.
    pub epoch: u64,
    pub synced: u64,
    pub last: u64,
    /// It once reported a non-zero epoch (so epoch 0 now means it rebooted).
    pub was_up: bool,
}

/// Node 0's view service.
#[derive(Clone, Debug)]
pub struct ViewService {
    pub view: View,
    pub seen: Vec<Seen>,
    /// Backups the primary reported as not answering.
    pub lagging: Vec<NodeId>,
    /// Why the view is as it is, or why it cannot change.
    pub status: String,
    /// The first replica (the nodes before it keep the view).
    pub first: NodeId,
    /// A manual promotion asked by an operator: (node, local time asked).
    pub promote: Option<(NodeId, Time)>,
    /// With `detector = "phi-accrual"`: the failure-detector module's phi-accrual.
    pub phi: Option<PhiAccrualDetector>,
    /// Local time of the last event (for the picture's suspicion gauges).
    pub now: Time,
}

/// The phi-accrual detector for these parameters: heartbeats are the pings; a replica
/// never heard twice is dead after `dead_timeout_ms`, and gaps longer than that are
/// not learnt from (a partition or a crash is not the rhythm).
pub fn phi_detector(p: &PbParams) -> Option<PhiAccrualDetector> {
    (p.detector == FailureDetector::PhiAccrual).then(|| {
        PhiAccrualDetector::new(&PhiAccrualParams {
            interval_ms: p.ping_interval_ms,
            check_interval_ms: p.ping_interval_ms,
            threshold: p.phi_threshold as f64,
            window: 100,
            min_std_dev_ms: (p.ping_interval_ms / 4).max(1),
            acceptable_pause_ms: 0,
            bootstrap_ms: p.dead_timeout_ms,
            max_sample_ms: p.dead_timeout_ms,
        })
    })
}

impl ViewService {
    /// Whether replica `n` is dead now, and its suspicion level (phi, or the silence
    /// in milliseconds with a fixed timeout).
    pub fn suspicion(&self, p: &PbParams, n: NodeId, now: Time) -> (f64, bool) {
        let s = self.seen.get(n as usize);
        let heard = s.map(|s| s.heard).unwrap_or(0);
        let silence = now.saturating_sub(heard);
        match (&self.phi, s) {
            (Some(d), Some(s)) => {
                let (level, verdict) = d.assess(&s.gaps, silence);
                // With fencing, never before a lease can have run out.
                let floor = if p.fencing { p.lease_ms * MS } else { 0 };
                (level, verdict && silence > floor)
            }
            _ => (silence as f64 / MS as f64, silence > p.dead_timeout_ms * MS),
        }
    }
}

impl ViewService {
    pub(super) fn boot(p: &PbParams, nodes: usize, first: NodeId, disk: Option<View>) -> Self {
        let view = match disk {
            Some(v) if v.epoch > 0 => v,
            _ => View {
                epoch: 1,
                primary: (nodes > first as usize).then_some(first),
                backups: (first + 1..nodes as NodeId).collect(),
            },
        };
        ViewService {
            view,
            seen: vec![Seen::default(); nodes],
            lagging: Vec::new(),
            status: "initial view".to_string(),
            first,
            promote: None,
            phi: phi_detector(p),
            now: 0,
        }
    }
}

impl PrimaryBackup {
    pub(super) fn vs_start(&mut self, cx: &mut Ctx<'_, Self>) {
        let now = cx.now();
        let Some(vs) = self.vs.as_mut() else { return };
        for m in vs.view.members() {
            if let Some(s) = vs.seen.get_mut(m as usize) {
                s.heard = now.max(1);
            }
        }
        if self.group.is_none() {
            let v = vs.view.clone();
            cx.persist(PbWrite::View(v));
        }
    }

    pub(super) fn vs_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: PbMsg) {
        let PbMsg::Ping {
            epoch,
            synced,
            last,
            sent,
            lagging,
        } = msg
        else {
            return;
        };
        let now = cx.now();
        let Some(vs) = self.vs.as_mut() else { return };
        vs.now = now;
        let Some(s) = vs.seen.get_mut(from as usize) else {
            return;
        };
        if let Some(d) = &vs.phi {
            if s.heard > 0 && now > s.heard {
                d.sample(&mut s.gaps, now - s.heard);
            }
        }
        s.heard = now.max(1);
        s.epoch = epoch;
        s.synced = synced;
        s.last = last;
        let rebooted = epoch == 0 && s.was_up;
        s.was_up |= epoch > 0;
        if vs.view.primary == Some(from) {
            vs.lagging = lagging;
        }
        if rebooted || vs.view.primary == Some(from) {
            // A rebooted primary must be replaced before it hears the view again.
            self.decide(cx);
        }
        if self.group.as_ref().is_some_and(|g| !g.serving()) {
            // A Raft view store: only the group's ready leader answers.
            return;
        }
        if let Some(vs) = &self.vs {
            if self.p.fencing && vs.promote.is_some() && vs.view.primary == Some(from) {
                // Being replaced by hand: its lease must run out first.
                return;
            }
        }
        let view = self.view_known().clone();
        cx.send(from, PbMsg::View { view, sent });
    }

    pub(super) fn vs_tick(&mut self, cx: &mut Ctx<'_, Self>) {
        if let Some(vs) = self.vs.as_mut() {
            vs.now = cx.now();
        }
        self.decide(cx);
    }

    fn decide(&mut self, cx: &mut Ctx<'_, Self>) {
        let now = cx.now();
        let p = self.p;
        let raft = self.group.is_some();
        if self
            .group
            .as_ref()
            .is_some_and(|g| !g.may_decide(now, p.dead_timeout_ms))
        {
            return;
        }
        let Some(vs) = self.vs.as_mut() else { return };
        // A promotion that became impossible (the node died, ...) is dropped, and said.
        let dropped = match vs.promote {
            Some((c, at)) if now >= at + promotion_wait(&p) => promotion_problem(vs, &p, now, c)
                .map(|why| {
                    vs.promote = None;
                    format!("promotion of node {c} abandoned: {why}")
                }),
            _ => None,
        };
        let max = if raft {
            super::raftview::MAX_PACKED
        } else {
            usize::MAX
        };
        let planned = plan(vs, &p, now, max);
        if let Some(d) = &dropped {
            vs.status = d.clone();
            self.last_change = d.clone();
        }
        let why_with = |why: String| match &dropped {
            Some(d) => format!("{d}; {why}"),
            None => why,
        };
        match planned {
            Ok(Some((view, why))) if raft => self.propose(cx, view, &why_with(why)),
            Ok(Some((view, why))) => {
                vs.view = view.clone();
                vs.lagging.clear();
                vs.promote = None;
                vs.status = format!("epoch {}: {}", view.epoch, why_with(why));
                self.last_change = vs.status.clone();
                cx.persist(PbWrite::View(view));
            }
            Ok(None) => {}
            Err(stuck) => vs.status = why_with(stuck),
        }
    }

    /// An operator asks to make `node` the primary (manual failover, or a switchover
    /// while the primary lives). Only the view manager that decides takes it.
    pub(super) fn request_promotion(
        &mut self,
        cx: &mut Ctx<'_, Self>,
        node: NodeId,
    ) -> Result<(), String> {
        let now = cx.now();
        let p = self.p;
        if let Some(g) = &self.group {
            if !g.serving() {
                return Err("not the view group's leader (its leader decides)".to_string());
            }
        }
        let Some(vs) = self.vs.as_mut() else {
            return Err("replicas cannot promote: the view manager does".to_string());
        };
        if let Some((c, _)) = vs.promote {
            return Err(format!("the promotion of node {c} is still under way"));
        }
        if let Some(why) = promotion_problem(vs, &p, now, node) {
            vs.status = format!("cannot promote node {node}: {why}");
            self.last_change = vs.status.clone();
            return Err(vs.status.clone());
        }
        vs.promote = Some((node, now));
        vs.status = if p.fencing && vs.view.primary.is_some() {
            format!(
                "operator asks to promote node {node}: the old primary's lease runs out first ({} ms)",
                p.dead_timeout_ms
            )
        } else {
            format!("operator asks to promote node {node}")
        };
        self.last_change = vs.status.clone();
        self.decide(cx);
        Ok(())
    }
}

/// Why a replica counts as dead, in words.
fn silent(vs: &ViewService, p: &PbParams, n: NodeId, now: Time) -> String {
    match vs.phi {
        Some(_) => format!(
            "suspected: phi {:.1} >= {} after {} ms without a ping",
            vs.suspicion(p, n, now).0,
            p.phi_threshold,
            now.saturating_sub(vs.seen.get(n as usize).map(|s| s.heard).unwrap_or(0)) / MS
        ),
        None => format!("silent for over {} ms", p.dead_timeout_ms),
    }
}

/// How long a promotion waits: with fencing, until the old primary's lease is out.
fn promotion_wait(p: &super::PbParams) -> Time {
    if p.fencing {
        p.dead_timeout_ms * crate::MS
    } else {
        0
    }
}

/// Why `node` cannot be promoted now, if it cannot.
fn promotion_problem(
    vs: &ViewService,
    p: &super::PbParams,
    now: Time,
    node: NodeId,
) -> Option<String> {
    let v = &vs.view;
    if v.primary == Some(node) {
        return Some(format!("it is already the primary of epoch {}", v.epoch));
    }
    if !v.backups.contains(&node) {
        return Some(format!(
            "it is not a backup of epoch {} (view {:?})",
            v.epoch,
            v.members()
        ));
    }
    let s = vs.seen.get(node as usize).cloned().unwrap_or_default();
    if s.heard == 0 || vs.suspicion(p, node, now).1 {
        return Some(format!(
            "it is down or cut off ({})",
            silent(vs, p, node, now)
        ));
    }
    if s.synced != v.epoch || s.epoch != v.epoch {
        return Some(format!(
            "it does not hold epoch {}'s state yet (still catching up)",
            v.epoch
        ));
    }
    if p.mode == Mode::Chain && v.backups.first() != Some(&node) {
        return Some(
            "in a chain only the head's successor can take over (it holds the longest prefix)"
                .to_string(),
        );
    }
    None
}

/// The next view, if the view must change (with why); `Err`: why it cannot.
fn plan(
    vs: &ViewService,
    p: &super::PbParams,
    now: Time,
    max_members: usize,
) -> Result<Option<(View, String)>, String> {
    let dead_after = p.dead_timeout_ms * crate::MS;
    let chain = p.mode == Mode::Chain;
    let seen = |n: NodeId| vs.seen.get(n as usize).cloned().unwrap_or_default();
    let dead = |n: NodeId| vs.suspicion(p, n, now).1;
    let v = &vs.view;
    if let Some(pr) = v.primary {
        let sp = seen(pr);
        let rebooted = sp.epoch == 0 && sp.was_up;
        if dead(pr) || rebooted {
            let ok: Vec<NodeId> = v
                .backups
                .iter()
                .copied()
                .filter(|b| {
                    let s = seen(*b);
                    !dead(*b) && s.synced == v.epoch && s.epoch == v.epoch
                })
                .collect();
            let pick = if chain {
                ok.first().copied()
            } else {
                ok.iter()
                    .copied()
                    .max_by_key(|b| (seen(*b).last, u32::MAX - b))
            };
            let why = if rebooted {
                format!("primary {pr} rebooted")
            } else {
                format!("primary {pr} {}", silent(vs, p, pr, now))
            };
            let Some(c) = pick else {
                return Err(format!(
                    "{why}, and no live backup holds epoch {}'s state: stuck until it returns",
                    v.epoch
                ));
            };
            let backups = v
                .backups
                .iter()
                .copied()
                .filter(|b| *b != c && !dead(*b))
                .collect();
            let what = if chain {
                "the next in the chain"
            } else {
                "the most up-to-date backup"
            };
            return Ok(Some((
                View {
                    epoch: v.epoch + 1,
                    primary: Some(c),
                    backups,
                },
                format!("{why}: promoted node {c}, {what}"),
            )));
        }
    }
    if let Some((c, at)) = vs.promote {
        if now < at + promotion_wait(p) || promotion_problem(vs, p, now, c).is_some() {
            return Ok(None);
        }
        let mut backups: Vec<NodeId> = v
            .backups
            .iter()
            .copied()
            .filter(|b| *b != c && !dead(*b))
            .collect();
        let old = v.primary.filter(|o| !dead(*o));
        // The old primary stays on as a backup (the tail of a chain).
        backups.extend(old);
        let why = match old {
            Some(o) => {
                format!("operator switched over: promoted node {c}, primary {o} is now a backup")
            }
            None => format!("operator failed over: promoted node {c}"),
        };
        return Ok(Some((
            View {
                epoch: v.epoch + 1,
                primary: Some(c),
                backups,
            },
            why,
        )));
    }
    if let Some(b) = v
        .backups
        .iter()
        .copied()
        .find(|b| dead(*b) || vs.lagging.contains(b))
    {
        let why = if dead(b) {
            format!("backup {b} {}", silent(vs, p, b, now))
        } else {
            format!("the primary reports backup {b} not answering")
        };
        let what = if chain {
            "spliced it out of the chain"
        } else {
            "removed it"
        };
        return Ok(Some((
            View {
                epoch: v.epoch + 1,
                primary: v.primary,
                backups: v.backups.iter().copied().filter(|x| *x != b).collect(),
            },
            format!("{why}: {what}"),
        )));
    }
    // New backups only join a live primary, which transfers its state to them.
    if v.primary.is_none_or(dead) || v.members().len() >= max_members {
        return Ok(None);
    }
    let fresh = (vs.first..vs.seen.len() as NodeId).find(|n| {
        let s = seen(*n);
        !v.contains(*n) && s.heard > 0 && now.saturating_sub(s.heard) <= dead_after / 2
    });
    Ok(fresh.map(|n| {
        let mut backups = v.backups.clone();
        backups.push(n);
        let at = if chain {
            "at the tail of the chain"
        } else {
            "as a backup"
        };
        (
            View {
                epoch: v.epoch + 1,
                primary: v.primary,
                backups,
            },
            format!("node {n} is up outside the view: added {at}, to catch up by state transfer"),
        )
    }))
}
