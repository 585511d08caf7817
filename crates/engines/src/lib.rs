//! The page's engine modules: each binary of this crate is one protocol's runs behind
//! one exported function, `call` (a [`quorumlab_sim::link::Call`] in JSON, its reply
//! out), and `last_panic` (what the module said as it trapped, for the page's error).
//! The page links no simulator: `web/engines.js` loads a protocol's module the first
//! time a scenario names it, and `web/src/engines.rs` makes each run a
//! [`quorumlab_sim::link::Proxy`].

pub use quorumlab_sim::link::Table;
#[doc(hidden)]
pub use wasm_bindgen;

/// The whole of an engine binary: `quorumlab_engines::engine!(path::to::Protocol);`.
#[macro_export]
macro_rules! engine {
    ($p:ty) => {
        use $crate::wasm_bindgen::prelude::*;

        thread_local! {
            static TABLE: ::std::cell::RefCell<$crate::Table<$p>> = ::std::cell::RefCell::new($crate::Table::default());
            static PANIC: ::std::cell::RefCell<Option<String>> = const { ::std::cell::RefCell::new(None) };
        }

        /// Answer one call (see `quorumlab_sim::link::Call`).
        #[wasm_bindgen]
        pub fn call(request: &[u8]) -> String {
            TABLE.with(|t| t.borrow_mut().call(request))
        }

        /// The message of the panic that stopped this module, if one did.
        #[wasm_bindgen]
        pub fn last_panic() -> Option<String> {
            PANIC.with(|p| p.borrow().clone())
        }

        fn main() {
            ::std::panic::set_hook(Box::new(|info| {
                let text = info.to_string();
                PANIC.with(|p| {
                    if let Ok(mut p) = p.try_borrow_mut() {
                        *p = Some(text);
                    }
                });
            }));
        }
    };
}
