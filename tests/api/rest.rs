//! REST routes: channel list, history paging, mark read, unread counts,
//! membership (403), unknown channels (404) and bad parameters (400).

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

/// Asserts the REST Message shape of the contract.
fn assert_rest_message_shape(m: &Value) {
    for key in [
        "id",
        "channel_id",
        "seq",
        "user_id",
        "text",
        "created_at",
        "updated_at",
        "client_id",
    ] {
        assert!(m.get(key).is_some(), "REST message lacks {key}: {m}");
    }
    assert!(m["id"].is_string() && m["channel_id"].is_string() && m["user_id"].is_string());
    assert!(m["seq"].is_i64(), "seq: {m}");
    assert!(m["text"].is_string());
    assert_rfc3339(&m["created_at"], "created_at");
    if !m["updated_at"].is_null() {
        assert_rfc3339(&m["updated_at"], "updated_at");
    }
}

/// The channel list has the contract's fields, and only the caller's channels (carol does not see Product).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_list_has_contract_shape_and_only_the_callers_channels() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (carol, _) = app.login(CAROL).await;

    let alice_list = app.channels(&alice).await;
    let names: HashSet<&str> = alice_list
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        HashSet::from(["General", "Design", "Random", "Product"])
    );
    for c in &alice_list {
        for key in [
            "id",
            "name",
            "color",
            "member_count",
            "unread_count",
            "last_read_seq",
            "head_seq",
            "last_message",
        ] {
            assert!(c.get(key).is_some(), "channel lacks {key}: {c}");
        }
        uuid::Uuid::parse_str(c["id"].as_str().unwrap()).expect("channel id is a UUID");
        assert!(c["unread_count"].is_i64() && c["last_read_seq"].is_i64());
        let head = c["head_seq"].as_i64().expect("head_seq integer");
        if head == 0 {
            assert!(
                c["last_message"].is_null(),
                "empty channel has a last_message: {c}"
            );
        } else {
            assert_rest_message_shape(&c["last_message"]);
            assert_eq!(
                seq(&c["last_message"]),
                head,
                "last_message is not the head: {c}"
            );
        }
        let expected_members = if c["name"] == "Product" { 2 } else { 3 };
        assert_eq!(
            c["member_count"], expected_members,
            "member_count of {}",
            c["name"]
        );
    }

    let carol_list = app.channels(&carol).await;
    let names: HashSet<&str> = carol_list
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, HashSet::from(["General", "Design", "Random"]));
}

/// The channel list is ordered by most recent activity first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_list_orders_by_most_recent_activity_first() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let random = app.channel_id(&alice, "Random").await;
    let design = app.channel_id(&alice, "Design").await;

    let mut ws = app.ws_join(&alice, &random).await;
    ws.send_ok("in random").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut ws2 = app.ws_join(&alice, &design).await;
    ws2.send_ok("in design").await;

    for token in [&alice, &bob] {
        let names: Vec<Value> = app
            .channels(token)
            .await
            .iter()
            .map(|c| c["name"].clone())
            .collect();
        assert_eq!(
            &names[..2],
            &[json!("Design"), json!("Random")],
            "order: {names:?}"
        );
    }

    tokio::time::sleep(Duration::from_millis(20)).await;
    ws.send_ok("random again").await;
    let names: Vec<Value> = app
        .channels(&bob)
        .await
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(
        &names[..2],
        &[json!("Random"), json!("Design")],
        "order: {names:?}"
    );
}

/// After a send, the list's head_seq and last_message are that message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_list_head_seq_and_last_message_follow_new_messages() {
    let app = spawn_app().await;
    let (alice, alice_id) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut ws = app.ws_join(&alice, &general).await;
    let sent = ws.send_ok("latest words").await;

    let c = app.channel(&bob, "General").await;
    assert_eq!(c["head_seq"], sent["seq"]);
    let last = &c["last_message"];
    assert_rest_message_shape(last);
    assert_eq!(last["id"], sent["id"]);
    assert_eq!(last["seq"], sent["seq"]);
    assert_eq!(last["text"], "latest words");
    assert_eq!(last["user_id"], json!(alice_id));
    assert_eq!(last["channel_id"], json!(general));
}

