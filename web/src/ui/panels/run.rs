//! The run's controls (play, pause, step, speed, time, trace hash, undo), the banners
//! (errors, notices, the share link) and the side panel's tabs.

use super::{input_text, ms, Shared};
use crate::ui::state::{Action, Tab, SPEEDS};
use crate::ui::workers::{Runtime, WorkerStatus};
use quorumlab_core::{Time, MS};
use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(PartialEq)]
pub struct ControlsProps {
    pub playing: bool,
    pub speed: f64,
    pub now: Time,
    pub end: Time,
    /// The page's own run's trace hash (none without a run).
    pub hash: Option<u64>,
    pub runtime: Runtime,
    pub worker: Option<Shared<WorkerStatus>>,
    pub can_undo: bool,
    pub can_redo: bool,
    /// The Embed button (not in the widget itself).
    pub embeddable: bool,
    pub on: Callback<Action>,
}

/// The trace hash of the run in the runtime in use, and where the nodes run. In the
/// workers runtime the hash is the workers' run (it catches up with the playhead).
fn runtime_readout(p: &ControlsProps) -> Html {
    let (now, end) = (p.now, p.end);
    match (p.runtime, p.worker.as_deref()) {
        (Runtime::Inline, _) => html! {
            <>
                <span class="ql-hash" title="Trace hash: equal runs have equal hashes">
                    { "trace " }
                    <code data-testid="trace-hash" data-runtime="inline" data-us={now.to_string()}
                          data-done={(now >= end).to_string()}>{ p.hash.map(|h| format!("{h:016x}")).unwrap_or_default() }</code>
                </span>
                <span class="ql-runtime ql-muted" data-testid="runtime" data-runtime="inline"
                      title="Every node runs on the page's own thread (?runtime=inline)">{ "on this thread" }</span>
            </>
        },
        (Runtime::Workers, st) => {
            let (hash, at, done, live, started, shared) = match st {
                Some(st) => (
                    if st.trace_hash.is_empty() {
                        "…".to_string()
                    } else {
                        st.trace_hash.clone()
                    },
                    st.now,
                    st.done,
                    st.live,
                    st.workers_started,
                    st.shared_memory,
                ),
                None => ("…".to_string(), 0, false, 0, 0, false),
            };
            let (transport, transport_title) = if shared {
                (
                    "shared memory",
                    "Jobs and results cross to the workers through shared buffers",
                )
            } else {
                ("postMessage", "Jobs cross to the workers by postMessage, several times slower: the page is not cross-origin isolated (it is embedded in another site's page, or the browser refused its isolation service worker). Open it on its own, or serve it with COOP same-origin and COEP require-corp, as `cargo xtask serve` does")
            };
            let behind = at < now;
            html! {
                <>
                    <span class="ql-hash" title="Trace hash of the run in the Web Workers: equal runs have equal hashes">
                        { "trace " }
                        <code data-testid="trace-hash" data-runtime="workers" data-us={at.to_string()}
                              data-done={done.to_string()}>{ hash }</code>
                    </span>
                    <span class="ql-runtime ql-muted" data-testid="runtime" data-runtime="workers"
                          data-live={live.to_string()} data-started={started.to_string()}
                          data-transport={if shared { "shared-memory" } else { "postMessage" }}
                          title={format!("Every node runs in its own Web Worker (?runtime=inline runs them on the page's thread). {transport_title}.")}>
                        { format!("{live} workers · {transport}{}", if behind { format!(" · at {}", ms(at)) } else { String::new() }) }
                    </span>
                </>
            }
        }
    }
}

