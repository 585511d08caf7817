//! Distributed locks, and what breaks them: Redis-style leases (`SET NX PX`) with an
//! asynchronously replicated failover, Redlock over independent masters, and a
//! ZooKeeper-style recipe (sessions, ephemeral sequential nodes, fencing by creation
//! index), with lock clients and a storage node that may check fencing tokens.
//!
//! * **Everyone is a node.** Lock servers are nodes `0..servers`, the storage is node
//!   `storage`, every other node is a lock client. Putting the clients inside the
//!   protocol (rather than using the simulator's workload clients) is what lets the
//!   existing faults reach them: a GC pause is the node pause fault, clock jumps and
//!   drift are the node clock faults, and nothing in the engine had to change.
//! * **Clients** loop: acquire, work for `work_ms`, write to the storage with their
//!   token, release, think. A holder checks its lease when it starts working and writes
//!   without checking again: a pause between that check and the write is exactly the
//!   hazard fencing tokens exist for.
//! * **Belief.** A client *believes* it holds the lock from its grant until its own
//!   lease timer (Redis, Redlock: from the moment it asked, TTL less the drift allowance;
//!   ZooKeeper: from the sending of its last answered heartbeat, the session timeout) or
//!   its release. `is_leader` is that belief, so the simulator's probes see every
//!   holder, a fault aimed at "the leader" hits the holder, and two nodes leading at once
//!   is a mutual-exclusion violation.
//! * **Storage.** Records every write with its token. With `check_fencing` it refuses a
//!   token below the highest it accepted. A write it accepts below that highest is a
//!   *corrupted write*: an older holder's work landing on top of a newer holder's. It
//!   flags the writer (its `suspects` probe), counts it, and the invariant
//!   [`check::FENCED`] makes sure none is ever accepted with fencing on.

pub mod check;
pub mod params;
mod view;
pub mod zkraft;

pub use check::LockMonitor;
pub use params::{Kind, LockParams, Service};

use crate::{
    ClientRequest, Ctx, NodeId, NodeView, Op, OpEnd, Outcome, Protocol, Report, Time, Val,
    Violation, MS,
};

/// A fencing token as people read it: a Redis token (`epoch << 32 | grant`) as
/// `epoch.grant`, any other as its number.
pub fn token_text(token: u64) -> String {
    match view::epoch_text(token) {
        t if t.is_empty() => token.to_string(),
        t => t,
    }
}

/// The name of the one lock every client contends for, in the history.
pub const LOCK_KEY: &str = "lock";

/// A client's acquire or release, as it reports it for the history: an acquire when
/// it asks (`end: None`) and when it learns how it went; a release when its belief
/// that it holds the lock ends, for whatever reason (it is the client's belief that
/// mutual exclusion is about).
fn report(cx: &mut Ctx<'_, Lock>, acquire: bool, end: Option<OpEnd>) {
    let key = LOCK_KEY.to_string();
    let op = if acquire {
        Op::Acquire { key }
    } else {
        Op::Release { key }
    };
    cx.report(Report::Op { op, outcome: end });
}

/// The belief ends: a release, invoked and done at once.
fn report_release(cx: &mut Ctx<'_, Lock>) {
    report(cx, false, None);
    report(cx, false, Some(OpEnd::Ok(None)));
}
use serde::{Deserialize, Serialize};

crate::timers!(
    /// The lock family's timers.
    LockTimer {
        /// Servers: replication, failover and session expiry.
        Tick = 1,
        /// Clients: ask for the lock again.
        Think = 2,
        /// Clients: the work is done, write to the storage.
        Work = 3,
        /// Clients: the lease (or session) it believes in runs out.
        LeaseEnd = 4,
        /// Clients: an unanswered request is given up.
        Retry = 5,
        /// ZooKeeper clients: heartbeat the session.
        Heartbeat = 6,
        /// An ensemble server's Raft member's timers, shifted past ours
        /// (`zkraft::RAFT_TIMER_BASE`).
        RaftElection = 17,
        RaftHeartbeat = 18,
        RaftCheckQuorum = 19,
    }
);

/// A lock key as a Redis master holds it. `attempt` tells one acquisition of a client
/// from its next (the key's random value in real Redis).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Key {
    pub owner: NodeId,
    pub attempt: u64,
    pub token: u64,
    /// Local time it expires.
    pub expires: Time,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LockMsg {
    Acquire {
        attempt: u64,
        session: u64,
    },
    Granted {
        attempt: u64,
        token: u64,
    },
    Refused {
        attempt: u64,
        master: Option<NodeId>,
    },
    Release {
        attempt: u64,
    },
    /// Redis: the master's state, shipped to the replica (remaining TTL in µs).
    Replicate {
        epoch: u64,
        counter: u64,
        key: Option<(NodeId, u64, u64, Time)>,
    },
    /// ZooKeeper: a session heartbeat (session 0: open one).
    Heartbeat {
        seq: u64,
        session: u64,
    },
    /// ZooKeeper: the session is alive (0: it expired).
    HeartbeatAck {
        seq: u64,
        session: u64,
    },
    /// ZooKeeper: a waiter's node became the lowest (its predecessor's watch fired).
    Turn {
        attempt: u64,
        token: u64,
    },
    /// ZooKeeper: the node was created but is not the lowest: wait for a turn.
    Queued {
        attempt: u64,
        token: u64,
    },
    Write {
        attempt: u64,
        token: u64,
    },
    WriteAck {
        attempt: u64,
        accepted: bool,
    },
    /// Between the servers of a replicated ZooKeeper ensemble.
    Raft {
        msg: crate::raft::RaftMsg,
    },
}

