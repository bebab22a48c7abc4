#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs missing system packages, checks formatting,
# builds once (library, binary and tests), then runs every test against that build.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/setup-system.sh libssl-dev libsqlite3-dev libsystemd-dev openssl curl
swift format lint --strict --recursive Sources Tests Package.swift
swift build --build-tests
swift test --skip-build
