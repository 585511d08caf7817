//! The playground component: the edge between the page's state ([`super::state`], a
//! reducer tested natively) and the browser. It owns what only a browser has (animation
//! frames, listeners, the analysis worker, the Web Worker run), turns events into
//! [`Action`]s, performs the [`Effect`]s the reducer returns, and lays out the panels
//! ([`super::panels`]), each with props that compare cheaply so that unchanged panels
//! are not drawn again.

use super::browser::{self, Frames, Listeners};
use super::console;
use super::embed_view::{self, ReadOnly};
use super::gallery;
use super::grid_view::Props as GridProps;
use super::lessons::LessonProps;
use super::panels::canvas::CanvasProps;
use super::panels::cap::{CapNumbers, CapProps, ColumnView, LabAnomalies, Pacelc, PacelcNumbers};
use super::panels::console::{ConsoleProps, VerdictProps};
use super::panels::edit::EditPanelProps;
use super::panels::gallery::GalleryProps;
use super::panels::locks::LocksProps;
use super::panels::node::NodePanelProps;
use super::panels::ring::RingProps;
use super::panels::run::{BannersProps, BuilderProps, ControlsProps, TabsProps};
use super::panels::spacetime::SpacetimeProps;
use super::panels::timeline::TimelineProps;
use super::panels::{pane, Panel, Shared};
use super::state::{variants_for, Action, Effect, Frame, State, Tab};
use super::table_view::TableProps;
use super::workers::{runtime_from_query, Mirror, Runtime};
use crate::analysis::{Analyst, RUN};
use crate::lab_workers::LabWorkers;
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
/// The messages the space-time diagram draws (see `Engine::flights_window`).
type Diagram = Shared<Vec<(usize, Flight)>>;

pub struct Playground {
    state: State,
    /// Every panel's way to send an action (one callback, so props stay equal).
    on: Callback<Action>,
    frames: Frames,
    _listeners: Listeners,
    analyst: Analyst,
    /// The lab columns' workers.
    lab: LabWorkers,
    /// The run in Web Workers (runtime `workers`).
    mirror: Option<Mirror>,
    /// Where the workers' run reports (kept to start it once the engine is there).
    on_workers: Callback<crate::run_status::WorkerStatus>,
    /// The messages the space-time diagram drew last, and for which moment and window.
    spacetime: RefCell<Option<(DiagramKey, Diagram)>>,
}

