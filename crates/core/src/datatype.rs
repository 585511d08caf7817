//! Client data types: which operations a protocol's clients may ask for. Every
//! [`crate::Protocol`] names one ([`crate::Protocol::DATA_TYPE`]); the simulator's
//! workload makes only its operations, a scenario's operation mix may name only them,
//! and the linearizability checker runs its sequential specification (the checker's
//! model of the same name, in `quorumlab-sim`'s `check::spec`).
//!
//! A new protocol picks one of the constants here in one line (a lock service:
//! `const DATA_TYPE: DataType = DataType::LOCK;`).

use serde::{Deserialize, Serialize};

/// One kind of client operation: a register's (read, write, cas), a key-value map's
/// (and append), or a lock's (acquire, release). Also the `f` of a history line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    Read,
    Write,
    Cas,
    Append,
    /// Take the lock (the key names it); its `ok` carries the fencing token granted.
    Acquire,
    /// Give the lock back.
    Release,
}

impl OpKind {
    /// Every kind, in the order messages list them.
    pub const ALL: [OpKind; 6] = [
        OpKind::Read,
        OpKind::Write,
        OpKind::Cas,
        OpKind::Append,
        OpKind::Acquire,
        OpKind::Release,
    ];

    /// The name in a history line and a scenario's mix (`"read"`).
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Read => "read",
            OpKind::Write => "write",
            OpKind::Cas => "cas",
            OpKind::Append => "append",
            OpKind::Acquire => "acquire",
            OpKind::Release => "release",
        }
    }

    pub fn from_name(s: &str) -> Option<OpKind> {
        OpKind::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// A protocol's client data type: its name (also the checker's model and the history
/// file's `data_type`), a line saying what it is, its operations, and the operation
/// mix a workload uses when the scenario names none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataType {
    pub name: &'static str,
    pub summary: &'static str,
    /// Its operations; empty: the protocol serves no client operations.
    pub ops: &'static [OpKind],
    /// Relative weights of its operations when a workload names no mix.
    pub default_mix: &'static [(OpKind, f64)],
}

impl DataType {
    /// No client operations (failure detectors): a scenario gives such a protocol no
    /// workload.
    pub const NONE: DataType = DataType {
        name: "none",
        summary: "serves no client operations",
        ops: &[],
        default_mix: &[],
    };

    /// A map of integer registers (keys `k0`, `k1`, ...) with read, write and
    /// compare-and-set; a key starts never written. Raft, Paxos, Multi-Paxos and
    /// primary-backup.
    pub const CAS_REGISTER: DataType = DataType {
        name: "cas-register",
        summary: "integer registers per key: read, write, compare-and-set",
        ops: &[OpKind::Read, OpKind::Write, OpKind::Cas],
        default_mix: &[
            (OpKind::Read, 0.5),
            (OpKind::Write, 0.4),
            (OpKind::Cas, 0.1),
        ],
    };

    /// A map of integer registers (keys `k0`, `k1`, ...) with read and write only: what
    /// a leaderless store can offer (without a single order of writes there is no
    /// compare-and-set). Checked as the `register` model. The leaderless quorum store.
    pub const REGISTER: DataType = DataType {
        name: "register",
        summary: "integer registers per key: read, write (no compare-and-set)",
        ops: &[OpKind::Read, OpKind::Write],
        default_mix: &[(OpKind::Read, 0.5), (OpKind::Write, 0.5)],
    };

    /// A string per key (keys `k0`, `k1`, ...), read whole and grown by append; a key
    /// starts empty. A read returns every piece appended before it, in order, so a
    /// history shows the order of writes plainly, and a stale read shows as a missing
    /// suffix (Jepsen's list-append workload in its simplest form). Checked as the `kv`
    /// model. Served, besides the register, by the protocols that replicate a log of
    /// commands into the shared key-value store (Raft, Multi-Paxos, primary-backup).
    pub const KV: DataType = DataType {
        name: "kv",
        summary: "a string per key: read, append",
        ops: &[OpKind::Read, OpKind::Append],
        default_mix: &[(OpKind::Read, 0.5), (OpKind::Append, 0.5)],
    };

    /// A lock per key with fencing tokens: acquire (granted, with a token larger than
    /// every one granted before, only when free) and release (by the holder).
    pub const LOCK: DataType = DataType {
        name: "lock",
        summary: "a lock per key: acquire (returns a growing fencing token), release",
        ops: &[OpKind::Acquire, OpKind::Release],
        default_mix: &[(OpKind::Acquire, 0.5), (OpKind::Release, 0.5)],
    };

    /// Every data type a protocol can declare, for listings and messages.
    pub const ALL: [DataType; 5] = [
        DataType::NONE,
        DataType::CAS_REGISTER,
        DataType::REGISTER,
        DataType::KV,
        DataType::LOCK,
    ];

    /// Whether `op` is one of its operations.
    pub fn has(&self, op: OpKind) -> bool {
        self.ops.contains(&op)
    }

    /// Whether clients can use it at all.
    pub fn serves_clients(&self) -> bool {
        !self.ops.is_empty()
    }

    /// Its operations' names, comma separated ("read, write, cas").
    pub fn op_names(&self) -> String {
        let names: Vec<&str> = self.ops.iter().map(|o| o.name()).collect();
        names.join(", ")
    }

    /// The data type called `name`.
    pub fn from_name(name: &str) -> Option<DataType> {
        DataType::ALL.into_iter().find(|d| d.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_mix_names_only_the_types_own_operations() {
        for d in DataType::ALL {
            assert!(
                d.default_mix.iter().all(|(o, w)| d.has(*o) && *w > 0.0),
                "{d:?}"
            );
            assert_eq!(d.serves_clients(), !d.default_mix.is_empty(), "{d:?}");
            assert_eq!(DataType::from_name(d.name), Some(d));
        }
        for o in OpKind::ALL {
            assert_eq!(OpKind::from_name(o.name()), Some(o));
        }
        assert_eq!(DataType::CAS_REGISTER.op_names(), "read, write, cas");
    }
}
