#!/usr/bin/env bash
# The self-contained binary: built with the site compiled in
# (`--features embed-site`), copied alone into an empty directory, started
# there with nothing but a data directory and a port. Checks that it serves
# the login and chat pages and every site file they ask for (byte for byte
# what cargo-leptos built, with its media type, versioned names cached for
# good, the precompressed encodings and 304s when the build has them),
# /readyz, and that SIGTERM stops it cleanly within a bound.
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

# What a browser fetches: every /pkg/ file the pages name (stylesheet,
# module preload, Wasm preload, the boot script's imports), and every file
# those JS modules import in turn, must answer 200 with its media type and be
# byte for byte the built file. A fixed list of names passed here while the
# pages asked for a file that did not exist.
expected_type() {
  case "$1" in
    *.wasm) echo "application/wasm" ;;
    *.js) echo "text/javascript" ;;
    *.css) echo "text/css" ;;
    *) echo "" ;;
  esac
}
declare -A checked=()
check_site_file() { # path below the site root, e.g. pkg/chat.js
  local file="$1" want got body built etag
  [ -n "${checked[$file]:-}" ] && return 0
  checked[$file]=1
  body="$work/served/$file"
  mkdir -p "$(dirname "$body")"
  curl -sf -o "$body" -D "$body.headers" "$base/$file" || fail "/$file: not served (asked for by a page)"
  # A versioned name (pkg/chat.<16 hex>.wasm) is the built pkg/chat.wasm,
  # cached for a year; a plain name is revalidated.
  built="target/site/$(sed -E 's/\.[0-9a-f]{16}(\.[^./]+)$/\1/' <<<"$file")"
  [ -f "$built" ] || fail "/$file is served but is not in the built site"
  cmp -s "$body" "$built" || fail "/$file differs from $built"
  header() { grep -i "^$1:" "$2" | tr -d '\r' | cut -d' ' -f2-; }
  if [ "$built" != "target/site/$file" ]; then
    [ "$(header cache-control "$body.headers")" = "public, max-age=31536000, immutable" ] \
      || fail "/$file (versioned) is not cached as immutable"
  fi
  want="$(expected_type "$file")"
  got="$(header content-type "$body.headers")"
  [ -n "$got" ] || fail "/$file has no content type"
  [ -z "$want" ] || [[ "$got" == "$want"* ]] || fail "/$file is '$got', not $want"
  # The precompressed encodings, as a browser asks for them, and the 304 of
  # a revisit.
  for enc in br gzip; do
    local ext="${enc/gzip/gz}"
    [ -f "$built.$ext" ] || continue
    curl -sf -H "Accept-Encoding: $enc" -o "$body.$ext" -D "$body.$ext.headers" "$base/$file" \
      || fail "/$file ($enc) not served"
    [ "$(header content-encoding "$body.$ext.headers")" = "$enc" ] || fail "/$file is not sent as $enc"
    cmp -s "$body.$ext" "$built.$ext" || fail "/$file ($enc) differs from $built.$ext"
    etag="$(header etag "$body.$ext.headers")"
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Accept-Encoding: $enc" -H "If-None-Match: $etag" "$base/$file")" = 304 ] \
      || fail "/$file ($enc): a revisit with its ETag is not 304"
  done
  if [[ "$file" == *.js ]]; then
    # Static and dynamic imports of other modules, relative to this one.
    local dir ref
    dir="$(dirname "$file")"
    while read -r ref; do
      [ -n "$ref" ] || continue
      check_site_file "$(realpath -m --relative-to=. "$dir/$ref")"
    done < <(grep -oE "(from|import)[[:space:]]*\(?[[:space:]]*['\"][./][^'\"]+['\"]" "$body" \
      | grep -oE "['\"][^'\"]+['\"]" | tr -d "'\"" | sort -u)
  fi
}
check_page() { # URL path; cookie jar optional
  local page="$1" jar="${2:-}" ref count=0
  curl -sf ${jar:+-b "$jar"} -o "$work/page.html" "$base$page" || fail "$page not served"
  while read -r ref; do
    check_site_file "${ref#/}"
    count=$((count + 1))
  done < <(grep -oE '/pkg/[A-Za-z0-9._/-]+' "$work/page.html" | sort -u)
  [ "$count" -ge 3 ] || fail "$page names $count /pkg/ files (expected the CSS, JS and Wasm)"
  grep -q 'application/wasm' "$work/page.html" || fail "$page does not preload its Wasm"
  log "$page: $count /pkg/ files, each served as built"
}
check_page /login
curl -sf -c "$work/jar" -H 'content-type: application/json' \
  -d '{"email":"alice@example.com","password":"password"}' "$base/auth/login" >/dev/null \
  || fail "demo login failed"
check_page /chat "$work/jar"
[ "${#checked[@]}" -ge 3 ] || fail "only ${#checked[@]} site files checked"
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
