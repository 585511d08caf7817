//! A text or number field that keeps what the user is typing.
//!
//! The page re-renders every animation frame while a run plays, and Yew keeps an
//! input's `value` equal to the virtual DOM's on every render: a plain `<input value=…>`
//! would throw away each keystroke before `change` fires. `Field` renders the user's
//! draft instead, and adopts the outside value again whenever that value changes (after
//! an edit is applied, an undo, a new scenario).

use std::cell::RefCell;
use std::rc::Rc;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct FieldProps {
    /// The value as the page knows it.
    pub value: AttrValue,
    /// Fired with the element's `change` event (the handler reads the element's value).
    pub onchange: Callback<Event>,
    /// `type` of the input ("text", "number"); ignored with `rows`.
    #[prop_or(AttrValue::Static("text"))]
    pub kind: AttrValue,
    /// A textarea of this many rows instead of an input.
    #[prop_or_default]
    pub rows: Option<u32>,
    #[prop_or_default]
    pub testid: Option<AttrValue>,
    #[prop_or_default]
    pub min: Option<AttrValue>,
    #[prop_or_default]
    pub max: Option<AttrValue>,
    #[prop_or_default]
    pub step: Option<AttrValue>,
    #[prop_or_default]
    pub size: Option<AttrValue>,
}

fn target_value(e: &Event) -> Option<String> {
    if let Some(i) = e.target_dyn_into::<HtmlInputElement>() {
        return Some(i.value());
    }
    e.target_dyn_into::<HtmlTextAreaElement>()
        .map(|t| t.value())
}

/// A text field that keeps what is typed (see the module docs). A struct component:
/// the page has no other use for Yew's hooks, whose machinery would cost the bundle.
pub struct Field {
    /// The value last given and what the field shows (typed since, or that value).
    state: Rc<RefCell<(AttrValue, String)>>,
}

impl Component for Field {
    type Message = ();
    type Properties = FieldProps;

    fn create(ctx: &Context<Self>) -> Self {
        let v = &ctx.props().value;
        Field {
            state: Rc::new(RefCell::new((v.clone(), v.to_string()))),
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let p = ctx.props();
        {
            let mut s = self.state.borrow_mut();
            if s.0 != p.value {
                *s = (p.value.clone(), p.value.to_string());
            }
        }
        let shown = self.state.borrow().1.clone();
        let oninput = {
            let state = self.state.clone();
            Callback::from(move |e: InputEvent| {
                if let Some(v) = target_value(&e) {
                    state.borrow_mut().1 = v;
                }
            })
        };
        match p.rows {
            Some(rows) => html! {
                <textarea data-testid={p.testid.clone()} rows={rows.to_string()} value={shown}
                          oninput={oninput} onchange={p.onchange.clone()} />
            },
            None => html! {
                <input type={p.kind.clone()} data-testid={p.testid.clone()} value={shown}
                       min={p.min.clone()} max={p.max.clone()} step={p.step.clone()} size={p.size.clone()}
                       oninput={oninput} onchange={p.onchange.clone()} />
            },
        }
    }
}
