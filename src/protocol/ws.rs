//! WebSocket frames of `GET /chat/ws/{channelId}`: one JSON object per text
//! frame, tagged by `type` (PROTOCOL.md, "WebSocket").

use super::ids::{ChannelId, ClientId, MessageId, Seq, UserId};
use super::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// Longest accepted `clientId`, in bytes. Keys are opaque to the server, but
/// they are stored forever, so they are bounded.
pub const MAX_CLIENT_ID_BYTES: usize = ClientId::MAX_BYTES;

/// A frame from client to server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ClientFrame {
    /// Store and broadcast a message; `clientId` makes retries safe.
    #[serde(rename = "message.send")]
    MessageSend {
        /// Raw text (trimmed and checked by the server).
        text: String,
        /// The sender's idempotency key.
        #[serde(rename = "clientId")]
        client_id: ClientId,
    },
    /// The user started typing.
    #[serde(rename = "typing.start")]
    TypingStart,
    /// The user stopped typing.
    #[serde(rename = "typing.stop")]
    TypingStop,
    /// Keep-alive; the connection itself is the presence signal.
    #[serde(rename = "presence.ping")]
    PresencePing,
    /// Replay every message with `seq > afterSeq`, then `resume.done`.
    #[serde(rename = "resume")]
    Resume {
        /// The last seq the client has.
        #[serde(rename = "afterSeq")]
        after_seq: Seq,
    },
    /// Move the read cursor (never backwards).
    #[serde(rename = "read")]
    Read {
        /// The newest seq the user has read; absent means the newest
        /// message, as on the REST route.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<Seq>,
    },
}

/// Why a text frame could not become a [`ClientFrame`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameDecodeError {
    /// Not JSON, not an object, no string `type`, or a known type with bad fields.
    Parse(String),
    /// Valid JSON with a `type` this server does not know.
    UnknownType(String),
}

impl ClientFrame {
    /// Decodes one text frame, telling a malformed frame from an unknown type
    /// so the client gets the right error code.
    pub fn decode(text: &str) -> Result<Self, FrameDecodeError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| FrameDecodeError::Parse(format!("invalid JSON: {e}")))?;
        let kind = value
            .get("type")
            .and_then(|t| t.as_str())
            .ok_or_else(|| FrameDecodeError::Parse("missing string field `type`".into()))?
            .to_owned();
        const KNOWN: [&str; 6] = [
            "message.send",
            "typing.start",
            "typing.stop",
            "presence.ping",
            "resume",
            "read",
        ];
        if !KNOWN.contains(&kind.as_str()) {
            let shown: String = kind.chars().take(64).collect();
            return Err(FrameDecodeError::UnknownType(shown));
        }
        let frame: ClientFrame = serde_json::from_value(value)
            .map_err(|e| FrameDecodeError::Parse(format!("bad `{kind}` frame: {e}")))?;
        if let ClientFrame::MessageSend { client_id, .. } = &frame {
            if !client_id.is_valid() {
                return Err(FrameDecodeError::Parse(format!(
                    "clientId must be 1 to {MAX_CLIENT_ID_BYTES} bytes"
                )));
            }
        }
        Ok(frame)
    }
}

/// Presence of a user in a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceStatus {
    /// At least one connection of the user is open in the channel.
    Online,
    /// The user's last connection to the channel closed.
    Offline,
}

/// Error codes of the `error` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The frame was not valid JSON or had bad fields.
    ParseError,
    /// The frame's `type` is unknown.
    UnknownType,
    /// The message text was empty after trimming.
    EmptyMessage,
    /// The text (or the frame) was over the limit.
    MessageTooLong,
    /// Too many sends; retry after `retryAfterMs`.
    RateLimited,
    /// Storing failed; nothing was stored; retry with the same clientId.
    PersistFailed,
    /// The user may no longer use this channel.
    Forbidden,
}

/// A frame from server to client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ServerFrame {
    /// First frame after connect: who is online here (self included).
    #[serde(rename = "presence.state")]
    PresenceState {
        /// Online users.
        #[serde(rename = "userIds")]
        user_ids: Vec<UserId>,
    },
    /// A stored message.
    #[serde(rename = "message.new")]
    MessageNew {
        /// Message id.
        id: MessageId,
        /// Channel.
        #[serde(rename = "channelId")]
        channel_id: ChannelId,
        /// Position in the channel.
        seq: Seq,
        /// Sender.
        #[serde(rename = "userId")]
        user_id: UserId,
        /// Text.
        text: String,
        /// Stored at.
        #[serde(rename = "createdAt")]
        created_at: Timestamp,
        /// The sender's idempotency key.
        #[serde(rename = "clientId")]
        client_id: ClientId,
    },
    /// Someone else started or stopped typing.
    #[serde(rename = "typing")]
    Typing {
        /// The typist.
        #[serde(rename = "userId")]
        user_id: UserId,
        /// Started (true) or stopped (false).
        #[serde(rename = "isTyping")]
        is_typing: bool,
    },
    /// A user came online or went offline in this channel.
    #[serde(rename = "presence.update")]
    PresenceUpdate {
        /// The user.
        #[serde(rename = "userId")]
        user_id: UserId,
        /// New status.
        status: PresenceStatus,
    },
    /// A new message in another channel of this user (lists stay live).
    #[serde(rename = "channel.activity")]
    ChannelActivity {
        /// The other channel.
        #[serde(rename = "channelId")]
        channel_id: ChannelId,
        /// The message's seq there.
        seq: Seq,
        /// The message id.
        #[serde(rename = "messageId")]
        message_id: MessageId,
        /// Sender.
        #[serde(rename = "userId")]
        user_id: UserId,
        /// Start of the text.
        preview: String,
        /// Stored at.
        #[serde(rename = "createdAt")]
        created_at: Timestamp,
    },
    /// The user's read cursor moved (any of their tabs or devices).
    #[serde(rename = "read.updated")]
    ReadUpdated {
        /// The channel.
        #[serde(rename = "channelId")]
        channel_id: ChannelId,
        /// The new cursor.
        #[serde(rename = "lastReadSeq")]
        last_read_seq: Seq,
    },
    /// End of a resume replay.
    #[serde(rename = "resume.done")]
    ResumeDone {
        /// The channel's newest seq when the replay ended.
        #[serde(rename = "headSeq")]
        head_seq: Seq,
    },
    /// Something the client sent was refused; the connection stays open.
    #[serde(rename = "error")]
    Error {
        /// What went wrong.
        code: ErrorCode,
        /// Human-readable detail.
        message: String,
        /// For `RATE_LIMITED`: when the next send will be accepted.
        #[serde(
            rename = "retryAfterMs",
            skip_serializing_if = "Option::is_none",
            default
        )]
        retry_after_ms: Option<u64>,
        /// For an error answering a `message.send`: that send's `clientId`,
        /// so a client can mark the right pending message failed (an
        /// addition to the seed's shape).
        #[serde(rename = "clientId", skip_serializing_if = "Option::is_none", default)]
        client_id: Option<ClientId>,
    },
}

