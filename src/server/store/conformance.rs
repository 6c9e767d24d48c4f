//! One behaviour for every backend: each test here runs against a real
//! SQLite file (`sqlite.rs`, always) and a real Postgres database
//! (`postgres.rs`, when `CHAT_TEST_POSTGRES` names a throwaway cluster;
//! skipped with a notice otherwise), each on a fresh database of its own.
//! [`conformance_suite!`] is the table that stamps every test out for a
//! backend; a new test goes there as well.
//!
//! Covered: every method of [`Store`] and each of its outcomes: users,
//! channels and access, membership, member lists, the channel list,
//! history in every direction, head seqs, inserts on the fast and the
//! careful path (stored, duplicate, refused, one bad message alone, times
//! never going back, gap-free seqs with concurrent writers on two store
//! objects), read cursors, unread counts, flags and the health query.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{HistoryCursor, InsertOutcome, Membership, NewMessage, Store, StoreError, UserRecord};
use crate::protocol::{ChannelId, HistoryPage, Message, MessageId, Rev, Seq, Timestamp, UserId};

/// A backend under test: a store on a database of its own.
pub(super) trait Backend: Sized + Send + Sync + 'static {
    /// A store on a new, empty database; `None` (the test is skipped, with
    /// a notice) when this backend cannot run here.
    async fn fresh() -> Option<Self>;
    /// The store.
    fn store(&self) -> Arc<dyn Store>;
    /// A second store on the same database, as another server (or the
    /// same server restarted) opens it.
    async fn another(&self) -> Arc<dyn Store>;
    /// Marks a message deleted: no API does yet, host apps may.
    async fn soft_delete(&self, channel: ChannelId, seq: Seq);
}

/// Stamps out every test of this module for a [`Backend`]: invoked once in
/// each backend's tests, so their names carry the backend's module path
/// (`store::sqlite::…`, `store::postgres::…`).
macro_rules! conformance_suite {
    ($backend:ty) => {
        $crate::server::store::conformance::conformance_suite!(@each $backend;
            users_upsert_and_lookup,
            users_duplicate_email_is_refused,
            channels_upsert_creates_and_renames,
            delete_channel_removes_everything_in_it,
            access_grant_and_revoke,
            membership_outcomes,
            member_lists,
            channels_for_order_previews_and_counts,
            history_latest,
            history_before_seq,
            history_after_seq,
            history_before_time,
            history_limits_walk_every_page,
            history_hides_deleted_messages,
            head_seq_of_missing_empty_and_busy_channels,
            insert_stores_with_the_next_seq,
            insert_duplicate_key_returns_the_original,
            insert_into_missing_channel_is_refused,
            insert_by_non_member_or_revoked_member_is_refused,
            insert_times_never_go_back,
            insert_empty_batch,
            one_bad_message_fails_alone,
            fast_and_careful_batches_agree,
            seqs_are_gap_free_under_concurrent_writers,
            racing_duplicate_keys_are_stored_once,
            mark_read_defaults_to_the_head,
            mark_read_never_moves_backwards,
            mark_read_never_passes_the_head,
            mark_read_never_goes_below_zero,
            mark_read_on_missing_channel_fails,
            unread_is_exact,
            unread_for_lists_channels_with_unread_messages,
            meta_get_and_set,
            ping_answers,
        );
    };
    (@each $backend:ty; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let backend = <$backend as $crate::server::store::conformance::Backend>::fresh();
                if let Some(backend) = backend.await {
                    $crate::server::store::conformance::$test(&backend).await;
                }
            }
        )*
    };
}
pub(super) use conformance_suite;

// Fixtures.

fn channel_id(n: u128) -> ChannelId {
    ChannelId::from_uuid(Uuid::from_u128(n))
}

fn user_id(n: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(n))
}

/// A user named `name` (e-mail `name@example.com`).
async fn add_user(store: &dyn Store, n: u128, name: &str) -> UserId {
    let id = user_id(n);
    store
        .upsert_user(&UserRecord {
            id,
            email: format!("{name}@example.com"),
            display_name: name.into(),
            password_hash: None,
        })
        .await
        .unwrap();
    id
}

/// A channel with `members` given access.
async fn add_channel(store: &dyn Store, n: u128, name: &str, members: &[UserId]) -> ChannelId {
    let id = channel_id(n);
    store.upsert_channel(id, name, "#6366f1").await.unwrap();
    for &user in members {
        store.set_access(id, user, true).await.unwrap();
    }
    id
}

/// A new message under the key `key`, stamped `at`.
fn message_at(channel: ChannelId, user: UserId, key: &str, at: DateTime<Utc>) -> NewMessage {
    NewMessage {
        id: MessageId::from_uuid(Uuid::now_v7()),
        channel_id: channel,
        user_id: user,
        client_id: key.into(),
        text: format!("text of {key}"),
        created_at: at,
        reply_to: None,
    }
}

/// A new message stamped now.
fn message(channel: ChannelId, user: UserId, key: &str) -> NewMessage {
    message_at(channel, user, key, Utc::now())
}

/// Stores one message, which must be new.
async fn send(store: &dyn Store, m: NewMessage) -> Message {
    let mut results = store.insert_messages(std::slice::from_ref(&m)).await;
    assert_eq!(results.len(), 1);
    match results.remove(0) {
        Ok(InsertOutcome::Stored(stored)) => stored,
        other => panic!("{m:?} not stored: {other:?}"),
    }
}

/// Stores `n` messages by `user`, keys `{prefix}0`, `{prefix}1`, ...
async fn send_n(
    store: &dyn Store,
    channel: ChannelId,
    user: UserId,
    prefix: &str,
    n: usize,
) -> Vec<Message> {
    let mut sent = Vec::new();
    for i in 0..n {
        sent.push(send(store, message(channel, user, &format!("{prefix}{i}"))).await);
    }
    sent
}

/// One entry point of the insert.
#[derive(Debug, Clone, Copy)]
enum Path {
    /// `insert_batch_fast` (which must not fail as a whole here).
    Fast,
    /// `insert_batch_carefully`.
    Careful,
    /// `insert_messages`, what the chat calls.
    Either,
}

impl Path {
    const ALL: [Path; 3] = [Path::Fast, Path::Careful, Path::Either];

    async fn insert(
        self,
        store: &dyn Store,
        batch: &[NewMessage],
    ) -> Vec<Result<InsertOutcome, StoreError>> {
        match self {
            Path::Fast => store
                .insert_batch_fast(batch)
                .await
                .unwrap_or_else(|e| panic!("the fast path failed as a whole: {e}")),
            Path::Careful => store.insert_batch_carefully(batch).await,
            Path::Either => store.insert_messages(batch).await,
        }
    }
}

