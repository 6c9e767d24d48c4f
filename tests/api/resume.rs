//! Resume after a dropped connection: `resume` replays exactly the messages
//! with `seq > afterSeq`, in order, then `resume.done` with the head.
//! `?afterSeq=` on the URL does the same before anything live.

use serde_json::{json, Value};

use crate::helpers::*;

/// Sends `resume` and collects the replayed `message.new` frames up to `resume.done`.
async fn resume(ws: &mut WsClient, after_seq: i64) -> (Vec<Value>, Value) {
    ws.send_json(&serde_json::json!({"type": "resume", "afterSeq": after_seq}))
        .await;
    resume_answer(ws).await
}

/// The `message.new` frames up to `resume.done`, and that frame.
async fn resume_answer(ws: &mut WsClient) -> (Vec<Value>, Value) {
    let mut replayed = Vec::new();
    loop {
        let v = ws
            .next_frame_matching("message.new or resume.done", WAIT, |v| {
                v["type"] == "message.new" || v["type"] == "resume.done" || v["type"] == "error"
            })
            .await;
        match v["type"].as_str() {
            Some("message.new") => replayed.push(v),
            Some("resume.done") => return (replayed, v),
            _ => panic!("error during resume: {v}"),
        }
    }
}

/// After a drop, `resume` with the last seen seq returns exactly the missed messages in order, then `resume.done` with headSeq.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_a_drop_returns_exactly_the_missed_messages_then_done() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    a.send_ok("seen 1").await;
    let last_seen = seq(&b.next_frame_of_type("message.new", WAIT).await);
    drop(b);

    let missed = a.send_many(3, "missed").await;
    let mut b = app.ws_join(&bob, &general).await;
    let (replayed, done) = resume(&mut b, last_seen).await;
    let got: Vec<(i64, Value, Value)> = replayed
        .iter()
        .map(|m| (seq(m), m["id"].clone(), m["text"].clone()))
        .collect();
    let want: Vec<(i64, Value, Value)> = missed
        .iter()
        .map(|m| (seq(m), m["id"].clone(), m["text"].clone()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(done["headSeq"], last_seen + 3, "{done}");
    for m in &replayed {
        assert_eq!(m["channelId"], serde_json::json!(general));
    }
}

/// `resume` from the head replays nothing and answers `resume.done` with that head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_from_the_head_returns_only_resume_done() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let head = seq(&a.send_ok("the head").await);
    let (replayed, done) = resume(&mut a, head).await;
    assert!(replayed.is_empty(), "replayed {replayed:?}");
    assert_eq!(done["headSeq"], head);
}

/// `resume` from 0 replays the whole channel in seq order, 1..=head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_from_zero_replays_the_whole_channel_in_order() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    a.send_many(4, "all").await;
    let head = app.head_seq(&alice, "General").await;
    let (replayed, done) = resume(&mut a, 0).await;
    let seqs: Vec<i64> = replayed.iter().map(seq).collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>());
    assert_eq!(done["headSeq"], head);
}

/// `resume` replays every missed message even when there are more than one history page (100) of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_replays_more_than_one_history_page() {
    let app = spawn_app_with(generous_rate_limits).await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let h0 = app.head_seq(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    a.send_many(130, "many").await;
    let mut b = app.ws_join(&bob, &general).await;
    let (replayed, done) = resume(&mut b, h0).await;
    let seqs: Vec<i64> = replayed.iter().map(seq).collect();
    assert_eq!(seqs, ((h0 + 1)..=(h0 + 130)).collect::<Vec<_>>());
    assert_eq!(done["headSeq"], h0 + 130);
}

/// Messages sent while a client resumes are not lost: the replay and the live stream together cover every seq.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_during_resume_are_not_lost() {
    let app = spawn_app_with(generous_rate_limits).await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let h0 = app.head_seq(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    a.send_many(20, "before").await;
    let mut b = app.ws_join(&bob, &general).await;
    b.send_json(&serde_json::json!({"type": "resume", "afterSeq": h0}))
        .await;
    a.send_many(20, "during").await;
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 40 {
        let m = b.next_frame_of_type("message.new", WAIT).await;
        seen.insert(seq(&m));
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ((h0 + 1)..=(h0 + 40)).collect::<Vec<_>>()
    );
}

/// A `resume` from past the head (a stale or foreign cursor) answers with
/// the real head and does not hold back later live messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_past_the_head_does_not_block_live_messages() {
    let app = spawn_app().await;
    let Pair {
        alice,
        mut a,
        mut b,
        ..
    } = app.alice_and_bob_in("General").await;
    a.send_ok("before").await;
    let head = app.head_seq(&alice, "General").await;

    b.send_json(&json!({"type": "resume", "afterSeq": 1_000_000}))
        .await;
    let done = b.next_frame_of_type("resume.done", WAIT).await;
    assert!(done["headSeq"].as_i64().unwrap() <= head, "{done}");

    let sent = a.send_ok("after a bogus resume").await;
    let got = b.next_frame_of_type("message.new", WAIT).await;
    assert_eq!(got["id"], sent["id"]);
}

/// Every `message.new` frame on `ws` until `QUIET` passes without one, as
/// seqs.
async fn seqs_until_quiet(ws: &mut WsClient) -> Vec<i64> {
    let mut seqs = Vec::new();
    while let Some(v) = ws
        .try_next_json_until(tokio::time::Instant::now() + QUIET)
        .await
    {
        if v["type"] == "message.new" {
            seqs.push(seq(&v));
        }
    }
    seqs
}

/// `?afterSeq=n` on the URL: the stored messages after n come first, in
/// order, then live ones; a bad value is refused before the upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_seq_in_the_url_sends_the_missed_messages_first() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let sent: Vec<i64> = {
        let mut v = Vec::new();
        for i in 0..5 {
            v.push(seq(&a.send_ok(&format!("m{i}")).await));
        }
        v
    };
    let url = |after: &str| {
        let mut req = app.ws_request_bearer(&bob, &general);
        *req.uri_mut() = format!("{}/chat/ws/{general}?afterSeq={after}", app.ws_address)
            .parse()
            .unwrap();
        req
    };
    let mut b = ws_open(url(&sent[1].to_string())).await.expect("upgrade");
    assert_eq!(b.next_json(WAIT).await["type"], "presence.state");
    let live = a.send_ok("live").await;
    let mut expected = sent[2..].to_vec();
    expected.push(seq(&live));
    assert_eq!(seqs_until_quiet(&mut b).await, expected);
    for bad in ["-1", "x", "1.5", "99999999999999999999"] {
        assert_eq!(ws_refused_status(url(bad)).await, 400, "afterSeq={bad}");
    }
}
