//! The gallery of presets and challenges: a card each, "Open" loads it.

use super::Shared;
use crate::ui::gallery::Preset;
use crate::ui::state::Action;
use yew::prelude::*;

#[derive(PartialEq)]
pub struct GalleryProps {
    pub presets: Shared<Vec<Preset>>,
    pub on: Callback<Action>,
}

pub fn gallery_view(p: &GalleryProps) -> Html {
    let link = &p.on;
    let card = |pr: &Preset| match &pr.scenario {
        Ok(s) => {
            let name = s.name.clone();
            let desc = s.description.clone();
            let watch = s.watch.clone();
            let proto = s.protocol.name.clone();
            let b = Box::new(s.clone());
            html! {
                // Keyed: presets arrive in any order, and a card must keep its element.
                <article class="ql-card" key={pr.id} data-preset={pr.id}>
                    <h3>{ name }</h3>
                    <p class="ql-muted">{ proto }</p>
                    <p>{ desc }</p>
                    if !watch.is_empty() { <p><strong>{ "Watch: " }</strong>{ watch }</p> }
                    <button onclick={link.reform(move |_| Action::Load(b.clone()))}>{ "Open" }</button>
                </article>
            }
        }
        Err(e) => {
            html! { <article class="ql-card bad" key={pr.id}><h3>{ pr.id }</h3><p>{ e.clone() }</p></article> }
        }
    };
    let (challenges, presets): (Vec<_>, Vec<_>) = p
        .presets
        .iter()
        .filter(|pr| !matches!(&pr.scenario, Err(e) if e == crate::ui::gallery::LOADING))
        .partition(|pr| pr.scenario.as_ref().is_ok_and(|s| s.challenge.is_some()));
    html! {
        <section class="ql-gallery" data-testid="gallery">
            <h2>{ "Gallery" }</h2>
            <div class="ql-cards">{ for presets.into_iter().map(card) }</div>
            <h2>{ "Challenges" }</h2>
            <p class="ql-muted">{ "Make the checklist pass by changing only what the challenge allows; the page says when you have solved it. Share the link to show your attempt." }</p>
            <div class="ql-cards" data-testid="challenges">{ for challenges.into_iter().map(card) }</div>
        </section>
    }
}
