//! Failure detectors as pure protocols: every node sends a heartbeat to every other
//! node every `interval_ms`, and decides from what it hears which peers it suspects.
//!
//! * [`Heartbeat`] (`heartbeat`): suspect a peer after a fixed timeout of silence.
//! * [`PhiAccrual`] (`phi-accrual`): suspect a peer when phi, the improbability of the
//!   silence under the learnt distribution of its heartbeat inter-arrival times,
//!   reaches a threshold.
//!
//! Both are [`Fd`] with a different [`Detector`]; the heartbeat machinery is shared.
//!
//! Time. A node only has its local clock, which the simulator may skew (a jump) or
//! make drift. The detector reads it through a *monotonic guard*: forward progress
//! counts, a backward jump counts as no time at all. So a forward jump makes a node
//! suspect everyone at once (a lesson), a backward jump delays detection by nothing
//! more than the jump; drift scales every timeout (a slow clock detects late).
//!
//! Incarnations. Every boot draws a random incarnation number; heartbeats carry it,
//! a sequence number and the sender's send time. A receiver ignores a heartbeat whose
//! sequence number is not above the last one it took from that incarnation (a
//! duplicate or a late, reordered one), so it never samples a bogus inter-arrival time.
//!
//! Evaluation. Suspicion is re-evaluated on a periodic check timer, on every heartbeat
//! (for its sender), and at the start of any handler that runs more than one check
//! period after the last evaluation (after a pause, say). So after every event the
//! last evaluation is less than one check period old, which makes the
//! "suspicion-consistent" invariant exact (see [`check`]).

pub mod check;
pub mod detector;
pub mod math;

pub use check::{FdMonitor, EVENTUAL_COMPLETENESS, INVARIANTS, SUSPICION_CONSISTENT};
pub use detector::{
    Detector, FixedTimeout, HeartbeatParams, PhiAccrual as PhiAccrualDetector, PhiAccrualParams,
    Window,
};

use crate::{
    ClientReply, ClientRequest, Ctx, EdgeMark, Gauge, Message, NodeId, NodeView, Outcome, Protocol,
    Role, RoleKind, Time, Violation, MS, SEC,
};
use serde::{Deserialize, Serialize};

/// The fixed-timeout heartbeat detector, `heartbeat`.
pub type Heartbeat = Fd<FixedTimeout>;
/// The phi-accrual detector, `phi-accrual`.
pub type PhiAccrual = Fd<detector::PhiAccrual>;

crate::timers!(
    /// A failure detector's timers.
    FdTimer {
        /// Send the next round of heartbeats.
        Heartbeat = 1,
        /// Re-evaluate suspicion of every peer.
        Check = 2,
    }
);
pub const TIMER_HEARTBEAT: FdTimer = FdTimer::Heartbeat;
pub const TIMER_CHECK: FdTimer = FdTimer::Check;

/// What failure-detector nodes say to each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FdMsg {
    /// "I am alive": the sender's incarnation (random per boot), a sequence number
    /// (1, 2, ... per incarnation) and the sender's local time when it sent it.
    Heartbeat {
        incarnation: u64,
        seq: u64,
        sent_at: Time,
    },
}

impl Message for FdMsg {
    fn kind(&self) -> &'static str {
        match self {
            FdMsg::Heartbeat { .. } => "heartbeat",
        }
    }

    fn describe(&self) -> String {
        match self {
            FdMsg::Heartbeat { seq, .. } => crate::label("heartbeat #{}", "", &[*seq as i64]),
        }
    }
}

/// A failure detector keeps nothing on disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdDisk {}

/// There are no durable writes (an enum without variants: none can be made).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FdWrite {}

/// The last heartbeat taken from a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heard {
    /// Monotonic local time of arrival.
    pub at: Time,
    /// Raw local time of arrival (what the view shows).
    pub local: Time,
    /// The sender's local time when it sent it.
    pub sent_at: Time,
}

