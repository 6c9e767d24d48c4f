//! `ChatSocket`: the browser WebSocket to `/chat/ws/{channelId}` (cookie
//! authenticated, same origin). On open it sends `resume` from the last
//! seq the page has; on an unexpected close it reconnects with backoff.
//! On the server this type exists with the same API and does nothing, so
//! components carry no `cfg`.

use crate::protocol::ChannelId;
use crate::protocol::{Rev, Seq};
use std::rc::Rc;

use crate::protocol::{ClientFrame, ServerFrame};

/// What the connection indicator shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// First connection attempt in progress.
    Connecting,
    /// Open.
    Connected,
    /// Lost; retrying with backoff.
    Reconnecting,
    /// Lost while the browser reports no network; retried at once when it
    /// comes back.
    Offline,
    /// Closed for good: the page left the channel, or the server refused
    /// the user (close code 1008, access revoked).
    Closed,
}

impl ConnectionState {
    /// Value of the `data-connection` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Offline => "offline",
            ConnectionState::Closed => "closed",
        }
    }

    /// What the header says.
    pub fn label(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "Connecting…",
            ConnectionState::Connected => "Connected",
            ConnectionState::Reconnecting => "Reconnecting…",
            ConnectionState::Offline => "Offline",
            ConnectionState::Closed => "Disconnected",
        }
    }
}

/// Callbacks of a socket.
#[derive(Clone)]
pub struct SocketHandlers {
    /// Every decoded server frame.
    pub on_frame: Rc<dyn Fn(ServerFrame)>,
    /// Connection state changes. `Connected` is reported after `resume` went
    /// out, so frames sent from this callback follow it.
    pub on_state: Rc<dyn Fn(ConnectionState)>,
    /// The last seq the page has and the rev it holds every change up to
    /// (for `resume` after each open).
    pub resume_from: Rc<dyn Fn() -> (Seq, Rev)>,
}

#[cfg(feature = "hydrate")]
pub use browser::{use_chat_socket, ChatSocket, SocketSender};

#[cfg(not(feature = "hydrate"))]
pub use server_side::{use_chat_socket, SocketSender};

#[cfg(not(feature = "hydrate"))]
mod server_side {
    use super::*;

    /// Server-side stand-in: pages render without a socket.
    #[derive(Debug, Clone, Copy)]
    pub struct SocketSender;

    impl SocketSender {
        /// Does nothing on the server.
        pub fn send(&self, _frame: &ClientFrame) -> bool {
            false
        }

        /// Does nothing on the server.
        pub fn reconnect_now(&self) {}

        /// Does nothing on the server.
        pub fn went_offline(&self) {}
    }

