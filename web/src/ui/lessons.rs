//! The scenario's lesson as a checklist: each expectation ticks or fails as the run
//! plays, with the moment that decided it (click it: the playhead goes there).
//!
//! The outcomes come from the engine (decided during the run, in every runtime); what
//! only the end decides (the history's verdict, equal end state) is filled in once the
//! run is over, with the verdict the page already computed.

use super::panels::Shared;
use super::state::Action;
use quorumlab_core::{Time, MS};
use quorumlab_sim::expect::{ExpectOutcome, ExpectStatus};
use quorumlab_sim::Scenario;
use yew::prelude::*;

#[derive(PartialEq)]
pub struct LessonProps {
    /// Where each expectation stands ([`State::outcomes`](super::state::State::outcomes)).
    pub outcomes: Vec<ExpectOutcome>,
    pub scenario: Shared<Scenario>,
    pub attempts: u32,
    /// The run is over.
    pub over: bool,
    pub on: Callback<Action>,
}

/// The checklist, or nothing when the scenario states no expectation.
pub fn checklist(p: &LessonProps) -> Html {
    let xs = &p.outcomes;
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
            p.on.reform(move |_: MouseEvent| Action::Seek(t))
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
            { challenge(p, xs) }
            <h3>{ format!("What this run must show: {summary}") }</h3>
            <ul>{ for items }</ul>
        </section>
    }
}

/// A challenge's goal, its rules, the attempts so far and where this attempt stands.
fn challenge(p: &LessonProps, xs: &[ExpectOutcome]) -> Html {
    use quorumlab_sim::challenge::{state, State};
    let s: &Scenario = &p.scenario;
    let Some(c) = &s.challenge else {
        return html! {};
    };
    let over = p.over;
    let (word, text, class) = match state(s, p.attempts, xs) {
        State::Solved => ("solved", "Solved ✓".to_string(), "good"),
        State::NotAllowed(why) => (
            "not-allowed",
            format!("This attempt breaks the rules: {why}."),
            "bad",
        ),
        State::Running if over => (
            "running",
            "Checking the end of the run…".to_string(),
            "ql-muted",
        ),
        State::Running => (
            "running",
            "Run it to the end to see whether it meets the goal.".to_string(),
            "ql-muted",
        ),
        State::NotYet {
            impossible: Some(why),
        } => (
            "impossible",
            format!("Not solved, and no attempt can be: {why}"),
            "bad",
        ),
        State::NotYet { impossible: None } => (
            "not-yet",
            "Not solved yet: change what you may and run again.".to_string(),
            "bad",
        ),
    };
    let limit = c
        .max_faults
        .map(|k| format!("; at most {k} timed actions"))
        .unwrap_or_default();
    let disks = if c.keep_disks {
        "; restarts keep their disk"
    } else {
        ""
    };
    html! {
        <div class="ql-challenge" data-testid="challenge" data-state={word} data-attempts={p.attempts.to_string()}>
            <h3>{ format!("Challenge: {}", c.goal) }</h3>
            <p class="ql-muted">{ format!("You may change: {}{limit}{disks}. Attempts so far: {}.", c.allow.join(", "), p.attempts) }</p>
            <p class={class} data-testid="challenge-state">{ text }</p>
        </div>
    }
}
