#!/usr/bin/env bash
# Runs the whole test suite under ThreadSanitizer: gigs-relay's own modules (library, test support,
# tests and the gigs-relay binary the process tests start) are built with -sanitize=thread in the normal
# .build folder (GIGS_RELAY_TSAN=1, see Package.swift), against the dependencies the normal build
# compiled; the next normal build compiles gigs-relay's modules again. A report in the test process or
# in any daemon it starts fails the run: the daemon exits with status 66 and the test that stops it
# fails, showing the report from the daemon's log.
#
# Usage: Tests/Sanitizers/run-thread.sh [swift test options, e.g. --filter Dispatch]   (Tests/run.sh calls it)
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "building gigs-relay's modules with -sanitize=thread (GIGS_RELAY_TSAN=1, in .build)"
GIGS_RELAY_TSAN=1 swift build --build-tests
export TSAN_OPTIONS="suppressions=$PWD/Tests/Sanitizers/thread-suppressions.txt exitcode=66 history_size=4 ${TSAN_OPTIONS:-}"
GIGS_RELAY_TSAN=1 swift test --skip-build "$@"
