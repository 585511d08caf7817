//! Starting node workers and talking to them: the part of the page shell the real UI
//! keeps.
//!
//! A [`NodeWorker`] owns one `Worker` running the `node_worker` binary. Messages posted
//! before the worker has said `ready` would be lost, so they are queued and flushed when
//! the handshake arrives. Every message from the worker (including `ready`) is handed to
//! the callback given at spawn time as a [`WorkerEvent`].

use quorumlab_worker::{FromWorker, ToWorker, PROTOCOL_VERSION};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions};

/// The loader Trunk generates for the worker binary (`data-loader-shim`). Relative, so the
/// page works from any sub-path.
pub const NODE_WORKER_URL: &str = "./node_worker_loader.js";

/// What a worker reports to its owner.
#[derive(Debug, Clone)]
pub enum WorkerEvent {
    /// A protocol message from the worker.
    Message(FromWorker),
    /// The worker failed to load or crashed, or sent something unreadable.
    Failed(String),
}

struct Inner {
    ready: bool,
    queue: Vec<ToWorker>,
}

/// One running node worker. Dropping it terminates the worker.
pub struct NodeWorker {
    node: u32,
    worker: Worker,
    inner: Rc<RefCell<Inner>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl NodeWorker {
    /// Start the worker for `node`. `on_event` is called for every message from it.
    pub fn spawn(node: u32, on_event: impl Fn(u32, WorkerEvent) + 'static) -> Result<Self, String> {
        let options = WorkerOptions::new();
        options.set_name(&format!("node-{node}"));
        let worker = Worker::new_with_options(NODE_WORKER_URL, &options)
            .map_err(|e| format!("cannot start the node worker: {}", js_error_text(&e)))?;

        let inner = Rc::new(RefCell::new(Inner {
            ready: false,
            queue: Vec::new(),
        }));
        let on_event = Rc::new(on_event);

        let on_message = {
            let inner = inner.clone();
            let on_event = on_event.clone();
            let target = worker.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let msg = match serde_wasm_bindgen::from_value::<FromWorker>(event.data()) {
                    Ok(msg) => msg,
                    Err(err) => {
                        on_event(
                            node,
                            WorkerEvent::Failed(format!("unreadable message: {err}")),
                        );
                        return;
                    }
                };
                if let FromWorker::Ready { protocol, .. } = &msg {
                    if *protocol != PROTOCOL_VERSION {
                        on_event(
                            node,
                            WorkerEvent::Failed(format!(
                                "worker speaks protocol {protocol}, page expects {PROTOCOL_VERSION} (stale cache?)"
                            )),
                        );
                        return;
                    }
                    let queued = {
                        let mut inner = inner.borrow_mut();
                        inner.ready = true;
                        std::mem::take(&mut inner.queue)
                    };
                    // Tell the owner first, then flush what it queued before the handshake.
                    on_event(node, WorkerEvent::Message(msg));
                    for m in &queued {
                        if let Err(e) = post(&target, m) {
                            on_event(node, WorkerEvent::Failed(e));
                        }
                    }
                    return;
                }
                on_event(node, WorkerEvent::Message(msg));
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));

        let on_error = {
            let on_event = on_event.clone();
            Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
                // Stop the browser from also logging it as uncaught: we report it.
                event.prevent_default();
                let text = event.message();
                let text = if text.is_empty() {
                    "the worker script failed to load".to_string()
                } else {
                    text
                };
                on_event(node, WorkerEvent::Failed(text));
            })
        };
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));

        Ok(NodeWorker {
            node,
            worker,
            inner,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    pub fn node(&self) -> u32 {
        self.node
    }

    /// Whether the worker has completed the handshake.
    pub fn is_ready(&self) -> bool {
        self.inner.borrow().ready
    }

    /// Send a message, or queue it until the worker is ready.
    pub fn send(&self, msg: ToWorker) -> Result<(), String> {
        let mut inner = self.inner.borrow_mut();
        if inner.ready {
            drop(inner);
            post(&self.worker, &msg)
        } else {
            inner.queue.push(msg);
            Ok(())
        }
    }
}

impl Drop for NodeWorker {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

fn post(worker: &Worker, msg: &ToWorker) -> Result<(), String> {
    let value = serde_wasm_bindgen::to_value(msg).map_err(|e| e.to_string())?;
    worker
        .post_message(&value)
        .map_err(|e| format!("postMessage failed: {}", js_error_text(&e)))
}

/// A readable text for a thrown JS value.
pub fn js_error_text(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return s;
    }
    js_sys::Reflect::get(value, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}
