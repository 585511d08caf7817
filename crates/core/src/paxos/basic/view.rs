//! What the page draws of a Basic Paxos node: one log entry per key (its instance,
//! marked chosen, accepted or promised), `kv` = the values learned as chosen, the epoch
//! = the highest ballot round seen, and each proposer's phase per key as fields.

use super::proposer::Phase;
use super::Paxos;
use crate::paxos::fmt_nodes;
use crate::{LogEntryView, LogSection, Mark, NodeView, Role, RoleKind};
use std::collections::BTreeSet;

pub(super) fn view(n: &Paxos) -> NodeView {
    let keys: BTreeSet<&String> = n
        .acceptor
        .iter()
        .map(|(k, _)| k)
        .chain(n.learned.keys())
        .chain(n.proposer.rounds.keys())
        .collect();
    let mut log = Vec::new();
    let mut notes = Vec::new();
    for (k, key) in keys.iter().enumerate() {
        let a = n.acceptor.get(key);
        let (what, mark) = match (n.learned.get(*key), a.accepted) {
            (Some(v), _) => (format!("{key}: chosen {v}"), Mark::Chosen),
            (None, Some(acc)) => (
                format!("{key}: accepted {} in {}", acc.value, acc.ballot),
                Mark::Accepted,
            ),
            (None, None) if !a.promised.is_none() => {
                (format!("{key}: promised {}", a.promised), Mark::Promised)
            }
            _ => (format!("{key}: (nothing)"), Mark::Open),
        };
        log.push(LogEntryView {
            index: k as u64 + 1,
            term: a.accepted.map(|x| x.ballot.round).unwrap_or(0),
            what,
            mark,
        });
        notes.push((format!("{key} promised"), a.promised.to_string()));
        if let Some(r) = n.proposer.rounds.get(*key) {
            let mut p = r.promises.clone();
            p.sort_unstable();
            let mut acc = r.accepts.clone();
            acc.sort_unstable();
            let s = match r.phase {
                Phase::Idle => format!("backing off after ballot {}", r.ballot),
                Phase::Prepare => {
                    format!("ballot {}: phase 1, promises {}", r.ballot, fmt_nodes(&p))
                }
                Phase::Accept => format!(
                    "ballot {}: phase 2 with {}, accepted by {}",
                    r.ballot,
                    r.value.unwrap_or_default(),
                    fmt_nodes(&acc)
                ),
            };
            notes.push((format!("{key} round {}", r.rounds), s));
        }
    }
    notes.push((
        "pre-empted rounds".to_string(),
        n.proposer.preempted.to_string(),
    ));
    let busy = n.proposer.rounds.values().any(|r| r.phase != Phase::Idle);
    let role = if busy {
        Role::new("proposer", RoleKind::Candidate)
    } else {
        Role::new("acceptor", RoleKind::Replica)
    };
    NodeView {
        role,
        term: n.proposer.max_round.values().copied().max().unwrap_or(0),
        epoch_label: "ballot".into(),
        epoch_text: String::new(),
        fields: notes,
        members: n.members.clone(),
        last_change: n.last_change.clone(),
        log: Some(LogSection {
            entries: log,
            snapshot_index: 0,
            commit_index: n.learned.len() as u64,
            applied_index: n.learned.len() as u64,
            commit_label: "learned".into(),
            progress: Vec::new(),
            epoch_starts: Vec::new(),
        }),
        kv: Some(
            n.learned
                .iter()
                .map(|(k, v)| (k.clone(), crate::Val::Int(*v)))
                .collect(),
        ),
        gauges: Vec::new(),
        edges: Vec::new(),
        ring: None,
    }
}
