//! The page's logic apart from drawing: the WebSocket for the open channel
//! (reconnecting with capped exponential backoff, resuming by `seq`), and
//! the rules the components follow. Everything but [`socket`] and
//! [`browser`] is pure and tested natively (backoff, the seq-keyed
//! timeline, the outbox of unconfirmed sends and changes, the open room's frame
//! reducer, message-list layout, scroll rules, typing throttle, link
//! splitting, message formatting, channel-list updates, display formats);
//! [`socket`] and [`browser`] are the browser-specific parts and do nothing
//! on the server. Nothing here holds signals: `ui::state` keeps the page's state
//! in signals and runs these rules over it.

pub mod alerts;
pub mod backoff;
pub mod browser;
pub mod changes;
pub mod channel_list;
pub mod clock;
pub mod format;
pub mod linkify;
pub mod markdown;
pub mod mentions;
pub mod message_rows;
pub mod outbox;
pub mod room_model;
pub mod scroll;
pub mod socket;
pub mod thread_model;
pub mod timeline;
pub mod typing;
pub mod upload;

pub use socket::{use_chat_socket, ConnectionState, SocketSender};
