#!/usr/bin/env bash
# Builds the site with the size-optimised release profile (`wasm-release`:
# opt-level z, LTO, one codegen unit, panic=abort, then wasm-opt) and prints
# what a browser downloads for the page's code: the Wasm and the JS glue,
# raw, gzipped (gzip -9) and as the brotli file the server sends to browsers
# that accept it. The README quotes its output.
#
#   bash scripts/wasm-size.sh
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CHAT_ROOT"

check_wasm_opt
cargo leptos build --release --frontend-only --precompress >/dev/null
pkg=target/site/pkg
total_gz=0
total_br=0
printf '%-12s %10s %10s %10s\n' file bytes gzip-9 brotli
for f in "$pkg/chat.wasm" "$pkg/chat.js"; do
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  # The brotli sibling (highest level) that the server sends.
  br=$(stat -c %s "$f.br")
  total_gz=$((total_gz + gz))
  total_br=$((total_br + br))
  printf '%-12s %10d %10d %10d\n' "$(basename "$f")" "$raw" "$gz" "$br"
done
printf '%-12s %10s %10d %10d  (brotli %d KiB)\n' total "" "$total_gz" "$total_br" "$((total_br / 1024))"
# Leave a debug site behind for the browser tests (they run the debug binary).
echo "Rebuilding the debug site for tests…" >&2
cargo leptos build --frontend-only >/dev/null
