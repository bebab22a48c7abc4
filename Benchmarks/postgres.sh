#!/usr/bin/env bash
# PostgreSQL benchmark: the same binary on a PostgreSQL store, with the server on this machine (a
# throwaway cluster made by initdb in a scratch folder, run as the postgres user, fsync and
# synchronous_commit on). Prints:
#   1. ingest at CONNECTIONS with one instance, straight and behind nginx (an upstream of one);
#   2. ingest at CONNECTIONS with two instances behind one nginx port (upstream with both), and its ratio
#      to one instance behind the same nginx;
#   3. end to end (ingest → http action → local nginx): one instance flat out, then one and two instances
#      behind nginx paced at RATE events/s, and the ratio of two to one;
#   4. takeover: one of the two instances is killed with SIGKILL during paced deliveries; the time until
#      every delivery it held is done, against lease_seconds + 2 s.
#
# Usage: Benchmarks/postgres.sh [DURATION_SECONDS=10] [CONNECTIONS=64] [RATE=5000]
# BENCH_PARTS="ingest two e2e takeover" (the default) chooses the parts to run.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-64}"
rate="${3:-5000}"
lease=5
parts=" ${BENCH_PARTS:-ingest two e2e takeover} "

. Benchmarks/common.sh
bench_setup nginx postgresql
pg_port=$((port + 2))
front_port=$((port + 3))
receiver_port=$((port + 4))
second_port=$((port + 5))
one_front_port=$((port + 7))
pids=()
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
as_postgres=()
[ "$(id -u)" -eq 0 ] && as_postgres=(runuser -u postgres --)
pg_password="bench-$RANDOM$RANDOM"

cleanup_all() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -d "$work/pg" ] && "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true
    bench_cleanup
}
trap cleanup_all EXIT

mkdir -p "$work/pg"
printf '%s' "$pg_password" > "$work/pg/password"
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$work/pg" && chmod 755 "$work"
"${as_postgres[@]}" "$pg_bin/initdb" -D "$work/pg/data" -U postgres --pwfile="$work/pg/password" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
"${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -o \
    "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$work/pg -c max_connections=200 -c shared_buffers=256MB -c fsync=on -c synchronous_commit=on" \
    start >/dev/null
psql_run() { "${as_postgres[@]}" psql -h "$work/pg" -p "$pg_port" -U postgres -At -v ON_ERROR_STOP=1 "$@"; }

cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx-body;
    proxy_temp_path $work/nginx-proxy;
    upstream relays {
        server 127.0.0.1:$port;
        server 127.0.0.1:$second_port;
        keepalive 64;
    }
    upstream relay_one {
        server 127.0.0.1:$port;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$front_port;
        location / {
            proxy_pass http://relays;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    server {
        listen 127.0.0.1:$one_front_port;
        location / {
            proxy_pass http://relay_one;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    server {
        listen 127.0.0.1:$receiver_port;
        location / { return 200; }
    }
}
NGINX
nginx -p "$work" -c "$work/nginx.conf"

start_instance() { # name, port, database, extra TOML
    cat > "$work/$1.toml" <<TOML
[server]
listen = "127.0.0.1:$2"
[store]
url = "postgres://postgres@127.0.0.1:$pg_port/$3"
password = "env:BENCH_PG_PASSWORD"
pool_size = 16
[webhook]
secrets = ["env:BENCH_SECRET"]
[log]
level = "warning"
$4
TOML
    BENCH_SECRET="whsec_$key_base64" BENCH_PG_PASSWORD="$pg_password" "$binary" serve --config "$work/$1.toml" \
        2>"$work/$1.log" &
    pids+=($!)
    eval "${1}_pid=$!"
    for _ in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "instance $1 did not start:" >&2
    cat "$work/$1.log" >&2
    return 1
}

stop_instances() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}

load() { # name, url, extra wrk arguments; prints the line and sets $ok and $accepted (2xx/s)
    local line
    line="$(BENCH_KEY_HEX="$key_hex" wrk -t2 -c"$connections" -d"${duration}s" --latency -s Benchmarks/signed-events.lua "$2" | grep '^RESULT')"
    eval "${line#RESULT }"
    accepted=$(( (requests - non2xx) * 1000000 / duration_us ))
    awk -v n="$1" -v r="$((requests * 1000000 / duration_us))" -v a="$p50_us" -v b="$p99_us" -v c="$p999_us" -v e="$non2xx" -v s="$socket_errors" \
        'BEGIN { printf "%-28s %8d req/s   p50 %6.2f ms   p99 %6.2f ms   p99.9 %6.2f ms   non-2xx %d   socket errors %d\n", n, r, a / 1000, b / 1000, c / 1000, e, s }'
    ok=$((requests - non2xx))
}

check_stored() { # database
    local stored
    stored="$(psql_run -d "$1" -c "select count(*) from events")"
    echo "stored events: $stored (2xx answers counted by wrk: $ok)"
    [ "$stored" -ge "$ok" ] || { echo "FAIL: fewer events stored than acknowledged" >&2; exit 1; }
}

