//! Presence, typing, channel activity and read-cursor events over the WebSocket.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use crate::helpers::*;

fn user_ids(state: &Value) -> Vec<Value> {
    state["userIds"]
        .as_array()
        .unwrap_or_else(|| panic!("presence.state without userIds: {state}"))
        .clone()
}

fn is_presence(user: &str, status: &str) -> impl Fn(&Value) -> bool {
    let user = user.to_string();
    let status = status.to_string();
    move |v: &Value| v["type"] == "presence.update" && v["userId"] == user && v["status"] == status
}

fn is_typing(user: &str, typing: bool) -> impl Fn(&Value) -> bool {
    let user = user.to_string();
    move |v: &Value| v["type"] == "typing" && v["userId"] == user && v["isTyping"] == typing
}

/// The first frame after connecting is `presence.state`, and it lists the new user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_state_is_the_first_frame_and_includes_self() {
    let app = spawn_app().await;
    let (alice, alice_id) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let mut ws = app.ws_connect(&alice, &general).await;
    let first = ws.next_json(WAIT).await;
    assert_eq!(first["type"], "presence.state", "first frame: {first}");
    assert_eq!(user_ids(&first), vec![json!(alice_id)]);
}

/// `presence.state` lists the users already online in the channel, and only this channel's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_state_lists_users_online_in_this_channel() {
    let app = spawn_app().await;
    let (alice, alice_id) = app.login(ALICE).await;
    let (bob, bob_id) = app.login(BOB).await;
    let (carol, carol_id) = app.login(CAROL).await;
    let general = app.channel_id(&alice, "General").await;
    let design = app.channel_id(&alice, "Design").await;
    let _a = app.ws_join(&alice, &general).await;
    let _c = app.ws_join(&carol, &design).await;
    let (_b, state) = app.ws_join_state(&bob, &general).await;
    let ids = user_ids(&state);
    assert!(
        ids.contains(&json!(alice_id)) && ids.contains(&json!(bob_id)),
        "{state}"
    );
    assert!(
        !ids.contains(&json!(carol_id)),
        "carol is online in Design only: {state}"
    );
}

/// Others get `presence.update` online when a user connects, and offline when they disconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_update_online_on_connect_and_offline_on_disconnect() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, bob_id) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let b = app.ws_join(&bob, &general).await;
    a.next_frame_matching("bob online", WAIT, is_presence(&bob_id, "online"))
        .await;
    b.close().await;
    a.next_frame_matching("bob offline", WAIT, is_presence(&bob_id, "offline"))
        .await;
}

/// An abrupt drop (no Close frame) also makes the user offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_update_offline_on_abrupt_drop() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, bob_id) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let b = app.ws_join(&bob, &general).await;
    drop(b);
    a.next_frame_matching("bob offline", WAIT, is_presence(&bob_id, "offline"))
        .await;
}

/// `offline` is sent only when the user's last connection to the channel closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_offline_only_when_the_last_connection_closes() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, bob_id) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let b1 = app.ws_join(&bob, &general).await;
    let (b2, state) = app.ws_join_state(&bob, &general).await;
    assert!(user_ids(&state).contains(&json!(bob_id)));
    a.next_frame_matching("bob online", WAIT, is_presence(&bob_id, "online"))
        .await;

    b1.close().await;
    a.expect_no_frame_matching("bob offline", QUIET, is_presence(&bob_id, "offline"))
        .await;
    // Bob is still listed for a newcomer.
    let (carol, _) = app.login(CAROL).await;
    let (_c, state) = app.ws_join_state(&carol, &general).await;
    assert!(
        user_ids(&state).contains(&json!(bob_id)),
        "bob vanished: {state}"
    );

    b2.close().await;
    a.next_frame_matching("bob offline", WAIT, is_presence(&bob_id, "offline"))
        .await;
}

/// Presence is per channel: joining Design is not announced in General.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_update_is_scoped_to_the_channel() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, bob_id) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let design = app.channel_id(&alice, "Design").await;
    let mut a = app.ws_join(&alice, &general).await;
    let b = app.ws_join(&bob, &design).await;
    a.expect_no_frame_matching("bob online", QUIET, is_presence(&bob_id, "online"))
        .await;
    b.close().await;
    a.expect_no_frame_matching("bob offline", QUIET, is_presence(&bob_id, "offline"))
        .await;
}

/// `presence.ping` is a valid frame: no error comes back and the connection stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_ping_is_accepted_without_error() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    a.send_json(&json!({"type": "presence.ping"})).await;
    a.expect_no_frame_of_type("error", QUIET).await;
    a.send_ok("still here").await;
}

