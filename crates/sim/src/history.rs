//! Client histories: every operation as invoke / ok / fail / info, in the JSON Lines
//! form of the design (`{"process":3,"type":"invoke","f":"write","key":"x","value":4,"time":1200}`).

use serde::{Deserialize, Serialize};

/// What a history line says about an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// The client called it.
    Invoke,
    /// It happened, with this result.
    Ok,
    /// It did not happen.
    Fail,
    /// Unknown: it may have happened, at any time after its invoke.
    Info,
}

/// The operation's function: a register's (read, write, cas), a key-value map's (and
/// append), or a lock's (acquire, release): the client operation kinds of
/// `quorumlab-core`, whose data types ([`quorumlab_core::DataType`]) say which a
/// protocol serves.
pub type Func = quorumlab_core::OpKind;

/// A history value: `null`, an integer, a cas pair `[old, new]`, a string (append
/// and the key-value model), or the siblings a read returned from a store with version
/// vectors (`{"siblings": [3, 5]}`: concurrent values, no single one).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
#[derive(Default)]
pub enum Value {
    #[default]
    Nil,
    Int(i64),
    Pair([i64; 2]),
    Str(String),
    Siblings {
        siblings: Vec<i64>,
    },
}

/// One line of a history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub process: u64,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub f: Func,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Value,
    /// Simulated microseconds.
    pub time: u64,
    /// Where the protocol committed the operation, when it said (an `ok` event): its
    /// log index and term (`quorumlab run --history`; absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<u64>,
    /// A `fail` no node answered: the client gave up on an operation it knows was not
    /// applied (no node would take it). Unavailability, where a `fail` a node answered
    /// (a cas whose expected value did not match) is an answer. Absent in older files.
    #[serde(default, skip_serializing_if = "is_false")]
    pub gave_up: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A whole history, in the order things happened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub events: Vec<HistoryEvent>,
    /// The client data type the operations act on (a [`quorumlab_core::DataType`]'s
    /// name, which is also the checker's model: `cas-register`, `lock`), as the
    /// protocol that served them declares it; `None` in files from before it was
    /// recorded (they are checked as registers, or as the history's operations
    /// suggest). In JSON Lines, a first line of its own: `{"data_type": "cas-register"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
}

impl History {
    pub fn push(&mut self, e: HistoryEvent) {
        self.events.push(e);
    }

    /// The history as JSON Lines, one event a line, after a line naming the data type
    /// when it is known.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        if let Some(d) = &self.data_type {
            out.push_str(&serde_json::json!({ "data_type": d }).to_string());
            out.push('\n');
        }
        for e in &self.events {
            // Serialising these plain structs cannot fail.
            out.push_str(&serde_json::to_string(e).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}
