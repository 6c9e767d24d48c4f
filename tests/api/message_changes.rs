//! Messages that change (PROTOCOL.md "Changes to messages"): edits with
//! their history, tombstone deletes, reactions, quoted replies, pins,
//! "seen by", the `around_seq` cursor, every refusal through the JSON
//! routes, the frames and the server functions, and resuming changes with
//! `afterRev` to exactly the server's state. Runs on SQLite and again on
//! Postgres (the suite's second pass).

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

pub(crate) const ADMIN_KEY: &str = "test-admin-key-0123456789abcdef0123456789";

impl TestApp {
    /// A JSON route call with a bearer token: status and body.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.api.request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// `PATCH .../messages/{m}`.
    pub(crate) async fn edit(
        &self,
        token: &str,
        channel: &str,
        id: &str,
        body: Value,
    ) -> (u16, Value) {
        let path = format!("/chat/channels/{channel}/messages/{id}");
        self.call(Method::PATCH, &path, token, Some(body)).await
    }

    /// `DELETE .../messages/{m}`.
    pub(crate) async fn delete(&self, token: &str, channel: &str, id: &str) -> (u16, Value) {
        let path = format!("/chat/channels/{channel}/messages/{id}");
        self.call(Method::DELETE, &path, token, None).await
    }

    /// `PUT` or `DELETE .../reactions/{emoji}` (percent-encoded here).
    async fn react(
        &self,
        method: Method,
        token: &str,
        channel: &str,
        id: &str,
        emoji: &str,
    ) -> (u16, Value) {
        let path = format!(
            "/chat/channels/{channel}/messages/{id}/reactions/{}",
            urlencoding(emoji)
        );
        self.call(method, &path, token, None).await
    }

    /// `PUT` or `DELETE .../pins/{m}`.
    async fn pin(&self, method: Method, token: &str, channel: &str, id: &str) -> (u16, Value) {
        let path = format!("/chat/channels/{channel}/pins/{id}");
        self.call(method, &path, token, None).await
    }

    /// An admin call with the service key.
    pub(crate) async fn admin_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call(method, path, ADMIN_KEY, body).await
    }

    /// The whole history of a channel by id, oldest first.
    async fn all_messages(&self, token: &str, channel: &str) -> Vec<Value> {
        let page = self.history(token, channel, &[("limit", "100")]).await;
        page["messages"].as_array().unwrap().clone()
    }
}

