#!/usr/bin/env bash
# The self-contained binary: built with the site compiled in
# (`--features embed-site`), copied alone into an empty directory, started
# there with nothing but a data directory and a port. Checks that it serves
# the login page, the Wasm/JS/CSS of the site (byte for byte what cargo-leptos
# built), /readyz, and that SIGTERM stops it cleanly within a bound.
#
#   bash scripts/embedded-smoke.sh [PROFILE]     # PROFILE: debug (default) or release
#
# Needs a built site (`cargo leptos build`, or `--release`).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CHAT_ROOT"

profile="${1:-debug}"
[ -f target/site/pkg/chat.wasm ] || die "no site in target/site: run cargo leptos build first"
if [ "$profile" = release ]; then
  cargo build --release --no-default-features --features embed-site --bin chat
  bin="$CARGO_TARGET_DIR/release/chat"
else
  cargo build --no-default-features --features embed-site --bin chat
  bin="$CARGO_TARGET_DIR/debug/chat"
fi

work="$(mktemp -d)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cp "$bin" "$work/chat"
port="$(free_port)"
base="http://127.0.0.1:$port"

# Nothing but the binary; no LEPTOS_* or CHAT_* settings from our environment.
(cd "$work" && exec env -i PATH="$PATH" HOME="$work" \
  CHAT_DATA_DIR="$work/data" LEPTOS_SITE_ADDR="127.0.0.1:$port" CHAT_DEMO_DATA=true \
  ./chat >"$work/log" 2>&1) &
pid=$!
wait_for_url "$base/healthz" 10 "$work/log" "the binary did not start"

fail() { cat "$work/log" >&2; die "$*"; }
curl -sf "$base/login" | grep -q "Sign in to Chat" || fail "/login is not the login page"
curl -sf "$base/readyz" | grep -q '"ok":true' || fail "/readyz is not ready"
for file in pkg/chat.wasm pkg/chat.js pkg/chat.css; do
  curl -sf -o "$work/got" -D "$work/headers" "$base/$file" || fail "$file not served"
  cmp -s "$work/got" "target/site/$file" || fail "$file differs from the built site"
  grep -qi "^content-type: " "$work/headers" || fail "$file has no content type"
done
grep -qi "^content-type: application/wasm" <(curl -sfI "$base/pkg/chat.wasm") \
  || fail "chat.wasm is not application/wasm"
status="$(curl -s -o /dev/null -w '%{http_code}' "$base/pkg/nope.js")"
[ "$status" = 404 ] || fail "a missing file answered $status"
[ -f "$work/data/chat.db" ] || fail "no SQLite database in the data directory"

# Graceful shutdown within a bound.
kill -TERM "$pid"
for _ in $(seq 1 200); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  fail "still running 20 s after SIGTERM"
fi
wait "$pid" && rc=0 || rc=$?
pid=""
[ "$rc" = 0 ] || fail "exit code $rc after SIGTERM"
log "self-contained binary OK: served the site from an empty directory, stopped on SIGTERM"
