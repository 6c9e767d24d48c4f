//! The message list's scroll rules, pure so they are tested natively:
//! when the reader counts as "at the bottom" (new messages then keep the
//! list pinned there; otherwise a "new messages" pill appears), when to
//! fetch older messages, and where to put the scroll position after older
//! messages were added above so the visible ones do not move; and what to
//! do when messages arrive below (follow them, or count them in the pill).
//! `ui::scroll_anchor` applies these to the list's element.

use crate::protocol::Seq;

/// Within this many pixels of the end counts as at the bottom.
pub const NEAR_BOTTOM_PX: f64 = 48.0;

/// Closer than this to the top starts loading older messages.
pub const LOAD_OLDER_PX: f64 = 120.0;

/// A scroll container's geometry, in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScrollBox {
    /// `scrollTop`.
    pub top: f64,
    /// `clientHeight` (the visible height).
    pub client_height: f64,
    /// `scrollHeight` (the whole content).
    pub scroll_height: f64,
}

impl ScrollBox {
    /// Whether the reader sees the newest messages.
    pub fn is_near_bottom(&self) -> bool {
        self.scroll_height - (self.top + self.client_height) <= NEAR_BOTTOM_PX
    }

    /// Whether the reader is close enough to the top to load older ones.
    pub fn wants_older(&self) -> bool {
        self.top <= LOAD_OLDER_PX
    }

    /// The `scrollTop` that keeps the same messages in view after content
    /// grew above them to `new_scroll_height`.
    pub fn keep_in_view_after_prepend(&self, new_scroll_height: f64) -> f64 {
        self.top + (new_scroll_height - self.scroll_height).max(0.0)
    }

    /// The `scrollTop` once older messages were drawn above, measured
    /// before they were asked for (`self`): the same messages in view, plus
    /// whatever the reader scrolled while they loaded (the element is at
    /// `current_top` now).
    pub fn top_after_prepend(&self, new_scroll_height: f64, current_top: f64) -> f64 {
        self.keep_in_view_after_prepend(new_scroll_height) + (current_top - self.top)
    }
}

/// The newest end of the message list: when it changes, something was
/// added (or confirmed) below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListEnd {
    /// The newest stored seq shown.
    pub last_seq: Seq,
    /// How many of our sends wait below it.
    pub pending: usize,
    /// Bumped whenever the list is replaced or grows by paging (a jump,
    /// newer pages after it): such messages are history, not news.
    pub epoch: u32,
}

/// What the list does when its end changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnNewer {
    /// Scroll to the newest message (and clear the pill).
    Follow,
    /// Stay where the reader is; this many more are unseen below.
    CountUnseen(usize),
    /// Nothing new to show or count.
    Stay,
}

/// Follow the end when the reader was at the bottom or just sent a message;
/// otherwise count the newly stored messages (by seq, so the ones a resume
/// filled in count too) for the "new messages" pill.
pub fn on_newer(before: ListEnd, after: ListEnd, at_bottom: bool) -> OnNewer {
    let sent_one = after.pending > before.pending;
    if after.epoch != before.epoch {
        OnNewer::Stay
    } else if sent_one || at_bottom {
        OnNewer::Follow
    } else if after.last_seq > before.last_seq {
        OnNewer::CountUnseen(after.last_seq.count_after(before.last_seq) as usize)
    } else {
        OnNewer::Stay
    }
}

/// What the pill says for `n` unseen messages.
pub fn unseen_label(n: usize) -> String {
    if n == 1 {
        "1 new message".to_string()
    } else {
        format!("{n} new messages")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bottom_has_a_small_tolerance() {
        let at = |top| ScrollBox {
            top,
            client_height: 500.0,
            scroll_height: 2000.0,
        };
        assert!(at(1500.0).is_near_bottom());
        assert!(at(1460.0).is_near_bottom());
        assert!(!at(1400.0).is_near_bottom());
        // A list shorter than its box is always at the bottom.
        let short = ScrollBox {
            top: 0.0,
            client_height: 500.0,
            scroll_height: 300.0,
        };
        assert!(short.is_near_bottom());
    }

    #[test]
    fn older_messages_load_near_the_top_and_keep_the_view_steady() {
        let b = ScrollBox {
            top: 40.0,
            client_height: 500.0,
            scroll_height: 2000.0,
        };
        assert!(b.wants_older());
        assert!(!ScrollBox { top: 400.0, ..b }.wants_older());
        // 1,500 px of older messages arrived above: move down by as much.
        assert_eq!(b.keep_in_view_after_prepend(3500.0), 1540.0);
        assert_eq!(b.keep_in_view_after_prepend(1900.0), 40.0);
    }

    #[test]
    fn scrolling_while_older_messages_load_is_kept() {
        let before = ScrollBox {
            top: 40.0,
            client_height: 500.0,
            scroll_height: 2000.0,
        };
        assert_eq!(before.top_after_prepend(3500.0, 40.0), 1540.0);
        // The reader moved up 30 px meanwhile, or down 100 px.
        assert_eq!(before.top_after_prepend(3500.0, 10.0), 1510.0);
        assert_eq!(before.top_after_prepend(3500.0, 140.0), 1640.0);
        // Nothing was added: the reader's own position stands.
        assert_eq!(before.top_after_prepend(2000.0, 90.0), 90.0);
    }

    fn end(last_seq: i64, pending: usize) -> ListEnd {
        ListEnd {
            last_seq: Seq::new(last_seq),
            pending,
            epoch: 0,
        }
    }

    #[test]
    fn a_jump_or_paging_newer_is_not_news() {
        let mut jumped = end(25, 0);
        jumped.epoch = 1;
        assert_eq!(on_newer(end(62, 0), jumped, false), OnNewer::Stay);
        let mut paged = end(75, 0);
        paged.epoch = 2;
        assert_eq!(on_newer(jumped, paged, true), OnNewer::Stay);
    }

    #[test]
    fn new_messages_are_followed_at_the_bottom_and_counted_above_it() {
        assert_eq!(on_newer(end(5, 0), end(6, 0), true), OnNewer::Follow);
        assert_eq!(
            on_newer(end(5, 0), end(6, 0), false),
            OnNewer::CountUnseen(1)
        );
        // A resume filled in several at once.
        assert_eq!(
            on_newer(end(5, 0), end(9, 0), false),
            OnNewer::CountUnseen(4)
        );
        // Older ones arriving late add nothing below.
        assert_eq!(on_newer(end(5, 0), end(5, 0), false), OnNewer::Stay);
    }

    #[test]
    fn my_own_send_is_followed_from_anywhere() {
        assert_eq!(on_newer(end(5, 0), end(5, 1), false), OnNewer::Follow);
        // Its confirmation (pending becomes stored) is followed at the
        // bottom, and counted like any new seq if the reader scrolled away.
        assert_eq!(
            on_newer(end(5, 1), end(6, 0), false),
            OnNewer::CountUnseen(1)
        );
        assert_eq!(on_newer(end(5, 1), end(6, 0), true), OnNewer::Follow);
    }

    #[test]
    fn the_pill_counts_in_words() {
        assert_eq!(unseen_label(1), "1 new message");
        assert_eq!(unseen_label(2), "2 new messages");
        assert_eq!(unseen_label(120), "120 new messages");
    }
}
