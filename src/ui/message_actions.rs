//! What a reader can do with a message: a toolbar shown on hover or
//! keyboard focus (react, reply, more), the "more" menu button (reachable
//! by keyboard, and opened by a long press on touch screens) with react,
//! reply, edit and delete (own messages), pin or unpin, copy text; the
//! emoji picker (the six common ones, then a search over the emoji the app
//! ships); and the delete confirmation.

use leptos::prelude::*;

use crate::client::browser::{copy_text, focus_menu_item};
use crate::protocol::emoji::{code_of, search, COMMON};
use crate::protocol::{ChangeRequest, MessageId};
use crate::ui::state::room::{ActionsView, RoomState};

/// Emoji the picker shows for a search at most.
const PICKER_RESULTS: usize = 40;

/// The actions of one message: the toolbar, and its menu or picker when
/// open.
#[component]
pub fn MessageActions(
    /// The message.
    id: MessageId,
    /// Whether it is the viewer's (edit and delete).
    mine: bool,
    /// Whether it is pinned (the menu offers unpin).
    pinned: bool,
    /// Its text (copy).
    text: String,
    /// Whether it can have a thread here (not a reply, not in the thread
    /// panel).
    threadable: bool,
) -> impl IntoView {
    let room = expect_context::<RoomState>();
    let open = move || {
        room.actions_for
            .get()
            .filter(|(m, _)| *m == id)
            .map(|(_, v)| v)
    };
    let more_button = NodeRef::<leptos::html::Button>::new();
    let toggle = move |view: ActionsView| {
        let next = match room.actions_for.get_untracked() {
            Some((m, v)) if m == id && v == view => None,
            _ => Some((id, view)),
        };
        room.actions_for.set(next);
    };
    let text = StoredValue::new(text);
    view! {
        <div class="message-actions" class:open=move || open().is_some()>
            <div class="action-bar" role="toolbar" aria-label="Message actions">
                <button
                    type="button"
                    class="icon-button"
                    title="Add a reaction"
                    aria-label="Add a reaction"
                    on:click=move |_| toggle(ActionsView::Picker)
                >
                    "☺"
                </button>
                <button
                    type="button"
                    class="icon-button"
                    title="Reply"
                    aria-label="Reply"
                    on:click=move |_| room.start_reply(id)
                >
                    "↩"
                </button>
                {threadable
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="icon-button"
                                title="Reply in thread"
                                aria-label="Reply in thread"
                                on:click=move |_| room.open_thread(id)
                            >
                                "💬"
                            </button>
                        }
                    })}
                <button
                    type="button"
                    class="icon-button more-actions"
                    title="More actions"
                    aria-label="More actions"
                    aria-haspopup="menu"
                    aria-expanded=move || (open() == Some(ActionsView::Menu)).to_string()
                    node_ref=more_button
                    on:click=move |_| toggle(ActionsView::Menu)
                >
                    "⋯"
                </button>
            </div>
            {move || match open() {
                Some(ActionsView::Menu) => {
                    view! { <ActionsMenu id mine pinned text more_button/> }.into_any()
                }
                Some(ActionsView::Picker) => view! { <EmojiPicker id/> }.into_any(),
                None => ().into_any(),
            }}
        </div>
    }
}

