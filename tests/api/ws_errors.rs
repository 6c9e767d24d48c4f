//! Error frames and connection robustness: every error code, oversize and
//! binary frames, the close handshake, and server shutdown (1001).

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;
use crate::rest::deactivate_membership;

/// The next `error` or `message.new` frame: the answer to a send.
async fn next_answer(ws: &mut WsClient) -> Value {
    ws.next_frame_matching("error or message.new", WAIT, |v| {
        v["type"] == "error" || v["type"] == "message.new"
    })
    .await
}

/// Asserts that the next answer is an `error` frame with `code`.
async fn expect_error(ws: &mut WsClient, code: &str) -> Value {
    let v = ws
        .next_frame_matching("error", WAIT, |v| {
            v["type"] == "error" || v["type"] == "message.new"
        })
        .await;
    assert_eq!(v["type"], "error", "expected error {code}, got {v}");
    assert_eq!(v["code"], code, "wrong error code: {v}");
    assert!(v["message"].is_string(), "error without message: {v}");
    v
}

/// Asserts that the next answer is any `error` frame (the code is up to the server).
async fn expect_any_error(ws: &mut WsClient) -> Value {
    let v = next_answer(ws).await;
    assert_eq!(v["type"], "error", "expected an error frame, got {v}");
    assert!(v["code"].is_string(), "{v}");
    v
}

/// Test fixture: alice and bob joined to General.
async fn alice_and_bob_in_general(app: &TestApp) -> (WsClient, WsClient) {
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let a = app.ws_join(&alice, &general).await;
    let b = app.ws_join(&bob, &general).await;
    (a, b)
}

/// A frame that is not JSON gets PARSE_ERROR and the connection stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_gets_parse_error_and_keeps_the_connection() {
    let app = spawn_app().await;
    let (mut a, _b) = alice_and_bob_in_general(&app).await;
    a.send_text("{this is not json").await;
    expect_error(&mut a, "PARSE_ERROR").await;
    a.send_text("").await;
    expect_error(&mut a, "PARSE_ERROR").await;
    a.send_ok("valid after bad JSON").await;
}

/// JSON that is not an object, or a known type with missing or mistyped fields, gets an error frame and no close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_get_an_error_and_keep_the_connection() {
    let app = spawn_app().await;
    let (mut a, mut b) = alice_and_bob_in_general(&app).await;
    for bad in [
        json!([1, 2, 3]),
        json!("message.send"),
        json!({"text": "no type", "clientId": "x"}),
        json!({"type": "message.send"}),
        json!({"type": "message.send", "text": 42, "clientId": "x"}),
        json!({"type": "resume", "afterSeq": "zero"}),
        json!({"type": "read", "seq": "one"}),
    ] {
        a.send_json(&bad).await;
        expect_any_error(&mut a).await;
    }
    b.expect_no_frame_of_type("message.new", Duration::from_millis(200))
        .await;
    a.send_ok("valid after malformed frames").await;
}

/// An unknown `type` gets UNKNOWN_TYPE and the connection stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_type_gets_unknown_type_error() {
    let app = spawn_app().await;
    let (mut a, _b) = alice_and_bob_in_general(&app).await;
    a.send_json(&json!({"type": "message.explode", "text": "x"}))
        .await;
    expect_error(&mut a, "UNKNOWN_TYPE").await;
    a.send_ok("valid after unknown type").await;
}

/// Empty or whitespace-only text gets EMPTY_MESSAGE and nothing is broadcast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whitespace_only_text_gets_empty_message_error() {
    let app = spawn_app().await;
    let (mut a, mut b) = alice_and_bob_in_general(&app).await;
    for text in ["", "   ", " \t\n\r  "] {
        a.send_message(text, &client_id()).await;
        expect_error(&mut a, "EMPTY_MESSAGE").await;
    }
    b.expect_no_frame_of_type("message.new", QUIET).await;
    a.send_ok("not empty").await;
}

/// Text of 4,001 characters gets MESSAGE_TOO_LONG and nothing is broadcast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_over_4000_characters_gets_message_too_long() {
    let app = spawn_app().await;
    let (mut a, mut b) = alice_and_bob_in_general(&app).await;
    a.send_message(&"a".repeat(4001), &client_id()).await;
    expect_error(&mut a, "MESSAGE_TOO_LONG").await;
    a.send_message(&"é".repeat(4001), &client_id()).await;
    expect_error(&mut a, "MESSAGE_TOO_LONG").await;
    b.expect_no_frame_of_type("message.new", QUIET).await;
}

/// Text of exactly 4,000 characters is accepted and delivered whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_of_4000_characters_is_accepted() {
    let app = spawn_app().await;
    let (mut a, mut b) = alice_and_bob_in_general(&app).await;
    let text = "a".repeat(4000);
    a.send_ok(&text).await;
    let m = b.next_frame_of_type("message.new", WAIT).await;
    assert_eq!(m["text"], json!(text));
}

