//! What the open conversation does when a server frame arrives or its
//! socket changes state, as a pure function over plain data: the frame
//! reducer [`apply`] and the reconnect rule [`on_connection`]. They decide
//! everything (which messages show, which sends are confirmed or failed,
//! who is online or typing, whether the viewer was refused) and hand back
//! what they cannot do themselves ([`RoomEffect`]: frames to send, channel
//! list updates, screen-reader announcements) for the caller to perform.
//! The signal-holding `ui::state::room::RoomState` keeps its data in
//! signals and runs these over it, so the rules are tested natively.

use std::collections::{HashMap, HashSet};

use crate::client::changes::PendingChanges;
use crate::client::channel_list::{Activity, ListUpdate};
use crate::client::outbox::Outbox;
use crate::client::socket::ConnectionState;
use crate::client::timeline::Timeline;
use crate::protocol::{
    ClientFrame, ErrorCode, Message, PresenceStatus, Rev, Seq, ServerFrame, UserId,
};

/// The open conversation's changing data, without signals: what the
/// reducer reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomModel {
    /// Stored messages, by seq.
    pub timeline: Timeline,
    /// Our sends the server has not confirmed.
    pub outbox: Outbox,
    /// Who is online in the channel.
    pub online: HashSet<UserId>,
    /// Who else is typing (never the viewer).
    pub typing: HashSet<UserId>,
    /// The socket's state.
    pub connection: ConnectionState,
    /// The server refused the viewer (access revoked while open).
    pub revoked: bool,
    /// Our changes to messages the server has not confirmed.
    pub changes: PendingChanges,
    /// Members' read cursors ("seen by").
    pub reads: HashMap<UserId, Seq>,
    /// The newest messages are not all shown: the timeline holds a window
    /// around an older message (a jump to a quote); live messages past it
    /// wait until the reader pages down or jumps back to the latest.
    pub detached: bool,
    /// The highest rev this page holds every change up to (where a
    /// reconnect resumes changes from).
    pub head_rev: Rev,
    /// The highest seq this page was sent (where a reconnect resumes
    /// messages from, also while detached).
    pub head_seq: Seq,
}

impl RoomModel {
    /// A room just opened on `timeline` (its first page), before the
    /// socket connects.
    pub fn new(timeline: Timeline) -> Self {
        let head_seq = timeline.last_seq();
        RoomModel {
            timeline,
            outbox: Outbox::default(),
            online: HashSet::new(),
            typing: HashSet::new(),
            connection: ConnectionState::Connecting,
            revoked: false,
            changes: PendingChanges::default(),
            reads: HashMap::new(),
            detached: false,
            head_rev: Rev::ZERO,
            head_seq,
        }
    }
}

/// The `read` frame that marks everything in `timeline` as read, if it
/// shows anything.
pub fn read_frame(timeline: &Timeline) -> Option<ClientFrame> {
    let seq = timeline.last_seq();
    (seq > Seq::ZERO).then_some(ClientFrame::Read { seq: Some(seq) })
}

/// What a step reads but does not own.
#[derive(Debug, Clone, Copy)]
pub struct FrameContext<'a> {
    /// The viewer.
    pub me: UserId,
    /// Member names by id (previews and announcements).
    pub names: &'a HashMap<UserId, String>,
    /// Whether the reader is looking at the page (visible and focused), so
    /// an arriving message counts as read.
    pub attended: bool,
}

/// Work a step leaves to its caller, in the order it is to be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEffect {
    /// Send this frame on the room's socket (if it is open).
    Send(ClientFrame),
    /// Update the channel list (a new message, a moved read cursor).
    List(ListUpdate),
    /// Say this to screen readers (the newest incoming message).
    Announce(String),
}

/// Which parts of a [`RoomModel`] a step changed: the signal-holding state
/// notifies only those, so a typing frame does not lay out the messages
/// again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changed {
    /// [`RoomModel::timeline`].
    pub timeline: bool,
    /// [`RoomModel::outbox`].
    pub outbox: bool,
    /// [`RoomModel::online`].
    pub online: bool,
    /// [`RoomModel::typing`].
    pub typing: bool,
    /// [`RoomModel::connection`].
    pub connection: bool,
    /// [`RoomModel::revoked`].
    pub revoked: bool,
    /// [`RoomModel::changes`].
    pub changes: bool,
    /// [`RoomModel::reads`].
    pub reads: bool,
}

