//! What the playground draws. Plain functions of the component's state.

use super::console;
use super::edit::{self, WorkloadField};
use super::field::Field;
use super::layout::{self, H, W};
use super::legend::{self, Drawn};
use super::playground::{action_time, ConsoleForm, ConsoleOp, Msg, Playground, Tab, SPEEDS};
use quorumlab_core::{NodeId, NodeView, ParamKind, Time, MS};
use quorumlab_sim::run::Check;
use quorumlab_sim::scenario::{FaultKind, LatencySpec, NEMESIS_KINDS};
use quorumlab_sim::{registry, Engine, Status};
use serde_json::Value;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

type Ctx = Context<Playground>;

fn input_text(e: &Event) -> String {
    if let Some(i) = e.target_dyn_into::<HtmlInputElement>() {
        if i.type_() == "checkbox" {
            return i.checked().to_string();
        }
        return i.value();
    }
    if let Some(s) = e.target_dyn_into::<HtmlSelectElement>() {
        return s.value();
    }
    if let Some(t) = e.target_dyn_into::<HtmlTextAreaElement>() {
        return t.value();
    }
    String::new()
}

fn ms(t: Time) -> String {
    let whole = t / MS;
    let frac = t % MS;
    format!("{whole}.{frac:03} ms")
}

pub fn page(p: &Playground, ctx: &Ctx) -> Html {
    let s = p.session.scenario();
    html! {
        <div class="ql">
            <header class="ql-top">
                <div class="ql-title">
                    <h1>{ "quorumlab" }</h1>
                    <span class="ql-scn" title={ s.description.clone() }>{ s.name.clone() }</span>
                </div>
                { controls(p, ctx) }
            </header>
            { banners(p, ctx) }
            { super::embed_view::builder(p, ctx) }
            <div class="ql-main">
                <div class="ql-left">
                    { canvas(p, ctx) }
                    { replication(p, ctx) }
                    { timeline(p, ctx) }
                    { spacetime(p, ctx) }
                </div>
                <aside class="ql-side">
                    { super::lessons::checklist(p, ctx) }
                    { tabs(p, ctx) }
                    {
                        match p.tab {
                            Tab::Node => node_panel(p, ctx),
                            Tab::Edit => edit_panel(p, ctx),
                            Tab::Console => console_panel(p, ctx),
                            Tab::Cap => cap_panel(p, ctx),
                        }
                    }
                </aside>
            </div>
            { gallery_view(p, ctx) }
        </div>
    }
}

/// The log grid and the cluster table, drawn from the same rows (the views are
/// formatted once a frame).
pub(super) fn replication(p: &Playground, ctx: &Ctx) -> Html {
    let Some(input) = super::grid_view::grid_input(p) else {
        return html! {};
    };
    html! {
        <>
            { super::table_view::cluster_table(p, ctx, &input) }
            <super::grid_view::LogGrid {input} />
        </>
    }
}

