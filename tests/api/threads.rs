//! Threads (PROTOCOL.md "Threads") over the socket, the JSON routes and the
//! server functions: a reply and its parent's change, the main timeline,
//! unread counts, thread read state and the threads view, thread typing,
//! deletes, resume, every refusal, and two servers. Runs on SQLite and
//! again on Postgres (two servers only there).

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// A `message.send` frame replying in `parent`'s thread.
fn reply_frame(text: &str, client_id: &str, parent: &str, in_channel: bool) -> Value {
    let mut frame = send_frame(text, client_id);
    frame["parentId"] = json!(parent);
    if in_channel {
        frame["showInChannel"] = json!(true);
    }
    frame
}

impl WsClient {
    /// Sends a reply and waits for its `message.new` (the parent's
    /// `message.updated` follows).
    async fn reply_ok(&mut self, text: &str, parent: &str, in_channel: bool) -> Value {
        let key = client_id();
        self.send_json(&reply_frame(text, &key, parent, in_channel))
            .await;
        self.await_own(&key, WAIT).await
    }

    /// The next `message.updated` of message `id`.
    async fn next_update_of(&mut self, id: &str) -> Value {
        self.next_frame_matching("message.updated", WAIT, |v| {
            v["type"] == "message.updated" && v["id"] == id
        })
        .await
    }

    /// One frame for each predicate, in whichever order they come (they
    /// travel different paths: the room, the follower, the user's own
    /// events), each returned at its predicate's place.
    async fn frames_in_any_order(&mut self, wanted: &[&dyn Fn(&Value) -> bool]) -> Vec<Value> {
        let mut got: Vec<Option<Value>> = vec![None; wanted.len()];
        while got.iter().any(Option::is_none) {
            let v = self
                .next_frame_matching("an awaited frame", WAIT, |v| {
                    wanted
                        .iter()
                        .zip(&got)
                        .any(|(want, seen)| seen.is_none() && want(v))
                })
                .await;
            let slot = wanted
                .iter()
                .zip(&got)
                .position(|(want, seen)| seen.is_none() && want(&v))
                .unwrap();
            got[slot] = Some(v);
        }
        got.into_iter().map(Option::unwrap).collect()
    }
}

impl TestApp {
    /// `GET .../messages/{m}/replies` with `query`: status and body.
    async fn replies(&self, token: &str, channel: &str, parent: &str, query: &str) -> (u16, Value) {
        let path = format!("/chat/channels/{channel}/messages/{parent}/replies{query}");
        self.call(Method::GET, &path, token, None).await
    }

    /// `POST .../messages/{m}/thread/read` with `body`.
    async fn thread_read(
        &self,
        token: &str,
        channel: &str,
        parent: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let path = format!("/chat/channels/{channel}/messages/{parent}/thread/read");
        self.call(Method::POST, &path, token, body).await
    }

    /// `GET /chat/threads` with `query`: status and body.
    async fn threads(&self, token: &str, query: &str) -> (u16, Value) {
        self.call(Method::GET, &format!("/chat/threads{query}"), token, None)
            .await
    }

    /// `unread_threads` of a channel in the caller's list.
    async fn unread_threads(&self, token: &str, name: &str) -> i64 {
        self.channel(token, name).await["unread_threads"]
            .as_i64()
            .unwrap()
    }
}

