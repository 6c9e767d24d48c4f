//! JSON shapes of the REST API and the server functions, field for field as
//! PROTOCOL.md names them (snake_case on REST, as in the seed).

use super::files::Attachment;
use super::ids::{ChannelId, ClientId, MessageId, Rev, Seq, UserId};
use super::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// A stored chat message as REST and server functions return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Server-assigned message id.
    pub id: MessageId,
    /// The channel (tablo) the message belongs to.
    pub channel_id: ChannelId,
    /// Position in the channel: 1, 2, 3, ... with no gaps.
    pub seq: Seq,
    /// The sender.
    pub user_id: UserId,
    /// Trimmed message text.
    pub text: String,
    /// When the server stored it.
    pub created_at: Timestamp,
    /// When it was last edited (`null` if never; equal to `edited_at`).
    pub updated_at: Option<Timestamp>,
    /// The sender's idempotency key.
    pub client_id: ClientId,
    /// The channel's rev at this message's latest change (0: never
    /// changed); a client keeps the copy with the highest.
    #[serde(default)]
    pub rev: Rev,
    /// When the text was last edited (shown as "(edited)").
    #[serde(default)]
    pub edited_at: Option<Timestamp>,
    /// A tombstone: the message was deleted; its text is `""` and it has
    /// no reactions, quote or pin, but it keeps its seq.
    #[serde(default)]
    pub deleted: bool,
    /// One entry per emoji, in the order first used.
    #[serde(default)]
    pub reactions: Vec<Reaction>,
    /// The message this one quotes, as it is now.
    #[serde(default)]
    pub reply_to: Option<Quote>,
    /// Who pinned it and when.
    #[serde(default)]
    pub pinned: Option<Pin>,
    /// For a thread reply: its parent (a message of the same channel that
    /// is not itself a reply).
    #[serde(default, alias = "parentId")]
    pub parent_id: Option<MessageId>,
    /// A reply that was also sent to the channel (it shows in the main
    /// timeline); `false` for a thread-only reply and for other messages.
    #[serde(default, alias = "showInChannel")]
    pub show_in_channel: bool,
    /// For a message that has or had replies: its thread's summary.
    #[serde(default)]
    pub thread: Option<ThreadInfo>,
    /// The members it mentions, as kept by the server (PROTOCOL.md
    /// "Mentions"); left out when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<UserId>,
    /// Its files (PROTOCOL.md "Files and images"), in the order sent;
    /// left out when none (and always for a tombstone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// What the pages it links to say (PROTOCOL.md "Link previews"), added
    /// by the server as a change after it is stored; left out when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previews: Vec<super::previews::LinkPreview>,
}

/// A message sent by HTTP (`POST /chat/channels/{id}/messages`, the
/// server function `send_message`): the fields of the `message.send`
/// frame, under its names, with its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// The text (may be empty with attachments).
    pub text: String,
    /// The sender's idempotency key.
    #[serde(rename = "clientId")]
    pub client_id: ClientId,
    /// The message it quotes.
    #[serde(rename = "replyTo", default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<MessageId>,
    /// The thread it replies in.
    #[serde(rename = "parentId", default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<MessageId>,
    /// A thread reply also sent to the channel.
    #[serde(rename = "showInChannel", default)]
    pub show_in_channel: bool,
    /// The members it mentions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<UserId>,
    /// The uploads it carries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<super::ids::UploadId>,
}

impl Message {
    /// Characters of the text a one-line preview keeps.
    pub const PREVIEW_CHARS: usize = 140;

    /// The one-line preview of the message (channel list, activity): the
    /// start of its text, or, for a message of files only, what it
    /// carries ("📎 plan.pdf", "🖼 Picture", "📎 3 files").
    pub fn preview(&self) -> String {
        if !self.text.is_empty() || self.attachments.is_empty() {
            return self.text.chars().take(Self::PREVIEW_CHARS).collect();
        }
        match self.attachments.as_slice() {
            [one] if one.kind == super::files::AttachmentKind::Image => "🖼 Picture".into(),
            [one] => format!("📎 {}", one.name),
            many if many
                .iter()
                .all(|a| a.kind == super::files::AttachmentKind::Image) =>
            {
                format!("🖼 {} pictures", many.len())
            }
            many => format!("📎 {} files", many.len()),
        }
    }

