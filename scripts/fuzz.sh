#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis against the server's own /openapi.json (issue 3): every
# operation the document lists (all the server mounts but the CPU profiler, see below), with an
# admin token, every check schemathesis has (no 5xx; every status, content type, header and body
# as documented; schema-valid data accepted and invalid data refused; resources really created
# and deleted...), a fixed seed and a fixed example budget.
# Exits non-zero when schemathesis reports any failure or error. Results: RELIABILITY.md.
#
# It runs once per backend, each time on a fresh release server in development mode (so
# /generate-token gives the admin token) over a fresh database: a SQLite file in a temp dir, and a
# PostgreSQL database created for the run and dropped afterwards, since PostgreSQL refuses things
# SQLite accepts (U+0000 in text, for one).
#
# Requirements: curl, python3 with venv, and for PostgreSQL psql and a server that lets the
# postgres user in. schemathesis (pinned below) is installed with pip into target/fuzz/venv when
# that venv lacks it: the only thing the script fetches.
#
# Environment:
#   BACKENDS      which databases, `sqlite postgres` by default; PostgreSQL unreachable is a failure
#   POSTGRES_URL  server to create the fuzz database on (default postgres://postgres@127.0.0.1:5432/test)
#   EXAMPLES      examples per operation and phase (default 500)
#   SEED          hypothesis seed (default 3)
#   PORT          first loopback port to try (default 18299; the next free one is used)
#   OUT           where the reports go (default target/fuzz)
#   FERRUM_BIN    server binary to use; when unset, `cargo build --release -p ferrum-server`
#
# Usage: bash scripts/fuzz.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCHEMATHESIS_VERSION=4.32.5
BACKENDS=${BACKENDS:-sqlite postgres}
POSTGRES_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
EXAMPLES=${EXAMPLES:-500}
SEED=${SEED:-3}
PORT=${PORT:-18299}
OUT=${OUT:-$ROOT/target/fuzz}
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

# --- schemathesis -------------------------------------------------------------------------
VENV=$ROOT/target/fuzz/venv
ST=$VENV/bin/st
if ! "$ST" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
    log "installing schemathesis $SCHEMATHESIS_VERSION with pip into $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install -y python3-venv)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
fi
"$ST" --version | grep -qF "$SCHEMATHESIS_VERSION" || die "schemathesis $SCHEMATHESIS_VERSION is still missing"
command -v curl >/dev/null 2>&1 || die "curl is required"

ferrum_binary release
ferrum_tempdir ferrum-fuzz
# Every operation the server can mount, but for the CPU profiler: an accepted profile samples for
# its whole 1 to 60 seconds, which no example budget affords (its own tests cover it). /admin/*
# is mounted whenever this binary has the --admin switch.
ADMIN=()
if "$BIN" serve --help 2>/dev/null | grep -q -- '--admin'; then ADMIN=(--admin); fi
mkdir -p "$OUT"

# --- one run per backend ------------------------------------------------------------------
# fuzz BACKEND: a fresh server over a fresh database, schemathesis against it; 0 when clean.
fuzz() {
    local backend=$1 status=0
    case $backend in
        sqlite) DATABASE_URL= ;;
        postgres) ferrum_postgres_database ferrum_fuzz ;;
        *) die "unknown backend $backend (sqlite or postgres)" ;;
    esac
    PORT=$(ferrum_free_port "$PORT")
    ferrum_start_server --env development "${ADMIN[@]}"
    ferrum_wait_ready
    local token
    token=$(ferrum_token)
    log "== $backend: schemathesis $SCHEMATHESIS_VERSION against $BASE/openapi.json (seed $SEED, $EXAMPLES examples)"
    # schemathesis leaves out the operation its document came from, so it reads a copy of the
    # document and tests /openapi.json like the rest. One worker: the server needs the other core,
    # and the order of the cases stays reproducible. Reports go to $OUT/$backend; hypothesis keeps
    # no example database between runs.
    curl -fsS -o "$TMP/openapi.json" "$BASE/openapi.json" || die "GET /openapi.json failed"
    rm -rf "${OUT:?}/$backend"
    (cd "$TMP" && "$ST" run "$TMP/openapi.json" --url "$BASE" \
        --header "Authorization: Bearer $token" \
        --checks all \
        --seed "$SEED" --max-examples "$EXAMPLES" --workers 1 \
        --generation-database none \
        --request-timeout 10 \
        --report junit --report-dir "$OUT/$backend" \
        --no-color) >"$OUT/$backend.txt" 2>&1 || status=$?
    sed -n '/^=* SUMMARY =*$/,$p' "$OUT/$backend.txt" >&2
    if [ "$status" -ne 0 ]; then
        log "== $backend: FAILED (exit $status); the whole report is $OUT/$backend.txt"
        grep -E '"level":"(WARN|ERROR)"' "$SERVER_LOG" | grep -v 'module not built yet' | tail -n 5 >&2 || true
    fi
    ferrum_stop_server
    ferrum_drop_postgres_database
    PORT=$((PORT + 1))
    return "$status"
}

failed=()
for backend in $BACKENDS; do
    fuzz "$backend" || failed+=("$backend")
done
if [ "${#failed[@]}" -gt 0 ]; then
    die "schemathesis found failures on: ${failed[*]}"
fi
log "fuzz: no failures on $BACKENDS (reports in $OUT)"
