#!/usr/bin/env bash
# HTTP benchmark of the ferrum server (issue 2).
#
# Starts one release server on a loopback port over a fresh SQLite file, measures the time
# to ready and the resident memory, then runs wrk against three routes in one run:
#   GET /health/live, GET /api/v1/patients/1 (bearer token), POST /api/v1/patients (JSON),
# against GET /health/live on a second ferrum with every part of the stack on (CORS and the
# in-process rate limit added), and against the reference, GET /health/live on plain axum (no
# middleware, no logs: "the same route with the stack off", issue 3), and plain axum once more
# with the five headers SPEC 1.7 puts on every answer (fixed values: what they alone cost). The
# six are run in ROUNDS interleaved rounds, so that a shared machine's load changes touch them
# all alike; the table gives each one's mean.
# Prints a markdown table: req/s, ratio to /health/live, p50, p99 (last round) and non-2xx
# counts (all rounds).
#
# The first server runs as configured by default: request ids, the JSON access log at info,
# metrics and compression negotiation; CORS and the rate limit are off unless configured, so
# the second server has them on. bench/stack.sh measures the stack's parts one by one.
#
# Requirements: curl, and wrk. When wrk is missing the script installs it with
#   apt-get update -qq && apt-get install -y -qq wrk
# (the only thing it fetches from the network; needs root or passwordless sudo).
#
# Environment:
#   DURATION   wrk duration per route and round (default 5s)
#   ROUNDS     interleaved rounds (default 3)
#   THREADS    wrk threads (default 2)
#   CONNS      wrk connections (default 64)
#   PORT       first loopback port to try (default 18099; the next free one is used)
#   FERRUM_BIN server binary to use; when unset, `cargo build --release -p ferrum-server`
#              is run at the repository root and target/release/ferrum is used.
#   BEFORE_BIN an older server binary (say, the build before a change): when set, it serves the
#              same GET and POST on its own SQLite file in the same interleaved rounds, and the
#              table adds its rows and the ratio of this build to it, round by round.
#
# The server runs with its default log level (info), so access logging is part of the
# figures; logs go to a file in the temp dir and its last WARN/ERROR lines are shown.
#
# Usage: DURATION=5s ROUNDS=3 bash bench/http.sh
set -euo pipefail

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
PORT=${PORT:-18099}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMMAND="DURATION=$DURATION ROUNDS=$ROUNDS bash bench/http.sh"
# shellcheck source=../scripts/lib.sh
. "$ROOT/scripts/lib.sh"

ferrum_require wrk wrk "wrk not found; installing it with apt-get"
command -v curl >/dev/null 2>&1 || die "curl is required"

ferrum_binary release
ferrum_bare_binary

ferrum_tempdir ferrum-bench
PORT=$(ferrum_free_port "$PORT")
ferrum_start_server
ferrum_wait_ready

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"; }
sleep 0.2
RSS_IDLE=$(rss_mb)
log "ready in ${READY_MS} ms, RSS idle ${RSS_IDLE} MB (pid $SERVER_PID, port $PORT)"

# --- token and one patient ----------------------------------------------------------------
TOKEN=$(ferrum_token)
ferrum_seed_patient

# --- wrk ----------------------------------------------------------------------------------
# The reference: the same route on plain axum (no middleware, no logs).
ferrum_beside BARE "$BARE" 127.0.0.1:PORT
# Plain axum again, each answer with the five headers SPEC 1.7 asks for with CORS and a limit on
# (fixed values): what those headers alone cost, so the stack's own share can be read off.
ferrum_beside HEADERS "$BARE" 127.0.0.1:PORT --spec-headers
# The whole stack: a second ferrum with every part on, CORS's allowlist and the in-process rate
# limit added to the defaults (a limit no run reaches; /health/live counts against no one, as
# probes do not, so it costs a read of the client's allowance and the three X-RateLimit-*
# headers), the route issue 3's goal is measured on.
ferrum_beside FULL "$BIN" --listen 127.0.0.1:PORT --database-url "sqlite://$TMP/full.db" --log-format json \
    --cors https://app.example --limit 1000000000-S

# The build before a change, beside this one: the same two routes, in the same rounds.
NAMES="bare headers live full get post"
if [ -n "${BEFORE_BIN:-}" ]; then
    [ -x "$BEFORE_BIN" ] || die "BEFORE_BIN is not an executable: $BEFORE_BIN"
    ferrum_beside BEFORE "$BEFORE_BIN" --listen 127.0.0.1:PORT --database-url "sqlite://$TMP/before.db" --log-format json
    BEFORE=http://127.0.0.1:$BEFORE_PORT
    status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' -d "$PATIENT_BODY" "$BEFORE/api/v1/patients")
    [ "$status" = 201 ] || die "the build before answered $status to its first POST"
    NAMES="$NAMES get_before post_before"
fi

