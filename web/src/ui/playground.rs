//! The playground component: owns the session and everything the user is doing.

use super::browser::{self, Frames, Key, Listeners};
use super::edit;
use super::embed::{self, Command};
use super::gallery;
use super::layout;
use super::session::{ceil_ms, Session};
use super::undo::Undo;
use super::views;
use super::workers::{runtime_from_query, Mirror, Runtime, WorkerStatus};
use crate::analysis::{Analyst, Answer};
use quorumlab_core::{NodeId, Op, Time, MS};
use quorumlab_sim::analysis::Request;
use quorumlab_sim::run::Check;
use quorumlab_sim::scenario::{FaultKind, Scenario};
use quorumlab_sim::Status;
use serde_json::Value;
use std::collections::BTreeMap;
use yew::prelude::*;

/// Engine events handled per animation frame at most, so a big cluster stays smooth.
pub const FRAME_BUDGET: u64 = 4_000;
/// Speeds offered, in simulated milliseconds per wall-clock second.
pub const SPEEDS: &[f64] = &[
    2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
];
pub const DEFAULT_SPEED: f64 = 50.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Node,
    Edit,
    Console,
    Cap,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ConsoleOp {
    Read,
    Write,
    Cas,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConsoleForm {
    pub node: NodeId,
    pub op: ConsoleOp,
    pub key: String,
    pub value: String,
    pub expect: String,
}

/// A CAP comparison: the registry's variants of the scenario's protocol.
pub use quorumlab_sim::registry::Variant;

/// The comparisons the CAP panel offers for a scenario's protocol (its registry line).
pub fn variants_for(s: &Scenario) -> &'static [Variant] {
    quorumlab_sim::registry::entry(&s.protocol.name)
        .map(|e| e.listing.compare)
        .unwrap_or(&[])
}

// Messages are moved once each; boxing the big ones would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Msg {
    Frame(f64),
    TogglePlay,
    Play,
    Pause,
    Step,
    Speed(f64),
    RunToEnd,
    Reset,
    Seek(Time),
    /// An anomaly of the list was clicked: go to its moment and show its operations.
    ShowAnomaly(usize, Time),
    Select(Option<NodeId>),
    /// The mouse is over this node (canvas or cluster table), or over none.
    Hover(Option<NodeId>),
    /// A click on the cluster table's column heading.
    Sort(usize),
    Act(FaultKind),
    Edit(Result<Scenario, String>),
    Load(Box<Scenario>),
    Undo,
    Redo,
    CopyLink,
    NodeDown(NodeId, f64, f64),
    CanvasMove(f64, f64),
    CanvasUp,
    SelectLink(Option<(NodeId, NodeId)>),
    Group(NodeId, u8),
    ApplyPartition,
    Tab(Tab),
    FaultSelect(Option<usize>),
    FaultDown(usize, f64),
    TimelineDown(f64),
    TimelineMove(f64),
    TimelineUp,
    Console(ConsoleForm),
    ConsoleSend,
    Key(Key),
    Message(Result<Value, String>),
    DismissError,
    Compare(Option<Variant>),
    Window(f64),
    ShowJson(bool),
    /// Check the history so far (operations still pending may have taken effect).
    CheckNow,
    /// The analysis worker answered (see [`crate::analysis`]).
    Analysed(Answer),
    /// Partition drawing on the canvas on or off.
    DrawPartition(bool),
    /// The address's fragment changed (a share link opened in this tab).
    Hash(String),
    /// The Web Worker run moved on, ended or failed.
    Workers(WorkerStatus),
    /// The Embed dialog opened (with the run's share link) or closed.
    EmbedForm(Option<String>),
    /// A preset's file arrived (`gallery::fetch_all`).
    Preset(usize, Result<String, String>),
}

pub struct Drag {
    pub node: NodeId,
    pub start: (f64, f64),
    pub moved: bool,
    pub before: Scenario,
}

pub struct FaultDrag {
    pub index: usize,
    pub start_x: f64,
    pub at_ms: u64,
    pub moved: bool,
}

