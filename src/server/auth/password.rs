//! Argon2id password hashes for the built-in accounts. Verification of an
//! unknown user still runs against a dummy hash so timing does not tell
//! which e-mails exist.

use std::sync::OnceLock;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

/// Hashes a password (CPU-heavy: call from `spawn_blocking`).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any input")
        .to_string()
}

/// Checks `password` against `hash`; with `None` it checks against a dummy
/// hash and returns false, taking the same time.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not-a-real-password"));
    let (phc, real) = match hash {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_password() {
        let h = hash_password("password");
        assert!(verify_password("password", Some(&h)));
        assert!(!verify_password("Password", Some(&h)));
        assert!(!verify_password("password", None));
        assert!(!verify_password("password", Some("not a phc string")));
    }
}
