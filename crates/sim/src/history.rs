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
/// append), or a lock's (acquire, release).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Func {
    Read,
    Write,
    Cas,
    Append,
    /// Take the lock (the key names it); its `ok` carries the fencing token granted.
    Acquire,
    /// Give the lock back.
    Release,
}

impl Func {
    /// Every function, in the order the error messages list them.
    pub const ALL: [Func; 6] = [
        Func::Read,
        Func::Write,
        Func::Cas,
        Func::Append,
        Func::Acquire,
        Func::Release,
    ];

    /// The name in a history line (`"f": "read"`).
    pub fn name(self) -> &'static str {
        match self {
            Func::Read => "read",
            Func::Write => "write",
            Func::Cas => "cas",
            Func::Append => "append",
            Func::Acquire => "acquire",
            Func::Release => "release",
        }
    }

    pub fn from_name(s: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// A history value: `null`, an integer, a cas pair `[old, new]`, or a string (append
/// and the key-value model).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
#[derive(Default)]
pub enum Value {
    #[default]
    Nil,
    Int(i64),
    Pair([i64; 2]),
    Str(String),
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
}

/// A whole history, in the order things happened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    pub events: Vec<HistoryEvent>,
}

impl History {
    pub fn push(&mut self, e: HistoryEvent) {
        self.events.push(e);
    }

    /// The history as JSON Lines, one event a line.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            // Serialising these plain structs cannot fail.
            out.push_str(&serde_json::to_string(e).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}
