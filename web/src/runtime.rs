//! The worker runtime: every node in its own Web Worker, the simulator on the page.
//!
//! The page keeps a `quorumlab_sim::remote::Coordinator` (the simulator without node
//! state). For each window it sends every node with work its job, waits for all the
//! results, and hands them back; the simulator applies them in node order, so the run
//! is the same, event for event, as on one thread. Crashing a node terminates its
//! worker; the node's next job (its restart, carrying the disk) starts a new one.
//!
//! Two ways to reach the workers. With shared memory (the page is cross-origin isolated),
//! a window's jobs go over each worker's lane and the page spins until the results are
//! there, running windows back to back for a slice of at most [`SLICE_MS`] before it
//! yields to the event loop. Without it, or for a job too big for the lane, jobs are
//! posted and the run continues when the last answer arrives. Either way the page stays
//! responsive while a run goes on.

use crate::run_status::WorkerStatus;
use crate::worker_pool::{LaneResult, NodeWorker, WorkerEvent};
use quorumlab_core::{NodeId, NodeView, Time};
use quorumlab_sim::remote::Coordinator;
use quorumlab_sim::Scenario;
use quorumlab_worker::{FromWorker, ToWorker};
use std::cell::RefCell;
use std::rc::{Rc, Weak};

/// How long a new worker gets to load and say it is ready.
const WORKER_START_TIMEOUT_MS: u32 = 20_000;
/// How long the page runs windows over the lanes before it lets the event loop in.
const SLICE_MS: f64 = 8.0;
/// How long the page spins for one window's results on the lanes before it gives up.
const LANE_TIMEOUT_MS: f64 = 5_000.0;

/// Where a worker run stands.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// Where the run stands (time, events, hash, workers, error).
    pub run: WorkerStatus,
    pub end: Time,
}

struct Inner {
    protocol: String,
    params: Vec<u8>,
    coord: Box<dyn Coordinator>,
    workers: Vec<Option<NodeWorker>>,
    /// Which spawn each worker is (for the start-up watchdog).
    serials: Vec<u64>,
    next_serial: u64,
    /// Results of the window in flight, and how many are awaited.
    pending: usize,
    results: Vec<(NodeId, Vec<u8>)>,
    window_id: u64,
    target: Time,
    progress: Progress,
    views_pending: usize,
    on_progress: Rc<dyn Fn(&Progress)>,
    me: Weak<RefCell<Inner>>,
    /// Continues a run after a slice (a message to oneself: no timer clamping).
    resume: Option<(
        web_sys::MessageChannel,
        wasm_bindgen::closure::Closure<dyn FnMut()>,
    )>,
    resume_pending: bool,
    /// When the run (or its restart) began, `performance.now()` milliseconds.
    started_at: f64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A continuation may still be on its way: it must not reach a dropped closure.
        if let Some((channel, _)) = &self.resume {
            channel.port1().set_onmessage(None);
        }
    }
}

impl Inner {
    /// The running worker of `node`, if any.
    fn worker(&self, node: NodeId) -> Option<&NodeWorker> {
        self.workers.get(node as usize).and_then(|w| w.as_ref())
    }

    /// What makes a worker host a fresh node of this run's protocol.
    fn init(&self) -> ToWorker {
        ToWorker::Init {
            protocol: self.protocol.clone(),
            params: self.params.clone(),
        }
    }
}

/// A run of a scenario with one Web Worker per node.
#[derive(Clone)]
pub struct WorkerRun {
    inner: Rc<RefCell<Inner>>,
}

impl WorkerRun {
    /// Prepare a run; `on_progress` is called whenever it advances, ends or fails.
    pub fn new(
        scenario: &Scenario,
        on_progress: impl Fn(&Progress) + 'static,
    ) -> Result<WorkerRun, String> {
        let coord = crate::engines::coordinator(scenario)?;
        let params = quorumlab_sim::remote::encode_params(scenario).map_err(|e| e.to_string())?;
        let n = scenario.n();
        let end = coord.engine().end();
        let inner = Rc::new_cyclic(|me| {
            RefCell::new(Inner {
                protocol: scenario.protocol.name.clone(),
                params,
                coord,
                workers: (0..n).map(|_| None).collect(),
                serials: vec![0; n],
                next_serial: 1,
                pending: 0,
                results: Vec::new(),
                window_id: 0,
                target: 0,
                progress: Progress {
                    run: WorkerStatus {
                        views: vec![None; n],
                        ..WorkerStatus::default()
                    },
                    end,
                },
                views_pending: 0,
                on_progress: Rc::new(on_progress),
                me: me.clone(),
                resume: None,
                resume_pending: false,
                started_at: now_ms(),
            })
        });
        Ok(WorkerRun { inner })
    }

