//! Search on a big channel (issue 18): one channel of 1,000,000 messages
//! and four of 20,000, all the searcher's, with words drawn from a
//! Zipf-distributed vocabulary (a few words are in most messages, most
//! words in few), stored through the store's own insert, so the index is
//! written the way the chat writes it. Then a seeded mix of queries, one
//! channel and all channels, timed by the server's own `Server-Timing`.

use std::sync::Arc;
use std::time::Instant;

use uuid::Uuid;

use chat::server::store::postgres::PgStore;
use chat::server::store::sqlite::SqliteStore;
use chat::server::store::Store;

use crate::checks::Percentiles;
use crate::report::{Goal, Row, Unit};
use crate::scenarios::{add_user, latency_rows, timed_gets, Ctx};
use crate::seed;
use crate::server::{Backend, Prepared};
use crate::words::{Vocabulary, VOCABULARY};
use crate::Result;

/// The kinds of query timed, each a seeded draw.
const KINDS: [&str; 6] = [
    "one common word",
    "one middling word",
    "one rare word",
    "two middling words",
    "a common and a rare word",
    "a word no message has",
];

fn query(vocabulary: &Vocabulary, kind: usize, rng: &mut fastrand::Rng) -> String {
    let w = |range: std::ops::Range<usize>, rng: &mut fastrand::Rng| {
        vocabulary.words[rng.usize(range)].clone()
    };
    match kind {
        0 => w(0..10, rng),
        1 => w(100..1_000, rng),
        2 => w(3_000..VOCABULARY, rng),
        3 => format!("{} {}", w(100..1_000, rng), w(100..1_000, rng)),
        4 => format!("{} {}", w(0..10, rng), w(3_000..VOCABULARY, rng)),
        _ => format!("zzq{}", rng.u32(..)),
    }
}

/// Search p50/p99 in one channel and in all channels, on `backend`.
pub async fn search(ctx: &Ctx, backend: &Backend) -> Result<Vec<Row>> {
    let name = format!("search ({})", backend.name());
    let big = ctx.size(1_000_000usize, 20_000);
    let small = ctx.size(20_000usize, 2_000);
    let per_kind = ctx.size(100usize, 10);
    let prepared = Prepared::new(backend).await?;
    let user = Uuid::new_v4();
    let channels: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
    let seeded = Instant::now();
    {
        let store: Arc<dyn Store> = match backend {
            Backend::Sqlite => Arc::new(SqliteStore::connect(&prepared.database_url, 2).await?),
            Backend::Postgres { .. } => {
                Arc::new(PgStore::connect(&prepared.database_url, 4, None).await?)
            }
        };
        add_user(store.as_ref(), user).await?;
        for (i, &c) in channels.iter().enumerate() {
            store
                .upsert_channel(c.into(), &format!("search {i}"), "#3b82f6")
                .await?;
            store.set_access(c.into(), user.into(), true).await?;
        }
        let vocabulary = Vocabulary::new();
        let mut rng = fastrand::Rng::with_seed(0x5ea7c4);
        for (i, &c) in channels.iter().enumerate() {
            let count = if i == 0 { big } else { small };
            seed::bulk_messages(store.as_ref(), c, user, count, |_| {
                vocabulary.message(&mut rng)
            })
            .await?;
        }
        // The server's indexer takes new messages in every
        // `search_flush_ms` (SQLite's index file, Postgres' words table and
        // then its GIN pending list), so searches meet a short list; a
        // load that bypasses the server is taken in here, as the server
        // would have during the load.
        store.flush_search_index().await?;
    }
    if let Backend::Postgres { .. } = backend {
        // As autovacuum would after a load like this: the planner needs the
        // new rows' statistics to choose between the search index and the
        // channel's seq index.
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&prepared.database_url).await?;
        sqlx::query("ANALYZE messages, message_words")
            .execute(&mut conn)
            .await?;
        conn.close().await?;
    }
    let stored = big + 4 * small;
    let seconds = seeded.elapsed().as_secs_f64();
    eprintln!("loadgen: stored and indexed {stored} messages in {seconds:.1} s");
    let server = ctx.start(prepared, &[]).await?;
    let token = server.token(user);
    let vocabulary = Vocabulary::new();
    let mut rows = vec![
        Row::info(
            &name,
            "messages in the big channel",
            big as f64,
            Unit::Count,
        ),
        Row::info(
            &name,
            "messages stored and indexed per second (batches of 5,000, seeding)",
            stored as f64 / seconds,
            Unit::Count,
        ),
    ];
    for (scope, label) in [(Some(channels[0]), "one channel"), (None, "all channels")] {
        let mut rng = fastrand::Rng::with_seed(0x9e7);
        let mut paths = Vec::new();
        let mut kinds = Vec::new();
        for round in 0..per_kind {
            for kind in 0..KINDS.len() {
                let q = query(&vocabulary, kind, &mut rng);
                let mut path = format!("/chat/search?q={}", q.replace(' ', "+"));
                if let Some(c) = scope {
                    path.push_str(&format!("&channel_id={c}"));
                }
                paths.push(path);
                kinds.push(kind);
                let _ = round;
            }
        }
        // Warm the path once.
        timed_gets(&server, &token, paths.iter().take(1).cloned()).await?;
        let mut by_kind: Vec<Vec<u64>> = vec![Vec::new(); KINDS.len()];
        let mut all = Vec::new();
        for (path, kind) in paths.iter().zip(&kinds) {
            let t = timed_gets(&server, &token, std::iter::once(path.clone())).await?;
            by_kind[*kind].push(t.server.p50);
            all.push(t.server.p50);
        }
        rows.extend(latency_rows(
            &name,
            &format!("{label}, server time"),
            &Percentiles::of(&mut all),
            ctx.goal(Goal::AtMost(20.0)),
        ));
        for (kind, mut times) in by_kind.into_iter().enumerate() {
            let p = Percentiles::of(&mut times);
            rows.push(Row::info(
                &name,
                &format!("{label}, {} p99", KINDS[kind]),
                p.p99 as f64,
                Unit::Millis,
            ));
        }
    }
    server.stop().await;
    Ok(rows)
}
