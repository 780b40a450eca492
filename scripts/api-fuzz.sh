#!/usr/bin/env bash
# OpenAPI-driven fuzzing of the HTTP API: schemathesis (from PyPI, in a virtual environment under
# target/) reads /api/v1/openapi.json from a real `graduatorie serve --demo` on a throwaway SQLite
# database and sends thousands of generated requests, once as a family and once as a front-desk
# operator. It fails on any 5xx, any response that breaks the document (status, content type,
# headers, body schema), any schema-invalid request accepted, and on a panic or a codice fiscale in
# the server's log. Settings and their reasons: scripts/schemathesis.toml, docs/testing.md.
#
#   API_FUZZ_SECONDS  time budget per role (default 60)
#   BIN               the graduatorie binary (default ./target/debug/graduatorie)
set -euo pipefail

seconds="${API_FUZZ_SECONDS:-60}"
bin="${BIN:-./target/debug/graduatorie}"
venv="${API_FUZZ_VENV:-target/api-fuzz-venv}"
version="4.32.5"
here="$(cd "$(dirname "$0")" && pwd)"

fail() { echo "error: $*" >&2; exit 1; }
[[ -x "$bin" ]] || fail "$bin not found: build it first (cargo build --bin graduatorie)"

if ! "$venv/bin/python" -c "import sys, importlib.metadata as m; sys.exit(m.version('schemathesis') != '$version')" 2>/dev/null; then
  echo "api-fuzz: installing schemathesis $version into $venv" >&2
  python3 -m venv "$venv" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version" \
    || fail "could not install schemathesis $version from PyPI"
fi
py="$venv/bin/python"

dir="$(mktemp -d /tmp/graduatorie-api-fuzz.XXXXXX)"
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

GRADUATORIE__RATE_LIMIT__ENABLED=false GRADUATORIE__LOG__FORMAT=json GRADUATORIE__LOG__LEVEL=info \
  "$bin" serve --demo --bind 127.0.0.1:0 --database-url "sqlite://$dir/db.sqlite" >"$dir/out" 2>"$dir/log" &
server=$!
base=""
for _ in $(seq 1 300); do
  base="$(sed -n 's/^graduatorie listening on \(http:[^ ]*\)$/\1/p' "$dir/out")"
  [[ -n "$base" ]] && break
  kill -0 "$server" 2>/dev/null || { cat "$dir/log" >&2; fail "the server did not start"; }
  sleep 0.2
done
[[ -n "$base" ]] || fail "the server did not say where it listens within 60 s"

cf="RSSMRA80A01H501U"
token() { # PATH JSON -> the token of a login
  "$py" - "$base$1" "$2" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["token"])
PY
}
family="$(token /api/v1/auth/dev-login "{\"codice_fiscale\": \"$cf\"}")"
operator="$(token /api/v1/auth/login '{"login": "sportello.bastiglia", "password": "demo-graduatorie"}')"

status=0
for role in family operator; do
  tok="$family"; [[ "$role" == operator ]] && tok="$operator"
  echo "api-fuzz: $role, ${seconds}s against $base" >&2
  # Logout is left out: it would end the session the run uses.
  if "$py" "$here/schemathesis-run.py" --config-file "$here/schemathesis.toml" run "$base/api/v1/openapi.json" \
      -H "Authorization: Bearer $tok" --exclude-path /api/v1/auth/logout \
      --max-time "$seconds" --workers 2 --report junit --report-dir "$dir/$role" >"$dir/$role.txt" 2>&1; then
    :
  else
    status=1
    cat "$dir/$role.txt" >&2
  fi
  echo "api-fuzz: $role: $(grep -E '^ *[0-9]+ generated' "$dir/$role.txt" | tr -s ' ' | sed 's/^ //');" \
    "stateful links: $(grep -m1 -E 'API Links:' "$dir/$role.txt" | sed 's/.*API Links: *//')" >&2
done

if grep -q 'panicked' "$dir/log"; then grep 'panicked' "$dir/log" >&2; echo "error: the server panicked" >&2; status=1; fi
if grep -q '"status":5[0-9][0-9]' "$dir/log"; then
  echo "error: the server answered 5xx:" >&2; grep '"status":5[0-9][0-9]' "$dir/log" | head -5 >&2; status=1
fi
if grep -q "$cf" "$dir/log"; then echo "error: a codice fiscale reached the server's log" >&2; status=1; fi
requests="$(grep -c '"message":"request"' "$dir/log" || true)"
echo "api-fuzz: the server logged $requests requests, no 5xx, no panic, no codice fiscale" >&2
[[ "$status" -eq 0 ]] || fail "the API fuzz run found problems (above)"
