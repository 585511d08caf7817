//! Unit tests of the Raft node through a tiny in-module harness.

use super::*;
use crate::{Effect, Rng};

pub(super) struct Net {
    pub nodes: Vec<Option<Raft>>,
    pub disks: Vec<RaftDisk>,
    pub queue: VecDeque<(NodeId, NodeId, RaftMsg)>,
    pub replies: Vec<ClientReply>,
    pub rng: Rng,
    pub now: Time,
    pub monitor: RaftMonitor,
    pub violation: Option<Violation>,
}

impl Net {
    pub fn new(n: u32, params: RaftParams) -> Self {
        let members: Vec<NodeId> = (0..n).collect();
        let mut net = Net {
            nodes: Vec::new(),
            disks: vec![RaftDisk::default(); n as usize],
            queue: VecDeque::new(),
            replies: Vec::new(),
            rng: Rng::new(1),
            now: 1000,
            monitor: RaftMonitor::default(),
            violation: None,
        };
        for i in 0..n {
            net.nodes.push(Some(Raft::boot(i, &members, &params, None)));
            net.run(i, |r, cx| r.start(cx));
        }
        net
    }

    pub fn run(&mut self, i: NodeId, f: impl FnOnce(&mut Raft, &mut Ctx<'_, Raft>)) {
        let mut effects = Vec::new();
        let Some(r) = self.nodes[i as usize].as_mut() else {
            return;
        };
        let mut cx = Ctx::new(i, self.now, &mut self.rng, &mut effects);
        f(r, &mut cx);
        for e in effects {
            match e {
                Effect::Send { to, msg } => self.queue.push_back((i, to, msg)),
                Effect::Persist(w) => self.disks[i as usize].apply(w),
                Effect::Reply(r) => self.replies.push(r),
                _ => {}
            }
        }
        if self.violation.is_none() {
            if let Err(v) = Raft::check(&mut self.monitor, i, &self.nodes, self.now) {
                self.violation = Some(v);
            }
        }
    }

    pub fn deliver(&mut self) {
        while let Some((from, to, msg)) = self.queue.pop_front() {
            self.now += 10;
            self.run(to, |r, cx| r.on_message(cx, from, msg));
        }
    }

    pub fn node(&self, i: NodeId) -> &Raft {
        self.nodes[i as usize].as_ref().unwrap()
    }

    pub fn elect(&mut self, i: NodeId) {
        self.now += 1000 * MS;
        self.run(i, |r, cx| r.on_timer(cx, TIMER_ELECTION));
        self.deliver();
    }

    pub fn propose(&mut self, i: NodeId, client: ClientId, seq: u64, op: Op) {
        self.run(i, |r, cx| {
            r.on_client(cx, ClientRequest { client, seq, op })
        });
    }

    pub fn heartbeat(&mut self, i: NodeId) {
        self.run(i, |r, cx| r.on_timer(cx, TIMER_HEARTBEAT));
        self.deliver();
    }
}

fn w(key: &str, value: i64) -> Op {
    Op::Write {
        key: key.into(),
        value,
    }
}

#[test]
fn elects_replicates_and_commits() {
    let mut net = Net::new(3, RaftParams::default());
    net.elect(0);
    assert_eq!(net.node(0).role, Role::Leader);
    assert_eq!(net.node(1).leader, Some(0));
    net.propose(0, 1, 1, w("x", 4));
    net.deliver();
    assert_eq!(net.node(0).commit, 2);
    assert_eq!(
        net.replies.last().unwrap().outcome,
        Outcome::Ok { value: None }
    );
    net.heartbeat(0);
    for i in 0..3 {
        assert_eq!(net.node(i).applied, 2);
        assert_eq!(net.node(i).state.kv["x"], crate::Val::Int(4));
    }
    assert!(net.violation.is_none(), "{:?}", net.violation);
}

#[test]
fn session_dedupe_at_the_leader() {
    let mut net = Net::new(3, RaftParams::default());
    net.elect(0);
    net.propose(0, 1, 1, w("x", 1));
    net.deliver();
    net.propose(0, 2, 1, w("x", 2));
    net.deliver();
    // Retry of client 1 seq 1: cached reply, not applied again.
    let before = net.node(0).log.last_index();
    net.propose(0, 1, 1, w("x", 1));
    assert_eq!(net.node(0).log.last_index(), before);
    assert_eq!(net.node(0).state.kv["x"], crate::Val::Int(2));
    assert_eq!(net.replies.len(), 3);
}

#[test]
fn conflict_hint_repairs_a_divergent_follower_quickly() {
    let mut net = Net::new(
        3,
        RaftParams {
            max_entries_per_append: 100,
            ..Default::default()
        },
    );
    net.elect(0);
    // Node 0 appends many entries nobody sees.
    net.nodes[1] = None;
    net.nodes[2] = None;
    for s in 1..=20 {
        net.propose(0, 1, s, w("x", s as i64));
    }
    net.queue.clear();
    net.nodes[0] = None;
    let members = [0, 1, 2];
    let p = RaftParams::default();
    net.nodes[1] = Some(Raft::boot(1, &members, &p, Some(&net.disks[1].clone())));
    net.nodes[2] = Some(Raft::boot(2, &members, &p, Some(&net.disks[2].clone())));
    net.elect(1);
    assert_eq!(net.node(1).role, Role::Leader);
    net.propose(1, 2, 1, w("y", 1));
    net.deliver();
    net.nodes[0] = Some(Raft::boot(0, &members, &p, Some(&net.disks[0].clone())));
    net.queue.clear();
    net.heartbeat(1);
    net.heartbeat(1);
    let (a, b) = (net.node(0), net.node(1));
    assert_eq!(a.log.last_index(), b.log.last_index());
    assert_eq!(
        a.log.hash_at(a.log.last_index()),
        b.log.hash_at(b.log.last_index())
    );
    assert!(net.violation.is_none(), "{:?}", net.violation);
}

#[test]
fn snapshot_catches_up_a_lagging_follower() {
    let p = RaftParams {
        snapshot_threshold: 5,
        ..Default::default()
    };
    let mut net = Net::new(3, p);
    net.elect(0);
    let saved = net.nodes[2].take();
    for s in 1..=12 {
        net.propose(0, 1, s, w("x", s as i64));
        net.queue.retain(|m| m.1 != 2);
        net.deliver();
    }
    net.heartbeat(0);
    net.queue.retain(|m| m.1 != 2);
    net.heartbeat(0);
    net.queue.retain(|m| m.1 != 2);
    assert!(net.node(0).log.snap_index() > 0);
    net.nodes[2] = saved;
    net.now += 1000 * MS;
    net.heartbeat(0);
    net.heartbeat(0);
    assert_eq!(net.node(2).state.kv["x"], crate::Val::Int(12));
    assert!(net.violation.is_none(), "{:?}", net.violation);
}
