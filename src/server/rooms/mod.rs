//! Live fan-out: one [`Room`] per channel with open connections (presence,
//! typing and message events), and a [`UserHub`] for events that follow a
//! user across channels (`channel.activity`, `read.updated`).

pub mod registry;
pub mod room;
pub mod users;

pub use registry::{PresenceChange, RoomGuard, Rooms};
pub use room::{Room, RoomEvent};
pub use users::UserHub;

/// One running chat server among several on one database (its
/// `instance` id): remote presence is kept per server, so a server that
/// goes silent takes exactly its own users offline.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ServerId(pub uuid::Uuid);

impl ServerId {
    /// A fresh id for this process.
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4())
    }
}

impl std::fmt::Display for ServerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}
