//! The benchmark scenarios of issue 5, each on a fresh server. Quick mode
//! shrinks every scenario so it runs in seconds; its numbers check
//! correctness, and its speed targets are not claimed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use uuid::Uuid;

use chat::server::store::sqlite::SqliteStore;
use chat::server::store::{ChannelStore, ReadStore, Store, UserRecord};

use crate::checks::Percentiles;
use crate::conn::{self, text_hash, HeldMessage, Role, Shared, Ws};
use crate::load::{self, EditPlan, LoadReport, SendPlan};
use crate::report::{Goal, Row, Unit};
use crate::seed::{self, Population};
use crate::server::{Backend, Prepared, Server};
use crate::Result;

/// Connects in flight while opening a population.
pub(crate) const CONNECT_CONCURRENCY: usize = 256;

/// Settings shared by every scenario.
pub struct Ctx {
    /// The `chat` binary.
    pub bin: PathBuf,
    /// Small sizes (seconds, not minutes); targets are not claimed.
    pub quick: bool,
    /// A Postgres cluster for the scenarios that also run there.
    pub postgres: Option<Backend>,
    /// Extra server settings for every scenario (`--server-env`), after
    /// the scenario's own.
    pub server_env: Vec<(String, String)>,
}

impl Ctx {
    /// `full`, or `quick` in quick mode.
    pub(crate) fn size<T>(&self, full: T, quick: T) -> T {
        if self.quick {
            quick
        } else {
            full
        }
    }

    /// A target, claimed only at full size.
    pub(crate) fn goal(&self, goal: Goal) -> Option<Goal> {
        (!self.quick).then_some(goal)
    }

    /// A fresh server on `backend` with the scenario's `env` (then the
    /// `--server-env` settings).
    pub(crate) async fn server(&self, backend: &Backend, env: &[(&str, String)]) -> Result<Server> {
        self.start(Prepared::new(backend).await?, env).await
    }

    pub(crate) async fn start(&self, prepared: Prepared, env: &[(&str, String)]) -> Result<Server> {
        let mut all: Vec<(&str, String)> = env.to_vec();
        all.extend(self.server_env.iter().map(|(k, v)| (k.as_str(), v.clone())));
        prepared.start(&self.bin, &all).await
    }
}

/// Limits a load test needs lifted: its senders are far above a person's
/// pace.
pub(crate) fn load_env() -> Vec<(&'static str, String)> {
    vec![
        ("CHAT_RATE_BURST", "1000000".into()),
        ("CHAT_RATE_PER_SECOND", "1000000".into()),
    ]
}

/// [`load_env`] and the per-user budget for changes to messages (edits,
/// deletes, reactions, pins: `CHAT_CHANGE_BURST` 30, then
/// `CHAT_CHANGE_PER_SECOND` 5 by default) lifted too, for the scenarios of
/// issue 17.
pub(crate) fn change_env() -> Vec<(&'static str, String)> {
    let mut env = load_env();
    env.extend([
        ("CHAT_CHANGE_BURST", "1000000".into()),
        ("CHAT_CHANGE_PER_SECOND", "1000000".into()),
    ]);
    env
}

/// The correctness rows of a run.
fn exact_rows(name: &str, r: &LoadReport) -> Vec<Row> {
    vec![
        Row::zero(name, "messages lost", r.lost),
        Row::zero(name, "messages duplicated", r.duplicated),
        Row::zero(name, "messages out of order", r.reordered),
        Row::zero(
            name,
            "sends not acknowledged",
            r.sent.saturating_sub(r.acked),
        ),
        Row::zero(name, "error frames", r.errors),
    ]
}

pub(crate) fn latency_rows(
    name: &str,
    what: &str,
    p: &Percentiles,
    p99_goal: Option<Goal>,
) -> Vec<Row> {
    vec![
        Row::info(name, &format!("{what} p50"), p.p50 as f64, Unit::Millis),
        Row::info(name, &format!("{what} p95"), p.p95 as f64, Unit::Millis),
        Row::info(name, &format!("{what} p99"), p.p99 as f64, Unit::Millis).with_goal(p99_goal),
        Row::info(name, &format!("{what} max"), p.max as f64, Unit::Millis),
    ]
}

/// Reads every socket until `stop` (so pings are answered), returning the
/// handles.
pub(crate) fn keep_reading(
    sockets: Vec<(usize, Ws)>,
    channels: usize,
) -> (Arc<Shared>, Vec<tokio::task::JoinHandle<conn::ConnStats>>) {
    let shared = Arc::new(Shared::new(
        vec![0; channels],
        crate::words::Padding::new(0),
    ));
    let (_drain_tx, drain_rx) = watch::channel(false);
    let tasks = sockets
        .into_iter()
        .map(|(idx, ws)| {
            tokio::spawn(conn::run(
                idx,
                0,
                ws,
                Role::Listen,
                shared.clone(),
                drain_rx.clone(),
            ))
        })
        .collect();
    (shared, tasks)
}

