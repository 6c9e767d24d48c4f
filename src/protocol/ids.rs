//! Typed identifiers and positions of the wire contract.
//!
//! Every id on the wire is a UUID and every position an integer, so without
//! types a `HashMap<Uuid, HashMap<Uuid, HashSet<Uuid>>>` or a function taking
//! `(Uuid, Uuid)` says nothing about what goes where, and swapping a channel
//! for a user compiles. These newtypes are `#[serde(transparent)]` (the JSON
//! is exactly the bare value, PROTOCOL.md is unchanged) and, on the server,
//! `sqlx(transparent)` (stored exactly as before).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Declares a UUID newtype with the conversions every id needs.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID known to name this kind of thing.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The bare UUID (for storage keys and wire text).
            pub const fn uuid(self) -> Uuid {
                self.0
            }

            /// A fresh random id (v4).
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A channel: one tablo of the host app (`tablos.id`).
    ChannelId
);
uuid_id!(
    /// A user (the JWT `sub`).
    UserId
);
uuid_id!(
    /// A stored message, assigned by the server.
    MessageId
);
uuid_id!(
    /// A stored file (an upload), assigned by the server; a message's
    /// attachments name their uploads by it.
    UploadId
);
uuid_id!(
    /// A link preview's stored picture (one per previewed URL, kept when
    /// the preview is fetched again), assigned by the server.
    PreviewImageId
);

/// A message's position in its channel: 1, 2, 3, ... with no gaps; 0 means
/// "before the first message" (an empty channel's head, a new reader's
/// cursor).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
pub struct Seq(i64);

impl Seq {
    /// Before the first message.
    pub const ZERO: Seq = Seq(0);

    /// Wraps a position.
    pub const fn new(seq: i64) -> Self {
        Self(seq)
    }

    /// The bare number.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// The position after this one.
    pub const fn next(self) -> Self {
        Self(self.0 + 1)
    }

    /// The position before this one (never below zero).
    pub const fn prev(self) -> Self {
        if self.0 > 0 {
            Self(self.0 - 1)
        } else {
            Self(0)
        }
    }

    /// How many positions lie after `earlier` up to and including `self`
    /// (0 when `earlier` is not before `self`).
    pub fn count_after(self, earlier: Seq) -> i64 {
        (self.0 - earlier.0).max(0)
    }
}

impl From<i64> for Seq {
    fn from(seq: i64) -> Self {
        Self(seq)
    }
}

impl From<Seq> for i64 {
    fn from(seq: Seq) -> Self {
        seq.0
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A channel's change counter (PROTOCOL.md, "The model: `rev`"): bumped
/// by one, under the same row lock as [`Seq`], whenever a stored message
/// changes (edit, delete, reaction, pin). A message carries the rev of its
/// latest change, so a client applies a `message.updated` only when its rev
/// is newer than the copy it holds, and resumes with the highest it saw.
/// `0` means "never changed" (a message) or "no change yet" (a channel).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
pub struct Rev(i64);

impl Rev {
    /// No change yet.
    pub const ZERO: Rev = Rev(0);

    /// Wraps a counter value.
    pub const fn new(rev: i64) -> Self {
        Self(rev)
    }

    /// The bare number.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// The rev after this one.
    pub const fn next(self) -> Self {
        Self(self.0 + 1)
    }
}

impl From<i64> for Rev {
    fn from(rev: i64) -> Self {
        Self(rev)
    }
}

impl fmt::Display for Rev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The sender's idempotency key (`clientId`): opaque to the server, unique
/// per user and channel, 1 to [`ClientId::MAX_BYTES`] bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
pub struct ClientId(String);

impl ClientId {
    /// Longest accepted key, in bytes. Keys are stored forever, so they are
    /// bounded.
    pub const MAX_BYTES: usize = 128;

    /// Wraps a key without checking it (the decoder checks keys that come
    /// from clients, see [`ClientId::is_valid`]).
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// Whether the key has an accepted length.
    pub fn is_valid(&self) -> bool {
        !self.0.is_empty() && self.0.len() <= Self::MAX_BYTES
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for ClientId {
    fn from(key: String) -> Self {
        Self(key)
    }
}

impl From<&str> for ClientId {
    fn from(key: &str) -> Self {
        Self(key.to_owned())
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_bare_values_on_the_wire() {
        let raw = Uuid::new_v4();
        let channel = ChannelId::from(raw);
        assert_eq!(
            serde_json::to_string(&channel).unwrap(),
            serde_json::to_string(&raw).unwrap()
        );
        let back: ChannelId = serde_json::from_str(&format!("\"{raw}\"")).unwrap();
        assert_eq!(back, channel);
        assert_eq!(channel.to_string(), raw.to_string());
        assert_eq!(raw.to_string().parse::<ChannelId>().unwrap(), channel);
        assert!("not-a-uuid".parse::<UserId>().is_err());

        assert_eq!(serde_json::to_string(&Seq::new(42)).unwrap(), "42");
        assert_eq!(serde_json::from_str::<Seq>("7").unwrap(), Seq::new(7));
        assert_eq!(
            serde_json::to_string(&ClientId::from("k1")).unwrap(),
            "\"k1\""
        );
    }

    #[test]
    fn seq_arithmetic() {
        assert_eq!(Seq::ZERO.next(), Seq::new(1));
        assert_eq!(Seq::new(9).count_after(Seq::new(4)), 5);
        assert_eq!(Seq::new(4).count_after(Seq::new(9)), 0);
        assert!(Seq::new(3) < Seq::new(4));
    }

    #[test]
    fn client_id_bounds() {
        assert!(!ClientId::from("").is_valid());
        assert!(ClientId::from("x".repeat(ClientId::MAX_BYTES)).is_valid());
        assert!(!ClientId::from("x".repeat(ClientId::MAX_BYTES + 1)).is_valid());
    }
}
