//! One stored message in the list: its sender and time, its quote (a
//! button that jumps to the original), its text or "Message deleted",
//! "(edited)", its pin, its reaction chips (pressed when mine; the tooltip
//! says who), our refused changes with a retry, "seen by" avatars, and the
//! actions (`ui::message_actions`): a toolbar on hover or focus, a menu
//! button for keyboards, and a long press on touch screens.

use leptos::prelude::*;

use crate::client::message_rows::{who_reacted, MessageRow, QuoteRow, ReactionChip, ThreadRow};
use crate::protocol::{ChangeRequest, MessageId, UserId};
use crate::server_fns::messages::load_reactors;
use crate::ui::attachments::AttachmentList;
use crate::ui::badge::Avatar;
use crate::ui::link_preview::LinkPreviewList;
use crate::ui::message_actions::{DeleteConfirm, MessageActions};
use crate::ui::message_text::MessageText;
use crate::ui::state::channels::ChannelsState;
use crate::ui::state::room::{ActionsView, RoomState};

/// Context marker: the messages drawn inside the thread panel (they offer
/// no thread of their own, and their summary would repeat the panel).
#[derive(Clone, Copy)]
pub struct InThreadPanel;

/// How long a touch must stay down to open the actions menu.
const LONG_PRESS_MS: u64 = 500;

