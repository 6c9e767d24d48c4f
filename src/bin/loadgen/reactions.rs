//! The reaction storm (issue 17): every client of one room reacts to the
//! same message at once (`reaction.add`), some take theirs back
//! (`reaction.remove`), and every client must end with the stored state.
//!
//! Each change takes one rev of the channel and reaches every connection
//! as one `message.updated` carrying the message's whole state, so a storm
//! of N reactions in a room of N members is N² frames, each growing with
//! the listed reactors: this is the heaviest use of the change path.
//!
//! The emoji are spread so that no emoji has more than
//! [`Reaction::LISTED`] reactors: a message lists only the first 50
//! reactors of each emoji, and a reactor beyond them could not see its own
//! reaction in an update (nor could its final state be compared user by
//! user). With the full 1,000 clients that takes all 20 distinct emoji a
//! message may carry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use chat::protocol::dto::Reaction;
use chat::protocol::emoji::EMOJI;

use crate::checks::{median, Percentiles, RevLog};
use crate::conn::Ws;
use crate::load;
use crate::report::{Row, Unit};
use crate::scenarios::{change_env, latency_rows, Ctx, CONNECT_CONCURRENCY};
use crate::seed;
use crate::server::{Backend, Server};
use crate::Result;

/// How long the reactions may take to be confirmed to their reactors.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(120);
/// How long clients may take to reach the final rev once it is known.
const FINAL_TIMEOUT: Duration = Duration::from_secs(60);

/// What every reactor shares.
struct Storm {
    /// The message everyone reacts to.
    message_id: String,
    /// Reactions confirmed to their reactor (added, and removed).
    confirmed: AtomicU64,
    /// Reactions given up on (an error frame answered them).
    refused: AtomicU64,
    /// Error frames, all connections.
    errors: AtomicU64,
    /// Ends every loop (the watchdog).
    stop: CancellationToken,
}

/// One client's part: its user, its emoji, whether it takes it back.
struct Reactor {
    user: String,
    emoji: &'static str,
    removes: bool,
}

/// What one client saw.
#[derive(Default)]
struct Seen {
    /// Revs of its `message.updated` frames.
    revs: RevLog,
    /// `reaction.add` to the first update listing it, µs.
    add_us: Option<u64>,
    /// `reaction.remove` to the first update without it, µs.
    remove_us: Option<u64>,
    /// When it received the update of the final rev, µs since go.
    final_at_us: Option<u64>,
    /// The update of its highest rev (the state it holds).
    last: Option<Utf8Bytes>,
    /// The server closed the socket.
    ended_by_server: bool,
    /// Bytes of the update frames received (their JSON text).
    bytes: u64,
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default)]
    rev: Option<i64>,
}

/// Whether `user` is listed among the reactions of an update frame (each
/// reactor uses one emoji, so listed means its reaction is in; the search
/// starts at `reactions` so the author's `userId` never counts).
fn lists(frame: &str, user: &str) -> bool {
    frame
        .find("\"reactions\"")
        .is_some_and(|at| frame[at..].contains(user))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Adding(u64),
    Removing(u64),
    Done,
}

async fn react(ws: &mut Ws, storm: &Storm, kind: &str, emoji: &str) -> bool {
    let frame = serde_json::json!({
        "type": kind,
        "id": storm.message_id,
        "emoji": emoji,
    });
    ws.send(WsMessage::Text(frame.to_string().into()))
        .await
        .is_ok()
}

