//! The deterministic simulator of quorumlab and everything a run produces: the network
//! and fault model, the workload and its history, metrics, checkers, the scenario
//! format and its share-URL codec.
//!
//! A run is a pure function of (scenario, seed, user actions stamped with simulated
//! time): no wall clock, no threads, no unseeded randomness. See `ARCHITECTURE.md`.

pub mod check;
pub mod converge;
pub mod detmath;
pub mod engine;
pub mod hash;
pub mod history;
pub mod host;
pub mod metrics;
pub mod net;
pub mod remote;
pub mod run;
pub mod scenario;
pub mod url;
pub mod wire;
pub mod workload;

pub use engine::{Flight, Found, LogLine, Sim, Status};
pub use run::{build, Engine, Summary};
pub use scenario::{Scenario, ScenarioError};

/// Protocol names a scenario may use.
pub const PROTOCOLS: &[&str] = &["raft", "multi-paxos", "paxos", "heartbeat", "phi-accrual"];

/// Run `$body` with `$P` bound to the protocol type named `$name`, or `$otherwise`.
#[macro_export]
macro_rules! with_protocol {
    ($name:expr, $P:ident => $body:expr, $otherwise:expr) => {
        match $name {
            "raft" => {
                type $P = quorumlab_core::raft::Raft;
                $body
            }
            "multi-paxos" => {
                type $P = quorumlab_core::paxos::multi::MultiPaxos;
                $body
            }
            "paxos" => {
                type $P = quorumlab_core::paxos::basic::Paxos;
                $body
            }
            "heartbeat" => {
                type $P = quorumlab_core::fd::Heartbeat;
                $body
            }
            "phi-accrual" => {
                type $P = quorumlab_core::fd::PhiAccrual;
                $body
            }
            _ => $otherwise,
        }
    };
}
