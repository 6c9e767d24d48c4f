//! `Outbox`: the messages this page has sent that the server has not
//! confirmed yet. A send appears at once as pending; the server's
//! `message.new` with the same `clientId` replaces it; an error naming its
//! `clientId` marks it failed until the user retries, and a retry (or a
//! reconnect) sends it again with the same `clientId`, so the server stores
//! it once whatever happened to the first attempt.

use crate::protocol::{ClientId, MessageId};
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
    /// Where it stands.
    pub state: PendingState,
}

/// The unconfirmed messages, in the order they were written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    items: Vec<Pending>,
}

impl Outbox {
    /// Queues `text` under a fresh client id and returns that id.
    pub fn add(&mut self, text: String) -> ClientId {
        self.add_reply(text, None)
    }

    /// Queues `text` quoting `reply_to` under a fresh client id and
    /// returns that id.
    pub fn add_reply(&mut self, text: String, reply_to: Option<MessageId>) -> ClientId {
        let client_id = ClientId::new(Uuid::new_v4().to_string());
        self.items.push(Pending {
            client_id: client_id.clone(),
            text,
            reply_to,
            state: PendingState::Sending,
        });
        client_id
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

    /// The user asked to retry: the message is sending again; returns its
    /// text and quote to send (same client id), or `None` if it is not in
    /// the outbox.
    pub fn retry(&mut self, client_id: &ClientId) -> Option<(String, Option<MessageId>)> {
        let p = self.items.iter_mut().find(|p| &p.client_id == client_id)?;
        p.state = PendingState::Sending;
        Some((p.text.clone(), p.reply_to))
    }

    /// What to send again after a reconnect: every message still sending
    /// (its first attempt may have been lost with the connection), oldest
    /// first. Failed ones wait for the user.
    pub fn to_resend(&self) -> Vec<(ClientId, String, Option<MessageId>)> {
        self.items
            .iter()
            .filter(|p| p.state == PendingState::Sending)
            .map(|p| (p.client_id.clone(), p.text.clone(), p.reply_to))
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
        assert_eq!(
            o.to_resend(),
            vec![(b.clone(), "two".into(), None)],
            "failed ones wait"
        );
        assert_eq!(o.retry(&a), Some(("one".into(), None)));
        assert_eq!(o.items()[0].state, PendingState::Sending);
        assert_eq!(
            o.to_resend(),
            vec![(a.clone(), "one".into(), None), (b, "two".into(), None)]
        );
        assert_eq!(o.retry(&ClientId::from("unknown")), None);
    }
}
