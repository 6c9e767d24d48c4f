#!/usr/bin/env bash
# Builds the site with the size-optimised release profile (`wasm-release`:
# opt-level z, LTO, one codegen unit, panic=abort, then wasm-opt) and prints
# what a browser downloads for the page's code: the Wasm and the JS glue,
# raw and gzipped (gzip -9). The README quotes its output.
#
#   bash scripts/wasm-size.sh
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CHAT_ROOT"

check_wasm_opt
cargo leptos build --release --frontend-only >/dev/null
pkg=target/site/pkg
total=0
printf '%-12s %10s %10s\n' file bytes gzipped
for f in "$pkg/chat.wasm" "$pkg/chat.js"; do
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  total=$((total + gz))
  printf '%-12s %10d %10d\n' "$(basename "$f")" "$raw" "$gz"
done
printf '%-12s %10s %10d  (%d KiB)\n' total "" "$total" "$((total / 1024))"
# Leave a debug site behind for the browser tests (they run the debug binary).
echo "Rebuilding the debug site for tests…" >&2
cargo leptos build --frontend-only >/dev/null