/// The list's unread_count counts other users' messages after last_read_seq, never one's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_list_unread_count_counts_only_other_users_messages() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    app.mark_all_read(&alice).await;
    app.mark_all_read(&bob).await;
    let bob_read = app.channel(&bob, "General").await["last_read_seq"].clone();

    let mut ws = app.ws_join(&alice, &general).await;
    for i in 0..3 {
        ws.send_ok(&format!("unread {i}")).await;
    }
    let bob_general = app.channel(&bob, "General").await;
    assert_eq!(bob_general["unread_count"], 3, "{bob_general}");
    assert_eq!(
        bob_general["last_read_seq"], bob_read,
        "reading moved by itself"
    );
    let alice_general = app.channel(&alice, "General").await;
    assert_eq!(
        alice_general["unread_count"], 0,
        "own messages counted: {alice_general}"
    );
}

/// History without a cursor returns the newest 50, oldest first, with hasMore.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_default_limit_is_50_newest_messages_oldest_first() {
    let app = spawn_app_with(generous_rate_limits).await;
    let (alice, _) = app.login(ALICE).await;
    let product = app.channel_id(&alice, "Product").await;
    let h0 = app.head_seq(&alice, "Product").await;
    let mut ws = app.ws_join(&alice, &product).await;
    ws.send_many(60, "bulk").await;

    let page = app.history(&alice, &product, &[]).await;
    let seqs = page_seqs(&page);
    assert_eq!(seqs, ((h0 + 11)..=(h0 + 60)).collect::<Vec<_>>());
    assert_eq!(page["hasMore"], true);
    for m in page["messages"].as_array().unwrap() {
        assert_rest_message_shape(m);
    }
}

/// A limit above 100 is capped at 100.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_limit_is_capped_at_100() {
    let app = spawn_app_with(generous_rate_limits).await;
    let (alice, _) = app.login(ALICE).await;
    let product = app.channel_id(&alice, "Product").await;
    let h0 = app.head_seq(&alice, "Product").await;
    let mut ws = app.ws_join(&alice, &product).await;
    ws.send_many(110, "bulk").await;

    let page = app.history(&alice, &product, &[("limit", "1000")]).await;
    assert_eq!(
        page_seqs(&page),
        ((h0 + 11)..=(h0 + 110)).collect::<Vec<_>>()
    );
    assert_eq!(page["hasMore"], true);
    let page = app.history(&alice, &product, &[("limit", "100")]).await;
    assert_eq!(page_seqs(&page).len(), 100);
}

/// `before_seq` pages backwards: messages just below the cursor, oldest first; hasMore says if older exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_before_seq_pages_backwards() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let product = app.channel_id(&alice, "Product").await;
    let h0 = app.head_seq(&alice, "Product").await;
    let mut ws = app.ws_join(&alice, &product).await;
    ws.send_many(5, "page").await;

    let before = (h0 + 5).to_string();
    let page = app
        .history(&alice, &product, &[("before_seq", &before), ("limit", "2")])
        .await;
    assert_eq!(page_seqs(&page), vec![h0 + 3, h0 + 4]);
    assert_eq!(page["hasMore"], true);

    let before = (h0 + 3).to_string();
    let page = app
        .history(&alice, &product, &[("before_seq", &before), ("limit", "2")])
        .await;
    assert_eq!(page_seqs(&page), vec![h0 + 1, h0 + 2]);
    assert_eq!(page["hasMore"], h0 > 0);

    let page = app
        .history(&alice, &product, &[("before_seq", "1"), ("limit", "2")])
        .await;
    assert_eq!(page_seqs(&page), Vec::<i64>::new());
    assert_eq!(page["hasMore"], false);
}

