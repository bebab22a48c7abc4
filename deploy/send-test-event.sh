#!/usr/bin/env bash
# Sends one signed com.gigs.subscription.activated test event to a running gigs-relay.
# Usage: deploy/send-test-event.sh [URL] [EVENT_ID]
# The signing secret comes from $GIGS_WEBHOOK_SECRET, else var/dev-webhook-secret (made by run-dev.sh).
# Signs exactly as Gigs does (Standard Webhooks v1), with the openssl command-line tool.
set -euo pipefail
cd "$(dirname "$0")/.."

url="${1:-http://127.0.0.1:8080/webhooks/gigs}"
event_id="${2:-evt_dev_$(date +%s)_$RANDOM}"
secret="${GIGS_WEBHOOK_SECRET:-$(cat var/dev-webhook-secret 2>/dev/null || true)}"
[ -n "$secret" ] || { echo "set GIGS_WEBHOOK_SECRET or run deploy/run-dev.sh first" >&2; exit 1; }

message_id="msg_dev_$(date +%s)_$RANDOM"
timestamp="$(date +%s)"
body=$(printf '{"object":"event","id":"%s","type":"com.gigs.subscription.activated","project":"dev-project","source":"https://api.gigs.com","specversion":"1.0","time":"%s","datacontenttype":"application/json","version":"2025-05-22","data":{"object":"subscription","id":"sub_dev","status":"active","sim":{"object":"sim","id":"sim_dev","type":"eSIM"},"user":{"object":"user","id":"usr_dev","email":"dev@example.com","fullName":"Dev User","preferredLocale":"en-US"}}}' \
    "$event_id" "$(date -u +%Y-%m-%dT%H:%M:%SZ)")
key_hex=$(printf '%s' "${secret#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
signature=$(printf '%s.%s.%s' "$message_id" "$timestamp" "$body" \
    | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key_hex" -binary | base64 -w0)

curl --silent --show-error --include -X POST "$url" \
    -H "Content-Type: application/json" \
    -H "webhook-id: $message_id" \
    -H "webhook-timestamp: $timestamp" \
    -H "webhook-signature: v1,$signature" \
    --data-binary "$body"
echo
