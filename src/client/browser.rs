//! Small facts about the browser the page reacts to: the time zone, tab
//! visibility and focus, narrow screens, saved preferences, and the
//! document's theme attribute. Each answers a neutral default on the
//! server (where pages render without a browser), so components call them
//! without `cfg`; in the browser they go through `web_sys`.

use leptos::prelude::{document, is_server, window};

/// The viewer's UTC offset in minutes, east positive (0 on the server).
pub fn utc_offset_minutes() -> i32 {
    if is_server() {
        return 0;
    }
    // getTimezoneOffset is UTC minus local time.
    -(leptos::web_sys::js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// Whether the page is visible and focused, so arriving messages are read.
pub fn page_is_attended() -> bool {
    if is_server() {
        return false;
    }
    let doc = document();
    doc.visibility_state() == leptos::web_sys::VisibilityState::Visible
        && doc.has_focus().unwrap_or(false)
}

/// Whether the page is visible (tab in front).
pub fn page_is_visible() -> bool {
    !is_server() && document().visibility_state() == leptos::web_sys::VisibilityState::Visible
}

/// Whether the browser believes it is online.
pub fn browser_online() -> bool {
    is_server() || window().navigator().on_line()
}

/// Whether the window is narrow enough for the drawer layout (keep in
/// step with the media query in `style/main.css`).
pub fn is_narrow() -> bool {
    if is_server() {
        return false;
    }
    window()
        .match_media("(max-width: 720px)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches())
}

/// A saved preference (`localStorage`), if any.
pub fn load_preference(key: &str) -> Option<String> {
    if is_server() {
        return None;
    }
    window().local_storage().ok()??.get_item(key).ok()?
}

/// Saves a preference (`localStorage`); failures (private mode) are ignored.
pub fn save_preference(key: &str, value: &str) {
    if is_server() {
        return;
    }
    if let Ok(Some(storage)) = window().local_storage() {
        let _ = storage.set_item(key, value);
    }
}

/// Sets (or with `None` removes) an attribute of `<html>`.
pub fn set_root_attribute(name: &str, value: Option<&str>) {
    if is_server() {
        return;
    }
    if let Some(root) = document().document_element() {
        let _ = match value {
            Some(v) => root.set_attribute(name, v),
            None => root.remove_attribute(name),
        };
    }
}

/// Points the page's icon (`<link rel="icon">`) at `href`, keeping the
/// first one as the page was served (`data-plain`) so `None` goes back.
pub fn set_icon(href: Option<&str>) {
    if is_server() {
        return;
    }
    let Ok(Some(link)) = document().query_selector("link[rel=icon]") else {
        return;
    };
    if link.get_attribute("data-plain").is_none() {
        if let Some(plain) = link.get_attribute("href") {
            let _ = link.set_attribute("data-plain", &plain);
        }
    }
    let target = match href {
        Some(h) => Some(h.to_string()),
        None => link.get_attribute("data-plain"),
    };
    if let Some(target) = target {
        let _ = link.set_attribute("href", &target);
    }
}

/// Whether the viewer allowed notifications ("granted"), refused them
/// ("denied") or was not asked yet ("default"); "unsupported" without the
/// API (and on the server).
pub fn notification_permission() -> &'static str {
    if is_server() {
        return "unsupported";
    }
    let supported = js_sys_has(&window(), "Notification");
    if !supported {
        return "unsupported";
    }
    match leptos::web_sys::Notification::permission() {
        leptos::web_sys::NotificationPermission::Granted => "granted",
        leptos::web_sys::NotificationPermission::Denied => "denied",
        _ => "default",
    }
}

/// Asks the viewer for permission to notify (only ever from a click), then
/// calls `then` with whether it was granted.
pub fn request_notification_permission(then: impl FnOnce(bool) + 'static) {
    if notification_permission() == "unsupported" {
        then(false);
        return;
    }
    let Ok(promise) = leptos::web_sys::Notification::request_permission() else {
        then(false);
        return;
    };
    let answered =
        leptos::wasm_bindgen::closure::Closure::once(move |v: leptos::wasm_bindgen::JsValue| {
            then(v.as_string().as_deref() == Some("granted"));
        });
    let _ = promise.then(&answered);
    answered.forget();
}

/// Shows a system notification (when allowed); a click brings the page to
/// the front and opens `href`.
pub fn show_notification(title: &str, body: &str, tag: &str, href: &str) {
    use leptos::wasm_bindgen::closure::Closure;
    use leptos::wasm_bindgen::JsCast;
    if notification_permission() != "granted" {
        return;
    }
    let options = leptos::web_sys::NotificationOptions::new();
    options.set_body(body);
    options.set_tag(tag);
    let Ok(notification) = leptos::web_sys::Notification::new_with_options(title, &options) else {
        return;
    };
    let href = href.to_string();
    let on_click = Closure::once_into_js(move || {
        let _ = window().focus();
        let _ = window().location().set_href(&href);
    });
    notification.set_onclick(Some(on_click.unchecked_ref()));
}

/// Whether `target` has a property named `name`.
fn js_sys_has(target: &leptos::web_sys::Window, name: &str) -> bool {
    leptos::web_sys::js_sys::Reflect::has(target, &name.into()).unwrap_or(false)
}

/// Copies `text` to the clipboard (the "Copy text" action); a refusal
/// (no permission, insecure page) is ignored.
pub fn copy_text(text: &str) {
    if is_server() {
        return;
    }
    let _ = window().navigator().clipboard().write_text(text);
}

/// Scrolls the list item of the message at `seq` (its `data-seq`) to the
/// middle of its scroller and focuses it, after a jump.
pub fn reveal_message(seq: i64) {
    if is_server() {
        return;
    }
    let selector = format!("li.message[data-seq=\"{seq}\"]");
    let Ok(Some(el)) = document().query_selector(&selector) else {
        return;
    };
    let options = leptos::web_sys::ScrollIntoViewOptions::new();
    options.set_block(leptos::web_sys::ScrollLogicalPosition::Center);
    el.scroll_into_view_with_scroll_into_view_options(&options);
    if let Ok(el) = leptos::wasm_bindgen::JsCast::dyn_into::<leptos::web_sys::HtmlElement>(el) {
        let _ = el.focus();
    }
}

/// Moves the keyboard focus to `el` (when it can take it).
pub fn focus_element(el: leptos::web_sys::Element) {
    if let Ok(el) = leptos::wasm_bindgen::JsCast::dyn_into::<leptos::web_sys::HtmlElement>(el) {
        let _ = el.focus();
    }
}

/// Moves the keyboard focus to the element with `id`, if there is one.
pub fn focus_by_id(id: &str) {
    if is_server() {
        return;
    }
    if let Some(el) = document().get_element_by_id(id) {
        focus_element(el);
    }
}

/// In a menu, moves the focus from the focused `[role=menuitem]` to the
/// next (`forward`) or previous one, wrapping; to the first when none has
/// it.
pub fn focus_menu_item(menu: &leptos::web_sys::Element, forward: bool) {
    let Ok(items) = menu.query_selector_all("[role=menuitem]") else {
        return;
    };
    let n = items.length();
    if n == 0 {
        return;
    }
    let active = document().active_element();
    let current = (0..n).find(|i| {
        items
            .item(*i)
            .zip(active.as_ref())
            .is_some_and(|(node, a)| node.is_same_node(Some(a.as_ref())))
    });
    let next = match current {
        Some(i) if forward => (i + 1) % n,
        Some(i) => (i + n - 1) % n,
        None => 0,
    };
    if let Some(node) = items.item(next) {
        if let Ok(el) = leptos::wasm_bindgen::JsCast::dyn_into::<leptos::web_sys::Element>(node) {
            focus_element(el);
        }
    }
}
