//! One open conversation: loads its first page and members, opens its
//! WebSocket, and keeps [`RoomState`] (messages, unconfirmed sends,
//! presence, typing, connection) in step with the server's frames. The
//! header, message list, typing indicator and composer draw that state.

use crate::protocol::ClientId;
use crate::protocol::Seq;
use crate::protocol::{ChannelId, UserId};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::client::browser::{page_is_attended, page_is_visible};
use crate::client::channel_list::Activity;
use crate::client::outbox::Outbox;
use crate::client::socket::SocketHandlers;
use crate::client::timeline::{message_from_frame, Timeline};
use crate::client::{use_chat_socket, ConnectionState, SocketSender};
use crate::protocol::{
    AppError, ClientFrame, ClientSettings, ErrorCode, PresenceStatus, ServerFrame,
};
use crate::server_fns::channels::channel_members;
use crate::server_fns::history::{load_history, mark_read};
use crate::ui::channel_list::ChannelsState;
use crate::ui::chat_header::ChatHeader;
use crate::ui::composer::Composer;
use crate::ui::message_list::MessageList;
use crate::ui::typing_indicator::TypingIndicator;

/// Everything the open conversation's components read and change;
/// provided as context by [`ChannelRoom`].
#[derive(Clone, Copy)]
pub struct RoomState {
    /// The channel.
    pub channel_id: ChannelId,
    /// The viewer.
    pub me: UserId,
    /// Stored messages, by seq.
    pub timeline: RwSignal<Timeline>,
    /// Our sends the server has not confirmed.
    pub outbox: RwSignal<Outbox>,
    /// Member names by id.
    pub names: RwSignal<HashMap<UserId, String>>,
    /// Who is online in the channel.
    pub online: RwSignal<HashSet<UserId>>,
    /// Who is typing (others).
    pub typing: RwSignal<HashSet<UserId>>,
    /// The socket's state.
    pub connection: RwSignal<ConnectionState>,
    /// Whether older messages exist before the first one shown.
    pub has_older: RwSignal<bool>,
    /// Whether a page of older messages is on its way.
    pub loading_older: RwSignal<bool>,
    /// The read cursor when the channel was opened (the unread divider).
    pub unread_after_seq: Seq,
    /// The server refused the viewer (access revoked while open).
    pub revoked: RwSignal<bool>,
    /// The newest incoming message, for screen readers.
    pub announcement: RwSignal<String>,
    /// Longest text the server accepts.
    pub max_text_chars: usize,
    socket: StoredValue<Option<SocketSender>>,
}

impl RoomState {
    fn socket(&self) -> Option<SocketSender> {
        self.socket.try_get_value().flatten()
    }

    /// Sends a frame if the socket is open.
    pub fn send_frame(&self, frame: &ClientFrame) -> bool {
        self.socket().is_some_and(|s| s.send(frame))
    }

    /// Shows `text` at once as pending and sends it; if the socket is down
    /// it goes out after the reconnect.
    pub fn send_text(&self, text: String) {
        let mut client_id = ClientId::default();
        self.outbox.update(|o| client_id = o.add(text.clone()));
        self.send_frame(&ClientFrame::MessageSend { text, client_id });
    }

    /// Sends a failed message again with its original client id.
    pub fn retry(&self, client_id: &ClientId) {
        let mut text = None;
        self.outbox.update(|o| text = o.retry(client_id));
        if let Some(text) = text {
            self.send_frame(&ClientFrame::MessageSend {
                text,
                client_id: client_id.clone(),
            });
        }
    }

    /// After a (re)connect: everything still pending goes out again.
    fn resend_pending(&self) {
        let pending = self
            .outbox
            .try_with_untracked(|o| o.to_resend())
            .unwrap_or_default();
        for (client_id, text) in pending {
            self.send_frame(&ClientFrame::MessageSend { text, client_id });
        }
    }

    /// Fetches the page before the first message shown and adds it; then
    /// runs `after` (the list uses it to keep its scroll position).
    /// Returns at once if a page is already on its way or none is left.
    pub fn load_older(&self, after: impl FnOnce() + 'static) {
        if self.loading_older.get_untracked() || !self.has_older.get_untracked() {
            return;
        }
        let Some(first) = self.timeline.with_untracked(|t| t.first_seq()) else {
            return;
        };
        self.loading_older.set(true);
        let state = *self;
        leptos::task::spawn_local(async move {
            let result = load_history(state.channel_id, Some(first)).await;
            if let Ok(page) = result {
                let _ = state.has_older.try_set(page.has_more);
                let _ = state.timeline.try_update(|t| t.extend(page.messages));
                after();
            }
            let _ = state.loading_older.try_set(false);
        });
    }

    /// Marks everything shown as read when the reader is looking.
    pub fn read_if_attended(&self) {
        if page_is_attended() {
            let seq = self.timeline.with_untracked(|t| t.last_seq());
            if seq > Seq::ZERO {
                self.send_frame(&ClientFrame::Read { seq: Some(seq) });
            }
        }
    }