/// The trace hash of the run in the runtime in use, and where the nodes run. In the
/// workers runtime the hash is the workers' run (it catches up with the playhead).
fn runtime_readout(p: &Playground, now: Time, inline_hash: String, end: Time) -> Html {
    use super::workers::Runtime;
    match (p.runtime, p.worker_status.as_ref()) {
        (Runtime::Inline, _) => html! {
            <>
                <span class="ql-hash" title="Trace hash: equal runs have equal hashes">
                    { "trace " }
                    <code data-testid="trace-hash" data-runtime="inline" data-us={now.to_string()}
                          data-done={(now >= end).to_string()}>{ inline_hash }</code>
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

pub(super) fn controls(p: &Playground, ctx: &Ctx) -> Html {
    let link = ctx.link();
    let (now, hash, end) = match p.session.engine() {
        Some(e) => (e.now(), format!("{:016x}", e.trace_hash()), e.end()),
        None => (0, String::new(), p.session.scenario().duration()),
    };
    let speed_change = link.callback(|e: Event| Msg::Speed(input_text(&e).parse().unwrap_or(0.0)));
    html! {
        <div class="ql-controls">
            <div class="ql-buttons">
                <button data-testid="play" class={classes!(p.playing.then_some("on"))} title="Play (space)" onclick={link.callback(|_| Msg::Play)}>{ "▶ Play" }</button>
                <button data-testid="pause" class={classes!((!p.playing).then_some("on"))} title="Pause (space)" onclick={link.callback(|_| Msg::Pause)}>{ "❚❚ Pause" }</button>
                <button data-testid="step" title="One engine step (n or →)" onclick={link.callback(|_| Msg::Step)}>{ "Step ›" }</button>
                <button data-testid="run-to-end" title="Fast-forward to the end" onclick={link.callback(|_| Msg::RunToEnd)}>{ "End »" }</button>
                <button data-testid="reset" title="Back to time 0" onclick={link.callback(|_| Msg::Reset)}>{ "Reset" }</button>
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
                    <span data-testid="time" data-us={now.to_string()}>{ ms(now) }</span>
                    <span class="ql-muted">{ format!(" / {} ms", end / MS) }</span>
                </span>
                { runtime_readout(p, now, hash, end) }
            </div>
            <div class="ql-buttons">
                <button data-testid="undo" disabled={!p.undo.can_undo()} title="Undo (Ctrl+Z)" onclick={link.callback(|_| Msg::Undo)}>{ "Undo" }</button>
                <button data-testid="redo" disabled={!p.undo.can_redo()} title="Redo (Ctrl+Shift+Z)" onclick={link.callback(|_| Msg::Redo)}>{ "Redo" }</button>
                <button data-testid="copy-link" title="Copy a link to this scenario" onclick={link.callback(|_| Msg::CopyLink)}>{ "Share link" }</button>
                if p.embed.is_none() {
                    <button data-testid="embed-open" title="Put this run in your own page" onclick={link.callback(|_| Msg::EmbedForm(Some(String::new())))}>{ "Embed" }</button>
                }
            </div>
        </div>
    }
}

pub(super) fn banners(p: &Playground, ctx: &Ctx) -> Html {
    let close = ctx.link().callback(|_| Msg::DismissError);
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

pub(super) fn canvas(p: &Playground, ctx: &Ctx) -> Html {
    let link = ctx.link();
    let s = p.session.scenario();
    let n = s.n();
    let pos: Vec<(f64, f64)> = layout::unit_positions(s)
        .into_iter()
        .map(layout::to_view)
        .collect();
    let r = layout::node_radius(n);
    let e = p.session.engine();
    let now = p.session.now();
    let blocked = e.map(|e| e.blocked()).unwrap_or_default();
    let flights = e.map(|e| e.flights_at(now)).unwrap_or_default();
    let views = e.map(|e| e.views()).unwrap_or_default();
    let status = e.map(|e| e.status()).unwrap_or_default();
    let roles: Vec<Drawn> = status
        .iter()
        .enumerate()
        .map(|(i, st)| legend::drawn(*st, views.get(i).and_then(|v| v.as_ref())))
        .collect();
    let keys = legend::legend(&roles);
    let offsets = e.map(|e| e.clock_offsets()).unwrap_or_default();
    // Message kinds are legible only on a small, quiet cluster.
    let labels = flights.len() <= 60 && n <= 9;
    // Links: every pair, drawn faintly; cut ones red.
    let mut links = Vec::new();
    let clickable = n <= 12;
    for a in 0..n {
        for b in (a + 1)..n {
            let (Some(pa), Some(pb)) = (pos.get(a), pos.get(b)) else {
                continue;
            };
            let ab = blocked.contains(&(a as NodeId, b as NodeId));
            let ba = blocked.contains(&(b as NodeId, a as NodeId));
            let custom = edit::link_of(s, a as NodeId, b as NodeId).is_some();
            let sel = p.link_sel == Some((a as NodeId, b as NodeId));
            // A big cluster's full mesh is noise (and slow): draw only links that differ.
            if !(clickable || ab || ba || custom || sel) {
                continue;
            }
            let class = classes!(
                "ql-link",
                (ab || ba).then_some("cut"),
                (ab != ba).then_some("oneway"),
                custom.then_some("custom"),
                sel.then_some("sel")
            );
            let (a32, b32) = (a as NodeId, b as NodeId);
            links.push(html! {
                <g class={class} data-link={format!("{a}-{b}")}>
                    <line x1={pa.0.to_string()} y1={pa.1.to_string()} x2={pb.0.to_string()} y2={pb.1.to_string()} />
                    if clickable {
                        <line class="hit" x1={pa.0.to_string()} y1={pa.1.to_string()} x2={pb.0.to_string()} y2={pb.1.to_string()}
                            onclick={link.callback(move |_| Msg::SelectLink(Some((a32, b32))))}>
                            <title>{ format!("link {a} – {b}: click to cut or tune") }</title>
                        </line>
                    }
                </g>
            });
        }
    }
    let msgs = flights.iter().filter_map(|f| {
        let a = *pos.get(f.from as usize)?;
        let b = *pos.get(f.to as usize)?;
        let pr = layout::progress(f, now);
        // Lost or blocked: it stops half way; to a crashed node: it gets there and stops.
        let lost = f.dropped();
        let pr = if lost && f.fate != "crashed" {
            pr * 0.5
        } else {
            pr
        };
        let (x, y) = layout::along(a, b, pr, 6.0);
        let kind = f.kind.clone();
        Some(html! {
            <g class={classes!("ql-msg", lost.then_some("lost"))} data-kind={kind} transform={format!("translate({x:.1},{y:.1})")}>
                if lost {
                    <path d="M-6,-6L6,6M6,-6L-6,6" />
                } else {
                    <circle r="5" />
                }
                if labels {
                    <text y="-9">{ f.label.clone() }</text>
                }
            </g>
        })
    });
    // Relations the protocols mark (follows, suspects): thin labelled arrows, stopping
    // at the rims of both nodes.
    let pos_ref = &pos;
    let edges = views.iter().enumerate().flat_map(|(i, v)| {
        let pos = pos_ref;
        let from = pos.get(i).copied();
        v.iter().flat_map(|v| v.edges.iter()).filter_map(move |e| {
            let (a, b) = (from?, *pos.get(e.to as usize)?);
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let len = (dx * dx + dy * dy).sqrt();
            if len <= 2.0 * r + 4.0 {
                return None;
            }
            let (ux, uy) = (dx / len, dy / len);
            let (x1, y1) = (a.0 + ux * (r + 2.0), a.1 + uy * (r + 2.0));
            let (x2, y2) = (b.0 - ux * (r + 4.0), b.1 - uy * (r + 4.0));
            let label = e.label.clone();
            Some(html! {
                <g class="ql-edge" data-from={i.to_string()} data-to={e.to.to_string()} data-label={label.clone()}>
                    <line x1={format!("{x1:.1}")} y1={format!("{y1:.1}")} x2={format!("{x2:.1}")} y2={format!("{y2:.1}")} marker-end="url(#ql-arrow)" />
                    if labels {
                        <text x={format!("{:.1}", (x1 + x2) / 2.0)} y={format!("{:.1}", (y1 + y2) / 2.0 - 3.0)}>{ label.clone() }</text>
                    }
                    <title>{ format!("node {i} {label} node {}", e.to) }</title>
                </g>
            })
        })
    });
    let nodes = (0..n).map(|i| {
        let (x, y) = pos.get(i).copied().unwrap_or((0.0, 0.0));
        let d = roles.get(i).cloned().unwrap_or_else(|| legend::drawn(Status::Spare, None));
        let role = d.label.clone();
        let v = views.get(i).and_then(|v| v.as_ref());
        let term = v.map(|v| v.term).unwrap_or(0);
        let epoch = v.map(|v| v.epoch_label.as_str()).unwrap_or("");
        let log = v.and_then(|v| v.log.as_ref());
        let skew = offsets.get(i).copied().unwrap_or(0);
        let sel = p.selected == Some(i as NodeId);
        let hover = p.hover == Some(i as NodeId);
        let group = p.groups.get(&(i as NodeId)).copied().unwrap_or(0);
        let id = i as NodeId;
        let down = link.callback(move |e: PointerEvent| {
            e.prevent_default();
            Msg::NodeDown(id, e.client_x() as f64, e.client_y() as f64)
        });
        // Keyboard: Tab reaches each node, Enter or Space selects it (as a click does).
        let key = link.batch_callback(move |e: KeyboardEvent| {
            let hit = e.key() == "Enter" || e.key() == " ";
            if hit {
                e.prevent_default();
                e.stop_propagation();
            }
            hit.then_some(Msg::Select((!sel).then_some(id)))
        });
        html! {
            <g class={classes!("ql-node", d.class, sel.then_some("sel"), hover.then_some("hover"))}
               tabindex="0" role="button" aria-pressed={sel.to_string()} onkeydown={key}
               data-node={i.to_string()} data-role={role.clone()} data-term={term.to_string()} data-hover={hover.to_string()}
               onpointerenter={link.callback(move |_| Msg::Hover(Some(id)))}
               onpointerleave={link.callback(|_| Msg::Hover(None))}
               data-kind={d.kind.map(|k| k.name())}
               data-commit={log.map(|l| l.commit_index.to_string())}
               data-applied={log.map(|l| l.applied_index.to_string())}
               transform={format!("translate({x:.1},{y:.1})")} onpointerdown={down}>
                <title>{ if epoch.is_empty() { format!("node {i}: {role}") } else { format!("node {i}: {role}, {epoch} {term}") } }</title>
                if group > 0 {
                    <circle class={if group == 1 { "grp a" } else { "grp b" }} r={(r + 8.0).to_string()} />
                }
                <circle class="body" r={r.to_string()} />
                <text class="id" dy="0.35em">{ i.to_string() }</text>
                if n <= 12 || sel || d.is_leader() {
                    <text class="role" y={(r + if group > 0 { 22.0 } else { 15.0 }).to_string()}>{ role.clone() }</text>
                }
                if v.is_some() && !epoch.is_empty() {
                    <text class="term" x={(r + 4.0).to_string()} y={(-r + 4.0).to_string()}>{ format!("{}{term}", legend::epoch_prefix(epoch)) }</text>
                }
                if skew != 0 {
                    <text class="skew" y={(r + 29.0).to_string()}>{ format!("clock {:+} ms", skew / MS as i64) }</text>
                }
            </g>
        }
    });
    let mv =
        link.callback(|e: PointerEvent| Msg::CanvasMove(e.client_x() as f64, e.client_y() as f64));
    let up = link.callback(|_: PointerEvent| Msg::CanvasUp);
    let leave = link.callback(|_: PointerEvent| Msg::CanvasUp);
    html! {
        <div class="ql-canvas-wrap">
            <svg class="ql-canvas" data-testid="canvas" ref={p.canvas_ref.clone()} viewBox={format!("0 0 {W} {H}")}
                 preserveAspectRatio="xMidYMid meet" onpointermove={mv} onpointerup={up} onpointerleave={leave}>
                if p.draw_partition {
                    <g class="ql-divider">
                        <line x1={(W / 2.0).to_string()} y1="0" x2={(W / 2.0).to_string()} y2={H.to_string()} />
                        <text x={(W / 2.0 - 24.0).to_string()} y="28" text-anchor="end">{ "A" }</text>
                        <text x={(W / 2.0 + 24.0).to_string()} y="28">{ "B" }</text>
                    </g>
                }
                <defs>
                    <marker id="ql-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
                        <path d="M0,0L8,4L0,8z" />
                    </marker>
                </defs>
                <g class="links">{ links }</g>
                <g class="edges">{ for edges }</g>
                <g class="msgs">{ for msgs }</g>
                <g class="nodes">{ for nodes }</g>
            </svg>
            <div class="ql-legend">
                { for keys.iter().map(|k| html! { <span class={classes!("k", k.class)}>{ k.text.clone() }</span> }) }
                <span class="ql-muted">{ if p.playing { format!("{} messages in flight · {:.0} fps", flights.len(), p.fps) } else { format!("{} messages in flight · paused", flights.len()) } }</span>
            </div>
        </div>
    }
}

pub(super) fn timeline(p: &Playground, ctx: &Ctx) -> Html {
    let link = ctx.link();
    let s = p.session.scenario();
    let d = s.duration_ms.max(1) as f64;
    let now = p.session.now() as f64 / MS as f64;
    let x = |ms: f64| (ms / d * 1000.0).clamp(0.0, 1000.0);
    let marks = s.faults.iter().enumerate().map(|(i, f)| {
        let at = match &p.fault_drag {
            Some(dr) if dr.index == i && dr.moved => dr.at_ms,
            _ => f.at_ms,
        };
        let sel = p.fault_sel == Some(i);
        let down = link.callback(move |e: PointerEvent| {
            e.stop_propagation();
            Msg::FaultDown(i, e.client_x() as f64)
        });
        let kind = f.kind.name();
        html! {
            <g class={classes!("mark", kind, sel.then_some("sel"))} data-fault={i.to_string()}
               transform={format!("translate({:.1},0)", x(at as f64))} onpointerdown={down}>
                <title>{ format!("{} ms: {}", at, edit::describe_fault(&f.kind)) }</title>
                <rect x="-4" y="6" width="8" height="28" rx="2" />
            </g>
        }
    });
    let nemesis = s.nemesis.as_ref().map(|_| {
        let start = s.nemesis.as_ref().map(|n| n.start_ms).unwrap_or(0) as f64;
        let stop = s.nemesis_stop_ms().unwrap_or(0) as f64;
        html! { <rect class="nemesis" x={x(start).to_string()} y="36" width={(x(stop) - x(start)).max(0.0).to_string()} height="4" /> }
    });
    let cps = p.session.checkpoint_times().into_iter().map(|t| {
        html! { <line class="cp" x1={x(t as f64 / MS as f64).to_string()} x2={x(t as f64 / MS as f64).to_string()} y1="38" y2="42" /> }
    });
    let down = link.callback(|e: PointerEvent| Msg::TimelineDown(e.client_x() as f64));
    let mv = link.callback(|e: PointerEvent| Msg::TimelineMove(e.client_x() as f64));
    let up = link.callback(|_: PointerEvent| Msg::TimelineUp);
    let leave = link.callback(|_: PointerEvent| Msg::TimelineUp);
    // Keyboard: arrows move the playhead by a fiftieth of the run, Home and End jump.
    let seek_key = link.batch_callback(move |e: KeyboardEvent| {
        let to = match e.key().as_str() {
            "ArrowLeft" | "ArrowDown" => now - d / 50.0,
            "ArrowRight" | "ArrowUp" => now + d / 50.0,
            "Home" => 0.0,
            "End" => d,
            _ => return None,
        };
        e.prevent_default();
        e.stop_propagation();
        Some(Msg::Seek((to.clamp(0.0, d) * MS as f64) as Time))
    });
    let nem_on = s.nemesis.is_some();
    let sc = s.clone();
    let toggle = link.callback(move |_| Msg::Edit(edit::set_nemesis(&sc, !nem_on)));
    let sel = p
        .fault_sel
        .and_then(|i| s.faults.get(i).map(|f| (i, f.clone())));
    html! {
        <div class="ql-timeline" data-testid="timeline">
            <div class="ql-row">
                <strong>{ "Timeline" }</strong>
                <label class="ql-switch">
                    <input type="checkbox" data-testid="nemesis" checked={nem_on} onchange={toggle} />
                    { " nemesis" }
                </label>
                <span class="ql-muted">{ "click or drag to scrub; drag a mark to move it; click a mark to select it" }</span>
            </div>
            <svg ref={p.timeline_ref.clone()} viewBox="0 0 1000 44" preserveAspectRatio="none"
                 tabindex="0" role="slider" aria-label="Simulated time" aria-valuemin="0"
                 aria-valuemax={format!("{d:.0}")} aria-valuenow={format!("{now:.0}")} onkeydown={seek_key}
                 onpointerdown={down} onpointermove={mv} onpointerup={up} onpointerleave={leave}>
                <rect class="track" x="0" y="18" width="1000" height="4" />
                { for nemesis }
                { for cps }
                { for marks }
                <line class="playhead" data-testid="playhead" x1={x(now).to_string()} x2={x(now).to_string()} y1="0" y2="44" />
            </svg>
            if let Some((i, f)) = sel {
                <div class="ql-row ql-fault-sel">
                    <span>{ format!("#{i} at {} ms: {}", f.at_ms, edit::describe_fault(&f.kind)) }</span>
                    <button data-testid="delete-fault" onclick={
                        let sc = s.clone();
                        link.batch_callback(move |_| vec![Msg::FaultSelect(None), Msg::Edit(edit::delete_fault(&sc, i))])
                    }>{ "Delete" }</button>
                    <button onclick={link.callback(|_| Msg::FaultSelect(None))}>{ "Close" }</button>
                </div>
            }
        </div>
    }
}

pub(super) fn spacetime(p: &Playground, ctx: &Ctx) -> Html {
    let link = ctx.link();
    let Some(e) = p.session.engine() else {
        return html! {};
    };
    let n = p.session.scenario().n().max(1);
    let now = e.now() as f64;
    let w = p.window_ms * MS as f64;
    let t0 = now - w * 0.85;
    let t1 = now + w * 0.15;
    let (sw, sh, left) = (1000.0, (n as f64 * 22.0 + 24.0).clamp(90.0, 520.0), 36.0);
    let row = |i: u32| 14.0 + (i as f64 + 0.5) * (sh - 24.0) / n as f64;
    let tx = |t: f64| left + (t - t0) / (t1 - t0) * (sw - left - 6.0);
    let mut arrows = Vec::new();
    for f in e.flights().iter().rev() {
        if arrows.len() >= 300 {
            break;
        }
        let (sent, arr) = (f.sent as f64, f.arrives as f64);
        if sent > now || arr < t0 || sent > t1 {
            continue;
        }
        let lost = f.dropped();
        let end_t = arr.min(now);
        let (x1, y1) = (tx(sent), row(f.from));
        let frac = if arr > sent {
            (end_t - sent) / (arr - sent)
        } else {
            1.0
        };
        let (x2, y2) = (tx(end_t), y1 + (row(f.to) - y1) * frac);
        arrows.push(html! {
            <line class={classes!("st", f.kind.clone(), lost.then_some("lost"))} x1={format!("{x1:.1}")} y1={format!("{y1:.1}")}
                  x2={format!("{x2:.1}")} y2={format!("{y2:.1}")} marker-end={if lost || end_t < arr { "" } else { "url(#ql-arrow)" }}>
                if n <= 8 {
                    <title>{ format!("{} {} → {} at {} ({})", f.label, f.from, f.to, ms(f.sent), f.fate) }</title>
                }
            </line>
        });
    }
    let rows = (0..n as u32).map(|i| {
        let y = row(i);
        html! {
            <g class="strow">
                <text x="4" y={format!("{:.1}", y + 4.0)}>{ format!("n{i}") }</text>
                <line x1={left.to_string()} x2={sw.to_string()} y1={format!("{y:.1}")} y2={format!("{y:.1}")} />
            </g>
        }
    });
    // Ticks every nice step.
    let step = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
        .into_iter()
        .map(|x| x * MS as f64)
        .find(|st| (t1 - t0) / st <= 8.0)
        .unwrap_or(1e6);
    let mut ticks = Vec::new();
    let mut t = (t0 / step).ceil() * step;
    while t <= t1 {
        if t >= 0.0 {
            let x = tx(t);
            ticks.push(html! {
                <g class="tick"><line x1={format!("{x:.1}")} x2={format!("{x:.1}")} y1="0" y2={sh.to_string()} />
                <text x={format!("{:.1}", x + 2.0)} y="10">{ format!("{} ms", (t / MS as f64).round().abs()) }</text></g>
            });
        }
        t += step;
    }
    let win = link.callback(|e: Event| Msg::Window(input_text(&e).parse().unwrap_or(400.0)));
    let nowx = tx(now);
    let span = t1 - t0;
    let scrub = {
        let rect_w = sw - left - 6.0;
        link.callback(move |e: WheelEvent| {
            e.prevent_default();
            let dt = e.delta_y() + e.delta_x();
            let t = (now + dt / rect_w * span).max(0.0);
            Msg::Seek(t as Time)
        })
    };
    html! {
        <div class="ql-spacetime" data-testid="spacetime">
            <div class="ql-row">
                <strong>{ "Space-time diagram" }</strong>
                <label>{ "window " }
                    <select onchange={win}>
                        { for [50.0, 100.0, 200.0, 400.0, 1000.0, 3000.0].into_iter().map(|v| html! {
                            <option value={v.to_string()} selected={(v - p.window_ms).abs() < 1e-9}>{ format!("{v} ms") }</option>
                        }) }
                    </select>
                </label>
                <span class="ql-muted">{ "scroll to move in time" }</span>
            </div>
            <svg viewBox={format!("0 0 {sw} {sh}")} preserveAspectRatio="none" style={format!("height:{}px", sh.min(300.0))} onwheel={scrub}>
                <defs>
                    <marker id="ql-arrow" viewBox="0 0 6 6" refX="5" refY="3" markerWidth="6" markerHeight="6" orient="auto">
                        <path d="M0,0L6,3L0,6z" class="arrowhead" />
                    </marker>
                </defs>
                { ticks }
                { for rows }
                { arrows }
                <line class="playhead" x1={format!("{nowx:.1}")} x2={format!("{nowx:.1}")} y1="0" y2={sh.to_string()} />
            </svg>
        </div>
    }
}

fn tabs(p: &Playground, ctx: &Ctx) -> Html {
    let link = ctx.link();
    let t = |tab: Tab, label: &str, id: &str| {
        html! {
            <button class={classes!("tab", (p.tab == tab).then_some("on"))} data-testid={format!("tab-{id}")}
                onclick={link.callback(move |_| Msg::Tab(tab))}>{ label.to_string() }</button>
        }
    };
    html! {
        <nav class="ql-tabs">
            { t(Tab::Node, "Node", "node") }
            { t(Tab::Edit, "Edit", "edit") }
            { t(Tab::Console, "Console", "console") }
            { t(Tab::Cap, "CAP", "cap") }
        </nav>
    }
}

pub(super) fn node_panel(p: &Playground, ctx: &Ctx) -> Html {
    let link = ctx.link();
    let Some(id) = p.selected else {
        return html! {
            <section class="ql-panel" data-testid="node-panel">
                <p class="ql-muted">{ "Click a node to see its state and to crash, pause or restart it. Drag nodes to move them." }</p>
                { scenario_info(p) }
            </section>
        };
    };
    let e = p.session.engine();
    let status = e
        .and_then(|e| e.status().get(id as usize).copied())
        .unwrap_or(Status::Up);
    let from_worker = super::playground::worker_view(p, id);
    let source = if from_worker.is_some() {
        "worker"
    } else {
        "page"
    };
    let view: Option<NodeView> =
        from_worker.or_else(|| e.and_then(|e| e.views().get(id as usize).cloned().flatten()));
    let act = |k: FaultKind| link.callback(move |_| Msg::Act(k.clone()));
    let skew = e
        .and_then(|e| e.clock_offsets().get(id as usize).copied())
        .unwrap_or(0);
    let at = action_time(p) / MS;
    let drawn = legend::drawn(status, view.as_ref());
    // Offered where a protocol has a leader to choose (those that elect it refuse).
    let proto = &p.session.scenario().protocol.name;
    let promotable = registry::entries()
        .iter()
        .any(|e| e.name == proto.as_str() && e.has_leader);
    html! {
        <section class="ql-panel" data-testid="node-panel" data-node={id.to_string()}>
            <h2>{ format!("Node {id}") }
                <span class={classes!("pill", drawn.class)} data-kind={drawn.kind.map(|k| k.name())}>{ drawn.label.clone() }</span>
            </h2>
            <div class="ql-actions">
                <button data-testid="crash" disabled={status == Status::Crashed || status == Status::Spare} onclick={act(FaultKind::Crash { node: id.into() })}>{ "Crash" }</button>
                <button data-testid="restart" disabled={status != Status::Crashed} onclick={act(FaultKind::Restart { node: id.into(), disk: true })}>{ "Restart (disk)" }</button>
                <button data-testid="restart-blank" disabled={status != Status::Crashed} onclick={act(FaultKind::Restart { node: id.into(), disk: false })}>{ "Restart blank" }</button>
                <button data-testid="pause-node" disabled={status != Status::Up} onclick={act(FaultKind::Pause { node: id.into(), duration_ms: 1000 })}>{ "Pause 1 s" }</button>
                if promotable {
                    <button data-testid="promote" title="Manual failover, as operators do: ask the cluster to make this node its leader (refusals go to the log)" disabled={status == Status::Spare} onclick={act(FaultKind::Promote { node: id })}>{ "Promote" }</button>
                }
                <button data-testid="skew" onclick={act(FaultKind::Clock { node: id.into(), skew_ms: 100, drift_ppm: 0 })}>{ "Clock +100 ms" }</button>
                <button onclick={act(FaultKind::Clock { node: id.into(), skew_ms: 0, drift_ppm: 100_000 })}>{ "Clock 10% fast" }</button>
            </div>
            <p class="ql-muted">{ format!("Actions are recorded in the scenario at {at} ms.") }</p>
            <p class="ql-muted" data-testid="view-source" data-source={source}>{
                if source == "worker" { format!("State as node {id}'s Web Worker reports it.") }
                else { "State from the page's replica of the run.".to_string() }
            }</p>
            {
                match view {
                    None => html! { <p>{ match status { Status::Crashed => "Crashed: its volatile state is gone.", Status::Spare => "A spare: not running until it is added.", _ => "No state to show." } }</p> },
                    Some(v) => view_details(&v, skew),
                }
            }
        </section>
    }
}

fn view_details(v: &NodeView, skew: i64) -> Html {
    let log = v.log.as_ref();
    let relations: Vec<String> = v
        .edges
        .iter()
        .map(|e| format!("{} {}", e.label, e.to))
        .collect();
    html! {
        <div class="ql-view">
            <dl class="ql-kv">
                if !v.epoch_label.is_empty() {
                    <dt>{ v.epoch_label.clone() }</dt><dd>{ v.term }</dd>
                }
                { for v.fields.iter().map(|(k, val)| html! { <><dt>{ k.clone() }</dt><dd>{ val.clone() }</dd></> }) }
                if let Some(l) = log {
                    <dt>{ format!("{} / applied", l.commit_label) }</dt><dd>{ format!("{} / {}", l.commit_index, l.applied_index) }</dd>
                    <dt>{ "snapshot" }</dt><dd>{ l.snapshot_index }</dd>
                }
                <dt>{ "members" }</dt><dd>{ format!("{:?}", v.members) }</dd>
                if !relations.is_empty() {
                    <dt>{ "relations" }</dt><dd>{ relations.join(", ") }</dd>
                }
                <dt>{ "clock" }</dt><dd>{ format!("{:+.3} ms", skew as f64 / MS as f64) }</dd>
                <dt>{ "last change" }</dt><dd>{ if v.last_change.is_empty() { "—".to_string() } else { v.last_change.clone() } }</dd>
            </dl>
            // The log itself, and the leader's match and next, are in the log grid
            // under the canvas, every node's side by side.
            if let Some(kv) = &v.kv {
                <h3>{ "State machine" }</h3>
                if kv.is_empty() { <p class="ql-muted">{ "empty" }</p> } else {
                    <dl class="ql-kv">{ for kv.iter().map(|(k, val)| html! { <><dt>{ k.clone() }</dt><dd>{ val }</dd></> }) }</dl>
                }
            }
            if !v.gauges.is_empty() {
                <h3>{ "Peers" }</h3>
                <table class="ql-table" data-testid="gauges"><tr><th>{ "node" }</th><th>{ "measure" }</th><th>{ "level" }</th><th></th><th>{ "threshold" }</th><th>{ "flagged" }</th></tr>
                    { for v.gauges.iter().map(|g| {
                        // A bar: the level against the threshold (full at or past it).
                        let w = if g.max > 0.0 { (g.value / g.max).clamp(0.0, 1.0) * 60.0 } else { 0.0 };
                        html! {
                        <tr class={classes!(g.flagged.then_some("bad"))} data-node={g.node.to_string()} data-flagged={g.flagged.to_string()} data-label={g.label.clone()}>
                            <td>{ g.node }</td><td>{ g.label.clone() }</td><td>{ format!("{:.2}", g.value) }</td>
                            <td><svg class="ql-bar" width="60" height="8"><rect width="60" height="8" /><rect class="lvl" data-testid="gauge-bar" width={format!("{w:.1}")} height="8" /></svg></td>
                            <td>{ format!("{:.2}", g.max) }</td><td>{ if g.flagged { "yes" } else { "no" } }</td>
                        </tr>
                    } }) }
                </table>
            }
        </div>
    }
}

fn scenario_info(p: &Playground) -> Html {
    let s = p.session.scenario();
    html! {
        <div class="ql-info">
            <h3>{ s.name.clone() }</h3>
            if !s.description.is_empty() { <p>{ s.description.clone() }</p> }
            if !s.watch.is_empty() { <p><strong>{ "Watch: " }</strong>{ s.watch.clone() }</p> }
            <p class="ql-muted">{ "Keys: space play/pause · n or → step · Ctrl+Z undo · Ctrl+Shift+Z redo" }</p>
        </div>
    }
}

/// Every parameter of protocol `name` at its default (from the registry).
fn default_params(name: &str) -> Value {
    registry::entry(name)
        .map(|e| e.default_params())
        .unwrap_or(Value::Null)
}

fn edit_panel(p: &Playground, ctx: &Ctx) -> Html {
    let link = ctx.link();
    let s = p.session.scenario().clone();
    let n = s.n();
    // Link editor.
    let link_ed = p.link_sel.map(|(a, b)| {
        let cur = edit::link_of(&s, a, b).cloned();
        let base = cur
            .as_ref()
            .and_then(|l| l.latency.as_ref())
            .map(|l| l.base_ms)
            .unwrap_or(s.network.latency.base_ms);
        let jitter = cur
            .as_ref()
            .and_then(|l| l.latency.as_ref())
            .map(|l| l.jitter_ms)
            .unwrap_or(s.network.latency.jitter_ms);
        let loss = cur.as_ref().and_then(|l| l.loss).unwrap_or(s.network.loss);
        let (s1, s2, s3) = (s.clone(), s.clone(), s.clone());
        let cur1 = cur.clone();
        let cur2 = cur.clone();
        let set_base = link.callback(move |e: Event| {
            let v: f64 = input_text(&e).parse().unwrap_or(f64::NAN);
            let mut lat = cur1.as_ref().and_then(|l| l.latency.clone()).unwrap_or_else(|| s1.network.latency.clone());
            lat.base_ms = v;
            Msg::Edit(edit::set_link(&s1, a, b, Some(lat), cur1.as_ref().and_then(|l| l.loss)))
        });
        let set_jit = link.callback(move |e: Event| {
            let v: f64 = input_text(&e).parse().unwrap_or(f64::NAN);
            let mut lat: LatencySpec = cur2.as_ref().and_then(|l| l.latency.clone()).unwrap_or_else(|| s2.network.latency.clone());
            lat.jitter_ms = v;
            Msg::Edit(edit::set_link(&s2, a, b, Some(lat), cur2.as_ref().and_then(|l| l.loss)))
        });
        let cur3 = cur.clone();
        let set_loss = link.callback(move |e: Event| {
            let v: f64 = input_text(&e).parse().unwrap_or(f64::NAN);
            Msg::Edit(edit::set_link(&s3, a, b, cur3.as_ref().and_then(|l| l.latency.clone()), Some(v)))
        });
        let s4 = s.clone();
        html! {
            <fieldset data-testid="link-editor">
                <legend>{ format!("Link {a} – {b}") }</legend>
                <div class="ql-actions">
                    <button data-testid="cut-link" onclick={link.batch_callback(move |_| vec![Msg::Act(FaultKind::Cut { from: a, to: b }), Msg::Act(FaultKind::Cut { from: b, to: a })])}>{ "Cut both ways" }</button>
                    <button onclick={link.callback(move |_| Msg::Act(FaultKind::Cut { from: a, to: b }))}>{ format!("Cut {a}→{b}") }</button>
                    <button onclick={link.callback(move |_| Msg::Act(FaultKind::Cut { from: b, to: a }))}>{ format!("Cut {b}→{a}") }</button>
                    <button data-testid="heal" onclick={link.callback(|_| Msg::Act(FaultKind::Heal))}>{ "Heal network" }</button>
                </div>
                <label>{ "latency base (ms) " }<Field kind="number" step="0.5" min="0.1" value={base.to_string()} onchange={set_base} /></label>
                <label>{ "jitter (ms) " }<Field kind="number" step="0.5" min="0" value={jitter.to_string()} onchange={set_jit} /></label>
                <label>{ "loss (0–1) " }<Field kind="number" step="0.05" min="0" max="1" value={loss.to_string()} onchange={set_loss} /></label>
                if cur.is_some() {
                    <button onclick={link.callback(move |_| Msg::Edit(edit::set_link(&s4, a, b, None, None)))}>{ "Use network defaults" }</button>
                }
                <button onclick={link.callback(|_| Msg::SelectLink(None))}>{ "Close" }</button>
            </fieldset>
        }
    });
    // Partition tool.
    let part_rows = (0..n as NodeId).map(|i| {
        let g = p.groups.get(&i).copied().unwrap_or(0);
        let set = |v: u8| link.callback(move |_| Msg::Group(i, v));
        html! {
            <span class="ql-grp">
                { format!("{i}:") }
                <button data-testid={format!("group-a-{i}")} class={classes!("a", (g == 1).then_some("on"))} onclick={set(if g == 1 { 0 } else { 1 })}>{ "A" }</button>
                <button data-testid={format!("group-b-{i}")} class={classes!("b", (g == 2).then_some("on"))} onclick={set(if g == 2 { 0 } else { 2 })}>{ "B" }</button>
            </span>
        }
    });
    // Protocol parameters: the defaults merged with the scenario's.
    let mut params = default_params(&s.protocol.name)
        .as_object()
        .cloned()
        .unwrap_or_default();
    if let Some(o) = s.protocol.params.as_object() {
        for (k, v) in o {
            params.insert(k.clone(), v.clone());
        }
    }
    let entry = registry::entry(&s.protocol.name);
    let param_rows = params.into_iter().map(|(k, v)| {
        let sc = s.clone();
        let name = k.clone();
        let like = v.clone();
        let change = link.callback(move |e: Event| {
            let text = input_text(&e);
            Msg::Edit(edit::parse_like(&like, &text).and_then(|val| edit::set_param(&sc, &name, val)))
        });
        let spec = entry.as_ref().and_then(|e| e.param(&k));
        let min = match spec.map(|p| p.kind) {
            Some(ParamKind::Int { min, .. }) => Some(min.to_string()),
            _ => None,
        };
        let input = match (&v, spec.map(|p| p.kind)) {
            (Value::Bool(_), _) => html! { <input type="checkbox" checked={v.as_bool() == Some(true)} onchange={change} /> },
            (Value::Number(num), _) => html! { <Field kind="number" min={min.map(AttrValue::from)} value={num.to_string()} onchange={change} /> },
            (Value::String(st), Some(ParamKind::Choice(options))) => html! {
                <select onchange={change}>
                    { for options.iter().map(|o| html! { <option value={o.to_string()} selected={st == o}>{ o.to_string() }</option> }) }
                </select>
            },
            (other, _) => html! { <Field value={other.as_str().map(|x| x.to_string()).unwrap_or_else(|| other.to_string())} onchange={change} /> },
        };
        let help = spec.map(|p| format!("{} ({})", p.help, p.allowed())).unwrap_or_default();
        let unit = spec.map(|p| p.unit).filter(|u| !u.is_empty()).map(|u| format!(" ({u})")).unwrap_or_default();
        html! { <label class={classes!("param", k.starts_with("unsafe_").then_some("unsafe"))} data-param={k.clone()} title={help}><span>{ format!("{k}{unit}") }</span>{ input }</label> }
    });
    let w = s.workload.clone();
    let wf = |field: WorkloadField, label: &str, val: f64| {
        let sc = s.clone();
        let change = link.callback(move |e: Event| {
            Msg::Edit(edit::set_workload(
                &sc,
                field,
                input_text(&e).parse().unwrap_or(f64::NAN),
            ))
        });
        html! { <label><span>{ label.to_string() }</span><Field kind="number" min="0" step="any" value={val.to_string()} onchange={change} /></label> }
    };
    let (sd, ss) = (s.clone(), s.clone());
    let set_dur = link.callback(move |e: Event| {
        let mut x = sd.clone();
        match input_text(&e).trim().parse::<u64>() {
            Ok(v) => {
                x.duration_ms = v;
                Msg::Edit(edit::checked(x))
            }
            Err(_) => Msg::Edit(Err("duration must be a whole number of milliseconds".into())),
        }
    });
    let set_seed = link.callback(move |e: Event| {
        let mut x = ss.clone();
        match input_text(&e).trim().parse::<u64>() {
            Ok(v) => {
                x.seed = v;
                Msg::Edit(edit::checked(x))
            }
            Err(_) => Msg::Edit(Err("the seed must be a whole number".into())),
        }
    });
    let (sa, sr, sp) = (s.clone(), s.clone(), s.clone());
    let sel = p.selected;
    let nem_kinds = s.nemesis.as_ref().map(|nm| {
        NEMESIS_KINDS.iter().map(|k| {
            let on = nm.faults.iter().any(|x| x == k);
            let sc = s.clone();
            let k2 = k.to_string();
            html! { <label class="ql-check"><input type="checkbox" checked={on} onchange={link.callback(move |_| Msg::Edit(edit::toggle_nemesis_kind(&sc, &k2)))} />{ k.to_string() }</label> }
        }).chain(std::iter::once({
            let sc = s.clone();
            let keep = nm.keep_majority;
            html! { <label class="ql-check" title="Partitions leave a majority on one side, and no crash leaves only a bare majority up"><input type="checkbox" data-testid="keep-majority" checked={keep} onchange={link.callback(move |_| Msg::Edit(edit::set_keep_majority(&sc, !keep)))} />{ "keep a majority" }</label> }
        })).collect::<Html>()
    });
    let json = s.to_json_pretty();
    html! {
        <section class="ql-panel ql-edit" data-testid="edit-panel">
            <fieldset>
                <legend>{ format!("Nodes ({n})") }</legend>
                <div class="ql-actions">
                    <button data-testid="add-node" onclick={link.callback(move |_| Msg::Edit(edit::add_node(&sa)))}>{ "Add node" }</button>
                    <button data-testid="remove-node" disabled={sel.is_none()} onclick={link.callback(move |_| match sel {
                        Some(id) => Msg::Edit(edit::remove_node(&sr, id)),
                        None => Msg::Edit(Err("select a node first".into())),
                    })}>{ match sel { Some(i) => format!("Remove node {i}"), None => "Remove (select a node)".into() } }</button>
                </div>
                <p class="ql-muted">{ "Adding or removing nodes edits the scenario and replays it." }</p>
            </fieldset>
            { for link_ed }
            if p.link_sel.is_none() { <p class="ql-muted">{ "Click a link on the canvas to cut it or change its latency and loss." }</p> }
            <fieldset data-testid="partition-tool">
                <legend>{ "Partition" }</legend>
                <label class="ql-check">
                    <input type="checkbox" data-testid="draw-partition" checked={p.draw_partition}
                           onchange={link.callback(|e: Event| Msg::DrawPartition(input_text(&e) == "true"))} />
                    { " draw it: drag nodes left (A) or right (B) of the line on the canvas" }
                </label>
                <div class="ql-grps">{ for part_rows }</div>
                <div class="ql-actions">
                    <button data-testid="apply-partition" onclick={link.callback(|_| Msg::ApplyPartition)}>{ "Partition A | B now" }</button>
                    <button onclick={link.callback(|_| Msg::Act(FaultKind::Heal))}>{ "Heal now" }</button>
                </div>
            </fieldset>
            <fieldset data-testid="params">
                <legend>{ format!("Protocol: {}", s.protocol.name) }</legend>
                <label title="Switching protocol keeps the cluster, network, faults and workload, and resets the protocol's parameters to their defaults."><span>{ "protocol" }</span>
                    <select data-testid="protocol-select" onchange={link.callback(move |e: Event| Msg::Edit(edit::set_protocol(&sp, &input_text(&e))))}>
                        { for registry::entries().into_iter().map(|e| html! { <option value={e.name} selected={e.name == s.protocol.name} title={e.summary}>{ e.name }</option> }) }
                    </select>
                </label>
                <div class="ql-params">{ for param_rows }</div>
            </fieldset>
            <fieldset>
                <legend>{ "Workload" }</legend>
                <div class="ql-params">
                    { wf(WorkloadField::Clients, "clients", w.as_ref().map(|w| w.clients as f64).unwrap_or(0.0)) }
                    { wf(WorkloadField::Rate, "ops/s per client", w.as_ref().map(|w| w.rate).unwrap_or(2.0)) }
                    { wf(WorkloadField::Keys, "keys", w.as_ref().map(|w| w.keys as f64).unwrap_or(2.0)) }
                    { wf(WorkloadField::TimeoutMs, "timeout (ms)", w.as_ref().map(|w| w.timeout_ms as f64).unwrap_or(500.0)) }
                    { wf(WorkloadField::Read, "mix: read", w.as_ref().map(|w| w.mix.weight_of(quorumlab_core::OpKind::Read, &quorumlab_core::DataType::CAS_REGISTER)).unwrap_or(0.5)) }
                    { wf(WorkloadField::Write, "mix: write", w.as_ref().map(|w| w.mix.weight_of(quorumlab_core::OpKind::Write, &quorumlab_core::DataType::CAS_REGISTER)).unwrap_or(0.4)) }
                    { wf(WorkloadField::Cas, "mix: cas", w.as_ref().map(|w| w.mix.weight_of(quorumlab_core::OpKind::Cas, &quorumlab_core::DataType::CAS_REGISTER)).unwrap_or(0.1)) }
                </div>
            </fieldset>
            <fieldset>
                <legend>{ "Run" }</legend>
                <div class="ql-params">
                    <label><span>{ "duration (ms)" }</span><Field testid="duration" kind="number" min="1" value={s.duration_ms.to_string()} onchange={set_dur} /></label>
                    <label><span>{ "seed" }</span><Field testid="seed" kind="number" min="0" value={s.seed.to_string()} onchange={set_seed} /></label>
                </div>
                if let Some(k) = nem_kinds { <div class="ql-nem"><span>{ "nemesis faults: " }</span>{ k }</div> }
            </fieldset>
            <fieldset>
                <legend>{ "Scenario JSON" }</legend>
                <label class="ql-check"><input type="checkbox" checked={p.show_json} onchange={link.callback(|e: Event| Msg::ShowJson(input_text(&e) == "true"))} />{ " show and edit" }</label>
                if p.show_json {
                    <Field testid="scenario-json" rows={14} value={json} onchange={link.callback(|e: Event| {
                        let text = input_text(&e);
                        Msg::Edit(quorumlab_sim::scenario::load(&text).map_err(|errs| quorumlab_sim::scenario::describe(&errs)))
                    })} />
                }
            </fieldset>
        </section>
    }
}

pub(super) fn console_panel(p: &Playground, ctx: &Ctx) -> Html {
    let link = ctx.link();
    let n = p.session.scenario().n();
    let f = p.console.clone();
    let upd = |g: fn(&mut ConsoleForm, String)| {
        let f = f.clone();
        link.callback(move |e: Event| {
            let mut f = f.clone();
            g(&mut f, input_text(&e));
            Msg::Console(f)
        })
    };
    let rows = p.session.engine().map(console::rows).unwrap_or_default();
    let hist = p
        .session
        .engine()
        .map(|e| {
            let ev = &e.history().events;
            let skip = ev.len().saturating_sub(30);
            ev.iter()
                .skip(skip)
                .map(|h| serde_json::to_string(h).unwrap_or_default())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let total = p
        .session
        .engine()
        .map(|e| e.history().events.len())
        .unwrap_or(0);
    html! {
        <section class="ql-panel" data-testid="console">
            <h2>{ "Client console" }</h2>
            <div class="ql-form">
                <label>{ "node " }
                    <select data-testid="console-node" onchange={upd(|f, v| f.node = v.parse().unwrap_or(0))}>
                        { for (0..n).map(|i| html! { <option value={i.to_string()} selected={f.node as usize == i}>{ i }</option> }) }
                    </select>
                </label>
                <label>{ "op " }
                    <select data-testid="console-op" onchange={upd(|f, v| f.op = match v.as_str() { "read" => ConsoleOp::Read, "cas" => ConsoleOp::Cas, _ => ConsoleOp::Write })}>
                        <option value="read" selected={f.op == ConsoleOp::Read}>{ "read" }</option>
                        <option value="write" selected={f.op == ConsoleOp::Write}>{ "write" }</option>
                        <option value="cas" selected={f.op == ConsoleOp::Cas}>{ "cas" }</option>
                    </select>
                </label>
                <label>{ "key " }<Field testid="console-key" value={f.key.clone()} onchange={upd(|f, v| f.key = v)} size="5" /></label>
                if f.op == ConsoleOp::Cas {
                    <label>{ "expect " }<Field testid="console-expect" value={f.expect.clone()} onchange={upd(|f, v| f.expect = v)} size="4" /></label>
                }
                if f.op != ConsoleOp::Read {
                    <label>{ "value " }<Field testid="console-value" value={f.value.clone()} onchange={upd(|f, v| f.value = v)} size="4" /></label>
                }
                <button data-testid="console-send" onclick={link.callback(|_| Msg::ConsoleSend)}>{ "Send" }</button>
            </div>
            <table class="ql-table" data-testid="console-ops">
                <tr><th>{ "at" }</th><th>{ "node" }</th><th>{ "op" }</th><th>{ "fate" }</th></tr>
                { for rows.iter().map(|r| html! {
                    <tr class={classes!("fate", r.state.replace(' ', "-"))} data-state={r.state}>
                        <td>{ format!("{} ms", r.at_ms) }</td><td>{ r.node }</td><td>{ r.op.clone() }</td>
                        <td>{ r.state }{ if r.detail.is_empty() { String::new() } else { format!(": {}", r.detail) } }</td>
                    </tr>
                }) }
            </table>
            { verdict_view(p, ctx) }
            <h3>{ format!("History ({total} events; last 30)") }</h3>
            <pre class="ql-history" data-testid="history">{ hist.join("\n") }</pre>
        </section>
    }
}

fn verdict_view(p: &Playground, ctx: &Ctx) -> Html {
    let inv = p.session.engine().and_then(|e| e.violation().cloned());
    let partial = p.verdict.is_some() && p.verdict_at < p.session.end();
    html! {
        <div class="ql-verdict" data-testid="verdict" data-at={p.verdict_at.to_string()}>
            <button data-testid="check-now" onclick={ctx.link().callback(|_| Msg::CheckNow)}
                    title="Check the history so far; operations still pending may have taken effect">{ "Check history now" }</button>
            if partial {
                <p class="ql-muted">{ format!("History up to {}:", ms(p.verdict_at)) }</p>
            }
            if let Some(v) = inv {
                <p class="bad">{ format!("Invariant violated at {}: {} — {}", ms(v.time), v.invariant, v.detail) }</p>
            }
            {
                match &p.verdict {
                    None if p.asked.is_some() => html! { <p class="ql-muted" data-verdict="checking">{ "Checking the history…" }</p> },
                    None => html! { <p class="ql-muted">{ "Linearizability is checked when the run ends, or now with the button." }</p> },
                    Some(Check::Passed) => html! { <p class="good" data-verdict="passed">{ "Linearizable ✓" }</p> },
                    Some(Check::Failed { detail, explanation }) => html! {
                        <div class="bad" data-verdict="failed">
                            <p>{ "Not linearizable ✗" }</p>
                            if let Some(ex) = explanation { { explanation_view(ex) } }
                            <pre>{ detail.clone() }</pre>
                        </div>
                    },
                    Some(Check::Skipped { why }) => html! { <p class="ql-muted" data-verdict="skipped">{ format!("Linearizability not checked: {why}") }</p> },
                    Some(Check::Unknown { why }) => html! { <p class="ql-muted" data-verdict="unknown">{ format!("Linearizability unknown: {why}") }</p> },
                }
            }
            if p.verdict.is_some() { { anomalies_view(p, ctx) } }
        </div>
    }
}

/// The run's anomalies: a line of counts, then each one with its moment (click: the
/// playhead goes there) and what it involved.
fn anomalies_view(p: &Playground, ctx: &Ctx) -> Html {
    let a = &p.anomalies;
    let history = p.session.engine().map(|e| e.history());
    let items = a.list.iter().enumerate().map(|(i, x)| {
        let t = (x.at_ms * MS as f64) as Time;
        let when = match x.until_ms {
            Some(u) => format!("{:.0}–{u:.0} ms", x.at_ms),
            None => format!("{:.0} ms", x.at_ms),
        };
        let open = p.anomaly_sel == Some(i);
        // The operations involved, from the history (their completion events).
        let ops = history
            .filter(|_| open)
            .map(|h| {
                x.ops
                    .iter()
                    .filter_map(|j| h.events.get(*j))
                    .map(|e| serde_json::to_string(e).unwrap_or_default())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        html! {
            <li data-testid="anomaly" data-kind={x.kind.name()} data-at={t.to_string()} class={classes!(open.then_some("on"))}>
                <button class="ql-linkish" data-testid="anomaly-seek" onclick={ctx.link().callback(move |_| Msg::ShowAnomaly(i, t))}
                        title="Move the playhead to this moment and show the operations">{ when }</button>
                { format!(" {}: {}", x.kind.name().replace('_', " "), x.detail) }
                if !ops.is_empty() {
                    <pre class="ql-hl" data-testid="anomaly-ops">{ ops.join("\n") }</pre>
                }
            </li>
        }
    });
    let total = a.total();
    html! {
        <div class="ql-anomalies" data-testid="anomaly-list" data-total={total.to_string()}
             data-lost={a.lost_writes.to_string()} data-stale={a.stale_reads.to_string()}
             data-split={a.split_brains.to_string()} data-divergent={a.divergent.to_string()}>
            <p class={if total > 0 { "bad" } else { "good" }}>{ format!("Anomalies: {}", a.line()) }</p>
            if total > 0 { <ol>{ for items }</ol> }
            { for a.unmeasured.iter().chain(&a.notes).map(|u| html! { <p class="ql-muted">{ u.clone() }</p> }) }
        </div>
    }
}

/// The operations that cannot be ordered, drawn on a time axis: one bar per operation
/// from its invoke to its return (to the edge, dashed, when its outcome is unknown); the
/// one the checker could not place is marked.
fn explanation_view(ex: &quorumlab_sim::check::Explanation) -> Html {
    use quorumlab_sim::history::{Func, Value};
    if ex.ops.is_empty() {
        return html! {};
    }
    let t0 = ex.ops.iter().map(|o| o.invoke_time).min().unwrap_or(0) as f64;
    let t1 = ex
        .ops
        .iter()
        .map(|o| o.return_time.unwrap_or(o.invoke_time))
        .max()
        .unwrap_or(0) as f64;
    let span = (t1 - t0).max(1.0);
    let (w, left, right, row) = (360.0, 130.0, 12.0, 20.0);
    let h = ex.ops.len() as f64 * row + 24.0;
    let x = |t: f64| left + (t - t0) / span * (w - left - right);
    let show = |v: &Value| match v {
        Value::Nil => "nil".to_string(),
        Value::Int(i) => i.to_string(),
        Value::Str(s) => format!("{s:?}"),
        Value::Pair([a, b]) => format!("{a}→{b}"),
    };
    let unit = if ex.timed { "ms" } else { "line" };
    let at = |t: f64| {
        if ex.timed {
            format!("{:.1}", t / MS as f64)
        } else {
            format!("{t:.0}")
        }
    };
    let bars = ex.ops.iter().enumerate().map(|(i, o)| {
        let y = 10.0 + i as f64 * row;
        let arrow = if matches!(o.f, Func::Read | Func::Acquire) { " →" } else { "" };
        let what = format!("{} p{} {}{arrow} {}", o.label, o.process, o.f.name(), show(&o.value));
        let (a, b) = (x(o.invoke_time as f64), x(o.return_time.map(|t| t as f64).unwrap_or(t1)));
        html! {
            <g class={classes!("op", o.stuck.then_some("stuck"), o.return_time.is_none().then_some("open"))}
               data-op={o.label.clone()}>
                <title>{ format!("{what}: invoked at {} {unit}, {}", at(o.invoke_time as f64),
                    o.return_time.map(|t| format!("returned at {} {unit}", at(t as f64))).unwrap_or_else(|| "outcome unknown".into())) }</title>
                <text x="4" y={(y + 13.0).to_string()}>{ what }</text>
                <line x1={format!("{a:.1}")} x2={format!("{:.1}", b.max(a + 2.0))} y1={(y + 9.0).to_string()} y2={(y + 9.0).to_string()} />
                <circle cx={format!("{a:.1}")} cy={(y + 9.0).to_string()} r="3" />
            </g>
        }
    });
    html! {
        <svg class="ql-explain" data-testid="explanation" viewBox={format!("0 0 {w} {h}")}>
            { for bars }
            <text class="axis" x={left.to_string()} y={(h - 4.0).to_string()}>{ format!("{} {unit}", at(t0)) }</text>
            <text class="axis" x={(w - right).to_string()} y={(h - 4.0).to_string()} text-anchor="end">{ format!("{} {unit}", at(t1)) }</text>
        </svg>
    }
}

fn cap_numbers(e: &dyn Engine) -> Html {
    let t = e.total();
    let windows = e.metrics();
    let nw = windows.len().max(1) as f64;
    let pts: Vec<String> = windows
        .iter()
        .enumerate()
        .map(|(i, w)| {
            format!(
                "{:.1},{:.1}",
                (i as f64 + 0.5) / nw * 300.0,
                58.0 - w.availability * 54.0
            )
        })
        .collect();
    let maxp = windows
        .iter()
        .filter_map(|w| w.p99_ms)
        .fold(1.0f64, f64::max);
    let lat: Vec<String> = windows
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            w.p99_ms.map(|p| {
                format!(
                    "{:.1},{:.1}",
                    (i as f64 + 0.5) / nw * 300.0,
                    58.0 - p / maxp * 54.0
                )
            })
        })
        .collect();
    let opt = |v: Option<f64>| v.map(|x| format!("{x:.1} ms")).unwrap_or("—".into());
    html! {
        <div class="ql-cap-col">
            <dl class="ql-kv">
                <dt>{ "availability" }</dt><dd data-testid="availability">{ format!("{:.1}%", t.availability * 100.0) }</dd>
                <dt>{ "latency p50" }</dt><dd data-testid="p50">{ opt(t.p50_ms) }</dd>
                <dt>{ "latency p99" }</dt><dd data-testid="p99">{ opt(t.p99_ms) }</dd>
                <dt>{ "ops ok / fail / unknown" }</dt><dd>{ format!("{} / {} / {}", t.ok, t.fail, t.info) }</dd>
                <dt title="dropped: lost, blocked by a partition or a cut, or sent to a crashed node">{ "messages (dropped)" }</dt><dd>{ format!("{} ({})", t.messages, t.dropped) }</dd>
                <dt>{ "invariants" }</dt><dd data-testid="anomalies">{
                    match e.violation() { Some(v) => format!("violated: {}", v.invariant), None => "held so far".into() }
                }</dd>
            </dl>
            <svg class="ql-spark" viewBox="0 0 300 60" preserveAspectRatio="none">
                <polyline class="avail" points={pts.join(" ")} />
                <polyline class="lat" points={lat.join(" ")} />
            </svg>
            <p class="ql-muted">{ "per window: availability (solid), p99 latency (dashed)" }</p>
        </div>
    }
}

pub(super) fn cap_panel(p: &Playground, ctx: &Ctx) -> Html {
    let link = ctx.link();
    let Some(e) = p.session.engine() else {
        return html! { <section class="ql-panel"><p>{ "No run." }</p></section> };
    };
    let variants = super::playground::variants_for(p.session.scenario());
    let cmp = link.callback(move |ev: Event| {
        let v = input_text(&ev);
        Msg::Compare(variants.iter().copied().find(|x| x.id == v))
    });
    let cur = p
        .compare
        .as_ref()
        .map(|(v, _)| v.id.to_string())
        .unwrap_or_default();
    html! {
        <section class="ql-panel" data-testid="cap-panel">
            <h2>{ "CAP: availability, latency, anomalies" }</h2>
            <div class="ql-cap">
                <div>
                    <h3>{ "This run" }</h3>
                    { cap_numbers(e) }
                </div>
                if let Some((v, other)) = &p.compare {
                    <div data-testid="compare">
                        <h3>{ format!("With {}", v.label) }</h3>
                        {
                            match other.engine() {
                                Some(o) => cap_numbers(o),
                                None => html! { <p class="bad">{ other.error().unwrap_or("cannot run").to_string() }</p> },
                            }
                        }
                    </div>
                }
            </div>
            if !variants.is_empty() {
                <label>{ "Compare side by side with " }
                    <select data-testid="compare-select" onchange={cmp}>
                        <option value="" selected={cur.is_empty()}>{ "(nothing)" }</option>
                        { for variants.iter().map(|v| html! { <option value={v.id} selected={cur == v.id}>{ v.label }</option> }) }
                    </select>
                </label>
            }
            { verdict_view(p, ctx) }
        </section>
    }
}

fn gallery_view(p: &Playground, ctx: &Ctx) -> Html {
    let link = ctx.link();
    let card = |pr: &super::gallery::Preset| match &pr.scenario {
        Ok(s) => {
            let name = s.name.clone();
            let desc = s.description.clone();
            let watch = s.watch.clone();
            let proto = s.protocol.name.clone();
            let b = Box::new(s.clone());
            html! {
                // Keyed: presets arrive in any order, and a card must keep its element.
                <article class="ql-card" key={pr.id} data-preset={pr.id}>
                    <h3>{ name }</h3>
                    <p class="ql-muted">{ proto }</p>
                    <p>{ desc }</p>
                    if !watch.is_empty() { <p><strong>{ "Watch: " }</strong>{ watch }</p> }
                    <button onclick={link.callback(move |_| Msg::Load(b.clone()))}>{ "Open" }</button>
                </article>
            }
        }
        Err(e) => {
            html! { <article class="ql-card bad" key={pr.id}><h3>{ pr.id }</h3><p>{ e.clone() }</p></article> }
        }
    };
    let (challenges, presets): (Vec<_>, Vec<_>) = p
        .presets
        .iter()
        .filter(|pr| !matches!(&pr.scenario, Err(e) if e == super::gallery::LOADING))
        .partition(|pr| pr.scenario.as_ref().is_ok_and(|s| s.challenge.is_some()));
    html! {
        <section class="ql-gallery" data-testid="gallery">
            <h2>{ "Gallery" }</h2>
            <div class="ql-cards">{ for presets.into_iter().map(card) }</div>
            <h2>{ "Challenges" }</h2>
            <p class="ql-muted">{ "Make the checklist pass by changing only what the challenge allows; the page says when you have solved it. Share the link to show your attempt." }</p>
            <div class="ql-cards" data-testid="challenges">{ for challenges.into_iter().map(card) }</div>
        </section>
    }
}
