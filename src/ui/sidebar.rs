//! The sidebar's open/closed state and the button that toggles it. On a
//! wide window the sidebar collapses to give the messages room; on a
//! narrow one it is a drawer over the page, closed once a conversation is
//! chosen.

use leptos::prelude::*;

use crate::client::browser::is_narrow;

/// Whether the sidebar shows; provided by the Discussions page.
#[derive(Clone, Copy)]
pub struct SidebarState {
    /// Wide windows: the sidebar is folded away.
    pub collapsed: RwSignal<bool>,
    /// Narrow windows: the drawer is over the page.
    pub drawer_open: RwSignal<bool>,
}

impl SidebarState {
    /// Both closed states off: the sidebar shows on wide windows, the
    /// drawer is shut on narrow ones.
    pub fn new() -> Self {
        SidebarState {
            collapsed: RwSignal::new(false),
            drawer_open: RwSignal::new(false),
        }
    }

    /// The toggle's action, for the window size at hand.
    pub fn toggle(&self) {
        if is_narrow() {
            self.drawer_open.update(|open| *open = !*open);
        } else {
            self.collapsed.update(|c| *c = !*c);
        }
    }

    /// Whether the toggle shows the sidebar as open (for `aria-expanded`).
    pub fn is_open(&self) -> bool {
        if is_narrow() {
            self.drawer_open.get()
        } else {
            !self.collapsed.get()
        }
    }
}

impl Default for SidebarState {
    fn default() -> Self {
        Self::new()
    }
}

/// The button that shows or hides the conversation list.
#[component]
pub fn SidebarToggle() -> impl IntoView {
    let sidebar = expect_context::<SidebarState>();
    view! {
        <button
            type="button"
            class="icon-button sidebar-toggle"
            aria-controls="sidebar"
            aria-expanded=move || sidebar.is_open().to_string()
            aria-label="Conversations"
            title="Show or hide conversations"
            on:click=move |_| sidebar.toggle()
        >
            <span aria-hidden="true">"☰"</span>
        </button>
    }
}