/// `typing.start` reaches the others with isTyping true, but not the typist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_start_reaches_others_but_not_the_sender() {
    let app = spawn_app().await;
    let (alice, alice_id) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let (carol, _) = app.login(CAROL).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    let mut c = app.ws_join(&carol, &general).await;
    a.send_json(&json!({"type": "typing.start"})).await;
    for ws in [&mut b, &mut c] {
        let t = ws.next_frame_of_type("typing", WAIT).await;
        assert_eq!(t["userId"], json!(alice_id));
        assert_eq!(t["isTyping"], true);
    }
    a.expect_no_frame_of_type("typing", QUIET).await;
}

/// `typing.stop` sends isTyping false to the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_stop_sends_is_typing_false_to_others() {
    let app = spawn_app().await;
    let (alice, alice_id) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    a.send_json(&json!({"type": "typing.start"})).await;
    b.next_frame_matching("typing true", WAIT, is_typing(&alice_id, true))
        .await;
    a.send_json(&json!({"type": "typing.stop"})).await;
    b.next_frame_matching("typing false", WAIT, is_typing(&alice_id, false))
        .await;
    a.expect_no_frame_of_type("typing", QUIET).await;
}

/// A typist who goes quiet gets isTyping false from the server after the configured timeout, not before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_expires_after_the_configured_timeout_without_typing_stop() {
    let app = spawn_app().await;
    let (alice, alice_id) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    a.send_json(&json!({"type": "typing.start"})).await;
    b.next_frame_matching("typing true", WAIT, is_typing(&alice_id, true))
        .await;
    let started = Instant::now();
    b.expect_no_frame_matching(
        "early typing false",
        TYPING_TIMEOUT / 2,
        is_typing(&alice_id, false),
    )
    .await;
    b.next_frame_matching(
        "typing false",
        TYPING_TIMEOUT + WAIT,
        is_typing(&alice_id, false),
    )
    .await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= TYPING_TIMEOUT / 2,
        "expired too early: {elapsed:?}"
    );
    // The typist's connection is untouched.
    a.send_ok("after expiry").await;
}

/// A typist who disconnects gets isTyping false sent by the server (well before the typing timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_false_is_sent_when_the_typist_disconnects() {
    let app = spawn_app_with(|s| s.limits.typing_timeout = Duration::from_secs(30)).await;
    let (alice, alice_id) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    a.send_json(&json!({"type": "typing.start"})).await;
    b.next_frame_matching("typing true", WAIT, is_typing(&alice_id, true))
        .await;
    drop(a);
    b.next_frame_matching("typing false", WAIT, is_typing(&alice_id, false))
        .await;
}

/// A new message in one channel reaches the member's connection to another channel as `channel.activity`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_activity_reaches_the_users_connection_to_another_channel() {
    let app = spawn_app().await;
    let (alice, alice_id) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let design = app.channel_id(&alice, "Design").await;
    let mut b = app.ws_join(&bob, &design).await;
    let mut a = app.ws_join(&alice, &general).await;
    let sent = a.send_ok("hi from general").await;

    let act = b.next_frame_of_type("channel.activity", WAIT).await;
    for key in [
        "channelId",
        "seq",
        "messageId",
        "userId",
        "preview",
        "createdAt",
    ] {
        assert!(
            act.get(key).is_some(),
            "channel.activity lacks {key}: {act}"
        );
    }
    assert_eq!(act["channelId"], json!(general));
    assert_eq!(act["seq"], sent["seq"]);
    assert_eq!(act["messageId"], sent["id"]);
    assert_eq!(act["userId"], json!(alice_id));
    let preview = act["preview"].as_str().expect("preview string");
    assert!(preview.contains("hi from general"), "preview: {preview:?}");
    assert_rfc3339(&act["createdAt"], "createdAt");
    // Bob's Design connection is not sent the General message itself.
    b.expect_no_frame_of_type("message.new", Duration::from_millis(200))
        .await;
}

/// `channel.activity` is never sent to a user who is not a member of the message's channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_activity_is_not_sent_to_non_members() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let (carol, _) = app.login(CAROL).await;
    let product = app.channel_id(&alice, "Product").await;
    let general = app.channel_id(&alice, "General").await;
    let mut c = app.ws_join(&carol, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    let mut a = app.ws_join(&alice, &product).await;
    a.send_ok("members only").await;
    let act = b.next_frame_of_type("channel.activity", WAIT).await;
    assert_eq!(act["channelId"], json!(product));
    c.expect_no_frame_of_type("channel.activity", QUIET).await;
}

