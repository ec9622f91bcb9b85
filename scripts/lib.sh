# Shared by the scripts that drive a real server (bench/*.sh, scripts/*.sh); source it, do not
# run it. It installs a missing tool with apt-get, builds or finds the server binary, starts it on
# a free loopback port over a fresh SQLite file in a temp dir, waits for /health/ready, and stops
# it and removes the temp dir when the calling script exits, however it exits.
#
#   ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
#   . "$ROOT/scripts/lib.sh"
#   ferrum_require wrk wrk              # command, Debian package
#   ferrum_binary release               # sets BIN (FERRUM_BIN wins)
#   ferrum_tempdir ferrum-bench         # sets TMP, cleaned up on exit
#   PORT=$(ferrum_free_port 18099)
#   ferrum_start_server                 # sets SERVER_PID, SERVER_LOG, BASE
#   ferrum_wait_ready                   # sets READY_MS
#
# and for the benchmarks: reference servers beside it (ferrum_beside), one patient to read and
# a wrk script to post more (ferrum_seed_patient), wrk in interleaved rounds (wrk_round) and
# the figures of those rounds (ratio, round_ratios, round_median); for PostgreSQL runs, a fresh
# database dropped on exit (ferrum_postgres_database).
#
# Messages go to stderr; `die` prefixes them with $DIE_PREFIX (default `error:`).

# shellcheck shell=bash

log() { printf '%s\n' "$*" >&2; }
die() { log "${DIE_PREFIX:-error:} $*"; exit 1; }

# ferrum_require COMMAND PACKAGE [MESSAGE]: installs PACKAGE with apt-get when COMMAND is missing
# (needs root or passwordless sudo), and fails when it is still missing afterwards.
ferrum_require() {
    local command=$1 package=$2
    if ! command -v "$command" >/dev/null 2>&1; then
        log "${3:-$command not found; installing $package with apt-get}"
        local sudo=
        if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$package" >/dev/null
    fi
    command -v "$command" >/dev/null 2>&1 || die "$command is still missing"
}

# ferrum_binary release|debug: sets BIN to $FERRUM_BIN when set, else builds the server with cargo
# at the repository root ($ROOT) in that profile and uses target/<profile>/ferrum.
ferrum_binary() {
    if [ -n "${FERRUM_BIN:-}" ]; then
        BIN=$FERRUM_BIN
    elif [ "$1" = release ]; then
        log "building the release binary (cargo build --release -p ferrum-server)"
        (cd "$ROOT" && cargo build --release -p ferrum-server >&2)
        BIN=$ROOT/target/release/ferrum
    else
        log "building the server (cargo build -p ferrum-server --bin ferrum)"
        (cd "$ROOT" && cargo build -p ferrum-server --bin ferrum >&2)
        BIN=$ROOT/target/debug/ferrum
    fi
    [ -x "$BIN" ] || die "no executable server at $BIN"
}

# ferrum_example NAME: builds crates/server/examples/NAME.rs in release and prints its path.
ferrum_example() {
    (cd "$ROOT" && cargo build --release -p ferrum-server --example "$1" >&2)
    printf '%s\n' "$ROOT/target/release/examples/$1"
}

# ferrum_bare_binary: sets BARE, the benchmarks' reference (plain axum serving /health/live,
# crates/server/examples/bare_health.rs): $BARE_BIN when set, else a release build of it.
ferrum_bare_binary() {
    BARE=${BARE_BIN:-$(ferrum_example bare_health)}
    [ -x "$BARE" ] || die "no reference server at $BARE"
}

# Processes to stop on exit besides the server (load generators, reference servers).
FERRUM_PIDS=()
SERVER_PID=
TMP=
PG_DATABASE=

# ferrum_stop_server: SIGTERM, up to 5 s to drain, then SIGKILL.
ferrum_stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=
}

ferrum_cleanup() {
    local pid
    for pid in "${FERRUM_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    ferrum_stop_server
    ferrum_drop_postgres_database
    if declare -F ferrum_on_exit >/dev/null; then ferrum_on_exit || true; fi
    if [ -n "$TMP" ]; then rm -rf "$TMP"; fi
}

# ferrum_tempdir PREFIX: sets TMP to a fresh directory and arranges the cleanup on exit: the
# server and FERRUM_PIDS stopped, the PostgreSQL database of ferrum_postgres_database dropped. A
# script with more to undo defines `ferrum_on_exit`, which the cleanup calls after those.
ferrum_tempdir() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    trap ferrum_cleanup EXIT
    trap 'exit 130' INT TERM
}

