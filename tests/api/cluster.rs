//! Two servers on one PostgreSQL database behave as one: messages sent
//! through either reach clients on both in one order with nothing lost,
//! typing and read cursors cross over, and clients of a server that went
//! away resume on the other. Runs in the suite's Postgres pass
//! (`CHAT_TEST_POSTGRES`); on SQLite there is no cluster to test.

use serde_json::{json, Value};

use crate::helpers::*;

/// Two servers on one database, or `None` on SQLite.
async fn two_servers() -> Option<(TestApp, TestApp)> {
    two_servers_with(|_| {}).await
}

/// Two servers on one database, the first adjusted by `configure`.
async fn two_servers_with(
    configure: impl FnOnce(&mut chat::server::config::Settings),
) -> Option<(TestApp, TestApp)> {
    postgres_admin_url()?;
    let a = spawn_app_with(configure).await;
    let url = postgres_database_for(a.data_dir.path())
        .await
        .expect("a Postgres database");
    let b = spawn_app_with(move |s| s.database_url = Some(url.into())).await;
    Some((a, b))
}

/// Reads `n` `message.new` frames as `(seq, text)`.
async fn messages(ws: &mut WsClient, n: usize) -> Vec<(i64, String)> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let v = ws.next_frame_of_type("message.new", WAIT).await;
        out.push((seq(&v), v["text"].as_str().unwrap().to_string()));
    }
    out
}

/// Messages sent through both servers at once reach the clients of both, each once, in the same gap-free seq order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_cross_servers_in_one_order() {
    let Some((a, b)) = two_servers().await else {
        eprintln!("skipped: no CHAT_TEST_POSTGRES (SQLite run)");
        return;
    };
    let (alice, _) = a.login(ALICE).await;
    let (bob, _) = b.login(BOB).await;
    let general = a.channel_id(&alice, "General").await;
    let mut on_a = a.ws_join(&alice, &general).await;
    let mut on_b = b.ws_join(&bob, &general).await;
    let h0 = a.head_seq(&alice, "General").await;

    for i in 0..15 {
        on_a.send_message(&format!("from a {i}"), &client_id())
            .await;
        on_b.send_message(&format!("from b {i}"), &client_id())
            .await;
    }
    let seen_a = messages(&mut on_a, 30).await;
    let seen_b = messages(&mut on_b, 30).await;
    assert_eq!(seen_a, seen_b, "the two servers delivered different orders");
    let seqs: Vec<i64> = seen_a.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        seqs,
        ((h0 + 1)..=(h0 + 30)).collect::<Vec<_>>(),
        "gaps or repeats"
    );
    for side in ["a", "b"] {
        let own: Vec<&String> = seen_a
            .iter()
            .map(|(_, t)| t)
            .filter(|t| t.starts_with(&format!("from {side} ")))
            .collect();
        let expected: Vec<String> = (0..15).map(|i| format!("from {side} {i}")).collect();
        assert_eq!(
            own,
            expected.iter().collect::<Vec<_>>(),
            "{side}'s messages reordered"
        );
    }
    on_a.expect_no_frame_of_type("message.new", QUIET).await;
    on_b.expect_no_frame_of_type("message.new", QUIET).await;
}

/// Typing on one server shows on the other, and a read cursor moved through one server reaches the user's connection on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_and_read_cursors_cross_servers() {
    let Some((a, b)) = two_servers().await else {
        eprintln!("skipped: no CHAT_TEST_POSTGRES (SQLite run)");
        return;
    };
    let (alice, alice_id) = a.login(ALICE).await;
    let (bob, _) = b.login(BOB).await;
    let general = a.channel_id(&alice, "General").await;
    let mut alice_on_a = a.ws_join(&alice, &general).await;
    let mut bob_on_b = b.ws_join(&bob, &general).await;
    let mut alice_on_b = b.ws_join(&alice, &general).await;

    alice_on_a.send_json(&json!({"type": "typing.start"})).await;
    let typing = bob_on_b.next_frame_of_type("typing", WAIT).await;
    assert_eq!(typing["userId"], alice_id.as_str());
    assert_eq!(typing["isTyping"], true);

    let sent = bob_on_b.send_ok("read me").await;
    alice_on_a.next_frame_of_type("message.new", WAIT).await;
    let status = a
        .mark_read(&alice, &general, Some(seq(&sent)))
        .await
        .status();
    assert_eq!(status, 200);
    let updated = alice_on_b.next_frame_of_type("read.updated", WAIT).await;
    assert_eq!(updated["lastReadSeq"], seq(&sent));
}

