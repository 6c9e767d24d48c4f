//! Search (PROTOCOL.md "Search") through the JSON route and the server
//! function: words, order, snippets, paging, scope, what is never found,
//! and every bad input. Runs on SQLite and again on Postgres.

use std::collections::BTreeMap;

use chat::server::search_text::sqlite_index_entry;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

use crate::message_changes::ADMIN_KEY;

async fn app() -> TestApp {
    spawn_app_with(|s| {
        s.admin_key = Some(ADMIN_KEY.into());
        generous_rate_limits(s);
    })
    .await
}

impl TestApp {
    /// `GET /chat/search` with these parameters: status and body.
    async fn search(&self, token: Option<&str>, params: &[(&str, &str)]) -> (u16, Value) {
        let mut req = self.api.get(self.url("/chat/search")).query(params);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("search request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The texts found for `q` (asserting 200).
    async fn found(&self, token: &str, params: &[(&str, &str)]) -> Vec<String> {
        let (status, body) = self.search(Some(token), params).await;
        assert_eq!(status, 200, "{params:?}: {body}");
        texts(&body)
    }
}

/// The search index holds exactly the words of the shown messages, each
/// message once, by its current text. On SQLite (a file of its own beside
/// the chat's): the index's own vocabulary (each word with its number of
/// messages) against the words cut from the stored texts. On Postgres
/// (the table `message_words`, filled by the indexer): each message's row
/// of words against its text, none for a message not stored, NULL for a
/// deleted one. Words of an old text, or a message put in twice, show
/// here. New messages and changes reach the index in the background or
/// before a search, so a search must have run since the last send or
/// change.
async fn assert_index_matches_messages(app: &TestApp) {
    let mut db = app.db().await;
    let conn = match &mut db {
        TestDb::Sqlite(conn) => conn,
        TestDb::Postgres(_) => return assert_words_table_matches_messages(&mut db).await,
    };
    // The index cuts words with the chat's own tokenizer.
    chat::server::store::sqlite_words::register(conn)
        .await
        .expect("register the tokenizer");
    let index_file = app.data_dir.path().join("chat.db-search");
    assert!(index_file.exists(), "no index file at {index_file:?}");
    db.execute(
        &format!("ATTACH DATABASE '{}' AS search", index_file.display()),
        vec![],
    )
    .await;
    let waiting = db
        .int_text_rows(
            "SELECT (SELECT COUNT(*) FROM messages WHERE search_key > \
               (SELECT value FROM search.index_marks WHERE key = 'indexed_upto')) \
             + (SELECT COUNT(*) FROM search_changes WHERE seq > \
               COALESCE((SELECT value FROM search.index_marks WHERE key = 'changes_upto'), 0)), \
             'waiting'",
        )
        .await;
    assert_eq!(
        waiting[0].0, 0,
        "messages or changes not yet indexed: search first"
    );
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocab \
         USING fts5vocab(search, message_search, 'row')",
        vec![],
    )
    .await;
    let index: BTreeMap<String, i64> = db
        .int_text_rows("SELECT doc, term FROM temp.search_vocab WHERE doc > 0")
        .await
        .into_iter()
        .map(|(n, term)| (term, n))
        .collect();
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    let shown = db
        .int_text_rows(
            "SELECT search_key, lower(hex(channel_id)) || ' ' || text \
             FROM messages WHERE deleted_at IS NULL",
        )
        .await;
    for (_, row) in &shown {
        let (channel, text) = row.split_once(' ').unwrap();
        for word in sqlite_index_entry(channel, text).split(' ') {
            *expected.entry(word.to_string()).or_default() += 1;
        }
    }
    assert!(!expected.is_empty());
    assert_eq!(index, expected, "the index's words against the messages'");
}

/// [`assert_index_matches_messages`] on Postgres.
async fn assert_words_table_matches_messages(db: &mut TestDb) {
    let waiting = db
        .int_text_rows(
            "SELECT COUNT(*), 'waiting' FROM tablos t \
             LEFT JOIN search_marks s ON s.channel_id = t.id \
             WHERE t.last_seq > COALESCE(s.indexed_seq, 0)",
        )
        .await;
    assert_eq!(waiting[0].0, 0, "channels not yet indexed: search first");
    // Each message's text and its row's words, lexemes sorted; `-` for no
    // row, `~` for a row of no words (NULL).
    let rows = db
        .int_text_rows(
            "SELECT m.seq, m.channel_id::text || ' ' || \
               CASE WHEN m.deleted_at IS NULL THEN 'shown' ELSE 'deleted' END || ' ' || \
               CASE WHEN w.seq IS NULL THEN '-' WHEN w.words IS NULL THEN '~' \
                 ELSE array_to_string(ARRAY(SELECT unnest(tsvector_to_array(w.words)) \
                   ORDER BY 1), ' ') END \
               || '|' || m.text \
             FROM messages m LEFT JOIN message_words w \
               ON w.channel_id = m.channel_id AND w.seq = m.seq",
        )
        .await;
    assert!(!rows.is_empty());
    for (seq, row) in rows {
        let (facts, text) = row.split_once('|').unwrap();
        let mut facts = facts.splitn(3, ' ');
        let (channel, state, words) = (
            facts.next().unwrap(),
            facts.next().unwrap(),
            facts.next().unwrap(),
        );
        let expected = if state == "shown" {
            let mut words: Vec<String> = chat::server::search_text::index_words(text)
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect();
            words.sort();
            words.dedup();
            words.join(" ")
        } else {
            "~ or -".to_string()
        };
        let ok = if state == "shown" {
            words == expected
        } else {
            words == "~" || words == "-"
        };
        assert!(ok, "message {seq} of {channel} ({state}, {text:?}): words {words:?}, expected {expected:?}");
    }
    let strays = db
        .int_text_rows(
            "SELECT COUNT(*), 'strays' FROM message_words w \
             LEFT JOIN messages m ON m.channel_id = w.channel_id AND m.seq = w.seq \
             WHERE m.id IS NULL",
        )
        .await;
    assert_eq!(strays[0].0, 0, "rows of words with no message");
}

fn texts(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"]["text"].as_str().unwrap().to_string())
        .collect()
}

/// The snippet with its hits in brackets.
fn snippet(hit: &Value) -> String {
    hit["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let text = p["text"].as_str().unwrap();
            if p["hit"] == true {
                format!("[{text}]")
            } else {
                text.to_string()
            }
        })
        .collect()
}

