//! A run held by another WebAssembly module: the page's engines live outside its bundle.
//!
//! Every protocol compiled into the page's bundle cost it about 28 kB gzipped (its
//! core, its copy of the generic `Sim<P>`, its serde code), and the page had no room
//! left for the next ones. So the page links no simulator at all: each protocol has an
//! engine module of its own (`crates/engines`, `engine-raft.wasm`, ...), loaded the
//! first time a scenario names it, which holds the runs ([`Table`]). The page talks to
//! a run through a [`Proxy`], which is an [`Engine`] (and a worker run's
//! [`Coordinator`]) like `Sim<P>` itself: the calls cross as JSON ([`Call`], one
//! reply each) through a synchronous function ([`LinkFn`]: in the browser, a call into
//! the other module through `web/engines.js`; natively, a [`Table`] in the same
//! process, which is how the tests prove a proxied run is the same run).
//!
//! What the proxy keeps: the scenario and seed (it was given them), a `Head` (time,
//! events, hash, violation) that every call moving the run sends back, and the
//! history and log lines, fetched as the new part since it last looked (both only
//! grow). Everything else (views, statuses, flights, expectations, metrics) is asked
//! for when the page reads it. JSON rather than the `wire` format: these types were
//! made for JSON (optional fields skipped, untagged values), and a frame's calls cost
//! the page well under a millisecond (measured in the README).

use crate::anomaly::Serving;
use crate::engine::{Flight, Found, LogLine, Sim, Status};
use crate::expect::ExpectOutcome;
use crate::history::{History, HistoryEvent};
use crate::marks::Mark;
use crate::metrics::WindowReport;
use crate::remote::{Coordinator, Encoded};
use crate::run::Engine;
use crate::scenario::{Fault, FaultKind, Scenario};
use quorumlab_core::{LogWindow, NodeId, NodeView, Protocol, Time};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

/// A run's handle in its module.
pub type Handle = u32;

/// One call to an engine module, in the [`crate::wire`] format; each has one reply,
/// `Result<T, String>` as JSON. The scenario and a user action travel as the scenario
/// format's JSON text (read by the same code as a scenario file). Measured on the
/// heartbeat engine: calls as JSON (an internally tagged enum) cost the module 86 kB
/// of WebAssembly before compression, as `wire` about 4.
#[derive(Debug, Serialize, Deserialize)]
pub enum Call {
    /// A run of the scenario (JSON text) with the message recorder bounded to
    /// `record` (0: off). Reply: its handle.
    New {
        scenario: String,
        seed: u64,
        record: usize,
    },
    /// A copy of the run (a checkpoint). Reply: the copy's handle.
    Clone {
        h: Handle,
    },
    /// Forget the run. Reply: null.
    Drop {
        h: Handle,
    },
    /// Calls that move the run; reply: [`Moved`].
    Step {
        h: Handle,
    },
    RunUntil {
        h: Handle,
        t: Time,
    },
    RunToEnd {
        h: Handle,
    },
    Inject {
        h: Handle,
        action: String,
    },
    /// Nothing: the head as it is.
    Look {
        h: Handle,
    },
    KeepFlights {
        h: Handle,
        n: usize,
    },
    Begin {
        h: Handle,
    },
    Finish {
        h: Handle,
        results: Vec<(NodeId, Hex)>,
    },
    StopAt {
        h: Handle,
        found: Found,
    },
    /// Questions; reply: the answer.
    Views {
        h: Handle,
        window: LogWindow,
    },
    Status {
        h: Handle,
    },
    DiskView {
        h: Handle,
        node: NodeId,
    },
    Offsets {
        h: Handle,
    },
    Blocked {
        h: Handle,
    },
    FlightsAt {
        h: Handle,
        t: Time,
    },
    FlightsWindow {
        h: Handle,
        now: Time,
        window_ms: f64,
    },
    /// The history's events from `history` on and the log's lines from `log` on
    /// ([`Lists`]).
    Lists {
        h: Handle,
        history: usize,
        log: usize,
    },
    Convergence {
        h: Handle,
    },
    Expectations {
        h: Handle,
    },
    Metrics {
        h: Handle,
    },
    Total {
        h: Handle,
    },
    Serving {
        h: Handle,
    },
    Marks {
        h: Handle,
    },
    LockReport {
        h: Handle,
    },
    Sides {
        h: Handle,
    },
    Invariants {
        h: Handle,
    },
}

