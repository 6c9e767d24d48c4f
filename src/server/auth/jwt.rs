//! JWT signing and verification. One path serves our own login tokens and
//! tokens minted by the host app: HS256 pinned, `exp` and `sub` required,
//! `nbf` honoured when present, `iss` checked when configured.

use crate::protocol::UserId;
use std::time::Duration;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// Claims we read (extra claims are ignored).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: UserId,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// E-mail, when the issuer includes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Keys and rules for tokens; cheap to clone behind an `Arc`.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: Option<String>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Keys for `secret`; tokens must carry `iss == issuer` when it is set.
    pub fn new(secret: &[u8], issuer: Option<String>) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        // A token the issuer dated for later is not valid yet.
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        if let Some(iss) = &issuer {
            validation.set_issuer(&[iss.as_str()]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer,
        }
    }

    /// Verifies a token and returns its claims; `None` for anything invalid
    /// (the reason is deliberately not told to the caller).
    pub fn verify(&self, token: &str) -> Option<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }

    /// Signs a token for `user_id` valid for `ttl` (our login).
    pub fn issue(&self, user_id: UserId, email: &str, ttl: Duration) -> String {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let claims = Claims {
            sub: user_id,
            exp: now + ttl.as_secs(),
            iat: Some(now),
            iss: self.issuer.clone(),
            email: Some(email.to_owned()),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_verifies_and_tampered_one_does_not() {
        let keys = JwtKeys::new(b"0123456789abcdef0123", Some("me".into()));
        let id = UserId::new_random();
        let token = keys.issue(id, "a@b.c", Duration::from_secs(60));
        assert_eq!(keys.verify(&token).unwrap().sub, id);
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(keys.verify(&tampered).is_none());
    }

    #[test]
    fn wrong_issuer_and_other_secret_are_rejected() {
        let ours = JwtKeys::new(b"0123456789abcdef0123", Some("me".into()));
        let other_iss = JwtKeys::new(b"0123456789abcdef0123", Some("them".into()));
        let other_key = JwtKeys::new(b"another-secret-entirely", Some("me".into()));
        let id = UserId::new_random();
        let ttl = Duration::from_secs(60);
        assert!(ours.verify(&other_iss.issue(id, "x", ttl)).is_none());
        assert!(ours.verify(&other_key.issue(id, "x", ttl)).is_none());
    }

    #[test]
    fn a_token_not_valid_yet_is_rejected_beyond_the_leeway() {
        let keys = JwtKeys::new(b"0123456789abcdef0123", None);
        let now = chrono::Utc::now().timestamp() as u64;
        let token = |nbf: u64| {
            let claims = serde_json::json!({
                "sub": UserId::new_random(), "exp": now + 3600, "nbf": nbf,
            });
            encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap()
        };
        assert!(keys.verify(&token(now + 600)).is_none());
        assert!(keys.verify(&token(now + LEEWAY_SECS / 2)).is_some());
        assert!(keys.verify(&token(now - 60)).is_some());
    }
}