impl crate::Message for LockMsg {
    fn kind(&self) -> &'static str {
        match self {
            LockMsg::Acquire { .. } => "acquire",
            LockMsg::Granted { .. } => "granted",
            LockMsg::Refused { .. } => "refused",
            LockMsg::Release { .. } => "release",
            LockMsg::Replicate { .. } => "replicate",
            LockMsg::Heartbeat { .. } => "heartbeat",
            LockMsg::HeartbeatAck { .. } => "heartbeat-ack",
            LockMsg::Turn { .. } => "turn",
            LockMsg::Queued { .. } => "queued",
            LockMsg::Write { .. } => "write",
            LockMsg::WriteAck { .. } => "write-ack",
            LockMsg::Raft { msg } => crate::Message::kind(msg),
        }
    }
    fn describe(&self) -> String {
        let n = |x: &u64| *x as i64;
        match self {
            LockMsg::Acquire { attempt, .. } => crate::label("acquire #{}", "", &[n(attempt)]),
            LockMsg::Granted { token, .. } => crate::label("granted t{}", "", &[n(token)]),
            LockMsg::Refused { attempt, .. } => crate::label("refused #{}", "", &[n(attempt)]),
            LockMsg::Release { attempt } => crate::label("release #{}", "", &[n(attempt)]),
            LockMsg::Replicate { epoch, .. } => crate::label("replicate e{}", "", &[n(epoch)]),
            LockMsg::Heartbeat { seq, session } => {
                crate::label("heartbeat #{} s{}", "", &[n(seq), n(session)])
            }
            LockMsg::HeartbeatAck { seq, session } => {
                crate::label("heartbeat-ack #{} s{}", "", &[n(seq), n(session)])
            }
            LockMsg::Turn { token, .. } => crate::label("turn t{}", "", &[n(token)]),
            LockMsg::Queued { token, .. } => crate::label("queued t{}", "", &[n(token)]),
            LockMsg::Write { token, .. } => crate::label("write t{}", "", &[n(token)]),
            LockMsg::WriteAck {
                attempt,
                accepted: true,
            } => crate::label("write ok #{}", "", &[n(attempt)]),
            LockMsg::WriteAck { attempt, .. } => {
                crate::label("write refused #{}", "", &[n(attempt)])
            }
            LockMsg::Raft { msg } => crate::Message::describe(msg),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LockDisk {
    /// Redis: the newest epoch this server knew.
    pub epoch: u64,
    /// ZooKeeper: the last creation index handed out.
    pub zxid: u64,
    /// Storage: the highest token accepted.
    pub highest: u64,
    /// A ZooKeeper ensemble server's Raft member.
    pub raft: crate::raft::RaftDisk,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum LockWrite {
    Epoch(u64),
    Zxid(u64),
    Highest(u64),
    Raft(crate::raft::RaftWrite),
}

/// A lock server's state.
#[derive(Clone, Debug, Default)]
pub struct Server {
    /// Redis: this server acts as master. Redlock and ZooKeeper servers always do.
    pub master: bool,
    pub epoch: u64,
    /// Grants so far (Redis, Redlock); the token is `epoch << 32 | counter` for Redis.
    pub counter: u64,
    pub key: Option<Key>,
    /// Local time the master was last heard (a Redis replica).
    pub heard: Time,
    /// ZooKeeper: live sessions `(id, client, last heard)`.
    pub sessions: Vec<(u64, NodeId, Time)>,
    pub next_session: u64,
    /// ZooKeeper: the lock's children, `(zxid, client, attempt, session)`, by zxid.
    pub queue: Vec<(u64, NodeId, u64, u64)>,
    pub zxid: u64,
    /// Local time of the last tick (a much longer gap: a clock jump, or a pause).
    pub ticked: Time,
}

/// Where a client is in its loop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    #[default]
    Thinking,
    Acquiring,
    /// ZooKeeper: its node exists, a predecessor holds the lock.
    Waiting,
    Working,
    Writing,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Thinking => "thinking",
            Phase::Acquiring => "acquiring",
            Phase::Waiting => "waiting",
            Phase::Working => "working",
            Phase::Writing => "writing",
        }
    }
}

