//! The scenario's users, channels and memberships, created through the
//! server's admin API (the same path the host app uses), and messages
//! bulk-loaded through the store before the server starts.

use std::sync::Arc;

use chrono::Utc;
use futures_util::StreamExt;
use serde_json::json;
use uuid::Uuid;

use chat::server::store::{NewMessage, Store};

use crate::server::Server;
use crate::Result;

/// Admin API requests in flight while seeding.
const SEED_CONCURRENCY: usize = 32;

/// One simulated client: a user connected to one channel.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The user.
    pub user: Uuid,
    /// Index into [`Population::channels`].
    pub channel: usize,
    /// Its place among its channel's peers (0 first).
    pub rank: usize,
    /// Its bearer token.
    pub token: String,
}

/// Channels and the peers that use them.
#[derive(Debug, Clone)]
pub struct Population {
    /// Channel ids.
    pub channels: Vec<Uuid>,
    /// Peers, channel by channel (`per_channel` each).
    pub peers: Vec<Peer>,
}

/// `/admin/*` calls with the server's service key.
pub struct Admin {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Admin {
    /// A client for `server`.
    pub fn new(server: &Server) -> Self {
        Admin {
            http: reqwest::Client::new(),
            base: server.base_url(),
            key: server.admin_key.clone(),
        }
    }

    async fn put(&self, path: &str, body: Option<serde_json::Value>) -> Result<()> {
        let mut req = self
            .http
            .put(format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        if !res.status().is_success() {
            return Err(format!("PUT {path}: {} {}", res.status(), res.text().await?).into());
        }
        Ok(())
    }

    /// Creates a channel.
    pub async fn tablo(&self, id: Uuid, name: &str) -> Result<()> {
        self.put(
            &format!("/admin/tablos/{id}"),
            Some(json!({ "name": name })),
        )
        .await
    }

    /// Creates a user.
    pub async fn user(&self, id: Uuid) -> Result<()> {
        let short = id.simple().to_string();
        self.put(
            &format!("/admin/users/{id}"),
            Some(json!({ "email": format!("{short}@load.invalid"), "display_name": format!("load {}", &short[..8]) })),
        )
        .await
    }

    /// Grants `user` access to `tablo`.
    pub async fn grant(&self, tablo: Uuid, user: Uuid) -> Result<()> {
        self.put(&format!("/admin/tablos/{tablo}/members/{user}"), None)
            .await
    }
}

/// Creates `channels` channels with `per_channel` new users in each.
pub async fn populate(server: &Server, channels: usize, per_channel: usize) -> Result<Population> {
    let admin = Arc::new(Admin::new(server));
    let channel_ids: Vec<Uuid> = (0..channels).map(|_| Uuid::new_v4()).collect();
    run_all(channel_ids.iter().enumerate().map(|(i, id)| {
        let admin = admin.clone();
        let id = *id;
        async move { admin.tablo(id, &format!("load {i}")).await }
    }))
    .await?;
    let peers: Vec<Peer> = (0..channels * per_channel)
        .map(|i| {
            let user = Uuid::new_v4();
            Peer {
                user,
                channel: i / per_channel,
                rank: i % per_channel,
                token: server.token(user),
            }
        })
        .collect();
    run_all(peers.iter().map(|p| {
        let admin = admin.clone();
        let (user, tablo) = (p.user, channel_ids[p.channel]);
        async move {
            admin.user(user).await?;
            admin.grant(tablo, user).await
        }
    }))
    .await?;
    Ok(Population {
        channels: channel_ids,
        peers,
    })
}

/// Runs admin calls with bounded concurrency; the first error wins.
pub async fn run_all<F>(calls: impl Iterator<Item = F>) -> Result<()>
where
    F: std::future::Future<Output = Result<()>>,
{
    let mut results = futures_util::stream::iter(calls).buffer_unordered(SEED_CONCURRENCY);
    while let Some(r) = results.next().await {
        r?;
    }
    Ok(())
}

/// Stores `count` messages from `user` in `channel` through the store's own
/// group-commit insert (batches of 5,000, so the search index is written as
/// sends write it), the `i`th with the text `text(i)`, before the server
/// starts.
pub async fn bulk_messages(
    store: &dyn Store,
    channel: Uuid,
    user: Uuid,
    count: usize,
    mut text: impl FnMut(usize) -> String,
) -> Result<()> {
    const BATCH: usize = 5_000;
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let batch: Vec<NewMessage> = (done..done + n)
            .map(|i| NewMessage {
                id: Uuid::new_v4().into(),
                channel_id: channel.into(),
                user_id: user.into(),
                client_id: format!("seed-{i}").into(),
                text: text(i),
                created_at: Utc::now(),
                reply_to: None,
                thread: None,
                mentions: Vec::new(),
                attachments: Vec::new(),
            })
            .collect();
        for r in store.insert_messages(&batch).await {
            r?;
        }
        done += n;
    }
    Ok(())
}

/// Stores `count` messages from `user` in `channel` of a SQLite database
/// in one SQL statement (the server is not running yet). A benchmark's
/// million messages take seconds this way instead of minutes through the
/// store's per-message path; `bulk_messages` is the path for small counts.
pub async fn bulk_messages_sql(
    database_url: &str,
    channel: Uuid,
    user: Uuid,
    count: usize,
) -> Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(database_url).await?;
    let start = Utc::now().timestamp_micros() - count as i64;
    let mut tx = conn.begin().await?;
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
         INSERT INTO messages (id, channel_id, seq, user_id, client_id, text, created_at) \
         SELECT randomblob(16), ?2, i, ?3, 'seed-' || i, \
           'history message ' || i || ': the quick brown fox jumps over the lazy dog', ?4 + i \
         FROM n",
    )
    .bind(count as i64)
    .bind(channel)
    .bind(user)
    .bind(start)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE tablos SET last_seq = ?1, last_message_at = ?2 WHERE id = ?3")
        .bind(count as i64)
        .bind(start + count as i64)
        .bind(channel)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    conn.close().await?;
    Ok(())
}
