//! A request body that a streaming parser may read only so far ahead of
//! whoever consumes what it parses.
//!
//! Why: the multipart parser (multer) pulls every chunk the socket has
//! ready into one buffer before it hands any on, without a bound. An
//! upload arriving faster than it is hashed and written to disk then
//! piled up in memory: 50 clients sending 10 MB at once raised the
//! server's memory by 210 MiB (BENCHMARKS.md "Files"). With the parser
//! held to [`READ_AHEAD`] bytes beyond what was consumed, the rest waits
//! in the socket, and TCP slows the sender down.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_util::Stream;
use parking_lot::Mutex;

/// How far the parser may read ahead of the consumer, in bytes.
pub const READ_AHEAD: usize = 256 * 1024;

/// The shared count between a [`PacedBody`] and its consumer.
#[derive(Debug, Clone, Default)]
pub struct Pace(Arc<Mutex<PaceState>>);

#[derive(Debug, Default)]
struct PaceState {
    /// Bytes the body gave the parser that the consumer has not taken.
    ahead: usize,
    /// The task waiting for the consumer to take some.
    waiting: Option<Waker>,
}

impl Pace {
    /// The consumer took `n` bytes (of a field's data).
    pub fn consumed(&self, n: usize) {
        let waker = {
            let mut state = self.0.lock();
            state.ahead = state.ahead.saturating_sub(n);
            state.waiting.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// A new part begins: what the parser read of the last one's framing
    /// (headers, boundaries), which no consumer takes, no longer counts.
    pub fn next_part(&self) {
        let waker = {
            let mut state = self.0.lock();
            state.ahead = 0;
            state.waiting.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// A body stream held to [`READ_AHEAD`] bytes beyond what its [`Pace`]
/// was told was consumed.
pub struct PacedBody<S> {
    inner: S,
    pace: Pace,
    limit: usize,
}

impl<S> PacedBody<S> {
    /// `inner` paced at `limit` bytes ahead; the [`Pace`] goes to the
    /// consumer.
    pub fn new(inner: S, limit: usize) -> (Self, Pace) {
        let pace = Pace::default();
        (
            PacedBody {
                inner,
                pace: pace.clone(),
                limit: limit.max(1),
            },
            pace,
        )
    }
}

impl<S, E> Stream for PacedBody<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        {
            let mut state = self.pace.0.lock();
            if state.ahead >= self.limit {
                state.waiting = Some(cx.waker().clone());
                return Poll::Pending;
            }
        }
        let next = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &next {
            self.pace.0.lock().ahead += chunk.len();
        }
        next
    }
}

/// A parsed part's data, telling its [`Pace`] what it hands on.
pub struct PacedPart<S> {
    inner: S,
    pace: Pace,
}

impl<S> PacedPart<S> {
    /// `inner`'s chunks, counted as consumed as they are taken.
    pub fn new(inner: S, pace: Pace) -> Self {
        PacedPart { inner, pace }
    }
}

impl<S, E> Stream for PacedPart<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &next {
            self.pace.consumed(chunk.len());
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    /// An endless body of 64 KiB chunks.
    fn endless() -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        futures_util::stream::repeat_with(|| Ok(Bytes::from(vec![0u8; 64 * 1024])))
    }

    #[tokio::test]
    async fn the_body_stops_at_the_limit_until_the_consumer_takes_some() {
        let (mut body, pace) = PacedBody::new(endless(), 256 * 1024);
        for _ in 0..4 {
            assert!(body.next().await.is_some());
        }
        // Four chunks ahead: the fifth waits.
        let waits = tokio::time::timeout(std::time::Duration::from_millis(50), body.next()).await;
        assert!(waits.is_err(), "read past the limit");
        pace.consumed(64 * 1024);
        assert!(body.next().await.is_some());
        pace.next_part();
        for _ in 0..4 {
            assert!(body.next().await.is_some());
        }
    }

    #[tokio::test]
    async fn a_part_counts_what_it_hands_on() {
        let (mut body, pace) = PacedBody::new(endless(), 128 * 1024);
        let a = body.next().await.unwrap().unwrap();
        let b = body.next().await.unwrap().unwrap();
        let handed = futures_util::stream::iter([Ok::<_, std::io::Error>(a), Ok(b)]);
        let mut part = PacedPart::new(handed, pace.clone());
        while part.next().await.is_some() {}
        assert_eq!(pace.0.lock().ahead, 0);
        assert!(body.next().await.is_some());
    }
}
