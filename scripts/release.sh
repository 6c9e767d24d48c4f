#!/usr/bin/env bash
# Builds the deployable binary: the site in release mode (small Wasm, each
# file also brotli- and gzip-compressed), then the server in release mode
# with the site compiled in. The result runs
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
# --precompress writes each site file's brotli (highest level) and gzip
# siblings, compiled in beside it and sent to browsers that accept them.
cargo leptos build --release --frontend-only --precompress
# cargo-leptos' gzip is weaker than gzip -9 (the Wasm: 489,717 bytes against
# 419,377): rewrite each .gz sibling at the highest level, without a name or
# time in the header so that a rebuild gives the same bytes.
find target/site -name '*.gz' -print0 | while IFS= read -r -d '' gz; do
  gzip -9 -n -c "${gz%.gz}" >"$gz"
done
cargo build --release --no-default-features --features embed-site --bin chat
echo "$CARGO_TARGET_DIR/release/chat"
