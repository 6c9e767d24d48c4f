//! Two servers on one PostgreSQL database behave as one: messages sent
//! through either reach clients on both in one order with nothing lost,
//! typing and read cursors cross over, and clients of a server that went
//! away resume on the other. Runs in the suite's Postgres pass
//! (`CHAT_TEST_POSTGRES`); on SQLite there is no cluster to test.

use serde_json::{json, Value};

use crate::helpers::*;

/// Two servers on one database, or `None` on SQLite.
pub(crate) async fn two_servers() -> Option<(TestApp, TestApp)> {
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

/// A careful client's copy of a channel: every message it holds by seq, in
/// the newest state it was sent (a `message.updated` applies only to a held
/// message and only when its rev is newer, and also to the quotes of that
/// message the copy holds), and the highest rev it holds
/// every change up to (from `message.updated`, `resume.done` and the
/// history route's `headRev`).
#[derive(Clone, Default, Debug)]
struct Held {
    messages: std::collections::BTreeMap<i64, Value>,
    rev: i64,
}

fn rev_of(v: &Value) -> i64 {
    v["rev"]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer rev in {v}"))
}

impl Held {
    /// The whole channel through the history route of `app` (its first
    /// page's `headRev`, read before the rows, is where changes resume).
    async fn from_history(app: &TestApp, token: &str, channel: &str) -> Held {
        let mut held = Held::default();
        let mut after = 0;
        let mut first = true;
        loop {
            let after_seq = after.to_string();
            let page = app
                .history(
                    token,
                    channel,
                    &[("after_seq", after_seq.as_str()), ("limit", "100")],
                )
                .await;
            if first {
                held.rev = page["headRev"].as_i64().expect("headRev");
                first = false;
            }
            for m in page["messages"].as_array().unwrap() {
                let mut m = m.clone();
                m["type"] = json!("message.new");
                held.apply(&m);
                after = seq(&m);
            }
            if page["hasMore"] != true {
                return held;
            }
        }
    }

    /// Takes one server frame.
    fn apply(&mut self, v: &Value) {
        match v["type"].as_str() {
            Some("message.new") => {
                let s = seq(v);
                if self.messages.get(&s).is_none_or(|m| rev_of(v) > rev_of(m)) {
                    self.messages.insert(s, v.clone());
                }
            }
            Some("message.updated") => {
                let s = seq(v);
                if let Some(m) = self.messages.get_mut(&s) {
                    if rev_of(v) > rev_of(m) {
                        *m = v.clone();
                        self.requote(v);
                    }
                }
                self.rev = self.rev.max(rev_of(v));
            }
            Some("resume.done") => {
                self.rev = self.rev.max(v["headRev"].as_i64().expect("headRev"));
            }
            _ => {}
        }
    }

    /// A quote is not a change of the reply: the original's new state
    /// goes into the quotes of it that are held.
    fn requote(&mut self, original: &Value) {
        let deleted = original["deleted"] == true;
        let preview: String = if deleted {
            String::new()
        } else {
            let text = original["text"].as_str().unwrap_or_default();
            text.chars().take(140).collect()
        };
        for m in self.messages.values_mut() {
            let quote = &mut m["replyTo"];
            if quote.is_object() && quote["id"] == original["id"] {
                quote["preview"] = json!(preview);
                quote["deleted"] = json!(deleted);
            }
        }
    }

    fn last_seq(&self) -> i64 {
        self.messages.keys().last().copied().unwrap_or(0)
    }

    /// The held message with `id`.
    fn by_id(&self, id: &str) -> &Value {
        self.messages
            .values()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("message {id} is not held"))
    }

    /// Every held message's full state, in seq order.
    fn states(&self) -> Vec<Value> {
        self.messages.values().map(full_state).collect()
    }
}

/// A connection with the copy it keeps: every frame it reads is applied.
struct Careful {
    ws: WsClient,
    held: Held,
}

impl Careful {
    /// Joins `channel` on `app` (then reads the history, so nothing falls
    /// between the two).
    async fn join(app: &TestApp, token: &str, channel: &str) -> Careful {
        let ws = app.ws_join(token, channel).await;
        let held = Held::from_history(app, token, channel).await;
        Careful { ws, held }
    }

    /// The next frame, applied.
    async fn frame(&mut self) -> Value {
        let v = self.ws.next_json(WAIT).await;
        self.held.apply(&v);
        v
    }

    /// Sends a message and reads until its own `message.new`.
    async fn send(&mut self, text: &str) -> Value {
        let cid = client_id();
        self.ws.send_message(text, &cid).await;
        loop {
            let v = self.frame().await;
            assert_ne!(v["type"], "error", "{text}: {v}");
            if v["type"] == "message.new" && v["clientId"] == cid.as_str() {
                return v;
            }
        }
    }

