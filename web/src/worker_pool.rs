//! Starting node workers and talking to them: the part of the page shell the real UI
//! keeps.
//!
//! A [`NodeWorker`] owns one `Worker` running its protocol's node worker binary
//! (`nodes/node-<protocol>.js`, through our loader). Messages posted
//! before the worker has said `ready` would be lost, so they are queued and flushed when
//! the handshake arrives. Every message from the worker (including `ready`) is handed to
//! the callback given at spawn time as a [`WorkerEvent`].
//!
//! When the page is cross-origin isolated, each worker also gets a shared buffer (the
//! lane, `quorumlab_worker::protocol::shared`): jobs go in and results come out without
//! the event loop, which is what makes the worker runtime fast.

use quorumlab_worker::protocol::shared;
use quorumlab_worker::{FromWorker, ToWorker, PROTOCOL_VERSION};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions};

/// The workers' loader (`web/node_worker_loader.js`, copied by Trunk), told the
/// protocol in its address. Relative, so the page works from any sub-path.
pub fn node_worker_url(protocol: &str) -> String {
    format!("./node_worker_loader.js?protocol={protocol}")
}

/// A protocol's node worker WebAssembly, which the page compiles once for all its
/// workers of that protocol.
pub fn node_worker_wasm_url(protocol: &str) -> String {
    format!("./nodes/node-{protocol}_bg.wasm")
}

thread_local! {
    /// Each protocol's compilation of [`node_worker_wasm_url`]: a promise of the
    /// module, or of null if it could not be compiled here (each worker then loads it
    /// itself).
    static COMPILED: RefCell<Vec<(String, js_sys::Promise)>> = const { RefCell::new(Vec::new()) };
}

/// A protocol's node worker WebAssembly, compiled (started on the first call).
fn compiled_worker_module(protocol: &str) -> Option<js_sys::Promise> {
    COMPILED.with(|c| {
        let mut c = c.borrow_mut();
        if let Some((_, p)) = c.iter().find(|(name, _)| name == protocol) {
            return Some(p.clone());
        }
        let fetched = web_sys::window()?.fetch_with_str(&node_worker_wasm_url(protocol));
        let compiled: js_sys::Promise =
            js_sys::WebAssembly::compile_streaming(&fetched).unchecked_into();
        let null = Closure::once_into_js(|_: JsValue| JsValue::NULL);
        let p = call_promise_method(&compiled, "catch", &null)?;
        c.push((protocol.to_string(), p.clone()));
        Some(p)
    })
}

/// `promise.then(f)` or `promise.catch(f)` with a one-shot closure
/// (`Closure::once_into_js`, which frees itself when called).
fn call_promise_method(
    promise: &js_sys::Promise,
    method: &str,
    f: &JsValue,
) -> Option<js_sys::Promise> {
    let m: js_sys::Function = js_sys::Reflect::get(promise, &method.into())
        .ok()?
        .dyn_into()
        .ok()?;
    m.call1(promise, f).ok()?.dyn_into().ok()
}

/// Send a new worker its WebAssembly, `{ type: "module", module }`, as its loader
/// (`web/node_worker_loader.js`) waits for; `module: null` makes it load its own.
fn send_module(worker: &Worker, protocol: &str) {
    let send = {
        let worker = worker.clone();
        move |module: JsValue| {
            let msg = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&msg, &"type".into(), &"module".into());
            let _ = js_sys::Reflect::set(&msg, &"module".into(), &module);
            // A worker terminated meanwhile ignores it.
            let _ = worker.post_message(&msg);
        }
    };
    match compiled_worker_module(protocol) {
        Some(p) => {
            let _ = call_promise_method(&p, "then", &Closure::once_into_js(send));
        }
        None => send(JsValue::NULL),
    }
}

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
    /// Posted messages not answered yet: the lane waits while any are.
    unanswered: u32,
    lane: Option<Lane>,
}

/// The page's end of the shared buffer.
struct Lane {
    slots: js_sys::Int32Array,
    bytes: js_sys::Uint8Array,
    capacity: u32,
    /// Commands written so far, and the last command word.
    counter: u32,
    seq: i32,
    /// The worker has said it listens.
    live: bool,
}

impl Lane {
    /// The bytes in the result area: [`shared::RESULT_LEN`] of them (none if negative).
    fn result(&self) -> Vec<u8> {
        let len = js_sys::Atomics::load(&self.slots, shared::RESULT_LEN).unwrap_or(0);
        let mut buf = vec![0u8; (len.max(0) as u32).min(self.capacity) as usize];
        let at = shared::result_at(self.capacity);
        self.bytes
            .subarray(at, at + buf.len() as u32)
            .copy_to(&mut buf);
        buf
    }

    fn command(&mut self, cmd: i32) {
        self.counter = self.counter.wrapping_add(1);
        self.seq = shared::command_word(self.counter, cmd);
        let _ = js_sys::Atomics::store(&self.slots, shared::SEQ, self.seq);
        let _ = js_sys::Atomics::notify(&self.slots, shared::SEQ);
    }
}

/// Room for a job on each lane: `?lane_kib=` (for testing the fall-back to postMessage
/// with small buffers), or the default.
fn lane_capacity() -> u32 {
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    // A bad value is reported by the playground when it starts; here it means the default.
    crate::run_status::lane_kib_from_query(query.trim_start_matches('?'))
        .ok()
        .flatten()
        .map(|kib| kib * 1024)
        .unwrap_or(shared::DEFAULT_CAPACITY)
}