/// One client: waits for `go` (the instant its clock starts at), adds its
/// reaction, takes it back once seen (a remover), and reads until it holds
/// `final_rev`.
async fn run(
    mut ws: Ws,
    me: Reactor,
    storm: Arc<Storm>,
    mut go: watch::Receiver<Option<Instant>>,
    mut final_rev: watch::Receiver<Option<i64>>,
) -> Seen {
    let mut seen = Seen::default();
    let clock = match go.wait_for(|g| g.is_some()).await {
        Ok(at) => at.unwrap_or_else(Instant::now),
        Err(_) => return seen,
    };
    let now_us = || clock.elapsed().as_micros() as u64;
    let mut step = Step::Adding(now_us());
    if !react(&mut ws, &storm, "reaction.add", me.emoji).await {
        seen.ended_by_server = true;
        return seen;
    }
    let mut target: Option<i64> = None;
    let mut last_at = 0u64;
    loop {
        if step == Step::Done {
            if let Some(t) = target {
                if seen.revs.last >= t {
                    if seen.revs.last == t {
                        seen.final_at_us = Some(last_at);
                    }
                    break;
                }
            }
        }
        tokio::select! {
            biased;
            _ = storm.stop.cancelled() => break,
            changed = final_rev.changed(), if target.is_none() => {
                if changed.is_err() {
                    break;
                }
                target = *final_rev.borrow();
            }
            frame = ws.next() => match frame {
                Some(Ok(WsMessage::Text(text))) => {
                    let Ok(head) = serde_json::from_str::<Head>(&text) else { continue };
                    let (update, error, rev) = (
                        head.kind == "message.updated",
                        head.kind == "error",
                        head.rev,
                    );
                    if update {
                        if let Some(rev) = rev {
                            let now = now_us();
                            let newer = rev > seen.revs.last;
                            seen.revs.record(rev);
                            seen.bytes += text.len() as u64;
                            match step {
                                Step::Adding(sent) if lists(&text, &me.user) => {
                                    seen.add_us = Some(now.saturating_sub(sent));
                                    storm.confirmed.fetch_add(1, Ordering::Relaxed);
                                    step = if me.removes {
                                        if !react(&mut ws, &storm, "reaction.remove", me.emoji).await {
                                            seen.ended_by_server = true;
                                            break;
                                        }
                                        Step::Removing(now_us())
                                    } else {
                                        Step::Done
                                    };
                                }
                                Step::Removing(sent) if !lists(&text, &me.user) => {
                                    seen.remove_us = Some(now.saturating_sub(sent));
                                    storm.confirmed.fetch_add(1, Ordering::Relaxed);
                                    step = Step::Done;
                                }
                                _ => {}
                            }
                            if newer {
                                last_at = now;
                                seen.last = Some(text);
                            }
                        }
                    } else if error {
                        if storm.errors.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("loadgen: first error frame: {text}");
                        }
                        if step != Step::Done {
                            storm.refused.fetch_add(1, Ordering::Relaxed);
                            step = Step::Done;
                        }
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => {
                    seen.ended_by_server = true;
                    break;
                }
                Some(Ok(_)) => {}
            },
        }
    }
    seen
}

/// A message's reactions as (emoji, count, listed users), from a frame
/// (`userIds`) or from the history route (`user_ids`).
fn reactions_of(message: &serde_json::Value) -> Vec<(String, i64, Vec<String>)> {
    message["reactions"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|r| {
                    let users = r
                        .get("userIds")
                        .or_else(|| r.get("user_ids"))
                        .and_then(|u| u.as_array())
                        .map(|u| {
                            u.iter()
                                .filter_map(|v| v.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    (
                        r["emoji"].as_str().unwrap_or("").to_string(),
                        r["count"].as_i64().unwrap_or(-1),
                        users,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The message as stored (`GET .../messages`, the newest page).
async fn stored(server: &Server, channel: uuid::Uuid, token: &str) -> Result<serde_json::Value> {
    let page: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/chat/channels/{channel}/messages?limit=1",
            server.base_url()
        ))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(page["messages"][0].clone())
}

/// Sends the message everyone reacts to from `ws` and returns its id.
async fn post_message(ws: &mut Ws) -> Result<String> {
    let frame = serde_json::json!({
        "type": "message.send",
        "text": "react to this",
        "clientId": "reaction-storm",
    });
    ws.send(WsMessage::Text(frame.to_string().into())).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Ok(Some(frame)) = tokio::time::timeout_at(deadline.into(), ws.next()).await {
        if let WsMessage::Text(text) = frame? {
            let v: serde_json::Value = serde_json::from_str(&text)?;
            if v["type"] == "message.new" && v["clientId"] == "reaction-storm" {
                return Ok(v["id"]
                    .as_str()
                    .ok_or("message.new without id")?
                    .to_string());
            }
        }
    }
    Err("the message to react to was not acknowledged".into())
}

/// 1,000 clients in one room react to one message at once; every fifth
/// reactor of each emoji takes its reaction back once it sees it. Runs on
/// each backend (the change SQL differs between them).
pub async fn reactions(ctx: &Ctx, backend: &Backend) -> Result<Vec<Row>> {
    let name = format!("reaction storm ({})", backend.name());
    let name = name.as_str();
    let (clients, emoji_count) = ctx.size((1000usize, 20usize), (50, 5));
    let emoji: Vec<&'static str> = EMOJI.iter().take(emoji_count).map(|e| e.emoji).collect();
    assert!(
        clients.div_ceil(emoji_count) <= Reaction::LISTED,
        "every reactor must be listed"
    );
    let server = ctx.server(backend, &change_env()).await?;
    let population = seed::populate(&server, 1, clients).await?;
    let (mut sockets, connect) =
        load::open_peers(&server, &population, CONNECT_CONCURRENCY, None).await;
    if connect.failed > 0 {
        server.stop().await;
        return Err(format!("{} of the connects failed", connect.failed).into());
    }
    sockets.sort_by_key(|(idx, _)| *idx);
    let message_id = post_message(&mut sockets[0].1).await?;
    // Let the connects' presence batches go out before the storm.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let storm = Arc::new(Storm {
        message_id,
        confirmed: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        stop: CancellationToken::new(),
    });
    let (go_tx, go_rx) = watch::channel(None);
    let (final_tx, final_rx) = watch::channel(None);
    let mut removes = 0usize;
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|(idx, ws)| {
            let me = Reactor {
                user: population.peers[idx].user.to_string(),
                emoji: emoji[idx % emoji_count],
                // The 5th, 10th, ... reactor of each emoji.
                removes: (idx / emoji_count) % 5 == 4,
            };
            removes += usize::from(me.removes);
            tokio::spawn(run(ws, me, storm.clone(), go_rx.clone(), final_rx.clone()))
        })
        .collect();
    let expected = (clients + removes) as u64;

    // The storm: every client at once.
    let (rss_before, cpu_before) = (server.rss_bytes(), server.cpu_seconds());
    let mut rss_peak = rss_before;
    let started = Instant::now();
    let _ = go_tx.send(Some(started));
    while storm.confirmed.load(Ordering::Relaxed) + storm.refused.load(Ordering::Relaxed) < expected
    {
        if started.elapsed() > CONFIRM_TIMEOUT {
            eprintln!("loadgen: reactions unconfirmed after {CONFIRM_TIMEOUT:?}");
            break;
        }
        rss_peak = rss_peak.max(server.rss_bytes());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let confirmed_in = started.elapsed();
    let stored_message =
        stored(&server, population.channels[0], &population.peers[0].token).await?;
    let stored_rev = stored_message["rev"].as_i64().unwrap_or(-1);
    let _ = final_tx.send(Some(stored_rev));
    let watchdog = {
        let stop = storm.stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(FINAL_TIMEOUT).await;
            eprintln!("loadgen: clients still short of the final rev after {FINAL_TIMEOUT:?}");
            stop.cancel();
        })
    };
    let mut seen: Vec<Seen> = Vec::with_capacity(clients);
    for t in tasks {
        if let Ok(s) = t.await {
            seen.push(s);
        }
        rss_peak = rss_peak.max(server.rss_bytes());
    }
    watchdog.abort();
    let cpu = server.cpu_seconds() - cpu_before;
    let wall = started.elapsed();
    let rss_after = server.rss_bytes();
    server.stop().await;

    // What was stored against what was done: each emoji's reactors less
    // its removers, listed in the order they reacted (compared as sets:
    // the storm's order is the server's).
    let stored_reactions = reactions_of(&stored_message);
    let mut stored_wrong = 0u64;
    for (e, emoji) in emoji.iter().enumerate() {
        let mut want: Vec<String> = (0..clients)
            .filter(|i| i % emoji_count == e && (i / emoji_count) % 5 != 4)
            .map(|i| population.peers[i].user.to_string())
            .collect();
        want.sort();
        let got = stored_reactions.iter().find(|(s, _, _)| s == emoji);
        let ok = match got {
            None => want.is_empty(),
            Some((_, count, users)) => {
                let mut users = users.clone();
                users.sort();
                *count == want.len() as i64 && users == want
            }
        };
        stored_wrong += u64::from(!ok);
    }

    let mut add_us: Vec<u64> = seen.iter().filter_map(|s| s.add_us).collect();
    let mut remove_us: Vec<u64> = seen.iter().filter_map(|s| s.remove_us).collect();
    let mut final_us: Vec<u64> = seen.iter().filter_map(|s| s.final_at_us).collect();
    let mut frames: Vec<f64> = seen.iter().map(|s| s.revs.frames as f64).collect();
    let min_frames = frames.iter().copied().fold(f64::INFINITY, f64::min);
    let max_frames = frames.iter().copied().fold(0.0, f64::max);
    let median_frames = median(&mut frames);
    let final_state = Percentiles::of(&mut final_us);
    let differs = seen
        .iter()
        .filter(|s| {
            s.last.as_ref().is_none_or(|t| {
                serde_json::from_str::<serde_json::Value>(t)
                    .map_or(true, |v| reactions_of(&v) != stored_reactions)
            })
        })
        .count() as u64;
    let unconfirmed = expected.saturating_sub(
        seen.iter()
            .map(|s| u64::from(s.add_us.is_some()) + u64::from(s.remove_us.is_some()))
            .sum::<u64>(),
    );

    let mut rows = vec![
        Row::info(name, "clients reacting", clients as f64, Unit::Count),
        Row::info(name, "distinct emoji", emoji_count as f64, Unit::Count),
        Row::info(name, "reactions removed again", removes as f64, Unit::Count),
        Row::info(
            name,
            "changes stored (revs)",
            stored_rev as f64,
            Unit::Count,
        ),
        Row::info(
            name,
            "every change confirmed to its reactor after",
            confirmed_in.as_micros() as f64,
            Unit::Millis,
        ),
        Row::info(
            name,
            "final state, median client",
            final_state.p50 as f64,
            Unit::Millis,
        ),
        Row::info(
            name,
            "final state, last client",
            final_state.max as f64,
            Unit::Millis,
        ),
    ];
    rows.extend(latency_rows(
        name,
        "reaction.add→own update",
        &Percentiles::of(&mut add_us),
        None,
    ));
    let removal = Percentiles::of(&mut remove_us);
    rows.extend([
        Row::info(
            name,
            "reaction.remove→own update p50",
            removal.p50 as f64,
            Unit::Millis,
        ),
        Row::info(
            name,
            "reaction.remove→own update p99",
            removal.p99 as f64,
            Unit::Millis,
        ),
        Row::info(name, "updates per client, min", min_frames, Unit::Count),
        Row::info(
            name,
            "updates per client, median",
            median_frames,
            Unit::Count,
        ),
        Row::info(name, "updates per client, max", max_frames, Unit::Count),
        Row::info(
            name,
            "update bytes received, all clients",
            seen.iter().map(|s| s.bytes).sum::<u64>() as f64,
            Unit::MiB,
        ),
        Row::info(
            name,
            "server CPU during the storm (cores)",
            cpu / wall.as_secs_f64().max(1e-9),
            Unit::Cores,
        ),
        Row::info(
            name,
            "server RSS before the storm",
            rss_before as f64,
            Unit::MiB,
        ),
        Row::info(
            name,
            "server RSS peak in the storm",
            rss_peak as f64,
            Unit::MiB,
        ),
        Row::info(
            name,
            "server RSS after the storm",
            rss_after as f64,
            Unit::MiB,
        ),
        Row::zero(
            name,
            "reactions not confirmed to their reactor",
            unconfirmed,
        ),
        Row::zero(name, "error frames", storm.errors.load(Ordering::Relaxed)),
        Row::zero(
            name,
            "stored revs other than the changes made",
            (stored_rev - expected as i64).unsigned_abs(),
        ),
        Row::zero(
            name,
            "stored emoji other than the reactions made",
            stored_wrong,
        ),
        Row::zero(
            name,
            "update revs repeated",
            seen.iter().map(|s| s.revs.repeated).sum(),
        ),
        Row::zero(
            name,
            "update revs out of order",
            seen.iter().map(|s| s.revs.reordered).sum(),
        ),
        Row::zero(
            name,
            "clients that never held the final rev",
            (clients - final_us.len()) as u64,
        ),
        Row::zero(
            name,
            "clients whose final reactions differ from storage",
            differs,
        ),
        Row::zero(
            name,
            "connections closed by the server",
            seen.iter().filter(|s| s.ended_by_server).count() as u64
                + (clients - seen.len()) as u64,
        ),
    ]);
    Ok(rows)
}
