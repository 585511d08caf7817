//! The playground component: the edge between the page's state ([`super::state`], a
//! reducer tested natively) and the browser. It owns what only a browser has (animation
//! frames, listeners, the analysis worker, the Web Worker run), turns events into
//! [`Action`]s, performs the [`Effect`]s the reducer returns, and lays out the panels
//! ([`super::panels`]), each with props that compare cheaply so that unchanged panels
//! are not drawn again.

use super::browser::{self, Frames, Listeners};
use super::console;
use super::gallery;
use super::grid_view::Props as GridProps;
use super::lessons::LessonProps;
use super::panels::canvas::CanvasProps;
use super::panels::cap::{CapNumbers, CapProps};
use super::panels::console::{ConsoleProps, VerdictProps};
use super::panels::edit::EditPanelProps;
use super::panels::gallery::GalleryProps;
use super::panels::node::NodePanelProps;
use super::panels::run::{BannersProps, ControlsProps, TabsProps};
use super::panels::spacetime::{in_window, SpacetimeProps};
use super::panels::timeline::TimelineProps;
use super::panels::{pane, Panel, Shared};
use super::state::{variants_for, Action, Effect, Frame, State, Tab};
use super::table_view::TableProps;
use super::workers::{runtime_from_query, Mirror, Runtime};
use crate::analysis::Analyst;
use quorumlab_sim::{Flight, Scenario};
use std::cell::RefCell;
use std::rc::Rc;
use yew::prelude::*;

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

/// The moment and window the space-time diagram's messages are for (revision, time,
/// window's bits).
type DiagramKey = (u64, u64, u64);
/// The messages the space-time diagram draws (see [`in_window`]).
type Diagram = Shared<Vec<(usize, Flight)>>;

pub struct Playground {
    state: State,
    /// Every panel's way to send an action (one callback, so props stay equal).
    on: Callback<Action>,
    frames: Frames,
    _listeners: Listeners,
    analyst: Analyst,
    /// The run in Web Workers (runtime `workers`).
    mirror: Option<Mirror>,
    /// The messages the space-time diagram drew last, and for which moment and window.
    spacetime: RefCell<Option<(DiagramKey, Diagram)>>,
}

