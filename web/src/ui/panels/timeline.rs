//! The timeline: the run's length with the scenario's faults as marks (drag one to move
//! it, click one to select it), the nemesis's span, the checkpoints, the moments that
//! mattered (elections, snapshots, membership changes, stalls, the violation,
//! expectations decided, anomalies: click one to go there and select its nodes), and
//! the playhead (click or drag to scrub).

use super::Shared;
use crate::ui::browser;
use crate::ui::edit;
use crate::ui::layout;
use crate::ui::state::{Action, FaultDrag};
use quorumlab_core::{Time, MS};
use quorumlab_sim::anomaly::Anomalies;
use quorumlab_sim::marks::Mark;
use quorumlab_sim::Scenario;
use std::rc::Rc;
use yew::prelude::*;

#[derive(PartialEq)]
pub struct TimelineProps {
    pub scenario: Shared<Scenario>,
    pub now: Time,
    pub fault_drag: Option<FaultDrag>,
    pub fault_sel: Option<usize>,
    /// Times of the session's checkpoints (scrubbing back replays from the nearest).
    pub checkpoints: Vec<Time>,
    /// The run's moments so far (`quorumlab_sim::marks`).
    pub moments: Vec<Mark>,
    /// The anomalies found with the last verdict (marks too).
    pub anomalies: Rc<Anomalies>,
    pub on: Callback<Action>,
}

/// Where clicking a moment goes.
#[derive(Clone, Copy)]
enum Go {
    Seek,
    Select(quorumlab_core::NodeId),
    Anomaly(usize),
}

/// `timeline_ref`: the SVG element (pointer positions are read against it).
pub fn timeline(p: &TimelineProps, timeline_ref: &NodeRef) -> Html {
    let on = &p.on;
    let s: &Scenario = &p.scenario;
    let d = s.duration_ms.max(1) as f64;
    let now = p.now as f64 / MS as f64;
    let x = |ms: f64| (ms / d * 1000.0).clamp(0.0, 1000.0);
    let marks = s.faults.iter().enumerate().map(|(i, f)| {
        let at = match &p.fault_drag {
            Some(dr) if dr.index == i && dr.moved => dr.at_ms,
            _ => f.at_ms,
        };
        let sel = p.fault_sel == Some(i);
        let down = on.reform(move |e: PointerEvent| {
            e.stop_propagation();
            Action::FaultDown(i, e.client_x() as f64)
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
    // A moment: a small button above the track (expectations decided: below it, so
    // that one decided by an election does not cover it); clicking it seeks there and
    // selects the first node involved (an anomaly: shows its operations too).
    let moment = |kind: &'static str, at: Time, text: String, go: Go| {
        let ms = at as f64 / MS as f64;
        let click = on.reform(move |e: PointerEvent| {
            e.stop_propagation();
            match go {
                Go::Seek => Action::Seek(at),
                Go::Select(n) => Action::SeekSelect(at, n),
                Go::Anomaly(i) => Action::ShowAnomaly(i, at),
            }
        });
        html! {
            <g class={format!("moment {kind}")} data-testid="timeline-mark" data-kind={kind}
               data-at={format!("{ms:.1}")} transform={format!("translate({:.1},0)", x(ms))}
               onpointerdown={click}>
                <title>{ text }</title>
                <circle cx="0" cy={if matches!(kind, "passed" | "failed") { "41" } else { "3" }} r="3" />
            </g>
        }
    };
    let moments = p.moments.iter().map(|m| {
        let go = m.nodes.first().map_or(Go::Seek, |&n| Go::Select(n));
        moment(m.kind.name(), m.at, m.text.clone(), go)
    });
    let anomalies = p.anomalies.list.iter().enumerate().map(|(i, a)| {
        let at = (a.at_ms * MS as f64) as Time;
        moment("anomaly", at, a.detail.clone(), Go::Anomaly(i))
    });
    let cps = p.checkpoints.iter().map(|&t| {
        html! { <line class="cp" x1={x(t as f64 / MS as f64).to_string()} x2={x(t as f64 / MS as f64).to_string()} y1="38" y2="42" /> }
    });
    let at = {
        let r = timeline_ref.clone();
        let dur = s.duration_ms;
        move |x: f64| browser::rect_of(&r).map_or(0, |rect| layout::client_to_ms(x, rect, dur))
    };
    let down = {
        let at = at.clone();
        on.reform(move |e: PointerEvent| Action::TimelineDown(at(e.client_x() as f64)))
    };
    let mv = on.reform(move |e: PointerEvent| {
        let x = e.client_x() as f64;
        Action::TimelineMove(x, at(x))
    });
    let up = on.reform(|_: PointerEvent| Action::TimelineUp);
    let leave = on.reform(|_: PointerEvent| Action::TimelineUp);
    // Keyboard: arrows move the playhead by a fiftieth of the run, Home and End jump.
    let seek_key = {
        let on = on.clone();
        Callback::from(move |e: KeyboardEvent| {
            let to = match e.key().as_str() {
                "ArrowLeft" | "ArrowDown" => now - d / 50.0,
                "ArrowRight" | "ArrowUp" => now + d / 50.0,
                "Home" => 0.0,
                "End" => d,
                _ => return,
            };
            e.prevent_default();
            e.stop_propagation();
            on.emit(Action::Seek((to.clamp(0.0, d) * MS as f64) as Time));
        })
    };
    let nem_on = s.nemesis.is_some();
    let sc = s.clone();
    let toggle = on.reform(move |_| Action::Edit(edit::set_nemesis(&sc, !nem_on)));
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
            <svg ref={timeline_ref.clone()} viewBox="0 0 1000 44" preserveAspectRatio="none"
                 tabindex="0" role="slider" aria-label="Simulated time" aria-valuemin="0"
                 aria-valuemax={format!("{d:.0}")} aria-valuenow={format!("{now:.0}")} onkeydown={seek_key}
                 onpointerdown={down} onpointermove={mv} onpointerup={up} onpointerleave={leave}>
                <rect class="track" x="0" y="18" width="1000" height="4" />
                { for nemesis }
                { for cps }
                { for marks }
                { for moments }
                { for anomalies }
                <line class="playhead" data-testid="playhead" x1={x(now).to_string()} x2={x(now).to_string()} y1="0" y2="44" />
            </svg>
            if let Some((i, f)) = sel {
                <div class="ql-row ql-fault-sel">
                    <span>{ format!("#{i} at {} ms: {}", f.at_ms, edit::describe_fault(&f.kind)) }</span>
                    <button data-testid="delete-fault" onclick={
                        let sc = s.clone();
                        let on = on.clone();
                        Callback::from(move |_: MouseEvent| {
                            on.emit(Action::FaultSelect(None));
                            on.emit(Action::Edit(edit::delete_fault(&sc, i)));
                        })
                    }>{ "Delete" }</button>
                    <button onclick={on.reform(|_| Action::FaultSelect(None))}>{ "Close" }</button>
                </div>
            }
        </div>
    }
}
