#!/usr/bin/env bash
# gRPC benchmark of the ferrum server (issue 4): Add over gRPC against GET /health/live.
#
# Both sides are driven by the same load generator, h2load (nghttp2), with the same threads,
# connections and concurrent streams, over cleartext HTTP/2 on loopback: the only difference is
# the request. A gRPC unary call is an HTTP/2 POST whose body is one length-prefixed protobuf
# message (5-byte frame header + AddRequest{a=2,b=5}), so h2load sends it from a file with
# `content-type: application/grpc` and `te: trailers`. Three runs on one server:
#   GET /health/live (HTTP port), calc.Calc/Add on the HTTP port, calc.Calc/Add on --grpc-port.
# h2load counts HTTP statuses, not gRPC ones, so afterwards the script reads
# grpc_server_handled_total from /metrics and checks every Add call ended OK.
#
# Requirements: curl, and h2load. When h2load is missing the script installs it with
#   apt-get update -qq && apt-get install -y -qq nghttp2-client
# (the only thing it fetches from the network; needs root or passwordless sudo).
#
# Environment:
#   DURATION   seconds per run (default 10)
#   THREADS    h2load threads (default 2)
#   CONNS      HTTP/2 connections (default 64)
#   STREAMS    concurrent streams per connection (default 10)
#   PORT       first loopback port to try (default 18199; the next free ones are used)
#   FERRUM_BIN server binary to use; when unset, `cargo build --release -p ferrum-server`
#              is run at the repository root and target/release/ferrum is used.
#
# Usage: DURATION=10 bash bench/grpc.sh
set -euo pipefail

DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
STREAMS=${STREAMS:-10}
PORT=${PORT:-18199}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMMAND="DURATION=$DURATION bash bench/grpc.sh"
# shellcheck source=../scripts/lib.sh
. "$ROOT/scripts/lib.sh"

ferrum_require h2load nghttp2-client "h2load not found; installing nghttp2-client with apt-get"
command -v curl >/dev/null 2>&1 || die "curl is required"
ferrum_binary release

ferrum_tempdir ferrum-grpc-bench
PORT=$(ferrum_free_port "$PORT")
GRPC_PORT=$(ferrum_free_port $((PORT + 1)))
ferrum_start_server --grpc-port "$GRPC_PORT"
ferrum_wait_ready
log "serving on $PORT (gRPC also on $GRPC_PORT), pid $SERVER_PID"

# One gRPC message: compressed flag 0, length 4, then AddRequest{a = 2, b = 5} in protobuf
# (field 1 varint 2: 08 02; field 2 varint 5: 10 05).
printf '\000\000\000\000\004\010\002\020\005' >"$TMP/add.bin"
GRPC_HEADERS=(-H 'content-type: application/grpc' -H 'te: trailers')

# run NAME URL [h2load options...]: stores RPS_NAME, OK_NAME (2xx), FAIL_NAME, P50_NAME (mean).
run() {
    local name=$1 url=$2 out
    shift 2
    out=$TMP/h2load-$name.txt
    log "h2load -t$THREADS -c$CONNS -m$STREAMS -D$DURATION $* $url"
    h2load -t"$THREADS" -c"$CONNS" -m"$STREAMS" -D"$DURATION" "$@" "$url" >"$out" 2>&1 ||
        { cat "$out" >&2; die "h2load failed"; }
    grep -E '^(finished|requests|status codes|time for request)' "$out" >&2
    local rps ok failed mean sd
    rps=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$out")
    ok=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' "$out")
    failed=$(sed -n 's/^requests: .* \([0-9]*\) failed, \([0-9]*\) errored.*/\1+\2/p' "$out")
    read -r mean sd < <(awk '/^time for request:/ { print $6, $7 }' "$out")
    [ -n "$rps" ] && [ -n "$ok" ] || die "cannot parse the h2load output of $name"
    printf -v "RPS_$name" '%.0f' "$rps"
    printf -v "OK_$name" '%s' "$ok"
    printf -v "FAIL_$name" '%s' "${failed:-?}"
    printf -v "MEAN_$name" '%s' "${mean:-?}"
    printf -v "SD_$name" '%s' "${sd:-?}"
}

run live "$BASE/health/live"
run add "$BASE/calc.Calc/Add" -d "$TMP/add.bin" "${GRPC_HEADERS[@]}"
run addport "http://127.0.0.1:$GRPC_PORT/calc.Calc/Add" -d "$TMP/add.bin" "${GRPC_HEADERS[@]}"

# --- gRPC statuses ------------------------------------------------------------------------
METRICS=$(curl -fsS "$BASE/metrics")
ADD_OK=$(printf '%s\n' "$METRICS" |
    awk '/^grpc_server_handled_total\{grpc_service="calc.Calc",grpc_method="Add",grpc_code="OK"\}/ { print $2 }')
ADD_NOT_OK=$(printf '%s\n' "$METRICS" |
    awk '/^grpc_server_handled_total\{grpc_service="calc.Calc",grpc_method="Add",grpc_code="/ && !/grpc_code="OK"/ { n += $2 } END { print n + 0 }')
# h2load stops at the deadline with streams still open; those count as Canceled on the server.
[ "${ADD_OK:-0}" -ge $(( (OK_add + OK_addport) * 99 / 100 )) ] ||
    die "only ${ADD_OK:-0} Add calls ended OK for $((OK_add + OK_addport)) HTTP 2xx answers"
ANSWER=$(curl -sS --http2-prior-knowledge -H 'content-type: application/grpc' -H 'te: trailers' \
    --data-binary @"$TMP/add.bin" -o "$TMP/answer.bin" -D - "$BASE/calc.Calc/Add" | tr -d '\r' | sed -n 's/^grpc-status: //p')

# --- report -------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
CPU=${CPU:-unknown}

cat <<EOF

## gRPC benchmark

- Command: \`$COMMAND\` (h2load -t$THREADS -c$CONNS -m$STREAMS -D$DURATION, cleartext HTTP/2, one server, loopback)
- Machine: $(nproc) cores, $(uname -m), ${CPU}; h2load runs on the same cores as the server
- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Server: release build, SQLite file in a fresh temp dir, default log level (info, JSON access log to a file)

| Request | req/s | vs /health/live | mean latency | 2xx | failed+errored |
|---|---:|---:|---:|---:|---:|
| GET /health/live (HTTP/2) | $RPS_live | 1.00x | $MEAN_live | $OK_live | $FAIL_live |
| calc.Calc/Add, HTTP port | $RPS_add | $(ratio "$RPS_add" "$RPS_live") | $MEAN_add | $OK_add | $FAIL_add |
| calc.Calc/Add, --grpc-port | $RPS_addport | $(ratio "$RPS_addport" "$RPS_live") | $MEAN_addport | $OK_addport | $FAIL_addport |

- Add calls the server counted: $ADD_OK OK, $ADD_NOT_OK other (streams h2load left open at its deadline end as Canceled)
- A single Add checked with curl afterwards: grpc-status ${ANSWER:-missing}
EOF

ferrum_log_summary
