//! `Timeline`: the messages of one channel as the UI shows them, keyed by
//! `seq` so a message that arrives twice (history, live, resume) is shown
//! once and always in order.

use crate::protocol::Seq;
use std::collections::BTreeMap;

use crate::protocol::Message;

/// Messages of one channel, ordered by seq, without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    by_seq: BTreeMap<Seq, Message>,
}

impl Timeline {
    /// Adds or replaces a message; returns whether it was new.
    pub fn insert(&mut self, m: Message) -> bool {
        self.by_seq.insert(m.seq, m).is_none()
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
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
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
        Message {
            id: MessageId::new_random(),
            channel_id: ChannelId::from_uuid(Uuid::nil()),
            seq: Seq::new(seq),
            user_id: UserId::from_uuid(Uuid::nil()),
            text: format!("m{seq}"),
            created_at: crate::protocol::Timestamp::from_micros(1_764_000_000_000_000 + seq),
            updated_at: None,
            client_id: format!("c{seq}").into(),
        }
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