# ferrum_postgres_database PREFIX: creates the database PREFIX_<pid> on the server of
# $POSTGRES_URL and points DATABASE_URL at it (same server and credentials); the cleanup on exit
# drops it, or ferrum_drop_postgres_database earlier. Needs psql.
ferrum_postgres_database() {
    command -v psql >/dev/null 2>&1 || die "psql is required for a PostgreSQL run"
    PG_DATABASE=$1_$$
    psql -q "$POSTGRES_URL" -c "CREATE DATABASE $PG_DATABASE" >/dev/null ||
        die "cannot create a database on $POSTGRES_URL"
    DATABASE_URL=${POSTGRES_URL%/*}/$PG_DATABASE
}

# ferrum_drop_postgres_database: drops it, even with clients still connected.
ferrum_drop_postgres_database() {
    if [ -n "$PG_DATABASE" ]; then
        psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $PG_DATABASE WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    PG_DATABASE=
}

ferrum_port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ferrum_free_port FIRST: prints the first loopback port from FIRST that nothing listens on.
ferrum_free_port() {
    local port=$1
    for _ in $(seq 1 50); do
        ferrum_port_in_use "$port" || { echo "$port"; return; }
        port=$((port + 1))
    done
    die "no free port found from $1"
}

# ferrum_start_server [ARGS...]: starts $BIN on 127.0.0.1:$PORT with JSON logs to
# $TMP/server.log, over $DATABASE_URL when set, else a fresh SQLite file in $TMP; extra ARGS go
# to the server. Sets SERVER_PID, SERVER_LOG, BASE and START_NS (for the time to ready).
ferrum_start_server() {
    SERVER_LOG=$TMP/server.log
    BASE="http://127.0.0.1:$PORT"
    START_NS=$(date +%s%N)
    "$BIN" --listen "127.0.0.1:$PORT" --database-url "${DATABASE_URL:-sqlite://$TMP/ferrum.db}" \
        --log-format json "$@" >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
}

# ferrum_wait_ready [SECONDS]: polls $BASE/health/ready every 5 ms until it answers 200 (default
# 30 s at most) and sets READY_MS, the time from ferrum_start_server to that answer. Fails with
# the end of the server's log when the server exits or is not ready in time.
ferrum_wait_ready() {
    local deadline=$((START_NS + ${1:-30} * 1000000000))
    while :; do
        if curl -fsS -o /dev/null --max-time 1 "$BASE/health/ready" 2>/dev/null; then
            READY_MS=$((($(date +%s%N) - START_NS) / 1000000))
            return
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$SERVER_LOG" >&2; die "server exited during startup"; }
        [ "$(date +%s%N)" -lt "$deadline" ] || { tail -n 20 "$SERVER_LOG" >&2; die "server not ready after ${1:-30} s"; }
        sleep 0.005
    done
}

# ferrum_token: prints an admin token from /generate-token (development mode only).
ferrum_token() {
    local token
    token=$(curl -fsS "$BASE/generate-token" | sed -n 's/.*"token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
    [ -n "$token" ] || die "no token from /generate-token (is the server in development mode?)"
    printf '%s\n' "$token"
}

# ferrum_log_summary: the count of WARN and ERROR lines of the server's log, and the last five.
ferrum_log_summary() {
    local warnings
    warnings=$(grep -cE '"level":"(WARN|ERROR)"' "$SERVER_LOG" || true)
    log ""
    log "server log: $(wc -l <"$SERVER_LOG") lines, ${warnings:-0} at WARN or ERROR; last of those:"
    grep -E '"level":"(WARN|ERROR)"' "$SERVER_LOG" | tail -n 5 >&2 || true
}

# --- benchmarks ---------------------------------------------------------------------------

# ferrum_beside NAME COMMAND...: starts a server beside the first on the next free port (the
# command's PORT is replaced by it), sets NAME_PORT and NAME_PID, and waits until it answers
# /health/live (5 s at most).
ferrum_beside() {
    local name=$1 port=$((${LAST_PORT:-$PORT} + 1))
    shift
    while ferrum_port_in_use "$port"; do port=$((port + 1)); done
    LAST_PORT=$port
    "${@//PORT/$port}" >"$TMP/$name.log" 2>&1 &
    FERRUM_PIDS+=("$!")
    printf -v "${name}_PORT" '%s' "$port"
    printf -v "${name}_PID" '%s' "$!"
    for _ in $(seq 1 500); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/health/live" 2>/dev/null && return
        sleep 0.01
    done
    tail -n 5 "$TMP/$name.log" >&2
    die "the $name server did not answer on port $port"
}

# ferrum_seed_patient: creates one patient through $BASE with the bearer $TOKEN and reads it
# back; sets PATIENT_ID and PATIENT_BODY (the JSON sent), and writes $TMP/post.lua, the wrk
# script that posts the same body with the same token.
ferrum_seed_patient() {
    local status
    PATIENT_BODY='{"first_name":"Heimdall","last_name":"Odinson"}'
    status=$(curl -sS -o "$TMP/created.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' -d "$PATIENT_BODY" "$BASE/api/v1/patients")
    [ "$status" = 201 ] || { cat "$TMP/created.json" >&2; die "creating the first patient answered $status"; }
    PATIENT_ID=$(sed -n 's/.*"id"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$TMP/created.json" | head -n 1)
    PATIENT_ID=${PATIENT_ID:-1}
    status=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/patients/$PATIENT_ID")
    [ "$status" = 200 ] || die "GET /api/v1/patients/$PATIENT_ID answered $status"
    cat >"$TMP/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$PATIENT_BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
}

# to_ms LATENCY: a latency figure from wrk (e.g. 812.00us, 1.23ms, 1.02s) in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.2f", n
    }'
}

# wrk_run NAME ARGS...: runs wrk -t$THREADS -c$CONNS -d$DURATION --latency ARGS (the bearer
# $TOKEN masked in the log), stores RPS_NAME, P50_NAME, P99_NAME, NON2XX_NAME, ERRS_NAME.
wrk_run() {
    local name=$1 out
    shift
    out=$TMP/wrk-$name.txt
    log "wrk -t$THREADS -c$CONNS -d$DURATION --latency ${*//"${TOKEN:-<token>}"/<token>}"
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
    cat "$out" >&2
    local rps p50 p99 non2xx errs
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
    p50=$(awk '/Latency Distribution/ { d = 1 } d && $1 == "50%" { print $2; exit }' "$out")
    p99=$(awk '/Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' "$out")
    non2xx=$(awk -F: '/Non-2xx or 3xx responses/ { gsub(/ /, "", $2); print $2 }' "$out")
    errs=$(sed -n 's/.*Socket errors: //p' "$out")
    [ -n "$rps" ] && [ -n "$p50" ] && [ -n "$p99" ] || die "cannot parse the wrk output of $name"
    printf -v "RPS_$name" '%s' "$rps"
    printf -v "P50_$name" '%s' "$(to_ms "$p50")"
    printf -v "P99_$name" '%s' "$(to_ms "$p99")"
    printf -v "NON2XX_$name" '%s' "${non2xx:-0}"
    printf -v "ERRS_$name" '%s' "${errs:-none}"
}

