//! Vocabulary shared by every protocol and the simulator.

use serde::{Deserialize, Serialize};

/// A node's id: its index in the scenario's node list.
pub type NodeId = u32;
/// Simulated time in microseconds.
pub type Time = u64;
/// A protocol-chosen timer name; re-arming the same id replaces the earlier deadline.
pub type TimerId = u32;
/// A client (a "process" in the history).
pub type ClientId = u32;

/// Microseconds in one millisecond, for readable constants.
pub const MS: Time = 1_000;
/// Microseconds in one second.
pub const SEC: Time = 1_000_000;

/// A client operation: on the replicated key-value store (read, write, cas on integer
/// registers; or append to a string, the key-value map's data type), or on a lock. Which of them a protocol serves is its
/// [`crate::Protocol::DATA_TYPE`].
/// Written as `{"f": "write", "key": "x", "value": 1}` (internally tagged); read by a
/// visitor of its own ([`OpVisitor`]): the derived reader buffers every value and was
/// one of the page's largest functions.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "f", rename_all = "lowercase", deny_unknown_fields)]
pub enum Op {
    Read {
        key: String,
    },
    Write {
        key: String,
        value: i64,
    },
    Cas {
        key: String,
        expect: i64,
        new: i64,
    },
    /// Add `value` to the end of the string under `key` (a key never written holds the
    /// empty string): the key-value map's operation ([`crate::DataType::KV`]). A read
    /// then returns every piece appended so far, in the order they took effect, so one
    /// read shows the whole order of writes to its key.
    Append {
        key: String,
        value: String,
    },
    /// Take the lock `key` (a lock's operation: [`crate::DataType::LOCK`]); its `Ok`
    /// carries the fencing token granted.
    Acquire {
        key: String,
    },
    /// Give the lock `key` back.
    Release {
        key: String,
    },
}

impl Op {
    pub fn key(&self) -> &str {
        match self {
            Op::Read { key }
            | Op::Write { key, .. }
            | Op::Cas { key, .. }
            | Op::Append { key, .. }
            | Op::Acquire { key }
            | Op::Release { key } => key,
        }
    }
    /// Which kind of operation it is.
    pub fn kind(&self) -> crate::OpKind {
        use crate::OpKind as K;
        match self {
            Op::Read { .. } => K::Read,
            Op::Write { .. } => K::Write,
            Op::Cas { .. } => K::Cas,
            Op::Append { .. } => K::Append,
            Op::Acquire { .. } => K::Acquire,
            Op::Release { .. } => K::Release,
        }
    }
    /// In a log entry or a message label: `x=4`, `cas x 4→5`, `x+=[3]`, `read x`.
    pub fn describe(&self) -> String {
        match self {
            Op::Read { key } => format!("read {key}"),
            Op::Write { key, value } => format!("{key}={value}"),
            Op::Cas { key, expect, new } => format!("cas {key} {expect}→{new}"),
            Op::Append { key, value } => format!("{key}+={value}"),
            Op::Acquire { key } => format!("acquire {key}"),
            Op::Release { key } => format!("release {key}"),
        }
    }
    pub fn is_read(&self) -> bool {
        matches!(self, Op::Read { .. })
    }
}

/// A request from a client. `(client, seq)` names the operation: a retry carries the
/// same pair, so a protocol with client sessions applies it at most once.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClientRequest {
    pub client: ClientId,
    pub seq: u64,
    pub op: Op,
}

/// What became of a request, as far as the node that answers knows. Written
/// internally tagged (`{"outcome": "ok", "value": 3}`), read by [`OutcomeVisitor`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// It happened. `value` is what a read returned (`None`: never written); for a write,
    /// an append or a successful cas it is `None`; for an acquire, the fencing token.
    Ok { value: Option<Val> },
    /// It certainly did not happen (a cas whose expected value did not match).
    Fail { reason: String },
    /// This node cannot serve it; try `leader` if known. It did not happen here. `term`
    /// is the replying node's term (for Raft: the term in which `leader` leads), so
    /// that a client can tell a newer hint from a stale one.
    Redirect {
        leader: Option<NodeId>,
        #[serde(default)]
        term: u64,
    },
    /// The node gave up on it, and it may or may not happen (leadership lost after the
    /// entry was appended, say).
    Unknown { reason: String },
}

