#!/usr/bin/env bash
# Reconciliation benchmark: `gigs-relay reconcile` over SUBSCRIPTIONS subscriptions served in pages of
# 200 by a fake Gigs API (a Python HTTP server on this machine), against a SQLite store of SIZE events
# over the same 100,000 subscriptions (Benchmarks/common.sh's generator: one in five subscriptions has
# activation events). Prints the wall time, the CLI's peak RSS and the summary line; every store lookup
# is by subject and type (indexed), so the time should grow with the subscriptions, not the store.
#
# Usage: Benchmarks/reconcile.sh [SIZE=1000000] [SUBSCRIPTIONS=100000]
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-1000000}"
subscriptions="${2:-100000}"

. Benchmarks/common.sh
bench_setup python3 time
bench_start_daemon ""        # creates and migrates the store
kill "$daemon"; wait "$daemon" 2>/dev/null || true; daemon=""
store="$work/var/bench.sqlite3"
bench_grow_store "$store" "$size"
sync

api_port=$((port + 1))
python3 - "$api_port" "$subscriptions" > "$work/api.log" 2>&1 <<'PY' &
import http.server, json, sys, time, urllib.parse
port, count = int(sys.argv[1]), int(sys.argv[2])
now = time.time()
def stamp(seconds_ago):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - seconds_ago))
def item(n):  # newest first: n = 0 was created last
    sid = "sub_gen_%06d" % n
    return {"object": "subscription", "id": sid, "status": "active", "createdAt": stamp(n + 60),
            "activatedAt": stamp(n + 30), "sim": {"id": "sim_%d" % n, "type": "eSIM"},
            "user": {"id": "usr_%d" % n, "email": "u%d@example.com" % n}, "plan": "pln_1"}
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        limit = min(int(query.get("limit", ["10"])[0]), 200)
        start = int(query["after"][0][len("sub_gen_"):]) + 1 if "after" in query else 0
        if url.path.endswith("/subscriptions"):
            end = min(start + limit, count)
            items = [item(n) for n in range(start, end)]
            more = items[-1]["id"] if end < count and items else None
        else:
            items, more = [], None
        body = json.dumps({"object": "list", "items": items, "moreItemsAfter": more,
                           "moreItemsBefore": None}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
print("LISTENING", flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
PY
api=$!
trap 'kill $api 2>/dev/null; bench_cleanup' EXIT
for _ in $(seq 1 100); do grep -q LISTENING "$work/api.log" 2>/dev/null && break; sleep 0.1; done

cat >> "$work/bench.toml" <<TOML
[gigs]
api_url = "http://127.0.0.1:$api_port"
project = "bench"
token = "env:BENCH_GIGS_TOKEN"
TOML

echo "gigs-relay reconcile benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $subscriptions subscriptions ($(( (subscriptions + 199) / 200 )) pages), store of $size events"
set +e
BENCH_GIGS_TOKEN=bench-token /usr/bin/time -f "%e %M" -o "$work/time" \
    "$binary" reconcile --config "$work/bench.toml" --since 72h --max-pages 10000 > "$work/out" 2> "$work/err"
status=$?
set -e
read -r wall rss < <(tail -1 "$work/time")
echo "reconcile: exit $status in $wall s, peak RSS $rss kB"
grep '^read ' "$work/out"
echo "missing lines printed: $(grep -c '^missing ' "$work/out")"
[ "$status" -le 1 ] || { cat "$work/err" >&2; exit 1; }
