//! What "the cluster converged" means at the end of a run, as a function over the
//! nodes' views.
//!
//! A snapshot of one instant is not a fair test: with a lossy network an election can
//! start a few milliseconds before the end (lost heartbeats), and the new leader's
//! first commit has not reached the followers yet. So the simulator looks twice: at a
//! *settle point* (half of `checks.converge_after_ms` before the end, so at least that
//! long after the last disturbance) and at the end. A correct protocol always meets the
//! rule below; one whose followers stop applying, or whose replicas diverge, does not.
//!
//! Each protocol says what converged means for it, in ONE place: its line in the
//! catalogue ([`crate::registry::Listing::converged`]) names a [`Rule`] from here:
//! [`replicated_log`] for leader-based replicated logs (Raft, Multi-Paxos), generic over
//! the views' log and key-value sections; [`suspects_the_crashed`] for failure
//! detectors. A protocol without a rule makes no claim (the check passes).

use quorumlab_core::{NodeId, NodeView, Time, MS};

/// What the convergence rule sees.
#[derive(Clone, Copy, Debug)]
pub struct Observed<'a> {
    /// Every node's view at the settle point (`None`: not running then).
    pub settle: &'a [Option<NodeView>],
    /// Every node's view at the end (`None`: not running).
    pub end: &'a [Option<NodeView>],
    /// Whether some running node was leader after some window between the settle point
    /// and the end.
    pub leader_seen: bool,
    /// The settle point and the end, in µs.
    pub settle_time: Time,
    pub end_time: Time,
}

/// A convergence rule: `Err` says in words what did not converge.
pub type Rule = fn(&Observed<'_>) -> Result<(), String>;

/// For leader-based replicated logs (Raft): between the settle point and the end some
/// node led; everything committed by the settle point (the highest commit index any
/// running node knew) has been applied by the end by every running member (the members
/// as the node that knew the most committed at the settle point saw them, less those
/// removed by the end); and members that have applied as many entries hold equal state
/// machines.
pub fn replicated_log(o: &Observed<'_>) -> Result<(), String> {
    let quiet = (o.end_time - o.settle_time) / MS;
    if !o.leader_seen {
        return Err(format!(
            "no node led in the last {quiet} ms of the run, after the faults were over"
        ));
    }
    let settled: Vec<(usize, &NodeView)> = o
        .settle
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.as_ref().map(|v| (i, v)))
        .collect();
    let committed = settled
        .iter()
        .map(|(_, v)| v.commit_index())
        .max()
        .unwrap_or(0);
    let members: Vec<NodeId> = settled
        .iter()
        // The most advanced by what it knows committed, then by term: a removed node
        // campaigning alone climbs terms without learning anything, and its members
        // (still counting itself) are not the cluster's.
        .max_by_key(|(i, v)| (v.commit_index(), v.term, std::cmp::Reverse(*i)))
        .map(|(_, v)| v.members.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| settled.iter().map(|(i, _)| *i as NodeId).collect());
    // A member removed after the settle point (a change still pending when the faults
    // stopped) need not catch up: only those still members at the end count.
    let at_end: Option<Vec<NodeId>> = o
        .end
        .iter()
        .flatten()
        .max_by_key(|v| (v.commit_index(), v.term))
        .map(|v| v.members.clone())
        .filter(|m| !m.is_empty());
    let live: Vec<(NodeId, &NodeView)> = members
        .iter()
        .filter(|m| at_end.as_ref().is_none_or(|e| e.contains(m)))
        .filter_map(|&m| {
            o.end
                .get(m as usize)
                .and_then(Option::as_ref)
                .map(|v| (m, v))
        })
        .collect();
    for (m, v) in &live {
        if v.applied_index() < committed {
            return Err(format!(
                "node {m} has applied {} entries by the end, but {committed} were committed {quiet} ms before it",
                v.applied_index()
            ));
        }
    }
    for (k, (a, va)) in live.iter().enumerate() {
        for (b, vb) in &live[k + 1..] {
            if va.applied_index() == vb.applied_index() && va.kv() != vb.kv() {
                return Err(format!(
                    "nodes {a} and {b} have both applied {} entries but hold different data",
                    va.applied_index()
                ));
            }
        }
    }
    Ok(())
}

