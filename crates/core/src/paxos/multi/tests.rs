//! A small in-process driver: messages delivered in order, timers fired by hand.

use super::*;
use crate::{Effect, Op, Rng};
use std::collections::VecDeque;

struct Cluster {
    nodes: Vec<Option<MultiPaxos>>,
    disks: Vec<MultiPaxosDisk>,
    rngs: Vec<Rng>,
    queue: VecDeque<(NodeId, NodeId, MultiPaxosMsg)>,
    replies: Vec<ClientReply>,
    monitor: PaxosMonitor,
    params: MultiPaxosParams,
}

impl Cluster {
    fn new(n: u32, params: MultiPaxosParams) -> Self {
        let members: Vec<NodeId> = (0..n).collect();
        let mut c = Cluster {
            nodes: members
                .iter()
                .map(|&i| Some(MultiPaxos::boot(i, &members, &params, None)))
                .collect(),
            disks: vec![MultiPaxosDisk::default(); n as usize],
            rngs: (0..n).map(|i| Rng::derive(3, i as u64)).collect(),
            queue: VecDeque::new(),
            replies: Vec::new(),
            monitor: PaxosMonitor::default(),
            params,
        };
        for i in 0..n {
            c.run(i, |p, cx| p.start(cx));
        }
        c
    }

    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut MultiPaxos, &mut Ctx<'_, MultiPaxos>)) {
        let mut effects = Vec::new();
        let Some(node) = self.nodes[i as usize].as_mut() else {
            return;
        };
        let mut cx = Ctx::new(i, 0, &mut self.rngs[i as usize], &mut effects);
        f(node, &mut cx);
        for e in effects {
            match e {
                Effect::Send { to, msg } => self.queue.push_back((i, to, msg)),
                Effect::Persist(w) => self.disks[i as usize].apply(w),
                Effect::Reply(r) => self.replies.push(r),
                _ => {}
            }
        }
        MultiPaxos::check(&mut self.monitor, i, &self.nodes, 0).expect("invariants hold");
    }

    fn deliver_all(&mut self) {
        while let Some((from, to, m)) = self.queue.pop_front() {
            self.run(to, |p, cx| p.on_message(cx, from, m));
        }
    }

    fn client(&mut self, i: NodeId, seq: u64, op: Op) {
        self.run(i, |p, cx| {
            p.on_client(cx, ClientRequest { client: 1, seq, op })
        });
    }

    fn node(&self, i: usize) -> &MultiPaxos {
        self.nodes[i].as_ref().expect("up")
    }
}

fn w(key: &str, value: i64) -> Op {
    Op::Write {
        key: key.into(),
        value,
    }
}

#[test]
fn elect_replicate_read_and_catch_up() {
    let mut c = Cluster::new(3, MultiPaxosParams::default());
    c.run(0, |p, cx| p.on_timer(cx, TIMER_ELECTION));
    c.deliver_all();
    assert_eq!(c.node(0).role(), Role::Leader);
    assert_eq!(c.node(1).leader(), Some(0));
    c.client(0, 1, w("x", 4));
    c.deliver_all();
    assert_eq!(
        c.replies.last().unwrap().outcome,
        Outcome::Ok { value: None }
    );
    c.client(0, 2, Op::Read { key: "x".into() });
    c.deliver_all();
    assert_eq!(
        c.replies.last().unwrap().outcome,
        Outcome::Ok {
            value: Some(crate::Val::Int(4))
        }
    );
    // A retry of an applied request is answered from the session, not applied again.
    let n = c.node(0).log().commit();
    c.client(0, 2, Op::Read { key: "x".into() });
    assert_eq!(c.node(0).log().commit(), n);
    // Followers learn the chosen prefix from the next heartbeat.
    c.run(0, |p, cx| p.on_timer(cx, TIMER_HEARTBEAT));
    c.deliver_all();
    for i in 0..3 {
        assert_eq!(c.node(i).log().commit(), 2, "node {i}");
        assert_eq!(
            c.node(i).log().state().kv.get("x"),
            Some(&crate::Val::Int(4))
        );
    }
    // A follower that lost everything but its disk catches up.
    c.nodes[2] = None;
    for k in 0..5 {
        c.client(0, 3 + k, w("x", 10 + k as i64));
        c.deliver_all();
    }
    c.nodes[2] = Some(MultiPaxos::boot(
        2,
        &[0, 1, 2],
        &c.params,
        Some(&c.disks[2]),
    ));
    c.run(0, |p, cx| p.on_timer(cx, TIMER_HEARTBEAT));
    c.deliver_all();
    assert_eq!(c.node(2).log().commit(), c.node(0).log().commit());
    assert_eq!(
        c.node(2).log().state().kv.get("x"),
        Some(&crate::Val::Int(14))
    );
}

#[test]
fn takeover_keeps_accepted_values_and_fills_holes() {
    let mut c = Cluster::new(3, MultiPaxosParams::default());
    c.run(0, |p, cx| p.on_timer(cx, TIMER_ELECTION));
    c.deliver_all();
    // Slot 1 reaches only node 1; slot 2 reaches nobody but the leader.
    c.client(0, 1, w("x", 1));
    let q: Vec<_> = c.queue.drain(..).collect();
    for (f, t, m) in q {
        if t == 1 {
            c.run(t, |p, cx| p.on_message(cx, f, m));
        }
    }
    c.queue.clear();
    c.client(0, 2, w("x", 2));
    c.queue.clear();
    c.nodes[0] = None;
    c.run(1, |p, cx| p.on_timer(cx, TIMER_ELECTION));
    c.deliver_all();
    assert_eq!(c.node(1).role(), Role::Leader);
    // Slot 1 was chosen (nodes 0 and 1 accepted x=1): node 1 re-proposes it.
    assert_eq!(
        c.node(1).log().get(1),
        Some(&Cmd::Client(ClientRequest {
            client: 1,
            seq: 1,
            op: w("x", 1)
        }))
    );
    assert_eq!(
        c.node(1).log().state().kv.get("x"),
        Some(&crate::Val::Int(1))
    );
}

#[test]
fn truncation_keeps_the_log_bounded() {
    let params = MultiPaxosParams {
        snapshot_threshold: 4,
        ..Default::default()
    };
    let mut c = Cluster::new(3, params);
    c.run(0, |p, cx| p.on_timer(cx, TIMER_ELECTION));
    c.deliver_all();
    for k in 0..20 {
        c.client(0, 1 + k, w("x", k as i64));
        c.deliver_all();
    }
    assert!(c.node(0).log().base() >= 16);
    assert!(c.node(0).acceptor().iter().count() <= 4);
    assert!(c.disks[0].accepted.len() <= 4);
    // A node restarted with a blank disk catches up through the snapshot.
    c.nodes[2] = Some(MultiPaxos::boot(2, &[0, 1, 2], &c.params, None));
    c.run(0, |p, cx| p.on_timer(cx, TIMER_HEARTBEAT));
    c.deliver_all();
    assert_eq!(
        c.node(2).log().state().kv.get("x"),
        Some(&crate::Val::Int(19))
    );
}
