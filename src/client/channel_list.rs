//! How the channel list follows live frames without polling: a message in
//! another channel (`channel.activity`) moves it to the top with a new
//! preview and, from someone else, one more unread; a moved read cursor
//! (`read.updated`) clears the badge once it reaches the newest message; a
//! message in the open channel updates its preview only, and so does an
//! edit or delete of the message it previews (`message.updated`). The
//! signal-holding `ui::state::channels::ChannelsState` applies these to its
//! signals.

use std::collections::HashMap;

use crate::protocol::{ChannelId, ClientId, MessageId, Seq, UserId};

use crate::protocol::{ChannelSummary, Message, Timestamp};

/// A new message as the list sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// Channel.
    pub channel_id: ChannelId,
    /// Its seq.
    pub seq: Seq,
    /// Message id.
    pub message_id: MessageId,
    /// Sender.
    pub user_id: UserId,
    /// Sender's name, when known.
    pub sender_name: Option<String>,
    /// Start of the text.
    pub preview: String,
    /// When it was stored.
    pub created_at: Timestamp,
    /// For a message that mentions the viewer: their unread mentions in
    /// the channel after it.
    pub unread_mentions: Option<i64>,
}

impl Activity {
    /// The activity of a full message (the open channel's `message.new`).
    pub fn of_message(m: &Message, sender_name: Option<String>) -> Self {
        Activity {
            channel_id: m.channel_id,
            seq: m.seq,
            message_id: m.id,
            user_id: m.user_id,
            sender_name,
            preview: m.preview(),
            created_at: m.created_at,
            unread_mentions: None,
        }
    }
}

/// What the open room's socket tells the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListUpdate {
    /// A new message (the open channel's, or another channel's activity).
    Activity(Activity),
    /// The viewer's read cursor moved.
    Read {
        /// The channel.
        channel_id: ChannelId,
        /// The new cursor.
        last_read_seq: Seq,
        /// The viewer's unread mentions after it, when the server said.
        unread_mentions: Option<i64>,
    },
    /// A message of the open channel changed (edited or deleted); if the
    /// list previews it, the preview follows.
    Changed {
        /// The channel.
        channel_id: ChannelId,
        /// The changed message.
        message_id: MessageId,
        /// What to preview now: the edited message, or after a delete the
        /// newest live message before it that the room holds. `None`
        /// (none held) leaves the preview until the list is fetched again.
        preview: Option<Activity>,
    },
    /// A delete changed the viewer's unread count in a channel.
    Unread {
        /// The channel.
        channel_id: ChannelId,
        /// The new count.
        unread_count: i64,
    },
}

/// Applies `update` to the list. `names` are the names the list knows, for
/// an activity that came without its sender's; `me` and `open` as for
/// [`apply_activity`].
pub fn apply_update(
    list: &mut Vec<ChannelSummary>,
    names: &HashMap<UserId, String>,
    update: ListUpdate,
    me: UserId,
    open: Option<ChannelId>,
) {
    match update {
        ListUpdate::Activity(mut a) => {
            if a.sender_name.is_none() {
                a.sender_name = names.get(&a.user_id).cloned();
            }
            apply_activity(list, &a, me, open);
        }
        ListUpdate::Read {
            channel_id,
            last_read_seq,
            unread_mentions,
        } => {
            apply_read(list, channel_id, last_read_seq);
            if let (Some(n), Some(c)) = (
                unread_mentions,
                list.iter_mut().find(|c| c.id == channel_id),
            ) {
                c.unread_mentions = n.max(0);
            }
        }
        ListUpdate::Changed {
            channel_id,
            message_id,
            preview: Some(a),
        } => {
            let previewed = |c: &&mut ChannelSummary| {
                c.id == channel_id && c.last_message.as_ref().is_some_and(|m| m.id == message_id)
            };
            if let Some(c) = list.iter_mut().find(previewed) {
                // Order, head and unread count stay: a change is no new message.
                c.last_sender_name = a
                    .sender_name
                    .clone()
                    .or_else(|| names.get(&a.user_id).cloned());
                c.last_message = Some(preview_message(&a));
            }
        }
        ListUpdate::Changed { preview: None, .. } => {}
        ListUpdate::Unread {
            channel_id,
            unread_count,
        } => {
            if let Some(c) = list.iter_mut().find(|c| c.id == channel_id) {
                c.unread_count = unread_count.max(0);
            }
        }
    }
}

/// The message a preview shows (the list keeps only what it draws).
fn preview_message(a: &Activity) -> Message {
    Message::unchanged(
        a.message_id,
        a.channel_id,
        a.seq,
        a.user_id,
        a.preview.clone(),
        a.created_at,
        ClientId::default(),
    )
}