/// `after_seq` pages forwards: the messages just after the cursor, oldest first; hasMore says if newer exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_after_seq_pages_forwards() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let product = app.channel_id(&alice, "Product").await;
    let h0 = app.head_seq(&alice, "Product").await;
    let mut ws = app.ws_join(&alice, &product).await;
    ws.send_many(5, "page").await;

    let after = h0.to_string();
    let page = app
        .history(&alice, &product, &[("after_seq", &after), ("limit", "2")])
        .await;
    assert_eq!(page_seqs(&page), vec![h0 + 1, h0 + 2]);
    assert_eq!(page["hasMore"], true);

    let after = (h0 + 3).to_string();
    let page = app
        .history(&alice, &product, &[("after_seq", &after), ("limit", "2")])
        .await;
    assert_eq!(page_seqs(&page), vec![h0 + 4, h0 + 5]);
    assert_eq!(page["hasMore"], false);

    let after = (h0 + 5).to_string();
    let page = app
        .history(&alice, &product, &[("after_seq", &after)])
        .await;
    assert_eq!(page_seqs(&page), Vec::<i64>::new());
    assert_eq!(page["hasMore"], false);
}

/// `before` (an RFC 3339 timestamp, the seed's cursor) returns messages created strictly before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_before_timestamp_returns_older_messages() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let product = app.channel_id(&alice, "Product").await;
    let mut ws = app.ws_join(&alice, &product).await;
    let a = ws.send_ok("first").await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let b = ws.send_ok("second").await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let c = ws.send_ok("third").await;

    let cursor = b["createdAt"].as_str().unwrap();
    let page = app.history(&alice, &product, &[("before", cursor)]).await;
    let seqs = page_seqs(&page);
    assert_eq!(seqs.last(), Some(&seq(&a)), "page before b: {seqs:?}");
    assert!(!seqs.contains(&seq(&b)) && !seqs.contains(&seq(&c)));

    let future = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let page = app.history(&alice, &product, &[("before", &future)]).await;
    assert_eq!(page_seqs(&page).last(), Some(&seq(&c)));
}

/// Two cursors at once is 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_with_two_cursors_is_400() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let now = chrono::Utc::now().to_rfc3339();
    for query in [
        vec![("before_seq", "5"), ("after_seq", "1")],
        vec![("before", now.as_str()), ("before_seq", "5")],
        vec![("before", now.as_str()), ("after_seq", "1")],
    ] {
        assert_eq!(
            app.history_status(&alice, &general, &query).await,
            400,
            "{query:?}"
        );
    }
}

/// A malformed limit or cursor is 400 (never a 500).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_with_bad_limit_or_cursor_is_400() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    for query in [
        [("limit", "abc")],
        [("limit", "-1")],
        [("limit", "1.5")],
        [("before_seq", "x")],
        [("after_seq", "-3")],
        [("after_seq", "99999999999999999999999")],
        [("before", "yesterday")],
    ] {
        assert_eq!(
            app.history_status(&alice, &general, &query).await,
            400,
            "{query:?}"
        );
    }
}

/// An unknown channel UUID is 404 on history, read and the WS upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_channel_is_404_on_every_route() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        app.history_status(&alice, &unknown, &[]).await,
        404,
        "history"
    );
    assert_eq!(
        app.mark_read(&alice, &unknown, None)
            .await
            .status()
            .as_u16(),
        404,
        "read"
    );
    assert_eq!(
        ws_refused_status(app.ws_request_bearer(&alice, &unknown)).await,
        404,
        "ws"
    );
}

/// A channel id that is not a UUID is 400 on history, read and the WS upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_uuid_channel_id_is_400_on_every_route() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let bad = "not-a-uuid";
    assert_eq!(app.history_status(&alice, bad, &[]).await, 400, "history");
    assert_eq!(
        app.mark_read(&alice, bad, None).await.status().as_u16(),
        400,
        "read"
    );
    assert_eq!(
        ws_refused_status(app.ws_request_bearer(&alice, bad)).await,
        400,
        "ws"
    );
}

