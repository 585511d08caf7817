//! Unit tests of the lock family: a tiny driver delivering messages in order.

use super::*;
use crate::{Effect, Rng};

/// Runs handlers by hand: messages go into a queue, timers are fired by the test.
struct Net {
    nodes: Vec<Lock>,
    queue: Vec<(NodeId, NodeId, LockMsg)>,
    now: Time,
    rng: Rng,
    timers: Vec<(NodeId, LockTimer, Time)>,
}

impl Net {
    fn new(p: LockParams, n: u32) -> Net {
        let members: Vec<NodeId> = (0..n).collect();
        let nodes = (0..n).map(|i| Lock::boot(i, &members, &p, None)).collect();
        let mut net = Net {
            nodes,
            queue: Vec::new(),
            now: 0,
            rng: Rng::new(1),
            timers: Vec::new(),
        };
        for i in 0..n {
            net.run(i, |node, cx| node.start(cx));
        }
        net
    }
    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut Lock, &mut Ctx<'_, Lock>)) {
        let mut eff = Vec::new();
        {
            let mut cx = Ctx::new(i, self.now, &mut self.rng, &mut eff);
            f(&mut self.nodes[i as usize], &mut cx);
        }
        for e in eff {
            match e {
                Effect::Send { to, msg } => self.queue.push((i, to, msg)),
                Effect::SetTimer { timer, after } => {
                    let t = <LockTimer as crate::Timer>::from_id(timer).unwrap();
                    self.timers.retain(|x| !(x.0 == i && x.1 == t));
                    self.timers.push((i, t, self.now + after));
                }
                Effect::CancelTimer { timer } => {
                    let t = <LockTimer as crate::Timer>::from_id(timer).unwrap();
                    self.timers.retain(|x| !(x.0 == i && x.1 == t));
                }
                _ => {}
            }
        }
    }
    fn deliver(&mut self) {
        while !self.queue.is_empty() {
            let (from, to, m) = self.queue.remove(0);
            self.run(to, |n, cx| n.on_message(cx, from, m));
        }
    }
    fn fire(&mut self, i: NodeId, t: LockTimer) {
        self.timers.retain(|x| !(x.0 == i && x.1 == t));
        self.run(i, |n, cx| n.on_timer(cx, t));
        self.deliver();
    }
    fn holding(&self, i: NodeId) -> bool {
        self.nodes[i as usize].is_leader()
    }
}

fn redis() -> LockParams {
    LockParams {
        servers: 1,
        storage: 1,
        ..Default::default()
    }
}

#[test]
fn redis_grants_one_holder_and_fencing_refuses_the_stale_writer() {
    for fencing in [false, true] {
        let p = LockParams {
            check_fencing: fencing,
            ..redis()
        };
        let mut net = Net::new(p, 4);
        net.fire(2, LockTimer::Think);
        assert!(net.holding(2));
        net.fire(3, LockTimer::Think);
        assert!(!net.holding(3), "the key is taken");
        // Client 2 "pauses": its lease runs out at the server, client 3 gets the lock.
        net.now += 400 * MS;
        net.fire(3, LockTimer::Think);
        assert!(net.holding(3));
        assert!(
            net.holding(2),
            "the paused client still believes it holds the lock"
        );
        assert!(net.nodes[3].epoch() > net.nodes[2].epoch(), "tokens grow");
        net.fire(3, LockTimer::Work);
        // Client 2 wakes and writes with its old token.
        net.fire(2, LockTimer::Work);
        let Part::Storage(st) = &net.nodes[1].part else {
            panic!()
        };
        if fencing {
            assert_eq!((st.corrupted, st.rejected), (0, 1));
        } else {
            assert_eq!((st.corrupted, st.rejected), (1, 0));
            assert_eq!(net.nodes[1].suspects(), 1 << 2);
        }
    }
}

#[test]
fn the_fencing_invariant_catches_an_accepted_stale_token() {
    let mut nodes: Vec<Option<Lock>> = (0..4)
        .map(|i| Some(Lock::boot(i, &[0, 1, 2, 3], &redis(), None)))
        .collect();
    let mut m = LockMonitor::default();
    let st = nodes[1].as_mut().unwrap();
    st.ghost.accepted = Some((2, 3, 5));
    // Fencing off: an accepted stale token is a corrupted write, not a broken promise.
    assert!(m.observe(1, &nodes, 0).is_ok());
    nodes[1].as_mut().unwrap().p.check_fencing = true;
    let v = m.observe(1, &nodes, 0).unwrap_err();
    assert_eq!(v.invariant, check::FENCED);
}

#[test]
fn redlock_needs_a_majority() {
    let p = LockParams {
        service: Service::Redlock,
        servers: 3,
        storage: 3,
        ..Default::default()
    };
    let mut net = Net::new(p, 6);
    // Client 4 reaches only master 0 before client 5 takes masters 1 and 2.
    net.run(4, |n, cx| n.on_timer(cx, LockTimer::Think));
    net.run(5, |n, cx| n.on_timer(cx, LockTimer::Think));
    let mut q = std::mem::take(&mut net.queue);
    q.sort_by_key(|(from, to, _)| (*to != 0 || *from != 4, *from != 5));
    net.queue = q;
    net.deliver();
    assert!(net.holding(5) && !net.holding(4));
}

#[test]
fn zookeeper_queues_waiters_and_expires_sessions() {
    let p = LockParams {
        service: Service::Zookeeper,
        servers: 1,
        storage: 1,
        check_fencing: true,
        ..Default::default()
    };
    let mut net = Net::new(p, 4);
    net.deliver();
    net.fire(2, LockTimer::Think);
    net.fire(3, LockTimer::Think);
    assert!(net.holding(2));
    let Part::Client(c) = &net.nodes[3].part else {
        panic!()
    };
    assert_eq!(c.phase, Phase::Waiting);
    // Client 2 falls silent: the server expires its session and client 3's turn comes.
    net.now += 400 * MS;
    net.fire(3, LockTimer::Heartbeat);
    net.fire(0, LockTimer::Tick);
    assert!(net.holding(3));
    assert!(net.nodes[3].epoch() > net.nodes[2].epoch());
    // The paused holder wakes: its lease timer tells it it lost the lock.
    net.fire(2, LockTimer::LeaseEnd);
    assert!(!net.holding(2));
}
