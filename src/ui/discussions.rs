//! The Discussions page (`/chat`, `/chat/{channelId}`): the sidebar with
//! the conversation list, and the open conversation or an invitation to
//! pick one. It loads who is logged in, their channels and the server's
//! limits, and sends a visitor without a session to the login page and
//! back.

use crate::protocol::ChannelId;

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_location, use_params_map};

use crate::client::clock::now_ms;
use crate::protocol::{AppError, ChannelSummary, ClientSettings, User};
use crate::server_fns::auth::{me, Logout};
use crate::server_fns::channels::list_channels;
use crate::server_fns::settings::get_client_settings;
use crate::ui::attachments::{Lightbox, LightboxState};
use crate::ui::channel_list::ChannelList;
use crate::ui::notify_toggle::NotifyToggle;
use crate::ui::room::ChannelRoom;
use crate::ui::search::{SearchBox, SearchResults, SearchState};
use crate::ui::sidebar::{SidebarState, SidebarToggle};
use crate::ui::state::channels::ChannelsState;
use crate::ui::theme_toggle::ThemeToggle;
use crate::ui::threads_view::{ThreadsButton, ThreadsList, ThreadsViewState};
use crate::ui::unread_title::UnreadTitle;

/// A window focus refreshes the channel list when it is older than this
/// (a backstop for frames missed while the socket was down; live frames
/// keep it current otherwise).
const FOCUS_REFRESH_MS: f64 = 60_000.0;

/// `/chat` and `/chat/{channelId}`.
#[component]
pub fn DiscussionsPage() -> impl IntoView {
    let user = Resource::new(|| (), |_| me());
    let channels = Resource::new(|| (), |_| list_channels());
    let settings = Resource::new(|| (), |_| get_client_settings());
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (user.await, channels.await, settings.await) {
                    (Ok(user), Ok(channels), Ok(settings)) => {
                        view! { <DiscussionsLayout user channels settings/> }.into_any()
                    }
                    (Err(AppError::Unauthorized(_)), _, _)
                    | (_, Err(AppError::Unauthorized(_)), _)
                    | (_, _, Err(AppError::Unauthorized(_))) => {
                        let back = location.pathname.get_untracked();
                        view! { <Redirect path=format!("/login?next={back}")/> }.into_any()
                    }
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                        view! { <p class="page-error" role="alert">{e.to_string()}</p> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// Sidebar and main area, once the page's data is in.
#[component]
fn DiscussionsLayout(
    user: User,
    channels: Vec<ChannelSummary>,
    settings: ClientSettings,
) -> impl IntoView {
    let params = use_params_map();
    let channel_id = Memo::new(move |_| {
        params
            .read()
            .get("channel_id")
            .and_then(|raw| raw.parse::<ChannelId>().ok())
    });
    let state = ChannelsState::new(channels, user.id, user.display_name.clone(), channel_id);
    provide_context(state);
    let sidebar = SidebarState::new();
    provide_context(sidebar);
    let search = SearchState::new();
    provide_context(search);
    let threads_view = ThreadsViewState::new(state);
    provide_context(threads_view);
    provide_context(LightboxState::new());

    // Choosing a conversation closes the drawer (narrow windows).
    Effect::new(move |_| {
        channel_id.track();
        sidebar.drawer_open.set(false);
    });
    // Escape closes the drawer.
    let on_key = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            sidebar.drawer_open.set(false);
        }
    });
    // Backstop: a focus after a while away reloads the list.
    let refreshed_at = StoredValue::new(now_ms());
    let on_focus = window_event_listener(leptos::ev::focus, move |_| {
        if now_ms() - refreshed_at.get_value() < FOCUS_REFRESH_MS {
            return;
        }
        refreshed_at.set_value(now_ms());
        leptos::task::spawn_local(async move {
            if let Ok(list) = list_channels().await {
                state.replace(list);
            }
        });
    });
    on_cleanup(move || {
        on_key.remove();
        on_focus.remove();
    });

    let logout = ServerAction::<Logout>::new();
    let me = user.id;
    view! {
        <div
            class="discussions"
            class:sidebar-collapsed=move || sidebar.collapsed.get()
            class:drawer-open=move || sidebar.drawer_open.get()
            class:has-channel=move || channel_id.get().is_some()
        >
            <UnreadTitle/>
            <Lightbox/>
            <nav id="sidebar" class="sidebar" aria-label="Channels">
                <header class="sidebar-header">
                    <span class="me-name" title=user.email.clone()>{user.display_name.clone()}</span>
                    <NotifyToggle/>
                    <ThemeToggle/>
                    <ActionForm action=logout attr:class="logout-form">
                        <button type="submit" class="ghost">"Log out"</button>
                    </ActionForm>
                </header>
                <SearchBox/>
                <ThreadsButton/>
                {move || match (search.shown.get(), threads_view.shown.get()) {
                    (Some(_), _) => view! { <SearchResults/> }.into_any(),
                    (None, true) => view! { <ThreadsList/> }.into_any(),
                    (None, false) => view! {
                        <h2 class="sidebar-title">"Conversations"</h2>
                        <ChannelList/>
                    }
                    .into_any(),
                }}
            </nav>
            <div
                class="drawer-backdrop"
                aria-hidden="true"
                on:click=move |_| sidebar.drawer_open.set(false)
            ></div>
            {move || match channel_id.get() {
                Some(id) => view! { <ChannelRoom channel_id=id me settings/> }.into_any(),
                None => view! {
                    <main class="empty-state">
                        <div class="empty-toggle"><SidebarToggle/></div>
                        <p>"Select a conversation to start chatting"</p>
                    </main>
                }
                .into_any(),
            }}
        </div>
    }
}
