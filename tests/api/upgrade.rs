//! Upgrades that lose nothing: a database written by an earlier release is
//! opened by this build, migrated at start, and serves every stored fact as
//! that release did.
//!
//! `tests/fixtures/upgrade/<release>/` holds what the release wrote, on
//! each backend: its SQLite file (`chat.db`) and a dump of its Postgres
//! database (`postgres.sql`, `pg_dump --inserts`), each with the answers its
//! JSON routes gave for that data (`expected-sqlite.json`,
//! `expected-postgres.json`: channels, every message page, unread counts,
//! for each demo user). `bash scripts/upgrade-fixtures.sh <release>`
//! records a new set with the code of the commit it runs on; each release
//! that changes the schema adds one, and this test checks every set on the
//! backend of the pass it runs in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::helpers::*;

const ADMIN_KEY: &str = "upgrade-fixture-admin-key-0123456789";

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade")
}

/// What the JSON routes answer for each demo user: the channel list, every
/// page of every channel's history (oldest first, 20 a page), and unread
/// counts, keyed so two recordings compare field by field.
async fn observe(app: &TestApp) -> Value {
    let mut users = BTreeMap::new();
    for email in [ALICE, BOB, CAROL] {
        let (token, _) = app.login(email).await;
        let channels = app.channels(&token).await;
        let mut histories = BTreeMap::new();
        for channel in &channels {
            let id = channel["id"].as_str().expect("channel id").to_string();
            let mut pages = Vec::new();
            let mut before: Option<String> = None;
            loop {
                let mut query = vec![("limit", "20".to_string())];
                if let Some(b) = &before {
                    query.push(("before_seq", b.clone()));
                }
                let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let page = app.history(&token, &id, &q).await;
                let oldest = page["messages"]
                    .as_array()
                    .and_then(|m| m.first())
                    .map(|m| m["seq"].to_string());
                let more = page["hasMore"].as_bool().expect("hasMore");
                pages.push(page);
                match (more, oldest) {
                    (true, Some(seq)) => before = Some(seq),
                    _ => break,
                }
            }
            histories.insert(id, pages);
        }
        let unread = app.unread(&token).await;
        users.insert(
            email.to_string(),
            json!({"channels": channels, "histories": histories, "unread": unread}),
        );
    }
    json!(users)
}

/// The fixture files of the backend this pass runs on.
fn backend_files() -> (&'static str, &'static str) {
    if postgres_admin_url().is_some() {
        ("postgres.sql", "expected-postgres.json")
    } else {
        ("chat.db", "expected-sqlite.json")
    }
}

/// Puts a release's recorded database where an app on `dir` will find it:
/// the SQLite file into the directory, or the dump into the directory's
/// Postgres database.
async fn restore(release: &Path, dir: &Path) {
    match postgres_database_for(dir).await {
        None => {
            std::fs::copy(release.join("chat.db"), dir.join("chat.db")).unwrap();
        }
        Some(url) => {
            use sqlx::Connection;
            let dump = std::fs::read_to_string(release.join("postgres.sql")).unwrap();
            // psql meta-commands (`\restrict`) are not SQL.
            let sql: String = dump
                .lines()
                .filter(|l| !l.starts_with('\\'))
                .collect::<Vec<_>>()
                .join("\n");
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(&sql)
                .execute(&mut conn)
                .await
                .expect("load the recorded dump");
        }
    }
}

/// Every recorded release's database opens, migrates and answers as it did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_of_earlier_releases_are_migrated_and_serve_the_same_facts() {
    let (database, answers) = backend_files();
    let mut releases: Vec<PathBuf> = std::fs::read_dir(fixtures_root())
        .expect("tests/fixtures/upgrade exists")
        .map(|e| e.expect("fixture dir entry").path())
        .filter(|p| p.join(database).is_file())
        .collect();
    releases.sort();
    assert!(
        !releases.is_empty(),
        "no recorded {database} to upgrade from"
    );
    for release in releases {
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(release.join(answers)).expect("recorded answers"),
        )
        .expect("recorded answers parse");
        let dir = tempfile::tempdir().unwrap();
        restore(&release, dir.path()).await;
        let app = spawn_app_in(dir, |_| {}).await;
        let now = observe(&app).await;
        for (user, facts) in expected.as_object().expect("users") {
            for part in ["channels", "histories", "unread"] {
                if let Err(path) = still_served(&facts[part], &now[user][part]) {
                    panic!(
                        "{} ({database}): {user}'s {part} changed after the upgrade at {path}:\n\
                         recorded {}\nnow      {}",
                        release.display(),
                        facts[part],
                        now[user][part]
                    );
                }
            }
        }
        app.stop().await;
    }
}

/// Whether everything `recorded` says is still served by `now`: the same
/// value for every recorded field, the same number of list items, each
/// item still serving its recorded fields. Fields a later release adds to
/// an object (the wire contract only grows) are allowed; a recorded field
/// that is missing or different is not. `Err` names the first difference.
fn still_served(recorded: &Value, now: &Value) -> Result<(), String> {
    match (recorded, now) {
        (Value::Object(old), Value::Object(new)) => {
            for (key, value) in old {
                let Some(current) = new.get(key) else {
                    return Err(format!(".{key} (missing)"));
                };
                still_served(value, current).map_err(|path| format!(".{key}{path}"))?;
            }
            Ok(())
        }
        (Value::Array(old), Value::Array(new)) => {
            if old.len() != new.len() {
                return Err(format!(" (length {} became {})", old.len(), new.len()));
            }
            for (i, (a, b)) in old.iter().zip(new).enumerate() {
                still_served(a, b).map_err(|path| format!("[{i}]{path}"))?;
            }
            Ok(())
        }
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!(" ({a} became {b})")),
    }
}

