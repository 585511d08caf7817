//! The edit panel: nodes, the selected link (cut, latency, loss), the partition tool,
//! the protocol and its parameters (from the registry), the workload, the run's length
//! and seed, the nemesis, and the scenario's JSON.

use super::{input_text, Shared};
use crate::ui::edit::{self, WorkloadField};
use crate::ui::field::Field;
use crate::ui::state::Action;
use quorumlab_core::{NodeId, ParamKind};
use quorumlab_sim::scenario::{FaultKind, LatencySpec, NEMESIS_KINDS};
use quorumlab_sim::{registry, Scenario};
use serde_json::Value;
use std::collections::BTreeMap;
use yew::prelude::*;

#[derive(PartialEq)]
pub struct EditPanelProps {
    pub scenario: Shared<Scenario>,
    pub selected: Option<NodeId>,
    pub link_sel: Option<(NodeId, NodeId)>,
    pub groups: Shared<BTreeMap<NodeId, u8>>,
    pub draw_partition: bool,
    pub show_json: bool,
    pub on: Callback<Action>,
}

/// Every parameter of protocol `name` at its default (from the registry).
fn default_params(name: &str) -> Value {
    registry::entry(name)
        .map(|e| e.default_params())
        .unwrap_or(Value::Null)
}

pub fn edit_panel(p: &EditPanelProps) -> Html {
    let link = &p.on;
    let s: Scenario = (*p.scenario).clone();
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
        let set_base = link.reform(move |e: Event| {
            let v: f64 = input_text(&e).parse().unwrap_or(f64::NAN);
            let mut lat = cur1.as_ref().and_then(|l| l.latency.clone()).unwrap_or_else(|| s1.network.latency.clone());
            lat.base_ms = v;
            Action::Edit(edit::set_link(&s1, a, b, Some(lat), cur1.as_ref().and_then(|l| l.loss)))
        });
        let set_jit = link.reform(move |e: Event| {
            let v: f64 = input_text(&e).parse().unwrap_or(f64::NAN);
            let mut lat: LatencySpec = cur2.as_ref().and_then(|l| l.latency.clone()).unwrap_or_else(|| s2.network.latency.clone());
            lat.jitter_ms = v;
            Action::Edit(edit::set_link(&s2, a, b, Some(lat), cur2.as_ref().and_then(|l| l.loss)))
        });
        let cur3 = cur.clone();
        let set_loss = link.reform(move |e: Event| {
            let v: f64 = input_text(&e).parse().unwrap_or(f64::NAN);
            Action::Edit(edit::set_link(&s3, a, b, cur3.as_ref().and_then(|l| l.latency.clone()), Some(v)))
        });
        let s4 = s.clone();
        html! {
            <fieldset data-testid="link-editor">
                <legend>{ format!("Link {a} – {b}") }</legend>
                <div class="ql-actions">
                    <button data-testid="cut-link" onclick={{
                        let on = link.clone();
                        Callback::from(move |_: MouseEvent| {
                            on.emit(Action::Act(FaultKind::Cut { from: a, to: b }));
                            on.emit(Action::Act(FaultKind::Cut { from: b, to: a }));
                        })
                    }}>{ "Cut both ways" }</button>
                    <button onclick={link.reform(move |_| Action::Act(FaultKind::Cut { from: a, to: b }))}>{ format!("Cut {a}→{b}") }</button>
                    <button onclick={link.reform(move |_| Action::Act(FaultKind::Cut { from: b, to: a }))}>{ format!("Cut {b}→{a}") }</button>
                    <button data-testid="heal" onclick={link.reform(|_| Action::Act(FaultKind::Heal))}>{ "Heal network" }</button>
                </div>
                <label>{ "latency base (ms) " }<Field kind="number" step="0.5" min="0.1" value={base.to_string()} onchange={set_base} /></label>
                <label>{ "jitter (ms) " }<Field kind="number" step="0.5" min="0" value={jitter.to_string()} onchange={set_jit} /></label>
                <label>{ "loss (0–1) " }<Field kind="number" step="0.05" min="0" max="1" value={loss.to_string()} onchange={set_loss} /></label>
                if cur.is_some() {
                    <button onclick={link.reform(move |_| Action::Edit(edit::set_link(&s4, a, b, None, None)))}>{ "Use network defaults" }</button>
                }
                <button onclick={link.reform(|_| Action::SelectLink(None))}>{ "Close" }</button>
            </fieldset>
        }
    });
    // Partition tool.
    let part_rows = (0..n as NodeId).map(|i| {
        let g = p.groups.get(&i).copied().unwrap_or(0);
        let set = |v: u8| link.reform(move |_| Action::Group(i, v));
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
        let change = link.reform(move |e: Event| {
            let text = input_text(&e);
            Action::Edit(edit::parse_like(&like, &text).and_then(|val| edit::set_param(&sc, &name, val)))
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
        let change = link.reform(move |e: Event| {
            Action::Edit(edit::set_workload(
                &sc,
                field,
                input_text(&e).parse().unwrap_or(f64::NAN),
            ))
        });
        html! { <label><span>{ label.to_string() }</span><Field kind="number" min="0" step="any" value={val.to_string()} onchange={change} /></label> }
    };
    let (sd, ss) = (s.clone(), s.clone());
    let set_dur = link.reform(move |e: Event| {
        let mut x = sd.clone();
        match input_text(&e).trim().parse::<u64>() {
            Ok(v) => {
                x.duration_ms = v;
                Action::Edit(edit::checked(x))
            }
            Err(_) => Action::Edit(Err("duration must be a whole number of milliseconds".into())),
        }
    });
    let set_seed = link.reform(move |e: Event| {
        let mut x = ss.clone();
        match input_text(&e).trim().parse::<u64>() {
            Ok(v) => {
                x.seed = v;
                Action::Edit(edit::checked(x))
            }
            Err(_) => Action::Edit(Err("the seed must be a whole number".into())),
        }
    });
    let (sa, sr, sp) = (s.clone(), s.clone(), s.clone());
    let sel = p.selected;
    let nem_kinds = s.nemesis.as_ref().map(|nm| {
        NEMESIS_KINDS.iter().map(|k| {
            let on = nm.faults.iter().any(|x| x == k);
            let sc = s.clone();
            let k2 = k.to_string();
            html! { <label class="ql-check"><input type="checkbox" checked={on} onchange={link.reform(move |_| Action::Edit(edit::toggle_nemesis_kind(&sc, &k2)))} />{ k.to_string() }</label> }
        }).chain(std::iter::once({
            let sc = s.clone();
            let keep = nm.keep_majority;
            html! { <label class="ql-check" title="Partitions leave a majority on one side, and no crash leaves only a bare majority up"><input type="checkbox" data-testid="keep-majority" checked={keep} onchange={link.reform(move |_| Action::Edit(edit::set_keep_majority(&sc, !keep)))} />{ "keep a majority" }</label> }
        })).collect::<Html>()
    });
    let json = s.to_json_pretty();
    // The clients' data type and the others the protocol serves (a choice when more
    // than one).
    let dt = edit::data_type(&s);
    let served = registry::entry(&s.protocol.name).map_or_else(Vec::new, |e| e.data_types());
    let sdt = s.clone();
    html! {
        <section class="ql-panel ql-edit" data-testid="edit-panel">
            <fieldset>
                <legend>{ format!("Nodes ({n})") }</legend>
                <div class="ql-actions">
                    <button data-testid="add-node" onclick={link.reform(move |_| Action::Edit(edit::add_node(&sa)))}>{ "Add node" }</button>
                    <button data-testid="remove-node" disabled={sel.is_none()} onclick={link.reform(move |_| match sel {
                        Some(id) => Action::Edit(edit::remove_node(&sr, id)),
                        None => Action::Edit(Err("select a node first".into())),
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
                           onchange={link.reform(|e: Event| Action::DrawPartition(input_text(&e) == "true"))} />
                    { " draw it: drag nodes left (A) or right (B) of the line on the canvas" }
                </label>
                <div class="ql-grps">{ for part_rows }</div>
                <div class="ql-actions">
                    <button data-testid="apply-partition" onclick={link.reform(|_| Action::ApplyPartition)}>{ "Partition A | B now" }</button>
                    <button onclick={link.reform(|_| Action::Act(FaultKind::Heal))}>{ "Heal now" }</button>
                </div>
            </fieldset>
            <fieldset data-testid="params">
                <legend>{ format!("Protocol: {}", s.protocol.name) }</legend>
                <label title="Switching protocol keeps the cluster, network, faults and workload, and resets the protocol's parameters to their defaults."><span>{ "protocol" }</span>
                    <select data-testid="protocol-select" onchange={link.reform(move |e: Event| Action::Edit(edit::set_protocol(&sp, &input_text(&e))))}>
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
                    if served.len() > 1 {
                        <label title="What the clients' operations act on: each data type has its own operations, and the history is checked against its own specification"><span>{ "data type" }</span>
                            <select data-testid="data-type-select" onchange={link.reform(move |e: Event| Action::Edit(edit::set_data_type(&sdt, &input_text(&e))))}>
                                { for served.iter().map(|d| html! { <option value={d.name} selected={d.name == dt.name} title={d.summary}>{ d.name }</option> }) }
                            </select>
                        </label>
                    }
                    { for dt.ops.iter().map(|op| {
                        let weight = w.as_ref().map_or_else(
                            || quorumlab_sim::scenario::OpMix::default().weight_of(*op, &dt),
                            |w| w.mix.weight_of(*op, &dt),
                        );
                        wf(WorkloadField::Mix(*op), &format!("mix: {}", op.name()), weight)
                    }) }
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
                <label class="ql-check"><input type="checkbox" checked={p.show_json} onchange={link.reform(|e: Event| Action::ShowJson(input_text(&e) == "true"))} />{ " show and edit" }</label>
                if p.show_json {
                    <Field testid="scenario-json" rows={14} value={json} onchange={link.reform(|e: Event| {
                        let text = input_text(&e);
                        Action::Edit(quorumlab_sim::scenario::load(&text).map_err(|errs| quorumlab_sim::scenario::describe(&errs)))
                    })} />
                }
            </fieldset>
        </section>
    }
}
