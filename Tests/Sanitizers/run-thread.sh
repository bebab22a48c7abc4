#!/usr/bin/env bash
# Runs the whole test suite under ThreadSanitizer: library, tests and the gigs-relay binary that the
# process tests start are all built with -sanitize=thread (in .build-tsan, beside the normal build).
# A report in the test process or in any daemon it starts fails the run: the daemon exits with
# status 66 and the test that stops it fails, showing the report from the daemon's log.
#
# Usage: Tests/Sanitizers/run-thread.sh [swift test options, e.g. --filter Dispatch]   (Tests/run.sh calls it)
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "building the tests with -sanitize=thread (.build-tsan)"
swift build --build-tests --sanitize=thread --scratch-path .build-tsan
export TSAN_OPTIONS="suppressions=$PWD/Tests/Sanitizers/thread-suppressions.txt exitcode=66 history_size=4 ${TSAN_OPTIONS:-}"
swift test --skip-build --sanitize=thread --scratch-path .build-tsan "$@"
