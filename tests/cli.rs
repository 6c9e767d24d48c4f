//! The `chat` binary's command line: subcommands, configuration layering
//! (file, then environment, then flags), bad settings named at start-up,
//! and the admin subcommands against a running server.

#[path = "api/helpers.rs"]
mod helpers;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use uuid::Uuid;

use crate::helpers::*;

/// Runs the binary in `dir` with a clean chat environment plus `env`.
fn chat(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat"));
    cmd.current_dir(dir).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("CHAT_")
            || k.starts_with("LEPTOS_")
            || k == "DATABASE_URL"
            || k.starts_with("JWT_")
        {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run the chat binary")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `--help` lists the subcommands.
#[test]
fn help_lists_the_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let out = chat(dir.path(), &["--help"], &[]);
    assert!(out.status.success());
    for sub in ["serve", "check-config", "admin"] {
        assert!(text(&out).contains(sub), "{sub} missing: {}", text(&out));
    }
}

/// Settings layer: defaults, then the file, then the environment, then flags; secrets are never printed.
#[test]
fn flags_override_the_environment_which_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("chat.toml"),
        "[chat]\ndata_dir = \"/from-file\"\n[chat.limits]\nrate_burst = 7\n",
    )
    .unwrap();
    let line = |out: &Output, key: &str| -> String {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_default()
            .to_string()
    };
    let file = ["--config", "chat.toml", "check-config"];
    let out = chat(dir.path(), &file, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(line(&out, "data_dir"), "data_dir = /from-file");
    assert!(text(&out).contains("rate_burst: 7"), "{}", text(&out));
    let env = [
        ("CHAT_DATA_DIR", "/from-env"),
        ("JWT_SECRET", "do-not-print-this-secret-0123456789"),
    ];
    let out = chat(dir.path(), &file, &env);
    assert_eq!(line(&out, "data_dir"), "data_dir = /from-env");
    let out = chat(
        dir.path(),
        &[
            "--config",
            "chat.toml",
            "check-config",
            "--data-dir",
            "/from-flag",
        ],
        &env,
    );
    assert_eq!(line(&out, "data_dir"), "data_dir = /from-flag");
    assert!(
        !text(&out).contains("do-not-print-this-secret"),
        "{}",
        text(&out)
    );
}

/// Arguments, environment, and the setting the error must name.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

/// A bad setting stops the server at start-up with exit code 2 and a message that names it.
#[test]
fn bad_settings_fail_at_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[chat]\nno_such_key = 1\n").unwrap();
    let cases: [Case; 5] = [
        (&["check-config"], &[("CHAT_RATE_BURST", "0")], "rate_burst"),
        (
            &["check-config"],
            &[("CHAT_MAX_TEXT_CHARS", "many")],
            "CHAT_MAX_TEXT_CHARS",
        ),
        (&["check-config", "--addr", "nowhere"], &[], "--addr"),
        (
            &["--config", "bad.toml", "check-config"],
            &[],
            "no_such_key",
        ),
        (&["serve"], &[("CHAT_ADMIN_KEY", "short")], "CHAT_ADMIN_KEY"),
    ];
    for (args, env, named) in cases {
        let out = chat(dir.path(), args, env);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?} {env:?}: {}",
            text(&out)
        );
        assert!(
            text(&out).contains(named),
            "{args:?} {env:?} should name {named}: {}",
            text(&out)
        );
    }
}

/// `chat admin` calls a running server's admin API: create a tablo, grant and revoke; a wrong key fails with exit code 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_subcommands_call_the_admin_api() {
    const KEY: &str = "cli-admin-key-0123456789abcdef0123456789";
    let app = spawn_app_with(|s| s.admin_key = Some(KEY.into())).await;
    let (alice, alice_id) = app.login(ALICE).await;
    let dir = tempfile::tempdir().unwrap();
    let server = app.address.clone();
    let tablo = Uuid::new_v4().to_string();
    let run = move |args: Vec<String>, key: &'static str| {
        let dir = dir.path().to_path_buf();
        let server = server.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut all = vec!["admin".to_string(), "--server".into(), server];
                all.extend(args);
                let refs: Vec<&str> = all.iter().map(String::as_str).collect();
                chat(&dir, &refs, &[("CHAT_ADMIN_KEY", key)])
            })
            .await
            .unwrap()
        }
    };
    let names = |v: Value| -> Vec<String> {
        v["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    let out = run(
        s(&["put-tablo", &tablo, "--name", "Ops", "--color", "#0ea5e9"]),
        KEY,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = run(s(&["grant", &tablo, &alice_id]), KEY).await;
    assert!(out.status.success(), "{}", text(&out));
    let list: Value = app
        .get("/chat/channels", Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    assert!(names(list).contains(&"Ops".to_string()));
    let out = run(s(&["revoke", &tablo, &alice_id]), KEY).await;
    assert!(out.status.success(), "{}", text(&out));
    let list: Value = app
        .get("/chat/channels", Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    assert!(!names(list).contains(&"Ops".to_string()));

    let out = run(
        s(&["delete-tablo", &tablo]),
        "wrong-key-0123456789abcdef0123456789",
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("401"), "{}", text(&out));
}