impl Playground {
    /// Perform what the reducer asked for, in order.
    fn perform(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Post(v) => browser::post_to_parent(&v),
                Effect::Store(json) => browser::storage_set(browser::STORAGE_KEY, &json),
                Effect::Copy(text) => browser::copy_text(&text),
                Effect::Analyse(req) => self.analyst.ask(&req),
                Effect::Global(name, v) => browser::set_global(name, v),
                Effect::Confirm(question, pending) => {
                    let yes = browser::confirm(&question);
                    let (effects, _) = self
                        .state
                        .reduce(Action::Confirmed(yes, Box::new(pending.0)));
                    self.perform(effects);
                }
            }
        }
    }

    /// Keep the workers' run on the same scenario as the page, up to the playhead.
    fn sync_workers(&mut self) {
        let st = &mut self.state;
        if st.runtime != Runtime::Workers {
            self.mirror = None;
            return;
        }
        if st.scrubbing {
            return;
        }
        let Some(m) = self.mirror.as_mut() else {
            return;
        };
        let now = st.session.now();
        if now < m.target() || m.revision() != st.session.revision() {
            if let Err(e) = m.restart(st.session.scenario(), st.session.revision()) {
                st.worker_failed(&e);
                self.mirror = None;
                return;
            }
            st.workers_restarted();
        }
        if let Some(e) = st.session.engine() {
            // The workers check no invariant (each holds one node): the page's run
            // does, and the workers' run stops where it stopped.
            if let Some(f) = e.violation() {
                m.stop_at(f);
            }
            m.run_until(now);
        }
        // Paused with the workers caught up: show the nodes' state as their workers
        // report it.
        let caught_up = st.worker_status.as_ref().is_some_and(|w| w.now == now);
        if !st.playing && caught_up && st.views_asked_at != Some(now) && m.refresh_views() {
            st.views_asked_at = Some(now);
        }
    }

    fn verdict_props(&self) -> VerdictProps {
        let st = &self.state;
        let e = st.session.engine();
        let ops = match (st.anomaly_sel, e) {
            (Some(i), Some(e)) => st
                .anomalies
                .list
                .get(i)
                .map(|x| {
                    let h = e.history();
                    x.ops
                        .iter()
                        .filter_map(|j| h.events.get(*j))
                        .map(|ev| serde_json::to_string(ev).unwrap_or_default())
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        VerdictProps {
            verdict: st.verdict.clone(),
            verdict_at: st.verdict_at,
            end: st.session.end(),
            asked: st.asked.is_some(),
            violation: e.and_then(|e| e.violation().cloned()),
            anomalies: st.anomalies.clone().into(),
            anomaly_sel: st.anomaly_sel,
            ops,
            on: self.on.clone(),
        }
    }

    fn side_panel(&self, scenario: &Shared<Scenario>, frame: Option<&Shared<Frame>>) -> Panel {
        let st = &self.state;
        let on = self.on.clone();
        match st.tab {
            Tab::Node => {
                let worker = st
                    .selected
                    .and_then(|id| st.worker_view(id))
                    .map(|v| Shared(Rc::new(v)));
                Panel::Node(NodePanelProps {
                    selected: st.selected,
                    scenario: scenario.clone(),
                    frame: frame.cloned(),
                    worker,
                    on,
                })
            }
            Tab::Edit => Panel::Edit(EditPanelProps {
                scenario: scenario.clone(),
                selected: st.selected,
                link_sel: st.link_sel,
                groups: Shared(st.groups.clone()),
                draw_partition: st.draw_partition,
                show_json: st.show_json,
                on,
            }),
            Tab::Console => {
                let e = st.session.engine();
                let rows = e.map(console::rows).unwrap_or_default();
                let (history, total) = e
                    .map(|e| {
                        let ev = &e.history().events;
                        let skip = ev.len().saturating_sub(30);
                        let lines: Vec<String> = ev
                            .iter()
                            .skip(skip)
                            .map(|h| serde_json::to_string(h).unwrap_or_default())
                            .collect();
                        (lines, ev.len())
                    })
                    .unwrap_or_default();
                Panel::Console(ConsoleProps {
                    n: scenario.n(),
                    form: st.console.clone(),
                    rows,
                    history,
                    total,
                    verdict: self.verdict_props(),
                    on,
                })
            }
            Tab::Cap => {
                let this = st.session.engine().map(CapNumbers::of);
                let compare = st.compare.as_ref().map(|(v, other)| {
                    (
                        *v,
                        match other.engine() {
                            Some(o) => Ok(CapNumbers::of(o)),
                            None => Err(other.error().unwrap_or("cannot run").to_string()),
                        },
                    )
                });
                Panel::Cap(CapProps {
                    this,
                    compare,
                    variants: variants_for(scenario),
                    verdict: self.verdict_props(),
                    on,
                })
            }
        }
    }
}

impl Component for Playground {
    type Message = Action;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let (mut scenario, error) = initial();
        if let Some(q) = quorumlab_sim::cost::question(&scenario) {
            if !browser::confirm(&q) {
                scenario = gallery::default_scenario();
            }
        }
        if error.is_some() {
            browser::clear_fragment();
        }
        let query = browser::query();
        let mut settings = Vec::new();
        let runtime = runtime_from_query(&query).unwrap_or_else(|e| {
            settings.push(e);
            Runtime::Workers
        });
        if let Err(e) = crate::run_status::lane_kib_from_query(&query) {
            settings.push(e);
        }
        let error = match (error, settings.is_empty()) {
            (e, true) => e,
            (_, false) => Some(settings.join("\n")),
        };
        let mut state = State::new(scenario, error, runtime, gallery::presets());
        state.base_url = browser::base_url();
        let link = ctx.link();
        let mut p = Playground {
            on: link.callback(|a: Action| a),
            frames: Frames::new(link.callback(Action::Frame)),
            _listeners: Listeners::new(
                link.callback(Action::Key),
                link.callback(Action::Message),
                link.callback(Action::Hash),
            ),
            analyst: Analyst::new(link.callback(Action::Analysed)),
            mirror: None,
            spacetime: RefCell::new(None),
            state,
        };
        if p.state.runtime == Runtime::Workers {
            match Mirror::start(
                p.state.session.scenario(),
                p.state.session.revision(),
                link.callback(Action::Workers),
            ) {
                Ok(m) => p.mirror = Some(m),
                Err(e) => p.state.worker_failed(&e),
            }
        }
        let effects = p.state.take_effects();
        p.perform(effects);
        p
    }

    fn update(&mut self, _ctx: &Context<Self>, action: Action) -> bool {
        let (effects, changed) = self.state.reduce(action);
        self.perform(effects);
        self.sync_workers();
        changed
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first: bool) {
        if self.state.playing {
            self.frames.request();
        }
    }

    fn view(&self, _ctx: &Context<Self>) -> Html {
        self.draw()
    }
}

impl Playground {
    /// The messages the space-time diagram draws now (kept while the moment and the
    /// window stay).
    fn spacetime_flights(&self) -> Option<Diagram> {
        let st = &self.state;
        let e = st.session.engine()?;
        let key = (st.session.revision(), e.now(), st.window_ms.to_bits());
        let mut cache = self.spacetime.borrow_mut();
        if let Some((k, fl)) = &*cache {
            if *k == key {
                return Some(fl.clone());
            }
        }
        let fl = Shared(Rc::new(in_window(e.flights(), e.now(), st.window_ms)));
        *cache = Some((key, fl.clone()));
        Some(fl)
    }

    fn draw(&self) -> Html {
        let built = self.state.frame().map(Shared);
        let st = &self.state;
        let on = self.on.clone();
        let scenario: Shared<Scenario> = st.scenario().into();
        let now = st.session.now();
        let spacetime = self.spacetime_flights();
        let s: &Scenario = &scenario;
        // Without a run (a scenario that cannot run) the canvas still shows the nodes.
        let canvas_frame = built
            .clone()
            .unwrap_or_else(|| Shared(Rc::new(Frame::default())));
        let frame = built;
        let outcomes = st.outcomes();
        let over = st.session.engine().is_some_and(|e| e.done());
        let controls = Panel::Controls(ControlsProps {
            playing: st.playing,
            speed: st.speed,
            now,
            end: st.session.end(),
            hash: frame.as_ref().map(|f| f.trace_hash),
            runtime: st.runtime,
            worker: st.worker_status.clone().map(Shared),
            can_undo: st.undo.can_undo(),
            can_redo: st.undo.can_redo(),
            on: on.clone(),
        });
        let banners = Panel::Banners(BannersProps {
            error: st.error.clone(),
            notice: st.notice.clone(),
            link: st.link.clone(),
            on: on.clone(),
        });
        let canvas = Panel::Canvas(CanvasProps {
            scenario: scenario.clone(),
            frame: canvas_frame,
            selected: st.selected,
            hover: st.hover,
            groups: Shared(st.groups.clone()),
            link_sel: st.link_sel,
            draw_partition: st.draw_partition,
            playing: st.playing,
            fps: st.fps,
            on: on.clone(),
        });
        let table = frame.as_ref().map(|f| {
            Panel::Table(TableProps {
                frame: f.clone(),
                sort: st.sort,
                hover: st.hover,
                selected: st.selected,
                on: on.clone(),
            })
        });
        let timeline = Panel::Timeline(TimelineProps {
            scenario: scenario.clone(),
            now,
            fault_drag: st.fault_drag,
            fault_sel: st.fault_sel,
            checkpoints: st.session.checkpoint_times(),
            on: on.clone(),
        });
        let spacetime = spacetime.map(|flights| {
            Panel::Spacetime(SpacetimeProps {
                n: s.n(),
                now,
                window_ms: st.window_ms,
                flights,
                on: on.clone(),
            })
        });
        let lesson = (!outcomes.is_empty()).then(|| {
            Panel::Lesson(LessonProps {
                outcomes,
                scenario: scenario.clone(),
                attempts: st.attempts,
                over,
                on: on.clone(),
            })
        });
        let tabs = Panel::Tabs(TabsProps {
            tab: st.tab,
            on: on.clone(),
        });
        let side = self.side_panel(&scenario, frame.as_ref());
        let gallery = Panel::Gallery(GalleryProps {
            presets: Shared(st.presets.clone()),
            on,
        });
        html! {
            <div class="ql">
                <header class="ql-top">
                    <div class="ql-title">
                        <h1>{ "quorumlab" }</h1>
                        <span class="ql-scn" title={ s.description.clone() }>{ s.name.clone() }</span>
                    </div>
                    { pane(controls) }
                </header>
                { pane(banners) }
                <div class="ql-main">
                    <div class="ql-left">
                        { pane(canvas) }
                        if let (Some(table), Some(f)) = (table, &frame) {
                            { pane(table) }
                            { pane(Panel::Grid(GridProps { input: f.input.clone(), on: self.on.clone() })) }
                        }
                        { pane(timeline) }
                        if let Some(panel) = spacetime {
                            { pane(panel) }
                        }
                    </div>
                    <aside class="ql-side">
                        if let Some(panel) = lesson {
                            { pane(panel) }
                        }
                        { pane(tabs) }
                        { pane(side) }
                    </aside>
                </div>
                { pane(gallery) }
            </div>
        }
    }
}
