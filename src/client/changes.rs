//! `PendingChanges`: the changes to messages (edits, deletes, reactions,
//! pins) this page asked for that the server has not confirmed yet, kept
//! like the outbox keeps sends. A change shows at once on its message
//! ([`PendingChanges::overlay`]); it leaves when a `message.updated` shows
//! its effect ([`PendingChanges::settle`]); an `error` naming its
//! `clientId` marks it failed (the message shows the stored state again
//! with the reason and a retry); a reconnect sends the waiting ones again
//! with their `clientId` (every change but a conditional edit is
//! idempotent, and the UI sends none of those).

use uuid::Uuid;

use crate::protocol::{
    ChangeRequest, ClientFrame, ClientId, Message, MessageId, Pin, Reaction, Timestamp, UserId,
};

/// One unconfirmed change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingChange {
    /// The key an `error` answering it carries.
    pub client_id: ClientId,
    /// The message it changes.
    pub message_id: MessageId,
    /// What it does.
    pub request: ChangeRequest,
    /// Why it was refused, once it was.
    pub failed: Option<String>,
}

impl PendingChange {
    /// The frame that asks for it.
    pub fn frame(&self) -> ClientFrame {
        let id = self.message_id;
        let client_id = Some(self.client_id.clone());
        match self.request.clone() {
            ChangeRequest::Edit {
                text,
                if_rev,
                mentions,
            } => ClientFrame::MessageEdit {
                id,
                text,
                if_rev,
                mentions,
                client_id,
            },
            ChangeRequest::Delete => ClientFrame::MessageDelete { id, client_id },
            ChangeRequest::ReactionAdd { emoji } => ClientFrame::ReactionAdd {
                id,
                emoji,
                client_id,
            },
            ChangeRequest::ReactionRemove { emoji } => ClientFrame::ReactionRemove {
                id,
                emoji,
                client_id,
            },
            ChangeRequest::Pin => ClientFrame::MessagePin { id, client_id },
            ChangeRequest::Unpin => ClientFrame::MessageUnpin { id, client_id },
        }
    }

    /// Whether `m` (the stored state) already shows this change's effect.
    /// A reaction beyond the listed reactors cannot be seen either way:
    /// `unknown_is_visible` says what to answer then (settle a waiting
    /// change: yes; skip sending a new one: no).
    pub fn is_visible_in(&self, m: &Message, me: UserId, unknown_is_visible: bool) -> bool {
        match &self.request {
            ChangeRequest::Edit { text, .. } => m.deleted || m.text == text.trim(),
            ChangeRequest::Delete => m.deleted,
            ChangeRequest::ReactionAdd { emoji } => {
                m.deleted || m.reacted(emoji, me) || (unknown_is_visible && unlisted(m, emoji))
            }
            ChangeRequest::ReactionRemove { emoji } => {
                m.deleted || (!m.reacted(emoji, me) && (unknown_is_visible || !unlisted(m, emoji)))
            }
            ChangeRequest::Pin => m.deleted || m.pinned.is_some(),
            ChangeRequest::Unpin => m.deleted || m.pinned.is_none(),
        }
    }
}

/// The unconfirmed changes, in the order they were asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingChanges {
    items: Vec<PendingChange>,
}

impl PendingChanges {
    /// Queues a change to `current` (the message as shown) and returns its
    /// frame, or `None` when `current` already shows its effect (nothing to
    /// ask). A change that undoes a waiting one (removing a reaction being
    /// added) replaces it.
    pub fn add(
        &mut self,
        current: &Message,
        request: ChangeRequest,
        me: UserId,
    ) -> Option<ClientFrame> {
        self.items.retain(|c| {
            c.message_id != current.id || !undoes(&c.request, &request) || c.failed.is_some()
        });
        let change = PendingChange {
            client_id: ClientId::new(Uuid::new_v4().to_string()),
            message_id: current.id,
            request,
            failed: None,
        };
        if change.is_visible_in(current, me, false) {
            return None;
        }
        let frame = change.frame();
        self.items.push(change);
        Some(frame)
    }

    /// A stored state arrived for `m`: the changes it shows leave. Returns
    /// whether any did.
    pub fn settle(&mut self, m: &Message, me: UserId) -> bool {
        let before = self.items.len();
        self.items
            .retain(|c| c.message_id != m.id || !c.is_visible_in(m, me, true));
        self.items.len() != before
    }

