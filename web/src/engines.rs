//! The page's runs live in engine modules, one per protocol (`crates/engines`, loaded by
//! `web/engines.js`); the page links no simulator and holds each run as a
//! [`Proxy`] (see `crates/sim/src/link.rs`). Natively (the UI's tests) the same
//! proxies talk to a module's [`quorumlab_sim::link::Table`] in this process, so
//! the tests go through the very path the browser does.

use quorumlab_sim::link::{LinkFn, Proxy};
use quorumlab_sim::remote::Coordinator;
use quorumlab_sim::{Engine, Scenario};

/// How an error about a module still loading begins (see [`is_loading`]).
const LOADING: &str = "loading the engine for ";

/// The error says the protocol's engine module is on its way, not that the scenario
/// is wrong: the page builds the run again when it arrives.
pub fn is_loading(error: &str) -> bool {
    error.starts_with(LOADING)
}

/// The link to the engine module of `protocol`; an error starting with [`LOADING`]
/// while it loads (the load is started), or why it could not load.
#[cfg(target_arch = "wasm32")]
pub fn link(protocol: &str) -> Result<LinkFn, String> {
    use std::rc::Rc;
    match js::state(protocol).as_deref() {
        Ok("ready") => {}
        Ok("loading") => return Err(format!("{LOADING}{protocol}…")),
        Ok(why) => return Err(why.to_string()),
        Err(_) => return Err("the page's engine loader (engines.js) is missing".into()),
    }
    let name = protocol.to_string();
    Ok(Rc::new(move |request: &[u8]| {
        js::call(&name, request).map_err(|e| crate::worker_pool::js_error_text(&e))
    }))
}

/// Natively: a module's table in this process.
#[cfg(not(target_arch = "wasm32"))]
pub fn link(protocol: &str) -> Result<LinkFn, String> {
    quorumlab_sim::registry::serve(protocol)
        .map(quorumlab_sim::link::local_link)
        .map_err(|e| e.to_string())
}

/// A run of `s` (validated), recording up to `record` messages (0: none).
pub fn build(s: &Scenario, record: usize) -> Result<Box<dyn Engine>, String> {
    let link = link(&s.protocol.name)?;
    Ok(Box::new(Proxy::new(link, s, s.seed, record)?))
}

/// The coordinator of a worker run of `s` (see `crate::runtime`).
pub fn coordinator(s: &Scenario) -> Result<Box<dyn Coordinator>, String> {
    let link = link(&s.protocol.name)?;
    Ok(Box::new(Proxy::new(link, s, s.seed, 0)?))
}

/// Call `then` once the engine module of `protocol` has loaded (or failed to).
#[cfg(target_arch = "wasm32")]
pub fn after_load(protocol: &str, then: impl FnOnce(Result<(), String>) + 'static) {
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;
    let then = Rc::new(RefCell::new(Some(then)));
    let (a, b) = (then.clone(), then);
    let ok = Closure::once(move |_: JsValue| {
        if let Some(f) = a.borrow_mut().take() {
            f(Ok(()))
        }
    });
    let failed = Closure::once(move |e: JsValue| {
        if let Some(f) = b.borrow_mut().take() {
            f(Err(crate::worker_pool::js_error_text(&e)))
        }
    });
    match js::load(protocol) {
        Ok(p) => {
            let _ = p.then2(&ok, &failed);
            // Each is called at most once, by the promise; a load is asked for a few
            // times a session.
            ok.forget();
            failed.forget();
        }
        Err(_) => {
            let _ = failed
                .as_ref()
                .unchecked_ref::<js_sys::Function>()
                .call1(&JsValue::NULL, &js_sys::Error::new("engines.js is missing"));
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_namespace = quorumlabEngines, js_name = state)]
        pub fn state(protocol: &str) -> Result<String, JsValue>;
        #[wasm_bindgen(catch, js_namespace = quorumlabEngines, js_name = load)]
        pub fn load(protocol: &str) -> Result<js_sys::Promise, JsValue>;
        #[wasm_bindgen(catch, js_namespace = quorumlabEngines, js_name = call)]
        pub fn call(protocol: &str, request: &[u8]) -> Result<String, JsValue>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_go_through_a_proxy_and_bad_names_are_refused() {
        let s = crate::ui::gallery::default_scenario();
        let mut e = build(&s, 100).expect("builds");
        e.run_until(200 * quorumlab_core::MS);
        assert!(e.events() > 0);
        assert!(link("zab").err().expect("refused").contains("zab"));
        assert!(is_loading("loading the engine for raft…"));
        assert!(!is_loading("unknown protocol `zab`"));
    }
}