/// A lock client's state.
#[derive(Clone, Debug, Default)]
pub struct Client {
    pub phase: Phase,
    pub attempt: u64,
    /// It believes it holds the lock.
    pub holding: bool,
    pub token: u64,
    /// Local time its belief runs out.
    pub lease_end: Time,
    /// Local time it sent the current acquire.
    pub asked: Time,
    /// Redis: the server it asks.
    pub target: NodeId,
    /// Redlock: masters that granted (a bit each) and refused this attempt.
    pub granted: u64,
    pub refused: u64,
    /// ZooKeeper: its session (0: none) and the heartbeats in flight `(seq, sent)`.
    pub session: u64,
    pub hb_seq: u64,
    pub hb_sent: Vec<(u64, Time)>,
    /// ZooKeeper: the session is believed alive until this local time.
    pub valid_until: Time,
    /// Local time of the last heartbeat answer.
    pub acked_at: Time,
    pub acquired: u64,
    pub writes_ok: u64,
    pub writes_refused: u64,
    /// How its last hold ended, in words.
    pub ended: String,
}

/// The storage node's state.
#[derive(Clone, Debug, Default)]
pub struct Storage {
    pub highest: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub corrupted: u64,
    /// Clients whose write it accepted below the highest token (a bit each).
    pub corrupted_by: u64,
    /// The newest writes `(client, token, accepted, corrupted)`, for the picture.
    pub recent: Vec<(NodeId, u64, bool, bool)>,
}

/// What this event did, for the invariant checker only.
#[derive(Clone, Debug, Default)]
pub struct Ghost {
    /// The storage accepted a write: (writer, its token, highest accepted before).
    pub accepted: Option<(NodeId, u64, u64)>,
}

#[derive(Clone, Debug)]
pub enum Part {
    Server(Box<Server>),
    Storage(Storage),
    Client(Client),
}

/// One node of a lock cluster.
#[derive(Clone, Debug)]
pub struct Lock {
    pub id: NodeId,
    pub p: LockParams,
    pub part: Part,
    /// A ZooKeeper ensemble server's Raft member (3 zookeeper servers).
    pub ens: Option<Box<zkraft::Ensemble>>,
    pub ghost: Ghost,
    pub last_change: String,
}

const RECENT: usize = 8;

impl Lock {
    fn servers(&self) -> impl Iterator<Item = NodeId> {
        0..self.p.servers as NodeId
    }

    // ---- servers ----

