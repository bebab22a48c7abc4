#!/usr/bin/env bash
# Fuzzes ingest's untrusted-input parsers (signature headers and verification, the event envelope
# decoder) with libFuzzer and AddressSanitizer for SECONDS (default 60), starting from the committed
# seed corpus in Tests/Fuzz/corpus. A crash fails the run; its input is saved in .build/fuzz-crashes/:
# copy it into Tests/Fuzz/crashes/ so every test run replays it as a regression check.
#
# Usage: Tests/Fuzz/run.sh [SECONDS]   (Tests/run.sh calls it)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"

corpus="$(mktemp -d)"
trap 'rm -rf "$corpus" "$corpus.build.log"' EXIT
# GIGS_RELAY_FUZZ=1 makes Package.swift instrument only the library and the fuzz target, in the normal
# .build folder, so the dependencies the normal build compiled are reused (the next normal build
# compiles the library again). The sanitizer build's linker warns about every ASan helper symbol;
# keep its output unless it fails.
echo "building the fuzz target with -sanitize=fuzzer,address (.build, GIGS_RELAY_FUZZ=1)"
GIGS_RELAY_FUZZ=1 swift build --product gigs-relay-fuzz > "$corpus.build.log" 2>&1 \
    || { tail -60 "$corpus.build.log"; exit 1; }
fuzzer="$(swift build --show-bin-path)/gigs-relay-fuzz"
cp Tests/Fuzz/corpus/* Tests/Fuzz/crashes/* "$corpus/" 2>/dev/null || true
mkdir -p .build/fuzz-crashes
echo "fuzzing ingest for ${seconds}s"
log="$corpus.log"
status=0
LSAN_OPTIONS="suppressions=$PWD/Tests/Fuzz/leak-suppressions.txt ${LSAN_OPTIONS:-}" "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=.build/fuzz-crashes/ -print_final_stats=1 "$corpus" > "$log" 2>&1 || status=$?
grep -E '^(INFO: seed corpus|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
if [ "$status" -ne 0 ]; then
    tail -60 "$log"
    echo "fuzzing found a failure; its input is in .build/fuzz-crashes/" >&2
    exit "$status"
fi
rm -f "$log"