/// The outcome of one step: what changed and what the caller must do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    /// The parts of the model that changed.
    pub changed: Changed,
    /// Work for the caller, in order.
    pub effects: Vec<RoomEffect>,
}

/// Applies one server frame of the open room's socket to `model`.
///
/// - `message.new`: shown once, in seq order, however often and in
///   whatever order it arrives (live, resume replay); the viewer's own
///   copy confirms the pending send with its `clientId`; the channel list
///   gets its preview; a new message from someone else is announced and,
///   when the reader is looking, read.
/// - `message.updated`: the held copy is replaced when the rev is newer;
///   a pending change it settles is settled; the channel list is told, in
///   case it previews the message.
/// - `typing`: the typist is added or removed; the viewer's own typing
///   (another tab) is ignored.
/// - `presence.state` replaces who is online; `presence.update` adds or
///   removes one user, known member or not.
/// - `channel.activity` and `read.updated` go to the channel list.
/// - `error` with a `clientId` marks that pending send failed, with the
///   reason shown; `FORBIDDEN` without one means the viewer was refused.
///   Other errors and `resume.done` change nothing.
pub fn apply(model: &mut RoomModel, frame: ServerFrame, cx: &FrameContext<'_>) -> Step {
    let mut step = Step::default();
    let changed = &mut step.changed;
    let effects = &mut step.effects;
    match frame {
        ServerFrame::MessageUpdated(wire) => {
            let m = Message::from(*wire);
            model.head_rev = model.head_rev.max(m.rev);
            // The channel list follows if it previews this message: the
            // new text, or after a delete the newest live message before it.
            let shown = if m.deleted {
                model
                    .timeline
                    .messages()
                    .rev()
                    .find(|p| p.seq < m.seq && !p.deleted)
            } else {
                Some(&m)
            };
            effects.push(RoomEffect::List(ListUpdate::Changed {
                channel_id: m.channel_id,
                message_id: m.id,
                preview: shown.map(|p| Activity::of_message(p, cx.names.get(&p.user_id).cloned())),
            }));
            changed.changes = model.changes.settle(&m, cx.me);
            changed.timeline = model.timeline.update(m);
        }
        ServerFrame::MemberRead { updates, .. } => {
            for read in updates {
                let cursor = model.reads.entry(read.user_id).or_default();
                if read.last_read_seq > *cursor {
                    *cursor = read.last_read_seq;
                    changed.reads = true;
                }
            }
        }
        ServerFrame::UnreadUpdated {
            channel_id,
            unread_count,
        } => effects.push(RoomEffect::List(ListUpdate::Unread {
            channel_id,
            unread_count,
        })),
        ServerFrame::MessageNew(wire) => {
            let m = Message::from(*wire);
            model.head_seq = model.head_seq.max(m.seq);
            changed.changes = model.changes.settle(&m, cx.me);
            let incoming = m.user_id != cx.me;
            if !incoming {
                changed.outbox = model.outbox.confirm(&m.client_id);
            }
            if !m.in_main_timeline() {
                // A thread-only reply: its thread shows it; the parent's
                // `message.updated` that follows carries the count.
                return step;
            }
            let sender = cx.names.get(&m.user_id).cloned();
            effects.push(RoomEffect::List(ListUpdate::Activity(
                Activity::of_message(&m, sender.clone()),
            )));
            let announcement = incoming.then(|| {
                let who = sender.unwrap_or_else(|| "Someone".into());
                format!("{who}: {}", m.text)
            });
            // While detached, a message past the window waits for paging
            // (the window must stay without gaps).
            let fits = !model.detached || m.seq <= model.timeline.last_seq().next();
            // A repeat replaces the stored copy (same seq): redrawn all the same.
            changed.timeline = fits;
            let added = fits && model.timeline.insert(m);
            if let (true, Some(announcement)) = (added, announcement) {
                effects.push(RoomEffect::Announce(announcement));
                if let (true, Some(read)) = (cx.attended, read_frame(&model.timeline)) {
                    effects.push(RoomEffect::Send(read));
                }
            }
        }
        // Thread frames are for a thread panel.
        ServerFrame::ThreadTyping { .. } | ServerFrame::ThreadReadUpdated { .. } => {}
        ServerFrame::PresenceState { user_ids } => {
            model.online = user_ids.into_iter().collect();
            changed.online = true;
        }
        ServerFrame::PresenceUpdate { user_id, status } => {
            changed.online = match status {
                PresenceStatus::Online => model.online.insert(user_id),
                PresenceStatus::Offline => model.online.remove(&user_id),
            };
        }
        ServerFrame::Typing { user_id, is_typing } => {
            if user_id != cx.me {
                changed.typing = if is_typing {
                    model.typing.insert(user_id)
                } else {
                    model.typing.remove(&user_id)
                };
            }
        }
        ServerFrame::ChannelActivity {
            channel_id,
            seq,
            message_id,
            user_id,
            preview,
            created_at,
            unread_mentions,
            ..
        } => effects.push(RoomEffect::List(ListUpdate::Activity(Activity {
            channel_id,
            seq,
            message_id,
            user_id,
            sender_name: None,
            preview,
            created_at,
            unread_mentions,
        }))),
        ServerFrame::ReadUpdated {
            channel_id,
            last_read_seq,
            unread_mentions,
        } => effects.push(RoomEffect::List(ListUpdate::Read {
            channel_id,
            last_read_seq,
            unread_mentions: Some(unread_mentions),
        })),
        ServerFrame::Error {
            code,
            client_id: Some(client_id),
            retry_after_ms,
            ..
        } => {
            let reason = failure_reason(code, retry_after_ms);
            changed.outbox = model.outbox.fail(&client_id, reason.clone());
            changed.changes = !changed.outbox && model.changes.fail(&client_id, reason);
        }
        ServerFrame::Error {
            code: ErrorCode::Forbidden,
            ..
        } => {
            changed.revoked = !model.revoked;
            model.revoked = true;
        }
        // The replay's messages came as `message.new` and are in place;
        // its rev is where the next resume of changes starts.
        ServerFrame::ResumeDone { head_rev, .. } => {
            model.head_rev = model.head_rev.max(head_rev);
        }
        ServerFrame::Error { .. } => {}
    }
    step
}