/// Asserts that the user (`email`, signed in as `token`) gets 403 from
/// every way into `channel`: history, members, read (with and without a
/// seq), both WS upgrades, and the UI's server functions for the channel.
pub async fn assert_forbidden_on_every_channel_route(
    app: &TestApp,
    email: &str,
    token: &str,
    channel: &str,
) {
    assert_eq!(
        app.history_status(token, channel, &[]).await,
        403,
        "history"
    );
    let members = app
        .get(&format!("/chat/channels/{channel}/members"), Some(token))
        .await
        .status()
        .as_u16();
    assert_eq!(members, 403, "members");
    let cookie = app.login_cookie(email).await;
    for name in ["load_history", "channel_members", "mark_read"] {
        let (status, body) = app
            .server_fn(name, Some(&cookie), &[("channel_id", channel)])
            .await;
        assert_eq!(status, 403, "server function {name}: {body}");
    }
    for seq in [None, Some(1)] {
        let status = app.mark_read(token, channel, seq).await.status().as_u16();
        assert_eq!(status, 403, "read with seq {seq:?}");
    }
    let bearer = ws_refused_status(app.ws_request_bearer(token, channel)).await;
    assert_eq!(bearer, 403, "ws with a bearer header");
    let query = ws_refused_status(app.ws_request_query(token, channel)).await;
    assert_eq!(query, 403, "ws with ?token=");
}

/// A non-member (carol on Product) is 403 on history, read and the WS upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_member_is_403_on_every_route() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (carol, _) = app.login(CAROL).await;
    let product = app.channel_id(&alice, "Product").await;
    assert_forbidden_on_every_channel_route(&app, CAROL, &carol, &product).await;
}

/// Membership follows `tablo_access.is_active`: once deactivated, the channel leaves the list and routes are 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_membership_is_403_and_hidden_from_the_list() {
    let app = spawn_app().await;
    let (carol, _) = app.login(CAROL).await;
    let general = app.channel_id(&carol, "General").await;
    deactivate_membership(&app, CAROL, "General").await;

    let names: Vec<Value> = app
        .channels(&carol)
        .await
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert!(
        !names.contains(&json!("General")),
        "still listed: {names:?}"
    );
    assert_forbidden_on_every_channel_route(&app, CAROL, &carol, &general).await;
}

/// Sets `is_active = false` on the user's access row for the named channel.
pub async fn deactivate_membership(app: &TestApp, email: &str, channel: &str) {
    let done = app
        .db()
        .await
        .execute(
            "UPDATE tablo_access SET is_active = ?3 \
             WHERE user_id IN (SELECT id FROM users WHERE email = ?1) \
             AND tablo_id IN (SELECT id FROM tablos WHERE name = ?2)",
            vec![
                Bind::Text(email.into()),
                Bind::Text(channel.into()),
                Bind::Bool(false),
            ],
        )
        .await;
    assert_eq!(done, 1, "no access row for {email} on {channel}");
}

/// Deleted messages are not returned by history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_messages_are_not_returned() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let product = app.channel_id(&alice, "Product").await;
    let mut ws = app.ws_join(&alice, &product).await;
    let keep1 = ws.send_ok("keep 1").await;
    let gone = ws.send_ok("delete me").await;
    let keep2 = ws.send_ok("keep 2").await;

    let done = app
        .db()
        .await
        .execute(
            "UPDATE messages SET deleted_at = ?1 WHERE client_id = ?2",
            vec![
                Bind::Time(chrono::Utc::now()),
                Bind::Text(gone["clientId"].as_str().unwrap().into()),
            ],
        )
        .await;
    assert_eq!(done, 1);

    let page = app.history(&alice, &product, &[]).await;
    let seqs = page_seqs(&page);
    assert!(
        seqs.contains(&seq(&keep1)) && seqs.contains(&seq(&keep2)),
        "{seqs:?}"
    );
    assert!(
        !seqs.contains(&seq(&gone)),
        "deleted message returned: {seqs:?}"
    );
}

