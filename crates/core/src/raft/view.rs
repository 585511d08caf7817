//! What the page draws of a Raft node.

use super::{fmt_members, Cmd, Entry, PrState, ReadMode, Role};
use crate::{
    node_or_dash, EdgeMark, LogEntryView, LogSection, LogWindow, Mark, NodeView, ProgressView,
    RoleKind,
};

/// A short description of a command: `x=4`, `cas x 4→5`, `read x`, `no-op`,
/// `config {0,1,2}`.
pub fn describe(cmd: &Cmd) -> String {
    match cmd {
        Cmd::Noop => "no-op".to_string(),
        Cmd::Config { members } => format!("config {}", fmt_members(members)),
        Cmd::Client(r) => r.op.describe(),
        Cmd::Import(i) => match i.kv.iter().find(|(k, _)| k.starts_with('#')) {
            Some((k, v)) => format!("import {} keys, {k}={v}", i.kv.len() - 1),
            None => format!("import {} keys", i.kv.len()),
        },
    }
}

/// `describe` plus the term, for violation reports.
pub fn describe_entry(e: &Entry) -> String {
    format!("`{}` (term {})", describe(&e.cmd), e.term)
}

fn role_of(r: &super::Raft) -> (&'static str, RoleKind) {
    match r.role {
        Role::Leader => ("leader", RoleKind::Leader),
        Role::Candidate => ("candidate", RoleKind::Candidate),
        Role::PreCandidate => ("pre-candidate", RoleKind::Candidate),
        Role::Follower if !r.is_member(r.id) => ("learner", RoleKind::Learner),
        Role::Follower => ("follower", RoleKind::Follower),
    }
}

pub(super) fn view(r: &super::Raft, window: LogWindow) -> NodeView {
    let first = r.log.first_index();
    let end = r.log.last_index();
    let log = r
        .log
        .entries()
        .iter()
        .enumerate()
        .map(|(k, e)| (first + k as u64, e))
        // Only the entries asked for are described (a long log's `describe` of every
        // entry, every frame, was the page's cost).
        .filter(|(index, _)| window.keeps(*index, end))
        .map(|(index, e)| LogEntryView {
            index,
            term: e.term,
            what: describe(&e.cmd),
            mark: if index <= r.applied {
                Mark::Applied
            } else if index <= r.commit {
                Mark::Committed
            } else {
                Mark::Open
            },
        })
        .collect();
    let progress = r
        .progress
        .iter()
        .map(|p| ProgressView {
            node: p.node,
            match_index: p.match_index,
            next_index: p.next_index,
        })
        .collect();
    let mut notes = Vec::new();
    if r.role == Role::Leader {
        let states: Vec<String> = r
            .progress
            .iter()
            .map(|p| {
                let s = match p.state {
                    PrState::Probe => "probe".to_string(),
                    PrState::Replicate => "replicate".to_string(),
                    PrState::Snapshot => format!("snapshot {}", p.snapshot_index),
                };
                format!("{}: {s}", p.node)
            })
            .collect();
        if !states.is_empty() {
            notes.push(("replication".to_string(), states.join(", ")));
        }
        if !r.committed_in_term() {
            notes.push((
                "no-op".to_string(),
                format!("index {} not committed yet", r.term_start),
            ));
        }
        if !r.reads.is_empty() {
            notes.push((
                "pending reads".to_string(),
                format!("{} waiting for heartbeat round {}", r.reads.len(), r.round),
            ));
        }
        if !r.waiters.is_empty() {
            notes.push(("pending writes".to_string(), r.waiters.len().to_string()));
        }
        if r.p.read_mode == ReadMode::Lease {
            let until = r.lease_until;
            notes.push((
                "lease".to_string(),
                format!(
                    "until {}.{:03} ms (local clock)",
                    until / 1000,
                    until % 1000
                ),
            ));
        }
        if r.config_index() > r.commit {
            notes.push((
                "membership".to_string(),
                format!("config entry {} not committed yet", r.config_index()),
            ));
        }
    }
    if let Some(t) = r
        .leader_contact
        .filter(|_| r.role == Role::Follower && r.leader.is_some())
    {
        notes.push((
            "leader last heard".to_string(),
            format!("{}.{:03} ms (local clock)", t / 1000, t % 1000),
        ));
    }
    notes.push((
        "clients with sessions".to_string(),
        r.state.sessions.len().to_string(),
    ));
    let mut members = r.members().to_vec();
    members.sort_unstable();
    let mut fields = vec![
        ("voted for".to_string(), node_or_dash(r.vote)),
        ("leader".to_string(), node_or_dash(r.leader)),
    ];
    fields.append(&mut notes);
    let (label, kind) = role_of(r);
    let edges = match r.leader {
        Some(l) if l != r.id => vec![EdgeMark {
            to: l,
            label: "follows".into(),
        }],
        _ => Vec::new(),
    };
    NodeView {
        role: crate::Role::new(label, kind),
        term: r.term,
        epoch_label: "term".into(),
        epoch_text: String::new(),
        fields,
        members,
        last_change: r.last_change.clone(),
        log: Some(LogSection {
            entries: log,
            snapshot_index: r.log.snap_index(),
            commit_index: r.commit,
            applied_index: r.applied,
            commit_label: "commit".into(),
            progress,
            epoch_starts: Vec::new(),
        }),
        kv: Some(r.state.kv.clone()),
        gauges: Vec::new(),
        edges,
        ring: None,
    }
}
