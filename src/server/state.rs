//! `AppState`: what every handler can reach. A plain struct of `Arc`s;
//! cloning it is cheap.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::server::auth::jwt::JwtKeys;
use crate::server::chat::Chat;
use crate::server::config::Settings;
use crate::server::http::site_files::SiteFiles;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// Settings in effect.
    pub settings: Arc<Settings>,
    /// Token keys.
    pub jwt: Arc<JwtKeys>,
    /// The chat service.
    pub chat: Arc<Chat>,
    /// Leptos' own options (site root, bundle name).
    pub leptos_options: LeptosOptions,
    /// The site's static files (compiled in, or the site directory).
    pub site: Arc<SiteFiles>,
    /// Cancelled at shutdown: WebSocket sessions close with 1001.
    pub shutdown: CancellationToken,
    /// WebSocket sessions, awaited at shutdown (axum does not track
    /// upgraded connections).
    pub tasks: TaskTracker,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
