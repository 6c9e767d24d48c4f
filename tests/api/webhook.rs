//! The webhook to the host app (PROTOCOL.md "Notifications"), against a
//! real receiver on loopback that checks each request's HMAC signature on
//! its own: mentions and thread replies for offline members, the unread
//! reminder after the quiet time, retries of a failing or slow receiver
//! (bounded), and sends that never wait for it. Runs on SQLite and again on
//! Postgres.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::time::Instant;

use crate::helpers::*;

const SECRET: &str = "webhook-test-secret-0123456789";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    body: Value,
    /// Whether its signature checked out (recomputed here, fresh).
    signed: bool,
}

/// How the receiver answers its `n`-th request (from 0).
type Script = Arc<dyn Fn(usize) -> (StatusCode, Duration) + Send + Sync>;

/// A webhook receiver on a free loopback port.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(script: Script) -> Self {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let state = (got.clone(), script);
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, got }
    }

    /// The events received so far of `kind`.
    fn of(&self, kind: &str) -> Vec<Received> {
        self.got
            .lock()
            .iter()
            .filter(|r| r.body["type"] == kind)
            .cloned()
            .collect()
    }

    /// Waits (bounded) until `n` requests of `kind` arrived.
    async fn wait_for(&self, kind: &str, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.of(kind);
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn receive(
    State((got, script)): State<(Arc<Mutex<Vec<Received>>>, Script)>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let timestamp = header("x-chat-timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|t| (now_secs() - t).abs() <= 300);
    let signed = fresh && header("x-chat-signature") == format!("v1={expected}");
    let n = {
        let mut got = got.lock();
        got.push(Received {
            body: serde_json::from_str(&body).unwrap_or(Value::Null),
            signed,
        });
        got.len() - 1
    };
    let (status, delay) = script(n);
    tokio::time::sleep(delay).await;
    status
}

/// An app whose webhook points at `receiver`: quick retries, `timeout`
/// per attempt, at most three attempts, a one-second quiet time.
async fn app_with(receiver: &Receiver, timeout: Duration) -> TestApp {
    let url = receiver.url.clone();
    spawn_app_with(move |s| {
        generous_rate_limits(s);
        s.webhook_url = Some(url);
        s.webhook_secret = Some(SECRET.to_string().into());
        s.limits.webhook_retry = Duration::from_millis(50);
        s.limits.webhook_timeout = timeout;
        s.limits.webhook_max_attempts = 3;
        s.limits.webhook_reminder_after = Duration::from_secs(1);
    })
    .await
}

/// A mention of an offline member reaches the receiver signed, with the
/// channel, sender and text; a receiver answering 500 gets the same event
/// again (same id) until it answers 2xx; a member who is online gets none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_of_an_offline_member_is_signed_and_retried() {
    let receiver = Receiver::start(Arc::new(|n| {
        let status = if n < 2 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        };
        (status, Duration::ZERO)
    }))
    .await;
    let app = app_with(&receiver, Duration::from_millis(300)).await;
    let mut p = app.alice_and_bob_in("General").await;
    let (_, carol_id) = app.login(CAROL).await;
    let mut frame = send_frame("@Carol @Bob the numbers are in", &client_id());
    frame["mentions"] = json!([carol_id, p.bob_id]);
    p.a.send_json(&frame).await;
    let sent = p.a.next_frame_of_type("message.new", WAIT).await;

    let got = receiver.wait_for("mention", 3).await;
    assert_eq!(got.len(), 3, "two refusals, then accepted: {got:?}");
    assert!(got.iter().all(|r| r.signed), "every attempt is signed");
    let id = &got[0].body["id"];
    assert!(
        got.iter().all(|r| &r.body["id"] == id),
        "retries keep the event id"
    );
    let event = &got[0].body;
    assert_eq!(
        event["user_id"],
        json!(carol_id),
        "bob is online: nothing for him"
    );
    assert_eq!(
        event["channel"],
        json!({"id": p.channel, "name": "General"})
    );
    assert_eq!(event["message"]["id"], sent["id"]);
    assert_eq!(event["message"]["seq"], sent["seq"]);
    assert_eq!(event["message"]["sender_name"], "Alice");
    assert_eq!(event["message"]["text"], "@Carol @Bob the numbers are in");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.of("mention").len(), 3, "not again once accepted");
}