/// A WS `read` moves the cursor and every connection of that user gets `read.updated`; other users do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_read_sends_read_updated_to_all_of_the_users_connections() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let design = app.channel_id(&alice, "Design").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b_general = app.ws_join(&bob, &general).await;
    let mut b_general2 = app.ws_join(&bob, &general).await;
    let mut b_design = app.ws_join(&bob, &design).await;
    let sent = a.send_ok("read me").await;

    b_general
        .send_json(&json!({"type": "read", "seq": seq(&sent)}))
        .await;
    for ws in [&mut b_general, &mut b_general2, &mut b_design] {
        let r = ws.next_frame_of_type("read.updated", WAIT).await;
        assert_eq!(r["channelId"], json!(general), "{r}");
        assert_eq!(r["lastReadSeq"], sent["seq"], "{r}");
    }
    a.expect_no_frame_of_type("read.updated", QUIET).await;
    let c = app.channel(&bob, "General").await;
    assert_eq!(c["last_read_seq"], sent["seq"]);
}

/// A REST mark-read also sends `read.updated` to the user's open connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_read_sends_read_updated_to_the_users_connections() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let design = app.channel_id(&alice, "Design").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b_general = app.ws_join(&bob, &general).await;
    let mut b_design = app.ws_join(&bob, &design).await;
    let sent = a.send_ok("read via rest").await;

    let resp = app.mark_read(&bob, &general, Some(seq(&sent))).await;
    assert_eq!(resp.status().as_u16(), 200);
    for ws in [&mut b_general, &mut b_design] {
        let r = ws.next_frame_of_type("read.updated", WAIT).await;
        assert_eq!(r["channelId"], json!(general), "{r}");
        assert_eq!(r["lastReadSeq"], sent["seq"], "{r}");
    }
}

/// A WS `read` with a lower seq never moves the cursor backwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_read_never_moves_backwards() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    let sent = a.send_many(3, "ws read").await;
    let (low, high) = (seq(&sent[0]), seq(&sent[2]));

    b.send_json(&json!({"type": "read", "seq": high})).await;
    let r = b.next_frame_of_type("read.updated", WAIT).await;
    assert_eq!(r["lastReadSeq"], high);

    b.send_json(&json!({"type": "read", "seq": low})).await;
    // No error, and if a read.updated comes for the no-op it must not report a lower cursor.
    b.expect_no_frame_matching("error or backwards read.updated", QUIET, |v| {
        v["type"] == "error"
            || (v["type"] == "read.updated" && v["lastReadSeq"].as_i64().unwrap_or(0) < high)
    })
    .await;
    b.barrier().await;
    let c = app.channel(&bob, "General").await;
    assert_eq!(c["last_read_seq"], high, "read cursor moved backwards");
    assert_eq!(c["unread_count"], 0);
}

/// A WS `read` without `seq` marks the channel read up to its newest
/// message, like the REST call without a body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_read_without_seq_marks_up_to_the_newest_message() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    let sent = a.send_many(3, "read all").await;
    let newest = seq(&sent[2]);
    assert_eq!(app.channel(&bob, "General").await["unread_count"], 3);

    b.send_json(&json!({"type": "read"})).await;
    let r = b.next_frame_of_type("read.updated", WAIT).await;
    assert_eq!(r["lastReadSeq"], newest, "{r}");
    let c = app.channel(&bob, "General").await;
    assert_eq!(c["last_read_seq"], newest);
    assert_eq!(c["unread_count"], 0);
}

/// A client that stops answering pings (a vanished laptop, a dead NAT) is
/// dropped after two ping intervals and goes offline for the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_answers_pings_is_dropped_and_goes_offline() {
    let app = spawn_app_with(|s| s.limits.ws_ping_interval = Duration::from_millis(300)).await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, bob_id) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    // Bob joins, then never reads again: his client never sends a Pong.
    let silent_bob = app.ws_join(&bob, &general).await;
    let offline = a
        .next_frame_matching("bob offline", Duration::from_secs(5), |v| {
            v["type"] == "presence.update"
                && v["userId"] == json!(bob_id)
                && v["status"] == "offline"
        })
        .await;
    assert_eq!(offline["status"], "offline");
    drop(silent_bob);
}

