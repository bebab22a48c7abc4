#!/usr/bin/env bash
# Ingest benchmark: builds release, starts gigs-relay on a fresh store, drives it with wrk sending
# distinct signed events, then measures the same binary's GET /healthz, and prints both and the ratio.
#
# Usage: Benchmarks/ingest.sh [DURATION_SECONDS=10] [CONNECTIONS=64]
# wrk runs on the same machine (2 threads) and signs every request itself, which costs client CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-64}"

deploy/setup-system.sh libssl-dev libsqlite3-dev libsystemd-dev wrk
swift build -c release --product gigs-relay >&2
binary="$(swift build -c release --show-bin-path)/gigs-relay"

work="$(mktemp -d)"
trap 'kill "$daemon" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
key_base64="$(head -c 32 /dev/urandom | base64 -w0)"
key_hex="$(printf '%s' "$key_base64" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
secret="whsec_$key_base64"
port=$((20000 + RANDOM % 20000))
cat > "$work/bench.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
[store]
path = "$work/var/bench.sqlite3"
[webhook]
secrets = ["env:BENCH_SECRET"]
[log]
level = "warning"
TOML

BENCH_SECRET="$secret" "$binary" serve --config "$work/bench.toml" 2>"$work/daemon.log" &
daemon=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

cpu_ticks() { # user + system clock ticks of the daemon so far
    awk '{ print $14 + $15 }' "/proc/$daemon/stat"
}

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

echo "gigs-relay ingest benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, ${duration}s at $connections connections"
BENCH_KEY_HEX="$key_hex" run ingest -s Benchmarks/signed-events.lua "http://127.0.0.1:$port"
run healthz -s Benchmarks/report.lua "http://127.0.0.1:$port/healthz"
awk -v i="$ingest_rate" -v h="$healthz_rate" 'BEGIN { printf "ratio ingest/healthz: %.2f\n", i / h }'
echo "peak RSS of the daemon: $(awk '/VmHWM/ { print $2, $3 }' "/proc/$daemon/status")"
stored="$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from events").fetchone()[0])' "$work/var/bench.sqlite3")"
echo "stored events: $stored (2xx answers counted by wrk: $ingest_ok; the store may hold a few more, answered after wrk stopped counting)"
[ "$stored" -ge "$ingest_ok" ] || { echo "FAIL: fewer events stored than acknowledged" >&2; exit 1; }