for r in $(seq 1 "$ROUNDS"); do
    log "round $r of $ROUNDS"
    wrk_round bare "http://127.0.0.1:$BARE_PORT/health/live"
    wrk_round headers "http://127.0.0.1:$HEADERS_PORT/health/live"
    wrk_round live "$BASE/health/live"
    wrk_round full "http://127.0.0.1:$FULL_PORT/health/live"
    wrk_round get -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/patients/$PATIENT_ID"
    wrk_round post -s "$TMP/post.lua" "$BASE/api/v1/patients"
    if [ -n "${BEFORE_BIN:-}" ]; then
        wrk_round get_before -H "Authorization: Bearer $TOKEN" "$BEFORE/api/v1/patients/1"
        wrk_round post_before -s "$TMP/post.lua" "$BEFORE/api/v1/patients"
    fi
done
kill "$BARE_PID" "$HEADERS_PID" "$FULL_PID" ${BEFORE_PID:-} 2>/dev/null || true
for name in $NAMES; do
    printf -v "RPS_$name" '%s' $((SUM[$name] / ROUNDS))
    printf -v "NON2XX_$name" '%s' "${BAD[$name]}"
done

RSS_AFTER=$(rss_mb)
status=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/patients?limit=1" || true)
STILL_UP="GET /api/v1/patients?limit=1 answered $status"

# --- report -------------------------------------------------------------------------------
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
CPU=${CPU:-unknown}

cat <<EOF

## HTTP benchmark

- Command: \`$COMMAND\` (wrk -t$THREADS -c$CONNS -d$DURATION --latency per route and round, $ROUNDS interleaved rounds, loopback)
- Machine: $(nproc) cores, $(uname -m), ${CPU}; wrk runs on the same cores as the server
- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Server: release build, SQLite file in a fresh temp dir, default configuration (access log at info, JSON, to a file; metrics and compression on; no CORS, no rate limit); the every-part-on row: a second server, the same plus a CORS allowlist and the in-process rate limit
- req/s: mean of the rounds; p50 and p99: last round; non-2xx: all rounds

| Route | req/s | vs /health/live | p50 | p99 | non-2xx |
|---|---:|---:|---:|---:|---:|
| GET /health/live | $RPS_live | 1.00x | $P50_live ms | $P99_live ms | $NON2XX_live |
| GET /api/v1/patients/$PATIENT_ID (bearer) | $RPS_get | $(ratio "$RPS_get" "$RPS_live") | $P50_get ms | $P99_get ms | $NON2XX_get |
| POST /api/v1/patients (JSON, SQLite) | $RPS_post | $(ratio "$RPS_post" "$RPS_live") | $P50_post ms | $P99_post ms | $NON2XX_post |
| GET /health/live, every part on (CORS allowlist, in-process rate limit; second server) | $RPS_full | $(ratio "$RPS_full" "$RPS_live") | $P50_full ms | $P99_full ms | $NON2XX_full |
| reference: GET /health/live on plain axum | $RPS_bare | $(ratio "$RPS_bare" "$RPS_live") | $P50_bare ms | $P99_bare ms | $NON2XX_bare |
| plain axum with SPEC 1.7's five headers (fixed values) | $RPS_headers | $(ratio "$RPS_headers" "$RPS_live") | $P50_headers ms | $P99_headers ms | $NON2XX_headers |

- Ferrum's /health/live runs at $(ratio "$RPS_live" "$RPS_bare") of plain axum on the same route with the default stack (request id, access log, metrics, compression negotiation), and at $(ratio "$RPS_full" "$RPS_bare") with every part on (CORS and the in-process rate limit as well); issue 3's goal is 0.85x or better
- The same, round by round (median of the rounds' ratios, and their range): default stack $(round_ratios live bare), every part on $(round_ratios full bare)
- What SPEC 1.7's headers alone cost: plain axum with the five headers every answer carries with CORS and the limit on (request id, X-RateLimit-*, Vary; fixed values) runs at $(ratio "$RPS_headers" "$RPS_bare") of plain axum (median of the rounds $(round_ratios headers bare)); every part on against it: $(round_ratios full headers)

$(if [ -n "${BEFORE_BIN:-}" ]; then
    echo "- The build before (\`$BEFORE_BIN\`, its own SQLite file, same rounds): GET $RPS_get_before req/s ($(ratio "$RPS_get_before" "$RPS_live") of this build's /health/live, p99 $P99_get_before ms), POST $RPS_post_before req/s ($(ratio "$RPS_post_before" "$RPS_live"), p99 $P99_post_before ms); this build against it, round by round: GET $(round_ratios get get_before), POST $(round_ratios post post_before)"
fi)

- Ready in: $READY_MS ms (process start to first 200 from /health/ready, polled every 5 ms)
- RSS idle: $RSS_IDLE MB; RSS after the run: $RSS_AFTER MB (VmRSS, MB = 1024 KiB)
- Socket errors: live: $ERRS_live; every part on: $ERRS_full; get: $ERRS_get; post: $ERRS_post
- After the run: $STILL_UP
EOF

ferrum_log_summary