/// What one node knows and thinks of one peer.
#[derive(Clone, Debug)]
pub struct Peer<S> {
    pub id: NodeId,
    /// Incarnation of the last heartbeat taken (`None`: never heard).
    pub incarnation: Option<u64>,
    /// Highest sequence number taken from that incarnation.
    pub max_seq: u64,
    pub heard: Option<Heard>,
    /// What the detector learnt.
    pub stats: S,
    /// Verdict and level at `eval_at`.
    pub suspected: bool,
    pub level: f64,
    /// Monotonic local time of the last evaluation.
    pub eval_at: Time,
    /// When the current verdict began: (monotonic, raw local); `None`: since boot.
    pub since: Option<(Time, Time)>,
    /// Transitions to suspected.
    pub suspicions: u64,
    /// Suspicions ended by a later heartbeat of the same incarnation (or a first one):
    /// the peer had not crashed, so the suspicion was false.
    pub refuted: u64,
    /// Suspicions ended by a heartbeat of a new incarnation: the peer did restart.
    pub restarted: u64,
    /// Heartbeats taken, and ignored as duplicate or stale.
    pub taken: u64,
    pub stale: u64,
}

impl<S: Default> Peer<S> {
    fn new(id: NodeId, now: Time) -> Self {
        Peer {
            id,
            incarnation: None,
            max_seq: 0,
            heard: None,
            stats: S::default(),
            suspected: false,
            level: 0.0,
            eval_at: now,
            since: None,
            suspicions: 0,
            refuted: 0,
            restarted: 0,
            taken: 0,
            stale: 0,
        }
    }
}

/// A failure-detector node with suspicion strategy `D`.
#[derive(Clone, Debug)]
pub struct Fd<D: Detector> {
    pub id: NodeId,
    pub det: D,
    /// Random per boot, drawn in `start`.
    pub incarnation: u64,
    /// Sequence number of the last heartbeat round sent.
    pub seq: u64,
    pub started: bool,
    /// Last raw local time seen, and the monotonic local time built from it.
    pub raw: Time,
    pub now: Time,
    /// Monotonic / raw local time of `start`.
    pub booted_at: Time,
    pub booted_local: Time,
    /// Monotonic local time of the last evaluation of every peer.
    pub last_eval: Time,
    /// Every other member, sorted by id.
    pub peers: Vec<Peer<D::Stats>>,
    /// Heartbeats ignored because their sender is not a member.
    pub strangers: u64,
}

fn secs(t: Time) -> String {
    format!("{}.{:03} s", t / SEC, (t % SEC) / MS)
}

fn millis(t: Time) -> String {
    format!("{} ms", t / MS)
}

impl<D: Detector> Fd<D> {
    /// Advance the monotonic clock to the raw local time `raw`.
    fn tick(&mut self, raw: Time) {
        if raw > self.raw {
            self.now = self.now.saturating_add(raw - self.raw);
        }
        self.raw = raw;
    }

    /// Start of every handler: read the clock and catch up an overdue evaluation.
    fn enter(&mut self, cx: &Ctx<'_, Self>) {
        self.tick(cx.now());
        if self.now.saturating_sub(self.last_eval) >= self.det.check_period() {
            self.evaluate_all();
        }
    }

    /// Monotonic time from which a peer's silence is counted.
    pub fn silent_since(&self, p: &Peer<D::Stats>) -> Time {
        p.heard.map_or(self.booted_at, |h| h.at)
    }

    /// Re-evaluate peer `k` now; returns whether it went from suspected to trusted.
    fn evaluate(&mut self, k: usize) -> bool {
        let now = self.now;
        let raw = self.raw;
        let since = self.silent_since(&self.peers[k]);
        let p = &mut self.peers[k];
        let (level, suspected) = self.det.assess(&p.stats, now.saturating_sub(since));
        p.level = level;
        p.eval_at = now;
        let cleared = p.suspected && !suspected;
        if p.suspected != suspected {
            p.suspected = suspected;
            p.since = Some((now, raw));
            if suspected {
                p.suspicions += 1;
            }
        }
        cleared
    }

    fn evaluate_all(&mut self) {
        for k in 0..self.peers.len() {
            self.evaluate(k);
        }
        self.last_eval = self.now;
    }

    fn send_heartbeats(&mut self, cx: &mut Ctx<'_, Self>) {
        self.seq += 1;
        for p in &self.peers {
            cx.send(
                p.id,
                FdMsg::Heartbeat {
                    incarnation: self.incarnation,
                    seq: self.seq,
                    sent_at: cx.now(),
                },
            );
        }
    }