pub struct Playground {
    pub session: Session,
    pub undo: Undo<Scenario>,
    pub playing: bool,
    pub speed: f64,
    last_frame: Option<f64>,
    carry: f64,
    pub selected: Option<NodeId>,
    /// The node under the mouse, on the canvas or in the cluster table.
    pub hover: Option<NodeId>,
    /// The cluster table's sort: column and descending.
    pub sort: (usize, bool),
    pub drag: Option<Drag>,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub link: Option<String>,
    pub tab: Tab,
    pub groups: BTreeMap<NodeId, u8>,
    /// Dragging a node across the canvas's middle line puts it in group A or B.
    pub draw_partition: bool,
    pub link_sel: Option<(NodeId, NodeId)>,
    pub fault_sel: Option<usize>,
    pub fault_drag: Option<FaultDrag>,
    pub scrubbing: bool,
    pub console: ConsoleForm,
    pub verdict: Option<Check>,
    /// Simulated time of the history the verdict is about.
    pub verdict_at: Time,
    /// The anomalies of the run up to `verdict_at` (computed with the verdict; shown
    /// only while there is one).
    pub anomalies: quorumlab_sim::anomaly::Anomalies,
    /// The moment of the run whose analysis was asked for last (its answer is awaited
    /// while `verdict_at` is older).
    pub asked: Option<Time>,
    analyst: Analyst,
    /// A challenge's attempts run to the end so far, and the trace hash of the last one
    /// counted (an attempt counts once, however often it is replayed).
    pub attempts: u32,
    counted: Option<u64>,
    /// The anomaly whose operations are shown (index in `anomalies.list`).
    pub anomaly_sel: Option<usize>,
    pub compare: Option<(Variant, Session)>,
    pub window_ms: f64,
    pub presets: Vec<gallery::Preset>,
    pub show_json: bool,
    pub canvas_ref: NodeRef,
    pub timeline_ref: NodeRef,
    frames: Frames,
    _listeners: Listeners,
    fps_count: u32,
    fps_since: f64,
    pub fps: f64,
    roles: Vec<(String, u64)>,
    violation_sent: bool,
    trace_sent: bool,
    first_frame_reported: bool,
    /// Where the nodes run (`?runtime=`).
    pub runtime: Runtime,
    /// The run in Web Workers (runtime `workers`).
    mirror: Option<Mirror>,
    /// Where the workers' run stands.
    pub worker_status: Option<WorkerStatus>,
    worker_trace_sent: bool,
    /// The time the workers were last asked for their nodes' views.
    views_asked_at: Option<Time>,
    /// The page is the embeddable widget (`?embed=1`), with these options.
    pub embed: Option<super::embed_view::Options>,
    /// The Embed dialog, when open: the share link of the run it was opened for.
    pub embed_form: Option<String>,
}

/// A node's role as drawn: the protocol's label, or its status when it is not running.
pub fn role_of(status: Status, view: Option<&quorumlab_core::NodeView>) -> String {
    super::legend::drawn(status, view).label
}

/// Role and term of every node, as drawn.
pub fn roles(session: &Session) -> Vec<(String, u64)> {
    let Some(e) = session.engine() else {
        return Vec::new();
    };
    let views = e.views();
    e.status()
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let v = views.get(i).and_then(|v| v.as_ref());
            (role_of(*st, v), v.map(|v| v.term).unwrap_or(0))
        })
        .collect()
}

/// The scenario to open: from the link, else autosaved, else the default. A broken
/// link is an error to show (and the default opens).
fn initial() -> (Scenario, Option<String>) {
    let frag = browser::fragment();
    if !frag.is_empty() {
        return match quorumlab_sim::url::decode(&frag) {
            Ok(s) => (s, None),
            Err(e) => (
                gallery::default_scenario(),
                Some(format!("This link does not hold a scenario: {e}")),
            ),
        };
    }
    if let Some(text) = browser::storage_get(browser::STORAGE_KEY) {
        if let Ok(s) = quorumlab_sim::scenario::load(&text) {
            return (s, None);
        }
    }
    (gallery::default_scenario(), None)
}

impl Playground {
    /// The workers cannot go on: say so, and keep running on the page's thread.
    fn worker_failed(&mut self, why: &str) {
        let msg = format!(
            "The Web Worker runtime stopped: {why}. The run continues on the page's own thread."
        );
        self.error = Some(match self.error.take() {
            Some(prev) if prev != msg => format!("{prev}\n{msg}"),
            _ => msg,
        });
        self.runtime = Runtime::Inline;
        self.mirror = None;
    }

    fn on_workers(&mut self, st: WorkerStatus) {
        if self.runtime != Runtime::Workers {
            return;
        }
        if let Some(e) = &st.error {
            let e = e.clone();
            self.worker_status = Some(st);
            self.worker_failed(&e);
            return;
        }
        // The page's replica and the workers run the same scenario: where they stand at
        // the same time, their traces must be equal.
        if let Some(e) = self.session.engine() {
            let mine = format!("{:016x}", e.trace_hash());
            if e.now() == st.now && !st.trace_hash.is_empty() && mine != st.trace_hash {
                self.error = Some(format!(
                    "Determinism broken: at {} ms the workers' trace hash is {} but the page's own run has {}. Please report this scenario (Share link).",
                    st.now as f64 / MS as f64,
                    st.trace_hash,
                    mine
                ));
            }
        }
        if st.done && !self.worker_trace_sent {
            self.worker_trace_sent = true;
            browser::post_to_parent(&embed::trace(&st.trace_hash));
            self.post_finished(&st.trace_hash);
        }
        self.worker_status = Some(st);
    }

