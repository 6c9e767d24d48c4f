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
//! objects), read cursors, unread counts, flags and the health query; and
//! changes to messages ([`super::ChangeStore`]): gap-free revs in apply
//! order (also with concurrent changers on two store objects), every
//! refusal and no-op writing nothing, edit histories, tombstones and hard
//! deletes, reaction summaries and reactors, the limits, changes by rev,
//! pins, "seen by", read receipts, messages by id, quotes, the page around
//! a seq, a refusal alone in its batch, and rows deleted outside the chat.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::{
    Actor, Change, ChangeKind, ChangeLimits, ChangeOutcome, ChangeRefused, ChangeResult,
    HistoryCursor, InsertOutcome, Membership, NewMessage, ReplyThread, Store, StoreError,
    StoreResult, Timeline, UserRecord,
};
use crate::protocol::{
    ChannelId, HistoryPage, Message, MessageEdit, MessageId, Pin, Quote, Rev, Seq, Timestamp,
    UserId,
};

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
    /// Marks a message deleted outside the chat (`deleted_at` set, its rev
    /// left alone), as the seed's host app did.
    async fn soft_delete(&self, channel: ChannelId, seq: Seq);
    /// A message's stored `text` column, whatever the message shows (a
    /// tombstone shows `""` but may keep its text).
    async fn stored_text(&self, id: MessageId) -> String;
    /// Empties the search index as if every message had been stored
    /// before search existed (what the search migration leaves).
    async fn forget_search(&self);
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
            changes_take_the_channels_next_rev_in_order,
            head_rev_of_missing_new_and_changed_channels,
            refused_and_unchanged_changes_take_no_rev_and_write_nothing,
            edits_keep_each_earlier_text_oldest_first,
            a_soft_delete_leaves_a_tombstone_in_place,
            a_hard_delete_wipes_the_text_and_the_edits,
            reaction_summaries_count_all_and_list_the_first_fifty,
            change_limits_count_distinct_emoji_and_pins,
            changed_after_gives_current_states_by_rev,
            pins_list_the_newest_pin_first,
            reads_list_every_active_member_with_their_cursor,
            read_receipts_are_on_until_turned_off,
            message_by_id_is_found_only_in_its_channel,
            quotes_show_the_original_as_it_is_now,
            history_around_seq_pages_both_ways,
            a_refused_change_fails_alone_in_its_batch,
            rows_deleted_outside_the_chat_stay_hidden_and_unchangeable,
            revs_are_gap_free_under_concurrent_changers,
            search_finds_every_word_whole_newest_first_in_my_channels,
            search_pages_walk_every_hit_once,
            search_follows_edits_deletes_and_access,
            search_takes_operators_as_plain_words,
            search_index_takes_in_older_messages,
            search_index_flush_moves_pending_entries,
            search_indexes_what_changed_before_it_caught_up,
            search_index_is_shared_by_two_servers,
            search_across_many_channels,
            threads_replies_take_the_seq_and_change_the_parent,
            threads_refuse_bad_parents_alone,
            threads_read_state_counts_others_replies,
            threads_page_both_ways,
            mentions_are_kept_and_counted_until_read,
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
        thread: None,
        mentions: Vec::new(),
        attachments: Vec::new(),
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
        Ok(InsertOutcome::Stored(stored, _)) => stored,
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
        Ok(InsertOutcome::Stored(m, _)) => format!("stored {} {}", m.client_id, m.seq),
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
        Ok(InsertOutcome::Stored(m, _)) => m.clone(),
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
        let (Ok(InsertOutcome::Stored(first, _)), Ok(InsertOutcome::Duplicate(second))) =
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
        if let Ok(InsertOutcome::Stored(m, _)) = r {
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
            Ok(InsertOutcome::Stored(m, _)) if m.channel_id == one => Some(m.clone()),
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
                        Ok(InsertOutcome::Stored(m, _) | InsertOutcome::Duplicate(m)) => m,
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

// Changes to messages.

/// Limits loose enough never to refuse (the defaults of `Limits`).
const LIMITS: ChangeLimits = ChangeLimits {
    max_reactions_per_message: 20,
    max_pins_per_channel: 50,
};

/// The emoji the change tests react with (stored forms).
const EMOJI: [&str; 3] = ["👍", "🎉", "😂"];

/// A change stamped now.
fn change(channel: ChannelId, id: MessageId, actor: Actor, kind: ChangeKind) -> Change {
    change_at(channel, id, actor, kind, Utc::now())
}

/// A change stamped `at`.
fn change_at(
    channel: ChannelId,
    id: MessageId,
    actor: Actor,
    kind: ChangeKind,
    at: DateTime<Utc>,
) -> Change {
    Change {
        channel_id: channel,
        message_id: id,
        actor,
        kind,
        at,
    }
}

fn edit(text: &str) -> ChangeKind {
    ChangeKind::Edit {
        text: text.into(),
        if_rev: None,
        mentions: None,
    }
}

fn edit_if(text: &str, rev: i64) -> ChangeKind {
    ChangeKind::Edit {
        text: text.into(),
        if_rev: Some(Rev::new(rev)),
        mentions: None,
    }
}

fn add(emoji: &str) -> ChangeKind {
    ChangeKind::ReactionAdd {
        emoji: emoji.into(),
    }
}

fn remove(emoji: &str) -> ChangeKind {
    ChangeKind::ReactionRemove {
        emoji: emoji.into(),
    }
}

const SOFT: ChangeKind = ChangeKind::Delete { hard: false };
const HARD: ChangeKind = ChangeKind::Delete { hard: true };

/// Applies one change alone; a database failure fails the test.
async fn apply_with(s: &dyn Store, c: Change, limits: ChangeLimits) -> ChangeResult {
    let mut results = s.apply_changes(std::slice::from_ref(&c), limits).await;
    assert_eq!(results.len(), 1);
    results
        .remove(0)
        .unwrap_or_else(|e| panic!("{c:?} failed in the database: {e}"))
}

/// A change that must be stored with a new rev: the message after it.
async fn changed(s: &dyn Store, c: Change) -> Message {
    match apply_with(s, c.clone(), LIMITS).await {
        Ok(ChangeOutcome::Changed(m, _)) => m,
        other => panic!("{c:?} was not applied: {other:?}"),
    }
}

/// An outcome in a word or two, for comparing whole batches.
fn outcome(result: &StoreResult<ChangeResult>) -> String {
    match result {
        Ok(Ok(ChangeOutcome::Changed(m, _))) => format!("rev {}", m.rev),
        Ok(Ok(ChangeOutcome::Unchanged(m))) => format!("unchanged at {}", m.rev),
        Ok(Err(refused)) => format!("{refused:?}"),
        Err(e) => format!("error {e}"),
    }
}

/// Two members, ann and bob, in a channel with `n` messages by ann.
struct Changing {
    channel: ChannelId,
    ann: Actor,
    bob: Actor,
    sent: Vec<Message>,
}

impl Changing {
    /// A change of the `i`th message.
    fn of(&self, i: usize, actor: Actor, kind: ChangeKind) -> Change {
        change(self.channel, self.sent[i].id, actor, kind)
    }
}

async fn changing(s: &dyn Store, n: usize) -> Changing {
    let ann = add_user(s, 1, "ann").await;
    let bob = add_user(s, 2, "bob").await;
    let channel = add_channel(s, 10, "c", &[ann, bob]).await;
    let sent = send_n(s, channel, ann, "k", n).await;
    Changing {
        channel,
        ann: Actor::Member(ann),
        bob: Actor::Member(bob),
        sent,
    }
}

fn user_of(actor: Actor) -> UserId {
    match actor {
        Actor::Member(user) => user,
        Actor::HostApp => panic!("the host app is no user"),
    }
}

/// Everything the store shows of a channel's changes, to tell that a
/// change wrote nothing.
#[derive(Debug, PartialEq)]
struct Shown {
    head_rev: Rev,
    history: Vec<Message>,
    changed: Vec<Message>,
    pins: Vec<Message>,
    edits: Vec<Vec<MessageEdit>>,
    reactors: Vec<Vec<UserId>>,
}

async fn shown(s: &dyn Store, channel: ChannelId) -> Shown {
    let history = s
        .history(channel, HistoryCursor::AfterSeq(Seq::ZERO), 1000)
        .await
        .unwrap()
        .messages;
    let mut edits = Vec::new();
    let mut reactors = Vec::new();
    for m in &history {
        edits.push(s.edits(m.id).await.unwrap());
        for emoji in EMOJI {
            reactors.push(s.reactors(m.id, emoji, 1000).await.unwrap());
        }
    }
    Shown {
        head_rev: s.head_rev(channel).await.unwrap(),
        changed: s.changed_after(channel, Rev::ZERO, 1000).await.unwrap(),
        pins: s.pins(channel, 1000).await.unwrap(),
        history,
        edits,
        reactors,
    }
}

fn revs(messages: &[Message]) -> Vec<i64> {
    messages.iter().map(|m| m.rev.get()).collect()
}

/// Every applied change takes its channel's next rev: 1, 2, 3 per channel,
/// no gap, in the order applied (within a batch too, across channels); the
/// message carries it, and history, `changed_after`, the head and the
/// channel list agree.
pub(super) async fn changes_take_the_channels_next_rev_in_order(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let f = changing(s, 3).await;
    let other = add_channel(s, 11, "d", &[user_of(f.ann), user_of(f.bob)]).await;
    let elsewhere = send(s, message(other, user_of(f.bob), "e")).await;
    assert_eq!(s.head_rev(f.channel).await.unwrap(), Rev::ZERO);

    assert_eq!(
        changed(s, f.of(0, f.ann, edit("one"))).await.rev,
        Rev::new(1)
    );
    assert_eq!(changed(s, f.of(1, f.bob, add("👍"))).await.rev, Rev::new(2));
    assert_eq!(
        changed(s, f.of(2, f.bob, ChangeKind::Pin)).await.rev,
        Rev::new(3)
    );
    let in_other = change(other, elsewhere.id, f.ann, add("🎉"));
    assert_eq!(changed(s, in_other).await.rev, Rev::new(1), "its own count");
    assert_eq!(s.head_rev(f.channel).await.unwrap(), Rev::new(3));

    let batch = [
        f.of(1, f.ann, edit("two")),
        change(other, elsewhere.id, f.bob, add("🎉")),
        f.of(2, f.ann, ChangeKind::Unpin),
        f.of(0, f.ann, SOFT),
        change(other, elsewhere.id, f.bob, ChangeKind::Pin),
    ];
    let results = s.apply_changes(&batch, LIMITS).await;
    assert_eq!(
        results.iter().map(outcome).collect::<Vec<_>>(),
        ["rev 4", "rev 2", "rev 5", "rev 6", "rev 3"]
    );
    assert_eq!(s.head_rev(f.channel).await.unwrap(), Rev::new(6));
    assert_eq!(s.head_rev(other).await.unwrap(), Rev::new(3));

    let history = s
        .history(f.channel, HistoryCursor::Latest, 10)
        .await
        .unwrap();
    assert_eq!(revs(&history.messages), [6, 4, 5]);
    let changed_now = s.changed_after(f.channel, Rev::ZERO, 10).await.unwrap();
    assert_eq!(revs(&changed_now), [4, 5, 6]);
    let ann = user_of(f.ann);
    assert_eq!(
        s.membership(f.channel, ann).await.unwrap(),
        Membership::Member {
            head_seq: Seq::new(3),
            head_rev: Rev::new(6)
        }
    );
    let list = s.channels_for(ann).await.unwrap();
    let row = list.iter().find(|c| c.id == f.channel).unwrap();
    assert_eq!(row.head_rev, Rev::new(6));
    let row = list.iter().find(|c| c.id == other).unwrap();
    assert_eq!(row.head_rev, Rev::new(3));
}

/// The head rev is 0 for a missing channel and for one nothing changed in
/// yet (messages alone take no rev), else the rev of the latest change.
pub(super) async fn head_rev_of_missing_new_and_changed_channels(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    assert_eq!(s.head_rev(channel_id(99)).await.unwrap(), Rev::ZERO);
    let f = changing(s, 2).await;
    assert_eq!(s.head_rev(f.channel).await.unwrap(), Rev::ZERO);
    changed(s, f.of(0, f.bob, add("👍"))).await;
    changed(s, f.of(0, f.bob, remove("👍"))).await;
    assert_eq!(s.head_rev(f.channel).await.unwrap(), Rev::new(2));
    send_n(s, f.channel, user_of(f.bob), "more", 2).await;
    assert_eq!(s.head_rev(f.channel).await.unwrap(), Rev::new(2), "sends");
}

/// A refused change (every refusal) and a change that changes nothing (a
/// repeated reaction, pin or delete, a removal of what is not there, an
/// edit to the same text) take no rev and write nothing, alone or in a
/// batch; the latter answers the current state.
pub(super) async fn refused_and_unchanged_changes_take_no_rev_and_write_nothing(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let f = changing(s, 3).await;
    let (ann, bob) = (f.ann, f.bob);
    let outsider = Actor::Member(add_user(s, 3, "eve").await);
    let revoked = add_user(s, 4, "rex").await;
    s.set_access(f.channel, revoked, true).await.unwrap();
    s.set_access(f.channel, revoked, false).await.unwrap();
    let revoked = Actor::Member(revoked);
    let other = add_channel(s, 11, "d", &[user_of(ann)]).await;
    changed(s, f.of(0, bob, add("👍"))).await;
    changed(s, f.of(0, bob, ChangeKind::Pin)).await;
    changed(s, f.of(2, ann, SOFT)).await;
    changed(s, f.of(1, ann, edit("x"))).await;
    let tight = ChangeLimits {
        max_reactions_per_message: 1,
        max_pins_per_channel: 1,
    };
    let unknown = MessageId::from_uuid(Uuid::from_u128(404));
    use ChangeRefused::*;
    let refusals = [
        (f.of(0, outsider, edit("y")), NotMember),
        (f.of(0, revoked, add("👍")), NotMember),
        (f.of(1, outsider, ChangeKind::Pin), NotMember),
        (change(f.channel, unknown, ann, edit("y")), NotFound),
        (change(f.channel, unknown, bob, ChangeKind::Pin), NotFound),
        (change(other, f.sent[0].id, ann, edit("y")), NotFound),
        (change(channel_id(99), f.sent[0].id, ann, SOFT), NotFound),
        (f.of(0, bob, edit("y")), NotAuthor),
        (f.of(0, bob, SOFT), NotAuthor),
        (f.of(0, Actor::HostApp, edit("y")), NotAuthor),
        (f.of(2, ann, edit("y")), Deleted),
        (f.of(2, bob, add("🎉")), Deleted),
        (f.of(2, bob, ChangeKind::Pin), Deleted),
        (
            f.of(1, ann, edit_if("y", 3)),
            StaleRev {
                current: Rev::new(4),
            },
        ),
        (f.of(0, ann, add("🎉")), TooManyReactions),
        (f.of(1, ann, ChangeKind::Pin), TooManyPins),
    ];
    // The host app deletes but neither reacts nor pins (under limits that
    // would let anyone else do it).
    let host_refusals = [
        (f.of(0, Actor::HostApp, add("👍")), NotAuthor),
        (f.of(1, Actor::HostApp, ChangeKind::Pin), NotAuthor),
    ];
    let unchanged = [
        f.of(1, ann, edit("x")),
        f.of(1, ann, edit_if("x", 4)),
        f.of(0, bob, add("👍")),
        f.of(0, bob, remove("🎉")),
        f.of(0, ann, remove("👍")),
        f.of(0, ann, ChangeKind::Pin),
        f.of(1, bob, ChangeKind::Unpin),
        f.of(2, ann, SOFT),
        f.of(2, Actor::HostApp, SOFT),
        f.of(2, bob, remove("👍")),
        f.of(2, bob, ChangeKind::Unpin),
    ];
    let before = shown(s, f.channel).await;
    assert_eq!(before.head_rev, Rev::new(4));
    for (c, why) in &refusals {
        assert_eq!(
            apply_with(s, c.clone(), tight).await.err(),
            Some(*why),
            "{c:?}"
        );
        assert_eq!(shown(s, f.channel).await, before, "{c:?} wrote something");
    }
    for (c, why) in &host_refusals {
        assert_eq!(
            apply_with(s, c.clone(), LIMITS).await.err(),
            Some(*why),
            "{c:?}"
        );
        assert_eq!(shown(s, f.channel).await, before, "{c:?} wrote something");
    }
    for c in &unchanged {
        match apply_with(s, c.clone(), tight).await {
            Ok(ChangeOutcome::Unchanged(m)) => {
                assert_eq!(Some(m), s.message(f.channel, c.message_id).await.unwrap());
            }
            other => panic!("{c:?} changed something: {other:?}"),
        }
        assert_eq!(shown(s, f.channel).await, before, "{c:?} wrote something");
    }
    // All of them in one batch: the same answers, still nothing written.
    let batch: Vec<Change> = refusals
        .iter()
        .map(|(c, _)| c.clone())
        .chain(unchanged.iter().cloned())
        .collect();
    let results = s.apply_changes(&batch, tight).await;
    let expected: Vec<String> = refusals
        .iter()
        .map(|(_, why)| format!("{why:?}"))
        .chain(unchanged.iter().map(|_| "unchanged at".to_string()))
        .collect();
    let got: Vec<String> = results
        .iter()
        .map(|r| {
            let o = outcome(r);
            if o.starts_with("unchanged at") {
                "unchanged at".to_string()
            } else {
                o
            }
        })
        .collect();
    assert_eq!(got, expected);
    let batch: Vec<Change> = host_refusals.iter().map(|(c, _)| c.clone()).collect();
    let results = s.apply_changes(&batch, LIMITS).await;
    assert_eq!(
        results.iter().map(outcome).collect::<Vec<_>>(),
        ["NotAuthor", "NotAuthor"]
    );
    assert_eq!(shown(s, f.channel).await, before, "a batch wrote something");
    assert_eq!(shown(s, other).await.head_rev, Rev::ZERO);
}

/// An edit keeps the text it replaces: the edit history lists each earlier
/// text once, oldest first, with the rev and time of the edit that
/// replaced it; the message shows the newest text, when it was edited and
/// its rev; changes other than edits add nothing to the history, and
/// `ifRev` lets an edit through only at the rev given.
pub(super) async fn edits_keep_each_earlier_text_oldest_first(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let f = changing(s, 2).await;
    let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let at = |seconds| t + Duration::seconds(seconds);
    let edit_at = |text: &str, seconds, if_rev: Option<i64>| {
        change_at(
            f.channel,
            f.sent[0].id,
            f.ann,
            ChangeKind::Edit {
                text: text.into(),
                if_rev: if_rev.map(Rev::new),
                mentions: None,
            },
            at(seconds),
        )
    };
    let second = changed(s, edit_at("second", 1, None)).await;
    assert_eq!(
        (second.text.as_str(), second.rev, second.edited_at),
        ("second", Rev::new(1), Some(at(1).into()))
    );
    assert_eq!(second.updated_at, second.edited_at, "updated_at follows");
    changed(s, f.of(0, f.bob, add("👍"))).await;
    assert_eq!(
        apply_with(s, edit_at("third", 2, Some(1)), LIMITS)
            .await
            .err(),
        Some(ChangeRefused::StaleRev {
            current: Rev::new(2)
        })
    );
    let third = changed(s, edit_at("third", 3, Some(2))).await;
    assert_eq!(
        (third.rev, third.edited_at),
        (Rev::new(3), Some(at(3).into()))
    );
    assert_eq!(third.reactions.len(), 1, "reactions stay through an edit");

    let earlier = |text: &str, seconds, rev| MessageEdit {
        text: text.into(),
        edited_at: at(seconds).into(),
        rev: Rev::new(rev),
    };
    assert_eq!(
        s.edits(f.sent[0].id).await.unwrap(),
        [earlier("text of k0", 1, 1), earlier("second", 3, 3)]
    );
    assert!(
        s.edits(f.sent[1].id).await.unwrap().is_empty(),
        "never edited"
    );
    let unknown = MessageId::from_uuid(Uuid::from_u128(404));
    assert!(s.edits(unknown).await.unwrap().is_empty());
    let page = s
        .history(f.channel, HistoryCursor::Latest, 10)
        .await
        .unwrap();
    assert_eq!(page.messages[0], third);
    assert_eq!(page.messages[1], f.sent[1], "the other is untouched");
}

/// A soft delete leaves a tombstone in place: deleted, text `""`, no
/// reactions (their rows go too), quote or pin, the same seq, still in
/// history and by id, with a new rev; it no longer counts as unread. The
/// stored text and the edit history are kept.
pub(super) async fn a_soft_delete_leaves_a_tombstone_in_place(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let f = changing(s, 3).await;
    let reader = user_of(f.bob);
    let original = f.sent[0].clone();
    let mut reply = message(f.channel, user_of(f.ann), "reply");
    reply.reply_to = Some(Quote {
        id: original.id,
        seq: original.seq,
        user_id: original.user_id,
        preview: original.text.clone(),
        deleted: false,
    });
    let reply = send(s, reply).await;
    changed(s, f.of(1, f.ann, edit("edited"))).await;
    changed(s, f.of(1, f.bob, add("👍"))).await;
    changed(s, f.of(1, f.bob, ChangeKind::Pin)).await;
    assert_eq!(s.unread_count(reader, f.channel).await.unwrap(), 4);

    let reply_change = change(f.channel, reply.id, f.ann, SOFT);
    let gone = changed(s, reply_change).await;
    assert_eq!(gone.reply_to, None, "a tombstone quotes nothing");
    let tomb = changed(s, f.of(1, f.ann, SOFT)).await;
    assert!(tomb.deleted);
    assert_eq!(
        (tomb.seq, tomb.text.as_str(), tomb.rev),
        (Seq::new(2), "", Rev::new(5))
    );
    assert!(tomb.reactions.is_empty());
    assert_eq!(tomb.pinned, None);
    assert_eq!(tomb.reply_to, None);
    assert_eq!(
        s.message(f.channel, tomb.id).await.unwrap(),
        Some(tomb.clone())
    );
    let page = s
        .history(f.channel, HistoryCursor::Latest, 10)
        .await
        .unwrap();
    assert_eq!(seqs(&page), [1, 2, 3, 4]);
    assert_eq!(page.messages[1], tomb);
    assert_eq!(page.messages[3], gone);
    assert_eq!(
        s.history(f.channel, HistoryCursor::BeforeSeq(Seq::new(3)), 1)
            .await
            .unwrap()
            .messages,
        std::slice::from_ref(&tomb),
        "paging counts it"
    );
    assert!(s.reactors(tomb.id, "👍", 100).await.unwrap().is_empty());
    assert!(s.pins(f.channel, 100).await.unwrap().is_empty());
    assert_eq!(
        s.changed_after(f.channel, Rev::new(4), 10).await.unwrap(),
        std::slice::from_ref(&tomb)
    );

    assert_eq!(s.unread_count(reader, f.channel).await.unwrap(), 2);
    let summary = s.unread_for(reader).await.unwrap();
    assert_eq!(
        summary.iter().map(|e| e.unread_count).collect::<Vec<_>>(),
        [2]
    );
    let row = s.channels_for(reader).await.unwrap().remove(0);
    assert_eq!(row.unread_count, 2);
    s.mark_read(reader, f.channel, Some(Seq::new(1)))
        .await
        .unwrap();
    assert_eq!(s.unread_count(reader, f.channel).await.unwrap(), 1, "3");

    assert_eq!(b.stored_text(tomb.id).await, "edited", "kept");
    assert_eq!(s.edits(tomb.id).await.unwrap().len(), 1, "kept");
}

/// A hard delete (the host app's) also wipes the stored text and the edit
/// history, of a live message or of a tombstone; a second one changes
/// nothing.
pub(super) async fn a_hard_delete_wipes_the_text_and_the_edits(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let f = changing(s, 2).await;
    changed(s, f.of(0, f.ann, edit("once"))).await;
    changed(s, f.of(0, f.ann, edit("twice"))).await;
    let wiped = changed(s, f.of(0, Actor::HostApp, HARD)).await;
    assert!(wiped.deleted);
    assert_eq!((wiped.text.as_str(), wiped.rev), ("", Rev::new(3)));
    assert_eq!(b.stored_text(wiped.id).await, "");
    assert!(s.edits(wiped.id).await.unwrap().is_empty());
    match apply_with(s, f.of(0, Actor::HostApp, HARD), LIMITS).await {
        Ok(ChangeOutcome::Unchanged(m)) => assert_eq!(m, wiped),
        other => panic!("a second hard delete: {other:?}"),
    }

    changed(s, f.of(1, f.ann, edit("kept a while"))).await;
    let soft = changed(s, f.of(1, f.ann, SOFT)).await;
    assert_eq!(b.stored_text(soft.id).await, "kept a while");
    let hard = changed(s, f.of(1, Actor::HostApp, HARD)).await;
    assert_eq!(hard.rev, soft.rev.next(), "wiping a tombstone is a change");
    assert_eq!(b.stored_text(hard.id).await, "");
    assert!(s.edits(hard.id).await.unwrap().is_empty());
    assert_eq!(s.head_rev(f.channel).await.unwrap(), hard.rev);
}

/// A reaction summary lists each emoji in the order first used with its
/// count and its first 50 reactors by time: a 51st reactor is counted but
/// not listed, and comes in when one of the first 50 leaves; an emoji whose
/// last reactor leaves is gone, and comes back last. `reactors` lists
/// everyone by time, up to its limit.
pub(super) async fn reaction_summaries_count_all_and_list_the_first_fifty(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let f = changing(s, 1).await;
    let mut users = Vec::new();
    for n in 0..52u128 {
        let user = add_user(s, 100 + n, &format!("r{n}")).await;
        s.set_access(f.channel, user, true).await.unwrap();
        users.push(user);
    }
    let id = f.sent[0].id;
    let react = |user: UserId, kind: ChangeKind| change(f.channel, id, Actor::Member(user), kind);
    let batch: Vec<Change> = users.iter().map(|&u| react(u, add("👍"))).collect();
    let results = s.apply_changes(&batch, LIMITS).await;
    let expected: Vec<String> = (1..=52).map(|r| format!("rev {r}")).collect();
    assert_eq!(results.iter().map(outcome).collect::<Vec<_>>(), expected);

    let summary = |m: &Message| {
        m.reactions
            .iter()
            .map(|r| (r.emoji.clone(), r.count, r.user_ids.clone()))
            .collect::<Vec<_>>()
    };
    let now = s.message(f.channel, id).await.unwrap().unwrap();
    assert_eq!(summary(&now), [("👍".into(), 52, users[..50].to_vec())]);
    assert!(!now.reacted("👍", users[50]), "the 51st is not listed");
    assert_eq!(s.reactors(id, "👍", 1000).await.unwrap(), users);
    assert_eq!(s.reactors(id, "👍", 10).await.unwrap(), users[..10]);
    assert!(s.reactors(id, "🎉", 10).await.unwrap().is_empty());

    changed(s, react(users[0], add("🎉"))).await;
    changed(s, react(users[1], add("😂"))).await;
    let now = changed(s, react(users[2], add("🎉"))).await;
    let order: Vec<(&str, i64)> = now
        .reactions
        .iter()
        .map(|r| (r.emoji.as_str(), r.count))
        .collect();
    assert_eq!(order, [("👍", 52), ("🎉", 2), ("😂", 1)]);

    let now = changed(s, react(users[3], remove("👍"))).await;
    let listed: Vec<UserId> = users[..50]
        .iter()
        .chain(&users[50..51])
        .copied()
        .filter(|&u| u != users[3])
        .collect();
    assert_eq!(now.reactions[0].count, 51);
    assert_eq!(now.reactions[0].user_ids, listed, "the 51st came in");
    assert_eq!(s.reactors(id, "👍", 1000).await.unwrap().len(), 51);

    let now = changed(s, react(users[1], remove("😂"))).await;
    assert_eq!(now.reactions.len(), 2, "the last reactor left");
    let now = changed(s, react(users[1], add("😂"))).await;
    let order: Vec<&str> = now.reactions.iter().map(|r| r.emoji.as_str()).collect();
    assert_eq!(order, ["👍", "🎉", "😂"]);
    let page = s
        .history(f.channel, HistoryCursor::Latest, 1)
        .await
        .unwrap();
    assert_eq!(page.messages, [now], "history shows the same summary");
}

/// The limits are checked in the change's transaction: a new emoji beyond
/// the distinct-emoji limit and a pin beyond the pin limit are refused,
/// while more reactors of a listed emoji are not; freeing a slot (the last
/// reactor leaves, an unpin, a delete) lets the next one in.
pub(super) async fn change_limits_count_distinct_emoji_and_pins(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let f = changing(s, 4).await;
    let limits = ChangeLimits {
        max_reactions_per_message: 2,
        max_pins_per_channel: 2,
    };
    let ok = |c: Change| async move {
        match apply_with(s, c.clone(), limits).await {
            Ok(ChangeOutcome::Changed(m, _)) => m,
            other => panic!("{c:?}: {other:?}"),
        }
    };
    let no = |c: Change| async move { apply_with(s, c, limits).await.err() };
    use ChangeRefused::{TooManyPins, TooManyReactions};
    ok(f.of(0, f.bob, add("👍"))).await;
    ok(f.of(0, f.bob, add("🎉"))).await;
    let head = s.head_rev(f.channel).await.unwrap();
    assert_eq!(no(f.of(0, f.bob, add("😂"))).await, Some(TooManyReactions));
    assert_eq!(s.head_rev(f.channel).await.unwrap(), head);
    ok(f.of(0, f.ann, add("👍"))).await;
    ok(f.of(1, f.bob, add("😂"))).await;
    ok(f.of(0, f.bob, remove("🎉"))).await;
    ok(f.of(0, f.ann, add("😂"))).await;

    ok(f.of(0, f.bob, ChangeKind::Pin)).await;
    ok(f.of(1, f.bob, ChangeKind::Pin)).await;
    assert_eq!(no(f.of(2, f.bob, ChangeKind::Pin)).await, Some(TooManyPins));
    ok(f.of(0, f.ann, ChangeKind::Unpin)).await;
    ok(f.of(2, f.bob, ChangeKind::Pin)).await;
    assert_eq!(no(f.of(3, f.bob, ChangeKind::Pin)).await, Some(TooManyPins));
    ok(f.of(1, f.ann, SOFT)).await;
    ok(f.of(3, f.bob, ChangeKind::Pin)).await;
    let pinned: Vec<MessageId> = s
        .pins(f.channel, 10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(pinned, [f.sent[3].id, f.sent[2].id]);
}

/// `changed_after` gives each message changed after a rev once, in its
/// current state (as by id), ordered by the rev of its latest change, only
/// of its channel, never one that was not changed; paging by the last rev
/// of a page meets every one once.
pub(super) async fn changed_after_gives_current_states_by_rev(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let f = changing(s, 5).await;
    let other = add_channel(s, 11, "d", &[user_of(f.ann)]).await;
    let elsewhere = send(s, message(other, user_of(f.ann), "e")).await;
    changed(s, f.of(0, f.ann, edit("r1"))).await;
    changed(s, f.of(1, f.bob, add("👍"))).await;
    changed(s, change(other, elsewhere.id, f.ann, ChangeKind::Pin)).await;
    changed(s, f.of(2, f.bob, ChangeKind::Pin)).await;
    changed(s, f.of(0, f.ann, edit("r4"))).await;
    changed(s, f.of(3, f.ann, SOFT)).await;

    let now = |i: usize| {
        let id = f.sent[i].id;
        async move { s.message(f.channel, id).await.unwrap().unwrap() }
    };
    let all = s.changed_after(f.channel, Rev::ZERO, 100).await.unwrap();
    assert_eq!(
        all,
        [now(1).await, now(2).await, now(0).await, now(3).await]
    );
    assert_eq!(revs(&all), [2, 3, 4, 5]);
    assert_eq!(all[2].text, "r4", "the current state");
    assert_eq!(
        s.changed_after(f.channel, Rev::new(2), 100).await.unwrap(),
        all[1..]
    );
    assert_eq!(
        s.changed_after(f.channel, Rev::new(3), 2).await.unwrap(),
        all[2..4]
    );
    assert!(s
        .changed_after(f.channel, Rev::new(5), 100)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .changed_after(f.channel, Rev::new(50), 100)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .changed_after(channel_id(99), Rev::ZERO, 100)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.changed_after(other, Rev::ZERO, 100).await.unwrap().len(),
        1
    );

    let mut walked = Vec::new();
    let mut after = Rev::ZERO;
    loop {
        let page = s.changed_after(f.channel, after, 1).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.rev;
        walked.extend(page);
    }
    assert_eq!(walked, all);
}

/// The pins list shows pinned messages of its channel only, newest pin
/// first, each with who pinned it and when, up to its limit; an unpinned
/// or deleted message leaves it.
pub(super) async fn pins_list_the_newest_pin_first(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let f = changing(s, 4).await;
    let other = add_channel(s, 11, "d", &[user_of(f.ann)]).await;
    let elsewhere = send(s, message(other, user_of(f.ann), "e")).await;
    let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let pin = |i: usize, by: Actor, seconds| {
        change_at(
            f.channel,
            f.sent[i].id,
            by,
            ChangeKind::Pin,
            t + Duration::seconds(seconds),
        )
    };
    changed(s, pin(0, f.ann, 1)).await;
    changed(s, pin(2, f.bob, 2)).await;
    changed(s, pin(1, f.ann, 3)).await;
    changed(s, pin(3, f.bob, 4)).await;
    changed(s, change(other, elsewhere.id, f.ann, ChangeKind::Pin)).await;
    let ids = |pins: Vec<Message>| pins.iter().map(|m| m.seq.get()).collect::<Vec<_>>();
    assert_eq!(ids(s.pins(f.channel, 10).await.unwrap()), [4, 2, 3, 1]);
    assert_eq!(ids(s.pins(f.channel, 2).await.unwrap()), [4, 2]);
    let first = s.pins(f.channel, 10).await.unwrap().remove(1);
    assert_eq!(
        first.pinned,
        Some(Pin {
            by: user_of(f.ann),
            at: (t + Duration::seconds(3)).into()
        })
    );
    changed(s, f.of(2, f.ann, ChangeKind::Unpin)).await;
    changed(s, f.of(3, f.ann, SOFT)).await;
    assert_eq!(ids(s.pins(f.channel, 10).await.unwrap()), [2, 1]);
    assert_eq!(ids(s.pins(other, 10).await.unwrap()), [1]);
    assert!(s.pins(channel_id(99), 10).await.unwrap().is_empty());
}

/// "Seen by": every active member of the channel with their read cursor,
/// 0 for a member who never read; revoked members and members of other
/// channels are not listed.
pub(super) async fn reads_list_every_active_member_with_their_cursor(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let (channel, reader, writer) = reading(s, 3).await;
    let never = add_user(s, 3, "never").await;
    let revoked = add_user(s, 4, "revoked").await;
    let elsewhere = add_user(s, 5, "elsewhere").await;
    s.set_access(channel, never, true).await.unwrap();
    s.set_access(channel, revoked, true).await.unwrap();
    add_channel(s, 11, "d", &[elsewhere, reader]).await;
    s.mark_read(reader, channel, Some(Seq::new(2)))
        .await
        .unwrap();
    s.mark_read(revoked, channel, None).await.unwrap();
    s.set_access(channel, revoked, false).await.unwrap();
    let mut reads: Vec<(UserId, i64)> = s
        .reads(channel)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.user_id, r.last_read_seq.get()))
        .collect();
    reads.sort();
    let mut expected = vec![(reader, 2), (writer, 0), (never, 0)];
    expected.sort();
    assert_eq!(reads, expected);
    assert!(s.reads(channel_id(99)).await.unwrap().is_empty());
}

