//! The client console (send a read, write or cas to a node; the fate of each), the
//! history's last events, and the verdict: linearizability, the invariants and the
//! run's anomalies (each one click from its moment).

use super::{input_text, ms, Shared};
use crate::ui::console::Row;
use crate::ui::field::Field;
use crate::ui::state::{Action, ConsoleForm, ConsoleOp};
use quorumlab_core::{Time, MS};
use quorumlab_sim::anomaly::Anomalies;
use quorumlab_sim::run::Check;
use quorumlab_sim::Found;
use yew::prelude::*;

/// The verdict's props. Not compared (they are part of the console's and the CAP
/// panel's, which change with every moment of the run anyway): see `ConsoleProps`.
pub struct VerdictProps {
    pub verdict: Option<Check>,
    /// The moment of the history the verdict is about.
    pub verdict_at: Time,
    pub end: Time,
    /// An answer is awaited.
    pub asked: bool,
    pub violation: Option<Found>,
    pub anomalies: Shared<Anomalies>,
    pub anomaly_sel: Option<usize>,
    /// The operations of the selected anomaly (history events as JSON).
    pub ops: Vec<String>,
    pub on: Callback<Action>,
}

pub struct ConsoleProps {
    pub n: usize,
    /// The operations the run's data type has: the console offers these.
    pub ops: &'static [ConsoleOp],
    pub form: ConsoleForm,
    pub rows: Vec<Row>,
    /// The history's last 30 events (JSON lines) and how many there are.
    pub history: Vec<String>,
    pub total: usize,
    pub verdict: VerdictProps,
    pub on: Callback<Action>,
}

pub fn console_panel(p: &ConsoleProps) -> Html {
    let link = &p.on;
    let n = p.n;
    let f = p.form.clone();
    let upd = |g: fn(&mut ConsoleForm, String)| {
        let f = f.clone();
        link.reform(move |e: Event| {
            let mut f = f.clone();
            g(&mut f, input_text(&e));
            Action::Console(f)
        })
    };
    let rows = &p.rows;
    let hist = &p.history;
    let total = p.total;
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
                    <select data-testid="console-op" onchange={upd(|f, v| f.op = ConsoleOp::from_name(&v).unwrap_or(f.op))}>
                        { for p.ops.iter().map(|o| html! { <option value={o.name()} selected={f.op == *o}>{ o.name() }</option> }) }
                    </select>
                </label>
                <label>{ "key " }<Field testid="console-key" value={f.key.clone()} onchange={upd(|f, v| f.key = v)} size="5" /></label>
                if f.op == ConsoleOp::Cas {
                    <label>{ "expect " }<Field testid="console-expect" value={f.expect.clone()} onchange={upd(|f, v| f.expect = v)} size="4" /></label>
                }
                if matches!(f.op, ConsoleOp::Write | ConsoleOp::Cas | ConsoleOp::Append) {
                    <label>{ "value " }<Field testid="console-value" value={f.value.clone()} onchange={upd(|f, v| f.value = v)} size="4" /></label>
                }
                <button data-testid="console-send" onclick={link.reform(|_| Action::ConsoleSend)}>{ "Send" }</button>
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
            { verdict_view(&p.verdict) }
            <h3>{ format!("History ({total} events; last 30)") }</h3>
            <pre class="ql-history" data-testid="history">{ hist.join("\n") }</pre>
        </section>
    }
}

pub fn verdict_view(p: &VerdictProps) -> Html {
    let inv = p.violation.clone();
    let partial = p.verdict.is_some() && p.verdict_at < p.end;
    html! {
        <div class="ql-verdict" data-testid="verdict" data-at={p.verdict_at.to_string()}>
            <button data-testid="check-now" onclick={p.on.reform(|_| Action::CheckNow)}
                    title="Check the history so far; operations still pending may have taken effect">{ "Check history now" }</button>
            if partial {
                <p class="ql-muted">{ format!("History up to {}:", ms(p.verdict_at)) }</p>
            }
            if let Some(v) = inv {
                <p class="bad">{ format!("Invariant violated at {}: {} — {}", ms(v.time), v.invariant, v.detail) }</p>
            }
            {
                match &p.verdict {
                    None if p.asked => html! { <p class="ql-muted" data-verdict="checking">{ "Checking the history…" }</p> },
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
            if p.verdict.is_some() { { anomalies_view(p) } }
        </div>
    }
}

/// The run's anomalies: a line of counts, then each one with its moment (click: the
/// playhead goes there) and what it involved.
fn anomalies_view(p: &VerdictProps) -> Html {
    let a: &Anomalies = &p.anomalies;
    let items = a.list.iter().enumerate().map(|(i, x)| {
        let t = (x.at_ms * MS as f64) as Time;
        let when = match x.until_ms {
            Some(u) => format!("{:.0}–{u:.0} ms", x.at_ms),
            None => format!("{:.0} ms", x.at_ms),
        };
        let open = p.anomaly_sel == Some(i);
        // The operations involved, from the history (their completion events).
        let ops: &[String] = if open { &p.ops } else { &[] };
        html! {
            <li data-testid="anomaly" data-kind={x.kind.name()} data-at={t.to_string()} class={classes!(open.then_some("on"))}>
                <button class="ql-linkish" data-testid="anomaly-seek" onclick={p.on.reform(move |_| Action::ShowAnomaly(i, t))}
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
        Value::Siblings { siblings } => crate::ui::console::siblings_text(siblings),
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

/// The console shows the history as it grows: always drawn again (comparing its props
/// would cost the bundle more than drawing saves).
impl PartialEq for ConsoleProps {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}