    /// Sends a change frame and reads until the `message.updated` it
    /// caused (the first for its message with a newer rev than held).
    async fn change(&mut self, frame: Value) -> Value {
        let id = frame["id"].as_str().unwrap().to_string();
        let before = rev_of(self.held.by_id(&id));
        self.ws.send_json(&frame).await;
        loop {
            let v = self.frame().await;
            assert_ne!(v["type"], "error", "{frame}: {v}");
            if v["type"] == "message.updated" && v["id"] == id.as_str() && rev_of(&v) > before {
                return v;
            }
        }
    }

    /// Reads until a `message.updated` for `id` at `rev` or later; returns it.
    async fn updated(&mut self, id: &str, rev: i64) -> Value {
        loop {
            let v = self.frame().await;
            if v["type"] == "message.updated" && v["id"] == id && rev_of(&v) >= rev {
                return v;
            }
        }
    }

    /// Reads until the copy holds seq `head_seq` and every change up to
    /// `head_rev`.
    async fn until(&mut self, head_seq: i64, head_rev: i64) {
        while self.held.last_seq() < head_seq || self.held.rev < head_rev {
            self.frame().await;
        }
    }

    /// A `resume` from past the head, answered by `resume.done` alone once
    /// every frame the server queued before has been read (and applied).
    async fn barrier(&mut self) -> Value {
        self.ws
            .send_json(&json!({"type": "resume", "afterSeq": 1_000_000_000i64}))
            .await;
        loop {
            let v = self.frame().await;
            if v["type"] == "resume.done" {
                return v;
            }
        }
    }
}

/// The full state of every message of `channel` through `app`'s history
/// route, with its `headRev`.
async fn stored_states(app: &TestApp, token: &str, channel: &str) -> (Vec<Value>, i64) {
    let held = Held::from_history(app, token, channel).await;
    let head_rev = app.history(token, channel, &[("limit", "1")]).await["headRev"]
        .as_i64()
        .unwrap();
    (held.states(), head_rev)
}

/// An edit, a delete, reactions added and removed, a pin and an unpin made
/// through one server reach a client of the other as `message.updated`
/// with exactly the state (rev included) the first server's client got,
/// one update per change; the same holds the other way round, and both
/// servers' history routes agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_through_one_server_reach_clients_of_the_other() {
    let Some((a, b)) = two_servers().await else {
        eprintln!("skipped: no CHAT_TEST_POSTGRES (SQLite run)");
        return;
    };
    let (alice, _) = a.login(ALICE).await;
    let (bob, _) = b.login(BOB).await;
    let general = a.channel_id(&alice, "General").await;
    let mut on_a = Careful::join(&a, &alice, &general).await;
    let mut on_b = Careful::join(&b, &bob, &general).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let sent = on_a.send(&format!("changes {i}")).await;
        let id = sent["id"].as_str().unwrap().to_string();
        on_b.until(seq(&sent), 0).await;
        ids.push(id);
    }

    let through_a = [
        json!({"type": "message.edit", "id": ids[0], "text": "edited on a"}),
        json!({"type": "reaction.add", "id": ids[1], "emoji": "🎉"}),
        json!({"type": "message.pin", "id": ids[1]}),
        json!({"type": "message.delete", "id": ids[2]}),
        json!({"type": "reaction.add", "id": ids[0], "emoji": "👍"}),
        json!({"type": "reaction.remove", "id": ids[1], "emoji": "🎉"}),
        json!({"type": "message.unpin", "id": ids[1]}),
        json!({"type": "message.edit", "id": ids[0], "text": "edited on a again"}),
    ];
    for frame in through_a {
        let on_a_now = on_a.change(frame.clone()).await;
        let id = on_a_now["id"].as_str().unwrap();
        let on_b_now = on_b.updated(id, rev_of(&on_a_now)).await;
        assert_eq!(
            full_state(&on_b_now),
            full_state(&on_a_now),
            "{frame}: b's client got another state"
        );
    }
    let on_b_now = on_b
        .change(json!({"type": "reaction.add", "id": ids[0], "emoji": "😂"}))
        .await;
    let on_a_now = on_a.updated(&ids[0], rev_of(&on_b_now)).await;
    assert_eq!(full_state(&on_a_now), full_state(&on_b_now), "b to a");
    assert_eq!(on_a_now["reactions"].as_array().unwrap().len(), 2);
    assert_eq!(on_a_now["text"], "edited on a again");

    let (through_a, rev_a) = stored_states(&a, &alice, &general).await;
    let (through_b, rev_b) = stored_states(&b, &bob, &general).await;
    assert_eq!(through_a, through_b, "the servers' history routes differ");
    assert_eq!((rev_a, rev_b), (rev_of(&on_a_now), rev_of(&on_a_now)));
    assert_eq!(on_a.held.states(), through_a, "a's client");
    assert_eq!(on_b.held.states(), through_b, "b's client");
    // One update per change: nothing more is on its way.
    on_b.ws
        .expect_no_frame_of_type("message.updated", QUIET)
        .await;
}