    /// Advance to simulated time `t` (or the end).
    pub fn run_until(&self, t: Time) {
        {
            let mut st = self.inner.borrow_mut();
            st.target = st.target.max(t);
            if st.pending > 0 {
                return; // the window in flight continues the run when it completes
            }
        }
        drive(&self.inner);
    }

    /// Start over from time 0 with `scenario` (an edit, or going back in time). The
    /// running workers of the same protocol stay: each is told to host a fresh node, so
    /// nothing is reloaded.
    pub fn restart(&self, scenario: &Scenario) -> Result<(), String> {
        let coord = crate::engines::coordinator(scenario)?;
        let params = quorumlab_sim::remote::encode_params(scenario).map_err(|e| e.to_string())?;
        let n = scenario.n();
        {
            let mut st = self.inner.borrow_mut();
            st.coord = coord;
            if st.protocol != scenario.protocol.name {
                // Each protocol has its own node worker: another protocol's workers go.
                for w in st.workers.iter_mut() {
                    *w = None;
                }
            }
            st.protocol = scenario.protocol.name.clone();
            st.params = params;
            st.workers.resize_with(n, || None);
            st.serials.resize(n, 0);
            let init = st.init();
            let mut failed = None;
            for (i, w) in st.workers.iter().enumerate() {
                if let Some(w) = w {
                    if let Err(e) = w.send(init.clone()) {
                        failed = Some(format!("node {i}: {e}"));
                    }
                }
            }
            // Answers still on their way belong to the old run: a new window id
            // makes them stale.
            st.window_id += 1;
            st.pending = 0;
            st.results.clear();
            st.views_pending = 0;
            st.target = 0;
            st.started_at = now_ms();
            let end = st.coord.engine().end();
            let started = st.progress.run.workers_started;
            st.progress = Progress {
                run: WorkerStatus {
                    workers_started: started,
                    views: vec![None; n],
                    ..WorkerStatus::default()
                },
                end,
            };
            if let Some(e) = failed {
                drop(st);
                fail(&self.inner, e);
                return Ok(());
            }
        }
        update(&self.inner);
        Ok(())
    }

    /// The invariant violation the page's own run (which holds every node's state)
    /// met: this run stops after the same event with the same report. A worker holds
    /// one node, so the workers check no invariant themselves.
    pub fn stop_at(&self, found: &quorumlab_sim::engine::Found) {
        let passed = !self.inner.borrow_mut().coord.stop_at(found);
        if passed {
            fail(
                &self.inner,
                format!(
                    "the workers' run is past event {} where the page's run found a violation",
                    found.event
                ),
            );
        }
    }

    /// Run to the end of the scenario.
    pub fn run_to_end(&self) {
        self.run_until(Time::MAX);
    }

    /// Ask every live worker for its node's view, while no window is in flight (so the
    /// views are of the run's current time); `on_progress` fires when all have answered.
    /// Returns whether it asked.
    pub fn refresh_views(&self) -> bool {
        {
            let mut st = self.inner.borrow_mut();
            if st.pending > 0 || st.progress.run.error.is_some() {
                return false;
            }
            st.progress.run.views.iter_mut().for_each(|v| *v = None);
            st.progress.run.views_at = Some(st.progress.run.now);
            let mut asked = 0;
            for w in st.workers.iter().flatten() {
                if w.send(ToWorker::View).is_ok() {
                    asked += 1;
                }
            }
            st.views_pending = asked;
            if asked > 0 {
                return true;
            }
        }
        // Every node is down: nothing to wait for.
        notify(&self.inner);
        true
    }

    pub fn progress(&self) -> Progress {
        self.inner.borrow().progress.clone()
    }
}