/// For failure detectors: once the faults are over, every running node suspects exactly
/// the nodes that are down, among those it watches (its view's members). Judged at the
/// end, when the detector has had the whole quiet period (`converge_after_ms`, at least
/// half of it after the settle point) to notice crashes and to trust again the nodes that
/// came back. A detector whose timeout is longer than that, or that keeps suspecting a
/// node it hears from, fails.
pub fn suspects_the_crashed(o: &Observed<'_>) -> Result<(), String> {
    // The settle point is half the quiet period before the end.
    let quiet = 2 * (o.end_time - o.settle_time) / MS;
    let down = |m: NodeId| o.end.get(m as usize).is_none_or(|v| v.is_none());
    for (i, v) in o.end.iter().enumerate() {
        let Some(v) = v else { continue };
        let i = i as NodeId;
        let watched = v.members.iter().copied().filter(|&m| m != i);
        let expected: Vec<NodeId> = watched.filter(|&m| down(m)).collect();
        let suspected: Vec<NodeId> = v.flagged().collect();
        if let Some(m) = expected.iter().find(|m| !suspected.contains(m)) {
            return Err(format!(
                "node {i} does not suspect node {m} at the end, though node {m} is down (no fault in the last {quiet} ms)"
            ));
        }
        if let Some(m) = suspected.iter().find(|m| !expected.contains(m)) {
            return Err(format!(
                "node {i} still suspects node {m} at the end, though node {m} is up (no fault in the last {quiet} ms): a false suspicion"
            ));
        }
    }
    Ok(())
}

/// One quorum-store replica's versions, from its view's fields (`"k0 @2,4,0"` ->
/// `"7 (t=1234.567 ms by 3)"`): (key, value, (stamp in µs, coordinator), preference
/// list).
pub(crate) type QuorumVersion<'a> = (&'a str, i64, (u64, u64), Vec<NodeId>);

pub(crate) fn quorum_versions(v: &NodeView) -> Vec<QuorumVersion<'_>> {
    v.fields
        .iter()
        .filter_map(|(label, value)| {
            let (key, pref) = label.split_once(" @")?;
            let pref = pref.split(',').filter_map(|n| n.parse().ok()).collect();
            let (x, stamp) = value.split_once(" (t=")?;
            let (ms, rest) = stamp.split_once(" ms by ")?;
            let (whole, frac) = ms.split_once('.')?;
            let us = whole.parse::<u64>().ok()? * 1000 + frac.parse::<u64>().ok()?;
            let by = rest.trim_end_matches(')').parse().ok()?;
            Some((key, x.parse().ok()?, (us, by), pref))
        })
        .collect()
}

