# Shared by scripts/setup.sh, scripts/run.sh and scripts/test.sh (sourced, not run).
#
# Pinned tool versions and the shared environment live here so that the three
# scripts cannot drift apart.

# Repository root (this file is in <root>/scripts).
CHAT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CHAT_ROOT

# cargo-leptos 0.3.10 is the newest release that builds with Rust 1.95
# (0.3.11 needs rustc 1.96).
CARGO_LEPTOS_VERSION="0.3.10"

# kosoku (PyPI) runs the Autobahn WebSocket cases (scripts/autobahn.sh); it
# lives in a venv outside the clone, like the build directory below.
KOSOKU_VERSION="0.1.0"
export KOSOKU_VENV="${KOSOKU_VENV:-$HOME/.cache/chat-kosoku-venv}"

# moto (PyPI) in its server mode is the S3-protocol server the file tests
# store into (scripts/s3.sh): a real HTTP server speaking S3, started on
# loopback by the test command. A venv of its own, like kosoku's.
MOTO_VERSION="5.2.1"
export MOTO_VENV="${MOTO_VENV:-$HOME/.cache/chat-moto-venv}"

# wasm-opt for release builds (cargo-leptos runs it on the Wasm): binaryen's
# npm package, which ships a wasm-opt that understands what wasm-bindgen
# 0.2.130 emits. Debian's binaryen (108) finishes the build but corrupts the
# module (its `__wbindgen_externrefs` export then names the function table
# and the page dies at start-up), so ours goes first on PATH and
# scripts/release.sh checks the version it gets.
BINARYEN_VERSION="132"
export BINARYEN_DIR="${BINARYEN_DIR:-$HOME/.cache/chat-binaryen-$BINARYEN_VERSION}"
case ":$PATH:" in
  *":$BINARYEN_DIR/node_modules/.bin:"*) ;;
  *) export PATH="$BINARYEN_DIR/node_modules/.bin:$PATH" ;;
esac

# Tools installed by cargo (cargo-leptos, wasm-bindgen) live here.
CARGO_BIN_DIR="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in
  *":$CARGO_BIN_DIR:"*) ;;
  *) export PATH="$CARGO_BIN_DIR:$PATH" ;;
esac

# One target directory for every build, outside the clone. CI runs in a fresh
# clone each time, so a `target/` inside the clone would mean a cold build
# (several minutes on 2 cores) on every run; a directory under ~/.cache
# survives between runs on the same machine and is reused. Override it by
# exporting CARGO_TARGET_DIR yourself.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chat-target}"

# Every build takes its flags from .cargo/config.toml (`--cfg
# erase_components`, which must be the same for the server and the Wasm); a
# RUSTFLAGS variable would replace them.
if [ -n "${RUSTFLAGS:-}" ]; then
  printf 'ERROR: RUSTFLAGS is set (%s); unset it: the build flags live in .cargo/config.toml\n' "$RUSTFLAGS" >&2
  exit 1
fi

# Never prompt (CI runs without stdin).
export DEBIAN_FRONTEND=noninteractive
export CARGO_TERM_PROGRESS_WHEN="${CARGO_TERM_PROGRESS_WHEN:-never}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# A free TCP port on 127.0.0.1 (bound and released at once).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits up to SECONDS for URL to answer 2xx; on timeout prints LOG and
# fails with WHAT.   wait_for_url URL SECONDS LOG WHAT
wait_for_url() {
  local tries=$(($2 * 10))
  for _ in $(seq 1 "$tries"); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  cat "$3" >&2
  die "$4"
}

# Print a section header.
section() {
  printf '\n==================== %s ====================\n' "$*"
}

# The wasm-opt on PATH is the pinned one (prints its version line or fails).
check_wasm_opt() {
  local got
  got="$(wasm-opt --version 2>/dev/null || true)"
  case "$got" in
    "wasm-opt version $BINARYEN_VERSION "*) ;;
    *) die "wasm-opt on PATH is '${got:-missing}' ($(command -v wasm-opt || echo none)), not binaryen $BINARYEN_VERSION: run scripts/setup.sh" ;;
  esac
}

# The version of the `wasm-bindgen` crate that Cargo.lock resolved. The CLI
# must match it exactly.
# Builds the debug binaries (chat, loadgen, the examples) the way `cargo test`
# builds them. `cargo test` compiles the crate with its dev-dependencies'
# features (reqwest's cookies, tempfile), which `cargo build` leaves out, so
# building both ways compiles the crate twice (about 40 s). Scripts that run
# debug binaries build them with this; after `cargo test` it does nothing.
build_debug_binaries() {
  cargo test --features ssr --no-run --quiet
}

wasm_bindgen_lock_version() {
  awk '
    /^\[\[package\]\]/ { in_wb = 0 }
    /^name = "wasm-bindgen"$/ { in_wb = 1; next }
    in_wb && /^version = / { gsub(/"/, "", $3); print $3; exit }
  ' "$CHAT_ROOT/Cargo.lock"
}

# The Node.js reference server's pinned npm packages (bench/node-ref), for
# the side-by-side benchmark and the profile: installed when missing or
# older than its package-lock.json.
node_ref_packages() {
  local dir="$CHAT_ROOT/bench/node-ref"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    section "Node.js reference (npm ci in bench/node-ref)"
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
}