/// 15,000 idle authenticated sockets: the server's memory.
pub async fn idle(ctx: &Ctx) -> Result<Vec<Row>> {
    const NAME: &str = "idle sockets";
    let (channels, per_channel) = ctx.size((300, 50), (20, 50));
    let server = ctx.server(&Backend::Sqlite, &[]).await?;
    let population = seed::populate(&server, channels, per_channel).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.rss_bytes();
    let (sockets, connect) =
        load::open_peers(&server, &population, CONNECT_CONCURRENCY, None).await;
    let (shared, tasks) = keep_reading(sockets, channels);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = server.rss_bytes();
    let threads = server.threads();
    shared.stop.cancel();
    futures_util::future::join_all(tasks).await;
    server.stop().await;
    let per_socket = (after.saturating_sub(before)) as f64 / connect.ok.max(1) as f64;
    Ok(vec![
        Row::info(NAME, "sockets open", connect.ok as f64, Unit::Count),
        Row::zero(NAME, "connects failed", connect.failed as u64),
        Row::info(
            NAME,
            "server RSS before connecting",
            before as f64,
            Unit::MiB,
        ),
        Row::info(
            NAME,
            "server RSS with every socket open",
            after as f64,
            Unit::MiB,
        )
        .with_goal(ctx.goal(Goal::AtMost(150.0))),
        Row::info(NAME, "server memory per socket", per_socket, Unit::KiB),
        Row::info(NAME, "server threads", threads as f64, Unit::Count),
    ])
}

/// Authenticated connects per second, all at once.
pub async fn storm(ctx: &Ctx) -> Result<Vec<Row>> {
    const NAME: &str = "connect storm";
    let (channels, per_channel) = ctx.size((100, 100), (10, 100));
    let server = ctx.server(&Backend::Sqlite, &[]).await?;
    let population = seed::populate(&server, channels, per_channel).await?;
    let (sockets, connect) =
        load::open_peers(&server, &population, CONNECT_CONCURRENCY, None).await;
    drop(sockets);
    server.stop().await;
    Ok(vec![
        Row::info(NAME, "connects", connect.ok as f64, Unit::Count),
        Row::zero(NAME, "connects failed", connect.failed as u64),
        Row::info(
            NAME,
            "authenticated connects",
            connect.rate(),
            Unit::PerSecond,
        )
        .with_goal(ctx.goal(Goal::AtLeast(3000.0))),
        Row::info(
            NAME,
            "connect p50",
            connect.latency.p50 as f64,
            Unit::Millis,
        ),
        Row::info(
            NAME,
            "connect p99",
            connect.latency.p99 as f64,
            Unit::Millis,
        ),
    ])
}

/// Opens `population`, runs `plan`, stops the server.
async fn room_load(
    server: Server,
    population: &Population,
    plan: &SendPlan,
) -> Result<(LoadReport, load::ConnectReport)> {
    let (sockets, connect) = load::open_peers(&server, population, CONNECT_CONCURRENCY, None).await;
    if connect.failed > 0 {
        server.stop().await;
        return Err(format!("{} of the connects failed", connect.failed).into());
    }
    let report = load::run(
        sockets,
        population,
        vec![0; population.channels.len()],
        plan,
    )
    .await;
    server.stop().await;
    Ok((report, connect))
}

/// One room, 1,000 subscribers, 10 messages a second.
pub async fn one_room(ctx: &Ctx) -> Result<Vec<Row>> {
    const NAME: &str = "one room";
    let subscribers = ctx.size(1000, 100);
    let server = ctx.server(&Backend::Sqlite, &load_env()).await?;
    let population = seed::populate(&server, 1, subscribers).await?;
    let plan = SendPlan {
        senders_per_channel: 10,
        rate: Some(10.0),
        flood_window: 0,
        duration: ctx.size(Duration::from_secs(30), Duration::from_secs(3)),
        padding: 60,
        edits: None,
    };
    let (r, _) = room_load(server, &population, &plan).await?;
    let mut rows = vec![
        Row::info(NAME, "subscribers", subscribers as f64, Unit::Count),
        Row::info(NAME, "messages sent", r.sent as f64, Unit::Count),
        Row::info(NAME, "deliveries", r.delivered as f64, Unit::Count),
    ];
    rows.extend(latency_rows(
        NAME,
        "send→receive",
        &r.latency,
        ctx.goal(Goal::AtMost(50.0)),
    ));
    rows.extend(exact_rows(NAME, &r));
    Ok(rows)
}

/// 500 rooms of 20 members, sustained.
pub async fn many_rooms(ctx: &Ctx) -> Result<Vec<Row>> {
    const NAME: &str = "many rooms";
    // 2,500 messages/s to 20 members each: 50,000 deliveries/s offered.
    // The rate is measured over the span from the first delivery to the
    // last: a server that falls behind stretches it.
    let (channels, rate) = ctx.size((500, 2500.0), (50, 250.0));
    let server = ctx.server(&Backend::Sqlite, &load_env()).await?;
    let population = seed::populate(&server, channels, 20).await?;
    let plan = SendPlan {
        senders_per_channel: 5,
        rate: Some(rate),
        flood_window: 0,
        duration: ctx.size(Duration::from_secs(20), Duration::from_secs(3)),
        padding: 60,
        edits: None,
    };
    let (r, _) = room_load(server, &population, &plan).await?;
    let mut rows = vec![
        Row::info(NAME, "rooms × members", (channels * 20) as f64, Unit::Count),
        Row::info(NAME, "messages sent", r.sent as f64, Unit::Count),
        Row::info(
            NAME,
            "deliveries per second",
            r.delivered_per_s(),
            Unit::PerSecond,
        )
        .with_goal(ctx.goal(Goal::AtLeast(50_000.0))),
    ];
    rows.extend(latency_rows(
        NAME,
        "send→receive",
        &r.latency,
        ctx.goal(Goal::AtMost(100.0)),
    ));
    rows.extend(exact_rows(NAME, &r));
    Ok(rows)
}

