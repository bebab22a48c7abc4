#!/usr/bin/env bash
# Tracing: ingest of the same binary without `[tracing]`, with it at sample ratio 1 exporting to a
# collector that answers (nginx, 200 with an empty OTLP answer), to a collector that is down (a closed
# port) and to one that black-holes (accepts connections, never answers), alternating, in one run.
# Prints each figure (events/s and the answer's p99) and the ratios to the run without `[tracing]`
# (targets: throughput with tracing on at least 0.9; p99 with the collector down or black-holing within
# 10 %). The cost of the code with `[tracing]` absent, against the binary before tracing, is measured
# by `Benchmarks/compare.sh REV ingest`.
#
# Usage: Benchmarks/tracing.sh [DURATION_SECONDS=10] [ROUNDS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
rounds="${2:-2}"

deploy/setup-system.sh libssl-dev libsqlite3-dev libsystemd-dev wrk nginx python3 >&2
if [ -z "${BENCH_BINARY:-}" ]; then
    swift build -c release --product gigs-relay >&2
    BENCH_BINARY="$(swift build -c release --show-bin-path)/gigs-relay"
fi
export BENCH_BINARY
scratch="$(mktemp -d)"
collector_port=$((40000 + RANDOM % 10000))
blackhole_port=$((collector_port + 1))
closed_port=$((collector_port + 2))
cleanup() {
    [ -f "$scratch/nginx.pid" ] && kill "$(cat "$scratch/nginx.pid")" 2>/dev/null
    [ -n "${blackhole:-}" ] && kill "$blackhole" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$scratch"
}
trap cleanup EXIT
cat > "$scratch/nginx.conf" <<NGINX
worker_processes 1;
pid $scratch/nginx.pid;
error_log $scratch/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $scratch/nginx-body;
    client_max_body_size 64m;
    server {
        listen 127.0.0.1:$collector_port;
        location /v1/traces { default_type application/x-protobuf; return 200 ""; }
    }
}
NGINX
nginx -p "$scratch" -c "$scratch/nginx.conf"
# Accepts connections into its backlog and never reads or answers them.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4096)
time.sleep(1e9)' "$blackhole_port" &
blackhole=$!

tracing() { # endpoint
    printf '[tracing]\notlp_endpoint = "http://127.0.0.1:%s"\nexport_timeout_seconds = 2\n' "$1"
}
declare -A rate p99 sum_ratio sum_p99
modes=(absent on down blackhole)
echo "gigs-relay tracing benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, ${duration}s, $rounds rounds"
for round in $(seq 1 "$rounds"); do
    for mode in "${modes[@]}"; do
        case "$mode" in
            absent) extra="" ;;
            on) extra="$(tracing "$collector_port")" ;;
            down) extra="$(tracing "$closed_port")" ;;
            blackhole) extra="$(tracing "$blackhole_port")" ;;
        esac
        line="$(BENCH_EXTRA_TOML="$extra" Benchmarks/ingest.sh "$duration" 64 | awk '/^ingest / { print $2, $8 }')"
        rate[$mode]="${line% *}"
        p99[$mode]="${line#* }"
    done
    summary="round $round:"
    for mode in "${modes[@]}"; do
        r="$(awk -v a="${rate[$mode]}" -v b="${rate[absent]}" 'BEGIN { printf "%.3f", a / b }')"
        q="$(awk -v a="${p99[$mode]}" -v b="${p99[absent]}" 'BEGIN { printf "%.3f", a / b }')"
        sum_ratio[$mode]="$(awk -v s="${sum_ratio[$mode]:-0}" -v r="$r" 'BEGIN { print s + r }')"
        sum_p99[$mode]="$(awk -v s="${sum_p99[$mode]:-0}" -v r="$q" 'BEGIN { print s + r }')"
        summary+="  $mode ${rate[$mode]} events/s, p99 ${p99[$mode]} ms ($r, p99 $q)"
    done
    echo "$summary"
done
for mode in on down blackhole; do
    awk -v m="$mode" -v r="${sum_ratio[$mode]}" -v q="${sum_p99[$mode]}" -v n="$rounds" \
        'BEGIN { printf "ratio %s/absent: ingest %.3f, p99 %.3f\n", m, r / n, q / n }'
done
echo "(targets: ingest on/absent at least 0.9; p99 down/absent and blackhole/absent at most 1.10)"
