//! Mentions (PROTOCOL.md "Mentions") over the socket, the JSON routes and
//! two servers: what the server keeps of the declared ids, the unread
//! mention counts in the channel list, `/chat/unread`, `channel.activity`
//! and `read.updated`, edits that replace them, and deletes. Runs on SQLite
//! and again on Postgres (two servers only there).

use serde_json::{json, Value};

use crate::helpers::*;

/// A `message.send` frame mentioning `mentions`.
fn mention_frame(text: &str, client_id: &str, mentions: &[&str]) -> Value {
    let mut frame = send_frame(text, client_id);
    frame["mentions"] = json!(mentions);
    frame
}

impl WsClient {
    /// Sends a message mentioning `mentions` and waits for its copy.
    async fn mention_ok(&mut self, text: &str, mentions: &[&str]) -> Value {
        let key = client_id();
        self.send_json(&mention_frame(text, &key, mentions)).await;
        self.await_own(&key, WAIT).await
    }
}

impl TestApp {
    /// `unread_mentions` of a channel in the caller's list.
    async fn unread_mentions(&self, token: &str, name: &str) -> i64 {
        self.channel(token, name).await["unread_mentions"]
            .as_i64()
            .unwrap()
    }
}

/// The server keeps each mentioned member once, in order, and drops ids
/// that are not members (no error); the mentioned member's counts (list,
/// summary, live `channel.activity` in another channel) go up, the
/// author's do not, and reading brings `read.updated` with zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_are_kept_for_members_and_counted_until_read() {
    let app = spawn_app_with(generous_rate_limits).await;
    let (alice, alice_id) = app.login(ALICE).await;
    let (bob, bob_id) = app.login(BOB).await;
    let (_, carol_id) = app.login(CAROL).await;
    // Product: alice and bob only.
    let product = app.channel_id(&alice, "Product").await;
    let general = app.channel_id(&bob, "General").await;
    app.mark_all_read(&bob).await;
    let mut a = app.ws_join(&alice, &product).await;
    let mut bob_elsewhere = app.ws_join(&bob, &general).await;

    let stranger = uuid::Uuid::new_v4().to_string();
    let m = a
        .mention_ok(
            "@Bob can you look?",
            &[&bob_id, &carol_id, &bob_id, &stranger, &alice_id],
        )
        .await;
    assert_eq!(
        m["mentions"],
        json!([bob_id, alice_id]),
        "members, once, in order"
    );
    let activity = bob_elsewhere
        .next_frame_matching("channel.activity", WAIT, |v| {
            v["type"] == "channel.activity" && v["channelId"] == product
        })
        .await;
    assert_eq!(activity["unreadMentions"], 1);
    // A message that does not mention bob carries no count for him.
    a.send_ok("no mention here").await;
    let plain = bob_elsewhere
        .next_frame_matching("channel.activity", WAIT, |v| {
            v["type"] == "channel.activity" && v["channelId"] == product
        })
        .await;
    assert!(plain.get("unreadMentions").is_none(), "{plain}");

    assert_eq!(app.unread_mentions(&bob, "Product").await, 1);
    assert_eq!(
        app.unread_mentions(&alice, "Product").await,
        0,
        "not one's own"
    );
    let unread = app.unread(&bob).await;
    let entry = unread.iter().find(|e| e["channel_id"] == product).unwrap();
    assert_eq!(
        (
            entry["unread_count"].as_i64(),
            entry["unread_mentions"].as_i64()
        ),
        (Some(2), Some(1))
    );
    // History shows the mentions too.
    let page = app.history(&bob, &product, &[]).await;
    let shown = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == m["id"])
        .unwrap();
    assert_eq!(shown["mentions"], json!([bob_id, alice_id]));

    app.mark_read(&bob, &product, None).await;
    let read = bob_elsewhere
        .next_frame_matching("read.updated", WAIT, |v| {
            v["type"] == "read.updated" && v["channelId"] == product
        })
        .await;
    assert_eq!(read["unreadMentions"], 0);
    assert_eq!(app.unread_mentions(&bob, "Product").await, 0);
}

/// An edit with `mentions` replaces them (route and socket), one without
/// keeps them; a delete takes the message out of the counts; more than
/// the limit are dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_replace_mentions_and_deletes_drop_them() {
    let app = spawn_app_with(|s| {
        generous_rate_limits(s);
        s.limits.max_mentions = 1;
    })
    .await;
    let mut p = app.alice_and_bob_in("General").await;
    let (carol, carol_id) = app.login(CAROL).await;
    app.mark_all_read(&p.bob).await;
    app.mark_all_read(&carol).await;
    let m = p.a.mention_ok("hello both", &[&p.bob_id, &carol_id]).await;
    assert_eq!(m["mentions"], json!([p.bob_id]), "at most one here");
    let id = m["id"].as_str().unwrap();
    assert_eq!(app.unread_mentions(&p.bob, "General").await, 1);

    let (status, body) = app
        .edit(
            &p.alice,
            &p.channel,
            id,
            json!({"text": "hello carol", "mentions": [carol_id]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"]["mentions"], json!([carol_id]));
    assert_eq!(app.unread_mentions(&p.bob, "General").await, 0);
    assert_eq!(app.unread_mentions(&carol, "General").await, 1);

    p.a.send_json(
        &json!({"type": "message.edit", "id": id, "text": "hello again", "clientId": client_id()}),
    )
    .await;
    let updated =
        p.b.next_frame_matching("message.updated", WAIT, |v| {
            v["type"] == "message.updated" && v["text"] == "hello again"
        })
        .await;
    assert_eq!(
        updated["mentions"],
        json!([carol_id]),
        "an edit without mentions keeps them"
    );

    let (status, _) = app.delete(&p.alice, &p.channel, id).await;
    assert_eq!(status, 200);
    assert_eq!(app.unread_mentions(&carol, "General").await, 0);
}

/// Two servers on one database: a mention sent through one reaches the
/// mentioned member's socket on the other with its count, and their list
/// there says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_on_one_server_counts_on_the_other() {
    let Some((a, b)) = crate::cluster::two_servers().await else {
        eprintln!("skipped: no CHAT_TEST_POSTGRES (SQLite run)");
        return;
    };
    let (alice, _) = a.login(ALICE).await;
    let (bob, bob_id) = b.login(BOB).await;
    let product = a.channel_id(&alice, "Product").await;
    let general = b.channel_id(&bob, "General").await;
    b.mark_all_read(&bob).await;
    let mut on_a = a.ws_join(&alice, &product).await;
    let mut bob_on_b = b.ws_join(&bob, &general).await;
    on_a.mention_ok("@Bob ping", &[&bob_id]).await;
    let activity = bob_on_b
        .next_frame_matching("channel.activity", WAIT, |v| {
            v["type"] == "channel.activity" && v["channelId"] == product
        })
        .await;
    assert_eq!(activity["unreadMentions"], 1);
    assert_eq!(b.unread_mentions(&bob, "Product").await, 1);
    assert_eq!(a.unread_mentions(&bob, "Product").await, 1);
}