    /// A new message's fields beyond the seed's (never changed, no
    /// reactions, no pin), for building messages in code.
    pub fn unchanged(
        id: MessageId,
        channel_id: ChannelId,
        seq: Seq,
        user_id: UserId,
        text: String,
        created_at: Timestamp,
        client_id: ClientId,
    ) -> Self {
        Message {
            id,
            channel_id,
            seq,
            user_id,
            text,
            created_at,
            updated_at: None,
            client_id,
            rev: Rev::ZERO,
            edited_at: None,
            deleted: false,
            reactions: Vec::new(),
            reply_to: None,
            pinned: None,
            parent_id: None,
            show_in_channel: false,
            thread: None,
            mentions: Vec::new(),
            attachments: Vec::new(),
            previews: Vec::new(),
        }
    }

    /// Whether the message belongs to the main timeline: not a reply, or a
    /// reply also sent to the channel. Only these count as unread, preview
    /// the channel and appear in its history pages.
    pub fn in_main_timeline(&self) -> bool {
        self.parent_id.is_none() || self.show_in_channel
    }

    /// Whether the user is among the listed reactors of `emoji` (a
    /// reaction with more than [`Reaction::LISTED`] reactors may hide them).
    pub fn reacted(&self, emoji: &str, user_id: UserId) -> bool {
        self.reactions
            .iter()
            .any(|r| r.emoji == emoji && r.user_ids.contains(&user_id))
    }
}

/// One emoji's reactions on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// The emoji (a Unicode emoji; short codes are stored as the emoji).
    pub emoji: String,
    /// How many users reacted with it.
    pub count: i64,
    /// The first [`Reaction::LISTED`] who reacted, by time.
    #[serde(alias = "userIds")]
    pub user_ids: Vec<UserId>,
}

impl Reaction {
    /// How many reactors a message lists per emoji; the reactions route
    /// lists all.
    pub const LISTED: usize = 50;
}

/// The quoted message of a reply, resolved when read (so it follows the
/// original's edits and deletion).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// The original's id.
    pub id: MessageId,
    /// Its seq (the `around_seq` cursor jumps there).
    pub seq: Seq,
    /// Its author.
    #[serde(alias = "userId")]
    pub user_id: UserId,
    /// Its first [`Quote::PREVIEW_CHARS`] characters (`""` when deleted).
    pub preview: String,
    /// Whether the original was deleted.
    pub deleted: bool,
}

impl Quote {
    /// Characters of the original a quote shows.
    pub const PREVIEW_CHARS: usize = 140;
}

/// A thread's summary, kept on its parent (PROTOCOL.md "Threads").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadInfo {
    /// Replies that are not deleted.
    #[serde(alias = "replyCount")]
    pub reply_count: i64,
    /// The newest reply's time.
    #[serde(alias = "lastReplyAt")]
    pub last_reply_at: Timestamp,
    /// The parent's author, then each replier in the order of their first
    /// reply; at most [`ThreadInfo::MAX_PARTICIPANTS`].
    pub participants: Vec<UserId>,
}

impl ThreadInfo {
    /// Participants a thread summary lists (avatars on the parent).
    pub const MAX_PARTICIPANTS: usize = 10;
}

/// One thread of `GET /chat/threads`: a thread the caller takes part in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadSummary {
    /// The channel.
    pub channel_id: ChannelId,
    /// The parent, with its thread summary.
    pub parent: Message,
    /// Replies after the caller's thread cursor, by others, not deleted.
    pub unread_count: i64,
    /// The caller's thread cursor (newest reply seq read).
    pub last_read_seq: Seq,
}

