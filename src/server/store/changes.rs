//! Changes to stored messages (edit, delete, reactions, pins), shared by
//! both backends: the request ([`Change`]), what it may be answered
//! ([`ChangeOutcome`], [`ChangeRefused`]) and the decision itself
//! ([`decide`]), made on the facts a change's transaction read under the
//! channel's write lock. The backends read those facts and write the
//! decision back, so the rules cannot drift between SQLite and Postgres,
//! and a check and its write can never be split by another writer (an
//! edit racing a delete, a 21st emoji racing a 20th).

use chrono::{DateTime, Utc};

use crate::protocol::{ChannelId, LinkPreview, Message, MessageId, Reaction, Rev, UserId};

/// Who asks for a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A member of the channel (must still be one when the change commits).
    Member(UserId),
    /// The host app, through the admin API (may delete any message).
    HostApp,
}

/// What a change does to its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// New text (already trimmed and checked by the send rules); refused
    /// unless the message is still at `if_rev` when given.
    Edit {
        /// The new text.
        text: String,
        /// The rev the editor saw.
        if_rev: Option<Rev>,
        /// The members the new text mentions, as kept by the rule book
        /// (`None`: the mentions stay).
        mentions: Option<Vec<UserId>>,
    },
    /// Soft delete to a tombstone; `hard` also wipes the stored text and
    /// the edit history (host app only).
    Delete {
        /// Wipe the stored text too.
        hard: bool,
    },
    /// Add the actor's reaction (an emoji in its stored form).
    ReactionAdd {
        /// The emoji.
        emoji: String,
    },
    /// Take the actor's reaction back.
    ReactionRemove {
        /// The emoji.
        emoji: String,
    },
    /// Pin the message.
    Pin,
    /// Unpin the message.
    Unpin,
    /// The link previews of the message's text (the host app's: the
    /// server's preview task); skipped when the text is no longer
    /// `for_text` (an edit came first and will bring its own) or the
    /// message is deleted.
    SetPreviews {
        /// What the text's links' pages say, in the order of the links.
        previews: Vec<LinkPreview>,
        /// The text the links were read from.
        for_text: String,
    },
}

/// One change request, validated by the rule book except for what only the
/// transaction can know.
#[derive(Debug, Clone)]
pub struct Change {
    /// The channel the request names (a message of another channel is
    /// "not found").
    pub channel_id: ChannelId,
    /// The message.
    pub message_id: MessageId,
    /// Who asks.
    pub actor: Actor,
    /// What to do.
    pub kind: ChangeKind,
    /// When (edit time, pin time, reaction time).
    pub at: DateTime<Utc>,
}

/// The count limits a change is checked against (`Limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeLimits {
    /// Distinct emoji on one message.
    pub max_reactions_per_message: usize,
    /// Pinned messages in one channel.
    pub max_pins_per_channel: i64,
}

/// What a change did.
#[derive(Debug, Clone)]
pub enum ChangeOutcome {
    /// Stored with a new rev: the message's whole new state; for a
    /// deleted thread reply, also its parent's (one reply less, the next
    /// rev, in the same transaction).
    Changed(Message, Option<Box<Message>>),
    /// Nothing to do (a repeated reaction, pin or delete, an edit to the
    /// same text): the current state, no new rev.
    Unchanged(Message),
}

impl ChangeOutcome {
    /// The messages the change gave a new rev, by rev: the message, then
    /// the parent it changed (none for an unchanged outcome).
    pub fn changed(&self) -> impl Iterator<Item = &Message> {
        let (message, parent) = match self {
            ChangeOutcome::Changed(m, parent) => (Some(m), parent.as_deref()),
            ChangeOutcome::Unchanged(_) => (None, None),
        };
        message.into_iter().chain(parent)
    }

    /// The message's state after the change.
    pub fn message(&self) -> &Message {
        match self {
            ChangeOutcome::Changed(m, _) | ChangeOutcome::Unchanged(m) => m,
        }
    }
}

/// The result of one change: its outcome, or why it was refused.
pub type ChangeResult = Result<ChangeOutcome, ChangeRefused>;