impl Playground {
    /// Perform what the reducer asked for, in order.
    fn perform(&mut self, effects: Vec<Effect>) {
        // The workers of lab columns gone (removed, or run again under a new id) stop.
        if self.lab.running() > 0 {
            let ids: Vec<u64> = self.state.compare.iter().map(|c| c.id).collect();
            self.lab.keep(&ids);
        }
        for e in effects {
            match e {
                Effect::Post(v) => browser::post_to_parent(&v),
                Effect::Store(json) => browser::storage_set(browser::STORAGE_KEY, &json),
                Effect::Copy(text) => browser::copy_text(&text),
                Effect::Analyse(req) => self.analyst.ask(RUN, &req),
                Effect::AnalyseColumn(id, req) => self.analyst.ask(id, &req),
                Effect::LabCalls(id, protocol, calls) => self.lab.send(id, &protocol, calls),
                Effect::Png(svg) => browser::download_png(&svg, "quorumlab-availability.png"),
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

    /// Start the workers' run once the page's own run exists (its engine module may
    /// still be loading: the coordinator lives there too).
    fn start_workers(&mut self) {
        let st = &mut self.state;
        if st.runtime != Runtime::Workers || self.mirror.is_some() || st.session.engine().is_none()
        {
            return;
        }
        match Mirror::start(
            st.session.scenario(),
            st.session.revision(),
            self.on_workers.clone(),
        ) {
            Ok(m) => self.mirror = Some(m),
            Err(e) => st.worker_failed(&e),
        }
    }

    /// Keep the workers' run on the same scenario as the page, up to the playhead.
    fn sync_workers(&mut self) {
        if self.state.runtime != Runtime::Workers {
            self.mirror = None;
            return;
        }
        // A run whose engine module is loading has nothing to follow yet.
        if self.state.scrubbing || self.state.session.engine().is_none() {
            return;
        }
        self.start_workers();
        let st = &mut self.state;
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

    /// The panel of side tab `tab`.
    fn side_panel(
        &self,
        tab: Tab,
        scenario: &Shared<Scenario>,
        frame: Option<&Shared<Frame>>,
    ) -> Panel {
        let st = &self.state;
        let on = self.on.clone();
        match tab {
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
                    ops: crate::ui::edit::data_type(scenario).ops,
                    form: st.console.clone(),
                    rows,
                    history,
                    total,
                    verdict: self.verdict_props(),
                    on,
                })
            }
            Tab::Cap => {
                let spells = |e: &dyn quorumlab_sim::Engine| {
                    e.lock_report().map(|r| r.spells).unwrap_or_default()
                };
                let e = st.session.engine();
                let this = e.map(CapNumbers::of);
                let this_state = match (&st.verdict, st.asked) {
                    (Some(_), _) => "done",
                    (None, Some(_)) => "checking",
                    (None, None) => "running",
                };
                let this_anomalies = LabAnomalies::of(
                    this_state,
                    st.verdict.as_ref(),
                    st.verdict.as_ref().map(|_| &*st.anomalies),
                    e.and_then(|e| e.violation()),
                    &e.map(spells).unwrap_or_default(),
                );
                let compare = st
                    .compare
                    .iter()
                    .map(|c| {
                        let run = c.run.as_ref();
                        let numbers = match run {
                            Ok(r) => r.numbers(),
                            Err(e) => Err(format!("cannot run: {e}")),
                        };
                        let (state, outcome) = match (&c.analysis, c.asked) {
                            (Some(Ok(o)), _) => ("done", Some(o)),
                            (Some(Err(_)), _) => ("failed", None),
                            (None, true) => ("checking", None),
                            (None, false) => ("running", None),
                        };
                        let mut anomalies = LabAnomalies::of(
                            state,
                            outcome.map(|o| &o.verdict),
                            outcome.map(|o| &o.anomalies),
                            run.ok().and_then(|r| r.violation()),
                            &run.map(|r| r.spells()).unwrap_or_default(),
                        );
                        if let Some(Err(why)) = &c.analysis {
                            anomalies.summary = format!("not analysed: {why}");
                        }
                        ColumnView {
                            label: c.label(),
                            title: run
                                .map(|r| r.scenario().description.clone())
                                .unwrap_or_default(),
                            variant: match &c.source {
                                crate::ui::lab::Source::Variant(v) => Some(v.id),
                                _ => None,
                            },
                            note: run
                                .map(|r| crate::ui::lab::shape_note(r.scenario(), scenario))
                                .unwrap_or_default(),
                            numbers,
                            anomalies,
                            runs_in: match run {
                                Ok(r) if r.in_worker() => "worker",
                                _ => "page",
                            },
                            hash: run
                                .ok()
                                .and_then(|r| r.trace_hash())
                                .map(|h| format!("{h:016x}"))
                                .unwrap_or_default(),
                        }
                    })
                    .collect();
                // The figures worked out once when the runs ended (see `State::pacelc_figures`).
                let numbers = |i: usize, s: &crate::ui::session::Session| match st
                    .pacelc_figures
                    .get(i)
                    .cloned()
                    .flatten()
                {
                    Some((total, stale_reads)) => Ok(PacelcNumbers { total, stale_reads }),
                    None if s.loading() => Err("loading its engine".to_string()),
                    None => Err(s.error().unwrap_or("cannot run").to_string()),
                };
                let pacelc = st.pacelc.as_ref().map(|(a, b)| Pacelc {
                    this: numbers(0, a),
                    other: b
                        .iter()
                        .enumerate()
                        .map(|(i, (label, b))| (label.clone(), numbers(i + 1, b)))
                        .collect(),
                });
                let presets = st
                    .presets
                    .iter()
                    .take(gallery::PRESETS.len())
                    .map(|p| (p.id, p.scenario.is_ok()))
                    .collect();
                Panel::Cap(CapProps {
                    this,
                    this_label: st.main_label.clone(),
                    this_anomalies,
                    compare,
                    pacelc,
                    lab_link: (!st.compare.is_empty()).then(|| st.lab_link()),
                    variants: variants_for(scenario),
                    presets,
                    verdict: self.verdict_props(),
                    on,
                })
            }
            Tab::Ring => Panel::Ring(RingProps {
                frame: frame.cloned(),
            }),
            Tab::Locks => Panel::Locks(LocksProps {
                report: st
                    .session
                    .engine()
                    .and_then(|e| e.lock_report())
                    .map(|r| Shared(Rc::new(r))),
                now: st.session.engine().map_or(0, |e| e.now()),
                end: st.session.end(),
                on,
            }),
        }
    }
}

impl Component for Playground {
    type Message = Action;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let (mut scenario, error) = initial();
        let query = browser::query();
        let embedded = embed_view::from_query(&query);
        if let Some((o, _)) = &embedded {
            // Who may command the widget (and hear it), before it says anything.
            browser::set_embed_policy(&o.allow_origins);
            browser::set_theme(o.theme);
            if let Some(seed) = o.seed {
                scenario.seed = seed;
            }
        }
        if let Some(q) = quorumlab_sim::cost::question(&scenario) {
            if !browser::confirm(&q) {
                scenario = gallery::default_scenario();
            }
        }
        if error.is_some() {
            browser::clear_fragment();
        }
        let mut settings = Vec::new();
        let runtime = runtime_from_query(&query).unwrap_or_else(|e| {
            settings.push(e);
            Runtime::Workers
        });
        if let Err(e) = crate::run_status::lane_kib_from_query(&query) {
            settings.push(e);
        }
        let (embed, bad_options) = embedded.unzip();
        settings.extend(bad_options.into_iter().flatten());
        let error = match (error, settings.is_empty()) {
            (e, true) => e,
            (e, false) => Some(e.into_iter().chain(settings).collect::<Vec<_>>().join("\n")),
        };
        let link = ctx.link();
        if embed.is_none() {
            // The widget has no gallery.
            gallery::fetch_all(link.callback(|(i, t)| Action::Preset(i, t)));
        }
        let mut state = State::new(scenario, error, runtime, gallery::presets(), embed);
        state.base_url = browser::base_url();
        // The lab's columns run in workers of their own where the nodes do and the page
        // is isolated; elsewhere (`?runtime=inline`, an embedding page) on this thread.
        #[cfg(target_arch = "wasm32")]
        {
            state.lab_workers =
                runtime == Runtime::Workers && crate::worker_pool::can_share_memory();
        }
        let mut p = Playground {
            on: link.callback(|a: Action| a),
            frames: Frames::new(link.callback(Action::Frame)),
            _listeners: Listeners::new(
                link.callback(Action::Key),
                link.callback(Action::Message),
                link.callback(Action::Hash),
                link.callback(|()| Action::EngineReady),
            ),
            analyst: Analyst::new(link.callback(|(tag, answer)| {
                if tag == RUN {
                    Action::Analysed(answer)
                } else {
                    Action::ColumnAnalysed(tag, answer)
                }
            })),
            lab: LabWorkers::new(link.callback(|(id, replies)| Action::LabReplies(id, replies))),
            mirror: None,
            on_workers: link.callback(Action::Workers),
            spacetime: RefCell::new(None),
            state,
        };
        p.start_workers();
        p.state.ready();
        // A link to a comparison (`?lab=MultiPaxos,2.<check>.<data>`): its columns again.
        if let Some(value) = query.split('&').find_map(|kv| kv.strip_prefix("lab=")) {
            p.state.open_lab(value);
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
        // Playing, or the lab's columns catching up.
        if self.state.playing || self.state.lab_behind() {
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
        let fl = Shared(Rc::new(e.flights_window(e.now(), st.window_ms)));
        *cache = Some((key, fl.clone()));
        Some(fl)
    }

    fn draw(&self) -> Html {
        let built = self.state.frame().map(Shared);
        let st = &self.state;
        let on = self.on.clone();
        let scenario: Shared<Scenario> = st.scenario().into();
        let now = st.session.now();
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
            embeddable: st.embed.is_none(),
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
        // The cluster table and the log grid, drawn from the same rows.
        let replication = |f: &Shared<Frame>| {
            html! {
                <>
                    { pane(Panel::Table(TableProps {
                        frame: f.clone(),
                        sort: st.sort,
                        hover: st.hover,
                        selected: st.selected,
                        on: on.clone(),
                    })) }
                    { pane(Panel::Grid(GridProps { input: f.input.clone(), on: on.clone() })) }
                </>
            }
        };
        let timeline = || {
            pane(Panel::Timeline(TimelineProps {
                scenario: scenario.clone(),
                now,
                fault_drag: st.fault_drag,
                fault_sel: st.fault_sel,
                checkpoints: st.session.checkpoint_times(),
                moments: st.session.engine().map(|e| e.marks()).unwrap_or_default(),
                anomalies: st.anomalies.clone(),
                on: on.clone(),
            }))
        };
        let spacetime = || {
            self.spacetime_flights().map(|flights| {
                pane(Panel::Spacetime(SpacetimeProps {
                    n: s.n(),
                    now,
                    window_ms: st.window_ms,
                    flights,
                    on: on.clone(),
                }))
            })
        };
        let lesson = (!outcomes.is_empty()).then(|| {
            pane(Panel::Lesson(LessonProps {
                outcomes,
                scenario: scenario.clone(),
                attempts: st.attempts,
                over,
                on: on.clone(),
            }))
        });
        let side = |tab: Tab| pane(self.side_panel(tab, &scenario, frame.as_ref()));
        if let Some(o) = &st.embed {
            // The widget: the run, the author's panels, a link to the full page.
            let open = embed_view::open_url(&st.base_url, &quorumlab_sim::url::encode(s));
            let panel = |x: &embed_view::Panel| match x {
                embed_view::Panel::Log => frame.as_ref().map(replication).unwrap_or_default(),
                embed_view::Panel::Spacetime => spacetime().unwrap_or_default(),
                embed_view::Panel::Console => side(Tab::Console),
                embed_view::Panel::Cap => side(Tab::Cap),
                embed_view::Panel::Node => side(Tab::Node),
                embed_view::Panel::Lesson => lesson.clone().unwrap_or_default(),
                embed_view::Panel::Locks => side(Tab::Locks),
                embed_view::Panel::Ring => side(Tab::Ring),
            };
            // A node clicked shows its fault buttons, unless the author forbade faults.
            let node = st.selected.is_some()
                && o.readonly != ReadOnly::All
                && !o.panels.contains(&embed_view::Panel::Node);
            return html! {
                <div class={classes!("ql", "ql-embed", (o.readonly != ReadOnly::No).then_some("ro"), (!o.controls).then_some("bare"))}
                     data-testid="embed">
                    <div class="ql-embed-top">
                        <span class="ql-scn" title={s.description.clone()}>{ s.name.clone() }</span>
                        <a class="ql-open" data-testid="open-full" href={open} target="_blank" rel="noopener">{ "Open in quorumlab ↗" }</a>
                    </div>
                    if o.controls { { pane(controls) } }
                    { pane(banners) }
                    <main class="ql-embed-main">
                        { pane(canvas) }
                        if o.controls { { timeline() } }
                        if node { { side(Tab::Node) } }
                        { for o.panels.iter().map(panel) }
                    </main>
                </div>
            };
        }
        let tabs = Panel::Tabs(TabsProps {
            tab: st.tab,
            locks: quorumlab_sim::registry::entry(&s.protocol.name)
                .is_some_and(|e| e.node_clients == quorumlab_core::DataType::LOCK),
            ring: frame.as_ref().is_some_and(|f| {
                (0..f.input.rows.len()).any(|i| f.view(i).is_some_and(|v| v.ring.is_some()))
            }),
            on: on.clone(),
        });
        let builder = st.embed_form.clone().map(|link| {
            Panel::Builder(BuilderProps {
                link,
                on: on.clone(),
            })
        });
        let gallery = Panel::Gallery(GalleryProps {
            presets: Shared(st.presets.clone()),
            on: on.clone(),
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
                if let Some(panel) = builder {
                    { pane(panel) }
                }
                // The lab's columns side by side want a wider side panel.
                <div class={classes!("ql-main", (st.tab == Tab::Cap && !st.compare.is_empty()).then_some("ql-lab-wide"))}>
                    <div class="ql-left">
                        { pane(canvas) }
                        if let Some(f) = &frame {
                            { replication(f) }
                        }
                        { timeline() }
                        if let Some(panel) = spacetime() {
                            { panel }
                        }
                    </div>
                    <aside class="ql-side">
                        if let Some(panel) = lesson {
                            { panel }
                        }
                        { pane(tabs) }
                        { side(st.tab) }
                    </aside>
                </div>
                { pane(gallery) }
            </div>
        }
    }
}
