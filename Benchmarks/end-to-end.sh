#!/usr/bin/env bash
# End-to-end benchmark: wrk posts distinct signed events for a while; every event is routed to an
# `http` action whose receiver is a local nginx answering 200. After the load, the script waits until
# every delivery has finished and reads the store: delivered events/s and the lag from ingest (the
# event's received_at) to delivered (the end of its successful attempt), p50/p99.
#
# Usage: Benchmarks/end-to-end.sh [DURATION_SECONDS=10] [CONNECTIONS=64] [WORKERS=64] [RATE]
# Without RATE, wrk sends as fast as the daemon accepts, so a backlog builds whenever ingest outruns
# delivery and the lag measures that backlog. With RATE (events/s), each connection paces its requests
# so the load is steady at about RATE, and the lag is the delivery latency at that rate.
# BENCH_SUBJECTS=N: the action orders per subject (ordering = "subject", reorder_window_ms =
# BENCH_REORDER_MS, default 0) and the events spread over N subscriptions.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-64}"
workers="${3:-64}"
rate="${4:-}"
if [ -n "$rate" ]; then export BENCH_DELAY_MS=$(( connections * 1000 / rate )); fi

. Benchmarks/common.sh
bench_setup nginx python3
receiver_port=$((port + 1))

cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx-body;
    server {
        listen 127.0.0.1:$receiver_port;
        location / { return 200; }
    }
}
NGINX
nginx -p "$work" -c "$work/nginx.conf"

ordering=""
if [ -n "${BENCH_SUBJECTS:-}" ]; then
    export BENCH_SUBJECTS
    ordering="ordering = \"subject\"
reorder_window_ms = ${BENCH_REORDER_MS:-0}"
fi

bench_start_daemon "
[dispatch]
workers = $workers
[actions.receiver]
kind = \"http\"
url = \"http://127.0.0.1:$receiver_port/hook\"
secret = \"env:BENCH_SECRET\"
$ordering
[[routes]]
events = [\"*\"]
actions = [\"receiver\"]"

echo "gigs-relay end-to-end benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, ${duration}s at $connections connections, $workers workers${rate:+, offered rate $(( connections * 1000 / BENCH_DELAY_MS )) events/s}${BENCH_SUBJECTS:+, ordered over $BENCH_SUBJECTS subjects (reorder window ${BENCH_REORDER_MS:-0} ms)}"
before="$(cpu_ticks)"
# BENCH_PROFILE_LOAD=1: the profile covers the load instead (ingest and delivery at once; for a paced run).
if [ -n "${BENCH_PROFILE:-}" ] && [ -n "${BENCH_PROFILE_LOAD:-}" ]; then
    (sleep 1; perf record -F 499 -g -e cpu-clock -p "$daemon" -o "$BENCH_PROFILE" -- sleep $(( duration > 3 ? duration - 2 : 1 )) >/dev/null 2>&1) &
    profiler=$!
fi
line="$(BENCH_KEY_HEX="$key_hex" wrk -t2 -c"$connections" -d"${duration}s" -s Benchmarks/signed-events.lua \
    "http://127.0.0.1:$port" | grep '^RESULT')"
eval "${line#RESULT }"
echo "ingest: $((requests * 1000000 / duration_us)) events/s accepted during the load (non-2xx $non2xx)"
awk -v a="$p50_us" -v b="$p99_us" 'BEGIN { printf "ingest answers: p50 %.2f ms   p99 %.2f ms (the part of the lag before the event is stored)\n", a / 1000, b / 1000 }'

# BENCH_PROFILE: delivery alone (the backlog draining after the load), summarised at the end.
[ -n "${profiler:-}" ] && wait "$profiler"
[ -n "${BENCH_PROFILE:-}" ] && [ -z "${BENCH_PROFILE_LOAD:-}" ] && perf record -F 499 -g -e cpu-clock -p "$daemon" -o "$BENCH_PROFILE" -- sleep 8 >/dev/null 2>&1
python3 - "$work/var/bench.sqlite3" "$work/events" <<'PY'
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
deadline = time.time() + 120
while time.time() < deadline:
    open_count = db.execute("select count(*) from deliveries where status in ('pending','running','failed')").fetchone()[0]
    if open_count == 0:
        break
    time.sleep(0.2)
rows = db.execute("""
    select e.received_at, a.started_at + a.duration_ms
    from deliveries d join events e on e.seq = d.event_seq
    join attempts a on a.delivery_id = d.id and a.outcome = 'succeeded'
""").fetchall()
statuses = dict(db.execute("select status, count(*) from deliveries group by status").fetchall())
events = db.execute("select count(*) from events").fetchone()[0]
if not rows:
    sys.exit("no delivery succeeded")
lags = sorted(done - received for received, done in rows)
span = (max(done for _, done in rows) - min(received for received, _ in rows)) / 1000
pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]
print(f"delivered: {len(rows)} of {events} events in {span:.1f} s = {len(rows) / span:.0f} events/s end to end")
print(f"lag ingest→delivered: p50 {pick(0.50)} ms   p99 {pick(0.99)} ms   max {lags[-1]} ms")
print(f"delivery statuses: {statuses}")
if os.environ.get("BENCH_SUBJECTS"):
    ordered = db.execute("""
        select d.subject, a.started_at from deliveries d join attempts a on a.delivery_id = d.id
        where a.outcome = 'succeeded' and d.subject is not null order by d.subject, d.order_at, d.event_seq
    """).fetchall()
    violations = sum(1 for (s1, t1), (s2, t2) in zip(ordered, ordered[1:]) if s1 == s2 and t2 < t1)
    subjects = len({subject for subject, _ in ordered})
    print(f"ordering: {len(ordered)} ordered deliveries over {subjects} subjects, {violations} started before an earlier one of their subject")
    if violations:
        sys.exit("FAIL: ordering violated")
if len(rows) != events:
    sys.exit("FAIL: not every stored event was delivered")
with open(sys.argv[2], "w") as f:
    f.write(str(events))
PY
events="$(cat "$work/events")"
echo "daemon CPU for ingest + delivery: $(awk -v t="$(( $(cpu_ticks) - before ))" -v hz="$(getconf CLK_TCK)" -v n="$events" 'BEGIN { printf "%.0f", t / hz / n * 1e6 }') µs per event"
echo "peak RSS of the daemon: $(awk '/VmHWM/ { print $2, $3 }' "/proc/$daemon/status")"
metrics="$(curl -fsS "http://127.0.0.1:$port/metrics")"
claims="$(awk '$1 == "gigs_relay_claims_total" { print $2 }' <<< "$metrics")"
handed="$(awk '$1 == "gigs_relay_deliveries_handed_over_total" { print $2 }' <<< "$metrics")"
echo "dispatch: ${handed:-0} of $events deliveries handed over by their append, the others claimed in ${claims:-0} claims"
if [ -n "${BENCH_PROFILE:-}" ]; then Benchmarks/profile-summary.py "$BENCH_PROFILE"; fi
