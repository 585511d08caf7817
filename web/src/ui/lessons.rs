//! The scenario's lesson as a checklist: each expectation ticks or fails as the run
//! plays, with the moment that decided it (click it: the playhead goes there).
//!
//! The outcomes come from the engine (decided during the run, in every runtime); what
//! only the end decides (the history's verdict, equal end state) is filled in once the
//! run is over, with the verdict the page already computed.

use super::playground::{Msg, Playground};
use quorumlab_core::{Time, MS};
use quorumlab_sim::expect::{ExpectOutcome, ExpectStatus};
use yew::prelude::*;

/// Where each expectation stands now (empty when the scenario has none).
pub fn outcomes(p: &Playground) -> Vec<ExpectOutcome> {
    let Some(e) = p.session.engine() else {
        return Vec::new();
    };
    match &p.verdict {
        Some(v) if e.done() && p.verdict_at >= e.now() => {
            quorumlab_sim::run::expectations_at_end(e, v, &p.anomalies)
        }
        _ => e.expectations(),
    }
}

/// The checklist, or nothing when the scenario states no expectation.
pub fn checklist(p: &Playground, ctx: &Context<Playground>) -> Html {
    let xs = outcomes(p);
    if xs.is_empty() {
        return html! {};
    }
    let passed = xs
        .iter()
        .filter(|x| x.status == ExpectStatus::Passed)
        .count();
    let failed = xs
        .iter()
        .filter(|x| x.status == ExpectStatus::Failed)
        .count();
    let summary = if failed > 0 {
        format!("{passed} of {} hold, {failed} failed", xs.len())
    } else if passed == xs.len() {
        format!("all {} hold", xs.len())
    } else {
        format!("{passed} of {} hold so far", xs.len())
    };
    let items = xs.iter().enumerate().map(|(i, x)| {
        let (mark, class, word) = match x.status {
            ExpectStatus::Passed => ("✓", "good", "passed"),
            ExpectStatus::Failed => ("✗", "bad", "failed"),
            ExpectStatus::Pending => ("…", "ql-muted", "pending"),
        };
        let at = x.at_ms;
        let seek = at.map(|ms| {
            let t = (ms * MS as f64) as Time;
            ctx.link().callback(move |_: MouseEvent| Msg::Seek(t))
        });
        let title = if x.detail.is_empty() {
            x.what.clone()
        } else {
            format!("{} — {}", x.what, x.detail)
        };
        html! {
            <li class={classes!("ql-expect", class)} data-testid="expectation" data-index={i.to_string()}
                data-status={word} data-at={at.map(|a| format!("{a:.1}")).unwrap_or_default()} title={title}>
                <span class="ql-expect-mark">{ mark }</span>
                <span class="ql-expect-text">
                    { if x.says.is_empty() { x.what.clone() } else { x.says.clone() } }
                    if !x.says.is_empty() {
                        <span class="ql-muted">{ format!(" ({})", x.what) }</span>
                    }
                    if x.status != ExpectStatus::Pending {
                        <span class="ql-expect-why">
                            {
                                match (seek, at) {
                                    (Some(cb), Some(ms)) => html! {
                                        <button class="ql-linkish" data-testid="expectation-seek" onclick={cb}
                                                title="Move the playhead to this moment">{ format!("{ms:.0} ms") }</button>
                                    },
                                    _ => html! {},
                                }
                            }
                            { format!(" {}", x.detail) }
                        </span>
                    }
                </span>
            </li>
        }
    });
    html! {
        <section class="ql-lesson" data-testid="lesson" data-passed={passed.to_string()}
                 data-failed={failed.to_string()} data-total={xs.len().to_string()}>
            <h3>{ format!("What this run must show: {summary}") }</h3>
            <ul>{ for items }</ul>
        </section>
    }
}
