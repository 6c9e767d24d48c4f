//! Which frames become a system notification while the page is in the
//! background (PROTOCOL.md "Notifications": mentions of me and replies in
//! my threads), and what it says, as pure code. The page shows it only
//! when the viewer turned notifications on; with "hide text" the body
//! names no message text.

use crate::client::browser::{load_preference, notification_permission};
use crate::protocol::{ChannelId, ServerFrame, UserId};

/// Preference key: notifications on ("on") or off.
pub const ON_KEY: &str = "chat.notify";
/// Preference key: leave the message text out ("hide").
pub const HIDE_TEXT_KEY: &str = "chat.notify.hide_text";

/// Whether the viewer turned notifications on (and the browser allows
/// them).
pub fn alerts_on() -> bool {
    load_preference(ON_KEY).as_deref() == Some("on") && notification_permission() == "granted"
}

/// Whether notifications leave the message text out.
pub fn alerts_hide_text() -> bool {
    load_preference(HIDE_TEXT_KEY).as_deref() == Some("hide")
}

/// A notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// "Bob mentioned you in Design".
    pub title: String,
    /// The start of the message, or a neutral line when text is hidden.
    pub body: String,
    /// One notification per message or thread (a newer one replaces it).
    pub tag: String,
    /// Where a click goes.
    pub href: String,
}

/// What [`alert_for`] needs to know besides the frame.
pub struct AlertContext<'a> {
    /// The viewer.
    pub me: UserId,
    /// A channel's name.
    pub channel_name: &'a dyn Fn(ChannelId) -> Option<String>,
    /// A user's name.
    pub user_name: &'a dyn Fn(UserId) -> Option<String>,
    /// My unread replies in a thread before this frame.
    pub thread_unread_before: i64,
    /// Leave the message text out.
    pub hide_text: bool,
}

/// The notification a frame calls for, if any.
pub fn alert_for(frame: &ServerFrame, cx: &AlertContext<'_>) -> Option<Alert> {
    let channel = |id| (cx.channel_name)(id).unwrap_or_else(|| "a conversation".into());
    let body = |text: &str, hidden: &str| {
        if cx.hide_text {
            hidden.to_string()
        } else {
            text.chars().take(140).collect()
        }
    };
    match frame {
        ServerFrame::ChannelActivity {
            channel_id,
            seq,
            message_id,
            user_id,
            preview,
            unread_mentions: Some(_),
            ..
        } if *user_id != cx.me => Some(Alert {
            title: format!(
                "{} mentioned you in {}",
                (cx.user_name)(*user_id).unwrap_or_else(|| "Someone".into()),
                channel(*channel_id)
            ),
            body: body(preview, "You were mentioned"),
            tag: message_id.to_string(),
            href: format!("/chat/{channel_id}?at={}", seq.get()),
        }),
        ServerFrame::MessageNew(m) if m.user_id != cx.me && m.mentions.contains(&cx.me) => {
            let href = match m.parent_id.filter(|_| !m.show_in_channel) {
                Some(parent) => format!("/chat/{}?thread={parent}", m.channel_id),
                None => format!("/chat/{}?at={}", m.channel_id, m.seq.get()),
            };
            Some(Alert {
                title: format!(
                    "{} mentioned you in {}",
                    (cx.user_name)(m.user_id).unwrap_or_else(|| "Someone".into()),
                    channel(m.channel_id)
                ),
                body: body(&m.text, "You were mentioned"),
                tag: m.id.to_string(),
                href,
            })
        }
        ServerFrame::ThreadReadUpdated {
            channel_id,
            parent_id,
            unread_count,
            ..
        } if *unread_count > cx.thread_unread_before => Some(Alert {
            title: format!("New reply in a thread in {}", channel(*channel_id)),
            body: if *unread_count == 1 {
                "1 unread reply".into()
            } else {
                format!("{unread_count} unread replies")
            },
            tag: parent_id.to_string(),
            href: format!("/chat/{channel_id}?thread={parent_id}"),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientId, Message, MessageId, Seq, Timestamp};

    fn cx<'a>(
        me: UserId,
        hide_text: bool,
        before: i64,
        names: &'a dyn Fn(UserId) -> Option<String>,
    ) -> AlertContext<'a> {
        AlertContext {
            me,
            channel_name: &|_| Some("Design".into()),
            user_name: names,
            thread_unread_before: before,
            hide_text,
        }
    }

    #[test]
    fn a_mention_of_me_elsewhere_or_here_is_an_alert_with_or_without_text() {
        let (me, bob) = (UserId::new_random(), UserId::new_random());
        let names = move |u: UserId| (u == bob).then(|| "Bob".to_string());
        let channel = ChannelId::new_random();
        let activity = |mentions: Option<i64>, from: UserId| ServerFrame::ChannelActivity {
            channel_id: channel,
            seq: Seq::new(7),
            message_id: MessageId::new_random(),
            user_id: from,
            preview: "@Me look at this".into(),
            created_at: Timestamp::from_micros(0),
            parent_id: None,
            unread_mentions: mentions,
        };
        let alert = alert_for(&activity(Some(1), bob), &cx(me, false, 0, &names)).unwrap();
        assert_eq!(alert.title, "Bob mentioned you in Design");
        assert_eq!(alert.body, "@Me look at this");
        assert_eq!(alert.href, format!("/chat/{channel}?at=7"));
        let hidden = alert_for(&activity(Some(1), bob), &cx(me, true, 0, &names)).unwrap();
        assert_eq!(hidden.body, "You were mentioned");
        assert_eq!(
            alert_for(&activity(None, bob), &cx(me, false, 0, &names)),
            None
        );
        assert_eq!(
            alert_for(&activity(Some(1), me), &cx(me, false, 0, &names)),
            None
        );

        let mut m = Message::unchanged(
            MessageId::new_random(),
            channel,
            Seq::new(9),
            bob,
            "hi @Me".into(),
            Timestamp::from_micros(0),
            ClientId::new("c"),
        );
        m.mentions = vec![me];
        let here = alert_for(&ServerFrame::message_new(&m), &cx(me, false, 0, &names)).unwrap();
        assert_eq!(here.href, format!("/chat/{channel}?at=9"));
        m.mentions.clear();
        assert_eq!(
            alert_for(&ServerFrame::message_new(&m), &cx(me, false, 0, &names)),
            None
        );
    }

    #[test]
    fn a_new_reply_in_my_thread_is_an_alert_and_reading_is_not() {
        let me = UserId::new_random();
        let names = |_| None;
        let (channel, parent) = (ChannelId::new_random(), MessageId::new_random());
        let frame = |n| ServerFrame::ThreadReadUpdated {
            channel_id: channel,
            parent_id: parent,
            last_read_seq: Seq::new(3),
            unread_count: n,
        };
        let alert = alert_for(&frame(2), &cx(me, false, 1, &names)).unwrap();
        assert_eq!(alert.href, format!("/chat/{channel}?thread={parent}"));
        assert_eq!(alert.body, "2 unread replies");
        assert_eq!(alert_for(&frame(0), &cx(me, false, 2, &names)), None);
    }
}
