//! What the page draws of a Multi-Paxos node.
//!
//! `role`: `leader`, `candidate` (running phase 1) or `follower` (every node is also an
//! acceptor and a learner); `term`: the ballot's round; `voted_for`: the node whose
//! ballot this acceptor promised; `log`: one entry per slot (its value, with the ballot
//! round it was accepted in), `commit_index` = `applied_index`: the chosen prefix;
//! `progress`: each follower's chosen prefix as the leader knows it.

use super::{MultiPaxos, Role};
use crate::{LogEntryView, NodeView, ProgressView};

pub(super) fn role_name(r: Role) -> &'static str {
    match r {
        Role::Leader => "leader",
        Role::Candidate => "candidate",
        Role::Follower => "follower",
    }
}

pub(super) fn view(n: &MultiPaxos) -> NodeView {
    let base = n.log.base();
    let last = n.log.last_slot().max(n.acceptor.last_slot());
    let log = (base + 1..=last)
        .map(|slot| {
            let acc = n.acceptor.get(slot);
            let term = acc.map(|a| a.0.round).unwrap_or(0);
            let what = match (n.log.get(slot), acc) {
                (Some(c), _) => c.describe(),
                (None, Some((b, c))) => format!("{} (accepted in {b})", c.describe()),
                (None, None) => "(empty)".to_string(),
            };
            LogEntryView {
                index: slot,
                term,
                what,
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
    NodeView {
        role: role_name(pr.role).to_string(),
        term: n.ballot().round,
        voted_for: Some(n.acceptor.promised().node).filter(|_| !n.acceptor.promised().is_none()),
        leader: pr.leader,
        log,
        snapshot_index: base,
        commit_index: n.log.commit(),
        applied_index: n.log.commit(),
        kv: n.log.state().kv.clone(),
        progress,
        members: n.members.clone(),
        suspicion: Vec::new(),
        last_change: n.last_change.clone(),
        notes,
    }
}
