//! One simulated client: an authenticated WebSocket (a real tungstenite
//! client over loopback) that records every `message.new` it receives and,
//! when it is a sender, sends messages stamped with the time they left.

use std::borrow::Cow;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::checks::SeqLog;
use crate::Result;

/// A client socket.
pub type Ws = WebSocketStream<TcpStream>;

/// Loopback source addresses used in turn (127.0.0.2 and up), so many
/// thousands of sockets never run out of ephemeral ports.
const SOURCE_ADDRESSES: u32 = 64;

/// Everything the connections of one run share.
pub struct Shared {
    /// Send timestamps are microseconds since this instant.
    pub clock: Instant,
    /// Per channel: the seq before this run's first send.
    pub start_heads: Vec<i64>,
    /// Per channel: messages acknowledged to their senders.
    pub acked: Vec<AtomicI64>,
    /// Sends written to sockets, all connections.
    pub sent_total: AtomicU64,
    /// Sends acknowledged (own `message.new` back), all connections.
    pub acked_total: AtomicU64,
    /// Error frames received, all connections.
    pub errors_total: AtomicU64,
    /// Ends every connection's loop.
    pub stop: CancellationToken,
    /// Text after the timestamp in each message (sets the message size).
    pub padding: String,
    /// Starts every clientId of this run: runs against the same server
    /// (the soak's rounds) must not reuse keys, or their sends would be
    /// answered as retries of the earlier run's messages.
    pub run_id: String,
}

impl Shared {
    /// State for `channels` channels whose heads are `start_heads`.
    pub fn new(start_heads: Vec<i64>, padding: String) -> Self {
        Shared {
            clock: Instant::now(),
            acked: start_heads.iter().map(|_| AtomicI64::new(0)).collect(),
            start_heads,
            sent_total: AtomicU64::new(0),
            acked_total: AtomicU64::new(0),
            errors_total: AtomicU64::new(0),
            stop: CancellationToken::new(),
            padding,
            run_id: uuid::Uuid::new_v4().simple().to_string()[..8].to_string(),
        }
    }

    /// The head a channel reaches once every acknowledged send is counted.
    pub fn final_head(&self, channel: usize) -> i64 {
        self.start_heads[channel] + self.acked[channel].load(Ordering::SeqCst)
    }

    fn now_us(&self) -> u64 {
        self.clock.elapsed().as_micros() as u64
    }
}

/// What a connection does besides receiving.
pub enum Role {
    /// Only receives.
    Listen,
    /// Sends one message per unit received here (the rate is set by whoever
    /// holds the other end).
    Paced(mpsc::Receiver<()>),
    /// Keeps `window` sends unacknowledged until `until`, as fast as the
    /// server acknowledges them.
    Flood {
        /// Sends in flight.
        window: usize,
        /// When to stop sending.
        until: Instant,
    },
}

/// What one connection saw.
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Its channel (index).
    pub channel: usize,
    /// Received seqs.
    pub log: SeqLog,
    /// Send-to-receive latencies of received messages, microseconds.
    pub latencies_us: Vec<u64>,
    /// When it received its first and its last message (microseconds on
    /// the run's clock).
    pub delivered_between_us: Option<(u64, u64)>,
    /// Messages it sent.
    pub sent: u64,
    /// Its own messages that came back.
    pub acked: u64,
    /// Error frames.
    pub errors: u64,
    /// The server closed the socket (or it failed) before the run ended.
    pub ended_by_server: bool,
}

/// The fields of server frames the load generator reads.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    seq: Option<i64>,
    #[serde(rename = "clientId", borrow, default)]
    client_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    code: Option<Cow<'a, str>>,
}

/// Opens connection number `idx` to `channel` and waits for its
/// `presence.state` (an authenticated, joined socket). `recv_buffer` sets
/// the client's TCP receive buffer (small for a slow consumer).
pub async fn open(
    port: u16,
    idx: usize,
    channel: Uuid,
    token: &str,
    recv_buffer: Option<u32>,
) -> Result<Ws> {
    let source =
        Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 2)) + idx as u32 % SOURCE_ADDRESSES);
    let socket = TcpSocket::new_v4()?;
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    socket.bind(SocketAddr::from((source, 0)))?;
    let stream = socket
        .connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await?;
    stream.set_nodelay(true)?;
    let mut request = format!("ws://127.0.0.1:{port}/chat/ws/{channel}").into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
    match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) if t.contains("\"presence.state\"") => Ok(ws),
        Ok(other) => Err(format!("expected presence.state first, got {other:?}").into()),
        Err(_) => Err("no presence.state within 30 s".into()),
    }
}

