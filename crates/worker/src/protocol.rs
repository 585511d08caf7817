//! The messages between the page (the coordinator) and one node worker.
//!
//! Both directions are internally tagged enums, serialised with `serde-wasm-bindgen` into
//! plain JS objects such as `{ type: "ping", seq: 1 }`, so they can also be written by hand
//! from the browser console when debugging.
//!
//! The conversation is:
//!
//! 0. the page posts the worker's compiled WebAssembly, `{ type: "module", module }`, which
//!    its loader (`web/node_worker_loader.js`) instantiates;
//! 1. the worker posts [`FromWorker::Ready`] (anything the page posts before that would be
//!    lost, so the page queues until it sees `ready`);
//! 2. the page posts [`ToWorker`] messages; the worker answers each with one or more
//!    [`FromWorker`] messages: an `init` with the protocol and its parameters (the worker
//!    builds its node with `quorumlab_sim::remote::remote_node_for`), then `job`s in (a
//!    window's batch of events, a `quorumlab_sim::host::Job` encoded by
//!    `quorumlab_sim::remote::encode`, carried as a `Uint8Array`) and `done`s out (the
//!    batch of effects), handled in `node.rs`; `ping` and `view` at any time;
//! 3. when the page is cross-origin isolated, jobs and results also go through a shared
//!    buffer ([`shared`]).

use serde::{Deserialize, Serialize};

/// Bumped whenever a message changes shape, so the page can refuse a stale worker.
pub const PROTOCOL_VERSION: u32 = 5;

/// A message from the page to a node worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWorker {
    /// Are you alive? Answered with [`FromWorker::Pong`] carrying the same `seq`.
    Ping { seq: u32 },
    /// Host a node of this protocol, with the scenario's protocol parameters (encoded by
    /// `quorumlab_sim::remote::encode_params`). The node's state starts empty: its first
    /// job boots it (from the disk the simulator hands back, after a restart). Answered
    /// with [`FromWorker::Hosting`].
    Init {
        protocol: String,
        #[serde(with = "serde_bytes")]
        params: Vec<u8>,
    },
    /// Run one window of the node's events: an encoded `quorumlab_sim::host::Job`.
    /// Answered with [`FromWorker::Done`] carrying the same `id`.
    Job {
        id: u64,
        #[serde(with = "serde_bytes")]
        job: Vec<u8>,
    },
    /// Send the node's view ([`FromWorker::View`]).
    View,
}

/// A message from a node worker to the page. Read through [`FromFlat`], one plain
/// struct: the derived internally tagged enum buffered every message and was one of the
/// page's largest functions (19 kB of WebAssembly).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
    /// A job's result: an encoded `quorumlab_sim::host::JobResult`.
    Done {
        id: u64,
        node: u32,
        #[serde(with = "serde_bytes")]
        result: Vec<u8>,
    },
    /// The node's `NodeView`, encoded (`None` while it is down).
    View {
        node: u32,
        #[serde(with = "serde_bytes")]
        view: Option<Vec<u8>>,
    },
    /// The worker has the shared buffer the page offered ([`shared`]) and listens on it.
    Sharing { node: u32 },
    /// The worker could not understand or handle a message.
    Error { message: String },
}

/// Every field of every [`FromWorker`] message.
#[derive(Deserialize)]
struct FromFlat {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    node: Option<u32>,
    #[serde(default)]
    protocol: Option<u32>,
    #[serde(default)]
    worker_version: Option<String>,
    #[serde(default)]
    seq: Option<u32>,
    #[serde(default)]
    digest: Option<u32>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    result: Option<serde_bytes::ByteBuf>,
    #[serde(default)]
    view: Option<serde_bytes::ByteBuf>,
    #[serde(default)]
    message: Option<String>,
}

impl<'de> Deserialize<'de> for FromWorker {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let f = FromFlat::deserialize(d)?;
        let need = |v: Option<u32>, name: &str| {
            v.ok_or_else(|| D::Error::custom(format!("`{}` message without `{name}`", f.ty)))
        };
        Ok(match f.ty.as_str() {
            "ready" => FromWorker::Ready {
                node: need(f.node, "node")?,
                protocol: need(f.protocol, "protocol")?,
                worker_version: f.worker_version.clone().unwrap_or_default(),
            },
            "pong" => FromWorker::Pong {
                seq: need(f.seq, "seq")?,
                node: need(f.node, "node")?,
                digest: need(f.digest, "digest")?,
            },
            "hosting" => FromWorker::Hosting {
                node: need(f.node, "node")?,
            },
            "done" => FromWorker::Done {
                id: f
                    .id
                    .ok_or_else(|| D::Error::custom("`done` message without `id`"))?,
                node: need(f.node, "node")?,
                result: f
                    .result
                    .clone()
                    .ok_or_else(|| D::Error::custom("`done` message without `result`"))?
                    .into_vec(),
            },
            "view" => FromWorker::View {
                node: need(f.node, "node")?,
                view: f.view.clone().map(|b| b.into_vec()),
            },
            "sharing" => FromWorker::Sharing {
                node: need(f.node, "node")?,
            },
            "error" => FromWorker::Error {
                message: f.message.clone().unwrap_or_default(),
            },
            other => return Err(D::Error::custom(format!("unknown message type `{other}`"))),
        })
    }
}