    /// On the server no socket is opened.
    pub fn use_chat_socket(_channel_id: ChannelId, _handlers: SocketHandlers) -> SocketSender {
        SocketSender
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;

    use leptos::prelude::{
        on_cleanup, Effect, GetValue, LocalStorage, SetValue, StoredValue, WithValue,
    };
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    use super::*;
    use crate::client::backoff;
    use crate::client::browser::browser_online;

    /// Close code of a policy refusal (the server's answer to revoked access).
    const CLOSE_POLICY: u16 = 1008;

    struct Inner {
        url: String,
        ws: Option<WebSocket>,
        attempt: u32,
        stopped: bool,
        handlers: SocketHandlers,
        // Kept alive as long as the socket uses them.
        on_open: Option<Closure<dyn FnMut()>>,
        on_message: Option<Closure<dyn FnMut(MessageEvent)>>,
        on_close: Option<Closure<dyn FnMut(CloseEvent)>>,
        retry: Option<Closure<dyn FnMut()>>,
        retry_timer: Option<i32>,
    }

    /// A copyable handle to the component's socket.
    #[derive(Clone, Copy)]
    pub struct SocketSender {
        socket: StoredValue<Option<ChatSocket>, LocalStorage>,
    }

    impl SocketSender {
        /// Sends a frame if the socket is open; returns whether it was sent.
        pub fn send(&self, frame: &ClientFrame) -> bool {
            self.socket
                .try_with_value(|s| s.as_ref().map(|s| s.send(frame)).unwrap_or(false))
                .unwrap_or(false)
        }

        /// Skips the backoff wait: called when the tab becomes visible or
        /// the browser comes back online.
        pub fn reconnect_now(&self) {
            let _ = self.socket.try_with_value(|s| {
                if let Some(s) = s {
                    s.reconnect_now();
                }
            });
        }

        /// Drops the socket and shows Offline: called when the browser
        /// says the network is gone.
        pub fn went_offline(&self) {
            let _ = self.socket.try_with_value(|s| {
                if let Some(s) = s {
                    s.went_offline();
                }
            });
        }
    }

    /// Opens the channel's socket once the component is mounted and closes
    /// it when the component goes away.
    pub fn use_chat_socket(channel_id: ChannelId, handlers: SocketHandlers) -> SocketSender {
        let socket = StoredValue::new_local(None::<ChatSocket>);
        let handlers = StoredValue::new_local(Some(handlers));
        Effect::new(move |_| {
            if let Some(h) = handlers.get_value() {
                socket.set_value(Some(ChatSocket::connect(channel_id, h)));
            }
        });
        on_cleanup(move || {
            let _ = socket.try_with_value(|s| {
                if let Some(s) = s {
                    s.close();
                }
            });
        });
        SocketSender { socket }
    }

    /// A reconnecting WebSocket for one channel.
    #[derive(Clone)]
    pub struct ChatSocket {
        inner: Rc<RefCell<Inner>>,
    }

    impl ChatSocket {
        /// Opens the socket for `channel_id`.
        pub fn connect(channel_id: ChannelId, handlers: SocketHandlers) -> Self {
            let location = web_sys::window().expect("a window").location();
            let scheme = if location.protocol().ok().as_deref() == Some("https:") {
                "wss"
            } else {
                "ws"
            };
            let host = location.host().unwrap_or_default();
            let socket = ChatSocket {
                inner: Rc::new(RefCell::new(Inner {
                    url: format!("{scheme}://{host}/chat/ws/{channel_id}"),
                    ws: None,
                    attempt: 0,
                    stopped: false,
                    handlers,
                    on_open: None,
                    on_message: None,
                    on_close: None,
                    retry: None,
                    retry_timer: None,
                })),
            };
            (socket.inner.borrow().handlers.on_state)(ConnectionState::Connecting);
            socket.open();
            socket
        }

        fn open(&self) {
            let url = self.inner.borrow().url.clone();
            let ws = match WebSocket::new(&url) {
                Ok(ws) => ws,
                Err(_) => {
                    self.schedule_retry();
                    return;
                }
            };
            let me = self.clone();
            let on_open = Closure::<dyn FnMut()>::new(move || {
                let handlers = {
                    let mut inner = me.inner.borrow_mut();
                    inner.attempt = 0;
                    inner.handlers.clone()
                };
                let (after_seq, after_rev) = (handlers.resume_from)();
                me.send(&ClientFrame::Resume {
                    after_seq,
                    after_rev: Some(after_rev),
                });
                (handlers.on_state)(ConnectionState::Connected);
            });
            let me = self.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
                let Some(text) = ev.data().as_string() else {
                    return;
                };
                if let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) {
                    let on_frame = me.inner.borrow().handlers.on_frame.clone();
                    on_frame(frame);
                }
            });
            let me = self.clone();
            let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| {
                let on_state = me.inner.borrow().handlers.on_state.clone();
                if ev.code() == CLOSE_POLICY {
                    // Refused for good (access revoked): no reconnect loop.
                    me.inner.borrow_mut().stopped = true;
                    on_state(ConnectionState::Closed);
                    return;
                }
                if !me.inner.borrow().stopped {
                    on_state(if browser_online() {
                        ConnectionState::Reconnecting
                    } else {
                        ConnectionState::Offline
                    });
                    me.schedule_retry();
                }
            });
            ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            let mut inner = self.inner.borrow_mut();
            inner.ws = Some(ws);
            inner.on_open = Some(on_open);
            inner.on_message = Some(on_message);
            inner.on_close = Some(on_close);
        }

        fn schedule_retry(&self) {
            let attempt = {
                let mut inner = self.inner.borrow_mut();
                if inner.stopped {
                    return;
                }
                inner.attempt += 1;
                inner.attempt - 1
            };
            let delay = backoff::delay_ms(attempt, js_sys::Math::random()) as i32;
            self.cancel_retry();
            let me = self.clone();
            let retry = Closure::<dyn FnMut()>::new(move || {
                if !me.inner.borrow().stopped {
                    me.open();
                }
            });
            let timer = web_sys::window().and_then(|window| {
                window
                    .set_timeout_with_callback_and_timeout_and_arguments_0(
                        retry.as_ref().unchecked_ref(),
                        delay,
                    )
                    .ok()
            });
            let mut inner = self.inner.borrow_mut();
            inner.retry = Some(retry);
            inner.retry_timer = timer;
        }

        fn cancel_retry(&self) {
            if let Some(timer) = self.inner.borrow_mut().retry_timer.take() {
                if let Some(window) = web_sys::window() {
                    window.clear_timeout_with_handle(timer);
                }
            }
        }

        /// Opens at once if the socket is down and waiting to retry.
        pub fn reconnect_now(&self) {
            let waiting = {
                let inner = self.inner.borrow();
                !inner.stopped
                    && inner.ws.as_ref().is_none_or(|ws| {
                        ws.ready_state() == WebSocket::CLOSED
                            || ws.ready_state() == WebSocket::CLOSING
                    })
            };
            if waiting {
                self.cancel_retry();
                self.inner.borrow_mut().attempt = 0;
                self.open();
            }
        }

        /// Sends a frame if the socket is open; returns whether it was sent.
        pub fn send(&self, frame: &ClientFrame) -> bool {
            let inner = self.inner.borrow();
            match &inner.ws {
                Some(ws) if ws.ready_state() == WebSocket::OPEN => {
                    let text = serde_json::to_string(frame).expect("client frames serialise");
                    ws.send_with_str(&text).is_ok()
                }
                _ => false,
            }
        }

        /// The browser says the network is gone. A socket that still looks
        /// open may not hear of it for minutes (neither the server's close
        /// nor the connection's end can arrive), and meanwhile the page
        /// would say Connected and sends would vanish into it. So the
        /// socket is dropped at once, the page shows Offline and sends
        /// wait as pending; the retries go on, and the `online` event
        /// reconnects at once (then `resume` fetches what was missed).
        pub fn went_offline(&self) {
            let ws = {
                let mut inner = self.inner.borrow_mut();
                if inner.stopped {
                    return;
                }
                inner.ws.take()
            };
            let Some(ws) = ws else {
                return; // no socket to drop: not opened, or already dropped
            };
            close_silently(&ws);
            let on_state = self.inner.borrow().handlers.on_state.clone();
            on_state(ConnectionState::Offline);
            self.schedule_retry();
        }

        /// Closes for good (no reconnect).
        /// Runs when the component goes away: no callback fires after it,
        /// since the component's signals are gone.
        pub fn close(&self) {
            self.cancel_retry();
            let mut inner = self.inner.borrow_mut();
            inner.stopped = true;
            if let Some(ws) = inner.ws.take() {
                close_silently(&ws);
            }
        }
    }

    /// Closes `ws` after detaching its callbacks, so nothing it does
    /// afterwards (its close event, a late frame) reaches the page.
    fn close_silently(ws: &WebSocket) {
        ws.set_onclose(None);
        ws.set_onmessage(None);
        ws.set_onopen(None);
        let _ = ws.close();
    }
}