/// Read receipts are on for a new channel, and turn off and on again for
/// that channel alone (also as the channel list shows them).
pub(super) async fn read_receipts_are_on_until_turned_off(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let user = add_user(s, 1, "ann").await;
    let channel = add_channel(s, 10, "c", &[user]).await;
    let other = add_channel(s, 11, "d", &[user]).await;
    let listed = || async {
        let mut list: Vec<(ChannelId, bool)> = s
            .channels_for(user)
            .await
            .unwrap()
            .iter()
            .map(|c| (c.id, c.read_receipts))
            .collect();
        list.sort();
        list
    };
    assert!(s.read_receipts(channel).await.unwrap());
    assert_eq!(listed().await, [(channel, true), (other, true)]);
    s.set_read_receipts(channel, false).await.unwrap();
    assert!(!s.read_receipts(channel).await.unwrap());
    assert!(s.read_receipts(other).await.unwrap());
    assert_eq!(listed().await, [(channel, false), (other, true)]);
    s.set_read_receipts(channel, false).await.unwrap();
    assert!(!s.read_receipts(channel).await.unwrap());
    s.set_read_receipts(channel, true).await.unwrap();
    assert!(s.read_receipts(channel).await.unwrap());
    assert_eq!(listed().await, [(channel, true), (other, true)]);
}

