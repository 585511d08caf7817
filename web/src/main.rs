//! `quorumlab-web`: the browser page, built by Trunk from `web/index.html`.
//!
//! Everything here is browser-only. Natively (`cargo clippy/test --workspace`) `main` does
//! nothing, so the workspace still builds on the host.

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod panic_hook;
#[cfg(target_arch = "wasm32")]
pub mod runtime;
// The engine modules holding the page's runs.
pub mod engines;
// The end-of-run analysis, asked of its Web Worker.
pub mod analysis;
// The lab's columns, each in a Web Worker of its own.
pub mod lab_workers;
// What the runtime reports (compiled natively for the UI's tests).
pub mod run_status;
#[cfg(target_arch = "wasm32")]
pub mod worker_pool;
// The playground UI (its pure logic is tested natively).
mod ui;

fn main() {
    #[cfg(target_arch = "wasm32")]
    start();
}

#[cfg(target_arch = "wasm32")]
fn start() {
    panic_hook::install();
    runtime::install_js_api();
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a browser document");
    let root = document
        .get_element_by_id("app")
        .expect("index.html has an element with id=\"app\"");
    // Replace the "loading" placeholder.
    root.set_inner_html("");
    yew::Renderer::<app::App>::with_root(root).render();
}
