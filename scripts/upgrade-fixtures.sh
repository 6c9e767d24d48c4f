#!/usr/bin/env bash
# Records what this build writes to its database, as a fixture for the
# upgrade test (tests/api/upgrade.rs): demo users' messages in several
# channels, read cursors, a soft-deleted message, a revoked membership and a
# deleted channel, written through the real server, then the database (the
# SQLite file compacted, and a dump of the same on a throwaway PostgreSQL
# cluster) and the JSON routes' answers for each.
#
#   bash scripts/upgrade-fixtures.sh RELEASE    # e.g. 2026-12-01
#
# Run it on the commit of a release before a schema change, and commit
# tests/fixtures/upgrade/RELEASE/; every later build must then open that
# database and answer the same.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CHAT_ROOT"

release="${1:?usage: scripts/upgrade-fixtures.sh RELEASE}"
case "$release" in
  *[!A-Za-z0-9._-]*) die "RELEASE may use letters, digits, '.', '_' and '-' only" ;;
esac
[ ! -e "tests/fixtures/upgrade/$release" ] || die "tests/fixtures/upgrade/$release exists already"
record() {
  CHAT_UPGRADE_RELEASE="$release" cargo test --features ssr --test api \
    upgrade::record_upgrade_fixtures -- --ignored --exact
}

unset CHAT_TEST_POSTGRES
record

pg_dir="$(mktemp -d "${TMPDIR:-/tmp}/chat-pg.XXXXXX")"
trap 'bash scripts/pg.sh stop "$pg_dir"' EXIT
CHAT_TEST_POSTGRES="$(bash scripts/pg.sh start "$pg_dir" "$(free_port)")"
export CHAT_TEST_POSTGRES
record
ls -l "tests/fixtures/upgrade/$release"
