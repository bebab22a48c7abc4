#!/usr/bin/env bash
# Runs gigs-relay on the example configuration (config/gigs-relay.example.toml) with its SQLite file
# under var/, installing missing system packages first. Without GIGS_WEBHOOK_SECRET it creates a
# development signing secret in var/dev-webhook-secret and uses that; without GIGS_ADMIN_TOKEN, a console
# token in var/dev-admin-token. The example routes activated subscriptions to an exec action that
# appends each one to var/dev-deliveries.jsonl.
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

if [ -z "${GIGS_ADMIN_TOKEN:-}" ]; then
    if [ ! -s var/dev-admin-token ]; then
        (umask 077 && head -c 24 /dev/urandom | base64 -w0 | tr '+/' '-_' > var/dev-admin-token)
        echo "Created a development console token in var/dev-admin-token" >&2
    fi
    GIGS_ADMIN_TOKEN="$(cat var/dev-admin-token)"
    export GIGS_ADMIN_TOKEN
fi

cat >&2 <<MSG

gigs-relay is starting on http://127.0.0.1:8080/webhooks/gigs (Ctrl-C stops it).
In another terminal, send a signed test event and watch it stored and delivered:
    deploy/send-test-event.sh
    .build/debug/gigs-relay deliveries list --config config/gigs-relay.example.toml
    cat var/dev-deliveries.jsonl
The console: http://127.0.0.1:8080/console (sign in with the token in var/dev-admin-token)

MSG
exec .build/debug/gigs-relay serve --config config/gigs-relay.example.toml
