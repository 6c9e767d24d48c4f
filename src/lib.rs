//! A self-hosted, real-time team chat in one Rust binary.
//!
//! # Layout
//!
//! - [`protocol`]: the wire contract in types (frames, DTOs, `MessageText`,
//!   `AppError`); compiled for both the server and the Wasm UI.
//! - [`server_fns`]: the UI's reads and writes as Leptos server functions;
//!   each calls the same `server::chat` code as the JSON routes.
//! - [`ui`]: Leptos components (login page, chat page).
//! - [`client`]: the browser's chat connection (WebSocket, reconnect and
//!   resume by `seq`); the pure parts are tested natively.
//! - `server` (feature `ssr`): configuration, start-up, HTTP and WebSocket
//!   routes, auth, the chat rules, live rooms and storage.
//! - [`app`]: the HTML shell and the routes.

#![recursion_limit = "256"]

pub mod app;
pub mod client;
pub mod protocol;
pub mod server_fns;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the Wasm bundle: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