    fn server_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: LockMsg) {
        let p = self.p;
        let id = self.id;
        let Part::Server(s) = &mut self.part else {
            return;
        };
        let now = cx.now();
        let live = |k: &Option<Key>| k.filter(|k| k.expires > now);
        match msg {
            LockMsg::Acquire { attempt, session } => match p.service {
                Service::Redis | Service::Redlock => {
                    if !s.master {
                        let master = (0..p.servers as NodeId).find(|&n| n != id);
                        cx.send(from, LockMsg::Refused { attempt, master });
                        return;
                    }
                    match live(&s.key) {
                        Some(k) if !(k.owner == from && k.attempt == attempt) => {
                            cx.send(
                                from,
                                LockMsg::Refused {
                                    attempt,
                                    master: None,
                                },
                            );
                        }
                        _ => {
                            s.counter += 1;
                            let token = if p.service == Service::Redis {
                                s.epoch << 32 | s.counter
                            } else {
                                s.counter
                            };
                            s.key = Some(Key {
                                owner: from,
                                attempt,
                                token,
                                expires: now + p.ttl_ms * MS,
                            });
                            cx.send(from, LockMsg::Granted { attempt, token });
                        }
                    }
                }
                Service::Zookeeper => {
                    if refuse_unknown_session(s, cx, from, session, attempt) {
                        return;
                    }
                    // Its children of earlier attempts are orphans (their release was lost).
                    let stale: Vec<usize> = (0..s.queue.len())
                        .filter(|&i| s.queue[i].1 == from && s.queue[i].2 != attempt)
                        .collect();
                    zk_delete(s, cx, &stale);
                    if let Some(q) = s.queue.iter().find(|q| q.1 == from && q.2 == attempt) {
                        // A retried create: answer as before.
                        let (token, first) = (q.0, s.queue[0].0 == q.0);
                        cx.send(
                            from,
                            if first {
                                LockMsg::Granted { attempt, token }
                            } else {
                                LockMsg::Queued { attempt, token }
                            },
                        );
                        return;
                    }
                    s.zxid += 1;
                    cx.persist(LockWrite::Zxid(s.zxid));
                    s.queue.push((s.zxid, from, attempt, session));
                    let token = s.zxid;
                    let msg = if s.queue.len() == 1 {
                        LockMsg::Granted { attempt, token }
                    } else {
                        LockMsg::Queued { attempt, token }
                    };
                    cx.send(from, msg);
                }
            },
            LockMsg::Release { attempt } => match p.service {
                Service::Zookeeper => {
                    let gone: Vec<usize> = (0..s.queue.len())
                        .filter(|&i| s.queue[i].1 == from && s.queue[i].2 == attempt)
                        .collect();
                    zk_delete(s, cx, &gone);
                }
                _ => {
                    if s.key
                        .is_some_and(|k| k.owner == from && k.attempt == attempt)
                    {
                        s.key = None;
                    }
                }
            },
            LockMsg::Replicate {
                epoch,
                counter,
                key,
            } => {
                let adopt = epoch > s.epoch || (epoch == s.epoch && (!s.master || from < id));
                if !adopt {
                    return;
                }
                if s.master {
                    self.last_change = format!("demoted: node {from} is master of epoch {epoch}");
                }
                if epoch > s.epoch {
                    cx.persist(LockWrite::Epoch(epoch));
                }
                s.master = false;
                s.epoch = epoch;
                s.counter = s.counter.max(counter);
                s.key = key.map(|(owner, attempt, token, left)| Key {
                    owner,
                    attempt,
                    token,
                    expires: now + left,
                });
                s.heard = now;
            }
            LockMsg::Heartbeat { seq, session } => {
                let found = s
                    .sessions
                    .iter_mut()
                    .find(|x| x.0 == session && x.1 == from);
                let answer = match found {
                    Some(x) => {
                        x.2 = now;
                        session
                    }
                    None if session == 0 => {
                        s.next_session += 1;
                        s.sessions.push((s.next_session, from, now));
                        s.next_session
                    }
                    None => 0,
                };
                cx.send(
                    from,
                    LockMsg::HeartbeatAck {
                        seq,
                        session: answer,
                    },
                );
            }
            _ => {}
        }
    }

    fn server_tick(&mut self, cx: &mut Ctx<'_, Self>) {
        let p = self.p;
        let id = self.id;
        let Part::Server(s) = &mut self.part else {
            return;
        };
        let now = cx.now();
        let gap = now.saturating_sub(s.ticked);
        if s.ticked > 0 && gap > 3 * p.replication_ms * MS {
            // Its clock moved on much further than one tick: every key it holds aged
            // that much at once (Redlock's timing assumption broken on this master).
            self.last_change = format!(
                "its clock ran {} ms in one tick (a clock jump or a pause): keys expire early",
                gap / MS
            );
        }
        s.ticked = now;
        match p.service {
            Service::Redis => {
                if s.master {
                    let key = s
                        .key
                        .filter(|k| k.expires > now)
                        .map(|k| (k.owner, k.attempt, k.token, k.expires - now));
                    for n in 0..p.servers as NodeId {
                        if n != id {
                            cx.send(
                                n,
                                LockMsg::Replicate {
                                    epoch: s.epoch,
                                    counter: s.counter,
                                    key,
                                },
                            );
                        }
                    }
                } else if now.saturating_sub(s.heard) > p.failover_ms * MS {
                    // The replica takes over (as a Sentinel would promote it): whatever
                    // the master granted since its last shipment is not here.
                    s.master = true;
                    s.epoch += 1;
                    cx.persist(LockWrite::Epoch(s.epoch));
                    self.last_change = format!("promoted to master of epoch {}: no word from the master for {} ms (failover)", s.epoch, p.failover_ms);
                }
            }
            Service::Zookeeper => {
                // The head's watch, again: a notification lost on the way must not stall it.
                if let Some(&(zxid, client, attempt, _)) = s.queue.first() {
                    tell_turn(cx, client, attempt, zxid);
                }
                let timeout = p.session_timeout_ms * MS;
                let dead: Vec<u64> = s
                    .sessions
                    .iter()
                    .filter(|x| now.saturating_sub(x.2) > timeout)
                    .map(|x| x.0)
                    .collect();
                if dead.is_empty() {
                    return;
                }
                let clients: Vec<NodeId> = s
                    .sessions
                    .iter()
                    .filter(|x| dead.contains(&x.0))
                    .map(|x| x.1)
                    .collect();
                s.sessions.retain(|x| !dead.contains(&x.0));
                let gone: Vec<usize> = (0..s.queue.len())
                    .filter(|&i| dead.contains(&s.queue[i].3))
                    .collect();
                zk_delete(s, cx, &gone);
                self.last_change = format!(
                    "expired the session of client(s) {clients:?}: silent for {} ms",
                    p.session_timeout_ms
                );
            }
            Service::Redlock => {}
        }
    }

    // ---- storage ----

    fn storage_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: LockMsg) {
        let fencing = self.p.check_fencing;
        let Part::Storage(st) = &mut self.part else {
            return;
        };
        let LockMsg::Write { attempt, token } = msg else {
            return;
        };
        let stale = token < st.highest;
        let accepted = !(fencing && stale);
        if accepted {
            self.ghost.accepted = Some((from, token, st.highest));
            st.accepted += 1;
            if stale {
                st.corrupted += 1;
                if from < 64 {
                    st.corrupted_by |= 1 << from;
                }
                self.last_change = format!(
                    "accepted client {from}'s write with token {token} below {}: corrupted",
                    st.highest
                );
            }
            if token > st.highest {
                st.highest = token;
                cx.persist(LockWrite::Highest(token));
            }
        } else {
            st.rejected += 1;
            self.last_change = format!(
                "refused client {from}'s write with token {token} < {}",
                st.highest
            );
        }
        cx.report(Report::StorageWrite {
            from,
            token,
            accepted,
            corrupted: accepted && stale,
        });
        st.recent.push((from, token, accepted, accepted && stale));
        if st.recent.len() > RECENT {
            st.recent.remove(0);
        }
        cx.send(from, LockMsg::WriteAck { attempt, accepted });
    }

    // ---- clients ----

    fn client(&mut self) -> &mut Client {
        match &mut self.part {
            Part::Client(c) => c,
            _ => unreachable!("only clients run client code"),
        }
    }

    fn think(&mut self, cx: &mut Ctx<'_, Self>, base: Time) {
        let jitter = cx.rng().below(base / 2 + 1);
        self.client().phase = Phase::Thinking;
        cx.set_timer(LockTimer::Think, base + jitter);
    }

    fn acquire(&mut self, cx: &mut Ctx<'_, Self>) {
        let p = self.p;
        let now = cx.now();
        let servers: Vec<NodeId> = self.servers().collect();
        let c = self.client();
        if p.service == Service::Zookeeper && c.session == 0 {
            // No session yet: ask again once a heartbeat opened one.
            cx.set_timer(LockTimer::Think, p.heartbeat_ms * MS);
            return;
        }
        c.attempt += 1;
        c.phase = Phase::Acquiring;
        c.asked = now;
        report(cx, true, None);
        let c = self.client();
        c.granted = 0;
        c.refused = 0;
        c.token = 0;
        let m = LockMsg::Acquire {
            attempt: c.attempt,
            session: c.session,
        };
        match p.service {
            Service::Redlock => servers.iter().for_each(|&s| cx.send(s, m.clone())),
            _ => cx.send(c.target, m),
        }
        cx.set_timer(LockTimer::Retry, p.retry_ms * MS);
    }

    /// Let go of the current attempt at every server that may hold it.
    fn release(&mut self, cx: &mut Ctx<'_, Self>, attempt: u64) {
        let p = self.p;
        let target = self.client().target;
        match p.service {
            Service::Redlock => self
                .servers()
                .for_each(|s| cx.send(s, LockMsg::Release { attempt })),
            _ => cx.send(target, LockMsg::Release { attempt }),
        }
    }

    fn hold(&mut self, cx: &mut Ctx<'_, Self>, token: u64, until: Time) {
        let p = self.p;
        let now = cx.now();
        let c = self.client();
        if until <= now {
            // Granted too late to be of use: give it back. It never held it.
            let a = c.attempt;
            report(cx, true, Some(OpEnd::Fail));
            self.release(cx, a);
            self.think(cx, p.think_ms * MS);
            return;
        }
        c.holding = true;
        c.token = token;
        c.lease_end = until;
        c.phase = Phase::Working;
        c.acquired += 1;
        // Redlock's masters count grants each on its own: the largest count of a
        // majority is no fencing token (two holders in a row can get theirs in either
        // order), so its grants report none, and the history is checked for mutual
        // exclusion only. The others' tokens grow with every grant.
        let fencing = (p.service != Service::Redlock).then_some(Val::Int(token as i64));
        report(cx, true, Some(OpEnd::Ok(fencing)));
        cx.cancel_timer(LockTimer::Retry);
        cx.set_timer(LockTimer::Work, p.work_ms * MS);
        cx.set_timer(LockTimer::LeaseEnd, until - now);
        self.last_change = format!("holds the lock with token {token}");
    }

    /// The belief ends: by its own lease timer, or a session it learns expired.
    fn lose(&mut self, cx: &mut Ctx<'_, Self>, why: String) {
        let p = self.p;
        let c = self.client();
        let was = c.holding;
        c.holding = false;
        let phase = c.phase;
        if was {
            c.ended = why.clone();
            self.last_change = why;
            report_release(cx);
        } else if matches!(phase, Phase::Waiting | Phase::Acquiring) {
            // It gives up asking: it never held the lock.
            report(cx, true, Some(OpEnd::Fail));
        }
        if matches!(phase, Phase::Working | Phase::Waiting | Phase::Acquiring) {
            // A careful client: it stops working when it knows its lease ran out.
            let a = self.client().attempt;
            cx.cancel_timer(LockTimer::Work);
            self.release(cx, a);
            self.think(cx, p.think_ms * MS);
        }
    }

    fn client_timer(&mut self, cx: &mut Ctx<'_, Self>, t: LockTimer) {
        let p = self.p;
        let now = cx.now();
        let thinking = matches!(&self.part, Part::Client(c) if c.phase == Phase::Thinking);
        match t {
            LockTimer::Think if thinking => self.acquire(cx),
            LockTimer::Work => {
                let c = self.client();
                if c.phase != Phase::Working {
                    return;
                }
                // No second look at the lease: it was checked when the work began, and
                // the hazard is a pause between that check and this write.
                c.phase = Phase::Writing;
                let m = LockMsg::Write {
                    attempt: c.attempt,
                    token: c.token,
                };
                cx.send(p.storage as NodeId, m);
                cx.set_timer(LockTimer::Retry, p.retry_ms * MS);
            }
            LockTimer::LeaseEnd => {
                let c = self.client();
                if !c.holding {
                    return;
                }
                let late = now.saturating_sub(c.lease_end);
                let why = if late > 2 * MS {
                    format!(
                        "its lease timer fired {} ms late (it was paused, or its clock jumped)",
                        late / MS
                    )
                } else if p.service == Service::Zookeeper {
                    "its session may have expired: no answered heartbeat for the session timeout"
                        .to_string()
                } else {
                    "its lease ran out".to_string()
                };
                self.lose(cx, why);
            }
            LockTimer::Retry => {
                let servers = p.servers as NodeId;
                let c = self.client();
                match c.phase {
                    Phase::Acquiring => {
                        let a = c.attempt;
                        if p.service == Service::Redis || p.replicated() {
                            c.target = (c.target + 1) % servers;
                        }
                        report(cx, true, Some(OpEnd::Fail));
                        self.release(cx, a);
                        self.think(cx, p.retry_ms * MS);
                    }
                    Phase::Writing => {
                        let a = c.attempt;
                        let was = std::mem::replace(&mut c.holding, false);
                        if was {
                            report_release(cx);
                        }
                        cx.cancel_timer(LockTimer::LeaseEnd);
                        self.release(cx, a);
                        self.think(cx, p.think_ms * MS);
                    }
                    _ => {}
                }
            }
            LockTimer::Heartbeat => {
                let c = self.client();
                c.hb_seq += 1;
                c.hb_sent.push((c.hb_seq, now));
                if c.hb_sent.len() > 16 {
                    c.hb_sent.remove(0);
                }
                let m = LockMsg::Heartbeat {
                    seq: c.hb_seq,
                    session: c.session,
                };
                if p.replicated() && now.saturating_sub(c.acked_at) > 3 * p.heartbeat_ms * MS {
                    // No answer for a while: try the next server of the ensemble.
                    c.target = (c.target + 1) % p.servers as NodeId;
                    c.acked_at = now;
                }
                cx.send(c.target, m);
                cx.set_timer(LockTimer::Heartbeat, p.heartbeat_ms * MS);
            }
            _ => {}
        }
    }

    fn client_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: LockMsg) {
        let p = self.p;
        let now = cx.now();
        let c = self.client();
        let current = |a: u64, c: &Client| {
            a == c.attempt && matches!(c.phase, Phase::Acquiring | Phase::Waiting)
        };
        match msg {
            LockMsg::Granted { attempt, token } | LockMsg::Turn { attempt, token }
                if current(attempt, c) =>
            {
                match p.service {
                    Service::Redis => {
                        let until = c.asked + p.ttl_ms * MS;
                        c.target = from;
                        self.hold(cx, token, until);
                    }
                    Service::Redlock => {
                        c.granted |= 1 << from;
                        c.token = c.token.max(token);
                        if c.granted.count_ones() as u64 >= p.majority() {
                            // Validity: the TTL less the time spent asking and the drift
                            // allowance, counted from the moment it asked.
                            let drift = p.ttl_ms * MS * p.drift_permille / 1000 + 2 * MS;
                            let until = (c.asked + p.ttl_ms * MS).saturating_sub(drift);
                            let t = c.token;
                            self.hold(cx, t, until);
                        }
                    }
                    Service::Zookeeper => {
                        let until = c.valid_until;
                        self.hold(cx, token, until);
                    }
                }
            }
            // A grant for an attempt it gave up on: hand it back.
            LockMsg::Granted { attempt, .. } if !(attempt == c.attempt && c.holding) => {
                cx.send(from, LockMsg::Release { attempt });
            }
            LockMsg::Queued { attempt, token } if current(attempt, c) => {
                c.phase = Phase::Waiting;
                c.token = token;
                cx.cancel_timer(LockTimer::Retry);
            }
            // A heartbeat sent to a server that does not lead the ensemble.
            LockMsg::Refused {
                attempt: 0,
                master: Some(m),
            } => c.target = m,
            LockMsg::Refused { attempt, master } if current(attempt, c) => match p.service {
                Service::Redlock => {
                    c.refused |= 1 << from;
                    if p.servers - (c.refused.count_ones() as u64) < p.majority() {
                        report(cx, true, Some(OpEnd::Fail));
                        self.release(cx, attempt);
                        self.think(cx, p.retry_ms * MS);
                    }
                }
                _ => {
                    if let Some(m) = master {
                        c.target = m;
                    }
                    report(cx, true, Some(OpEnd::Fail));
                    cx.cancel_timer(LockTimer::Retry);
                    self.think(cx, p.retry_ms * MS);
                }
            },
            LockMsg::WriteAck { attempt, accepted }
                if attempt == c.attempt && c.phase == Phase::Writing =>
            {
                if accepted {
                    c.writes_ok += 1;
                } else {
                    c.writes_refused += 1;
                }
                let was = c.holding;
                c.holding = false;
                if was {
                    c.ended = if accepted {
                        "released after its write"
                    } else {
                        "released: the storage refused its token"
                    }
                    .to_string();
                    report_release(cx);
                }
                cx.cancel_timer(LockTimer::LeaseEnd);
                cx.cancel_timer(LockTimer::Retry);
                self.release(cx, attempt);
                self.think(cx, p.think_ms * MS);
            }
            LockMsg::HeartbeatAck { seq, session } => {
                c.acked_at = now;
                if session == 0 {
                    if c.session != 0 {
                        c.session = 0;
                        c.valid_until = 0;
                        c.hb_sent.clear();
                        self.lose(cx, "its session expired (the server said so)".to_string());
                    }
                    return;
                }
                if c.session != session {
                    c.session = session;
                }
                if let Some(&(_, sent)) = c.hb_sent.iter().find(|x| x.0 == seq) {
                    // Counted from the sending: the server heard it later, so its own
                    // expiry comes after this (on equal clocks).
                    c.valid_until = c.valid_until.max(sent + p.session_timeout_ms * MS);
                }
                if c.holding && c.valid_until > c.lease_end {
                    c.lease_end = c.valid_until;
                    cx.set_timer(LockTimer::LeaseEnd, c.valid_until.saturating_sub(now));
                }
            }
            _ => {}
        }
    }
}

