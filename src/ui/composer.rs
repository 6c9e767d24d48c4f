//! The message box: Enter sends, Shift+Enter starts a new line, empty text
//! cannot be sent, the length limit shows before the server would refuse,
//! and typing is announced as the seed did (start once, stop after 2 s
//! without a keystroke or on send). It also edits (the chosen message's
//! text, saved with Enter; Up-arrow in an empty box edits my last message;
//! Escape cancels) and replies (a quote of the chosen message above the
//! box, sent with the next message; Escape cancels).

use leptos::prelude::*;

use crate::client::clock::now_ms;
use crate::client::format::initials;
use crate::client::mentions::{
    byte_to_utf16, candidates, complete, mention_query, mentioned_ids, utf16_to_byte,
};
use crate::client::typing::{TypingSignal, TypingThrottle};
use crate::protocol::{ClientFrame, MessageId, MessageText, TextError, UserId};
use crate::ui::badge::Avatar;
use crate::ui::state::room::RoomState;
use crate::ui::upload_tray::{AttachButton, UploadTray, UploadTrayView};

/// Show the character count once the text is this close to the limit.
const COUNT_FROM_FRACTION: f64 = 0.8;

/// Members the mention suggestions list at most.
const SUGGESTIONS: usize = 6;

/// The open mention suggestions: where the `@word` starts and ends (bytes),
/// the members it may mean, and the highlighted one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Suggestions {
    at: usize,
    caret: usize,
    members: Vec<(UserId, String)>,
    index: usize,
}

/// A composer's typing announcements, as the seed made them: start once,
/// stop after 2 s without a keystroke; in the channel (`parent_id` none)
/// or in a thread. A send needs no stop (the server ends typing on send).
#[derive(Clone, Copy)]
pub struct TypingAnnouncer {
    throttle: StoredValue<TypingThrottle>,
    room: RoomState,
    parent_id: Option<MessageId>,
}

impl TypingAnnouncer {
    /// Starts the half-second check that stops a pause (browser only).
    pub fn new(room: RoomState, parent_id: Option<MessageId>) -> Self {
        let typing = TypingAnnouncer {
            throttle: StoredValue::new(TypingThrottle::default()),
            room,
            parent_id,
        };
        Effect::new(move |_| {
            let tick = set_interval_with_handle(
                move || {
                    let mut signal = None;
                    if typing
                        .throttle
                        .try_update_value(|t| signal = t.tick(now_ms()))
                        .is_some()
                    {
                        typing.announce(signal);
                    }
                },
                std::time::Duration::from_millis(500),
            );
            if let Ok(handle) = tick {
                on_cleanup(move || handle.clear());
            }
        });
        typing
    }

    /// A keystroke in the box.
    pub fn keystroke(&self) {
        let mut signal = None;
        self.throttle
            .update_value(|t| signal = t.keystroke(now_ms()));
        self.announce(signal);
    }

    /// The text was sent.
    pub fn sent(&self) {
        self.throttle.update_value(|t| {
            t.sent();
        });
    }

    fn announce(&self, signal: Option<TypingSignal>) {
        let parent_id = self.parent_id;
        match signal {
            Some(TypingSignal::Start) => {
                self.room
                    .send_frame(&ClientFrame::TypingStart { parent_id });
            }
            Some(TypingSignal::Stop) => {
                self.room.send_frame(&ClientFrame::TypingStop { parent_id });
            }
            None => {}
        }
    }
}

