//! The quorum store's picture: a replica role, the node's share of the ring, its
//! versions (with their timestamps), the hints it keeps for others and its counters.

use super::QuorumKv;
use crate::{Gauge, NodeView, RingKey, RingSection, Role, RoleKind};

pub fn view(q: &QuorumKv) -> NodeView {
    let p = q.params();
    let share = q
        .ring()
        .shares()
        .into_iter()
        .find(|s| s.0 == q.id())
        .map_or(0.0, |s| s.1);
    let mut fields = vec![
        (
            "quorum".to_string(),
            format!(
                "n={} r={} w={}{}{}",
                p.n,
                p.r,
                p.w,
                if p.strict() { " (r+w>n)" } else { " (r+w<=n)" },
                if p.sloppy { " sloppy" } else { "" }
            ),
        ),
        (
            "ring share".to_string(),
            format!("{:.0}% ({} tokens)", share * 100.0, p.vnodes),
        ),
        ("keys".to_string(), q.store().len().to_string()),
        ("hints".to_string(), q.hints().len().to_string()),
        ("coordinating".to_string(), q.pending().len().to_string()),
        ("read repairs".to_string(), q.stats.repairs.to_string()),
        ("handed off".to_string(), q.stats.handed_off.to_string()),
        ("timed out".to_string(), q.stats.unavailable.to_string()),
        (
            "siblings".to_string(),
            format!(
                "{} keys; {} reads found some (at most {})",
                q.store().values().filter(|v| v.len() > 1).count(),
                q.stats.sibling_reads,
                q.stats.most_siblings
            ),
        ),
    ];
    if p.anti_entropy_ms > 0 {
        fields.push((
            "anti-entropy".to_string(),
            format!(
                "{} rounds, {} keys exchanged",
                q.stats.ae_rounds, q.stats.ae_keys
            ),
        ));
    }
    if q.membership_epoch() > 0 {
        fields.push((
            "last membership change".to_string(),
            format!(
                "sent {} key replicas of its {} keys; owners changed: {} of {} keys on the ring, {} with hash mod N",
                q.stats.moved, q.stats.held, q.stats.owner_ring, q.stats.owned, q.stats.owner_mod_n
            ),
        ));
    }
    let stamp = |v: &crate::quorum::Ver| {
        format!(
            "{} (t={}.{:03} ms by {})",
            v.value,
            v.ts / 1000,
            v.ts % 1000,
            v.node
        )
    };
    for (k, vs) in q.store() {
        let Some(newest) = vs.iter().max() else {
            continue;
        };
        let pref = q
            .ring()
            .preference(k, p.n as usize)
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",");
        // The newest-stamped sibling in the format the convergence rule and the
        // anomalies read; every sibling on a line of its own when there are several.
        fields.push((format!("{k} @{pref}"), stamp(newest)));
        if vs.len() > 1 {
            let all: Vec<String> = vs
                .iter()
                .map(|v| {
                    let vv: Vec<String> = v.vv.iter().map(|(n, c)| format!("{n}:{c}")).collect();
                    format!("{} [{}]", v.value, vv.join(" "))
                })
                .collect();
            fields.push((format!("{k} siblings"), all.join(" | ")));
        }
    }
    for ((owner, k), vs) in q.hints() {
        for v in vs {
            fields.push((format!("hint {k} for {owner}"), stamp(v)));
        }
    }
    let gauges: Vec<Gauge> = {
        let mut per: Vec<(u32, usize)> = Vec::new();
        for (owner, _) in q.hints().keys() {
            match per.iter_mut().find(|x| x.0 == *owner) {
                Some(x) => x.1 += 1,
                None => per.push((*owner, 1)),
            }
        }
        per.into_iter()
            .map(|(node, c)| Gauge {
                node,
                label: "hints".to_string(),
                value: c as f64,
                max: (c as f64).max(10.0),
                flagged: true,
            })
            .collect()
    };
    // The ring as this node sees it: every token, and the keys it holds or keeps
    // hints for, with their preference lists.
    let frac = |h: u64| h as f64 / 18_446_744_073_709_551_616.0;
    let ring = q.ring();
    let mut keys: Vec<&String> = q
        .store()
        .keys()
        .chain(q.hints().keys().map(|(_, k)| k))
        .collect();
    keys.sort();
    keys.dedup();
    let ring = RingSection {
        tokens: ring.points().iter().map(|(t, n)| (frac(*t), *n)).collect(),
        keys: keys
            .into_iter()
            .map(|k| RingKey {
                key: k.clone(),
                at: frac(super::ring::key_hash(k)),
                preference: ring.preference(k, p.n as usize),
            })
            .collect(),
        n: p.n as u32,
        hints: gauges.iter().map(|g| (g.node, g.value as u32)).collect(),
        groups: false,
    };
    NodeView {
        ring: Some(ring),
        role: Role::new("replica", RoleKind::Replica),
        term: q.membership_epoch(),
        epoch_label: "membership".to_string(),
        epoch_text: String::new(),
        fields,
        members: q.members.clone(),
        last_change: if q.blank {
            "booted".to_string()
        } else {
            "restarted from its disk".to_string()
        },
        log: None,
        kv: None,
        gauges,
        edges: Vec::new(),
    }
}
