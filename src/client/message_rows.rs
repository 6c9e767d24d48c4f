//! How the message list is laid out, as pure data: date separators, the
//! unread divider, sender grouping (name and avatar only on the first of
//! consecutive messages by one person), local times, and the unconfirmed
//! messages of the outbox at the end. The component only draws the rows.

use crate::protocol::{ClientId, Seq, UserId};

use crate::client::format::{initials, month_name, weekday_name};
use crate::client::outbox::{Pending, PendingState};
use crate::protocol::{CivilDate, Message, Timestamp};

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
    /// A stored message.
    Message(MessageRow),
    /// A message of ours the server has not confirmed yet.
    Pending(PendingRow),
}

impl Row {
    /// A key that changes whenever the row must be drawn again.
    pub fn key(&self) -> String {
        match self {
            Row::Day { date, label } => format!("d:{date}:{label}"),
            Row::Unread => "u".into(),
            Row::Message(m) => format!("m:{}:{}:{}", m.seq, m.first_in_group, m.time),
            Row::Pending(p) => format!("p:{}:{:?}", p.client_id, p.failed),
        }
    }
}

/// A stored message as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
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
    /// The text as sent.
    pub text: String,
}

/// An unconfirmed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRow {
    /// Its idempotency key (the retry control sends it again).
    pub client_id: ClientId,
    /// The text.
    pub text: String,
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
    let mut rows = Vec::new();
    let mut previous: Option<(UserId, Timestamp, CivilDate)> = None;
    let mut divider_placed = false;
    for m in messages {
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
        rows.push(Row::Message(MessageRow {
            seq: m.seq,
            user_id: m.user_id,
            initials: initials(&sender),
            sender,
            mine: m.user_id == cx.me,
            first_in_group: new_day || unread_here || !continues,
            time: format!("{:02}:{:02}", local.hour, local.minute),
            datetime: m.created_at.to_rfc3339(),
            text: m.text.clone(),
        }));
        previous = Some((m.user_id, m.created_at, date));
    }
    rows.extend(pending.iter().map(|p| {
        Row::Pending(PendingRow {
            client_id: p.client_id.clone(),
            text: p.text.clone(),
            failed: match &p.state {
                PendingState::Sending => None,
                PendingState::Failed(reason) => Some(reason.clone()),
            },
        })
    }));
    rows
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

    fn cx(unread_after_seq: Option<i64>, utc_offset_minutes: i32) -> RowContext<'static> {
        RowContext {
            me: ME,
            name_of: &names,
            unread_after_seq: unread_after_seq.map(Seq::new),
            utc_offset_minutes,
            now: at(25, 12, 0),
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
                state: PendingState::Sending,
            },
            Pending {
                client_id: "b".into(),
                text: "refused".into(),
                state: PendingState::Failed("rate limited".into()),
            },
        ];
        let rows = layout(&[msg(1, ALICE, at(25, 9, 0))], &pending, &cx(None, 0));
        assert_eq!(sketch(&rows), ["D Today", "M1*", "P", "P!"]);
        assert_ne!(rows[2].key(), rows[3].key());
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
