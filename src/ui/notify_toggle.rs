//! The sidebar's bell: turns system notifications (mentions of me, new
//! replies in my threads, while the page is in the background) on or off,
//! asking the browser's permission only when turned on; and whether they
//! show the message text. Both choices are kept in this browser.

use leptos::prelude::*;

use crate::client::alerts::{alerts_hide_text, alerts_on, HIDE_TEXT_KEY, ON_KEY};
use crate::client::browser::{request_notification_permission, save_preference};

/// The bell and, while on, the "hide text" choice.
#[component]
pub fn NotifyToggle() -> impl IntoView {
    // Off on the server and while hydrating; the saved choice right after.
    let on = RwSignal::new(false);
    let hide_text = RwSignal::new(false);
    let refused = RwSignal::new(false);
    Effect::new(move |_| {
        on.set(alerts_on());
        hide_text.set(alerts_hide_text());
    });
    let toggle = move |_| {
        if on.get_untracked() {
            save_preference(ON_KEY, "off");
            on.set(false);
            return;
        }
        request_notification_permission(move |granted| {
            refused.set(!granted);
            if granted {
                save_preference(ON_KEY, "on");
            }
            on.set(granted);
        });
    };
    view! {
        <div class="notify-toggle">
            <button
                type="button"
                class="icon-button"
                aria-pressed=move || on.get().to_string()
                aria-label="Desktop notifications"
                title=move || {
                    if on.get() {
                        "Notifications on (mentions and thread replies)"
                    } else {
                        "Turn on notifications"
                    }
                }
                on:click=toggle
            >
                {move || if on.get() { "🔔" } else { "🔕" }}
            </button>
            {move || {
                on.get()
                    .then(|| {
                        view! {
                            <label class="notify-hide">
                                <input
                                    type="checkbox"
                                    prop:checked=move || hide_text.get()
                                    on:change=move |ev| {
                                        let hide = event_target_checked(&ev);
                                        save_preference(HIDE_TEXT_KEY, if hide { "hide" } else { "show" });
                                        hide_text.set(hide);
                                    }
                                />
                                "Hide text"
                            </label>
                        }
                    })
            }}
            {move || {
                refused
                    .get()
                    .then(|| view! { <span class="visually-hidden" role="status">"Notifications are blocked by the browser"</span> })
            }}
        </div>
    }
}
