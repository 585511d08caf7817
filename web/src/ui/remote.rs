//! A lab column's run in a Web Worker of its own (`web/lab_worker.js` loads the
//! protocol's engine module there), so that the columns do not take the page's thread
//! from the run it shows. The page cannot call into a worker and wait, so this is not an
//! [`Engine`]: it is what the lab shows of one (its head, history, metrics, sides, lock
//! spells and, at its end, what its analysis needs), kept up to date by batches of the
//! engine module's own calls ([`Call`]) and their replies.
//!
//! The reducer asks for a batch ([`RemoteRun::next`], sent as an effect); the page posts
//! it to the column's worker; the replies come back as an action
//! ([`RemoteRun::answer`]). Natively (the UI's tests) a batch is answered by the
//! module's table in this process: the very code the worker runs.
//!
//! [`Engine`]: quorumlab_sim::Engine

use super::lab::Figures;
use super::panels::cap::CapNumbers;
use quorumlab_core::{LogWindow, NodeView, Time, MS};
use quorumlab_sim::analysis::Request;
use quorumlab_sim::anomaly::Serving;
use quorumlab_sim::history::History;
use quorumlab_sim::link::{Call, Handle, Head, Lists, Moved};
use quorumlab_sim::locks::{LockReport, Spell};
use quorumlab_sim::metrics::WindowReport;
use quorumlab_sim::sides::SidesReport;
use quorumlab_sim::Scenario;
use serde::de::DeserializeOwned;

/// Simulated time a batch moves a run at most: the column's figures grow as it runs
/// (a 10 s run in ten steps) rather than appearing at its end.
const STEP: Time = 1_000 * MS;

/// What one call of a batch asked (how to read its reply).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ask {
    New,
    Move,
    Lists,
    Total,
    Metrics,
    Sides,
    Locks,
    Views,
    Serving,
    Convergence,
}

/// What the analysis of a run at its end needs besides its history.
struct EndState {
    views: Vec<Option<NodeView>>,
    serving: Serving,
    settled: bool,
}

/// A run in a worker, as the lab sees it (see the module docs).
pub struct RemoteRun {
    scenario: Scenario,
    h: Option<Handle>,
    head: Head,
    history: History,
    /// Log lines received (the log itself is not kept: the lab does not show it).
    log_len: usize,
    total: WindowReport,
    windows: Vec<WindowReport>,
    sides: SidesReport,
    spells: Vec<Spell>,
    end: Option<EndState>,
    /// The calls of the batch in flight, in order.
    sent: Vec<Ask>,
    /// Why the run stopped answering (its module failed to load or trapped).
    failure: Option<String>,
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str::<Result<T, String>>(text)
        .map_err(|e| format!("the engine's reply does not decode: {e}"))?
}

