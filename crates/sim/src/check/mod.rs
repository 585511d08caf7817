//! Linearizability checking of client histories (being written).
