//! Light and dark themes: the page follows the system by default; the
//! toggle picks system, light or dark and remembers the choice in this
//! browser. The choice is applied as `data-theme` on `<html>` (the shell
//! applies a saved choice before the first paint, see `app::THEME_BOOT`).

use leptos::prelude::*;

use crate::client::browser::{load_preference, save_preference, set_root_attribute};

/// Where the choice is kept (`localStorage`).
pub const THEME_KEY: &str = "chat-theme";

/// The reader's theme choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// Follow `prefers-color-scheme`.
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl Theme {
    /// The stored form ("light", "dark"; anything else is system).
    pub fn parse(raw: Option<&str>) -> Self {
        match raw {
            Some("light") => Theme::Light,
            Some("dark") => Theme::Dark,
            _ => Theme::System,
        }
    }

    /// The next choice of the toggle: system, light, dark, system, ...
    pub fn next(self) -> Self {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }

    /// The `data-theme` value (none for system).
    pub fn attribute(self) -> Option<&'static str> {
        match self {
            Theme::System => None,
            Theme::Light => Some("light"),
            Theme::Dark => Some("dark"),
        }
    }

    /// What the button says.
    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "Theme: system",
            Theme::Light => "Theme: light",
            Theme::Dark => "Theme: dark",
        }
    }
}

/// The theme button.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = RwSignal::new(Theme::System);
    // In the browser: pick up the saved choice.
    Effect::new(move |_| theme.set(Theme::parse(load_preference(THEME_KEY).as_deref())));
    let cycle = move |_| {
        let next = theme.get_untracked().next();
        theme.set(next);
        save_preference(THEME_KEY, next.attribute().unwrap_or("system"));
        set_root_attribute("data-theme", next.attribute());
    };
    view! {
        <button
            type="button"
            class="icon-button theme-toggle"
            data-theme-choice=move || theme.get().attribute().unwrap_or("system")
            aria-label=move || theme.get().label()
            title=move || theme.get().label()
            on:click=cycle
        >
            <span aria-hidden="true">
                {move || match theme.get() {
                    Theme::System => "◐",
                    Theme::Light => "☀",
                    Theme::Dark => "☾",
                }}
            </span>
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::Theme;

    #[test]
    fn the_toggle_cycles_system_light_dark() {
        let t = Theme::parse(None);
        assert_eq!(t, Theme::System);
        assert_eq!(t.next(), Theme::Light);
        assert_eq!(t.next().next(), Theme::Dark);
        assert_eq!(t.next().next().next(), Theme::System);
        assert_eq!(Theme::parse(Some("dark")).attribute(), Some("dark"));
        assert_eq!(Theme::parse(Some("bogus")), Theme::System);
    }
}