/// Length is counted in characters, not bytes: 4,000 multibyte characters are accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_length_is_counted_in_characters_not_bytes() {
    let app = spawn_app().await;
    let (mut a, mut b) = alice_and_bob_in_general(&app).await;
    for ch in ["é", "日", "😀"] {
        let text = ch.repeat(4000);
        a.send_ok(&text).await;
        let m = b.next_frame_of_type("message.new", WAIT).await;
        assert_eq!(m["text"], json!(text), "{ch} x 4000 altered");
    }
    a.send_message(&"😀".repeat(4001), &client_id()).await;
    expect_error(&mut a, "MESSAGE_TOO_LONG").await;
}

/// Length is measured after trimming: 4,000 characters with surrounding whitespace are accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_length_is_measured_after_trimming() {
    let app = spawn_app().await;
    let (mut a, _b) = alice_and_bob_in_general(&app).await;
    let text = format!("  \n{}\t  ", "x".repeat(4000));
    a.send_ok(&text).await;
}

/// 25 fast sends exceed the burst of 20: the excess gets RATE_LIMITED with retryAfterMs and is not stored; after waiting, sending works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_faster_than_the_limit_gets_rate_limited_with_retry_after_ms() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let h0 = app.head_seq(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    let mut sent = Vec::new();
    for i in 0..25 {
        let cid = client_id();
        a.send_message(&format!("fast {i}"), &cid).await;
        sent.push(cid);
    }
    let (mut accepted, mut limited) = (0, Vec::new());
    for _ in 0..25 {
        let v = next_answer(&mut a).await;
        if v["type"] == "message.new" {
            accepted += 1;
        } else {
            assert_eq!(v["code"], "RATE_LIMITED", "{v}");
            let cid = v["clientId"].as_str().expect("RATE_LIMITED names the send");
            assert!(sent.iter().any(|s| s == cid), "unknown clientId in {v}");
            limited.push(v);
        }
    }
    assert!(!limited.is_empty(), "25 fast sends were all accepted");
    assert!(
        (20..=22).contains(&accepted),
        "accepted {accepted} of 25 (burst is 20)"
    );
    let retry_after = limited
        .iter()
        .map(|v| {
            v["retryAfterMs"]
                .as_u64()
                .unwrap_or_else(|| panic!("RATE_LIMITED without integer retryAfterMs: {v}"))
        })
        .max()
        .unwrap();
    assert!(
        retry_after > 0 && retry_after <= 1000,
        "retryAfterMs {retry_after} (5/s)"
    );
    assert_eq!(
        app.head_seq(&alice, "General").await,
        h0 + accepted,
        "rejected sends stored"
    );

    // The limit is per user: bob is not affected.
    b.send_ok("bob is not limited").await;
    tokio::time::sleep(Duration::from_millis(retry_after + 50)).await;
    a.send_ok("after waiting").await;
}

/// A failed store gets PERSIST_FAILED, nothing is broadcast, the next message takes the next seq (no gap), and a retry with the same clientId then succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persist_failure_gets_persist_failed_and_leaves_no_gap() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let (mut a, mut b) = alice_and_bob_in_general(&app).await;
    let h0 = app.head_seq(&alice, "General").await;
    let mut db = app.db().await;
    db.fail_inserts_of("boom").await;

    let boom_cid = client_id();
    a.send_message("boom", &boom_cid).await;
    let e = expect_error(&mut a, "PERSIST_FAILED").await;
    assert_eq!(
        e["clientId"],
        boom_cid.as_str(),
        "the error names the failed send"
    );
    assert!(
        !e["message"].as_str().unwrap().contains("injected"),
        "internals leaked: {e}"
    );
    b.expect_no_frame_of_type("message.new", QUIET).await;

    let next = a.send_ok("after boom").await;
    assert_eq!(seq(&next), h0 + 1, "a failed store left a gap");
    let seen = b.next_frame_of_type("message.new", WAIT).await;
    assert_eq!(seq(&seen), h0 + 1);

    db.stop_failing_inserts().await;
    a.send_message("boom", &boom_cid).await;
    let stored = a.await_own(&boom_cid, WAIT).await;
    assert_eq!(seq(&stored), h0 + 2);
    let page = app
        .history(&alice, &general, &[("after_seq", &h0.to_string())])
        .await;
    assert_eq!(page_seqs(&page), vec![h0 + 1, h0 + 2]);
}