#[test]
fn recorded_facts_must_stay_but_new_fields_may_come() {
    let recorded = json!({"messages": [{"seq": 1, "text": "hi"}], "hasMore": false});
    let grown =
        json!({"messages": [{"seq": 1, "text": "hi", "rev": 0}], "hasMore": false, "headRev": 0});
    assert_eq!(still_served(&recorded, &grown), Ok(()));
    let changed = json!({"messages": [{"seq": 1, "text": "ho"}], "hasMore": false});
    assert_eq!(
        still_served(&recorded, &changed),
        Err(".messages[0].text (\"hi\" became \"ho\")".into())
    );
    let lost = json!({"messages": [{"seq": 1}], "hasMore": false});
    assert_eq!(
        still_served(&recorded, &lost),
        Err(".messages[0].text (missing)".into())
    );
    let fewer = json!({"messages": [], "hasMore": false});
    assert!(still_served(&recorded, &fewer).is_err());
}

/// Records a fixture set with this build (run by
/// scripts/upgrade-fixtures.sh, which names the release).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes fixtures; run by scripts/upgrade-fixtures.sh"]
async fn record_upgrade_fixtures() {
    let release =
        std::env::var("CHAT_UPGRADE_RELEASE").expect("CHAT_UPGRADE_RELEASE names the set");
    let app = spawn_app_with(|s| {
        generous_rate_limits(s);
        s.admin_key = Some(ADMIN_KEY.into());
    })
    .await;
    let (alice, _) = app.login(ALICE).await;
    let (bob, _) = app.login(BOB).await;
    let (carol, carol_id) = app.login(CAROL).await;
    let general = app.channel_id(&alice, "General").await;
    let product = app.channel_id(&alice, "Product").await;
    let design = app.channel_id(&alice, "Design").await;
    let random = app.channel_id(&alice, "Random").await;

    // Messages from three people in three channels, 45 in General (three
    // pages), with text that exercises escaping and Unicode.
    let mut a = app.ws_join(&alice, &general).await;
    let mut b = app.ws_join(&bob, &general).await;
    for i in 1..=30 {
        a.send_ok(&format!("alice {i}: \"quoted\" <b>not bold</b> ✓"))
            .await;
        if i % 2 == 0 {
            b.send_ok(&format!("bob {i}: 日本語 and emoji 🎉")).await;
        }
    }
    let mut b_product = app.ws_join(&bob, &product).await;
    for i in 1..=5 {
        b_product.send_ok(&format!("product note {i}")).await;
    }
    let mut c = app.ws_join(&carol, &design).await;
    for i in 1..=4 {
        c.send_ok(&format!("design idea {i}\nsecond line")).await;
    }
    let mut r = app.ws_join(&carol, &random).await;
    r.send_ok("this channel will be deleted").await;
    for ws in [a, b, b_product, c, r] {
        ws.close().await;
    }

    // Read cursors: bob read General to 20, carol read Design fully.
    assert!(app
        .mark_read(&bob, &general, Some(20))
        .await
        .status()
        .is_success());
    assert!(app
        .mark_read(&carol, &design, Some(4))
        .await
        .status()
        .is_success());
    // Deleted rows: a message hidden by soft delete, a revoked membership
    // (carol from Design), and a channel deleted with everything in it.
    let mut db = app.db().await;
    let hidden = db
        .execute(
            "UPDATE messages SET deleted_at = created_at WHERE seq = 7 \
             AND channel_id IN (SELECT id FROM tablos WHERE name = 'General')",
            vec![],
        )
        .await;
    assert_eq!(hidden, 1);
    for (method, path) in [
        (
            "DELETE",
            format!("/admin/tablos/{design}/members/{carol_id}"),
        ),
        ("DELETE", format!("/admin/tablos/{random}")),
    ] {
        let res = app
            .api
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .expect("admin call");
        assert!(
            res.status().is_success(),
            "{method} {path}: {}",
            res.status()
        );
    }

    let facts = observe(&app).await;
    let dir = app.stop().await;
    let out = fixtures_root().join(release);
    std::fs::create_dir_all(&out).unwrap();
    let (database, answers) = backend_files();
    let target = out.join(database);
    let _ = std::fs::remove_file(&target);
    match postgres_database_for(dir.path()).await {
        None => {
            // A compact copy of the whole database in one file.
            use sqlx::Connection;
            let source = format!("sqlite://{}", dir.path().join("chat.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&source)
                .await
                .expect("open the recorded database");
            sqlx::query(&format!("VACUUM INTO '{}'", target.display()))
                .execute(&mut conn)
                .await
                .expect("VACUUM INTO the fixture");
        }
        Some(url) => {
            let dumped = std::process::Command::new("pg_dump")
                .args(["--inserts", "--no-owner", "--no-privileges", "--file"])
                .arg(&target)
                .arg(&url)
                .status()
                .expect("run pg_dump");
            assert!(dumped.success(), "pg_dump failed");
        }
    }
    std::fs::write(
        out.join(answers),
        serde_json::to_string(&facts).unwrap() + "\n",
    )
    .unwrap();
}
