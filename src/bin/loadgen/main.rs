//! `loadgen`: the chat's load generator and benchmark runner.
//!
//! Each scenario starts the real `chat` binary on a free loopback port with
//! a temporary database, creates its users, channels and memberships
//! through the admin API, drives it with real WebSocket and HTTP clients,
//! checks that no receiver lost, repeated or reordered a message, and
//! prints a table. Everything is bounded in count and time and stays on
//! loopback. `scripts/bench.sh` runs it; docs/BENCHMARKS.md has the results.

mod checks;
mod compare;
mod conn;
mod load;
// Shared with the tests (tests/support/server_process.rs), which use the
// parts the load generator does not.
#[allow(dead_code)]
mod process;
mod reactions;
mod report;
mod scenarios;
mod search;
mod seed;
mod server;
mod uploads;
mod words;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use report::Row;
use scenarios::Ctx;
use server::Backend;

/// Errors end a scenario with a message.
pub type Result<T> = std::result::Result<T, BoxError>;

/// Any error, sent between tasks.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every scenario, in the order `all` runs them.
const ALL: &[&str] = &[
    "idle",
    "storm",
    "one-room",
    "many-rooms",
    "many-rooms-edits",
    "reactions",
    "writes",
    "history",
    "unread",
    "search",
    "slow-consumer",
    "soak",
    "uploads",
];

/// Scenarios run only when named (they run others several times over):
/// `search-writes` is `writes` ten times, with the search index on and off;
/// `compare` runs our server and the Node.js reference (`bench/node-ref`)
/// side by side.
/// `paced` and `idle-sockets` are measures of `compare` on our server alone,
/// sized by environment variables (for profiling).
const NAMED_ONLY: &[&str] = &["search-writes", "compare", "paced", "idle-sockets"];

