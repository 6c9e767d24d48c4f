//! `Outbox`: the messages this page has sent that the server has not
//! confirmed yet. A send appears at once as pending; the server's
//! `message.new` with the same `clientId` replaces it; an error naming its
//! `clientId` marks it failed until the user retries, and a retry (or a
//! reconnect) sends it again with the same `clientId`, so the server stores
//! it once whatever happened to the first attempt.

use crate::protocol::{Attachment, ClientFrame, ClientId, MessageId, UserId};
use uuid::Uuid;

/// Where a pending message stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingState {
    /// Sent, or waiting for the socket to open; resent after a reconnect.
    Sending,
    /// Refused (storage failure, rate limit, ...); waits for a retry.
    Failed(String),
}

/// One unconfirmed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The idempotency key the server matches.
    pub client_id: ClientId,
    /// The text as typed.
    pub text: String,
    /// The message it quotes.
    pub reply_to: Option<MessageId>,
    /// For a thread reply: its thread.
    pub thread: Option<ThreadTarget>,
    /// The members it mentions.
    pub mentions: Vec<UserId>,
    /// The files it carries (uploaded already; sent by their ids).
    pub attachments: Vec<Attachment>,
    /// Where it stands.
    pub state: PendingState,
}

/// The thread a pending reply goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadTarget {
    /// The thread's parent.
    pub parent_id: MessageId,
    /// Also sent to the channel.
    pub show_in_channel: bool,
}

impl Pending {
    /// The `message.send` frame that sends it (again, under the same
    /// client id).
    pub fn frame(&self) -> ClientFrame {
        ClientFrame::MessageSend {
            text: self.text.clone(),
            client_id: self.client_id.clone(),
            reply_to: self.reply_to,
            parent_id: self.thread.map(|t| t.parent_id),
            show_in_channel: self.thread.is_some_and(|t| t.show_in_channel),
            mentions: self.mentions.clone(),
            attachments: self.attachments.iter().map(|a| a.id).collect(),
        }
    }

    /// Whether the main timeline shows it (not a thread-only reply).
    pub fn in_main_timeline(&self) -> bool {
        self.thread.is_none_or(|t| t.show_in_channel)
    }

    /// Whether it is a reply in the thread of `parent`.
    pub fn in_thread(&self, parent: MessageId) -> bool {
        self.thread.is_some_and(|t| t.parent_id == parent)
    }
}

/// The unconfirmed messages, in the order they were written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    items: Vec<Pending>,
}

impl Outbox {
    /// Queues `text` under a fresh client id and returns that id.
    pub fn add(&mut self, text: String) -> ClientId {
        self.add_send(text, None, None, Vec::new(), Vec::new());
        self.items
            .last()
            .map(|p| p.client_id.clone())
            .unwrap_or_default()
    }

    /// Queues `text` (quoting `reply_to`, in `thread`, mentioning
    /// `mentions`, carrying `attachments`) under a fresh client id and
    /// returns the frame that sends it.
    pub fn add_send(
        &mut self,
        text: String,
        reply_to: Option<MessageId>,
        thread: Option<ThreadTarget>,
        mentions: Vec<UserId>,
        attachments: Vec<Attachment>,
    ) -> ClientFrame {
        let pending = Pending {
            client_id: ClientId::new(Uuid::new_v4().to_string()),
            text,
            reply_to,
            thread,
            mentions,
            attachments,
            state: PendingState::Sending,
        };
        let frame = pending.frame();
        self.items.push(pending);
        frame
    }

    /// The server stored the message with `client_id`: it leaves the outbox.
    /// Returns whether it was one of ours.
    pub fn confirm(&mut self, client_id: &ClientId) -> bool {
        let before = self.items.len();
        self.items.retain(|p| &p.client_id != client_id);
        self.items.len() != before
    }

    /// The send with `client_id` was refused for `reason`. Returns whether
    /// it was one of ours.
    pub fn fail(&mut self, client_id: &ClientId, reason: impl Into<String>) -> bool {
        let Some(p) = self.items.iter_mut().find(|p| &p.client_id == client_id) else {
            return false;
        };
        p.state = PendingState::Failed(reason.into());
        true
    }

    /// The user asked to retry: the message is sending again; returns the
    /// frame that sends it (same client id), or `None` if it is not in the
    /// outbox.
    pub fn retry(&mut self, client_id: &ClientId) -> Option<ClientFrame> {
        let p = self.items.iter_mut().find(|p| &p.client_id == client_id)?;
        p.state = PendingState::Sending;
        Some(p.frame())
    }

    /// What to send again after a reconnect: every message still sending
    /// (its first attempt may have been lost with the connection), oldest
    /// first. Failed ones wait for the user.
    pub fn to_resend(&self) -> Vec<ClientFrame> {
        self.items
            .iter()
            .filter(|p| p.state == PendingState::Sending)
            .map(Pending::frame)
            .collect()
    }

    /// The unconfirmed messages, oldest first.
    pub fn items(&self) -> &[Pending] {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_is_pending_until_the_server_copy_arrives() {
        let mut o = Outbox::default();
        let a = o.add("hello".into());
        let b = o.add("world".into());
        assert_ne!(a, b);
        assert_eq!(o.items().len(), 2);
        assert!(o.confirm(&a));
        assert!(!o.confirm(&a), "a second copy confirms nothing");
        assert!(!o.confirm(&ClientId::from("someone else's")));
        assert_eq!(o.items()[0].client_id, b);
    }

    #[test]
    fn a_failed_send_waits_for_retry_and_keeps_its_client_id() {
        let mut o = Outbox::default();
        let a = o.add("one".into());
        let b = o.add("two".into());
        o.fail(&a, "storage failed");
        assert_eq!(
            o.items()[0].state,
            PendingState::Failed("storage failed".into())
        );
        let keys = |frames: Vec<ClientFrame>| -> Vec<String> {
            frames
                .into_iter()
                .map(|f| match f {
                    ClientFrame::MessageSend { client_id, .. } => client_id.as_str().to_string(),
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        assert_eq!(keys(o.to_resend()), [b.as_str()], "failed ones wait");
        assert!(o.retry(&a).is_some());
        assert_eq!(o.items()[0].state, PendingState::Sending);
        assert_eq!(keys(o.to_resend()), [a.as_str(), b.as_str()]);
        assert_eq!(o.retry(&ClientId::from("unknown")), None);
    }

    #[test]
    fn a_thread_reply_is_sent_again_to_its_thread() {
        let mut o = Outbox::default();
        let parent = MessageId::new_random();
        let thread = ThreadTarget {
            parent_id: parent,
            show_in_channel: false,
        };
        let frame = o.add_send(
            "in the thread".into(),
            None,
            Some(thread),
            Vec::new(),
            Vec::new(),
        );
        assert_eq!(o.to_resend(), std::slice::from_ref(&frame));
        let ClientFrame::MessageSend {
            parent_id,
            show_in_channel,
            ..
        } = frame
        else {
            panic!("not a send");
        };
        assert_eq!((parent_id, show_in_channel), (Some(parent), false));
        assert!(o.items()[0].in_thread(parent) && !o.items()[0].in_main_timeline());
    }
}
