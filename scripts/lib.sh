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

# ferrum_bare_binary: sets BARE, the benchmarks' reference (plain axum serving /health/live,
# crates/server/examples/bare_health.rs): $BARE_BIN when set, else a release build of it.
ferrum_bare_binary() {
    if [ -n "${BARE_BIN:-}" ]; then
        BARE=$BARE_BIN
    else
        (cd "$ROOT" && cargo build --release -p ferrum-server --example bare_health >&2)
        BARE=$ROOT/target/release/examples/bare_health
    fi
    [ -x "$BARE" ] || die "no reference server at $BARE"
}

# Processes to stop on exit besides the server (load generators, reference servers).
FERRUM_PIDS=()
SERVER_PID=
TMP=

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
    if declare -F ferrum_on_exit >/dev/null; then ferrum_on_exit || true; fi
    if [ -n "$TMP" ]; then rm -rf "$TMP"; fi
}

# ferrum_tempdir PREFIX: sets TMP to a fresh directory and arranges the cleanup on exit. A script
# with more to undo defines `ferrum_on_exit`, which the cleanup calls after stopping the server.
ferrum_tempdir() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    trap ferrum_cleanup EXIT
    trap 'exit 130' INT TERM
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
