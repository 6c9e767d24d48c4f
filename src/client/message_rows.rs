//! How the message list is laid out, as pure data: date separators, the
//! unread divider, sender grouping (name and avatar only on the first of
//! consecutive messages by one person), local times, what changed on a
//! message (edited, deleted, reactions, its quote, its pin, our changes
//! still on their way), who has seen my latest message, and the
//! unconfirmed messages of the outbox at the end. The component only draws
//! the rows.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::protocol::{Attachment, ClientId, LinkPreview, MessageId, Rev, Seq, UserId};

use crate::client::changes::PendingChanges;
use crate::client::format::{initials, month_name, weekday_name};
use crate::client::outbox::{Pending, PendingState};
use crate::protocol::{CivilDate, LocalTime, Message, Timestamp};

/// Names a reaction chip's tooltip lists before "and N others".
const NAMES_SHOWN: usize = 50;

/// Messages by one sender further apart than this start a new group.
const GROUP_GAP_SECS: i64 = 5 * 60;

/// One row of the message list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// A day begins ("Today", "Yesterday", "Monday, March 4").
    Day {
        /// The local date, for the key.
        date: CivilDate,
        /// What the separator says.
        label: String,
    },
    /// The first message the viewer has not read follows.
    Unread,
    /// A stored message (boxed: much larger than the other rows).
    Message(Box<MessageRow>),
    /// A message of ours the server has not confirmed yet.
    Pending(PendingRow),
}

impl Row {
    /// A key that changes whenever the row must be drawn again.
    pub fn key(&self) -> String {
        match self {
            Row::Day { date, label } => format!("d:{date}:{label}"),
            Row::Unread => "u".into(),
            Row::Message(m) => {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                m.hash(&mut hasher);
                format!("m:{}:{:x}", m.seq, hasher.finish())
            }
            Row::Pending(p) => format!("p:{}:{:?}", p.client_id, p.failed),
        }
    }
}

/// A stored message as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageRow {
    /// The message id (actions name it).
    pub id: MessageId,
    /// Position in the channel.
    pub seq: Seq,
    /// Sender.
    pub user_id: UserId,
    /// Sender's name.
    pub sender: String,
    /// Sender's initials, for the avatar.
    pub initials: String,
    /// Sent by the viewer.
    pub mine: bool,
    /// First of a run by one sender: shows name and avatar.
    pub first_in_group: bool,
    /// Local time, "14:05".
    pub time: String,
    /// The instant, RFC 3339, for `<time datetime>`.
    pub datetime: String,
    /// The text as sent (or edited); empty for a deleted message.
    pub text: String,
    /// The rev of its latest change.
    pub rev: Rev,
    /// "edited 14:07", when edited.
    pub edited: Option<String>,
    /// Deleted: shown as "message deleted".
    pub deleted: bool,
    /// One chip per emoji.
    pub reactions: Vec<ReactionChip>,
    /// The quoted message.
    pub quote: Option<QuoteRow>,
    /// Who pinned it ("You" for the viewer).
    pub pinned_by: Option<String>,
    /// When: "14:05" today, else "March 4, 14:05".
    pub pinned_at: Option<String>,
    /// Members whose read cursor passed it (only on the viewer's latest
    /// message, when read receipts are on).
    pub seen_by: Vec<SeenBy>,
    /// One of our changes to it waits for the server.
    pub saving: bool,
    /// Our changes to it the server refused.
    pub failed: Vec<FailedChange>,
    /// For a thread reply: its parent (a reply has no thread of its own:
    /// threads are one level).
    pub parent_id: Option<MessageId>,
    /// A reply also sent to the channel, as the main timeline shows it.
    pub also_in_channel: bool,
    /// Its thread, when it has or had replies.
    pub thread: Option<ThreadRow>,
    /// It mentions the viewer (marked in the list).
    pub mentions_me: bool,
    /// The names of the members it mentions, each with whether it is the
    /// viewer (highlighted in the text).
    pub mention_names: Vec<(String, bool)>,
    /// Its files (none once deleted).
    pub attachments: Vec<Attachment>,
    /// What the pages it links to say (none once deleted).
    pub previews: Vec<LinkPreview>,
}

