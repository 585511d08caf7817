//! The lock family's knobs, and the cluster layout they imply.

use crate::{NodeId, ParamSpec};
use serde::{Deserialize, Serialize};

/// Which lock service the servers run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// One master (`SET key value NX PX ttl`) and, with two servers, an asynchronously
    /// replicated replica that promotes itself when the master falls silent.
    #[default]
    Redis,
    /// `servers` independent masters; a client holds the lock once a majority granted
    /// it within the validity time.
    Redlock,
    /// A lock recipe on sessions and ephemeral sequential nodes.
    Zookeeper,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Redis => "redis",
            Service::Redlock => "redlock",
            Service::Zookeeper => "zookeeper",
        }
    }
}

/// Lock parameters. Durations are milliseconds of the node's local clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockParams {
    pub service: Service,
    /// Lock servers: nodes 0 to `servers - 1`.
    pub servers: u64,
    /// The storage node's index.
    pub storage: u64,
    /// Redis and Redlock: the lease (`PX`).
    pub ttl_ms: u64,
    /// How long a holder works between getting the lock and writing to the storage.
    pub work_ms: u64,
    /// How long a client waits between releasing and asking again.
    pub think_ms: u64,
    /// A client gives up on an unanswered request after this long.
    pub retry_ms: u64,
    /// The storage refuses a token below the highest it has accepted.
    pub check_fencing: bool,
    /// Redlock: clock drift allowance, thousandths of the TTL (plus 2 ms).
    pub drift_permille: u64,
    /// Redis: the master ships its state to the replica this often; servers' tick.
    pub replication_ms: u64,
    /// Redis: the replica promotes itself after hearing nothing from the master this long.
    pub failover_ms: u64,
    /// ZooKeeper: the server expires a session it has not heard from for this long.
    pub session_timeout_ms: u64,
    /// ZooKeeper: clients heartbeat this often.
    pub heartbeat_ms: u64,
}

impl Default for LockParams {
    fn default() -> Self {
        LockParams {
            service: Service::Redis,
            servers: 1,
            storage: 1,
            ttl_ms: 300,
            work_ms: 100,
            think_ms: 100,
            retry_ms: 100,
            check_fencing: false,
            drift_permille: 10,
            replication_ms: 50,
            failover_ms: 300,
            session_timeout_ms: 300,
            heartbeat_ms: 50,
        }
    }
}

/// The role a node index has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Server,
    Storage,
    Client,
}

impl LockParams {
    pub fn kind(&self, id: NodeId) -> Kind {
        if (id as u64) < self.servers {
            Kind::Server
        } else if id as u64 == self.storage {
            Kind::Storage
        } else {
            Kind::Client
        }
    }
    /// ZooKeeper on a replicated ensemble (3 servers running Raft).
    pub fn replicated(&self) -> bool {
        self.service == Service::Zookeeper && self.servers == super::zkraft::ENSEMBLE
    }
    /// A majority of the servers (Redlock's quorum).
    pub fn majority(&self) -> u64 {
        self.servers / 2 + 1
    }
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if self.servers == 0 || self.servers > 63 {
            // Clients keep the masters that answered as bits of a u64.
            v.push((
                "servers",
                format!("{} must be between 1 and 63", self.servers),
            ));
        }
        if self.service == Service::Redis && self.servers > 2 {
            v.push((
                "servers",
                format!(
                    "{} servers: redis runs one master and at most one replica (2 servers)",
                    self.servers
                ),
            ));
        }
        if self.service == Service::Zookeeper && !matches!(self.servers, 1 | 3) {
            v.push((
                "servers",
                format!(
                    "{}: zookeeper runs one server, or an ensemble of 3 replicating through Raft",
                    self.servers
                ),
            ));
        }
        if self.storage < self.servers {
            v.push((
                "storage",
                format!(
                    "node {} is a lock server (nodes 0-{}): the storage must be another node",
                    self.storage,
                    self.servers.saturating_sub(1)
                ),
            ));
        }
        if self.ttl_ms == 0 && self.service != Service::Zookeeper {
            v.push((
                "ttl_ms",
                "must be at least 1: a lease of zero expires as it is granted".to_string(),
            ));
        }
        for (f, x) in [
            ("retry_ms", self.retry_ms),
            ("replication_ms", self.replication_ms),
            ("heartbeat_ms", self.heartbeat_ms),
            ("think_ms", self.think_ms),
        ] {
            if x == 0 {
                v.push((f, "must be at least 1".to_string()));
            }
        }
        if self.service == Service::Zookeeper && self.session_timeout_ms <= 2 * self.heartbeat_ms {
            v.push((
                "session_timeout_ms",
                format!(
                    "{} must be above twice heartbeat_ms ({}), or live sessions expire",
                    self.session_timeout_ms, self.heartbeat_ms
                ),
            ));
        }
        if self.drift_permille >= 1000 {
            v.push((
                "drift_permille",
                "must be below 1000 (the whole TTL)".to_string(),
            ));
        }
        v
    }
    /// With `nodes` nodes: the storage must exist, and some node must be left to be a
    /// lock client (the clients are every node that is neither a server nor the
    /// storage, so their count is set by `nodes`).
    pub fn cluster_problems(&self, nodes: usize) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if self.storage >= nodes as u64 {
            v.push((
                "storage",
                format!(
                    "node {} does not exist: the scenario has {nodes} nodes",
                    self.storage
                ),
            ));
        } else if (nodes as u64) <= self.servers + 1 {
            v.push(("servers", format!("{} server(s) and the storage take all {nodes} nodes: that is zero lock clients, and at least one is needed (add nodes)", self.servers)));
        }
        v
    }
    /// How many lock clients a cluster of `nodes` nodes has.
    pub fn clients(&self, nodes: usize) -> u64 {
        (nodes as u64).saturating_sub(self.servers + 1)
    }
    /// Why an even Redlock is allowed but no better than one master fewer.
    pub fn even_note(&self) -> Option<String> {
        (self.service == Service::Redlock && self.servers.is_multiple_of(2) && self.servers > 0).then(|| {
            format!("{} masters: a majority is {}, so it survives as many failed masters as {} would", self.servers, self.majority(), self.servers - 1)
        })
    }
}