/// A value a client reads: an integer (a register's, a fencing token), a string (the
/// key-value map's), or the siblings a store with version vectors kept for a key
/// (concurrent writes it would not order; the client is to merge them). Written as a
/// bare JSON number or string, siblings as `{"siblings": [3, 5]}`.
///
/// Its `Hash` of an integer is the `i64`'s own, so that the trace hashes of every run
/// from before strings existed (when this was an `i64`) stay as they were.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Val {
    Int(i64),
    Text(String),
    /// Concurrent values, sorted, at least two.
    Siblings(Vec<i64>),
}

impl Val {
    /// The integer, if it is one.
    pub fn int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            Val::Text(_) | Val::Siblings(_) => None,
        }
    }

    /// The value of an integer register, for code that only meets integers (a cas's
    /// expected value, a packed view number): a string counts as absent.
    pub fn as_int(v: Option<&Val>) -> Option<i64> {
        v.and_then(Val::int)
    }
}

impl From<i64> for Val {
    fn from(i: i64) -> Val {
        Val::Int(i)
    }
}

impl core::fmt::Display for Val {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Val::Int(i) => write!(f, "{i}"),
            Val::Text(s) => write!(f, "{s:?}"),
            Val::Siblings(v) => {
                let all: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                write!(f, "{{{}}}", all.join(" | "))
            }
        }
    }
}

impl core::hash::Hash for Val {
    fn hash<H: core::hash::Hasher>(&self, h: &mut H) {
        match self {
            Val::Int(i) => i.hash(h),
            Val::Text(s) => {
                // A marker no integer's hash starts with, then the string.
                h.write_u8(0xA5);
                s.hash(h);
            }
            Val::Siblings(v) => {
                h.write_u8(0xA6);
                v.hash(h);
            }
        }
    }
}

impl Serialize for Val {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Val::Int(i) => s.serialize_i64(*i),
            Val::Text(t) => s.serialize_str(t),
            Val::Siblings(v) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("siblings", v)?;
                m.end()
            }
        }
    }
}

/// A node's answer to a client request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClientReply {
    pub client: ClientId,
    pub seq: u64,
    pub outcome: Outcome,
    /// Where the protocol committed the operation, when it knows (a Raft log index and
    /// term, a Multi-Paxos slot and ballot round, a primary-backup index and epoch): the
    /// history records it, so "distinct operations got distinct positions" can be
    /// checked.
    #[serde(default)]
    pub at: Option<LogPos>,
}

/// A position in a replicated log: its index and, where the protocol keeps it, the term
/// (epoch) of the entry there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogPos {
    pub index: u64,
    pub term: Option<u64>,
}

/// A broken promise, found by [`crate::Protocol::check`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// One of [`crate::Protocol::invariants`].
    pub invariant: String,
    /// What was seen, in words a student can follow.
    pub detail: String,
}

impl Violation {
    pub fn new(invariant: &str, detail: impl Into<String>) -> Self {
        Violation {
            invariant: invariant.to_string(),
            detail: detail.into(),
        }
    }
}

impl core::fmt::Display for Violation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.invariant, self.detail)
    }
}

/// A change of cluster membership (or of who leads), asked of the current leader.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum MembershipChange {
    Add {
        node: NodeId,
    },
    Remove {
        node: NodeId,
    },
    /// An operator's manual failover: make this node the leader (primary-backup: the
    /// view manager promotes this backup). Protocols that elect their leader refuse.
    Promote {
        node: NodeId,
    },
}

