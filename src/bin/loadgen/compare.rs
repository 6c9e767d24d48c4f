//! Side by side with what a team would otherwise write (issue 20): the same
//! measures on our server and on the Node.js reference of `bench/node-ref`
//! (`ws` and `better-sqlite3`; persist, then broadcast; per-channel seq;
//! idempotent clientId; WAL with `synchronous=NORMAL`), each on a fresh
//! server in turn, in one run, with the ratio ours / Node for each.
//!
//! Durability differs, in Node's favour: ours syncs every commit to disk
//! (`synchronous=FULL`), the reference syncs its WAL only at checkpoints.
//!
//! The measures: server memory per idle socket (2,000 sockets, opened in
//! two halves: per socket over all of them, and per socket of the second
//! half, which leaves out what the first connections cost once); the time
//! for 2,000 sockets to join one channel at once (each join is announced
//! to the others); 100 channels × 10 members at 500, 3,000 and 6,000
//! messages a second (server CPU per 1,000 deliveries, p99 send→receive,
//! deliveries per second); one channel × 100 members at 50 messages a
//! second (p99); and a sweep for each server's highest rate whose p99
//! stays within 50 ms (a rate fails when two tries in a row miss it).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::conn::{ConnStats, Shared};

use crate::load::{self, LoadReport, SendPlan};
use crate::report::{Goal, Row, Unit};
use crate::scenarios::{keep_reading, load_env, Ctx, CONNECT_CONCURRENCY};
use crate::seed;
use crate::server::{Backend, Prepared, Server};
use crate::Result;

/// The scenario's name in tables.
const NAME: &str = "against Node";
/// The p99 a rate must keep to count in the sweep.
const SWEEP_P99_MS: f64 = 50.0;

/// How many tries a rate of the sweep gets to keep its p99.
const SWEEP_TRIES: usize = 2;

/// One server's numbers.
#[derive(Debug, Default, Clone)]
struct Side {
    idle: IdleMemory,
    join_seconds: f64,
    cpu_per_1000: f64,
    p99_500: f64,
    p99_3000: f64,
    delivered_6000: f64,
    p99_one_room: f64,
    saturation: f64,
    wrong: u64,
}

/// The reference server's start script: `LOADGEN_NODE_REF`, else
/// `bench/node-ref/run.sh` of the source tree the load generator was
/// started from.
fn reference_bin() -> Result<PathBuf> {
    let bin = std::env::var_os("LOADGEN_NODE_REF")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("bench/node-ref/run.sh"));
    if !bin.exists() || !bin.with_file_name("node_modules").exists() {
        return Err(format!(
            "no Node reference at {} with its node_modules (run `npm ci` in bench/node-ref, \
             or `bash scripts/bench.sh compare`)",
            bin.display()
        )
        .into());
    }
    Ok(bin)
}

