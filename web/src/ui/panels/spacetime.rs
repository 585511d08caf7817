//! The space-time diagram: one line per node, messages as arrows from sender to
//! receiver over a window of time around the playhead (scroll to move in time).

use super::{input_text, ms, Shared};
use crate::ui::state::Action;
use quorumlab_core::{Time, MS};
use quorumlab_sim::Flight;
use yew::prelude::*;

#[derive(PartialEq)]
pub struct SpacetimeProps {
    pub n: usize,
    pub now: Time,
    pub window_ms: f64,
    /// The messages in the window (`quorumlab_sim::run::in_window`).
    pub flights: Shared<Vec<(usize, Flight)>>,
    pub on: Callback<Action>,
}

pub fn spacetime(p: &SpacetimeProps) -> Html {
    let on = &p.on;
    let n = p.n.max(1);
    let now = p.now as f64;
    let w = p.window_ms * MS as f64;
    let t0 = now - w * 0.85;
    let t1 = now + w * 0.15;
    let (sw, sh, left) = (1000.0, (n as f64 * 22.0 + 24.0).clamp(90.0, 520.0), 36.0);
    let row = |i: u32| 14.0 + (i as f64 + 0.5) * (sh - 24.0) / n as f64;
    let tx = |t: f64| left + (t - t0) / (t1 - t0) * (sw - left - 6.0);
    // Messages are drawn at their absolute times in a group shifted to the window, and
    // keyed: as the playhead moves, only the shift and the messages still on the wire
    // change (rewriting every arrow each frame was most of the page's DOM writes).
    let k = (sw - left - 6.0) / (t1 - t0);
    let shift = left - t0 * k;
    let mut arrows = Vec::new();
    for (key, f) in p.flights.iter().rev() {
        let (sent, arr) = (f.sent as f64, f.arrives as f64);
        let lost = f.dropped();
        let end_t = arr.min(now);
        let (x1, y1) = (sent * k, row(f.from));
        let frac = if arr > sent {
            (end_t - sent) / (arr - sent)
        } else {
            1.0
        };
        let (x2, y2) = (end_t * k, y1 + (row(f.to) - y1) * frac);
        arrows.push(html! {
            <line key={*key} class={classes!("st", f.kind.clone(), lost.then_some("lost"))} x1={format!("{x1:.1}")} y1={format!("{y1:.1}")}
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
    let win = on.reform(|e: Event| Action::Window(input_text(&e).parse().unwrap_or(400.0)));
    let nowx = tx(now);
    let span = t1 - t0;
    let scrub = {
        let rect_w = sw - left - 6.0;
        on.reform(move |e: WheelEvent| {
            e.prevent_default();
            let dt = e.delta_y() + e.delta_x();
            let t = (now + dt / rect_w * span).max(0.0);
            Action::Seek(t as Time)
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
                <g class="st-msgs" transform={format!("translate({shift:.1},0)")}>{ arrows }</g>
                <line class="playhead" x1={format!("{nowx:.1}")} x2={format!("{nowx:.1}")} y1="0" y2={sh.to_string()} />
            </svg>
        </div>
    }
}
