//! `ChatSocket`: the browser WebSocket to `/chat/ws/{channelId}` (cookie
//! authenticated, same origin). On open it sends `resume` from the last
//! seq the page has; on an unexpected close it reconnects with backoff.
//! On the server this type exists with the same API and does nothing, so
//! components carry no `cfg`.

use std::rc::Rc;

use uuid::Uuid;

use crate::protocol::{ClientFrame, ServerFrame};

/// What the connection indicator shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// First connection attempt in progress.
    Connecting,
    /// Open.
    Connected,
    /// Lost; retrying.
    Reconnecting,
    /// Closed for good (left the channel).
    Offline,
}

impl ConnectionState {
    /// Value of the `data-connection` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Reconnecting => "reconnecting",
            ConnectionState::Offline => "offline",
        }
    }
}

/// Callbacks of a socket.
#[derive(Clone)]
pub struct SocketHandlers {
    /// Every decoded server frame.
    pub on_frame: Rc<dyn Fn(ServerFrame)>,
    /// Connection state changes.
    pub on_state: Rc<dyn Fn(ConnectionState)>,
    /// The last seq the page has (for `resume` after each open).
    pub last_seq: Rc<dyn Fn() -> i64>,
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
    }

    /// On the server no socket is opened.
    pub fn use_chat_socket(_channel_id: Uuid, _handlers: SocketHandlers) -> SocketSender {
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
                .with_value(|s| s.as_ref().map(|s| s.send(frame)).unwrap_or(false))
        }
    }

    /// Opens the channel's socket once the component is mounted and closes
    /// it when the component goes away.
    pub fn use_chat_socket(channel_id: Uuid, handlers: SocketHandlers) -> SocketSender {
        let socket = StoredValue::new_local(None::<ChatSocket>);
        let handlers = StoredValue::new_local(Some(handlers));
        Effect::new(move |_| {
            if let Some(h) = handlers.get_value() {
                socket.set_value(Some(ChatSocket::connect(channel_id, h)));
            }
        });
        on_cleanup(move || {
            socket.with_value(|s| {
                if let Some(s) = s {
                    s.close();
                }
            })
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
        pub fn connect(channel_id: Uuid, handlers: SocketHandlers) -> Self {
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
                (handlers.on_state)(ConnectionState::Connected);
                me.send(&ClientFrame::Resume {
                    after_seq: (handlers.last_seq)(),
                });
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
            let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_ev: CloseEvent| {
                let stopped = me.inner.borrow().stopped;
                if !stopped {
                    let on_state = me.inner.borrow().handlers.on_state.clone();
                    on_state(ConnectionState::Reconnecting);
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
            let me = self.clone();
            let retry = Closure::<dyn FnMut()>::new(move || {
                if !me.inner.borrow().stopped {
                    me.open();
                }
            });
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                    retry.as_ref().unchecked_ref(),
                    delay,
                );
            }
            self.inner.borrow_mut().retry = Some(retry);
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

        /// Closes for good (no reconnect).
        pub fn close(&self) {
            let mut inner = self.inner.borrow_mut();
            inner.stopped = true;
            if let Some(ws) = inner.ws.take() {
                ws.set_onclose(None);
                let _ = ws.close();
            }
            let on_state = inner.handlers.on_state.clone();
            drop(inner);
            on_state(ConnectionState::Offline);
        }
    }
}