/// A message is found by id only in its own channel (tombstones included,
/// rows deleted outside the chat not), exactly as history shows it.
pub(super) async fn message_by_id_is_found_only_in_its_channel(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let f = changing(s, 3).await;
    let other = add_channel(s, 11, "d", &[user_of(f.ann)]).await;
    let m = &f.sent[0];
    assert_eq!(s.message(f.channel, m.id).await.unwrap().as_ref(), Some(m));
    assert_eq!(s.message(other, m.id).await.unwrap(), None);
    assert_eq!(s.message(channel_id(99), m.id).await.unwrap(), None);
    let unknown = MessageId::from_uuid(Uuid::from_u128(404));
    assert_eq!(s.message(f.channel, unknown).await.unwrap(), None);
    let tomb = changed(s, f.of(1, f.ann, SOFT)).await;
    assert_eq!(s.message(f.channel, tomb.id).await.unwrap(), Some(tomb));
    b.soft_delete(f.channel, Seq::new(3)).await;
    assert_eq!(s.message(f.channel, f.sent[2].id).await.unwrap(), None);
}

/// A reply shows its original as it is now, wherever it is read: its seq,
/// author and first 140 characters (characters, not bytes), the new text
/// after an edit, `""` and deleted after a delete; none of it changes the
/// reply's own rev.
pub(super) async fn quotes_show_the_original_as_it_is_now(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let f = changing(s, 0).await;
    let (ann, bob) = (user_of(f.ann), user_of(f.bob));
    let mut long = message(f.channel, ann, "long");
    long.text = format!("{}tail", "é😀".repeat(100));
    let original = send(s, long).await;
    let quote_of = |m: &Message| Quote {
        id: m.id,
        seq: m.seq,
        user_id: m.user_id,
        preview: m.text.chars().take(Quote::PREVIEW_CHARS).collect(),
        deleted: false,
    };
    let mut reply = message(f.channel, bob, "reply");
    reply.reply_to = Some(quote_of(&original));
    let reply = send(s, reply).await;
    let read_reply = || async {
        let by_id = s.message(f.channel, reply.id).await.unwrap().unwrap();
        let page = s
            .history(f.channel, HistoryCursor::Latest, 10)
            .await
            .unwrap();
        assert_eq!(
            page.messages.last(),
            Some(&by_id),
            "history and by id agree"
        );
        assert_eq!(by_id.rev, Rev::ZERO, "a quote is not a change of the reply");
        by_id.reply_to.expect("a quote")
    };
    let quote = read_reply().await;
    assert_eq!(quote, quote_of(&original));
    assert_eq!(quote.preview.chars().count(), 140);
    assert_eq!(quote.preview, "é😀".repeat(70));

    let id = original.id;
    let edited = changed(s, change(f.channel, id, f.ann, edit("short now"))).await;
    assert_eq!(read_reply().await, quote_of(&edited));
    changed(s, change(f.channel, id, f.ann, SOFT)).await;
    let deleted = Quote {
        preview: String::new(),
        deleted: true,
        ..quote_of(&edited)
    };
    assert_eq!(read_reply().await, deleted);
    changed(s, change(f.channel, id, Actor::HostApp, HARD)).await;
    assert_eq!(read_reply().await, deleted);
}

