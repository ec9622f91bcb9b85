#!/usr/bin/env bash
# nth prime benchmark (issue 4): our example binary against primesieve and primecount,
# single-threaded, in one run.
#
#   n = 10^9:   ours vs `primesieve -n 1e9 -t1`          (goal: ours at least 10x faster)
#   n = 10^12:  ours vs `primecount --nth-prime 1e12 -t1` (goal: within 3x, never above 2 s)
#   n = 10^13:  ours alone (MAX_N), for its time and peak memory (goal: under 64 MB)
#
# Each pair is timed by one hyperfine call (warm-up, then RUNS runs of each, one after the
# other); the answers are checked against each other and max RSS comes from /usr/bin/time.
# Prints a markdown table with mean and min times, ours/reference ratios and max RSS.
#
# Requirements: primesieve, primecount and hyperfine; when any is missing the script runs
#   apt-get update -qq && apt-get install -y -qq primesieve primecount hyperfine
# (the only thing it fetches from the network; needs root or passwordless sudo).
#
# Environment:
#   RUNS   timed runs per command (default 10)
#   NP_BIN our binary; when unset, `cargo build --release -p ferrum-calc --example nth_prime`
#          is run at the repository root and target/release/examples/nth_prime is used.
#
# Usage: bash bench/primes.sh
set -euo pipefail

RUNS=${RUNS:-10}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- tools --------------------------------------------------------------------------------
missing=()
for tool in primesieve primecount hyperfine; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "missing: ${missing[*]}; installing with apt-get"
    SUDO=
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq primesieve primecount hyperfine >/dev/null
fi
for tool in primesieve primecount hyperfine; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is still missing"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is required for max RSS (apt-get install -y time)"

# --- our binary ---------------------------------------------------------------------------
if [ -n "${NP_BIN:-}" ]; then
    OURS=$NP_BIN
else
    log "building the example (cargo build --release -p ferrum-calc --example nth_prime)"
    (cd "$ROOT" && cargo build --release -p ferrum-calc --example nth_prime >&2)
    OURS=$ROOT/target/release/examples/nth_prime
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The last number printed by a command: primesieve -n prints a sentence, the others a line.
answer() { "$@" 2>/dev/null | grep -oE '[0-9]+' | tail -n 1; }

# Max RSS in KB of one run.
max_rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1; }

# Times `ours` and `reference` with hyperfine; prints "mean_ours min_ours mean_ref min_ref" in seconds.
time_pair() {
    local csv=$WORK/times.csv
    hyperfine --style none --warmup 1 --runs "$RUNS" --export-csv "$csv" "$1" "$2" >&2
    awk -F, 'NR == 2 { mo = $2; no = $7 } NR == 3 { mr = $2; nr = $7 } END { print mo, no, mr, nr }' "$csv"
}

printf '| n | ours: mean (min) | reference | reference: mean (min) | ours / reference (mean) | ours max RSS | reference max RSS |\n'
printf '|---|---:|---|---:|---:|---:|---:|\n'

row() {
    local n=$1 reference=$2
    local ours_answer reference_answer
    ours_answer=$(answer "$OURS" "$n")
    reference_answer=$(answer $reference)
    [ "$ours_answer" = "$reference_answer" ] || die "n = $n: ours $ours_answer, $reference gives $reference_answer"
    read -r mean_ours min_ours mean_ref min_ref < <(time_pair "$OURS $n" "$reference")
    local rss_ours rss_ref
    rss_ours=$(max_rss "$OURS" "$n")
    rss_ref=$(max_rss $reference)
    awk -v n="$n" -v ref="$reference" -v mo="$mean_ours" -v no="$min_ours" -v mr="$mean_ref" -v nr="$min_ref" \
        -v ro="$rss_ours" -v rr="$rss_ref" 'BEGIN {
        printf "| %s | %.3f s (%.3f) | `%s` | %.3f s (%.3f) | %.3fx (%.1fx %s) | %.1f MB | %.1f MB |\n",
            n, mo, no, ref, mr, nr, mo / mr, mo < mr ? mr / mo : mo / mr, mo < mr ? "faster" : "slower",
            ro / 1024, rr / 1024 }'
}

row 1e9 "primesieve -n 1e9 -t1 -q"
row 1e12 "primecount --nth-prime 1e12 -t1"

# MAX_N on its own: the largest n, for time and memory.
[ "$(answer "$OURS" 1e13)" = 323780508946331 ] || die "n = 1e13: wrong answer"
read -r mean_max min_max _ < <(hyperfine --style none --runs 3 --export-csv "$WORK/max.csv" "$OURS 1e13" >&2;
    awk -F, 'NR == 2 { print $2, $7 }' "$WORK/max.csv")
rss_max=$(max_rss "$OURS" 1e13)
awk -v mo="$mean_max" -v no="$min_max" -v ro="$rss_max" 'BEGIN {
    printf "| 1e13 (MAX_N) | %.3f s (%.3f) | | | | %.1f MB | |\n", mo, no, ro / 1024 }'

log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
log "primesieve $(primesieve --version | head -n 1 | grep -oE '[0-9.]+' | head -n 1), primecount $(primecount --version | head -n 1 | grep -oE '[0-9.]+' | head -n 1)"