route="
[dispatch]
workers = 64
lease_seconds = $lease
[actions.receiver]
kind = \"http\"
url = \"http://127.0.0.1:$receiver_port/hook\"
secret = \"env:BENCH_SECRET\"
timeout_seconds = 3
[[routes]]
events = [\"*\"]
actions = [\"receiver\"]"

ratio() { # name, after, before
    awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%-44s %.2f (%d / %d)\n", n, (b > 0 ? a / b : 0), a, b }'
}

wait_delivered() { # database; waits until no delivery is open, then prints rate and lag, sets $delivered
    local open=1
    for _ in $(seq 1 600); do
        open="$(psql_run -d "$1" -c "select count(*) from deliveries where status in ('pending','running','failed')")"
        [ "$open" -eq 0 ] && break
        sleep 0.2
    done
    psql_run -d "$1" -F ' ' -c "
        with done as (
            select e.received_at, a.started_at + a.duration_ms as finished
            from deliveries d join events e on e.seq = d.event_seq
            join attempts a on a.delivery_id = d.id and a.outcome = 'succeeded')
        select count(*), (select count(*) from events),
               round(count(*) / greatest((max(finished) - min(received_at)) / 1000.0, 0.001)),
               percentile_disc(0.5) within group (order by finished - received_at),
               percentile_disc(0.99) within group (order by finished - received_at)
        from done" | awk '{ printf "delivered: %d of %d events = %d events/s end to end   lag ingest→delivered p50 %d ms   p99 %d ms\n", $1, $2, $3, $4, $5; if ($1 != $2) { print "FAIL: not every event was delivered"; exit 1 } }' \
        | tee "$work/delivered"
    delivered="$(awk '{ print $7 }' "$work/delivered")"
}

echo "gigs-relay PostgreSQL benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, PostgreSQL $("$pg_bin/postgres" --version | awk '{ print $3 }') on the same machine, ${duration}s at $connections connections"

if [[ "$parts" == *" ingest "* ]]; then
psql_run -d postgres -c "create database one" >/dev/null
start_instance one "$port" one ""
load "ingest, 1 instance" "http://127.0.0.1:$port"
check_stored one
load "ingest, 1 instance (nginx)" "http://127.0.0.1:$one_front_port"
one_behind_nginx=$accepted
stop_instances

fi

if [[ "$parts" == *" two "* ]]; then
psql_run -d postgres -c "create database two" >/dev/null
start_instance one "$port" two ""
start_instance two "$second_port" two ""
load "ingest, 2 instances (nginx)" "http://127.0.0.1:$front_port"
check_stored two
stop_instances
[ -n "${one_behind_nginx:-}" ] && ratio "ratio ingest 2 instances / 1 (same nginx)" "$accepted" "$one_behind_nginx"

fi

if [[ "$parts" == *" e2e "* ]]; then
psql_run -d postgres -c "create database e2e" >/dev/null
start_instance one "$port" e2e "$route"
load "end to end, 1 instance, flat out" "http://127.0.0.1:$port"
wait_delivered e2e
stop_instances

export BENCH_DELAY_MS=$(( connections * 1000 / rate ))
psql_run -d postgres -c "create database e2e1" >/dev/null
start_instance one "$port" e2e1 "$route"
load "end to end, 1 instance (nginx), paced $((connections * 1000 / BENCH_DELAY_MS))/s" "http://127.0.0.1:$one_front_port"
one_accepted=$accepted
wait_delivered e2e1
one_delivered=$delivered
stop_instances

psql_run -d postgres -c "create database e2e2" >/dev/null
start_instance one "$port" e2e2 "$route"
start_instance two "$second_port" e2e2 "$route"
load "end to end, 2 instances (nginx), paced $((connections * 1000 / BENCH_DELAY_MS))/s" "http://127.0.0.1:$front_port"
wait_delivered e2e2
ratio "ratio paced accepted 2 instances / 1" "$accepted" "$one_accepted"
ratio "ratio paced delivered 2 instances / 1" "$delivered" "$one_delivered"
unset BENCH_DELAY_MS

fi

if [[ "$parts" == *" takeover "* ]]; then
# Takeover: paced load through both to a receiver that takes 200 ms per answer (so attempts are in
# flight); one instance is killed with SIGKILL halfway through.
slow_port=$((port + 6))
python3 - "$slow_port" <<'PY' &
import http.server, sys, time
class Slow(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", "0")))
        time.sleep(0.2)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *arguments):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Slow).serve_forever()
PY
slow_receiver=$!
sleep 0.5
psql_run -d postgres -c "create database takeover" >/dev/null
stop_instances
pids+=("$slow_receiver")
start_instance one "$port" takeover "${route//$receiver_port/$slow_port}"
start_instance two "$second_port" takeover "${route//$receiver_port/$slow_port}"
takeover() { # runs beside the load: kills instance one, then times its deliveries' takeover
    sleep $((duration / 2))
    kill -9 "$one_pid"
    local killed_at held left took
    killed_at="$(date +%s%3N)"
    held="$(psql_run -d takeover -c "select coalesce(string_agg(id::text, ','), '') from deliveries where status = 'running'")"
    if [ -n "$held" ]; then
        for _ in $(seq 1 600); do
            left="$(psql_run -d takeover -c "select count(*) from deliveries where id in ($held) and status <> 'succeeded'")"
            [ "$left" -eq 0 ] && break
            sleep 0.05
        done
    fi
    took=$(( $(date +%s%3N) - killed_at ))
    echo "takeover: $(echo "$held" | tr ',' '\n' | grep -c . || true) deliveries running at the kill (either instance's), all done $took ms after it (lease_seconds $lease + 2 s = $(( (lease + 2) * 1000 )) ms)" > "$work/takeover"
}
takeover &
killer=$!
BENCH_DELAY_MS=$(( connections * 1000 / 200 )) load "takeover load (2 → 1), 200/s" "http://127.0.0.1:$front_port" || true
wait "$killer" || true
cat "$work/takeover"
wait_delivered takeover
unset BENCH_DELAY_MS
fi
