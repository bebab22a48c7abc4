#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs missing system packages, checks formatting,
# builds once (library, binary and tests), then runs every test against that build.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/setup-system.sh libssl-dev libsqlite3-dev libsystemd-dev openssl curl python3 python3-pip
# The end-to-end tests' receiver checks outgoing signatures with an independent implementation.
python3 -c 'import standardwebhooks' 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check standardwebhooks==1.1.0 \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages standardwebhooks==1.1.0
swift format lint --strict --recursive Sources Tests Package.swift
swift build --build-tests
swift test --skip-build
