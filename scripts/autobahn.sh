#!/usr/bin/env bash
# WebSocket conformance: the Autobahn cases (kosoku, from PyPI; compression
# cases excluded), twice:
#   1. against an echo server on the chat's own WebSocket stack
#      (examples/ws_echo.rs: our handshake checks, tungstenite reading with
#      our limits, our frame writer); every verdict is compared with
#      tests/autobahn/echo-expected.txt;
#   2. against the chat's real WebSocket endpoint (authenticated, on a
#      server with demo data): every case must run to a verdict and the
#      server must stay healthy (scripts/autobahn.py says why its verdicts
#      are not compared one by one).
#
#   bash scripts/autobahn.sh           # exit 1 on any difference or failure
#   bash scripts/autobahn.sh --write   # record the echo server's verdicts
#
# Builds what it needs (debug); needs the kosoku venv (scripts/setup.sh).
# Loopback only; reports are left in target/autobahn/.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CHAT_ROOT"

python="$KOSOKU_VENV/bin/python"
[ -x "$python" ] || die "no kosoku venv at $KOSOKU_VENV: run scripts/setup.sh"
build_debug_binaries
bin="$CARGO_TARGET_DIR/debug/chat"
echo_bin="$CARGO_TARGET_DIR/debug/examples/ws_echo"

work="$(mktemp -d)"
pid=""
echo_pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  [ -n "$echo_pid" ] && kill -KILL "$echo_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# 1. The echo server.
echo_port="$(free_port)"
"$echo_bin" "127.0.0.1:$echo_port" >"$work/echo.log" 2>&1 &
echo_pid=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$echo_port") 2>/dev/null && break
  sleep 0.1
done
rc=0
"$python" scripts/autobahn.py "ws://127.0.0.1:$echo_port/" tests/autobahn/echo-expected.txt \
  --out target/autobahn/echo "$@" || rc=$?
kill -0 "$echo_pid" 2>/dev/null || { cat "$work/echo.log" >&2; die "the echo server died during the cases"; }
kill -TERM "$echo_pid"
wait "$echo_pid" 2>/dev/null || true
echo_pid=""
[ "$rc" = 0 ] || exit "$rc"
[ "${1:-}" = "--write" ] && exit 0

# 2. The chat endpoint.
port="$(free_port)"
base="http://127.0.0.1:$port"
# Generous send limits: the cases send hundreds of frames in a burst, and
# the rate limiter answering them would only add noise to the verdicts.
(cd "$work" && exec env -i PATH="$PATH" HOME="$work" \
  CHAT_DATA_DIR="$work/data" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT="$work" \
  CHAT_DEMO_DATA=true JWT_SECRET=autobahn-secret-0123456789abcdef0123 \
  CHAT_RATE_BURST=100000 CHAT_RATE_PER_SECOND=100000 CHAT_MAX_BAD_FRAMES=100000 \
  RUST_LOG=warn "$bin" >"$work/log" 2>&1) &
pid=$!
wait_for_url "$base/readyz" 30 "$work/log" "the server did not start"

token="$(curl -sf -H 'content-type: application/json' \
  -d '{"email":"alice@example.com","password":"password"}' "$base/auth/login" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
channel="$(curl -sf -H "authorization: Bearer $token" "$base/chat/channels" \
  | python3 -c 'import json, sys; print(next(c["id"] for c in json.load(sys.stdin)["channels"] if c["name"] == "General"))')"

rc=0
"$python" scripts/autobahn.py "ws://127.0.0.1:$port/chat/ws/$channel?token=$token" \
  --survive --out target/autobahn/chat || rc=$?
kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; die "the chat server died during the cases"; }
curl -sf "$base/readyz" | grep -q '"ok":true' || { cat "$work/log" >&2; die "the chat server is unhealthy after the cases"; }
# It still chats: a login and a channel list after the cases.
curl -sf -H "authorization: Bearer $token" "$base/chat/channels" | grep -q General \
  || die "the chat server stopped answering after the cases"
kill -TERM "$pid"
wait "$pid" || true
pid=""
exit "$rc"
