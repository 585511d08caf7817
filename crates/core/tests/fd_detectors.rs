//! The failure detectors run by a tiny hand-written driver: true time, per-node clock
//! offsets, a network with a pluggable latency (or loss), crashes, restarts and pauses,
//! and both invariants checked after every event.

use quorumlab_core::fd::{
    Detector, Fd, FdMsg, FdTimer, FixedTimeout, Heartbeat, HeartbeatParams, PhiAccrual,
    PhiAccrualDetector, PhiAccrualParams,
};
use quorumlab_core::{
    ClientRequest, Ctx, Effect, NodeId, Op, Outcome, Protocol, Rng, Time, Timer, TimerId, MS, SEC,
};
use std::collections::BTreeMap;

type Latency = Box<dyn FnMut(&mut Rng, NodeId, NodeId, Time) -> Option<Time>>;

struct Driver<P: Protocol> {
    params: P::Params,
    now: Time,
    nodes: Vec<Option<P>>,
    timers: Vec<Vec<(TimerId, Time)>>,
    offsets: Vec<i64>,
    paused_until: Vec<Time>,
    rngs: Vec<Rng>,
    queue: BTreeMap<(Time, u64), (NodeId, NodeId, P::Msg)>,
    next: u64,
    net: Rng,
    latency: Latency,
    monitor: P::Monitor,
    events: u64,
    /// Highest suspicion level any node showed of any peer, and whether anyone ever
    /// suspected anyone.
    max_level: f64,
    replies: Vec<Outcome>,
}

fn fixed_latency(base: Time, jitter: Time) -> Latency {
    Box::new(move |rng, _, _, _| Some(base + rng.below(jitter + 1)))
}

impl<P: Protocol> Driver<P> {
    fn new(n: u32, params: P::Params, latency: Latency) -> Self {
        let mut d = Driver {
            params,
            now: 0,
            nodes: (0..n).map(|_| None).collect(),
            timers: vec![Vec::new(); n as usize],
            offsets: vec![0; n as usize],
            paused_until: vec![0; n as usize],
            rngs: (0..n).map(|i| Rng::derive(7, i as u64)).collect(),
            queue: BTreeMap::new(),
            next: 0,
            net: Rng::new(99),
            latency,
            monitor: P::Monitor::default(),
            events: 0,
            max_level: 0.0,
            replies: Vec::new(),
        };
        for i in 0..n {
            d.boot(i);
        }
        d
    }

    fn local(&self, i: NodeId) -> Time {
        (self.now as i64 + self.offsets[i as usize]).max(0) as Time
    }

    fn boot(&mut self, i: NodeId) {
        let members: Vec<NodeId> = (0..self.nodes.len() as u32).collect();
        self.nodes[i as usize] = Some(P::boot(i, &members, &self.params, None));
        self.timers[i as usize].clear();
        self.run(i, |p, cx| p.start(cx));
    }

    fn crash(&mut self, i: NodeId) {
        self.nodes[i as usize] = None;
        self.timers[i as usize].clear();
    }

