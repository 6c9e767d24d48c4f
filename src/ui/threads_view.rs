//! The threads view: a "Threads" button in the sidebar, with how many of
//! my threads have unread replies, and, while shown, the threads I take
//! part in (newest reply first) in the conversation list's place. Choosing
//! one opens its conversation with the thread's panel
//! (`/chat/{channel}?thread={parent}`).

use leptos::prelude::*;

use crate::protocol::ThreadSummary;
use crate::server_fns::threads::list_threads;
use crate::ui::search::SearchState;
use crate::ui::sidebar::SidebarState;
use crate::ui::state::channels::ChannelsState;

/// Whether the sidebar shows the threads view; provided by the
/// Discussions page.
#[derive(Clone, Copy)]
pub struct ThreadsViewState {
    /// The threads show instead of the conversations.
    pub shown: RwSignal<bool>,
}

impl ThreadsViewState {
    /// The conversations show. In the browser, my threads' unread counts
    /// are read once (the badge), then kept live by the socket.
    pub fn new(channels: ChannelsState) -> Self {
        Effect::new(move |_| {
            leptos::task::spawn_local(async move {
                if let Ok(list) = list_threads().await {
                    channels.learn_threads(&list.threads);
                }
            });
        });
        ThreadsViewState {
            shown: RwSignal::new(false),
        }
    }
}

/// The sidebar's "Threads" button.
#[component]
pub fn ThreadsButton() -> impl IntoView {
    let view_state = expect_context::<ThreadsViewState>();
    let search = expect_context::<SearchState>();
    let channels = expect_context::<ChannelsState>();
    let badge = move || {
        let n = channels.threads_with_unread();
        (n > 0).then(|| {
            view! {
                <span class="unread" data-testid="threads-badge" aria-label=format!("{n} with new replies")>
                    {n}
                </span>
            }
        })
    };
    view! {
        <button
            type="button"
            class="threads-button"
            class:active=move || view_state.shown.get()
            aria-pressed=move || view_state.shown.get().to_string()
            on:click=move |_| {
                search.shown.set(None);
                view_state.shown.update(|s| *s = !*s);
            }
        >
            <span>"Threads"</span>
            {badge}
        </button>
    }
}

/// My threads, newest reply first, each with its conversation, the start
/// of its parent, its reply count and my unread replies.
#[component]
pub fn ThreadsList() -> impl IntoView {
    let channels = expect_context::<ChannelsState>();
    let sidebar = expect_context::<SidebarState>();
    let threads = LocalResource::new(move || {
        channels.threads_version.track();
        list_threads()
    });
    let item = move |t: ThreadSummary| {
        let channel = channels
            .summary(t.channel_id)
            .map_or_else(|| "A conversation".to_string(), |c| c.name);
        let who = if t.parent.user_id == channels.me {
            "You".to_string()
        } else {
            channels
                .names
                .with_untracked(|n| n.get(&t.parent.user_id).cloned())
                .unwrap_or_else(|| "Someone".into())
        };
        let preview: String = if t.parent.deleted {
            "Message deleted".into()
        } else {
            t.parent.text.chars().take(100).collect()
        };
        let replies = t.parent.thread.as_ref().map_or(0, |th| th.reply_count);
        let replies = match replies {
            1 => "1 reply".to_string(),
            n => format!("{n} replies"),
        };
        let id = t.parent.id;
        let unread = move || {
            let n = channels.thread_unread_of(id);
            (n > 0).then(|| view! { <span class="unread">{n}</span> })
        };
        let href = format!("/chat/{}?thread={}", t.channel_id, id);
        view! {
            <li>
                <a class="thread-item" href=href on:click=move |_| sidebar.drawer_open.set(false)>
                    <span class="thread-item-channel">{channel}</span>
                    <span class="thread-item-text">
                        <strong>{who}": "</strong>
                        {preview}
                    </span>
                    <span class="thread-item-meta">{replies}{unread}</span>
                </a>
            </li>
        }
    };
    let list = move || {
        threads.get().map(|result| match result {
            Err(e) => view! { <li class="threads-empty" role="alert">{format!("Threads could not be loaded: {e}")}</li> }
                .into_any(),
            Ok(list) if list.threads.is_empty() => view! {
                <li class="threads-empty">"No threads yet. Reply in a thread to follow it here."</li>
            }
            .into_any(),
            Ok(list) => {
                channels.learn_threads(&list.threads);
                list.threads.into_iter().map(item).collect_view().into_any()
            }
        })
    };
    view! {
        <h2 class="sidebar-title">"Threads"</h2>
        <ul class="threads-list" data-testid="threads-list">
            <Suspense fallback=|| view! { <li class="threads-empty">"Loading…"</li> }>{list}</Suspense>
        </ul>
    }
}
