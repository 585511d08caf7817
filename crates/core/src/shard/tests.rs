use super::map::{placement, shard_of, Config, Placements, Shards, Status};
use super::ShardParams;
use crate::raft::{Import, Kv, Session};
use crate::{Outcome, Val};

#[test]
fn configurations_pack_and_unpack() {
    let c = Config {
        epoch: 7,
        groups: 0b1011,
        prev: 0b0011,
    };
    assert_eq!(Config::unpack(c.pack()), c);
    assert!(c.pack() > 0);
}

#[test]
fn keys_spread_over_every_shard() {
    let mut seen = [0u32; 8];
    for k in 0..400 {
        seen[shard_of(&format!("k{k}"), 8) as usize] += 1;
    }
    assert!(seen.iter().all(|n| *n > 20), "{seen:?}");
}

/// A shard that moves from group 0 to group 2 in map 2: group 0 refuses it from the
/// entry that moves it on (leaving) until group 2 confirms; group 2 waits for its data,
/// then serves it; the shards that stay never stop being served.
#[test]
fn a_moving_shard_is_leaving_then_elsewhere_and_waiting_then_serving() {
    let p = ShardParams::default();
    let (before, after) = (placement(0b011, &p), placement(0b111, &p));
    let s = (0..8).find(|s| before[*s] == Some(0) && after[*s] == Some(2));
    let Some(s) = s else {
        panic!("no shard moves from group 0 to group 2: {before:?} {after:?}")
    };
    let stays = (0..8)
        .find(|x| before[*x] == Some(0) && after[*x] == Some(0))
        .unwrap();
    let mut pl = Placements::default();
    let cfg = Config {
        epoch: 2,
        groups: 0b111,
        prev: 0b011,
    };
    let mut old = Shards {
        cfg,
        arrived: vec![0; 8],
        confirmed: vec![0; 8],
    };
    let mut new = old.clone();
    assert_eq!(pl.statuses(&old, 0, &p)[s], Status::Leaving { to: 2 });
    assert_eq!(pl.statuses(&old, 0, &p)[stays], Status::Serving);
    assert_eq!(pl.statuses(&new, 2, &p)[s], Status::Waiting { from: 0 });
    new.overlay(&Import {
        kv: vec![(super::map::in_key(s as u64), Val::Int(2))],
        sessions: Vec::new(),
    });
    assert_eq!(pl.statuses(&new, 2, &p)[s], Status::Serving);
    old.overlay(&Import {
        kv: vec![(super::map::out_key(s as u64), Val::Int(2))],
        sessions: Vec::new(),
    });
    assert_eq!(pl.statuses(&old, 0, &p)[s], Status::Elsewhere);
    // Map 1: every group serves what it owns, with nothing to wait for.
    let first = Shards {
        cfg: Config {
            epoch: 1,
            groups: 0b011,
            prev: 0,
        },
        arrived: vec![0; 8],
        confirmed: vec![0; 8],
    };
    assert_eq!(pl.statuses(&first, 0, &p)[s], Status::Serving);
}

/// An import sets keys and keeps each client's newer session, wherever it was applied.
#[test]
fn an_import_merges_sessions_by_newest_request() {
    let mut kv = Kv::default();
    let sess = |seq| Session {
        seq,
        outcome: Outcome::Ok { value: None },
    };
    kv.sessions.insert(1, sess(5));
    kv.sessions.insert(2, sess(9));
    kv.import(&Import {
        kv: vec![("k1".into(), Val::Int(4))],
        sessions: vec![(1, sess(7)), (2, sess(3)), (3, sess(1))],
    });
    assert_eq!(kv.kv.get("k1"), Some(&Val::Int(4)));
    let seqs: Vec<(u32, u64)> = kv.sessions.iter().map(|(c, s)| (*c, s.seq)).collect();
    assert_eq!(seqs, [(1, 7), (2, 9), (3, 1)]);
}

/// Raft's invariants are checked inside each group, and only there: the leaders of two
/// groups in the same term are no conflict; two leaders of one term in one group are.
#[test]
fn raft_invariants_hold_within_each_group_and_not_across_groups() {
    use super::{ShardMonitor, ShardedRaft};
    use crate::{NodeId, Protocol};
    let p = ShardParams::default();
    assert_eq!(p.group_size, 3);
    let members: Vec<NodeId> = (0..6).collect();
    let mut nodes: Vec<Option<ShardedRaft>> = members
        .iter()
        .map(|&i| Some(ShardedRaft::boot(i, &members, &p, None)))
        .collect();
    let mut m = ShardMonitor::default();
    let lead = |nodes: &mut [Option<ShardedRaft>], i: usize| {
        nodes[i].as_mut().unwrap().raft.force_leader(1);
    };
    lead(&mut nodes, 0);
    lead(&mut nodes, 3);
    for i in [0, 3] {
        ShardedRaft::check(&mut m, i, &nodes, 0).unwrap();
    }
    lead(&mut nodes, 1);
    let v = ShardedRaft::check(&mut m, 1, &nodes, 0).unwrap_err();
    assert_eq!(v.invariant, "Election Safety");
    assert!(v.detail.contains("node 0 and node 1"), "{}", v.detail);
    assert!(ShardedRaft::invariants().contains(&v.invariant.as_str()));
}
