//! The page's state and how it changes: a reducer in plain Rust, tested natively (no
//! browser, no Yew context). [`State::reduce`] takes an [`Action`] (what the user or the
//! browser did, already in the page's own units: simulated time, the canvas's unit
//! square) and returns the [`Effect`]s the component must perform at the edge (post to
//! the embedding page, store the scenario, copy a link, ask the analysis worker, ask the
//! user to confirm a slow scenario). Timers, workers and the DOM stay in
//! [`super::playground`].

use super::browser::Key;
use super::cluster;
use super::edit;
use super::embed::{self, Command};
use super::embed_view;
use super::gallery;
use super::lab::{self, Source as LabSource};
use super::layout;
use super::log_grid::{self, Follow, GridInput, Source};
use super::remote::RemoteRun;
use super::session::Session;
use super::undo::Undo;
use super::workers::{Runtime, WorkerStatus};
use crate::analysis::Answer;
use quorumlab_core::{LogWindow, NodeId, NodeView, Op, Time, MS};
use quorumlab_sim::analysis::{Outcome, Request};
use quorumlab_sim::anomaly::Anomalies;
use quorumlab_sim::expect::ExpectOutcome;
use quorumlab_sim::run::Check;
use quorumlab_sim::scenario::{FaultKind, Scenario};
use quorumlab_sim::{Flight, Status};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Engine events handled per animation frame at most, so a big cluster stays smooth.
pub const FRAME_BUDGET: u64 = 4_000;
/// Speeds offered, in simulated milliseconds per wall-clock second.
pub const SPEEDS: &[f64] = &[
    2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0,
];
pub const DEFAULT_SPEED: f64 = 50.0;
/// Pointer travel (pixels) below which a press is a click, not a drag.
const DRAG_PX: f64 = 4.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Node,
    Edit,
    Console,
    Cap,
    /// The lock timeline (a lock service's run).
    Locks,
    /// The consistent-hash ring (a store that places keys on one).
    Ring,
}

/// What the console sends: an operation of the run's data type.
pub use quorumlab_core::OpKind as ConsoleOp;

#[derive(Clone, Debug, PartialEq)]
pub struct ConsoleForm {
    pub node: NodeId,
    pub op: ConsoleOp,
    pub key: String,
    pub value: String,
    pub expect: String,
}

/// The most columns the lab sets beside the run (four configurations in all).
pub const MAX_COMPARE: usize = 3;
/// Engine events a lab column runs between looks at the clock.
const LAB_CHUNK: u64 = 4_000;
/// Wall-clock milliseconds the lab's columns may take of a frame while the run plays,
/// and while it stands (the columns catching up with it or running to their ends).
const LAB_SLICE_PLAYING_MS: f64 = 12.0;
const LAB_SLICE_MS: f64 = 40.0;
/// The analysis budget of a column's run (its checker runs after the run's own).
const COLUMN_ANALYSIS_MS: f64 = 5_000.0;

/// One column of the lab: a configuration run beside this one on its seed and faults.
pub struct Column {
    /// Unique to this column's run (an analysis answer names it; a column run again
    /// gets a new one, so a late answer about its old run is ignored).
    pub id: u64,
    pub source: LabSource,
    /// Its run, or why it cannot run (the configuration does not validate).
    pub run: Result<ColumnRun, String>,
    /// Its analysis (verdict and anomalies) was asked for, at its run's end.
    pub asked: bool,
    pub analysis: Option<Result<Outcome, String>>,
}

impl Column {
    pub fn label(&self) -> String {
        self.source.label()
    }

    /// Its run has not reached `target` (or its own end, if sooner) yet.
    fn behind(&self, target: Time) -> bool {
        match &self.run {
            Ok(ColumnRun::Here(r)) => {
                r.engine().is_some() && !r.done() && r.now() < target.min(r.end())
            }
            Ok(ColumnRun::Worker(r)) => r.behind(target),
            Err(_) => false,
        }
    }
}

/// Where a lab column's run lives: on the page's thread, in an engine module the page
/// calls (`?runtime=inline`, or a page that is not cross-origin isolated), or in a Web
/// Worker of its own (see [`RemoteRun`]).
// Three columns at most, each made once per configuration: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum ColumnRun {
    Here(Session),
    Worker(RemoteRun),
}

impl ColumnRun {
    pub fn scenario(&self) -> &Scenario {
        match self {
            ColumnRun::Here(r) => r.scenario(),
            ColumnRun::Worker(r) => r.scenario(),
        }
    }

    /// Its run's figures for the lab, or why there are none yet.
    pub fn numbers(&self) -> Result<super::panels::cap::CapNumbers, String> {
        match self {
            ColumnRun::Here(r) => match r.engine() {
                Some(e) => Ok(super::panels::cap::CapNumbers::of(e)),
                None if r.loading() => Err("loading its engine".to_string()),
                None => Err(r.error().unwrap_or("cannot run").to_string()),
            },
            ColumnRun::Worker(r) => match r.failure() {
                Some(why) => Err(why.to_string()),
                None if !r.started() => Err("starting its worker".to_string()),
                None => Ok(r.numbers()),
            },
        }
    }

    pub fn violation(&self) -> Option<&quorumlab_sim::Found> {
        match self {
            ColumnRun::Here(r) => r.engine().and_then(|e| e.violation()),
            ColumnRun::Worker(r) => r.violation(),
        }
    }

    /// Its spells of two lock holders so far.
    pub fn spells(&self) -> Vec<quorumlab_sim::locks::Spell> {
        match self {
            ColumnRun::Here(r) => r
                .engine()
                .and_then(|e| e.lock_report())
                .map(|l| l.spells)
                .unwrap_or_default(),
            ColumnRun::Worker(r) => r.spells().to_vec(),
        }
    }

    /// Its trace hash so far (none before its run exists).
    pub fn trace_hash(&self) -> Option<u64> {
        match self {
            ColumnRun::Here(r) => r.engine().map(|e| e.trace_hash()),
            ColumnRun::Worker(r) => r.started().then(|| r.trace_hash()),
        }
    }

    pub fn in_worker(&self) -> bool {
        matches!(self, ColumnRun::Worker(_))
    }
}

/// A column's run of `s`: in a worker of its own if `in_workers`.
fn column_run(in_workers: bool, s: Scenario) -> ColumnRun {
    if in_workers {
        ColumnRun::Worker(RemoteRun::new(s))
    } else {
        ColumnRun::Here(Session::new(s))
    }
}

/// A new [`Column::id`].
fn column_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A CAP comparison: the registry's variants of the scenario's protocol.
pub use quorumlab_sim::registry::Variant;

/// The comparisons the CAP panel offers for a scenario's protocol (its registry line).
pub fn variants_for(s: &Scenario) -> &'static [Variant] {
    quorumlab_sim::registry::entry(&s.protocol.name)
        .map(|e| e.listing.compare)
        .unwrap_or(&[])
}

