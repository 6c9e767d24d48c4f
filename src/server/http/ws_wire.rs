//! The two halves of an upgraded WebSocket connection, at the byte level.
//!
//! Client frames are read by tungstenite (masking, fragmentation, UTF-8,
//! size limits, automatic Pong and Close replies). Server frames are written
//! by [`FrameWriter`], not by tungstenite: a room's event is serialised once
//! and its bytes are shared by every recipient, so each connection queues a
//! reference to them behind a header of at most ten bytes and writes its
//! queue with one vectored `write`. tungstenite's writer would copy every
//! frame into a per-connection buffer that keeps the capacity of the largest
//! burst it ever held: measured, that buffer was 7 KiB of the 16 KiB an idle
//! socket cost (docs/BENCHMARKS.md).
//!
//! The replies tungstenite writes while reading (a Pong for a Ping, the
//! answer to a Close) land in a small shared buffer that the writer sends at
//! its next write, between whole frames.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, ReadHalf, WriteHalf};

/// The upgraded connection.
pub type Io = TokioIo<Upgraded>;

/// Frame opcodes the server sends (RFC 6455 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpCode {
    /// A text frame (every protocol event).
    Text = 0x1,
    /// A binary frame (only the conformance echo server sends these).
    Binary = 0x2,
    /// The closing handshake.
    Close = 0x8,
    /// A keep-alive probe.
    Ping = 0x9,
}

/// What tungstenite wrote while reading, waiting for the writer.
#[derive(Default)]
struct Replies {
    bytes: Mutex<Vec<u8>>,
    waiting: AtomicBool,
}

impl Replies {
    fn take(&self) -> Option<Bytes> {
        if !self.waiting.swap(false, Ordering::Acquire) {
            return None;
        }
        let mut bytes = self.bytes.lock();
        let taken = std::mem::take(&mut *bytes);
        (!taken.is_empty()).then(|| Bytes::from(taken))
    }
}

/// The reading half as tungstenite sees it: reads come from the socket;
/// writes (its automatic replies) are kept for the [`FrameWriter`].
pub struct ReadSide {
    io: ReadHalf<Io>,
    replies: Arc<Replies>,
}

impl AsyncRead for ReadSide {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for ReadSide {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.replies.bytes.lock().extend_from_slice(buf);
        self.replies.waiting.store(true, Ordering::Release);
        // The reply is written by the connection's task at its next flush:
        // wake it so it looks again (this waker reaches the task that is
        // reading, which is the one that writes).
        cx.waker().wake_by_ref();
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// One queued frame: its header, and its payload shared with every other
/// connection that sends it.
struct OutFrame {
    head: [u8; 10],
    head_len: u8,
    /// Header bytes already written.
    head_sent: u8,
    body: Bytes,
    /// Some of it was written: nothing may go in front of it any more.
    started: bool,
}

impl OutFrame {
    fn new(opcode: OpCode, body: Bytes) -> Self {
        let (head, head_len) = frame_header(opcode, body.len());
        OutFrame {
            head,
            head_len,
            head_sent: 0,
            body,
            started: false,
        }
    }

    /// Bytes already formatted (tungstenite's replies).
    fn raw(bytes: Bytes) -> Self {
        OutFrame {
            head: [0; 10],
            head_len: 0,
            head_sent: 0,
            body: bytes,
            started: false,
        }
    }

    fn remaining(&self) -> usize {
        usize::from(self.head_len - self.head_sent) + self.body.len()
    }