/// Tell `client` it heads the queue (its predecessor's watch fired), with its token.
pub(crate) fn tell_turn(cx: &mut Ctx<'_, Lock>, client: NodeId, attempt: u64, token: u64) {
    cx.send(client, LockMsg::Turn { attempt, token });
}

/// Refuse an acquire from a session the server does not hold (it expired, or a new
/// leader has not rebuilt it): true when refused.
pub(crate) fn refuse_unknown_session(
    s: &Server,
    cx: &mut Ctx<'_, Lock>,
    from: NodeId,
    session: u64,
    attempt: u64,
) -> bool {
    let known = s.sessions.iter().any(|x| x.0 == session && x.1 == from);
    if !known {
        cx.send(
            from,
            LockMsg::Refused {
                attempt,
                master: None,
            },
        );
    }
    !known
}

/// Delete the children at `gone` (indices into the queue) and tell the new lowest
/// child, if the head changed: its predecessor's watch fired. Only the next in line
/// hears of a deletion, so no herd wakes up.
fn zk_delete(s: &mut Server, cx: &mut Ctx<'_, Lock>, gone: &[usize]) {
    if gone.is_empty() {
        return;
    }
    let head_gone = gone.contains(&0);
    let mut i = 0;
    s.queue.retain(|_| {
        i += 1;
        !gone.contains(&(i - 1))
    });
    if head_gone {
        if let Some(&(zxid, client, attempt, _)) = s.queue.first() {
            tell_turn(cx, client, attempt, zxid);
        }
    }
}

