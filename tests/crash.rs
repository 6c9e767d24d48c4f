//! The server killed with SIGKILL at random moments while clients send and
//! receive, and started again on the same SQLite file, several times.
//! Clients behave as a careful client does: on a lost connection they
//! reconnect with `?afterSeq=` the last seq they hold (the server sends what
//! they missed, in order, before anything live), send again every message
//! whose `message.new` they did not see, with its original clientId, and
//! finish with a `resume` frame. Afterwards:
//! - each channel's stored seqs are 1..n with no gap;
//! - every message whose echo reached its sender is stored exactly once,
//!   and nothing is stored that no client sent;
//! - every client holds exactly the stored sequence of its channel, in
//!   order, with no message missing or repeated (a retried send is
//!   answered with its original `message.new`, which is recognised as that
//!   answer, not counted as a delivery).
//!
//! Randomised; the seed is printed and `CHAT_CRASH_SEED` replays it.
//! `CHAT_CRASH_KILLS` sets the number of kills (default 5).

#[path = "api/helpers.rs"]
mod helpers;
#[path = "support/server_process.rs"]
mod server_process;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Row};
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;
use crate::server_process::{free_port, ws_request_to, ServerProcess};

/// Sends a client keeps in flight (sent, echo not seen yet).
const IN_FLIGHT: usize = 4;
/// Pause between a client's sends.
const SEND_EVERY: Duration = Duration::from_millis(25);
/// The most the whole run may take; it normally takes a fraction.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// What one client saw and did.
#[derive(Default, Debug)]
struct Ledger {
    /// `(seq, clientId)` of every `message.new` received, in order.
    received: Vec<(i64, String)>,
    /// clientIds whose own `message.new` came back.
    acknowledged: HashSet<String>,
    /// Sends without an echo yet, in the order they were first sent.
    unacknowledged: Vec<String>,
    /// Protocol violations seen (a gap, a repeat, an error frame).
    faults: Vec<String>,
    /// Connections opened.
    connections: usize,
}

/// One client: `user` in `channel`, sending until `stop_sending`, then until
/// every send is acknowledged; once every client is there (`still_sending`
/// at zero), a last `resume` to the head.
async fn client(
    port: u16,
    token: String,
    user: String,
    channel: String,
    name: String,
    stop_sending: Arc<AtomicBool>,
    still_sending: Arc<AtomicUsize>,
) -> Ledger {
    let mut ledger = Ledger::default();
    let mut done_sending = false;
    let mut counter = 0u64;
    let deadline = Instant::now() + RUN_LIMIT;
    'connect: loop {
        assert!(Instant::now() < deadline, "{name}: run limit reached");
        // Reconnect from the last seq held: the server sends what was
        // missed, in order, before anything live.
        let last = ledger.received.last().map_or(0, |(s, _)| *s);
        let req = ws_request_to(port, &token, &channel, Some(last));
        // Refused or cut while the server is down: try again shortly.
        let Ok(Ok((stream, _))) = timeout(WAIT, tokio_tungstenite::connect_async(req)).await else {
            sleep(Duration::from_millis(50)).await;
            continue;
        };
        let mut ws = WsClient {
            stream,
            label: name.clone(),
        };
        ledger.connections += 1;
        // Everything not acknowledged goes again, with its clientId.
        for cid in ledger.unacknowledged.clone() {
            let frame = send_frame(&format!("{name} {cid}"), &cid).to_string();
            if ws.stream.send(Message::text(frame)).await.is_err() {
                continue 'connect;
            }
        }
        let mut tick = tokio::time::interval(SEND_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let stopping = stop_sending.load(Ordering::Relaxed);
                    if !stopping && ledger.unacknowledged.len() < IN_FLIGHT {
                        counter += 1;
                        let cid = format!("{name}-{counter}");
                        ledger.unacknowledged.push(cid.clone());
                        let frame = send_frame(&format!("{name} {cid}"), &cid).to_string();
                        if ws.stream.send(Message::text(frame)).await.is_err() {
                            continue 'connect;
                        }
                    }
                    if stopping && ledger.unacknowledged.is_empty() && !done_sending {
                        done_sending = true;
                        still_sending.fetch_sub(1, Ordering::SeqCst);
                    }
                    if done_sending && still_sending.load(Ordering::SeqCst) == 0 {
                        // Everyone's sends are stored: catch up to the head
                        // one last time, then stop.
                        let frame = json!({"type": "resume", "afterSeq": ledger.received.last().map_or(0, |(s, _)| *s)});
                        if ws.stream.send(Message::text(frame.to_string())).await.is_err() {
                            continue 'connect;
                        }
                        match finish(&mut ws, &mut ledger, &user).await {
                            Some(()) => return ledger,
                            None => continue 'connect,
                        }
                    }
                }
                frame = ws.stream.next() => {
                    let Some(Ok(frame)) = frame else { continue 'connect };
                    let Message::Text(text) = frame else { continue };
                    let v: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
                    if std::env::var_os("CHAT_CRASH_TRACE").is_some() && v["type"] != "presence.update" && v["type"] != "typing" {
                        eprintln!("{name} conn {}: {}", ledger.connections, v.to_string().chars().take(160).collect::<String>());
                    }
                    take(&mut ledger, &v, &user);
                }
            }
        }
    }
}