/// Messages are found by every word of the query, in any case, newest
/// first, each with its snippet; `channel_id` narrows to one channel;
/// following `next_cursor` walks every hit once; the server function
/// answers the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_found_by_their_words_newest_first_with_snippets() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    let random = app.channel_id(&p.alice, "Random").await;
    let mut r = app.ws_join(&p.alice, &random).await;
    p.a.send_ok("Zebrafish migration starts Monday").await;
    p.a.send_ok("zebrafishes are not zebrafish-ish? ZEBRAFISH!")
        .await;
    r.send_ok("random zebrafish sighting").await;
    p.a.send_ok("nothing to see").await;

    let (status, page) = app.search(Some(&p.bob), &[("q", "ZEBRAFISH")]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        texts(&page),
        [
            "random zebrafish sighting",
            "zebrafishes are not zebrafish-ish? ZEBRAFISH!",
            "Zebrafish migration starts Monday",
        ]
    );
    assert_eq!(page["next_cursor"], Value::Null);
    let hits = page["results"].as_array().unwrap();
    assert_eq!(
        snippet(&hits[1]),
        "zebrafishes are not [zebrafish]-ish? [ZEBRAFISH]!"
    );
    assert_eq!(hits[0]["message"]["channel_id"], random.as_str());
    assert!(hits[0]["message"]["seq"].as_i64().unwrap() >= 1);

    assert_eq!(
        app.found(
            &p.bob,
            &[("q", "zebrafish monday"), ("channel_id", &p.channel)]
        )
        .await,
        ["Zebrafish migration starts Monday"]
    );
    assert_eq!(
        app.found(&p.bob, &[("q", "zebrafish"), ("channel_id", &p.channel)])
            .await
            .len(),
        2
    );

    // Paging one hit at a time.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut params = vec![("q", "zebrafish"), ("limit", "1")];
        if let Some(c) = &cursor {
            params.push(("cursor", c));
        }
        let (status, page) = app.search(Some(&p.bob), &params).await;
        assert_eq!(status, 200, "{page}");
        walked.extend(texts(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(walked.len() <= 3, "paging does not end");
    }
    assert_eq!(walked.len(), 3);
    assert_eq!(walked[0], "random zebrafish sighting");

    // The server function gives the same page.
    let cookie = app.login_cookie(BOB).await;
    let (status, page) = app
        .server_fn("search_messages", Some(&cookie), &[("q", "zebrafish")])
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(texts(&page).len(), 3);
    let (status, page) = app
        .server_fn(
            "search_messages",
            Some(&cookie),
            &[("q", "zebrafish"), ("channel_id", &random)],
        )
        .await;
    assert_eq!(
        (status, texts(&page)),
        (200, vec!["random zebrafish sighting".to_string()])
    );
}