/// One phase of `many-rooms-edits` on a fresh server: the many-rooms load
/// with or without the edit stream; with it, every receiver's final state
/// is compared with storage before the server stops.
struct EditPhase {
    report: LoadReport,
    /// Receivers holding any message in another state than storage.
    receivers_off: u64,
    /// Messages held in another state than storage, all receivers.
    messages_off: u64,
}

async fn edit_phase(ctx: &Ctx, channels: usize, plan: &SendPlan) -> Result<EditPhase> {
    let server = ctx.server(&Backend::Sqlite, &change_env()).await?;
    let population = seed::populate(&server, channels, 20).await?;
    let (sockets, connect) =
        load::open_peers(&server, &population, CONNECT_CONCURRENCY, None).await;
    if connect.failed > 0 {
        server.stop().await;
        return Err(format!("{} of the connects failed", connect.failed).into());
    }
    let mut report = load::run(sockets, &population, vec![0; channels], plan).await;
    let (mut receivers_off, mut messages_off) = (0, 0);
    if plan.edits.is_some() {
        let stored = stored_states(&server, &population).await;
        let stored = match stored {
            Ok(s) => s,
            Err(e) => {
                server.stop().await;
                return Err(e);
            }
        };
        for (channel, held) in std::mem::take(&mut report.held) {
            let want = &stored[channel];
            let off = (0..want.len().max(held.len()))
                .filter(|&i| {
                    held.get(i).copied().unwrap_or(HeldMessage::NONE)
                        != want.get(i).copied().unwrap_or(HeldMessage::NONE)
                })
                .count() as u64;
            receivers_off += u64::from(off > 0);
            messages_off += off;
        }
    }
    server.stop().await;
    Ok(EditPhase {
        report,
        receivers_off,
        messages_off,
    })
}

/// Every channel's messages as stored (rev and text), by seq, read through
/// the history route with a member's token.
async fn stored_states(server: &Server, population: &Population) -> Result<Vec<Vec<HeldMessage>>> {
    use futures_util::StreamExt;
    let http = reqwest::Client::new();
    let reads = population.channels.iter().enumerate().map(|(i, channel)| {
        let http = http.clone();
        let token = population
            .peers
            .iter()
            .find(|p| p.channel == i)
            .map(|p| p.token.clone())
            .unwrap_or_default();
        let base = server.base_url();
        async move {
            let mut held = Vec::new();
            loop {
                let url = format!(
                    "{base}/chat/channels/{channel}/messages?limit=100&after_seq={}",
                    held.len()
                );
                let page: serde_json::Value = http
                    .get(url)
                    .bearer_auth(&token)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                for m in page["messages"]
                    .as_array()
                    .ok_or("no messages in the page")?
                {
                    let seq = m["seq"].as_i64().ok_or("a message without seq")?;
                    if seq != held.len() as i64 + 1 {
                        return Err(format!("history skipped from {} to {seq}", held.len()).into());
                    }
                    held.push(HeldMessage {
                        rev: m["rev"].as_i64().unwrap_or(0),
                        text: text_hash(m["text"].as_str().unwrap_or("")),
                    });
                }
                if page["hasMore"] != true {
                    return Ok::<_, crate::BoxError>((i, held));
                }
            }
        }
    });
    let mut states = vec![Vec::new(); population.channels.len()];
    let mut results = futures_util::stream::iter(reads).buffer_unordered(16);
    while let Some(r) = results.next().await {
        let (i, held) = r?;
        states[i] = held;
    }
    Ok(states)
}