/// Why a change was refused (nothing was written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeRefused {
    /// The actor is not (or no longer) an active member of the channel.
    NotMember,
    /// No such message in this channel.
    NotFound,
    /// Only the author may edit or delete it.
    NotAuthor,
    /// It is deleted (no edit, reaction or pin).
    Deleted,
    /// It is no longer at the `ifRev` the editor saw.
    StaleRev {
        /// Its rev now.
        current: Rev,
    },
    /// A new emoji beyond the per-message limit.
    TooManyReactions,
    /// A pin beyond the per-channel limit.
    TooManyPins,
}

/// The message a change targets, as its transaction read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TargetRow {
    /// Its channel.
    pub channel_id: ChannelId,
    /// Its author.
    pub user_id: UserId,
    /// Its stored text.
    pub text: String,
    /// Its latest change.
    pub rev: Rev,
    /// A tombstone.
    pub deleted: bool,
    /// Deleted before tombstones existed (never shown).
    pub hidden: bool,
    /// Pinned now.
    pub pinned: bool,
    /// Its reactions summary (JSON).
    pub reactions: Option<String>,
    /// The members it mentions (JSON).
    pub mentions: Option<String>,
    /// Its link previews (JSON).
    pub previews: Option<String>,
    /// Whether the acting member reacted with the change's emoji (false
    /// for other changes and for the host app).
    pub reacted: bool,
}

/// What a change's transaction read before deciding.
#[derive(Debug, Clone)]
pub struct ChangeFacts {
    /// The target, if it exists.
    pub target: Option<TargetRow>,
    /// Whether the actor is an active member (always true for the host app).
    pub member: bool,
    /// For a reaction: whether the actor already reacted with that emoji.
    pub reacted: bool,
    /// For a pin: how many messages of the channel are pinned.
    pub pins: i64,
}

/// The decision on one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Refuse; write nothing.
    Refuse(ChangeRefused),
    /// Nothing to write; answer the current state.
    Unchanged,
    /// Write it with the channel's next rev.
    Apply,
}

/// Decides a change on what its transaction read.
pub fn decide(change: &Change, facts: &ChangeFacts, limits: ChangeLimits) -> Decision {
    use ChangeKind::*;
    if !facts.member {
        return Decision::Refuse(ChangeRefused::NotMember);
    }
    let Some(target) = facts
        .target
        .as_ref()
        .filter(|t| t.channel_id == change.channel_id && !t.hidden)
    else {
        return Decision::Refuse(ChangeRefused::NotFound);
    };
    let is_author = match change.actor {
        Actor::Member(user) => user == target.user_id,
        Actor::HostApp => true,
    };
    match &change.kind {
        Edit {
            text,
            if_rev,
            mentions,
        } => {
            if !is_author || change.actor == Actor::HostApp {
                return Decision::Refuse(ChangeRefused::NotAuthor);
            }
            if target.deleted {
                return Decision::Refuse(ChangeRefused::Deleted);
            }
            if if_rev.is_some_and(|r| r != target.rev) {
                return Decision::Refuse(ChangeRefused::StaleRev {
                    current: target.rev,
                });
            }
            let same_mentions = mentions
                .as_ref()
                .is_none_or(|m| *m == super::rows::decode_user_ids(target.mentions.as_deref()));
            if *text == target.text && same_mentions {
                return Decision::Unchanged;
            }
            Decision::Apply
        }
        Delete { hard } => {
            if !is_author {
                return Decision::Refuse(ChangeRefused::NotAuthor);
            }
            // Already a tombstone: only a hard delete of a kept text is new.
            if target.deleted && (!*hard || target.text.is_empty()) {
                return Decision::Unchanged;
            }
            Decision::Apply
        }
        // The host app deletes; it neither reacts nor pins (it is no
        // member). Refused here, before a rev is taken.
        ReactionAdd { .. } | Pin if change.actor == Actor::HostApp => {
            Decision::Refuse(ChangeRefused::NotAuthor)
        }
        ReactionAdd { emoji } => {
            if target.deleted {
                return Decision::Refuse(ChangeRefused::Deleted);
            }
            if facts.reacted {
                return Decision::Unchanged;
            }
            let summary = super::rows::decode_reactions(target.reactions.as_deref());
            let new_emoji = !summary.iter().any(|r| &r.emoji == emoji);
            if new_emoji && summary.len() >= limits.max_reactions_per_message {
                return Decision::Refuse(ChangeRefused::TooManyReactions);
            }
            Decision::Apply
        }
        ReactionRemove { .. } => {
            if target.deleted || !facts.reacted {
                return Decision::Unchanged;
            }
            Decision::Apply
        }
        Pin => {
            if target.deleted {
                return Decision::Refuse(ChangeRefused::Deleted);
            }
            if target.pinned {
                return Decision::Unchanged;
            }
            if facts.pins >= limits.max_pins_per_channel {
                return Decision::Refuse(ChangeRefused::TooManyPins);
            }
            Decision::Apply
        }
        Unpin => {
            if target.deleted || !target.pinned {
                return Decision::Unchanged;
            }
            Decision::Apply
        }
        // The server's own task, as the host app.
        SetPreviews { .. } if change.actor != Actor::HostApp => {
            Decision::Refuse(ChangeRefused::NotAuthor)
        }
        SetPreviews { previews, for_text } => {
            if target.deleted
                || target.text != *for_text
                || encode_previews(previews) == target.previews
            {
                return Decision::Unchanged;
            }
            Decision::Apply
        }
    }
}