/// Percent-encodes a path segment.
fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn app() -> TestApp {
    spawn_app_with(|s| {
        s.admin_key = Some(ADMIN_KEY.into());
        generous_rate_limits(s);
        s.limits.change_burst = 10_000;
        s.limits.change_per_second = 10_000;
    })
    .await
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn rev(v: &Value) -> i64 {
    v["rev"].as_i64().unwrap()
}

/// The next `message.updated` for message `id`.
async fn updated(ws: &mut WsClient, id: &str) -> Value {
    ws.next_frame_matching("message.updated", WAIT, |v| {
        v["type"] == "message.updated" && v["id"] == id
    })
    .await
}

/// Sends a change frame through `ws` and waits for the `message.updated`
/// it caused: the first for that message with a rev above the channel's
/// head rev before the frame was sent (the socket may still hold updates
/// of earlier changes made through other paths).
async fn change_ok(
    app: &TestApp,
    token: &str,
    channel: &str,
    ws: &mut WsClient,
    frame: Value,
) -> Value {
    let before = app.history(token, channel, &[("limit", "1")]).await["headRev"]
        .as_i64()
        .unwrap();
    let id = frame["id"].as_str().unwrap().to_string();
    ws.send_json(&frame).await;
    let v = ws
        .next_frame_matching("message.updated or error", WAIT, |v| {
            (v["type"] == "message.updated" && v["id"] == id.as_str() && rev(v) > before)
                || v["type"] == "error"
        })
        .await;
    assert_eq!(v["type"], "message.updated", "{frame} answered {v}");
    v
}

/// Sends a change frame and returns the `error` answering it.
async fn change_refused(ws: &mut WsClient, frame: Value) -> Value {
    ws.send_json(&frame).await;
    ws.next_frame_of_type("error", WAIT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_reaches_everyone_with_a_new_rev_and_keeps_the_old_text() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    let m = p.a.send_ok("first text").await;
    let _ = p.b.next_frame_of_type("message.new", WAIT).await;
    let mid = id(&m);
    assert_eq!(rev(&m), 0, "a new message is unchanged: {m}");

    let on_a = change_ok(
        &app,
        &p.alice,
        &p.channel,
        &mut p.a,
        json!({"type": "message.edit", "id": mid, "text": "  second text  "}),
    )
    .await;
    let on_b = updated(&mut p.b, &mid).await;
    assert_eq!(on_a, on_b, "everyone gets the same state");
    assert_eq!(on_b["text"], "second text", "trimmed like a send");
    assert!(rev(&on_b) > 0);
    assert_rfc3339(&on_b["editedAt"], "editedAt");
    assert_eq!(on_b["seq"], m["seq"], "an edit takes no new seq");
    assert_eq!(on_b["clientId"], m["clientId"]);

    // The REST route, with the right ifRev.
    let (status, body) = app
        .edit(
            &p.alice,
            &p.channel,
            &mid,
            json!({"text": "third text", "ifRev": rev(&on_b)}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"]["text"], "third text");
    assert!(body["message"]["edited_at"].is_string());
    let third = updated(&mut p.b, &mid).await;
    assert_eq!(rev(&third), rev(&on_b) + 1, "revs are gap-free");

    // The same text again changes nothing: no rev, no history entry.
    let (status, same) = app
        .edit(&p.alice, &p.channel, &mid, json!({"text": "third text"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(rev(&same["message"]), rev(&third));
    p.b.expect_no_frame_of_type("message.updated", QUIET).await;

    // History shows the current state; the edit history the earlier texts.
    let history = app.all_messages(&p.bob, &p.channel).await;
    let shown = history.iter().find(|v| v["id"] == mid.as_str()).unwrap();
    assert_eq!(shown["text"], "third text");
    assert_eq!(rev(shown), rev(&third));
    let (status, edits) = app
        .call(
            Method::GET,
            &format!("/chat/channels/{}/messages/{mid}/edits", p.channel),
            &p.alice,
            None,
        )
        .await;
    assert_eq!(status, 200, "{edits}");
    let texts: Vec<&str> = edits["edits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["first text", "second text"], "oldest first");
    // Only the author reads it; the host app too.
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/chat/channels/{}/messages/{mid}/edits", p.channel),
            &p.bob,
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, admin_edits) = app
        .admin_call(
            Method::GET,
            &format!("/admin/tablos/{}/messages/{mid}/edits", p.channel),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(admin_edits["edits"], edits["edits"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_edits_and_deletes_are_refused_and_change_nothing() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    let m = p.a.send_ok("alice's").await;
    let mid = id(&m);
    let random = app.channel_id(&p.alice, "Random").await;

    // Another's message: 403 / FORBIDDEN, with the frame's clientId.
    let (status, body) = app
        .edit(&p.bob, &p.channel, &mid, json!({"text": "mine now"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "{body}"
    );
    let (status, _) = app.delete(&p.bob, &p.channel, &mid).await;
    assert_eq!(status, 403);
    let e = change_refused(
        &mut p.b,
        json!({"type": "message.edit", "id": mid, "text": "x", "clientId": "e-1"}),
    )
    .await;
    assert_eq!(
        (e["code"].as_str(), e["clientId"].as_str()),
        (Some("FORBIDDEN"), Some("e-1"))
    );
    let e = change_refused(
        &mut p.b,
        json!({"type": "message.delete", "id": mid, "clientId": "d-1"}),
    )
    .await;
    assert_eq!(
        (e["code"].as_str(), e["clientId"].as_str()),
        (Some("FORBIDDEN"), Some("d-1"))
    );

    // Unknown id, and a message of another channel: 404 / NOT_FOUND.
    let unknown = uuid::Uuid::new_v4().to_string();
    let (status, body) = app
        .edit(&p.alice, &p.channel, &unknown, json!({"text": "x"}))
        .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    let (status, _) = app
        .edit(&p.alice, &random, &mid, json!({"text": "x"}))
        .await;
    assert_eq!(status, 404, "the message is in General, not Random");
    let e = change_refused(
        &mut p.a,
        json!({"type": "message.edit", "id": unknown, "text": "x"}),
    )
    .await;
    assert_eq!(e["code"], "NOT_FOUND");

    // Empty and too long text: the send rules.
    let (status, body) = app
        .edit(&p.alice, &p.channel, &mid, json!({"text": "   "}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("EMPTY_MESSAGE")),
        "{body}"
    );
    let (status, _) = app
        .edit(
            &p.alice,
            &p.channel,
            &mid,
            json!({"text": "x".repeat(4001)}),
        )
        .await;
    assert_eq!(status, 413);
    let e = change_refused(
        &mut p.a,
        json!({"type": "message.edit", "id": mid, "text": ""}),
    )
    .await;
    assert_eq!(e["code"], "EMPTY_MESSAGE");
    let e = change_refused(
        &mut p.a,
        json!({"type": "message.edit", "id": mid, "text": "y".repeat(4001)}),
    )
    .await;
    assert_eq!(e["code"], "MESSAGE_TOO_LONG");

    // A stale ifRev: 409 / CONFLICT.
    let (status, body) = app
        .edit(
            &p.alice,
            &p.channel,
            &mid,
            json!({"text": "x", "ifRev": 99}),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("CONFLICT")));
    let e = change_refused(
        &mut p.a,
        json!({"type": "message.edit", "id": mid, "text": "x", "ifRev": 5, "clientId": "c"}),
    )
    .await;
    assert_eq!(
        (e["code"].as_str(), e["clientId"].as_str()),
        (Some("CONFLICT"), Some("c"))
    );

    // Malformed frames and bodies.
    let e = change_refused(
        &mut p.a,
        json!({"type": "message.edit", "id": "nope", "text": "x"}),
    )
    .await;
    assert_eq!(e["code"], "PARSE_ERROR");
    let (status, _) = app
        .call(
            Method::PATCH,
            &format!("/chat/channels/{}/messages/{mid}", p.channel),
            &p.alice,
            Some(json!({"txt": 1})),
        )
        .await;
    assert_eq!(status, 400);

    // Nothing of that changed the message.
    let shown = app.all_messages(&p.alice, &p.channel).await;
    let shown = shown.iter().find(|v| v["id"] == mid.as_str()).unwrap();
    assert_eq!((shown["text"].as_str(), rev(shown)), (Some("alice's"), 0));
    p.b.expect_no_frame_of_type("message.updated", QUIET).await;

    // A deleted message cannot be edited: 409.
    let (status, _) = app.delete(&p.alice, &p.channel, &mid).await;
    assert_eq!(status, 200);
    let (status, body) = app
        .edit(&p.alice, &p.channel, &mid, json!({"text": "back"}))
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("CONFLICT")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_members_and_revoked_members_change_nothing() {
    let app = app().await;
    let (alice, _) = app.login(ALICE).await;
    let (carol, carol_id) = app.login(CAROL).await;
    let product = app.channel_id(&alice, "Product").await;
    let mut a = app.ws_join(&alice, &product).await;
    let m = a.send_ok("product news").await;
    let mid = id(&m);
    for (status, _) in [
        app.edit(&carol, &product, &mid, json!({"text": "x"})).await,
        app.delete(&carol, &product, &mid).await,
        app.react(Method::PUT, &carol, &product, &mid, "👍").await,
        app.pin(Method::PUT, &carol, &product, &mid).await,
        app.call(
            Method::GET,
            &format!("/chat/channels/{product}/pins"),
            &carol,
            None,
        )
        .await,
        app.call(
            Method::GET,
            &format!("/chat/channels/{product}/reads"),
            &carol,
            None,
        )
        .await,
    ] {
        assert_eq!(status, 403);
    }
    // Revoked: carol had General; after the revoke she changes nothing.
    let general = app.channel_id(&alice, "General").await;
    let mut ag = app.ws_join(&alice, &general).await;
    let mut cg = app.ws_join(&carol, &general).await;
    let own = cg.send_ok("carol's").await;
    let (status, _) = app
        .admin_call(
            Method::DELETE,
            &format!("/admin/tablos/{general}/members/{carol_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .edit(&carol, &general, &id(&own), json!({"text": "after revoke"}))
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .react(Method::PUT, &carol, &general, &id(&own), "👍")
        .await;
    assert_eq!(status, 403);
    ag.expect_no_frame_of_type("message.updated", QUIET).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_leaves_a_tombstone_and_fixes_unread_counts() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    // Bob reads everything, then alice sends two; bob has two unread.
    app.mark_all_read(&p.bob).await;
    let keep = p.a.send_ok("keep").await;
    let gone = p.a.send_ok("to be deleted").await;
    // Bob watches from another channel (the channel list's unread badges).
    let random = app.channel_id(&p.bob, "Random").await;
    let mut bob_elsewhere = app.ws_join(&p.bob, &random).await;
    let general_unread = |unread: &[Value]| {
        unread
            .iter()
            .find(|u| u["channel_id"] == p.channel.as_str())
            .map_or(0, |u| u["unread_count"].as_i64().unwrap())
    };
    assert_eq!(general_unread(&app.unread(&p.bob).await), 2);

    let tombstone = change_ok(
        &app,
        &p.alice,
        &p.channel,
        &mut p.a,
        json!({"type": "message.delete", "id": id(&gone), "clientId": "del"}),
    )
    .await;
    assert_eq!(tombstone["deleted"], true);
    assert_eq!(tombstone["text"], "");
    assert_eq!(tombstone["seq"], gone["seq"], "a tombstone keeps its seq");
    assert_eq!(updated(&mut p.b, &id(&gone)).await, tombstone);
    let u = bob_elsewhere
        .next_frame_of_type("unread.updated", WAIT)
        .await;
    assert_eq!(
        (u["channelId"].as_str(), u["unreadCount"].as_i64()),
        (Some(p.channel.as_str()), Some(1))
    );
    assert_eq!(general_unread(&app.unread(&p.bob).await), 1);

    // History keeps it in place, as a tombstone: no hole in seq.
    let history = app.all_messages(&p.bob, &p.channel).await;
    let seqs: Vec<i64> = history.iter().map(seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let shown = history.iter().find(|v| v["id"] == gone["id"]).unwrap();
    assert_eq!(
        (shown["deleted"].as_bool(), shown["text"].as_str()),
        (Some(true), Some(""))
    );
    assert_eq!(
        history.iter().find(|v| v["id"] == keep["id"]).unwrap()["deleted"],
        false
    );

    // A repeated delete changes nothing (no new rev).
    let (status, again) = app.delete(&p.alice, &p.channel, &id(&gone)).await;
    assert_eq!(status, 200);
    assert_eq!(rev(&again["message"]), rev(&tombstone));
    p.b.expect_no_frame_of_type("message.updated", QUIET).await;
    // Reactions and pins on a tombstone are refused (409), removals are no-ops.
    let (status, _) = app
        .react(Method::PUT, &p.bob, &p.channel, &id(&gone), "👍")
        .await;
    assert_eq!(status, 409);
    let (status, _) = app.pin(Method::PUT, &p.bob, &p.channel, &id(&gone)).await;
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_app_deletes_softly_or_wipes_the_text() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    let soft = p.a.send_ok("soft").await;
    let hard = p.a.send_ok("hard secret").await;
    change_ok(
        &app,
        &p.alice,
        &p.channel,
        &mut p.a,
        json!({"type": "message.edit", "id": id(&hard), "text": "hard secret v2"}),
    )
    .await;

    let (status, body) = app
        .admin_call(
            Method::DELETE,
            &format!("/admin/tablos/{}/messages/{}", p.channel, id(&soft)),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"]["deleted"], true);
    assert_eq!(updated(&mut p.b, &id(&soft)).await["deleted"], true);

    let (status, _) = app
        .admin_call(
            Method::DELETE,
            &format!(
                "/admin/tablos/{}/messages/{}?hard=true",
                p.channel,
                id(&hard)
            ),
            None,
        )
        .await;
    assert_eq!(status, 200);
    // The stored text and edit history are gone; the soft one kept its text.
    let mut db = app.db().await;
    let rows = db
        .int_text_rows("SELECT seq, text FROM messages ORDER BY seq")
        .await;
    let by_seq: BTreeMap<i64, String> = rows.into_iter().collect();
    assert_eq!(
        by_seq[&seq(&soft)],
        "soft",
        "a soft delete keeps the stored text"
    );
    assert_eq!(by_seq[&seq(&hard)], "", "a hard delete wipes it");
    let (_, edits) = app
        .admin_call(
            Method::GET,
            &format!("/admin/tablos/{}/messages/{}/edits", p.channel, id(&hard)),
            None,
        )
        .await;
    assert_eq!(edits["edits"], json!([]));
    // Without the key, or on a message of another tablo: refused.
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/admin/tablos/{}/messages/{}", p.channel, id(&soft)),
            &p.alice,
            None,
        )
        .await;
    assert_eq!(status, 401);
    let random = app.channel_id(&p.alice, "Random").await;
    let (status, _) = app
        .admin_call(
            Method::DELETE,
            &format!("/admin/tablos/{random}/messages/{}", id(&soft)),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .admin_call(
            Method::DELETE,
            &format!(
                "/admin/tablos/{}/messages/{}?hard=maybe",
                p.channel,
                id(&soft)
            ),
            None,
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_count_once_per_user_and_list_who() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    let m = p.a.send_ok("react to me").await;
    let mid = id(&m);

    let first = change_ok(
        &app,
        &p.bob,
        &p.channel,
        &mut p.b,
        json!({"type": "reaction.add", "id": mid, "emoji": "👍"}),
    )
    .await;
    assert_eq!(
        first["reactions"],
        json!([{"emoji": "👍", "count": 1, "userIds": [p.bob_id]}])
    );
    // A short code is stored as its emoji; alice's joins bob's.
    let (status, body) = app
        .react(Method::PUT, &p.alice, &p.channel, &mid, ":thumbsup:")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["message"]["reactions"],
        json!([{"emoji": "👍", "count": 2, "user_ids": [p.bob_id, p.alice_id]}])
    );
    let both = updated(&mut p.b, &mid).await;
    assert_eq!(rev(&both), rev(&first) + 1);
    // Adding again changes nothing and bumps no rev.
    let (_, again) = app.react(Method::PUT, &p.bob, &p.channel, &mid, "👍").await;
    assert_eq!(rev(&again["message"]), rev(&both));
    // A second emoji goes after the first (the order first used).
    let party = change_ok(
        &app,
        &p.alice,
        &p.channel,
        &mut p.a,
        json!({"type": "reaction.add", "id": mid, "emoji": "🎉"}),
    )
    .await;
    let emoji: Vec<&str> = party["reactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["emoji"].as_str().unwrap())
        .collect();
    assert_eq!(emoji, ["👍", "🎉"]);
    // Who reacted: the route lists everyone, by time.
    let (status, who) = app
        .call(
            Method::GET,
            &format!(
                "/chat/channels/{}/messages/{mid}/reactions/{}",
                p.channel,
                urlencoding("👍")
            ),
            &p.bob,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(who["user_ids"], json!([p.bob_id, p.alice_id]));
    // Removing: the count drops, the last one removes the emoji.
    let removed = change_ok(
        &app,
        &p.bob,
        &p.channel,
        &mut p.b,
        json!({"type": "reaction.remove", "id": mid, "emoji": "👍"}),
    )
    .await;
    assert_eq!(
        removed["reactions"][0],
        json!({"emoji": "👍", "count": 1, "userIds": [p.alice_id]})
    );
    let (_, body) = app
        .react(Method::DELETE, &p.alice, &p.channel, &mid, "👍")
        .await;
    assert_eq!(
        body["message"]["reactions"],
        json!([{"emoji": "🎉", "count": 1, "user_ids": [p.alice_id]}])
    );
    // Removing what is not there changes nothing.
    let before = rev(&body["message"]);
    let (status, body) = app
        .react(Method::DELETE, &p.bob, &p.channel, &mid, "😂")
        .await;
    assert_eq!((status, rev(&body["message"])), (200, before));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_reactions_are_refused() {
    let app = spawn_app_with(|s| {
        s.limits.change_burst = 10_000;
        s.limits.change_per_second = 10_000;
        s.limits.max_reactions_per_message = 3;
    })
    .await;
    let mut p = app.alice_and_bob_in("General").await;
    let mid = id(&p.a.send_ok("m").await);
    for bad in ["a", "👍👍", ":nope:", " 👍", "<b>", "hello"] {
        let (status, body) = app.react(Method::PUT, &p.bob, &p.channel, &mid, bad).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_REACTION")),
            "{bad:?}: {body}"
        );
    }
    let long = "👨\u{200D}👩\u{200D}👧\u{200D}👦\u{200D}👨\u{200D}👩";
    let e = change_refused(
        &mut p.b,
        json!({"type": "reaction.add", "id": mid, "emoji": long, "clientId": "r1"}),
    )
    .await;
    assert_eq!(
        (e["code"].as_str(), e["clientId"].as_str()),
        (Some("INVALID_REACTION"), Some("r1"))
    );
    // The limit of distinct emoji per message (3 here): the 4th is refused,
    // one already there is not.
    for e in ["👍", "🎉", "😂"] {
        let (status, _) = app.react(Method::PUT, &p.bob, &p.channel, &mid, e).await;
        assert_eq!(status, 200);
    }
    let (status, body) = app.react(Method::PUT, &p.bob, &p.channel, &mid, "😢").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("LIMIT_REACHED"))
    );
    let e = change_refused(
        &mut p.a,
        json!({"type": "reaction.add", "id": mid, "emoji": "😮"}),
    )
    .await;
    assert_eq!(e["code"], "LIMIT_REACHED");
    let (status, _) = app
        .react(Method::PUT, &p.alice, &p.channel, &mid, "🎉")
        .await;
    assert_eq!(status, 200);
    let shown = app.all_messages(&p.bob, &p.channel).await;
    assert_eq!(
        shown.last().unwrap()["reactions"].as_array().unwrap().len(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_limit_is_twenty_distinct_reactions() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    let mid = id(&p.a.send_ok("popular").await);
    let emoji: Vec<&str> = chat::protocol::emoji::EMOJI
        .iter()
        .take(21)
        .map(|e| e.emoji)
        .collect();
    for e in &emoji[..20] {
        let (status, body) = app.react(Method::PUT, &p.bob, &p.channel, &mid, e).await;
        assert_eq!(status, 200, "{e}: {body}");
    }
    let (status, _) = app
        .react(Method::PUT, &p.bob, &p.channel, &mid, emoji[20])
        .await;
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_quotes_its_original_as_it_is_now() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    let original = p.a.send_ok("the original message").await;
    let oid = id(&original);
    let cid = client_id();
    p.b.send_json(
        &json!({"type": "message.send", "text": "a reply", "clientId": cid, "replyTo": oid}),
    )
    .await;
    let reply = p.b.await_own(&cid, WAIT).await;
    assert_eq!(
        reply["replyTo"],
        json!({"id": oid, "seq": original["seq"], "userId": p.alice_id, "preview": "the original message", "deleted": false})
    );
    // An edit of the original shows in the quote as history reads it.
    change_ok(
        &app,
        &p.alice,
        &p.channel,
        &mut p.a,
        json!({"type": "message.edit", "id": oid, "text": "the edited original"}),
    )
    .await;
    let shown = app.all_messages(&p.alice, &p.channel).await;
    let r = shown.iter().find(|v| v["id"] == reply["id"]).unwrap();
    assert_eq!(r["reply_to"]["preview"], "the edited original");
    // A long original is quoted by its first 140 characters.
    let long = p.a.send_ok(&"é".repeat(300)).await;
    let cid2 = client_id();
    p.b.send_json(
        &json!({"type": "message.send", "text": "re", "clientId": cid2, "replyTo": id(&long)}),
    )
    .await;
    let r2 = p.b.await_own(&cid2, WAIT).await;
    assert_eq!(
        r2["replyTo"]["preview"].as_str().unwrap().chars().count(),
        140
    );
    // Deleting the original marks the quote deleted, text gone.
    change_ok(
        &app,
        &p.alice,
        &p.channel,
        &mut p.a,
        json!({"type": "message.delete", "id": oid}),
    )
    .await;
    let shown = app.all_messages(&p.alice, &p.channel).await;
    let r = shown.iter().find(|v| v["id"] == reply["id"]).unwrap();
    assert_eq!(
        (
            r["reply_to"]["deleted"].as_bool(),
            r["reply_to"]["preview"].as_str()
        ),
        (Some(true), Some(""))
    );

    // Refused: a quote of another channel's message, of an unknown one,
    // of a deleted one; nothing is stored.
    let random = app.channel_id(&p.alice, "Random").await;
    let mut ar = app.ws_join(&p.alice, &random).await;
    let elsewhere = ar.send_ok("in random").await;
    let head = app.head_seq(&p.alice, "General").await;
    for (reply_to, code) in [
        (id(&elsewhere), "PARSE_ERROR"),
        (uuid::Uuid::new_v4().to_string(), "PARSE_ERROR"),
        (oid.clone(), "CONFLICT"),
    ] {
        let cid = client_id();
        p.b.send_json(&json!({"type": "message.send", "text": "bad quote", "clientId": cid, "replyTo": reply_to}))
            .await;
        let e = p.b.next_frame_of_type("error", WAIT).await;
        assert_eq!(
            (e["code"].as_str(), e["clientId"].as_str()),
            (Some(code), Some(cid.as_str()))
        );
    }
    assert_eq!(app.head_seq(&p.alice, "General").await, head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn around_seq_loads_the_page_around_a_message_and_pages_both_ways() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    p.a.send_many(30, "m").await;
    let head = app.head_seq(&p.alice, "General").await;
    let target = head - 20;
    let page = app
        .history(
            &p.bob,
            &p.channel,
            &[("around_seq", &target.to_string()), ("limit", "10")],
        )
        .await;
    let seqs = page_seqs(&page);
    assert_eq!(
        seqs,
        ((target - 5)..(target + 5)).collect::<Vec<_>>(),
        "half before, then from it"
    );
    assert_eq!(
        (
            page["hasMoreBefore"].as_bool(),
            page["hasMoreAfter"].as_bool()
        ),
        (Some(true), Some(true))
    );
    assert!(page["headRev"].is_i64());
    // Near the start: nothing before.
    let page = app
        .history(&p.bob, &p.channel, &[("around_seq", "1"), ("limit", "10")])
        .await;
    assert_eq!(page_seqs(&page).first(), Some(&1));
    assert_eq!(page["hasMoreBefore"], false);
    // At the head: nothing after.
    let page = app
        .history(
            &p.bob,
            &p.channel,
            &[("around_seq", &head.to_string()), ("limit", "10")],
        )
        .await;
    assert_eq!(page_seqs(&page).last(), Some(&head));
    assert_eq!(page["hasMoreAfter"], false);
    // Out of range, or with another cursor: 400.
    for query in [
        vec![("around_seq", "0")],
        vec![("around_seq", "-3")],
        vec![("around_seq", "1000000")],
        vec![("around_seq", "2"), ("before_seq", "5")],
    ] {
        let status = app.history_status(&p.bob, &p.channel, &query).await;
        assert_eq!(status, 400, "{query:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pins_list_newest_first_and_are_limited_per_channel() {
    let app = spawn_app_with(|s| {
        s.limits.change_burst = 10_000;
        s.limits.change_per_second = 10_000;
        s.limits.max_pins_per_channel = 2;
    })
    .await;
    let mut p = app.alice_and_bob_in("General").await;
    let one = id(&p.a.send_ok("one").await);
    let two = id(&p.a.send_ok("two").await);
    let three = id(&p.a.send_ok("three").await);
    let pinned = change_ok(
        &app,
        &p.bob,
        &p.channel,
        &mut p.b,
        json!({"type": "message.pin", "id": one}),
    )
    .await;
    assert_eq!(pinned["pinned"]["by"], p.bob_id.as_str());
    assert_rfc3339(&pinned["pinned"]["at"], "pinned.at");
    let (status, _) = app.pin(Method::PUT, &p.alice, &p.channel, &two).await;
    assert_eq!(status, 200);
    // Pinning again changes nothing; a third pin is over the limit.
    let (status, again) = app.pin(Method::PUT, &p.alice, &p.channel, &two).await;
    assert_eq!(
        (status, again["message"]["pinned"]["by"].as_str()),
        (200, Some(p.alice_id.as_str()))
    );
    let (status, body) = app.pin(Method::PUT, &p.alice, &p.channel, &three).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("LIMIT_REACHED"))
    );
    let (_, pins) = app
        .call(
            Method::GET,
            &format!("/chat/channels/{}/pins", p.channel),
            &p.bob,
            None,
        )
        .await;
    let order: Vec<&str> = pins["pins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [two.as_str(), one.as_str()], "newest pin first");
    // Unpin (any member), then the third fits.
    let unpinned = change_ok(
        &app,
        &p.alice,
        &p.channel,
        &mut p.a,
        json!({"type": "message.unpin", "id": one}),
    )
    .await;
    assert_eq!(unpinned["pinned"], Value::Null);
    let (status, _) = app.pin(Method::PUT, &p.alice, &p.channel, &three).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seen_by_follows_read_cursors_unless_turned_off() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    let m = p.a.send_ok("did you see this?").await;
    p.b.send_json(&json!({"type": "read", "seq": seq(&m)}))
        .await;
    let reads =
        p.a.next_frame_matching("member.read of bob", WAIT, |v| {
            v["type"] == "member.read"
                && v["updates"]
                    .as_array()
                    .is_some_and(|u| u.iter().any(|r| r["userId"] == p.bob_id.as_str()))
        })
        .await;
    assert_eq!(reads["channelId"], p.channel.as_str());
    let bob_read = reads["updates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["userId"] == p.bob_id.as_str())
        .unwrap();
    assert_eq!(bob_read["lastReadSeq"], m["seq"]);
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/chat/channels/{}/reads", p.channel),
            &p.alice,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let listed = body["reads"].as_array().unwrap();
    assert_eq!(listed.len(), 3, "every member: {body}");
    assert!(listed
        .iter()
        .any(|r| r["user_id"] == p.bob_id.as_str() && r["last_read_seq"] == m["seq"]));

    // The host app turns read receipts off: no list, no frames.
    let (status, _) = app
        .admin_call(
            Method::PUT,
            &format!("/admin/tablos/{}", p.channel),
            Some(json!({"name": "General", "read_receipts": false})),
        )
        .await;
    assert_eq!(status, 200);
    let channels = app.channels(&p.alice).await;
    assert_eq!(
        channels
            .iter()
            .find(|c| c["id"] == p.channel.as_str())
            .unwrap()["read_receipts"],
        false
    );
    let (_, body) = app
        .call(
            Method::GET,
            &format!("/chat/channels/{}/reads", p.channel),
            &p.alice,
            None,
        )
        .await;
    assert_eq!(body["reads"], json!([]));
    let m2 = p.a.send_ok("and this?").await;
    p.b.send_json(&json!({"type": "read", "seq": seq(&m2)}))
        .await;
    p.a.expect_no_frame_of_type("member.read", QUIET).await;
}

/// Applies a `message.new` or `message.updated` frame to a client's copy
/// of the channel, as a client must (by seq; a change only when newer).
fn apply(state: &mut BTreeMap<i64, Value>, frame: &Value) {
    let s = seq(frame);
    let newer = state.get(&s).is_none_or(|held| rev(frame) > rev(held));
    let is_new = frame["type"] == "message.new";
    // A new message is added; an update applies only to a message held.
    if newer && (is_new || state.contains_key(&s)) {
        state.insert(s, frame.clone());
    }
}

/// The comparable state of a message (frames and history use other names).
fn essence(v: &Value) -> Value {
    let reactions: Vec<Value> = v["reactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            json!([
                r["emoji"],
                r["count"],
                r.get("userIds").or(r.get("user_ids")).unwrap()
            ])
        })
        .collect();
    json!({
        "id": v["id"], "seq": v["seq"], "rev": v["rev"], "text": v["text"],
        "deleted": v["deleted"], "reactions": reactions,
        "pinned": v["pinned"].get("by"),
        "edited": v.get("editedAt").or(v.get("edited_at")).is_some_and(|e| !e.is_null()),
    })
}

/// A client that kept its state, went away while messages were sent,
/// edited, deleted, reacted to and pinned, and came back with `afterSeq`
/// and `afterRev` holds exactly what the server holds; so does one that
/// resumes with the frame instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_with_after_rev_ends_with_the_servers_state() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    let sent = p.a.send_many(6, "before").await;
    // Bob's copy: a history page (its headRev) and what came live.
    let page = app.history(&p.bob, &p.channel, &[("limit", "100")]).await;
    let mut copy: BTreeMap<i64, Value> = BTreeMap::new();
    for m in page["messages"].as_array().unwrap() {
        let mut m = m.clone();
        m["type"] = json!("message.new");
        apply(&mut copy, &m);
    }
    let head_rev = page["headRev"].as_i64().unwrap();
    let last_seq = *copy.keys().last().unwrap();
    p.b.close().await;

    // While bob is away.
    let ids: Vec<String> = sent.iter().map(id).collect();
    change_ok(
        &app,
        &p.alice,
        &p.channel,
        &mut p.a,
        json!({"type": "message.edit", "id": ids[0], "text": "edited while away"}),
    )
    .await;
    change_ok(
        &app,
        &p.alice,
        &p.channel,
        &mut p.a,
        json!({"type": "message.delete", "id": ids[1]}),
    )
    .await;
    change_ok(
        &app,
        &p.alice,
        &p.channel,
        &mut p.a,
        json!({"type": "reaction.add", "id": ids[2], "emoji": "🎉"}),
    )
    .await;
    change_ok(
        &app,
        &p.alice,
        &p.channel,
        &mut p.a,
        json!({"type": "message.pin", "id": ids[3]}),
    )
    .await;
    change_ok(
        &app,
        &p.alice,
        &p.channel,
        &mut p.a,
        json!({"type": "message.edit", "id": ids[0], "text": "edited twice"}),
    )
    .await;
    let later = p.a.send_ok("sent while away").await;
    change_ok(
        &app,
        &p.alice,
        &p.channel,
        &mut p.a,
        json!({"type": "reaction.add", "id": id(&later), "emoji": "👍"}),
    )
    .await;

    // Back with the URL's cursors: new messages, then changes, then live.
    let url = format!(
        "{}/chat/ws/{}?afterSeq={last_seq}&afterRev={head_rev}",
        app.ws_address, p.channel
    );
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", p.bob).parse().unwrap(),
    );
    let mut back = ws_open(req).await.expect("reconnect");
    let mut url_copy = copy.clone();
    let mut types = Vec::new();
    // Drain what the server sends for the reconnect.
    while let Some(v) = back
        .try_next_json_until(tokio::time::Instant::now() + QUIET)
        .await
    {
        if v["type"] == "message.new" || v["type"] == "message.updated" {
            types.push(v["type"].as_str().unwrap().to_string());
            apply(&mut url_copy, &v);
        }
    }
    let first_update = types.iter().position(|t| t == "message.updated").unwrap();
    assert!(
        types[..first_update].iter().all(|t| t == "message.new"),
        "new messages first: {types:?}"
    );

    // The same with the resume frame on a plain connection.
    let mut framed = app.ws_join(&p.bob, &p.channel).await;
    framed
        .send_json(&json!({"type": "resume", "afterSeq": last_seq, "afterRev": head_rev}))
        .await;
    let mut frame_copy = copy.clone();
    let done = loop {
        let v = framed.next_json(WAIT).await;
        if v["type"] == "resume.done" {
            break v;
        }
        apply(&mut frame_copy, &v);
    };

    let server: Vec<Value> = app
        .all_messages(&p.bob, &p.channel)
        .await
        .iter()
        .map(essence)
        .collect();
    let ours = |c: &BTreeMap<i64, Value>| c.values().map(essence).collect::<Vec<_>>();
    assert_eq!(ours(&url_copy), server, "afterSeq + afterRev on the URL");
    assert_eq!(ours(&frame_copy), server, "the resume frame");
    assert_eq!(done["headSeq"].as_i64(), Some(seq(&later)));
    let history_rev = app.history(&p.bob, &p.channel, &[]).await["headRev"]
        .as_i64()
        .unwrap();
    assert_eq!(done["headRev"].as_i64(), Some(history_rev));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_share_a_per_user_budget() {
    let app = spawn_app_with(|s| {
        s.limits.change_burst = 3;
        s.limits.change_per_second = 1;
    })
    .await;
    let mut p = app.alice_and_bob_in("General").await;
    let mid = id(&p.a.send_ok("m").await);
    let (s1, _) = app.react(Method::PUT, &p.bob, &p.channel, &mid, "👍").await;
    let (s2, _) = app.pin(Method::PUT, &p.bob, &p.channel, &mid).await;
    let e = change_ok(
        &app,
        &p.bob,
        &p.channel,
        &mut p.b,
        json!({"type": "reaction.add", "id": mid, "emoji": "🎉"}),
    )
    .await;
    assert_eq!(
        (s1, s2, e["reactions"].as_array().unwrap().len()),
        (200, 200, 2)
    );
    let res = app
        .api
        .put(app.url(&format!(
            "/chat/channels/{}/messages/{mid}/reactions/{}",
            p.channel,
            urlencoding("😂")
        )))
        .bearer_auth(&p.bob)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert!(res.headers().get("retry-after").is_some());
    let e = change_refused(
        &mut p.b,
        json!({"type": "message.unpin", "id": mid, "clientId": "u1"}),
    )
    .await;
    assert_eq!(
        (e["code"].as_str(), e["clientId"].as_str()),
        (Some("RATE_LIMITED"), Some("u1"))
    );
    assert!(e["retryAfterMs"].as_u64().unwrap() > 0);
    // Alice's budget is her own.
    let (status, _) = app
        .react(Method::PUT, &p.alice, &p.channel, &mid, "😂")
        .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_functions_apply_the_same_rules() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    let mid = id(&p.a.send_ok("via server fns").await);
    let bob_cookie = app.login_cookie(BOB).await;
    let alice_cookie = app.login_cookie(ALICE).await;
    let call = |name: &'static str, cookie: String, body: Value| {
        let req = app
            .api
            .post(app.url(&format!("/api/{name}")))
            .header("cookie", cookie)
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, m) = call(
        "change_message",
        bob_cookie.clone(),
        json!({"channel_id": p.channel, "message_id": mid, "change": {"kind": "reaction_add", "emoji": "👍"}}),
    )
    .await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["reactions"][0]["count"], 1);
    let (status, e) = call(
        "change_message",
        bob_cookie.clone(),
        json!({"channel_id": p.channel, "message_id": mid, "change": {"kind": "edit", "text": "not mine"}}),
    )
    .await;
    assert_eq!((status, e["kind"].as_str()), (403, Some("Forbidden")));
    let (status, e) = call(
        "change_message",
        bob_cookie.clone(),
        json!({"channel_id": p.channel, "message_id": mid, "change": {"kind": "reaction_add", "emoji": "x"}}),
    )
    .await;
    assert_eq!((status, e["kind"].as_str()), (400, Some("InvalidReaction")));
    let (status, m) = call(
        "change_message",
        alice_cookie.clone(),
        json!({"channel_id": p.channel, "message_id": mid, "change": {"kind": "edit", "text": "edited via fn", "if_rev": 1}}),
    )
    .await;
    assert_eq!(
        (status, m["text"].as_str()),
        (200, Some("edited via fn")),
        "{m}"
    );
    let (status, edits) = app
        .server_fn(
            "load_edits",
            Some(&alice_cookie),
            &[("channel_id", &p.channel), ("message_id", &mid)],
        )
        .await;
    assert_eq!(
        (status, edits[0]["text"].as_str()),
        (200, Some("via server fns"))
    );
    let (status, _) = app
        .server_fn(
            "load_pins",
            Some(&bob_cookie),
            &[("channel_id", &p.channel)],
        )
        .await;
    assert_eq!(status, 200);
    let (status, reads) = app
        .server_fn(
            "load_reads",
            Some(&bob_cookie),
            &[("channel_id", &p.channel)],
        )
        .await;
    assert_eq!((status, reads.as_array().map(Vec::len)), (200, Some(3)));
    let (status, who) = app
        .server_fn(
            "load_reactors",
            Some(&bob_cookie),
            &[
                ("channel_id", &p.channel),
                ("message_id", &mid),
                ("emoji", "👍"),
            ],
        )
        .await;
    assert_eq!((status, who), (200, json!([p.bob_id])));
    let head = app.head_seq(&p.alice, "General").await;
    let (status, page) = app
        .server_fn(
            "load_history",
            Some(&bob_cookie),
            &[
                ("channel_id", &p.channel),
                ("around_seq", &head.to_string()),
            ],
        )
        .await;
    assert_eq!((status, page["hasMoreAfter"].as_bool()), (200, Some(false)));
    p.b.expect_no_frame_of_type("error", QUIET).await;
}
