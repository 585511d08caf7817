//! The acceptor of every key's instance: its promise and accepted value, persisted
//! before any reply.

use super::msg::{Accepted, PaxosDisk, PaxosWrite};
use super::{value_digest, Paxos, PaxosParams};
use crate::paxos::{key_slot, Ballot, Ghost};
use crate::Ctx;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AcceptorSlot {
    pub promised: Ballot,
    pub accepted: Option<Accepted>,
}

#[derive(Clone, Debug, Default)]
pub struct Acceptor {
    keys: BTreeMap<String, AcceptorSlot>,
}

impl Acceptor {
    pub fn from_disk(d: &PaxosDisk) -> Self {
        Acceptor {
            keys: d
                .keys
                .iter()
                .map(|s| {
                    (
                        s.key.clone(),
                        AcceptorSlot {
                            promised: s.promised,
                            accepted: s.accepted,
                        },
                    )
                })
                .collect(),
        }
    }

    pub fn get(&self, key: &str) -> AcceptorSlot {
        self.keys.get(key).copied().unwrap_or_default()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &AcceptorSlot)> {
        self.keys.iter()
    }

    /// The promise held for `key`'s instance.
    pub fn promised(&self, key: &str) -> Ballot {
        self.get(key).promised
    }

    fn slot(&mut self, key: &str) -> &mut AcceptorSlot {
        if !self.keys.contains_key(key) {
            self.keys.insert(key.to_string(), AcceptorSlot::default());
        }
        self.keys.get_mut(key).expect("just inserted")
    }

    /// Phase 1b: the accepted value to report if `ballot` is promised, `Err(promise)` if
    /// a higher one was.
    pub fn prepare(
        &mut self,
        cx: &mut Ctx<'_, Paxos>,
        p: &PaxosParams,
        ghost: &mut Ghost,
        key: &str,
        ballot: Ballot,
    ) -> Result<Option<Accepted>, Ballot> {
        let s = self.slot(key);
        if ballot < s.promised {
            return Err(s.promised);
        }
        if ballot > s.promised {
            s.promised = ballot;
            ghost.promise(key_slot(key), ballot);
            if !p.unsafe_forget_promise {
                cx.persist(PaxosWrite::Promise {
                    key: key.to_string(),
                    ballot,
                });
            }
        }
        Ok(s.accepted)
    }

    /// Phase 2b: accept unless a higher ballot was promised (`Err(promise)`).
    pub fn accept(
        &mut self,
        cx: &mut Ctx<'_, Paxos>,
        p: &PaxosParams,
        ghost: &mut Ghost,
        key: &str,
        ballot: Ballot,
        value: i64,
    ) -> Result<(), Ballot> {
        let s = self.slot(key);
        if ballot < s.promised && !p.unsafe_skip_promise_check {
            return Err(s.promised);
        }
        let slot = key_slot(key);
        ghost.accept(slot, slot, ballot, value_digest(value), s.promised);
        s.promised = s.promised.max(ballot);
        ghost.promise(slot, s.promised);
        let accepted = Accepted { ballot, value };
        s.accepted = Some(accepted);
        cx.persist(PaxosWrite::Accept {
            key: key.to_string(),
            accepted,
        });
        Ok(())
    }
}