/// For a leaderless store with anti-entropy on (its views show an `anti-entropy`
/// line; without it the protocol makes no claim): every version a replica held at the
/// settle point is held, or superseded by a newer one, by every running replica of its
/// key at the end. Writes after the settle point may still be on their way; what was
/// there before must have spread.
pub fn replicas_agree(o: &Observed<'_>) -> Result<(), String> {
    let anti_entropy = o
        .end
        .iter()
        .flatten()
        .any(|v| v.field("anti-entropy").is_some());
    if !anti_entropy {
        return Ok(());
    }
    let end: Vec<Option<Vec<QuorumVersion<'_>>>> = o
        .end
        .iter()
        .map(|v| v.as_ref().map(quorum_versions))
        .collect();
    for (i, v) in o.settle.iter().enumerate() {
        let Some(v) = v else { continue };
        for (key, _, stamp, _) in quorum_versions(v) {
            // The key's replicas as the end's ring places it.
            let Some(pref) = end
                .iter()
                .flatten()
                .find_map(|m| m.iter().find(|x| x.0 == key).map(|x| x.3.clone()))
            else {
                continue;
            };
            for r in pref {
                let Some(Some(held)) = end.get(r as usize) else {
                    continue;
                };
                let has = held.iter().find(|x| x.0 == key).map(|x| x.2);
                if has.is_none_or(|h| h < stamp) {
                    return Err(format!(
                        "node {i} held {key} stamped {:.3} ms at the settle point, but its replica node {r} still holds {} at the end, with anti-entropy on",
                        stamp.0 as f64 / 1000.0,
                        has.map_or("nothing".to_string(), |h| format!("an older version ({:.3} ms)", h.0 as f64 / 1000.0))
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use quorumlab_core::{Gauge, LogSection, Role, RoleKind};

    fn node(role: &str, term: u64, commit: u64, applied: u64, kv: &[(&str, i64)]) -> NodeView {
        let kind = if role == "leader" {
            RoleKind::Leader
        } else {
            RoleKind::Follower
        };
        NodeView {
            role: Role::new(role, kind),
            term,
            log: Some(LogSection {
                commit_index: commit,
                applied_index: applied,
                ..Default::default()
            }),
            members: vec![0, 1, 2],
            kv: Some(
                kv.iter()
                    .map(|(k, v)| (k.to_string(), quorumlab_core::Val::Int(*v)))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    fn check(
        settle: &[Option<NodeView>],
        end: &[Option<NodeView>],
        leader: bool,
    ) -> Result<(), String> {
        replicated_log(&Observed {
            settle,
            end,
            leader_seen: leader,
            settle_time: 5_000 * MS,
            end_time: 6_500 * MS,
        })
    }

    #[test]
    fn a_follower_one_commit_behind_at_the_end_is_fine_if_it_applied_what_was_settled() {
        let settle = vec![
            Some(node("leader", 2, 10, 10, &[("k0", 1)])),
            Some(node("follower", 2, 10, 10, &[("k0", 1)])),
            Some(node("follower", 2, 9, 9, &[])),
        ];
        // A late election: the new leader committed its no-op, the others do not know.
        let end = vec![
            Some(node("follower", 3, 10, 10, &[("k0", 1)])),
            Some(node("leader", 3, 11, 11, &[("k0", 1)])),
            Some(node("follower", 3, 10, 10, &[("k0", 1)])),
        ];
        assert_eq!(check(&settle, &end, true), Ok(()));
    }

    #[test]
    fn a_follower_that_does_not_apply_what_was_committed_fails() {
        let settle = vec![
            Some(node("leader", 2, 10, 10, &[("k0", 1)])),
            Some(node("follower", 2, 10, 10, &[("k0", 1)])),
            Some(node("follower", 2, 7, 7, &[])),
        ];
        let end = vec![
            Some(node("leader", 2, 10, 10, &[("k0", 1)])),
            Some(node("follower", 2, 10, 10, &[("k0", 1)])),
            Some(node("follower", 2, 10, 9, &[])),
        ];
        let e = check(&settle, &end, true).unwrap_err();
        assert!(e.contains("node 2 has applied 9 entries"), "{e}");
    }

    #[test]
    fn divergent_replicas_and_no_leader_fail() {
        let settle = vec![Some(node("leader", 2, 10, 10, &[])), None, None];
        let end = vec![
            Some(node("leader", 2, 10, 10, &[("k0", 1)])),
            Some(node("follower", 2, 10, 10, &[("k0", 2)])),
            None,
        ];
        let e = check(&settle, &end, true).unwrap_err();
        assert!(e.contains("different data"), "{e}");
        let same = vec![end[0].clone(), end[0].clone(), None];
        assert!(check(&settle, &same, false)
            .unwrap_err()
            .contains("no node led"));
        assert_eq!(check(&settle, &same, true), Ok(()));
    }

    fn detector(suspects: &[NodeId]) -> NodeView {
        NodeView {
            members: vec![0, 1, 2, 3],
            gauges: (0..4)
                .map(|n| Gauge {
                    node: n,
                    label: "phi".into(),
                    value: 0.0,
                    max: 8.0,
                    flagged: suspects.contains(&n),
                })
                .collect(),
            ..Default::default()
        }
    }

    fn check_fd(end: &[Option<NodeView>]) -> Result<(), String> {
        suspects_the_crashed(&Observed {
            settle: end,
            end,
            leader_seen: false,
            settle_time: 5_000 * MS,
            end_time: 6_500 * MS,
        })
    }

    #[test]
    fn detectors_converge_when_every_live_node_suspects_exactly_the_crashed() {
        let end = vec![
            Some(detector(&[2])),
            Some(detector(&[2])),
            None,
            Some(detector(&[2])),
        ];
        assert_eq!(check_fd(&end), Ok(()));
        // One node has not noticed the crash yet.
        let late = vec![
            Some(detector(&[2])),
            Some(detector(&[])),
            None,
            Some(detector(&[2])),
        ];
        let e = check_fd(&late).unwrap_err();
        assert!(e.contains("node 1 does not suspect node 2"), "{e}");
        // One node still suspects a node that is up.
        let stale = vec![
            Some(detector(&[2, 3])),
            Some(detector(&[2])),
            None,
            Some(detector(&[2])),
        ];
        let e = check_fd(&stale).unwrap_err();
        assert!(e.contains("node 0 still suspects node 3"), "{e}");
    }
}
