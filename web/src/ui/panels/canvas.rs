//! The cluster on a canvas: nodes coloured by role, links (cut ones red), messages in
//! flight, the relations protocols mark; drag a node to move it (or across the middle
//! line to put it in a partition group), click one to select it, click a link to edit it.

use super::Shared;
use crate::ui::browser;
use crate::ui::edit;
use crate::ui::layout::{self, H, W};
use crate::ui::legend::{self, Drawn};
use crate::ui::state::{Action, Frame};
use quorumlab_core::{NodeId, NodeView, MS};
use quorumlab_sim::{Scenario, Status};
use std::collections::BTreeMap;
use yew::prelude::*;

#[derive(PartialEq)]
pub struct CanvasProps {
    pub scenario: Shared<Scenario>,
    pub frame: Shared<Frame>,
    pub selected: Option<NodeId>,
    pub hover: Option<NodeId>,
    pub groups: Shared<BTreeMap<NodeId, u8>>,
    pub link_sel: Option<(NodeId, NodeId)>,
    pub draw_partition: bool,
    pub playing: bool,
    pub fps: f64,
    pub on: Callback<Action>,
}

/// `canvas_ref`: the SVG element (pointer positions are read against it).
pub fn canvas(p: &CanvasProps, canvas_ref: &NodeRef) -> Html {
    let on = &p.on;
    let s: &Scenario = &p.scenario;
    let n = s.n();
    let pos: Vec<(f64, f64)> = layout::unit_positions(s)
        .into_iter()
        .map(layout::to_view)
        .collect();
    let r = layout::node_radius(n);
    let f: &Frame = &p.frame;
    let now = f.now;
    let blocked = &f.blocked;
    let flights = &f.flights;
    let views: Vec<Option<&NodeView>> = (0..f.status.len()).map(|i| f.view(i)).collect();
    let roles: Vec<Drawn> = f
        .status
        .iter()
        .enumerate()
        .map(|(i, st)| legend::drawn(*st, views.get(i).copied().flatten()))
        .collect();
    let keys = legend::legend(&roles);
    let offsets = &f.offsets;
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
                            onclick={on.reform(move |_| Action::SelectLink(Some((a32, b32))))}>
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
        let v = views.get(i).copied().flatten();
        let term = v.map(|v| v.term).unwrap_or(0);
        // The number as the protocol writes it (a token's parts), else the number.
        let shown = match v.map(|v| v.epoch_text.as_str()) {
            Some(t) if !t.is_empty() => t.to_string(),
            _ => term.to_string(),
        };
        let epoch = v.map(|v| v.epoch_label.as_str()).unwrap_or("");
        let log = v.and_then(|v| v.log.as_ref());
        let skew = offsets.get(i).copied().unwrap_or(0);
        let sel = p.selected == Some(i as NodeId);
        let hover = p.hover == Some(i as NodeId);
        let group = p.groups.get(&(i as NodeId)).copied().unwrap_or(0);
        let id = i as NodeId;
        let down = on.reform(move |e: PointerEvent| {
            e.prevent_default();
            Action::NodeDown(id, e.client_x() as f64, e.client_y() as f64)
        });
        // Keyboard: Tab reaches each node, Enter or Space selects it (as a click does).
        let key = {
            let on = on.clone();
            Callback::from(move |e: KeyboardEvent| {
                if e.key() == "Enter" || e.key() == " " {
                    e.prevent_default();
                    e.stop_propagation();
                    on.emit(Action::Select((!sel).then_some(id)));
                }
            })
        };
        html! {
            <g class={classes!("ql-node", d.class, sel.then_some("sel"), hover.then_some("hover"))}
               tabindex="0" role="button" aria-pressed={sel.to_string()} onkeydown={key}
               data-node={i.to_string()} data-role={role.clone()} data-term={term.to_string()} data-hover={hover.to_string()}
               onpointerenter={on.reform(move |_| Action::Hover(Some(id)))}
               onpointerleave={on.reform(|_| Action::Hover(None))}
               data-kind={d.kind.map(|k| k.name())}
               data-commit={log.map(|l| l.commit_index.to_string())}
               data-applied={log.map(|l| l.applied_index.to_string())}
               transform={format!("translate({x:.1},{y:.1})")} onpointerdown={down}>
                <title>{ if epoch.is_empty() { format!("node {i}: {role}") } else { format!("node {i}: {role}, {epoch} {shown}") } }</title>
                if group > 0 {
                    <circle class={if group == 1 { "grp a" } else { "grp b" }} r={(r + 8.0).to_string()} />
                }
                <circle class="body" r={r.to_string()} />
                <text class="id" dy="0.35em">{ i.to_string() }</text>
                if n <= 12 || sel || d.is_leader() {
                    <text class="role" y={(r + if group > 0 { 22.0 } else { 15.0 }).to_string()}>{ role.clone() }</text>
                }
                if v.is_some() && !epoch.is_empty() {
                    <text class="term" x={(r + 4.0).to_string()} y={(-r + 4.0).to_string()}>{ format!("{}{shown}", legend::epoch_prefix(epoch)) }</text>
                }
                if skew != 0 {
                    <text class="skew" y={(r + 29.0).to_string()}>{ format!("clock {:+} ms", skew / MS as i64) }</text>
                }
            </g>
        }
    });
    let mv = {
        let r = canvas_ref.clone();
        on.reform(move |e: PointerEvent| {
            let (x, y) = (e.client_x() as f64, e.client_y() as f64);
            let unit = browser::rect_of(&r).map(|rect| layout::client_to_unit(x, y, rect));
            Action::CanvasMove((x, y), unit)
        })
    };
    let up = on.reform(|_: PointerEvent| Action::CanvasUp);
    let leave = on.reform(|_: PointerEvent| Action::CanvasUp);
    html! {
        <div class="ql-canvas-wrap">
            <svg class="ql-canvas" data-testid="canvas" ref={canvas_ref.clone()} viewBox={format!("0 0 {W} {H}")}
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
