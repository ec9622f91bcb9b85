#!/usr/bin/env bash
# PostgreSQL benchmark of the ferrum server (issue 17, item 12): the patients point read and
# insert, beside the least a server can do for the same rows.
#
# Creates a fresh PostgreSQL database (dropped on exit), starts a release ferrum on it (which
# migrates it) and the reference, crates/server/examples/pg_reference.rs: plain axum with no
# middleware running Ferrum's own SELECT and INSERT ... RETURNING on the same table, once through
# tokio-postgres with deadpool-postgres and a cached prepared statement, once through sqlx, each
# over a pool of 16 as Ferrum's. After one patient is created, wrk runs in ROUNDS interleaved
# rounds against:
#   GET  /api/v1/patients/1 (ferrum, bearer), /tp/patients/1, /sqlx/patients/1 (reference)
#   POST /api/v1/patients   (ferrum, bearer), /tp/patients,   /sqlx/patients   (reference)
# every POST with the same JSON body (the reference ignores the token), so that a shared
# machine's load changes touch them all alike; then `pgbench -S` alone for a while, the
# database's own ceiling for a point read on these cores.
# Prints a markdown table: each one's req/s (median of the rounds), its ratio to the fastest
# reference (median of the rounds' ratios), p50 and p99 (last round) and non-2xx counts (all
# rounds); and whether Ferrum reaches issue 17's goal, 0.9x of the fastest reference, for GET
# and for POST.
#
# Ferrum runs as configured by default (request ids, the JSON access log at info to a file,
# metrics, compression negotiation; no rate limit, no CORS), with a token from
# `ferrum token --scope patients`.
#
# Requirements: curl, psql, a PostgreSQL server that lets its user create databases, and wrk.
# When wrk is missing the script installs it with
#   apt-get update -qq && apt-get install -y -qq wrk
# (the only thing it fetches from the network; needs root or passwordless sudo). pgbench, when
# present, gives the database's own figure; without it that row is left out.
#
# Environment:
#   DURATION          wrk duration per request and round (default 5s)
#   ROUNDS            interleaved rounds (default 3)
#   THREADS           wrk threads (default 2)
#   CONNS             wrk connections (default 64)
#   PGBENCH_SECONDS   how long pgbench -S runs (default 5; 0 leaves it out)
#   POSTGRES_URL      server to create the database on (default postgres://postgres@127.0.0.1:5432/postgres)
#   PORT              first loopback port to try (default 18399; the next free ones are used)
#   FERRUM_BIN        server binary to use; when unset, `cargo build --release -p ferrum-server`
#                     is run at the repository root and target/release/ferrum is used.
#   PG_REFERENCE_BIN  reference binary to use; when unset, it is built in release likewise.
#
# Usage: DURATION=5s ROUNDS=3 bash bench/pg.sh
set -euo pipefail

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
PGBENCH_SECONDS=${PGBENCH_SECONDS:-5}
POSTGRES_URL=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${PORT:-18399}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMMAND="DURATION=$DURATION ROUNDS=$ROUNDS bash bench/pg.sh"
# shellcheck source=../scripts/lib.sh
. "$ROOT/scripts/lib.sh"

ferrum_require wrk wrk "wrk not found; installing it with apt-get"
command -v curl >/dev/null 2>&1 || die "curl is required"

ferrum_binary release
PG_REFERENCE=${PG_REFERENCE_BIN:-$(ferrum_example pg_reference)}
[ -x "$PG_REFERENCE" ] || die "no reference server at $PG_REFERENCE"

ferrum_tempdir ferrum-pg-bench
ferrum_postgres_database ferrum_bench_pg
# Plain TCP for both: the reference connects without TLS, and Ferrum's default (libpq's
# `sslmode=prefer`) would encrypt every query on a server that offers TLS, which measured the
# cipher rather than the read path (BENCHMARKS.md).
DATABASE_URL="$DATABASE_URL?sslmode=disable"
PG_VERSION=$(psql -tA "$DATABASE_URL" -c 'SHOW server_version')
PORT=$(ferrum_free_port "$PORT")
ferrum_start_server
ferrum_wait_ready
log "ferrum ready in ${READY_MS} ms on $DATABASE_URL (pid $SERVER_PID, port $PORT)"

TOKEN=$("$BIN" token --scope patients)
ferrum_seed_patient
# The reference, on the table ferrum has just migrated.
ferrum_beside REF "$PG_REFERENCE" 127.0.0.1:PORT "$DATABASE_URL"
REF=http://127.0.0.1:$REF_PORT
for driver in tp sqlx; do
    status=$(curl -sS -o /dev/null -w '%{http_code}' "$REF/$driver/patients/$PATIENT_ID")
    [ "$status" = 200 ] || die "the reference's GET /$driver/patients/$PATIENT_ID answered $status"
    status=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "$PATIENT_BODY" "$REF/$driver/patients")
    [ "$status" = 201 ] || die "the reference's POST /$driver/patients answered $status"
done

# --- wrk, interleaved rounds --------------------------------------------------------------
for r in $(seq 1 "$ROUNDS"); do
    log "round $r of $ROUNDS"
    wrk_round get -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/patients/$PATIENT_ID"
    wrk_round get_tp "$REF/tp/patients/$PATIENT_ID"
    wrk_round get_sqlx "$REF/sqlx/patients/$PATIENT_ID"
    wrk_round post -s "$TMP/post.lua" "$BASE/api/v1/patients"
    wrk_round post_tp -s "$TMP/post.lua" "$REF/tp/patients"
    wrk_round post_sqlx -s "$TMP/post.lua" "$REF/sqlx/patients"
