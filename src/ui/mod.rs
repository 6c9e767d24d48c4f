//! Leptos components, one job each, and the state they draw ([`state`],
//! signals apart from the components; imports run from components to
//! state to `client`, never back). No `cfg` here: browser-only work goes
//! through `client::socket` and `client::browser`, which do nothing on the
//! server.

pub mod attachments;
pub mod badge;
pub mod channel_list;
pub mod chat_header;
pub mod composer;
pub mod discussions;
pub mod link_preview;
pub mod login;
pub mod message_actions;
pub mod message_item;
pub mod message_list;
pub mod message_text;
pub mod notify_toggle;
pub mod pins_panel;
pub mod room;
pub mod scroll_anchor;
pub mod search;
pub mod sidebar;
pub mod state;
pub mod theme_toggle;
pub mod thread_panel;
pub mod threads_view;
pub mod typing_indicator;
pub mod unread_title;
pub mod upload_tray;
