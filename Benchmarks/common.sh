# Shared set-up of the benchmark scripts (sourced, not run): builds release, makes a scratch folder,
# a signing key, and starts the daemon on a configuration whose extra TOML the caller gives.
#
# After `bench_setup PACKAGES…`: $binary, $work, $key_hex, $port. After `bench_start_daemon "TOML"`:
# $daemon, listening on 127.0.0.1:$port. Everything is stopped and removed on exit.

bench_setup() {
    deploy/setup-system.sh libssl-dev libsqlite3-dev libsystemd-dev wrk "$@"
    swift build -c release --product gigs-relay >&2
    binary="$(swift build -c release --show-bin-path)/gigs-relay"
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
[webhook]
secrets = ["env:BENCH_SECRET"]
[log]
level = "warning"
$1
TOML
    BENCH_SECRET="whsec_$key_base64" "$binary" serve --config "$work/bench.toml" 2>"$work/daemon.log" &
    daemon=$!
    for _ in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "the daemon did not start:" >&2
    cat "$work/daemon.log" >&2
    return 1
}

cpu_ticks() { # user + system clock ticks of the daemon so far
    awk '{ print $14 + $15 }' "/proc/$daemon/stat"
}
