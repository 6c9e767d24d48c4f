//! The browser's chat connection: one WebSocket for the open channel,
//! reconnecting with capped exponential backoff and resuming by `seq`.
//! Everything but [`socket`] is pure and tested natively (backoff, the
//! seq-keyed timeline, typing throttle, link splitting, display formats);
//! [`socket`] is the only browser-specific part (a no-op on the server).

pub mod backoff;
pub mod channel_list;
pub mod clock;
pub mod format;
pub mod linkify;
pub mod socket;
pub mod timeline;
pub mod typing;

pub use socket::{use_chat_socket, ConnectionState, SocketSender};
