//! The log grid on the page (issue 21): draws what [`super::log_grid`] computes, only
//! the columns in view. Its own state is how it scrolls (follow the newest entries, or
//! an index pinned at the left edge) and the [`Tracker`] of replaced entries.

use super::browser;
use super::field::Field;
use super::log_grid::{self as lg, Follow, GridInput, Row, RowStatus, Source, Tracker, CELL_W};
use super::panels::Pane;
use super::state::Action;
use std::cell::Cell;
use std::rc::Rc;
use web_sys::{Element, HtmlInputElement};
use yew::html::Scope;
use yew::prelude::*;

thread_local! {
    /// (milliseconds spent in all, of which on the input, frames, since) for [`spent`].
    static SPENT: Cell<(f64, f64, u32, f64)> = const { Cell::new((0.0, 0.0, 0, 0.0)) };
}

/// Count `ms` spent on the grid this frame (`input`: on its input, the run's
/// [`Frame`](super::state::Frame) with the nodes' views, which starts a frame); about
/// once a second, publish the means per frame as `window.__quorumlab_grid_ms` and
/// `__quorumlab_grid_input_ms` (for the browser tests' measurements).
pub fn spent(ms: f64, input: bool) {
    SPENT.with(|c| {
        let (total, inp, frames, since) = c.get();
        let (total, inp, frames) = if input {
            (total + ms, inp + ms, frames + 1)
        } else {
            (total + ms, inp, frames)
        };
        let now = browser::now_ms();
        if now - since >= 1000.0 && frames > 0 {
            browser::set_global("__quorumlab_grid_ms", total / frames as f64);
            browser::set_global("__quorumlab_grid_input_ms", inp / frames as f64);
            c.set((0.0, 0.0, 0, now));
        } else {
            c.set((total, inp, frames, since));
        }
    });
}

#[derive(Clone)]
pub struct Props {
    pub input: Rc<GridInput>,
    /// Told what the grid follows and how wide it is (the page then describes the log
    /// entries in view: see [`lg::window`]).
    pub on: Callback<Action>,
}

impl PartialEq for Props {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.input, &other.input) && self.on == other.on
    }
}

pub enum GMsg {
    /// The user scrolled the grid.
    Scrolled,
    /// The grid's width changed (pixels).
    Width(f64),
    FollowNewest,
    /// Pin the index now at the left edge.
    PinHere,
    /// Pin the index typed.
    Pin(String),
}

pub struct LogGrid {
    follow: Follow,
    scroller: NodeRef,
    viewport_px: f64,
    tracker: Tracker,
    /// The span and scroll position of the last render.
    drawn: Cell<(Option<(u64, u64)>, f64)>,
    /// Where the grid last scrolled itself to, as the browser placed it (clamped to
    /// the content laid out then): a scroll event at that position is the grid's own,
    /// not the user's, even if the content has grown since (a clean-run browser test
    /// saw the grid pin itself when such an event arrived after the log grew).
    own_scroll: Cell<Option<i32>>,
    /// What the page was last told the grid shows.
    told: Option<(Follow, f64)>,
}

/// What fits in a snapshot block `w` pixels wide (the title says it all).
fn block_label(snapshot: u64, w: f64) -> String {
    let full = format!("snapshot ≤ {snapshot}");
    let short = format!("≤{snapshot}");
    // About 6.5 px per character at the grid's font size, plus the padding.
    let fits = |t: &str| (t.chars().count() as f64) * 6.5 + 8.0 <= w;
    if fits(&full) {
        full
    } else if fits(&short) {
        short
    } else {
        "≤".to_string()
    }
}

fn row_class(r: &Row) -> Classes {
    classes!(
        "ql-grid-row",
        r.status.name(),
        (r.source == Source::Disk).then_some("disk"),
        r.is_leader.then_some("leader")
    )
}

fn label_class(r: &Row) -> Classes {
    classes!(
        "ql-grid-label",
        r.status.name(),
        super::legend::kind_class(r.kind)
    )
}

/// The grid is drawn by a [`Pane`] (one component type for every panel: see
/// [`super::panels`]); this is its state there, with the component's methods.
impl LogGrid {
    pub fn new(props: &Props) -> Self {
        let mut tracker = Tracker::default();
        tracker.observe(&props.input);
        LogGrid {
            follow: Follow::Newest,
            scroller: NodeRef::default(),
            viewport_px: 640.0,
            tracker,
            drawn: Cell::new((None, 0.0)),
            own_scroll: Cell::new(None),
            told: None,
        }
    }

