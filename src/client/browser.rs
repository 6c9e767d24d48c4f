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