/// A thread's summary under its parent: "3 replies", the last reply's
/// time, the participants' avatars.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThreadRow {
    /// "1 reply", "3 replies".
    pub replies: String,
    /// "Last reply 14:05" (or "March 4, 14:05").
    pub last_reply: String,
    /// Participants' ids and initials, in order (at most 10).
    pub participants: Vec<(UserId, String)>,
}

/// One emoji's reactions on a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReactionChip {
    /// The emoji.
    pub emoji: String,
    /// How many reacted.
    pub count: i64,
    /// Whether the viewer did (the chip is pressed).
    pub mine: bool,
    /// Who, for the tooltip: "Alice, Bob and 3 others".
    pub who: String,
    /// More reacted than the message lists: the full list (and whether
    /// the viewer is among them) comes from the reactions route.
    pub partial: bool,
}

/// The quoted message of a reply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuoteRow {
    /// The original (clicking the quote jumps there).
    pub id: MessageId,
    /// Its seq.
    pub seq: Seq,
    /// Its author's name.
    pub sender: String,
    /// Its start, or empty when deleted.
    pub preview: String,
    /// Whether it was deleted.
    pub deleted: bool,
}

/// A member who has seen the viewer's latest message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeenBy {
    /// The member.
    pub user_id: UserId,
    /// Their name.
    pub name: String,
    /// Their initials, for the avatar.
    pub initials: String,
}

/// One of our changes the server refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FailedChange {
    /// Its key (retry and dismiss name it).
    pub client_id: ClientId,
    /// "Reaction 👍 not saved: rate limited".
    pub label: String,
}

/// An unconfirmed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    /// Its idempotency key (the retry control sends it again).
    pub client_id: ClientId,
    /// The text.
    pub text: String,
    /// Its files (uploaded already).
    pub attachments: Vec<Attachment>,
    /// Why it failed, when it did.
    pub failed: Option<String>,
}

/// What the layout needs besides the messages.
pub struct RowContext<'a> {
    /// The viewer.
    pub me: UserId,
    /// Sender names by id ("Unknown" when missing).
    pub name_of: &'a dyn Fn(UserId) -> Option<String>,
    /// The read cursor when the channel was opened: the divider goes before
    /// the first later message by someone else. `None`: no divider.
    pub unread_after_seq: Option<Seq>,
    /// The viewer's UTC offset in minutes (east positive).
    pub utc_offset_minutes: i32,
    /// Now, for "Today" and "Yesterday".
    pub now: Timestamp,
    /// Members' read cursors, for "seen by" (`None`: read receipts off).
    pub reads: Option<&'a HashMap<UserId, Seq>>,
    /// Our changes on their way, shown over the stored state.
    pub changes: &'a PendingChanges,
}

/// "14:05" today, else "March 4, 14:05".
fn short_time(t: LocalTime, today: CivilDate) -> String {
    if t.date == today {
        format!("{:02}:{:02}", t.hour, t.minute)
    } else {
        format!(
            "{} {}, {:02}:{:02}",
            month_name(t.date),
            t.date.day(),
            t.hour,
            t.minute
        )
    }
}