fn notify(inner: &Rc<RefCell<Inner>>) {
    let (cb, p) = {
        let st = inner.borrow();
        (st.on_progress.clone(), st.progress.clone())
    };
    cb(&p);
}

fn fail(inner: &Rc<RefCell<Inner>>, message: String) {
    {
        let mut st = inner.borrow_mut();
        if st.progress.run.error.is_some() {
            return;
        }
        st.progress.run.error = Some(message);
        st.pending = 0;
        st.workers.iter_mut().for_each(|w| *w = None);
    }
    notify(inner);
}

/// Continue `drive` after the event loop has had its turn.
fn resume_later(st: &mut Inner) {
    use wasm_bindgen::JsCast;
    if st.resume_pending {
        return;
    }
    if st.resume.is_none() {
        let Ok(channel) = web_sys::MessageChannel::new() else {
            return;
        };
        let me = st.me.clone();
        let cb = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = me.upgrade() {
                inner.borrow_mut().resume_pending = false;
                drive(&inner);
            }
        });
        channel
            .port1()
            .set_onmessage(Some(cb.as_ref().unchecked_ref()));
        st.resume = Some((channel, cb));
    }
    if let Some((channel, _)) = &st.resume {
        st.resume_pending = channel
            .port2()
            .post_message(&wasm_bindgen::JsValue::NULL)
            .is_ok();
    }
}

/// What one step of [`drive`] left to do.
enum Step {
    /// Take another step.
    Again,
    /// Wait: for the workers' answers, for a continuation, or for a new target.
    Wait,
    /// The run stands at its target, or ends, or a slice is over: tell the page.
    Report,
    Fail(String),
}

/// Step the coordinator until it needs the workers (a window) or reaches the target.
fn drive(inner: &Rc<RefCell<Inner>>) {
    let slice_start = now_ms();
    loop {
        let step = step(&mut inner.borrow_mut(), slice_start);
        match step {
            Step::Again => {}
            Step::Wait => return,
            Step::Report => {
                update(inner);
                notify(inner);
                return;
            }
            Step::Fail(e) => {
                fail(inner, e);
                return;
            }
        }
    }
}

fn step(st: &mut Inner, slice_start: f64) -> Step {
    if st.progress.run.error.is_some() || st.progress.run.done || st.pending > 0 {
        return Step::Wait;
    }
    if st.coord.engine().violation().is_some() {
        // Stopped by a violation (see `WorkerRun::stop_at`): the run is over, and
        // stands at the target like the simulator's own `run_until`.
        if st.target != Time::MAX {
            let t = st.target;
            st.coord.engine_mut().run_until(t);
        }
        st.progress.run.done = true;
        return Step::Report;
    }
    for i in st.coord.take_crashed() {
        // A crash is a real crash: the node's thread goes away.
        if let Some(w) = st.workers.get_mut(i as usize) {
            *w = None;
        }
    }
    // Like the simulator's own `run_until`: every step due by the target, then stand
    // at the target (so the page's replica and the workers meet at equal times).
    let target = st.target;
    let next = st.coord.engine().next_time();
    if target != Time::MAX && next.is_none_or(|x| x > target) {
        st.coord.engine_mut().run_until(target);
        let end = st.progress.end;
        if target >= end && next.is_none_or(|x| x > end) {
            st.progress.run.done = true;
        }
        return Step::Report;
    }
    let jobs = match st.coord.begin() {
        Err(()) => {
            st.progress.run.done = true;
            return Step::Report;
        }
        Ok(None) => return Step::Again,
        Ok(Some(jobs)) => jobs,
    };
    if jobs.is_empty() {
        // A window whose events all fell on crashed nodes: nothing to compute.
        return match st.coord.finish(Vec::new()) {
            Ok(()) => Step::Again,
            Err(e) => Step::Fail(e),
        };
    }
    st.window_id += 1;
    st.results.clear();
    let id = st.window_id;
    for (node, _) in &jobs {
        if let Err(e) = ensure_worker(st, *node) {
            return Step::Fail(e);
        }
    }
    let on_lanes = jobs
        .iter()
        .all(|(node, job)| st.worker(*node).is_some_and(|w| w.lane_ready(job.len())));
    if on_lanes {
        return match run_on_lanes(st, id, jobs) {
            Err(e) => Step::Fail(e),
            // Some answers were posted: the run continues when they arrive.
            Ok(false) => {
                st.progress.run.posted_windows += 1;
                Step::Wait
            }
            Ok(true) => {
                st.progress.run.shared_windows += 1;
                if now_ms() - slice_start > SLICE_MS {
                    resume_later(st);
                    Step::Report
                } else {
                    Step::Again
                }
            }
        };
    }
    st.pending = jobs.len();
    st.progress.run.posted_windows += 1;
    for (node, job) in jobs {
        let sent = match st.worker(node) {
            Some(w) => w.send(ToWorker::Job { id, job }),
            None => Err(format!("node {node} has no worker")),
        };
        if let Err(e) = sent {
            return Step::Fail(format!("node {node}: {e}"));
        }
    }
    Step::Wait
}

