//! The JWT secret: configured, or (for development) generated once and kept
//! in the data directory so sessions survive a restart.

use std::io::Write;
use std::path::Path;

use crate::server::hex::lower_hex;
use argon2::password_hash::rand_core::{OsRng, RngCore};

/// File name of the generated secret inside the data directory.
pub const SECRET_FILE: &str = "jwt_secret";

/// Returns the configured secret, or reads/creates the generated one.
///
/// # Errors
/// I/O errors reading or writing the secret file.
pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> std::io::Result<String> {
    if let Some(secret) = configured {
        return Ok(secret.to_owned());
    }
    let path = data_dir.join(SECRET_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            tracing::info!(path = %path.display(), "no JWT_SECRET configured; using the generated development secret");
            return Ok(existing);
        }
    }
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let secret = lower_hex(&bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path)?;
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "no JWT_SECRET configured; generated a development secret (set JWT_SECRET in production)");
    Ok(secret)
}