/// What the page reads every frame, sent back by every call that moves the run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Head {
    pub now: Time,
    pub end: Time,
    pub done: bool,
    pub events: u64,
    pub hash: u64,
    pub next: Option<Time>,
    pub violation: Option<Found>,
    /// Nodes that crashed since the last move (see [`Coordinator::take_crashed`]):
    /// sent with every move, so that the worker runtime asks once a window, not twice.
    pub crashed: Vec<NodeId>,
}

/// A job or a result of the worker runtime, written as hexadecimal text: as JSON
/// numbers, a window's bytes took the worker runtime from 60 k to 34 k events/s
/// (5 nodes, measured in Chromium).
#[derive(Debug)]
pub struct Hex(pub Vec<u8>);

impl Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(self.0.len() * 2);
        for b in &self.0 {
            text.push(DIGITS[(b >> 4) as usize] as char);
            text.push(DIGITS[(b & 15) as usize] as char);
        }
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Hex, D::Error> {
        let text = String::deserialize(d)?;
        let digit = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            _ => Err(serde::de::Error::custom("not a hexadecimal digit")),
        };
        let bytes = text.as_bytes();
        if bytes.len() % 2 != 0 {
            return Err(serde::de::Error::custom(
                "an odd number of hexadecimal digits",
            ));
        }
        bytes
            .chunks(2)
            .map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?))
            .collect::<Result<Vec<u8>, D::Error>>()
            .map(Hex)
    }
}

fn hex(e: Encoded) -> Vec<(NodeId, Hex)> {
    e.into_iter().map(|(i, b)| (i, Hex(b))).collect()
}

fn unhex(e: Vec<(NodeId, Hex)>) -> Encoded {
    e.into_iter().map(|(i, b)| (i, b.0)).collect()
}

/// What [`Coordinator::begin`] started (an enum, not its `Result<Option<_>, ()>`:
/// JSON writes `None` and `Some(None)` alike).
#[derive(Default, Serialize, Deserialize)]
pub enum Began {
    /// The run is over.
    #[default]
    End,
    /// A control event, handled.
    Control,
    /// A window: each node's job.
    Window(Vec<(NodeId, Hex)>),
}

/// A moving call's own answer and the run's [`Head`] after it.
#[derive(Serialize, Deserialize)]
pub struct Moved<T> {
    pub out: T,
    pub head: Head,
}

/// The new part of the history and the log (see [`Call::Lists`]); `reset`: the run
/// has fewer than the proxy held (it cannot happen to one run, but a proxy never
/// shows a mix of two): these are all of them.
#[derive(Default, Serialize, Deserialize)]
pub struct Lists {
    pub history: Vec<HistoryEvent>,
    pub data_type: Option<String>,
    pub log: Vec<LogLine>,
    pub reset: bool,
}

// ---- the module's side ---------------------------------------------------------------

/// An engine module's runs: one protocol's `Sim<P>`s by handle.
pub struct Table<P: Protocol> {
    runs: Vec<Option<Sim<P>>>,
}

impl<P: Protocol> Default for Table<P> {
    fn default() -> Self {
        Table { runs: Vec::new() }
    }
}

/// A [`Table`] of any protocol (natively, to serve a [`Proxy`] in the same process).
pub trait Serve {
    fn call(&mut self, request: &[u8]) -> String;
}

impl<P: Protocol> Serve for Table<P> {
    fn call(&mut self, request: &[u8]) -> String {
        Table::call(self, request)
    }
}

fn reply<T: Serialize>(r: Result<T, String>) -> String {
    serde_json::to_string(&r).unwrap_or_else(|e| {
        serde_json::to_string(&Err::<(), String>(format!(
            "a reply that does not encode: {e}"
        )))
        .unwrap_or_default()
    })
}

impl<P: Protocol> Table<P> {
    /// Answer one [`Call`] (JSON) with its reply (JSON).
    pub fn call(&mut self, request: &[u8]) -> String {
        match crate::wire::from_slice::<Call>(request) {
            Ok(c) => self.answer(c),
            Err(e) => reply::<()>(Err(format!("a call the engine cannot read: {e}"))),
        }
    }