/// A stored message.
#[component]
pub fn StoredMessage(
    /// The row to draw.
    m: MessageRow,
) -> impl IntoView {
    let room = expect_context::<RoomState>();
    let id = m.id;
    let seq = m.seq;
    let who = if m.mine {
        "You".to_string()
    } else {
        m.sender.clone()
    };
    let avatar = (m.first_in_group && !m.mine).then(|| {
        view! { <Avatar user_id=m.user_id initials=m.initials.clone()/> }
    });
    let header = m.first_in_group.then(|| {
        view! {
            <div class="message-meta">
                <span class="sender">{who.clone()}</span>
                <time class="message-time" datetime=m.datetime.clone()>{m.time.clone()}</time>
            </div>
        }
    });
    // Grouped messages show no name; screen readers still hear whose it is.
    let hidden_sender = (!m.first_in_group)
        .then(|| view! { <span class="visually-hidden">{format!("{who}: ")}</span> });
    let hover_time = (!m.first_in_group).then(|| {
        view! {
            <time class="message-time hover-time" datetime=m.datetime.clone()>{m.time.clone()}</time>
        }
    });
    let pinned = m.pinned_by.clone().map(|by| {
        let at = m.pinned_at.clone().unwrap_or_default();
        view! { <p class="pinned-note">{format!("📌 Pinned by {by} · {at}")}</p> }
    });
    let quote = m.quote.clone().map(|q| view! { <QuoteButton q/> });
    let body = if m.deleted {
        view! { <em class="tombstone">"Message deleted"</em> }.into_any()
    } else {
        view! { <MessageText text=m.text.clone() mentions=m.mention_names.clone()/> }.into_any()
    };
    let attachments = (!m.attachments.is_empty())
        .then(|| view! { <AttachmentList items=m.attachments.clone()/> });
    let previews =
        (!m.previews.is_empty()).then(|| view! { <LinkPreviewList items=m.previews.clone()/> });
    let edited = m.edited.clone().map(|label| {
        view! { <span class="edited" title=label>" (edited)"</span> }
    });
    let saving = m
        .saving
        .then(|| view! { <span class="saving" role="status">"Saving…"</span> });
    let reactions = (!m.reactions.is_empty() && !m.deleted).then(|| {
        let chips = m
            .reactions
            .iter()
            .map(|r| view! { <ReactionButton id chip=r.clone()/> })
            .collect_view();
        view! {
            <div class="reactions" role="group" aria-label="Reactions">
                {chips}
                <button
                    type="button"
                    class="reaction-chip add-reaction"
                    aria-label="Add a reaction"
                    on:click=move |_| room.actions_for.set(Some((id, ActionsView::Picker)))
                >
                    "+"
                </button>
            </div>
        }
    });
    let failed = m
        .failed
        .iter()
        .map(|f| {
            let (retry_id, dismiss_id) = (f.client_id.clone(), f.client_id.clone());
            view! {
                <p class="change-failed" role="alert">
                    <span>{f.label.clone()}</span>
                    <button type="button" class="ghost" on:click=move |_| room.retry_change(&retry_id)>
                        "Retry"
                    </button>
                    <button type="button" class="ghost" on:click=move |_| room.dismiss_change(&dismiss_id)>
                        "Dismiss"
                    </button>
                </p>
            }
        })
        .collect_view();
    let seen_by = (!m.seen_by.is_empty()).then(|| {
        let names: Vec<String> = m.seen_by.iter().map(|s| s.name.clone()).collect();
        let label = format!("Seen by {}", names.join(", "));
        let avatars = m
            .seen_by
            .iter()
            .map(|s| view! { <Avatar user_id=s.user_id initials=s.initials.clone()/> })
            .collect_view();
        view! {
            <div class="seen-by" title=label.clone() aria-label=label data-testid="seen-by">
                {avatars}
            </div>
        }
    });

    // Touch: a long press opens the actions menu.
    let press = StoredValue::new(None::<TimeoutHandle>);
    let cancel_press = move || {
        if let Some(handle) = press.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    };
    let on_pointerdown = move |ev: leptos::ev::PointerEvent| {
        if ev.pointer_type() != "touch" || m.deleted {
            return;
        }
        cancel_press();
        let timer = set_timeout_with_handle(
            move || room.actions_for.set(Some((id, ActionsView::Menu))),
            std::time::Duration::from_millis(LONG_PRESS_MS),
        );
        if let Ok(handle) = timer {
            press.set_value(Some(handle));
        }
    };
    // In the thread panel a message offers no thread of its own, and its
    // summary would only repeat the panel.
    let in_panel = use_context::<InThreadPanel>().is_some();
    let threadable = m.parent_id.is_none() && !in_panel;
    let actions = (!m.deleted).then(|| {
        view! {
            <MessageActions id mine=m.mine pinned=m.pinned_by.is_some() text=m.text.clone() threadable/>
        }
    });
    let thread = m
        .thread
        .clone()
        .filter(|_| !in_panel)
        .map(|t| view! { <ThreadSummaryButton id t/> });
    let in_thread_note = m.parent_id.filter(|_| m.also_in_channel && !in_panel).map(|parent| {
        view! {
            <button type="button" class="ghost thread-note" on:click=move |_| room.open_thread(parent)>
                "Replied in a thread"
            </button>
        }
    });
    let confirm =
        move || (room.confirm_delete.get() == Some(id)).then(|| view! { <DeleteConfirm id/> });

    view! {
        <li
            class="message"
            class:mine=m.mine
            class:first=m.first_in_group
            class:deleted=m.deleted
            class:mentions-me=m.mentions_me
            class:highlighted=move || room.highlight.get() == Some(seq)
            data-seq=seq.get()
            data-id=id.to_string()
            tabindex="-1"
            on:pointerdown=on_pointerdown
            on:pointerup=move |_| cancel_press()
            on:pointercancel=move |_| cancel_press()
            on:pointermove=move |_| cancel_press()
            on:contextmenu=move |ev| {
                if room.actions_for.get_untracked().is_some_and(|(open, _)| open == id) {
                    ev.prevent_default();
                }
            }
        >
            <div class="avatar-slot">{avatar}</div>
            <div class="message-body">
                {header}
                {pinned}
                {quote}
                <div class="bubble-row">
                    <div class="bubble">
                        {hidden_sender}
                        {body}
                        {attachments}
                        {previews}
                        {edited}
                        {hover_time}
                    </div>
                    {actions}
                </div>
                {saving}
                {confirm}
                {reactions}
                {thread}
                {in_thread_note}
                {failed}
                {seen_by}
            </div>
        </li>
    }
}