done
NAMES=(get get_tp get_sqlx post post_tp post_sqlx)

# --- the database alone -------------------------------------------------------------------
PGBENCH_ROW=
if [ "$PGBENCH_SECONDS" -gt 0 ] && command -v pgbench >/dev/null 2>&1; then
    PGBENCH_ARGS=(-n -S -M prepared -c 16 -j "$THREADS" -T "$PGBENCH_SECONDS")
    log "pgbench ${PGBENCH_ARGS[*]} (after pgbench -i -s 1)"
    pgbench -i -q -s 1 "$DATABASE_URL" >"$TMP/pgbench-init.txt" 2>&1 || { cat "$TMP/pgbench-init.txt" >&2; die "pgbench -i failed"; }
    pgbench "${PGBENCH_ARGS[@]}" "$DATABASE_URL" >"$TMP/pgbench.txt" 2>&1 || { cat "$TMP/pgbench.txt" >&2; die "pgbench failed"; }
    cat "$TMP/pgbench.txt" >&2
    TPS=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$TMP/pgbench.txt")
    PGBENCH_ROW="| the database alone: \`pgbench ${PGBENCH_ARGS[*]}\` (scale 1, point reads by primary key; one run) | $TPS TPS | | | | |"
fi

# --- report -------------------------------------------------------------------------------
median() { rounds "$1" | spread | awk '{ print $1 }'; }
# fastest A B: the name of the one with the higher median req/s.
fastest() { awk -v a="$(median "$1")" -v b="$(median "$2")" -v x="$1" -v y="$2" 'BEGIN { print (a >= b) ? x : y }'; }
# goal NAME REF: whether NAME's median ratio to REF reaches 0.9x.
goal() {
    local r
    r=$(round_ratios "$1" "$2")
    awk -v r="${r%%x*}" 'BEGIN { print (r >= 0.9) ? "met" : "not met" }'
}
GET_REF=$(fastest get_tp get_sqlx)
POST_REF=$(fastest post_tp post_sqlx)
# row LABEL NAME REF: one line of the table.
row() {
    local p50="P50_$2" p99="P99_$2"
    printf '| %s | %s | %s | %s ms | %s ms | %s |\n' "$1" "$(round_median "$2")" "$(round_ratios "$2" "$3")" \
        "${!p50}" "${!p99}" "${BAD[$2]}"
}
label() { case $1 in *_tp) echo "tokio-postgres + deadpool-postgres, prepare_cached" ;; *_sqlx) echo sqlx ;; esac; }
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
CPU=${CPU:-unknown}

cat <<EOF

## PostgreSQL benchmark

- Command: \`$COMMAND\` (wrk -t$THREADS -c$CONNS -d$DURATION --latency per request and round, $ROUNDS interleaved rounds, loopback)
- Machine: $(nproc) cores, $(uname -m), ${CPU}; wrk, PostgreSQL and the servers share the same cores
- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Database: PostgreSQL $PG_VERSION on the same machine, a fresh database; the GETs read patient $PATIENT_ID, the POSTs insert \`$PATIENT_BODY\`
- Ferrum: release build, default configuration (access log at info, JSON, to a file; metrics and compression on; no CORS, no rate limit), pool of 16 (its default)
- Reference: crates/server/examples/pg_reference.rs, plain axum with no middleware, Ferrum's own SELECT and INSERT ... RETURNING, a pool of 16 per driver
- req/s: median of the rounds (range); vs the fastest reference: median of the rounds' ratios to the reference driver with the higher median (range); p50 and p99: last round; non-2xx: all rounds

| Request | req/s | vs the fastest reference | p50 | p99 | non-2xx |
|---|---:|---:|---:|---:|---:|
$(row "Ferrum GET /api/v1/patients/$PATIENT_ID (bearer)" get "$GET_REF")
$(row "reference GET, $(label get_tp)" get_tp "$GET_REF")
$(row "reference GET, $(label get_sqlx)" get_sqlx "$GET_REF")
$(row "Ferrum POST /api/v1/patients (bearer)" post "$POST_REF")
$(row "reference POST, $(label post_tp)" post_tp "$POST_REF")
$(row "reference POST, $(label post_sqlx)" post_sqlx "$POST_REF")
$PGBENCH_ROW

- Goal (issue 17): Ferrum at 0.9x of the fastest reference or better. GET: $(round_ratios get "$GET_REF") of $(label "$GET_REF"), $(goal get "$GET_REF"); POST: $(round_ratios post "$POST_REF") of $(label "$POST_REF"), $(goal post "$POST_REF")
- Socket errors (last round): $(for name in "${NAMES[@]}"; do ename="ERRS_$name"; printf '%s: %s\n' "$name" "${!ename}"; done | paste -sd ';' | sed 's/;/; /g')
EOF

if grep -q . "$TMP/REF.log"; then
    log ""
    log "reference log (errors): $(wc -l <"$TMP/REF.log") lines, the last five:"
    tail -n 5 "$TMP/REF.log" >&2
fi
ferrum_log_summary