/// The stored form of a message's link previews (`None`, not `[]`, when
/// there are none).
pub fn encode_previews(previews: &[LinkPreview]) -> Option<String> {
    if previews.is_empty() {
        return None;
    }
    serde_json::to_string(previews).ok()
}

/// The summary after one emoji's reactors changed: its entry replaced by
/// `count` and the first listed `user_ids` (kept in place, so emoji stay
/// in the order first used), appended when new, removed at zero.
pub fn patch_summary(
    mut summary: Vec<Reaction>,
    emoji: &str,
    count: i64,
    user_ids: Vec<UserId>,
) -> Vec<Reaction> {
    match summary.iter().position(|r| r.emoji == emoji) {
        Some(i) if count <= 0 => {
            summary.remove(i);
        }
        Some(i) => {
            summary[i].count = count;
            summary[i].user_ids = user_ids;
        }
        None if count > 0 => summary.push(Reaction {
            emoji: emoji.to_owned(),
            count,
            user_ids,
        }),
        None => {}
    }
    summary
}

/// The stored form of a summary (`None`, not `[]`, when empty).
pub fn encode_summary(summary: &[Reaction]) -> Option<String> {
    if summary.is_empty() {
        return None;
    }
    serde_json::to_string(summary).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn user(n: u128) -> UserId {
        UserId::from_uuid(Uuid::from_u128(n))
    }

    fn channel() -> ChannelId {
        ChannelId::from_uuid(Uuid::from_u128(100))
    }

    fn change(actor: Actor, kind: ChangeKind) -> Change {
        Change {
            channel_id: channel(),
            message_id: MessageId::from_uuid(Uuid::from_u128(7)),
            actor,
            kind,
            at: Utc::now(),
        }
    }

    fn facts(author: UserId) -> ChangeFacts {
        ChangeFacts {
            target: Some(TargetRow {
                channel_id: channel(),
                user_id: author,
                text: "hello".into(),
                rev: Rev::new(3),
                deleted: false,
                hidden: false,
                pinned: false,
                reactions: None,
                mentions: None,
                previews: None,
                reacted: false,
            }),
            member: true,
            reacted: false,
            pins: 0,
        }
    }

    const LIMITS: ChangeLimits = ChangeLimits {
        max_reactions_per_message: 2,
        max_pins_per_channel: 1,
    };

    fn edit(text: &str, if_rev: Option<i64>) -> ChangeKind {
        ChangeKind::Edit {
            text: text.into(),
            if_rev: if_rev.map(Rev::new),
            mentions: None,
        }
    }

    #[test]
    fn only_the_author_edits_and_deletes() {
        let f = facts(user(1));
        let other = Actor::Member(user(2));
        let author = Actor::Member(user(1));
        assert_eq!(
            decide(&change(other, edit("x", None)), &f, LIMITS),
            Decision::Refuse(ChangeRefused::NotAuthor)
        );
        assert_eq!(
            decide(
                &change(other, ChangeKind::Delete { hard: false }),
                &f,
                LIMITS
            ),
            Decision::Refuse(ChangeRefused::NotAuthor)
        );
        assert_eq!(
            decide(&change(author, edit("x", None)), &f, LIMITS),
            Decision::Apply
        );
        assert_eq!(
            decide(
                &change(Actor::HostApp, ChangeKind::Delete { hard: true }),
                &f,
                LIMITS
            ),
            Decision::Apply
        );
        // The host app deletes but never writes in a user's name.
        assert_eq!(
            decide(&change(Actor::HostApp, edit("x", None)), &f, LIMITS),
            Decision::Refuse(ChangeRefused::NotAuthor)
        );
    }

    /// The host app's reactions and pins are refused by the decision, so
    /// no rev is taken for them (the store used to refuse them only after
    /// bumping the rev, leaving a gap).
    #[test]
    fn the_host_app_neither_reacts_nor_pins() {
        let f = facts(user(1));
        for kind in [
            ChangeKind::ReactionAdd {
                emoji: "👍".into()
            },
            ChangeKind::Pin,
        ] {
            assert_eq!(
                decide(&change(Actor::HostApp, kind), &f, LIMITS),
                Decision::Refuse(ChangeRefused::NotAuthor)
            );
        }
    }

    #[test]
    fn edits_check_deletion_and_if_rev_and_skip_same_text() {
        let author = Actor::Member(user(1));
        let mut f = facts(user(1));
        assert_eq!(
            decide(&change(author, edit("x", Some(2))), &f, LIMITS),
            Decision::Refuse(ChangeRefused::StaleRev {
                current: Rev::new(3)
            })
        );
        assert_eq!(
            decide(&change(author, edit("x", Some(3))), &f, LIMITS),
            Decision::Apply
        );
        assert_eq!(
            decide(&change(author, edit("hello", None)), &f, LIMITS),
            Decision::Unchanged
        );
        f.target.as_mut().unwrap().deleted = true;
        assert_eq!(
            decide(&change(author, edit("x", None)), &f, LIMITS),
            Decision::Refuse(ChangeRefused::Deleted)
        );
        assert_eq!(
            decide(
                &change(author, ChangeKind::Delete { hard: false }),
                &f,
                LIMITS
            ),
            Decision::Unchanged
        );
    }

    #[test]
    fn other_channels_hidden_rows_and_non_members_are_refused() {
        let author = Actor::Member(user(1));
        let mut f = facts(user(1));
        f.member = false;
        assert_eq!(
            decide(&change(author, ChangeKind::Pin), &f, LIMITS),
            Decision::Refuse(ChangeRefused::NotMember)
        );
        let mut f = facts(user(1));
        f.target.as_mut().unwrap().channel_id = ChannelId::from_uuid(Uuid::from_u128(5));
        assert_eq!(
            decide(&change(author, ChangeKind::Pin), &f, LIMITS),
            Decision::Refuse(ChangeRefused::NotFound)
        );
        let mut f = facts(user(1));
        f.target.as_mut().unwrap().hidden = true;
        assert_eq!(
            decide(&change(author, ChangeKind::Pin), &f, LIMITS),
            Decision::Refuse(ChangeRefused::NotFound)
        );
        f.target = None;
        assert_eq!(
            decide(&change(author, ChangeKind::Unpin), &f, LIMITS),
            Decision::Refuse(ChangeRefused::NotFound)
        );
    }

    #[test]
    fn reactions_are_idempotent_and_limited_per_message() {
        let me = Actor::Member(user(2));
        let add = |e: &str| ChangeKind::ReactionAdd { emoji: e.into() };
        let mut f = facts(user(1));
        assert_eq!(decide(&change(me, add("👍")), &f, LIMITS), Decision::Apply);
        f.reacted = true;
        assert_eq!(
            decide(&change(me, add("👍")), &f, LIMITS),
            Decision::Unchanged
        );
        f.reacted = false;
        let full = vec![
            Reaction {
                emoji: "👍".into(),
                count: 1,
                user_ids: vec![user(3)],
            },
            Reaction {
                emoji: "🎉".into(),
                count: 1,
                user_ids: vec![user(3)],
            },
        ];
        f.target.as_mut().unwrap().reactions = encode_summary(&full);
        assert_eq!(
            decide(&change(me, add("😂")), &f, LIMITS),
            Decision::Refuse(ChangeRefused::TooManyReactions)
        );
        // An emoji already there is not a new one.
        assert_eq!(decide(&change(me, add("🎉")), &f, LIMITS), Decision::Apply);
        let remove = ChangeKind::ReactionRemove {
            emoji: "🎉".into()
        };
        assert_eq!(decide(&change(me, remove), &f, LIMITS), Decision::Unchanged);
    }

    #[test]
    fn pins_are_idempotent_and_limited_per_channel() {
        let me = Actor::Member(user(2));
        let mut f = facts(user(1));
        assert_eq!(
            decide(&change(me, ChangeKind::Pin), &f, LIMITS),
            Decision::Apply
        );
        f.pins = 1;
        assert_eq!(
            decide(&change(me, ChangeKind::Pin), &f, LIMITS),
            Decision::Refuse(ChangeRefused::TooManyPins)
        );
        f.target.as_mut().unwrap().pinned = true;
        assert_eq!(
            decide(&change(me, ChangeKind::Pin), &f, LIMITS),
            Decision::Unchanged
        );
        assert_eq!(
            decide(&change(me, ChangeKind::Unpin), &f, LIMITS),
            Decision::Apply
        );
    }

    #[test]
    fn previews_are_the_servers_and_only_for_the_text_they_were_read_from() {
        let author = user(1);
        let preview = LinkPreview {
            url: "https://example.com".into(),
            title: Some("Example".into()),
            description: None,
            site_name: None,
            image: None,
        };
        let set = |for_text: &str, previews: Vec<LinkPreview>| ChangeKind::SetPreviews {
            previews,
            for_text: for_text.into(),
        };
        let decide_on =
            |actor, kind, facts: &ChangeFacts| decide(&change(actor, kind), facts, LIMITS);
        let f = facts(author);
        assert_eq!(
            decide_on(Actor::HostApp, set("hello", vec![preview.clone()]), &f),
            Decision::Apply
        );
        assert_eq!(
            decide_on(
                Actor::Member(author),
                set("hello", vec![preview.clone()]),
                &f
            ),
            Decision::Refuse(ChangeRefused::NotAuthor)
        );
        // Edited since the links were read: the edit's own task brings them.
        assert_eq!(
            decide_on(Actor::HostApp, set("hi", vec![preview.clone()]), &f),
            Decision::Unchanged
        );
        // Nothing new: no rev.
        assert_eq!(
            decide_on(Actor::HostApp, set("hello", vec![]), &f),
            Decision::Unchanged
        );
        let mut same = facts(author);
        if let Some(t) = same.target.as_mut() {
            t.previews = encode_previews(std::slice::from_ref(&preview));
        }
        assert_eq!(
            decide_on(Actor::HostApp, set("hello", vec![preview.clone()]), &same),
            Decision::Unchanged
        );
        let mut gone = facts(author);
        if let Some(t) = gone.target.as_mut() {
            t.deleted = true;
        }
        assert_eq!(
            decide_on(Actor::HostApp, set("hello", vec![preview]), &gone),
            Decision::Unchanged
        );
    }

    #[test]
    fn summaries_keep_first_use_order() {
        let s = patch_summary(Vec::new(), "👍", 1, vec![user(1)]);
        let s = patch_summary(s, "🎉", 2, vec![user(1), user(2)]);
        let s = patch_summary(s, "👍", 3, vec![user(1), user(2), user(3)]);
        assert_eq!(
            s.iter()
                .map(|r| (r.emoji.as_str(), r.count))
                .collect::<Vec<_>>(),
            vec![("👍", 3), ("🎉", 2)]
        );
        let s = patch_summary(s, "👍", 0, vec![]);
        assert_eq!(s.len(), 1);
        assert_eq!(encode_summary(&[]), None);
        let back = super::super::rows::decode_reactions(encode_summary(&s).as_deref());
        assert_eq!(back, s);
    }
}
