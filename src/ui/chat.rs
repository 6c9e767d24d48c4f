//! The chat page (plain for now): channel list, the open channel's
//! messages live over the WebSocket, and a composer.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::client::clock::now_ms;
use crate::client::format::typing_text;
use crate::client::socket::SocketHandlers;
use crate::client::timeline::{message_from_frame, Timeline};
use crate::client::typing::{TypingSignal, TypingThrottle};
use crate::client::{use_chat_socket, ConnectionState};
use crate::protocol::{AppError, ClientFrame, ServerFrame, User};
use crate::server_fns::auth::{me, Logout};
use crate::server_fns::channels::{channel_members, list_channels};
use crate::server_fns::history::{load_history, mark_read};

/// `/chat` and `/chat/{channelId}`
#[component]
pub fn ChatPage() -> impl IntoView {
    let user = Resource::new(|| (), |_| me());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(user) => view! { <ChatLayout user/> }.into_any(),
                    Err(AppError::Unauthorized(_)) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Sidebar with the channel list, and the open channel.
#[component]
fn ChatLayout(user: User) -> impl IntoView {
    let params = use_params_map();
    let channel_id = Memo::new(move |_| {
        params
            .read()
            .get("channel_id")
            .and_then(|raw| Uuid::parse_str(&raw).ok())
    });
    let channels = Resource::new(|| (), |_| list_channels());
    let logout = ServerAction::<Logout>::new();
    let me_id = user.id;
    view! {
        <div class="chat-layout">
            <nav class="channel-list" aria-label="Channels">
                <header class="me">
                    <span>{user.display_name.clone()}</span>
                    <ActionForm action=logout>
                        <button type="submit">"Log out"</button>
                    </ActionForm>
                </header>
                <Transition fallback=|| ()>
                    <ul>
                        {move || {
                            channels
                                .get()
                                .and_then(Result::ok)
                                .unwrap_or_default()
                                .into_iter()
                                .map(|c| {
                                    let href = format!("/chat/{}", c.id);
                                    let unread = (c.unread_count > 0)
                                        .then(|| view! { <span class="unread">{c.unread_count}</span> });
                                    view! {
                                        <li>
                                            <a href=href>{c.name}</a>
                                            {unread}
                                        </li>
                                    }
                                })
                                .collect_view()
                        }}
                    </ul>
                </Transition>
            </nav>
            {move || match channel_id.get() {
                Some(id) => view! { <ChannelRoom channel_id=id me_id/> }.into_any(),
                None => view! {
                    <main class="empty-state">"Select a conversation to start chatting"</main>
                }
                .into_any(),
            }}
        </div>
    }
}

/// One open channel: loads the first page and the members, then shows the
/// live room, or a clear message when the channel cannot be opened.
#[component]
fn ChannelRoom(channel_id: Uuid, me_id: Uuid) -> impl IntoView {
    let history = Resource::new(move || channel_id, |id| load_history(id, None));
    let members = Resource::new(move || channel_id, channel_members);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading messages…"</p> }>
            {move || Suspend::new(async move {
                match (history.await, members.await) {
                    (Ok(page), Ok(members)) => {
                        let names: HashMap<Uuid, String> = members
                            .into_iter()
                            .map(|m| (m.id, m.display_name))
                            .collect();
                        let mut first = Timeline::default();
                        first.extend(page.messages);
                        view! { <LiveRoom channel_id me_id first names/> }.into_any()
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
fn RoomError(error: AppError) -> impl IntoView {
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

/// The live room: messages (first page + live), typing, composer.
#[component]
fn LiveRoom(
    channel_id: Uuid,
    me_id: Uuid,
    first: Timeline,
    names: HashMap<Uuid, String>,
) -> impl IntoView {
    let timeline = RwSignal::new(first);
    let names = StoredValue::new(names);
    let connection = RwSignal::new(ConnectionState::Connecting);
    let typing = RwSignal::new(HashSet::<Uuid>::new());
    let draft = RwSignal::new(String::new());
    let shown = move || timeline.get();
    let names = move || names.get_value();

    let socket = use_chat_socket(
        channel_id,
        SocketHandlers {
            on_frame: Rc::new(move |frame: ServerFrame| {
                if let Some(m) = message_from_frame(&frame) {
                    let seq = m.seq;
                    timeline.update(|t| {
                        t.insert(m);
                    });
                    leptos::task::spawn_local(async move {
                        let _ = mark_read(channel_id, Some(seq)).await;
                    });
                    return;
                }
                if let ServerFrame::Typing { user_id, is_typing } = frame {
                    typing.update(|set| {
                        if is_typing {
                            set.insert(user_id);
                        } else {
                            set.remove(&user_id);
                        }
                    });
                }
            }),
            on_state: Rc::new(move |state| connection.set(state)),
            last_seq: Rc::new(move || timeline.with_untracked(|t| t.last_seq())),
        },
    );

    // Typing: start once, stop after 2 s without input or when sending.
    let throttle = StoredValue::new(TypingThrottle::default());
    let signal_typing = move |signal: Option<TypingSignal>| match signal {
        Some(TypingSignal::Start) => {
            socket.send(&ClientFrame::TypingStart);
        }
        Some(TypingSignal::Stop) => {
            socket.send(&ClientFrame::TypingStop);
        }
        None => {}
    };
    Effect::new(move |_| {
        let tick = set_interval_with_handle(
            move || {
                let mut signal = None;
                throttle.update_value(|t| signal = t.tick(now_ms()));
                signal_typing(signal);
            },
            std::time::Duration::from_millis(500),
        );
        if let Ok(handle) = tick {
            on_cleanup(move || handle.clear());
        }
    });

    let send = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        let frame = ClientFrame::MessageSend {
            text,
            client_id: Uuid::new_v4().to_string(),
        };
        if socket.send(&frame) {
            draft.set(String::new());
            let mut signal = None;
            throttle.update_value(|t| signal = t.sent());
            // The server ends typing on send itself; no frame needed.
            let _ = signal;
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() {
            ev.prevent_default();
            send();
        }
    };

    view! {
        <section class="chat-room" data-connection=move || connection.get().as_str()>
                <ul class="messages" role="log" aria-label="Messages" aria-live="polite">
                    {move || {
                        let names = names();
                        shown()
                            .messages()
                            .map(|m| {
                                let who = names
                                    .get(&m.user_id)
                                    .cloned()
                                    .unwrap_or_else(|| "Unknown".into());
                                let class = if m.user_id == me_id { "message mine" } else { "message" };
                                view! {
                                    <li class=class data-seq=m.seq>
                                        <span class="sender">{who}</span>
                                        ": "
                                        <span class="text">{m.text.clone()}</span>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            <p class="typing" data-testid="typing-indicator" aria-live="polite">
                {move || {
                    let names = names();
                    let mut who: Vec<String> = typing
                        .get()
                        .iter()
                        .filter(|id| **id != me_id)
                        .map(|id| names.get(id).cloned().unwrap_or_else(|| "Someone".into()))
                        .collect();
                    who.sort();
                    typing_text(&who)
                }}
            </p>
            <form class="composer" on:submit=move |ev| {
                ev.prevent_default();
                send();
            }>
                <label for="composer-text" class="visually-hidden">"Message"</label>
                <textarea
                    id="composer-text"
                    rows="2"
                    placeholder="Write a message"
                    prop:value=move || draft.get()
                    on:input=move |ev| {
                        draft.set(event_target_value(&ev));
                        let mut signal = None;
                        throttle.update_value(|t| signal = t.keystroke(now_ms()));
                        signal_typing(signal);
                    }
                    on:keydown=on_keydown
                ></textarea>
                <button type="submit">"Send"</button>
            </form>
        </section>
    }
}