pub const LOCK_PARAMS: &[ParamSpec] = &[
    ParamSpec::choice("service", &["redis", "redlock", "zookeeper"], "redis: one master with SET NX PX and, with 2 servers, an asynchronously replicated replica that takes over when the master falls silent (a lock can be lost in the failover); redlock: `servers` independent masters, a client holds the lock once a majority granted it within the TTL less the time spent and a drift allowance; zookeeper: sessions kept by heartbeats, an ephemeral sequential node per waiter, each watching its predecessor, the fencing token is the creation index; 1 server, or 3 that replicate the znodes through Raft (a Raft log index is the creation index)."),
    ParamSpec::count("servers", 1, "nodes", "Lock servers: nodes 0 to servers-1 (redis 1 or 2, zookeeper 1 or 3). Redlock with an even number is allowed: its majority is then no more tolerant than one master fewer."),
    ParamSpec::count("storage", 0, "", "The storage node's index: it records every write with its token. Must not be a lock server. Every node that is neither a server nor the storage is a lock client (at least one)."),
    ParamSpec::ms("ttl_ms", 1, "Redis and Redlock: the lease a lock is granted for (PX)."),
    ParamSpec::ms("work_ms", 0, "How long a holder works before writing to the storage with its token (a pause here outlives the lease)."),
    ParamSpec::ms("think_ms", 1, "How long a client waits after releasing before it asks again."),
    ParamSpec::ms("retry_ms", 1, "A client gives up on an unanswered request (acquire, write) after this long."),
    ParamSpec::flag("check_fencing", "The storage refuses a write whose token is lower than the highest it has accepted. Off: a client that lost its lock overwrites a newer holder's work (a corrupted write)."),
    ParamSpec::count("drift_permille", 0, "1/1000 of ttl", "Redlock: the clock drift allowance subtracted from the validity time, in thousandths of the TTL (plus 2 ms)."),
    ParamSpec::ms("replication_ms", 1, "Redis: the master ships its state to the replica this often (asynchronously: a lock granted since the last shipment is lost in a failover). Every server's tick."),
    ParamSpec::ms("failover_ms", 1, "Redis: the replica promotes itself after hearing nothing from the master for this long."),
    ParamSpec::ms("session_timeout_ms", 1, "ZooKeeper: the server expires a session it has not heard from for this long, deleting its ephemeral nodes; a client stops believing it holds the lock this long after sending its last answered heartbeat."),
    ParamSpec::ms("heartbeat_ms", 1, "ZooKeeper: how often a client heartbeats its session."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_names_the_field() {
        let p = LockParams {
            ttl_ms: 0,
            ..Default::default()
        };
        assert_eq!(p.problems()[0].0, "ttl_ms");
        let p = LockParams::default();
        assert_eq!(p.cluster_problems(2)[0].0, "servers");
        assert!(p.cluster_problems(2)[0].1.contains("zero lock clients"));
        let p = LockParams {
            servers: 2,
            storage: 1,
            ..Default::default()
        };
        assert_eq!(p.problems()[0].0, "storage");
        assert!(p.problems()[0].1.contains("lock server"));
        let ok = LockParams::default();
        assert!(ok.problems().is_empty());
        assert!(ok.cluster_problems(3).is_empty());
        assert_eq!(ok.clients(5), 3);
        assert_eq!(ok.cluster_problems(1)[0].0, "storage");
        let even = LockParams {
            service: Service::Redlock,
            servers: 4,
            storage: 4,
            ..Default::default()
        };
        assert!(even.problems().is_empty());
        assert!(even.even_note().unwrap().contains("as 3 would"));
        assert!(serde_json::from_str::<LockParams>(r#"{"nope":1}"#).is_err());
    }
}