/// The senders' names the list's previews carry (the list learns them
/// from a fresh copy of the list).
pub fn sender_names(list: &[ChannelSummary]) -> impl Iterator<Item = (UserId, String)> + '_ {
    list.iter().filter_map(|c| {
        Some((
            c.last_message.as_ref()?.user_id,
            c.last_sender_name.clone()?,
        ))
    })
}

/// The viewer's read cursor in `channel_id` (0 when the list does not have
/// it): where the unread divider goes when the channel opens.
pub fn read_cursor(list: &[ChannelSummary], channel_id: ChannelId) -> Seq {
    list.iter()
        .find(|c| c.id == channel_id)
        .map(|c| c.last_read_seq)
        .unwrap_or(Seq::ZERO)
}

/// Applies a new message to the list. `me` is the viewer; `open` is the
/// channel on screen (its messages are read as they arrive). Old or
/// repeated activity (seq not above the channel's head) changes nothing.
pub fn apply_activity(
    list: &mut Vec<ChannelSummary>,
    a: &Activity,
    me: UserId,
    open: Option<ChannelId>,
) {
    let Some(index) = list.iter().position(|c| c.id == a.channel_id) else {
        return;
    };
    let mut channel = list.remove(index);
    if a.seq > channel.head_seq {
        channel.head_seq = a.seq;
        channel.last_message = Some(preview_message(a));
        channel.last_sender_name = a.sender_name.clone();
        if a.user_id != me && open != Some(a.channel_id) {
            channel.unread_count += 1;
            if let Some(n) = a.unread_mentions {
                channel.unread_mentions = n.max(0);
            }
        }
        list.insert(0, channel);
    } else {
        list.insert(index, channel);
    }
}