/// Lays out `messages` (oldest first) and then `pending`.
pub fn layout<'m>(
    messages: impl IntoIterator<Item = &'m Message>,
    pending: &[Pending],
    cx: &RowContext<'_>,
) -> Vec<Row> {
    // Offsets beyond ±24 h are not real time zones (chrono refused them).
    let offset = if cx.utc_offset_minutes.abs() < 24 * 60 {
        cx.utc_offset_minutes
    } else {
        0
    };
    let today = cx.now.local(offset).date;
    let name = |id: UserId| {
        if id == cx.me {
            "You".to_string()
        } else {
            (cx.name_of)(id).unwrap_or_else(|| "Unknown".into())
        }
    };
    let messages: Vec<&Message> = messages.into_iter().collect();
    // "Seen by" goes under the viewer's latest message.
    let my_latest = messages
        .iter()
        .rev()
        .find(|m| m.user_id == cx.me && !m.deleted)
        .map(|m| m.seq);
    let mut rows = Vec::new();
    let mut previous: Option<(UserId, Timestamp, CivilDate)> = None;
    let mut divider_placed = false;
    for stored in messages {
        let shown = cx.changes.overlay(stored, cx.me, cx.now);
        let m = &shown;
        let local = m.created_at.local(offset);
        let date = local.date;
        let new_day = previous.is_none_or(|(_, _, d)| d != date);
        if new_day {
            rows.push(Row::Day {
                date,
                label: day_label(date, today),
            });
        }
        let unread_here = !divider_placed
            && m.user_id != cx.me
            && cx.unread_after_seq.is_some_and(|read| m.seq > read);
        if unread_here {
            rows.push(Row::Unread);
            divider_placed = true;
        }
        let continues = previous.is_some_and(|(who, at, _)| {
            who == m.user_id && m.created_at.seconds_since(at) <= GROUP_GAP_SECS
        });
        let sender = (cx.name_of)(m.user_id).unwrap_or_else(|| "Unknown".into());
        let seen_by = match (cx.reads, my_latest) {
            (Some(reads), Some(latest)) if latest == m.seq => {
                let mut seen: Vec<SeenBy> = reads
                    .iter()
                    .filter(|(u, s)| **u != cx.me && **s >= latest)
                    .map(|(u, _)| {
                        let name = name(*u);
                        SeenBy {
                            user_id: *u,
                            initials: initials(&name),
                            name,
                        }
                    })
                    .collect();
                seen.sort_by(|a, b| a.name.cmp(&b.name));
                seen
            }
            _ => Vec::new(),
        };
        rows.push(Row::Message(Box::new(MessageRow {
            id: m.id,
            seq: m.seq,
            user_id: m.user_id,
            initials: initials(&sender),
            sender,
            mine: m.user_id == cx.me,
            first_in_group: new_day || unread_here || !continues,
            time: format!("{:02}:{:02}", local.hour, local.minute),
            datetime: m.created_at.to_rfc3339(),
            text: m.text.clone(),
            rev: stored.rev,
            edited: m.edited_at.filter(|_| !m.deleted).map(|at| {
                let t = at.local(offset);
                format!("edited {:02}:{:02}", t.hour, t.minute)
            }),
            deleted: m.deleted,
            reactions: m
                .reactions
                .iter()
                .map(|r| ReactionChip {
                    emoji: r.emoji.clone(),
                    count: r.count,
                    mine: r.user_ids.contains(&cx.me),
                    who: who_reacted(&r.user_ids, r.count, &name),
                    partial: r.count > r.user_ids.len() as i64,
                })
                .collect(),
            quote: m.reply_to.as_ref().map(|q| QuoteRow {
                id: q.id,
                seq: q.seq,
                sender: name(q.user_id),
                preview: q.preview.clone(),
                deleted: q.deleted,
            }),
            pinned_by: m.pinned.map(|p| name(p.by)),
            pinned_at: m.pinned.map(|p| short_time(p.at.local(offset), today)),
            seen_by,
            parent_id: m.parent_id,
            mentions_me: m.mentions.contains(&cx.me) && m.user_id != cx.me,
            mention_names: m
                .mentions
                .iter()
                .filter_map(|u| (cx.name_of)(*u).map(|n| (n, *u == cx.me)))
                .collect(),
            also_in_channel: m.parent_id.is_some() && m.show_in_channel,
            attachments: if m.deleted {
                Vec::new()
            } else {
                m.attachments.clone()
            },
            previews: if m.deleted {
                Vec::new()
            } else {
                m.previews.clone()
            },
            thread: m.thread.as_ref().map(|t| ThreadRow {
                replies: match t.reply_count {
                    1 => "1 reply".to_string(),
                    n => format!("{n} replies"),
                },
                last_reply: format!(
                    "Last reply {}",
                    short_time(t.last_reply_at.local(offset), today)
                ),
                participants: t
                    .participants
                    .iter()
                    .map(|u| (*u, initials(&name(*u))))
                    .collect(),
            }),
            saving: cx.changes.is_waiting(m.id),
            failed: cx
                .changes
                .failed_for(m.id)
                .map(|c| FailedChange {
                    client_id: c.client_id.clone(),
                    label: format!(
                        "{} not saved: {}",
                        change_name(&c.request),
                        c.failed.as_deref().unwrap_or("refused")
                    ),
                })
                .collect(),
        })));
        previous = Some((m.user_id, m.created_at, date));
    }
    rows.extend(pending.iter().map(|p| {
        Row::Pending(PendingRow {
            client_id: p.client_id.clone(),
            text: p.text.clone(),
            attachments: p.attachments.clone(),
            failed: match &p.state {
                PendingState::Sending => None,
                PendingState::Failed(reason) => Some(reason.clone()),
            },
        })
    }));
    rows
}

