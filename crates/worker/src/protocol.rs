//! The messages between the page (the coordinator) and one node worker.
//!
//! Both directions are internally tagged enums, serialised with `serde-wasm-bindgen` into
//! plain JS objects such as `{ type: "ping", seq: 1 }`, so they can also be written by hand
//! from the browser console when debugging.
//!
//! The conversation is:
//!
//! 1. the worker starts, loads its WASM and posts [`FromWorker::Ready`] (anything the page
//!    posts before that would be lost, so the page queues until it sees `ready`);
//! 2. the page posts [`ToWorker`] messages; the worker answers each with one or more
//!    [`FromWorker`] messages.
//!
//! For now the only request is a [`ToWorker::Ping`]. The coordinator protocol adds its
//! variants here without changing the handshake: an `init` carrying the scenario (the
//! worker builds its node with `quorumlab_sim::remote::remote_node`), then `job`s in
//! (a window's batch of events, `quorumlab_sim::host::Job` as JSON) and `job_result`s
//! out (the batch of effects), handled in `node.rs`.

use serde::{Deserialize, Serialize};

/// Bumped whenever a message changes shape, so the page can refuse a stale worker.
pub const PROTOCOL_VERSION: u32 = 2;

/// A message from the page to a node worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWorker {
    /// Are you alive? Answered with [`FromWorker::Pong`] carrying the same `seq`.
    Ping { seq: u32 },
    /// Host a node of this protocol, with the scenario's protocol parameters (JSON). The
    /// node's state starts empty: its first job boots it (from the disk the simulator
    /// hands back, after a restart). Answered with [`FromWorker::Hosting`].
    Init { protocol: String, params: String },
    /// Run one window of the node's events: the JSON of a `quorumlab_sim::host::Job`.
    /// Answered with [`FromWorker::Done`] carrying the same `id`.
    Job { id: u64, job: String },
    /// Send the node's view ([`FromWorker::View`]).
    View,
}

/// A message from a node worker to the page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromWorker {
    /// The worker has loaded and is listening. Always its first message.
    Ready {
        node: u32,
        protocol: u32,
        worker_version: String,
    },
    /// The answer to [`ToWorker::Ping`].
    Pong {
        seq: u32,
        node: u32,
        /// A value computed in Rust inside the worker from `seq` and `node`, so the page
        /// can tell an answer from the WASM apart from an echo.
        digest: u32,
    },
    /// The node is hosted (answer to [`ToWorker::Init`]).
    Hosting { node: u32 },
    /// A job's result: the JSON of a `quorumlab_sim::host::JobResult`.
    Done { id: u64, node: u32, result: String },
    /// The node's `NodeView` as JSON (`None` while it is down).
    View { node: u32, view: Option<String> },
    /// The worker could not understand or handle a message.
    Error { message: String },
}