// ---- reading the internally tagged client types ------------------------------------------
//
// Both are written by serde's derive, internally tagged: as a map with the tag first
// (JSON), or, by a format that writes structs as sequences (the worker wire), as the
// sequence tag, then the variant's fields in order. These visitors read both forms.

use serde::de::{self, MapAccess, SeqAccess, Visitor};

struct OpVisitor;

const OP_NAMES: &[&str] = &["read", "write", "cas", "append", "acquire", "release"];

impl<'de> Visitor<'de> for OpVisitor {
    type Value = Op;
    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("an operation: {\"f\": \"read\" | \"write\" | \"cas\" | \"append\" | \"acquire\" | \"release\", \"key\": ..., ...}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Op, A::Error> {
        let (mut f, mut key, mut value, mut expect, mut new) =
            (None::<String>, None::<String>, None, None, None);
        while let Some(k) = m.next_key::<String>()? {
            match k.as_str() {
                "f" => f = Some(m.next_value()?),
                "key" => key = Some(m.next_value()?),
                "value" => value = Some(m.next_value::<Val>()?),
                "expect" => expect = Some(m.next_value::<i64>()?),
                "new" => new = Some(m.next_value::<i64>()?),
                other => {
                    return Err(de::Error::unknown_field(
                        other,
                        &["f", "key", "value", "expect", "new"],
                    ))
                }
            }
        }
        let f = f.ok_or_else(|| de::Error::missing_field("f"))?;
        let key = key.ok_or_else(|| de::Error::missing_field("key"))?;
        let extra = |name: &'static str, v: bool| -> Result<(), A::Error> {
            if v {
                Err(de::Error::unknown_field(name, &[]))
            } else {
                Ok(())
            }
        };
        match f.as_str() {
            "read" | "acquire" | "release" => {
                extra("value", value.is_some())?;
                extra("expect", expect.is_some())?;
                extra("new", new.is_some())?;
                Ok(match f.as_str() {
                    "read" => Op::Read { key },
                    "acquire" => Op::Acquire { key },
                    _ => Op::Release { key },
                })
            }
            "write" => {
                extra("expect", expect.is_some())?;
                extra("new", new.is_some())?;
                Ok(Op::Write {
                    key,
                    value: value
                        .ok_or_else(|| de::Error::missing_field("value"))?
                        .integer()?,
                })
            }
            "append" => {
                extra("expect", expect.is_some())?;
                extra("new", new.is_some())?;
                Ok(Op::Append {
                    key,
                    value: value
                        .ok_or_else(|| de::Error::missing_field("value"))?
                        .string()?,
                })
            }
            "cas" => {
                extra("value", value.is_some())?;
                Ok(Op::Cas {
                    key,
                    expect: expect.ok_or_else(|| de::Error::missing_field("expect"))?,
                    new: new.ok_or_else(|| de::Error::missing_field("new"))?,
                })
            }
            other => Err(de::Error::unknown_variant(other, OP_NAMES)),
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Op, A::Error> {
        let mut next = |i: usize| -> Result<_, A::Error> {
            s.next_element::<Val>()?
                .ok_or_else(|| de::Error::invalid_length(i, &self))
        };
        let f = next(0)?.string()?;
        let key = next(1)?.string()?;
        match f.as_str() {
            "read" => Ok(Op::Read { key }),
            "write" => Ok(Op::Write {
                key,
                value: next(2)?.integer()?,
            }),
            "cas" => Ok(Op::Cas {
                key,
                expect: next(2)?.integer()?,
                new: next(3)?.integer()?,
            }),
            "append" => Ok(Op::Append {
                key,
                value: next(2)?.string()?,
            }),
            "acquire" => Ok(Op::Acquire { key }),
            "release" => Ok(Op::Release { key }),
            other => Err(de::Error::unknown_variant(other, OP_NAMES)),
        }
    }
}

impl Val {
    fn string<E: de::Error>(self) -> Result<String, E> {
        match self {
            Val::Text(s) => Ok(s),
            Val::Int(i) => Err(E::invalid_type(de::Unexpected::Signed(i), &"a string")),
            Val::Siblings(_) => Err(E::invalid_type(de::Unexpected::Map, &"a string")),
        }
    }
    fn integer<E: de::Error>(self) -> Result<i64, E> {
        match self {
            Val::Int(i) => Ok(i),
            Val::Text(s) => Err(E::invalid_type(de::Unexpected::Str(&s), &"an integer")),
            Val::Siblings(_) => Err(E::invalid_type(de::Unexpected::Map, &"an integer")),
        }
    }
}

impl<'de> Deserialize<'de> for Val {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Val;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Val, E> {
                Ok(Val::Text(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Val, E> {
                Ok(Val::Text(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Val, E> {
                Ok(Val::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Val, E> {
                i64::try_from(v)
                    .map(Val::Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Val, A::Error> {
                let mut got = None;
                while let Some(k) = m.next_key::<String>()? {
                    match k.as_str() {
                        "siblings" => got = Some(m.next_value::<Vec<i64>>()?),
                        other => return Err(de::Error::unknown_field(other, &["siblings"])),
                    }
                }
                got.map(Val::Siblings)
                    .ok_or_else(|| de::Error::missing_field("siblings"))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OpVisitor)
    }
}

struct OutcomeVisitor;

impl<'de> Visitor<'de> for OutcomeVisitor {
    type Value = Outcome;
    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(
            "an outcome: {\"outcome\": \"ok\" | \"fail\" | \"redirect\" | \"unknown\", ...}",
        )
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Outcome, A::Error> {
        let (mut tag, mut value, mut reason, mut leader, mut term) = (
            None::<String>,
            None::<Option<Val>>,
            None::<String>,
            None::<Option<NodeId>>,
            None::<u64>,
        );
        while let Some(k) = m.next_key::<String>()? {
            match k.as_str() {
                "outcome" => tag = Some(m.next_value()?),
                "value" => value = Some(m.next_value()?),
                "reason" => reason = Some(m.next_value()?),
                "leader" => leader = Some(m.next_value()?),
                "term" => term = Some(m.next_value()?),
                _ => {
                    m.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let tag = tag.ok_or_else(|| de::Error::missing_field("outcome"))?;
        let why = |r: Option<String>| r.ok_or_else(|| de::Error::missing_field("reason"));
        match tag.as_str() {
            "ok" => Ok(Outcome::Ok {
                value: value.unwrap_or(None),
            }),
            "fail" => Ok(Outcome::Fail {
                reason: why(reason)?,
            }),
            "redirect" => Ok(Outcome::Redirect {
                leader: leader.unwrap_or(None),
                term: term.unwrap_or(0),
            }),
            "unknown" => Ok(Outcome::Unknown {
                reason: why(reason)?,
            }),
            other => Err(de::Error::unknown_variant(
                other,
                &["ok", "fail", "redirect", "unknown"],
            )),
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Outcome, A::Error> {
        let tag: String = s
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let missing = |i| de::Error::invalid_length(i, &OutcomeVisitor);
        match tag.as_str() {
            "ok" => Ok(Outcome::Ok {
                value: s.next_element::<Option<Val>>()?.ok_or_else(|| missing(1))?,
            }),
            "fail" => Ok(Outcome::Fail {
                reason: s.next_element()?.ok_or_else(|| missing(1))?,
            }),
            "redirect" => Ok(Outcome::Redirect {
                leader: s
                    .next_element::<Option<NodeId>>()?
                    .ok_or_else(|| missing(1))?,
                term: s.next_element()?.unwrap_or(0),
            }),
            "unknown" => Ok(Outcome::Unknown {
                reason: s.next_element()?.ok_or_else(|| missing(1))?,
            }),
            other => Err(de::Error::unknown_variant(
                other,
                &["ok", "fail", "redirect", "unknown"],
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OutcomeVisitor)
    }
}