    /// The change with `client_id` was refused. Returns whether it was ours.
    pub fn fail(&mut self, client_id: &ClientId, reason: impl Into<String>) -> bool {
        let Some(c) = self.items.iter_mut().find(|c| &c.client_id == client_id) else {
            return false;
        };
        c.failed = Some(reason.into());
        true
    }

    /// The user retries a failed change: its frame, to send again.
    pub fn retry(&mut self, client_id: &ClientId) -> Option<ClientFrame> {
        let c = self.items.iter_mut().find(|c| &c.client_id == client_id)?;
        c.failed = None;
        Some(c.frame())
    }

    /// The user gives a failed change up.
    pub fn dismiss(&mut self, client_id: &ClientId) -> bool {
        let before = self.items.len();
        self.items.retain(|c| &c.client_id != client_id);
        self.items.len() != before
    }

    /// What to send again after a reconnect (failed ones wait for the user).
    pub fn to_resend(&self) -> Vec<ClientFrame> {
        self.items
            .iter()
            .filter(|c| c.failed.is_none())
            .map(PendingChange::frame)
            .collect()
    }

    /// The failed changes of a message, for its row.
    pub fn failed_for(&self, id: MessageId) -> impl Iterator<Item = &PendingChange> {
        self.items
            .iter()
            .filter(move |c| c.message_id == id && c.failed.is_some())
    }

    /// Whether a change of `id` waits for the server.
    pub fn is_waiting(&self, id: MessageId) -> bool {
        self.items
            .iter()
            .any(|c| c.message_id == id && c.failed.is_none())
    }

    /// `m` as it will be once its waiting changes land (what the list
    /// shows meanwhile).
    pub fn overlay(&self, m: &Message, me: UserId, now: Timestamp) -> Message {
        let mut shown = m.clone();
        for c in self
            .items
            .iter()
            .filter(|c| c.message_id == m.id && c.failed.is_none())
        {
            if shown.deleted {
                break;
            }
            match &c.request {
                ChangeRequest::Edit { text, .. } => {
                    shown.text = text.trim().to_string();
                    shown.edited_at = Some(now);
                }
                ChangeRequest::Delete => {
                    shown.deleted = true;
                    shown.text.clear();
                    shown.reactions.clear();
                    shown.reply_to = None;
                    shown.pinned = None;
                }
                ChangeRequest::ReactionAdd { emoji } => add_reaction(&mut shown, emoji, me),
                ChangeRequest::ReactionRemove { emoji } => remove_reaction(&mut shown, emoji, me),
                ChangeRequest::Pin => shown.pinned = Some(Pin { by: me, at: now }),
                ChangeRequest::Unpin => shown.pinned = None,
            }
        }
        shown
    }
}

/// Whether more reacted with `emoji` than `m` lists (then whether the
/// viewer is among them is not in the message; the reactions route says).
fn unlisted(m: &Message, emoji: &str) -> bool {
    m.reactions
        .iter()
        .any(|r| r.emoji == emoji && r.count > r.user_ids.len() as i64)
}

/// Whether `later` undoes `earlier` (add then remove of one emoji, pin
/// then unpin).
fn undoes(earlier: &ChangeRequest, later: &ChangeRequest) -> bool {
    use ChangeRequest::*;
    match (earlier, later) {
        (ReactionAdd { emoji: a }, ReactionRemove { emoji: b })
        | (ReactionRemove { emoji: a }, ReactionAdd { emoji: b }) => a == b,
        (Pin, Unpin) | (Unpin, Pin) => true,
        _ => false,
    }
}

fn add_reaction(m: &mut Message, emoji: &str, me: UserId) {
    if m.reacted(emoji, me) {
        return;
    }
    match m.reactions.iter_mut().find(|r| r.emoji == emoji) {
        Some(r) => {
            r.count += 1;
            r.user_ids.push(me);
        }
        None => m.reactions.push(Reaction {
            emoji: emoji.to_string(),
            count: 1,
            user_ids: vec![me],
        }),
    }
}