/// Applies a moved read cursor.
pub fn apply_read(list: &mut [ChannelSummary], channel_id: ChannelId, last_read_seq: Seq) {
    if let Some(c) = list.iter_mut().find(|c| c.id == channel_id) {
        c.last_read_seq = c.last_read_seq.max(last_read_seq);
        if c.last_read_seq >= c.head_seq {
            c.unread_count = 0;
            c.unread_mentions = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(name: &str, head: i64, unread: i64) -> ChannelSummary {
        ChannelSummary {
            id: ChannelId::new_random(),
            name: name.into(),
            color: "#000".into(),
            member_count: 2,
            unread_count: unread,
            last_read_seq: Seq::new(head - unread),
            head_seq: Seq::new(head),
            last_message: None,
            last_sender_name: None,
            head_rev: crate::protocol::Rev::ZERO,
            read_receipts: true,
            unread_threads: 0,
            unread_mentions: 0,
        }
    }

    fn activity(c: &ChannelSummary, seq: i64, from: UserId) -> Activity {
        Activity {
            channel_id: c.id,
            seq: Seq::new(seq),
            message_id: MessageId::new_random(),
            user_id: from,
            sender_name: Some("Alice".into()),
            preview: "hi".into(),
            created_at: Timestamp::from_micros(1_764_000_000_000_000),
            unread_mentions: None,
        }
    }

    #[test]
    fn activity_from_someone_else_moves_the_channel_up_and_counts_unread() {
        let me = UserId::new_random();
        let alice = UserId::new_random();
        let mut list = vec![channel("General", 3, 0), channel("Design", 5, 1)];
        let design = list[1].clone();
        apply_activity(&mut list, &activity(&design, 6, alice), me, None);
        assert_eq!(list[0].name, "Design");
        assert_eq!(list[0].unread_count, 2);
        assert_eq!(list[0].head_seq, Seq::new(6));
        assert_eq!(list[0].last_sender_name.as_deref(), Some("Alice"));
    }

    #[test]
    fn own_messages_and_the_open_channel_do_not_count_as_unread() {
        let me = UserId::new_random();
        let mut list = vec![channel("General", 3, 0), channel("Design", 5, 0)];
        let design = list[1].clone();
        apply_activity(&mut list, &activity(&design, 6, me), me, None);
        assert_eq!(list[0].unread_count, 0);
        let general = list[1].clone();
        apply_activity(
            &mut list,
            &activity(&general, 4, UserId::new_random()),
            me,
            Some(general.id),
        );
        assert_eq!(list[0].name, "General");
        assert_eq!(list[0].unread_count, 0);
    }

    #[test]
    fn repeated_activity_changes_nothing() {
        let me = UserId::new_random();
        let mut list = vec![channel("General", 3, 0), channel("Design", 5, 0)];
        let design = list[1].clone();
        let a = activity(&design, 6, UserId::new_random());
        apply_activity(&mut list, &a, me, None);
        apply_activity(&mut list, &a, me, None);
        assert_eq!(list[0].unread_count, 1);
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn reading_up_to_the_head_clears_the_badge() {
        let mut list = vec![channel("General", 10, 4)];
        let id = list[0].id;
        apply_read(&mut list, id, Seq::new(8));
        assert_eq!(
            list[0].unread_count, 4,
            "not at the head yet: the server knows"
        );
        apply_read(&mut list, id, Seq::new(10));
        assert_eq!(list[0].unread_count, 0);
        apply_read(&mut list, id, Seq::new(2));
        assert_eq!(list[0].last_read_seq, Seq::new(10), "never backwards");
    }

    #[test]
    fn an_activity_without_a_sender_name_takes_the_one_the_list_knows() {
        let me = UserId::new_random();
        let alice = UserId::new_random();
        let names = HashMap::from([(alice, "Alice Known".to_string())]);
        let mut list = vec![channel("General", 3, 0), channel("Design", 5, 0)];
        let (general, design) = (list[0].clone(), list[1].clone());
        let unnamed = Activity {
            sender_name: None,
            ..activity(&design, 6, alice)
        };
        apply_update(&mut list, &names, ListUpdate::Activity(unnamed), me, None);
        assert_eq!(list[0].last_sender_name.as_deref(), Some("Alice Known"));
        // A name that came with the activity wins.
        let named = activity(&general, 4, alice);
        apply_update(&mut list, &names, ListUpdate::Activity(named), me, None);
        assert_eq!(list[0].name, "General");
        assert_eq!(list[0].last_sender_name.as_deref(), Some("Alice"));
        // Nobody knows a stranger.
        let stranger = Activity {
            sender_name: None,
            ..activity(&design, 7, UserId::new_random())
        };
        apply_update(&mut list, &names, ListUpdate::Activity(stranger), me, None);
        assert_eq!(list[0].last_sender_name, None);
        let read = ListUpdate::Read {
            channel_id: design.id,
            last_read_seq: Seq::new(7),
            unread_mentions: None,
        };
        apply_update(&mut list, &names, read, me, None);
        assert_eq!(list[0].unread_count, 0);
    }

    #[test]
    fn the_list_knows_its_senders_and_read_cursors() {
        let alice = UserId::new_random();
        let mut list = vec![channel("General", 3, 1), channel("Design", 5, 2)];
        list[1].last_message = Some(Message::unchanged(
            MessageId::new_random(),
            list[1].id,
            Seq::new(5),
            alice,
            "hi".into(),
            Timestamp::from_micros(1_764_000_000_000_000),
            ClientId::default(),
        ));
        list[1].last_sender_name = Some("Alice".into());
        assert_eq!(
            sender_names(&list).collect::<Vec<_>>(),
            vec![(alice, "Alice".to_string())]
        );
        assert_eq!(read_cursor(&list, list[0].id), Seq::new(2));
        assert_eq!(read_cursor(&list, list[1].id), Seq::new(3));
        assert_eq!(read_cursor(&list, ChannelId::new_random()), Seq::ZERO);
    }

    #[test]
    fn an_edit_or_delete_of_the_previewed_message_changes_the_preview_only() {
        let (me, alice) = (UserId::new_random(), UserId::new_random());
        let names: HashMap<UserId, String> = [(alice, "Alice".to_string())].into();
        let mut list = vec![channel("General", 3, 1), channel("Design", 5, 2)];
        let last = activity(&list[1], 5, alice);
        list[1].last_message = Some(preview_message(&last));
        let before = list.clone();
        let changed = |message_id, preview| ListUpdate::Changed {
            channel_id: before[1].id,
            message_id,
            preview,
        };
        // A change to another message, or without a preview, changes nothing.
        let other = Activity {
            message_id: MessageId::new_random(),
            ..last.clone()
        };
        apply_update(
            &mut list,
            &names,
            changed(other.message_id, Some(other)),
            me,
            None,
        );
        apply_update(&mut list, &names, changed(last.message_id, None), me, None);
        assert_eq!(list, before);
        // The edit: new text, same place, head and badge.
        let edited = Activity {
            preview: "hi, edited".into(),
            sender_name: None,
            ..last.clone()
        };
        apply_update(
            &mut list,
            &names,
            changed(last.message_id, Some(edited)),
            me,
            None,
        );
        let shown = list[1].last_message.as_ref().unwrap();
        assert_eq!(
            (shown.id, shown.text.as_str()),
            (last.message_id, "hi, edited")
        );
        assert_eq!(list[1].last_sender_name.as_deref(), Some("Alice"));
        assert_eq!((list[1].head_seq, list[1].unread_count), (Seq::new(5), 2));
        assert_eq!(list[0], before[0]);
        // The delete: the message before it is previewed instead.
        let previous = Activity {
            seq: Seq::new(4),
            message_id: MessageId::new_random(),
            user_id: me,
            sender_name: None,
            preview: "earlier".into(),
            ..last.clone()
        };
        apply_update(
            &mut list,
            &names,
            changed(last.message_id, Some(previous.clone())),
            me,
            None,
        );
        let shown = list[1].last_message.as_ref().unwrap();
        assert_eq!((shown.id, shown.seq), (previous.message_id, Seq::new(4)));
        assert_eq!(list[1].head_seq, Seq::new(5));
    }
}
