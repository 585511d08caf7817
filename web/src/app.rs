//! The page: the playground UI (`crate::ui`), and a status bar showing that the app and
//! one node worker are alive.

use crate::worker_pool::{NodeWorker, WorkerEvent};
use gloo_timers::callback::Timeout;
use quorumlab_worker::{FromWorker, ToWorker};
use std::cell::Cell;
use std::rc::Rc;
use yew::prelude::*;

/// How long the worker gets to load and answer before the page says it did not.
const WORKER_TIMEOUT_MS: u32 = 15_000;

#[derive(Clone, Debug, PartialEq)]
pub enum WorkerStatus {
    Starting,
    Ready {
        node: u32,
        started_ms: f64,
    },
    Answered {
        node: u32,
        seq: u32,
        digest: u32,
        started_ms: f64,
        round_trip_ms: f64,
    },
    Failed(String),
}

impl WorkerStatus {
    fn state(&self) -> &'static str {
        match self {
            WorkerStatus::Starting => "starting",
            WorkerStatus::Ready { .. } => "ready",
            WorkerStatus::Answered { .. } => "ok",
            WorkerStatus::Failed(_) => "failed",
        }
    }

    fn text(&self) -> String {
        match self {
            WorkerStatus::Starting => "starting node worker 0…".into(),
            WorkerStatus::Ready { node, started_ms } => {
                format!("node {node} ready after {started_ms:.0} ms, waiting for pong…")
            }
            WorkerStatus::Answered { node, seq, digest, started_ms, round_trip_ms } => format!(
                "pong #{seq} from node {node} (digest {digest:#010x}); worker ready in {started_ms:.0} ms, round trip {round_trip_ms:.1} ms"
            ),
            WorkerStatus::Failed(why) => format!("node worker failed: {why}"),
        }
    }
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// The page's root: the playground, and a status bar that pings node worker 0 once.
/// (A struct component: the page has no other use for Yew's hooks, whose machinery
/// would cost the bundle.)
pub struct App {
    worker_status: WorkerStatus,
    /// The probe's worker and its deadline (dropped with the page).
    _probe: Option<(Option<NodeWorker>, Timeout)>,
}

impl Component for App {
    type Message = WorkerStatus;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let set_status = ctx.link().callback(|s: WorkerStatus| s);
        let spawned_at = now_ms();
        let ping_sent_at = Rc::new(Cell::new(0.0));
        let settled = Rc::new(Cell::new(false));

        let on_event = {
            let set_status = set_status.clone();
            let ping_sent_at = ping_sent_at.clone();
            let settled = settled.clone();
            move |_node: u32, event: WorkerEvent| match event {
                WorkerEvent::Message(FromWorker::Ready { node, .. }) => {
                    // The queued ping is posted right after this returns.
                    ping_sent_at.set(now_ms());
                    set_status.emit(WorkerStatus::Ready {
                        node,
                        started_ms: now_ms() - spawned_at,
                    });
                }
                WorkerEvent::Message(FromWorker::Pong { seq, node, digest }) => {
                    let now = now_ms();
                    settled.set(true);
                    set_status.emit(WorkerStatus::Answered {
                        node,
                        seq,
                        digest,
                        started_ms: ping_sent_at.get() - spawned_at,
                        round_trip_ms: now - ping_sent_at.get(),
                    });
                }
                WorkerEvent::Message(FromWorker::Error { message }) => {
                    settled.set(true);
                    set_status.emit(WorkerStatus::Failed(message));
                }
                WorkerEvent::Failed(why) => {
                    settled.set(true);
                    set_status.emit(WorkerStatus::Failed(why));
                }
                // The coordinator's messages; this probe sends none of their requests.
                WorkerEvent::Message(_) => {}
            }
        };

        // The status line's worker: the default scenario's protocol.
        let worker = match NodeWorker::spawn(0, "raft", on_event) {
            Ok(worker) => {
                if let Err(e) = worker.send(ToWorker::Ping { seq: 1 }) {
                    set_status.emit(WorkerStatus::Failed(e));
                }
                Some(worker)
            }
            Err(e) => {
                set_status.emit(WorkerStatus::Failed(e));
                None
            }
        };

        let timeout = Timeout::new(WORKER_TIMEOUT_MS, move || {
            if !settled.get() {
                set_status.emit(WorkerStatus::Failed(format!(
                    "no answer within {} s",
                    WORKER_TIMEOUT_MS / 1000
                )));
            }
        });
        App {
            worker_status: WorkerStatus::Starting,
            _probe: Some((worker, timeout)),
        }
    }

    fn update(&mut self, _ctx: &Context<Self>, status: WorkerStatus) -> bool {
        if self.worker_status == status {
            return false;
        }
        self.worker_status = status;
        true
    }

    fn view(&self, _ctx: &Context<Self>) -> Html {
        let worker_status = &self.worker_status;
        html! {
            <>
                <crate::ui::playground::Playground />
                <footer class="ql-status">
                    <dl class="status">
                        <dt>{ "App" }</dt>
                        <dd data-testid="app-status" data-state="running">{ "running" }</dd>
                        <dt>{ "Node worker" }</dt>
                        <dd data-testid="worker-status" data-state={ worker_status.state() }>{ worker_status.text() }</dd>
                    </dl>
                    <p>{ format!("quorumlab-web {}", env!("CARGO_PKG_VERSION")) }</p>
                </footer>
            </>
        }
    }
}