fn texts(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

fn unread_of(entries: &[Value], channel: &str) -> i64 {
    entries
        .iter()
        .find(|e| e["channel_id"] == channel)
        .map_or(0, |e| e["unread_count"].as_i64().unwrap())
}

/// A reply reaches every connection as `message.new` with `parentId`,
/// followed by its parent's `message.updated` (count, time, participants).
/// The history route leaves thread-only replies out and the replies route
/// pages the thread; unread counts and previews count the main timeline
/// only; the thread's participants get their thread unread counts, read
/// them by route, and see them in the threads view; a socket resuming
/// from before the reply gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_goes_to_its_thread_and_its_parent_changes() {
    let app = spawn_app_with(generous_rate_limits).await;
    let mut p = app.alice_and_bob_in("General").await;
    let (carol, _) = app.login(CAROL).await;
    let parent = p.a.send_ok("Shall we ship on Friday?").await;
    let pid = parent["id"].as_str().unwrap().to_string();
    p.b.next_frame_of_type("message.new", WAIT).await;
    app.mark_all_read(&p.alice).await;
    app.mark_all_read(&carol).await;

    let r1 = p.b.reply_ok("Friday works for me", &pid, false).await;
    assert_eq!(
        (r1["parentId"].as_str(), r1["showInChannel"].as_bool()),
        (Some(pid.as_str()), None)
    );
    // The parent's author takes part: her unread reply count of it.
    let reply = |v: &Value| v["type"] == "message.new" && v["id"] == r1["id"];
    let update = |v: &Value| v["type"] == "message.updated" && v["id"] == pid.as_str();
    let thread_read =
        |v: &Value| v["type"] == "thread.read.updated" && v["parentId"] == pid.as_str();
    let mut got =
        p.a.frames_in_any_order(&[&reply, &update, &thread_read])
            .await;
    let read = got.pop().unwrap();
    let on_a = got.pop().unwrap();
    let on_b = p.b.next_update_of(&pid).await;
    for updated in [on_a, on_b] {
        assert_eq!(updated["thread"]["replyCount"], 1);
        assert_eq!(updated["thread"]["lastReplyAt"], r1["createdAt"]);
        assert_eq!(
            updated["thread"]["participants"],
            json!([p.alice_id, p.bob_id])
        );
        assert!(updated["rev"].as_i64().unwrap() > 0);
    }
    assert_eq!(
        (read["unreadCount"].as_i64(), read["lastReadSeq"].as_i64()),
        (Some(1), Some(0))
    );

    let r2 = p.b.reply_ok("Also sent to the channel", &pid, true).await;
    assert_eq!(r2["showInChannel"], true);

    // The main timeline: the parent and the reply sent there.
    let page = app.history(&p.alice, &p.channel, &[]).await;
    let main = texts(&page["messages"]);
    assert!(
        !main.contains(&"Friday works for me".to_string()),
        "{main:?}"
    );
    assert_eq!(
        main[main.len() - 2..],
        ["Shall we ship on Friday?", "Also sent to the channel"]
    );
    // The thread: both replies, with the parent.
    let (status, thread) = app.replies(&carol, &p.channel, &pid, "").await;
    assert_eq!(status, 200, "{thread}");
    assert_eq!(thread["parent"]["id"], json!(pid));
    assert_eq!(thread["parent"]["thread"]["reply_count"], 2);
    assert_eq!(
        texts(&thread["messages"]),
        ["Friday works for me", "Also sent to the channel"]
    );
    assert_eq!(thread["hasMore"], false);
    let (_, older) = app
        .replies(
            &carol,
            &p.channel,
            &pid,
            &format!("?before_seq={}&limit=1", seq(&r2)),
        )
        .await;
    assert_eq!(
        (texts(&older["messages"]), &older["hasMore"]),
        (vec!["Friday works for me".to_string()], &json!(false))
    );

    // Unread: carol (no part in the thread) counts the channel's reply
    // only; the channel's preview is it too.
    assert_eq!(unread_of(&app.unread(&carol).await, &p.channel), 1);
    let general = app.channel(&carol, "General").await;
    assert_eq!(general["unread_count"], 1);
    assert_eq!(general["last_message"]["text"], "Also sent to the channel");
    assert_eq!(general["unread_threads"], 0);
    // Alice takes part: two unread replies in one thread.
    assert_eq!(app.unread_threads(&p.alice, "General").await, 1);
    let (status, listed) = app.threads(&p.alice, "").await;
    assert_eq!(status, 200, "{listed}");
    let first = &listed["threads"][0];
    assert_eq!(
        (
            first["parent"]["id"].as_str(),
            first["unread_count"].as_i64()
        ),
        (Some(pid.as_str()), Some(2))
    );
    assert_eq!(first["channel_id"], json!(p.channel));
    assert_eq!(app.threads(&carol, "").await.1["threads"], json!([]));

    // Reading the thread moves her cursor and tells her sockets.
    let (status, body) = app.thread_read(&p.alice, &p.channel, &pid, None).await;
    assert_eq!((status, body), (200, json!({"ok": true})));
    let read =
        p.a.next_frame_matching("thread.read.updated", WAIT, |v| {
            v["type"] == "thread.read.updated" && v["unreadCount"] == 0
        })
        .await;
    assert_eq!(read["lastReadSeq"], json!(seq(&r2)));
    assert_eq!(app.unread_threads(&p.alice, "General").await, 0);
    assert_eq!(
        app.threads(&p.alice, "").await.1["threads"][0]["unread_count"],
        0
    );

    // A socket resuming from the parent gets both replies, in seq order.
    let mut late = app
        .ws_connect(&carol, &format!("{}?afterSeq={}", p.channel, seq(&parent)))
        .await;
    let first = late.next_frame_of_type("message.new", WAIT).await;
    assert_eq!(
        (first["id"].clone(), first["parentId"].clone()),
        (r1["id"].clone(), json!(pid))
    );
    let second = late.next_frame_of_type("message.new", WAIT).await;
    assert_eq!(second["id"], r2["id"]);
}

