#!/usr/bin/env bash
# Everything CI checks, in order, stopping at the first failure:
#   format, clippy (server and Wasm sides), Rust tests, debug site build,
#   Playwright browser tests.
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

begin "cargo test --features ssr"
cargo test --features ssr

begin "cargo leptos build (debug)"
cargo leptos build

begin "Playwright (end2end)"
(cd end2end && npx playwright test)

timings+=("$(printf '%5d s  %s' "$((SECONDS - step_start))" "$current")")
current="done"
section "All checks passed"
printf '%s\n' "${timings[@]}"
printf 'Total time: %d s (%dm%02ds)\n' "$((SECONDS - total_start))" \
  "$(((SECONDS - total_start) / 60))" "$(((SECONDS - total_start) % 60))"
