//! One open conversation: loads its first page and members, then opens the
//! live room ([`RoomState`]: messages, unconfirmed sends, presence, typing,
//! connection, kept in step with the server's frames) and draws it with the
//! header, message list, typing indicator and composer.

use crate::protocol::{ChannelId, MessageId, Rev, Seq, UserId};
use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::client::timeline::Timeline;
use crate::protocol::{AppError, ClientSettings};
use crate::server_fns::channels::channel_members;
use crate::server_fns::history::load_history;
use crate::ui::chat_header::ChatHeader;
use crate::ui::composer::Composer;
use crate::ui::message_list::MessageList;
use crate::ui::pins_panel::PinsPanel;
use crate::ui::state::channels::ChannelsState;
use crate::ui::state::room::RoomState;
use crate::ui::thread_panel::ThreadPanel;
use crate::ui::typing_indicator::TypingIndicator;
use crate::ui::upload_tray::UploadTray;

/// `/chat/{channelId}`: loads the first page and the members, then shows
/// the live room, or a clear message when the channel cannot be opened.
#[component]
pub fn ChannelRoom(
    /// The channel to open.
    channel_id: ChannelId,
    /// The viewer.
    me: UserId,
    /// Limits and timings the server announced.
    settings: ClientSettings,
) -> impl IntoView {
    let history = Resource::new(move || channel_id, |id| load_history(id, None, None, None));
    let members = Resource::new(move || channel_id, channel_members);
    view! {
        <Suspense fallback=|| view! { <main class="room-loading">"Loading messages…"</main> }>
            {move || Suspend::new(async move {
                match (history.await, members.await) {
                    (Ok(page), Ok(members)) => {
                        let names: HashMap<UserId, String> = members
                            .into_iter()
                            .map(|m| (m.id, m.display_name))
                            .collect();
                        let mut first = Timeline::default();
                        let has_older = page.has_more;
                        let first_rev = page.head_rev;
                        first.extend(page.messages);
                        view! { <LiveRoom channel_id me first has_older first_rev names settings/> }
                            .into_any()
                    }
                    (Err(AppError::Unauthorized(_)), _) | (_, Err(AppError::Unauthorized(_))) => {
                        view! { <Redirect path="/login"/> }.into_any()
                    }
                    (Err(e), _) | (_, Err(e)) => view! { <RoomError error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Why a channel cannot be shown, in words a user understands.
#[component]
pub fn RoomError(
    /// What went wrong.
    error: AppError,
) -> impl IntoView {
    let text = match error {
        AppError::Forbidden(_) => "You are not a member of this conversation.".to_string(),
        AppError::NotFound(_) | AppError::BadRequest(_) => {
            "This conversation does not exist.".to_string()
        }
        other => format!("This conversation could not be loaded: {other}"),
    };
    view! {
        <main class="room-error">
            <p role="alert">{text}</p>
            <a href="/chat">"Back to your conversations"</a>
        </main>
    }
}

/// The live room: its state (with the socket), provided to the components
/// that draw it.
#[component]
fn LiveRoom(
    channel_id: ChannelId,
    me: UserId,
    first: Timeline,
    has_older: bool,
    first_rev: Rev,
    names: HashMap<UserId, String>,
    settings: ClientSettings,
) -> impl IntoView {
    let channels = expect_context::<ChannelsState>();
    let room = RoomState::open(
        channel_id,
        me,
        first,
        (has_older, first_rev),
        names,
        settings,
        channels,
    );
    provide_context(room);
    let tray = UploadTray::new(
        channel_id,
        settings.max_attachments,
        settings.upload_max_bytes,
    );
    provide_context(tray);
    // Files dropped anywhere on the conversation go to the composer.
    let dragging = RwSignal::new(false);
    let has_files = |ev: &leptos::ev::DragEvent| {
        ev.data_transfer()
            .is_some_and(|d| d.types().includes(&"Files".into(), 0))
    };
    // `?at={seq}` (a search result): show that message, loading the page
    // around it when it is not loaded.
    let query = use_query_map();
    let at = Memo::new(move |_| {
        query
            .read()
            .get("at")
            .and_then(|raw| raw.parse::<i64>().ok())
            .filter(|seq| *seq >= 1)
            .map(Seq::new)
    });
    Effect::new(move |_| {
        if let Some(seq) = at.get() {
            room.jump_to(seq);
        }
    });
    // `?thread={id}` (the threads view): open that thread's panel.
    let thread = Memo::new(move |_| {
        query
            .read()
            .get("thread")
            .and_then(|raw| raw.parse::<MessageId>().ok())
    });
    Effect::new(move |_| {
        if let Some(id) = thread.get() {
            room.open_thread(id);
        }
    });

    view! {
        <main
            class="chat-room"
            class:dragging=move || dragging.get()
            data-connection=move || room.connection.get().as_str()
            on:dragover=move |ev| {
                if has_files(&ev) {
                    ev.prevent_default();
                    dragging.set(true);
                }
            }
            on:dragleave=move |ev| {
                // Only when the pointer leaves the room, not a child.
                if ev.related_target().is_none() {
                    dragging.set(false);
                }
            }
            on:drop=move |ev| {
                dragging.set(false);
                if let Some(files) = ev.data_transfer().and_then(|d| d.files()) {
                    if files.length() > 0 {
                        ev.prevent_default();
                        if !room.revoked.get_untracked() {
                            tray.add_list(&files);
                        }
                    }
                }
            }
        >
            <ChatHeader/>
            {move || {
                room.revoked
                    .get()
                    .then(|| {
                        view! {
                            <p class="room-banner" role="alert">
                                "You are no longer a member of this conversation."
                            </p>
                        }
                    })
            }}
            <div class="room-body">
                <div class="room-column">
                    <MessageList/>
                    <TypingIndicator/>
                    <Composer/>
                </div>
                {move || room.pins_open.get().then(|| view! { <PinsPanel/> })}
                {move || room.thread.get().map(|thread| view! { <ThreadPanel thread/> })}
            </div>
            <p class="visually-hidden" aria-live="polite" data-testid="announcer">
                {move || room.announcement.get()}
            </p>
        </main>
    }
}