/// Typing in a thread reaches the others as `thread.typing`, never as the
/// channel's `typing`; moving back to the channel stops it there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_typing_is_a_frame_of_its_own() {
    let app = spawn_app().await;
    let mut p = app.alice_and_bob_in("General").await;
    let parent = p.a.send_ok("parent").await;
    let pid = parent["id"].as_str().unwrap().to_string();
    p.b.next_frame_of_type("message.new", WAIT).await;
    p.a.send_json(&json!({"type": "typing.start", "parentId": pid}))
        .await;
    let typing = p.b.next_frame_of_type("thread.typing", WAIT).await;
    assert_eq!(
        typing,
        json!({"type": "thread.typing", "parentId": pid, "userId": p.alice_id, "isTyping": true})
    );
    p.a.send_json(&json!({"type": "typing.start"})).await;
    let stopped = p.b.next_frame_of_type("thread.typing", WAIT).await;
    assert_eq!(stopped["isTyping"], false);
    let channel = p.b.next_frame_of_type("typing", WAIT).await;
    assert_eq!(channel["isTyping"], true);
    p.a.expect_no_frame_of_type("thread.typing", QUIET).await;
}

/// Deleting a reply leaves its tombstone in the thread and takes one off
/// the parent's count: the reply's and then the parent's
/// `message.updated`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_reply_takes_it_off_the_count() {
    let app = spawn_app_with(generous_rate_limits).await;
    let mut p = app.alice_and_bob_in("General").await;
    let parent = p.a.send_ok("parent").await;
    let pid = parent["id"].as_str().unwrap().to_string();
    let r = p.b.reply_ok("oops", &pid, false).await;
    let rid = r["id"].as_str().unwrap();
    p.a.next_update_of(&pid).await;
    let (status, _) = app.delete(&p.bob, &p.channel, rid).await;
    assert_eq!(status, 200);
    let gone = p.a.next_update_of(rid).await;
    assert_eq!(
        (gone["deleted"].as_bool(), gone["parentId"].as_str()),
        (Some(true), Some(pid.as_str()))
    );
    let after = p.a.next_update_of(&pid).await;
    assert_eq!(after["thread"]["replyCount"], 0);
    assert!(after["rev"].as_i64() > gone["rev"].as_i64());
    let (_, thread) = app.replies(&p.alice, &p.channel, &pid, "").await;
    assert_eq!(
        thread["messages"][0]["deleted"], true,
        "the tombstone stays"
    );
}

