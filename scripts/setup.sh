#!/usr/bin/env bash
# Install everything the chat needs to build, run and test, and nothing that is
# already there. Safe to run again: on a ready machine it only checks (a few
# seconds) and changes nothing.
#
#   bash scripts/setup.sh
#
# What it installs when missing:
#   - Debian packages: pkg-config, libssl-dev, curl (for compiling), chromium
#     and fonts-noto-color-emoji (browser tests), postgresql (the test command runs the API suite on a
#     throwaway cluster; production may use Postgres)
#   - wasm-opt for release builds: binaryen $BINARYEN_VERSION from npm (not
#     Debian's binaryen, whose wasm-opt corrupts this wasm-bindgen's output)
#   - the Rust target wasm32-unknown-unknown (rustup)
#   - cargo-leptos 0.3.10 (built from crates.io with `no_downloads`: it uses
#     wasm-bindgen and wasm-opt from PATH instead of fetching them from GitHub),
#     in the background while the rest installs and the chat's dependencies
#     compile
#   - wasm-bindgen-cli, exactly the version of the wasm-bindgen crate in
#     Cargo.lock
#   - the Playwright test runner in end2end/node_modules (npm ci)
#   - kosoku 0.1.0 (the Autobahn WebSocket cases) in a Python venv
#   - moto (an S3-protocol server for the file tests) in a Python venv
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CHAT_ROOT"

start=$SECONDS
changed=0

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo -n)
else
  SUDO=()
fi

# ---------------------------------------------------------------- Debian ----
# Two steps: what compiling needs first (so cargo-leptos can start building),
# then the large runtime packages while it builds.
apt_updated=0
install_apt() {
  local missing=() pkg status
  for pkg in "$@"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "Debian packages present: $*"
    return
  fi
  log "Installing Debian packages: ${missing[*]}"
  if [ "$apt_updated" -eq 0 ]; then
    # The package lists may be empty or old on a new machine.
    "${SUDO[@]}" apt-get update -q
    apt_updated=1
  fi
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  changed=1
}
install_apt pkg-config libssl-dev curl

# ----------------------------------------------------------- Node.js/npm ----
command -v node >/dev/null 2>&1 || die "node is missing (Node.js 20 or newer is needed for Playwright)"
command -v npm >/dev/null 2>&1 || die "npm is missing"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js $(node --version) is too old: Playwright needs 20 or newer"

# ------------------------------------------------------------------ Rust ----
command -v cargo >/dev/null 2>&1 || die "cargo is missing (install Rust with rustup)"
command -v rustup >/dev/null 2>&1 || die "rustup is missing (needed for the wasm32 target)"

for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
    log "Adding rustup component $component"
    rustup component add "$component"
    changed=1
  fi
done

if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "Rust target wasm32-unknown-unknown present"
else
  log "Adding Rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
  changed=1
fi

# cargo-leptos. `no_downloads`: nothing can be fetched from GitHub here, so it
# must use wasm-bindgen and wasm-opt from PATH.
#
# Building it is most of a fresh setup (about 20 minutes on 2 cores), and it
# keeps only about one core busy (a chain of large crates, each compiled
# mostly on one thread). So it builds in the background while everything else
# is downloaded and installed and the chat's own dependencies are compiled on
# the other core. Its release profile asks for fat LTO and one codegen unit,
# which makes a slower build of a tool whose own speed hardly matters here
# (it spends its time waiting for cargo): plain release settings instead.
cl_pid=""
cl_log="${TMPDIR:-/tmp}/chat-setup-cargo-leptos.$$.log"
cl_target=""
stop_background_build() {
  if [ -n "$cl_pid" ] && kill -0 "$cl_pid" 2>/dev/null; then
    kill -- "$cl_pid" 2>/dev/null || true
    wait "$cl_pid" 2>/dev/null || true
    [ -z "$cl_target" ] || rm -rf "$cl_target"
  fi
}
trap stop_background_build EXIT
have_cl="$(cargo leptos --version 2>/dev/null || true)"
if [ "$have_cl" = "cargo-leptos $CARGO_LEPTOS_VERSION" ] \
  || [[ "$have_cl" == *" $CARGO_LEPTOS_VERSION" ]]; then
  log "cargo-leptos $CARGO_LEPTOS_VERSION present"
else
  log "Building cargo-leptos $CARGO_LEPTOS_VERSION in the background (found: '${have_cl:-none}'; log: $cl_log)"
  # Its own target directory: in a shared one, the other builds below would
  # wait for its lock instead of running beside it.
  cl_target="$(mktemp -d "${TMPDIR:-/tmp}/chat-setup-cargo-leptos.XXXXXX")"
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked \
    --features no_downloads --force --target-dir "$cl_target" >"$cl_log" 2>&1 &
  cl_pid=$!
  changed=1
fi

# fonts-noto-color-emoji: the reactions, picker and pin emoji in the
# browser tests and screenshots (headless Chromium has no emoji font).
install_apt chromium postgresql fonts-noto-color-emoji