/// Reads until `resume.done`; `None` if the connection is lost first.
async fn finish(ws: &mut WsClient, ledger: &mut Ledger, user: &str) -> Option<()> {
    loop {
        let frame = timeout(WAIT, ws.stream.next()).await.ok()??.ok()?;
        let Message::Text(text) = frame else { continue };
        let v: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
        if v["type"] == "resume.done" {
            return Some(());
        }
        take(ledger, &v, user);
    }
}

/// Records one server frame.
fn take(ledger: &mut Ledger, v: &Value, user: &str) {
    match v["type"].as_str() {
        Some("message.new") => {
            let seq = seq(v);
            let cid = v["clientId"].as_str().unwrap_or_default().to_string();
            let last = ledger.received.last().map_or(0, |(s, _)| *s);
            let own = v["userId"] == user;
            if own && seq <= last {
                // The answer to a retry of a send whose message.new came
                // before it (the idempotency rule): the same message, no
                // new delivery.
                let index = ledger.received.binary_search_by_key(&seq, |(s, _)| *s);
                if !index.is_ok_and(|i| ledger.received[i].1 == cid) {
                    ledger
                        .faults
                        .push(format!("{cid} answered with seq {seq}, stored elsewhere"));
                }
                ledger.unacknowledged.retain(|c| *c != cid);
                return;
            }
            if seq != last + 1 {
                ledger.faults.push(format!(
                    "seq {seq} after {last} (clientId {cid}) on connection {}",
                    ledger.connections
                ));
                if seq <= last {
                    return;
                }
            }
            ledger.received.push((seq, cid.clone()));
            if own {
                ledger.unacknowledged.retain(|c| *c != cid);
                if !ledger.acknowledged.insert(cid.clone()) {
                    ledger.faults.push(format!("{cid} stored twice"));
                }
            }
        }
        // A send that failed to store is sent again on the next connection
        // (it stays unacknowledged); nothing else is expected.
        Some("error") if v["code"] == "PERSIST_FAILED" => {}
        Some("error") => ledger.faults.push(format!("error frame {v}")),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_and_repeats_nothing() {
    let seed = std::env::var("CHAT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let kills: usize = std::env::var("CHAT_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    eprintln!("crash test: seed {seed} (CHAT_CRASH_SEED={seed} replays it), {kills} kills");
    let mut rng = Rng::with_seed(seed);

    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let env = [
        ("CHAT_RATE_BURST", "10000"),
        ("CHAT_RATE_PER_SECOND", "10000"),
    ];
    let mut server = ServerProcess::start(port, data.path(), None, &env).await;

    let mut clients = Vec::new();
    let stop_sending = Arc::new(AtomicBool::new(false));
    let still_sending = Arc::new(AtomicUsize::new(6));
    for email in [ALICE, BOB, CAROL] {
        let (token, user) = server.login(email).await;
        for channel_name in ["General", "Random"] {
            let channel = server.channel_id(&token, channel_name).await;
            let name = format!("{}@{channel_name}", &email[..email.find('@').unwrap()]);
            clients.push((
                channel.clone(),
                name.clone(),
                tokio::spawn(client(
                    port,
                    token.clone(),
                    user.clone(),
                    channel,
                    name,
                    stop_sending.clone(),
                    still_sending.clone(),
                )),
            ));
        }
    }

    for _ in 0..kills {
        sleep(Duration::from_millis(rng.u64(300..1500))).await;
        server.kill();
        sleep(Duration::from_millis(rng.u64(0..400))).await;
        server.restart().await.expect("restart the server");
    }
    sleep(Duration::from_millis(rng.u64(300..800))).await;
    stop_sending.store(true, Ordering::Relaxed);

    let mut ledgers: Vec<(String, String, Ledger)> = Vec::new();
    for (channel, name, handle) in clients {
        let ledger = timeout(RUN_LIMIT, handle)
            .await
            .unwrap_or_else(|_| panic!("{name} did not finish"))
            .unwrap_or_else(|e| panic!("{name} failed: {e}"));
        ledgers.push((channel, name, ledger));
    }
    server.terminate();

    // What is stored, per channel: (seq, clientId) in seq order.
    let mut db = SqliteConnectOptions::new()
        .filename(data.path().join("chat.db"))
        .connect()
        .await
        .expect("open chat.db");
    let rows =
        sqlx::query("SELECT channel_id, seq, client_id FROM messages ORDER BY channel_id, seq")
            .fetch_all(&mut db)
            .await
            .unwrap();
    let mut stored: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for row in rows {
        let channel: Vec<u8> = row.get(0);
        let channel = uuid::Uuid::from_slice(&channel).unwrap().to_string();
        stored
            .entry(channel)
            .or_default()
            .push((row.get(1), row.get(2)));
    }

    let mut acknowledged_per_channel: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    let mut total_acknowledged = 0;
    for (channel, name, ledger) in &ledgers {
        assert!(ledger.faults.is_empty(), "{name}: {:?}", ledger.faults);
        assert!(
            ledger.unacknowledged.is_empty(),
            "{name}: never acknowledged: {:?}",
            ledger.unacknowledged
        );
        assert!(
            ledger.connections > kills / 2,
            "{name} connected {} times: the kills did not reach it",
            ledger.connections
        );
        let in_db = stored.get(channel).cloned().unwrap_or_default();
        assert_eq!(
            ledger.received, in_db,
            "{name}: what the client holds differs from what is stored"
        );
        total_acknowledged += ledger.acknowledged.len();
        acknowledged_per_channel
            .entry(channel.clone())
            .or_default()
            .extend(ledger.acknowledged.iter().cloned());
    }
    for (channel, messages) in &stored {
        let seqs: Vec<i64> = messages.iter().map(|(s, _)| *s).collect();
        let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
        assert_eq!(seqs, expected, "channel {channel}: stored seqs have a gap");
        let ids: HashSet<&String> = messages.iter().map(|(_, c)| c).collect();
        assert_eq!(
            ids.len(),
            messages.len(),
            "channel {channel}: a clientId is stored twice"
        );
        let acknowledged = acknowledged_per_channel
            .get(channel)
            .cloned()
            .unwrap_or_default();
        let ids: HashSet<String> = ids.into_iter().cloned().collect();
        assert_eq!(
            ids, acknowledged,
            "channel {channel}: stored messages differ from the acknowledged sends"
        );
    }
    let connections: usize = ledgers.iter().map(|(_, _, l)| l.connections).sum();
    eprintln!(
        "crash test: {kills} kills, {total_acknowledged} messages acknowledged and stored once, \
         {connections} connections, every client holds its channel's stored sequence"
    );
}