/// What happened: the user's gestures and the browser's events, in the page's units.
// Actions are moved once each; boxing the big ones would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Action {
    /// An animation frame at this timestamp (ms).
    Frame(f64),
    /// An engine module loaded (or failed to): runs that waited for it are built.
    EngineReady,
    TogglePlay,
    Play,
    Pause,
    Step,
    Speed(f64),
    RunToEnd,
    Reset,
    Seek(Time),
    /// A moment on the timeline was clicked: go there and select the node involved.
    SeekSelect(Time, NodeId),
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
    /// A press on a node at this client position (pixels).
    NodeDown(NodeId, f64, f64),
    /// The pointer moved over the canvas: client position (pixels) and where that is
    /// in the canvas's unit square (none when the canvas is not laid out).
    CanvasMove((f64, f64), Option<(f64, f64)>),
    CanvasUp,
    SelectLink(Option<(NodeId, NodeId)>),
    Group(NodeId, u8),
    ApplyPartition,
    Tab(Tab),
    FaultSelect(Option<usize>),
    /// A press on the timeline's fault mark `i` at this client x (pixels).
    FaultDown(usize, f64),
    /// A press on the timeline at the moment `ms`.
    TimelineDown(u64),
    /// The pointer moved over the timeline: client x (pixels) and the moment under it.
    TimelineMove(f64, u64),
    TimelineUp,
    Console(ConsoleForm),
    ConsoleSend,
    Key(Key),
    /// A `postMessage` from the embedding page (or its parse error).
    Message(Result<Value, String>),
    DismissError,
    Compare(Option<Variant>),
    /// Add the editor's configuration (the run's scenario as it stands) as a column.
    CompareCurrent,
    /// Add a gallery preset's configuration as a column.
    ComparePreset(&'static str),
    /// Open column `i`'s run at a moment (its anomaly's, or now): it becomes the main
    /// run, and the main run takes its place in the lab; with the index of the
    /// anomaly (in its analysis's list) to show.
    OpenColumn(usize, Option<Time>, Option<usize>),
    /// The analysis worker answered about the lab column whose run has this id.
    ColumnAnalysed(u64, Answer),
    /// The worker of the lab column with this id answered its batch.
    LabReplies(u64, Result<Vec<String>, String>),
    /// Export the lab's chart (this SVG) as a PNG image.
    ExportPng(String),
    /// Show (or hide) the PACELC view: the run and its comparison with no fault at all.
    Pacelc(bool),
    /// Remove the lab's column `i`.
    Uncompare(usize),
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
    /// The log grid follows this and is this wide (pixels): the frame describes the
    /// log entries it shows.
    GridView(Follow, f64),
    /// The user answered a [`Effect::Confirm`].
    Confirmed(bool, Box<Pending>),
    /// The Embed dialog opened (for the run on screen) or closed.
    EmbedForm(bool),
    /// Preset `i`'s file arrived (`gallery::fetch_all`), or could not be fetched.
    Preset(usize, Result<String, String>),
}

/// A change waiting for the user's yes (a scenario that would take minutes to run).
#[derive(Clone, Debug)]
pub enum Pending {
    /// An edit, replayed up to this time.
    Apply(Scenario, Time),
    /// A scenario opened from the gallery, a link or the embedding page.
    Load(Scenario),
}

/// What the component must do at the edge, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// `postMessage` this event (JSON text) to the embedding page.
    Post(String),
    /// Autosave this scenario JSON.
    Store(String),
    /// Put this text on the clipboard.
    Copy(String),
    /// Ask the analysis worker (verdict and anomalies) about the run now.
    Analyse(Box<Request>),
    /// Publish a number on `window` for the browser tests' measurements.
    Global(&'static str, f64),
    /// Ask the user this question; answer with [`Action::Confirmed`].
    Confirm(String, Box<PendingEq>),
    /// Ask the analysis worker about the run of the lab column with this id (answer
    /// with [`Action::ColumnAnalysed`]).
    AnalyseColumn(u64, Box<Request>),
    /// Send this batch of engine calls (of this protocol) to the worker of the lab
    /// column with this id (answer with [`Action::LabReplies`]).
    LabCalls(u64, String, Vec<Vec<u8>>),
    /// Draw this SVG on a canvas and offer it as a PNG download.
    Png(String),
}

/// [`Pending`] inside an [`Effect`] (compared by what it would do).
#[derive(Clone, Debug)]
pub struct PendingEq(pub Pending);

impl PartialEq for PendingEq {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Pending::Apply(a, t), Pending::Apply(b, u)) => a.same(b) && t == u,
            (Pending::Load(a), Pending::Load(b)) => a.same(b),
            _ => false,
        }
    }
}

pub struct Drag {
    pub node: NodeId,
    pub start: (f64, f64),
    pub moved: bool,
    pub before: Scenario,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultDrag {
    pub index: usize,
    pub start_x: f64,
    pub at_ms: u64,
    pub moved: bool,
}

/// Everything the panels draw that comes from the run at one moment, built once per
/// moment and shared (by `Rc`) by the canvas, the log grid, the cluster table and the
/// node panel: the nodes' views are formatted once a frame, not once per panel.
#[derive(Debug, Default)]
pub struct Frame {
    /// The grid's rows (live views, and the disks of crashed nodes).
    pub input: Rc<GridInput>,
    pub status: Vec<Status>,
    pub offsets: Vec<i64>,
    /// Messages on the wire now.
    pub flights: Vec<Flight>,
    pub blocked: Vec<(NodeId, NodeId)>,
    pub now: Time,
    pub trace_hash: u64,
}

impl Frame {
    /// Node `i`'s live view (none for a crashed or spare node).
    pub fn view(&self, i: usize) -> Option<&NodeView> {
        let r = self.input.rows.get(i)?;
        (r.source == Source::Live)
            .then_some(r.view.as_ref())
            .flatten()
    }
}

pub struct State {
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
    /// Partition groups (1: A, 2: B); shared with the panels, replaced when changed.
    pub groups: Rc<BTreeMap<NodeId, u8>>,
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
    pub anomalies: Rc<Anomalies>,
    /// The moment of the run whose analysis was asked for last (its answer is awaited
    /// while `verdict_at` is older).
    pub asked: Option<Time>,
    /// A challenge's attempts run to the end so far, and the trace hash of the last one
    /// counted (an attempt counts once, however often it is replayed).
    pub attempts: u32,
    counted: Option<u64>,
    /// The anomaly whose operations are shown (index in `anomalies.list`).
    pub anomaly_sel: Option<usize>,
    /// The lab's columns beside this run: variants of the scenario and configurations
    /// of their own, each its own run on the same seed and faults (at most
    /// [`MAX_COMPARE`]).
    pub compare: Vec<Column>,
    /// What the lab calls the run when it came from one of its columns (see
    /// [`Action::OpenColumn`]).
    pub main_label: Option<String>,
    /// The PACELC view: this scenario and each column's, with every fault and the
    /// nemesis taken out, each run to its end (`None`: not shown); the columns' with
    /// their labels.
    pub pacelc: Option<(Session, Vec<(String, Session)>)>,
    /// The PACELC runs' figures (totals and stale reads), worked out once when each
    /// run has ended (the panel draws every frame; the runs no longer move), in the
    /// order of `pacelc`'s runs; `None`: not run yet (its engine module is loading).
    pub pacelc_figures: Vec<Option<(quorumlab_sim::metrics::WindowReport, u64)>>,
    pub window_ms: f64,
    pub presets: Rc<Vec<gallery::Preset>>,
    pub show_json: bool,
    /// The page's address, in front of a share link's fragment.
    pub base_url: String,
    fps_count: u32,
    fps_since: Option<f64>,
    pub fps: f64,
    roles: Vec<(String, u64)>,
    violation_sent: bool,
    trace_sent: bool,
    first_frame_reported: bool,
    /// Where the nodes run (`?runtime=`).
    pub runtime: Runtime,
    /// The lab's new columns run in Web Workers of their own (the page is
    /// cross-origin isolated and runs its nodes in workers), not on this thread.
    pub lab_workers: bool,
    /// Where the workers' run stands.
    pub worker_status: Option<Rc<WorkerStatus>>,
    worker_trace_sent: bool,
    /// The time the workers were last asked for their nodes' views.
    pub views_asked_at: Option<Time>,
    /// What the log grid shows: what it follows and its width (pixels).
    pub grid_view: (Follow, f64),
    /// The page is the embeddable widget (`?embed=1`), with these options.
    pub embed: Option<embed_view::Options>,
    /// The Embed dialog, when open: the share link of the run it was opened for.
    pub embed_form: Option<String>,
    /// The scenario as the panels see it (shared; replaced when it changes).
    scenario: Rc<Scenario>,
    /// The session's stamp of that scenario ([`Session::stamp`]).
    scenario_stamp: u64,
    /// The run at the last moment drawn, and which moment that was.
    frame: RefCell<Option<(FrameKey, Rc<Frame>)>>,
    effects: Vec<Effect>,
}

/// Which moment of which run a [`Frame`] is of.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FrameKey {
    revision: u64,
    now: Time,
    events: u64,
    window: LogWindow,
}