/// Load generator and benchmarks for the chat server (loopback only).
#[derive(Debug, Parser)]
#[command(name = "loadgen")]
struct Cli {
    /// `all`, `smoke` (small, correctness only: fails on any lost,
    /// duplicated or reordered message), or scenarios separated by commas:
    /// idle, storm, one-room, many-rooms, many-rooms-edits, reactions,
    /// writes, history, unread, search, slow-consumer, soak, uploads; and,
    /// only when named, search-writes and compare (against the Node.js
    /// reference of bench/node-ref, `LOADGEN_NODE_REF` or that folder's
    /// run.sh) and paced (one load of compare on our server alone:
    /// `LOADGEN_CHANNELS`, `LOADGEN_MEMBERS`, `LOADGEN_RATE`,
    /// `LOADGEN_SECONDS`) and idle-sockets (`LOADGEN_SOCKETS`,
    /// `LOADGEN_HOLD_SECONDS`).
    #[arg(default_value = "all")]
    scenarios: String,
    /// Small sizes: seconds per scenario; speed targets are not claimed.
    #[arg(long)]
    quick: bool,
    /// Runs of each scenario; the table shows medians (worst for
    /// correctness counts).
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// The server binary (default: `chat` next to this program).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// A Postgres URL with the right to create databases: the durable-writes
    /// scenario also runs there (in a database of its own, dropped after).
    #[arg(long, env = "LOADGEN_POSTGRES")]
    postgres: Option<String>,
    /// A server setting for every scenario, `NAME=VALUE` (repeatable), for
    /// trying settings: `--server-env CHAT_WS_READ_BUFFER=1024`.
    #[arg(long = "server-env", value_parser = parse_env)]
    server_env: Vec<(String, String)>,
    /// Also write the table to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let bin = match &cli.server_bin {
        Some(p) => p.clone(),
        None => match std::env::current_exe() {
            Ok(me) => me.with_file_name("chat"),
            Err(e) => {
                eprintln!("loadgen: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    if !bin.exists() {
        eprintln!(
            "loadgen: no server binary at {} (build it with `cargo build --features ssr`, or pass --server-bin)",
            bin.display()
        );
        return ExitCode::FAILURE;
    }
    let smoke = cli.scenarios == "smoke";
    let names: Vec<String> = match cli.scenarios.as_str() {
        "all" => ALL.iter().map(|s| s.to_string()).collect(),
        "smoke" => [
            "one-room",
            "many-rooms",
            "many-rooms-edits",
            "reactions",
            "writes",
            "search-writes",
            "search",
            "slow-consumer",
            "soak",
            "uploads",
        ]
        .map(String::from)
        .to_vec(),
        list => list.split(',').map(|s| s.trim().to_string()).collect(),
    };
    if let Some(bad) = names
        .iter()
        .find(|n| !ALL.contains(&n.as_str()) && !NAMED_ONLY.contains(&n.as_str()))
    {
        eprintln!(
            "loadgen: unknown scenario {bad:?}; known: {}, {}",
            ALL.join(", "),
            NAMED_ONLY.join(", ")
        );
        return ExitCode::FAILURE;
    }
    let ctx = Ctx {
        server_env: cli.server_env.clone(),
        bin,
        quick: cli.quick || smoke,
        postgres: cli
            .postgres
            .clone()
            .map(|admin_url| Backend::Postgres { admin_url }),
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut failed = false;
    for name in &names {
        let mut runs = Vec::new();
        for run in 1..=cli.runs.max(1) {
            eprintln!("loadgen: {name} (run {run} of {})", cli.runs.max(1));
            match run_scenario(&ctx, name).await {
                Ok(r) => runs.push(r),
                Err(e) => {
                    eprintln!("loadgen: {name} failed: {e}");
                    failed = true;
                }
            }
        }
        let combined = report::combine_runs(&runs);
        eprint!("{}", report::table(&combined, !ctx.quick));
        rows.extend(combined);
    }
    let table = report::table(&rows, !ctx.quick);
    println!("{table}");
    if let Some(out) = &cli.out {
        if let Err(e) = std::fs::write(out, &table) {
            eprintln!("loadgen: writing {}: {e}", out.display());
            failed = true;
        }
    }
    let wrong = rows
        .iter()
        .filter(|r| r.correctness && r.met() == Some(false))
        .count();
    if wrong > 0 {
        eprintln!("loadgen: {wrong} correctness checks failed");
        failed = true;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn parse_env(raw: &str) -> std::result::Result<(String, String), String> {
    raw.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{raw:?} is not NAME=VALUE"))
}

async fn run_scenario(ctx: &Ctx, name: &str) -> Result<Vec<Row>> {
    match name {
        "idle" => scenarios::idle(ctx).await,
        "storm" => scenarios::storm(ctx).await,
        "one-room" => scenarios::one_room(ctx).await,
        "many-rooms" => scenarios::many_rooms(ctx).await,
        "many-rooms-edits" => scenarios::many_rooms_edits(ctx).await,
        "reactions" => {
            let mut rows = reactions::reactions(ctx, &Backend::Sqlite).await?;
            if let Some(pg) = &ctx.postgres {
                rows.extend(reactions::reactions(ctx, pg).await?);
            }
            Ok(rows)
        }
        "writes" => {
            let mut rows = scenarios::writes(ctx, &Backend::Sqlite).await?;
            if let Some(pg) = &ctx.postgres {
                rows.extend(scenarios::writes(ctx, pg).await?);
            }
            Ok(rows)
        }
        "search-writes" => {
            let mut rows = scenarios::search_writes(ctx, &Backend::Sqlite).await?;
            if let Some(pg) = &ctx.postgres {
                rows.extend(scenarios::search_writes(ctx, pg).await?);
            }
            Ok(rows)
        }
        "history" => scenarios::history(ctx).await,
        "unread" => scenarios::unread(ctx).await,
        "search" => {
            let mut rows = search::search(ctx, &Backend::Sqlite).await?;
            if let Some(pg) = &ctx.postgres {
                rows.extend(search::search(ctx, pg).await?);
            }
            Ok(rows)
        }
        "slow-consumer" => scenarios::slow_consumer(ctx).await,
        "soak" => scenarios::soak(ctx).await,
        "uploads" => uploads::uploads(ctx).await,
        "compare" => compare::compare(ctx).await,
        "paced" => compare::paced(ctx).await,
        "idle-sockets" => compare::idle_sockets(ctx).await,
        other => Err(format!("unknown scenario {other}").into()),
    }
}
