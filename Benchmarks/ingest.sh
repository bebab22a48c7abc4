#!/usr/bin/env bash
# Ingest benchmark: builds release, starts gigs-relay on a fresh store, drives it with wrk sending
# distinct signed events, then measures the same binary's GET /healthz, and prints both and the ratio.
#
# Usage: Benchmarks/ingest.sh [DURATION_SECONDS=10] [CONNECTIONS=64]
# wrk runs on the same machine (2 threads) and signs every request itself, which costs client CPU.
# BENCH_PROFILE=FILE: also records a perf profile (cpu-clock, call graphs) of the daemon during ingest.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-64}"

. Benchmarks/common.sh
bench_setup python3
bench_start_daemon ""


run() { # name, extra wrk args…
    local name="$1"; shift
    local line before after
    before="$(cpu_ticks)"
    line="$(wrk -t2 -c"$connections" -d"${duration}s" --latency "$@" | grep '^RESULT')"
    after="$(cpu_ticks)"
    eval "${line#RESULT }"
    local rate=$((requests * 1000000 / duration_us))
    awk -v n="$name" -v r="$rate" -v a="$p50_us" -v b="$p99_us" -v c="$p999_us" -v e="$non2xx" -v s="$socket_errors" \
        -v cpu="$(( after - before ))" -v hz="$(getconf CLK_TCK)" -v q="$requests" \
        'BEGIN { printf "%-8s %8d req/s   p50 %6.2f ms   p99 %6.2f ms   p99.9 %6.2f ms   non-2xx %d   socket errors %d   server CPU %.2f s per 10k\n", n, r, a / 1000, b / 1000, c / 1000, e, s, cpu / hz / q * 10000 }'
    eval "${name}_rate=$rate ${name}_ok=$((requests - non2xx))"
}

if [ -n "${BENCH_PROFILE:-}" ]; then
    (sleep 1; perf record -F 499 -g -e cpu-clock -p "$daemon" -o "$BENCH_PROFILE" -- sleep $((duration - 2)) >/dev/null 2>&1) &
fi
echo "gigs-relay ingest benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, ${duration}s at $connections connections"
BENCH_KEY_HEX="$key_hex" run ingest -s Benchmarks/signed-events.lua "http://127.0.0.1:$port"
run healthz -s Benchmarks/report.lua "http://127.0.0.1:$port/healthz"
awk -v i="$ingest_rate" -v h="$healthz_rate" 'BEGIN { printf "ratio ingest/healthz: %.2f\n", i / h }'
echo "peak RSS of the daemon: $(awk '/VmHWM/ { print $2, $3 }' "/proc/$daemon/status")"
stored="$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from events").fetchone()[0])' "$work/var/bench.sqlite3")"
echo "stored events: $stored (2xx answers counted by wrk: $ingest_ok; the store may hold a few more, answered after wrk stopped counting)"
[ "$stored" -ge "$ingest_ok" ] || { echo "FAIL: fewer events stored than acknowledged" >&2; exit 1; }