/// The "more" menu: arrow keys move, Escape closes (focus back on the
/// button), an item acts and closes.
#[component]
fn ActionsMenu(
    id: MessageId,
    mine: bool,
    pinned: bool,
    text: StoredValue<String>,
    more_button: NodeRef<leptos::html::Button>,
) -> impl IntoView {
    let room = expect_context::<RoomState>();
    let menu = NodeRef::<leptos::html::Div>::new();
    let close = move || {
        room.actions_for.set(None);
        if let Some(b) = more_button.get_untracked() {
            let _ = b.focus();
        }
    };
    // Focus the first item when the menu opens.
    Effect::new(move |_| {
        if let Some(menu) = menu.get() {
            focus_menu_item(&menu, true);
        }
    });
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let key = ev.key();
        if key == "Escape" {
            ev.prevent_default();
            close();
            return;
        }
        if key != "ArrowDown" && key != "ArrowUp" {
            return;
        }
        ev.prevent_default();
        if let Some(menu) = menu.get_untracked() {
            focus_menu_item(&menu, key == "ArrowDown");
        }
    };
    let act = move |f: &dyn Fn()| {
        f();
        if room.actions_for.get_untracked() == Some((id, ActionsView::Menu)) {
            room.actions_for.set(None);
        }
    };
    view! {
        <div class="actions-menu" role="menu" aria-label="Message actions" node_ref=menu on:keydown=on_keydown>
            <button type="button" role="menuitem" on:click=move |_| {
                room.actions_for.set(Some((id, ActionsView::Picker)));
            }>
                "Add reaction…"
            </button>
            <button type="button" role="menuitem" on:click=move |_| act(&|| room.start_reply(id))>
                "Reply"
            </button>
            {mine.then(|| view! {
                <button type="button" role="menuitem" on:click=move |_| act(&|| room.start_edit(id))>
                    "Edit"
                </button>
                <button
                    type="button"
                    role="menuitem"
                    class="danger"
                    on:click=move |_| act(&|| room.confirm_delete.set(Some(id)))
                >
                    "Delete"
                </button>
            })}
            <button type="button" role="menuitem" on:click=move |_| {
                let request = if pinned { ChangeRequest::Unpin } else { ChangeRequest::Pin };
                act(&|| room.change(id, request.clone()))
            }>
                {if pinned { "Unpin" } else { "Pin" }}
            </button>
            <button type="button" role="menuitem" on:click=move |_| {
                act(&|| text.with_value(|t| copy_text(t)))
            }>
                "Copy text"
            </button>
        </div>
    }
}

/// The emoji picker: the common six, then a search over the shipped
/// emoji; picking one toggles my reaction and closes the picker.
#[component]
fn EmojiPicker(id: MessageId) -> impl IntoView {
    let room = expect_context::<RoomState>();
    let query = RwSignal::new(String::new());
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });
    let pick = move |emoji: &'static str| {
        room.toggle_reaction(id, emoji);
        room.actions_for.set(None);
    };
    let button = move |emoji: &'static str| {
        let label = code_of(emoji).map_or_else(|| emoji.to_string(), |c| c.replace('_', " "));
        view! {
            <button
                type="button"
                class="emoji-option"
                title=format!(":{}:", code_of(emoji).unwrap_or(emoji))
                aria-label=label
                on:click=move |_| pick(emoji)
            >
                {emoji}
            </button>
        }
    };
    let results = move || {
        query.with(|q| {
            search(q, PICKER_RESULTS)
                .into_iter()
                .map(|e| button(e.emoji))
                .collect_view()
        })
    };
    view! {
        <div
            class="emoji-picker"
            role="dialog"
            aria-label="Add a reaction"
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Escape" {
                    ev.prevent_default();
                    room.actions_for.set(None);
                }
            }
        >
            <div class="emoji-common">{COMMON.into_iter().map(button).collect_view()}</div>
            <label class="visually-hidden" for=format!("emoji-search-{id}")>"Search emoji"</label>
            <input
                id=format!("emoji-search-{id}")
                class="emoji-search"
                type="search"
                placeholder="Search emoji"
                autocomplete="off"
                node_ref=input
                prop:value=move || query.get()
                on:input=move |ev| query.set(event_target_value(&ev))
            />
            <div class="emoji-results">{results}</div>
        </div>
    }
}

/// "Delete this message?" under the message, with the choice in the
/// reader's hands (Escape or Cancel keeps it).
#[component]
pub fn DeleteConfirm(
    /// The message.
    id: MessageId,
) -> impl IntoView {
    let room = expect_context::<RoomState>();
    let cancel = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(el) = cancel.get() {
            let _ = el.focus();
        }
    });
    view! {
        <div
            class="delete-confirm"
            role="alertdialog"
            aria-label="Delete this message?"
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Escape" {
                    room.confirm_delete.set(None);
                }
            }
        >
            <span>"Delete this message for everyone?"</span>
            <button type="button" class="danger" on:click=move |_| {
                room.confirm_delete.set(None);
                room.change(id, ChangeRequest::Delete);
            }>
                "Delete"
            </button>
            <button type="button" class="ghost" node_ref=cancel on:click=move |_| room.confirm_delete.set(None)>
                "Cancel"
            </button>
        </div>
    }
}