/// A receiver that always refuses gets each event the configured number
/// of times, no more; one that hangs (far beyond the time-out) never holds
/// up a send: each reaches the other member at once all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_bounded_and_a_hung_receiver_never_slows_sends() {
    let refusing = Receiver::start(Arc::new(|_| {
        (StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO)
    }))
    .await;
    let app = app_with(&refusing, Duration::from_millis(300)).await;
    let mut p = app.alice_and_bob_in("General").await;
    let (_, carol_id) = app.login(CAROL).await;
    let mut frame = send_frame("@Carol once", &client_id());
    frame["mentions"] = json!([carol_id]);
    p.a.send_json(&frame).await;
    assert_eq!(refusing.wait_for("mention", 3).await.len(), 3);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        refusing.of("mention").len(),
        3,
        "three attempts, then dropped"
    );

    // Hung for a minute, with a 20 s time-out: were sends waiting for it,
    // the second would not arrive within the 5 s every frame gets here.
    let hung = Receiver::start(Arc::new(|_| (StatusCode::OK, Duration::from_secs(60)))).await;
    let app = app_with(&hung, Duration::from_secs(20)).await;
    let mut p = app.alice_and_bob_in("General").await;
    let (_, carol_id) = app.login(CAROL).await;
    for i in 0..10 {
        let mut frame = send_frame(&format!("@Carol number {i}"), &client_id());
        frame["mentions"] = json!([carol_id]);
        p.a.send_json(&frame).await;
        let got = p.b.next_frame_of_type("message.new", WAIT).await;
        assert_eq!(got["text"], format!("@Carol number {i}"));
    }
    assert_eq!(
        hung.wait_for("mention", 1).await.len(),
        1,
        "the first is still being delivered"
    );
}

/// After the quiet time a member who stayed offline with unread messages
/// gets one `unread.reminder` naming the channels and counts; an online
/// one gets none. A thread reply reaches the thread's offline participants
/// as `thread.reply`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_members_get_a_reminder_and_thread_replies() {
    let receiver = Receiver::start(Arc::new(|_| (StatusCode::OK, Duration::ZERO))).await;
    let app = app_with(&receiver, Duration::from_millis(300)).await;
    let mut p = app.alice_and_bob_in("General").await;
    let (carol, carol_id) = app.login(CAROL).await;
    app.mark_all_read(&carol).await;
    let parent = p.a.send_ok("a question for later").await;
    let reminders = receiver.wait_for("unread.reminder", 1).await;
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    let reminder = &reminders[0].body;
    assert!(reminders[0].signed);
    assert_eq!(reminder["user_id"], json!(carol_id), "bob is online");
    let general = reminder["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == json!(p.channel))
        .unwrap();
    assert_eq!(
        (general["name"].as_str(), general["unread_count"].as_i64()),
        (Some("General"), Some(1))
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        receiver.of("unread.reminder").len(),
        1,
        "once per quiet time"
    );

    // Bob replies in the thread, then leaves; alice's reply reaches him.
    let pid = parent["id"].as_str().unwrap().to_string();
    let mut frame = send_frame("I will look", &client_id());
    frame["parentId"] = json!(pid);
    p.b.send_json(&frame).await;
    p.b.next_frame_of_type("message.new", WAIT).await;
    p.b.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut frame = send_frame("thanks!", &client_id());
    frame["parentId"] = json!(pid);
    p.a.send_json(&frame).await;
    let replies = receiver.wait_for("thread.reply", 1).await;
    let to_bob: Vec<&Received> = replies
        .iter()
        .filter(|r| r.body["user_id"] == json!(p.bob_id))
        .collect();
    assert_eq!(to_bob.len(), 1, "{replies:?}");
    assert_eq!(to_bob[0].body["message"]["parent_id"], json!(pid));
    assert_eq!(to_bob[0].body["message"]["text"], "thanks!");
}
