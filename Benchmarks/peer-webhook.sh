#!/usr/bin/env bash
# Peer benchmark: adnanh/webhook (Debian package `webhook`) with a payload-hmac-sha256 trigger rule,
# driven by the same wrk script and the same event bodies as Benchmarks/ingest.sh (signed the way its
# rule checks: HMAC-SHA256 of the body, hex). It runs /bin/true per delivery and persists nothing.
#
# Usage: Benchmarks/peer-webhook.sh [DURATION_SECONDS=10] [CONNECTIONS=64]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-64}"

deploy/setup-system.sh wrk webhook
work="$(mktemp -d)"
peer=""
trap '[ -n "$peer" ] && kill "$peer" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
secret="$(head -c 24 /dev/urandom | base64 -w0 | tr -d '/+=')"
key_hex="$(printf '%s' "$secret" | od -An -v -tx1 | tr -d ' \n')"
port=$((20000 + RANDOM % 20000))
cat > "$work/hooks.json" <<JSON
[{
  "id": "gigs",
  "execute-command": "/bin/true",
  "response-message": "ok",
  "trigger-rule-mismatch-http-response-code": 401,
  "trigger-rule": {"match": {"type": "payload-hmac-sha256", "secret": "$secret",
                              "parameter": {"source": "header", "name": "X-Signature"}}}
}]
JSON
webhook -hooks "$work/hooks.json" -ip 127.0.0.1 -port "$port" > "$work/webhook.log" 2>&1 &
peer=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/hooks/gigs" 2>/dev/null && break
    curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/hooks/gigs" 2>/dev/null | grep -q '^[1-5]' && break
    sleep 0.1
done
before="$(awk '{ print $14 + $15 }' "/proc/$peer/stat")"
line="$(BENCH_KEY_HEX="$key_hex" BENCH_SIGN=body-hex BENCH_PATH=/hooks/gigs \
    wrk -t2 -c"$connections" -d"${duration}s" -s Benchmarks/signed-events.lua "http://127.0.0.1:$port" | grep '^RESULT')"
after="$(awk '{ print $14 + $15 }' "/proc/$peer/stat")"
eval "${line#RESULT }"
awk -v r="$((requests * 1000000 / duration_us))" -v a="$p50_us" -v b="$p99_us" -v c="$p999_us" -v e="$non2xx" \
    -v s="$socket_errors" -v cpu="$(( after - before ))" -v hz="$(getconf CLK_TCK)" -v q="$requests" \
    'BEGIN { printf "webhook  %8d req/s   p50 %6.2f ms   p99 %6.2f ms   p99.9 %6.2f ms   non-2xx %d   socket errors %d   server CPU %.2f s per 10k\n", r, a / 1000, b / 1000, c / 1000, e, s, cpu / hz / q * 10000 }'
echo "peak RSS of webhook: $(awk '/VmHWM/ { print $2, $3 }' "/proc/$peer/status")"
