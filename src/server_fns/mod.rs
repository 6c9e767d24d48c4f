//! The UI's reads and writes as server functions. Each one authenticates
//! with the session cookie, then calls the same `server::chat` function as
//! the JSON route; none holds logic of its own.

pub mod auth;
pub mod channels;
pub mod history;