/// `many-rooms` with an edit stream (issue 17): the first sender of each
/// room also edits its newest message, in all a tenth of the message rate,
/// while messages flow. Message latency is compared on fresh servers
/// without and with the stream (quick mode runs only the phase with it);
/// every receiver must see each message once in seq order, the updates in
/// rising rev order, and end with each message as stored. `many-rooms`
/// itself stays as it was, so its numbers compare with older runs.
pub async fn many_rooms_edits(ctx: &Ctx) -> Result<Vec<Row>> {
    const NAME: &str = "many rooms + edits";
    // Smaller than many-rooms' quick size: the smoke test runs it in CI.
    let (channels, rate) = ctx.size((500, 2500.0), (20, 100.0));
    let base = SendPlan {
        senders_per_channel: 5,
        rate: Some(rate),
        flood_window: 0,
        duration: ctx.size(Duration::from_secs(20), Duration::from_secs(2)),
        padding: 60,
        edits: None,
    };
    let with_edits = SendPlan {
        edits: Some(EditPlan {
            editors_per_channel: 1,
            rate: rate / 10.0,
        }),
        ..base.clone()
    };
    let without = if ctx.quick {
        None
    } else {
        Some(edit_phase(ctx, channels, &base).await?.report)
    };
    let with = edit_phase(ctx, channels, &with_edits).await?;
    let r = &with.report;
    let mut rows = vec![
        Row::info(NAME, "rooms × members", (channels * 20) as f64, Unit::Count),
        Row::info(NAME, "messages sent", r.sent as f64, Unit::Count),
        Row::info(NAME, "edits sent", r.edits_sent as f64, Unit::Count),
        Row::info(
            NAME,
            "edits skipped (no message of the editor yet)",
            r.edits_skipped as f64,
            Unit::Count,
        ),
        Row::info(NAME, "updates received", r.updates as f64, Unit::Count),
        Row::info(
            NAME,
            "deliveries per second (messages)",
            r.delivered_per_s(),
            Unit::PerSecond,
        ),
    ];
    if let Some(w) = &without {
        rows.extend([
            Row::info(
                NAME,
                "send→receive p50, without edits",
                w.latency.p50 as f64,
                Unit::Millis,
            ),
            Row::info(
                NAME,
                "send→receive p99, without edits",
                w.latency.p99 as f64,
                Unit::Millis,
            ),
        ]);
    }
    rows.extend([
        Row::info(
            NAME,
            "send→receive p50, with edits",
            r.latency.p50 as f64,
            Unit::Millis,
        ),
        Row::info(
            NAME,
            "send→receive p99, with edits",
            r.latency.p99 as f64,
            Unit::Millis,
        ),
    ]);
    rows.extend(latency_rows(NAME, "edit→receive", &r.edit_latency, None));
    rows.extend([
        Row::info(
            NAME,
            "edit→own update p50",
            r.edit_ack.p50 as f64,
            Unit::Millis,
        ),
        Row::info(
            NAME,
            "edit→own update p99",
            r.edit_ack.p99 as f64,
            Unit::Millis,
        ),
    ]);
    let mut all = LoadReport::default();
    if let Some(w) = without {
        all.absorb(w);
    }
    all.absorb(LoadReport {
        held: Vec::new(),
        latencies_us: Vec::new(),
        edit_latencies_us: Vec::new(),
        ..with.report
    });
    rows.extend(exact_rows(NAME, &all));
    rows.extend([
        Row::zero(
            NAME,
            "edits not answered",
            all.edits_sent.saturating_sub(all.edits_acked),
        ),
        Row::zero(NAME, "update revs repeated", all.revs_repeated),
        Row::zero(NAME, "update revs out of order", all.revs_reordered),
        Row::zero(NAME, "receivers short of the last rev", all.revs_short),
        Row::zero(
            NAME,
            "receivers whose messages differ from storage",
            with.receivers_off,
        ),
        Row::info(
            NAME,
            "messages held in another state than storage",
            with.messages_off as f64,
            Unit::Count,
        ),
    ]);
    Ok(rows)
}

/// Durable writes into one room as fast as acknowledgements come back.
pub async fn writes(ctx: &Ctx, backend: &Backend) -> Result<Vec<Row>> {
    let name = format!("durable writes, one room ({})", backend.name());
    let run = measure_writes(ctx, backend, &[]).await?;
    let mut rows = vec![
        Row::info(
            &name,
            "messages stored",
            run.report.acked as f64,
            Unit::Count,
        ),
        Row::info(
            &name,
            "stored and acknowledged",
            run.per_second,
            Unit::PerSecond,
        )
        .with_goal(ctx.goal(Goal::AtLeast(5000.0))),
    ];
    rows.extend(run.cost_rows(&name));
    rows.extend(latency_rows(&name, "send→ack", &run.report.latency, None));
    rows.extend(exact_rows(&name, &run.report));
    Ok(rows)
}

/// Durable writes with the search index kept (`CHAT_SEARCH=true`, the
/// default) against the same server without it (`CHAT_SEARCH=false`), in
/// alternating rounds (the order swapped each round) so both see the same
/// hours of a shared machine: issue 18's goal, at most 10 % slower. One
/// run of each side first warms the machine and is not counted (the very
/// first run was often the slowest, and it was always an "on" run).
///
/// Off, neither backend writes anything for the index: sends never do,
/// and the indexer (SQLite's index file, Postgres' words table) does not
/// run. (The SQLite search key column and its index stay, as they order
/// results.)
pub async fn search_writes(ctx: &Ctx, backend: &Backend) -> Result<Vec<Row>> {
    let name = format!("durable writes, search index on/off ({})", backend.name());
    let rounds = ctx.size(7, 1);
    let (mut on, mut off) = (Vec::new(), Vec::new());
    let mut rows = Vec::new();
    if !ctx.quick {
        for search in [false, true] {
            let env = [("CHAT_SEARCH", search.to_string())];
            measure_writes(ctx, backend, &env).await?;
        }
    }
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for search in order {
            let env = [("CHAT_SEARCH", search.to_string())];
            let run = measure_writes(ctx, backend, &env).await?;
            eprintln!(
                "loadgen: search {} round {}: {:.0}/s",
                if search { "on" } else { "off" },
                round + 1,
                run.per_second
            );
            rows.extend(exact_rows(
                &format!("{name}, index {}", if search { "on" } else { "off" }),
                &run.report,
            ));
            if search {
                on.push(run)
            } else {
                off.push(run)
            }
        }
    }
    let median = |runs: &[WriteRun], f: fn(&WriteRun) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let rate = |r: &WriteRun| r.per_second;
    let cpu = |r: &WriteRun| r.cpu_ms_per_1000;
    let bytes = |r: &WriteRun| r.bytes_per_message;
    let change = |with: f64, without: f64| (with / without.max(1e-9) - 1.0) * 100.0;
    // Each round's two runs are neighbours in time: their ratio moves less
    // with the machine's hour than either rate.
    let mut paired: Vec<f64> = on
        .iter()
        .zip(&off)
        .map(|(a, b)| change(a.per_second, b.per_second))
        .collect();
    paired.sort_by(f64::total_cmp);
    let mut summary = vec![
        Row::info(
            &name,
            "rounds (each: one run on, one off)",
            rounds as f64,
            Unit::Count,
        ),
        Row::info(
            &name,
            "stored and acknowledged, index off (median)",
            median(&off, rate),
            Unit::PerSecond,
        ),
        Row::info(
            &name,
            "stored and acknowledged, index on (median)",
            median(&on, rate),
            Unit::PerSecond,
        ),
        Row::info(
            &name,
            "writes per second with the index, change (medians)",
            change(median(&on, rate), median(&off, rate)),
            Unit::Percent,
        )
        .with_goal(ctx.goal(Goal::AtLeast(-10.0))),
        Row::info(
            &name,
            "writes per second with the index, change within each round (median)",
            paired[paired.len() / 2],
            Unit::Percent,
        ),
        Row::info(
            &name,
            "server CPU per 1,000 messages, index off (median)",
            median(&off, cpu) * 1000.0,
            Unit::Millis,
        ),
        Row::info(
            &name,
            "server CPU per 1,000 messages, index on (median)",
            median(&on, cpu) * 1000.0,
            Unit::Millis,
        ),
        Row::info(
            &name,
            &format!("{}, index off (median)", off[0].bytes_measure),
            median(&off, bytes),
            Unit::Count,
        ),
        Row::info(
            &name,
            &format!("{}, index on (median)", on[0].bytes_measure),
            median(&on, bytes),
            Unit::Count,
        ),
    ];
    summary.extend(rows);
    Ok(summary)
}