/// A client of server b that went away while messages were sent and
/// edited, deleted, reacted to, pinned and unpinned through server a (and
/// through b), and came back to b with `?afterSeq=&afterRev=` (or with
/// the `resume` frame and `afterRev`), holds exactly what a client that
/// stayed on b holds and what the history routes of both servers show:
/// every message in its full current state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_back_on_the_other_server_holds_the_same_state_as_one_that_stayed() {
    let Some((a, b)) = two_servers().await else {
        eprintln!("skipped: no CHAT_TEST_POSTGRES (SQLite run)");
        return;
    };
    let (alice, _) = a.login(ALICE).await;
    let (bob, _) = b.login(BOB).await;
    let (carol, _) = b.login(CAROL).await;
    let general = a.channel_id(&alice, "General").await;
    let mut writer = Careful::join(&a, &alice, &general).await;
    let mut stayer = Careful::join(&b, &bob, &general).await;
    let mut leaver = Careful::join(&b, &carol, &general).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(writer.send(&format!("before {i}")).await["id"].clone());
    }
    let last = seq(writer.held.by_id(ids[5].as_str().unwrap()));
    leaver.until(last, 0).await;
    stayer.until(last, 0).await;
    stayer
        .change(json!({"type": "reaction.add", "id": ids[1], "emoji": "👍"}))
        .await;
    leaver.until(last, stayer.held.rev).await;
    leaver.barrier().await;
    let away = leaver.held.clone();
    leaver.ws.close().await;

    // While the leaver is away: changes through a, and some through b.
    writer
        .change(json!({"type": "message.edit", "id": ids[0], "text": "edited while away"}))
        .await;
    writer
        .change(json!({"type": "message.delete", "id": ids[1]}))
        .await;
    writer
        .change(json!({"type": "reaction.add", "id": ids[2], "emoji": "🎉"}))
        .await;
    stayer
        .change(json!({"type": "reaction.add", "id": ids[2], "emoji": "🎉"}))
        .await;
    writer
        .change(json!({"type": "message.pin", "id": ids[3]}))
        .await;
    stayer
        .change(json!({"type": "message.pin", "id": ids[4]}))
        .await;
    writer
        .change(json!({"type": "message.unpin", "id": ids[4]}))
        .await;
    let later = writer.send("sent while away").await;
    let cid = client_id();
    writer
        .ws
        .send_json(
            &json!({"type": "message.send", "text": "a reply", "clientId": cid, "replyTo": ids[0]}),
        )
        .await;
    let reply = loop {
        let v = writer.frame().await;
        if v["type"] == "message.new" && v["clientId"] == cid.as_str() {
            break v;
        }
    };
    writer
        .change(json!({"type": "message.edit", "id": later["id"], "text": "edited later"}))
        .await;
    writer
        .change(json!({"type": "reaction.add", "id": later["id"], "emoji": "😂"}))
        .await;
    stayer
        .change(json!({"type": "reaction.remove", "id": ids[2], "emoji": "🎉"}))
        .await;
    writer
        .change(json!({"type": "message.edit", "id": ids[0], "text": "edited twice while away"}))
        .await;
    writer
        .change(json!({"type": "reaction.remove", "id": ids[2], "emoji": "🎉"}))
        .await;

    let (stored, head_rev) = stored_states(&b, &bob, &general).await;
    let head_seq = seq(&reply);
    assert_eq!(
        stored.last().unwrap()["replyTo"]["preview"],
        "edited twice while away",
        "the quote follows its original"
    );
    stayer.until(head_seq, head_rev).await;

    // Back on b with the URL's cursors; then a barrier marks the end of
    // what the server sent for the reconnect.
    let url = format!(
        "{}/chat/ws/{general}?afterSeq={}&afterRev={}",
        b.ws_address,
        away.last_seq(),
        away.rev
    );
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {carol}").parse().unwrap());
    let mut by_url = Careful {
        ws: ws_open(req).await.expect("reconnect"),
        held: away.clone(),
    };
    by_url.barrier().await;

    // The same with the resume frame on a plain connection.
    let mut by_frame = Careful {
        ws: b.ws_join(&carol, &general).await,
        held: away.clone(),
    };
    by_frame
        .ws
        .send_json(&json!({"type": "resume", "afterSeq": away.last_seq(), "afterRev": away.rev}))
        .await;
    let done = loop {
        let v = by_frame.frame().await;
        if v["type"] == "resume.done" {
            break v;
        }
    };
    assert_eq!(done["headSeq"], head_seq);
    assert_eq!(done["headRev"], head_rev);

    let (through_a, rev_a) = stored_states(&a, &alice, &general).await;
    assert_eq!(through_a, stored, "the servers' history routes differ");
    assert_eq!(rev_a, head_rev);
    assert_eq!(stayer.held.states(), stored, "the client that stayed");
    assert_eq!(
        by_url.held.states(),
        stored,
        "back with afterSeq + afterRev"
    );
    assert_eq!(by_frame.held.states(), stored, "back with the resume frame");
    assert_eq!(by_url.held.rev, head_rev);
}
