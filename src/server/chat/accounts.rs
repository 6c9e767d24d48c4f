//! Built-in accounts: login by e-mail and password, answered with a token
//! (and, by the HTTP layer, a session cookie).

use crate::protocol::UserId;

use super::{internal, Chat};
use crate::protocol::{AppError, User};
use crate::server::auth::password::verify_password;
use crate::server::auth::JwtKeys;

/// Longest accepted e-mail or password, so a huge body cannot make argon2
/// or the database work hard.
const MAX_CREDENTIAL_BYTES: usize = 1024;

/// How long a login waits for a free password-check slot before 429.
const PASSWORD_CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Chat {
    /// Checks credentials; the same error for an unknown e-mail and a wrong
    /// password, after the same amount of work. Attempts per e-mail are
    /// rate limited (429 with `Retry-After`).
    pub async fn login(
        &self,
        keys: &JwtKeys,
        ttl: std::time::Duration,
        email: &str,
        password: &str,
    ) -> Result<(String, User), AppError> {
        let bad = || AppError::Unauthorized("invalid email or password".into());
        if email.len() > MAX_CREDENTIAL_BYTES || password.len() > MAX_CREDENTIAL_BYTES {
            return Err(bad());
        }
        self.login_limiter
            .check(&email.trim().to_lowercase())
            .map_err(|retry_after_ms| {
                self.metrics.rate_limited.inc();
                AppError::RateLimited { retry_after_ms }
            })?;
        let record = self
            .store
            .user_by_email(email)
            .await
            .map_err(|e| internal("user lookup failed", e))?;
        let hash = record.as_ref().and_then(|u| u.password_hash.clone());
        let password = password.to_owned();
        let permit = tokio::time::timeout(
            PASSWORD_CHECK_WAIT,
            self.password_checks.clone().acquire_owned(),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or(AppError::RateLimited {
            retry_after_ms: 1000,
        })?;
        let ok = tokio::task::spawn_blocking(move || {
            let ok = verify_password(&password, hash.as_deref());
            drop(permit);
            ok
        })
        .await
        .unwrap_or(false);
        let user = match (ok, record) {
            (true, Some(user)) => user,
            _ => return Err(bad()),
        };
        let token = keys.issue(user.id, &user.email, ttl);
        Ok((
            token,
            User {
                id: user.id,
                email: user.email,
                display_name: user.display_name,
            },
        ))
    }

    /// The user's public profile (for the UI header).
    pub async fn user(&self, user_id: UserId) -> Result<Option<User>, AppError> {
        Ok(self
            .store
            .user_by_id(user_id)
            .await
            .map_err(|e| internal("user lookup failed", e))?
            .map(|u| User {
                id: u.id,
                email: u.email,
                display_name: u.display_name,
            }))
    }
}