    /// Put `node` (or every node) in group A or B by the side of the canvas's middle
    /// line it stands on.
    fn group_by_side(&mut self, node: Option<NodeId>) {
        let pos = layout::unit_positions(self.session.scenario());
        for (i, &(x, _)) in pos.iter().enumerate() {
            let id = i as NodeId;
            if node.is_none_or(|n| n == id) {
                self.groups.insert(id, if x < 0.5 { 1 } else { 2 });
            }
        }
    }

    /// Keep the workers' run on the same scenario as the page, up to the playhead.
    fn sync_workers(&mut self) {
        if self.runtime != Runtime::Workers || self.scrubbing {
            return;
        }
        let Some(m) = self.mirror.as_mut() else {
            return;
        };
        let now = self.session.now();
        if now < m.target() || m.revision() != self.session.revision() {
            if let Err(e) = m.restart(self.session.scenario(), self.session.revision()) {
                self.worker_failed(&e);
                return;
            }
            self.worker_status = None;
            self.worker_trace_sent = false;
            self.views_asked_at = None;
        }
        if let Some(e) = self.session.engine() {
            if let Some(m) = self.mirror.as_mut() {
                // The workers check no invariant (each holds one node): the page's run
                // does, and the workers' run stops where it stopped.
                if let Some(f) = e.violation() {
                    m.stop_at(f);
                }
                m.run_until(now);
            }
        }
        // Paused with the workers caught up: show the nodes' state as their workers
        // report it.
        let caught_up = self.worker_status.as_ref().is_some_and(|st| st.now == now);
        if !self.playing && caught_up && self.views_asked_at != Some(now) {
            if let Some(m) = self.mirror.as_ref() {
                if m.refresh_views() {
                    self.views_asked_at = Some(now);
                }
            }
        }
    }

    fn now_ms_sim(&self) -> f64 {
        self.session.now() as f64 / MS as f64
    }

    /// Replace the scenario after an edit (remembered for undo) and replay to `at`.
    fn apply(&mut self, s: Scenario, at: Time) {
        if s == *self.session.scenario() || self.declined(&s) {
            return;
        }
        self.undo.record(self.session.scenario().clone());
        self.set_scenario(s, at);
    }

    fn set_scenario(&mut self, mut s: Scenario, at: Time) {
        quorumlab_sim::challenge::open(&mut s);
        // An edit of the same challenge keeps the attempts counted so far.
        let same = |a: &Scenario| a.challenge.as_ref().and_then(|c| c.frozen.clone());
        let given = s.challenge.as_ref().map_or(0, |c| c.attempts);
        self.attempts = if same(&s).is_some() && same(&s) == same(self.session.scenario()) {
            self.attempts.max(given)
        } else {
            given
        };
        self.session.replace(s, at);
        self.after_change();
    }

    fn after_change(&mut self) {
        self.verdict = None;
        self.asked = None;
        self.trace_sent = false;
        self.violation_sent = false;
        browser::storage_set(browser::STORAGE_KEY, &self.session.scenario().to_json());
        if let Some((v, _)) = &self.compare {
            let v = *v;
            self.start_compare(v);
        }
        if let Some(e) = self.session.error() {
            self.error = Some(format!("This scenario cannot run: {e}"));
            self.playing = false;
        }
        let n = self.session.scenario().n() as NodeId;
        if self.selected.is_some_and(|s| s >= n) {
            self.selected = None;
        }
        if self.console.node >= n {
            self.console.node = 0;
        }
        self.link = None;
    }

    fn start_compare(&mut self, v: Variant) {
        match v.apply(self.session.scenario()).and_then(edit::checked) {
            Ok(s) => {
                let mut other = Session::new(s);
                other.advance_to(self.session.now(), u64::MAX);
                self.compare = Some((v, other));
            }
            Err(e) => {
                self.notice = Some(format!("Cannot compare: {e}"));
                self.compare = None;
            }
        }
    }

    fn act(&mut self, kind: FaultKind) {
        match self.session.with_action(kind) {
            Ok((s, at)) => self.apply(s, at),
            Err(e) => self.notice = Some(e),
        }
    }

    /// A scenario that would take minutes to run asks first (`quorumlab_sim::cost`);
    /// true when the user said no (then nothing changes).
    fn declined(&mut self, s: &Scenario) -> bool {
        let Some(q) = quorumlab_sim::cost::question(s) else {
            return false;
        };
        if browser::confirm(&q) {
            return false;
        }
        self.notice = Some("Not run: the scenario was left as it was.".into());
        true
    }

