//! JSON shapes of the REST API and the server functions, field for field as
//! PROTOCOL.md names them (snake_case on REST, as in the seed).

use super::ids::{ChannelId, ClientId, MessageId, Seq, UserId};
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
    /// When it was last edited (`null` until edits exist).
    pub updated_at: Option<Timestamp>,
    /// The sender's idempotency key.
    pub client_id: ClientId,
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
}

/// One page of history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// Messages, oldest first.
    pub messages: Vec<Message>,
    /// Whether more exist beyond this page in the paging direction.
    #[serde(rename = "hasMore")]
    pub has_more: bool,
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
}
