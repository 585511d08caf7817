//! The deterministic simulator of quorumlab and everything a run produces: the network
//! and fault model, the workload and its history, metrics, checkers, the scenario
//! format and its share-URL codec.
//!
//! A run is a pure function of (scenario, seed, user actions stamped with simulated
//! time): no wall clock, no threads, no unseeded randomness. See `ARCHITECTURE.md`.

pub mod analysis;
pub mod anomaly;
pub mod arbitrary;
pub mod challenge;
pub mod check;
pub mod compare;
pub mod converge;
pub mod cost;
pub mod detmath;
pub mod engine;
pub mod expect;
pub mod hash;
pub mod history;
pub mod host;
pub mod jsonpath;
pub mod link;
pub mod locks;
pub mod marks;
pub mod metrics;
pub mod net;
pub mod registry;
pub mod remote;
pub mod resilience;
pub mod run;
pub mod scenario;
pub mod sides;
pub mod url;
pub mod wire;
pub mod workload;

pub use engine::{Flight, Found, LogLine, Sim, Status};
pub use registry::build;
pub use run::{Engine, Summary};
pub use scenario::{Scenario, ScenarioError};
