//! The sharded store's invariants, checked after every event from what each node has
//! applied (the entries applied since the last check are read from its log), and
//! Raft's own five inside each group (one Raft monitor per group: two groups' leaders
//! of the same term, or their unrelated entries at the same index, are no conflict).

use super::map::{shard_of, Placements, Shards, Status};
use super::ShardedRaft;
use crate::digest::{mix_str, val};
use crate::raft::{Cmd, RaftMonitor, RAFT_INVARIANTS};
use crate::{NodeId, Val, Violation};
use std::collections::BTreeMap;

/// The sharded store's own invariants.
const SHARD_INVARIANTS: [&str; 3] = [
    "one group per shard: no two groups serve a shard under the same shard map",
    "served when applied: a group applies an operation only on a shard it serves at that point of its log",
    "no write lost in a move: a shard arrives exactly as its old group held it when it gave it away",
];

/// Every invariant checked: the store's three, then Raft's five within each group.
pub const INVARIANTS: &[&str] = &[
    SHARD_INVARIANTS[0],
    SHARD_INVARIANTS[1],
    SHARD_INVARIANTS[2],
    RAFT_INVARIANTS[0],
    RAFT_INVARIANTS[1],
    RAFT_INVARIANTS[2],
    RAFT_INVARIANTS[3],
    RAFT_INVARIANTS[4],
];

/// Where the checker is in one node's log: the index it has read up to, and the shard
/// map there.
#[derive(Clone, Debug)]
struct Scan {
    applied: u64,
    sh: Shards,
}

#[derive(Clone, Debug, Default)]
pub struct ShardMonitor {
    scans: Vec<Option<Scan>>,
    /// `(shard, map) -> group` serving it.
    serving: BTreeMap<(u64, u64), u64>,
    /// `(shard, map) -> digest` of the shard's data when its old group gave it away.
    frozen: BTreeMap<(u64, u64), u64>,
    placements: Placements,
    /// Raft's monitor of each group, by group number.
    rafts: Vec<RaftMonitor>,
}

fn digest<'a>(kv: impl Iterator<Item = (&'a String, &'a Val)>) -> u64 {
    kv.fold(7, |h, (k, v)| val(mix_str(h, k), v))
}

impl ShardMonitor {
    pub fn check(
        &mut self,
        changed: NodeId,
        nodes: &[Option<ShardedRaft>],
    ) -> Result<(), Violation> {
        let Some(node) = nodes.get(changed as usize).and_then(|n| n.as_ref()) else {
            return Ok(());
        };
        let (p, g, r) = (node.p, node.group, &node.raft);
        let gi = g as usize;
        if self.rafts.len() <= gi {
            self.rafts.resize(gi + 1, RaftMonitor::default());
        }
        self.rafts[gi].check_in(changed, &|i| {
            nodes
                .get(i as usize)
                .and_then(|n| n.as_ref())
                .map(|n| &n.raft)
        })?;
        let ci = changed as usize;
        if self.scans.len() <= ci {
            self.scans.resize(ci + 1, None);
        }
        let applied = r.applied_index();
        let readable = |from: u64| from > r.log().snap_index();
        let mut scan = match self.scans[ci].take() {
            Some(s) if s.applied <= applied && readable(s.applied + 1) => s,
            Some(s) if s.applied == applied => s,
            _ => {
                // First sight, a restart, or entries compacted away: start from the store.
                let sh = Shards::of(r.state(), p.shards, node.initial());
                self.claim(g, &sh, &p)?;
                self.scans[ci] = Some(Scan { applied, sh });
                return Ok(());
            }
        };
        for i in scan.applied + 1..=applied {
            let Some(e) = r.log().entry(i) else { break };
            match &e.cmd {
                Cmd::Import(imp) => {
                    let before = scan.sh.cfg;
                    scan.sh.overlay(imp);
                    if scan.sh.cfg != before {
                        // A new map: the shards it gives away freeze here.
                        let st = self.placements.statuses(&scan.sh, g, &p);
                        for (s, x) in st.iter().enumerate() {
                            if matches!(x, Status::Leaving { .. }) {
                                let d = digest(r.state().kv.iter().filter(|(k, _)| {
                                    !k.starts_with('#') && shard_of(k, p.shards) == s as u64
                                }));
                                self.frozen
                                    .entry((s as u64, scan.sh.cfg.epoch))
                                    .or_insert(d);
                            }
                        }
                    }
                    for (k, v) in &imp.kv {
                        let Some(s) = k.strip_prefix("#in/").and_then(|s| s.parse::<u64>().ok())
                        else {
                            continue;
                        };
                        let epoch = v.int().unwrap_or(0) as u64;
                        let got = digest(
                            imp.kv
                                .iter()
                                .filter(|(k, _)| !k.starts_with('#'))
                                .map(|(k, v)| (k, v)),
                        );
                        if let Some(want) = self.frozen.get(&(s, epoch)) {
                            if *want != got {
                                return Err(Violation::new(
                                    INVARIANTS[2],
                                    format!(
                                        "group {g} imported shard {s} for shard map {epoch} (log index {i} of node {changed}) with different data than its old group held when it gave it away: a write acknowledged there is missing or changed"
                                    ),
                                ));
                            }
                        }
                    }
                    self.claim(g, &scan.sh, &p)?;
                }
                Cmd::Client(req) => {
                    let key = req.op.key();
                    if key.starts_with('#') {
                        continue;
                    }
                    let s = shard_of(key, p.shards);
                    let st = self.placements.status(&scan.sh, g, s, &p);
                    if st != Status::Serving {
                        return Err(Violation::new(
                            INVARIANTS[1],
                            format!(
                                "node {changed} (group {g}) applied `{}` from client {} at log index {i}, on shard {s}, which its group does not serve under shard map {} ({})",
                                req.op.describe(),
                                req.client,
                                scan.sh.cfg.epoch,
                                match st {
                                    Status::Leaving { to } => format!("handed over to group {to}"),
                                    Status::Waiting { from } => format!("still arriving from group {from}"),
                                    _ => "another group's".to_string(),
                                }
                            ),
                        ));
                    }
                }
                _ => {}
            }
        }
        scan.applied = applied;
        self.scans[ci] = Some(scan);
        Ok(())
    }

    /// Record the shards group `g` serves under `sh`; two groups serving one shard under
    /// one map is a violation.
    fn claim(&mut self, g: u64, sh: &Shards, p: &super::ShardParams) -> Result<(), Violation> {
        let st = self.placements.statuses(sh, g, p);
        for (s, x) in st.iter().enumerate() {
            if *x != Status::Serving {
                continue;
            }
            let other = *self.serving.entry((s as u64, sh.cfg.epoch)).or_insert(g);
            if other != g {
                return Err(Violation::new(
                    INVARIANTS[0],
                    format!(
                        "groups {other} and {g} both serve shard {s} under shard map {}",
                        sh.cfg.epoch
                    ),
                ));
            }
        }
        Ok(())
    }
}
