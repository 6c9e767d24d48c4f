#!/usr/bin/env bash
# A throwaway S3-protocol server for the file tests: moto's server mode on
# a private port of 127.0.0.1, its state in memory (gone when it stops).
# The tests make a bucket of their own each and point the chat at it with
# AWS_ENDPOINT_URL (tests/api/files.rs).
#
#   bash scripts/s3.sh start DIR PORT   # prints the endpoint URL
#   bash scripts/s3.sh stop DIR
#
# Needs the moto venv (scripts/setup.sh). Nothing outside DIR is touched;
# `stop` removes DIR.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 start DIR PORT | stop DIR"

case "$cmd" in
  start)
    port="${3:?port}"
    server="$MOTO_VENV/bin/moto_server"
    [ -x "$server" ] || die "no moto at $MOTO_VENV: run scripts/setup.sh"
    mkdir -p "$dir"
    setsid "$server" -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 300); do
      if curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
        echo "http://127.0.0.1:$port"
        exit 0
      fi
      kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/moto.log" >&2; die "moto stopped at start"; }
      sleep 0.1
    done
    cat "$dir/moto.log" >&2
    die "moto did not answer within 30 s"
    ;;
  stop)
    if [ -f "$dir/pid" ]; then
      kill "$(cat "$dir/pid")" 2>/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *)
    die "usage: $0 start DIR PORT | stop DIR"
    ;;
esac