/// The body of `GET /chat/threads`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadList {
    /// Newest last reply first.
    pub threads: Vec<ThreadSummary>,
}

/// One page of a thread (`GET .../messages/{m}/replies`): the parent and a
/// page of its replies, paged like history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepliesPage {
    /// The parent, in its current state.
    pub parent: Message,
    /// Replies, oldest first (tombstones included), with the paging flags
    /// and `headRev` of a history page.
    #[serde(flatten)]
    pub page: HistoryPage,
}

/// Who pinned a message and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// The member who pinned it.
    pub by: UserId,
    /// When.
    pub at: Timestamp,
}

/// One earlier text of an edited message (`GET .../edits`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageEdit {
    /// The text the message had before this edit.
    pub text: String,
    /// When the edit replaced it.
    pub edited_at: Timestamp,
    /// The rev of that edit.
    pub rev: Rev,
}

/// A member's read cursor ("seen by").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRead {
    /// The member.
    #[serde(alias = "userId")]
    pub user_id: UserId,
    /// The newest seq they have read.
    #[serde(alias = "lastReadSeq")]
    pub last_read_seq: Seq,
}

/// A user as the login response shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id (the JWT `sub`).
    pub id: UserId,
    /// Login e-mail.
    pub email: String,
    /// Name shown next to messages.
    pub display_name: String,
}

/// One entry of `GET /chat/channels`: what a channel list needs to draw a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSummary {
    /// The tablo id.
    pub id: ChannelId,
    /// Display name.
    pub name: String,
    /// Badge colour (CSS colour string).
    pub color: String,
    /// Active members.
    pub member_count: i64,
    /// Messages by others after the caller's read cursor.
    pub unread_count: i64,
    /// The caller's read cursor.
    pub last_read_seq: Seq,
    /// The newest seq in the channel (0 when empty).
    pub head_seq: Seq,
    /// The newest message, for the preview line.
    pub last_message: Option<Message>,
    /// Display name of the newest message's sender (an addition to the
    /// seed's shape, so previews can say who wrote).
    #[serde(default)]
    pub last_sender_name: Option<String>,
    /// The channel's newest rev (its change counter; 0 before any change).
    #[serde(default)]
    pub head_rev: Rev,
    /// Whether members see each other's read cursors ("seen by").
    #[serde(default = "default_true")]
    pub read_receipts: bool,
    /// Threads of the caller's in this channel with unread replies.
    #[serde(default)]
    pub unread_threads: i64,
    /// Unread messages that mention the caller.
    #[serde(default)]
    pub unread_mentions: i64,
}

fn default_true() -> bool {
    true
}

/// One page of history, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// Messages, oldest first.
    pub messages: Vec<Message>,
    /// Whether more exist beyond this page in the paging direction.
    #[serde(rename = "hasMore")]
    pub has_more: bool,
    /// The channel's rev read before the page's rows: a client resumes
    /// changes from it (any change the page missed comes again after it).
    #[serde(rename = "headRev", default)]
    pub head_rev: Rev,
    /// For an `around_seq` page: whether older messages exist.
    #[serde(
        rename = "hasMoreBefore",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub has_more_before: Option<bool>,
    /// For an `around_seq` page: whether newer messages exist.
    #[serde(
        rename = "hasMoreAfter",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub has_more_after: Option<bool>,
}

/// A history page as the JSON route sends it: each message also carries the
/// camelCase names (`channelId`, `userId`, `createdAt`, `clientId`) that
/// the seed's own client reads, beside the snake_case ones (PROTOCOL.md,
/// "compatibility fields"). The server functions send [`HistoryPage`].
#[derive(Debug, Serialize)]
pub struct HistoryPageWithCompat<'a> {
    /// Messages, oldest first.
    messages: Vec<MessageWithCompat<'a>>,
    /// Whether more exist beyond this page in the paging direction.
    #[serde(rename = "hasMore")]
    has_more: bool,
    /// The channel's rev before the page was read.
    #[serde(rename = "headRev")]
    head_rev: Rev,
    /// For an `around_seq` page: whether older messages exist.
    #[serde(rename = "hasMoreBefore", skip_serializing_if = "Option::is_none")]
    has_more_before: Option<bool>,
    /// For an `around_seq` page: whether newer messages exist.
    #[serde(rename = "hasMoreAfter", skip_serializing_if = "Option::is_none")]
    has_more_after: Option<bool>,
}

