//! Black-box tests of the chat server's wire contract (PROTOCOL.md).
//!
//! One test binary (zero2prod style): `helpers` spawns the real
//! `Application` on port 0 with a fresh SQLite file per test, or, when
//! `CHAT_TEST_POSTGRES` names a throwaway cluster (the test command's second
//! pass), a fresh Postgres database per test; each other module covers one
//! feature, and every test is named after the rule it proves.

mod admin;
mod auth;
mod bad_input;
mod cluster;
mod connection_limit;
mod files;
mod helpers;
mod http_edges;
mod mentions;
mod message_changes;
mod operations;
mod persistence;
mod previews;
mod rest;
mod resume;
mod search;
mod server_fns;
mod site_files;
mod slow_consumer;
mod threads;
mod timeouts;
mod upgrade;
mod webhook;
mod ws_errors;
mod ws_fuzz;
mod ws_messages;
mod ws_presence_typing;