/// One measured run of [`writes`]: eight senders flooding one room for
/// 10 s (2 s quick), and what it cost the server.
struct WriteRun {
    report: LoadReport,
    /// Messages stored and acknowledged per second.
    per_second: f64,
    /// The server's CPU time per 1,000 messages, in milliseconds.
    cpu_ms_per_1000: f64,
    /// Bytes written per message: the server's own writes to storage
    /// (SQLite), or the cluster's WAL (Postgres).
    bytes_per_message: f64,
    /// What [`WriteRun::bytes_per_message`] counts, for the table.
    bytes_measure: &'static str,
}

impl WriteRun {
    /// The rows of what the writes cost, apart from how fast the machine
    /// was this hour.
    fn cost_rows(&self, name: &str) -> Vec<Row> {
        vec![
            Row::info(
                name,
                "server CPU per 1,000 messages",
                self.cpu_ms_per_1000 * 1000.0,
                Unit::Millis,
            ),
            Row::info(
                name,
                self.bytes_measure,
                self.bytes_per_message,
                Unit::Count,
            ),
        ]
    }
}

/// A fresh server on `backend` (with `env` added to the load settings), a
/// room of eight flooding senders, and the server's CPU time and bytes
/// written over the run.
async fn measure_writes(ctx: &Ctx, backend: &Backend, env: &[(&str, String)]) -> Result<WriteRun> {
    let senders = 8;
    let mut settings = load_env();
    settings.extend(env.iter().cloned());
    let server = ctx.server(backend, &settings).await?;
    let population = seed::populate(&server, 1, senders).await?;
    let plan = SendPlan {
        senders_per_channel: senders,
        rate: None,
        flood_window: 64,
        duration: ctx.size(Duration::from_secs(10), Duration::from_secs(2)),
        padding: 60,
        edits: None,
    };
    let (sockets, connect) =
        load::open_peers(&server, &population, CONNECT_CONCURRENCY, None).await;
    if connect.failed > 0 {
        server.stop().await;
        return Err(format!("{} of the connects failed", connect.failed).into());
    }
    let cpu_before = server.cpu_seconds();
    let disk_before = server.storage_written_bytes();
    let wal_before = server.postgres_wal_bytes().await;
    let report = load::run(sockets, &population, vec![0], &plan).await;
    let cpu = server.cpu_seconds() - cpu_before;
    let disk = server.storage_written_bytes().saturating_sub(disk_before);
    let wal = server.postgres_wal_bytes().await;
    server.stop().await;
    let stored = report.acked.max(1) as f64;
    let (bytes, bytes_measure) = match (wal_before, wal) {
        (Some(before), Some(after)) => (
            after.saturating_sub(before),
            "WAL bytes per message (whole cluster)",
        ),
        _ => (disk, "bytes written to storage per message"),
    };
    Ok(WriteRun {
        per_second: report.acked_per_s(),
        cpu_ms_per_1000: cpu * 1e6 / stored,
        bytes_per_message: bytes as f64 / stored,
        bytes_measure,
        report,
    })
}

/// A store opened directly on a prepared (not yet started) SQLite database.
async fn seed_store(prepared: &Prepared) -> Result<SqliteStore> {
    Ok(SqliteStore::connect(&prepared.database_url, 2).await?)
}

pub(crate) async fn add_user(store: &dyn Store, id: Uuid) -> Result<()> {
    store
        .upsert_user(&UserRecord {
            id: id.into(),
            email: format!("{}@load.invalid", id.simple()),
            display_name: "load".into(),
            password_hash: None,
        })
        .await?;
    Ok(())
}

/// Latencies of a series of requests, in microseconds.
pub(crate) struct Timed {
    /// Send to last byte, as the client saw it.
    pub(crate) round_trip: Percentiles,
    /// The server's own time (its `Server-Timing: app;dur=`).
    pub(crate) server: Percentiles,
}