pub fn controls(p: &ControlsProps) -> Html {
    let on = &p.on;
    let act = |a: fn() -> Action| on.reform(move |_: MouseEvent| a());
    let speed_change = on.reform(|e: Event| Action::Speed(input_text(&e).parse().unwrap_or(0.0)));
    html! {
        <div class="ql-controls">
            <div class="ql-buttons">
                <button data-testid="play" class={classes!(p.playing.then_some("on"))} title="Play (space)" onclick={act(|| Action::Play)}>{ "▶ Play" }</button>
                <button data-testid="pause" class={classes!((!p.playing).then_some("on"))} title="Pause (space)" onclick={act(|| Action::Pause)}>{ "❚❚ Pause" }</button>
                <button data-testid="step" title="One engine step (n or →)" onclick={act(|| Action::Step)}>{ "Step ›" }</button>
                <button data-testid="run-to-end" title="Fast-forward to the end" onclick={act(|| Action::RunToEnd)}>{ "End »" }</button>
                <button data-testid="reset" title="Back to time 0" onclick={act(|| Action::Reset)}>{ "Reset" }</button>
                <label class="ql-speed">
                    <span>{ "speed" }</span>
                    <select data-testid="speed" onchange={speed_change} title="Simulated milliseconds per second">
                        { for SPEEDS.iter().map(|&v| html! {
                            <option value={v.to_string()} selected={(v - p.speed).abs() < 1e-9}>{ format!("{v} ms/s") }</option>
                        }) }
                    </select>
                </label>
            </div>
            <div class="ql-readout">
                <span class="ql-time">
                    { "t = " }
                    <span data-testid="time" data-us={p.now.to_string()}>{ ms(p.now) }</span>
                    <span class="ql-muted">{ format!(" / {} ms", p.end / MS) }</span>
                </span>
                { runtime_readout(p) }
            </div>
            <div class="ql-buttons">
                <button data-testid="undo" disabled={!p.can_undo} title="Undo (Ctrl+Z)" onclick={act(|| Action::Undo)}>{ "Undo" }</button>
                <button data-testid="redo" disabled={!p.can_redo} title="Redo (Ctrl+Shift+Z)" onclick={act(|| Action::Redo)}>{ "Redo" }</button>
                <button data-testid="copy-link" title="Copy a link to this scenario" onclick={act(|| Action::CopyLink)}>{ "Share link" }</button>
                if p.embeddable {
                    <button data-testid="embed-open" title="Put this run in your own page" onclick={act(|| Action::EmbedForm(true))}>{ "Embed" }</button>
                }
            </div>
        </div>
    }
}

#[derive(PartialEq)]
pub struct BannersProps {
    pub error: Option<String>,
    pub notice: Option<String>,
    pub link: Option<String>,
    pub on: Callback<Action>,
}

pub fn banners(p: &BannersProps) -> Html {
    let close = p.on.reform(|_: MouseEvent| Action::DismissError);
    html! {
        <>
            if let Some(e) = &p.error {
                <div class="ql-banner ql-error" role="alert" data-testid="error-banner">
                    <pre>{ e.clone() }</pre>
                    <button onclick={close.clone()} aria-label="Dismiss">{ "×" }</button>
                </div>
            }
            if let Some(n) = &p.notice {
                <div class="ql-banner ql-notice" role="status" data-testid="notice">
                    <span>{ n.clone() }</span>
                    <button onclick={close.clone()} aria-label="Dismiss">{ "×" }</button>
                </div>
            }
            if let Some(l) = &p.link {
                <div class="ql-banner ql-link">
                    <span>{ "Link copied (or copy it from here): " }</span>
                    <input data-testid="share-link" readonly=true value={l.clone()} onfocus={Callback::from(|e: FocusEvent| {
                        if let Some(i) = e.target_dyn_into::<HtmlInputElement>() { i.select(); }
                    })}/>
                    <button onclick={close} aria-label="Dismiss">{ "×" }</button>
                </div>
            }
        </>
    }
}

#[derive(PartialEq)]
pub struct TabsProps {
    pub tab: Tab,
    /// The run's clients take locks: offer the lock timeline.
    pub locks: bool,
    /// Nodes place keys on a ring: offer the ring view.
    pub ring: bool,
    pub on: Callback<Action>,
}

pub fn tabs(p: &TabsProps) -> Html {
    let t = |tab: Tab, label: &str, id: &str| {
        html! {
            <button class={classes!("tab", (p.tab == tab).then_some("on"))} data-testid={format!("tab-{id}")}
                onclick={p.on.reform(move |_| Action::Tab(tab))}>{ label.to_string() }</button>
        }
    };
    html! {
        <nav class="ql-tabs">
            { t(Tab::Node, "Node", "node") }
            { t(Tab::Edit, "Edit", "edit") }
            { t(Tab::Console, "Console", "console") }
            { t(Tab::Cap, "CAP", "cap") }
            if p.locks { { t(Tab::Locks, "Locks", "locks") } }
            if p.ring { { t(Tab::Ring, "Ring", "ring") } }
        </nav>
    }
}

#[derive(PartialEq)]
pub struct BuilderProps {
    /// The share link of the run the dialog was opened for.
    pub link: String,
    pub on: Callback<Action>,
}

/// The full page's Embed dialog: the share link of the run on screen, for `embed.js`
/// (loaded by the page too) to turn into the choices and the two snippets: string
/// templating, kept out of the WebAssembly bundle.
pub fn builder(p: &BuilderProps) -> Html {
    html! {
        <section class="ql-banner ql-embed-builder" data-testid="embed-builder" aria-label="Embed this run">
            <div data-quorumlab-builder={p.link.clone()}></div>
            <button onclick={p.on.reform(|_| Action::EmbedForm(false))}>{ "Close" }</button>
        </section>
    }
}
