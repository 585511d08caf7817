//! One quorumlab node, hosted in a Web Worker.
//!
//! The library half is what the page and the worker share: the message types
//! ([`protocol`]) and the worker's browser-independent logic ([`node`]). Each protocol
//! the page carries has a node worker binary of its own (`src/bin/node_*.rs`, built by
//! `cargo xtask engines` into `nodes/node-<protocol>.js`): a worker links only its
//! protocol. `bootstrap` wires them to `postMessage` and the shared lane.

#[cfg(target_arch = "wasm32")]
pub mod bootstrap;
pub mod node;
pub mod protocol;

pub use node::NodeHost;
pub use protocol::{FromWorker, ToWorker, PROTOCOL_VERSION};

/// The whole of a node worker binary: `quorumlab_worker::node_worker!(path::to::Protocol);`.
/// Natively `main` does nothing (the crate is still built by `cargo test --workspace`).
#[macro_export]
macro_rules! node_worker {
    ($p:ty) => {
        fn main() {
            #[cfg(target_arch = "wasm32")]
            $crate::bootstrap::start($crate::node::hosts::<$p>);
        }
    };
}
