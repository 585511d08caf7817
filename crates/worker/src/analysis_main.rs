//! `analysis_worker`: the page's end-of-run analysis in a Web Worker. Trunk builds it
//! with `data-type="worker"` into `analysis_worker.js` and `analysis_worker_bg.wasm`;
//! the page starts `new Worker("./analysis_worker_loader.js")` the first time a run needs
//! a verdict (`web/src/analysis.rs`).
//!
//! Each message is a `quorumlab_sim::analysis::Request` as JSON text; the answer is the
//! `Outcome` as JSON text (`Outcome::to_json`), or `{"error": "..."}` for a request it
//! could not read. The linearizability checker, its explainer and the anomaly classifier
//! live here rather than in the page's bundle, and a long check runs off the page's
//! thread. Natively, `main` does nothing (the crate is still built by `cargo clippy/test
//! --workspace`).

fn main() {
    #[cfg(target_arch = "wasm32")]
    bootstrap::start();
}

#[cfg(target_arch = "wasm32")]
mod bootstrap {
    use quorumlab_sim::analysis::{analyse, Request};
    use wasm_bindgen::prelude::*;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    pub fn start() {
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        let reply = scope.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let answer = match ev.data().as_string() {
                Some(text) => match serde_json::from_str::<Request>(&text) {
                    Ok(req) => {
                        let start = js_sys::Date::now();
                        let budget = req.budget_ms;
                        analyse(&req, &mut || js_sys::Date::now() - start > budget).to_json()
                    }
                    Err(e) => error(&format!("unreadable request: {e}")),
                },
                None => error("a request must be JSON text"),
            };
            let _ = reply.post_message(&JsValue::from_str(&answer));
        });
        scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        let _ = scope.post_message(&JsValue::from_str("{\"ready\":true}"));
    }

    fn error(text: &str) -> String {
        serde_json::json!({ "error": text }).to_string()
    }
}