/// The side-by-side scenario.
pub async fn compare(ctx: &Ctx) -> Result<Vec<Row>> {
    let node = reference_bin()?;
    let sockets = ctx.size(2000, 200);
    let ours = measure(ctx, &ctx.bin, sockets).await?;
    let theirs = measure(ctx, &node, sockets).await?;
    let mut rows = Vec::new();
    let mut pair = |what: &str, unit: Unit, ours: f64, node: f64, goal: Option<Goal>| {
        rows.push(Row::info(NAME, &format!("{what}: ours"), ours, unit));
        rows.push(Row::info(NAME, &format!("{what}: Node"), node, unit));
        let ratio = if node > 0.0 { ours / node } else { f64::NAN };
        rows.push(
            Row::info(NAME, &format!("{what}: ours / Node"), ratio, Unit::Ratio)
                .with_goal(goal.and_then(|g| ctx.goal(g))),
        );
    };
    pair(
        &format!("{sockets} idle sockets: server KiB per socket"),
        Unit::Decimal,
        ours.idle.whole,
        theirs.idle.whole,
        Some(Goal::AtMost(0.5)),
    );
    pair(
        &format!(
            "same, sockets {} to {sockets} (opened after the first half): server KiB per socket",
            sockets / 2 + 1
        ),
        Unit::Decimal,
        ours.idle.added,
        theirs.idle.added,
        None,
    );
    pair(
        &format!("{sockets} sockets joining one channel at once"),
        Unit::Seconds,
        ours.join_seconds,
        theirs.join_seconds,
        None,
    );
    pair(
        "100 channels × 10, 500 msg/s: server CPU seconds per 1,000 deliveries",
        Unit::Decimal,
        ours.cpu_per_1000,
        theirs.cpu_per_1000,
        Some(Goal::AtMost(0.5)),
    );
    pair(
        "same: p99 send→receive",
        Unit::Millis,
        ours.p99_500,
        theirs.p99_500,
        None,
    );
    pair(
        "same at 3,000 msg/s: p99",
        Unit::Millis,
        ours.p99_3000,
        theirs.p99_3000,
        None,
    );
    pair(
        "same at 6,000 msg/s: delivered per second",
        Unit::PerSecond,
        ours.delivered_6000,
        theirs.delivered_6000,
        None,
    );
    pair(
        "one channel × 100, 50 msg/s: p99",
        Unit::Millis,
        ours.p99_one_room,
        theirs.p99_one_room,
        Some(Goal::AtMost(1.0)),
    );
    pair(
        &format!("highest deliveries/s with p99 ≤ {SWEEP_P99_MS} ms"),
        Unit::PerSecond,
        ours.saturation,
        theirs.saturation,
        Some(Goal::AtLeast(2.0)),
    );
    rows.push(Row::zero(
        NAME,
        "ours: lost, duplicated or reordered",
        ours.wrong,
    ));
    Ok(rows)
}

/// Every measure on the server `bin`, each on a fresh server.
async fn measure(ctx: &Ctx, bin: &Path, sockets: usize) -> Result<Side> {
    let mut side = Side::default();
    let which = bin.display().to_string();
    eprintln!("loadgen: {NAME}: {which}");

    // Idle sockets.
    side.idle = idle_memory(ctx, bin, sockets).await?;

    // Joining one channel at once.
    let server = start(ctx, bin, &[]).await?;
    let population = seed::populate(&server, 1, sockets).await?;
    let (open, connect) = load::open_peers(&server, &population, CONNECT_CONCURRENCY, None).await;
    drop(open);
    server.stop().await;
    if connect.failed > 0 {
        return Err(format!("{which}: {} joins failed", connect.failed).into());
    }
    side.join_seconds = connect.elapsed.as_secs_f64();

    // Many rooms at three rates.
    let seconds = ctx.size(Duration::from_secs(10), Duration::from_secs(2));
    let (report, cpu) = rooms_at(ctx, bin, 100, 10, 500.0, seconds).await?;
    side.wrong += wrong(&report);
    side.cpu_per_1000 = cpu / (report.delivered.max(1) as f64 / 1000.0);
    side.p99_500 = report.latency.p99 as f64;
    let (report, _) = rooms_at(ctx, bin, 100, 10, 3000.0, seconds).await?;
    side.wrong += wrong(&report);
    side.p99_3000 = report.latency.p99 as f64;
    let (report, _) = rooms_at(ctx, bin, 100, 10, 6000.0, seconds).await?;
    side.wrong += wrong(&report);
    side.delivered_6000 = report.delivered_per_s();

    // One room of 100.
    let (report, _) = rooms_at(ctx, bin, 1, 100, 50.0, seconds).await?;
    side.wrong += wrong(&report);
    side.p99_one_room = report.latency.p99 as f64;

    // The sweep: rates up while the p99 holds.
    for rate in ctx.size(
        &[
            500.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0, 6000.0, 7000.0, 8000.0, 10_000.0,
            12_000.0, 14_000.0, 16_000.0, 20_000.0,
        ][..],
        &[250.0, 500.0][..],
    ) {
        // A rate fails when two tries in a row miss the p99: one stall of
        // a shared machine (CPU taken by its host) should not end the sweep.
        let mut passed = None;
        for _ in 0..SWEEP_TRIES {
            let (report, _) = rooms_at(ctx, bin, 100, 10, *rate, seconds).await?;
            side.wrong += wrong(&report);
            let p99_ms = report.latency.p99 as f64 / 1000.0;
            eprintln!(
                "loadgen: {NAME}: {rate} msg/s: p99 {p99_ms:.1} ms, {:.0} deliveries/s",
                report.delivered_per_s()
            );
            if p99_ms <= SWEEP_P99_MS {
                passed = Some(report.delivered_per_s());
                break;
            }
        }
        match passed {
            Some(delivered) => side.saturation = side.saturation.max(delivered),
            None => break,
        }
    }
    Ok(side)
}