    /// New props (a new moment of the run).
    pub fn changed(&mut self, props: &Props) {
        let t0 = browser::now_ms();
        self.tracker.observe(&props.input);
        spent(browser::now_ms() - t0, false);
    }

    pub fn update(&mut self, msg: GMsg) -> bool {
        let (span, _) = self.drawn.get();
        match msg {
            GMsg::Scrolled => {
                let (Some((lo, hi)), Some(el)) = (span, self.scroller.cast::<Element>()) else {
                    return false;
                };
                if self
                    .own_scroll
                    .get()
                    .is_some_and(|s| (s - el.scroll_left()).abs() <= 1)
                {
                    return false;
                }
                self.own_scroll.set(None);
                // At the right end as the browser lays it out is "newest", whatever the
                // model's width: a scroll event can arrive after the log grew and before
                // the content did, with the position clamped by the browser (a clean-run
                // browser test once saw the grid pin itself that way).
                let dom_max = f64::from(el.scroll_width() - el.client_width()).max(0.0);
                let scroll = f64::from(el.scroll_left());
                let f = if scroll >= dom_max - lg::CELL_W / 2.0 {
                    Follow::Newest
                } else {
                    lg::follow_after_scroll(lo, hi, scroll, self.viewport_px)
                };
                if f == self.follow {
                    return false;
                }
                self.follow = f;
            }
            GMsg::Width(w) => {
                if (w - self.viewport_px).abs() < 1.0 {
                    return false;
                }
                self.viewport_px = w;
            }
            GMsg::FollowNewest => self.follow = Follow::Newest,
            GMsg::PinHere => {
                let (Some((lo, _)), at) = self.drawn.get() else {
                    return false;
                };
                self.follow = Follow::From(lo + (at / CELL_W).round() as u64);
            }
            GMsg::Pin(text) => match text.trim().parse::<u64>() {
                Ok(i) => self.follow = Follow::From(i),
                Err(_) if text.trim().is_empty() => self.follow = Follow::Newest,
                Err(_) => return false,
            },
        }
        true
    }

    pub fn rendered(&mut self, props: &Props, link: &Scope<Pane>) {
        let Some(el) = self.scroller.cast::<Element>() else {
            return;
        };
        let (_, target) = self.drawn.get();
        if (el.scroll_left() as f64 - target).abs() >= 1.0 {
            el.set_scroll_left(target.round() as i32);
            self.own_scroll.set(Some(el.scroll_left()));
        }
        let w = el.client_width() as f64;
        if w > 0.0 && (w - self.viewport_px).abs() >= 1.0 {
            link.send_message(GMsg::Width(w));
        }
        let view = (self.follow, self.viewport_px);
        if self.told != Some(view) {
            self.told = Some(view);
            props.on.emit(Action::GridView(view.0, view.1));
        }
    }

    pub fn view(&self, props: &Props, link: &Scope<Pane>) -> Html {
        let t0 = browser::now_ms();
        let html = self.draw(props, link);
        spent(browser::now_ms() - t0, false);
        html
    }

