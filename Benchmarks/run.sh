#!/usr/bin/env bash
# The whole benchmark in one command: builds release and runs, one after another on this machine,
#   1. ingest at 16, 64 and 256 connections, each beside the same binary's GET /healthz (the ceiling of
#      the HTTP stack here), with the ratio;
#   2. the peer adnanh/webhook on the same payloads at 64 connections, and the ratio;
#   3. end to end (ingest → http action → local nginx), flat out and paced, unordered and ordered per
#      subject over 1,000 subjects;
#   4. growth: ingest and `events list` with 10k, 1M and 10M events stored (about 8 GB of disk; set
#      GROWTH_SIZES="10000 1000000" for a quicker run);
#   5. the PostgreSQL backend (server on this machine): ingest with one and two instances, end to end,
#      and the takeover after a SIGKILL (Benchmarks/postgres.sh);
#   6. the console: page latency on a 10M-event store, and ingest while the overview is reloaded every
#      second (Benchmarks/console.sh; CONSOLE_SIZE=1000000 for a quicker run).
# Prints everything and writes it, with the date, machine and command, to the top of
# Benchmarks/RESULTS.md (the notes below its marker line are kept).
#
# Usage: Benchmarks/run.sh [DURATION_SECONDS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
out="$(mktemp)"
parts="$(mktemp -d)"
trap 'rm -rf "$out" "$parts"' EXIT

section() { printf '\n## %s\n\n```\n' "$1" | tee -a "$out"; }
end_section() { printf '```\n' | tee -a "$out"; }

{
    echo "# Benchmark results"
    echo
    echo "- Date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
    echo "- Command: \`Benchmarks/run.sh $duration\` (wrk, nginx and the server share the machine)"
    echo "- Commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$out"

section "Ingest (durable, distinct signed events) and GET /healthz"
for connections in 16 64 256; do
    echo "--- $connections connections" | tee -a "$out"
    Benchmarks/ingest.sh "$duration" "$connections" 2>/dev/null | grep -E '^(ingest|healthz|ratio|peak)' \
        | tee "$parts/ingest-$connections" | tee -a "$out"
done
end_section

section "Peer: adnanh/webhook (payload-hmac-sha256 rule, runs /bin/true, persists nothing), 64 connections"
Benchmarks/peer-webhook.sh "$duration" 64 2>/dev/null | grep -E '^(webhook|peak)' | tee -a "$out"
ours="$(awk '/^--- 64 connections/ { found = 1 } found && /^ingest/ { print $2; exit }' "$out")"
theirs="$(awk '/^webhook/ { print $2; exit }' "$out")"
awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "ratio gigs-relay (durable) / webhook (not durable): %.2f\n", a / b }' | tee -a "$out"
end_section

section "End to end: ingest → http action → local nginx"
e2e() { # name, end-to-end.sh arguments
    local name="$1"
    shift
    Benchmarks/end-to-end.sh "$@" 2>/dev/null | grep -vE '^(gigs-relay end-to-end|delivery statuses)' \
        | tee "$parts/$name" | tee -a "$out"
}
e2e e2e "$duration" 64 64
echo "--- paced at a steady 300 events/s (100 connections)" | tee -a "$out"
e2e paced300 "$duration" 100 64 300
echo "--- paced at about 8,000 events/s offered (100 connections)" | tee -a "$out"
e2e paced "$duration" 100 64 10000
echo "--- ordered per subject (1,000 subjects, reorder window 0), flat out, 64 connections, 64 workers" | tee -a "$out"
BENCH_SUBJECTS=1000 e2e ordered "$duration" 64 64
echo "--- ordered per subject, paced at about 8,000 events/s offered (100 connections)" | tee -a "$out"
BENCH_SUBJECTS=1000 Benchmarks/end-to-end.sh "$duration" 100 64 10000 2>/dev/null | grep -vE '^(gigs-relay end-to-end|delivery statuses)' | tee -a "$out"
end_section

section "Growth: the same ingest and \`events list\` on larger stores"
Benchmarks/growth.sh "$duration" "${GROWTH_SIZES:-10000 1000000 10000000}" 2>/dev/null | grep '^store of' \
    | tee "$parts/growth" | tee -a "$out"
end_section

section "PostgreSQL store (server on the same machine): ingest, two instances, end to end, takeover"
Benchmarks/postgres.sh "$duration" 64 5000 2>/dev/null | grep -vE '^gigs-relay PostgreSQL benchmark' \
    | tee "$parts/postgres" | tee -a "$out"
end_section

section "Console: page latency on a large store; ingest while the overview reloads every second"
Benchmarks/console.sh "$duration" "${CONSOLE_SIZE:-10000000}" 2>/dev/null | grep -vE '^gigs-relay console benchmark' | tee -a "$out"
end_section

section "Summary: the throughput issue's table, as ratios measured in this run"
Benchmarks/summary.py "$parts" | tee -a "$out"
end_section

# The run replaces the top of RESULTS.md; the notes from the marker on (profiles, before/after
# comparisons, earlier runs) are kept below it.
marker='<!-- Everything below is kept by Benchmarks/run.sh: notes, profiles and comparisons. -->'
kept="$(awk -v m="$marker" '$0 == m { found = 1; next } found' Benchmarks/RESULTS.md 2>/dev/null || true)"
{
    cat "$out"
    printf '\n%s\n' "$marker"
    printf '%s\n' "$kept"
} > Benchmarks/RESULTS.md
echo
echo "written to Benchmarks/RESULTS.md"
