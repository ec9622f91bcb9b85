#!/usr/bin/env bash
# Renders the /docs API reference in headless Chromium, as a person's browser would, and checks
# that it really shows the API: a screenshot is produced, the rendered DOM holds the operations
# (e.g. "/api/v1/patients"), and the browser fetched the page's files and /openapi.json from the
# server itself (the access log says so; the machine reaches no CDN anyway).
#
# Starts its own server on a loopback port over a fresh SQLite file and stops it afterwards.
#
# Requirements: curl, and Chromium. When Chromium is missing the script installs it with
#   apt-get update && apt-get install -y chromium
# (Debian's package; needs root or passwordless sudo).
#
# Environment:
#   PORT        first loopback port to try (default 18199; the next free one is used)
#   OUT         where the screenshot and the DOM go (default target/docs-check)
#   FERRUM_BIN  server binary to use; when unset, `cargo build -p ferrum-server --bin ferrum`
#               is run at the repository root and target/debug/ferrum is used
#
# Usage: bash scripts/docs-check.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${PORT:-18199}
OUT=${OUT:-$ROOT/target/docs-check}

DIE_PREFIX=FAIL:
. "$ROOT/scripts/lib.sh"

find_chromium() { command -v chromium || command -v chromium-browser || true; }
[ -n "$(find_chromium)" ] || ferrum_require chromium chromium "chromium not found; installing it with apt-get"
CHROMIUM=$(find_chromium)
command -v curl >/dev/null 2>&1 || die "curl is required"
ferrum_binary debug

ferrum_tempdir ferrum-docs
PORT=$(ferrum_free_port "$PORT")
ferrum_start_server
ferrum_wait_ready
log "server ready at $BASE"

# --- render -------------------------------------------------------------------------------
mkdir -p "$OUT"
SCREENSHOT=$OUT/docs.png
DOM=$OUT/docs-dom.html
rm -f "$SCREENSHOT" "$DOM"
# The virtual time budget lets Swagger UI fetch /openapi.json and render before the capture.
chromium_run() {
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$(mktemp -d "$TMP/profile.XXXXXX")" \
        --virtual-time-budget=15000 --window-size=1280,900 "$@" "$BASE/docs"
}
chromium_run --screenshot="$SCREENSHOT" >"$TMP/chromium-shot.log" 2>&1 || true
chromium_run --dump-dom >"$DOM" 2>"$TMP/chromium-dom.log" || true

# --- checks -------------------------------------------------------------------------------
failures=0
check() {
    if eval "$2"; then log "ok   $1"; else log "FAIL $1"; failures=$((failures + 1)); fi
}
check "screenshot produced ($SCREENSHOT)" '[ -s "$SCREENSHOT" ] && [ "$(stat -c %s "$SCREENSHOT")" -gt 10000 ]'
check "DOM dumped ($DOM)" '[ -s "$DOM" ]'
check "the title of the document is rendered" 'grep -q "Ferrum" "$DOM"'
check "the patients operations are rendered" 'grep -q "/api/v1/patients" "$DOM" && grep -q "opblock" "$DOM"'
check "the health operations are rendered" 'grep -q "/health/ready" "$DOM"'
check "no Swagger UI error is shown" '! grep -qi "Failed to load API definition" "$DOM"'
for path in /docs /docs/swagger-ui-bundle.js /docs/swagger-ui.css /docs/ferrum-docs.js /openapi.json; do
    check "the browser fetched $path from this server" \
        'grep "\"path\":\"$path\"" "$SERVER_LOG" | grep -q "\"status\":200"'
done

if [ "$failures" -gt 0 ]; then
    log "--- chromium said:"; tail -n 20 "$TMP/chromium-shot.log" "$TMP/chromium-dom.log" >&2 || true
    die "$failures check(s) failed"
fi
log "docs check passed: look at $SCREENSHOT"
