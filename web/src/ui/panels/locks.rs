//! The lock timeline of a lock service's run: one lane per client with its requests,
//! the spells it believed it held the lock (with its fencing token) and, for a
//! service with a time to live, where the lease really ran out; the storage's lane
//! with every write it took, refused or took from an older holder; the spells of two
//! holders at once shaded across the lanes, and listed below with the assumption that
//! failed, each one click from its moment.

use super::Shared;
use crate::ui::state::Action;
use quorumlab_core::lock::token_text;
use quorumlab_core::{Time, MS};
use quorumlab_sim::locks::LockReport;
use yew::prelude::*;

#[derive(PartialEq)]
pub struct LocksProps {
    /// `None`: the run's clients take no locks (or it has not started).
    pub report: Option<Shared<LockReport>>,
    pub now: Time,
    pub end: Time,
    pub on: Callback<Action>,
}

/// Width of the drawing in its own units (the SVG scales to the panel).
const W: f64 = 380.0;
/// The lanes' names take this much on the left.
const LEFT: f64 = 52.0;
const LANE: f64 = 30.0;

fn token(t: Option<i64>) -> String {
    t.map_or("no token".to_string(), |t| {
        format!("t{}", token_text(t as u64))
    })
}

fn at_ms(t: Time) -> String {
    format!("{:.1} ms", t as f64 / MS as f64)
}

