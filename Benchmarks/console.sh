#!/usr/bin/env bash
# Console benchmark: page latency on a large store, and ingest while a client reloads the overview.
#
# Grows a SQLite store to SIZE events (the growth benchmark's generator: 100,000 subscriptions, five
# types, received over the past day), signs in to the console, then for each kind of page runs wrk (two
# connections, DURATION seconds) over many distinct URLs and prints p50/p99: the newest events, pages
# deep in the log (by cursor), filtered by type, by subscription, by a rare and a common id prefix, and
# one event's page. Then ingest (64 connections, distinct signed events) alone and while a client
# reloads the overview once a second, and their ratio.
#
# Usage: Benchmarks/console.sh [DURATION_SECONDS=10] [SIZE=10000000]
# (10,000,000 events: about 8 GB of disk and a few minutes of generation)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
size="${2:-10000000}"

. Benchmarks/common.sh
bench_setup python3
export BENCH_ADMIN_TOKEN="bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
admin='[admin]
token = "env:BENCH_ADMIN_TOKEN"
redact = ["/data/user/email"]'
bench_start_daemon "$admin"        # creates and migrates the store
kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=""
store="$work/var/bench.sqlite3"
bench_grow_store "$store" "$size"
sync
bench_start_daemon "$admin"
base="http://127.0.0.1:$port"

# Sign in as a browser does: the form's nonce cookie, then the token.
nonce="$(curl -fsS -c "$work/jar" "$base/console/sign-in" | sed -n 's/.*name="nonce" value="\([0-9a-f]*\)".*/\1/p')"
curl -fsS -b "$work/jar" -c "$work/jar" -o /dev/null \
    --data-urlencode "nonce=$nonce" --data-urlencode "token=$BENCH_ADMIN_TOKEN" "$base/console/sign-in"
export BENCH_COOKIE="gigs_relay_session=$(awk '$6 == "gigs_relay_session" { print $7 }' "$work/jar")"

echo "gigs-relay console benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, store of $size events ($(( $(stat -c %s "$store") / 1048576 )) MB), ${duration}s per kind at 2 connections"
pages() { # KIND, then paths on standard input
    local kind="$1"
    cat > "$work/paths"
    local line
    line="$(BENCH_PATHS_FILE="$work/paths" wrk -t1 -c2 -d"${duration}s" -s Benchmarks/console-pages.lua "$base" | grep '^RESULT')"
    eval "${line#RESULT }"
    awk -v k="$kind" -v r="$((requests * 1000000 / duration_us))" -v a="$p50_us" -v b="$p99_us" -v e="$non2xx" \
        'BEGIN { printf "%-34s %6d pages/s   p50 %7.2f ms   p99 %7.2f ms   non-2xx %d\n", k, r, a / 1000, b / 1000, e }'
}
random_numbers() { # COUNT numbers below $1
    python3 -c "import random, sys; [print(random.randrange(int(sys.argv[1]))) for _ in range(2000)]" "$1"
}
echo "/console/events" | pages "events, newest"
random_numbers "$size" | sed 's|^|/console/events?after=|' | pages "events, deep by cursor"
random_numbers "$size" | awk '{ t = split("com.gigs.subscription.activated com.gigs.subscription.renewed com.gigs.sim.created com.gigs.subscriptionChange.applied com.gigs.invoice.paid", types, " "); printf "/console/events?type=%s&after=%d\n", types[$1 % 5 + 1], $1 }' \
    | pages "events by type, deep by cursor"
random_numbers 100000 | awk '{ printf "/console/events?subject=sub_gen_%06d\n", $1 }' | pages "events by subscription"
random_numbers "$size" | awk '{ printf "/console/events?idPrefix=evt_gen_%07d\n", $1 / 1000 }' | pages "events by rare id prefix (1,000)"
echo "/console/events?idPrefix=evt_gen_" | pages "events by common id prefix (all)"
random_numbers "$size" | awk '{ printf "/console/events/evt_gen_%010d\n", $1 }' | pages "event page"
echo "/console/overview" | pages "overview"
echo "/console/dead" | pages "dead letters"

ingest() {
    local line
    line="$(BENCH_KEY_HEX="$key_hex" wrk -t2 -c64 -d"${duration}s" -s Benchmarks/signed-events.lua "$base" | grep '^RESULT')"
    eval "${line#RESULT }"
    echo "$((requests * 1000000 / duration_us)) $p99_us"
}
read -r alone alone_p99 < <(ingest)
( while :; do curl -fsS -b "$work/jar" -o /dev/null "$base/console/overview"; sleep 1; done ) &
reloader=$!
read -r reloading reloading_p99 < <(ingest)
kill "$reloader"; wait "$reloader" 2>/dev/null || true
read -r again again_p99 < <(ingest)
awk -v a="$alone" -v ap="$alone_p99" -v b="$reloading" -v bp="$reloading_p99" -v c="$again" -v cp="$again_p99" 'BEGIN {
    printf "ingest alone                       %6d events/s   p99 %7.2f ms\n", a, ap / 1000
    printf "ingest, overview reloaded 1/s      %6d events/s   p99 %7.2f ms\n", b, bp / 1000
    printf "ingest alone again                 %6d events/s   p99 %7.2f ms\n", c, cp / 1000
    printf "ratio reloading / mean alone       %.2f\n", b / ((a + c) / 2)
}'
