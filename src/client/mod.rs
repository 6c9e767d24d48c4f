//! The browser's chat connection: one WebSocket for the open channel,
//! reconnecting with capped exponential backoff and resuming by `seq`.
//! [`backoff`] and [`timeline`] are pure and tested natively; [`socket`] is
//! the only browser-specific part (a no-op on the server).

pub mod backoff;
pub mod socket;
pub mod timeline;

pub use socket::{use_chat_socket, ConnectionState, SocketSender};
