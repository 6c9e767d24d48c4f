//! Hostile and malformed HTTP input on every surface (JSON routes, server
//! functions, admin API, login): thousands of generated requests, each
//! answered with a 4xx (never a 5xx, never a dropped connection), and
//! nothing stored changes. Deterministic: the generator is seeded, and a
//! failure prints the request that caused it.

use serde_json::{json, Value};

use crate::helpers::*;

/// Values that break parsers: wrong types, edge numbers, odd dates,
/// control characters, invalid percent-encoding, long strings.
const NASTY: &[&str] = &[
    "",
    "0",
    "-1",
    "-0",
    "1e3",
    "1.5",
    "NaN",
    "Infinity",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "99999999999999999999999999999",
    "0x10",
    "+5",
    " 5",
    "5 ",
    "true",
    "null",
    "[]",
    "{}",
    "%00",
    "%FF%FE",
    "%",
    "%G1",
    "%E2%82",
    "\u{202e}evil",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "2026-02-30T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "-000001-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999Z",
    "2026-11-26T10:00:00",
    "2026-11-26T10:00:00+25:00",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "not-a-uuid",
    "../../etc/passwd",
];

/// Percent-encodes every byte outside the unreserved set, except that `%`
/// is kept as is half of the time (so invalid escapes reach the server).
fn encode(value: &str, raw_percent: bool) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b'%' if raw_percent => "%".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What the database holds that bad input must not change.
async fn snapshot(app: &TestApp, token: &str) -> (Value, Value) {
    let channels = app.get("/chat/channels", Some(token)).await;
    assert_eq!(channels.status().as_u16(), 200);
    let unread = app.get("/chat/unread", Some(token)).await;
    assert_eq!(unread.status().as_u16(), 200);
    (channels.json().await.unwrap(), unread.json().await.unwrap())
}

/// Sends `req`, returning its status; a 5xx or a failed request panics with
/// `what` (the request, for reproducing it).
async fn status_of(req: reqwest::RequestBuilder, what: &str) -> u16 {
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
    let status = resp.status().as_u16();
    assert!(status < 500, "{what}: {status}");
    status
}

/// Generated query strings and paths on the read routes, bodies on the
/// write routes, as bob (a member of General): never a 5xx, and nothing
/// anyone can see changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_bad_requests_get_4xx_and_change_nothing() {
    let app = spawn_app_with(generous_rate_limits).await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let general = app.channel_id(&alice, "General").await;
    // Some history, and read cursors in the middle, so that a change shows.
    let mut ws = app.ws_join(&alice, &general).await;
    for i in 0..5 {
        ws.send_ok(&format!("m{i}")).await;
    }
    let path = format!("/chat/channels/{general}/read");
    let status = app
        .post(&path, Some(&bob), Some(&json!({"seq": 2})))
        .await
        .status()
        .as_u16();
    assert_eq!(status, 200);
    let before = snapshot(&app, &bob).await;
    let cookie = app.login_cookie(BOB).await;

    let seed = 0x5eed_c0de_u64;
    let mut rng = Rng::with_seed(seed);
    let params = ["limit", "before", "before_seq", "after_seq", "seq", "x"];
    let channel_ids = [
        general.as_str(),
        "",
        "x",
        "00000000-0000-0000-0000-000000000000",
    ];
    for i in 0..1500 {
        let raw = rng.bool();
        let channel = match rng.usize(..3) {
            0 => general.clone(),
            1 => encode(pick(&mut rng, NASTY), raw),
            _ => pick(&mut rng, &channel_ids).to_string(),
        };
        let query: Vec<String> = (0..rng.usize(..4))
            .map(|_| {
                format!(
                    "{}={}",
                    pick(&mut rng, &params),
                    encode(pick(&mut rng, NASTY), raw)
                )
            })
            .collect();
        let query = query.join("&");
        let what = format!("seed {seed:#x}, request {i}");
        match rng.usize(..5) {
            0 | 1 => {
                let url = app.url(&format!("/chat/channels/{channel}/messages?{query}"));
                status_of(
                    app.api.get(&url).bearer_auth(&bob),
                    &format!("{what}: GET {url}"),
                )
                .await;
            }
            2 => {
                let url = app.url(&format!("/chat/channels/{channel}/members?{query}"));
                status_of(
                    app.api.get(&url).bearer_auth(&bob),
                    &format!("{what}: GET {url}"),
                )
                .await;
            }
            3 => {
                // Read cursors: a body that is not `{"seq": n}` with n a
                // non-negative integer (those are valid and may move the
                // cursor forward, so they are left out).
                let value = pick(&mut rng, NASTY);
                let body = match rng.usize(..4) {
                    0 => format!("{{\"seq\": {value}}}"),
                    1 => format!("{{\"seq\": \"{value}\"}}"),
                    2 => value.to_string(),
                    _ => format!("{{\"seq\": -{}}}", rng.usize(..1000) + 1),
                };
                if is_valid_read_body(&body) {
                    continue;
                }
                let url = app.url(&format!("/chat/channels/{channel}/read"));
                let req = app
                    .api
                    .post(&url)
                    .bearer_auth(&bob)
                    .header("content-type", "application/json")
                    .body(body.clone());
                status_of(req, &format!("{what}: POST {url} {body}")).await;
            }
            _ => {
                // The UI's server functions, form-encoded; `mark_read` only
                // with a channel id that is not General's (a well-formed
                // call there would legitimately move the cursor).
                let name = pick(&mut rng, &["load_history", "channel_members", "mark_read"]);
                if name == "mark_read" && channel == general {
                    continue;
                }
                let url = app.url(&format!("/api/{name}"));
                let form = format!("channel_id={channel}&{query}");
                let req = app
                    .api
                    .post(&url)
                    .header("cookie", &cookie)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form.clone());
                status_of(req, &format!("{what}: POST {url} {form}")).await;
            }
        }
    }
    assert_eq!(
        snapshot(&app, &bob).await,
        before,
        "bad input changed state"
    );
}

/// Whether `body` is a valid read-cursor body: a JSON object whose `seq` is
/// absent, null or a non-negative integer.
fn is_valid_read_body(body: &str) -> bool {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(o)) => match o.get("seq") {
            None | Some(Value::Null) => true,
            Some(v) => v.as_u64().is_some(),
        },
        _ => false,
    }
}
