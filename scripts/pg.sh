#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: a fresh data directory, a
# private port on 127.0.0.1, trust authentication for the user `chat`, run
# as a non-root user (Debian's `postgres` when started as root).
#
#   bash scripts/pg.sh start DIR PORT   # prints the admin URL on stdout
#   bash scripts/pg.sh pause DIR        # stops the server, keeps its data
#   bash scripts/pg.sh resume DIR PORT  # starts a paused server again
#   bash scripts/pg.sh stop DIR
#
# Needs Debian's postgresql package (scripts/setup.sh installs it). Nothing
# outside DIR is touched; `stop` removes DIR.
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR PORT | pause DIR | resume DIR PORT | stop DIR" >&2; exit 2; }

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$bindir/initdb" ] || { echo "PostgreSQL server binaries not found (apt install postgresql)" >&2; exit 1; }

# Run as the cluster's owner: root may not run postgres.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Starts the cluster in DIR on PORT and waits until it accepts connections.
run_server() {
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $1 -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
}

case "$cmd" in
  start)
    port="${3:?port}"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U chat --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    run_server "$port"
    echo "postgres://chat@127.0.0.1:$port/postgres"
    ;;
  pause)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  resume)
    run_server "${3:?port}"
    ;;
  stop)
    if [ -d "$dir/data" ]; then
      as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start DIR PORT | pause DIR | resume DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