    fn keep(&mut self, sim: Sim<P>) -> Handle {
        match self.runs.iter().position(Option::is_none) {
            Some(i) => {
                self.runs[i] = Some(sim);
                i as Handle
            }
            None => {
                self.runs.push(Some(sim));
                (self.runs.len() - 1) as Handle
            }
        }
    }

    fn run(&mut self, h: Handle) -> Result<&mut Sim<P>, String> {
        self.runs
            .get_mut(h as usize)
            .and_then(Option::as_mut)
            .ok_or_else(|| format!("no run {h} in the {} engine", P::NAME))
    }

    fn moved<T: Serialize>(&mut self, h: Handle, f: impl FnOnce(&mut Sim<P>) -> T) -> String {
        reply(self.run(h).map(|s| {
            let out = f(s);
            Moved {
                out,
                head: head_of(s),
            }
        }))
    }

    fn ask<T: Serialize>(&mut self, h: Handle, f: impl FnOnce(&Sim<P>) -> T) -> String {
        reply(self.run(h).map(|s| f(s)))
    }

    fn answer(&mut self, c: Call) -> String {
        match c {
            Call::New {
                scenario,
                seed,
                record,
            } => {
                let built = serde_json::from_str::<Scenario>(&scenario)
                    .map_err(|e| format!("the engine could not read the scenario: {e}"))
                    .and_then(|s| Sim::<P>::new(&s, seed).map_err(|e| e.to_string()));
                reply(built.map(|sim| {
                    let sim = if record > 0 {
                        sim.with_recorder(record)
                    } else {
                        sim
                    };
                    self.keep(sim)
                }))
            }
            Call::Clone { h } => {
                let copy = self.run(h).map(|s| s.clone());
                reply(copy.map(|s| self.keep(s)))
            }
            Call::Drop { h } => {
                if let Some(r) = self.runs.get_mut(h as usize) {
                    *r = None;
                }
                reply(Ok(()))
            }
            Call::Step { h } => self.moved(h, |s| s.step()),
            Call::RunUntil { h, t } => self.moved(h, |s| s.run_until(t)),
            Call::RunToEnd { h } => self.moved(h, |s| s.run()),
            Call::Inject { h, action } => match serde_json::from_str::<Fault>(&action) {
                Ok(f) => self.moved(h, |s| s.inject(f.kind)),
                Err(e) => reply::<()>(Err(format!("an action the engine cannot read: {e}"))),
            },
            Call::KeepFlights { h, n } => self.moved(h, |s| s.keep_recent_flights(n)),
            Call::Begin { h } => self.moved(h, |s| match Coordinator::begin(s) {
                Err(()) => Began::End,
                Ok(None) => Began::Control,
                Ok(Some(jobs)) => Began::Window(hex(jobs)),
            }),
            Call::Finish { h, results } => {
                self.moved(h, |s| Coordinator::finish(s, unhex(results)).err())
            }
            Call::Look { h } => self.moved(h, |_| ()),
            Call::StopAt { h, found } => self.moved(h, |s| s.stop_at(&found)),
            Call::Views { h, window } => self.ask(h, |s| s.views_window(window)),
            Call::Status { h } => self.ask(h, |s| s.status().to_vec()),
            Call::DiskView { h, node } => self.ask(h, |s| s.disk_view(node)),
            Call::Offsets { h } => self.ask(h, |s| s.clock_offsets()),
            Call::Blocked { h } => self.ask(h, Engine::blocked),
            Call::FlightsAt { h, t } => self.ask(h, |s| s.flights_at(t)),
            Call::FlightsWindow { h, now, window_ms } => {
                self.ask(h, |s| Engine::flights_window(s, now, window_ms))
            }
            Call::Lists { h, history, log } => self.ask(h, |s| {
                let reset = history > s.history.events.len() || log > s.log.len();
                let (history, log) = if reset { (0, 0) } else { (history, log) };
                Lists {
                    history: s.history.events[history..].to_vec(),
                    data_type: s.history.data_type.clone(),
                    log: s.log[log..].to_vec(),
                    reset,
                }
            }),
            Call::Convergence { h } => self.ask(h, |s| s.convergence()),
            Call::Expectations { h } => self.ask(h, |s| s.expectations()),
            Call::Metrics { h } => self.ask(h, Engine::metrics),
            Call::Total { h } => self.ask(h, Engine::total),
            Call::Serving { h } => self.ask(h, |s| Engine::serving(s).clone()),
            Call::Marks { h } => self.ask(h, |s| s.marks()),
            Call::LockReport { h } => self.ask(h, |s| s.lock_report()),
            Call::Sides { h } => self.ask(h, |s| s.sides()),
            Call::Invariants { h } => self.ask(h, |_| P::invariants()),
        }
    }
}

