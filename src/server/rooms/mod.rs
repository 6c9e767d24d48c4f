//! Live fan-out: one [`Room`] per channel with open connections (presence,
//! typing and message events), and a [`UserHub`] for events that follow a
//! user across channels (`channel.activity`, `read.updated`).

pub mod registry;
pub mod room;
pub mod users;

pub use registry::{PresenceChange, RoomGuard, Rooms};
pub use room::{Room, RoomEvent};
pub use users::UserHub;
