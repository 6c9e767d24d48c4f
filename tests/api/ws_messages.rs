//! Sending and receiving over the WebSocket: `message.new` fan-out, the
//! per-channel `seq` order (also under concurrent senders), persist before
//! broadcast, and idempotent retries by `clientId`.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

/// Asserts the contract's `message.new` shape.
fn assert_message_new_shape(v: &Value) {
    assert_eq!(v["type"], "message.new");
    for key in [
        "id",
        "channelId",
        "seq",
        "userId",
        "text",
        "createdAt",
        "clientId",
    ] {
        assert!(v.get(key).is_some(), "message.new lacks {key}: {v}");
    }
    assert!(v["seq"].is_i64(), "{v}");
    assert_rfc3339(&v["createdAt"], "createdAt");
}

/// Counts stored rows with this client id.
async fn stored_with_client_id(app: &TestApp, client_id: &str) -> i64 {
    app.db()
        .await
        .count_where(("messages", "client_id"), client_id)
        .await
}

/// `message.new` reaches every connection in the channel, the sender's included, with the contract's fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_new_reaches_every_connection_sender_included() {
    let app = spawn_app().await;
    let (alice, alice_id) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let (carol, _) = app.login(CAROL).await;
    let general = app.channel_id(&alice, "General").await;
    let h0 = app.head_seq(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b1 = app.ws_join(&bob, &general).await;
    let mut b2 = app.ws_join(&bob, &general).await;
    let mut c = app.ws_join(&carol, &general).await;

    let cid = client_id();
    a.send_message("hello everyone", &cid).await;
    let expected = json!({
        "type": "message.new",
        "channelId": general,
        "seq": h0 + 1,
        "userId": alice_id,
        "text": "hello everyone",
        "clientId": cid,
    });
    let mut ids = Vec::new();
    for ws in [&mut a, &mut b1, &mut b2, &mut c] {
        let m = ws.next_frame_of_type("message.new", WAIT).await;
        assert_message_new_shape(&m);
        for (k, v) in expected.as_object().unwrap() {
            assert_eq!(&m[k], v, "field {k} of {m}");
        }
        ids.push((m["id"].clone(), m["createdAt"].clone()));
    }
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "connections disagree: {ids:?}"
    );
}

/// A message is stored before anyone sees its `message.new`: history has it as soon as the frame arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_new_is_sent_only_after_the_message_is_stored() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    for i in 0..5 {
        let cid = client_id();
        a.send_message(&format!("durable {i}"), &cid).await;
        let m = b.next_frame_of_type("message.new", WAIT).await;
        let after = (seq(&m) - 1).to_string();
        let page = app.history(&bob, &general, &[("after_seq", &after)]).await;
        assert_eq!(
            page["messages"][0]["id"], m["id"],
            "not stored when broadcast: {m}"
        );
        assert_eq!(stored_with_client_id(&app, &cid).await, 1);
    }
}

/// Sequential sends get seq head+1, head+2, ... with no gaps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seq_increments_by_one_per_message_without_gaps() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let h0 = app.head_seq(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    let mut seqs = Vec::new();
    for i in 0..6 {
        let ws = if i % 2 == 0 { &mut a } else { &mut b };
        seqs.push(seq(&ws.send_ok(&format!("n{i}")).await));
    }
    assert_eq!(seqs, ((h0 + 1)..=(h0 + 6)).collect::<Vec<_>>());
}

/// `seq` is counted per channel: a message in Design does not advance General.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seq_is_counted_per_channel() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let design = app.channel_id(&alice, "Design").await;
    let g0 = app.head_seq(&alice, "General").await;
    let d0 = app.head_seq(&alice, "Design").await;
    let mut g = app.ws_join(&alice, &general).await;
    let mut d = app.ws_join(&alice, &design).await;
    assert_eq!(seq(&g.send_ok("g1").await), g0 + 1);
    assert_eq!(seq(&d.send_ok("d1").await), d0 + 1);
    assert_eq!(seq(&d.send_ok("d2").await), d0 + 2);
    assert_eq!(seq(&g.send_ok("g2").await), g0 + 2);
}