/// An outcome in a word or three, for comparing whole batches.
fn describe(result: &Result<InsertOutcome, StoreError>) -> String {
    match result {
        Ok(InsertOutcome::Stored(m)) => format!("stored {} {}", m.client_id, m.seq),
        Ok(InsertOutcome::Duplicate(m)) => format!("dup {} {}", m.client_id, m.seq),
        Err(StoreError::NotMember) => "not member".into(),
        Err(StoreError::Database(_)) => "database error".into(),
        Err(e) => format!("error {e}"),
    }
}

fn describe_all(results: &[Result<InsertOutcome, StoreError>]) -> Vec<String> {
    results.iter().map(describe).collect()
}

fn stored(result: &Result<InsertOutcome, StoreError>) -> Message {
    match result {
        Ok(InsertOutcome::Stored(m)) => m.clone(),
        other => panic!("not stored: {other:?}"),
    }
}

fn seqs(page: &HistoryPage) -> Vec<i64> {
    page.messages.iter().map(|m| m.seq.get()).collect()
}

async fn page(
    store: &dyn Store,
    channel: ChannelId,
    cursor: HistoryCursor,
    limit: u32,
) -> (Vec<i64>, bool) {
    let page = store.history(channel, cursor, limit).await.unwrap();
    (seqs(&page), page.has_more)
}

// Users.

/// A user is found by id and by e-mail in any case with blanks around it;
/// an update without a password hash keeps the stored one.
pub(super) async fn users_upsert_and_lookup(b: &impl Backend) {
    let store = b.store();
    let id = user_id(1);
    store
        .upsert_user(&UserRecord {
            id,
            email: "Ann@Example.com".into(),
            display_name: "Ann".into(),
            password_hash: Some("hash-1".into()),
        })
        .await
        .unwrap();
    let user = store.user_by_id(id).await.unwrap().expect("by id");
    assert_eq!(
        (user.id, user.email.as_str(), user.display_name.as_str()),
        (id, "Ann@Example.com", "Ann")
    );
    assert_eq!(user.password_hash.as_deref(), Some("hash-1"));
    for email in ["Ann@Example.com", "ann@example.com", "  ANN@EXAMPLE.COM "] {
        let found = store.user_by_email(email).await.unwrap();
        assert_eq!(found.map(|u| u.id), Some(id), "{email:?}");
    }
    assert!(store
        .user_by_email("bob@example.com")
        .await
        .unwrap()
        .is_none());
    assert!(store.user_by_id(user_id(2)).await.unwrap().is_none());

    store
        .upsert_user(&UserRecord {
            id,
            email: "ann.b@example.com".into(),
            display_name: "Ann B".into(),
            password_hash: None,
        })
        .await
        .unwrap();
    let user = store.user_by_id(id).await.unwrap().unwrap();
    assert_eq!(
        (user.email.as_str(), user.display_name.as_str()),
        ("ann.b@example.com", "Ann B")
    );
    assert_eq!(user.password_hash.as_deref(), Some("hash-1"), "hash kept");
    assert!(store
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .user_by_email("ann.b@example.com")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(id)
    );

    store
        .upsert_user(&UserRecord {
            id,
            email: "ann.b@example.com".into(),
            display_name: "Ann B".into(),
            password_hash: Some("hash-2".into()),
        })
        .await
        .unwrap();
    let user = store.user_by_id(id).await.unwrap().unwrap();
    assert_eq!(
        user.password_hash.as_deref(),
        Some("hash-2"),
        "hash replaced"
    );
}

