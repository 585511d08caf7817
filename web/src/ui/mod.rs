//! The playground UI: cluster canvas, run controls, editors, timeline, space-time
//! diagram, console, gallery and CAP panel. Pure logic lives in plain modules with
//! native tests; browser glue is in `browser` (wasm only).

// Natively only the tests use most of this.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

pub mod browser;
pub mod cluster;
pub mod console;
pub mod edit;
pub mod embed;
pub mod embed_view;
pub mod field;
pub mod gallery;
pub mod grid_view;
pub mod lab;
pub mod layout;
pub mod legend;
pub mod lessons;
pub mod log_grid;
pub mod panels;
pub mod playground;
pub mod remote;
pub mod session;
pub mod state;
pub mod table_view;
pub mod undo;
pub mod workers;
