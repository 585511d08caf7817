//! Hosting one node: its clock, its timers, its seeded RNG, and running its events for
//! one window of simulated time. The same code runs inside the simulator's own loop
//! and inside a Web Worker (`crates/worker`), which is what makes both produce the
//! same trace.

use quorumlab_core::{
    ClientRequest, Ctx, Effect, MembershipChange, NodeId, Protocol, Rng, Time, Timer, TimerId,
    Violation,
};
use serde::{Deserialize, Serialize};

/// A node's clock: local time runs at `1 + ppm / 1e6` times true time from an anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Clock {
    pub anchor_true: Time,
    pub anchor_local: i64,
    pub ppm: i64,
}

impl Clock {
    /// Local time at true time `t`, never below zero.
    pub fn local(&self, t: Time) -> Time {
        if self.ppm == 0 {
            return (self.anchor_local + t.saturating_sub(self.anchor_true) as i64).max(0) as Time;
        }
        let dt = t.saturating_sub(self.anchor_true);
        // In 64 bits while the product fits (any run shorter than about a day); the
        // same result as the 128-bit formula, which WebAssembly computes slowly.
        if let Ok(dt64) = i64::try_from(dt) {
            if let Some(p) = dt64.checked_mul(1_000_000 + self.ppm) {
                let l = self.anchor_local as i128 + (p / 1_000_000) as i128;
                return l.max(0) as Time;
            }
        }
        let l = self.anchor_local as i128 + dt as i128 * (1_000_000 + self.ppm as i128) / 1_000_000;
        l.max(0) as Time
    }
    /// True duration that `after` local microseconds take (at least 1).
    pub fn true_after(&self, after: Time) -> Time {
        if self.ppm == 0 {
            return after.max(1);
        }
        let rate = (1_000_000 + self.ppm).max(1) as u64;
        if let Some(p) = after.checked_mul(1_000_000) {
            return p.div_ceil(rate).max(1);
        }
        ((after as u128 * 1_000_000).div_ceil(rate as u128)).max(1) as Time
    }
    /// Jump by `skew` microseconds and run at `ppm` from true time `t` on.
    pub fn adjust(&mut self, t: Time, skew: i64, ppm: i64) {
        let now = self.local(t) as i64;
        *self = Clock {
            anchor_true: t,
            anchor_local: now + skew,
            ppm,
        };
    }
    /// Offset of local from true time at `t`, in microseconds.
    pub fn offset(&self, t: Time) -> i64 {
        self.local(t) as i64 - t as i64
    }
}

/// What a node reacts to from outside.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Input<P: Protocol> {
    Msg {
        from: NodeId,
        msg: P::Msg,
    },
    Client(ClientRequest),
    /// (Re)build the node from `disk` (or blank) and run `start`.
    Boot {
        members: Vec<NodeId>,
        disk: Option<Box<P::Disk>>,
    },
    /// A membership change asked of whichever node leads.
    Admin(MembershipChange),
}

/// What the node did at one moment: the cause and the effects it asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cause {
    Timer(TimerId),
    /// The `k`th input of the window's batch for this node.
    Input(u32),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    pub time: Time,
    pub cause: Cause,
    /// Range in the window's effect list.
    pub effects: (u32, u32),
    /// For an [`Input::Admin`]: whether this node took the change.
    pub admin: Option<Result<(), String>>,
}

/// Everything about a node except its protocol state: the part that survives nothing
/// but is needed to run it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Host {
    pub id: NodeId,
    /// How many times the node booted; seeds a fresh RNG stream each time.
    pub incarnation: u32,
    pub rng: Rng,
    /// Armed timers with their true-time deadlines, in arming order.
    pub timers: Vec<(TimerId, Time)>,
    pub clock: Clock,
    /// While paused, nothing runs before this true time.
    pub paused_until: Time,
    /// Whether the node led after its last event (for a nemesis that aims at leaders).
    pub leader: bool,
    /// The node's epoch (term, ballot round) after its last event.
    pub epoch: u64,
    /// When it last changed: the time of the event after which the node was in
    /// `epoch` (the split-brain analysis dates a write's acceptance by it).
    pub epoch_since: Time,
    /// When the node last started to lead (meaningful while `leader`).
    pub leader_since: Time,
    /// The length of the node's log after its last event.
    pub log_len: u64,
    /// Whom the node suspects after its last event (a bit per node).
    pub suspects: u64,
}

/// The invariant check run after each event of a job: the cluster's states, the node
/// that just stepped and the time.
pub type CheckFn<'a, P> = dyn FnMut(&[Option<P>], NodeId, Time) -> Result<(), Violation> + 'a;

/// One job per node with work in a window.
pub type Jobs<P> = Vec<(NodeId, Job<P>)>;

/// A node's events for one window: what the simulator hands to wherever the node
/// runs (its own loop, or a Web Worker), together with the node's host.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Job<P: Protocol> {
    pub host: Host,
    pub inputs: Vec<(Time, Input<P>)>,
    pub end: Time,
}

