//! The most TCP connections the server holds at once (`CHAT_MAX_CONNECTIONS`).
//!
//! Without a limit, a flood of connections runs the process out of file
//! descriptors, and then `accept` fails for everyone (and the database can
//! no longer open a file). With one, each connection holds a permit for as
//! long as its socket lives, including after an upgrade to a WebSocket (the
//! permit travels inside the stream that hyper hands to the WebSocket
//! session). A connection beyond the limit gets a short 503 and is closed.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Descriptors kept back from the automatic limit for the database, logs
/// and the listener.
const RESERVED_DESCRIPTORS: u64 = 256;

/// Refused connections answered at once; beyond this (a flood), a refused
/// connection is closed without an answer.
const REFUSALS_IN_FLIGHT: usize = 64;

/// How long a refused connection may take to read the answer.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// The body a connection beyond the limit reads (PROTOCOL.md, "Limits").
const BUSY_BODY: &str = r#"{"error":"server is at its connection limit; retry shortly"}"#;

/// The whole answer to a connection beyond the limit.
fn busy_response() -> String {
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BUSY_BODY}",
        BUSY_BODY.len()
    )
}

/// Counts open connections against the limit.
#[derive(Clone)]
pub struct ConnectionLimit {
    open: Arc<Semaphore>,
    refusing: Arc<Semaphore>,
    max: usize,
}

impl ConnectionLimit {
    /// A limit of `configured` connections; 0 takes the process's open-file
    /// limit less a reserve (at least 16).
    pub fn new(configured: usize) -> Self {
        let max = if configured > 0 {
            configured
        } else {
            automatic_limit()
        };
        ConnectionLimit {
            open: Arc::new(Semaphore::new(max)),
            refusing: Arc::new(Semaphore::new(REFUSALS_IN_FLIGHT)),
            max,
        }
    }

    /// The limit in force.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A permit for a new connection, or `None` when the server is full.
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        self.open.clone().try_acquire_owned().ok()
    }

    /// Answers a connection beyond the limit with a 503 and closes it,
    /// without holding the accept loop.
    pub fn refuse(&self, mut tcp: TcpStream) {
        let Ok(slot) = self.refusing.clone().try_acquire_owned() else {
            return; // dropped: closed without an answer
        };
        tokio::spawn(async move {
            let _slot = slot;
            let answered = async {
                tcp.write_all(busy_response().as_bytes()).await?;
                tcp.shutdown().await?;
                // Read what the client sent until it closes, so closing
                // does not reset the connection before the answer is read.
                let mut sink = [0u8; 1024];
                while tcp.read(&mut sink).await? > 0 {}
                Ok::<_, io::Error>(())
            };
            let _ = tokio::time::timeout(REFUSAL_LINGER, answered).await;
        });
    }
}

/// The soft open-file limit less the reserve, or 1,024 less it when the
/// limit cannot be read.
#[allow(unsafe_code)]
fn automatic_limit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur
    } else {
        1024
    };
    let usable = soft.saturating_sub(RESERVED_DESCRIPTORS).max(16);
    usize::try_from(usable).unwrap_or(usize::MAX)
}

/// A connection's stream with its permit: the permit is released when the
/// stream is dropped, whoever holds it then (hyper, or a WebSocket session
/// after an upgrade).
pub struct CountedStream {
    inner: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl CountedStream {
    /// Wraps an admitted connection.
    pub fn new(inner: TcpStream, permit: OwnedSemaphorePermit) -> Self {
        CountedStream {
            inner,
            _permit: permit,
        }
    }
}

impl AsyncRead for CountedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_answer_is_a_complete_http_response() {
        let text = busy_response();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(head.contains("\r\nretry-after: 1\r\n"));
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(body.len(), length);
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            json["error"],
            "server is at its connection limit; retry shortly"
        );
    }

    #[tokio::test]
    async fn permits_run_out_at_the_limit_and_come_back_when_released() {
        let limit = ConnectionLimit::new(2);
        assert_eq!(limit.max(), 2);
        let a = limit.admit().expect("first");
        let _b = limit.admit().expect("second");
        assert!(limit.admit().is_none());
        drop(a);
        assert!(limit.admit().is_some());
        assert!(ConnectionLimit::new(0).max() >= 16);
    }
}