/// `AroundSeq(n)`: up to half the limit before `n`, then `n` and what
/// follows, oldest first, tombstones in place and rows deleted outside
/// the chat left out, saying whether more exist on each side.
pub(super) async fn history_around_seq_pages_both_ways(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let f = changing(s, 10).await;
    changed(s, f.of(3, f.ann, SOFT)).await;
    b.soft_delete(f.channel, Seq::new(7)).await;
    let around = |n: i64, limit: u32| async move {
        let page = s
            .history(f.channel, HistoryCursor::AroundSeq(Seq::new(n)), limit)
            .await
            .unwrap();
        (
            seqs(&page),
            page.has_more_before.expect("hasMoreBefore"),
            page.has_more_after.expect("hasMoreAfter"),
        )
    };
    assert_eq!(around(5, 4).await, (vec![3, 4, 5, 6], true, true));
    assert_eq!(around(1, 4).await, (vec![1, 2], false, true));
    assert_eq!(around(2, 4).await, (vec![1, 2, 3], false, true));
    assert_eq!(around(10, 4).await, (vec![8, 9, 10], true, false));
    assert_eq!(around(9, 5).await, (vec![6, 8, 9, 10], true, false));
    assert_eq!(
        around(6, 100).await,
        (vec![1, 2, 3, 4, 5, 6, 8, 9, 10], false, false)
    );
    assert_eq!(around(5, 1).await, (vec![5], true, true));
    assert_eq!(around(1, 1).await, (vec![1], false, true));
    assert_eq!(around(10, 1).await, (vec![10], true, false));
    let page = s
        .history(f.channel, HistoryCursor::AroundSeq(Seq::new(4)), 3)
        .await
        .unwrap();
    assert!(page.messages[1].deleted, "the tombstone in place");
}