    fn run(&mut self, i: NodeId, f: impl FnOnce(&mut P, &mut Ctx<'_, P>)) {
        let iu = i as usize;
        let local = self.local(i);
        let Some(p) = self.nodes[iu].as_mut() else {
            return;
        };
        let mut effects = Vec::new();
        let mut cx = Ctx::new(i, local, &mut self.rngs[iu], &mut effects);
        f(p, &mut cx);
        for e in effects {
            match e {
                Effect::Send { to, msg } => {
                    if let Some(lat) = (self.latency)(&mut self.net, i, to, self.now) {
                        self.queue.insert((self.now + lat, self.next), (i, to, msg));
                        self.next += 1;
                    }
                }
                Effect::SetTimer { timer, after } => {
                    let at = self.now + after.max(1);
                    let t = &mut self.timers[iu];
                    match t.iter_mut().find(|x| x.0 == timer) {
                        Some(x) => x.1 = at,
                        None => t.push((timer, at)),
                    }
                }
                Effect::CancelTimer { timer } => self.timers[iu].retain(|x| x.0 != timer),
                Effect::Persist(_) => {}
                Effect::Reply(r) => self.replies.push(r.outcome),
                // Detectors report nothing of their own.
                Effect::Report(_) => {}
            }
        }
        self.events += 1;
        if let Err(v) = P::check(&mut self.monitor, i, &self.nodes, self.now) {
            panic!("invariant violated at {} µs: {v}", self.now);
        }
        if let Some(n) = &self.nodes[iu] {
            for s in n.view().gauges {
                assert!(s.value.is_finite() && s.value >= 0.0, "{s:?}");
                self.max_level = self.max_level.max(s.value);
            }
        }
    }

    /// Earliest timer of a live node, at or after its pause.
    fn next_timer(&self) -> Option<(Time, NodeId, TimerId)> {
        let mut best: Option<(Time, NodeId, TimerId)> = None;
        for (i, ts) in self.timers.iter().enumerate() {
            for &(id, at) in ts {
                let at = at.max(self.paused_until[i]);
                if best.is_none_or(|b| at < b.0) {
                    best = Some((at, i as NodeId, id));
                }
            }
        }
        best
    }

    fn run_until(&mut self, end: Time) {
        loop {
            let tm = self.next_timer();
            let msg = self.queue.keys().next().copied();
            match (tm, msg) {
                (Some((t, i, id)), m) if t < end && m.is_none_or(|m| t <= m.0) => {
                    self.now = self.now.max(t);
                    self.timers[i as usize].retain(|x| x.0 != id);
                    let t = <P::Timer as Timer>::from_id(id).expect("a timer the node armed");
                    self.run(i, |p, cx| p.on_timer(cx, t));
                }
                (_, Some(k)) if k.0 < end => {
                    let (from, to, msg) = self.queue.remove(&k).unwrap();
                    self.now = self.now.max(k.0);
                    let pu = self.paused_until[to as usize];
                    if pu > self.now {
                        self.queue.insert((pu, self.next), (from, to, msg));
                        self.next += 1;
                        continue;
                    }
                    self.run(to, |p, cx| p.on_message(cx, from, msg));
                }
                _ => break,
            }
        }
        self.now = self.now.max(end);
    }

    fn node(&self, i: NodeId) -> &P {
        self.nodes[i as usize].as_ref().expect("node is up")
    }
}

fn suspected_by<P: Protocol>(d: &Driver<P>, observer: NodeId, target: NodeId) -> bool {
    d.node(observer).view().flagged().any(|n| n == target)
}

fn anyone_suspects<P: Protocol>(d: &Driver<P>) -> bool {
    d.nodes
        .iter()
        .flatten()
        .any(|n| n.view().flagged().next().is_some())
}

/// Crash node 2 at 2 s; step in 1 ms until every live node suspects it; return how long
/// that took. Invariants are checked all along, and for a long while after.
fn detection_time<P: Protocol>(params: P::Params, bound: Time) -> Time {
    let mut d: Driver<P> = Driver::new(5, params, fixed_latency(2 * MS, 3 * MS));
    d.run_until(2 * SEC);
    assert!(!anyone_suspects(&d), "nobody is suspected while all are up");
    d.crash(2);
    let crash = d.now;
    let mut t = crash;
    while ![0, 1, 3, 4].iter().all(|&o| suspected_by(&d, o, 2)) {
        t += MS;
        assert!(t - crash <= bound, "not detected within {} ms", bound / MS);
        d.run_until(t);
    }
    // Nobody else is suspected, and it stays so (and the invariants keep holding).
    d.run_until(t + 3 * bound);
    for o in [0, 1, 3, 4] {
        for s in d.node(o).view().gauges {
            assert_eq!(s.flagged, s.node == 2, "node {o}: {s:?}");
        }
    }
    t - crash
}

#[test]
fn fixed_timeout_detects_a_crash_within_timeout_plus_a_check() {
    let p = HeartbeatParams::default();
    let took = detection_time::<Heartbeat>(p, 10 * p.timeout_ms * MS);
    // Suspected once `timeout` has passed since the last heartbeat, at the next check.
    assert!(took <= (p.timeout_ms + p.check_interval_ms) * MS, "{took}");
    assert!(took >= (p.timeout_ms - p.interval_ms) * MS, "{took}");
}

#[test]
fn phi_accrual_detects_a_crash_within_its_bound() {
    let p = PhiAccrualParams::default();
    let det = PhiAccrualDetector::new(&p);
    let bound = det.completeness_bound();
    let took = detection_time::<PhiAccrual>(p, bound);
    // With a regular 100 ms rhythm (σ at its 20 ms floor) and a 100 ms acceptable
    // pause, phi reaches 8 some 5.2 σ past 200 ms: about 300 ms.
    assert!(took < 400 * MS && took > 200 * MS, "{took}");
}

/// Heartbeats whose latency is 2 ms + uniform [0, 180] ms: inter-arrival times spread
/// from about 0 to 280 ms. A tight fixed timeout of 150 ms keeps suspecting healthy
/// nodes; phi-accrual learns the spread and never does.
fn jittery() -> Latency {
    fixed_latency(2 * MS, 180 * MS)
}

#[test]
fn jitter_fools_a_tight_fixed_timeout_but_not_phi() {
    let fixed = HeartbeatParams {
        timeout_ms: 150,
        ..HeartbeatParams::default()
    };
    let mut f: Driver<Heartbeat> = Driver::new(5, fixed, jittery());
    f.run_until(20 * SEC);
    let false_suspicions: u64 = (0..5).map(|i| f.node(i).suspicions()).sum();
    assert!(false_suspicions > 20, "{false_suspicions}");

    let mut phi: Driver<PhiAccrual> = Driver::new(5, PhiAccrualParams::default(), jittery());
    phi.run_until(20 * SEC);
    let false_suspicions: u64 = (0..5).map(|i| phi.node(i).suspicions()).sum();
    assert_eq!(false_suspicions, 0);
    assert!(
        phi.max_level < 8.0 && phi.max_level > 0.5,
        "max phi {}",
        phi.max_level
    );
    // It learnt the spread: σ well above the 20 ms floor.
    let w = &phi.node(0).peer(1).unwrap().stats;
    let (mean, std) = w.mean_std().unwrap();
    assert!((80e3..120e3).contains(&mean) && std > 40e3, "{mean} {std}");
    // And a crash on that network is still detected, within the bound.
    phi.crash(4);
    let bound = PhiAccrualDetector::new(&PhiAccrualParams::default()).completeness_bound();
    phi.run_until(20 * SEC + bound);
    for o in 0..4 {
        assert!(suspected_by(&phi, o, 4));
        assert!(!phi.node(o).suspects((o + 1) % 4));
    }
}

fn recovery<P: Protocol>(params: P::Params, wait: Time) {
    let mut d: Driver<P> = Driver::new(3, params, fixed_latency(2 * MS, 3 * MS));
    d.run_until(SEC);
    d.crash(1);
    d.run_until(SEC + wait);
    assert!(suspected_by(&d, 0, 1) && suspected_by(&d, 2, 1));
    d.boot(1);
    let back = d.now;
    // The first heartbeat of the new incarnation (sent at boot) clears the suspicion.
    d.run_until(back + 10 * MS);
    assert!(!suspected_by(&d, 0, 1) && !suspected_by(&d, 2, 1));
    assert!(!anyone_suspects(&d));
    let v = d.node(0).view();
    assert!(
        v.last_change.starts_with("trusts node 1 again since"),
        "{}",
        v.last_change
    );
    d.run_until(back + 5 * SEC);
    assert!(!anyone_suspects(&d));
}

#[test]
fn recovery_unsuspects_fixed() {
    recovery::<Heartbeat>(HeartbeatParams::default(), SEC);
}

#[test]
fn recovery_unsuspects_phi() {
    recovery::<PhiAccrual>(PhiAccrualParams::default(), SEC);
}

#[test]
fn recovery_counts_refuted_and_restarted_suspicions() {
    let mut d: Driver<Heartbeat> =
        Driver::new(3, HeartbeatParams::default(), fixed_latency(2 * MS, 3 * MS));
    d.run_until(SEC);
    d.crash(1);
    d.run_until(2 * SEC);
    d.boot(1);
    d.run_until(3 * SEC);
    let p = d.node(0).peer(1).unwrap();
    assert_eq!((p.suspicions, p.restarted, p.refuted), (1, 1, 0));
    // A pause of node 1 longer than the timeout: suspected, then refuted (same incarnation).
    d.paused_until[1] = 3 * SEC + 600 * MS;
    d.run_until(5 * SEC);
    let p = d.node(0).peer(1).unwrap();
    assert_eq!((p.suspicions, p.restarted, p.refuted), (2, 1, 1));
    let v = d.node(0).view();
    let notes: String = v
        .fields
        .iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect();
    assert!(notes.contains("1 refuted by a later heartbeat"), "{notes}");
}

#[test]
fn phi_grows_with_silence() {
    let p = PhiAccrualParams::default();
    let det = PhiAccrualDetector::new(&p);
    let mut w = Default::default();
    // Before any sample: not suspected until the bootstrap timeout.
    assert!(!det.assess(&w, p.bootstrap_ms * MS).1);
    assert!(det.assess(&w, p.bootstrap_ms * MS + 1).1);
    let mut rng = Rng::new(3);
    for _ in 0..200 {
        det.sample(&mut w, 90 * MS + rng.below(20 * MS));
    }
    let mut last = -1.0;
    let mut crossed = None;
    for ms in (0..2000).step_by(10) {
        let (phi, s) = det.assess(&w, ms * MS);
        assert!(phi.is_finite());
        if ms >= 200 {
            assert!(phi > last, "phi must grow: {last} then {phi} at {ms} ms");
        } else {
            assert!(phi >= last);
        }
        if s && crossed.is_none() {
            crossed = Some(ms);
        }
        assert_eq!(s, phi >= 8.0);
        last = phi;
    }
    // mean 100 + pause 100 + ~5.2 × σ(20 ms floor) ≈ 305 ms.
    let c = crossed.unwrap();
    assert!((280..=330).contains(&c), "{c}");
    // Extremes never overflow.
    for silence in [0, 1, u64::MAX / 2, u64::MAX] {
        let (phi, _) = det.assess(&w, silence);
        assert!(phi.is_finite() && phi >= 0.0);
    }
    // A sample longer than max_sample_ms is not learnt.
    let n = w.len();
    det.sample(&mut w, p.max_sample_ms * MS + 1);
    assert_eq!(w.len(), n);
    // The detection bound holds for the worst window: all samples at the cap, or
    // half at 0 and half at the cap.
    let bound = det.detection_bound();
    for pattern in [&[1u64][..], &[0, 1]] {
        let mut w = Default::default();
        for k in 0..p.window {
            det.sample(
                &mut w,
                pattern[k as usize % pattern.len()] * p.max_sample_ms * MS,
            );
        }
        assert!(det.assess(&w, bound).1, "{pattern:?}");
    }
}

#[test]
fn params_are_strict_and_default() {
    let p: PhiAccrualParams = serde_json::from_str(r#"{"threshold": 5.5}"#).unwrap();
    assert_eq!(p.threshold, 5.5);
    assert_eq!(p.interval_ms, 100);
    assert!(serde_json::from_str::<PhiAccrualParams>(r#"{"treshold": 5}"#).is_err());
    let h: HeartbeatParams = serde_json::from_str("{}").unwrap();
    assert_eq!(h, HeartbeatParams::default());
    assert_eq!((h.interval_ms, h.timeout_ms), (100, 300));
    assert!(serde_json::from_str::<HeartbeatParams>(r#"{"timeout": 5}"#).is_err());
    // Silly values are brought into range rather than breaking anything.
    let silly = PhiAccrualParams {
        threshold: f64::NAN,
        window: 0,
        interval_ms: 0,
        check_interval_ms: 0,
        min_std_dev_ms: 0,
        max_sample_ms: u64::MAX,
        bootstrap_ms: 0,
        acceptable_pause_ms: u64::MAX,
    };
    let mut d: Driver<PhiAccrual> = Driver::new(3, silly, fixed_latency(MS, MS));
    d.run_until(200 * MS);
    d.crash(2);
    d.run_until(SEC);
    let silly = HeartbeatParams {
        interval_ms: 0,
        timeout_ms: 0,
        check_interval_ms: u64::MAX,
    };
    let mut d: Driver<Heartbeat> = Driver::new(3, silly, fixed_latency(MS, MS));
    d.run_until(100 * MS);
}

#[test]
fn odd_messages_and_clients_never_panic() {
    let mut d: Driver<PhiAccrual> = Driver::new(
        3,
        PhiAccrualParams::default(),
        fixed_latency(2 * MS, 3 * MS),
    );
    d.run_until(SEC);
    let hb = |incarnation, seq, sent_at| FdMsg::Heartbeat {
        incarnation,
        seq,
        sent_at,
    };
    for (from, msg) in [
        (0, hb(1, 1, 0)),  // from itself
        (77, hb(5, 1, 0)), // from a stranger: ignored
        (u32::MAX, hb(0, u64::MAX, u64::MAX)),
        (1, hb(u64::MAX, u64::MAX, 0)), // a bogus incarnation of a real peer
        (1, hb(u64::MAX, 0, 0)),        // stale
    ] {
        d.run(0, |p, cx| p.on_message(cx, from, msg));
    }
    // An id no detector timer has is not a timer of its type (the host drops it).
    assert_eq!(<FdTimer as Timer>::from_id(12345), None);
    d.run(0, |p, cx| {
        p.on_client(
            cx,
            ClientRequest {
                client: 1,
                seq: 1,
                op: Op::Read { key: "x".into() },
            },
        )
    });
    assert_eq!(
        d.replies,
        vec![Outcome::Fail {
            reason: "failure detectors store no data".into()
        }]
    );
    assert!(d.node(0).peer(77).is_none());
    assert_eq!(d.node(0).strangers, 2);
    d.run_until(30 * SEC);
    assert!(!anyone_suspects(&d));
    assert_eq!(d.node(0).view().gauges.len(), 2);
}

#[test]
fn clock_jumps_and_pauses_keep_the_invariants() {
    jumps::<FixedTimeout>(HeartbeatParams::default());
    jumps::<PhiAccrualDetector>(PhiAccrualParams::default());
}

fn jumps<D: Detector>(params: D::Params) {
    let mut d: Driver<Fd<D>> = Driver::new(4, params, fixed_latency(2 * MS, 20 * MS));
    d.run_until(SEC);
    // Node 0's clock jumps 2 s ahead: it suspects everyone at its next check (the
    // lesson), then trusts them again as heartbeats arrive.
    d.offsets[0] += 2 * SEC as i64;
    d.run_until(SEC + 5 * MS);
    assert_eq!(d.node(0).suspicions(), 3);
    d.run_until(SEC + 200 * MS);
    assert!(!anyone_suspects(&d));
    // Node 1's clock jumps 10 s back: nothing breaks, nobody is suspected.
    d.offsets[1] -= 10 * SEC as i64;
    d.run_until(3 * SEC);
    assert!(!anyone_suspects(&d));
    // Node 3 crashes while node 1's clock is still behind: detected anyway.
    d.crash(3);
    d.run_until(20 * SEC);
    assert!((0..3).all(|o| suspected_by(&d, o, 3)));
    // Node 2 pauses for 30 s, meanwhile node 3 comes back and node 0 dies.
    d.paused_until[2] = 50 * SEC;
    d.run_until(21 * SEC);
    d.boot(3);
    d.run_until(25 * SEC);
    d.crash(0);
    d.run_until(60 * SEC);
    assert!((1..4).all(|o| suspected_by(&d, o, 0)));
    assert!((1..4).all(|o| (1..4).all(|t| t == o || !suspected_by(&d, o, t))));
}

#[test]
fn heavy_loss_and_partitions_never_trip_the_invariants() {
    for seed in 0..4u64 {
        let lat: Latency = Box::new(move |rng, from, to, now| {
            // A partition {0,1} | {2,3,4} from 3 s to 6 s, 30 % loss, long tails.
            let side = |n: NodeId| n < 2;
            if (3 * SEC..6 * SEC).contains(&now) && side(from) != side(to) {
                return None;
            }
            if rng.chance(0.3) {
                return None;
            }
            let tail = if rng.chance(0.05) {
                rng.below(2 * SEC)
            } else {
                0
            };
            Some(MS + rng.below(30 * MS) + tail + seed)
        });
        let mut d: Driver<PhiAccrual> = Driver::new(5, PhiAccrualParams::default(), lat);
        d.run_until(4 * SEC);
        assert!(d.node(0).suspects(3) && d.node(3).suspects(0));
        d.crash(4);
        d.run_until(15 * SEC);
        assert!((0..4).all(|o| suspected_by(&d, o, 4)));
        assert!(d.events > 1000);
    }
}