    fn load(&mut self, s: Scenario) {
        if self.declined(&s) {
            return;
        }
        self.playing = true;
        self.selected = None;
        self.fault_sel = None;
        self.groups.clear();
        self.link_sel = None;
        self.error = None;
        self.undo.record(self.session.scenario().clone());
        self.set_scenario(s, 0);
    }

    /// A challenge's attempt run to the end, every expectation decided and the goal not
    /// met: one more attempt (once per distinct run).
    fn count_attempt(&mut self) {
        let Some(e) = self.session.engine() else {
            return;
        };
        if e.scenario().challenge.is_none() || !e.done() || self.counted == Some(e.trace_hash()) {
            return;
        }
        let outcomes = super::lessons::outcomes(self);
        let st = quorumlab_sim::challenge::state(e.scenario(), self.attempts, &outcomes);
        let hash = e.trace_hash();
        match st {
            quorumlab_sim::challenge::State::NotYet { .. } => {
                self.attempts += 1;
                self.counted = Some(hash);
            }
            quorumlab_sim::challenge::State::Running => {}
            _ => self.counted = Some(hash),
        }
    }

    /// After time moved: end-of-run verdict and events to the embedding page.
    fn after_time(&mut self) {
        let Some(e) = self.session.engine() else {
            return;
        };
        browser::post_to_parent(&embed::time(self.now_ms_sim()));
        let now_roles = roles(&self.session);
        // The views only when a role changed (they are copied).
        let mut views = None;
        for (i, r) in now_roles.iter().enumerate() {
            if self.roles.get(i) != Some(r) {
                browser::post_to_parent(&embed::role(i as NodeId, &r.0, r.1));
                let views = views.get_or_insert_with(|| e.views());
                let leads = views.get(i).and_then(|v| v.as_ref()).is_some_and(|v| {
                    v.role.kind == quorumlab_core::RoleKind::Leader
                        && e.status().get(i) == Some(&Status::Up)
                });
                if leads {
                    browser::post_to_parent(&embed::leader(i as NodeId, r.1, self.now_ms_sim()));
                }
            }
        }
        self.roles = now_roles;
        if let Some(v) = e.violation() {
            if !self.violation_sent {
                self.violation_sent = true;
                browser::post_to_parent(&embed::violation(&v.invariant, &v.detail));
            }
        }
        if self.session.done() {
            self.playing = false;
            if (self.verdict.is_none() || self.verdict_at < e.now()) && self.asked != Some(e.now())
            {
                // Off the page's thread: the check may take its time (10 s at most).
                self.asked = Some(e.now());
                self.analyst.ask(&Request::of(e, 10_000.0));
            }
            if !self.trace_sent && self.runtime == Runtime::Inline {
                self.trace_sent = true;
                let hash = format!("{:016x}", e.trace_hash());
                browser::post_to_parent(&embed::trace(&hash));
                self.post_finished(&hash);
            }
        }
        if let Some((_, other)) = self.compare.as_mut() {
            other.advance_to(self.session.now(), FRAME_BUDGET * 4);
        }
        self.count_attempt();
    }

    /// The run ended: its summary and trace hash to the embedding page.
    fn post_finished(&self, hash: &str) {
        if let Some(e) = self.session.engine() {
            let v = e.violation().map(|v| v.invariant.clone());
            browser::post_to_parent(&embed::finished(
                hash,
                self.now_ms_sim(),
                &e.total(),
                v.as_deref(),
            ));
        }
    }

    fn share_link(&self) -> String {
        let mut s = self.session.scenario().clone();
        if let Some(c) = s.challenge.as_mut() {
            // The link carries the attempt and how many came before it.
            c.attempts = self.attempts;
        }
        format!("{}#{}", browser::base_url(), quorumlab_sim::url::encode(&s))
    }