/// A history message has the REST shape and the same values as its `message.new`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_message_has_rest_shape_and_matches_message_new() {
    let app = spawn_app().await;
    let (alice, alice_id) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let mut ws = app.ws_join(&alice, &general).await;
    let sent = ws.send_ok("same in both").await;

    let after = (seq(&sent) - 1).to_string();
    let page = app
        .history(&alice, &general, &[("after_seq", &after)])
        .await;
    let m = &page["messages"][0];
    assert_rest_message_shape(m);
    assert_eq!(m["id"], sent["id"]);
    assert_eq!(m["channel_id"], json!(general));
    assert_eq!(m["seq"], sent["seq"]);
    assert_eq!(m["user_id"], json!(alice_id));
    assert_eq!(m["text"], "same in both");
    assert_eq!(m["client_id"], sent["clientId"]);
    let rest_time =
        chrono::DateTime::parse_from_rfc3339(m["created_at"].as_str().unwrap()).unwrap();
    let ws_time =
        chrono::DateTime::parse_from_rfc3339(sent["createdAt"].as_str().unwrap()).unwrap();
    assert_eq!(rest_time, ws_time, "created_at differs between REST and WS");
}

/// Each history message also carries the camelCase compatibility fields the
/// seed's client reads (`channelId`, `userId`, `createdAt`, `clientId`),
/// equal to the snake_case ones; and a page's oldest `createdAt` is a cursor
/// for the page before it (the seed's "load more").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_messages_carry_the_seed_clients_camel_case_fields() {
    let app = spawn_app().await;
    let (alice, alice_id) = app.login(ALICE).await;
    let product = app.channel_id(&alice, "Product").await;
    let mut ws = app.ws_join(&alice, &product).await;
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(ws.send_ok(&format!("m{i}")).await);
    }
    let page = app.history(&alice, &product, &[("limit", "3")]).await;
    let messages = page["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    for m in messages {
        assert_rest_message_shape(m);
        assert_eq!(m["channelId"], m["channel_id"], "{m}");
        assert_eq!(m["channelId"], json!(product));
        assert_eq!(m["userId"], m["user_id"], "{m}");
        assert_eq!(m["userId"], json!(alice_id));
        assert_eq!(m["createdAt"], m["created_at"], "{m}");
        assert_eq!(m["clientId"], m["client_id"], "{m}");
    }
    assert_eq!(messages[2]["clientId"], sent[4]["clientId"]);
    let oldest = messages[0]["createdAt"].as_str().unwrap();
    let older = app
        .history(&alice, &product, &[("limit", "3"), ("before", oldest)])
        .await;
    assert_eq!(page_seqs(&older), vec![seq(&sent[0]), seq(&sent[1])]);
    assert_eq!(older["hasMore"], false);
}

/// Mark read without a body moves the cursor to the newest seq and answers `{"ok": true}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_read_without_body_reads_up_to_the_newest_seq() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    let mut ws = app.ws_join(&alice, &general).await;
    let last = ws.send_many(3, "to read").await.pop().unwrap();

    let resp = app.mark_read(&bob, &general, None).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["ok"], true);
    let c = app.channel(&bob, "General").await;
    assert_eq!(c["last_read_seq"], last["seq"]);
    assert_eq!(c["unread_count"], 0);
}

/// Mark read with `{"seq": n}` sets the cursor to n, and a lower n never moves it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_read_with_seq_never_moves_backwards() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    app.mark_all_read(&bob).await;
    let mut ws = app.ws_join(&alice, &general).await;
    let sent = ws.send_many(4, "read me").await;
    let s: Vec<i64> = sent.iter().map(seq).collect();

    let resp = app.mark_read(&bob, &general, Some(s[2])).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["ok"], true);
    let c = app.channel(&bob, "General").await;
    assert_eq!(c["last_read_seq"], s[2]);
    assert_eq!(c["unread_count"], 1);

    let resp = app.mark_read(&bob, &general, Some(s[0])).await;
    assert_eq!(resp.status().as_u16(), 200);
    let c = app.channel(&bob, "General").await;
    assert_eq!(c["last_read_seq"], s[2], "read cursor moved backwards");
    assert_eq!(c["unread_count"], 1);
}

