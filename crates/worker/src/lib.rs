//! One quorumlab node, hosted in a Web Worker.
//!
//! The library half is what the page and the worker share: the message types
//! ([`protocol`]) and the worker's browser-independent logic ([`node`]). The `node_worker`
//! binary (`main.rs`) is the thin bootstrap that wires them to `postMessage`.

pub mod node;
pub mod protocol;

pub use node::NodeHost;
pub use protocol::{FromWorker, ToWorker, PROTOCOL_VERSION};