impl State {
    /// The page opening `scenario` (already opened as a challenge, and confirmed if slow),
    /// with `error` to show (a broken link, bad settings), the runtime asked for, and
    /// the widget's options when the page is the widget. Call [`State::ready`] once the
    /// edge is set up.
    pub fn new(
        mut scenario: Scenario,
        error: Option<String>,
        runtime: Runtime,
        presets: Vec<gallery::Preset>,
        embed: Option<embed_view::Options>,
    ) -> State {
        quorumlab_sim::challenge::open(&mut scenario);
        let attempts = scenario.challenge.as_ref().map_or(0, |c| c.attempts);
        let session = Session::new(scenario);
        let mut s = State {
            scenario: Rc::new(session.scenario().clone()),
            scenario_stamp: session.stamp(),
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
            groups: Default::default(),
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
            compare: Vec::new(),
            main_label: None,
            pacelc: None,
            pacelc_figures: Vec::new(),
            window_ms: 400.0,
            presets: Rc::new(presets),
            show_json: false,
            base_url: String::new(),
            fps_count: 0,
            fps_since: None,
            fps: 0.0,
            roles: Vec::new(),
            violation_sent: false,
            trace_sent: false,
            first_frame_reported: false,
            runtime,
            lab_workers: false,
            worker_status: None,
            worker_trace_sent: false,
            views_asked_at: None,
            grid_view: (Follow::Newest, 640.0),
            embed: None,
            embed_form: None,
            frame: RefCell::new(None),
            effects: Vec::new(),
        };
        if let Some(e) = s.session.error().filter(|_| !s.session.loading()) {
            let msg = format!("This scenario cannot run: {e}");
            s.error = Some(match s.error.take() {
                Some(prev) => format!("{prev}\n{msg}"),
                None => msg,
            });
            s.playing = false;
        }
        if let Some(o) = &embed {
            // The widget: its speed, whether it plays at once, its starting moment.
            if let Some(v) = o.speed {
                s.speed = v;
            }
            s.playing &= o.autoplay;
            if let Some(t) = o.start_ms {
                s.session.seek(t * MS);
            }
        }
        s.embed = embed;
        s
    }

    /// The page is set up: the embedding page hears `ready` (and first, in the widget,
    /// what is wrong with its link or options).
    pub fn ready(&mut self) {
        if let (Some(_), Some(e)) = (&self.embed, &self.error) {
            self.effects.push(Effect::Post(embed::error(e)));
        }
        let s = self.session.scenario();
        self.effects
            .push(Effect::Post(embed::ready(&s.name, s.n(), s.seed)));
    }

    /// Effects waiting since the state was made (the `ready` event).
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// The scenario, shared with the panels (never stale: `reduce` shares the new one
    /// after every change).
    pub fn scenario(&self) -> Rc<Scenario> {
        self.scenario.clone()
    }

    /// Runs after every action (every frame while playing): a stamp comparison, and a
    /// copy only when the session's scenario was set since.
    fn sync_scenario(&mut self) {
        if self.scenario_stamp != self.session.stamp() {
            self.scenario_stamp = self.session.stamp();
            self.scenario = Rc::new(self.session.scenario().clone());
        }
    }

    /// The run as it stands now (built once per moment, then shared).
    pub fn frame(&self) -> Option<Rc<Frame>> {
        let e = self.session.engine()?;
        let key = FrameKey {
            revision: self.session.revision(),
            now: e.now(),
            events: e.events(),
            window: self.log_window(),
        };
        if let Some((k, f)) = &*self.frame.borrow() {
            if *k == key {
                return Some(f.clone());
            }
        }
        let now = e.now();
        let t0 = super::browser::now_ms();
        let f = Rc::new(Frame {
            input: Rc::new(GridInput::window(e, self.session.revision(), key.window)),
            status: e.status(),
            offsets: e.clock_offsets(),
            flights: e.flights_at(now),
            blocked: e.blocked(),
            now,
            trace_hash: e.trace_hash(),
        });
        *self.frame.borrow_mut() = Some((key, f.clone()));
        // What building it cost (published for the browser tests' measurements).
        super::grid_view::spent(super::browser::now_ms() - t0, true);
        Some(f)
    }

    /// The log entries a frame describes: what the grid shows, and everything above
    /// the lowest commit index of the last frame's running nodes (where the grid looks
    /// for conflicts; commit indexes only grow while a node runs). No frame yet:
    /// everything.
    fn log_window(&self) -> LogWindow {
        let above = match &*self.frame.borrow() {
            Some((_, f)) => log_grid::lowest_commit(&f.input.rows).unwrap_or(0),
            None => return LogWindow::ALL,
        };
        let (follow, width) = self.grid_view;
        log_grid::window(follow, width, above)
    }

    /// The workers cannot go on: say so, and keep running on the page's thread.
    pub fn worker_failed(&mut self, why: &str) {
        let msg = format!(
            "The Web Worker runtime stopped: {why}. The run continues on the page's own thread."
        );
        // The embedding page hears it too (a widget's worker that could not start).
        if self.embed.is_some() {
            self.effects.push(Effect::Post(embed::error(&msg)));
        }
        self.error = Some(match self.error.take() {
            Some(prev) if prev != msg => format!("{prev}\n{msg}"),
            _ => msg,
        });
        self.runtime = Runtime::Inline;
    }

    /// The workers' run was started again (a new scenario, or the playhead went back).
    pub fn workers_restarted(&mut self) {
        self.worker_status = None;
        self.worker_trace_sent = false;
        self.views_asked_at = None;
    }

