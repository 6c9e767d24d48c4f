//! "Alice is typing…" under the messages.

use leptos::prelude::*;

use crate::client::format::typing_text;
use crate::ui::state::room::RoomState;

/// Who else is typing in the open conversation, by name.
#[component]
pub fn TypingIndicator() -> impl IntoView {
    let room = expect_context::<RoomState>();
    let text = move || {
        let names = room.names.read();
        let mut who: Vec<String> = room
            .typing
            .read()
            .iter()
            .map(|id| names.get(id).cloned().unwrap_or_else(|| "Someone".into()))
            .collect();
        who.sort();
        typing_text(&who)
    };
    view! {
        <p class="typing" data-testid="typing-indicator" aria-live="polite">
            {text}
        </p>
    }
}
