//! The id of one running server on the bus.

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