impl Protocol for Lock {
    const NAME: &'static str = "lock";
    const SUMMARY: &'static str =
        "distributed locks: Redis leases with failover, Redlock, a ZooKeeper recipe; GC pauses, clock jumps and fencing tokens";
    const PARAMS: &'static [crate::ParamSpec] = params::LOCK_PARAMS;
    // The clients are nodes of the protocol, not the simulator's workload clients.
    const DATA_TYPE: crate::DataType = crate::DataType::NONE;
    const NODE_CLIENTS: crate::DataType = crate::DataType::LOCK;
    type Params = LockParams;
    type Msg = LockMsg;
    type Disk = LockDisk;
    type Write = LockWrite;
    type Monitor = LockMonitor;
    type Timer = LockTimer;

    fn patience(p: &LockParams) -> Time {
        (p.ttl_ms.max(p.session_timeout_ms) + p.failover_ms) * MS
    }

    fn param_problems(p: &LockParams) -> Vec<(&'static str, String)> {
        p.problems()
    }

    fn cluster_problems(p: &LockParams, nodes: usize) -> Vec<(&'static str, String)> {
        p.cluster_problems(nodes)
    }

    fn apply_write(disk: &mut LockDisk, write: LockWrite) {
        match write {
            LockWrite::Epoch(e) => disk.epoch = disk.epoch.max(e),
            LockWrite::Zxid(z) => disk.zxid = disk.zxid.max(z),
            LockWrite::Highest(h) => disk.highest = disk.highest.max(h),
            LockWrite::Raft(w) => <crate::raft::Raft as Protocol>::apply_write(&mut disk.raft, w),
        }
    }