/// "Alice, Bob and 3 others reacted" for a chip's tooltip: the listed
/// reactors by name (the viewer as "You"), and how many more.
pub fn who_reacted(user_ids: &[UserId], count: i64, name: &dyn Fn(UserId) -> String) -> String {
    let names: Vec<String> = user_ids
        .iter()
        .take(NAMES_SHOWN)
        .map(|u| name(*u))
        .collect();
    let others = count - names.len() as i64;
    let listed = match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] if others <= 0 => format!("{} and {last}", init.join(", ")),
        all => all.join(", "),
    };
    match (listed.is_empty(), others) {
        (true, n) => format!("{n} reacted"),
        (false, n) if n > 0 => {
            format!("{listed} and {n} other{}", if n == 1 { "" } else { "s" })
        }
        _ => listed,
    }
}

/// What a change is called in a failure note.
fn change_name(request: &crate::protocol::ChangeRequest) -> String {
    use crate::protocol::ChangeRequest::*;
    match request {
        Edit { .. } => "Edit".into(),
        Delete => "Delete".into(),
        ReactionAdd { emoji } => format!("Reaction {emoji}"),
        ReactionRemove { emoji } => format!("Removing {emoji}"),
        Pin => "Pin".into(),
        Unpin => "Unpin".into(),
    }
}

