//! The page's panels, each drawn by its own component instance ([`Pane`]) from props
//! that compare cheaply (small snapshots, and `Rc`s compared by pointer through
//! [`Shared`]): a panel whose props did not change is not drawn again when the page
//! re-renders every frame. Panels send [`Action`](super::state::Action)s through an
//! `on` callback; the state and its reducer are in [`super::state`].
//!
//! One component type serves every panel (its props say which panel it is): each Yew
//! component type costs the bundle its own copy of Yew's lifecycle (a few kilobytes),
//! which a dozen panel types could not afford within the app's budget.

pub mod canvas;
pub mod cap;
pub mod console;
pub mod edit;
pub mod gallery;
pub mod locks;
pub mod node;
pub mod ring;
pub mod run;
pub mod spacetime;
pub mod timeline;

use super::grid_view::{GMsg, LogGrid, Props as GridProps};
use super::lessons::{self, LessonProps};
use super::table_view::{self, TableProps};
use quorumlab_core::{Time, MS};
use std::ops::Deref;
use std::rc::Rc;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

/// An `Rc` compared by pointer: a new value is a new `Rc`, so equal pointers mean
/// nothing changed (and comparing is free, however big the value).
#[derive(Debug, Default)]
pub struct Shared<T>(pub Rc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> From<Rc<T>> for Shared<T> {
    fn from(r: Rc<T>) -> Self {
        Shared(r)
    }
}

/// The value of the input, select or text area an event came from (a checkbox:
/// `"true"` or `"false"`).
pub fn input_text(e: &Event) -> String {
    if let Some(i) = e.target_dyn_into::<HtmlInputElement>() {
        if i.type_() == "checkbox" {
            return i.checked().to_string();
        }
        return i.value();
    }
    if let Some(s) = e.target_dyn_into::<HtmlSelectElement>() {
        return s.value();
    }
    if let Some(t) = e.target_dyn_into::<HtmlTextAreaElement>() {
        return t.value();
    }
    String::new()
}

/// A simulated time in milliseconds with microseconds: `12.345 ms`.
pub fn ms(t: Time) -> String {
    let whole = t / MS;
    let frac = t % MS;
    format!("{whole}.{frac:03} ms")
}

/// Which panel a [`Pane`] draws, with its props.
// Each pane holds one; boxing the big ones would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(PartialEq)]
pub enum Panel {
    Controls(run::ControlsProps),
    Banners(run::BannersProps),
    /// The Embed dialog.
    Builder(run::BuilderProps),
    Tabs(run::TabsProps),
    Canvas(canvas::CanvasProps),
    Table(TableProps),
    Grid(GridProps),
    Timeline(timeline::TimelineProps),
    Spacetime(spacetime::SpacetimeProps),
    Lesson(LessonProps),
    Node(node::NodePanelProps),
    Edit(edit::EditPanelProps),
    Console(console::ConsoleProps),
    Cap(cap::CapProps),
    Locks(locks::LocksProps),
    Ring(ring::RingProps),
    Gallery(gallery::GalleryProps),
}

/// A pane drawing `panel` (one place that builds a pane: each `html!` of a component
/// costs the bundle its own builder code).
pub fn pane(panel: Panel) -> Html {
    html! { <Pane {panel} /> }
}

#[derive(Properties, PartialEq)]
pub struct PaneProps {
    pub panel: Panel,
}

/// One panel of the page: drawn again only when its props change.
pub struct Pane {
    /// The panel's element, for panels that read pointer positions against it.
    node: NodeRef,
    /// The log grid's own state (how it scrolls, replaced entries), in its pane.
    grid: Option<LogGrid>,
}

impl Component for Pane {
    /// Only the log grid has messages of its own.
    type Message = GMsg;
    type Properties = PaneProps;

    fn create(ctx: &Context<Self>) -> Self {
        Pane {
            node: NodeRef::default(),
            grid: match &ctx.props().panel {
                Panel::Grid(p) => Some(LogGrid::new(p)),
                _ => None,
            },
        }
    }

    fn changed(&mut self, ctx: &Context<Self>, _old: &PaneProps) -> bool {
        if let Panel::Grid(p) = &ctx.props().panel {
            match self.grid.as_mut() {
                Some(g) => g.changed(p),
                None => self.grid = Some(LogGrid::new(p)),
            }
        }
        true
    }

    fn update(&mut self, _ctx: &Context<Self>, msg: GMsg) -> bool {
        self.grid.as_mut().is_some_and(|g| g.update(msg))
    }

    fn rendered(&mut self, ctx: &Context<Self>, _first: bool) {
        match (&ctx.props().panel, self.grid.as_mut()) {
            (Panel::Grid(p), Some(g)) => g.rendered(p, ctx.link()),
            (Panel::Table(p), _) => {
                if let Some(el) = self.node.cast::<web_sys::Element>() {
                    table_view::mark_hover(&el, p.hover);
                }
            }
            _ => {}
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        match &ctx.props().panel {
            Panel::Grid(p) => match &self.grid {
                Some(g) => g.view(p, ctx.link()),
                None => html! {},
            },
            Panel::Controls(p) => run::controls(p),
            Panel::Banners(p) => run::banners(p),
            Panel::Builder(p) => run::builder(p),
            Panel::Tabs(p) => run::tabs(p),
            Panel::Canvas(p) => canvas::canvas(p, &self.node),
            Panel::Table(p) => table_view::cluster_table(p, &self.node),
            Panel::Timeline(p) => timeline::timeline(p, &self.node),
            Panel::Spacetime(p) => spacetime::spacetime(p),
            Panel::Lesson(p) => lessons::checklist(p),
            Panel::Node(p) => node::node_panel(p),
            Panel::Edit(p) => edit::edit_panel(p),
            Panel::Console(p) => console::console_panel(p),
            Panel::Cap(p) => cap::cap_panel(p),
            Panel::Locks(p) => locks::locks_panel(p),
            Panel::Ring(p) => ring::ring_panel(p),
            Panel::Gallery(p) => gallery::gallery_view(p),
        }
    }
}