impl RemoteRun {
    /// A run of `scenario` (validated), to be made by the first batch.
    pub fn new(scenario: Scenario) -> RemoteRun {
        RemoteRun {
            head: Head {
                end: scenario.duration(),
                ..Head::default()
            },
            scenario,
            h: None,
            history: History::default(),
            log_len: 0,
            total: WindowReport::default(),
            windows: Vec::new(),
            sides: SidesReport::default(),
            spells: Vec::new(),
            end: None,
            sent: Vec::new(),
            failure: None,
        }
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    pub fn protocol(&self) -> &str {
        &self.scenario.protocol.name
    }

    #[cfg(test)]
    pub fn now(&self) -> Time {
        self.head.now
    }

    pub fn trace_hash(&self) -> u64 {
        self.head.hash
    }

    /// It was made in its worker (the first batch was answered).
    pub fn started(&self) -> bool {
        self.h.is_some()
    }

    /// Its run is over: at its end, stopped by a violation, or its module failed.
    pub fn done(&self) -> bool {
        self.failure.is_some()
            || self.head.done
            || self.head.violation.is_some()
            || (self.started() && self.head.now >= self.head.end)
    }

    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    pub fn violation(&self) -> Option<&quorumlab_sim::Found> {
        self.head.violation.as_ref()
    }

    pub fn spells(&self) -> &[Spell] {
        &self.spells
    }

    /// A batch is in flight.
    pub fn busy(&self) -> bool {
        !self.sent.is_empty()
    }

    /// It has not reached `target` (or its end, if sooner), or its end's analysis
    /// material has not come yet.
    pub fn behind(&self, target: Time) -> bool {
        if self.failure.is_some() {
            return false;
        }
        if self.done() {
            return self.end.is_none();
        }
        !self.started() || self.head.now < target.min(self.head.end)
    }

    /// The next batch of calls towards `target` (encoded), if one is due: none while
    /// one is in flight, or once there is nothing left to ask.
    pub fn next(&mut self, target: Time) -> Option<Vec<Vec<u8>>> {
        if self.busy() || !self.behind(target) {
            return None;
        }
        let calls: Vec<(Ask, Call)> = match self.h {
            None => {
                let text = match serde_json::to_string(&self.scenario) {
                    Ok(t) => t,
                    Err(e) => {
                        self.failure = Some(format!("the scenario does not encode: {e}"));
                        return None;
                    }
                };
                vec![(
                    Ask::New,
                    Call::New {
                        scenario: text,
                        seed: self.scenario.seed,
                        record: 0,
                    },
                )]
            }
            Some(h) if self.done() => vec![
                (
                    Ask::Views,
                    Call::Views {
                        h,
                        window: LogWindow::ALL,
                    },
                ),
                (Ask::Serving, Call::Serving { h }),
                (Ask::Convergence, Call::Convergence { h }),
            ],
            Some(h) => {
                let t = target.min(self.head.now.saturating_add(STEP));
                vec![
                    (Ask::Move, Call::RunUntil { h, t }),
                    (
                        Ask::Lists,
                        Call::Lists {
                            h,
                            history: self.history.events.len(),
                            log: self.log_len,
                        },
                    ),
                    (Ask::Total, Call::Total { h }),
                    (Ask::Metrics, Call::Metrics { h }),
                    (Ask::Sides, Call::Sides { h }),
                    (Ask::Locks, Call::LockReport { h }),
                ]
            }
        };
        let mut out = Vec::with_capacity(calls.len());
        for (ask, call) in calls {
            match quorumlab_sim::wire::to_vec(&call) {
                Ok(bytes) => out.push(bytes),
                Err(e) => {
                    self.failure = Some(format!("a call that does not encode: {e}"));
                    return None;
                }
            }
            self.sent.push(ask);
        }
        Some(out)
    }

    /// The replies to the batch in flight, or why its worker could not answer.
    pub fn answer(&mut self, replies: Result<Vec<String>, String>) {
        let asked = std::mem::take(&mut self.sent);
        let replies = match replies {
            Ok(r) if r.len() == asked.len() => r,
            Ok(r) => {
                self.failure = Some(format!(
                    "its worker answered {} of {} calls",
                    r.len(),
                    asked.len()
                ));
                return;
            }
            Err(why) => {
                self.failure = Some(why);
                return;
            }
        };
        let mut end_views = None;
        let mut end_serving = None;
        for (ask, text) in asked.into_iter().zip(&replies) {
            if let Err(why) = self.read(ask, text, &mut end_views, &mut end_serving) {
                self.failure = Some(why);
                return;
            }
        }
    }

    fn read(
        &mut self,
        ask: Ask,
        text: &str,
        views: &mut Option<Vec<Option<NodeView>>>,
        serving: &mut Option<Serving>,
    ) -> Result<(), String> {
        match ask {
            Ask::New => self.h = Some(decode(text)?),
            Ask::Move => self.head = decode::<Moved<()>>(text)?.head,
            Ask::Lists => {
                let new: Lists = decode(text)?;
                if new.reset {
                    self.history.events.clear();
                    self.log_len = 0;
                }
                self.history.events.extend(new.history);
                self.history.data_type = new.data_type;
                self.log_len += new.log.len();
            }
            Ask::Total => self.total = decode(text)?,
            Ask::Metrics => self.windows = decode(text)?,
            Ask::Sides => self.sides = decode(text)?,
            Ask::Locks => {
                self.spells = decode::<Option<LockReport>>(text)?
                    .map(|r| r.spells)
                    .unwrap_or_default()
            }
            Ask::Views => *views = Some(decode(text)?),
            Ask::Serving => *serving = Some(decode(text)?),
            Ask::Convergence => {
                let settled = decode::<Option<Result<(), String>>>(text)?.is_some();
                // The end batch's last call: its views and serving came before it.
                self.end = Some(EndState {
                    views: views.take().unwrap_or_default(),
                    serving: serving.take().unwrap_or_default(),
                    settled,
                });
            }
        }
        Ok(())
    }

    /// Its figures for the lab, as of where it stands.
    pub fn numbers(&self) -> CapNumbers {
        CapNumbers {
            figures: Figures::of(&self.history, self.head.now, self.total.messages),
            total: self.total.clone(),
            windows: self.windows.clone(),
            violated: self.head.violation.as_ref().map(|v| v.invariant.clone()),
            sides: self.sides.clone(),
            end: self.head.end,
            done: self.done(),
            nodes: self.scenario.n(),
            window_ms: self.scenario.metrics_window_ms.max(1),
        }
    }

    /// The analysis request of its end, once everything for it has come.
    pub fn request(&self, budget_ms: f64) -> Option<Request> {
        let end = self.end.as_ref()?;
        if self.failure.is_some() {
            return None;
        }
        Some(Request {
            at: self.head.now,
            linearizable: self.scenario.checks.linearizable,
            budget_ms,
            history: self.history.clone(),
            views: end.views.clone(),
            serving: end.serving.clone(),
            settled: end.settled,
        })
    }
}
