#!/usr/bin/env bash
# Run the chat locally on SQLite with demo users and channels.
#
#   bash scripts/run.sh              # debug build
#   bash scripts/run.sh --release    # optimised build (slower to build, faster to run)
#
# Extra arguments go to `cargo leptos serve`. For development with rebuilds on
# every change, use `cargo leptos watch` instead.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CHAT_ROOT"

bash scripts/setup.sh

export CHAT_DEMO_DATA=true
export CHAT_DATA_DIR="${CHAT_DATA_DIR:-data}"
addr="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"

cat <<INFO

  The chat will be at:  http://${addr}/
  (it is ready once the server logs that it is listening; the first build takes a few minutes)

  Demo logins (password: password)
    alice@example.com
    bob@example.com
    carol@example.com

  Data (SQLite) in: ${CHAT_DATA_DIR}/chat.db    Stop with Ctrl-C.

INFO

exec cargo leptos serve "$@"
