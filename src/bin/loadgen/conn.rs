//! One simulated client: an authenticated WebSocket (a real tungstenite
//! client over loopback) that records every `message.new` it receives and,
//! when it is a sender, sends messages stamped with the time they left.
//! With an edit stream (issue 17) a sender also edits its newest message,
//! and every client checks the `message.updated` frames it gets (revs
//! strictly increasing, never repeated) and keeps each message's state as
//! a client would (an update applies only over a lower rev).

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

use crate::checks::{RevLog, SeqLog};
use crate::words::Padding;
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
    /// Text after the timestamp in each message (sets the message size):
    /// vocabulary words, different for each message.
    pub padding: Padding,
    /// Starts every clientId of this run: runs against the same server
    /// (the soak's rounds) must not reuse keys, or their sends would be
    /// answered as retries of the earlier run's messages.
    pub run_id: String,
    /// Per channel: edits whose `message.updated` reached their editor
    /// (each took one rev; channels start at rev 0).
    pub edits_acked: Vec<AtomicI64>,
    /// Edits written to sockets, all connections.
    pub edits_sent_total: AtomicU64,
    /// Edits answered (their update came back, or an error), all
    /// connections.
    pub edits_answered_total: AtomicU64,
    /// Whether this run has an edit stream: receivers then also wait for
    /// their channel's last rev, and keep every message's state.
    pub edits: bool,
}

impl Shared {
    /// State for `channels` channels whose heads are `start_heads`.
    pub fn new(start_heads: Vec<i64>, padding: Padding) -> Self {
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
            edits_acked: Vec::new(),
            edits_sent_total: AtomicU64::new(0),
            edits_answered_total: AtomicU64::new(0),
            edits: false,
        }
    }

    /// State for a run with an edit stream on fresh channels (rev 0).
    pub fn with_edits(start_heads: Vec<i64>, padding: Padding) -> Self {
        Shared {
            edits_acked: start_heads.iter().map(|_| AtomicI64::new(0)).collect(),
            edits: true,
            ..Shared::new(start_heads, padding)
        }
    }

    /// The rev a channel reaches once every acknowledged edit is counted.
    pub fn final_rev(&self, channel: usize) -> i64 {
        self.edits_acked
            .get(channel)
            .map_or(0, |a| a.load(Ordering::SeqCst))
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
    /// Sends one message (or edit) per command received here (the rate is
    /// set by whoever holds the other end).
    Paced(mpsc::Receiver<Command>),
    /// Keeps `window` sends unacknowledged until `until`, as fast as the
    /// server acknowledges them.
    Flood {
        /// Sends in flight.
        window: usize,
        /// When to stop sending.
        until: Instant,
    },
}

/// What a paced connection is told to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Send a new message.
    Send,
    /// Edit this connection's newest acknowledged message (skipped while
    /// it has none).
    Edit,
}

/// One message as this connection holds it: the rev of the state it
/// applied and a hash of its text (`rev` −1: never received).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldMessage {
    /// The rev of the applied state.
    pub rev: i64,
    /// Hash of the text ([`text_hash`]).
    pub text: u64,
}

impl HeldMessage {
    /// A message this connection never received.
    pub const NONE: HeldMessage = HeldMessage { rev: -1, text: 0 };
}

/// The hash a held text is compared by (the same on both sides).
pub fn text_hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
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
    /// Revs of the `message.updated` frames received.
    pub revs: RevLog,
    /// Send-to-receive latencies of edits (every receiver), microseconds.
    pub edit_latencies_us: Vec<u64>,
    /// Edit to the editor's own `message.updated`, microseconds.
    pub edit_ack_us: Vec<u64>,
    /// Edits sent.
    pub edits_sent: u64,
    /// Edit commands that came before this sender had a message to edit.
    pub edits_skipped: u64,
    /// With an edit stream: each message of the channel after the run's
    /// start head, by seq, in the state this connection applied.
    pub held: Vec<HeldMessage>,
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
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(default)]
    rev: Option<i64>,
}

