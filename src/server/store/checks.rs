//! Checks both backends must pass (tests only): the fast and the careful
//! batch paths agree, and unread counts are exact.

use std::future::Future;

use chrono::{Duration, Utc};
use uuid::Uuid;

use crate::protocol::{ChannelId, MessageId, Seq, UserId};

use super::{InsertOutcome, NewMessage, Store, StoreError, UserRecord};

/// Creates the channels and the users, each user a member of each channel.
async fn members_of(store: &dyn Store, channels: &[ChannelId], users: &[(UserId, &str)]) {
    for &channel in channels {
        store.upsert_channel(channel, "c", "#000000").await.unwrap();
    }
    for &(id, name) in users {
        store
            .upsert_user(&UserRecord {
                id,
                email: format!("{name}@example.com"),
                display_name: name.into(),
                password_hash: None,
            })
            .await
            .unwrap();
        for &channel in channels {
            store.set_access(channel, id, true).await.unwrap();
        }
    }
}

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
    let (one, two) = (
        ChannelId::from_uuid(Uuid::from_u128(1)),
        ChannelId::from_uuid(Uuid::from_u128(3)),
    );
    let (user, revoked) = (
        UserId::from_uuid(Uuid::from_u128(2)),
        UserId::from_uuid(Uuid::from_u128(4)),
    );
    members_of(store, &[one, two], &[(user, "u")]).await;
    members_of(store, &[one], &[(revoked, "r")]).await;
    store.set_access(one, revoked, false).await.unwrap();
    let now = Utc::now();
    let message_from = |user_id, channel_id, key: &str, seconds_ago: i64| NewMessage {
        id: MessageId::from_uuid(Uuid::now_v7()),
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
        message(ChannelId::from_uuid(Uuid::from_u128(99)), "c", 0),
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
    assert_eq!(store.head_seq(one).await.unwrap(), Seq::new(3));
    assert_eq!(store.head_seq(two).await.unwrap(), Seq::new(2));
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

/// Unread counts (summary and channel list) are exact: other people's live
/// messages after the read cursor, never the reader's own, never deleted
/// ones. `soft_delete(channel, seq)` marks a message deleted (no API does
/// yet; host apps may).
pub async fn unread_is_exact<F, Fut>(store: &dyn Store, soft_delete: F)
where
    F: Fn(Uuid, i64) -> Fut,
    Fut: Future<Output = ()>,
{
    let channel = ChannelId::from_uuid(Uuid::from_u128(10));
    let (reader, writer) = (
        UserId::from_uuid(Uuid::from_u128(11)),
        UserId::from_uuid(Uuid::from_u128(12)),
    );
    members_of(store, &[channel], &[(reader, "reader"), (writer, "writer")]).await;
    // Seqs 1-5 by the writer, 6-7 by the reader, 8-10 by the writer.
    let senders = [[writer; 5].as_slice(), &[reader; 2], &[writer; 3]].concat();
    let batch: Vec<NewMessage> = senders
        .iter()
        .enumerate()
        .map(|(i, &user_id)| NewMessage {
            id: MessageId::from_uuid(Uuid::now_v7()),
            channel_id: channel,
            user_id,
            client_id: format!("k{i}").into(),
            text: "t".into(),
            created_at: Utc::now(),
        })
        .collect();
    for r in store.insert_messages(&batch).await {
        r.unwrap();
    }
    let counts = || async {
        let summary = store.unread_for(reader).await.unwrap();
        let listed = store.channels_for(reader).await.unwrap();
        let from_list = listed[0].unread_count;
        let from_summary = summary.first().map_or(0, |e| e.unread_count);
        assert_eq!(from_list, from_summary, "list and summary disagree");
        assert_eq!(summary.len(), usize::from(from_summary > 0));
        from_summary
    };
    assert_eq!(counts().await, 8, "all of the writer's");
    store
        .mark_read(reader, channel, Some(Seq::new(3)))
        .await
        .unwrap();
    assert_eq!(counts().await, 5, "4, 5, 8, 9, 10");
    soft_delete(channel.uuid(), 9).await;
    soft_delete(channel.uuid(), 6).await;
    assert_eq!(counts().await, 4, "4, 5, 8, 10");
    assert_eq!(
        store.unread_for(writer).await.unwrap()[0].unread_count,
        1,
        "7 (6 is deleted)"
    );
    store.mark_read(reader, channel, None).await.unwrap();
    assert_eq!(counts().await, 0);
}
