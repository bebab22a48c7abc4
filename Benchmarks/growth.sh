#!/usr/bin/env bash
# Growth benchmark: does the cost per event stay flat as the store grows? Builds stores of increasing
# size with a generator that inserts events straight into SQLite (not through HTTP), then measures, on
# each, ingest through HTTP (wrk, distinct signed events) and the latency of `gigs-relay events list`.
#
# Usage: Benchmarks/growth.sh [DURATION_SECONDS=10] [SIZES="10000 1000000"]
# (with 10000000 in SIZES: about 8 GB of disk and two minutes of generation)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
sizes="${2:-10000 1000000}"

. Benchmarks/common.sh
bench_setup python3
bench_start_daemon ""        # creates and migrates the store
kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=""
store="$work/var/bench.sqlite3"

list_ms() { # median wall time of `events list` (5 runs), in ms
    local times=()
    for _ in 1 2 3 4 5; do
        local start end
        start="$(date +%s%N)"
        "$binary" events list --config "$work/bench.toml" --limit 50 >/dev/null
        end="$(date +%s%N)"
        times+=($(( (end - start) / 1000000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n 3p
}

echo "gigs-relay growth benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, ${duration}s at 64 connections per size"
for size in $sizes; do
    bench_grow_store "$store" "$size"
    # The generator writes without fsync; flush its pages now, or the kernel's writeback of a large
    # store competes with the measured run's fsyncs and shows up as ingest latency.
    sync
    bench_start_daemon ""
    before="$(cpu_ticks)"
    line="$(BENCH_KEY_HEX="$key_hex" wrk -t2 -c64 -d"${duration}s" -s Benchmarks/signed-events.lua \
        "http://127.0.0.1:$port" | grep '^RESULT')"
    after="$(cpu_ticks)"
    rss="$(awk '/VmHWM/ { print $2 }' "/proc/$daemon/status")"
    kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=""
    eval "${line#RESULT }"
    awk -v n="$size" -v r="$((requests * 1000000 / duration_us))" -v b="$p99_us" -v e="$non2xx" \
        -v cpu="$(( after - before ))" -v hz="$(getconf CLK_TCK)" -v q="$requests" -v l="$(list_ms)" \
        -v mb="$(( $(stat -c %s "$store") / 1048576 ))" -v rss="$rss" \
        'BEGIN { printf "store of %9d events (%5d MB after the run)   ingest %6d events/s   p99 %6.2f ms   non-2xx %d   CPU %.2f s per 10k   events list %4d ms   peak RSS %d kB\n", n, mb, r, b / 1000, e, cpu / hz / q * 10000, l, rss }'
done
