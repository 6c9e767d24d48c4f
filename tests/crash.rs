//! The server killed with SIGKILL at random moments while clients send,
//! change messages and receive, and started again on the same SQLite file,
//! several times. Clients behave as a careful client does:
//! - each keeps a copy of its channel, every message by seq in the newest
//!   state it was sent (`message.new`, then `message.updated` only when its
//!   rev is newer), and the highest rev it holds every change up to;
//! - besides sending, it edits, deletes, pins and unpins its own messages
//!   and adds and removes its user's reactions on any message, through the
//!   WebSocket frames, a few changes in flight, one per message (so each
//!   thing a client changes is changed by that client alone);
//! - on a lost connection it reconnects with `?afterSeq=` the last seq and
//!   `&afterRev=` the highest rev it holds (the server sends the missed
//!   messages, then the missed changes, before anything live), sends again
//!   every message whose `message.new` it did not see, with its original
//!   clientId, and every change whose result its copy does not show (a
//!   retried change is harmless; an edit carries `ifRev`, and a `CONFLICT`
//!   means: look at the copy, and send it again with the copy's rev if the
//!   text is not there); it finishes with a `resume` frame carrying both.
//!
//! Afterwards:
//! - each channel's stored seqs are 1..n with no gap;
//! - every message whose echo reached its sender is stored exactly once,
//!   and nothing is stored that no client sent;
//! - every client holds exactly the stored sequence of its channel, in
//!   order, with no message missing or repeated (a retried send is
//!   answered with its original `message.new`, which is recognised as that
//!   answer, not counted as a delivery), and updates came in rev order for
//!   messages it held;
//! - every acknowledged change (its result seen) is stored once: each
//!   message's stored text is its last acknowledged edit and its edit
//!   history holds each earlier text once, in order; deletes, pins and
//!   reactions are stored as last acknowledged (the reactions table holds
//!   exactly those, no row twice);
//! - revs are gap-free per channel: the changed messages' revs are distinct
//!   and the newest is the channel's `last_rev`, which is the number of
//!   acknowledged changes (plus, at most, reactions made moot by a delete);
//! - every client's copy equals, message for message, the full state the
//!   history route serves (text, deleted, reactions, pin, quote, rev).
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
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;
use crate::server_process::{crash_seed, free_port, ServerProcess};

/// Sends a client keeps in flight (sent, echo not seen yet).
const IN_FLIGHT: usize = 4;
/// Changes a client keeps in flight (sent, result not seen yet), each on
/// another message.
const CHANGES_IN_FLIGHT: usize = 2;
/// Pause between a client's sends (and changes).
const SEND_EVERY: Duration = Duration::from_millis(25);
/// The most the whole run may take; it normally takes a fraction.
const RUN_LIMIT: Duration = Duration::from_secs(120);
/// What clients react with.
const EMOJI: [&str; 3] = ["👍", "🎉", "😂"];

/// What a client wants of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Want {
    /// This text (one of its own messages).
    Edit(String),
    /// A tombstone (one of its own messages).
    Delete,
    /// Its user's reaction with this emoji on (true) or off.
    React(String, bool),
    /// Pinned (true) or not (one of its own messages).
    Pin(bool),
}

/// A change sent whose result the client has not seen yet.
#[derive(Debug, Clone)]
struct Pending {
    /// The frame's clientId (an `error` answering it carries it back).
    cid: String,
    /// The message's id and seq.
    id: String,
    seq: i64,
    want: Want,
    /// The message's rev in the client's copy when the change was first
    /// sent: its result shows in the copy at a later rev.
    sent_rev: i64,
    /// Send it again at the next tick (refused with a stale `ifRev`, or
    /// not stored).
    again: bool,
}

/// What a copy of the message says of a pending change.
enum Outcome {
    /// Not there yet.
    Waiting,
    /// Its result is there: the change is acknowledged.
    Seen,
    /// Its message was deleted: a reaction no longer matters.
    Moot,
}

