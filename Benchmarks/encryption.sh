#!/usr/bin/env bash
# Encryption at rest: ingest and end to end with `[store] encryption_key` against the same binary without
# it, in the same run, alternating rounds; prints each pair and the ratios (target: both at least 0.9).
#
# Usage: Benchmarks/encryption.sh [DURATION_SECONDS=10] [ROUNDS=2]
# Runs Benchmarks/ingest.sh and Benchmarks/end-to-end.sh (64 connections) with BENCH_BINARY set, once
# plain and once sealed, per round.
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
export BENCH_STORE_KEY="$(head -c 32 /dev/urandom | base64 -w0)"
sealed='encryption_key = "env:BENCH_STORE_KEY"'

echo "gigs-relay encryption benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, ${duration}s, $rounds rounds"
ingest_ratios=()
e2e_ratios=()
for round in $(seq 1 "$rounds"); do
    plain_ingest="$(BENCH_STORE_TOML="" Benchmarks/ingest.sh "$duration" 64 | awk '/^ingest / { print $2 }')"
    sealed_ingest="$(BENCH_STORE_TOML="$sealed" Benchmarks/ingest.sh "$duration" 64 | awk '/^ingest / { print $2 }')"
    plain_e2e="$(BENCH_STORE_TOML="" Benchmarks/end-to-end.sh "$duration" | awk '/^delivered:/ { print $(NF-4) }')"
    sealed_e2e="$(BENCH_STORE_TOML="$sealed" Benchmarks/end-to-end.sh "$duration" | awk '/^delivered:/ { print $(NF-4) }')"
    ingest_ratio="$(awk -v a="$sealed_ingest" -v b="$plain_ingest" 'BEGIN { printf "%.3f", a / b }')"
    e2e_ratio="$(awk -v a="$sealed_e2e" -v b="$plain_e2e" 'BEGIN { printf "%.3f", a / b }')"
    echo "round $round: ingest $plain_ingest → $sealed_ingest events/s sealed ($ingest_ratio); end to end $plain_e2e → $sealed_e2e delivered/s sealed ($e2e_ratio)"
    ingest_ratios+=("$ingest_ratio")
    e2e_ratios+=("$e2e_ratio")
done
mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.3f", s / NR }'; }
echo "ratio sealed/plain, ingest: $(mean "${ingest_ratios[@]}") (target ≥ 0.9)"
echo "ratio sealed/plain, end to end: $(mean "${e2e_ratios[@]}") (target ≥ 0.9)"