/// A parent's thread under it: avatars, "3 replies", the last reply's
/// time, and my unread replies in it; opens the thread panel.
#[component]
fn ThreadSummaryButton(id: MessageId, t: ThreadRow) -> impl IntoView {
    let room = expect_context::<RoomState>();
    let channels = expect_context::<ChannelsState>();
    let avatars = t
        .participants
        .iter()
        .take(4)
        .map(|(user_id, initials)| view! { <Avatar user_id=*user_id initials=initials.clone()/> })
        .collect_view();
    let unread = move || {
        let n = channels.thread_unread_of(id);
        (n > 0).then(|| view! { <span class="thread-unread" data-testid="thread-unread">{format!("{n} new")}</span> })
    };
    let label = format!("{}, {}. Open the thread", t.replies, t.last_reply);
    view! {
        <button
            type="button"
            class="thread-summary"
            data-testid="thread-summary"
            aria-label=label
            on:click=move |_| room.open_thread(id)
        >
            <span class="thread-avatars" aria-hidden="true">{avatars}</span>
            <span class="thread-count">{t.replies.clone()}</span>
            <span class="thread-last">{t.last_reply.clone()}</span>
            {unread}
        </button>
    }
}

/// One reaction chip: pressed when mine; its tooltip names who reacted.
/// When more reacted than the message lists, hovering or focusing it asks
/// the reactions route for everyone (and whether I am among them).
#[component]
fn ReactionButton(id: MessageId, chip: ReactionChip) -> impl IntoView {
    let room = expect_context::<RoomState>();
    let full = RwSignal::new(None::<(String, bool)>);
    let asked = StoredValue::new(false);
    let emoji = chip.emoji.clone();
    let fetch = {
        let emoji = emoji.clone();
        move || {
            if !chip.partial || asked.get_value() {
                return;
            }
            asked.set_value(true);
            let emoji = emoji.clone();
            leptos::task::spawn_local(async move {
                if let Ok(users) = load_reactors(room.channel_id, id, emoji).await {
                    let name = |u: UserId| room.name_or(u, "You", "Unknown");
                    let mine = users.contains(&room.me);
                    let who = who_reacted(&users, users.len() as i64, &name);
                    let _ = full.try_set(Some((who, mine)));
                }
            });
        }
    };
    let fetch_on_focus = fetch.clone();
    let who = {
        let who = chip.who.clone();
        move || full.with(|f| f.as_ref().map_or_else(|| who.clone(), |(w, _)| w.clone()))
    };
    let mine = move || full.with(|f| f.as_ref().map_or(chip.mine, |(_, m)| *m));
    let label = {
        let who = who.clone();
        let emoji = chip.emoji.clone();
        move || {
            format!(
                "{emoji} {}: {}{}",
                chip.count,
                who(),
                if mine() {
                    " (select to remove yours)"
                } else {
                    ""
                }
            )
        }
    };
    view! {
        <button
            type="button"
            class="reaction-chip"
            aria-pressed=move || mine().to_string()
            title=who
            aria-label=label
            on:mouseenter=move |_| fetch()
            on:focus=move |_| fetch_on_focus()
            on:click=move |_| {
                // The chip knows best whether I reacted (the message lists
                // at most 50 reactors).
                let emoji = emoji.clone();
                let request = if mine() {
                    ChangeRequest::ReactionRemove { emoji }
                } else {
                    ChangeRequest::ReactionAdd { emoji }
                };
                room.change(id, request);
            }
        >
            <span class="reaction-emoji">{chip.emoji.clone()}</span>
            <span class="reaction-count">{chip.count}</span>
        </button>
    }
}

/// The quote of a reply: who wrote the original and its start; activating
/// it shows the original, loading the page around it when needed.
#[component]
fn QuoteButton(q: QuoteRow) -> impl IntoView {
    let room = expect_context::<RoomState>();
    let seq = q.seq;
    let preview = if q.deleted {
        view! { <em>"Message deleted"</em> }.into_any()
    } else {
        view! { <span class="quote-text">{q.preview.clone()}</span> }.into_any()
    };
    view! {
        <button
            type="button"
            class="quote"
            aria-label=format!("Reply to {}: show the original message", q.sender)
            on:click=move |_| room.jump_to(seq)
        >
            <span class="quote-sender">{q.sender.clone()}</span>
            {preview}
        </button>
    }
}