/// What one client saw and did.
#[derive(Default, Debug)]
struct Ledger {
    /// `(seq, clientId)` of every `message.new` received, in order.
    received: Vec<(i64, String)>,
    /// clientIds whose own `message.new` came back.
    acknowledged: HashSet<String>,
    /// Sends without an echo yet, in the order they were first sent.
    unacknowledged: Vec<String>,
    /// Protocol violations seen (a gap, a repeat, an error frame, an
    /// update out of rev order or for a message not held).
    faults: Vec<String>,
    /// Connections opened.
    connections: usize,
    /// The client's copy: each message's newest state, by seq.
    held: BTreeMap<i64, Value>,
    /// The highest rev the copy holds every change up to.
    rev: i64,
    /// The rev of the last `message.updated` on this connection (or the
    /// `afterRev` it started from): updates must come in rising rev order.
    /// `None` once the final `resume` may replay what came live.
    connection_rev: Option<i64>,
    /// Changes sent, result not seen.
    pending: Vec<Pending>,
    /// The clientId of every change sent, and whether it is an edit.
    change_cids: HashMap<String, bool>,
    /// Changes made so far (for clientIds and texts).
    changes_made: u64,
    /// Acknowledged edits of its own messages: id → texts, in order.
    edits: BTreeMap<String, Vec<String>>,
    /// Own messages whose delete was acknowledged.
    deleted: HashSet<String>,
    /// Own messages' last acknowledged pin state.
    pinned: BTreeMap<String, bool>,
    /// Its user's last acknowledged reactions: (message id, emoji) → on.
    reactions: BTreeMap<(String, String), bool>,
    /// Acknowledged changes, by kind (edit, delete, react, pin).
    seen: [usize; 4],
    /// Reactions whose message was deleted before their result was seen
    /// (stored or not, a tombstone shows none).
    moot: usize,
    /// Change frames sent again.
    change_retries: usize,
    /// Edits answered `CONFLICT` (a stale `ifRev`: the copy was behind, or
    /// an earlier attempt had landed).
    edit_conflicts: usize,
}

/// A client's own message: sent in this run by this client.
fn own(m: &Value, name: &str) -> bool {
    m["clientId"]
        .as_str()
        .is_some_and(|c| c.starts_with(&format!("{name}-")))
}

fn rev_of(v: &Value) -> i64 {
    v["rev"]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer rev in {v}"))
}

/// Whether `user` is among the listed reactors of `emoji` on `m`.
fn reacted(m: &Value, emoji: &str, user: &str) -> bool {
    m["reactions"].as_array().into_iter().flatten().any(|r| {
        r["emoji"] == emoji
            && r["userIds"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|u| u == user))
    })
}

/// What `m` (the copy's newest state) says of `p`.
fn outcome(p: &Pending, m: &Value, user: &str) -> Outcome {
    let deleted = m["deleted"] == true;
    if matches!(p.want, Want::React(..)) && deleted {
        return Outcome::Moot;
    }
    if rev_of(m) <= p.sent_rev {
        return Outcome::Waiting;
    }
    let shows = match &p.want {
        Want::Edit(text) => m["text"] == text.as_str() && !deleted,
        Want::Delete => deleted,
        Want::React(emoji, on) => reacted(m, emoji, user) == *on,
        Want::Pin(on) => m["pinned"].is_null() != *on,
    };
    if shows {
        Outcome::Seen
    } else {
        Outcome::Waiting
    }
}