/// In a batch, a refused change fails alone: the changes around it are
/// applied, with revs that leave no gap for it.
pub(super) async fn a_refused_change_fails_alone_in_its_batch(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let f = changing(s, 3).await;
    let unknown = MessageId::from_uuid(Uuid::from_u128(404));
    let batch = [
        f.of(0, f.ann, edit("a")),
        change(f.channel, unknown, f.ann, edit("lost")),
        f.of(1, f.bob, add("👍")),
        f.of(0, f.ann, edit_if("b", 0)),
        f.of(2, f.bob, ChangeKind::Pin),
        f.of(2, f.bob, SOFT),
        f.of(0, f.ann, edit_if("c", 1)),
    ];
    let results = s.apply_changes(&batch, LIMITS).await;
    assert_eq!(
        results.iter().map(outcome).collect::<Vec<_>>(),
        [
            "rev 1",
            "NotFound",
            "rev 2",
            "StaleRev { current: Rev(1) }",
            "rev 3",
            "NotAuthor",
            "rev 4"
        ]
    );
    assert_eq!(s.head_rev(f.channel).await.unwrap(), Rev::new(4));
    let page = s
        .history(f.channel, HistoryCursor::Latest, 10)
        .await
        .unwrap();
    let state: Vec<(&str, i64, bool)> = page
        .messages
        .iter()
        .map(|m| (m.text.as_str(), m.rev.get(), m.deleted))
        .collect();
    assert_eq!(
        state,
        [
            ("c", 4, false),
            ("text of k1", 2, false),
            ("text of k2", 3, false)
        ]
    );
    assert_eq!(s.edits(f.sent[0].id).await.unwrap().len(), 2);
}

/// A row deleted outside the chat (`deleted_at` set, rev 0) stays hidden:
/// not in history, by id or among changes, not unread, and no change of any
/// kind, by anyone, finds it; nothing of it is written.
pub(super) async fn rows_deleted_outside_the_chat_stay_hidden_and_unchangeable(b: &impl Backend) {
    let store = b.store();
    let s = store.as_ref();
    let f = changing(s, 3).await;
    changed(s, f.of(1, f.bob, add("👍"))).await;
    b.soft_delete(f.channel, Seq::new(1)).await;
    let hidden = f.sent[0].id;
    let page = s
        .history(f.channel, HistoryCursor::Latest, 10)
        .await
        .unwrap();
    assert_eq!(seqs(&page), [2, 3]);
    assert_eq!(s.message(f.channel, hidden).await.unwrap(), None);
    assert_eq!(s.unread_count(user_of(f.bob), f.channel).await.unwrap(), 2);
    let before = shown(s, f.channel).await;
    let kinds = [
        (f.ann, edit("back")),
        (f.ann, edit_if("back", 0)),
        (f.ann, SOFT),
        (Actor::HostApp, SOFT),
        (Actor::HostApp, HARD),
        (f.bob, add("👍")),
        (f.bob, remove("👍")),
        (f.bob, ChangeKind::Pin),
        (f.bob, ChangeKind::Unpin),
    ];
    for (actor, kind) in kinds {
        let c = change(f.channel, hidden, actor, kind);
        assert_eq!(
            apply_with(s, c.clone(), LIMITS).await.err(),
            Some(ChangeRefused::NotFound),
            "{c:?}"
        );
    }
    assert_eq!(shown(s, f.channel).await, before);
    assert_eq!(b.stored_text(hidden).await, "text of k0");
    assert!(s.edits(hidden).await.unwrap().is_empty());
}

/// Changers racing on two store objects over one database (two servers):
/// every applied change gets a distinct rev, each channel's revs are 1, 2,
/// 3 ... with no gap, each batch's revs rise in batch order, and the head
/// rev is the last; the summaries count exactly the reaction rows.
pub(super) async fn revs_are_gap_free_under_concurrent_changers(b: &impl Backend) {
    const TASKS: usize = 6;
    const BATCHES: usize = 8;
    const SIZE: usize = 5;
    let stores = [b.store(), b.another().await];
    let s = stores[0].as_ref();
    let author = add_user(s, 1, "ann").await;
    let mut users = Vec::new();
    for n in 0..TASKS as u128 {
        users.push(add_user(s, 10 + n, &format!("u{n}")).await);
    }
    let mut channels = Vec::new();
    let mut messages = Vec::new();
    for (n, name) in [(20, "a"), (21, "b")] {
        let channel = add_channel(s, n, name, &[author]).await;
        for &u in &users {
            s.set_access(channel, u, true).await.unwrap();
        }
        messages.push(send_n(s, channel, author, name, 4).await);
        channels.push(channel);
    }
    let mut tasks = Vec::new();
    for (t, &user) in users.iter().enumerate() {
        let store = stores[t % 2].clone();
        let messages = messages.clone();
        tasks.push(tokio::spawn(async move {
            // This task's own reactions: each change toggles one, so each
            // is a real change.
            let mut mine: BTreeMap<MessageId, bool> = BTreeMap::new();
            let mut got = Vec::new();
            for i in 0..BATCHES {
                let batch: Vec<Change> = (0..SIZE)
                    .map(|j| {
                        let m = &messages[j % 2][(i + j / 2) % 4];
                        let on = mine.entry(m.id).or_default();
                        *on = !*on;
                        let kind = if *on { add("👍") } else { remove("👍") };
                        change(m.channel_id, m.id, Actor::Member(user), kind)
                    })
                    .collect();
                let results = store.apply_changes(&batch, LIMITS).await;
                let mut last = BTreeMap::new();
                for r in &results {
                    let Ok(Ok(ChangeOutcome::Changed(m, _))) = r else {
                        panic!("not applied: {}", outcome(r));
                    };
                    let previous = last.insert(m.channel_id, m.rev);
                    assert!(previous < Some(m.rev), "revs rise within a batch");
                    got.push((m.channel_id, m.rev.get()));
                }
            }
            got
        }));
    }
    let mut by_channel: BTreeMap<ChannelId, Vec<i64>> = BTreeMap::new();
    for task in tasks {
        for (channel, rev) in task.await.unwrap() {
            by_channel.entry(channel).or_default().push(rev);
        }
    }
    let total: usize = by_channel.values().map(Vec::len).sum();
    assert_eq!(total, TASKS * BATCHES * SIZE);
    for (channel, sent) in channels.iter().zip(&messages) {
        let mut revs = by_channel.remove(channel).unwrap_or_default();
        revs.sort_unstable();
        let n = revs.len() as i64;
        assert_eq!(revs, (1..=n).collect::<Vec<_>>(), "gap-free, no repeat");
        assert_eq!(s.head_rev(*channel).await.unwrap(), Rev::new(n));
        let changed_now = s.changed_after(*channel, Rev::ZERO, 100).await.unwrap();
        assert_eq!(changed_now.last().map(|m| m.rev), Some(Rev::new(n)));
        for m in sent {
            let now = s.message(*channel, m.id).await.unwrap().unwrap();
            let reactors = s.reactors(m.id, "👍", 100).await.unwrap();
            let counted = now.reactions.first().map_or(0, |r| r.count);
            assert_eq!(counted, reactors.len() as i64, "summary and rows agree");
            if let Some(r) = now.reactions.first() {
                assert_eq!(r.user_ids, reactors, "listed by time");
            }
        }
    }
}

// Search.

/// Stores `texts` in order, one message each by `user` in `channel`,
/// alternating the fast and the careful insert (both must index), one
/// second apart from `start`.
async fn say(
    s: &dyn Store,
    channel: ChannelId,
    user: UserId,
    texts: &[&str],
    start: DateTime<Utc>,
) -> Vec<Message> {
    let mut sent = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let mut m = message_at(
            channel,
            user,
            &format!("say-{}", Uuid::new_v4()),
            start + Duration::seconds(i as i64),
        );
        m.text = (*text).into();
        let path = if i % 2 == 0 {
            Path::Fast
        } else {
            Path::Careful
        };
        sent.push(stored(&path.insert(s, &[m]).await[0]));
    }
    sent
}

/// The texts of a search's hits, in order.
async fn found(s: &dyn Store, user: UserId, channel: Option<ChannelId>, q: &str) -> Vec<String> {
    let query = crate::server::search_text::SearchQuery::parse(q).unwrap();
    s.search(user, channel, &query, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect()
}

/// A message is found when it holds every word of the query as a whole
/// word, in any case; hits come newest first, from the channels where the
/// searcher is an active member only (or from the one channel asked for).
/// Letters beyond ASCII are words too, accents kept.
pub(super) async fn search_finds_every_word_whole_newest_first_in_my_channels(b: &impl Backend) {
    let s = b.store();
    let s = s.as_ref();
    let ann = add_user(s, 1, "ann").await;
    let bob = add_user(s, 2, "bob").await;
    let shared = add_channel(s, 10, "shared", &[ann, bob]).await;
    let mine = add_channel(s, 11, "mine", &[ann]).await;
    let theirs = add_channel(s, 12, "theirs", &[bob]).await;
    let t0 = Utc::now() - Duration::hours(1);
    say(
        s,
        shared,
        bob,
        &[
            "Deploy the API today",
            "deployment finished",
            "api",
            "the DEPLOY went fine, api ok",
        ],
        t0,
    )
    .await;
    say(
        s,
        theirs,
        bob,
        &["deploy api secret"],
        t0 + Duration::seconds(10),
    )
    .await;
    say(
        s,
        mine,
        ann,
        &["notes: deploy-api", "Café crème 日本語 Straße"],
        t0 + Duration::seconds(20),
    )
    .await;

    assert_eq!(
        found(s, ann, None, "deploy API").await,
        [
            "notes: deploy-api",
            "the DEPLOY went fine, api ok",
            "Deploy the API today"
        ]
    );
    assert_eq!(
        found(s, ann, Some(shared), "api deploy").await,
        ["the DEPLOY went fine, api ok", "Deploy the API today"]
    );
    assert_eq!(
        found(s, ann, None, "deployment").await,
        ["deployment finished"]
    );
    assert_eq!(found(s, ann, None, "deplo").await, Vec::<String>::new());
    assert_eq!(found(s, ann, None, "secret").await, Vec::<String>::new());
    assert_eq!(found(s, bob, None, "secret").await, ["deploy api secret"]);
    assert_eq!(
        found(s, ann, None, "CAFÉ 日本語").await,
        ["Café crème 日本語 Straße"]
    );
    assert_eq!(
        found(s, ann, None, "straße").await,
        ["Café crème 日本語 Straße"]
    );
    assert_eq!(found(s, ann, None, "cafe").await, Vec::<String>::new());
    // A channel the searcher is not in gives nothing, even when asked for.
    assert_eq!(
        found(s, ann, Some(theirs), "deploy").await,
        Vec::<String>::new()
    );
}

/// Following the cursor (the last hit of a page) walks every hit once, in
/// order, across channels and within one.
pub(super) async fn search_pages_walk_every_hit_once(b: &impl Backend) {
    let s = b.store();
    let s = s.as_ref();
    let ann = add_user(s, 1, "ann").await;
    let one = add_channel(s, 10, "one", &[ann]).await;
    let two = add_channel(s, 11, "two", &[ann]).await;
    let t0 = Utc::now() - Duration::hours(1);
    let mut texts = Vec::new();
    for i in 0..7 {
        let text = format!("ping number {i}");
        let channel = if i % 3 == 0 { two } else { one };
        say(s, channel, ann, &[&text], t0 + Duration::seconds(i)).await;
        say(
            s,
            channel,
            ann,
            &["unrelated"],
            t0 + Duration::seconds(i) + Duration::milliseconds(500),
        )
        .await;
        texts.push((channel, text));
    }
    let query = crate::server::search_text::SearchQuery::parse("ping").unwrap();
    for (scope, limit) in [(None, 1), (None, 3), (Some(one), 2), (Some(two), 1)] {
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let hits = s.search(ann, scope, &query, after, limit).await.unwrap();
            assert!(hits.len() <= limit as usize);
            let Some(last) = hits.last() else {
                break;
            };
            after = Some(last.id);
            walked.extend(hits.iter().map(|m| m.text.clone()));
        }
        let expected: Vec<String> = texts
            .iter()
            .rev()
            .filter(|(c, _)| scope.is_none_or(|scope| scope == *c))
            .map(|(_, t)| t.clone())
            .collect();
        assert_eq!(walked, expected, "scope {scope:?}, limit {limit}");
    }
}