/// The composer of the open conversation.
#[component]
pub fn Composer() -> impl IntoView {
    let room = expect_context::<RoomState>();
    let tray = expect_context::<UploadTray>();
    let max = room.max_text_chars;
    let draft = RwSignal::new(String::new());
    let typing = TypingAnnouncer::new(room, None);
    let textarea = NodeRef::<leptos::html::Textarea>::new();
    // Mentions: the members chosen from the suggestions while writing.
    let chosen = RwSignal::new(Vec::<(UserId, String)>::new());
    let suggestions = RwSignal::new(None::<Suggestions>);
    let suggest = move |text: &str| {
        let caret = textarea
            .get_untracked()
            .and_then(|el| el.selection_start().ok().flatten())
            .map_or(text.len(), |units| utf16_to_byte(text, units));
        let next = mention_query(text, caret).and_then(|(at, query)| {
            let members: Vec<(UserId, String)> = room
                .names
                .with_untracked(|n| n.iter().map(|(id, name)| (*id, name.clone())).collect());
            let members = candidates(&members, &query, room.me, SUGGESTIONS);
            (!members.is_empty()).then_some(Suggestions {
                at,
                caret,
                members,
                index: 0,
            })
        });
        suggestions.set(next);
    };
    let pick = move |index: usize| {
        let Some(s) = suggestions.get_untracked() else {
            return;
        };
        let Some((id, name)) = s.members.get(index).cloned() else {
            return;
        };
        let (text, caret) = draft.with_untracked(|d| complete(d, s.at, s.caret, &name));
        let units = byte_to_utf16(&text, caret);
        if let Some(el) = textarea.get_untracked() {
            // The value and the caret at once, before the next keystroke
            // (the draft's effect then sets the same value, which leaves
            // the caret alone). Moved later, in an animation frame, the
            // caret went back before a letter typed meanwhile.
            el.set_value(&text);
            let _ = el.focus();
            let _ = el.set_selection_range(units, units);
        }
        draft.set(text);
        chosen.update(|c| c.push((id, name)));
        suggestions.set(None);
    };

    let checked = Memo::new(move |_| draft.with(|d| MessageText::parse(d, max)));
    let length = Memo::new(move |_| draft.with(|d| d.trim().chars().count()));
    let too_long = move || matches!(checked.get(), Err(TextError::TooLong { .. }));
    // Files may go without text; a message waits for its files.
    let files_only = move || {
        room.editing.get().is_none()
            && tray.has_files()
            && checked.with(|c| matches!(c, Err(TextError::Empty)))
    };
    let can_send = move || (checked.with(|c| c.is_ok()) || files_only()) && !tray.blocks_sending();
    let counter = move || {
        let n = length.get();
        (n as f64 >= max as f64 * COUNT_FROM_FRACTION).then(|| {
            if n > max {
                format!("{} characters too long ({n} / {max})", n - max)
            } else {
                format!("{n} / {max}")
            }
        })
    };

    // Editing: the box takes the message's text; leaving edit mode
    // empties it again.
    Effect::new(move |was_editing: Option<bool>| {
        let editing = room.editing.get();
        match editing.and_then(|id| room.message(id)) {
            Some(m) => {
                // Its mentions stay unless their names leave the text.
                let names: Vec<(UserId, String)> = m
                    .mentions
                    .iter()
                    .map(|id| (*id, room.name_or(*id, "", "")))
                    .filter(|(_, name)| !name.is_empty())
                    .collect();
                chosen.set(names);
                draft.set(m.text);
            }
            None if was_editing == Some(true) => draft.set(String::new()),
            None => {}
        }
        editing.is_some()
    });
    let cancel = move || {
        if room.editing.get_untracked().is_some() {
            room.editing.set(None);
        }
        room.replying.set(None);
    };

    let send = move || {
        if !can_send() {
            return;
        }
        let text = checked
            .get_untracked()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default();
        let mentions = chosen.with_untracked(|c| mentioned_ids(text.as_str(), c));
        chosen.set(Vec::new());
        suggestions.set(None);
        if room.editing.get_untracked().is_some() {
            room.save_edit(text, mentions);
            draft.set(String::new());
            return;
        }
        room.send_text(text, mentions, tray.take());
        draft.set(String::new());
        typing.sent();
        if let Some(el) = textarea.get_untracked() {
            let _ = el.focus();
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let key = ev.key();
        // The mention suggestions take the arrows, Enter, Tab and Escape.
        if let Some(s) = suggestions.get_untracked() {
            let n = s.members.len();
            match key.as_str() {
                "ArrowDown" | "ArrowUp" => {
                    ev.prevent_default();
                    let index = if key == "ArrowDown" {
                        (s.index + 1) % n
                    } else {
                        (s.index + n - 1) % n
                    };
                    suggestions.set(Some(Suggestions { index, ..s }));
                    return;
                }
                "Enter" | "Tab" if !ev.is_composing() => {
                    ev.prevent_default();
                    pick(s.index);
                    return;
                }
                "Escape" => {
                    ev.prevent_default();
                    suggestions.set(None);
                    return;
                }
                _ => {}
            }
        }
        if key == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        } else if key == "Escape"
            && (room.editing.get_untracked().is_some() || room.replying.get_untracked().is_some())
        {
            ev.prevent_default();
            cancel();
        } else if key == "ArrowUp"
            && !ev.shift_key()
            && !ev.alt_key()
            && !ev.ctrl_key()
            && !ev.meta_key()
            && room.editing.get_untracked().is_none()
            && draft.with_untracked(|d| d.is_empty())
        {
            if let Some(id) = room.my_last_message() {
                ev.prevent_default();
                room.start_edit(id);
            }
        }
    };
    // What the box is doing besides writing a new message.
    let context = move || {
        if let Some(id) = room.editing.get() {
            let _ = id;
            return Some(view! {
                <div class="composer-context" data-testid="composer-context">
                    <span>"Editing message · Enter saves, Esc cancels"</span>
                    <button type="button" class="icon-button" aria-label="Cancel editing" on:click=move |_| cancel()>
                        "✕"
                    </button>
                </div>
            }
            .into_any());
        }
        let id = room.replying.get()?;
        let m = room.message(id)?;
        let who = if m.user_id == room.me {
            "yourself".to_string()
        } else {
            room.names
                .with(|n| n.get(&m.user_id).cloned())
                .unwrap_or_else(|| "Unknown".into())
        };
        let preview: String = m.text.chars().take(140).collect();
        Some(
            view! {
                <div class="composer-context replying" data-testid="composer-context">
                    <span class="reply-label">{format!("Replying to {who}")}</span>
                    <span class="reply-preview">{preview}</span>
                    <button type="button" class="icon-button" aria-label="Cancel reply" on:click=move |_| cancel()>
                        "✕"
                    </button>
                </div>
            }
            .into_any(),
        )
    };

    view! {
        <form class="composer with-files" on:submit=move |ev| {
            ev.prevent_default();
            send();
        }>
            {context}
            {move || {
                suggestions
                    .get()
                    .map(|s| {
                        let items = s
                            .members
                            .iter()
                            .enumerate()
                            .map(|(i, (id, name))| {
                                let selected = i == s.index;
                                view! {
                                    <li
                                        role="option"
                                        id=format!("mention-option-{i}")
                                        aria-selected=selected.to_string()
                                        class:selected=selected
                                        on:mousedown=move |ev| {
                                            ev.prevent_default();
                                            pick(i);
                                        }
                                    >
                                        <Avatar user_id=*id initials=initials(name)/>
                                        <span>{name.clone()}</span>
                                    </li>
                                }
                            })
                            .collect_view();
                        view! {
                            <ul class="mention-suggestions" id="mention-suggestions" role="listbox" aria-label="Members to mention">
                                {items}
                            </ul>
                        }
                    })
            }}
            <UploadTrayView tray/>
            <AttachButton
                tray
                label="Attach files"
                test_id="file-input"
                disabled=Signal::derive(move || room.editing.get().is_some())
            />
            <label for="composer-text" class="visually-hidden">"Message"</label>
            <textarea
                id="composer-text"
                node_ref=textarea
                rows="1"
                placeholder="Write a message (Enter to send, Shift+Enter for a new line)"
                aria-invalid=move || too_long().to_string()
                aria-describedby="composer-count"
                aria-autocomplete="list"
                aria-controls="mention-suggestions"
                aria-expanded=move || suggestions.with(|s| s.is_some()).to_string()
                aria-activedescendant=move || {
                    suggestions.with(|s| s.as_ref().map(|s| format!("mention-option-{}", s.index)))
                }
                on:blur=move |_| suggestions.set(None)
                prop:value=move || draft.get()
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    suggest(&text);
                    draft.set(text);
                    typing.keystroke();
                }
                on:keydown=on_keydown
                on:paste=move |ev: leptos::ev::ClipboardEvent| {
                    // Pasted files (a screenshot) join the message; pasted
                    // text is left to the box.
                    if let Some(files) = ev.clipboard_data().and_then(|d| d.files()) {
                        if files.length() > 0 && room.editing.get_untracked().is_none() {
                            ev.prevent_default();
                            tray.add_list(&files);
                        }
                    }
                }
            ></textarea>
            <span
                id="composer-count"
                class="composer-count"
                class:over=too_long
                data-testid="composer-count"
                aria-live="polite"
            >
                {counter}
            </span>
            <button type="submit" disabled=move || !can_send()>
                {move || if room.editing.get().is_some() { "Save" } else { "Send" }}
            </button>
        </form>
    }
}
