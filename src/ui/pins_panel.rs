//! The pinned messages of the open channel, from the header's pin button:
//! newest pin first, each with its author, start and who pinned it;
//! choosing one shows it in the list (loading the page around it when it
//! is not loaded).

use leptos::prelude::*;

use crate::client::browser::utc_offset_minutes;
use crate::client::format::month_name;
use crate::protocol::Message;
use crate::server_fns::messages::load_pins;
use crate::ui::state::room::RoomState;

/// The panel; drawn only while open.
#[component]
pub fn PinsPanel() -> impl IntoView {
    let room = expect_context::<RoomState>();
    // Reload when a loaded message's pin changes (a pin made elsewhere).
    let pinned_here = Memo::new(move |_| {
        room.timeline.with(|t| {
            t.messages()
                .filter(|m| m.pinned.is_some())
                .map(|m| m.id)
                .collect::<Vec<_>>()
        })
    });
    let pins = LocalResource::new(move || {
        pinned_here.track();
        load_pins(room.channel_id)
    });
    let name = move |m: &Message| room.name_or(m.user_id, "You", "Unknown");
    let pinner = move |m: &Message| match m.pinned {
        Some(p) => {
            let who = room.name_or(p.by, "you", "someone");
            let at = p.at.local(utc_offset_minutes());
            format!(
                "{who} · {} {}, {:02}:{:02}",
                month_name(at.date),
                at.date.day(),
                at.hour,
                at.minute
            )
        }
        None => String::new(),
    };
    let list = move || {
        pins.get().map(|result| match result {
            Err(e) => view! { <p class="pins-empty" role="alert">{format!("Pins could not be loaded: {e}")}</p> }
                .into_any(),
            Ok(pins) if pins.is_empty() => {
                view! { <p class="pins-empty">"No pinned messages yet. Pin one from its menu."</p> }
                    .into_any()
            }
            Ok(pins) => pins
                .into_iter()
                .map(|m| {
                    let seq = m.seq;
                    let preview: String = m.text.chars().take(140).collect();
                    let by = format!("Pinned by {}", pinner(&m));
                    let who = name(&m);
                    view! {
                        <li>
                            <button type="button" class="pin-item" on:click=move |_| room.jump_to(seq)>
                                <span class="pin-sender">{who}</span>
                                <span class="pin-text">{preview}</span>
                                <span class="pin-by">{by}</span>
                            </button>
                        </li>
                    }
                })
                .collect_view()
                .into_any(),
        })
    };
    view! {
        <aside class="pins-panel" aria-label="Pinned messages" data-testid="pins-panel">
            <div class="pins-header">
                <h2>"Pinned messages"</h2>
                <button
                    type="button"
                    class="icon-button"
                    aria-label="Close pinned messages"
                    on:click=move |_| room.pins_open.set(false)
                >
                    "✕"
                </button>
            </div>
            <ul class="pins-list">
                <Suspense fallback=|| view! { <li class="pins-empty">"Loading…"</li> }>{list}</Suspense>
            </ul>
        </aside>
    }
}
