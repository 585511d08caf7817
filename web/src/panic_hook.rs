//! Panics go to the console and onto the page, instead of leaving a dead page.

use std::panic;
use wasm_bindgen::JsCast;

pub fn install() {
    panic::set_hook(Box::new(|info| {
        let text = format!("quorumlab crashed: {info}");
        web_sys::console::error_1(&text.clone().into());
        show(&text);
    }));
}

fn show(text: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(banner) = document.create_element("div") else {
        return;
    };
    banner.set_class_name("panic");
    let _ = banner.set_attribute("role", "alert");
    let _ = banner.set_attribute("data-testid", "panic");
    banner.set_text_content(Some(&format!(
        "{text}\n\nThe page has stopped. Reload to start again; if it happens again, please report it with this message."
    )));
    if let Some(body) = document.body() {
        let _ = body.insert_before(&banner, body.first_child().as_ref());
    }
    // If the app had said "running", it no longer is.
    if let Ok(Some(status)) = document.query_selector("[data-testid=app-status]") {
        if let Ok(status) = status.dyn_into::<web_sys::HtmlElement>() {
            status.set_text_content(Some("crashed"));
            let _ = status.set_attribute("data-state", "crashed");
        }
    }
}
