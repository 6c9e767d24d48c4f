//! The messages of the open conversation: rows laid out by
//! `client::message_rows` (date separators, unread divider, grouping,
//! pending and failed sends), and the scrolling a reader expects: open at
//! the first unread message, stay at the bottom only when already there
//! (otherwise count new messages in a pill), and load older messages at the
//! top without moving what is on screen.

use crate::protocol::Seq;
use leptos::prelude::*;

use crate::client::browser::utc_offset_minutes;
use crate::client::linkify::{segments, Segment};
use crate::client::message_rows::{layout, MessageRow, PendingRow, Row, RowContext};
use crate::client::scroll::ScrollBox;
use crate::protocol::Timestamp;
use crate::ui::badge::Avatar;
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
        let cx = RowContext {
            me: room.me,
            name_of: &name_of,
            unread_after_seq: Some(room.unread_after_seq),
            utc_offset_minutes: utc_offset.get(),
            now: Timestamp::from_millis(channels.now_ms.get() as i64),
        };
        let timeline = room.timeline.read();
        let outbox = room.outbox.read();
        layout(timeline.messages(), outbox.items(), &cx)
    });

    // Scrolling.
    let at_bottom = RwSignal::new(true);
    let unseen = RwSignal::new(0usize);
    let geometry = move || {
        scroller.get_untracked().map(|el| ScrollBox {
            top: el.scroll_top() as f64,
            client_height: el.client_height() as f64,
            scroll_height: el.scroll_height() as f64,
        })
    };
    let scroll_to_bottom = move || {
        if let Some(el) = scroller.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
        at_bottom.set(true);
        unseen.set(0);
    };
    // Older messages go in above: once they are drawn (next animation
    // frame), move down by their height so the same messages stay in view.
    let maybe_load_older = move || {
        let Some(before) = geometry() else {
            return;
        };
        if before.wants_older() && room.has_older.get_untracked() {
            room.load_older(move || {
                request_animation_frame(move || {
                    if let Some(el) = scroller.get_untracked() {
                        let height = el.scroll_height() as f64;
                        let now = el.scroll_top() as f64;
                        // Keep whatever the reader scrolled meanwhile.
                        let moved = now - before.top;
                        let top = before.keep_in_view_after_prepend(height) + moved;
                        el.set_scroll_top(top as i32);
                    }
                });
            });
        }
    };
    let on_scroll = move |_| {
        if let Some(b) = geometry() {
            at_bottom.set(b.is_near_bottom());
            if b.is_near_bottom() {
                unseen.set(0);
            }
        }
        maybe_load_older();
    };

    // First paint: the first unread message, else the newest.
    Effect::new(move |_| {
        request_animation_frame(move || {
            let divider = scroller
                .get_untracked()
                .and_then(|el| el.query_selector(".unread-divider").ok().flatten());
            match divider {
                Some(divider) => divider.scroll_into_view(),
                None => scroll_to_bottom(),
            }
            if let Some(b) = geometry() {
                at_bottom.set(b.is_near_bottom());
            }
            maybe_load_older();
        });
    });

    // Newer messages added below: follow them if the reader was at the
    // bottom (or sent one), else count them in the pill.
    let newest = Memo::new(move |_| {
        let last = room.timeline.with(|t| t.last_seq());
        let pending = room.outbox.with(|o| o.items().len());
        (last, pending)
    });
    Effect::new(move |previous: Option<(Seq, usize)>| {
        let (last, pending) = newest.get();
        if let Some((old_last, old_pending)) = previous {
            let sent_one = pending > old_pending;
            if sent_one || at_bottom.get_untracked() {
                request_animation_frame(scroll_to_bottom);
            } else if last > old_last {
                unseen.update(|n| *n += last.count_after(old_last) as usize);
            }
        }
        (last, pending)
    });

    view! {
        <div
            class="message-scroll"
            node_ref=scroller
            on:scroll=on_scroll
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
            let n = unseen.get();
            (n > 0)
                .then(|| {
                    let label = if n == 1 { "1 new message".to_string() } else { format!("{n} new messages") };
                    view! {
                        <button type="button" class="new-messages-pill" on:click=move |_| scroll_to_bottom()>
                            {label}
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
fn MessageRowView(row: Row) -> impl IntoView {
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
        Row::Message(m) => view! { <StoredMessage m/> }.into_any(),
        Row::Pending(p) => view! { <PendingMessage p/> }.into_any(),
    }
}

/// A stored message: avatar and name on the first of a run, the text,
/// the time.
#[component]
fn StoredMessage(m: MessageRow) -> impl IntoView {
    let avatar = (m.first_in_group && !m.mine).then(|| {
        view! { <Avatar user_id=m.user_id initials=m.initials.clone()/> }
    });
    let header = m.first_in_group.then(|| {
        let who = if m.mine {
            "You".to_string()
        } else {
            m.sender.clone()
        };
        view! {
            <div class="message-meta">
                <span class="sender">{who}</span>
                <time class="message-time" datetime=m.datetime.clone()>{m.time.clone()}</time>
            </div>
        }
    });
    // Grouped messages show no name; screen readers still hear whose it is.
    let hidden_sender = (!m.first_in_group).then(|| {
        let who = if m.mine {
            "You".to_string()
        } else {
            m.sender.clone()
        };
        view! { <span class="visually-hidden">{format!("{who}: ")}</span> }
    });
    let hover_time = (!m.first_in_group).then(|| {
        view! {
            <time class="message-time hover-time" datetime=m.datetime.clone()>{m.time.clone()}</time>
        }
    });
    view! {
        <li
            class="message"
            class:mine=m.mine
            class:first=m.first_in_group
            data-seq=m.seq.get()
        >
            <div class="avatar-slot">{avatar}</div>
            <div class="message-body">
                {header}
                <div class="bubble">
                    {hidden_sender}
                    <MessageText text=m.text/>
                    {hover_time}
                </div>
            </div>
        </li>
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
                </div>
                <div class="pending-line">{status}</div>
            </div>
        </li>
    }
}

/// Message text as text (never markup), line breaks kept by CSS, and
/// http(s) URLs as links that open a new tab without a referrer or opener.
#[component]
fn MessageText(text: String) -> impl IntoView {
    let parts = segments(&text)
        .into_iter()
        .map(|segment| match segment {
            Segment::Text(t) => t.into_any(),
            Segment::Link(url) => view! {
                <a href=url.clone() target="_blank" rel="noopener noreferrer">{url.clone()}</a>
            }
            .into_any(),
        })
        .collect_view();
    view! { <span class="text">{parts}</span> }
}
