#!/usr/bin/env bash
# Runs a command with GRADUATORIE_TEST_POSTGRES set to the URL of a PostgreSQL server the tests may
# create databases on. In order:
#   1. GRADUATORIE_TEST_POSTGRES already set: use it;
#   2. a server answers on 127.0.0.1:5432 and lets user postgres in: use it;
#   3. otherwise start a throwaway cluster (installing Debian's postgresql package if missing) on a
#      free port, run the command, stop the cluster and delete it.
# Fails loudly, never skips: PostgreSQL is a first-class backend.
# The throwaway cluster runs with fsync=off for speed; the tests say so to the store through the
# test-only GRADUATORIE_TEST_ONLY_SKIP_DURABILITY_CHECK setting (docs/operations.md).
# With GRADUATORIE_PG_DURABLE=1 (the throughput benchmark) it always starts its own cluster (step 3)
# and keeps PostgreSQL's durable defaults: fsync=on, synchronous_commit=on, full_page_writes=on.
set -euo pipefail

fail() { echo "error: $*" >&2; exit 1; }

durable="${GRADUATORIE_PG_DURABLE:-}"
if [[ -z "$durable" && -n "${GRADUATORIE_TEST_POSTGRES:-}" ]]; then
  exec "$@"
fi

if [[ -z "$durable" ]] && command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432 -t 2; then
  if psql -X -q -h 127.0.0.1 -p 5432 -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; then
    echo "PostgreSQL tests: using the server on 127.0.0.1:5432" >&2
    GRADUATORIE_TEST_POSTGRES="postgres://postgres@127.0.0.1:5432/postgres" exec "$@"
  fi
  fail "a PostgreSQL server answers on 127.0.0.1:5432 but user postgres cannot log in without a password;
       set GRADUATORIE_TEST_POSTGRES=postgres://USER:PASSWORD@127.0.0.1:5432/postgres (a user allowed to CREATE DATABASE)"
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z "$bindir" || ! -x "$bindir/initdb" ]]; then
  echo "PostgreSQL tests: installing Debian's postgresql package" >&2
  if [[ $(id -u) -ne 0 ]]; then fail "PostgreSQL is not installed and this user cannot install it: run 'sudo apt-get install -y postgresql'"; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; } \
    || fail "could not install the postgresql package"
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

port=""
for p in $(seq 55432 55532); do
  if ! (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[[ -n "$port" ]] || fail "no free port between 55432 and 55532 for a throwaway PostgreSQL"

dir=$(mktemp -d /tmp/graduatorie-pg.XXXXXX)
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres: "$dir"
  as_pg=(runuser -u postgres --)
fi
stop() {
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

"${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; fail "initdb failed"; }
speed="-c fsync=off -c full_page_writes=off"
throwaway=1
if [[ -n "$durable" ]]; then speed=""; throwaway=""; fi
"${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $speed -c max_connections=200" start >/dev/null \
  || { cat "$dir/server.log" >&2; fail "the throwaway PostgreSQL did not start"; }
echo "PostgreSQL: throwaway server on 127.0.0.1:$port ($bindir)${durable:+, durable settings}" >&2

set +e
if [[ -n "$throwaway" ]]; then export GRADUATORIE_TEST_POSTGRES_THROWAWAY=1; fi
GRADUATORIE_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres" "$@"
status=$?
set -e
exit $status