/// An edit is found by its new words only; a deleted message never; a
/// member whose access is revoked finds nothing in that channel any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_follows_edits_deletes_and_revocation() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    let first = p.a.send_ok("quokka typo here").await;
    let second = p.a.send_ok("quokka to delete").await;
    let id = |m: &Value| m["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .edit(
            &p.alice,
            &p.channel,
            &id(&first),
            json!({"text": "quokka fixed wording"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.found(&p.bob, &[("q", "typo")]).await,
        Vec::<String>::new()
    );
    assert_eq!(
        app.found(&p.bob, &[("q", "fixed")]).await,
        ["quokka fixed wording"]
    );
    let (status, _) = app.delete(&p.alice, &p.channel, &id(&second)).await;
    assert_eq!(status, 200);
    assert_eq!(
        app.found(&p.bob, &[("q", "quokka")]).await,
        ["quokka fixed wording"]
    );

    // A hard delete of the tombstone (its words already left the index).
    let hard = format!(
        "/admin/tablos/{}/messages/{}?hard=true",
        p.channel,
        id(&second)
    );
    let (status, body) = app.admin_call(Method::DELETE, &hard, None).await;
    assert_eq!(status, 200, "{body}");
    // A deleted channel's words leave the index with it.
    let random = app.channel_id(&p.alice, "Random").await;
    let mut r = app.ws_join(&p.alice, &random).await;
    r.send_ok("quokka in a channel about to go").await;
    assert_eq!(app.found(&p.bob, &[("q", "quokka")]).await.len(), 2);
    drop(r);
    let (status, body) = app
        .admin_call(Method::DELETE, &format!("/admin/tablos/{random}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.found(&p.bob, &[("q", "quokka")]).await,
        ["quokka fixed wording"]
    );
    assert_index_matches_messages(&app).await;

    let revoke = format!("/admin/tablos/{}/members/{}", p.channel, p.bob_id);
    let (status, _) = app.admin_call(Method::DELETE, &revoke, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        app.found(&p.bob, &[("q", "quokka")]).await,
        Vec::<String>::new()
    );
    let (status, body) = app
        .search(Some(&p.bob), &[("q", "quokka"), ("channel_id", &p.channel)])
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")));
    assert_eq!(
        app.found(&p.alice, &[("q", "quokka")]).await,
        ["quokka fixed wording"]
    );
}

/// Every bad input gets a clear error: no words or too long is
/// `INVALID_QUERY`, a bad cursor, limit or channel id `PARSE_ERROR`, a
/// channel that is not the caller's 403 and an unknown one 404, no
/// credentials 401. Query syntax of the engines is only words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_search_input_is_refused_clearly() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    p.a.send_ok("wombat OR near: the prod* deploy").await;
    let product = app.channel_id(&p.alice, "Product").await;
    let (carol, _) = app.login(CAROL).await;
    let long = "w".repeat(201);
    for (params, status, code) in [
        (vec![], 400, "INVALID_QUERY"),
        (vec![("q", "")], 400, "INVALID_QUERY"),
        (vec![("q", "   ")], 400, "INVALID_QUERY"),
        (vec![("q", "\"*:&!()|-")], 400, "INVALID_QUERY"),
        (vec![("q", long.as_str())], 400, "INVALID_QUERY"),
        (
            vec![("q", "wombat"), ("cursor", "nope")],
            400,
            "PARSE_ERROR",
        ),
        (vec![("q", "wombat"), ("limit", "0")], 400, "PARSE_ERROR"),
        (vec![("q", "wombat"), ("limit", "-3")], 400, "PARSE_ERROR"),
        (
            vec![("q", "wombat"), ("channel_id", "x")],
            400,
            "PARSE_ERROR",
        ),
        (
            vec![
                ("q", "wombat"),
                ("channel_id", "00000000-0000-0000-0000-000000000042"),
            ],
            404,
            "NOT_FOUND",
        ),
        (
            vec![("q", "wombat"), ("channel_id", product.as_str())],
            403,
            "FORBIDDEN",
        ),
    ] {
        let (got, body) = app.search(Some(&carol), &params).await;
        assert_eq!(
            (got, body["code"].as_str()),
            (status, Some(code)),
            "{params:?}: {body}"
        );
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
    }
    let (status, _) = app.search(None, &[("q", "wombat")]).await;
    assert_eq!(status, 401);
    for q in [
        "\"wombat\" OR prod*",
        "NEAR(wombat deploy)",
        "wombat:* & !deploy",
        "near:wombat",
        "wombat -deploy",
        "(wombat) | 'deploy'",
    ] {
        assert_eq!(
            app.found(&p.bob, &[("q", q)]).await,
            ["wombat OR near: the prod* deploy"],
            "query {q:?}"
        );
    }
    // A limit over the largest page is lowered to it.
    let (status, _) = app
        .search(Some(&p.bob), &[("q", "wombat"), ("limit", "100000")])
        .await;
    assert_eq!(status, 200);
    // A limit of exactly 200 characters is fine.
    let exact = format!("wombat {}", "x".repeat(193));
    let (status, _) = app.search(Some(&p.bob), &[("q", exact.as_str())]).await;
    assert_eq!(status, 200);
}

/// Messages the index does not hold (Postgres: the words table and the
/// channels' marks emptied; SQLite: the index file removed, as after the
/// upgrade that gave the index a file of its own) are found once the
/// server has started and worked through them in the background.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_stored_before_search_are_found_after_a_restart() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    p.a.send_ok("platypus one").await;
    p.a.send_ok("platypus two").await;
    assert_eq!(app.found(&p.bob, &[("q", "platypus")]).await.len(), 2);
    let mut db = app.db().await;
    let sqlite = matches!(db, TestDb::Sqlite(_));
    if !sqlite {
        // As a database whose messages the indexer has not reached (search
        // turned on after a while off, or the words lost): no words, and
        // the channels' marks at the start.
        db.execute("TRUNCATE message_words, search_marks", vec![])
            .await;
    }
    drop(db);
    drop(p);
    let dir = app.stop().await;
    if sqlite {
        // As after the upgrade that moved the index into a file of its
        // own, or with that file lost: the server builds it again.
        for file in ["chat.db-search", "chat.db-search-wal", "chat.db-search-shm"] {
            let path = dir.path().join(file);
            if path.exists() {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }
    let app = spawn_app_in(dir, |s| s.admin_key = Some(ADMIN_KEY.into())).await;
    let (bob, _) = app.login(BOB).await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let found = app.found(&bob, &[("q", "platypus")]).await;
        if found == ["platypus two", "platypus one"] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "older messages were not indexed: {found:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_index_matches_messages(&app).await;
}

/// With search turned off (`CHAT_SEARCH=false`) every query is refused
/// with 404 and new messages are stored without their words. Turned on
/// again, the index catches up in the background: the messages stored,
/// edited and deleted meanwhile are found (or not) by their current text
/// only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_turned_off_refuses_queries_and_catches_up_when_on_again() {
    let app = app().await;
    let mut p = app.alice_and_bob_in("General").await;
    let indexed = p.a.send_ok("narwhal before the pause").await;
    let doomed = p.a.send_ok("narwhal to delete while off").await;
    assert_eq!(app.found(&p.bob, &[("q", "narwhal")]).await.len(), 2);
    drop(p);
    let id = |m: &Value| m["id"].as_str().unwrap().to_string();

    let dir = app.stop().await;
    let app = spawn_app_in(dir, |s| {
        s.admin_key = Some(ADMIN_KEY.into());
        s.search = false;
    })
    .await;
    let mut p = app.alice_and_bob_in("General").await;
    let (status, body) = app.search(Some(&p.bob), &[("q", "narwhal")]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{body}"
    );
    assert!(
        body["error"].as_str().unwrap_or("").contains("turned off"),
        "{body}"
    );
    // Even a query that would be refused as input gets the same answer.
    let (status, _) = app.search(Some(&p.bob), &[("q", "")]).await;
    assert_eq!(status, 404);
    let cookie = app.login_cookie(BOB).await;
    let (status, _) = app
        .server_fn("search_messages", Some(&cookie), &[("q", "narwhal")])
        .await;
    assert_eq!(status, 404);

    p.a.send_ok("narwhal while search is off").await;
    let edited_off = p.a.send_ok("narwhal stored off, walrus draft").await;
    for (message, text) in [
        (&indexed, "narwhal renamed tusk"),
        (&edited_off, "narwhal stored off, final pod"),
    ] {
        let (status, body) = app
            .edit(&p.alice, &p.channel, &id(message), json!({ "text": text }))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _) = app.delete(&p.alice, &p.channel, &id(&doomed)).await;
    assert_eq!(status, 200);
    drop(p);

    let dir = app.stop().await;
    let app = spawn_app_in(dir, |s| {
        s.admin_key = Some(ADMIN_KEY.into());
    })
    .await;
    let (bob, _) = app.login(BOB).await;
    let expected = [
        "narwhal stored off, final pod",
        "narwhal while search is off",
        "narwhal renamed tusk",
    ];
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let found = app.found(&bob, &[("q", "narwhal")]).await;
        if found == expected {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the messages stored while search was off were not indexed: {found:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Current words only: the old ones of both edits find nothing.
    for old in ["pause", "walrus", "delete"] {
        assert_eq!(
            app.found(&bob, &[("q", old)]).await,
            Vec::<String>::new(),
            "{old}"
        );
    }
    assert_eq!(
        app.found(&bob, &[("q", "tusk")]).await,
        ["narwhal renamed tusk"]
    );
    assert_index_matches_messages(&app).await;
}
