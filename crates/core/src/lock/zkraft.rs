//! `service = "zookeeper"` with 3 servers: the lock recipe on a replicated store, an
//! ensemble of three servers each running an unmodified [`Raft`] member (composed as
//! primary-backup's Raft view store is: its effects wrapped into our messages, timers
//! and disk).
//!
//! The znodes live in Raft's key-value store: a child is the key
//! `c<client>.<attempt>.<session>` whose value is the log index its create took (the
//! zxid, the fencing token: it only grows); a delete writes 0. Only the ready leader
//! serves clients. Sessions are the leader's, in memory, as in ZooKeeper where the
//! leader tracks session pings; a new leader rebuilds them from the children and gives
//! each a fresh timeout before it expires any. The head of the queue is told when it
//! becomes the head (its predecessor's watch firing).

use super::{refuse_unknown_session, tell_turn, Lock, LockMsg, LockWrite, Part};
use crate::raft::{Raft, RaftTimer};
use crate::{ClientRequest, Ctx, Effect, NodeId, Op, Protocol, Time, Timer, TimerId, MS};

/// Servers in a replicated ensemble.
pub const ENSEMBLE: u64 = 3;
/// Raft's timers, shifted past ours.
pub const RAFT_TIMER_BASE: TimerId = 16;
const CLIENT_BASE: u32 = u32::MAX - 64;

/// A server's Raft member and what only its leader keeps.
#[derive(Clone, Debug)]
pub struct Ensemble {
    pub raft: Raft,
    /// Leads and has committed an entry of its term.
    pub ready: bool,
    /// Creates proposed and not answered yet: (client, attempt, key, local time).
    pub pending: Vec<(NodeId, u64, String, Time)>,
    /// The head of the queue last told it holds the lock.
    pub told: Option<String>,
}

pub enum Input {
    Start,
    Msg(NodeId, crate::raft::RaftMsg),
    Timer(RaftTimer),
    Client(ClientRequest),
}

fn key(client: NodeId, attempt: u64, session: u64) -> String {
    format!("c{client}.{attempt}.{session}")
}

/// (client, attempt, session) of a child's key.
fn parse(k: &str) -> Option<(NodeId, u64, u64)> {
    let mut it = k.strip_prefix('c')?.split('.');
    let c = it.next()?.parse().ok()?;
    let a = it.next()?.parse().ok()?;
    let s = it.next()?.parse().ok()?;
    Some((c, a, s))
}

/// A live child: its zxid, client, attempt, session and key.
pub type Child = (u64, NodeId, u64, u64, String);

impl Ensemble {
    pub fn boot(id: NodeId, disk: Option<&crate::raft::RaftDisk>) -> Self {
        let members: Vec<NodeId> = (0..ENSEMBLE as NodeId).collect();
        Ensemble {
            raft: Raft::boot(id, &members, &crate::pb::raftview::group_params(), disk),
            ready: false,
            pending: Vec::new(),
            told: None,
        }
    }
    /// The live children, by zxid.
    pub fn queue(&self) -> Vec<Child> {
        let mut q: Vec<Child> = self
            .raft
            .state()
            .kv
            .iter()
            .filter_map(|(k, v)| Some((k, v.int().filter(|z| *z > 0)?)))
            .filter_map(|(k, v)| parse(k).map(|(c, a, s)| (v as u64, c, a, s, k.clone())))
            .collect();
        q.sort();
        q
    }
}

