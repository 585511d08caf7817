//! The shard map: which group serves which shard, in numbered configurations, and what
//! a group's store says about each shard.
//!
//! A key belongs to one of `shards` fixed slices of the hash circle (the ring's key
//! hash, `quorum::ring::key_hash`). Shards are placed on groups by consistent hashing:
//! each group in a configuration owns `vnodes` tokens on the same circle, and a shard
//! goes to the group whose token follows the shard's middle. So a group that joins takes
//! about 1/G of the shards and the others keep theirs.
//!
//! Configuration `e` is a set of groups (a bit set); group 0's Raft log decides them, one
//! at a time. Each group keeps in its own store, in reserved keys written by Raft
//! imports (clients' keys never start with `#`):
//! - `#config`: the configuration it has moved to, with the one before (packed);
//! - `#cfg/<e>`: the groups of configuration `e` (group 0 keeps every one it decided);
//! - `#in/<s>`: the configuration in which shard `s`'s data arrived here;
//! - `#out/<s>`: the configuration in which the group that took shard `s` from here
//!   confirmed it had it.

use super::params::ShardParams;
use crate::quorum::ring::{key_hash, Ring};
use crate::raft::{Cmd, Import, Kv, Raft};
use crate::{NodeId, Val};
use serde::{Deserialize, Serialize};

pub const CONFIG_KEY: &str = "#config";

pub fn cfg_key(epoch: u64) -> String {
    format!("#cfg/{epoch}")
}
pub fn in_key(shard: u64) -> String {
    format!("#in/{shard}")
}
pub fn out_key(shard: u64) -> String {
    format!("#out/{shard}")
}

/// One configuration: its number, its groups and the groups of the one before (0 for
/// the first, which every group starts from with nothing to hand over).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Config {
    pub epoch: u64,
    pub groups: u64,
    pub prev: u64,
}

impl Config {
    pub fn pack(&self) -> i64 {
        ((self.epoch << 32) | ((self.groups & 0xFFFF) << 16) | (self.prev & 0xFFFF)) as i64
    }
    pub fn unpack(x: i64) -> Config {
        let x = x as u64;
        Config {
            epoch: x >> 32,
            groups: (x >> 16) & 0xFFFF,
            prev: x & 0xFFFF,
        }
    }
}

/// The groups of a bit set, in order.
pub fn groups_of(mask: u64) -> Vec<u64> {
    (0..64).filter(|g| mask >> g & 1 == 1).collect()
}

/// `{0,1,2}`.
pub fn fmt_groups(mask: u64) -> String {
    let v: Vec<String> = groups_of(mask).iter().map(|g| g.to_string()).collect();
    format!("{{{}}}", v.join(","))
}

/// The shard a key belongs to.
pub fn shard_of(key: &str, shards: u64) -> u64 {
    ((key_hash(key) as u128 * shards.max(1) as u128) >> 64) as u64
}

/// The owner of every shard under the groups of `mask` (`None` for an empty set).
pub fn placement(mask: u64, p: &ShardParams) -> Vec<Option<u64>> {
    let groups: Vec<NodeId> = groups_of(mask).iter().map(|g| *g as NodeId).collect();
    let shards = p.shards.max(1);
    if groups.is_empty() {
        return vec![None; shards as usize];
    }
    let ring = Ring::new(&groups, p.vnodes);
    let width = (u64::MAX / shards).max(1);
    (0..shards)
        .map(|s| {
            let mid = s.saturating_mul(width).saturating_add(width / 2);
            let r = ring.range_of_hash(mid);
            Some(ring.points()[r].1 as u64)
        })
        .collect()
}

/// What a group does with one shard under its configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// It answers for the shard.
    Serving,
    /// The shard is its own in this configuration, but its data has not arrived from
    /// `from` yet: requests wait.
    Waiting { from: u64 },
    /// It served the shard before this configuration and hands its copy to `to`
    /// (refusing requests) until `to` confirms.
    Leaving { to: u64 },
    /// Not its shard.
    Elsewhere,
}

/// The shard-map part of a group's store: the configuration it moved to and the
/// handover marks, as applied (or as its log will make them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shards {
    pub cfg: Config,
    pub arrived: Vec<u64>,
    pub confirmed: Vec<u64>,
}