/// One message with its compatibility fields.
#[derive(Debug, Serialize)]
struct MessageWithCompat<'a> {
    #[serde(flatten)]
    message: &'a Message,
    #[serde(rename = "channelId")]
    channel_id: ChannelId,
    #[serde(rename = "userId")]
    user_id: UserId,
    #[serde(rename = "createdAt")]
    created_at: Timestamp,
    #[serde(rename = "clientId")]
    client_id: &'a ClientId,
}

impl<'a> From<&'a HistoryPage> for HistoryPageWithCompat<'a> {
    fn from(page: &'a HistoryPage) -> Self {
        let messages = page
            .messages
            .iter()
            .map(|m| MessageWithCompat {
                message: m,
                channel_id: m.channel_id,
                user_id: m.user_id,
                created_at: m.created_at,
                client_id: &m.client_id,
            })
            .collect();
        HistoryPageWithCompat {
            messages,
            has_more: page.has_more,
            head_rev: page.head_rev,
            has_more_before: page.has_more_before,
            has_more_after: page.has_more_after,
        }
    }
}

/// One entry of `GET /chat/unread`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadEntry {
    /// The channel with unread messages.
    pub channel_id: ChannelId,
    /// How many (never counting the caller's own messages).
    pub unread_count: i64,
    /// How many of them mention the caller.
    #[serde(default)]
    pub unread_mentions: i64,
}

/// A channel member, so the UI can put names on user ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// User id.
    pub id: UserId,
    /// Name shown in the UI.
    pub display_name: String,
}

/// The server's limits the UI shows before the server would refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSettings {
    /// Longest message, in characters after trimming (`max_text_chars`).
    pub max_text_chars: usize,
    /// Files one message may carry (`max_attachments`).
    #[serde(default)]
    pub max_attachments: usize,
    /// Largest uploaded file in bytes (`upload_max_bytes`).
    #[serde(default)]
    pub upload_max_bytes: u64,
}

/// A change to a stored message, as the server functions and the rule book
/// take it (the frames and JSON routes each have their own shape and turn
/// into this).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeRequest {
    /// New text (author only); refused with `CONFLICT` unless the message
    /// is still at `if_rev` when given.
    Edit {
        /// The new text.
        text: String,
        /// The rev the editor saw.
        #[serde(default)]
        if_rev: Option<Rev>,
        /// The members the new text mentions (`None`: the mentions stay).
        #[serde(default)]
        mentions: Option<Vec<UserId>>,
    },
    /// Delete to a tombstone (author only).
    Delete,
    /// Add my reaction.
    ReactionAdd {
        /// One emoji or a known `:short_code:`.
        emoji: String,
    },
    /// Take my reaction back.
    ReactionRemove {
        /// The emoji.
        emoji: String,
    },
    /// Pin (any member).
    Pin,
    /// Unpin (any member).
    Unpin,
}

/// One part of a search hit's snippet: plain text, and whether it is a
/// word of the query (shown highlighted). Never HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetPart {
    /// The text of this part.
    pub text: String,
    /// Whether it is a word the query looked for.
    pub hit: bool,
}

/// One found message (`GET /chat/search`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The message as it is now.
    pub message: Message,
    /// Its text around the first hit.
    pub snippet: Vec<SnippetPart>,
}

/// A page of search results, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchPage {
    /// The hits.
    pub results: Vec<SearchHit>,
    /// Pass back as `cursor` for the next page; `None` on the last.
    pub next_cursor: Option<String>,
}