/// A client that keeps reading answers the server's pings and stays
/// connected across many ping intervals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_answers_pings_stays_connected() {
    let app = spawn_app_with(|s| s.limits.ws_ping_interval = Duration::from_millis(200)).await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, bob_id) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    // Both keep reading (which sends the Pongs) for ten intervals.
    let (_, _) = tokio::join!(
        a.expect_no_frame_matching("bob offline", Duration::from_secs(2), |v| {
            v["type"] == "presence.update"
                && v["userId"] == json!(bob_id)
                && v["status"] == "offline"
        }),
        b.expect_no_frame_of_type("error", Duration::from_secs(2)),
    );
    let sent = a.send_ok("still here").await;
    let got = b.next_frame_of_type("message.new", WAIT).await;
    assert_eq!(got["id"], sent["id"]);
}

/// Someone who sends and at once starts typing the next message is shown
/// typing: the start that comes within the flood gap of the previous one is
/// deferred to the end of the gap, not dropped (the client sends one start
/// per burst of typing, so a dropped start hid the whole burst).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_right_after_a_send_is_deferred_not_dropped() {
    let app = spawn_app_with(|s| s.limits.typing_timeout = Duration::from_secs(30)).await;
    let Pair {
        mut a,
        mut b,
        alice_id,
        ..
    } = app.alice_and_bob_in("General").await;
    a.send_json(&json!({"type": "typing.start"})).await;
    b.next_frame_matching("typing true", WAIT, is_typing(&alice_id, true))
        .await;
    // The send stops typing; the next burst starts 100 ms later.
    a.send_ok("first").await;
    b.next_frame_matching("typing false", WAIT, is_typing(&alice_id, false))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.send_json(&json!({"type": "typing.start"})).await;
    // Before the fix it never came (typing would only start again after the
    // client's next idle stop); the typing timeout is 30 s here.
    b.next_frame_matching(
        "typing true after the send",
        WAIT,
        is_typing(&alice_id, true),
    )
    .await;
    b.expect_no_frame_of_type("typing", QUIET).await;
}

/// A stop that comes before a deferred start takes effect cancels it: the
/// others never see that start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_cancels_a_deferred_start() {
    let app = spawn_app().await;
    let Pair {
        mut a,
        mut b,
        alice_id,
        ..
    } = app.alice_and_bob_in("General").await;
    a.send_json(&json!({"type": "typing.start"})).await;
    a.send_json(&json!({"type": "typing.stop"})).await;
    a.send_json(&json!({"type": "typing.start"})).await;
    a.send_json(&json!({"type": "typing.stop"})).await;
    b.next_frame_matching("typing true", WAIT, is_typing(&alice_id, true))
        .await;
    b.next_frame_matching("typing false", WAIT, is_typing(&alice_id, false))
        .await;
    b.expect_no_frame_of_type("typing", Duration::from_secs(1))
        .await;
}

/// Alternating typing.start/typing.stop as fast as possible does not flood
/// the room: the others see at most a few typing frames.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typing_flood_is_throttled() {
    let app = spawn_app().await;
    let Pair { mut a, mut b, .. } = app.alice_and_bob_in("General").await;
    for _ in 0..100 {
        a.send_json(&json!({"type": "typing.start"})).await;
        a.send_json(&json!({"type": "typing.stop"})).await;
    }
    let mut typing_frames = 0;
    let deadline = Instant::now() + QUIET;
    while let Some(v) = b.try_next_json_until(deadline).await {
        if v["type"] == "typing" {
            typing_frames += 1;
        }
    }
    assert!(
        (1..=6).contains(&typing_frames),
        "{typing_frames} typing frames"
    );
}

/// A member whose access is revoked while connected is told FORBIDDEN and
/// disconnected (1008) at the next check, and stops receiving messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_member_is_disconnected_and_stops_receiving() {
    let app = spawn_app_with(|s| s.limits.ws_ping_interval = Duration::from_millis(300)).await;
    let (alice, _) = app.login(ALICE).await;
    let (carol, _) = app.login(CAROL).await;
    let general = app.channel_id(&alice, "General").await;
    let mut a = app.ws_join(&alice, &general).await;
    let mut c = app.ws_join(&carol, &general).await;
    crate::rest::deactivate_membership(&app, CAROL, "General").await;
    // A resume is refused at once.
    c.send_json(&json!({"type": "resume", "afterSeq": 0})).await;
    let err = c.next_frame_of_type("error", WAIT).await;
    assert_eq!(err["code"], "FORBIDDEN");
    let close = c.next_close(WAIT).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);
    a.send_ok("after revocation").await;
}
