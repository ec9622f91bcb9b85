#!/usr/bin/env bash
# Instructions per request on GET /health/live, counted by valgrind's callgrind: the variants
# of bench/stack.sh (stack, quiet, bare, headers), noaccess (no access line), each part switched
# off in turn (nolimit, nocors, nometrics) and min (every part that can be off, off), as a count of
# user-space instructions, which does not move with the load of a shared machine. Kernel work
# (sockets) is not counted, so these ratios are larger than the req/s ratios of
# bench/stack.sh.
#
# Each server runs under callgrind; after a warm-up the counters are zeroed, wrk sends
# keep-alive requests for a few seconds (-t1 -c4), the counters are dumped, and the total is
# divided by the requests wrk completed.
#
# Requirements: valgrind (callgrind_control, callgrind_annotate), wrk, curl (installed with
# apt-get when missing, through scripts/lib.sh).
# Environment: FERRUM_BIN / BARE_BIN to skip the release build; SECONDS_PER_RUN (default 5).
# Usage: bash bench/stack-instructions.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../scripts/lib.sh
. "$ROOT/scripts/lib.sh"
RUN=${SECONDS_PER_RUN:-5}
ferrum_require valgrind valgrind
ferrum_require wrk wrk
ferrum_require curl curl
ferrum_binary release
ferrum_bare_binary
ferrum_tempdir ferrum-instr

next_port=18400
declare -A PORT
under_callgrind() {
    local name=$1
    shift
    while ferrum_port_in_use "$next_port"; do next_port=$((next_port + 1)); done
    PORT[$name]=$next_port
    next_port=$((next_port + 1))
    valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.$name" "${@//PORT/${PORT[$name]}}" \
        >"$TMP/$name.log" 2>&1 &
    FERRUM_PIDS+=("$!")
}
FLAGS=(--log-format json --metrics true --compress true --cors https://app.example --limit 1000000000-S)
ferrum_variant() {
    local name=$1
    shift
    under_callgrind "$name" "$BIN" --listen 127.0.0.1:PORT --database-url "sqlite://$TMP/$name.db" "$@"
}
ferrum_variant stack "${FLAGS[@]}" --log-level info
ferrum_variant noaccess "${FLAGS[@]}" --log-level info,ferrum::access=off
ferrum_variant quiet "${FLAGS[@]}" --log-level warn
# One part off at a time, the access line on: what each part costs.
ferrum_variant nolimit --log-format json --metrics true --compress true --cors https://app.example --log-level info
ferrum_variant nocors --log-format json --metrics true --compress true --limit 1000000000-S --log-level info
ferrum_variant nometrics --log-format json --metrics false --compress true --cors https://app.example \
    --limit 1000000000-S --log-level info
# Every part that can be switched off, off: what is left is the edge itself (request id, guard).
ferrum_variant min --log-format json --metrics false --compress false --log-level warn
under_callgrind bare "$BARE" 127.0.0.1:PORT
under_callgrind headers "$BARE" 127.0.0.1:PORT --spec-headers
VARIANTS=(stack noaccess quiet nolimit nocors nometrics min headers bare)

for _ in $(seq 1 600); do
    up=1
    for name in "${VARIANTS[@]}"; do
        curl -fs -o /dev/null "http://127.0.0.1:${PORT[$name]}/health/live" || up=0
    done
    [ "$up" = 1 ] && break
    sleep 0.5
done
[ "$up" = 1 ] || { echo "error: servers not up under valgrind" >&2; exit 1; }
for name in "${VARIANTS[@]}"; do wrk -t1 -c4 -d2s "http://127.0.0.1:${PORT[$name]}/health/live" >/dev/null; done

declare -A REQUESTS
callgrind_control -z "${FERRUM_PIDS[@]}" >/dev/null
for name in "${VARIANTS[@]}"; do
    REQUESTS[$name]=$(wrk -t1 -c4 -d"${RUN}s" "http://127.0.0.1:${PORT[$name]}/health/live" | awk '/requests in/ { print $1 }')
done
callgrind_control -d "${FERRUM_PIDS[@]}" >/dev/null
sleep 2

declare -A PER
for name in "${VARIANTS[@]}"; do
    total=$(callgrind_annotate --threshold=100 --auto=no "$TMP/cg.$name".* 2>/dev/null |
        awk '/PROGRAM TOTALS/ && !seen { gsub(/,/, "", $1); print $1; seen = 1 }')
    PER[$name]=$((total / REQUESTS[$name]))
done

cat <<OUT

## Instructions per request on GET /health/live (callgrind)

- Command: \`bash bench/stack-instructions.sh\`; $(date -u '+%Y-%m-%d %H:%M UTC'); $("$BIN" --version)

| variant | requests counted | instructions / request | vs bare |
|---|---:|---:|---:|
OUT
for name in "${VARIANTS[@]}"; do
    printf '| %s | %s | %s | %sx |\n' "$name" "${REQUESTS[$name]}" "${PER[$name]}" \
        "$(awk -v a="${PER[$name]}" -v b="${PER[bare]}" 'BEGIN { printf "%.2f", a / b }')"
done
echo
echo "- stack: every part of the platform stack on, access log at info; noaccess: the same with ferrum::access=off; quiet: --log-level warn"
echo "- nolimit, nocors, nometrics: stack with that one part off; min: no rate limit, CORS, metrics or compression, --log-level warn (the request id and the guard remain); headers: plain axum with SPEC 1.7's five headers (fixed values); bare: plain axum"