# wasm-bindgen CLI: must be exactly the version of the crate in Cargo.lock.
if [ ! -f Cargo.lock ]; then
  log "Cargo.lock is missing: generating it"
  cargo generate-lockfile
fi
wb_version="$(wasm_bindgen_lock_version)"
[ -n "$wb_version" ] || die "no wasm-bindgen package in Cargo.lock"
have_wb="$(wasm-bindgen --version 2>/dev/null || true)"
if [ "$have_wb" = "wasm-bindgen $wb_version" ]; then
  log "wasm-bindgen $wb_version present"
else
  log "Installing wasm-bindgen-cli $wb_version (found: '${have_wb:-none}'; takes about 5 minutes)"
  # No --locked: one of the versions in its lock file is not served by
  # crates.io any more, so a locked install fails.
  wb_target="$(mktemp -d "${TMPDIR:-/tmp}/chat-setup-wasm-bindgen.XXXXXX")"
  cargo install wasm-bindgen-cli --version "$wb_version" --force --target-dir "$wb_target"
  rm -rf "$wb_target"
  changed=1
fi

# -------------------------------------------------------------- wasm-opt ----
# binaryen's npm package, pinned, outside the clone (lib.sh puts it on PATH).
if "$BINARYEN_DIR/node_modules/.bin/wasm-opt" --version 2>/dev/null \
  | grep -q "^wasm-opt version $BINARYEN_VERSION "; then
  log "wasm-opt (binaryen $BINARYEN_VERSION) present"
else
  log "Installing binaryen $BINARYEN_VERSION (npm) into $BINARYEN_DIR"
  rm -rf "$BINARYEN_DIR"
  mkdir -p "$BINARYEN_DIR"
  npm install --prefix "$BINARYEN_DIR" --no-audit --no-fund --no-save \
    "binaryen@$BINARYEN_VERSION.0.0"
  changed=1
fi
check_wasm_opt

# ------------------------------------------------------------ Playwright ----
# Re-install when node_modules is missing or was installed from another
# package.json / package-lock.json / Node.js version.
e2e="$CHAT_ROOT/end2end"
stamp_file="$e2e/node_modules/.chat-setup-stamp"
want_stamp="$(cat "$e2e/package.json" "$e2e/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1) node-$(node --version)"
if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want_stamp" ] \
  && [ -x "$e2e/node_modules/.bin/playwright" ]; then
  log "end2end/node_modules up to date"
else
  log "Installing end2end npm packages"
  if [ -f "$e2e/package-lock.json" ]; then
    (cd "$e2e" && npm ci --no-audit --no-fund)
  else
    (cd "$e2e" && npm install --no-audit --no-fund)
    want_stamp="$(cat "$e2e/package.json" "$e2e/package-lock.json" | sha256sum | cut -d' ' -f1) node-$(node --version)"
  fi
  printf '%s\n' "$want_stamp" >"$stamp_file"
  changed=1
fi

# ------------------------------------------------- Python tools (venvs) ----
# A Python tool in a venv of its own: the distribution DIST at VERSION,
# installed (pip's REQUIREMENT) when the venv does not already have it.
python_tool() {
  local venv="$1" dist="$2" version="$3" requirement="$4" what="$5"
  if [ "$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$dist'))" 2>/dev/null)" = "$version" ]; then
    log "$dist $version present"
    return
  fi
  log "Installing $dist $version ($what) into $venv"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends python3-venv
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check "$requirement"
  changed=1
}
python_tool "$KOSOKU_VENV" kosoku "$KOSOKU_VERSION" "kosoku==$KOSOKU_VERSION" \
  "the Autobahn WebSocket cases"
python_tool "$MOTO_VENV" moto "$MOTO_VERSION" "moto[server]==$MOTO_VERSION" \
  "an S3-protocol test server"

# Playwright drives Debian's Chromium; `npx playwright install` cannot
# download browsers here.
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing"

# ------------------------------------------- while cargo-leptos builds ----
if [ -n "$cl_pid" ]; then
  # The chat's dependencies, compiled exactly as cargo-leptos will ask for
  # them (same packages, features and flags, so its first build finds them
  # done): the server, then the Wasm side.
  log "Compiling the chat's dependencies while cargo-leptos builds"
  cargo build --package=chat --bin=chat --no-default-features --features=ssr
  cargo build --package=chat --lib --target-dir="$CARGO_TARGET_DIR/front" \
    --target=wasm32-unknown-unknown --no-default-features --features=hydrate
  log "Waiting for cargo-leptos"
  if ! wait "$cl_pid"; then
    cl_pid=""
    tail -n 40 "$cl_log" >&2
    die "building cargo-leptos failed (whole log: $cl_log)"
  fi
  cl_pid=""
  rm -rf "$cl_log" "$cl_target"
  log "cargo-leptos $CARGO_LEPTOS_VERSION installed"
fi

if [ "$changed" -eq 0 ]; then
  log "Setup: nothing to do ($((SECONDS - start)) s)"
else
  log "Setup done ($((SECONDS - start)) s)"
fi
