//! The deterministic simulator of quorumlab and everything a run produces.

pub mod history;
