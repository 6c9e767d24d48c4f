#!/usr/bin/env bash
# Everything CI checks, in order, stopping at the first failure:
#   format, clippy (server and Wasm sides), Rust tests on SQLite, the API
#   tests again on a throwaway PostgreSQL cluster, a short load-generator run
#   on both databases (correctness only), the Autobahn WebSocket cases,
#   debug build and the Playwright browser tests against it, the seed's own
#   client against the server, then the release binary of
#   scripts/release.sh: its smoke test and the browser tests against it.
#
#   bash scripts/test.sh
#
# Works from a fresh clone, as root, without stdin (CI=true). Installs what is
# missing first (scripts/setup.sh).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CHAT_ROOT"

total_start=$SECONDS
current="setup"
timings=()

on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    printf '\n*** FAILED in section: %s (exit code %s) after %s s ***\n' \
      "$current" "$rc" "$((SECONDS - total_start))" >&2
  fi
}
trap on_exit EXIT

step_start=$SECONDS
# Start a section: print its header and record the previous one's time.
begin() {
  if [ -n "${current:-}" ] && [ "$current" != "$1" ]; then
    timings+=("$(printf '%5d s  %s' "$((SECONDS - step_start))" "$current")")
  fi
  current="$1"
  step_start=$SECONDS
  section "$1"
}

begin "setup"
bash scripts/setup.sh

begin "cargo fmt --check"
cargo fmt --check

begin "clippy (server, all targets, --features ssr)"
cargo clippy --all-targets --features ssr -- -D warnings

begin "clippy (browser, --lib --features hydrate, wasm32)"
cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings

begin "no import loops between files in src/"
python3 scripts/import-loops.py

# The S3-protocol server the file tests also store into (both passes):
# moto on a free loopback port (scripts/s3.sh).
s3_dir="$(mktemp -d "${TMPDIR:-/tmp}/chat-s3.XXXXXX")"
stop_s3() { bash scripts/s3.sh stop "$s3_dir"; }
trap 'rc=$?; stop_s3; (exit $rc); on_exit' EXIT
CHAT_TEST_S3="$(bash scripts/s3.sh start "$s3_dir" "$(free_port)")"
export CHAT_TEST_S3

begin "cargo test --features ssr (SQLite)"
cargo test --features ssr

# The whole API suite again on PostgreSQL: a throwaway cluster on a free
# port, one database per test app, stopped and removed afterwards.
begin "API tests on PostgreSQL"
pg_dir="$(mktemp -d "${TMPDIR:-/tmp}/chat-pg.XXXXXX")"
pg_port="$(free_port)"
stop_pg() { bash scripts/pg.sh stop "$pg_dir"; }
trap 'rc=$?; stop_pg; stop_s3; (exit $rc); on_exit' EXIT
CHAT_TEST_POSTGRES="$(bash scripts/pg.sh start "$pg_dir" "$pg_port")"
export CHAT_TEST_POSTGRES
cargo test --features ssr --test api --test cluster_kill --test storage_faults
cargo test --features ssr --lib store::postgres
stop_s3
unset CHAT_TEST_S3

# The load generator, small: real server processes and sockets, checking
# only that no receiver lost, repeated or reordered a message (timings are
# for scripts/bench.sh, never asserted here).
begin "load generator smoke (SQLite and PostgreSQL)"
build_debug_binaries
"$CARGO_TARGET_DIR/debug/loadgen" smoke --postgres "$CHAT_TEST_POSTGRES"
stop_pg
unset CHAT_TEST_POSTGRES
trap on_exit EXIT

# The Autobahn WebSocket cases against the real endpoint, compared with the
# committed verdicts (tests/autobahn/expected.txt).
begin "Autobahn WebSocket cases (kosoku)"
bash scripts/autobahn.sh

begin "cargo leptos build (debug)"
cargo leptos build

begin "Playwright (end2end) against the debug build"
(cd end2end && npx playwright test)

# The seed plan's own React hook, unchanged, in Node against the server.
begin "the seed's client (useChat) against the server"
(cd end2end && node --test seed-client/)

# What users deploy: the release binary with the site compiled in.
begin "release build (scripts/release.sh)"
bash scripts/release.sh

begin "release binary alone in an empty directory (every /pkg/ file its pages name, SIGTERM)"
bash scripts/embedded-smoke.sh release

begin "Playwright (end2end) against the release binary"
(cd end2end && CHAT_E2E_RELEASE=1 npx playwright test)

timings+=("$(printf '%5d s  %s' "$((SECONDS - step_start))" "$current")")
current="done"
section "All checks passed"
printf '%s\n' "${timings[@]}"
printf 'Total time: %d s (%dm%02ds)\n' "$((SECONDS - total_start))" \
  "$(((SECONDS - total_start) / 60))" "$(((SECONDS - total_start) % 60))"