/// A mark-read body with a non-integer seq is 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_read_with_bad_seq_is_400() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let path = format!("/chat/channels/{general}/read");
    for body in [
        json!({"seq": "abc"}),
        json!({"seq": -1}),
        json!({"seq": 1.5}),
    ] {
        let status = app
            .post(&path, Some(&alice), Some(&body))
            .await
            .status()
            .as_u16();
        assert_eq!(status, 400, "{body}");
    }
    let status = app
        .api
        .post(app.url(&path))
        .bearer_auth(&alice)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 400, "malformed JSON body");
}

/// `/chat/unread` lists only channels with unread > 0, never counting the caller's own messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_lists_only_channels_with_unread_messages_from_others() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let random = app.channel_id(&alice, "Random").await;
    app.mark_all_read(&alice).await;
    app.mark_all_read(&bob).await;
    assert_eq!(unread_pairs(&app, &bob).await, Vec::<(String, i64)>::new());

    let mut ws = app.ws_join(&alice, &random).await;
    let sent = ws.send_many(3, "unread").await;
    assert_eq!(unread_pairs(&app, &bob).await, vec![(random.clone(), 3)]);
    assert_eq!(
        unread_pairs(&app, &alice).await,
        Vec::<(String, i64)>::new(),
        "own messages counted"
    );

    app.mark_read(&bob, &random, Some(seq(&sent[1]))).await;
    assert_eq!(unread_pairs(&app, &bob).await, vec![(random.clone(), 1)]);
    app.mark_read(&bob, &random, None).await;
    assert_eq!(unread_pairs(&app, &bob).await, Vec::<(String, i64)>::new());
}

/// `/chat/unread` as `(channel_id, unread_count)` pairs.
async fn unread_pairs(app: &TestApp, token: &str) -> Vec<(String, i64)> {
    app.unread(token)
        .await
        .iter()
        .map(|u| {
            let id = u["channel_id"].as_str().unwrap_or_else(|| panic!("{u}"));
            let n = u["unread_count"].as_i64().unwrap_or_else(|| panic!("{u}"));
            (id.to_string(), n)
        })
        .collect()
}

/// An oversize mark-read body is 413 or 400, never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_mark_read_body_is_413_or_400() {
    let app = spawn_app().await;
    let (alice, _) = app.login(ALICE).await;
    let general = app.channel_id(&alice, "General").await;
    let body = json!({"seq": 1, "padding": "x".repeat(1024 * 1024)});
    let status = app
        .post(
            &format!("/chat/channels/{general}/read"),
            Some(&alice),
            Some(&body),
        )
        .await
        .status()
        .as_u16();
    assert!(status == 413 || status == 400, "got {status}");
}

/// A send the route must refuse: what it is, the token, the path, the
/// body, the status and the error code expected.
type Refusal<'a> = (
    &'a str,
    Option<&'a str>,
    String,
    Value,
    u16,
    Option<&'a str>,
);