impl Shards {
    /// Read from a store; `initial` is configuration 1's groups (used while the store
    /// holds no configuration yet).
    pub fn of(kv: &Kv, shards: u64, initial: u64) -> Shards {
        let cfg = match kv.kv.get(CONFIG_KEY).and_then(Val::int) {
            Some(x) => Config::unpack(x),
            None => Config {
                epoch: 1,
                groups: initial,
                prev: 0,
            },
        };
        // The marks present, by a range scan ('/' + 1 is '0'): asked per request, so no
        // key is formatted.
        let marks = |prefix: &str, end: &str| {
            let mut v = vec![0u64; shards as usize];
            for (k, x) in kv.kv.range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Excluded(end),
            )) {
                let s = k[prefix.len()..].parse::<usize>().ok();
                if let (Some(slot), Some(x)) = (s.and_then(|s| v.get_mut(s)), x.int()) {
                    *slot = x as u64;
                }
            }
            v
        };
        Shards {
            cfg,
            arrived: marks("#in/", "#in0"),
            confirmed: marks("#out/", "#out0"),
        }
    }

    /// Take an import's reserved keys.
    pub fn overlay(&mut self, imp: &Import) {
        for (k, v) in &imp.kv {
            let Some(x) = v.int() else { continue };
            if k == CONFIG_KEY {
                self.cfg = Config::unpack(x);
            } else if let Some(s) = k.strip_prefix("#in/").and_then(|s| s.parse::<usize>().ok()) {
                if let Some(a) = self.arrived.get_mut(s) {
                    *a = x as u64;
                }
            } else if let Some(s) = k
                .strip_prefix("#out/")
                .and_then(|s| s.parse::<usize>().ok())
            {
                if let Some(c) = self.confirmed.get_mut(s) {
                    *c = x as u64;
                }
            }
        }
    }

    /// As the applied store says, then every import in the log after it.
    pub fn in_log(raft: &Raft, shards: u64, initial: u64) -> Shards {
        let mut s = Shards::of(raft.state(), shards, initial);
        for i in raft.applied_index() + 1..=raft.log().last_index() {
            if let Some(Cmd::Import(imp)) = raft.log().entry(i).map(|e| &e.cmd) {
                s.overlay(imp);
            }
        }
        s
    }

    /// What group `group` does with shard `s`, given the owners under the current and
    /// the previous configuration.
    pub fn status(
        &self,
        group: u64,
        s: u64,
        now: &[Option<u64>],
        before: &[Option<u64>],
    ) -> Status {
        let su = s as usize;
        let owner = now.get(su).copied().flatten();
        let prev = before.get(su).copied().flatten();
        self.status_of(group, s, owner, prev)
    }

    /// [`Shards::status`] given the shard's owner now and before.
    pub fn status_of(&self, group: u64, s: u64, owner: Option<u64>, prev: Option<u64>) -> Status {
        let su = s as usize;
        if owner == Some(group) {
            match prev {
                Some(p)
                    if p != group
                        && self.arrived.get(su).copied().unwrap_or(0) < self.cfg.epoch =>
                {
                    Status::Waiting { from: p }
                }
                _ => Status::Serving,
            }
        } else if prev == Some(group)
            && self.confirmed.get(su).copied().unwrap_or(0) < self.cfg.epoch
        {
            Status::Leaving {
                to: owner.unwrap_or(group),
            }
        } else {
            Status::Elsewhere
        }
    }
}

/// Owners of every shard under one configuration and the one before, computed once
/// per configuration (building rings is the costly part).
#[derive(Clone, Debug, Default)]
pub struct Placements {
    cache: Vec<(u64, Vec<Option<u64>>)>,
}

impl Placements {
    pub fn of(&mut self, mask: u64, p: &ShardParams) -> &[Option<u64>] {
        let i = match self.cache.iter().position(|c| c.0 == mask) {
            Some(i) => i,
            None => {
                if self.cache.len() >= 8 {
                    self.cache.remove(0);
                }
                self.cache.push((mask, placement(mask, p)));
                self.cache.len() - 1
            }
        };
        &self.cache[i].1
    }

    /// The status of shard `s` for `group` under `sh` (no copies: asked per request).
    pub fn status(&mut self, sh: &Shards, group: u64, s: u64, p: &ShardParams) -> Status {
        let su = s as usize;
        let now = self.of(sh.cfg.groups, p).get(su).copied().flatten();
        let before = self.of(sh.cfg.prev, p).get(su).copied().flatten();
        sh.status_of(group, s, now, before)
    }

    /// The status of every shard for `group` under `sh`.
    pub fn statuses(&mut self, sh: &Shards, group: u64, p: &ShardParams) -> Vec<Status> {
        let now = self.of(sh.cfg.groups, p).to_vec();
        let before = self.of(sh.cfg.prev, p).to_vec();
        (0..p.shards)
            .map(|s| sh.status(group, s, &now, &before))
            .collect()
    }
}