/// Whether this page may share memory with its workers (it is cross-origin isolated:
/// served with COOP `same-origin` and COEP `require-corp`).
pub fn can_share_memory() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &"crossOriginIsolated".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
        && js_sys::Reflect::has(&js_sys::global(), &"SharedArrayBuffer".into()).unwrap_or(false)
}

/// What waiting on the lane gave.
pub enum LaneResult {
    /// The job's result.
    Done(Vec<u8>),
    /// The worker posted its answer instead (too big for the buffer, or an error).
    Posted,
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
    /// Start the worker of `protocol` for `node`. `on_event` is called for every message
    /// from it.
    pub fn spawn(
        node: u32,
        protocol: &str,
        on_event: impl Fn(u32, WorkerEvent) + 'static,
    ) -> Result<Self, String> {
        let options = WorkerOptions::new();
        options.set_name(&format!("node-{node}"));
        let worker = Worker::new_with_options(&node_worker_url(protocol), &options)
            .map_err(|e| format!("cannot start the node worker: {}", js_error_text(&e)))?;
        send_module(&worker, protocol);

        let inner = Rc::new(RefCell::new(Inner {
            ready: false,
            queue: Vec::new(),
            unanswered: 0,
            lane: None,
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
                    if can_share_memory() {
                        if let Err(e) = offer_lane(&target, &inner) {
                            web_sys::console::warn_1(
                                &format!("node {node}: no shared buffer ({e}); using postMessage")
                                    .into(),
                            );
                        }
                    }
                    return;
                }
                if let FromWorker::Sharing { .. } = &msg {
                    if let Some(lane) = inner.borrow_mut().lane.as_mut() {
                        lane.live = true;
                    }
                    return;
                }
                {
                    let mut inner = inner.borrow_mut();
                    inner.unanswered = inner.unanswered.saturating_sub(1);
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
        inner.unanswered += 1;
        if inner.ready {
            if let Some(lane) = inner.lane.as_mut().filter(|l| l.live) {
                // The worker may be waiting on the lane: send it back to its event loop.
                lane.command(shared::CMD_YIELD);
            }
            drop(inner);
            post(&self.worker, &msg)
        } else {
            inner.queue.push(msg);
            Ok(())
        }
    }

    /// Whether a job of `len` bytes can go over the lane now.
    pub fn lane_ready(&self, len: usize) -> bool {
        let inner = self.inner.borrow();
        inner.ready
            && inner.unanswered == 0
            && inner
                .lane
                .as_ref()
                .is_some_and(|l| l.live && len <= l.capacity as usize)
    }

    /// Write a job into the lane and wake the worker (check [`NodeWorker::lane_ready`]
    /// first).
    pub fn lane_post(&self, id: u64, job: &[u8]) {
        let mut inner = self.inner.borrow_mut();
        let Some(lane) = inner.lane.as_mut() else {
            return;
        };
        let len = job.len().min(lane.capacity as usize) as u32;
        lane.bytes
            .subarray(shared::JOB_AT, shared::JOB_AT + len)
            .copy_from(&job[..len as usize]);
        let _ = js_sys::Atomics::store(&lane.slots, shared::JOB_LEN, len as i32);
        let _ = js_sys::Atomics::store(&lane.slots, shared::JOB_ID, id as i32);
        lane.command(shared::CMD_JOB);
    }

    /// Spin until the worker has finished the last job posted on the lane. An error, with
    /// the worker's own words, as soon as it says it failed; give up at `deadline`
    /// (`performance.now()` milliseconds) if it says nothing.
    pub fn lane_wait(&self, deadline: f64, now: impl Fn() -> f64) -> Result<LaneResult, String> {
        let inner = self.inner.borrow();
        let Some(lane) = inner.lane.as_ref() else {
            return Err("no shared buffer".into());
        };
        let mut spins: u32 = 0;
        loop {
            let done = js_sys::Atomics::load(&lane.slots, shared::DONE).unwrap_or(0);
            if done == lane.seq {
                break;
            }
            if shared::command_of(done) == shared::CMD_FAILED {
                return Err(format!(
                    "the worker of node {} failed: {}",
                    self.node,
                    String::from_utf8_lossy(&lane.result())
                ));
            }
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(1024) && now() > deadline {
                return Err(format!(
                    "the worker of node {} stopped answering on its shared buffer",
                    self.node
                ));
            }
            std::hint::spin_loop();
        }
        let len = js_sys::Atomics::load(&lane.slots, shared::RESULT_LEN).unwrap_or(-1);
        if len < 0 {
            return Ok(LaneResult::Posted);
        }
        Ok(LaneResult::Done(lane.result()))
    }
}

/// Give the worker a shared buffer: `{ type: "share", buffer }`.
fn offer_lane(target: &Worker, inner: &Rc<RefCell<Inner>>) -> Result<(), String> {
    let capacity = lane_capacity();
    let buffer = js_sys::SharedArrayBuffer::new(shared::bytes_for(capacity));
    let msg = js_sys::Object::new();
    js_sys::Reflect::set(&msg, &"type".into(), &"share".into()).map_err(|e| js_error_text(&e))?;
    js_sys::Reflect::set(&msg, &"buffer".into(), &buffer).map_err(|e| js_error_text(&e))?;
    target
        .post_message(&msg)
        .map_err(|e| format!("postMessage failed: {}", js_error_text(&e)))?;
    inner.borrow_mut().lane = Some(Lane {
        slots: js_sys::Int32Array::new(&buffer),
        bytes: js_sys::Uint8Array::new(&buffer),
        capacity,
        counter: 0,
        seq: 0,
        live: false,
    });
    Ok(())
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