/// Run a window's jobs over the workers' lanes: all written first (so the workers run in
/// parallel), then waited for in node order. `Ok(true)` when the window is finished;
/// `Ok(false)` when some worker posted its answer instead (then the window is pending).
fn run_on_lanes(st: &mut Inner, id: u64, jobs: Vec<(NodeId, Vec<u8>)>) -> Result<bool, String> {
    for (node, job) in &jobs {
        if let Some(w) = st.worker(*node) {
            w.lane_post(id, job);
        }
    }
    let deadline = now_ms() + LANE_TIMEOUT_MS;
    let mut results = Vec::with_capacity(jobs.len());
    for (node, _) in &jobs {
        let w = st
            .worker(*node)
            .ok_or_else(|| format!("node {node} has no worker"))?;
        match w.lane_wait(deadline, now_ms)? {
            LaneResult::Done(r) => results.push((*node, r)),
            LaneResult::Posted => {}
        }
    }
    if results.len() < jobs.len() {
        st.pending = jobs.len();
        st.results = results;
        return Ok(false);
    }
    st.coord.finish(results)?;
    window_finished(st);
    Ok(true)
}

/// Note when the run's first window is finished: its start-up is over.
fn window_finished(st: &mut Inner) {
    if st.progress.run.startup_ms.is_none() {
        st.progress.run.startup_ms = Some(now_ms() - st.started_at);
        st.progress.run.startup_events = st.coord.engine().events();
    }
}

fn update(inner: &Rc<RefCell<Inner>>) {
    let mut st = inner.borrow_mut();
    let e = st.coord.engine();
    let (now, events, hash) = (e.now(), e.events(), format!("{:016x}", e.trace_hash()));
    // A finished run stands at the scenario's end, like the simulator's own loop (one
    // stopped by a violation, at the violation).
    st.progress.run.now = if st.progress.run.done && e.violation().is_none() {
        st.progress.end
    } else {
        now
    };
    st.progress.run.events = events;
    st.progress.run.trace_hash = hash;
    st.progress.run.live = st.workers.iter().flatten().count() as u32;
    st.progress.run.shared_memory = crate::worker_pool::can_share_memory();
}

fn ensure_worker(st: &mut Inner, node: NodeId) -> Result<(), String> {
    match st.workers.get(node as usize) {
        None => return Err(format!("no node {node}")),
        Some(Some(_)) => return Ok(()),
        Some(None) => {}
    }
    let me = st.me.clone();
    let w = NodeWorker::spawn(node, &st.protocol, move |node, ev| {
        if let Some(inner) = me.upgrade() {
            on_worker_event(&inner, node, ev);
        }
    })?;
    w.send(st.init())?;
    st.workers[node as usize] = Some(w);
    let serial = st.next_serial;
    st.next_serial += 1;
    st.serials[node as usize] = serial;
    st.progress.run.workers_started += 1;
    // A worker whose script or WebAssembly fails to load may never say so (a failed
    // promise inside a worker is not an error event): give it a deadline.
    let me = st.me.clone();
    gloo_timers::callback::Timeout::new(WORKER_START_TIMEOUT_MS, move || {
        let Some(inner) = me.upgrade() else { return };
        let late = {
            let st = inner.borrow();
            st.serials.get(node as usize) == Some(&serial)
                && st.worker(node).is_some_and(|w| !w.is_ready())
        };
        if late {
            fail(
                &inner,
                format!(
                    "the worker of node {node} did not start within {} s (could it load node_worker_loader.js and its WebAssembly?)",
                    WORKER_START_TIMEOUT_MS / 1000
                ),
            );
        }
    })
    .forget();
    Ok(())
}

