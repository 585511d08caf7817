//! What the page draws of a primary-backup node. ALL of the protocol's picture is built
//! here, from the node's state to a `NodeView`.
//!
//! `role`: `view service` (neutral; with a Raft view store each view node also shows
//! its place in the group), `primary` / `head` (leader kind), `backup` /
//! `middle` / `tail` (replica), `catching up` (learner: in the view, waiting for its
//! state transfer), `deposed` (named primary no more, or its lease ran out) and `idle`
//! (outside the view), both neutral; the epoch; a `follows` edge to the primary; the
//! log in memory, committed up to the last index when the node holds the epoch's state;
//! each downstream replica's acknowledged index as progress, and its lag as a gauge
//! (`snapshot transfer` until a recovering replica installed its snapshot, then the
//! entries it still has to replay). In a chain each node draws a `chain` arrow to its
//! successor instead of `follows`. The view manager shows each member's suspicion.

use super::{Mode, PrimaryBackup};
use crate::{
    EdgeMark, Gauge, LogEntryView, LogSection, Mark, NodeView, Op, ProgressView, Role, RoleKind, MS,
};

fn describe(op: &Op) -> String {
    match op {
        Op::Read { key } => format!("read {key}"),
        Op::Write { key, value } => format!("{key}={value}"),
        Op::Cas { key, expect, new } => format!("cas {key} {expect}->{new}"),
        Op::Append { key, value } => format!("{key}+={value}"),
        other => format!("{} {}", other.kind().name(), other.key()),
    }
}

fn role(n: &PrimaryBackup) -> Role {
    if n.vs.is_some() {
        return Role::new("view service", RoleKind::Neutral);
    }
    let v = &n.view;
    if !v.contains(n.id) || v.epoch == 0 {
        return Role::new("idle", RoleKind::Neutral);
    }
    if n.synced != v.epoch {
        return if v.primary == Some(n.id) {
            Role::new("deposed", RoleKind::Neutral)
        } else {
            Role::new("catching up", RoleKind::Learner)
        };
    }
    let chain = n.p.mode == Mode::Chain;
    let r = if v.primary == Some(n.id) {
        if chain {
            if v.backups.is_empty() {
                "head+tail"
            } else {
                "head"
            }
        } else {
            "primary"
        }
    } else if chain {
        if v.tail() == Some(n.id) {
            "tail"
        } else {
            "middle"
        }
    } else {
        "backup"
    };
    let kind = if v.primary == Some(n.id) {
        RoleKind::Leader
    } else {
        RoleKind::Replica
    };
    Role::new(r, kind)
}

pub(super) fn view(n: &PrimaryBackup) -> NodeView {
    let v = n.view_known();
    let mut notes = Vec::new();
    if let Some(p) = v.primary {
        notes.push(("primary".to_string(), p.to_string()));
    }
    notes.push(("mode".to_string(), n.p.mode.name().to_string()));
    let mut members = v.members();
    members.sort_unstable();
    if let Some(vs) = &n.vs {
        notes.push(("view".to_string(), format!("{:?}", v.members())));
        notes.push(("status".to_string(), vs.status.clone()));
        if let Some(g) = &n.group {
            let r = &g.raft;
            let what = if g.serving() {
                "leader, deciding"
            } else if crate::Protocol::is_leader(r) {
                "leader, catching up"
            } else {
                "follower"
            };
            notes.push((
                "view group".to_string(),
                format!(
                    "{what} (Raft term {}, commit {})",
                    r.term(),
                    r.commit_index()
                ),
            ));
        }
        // How suspect each replica of the view looks to this view manager.
        let phi = vs.phi.is_some();
        let gauges = v
            .members()
            .into_iter()
            .map(|m| {
                let (level, dead) = vs.suspicion(&n.p, m, vs.now);
                Gauge {
                    node: m,
                    label: if phi { "phi" } else { "silence ms" }.into(),
                    value: level,
                    max: if phi {
                        n.p.phi_threshold as f64
                    } else {
                        n.p.dead_timeout_ms as f64
                    },
                    flagged: dead,
                }
            })
            .collect();
        return NodeView {
            role: role(n),
            term: v.epoch,
            epoch_label: "epoch".into(),
            epoch_text: String::new(),
            fields: notes,
            members,
            last_change: n.last_change.clone(),
            gauges,
            ..Default::default()
        };
    }
    if n.p.mode == Mode::Chain {
        let chain: Vec<String> = v.members().iter().map(|m| m.to_string()).collect();
        notes.push(("chain".to_string(), chain.join(" -> ")));
    }
    notes.push(("state of epoch".to_string(), n.synced.to_string()));
    if n.p.fencing {
        let lease = if n.lease_until > 0 {
            format!("until {} ms", n.lease_until / MS)
        } else {
            "none".to_string()
        };
        notes.push(("lease".to_string(), lease));
    }
    if let Some((from, index)) = n.transfer {
        notes.push((
            "state transfer".to_string(),
            format!(
                "snapshot at {index} from node {from}, then {} entries replayed",
                n.last.saturating_sub(index)
            ),
        ));
    }
    if n.is_primary() {
        for p in &n.peers {
            let lag = if p.synced {
                format!("{} entries", n.last.saturating_sub(p.acked))
            } else {
                "state transfer".to_string()
            };
            notes.push((format!("lag of node {}", p.node), lag));
        }
        if !n.waiters.is_empty() {
            notes.push(("waiting for acks".to_string(), n.waiters.len().to_string()));
        }
        if n.fell_back {
            notes.push(("semi-sync".to_string(), "fell back to async".to_string()));
        }
    }
    let holds = v.epoch > 0 && n.synced == v.epoch && v.contains(n.id);
    let entries = n
        .log
        .iter()
        .map(|e| LogEntryView {
            index: e.index,
            term: e.epoch,
            what: describe(&e.req.op),
            mark: if holds { Mark::Applied } else { Mark::Open },
        })
        .collect();
    let progress = n
        .peers
        .iter()
        .map(|p| ProgressView {
            node: p.node,
            match_index: p.acked,
            next_index: p.acked + 1,
        })
        .collect();
    let gauges = if n.is_primary() {
        n.peers
            .iter()
            .map(|p| {
                let lag = n.last.saturating_sub(p.acked);
                Gauge {
                    node: p.node,
                    // A recovering replica: its snapshot first, then the log replayed.
                    label: if p.synced { "lag" } else { "snapshot transfer" }.into(),
                    value: lag as f64,
                    max: 10.0,
                    flagged: !p.synced || lag > 10,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    // A chain is drawn as arrows along it (head to tail); a backup follows its primary.
    let edges = if n.p.mode == Mode::Chain {
        v.successor(n.id)
            .map(|to| EdgeMark {
                to,
                label: "chain".into(),
            })
            .into_iter()
            .collect()
    } else {
        match v.primary {
            Some(p) if p != n.id && v.contains(n.id) => vec![EdgeMark {
                to: p,
                label: "follows".into(),
            }],
            _ => Vec::new(),
        }
    };
    NodeView {
        role: role(n),
        term: v.epoch,
        epoch_label: "epoch".into(),
        epoch_text: String::new(),
        fields: notes,
        members,
        last_change: n.last_change.clone(),
        log: Some(LogSection {
            entries,
            snapshot_index: n.base,
            commit_index: if holds { n.last } else { 0 },
            applied_index: n.last,
            commit_label: "commit".into(),
            progress,
            epoch_starts: n.epochs.clone(),
        }),
        kv: Some(n.store.kv.clone()),
        gauges,
        edges,
        ring: None,
    }
}
