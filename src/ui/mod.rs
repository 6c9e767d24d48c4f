//! Leptos components. No `cfg` here: browser-only work goes through
//! `client::ChatSocket`, which does nothing on the server.

pub mod chat;
pub mod login;
