//! `ThreadModel`: the open thread panel's data (its parent, its replies by
//! seq, who is typing in it) and what each server frame does to it, as
//! pure code the tests drive without a browser. The room's socket carries
//! every frame; the thread takes those about its own parent.

use std::collections::HashSet;

use crate::client::timeline::Timeline;
use crate::protocol::{Message, MessageId, Seq, ServerFrame, UserId};

/// One open thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadModel {
    /// The thread's parent.
    pub parent_id: MessageId,
    /// The parent in its latest state, once loaded.
    pub parent: Option<Message>,
    /// The replies shown, by seq.
    pub replies: Timeline,
    /// Whether older replies exist before the first one shown.
    pub has_older: bool,
    /// Who else is typing in the thread.
    pub typing: HashSet<UserId>,
}

/// What a frame did to the thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadStep {
    /// Something shown changed.
    pub changed: bool,
    /// A reply by someone else arrived: its seq (the panel reads it when
    /// the reader is looking).
    pub incoming: Option<Seq>,
}

impl ThreadModel {
    /// The thread of `parent_id`, nothing loaded yet.
    pub fn new(parent_id: MessageId) -> Self {
        ThreadModel {
            parent_id,
            parent: None,
            replies: Timeline::default(),
            has_older: false,
            typing: HashSet::new(),
        }
    }

    /// A loaded page: the parent as it is now and replies (oldest first);
    /// `older` is whether more exist before them.
    pub fn load(&mut self, parent: Message, replies: Vec<Message>, older: Option<bool>) {
        self.keep_parent(parent);
        self.replies.extend(replies);
        if let Some(older) = older {
            self.has_older = older;
        }
    }

    /// The parent's newest state wins (by rev).
    fn keep_parent(&mut self, parent: Message) -> bool {
        if self.parent.as_ref().is_some_and(|p| p.rev > parent.rev) {
            return false;
        }
        self.parent = Some(parent);
        true
    }

    /// Applies one server frame (those about other threads change nothing).
    pub fn apply(&mut self, frame: &ServerFrame, me: UserId) -> ThreadStep {
        let mut step = ThreadStep::default();
        match frame {
            ServerFrame::MessageNew(wire) if wire.parent_id == Some(self.parent_id) => {
                let m = Message::from((**wire).clone());
                let incoming = m.user_id != me;
                let seq = m.seq;
                step.changed = self.replies.insert(m);
                if step.changed && incoming {
                    step.incoming = Some(seq);
                    // A reply ends its author's typing.
                    self.typing.remove(&wire.user_id);
                }
            }
            ServerFrame::MessageUpdated(wire) if wire.id == self.parent_id => {
                step.changed = self.keep_parent(Message::from((**wire).clone()));
            }
            ServerFrame::MessageUpdated(wire) if wire.parent_id == Some(self.parent_id) => {
                step.changed = self.replies.update(Message::from((**wire).clone()));
            }
            ServerFrame::ThreadTyping {
                parent_id,
                user_id,
                is_typing,
            } if *parent_id == self.parent_id && *user_id != me => {
                step.changed = if *is_typing {
                    self.typing.insert(*user_id)
                } else {
                    self.typing.remove(user_id)
                };
            }
            _ => {}
        }
        step
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChannelId, ClientId, Rev, Timestamp};

    fn message(id: MessageId, seq: i64, user: UserId, parent: Option<MessageId>) -> Message {
        let mut m = Message::unchanged(
            id,
            ChannelId::new_random(),
            Seq::new(seq),
            user,
            format!("m{seq}"),
            Timestamp::from_micros(seq),
            ClientId::new(format!("c{seq}")),
        );
        m.parent_id = parent;
        m
    }

    #[test]
    fn replies_of_this_thread_arrive_in_seq_order_once_and_others_are_ignored() {
        let (me, bob) = (UserId::new_random(), UserId::new_random());
        let parent = MessageId::new_random();
        let mut t = ThreadModel::new(parent);
        t.load(
            message(parent, 1, me, None),
            vec![message(MessageId::new_random(), 3, me, Some(parent))],
            Some(false),
        );
        let r5 = message(MessageId::new_random(), 5, bob, Some(parent));
        let step = t.apply(&ServerFrame::message_new(&r5), me);
        assert_eq!(
            step,
            ThreadStep {
                changed: true,
                incoming: Some(Seq::new(5))
            }
        );
        let again = t.apply(&ServerFrame::message_new(&r5), me);
        assert_eq!(again.incoming, None, "a repeat is not new");
        let r4 = message(MessageId::new_random(), 4, me, Some(parent));
        assert_eq!(
            t.apply(&ServerFrame::message_new(&r4), me).incoming,
            None,
            "mine"
        );
        let elsewhere = message(
            MessageId::new_random(),
            6,
            bob,
            Some(MessageId::new_random()),
        );
        assert!(!t.apply(&ServerFrame::message_new(&elsewhere), me).changed);
        let channel = message(MessageId::new_random(), 7, bob, None);
        assert!(!t.apply(&ServerFrame::message_new(&channel), me).changed);
        let seqs: Vec<i64> = t.replies.messages().map(|m| m.seq.get()).collect();
        assert_eq!(seqs, [3, 4, 5]);
    }

    #[test]
    fn the_parent_and_replies_follow_their_newest_changes() {
        let me = UserId::new_random();
        let parent = MessageId::new_random();
        let mut t = ThreadModel::new(parent);
        let mut p = message(parent, 1, me, None);
        p.rev = Rev::new(4);
        let reply_id = MessageId::new_random();
        t.load(
            p.clone(),
            vec![message(reply_id, 2, me, Some(parent))],
            Some(true),
        );
        let mut older = p.clone();
        older.rev = Rev::new(3);
        assert!(
            !t.apply(&ServerFrame::message_updated(&older), me).changed,
            "an older state"
        );
        let mut newer = p.clone();
        newer.rev = Rev::new(6);
        newer.text = "edited".into();
        assert!(t.apply(&ServerFrame::message_updated(&newer), me).changed);
        assert_eq!(t.parent.as_ref().unwrap().text, "edited");
        let mut gone = message(reply_id, 2, me, Some(parent));
        gone.rev = Rev::new(7);
        gone.deleted = true;
        assert!(t.apply(&ServerFrame::message_updated(&gone), me).changed);
        assert!(t.replies.messages().next().unwrap().deleted);
        assert!(t.has_older);
    }

    #[test]
    fn typing_in_this_thread_is_tracked_and_a_reply_ends_it() {
        let (me, bob) = (UserId::new_random(), UserId::new_random());
        let parent = MessageId::new_random();
        let mut t = ThreadModel::new(parent);
        let typing = |user, on| ServerFrame::ThreadTyping {
            parent_id: parent,
            user_id: user,
            is_typing: on,
        };
        assert!(t.apply(&typing(bob, true), me).changed);
        assert!(!t.apply(&typing(me, true), me).changed, "not my own");
        let other = ServerFrame::ThreadTyping {
            parent_id: MessageId::new_random(),
            user_id: bob,
            is_typing: false,
        };
        assert!(!t.apply(&other, me).changed);
        assert!(t.typing.contains(&bob));
        t.apply(
            &ServerFrame::message_new(&message(MessageId::new_random(), 2, bob, Some(parent))),
            me,
        );
        assert!(t.typing.is_empty());
    }
}