/// Search sees the current text only: an edit's old words are gone and its
/// new ones found; a deleted message (soft or hard) is never found; a
/// revoked member finds nothing in that channel, and a deleted channel's
/// messages are found by nobody.
pub(super) async fn search_follows_edits_deletes_and_access(b: &impl Backend) {
    let s = b.store();
    let s = s.as_ref();
    let ann = add_user(s, 1, "ann").await;
    let bob = add_user(s, 2, "bob").await;
    let c = add_channel(s, 10, "c", &[ann, bob]).await;
    let other = add_channel(s, 11, "other", &[ann, bob]).await;
    let t0 = Utc::now() - Duration::hours(1);
    let sent = say(
        s,
        c,
        ann,
        &["old wording here", "soft gone", "hard gone", "stays"],
        t0,
    )
    .await;
    say(
        s,
        other,
        ann,
        &["stays elsewhere"],
        t0 + Duration::seconds(30),
    )
    .await;
    let me = Actor::Member(ann);
    // Indexed first, so the changes below take words out of the index.
    assert_eq!(found(s, bob, None, "wording").await, ["old wording here"]);
    changed(s, change(c, sent[0].id, me, edit("new phrasing here"))).await;
    assert_eq!(found(s, bob, None, "wording").await, Vec::<String>::new());
    assert_eq!(found(s, bob, None, "phrasing").await, ["new phrasing here"]);
    assert_eq!(found(s, bob, None, "here").await, ["new phrasing here"]);

    changed(s, change(c, sent[1].id, me, SOFT)).await;
    changed(s, change(c, sent[2].id, Actor::HostApp, HARD)).await;
    assert_eq!(found(s, bob, None, "gone").await, Vec::<String>::new());
    assert_eq!(
        found(s, bob, None, "stays").await,
        ["stays elsewhere", "stays"]
    );

    s.set_access(c, bob, false).await.unwrap();
    assert_eq!(found(s, bob, None, "stays").await, ["stays elsewhere"]);
    assert_eq!(found(s, bob, Some(c), "stays").await, Vec::<String>::new());
    assert_eq!(
        found(s, ann, None, "stays").await,
        ["stays elsewhere", "stays"]
    );

    assert!(s.delete_channel(c).await.unwrap());
    assert_eq!(found(s, ann, None, "stays").await, ["stays elsewhere"]);
    // A channel made again under the same id starts with nothing found.
    add_channel(s, 10, "c again", &[ann]).await;
    assert_eq!(found(s, ann, None, "stays").await, ["stays elsewhere"]);
}

/// Messages changed before any search (so, on SQLite, before the index
/// took them in) are found by their current text only, deleted ones not
/// at all; and after a channel holding the newest messages is deleted, a
/// new message elsewhere is found (it takes no key the index counts as
/// done).
pub(super) async fn search_indexes_what_changed_before_it_caught_up(b: &impl Backend) {
    let s = b.store();
    let s = s.as_ref();
    let ann = add_user(s, 1, "ann").await;
    let c = add_channel(s, 10, "c", &[ann]).await;
    let newest = add_channel(s, 11, "newest", &[ann]).await;
    let t0 = Utc::now() - Duration::hours(1);
    let sent = say(s, c, ann, &["first draft", "soon gone", "kept as is"], t0).await;
    let me = Actor::Member(ann);
    changed(s, change(c, sent[0].id, me, edit("second draft"))).await;
    changed(s, change(c, sent[1].id, me, SOFT)).await;
    assert_eq!(found(s, ann, None, "first").await, Vec::<String>::new());
    assert_eq!(found(s, ann, None, "draft").await, ["second draft"]);
    assert_eq!(found(s, ann, None, "gone").await, Vec::<String>::new());
    assert_eq!(found(s, ann, None, "kept").await, ["kept as is"]);

    say(
        s,
        newest,
        ann,
        &["last words", "more words"],
        t0 + Duration::seconds(30),
    )
    .await;
    assert_eq!(
        found(s, ann, None, "words").await,
        ["more words", "last words"]
    );
    assert!(s.delete_channel(newest).await.unwrap());
    say(s, c, ann, &["fresh words"], t0 + Duration::seconds(60)).await;
    assert_eq!(found(s, ann, None, "words").await, ["fresh words"]);
    assert_eq!(found(s, ann, Some(c), "draft").await, ["second draft"]);
}

