//! The messages of the open conversation: rows laid out by
//! `client::message_rows` (date separators, unread divider, grouping,
//! pending and failed sends), and the scrolling a reader expects
//! (`ui::scroll_anchor`): open at the first unread message, stay at the
//! bottom only when already there (otherwise count new messages in a
//! pill), and load older messages at the top without moving what is on
//! screen.

use leptos::prelude::*;

use crate::client::browser::{reveal_message, utc_offset_minutes};
use crate::client::message_rows::{layout, PendingRow, Row, RowContext};
use crate::client::scroll::unseen_label;
use crate::protocol::Timestamp;
use crate::ui::attachments::AttachmentList;
use crate::ui::message_item::StoredMessage;
use crate::ui::message_text::MessageText;
use crate::ui::scroll_anchor::use_scroll_anchor;
use crate::ui::state::channels::ChannelsState;
use crate::ui::state::room::RoomState;

/// The scrolling list of messages.
#[component]
pub fn MessageList() -> impl IntoView {
    let room = expect_context::<RoomState>();
    let channels = expect_context::<ChannelsState>();
    let scroller = NodeRef::<leptos::html::Div>::new();
    // UTC on the server and during hydration, so both render the same
    // rows; the browser's own zone right after.
    let utc_offset = RwSignal::new(0);
    Effect::new(move |_| utc_offset.set(utc_offset_minutes()));

    let rows = Memo::new(move |_| {
        let names = room.names.read();
        let name_of = |id| names.get(&id).cloned();
        let reads = room.reads.read();
        let changes = room.changes.read();
        let cx = RowContext {
            me: room.me,
            name_of: &name_of,
            unread_after_seq: Some(room.unread_after_seq),
            utc_offset_minutes: utc_offset.get(),
            now: Timestamp::from_millis(channels.now_ms.get() as i64),
            reads: room.read_receipts.then_some(&*reads),
            changes: &changes,
        };
        let timeline = room.timeline.read();
        // Thread-only replies wait in the thread panel, not here.
        let pending: Vec<_> = room.outbox.with(|o| {
            o.items()
                .iter()
                .filter(|p| p.in_main_timeline())
                .cloned()
                .collect()
        });
        layout(timeline.messages(), &pending, &cx)
    });

    let anchor = use_scroll_anchor(scroller, room);
    // A jump: once the target is drawn, bring it to the middle.
    Effect::new(move |_| {
        if let Some(seq) = room.highlight.get() {
            request_animation_frame(move || reveal_message(seq.get()));
        }
    });

    view! {
        <div
            class="message-scroll"
            node_ref=scroller
            on:scroll=move |_| anchor.on_scroll()
            aria-busy=move || room.loading_older.get().to_string()
        >
            {move || {
                (!room.has_older.get() && room.timeline.with(|t| !t.is_empty()))
                    .then(|| view! { <p class="history-start">"This is the beginning of the conversation."</p> })
            }}
            {move || {
                room.timeline
                    .with(|t| t.is_empty() && room.outbox.with(|o| o.items().is_empty()))
                    .then(|| view! { <p class="no-messages">"No messages yet. Say hello!"</p> })
            }}
            // aria-live off: the room's announcer reads new messages once,
            // without reading every older page that loads.
            <ol class="messages" role="log" aria-label="Messages" aria-live="off">
                <For each=move || rows.get() key=|row| row.key() let:row>
                    <MessageRowView row/>
                </For>
            </ol>
        </div>
        {move || {
            room.loading_older
                .get()
                .then(|| view! { <p class="loading-older" role="status">"Loading older messages…"</p> })
        }}
        {move || {
            room.detached
                .get()
                .then(|| {
                    view! {
                        <button type="button" class="new-messages-pill jump-latest" on:click=move |_| room.jump_to_latest()>
                            "Jump to the latest messages"
                            <span aria-hidden="true">" ↓"</span>
                        </button>
                    }
                })
        }}
        {move || {
            room.loading_newer
                .get()
                .then(|| view! { <p class="loading-older" role="status">"Loading newer messages…"</p> })
        }}
        {move || {
            let n = anchor.unseen();
            (n > 0 && !room.detached.get())
                .then(|| {
                    view! {
                        <button type="button" class="new-messages-pill" on:click=move |_| anchor.to_bottom()>
                            {unseen_label(n)}
                            <span aria-hidden="true">" ↓"</span>
                        </button>
                    }
                })
        }}
    }
}

/// One row of the list. The two separators share one view (each distinct
/// view type behind `into_any` costs the Wasm its own build, rebuild and
/// hydrate code).
#[component]
pub fn MessageRowView(
    /// The row.
    row: Row,
) -> impl IntoView {
    let separator = |class: &'static str, label: String| {
        view! {
            <li class=class role="separator">
                <span>{label}</span>
            </li>
        }
        .into_any()
    };
    match row {
        Row::Day { label, .. } => separator("day-separator", label),
        Row::Unread => separator("unread-divider", "New messages".into()),
        Row::Message(m) => view! { <StoredMessage m=*m/> }.into_any(),
        Row::Pending(p) => view! { <PendingMessage p/> }.into_any(),
    }
}

/// One of our messages the server has not confirmed: "Sending…", or
/// failed with a retry button.
#[component]
fn PendingMessage(p: PendingRow) -> impl IntoView {
    let room = expect_context::<RoomState>();
    let failed = p.failed.clone();
    let client_id = p.client_id.clone();
    let status = match &failed {
        None => view! { <span class="pending-status">"Sending…"</span> }.into_any(),
        Some(reason) => view! {
            <span class="pending-status" role="alert">{format!("Not sent: {reason}.")}</span>
            <button type="button" class="retry" on:click=move |_| room.retry(&client_id)>
                "Retry"
            </button>
        }
        .into_any(),
    };
    view! {
        <li
            class="message mine first pending"
            class:failed=failed.is_some()
            data-client-id=p.client_id.to_string()
        >
            <div class="avatar-slot"></div>
            <div class="message-body">
                <div class="bubble">
                    <MessageText text=p.text/>
                    {(!p.attachments.is_empty()).then(|| view! { <AttachmentList items=p.attachments.clone()/> })}
                </div>
                <div class="pending-line">{status}</div>
            </div>
        </li>
    }
}
