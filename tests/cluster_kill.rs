//! Two real server processes on one PostgreSQL database; one is killed with
//! SIGKILL (no goodbye, no graceful shutdown). The other keeps serving,
//! forgets the dead server's users after its missed heartbeats, and the
//! dead server's clients resume on it with nothing lost. Runs in the test
//! command's Postgres pass (`CHAT_TEST_POSTGRES`).

#[path = "api/helpers.rs"]
mod helpers;
#[path = "support/server_process.rs"]
mod server_process;

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::server_process::{free_port, ServerProcess};

/// One server process on the shared database, with heartbeats every
/// 200 ms (a dead server is forgotten after 1 s).
async fn start(data_dir: &std::path::Path, database_url: &str) -> ServerProcess {
    ServerProcess::start(
        free_port(),
        data_dir,
        Some(database_url),
        &[("CHAT_CLUSTER_SWEEP_MS", "200")],
    )
    .await
}

/// A server killed with SIGKILL: the survivor keeps delivering, takes the dead server's users offline, and their clients resume on it without loss.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_nothing() {
    if postgres_admin_url().is_none() {
        eprintln!("skipped: no CHAT_TEST_POSTGRES (SQLite run)");
        return;
    }
    let db_dir = tempfile::tempdir().unwrap();
    let database_url = postgres_database_for(db_dir.path()).await.unwrap();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = start(dir_a.path(), &database_url).await;
    let b = start(dir_b.path(), &database_url).await;
    let (alice, alice_id) = a.login(ALICE).await;
    let (bob, _) = b.login(BOB).await;
    let general = a.channel_id(&alice, "General").await;

    let (mut alice_on_a, _) = a.join(&alice, &general).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut bob_on_b = loop {
        let (ws, state) = b.join(&bob, &general).await;
        if state["userIds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u == alice_id.as_str())
        {
            break ws;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "alice never appeared on b"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let before = bob_on_b.send_ok("before the kill").await;
    let seen = alice_on_a.next_frame_of_type("message.new", WAIT).await;
    assert_eq!(seen["seq"], before["seq"]);

    a.kill();
    let offline = bob_on_b
        .next_frame_matching("alice offline", Duration::from_secs(10), |v| {
            v["type"] == "presence.update" && v["userId"] == alice_id.as_str()
        })
        .await;
    assert_eq!(offline["status"], "offline");

    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(seq(&bob_on_b.send_ok(&format!("after the kill {i}")).await));
    }
    let (mut alice_on_b, _) = b.join(&alice, &general).await;
    alice_on_b
        .send_json(&json!({"type": "resume", "afterSeq": seq(&seen)}))
        .await;
    let mut got = Vec::new();
    loop {
        let v = alice_on_b
            .next_frame_matching("replay", WAIT, |v| {
                v["type"] == "message.new" || v["type"] == "resume.done"
            })
            .await;
        if v["type"] == "resume.done" {
            break;
        }
        got.push(seq(&v));
    }
    assert_eq!(got, sent, "what alice missed while her server was dead");
}