    fn draw(&self, props: &Props, link: &Scope<Pane>) -> Html {
        let input = &props.input;
        let recent = self.tracker.recent();
        let span = lg::span_with(&input.rows, recent);
        let (lo, hi) = span.unwrap_or((1, 0));
        let target = match span {
            Some(_) => lg::scroll_target(lo, hi, self.follow, self.viewport_px),
            None => 0.0,
        };
        self.drawn.set((span, target));
        let cols = lg::visible(lo, hi, target, self.viewport_px);
        let g = lg::grid(input, cols, recent);
        let x = |i: u64| (i.saturating_sub(lo)) as f64 * CELL_W;
        let (first, last) = g.columns;
        let dense = g.rows.len() > 12;
        let total_conflicts: usize = g.rows.iter().map(|r| r.conflicts).sum();
        let pinned = match self.follow {
            Follow::Newest => None,
            Follow::From(i) => Some(i),
        };
        let axis_step = if hi >= 10_000 {
            10
        } else if hi >= 100 {
            5
        } else {
            1
        };
        let axis = g
            .columns()
            .filter(|i| i % axis_step == 0 || *i == first)
            .map(|i| {
                html! { <span key={i} style={format!("left:{}px", x(i))}>{ i }</span> }
            });
        let labels = g.rows.iter().map(|r| {
            let mut text = format!("n{}", r.node);
            let role = match r.status {
                RowStatus::Up => r.role.clone(),
                st => st.name().to_string(),
            };
            text.push(' ');
            text.push_str(&role);
            if r.has_view && !r.epoch.is_empty() {
                text.push_str(&format!(" {}{}", super::legend::epoch_prefix(&r.epoch), r.term));
            }
            html! {
                <div class={label_class(r)} title={r.title.clone()}>
                    { text }
                    if r.source == Source::Disk { <span class="disk" title="what its disk holds">{ " ⛁" }</span> }
                </div>
            }
        });
        let rows = g.rows.iter().map(|r| {
            let node = r.node;
            let block = r.block.as_ref().map(|b| {
                let w = (b.to + 1 - b.from) as f64 * CELL_W;
                html! {
                    <div class="blk" data-snapshot={b.snapshot.to_string()}
                         style={format!("left:{}px;width:{}px", x(b.from), w)}
                         title={format!("node {node}: snapshot: every entry up to index {} compacted into one block", b.snapshot)}>
                        { block_label(b.snapshot, w) }
                    </div>
                }
            });
            let cells = r.cells.iter().map(|c| {
                let class = classes!(
                    "c",
                    if c.term == 0 { "hole".to_string() } else { format!("t{}", c.term % 8) },
                    c.committed.then_some("committed"),
                    format!("m-{}", c.mark.name()),
                    c.conflicting.then_some("conflicting"),
                    c.struck.then_some("struck"),
                    c.replaced.is_some().then_some("replaced")
                );
                // Keyed by index: as the newest entries come in, the cells already
                // drawn keep their elements and attributes (no DOM writes for them).
                html! {
                    <div key={c.index} class={class} style={format!("left:{}px", x(c.index))}
                         data-index={c.index.to_string()} data-term={c.term.to_string()}
                         data-committed={c.committed.to_string()} data-applied={c.applied.to_string()} data-mark={c.mark.name()}
                         data-conflicting={c.conflicting.to_string()} data-struck={c.struck.to_string()}
                         data-replaced={c.replaced.map(|r| r.old_term.to_string())}
                         title={lg::cell_title(node, &r.epoch, c)}>
                        { if c.term == 0 { "·".to_string() } else { c.term.to_string() } }
                    </div>
                }
            });
            let ghosts = r.ghosts.iter().map(|gh| {
                html! {
                    <div class="c ghost struck" style={format!("left:{}px", x(gh.index))}
                         data-index={gh.index.to_string()} data-term={gh.old_term.to_string()} data-replaced={gh.old_term.to_string()}
                         data-committed="false" data-conflicting="false"
                         title={format!("node {node} · index {} · term {} `{}`: truncated by the leader", gh.index, gh.old_term, gh.old_what)}>
                        { gh.old_term }
                    </div>
                }
            });
            // Marks sit on the right edge of their index's column (next: on its left edge).
            let in_view = |i: u64| i + 1 >= first && i <= last && r.has_view;
            let mark = |i: u64, class: &'static str, title: String, left_edge: bool| {
                let px = x(i) + if left_edge { 0.0 } else { CELL_W };
                html! { <i class={classes!("mk", class)} style={format!("left:{px}px")} title={title}></i> }
            };
            let mut marks = Vec::new();
            if in_view(r.commit) && r.commit > 0 {
                marks.push(mark(r.commit, "commit", format!("node {node}: {} up to {}", r.commit_label, r.commit), false));
            }
            if in_view(r.applied) && r.applied > 0 {
                marks.push(mark(r.applied, "applied", format!("node {node}: applied up to {}", r.applied), false));
            }
            if let Some((m, n)) = r.progress {
                if in_view(m) && m > 0 {
                    marks.push(mark(m, "match", format!("the leader knows node {node} holds its log up to {m} (match)"), false));
                }
                if n > 0 && in_view(n.saturating_sub(1)) {
                    marks.push(mark(n, "next", format!("the leader's next append to node {node} starts at {n} (next)"), true));
                }
            }
            let (m, n) = r.progress.map(|(m, n)| (Some(m.to_string()), Some(n.to_string()))).unwrap_or((None, None));
            html! {
                <div class={row_class(r)} data-node={node.to_string()} data-status={r.status.name()}
                     data-source={r.source.name()} data-role={r.role.clone()} data-term={r.term.to_string()}
                     data-last={r.last.to_string()} data-commit={r.commit.to_string()} data-applied={r.applied.to_string()}
                     data-snapshot={r.snapshot.to_string()} data-match={m} data-next={n}
                     data-conflicts={r.conflicts.to_string()} data-struck={r.struck.to_string()}
                     title={r.title.clone()}>
                    { for block }
                    // A list of its own, so that its keys (the indexes) are what Yew
                    // matches cells by (`display: contents`: laid out as the row's own).
                    <div class="ql-grid-cells">{ for cells }</div>
                    { for ghosts }
                    { marks }
                </div>
            }
        });
        let onscroll = link.callback(|_: Event| GMsg::Scrolled);
        let pin = link.callback(|e: Event| {
            GMsg::Pin(
                e.target_dyn_into::<HtmlInputElement>()
                    .map(|i| i.value())
                    .unwrap_or_default(),
            )
        });
        let summary = match span {
            None => "no entries yet".to_string(),
            Some((lo, hi)) => format!(
                "indexes {lo}–{hi}{}{}",
                match g.leader {
                    Some(l) => format!(" · compared with leader n{l}"),
                    None => " · no leader".to_string(),
                },
                if total_conflicts > 0 {
                    format!(" · {total_conflicts} conflicting")
                } else {
                    String::new()
                }
            ),
        };
        html! {
            <div class={classes!("ql-grid", dense.then_some("dense"))} data-testid="log-grid"
                 data-lo={lo.to_string()} data-hi={hi.to_string()} data-first={first.to_string()} data-last={last.to_string()}
                 data-leader={g.leader.map(|l| l.to_string())} data-follow={if pinned.is_some() { "pinned" } else { "newest" }}>
                <div class="ql-row ql-grid-bar">
                    <strong>{ "Log" }</strong>
                    <span class="ql-muted" data-testid="grid-summary">{ summary }</span>
                    <span class="ql-grid-legend">
                        <span class="k committed" title="committed entry (the number is its term)">{ "committed" }</span>
                        <span class="k" title="entry not committed yet">{ "uncommitted" }</span>
                        <span class="k conflicting" title="differs from the leader's entry at that index">{ "conflicting" }</span>
                        <span class="k struck" title="the leader's next append replaces it">{ "being replaced" }</span>
                        <span class="k blk" title="entries compacted into a snapshot">{ "snapshot" }</span>
                        <span class="m commit" title="commit index">{ "commit" }</span>
                        <span class="m applied" title="applied index">{ "applied" }</span>
                        <span class="m match" title="match index, as the leader sees the follower">{ "match" }</span>
                        <span class="m next" title="next index, as the leader sees the follower">{ "next" }</span>
                    </span>
                    <label class="ql-grid-pin" title="Keep this index at the left edge while the log grows">{ "pin from " }
                        <Field testid="grid-pin" kind="number" min="0" size="6"
                               value={pinned.map(|i| i.to_string()).unwrap_or_default()} onchange={pin} />
                    </label>
                    <button data-testid="grid-pin-here" title="Stop following: keep what is in view" onclick={link.callback(|_| GMsg::PinHere)}>{ "Pin" }</button>
                    <button data-testid="grid-follow" class={classes!(pinned.is_none().then_some("on"))} title="Follow the newest entries" onclick={link.callback(|_| GMsg::FollowNewest)}>{ "Newest »" }</button>
                </div>
                // Nothing held yet (or a protocol without a log): the header only.
                if span.is_some() {
                <div class="ql-grid-body">
                    <div class="ql-grid-labels">
                        <div class="ql-grid-axis-label">{ "index" }</div>
                        { for labels }
                    </div>
                    <div class="ql-grid-scroll" ref={self.scroller.clone()} {onscroll}>
                        <div class="ql-grid-inner" style={format!("width:{}px", lg::content_px(lo, hi))}>
                            <div class="ql-grid-axis">{ for axis }</div>
                            { for rows }
                        </div>
                    </div>
                </div>
                }
            </div>
        }
    }
}
