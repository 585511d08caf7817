//! A node worker's entry point, shared by every protocol's node worker binary
//! (`src/bin/node_*.rs`, one line each: `quorumlab_worker::node_worker!(Type);`). The
//! page starts `new Worker("./node_worker_loader.js?protocol=raft", { name: "node-<id>" })`,
//! our loader (`web/node_worker_loader.js`), which loads `nodes/node-raft.js` and
//! instantiates the module the page compiled once; wasm-bindgen then calls the binary's
//! `main`, which calls [`start`].

use crate::node::{node_from_worker_name, Builder};
use crate::protocol::shared;
use crate::{FromWorker, NodeHost, ToWorker};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// The shared buffer's views (see `quorumlab_worker::protocol::shared`).
#[derive(Clone)]
struct Lane {
    slots: js_sys::Int32Array,
    bytes: js_sys::Uint8Array,
    capacity: u32,
}

struct Worker {
    node: u32,
    scope: DedicatedWorkerGlobalScope,
    host: RefCell<NodeHost>,
    lane: RefCell<Option<Lane>>,
    /// The last command seen on the lane.
    seen: Cell<i32>,
    /// Waiting on the lane resumes from here after the event loop had its turn.
    resume: RefCell<Option<Closure<dyn FnMut()>>>,
    /// A resume is scheduled (at most one at a time).
    resuming: Cell<bool>,
}

impl Lane {
    /// Put `bytes` (at most the capacity) in the result area; how many went in.
    fn put_result(&self, bytes: &[u8]) -> i32 {
        let len = bytes.len().min(self.capacity as usize);
        let at = shared::result_at(self.capacity);
        self.bytes
            .subarray(at, at + len as u32)
            .copy_from(&bytes[..len]);
        len as i32
    }

    /// Answer the page: the result's length (or [`shared::RESULT_POSTED`]), then the
    /// word it spins for.
    fn answer(&self, result_len: i32, done: i32) {
        let _ = js_sys::Atomics::store(&self.slots, shared::RESULT_LEN, result_len);
        let _ = js_sys::Atomics::store(&self.slots, shared::DONE, done);
    }
}

thread_local! {
    /// The lane, for reporting a failure from a panic hook or an error handler,
    /// which cannot reach the worker's own state.
    static FAILURE_LANE: RefCell<Option<Lane>> = const { RefCell::new(None) };
    /// A failure has been reported (the first one is the cause; what follows it, such
    /// as the trap that ends a panic, is not).
    static FAILED: Cell<bool> = const { Cell::new(false) };
}

/// Tell a page that may be spinning on the lane that this worker is gone, and why.
fn report_failure(text: &str) {
    if FAILED.with(|f| f.replace(true)) {
        return;
    }
    FAILURE_LANE.with(|lane| {
        let lane = lane.borrow();
        let Some(lane) = lane.as_ref() else { return };
        lane.answer(lane.put_result(text.as_bytes()), shared::FAILED_WORD);
    });
}

/// A panic anywhere in the worker: on the lane at once, and posted with its text
/// (otherwise the page would only see the trap that follows, "unreachable").
fn install_failure_reports(scope: &DedicatedWorkerGlobalScope) {
    std::panic::set_hook(Box::new(|info| {
        let text = info.to_string();
        report_failure(&text);
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        post(&scope, &FromWorker::Error { message: text });
    }));
    // Any other uncaught exception (it also reaches the page as an error event).
    let on_error = Closure::<dyn FnMut(JsValue)>::new(|event: JsValue| {
        let text = js_sys::Reflect::get(&event, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_else(|| "an uncaught exception".into());
        report_failure(&text);
    });
    let _ = scope.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
    on_error.forget();
}

pub fn start(build: Builder) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    install_failure_reports(&scope);
    let node = node_from_worker_name(&scope.name()).unwrap_or(0);
    let w = Rc::new(Worker {
        node,
        scope: scope.clone(),
        host: RefCell::new(NodeHost::with(node, build)),
        lane: RefCell::new(None),
        seen: Cell::new(0),
        resume: RefCell::new(None),
        resuming: Cell::new(false),
    });
    let again = Rc::downgrade(&w);
    *w.resume.borrow_mut() = Some(Closure::<dyn FnMut()>::new(move || {
        if let Some(w) = again.upgrade() {
            w.resuming.set(false);
            serve_lane(&w);
        }
    }));

    let on_message = {
        let w = w.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            on_message(&w, event.data());
            serve_lane(&w);
        })
    };
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();

    post(&scope, &NodeHost::with(node, build).ready());
}