fn remove_reaction(m: &mut Message, emoji: &str, me: UserId) {
    if let Some(r) = m.reactions.iter_mut().find(|r| r.emoji == emoji) {
        if r.user_ids.contains(&me) {
            r.user_ids.retain(|u| *u != me);
            r.count -= 1;
        }
    }
    m.reactions.retain(|r| r.count > 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChannelId, Rev, Seq};

    const ME: UserId = UserId::from_uuid(Uuid::from_u128(1));
    const OTHER: UserId = UserId::from_uuid(Uuid::from_u128(2));

    fn msg() -> Message {
        Message::unchanged(
            MessageId::from_uuid(Uuid::from_u128(7)),
            ChannelId::from_uuid(Uuid::nil()),
            Seq::new(1),
            ME,
            "hello".into(),
            Timestamp::from_micros(1),
            "c".into(),
        )
    }

    fn now() -> Timestamp {
        Timestamp::from_micros(2)
    }

    #[test]
    fn a_reaction_shows_at_once_and_leaves_when_stored() {
        let mut changes = PendingChanges::default();
        let m = msg();
        let frame = changes
            .add(
                &m,
                ChangeRequest::ReactionAdd {
                    emoji: "👍".into()
                },
                ME,
            )
            .expect("a frame to send");
        assert!(matches!(
            frame,
            ClientFrame::ReactionAdd {
                client_id: Some(_),
                ..
            }
        ));
        let shown = changes.overlay(&m, ME, now());
        assert_eq!(shown.reactions[0].count, 1);
        assert!(shown.reacted("👍", ME));
        // Another's reaction stored: not ours yet, still waiting.
        let mut stored = m.clone();
        stored.rev = Rev::new(1);
        stored.reactions = vec![Reaction {
            emoji: "👍".into(),
            count: 1,
            user_ids: vec![OTHER],
        }];
        assert!(!changes.settle(&stored, ME));
        assert_eq!(changes.overlay(&stored, ME, now()).reactions[0].count, 2);
        stored.reactions[0].count = 2;
        stored.reactions[0].user_ids.push(ME);
        assert!(changes.settle(&stored, ME));
        assert!(changes.to_resend().is_empty());
    }

    #[test]
    fn nothing_is_sent_for_what_is_already_there_and_undo_replaces() {
        let mut changes = PendingChanges::default();
        let mut m = msg();
        m.reactions = vec![Reaction {
            emoji: "🎉".into(),
            count: 1,
            user_ids: vec![ME],
        }];
        assert!(changes
            .add(
                &m,
                ChangeRequest::ReactionAdd {
                    emoji: "🎉".into()
                },
                ME
            )
            .is_none());
        assert!(changes.add(&m, ChangeRequest::Pin, ME).is_some());
        assert!(
            changes.add(&m, ChangeRequest::Unpin, ME).is_none(),
            "undone"
        );
        assert!(changes.to_resend().is_empty());
    }

    #[test]
    fn a_refused_change_shows_the_stored_state_and_can_be_retried() {
        let mut changes = PendingChanges::default();
        let m = msg();
        let frame = changes
            .add(
                &m,
                ChangeRequest::Edit {
                    text: " new ".into(),
                    if_rev: None,
                    mentions: None,
                },
                ME,
            )
            .unwrap();
        assert_eq!(changes.overlay(&m, ME, now()).text, "new");
        let ClientFrame::MessageEdit {
            client_id: Some(key),
            ..
        } = frame
        else {
            panic!("an edit frame");
        };
        assert!(changes.fail(&key, "Too many changes"));
        assert_eq!(changes.overlay(&m, ME, now()).text, "hello");
        assert_eq!(changes.failed_for(m.id).count(), 1);
        assert!(changes.to_resend().is_empty(), "failed ones wait");
        assert!(changes.retry(&key).is_some());
        assert_eq!(changes.to_resend().len(), 1);
        let mut stored = m.clone();
        stored.text = "new".into();
        assert!(changes.settle(&stored, ME));
    }

    #[test]
    fn beyond_the_listed_reactors_a_change_is_sent_and_then_settles() {
        let mut changes = PendingChanges::default();
        let mut m = msg();
        m.reactions = vec![Reaction {
            emoji: "👍".into(),
            count: 60,
            user_ids: vec![OTHER],
        }];
        // Not listed: maybe mine, maybe not. A removal is still sent...
        assert!(changes
            .add(
                &m,
                ChangeRequest::ReactionRemove {
                    emoji: "👍".into()
                },
                ME
            )
            .is_some());
        // ...and the next stored state settles it (it cannot show it).
        m.rev = crate::protocol::Rev::new(2);
        m.reactions[0].count = 59;
        assert!(changes.settle(&m, ME));
    }

    #[test]
    fn a_delete_hides_everything_at_once() {
        let mut changes = PendingChanges::default();
        let mut m = msg();
        m.reactions = vec![Reaction {
            emoji: "🎉".into(),
            count: 3,
            user_ids: vec![OTHER],
        }];
        changes.add(&m, ChangeRequest::Delete, ME).unwrap();
        let shown = changes.overlay(&m, ME, now());
        assert!(shown.deleted && shown.text.is_empty() && shown.reactions.is_empty());
    }
}
