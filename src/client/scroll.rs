//! The message list's scroll rules, pure so they are tested natively:
//! when the reader counts as "at the bottom" (new messages then keep the
//! list pinned there; otherwise a "new messages" pill appears), when to
//! fetch older messages, and where to put the scroll position after older
//! messages were added above so the visible ones do not move.

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
}
