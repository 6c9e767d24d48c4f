#!/usr/bin/env bash
# Where a server's CPU goes at 500 messages a second in 100 channels of 10
# (`loadgen paced`): each of its threads' CPU over 5 s of the load, and with
# --perf a whole-machine `perf record -g` over the same 5 s, its samples
# sorted into the categories of docs/BENCHMARKS.md ("At the same
# durability as Node, sample by sample") by classify.py.
#
#   bash bench/profile/profile.sh ours            # our release server (built
#                                                 # with frame pointers)
#   bash bench/profile/profile.sh ours --perf
#   bash bench/profile/profile.sh node --perf     # the Node.js reference
#   bash bench/profile/profile.sh ours --perf --server-env CHAT_SQLITE_SYNC=normal
#                                                 # ours at Node's durability
#
# Arguments after the side and --perf go to the load generator (before
# its scenario), e.g. --server-env NAME=VALUE for the server.
#
# LOADGEN_RATE / LOADGEN_CHANNELS / LOADGEN_MEMBERS / LOADGEN_SECONDS size
# the load as for `loadgen paced`. Output goes to target/profile/<side>.*.
# Everything runs on loopback and stops by itself. Sets up what is missing
# (scripts/setup.sh, perf, the reference's npm packages); `perf record -a`
# needs root or kernel.perf_event_paranoid <= -1.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
cd "$CHAT_ROOT"

side="${1:-}"
shift || true
with_perf=0
if [ "${1:-}" = "--perf" ]; then
  with_perf=1
  shift
fi
case "$side" in
  ours | node) ;;
  *) echo "usage: bash bench/profile/profile.sh ours|node [--perf]" >&2; exit 2 ;;
esac
bash scripts/setup.sh
if [ "$with_perf" = 1 ] && ! command -v perf >/dev/null; then
  section "perf (Debian package linux-perf)"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo -n)
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends linux-perf \
    || { "${sudo_cmd[@]}" apt-get update -q \
      && "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends linux-perf; }
fi

# A release build with frame pointers and line tables, in a target
# directory of its own so the ordinary release build is not rebuilt.
profile_target="${CARGO_TARGET_DIR}-profile"
section "release build with frame pointers (in $profile_target)"
CARGO_TARGET_DIR="$profile_target" CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
  RUSTFLAGS="--cfg erase_components -C force-frame-pointers=yes" \
  cargo build --release --features ssr --bin chat --bin loadgen
loadgen="$profile_target/release/loadgen"

if [ "$side" = node ]; then
  node_ref_packages
  # The load generator starts the server with an empty environment, so
  # the flag that has V8 write /tmp/perf-<pid>.map (the JIT's function
  # names, for perf) goes on node's command line, through a wrapper.
  server="$profile_target/node-ref-perf.sh"
  printf '#!/bin/sh\nexec node --perf-basic-prof "%s"\n' "$CHAT_ROOT/bench/node-ref/server.js" >"$server"
  chmod +x "$server"
else
  server="$profile_target/release/chat"
fi

out=target/profile
mkdir -p "$out"
prefix="$out/$side"
section "loadgen paced against $side"
"$loadgen" --server-bin "$server" --runs 1 "$@" paced 2>"$prefix.log" >"$prefix.table" &
loadgen_pid=$!
pid=
for _ in $(seq 600); do
  pid="$(grep -o 'server pid [0-9]*' "$prefix.log" | awk '{print $3}' || true)"
  [ -n "$pid" ] && break
  kill -0 "$loadgen_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$pid" ]; then
  cat "$prefix.log" >&2
  echo "profile: the load never started" >&2
  exit 1
fi
sleep 2 # past the start of the load

# Each thread's user+system ticks (clock ticks, usually hundredths of a
# second), by thread name and id.
ticks() {
  for t in /proc/"$pid"/task/*; do
    echo "$(tr ' ' _ <"$t/comm")-$(basename "$t") $(awk '{print $14 + $15}' "$t/stat")"
  done 2>/dev/null | sort
}
ticks >"$prefix.ticks0"
tids="$(ls /proc/"$pid"/task | paste -sd, -)"
if [ "$with_perf" = 1 ]; then
  perf record -a -g -F 999 -o "$prefix.perf.data" -- sleep 5 >/dev/null 2>&1
else
  sleep 5
fi
ticks >"$prefix.ticks1"
wait "$loadgen_pid"

section "$side: CPU ticks per thread over 5 s"
join "$prefix.ticks0" "$prefix.ticks1" | awk '{print $3 - $2, $1}' | sort -rn | awk '$1 > 0'
section "$side: the load generator's table"
cat "$prefix.table"
if [ "$with_perf" = 1 ]; then
  section "$side: the server's samples by category (all its threads)"
  perf script -i "$prefix.perf.data" 2>/dev/null | python3 bench/profile/classify.py "$tids"
fi