/// Every bad reply is refused with the send's `clientId` and stores
/// nothing: an unknown parent, a reply as parent, a parent in another
/// channel (`PARSE_ERROR`), a deleted parent (`CONFLICT`), and
/// `showInChannel` alone (`PARSE_ERROR`). The routes refuse bad input too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_replies_and_thread_requests_are_refused() {
    let app = spawn_app_with(generous_rate_limits).await;
    let mut p = app.alice_and_bob_in("General").await;
    let random = app.channel_id(&p.alice, "Random").await;
    let mut r = app.ws_join(&p.alice, &random).await;
    let elsewhere = r.send_ok("in random").await;
    let parent = p.a.send_ok("parent").await;
    let pid = parent["id"].as_str().unwrap().to_string();
    let reply = p.a.reply_ok("a reply", &pid, false).await;
    let gone = p.a.send_ok("to be deleted").await;
    let (status, _) = app
        .delete(&p.alice, &p.channel, gone["id"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);
    let head = app.head_seq(&p.alice, "General").await;

    let unknown = MessageIdText::random();
    let mut cases = vec![
        (
            reply_frame("x", &client_id(), &unknown.0, false),
            "PARSE_ERROR",
        ),
        (
            reply_frame("x", &client_id(), reply["id"].as_str().unwrap(), false),
            "PARSE_ERROR",
        ),
        (
            reply_frame("x", &client_id(), elsewhere["id"].as_str().unwrap(), false),
            "PARSE_ERROR",
        ),
        (
            reply_frame("x", &client_id(), gone["id"].as_str().unwrap(), true),
            "CONFLICT",
        ),
    ];
    let mut alone = send_frame("x", &client_id());
    alone["showInChannel"] = json!(true);
    cases.push((alone, "PARSE_ERROR"));
    for (frame, code) in cases {
        p.a.send_json(&frame).await;
        let error = p.a.next_frame_of_type("error", WAIT).await;
        assert_eq!(
            (error["code"].as_str(), &error["clientId"]),
            (Some(code), &frame["clientId"]),
            "{frame}"
        );
    }
    assert_eq!(
        app.head_seq(&p.alice, "General").await,
        head,
        "nothing stored"
    );

    let (carol, _) = app.login(CAROL).await;
    let product = app.channel_id(&p.alice, "Product").await;
    let reply_id = reply["id"].as_str().unwrap();
    for (token, channel, parent, query, want) in [
        (&p.alice, &p.channel, unknown.0.as_str(), "", 404),
        (&p.alice, &p.channel, reply_id, "", 404),
        (&p.alice, &random, pid.as_str(), "", 404),
        (&p.alice, &p.channel, "not-an-id", "", 400),
        (
            &p.alice,
            &p.channel,
            pid.as_str(),
            "?before=2026-01-01T00:00:00Z",
            400,
        ),
        (&p.alice, &p.channel, pid.as_str(), "?limit=0", 400),
        (&p.alice, &p.channel, pid.as_str(), "?around_seq=0", 400),
        (&carol, &product, pid.as_str(), "", 403),
    ] {
        let (status, body) = app.replies(token, channel, parent, query).await;
        assert_eq!(status, want, "{parent} {query}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }
    for (parent, body, want) in [
        (pid.as_str(), Some(json!({"seq": -1})), 400),
        (pid.as_str(), Some(json!({"seq": "x"})), 400),
        (unknown.0.as_str(), None, 404),
        (reply_id, None, 404),
    ] {
        let (status, _) = app
            .thread_read(&p.alice, &p.channel, parent, body.clone())
            .await;
        assert_eq!(status, want, "{parent} {body:?}");
    }
    let (status, _) = app.thread_read(&carol, &product, &pid, None).await;
    assert_eq!(status, 403);
    // A member who takes no part: nothing to move, still fine.
    let (status, _) = app.thread_read(&carol, &p.channel, &pid, None).await;
    assert_eq!(status, 200);
    for query in ["?limit=0", "?limit=x", "?before=yesterday"] {
        let (status, _) = app.threads(&p.alice, query).await;
        assert_eq!(status, 400, "{query}");
    }
    let (status, _) = app.threads(&p.alice, "?limit=500").await;
    assert_eq!(status, 200, "a large limit is capped");
}

/// The server functions give what the routes give.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thread_server_functions_match_the_routes() {
    let app = spawn_app_with(generous_rate_limits).await;
    let mut p = app.alice_and_bob_in("General").await;
    let parent = p.a.send_ok("parent").await;
    let pid = parent["id"].as_str().unwrap().to_string();
    p.b.reply_ok("one", &pid, false).await;
    let two = p.b.reply_ok("two", &pid, false).await;
    let cookie = app.login_cookie(ALICE).await;
    let (status, page) = app
        .server_fn(
            "load_replies",
            Some(&cookie),
            &[("channel_id", &p.channel), ("parent_id", &pid)],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(texts(&page["messages"]), ["one", "two"]);
    assert_eq!(page["parent"]["id"], json!(pid));
    let (status, listed) = app.server_fn("list_threads", Some(&cookie), &[]).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["threads"][0]["unread_count"], 2);
    let one_seq = (seq(&two) - 1).to_string();
    let (status, _) = app
        .server_fn(
            "mark_thread_read",
            Some(&cookie),
            &[
                ("channel_id", &p.channel),
                ("parent_id", &pid),
                ("seq", &one_seq),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let (_, listed) = app.server_fn("list_threads", Some(&cookie), &[]).await;
    assert_eq!(listed["threads"][0]["unread_count"], 1);
    let carol = app.login_cookie(CAROL).await;
    let product = app.channel_id(&p.alice, "Product").await;
    let (status, _) = app
        .server_fn(
            "load_replies",
            Some(&carol),
            &[("channel_id", &product), ("parent_id", &pid)],
        )
        .await;
    assert_eq!(status, 403);
}

/// Two servers on one database: a reply sent through one reaches a
/// thread's reader on the other (the reply, then its parent's change),
/// and the parent's author there gets her thread unread count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_on_one_server_reaches_the_thread_on_the_other() {
    let Some((a, b)) = crate::cluster::two_servers().await else {
        eprintln!("skipped: no CHAT_TEST_POSTGRES (SQLite run)");
        return;
    };
    let (alice, alice_id) = a.login(ALICE).await;
    let (bob, bob_id) = b.login(BOB).await;
    let general = a.channel_id(&alice, "General").await;
    let mut on_a = a.ws_join(&alice, &general).await;
    let mut on_b = b.ws_join(&bob, &general).await;
    let parent = on_a.send_ok("parent on a").await;
    let pid = parent["id"].as_str().unwrap().to_string();
    on_b.next_frame_of_type("message.new", WAIT).await;

    let r = on_b.reply_ok("reply on b", &pid, false).await;
    let reply = |v: &Value| v["type"] == "message.new" && v["id"] == r["id"];
    let update = |v: &Value| v["type"] == "message.updated" && v["id"] == pid.as_str();
    let thread_read =
        |v: &Value| v["type"] == "thread.read.updated" && v["parentId"] == pid.as_str();
    let got = on_a
        .frames_in_any_order(&[&reply, &update, &thread_read])
        .await;
    let (there, updated, read) = (&got[0], &got[1], &got[2]);
    assert_eq!(there["parentId"], json!(pid));
    assert_eq!(updated["thread"]["replyCount"], 1);
    assert_eq!(updated["thread"]["participants"], json!([alice_id, bob_id]));
    assert_eq!(read["unreadCount"], 1);
    // Reading on a reaches her socket on b.
    let mut alice_on_b = b.ws_join(&alice, &general).await;
    let (status, _) = a.thread_read(&alice, &general, &pid, None).await;
    assert_eq!(status, 200);
    let read = alice_on_b
        .next_frame_matching("thread.read.updated", WAIT, |v| {
            v["type"] == "thread.read.updated" && v["unreadCount"] == 0
        })
        .await;
    assert_eq!(read["lastReadSeq"], json!(seq(&r)));
}

/// A message id in text form that names no message.
struct MessageIdText(String);

impl MessageIdText {
    fn random() -> Self {
        MessageIdText(uuid::Uuid::new_v4().to_string())
    }
}