impl Lock {
    /// Hand `input` to this server's Raft member, turn its effects into ours, then act
    /// on what it committed.
    pub(super) fn drive(&mut self, cx: &mut Ctx<'_, Self>, input: Input) {
        let Some(e) = self.ens.as_mut() else { return };
        let mut effects: Vec<Effect<Raft>> = Vec::new();
        {
            let (id, now) = (cx.id(), cx.now());
            let mut rcx = Ctx::new(id, now, cx.rng(), &mut effects);
            let r = &mut e.raft;
            match input {
                Input::Start => r.start(&mut rcx),
                Input::Msg(from, m) => r.on_message(&mut rcx, from, m),
                Input::Timer(t) => r.on_timer(&mut rcx, t),
                Input::Client(req) => r.on_client(&mut rcx, req),
            }
        }
        for ef in effects {
            match ef {
                Effect::Send { to, msg } => cx.send(to, LockMsg::Raft { msg }),
                Effect::SetTimer { timer, after } => {
                    if let Some(t) = <super::LockTimer as Timer>::from_id(RAFT_TIMER_BASE + timer) {
                        cx.set_timer(t, after);
                    }
                }
                Effect::CancelTimer { timer } => {
                    if let Some(t) = <super::LockTimer as Timer>::from_id(RAFT_TIMER_BASE + timer) {
                        cx.cancel_timer(t);
                    }
                }
                Effect::Persist(w) => cx.persist(LockWrite::Raft(w)),
                // Our own proposals: what they did shows in the state.
                Effect::Reply(_) => {}
                Effect::Report(r) => cx.report(r),
            }
        }
        self.learn(cx);
    }

    /// Follow leadership, answer creates that committed, tell a new head of the queue.
    fn learn(&mut self, cx: &mut Ctx<'_, Self>) {
        let now = cx.now();
        let timeout = self.p.retry_ms * MS;
        let (Some(e), Part::Server(s)) = (self.ens.as_mut(), &mut self.part) else {
            return;
        };
        let ready = e.raft.leader_ready();
        if ready && !e.ready {
            // Sessions are rebuilt from the children, each with a fresh timeout.
            s.sessions.clear();
            for (_, c, _, sess, _) in e.queue() {
                if !s.sessions.iter().any(|x| x.0 == sess) {
                    s.sessions.push((sess, c, now));
                }
            }
            s.next_session = 0;
            e.told = None;
            self.last_change = format!("leads the ensemble (Raft term {})", e.raft.term());
        } else if !ready && e.ready {
            e.pending.clear();
            s.sessions.clear();
            self.last_change =
                format!("no longer leads the ensemble (Raft term {})", e.raft.term());
        }
        e.ready = ready;
        s.zxid = e.raft.applied_index();
        if !ready {
            return;
        }
        let q = e.queue();
        let head = q.first().map(|c| c.4.clone());
        let mut answered = Vec::new();
        for (i, (client, attempt, k, since)) in e.pending.iter().enumerate() {
            if let Some(pos) = q.iter().position(|c| &c.4 == k) {
                let token = q[pos].0;
                let m = if pos == 0 {
                    LockMsg::Granted {
                        attempt: *attempt,
                        token,
                    }
                } else {
                    LockMsg::Queued {
                        attempt: *attempt,
                        token,
                    }
                };
                cx.send(*client, m);
                answered.push(i);
            } else if now >= since + timeout {
                answered.push(i);
            }
        }
        for i in answered.into_iter().rev() {
            e.pending.remove(i);
        }
        if head != e.told {
            if let Some(c) = q.first() {
                tell_turn(cx, c.1, c.2, c.0);
            }
            e.told = head;
        }
    }

    /// Propose `key = value` to the ensemble (only a ready leader does).
    fn propose(&mut self, cx: &mut Ctx<'_, Self>, key: String, value: Option<i64>) {
        let Some(e) = self.ens.as_ref() else { return };
        // The index the entry takes: it is appended at once by the leader.
        let index = e.raft.log().last_index() + 1;
        let req = ClientRequest {
            client: CLIENT_BASE + cx.id(),
            seq: index,
            op: Op::Write {
                key,
                value: value.unwrap_or(index as i64),
            },
        };
        self.drive(cx, Input::Client(req));
    }

