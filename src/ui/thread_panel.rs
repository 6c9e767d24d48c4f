//! The thread panel: beside the messages on a wide window, over them on a
//! narrow one. It shows the parent, the replies (older ones on demand),
//! who is typing in the thread, and a composer whose replies can also go
//! to the channel. It reads the thread while open.

use leptos::prelude::*;

use crate::client::browser::utc_offset_minutes;
use crate::client::format::typing_text;
use crate::client::message_rows::{layout, RowContext};
use crate::protocol::{MessageText, TextError, Timestamp};
use crate::ui::composer::TypingAnnouncer;
use crate::ui::message_item::InThreadPanel;
use crate::ui::message_list::MessageRowView;
use crate::ui::state::channels::ChannelsState;
use crate::ui::state::room::RoomState;
use crate::ui::state::thread::ThreadState;
use crate::ui::upload_tray::{AttachButton, UploadTray, UploadTrayView};

/// The panel of the open thread; drawn only while one is open.
#[component]
pub fn ThreadPanel(
    /// The open thread.
    thread: ThreadState,
) -> impl IntoView {
    let room = expect_context::<RoomState>();
    let channels = expect_context::<ChannelsState>();
    // The thread's own files: dropped on the panel or chosen in its
    // composer, sent with its next reply.
    let tray = expect_context::<UploadTray>().another();
    provide_context(InThreadPanel);
    let utc_offset = RwSignal::new(0);
    Effect::new(move |_| utc_offset.set(utc_offset_minutes()));
    // Escape closes the panel (unless a menu or the composer's own Escape
    // took it).
    let on_key = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape"
            && !ev.default_prevented()
            && room.actions_for.get_untracked().is_none()
        {
            room.close_thread();
        }
    });
    on_cleanup(move || on_key.remove());

    let rows = Memo::new(move |_| {
        let names = room.names.read();
        let name_of = |id| names.get(&id).cloned();
        let changes = room.changes.read();
        let cx = RowContext {
            me: room.me,
            name_of: &name_of,
            unread_after_seq: None,
            utc_offset_minutes: utc_offset.get(),
            now: Timestamp::from_millis(channels.now_ms.get() as i64),
            reads: None,
            changes: &changes,
        };
        let model = thread.model.read();
        let pending: Vec<_> = room.outbox.with(|o| {
            o.items()
                .iter()
                .filter(|p| p.in_thread(thread.parent_id))
                .cloned()
                .collect()
        });
        let parent = layout(model.parent.iter(), &[], &cx);
        let replies = layout(model.replies.messages(), &pending, &cx);
        (parent, replies)
    });
    let count = move || {
        thread.model.with(|t| {
            let n = t
                .parent
                .as_ref()
                .and_then(|p| p.thread.as_ref())
                .map_or(0, |th| th.reply_count);
            match n {
                0 => "No replies yet".to_string(),
                1 => "1 reply".to_string(),
                n => format!("{n} replies"),
            }
        })
    };
    let typing = move || {
        let names = room.names.read();
        let mut who: Vec<String> = thread.model.with(|t| {
            t.typing
                .iter()
                .map(|id| names.get(id).cloned().unwrap_or_else(|| "Someone".into()))
                .collect()
        });
        who.sort();
        typing_text(&who)
    };

    view! {
        <aside
            class="thread-panel"
            aria-label="Thread"
            data-testid="thread-panel"
            on:dragover=move |ev| {
                let files = ev
                    .data_transfer()
                    .is_some_and(|d| d.types().includes(&"Files".into(), 0));
                if files {
                    ev.prevent_default();
                    ev.stop_propagation();
                }
            }
            on:drop=move |ev| {
                if let Some(files) = ev.data_transfer().and_then(|d| d.files()) {
                    if files.length() > 0 {
                        ev.prevent_default();
                        ev.stop_propagation();
                        if !room.revoked.get_untracked() {
                            tray.add_list(&files);
                        }
                    }
                }
            }
        >
            <div class="thread-header">
                <h2>"Thread"</h2>
                <span class="thread-header-count">{count}</span>
                <button
                    type="button"
                    class="icon-button"
                    aria-label="Close the thread"
                    on:click=move |_| room.close_thread()
                >
                    "✕"
                </button>
            </div>
            <div class="thread-scroll">
                {move || thread.error.get().map(|e| view! { <p class="thread-empty" role="alert">{e}</p> })}
                <ol class="messages thread-parent" aria-label="Thread parent">
                    <For each=move || rows.get().0 key=|row| row.key() let:row>
                        <MessageRowView row/>
                    </For>
                </ol>
                {move || {
                    thread.model.with(|t| t.has_older).then(|| {
                        view! {
                            <button
                                type="button"
                                class="ghost thread-older"
                                disabled=move || thread.loading.get()
                                on:click=move |_| thread.load_older()
                            >
                                "Show older replies"
                            </button>
                        }
                    })
                }}
                <ol class="messages thread-replies" role="log" aria-label="Replies" aria-live="polite">
                    <For each=move || rows.get().1 key=|row| row.key() let:row>
                        <MessageRowView row/>
                    </For>
                </ol>
            </div>
            <p class="typing" data-testid="thread-typing" aria-live="polite">{typing}</p>
            <ThreadComposer thread tray/>
        </aside>
    }
}

/// The thread's composer: Enter sends, Shift+Enter starts a new line;
/// "Also send to the channel" puts the next reply in the main timeline
/// too; typing is announced in the thread. Files come by the attach
/// button, a paste or a drop on the panel, and may go without text.
#[component]
fn ThreadComposer(thread: ThreadState, tray: UploadTray) -> impl IntoView {
    let room = expect_context::<RoomState>();
    let max = room.max_text_chars;
    let draft = RwSignal::new(String::new());
    let typing = TypingAnnouncer::new(room, Some(thread.parent_id));
    let checked = Memo::new(move |_| draft.with(|d| MessageText::parse(d, max)));
    let files_only =
        move || tray.has_files() && checked.with(|c| matches!(c, Err(TextError::Empty)));
    let can_send = move || (checked.with(|c| c.is_ok()) || files_only()) && !tray.blocks_sending();
    let send = move || {
        if !can_send() {
            return;
        }
        let text = checked
            .get_untracked()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default();
        room.send_in_thread(thread, text, tray.take());
        draft.set(String::new());
        typing.sent();
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    view! {
        <form class="composer thread-composer with-files" on:submit=move |ev| {
            ev.prevent_default();
            send();
        }>
            <UploadTrayView tray/>
            <AttachButton
                tray
                label="Attach files to the reply"
                test_id="thread-file-input"
                disabled=false
            />
            <label for="thread-composer-text" class="visually-hidden">"Reply in the thread"</label>
            <textarea
                id="thread-composer-text"
                rows="1"
                placeholder="Reply in the thread"
                prop:value=move || draft.get()
                on:input=move |ev| {
                    draft.set(event_target_value(&ev));
                    typing.keystroke();
                }
                on:keydown=on_keydown
                on:paste=move |ev: leptos::ev::ClipboardEvent| {
                    if let Some(files) = ev.clipboard_data().and_then(|d| d.files()) {
                        if files.length() > 0 {
                            ev.prevent_default();
                            tray.add_list(&files);
                        }
                    }
                }
            ></textarea>
            <button type="submit" disabled=move || !can_send()>"Send"</button>
            <label class="also-channel">
                <input
                    type="checkbox"
                    prop:checked=move || thread.also_to_channel.get()
                    on:change=move |ev| thread.also_to_channel.set(event_target_checked(&ev))
                />
                "Also send to the channel"
            </label>
        </form>
    }
}