/// Two users cannot share an e-mail, whatever its case: the second is
/// refused and the first stays as it was.
pub(super) async fn users_duplicate_email_is_refused(b: &impl Backend) {
    let store = b.store();
    let first = add_user(store.as_ref(), 1, "same").await;
    let refused = store
        .upsert_user(&UserRecord {
            id: user_id(2),
            email: "SAME@example.com".into(),
            display_name: "other".into(),
            password_hash: None,
        })
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(store.user_by_id(user_id(2)).await.unwrap().is_none());
    let found = store
        .user_by_email("same@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, found.display_name.as_str()), (first, "same"));
}

// Channels, access and members.

/// A channel is created by its first upsert and renamed (and recoloured)
/// by the next, keeping its members.
pub(super) async fn channels_upsert_creates_and_renames(b: &impl Backend) {
    let store = b.store();
    let user = add_user(store.as_ref(), 1, "ann").await;
    let channel = channel_id(10);
    store
        .upsert_channel(channel, "general", "#111111")
        .await
        .unwrap();
    store.set_access(channel, user, true).await.unwrap();
    let list = store.channels_for(user).await.unwrap();
    assert_eq!(list.len(), 1);
    let row = &list[0];
    assert_eq!(
        (row.id, row.name.as_str(), row.color.as_str()),
        (channel, "general", "#111111")
    );
    assert_eq!((row.member_count, row.unread_count), (1, 0));
    assert_eq!((row.head_seq, row.last_read_seq), (Seq::ZERO, Seq::ZERO));
    assert_eq!((&row.last_message, &row.last_sender_name), (&None, &None));

    store
        .upsert_channel(channel, "random", "#222222")
        .await
        .unwrap();
    let row = store.channels_for(user).await.unwrap().remove(0);
    assert_eq!(
        (
            row.id,
            row.name.as_str(),
            row.color.as_str(),
            row.member_count
        ),
        (channel, "random", "#222222", 1)
    );
    assert_eq!(
        store.membership(channel, user).await.unwrap(),
        Membership::Member {
            head_seq: Seq::ZERO,
            head_rev: Rev::ZERO
        }
    );
}

/// Deleting a channel takes its messages, access and read state with it
/// (users stay); the same id created again starts empty.
pub(super) async fn delete_channel_removes_everything_in_it(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let reader = add_user(s, 1, "reader").await;
    let writer = add_user(s, 2, "writer").await;
    let channel = add_channel(s, 10, "doomed", &[reader, writer]).await;
    let sent = send_n(s, channel, writer, "k", 3).await;
    s.mark_read(reader, channel, Some(Seq::new(1)))
        .await
        .unwrap();

    assert!(s.delete_channel(channel).await.unwrap());
    assert!(!s.delete_channel(channel).await.unwrap(), "already gone");
    assert!(
        !s.delete_channel(channel_id(99)).await.unwrap(),
        "never was"
    );
    assert_eq!(
        s.membership(channel, reader).await.unwrap(),
        Membership::NoChannel
    );
    assert_eq!(s.head_seq(channel).await.unwrap(), Seq::ZERO);
    assert_eq!(
        page(s, channel, HistoryCursor::Latest, 10).await,
        (vec![], false)
    );
    assert!(s.channels_for(reader).await.unwrap().is_empty());
    assert!(s.unread_for(reader).await.unwrap().is_empty());
    assert!(s.member_ids(channel).await.unwrap().is_empty());
    assert!(s.members(channel).await.unwrap().is_empty());
    assert!(s.user_by_id(writer).await.unwrap().is_some(), "users stay");

    s.upsert_channel(channel, "reborn", "#000000")
        .await
        .unwrap();
    assert_eq!(
        s.membership(channel, reader).await.unwrap(),
        Membership::NotMember
    );
    assert!(
        s.member_ids(channel).await.unwrap().is_empty(),
        "access went"
    );
    s.set_access(channel, reader, true).await.unwrap();
    s.set_access(channel, writer, true).await.unwrap();
    let row = s.channels_for(reader).await.unwrap().remove(0);
    assert_eq!(
        (row.head_seq, row.last_read_seq),
        (Seq::ZERO, Seq::ZERO),
        "read state went"
    );
    // The old keys went with the messages: the same key is new again.
    let again = send(s, message(channel, writer, sent[0].client_id.as_str())).await;
    assert_eq!(again.seq, Seq::new(1));
}

/// Access is granted, revoked and granted again; only active access makes
/// a member.
pub(super) async fn access_grant_and_revoke(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let user = add_user(s, 1, "ann").await;
    let channel = add_channel(s, 10, "c", &[]).await;
    assert_eq!(
        s.membership(channel, user).await.unwrap(),
        Membership::NotMember
    );

    s.set_access(channel, user, true).await.unwrap();
    s.set_access(channel, user, true).await.unwrap();
    assert_eq!(
        s.membership(channel, user).await.unwrap(),
        Membership::Member {
            head_seq: Seq::ZERO,
            head_rev: Rev::ZERO
        }
    );
    assert_eq!(s.member_ids(channel).await.unwrap(), vec![user]);
    assert_eq!(s.channels_for(user).await.unwrap().len(), 1);

    s.set_access(channel, user, false).await.unwrap();
    assert_eq!(
        s.membership(channel, user).await.unwrap(),
        Membership::NotMember
    );
    assert!(s.member_ids(channel).await.unwrap().is_empty());
    assert!(s.members(channel).await.unwrap().is_empty());
    assert!(s.channels_for(user).await.unwrap().is_empty());
    assert!(s.unread_for(user).await.unwrap().is_empty());

    s.set_access(channel, user, true).await.unwrap();
    assert_eq!(
        s.membership(channel, user).await.unwrap(),
        Membership::Member {
            head_seq: Seq::ZERO,
            head_rev: Rev::ZERO
        }
    );
}

/// No channel, not a member (no access row, or an unknown user), or a
/// member with the channel's current head.
pub(super) async fn membership_outcomes(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let member = add_user(s, 1, "member").await;
    let outsider = add_user(s, 2, "outsider").await;
    let channel = add_channel(s, 10, "c", &[member]).await;
    assert_eq!(
        s.membership(channel_id(99), member).await.unwrap(),
        Membership::NoChannel
    );
    assert_eq!(
        s.membership(channel_id(99), user_id(99)).await.unwrap(),
        Membership::NoChannel
    );
    assert_eq!(
        s.membership(channel, outsider).await.unwrap(),
        Membership::NotMember
    );
    assert_eq!(
        s.membership(channel, user_id(99)).await.unwrap(),
        Membership::NotMember
    );
    assert_eq!(
        s.membership(channel, member).await.unwrap(),
        Membership::Member {
            head_seq: Seq::ZERO,
            head_rev: Rev::ZERO
        }
    );
    send_n(s, channel, member, "k", 2).await;
    assert_eq!(
        s.membership(channel, member).await.unwrap(),
        Membership::Member {
            head_seq: Seq::new(2),
            head_rev: Rev::ZERO
        }
    );
}

/// Member ids and named members list the active members only, names in
/// order, and follow renames.
pub(super) async fn member_lists(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let carol = add_user(s, 1, "carol").await;
    let alice = add_user(s, 2, "alice").await;
    let bob = add_user(s, 3, "bob").await;
    let revoked = add_user(s, 4, "dave").await;
    let elsewhere = add_user(s, 5, "erin").await;
    let channel = add_channel(s, 10, "c", &[carol, alice, bob, revoked]).await;
    add_channel(s, 11, "other", &[elsewhere]).await;
    s.set_access(channel, revoked, false).await.unwrap();

    let mut ids = s.member_ids(channel).await.unwrap();
    ids.sort();
    let mut expected = vec![carol, alice, bob];
    expected.sort();
    assert_eq!(ids, expected);

    let named = |members: Vec<crate::protocol::dto::Member>| {
        members
            .into_iter()
            .map(|m| (m.display_name, m.id))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        named(s.members(channel).await.unwrap()),
        vec![
            ("alice".into(), alice),
            ("bob".into(), bob),
            ("carol".into(), carol)
        ]
    );
    s.upsert_user(&UserRecord {
        id: carol,
        email: "carol@example.com".into(),
        display_name: "abby".into(),
        password_hash: None,
    })
    .await
    .unwrap();
    assert_eq!(
        named(s.members(channel).await.unwrap()),
        vec![
            ("abby".into(), carol),
            ("alice".into(), alice),
            ("bob".into(), bob)
        ]
    );
    assert!(s.members(channel_id(99)).await.unwrap().is_empty());
}

/// The channel list: channels with messages first, newest message first,
/// then the others by name; each with its newest live message and its
/// sender's name, head, read cursor, member count and unread count (not
/// the reader's own messages, not deleted ones); revoked and foreign
/// channels left out.
pub(super) async fn channels_for_order_previews_and_counts(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let reader = add_user(s, 1, "reader").await;
    let writer = add_user(s, 2, "writer").await;
    let both = [reader, writer];
    let beta = add_channel(s, 10, "beta", &both).await;
    let alpha = add_channel(s, 11, "alpha", &both).await;
    let older = add_channel(s, 12, "older", &both).await;
    let newer = add_channel(s, 13, "newer", &both).await;
    let revoked = add_channel(s, 14, "revoked", &both).await;
    let foreign = add_channel(s, 15, "foreign", &[writer]).await;
    let t = Utc::now();
    let at = |seconds_ago| t - Duration::seconds(seconds_ago);

    send(s, message_at(older, writer, "o1", at(60))).await;
    send(s, message_at(older, writer, "o2", at(59))).await;
    let own = send(s, message_at(older, reader, "o3", at(58))).await;
    let n1 = send(s, message_at(newer, writer, "n1", at(30))).await;
    send(s, message_at(newer, writer, "n2", at(29))).await;
    send(s, message_at(revoked, writer, "r1", at(10))).await;
    send(s, message_at(foreign, writer, "f1", at(5))).await;
    s.set_access(revoked, reader, false).await.unwrap();
    b.soft_delete(newer, Seq::new(2)).await;

    let list = s.channels_for(reader).await.unwrap();
    let order: Vec<ChannelId> = list.iter().map(|c| c.id).collect();
    assert_eq!(order, vec![newer, older, alpha, beta]);
    let [newer_row, older_row, alpha_row, _] = &list[..] else {
        unreachable!()
    };
    assert_eq!(
        newer_row.last_message.as_ref(),
        Some(&n1),
        "newest live message"
    );
    assert_eq!(newer_row.last_sender_name.as_deref(), Some("writer"));
    assert_eq!(
        (newer_row.head_seq, newer_row.unread_count),
        (Seq::new(2), 1)
    );
    assert_eq!(older_row.last_message.as_ref(), Some(&own));
    assert_eq!(older_row.last_sender_name.as_deref(), Some("reader"));
    assert_eq!(
        (older_row.head_seq, older_row.unread_count),
        (Seq::new(3), 2)
    );
    assert_eq!(
        (older_row.member_count, older_row.last_read_seq),
        (2, Seq::ZERO)
    );
    assert_eq!(
        (&alpha_row.last_message, alpha_row.unread_count),
        (&None, 0)
    );

    s.mark_read(reader, older, Some(Seq::new(1))).await.unwrap();
    let older_row = s.channels_for(reader).await.unwrap().remove(1);
    assert_eq!(
        (older_row.last_read_seq, older_row.unread_count),
        (Seq::new(1), 1)
    );
    assert!(s.channels_for(user_id(99)).await.unwrap().is_empty());
}

// History.

/// A channel with five messages (keys k0 to k4), for the history tests.
async fn five_messages(s: &dyn Store) -> (ChannelId, Vec<Message>) {
    let user = add_user(s, 1, "ann").await;
    let channel = add_channel(s, 10, "c", &[user]).await;
    let sent = send_n(s, channel, user, "k", 5).await;
    (channel, sent)
}

/// The newest page, oldest first, exactly as stored; `has_more` when
/// older ones exist.
pub(super) async fn history_latest(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let (channel, sent) = five_messages(s).await;
    let latest = s.history(channel, HistoryCursor::Latest, 2).await.unwrap();
    assert_eq!(
        latest.messages,
        sent[3..].to_vec(),
        "as stored, oldest first"
    );
    assert!(latest.has_more);
    assert_eq!(
        page(s, channel, HistoryCursor::Latest, 5).await,
        (vec![1, 2, 3, 4, 5], false)
    );
    assert_eq!(
        page(s, channel, HistoryCursor::Latest, 50).await,
        (vec![1, 2, 3, 4, 5], false)
    );
    let empty = add_channel(s, 11, "empty", &[]).await;
    assert_eq!(
        page(s, empty, HistoryCursor::Latest, 10).await,
        (vec![], false)
    );
    assert_eq!(
        page(s, channel_id(99), HistoryCursor::Latest, 10).await,
        (vec![], false)
    );
}

/// The page before a seq, oldest first; `has_more` when older ones exist.
pub(super) async fn history_before_seq(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let (channel, sent) = five_messages(s).await;
    let before = |n| HistoryCursor::BeforeSeq(Seq::new(n));
    let exact = s.history(channel, before(4), 2).await.unwrap();
    assert_eq!(exact.messages, sent[1..3].to_vec());
    assert_eq!(page(s, channel, before(4), 2).await, (vec![2, 3], true));
    assert_eq!(page(s, channel, before(3), 2).await, (vec![1, 2], false));
    assert_eq!(page(s, channel, before(1), 2).await, (vec![], false));
    assert_eq!(page(s, channel, before(0), 2).await, (vec![], false));
    assert_eq!(page(s, channel, before(100), 2).await, (vec![4, 5], true));
}

/// The page after a seq (resume, catch-up), oldest first; `has_more` when
/// newer ones exist.
pub(super) async fn history_after_seq(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let (channel, sent) = five_messages(s).await;
    let after = |n| HistoryCursor::AfterSeq(Seq::new(n));
    let exact = s.history(channel, after(0), 2).await.unwrap();
    assert_eq!(exact.messages, sent[..2].to_vec());
    assert_eq!(page(s, channel, after(0), 2).await, (vec![1, 2], true));
    assert_eq!(page(s, channel, after(2), 10).await, (vec![3, 4, 5], false));
    assert_eq!(page(s, channel, after(3), 2).await, (vec![4, 5], false));
    assert_eq!(page(s, channel, after(5), 2).await, (vec![], false));
    assert_eq!(page(s, channel, after(50), 2).await, (vec![], false));
}

/// The page of messages created strictly before a time (the seed's
/// cursor), to the microsecond.
pub(super) async fn history_before_time(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let user = add_user(s, 1, "ann").await;
    let channel = add_channel(s, 10, "c", &[user]).await;
    let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let at = |seconds| t0 + Duration::seconds(seconds);
    for i in 1..=5 {
        send(s, message_at(channel, user, &format!("k{i}"), at(i))).await;
    }
    let before = |t| HistoryCursor::BeforeTime(t);
    assert_eq!(
        page(s, channel, before(at(3)), 10).await,
        (vec![1, 2], false)
    );
    assert_eq!(page(s, channel, before(at(3)), 1).await, (vec![2], true));
    let just_after = at(3) + Duration::microseconds(1);
    assert_eq!(
        page(s, channel, before(just_after), 10).await,
        (vec![1, 2, 3], false)
    );
    assert_eq!(page(s, channel, before(at(1)), 10).await, (vec![], false));
    assert_eq!(
        page(s, channel, before(at(60)), 2).await,
        (vec![4, 5], true)
    );
}

/// Walking one message at a time meets every message once, in both
/// directions, and only the last page says there is no more.
pub(super) async fn history_limits_walk_every_page(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let (channel, _) = five_messages(s).await;
    let mut back: Vec<i64> = Vec::new();
    let mut cursor = HistoryCursor::Latest;
    loop {
        let (seqs, more) = page(s, channel, cursor, 1).await;
        assert_eq!(seqs.len(), 1);
        back.push(seqs[0]);
        if !more {
            break;
        }
        cursor = HistoryCursor::BeforeSeq(Seq::new(seqs[0]));
    }
    assert_eq!(back, vec![5, 4, 3, 2, 1]);
    let mut forward: Vec<i64> = Vec::new();
    let mut after = 0;
    loop {
        let (seqs, more) = page(s, channel, HistoryCursor::AfterSeq(Seq::new(after)), 2).await;
        forward.extend(&seqs);
        after = *seqs.last().unwrap();
        if !more {
            break;
        }
    }
    assert_eq!(forward, vec![1, 2, 3, 4, 5]);
}

/// Deleted messages are in no page and count for no `has_more`; the head
/// keeps its seq.
pub(super) async fn history_hides_deleted_messages(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let (channel, _) = five_messages(s).await;
    b.soft_delete(channel, Seq::new(2)).await;
    b.soft_delete(channel, Seq::new(5)).await;
    assert_eq!(
        page(s, channel, HistoryCursor::Latest, 10).await,
        (vec![1, 3, 4], false)
    );
    assert_eq!(
        page(s, channel, HistoryCursor::Latest, 3).await,
        (vec![1, 3, 4], false)
    );
    assert_eq!(
        page(s, channel, HistoryCursor::Latest, 2).await,
        (vec![3, 4], true)
    );
    let after = HistoryCursor::AfterSeq(Seq::ZERO);
    assert_eq!(page(s, channel, after, 2).await, (vec![1, 3], true));
    let before = HistoryCursor::BeforeSeq(Seq::new(6));
    assert_eq!(page(s, channel, before, 10).await, (vec![1, 3, 4], false));
    let future = HistoryCursor::BeforeTime(Utc::now() + Duration::hours(1));
    assert_eq!(page(s, channel, future, 10).await, (vec![1, 3, 4], false));
    assert_eq!(s.head_seq(channel).await.unwrap(), Seq::new(5));
}

/// The head is 0 for a missing or empty channel, else the newest seq.
pub(super) async fn head_seq_of_missing_empty_and_busy_channels(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let user = add_user(s, 1, "ann").await;
    let busy = add_channel(s, 10, "busy", &[user]).await;
    let empty = add_channel(s, 11, "empty", &[user]).await;
    assert_eq!(s.head_seq(channel_id(99)).await.unwrap(), Seq::ZERO);
    send_n(s, busy, user, "k", 3).await;
    assert_eq!(s.head_seq(busy).await.unwrap(), Seq::new(3));
    assert_eq!(s.head_seq(empty).await.unwrap(), Seq::ZERO);
}

// Inserts.

/// New messages get the channel's next seqs in batch order and come back
/// exactly as history reads them; each path continues where the last left.
pub(super) async fn insert_stores_with_the_next_seq(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let user = add_user(s, 1, "ann").await;
    let channel = add_channel(s, 10, "c", &[user]).await;
    let mut all = Vec::new();
    for (n, path) in Path::ALL.into_iter().enumerate() {
        let batch: Vec<NewMessage> = (0..3)
            .map(|i| message(channel, user, &format!("p{n}-{i}")))
            .collect();
        let results = path.insert(s, &batch).await;
        for (i, (m, r)) in batch.iter().zip(&results).enumerate() {
            let got = stored(r);
            let seq = Seq::new((3 * n + i + 1) as i64);
            assert_eq!(got, m.stored(seq, got.created_at.into()), "{path:?}");
            assert_eq!(got.created_at, m.created_at.into(), "to the microsecond");
            all.push(got);
        }
    }
    let history = s.history(channel, HistoryCursor::Latest, 50).await.unwrap();
    assert_eq!(history.messages, all);
    assert_eq!(s.head_seq(channel).await.unwrap(), Seq::new(9));
}

/// A key already stored (earlier or in the same batch) is answered with
/// the original message and stores nothing; keys are per sender and
/// channel.
pub(super) async fn insert_duplicate_key_returns_the_original(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let ann = add_user(s, 1, "ann").await;
    let bob = add_user(s, 2, "bob").await;
    for (n, path) in Path::ALL.into_iter().enumerate() {
        let channel = add_channel(s, 10 + n as u128, "c", &[ann, bob]).await;
        let other = add_channel(s, 20 + n as u128, "d", &[ann]).await;
        let original = stored(&path.insert(s, &[message(channel, ann, "k")]).await[0]);
        let mut again = message(channel, ann, "k");
        again.text = "something else".into();
        let results = path.insert(s, &[again]).await;
        match &results[0] {
            Ok(InsertOutcome::Duplicate(m)) => assert_eq!(m, &original, "{path:?}"),
            other => panic!("{path:?}: {other:?}"),
        }
        let results = path
            .insert(
                s,
                &[
                    message(channel, bob, "k"),
                    message(other, ann, "k"),
                    message(channel, ann, "twice"),
                    message(channel, ann, "twice"),
                ],
            )
            .await;
        assert_eq!(
            describe_all(&results),
            ["stored k 2", "stored k 1", "stored twice 3", "dup twice 3"],
            "{path:?}"
        );
        let (Ok(InsertOutcome::Stored(first)), Ok(InsertOutcome::Duplicate(second))) =
            (&results[2], &results[3])
        else {
            unreachable!()
        };
        assert_eq!(first, second);
        assert_eq!(s.head_seq(channel).await.unwrap(), Seq::new(3), "{path:?}");
    }
}

/// A message to a channel that does not exist is refused alone; the rest
/// of its batch is stored without a gap.
pub(super) async fn insert_into_missing_channel_is_refused(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let user = add_user(s, 1, "ann").await;
    for (n, path) in Path::ALL.into_iter().enumerate() {
        let channel = add_channel(s, 10 + n as u128, "c", &[user]).await;
        let missing = channel_id(99);
        let results = path
            .insert(
                s,
                &[
                    message(channel, user, "a"),
                    message(missing, user, "b"),
                    message(channel, user, "c"),
                ],
            )
            .await;
        assert_eq!(
            describe_all(&results),
            ["stored a 1", "not member", "stored c 2"],
            "{path:?}"
        );
        assert_eq!(s.head_seq(missing).await.unwrap(), Seq::ZERO);
        assert_eq!(
            s.membership(missing, user).await.unwrap(),
            Membership::NoChannel
        );
    }
}

/// A sender without access, with revoked access or unknown altogether is
/// refused; nothing of theirs is stored and no seq is used up.
pub(super) async fn insert_by_non_member_or_revoked_member_is_refused(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let member = add_user(s, 1, "member").await;
    let outsider = add_user(s, 2, "outsider").await;
    let revoked = add_user(s, 3, "revoked").await;
    let unknown = user_id(99);
    for (n, path) in Path::ALL.into_iter().enumerate() {
        let channel = add_channel(s, 10 + n as u128, "c", &[member, revoked]).await;
        s.set_access(channel, revoked, false).await.unwrap();
        let results = path
            .insert(
                s,
                &[
                    message(channel, outsider, "o"),
                    message(channel, member, "m1"),
                    message(channel, revoked, "r"),
                    message(channel, unknown, "u"),
                    message(channel, member, "m2"),
                ],
            )
            .await;
        assert_eq!(
            describe_all(&results),
            [
                "not member",
                "stored m1 1",
                "not member",
                "not member",
                "stored m2 2"
            ],
            "{path:?}"
        );
        assert_eq!(
            page(s, channel, HistoryCursor::Latest, 10).await,
            (vec![1, 2], false)
        );
    }
}

/// A message stamped before its channel's newest is stored at the
/// newest's time (time order follows seq order even if a clock steps
/// back); later stamps are kept.
pub(super) async fn insert_times_never_go_back(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let user = add_user(s, 1, "ann").await;
    let t = Utc::now();
    for (n, path) in Path::ALL.into_iter().enumerate() {
        let channel = add_channel(s, 10 + n as u128, "c", &[user]).await;
        let first = stored(&path.insert(s, &[message_at(channel, user, "a", t)]).await[0]);
        let results = path
            .insert(
                s,
                &[
                    message_at(channel, user, "b", t - Duration::hours(1)),
                    message_at(channel, user, "c", t + Duration::seconds(1)),
                    message_at(channel, user, "d", t),
                ],
            )
            .await;
        let times: Vec<_> = results.iter().map(|r| stored(r).created_at).collect();
        let later: Timestamp = (t + Duration::seconds(1)).into();
        assert_eq!(times, [first.created_at, later, later], "{path:?}");
        let history = s.history(channel, HistoryCursor::Latest, 10).await.unwrap();
        let read: Vec<_> = history.messages.iter().map(|m| m.created_at).collect();
        assert_eq!(
            read,
            [first.created_at, first.created_at, later, later],
            "{path:?}"
        );
        // A later batch still starts from the newest time.
        let last = stored(&path.insert(s, &[message_at(channel, user, "e", t)]).await[0]);
        assert_eq!(last.created_at, later, "{path:?}");
    }
}

/// An empty batch is an empty answer on every path.
pub(super) async fn insert_empty_batch(b: &impl Backend) {
    let store = b.store();
    for path in Path::ALL {
        assert!(
            path.insert(store.as_ref(), &[]).await.is_empty(),
            "{path:?}"
        );
    }
}

/// A message the database refuses (here: its id is taken) fails the fast
/// path as a whole, storing nothing; the careful path, and so
/// `insert_messages`, fails it alone and stores the rest without a gap.
pub(super) async fn one_bad_message_fails_alone(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let user = add_user(s, 1, "ann").await;
    let taken = send(s, message(add_channel(s, 9, "c", &[user]).await, user, "x")).await;
    for (n, path) in Path::ALL.into_iter().enumerate() {
        let channel = add_channel(s, 10 + n as u128, "c", &[user]).await;
        let mut bad = message(channel, user, "bad");
        bad.id = taken.id;
        let batch = [
            message(channel, user, "a"),
            bad,
            message(channel, user, "c"),
        ];
        match path {
            Path::Fast => {
                let failed = s.insert_batch_fast(&batch).await;
                assert!(failed.is_err(), "{failed:?}");
                assert_eq!(
                    s.head_seq(channel).await.unwrap(),
                    Seq::ZERO,
                    "nothing stored"
                );
            }
            Path::Careful | Path::Either => {
                let results = path.insert(s, &batch).await;
                assert_eq!(
                    describe_all(&results),
                    ["stored a 1", "database error", "stored c 2"],
                    "{path:?}"
                );
                let (seqs, _) = page(s, channel, HistoryCursor::Latest, 10).await;
                assert_eq!(seqs, vec![1, 2], "{path:?}");
            }
        }
    }
}

/// What the tricky batch of [`batch_outcomes`] must give, message by
/// message, on either path.
const EXPECTED: [&str; 8] = [
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
/// revoked, and a message stamped earlier than its channel's last one (it
/// must not go back in time).
async fn batch_outcomes(store: &dyn Store, careful: bool) -> Vec<String> {
    let (one, two) = (channel_id(1), channel_id(3));
    let user = add_user(store, 2, "u").await;
    let revoked = add_user(store, 4, "r").await;
    add_channel(store, 1, "c", &[user, revoked]).await;
    add_channel(store, 3, "c", &[user]).await;
    store.set_access(one, revoked, false).await.unwrap();
    let now = Utc::now();
    let message_from = |user_id, channel_id, key: &str, seconds_ago: i64| {
        message_at(
            channel_id,
            user_id,
            key,
            now - Duration::seconds(seconds_ago),
        )
    };
    let message =
        |channel_id, key: &str, seconds_ago| message_from(user, channel_id, key, seconds_ago);
    let batch = [
        message(one, "a", 0),
        message(one, "b", 0),
        message(one, "a", 0),
        message(channel_id(99), "c", 0),
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
    for r in &results {
        if let Ok(InsertOutcome::Stored(m)) = r {
            if m.channel_id == one {
                assert!(Some(m.created_at) >= last_time, "time went back: {m:?}");
                last_time = Some(m.created_at);
            }
        }
    }
    // What was answered is what was stored.
    let page = store.history(one, HistoryCursor::Latest, 10).await.unwrap();
    let answered: Vec<_> = results
        .iter()
        .filter_map(|r| match r {
            Ok(InsertOutcome::Stored(m)) if m.channel_id == one => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(page.messages, answered);
    describe_all(&results)
}

/// The fast and the careful batch paths agree, message by message, each
/// on a fresh database.
pub(super) async fn fast_and_careful_batches_agree<B: Backend>(b: &B) {
    let fast = batch_outcomes(b.store().as_ref(), false).await;
    assert_eq!(fast, EXPECTED, "fast path");
    let other = B::fresh().await.expect("a second fresh database");
    let careful = batch_outcomes(other.store().as_ref(), true).await;
    assert_eq!(careful, EXPECTED, "careful path");
}

/// Writers racing on two store objects over one database (two servers)
/// on both paths: every channel's seqs are 1, 2, 3 ... with no gap and no
/// repeat, in time order, and each batch's seqs rise in batch order.
pub(super) async fn seqs_are_gap_free_under_concurrent_writers(b: &impl Backend) {
    const WRITERS: usize = 6;
    const BATCHES: usize = 8;
    const SIZE: usize = 5;
    let stores = [b.store(), b.another().await];
    let s = stores[0].as_ref();
    let user = add_user(s, 1, "ann").await;
    let channels = [
        add_channel(s, 10, "a", &[user]).await,
        add_channel(s, 11, "b", &[user]).await,
    ];
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = stores[w % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..BATCHES {
                let batch: Vec<NewMessage> = (0..SIZE)
                    // Every batch meets the channels in the same order, as
                    // the careful path locks them one by one.
                    .map(|j| message(channels[j % 2], user, &format!("w{w}-{i}-{j}")))
                    .collect();
                let results = if i % 2 == 0 {
                    store.insert_messages(&batch).await
                } else {
                    store.insert_batch_carefully(&batch).await
                };
                let mut last = BTreeMap::new();
                for r in &results {
                    let m = stored(r);
                    let previous = last.insert(m.channel_id, m.seq);
                    assert!(previous < Some(m.seq), "seqs rise within a batch");
                    got.push(m);
                }
            }
            got
        }));
    }
    let mut by_channel: BTreeMap<ChannelId, Vec<i64>> = BTreeMap::new();
    for task in tasks {
        for m in task.await.unwrap() {
            by_channel
                .entry(m.channel_id)
                .or_default()
                .push(m.seq.get());
        }
    }
    let total: usize = by_channel.values().map(Vec::len).sum();
    assert_eq!(total, WRITERS * BATCHES * SIZE);
    for channel in channels {
        let mut seqs = by_channel.remove(&channel).unwrap_or_default();
        seqs.sort_unstable();
        let n = seqs.len() as i64;
        assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "gap-free, no repeat");
        assert_eq!(s.head_seq(channel).await.unwrap(), Seq::new(n));
        let history = s
            .history(channel, HistoryCursor::AfterSeq(Seq::ZERO), 1000)
            .await
            .unwrap();
        assert_eq!(
            seqs,
            history
                .messages
                .iter()
                .map(|m| m.seq.get())
                .collect::<Vec<_>>()
        );
        assert!(
            history
                .messages
                .windows(2)
                .all(|w| w[0].created_at <= w[1].created_at),
            "time order follows seq order"
        );
    }
}

/// The same keys sent at once through two store objects (two servers) on
/// both paths are stored once each: every answer for a key is the one
/// stored message.
pub(super) async fn racing_duplicate_keys_are_stored_once(b: &impl Backend) {
    const KEYS: usize = 10;
    let stores = [b.store(), b.another().await];
    let s = stores[0].as_ref();
    let user = add_user(s, 1, "ann").await;
    let channel = add_channel(s, 10, "c", &[user]).await;
    let mut tasks = Vec::new();
    for w in 0..6 {
        let store = stores[w % 2].clone();
        tasks.push(tokio::spawn(async move {
            let batch: Vec<NewMessage> = (0..KEYS)
                .map(|k| message(channel, user, &format!("k{k}")))
                .collect();
            let mut answers = Vec::new();
            for chunk in batch.chunks(3) {
                let results = if w / 2 == 0 {
                    store.insert_batch_carefully(chunk).await
                } else {
                    store.insert_messages(chunk).await
                };
                for r in results {
                    answers.push(match r {
                        Ok(InsertOutcome::Stored(m) | InsertOutcome::Duplicate(m)) => m,
                        Err(e) => panic!("refused: {e}"),
                    });
                }
            }
            answers
        }));
    }
    let mut by_key = BTreeMap::new();
    for task in tasks {
        for m in task.await.unwrap() {
            let first = by_key
                .entry(m.client_id.clone())
                .or_insert_with(|| m.clone());
            assert_eq!(first, &m, "one message per key");
        }
    }
    let history = s
        .history(channel, HistoryCursor::AfterSeq(Seq::ZERO), 100)
        .await
        .unwrap();
    assert_eq!(history.messages.len(), KEYS);
    assert_eq!(s.head_seq(channel).await.unwrap(), Seq::new(KEYS as i64));
    let answered: Vec<Message> = by_key.into_values().collect();
    let mut stored = history.messages;
    stored.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    assert_eq!(answered, stored);
}

// Read cursors.

/// A reader and a writer in one channel with `n` messages by the writer.
async fn reading(s: &dyn Store, n: usize) -> (ChannelId, UserId, UserId) {
    let reader = add_user(s, 1, "reader").await;
    let writer = add_user(s, 2, "writer").await;
    let channel = add_channel(s, 10, "c", &[reader, writer]).await;
    send_n(s, channel, writer, "k", n).await;
    (channel, reader, writer)
}

/// The read cursor of the reader as the channel list shows it.
async fn cursor_of(s: &dyn Store, reader: UserId) -> (Seq, i64) {
    let row = s.channels_for(reader).await.unwrap().remove(0);
    (row.last_read_seq, row.unread_count)
}

/// Without a seq the cursor moves to the head (0 in an empty channel).
pub(super) async fn mark_read_defaults_to_the_head(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let (channel, reader, writer) = reading(s, 3).await;
    assert_eq!(
        s.mark_read(reader, channel, None).await.unwrap(),
        Seq::new(3)
    );
    assert_eq!(cursor_of(s, reader).await, (Seq::new(3), 0));
    send_n(s, channel, writer, "more", 2).await;
    assert_eq!(cursor_of(s, reader).await, (Seq::new(3), 2));
    assert_eq!(
        s.mark_read(reader, channel, None).await.unwrap(),
        Seq::new(5)
    );
    let empty = add_channel(s, 11, "empty", &[reader]).await;
    assert_eq!(s.mark_read(reader, empty, None).await.unwrap(), Seq::ZERO);
}

/// A cursor never moves back: an earlier seq leaves it where it is and
/// the call answers where that is.
pub(super) async fn mark_read_never_moves_backwards(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let (channel, reader, _) = reading(s, 5).await;
    assert_eq!(
        s.mark_read(reader, channel, Some(Seq::new(4)))
            .await
            .unwrap(),
        Seq::new(4)
    );
    assert_eq!(
        s.mark_read(reader, channel, Some(Seq::new(2)))
            .await
            .unwrap(),
        Seq::new(4)
    );
    assert_eq!(
        s.mark_read(reader, channel, Some(Seq::ZERO)).await.unwrap(),
        Seq::new(4)
    );
    assert_eq!(cursor_of(s, reader).await, (Seq::new(4), 1));
}

/// A cursor never passes the head: a seq beyond it stops at the head,
/// so messages sent later are unread.
pub(super) async fn mark_read_never_passes_the_head(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let (channel, reader, writer) = reading(s, 5).await;
    assert_eq!(
        s.mark_read(reader, channel, Some(Seq::new(9)))
            .await
            .unwrap(),
        Seq::new(5)
    );
    assert_eq!(
        s.mark_read(reader, channel, Some(Seq::new(i64::MAX)))
            .await
            .unwrap(),
        Seq::new(5)
    );
    send_n(s, channel, writer, "more", 2).await;
    assert_eq!(cursor_of(s, reader).await, (Seq::new(5), 2));
}

/// A negative seq is refused by the caller (`server::chat::read`, checked
/// by the API tests); should one reach the store it still never makes a
/// cursor negative or move one back.
pub(super) async fn mark_read_never_goes_below_zero(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let (channel, reader, _) = reading(s, 3).await;
    assert_eq!(
        s.mark_read(reader, channel, Some(Seq::new(-3)))
            .await
            .unwrap(),
        Seq::ZERO
    );
    assert_eq!(cursor_of(s, reader).await, (Seq::ZERO, 3));
    s.mark_read(reader, channel, Some(Seq::new(2)))
        .await
        .unwrap();
    assert_eq!(
        s.mark_read(reader, channel, Some(Seq::new(-1)))
            .await
            .unwrap(),
        Seq::new(2)
    );
}

/// Marking a channel that does not exist fails and stores nothing (the
/// caller checks membership first).
pub(super) async fn mark_read_on_missing_channel_fails(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let reader = add_user(s, 1, "reader").await;
    assert!(s.mark_read(reader, channel_id(99), None).await.is_err());
    assert!(s
        .mark_read(reader, channel_id(99), Some(Seq::new(1)))
        .await
        .is_err());
    assert!(s.unread_for(reader).await.unwrap().is_empty());
}

/// Unread counts (summary and channel list) are exact: other people's live
/// messages after the read cursor, never the reader's own, never deleted
/// ones.
pub(super) async fn unread_is_exact(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let reader = add_user(s, 11, "reader").await;
    let writer = add_user(s, 12, "writer").await;
    let channel = add_channel(s, 10, "c", &[reader, writer]).await;
    // Seqs 1-5 by the writer, 6-7 by the reader, 8-10 by the writer.
    let senders = [[writer; 5].as_slice(), &[reader; 2], &[writer; 3]].concat();
    let batch: Vec<NewMessage> = senders
        .iter()
        .enumerate()
        .map(|(i, &user)| message(channel, user, &format!("k{i}")))
        .collect();
    for r in s.insert_messages(&batch).await {
        r.unwrap();
    }
    let counts = || async {
        let summary = s.unread_for(reader).await.unwrap();
        let listed = s.channels_for(reader).await.unwrap();
        let from_list = listed[0].unread_count;
        let from_summary = summary.first().map_or(0, |e| e.unread_count);
        assert_eq!(from_list, from_summary, "list and summary disagree");
        assert_eq!(summary.len(), usize::from(from_summary > 0));
        from_summary
    };
    assert_eq!(counts().await, 8, "all of the writer's");
    s.mark_read(reader, channel, Some(Seq::new(3)))
        .await
        .unwrap();
    assert_eq!(counts().await, 5, "4, 5, 8, 9, 10");
    b.soft_delete(channel, Seq::new(9)).await;
    b.soft_delete(channel, Seq::new(6)).await;
    assert_eq!(counts().await, 4, "4, 5, 8, 10");
    assert_eq!(
        s.unread_for(writer).await.unwrap()[0].unread_count,
        1,
        "7 (6 is deleted)"
    );
    s.mark_read(reader, channel, None).await.unwrap();
    assert_eq!(counts().await, 0);
}

/// The unread summary lists exactly the user's channels with unread
/// messages, in channel id order.
pub(super) async fn unread_for_lists_channels_with_unread_messages(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let reader = add_user(s, 1, "reader").await;
    let writer = add_user(s, 2, "writer").await;
    let both = [reader, writer];
    let third = add_channel(s, 13, "c3", &both).await;
    let first = add_channel(s, 11, "c1", &both).await;
    add_channel(s, 12, "c2", &both).await;
    let revoked = add_channel(s, 14, "c4", &both).await;
    send_n(s, first, writer, "a", 2).await;
    send_n(s, third, writer, "b", 1).await;
    send_n(s, third, reader, "c", 1).await;
    send_n(s, revoked, writer, "d", 1).await;
    s.set_access(revoked, reader, false).await.unwrap();
    let summary = |user| async move {
        s.unread_for(user)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.channel_id, e.unread_count))
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(reader).await, vec![(first, 2), (third, 1)]);
    s.mark_read(reader, first, None).await.unwrap();
    assert_eq!(summary(reader).await, vec![(third, 1)]);
    assert_eq!(summary(writer).await, vec![(third, 1)]);
    assert_eq!(summary(user_id(99)).await, vec![]);
}

// Flags and health.

/// A flag reads back what was last written; unknown flags are `None`.
pub(super) async fn meta_get_and_set(b: &impl Backend) {
    let store = b.store();
    assert_eq!(store.get_meta("seeded").await.unwrap(), None);
    store.set_meta("seeded", "v1").await.unwrap();
    assert_eq!(
        store.get_meta("seeded").await.unwrap().as_deref(),
        Some("v1")
    );
    store.set_meta("seeded", "v2").await.unwrap();
    store.set_meta("empty", "").await.unwrap();
    assert_eq!(
        store.get_meta("seeded").await.unwrap().as_deref(),
        Some("v2")
    );
    assert_eq!(store.get_meta("empty").await.unwrap().as_deref(), Some(""));
    assert_eq!(store.get_meta("other").await.unwrap(), None);
    let again = b.another().await;
    assert_eq!(
        again.get_meta("seeded").await.unwrap().as_deref(),
        Some("v2"),
        "stored"
    );
}

/// The health query answers.
pub(super) async fn ping_answers(b: &impl Backend) {
    b.store().ping().await.unwrap();
}
