//! One check for both backends (tests only): the fast and the careful batch
//! paths give the same outcome for every message of a tricky batch.

use chrono::{Duration, Utc};
use uuid::Uuid;

use super::{InsertOutcome, NewMessage, Store, StoreError, UserRecord};

/// What the tricky batch must give, message by message, on either path.
pub const EXPECTED: [&str; 8] = [
    "stored a 1",
    "stored b 2",
    "dup a 1",
    "not member",
    "stored x 1",
    "not member",
    "stored d 3",
    "stored y 2",
];

/// Runs the tricky batch on a fresh store through one path and describes
/// each outcome: new keys in order on two interleaved channels, a key
/// repeated within the batch, a missing channel, a sender whose access was
/// revoked, and a message stamped
/// earlier than its channel's last one (it must not go back in time).
pub async fn batch_outcomes(store: &dyn Store, careful: bool) -> Vec<String> {
    let (one, two) = (Uuid::from_u128(1), Uuid::from_u128(3));
    let (user, revoked) = (Uuid::from_u128(2), Uuid::from_u128(4));
    store.upsert_tablo(one, "one", "#000000").await.unwrap();
    store.upsert_tablo(two, "two", "#000000").await.unwrap();
    for (id, name) in [(user, "u"), (revoked, "r")] {
        store
            .upsert_user(&UserRecord {
                id,
                email: format!("{name}@example.com"),
                display_name: name.into(),
                password_hash: None,
            })
            .await
            .unwrap();
    }
    store.set_access(one, user, true).await.unwrap();
    store.set_access(two, user, true).await.unwrap();
    store.set_access(one, revoked, true).await.unwrap();
    store.set_access(one, revoked, false).await.unwrap();
    let now = Utc::now();
    let message_from = |user_id, channel_id, key: &str, seconds_ago: i64| NewMessage {
        id: Uuid::now_v7(),
        channel_id,
        user_id,
        client_id: key.into(),
        text: key.into(),
        created_at: now - Duration::seconds(seconds_ago),
    };
    let message =
        |channel_id, key: &str, seconds_ago| message_from(user, channel_id, key, seconds_ago);
    let batch = [
        message(one, "a", 0),
        message(one, "b", 0),
        message(one, "a", 0),
        message(Uuid::from_u128(99), "c", 0),
        message(two, "x", 0),
        message_from(revoked, one, "r", 0),
        message(one, "d", 60),
        message(two, "y", 0),
    ];
    let results = if careful {
        store.insert_batch_carefully(&batch).await
    } else {
        store.insert_batch_fast(&batch).await.unwrap()
    };
    assert_eq!(store.head_seq(one).await.unwrap(), 3);
    assert_eq!(store.head_seq(two).await.unwrap(), 2);
    let mut last_time = None;
    let mut shape = Vec::new();
    for r in &results {
        shape.push(match r {
            Ok(InsertOutcome::Stored(m)) => {
                if m.channel_id == one {
                    assert!(Some(m.created_at) >= last_time, "time went back: {m:?}");
                    last_time = Some(m.created_at);
                }
                format!("stored {} {}", m.client_id, m.seq)
            }
            Ok(InsertOutcome::Duplicate(m)) => format!("dup {} {}", m.client_id, m.seq),
            Err(StoreError::NotMember) => "not member".into(),
            Err(e) => format!("error {e}"),
        });
    }
    // What was answered is what was stored.
    let page = store
        .history(one, super::HistoryCursor::Latest, 10)
        .await
        .unwrap();
    let answered: Vec<_> = results
        .iter()
        .filter_map(|r| match r {
            Ok(InsertOutcome::Stored(m)) if m.channel_id == one => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(page.messages, answered);
    shape
}