/// Sequential GETs with a bearer token.
pub(crate) async fn timed_gets(
    server: &Server,
    token: &str,
    paths: impl Iterator<Item = String>,
) -> Result<Timed> {
    let http = reqwest::Client::new();
    let mut round_trips = Vec::new();
    let mut server_times = Vec::new();
    for path in paths {
        let t = Instant::now();
        let res = http
            .get(format!("{}{path}", server.base_url()))
            .bearer_auth(token)
            .send()
            .await?;
        let status = res.status();
        let server_ms = res
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("app;dur="))
            .and_then(|ms| ms.parse::<f64>().ok())
            .ok_or_else(|| format!("GET {path}: no Server-Timing"))?;
        res.bytes().await?;
        round_trips.push(t.elapsed().as_micros() as u64);
        server_times.push((server_ms * 1000.0) as u64);
        if !status.is_success() {
            return Err(format!("GET {path}: {status}").into());
        }
    }
    Ok(Timed {
        round_trip: Percentiles::of(&mut round_trips),
        server: Percentiles::of(&mut server_times),
    })
}

/// A page of 50 from a channel with 1,000,000 messages.
pub async fn history(ctx: &Ctx) -> Result<Vec<Row>> {
    const NAME: &str = "history page of 50";
    let messages = ctx.size(1_000_000usize, 50_000);
    let requests = ctx.size(2000usize, 200);
    let prepared = Prepared::new(&Backend::Sqlite).await?;
    let (channel, user) = (Uuid::new_v4(), Uuid::new_v4());
    let seeded = Instant::now();
    {
        let store = seed_store(&prepared).await?;
        add_user(&store, user).await?;
        store
            .upsert_channel(channel.into(), "history", "#3b82f6")
            .await?;
        store.set_access(channel.into(), user.into(), true).await?;
    }
    seed::bulk_messages_sql(&prepared.database_url, channel, user, messages).await?;
    eprintln!(
        "loadgen: stored {messages} messages in {:.1?}",
        seeded.elapsed()
    );
    let server = ctx.start(prepared, &[]).await?;
    let token = server.token(user);
    // Warm the path once, then random pages all through the channel.
    timed_gets(
        &server,
        &token,
        std::iter::once(format!("/chat/channels/{channel}/messages")),
    )
    .await?;
    // Seeded, so runs compare.
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let pages = timed_gets(
        &server,
        &token,
        (0..requests).map(|_| {
            let before = rng.u64(51..=messages as u64);
            format!("/chat/channels/{channel}/messages?limit=50&before_seq={before}")
        }),
    )
    .await?;
    let latest = timed_gets(
        &server,
        &token,
        (0..requests / 4).map(|_| format!("/chat/channels/{channel}/messages?limit=50")),
    )
    .await?;
    server.stop().await;
    let mut rows = vec![Row::info(
        NAME,
        "messages in the channel",
        messages as f64,
        Unit::Count,
    )];
    rows.extend(latency_rows(
        NAME,
        "random page, server time",
        &pages.server,
        ctx.goal(Goal::AtMost(2.0)),
    ));
    rows.extend([
        Row::info(
            NAME,
            "random page, HTTP round trip p50",
            pages.round_trip.p50 as f64,
            Unit::Millis,
        ),
        Row::info(
            NAME,
            "random page, HTTP round trip p99",
            pages.round_trip.p99 as f64,
            Unit::Millis,
        ),
        Row::info(
            NAME,
            "newest page, server time p50",
            latest.server.p50 as f64,
            Unit::Millis,
        ),
        Row::info(
            NAME,
            "newest page, server time p99",
            latest.server.p99 as f64,
            Unit::Millis,
        ),
    ]);
    Ok(rows)
}

/// The unread summary of a user in 500 channels.
pub async fn unread(ctx: &Ctx) -> Result<Vec<Row>> {
    const NAME: &str = "unread summary, 500 channels";
    let channels = 500usize;
    let per_channel = ctx.size(100usize, 10);
    let requests = ctx.size(1000usize, 100);
    let prepared = Prepared::new(&Backend::Sqlite).await?;
    let (reader, writer) = (Uuid::new_v4(), Uuid::new_v4());
    // Seeded, so runs compare.
    let mut rng = fastrand::Rng::with_seed(0xbeef);
    {
        let store = seed_store(&prepared).await?;
        add_user(&store, reader).await?;
        add_user(&store, writer).await?;
        for i in 0..channels {
            let channel = Uuid::new_v4();
            store
                .upsert_channel(channel.into(), &format!("c{i}"), "#3b82f6")
                .await?;
            store
                .set_access(channel.into(), reader.into(), true)
                .await?;
            store
                .set_access(channel.into(), writer.into(), true)
                .await?;
            seed::bulk_messages(&store, channel, writer, per_channel, |i| {
                format!("history message {i}: the quick brown fox jumps over the lazy dog")
            })
            .await?;
            let read_up_to = rng.i64(0..=per_channel as i64);
            store
                .mark_read(reader.into(), channel.into(), Some(read_up_to.into()))
                .await?;
        }
    }
    let server = ctx.start(prepared, &[]).await?;
    let token = server.token(reader);
    timed_gets(&server, &token, std::iter::once("/chat/unread".to_string())).await?;
    let summary = timed_gets(
        &server,
        &token,
        (0..requests).map(|_| "/chat/unread".to_string()),
    )
    .await?;
    let list = timed_gets(
        &server,
        &token,
        (0..requests / 4).map(|_| "/chat/channels".to_string()),
    )
    .await?;
    server.stop().await;
    let mut rows = vec![Row::info(
        NAME,
        "messages per channel",
        per_channel as f64,
        Unit::Count,
    )];
    rows.extend(latency_rows(
        NAME,
        "GET /chat/unread, server time",
        &summary.server,
        ctx.goal(Goal::AtMost(10.0)),
    ));
    rows.extend([
        Row::info(
            NAME,
            "GET /chat/unread, HTTP round trip p99",
            summary.round_trip.p99 as f64,
            Unit::Millis,
        ),
        Row::info(
            NAME,
            "GET /chat/channels, server time p50",
            list.server.p50 as f64,
            Unit::Millis,
        ),
        Row::info(
            NAME,
            "GET /chat/channels, server time p99",
            list.server.p99 as f64,
            Unit::Millis,
        ),
    ]);
    Ok(rows)
}