/// What came back from running a [`Job`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct JobResult<P: Protocol> {
    pub host: Host,
    pub records: Vec<Record>,
    pub effects: Vec<Effect<P>>,
    /// Inputs the job had, described for the trace hash: `(from, kind hash, client)`.
    pub inputs: Vec<InputMeta>,
    pub violation: Option<(Time, Violation)>,
}

/// What the trace hash needs to know of an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputMeta {
    pub tag: u8,
    pub from: NodeId,
    pub kind: u64,
    pub client: u32,
    pub seq: u64,
}

impl InputMeta {
    pub fn of<P: Protocol>(i: &Input<P>) -> InputMeta {
        use crate::hash::StableHasher;
        match i {
            // The message itself was hashed when it was sent (with its arrival time).
            Input::Msg { from, .. } => InputMeta {
                tag: 0,
                from: *from,
                kind: 0,
                client: 0,
                seq: 0,
            },
            Input::Client(r) => InputMeta {
                tag: 1,
                from: 0,
                kind: 0,
                client: r.client,
                seq: r.seq,
            },
            Input::Boot { disk, .. } => InputMeta {
                tag: 2,
                from: 0,
                kind: disk.is_some() as u64,
                client: 0,
                seq: 0,
            },
            Input::Admin(c) => InputMeta {
                tag: 3,
                from: 0,
                kind: StableHasher::of(c),
                client: 0,
                seq: 0,
            },
        }
    }
}

impl Host {
    pub fn new(id: NodeId, seed: u64) -> Host {
        Host {
            id,
            incarnation: 0,
            rng: Rng::derive(seed, 1000 + id as u64),
            timers: Vec::new(),
            clock: Clock::default(),
            paused_until: 0,
            leader: false,
            epoch: 0,
            epoch_since: 0,
            leader_since: 0,
            log_len: 0,
            suspects: 0,
        }
    }

    /// The earliest armed timer.
    pub fn next_timer(&self) -> Option<Time> {
        self.timers.iter().map(|t| t.1).min()
    }

    fn pop_timer_before(&mut self, end: Time) -> Option<(TimerId, Time)> {
        let mut best: Option<usize> = None;
        for (i, t) in self.timers.iter().enumerate() {
            if t.1 < end && best.is_none_or(|b| t.1 < self.timers[b].1) {
                best = Some(i);
            }
        }
        best.map(|i| self.timers.remove(i))
    }

    fn absorb_timers<P: Protocol>(&mut self, now: Time, effects: &[Effect<P>]) {
        for e in effects {
            match e {
                Effect::SetTimer { timer, after } => {
                    let at = now + self.clock.true_after(*after);
                    match self.timers.iter_mut().find(|t| t.0 == *timer) {
                        Some(t) => t.1 = at,
                        None => self.timers.push((*timer, at)),
                    }
                }
                Effect::CancelTimer { timer } => self.timers.retain(|t| t.0 != *timer),
                _ => {}
            }
        }
    }

    /// The node crashed: every timer is gone.
    pub fn crash(&mut self) {
        self.leader = false;
        self.suspects = 0;
        self.timers.clear();
        self.paused_until = 0;
    }

    /// The node is about to boot again: a fresh RNG stream, no timers.
    pub fn reboot(&mut self, seed: u64) {
        self.incarnation += 1;
        self.rng = Rng::derive(
            seed,
            ((self.incarnation as u64) << 32) | (1000 + self.id as u64),
        );
        self.timers.clear();
        self.paused_until = 0;
    }

    /// A pause ended at `at`: overdue timers fire now.
    pub fn resume(&mut self, at: Time) {
        self.paused_until = 0;
        for t in &mut self.timers {
            t.1 = t.1.max(at);
        }
    }

