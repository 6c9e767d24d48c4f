//! The UI's reads and writes as server functions, at stable URLs
//! (`POST /api/<name>`, form-encoded arguments, JSON result). Each one authenticates
//! with the session cookie, then calls the same `server::chat` function as
//! the JSON route; none holds logic of its own.

pub mod auth;
pub mod channels;
pub mod history;
pub mod messages;
pub mod search;
pub mod settings;
pub mod threads;
