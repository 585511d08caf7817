//! What the page draws of a lock node: servers as `master` / `replica` (Redis),
//! `master` (Redlock, peers among equals) or `zookeeper`; the storage with its highest
//! token, counts and newest writes; clients as `holder` (leader kind), `acquiring` or
//! `waiting` (candidate) or `thinking`, with their token and lease.

use super::{Lock, Part, Phase, Service};
use crate::{EdgeMark, NodeView, Role, RoleKind, MS};

fn ms(t: u64) -> String {
    format!("{} ms", t / MS)
}

pub fn view(n: &Lock) -> NodeView {
    let p = &n.p;
    let mut v = NodeView {
        last_change: n.last_change.clone(),
        members: (0..p.servers as u32).collect(),
        ..Default::default()
    };
    let f = &mut v.fields;
    f.push(("service".into(), p.service.name().into()));
    match &n.part {
        Part::Server(s) => {
            match p.service {
                Service::Redis => {
                    v.role = if s.master {
                        Role::new("master", RoleKind::Leader)
                    } else {
                        Role::new("replica", RoleKind::Replica)
                    };
                    v.term = s.epoch;
                    v.epoch_label = "epoch".into();
                    if !s.master {
                        if let Some(m) = (0..p.servers as u32).find(|&m| m != n.id) {
                            v.edges.push(EdgeMark {
                                to: m,
                                label: "follows".into(),
                            });
                        }
                    }
                }
                Service::Redlock => {
                    v.role = Role::new("master", RoleKind::Replica);
                    if let Some(note) = p.even_note() {
                        f.push(("note".into(), note));
                    }
                }
                Service::Zookeeper => {
                    v.role = match &n.ens {
                        Some(e) if e.ready => Role::new("leader", RoleKind::Leader),
                        Some(_) => Role::new("follower", RoleKind::Follower),
                        None => Role::new("zookeeper", RoleKind::Leader),
                    };
                    v.term = s.zxid;
                    v.epoch_label = "zxid".into();
                    let sessions: Vec<u32> = s.sessions.iter().map(|x| x.1).collect();
                    f.push(("sessions".into(), format!("{sessions:?}")));
                    let q: Vec<String> = match &n.ens {
                        Some(e) => {
                            f.push(("raft term".into(), e.raft.term().to_string()));
                            e.queue()
                                .iter()
                                .map(|q| format!("lock-{} (client {})", q.0, q.1))
                                .collect()
                        }
                        None => s
                            .queue
                            .iter()
                            .map(|q| format!("lock-{} (client {})", q.0, q.1))
                            .collect(),
                    };
                    f.push(("children".into(), q.join(", ")));
                }
            }
            if p.service != Service::Zookeeper {
                f.push(("grants".into(), s.counter.to_string()));
                match s.key {
                    Some(k) => f.push((
                        "key".into(),
                        format!(
                            "client {} token {} (expires at local {})",
                            k.owner,
                            k.token,
                            ms(k.expires)
                        ),
                    )),
                    None => f.push(("key".into(), "none".into())),
                }
            }
        }
        Part::Storage(st) => {
            v.role = Role::new("storage", RoleKind::Neutral);
            v.term = st.highest;
            v.epoch_label = "token".into();
            v.epoch_text = epoch_text(st.highest);
            f.push((
                "fencing".into(),
                if p.check_fencing { "checked" } else { "off" }.into(),
            ));
            f.push(("accepted".into(), st.accepted.to_string()));
            f.push(("refused".into(), st.rejected.to_string()));
            f.push(("corrupted writes".into(), st.corrupted.to_string()));
            let recent: Vec<String> = st
                .recent
                .iter()
                .map(|(c, t, ok, bad)| {
                    format!(
                        "{c}:t{t}{}",
                        if *bad {
                            " CORRUPTED"
                        } else if *ok {
                            ""
                        } else {
                            " refused"
                        }
                    )
                })
                .collect();
            f.push(("recent writes".into(), recent.join(", ")));
        }
        Part::Client(c) => {
            v.role = match (c.holding, c.phase) {
                (true, _) => Role::new("holder", RoleKind::Leader),
                (false, Phase::Acquiring | Phase::Waiting) => {
                    Role::new(c.phase.name(), RoleKind::Candidate)
                }
                (false, Phase::Writing | Phase::Working) => {
                    Role::new("writing, lease over", RoleKind::Neutral)
                }
                (false, Phase::Thinking) => Role::new("thinking", RoleKind::Neutral),
            };
            v.term = c.token;
            v.epoch_label = "token".into();
            v.epoch_text = epoch_text(c.token);
            f.push(("phase".into(), c.phase.name().into()));
            if c.holding {
                f.push((
                    "believes until".into(),
                    format!("local {}", ms(c.lease_end)),
                ));
            }
            f.push(("acquired".into(), c.acquired.to_string()));
            f.push((
                "writes ok / refused".into(),
                format!("{} / {}", c.writes_ok, c.writes_refused),
            ));
            if p.service == Service::Zookeeper {
                f.push(("session".into(), c.session.to_string()));
            }
            if !c.ended.is_empty() {
                f.push(("last hold ended".into(), c.ended.clone()));
            }
            if c.holding || c.phase == Phase::Writing {
                v.edges.push(EdgeMark {
                    to: p.storage as u32,
                    label: "writes".into(),
                });
            }
        }
    }
    v
}

/// A Redis token, `epoch << 32 | grant`, written `epoch.grant` ("1.2" rather than
/// 4294967298); other tokens need nothing (empty: the number itself).
pub(crate) fn epoch_text(token: u64) -> String {
    match token >> 32 {
        0 => String::new(),
        epoch => format!("{epoch}.{}", token & 0xffff_ffff),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_redis_token_is_written_as_its_epoch_and_grant() {
        assert_eq!(super::epoch_text(1 << 32 | 2), "1.2");
        assert_eq!(super::epoch_text(3 << 32), "3.0");
        assert_eq!(super::epoch_text(7), "");
    }
}
