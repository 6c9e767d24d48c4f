//! [`ThreadState`]: the open thread panel in signals: the thread's data
//! (`client::thread_model`, which decides what each frame does), loading
//! its pages, where the next reply goes, and reading the thread while the
//! reader looks at it. The room holds it, gives it its frames and sends
//! its replies through the room's outbox.

use leptos::prelude::*;

use crate::client::browser::page_is_attended;
use crate::client::outbox::ThreadTarget;
use crate::client::thread_model::ThreadModel;
use crate::client::SocketSender;
use crate::protocol::{ChannelId, ClientFrame, MessageId, Seq, ServerFrame, UserId};
use crate::server_fns::threads::load_replies;

/// One open thread; the room holds it while its panel shows.
#[derive(Clone, Copy)]
pub struct ThreadState {
    /// The thread's parent.
    pub parent_id: MessageId,
    /// Its channel.
    channel_id: ChannelId,
    /// The viewer.
    me: UserId,
    /// The room's socket (thread read cursors go out on it).
    socket: Option<SocketSender>,
    /// The parent, the replies shown and who is typing.
    pub model: RwSignal<ThreadModel>,
    /// A page is on its way.
    pub loading: RwSignal<bool>,
    /// The thread could not be loaded (shown in the panel).
    pub error: RwSignal<Option<String>>,
    /// The next reply is also sent to the channel.
    pub also_to_channel: RwSignal<bool>,
}

impl ThreadState {
    /// Opens the thread of `parent_id` in `channel_id` for `me`: loads its
    /// newest replies and reads it (on the room's `socket`).
    pub fn open(
        channel_id: ChannelId,
        me: UserId,
        socket: Option<SocketSender>,
        parent_id: MessageId,
    ) -> Self {
        let thread = ThreadState {
            parent_id,
            channel_id,
            me,
            socket,
            model: RwSignal::new(ThreadModel::new(parent_id)),
            loading: RwSignal::new(true),
            error: RwSignal::new(None),
            also_to_channel: RwSignal::new(false),
        };
        leptos::task::spawn_local(async move {
            match load_replies(channel_id, parent_id, None, None, None).await {
                Ok(page) => {
                    let _ = thread.model.try_update(|t| {
                        t.load(page.parent, page.page.messages, Some(page.page.has_more))
                    });
                    thread.read();
                }
                Err(e) => {
                    let _ = thread
                        .error
                        .try_set(Some(format!("This thread could not be loaded: {e}")));
                }
            }
            let _ = thread.loading.try_set(false);
        });
        thread
    }

    /// Loads the replies before the first one shown.
    pub fn load_older(&self) {
        if self.loading.get_untracked() || !self.model.with_untracked(|t| t.has_older) {
            return;
        }
        let Some(first) = self.model.with_untracked(|t| t.replies.first_seq()) else {
            return;
        };
        self.loading.set(true);
        let thread = *self;
        leptos::task::spawn_local(async move {
            if let Ok(page) =
                load_replies(thread.channel_id, thread.parent_id, Some(first), None, None).await
            {
                let _ = thread.model.try_update(|t| {
                    t.load(page.parent, page.page.messages, Some(page.page.has_more))
                });
            }
            let _ = thread.loading.try_set(false);
        });
    }

    /// Where the next reply goes (also to the channel when asked; the
    /// choice is then cleared).
    pub fn next_target(&self) -> ThreadTarget {
        let target = ThreadTarget {
            parent_id: self.parent_id,
            show_in_channel: self.also_to_channel.get_untracked(),
        };
        self.also_to_channel.set(false);
        target
    }

    /// Moves my thread cursor to the newest reply shown, when the reader
    /// is looking.
    pub fn read(&self) {
        if !page_is_attended() {
            return;
        }
        let newest = self.model.with_untracked(|t| t.replies.last_seq());
        if let (true, Some(socket)) = (newest > Seq::ZERO, self.socket) {
            socket.send(&ClientFrame::ThreadRead {
                parent_id: self.parent_id,
                seq: Some(newest),
            });
        }
    }

    /// A frame of the room's socket: the thread takes those about itself;
    /// a reply by someone else is read at once when the reader looks.
    pub fn on_frame(&self, frame: &ServerFrame) {
        let mut step = None;
        let _ = self.model.try_maybe_update(|t| {
            let s = t.apply(frame, self.me);
            step = Some(s);
            (s.changed, ())
        });
        if step.is_some_and(|s| s.incoming.is_some()) {
            self.read();
        }
    }
}