    fn on_heartbeat(&mut self, from: NodeId, incarnation: u64, seq: u64, sent_at: Time) {
        let Ok(k) = self.peers.binary_search_by_key(&from, |p| p.id) else {
            // Not a member: nobody this node watches (or sends to).
            self.strangers += 1;
            return;
        };
        let now = self.now;
        let raw = self.raw;
        let det = &self.det;
        let p = &mut self.peers[k];
        let same = p.incarnation == Some(incarnation);
        let restart = p.incarnation.is_some() && !same;
        if same && seq <= p.max_seq {
            p.stale += 1;
            return;
        }
        if same {
            if let Some(h) = p.heard {
                det.sample(&mut p.stats, now.saturating_sub(h.at));
            }
        }
        p.incarnation = Some(incarnation);
        p.max_seq = seq;
        p.heard = Some(Heard {
            at: now,
            local: raw,
            sent_at,
        });
        p.taken += 1;
        if self.evaluate(k) {
            let p = &mut self.peers[k];
            if restart {
                p.restarted += 1;
            } else {
                p.refuted += 1;
            }
        }
    }

    /// Transitions to suspected so far, over all peers.
    pub fn suspicions(&self) -> u64 {
        self.peers.iter().map(|p| p.suspicions).sum()
    }

    /// The peer record of `node`, if it is a peer.
    pub fn peer(&self, node: NodeId) -> Option<&Peer<D::Stats>> {
        self.peers
            .binary_search_by_key(&node, |p| p.id)
            .ok()
            .map(|k| &self.peers[k])
    }

    /// The node's view of `node`: suspected or not.
    pub fn suspects(&self, node: NodeId) -> bool {
        self.peer(node).is_some_and(|p| p.suspected)
    }

    fn describe_peer(&self, p: &Peer<D::Stats>) -> String {
        let silence = p.eval_at.saturating_sub(self.silent_since(p));
        let mut s = match (p.suspected, p.since) {
            (true, Some((_, at))) => format!(
                "suspected since {} ({} without a heartbeat at the last check)",
                secs(at),
                millis(silence)
            ),
            (false, Some((_, at))) => format!("trusted again since {}", secs(at)),
            (_, None) => "trusted since boot".to_string(),
        };
        if p.suspicions > 0 {
            s += &format!(
                "; {} suspicion(s), {} refuted, {} ended by a restart",
                p.suspicions, p.refuted, p.restarted
            );
        }
        if let Some(d) = self.det.describe(&p.stats) {
            s += "; ";
            s += &d;
        }
        s
    }

    fn last_change(&self) -> String {
        let latest = self
            .peers
            .iter()
            .filter_map(|p| p.since.map(|s| (s.0, p)))
            .fold(None::<(Time, &Peer<D::Stats>)>, |best, (t, p)| match best {
                Some((bt, _)) if bt >= t => best,
                _ => Some((t, p)),
            });
        match latest {
            None => format!("up since {}, trusting every peer", secs(self.booted_local)),
            Some((_, p)) => {
                let at = p.since.map_or(0, |s| s.1);
                if p.suspected {
                    let silence = p.eval_at.saturating_sub(self.silent_since(p));
                    format!(
                        "suspects node {} since {} (no heartbeat for {})",
                        p.id,
                        secs(at),
                        millis(silence)
                    )
                } else {
                    format!("trusts node {} again since {}", p.id, secs(at))
                }
            }
        }
    }
}

impl<D: Detector> Protocol for Fd<D> {
    const NAME: &'static str = D::NAME;
    const SUMMARY: &'static str = D::SUMMARY;
    const DATA_TYPE: crate::DataType = crate::DataType::NONE;
    const PARAMS: &'static [crate::ParamSpec] = D::PARAMS;
    type Params = D::Params;
    type Msg = FdMsg;
    type Disk = FdDisk;
    type Write = FdWrite;
    type Monitor = FdMonitor;
    type Timer = FdTimer;

    fn apply_write(_: &mut FdDisk, write: FdWrite) {
        match write {}
    }

    fn boot(id: NodeId, members: &[NodeId], params: &D::Params, _: Option<&FdDisk>) -> Self {
        let mut ids: Vec<NodeId> = members.iter().copied().filter(|&m| m != id).collect();
        ids.sort_unstable();
        ids.dedup();
        Fd {
            id,
            det: D::new(params),
            incarnation: 0,
            seq: 0,
            started: false,
            raw: 0,
            now: 0,
            booted_at: 0,
            booted_local: 0,
            last_eval: 0,
            peers: ids.into_iter().map(|m| Peer::new(m, 0)).collect(),
            strangers: 0,
        }
    }

