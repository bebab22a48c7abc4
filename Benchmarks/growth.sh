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

grow_to() { # inserts events until the store holds $1 (received over the past day)
    python3 - "$store" "$1" <<'PY'
import sqlite3, sys, time
path, target = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
db.execute("PRAGMA synchronous = OFF")
have = db.execute("select count(*) from events").fetchone()[0]
body = ('{"object":"event","id":"%s","type":"com.gigs.subscription.activated","project":"bench",'
        '"specversion":"1.0","time":"2026-11-23T10:00:00Z","data":{"object":"subscription",'
        '"id":"sub_0SNlurA049MEWV2gSfSxi00xlPIi","status":"active","sim":{"object":"sim",'
        '"id":"sim_0SNlurA049MEWV4OpCwsNyC9Kn2d","type":"eSIM"},"user":{"object":"user",'
        '"id":"usr_0SNlurA049MEWV3Kp0mA8Hhs1Ud8","email":"jane@example.com","fullName":"Jane Doe",'
        '"preferredLocale":"en-US"}}}')
types = ["com.gigs.subscription.activated", "com.gigs.subscription.renewed", "com.gigs.sim.created",
         "com.gigs.subscriptionChange.applied", "com.gigs.invoice.paid"]
now = int(time.time() * 1000)
def rows(start, end):
    for n in range(start, end):
        event = "evt_gen_%010d" % n
        yield (event, types[n % len(types)], "bench", "2026-11-23T10:00:00Z",
               now - 86_400_000 + n * 86_400_000 // max(target, 1), "msg_" + event, now // 1000,
               "v1,generated", (body % event).encode())
batch = 200_000
for start in range(have, target, batch):
    db.executemany("insert into events (id, type, project, event_time, received_at, message_id, "
                   "webhook_timestamp, signature, body) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   rows(start, min(start + batch, target)))
    db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
PY
}

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
    grow_to "$size"
    # The generator writes without fsync; flush its pages now, or the kernel's writeback of a large
    # store competes with the measured run's fsyncs and shows up as ingest latency.
    sync
    bench_start_daemon ""
    before="$(cpu_ticks)"
    line="$(BENCH_KEY_HEX="$key_hex" wrk -t2 -c64 -d"${duration}s" -s Benchmarks/signed-events.lua \
        "http://127.0.0.1:$port" | grep '^RESULT')"
    after="$(cpu_ticks)"
    kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=""
    eval "${line#RESULT }"
    awk -v n="$size" -v r="$((requests * 1000000 / duration_us))" -v b="$p99_us" -v e="$non2xx" \
        -v cpu="$(( after - before ))" -v hz="$(getconf CLK_TCK)" -v q="$requests" -v l="$(list_ms)" \
        -v mb="$(( $(stat -c %s "$store") / 1048576 ))" \
        'BEGIN { printf "store of %9d events (%5d MB after the run)   ingest %6d events/s   p99 %6.2f ms   non-2xx %d   CPU %.2f s per 10k   events list %4d ms\n", n, mb, r, b / 1000, e, cpu / hz / q * 10000, l }'
done