/// "Today", "Yesterday", "Monday, March 4", or with the year when it is
/// not this year.
pub fn day_label(date: CivilDate, today: CivilDate) -> String {
    let (weekday, month, day) = (weekday_name(date), month_name(date), date.day());
    if date == today {
        "Today".into()
    } else if today.previous() == date {
        "Yesterday".into()
    } else if date.year() == today.year() {
        format!("{weekday}, {month} {day}")
    } else {
        format!("{weekday}, {month} {day}, {}", date.year())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChannelId, MessageId};
    use uuid::Uuid;

    const ME: UserId = UserId::from_uuid(Uuid::from_u128(1));
    const ALICE: UserId = UserId::from_uuid(Uuid::from_u128(2));

    fn at(d: u8, h: u8, m: u8) -> Timestamp {
        Timestamp::at_utc(CivilDate::new(2026, 11, d).unwrap(), h, m, 0)
    }

    fn msg(seq: i64, user_id: UserId, created_at: Timestamp) -> Message {
        Message::unchanged(
            MessageId::from_uuid(Uuid::from_u128(1000 + seq as u128)),
            ChannelId::from_uuid(Uuid::nil()),
            Seq::new(seq),
            user_id,
            format!("m{seq}"),
            created_at,
            format!("c{seq}").into(),
        )
    }

    fn names(id: UserId) -> Option<String> {
        match id {
            ME => Some("Bob".into()),
            ALICE => Some("Alice Liddell".into()),
            _ => None,
        }
    }

    static NO_CHANGES: std::sync::LazyLock<PendingChanges> =
        std::sync::LazyLock::new(PendingChanges::default);

    fn cx(unread_after_seq: Option<i64>, utc_offset_minutes: i32) -> RowContext<'static> {
        RowContext {
            me: ME,
            name_of: &names,
            unread_after_seq: unread_after_seq.map(Seq::new),
            utc_offset_minutes,
            now: at(25, 12, 0),
            reads: None,
            changes: &NO_CHANGES,
        }
    }

    /// A compact picture of the rows: D(label) U M(seq, first?) P(failed?).
    fn sketch(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|r| match r {
                Row::Day { label, .. } => format!("D {label}"),
                Row::Unread => "U".into(),
                Row::Message(m) => format!("M{}{}", m.seq, if m.first_in_group { "*" } else { "" }),
                Row::Pending(p) => format!("P{}", if p.failed.is_some() { "!" } else { "" }),
            })
            .collect()
    }

    #[test]
    fn runs_by_one_sender_group_until_a_gap_a_new_day_or_another_sender() {
        let ms = [
            msg(1, ALICE, at(24, 9, 0)),
            msg(2, ALICE, at(24, 9, 3)),
            msg(3, ALICE, at(24, 9, 20)), // 17 minutes later
            msg(4, ME, at(24, 9, 21)),
            msg(5, ME, at(25, 8, 0)), // next day
            msg(6, ALICE, at(25, 8, 1)),
        ];
        let rows = layout(&ms, &[], &cx(None, 0));
        assert_eq!(
            sketch(&rows),
            [
                "D Yesterday",
                "M1*",
                "M2",
                "M3*",
                "M4*",
                "D Today",
                "M5*",
                "M6*"
            ]
        );
        let Row::Message(first) = &rows[1] else {
            panic!()
        };
        assert_eq!(
            (first.sender.as_str(), first.initials.as_str()),
            ("Alice Liddell", "AL")
        );
        assert!(!first.mine);
        assert_eq!(first.time, "09:00");
    }

    #[test]
    fn the_unread_divider_goes_before_the_first_unread_message_by_someone_else() {
        let ms = [
            msg(1, ALICE, at(25, 9, 0)),
            msg(2, ME, at(25, 9, 1)),
            msg(3, ALICE, at(25, 9, 2)),
            msg(4, ALICE, at(25, 9, 3)),
        ];
        // Read up to 1; my own message 2 is not "unread".
        let rows = layout(&ms, &[], &cx(Some(1), 0));
        assert_eq!(sketch(&rows), ["D Today", "M1*", "M2*", "U", "M3*", "M4"]);
        let rows = layout(&ms, &[], &cx(Some(4), 0));
        assert_eq!(sketch(&rows), ["D Today", "M1*", "M2*", "M3*", "M4"]);
    }

    #[test]
    fn days_and_times_follow_the_viewers_time_zone() {
        // 23:30 UTC on the 24th is the 25th at 01:30 in UTC+2.
        let ms = [msg(1, ALICE, at(24, 23, 30))];
        let utc = layout(&ms, &[], &cx(None, 0));
        let east = layout(&ms, &[], &cx(None, 120));
        assert_eq!(sketch(&utc)[0], "D Yesterday");
        assert_eq!(sketch(&east)[0], "D Today");
        let Row::Message(m) = &east[1] else { panic!() };
        assert_eq!(m.time, "01:30");
    }

    #[test]
    fn unconfirmed_messages_follow_the_stored_ones_and_show_failure() {
        let pending = [
            Pending {
                client_id: "a".into(),
                text: "sending".into(),
                reply_to: None,
                thread: None,
                mentions: Vec::new(),
                attachments: Vec::new(),
                state: PendingState::Sending,
            },
            Pending {
                client_id: "b".into(),
                text: "refused".into(),
                reply_to: None,
                thread: None,
                mentions: Vec::new(),
                attachments: Vec::new(),
                state: PendingState::Failed("rate limited".into()),
            },
        ];
        let rows = layout(&[msg(1, ALICE, at(25, 9, 0))], &pending, &cx(None, 0));
        assert_eq!(sketch(&rows), ["D Today", "M1*", "P", "P!"]);
        assert_ne!(rows[2].key(), rows[3].key());
    }

    #[test]
    fn changes_show_on_the_row_and_seen_by_goes_under_my_latest_message() {
        use crate::protocol::{Pin, Quote, Reaction};
        let mut edited = msg(1, ALICE, at(25, 9, 0));
        edited.rev = Rev::new(3);
        edited.edited_at = Some(at(25, 9, 5));
        edited.reactions = vec![Reaction {
            emoji: "👍".into(),
            count: 53,
            user_ids: vec![ME, ALICE],
        }];
        edited.pinned = Some(Pin {
            by: ME,
            at: at(25, 9, 6),
        });
        let mut reply = msg(2, ME, at(25, 9, 7));
        reply.reply_to = Some(Quote {
            id: edited.id,
            seq: edited.seq,
            user_id: ALICE,
            preview: "m1".into(),
            deleted: false,
        });
        let mut gone = msg(3, ALICE, at(25, 9, 8));
        gone.deleted = true;
        gone.text.clear();
        let reads: HashMap<UserId, Seq> = [(ALICE, Seq::new(2)), (ME, Seq::new(2))].into();
        let mut context = cx(None, 0);
        context.reads = Some(&reads);
        let rows = layout(&[edited, reply, gone], &[], &context);
        let messages: Vec<&MessageRow> = rows
            .iter()
            .filter_map(|r| match r {
                Row::Message(m) => Some(m.as_ref()),
                _ => None,
            })
            .collect();
        let first = messages[0];
        assert_eq!(first.edited.as_deref(), Some("edited 09:05"));
        assert_eq!(first.pinned_by.as_deref(), Some("You"));
        assert_eq!(first.pinned_at.as_deref(), Some("09:06"));
        assert_eq!(
            first.reactions,
            [ReactionChip {
                emoji: "👍".into(),
                count: 53,
                mine: true,
                who: "You, Alice Liddell and 51 others".into(),
                partial: true,
            }]
        );
        let quote = messages[1].quote.as_ref().unwrap();
        assert_eq!(
            (quote.sender.as_str(), quote.seq),
            ("Alice Liddell", Seq::new(1))
        );
        assert_eq!(messages[1].seen_by.len(), 1, "alice read my latest");
        assert_eq!(messages[1].seen_by[0].name, "Alice Liddell");
        assert!(messages[0].seen_by.is_empty());
        assert!(messages[2].deleted && messages[2].edited.is_none());
        // A change of state changes the row's key (the list redraws it).
        let mut again = rows.clone();
        if let Row::Message(m) = &mut again[1] {
            m.reactions[0].count += 1;
        }
        assert_ne!(rows[1].key(), again[1].key());
    }

    #[test]
    fn reaction_tooltips_name_who_reacted() {
        let name = |u: UserId| names(u).unwrap_or_else(|| "Unknown".into());
        assert_eq!(who_reacted(&[ALICE], 1, &name), "Alice Liddell");
        assert_eq!(who_reacted(&[ALICE, ME], 2, &name), "Alice Liddell and Bob");
        assert_eq!(who_reacted(&[ALICE], 2, &name), "Alice Liddell and 1 other");
        assert_eq!(who_reacted(&[], 4, &name), "4 reacted");
    }

    #[test]
    fn day_labels_name_recent_days_then_dates() {
        let today = CivilDate::new(2026, 11, 25).unwrap();
        let d = |y, m, d| CivilDate::new(y, m, d).unwrap();
        assert_eq!(day_label(d(2026, 11, 25), today), "Today");
        assert_eq!(day_label(d(2026, 11, 24), today), "Yesterday");
        assert_eq!(day_label(d(2026, 3, 4), today), "Wednesday, March 4");
        assert_eq!(day_label(d(2025, 3, 4), today), "Tuesday, March 4, 2025");
    }
}
