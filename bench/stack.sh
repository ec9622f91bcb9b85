#!/usr/bin/env bash
# What the platform's middleware stack costs on GET /health/live (issue 3's goal: at most 15%).
#
# Runs, side by side on loopback, the same route three ways and loads each in turn with wrk,
# interleaved over several rounds so that a noisy neighbour hits every variant alike:
#   stack   ferrum with the whole stack on: request id (on every log line of the request),
#           JSON access log at info, metrics, compression negotiation, CORS, in-process rate
#           limit, body cap, deadline
#   quiet   the same binary and flags at --log-level warn (no access line)
#   bare    plain axum serving the same JSON with the same allocator
#           (examples/bare_health.rs): the stack off
#   headers the same plain axum, each answer with the five headers SPEC 1.7 asks for with CORS
#           and a limit on (request id, X-RateLimit-*, Vary), fixed values: what they alone cost
# For each it reports req/s and the server's CPU time per request (utime + stime from /proc
# over the run, divided by the requests wrk completed), which is steadier than req/s on a
# shared machine. /health/live counts against no one (probes are never throttled), so the
# limiter's cost on it is a read of the client's allowance and the X-RateLimit-* headers; an
# authenticated route pays one map update instead of the read.
#
# Requirements: curl, wrk (installed with apt-get when missing, as bench/http.sh does).
# Environment: ROUNDS (default 5), DURATION per run (default 5s), THREADS (2), CONNS (64),
#   FERRUM_BIN / BARE_BIN to skip the release build, BEFORE_BIN to add an older ferrum binary
#   (run like "stack") as a fourth variant.
# Usage: bash bench/stack.sh
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../scripts/lib.sh
. "$ROOT/scripts/lib.sh"

ferrum_require wrk wrk
ferrum_require curl curl
ferrum_binary release
ferrum_bare_binary
ferrum_tempdir ferrum-stack

next_port=18200
# start NAME COMMAND...: starts a server whose command line ends with its port, waits for it.
declare -A PORT PID
start() {
    local name=$1 port
    shift
    port=$(ferrum_free_port "$next_port")
    next_port=$((port + 1))
    "$@" "$port" >"$TMP/$name.log" 2>&1 &
    PID[$name]=$!
    FERRUM_PIDS+=("$!")
    PORT[$name]=$port
    for _ in $(seq 1 600); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/health/live" 2>/dev/null && return 0
        kill -0 "${PID[$name]}" 2>/dev/null || { cat "$TMP/$name.log" >&2; die "$name exited"; }
        sleep 0.05
    done
    die "$name not up after 30 s"
}

ferrum() {
    local bin=$1 level=$2 port=$3
    # exec: the server, not a subshell, is the process whose CPU time is read.
    exec "$bin" --listen "127.0.0.1:$port" --database-url "sqlite://$TMP/$level.db" --log-format json \
        --log-level "$level" --metrics true --compress true --cors https://app.example --limit 1000000000-S
}
bare() { exec "$BARE" "127.0.0.1:$1"; }
headers() { exec "$BARE" "127.0.0.1:$1" --spec-headers; }

start stack ferrum "$BIN" info
start quiet ferrum "$BIN" warn
start bare bare
start headers headers
VARIANTS=(bare headers stack quiet)
if [ -n "${BEFORE_BIN:-}" ]; then
    start before ferrum "$BEFORE_BIN" info
    VARIANTS+=(before)
fi

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

declare -A RPS CPU
for round in $(seq 1 "$ROUNDS"); do
    for name in "${VARIANTS[@]}"; do
        out=$TMP/wrk-$name-$round.txt
        before=$(cpu_ticks "${PID[$name]}")
        wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "http://127.0.0.1:${PORT[$name]}/health/live" >"$out" 2>&1 ||
            { cat "$out" >&2; die "wrk failed"; }
        after=$(cpu_ticks "${PID[$name]}")
        requests=$(awk '/requests in/ { print $1 }' "$out")
        rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
        non2xx=$(awk -F: '/Non-2xx/ { gsub(/ /, "", $2); print $2 }' "$out")
        [ -z "$non2xx" ] || die "$name answered $non2xx non-2xx responses"
        us=$(awk -v t=$((after - before)) -v hz="$TICK" -v n="$requests" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
        RPS[$name]="${RPS[$name]:-} $rps"
        CPU[$name]="${CPU[$name]:-} $us"
        log "round $round $name: $rps req/s, $us µs CPU/request"
    done
done

mean() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.2f", s / NF }' <<<"$1"; }
range() { awk '{ lo = $1; hi = $1; for (i = 2; i <= NF; i++) { if ($i < lo) lo = $i; if ($i > hi) hi = $i }; print lo "-" hi }' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
CPU_NAME=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

cat <<EOF

## Middleware stack on GET /health/live

- Command: \`bash bench/stack.sh\` (ROUNDS=$ROUNDS, wrk -t$THREADS -c$CONNS -d$DURATION per run, rounds interleaved)
- Machine: $(nproc) cores, $(uname -m), ${CPU_NAME:-unknown}; wrk shares the cores with the servers
- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Binary: $("$BIN" --version)

| variant | mean req/s (range) | req/s vs bare | mean CPU µs/request (range) | CPU vs bare |
|---|---:|---:|---:|---:|
EOF
for name in "${VARIANTS[@]}"; do
    r=$(mean "${RPS[$name]}")
    c=$(mean "${CPU[$name]}")
    printf '| %s | %.0f (%s) | %sx | %s (%s) | %sx |\n' "$name" "$r" "$(range "${RPS[$name]}")" \
        "$(ratio "$r" "$(mean "${RPS[bare]}")")" "$c" "$(range "${CPU[$name]}")" "$(ratio "$c" "$(mean "${CPU[bare]}")")"
done
echo
echo "- stack: every part of the platform stack on and the JSON access log at info; quiet: the same at --log-level warn; bare: plain axum, no middleware; headers: plain axum with SPEC 1.7's five headers (fixed values) on each answer"
if [ -n "${BEFORE_BIN:-}" ]; then echo "- before: $("$BEFORE_BIN" --version), run like stack"; fi