    /// Run the node's events with times before `end`: its `inputs` (sorted by time, in
    /// the order the simulator queued them) merged with its own timers, timers first at
    /// equal times. Effects go to `effects`, one [`Record`] per handled event to
    /// `records`. `check` runs after every event (the simulator checks invariants there;
    /// a worker passes a no-op). Stops at the first violation.
    #[allow(clippy::too_many_arguments)]
    pub fn run_window<P: Protocol>(
        &mut self,
        states: &mut [Option<P>],
        slot: usize,
        params: &P::Params,
        inputs: &mut Vec<(Time, Input<P>)>,
        end: Time,
        effects: &mut Vec<Effect<P>>,
        records: &mut Vec<Record>,
        check: &mut CheckFn<'_, P>,
    ) -> Result<(), (Time, Violation)> {
        let mut next_input = 0usize;
        loop {
            let ti = inputs.get(next_input).map(|x| x.0).filter(|t| *t < end);
            let tt = self.timers.iter().map(|t| t.1).filter(|t| *t < end).min();
            let (time, cause) = match (tt, ti) {
                (None, None) => break,
                (Some(t), i) if i.is_none_or(|i| t <= i) => {
                    let Some((id, _)) = self.pop_timer_before(end) else {
                        break;
                    };
                    (t, Cause::Timer(id))
                }
                (_, Some(i)) => {
                    next_input += 1;
                    (i, Cause::Input(next_input as u32 - 1))
                }
                _ => break,
            };
            let input = match &cause {
                Cause::Input(k) => Some(std::mem::replace(
                    &mut inputs[*k as usize].1,
                    Input::Client(PLACEHOLDER),
                )),
                _ => None,
            };
            if let Some(Input::Boot { members, disk }) = &input {
                states[slot] = Some(P::boot(self.id, members, params, disk.as_deref()));
            }
            let Some(node) = states[slot].as_mut() else {
                // A crashed node hears nothing.
                continue;
            };
            let start = effects.len();
            let mut cx = Ctx::new(self.id, self.clock.local(time), &mut self.rng, effects);
            let mut admin = None;
            match input {
                None => {
                    // Every armed id is the protocol's own (`Ctx::set_timer` takes its type).
                    if let Some(t) = match cause {
                        Cause::Timer(id) => <P::Timer as Timer>::from_id(id),
                        _ => None,
                    } {
                        node.on_timer(&mut cx, t)
                    }
                }
                Some(Input::Msg { from, msg }) => node.on_message(&mut cx, from, msg),
                Some(Input::Client(req)) => node.on_client(&mut cx, req),
                Some(Input::Boot { .. }) => node.start(&mut cx),
                Some(Input::Admin(change)) => admin = Some(node.change_membership(&mut cx, change)),
            }
            let leader = node.is_leader();
            if leader && !self.leader {
                self.leader_since = time;
            }
            self.leader = leader;
            let epoch = node.epoch();
            if epoch != self.epoch {
                (self.epoch, self.epoch_since) = (epoch, time);
            }
            self.log_len = node.log_len();
            self.suspects = node.suspects();
            self.absorb_timers(time, &effects[start..]);
            records.push(Record {
                time,
                cause,
                effects: (start as u32, effects.len() as u32),
                admin,
            });
            check(states, self.id, time).map_err(|v| (time, v))?;
        }
        inputs.clear();
        Ok(())
    }
}

/// Run a job on a node whose state is `state` (the simulator's own loop passes the
/// whole cluster and a checker; a worker passes its one node and no checker).
pub fn run_job<P: Protocol>(
    states: &mut [Option<P>],
    slot: usize,
    params: &P::Params,
    job: Job<P>,
    check: &mut CheckFn<'_, P>,
) -> JobResult<P> {
    let Job {
        mut host,
        mut inputs,
        end,
    } = job;
    let meta = inputs.iter().map(|(_, i)| InputMeta::of(i)).collect();
    let mut effects = Vec::new();
    let mut records = Vec::new();
    let violation = host
        .run_window(
            states,
            slot,
            params,
            &mut inputs,
            end,
            &mut effects,
            &mut records,
            check,
        )
        .err();
    JobResult {
        host,
        records,
        effects,
        inputs: meta,
        violation,
    }
}

const PLACEHOLDER: ClientRequest = ClientRequest {
    client: 0,
    seq: 0,
    op: quorumlab_core::Op::Read { key: String::new() },
};

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn clock_skew_and_drift() {
        let mut c = Clock::default();
        assert_eq!(c.local(1000), 1000);
        c.adjust(1000, 500, 100_000); // +0.5 ms, 10% fast
        assert_eq!(c.local(1000), 1500);
        assert_eq!(c.local(2000), 2600);
        assert_eq!(c.true_after(1100), 1000);
        assert_eq!(c.offset(2000), 600);
        c.adjust(2000, -5000, 0);
        assert_eq!(c.local(2000), 0);
    }
}

#[cfg(test)]
mod clock_tests {
    use super::Clock;
    use quorumlab_core::Rng;

    /// The 64-bit fast paths give the 128-bit formulas' results.
    #[test]
    fn clock_arithmetic_matches_the_wide_formulas() {
        let mut r = Rng::new(5);
        for _ in 0..20_000 {
            let c = Clock {
                anchor_true: r.below(1 << 40),
                anchor_local: r.below(1 << 40) as i64 - (1 << 39),
                ppm: r.below(1_800_001) as i64 - 900_000,
            };
            let t = c.anchor_true + r.below(1 << 42);
            let dt = (t - c.anchor_true) as i128;
            let wide =
                (c.anchor_local as i128 + dt * (1_000_000 + c.ppm as i128) / 1_000_000).max(0);
            assert_eq!(c.local(t) as i128, wide, "{c:?} at {t}");
            let after = r.below(1 << 44);
            let rate = (1_000_000 + c.ppm).max(1) as u128;
            let wide = ((after as u128 * 1_000_000).div_ceil(rate)).max(1);
            assert_eq!(c.true_after(after) as u128, wide, "{c:?} after {after}");
        }
    }
}