/// Server memory per idle socket, two ways.
#[derive(Debug, Clone, Copy, Default)]
struct IdleMemory {
    /// RSS with every socket open, minus RSS before the first, per socket:
    /// also counts what the first connections cost once (code paged in on
    /// first use, the allocator's and the runtime's warm-up).
    whole: f64,
    /// What the second half of the sockets added, per socket: what each
    /// idle socket holds, once the server has served some.
    added: f64,
}

/// Server memory per idle socket: `sockets` authenticated sockets in
/// channels of 50, each reading, opened in two halves; RSS 3 s after the
/// last connect of each half.
async fn idle_memory(ctx: &Ctx, bin: &Path, sockets: usize) -> Result<IdleMemory> {
    let server = start(ctx, bin, &[]).await?;
    let first_half = sockets / 2;
    let halves = [
        seed::populate(&server, first_half.div_ceil(50), 50).await?,
        seed::populate(&server, (sockets - first_half).div_ceil(50), 50).await?,
    ];
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut rss = vec![server.rss_bytes()];
    let mut opened = Vec::new();
    let mut readers = Vec::new();
    let mut failed = 0;
    for population in &halves {
        let (open, connect) =
            load::open_peers(&server, population, CONNECT_CONCURRENCY, None).await;
        readers.push(keep_reading(open, population.channels.len()));
        if connect.failed > 0 {
            failed = connect.failed;
            break;
        }
        opened.push(connect.ok);
        tokio::time::sleep(Duration::from_secs(3)).await;
        rss.push(server.rss_bytes());
    }
    if failed > 0 {
        stop_reading(readers, server).await;
        return Err(format!("{failed} idle connects failed").into());
    }
    let (anon, file) = server.rss_anon_and_file();
    eprintln!(
        "loadgen: {NAME}: idle: server pid {}, RSS {:?} KiB (before, half, all); \
         at the end {} KiB anonymous, {} KiB file",
        server.pid(),
        rss.iter().map(|b| b / 1024).collect::<Vec<_>>(),
        anon / 1024,
        file / 1024,
    );
    if let Some(hold) = std::env::var("LOADGEN_HOLD_SECONDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        // For looking at the server meanwhile (heap profilers, smaps).
        tokio::time::sleep(Duration::from_secs(hold.min(600))).await;
        let (anon, file) = server.rss_anon_and_file();
        eprintln!(
            "loadgen: {NAME}: idle: {hold} s later: {} KiB anonymous, {} KiB file",
            anon / 1024,
            file / 1024
        );
    }
    stop_reading(readers, server).await;
    let per_socket =
        |from: u64, to: u64, n: usize| to.saturating_sub(from) as f64 / 1024.0 / n.max(1) as f64;
    Ok(IdleMemory {
        whole: per_socket(rss[0], rss[2], opened.iter().sum()),
        added: per_socket(rss[1], rss[2], opened[1]),
    })
}

/// Stops the idle readers of [`idle_memory`], then the server.
async fn stop_reading(readers: Vec<(Arc<Shared>, Vec<JoinHandle<ConnStats>>)>, server: Server) {
    for (reading, tasks) in readers {
        reading.stop.cancel();
        futures_util::future::join_all(tasks).await;
    }
    server.stop().await;
}

/// The idle-socket measure of the comparison on our server alone:
/// `LOADGEN_SOCKETS` (2,000) sockets; `LOADGEN_HOLD_SECONDS` keeps them
/// open that much longer (at most 600) for looking at the server.
pub async fn idle_sockets(ctx: &Ctx) -> Result<Vec<Row>> {
    let sockets = match std::env::var("LOADGEN_SOCKETS") {
        Ok(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("LOADGEN_SOCKETS={v:?} is not a positive number"))?,
        Err(_) => 2000,
    };
    let memory = idle_memory(ctx, &ctx.bin, sockets).await?;
    Ok(vec![
        Row::info(
            "idle-sockets",
            &format!("{sockets} idle sockets: server KiB per socket"),
            memory.whole,
            Unit::Decimal,
        ),
        Row::info(
            "idle-sockets",
            &format!("{sockets} idle sockets: server KiB per socket of the second half"),
            memory.added,
            Unit::Decimal,
        ),
    ])
}