/// One phase of the slow-consumer scenario on a fresh server: 200 readers,
/// plus (when `stalled > 0`) clients that join with a small receive buffer
/// and never read again.
struct SlowPhase {
    report: LoadReport,
    closed_at_cap: f64,
    never_closed: u64,
    rss_growth: u64,
}

async fn slow_phase(
    ctx: &Ctx,
    env: &[(&str, String)],
    plan: &SendPlan,
    subscribers: usize,
    stalled: usize,
) -> Result<SlowPhase> {
    let server = ctx.server(&Backend::Sqlite, env).await?;
    let everyone = seed::populate(&server, 1, subscribers + stalled).await?;
    let (readers, quiet): (Vec<_>, Vec<_>) = everyone
        .peers
        .iter()
        .cloned()
        .partition(|p| p.rank < subscribers);
    let readers = Population {
        channels: everyone.channels.clone(),
        peers: readers,
    };
    let quiet = Population {
        channels: everyone.channels.clone(),
        peers: quiet,
    };
    let (quiet_sockets, quiet_connect) = load::open_peers(&server, &quiet, 16, Some(4096)).await;
    let (sockets, connect) = load::open_peers(&server, &readers, CONNECT_CONCURRENCY, None).await;
    if connect.failed + quiet_connect.failed > 0 {
        server.stop().await;
        return Err("connects failed".into());
    }
    let rss_before = server.rss_bytes();
    let report = load::run(sockets, &readers, vec![0], plan).await;
    let rss_after = server.rss_bytes();
    let closed_at_cap = server.metric("slow_consumers_closed_total").await?;
    let mut never_closed = 0u64;
    for (_, ws) in quiet_sockets {
        if !ends_soon(ws).await {
            never_closed += 1;
        }
    }
    server.stop().await;
    Ok(SlowPhase {
        report,
        closed_at_cap,
        never_closed,
        rss_growth: rss_after.saturating_sub(rss_before),
    })
}

/// Clients that stop reading are cut at the cap and do not slow the
/// others. The others' latency with and without stalled clients is
/// compared over interleaved phases (none, with, with, none), each on a
/// fresh server, pooling each condition's samples: two long phases one
/// after the other differed by more than the target on a shared machine
/// with nothing changed between them.
pub async fn slow_consumer(ctx: &Ctx) -> Result<Vec<Row>> {
    const NAME: &str = "slow consumers";
    let subscribers = ctx.size(200, 50);
    let stalled = 5;
    let mut env = load_env();
    if ctx.quick {
        env.push(("CHAT_WS_SEND_TIMEOUT_MS", "1000".into()));
    }
    let plan = SendPlan {
        senders_per_channel: 5,
        rate: Some(100.0),
        flood_window: 0,
        // Long enough for a stalled client to fill its buffers and reach
        // the 10 s cap within the phase.
        duration: ctx.size(Duration::from_secs(20), Duration::from_secs(5)),
        padding: 2000,
        edits: None,
    };
    let mut alone = LoadReport::default();
    let mut with = LoadReport::default();
    let (mut closed_at_cap, mut never_closed, mut rss_growth) = (0.0, 0u64, 0u64);
    for with_stalled in [false, true, true, false] {
        let n = if with_stalled { stalled } else { 0 };
        let phase = slow_phase(ctx, &env, &plan, subscribers, n).await?;
        if with_stalled {
            with.absorb(phase.report);
            closed_at_cap += phase.closed_at_cap;
            never_closed += phase.never_closed;
            rss_growth = rss_growth.max(phase.rss_growth);
        } else {
            alone.absorb(phase.report);
        }
    }
    let change = (with.latency.p99 as f64 - alone.latency.p99 as f64)
        / alone.latency.p99.max(1) as f64
        * 100.0;
    let mut rows = vec![
        Row::info(NAME, "subscribers reading", subscribers as f64, Unit::Count),
        Row::info(
            NAME,
            "clients that stop reading (per phase)",
            stalled as f64,
            Unit::Count,
        ),
        Row::info(
            NAME,
            "send→receive p99, none stalled",
            alone.latency.p99 as f64,
            Unit::Millis,
        ),
        Row::info(
            NAME,
            "send→receive p99, with stalled",
            with.latency.p99 as f64,
            Unit::Millis,
        ),
        Row::info(NAME, "p99 change", change, Unit::Percent)
            .with_goal(ctx.goal(Goal::AtMost(10.0))),
        Row::info(
            NAME,
            "closed at the cap (server metric, both phases)",
            closed_at_cap,
            Unit::Count,
        ),
        Row::zero(NAME, "stalled clients never closed", never_closed),
        Row::info(
            NAME,
            "server RSS growth while sending",
            rss_growth as f64,
            Unit::MiB,
        ),
    ];
    let mut all = alone;
    all.absorb(with);
    rows.extend(exact_rows(NAME, &all));
    Ok(rows)
}