/// With 4 connections each sending 50 messages concurrently, every client sees seqs head+1..=head+200 in one order, and the DB agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_senders_get_one_gapless_order_seen_by_every_client() {
    const CLIENTS: usize = 4;
    const PER_CLIENT: usize = 50;
    const TOTAL: usize = CLIENTS * PER_CLIENT;
    let app = spawn_app_with(generous_rate_limits).await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let (carol, _) = app.login(CAROL).await;
    let general = app.channel_id(&alice, "General").await;
    let h0 = app.head_seq(&alice, "General").await;
    let mut clients = Vec::new();
    for token in [&alice, &bob, &carol, &alice] {
        clients.push(app.ws_join(token, &general).await);
    }

    let mut tasks = Vec::new();
    for (n, mut ws) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_CLIENT {
                ws.send_message(&format!("conc c{n} m{i}"), &client_id())
                    .await;
                tokio::task::yield_now().await;
            }
            let mut seen = Vec::new();
            while seen.len() < TOTAL {
                let m = ws
                    .next_frame_matching("message.new", Duration::from_secs(20), |v| {
                        v["type"] == "message.new" || v["type"] == "error"
                    })
                    .await;
                assert_eq!(m["type"], "message.new", "client {n}: {m}");
                seen.push((
                    seq(&m),
                    m["id"].as_str().unwrap().to_string(),
                    m["text"].as_str().unwrap().to_string(),
                ));
            }
            seen
        }));
    }
    let mut views = Vec::new();
    for task in tasks {
        views.push(
            tokio::time::timeout(Duration::from_secs(60), task)
                .await
                .expect("client task timed out")
                .expect("client task failed"),
        );
    }

    let expected: Vec<i64> = ((h0 + 1)..=(h0 + TOTAL as i64)).collect();
    for (n, view) in views.iter().enumerate() {
        let seqs: Vec<i64> = view.iter().map(|(s, _, _)| *s).collect();
        assert_eq!(
            seqs, expected,
            "client {n} saw seqs out of order or with gaps"
        );
        assert_eq!(
            view, &views[0],
            "client {n} saw a different order than client 0"
        );
    }
    // Each sender's own messages keep their send order.
    for n in 0..CLIENTS {
        let own: Vec<&str> = views[0]
            .iter()
            .filter(|(_, _, t)| t.starts_with(&format!("conc c{n} ")))
            .map(|(_, _, t)| t.as_str())
            .collect();
        let sent: Vec<String> = (0..PER_CLIENT).map(|i| format!("conc c{n} m{i}")).collect();
        assert_eq!(own, sent, "sender {n}'s messages reordered");
    }

    let stored = app
        .db()
        .await
        .int_text_rows("SELECT seq, text FROM messages WHERE text LIKE 'conc %' ORDER BY seq")
        .await;
    let seen: Vec<(i64, String)> = views[0].iter().map(|(s, _, t)| (*s, t.clone())).collect();
    assert_eq!(stored, seen, "the DB disagrees with what clients saw");
}

/// A retry with the same clientId answers the original message (same id, seq, createdAt) and stores nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_with_same_client_id_returns_the_original_and_stores_nothing() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let cid = client_id();
    a.send_message("only once", &cid).await;
    let first = a.await_own(&cid, WAIT).await;
    a.send_message("only once", &cid).await;
    let again = a.await_own(&cid, WAIT).await;
    for key in ["id", "seq", "createdAt", "channelId", "userId", "text"] {
        assert_eq!(first[key], again[key], "retry changed {key}");
    }
    assert_eq!(stored_with_client_id(&app, &cid).await, 1);
    assert_eq!(
        app.head_seq(&alice, "General").await,
        seq(&first),
        "head moved"
    );
    // The next new message follows directly.
    assert_eq!(seq(&a.send_ok("next").await), seq(&first) + 1);
}

/// A retry is answered to the sender only: other connections do not get a second `message.new`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_with_same_client_id_is_not_broadcast_again() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    let cid = client_id();
    a.send_message("once for bob", &cid).await;
    a.await_own(&cid, WAIT).await;
    b.next_frame_of_type("message.new", WAIT).await;
    a.send_message("once for bob", &cid).await;
    a.await_own(&cid, WAIT).await;
    b.expect_no_frame_of_type("message.new", QUIET).await;
}

/// A retry after reconnecting (new connection, same clientId) still returns the original and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_reconnect_returns_the_original_and_stores_nothing() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let cid = client_id();
    let mut a = app.ws_join(&alice, &general).await;
    a.send_message("survives reconnect", &cid).await;
    let first = a.await_own(&cid, WAIT).await;
    drop(a);

    let mut a = app.ws_join(&alice, &general).await;
    a.send_message("survives reconnect", &cid).await;
    let again = a.await_own(&cid, WAIT).await;
    for key in ["id", "seq", "createdAt"] {
        assert_eq!(
            first[key], again[key],
            "retry after reconnect changed {key}"
        );
    }
    assert_eq!(stored_with_client_id(&app, &cid).await, 1);
}

