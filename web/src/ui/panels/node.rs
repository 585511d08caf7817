//! The node panel: the selected node's state (role, epoch, fields, state machine,
//! peers' gauges) and the actions on it (crash, restart, pause, promote, clock).

use super::Shared;
use crate::ui::legend;
use crate::ui::session::ceil_ms;
use crate::ui::state::{Action, Frame};
use quorumlab_core::{NodeId, NodeView, MS};
use quorumlab_sim::scenario::FaultKind;
use quorumlab_sim::{registry, Scenario, Status};
use yew::prelude::*;

#[derive(PartialEq)]
pub struct NodePanelProps {
    pub selected: Option<NodeId>,
    pub scenario: Shared<Scenario>,
    pub frame: Option<Shared<Frame>>,
    /// The selected node's view as its Web Worker reported it (see
    /// [`State::worker_view`](crate::ui::state::State::worker_view)).
    pub worker: Option<Shared<NodeView>>,
    pub on: Callback<Action>,
}

pub fn node_panel(p: &NodePanelProps) -> Html {
    let Some(id) = p.selected else {
        return html! {
            <section class="ql-panel" data-testid="node-panel">
                <p class="ql-muted">{ "Click a node to see its state and to crash, pause or restart it. Drag nodes to move them." }</p>
                { scenario_info(&p.scenario) }
            </section>
        };
    };
    let f = p.frame.as_deref();
    let status = f
        .and_then(|f| f.status.get(id as usize).copied())
        .unwrap_or(Status::Up);
    let source = if p.worker.is_some() { "worker" } else { "page" };
    let view: Option<&NodeView> = match &p.worker {
        Some(w) => Some(&**w),
        None => f.and_then(|f| f.view(id as usize)),
    };
    let act = |k: FaultKind| p.on.reform(move |_| Action::Act(k.clone()));
    let skew = f
        .and_then(|f| f.offsets.get(id as usize).copied())
        .unwrap_or(0);
    let at = ceil_ms(f.map_or(0, |f| f.now)) / MS;
    let drawn = legend::drawn(status, view);
    // Offered where a protocol has a leader to choose (those that elect it refuse).
    let proto = &p.scenario.protocol.name;
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
                    Some(v) => view_details(v, skew),
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
                    <dl class="ql-kv">{ for kv.iter().map(|(k, val)| html! { <><dt>{ k.clone() }</dt><dd>{ val.to_string() }</dd></> }) }</dl>
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

fn scenario_info(s: &Scenario) -> Html {
    html! {
        <div class="ql-info">
            <h3>{ s.name.clone() }</h3>
            if !s.description.is_empty() { <p>{ s.description.clone() }</p> }
            if !s.watch.is_empty() { <p><strong>{ "Watch: " }</strong>{ s.watch.clone() }</p> }
            <p class="ql-muted">{ "Keys: space play/pause · n or → step · Ctrl+Z undo · Ctrl+Shift+Z redo" }</p>
        </div>
    }
}
