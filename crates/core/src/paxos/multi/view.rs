//! What the page draws of a Multi-Paxos node.
//!
//! `role`: `leader`, `candidate` (running phase 1) or `follower` (every node is also an
//! acceptor and a learner); the epoch is the ballot's round; the `promised` field is the
//! ballot this acceptor promised; the log section is the slot table: one entry per slot
//! (its value, the ballot round it was accepted in, and whether it is chosen, accepted or
//! only promised), `commit_index` = `applied_index`: the chosen prefix; `progress`: each
//! follower's chosen prefix as the leader knows it.

use super::{MultiPaxos, Role};
use crate::{
    node_or_dash, EdgeMark, LogEntryView, LogSection, Mark, NodeView, ProgressView,
    Role as ViewRole, RoleKind,
};

fn role_of(r: Role) -> ViewRole {
    match r {
        Role::Leader => ViewRole::new("leader", RoleKind::Leader),
        Role::Candidate => ViewRole::new("candidate", RoleKind::Candidate),
        Role::Follower => ViewRole::new("follower", RoleKind::Follower),
    }
}

pub(super) fn view(n: &MultiPaxos) -> NodeView {
    let base = n.log.base();
    let last = n.log.last_slot().max(n.acceptor.last_slot());
    let log = (base + 1..=last)
        .map(|slot| {
            let acc = n.acceptor.get(slot);
            let term = acc.map(|a| a.0.round).unwrap_or(0);
            let (what, mark) = match (n.log.get(slot), acc) {
                (Some(c), _) => (c.describe(), Mark::Chosen),
                (None, Some((b, c))) => (
                    format!("{} (accepted in {b})", c.describe()),
                    Mark::Accepted,
                ),
                (None, None) if !n.acceptor.promised().is_none() => {
                    ("(empty)".to_string(), Mark::Promised)
                }
                (None, None) => ("(empty)".to_string(), Mark::Open),
            };
            LogEntryView {
                index: slot,
                term,
                what,
                mark,
            }
        })
        .collect();
    let pr = &n.proposer;
    let progress = pr
        .peers
        .iter()
        .map(|p| ProgressView {
            node: p.node,
            match_index: p.commit,
            next_index: p.commit + 1,
        })
        .collect();
    let mut notes = vec![
        ("promised".to_string(), n.acceptor.promised().to_string()),
        ("leader".to_string(), node_or_dash(pr.leader)),
        (
            "accepted".to_string(),
            format!("{} slots held", n.acceptor.iter().count()),
        ),
    ];
    match pr.role {
        Role::Leader => {
            notes.push(("ballot".to_string(), pr.ballot.to_string()));
            notes.push(("next slot".to_string(), pr.next_slot.to_string()));
            if !pr.inflight.is_empty() {
                let s: Vec<String> = pr.inflight.keys().map(|k| k.to_string()).collect();
                notes.push(("in phase 2".to_string(), s.join(", ")));
            }
            if !pr.waiters.is_empty() {
                notes.push(("pending requests".to_string(), pr.waiters.len().to_string()));
            }
        }
        Role::Candidate => {
            notes.push(("ballot".to_string(), pr.ballot.to_string()));
            let mut who = pr.promises.clone();
            who.sort_unstable();
            notes.push(("promises".to_string(), crate::paxos::fmt_nodes(&who)));
        }
        Role::Follower => {}
    }
    notes.push((
        "clients with sessions".to_string(),
        n.log.state().sessions.len().to_string(),
    ));
    let edges = match pr.leader {
        Some(l) if l != n.id => vec![EdgeMark {
            to: l,
            label: "follows".into(),
        }],
        _ => Vec::new(),
    };
    NodeView {
        role: role_of(pr.role),
        term: n.ballot().round,
        epoch_label: "ballot".into(),
        epoch_text: String::new(),
        fields: notes,
        members: n.members.clone(),
        last_change: n.last_change.clone(),
        log: Some(LogSection {
            entries: log,
            snapshot_index: base,
            commit_index: n.log.commit(),
            applied_index: n.log.commit(),
            commit_label: "chosen".into(),
            progress,
            epoch_starts: Vec::new(),
        }),
        kv: Some(n.log.state().kv.clone()),
        gauges: Vec::new(),
        edges,
        ring: None,
    }
}
