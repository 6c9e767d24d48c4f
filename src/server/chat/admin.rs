//! Host-app sync: the host app (which owns tablos and memberships) creates,
//! renames and deletes channels, upserts users and grants or revokes
//! access. Revoking closes the user's live sockets for that channel at once
//! (on every server); deleting a channel closes everyone's.

use crate::protocol::{ChannelId, UserId};
use crate::server::bus::BusEvent;

use super::{internal, Chat};
use crate::protocol::AppError;
use crate::server::rooms::RoomEvent;
use crate::server::store::{Membership, UserRecord};

/// Longest channel name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;
/// Longest e-mail, in bytes (RFC 5321).
pub const MAX_EMAIL_BYTES: usize = 254;

/// Whether `color` is a CSS colour we store: `#` and 3 to 8 hex digits, or
/// a named colour (letters only).
fn valid_color(color: &str) -> bool {
    match color.strip_prefix('#') {
        Some(hex) => (3..=8).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_hexdigit()),
        None => (1..=32).contains(&color.len()) && color.chars().all(|c| c.is_ascii_alphabetic()),
    }
}

fn bad(message: &str) -> AppError {
    AppError::BadRequest(message.into())
}

impl Chat {
    /// Creates or renames a channel.
    pub async fn admin_put_channel(
        &self,
        id: ChannelId,
        name: &str,
        color: Option<&str>,
    ) -> Result<(), AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(bad("name must be 1 to 200 characters"));
        }
        let color = color.unwrap_or("#6366f1");
        if !valid_color(color) {
            return Err(bad("color must be #rgb, #rrggbb(aa) or a colour name"));
        }
        self.store
            .upsert_channel(id, name, color)
            .await
            .map_err(|e| internal("saving a tablo failed", e))
    }

    /// Turns a channel's read receipts ("seen by") on or off.
    pub async fn admin_set_read_receipts(&self, id: ChannelId, on: bool) -> Result<(), AppError> {
        self.store
            .set_read_receipts(id, on)
            .await
            .map_err(|e| internal("saving a tablo failed", e))
    }

    /// Deletes a channel and everything in it; every live socket on it
    /// closes.
    pub async fn admin_delete_channel(&self, id: ChannelId) -> Result<(), AppError> {
        let existed = self
            .store
            .delete_channel(id)
            .await
            .map_err(|e| internal("deleting a tablo failed", e))?;
        if !existed {
            return Err(AppError::NotFound("no such tablo".into()));
        }
        self.revoke_live(id, None);
        Ok(())
    }

    /// Creates or updates a user (id, e-mail, display name); a password
    /// set through our own accounts is kept.
    pub async fn admin_put_user(
        &self,
        id: UserId,
        email: &str,
        display_name: &str,
    ) -> Result<(), AppError> {
        let email = email.trim();
        let display_name = display_name.trim();
        if email.len() > MAX_EMAIL_BYTES || !email.contains('@') {
            return Err(bad("email must be an address of at most 254 bytes"));
        }
        if display_name.is_empty() || display_name.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(bad("display_name must be 1 to 100 characters"));
        }
        let record = UserRecord {
            id,
            email: email.to_string(),
            display_name: display_name.to_string(),
            password_hash: None,
        };
        self.store.upsert_user(&record).await.map_err(|e| match e {
            crate::server::store::StoreError::Database(sqlx::Error::Database(db))
                if db.is_unique_violation() =>
            {
                AppError::BadRequest("email belongs to another user".into())
            }
            other => internal("saving a user failed", other),
        })
    }

    /// Grants (`active`) or revokes a user's access to a channel. A
    /// revocation closes the user's sockets on that channel at once.
    pub async fn admin_set_access(
        &self,
        channel_id: ChannelId,
        user_id: UserId,
        active: bool,
    ) -> Result<(), AppError> {
        let membership = self
            .store
            .membership(channel_id, user_id)
            .await
            .map_err(|e| internal("membership lookup failed", e))?;
        if membership == Membership::NoChannel {
            return Err(AppError::NotFound("no such tablo".into()));
        }
        let user = self
            .store
            .user_by_id(user_id)
            .await
            .map_err(|e| internal("user lookup failed", e))?;
        if user.is_none() {
            return Err(AppError::NotFound("no such user".into()));
        }
        self.store
            .set_access(channel_id, user_id, active)
            .await
            .map_err(|e| internal("saving access failed", e))?;
        if !active {
            self.revoke_live(channel_id, Some(user_id));
        }
        Ok(())
    }

    /// Closes the live sockets of `user` (or everyone) on a channel, here
    /// and on the other servers.
    fn revoke_live(&self, channel_id: ChannelId, user_id: Option<UserId>) {
        self.member_cache.forget(channel_id);
        if let Some(room) = self.rooms.get(channel_id) {
            room.publish(RoomEvent::Revoked { user_id });
        }
        self.bus.publish(BusEvent::Revoke {
            c: channel_id,
            u: user_id,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::valid_color;

    #[test]
    fn colours_are_hex_or_names() {
        for ok in ["#fff", "#10b981", "#10b98180", "teal"] {
            assert!(valid_color(ok), "{ok}");
        }
        for bad in ["", "#", "#12", "#123456789", "red;x", "url(x)", "#ggg"] {
            assert!(!valid_color(bad), "{bad}");
        }
    }
}
