//! Browser glue: animation frames, listeners, storage, clipboard, location, messages to
//! the embedding page. Natively every function is a harmless no-op, so the component
//! compiles (and its logic is testable) on the host.

/// Milliseconds since navigation (wall clock: for pacing and measuring only).
pub fn now_ms() -> f64 {
    imp::now_ms()
}

/// `localStorage` key of the autosaved scenario.
pub const STORAGE_KEY: &str = "quorumlab.scenario";

pub fn storage_get(key: &str) -> Option<String> {
    imp::storage_get(key)
}

pub fn storage_set(key: &str, value: &str) {
    imp::storage_set(key, value)
}

/// The page's address without its fragment.
pub fn base_url() -> String {
    imp::base_url()
}

/// The fragment without `#` (empty if none).
pub fn fragment() -> String {
    imp::fragment()
}

/// Drop the fragment from the address bar without reloading (after a broken link, so a
/// reload opens the page as it now is).
pub fn clear_fragment() {
    imp::clear_fragment()
}

/// The query string without `?` (empty if none).
pub fn query() -> String {
    imp::query()
}

/// Put text on the clipboard (best effort; the page also shows it in a field).
pub fn copy_text(text: &str) {
    imp::copy_text(text)
}

/// Send an event (JSON text) to the embedding page, if any.
pub fn post_to_parent(v: &str) {
    imp::post_to_parent(v)
}

/// The page is the embeddable widget: commands only from the parent window, and if
/// `origins` is not empty only from those origins (events go only to them too).
pub fn set_embed_policy(origins: &[String]) {
    imp::set_embed_policy(origins)
}

/// Force the light or dark colours (`None`: the reader's preference).
pub fn set_theme(theme: Option<&str>) {
    imp::set_theme(theme)
}

/// Expose a number to scripts and tests as `window[name]`.
pub fn set_global(name: &str, v: f64) {
    imp::set_global(name, v)
}

/// Ask the user a yes/no question (the browser's `confirm`); natively: yes.
pub fn confirm(text: &str) -> bool {
    imp::confirm(text)
}

/// Draw `svg` (a standalone SVG document with its `width` and `height`) three times as
/// large on a canvas and offer the picture as a PNG download named `name`.
pub fn download_png(svg: &str, name: &str) {
    imp::download_png(svg, name)
}

/// A keyboard shortcut as the page sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub key: String,
    pub ctrl: bool,
    pub shift: bool,
}

