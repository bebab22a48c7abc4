#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs missing system packages, checks formatting,
# builds once (library, binary and tests), then runs every test against that build and the console in
# chromium (Tests/Browser/console_test.py), then runs the suite
# again under ThreadSanitizer (gigs-relay's own modules built again for it), then fuzzes ingest's parsers for a minute
# (the library and fuzz target built again with libFuzzer and AddressSanitizer, in .build).
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/setup-system.sh libssl-dev libsqlite3-dev libsystemd-dev openssl curl python3 python3-pip prometheus nginx systemd \
    postgresql chromium chromium-driver
# The end-to-end tests' receivers: an HTTP one checking outgoing signatures with an independent
# Standard Webhooks implementation, a real SMTP server and an OTLP/HTTP collector decoding with
# opentelemetry-proto; Selenium drives chromium for the console.
python3 -c 'import standardwebhooks, aiosmtpd, selenium, opentelemetry.proto' 2>/dev/null || {
    packages=(standardwebhooks==1.1.0 aiosmtpd==1.4.6 selenium==4.51.0 opentelemetry-proto==1.45.2)
    python3 -m pip install --quiet --disable-pip-version-check "${packages[@]}" \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${packages[@]}"
}
swift format lint --strict --recursive Sources Tests Package.swift
swift build --build-tests
swift test --skip-build
# The console in a real browser, on the normal build's binary (the sanitizer builds below replace it).
Tests/Browser/console_test.py --binary .build/debug/gigs-relay
# The whole suite again, with the library, the tests and the daemon they start built for ThreadSanitizer.
Tests/Sanitizers/run-thread.sh
# Ingest's parsers under libFuzzer and AddressSanitizer, for a bounded time.
Tests/Fuzz/run.sh 60