    /// A server frame for this room.
    fn on_frame(&self, frame: ServerFrame, channels: ChannelsState) {
        if let Some(m) = message_from_frame(&frame) {
            if m.user_id == self.me {
                let _ = self.outbox.try_update(|o| o.confirm(&m.client_id));
            }
            let sender = self.names.with_untracked(|n| n.get(&m.user_id).cloned());
            channels.on_activity(Activity::of_message(&m, sender.clone()));
            let incoming = m.user_id != self.me;
            let text = m.text.clone();
            let mut added = false;
            let _ = self.timeline.try_update(|t| added = t.insert(m));
            if added && incoming {
                let who = sender.unwrap_or_else(|| "Someone".into());
                let _ = self.announcement.try_set(format!("{who}: {text}"));
                self.read_if_attended();
            }
            return;
        }
        match frame {
            ServerFrame::PresenceState { user_ids } => {
                let _ = self.online.try_set(user_ids.into_iter().collect());
            }
            ServerFrame::PresenceUpdate { user_id, status } => {
                let _ = self.online.try_update(|set| match status {
                    PresenceStatus::Online => {
                        set.insert(user_id);
                    }
                    PresenceStatus::Offline => {
                        set.remove(&user_id);
                    }
                });
            }
            ServerFrame::Typing { user_id, is_typing } => {
                let _ = self.typing.try_update(|set| {
                    if is_typing {
                        set.insert(user_id);
                    } else {
                        set.remove(&user_id);
                    }
                });
            }
            ServerFrame::ChannelActivity {
                channel_id,
                seq,
                message_id,
                user_id,
                preview,
                created_at,
            } => channels.on_activity(Activity {
                channel_id,
                seq,
                message_id,
                user_id,
                sender_name: None,
                preview,
                created_at,
            }),
            ServerFrame::ReadUpdated {
                channel_id,
                last_read_seq,
            } => channels.on_read(channel_id, last_read_seq),
            ServerFrame::Error {
                code,
                client_id: Some(client_id),
                retry_after_ms,
                ..
            } => {
                let reason = failure_reason(code, retry_after_ms);
                let _ = self.outbox.try_update(|o| o.fail(&client_id, reason));
            }
            ServerFrame::Error {
                code: ErrorCode::Forbidden,
                ..
            } => {
                let _ = self.revoked.try_set(true);
            }
            _ => {}
        }
    }
}

/// What a failed message says about why.
fn failure_reason(code: ErrorCode, retry_after_ms: Option<u64>) -> String {
    match code {
        ErrorCode::RateLimited => match retry_after_ms {
            Some(ms) => format!("Sending too fast; retry in {}s", ms.div_ceil(1000).max(1)),
            None => "Sending too fast".into(),
        },
        ErrorCode::PersistFailed => "Not saved".into(),
        ErrorCode::MessageTooLong => "Too long".into(),
        ErrorCode::EmptyMessage => "Empty".into(),
        ErrorCode::Forbidden => "Not a member".into(),
        _ => "Not sent".into(),
    }
}

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
    let history = Resource::new(move || channel_id, |id| load_history(id, None));
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
                        first.extend(page.messages);
                        view! { <LiveRoom channel_id me first has_older names settings/> }
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

/// The live room: state, socket, and the components that draw them.
#[component]
fn LiveRoom(
    channel_id: ChannelId,
    me: UserId,
    first: Timeline,
    has_older: bool,
    names: HashMap<UserId, String>,
    settings: ClientSettings,
) -> impl IntoView {
    let channels = expect_context::<ChannelsState>();
    channels.learn_names(names.clone());
    let unread_after_seq = channels
        .list
        .with_untracked(|list| {
            list.iter()
                .find(|c| c.id == channel_id)
                .map(|c| c.last_read_seq)
        })
        .unwrap_or(Seq::ZERO);
    let room = RoomState {
        channel_id,
        me,
        timeline: RwSignal::new(first),
        outbox: RwSignal::new(Outbox::default()),
        names: RwSignal::new(names),
        online: RwSignal::new(HashSet::new()),
        typing: RwSignal::new(HashSet::new()),
        connection: RwSignal::new(ConnectionState::Connecting),
        has_older: RwSignal::new(has_older),
        loading_older: RwSignal::new(false),
        unread_after_seq,
        revoked: RwSignal::new(false),
        announcement: RwSignal::new(String::new()),
        max_text_chars: settings.max_text_chars,
        socket: StoredValue::new(None),
    };
    provide_context(room);

    let socket = use_chat_socket(
        channel_id,
        SocketHandlers {
            on_frame: Rc::new(move |frame| room.on_frame(frame, channels)),
            on_state: Rc::new(move |state| {
                let _ = room.connection.try_set(state);
                match state {
                    ConnectionState::Connected => room.resend_pending(),
                    ConnectionState::Closed => {
                        let _ = room.revoked.try_set(true);
                    }
                    _ => {}
                }
            }),
            last_seq: Rc::new(move || {
                room.timeline
                    .try_with_untracked(|t| t.last_seq())
                    .unwrap_or(Seq::ZERO)
            }),
        },
    );
    room.socket.set_value(Some(socket));

    // Opening the channel reads it.
    Effect::new(move |_| {
        let seq = room.timeline.with_untracked(|t| t.last_seq());
        leptos::task::spawn_local(async move {
            if let Ok(cursor) = mark_read(channel_id, Some(seq)).await {
                channels.on_read(channel_id, cursor);
            }
        });
    });
    // Back in front, or back online: reconnect now rather than after the
    // backoff, and read what arrived meanwhile.
    let wake = move || {
        if page_is_visible() {
            socket.reconnect_now();
            room.read_if_attended();
        }
    };
    let on_visible = window_event_listener_untyped("visibilitychange", move |_| wake());
    let on_online = window_event_listener(leptos::ev::online, move |_| socket.reconnect_now());
    let on_focus = window_event_listener(leptos::ev::focus, move |_| wake());
    on_cleanup(move || {
        on_visible.remove();
        on_online.remove();
        on_focus.remove();
    });

    view! {
        <main class="chat-room" data-connection=move || room.connection.get().as_str()>
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
            <MessageList/>
            <TypingIndicator/>
            <Composer/>
            <p class="visually-hidden" aria-live="polite" data-testid="announcer">
                {move || room.announcement.get()}
            </p>
        </main>
    }
}
