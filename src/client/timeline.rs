//! `Timeline`: the messages of one channel as the UI shows them, keyed by
//! `seq` so a message that arrives twice (history, live, resume) is shown
//! once and always in order.

use crate::protocol::Seq;
use std::collections::BTreeMap;

use crate::protocol::{Message, MessageId, Quote};

/// Messages of one channel, ordered by seq, without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    by_seq: BTreeMap<Seq, Message>,
}

impl Timeline {
    /// Adds a message, or replaces the held copy unless that copy is newer
    /// (a higher `rev`: a replayed or late `message.new` never undoes a
    /// change); returns whether it was new.
    pub fn insert(&mut self, m: Message) -> bool {
        match self.by_seq.get(&m.seq) {
            Some(held) if held.rev > m.rev => false,
            Some(_) => {
                self.by_seq.insert(m.seq, m);
                false
            }
            None => {
                self.by_seq.insert(m.seq, m);
                true
            }
        }
    }

    /// Applies a `message.updated`: replaces the held copy when the update
    /// is newer (a repeated or reordered update changes nothing), and
    /// refreshes the quotes of it in replies. Returns whether anything
    /// shown changed. An update for a message not held is dropped (its
    /// history page will read the current state).
    pub fn update(&mut self, m: Message) -> bool {
        if self.by_id(m.id).is_some_and(|held| held.rev >= m.rev) {
            return false;
        }
        let mut changed = false;
        for reply in self.by_seq.values_mut() {
            if let Some(quote) = reply.reply_to.as_mut().filter(|q| q.id == m.id) {
                let preview: String = m.text.chars().take(Quote::PREVIEW_CHARS).collect();
                if quote.preview != preview || quote.deleted != m.deleted {
                    quote.preview = preview;
                    quote.deleted = m.deleted;
                    changed = true;
                }
            }
        }
        match self.by_seq.get_mut(&m.seq) {
            Some(held) if held.id == m.id && held.rev < m.rev => {
                *held = m;
                true
            }
            _ => changed,
        }
    }

    /// The message with `id`, if held.
    pub fn by_id(&self, id: MessageId) -> Option<&Message> {
        self.by_seq.values().find(|m| m.id == id)
    }

    /// The message at `seq`, if held.
    pub fn at(&self, seq: Seq) -> Option<&Message> {
        self.by_seq.get(&seq)
    }

    /// Adds a page of history.
    pub fn extend(&mut self, messages: impl IntoIterator<Item = Message>) {
        for m in messages {
            self.insert(m);
        }
    }

    /// The newest seq shown (0 when empty): where a resume starts.
    pub fn last_seq(&self) -> Seq {
        self.by_seq.keys().next_back().copied().unwrap_or(Seq::ZERO)
    }

    /// The oldest seq shown: where loading older messages continues.
    pub fn first_seq(&self) -> Option<Seq> {
        self.by_seq.keys().next().copied()
    }

    /// Messages oldest first.
    pub fn messages(&self) -> impl DoubleEndedIterator<Item = &Message> {
        self.by_seq.values()
    }

    /// Number of messages.
    pub fn len(&self) -> usize {
        self.by_seq.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_seq.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChannelId, MessageId, UserId};
    use uuid::Uuid;

    fn msg(seq: i64) -> Message {
        Message::unchanged(
            MessageId::from_uuid(Uuid::from_u128(seq as u128)),
            ChannelId::from_uuid(Uuid::nil()),
            Seq::new(seq),
            UserId::from_uuid(Uuid::nil()),
            format!("m{seq}"),
            crate::protocol::Timestamp::from_micros(1_764_000_000_000_000 + seq),
            format!("c{seq}").into(),
        )
    }

    #[test]
    fn updates_apply_only_when_newer_and_refresh_quotes() {
        let mut t = Timeline::default();
        let mut reply = msg(2);
        reply.reply_to = Some(Quote {
            id: msg(1).id,
            seq: Seq::new(1),
            user_id: msg(1).user_id,
            preview: "m1".into(),
            deleted: false,
        });
        t.extend([msg(1), reply]);
        let mut edited = msg(1);
        edited.text = "edited".into();
        edited.rev = crate::protocol::Rev::new(4);
        assert!(t.update(edited.clone()));
        assert_eq!(t.at(Seq::new(1)).unwrap().text, "edited");
        assert_eq!(
            t.at(Seq::new(2))
                .unwrap()
                .reply_to
                .as_ref()
                .unwrap()
                .preview,
            "edited"
        );
        // A repeat, an older update and a stale `message.new` change nothing.
        assert!(!t.update(edited.clone()));
        let mut older = msg(1);
        older.rev = crate::protocol::Rev::new(3);
        assert!(!t.update(older));
        assert!(!t.insert(msg(1)));
        assert_eq!(t.at(Seq::new(1)).unwrap().text, "edited");
        // An update for a message not held is dropped.
        assert!(!t.update(msg(9)));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_message_seen_twice_is_shown_once_in_seq_order() {
        let mut t = Timeline::default();
        t.extend([msg(3), msg(1)]);
        assert!(t.insert(msg(2)));
        assert!(!t.insert(msg(3)));
        let seqs: Vec<i64> = t.messages().map(|m| m.seq.get()).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        assert_eq!(t.last_seq(), Seq::new(3));
        assert_eq!(t.first_seq(), Some(Seq::new(1)));
        assert_eq!(Timeline::default().first_seq(), None);
    }
}