fn on_worker_event(inner: &Rc<RefCell<Inner>>, node: u32, ev: WorkerEvent) {
    match ev {
        WorkerEvent::Failed(e) => fail(inner, format!("the worker of node {node} failed: {e}")),
        WorkerEvent::Message(FromWorker::Error { message }) => fail(
            inner,
            format!("the worker of node {node} reported: {message}"),
        ),
        WorkerEvent::Message(FromWorker::Done { id, node, result }) => {
            let complete = {
                let mut st = inner.borrow_mut();
                if id != st.window_id || st.pending == 0 {
                    return; // a stale answer from before an error
                }
                st.results.push((node, result));
                st.results.len() == st.pending
            };
            if complete {
                let res = {
                    let mut st = inner.borrow_mut();
                    let results = std::mem::take(&mut st.results);
                    st.pending = 0;
                    let res = st.coord.finish(results);
                    window_finished(&mut st);
                    res
                };
                match res {
                    Ok(()) => drive(inner),
                    Err(e) => fail(inner, e),
                }
            }
        }
        WorkerEvent::Message(FromWorker::View { node, view }) => {
            let all = {
                let mut st = inner.borrow_mut();
                let v = view.and_then(|v| quorumlab_sim::remote::decode::<NodeView>(&v).ok());
                if let Some(slot) = st.progress.run.views.get_mut(node as usize) {
                    *slot = v;
                }
                st.views_pending = st.views_pending.saturating_sub(1);
                st.views_pending == 0
            };
            if all {
                notify(inner);
            }
        }
        WorkerEvent::Message(_) => {}
    }
}