/// One paced load on our server alone, for profiling and quick before/after
/// checks of the comparison's CPU measure: `LOADGEN_CHANNELS` (100) ×
/// `LOADGEN_MEMBERS` (10) at `LOADGEN_RATE` (500) messages a second for
/// `LOADGEN_SECONDS` (10). The server's pid is printed when the load
/// starts, for `perf record -p`.
pub async fn paced(ctx: &Ctx) -> Result<Vec<Row>> {
    fn knob(name: &str, default: f64) -> Result<f64> {
        match std::env::var(name) {
            Ok(v) => v
                .parse::<f64>()
                .ok()
                .filter(|v| *v > 0.0)
                .ok_or_else(|| format!("{name}={v:?} is not a positive number").into()),
            Err(_) => Ok(default),
        }
    }
    let channels = knob("LOADGEN_CHANNELS", 100.0)? as usize;
    let members = knob("LOADGEN_MEMBERS", 10.0)? as usize;
    let rate = knob("LOADGEN_RATE", 500.0)?;
    let seconds = Duration::from_secs_f64(knob("LOADGEN_SECONDS", 10.0)?);
    let (report, cpu) = rooms_at(ctx, &ctx.bin, channels, members, rate, seconds).await?;
    let name = "paced";
    let what = format!("{channels} × {members} at {rate} msg/s");
    Ok(vec![
        Row::info(
            name,
            &format!("{what}: server CPU seconds per 1,000 deliveries"),
            cpu / (report.delivered.max(1) as f64 / 1000.0),
            Unit::Decimal,
        ),
        Row::info(
            name,
            &format!("{what}: p99 send→receive"),
            report.latency.p99 as f64,
            Unit::Millis,
        ),
        Row::info(
            name,
            &format!("{what}: delivered per second"),
            report.delivered_per_s(),
            Unit::PerSecond,
        ),
        Row::zero(name, "lost, duplicated or reordered", wrong(&report)),
    ])
}

/// Messages lost, repeated or reordered in a run (only ours is held to
/// none: the reference is measured, not judged).
fn wrong(r: &LoadReport) -> u64 {
    r.lost + r.duplicated + r.reordered
}

/// `channels` × `members` at `rate` messages a second for `seconds`: the
/// report and the server's CPU seconds meanwhile.
async fn rooms_at(
    ctx: &Ctx,
    bin: &Path,
    channels: usize,
    members: usize,
    rate: f64,
    seconds: Duration,
) -> Result<(LoadReport, f64)> {
    let server = start(ctx, bin, &load_env()).await?;
    let population = seed::populate(&server, channels, members).await?;
    let (open, connect) = load::open_peers(&server, &population, CONNECT_CONCURRENCY, None).await;
    if connect.failed > 0 {
        server.stop().await;
        return Err(format!("{} of the connects failed", connect.failed).into());
    }
    let plan = SendPlan {
        senders_per_channel: members.min(5),
        rate: Some(rate),
        flood_window: 0,
        duration: seconds,
        padding: 60,
        edits: None,
    };
    eprintln!("loadgen: paced: load starts; server pid {}", server.pid());
    let cpu = server.cpu_seconds();
    let report = load::run(open, &population, vec![0; channels], &plan).await;
    let cpu = server.cpu_seconds() - cpu;
    server.stop().await;
    Ok((report, cpu))
}

/// A fresh server from `bin` on SQLite.
async fn start(ctx: &Ctx, bin: &Path, env: &[(&str, String)]) -> Result<Server> {
    let mut all: Vec<(&str, String)> = env.to_vec();
    all.extend(ctx.server_env.iter().map(|(k, v)| (k.as_str(), v.clone())));
    Prepared::new(&Backend::Sqlite)
        .await?
        .start(bin, &all)
        .await
}