/// A send after the user's membership was deactivated gets FORBIDDEN and is neither stored nor broadcast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_after_membership_is_deactivated_gets_forbidden() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (carol, _) = app.login(CAROL).await;
    let general = app.channel_id(&alice, "General").await;
    let h0 = app.head_seq(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut c = app.ws_join(&carol, &general).await;
    deactivate_membership(&app, CAROL, "General").await;

    c.send_message("am I still here?", &client_id()).await;
    expect_error(&mut c, "FORBIDDEN").await;
    a.expect_no_frame_of_type("message.new", QUIET).await;
    assert_eq!(app.head_seq(&alice, "General").await, h0);
}

/// A 100 KiB text frame (over the 64 KiB frame limit) gets an error frame, not a close; a following send works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_frame_gets_an_error_and_keeps_the_connection() {
    let app = spawn_app().await;
    let (mut a, mut b) = alice_and_bob_in_general(&app).await;
    a.send_message(&"a".repeat(100 * 1024), &client_id()).await;
    expect_any_error(&mut a).await;
    b.expect_no_frame_of_type("message.new", Duration::from_millis(300))
        .await;
    a.send_ok("small again").await;
}

/// A binary frame gets an error frame, not a close; a following send works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_frame_gets_an_error_and_keeps_the_connection() {
    let app = spawn_app().await;
    let (mut a, _b) = alice_and_bob_in_general(&app).await;
    let frame = send_frame("sent as binary", &client_id()).to_string();
    a.send_raw(Message::binary(frame.into_bytes())).await;
    expect_any_error(&mut a).await;
    a.send_ok("text again").await;
}

/// A Close frame from the client is answered with a Close frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_close_frame_is_answered_with_a_close_frame() {
    let app = spawn_app().await;
    let (mut a, _b) = alice_and_bob_in_general(&app).await;
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    };
    tokio::time::timeout(WAIT, a.stream.close(Some(frame)))
        .await
        .expect("close timed out")
        .expect("sending Close failed");
    let reply = a.next_close(WAIT).await;
    if let Some(reply) = reply {
        assert_eq!(reply.code, CloseCode::Normal, "close reply {reply:?}");
    }
}

/// A client's Ping is answered with a Pong carrying its payload (tungstenite
/// reads it; the server's own frame writer sends the answer), and the
/// connection goes on carrying messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ping_is_answered_with_its_payload() {
    let app = spawn_app().await;
    let (mut a, mut b) = alice_and_bob_in_general(&app).await;
    for round in 0..3u8 {
        let payload = vec![round, 0xAB, 0xCD];
        a.send_raw(Message::Ping(payload.clone().into())).await;
        let pong = tokio::time::timeout(WAIT, async {
            loop {
                match a.stream.next().await {
                    Some(Ok(Message::Pong(p))) => return p,
                    Some(Ok(_)) => {}
                    other => panic!("no Pong: {other:?}"),
                }
            }
        })
        .await
        .expect("no Pong in time");
        assert_eq!(&pong[..], &payload[..]);
    }
    let sent = a.send_ok("after pings").await;
    let got = b.next_frame_of_type("message.new", WAIT).await;
    assert_eq!(got["id"], sent["id"]);
}

/// Completing the shutdown future closes every connected socket with code 1001, then run_until_stopped returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_shutdown_closes_sockets_with_1001() {
    let mut app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let design = app.channel_id(&alice, "Design").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &design).await;

    app.signal_shutdown();
    for ws in [&mut a, &mut b] {
        let frame = ws
            .next_close(WAIT)
            .await
            .expect("Close frame without a code");
        assert_eq!(frame.code, CloseCode::Away, "close code {frame:?}");
    }
    drop(a);
    drop(b);
    app.join_server().await;
}

/// Repeated bad frames (more than `max_bad_frames` in a row) close the connection with 1008.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_bad_frames_close_the_connection_with_1008() {
    let app = spawn_app_with(|s| s.limits.max_bad_frames = 5).await;
    let (mut a, mut b) = alice_and_bob_in_general(&app).await;
    for _ in 0..10 {
        a.send_text("{garbage").await;
    }
    let frame = a
        .next_close(WAIT)
        .await
        .expect("Close frame without a code");
    assert_eq!(frame.code, CloseCode::Policy, "close code {frame:?}");
    // Only the abuser's connection is closed.
    b.send_ok("bob is unaffected").await;
}

/// The text limit is configurable: with `max_text_chars = 10`, 10 characters pass and 11 get MESSAGE_TOO_LONG.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_limit_is_configurable() {
    let app = spawn_app_with(|s| s.limits.max_text_chars = 10).await;
    let (mut a, _b) = alice_and_bob_in_general(&app).await;
    a.send_ok("0123456789").await;
    a.send_message("0123456789a", &client_id()).await;
    expect_error(&mut a, "MESSAGE_TOO_LONG").await;
}