/// The fast lane between page and worker when the page is cross-origin isolated: one
/// `SharedArrayBuffer` per worker, jobs and results written into it, the worker blocked in
/// `Atomics.wait` until the page bumps [`shared::SEQ`], the page spinning on
/// [`shared::DONE`]. No event loop, no structured clone: a round trip costs a thread wake.
///
/// The page offers the buffer with a plain message `{ type: "share", buffer }` (outside the
/// serde enums, which cannot carry one); the worker answers [`FromWorker::Sharing`]. From
/// then on, after every message it handles, the worker waits on the buffer (returning to
/// its event loop every [`shared::IDLE_MS`], or at once on [`shared::CMD_YIELD`], which the
/// page writes before it posts anything). The page uses the buffer only while no posted
/// message is unanswered, so a job never overtakes an `init`.
pub mod shared {
    /// Int32 slots at the start of the buffer.
    /// The command word ([`command_word`]): a new one for each command.
    pub const SEQ: u32 = 0;
    /// The last command word the worker has finished.
    pub const DONE: u32 = 1;
    /// Bytes of the job (an encoded `Job`) at [`JOB_AT`].
    pub const JOB_LEN: u32 = 3;
    /// Bytes of the result at [`result_at`]; [`RESULT_POSTED`] if the worker posted it
    /// instead (too big, or an error).
    pub const RESULT_LEN: u32 = 4;
    /// The window id, for a result that has to be posted.
    pub const JOB_ID: u32 = 5;

    /// The word the page stores in [`SEQ`] for its `counter`-th command `cmd`. Counter and
    /// command share one word, so the worker can never pair one command's number with the
    /// next command's kind (the page may write a job right after a yield).
    pub fn command_word(counter: u32, cmd: i32) -> i32 {
        ((counter << 2) as i32) | (cmd & 3)
    }

    /// The command in a word from [`command_word`].
    pub fn command_of(word: i32) -> i32 {
        word & 3
    }

    /// Run the job in the buffer.
    pub const CMD_JOB: i32 = 1;
    /// Go back to the event loop: a posted message is coming.
    pub const CMD_YIELD: i32 = 2;
    /// Not a command: the worker writes a word with this command into [`DONE`] when it
    /// fails (a panic, an uncaught exception), with the failure's text at the result
    /// area and its length in [`RESULT_LEN`], so a page spinning for a result learns it
    /// at once instead of at a deadline.
    pub const CMD_FAILED: i32 = 3;
    /// The word a failed worker leaves in [`DONE`].
    pub const FAILED_WORD: i32 = CMD_FAILED;
    /// `RESULT_LEN` when the answer went by `postMessage`.
    pub const RESULT_POSTED: i32 = -1;

    /// Bytes before the job area.
    pub const HEADER: u32 = 64;
    /// Room for a job, and again for a result, unless the page says otherwise
    /// (`?lane_kib=`). Bigger ones (a snapshot) go by `postMessage`.
    pub const DEFAULT_CAPACITY: u32 = 256 * 1024;
    /// The most the page may ask for.
    pub const MAX_CAPACITY: u32 = 16 * 1024 * 1024;
    pub const JOB_AT: u32 = HEADER;
    /// Where results go in a buffer with room `capacity` for each.
    pub fn result_at(capacity: u32) -> u32 {
        HEADER + capacity
    }
    /// The size of a buffer with room `capacity` for a job and for a result.
    pub fn bytes_for(capacity: u32) -> u32 {
        HEADER + 2 * capacity
    }
    /// The room for a job (and for a result) in a buffer of `bytes`.
    pub fn capacity_of(bytes: u32) -> u32 {
        bytes.saturating_sub(HEADER) / 2
    }
    /// How long an idle worker waits on the buffer before it looks at its event loop
    /// (the page yields the worker before posting, so this is only a safety net).
    pub const IDLE_MS: f64 = 200.0;
}

#[cfg(test)]
mod tests {
    use super::shared::*;

    #[test]
    fn command_words_carry_their_command_and_always_change() {
        let mut last = 0;
        for counter in (0..10).chain(u32::MAX - 10..=u32::MAX).chain(0..3) {
            for cmd in [CMD_JOB, CMD_YIELD] {
                let w = command_word(counter, cmd);
                assert_eq!(command_of(w), cmd);
                assert_ne!(w, last, "counter {counter}");
                last = w;
            }
        }
        // A failure is never taken for a finished command.
        for counter in (0..10).chain(u32::MAX - 10..=u32::MAX) {
            for cmd in [CMD_JOB, CMD_YIELD] {
                assert_ne!(command_word(counter, cmd), FAILED_WORD);
            }
        }
        assert_eq!(command_of(FAILED_WORD), CMD_FAILED);
        // The buffer starts zeroed: no command word is 0.
        assert_ne!(command_word(0, CMD_JOB), 0);
        assert_ne!(command_word(1 << 30, CMD_YIELD), 0);
    }
}

#[cfg(test)]
mod from_worker_tests {
    use super::FromWorker;

    #[test]
    fn every_message_from_a_worker_reads_back_as_written() {
        let all = vec![
            FromWorker::Ready {
                node: 1,
                protocol: super::PROTOCOL_VERSION,
                worker_version: "v".into(),
            },
            FromWorker::Pong {
                seq: 2,
                node: 3,
                digest: 4,
            },
            FromWorker::Hosting { node: 5 },
            FromWorker::Done {
                id: 6,
                node: 7,
                result: vec![1, 2, 3],
            },
            FromWorker::View {
                node: 8,
                view: Some(vec![9]),
            },
            FromWorker::View {
                node: 8,
                view: None,
            },
            FromWorker::Sharing { node: 9 },
            FromWorker::Error {
                message: "no".into(),
            },
        ];
        for m in all {
            let json = serde_json::to_string(&m).unwrap();
            let back: FromWorker = serde_json::from_str(&json).unwrap();
            assert_eq!(back, m, "{json}");
        }
        for bad in [
            r#"{"type":"nonsense"}"#,
            r#"{"type":"done","node":1}"#,
            r#"{"node":1}"#,
        ] {
            assert!(serde_json::from_str::<FromWorker>(bad).is_err(), "{bad}");
        }
    }
}