pub fn locks_panel(p: &LocksProps) -> Html {
    let Some(r) = &p.report else {
        return html! {
            <section class="ql-panel" data-testid="locks">
                <h2>{ "Locks" }</h2>
                <p class="ql-muted">{ "This run's clients take no locks: the lock timeline is for the lock service (protocol lock)." }</p>
            </section>
        };
    };
    let span = p.end.max(1) as f64;
    let x = |t: Time| LEFT + (t.min(p.end) as f64 / span) * (W - LEFT);
    let lanes = r.lanes.len();
    let storage_y = lanes as f64 * LANE + 4.0;
    let height = storage_y + LANE + 14.0;
    let on = &p.on;
    let seek = |t: Time| on.reform(move |_| Action::Seek(t));
    let shades = r.spells.iter().map(|s| {
        html! {
            <rect class="ql-lock-spell" x={x(s.from).to_string()} y="0" width={(x(s.to) - x(s.from)).max(1.5).to_string()}
                height={(storage_y - 2.0).to_string()} onclick={seek(s.from)}>
                <title>{ format!("{} – {}: clients {} and {} both believe they hold the lock", at_ms(s.from), at_ms(s.to), s.earlier, s.later) }</title>
            </rect>
        }
    });
    let lane_rows = r.lanes.iter().enumerate().map(|(i, l)| {
        let y = i as f64 * LANE;
        let asks = l.asks.iter().map(|(a, b)| {
            let end = b.unwrap_or(p.now);
            html! { <line class="ql-lock-ask" x1={x(*a).to_string()} x2={x(end).max(x(*a) + 1.0).to_string()} y1={(y + 13.0).to_string()} y2={(y + 13.0).to_string()} /> }
        });
        let holds = l.holds.iter().map(|h| {
            let to = h.to.unwrap_or(p.now);
            let (x0, x1) = (x(h.from), x(to).max(x(h.from) + 1.5));
            let lease = h.lease_until.map(|u| {
                // Past its lease: the client still believes, the servers no longer do.
                let over = (u < to).then(|| html! {
                    <rect class="ql-lock-over" x={x(u).to_string()} y={(y + 18.0).to_string()} width={(x1 - x(u)).max(1.0).to_string()} height="4">
                        <title>{ format!("client {} believed it held the lock {} past its lease", l.client, at_ms(to - u)) }</title>
                    </rect>
                });
                html! {
                    <>
                        <rect class="ql-lock-lease" x={x0.to_string()} y={(y + 18.0).to_string()} width={(x(u.min(to)) - x0).max(1.0).to_string()} height="4">
                            <title>{ format!("lease until {}", at_ms(u)) }</title>
                        </rect>
                        { for over }
                    </>
                }
            });
            html! {
                <g>
                    <rect class="ql-lock-hold" data-token={token(h.token)} x={x0.to_string()} y={(y + 4.0).to_string()} width={(x1 - x0).to_string()} height="13">
                        <title>{ format!("client {} holds the lock with {} from {} to {}", l.client, token(h.token), at_ms(h.from), h.to.map_or("now".into(), at_ms)) }</title>
                    </rect>
                    if x1 - x0 > 28.0 {
                        <text class="ql-lock-token" x={(x0 + 3.0).to_string()} y={(y + 14.0).to_string()}>{ token(h.token) }</text>
                    }
                    { for lease }
                </g>
            }
        });
        html! {
            <g data-testid="lock-lane" data-client={l.client.to_string()}>
                <text class="ql-lock-name" x="2" y={(y + 15.0).to_string()}>{ format!("client {}", l.client) }</text>
                { for asks }
                { for holds }
            </g>
        }
    });
    let writes = r.writes.iter().map(|w| {
        let class = if w.corrupted {
            "ql-lock-write corrupted"
        } else if w.accepted {
            "ql-lock-write accepted"
        } else {
            "ql-lock-write refused"
        };
        let what = if w.corrupted {
            "took (corrupted: an older holder's write)"
        } else if w.accepted {
            "took"
        } else {
            "refused"
        };
        html! {
            <rect class={class} x={(x(w.at) - 1.0).to_string()} y={(storage_y + 3.0).to_string()} width="2.5" height="16" onclick={seek(w.at)}>
                <title>{ format!("{}: the storage {what} client {}'s write with {}", at_ms(w.at), w.from, token(Some(w.token as i64))) }</title>
            </rect>
        }
    });
    let refused = r.writes.iter().filter(|w| !w.accepted).count();
    let holds: usize = r.lanes.iter().map(|l| l.holds.len()).sum();
    let list = r.spells.iter().enumerate().map(|(i, s)| {
        html! {
            <li data-testid="lock-spell" data-kind={s.kind.clone()}>
                <button class="ql-link" onclick={seek(s.from)} title="Jump to this moment">
                    { format!("{}–{}", at_ms(s.from), at_ms(s.to)) }
                </button>
                { format!(" #{}: clients {} ({}) and {} ({}) both hold the lock. ", i + 1, s.earlier, token(s.tokens.0), s.later, token(s.tokens.1)) }
                <span class={classes!("ql-cause", s.kind.clone())}>{ format!("{}: ", s.kind) }</span>
                { s.cause.clone() }
            </li>
        }
    });
    html! {
        <section class="ql-panel ql-locks" data-testid="locks">
            <h2>{ "Locks" }</h2>
            <p data-testid="lock-summary">{ format!(
                "{holds} holds by {} clients; {} spells of two holders; the storage took {} writes, refused {refused}, {} of them from an older holder (corrupted).",
                r.lanes.len(), r.spells.len(), r.writes.len() - refused, r.corrupted
            ) }</p>
            <svg class="ql-lock-timeline" data-testid="lock-timeline" viewBox={format!("0 0 {W} {height}")} preserveAspectRatio="none">
                { for shades }
                { for lane_rows }
                <g data-testid="lock-storage">
                    <text class="ql-lock-name" x="2" y={(storage_y + 15.0).to_string()}>{ r.storage.map_or("storage".to_string(), |s| format!("storage {s}")) }</text>
                    { for writes }
                </g>
                <line class="ql-lock-now" x1={x(p.now).to_string()} x2={x(p.now).to_string()} y1="0" y2={(storage_y + LANE).to_string()} />
            </svg>
            <p class="ql-legend">
                <span class="ql-key hold">{ "holds (token)" }</span>
                <span class="ql-key lease">{ "lease" }</span>
                <span class="ql-key over">{ "believed past its lease" }</span>
                <span class="ql-key ask">{ "asking" }</span>
                <span class="ql-key accepted">{ "write taken" }</span>
                <span class="ql-key refused">{ "refused" }</span>
                <span class="ql-key corrupted">{ "corrupted" }</span>
                <span class="ql-key spell">{ "two holders" }</span>
            </p>
            if r.spells.is_empty() {
                <p data-testid="lock-spells-none">{ "No two clients believed they held the lock at once so far." }</p>
            } else {
                <ol class="ql-lock-spells" data-testid="lock-spells">{ for list }</ol>
            }
        </section>
    }
}
