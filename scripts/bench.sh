#!/usr/bin/env bash
# The benchmarks of docs/BENCHMARKS.md: builds the release server and the
# load generator, starts a throwaway PostgreSQL cluster (for the durable-write
# scenario and the reaction storm there), runs every scenario three times and
# prints a table of medians (also written to target/bench/results.md with the
# date, machine and commit).
#
#   bash scripts/bench.sh                  # full sizes: about 25 minutes
#   bash scripts/bench.sh --quick          # small sizes, one run: about 1 minute
#   bash scripts/bench.sh writes,history   # some scenarios only
#   BENCH_RUNS=1 bash scripts/bench.sh     # one run per scenario
#   BENCH_RUNS=1 bash scripts/bench.sh compare  # ours beside the Node.js
#                                          # reference (bench/node-ref), ratios
#
# Everything runs on loopback and stops by itself.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CHAT_ROOT"

runs="${BENCH_RUNS:-3}"
args=()
for a in "$@"; do
  case "$a" in
    --quick) runs=1; args+=("$a") ;;
    *) args+=("$a") ;;
  esac
done

bash scripts/setup.sh
# The Node.js reference server of `compare`: its pinned packages, once.
if [[ " ${args[*]:-} " == *compare* ]]; then
  node_ref_packages
  export LOADGEN_NODE_REF="$CHAT_ROOT/bench/node-ref/run.sh"
fi
section "release build (server and load generator)"
cargo build --release --features ssr --bin chat --bin loadgen

pg_dir="$(mktemp -d "${TMPDIR:-/tmp}/chat-bench-pg.XXXXXX")"
pg_port="$(free_port)"
trap 'bash scripts/pg.sh stop "$pg_dir"' EXIT
pg_url="$(bash scripts/pg.sh start "$pg_dir" "$pg_port")"

mkdir -p target/bench
out=target/bench/results.md
{
  echo "Run on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown),"
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
  echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr); medians of $runs runs."
  echo
} > "$out"
section "loadgen (${runs} runs per scenario)"
"$CARGO_TARGET_DIR/release/loadgen" --runs "$runs" --postgres "$pg_url" \
  --out target/bench/table.md "${args[@]}"
cat target/bench/table.md >> "$out"
section "results (also in $out)"
cat "$out"
