//! The replicated state machine: a value per string key (an integer register, or a
//! string grown by append), plus client sessions for exactly-once application of
//! retried requests.

use crate::{ClientId, ClientRequest, Op, Outcome, Val};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The last request applied for one client, and what it answered.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Session {
    pub seq: u64,
    pub outcome: Outcome,
}

/// The key-value store and its session table. Both go into snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Kv {
    pub kv: BTreeMap<String, Val>,
    /// As a list of pairs in JSON: a map with integer keys would not read back from
    /// inside an internally tagged enum (a snapshot in a message), whose keys serde
    /// buffers as strings.
    #[serde(with = "pairs")]
    pub sessions: BTreeMap<ClientId, Session>,
}

/// A map as a sequence of `(key, value)` pairs.
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

/// What applying a client entry did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Applied now; this is its outcome.
    Fresh(Outcome),
    /// The same `(client, seq)` was applied before: not applied again, here is the
    /// cached outcome.
    Duplicate(Outcome),
    /// An older request of a client that has moved on: ignored.
    Stale,
}

impl Kv {
    /// Apply one client request, deterministically.
    pub fn apply(&mut self, req: &ClientRequest) -> Applied {
        if let Some(s) = self.sessions.get(&req.client) {
            if req.seq == s.seq {
                return Applied::Duplicate(s.outcome.clone());
            }
            if req.seq < s.seq {
                return Applied::Stale;
            }
        }
        let outcome = self.execute(&req.op);
        self.sessions.insert(
            req.client,
            Session {
                seq: req.seq,
                outcome: outcome.clone(),
            },
        );
        Applied::Fresh(outcome)
    }

    /// The outcome of `op` against the current contents (changing them for writes).
    pub fn execute(&mut self, op: &Op) -> Outcome {
        match op {
            Op::Read { key } => Outcome::Ok {
                value: self.kv.get(key).cloned(),
            },
            Op::Write { key, value } => {
                self.kv.insert(key.clone(), Val::Int(*value));
                Outcome::Ok { value: None }
            }
            Op::Append { key, value } => match self
                .kv
                .entry(key.clone())
                .or_insert_with(|| Val::Text(String::new()))
            {
                Val::Text(s) => {
                    s.push_str(value);
                    Outcome::Ok { value: None }
                }
                Val::Int(i) => Outcome::Fail {
                    reason: format!("append {key}: it holds the integer {i}, not a string"),
                },
                // A replicated log's store keeps one value per key.
                Val::Siblings(_) => Outcome::Fail {
                    reason: format!("append {key}: it holds siblings, not a string"),
                },
            },
            Op::Cas { key, expect, new } => match self.kv.get_mut(key) {
                Some(v) if *v == Val::Int(*expect) => {
                    *v = Val::Int(*new);
                    Outcome::Ok { value: None }
                }
                Some(v) => Outcome::Fail {
                    reason: format!("cas {key}: expected {expect}, found {v}"),
                },
                None => Outcome::Fail {
                    reason: format!("cas {key}: expected {expect}, but {key} was never written"),
                },
            },
            // Not an operation of this store's data types (a register or a map of
            // strings, not a lock).
            other => Outcome::Fail {
                reason: format!(
                    "{} is not an operation of this store (read, write, cas, append)",
                    other.kind().name()
                ),
            },
        }
    }

    /// The session entry of `client`, if any.
    /// Apply an import: its keys set, its sessions taken where newer than ours (a
    /// client's requests are numbered in order, so the newer session is the one with
    /// the larger number, whichever store applied it).
    pub fn import(&mut self, imp: &super::Import) {
        for (k, v) in &imp.kv {
            self.kv.insert(k.clone(), v.clone());
        }
        for (c, s) in &imp.sessions {
            if self.sessions.get(c).is_none_or(|h| h.seq < s.seq) {
                self.sessions.insert(*c, s.clone());
            }
        }
    }

    pub fn session(&self, client: ClientId) -> Option<&Session> {
        self.sessions.get(&client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(client: ClientId, seq: u64, op: Op) -> ClientRequest {
        ClientRequest { client, seq, op }
    }
    fn w(key: &str, value: i64) -> Op {
        Op::Write {
            key: key.into(),
            value,
        }
    }

    #[test]
    fn write_read_cas() {
        let mut s = Kv::default();
        assert_eq!(
            s.apply(&req(1, 1, Op::Read { key: "x".into() })),
            Applied::Fresh(Outcome::Ok { value: None })
        );
        assert_eq!(
            s.apply(&req(1, 2, w("x", 4))),
            Applied::Fresh(Outcome::Ok { value: None })
        );
        let cas = |e, n| Op::Cas {
            key: "x".into(),
            expect: e,
            new: n,
        };
        assert!(matches!(
            s.apply(&req(1, 3, cas(3, 5))),
            Applied::Fresh(Outcome::Fail { .. })
        ));
        assert_eq!(s.kv["x"], Val::Int(4));
        assert_eq!(
            s.apply(&req(1, 4, cas(4, 5))),
            Applied::Fresh(Outcome::Ok { value: None })
        );
        assert_eq!(s.kv["x"], Val::Int(5));
        let missing = Op::Cas {
            key: "y".into(),
            expect: 0,
            new: 1,
        };
        assert!(matches!(
            s.apply(&req(1, 5, missing)),
            Applied::Fresh(Outcome::Fail { .. })
        ));
        assert!(!s.kv.contains_key("y"));
    }

    #[test]
    fn sessions_dedupe_retries_and_ignore_old_requests() {
        let mut s = Kv::default();
        assert!(matches!(s.apply(&req(7, 1, w("x", 1))), Applied::Fresh(_)));
        assert!(matches!(s.apply(&req(7, 2, w("x", 2))), Applied::Fresh(_)));
        // A retry of seq 2 after x changed through another client is not applied again.
        assert!(matches!(s.apply(&req(8, 1, w("x", 3))), Applied::Fresh(_)));
        assert_eq!(
            s.apply(&req(7, 2, w("x", 2))),
            Applied::Duplicate(Outcome::Ok { value: None })
        );
        assert_eq!(s.kv["x"], Val::Int(3));
        assert_eq!(s.apply(&req(7, 1, w("x", 1))), Applied::Stale);
        assert_eq!(s.kv["x"], Val::Int(3));
        assert_eq!(s.session(7).map(|x| x.seq), Some(2));
    }

    #[test]
    fn append_grows_a_string_and_reads_return_it_whole() {
        let mut s = Kv::default();
        let app = |v: &str| Op::Append {
            key: "y".into(),
            value: v.into(),
        };
        assert!(matches!(s.apply(&req(1, 1, app("[1]"))), Applied::Fresh(_)));
        assert!(matches!(s.apply(&req(2, 1, app("[2]"))), Applied::Fresh(_)));
        // A retried append is applied once.
        assert_eq!(
            s.apply(&req(1, 1, app("[1]"))),
            Applied::Duplicate(Outcome::Ok { value: None })
        );
        assert_eq!(
            s.apply(&req(1, 2, Op::Read { key: "y".into() })),
            Applied::Fresh(Outcome::Ok {
                value: Some(Val::Text("[1][2]".into()))
            })
        );
        // An append to an integer register is refused, not mixed in.
        s.apply(&req(3, 1, w("x", 4)));
        let Applied::Fresh(Outcome::Fail { reason }) = s.apply(&req(
            3,
            2,
            Op::Append {
                key: "x".into(),
                value: "[3]".into(),
            },
        )) else {
            panic!("an append to an integer must fail")
        };
        assert!(reason.contains("integer 4"), "{reason}");
    }
}
