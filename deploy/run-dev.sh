#!/usr/bin/env bash
# Runs gigs-relay on the example configuration (config/gigs-relay.example.toml) with its SQLite file
# under var/, installing missing system packages first. Without GIGS_WEBHOOK_SECRET it creates a
# development signing secret in var/dev-webhook-secret and uses that.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/setup-system.sh libssl-dev libsqlite3-dev libsystemd-dev openssl curl
swift build --product gigs-relay

mkdir -p var && chmod 700 var
if [ -z "${GIGS_WEBHOOK_SECRET:-}" ]; then
    if [ ! -s var/dev-webhook-secret ]; then
        (umask 077 && printf 'whsec_%s\n' "$(head -c 32 /dev/urandom | base64 -w0)" > var/dev-webhook-secret)
        echo "Created a development signing secret in var/dev-webhook-secret" >&2
    fi
    GIGS_WEBHOOK_SECRET="$(cat var/dev-webhook-secret)"
    export GIGS_WEBHOOK_SECRET
fi

cat >&2 <<'MSG'

gigs-relay is starting on http://127.0.0.1:8080/webhooks/gigs (Ctrl-C stops it).
In another terminal, send a signed test event and look at the stored log:
    deploy/send-test-event.sh
    .build/debug/gigs-relay events list --config config/gigs-relay.example.toml

MSG
exec .build/debug/gigs-relay serve --config config/gigs-relay.example.toml