/// What a whole run reports to JavaScript (tests, benchmarks, embedders).
fn outcome(p: &Progress, ms: f64, runtime: &str) -> js_sys::Object {
    let o = js_sys::Object::new();
    let set = |k: &str, v: wasm_bindgen::JsValue| {
        let _ = js_sys::Reflect::set(&o, &k.into(), &v);
    };
    set("runtime", runtime.into());
    set("trace_hash", p.run.trace_hash.as_str().into());
    set("events", (p.run.events as f64).into());
    set(
        "simulated_ms",
        ((p.run.now.min(p.end)) as f64 / 1000.0).into(),
    );
    set("wall_ms", ms.into());
    let rate = |events: u64, ms: f64| {
        if ms > 0.0 {
            events as f64 / ms * 1000.0
        } else {
            0.0
        }
    };
    // At speed: after the start-up (starting the workers), which a run pays once.
    let (startup_ms, startup_events) = match p.run.startup_ms {
        Some(s) if s < ms => (s, p.run.startup_events),
        _ => (0.0, 0),
    };
    set("startup_ms", startup_ms.into());
    set(
        "events_per_second",
        rate(p.run.events.saturating_sub(startup_events), ms - startup_ms).into(),
    );
    set(
        "events_per_second_with_startup",
        rate(p.run.events, ms).into(),
    );
    set("workers_started", p.run.workers_started.into());
    set("shared_windows", (p.run.shared_windows as f64).into());
    set("posted_windows", (p.run.posted_windows as f64).into());
    set(
        "transport",
        if crate::worker_pool::can_share_memory() {
            "shared-memory"
        } else {
            "postMessage"
        }
        .into(),
    );
    o
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

fn parse(json: &str) -> Result<Scenario, String> {
    quorumlab_sim::scenario::load(json).map_err(|e| quorumlab_sim::scenario::describe(&e))
}

/// Install `window.quorumlab.runWorkers(json)` and `window.quorumlab.runInline(json)`:
/// each runs a scenario to its end and resolves to `{trace_hash, events, wall_ms,
/// events_per_second, ...}` (or rejects with a message). The browser tests compare the
/// hashes with the native CLI's, and measure throughput with them.
pub fn install_js_api() {
    use wasm_bindgen::prelude::*;
    let Some(window) = web_sys::window() else {
        return;
    };
    let api = js_sys::Object::new();
    let workers = Closure::<dyn Fn(String) -> js_sys::Promise>::new(|json: String| {
        js_sys::Promise::new(&mut |resolve, reject| match parse(&json) {
            Err(e) => {
                let _ = reject.call1(&JsValue::NULL, &e.into());
            }
            // The scenario's engine module may not be loaded yet.
            Ok(s) => {
                crate::engines::after_load(&s.protocol.name.clone(), move |loaded| match loaded {
                    Ok(()) => run_workers(s, resolve, reject),
                    Err(e) => {
                        let _ = reject.call1(&JsValue::NULL, &e.into());
                    }
                })
            }
        })
    });
    let inline = Closure::<dyn Fn(String) -> js_sys::Promise>::new(|json: String| {
        js_sys::Promise::new(&mut |resolve, reject| match parse(&json) {
            Err(e) => {
                let _ = reject.call1(&JsValue::NULL, &e.into());
            }
            Ok(s) => {
                crate::engines::after_load(&s.protocol.name.clone(), move |loaded| {
                    match loaded.and_then(|()| crate::engines::build(&s, 0)) {
                        Ok(e) => run_inline(e, resolve),
                        Err(e) => {
                            let _ = reject.call1(&JsValue::NULL, &e.into());
                        }
                    }
                })
            }
        })
    });
    let _ = js_sys::Reflect::set(&api, &"runWorkers".into(), workers.as_ref());
    let _ = js_sys::Reflect::set(&api, &"runInline".into(), inline.as_ref());
    workers.forget();
    inline.forget();
    let _ = js_sys::Reflect::set(&window, &"quorumlab".into(), &api);
}

thread_local! {
    /// Runs started from JavaScript, until they settle.
    static KEEP: RefCell<Vec<(u64, WorkerRun)>> = const { RefCell::new(Vec::new()) };
    static NEXT_KEPT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// `window.quorumlab.runWorkers`, once the scenario's engine module is loaded.
fn run_workers(s: Scenario, resolve: js_sys::Function, reject: js_sys::Function) {
    use wasm_bindgen::prelude::*;
    // The workers check no invariant (each holds one node): a replica with every
    // node's state does, before the timed run, which stops where it stopped.
    let found = match s.checks.invariants {
        true => crate::engines::build(&s, 0).ok().and_then(|mut e| {
            e.run_to_end();
            e.violation().cloned()
        }),
        false => None,
    };
    let start = now_ms();
    let settled = Rc::new(RefCell::new(false));
    let reject2 = reject.clone();
    let id = NEXT_KEPT.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    let run = WorkerRun::new(&s, move |p: &Progress| {
        if *settled.borrow() {
            return;
        }
        if let Some(e) = &p.run.error {
            *settled.borrow_mut() = true;
            let _ = reject2.call1(&JsValue::NULL, &e.as_str().into());
        } else if p.run.done {
            *settled.borrow_mut() = true;
            let _ = resolve.call1(&JsValue::NULL, &outcome(p, now_ms() - start, "workers"));
        } else {
            return;
        }
        // Settled: let the run (and its workers) go, once this call is over.
        gloo_timers::callback::Timeout::new(0, move || {
            KEEP.with(|k| k.borrow_mut().retain(|(i, _)| *i != id));
        })
        .forget();
    });
    match run {
        Ok(r) => {
            // Keep the run alive until it settles: the workers' callbacks hold
            // only weak references.
            KEEP.with(|k| k.borrow_mut().push((id, r.clone())));
            if let Some(f) = &found {
                r.stop_at(f);
            }
            r.run_to_end();
        }
        Err(e) => {
            let _ = reject.call1(&JsValue::NULL, &e.into());
        }
    }
}

/// `window.quorumlab.runInline`: a run in its engine module, to the end.
fn run_inline(mut e: Box<dyn quorumlab_sim::Engine>, resolve: js_sys::Function) {
    use wasm_bindgen::prelude::*;
    let start = now_ms();
    e.run_to_end();
    let p = Progress {
        run: WorkerStatus {
            now: e.now(),
            events: e.events(),
            trace_hash: format!("{:016x}", e.trace_hash()),
            done: true,
            ..WorkerStatus::default()
        },
        end: e.end(),
    };
    let _ = resolve.call1(&JsValue::NULL, &outcome(&p, now_ms() - start, "inline"));
}