    fn boot(id: NodeId, _members: &[NodeId], p: &LockParams, disk: Option<&LockDisk>) -> Self {
        let d = disk.cloned().unwrap_or_default();
        let part = match p.kind(id) {
            Kind::Server => Part::Server(Box::new(Server {
                // Redis: node 0 starts as master; a restarted server waits as a replica
                // for whoever is master now (or takes over after failover_ms).
                master: p.service != Service::Redis || (id == 0 && disk.is_none()),
                epoch: if p.service == Service::Redis && id == 0 && disk.is_none() {
                    1
                } else {
                    d.epoch
                },
                zxid: d.zxid,
                ..Default::default()
            })),
            Kind::Storage => Part::Storage(Storage {
                highest: d.highest,
                ..Default::default()
            }),
            Kind::Client => Part::Client(Client::default()),
        };
        let ens = (p.kind(id) == Kind::Server && p.replicated())
            .then(|| Box::new(zkraft::Ensemble::boot(id, disk.map(|d| &d.raft))));
        Lock {
            id,
            p: *p,
            part,
            ens,
            ghost: Ghost::default(),
            last_change: if disk.is_some() {
                "restarted from its disk"
            } else {
                "booted"
            }
            .to_string(),
        }
    }

    fn start(&mut self, cx: &mut Ctx<'_, Self>) {
        let p = self.p;
        match &mut self.part {
            Part::Server(s) => {
                s.heard = cx.now();
                s.ticked = cx.now();
                // Redis's first master writes its epoch down at once: without it, a
                // restart would find an empty disk and boot as a fresh master of
                // epoch 1 next to the replica promoted meanwhile.
                if p.service == Service::Redis && s.master {
                    cx.persist(LockWrite::Epoch(s.epoch));
                }
                cx.set_timer(LockTimer::Tick, p.replication_ms * MS);
                self.drive(cx, zkraft::Input::Start);
            }
            Part::Storage(_) => {}
            Part::Client(_) => {
                if p.service == Service::Zookeeper {
                    self.client_timer(cx, LockTimer::Heartbeat);
                }
                // The first request comes without jitter, clients 10 ms apart in id
                // order, so a preset knows the first holder (the lowest client) and
                // when it holds; jitter spreads every later request.
                let rank = (self.id as u64).saturating_sub(p.servers + 1);
                let rank = if self.id as u64 > p.storage {
                    rank
                } else {
                    rank + 1
                };
                self.client().phase = Phase::Thinking;
                cx.set_timer(LockTimer::Think, p.think_ms * MS + rank * 10 * MS);
            }
        }
    }