# wrk_round NAME ARGS...: one more round of NAME (wrk_run); adds its req/s to SUM[NAME] and to
# the list ROUND_RPS[NAME], its non-2xx count to BAD[NAME], keeps the round's latencies and
# socket errors.
declare -A SUM BAD ROUND_RPS
wrk_round() {
    local name=$1
    shift
    wrk_run "$name" "$@"
    local rps="RPS_$name" non2xx="NON2XX_$name"
    SUM[$name]=$((${SUM[$name]:-0} + ${!rps}))
    ROUND_RPS[$name]="${ROUND_RPS[$name]:-} ${!rps}"
    BAD[$name]=$((${BAD[$name]:-0} + ${!non2xx}))
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }

# spread: the median, the lowest and the highest of the numbers on stdin, one a line.
spread() {
    sort -n | awk '{ r[NR] = $1 } END {
        m = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
        printf "%.6f %.6f %.6f\n", m, r[1], r[NR]
    }'
}

# rounds NAME: the req/s of each round of NAME, one a line.
rounds() { tr ' ' '\n' <<<"${ROUND_RPS[$1]}" | sed '/^$/d'; }

# round_median NAME: the median of NAME's rounds in req/s, and their range: `23456 (22000-24100)`.
round_median() { rounds "$1" | spread | awk '{ printf "%.0f (%.0f-%.0f)", $1, $2, $3 }'; }

# round_ratios A B: each round's req/s of A over B's of the same round (seconds apart, so a
# change of the machine's load between rounds touches both), then their median and range: a
# steadier figure than the ratio of the means on a shared machine.
round_ratios() {
    paste <(rounds "$1") <(rounds "$2") | awk '{ print $1 / $2 }' | spread |
        awk '{ printf "%.2fx (rounds %.2fx-%.2fx)", $1, $2, $3 }'
}