    fn on_workers(&mut self, st: WorkerStatus) {
        if self.runtime != Runtime::Workers {
            return;
        }
        if let Some(e) = &st.error {
            let e = e.clone();
            self.worker_status = Some(Rc::new(st));
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
            self.effects
                .push(Effect::Post(embed::trace(&st.trace_hash)));
            self.post_finished(&st.trace_hash);
        }
        self.worker_status = Some(Rc::new(st));
    }

    /// Node `id`'s view as its Web Worker reported it, when the workers' run stands
    /// where the page's does, with the same trace (so it is the very state the page
    /// would show).
    pub fn worker_view(&self, id: NodeId) -> Option<NodeView> {
        let e = self.session.engine()?;
        let st = self.worker_status.as_ref()?;
        if self.runtime != Runtime::Workers
            || st.views_at != Some(e.now())
            || st.now != e.now()
            || st.trace_hash != format!("{:016x}", e.trace_hash())
        {
            return None;
        }
        st.views.get(id as usize).cloned().flatten()
    }

    /// Put `node` (or every node) in group A or B by the side of the canvas's middle
    /// line it stands on.
    fn group_by_side(&mut self, node: Option<NodeId>) {
        let pos = layout::unit_positions(self.session.scenario());
        for (i, &(x, _)) in pos.iter().enumerate() {
            let id = i as NodeId;
            if node.is_none_or(|n| n == id) {
                Rc::make_mut(&mut self.groups).insert(id, if x < 0.5 { 1 } else { 2 });
            }
        }
    }

    fn now_ms_sim(&self) -> f64 {
        self.session.now() as f64 / MS as f64
    }

    fn store(&mut self) {
        self.effects
            .push(Effect::Store(self.session.scenario().to_json()));
    }

    /// Replace the scenario after an edit (remembered for undo) and replay to `at`.
    fn apply(&mut self, s: Scenario, at: Time) {
        if s.same(self.session.scenario()) {
            return;
        }
        if let Some(q) = quorumlab_sim::cost::question(&s) {
            self.effects.push(Effect::Confirm(
                q,
                Box::new(PendingEq(Pending::Apply(s, at))),
            ));
            return;
        }
        self.apply_now(s, at);
    }

    fn apply_now(&mut self, s: Scenario, at: Time) {
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
        // What the change did at once (a crash: a role) reaches the embedding page
        // now, not at the next frame (a paused widget has none).
        self.after_time();
    }