    fn on_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: LockMsg) {
        self.ghost = Ghost::default();
        match self.part {
            Part::Server(_) if self.ens.is_some() => self.ensemble_message(cx, from, msg),
            Part::Server(_) => self.server_message(cx, from, msg),
            Part::Storage(_) => self.storage_message(cx, from, msg),
            Part::Client(_) => self.client_message(cx, from, msg),
        }
    }

    fn on_timer(&mut self, cx: &mut Ctx<'_, Self>, timer: LockTimer) {
        self.ghost = Ghost::default();
        match self.part {
            Part::Server(_) => {
                let id = crate::Timer::id(timer);
                if id >= zkraft::RAFT_TIMER_BASE {
                    let t = <crate::raft::RaftTimer as crate::Timer>::from_id(
                        id - zkraft::RAFT_TIMER_BASE,
                    );
                    if let Some(t) = t {
                        self.drive(cx, zkraft::Input::Timer(t));
                    }
                } else if timer == LockTimer::Tick {
                    if self.ens.is_some() {
                        self.ensemble_tick(cx);
                    } else {
                        self.server_tick(cx);
                    }
                    cx.set_timer(LockTimer::Tick, self.p.replication_ms * MS);
                }
            }
            Part::Storage(_) => {}
            Part::Client(_) => self.client_timer(cx, timer),
        }
    }

    fn on_client(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest) {
        // No workload clients: the lock clients are nodes.
        cx.reply(crate::ClientReply {
            client: req.client,
            seq: req.seq,
            outcome: Outcome::Fail {
                reason: "the lock clients are nodes of the cluster".into(),
            },
            at: None,
        });
    }

    /// A lock client that believes it holds the lock.
    fn is_leader(&self) -> bool {
        matches!(&self.part, Part::Client(c) if c.holding)
    }

    /// A holder's token; a Redis server's epoch, ZooKeeper's last zxid; the storage's
    /// highest accepted token.
    fn epoch(&self) -> u64 {
        match &self.part {
            Part::Server(s) => match self.p.service {
                Service::Zookeeper => s.zxid,
                _ => s.epoch,
            },
            Part::Storage(st) => st.highest,
            Part::Client(c) => {
                if c.holding {
                    c.token
                } else {
                    0
                }
            }
        }
    }

    /// The storage's accepted writes.
    fn log_len(&self) -> u64 {
        match &self.part {
            Part::Storage(st) => st.accepted,
            _ => 0,
        }
    }

    /// The storage flags the clients whose write it accepted below the highest token
    /// (corrupted writes).
    fn suspects(&self) -> u64 {
        match &self.part {
            Part::Storage(st) => st.corrupted_by,
            _ => 0,
        }
    }

    fn view(&self) -> NodeView {
        view::view(self)
    }

    fn invariants() -> &'static [&'static str] {
        check::INVARIANTS
    }

    fn check(
        monitor: &mut LockMonitor,
        changed: NodeId,
        nodes: &[Option<Self>],
        now: Time,
    ) -> Result<(), Violation> {
        monitor.observe(changed, nodes, now)
    }
}

#[cfg(test)]
mod tests;
