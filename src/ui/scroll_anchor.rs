//! [`use_scroll_anchor`]: where the message list's scroll position goes.
//! It opens at the first unread message (else the newest), follows new
//! messages only when the reader was at the bottom or just sent one
//! (otherwise it counts them for the "new messages" pill), loads older
//! messages near the top and keeps what is on screen in place when they
//! are drawn above. The decisions are the pure ones of `client::scroll`;
//! this hook measures the element and moves it.

use leptos::html::Div;
use leptos::prelude::*;

use crate::client::scroll::{on_newer, ListEnd, OnNewer, ScrollBox};
use crate::ui::state::room::RoomState;

/// The message list's scroll state; a `Copy` handle the list's view uses.
#[derive(Clone, Copy)]
pub struct ScrollAnchor {
    scroller: NodeRef<Div>,
    room: RoomState,
    at_bottom: RwSignal<bool>,
    unseen: RwSignal<usize>,
    /// The scroll position at the last `scroll` event: newer pages load
    /// only when the reader moves down (not when the list shrank under
    /// them after a jump).
    last_top: StoredValue<f64>,
}

/// Anchors the scrolling element `scroller` of `room`'s messages: sets the
/// position on first paint and whenever messages are added at either end.
/// The element's `scroll` event must call [`ScrollAnchor::on_scroll`].
pub fn use_scroll_anchor(scroller: NodeRef<Div>, room: RoomState) -> ScrollAnchor {
    let anchor = ScrollAnchor {
        scroller,
        room,
        at_bottom: RwSignal::new(true),
        unseen: RwSignal::new(0),
        last_top: StoredValue::new(0.0),
    };

    // First paint: the first unread message, else the newest.
    Effect::new(move |_| {
        request_animation_frame(move || {
            let divider = scroller
                .get_untracked()
                .and_then(|el| el.query_selector(".unread-divider").ok().flatten());
            match divider {
                Some(divider) => divider.scroll_into_view(),
                None => anchor.to_bottom(),
            }
            if let Some(b) = anchor.geometry() {
                anchor.at_bottom.set(b.is_near_bottom());
            }
            anchor.maybe_load_older();
        });
    });

    // Newer messages added below: follow them if the reader was at the
    // bottom (or sent one), else count them in the pill.
    let end = Memo::new(move |_| ListEnd {
        epoch: room.list_epoch.get(),
        last_seq: room.timeline.with(|t| t.last_seq()),
        pending: room.outbox.with(|o| o.items().len()),
    });
    Effect::new(move |previous: Option<ListEnd>| {
        let now = end.get();
        if let Some(before) = previous {
            match on_newer(before, now, anchor.at_bottom.get_untracked()) {
                OnNewer::Follow => request_animation_frame(move || anchor.to_bottom()),
                OnNewer::CountUnseen(n) => anchor.unseen.update(|unseen| *unseen += n),
                OnNewer::Stay if now.epoch != before.epoch => {
                    anchor.unseen.set(0);
                    // Back at the latest messages (not a jump's window, not
                    // on the way to a highlighted one): show the newest.
                    let at_latest =
                        !room.detached.get_untracked() && room.highlight.get_untracked().is_none();
                    if at_latest {
                        request_animation_frame(move || anchor.to_bottom());
                    }
                }
                OnNewer::Stay => {}
            }
        }
        now
    });
    anchor
}

impl ScrollAnchor {
    /// How many messages arrived below while the reader was scrolled up
    /// (tracked: the pill shows while it is above 0).
    pub fn unseen(&self) -> usize {
        self.unseen.get()
    }

    /// Scrolls to the newest message and clears the pill.
    pub fn to_bottom(&self) {
        if let Some(el) = self.scroller.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
        self.at_bottom.set(true);
        self.unseen.set(0);
    }

    /// The element's `scroll` event: notes whether the reader is at the
    /// bottom (clearing the pill there) and loads older messages near the
    /// top.
    pub fn on_scroll(&self) {
        if let Some(b) = self.geometry() {
            self.at_bottom.set(b.is_near_bottom());
            let moved_down = b.top > self.last_top.get_value();
            self.last_top.set_value(b.top);
            if b.is_near_bottom() {
                self.unseen.set(0);
                // After a jump: the newer messages load at the bottom.
                if moved_down {
                    self.room.load_newer();
                }
            }
        }
        self.maybe_load_older();
    }

    fn geometry(&self) -> Option<ScrollBox> {
        self.scroller.get_untracked().map(|el| ScrollBox {
            top: el.scroll_top() as f64,
            client_height: el.client_height() as f64,
            scroll_height: el.scroll_height() as f64,
        })
    }

    /// Older messages go in above: once they are drawn (next animation
    /// frame), move down by their height so the same messages stay in view.
    fn maybe_load_older(&self) {
        let Some(before) = self.geometry() else {
            return;
        };
        if before.wants_older() && self.room.has_older.get_untracked() {
            let scroller = self.scroller;
            self.room.load_older(move || {
                request_animation_frame(move || {
                    if let Some(el) = scroller.get_untracked() {
                        let height = el.scroll_height() as f64;
                        let now = el.scroll_top() as f64;
                        el.set_scroll_top(before.top_after_prepend(height, now) as i32);
                    }
                });
            });
        }
    }
}