/// Reads what a stalled client's kernel buffered; whether the stream then
/// ends (the server closed it) rather than going quiet.
async fn ends_soon(mut ws: Ws) -> bool {
    use futures_util::StreamExt;
    loop {
        match tokio::time::timeout(Duration::from_secs(3), ws.next()).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => continue,
            Ok(None) | Ok(Some(Err(_))) => return true,
            Err(_) => return false,
        }
    }
}

/// What the server holds between two rounds of the soak.
#[derive(Debug, Clone, Copy)]
struct Held {
    rss: u64,
    fds: u64,
    tasks: f64,
    threads: u64,
}

/// Waits until the server has closed every connection, then reads what
/// it holds.
async fn held_when_idle(server: &Server) -> Result<Held> {
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.metric("connections").await? > 0.0 {
        if Instant::now() > deadline {
            return Err("connections still open 15 s after the round".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let closed sockets and finished tasks be reaped.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(Held {
        rss: server.rss_bytes(),
        fds: server.open_fds(),
        tasks: server.metric("tasks").await?,
        threads: server.threads(),
    })
}

/// Each channel's newest seq, as its first member sees it.
async fn channel_heads(server: &Server, population: &Population) -> Result<Vec<i64>> {
    let http = reqwest::Client::new();
    let mut heads = Vec::with_capacity(population.channels.len());
    for (i, channel) in population.channels.iter().enumerate() {
        let peer = population
            .peers
            .iter()
            .find(|p| p.channel == i)
            .ok_or("a channel without members")?;
        let list: serde_json::Value = http
            .get(format!("{}/chat/channels", server.base_url()))
            .bearer_auth(&peer.token)
            .send()
            .await?
            .json()
            .await?;
        let head = list["channels"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["id"] == channel.to_string().as_str()))
            .and_then(|c| c["head_seq"].as_i64())
            .ok_or("channel missing from its member's list")?;
        heads.push(head);
    }
    Ok(heads)
}

/// Churn: every round connects all peers, chats for a moment, and closes
/// every socket; after each round (once the server shows no connection)
/// its memory, file descriptors, tasks and threads are read. The first
/// round warms up; from there on nothing may grow with the rounds.
pub async fn soak(ctx: &Ctx) -> Result<Vec<Row>> {
    const NAME: &str = "soak (churn)";
    let (channels, per_channel, rounds) = ctx.size((50, 20, 15), (5, 10, 3));
    let server = ctx.server(&Backend::Sqlite, &load_env()).await?;
    let population = seed::populate(&server, channels, per_channel).await?;
    let plan = SendPlan {
        senders_per_channel: 2,
        rate: Some(ctx.size(500.0, 50.0)),
        flood_window: 0,
        duration: ctx.size(Duration::from_secs(2), Duration::from_secs(1)),
        padding: 20,
        edits: None,
    };
    let mut total = LoadReport::default();
    let mut connects = 0;
    let mut held = Vec::new();
    for _ in 0..rounds {
        let heads = channel_heads(&server, &population).await?;
        let (sockets, connect) =
            load::open_peers(&server, &population, CONNECT_CONCURRENCY, None).await;
        if connect.failed > 0 {
            server.stop().await;
            return Err(format!("{} of the connects failed", connect.failed).into());
        }
        connects += connect.ok;
        total.absorb(load::run(sockets, &population, heads, &plan).await);
        let now = held_when_idle(&server).await?;
        eprintln!(
            "loadgen: soak round {}: RSS {:.1} MiB, {} open files, {} tasks",
            held.len() + 1,
            now.rss as f64 / 1048576.0,
            now.fds,
            now.tasks
        );
        held.push(now);
    }
    server.stop().await;
    let (warm, last) = (held[0], held[held.len() - 1]);
    let mut rows = vec![
        Row::info(NAME, "rounds", rounds as f64, Unit::Count),
        Row::info(NAME, "connects (all rounds)", connects as f64, Unit::Count),
        Row::info(NAME, "messages sent", total.sent as f64, Unit::Count),
        Row::info(NAME, "deliveries", total.delivered as f64, Unit::Count),
        Row::info(NAME, "server RSS after round 1", warm.rss as f64, Unit::MiB),
        Row::info(
            NAME,
            "server RSS after the last round",
            last.rss as f64,
            Unit::MiB,
        ),
        Row::info(
            NAME,
            "server RSS change over the second half of the rounds",
            last.rss as f64 - held[held.len() / 2].rss as f64,
            Unit::MiB,
        ),
        Row::info(
            NAME,
            "open files after round 1",
            warm.fds as f64,
            Unit::Count,
        ),
        Row::info(NAME, "tasks after round 1", warm.tasks, Unit::Count),
        Row::info(
            NAME,
            "threads after round 1",
            warm.threads as f64,
            Unit::Count,
        ),
        Row::zero(
            NAME,
            "open files gained after round 1",
            held.iter()
                .map(|h| h.fds)
                .max()
                .unwrap_or(0)
                .saturating_sub(warm.fds),
        ),
        Row::zero(
            NAME,
            "tasks gained after round 1",
            held.iter()
                .map(|h| h.tasks as u64)
                .max()
                .unwrap_or(0)
                .saturating_sub(warm.tasks as u64),
        ),
    ];
    rows.extend(exact_rows(NAME, &total));
    Ok(rows)
}
