//! Message search in the sidebar: a search box above the conversation
//! list and, while a search is shown, its results in the list's place:
//! newest first, each with its conversation, sender, time and the snippet
//! with the words found marked. Choosing a result opens its conversation
//! at the message (`/chat/{channel}?at={seq}`, loading the page around it
//! when it is not loaded); a thread-only reply opens its thread
//! (`?thread={parent}`).

use leptos::prelude::*;

use crate::client::browser::utc_offset_minutes;
use crate::client::format::month_name;
use crate::protocol::{SearchHit, SearchPage};
use crate::server_fns::search::search_messages;
use crate::ui::sidebar::SidebarState;
use crate::ui::state::channels::ChannelsState;

/// What the sidebar shows of search; provided by the Discussions page.
#[derive(Clone, Copy)]
pub struct SearchState {
    /// The words of the search shown; `None`: the conversation list shows.
    pub shown: RwSignal<Option<String>>,
}

impl SearchState {
    /// No search shown.
    pub fn new() -> Self {
        SearchState {
            shown: RwSignal::new(None),
        }
    }
}

impl Default for SearchState {
    fn default() -> Self {
        Self::new()
    }
}

/// The box: Enter searches, Escape (or the clear button) goes back to the
/// conversations.
#[component]
pub fn SearchBox() -> impl IntoView {
    let search = expect_context::<SearchState>();
    let text = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let q = text.get_untracked();
        if q.trim().is_empty() {
            search.shown.set(None);
        } else {
            search.shown.set(Some(q));
        }
    };
    let clear = move || {
        text.set(String::new());
        search.shown.set(None);
    };
    view! {
        <form class="search-box" role="search" on:submit=submit>
            <input
                type="search"
                name="q"
                placeholder="Search messages"
                aria-label="Search messages"
                maxlength="200"
                autocomplete="off"
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        clear();
                    }
                }
            />
            {move || {
                search
                    .shown
                    .get()
                    .is_some()
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="icon-button search-clear"
                                aria-label="Close search"
                                title="Back to conversations"
                                on:click=move |_| clear()
                            >
                                "×"
                            </button>
                        }
                    })
            }}
        </form>
    }
}

/// The results of the search shown, a page at a time.
#[component]
pub fn SearchResults() -> impl IntoView {
    let search = expect_context::<SearchState>();
    let hits = RwSignal::new(Vec::<SearchHit>::new());
    let next = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    // Which search the loaded pages belong to (a newer one discards an
    // older one's late answer).
    let epoch = StoredValue::new(0u64);
    let load = move |q: String, cursor: Option<String>| {
        let mine = epoch.get_value();
        loading.set(true);
        leptos::task::spawn_local(async move {
            let result = search_messages(q, None, cursor.clone()).await;
            if epoch.get_value() != mine {
                return;
            }
            let _ = loading.try_set(false);
            match result {
                Ok(SearchPage {
                    results,
                    next_cursor,
                }) => {
                    let _ = hits.try_update(|h| {
                        if cursor.is_none() {
                            h.clear();
                        }
                        h.extend(results);
                    });
                    let _ = next.try_set(next_cursor);
                    let _ = error.try_set(None);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e.to_string()));
                }
            }
        });
    };
    Effect::new(move |_| {
        if let Some(q) = search.shown.get() {
            epoch.update_value(|e| *e += 1);
            hits.set(Vec::new());
            next.set(None);
            load(q, None);
        }
    });
    let more = move |_| {
        if let (Some(q), Some(cursor)) = (search.shown.get_untracked(), next.get_untracked()) {
            load(q, Some(cursor));
        }
    };
    view! {
        <section class="search-results" aria-label="Search results" data-testid="search-results">
            <h2 class="sidebar-title">"Search results"</h2>
            {move || error.get().map(|e| view! { <p class="search-note" role="alert">{e}</p> })}
            {move || {
                (!loading.get() && error.get().is_none() && hits.with(Vec::is_empty))
                    .then(|| view! { <p class="search-note">"No messages found."</p> })
            }}
            <ol class="search-hits">
                <For
                    each=move || hits.get()
                    key=|hit| hit.message.id
                    children=move |hit| view! { <SearchResult hit/> }
                />
            </ol>
            {move || {
                next.get()
                    .is_some()
                    .then(|| {
                        view! {
                            <button type="button" class="ghost search-more" on:click=more disabled=move || loading.get()>
                                "More results"
                            </button>
                        }
                    })
            }}
            {move || loading.get().then(|| view! { <p class="search-note">"Searching…"</p> })}
        </section>
    }
}

/// One result: a link to the message in its conversation.
#[component]
fn SearchResult(hit: SearchHit) -> impl IntoView {
    let channels = expect_context::<ChannelsState>();
    let sidebar = expect_context::<SidebarState>();
    let m = hit.message;
    let channel = channels
        .summary(m.channel_id)
        .map_or_else(|| "A conversation".to_string(), |c| c.name);
    let sender = if m.user_id == channels.me {
        "You".to_string()
    } else {
        channels
            .names
            .with_untracked(|n| n.get(&m.user_id).cloned())
            .unwrap_or_else(|| "Someone".into())
    };
    let at = m.created_at.local(utc_offset_minutes());
    let when = format!(
        "{} {}, {:02}:{:02}",
        month_name(at.date),
        at.date.day(),
        at.hour,
        at.minute
    );
    // A thread-only reply is not in the channel's list: its thread opens.
    let href = match m.parent_id.filter(|_| !m.in_main_timeline()) {
        Some(parent) => format!("/chat/{}?thread={parent}", m.channel_id),
        None => format!("/chat/{}?at={}", m.channel_id, m.seq),
    };
    let parts = hit
        .snippet
        .into_iter()
        .map(|p| {
            if p.hit {
                view! { <mark>{p.text}</mark> }.into_any()
            } else {
                p.text.into_any()
            }
        })
        .collect_view();
    view! {
        <li>
            // On a narrow window the results are in the drawer: close it to
            // show the message.
            <a class="search-hit" href=href on:click=move |_| sidebar.drawer_open.set(false)>
                <span class="search-hit-where">
                    <span class="search-hit-channel">{channel}</span>
                    <span class="search-hit-sender">{sender}</span>
                    <time class="search-hit-time">{when}</time>
                </span>
                <span class="search-hit-snippet">{parts}</span>
            </a>
        </li>
    }
}