    fn start(&mut self, cx: &mut Ctx<'_, Self>) {
        self.raw = cx.now();
        self.now = cx.now();
        self.booted_at = self.now;
        self.booted_local = self.raw;
        self.started = true;
        self.incarnation = cx.rng().next_u64();
        self.evaluate_all();
        self.send_heartbeats(cx);
        cx.set_timer(TIMER_HEARTBEAT, self.det.interval());
        cx.set_timer(TIMER_CHECK, self.det.check_period());
    }

    fn on_message(&mut self, cx: &mut Ctx<'_, Self>, from: NodeId, msg: FdMsg) {
        self.enter(cx);
        if from == self.id {
            return;
        }
        match msg {
            FdMsg::Heartbeat {
                incarnation,
                seq,
                sent_at,
            } => self.on_heartbeat(from, incarnation, seq, sent_at),
        }
    }

    fn on_timer(&mut self, cx: &mut Ctx<'_, Self>, timer: FdTimer) {
        self.enter(cx);
        match timer {
            TIMER_HEARTBEAT => {
                self.send_heartbeats(cx);
                cx.set_timer(TIMER_HEARTBEAT, self.det.interval());
            }
            TIMER_CHECK => {
                self.evaluate_all();
                cx.set_timer(TIMER_CHECK, self.det.check_period());
            }
        }
    }

    fn on_client(&mut self, cx: &mut Ctx<'_, Self>, req: ClientRequest) {
        self.enter(cx);
        cx.reply(ClientReply {
            client: req.client,
            seq: req.seq,
            outcome: Outcome::Fail {
                reason: "failure detectors store no data".into(),
            },
            at: None,
        });
    }

    fn suspects(&self) -> u64 {
        self.peers
            .iter()
            .filter(|p| p.suspected && p.id < 64)
            .fold(0, |m, p| m | 1 << p.id)
    }

    fn view(&self) -> NodeView {
        let mut members: Vec<NodeId> = self.peers.iter().map(|p| p.id).collect();
        if let Err(k) = members.binary_search(&self.id) {
            members.insert(k, self.id);
        }
        let threshold = self.det.threshold();
        let gauges = self
            .peers
            .iter()
            .map(|p| Gauge {
                node: p.id,
                label: D::LEVEL.into(),
                value: p.level,
                max: threshold,
                flagged: p.suspected,
            })
            .collect();
        let edges = self
            .peers
            .iter()
            .filter(|p| p.suspected)
            .map(|p| EdgeMark {
                to: p.id,
                label: "suspects".into(),
            })
            .collect();
        let total = |f: fn(&Peer<D::Stats>) -> u64| self.peers.iter().map(f).sum::<u64>();
        let suspicions = total(|p| p.suspicions);
        let open = total(|p| p.suspected as u64);
        let mut notes = vec![
            (
                "heartbeats".to_string(),
                format!(
                    "{} rounds sent, {} taken, {} ignored as duplicate or stale, {} from \
                     non-members",
                    self.seq,
                    total(|p| p.taken),
                    total(|p| p.stale),
                    self.strangers
                ),
            ),
            (
                "suspicions".to_string(),
                format!(
                    "{suspicions} so far: {} refuted by a later heartbeat (false), {} ended by a \
                     restart (true), {open} still open",
                    total(|p| p.refuted),
                    total(|p| p.restarted)
                ),
            ),
            ("threshold".to_string(), format!("{threshold}")),
        ];
        if self.raw != self.now {
            notes.push((
                "clock".to_string(),
                format!(
                    "local clock went back; the detector's monotonic clock reads {}",
                    secs(self.now)
                ),
            ));
        }
        for p in &self.peers {
            notes.push((format!("node {}", p.id), self.describe_peer(p)));
        }
        NodeView {
            role: Role::new("up", RoleKind::Neutral),
            fields: notes,
            members,
            gauges,
            edges,
            last_change: self.last_change(),
            ..NodeView::default()
        }
    }

    fn invariants() -> &'static [&'static str] {
        INVARIANTS
    }

    fn check(
        monitor: &mut FdMonitor,
        changed: NodeId,
        nodes: &[Option<Self>],
        now: Time,
    ) -> Result<(), Violation> {
        monitor.check(changed, nodes, now)
    }
}
