# Shared set-up of the benchmark scripts (sourced, not run): builds release, makes a scratch folder,
# a signing key, and starts the daemon on a configuration whose extra TOML the caller gives.
#
# `BENCH_BINARY=PATH` runs that binary instead of building the working tree's release.
# `BENCH_STORE_TOML=TEXT` adds keys to `[store]` (Benchmarks/encryption.sh: `encryption_key = "env:…"`).
# `BENCH_EXTRA_TOML=TEXT` adds tables at the end (Benchmarks/tracing.sh: a `[tracing]` table).
# After `bench_setup PACKAGES…`: $binary, $work, $key_hex, $port. After `bench_start_daemon "TOML"`:
# $daemon, listening on 127.0.0.1:$port. Everything is stopped and removed on exit.

bench_setup() {
    deploy/setup-system.sh libssl-dev libsqlite3-dev libsystemd-dev wrk "$@"
    if [ -n "${BENCH_BINARY:-}" ]; then # a binary built elsewhere (Benchmarks/compare.sh)
        binary="$BENCH_BINARY"
    else
        swift build -c release --product gigs-relay >&2
        binary="$(swift build -c release --show-bin-path)/gigs-relay"
    fi
    work="$(mktemp -d)"
    daemon=""
    trap 'bench_cleanup' EXIT
    key_base64="$(head -c 32 /dev/urandom | base64 -w0)"
    key_hex="$(printf '%s' "$key_base64" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
    port=$((20000 + RANDOM % 20000))
}

bench_cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}

bench_start_daemon() { # extra TOML appended to the configuration
    cat > "$work/bench.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
[store]
path = "$work/var/bench.sqlite3"
${BENCH_STORE_TOML:-}
[webhook]
secrets = ["env:BENCH_SECRET"]
[log]
level = "warning"
$1
${BENCH_EXTRA_TOML:-}
TOML
    BENCH_SECRET="whsec_$key_base64" "$binary" serve --config "$work/bench.toml" 2>"$work/daemon.log" &
    daemon=$!
    # A large store takes a while: the daemon checks it (PRAGMA quick_check) before it listens.
    for _ in $(seq 1 6000); do
        curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$daemon" 2>/dev/null || break
        sleep 0.1
    done
    echo "the daemon did not start:" >&2
    cat "$work/daemon.log" >&2
    return 1
}

cpu_ticks() { # user + system clock ticks of the daemon so far
    awk '{ print $14 + $15 }' "/proc/$daemon/stat"
}

bench_grow_store() { # inserts events into the SQLite store $1 until it holds $2, received over the past day
    python3 - "$1" "$2" <<'PY'
import sqlite3, sys, time
path, target = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
db.execute("PRAGMA synchronous = OFF")
have = db.execute("select count(*) from events").fetchone()[0]
body = ('{"object":"event","id":"%s","type":"com.gigs.subscription.activated","project":"bench",'
        '"specversion":"1.0","time":"2026-11-23T10:00:00Z","data":{"object":"subscription",'
        '"id":"%s","status":"active","sim":{"object":"sim",'
        '"id":"sim_0SNlurA049MEWV4OpCwsNyC9Kn2d","type":"eSIM"},"user":{"object":"user",'
        '"id":"usr_0SNlurA049MEWV3Kp0mA8Hhs1Ud8","email":"jane@example.com","fullName":"Jane Doe",'
        '"preferredLocale":"en-US"}}}')
types = ["com.gigs.subscription.activated", "com.gigs.subscription.renewed", "com.gigs.sim.created",
         "com.gigs.subscriptionChange.applied", "com.gigs.invoice.paid"]
now = int(time.time() * 1000)
def rows(start, end):
    # 100,000 subscriptions, each with an event every 100,000th.
    for n in range(start, end):
        event, subject = "evt_gen_%010d" % n, "sub_gen_%06d" % (n % 100_000)
        yield (event, types[n % len(types)], "bench", "2026-11-23T10:00:00Z",
               now - 86_400_000 + n * 86_400_000 // max(target, 1), "msg_" + event, now // 1000,
               "v1,generated", (body % (event, subject)).encode(), subject)
batch = 200_000
for start in range(have, target, batch):
    db.executemany("insert into events (id, type, project, event_time, received_at, message_id, "
                   "webhook_timestamp, signature, body, subject) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   rows(start, min(start + batch, target)))
    db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
PY
}