pub use imp::{Frames, Listeners, Rect};

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::Key;
    use serde_json::Value;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use yew::Callback;

    pub type Rect = (f64, f64, f64, f64);

    thread_local! {
        /// `Some(origins)` in the widget (see `set_embed_policy`).
        static EMBED: std::cell::RefCell<Option<Vec<String>>> = const { std::cell::RefCell::new(None) };
    }

    pub fn set_embed_policy(origins: &[String]) {
        EMBED.with(|e| *e.borrow_mut() = Some(origins.to_vec()));
    }

    pub fn set_theme(theme: Option<&str>) {
        let root = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element());
        if let (Some(root), Some(t)) = (root, theme) {
            let _ = root.set_attribute("data-theme", t);
        }
    }

    pub fn now_ms() -> f64 {
        web_sys::window()
            .and_then(|w| w.performance())
            .map(|p| p.now())
            .unwrap_or(0.0)
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window().and_then(|w| w.local_storage().ok().flatten())
    }

    pub fn storage_get(key: &str) -> Option<String> {
        storage().and_then(|s| s.get_item(key).ok().flatten())
    }

    pub fn storage_set(key: &str, value: &str) {
        if let Some(s) = storage() {
            let _ = s.set_item(key, value);
        }
    }

    pub fn base_url() -> String {
        let Some(loc) = web_sys::window().map(|w| w.location()) else {
            return String::new();
        };
        let href = loc.href().unwrap_or_default();
        match href.find('#') {
            Some(i) => href[..i].to_string(),
            None => href,
        }
    }

    pub fn clear_fragment() {
        let Some(w) = web_sys::window() else { return };
        if let Ok(h) = w.history() {
            let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&base_url()));
        }
    }

    pub fn query() -> String {
        let q = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .unwrap_or_default();
        q.strip_prefix('?').unwrap_or(&q).to_string()
    }

    pub fn fragment() -> String {
        let h = web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .unwrap_or_default();
        h.strip_prefix('#').unwrap_or(&h).to_string()
    }

    pub fn copy_text(text: &str) {
        if let Some(w) = web_sys::window() {
            let p = w.navigator().clipboard().write_text(text);
            // A refused clipboard (no permission, headless) is fine: the field shows it.
            let noop = Closure::<dyn FnMut(JsValue)>::new(|_| {});
            let _ = p.catch(&noop);
            noop.forget();
        }
    }

    fn parent() -> Option<web_sys::Window> {
        let w = web_sys::window()?;
        let p = w.parent().ok().flatten()?;
        if js_sys::Object::is(&p, &w) {
            None
        } else {
            Some(p)
        }
    }

    pub fn post_to_parent(v: &str) {
        let Some(p) = parent() else { return };
        let Ok(js) = js_sys::JSON::parse(v) else {
            return;
        };
        // A widget told its readers' origins speaks only to them.
        let origins = EMBED.with(|e| e.borrow().clone()).unwrap_or_default();
        if origins.is_empty() {
            let _ = p.post_message(&js, "*");
        }
        for o in &origins {
            let _ = p.post_message(&js, o);
        }
    }

    pub fn confirm(text: &str) -> bool {
        web_sys::window().is_none_or(|w| w.confirm_with_message(text).unwrap_or(true))
    }

    /// The number in `svg`'s root attribute `attr="..."` (its width or height).
    fn svg_size(svg: &str, attr: &str) -> Option<f64> {
        let head = &svg[..svg.find('>')?];
        let at = head.find(&format!(" {attr}=\""))? + attr.len() + 3;
        head[at..].split('"').next()?.parse().ok()
    }

    pub fn download_png(svg: &str, name: &str) {
        const SCALE: f64 = 3.0;
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let (w, h) = (
            svg_size(svg, "width").unwrap_or(320.0) * SCALE,
            svg_size(svg, "height").unwrap_or(160.0) * SCALE,
        );
        let (Ok(img), Ok(canvas)) = (
            web_sys::HtmlImageElement::new(),
            doc.create_element("canvas"),
        ) else {
            return;
        };
        let Ok(canvas) = canvas.dyn_into::<web_sys::HtmlCanvasElement>() else {
            return;
        };
        canvas.set_width(w as u32);
        canvas.set_height(h as u32);
        let (drawn, name) = (img.clone(), name.to_string());
        let onload = Closure::once_into_js(move || {
            let ctx = canvas
                .get_context("2d")
                .ok()
                .flatten()
                .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok());
            let Some(ctx) = ctx else { return };
            if ctx
                .draw_image_with_html_image_element_and_dw_and_dh(&drawn, 0.0, 0.0, w, h)
                .is_err()
            {
                return;
            }
            let Ok(url) = canvas.to_data_url() else {
                return;
            };
            let a = doc
                .create_element("a")
                .ok()
                .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok());
            if let (Some(a), Some(body)) = (a, doc.body()) {
                a.set_href(&url);
                a.set_download(&name);
                if body.append_child(&a).is_ok() {
                    a.click();
                    a.remove();
                }
            }
        });
        img.set_onload(Some(onload.unchecked_ref()));
        let mut src = String::from("data:image/svg+xml;charset=utf-8,");
        src.push_str(&String::from(js_sys::encode_uri_component(svg)));
        img.set_src(&src);
    }

    pub fn set_global(name: &str, v: f64) {
        if let Some(w) = web_sys::window() {
            let _ = js_sys::Reflect::set(&w, &JsValue::from_str(name), &JsValue::from_f64(v));
        }
    }

    /// The bounding box of an element, in client pixels.
    pub fn rect_of(node: &yew::NodeRef) -> Option<Rect> {
        let el = node.cast::<web_sys::Element>()?;
        let r = el.get_bounding_client_rect();
        Some((r.left(), r.top(), r.width(), r.height()))
    }

    /// A requestAnimationFrame loop: `request` asks for one more frame.
    pub struct Frames {
        closure: Closure<dyn FnMut(f64)>,
        pending: std::rc::Rc<std::cell::Cell<bool>>,
    }

    impl Frames {
        pub fn new(on_frame: Callback<f64>) -> Frames {
            let pending = std::rc::Rc::new(std::cell::Cell::new(false));
            let p = pending.clone();
            let closure = Closure::<dyn FnMut(f64)>::new(move |ts: f64| {
                p.set(false);
                on_frame.emit(ts);
            });
            Frames { closure, pending }
        }

        pub fn request(&self) {
            if self.pending.get() {
                return;
            }
            if let Some(w) = web_sys::window() {
                if w.request_animation_frame(self.closure.as_ref().unchecked_ref())
                    .is_ok()
                {
                    self.pending.set(true);
                }
            }
        }
    }

    /// Window listeners for keys and messages, removed when dropped.
    pub struct Listeners {
        keys: Closure<dyn FnMut(web_sys::KeyboardEvent)>,
        messages: Closure<dyn FnMut(web_sys::MessageEvent)>,
        hash: Closure<dyn FnMut(web_sys::Event)>,
        engine: Closure<dyn FnMut(web_sys::Event)>,
    }

    impl Listeners {
        pub fn new(
            on_key: Callback<Key>,
            on_message: Callback<Result<Value, String>>,
            on_hash: Callback<String>,
            on_engine: Callback<()>,
        ) -> Self {
            // An engine module loaded or failed (web/engines.js).
            let engine = Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
                on_engine.emit(());
            });
            // A share link opened in a tab already showing the page changes only the
            // fragment: no reload, so listen for it.
            let hash = Closure::<dyn FnMut(web_sys::Event)>::new(move |_e: web_sys::Event| {
                on_hash.emit(fragment());
            });
            let keys = Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(
                move |e: web_sys::KeyboardEvent| {
                    // Typing in a field is not a shortcut.
                    let in_field = e
                        .target()
                        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                        .map(|el| {
                            let tag = el.tag_name().to_ascii_lowercase();
                            tag == "input" || tag == "textarea" || tag == "select"
                        })
                        .unwrap_or(false);
                    if in_field || e.alt_key() {
                        return;
                    }
                    let key = Key {
                        key: e.key(),
                        ctrl: e.ctrl_key() || e.meta_key(),
                        shift: e.shift_key(),
                    };
                    let handled = matches!(key.key.as_str(), " " | "n" | "ArrowRight") && !key.ctrl
                        || (key.ctrl && key.key.eq_ignore_ascii_case("z"));
                    if handled {
                        e.prevent_default();
                        on_key.emit(key);
                    }
                },
            );
            let mut limit = crate::ui::embed::RateLimit::default();
            let messages = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                move |e: web_sys::MessageEvent| {
                    // Only the embedding page or this page itself may drive the playground;
                    // anyone else is ignored without an answer.
                    let Some(w) = web_sys::window() else { return };
                    // The widget: only its parent, from an allowed origin if any are named.
                    let embed = EMBED.with(|e| e.borrow().clone());
                    let from_ok = match e.source() {
                        Some(src) => {
                            let src: JsValue = src.into();
                            let from_parent =
                                parent().is_some_and(|p| js_sys::Object::is(&src, &p));
                            match &embed {
                                None => from_parent || js_sys::Object::is(&src, &w),
                                Some(origins) => {
                                    from_parent
                                        && (origins.is_empty() || origins.contains(&e.origin()))
                                }
                            }
                        }
                        None => false,
                    };
                    if !from_ok {
                        return;
                    }
                    // A page posting in a tight loop must not freeze this one: beyond
                    // the rate, commands are dropped before they cost anything.
                    match limit.admit(js_sys::Date::now()) {
                        crate::ui::embed::Admit::Read => {}
                        crate::ui::embed::Admit::Drop => return,
                        crate::ui::embed::Admit::DropAndTell(m) => {
                            on_message.emit(Err(m));
                            return;
                        }
                    }
                    let data = e.data();
                    // Events this page posts to its parent look the same; a page that
                    // is its own parent must not hear its own events as commands.
                    let text = if let Some(s) = data.as_string() {
                        s
                    } else {
                        match js_sys::JSON::stringify(&data) {
                            Ok(s) => s.as_string().unwrap_or_default(),
                            Err(_) => {
                                on_message.emit(Err("the message is not JSON".into()));
                                return;
                            }
                        }
                    };
                    if text.len() > crate::ui::embed::MAX_MESSAGE {
                        on_message.emit(Err(format!(
                            "the message is too big ({} characters; the limit is {})",
                            text.len(),
                            crate::ui::embed::MAX_MESSAGE
                        )));
                        return;
                    }
                    match serde_json::from_str::<Value>(&text) {
                        Ok(v) => on_message.emit(Ok(v)),
                        Err(err) => on_message.emit(Err(format!("the message is not JSON: {err}"))),
                    }
                },
            );
            if let Some(w) = web_sys::window() {
                let _ =
                    w.add_event_listener_with_callback("keydown", keys.as_ref().unchecked_ref());
                let _ = w
                    .add_event_listener_with_callback("message", messages.as_ref().unchecked_ref());
                let _ =
                    w.add_event_listener_with_callback("hashchange", hash.as_ref().unchecked_ref());
                let _ = w.add_event_listener_with_callback(
                    "quorumlab-engine",
                    engine.as_ref().unchecked_ref(),
                );
            }
            Listeners {
                keys,
                messages,
                hash,
                engine,
            }
        }
    }

    impl Drop for Listeners {
        fn drop(&mut self) {
            if let Some(w) = web_sys::window() {
                let _ = w.remove_event_listener_with_callback(
                    "keydown",
                    self.keys.as_ref().unchecked_ref(),
                );
                let _ = w.remove_event_listener_with_callback(
                    "message",
                    self.messages.as_ref().unchecked_ref(),
                );
                let _ = w.remove_event_listener_with_callback(
                    "hashchange",
                    self.hash.as_ref().unchecked_ref(),
                );
                let _ = w.remove_event_listener_with_callback(
                    "quorumlab-engine",
                    self.engine.as_ref().unchecked_ref(),
                );
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::Key;
    use serde_json::Value;
    use yew::Callback;

    pub type Rect = (f64, f64, f64, f64);

    pub fn now_ms() -> f64 {
        0.0
    }
    pub fn storage_get(_key: &str) -> Option<String> {
        None
    }
    pub fn storage_set(_key: &str, _value: &str) {}
    pub fn base_url() -> String {
        String::new()
    }
    pub fn fragment() -> String {
        String::new()
    }
    pub fn query() -> String {
        String::new()
    }
    pub fn clear_fragment() {}
    pub fn copy_text(_text: &str) {}
    pub fn post_to_parent(_v: &str) {}
    pub fn set_embed_policy(_origins: &[String]) {}
    pub fn set_theme(_theme: Option<&str>) {}
    pub fn set_global(_name: &str, _v: f64) {}
    pub fn confirm(_text: &str) -> bool {
        true
    }
    pub fn download_png(_svg: &str, _name: &str) {}
    pub fn rect_of(_node: &yew::NodeRef) -> Option<Rect> {
        None
    }

    pub struct Frames;
    impl Frames {
        pub fn new(_on_frame: Callback<f64>) -> Frames {
            Frames
        }
        pub fn request(&self) {}
    }

    pub struct Listeners;
    impl Listeners {
        pub fn new(
            _on_key: Callback<Key>,
            _on_message: Callback<Result<Value, String>>,
            _on_hash: Callback<String>,
            _on_engine: Callback<()>,
        ) -> Self {
            Listeners
        }
    }
}

pub fn rect_of(node: &yew::NodeRef) -> Option<Rect> {
    imp::rect_of(node)
}