    fn after_change(&mut self) {
        self.verdict = None;
        self.asked = None;
        self.trace_sent = false;
        self.violation_sent = false;
        self.store();
        self.main_label = None;
        self.refresh_columns();
        if self.pacelc.is_some() {
            self.start_pacelc();
        }
        if let Some(e) = self.session.error().filter(|_| !self.session.loading()) {
            let msg = format!("This scenario cannot run: {e}");
            if self.embed.is_some() {
                self.effects.push(Effect::Post(embed::error(&msg)));
            }
            self.error = Some(msg);
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

    /// Add a column running `source` beside the run (past [`MAX_COMPARE`] the oldest
    /// goes). One that shows the same configuration already is not added twice; one
    /// that does not validate is added with its error (the others still run).
    fn add_column(&mut self, source: LabSource) {
        let run = lab::effective(&source, self.session.scenario());
        let label = source.label();
        let same = |c: &Column| match (&c.source, &source) {
            (LabSource::Variant(a), LabSource::Variant(b)) => a.id == b.id,
            _ => matches!((&c.run, &run), (Ok(a), Ok(b)) if a.scenario().same(b)),
        };
        if self.compare.iter().any(same) {
            self.notice = Some(format!("The lab shows {label} already."));
            return;
        }
        if self.compare.len() >= MAX_COMPARE {
            self.compare.remove(0);
        }
        let run = run.map(|s| column_run(self.lab_workers, s));
        self.compare.push(Column {
            id: column_id(),
            source,
            run,
            asked: false,
            analysis: None,
        });
    }

    /// The run changed: each column's configuration on its new seed and faults (a
    /// column whose scenario stays the same keeps its run and analysis).
    fn refresh_columns(&mut self) {
        let run = self.session.scenario().clone();
        let in_workers = self.lab_workers;
        // A variant of another protocol's scenario (a preset of another protocol was
        // opened) has nothing to compare.
        let variants = variants_for(&run);
        self.compare.retain(|c| match &c.source {
            LabSource::Variant(v) => variants.iter().any(|x| x.id == v.id),
            LabSource::Config(_) => true,
        });
        for c in self.compare.iter_mut() {
            let s = lab::effective(&c.source, &run);
            if matches!((&s, &c.run), (Ok(s), Ok(r)) if s.same(r.scenario())) {
                continue;
            }
            c.run = s.map(|s| column_run(in_workers, s));
            c.id = column_id();
            c.asked = false;
            c.analysis = None;
        }
    }

    /// Where the lab's columns are to be: where the run stands, or their own ends once
    /// the run has ended (none while the run has no engine).
    fn lab_target(&self) -> Option<Time> {
        let e = self.session.engine()?;
        Some(if self.session.done() {
            Time::MAX
        } else {
            e.now()
        })
    }

    /// Some column of the lab has yet to reach where it is to be (the component asks
    /// for frames until none has).
    pub fn lab_behind(&self) -> bool {
        self.lab_target()
            .is_some_and(|t| self.compare.iter().any(|c| c.behind(t)))
    }

    /// Run the lab's columns towards [`State::lab_target`] for about `budget_ms` of
    /// wall-clock time (natively, until they are there), then ask for the analysis of
    /// each column whose run has ended.
    fn advance_lab(&mut self, budget_ms: f64) {
        let Some(target) = self.lab_target() else {
            return;
        };
        // The columns in workers: the next batch of each that has none in flight.
        for c in self.compare.iter_mut() {
            if let Ok(ColumnRun::Worker(r)) = c.run.as_mut() {
                if let Some(calls) = r.next(target) {
                    let protocol = r.protocol().to_string();
                    self.effects.push(Effect::LabCalls(c.id, protocol, calls));
                }
            }
        }
        // The columns on this thread, in slices.
        let t0 = super::browser::now_ms();
        loop {
            let mut behind = false;
            for c in self.compare.iter_mut() {
                if c.run.as_ref().map_or(true, ColumnRun::in_worker) || !c.behind(target) {
                    continue;
                }
                if let Ok(ColumnRun::Here(r)) = c.run.as_mut() {
                    r.advance_to(target, LAB_CHUNK);
                }
                behind |= c.behind(target);
            }
            if !behind || super::browser::now_ms() - t0 >= budget_ms {
                break;
            }
        }
        for c in self.compare.iter_mut() {
            if c.asked {
                continue;
            }
            let request = match &c.run {
                Ok(ColumnRun::Here(r)) => match r.engine() {
                    Some(e) if r.done() && e.failure().is_none() => {
                        Request::of(e, COLUMN_ANALYSIS_MS)
                    }
                    _ => continue,
                },
                Ok(ColumnRun::Worker(r)) => match r.request(COLUMN_ANALYSIS_MS) {
                    Some(req) => req,
                    None => continue,
                },
                Err(_) => continue,
            };
            c.asked = true;
            self.effects
                .push(Effect::AnalyseColumn(c.id, Box::new(request)));
        }
    }

    /// The replies to column `id`'s batch (see [`Effect::LabCalls`]). A worker that
    /// could not even start leaves the lab's columns to this thread.
    fn lab_replies(&mut self, id: u64, replies: Result<Vec<String>, String>) -> bool {
        let Some(c) = self.compare.iter_mut().find(|c| c.id == id) else {
            return false;
        };
        let Ok(ColumnRun::Worker(r)) = c.run.as_mut() else {
            return false;
        };
        match replies {
            Err(why) if !r.started() && why.starts_with(crate::lab_workers::NO_WORKER) => {
                let s = r.scenario().clone();
                c.run = Ok(ColumnRun::Here(Session::new(s)));
                self.lab_workers = false;
            }
            replies => r.answer(replies),
        }
        self.advance_lab(0.0);
        true
    }

    /// The `?lab=` value of a link the page opened with: its columns (variants of the
    /// scenario by id, configurations as scenario codes); an entry that is unknown or
    /// damaged is ignored, and said so.
    pub fn open_lab(&mut self, value: &str) {
        let variants = variants_for(self.session.scenario());
        let (sources, problems) = lab::parse_link(value, variants, MAX_COMPARE);
        for s in sources {
            self.add_column(s);
        }
        if !problems.is_empty() {
            let mut text = problems.join("; ");
            if let Some(c) = text.get_mut(0..1) {
                c.make_ascii_uppercase();
            }
            self.notice = Some(format!("{text}."));
        }
        self.tab = Tab::Cap;
    }

    /// Column `i`'s run becomes the main run, at `at` (now if none), with its analysis
    /// (so its anomalies are listed, the one at `sel` open); the main run takes the
    /// column's place. The lab keeps the same configurations: the variants, which were
    /// of the run before, keep what they ran.
    fn open_column(&mut self, i: usize, at: Option<Time>, sel: Option<usize>) {
        let ready = self.compare.get(i).is_some_and(|c| match &c.run {
            Ok(ColumnRun::Here(r)) => r.engine().is_some(),
            Ok(ColumnRun::Worker(r)) => r.started(),
            Err(_) => false,
        });
        if !ready {
            self.notice = Some("That column has no run to open.".into());
            return;
        }
        let col = self.compare.remove(i);
        let label = col.label();
        let session = match col.run {
            Ok(ColumnRun::Here(s)) => s,
            // Its run was in a worker: the same run (same scenario and seed) is made
            // here, and the playhead goes to the moment asked below.
            Ok(ColumnRun::Worker(r)) => Session::new(r.scenario().clone()),
            Err(_) => return,
        };
        let old = self.session.scenario().clone();
        let old_label = self.main_label.take().unwrap_or_else(|| {
            if old.name.is_empty() {
                "the run before".into()
            } else {
                old.name.clone()
            }
        });
        let at = at.unwrap_or(self.session.now());
        let prev = std::mem::replace(&mut self.session, session);
        // The run's analysis goes with it when it is about its end.
        let verdict = self.verdict.take();
        let old_analysis = verdict
            .filter(|_| prev.done() && self.verdict_at >= prev.now())
            .map(|verdict| Outcome {
                at: self.verdict_at,
                verdict,
                anomalies: (*self.anomalies).clone(),
            });
        for c in self.compare.iter_mut() {
            let v = match &c.source {
                LabSource::Variant(v) => *v,
                LabSource::Config(_) => continue,
            };
            let base = match &c.run {
                Ok(r) => r.scenario().clone(),
                Err(_) => match v.apply(&old) {
                    Ok(s) => s,
                    Err(_) => continue,
                },
            };
            c.source = LabSource::Config(Box::new(lab::config(&base, v.label.to_string())));
        }
        self.compare.insert(
            i,
            Column {
                id: column_id(),
                source: LabSource::Config(Box::new(lab::config(&old, old_label.clone()))),
                run: Ok(ColumnRun::Here(prev)),
                asked: old_analysis.is_some(),
                analysis: old_analysis.map(Ok),
            },
        );
        self.undo.record(old);
        self.main_label = Some(label.clone());
        match col.analysis {
            Some(Ok(o)) => {
                self.asked = Some(o.at);
                self.verdict = Some(o.verdict);
                self.verdict_at = o.at;
                self.anomalies = Rc::new(o.anomalies);
            }
            _ => {
                self.asked = None;
                self.verdict = None;
                self.anomalies = Default::default();
            }
        }
        self.trace_sent = false;
        self.violation_sent = false;
        self.link = None;
        self.playing = false;
        let n = self.session.scenario().n() as NodeId;
        if self.selected.is_some_and(|s| s >= n) {
            self.selected = None;
        }
        if self.console.node >= n {
            self.console.node = 0;
        }
        self.store();
        self.seek(at);
        self.anomaly_sel = sel;
        if self.pacelc.is_some() {
            self.start_pacelc();
        }
        self.notice = Some(format!(
            "Now showing {label} at {:.1} ms; {old_label} took its place in the lab.",
            at as f64 / MS as f64
        ));
    }

    /// The PACELC view's runs: the scenario, and the comparison's variant of it, with
    /// no fault and no nemesis, on the same seed, each run to its end.
    fn start_pacelc(&mut self) {
        let calm = |s: &Scenario| {
            let mut s = s.clone();
            s.faults.clear();
            s.nemesis = None;
            // The lesson is about faults; without them it does not apply.
            s.expect.clear();
            s
        };
        let mut this = Session::new(calm(self.session.scenario()));
        this.run_to_end();
        let others = self
            .compare
            .iter()
            .filter_map(|c| {
                let s = c.run.as_ref().ok()?.scenario();
                let mut o = Session::new(calm(s));
                o.run_to_end();
                Some((c.label(), o))
            })
            .collect();
        self.pacelc = Some((this, others));
        self.pacelc_figures();
    }

    /// Work out the PACELC runs' figures once (see [`State::pacelc_figures`]).
    fn pacelc_figures(&mut self) {
        self.pacelc_figures = self
            .pacelc
            .iter()
            .flat_map(|(a, b)| std::iter::once(a).chain(b.iter().map(|(_, s)| s)))
            .map(|s| {
                s.engine().map(|e| {
                    // Only the stale reads: the rest of the analysis would cost the
                    // page's bundle about 30 kB (gzipped), and without faults nothing
                    // is lost.
                    let stale = quorumlab_sim::anomaly::stale_reads_in(e.history());
                    (e.total(), stale)
                })
            })
            .collect();
    }

    fn act(&mut self, kind: FaultKind) {
        match self.session.with_action(kind) {
            Ok((s, at)) => self.apply(s, at),
            Err(e) => self.notice = Some(e),
        }
    }

    fn load(&mut self, s: Scenario) {
        if let Some(q) = quorumlab_sim::cost::question(&s) {
            self.effects
                .push(Effect::Confirm(q, Box::new(PendingEq(Pending::Load(s)))));
            return;
        }
        self.load_now(s);
    }

    fn load_now(&mut self, s: Scenario) {
        self.playing = true;
        self.selected = None;
        self.fault_sel = None;
        self.groups = Default::default();
        self.link_sel = None;
        self.error = None;
        self.undo.record(self.session.scenario().clone());
        self.set_scenario(s, 0);
    }

    /// Where each expectation stands now (empty when the scenario has none).
    pub fn outcomes(&self) -> Vec<ExpectOutcome> {
        let Some(e) = self.session.engine() else {
            return Vec::new();
        };
        match &self.verdict {
            Some(v) if e.done() && self.verdict_at >= e.now() => {
                quorumlab_sim::run::expectations_at_end(e, v, &self.anomalies)
            }
            _ => e.expectations(),
        }
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
        let outcomes = self.outcomes();
        let Some(e) = self.session.engine() else {
            return;
        };
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

    /// Role and term of every node, as drawn.
    fn roles_now(&self) -> Vec<(String, u64)> {
        let Some(f) = self.frame() else {
            return Vec::new();
        };
        f.status
            .iter()
            .enumerate()
            .map(|(i, st)| {
                let v = f.view(i);
                (
                    super::legend::drawn(*st, v).label,
                    v.map(|v| v.term).unwrap_or(0),
                )
            })
            .collect()
    }

    /// After time moved: end-of-run verdict and events to the embedding page.
    fn after_time(&mut self) {
        let Some(e) = self.session.engine() else {
            return;
        };
        if let Some(why) = e.failure() {
            // The engine module trapped: say why, once; the page carries on (a reset
            // or a seek builds the run again).
            let msg =
                format!("The run stopped: {why}. Reset (or move the playhead) to run it again.");
            if self.error.as_deref() != Some(msg.as_str()) {
                if self.embed.is_some() {
                    self.effects.push(Effect::Post(embed::error(&msg)));
                }
                self.error = Some(msg);
            }
            self.playing = false;
            return;
        }
        self.effects
            .push(Effect::Post(embed::time(self.now_ms_sim())));
        let now_roles = self.roles_now();
        let frame = self.frame();
        for (i, r) in now_roles.iter().enumerate() {
            if self.roles.get(i) != Some(r) {
                self.effects
                    .push(Effect::Post(embed::role(i as NodeId, &r.0, r.1)));
                let leads = frame.as_ref().is_some_and(|f| {
                    f.status.get(i) == Some(&Status::Up)
                        && f.view(i)
                            .is_some_and(|v| v.role.kind == quorumlab_core::RoleKind::Leader)
                });
                if leads {
                    self.effects.push(Effect::Post(embed::leader(
                        i as NodeId,
                        r.1,
                        self.now_ms_sim(),
                    )));
                }
            }
        }
        self.roles = now_roles;
        let Some(e) = self.session.engine() else {
            return;
        };
        if let Some(v) = e.violation() {
            if !self.violation_sent {
                self.violation_sent = true;
                self.effects
                    .push(Effect::Post(embed::violation(&v.invariant, &v.detail)));
            }
        }
        if self.session.done() {
            self.playing = false;
            if (self.verdict.is_none() || self.verdict_at < e.now()) && self.asked != Some(e.now())
            {
                // Off the page's thread: the check may take its time (10 s at most).
                self.asked = Some(e.now());
                self.effects
                    .push(Effect::Analyse(Box::new(Request::of(e, 10_000.0))));
            }
            if !self.trace_sent && self.runtime == Runtime::Inline {
                self.trace_sent = true;
                let hash = format!("{:016x}", e.trace_hash());
                self.effects.push(Effect::Post(embed::trace(&hash)));
                self.post_finished(&hash);
            }
        }
        self.advance_lab(if self.playing {
            LAB_SLICE_PLAYING_MS
        } else {
            LAB_SLICE_MS
        });
        self.count_attempt();
    }

    /// The run ended: its summary and trace hash to the embedding page.
    fn post_finished(&mut self, hash: &str) {
        if let Some(e) = self.session.engine() {
            let v = e.violation().map(|v| v.invariant.clone());
            let ev = embed::finished(hash, self.now_ms_sim(), &e.total(), v.as_deref());
            self.effects.push(Effect::Post(ev));
        }
    }

    /// The widget after a frame moved the run from `before` to now: pause at
    /// `stop_ms`, and with `loop` start again from `start_ms` at the stop or the end.
    fn after_frame(&mut self, before: Time) {
        let Some(o) = &self.embed else {
            return;
        };
        let now = self.session.now();
        let stop = o.stop_ms.map(|s| s * MS);
        let at_stop = stop.is_some_and(|s| before < s && now >= s);
        let at_end = self.session.done() && before < now;
        if !(at_stop || at_end) {
            return;
        }
        if o.looped {
            let start = o.start_ms.unwrap_or(0) * MS;
            self.seek(start);
            self.play();
        } else if at_stop {
            self.playing = false;
        }
    }

    /// The address of a link to this scenario (after `base`, the page's address).
    /// A link to the lab as it stands: the scenario (with its seed and faults) in the
    /// fragment, its columns in the query (`?lab=MultiPaxos,2.<check>.<data>`: a
    /// variant by id, a configuration as a scenario code), which the page opens with.
    pub fn lab_link(&self) -> String {
        let ids: Vec<String> = self
            .compare
            .iter()
            .map(|c| lab::link_entry(&c.source))
            .collect();
        // The page's own query (`?runtime=inline`) stays; an older `lab` goes.
        let (path, query) = self
            .base_url
            .split_once('?')
            .unwrap_or((self.base_url.as_str(), ""));
        let lab = format!("lab={}", ids.join(","));
        let params: Vec<&str> = query
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("lab="))
            .chain(std::iter::once(lab.as_str()))
            .collect();
        format!("{path}?{}#{}", params.join("&"), self.share_fragment())
    }

    pub fn share_fragment(&self) -> String {
        let mut s = self.session.scenario().clone();
        if let Some(c) = s.challenge.as_mut() {
            // The link carries the attempt and how many came before it.
            c.attempts = self.attempts;
        }
        quorumlab_sim::url::encode(&s)
    }

    fn handle_command(&mut self, c: Command) {
        match c {
            Command::Load(s) => self.load(*s),
            Command::Play => self.play(),
            Command::Pause => self.playing = false,
            Command::Step => self.step(),
            Command::Seek(ms) => {
                let t = (ms * MS as f64).min(u64::MAX as f64 / 2.0) as Time;
                self.seek(t);
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

    fn play(&mut self) {
        if self.session.engine().is_some() && !self.session.done() {
            self.playing = true;
            self.last_frame = None;
        }
    }

    fn step(&mut self) {
        self.playing = false;
        self.session.step();
        self.after_time();
    }

    fn seek(&mut self, t: Time) {
        self.session.seek(t);
        if !self.session.done() {
            // The verdict and anomalies stay, shown as about the history up to their
            // moment: a student follows an anomaly back in time with its list in view.
            self.trace_sent = false;
        }
        self.after_time();
    }

    fn select(&mut self, n: Option<NodeId>) {
        self.selected = n;
        if let Some(n) = n {
            self.tab = Tab::Node;
            self.console.node = n;
        }
    }

    fn undo_redo(&mut self, undo: bool) {
        let cur = self.session.scenario().clone();
        let r = if undo {
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
                    if undo {
                        "Nothing to undo"
                    } else {
                        "Nothing to redo"
                    }
                    .into(),
                )
            }
        }
    }

    fn frame_tick(&mut self, ts: f64) -> bool {
        if !self.playing {
            self.last_frame = None;
            // The lab's columns catching up with the run (or running to their ends).
            if self.lab_behind() {
                self.advance_lab(LAB_SLICE_MS);
                return true;
            }
            return false;
        }
        let before = self.session.now();
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
        let since = *self.fps_since.get_or_insert(ts);
        if ts - since >= 1000.0 {
            self.fps = self.fps_count as f64 * 1000.0 / (ts - since);
            self.effects
                .push(Effect::Global("__quorumlab_fps", self.fps));
            self.fps_count = 0;
            self.fps_since = Some(ts);
        }
        if !self.first_frame_reported && self.session.now() > 0 {
            self.first_frame_reported = true;
            self.effects
                .push(Effect::Global("__quorumlab_running_ms", ts));
        }
        self.after_time();
        self.after_frame(before);
        true
    }

    fn partition_groups(&mut self) {
        let side = |g: u8| -> Vec<NodeId> {
            self.groups
                .iter()
                .filter(|(_, x)| **x == g)
                .map(|(n, _)| *n)
                .collect()
        };
        let (a, b) = (side(1), side(2));
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

    fn console_send(&mut self) {
        let f = &self.console;
        let key = f.key.trim().to_string();
        let num = |t: &str, what: &str| -> Result<i64, String> {
            t.trim()
                .parse::<i64>()
                .map_err(|_| format!("{what} must be a whole number, not `{t}`"))
        };
        let op = match f.op {
            ConsoleOp::Read => Ok(Op::Read { key }),
            ConsoleOp::Write => num(&f.value, "the value").map(|value| Op::Write { key, value }),
            ConsoleOp::Cas => num(&f.expect, "the expected value").and_then(|expect| {
                num(&f.value, "the new value").map(|new| Op::Cas { key, expect, new })
            }),
            ConsoleOp::Append => match f.value.trim() {
                "" => Err("an append needs something to append".to_string()),
                v => Ok(Op::Append {
                    key,
                    value: v.to_string(),
                }),
            },
            ConsoleOp::Acquire => Ok(Op::Acquire { key }),
            ConsoleOp::Release => Ok(Op::Release { key }),
        };
        match op {
            Ok(op) => {
                let node = f.node;
                self.act(FaultKind::Client { node, op })
            }
            Err(e) => self.notice = Some(e),
        }
    }

    /// Apply `action`; the effects to perform, and whether anything drawn may have
    /// changed (false: no need to draw again).
    pub fn reduce(&mut self, action: Action) -> (Vec<Effect>, bool) {
        let changed = self.reduce_inner(action);
        self.sync_scenario();
        (std::mem::take(&mut self.effects), changed)
    }

    fn reduce_inner(&mut self, action: Action) -> bool {
        if let Some(o) = &self.embed {
            // The widget's `readonly`: what it forbids does nothing.
            if !embed_view::allows(o, &action) {
                return false;
            }
        }
        match action {
            Action::Frame(ts) => return self.frame_tick(ts),
            Action::TogglePlay => {
                if self.playing {
                    self.playing = false;
                } else {
                    self.play();
                }
            }
            Action::Play => self.play(),
            Action::Pause => self.playing = false,
            Action::Step => self.step(),
            Action::Speed(s) => {
                if s.is_finite() && s > 0.0 {
                    self.speed = s;
                }
            }
            Action::RunToEnd => {
                self.session.run_to_end();
                self.after_time();
            }
            Action::EngineReady => {
                // The PACELC runs whose module was still loading: run them now.
                if let Some((a, b)) = self.pacelc.as_mut() {
                    for s in std::iter::once(a).chain(b.iter_mut().map(|(_, s)| s)) {
                        if s.retry() {
                            s.run_to_end();
                        }
                    }
                    self.pacelc_figures();
                }
                for c in self.compare.iter_mut() {
                    // A column whose protocol's module just arrived: built now (frames
                    // bring it to where this run stands).
                    if let Ok(ColumnRun::Here(r)) = c.run.as_mut() {
                        r.retry();
                    }
                }
                if self.session.retry() {
                    // A run built again after its module trapped: that message is over.
                    if self
                        .error
                        .as_deref()
                        .is_some_and(|e| e.starts_with("The run stopped:"))
                    {
                        self.error = None;
                    }
                    self.after_change();
                }
            }
            Action::Reset => {
                self.session.seek(0);
                self.verdict = None;
                self.asked = None;
                self.trace_sent = false;
                self.violation_sent = false;
                self.playing = true;
                self.last_frame = None;
                self.after_time();
            }
            Action::ShowAnomaly(i, t) => {
                self.anomaly_sel = Some(i);
                self.seek(t);
            }
            Action::Seek(t) => self.seek(t),
            Action::SeekSelect(t, n) => {
                self.seek(t);
                self.select(Some(n));
            }
            Action::Hover(n) => {
                if self.hover == n {
                    return false;
                }
                self.hover = n;
            }
            Action::Sort(col) => self.sort = cluster::clicked(self.sort, col),
            Action::Select(n) => self.select(n),
            Action::Act(kind) => self.act(kind),
            Action::Edit(Ok(s)) => {
                let at = self.session.now();
                self.apply(s, at);
            }
            Action::Edit(Err(e)) => self.notice = Some(e),
            Action::Load(s) => self.load(*s),
            Action::Undo => self.undo_redo(true),
            Action::Redo => self.undo_redo(false),
            Action::CopyLink => {
                let l = format!("{}#{}", self.base_url, self.share_fragment());
                self.effects.push(Effect::Copy(l.clone()));
                self.link = Some(l);
            }
            Action::NodeDown(node, x, y) => {
                self.drag = Some(Drag {
                    node,
                    start: (x, y),
                    moved: false,
                    before: self.session.scenario().clone(),
                });
            }
            Action::CanvasMove((x, y), unit) => {
                let Some(d) = self.drag.as_mut() else {
                    return false;
                };
                if !d.moved && (x - d.start.0).hypot(y - d.start.1) < DRAG_PX {
                    return false;
                }
                d.moved = true;
                let node = d.node as usize;
                let Some((ux, uy)) = unit else {
                    return false;
                };
                let mut s = self.session.scenario().clone();
                layout::set_position(&mut s, node, ux, uy);
                self.session.replace_cosmetic(s);
            }
            Action::CanvasUp => {
                if let Some(d) = self.drag.take() {
                    if d.moved && self.draw_partition {
                        self.group_by_side(Some(d.node));
                    }
                    if d.moved {
                        self.undo.record(d.before);
                        self.store();
                    } else {
                        let n = if self.selected == Some(d.node) {
                            None
                        } else {
                            Some(d.node)
                        };
                        self.select(n);
                    }
                }
            }
            Action::SelectLink(l) => {
                self.link_sel = l;
                if l.is_some() {
                    self.tab = Tab::Edit;
                }
            }
            Action::Group(n, g) => {
                if g == 0 {
                    Rc::make_mut(&mut self.groups).remove(&n);
                } else {
                    Rc::make_mut(&mut self.groups).insert(n, g);
                }
            }
            Action::ApplyPartition => self.partition_groups(),
            Action::Tab(t) => self.tab = t,
            Action::FaultSelect(i) => self.fault_sel = i,
            Action::FaultDown(i, x) => {
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
            Action::TimelineDown(ms) => {
                self.scrubbing = true;
                self.seek(ms * MS);
            }
            Action::TimelineMove(x, ms) => {
                if let Some(d) = self.fault_drag.as_mut() {
                    if !d.moved && (x - d.start_x).abs() < DRAG_PX {
                        return false;
                    }
                    d.moved = true;
                    d.at_ms = ms;
                } else if self.scrubbing {
                    self.seek(ms * MS);
                } else {
                    return false;
                }
            }
            Action::TimelineUp => {
                self.scrubbing = false;
                if let Some(d) = self.fault_drag.take() {
                    if d.moved {
                        let r = edit::move_fault(self.session.scenario(), d.index, d.at_ms);
                        return self.reduce_inner(Action::Edit(r));
                    }
                    self.fault_sel = Some(d.index);
                }
            }
            Action::Console(f) => self.console = f,
            Action::ConsoleSend => self.console_send(),
            Action::Key(k) => {
                let a = match (k.key.as_str(), k.ctrl, k.shift) {
                    (" ", false, _) => Action::TogglePlay,
                    ("n" | "ArrowRight", false, _) => Action::Step,
                    (z, true, false) if z.eq_ignore_ascii_case("z") => Action::Undo,
                    (z, true, true) if z.eq_ignore_ascii_case("z") => Action::Redo,
                    _ => return false,
                };
                return self.reduce_inner(a);
            }
            Action::Message(Ok(v)) => {
                // Our own event kinds (from a page that forwards them back) are not commands.
                let ty = v.get("type").and_then(Value::as_str).unwrap_or("");
                if embed::EVENTS.contains(&ty) {
                    return false;
                }
                match embed::parse(&v, self.session.scenario().n()) {
                    Ok(c) => self.handle_command(c),
                    Err(e) => {
                        self.effects.push(Effect::Post(embed::error(&e)));
                        self.notice = Some(format!("Ignored a message: {e}"));
                    }
                }
            }
            Action::Message(Err(e)) => {
                self.effects.push(Effect::Post(embed::error(&e)));
                self.notice = Some(format!("Ignored a message: {e}"));
            }
            Action::DismissError => {
                self.error = None;
                self.notice = None;
            }
            Action::Compare(v) => {
                match v {
                    Some(v) => self.add_column(LabSource::Variant(v)),
                    None => self.compare.clear(),
                }
                if self.pacelc.is_some() {
                    self.start_pacelc();
                }
            }
            Action::CompareCurrent => {
                let s = self.session.scenario();
                let c = lab::config(s, lab::config_label(s));
                self.add_column(LabSource::Config(Box::new(c)));
                if self.pacelc.is_some() {
                    self.start_pacelc();
                }
            }
            Action::ComparePreset(id) => {
                let found = self.presets.iter().find(|p| p.id == id);
                match found.map(|p| p.scenario.clone()) {
                    Some(Ok(s)) => {
                        let mut c = lab::config(&s, id.to_string());
                        // The gallery's title, shown on hover.
                        c.description = s.name.clone();
                        self.add_column(LabSource::Config(Box::new(c)));
                        if self.pacelc.is_some() {
                            self.start_pacelc();
                        }
                    }
                    Some(Err(e)) if e == gallery::LOADING => {
                        self.notice = Some(format!("The preset {id} is still loading."))
                    }
                    Some(Err(e)) => {
                        self.notice = Some(format!("Cannot compare with the preset {id}: {e}"))
                    }
                    None => self.notice = Some(format!("No preset is called {id}.")),
                }
            }
            Action::OpenColumn(i, at, sel) => self.open_column(i, at, sel),
            Action::LabReplies(id, replies) => return self.lab_replies(id, replies),
            Action::ColumnAnalysed(id, answer) => {
                let Some(c) = self.compare.iter_mut().find(|c| c.id == id) else {
                    return false;
                };
                c.analysis = Some(answer);
            }
            Action::ExportPng(svg) => self.effects.push(Effect::Png(svg)),
            Action::Uncompare(i) => {
                if i < self.compare.len() {
                    self.compare.remove(i);
                }
                if self.pacelc.is_some() {
                    self.start_pacelc();
                }
            }
            Action::Pacelc(on) => {
                if on {
                    self.start_pacelc();
                } else {
                    self.pacelc = None;
                    self.pacelc_figures.clear();
                }
            }
            Action::Window(w) => {
                if w.is_finite() && w > 0.0 {
                    self.window_ms = w;
                }
            }
            Action::ShowJson(b) => self.show_json = b,
            Action::Workers(st) => self.on_workers(st),
            Action::GridView(follow, width) => {
                if self.grid_view == (follow, width) {
                    return false;
                }
                self.grid_view = (follow, width);
            }
            Action::CheckNow => {
                if let Some(e) = self.session.engine() {
                    self.asked = Some(e.now());
                    self.effects
                        .push(Effect::Analyse(Box::new(Request::of(e, 5_000.0))));
                }
            }
            Action::Analysed(answer) => {
                let now = self.session.engine().map(|e| e.now());
                match answer {
                    // Only the answer for the moment asked last counts (a reset or a
                    // newer question since makes it stale); the run may have played on:
                    // the verdict then says it is about the history up to its moment.
                    Ok(o) if Some(o.at) == self.asked => {
                        self.verdict = Some(o.verdict);
                        self.verdict_at = o.at;
                        self.anomalies = Rc::new(o.anomalies);
                        self.anomaly_sel = None;
                        for a in self.anomalies.list.iter().take(20) {
                            let ev = embed::anomaly(a.kind.name(), a.at_ms, &a.detail);
                            self.effects.push(Effect::Post(ev));
                        }
                        self.count_attempt();
                    }
                    Ok(_) => return false,
                    Err(why) => {
                        self.verdict = Some(Check::Unknown { why });
                        self.verdict_at = now.unwrap_or(0);
                        self.anomalies = Default::default();
                    }
                }
            }
            Action::DrawPartition(on) => {
                self.draw_partition = on;
                if on {
                    self.group_by_side(None);
                }
            }
            Action::Hash(frag) => {
                if frag.is_empty() {
                    return false;
                }
                match quorumlab_sim::url::decode(&frag) {
                    Ok(s) if s.same(self.session.scenario()) => return false,
                    Ok(s) => self.load(s),
                    Err(e) => {
                        self.error = Some(format!(
                            "This link does not hold a scenario: {e}. The current scenario stays."
                        ))
                    }
                }
            }
            Action::EmbedForm(open) => {
                self.embed_form =
                    open.then(|| format!("{}#{}", self.base_url, self.share_fragment()));
            }
            Action::Preset(i, text) => {
                let presets: &mut Vec<gallery::Preset> = Rc::make_mut(&mut self.presets);
                gallery::arrived(presets, i, text)
            }
            Action::Confirmed(yes, p) => match (yes, *p) {
                (true, Pending::Apply(s, at)) => self.apply_now(s, at),
                (true, Pending::Load(s)) => self.load_now(s),
                (false, _) => {
                    self.notice = Some("Not run: the scenario was left as it was.".into())
                }
            },
        }
        true
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