/// Runs connection `idx` until `drain` is set and it has every message up
/// to its channel's final head (or `shared.stop`).
pub async fn run(
    idx: usize,
    channel: usize,
    mut ws: Ws,
    mut role: Role,
    shared: Arc<Shared>,
    mut drain: watch::Receiver<bool>,
) -> ConnStats {
    let mut stats = ConnStats {
        channel,
        ..ConnStats::default()
    };
    let own_prefix = format!("{}.{idx}.", shared.run_id);
    let mut outstanding = 0usize;
    let mut draining = *drain.borrow();
    let mut paced_open = matches!(role, Role::Paced(_));
    loop {
        if let Role::Flood { window, until } = role {
            while outstanding < window && Instant::now() < until {
                if send(&mut ws, &shared, &own_prefix, &mut stats)
                    .await
                    .is_err()
                {
                    stats.ended_by_server = true;
                    return stats;
                }
                outstanding += 1;
            }
        }
        if draining && outstanding == 0 && stats.log.max >= shared.final_head(channel) {
            break;
        }
        tokio::select! {
            biased;
            _ = shared.stop.cancelled() => break,
            changed = drain.changed(), if !draining => {
                draining = changed.is_err() || *drain.borrow();
            }
            cmd = next_command(&mut role), if paced_open => match cmd {
                Some(()) => {
                    if send(&mut ws, &shared, &own_prefix, &mut stats).await.is_err() {
                        stats.ended_by_server = true;
                        break;
                    }
                    outstanding += 1;
                }
                None => paced_open = false,
            },
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Ok(f) = serde_json::from_str::<Frame>(&text) {
                        on_frame(f, &shared, &own_prefix, &mut stats, &mut outstanding);
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    stats.ended_by_server = true;
                    break;
                }
                Some(Ok(_)) => {}
            },
        }
    }
    stats
}

async fn next_command(role: &mut Role) -> Option<()> {
    match role {
        Role::Paced(rx) => rx.recv().await,
        _ => std::future::pending().await,
    }
}

async fn send(ws: &mut Ws, shared: &Shared, own_prefix: &str, stats: &mut ConnStats) -> Result<()> {
    let text = format!("{:020} {}", shared.now_us(), shared.padding);
    let frame = serde_json::json!({
        "type": "message.send",
        "text": text,
        "clientId": format!("{own_prefix}{}", stats.sent),
    });
    ws.send(Message::Text(frame.to_string().into())).await?;
    stats.sent += 1;
    shared.sent_total.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

fn on_frame(
    f: Frame<'_>,
    shared: &Shared,
    own_prefix: &str,
    stats: &mut ConnStats,
    outstanding: &mut usize,
) {
    let own = f
        .client_id
        .as_deref()
        .is_some_and(|c| c.starts_with(own_prefix));
    match f.kind.as_ref() {
        "message.new" => {
            let Some(seq) = f.seq else { return };
            stats.log.record(seq);
            let now = shared.now_us();
            stats.delivered_between_us = match stats.delivered_between_us {
                None => Some((now, now)),
                Some((first, _)) => Some((first, now)),
            };
            if let Some(sent_at) = f
                .text
                .as_deref()
                .and_then(|t| t.get(..20))
                .and_then(|t| t.parse::<u64>().ok())
            {
                stats.latencies_us.push(now.saturating_sub(sent_at));
            }
            if own {
                stats.acked += 1;
                *outstanding = outstanding.saturating_sub(1);
                shared.acked[stats.channel].fetch_add(1, Ordering::SeqCst);
                shared.acked_total.fetch_add(1, Ordering::Relaxed);
            }
        }
        "error" => {
            stats.errors += 1;
            if shared.errors_total.fetch_add(1, Ordering::Relaxed) == 0 {
                eprintln!(
                    "loadgen: first error frame: {}",
                    f.code.as_deref().unwrap_or("?")
                );
            }
            if own {
                *outstanding = outstanding.saturating_sub(1);
            }
        }
        _ => {}
    }
}