    /// A client's message to an ensemble server.
    pub(super) fn ensemble_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: LockMsg) {
        let now = cx.now();
        let Some(e) = self.ens.as_ref() else { return };
        if let LockMsg::Raft { msg } = msg {
            self.drive(cx, Input::Msg(from, msg));
            return;
        }
        if !e.ready {
            let master = e.raft.leader().filter(|l| *l != self.id);
            let attempt = match msg {
                LockMsg::Acquire { attempt, .. } => attempt,
                _ => 0,
            };
            cx.send(from, LockMsg::Refused { attempt, master });
            return;
        }
        let q = e.queue();
        let pending = e.pending.clone();
        let Part::Server(s) = &mut self.part else {
            return;
        };
        match msg {
            LockMsg::Heartbeat { seq, session } => {
                let answer = match s
                    .sessions
                    .iter_mut()
                    .find(|x| x.0 == session && x.1 == from)
                {
                    Some(x) => {
                        x.2 = now;
                        session
                    }
                    None if session == 0 => {
                        // Unique across leaders: the term in the high bits.
                        s.next_session += 1;
                        let term = self.ens.as_ref().map_or(0, |e| e.raft.term());
                        let id = term << 32 | s.next_session;
                        s.sessions.push((id, from, now));
                        id
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
            LockMsg::Acquire { attempt, session } => {
                if refuse_unknown_session(s, cx, from, session, attempt) {
                    return;
                }
                if let Some(pos) = q.iter().position(|c| c.1 == from && c.2 == attempt) {
                    let token = q[pos].0;
                    let m = if pos == 0 {
                        LockMsg::Granted { attempt, token }
                    } else {
                        LockMsg::Queued { attempt, token }
                    };
                    cx.send(from, m);
                    return;
                }
                // Its children of earlier attempts are orphans (their release was
                // lost): gone, or they would block the queue while its session lives.
                for c in q.iter().filter(|c| c.1 == from && c.2 != attempt) {
                    self.propose(cx, c.4.clone(), Some(0));
                }
                if pending.iter().any(|p| p.0 == from && p.1 == attempt) {
                    return;
                }
                let k = key(from, attempt, session);
                if let Some(e) = self.ens.as_mut() {
                    e.pending.push((from, attempt, k.clone(), now));
                }
                self.propose(cx, k, None);
            }
            LockMsg::Release { attempt } => {
                for c in q.iter().filter(|c| c.1 == from && c.2 == attempt) {
                    self.propose(cx, c.4.clone(), Some(0));
                }
            }
            _ => {}
        }
    }

    /// The leader expires silent sessions, deleting their children.
    pub(super) fn ensemble_tick(&mut self, cx: &mut Ctx<'_, Self>) {
        let now = cx.now();
        let timeout = self.p.session_timeout_ms * MS;
        let Some(e) = self.ens.as_ref() else { return };
        if !e.ready {
            return;
        }
        let q = e.queue();
        // The head's watch, again: a notification lost on the way must not stall it.
        if let Some(c) = q.first() {
            tell_turn(cx, c.1, c.2, c.0);
        }
        let Part::Server(s) = &mut self.part else {
            return;
        };
        let dead: Vec<(u64, NodeId)> = s
            .sessions
            .iter()
            .filter(|x| now.saturating_sub(x.2) > timeout)
            .map(|x| (x.0, x.1))
            .collect();
        if dead.is_empty() {
            return;
        }
        s.sessions.retain(|x| !dead.iter().any(|d| d.0 == x.0));
        self.last_change = format!(
            "expired the session of client(s) {:?}: silent for {} ms",
            dead.iter().map(|d| d.1).collect::<Vec<_>>(),
            self.p.session_timeout_ms
        );
        for c in q.iter().filter(|c| dead.iter().any(|d| d.0 == c.3)) {
            self.propose(cx, c.4.clone(), Some(0));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn child_keys_read_back() {
        assert_eq!(
            super::parse(&super::key(7, 3, 1 << 33)),
            Some((7, 3, 1 << 33))
        );
        assert_eq!(super::parse("view"), None);
    }
}