    /// Marks `n` bytes written; returns what is left of `n`.
    fn advance(&mut self, mut n: usize) -> usize {
        self.started |= n > 0;
        let head_left = usize::from(self.head_len - self.head_sent);
        let from_head = n.min(head_left);
        self.head_sent += from_head as u8;
        n -= from_head;
        let from_body = n.min(self.body.len());
        self.body.advance(from_body);
        n - from_body
    }
}

/// A server frame's header (FIN set, never masked) and its length.
pub fn frame_header(opcode: OpCode, len: usize) -> ([u8; 10], u8) {
    let mut head = [0u8; 10];
    head[0] = 0x80 | opcode as u8;
    let head_len = if len < 126 {
        head[1] = len as u8;
        2
    } else if len <= usize::from(u16::MAX) {
        head[1] = 126;
        head[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        head[1] = 127;
        head[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    (head, head_len)
}

/// Most slices handed to one vectored write (the kernel takes up to 1,024).
const MAX_SLICES: usize = 64;

/// The writing half: frames queue here and go out together.
pub struct FrameWriter {
    io: WriteHalf<Io>,
    replies: Arc<Replies>,
    queue: VecDeque<OutFrame>,
    queued_bytes: usize,
}

impl FrameWriter {
    /// Queues a frame (nothing is written until [`FrameWriter::write_queued`]).
    pub fn queue(&mut self, opcode: OpCode, body: Bytes) {
        let frame = OutFrame::new(opcode, body);
        self.queued_bytes += frame.remaining();
        self.queue.push_back(frame);
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Whether anything (a frame or one of tungstenite's replies) waits to
    /// be written.
    pub fn has_queued(&self) -> bool {
        self.queued_bytes > 0 || self.replies.waiting.load(Ordering::Acquire)
    }

    /// Writes everything queued, tungstenite's replies included. A reply
    /// (a Pong, the answer to a Close) goes out at the next frame boundary,
    /// ahead of frames queued after the Ping it answers was read: a Ping in
    /// the middle of a fragmented message is answered before the echo or
    /// event that the whole message causes.
    pub async fn write_queued(&mut self) -> io::Result<()> {
        if let Some(replies) = self.replies.take() {
            self.queued_bytes += replies.len();
            let at = usize::from(self.queue.front().is_some_and(|f| f.started));
            self.queue.insert(at, OutFrame::raw(replies));
        }
        // Polled by hand so the slice array lives only inside a poll, not
        // in every connection's future.
        std::future::poll_fn(|cx| self.poll_write_queued(cx)).await?;
        // Give back the queue's memory when a burst made it large; a
        // connection at rest holds none.
        if self.queue.capacity() > 16 {
            self.queue = VecDeque::new();
        }
        Ok(())
    }

    fn poll_write_queued(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.queue.is_empty() {
            let mut slices: [IoSlice<'_>; MAX_SLICES] = [IoSlice::new(&[]); MAX_SLICES];
            let mut count = 0;
            for frame in self.queue.iter() {
                if count + 2 > MAX_SLICES {
                    break;
                }
                let head = &frame.head[usize::from(frame.head_sent)..usize::from(frame.head_len)];
                if !head.is_empty() {
                    slices[count] = IoSlice::new(head);
                    count += 1;
                }
                if !frame.body.is_empty() {
                    slices[count] = IoSlice::new(&frame.body);
                    count += 1;
                }
            }
            let written = std::task::ready!(
                Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..count])
            )?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.consume(written);
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Drops every queued frame (the peer is gone); tungstenite's replies
    /// stay.
    pub fn discard_queued(&mut self) {
        self.queue = VecDeque::new();
        self.queued_bytes = 0;
    }

    fn consume(&mut self, mut written: usize) {
        self.queued_bytes -= written;
        while written > 0 {
            let Some(front) = self.queue.front_mut() else {
                break;
            };
            written = front.advance(written);
            if front.remaining() == 0 {
                self.queue.pop_front();
            }
        }
        while self.queue.front().is_some_and(|f| f.remaining() == 0) {
            self.queue.pop_front();
        }
    }
}

/// Splits an upgraded connection into tungstenite's reading half and our
/// writing half.
pub fn split(io: Io) -> (ReadSide, FrameWriter) {
    let (read, write) = tokio::io::split(io);
    let replies = Arc::new(Replies::default());
    (
        ReadSide {
            io: read,
            replies: replies.clone(),
        },
        FrameWriter {
            io: write,
            replies,
            queue: VecDeque::new(),
            queued_bytes: 0,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode as WireOp};
    use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;

    /// Our headers, read back by tungstenite's own frame parser, for each
    /// length encoding and its edges.
    #[test]
    fn headers_parse_as_the_lengths_they_announce() {
        for len in [0usize, 1, 125, 126, 127, 65_535, 65_536, 1 << 20] {
            let (head, head_len) = frame_header(OpCode::Text, len);
            let mut cursor = std::io::Cursor::new(&head[..usize::from(head_len)]);
            let (parsed, announced) = FrameHeader::parse(&mut cursor)
                .expect("parses")
                .expect("complete header");
            assert_eq!(announced, len as u64, "length {len}");
            assert!(parsed.is_final);
            assert_eq!(parsed.opcode, WireOp::Data(Data::Text));
            assert!(parsed.mask.is_none(), "server frames are never masked");
            assert_eq!(cursor.position(), u64::from(head_len), "whole header read");
        }
    }

    /// A partly written queue resumes exactly where the kernel stopped.
    #[test]
    fn partial_writes_advance_across_header_and_body() {
        let mut frame = OutFrame::new(OpCode::Text, Bytes::from_static(b"hello"));
        assert_eq!(frame.remaining(), 7);
        assert_eq!(frame.advance(1), 0);
        assert_eq!(frame.remaining(), 6);
        assert_eq!(frame.advance(3), 0);
        assert_eq!(&frame.body[..], b"llo");
        assert_eq!(frame.advance(10), 7, "the rest belongs to later frames");
        assert_eq!(frame.remaining(), 0);
    }
}