/// The frame of a pending change; an edit's `ifRev` is the copy's rev of
/// the message now.
fn change_frame(p: &Pending, held: &BTreeMap<i64, Value>) -> String {
    let rev = held.get(&p.seq).map_or(0, rev_of);
    let (id, cid) = (&p.id, &p.cid);
    match &p.want {
        Want::Edit(text) => {
            json!({"type": "message.edit", "id": id, "text": text, "ifRev": rev, "clientId": cid})
        }
        Want::Delete => json!({"type": "message.delete", "id": id, "clientId": cid}),
        Want::React(emoji, true) => {
            json!({"type": "reaction.add", "id": id, "emoji": emoji, "clientId": cid})
        }
        Want::React(emoji, false) => {
            json!({"type": "reaction.remove", "id": id, "emoji": emoji, "clientId": cid})
        }
        Want::Pin(true) => json!({"type": "message.pin", "id": id, "clientId": cid}),
        Want::Pin(false) => json!({"type": "message.unpin", "id": id, "clientId": cid}),
    }
    .to_string()
}

/// A new change, on a message of the copy that is not deleted and has no
/// change in flight: a reaction toggled on any message, or an edit, a pin
/// toggled or a delete of an own message.
fn pick_change(ledger: &mut Ledger, rng: &mut Rng, name: &str, user: &str) -> Option<Pending> {
    let busy: HashSet<&str> = ledger.pending.iter().map(|p| p.id.as_str()).collect();
    let live: Vec<&Value> = ledger
        .held
        .values()
        .filter(|m| m["deleted"] != true && !busy.contains(m["id"].as_str().unwrap_or_default()))
        .collect();
    if live.is_empty() {
        return None;
    }
    let mine: Vec<&Value> = live.iter().copied().filter(|m| own(m, name)).collect();
    let roll = rng.u32(0..100);
    let n = ledger.changes_made + 1;
    let (m, want) = if mine.is_empty() || roll < 45 {
        let m = live[rng.usize(..live.len())];
        let emoji = EMOJI[rng.usize(..EMOJI.len())];
        (m, Want::React(emoji.into(), !reacted(m, emoji, user)))
    } else {
        let m = mine[rng.usize(..mine.len())];
        let want = match roll {
            45..=74 => Want::Edit(format!("{name} edit {n}")),
            75..=89 => Want::Pin(m["pinned"].is_null()),
            _ => Want::Delete,
        };
        (m, want)
    };
    let pending = Pending {
        cid: format!("{name}-c{n}"),
        id: m["id"].as_str().unwrap().to_string(),
        seq: seq(m),
        want,
        sent_rev: rev_of(m),
        again: false,
    };
    ledger.changes_made = n;
    let edit = matches!(pending.want, Want::Edit(_));
    ledger.change_cids.insert(pending.cid.clone(), edit);
    Some(pending)
}