impl ServerFrame {
    /// An error frame without a retry hint.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::Error {
            code,
            message: message.into(),
            retry_after_ms: None,
            client_id: None,
        }
    }

    /// The `message.new` frame for a stored message.
    pub fn message_new(m: &super::Message) -> Self {
        ServerFrame::MessageNew {
            id: m.id,
            channel_id: m.channel_id,
            seq: m.seq,
            user_id: m.user_id,
            text: m.text.clone(),
            created_at: m.created_at,
            client_id: m.client_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_json_is_a_parse_error() {
        assert!(matches!(
            ClientFrame::decode("{nope"),
            Err(FrameDecodeError::Parse(_))
        ));
    }

    #[test]
    fn unknown_type_is_reported_as_such() {
        assert_eq!(
            ClientFrame::decode(r#"{"type":"dance"}"#),
            Err(FrameDecodeError::UnknownType("dance".into()))
        );
    }

    #[test]
    fn known_type_with_missing_field_is_a_parse_error() {
        assert!(matches!(
            ClientFrame::decode(r#"{"type":"message.send","text":"hi"}"#),
            Err(FrameDecodeError::Parse(_))
        ));
    }

    #[test]
    fn send_frame_decodes_with_camel_case_fields() {
        assert_eq!(
            ClientFrame::decode(r#"{"type":"message.send","text":"hi","clientId":"c1"}"#),
            Ok(ClientFrame::MessageSend {
                text: "hi".into(),
                client_id: "c1".into()
            })
        );
        assert_eq!(
            ClientFrame::decode(r#"{"type":"resume","afterSeq":7}"#),
            Ok(ClientFrame::Resume {
                after_seq: Seq::new(7)
            })
        );
    }

    #[test]
    fn error_frame_serializes_with_contract_names() {
        let json = serde_json::to_value(ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
            retry_after_ms: Some(200),
            client_id: Some("c-1".into()),
        })
        .unwrap();
        assert_eq!(json["type"], "error");
        assert_eq!(json["code"], "RATE_LIMITED");
        assert_eq!(json["retryAfterMs"], 200);
        assert_eq!(json["clientId"], "c-1");
        let plain = serde_json::to_value(ServerFrame::error(ErrorCode::Forbidden, "no")).unwrap();
        assert!(plain.get("clientId").is_none() && plain.get("retryAfterMs").is_none());
    }

    /// A property test over the decoder, with a seeded generator so a
    /// failure reproduces: for 20,000 inputs (random characters, mutated
    /// frames, random JSON trees, nesting far past serde_json's recursion
    /// limit) `decode` returns instead of panicking, and whatever it accepts
    /// encodes back to the same frame.
    #[test]
    fn decode_never_panics_and_what_it_accepts_round_trips() {
        let mut rng = fastrand::Rng::with_seed(0x2026_1126);
        let mut next = move |n: usize| rng.usize(..n);
        const PIECES: [&str; 24] = [
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            "\"",
            "\\",
            "type",
            "message.send",
            "resume",
            "read",
            "text",
            "clientId",
            "afterSeq",
            "seq",
            "null",
            "true",
            "-1",
            "9223372036854775808",
            "1e999",
            "\\u0000",
            "\\ud800",
            "é",
        ];
        for _ in 0..20_000 {
            let input: String = match next(4) {
                0 => (0..next(40)).map(|_| PIECES[next(PIECES.len())]).collect(),
                1 => (0..next(60))
                    .map(|_| char::from_u32(next(0x11_0000) as u32).unwrap_or('?'))
                    .collect(),
                2 => {
                    let depth = next(3000);
                    format!(
                        r#"{{"type":"read","seq":{}1{}}}"#,
                        "[".repeat(depth),
                        "]".repeat(depth)
                    )
                }
                _ => {
                    let valid = r#"{"type":"message.send","text":"hi","clientId":"c-1"}"#;
                    let (a, b) = (next(valid.len()), next(valid.len()));
                    format!("{}{}", &valid[..a.min(b)], &valid[a.max(b)..])
                }
            };
            if let Ok(frame) = ClientFrame::decode(&input) {
                let again = serde_json::to_string(&frame).unwrap();
                assert_eq!(ClientFrame::decode(&again), Ok(frame), "{input:?}");
            }
        }
    }
}