fn on_message(w: &Worker, data: JsValue) {
    // The shared buffer comes as `{ type: "share", buffer }`: not a serde message.
    let kind = js_sys::Reflect::get(&data, &"type".into())
        .ok()
        .and_then(|k| k.as_string());
    if kind.as_deref() == Some("module") {
        // For the loader (web/node_worker_loader.js), which has already started us.
        return;
    }
    if kind.as_deref() == Some("share") {
        let buffer = js_sys::Reflect::get(&data, &"buffer".into()).unwrap_or_default();
        if buffer.is_instance_of::<js_sys::SharedArrayBuffer>() {
            let bytes = js_sys::Uint8Array::new(&buffer);
            let lane = Lane {
                slots: js_sys::Int32Array::new(&buffer),
                capacity: shared::capacity_of(bytes.length()),
                bytes,
            };
            FAILURE_LANE.with(|l| *l.borrow_mut() = Some(lane.clone()));
            *w.lane.borrow_mut() = Some(lane);
            w.seen.set(0);
            post(&w.scope, &FromWorker::Sharing { node: w.node });
        } else {
            post(
                &w.scope,
                &FromWorker::Error {
                    message: format!("node {}: `share` without a SharedArrayBuffer", w.node),
                },
            );
        }
        return;
    }
    let replies = match serde_wasm_bindgen::from_value::<ToWorker>(data) {
        Ok(msg) => w.host.borrow_mut().handle(msg),
        Err(err) => vec![FromWorker::Error {
            message: format!("node {}: cannot read message: {err}", w.node),
        }],
    };
    for reply in &replies {
        post(&w.scope, reply);
    }
}

/// Run the jobs the page writes into the shared buffer until it says to yield, or
/// nothing came for a while (then look at the event loop and come back).
fn serve_lane(w: &Worker) {
    let lane = w.lane.borrow();
    let Some(lane) = lane.as_ref() else { return };
    loop {
        let seen = w.seen.get();
        match js_sys::Atomics::wait_with_timeout(&lane.slots, shared::SEQ, seen, shared::IDLE_MS) {
            Ok(r) if r == "timed-out" => {
                if !w.resuming.get() {
                    if let Some(cb) = w.resume.borrow().as_ref() {
                        let ok = w
                            .scope
                            .set_timeout_with_callback(cb.as_ref().unchecked_ref())
                            .is_ok();
                        w.resuming.set(ok);
                    }
                }
                return;
            }
            Ok(_) => {}
            Err(_) => return,
        }
        let seq = js_sys::Atomics::load(&lane.slots, shared::SEQ).unwrap_or(seen);
        if seq == seen {
            continue;
        }
        w.seen.set(seq);
        if shared::command_of(seq) != shared::CMD_JOB {
            // CMD_YIELD: a posted message is on its way.
            let _ = js_sys::Atomics::store(&lane.slots, shared::DONE, seq);
            return;
        }
        let len = js_sys::Atomics::load(&lane.slots, shared::JOB_LEN).unwrap_or(0) as u32;
        let id = js_sys::Atomics::load(&lane.slots, shared::JOB_ID).unwrap_or(0) as u64;
        let mut job = vec![0u8; len.min(lane.capacity) as usize];
        lane.bytes
            .subarray(shared::JOB_AT, shared::JOB_AT + job.len() as u32)
            .copy_to(&mut job);
        let replies = w.host.borrow_mut().handle(ToWorker::Job { id, job });
        let mut written = shared::RESULT_POSTED;
        for reply in replies {
            match reply {
                FromWorker::Done { result, .. } if result.len() <= lane.capacity as usize => {
                    written = lane.put_result(&result);
                }
                other => post(&w.scope, &other),
            }
        }
        lane.answer(written, seq);
    }
}

fn post(scope: &DedicatedWorkerGlobalScope, msg: &FromWorker) {
    let value = match serde_wasm_bindgen::to_value(msg) {
        Ok(v) => v,
        Err(err) => {
            web_sys::console::error_1(
                &format!("node worker: cannot encode a message: {err}").into(),
            );
            return;
        }
    };
    if let Err(err) = scope.post_message(&value) {
        web_sys::console::error_2(&"node worker: postMessage failed".into(), &err);
    }
}
