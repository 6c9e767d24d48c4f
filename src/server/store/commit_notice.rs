//! Notifications sent inside a message commit's own transaction.

use crate::protocol::Message;

/// What a store whose database can notify (Postgres `pg_notify`) sends in
/// the transaction that stores a batch, so other servers are woken exactly
/// when the commit lands and never before. The bus builds it
/// (`bus::postgres::PgCommitNotice`); the store only sends what it returns
/// and knows nothing of the bus.
pub trait CommitNotice: Send + Sync + std::fmt::Debug {
    /// The notification channel.
    fn channel(&self) -> &str;
    /// The payloads for the new messages of a committed batch.
    fn payloads(&self, stored: &[Message]) -> Vec<String>;
    /// The notification channel of changes to stored messages (a channel
    /// of its own: servers of the previous release, which do not listen to
    /// it, are not confused by rev ranges).
    fn changes_channel(&self) -> &str;
    /// The payloads for the changed messages of a committed batch of
    /// changes (each at its new rev).
    fn change_payloads(&self, changed: &[Message]) -> Vec<String>;
}