    fn timeline_ms(&self, client_x: f64) -> u64 {
        let d = self.session.scenario().duration_ms as f64;
        match browser::rect_of(&self.timeline_ref) {
            Some((l, _, w, _)) if w > 0.0 => {
                let x = (client_x - l) / w;
                let x = if x.is_finite() {
                    x.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                (x * d).round() as u64
            }
            _ => 0,
        }
    }

    fn handle_command(&mut self, ctx: &Context<Self>, c: Command) {
        match c {
            Command::Load(s) => self.load(*s),
            Command::Play => {
                Component::update(self, ctx, Msg::Play);
            }
            Command::Pause => {
                Component::update(self, ctx, Msg::Pause);
            }
            Command::Step => {
                Component::update(self, ctx, Msg::Step);
            }
            Command::Seek(ms) => {
                let t = (ms * MS as f64).min(u64::MAX as f64 / 2.0) as Time;
                Component::update(self, ctx, Msg::Seek(t));
            }
            Command::Crash(node) => self.act(FaultKind::Crash { node: node.into() }),
            Command::Restart(node) => self.act(FaultKind::Restart {
                node: node.into(),
                disk: true,
            }),
            Command::Partition(groups) => self.act(FaultKind::Partition {
                groups: groups
                    .into_iter()
                    .map(|g| g.into_iter().map(Into::into).collect())
                    .collect(),
            }),
            Command::Heal => self.act(FaultKind::Heal),
            Command::Op(node, op) => self.act(FaultKind::Client { node, op }),
        };
    }
}

impl Component for Playground {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let (mut scenario, error) = initial();
        let embedded = super::embed_view::from_query(&browser::query());
        if let Some(seed) = embedded.as_ref().and_then(|(o, _)| o.seed) {
            scenario.seed = seed;
        }
        if let Some(q) = quorumlab_sim::cost::question(&scenario) {
            if !browser::confirm(&q) {
                scenario = gallery::default_scenario();
            }
        }
        quorumlab_sim::challenge::open(&mut scenario);
        let attempts = scenario.challenge.as_ref().map_or(0, |c| c.attempts);
        if error.is_some() {
            browser::clear_fragment();
        }
        let session = Session::new(scenario);
        let frames = Frames::new(ctx.link().callback(Msg::Frame));
        let listeners = Listeners::new(
            ctx.link().callback(Msg::Key),
            ctx.link().callback(Msg::Message),
            ctx.link().callback(Msg::Hash),
        );
        let mut p = Playground {
            session,
            undo: Undo::new(),
            playing: true,
            speed: DEFAULT_SPEED,
            last_frame: None,
            carry: 0.0,
            selected: None,
            hover: None,
            sort: (0, false),
            drag: None,
            error,
            notice: None,
            link: None,
            tab: Tab::Node,
            groups: BTreeMap::new(),
            draw_partition: false,
            link_sel: None,
            fault_sel: None,
            fault_drag: None,
            scrubbing: false,
            console: ConsoleForm {
                node: 0,
                op: ConsoleOp::Write,
                key: "k0".into(),
                value: "1".into(),
                expect: "0".into(),
            },
            verdict: None,
            verdict_at: 0,
            anomalies: Default::default(),
            asked: None,
            attempts,
            counted: None,
            anomaly_sel: None,
            analyst: Analyst::new(ctx.link().callback(Msg::Analysed)),
            compare: None,
            window_ms: 400.0,
            presets: gallery::presets(),
            show_json: false,
            canvas_ref: NodeRef::default(),
            timeline_ref: NodeRef::default(),
            frames,
            _listeners: listeners,
            fps_count: 0,
            fps_since: browser::now_ms(),
            fps: 0.0,
            roles: Vec::new(),
            violation_sent: false,
            trace_sent: false,
            first_frame_reported: false,
            runtime: Runtime::Workers,
            mirror: None,
            worker_status: None,
            worker_trace_sent: false,
            views_asked_at: None,
            embed: None,
            embed_form: None,
        };
        let query = browser::query();
        let mut settings = Vec::new();
        match runtime_from_query(&query) {
            Ok(r) => p.runtime = r,
            Err(e) => settings.push(e),
        }
        if let Err(e) = crate::run_status::lane_kib_from_query(&query) {
            settings.push(e);
        }
        match embedded {
            Some((o, errors)) => {
                super::embed_view::start(&mut p, &o);
                settings.extend(errors);
                p.embed = Some(o);
            }
            // The widget has no gallery.
            None => gallery::fetch_all(ctx.link().callback(|(i, t)| Msg::Preset(i, t))),
        }
        if !settings.is_empty() {
            let prev = p.error.take().into_iter();
            p.error = Some(prev.chain(settings).collect::<Vec<_>>().join("\n"));
        }
        if p.runtime == Runtime::Workers {
            match Mirror::start(
                p.session.scenario(),
                p.session.revision(),
                ctx.link().callback(Msg::Workers),
            ) {
                Ok(m) => p.mirror = Some(m),
                Err(e) => p.worker_failed(&e),
            }
        }
        if let Some(e) = p.session.error() {
            let msg = format!("This scenario cannot run: {e}");
            p.error = Some(match p.error.take() {
                Some(prev) => format!("{prev}\n{msg}"),
                None => msg,
            });
            p.playing = false;
        }
        if let (Some(_), Some(e)) = (&p.embed, &p.error) {
            // A bad link or option: said in the frame and to the embedding page.
            browser::post_to_parent(&embed::error(e));
        }
        let s = p.session.scenario();
        browser::post_to_parent(&embed::ready(&s.name, s.n(), s.seed));
        p
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        if let Some(o) = &self.embed {
            if !super::embed_view::allows(o, &msg) {
                return false;
            }
        }
        let before = self.session.now();
        match msg {
            Msg::Frame(ts) => {
                if !self.playing {
                    self.last_frame = None;
                    return false;
                }
                let dt = match self.last_frame {
                    Some(prev) => (ts - prev).clamp(0.0, 100.0),
                    None => 0.0,
                };
                self.last_frame = Some(ts);
                // Simulated microseconds to run: speed (ms/s) x dt (ms) / 1000 x 1000.
                self.carry += self.speed * dt;
                let whole = self.carry.floor();
                self.carry -= whole;
                let target = self.session.now() + whole as Time;
                if !self.session.advance_to(target, FRAME_BUDGET) {
                    // Over budget: slow down rather than fall behind.
                    self.carry = 0.0;
                }
                self.fps_count += 1;
                let now = browser::now_ms();
                if now - self.fps_since >= 1000.0 {
                    self.fps = self.fps_count as f64 * 1000.0 / (now - self.fps_since);
                    browser::set_global("__quorumlab_fps", self.fps);
                    self.fps_count = 0;
                    self.fps_since = now;
                }
                if !self.first_frame_reported && self.session.now() > 0 {
                    self.first_frame_reported = true;
                    browser::set_global("__quorumlab_running_ms", now);
                }
                self.after_time();
                if let Some(o) = &self.embed {
                    ctx.link()
                        .send_message_batch(super::embed_view::after_frame(o, self, before));
                }
            }
            Msg::TogglePlay => {
                return Component::update(
                    self,
                    ctx,
                    if self.playing { Msg::Pause } else { Msg::Play },
                )
            }
            Msg::Play => {
                if self.session.engine().is_some() && !self.session.done() {
                    self.playing = true;
                    self.last_frame = None;
                }
            }
            Msg::Pause => {
                self.playing = false;
            }
            Msg::Step => {
                self.playing = false;
                self.session.step();
                self.after_time();
            }
            Msg::Speed(s) => {
                if s.is_finite() && s > 0.0 {
                    self.speed = s;
                }
            }
            Msg::RunToEnd => {
                self.session.run_to_end();
                self.after_time();
            }
            Msg::Reset => {
                self.session.seek(0);
                self.verdict = None;
                self.asked = None;
                self.trace_sent = false;
                self.violation_sent = false;
                self.playing = true;
                self.last_frame = None;
                self.after_time();
            }
            Msg::ShowAnomaly(i, t) => {
                self.anomaly_sel = Some(i);
                ctx.link().send_message(Msg::Seek(t));
            }
            Msg::Seek(t) => {
                self.session.seek(t);
                if !self.session.done() {
                    // The verdict and anomalies stay, shown as about the history up to
                    // their moment: a student follows an anomaly back in time with its
                    // list in view.
                    self.trace_sent = false;
                }
                self.after_time();
            }
            Msg::Hover(n) => {
                if self.hover == n {
                    return false;
                }
                self.hover = n;
            }
            Msg::Sort(col) => self.sort = super::cluster::clicked(self.sort, col),
            Msg::Select(n) => {
                self.selected = n;
                if n.is_some() {
                    self.tab = Tab::Node;
                    if let Some(n) = n {
                        self.console.node = n;
                    }
                }
            }
            Msg::Act(kind) => self.act(kind),
            Msg::Edit(Ok(s)) => {
                let at = self.session.now();
                self.apply(s, at);
            }
            Msg::Edit(Err(e)) => self.notice = Some(e),
            Msg::Load(s) => self.load(*s),
            Msg::Undo | Msg::Redo => {
                let cur = self.session.scenario().clone();
                let r = if matches!(msg, Msg::Undo) {
                    self.undo.undo(cur)
                } else {
                    self.undo.redo(cur)
                };
                match r {
                    Ok(s) => {
                        let at = self.session.now();
                        self.set_scenario(s, at);
                    }
                    Err(_) => {
                        self.notice = Some(
                            if matches!(msg, Msg::Undo) {
                                "Nothing to undo"
                            } else {
                                "Nothing to redo"
                            }
                            .into(),
                        )
                    }
                }
            }
            Msg::CopyLink => {
                let l = self.share_link();
                browser::copy_text(&l);
                self.link = Some(l);
            }
            Msg::NodeDown(node, x, y) => {
                self.drag = Some(Drag {
                    node,
                    start: (x, y),
                    moved: false,
                    before: self.session.scenario().clone(),
                });
            }
            Msg::CanvasMove(x, y) => {
                let Some(d) = self.drag.as_mut() else {
                    return false;
                };
                if !d.moved && (x - d.start.0).hypot(y - d.start.1) < 4.0 {
                    return false;
                }
                d.moved = true;
                let node = d.node as usize;
                let Some(rect) = browser::rect_of(&self.canvas_ref) else {
                    return false;
                };
                let (ux, uy) = layout::client_to_unit(x, y, rect);
                let mut s = self.session.scenario().clone();
                layout::set_position(&mut s, node, ux, uy);
                self.session.replace_cosmetic(s);
            }
            Msg::CanvasUp => {
                if let Some(d) = self.drag.take() {
                    if d.moved && self.draw_partition {
                        self.group_by_side(Some(d.node));
                    }
                    if d.moved {
                        self.undo.record(d.before);
                        browser::storage_set(
                            browser::STORAGE_KEY,
                            &self.session.scenario().to_json(),
                        );
                    } else {
                        let n = if self.selected == Some(d.node) {
                            None
                        } else {
                            Some(d.node)
                        };
                        return Component::update(self, ctx, Msg::Select(n));
                    }
                }
            }
            Msg::SelectLink(l) => {
                self.link_sel = l;
                if l.is_some() {
                    self.tab = Tab::Edit;
                }
            }
            Msg::Group(n, g) => {
                if g == 0 {
                    self.groups.remove(&n);
                } else {
                    self.groups.insert(n, g);
                }
            }
            Msg::ApplyPartition => {
                let a: Vec<NodeId> = self
                    .groups
                    .iter()
                    .filter(|(_, g)| **g == 1)
                    .map(|(n, _)| *n)
                    .collect();
                let b: Vec<NodeId> = self
                    .groups
                    .iter()
                    .filter(|(_, g)| **g == 2)
                    .map(|(n, _)| *n)
                    .collect();
                if a.is_empty() && b.is_empty() {
                    self.notice = Some("Put some nodes in group A or B first".into());
                } else {
                    let groups = [a, b]
                        .into_iter()
                        .filter(|g| !g.is_empty())
                        .map(|g| g.into_iter().map(Into::into).collect())
                        .collect();
                    self.act(FaultKind::Partition { groups });
                }
            }
            Msg::Tab(t) => self.tab = t,
            Msg::FaultSelect(i) => self.fault_sel = i,
            Msg::FaultDown(i, x) => {
                let at_ms = self
                    .session
                    .scenario()
                    .faults
                    .get(i)
                    .map(|f| f.at_ms)
                    .unwrap_or(0);
                self.fault_drag = Some(FaultDrag {
                    index: i,
                    start_x: x,
                    at_ms,
                    moved: false,
                });
            }
            Msg::TimelineDown(x) => {
                self.scrubbing = true;
                let t = self.timeline_ms(x) * MS;
                Component::update(self, ctx, Msg::Seek(t));
            }
            Msg::TimelineMove(x) => {
                if let Some(d) = self.fault_drag.as_mut() {
                    if !d.moved && (x - d.start_x).abs() < 4.0 {
                        return false;
                    }
                    d.moved = true;
                    let ms = self.timeline_ms(x);
                    if let Some(d) = self.fault_drag.as_mut() {
                        d.at_ms = ms;
                    }
                } else if self.scrubbing {
                    let t = self.timeline_ms(x) * MS;
                    Component::update(self, ctx, Msg::Seek(t));
                } else {
                    return false;
                }
            }
            Msg::TimelineUp => {
                self.scrubbing = false;
                if let Some(d) = self.fault_drag.take() {
                    if d.moved {
                        let r = edit::move_fault(self.session.scenario(), d.index, d.at_ms);
                        return Component::update(self, ctx, Msg::Edit(r));
                    }
                    self.fault_sel = Some(d.index);
                }
            }
            Msg::Console(f) => self.console = f,
            Msg::ConsoleSend => {
                let f = &self.console;
                let key = f.key.trim().to_string();
                let num = |t: &str, what: &str| -> Result<i64, String> {
                    t.trim()
                        .parse::<i64>()
                        .map_err(|_| format!("{what} must be a whole number, not `{t}`"))
                };
                let op = match f.op {
                    ConsoleOp::Read => Ok(Op::Read { key }),
                    ConsoleOp::Write => {
                        num(&f.value, "the value").map(|value| Op::Write { key, value })
                    }
                    ConsoleOp::Cas => num(&f.expect, "the expected value").and_then(|expect| {
                        num(&f.value, "the new value").map(|new| Op::Cas { key, expect, new })
                    }),
                };
                match op {
                    Ok(op) => {
                        let node = f.node;
                        self.act(FaultKind::Client { node, op })
                    }
                    Err(e) => self.notice = Some(e),
                }
            }
            Msg::Key(k) => {
                let m = match (k.key.as_str(), k.ctrl, k.shift) {
                    (" ", false, _) => Msg::TogglePlay,
                    ("n" | "ArrowRight", false, _) => Msg::Step,
                    (z, true, false) if z.eq_ignore_ascii_case("z") => Msg::Undo,
                    (z, true, true) if z.eq_ignore_ascii_case("z") => Msg::Redo,
                    _ => return false,
                };
                return Component::update(self, ctx, m);
            }
            Msg::Message(Ok(v)) => {
                // Our own event kinds (from a page that forwards them back) are not commands.
                let ty = v.get("type").and_then(Value::as_str).unwrap_or("");
                if embed::EVENTS.contains(&ty) {
                    return false;
                }
                match embed::parse(&v, self.session.scenario().n()) {
                    Ok(c) => self.handle_command(ctx, c),
                    Err(e) => {
                        browser::post_to_parent(&embed::error(&e));
                        self.notice = Some(format!("Ignored a message: {e}"));
                    }
                }
            }
            Msg::Message(Err(e)) => {
                browser::post_to_parent(&embed::error(&e));
                self.notice = Some(format!("Ignored a message: {e}"));
            }
            Msg::DismissError => {
                self.error = None;
                self.notice = None;
            }
            Msg::Compare(v) => match v {
                Some(v) => self.start_compare(v),
                None => self.compare = None,
            },
            Msg::Window(w) => {
                if w.is_finite() && w > 0.0 {
                    self.window_ms = w;
                }
            }
            Msg::ShowJson(b) => self.show_json = b,
            Msg::Workers(st) => self.on_workers(st),
            Msg::EmbedForm(f) => self.embed_form = f.map(|_| self.share_link()),
            Msg::Preset(i, text) => gallery::arrived(&mut self.presets, i, text),
            Msg::CheckNow => {
                if let Some(e) = self.session.engine() {
                    self.asked = Some(e.now());
                    self.analyst.ask(&Request::of(e, 5_000.0));
                }
            }
            Msg::Analysed(answer) => {
                let now = self.session.engine().map(|e| e.now());
                match answer {
                    // Only the answer for the moment asked last counts (a reset or a
                    // newer question since makes it stale); the run may have played on: the
                    // verdict then says it is about the history up to its moment.
                    Ok(o) if Some(o.at) == self.asked => {
                        self.verdict = Some(o.verdict);
                        self.verdict_at = o.at;
                        self.anomalies = o.anomalies;
                        self.anomaly_sel = None;
                        for a in self.anomalies.list.iter().take(20) {
                            browser::post_to_parent(&embed::anomaly(
                                a.kind.name(),
                                a.at_ms,
                                &a.detail,
                            ));
                        }
                        self.count_attempt();
                    }
                    Ok(_) => {}
                    Err(why) => {
                        self.verdict = Some(Check::Unknown { why });
                        self.verdict_at = now.unwrap_or(0);
                        self.anomalies = Default::default();
                    }
                }
            }
            Msg::DrawPartition(on) => {
                self.draw_partition = on;
                if on {
                    self.group_by_side(None);
                }
            }
            Msg::Hash(frag) => {
                if frag.is_empty() {
                    return false;
                }
                match quorumlab_sim::url::decode(&frag) {
                    Ok(s) if s == *self.session.scenario() => return false,
                    Ok(s) => self.load(s),
                    Err(e) => {
                        self.error = Some(format!(
                            "This link does not hold a scenario: {e}. The current scenario stays."
                        ))
                    }
                }
            }
        }
        self.sync_workers();
        true
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first: bool) {
        if self.playing {
            self.frames.request();
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        match &self.embed {
            Some(o) => super::embed_view::page(self, ctx, o),
            None => views::page(self, ctx),
        }
    }
}

/// Node `id`'s view as its Web Worker reported it, when the workers' run stands where the
/// page's does, with the same trace (so it is the very state the page would show).
pub fn worker_view(p: &Playground, id: NodeId) -> Option<quorumlab_core::NodeView> {
    let e = p.session.engine()?;
    let st = p.worker_status.as_ref()?;
    if p.runtime != Runtime::Workers
        || st.views_at != Some(e.now())
        || st.now != e.now()
        || st.trace_hash != format!("{:016x}", e.trace_hash())
    {
        return None;
    }
    st.views.get(id as usize).cloned().flatten()
}

/// Whole-ms time the next action would be stamped with.
pub fn action_time(p: &Playground) -> Time {
    ceil_ms(p.session.now())
}