fn head_of<P: Protocol>(s: &mut Sim<P>) -> Head {
    Head {
        crashed: s.take_crashed(),
        now: s.now(),
        end: s.end(),
        done: s.done(),
        events: s.events(),
        hash: s.trace_hash(),
        next: s.next_time(),
        violation: s.violation().cloned(),
    }
}

// ---- the page's side -----------------------------------------------------------------

/// How a proxy reaches its module: a request in, the reply out, or why the module
/// could not answer at all (it failed to load, or it trapped).
pub type LinkFn = Rc<dyn Fn(&[u8]) -> Result<String, String>>;

/// A run in an engine module, seen as an [`Engine`] (see the module docs).
pub struct Proxy {
    link: LinkFn,
    h: Handle,
    scenario: Rc<Scenario>,
    seed: u64,
    invariants: &'static [&'static str],
    head: Head,
    /// The module failed (a trap, a reply that does not decode): the run is over
    /// here, and this says why.
    failure: Option<String>,
    /// History and log as of the last look; `stale` holds them between a move and
    /// the next read, which fetches only what is new.
    lists: OnceCell<(History, Vec<LogLine>)>,
    stale: RefCell<Option<(History, Vec<LogLine>)>>,
    serving: OnceCell<Serving>,
    /// The lock timeline as of the last look (a move makes it stale).
    locks: OnceCell<Option<crate::locks::LockReport>>,
    /// Crashes the head reported, until the worker runtime takes them.
    crashed: Vec<NodeId>,
}

fn call_with<T: DeserializeOwned>(link: &LinkFn, c: &Call) -> Result<T, String> {
    let request = crate::wire::to_vec(c).map_err(|e| e.to_string())?;
    let text = link(&request)?;
    serde_json::from_str::<Result<T, String>>(&text)
        .map_err(|e| format!("the engine's reply does not decode: {e}"))?
}

/// The invariants' names for a protocol, asked once per protocol and kept.
fn invariants_of(protocol: &str, link: &LinkFn, h: Handle) -> &'static [&'static str] {
    thread_local! {
        static KNOWN: RefCell<Vec<(String, &'static [&'static str])>> = const { RefCell::new(Vec::new()) };
    }
    if let Some(found) = KNOWN.with(|k| {
        k.borrow()
            .iter()
            .find(|(p, _)| p == protocol)
            .map(|(_, names)| *names)
    }) {
        return found;
    }
    let names: Vec<String> = call_with(link, &Call::Invariants { h }).unwrap_or_default();
    let names: &'static [&'static str] = Box::leak(
        names
            .into_iter()
            .map(|n| &*Box::leak(n.into_boxed_str()))
            .collect::<Vec<&'static str>>()
            .into_boxed_slice(),
    );
    KNOWN.with(|k| k.borrow_mut().push((protocol.to_string(), names)));
    names
}

impl Proxy {
    /// A new run of `scenario` (validated) in the module behind `link`.
    pub fn new(
        link: LinkFn,
        scenario: &Scenario,
        seed: u64,
        record: usize,
    ) -> Result<Proxy, String> {
        let text = serde_json::to_string(scenario).map_err(|e| e.to_string())?;
        let h: Handle = call_with(
            &link,
            &Call::New {
                scenario: text,
                seed,
                record,
            },
        )?;
        let invariants = invariants_of(&scenario.protocol.name, &link, h);
        let mut p = Proxy {
            link,
            h,
            scenario: Rc::new(scenario.clone()),
            seed,
            invariants,
            head: Head {
                end: scenario.duration(),
                ..Head::default()
            },
            failure: None,
            lists: OnceCell::new(),
            stale: RefCell::new(None),
            serving: OnceCell::new(),
            locks: OnceCell::new(),
            crashed: Vec::new(),
        };
        // The head as the run starts (end time, first event's time).
        p.moving::<()>(Call::Look { h });
        match p.failure.take() {
            Some(why) => Err(why),
            None => Ok(p),
        }
    }

