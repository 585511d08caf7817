//! The end-of-run analysis (the linearizability verdict and the anomalies), asked of the
//! analysis worker (`crates/worker`, binary `analysis_worker`): the checker is not in the
//! page's bundle, and a long check does not freeze the page. The worker starts the first
//! time a run needs a verdict; requests wait until it says it is ready (a newer request
//! about the same run replaces one not yet sent). Each request is about a run, named by
//! a [`Tag`] (the page's run, or a lab column's): the worker answers in the order it was
//! asked, so each answer goes back with its request's tag. Natively (the UI's tests)
//! the analysis runs in place.

use quorumlab_sim::analysis::{Outcome, Request};
use yew::Callback;

/// What comes back: the outcome, or why there is none.
pub type Answer = Result<Outcome, String>;

/// Which run a request is about: [`RUN`], the page's own, or a lab column's id.
pub type Tag = u64;
/// The page's own run.
pub const RUN: Tag = 0;

pub struct Analyst {
    answer: Callback<(Tag, Answer)>,
    #[cfg(target_arch = "wasm32")]
    worker: Option<browser_side::Started>,
}

impl Analyst {
    pub fn new(answer: Callback<(Tag, Answer)>) -> Analyst {
        Analyst {
            answer,
            #[cfg(target_arch = "wasm32")]
            worker: None,
        }
    }

    /// Ask for the analysis of `req` about the run `tag`; the answer comes through the
    /// callback with the tag.
    pub fn ask(&mut self, tag: Tag, req: &Request) {
        #[cfg(target_arch = "wasm32")]
        {
            let text = match serde_json::to_string(req) {
                Ok(t) => t,
                Err(e) => {
                    return self
                        .answer
                        .emit((tag, Err(format!("the request did not encode: {e}"))))
                }
            };
            if self.worker.is_none() {
                match browser_side::Started::new(self.answer.clone()) {
                    Ok(w) => self.worker = Some(w),
                    Err(e) => return self.answer.emit((tag, Err(e))),
                }
            }
            if let Some(w) = &self.worker {
                w.send(tag, text);
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let out = quorumlab_sim::analysis::analyse(req, &mut || false);
            self.answer.emit((tag, Ok(out)));
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod browser_side {
    use super::{Answer, Tag};
    use quorumlab_sim::analysis::Outcome;
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;
    use yew::Callback;

    #[derive(Default)]
    struct State {
        ready: bool,
        /// Requests waiting for the worker to be ready, one per run.
        queued: Vec<(Tag, String)>,
        /// The runs of the requests sent and not answered yet, in the order sent (the
        /// worker answers in that order).
        sent: VecDeque<Tag>,
    }

    pub struct Started {
        worker: web_sys::Worker,
        state: Rc<RefCell<State>>,
        _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
        _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
    }

    impl Started {
        pub fn new(answer: Callback<(Tag, Answer)>) -> Result<Started, String> {
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
                        for (tag, q) in std::mem::take(&mut s.queued) {
                            if w.post_message(&JsValue::from_str(&q)).is_ok() {
                                s.sent.push_back(tag);
                            }
                        }
                        return;
                    }
                    let Some(tag) = st.borrow_mut().sent.pop_front() else {
                        return;
                    };
                    if let Some(rest) = text.strip_prefix("{\"error\"") {
                        cb.emit((tag, Err(format!("the analysis worker said{rest}"))));
                        return;
                    }
                    cb.emit((
                        tag,
                        Outcome::from_json(&text)
                            .map_err(|e| format!("the analysis worker answered garbage ({e})")),
                    ));
                },
            );
            let st = state.clone();
            let on_error =
                Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |ev: web_sys::ErrorEvent| {
                    // Every request awaiting an answer hears it.
                    let sent: Vec<Tag> = {
                        let mut s = st.borrow_mut();
                        let queued: Vec<Tag> = s.queued.drain(..).map(|(t, _)| t).collect();
                        s.sent.drain(..).chain(queued).collect()
                    };
                    for tag in sent {
                        answer.emit((
                            tag,
                            Err(format!("the analysis worker failed: {}", ev.message())),
                        ));
                    }
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

        pub fn send(&self, tag: Tag, text: String) {
            let mut s = self.state.borrow_mut();
            if s.ready {
                if self.worker.post_message(&JsValue::from_str(&text)).is_ok() {
                    s.sent.push_back(tag);
                }
            } else {
                // A newer request about the same run replaces one not yet sent.
                s.queued.retain(|(t, _)| *t != tag);
                s.queued.push((tag, text));
            }
        }
    }
}