/// `POST /chat/channels/{id}/messages`: the `message.send` frame's rules by
/// HTTP. Stored once per clientId (201, then 200 with the same message),
/// broadcast to the channel's sockets, and every refusal changes nothing;
/// the server function `send_message` is the same call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_sent_by_http_under_the_frames_rules() {
    let app = spawn_app().await;
    let mut p = app.alice_and_bob_in("General").await;
    let path = format!("/chat/channels/{}/messages", p.channel);
    let head = app.head_seq(&p.alice, "General").await;

    let body = json!({"text": "  by **http**  ", "clientId": "http-1"});
    let r = app.post(&path, Some(&p.alice), Some(&body)).await;
    assert_eq!(r.status(), 201);
    let sent: Value = r.json().await.unwrap();
    let m = &sent["message"];
    assert_eq!(m["text"], "by **http**");
    assert_eq!(m["client_id"], "http-1");
    assert_eq!(m["user_id"], p.alice_id.as_str());
    assert_eq!(seq(m), head + 1);
    let live = p.b.next_frame_of_type("message.new", WAIT).await;
    assert_eq!(live["id"], m["id"]);
    let own = p.a.next_frame_of_type("message.new", WAIT).await;
    assert_eq!(own["clientId"], "http-1");

    // The same clientId again: the stored message, nothing new.
    let r = app.post(&path, Some(&p.alice), Some(&body)).await;
    assert_eq!(r.status(), 200);
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["message"]["id"], m["id"]);
    assert_eq!(app.head_seq(&p.alice, "General").await, head + 1);

    // A thread reply, also sent to the channel.
    let reply = json!({"text": "in the thread", "clientId": "http-2",
        "parentId": m["id"], "showInChannel": true});
    let r = app.post(&path, Some(&p.bob), Some(&reply)).await;
    assert_eq!(r.status(), 201);
    let reply: Value = r.json().await.unwrap();
    assert_eq!(reply["message"]["parent_id"], m["id"]);
    assert_eq!(reply["message"]["show_in_channel"], true);

    let (carol, _) = app.login(CAROL).await;
    let random = app.channel_id(&carol, "Random").await;
    let product = app.channel_id(&p.alice, "Product").await;
    let long = "x".repeat(5000);
    let refused: Vec<Refusal> = vec![
        (
            "empty",
            Some(&p.alice),
            path.clone(),
            json!({"text": "  ", "clientId": "r1"}),
            400,
            Some("EMPTY_MESSAGE"),
        ),
        (
            "too long",
            Some(&p.alice),
            path.clone(),
            json!({"text": long, "clientId": "r2"}),
            413,
            Some("MESSAGE_TOO_LONG"),
        ),
        (
            "no clientId",
            Some(&p.alice),
            path.clone(),
            json!({"text": "hi"}),
            400,
            None,
        ),
        (
            "unknown field",
            Some(&p.alice),
            path.clone(),
            json!({"text": "hi", "clientId": "r3", "pinned": true}),
            400,
            None,
        ),
        (
            "showInChannel alone",
            Some(&p.alice),
            path.clone(),
            json!({"text": "hi", "clientId": "r4", "showInChannel": true}),
            400,
            Some("PARSE_ERROR"),
        ),
        (
            "parent of another channel",
            Some(&carol),
            format!("/chat/channels/{random}/messages"),
            json!({"text": "hi", "clientId": "r5", "parentId": m["id"]}),
            400,
            Some("PARSE_ERROR"),
        ),
        (
            "not a member",
            Some(&carol),
            format!("/chat/channels/{product}/messages"),
            json!({"text": "hi", "clientId": "r6"}),
            403,
            Some("FORBIDDEN"),
        ),
        (
            "unknown upload",
            Some(&p.alice),
            path.clone(),
            json!({"text": "hi", "clientId": "r7", "attachments": [uuid::Uuid::new_v4()]}),
            400,
            Some("INVALID_ATTACHMENT"),
        ),
        (
            "no token",
            None,
            path.clone(),
            json!({"text": "hi", "clientId": "r8"}),
            401,
            None,
        ),
    ];
    for (what, token, path, body, status, code) in refused {
        let r = app.post(&path, token, Some(&body)).await;
        assert_eq!(r.status().as_u16(), status, "{what}");
        let e: Value = r.json().await.unwrap_or(Value::Null);
        if let Some(code) = code {
            assert_eq!(e["code"], code, "{what}: {e}");
        }
    }
    // Two stored in General (the message and the reply), none refused.
    assert_eq!(app.head_seq(&p.alice, "General").await, head + 2);

    // The server function: the same call.
    let cookie = app.login_cookie(ALICE).await;
    let res = app
        .api
        .post(app.url("/api/send_message"))
        .header("cookie", &cookie)
        .json(&json!({"channel_id": p.channel, "message": {"text": "by server fn", "clientId": "fn-1"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let m: Value = res.json().await.unwrap();
    assert_eq!(m["text"], "by server fn");
    assert_eq!(seq(&m), head + 3);
    let res = app
        .api
        .post(app.url("/api/send_message"))
        .header("cookie", &cookie)
        .json(&json!({"channel_id": p.channel, "message": {"text": " ", "clientId": "fn-2"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(app.head_seq(&p.alice, "General").await, head + 3);
}