/// Applies a change of the socket's state: after every (re)connect each
/// message still sending goes out again, oldest first, with its original
/// `clientId` (the server stores it once whatever happened to the first
/// attempt; failed ones wait for the user); a socket closed for good means
/// the viewer was refused.
pub fn on_connection(model: &mut RoomModel, state: ConnectionState) -> Step {
    let mut step = Step::default();
    model.connection = state;
    step.changed.connection = true;
    match state {
        ConnectionState::Connected => {
            for send in model.outbox.to_resend() {
                step.effects.push(RoomEffect::Send(send));
            }
            for frame in model.changes.to_resend() {
                step.effects.push(RoomEffect::Send(frame));
            }
        }
        ConnectionState::Closed => {
            step.changed.revoked = !model.revoked;
            model.revoked = true;
        }
        _ => {}
    }
    step
}

/// What a failed message says about why.
pub fn failure_reason(code: ErrorCode, retry_after_ms: Option<u64>) -> String {
    match code {
        ErrorCode::RateLimited => match retry_after_ms {
            Some(ms) => format!("Sending too fast; retry in {}s", ms.div_ceil(1000).max(1)),
            None => "Sending too fast".into(),
        },
        ErrorCode::PersistFailed => "Not saved".into(),
        ErrorCode::MessageTooLong => "Too long".into(),
        ErrorCode::EmptyMessage => "Empty".into(),
        ErrorCode::Forbidden => "Not a member".into(),
        _ => "Not sent".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::channel_list::apply_update;
    use crate::client::outbox::PendingState;
    use crate::protocol::{ChannelId, ChannelSummary, ClientId, MessageId, Seq, Timestamp};

    /// A room with its viewer, one other member, and the names they go by.
    struct Fixture {
        me: UserId,
        alice: UserId,
        channel: ChannelId,
        names: HashMap<UserId, String>,
        model: RoomModel,
    }

    impl Fixture {
        fn new() -> Self {
            let me = UserId::new_random();
            let alice = UserId::new_random();
            Fixture {
                me,
                alice,
                channel: ChannelId::new_random(),
                names: [(me, "Me".to_string()), (alice, "Alice".to_string())].into(),
                model: RoomModel::new(Timeline::default()),
            }
        }

        fn apply_as(&mut self, frame: ServerFrame, attended: bool) -> Step {
            let cx = FrameContext {
                me: self.me,
                names: &self.names,
                attended,
            };
            apply(&mut self.model, frame, &cx)
        }

        /// A frame while the reader looks elsewhere.
        fn apply(&mut self, frame: ServerFrame) -> Step {
            self.apply_as(frame, false)
        }

        fn message(&self, seq: i64, from: UserId, client_id: &str) -> ServerFrame {
            ServerFrame::message_new(&Message::unchanged(
                MessageId::new_random(),
                self.channel,
                Seq::new(seq),
                from,
                format!("m{seq}"),
                Timestamp::from_micros(1_764_000_000_000_000 + seq),
                ClientId::from(client_id),
            ))
        }

        fn seqs(&self) -> Vec<i64> {
            self.model
                .timeline
                .messages()
                .map(|m| m.seq.get())
                .collect()
        }
    }

    fn announcements(step: &Step) -> Vec<&str> {
        step.effects
            .iter()
            .filter_map(|e| match e {
                RoomEffect::Announce(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    fn sent(step: &Step) -> Vec<&ClientFrame> {
        step.effects
            .iter()
            .filter_map(|e| match e {
                RoomEffect::Send(frame) => Some(frame),
                _ => None,
            })
            .collect()
    }

    fn error(
        code: ErrorCode,
        client_id: Option<&ClientId>,
        retry_after_ms: Option<u64>,
    ) -> ServerFrame {
        ServerFrame::Error {
            code,
            message: "refused".into(),
            retry_after_ms,
            client_id: client_id.cloned(),
        }
    }

    fn summary(id: ChannelId, head: i64, last_read: i64) -> ChannelSummary {
        ChannelSummary {
            id,
            name: "General".into(),
            color: "#000".into(),
            member_count: 2,
            unread_count: head - last_read,
            last_read_seq: Seq::new(last_read),
            head_seq: Seq::new(head),
            last_message: None,
            last_sender_name: None,
            head_rev: crate::protocol::Rev::ZERO,
            read_receipts: true,
            unread_threads: 0,
            unread_mentions: 0,
        }
    }

    #[test]
    fn messages_arriving_out_of_order_are_shown_in_seq_order() {
        let mut f = Fixture::new();
        for seq in [3, 1, 2] {
            let step = f.apply(f.message(seq, f.alice, &format!("c{seq}")));
            assert!(step.changed.timeline);
            assert_eq!(announcements(&step), vec![format!("Alice: m{seq}")]);
        }
        assert_eq!(f.seqs(), vec![1, 2, 3]);
        assert_eq!(f.model.timeline.last_seq(), Seq::new(3));
    }

    #[test]
    fn the_same_seq_twice_is_shown_once_and_announced_once() {
        let mut f = Fixture::new();
        let frame = f.message(1, f.alice, "c1");
        let first = f.apply_as(frame.clone(), true);
        assert_eq!(announcements(&first), vec!["Alice: m1"]);
        assert_eq!(
            sent(&first),
            vec![&ClientFrame::Read {
                seq: Some(Seq::new(1))
            }]
        );
        let again = f.apply_as(frame, true);
        assert_eq!(f.seqs(), vec![1]);
        assert!(announcements(&again).is_empty(), "announced once");
        assert!(sent(&again).is_empty(), "read once");
    }

    #[test]
    fn the_echo_of_my_own_send_confirms_it_without_an_announcement() {
        let mut f = Fixture::new();
        let mine = f.model.outbox.add("m1".into());
        let other = f.model.outbox.add("m2".into());
        let step = f.apply_as(f.message(1, f.me, mine.as_str()), true);
        assert!(step.changed.outbox && step.changed.timeline);
        assert_eq!(f.model.outbox.items().len(), 1);
        assert_eq!(f.model.outbox.items()[0].client_id, other);
        assert_eq!(f.seqs(), vec![1]);
        assert!(
            announcements(&step).is_empty(),
            "my own message is not announced"
        );
        assert!(
            sent(&step).is_empty(),
            "nor read: the server reads it for me"
        );
        // The same echo again (a resume replay): shown once, nothing to confirm.
        let again = f.apply(f.message(1, f.me, mine.as_str()));
        assert!(!again.changed.outbox);
        assert_eq!(f.seqs(), vec![1]);
        assert_eq!(f.model.outbox.items().len(), 1);
    }

    #[test]
    fn only_my_own_messages_confirm_my_sends() {
        let mut f = Fixture::new();
        let mine = f.model.outbox.add("hi".into());
        let step = f.apply(f.message(1, f.alice, mine.as_str()));
        assert!(!step.changed.outbox);
        assert_eq!(
            f.model.outbox.items().len(),
            1,
            "someone else's key is theirs"
        );
    }

    #[test]
    fn an_incoming_message_is_read_only_when_the_reader_looks() {
        let mut f = Fixture::new();
        let away = f.apply_as(f.message(1, f.alice, "a"), false);
        assert!(sent(&away).is_empty());
        let looking = f.apply_as(f.message(3, f.alice, "b"), true);
        assert_eq!(
            sent(&looking),
            vec![&ClientFrame::Read {
                seq: Some(Seq::new(3))
            }]
        );
        // Read up to the newest shown, even when an older one arrives late.
        let late = f.apply_as(f.message(2, f.alice, "c"), true);
        assert_eq!(
            sent(&late),
            vec![&ClientFrame::Read {
                seq: Some(Seq::new(3))
            }]
        );
    }

    #[test]
    fn a_message_from_someone_unknown_is_announced_as_someone() {
        let mut f = Fixture::new();
        let step = f.apply(f.message(1, UserId::new_random(), "x"));
        assert_eq!(announcements(&step), vec!["Someone: m1"]);
    }

    #[test]
    fn every_message_updates_the_channel_list_preview() {
        let mut f = Fixture::new();
        let step = f.apply(f.message(1, f.alice, "x"));
        let RoomEffect::List(ListUpdate::Activity(a)) = &step.effects[0] else {
            panic!("first effect is the list's: {:?}", step.effects);
        };
        assert_eq!(
            (a.channel_id, a.seq, a.user_id),
            (f.channel, Seq::new(1), f.alice)
        );
        assert_eq!(a.sender_name.as_deref(), Some("Alice"));
        assert_eq!(a.preview, "m1");
        // My own too (the list shows "You: ..."), and a repeat (the list
        // itself ignores activity it has seen).
        let mine = f.apply(f.message(2, f.me, "y"));
        let repeat = f.apply(f.message(2, f.me, "y"));
        for step in [mine, repeat] {
            assert!(matches!(
                &step.effects[..],
                [RoomEffect::List(ListUpdate::Activity(a))] if a.seq == Seq::new(2)
            ));
        }
    }

    #[test]
    fn an_edit_or_delete_tells_the_channel_list_what_to_preview() {
        let mut f = Fixture::new();
        for seq in 1..=3 {
            f.apply(f.message(seq, f.alice, "live"));
        }
        let mut third = f.model.timeline.at(Seq::new(3)).unwrap().clone();
        third.text = "edited".into();
        third.rev = Rev::new(1);
        let step = f.apply(ServerFrame::message_updated(&third));
        let [RoomEffect::List(ListUpdate::Changed {
            message_id,
            preview: Some(a),
            ..
        })] = &step.effects[..]
        else {
            panic!("the list's effect: {:?}", step.effects);
        };
        assert_eq!((*message_id, a.preview.as_str()), (third.id, "edited"));
        assert_eq!(a.sender_name.as_deref(), Some("Alice"));
        // Deleting it: the list previews the message before it.
        third.deleted = true;
        third.text.clear();
        third.rev = Rev::new(2);
        let step = f.apply(ServerFrame::message_updated(&third));
        let [RoomEffect::List(ListUpdate::Changed {
            preview: Some(a), ..
        })] = &step.effects[..]
        else {
            panic!("the list's effect: {:?}", step.effects);
        };
        assert_eq!((a.seq, a.preview.as_str()), (Seq::new(2), "m2"));
    }

    #[test]
    fn a_resume_replay_overlapping_the_timeline_adds_only_what_was_missed() {
        let mut f = Fixture::new();
        for seq in 1..=3 {
            f.apply(f.message(seq, f.alice, "live"));
        }
        // The socket dropped while I sent one; the replay after reconnect
        // repeats 2 and 3, brings 4, and the echo of my send as 5.
        let pending = f.model.outbox.add("m5".into());
        let resent = on_connection(&mut f.model, ConnectionState::Connected);
        assert_eq!(
            sent(&resent),
            vec![&ClientFrame::MessageSend {
                text: "m5".into(),
                client_id: pending.clone(),
                reply_to: None,
                parent_id: None,
                show_in_channel: false,
                mentions: Vec::new(),
                attachments: Vec::new(),
            }]
        );
        let mut said = Vec::new();
        for frame in [
            f.message(2, f.alice, "live"),
            f.message(3, f.alice, "live"),
            f.message(4, f.alice, "missed"),
            f.message(5, f.me, pending.as_str()),
        ] {
            let step = f.apply(frame);
            said.extend(announcements(&step).into_iter().map(String::from));
        }
        assert_eq!(said, vec!["Alice: m4"], "only the missed one is news");
        let before = f.model.clone();
        let done = f.apply(ServerFrame::ResumeDone {
            head_seq: Seq::new(5),
            head_rev: crate::protocol::Rev::ZERO,
        });
        assert_eq!(done, Step::default(), "resume.done changes nothing");
        assert_eq!(f.model, before);
        assert_eq!(f.seqs(), vec![1, 2, 3, 4, 5]);
        assert!(
            f.model.outbox.items().is_empty(),
            "the resent send is confirmed"
        );
    }

    #[test]
    fn an_error_naming_a_pending_send_marks_it_failed() {
        let mut f = Fixture::new();
        let a = f.model.outbox.add("one".into());
        let b = f.model.outbox.add("two".into());
        let step = f.apply(error(ErrorCode::RateLimited, Some(&a), Some(1500)));
        assert!(step.changed.outbox);
        assert!(step.effects.is_empty());
        assert_eq!(
            f.model.outbox.items()[0].state,
            PendingState::Failed("Sending too fast; retry in 2s".into())
        );
        assert_eq!(f.model.outbox.items()[1].state, PendingState::Sending);
        // A failed send waits for the user: a reconnect resends only `b`.
        let resent = on_connection(&mut f.model, ConnectionState::Connected);
        assert_eq!(
            sent(&resent),
            vec![&ClientFrame::MessageSend {
                text: "two".into(),
                client_id: b.clone(),
                reply_to: None,
                parent_id: None,
                show_in_channel: false,
                mentions: Vec::new(),
                attachments: Vec::new(),
            }]
        );
        // Refused for membership: that send fails; the room stays usable.
        let step = f.apply(error(ErrorCode::Forbidden, Some(&b), None));
        assert_eq!(
            f.model.outbox.items()[1].state,
            PendingState::Failed("Not a member".into())
        );
        assert!(!f.model.revoked && !step.changed.revoked);
        // An error about a send that is not ours (any more) changes nothing.
        let before = f.model.clone();
        let step = f.apply(error(
            ErrorCode::PersistFailed,
            Some(&ClientId::from("gone")),
            None,
        ));
        assert_eq!(step, Step::default());
        assert_eq!(f.model, before);
    }

    #[test]
    fn forbidden_without_a_send_revokes_and_other_errors_change_nothing() {
        let mut f = Fixture::new();
        f.model.outbox.add("one".into());
        let before = f.model.clone();
        for code in [
            ErrorCode::ParseError,
            ErrorCode::UnknownType,
            ErrorCode::RateLimited,
            ErrorCode::PersistFailed,
        ] {
            assert_eq!(f.apply(error(code, None, Some(1000))), Step::default());
        }
        assert_eq!(f.model, before);
        let step = f.apply(error(ErrorCode::Forbidden, None, None));
        assert!(f.model.revoked && step.changed.revoked);
        assert_eq!(f.model.outbox, before.outbox, "pending sends stay");
        let again = f.apply(error(ErrorCode::Forbidden, None, None));
        assert!(!again.changed.revoked);
    }

    #[test]
    fn failure_reasons_say_why_in_a_few_words() {
        let cases = [
            (
                ErrorCode::RateLimited,
                Some(1),
                "Sending too fast; retry in 1s",
            ),
            (
                ErrorCode::RateLimited,
                Some(3000),
                "Sending too fast; retry in 3s",
            ),
            (
                ErrorCode::RateLimited,
                Some(3001),
                "Sending too fast; retry in 4s",
            ),
            (ErrorCode::RateLimited, None, "Sending too fast"),
            (ErrorCode::PersistFailed, None, "Not saved"),
            (ErrorCode::MessageTooLong, None, "Too long"),
            (ErrorCode::EmptyMessage, None, "Empty"),
            (ErrorCode::Forbidden, None, "Not a member"),
            (ErrorCode::ParseError, None, "Not sent"),
            (ErrorCode::UnknownType, None, "Not sent"),
        ];
        for (code, ms, reason) in cases {
            assert_eq!(failure_reason(code, ms), reason, "{code:?} {ms:?}");
        }
        assert_eq!(
            failure_reason(ErrorCode::RateLimited, Some(0)),
            "Sending too fast; retry in 1s"
        );
    }

    #[test]
    fn typing_adds_and_removes_others_and_never_me() {
        let mut f = Fixture::new();
        let typing = |user_id, is_typing| ServerFrame::Typing { user_id, is_typing };
        assert!(f.apply(typing(f.alice, true)).changed.typing);
        assert!(
            !f.apply(typing(f.alice, true)).changed.typing,
            "already typing"
        );
        assert_eq!(f.apply(typing(f.me, true)), Step::default(), "my other tab");
        assert_eq!(f.model.typing, HashSet::from([f.alice]));
        assert!(f.apply(typing(f.alice, false)).changed.typing);
        assert!(!f.apply(typing(f.alice, false)).changed.typing);
        assert_eq!(f.apply(typing(f.me, false)), Step::default());
        assert!(f.model.typing.is_empty());
    }

    #[test]
    fn presence_state_replaces_and_updates_count_unknown_users_too() {
        let mut f = Fixture::new();
        let stranger = UserId::new_random();
        let step = f.apply(ServerFrame::PresenceState {
            user_ids: vec![f.me, f.alice],
        });
        assert!(step.changed.online && step.effects.is_empty());
        let online = |user_id| ServerFrame::PresenceUpdate {
            user_id,
            status: PresenceStatus::Online,
        };
        let offline = |user_id| ServerFrame::PresenceUpdate {
            user_id,
            status: PresenceStatus::Offline,
        };
        assert!(
            f.apply(online(stranger)).changed.online,
            "not in the member names"
        );
        assert_eq!(f.model.online.len(), 3);
        assert!(!f.apply(online(stranger)).changed.online, "already online");
        assert!(f.apply(offline(f.alice)).changed.online);
        assert!(!f.apply(offline(UserId::new_random())).changed.online);
        assert_eq!(f.model.online, HashSet::from([f.me, stranger]));
        // A fresh state (after a reconnect) replaces the set.
        f.apply(ServerFrame::PresenceState {
            user_ids: vec![f.alice],
        });
        assert_eq!(f.model.online, HashSet::from([f.alice]));
    }

    #[test]
    fn another_channels_activity_goes_to_the_list_with_a_name_it_knows() {
        let mut f = Fixture::new();
        let other = ChannelId::new_random();
        let before = f.model.clone();
        let step = f.apply(ServerFrame::ChannelActivity {
            parent_id: None,
            unread_mentions: None,
            channel_id: other,
            seq: Seq::new(8),
            message_id: MessageId::new_random(),
            user_id: f.alice,
            preview: "over here".into(),
            created_at: Timestamp::from_micros(1_764_000_000_000_000),
        });
        assert_eq!(f.model, before, "the open room does not change");
        assert_eq!(step.changed, Changed::default());
        let [RoomEffect::List(update)] = &step.effects[..] else {
            panic!("one list update: {:?}", step.effects);
        };
        let mut list = vec![summary(f.channel, 3, 3), summary(other, 7, 7)];
        let list_names = HashMap::from([(f.alice, "Alice A.".to_string())]);
        apply_update(
            &mut list,
            &list_names,
            update.clone(),
            f.me,
            Some(f.channel),
        );
        assert_eq!(list[0].id, other, "moved to the top");
        assert_eq!(list[0].unread_count, 1);
        assert_eq!(list[0].last_sender_name.as_deref(), Some("Alice A."));
    }

    #[test]
    fn read_updates_go_to_the_list_and_its_cursor_never_moves_back() {
        let mut f = Fixture::new();
        let mut list = vec![summary(f.channel, 10, 4)];
        let names = HashMap::new();
        for (seq, cursor, unread) in [(8, 8, 6), (3, 8, 6), (10, 10, 0), (9, 10, 0)] {
            let step = f.apply(ServerFrame::ReadUpdated {
                unread_mentions: 0,
                channel_id: f.channel,
                last_read_seq: Seq::new(seq),
            });
            assert_eq!(step.changed, Changed::default());
            for effect in step.effects {
                let RoomEffect::List(update) = effect else {
                    panic!("only list updates");
                };
                apply_update(&mut list, &names, update, f.me, Some(f.channel));
            }
            assert_eq!(list[0].last_read_seq, Seq::new(cursor), "after read {seq}");
            assert_eq!(list[0].unread_count, unread, "after read {seq}");
        }
    }

    #[test]
    fn a_reconnect_resends_what_is_still_sending_oldest_first() {
        let mut f = Fixture::new();
        let a = f.model.outbox.add("one".into());
        let b = f.model.outbox.add("two".into());
        for state in [
            ConnectionState::Connecting,
            ConnectionState::Reconnecting,
            ConnectionState::Offline,
        ] {
            let step = on_connection(&mut f.model, state);
            assert!(step.effects.is_empty(), "{state:?}: nothing to send on");
            assert_eq!(f.model.connection, state);
        }
        let step = on_connection(&mut f.model, ConnectionState::Connected);
        assert!(step.changed.connection && !step.changed.outbox);
        assert_eq!(
            step.effects,
            vec![
                RoomEffect::Send(ClientFrame::MessageSend {
                    text: "one".into(),
                    client_id: a,
                    reply_to: None,
                    parent_id: None,
                    show_in_channel: false,
                    mentions: Vec::new(),
                    attachments: Vec::new(),
                }),
                RoomEffect::Send(ClientFrame::MessageSend {
                    text: "two".into(),
                    client_id: b,
                    reply_to: None,
                    parent_id: None,
                    show_in_channel: false,
                    mentions: Vec::new(),
                    attachments: Vec::new(),
                }),
            ]
        );
        assert_eq!(f.model.outbox.items().len(), 2, "pending until confirmed");
        assert!(on_connection(
            &mut RoomModel::new(Timeline::default()),
            ConnectionState::Connected
        )
        .effects
        .is_empty());
    }

    #[test]
    fn a_socket_closed_for_good_revokes_the_viewer() {
        let mut f = Fixture::new();
        let step = on_connection(&mut f.model, ConnectionState::Closed);
        assert!(f.model.revoked && step.changed.revoked && step.changed.connection);
        assert!(step.effects.is_empty());
        assert_eq!(f.model.connection, ConnectionState::Closed);
    }

    #[test]
    fn the_read_frame_covers_everything_shown() {
        let mut f = Fixture::new();
        assert_eq!(
            read_frame(&f.model.timeline),
            None,
            "nothing shown, nothing read"
        );
        f.apply(f.message(2, f.alice, "a"));
        f.apply(f.message(1, f.alice, "b"));
        assert_eq!(
            read_frame(&f.model.timeline),
            Some(ClientFrame::Read {
                seq: Some(Seq::new(2))
            })
        );
    }
}