/// The upgrade request for `channel` on the server at `port`, starting
/// after `after_seq` and `after_rev`.
fn ws_request_after(
    port: u16,
    token: &str,
    channel: &str,
    after_seq: i64,
    after_rev: i64,
) -> Request {
    let mut req = format!(
        "ws://127.0.0.1:{port}/chat/ws/{channel}?afterSeq={after_seq}&afterRev={after_rev}"
    )
    .into_client_request()
    .unwrap();
    req.headers_mut().insert(
        "Authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    req
}

/// One client: `user` in `channel`, sending and changing until
/// `stop_sending`, then until every send and change is acknowledged; once
/// every client is there (`still_sending` at zero), a last `resume` to the
/// head.
#[allow(clippy::too_many_arguments)]
async fn client(
    port: u16,
    token: String,
    user: String,
    channel: String,
    name: String,
    stop_sending: Arc<AtomicBool>,
    still_sending: Arc<AtomicUsize>,
    mut rng: Rng,
) -> Ledger {
    let mut ledger = Ledger::default();
    let mut done_sending = false;
    let mut counter = 0u64;
    let deadline = Instant::now() + RUN_LIMIT;
    'connect: loop {
        assert!(Instant::now() < deadline, "{name}: run limit reached");
        // Reconnect from the last seq and the rev held: the server sends
        // what was missed, in order, before anything live.
        let last = ledger.received.last().map_or(0, |(s, _)| *s);
        let req = ws_request_after(port, &token, &channel, last, ledger.rev);
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
        ledger.connection_rev = Some(ledger.rev);
        // Everything not acknowledged goes again, with its clientId.
        for cid in ledger.unacknowledged.clone() {
            let frame = send_frame(&format!("{name} {cid}"), &cid).to_string();
            if ws.stream.send(Message::text(frame)).await.is_err() {
                continue 'connect;
            }
        }
        // So does every change whose result the copy does not show.
        for i in 0..ledger.pending.len() {
            ledger.pending[i].again = false;
            let frame = change_frame(&ledger.pending[i], &ledger.held);
            ledger.change_retries += 1;
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
                    let mut frames = Vec::new();
                    for p in ledger.pending.iter_mut().filter(|p| p.again) {
                        p.again = false;
                        frames.push(change_frame(p, &ledger.held));
                    }
                    ledger.change_retries += frames.len();
                    if !stopping && ledger.pending.len() < CHANGES_IN_FLIGHT {
                        if let Some(p) = pick_change(&mut ledger, &mut rng, &name, &user) {
                            frames.push(change_frame(&p, &ledger.held));
                            ledger.pending.push(p);
                        }
                    }
                    for frame in frames {
                        if ws.stream.send(Message::text(frame)).await.is_err() {
                            continue 'connect;
                        }
                    }
                    if stopping && ledger.unacknowledged.is_empty() && ledger.pending.is_empty() && !done_sending {
                        done_sending = true;
                        still_sending.fetch_sub(1, Ordering::SeqCst);
                    }
                    if done_sending && still_sending.load(Ordering::SeqCst) == 0 {
                        // Everyone's sends and changes are stored: catch up
                        // to the head one last time, then stop. Updates the
                        // connection had on their way may come again in the
                        // replay, so their order is no longer checked.
                        let last = ledger.received.last().map_or(0, |(s, _)| *s);
                        let frame = json!({"type": "resume", "afterSeq": last, "afterRev": ledger.rev});
                        ledger.connection_rev = None;
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
        take(ledger, &v, user);
        if v["type"] == "resume.done" {
            return Some(());
        }
    }
}

/// Puts a message's state into the copy (if newer) and settles the
/// changes pending on it.
fn hold(ledger: &mut Ledger, v: &Value, user: &str) {
    let s = seq(v);
    let newer = ledger.held.get(&s).is_none_or(|m| rev_of(v) > rev_of(m));
    if v["type"] == "message.updated" {
        let rev = rev_of(v);
        if let Some(after) = ledger.connection_rev {
            if rev <= after {
                ledger.faults.push(format!(
                    "update at rev {rev} after rev {after} on connection {}",
                    ledger.connections
                ));
            }
            ledger.connection_rev = Some(after.max(rev));
        }
        ledger.rev = ledger.rev.max(rev);
        if !ledger.held.contains_key(&s) {
            ledger.faults.push(format!(
                "update of seq {s} before its message (connection {})",
                ledger.connections
            ));
            return;
        }
    }
    if newer {
        ledger.held.insert(s, v.clone());
    }
    let m = ledger.held[&s].clone();
    let mut i = 0;
    while i < ledger.pending.len() {
        if ledger.pending[i].seq != s {
            i += 1;
            continue;
        }
        match outcome(&ledger.pending[i], &m, user) {
            Outcome::Waiting => i += 1,
            Outcome::Moot => {
                ledger.pending.remove(i);
                ledger.moot += 1;
            }
            Outcome::Seen => {
                let p = ledger.pending.remove(i);
                match p.want {
                    Want::Edit(text) => {
                        ledger.seen[0] += 1;
                        ledger.edits.entry(p.id).or_default().push(text);
                    }
                    Want::Delete => {
                        ledger.seen[1] += 1;
                        ledger.deleted.insert(p.id);
                    }
                    Want::React(emoji, on) => {
                        ledger.seen[2] += 1;
                        ledger.reactions.insert((p.id, emoji), on);
                    }
                    Want::Pin(on) => {
                        ledger.seen[3] += 1;
                        ledger.pinned.insert(p.id, on);
                    }
                }
            }
        }
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
                hold(ledger, v, user);
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
            hold(ledger, v, user);
            if own {
                ledger.unacknowledged.retain(|c| *c != cid);
                if !ledger.acknowledged.insert(cid.clone()) {
                    ledger.faults.push(format!("{cid} stored twice"));
                }
            }
        }
        Some("message.updated") => hold(ledger, v, user),
        Some("resume.done") => {
            let head_rev = v["headRev"].as_i64().expect("headRev");
            ledger.rev = ledger.rev.max(head_rev);
        }
        Some("error") => {
            let code = v["code"].as_str().unwrap_or_default();
            let cid = v["clientId"].as_str().unwrap_or_default();
            let pending = ledger.pending.iter().position(|p| p.cid == cid);
            match (code, pending) {
                // A stale `ifRev` (the copy is behind, or an earlier
                // attempt landed): send again with the copy's rev unless
                // the copy shows the text by then.
                ("CONFLICT", Some(i)) if matches!(ledger.pending[i].want, Want::Edit(_)) => {
                    ledger.pending[i].again = true;
                    ledger.edit_conflicts += 1;
                }
                // A reaction to a message deleted meanwhile.
                ("CONFLICT", Some(i)) if matches!(ledger.pending[i].want, Want::React(..)) => {
                    ledger.pending.remove(i);
                    ledger.moot += 1;
                }
                ("PERSIST_FAILED", Some(i)) => ledger.pending[i].again = true,
                // The answer to an attempt of a change settled since.
                ("CONFLICT" | "PERSIST_FAILED", None) if ledger.change_cids.contains_key(cid) => {
                    let edit = ledger.change_cids[cid];
                    ledger.edit_conflicts += usize::from(edit && code == "CONFLICT");
                }
                // A send that failed to store is sent again on the next
                // connection (it stays unacknowledged).
                ("PERSIST_FAILED", None) => {}
                _ => ledger.faults.push(format!("error frame {v}")),
            }
        }
        _ => {}
    }
}

/// Every message of `channel` in its full state, through the history route.
async fn history_states(server: &ServerProcess, token: &str, channel: &str) -> Vec<Value> {
    let mut states = Vec::new();
    let mut after = 0;
    loop {
        let page = server
            .get_json(
                &format!("/chat/channels/{channel}/messages?after_seq={after}&limit=100"),
                token,
            )
            .await;
        for m in page["messages"].as_array().expect("a history page") {
            after = seq(m);
            states.push(full_state(m));
        }
        if page["hasMore"] != true {
            return states;
        }
    }
}

/// A stored id (16 bytes) as the wire writes it.
fn uuid_text(row: &sqlx::sqlite::SqliteRow, column: usize) -> String {
    let bytes: Vec<u8> = row.get(column);
    uuid::Uuid::from_slice(&bytes).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_and_repeats_nothing() {
    let seed = crash_seed();
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
        ("CHAT_CHANGE_BURST", "10000"),
        ("CHAT_CHANGE_PER_SECOND", "10000"),
        ("CHAT_MAX_PINS_PER_CHANNEL", "10000"),
    ];
    let mut server = ServerProcess::start(port, data.path(), None, &env).await;

    let mut clients = Vec::new();
    let mut tokens = Vec::new();
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
                user.clone(),
                tokio::spawn(client(
                    port,
                    token.clone(),
                    user.clone(),
                    channel,
                    name,
                    stop_sending.clone(),
                    still_sending.clone(),
                    Rng::with_seed(rng.u64(..)),
                )),
            ));
        }
        tokens.push(token);
    }

    for _ in 0..kills {
        sleep(Duration::from_millis(rng.u64(300..1500))).await;
        server.kill();
        sleep(Duration::from_millis(rng.u64(0..400))).await;
        server.restart().await.expect("restart the server");
    }
    sleep(Duration::from_millis(rng.u64(300..800))).await;
    stop_sending.store(true, Ordering::Relaxed);

    let mut ledgers: Vec<(String, String, String, Ledger)> = Vec::new();
    for (channel, name, user, handle) in clients {
        let ledger = timeout(RUN_LIMIT, handle)
            .await
            .unwrap_or_else(|_| panic!("{name} did not finish"))
            .unwrap_or_else(|e| panic!("{name} failed: {e}"));
        ledgers.push((channel, name, user, ledger));
    }
    // What the history route serves, while the server still runs.
    let mut served: HashMap<String, Vec<Value>> = HashMap::new();
    for (channel, _, _, _) in &ledgers {
        if !served.contains_key(channel) {
            let states = history_states(&server, &tokens[0], channel).await;
            served.insert(channel.clone(), states);
        }
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
        let channel = uuid_text(&row, 0);
        stored
            .entry(channel)
            .or_default()
            .push((row.get(1), row.get(2)));
    }

    let mut acknowledged_per_channel: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    let mut total_acknowledged = 0;
    for (channel, name, _, ledger) in &ledgers {
        assert!(ledger.faults.is_empty(), "{name}: {:?}", ledger.faults);
        assert!(
            ledger.unacknowledged.is_empty(),
            "{name}: never acknowledged: {:?}",
            ledger.unacknowledged
        );
        assert!(
            ledger.pending.is_empty(),
            "{name}: changes never seen: {:?}",
            ledger.pending
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
        let copy: Vec<Value> = ledger.held.values().map(full_state).collect();
        assert_eq!(
            copy, served[channel],
            "{name}: the client's copy differs from what the history route serves"
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

    // Every acknowledged change is stored, once.
    struct Stored {
        channel: String,
        client_id: String,
        text: String,
        rev: i64,
        deleted: bool,
        pinned: bool,
    }
    let rows = sqlx::query(
        "SELECT id, channel_id, client_id, text, rev, deleted_at IS NOT NULL, \
         pinned_at IS NOT NULL FROM messages",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let messages: HashMap<String, Stored> = rows
        .iter()
        .map(|r| {
            let row = Stored {
                channel: uuid_text(r, 1),
                client_id: r.get(2),
                text: r.get(3),
                rev: r.get(4),
                deleted: r.get(5),
                pinned: r.get(6),
            };
            (uuid_text(r, 0), row)
        })
        .collect();
    let mut history: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for r in sqlx::query("SELECT message_id, rev, text FROM message_edits ORDER BY message_id, rev")
        .fetch_all(&mut db)
        .await
        .unwrap()
    {
        history
            .entry(uuid_text(&r, 0))
            .or_default()
            .push((r.get(1), r.get(2)));
    }
    let reaction_rows: Vec<(String, String, String)> =
        sqlx::query("SELECT message_id, emoji, user_id FROM reactions")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|r| (uuid_text(r, 0), r.get(1), uuid_text(r, 2)))
            .collect();
    let stored_reactions: HashSet<(String, String, String)> =
        reaction_rows.iter().cloned().collect();
    assert_eq!(
        stored_reactions.len(),
        reaction_rows.len(),
        "a reaction is stored twice"
    );
    let mut wanted_reactions = HashSet::new();
    let mut seen_per_channel: HashMap<String, usize> = HashMap::new();
    let mut moot_per_channel: HashMap<String, usize> = HashMap::new();
    let mut seen = [0; 4];
    for (channel, name, user, ledger) in &ledgers {
        *seen_per_channel.entry(channel.clone()).or_default() += ledger.seen.iter().sum::<usize>();
        *moot_per_channel.entry(channel.clone()).or_default() += ledger.moot;
        for (kind, n) in ledger.seen.iter().enumerate() {
            seen[kind] += n;
        }
        for ((id, emoji), on) in &ledger.reactions {
            if *on && !messages[id].deleted {
                wanted_reactions.insert((id.clone(), emoji.clone(), user.clone()));
            }
        }
        for (id, m) in messages
            .iter()
            .filter(|(_, m)| m.client_id.starts_with(&format!("{name}-")))
        {
            let original = format!("{name} {}", m.client_id);
            let texts = ledger.edits.get(id).cloned().unwrap_or_default();
            assert_eq!(
                &m.text,
                texts.last().unwrap_or(&original),
                "{name}: message {id} does not hold its last acknowledged edit"
            );
            let earlier: Vec<String> = std::iter::once(original)
                .chain(texts.iter().cloned())
                .take(texts.len())
                .collect();
            let kept: Vec<String> = history
                .get(id)
                .map(|h| h.iter().map(|(_, t)| t.clone()).collect())
                .unwrap_or_default();
            assert_eq!(
                kept, earlier,
                "{name}: message {id}'s edit history is not each earlier text once"
            );
            assert_eq!(
                m.deleted,
                ledger.deleted.contains(id),
                "{name}: message {id} deleted or not against the acknowledged deletes"
            );
            assert_eq!(
                m.pinned,
                !m.deleted && ledger.pinned.get(id) == Some(&true),
                "{name}: message {id} pinned or not against the acknowledged pins"
            );
        }
    }
    assert_eq!(
        stored_reactions, wanted_reactions,
        "the stored reactions differ from the acknowledged ones"
    );
    assert!(
        seen.iter().all(|n| *n > 0),
        "some kind of change was never made: {seen:?} (edit, delete, react, pin)"
    );

    // Revs are gap-free per channel.
    let last_revs: HashMap<String, i64> = sqlx::query("SELECT id, last_rev FROM tablos")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .iter()
        .map(|r| (uuid_text(r, 0), r.get(1)))
        .collect();
    for channel in stored.keys() {
        let last_rev = last_revs[channel];
        let mut current: Vec<i64> = messages
            .values()
            .filter(|m| &m.channel == channel && m.rev > 0)
            .map(|m| m.rev)
            .collect();
        current.sort_unstable();
        let distinct: HashSet<i64> = current.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            current.len(),
            "channel {channel}: a rev is on two messages"
        );
        assert_eq!(
            current.last().copied().unwrap_or(0),
            last_rev,
            "channel {channel}: the newest change's rev is not the channel's last_rev"
        );
        let mut edit_revs = HashSet::new();
        for (id, entries) in &history {
            let m = &messages[id];
            if &m.channel != channel {
                continue;
            }
            for (rev, _) in entries {
                assert!(
                    edit_revs.insert(*rev),
                    "channel {channel}: edit rev {rev} twice"
                );
                assert!(
                    *rev <= m.rev,
                    "channel {channel}: an edit after the message's rev"
                );
                assert!(
                    *rev == m.rev || !distinct.contains(rev),
                    "channel {channel}: edit rev {rev} is another message's rev"
                );
            }
        }
        let seen = seen_per_channel.get(channel).copied().unwrap_or(0) as i64;
        let moot = moot_per_channel.get(channel).copied().unwrap_or(0) as i64;
        assert!(
            seen <= last_rev && last_rev <= seen + moot,
            "channel {channel}: {last_rev} revs for {seen} acknowledged changes \
             (and {moot} made moot)"
        );
    }

    let connections: usize = ledgers.iter().map(|(_, _, _, l)| l.connections).sum();
    let retries: usize = ledgers.iter().map(|(_, _, _, l)| l.change_retries).sum();
    let moot: usize = ledgers.iter().map(|(_, _, _, l)| l.moot).sum();
    let conflicts: usize = ledgers.iter().map(|(_, _, _, l)| l.edit_conflicts).sum();
    eprintln!(
        "crash test: {kills} kills, {total_acknowledged} messages acknowledged and stored once, \
         {} changes acknowledged and stored once (edits, deletes, reactions, pins: {seen:?}; \
         {moot} moot, {retries} change frames sent again, {conflicts} edits answered CONFLICT), \
         {connections} connections, every \
         client holds its channel's stored state",
        seen.iter().sum::<usize>()
    );
}