    fn ask<T: DeserializeOwned + Default>(&self, c: Call) -> T {
        if self.failure.is_some() {
            return T::default();
        }
        call_with(&self.link, &c).unwrap_or_default()
    }

    /// A call that moves the run: the history, log and serving spans are stale after it.
    fn moving<T: DeserializeOwned + Default>(&mut self, c: Call) -> T {
        if let Some(l) = self.lists.take() {
            *self.stale.get_mut() = Some(l);
        }
        self.serving.take();
        self.locks.take();
        if self.failure.is_some() {
            return T::default();
        }
        match call_with::<Moved<T>>(&self.link, &c) {
            Ok(m) => {
                self.crashed.extend(&m.head.crashed);
                self.head = m.head;
                m.out
            }
            Err(why) => {
                // The run cannot go on here: show it ended, and why.
                self.head.done = true;
                self.head.next = None;
                self.failure = Some(why);
                T::default()
            }
        }
    }

    fn lists(&self) -> &(History, Vec<LogLine>) {
        self.lists.get_or_init(|| {
            let (mut history, mut log) = self.stale.borrow_mut().take().unwrap_or_default();
            let new: Lists = self.ask(Call::Lists {
                h: self.h,
                history: history.events.len(),
                log: log.len(),
            });
            if new.reset {
                history.events.clear();
                log.clear();
            }
            history.events.extend(new.history);
            history.data_type = new.data_type;
            log.extend(new.log);
            (history, log)
        })
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if self.failure.is_none() {
            let _ = call_with::<()>(&self.link, &Call::Drop { h: self.h });
        }
    }
}

impl Engine for Proxy {
    fn step(&mut self) -> bool {
        self.moving(Call::Step { h: self.h })
    }
    fn run_until(&mut self, t: Time) {
        self.moving::<()>(Call::RunUntil { h: self.h, t })
    }
    fn next_time(&self) -> Option<Time> {
        self.head.next
    }
    fn run_to_end(&mut self) {
        self.moving::<()>(Call::RunToEnd { h: self.h })
    }
    fn done(&self) -> bool {
        self.head.done
    }
    fn now(&self) -> Time {
        self.head.now
    }
    fn end(&self) -> Time {
        self.head.end
    }
    fn events(&self) -> u64 {
        self.head.events
    }
    fn trace_hash(&self) -> u64 {
        self.head.hash
    }
    fn views(&self) -> Vec<Option<NodeView>> {
        self.views_window(LogWindow::ALL)
    }
    fn views_window(&self, window: LogWindow) -> Vec<Option<NodeView>> {
        self.ask(Call::Views { h: self.h, window })
    }
    fn status(&self) -> Vec<Status> {
        self.ask(Call::Status { h: self.h })
    }
    fn disk_view(&self, node: NodeId) -> Option<NodeView> {
        self.ask(Call::DiskView { h: self.h, node })
    }
    fn clock_offsets(&self) -> Vec<i64> {
        self.ask(Call::Offsets { h: self.h })
    }
    fn blocked(&self) -> Vec<(NodeId, NodeId)> {
        self.ask(Call::Blocked { h: self.h })
    }
    fn inject(&mut self, action: FaultKind) {
        let action = Fault {
            at_ms: 0,
            kind: action,
        };
        let action = serde_json::to_string(&action).unwrap_or_default();
        self.moving::<()>(Call::Inject { h: self.h, action })
    }
    fn history(&self) -> &History {
        &self.lists().0
    }
    fn log(&self) -> &[LogLine] {
        &self.lists().1
    }
    fn flights_at(&self, t: Time) -> Vec<Flight> {
        self.ask(Call::FlightsAt { h: self.h, t })
    }
    fn flights(&self) -> &[Flight] {
        &[]
    }
    fn flights_window(&self, now: Time, window_ms: f64) -> Vec<(usize, Flight)> {
        self.ask(Call::FlightsWindow {
            h: self.h,
            now,
            window_ms,
        })
    }
    fn keep_recent_flights(&mut self, n: usize) {
        self.moving::<()>(Call::KeepFlights { h: self.h, n })
    }
    fn violation(&self) -> Option<&Found> {
        self.head.violation.as_ref()
    }
    fn invariants(&self) -> &'static [&'static str] {
        self.invariants
    }
    fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    fn seed(&self) -> u64 {
        self.seed
    }
    fn convergence(&self) -> Option<Result<(), String>> {
        self.ask(Call::Convergence { h: self.h })
    }
    fn expectations(&self) -> Vec<ExpectOutcome> {
        self.ask(Call::Expectations { h: self.h })
    }
    fn metrics(&self) -> Vec<WindowReport> {
        self.ask(Call::Metrics { h: self.h })
    }
    fn total(&self) -> WindowReport {
        self.ask(Call::Total { h: self.h })
    }
    fn serving(&self) -> &Serving {
        self.serving
            .get_or_init(|| self.ask(Call::Serving { h: self.h }))
    }
    fn marks(&self) -> Vec<Mark> {
        self.ask(Call::Marks { h: self.h })
    }
    fn lock_report(&self) -> Option<crate::locks::LockReport> {
        self.locks
            .get_or_init(|| self.ask(Call::LockReport { h: self.h }))
            .clone()
    }
    fn sides(&self) -> crate::sides::SidesReport {
        self.ask(Call::Sides { h: self.h })
    }
    fn boxed_clone(&self) -> Box<dyn Engine> {
        Box::new(self.copy())
    }
    /// Why the module stopped answering, if it did.
    fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }
}

