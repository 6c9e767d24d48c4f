#!/usr/bin/env bash
# The first-load benchmark (end2end/bench/first-load.mjs): builds the
# release binary, then measures a cold and a warm load of a conversation in
# headless Chromium on a throttled network and CPU and prints the bytes
# transferred and the time to an interactive page (medians of 5 runs).
#
#   bash scripts/first-load.sh [--runs N]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CHAT_ROOT"
bin="$(bash scripts/release.sh | tail -n 1)"
(cd end2end && node bench/first-load.mjs --bin "$bin" "$@")
