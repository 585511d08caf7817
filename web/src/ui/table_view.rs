//! Draws the cluster table ([`super::cluster`], which writes it as HTML): a click on a
//! heading sorts, on a row selects the node; the mouse over a row highlights the node on
//! the canvas (and the canvas's node its row). One listener of each kind on the table.

use super::cluster::{html, table, Marks};
use super::log_grid::GridInput;
use super::playground::{Msg, Playground};
use yew::prelude::*;

/// The value of `attr` on the nearest element around the event's target that has it.
fn attr_near(e: &Event, attr: &str) -> Option<String> {
    let el: web_sys::Element = e.target_dyn_into()?;
    el.closest(&format!("[{attr}]")).ok()??.get_attribute(attr)
}

fn node_near(e: &Event) -> Option<quorumlab_core::NodeId> {
    attr_near(e, "data-node")?.parse().ok()
}

pub fn cluster_table(p: &Playground, ctx: &Context<Playground>, input: &GridInput) -> Html {
    let Some(e) = p.session.engine() else {
        return html! {};
    };
    let link = ctx.link();
    let marks = Marks {
        sort: p.sort,
        hover: p.hover,
        selected: p.selected,
    };
    let text = html(table(input, &e.clock_offsets()), marks);
    let hover = p.hover;
    let click = link.callback(move |e: MouseEvent| {
        match attr_near(&e, "data-sort").and_then(|c| c.parse().ok()) {
            Some(c) => Msg::Sort(c),
            // A click outside the rows changes nothing (the hover stays as it is).
            None => node_near(&e).map_or(Msg::Hover(hover), |n| Msg::Select(Some(n))),
        }
    });
    let over = link.callback(|e: PointerEvent| Msg::Hover(node_near(&e)));
    let leave = link.callback(|_: PointerEvent| Msg::Hover(None));
    html! {
        <div class="ql-cluster" data-testid="cluster-table" tabindex="0" role="region" aria-label="Cluster table" onclick={click} onpointerover={over} onpointerleave={leave}>
            { Html::from_html_unchecked(text.into()) }
        </div>
    }
}
