//! Generated bad frames on a live connection: mutated frames of every type,
//! wrong field types, huge and negative numbers, unknown types, deeply
//! nested JSON, long strings, random characters, binary frames. Each gets
//! one `error` frame back; the connection stays open (a good frame between
//! bad ones resets the bad-frame count); nothing is stored, no cursor moves,
//! and the other member sees nothing. Deterministic: the seed is fixed and
//! printed with a failing frame.

use chat::protocol::ClientFrame;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

const TYPES: &[&str] = &[
    "message.send",
    "typing.start",
    "typing.stop",
    "presence.ping",
    "resume",
    "read",
    "message.new",
    "MESSAGE.SEND",
    "",
    "message.send ",
    "\u{0}",
];
const FIELDS: &[&str] = &["type", "text", "clientId", "afterSeq", "seq", "client_id"];

/// A JSON value meant to be wrong somewhere: a random type, edge numbers,
/// long or odd strings, nesting.
fn nasty_value(rng: &mut Rng, depth: usize) -> Value {
    let kinds = if depth > 3 { 9 } else { 12 };
    match rng.usize(..kinds) {
        0 => Value::Null,
        1 => json!(rng.bool()),
        2 => json!(-(rng.usize(..1_000_000) as i64) - 1),
        3 => json!(i64::MAX),
        4 => json!(u64::MAX),
        5 => json!(1.0e300),
        6 => json!(""),
        7 => json!(" \t\n "),
        8 => json!("x".repeat(rng.usize(..200))),
        9 => json!([nasty_value(rng, depth + 1), nasty_value(rng, depth + 1)]),
        10 => json!({ "type": nasty_value(rng, depth + 1) }),
        _ => json!({ "deep": nasty_value(rng, depth + 1) }),
    }
}

/// A frame's text: a mutated protocol frame, or something that is not
/// one at all.
fn bad_frame_text(rng: &mut Rng) -> String {
    match rng.usize(..8) {
        // A frame of a random type with random fields of random types.
        0..=3 => {
            let mut frame = json!({ "type": TYPES[rng.usize(..TYPES.len())] });
            for _ in 0..rng.usize(..4) {
                let field = FIELDS[rng.usize(..FIELDS.len())];
                frame[field] = nasty_value(rng, 0);
            }
            frame.to_string()
        }
        // Deep nesting, far past serde_json's recursion limit.
        4 => {
            let depth = 200 + rng.usize(..5000);
            format!("{}{}", "[".repeat(depth), "]".repeat(depth))
        }
        // Numbers no integer type holds.
        5 => format!(
            r#"{{"type":"resume","afterSeq":{}{}}}"#,
            if rng.bool() { "-" } else { "" },
            "9".repeat(20 + rng.usize(..400))
        ),
        // Random characters (valid UTF-8 by construction).
        6 => (0..rng.usize(..300))
            .map(|_| char::from_u32(rng.usize(..0x11_0000) as u32).unwrap_or('\u{fffd}'))
            .collect(),
        // Truncated or padded valid frames.
        _ => {
            let valid = send_frame("hello", "fuzz-cid").to_string();
            let cut = rng.usize(..valid.len());
            if rng.bool() {
                valid[..cut].to_string()
            } else {
                format!("{valid}{}", &valid[..cut])
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_bad_frames_get_an_error_each_and_change_nothing() {
    let app = spawn_app_with(generous_rate_limits).await;
    let mut pair = app.alice_and_bob_in("General").await;
    pair.a.send_ok("before the fuzz").await;
    let _ = pair.b.next_frame_of_type("message.new", WAIT).await;
    let path = format!("/chat/channels/{}/read", pair.channel);
    let status = app
        .post(&path, Some(&pair.alice), Some(&json!({"seq": 1})))
        .await
        .status()
        .as_u16();
    assert_eq!(status, 200);
    let channels_before = app.channels(&pair.alice).await;

    let seed = 0x0f0f_2026_u64;
    let mut rng = Rng::with_seed(seed);
    let mut sent = 0;
    for i in 0..1200 {
        let (frame, shown) = if rng.usize(..20) == 0 {
            let bytes: Vec<u8> = (0..rng.usize(..64)).map(|_| rng.u8(..)).collect();
            (Message::binary(bytes.clone()), format!("binary {bytes:?}"))
        } else {
            let text = bad_frame_text(&mut rng);
            if ClientFrame::decode(&text).is_ok() {
                // A valid frame by chance: not what this test is about.
                continue;
            }
            let shown: String = text.chars().take(200).collect();
            (Message::text(text), shown)
        };
        sent += 1;
        pair.a.send_raw(frame).await;
        let answer = pair
            .a
            .next_frame_matching("error", WAIT, |v| v["type"] == "error")
            .await;
        let code = answer["code"].as_str().unwrap_or_default();
        assert!(
            [
                "PARSE_ERROR",
                "UNKNOWN_TYPE",
                "MESSAGE_TOO_LONG",
                "EMPTY_MESSAGE"
            ]
            .contains(&code),
            "seed {seed:#x}, frame {i} ({shown}): {answer}"
        );
        // Every so often a good frame, as a real client's traffic would
        // have, so the bad-frame count never reaches its close.
        if i % 10 == 0 {
            pair.a.barrier().await;
        }
    }
    assert!(sent > 1000, "only {sent} bad frames were generated");
    // Still connected and working; nothing changed.
    pair.a.barrier().await;
    pair.b.expect_no_frame_of_type("message.new", QUIET).await;
    assert_eq!(app.channels(&pair.alice).await, channels_before);
    let after = pair.a.send_ok("after the fuzz").await;
    assert_eq!(seq(&after), 2, "the fuzz stored something");
}
