//! Demo data and restarts: demo data only when asked and only once; messages,
//! `seq` and idempotency keys survive a restart on the same data directory.

use std::collections::HashSet;

use serde_json::Value;

use crate::helpers::*;

/// Without `demo_data`, no demo users exist: alice cannot log in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_data_is_not_created_unless_asked() {
    let app = spawn_app_with(|s| s.demo_data = false).await;
    let resp = app.post_login(ALICE, PASSWORD).await;
    assert_eq!(resp.status().as_u16(), 401);
}

/// Demo data is created once: a restart with demo data still on does not duplicate users or channels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_data_is_created_only_once_across_restarts() {
    let app = spawn_app().await;
    let (alice, alice_id) = app.login(ALICE).await;
    let before: Vec<Value> = app.channels(&alice).await;
    let dir = app.stop().await;

    let app = spawn_app_in(dir, |_| {}).await;
    let (alice, alice_id_after) = app.login(ALICE).await;
    assert_eq!(alice_id, alice_id_after, "alice was re-created");
    let after = app.channels(&alice).await;
    let ids = |list: &[Value]| -> HashSet<String> {
        list.iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(after.len(), 4, "channels after restart: {after:?}");
    assert_eq!(ids(&before), ids(&after), "channels were re-created");
    for c in &after {
        let expected = if c["name"] == "Product" { 2 } else { 3 };
        assert_eq!(
            c["member_count"], expected,
            "members of {} after restart",
            c["name"]
        );
    }
}

/// Messages survive a restart, and `seq` continues from the stored head with no gap or reuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_and_seq_survive_a_restart() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let mut ws = app.ws_join(&alice, &general).await;
    let sent = ws.send_many(3, "before restart").await;
    let head = seq(sent.last().unwrap());
    drop(ws);
    let dir = app.stop().await;

    let app = spawn_app_in(dir, |_| {}).await;
    let (alice, _) = app.login(ALICE).await;
    assert_eq!(app.head_seq(&alice, "General").await, head);
    let after = (head - 3).to_string();
    let page = app
        .history(&alice, &general, &[("after_seq", after.as_str())])
        .await;
    let ids: Vec<&Value> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    let sent_ids: Vec<&Value> = sent.iter().map(|m| &m["id"]).collect();
    assert_eq!(ids, sent_ids, "messages lost in a restart");
    let mut ws = app.ws_join(&alice, &general).await;
    assert_eq!(seq(&ws.send_ok("after restart").await), head + 1);
}

/// A retry with the same clientId after a server restart still returns the original message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_retry_survives_a_restart() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let cid = client_id();
    let mut ws = app.ws_join(&alice, &general).await;
    ws.send_message("sent before restart", &cid).await;
    let first = ws.await_own(&cid, WAIT).await;
    drop(ws);
    let dir = app.stop().await;

    let app = spawn_app_in(dir, |_| {}).await;
    let (alice, _) = app.login(ALICE).await;
    let mut ws = app.ws_join(&alice, &general).await;
    ws.send_message("sent before restart", &cid).await;
    let again = ws.await_own(&cid, WAIT).await;
    for key in ["id", "seq", "createdAt"] {
        assert_eq!(first[key], again[key], "retry after restart changed {key}");
    }
    assert_eq!(app.head_seq(&alice, "General").await, seq(&first));
}
