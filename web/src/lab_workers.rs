//! The lab columns' workers: one Web Worker per column (`web/lab_worker.js`), each
//! holding its column's run in the protocol's engine module (see `crate::ui::remote`).
//! A batch of engine calls goes in; its replies, or why there are none, come back
//! through the callback with the column's id. A column gone ([`LabWorkers::keep`])
//! takes its worker with it. Natively (the UI's tests) a column's run is a table of the
//! protocol's engine in this process, and each batch is answered in place.

use yew::Callback;

/// How the error of a worker that could not start begins (the lab then runs its
/// columns on the page's thread).
pub const NO_WORKER: &str = "the lab's worker did not start";

/// A column's id and what its batch got: the replies in order, or why there are none.
pub type Replies = (u64, Result<Vec<String>, String>);

pub struct LabWorkers {
    answer: Callback<Replies>,
    #[cfg(target_arch = "wasm32")]
    workers: Vec<(u64, browser_side::Started)>,
    #[cfg(not(target_arch = "wasm32"))]
    links: Vec<(u64, quorumlab_sim::link::LinkFn)>,
}

impl LabWorkers {
    pub fn new(answer: Callback<Replies>) -> LabWorkers {
        LabWorkers {
            answer,
            #[cfg(target_arch = "wasm32")]
            workers: Vec::new(),
            #[cfg(not(target_arch = "wasm32"))]
            links: Vec::new(),
        }
    }

    /// Send column `id`'s batch to its worker (started on the first).
    pub fn send(&mut self, id: u64, protocol: &str, calls: Vec<Vec<u8>>) {
        #[cfg(target_arch = "wasm32")]
        {
            if !self.workers.iter().any(|(i, _)| *i == id) {
                match browser_side::Started::new(id, self.answer.clone()) {
                    Ok(w) => self.workers.push((id, w)),
                    Err(e) => return self.answer.emit((id, Err(e))),
                }
            }
            if let Some((_, w)) = self.workers.iter().find(|(i, _)| *i == id) {
                if let Err(e) = w.send(protocol, &calls) {
                    self.answer.emit((id, Err(e)));
                }
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            if !self.links.iter().any(|(i, _)| *i == id) {
                match crate::engines::link(protocol) {
                    Ok(l) => self.links.push((id, l)),
                    Err(e) => return self.answer.emit((id, Err(e))),
                }
            }
            if let Some((_, link)) = self.links.iter().find(|(i, _)| *i == id) {
                let replies = calls.iter().map(|c| link(c)).collect();
                self.answer.emit((id, replies));
            }
        }
    }

    /// How many columns' workers there are.
    pub fn running(&self) -> usize {
        #[cfg(target_arch = "wasm32")]
        return self.workers.len();
        #[cfg(not(target_arch = "wasm32"))]
        return self.links.len();
    }

    /// Stop the workers of every column but `ids`.
    pub fn keep(&mut self, ids: &[u64]) {
        #[cfg(target_arch = "wasm32")]
        self.workers.retain(|(i, _)| ids.contains(i));
        #[cfg(not(target_arch = "wasm32"))]
        self.links.retain(|(i, _)| ids.contains(i));
    }
}

#[cfg(target_arch = "wasm32")]
mod browser_side {
    use super::Replies;
    use wasm_bindgen::prelude::*;
    use yew::Callback;

    /// One column's worker. Dropping it terminates the worker.
    pub struct Started {
        worker: web_sys::Worker,
        _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
        _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
    }

    impl Drop for Started {
        fn drop(&mut self) {
            self.worker.terminate();
        }
    }

    fn field(v: &JsValue, name: &str) -> JsValue {
        js_sys::Reflect::get(v, &name.into()).unwrap_or(JsValue::UNDEFINED)
    }

    impl Started {
        pub fn new(id: u64, answer: Callback<Replies>) -> Result<Started, String> {
            let worker = web_sys::Worker::new("./lab_worker.js")
                .map_err(|e| format!("{}: {e:?}", super::NO_WORKER))?;
            let cb = answer.clone();
            let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                move |ev: web_sys::MessageEvent| {
                    let data = ev.data();
                    if let Some(why) = field(&data, "error").as_string() {
                        return cb.emit((id, Err(why)));
                    }
                    let replies = field(&data, "replies");
                    if !js_sys::Array::is_array(&replies) {
                        return cb.emit((id, Err("its worker answered garbage".into())));
                    }
                    let replies: Vec<String> = js_sys::Array::from(&replies)
                        .iter()
                        .map(|r| r.as_string().unwrap_or_default())
                        .collect();
                    cb.emit((id, Ok(replies)));
                },
            );
            let on_error =
                Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |ev: web_sys::ErrorEvent| {
                    answer.emit((id, Err(format!("its worker failed: {}", ev.message()))));
                });
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            Ok(Started {
                worker,
                _on_message: on_message,
                _on_error: on_error,
            })
        }

        pub fn send(&self, protocol: &str, calls: &[Vec<u8>]) -> Result<(), String> {
            let list = js_sys::Array::new();
            for c in calls {
                list.push(&js_sys::Uint8Array::from(c.as_slice()));
            }
            let msg = js_sys::Object::new();
            let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&msg, &k.into(), v);
            set("protocol", &JsValue::from_str(protocol))
                .and_then(|_| set("calls", &list))
                .map_err(|e| format!("the batch could not be made: {e:?}"))?;
            self.worker
                .post_message(&msg)
                .map_err(|e| format!("its worker took no message: {e:?}"))
        }
    }
}
