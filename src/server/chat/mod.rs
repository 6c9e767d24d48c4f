//! The rule book: every JSON route, WebSocket frame and server function
//! calls these functions, and none of them holds logic of its own.
//! Membership is checked here, on every call.

pub mod accounts;
pub mod activity;
pub mod admin;
pub mod change_writer;
pub mod changes;
pub mod channels;
pub mod history;
pub mod identity;
pub mod link_previews;
pub mod mentions;
pub mod rate_limit;
pub mod read;
pub mod search;
pub mod search_flush;
pub mod send;
pub mod session;
pub mod thread_reads;
pub mod threads;
pub mod uploads;
pub mod write_queue;
pub mod writer;

use crate::protocol::{ChannelId, UserId};
use crate::protocol::{Rev, Seq};
use std::sync::Arc;

use crate::protocol::AppError;
use crate::server::bus::Bus;
use crate::server::config::Limits;
use crate::server::metrics::Metrics;
use crate::server::rooms::{Rooms, UserHub};
use crate::server::store::{Membership, Store, StoreError};

pub use change_writer::ChangeWriter;
pub use rate_limit::{RateLimit, SendLimiter};
pub use writer::MessageWriter;

/// The chat service: storage, live rooms and the write path, shared by
/// every request (cloning the `Arc` is cheap).
pub struct Chat {
    /// The other servers on the same database (a bus that drops
    /// everything when there are none).
    pub bus: Arc<dyn Bus>,
    /// Storage backend.
    pub store: Arc<dyn Store>,
    /// Live rooms on this server.
    pub rooms: Arc<Rooms>,
    /// Per-user live events.
    pub users: Arc<UserHub>,
    /// The group-commit write path for messages.
    pub writer: MessageWriter,
    /// The ordered write path for changes to stored messages.
    pub changes: ChangeWriter,
    /// Send rate limits per (user, channel).
    pub limiter: SendLimiter,
    /// The change budget per user (edits, deletes, reactions, pins).
    pub change_limiter: RateLimit<UserId>,
    /// Login attempts per e-mail (lower-cased), against password guessing.
    pub login_limiter: RateLimit<String>,
    /// Password checks running at once (each argon2 check takes ~19 MiB and
    /// a core for a moment), so a login flood cannot exhaust the machine.
    pub password_checks: Arc<tokio::sync::Semaphore>,
    /// Configured limits.
    pub limits: Limits,
    /// What `/metrics` reports.
    pub metrics: Arc<Metrics>,
    /// Users known to have a row (see `identity`).
    pub known_users: identity::KnownUsers,
    /// Member lists of the activity feed (forgotten on revocation).
    pub member_cache: Arc<activity::MemberCache>,
    /// Whether search is on (the `search` setting): off refuses every
    /// query (PROTOCOL.md "Search"), as the store then keeps no words.
    pub search_on: bool,
    /// Where uploaded files go and what they may be.
    pub files: Arc<uploads::Files>,
}

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat").finish_non_exhaustive()
    }
}

/// Logs a storage failure and turns it into the error a client sees: 503
/// when storage is unreachable or cannot be written (worth a retry), else
/// the generic internal error.
pub fn internal(context: &str, error: StoreError) -> AppError {
    tracing::error!(error = %error, "{context}");
    if error.is_unavailable() {
        AppError::Unavailable("storage is unavailable; retry shortly".into())
    } else {
        AppError::internal()
    }
}

impl Chat {
    /// 404 when the channel does not exist, 403 when the user may not use
    /// it; else the channel's newest seq.
    pub async fn require_member(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
    ) -> Result<Seq, AppError> {
        Ok(self.require_member_heads(channel_id, user_id).await?.0)
    }

    /// As [`Chat::require_member`], with the channel's newest rev too (where
    /// a connecting socket starts).
    pub async fn require_member_heads(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
    ) -> Result<(Seq, Rev), AppError> {
        match self
            .store
            .membership(channel_id, user_id)
            .await
            .map_err(|e| internal("membership check failed", e))?
        {
            Membership::Member { head_seq, head_rev } => Ok((head_seq, head_rev)),
            Membership::NotMember => {
                Err(AppError::Forbidden("not a member of this channel".into()))
            }
            Membership::NoChannel => Err(AppError::NotFound("no such channel".into())),
        }
    }
}
