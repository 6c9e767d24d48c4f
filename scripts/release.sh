#!/usr/bin/env bash
# Builds the deployable binary: the site in release mode (small Wasm), then
# the server in release mode with the site compiled in. The result runs
# from any directory with nothing beside it; see docs/DEPLOYMENT.md.
#
#   bash scripts/release.sh          # prints the binary's path
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CHAT_ROOT"
bash scripts/setup.sh >/dev/null
# The Wasm is optimised by the wasm-opt on PATH: it must be the pinned one.
check_wasm_opt
cargo leptos build --release --frontend-only
cargo build --release --no-default-features --features embed-site --bin chat
echo "$CARGO_TARGET_DIR/release/chat"
