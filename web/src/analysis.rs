//! The end-of-run analysis (the linearizability verdict and the anomalies), asked of the
//! analysis worker (`crates/worker`, binary `analysis_worker`): the checker is not in the
//! page's bundle, and a long check does not freeze the page. The worker starts the first
//! time a run needs a verdict; requests wait in a queue of one until it says it is ready
//! (a newer request replaces one not yet sent). Natively (the UI's tests) the analysis
//! runs in place.

use quorumlab_sim::analysis::{Outcome, Request};
use yew::Callback;

/// What comes back: the outcome, or why there is none.
pub type Answer = Result<Outcome, String>;

pub struct Analyst {
    answer: Callback<Answer>,
    #[cfg(target_arch = "wasm32")]
    worker: Option<browser_side::Started>,
}

impl Analyst {
    pub fn new(answer: Callback<Answer>) -> Analyst {
        Analyst {
            answer,
            #[cfg(target_arch = "wasm32")]
            worker: None,
        }
    }

    /// Ask for the analysis of `req`; the answer comes through the callback.
    pub fn ask(&mut self, req: &Request) {
        #[cfg(target_arch = "wasm32")]
        {
            let text = match serde_json::to_string(req) {
                Ok(t) => t,
                Err(e) => {
                    return self
                        .answer
                        .emit(Err(format!("the request did not encode: {e}")))
                }
            };
            if self.worker.is_none() {
                match browser_side::Started::new(self.answer.clone()) {
                    Ok(w) => self.worker = Some(w),
                    Err(e) => return self.answer.emit(Err(e)),
                }
            }
            if let Some(w) = &self.worker {
                w.send(text);
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let out = quorumlab_sim::analysis::analyse(req, &mut || false);
            self.answer.emit(Ok(out));
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod browser_side {
    use super::Answer;
    use quorumlab_sim::analysis::Outcome;
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;
    use yew::Callback;

    #[derive(Default)]
    struct State {
        ready: bool,
        queued: Option<String>,
    }

    pub struct Started {
        worker: web_sys::Worker,
        state: Rc<RefCell<State>>,
        _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
        _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
    }

    impl Started {
        pub fn new(answer: Callback<Answer>) -> Result<Started, String> {
            let worker = web_sys::Worker::new("./analysis_worker_loader.js")
                .map_err(|e| format!("the analysis worker did not start: {e:?}"))?;
            let state = Rc::new(RefCell::new(State::default()));
            let (st, w, cb) = (state.clone(), worker.clone(), answer.clone());
            let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                move |ev: web_sys::MessageEvent| {
                    let Some(text) = ev.data().as_string() else {
                        return;
                    };
                    if text.starts_with("{\"ready\"") {
                        let mut s = st.borrow_mut();
                        s.ready = true;
                        if let Some(q) = s.queued.take() {
                            let _ = w.post_message(&JsValue::from_str(&q));
                        }
                        return;
                    }
                    if let Some(rest) = text.strip_prefix("{\"error\"") {
                        cb.emit(Err(format!("the analysis worker said{rest}")));
                        return;
                    }
                    cb.emit(
                        Outcome::from_json(&text)
                            .map_err(|e| format!("the analysis worker answered garbage ({e})")),
                    );
                },
            );
            let on_error =
                Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |ev: web_sys::ErrorEvent| {
                    answer.emit(Err(format!("the analysis worker failed: {}", ev.message())));
                });
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            Ok(Started {
                worker,
                state,
                _on_message: on_message,
                _on_error: on_error,
            })
        }

        pub fn send(&self, text: String) {
            let mut s = self.state.borrow_mut();
            if s.ready {
                let _ = self.worker.post_message(&JsValue::from_str(&text));
            } else {
                s.queued = Some(text);
            }
        }
    }
}