/// The part of a connection's loop state that `on_frame` updates.
struct Pending {
    /// Sends not yet acknowledged.
    sends: usize,
    /// Edits not yet answered: message id and send time (µs).
    edits: Vec<(String, u64)>,
    /// This connection's newest acknowledged message, the one it edits.
    newest_own: Option<String>,
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
    let mut pending = Pending {
        sends: 0,
        edits: Vec::new(),
        newest_own: None,
    };
    let mut draining = *drain.borrow();
    let mut paced_open = matches!(role, Role::Paced(_));
    loop {
        if let Role::Flood { window, until } = role {
            while pending.sends < window && Instant::now() < until {
                if send(&mut ws, &shared, &own_prefix, &mut stats)
                    .await
                    .is_err()
                {
                    stats.ended_by_server = true;
                    return stats;
                }
                pending.sends += 1;
            }
        }
        if draining
            && pending.sends == 0
            && pending.edits.is_empty()
            && stats.log.max >= shared.final_head(channel)
            && (!shared.edits || stats.revs.last >= shared.final_rev(channel))
        {
            break;
        }
        tokio::select! {
            biased;
            _ = shared.stop.cancelled() => break,
            changed = drain.changed(), if !draining => {
                draining = changed.is_err() || *drain.borrow();
            }
            cmd = next_command(&mut role), if paced_open => match cmd {
                Some(Command::Send) => {
                    if send(&mut ws, &shared, &own_prefix, &mut stats).await.is_err() {
                        stats.ended_by_server = true;
                        break;
                    }
                    pending.sends += 1;
                }
                Some(Command::Edit) => {
                    if edit(&mut ws, &shared, &own_prefix, &mut stats, &mut pending)
                        .await
                        .is_err()
                    {
                        stats.ended_by_server = true;
                        break;
                    }
                }
                None => paced_open = false,
            },
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Ok(f) = serde_json::from_str::<Frame>(&text) {
                        on_frame(f, &shared, &own_prefix, &mut stats, &mut pending);
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

async fn next_command(role: &mut Role) -> Option<Command> {
    match role {
        Role::Paced(rx) => rx.recv().await,
        _ => std::future::pending().await,
    }
}

async fn send(ws: &mut Ws, shared: &Shared, own_prefix: &str, stats: &mut ConnStats) -> Result<()> {
    let text = format!(
        "{:020} {}",
        shared.now_us(),
        shared.padding.of(shared.sent_total.load(Ordering::Relaxed))
    );
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

/// Edits this connection's newest acknowledged message: new text stamped
/// with the time it left, the same size as a message.
async fn edit(
    ws: &mut Ws,
    shared: &Shared,
    own_prefix: &str,
    stats: &mut ConnStats,
    pending: &mut Pending,
) -> Result<()> {
    let Some(id) = pending.newest_own.clone() else {
        stats.edits_skipped += 1;
        return Ok(());
    };
    let now = shared.now_us();
    let text = format!("{now:020} {}", shared.padding.of(stats.edits_sent));
    let frame = serde_json::json!({
        "type": "message.edit",
        "id": id,
        "text": text,
        "clientId": format!("{own_prefix}e{}", stats.edits_sent),
    });
    ws.send(Message::Text(frame.to_string().into())).await?;
    stats.edits_sent += 1;
    pending.edits.push((id, now));
    shared.edits_sent_total.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// The send time stamped at the start of a load message's text.
fn stamp(text: Option<&str>) -> Option<u64> {
    text.and_then(|t| t.get(..20))
        .and_then(|t| t.parse::<u64>().ok())
}

/// Keeps a message's state as a client would: over a lower rev only.
fn hold(stats: &mut ConnStats, shared: &Shared, seq: i64, rev: i64, text: &str) {
    let Ok(at) = usize::try_from(seq - shared.start_heads[stats.channel] - 1) else {
        return;
    };
    if at >= stats.held.len() {
        stats.held.resize(at + 1, HeldMessage::NONE);
    }
    if rev > stats.held[at].rev {
        stats.held[at] = HeldMessage {
            rev,
            text: text_hash(text),
        };
    }
}

fn on_frame(
    f: Frame<'_>,
    shared: &Shared,
    own_prefix: &str,
    stats: &mut ConnStats,
    pending: &mut Pending,
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
            // A message caught up from storage after an edit carries the
            // edit's stamp, not its send time.
            let edited = f.rev.unwrap_or(0) > 0;
            if let Some(sent_at) = stamp(f.text.as_deref()).filter(|_| !edited) {
                stats.latencies_us.push(now.saturating_sub(sent_at));
            }
            if shared.edits {
                hold(
                    stats,
                    shared,
                    seq,
                    f.rev.unwrap_or(0),
                    f.text.as_deref().unwrap_or(""),
                );
            }
            if own {
                stats.acked += 1;
                pending.sends = pending.sends.saturating_sub(1);
                if shared.edits {
                    pending.newest_own = f.id.as_deref().map(str::to_string);
                }
                shared.acked[stats.channel].fetch_add(1, Ordering::SeqCst);
                shared.acked_total.fetch_add(1, Ordering::Relaxed);
            }
        }
        "message.updated" => {
            let (Some(seq), Some(rev)) = (f.seq, f.rev) else {
                return;
            };
            stats.revs.record(rev);
            let now = shared.now_us();
            let stamped = stamp(f.text.as_deref());
            if let Some(sent_at) = stamped {
                stats.edit_latencies_us.push(now.saturating_sub(sent_at));
            }
            if shared.edits {
                hold(stats, shared, seq, rev, f.text.as_deref().unwrap_or(""));
            }
            if own {
                // This update answers every edit of the message sent no
                // later than its text (a catch-up may bring one state for
                // two edits).
                let id = f.id.as_deref().unwrap_or("");
                let upto = stamped.unwrap_or(0);
                let before = pending.edits.len();
                pending.edits.retain(|(m, sent)| {
                    let answered = m == id && *sent <= upto;
                    if answered {
                        stats.edit_ack_us.push(now.saturating_sub(*sent));
                    }
                    !answered
                });
                let answered = (before - pending.edits.len()) as u64;
                if answered > 0 {
                    shared.edits_acked[stats.channel].fetch_add(answered as i64, Ordering::SeqCst);
                    shared
                        .edits_answered_total
                        .fetch_add(answered, Ordering::Relaxed);
                }
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
            let edit_prefix = format!("{own_prefix}e");
            if f.client_id
                .as_deref()
                .is_some_and(|c| c.starts_with(&edit_prefix))
            {
                // A refused edit takes no rev; the oldest pending one.
                if !pending.edits.is_empty() {
                    pending.edits.remove(0);
                    shared.edits_answered_total.fetch_add(1, Ordering::Relaxed);
                }
            } else if own {
                pending.sends = pending.sends.saturating_sub(1);
            }
        }
        _ => {}
    }
}
