#!/usr/bin/env bash
# Compares a revision with the working tree in one session: builds REV's release in a temporary
# worktree (sharing this tree's release build folder, so only gigs-relay's own modules compile), then
# the working tree's, and runs the chosen benchmarks alternately, REV then the working tree, ROUNDS
# times. Prints each pair, then every figure with its ratio (working tree / REV) per round and the
# mean ratio over the rounds.
#
# Usage: Benchmarks/compare.sh REV [PARTS="ingest e2e"]
# PARTS, any of:
#   ingest     Benchmarks/ingest.sh DURATION 64
#   e2e        Benchmarks/end-to-end.sh DURATION 64 64 (flat out)
#   paced      Benchmarks/end-to-end.sh DURATION 100 64 300 (a steady 300 events/s)
#   ordered    BENCH_SUBJECTS=1000 Benchmarks/end-to-end.sh DURATION 64 64
#   postgres   Benchmarks/postgres.sh DURATION (ingest, two instances, end to end, takeover)
#   console    Benchmarks/console.sh 5 CONSOLE_SIZE (default 100000)
# ROUNDS (default 2) and DURATION (seconds per measurement, default 10) in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
rev="${1:?usage: Benchmarks/compare.sh REV [PARTS]}"
parts="${2:-ingest e2e}"
rounds="${ROUNDS:-2}"
duration="${DURATION:-10}"
commit="$(git rev-parse --verify "$rev^{commit}")"

scratch="$(mktemp -d)"
cleanup() {
    git worktree remove --force "$scratch/tree" >/dev/null 2>&1 || true
    rm -rf "$scratch"
}
trap cleanup EXIT

deploy/setup-system.sh libssl-dev libsqlite3-dev libsystemd-dev >&2
# The same pins as this tree, so the shared build folder's dependencies are reused as they are.
swift package resolve >&2
build() { # PACKAGE_PATH → copies its release binary to $scratch/$2
    swift build -c release --product gigs-relay --package-path "$1" --scratch-path "$root/.build" >&2
    cp "$(swift build -c release --package-path "$1" --scratch-path "$root/.build" --show-bin-path)/gigs-relay" \
        "$scratch/$2"
}
# A commit's binary is kept (.build/compare/COMMIT), so comparing with it again builds only this tree.
cached="$root/.build/compare/$commit/gigs-relay"
if [ -x "$cached" ]; then
    cp "$cached" "$scratch/before"
else
    git worktree add --detach "$scratch/tree" "$commit" >&2
    cp Package.resolved "$scratch/tree/Package.resolved"
    build "$scratch/tree" before
    mkdir -p "$(dirname "$cached")"
    cp "$scratch/before" "$cached"
fi
build "$root" after
short="$(git rev-parse --short "$commit")"

measure() { # PART → the benchmark's output
    case "$1" in
    ingest) Benchmarks/ingest.sh "$duration" 64 ;;
    e2e) Benchmarks/end-to-end.sh "$duration" 64 64 ;;
    paced) Benchmarks/end-to-end.sh "$duration" 100 64 300 ;;
    ordered) BENCH_SUBJECTS=1000 Benchmarks/end-to-end.sh "$duration" 64 64 ;;
    postgres) Benchmarks/postgres.sh "$duration" ;;
    console) Benchmarks/console.sh 5 "${CONSOLE_SIZE:-100000}" ;;
    *)
        echo "unknown part $1 (ingest e2e paced ordered postgres console)" >&2
        return 64
        ;;
    esac
}

echo "gigs-relay compare: $short (before) against the working tree (after), $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $rounds rounds, ${duration}s per measurement"
for round in $(seq 1 "$rounds"); do
    for part in $parts; do
        for side in before after; do
            echo "--- $part, $side, round $round"
            BENCH_BINARY="$scratch/$side" measure "$part" 2>/dev/null \
                | grep -vE '^(gigs-relay |delivery statuses)' | tee "$scratch/$part.$side.$round"
        done
    done
done

# Every figure with a unit on a line, paired by the line's label and its position on the line.
echo
echo "=== after / before ($short), per round, and the mean"
for part in $parts; do
    python3 - "$scratch" "$part" "$rounds" <<'PY'
import re, sys
scratch, part, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
unit = r"(req/s|events/s|pages/s|µs per event|s per 10k|ms|MB|s)\b"
figure = re.compile(r"(?:\b(p\d+(?:\.\d+)?|max)\s+)?(-?\d+(?:\.\d+)?)\s*" + unit)
def figures(side, round):
    found = {}
    seen = {}
    for line in open(f"{scratch}/{part}.{side}.{round}"):
        if line.startswith("---"):
            continue
        figures_here = figure.findall(line)
        first = figure.search(line)
        if not figures_here:  # a bare ratio ("ratio ingest/healthz: 0.35"; "ratio … 0.66 (2472 / 3753)")
            bare = re.search(r"(-?\d+(?:\.\d+)?)(?:\s+\([^)]*\))?\s*$", line)
            if not bare:
                continue
            figures_here, start = [("", bare.group(1), "")], bare.start()
        else:
            start = first.start()
        # The words before the first figure, counts in them masked ("delivered: # of # events"), and
        # numbered when a label repeats (several "delivered" lines in one part).
        label = re.sub(r"\d+(?:\.\d+)?", "#", line[:start]).strip(" :=\t")
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label} ({seen[label]})"
        for index, (quantile, value, name) in enumerate(figures_here):
            found[(label, index, f"{quantile} {name}".strip())] = float(value)
    return found
table = {}
for round in range(1, rounds + 1):
    before, after = figures("before", round), figures("after", round)
    for key in before:
        if key in after and before[key] != 0:
            table.setdefault(key, []).append((before[key], after[key]))
print(f"--- {part}")
for (label, index, name), pairs in table.items():
    ratios = [a / b for b, a in pairs]
    cells = "  ".join(f"{b:g} → {a:g} ({a / b:.2f})" for b, a in pairs)
    print(f"{label[:48]:48} {name:13} {cells}   mean {sum(ratios) / len(ratios):.2f}")
PY
done
