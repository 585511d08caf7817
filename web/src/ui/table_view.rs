//! Draws the cluster table ([`super::cluster`], which writes it as HTML): a click on a
//! heading sorts, on a row selects the node; the mouse over a row highlights the node on
//! the canvas (and the canvas's node its row). One listener of each kind on the table.

use super::cluster::{html, table, Marks};
use super::panels::Shared;
use super::state::{Action, Frame};
use quorumlab_core::NodeId;
use yew::prelude::*;

#[derive(PartialEq)]
pub struct TableProps {
    /// The run now: the grid's rows (the table is drawn from them) and clock offsets.
    pub frame: Shared<Frame>,
    pub sort: (usize, bool),
    pub hover: Option<NodeId>,
    pub selected: Option<NodeId>,
    pub on: Callback<Action>,
}

/// The value of `attr` on the nearest element around the event's target that has it.
fn attr_near(e: &Event, attr: &str) -> Option<String> {
    let el: web_sys::Element = e.target_dyn_into()?;
    el.closest(&format!("[{attr}]")).ok()??.get_attribute(attr)
}

fn node_near(e: &Event) -> Option<quorumlab_core::NodeId> {
    attr_near(e, "data-node")?.parse().ok()
}

/// `node`: the table's element (the row under the mouse is marked on it after each
/// render: see [`mark_hover`]).
pub fn cluster_table(p: &TableProps, node: &NodeRef) -> Html {
    // The row under the mouse is not part of the HTML: a change of it must not replace
    // the rows (the one under the pointer would vanish, and with it the event that says
    // so); `mark_hover` marks it on the rows in place.
    let marks = Marks {
        sort: p.sort,
        hover: None,
        selected: p.selected,
    };
    let text = html(table(&p.frame.input, &p.frame.offsets), marks);
    let hover = p.hover;
    let click = p.on.reform(move |e: MouseEvent| {
        match attr_near(&e, "data-sort").and_then(|c| c.parse().ok()) {
            Some(c) => Action::Sort(c),
            // A click outside the rows changes nothing (the hover stays as it is).
            None => node_near(&e).map_or(Action::Hover(hover), |n| Action::Select(Some(n))),
        }
    });
    let over = p.on.reform(|e: PointerEvent| Action::Hover(node_near(&e)));
    let leave = p.on.reform(|_: PointerEvent| Action::Hover(None));
    html! {
        <div class="ql-cluster" data-testid="cluster-table" tabindex="0" role="region" aria-label="Cluster table" ref={node.clone()} onclick={click} onpointerover={over} onpointerleave={leave}>
            { Html::from_html_unchecked(text.into()) }
        </div>
    }
}

/// Mark the row of node `hover` (and only it) as under the mouse (`data-hover`), in
/// place.
pub fn mark_hover(table: &web_sys::Element, hover: Option<NodeId>) {
    let set = |sel: &str, v: &str| {
        if let Ok(Some(row)) = table.query_selector(sel) {
            let _ = row.set_attribute("data-hover", v);
        }
    };
    set("tr[data-hover=\"true\"]", "false");
    if let Some(n) = hover {
        set(&format!("tr[data-node=\"{n}\"]"), "true");
    }
}