/// When one server goes away, its clients resume on the other and get exactly what was sent meanwhile; the other server never stopped delivering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_a_stopped_server_resume_on_the_other() {
    let Some((a, b)) = two_servers().await else {
        eprintln!("skipped: no CHAT_TEST_POSTGRES (SQLite run)");
        return;
    };
    let (alice, _) = a.login(ALICE).await;
    let (bob, _) = b.login(BOB).await;
    let general = a.channel_id(&alice, "General").await;
    let mut alice_on_a = a.ws_join(&alice, &general).await;
    let mut bob_on_b = b.ws_join(&bob, &general).await;
    let last = seq(&bob_on_b.send_ok("before").await);
    alice_on_a.next_frame_of_type("message.new", WAIT).await;

    drop(alice_on_a);
    a.stop().await;
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(bob_on_b.send_ok(&format!("while a is gone {i}")).await);
    }

    let mut alice_on_b = b.ws_join(&alice, &general).await;
    alice_on_b
        .send_json(&json!({"type": "resume", "afterSeq": last}))
        .await;
    let mut replayed: Vec<Value> = Vec::new();
    loop {
        let v = alice_on_b
            .next_frame_matching("message.new or resume.done", WAIT, |v| {
                v["type"] == "message.new" || v["type"] == "resume.done"
            })
            .await;
        if v["type"] == "resume.done" {
            break;
        }
        replayed.push(v);
    }
    let got: Vec<i64> = replayed.iter().map(seq).collect();
    let want: Vec<i64> = sent.iter().map(seq).collect();
    assert_eq!(got, want, "resume on the other server");
}

/// Presence spans servers: a user online on one server is in `presence.state` and `presence.update` on the other, goes offline there at their last connection anywhere, and a server that shuts down takes its users offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_spans_servers() {
    let Some((a, b)) = two_servers().await else {
        eprintln!("skipped: no CHAT_TEST_POSTGRES (SQLite run)");
        return;
    };
    let (alice, alice_id) = a.login(ALICE).await;
    let (bob, bob_id) = b.login(BOB).await;
    let general = a.channel_id(&alice, "General").await;
    let mut alice_on_a = a.ws_join(&alice, &general).await;

    // The news of alice reaches server b through Postgres: poll briefly.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut bob_on_b = loop {
        let (ws, state) = b.ws_join_state(&bob, &general).await;
        let users = state["userIds"].as_array().unwrap().clone();
        if users.iter().any(|u| u == alice_id.as_str()) {
            assert!(users.iter().any(|u| u == bob_id.as_str()), "{state}");
            break ws;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "alice never appeared on b: {state}"
        );
        drop(ws);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let online = alice_on_a
        .next_frame_matching("bob online", WAIT, |v| {
            v["type"] == "presence.update"
                && v["userId"] == bob_id.as_str()
                && v["status"] == "online"
        })
        .await;
    assert_eq!(online["status"], "online");

    // Alice also connects on b, then leaves a: still online (b has her).
    let alice_on_b = b.ws_join(&alice, &general).await;
    drop(alice_on_a);
    bob_on_b
        .expect_no_frame_of_type("presence.update", QUIET)
        .await;
    drop(alice_on_b);
    let offline = bob_on_b.next_frame_of_type("presence.update", WAIT).await;
    assert_eq!(offline["userId"], alice_id.as_str());
    assert_eq!(offline["status"], "offline");

    // A server that shuts down takes its users offline on the others.
    let _alice_again = a.ws_join(&alice, &general).await;
    let back = bob_on_b.next_frame_of_type("presence.update", WAIT).await;
    assert_eq!(back["status"], "online", "{back}");
    a.stop().await;
    let gone = bob_on_b.next_frame_of_type("presence.update", WAIT).await;
    assert_eq!(gone["userId"], alice_id.as_str());
    assert_eq!(gone["status"], "offline");
}

/// Revoking access through one server closes the user's socket on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_closes_sockets_on_every_server() {
    const KEY: &str = "cluster-admin-key-0123456789abcdef012345";
    let Some((a, b)) = two_servers_with(|s| s.admin_key = Some(KEY.into())).await else {
        eprintln!("skipped: no CHAT_TEST_POSTGRES (SQLite run)");
        return;
    };
    let (carol, carol_id) = b.login(CAROL).await;
    let general = b.channel_id(&carol, "General").await;
    let mut carol_on_b = b.ws_join(&carol, &general).await;
    let res = a
        .api
        .delete(a.url(&format!("/admin/tablos/{general}/members/{carol_id}")))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let err = carol_on_b.next_frame_of_type("error", WAIT).await;
    assert_eq!(err["code"], "FORBIDDEN");
    let close = carol_on_b.next_close(WAIT).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);
}
