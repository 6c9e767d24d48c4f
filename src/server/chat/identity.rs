//! Users who arrive with a host-app token before the host app told us about
//! them get a `users` row on first sight: display name from the token's
//! `email` claim (the part before `@`) until the host app provides one.

use crate::protocol::UserId;
use std::collections::HashSet;

use parking_lot::Mutex;

use super::{internal, Chat};
use crate::protocol::AppError;
use crate::server::store::{StoreError, UserRecord};

/// Users known to have a row, so the check costs a lookup once per user
/// and process. Cleared when it grows past this many entries.
const KNOWN_USERS_CAP: usize = 1_000_000;

/// The set behind [`Chat::ensure_user`].
#[derive(Debug, Default)]
pub struct KnownUsers(Mutex<HashSet<UserId>>);

/// The row for a user first seen with `email` (or none).
pub fn first_seen_record(id: UserId, email: Option<&str>) -> UserRecord {
    let email = email
        .map(str::trim)
        .filter(|e| e.contains('@') && e.len() <= 254)
        .map(str::to_string);
    let display_name = email
        .as_deref()
        .and_then(|e| e.split('@').next())
        .filter(|local| !local.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("User {}", &id.uuid().simple().to_string()[..8]));
    UserRecord {
        id,
        email: email.unwrap_or_else(|| placeholder_email(id)),
        display_name,
        password_hash: None,
    }
}

/// An address that cannot collide with a real one (`.invalid`, RFC 2606).
fn placeholder_email(id: UserId) -> String {
    let id = id.uuid();
    format!("{}@users.invalid", id.simple())
}

impl Chat {
    /// Records that the user has a `users` row (an active membership proves
    /// it: access rows reference users), so `ensure_user` needs no query.
    pub fn note_user_exists(&self, id: UserId) {
        self.known_users.0.lock().insert(id);
    }

    /// Makes sure the authenticated user has a `users` row.
    pub async fn ensure_user(&self, id: UserId, email: Option<&str>) -> Result<(), AppError> {
        if self.known_users.0.lock().contains(&id) {
            return Ok(());
        }
        let existing = self
            .store
            .user_by_id(id)
            .await
            .map_err(|e| internal("user lookup failed", e))?;
        if existing.is_none() {
            let mut record = first_seen_record(id, email);
            if let Err(e) = self.store.upsert_user(&record).await {
                // The e-mail belongs to another row: keep the user, not the address.
                let taken = matches!(&e, StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation());
                if !taken {
                    return Err(internal("creating a user failed", e));
                }
                record.email = placeholder_email(id);
                self.store
                    .upsert_user(&record)
                    .await
                    .map_err(|e| internal("creating a user failed", e))?;
            }
            tracing::info!(user_id = %id, "user first seen through a token; row created");
        }
        let mut known = self.known_users.0.lock();
        if known.len() >= KNOWN_USERS_CAP {
            known.clear();
        }
        known.insert(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn first_seen_users_are_named_after_their_email() {
        let id = UserId::from(Uuid::from_u128(0xabcdef));
        let r = first_seen_record(id, Some(" dana@example.com "));
        assert_eq!(
            (r.email.as_str(), r.display_name.as_str()),
            ("dana@example.com", "dana")
        );
        let r = first_seen_record(id, None);
        assert_eq!(r.email, format!("{}@users.invalid", id.uuid().simple()));
        assert!(r.display_name.starts_with("User "), "{}", r.display_name);
        assert_eq!(
            first_seen_record(id, Some("not-an-email")).display_name,
            r.display_name
        );
    }
}
