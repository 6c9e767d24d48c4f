//! Everything that runs only on the server (feature `ssr`): configuration,
//! start-up, HTTP and WebSocket routes, auth, the chat rules, live rooms
//! and storage.

pub mod auth;
pub mod bus;
pub mod chat;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod files;
pub mod hex;
pub mod http;
pub mod huge_pages;
pub mod metrics;
pub mod notify;
pub mod previews;
pub mod rooms;
pub mod search_text;
pub mod secret;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
