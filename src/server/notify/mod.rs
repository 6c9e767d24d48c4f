//! Notifications for people who are offline (PROTOCOL.md "Notifications"):
//! [`notifier`] decides who gets which event (mentions, thread replies,
//! unread reminders) from the messages this server stores; [`webhook`]
//! signs and delivers each event to the host app's URL with retries, from
//! a bounded queue that never slows a send. Off unless `webhook_url` is
//! set.

pub mod notifier;
pub mod webhook;
