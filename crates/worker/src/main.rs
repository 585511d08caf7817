//! `node_worker`: the Web Worker entry point. Trunk builds it with
//! `data-type="worker" data-loader-shim`, which yields `node_worker_loader.js`; the page
//! starts it with `new Worker("./node_worker_loader.js", { name: "node-<id>" })`.
//!
//! wasm-bindgen calls `main` once the module is instantiated. Natively, `main` does nothing
//! (the crate is still built by `cargo clippy/test --workspace`).

fn main() {
    #[cfg(target_arch = "wasm32")]
    bootstrap::start();
}

#[cfg(target_arch = "wasm32")]
mod bootstrap {
    use quorumlab_worker::node::node_from_worker_name;
    use quorumlab_worker::{FromWorker, NodeHost, ToWorker};
    use std::cell::RefCell;
    use wasm_bindgen::prelude::*;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    pub fn start() {
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        let node = node_from_worker_name(&scope.name()).unwrap_or(0);
        let host = RefCell::new(NodeHost::new(node));

        let reply_scope = scope.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let replies = match serde_wasm_bindgen::from_value::<ToWorker>(event.data()) {
                Ok(msg) => host.borrow_mut().handle(msg),
                Err(err) => vec![FromWorker::Error {
                    message: format!("node {node}: cannot read message: {err}"),
                }],
            };
            for reply in &replies {
                post(&reply_scope, reply);
            }
        });
        scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // The handler lives as long as the worker.
        on_message.forget();

        post(&scope, &NodeHost::new(node).ready());
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
}