/// A client that drops its connection right after sending, before any
/// echo can arrive, and retries on a new connection: the message is stored
/// once (whether the first send was stored or not), and bob sees it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_cut_off_before_its_echo_and_retried_is_stored_once() {
    let app = spawn_app_with(generous_rate_limits).await;
    let Pair {
        alice,
        channel,
        a,
        mut b,
        ..
    } = app.alice_and_bob_in("General").await;
    for round in 0..20 {
        let cid = client_id();
        let mut first = app.ws_join(&alice, &channel).await;
        first.send_message(&format!("cut off {round}"), &cid).await;
        // Gone without reading: no close handshake, the echo never read.
        drop(first);
        let mut again = app.ws_join(&alice, &channel).await;
        again.send_message(&format!("cut off {round}"), &cid).await;
        let stored = again.await_own(&cid, WAIT).await;
        assert_eq!(stored_with_client_id(&app, &cid).await, 1, "round {round}");
        let seen = b
            .next_frame_matching("the message", WAIT, |v| {
                v["type"] == "message.new" && v["clientId"] == cid.as_str()
            })
            .await;
        assert_eq!(seen["seq"], stored["seq"]);
    }
    b.expect_no_frame_of_type("message.new", QUIET).await;
    drop(a);
}

/// The idempotency key includes the sender: the same clientId from another user is a new message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_client_id_from_another_sender_is_a_new_message() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    let cid = client_id();
    a.send_message("from alice", &cid).await;
    let from_alice = a.await_own(&cid, WAIT).await;
    b.send_message("from bob", &cid).await;
    let from_bob = b
        .next_frame_matching("bob's message.new", WAIT, |v| {
            v["type"] == "error" || (v["type"] == "message.new" && v["text"] == "from bob")
        })
        .await;
    assert_eq!(from_bob["type"], "message.new", "{from_bob}");
    assert_ne!(from_alice["id"], from_bob["id"]);
    assert_eq!(seq(&from_bob), seq(&from_alice) + 1);
    assert_eq!(stored_with_client_id(&app, &cid).await, 2);
}

/// The idempotency key includes the channel: the same clientId in another channel is a new message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_client_id_in_another_channel_is_a_new_message() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let design = app.channel_id(&alice, "Design").await;
    let mut g = app.ws_join(&alice, &general).await;
    let mut d = app.ws_join(&alice, &design).await;
    let cid = client_id();
    g.send_message("in general", &cid).await;
    let in_general = g.await_own(&cid, WAIT).await;
    d.send_message("in design", &cid).await;
    let in_design = d.await_own(&cid, WAIT).await;
    assert_ne!(in_general["id"], in_design["id"]);
    assert_eq!(in_design["channelId"], json!(design));
    assert_eq!(in_design["text"], "in design");
    assert_eq!(stored_with_client_id(&app, &cid).await, 2);
}

/// Messages from several senders interleave into one history equal to what was broadcast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_equals_the_broadcast_order() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let h0 = app.head_seq(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    for i in 0..5 {
        a.send_message(&format!("a{i}"), &client_id()).await;
        b.send_message(&format!("b{i}"), &client_id()).await;
    }
    let mut broadcast: HashMap<i64, Value> = HashMap::new();
    while broadcast.len() < 10 {
        let m = a.next_frame_of_type("message.new", WAIT).await;
        broadcast.insert(seq(&m), m["text"].clone());
    }
    let after = h0.to_string();
    let page = app
        .history(&alice, &general, &[("after_seq", &after)])
        .await;
    let history: HashMap<i64, Value> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (seq(m), m["text"].clone()))
        .collect();
    assert_eq!(history, broadcast);
}

/// Sending the same clientId twice in a row: the retry is answered with the
/// original (same seq), and it never arrives ahead of the room's copy or
/// out of seq order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_retry_is_answered_with_the_original_in_order() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    a.send_ok("first").await;
    let id = client_id();
    a.send_message("twice", &id).await;
    a.send_message("twice", &id).await;
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + QUIET * 2;
    while let Some(v) = a.try_next_json_until(deadline).await {
        if v["type"] == "message.new" {
            seen.push(v["seq"].as_i64().unwrap());
        }
    }
    assert!(!seen.is_empty() && seen.len() <= 2, "delivered {seen:?}");
    assert!(seen.iter().all(|s| *s == seen[0]), "one seq only: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "order: {seen:?}");
}

/// Message times never go backwards within a channel, even when the
/// server's clock does: `createdAt` follows `seq`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_at_never_goes_backwards_within_a_channel() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    // Pretend the previous message was stamped an hour ahead of our clock.
    let ahead = chrono::Utc::now() + chrono::Duration::hours(1);
    app.db()
        .await
        .execute(
            "UPDATE tablos SET last_message_at = ?1 WHERE name = 'General'",
            vec![Bind::Time(ahead)],
        )
        .await;
    let mut a = app.ws_join(&alice, &general).await;
    let sent = a.send_ok("after a clock step back").await;
    let created: chrono::DateTime<chrono::Utc> =
        sent["createdAt"].as_str().unwrap().parse().unwrap();
    assert!(
        created.timestamp_micros() >= ahead.timestamp_micros(),
        "{created} < {ahead}"
    );
}
