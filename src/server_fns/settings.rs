//! Limits the UI needs to know ahead of the server's refusal.

use leptos::prelude::*;

use crate::protocol::{AppError, ClientSettings};

/// The configured limits the composer shows (for a logged-in user).
#[server(prefix = "/api", endpoint = "client_settings")]
pub async fn get_client_settings() -> Result<ClientSettings, AppError> {
    use crate::server::http::server_fn::{server_fn_user, with_status};
    let (state, _user) = with_status(server_fn_user())?;
    Ok(ClientSettings {
        max_text_chars: state.settings.limits.max_text_chars,
        max_attachments: state.settings.limits.max_attachments,
        upload_max_bytes: state.settings.limits.upload_max_bytes,
    })
}