/// What the search engines would read as syntax (quotes, `*`, `NEAR`, `OR`,
/// `:`, `&`, `!`, `|`, parentheses, `-`) is only word separators or plain
/// words: no query fails in the engine, and each finds by its words.
pub(super) async fn search_takes_operators_as_plain_words(b: &impl Backend) {
    let s = b.store();
    let s = s.as_ref();
    let ann = add_user(s, 1, "ann").await;
    let c = add_channel(s, 10, "c", &[ann]).await;
    let t0 = Utc::now() - Duration::hours(1);
    say(
        s,
        c,
        ann,
        &["deploy or prod near title", "deploy only", "a:b & !c | (d)"],
        t0,
    )
    .await;
    for (q, expected) in [
        (r#""deploy" OR prod*"#, vec!["deploy or prod near title"]),
        ("NEAR(deploy prod)", vec!["deploy or prod near title"]),
        ("title:deploy", vec!["deploy or prod near title"]),
        ("deploy -prod", vec!["deploy or prod near title"]),
        ("deploy AND only", vec![]),
        ("deploy NOT prod", vec![]),
        ("a:b & !c | (d)", vec!["a:b & !c | (d)"]),
        ("'b' <-> c", vec!["a:b & !c | (d)"]),
        ("\\ d \"", vec!["a:b & !c | (d)"]),
        ("* ^ deploy {x}", vec![]),
    ] {
        assert_eq!(found(s, ann, None, q).await, expected, "query {q:?}");
    }
}

/// Messages the index does not hold (its words lost, or stored before
/// search existed) are found once the index has caught up, in their place
/// in time order; an edit made meanwhile keeps its new text, and a
/// message deleted meanwhile stays unfound.
pub(super) async fn search_index_takes_in_older_messages(b: &impl Backend) {
    let s = b.store();
    let s = s.as_ref();
    let ann = add_user(s, 1, "ann").await;
    let c = add_channel(s, 10, "c", &[ann]).await;
    let t0 = Utc::now() - Duration::hours(1);
    let texts: Vec<String> = (0..25).map(|i| format!("older note {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let sent = say(s, c, ann, &refs, t0).await;
    b.forget_search().await;

    let me = Actor::Member(ann);
    changed(s, change(c, sent[3].id, me, edit("older memo 3"))).await;
    changed(s, change(c, sent[4].id, me, SOFT)).await;
    say(s, c, ann, &["newer note"], t0 + Duration::seconds(100)).await;

    assert!(s.flush_search_index().await.unwrap() > 0);
    let mut expected = vec!["newer note".to_string()];
    expected.extend(
        texts
            .iter()
            .enumerate()
            .rev()
            .filter(|(i, _)| *i != 3 && *i != 4)
            .map(|(_, t)| t.clone()),
    );
    assert_eq!(found(s, ann, None, "note").await, expected);
    assert_eq!(found(s, ann, None, "memo").await, ["older memo 3"]);
}

/// Merging the index's pending entries (Postgres: the GIN pending list;
/// SQLite: the messages stored since the index last caught up) changes no
/// result, and leaves nothing to merge. The first merge after new messages
/// moves something wherever the store keeps pending entries, and a search
/// finds what was stored before it whether or not a merge ran.
pub(super) async fn search_index_flush_moves_pending_entries(b: &impl Backend) {
    let s = b.store();
    let s = s.as_ref();
    let ann = add_user(s, 1, "ann").await;
    let c = add_channel(s, 10, "c", &[ann]).await;
    let texts: Vec<String> = (0..30).map(|i| format!("pending entry {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    say(s, c, ann, &refs[..15], Utc::now()).await;
    let before = found(s, ann, Some(c), "entry").await;
    assert_eq!(before.len(), 15);
    say(s, c, ann, &refs[15..], Utc::now()).await;
    let moved = s.flush_search_index().await.unwrap();
    assert_eq!(
        moved > 0,
        s.keeps_pending_search_entries(),
        "moved: {moved}"
    );
    assert_eq!(s.flush_search_index().await.unwrap(), 0);
    let after = found(s, ann, Some(c), "entry").await;
    assert_eq!(after.len(), 30);
    assert_eq!(after[15..], before[..]);
}

/// Two servers on one database take the index in side by side while
/// messages keep arriving on both (Postgres: each step holds its
/// channel's mark, the other server moves on or waits; SQLite: one writer
/// of the index file at a time): every message is found exactly once, in
/// order, and a message changed meanwhile by its current text only.
pub(super) async fn search_index_is_shared_by_two_servers(b: &impl Backend) {
    let stores = [b.store(), b.another().await];
    let s = stores[0].as_ref();
    let ann = add_user(s, 1, "ann").await;
    let channels = [
        add_channel(s, 10, "one", &[ann]).await,
        add_channel(s, 11, "two", &[ann]).await,
    ];
    let sending = async {
        let mut sent = Vec::new();
        for round in 0..30 {
            for (i, channel) in channels.iter().enumerate() {
                let store = stores[(round + i) % 2].as_ref();
                let texts: Vec<String> =
                    (0..5).map(|k| format!("shared word {round} {k}")).collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                sent.extend(say(store, *channel, ann, &refs, Utc::now()).await);
            }
            if round % 10 == 9 {
                // One message of each channel (this round's, 5 each).
                for back in [3, 8] {
                    let m = sent[sent.len() - back].clone();
                    let edit_on = stores[round % 2].as_ref();
                    let to = edit("changed meanwhile");
                    changed(edit_on, change(m.channel_id, m.id, Actor::Member(ann), to)).await;
                }
            }
        }
        sent
    };
    let (sent, (), ()) = tokio::join!(
        sending,
        indexing(stores[0].as_ref()),
        indexing(stores[1].as_ref())
    );
    for store in &stores {
        store.flush_search_index().await.unwrap();
    }
    for (i, channel) in channels.iter().enumerate() {
        let store = stores[i].as_ref();
        let query = crate::server::search_text::SearchQuery::parse("shared").unwrap();
        let mut hits = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .search(ann, Some(*channel), &query, after, 40)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            hits.extend(page);
        }
        let got: Vec<i64> = hits.iter().map(|m| m.seq.get()).collect();
        let mut expected: Vec<i64> = sent
            .iter()
            .filter(|m| m.channel_id == *channel)
            .map(|m| m.seq.get())
            .collect();
        expected.reverse();
        // Three messages of each channel were edited away from the word.
        assert_eq!(got.len(), expected.len() - 3, "channel {i}");
        assert!(got.windows(2).all(|w| w[0] > w[1]), "channel {i}: {got:?}");
        assert!(got.iter().all(|seq| expected.contains(seq)));
        assert_eq!(
            found(store, ann, Some(*channel), "meanwhile").await.len(),
            3,
            "channel {i}"
        );
    }
}

/// A search across many channels (more than Postgres plans one by one)
/// finds the hits of all of them, newest first, paged without a hit twice
/// or a hit left out, and none from a channel the searcher left.
pub(super) async fn search_across_many_channels(b: &impl Backend) {
    let s = b.store();
    let s = s.as_ref();
    let ann = add_user(s, 1, "ann").await;
    let t0 = Utc::now() - Duration::hours(1);
    let mut channels = Vec::new();
    for i in 0..40u128 {
        let c = add_channel(s, 100 + i, &format!("c{i}"), &[ann]).await;
        let at = t0 + Duration::seconds(i as i64 * 10);
        say(
            s,
            c,
            ann,
            &[&format!("many needle {i}"), "unrelated words"],
            at,
        )
        .await;
        channels.push(c);
    }
    s.set_access(channels[5], ann, false).await.unwrap();
    let query = crate::server::search_text::SearchQuery::parse("needle").unwrap();
    let mut got = Vec::new();
    let mut after = None;
    loop {
        let page = s.search(ann, None, &query, after, 7).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        got.extend(page.into_iter().map(|m| m.text));
        assert!(got.len() <= 40, "the pages do not end");
    }
    let expected: Vec<String> = (0..40)
        .rev()
        .filter(|i| *i != 5)
        .map(|i| format!("many needle {i}"))
        .collect();
    assert_eq!(got, expected);
}

/// Steps the index again and again (a server's background indexer, with
/// no pause), for [`search_index_is_shared_by_two_servers`].
async fn indexing(store: &dyn Store) {
    for _ in 0..40 {
        store.flush_search_index().await.unwrap();
        tokio::task::yield_now().await;
    }
}

// Threads.

/// A reply to `parent` (thread-only unless `in_channel`).
fn reply(
    channel: ChannelId,
    user: UserId,
    key: &str,
    parent: MessageId,
    in_channel: bool,
) -> NewMessage {
    let mut m = message(channel, user, key);
    m.thread = Some(ReplyThread {
        parent_id: parent,
        show_in_channel: in_channel,
    });
    m
}

/// Stores one reply, which must be new: the reply and its parent after it.
async fn send_reply(s: &dyn Store, m: NewMessage) -> (Message, Message) {
    let mut results = s.insert_messages(std::slice::from_ref(&m)).await;
    match results.remove(0) {
        Ok(InsertOutcome::Stored(reply, Some(parent))) => (reply, *parent),
        other => panic!("{m:?} not stored as a reply: {other:?}"),
    }
}

async fn timeline_seqs(s: &dyn Store, channel: ChannelId, timeline: Timeline) -> Vec<i64> {
    let page = s
        .timeline_page(channel, timeline, HistoryCursor::Latest, 100)
        .await
        .unwrap();
    seqs(&page)
}

/// The unread count and unread mentions of `user` in `channel` from the
/// list, the summary and the single counts, which must agree.
async fn counts_of(s: &dyn Store, user: UserId, channel: ChannelId) -> (i64, i64) {
    let listed = s.channels_for(user).await.unwrap();
    let listed = listed.iter().find(|c| c.id == channel).unwrap();
    let summary = s.unread_for(user).await.unwrap();
    let from_summary = summary
        .iter()
        .find(|e| e.channel_id == channel)
        .map_or((0, 0), |e| (e.unread_count, e.unread_mentions));
    let single = (
        s.unread_count(user, channel).await.unwrap(),
        s.unread_mentions(user, channel).await.unwrap(),
    );
    assert_eq!(
        (listed.unread_count, listed.unread_mentions),
        single,
        "list"
    );
    assert_eq!(from_summary, single, "summary");
    single
}

/// The unread count of `user` in `channel` (see [`counts_of`]).
async fn unread_of(s: &dyn Store, user: UserId, channel: ChannelId) -> i64 {
    counts_of(s, user, channel).await.0
}

/// A reply takes the channel's next seq; its parent changes in the same
/// transaction with the next rev (count, last reply time, participants in
/// first-reply order). The main timeline, previews and unread counts leave
/// thread-only replies out; everything else (the full history, changes by
/// rev) carries them.
pub(super) async fn threads_replies_take_the_seq_and_change_the_parent(b: &impl Backend) {
    let s = b.store();
    let s = s.as_ref();
    let ann = add_user(s, 1, "ann").await;
    let bob = add_user(s, 2, "bob").await;
    let cat = add_user(s, 3, "cat").await;
    let c = add_channel(s, 10, "c", &[ann, bob, cat]).await;
    let parent = send(s, message(c, ann, "p")).await;
    let (r1, after1) = send_reply(s, reply(c, bob, "r1", parent.id, false)).await;
    assert_eq!(
        (r1.seq, r1.parent_id, r1.show_in_channel),
        (Seq::new(2), Some(parent.id), false)
    );
    assert_eq!(after1.rev, Rev::new(1));
    let thread = after1.thread.clone().expect("a thread summary");
    assert_eq!(
        (
            thread.reply_count,
            thread.last_reply_at,
            thread.participants
        ),
        (1, r1.created_at, vec![ann, bob])
    );
    let (r2, after2) = send_reply(s, reply(c, ann, "r2", parent.id, true)).await;
    assert_eq!((r2.seq, r2.show_in_channel), (Seq::new(3), true));
    let (_, after3) = send_reply(s, reply(c, cat, "r3", parent.id, false)).await;
    assert_eq!(after2.rev, Rev::new(2));
    let thread = after3.thread.clone().unwrap();
    assert_eq!(
        (after3.rev, thread.reply_count, thread.participants),
        (Rev::new(3), 3, vec![ann, bob, cat])
    );
    assert_eq!(s.head_rev(c).await.unwrap(), Rev::new(3));
    let changed = s.changed_after(c, Rev::ZERO, 10).await.unwrap();
    assert_eq!(
        changed,
        std::slice::from_ref(&after3),
        "the parent's latest state, by rev"
    );
    assert_eq!(s.message(c, r1.id).await.unwrap().unwrap(), r1);

    assert_eq!(timeline_seqs(s, c, Timeline::Main).await, [1, 3]);
    assert_eq!(timeline_seqs(s, c, Timeline::All).await, [1, 2, 3, 4]);
    assert_eq!(
        timeline_seqs(s, c, Timeline::Thread(parent.id)).await,
        [2, 3, 4]
    );
    assert_eq!(
        timeline_seqs(s, c, Timeline::Thread(r1.id)).await,
        Vec::<i64>::new()
    );
    let main = s
        .timeline_page(c, Timeline::Main, HistoryCursor::AfterSeq(Seq::new(1)), 10)
        .await
        .unwrap();
    assert_eq!(seqs(&main), [3], "after a seq too");

    // Unread: the parent and the reply sent to the channel, not one's own.
    assert_eq!(unread_of(s, cat, c).await, 2, "the parent and r2");
    assert_eq!(unread_of(s, bob, c).await, 2, "the parent and r2");
    assert_eq!(unread_of(s, ann, c).await, 0, "both are ann's");
    // The preview is the newest main-timeline message.
    let preview = |list: Vec<crate::protocol::ChannelSummary>| {
        list[0].last_message.as_ref().map(|m| m.seq.get())
    };
    assert_eq!(preview(s.channels_for(cat).await.unwrap()), Some(3));
    s.mark_read(cat, c, None).await.unwrap();
    assert_eq!(unread_of(s, cat, c).await, 0);
    send_reply(s, reply(c, bob, "r4", parent.id, false)).await;
    assert_eq!(
        unread_of(s, cat, c).await,
        0,
        "a thread-only reply is not unread"
    );
    assert_eq!(preview(s.channels_for(cat).await.unwrap()), Some(3));
    send(s, message(c, bob, "after")).await;
    assert_eq!(unread_of(s, cat, c).await, 1);
    assert_eq!(preview(s.channels_for(cat).await.unwrap()), Some(6));
}

/// A reply whose parent is deleted, is itself a reply or is in another
/// channel is refused inside the transaction and stores nothing; the rest
/// of its batch is stored.
pub(super) async fn threads_refuse_bad_parents_alone(b: &impl Backend) {
    let s = b.store();
    let s = s.as_ref();
    let ann = add_user(s, 1, "ann").await;
    let c = add_channel(s, 10, "c", &[ann]).await;
    let other = add_channel(s, 11, "other", &[ann]).await;
    let parent = send(s, message(c, ann, "p")).await;
    let gone = send(s, message(c, ann, "gone")).await;
    let elsewhere = send(s, message(other, ann, "elsewhere")).await;
    let (r, _) = send_reply(s, reply(c, ann, "r", parent.id, false)).await;
    changed(s, change(c, gone.id, Actor::Member(ann), SOFT)).await;
    let rev = s.head_rev(c).await.unwrap();
    let batch = [
        reply(c, ann, "to-deleted", gone.id, false),
        message(c, ann, "fine"),
        reply(c, ann, "to-reply", r.id, false),
        reply(c, ann, "to-other-channel", elsewhere.id, true),
        reply(c, ann, "to-nothing", MessageId::new_random(), false),
    ];
    let results = s.insert_messages(&batch).await;
    assert_eq!(
        describe_all(&results),
        [
            "error the thread's parent is deleted",
            "stored fine 4",
            "error the thread's parent is deleted",
            "error the thread's parent is deleted",
            "error the thread's parent is deleted",
        ]
    );
    assert_eq!(s.head_seq(c).await.unwrap(), Seq::new(4));
    assert_eq!(s.head_rev(c).await.unwrap(), rev, "no parent changed");
    assert_eq!(
        timeline_seqs(s, c, Timeline::Thread(gone.id)).await,
        Vec::<i64>::new()
    );
}

/// Thread cursors: the parent's author and each replier take part; a
/// reply moves its author's cursor; unread replies are others', live,
/// after the cursor. Marking read moves forward only, up to the newest
/// reply; a member who takes no part has no cursor. A deleted reply takes
/// one off the parent's count (a change of the parent) and off the unread
/// counts. The threads view lists the threads of channels one is still in.
pub(super) async fn threads_read_state_counts_others_replies(b: &impl Backend) {
    let s = b.store();
    let s = s.as_ref();
    let ann = add_user(s, 1, "ann").await;
    let bob = add_user(s, 2, "bob").await;
    let cat = add_user(s, 3, "cat").await;
    let c = add_channel(s, 10, "c", &[ann, bob, cat]).await;
    let p = send(s, message(c, ann, "p")).await;
    let (r1, _) = send_reply(s, reply(c, bob, "r1", p.id, false)).await;
    let (r2, _) = send_reply(s, reply(c, bob, "r2", p.id, false)).await;
    let reads: BTreeMap<UserId, (i64, i64)> = s
        .thread_reads(p.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(u, r)| {
            assert_eq!(r.channel_id, c);
            (u, (r.last_read_seq.get(), r.unread_count))
        })
        .collect();
    assert_eq!(
        reads,
        BTreeMap::from([(ann, (0, 2)), (bob, (r2.seq.get(), 0))]),
        "cat takes no part"
    );
    let unread_threads =
        |user| async move { s.channels_for(user).await.unwrap()[0].unread_threads };
    assert_eq!(
        (unread_threads(ann).await, unread_threads(bob).await),
        (1, 0)
    );
    let listed = s.threads_for(ann, None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].channel_id,
            listed[0].parent.id,
            listed[0].unread_count
        ),
        (c, p.id, 2)
    );
    assert!(s.threads_for(cat, None, 10).await.unwrap().is_empty());
    assert_eq!(s.mark_thread_read(cat, p.id, None).await.unwrap(), None);

    let read = s
        .mark_thread_read(ann, p.id, Some(r1.seq))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((read.last_read_seq, read.unread_count), (r1.seq, 1));
    let read = s
        .mark_thread_read(ann, p.id, Some(Seq::ZERO))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.last_read_seq, r1.seq, "never backwards");
    let read = s
        .mark_thread_read(ann, p.id, Some(Seq::new(99)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (read.last_read_seq, read.unread_count),
        (r2.seq, 0),
        "never past the newest"
    );
    assert_eq!(unread_threads(ann).await, 0);

    // cat replies, then deletes it: ann's count goes up, then down again,
    // and so does the parent's reply count (each a change of the parent).
    let (r3, _) = send_reply(s, reply(c, cat, "r3", p.id, false)).await;
    assert_eq!(
        s.threads_for(ann, None, 10).await.unwrap()[0].unread_count,
        1
    );
    let rev = s.head_rev(c).await.unwrap();
    let outcome = apply_with(s, change(c, r3.id, Actor::Member(cat), SOFT), LIMITS).await;
    let Ok(ChangeOutcome::Changed(deleted, Some(parent))) = outcome else {
        panic!("the delete did not change the parent: {outcome:?}");
    };
    assert_eq!((deleted.rev, parent.rev), (rev.next(), rev.next().next()));
    assert!(deleted.deleted && deleted.parent_id == Some(p.id));
    assert_eq!(parent.thread.unwrap().reply_count, 2);
    assert_eq!(
        s.threads_for(ann, None, 10).await.unwrap()[0].unread_count,
        0
    );
    assert_eq!(
        timeline_seqs(s, c, Timeline::Thread(p.id)).await,
        [r1.seq.get(), r2.seq.get(), r3.seq.get()],
        "the tombstone keeps its place"
    );

    // Newest last reply first, paged by time; a revoked member sees none.
    let q = send(s, message(c, ann, "q")).await;
    send_reply(s, reply(c, bob, "q1", q.id, false)).await;
    let listed = s.threads_for(ann, None, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.parent.id).collect::<Vec<_>>(),
        [q.id, p.id]
    );
    let before = listed[0].parent.thread.as_ref().unwrap().last_reply_at;
    let older = s.threads_for(ann, Some(before), 10).await.unwrap();
    assert_eq!(
        older.iter().map(|t| t.parent.id).collect::<Vec<_>>(),
        [p.id]
    );
    assert_eq!(s.threads_for(ann, None, 1).await.unwrap().len(), 1);
    s.set_access(c, ann, false).await.unwrap();
    assert!(s.threads_for(ann, None, 10).await.unwrap().is_empty());
}

/// A thread pages like history: newest first in pages, before, after and
/// around a seq, walking every reply once.
pub(super) async fn threads_page_both_ways(b: &impl Backend) {
    let s = b.store();
    let s = s.as_ref();
    let ann = add_user(s, 1, "ann").await;
    let c = add_channel(s, 10, "c", &[ann]).await;
    let p = send(s, message(c, ann, "p")).await;
    let mut replies = Vec::new();
    for i in 0..5 {
        send(s, message(c, ann, &format!("between{i}"))).await;
        let (r, _) = send_reply(s, reply(c, ann, &format!("r{i}"), p.id, i == 2)).await;
        replies.push(r.seq.get());
    }
    let thread = Timeline::Thread(p.id);
    let page = |cursor, limit| async move {
        let page = s.timeline_page(c, thread, cursor, limit).await.unwrap();
        (seqs(&page), page.has_more)
    };
    assert_eq!(
        page(HistoryCursor::Latest, 2).await,
        (replies[3..].to_vec(), true)
    );
    assert_eq!(
        page(HistoryCursor::BeforeSeq(Seq::new(replies[3])), 10).await,
        (replies[..3].to_vec(), false)
    );
    assert_eq!(
        page(HistoryCursor::AfterSeq(Seq::new(replies[0])), 3).await,
        (replies[1..4].to_vec(), true)
    );
    let around = s
        .timeline_page(c, thread, HistoryCursor::AroundSeq(Seq::new(replies[2])), 2)
        .await
        .unwrap();
    assert_eq!(seqs(&around), replies[1..3].to_vec());
    assert_eq!(
        (around.has_more_before, around.has_more_after),
        (Some(true), Some(true))
    );
}

// Mentions.

/// A message mentioning `mentions`.
fn mentioning(channel: ChannelId, user: UserId, key: &str, mentions: &[UserId]) -> NewMessage {
    let mut m = message(channel, user, key);
    m.mentions = mentions.to_vec();
    m
}

/// The unread mentions of `user` in `channel` (see [`counts_of`]).
async fn mentions_of(s: &dyn Store, user: UserId, channel: ChannelId) -> i64 {
    counts_of(s, user, channel).await.1
}

/// A message keeps its mentions (on both insert paths); each mentioned
/// member but its author counts it as an unread mention until they read
/// past it; an edit with mentions replaces them (one without keeps them),
/// a delete takes it out of the counts, and a thread-only reply's mention
/// counts in the thread instead.
pub(super) async fn mentions_are_kept_and_counted_until_read(b: &impl Backend) {
    let s = b.store();
    let s = s.as_ref();
    let ann = add_user(s, 1, "ann").await;
    let bob = add_user(s, 2, "bob").await;
    let cat = add_user(s, 3, "cat").await;
    let c = add_channel(s, 10, "c", &[ann, bob, cat]).await;
    let fast = stored(
        &Path::Fast
            .insert(s, &[mentioning(c, ann, "f", &[bob, cat, ann])])
            .await[0],
    );
    let careful = stored(
        &Path::Careful
            .insert(s, &[mentioning(c, ann, "k", &[bob])])
            .await[0],
    );
    assert_eq!(fast.mentions, [bob, cat, ann]);
    assert_eq!(
        s.message(c, fast.id).await.unwrap().unwrap().mentions,
        [bob, cat, ann]
    );
    assert_eq!(
        s.message(c, careful.id).await.unwrap().unwrap().mentions,
        [bob]
    );
    let page = s.history(c, HistoryCursor::Latest, 10).await.unwrap();
    assert_eq!(page.messages[0].mentions, [bob, cat, ann]);
    assert_eq!(
        (
            mentions_of(s, bob, c).await,
            mentions_of(s, cat, c).await,
            mentions_of(s, ann, c).await
        ),
        (2, 1, 0),
        "not one's own"
    );

    // An edit with mentions replaces them; one without keeps them.
    let edit_to = |mentions: Option<Vec<UserId>>, text: &str| ChangeKind::Edit {
        text: text.into(),
        if_rev: None,
        mentions,
    };
    let me = Actor::Member(ann);
    let edited = changed(
        s,
        change(c, fast.id, me, edit_to(Some(vec![cat]), "text of f")),
    )
    .await;
    assert_eq!(edited.mentions, [cat], "same text, new mentions: a change");
    assert_eq!(
        (mentions_of(s, bob, c).await, mentions_of(s, cat, c).await),
        (1, 1)
    );
    let kept = changed(s, change(c, fast.id, me, edit_to(None, "new text"))).await;
    assert_eq!(kept.mentions, [cat]);
    let same = apply_with(
        s,
        change(c, fast.id, me, edit_to(Some(vec![cat]), "new text")),
        LIMITS,
    )
    .await;
    assert!(matches!(same, Ok(ChangeOutcome::Unchanged(_))), "{same:?}");

    // Reading and deleting.
    s.mark_read(bob, c, Some(careful.seq)).await.unwrap();
    assert_eq!(mentions_of(s, bob, c).await, 0);
    changed(s, change(c, fast.id, me, SOFT)).await;
    assert_eq!(
        mentions_of(s, cat, c).await,
        0,
        "a deleted message mentions nobody"
    );

    // A thread-only reply's mention: counted in the thread, not the channel.
    let (r, _) = send_reply(s, {
        let mut m = reply(c, ann, "r", careful.id, false);
        m.mentions = vec![cat];
        m
    })
    .await;
    assert_eq!(mentions_of(s, cat, c).await, 0);
    let reads: BTreeMap<UserId, (Seq, i64)> = s
        .thread_reads(careful.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(u, read)| (u, (read.last_read_seq, read.unread_count)))
        .collect();
    assert_eq!(
        reads.get(&cat),
        Some(&(r.seq.prev(), 1)),
        "cat takes part from the reply on"
    );
}
