//! What the page draws of a sharded-store node: its group's Raft member (role, log,
//! store), the shard map and what it serves, and the ring that places shards on groups.

use super::map::{fmt_groups, groups_of, Status};
use super::ShardedRaft;
use crate::quorum::ring::Ring;
use crate::raft::Raft;
use crate::{LogWindow, NodeId, NodeView, Protocol, RingKey, RingSection};

fn list(v: &[u64]) -> String {
    if v.is_empty() {
        return "none".to_string();
    }
    let s: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    s.join(", ")
}

pub(super) fn view(n: &ShardedRaft, window: LogWindow) -> NodeView {
    let mut v = <Raft as Protocol>::view_window(&n.raft, window);
    let gs = n.gs();
    v.role.label = format!("{} g{}", v.role.label, n.group);
    let sh = n.applied();
    let mut pl = n.placements.clone();
    let st = pl.statuses(&sh, n.group, &n.p);
    let pick = |f: &dyn Fn(&Status) -> bool| -> Vec<u64> {
        st.iter()
            .enumerate()
            .filter(|(_, s)| f(s))
            .map(|(i, _)| i as u64)
            .collect()
    };
    let serving = pick(&|s| *s == Status::Serving);
    let waiting: Vec<String> = st
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Status::Waiting { from } => Some(format!("{i} from g{from}")),
            _ => None,
        })
        .collect();
    let leaving: Vec<String> = st
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Status::Leaving { to } => Some(format!("{i} to g{to}")),
            _ => None,
        })
        .collect();
    let mut fields = vec![
        (
            "group".to_string(),
            format!(
                "{} (nodes {}-{})",
                n.group,
                n.group * gs,
                n.group * gs + gs - 1
            ),
        ),
        (
            "shard map".to_string(),
            format!("{} (groups {})", sh.cfg.epoch, fmt_groups(sh.cfg.groups)),
        ),
        ("serves shards".to_string(), list(&serving)),
    ];
    if !waiting.is_empty() {
        fields.push(("waiting for".to_string(), waiting.join(", ")));
    }
    if !leaving.is_empty() {
        fields.push(("handing over".to_string(), leaving.join(", ")));
    }
    if n.known.len() as u64 > sh.cfg.epoch {
        fields.push((
            "newest map known".to_string(),
            format!(
                "{} (groups {})",
                n.known.len(),
                fmt_groups(*n.known.last().unwrap_or(&0))
            ),
        ));
    }
    if n.handed + n.taken > 0 {
        fields.push((
            "shards moved as leader".to_string(),
            format!("{} handed over, {} taken in", n.handed, n.taken),
        ));
    }
    fields.append(&mut v.fields);
    v.fields = fields;
    // Only the shards it serves: a copy kept after a handover is no longer the key's.
    if let Some(kv) = v.kv.as_mut() {
        kv.retain(|k, _| {
            !k.starts_with('#')
                && st.get(super::shard_of(k, n.p.shards) as usize) == Some(&Status::Serving)
        });
    }
    if !n.last_change.is_empty() {
        v.last_change = n.last_change.clone();
    }
    // The ring that places shards: each group's tokens, drawn at the group's first node.
    let groups: Vec<NodeId> = groups_of(sh.cfg.groups)
        .iter()
        .map(|g| *g as NodeId)
        .collect();
    let ring = Ring::new(&groups, n.p.vnodes);
    let frac = |h: u64| h as f64 / 18_446_744_073_709_551_616.0;
    let owners = pl.of(sh.cfg.groups, &n.p).to_vec();
    let held: Vec<String> = v.kv.iter().flat_map(|kv| kv.keys().cloned()).collect();
    let keys = held
        .iter()
        .map(|k| {
            let s = super::shard_of(k, n.p.shards);
            let g = owners.get(s as usize).copied().flatten().unwrap_or(n.group);
            RingKey {
                key: format!("{k} (shard {s})"),
                at: frac(crate::quorum::ring::key_hash(k)),
                preference: (g * gs..(g + 1) * gs).map(|x| x as NodeId).collect(),
            }
        })
        .collect();
    v.ring = Some(RingSection {
        tokens: ring
            .points()
            .iter()
            .map(|(t, g)| (frac(*t), (*g as u64 * gs) as NodeId))
            .collect(),
        keys,
        n: gs as u32,
        hints: Vec::new(),
        groups: true,
    });
    v
}