impl Proxy {
    /// A copy of the run in the module (a checkpoint), with what this proxy holds.
    pub fn copy(&self) -> Proxy {
        let h = if self.failure.is_none() {
            call_with::<Handle>(&self.link, &Call::Clone { h: self.h })
        } else {
            Err("the engine failed".into())
        };
        let held = self
            .lists
            .get()
            .cloned()
            .or_else(|| self.stale.borrow().clone());
        Proxy {
            link: self.link.clone(),
            h: *h.as_ref().unwrap_or(&self.h),
            scenario: self.scenario.clone(),
            seed: self.seed,
            invariants: self.invariants,
            head: self.head.clone(),
            failure: h.err().or_else(|| self.failure.clone()),
            lists: OnceCell::new(),
            stale: RefCell::new(held),
            serving: OnceCell::new(),
            locks: OnceCell::new(),
            crashed: self.crashed.clone(),
        }
    }
}

impl Coordinator for Proxy {
    fn begin(&mut self) -> Result<Option<Encoded>, ()> {
        if self.failure.is_some() {
            return Err(());
        }
        match self.moving(Call::Begin { h: self.h }) {
            Began::End => Err(()),
            Began::Control => Ok(None),
            Began::Window(jobs) => Ok(Some(unhex(jobs))),
        }
    }
    fn finish(&mut self, results: Encoded) -> Result<(), String> {
        let results = hex(results);
        let r: Option<String> = self.moving(Call::Finish { h: self.h, results });
        match (&self.failure, r) {
            (Some(why), _) => Err(why.clone()),
            (None, Some(why)) => Err(why),
            (None, None) => Ok(()),
        }
    }
    fn take_crashed(&mut self) -> Vec<NodeId> {
        std::mem::take(&mut self.crashed)
    }
    fn stop_at(&mut self, found: &Found) -> bool {
        self.moving(Call::StopAt {
            h: self.h,
            found: found.clone(),
        })
    }
    fn engine(&self) -> &dyn Engine {
        self
    }
    fn engine_mut(&mut self) -> &mut dyn Engine {
        self
    }
}

/// A proxy's link to a [`Table`] in this process (natively: tests, measurements).
pub fn local_link(table: Box<dyn Serve>) -> LinkFn {
    let table = RefCell::new(table);
    Rc::new(move |request: &[u8]| Ok(table.borrow_mut().call(request)))
}
