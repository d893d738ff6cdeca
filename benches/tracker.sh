#!/usr/bin/env bash
# Pixel throughput and p99 latency: `tidings tracker serve` (release build, every open committed
# before it is answered) beside nginx serving a static 1×1 GIF and writing its access log (each
# hit recorded, as the tracker records it; nginx's default unbuffered log), on 127.0.0.1, in the same run,
# with the same wrk settings. Prints req/s, p99 and the ratio to nginx for each tracker setup, and
# checks for each that the events in its database equal the opens the server answered. Beside
# req/s it prints the CPU time each server spent per answered request (µs, user + system, from
# /proc; for PostgreSQL its cluster's processes are counted too): unlike req/s, that figure
# hardly moves when other work shares the machine.
#
# Tracker setups (TRACKERS, space-separated, all by default):
#   sqlite          SQLite, --durability fsync (the default: the WAL is fsynced before answering)
#   sqlite-process  SQLite, --durability process (answered once the WAL is written to the OS)
#   postgres        PostgreSQL, a private cluster started here (fsync on, synchronous_commit on)
#
#   benches/tracker.sh                      # 10 s per server, 64 connections, 2 threads
#   DURATION=20s CONNECTIONS=256 TRACKERS="sqlite postgres" benches/tracker.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
TRACKERS=${TRACKERS:-sqlite sqlite-process postgres}

for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || { echo "benches/tracker.sh: $tool is missing (apt-get install wrk nginx-light curl)" >&2; exit 1; }
done
pg_bin=""
if [[ " $TRACKERS " == *" postgres "* ]]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$pg_bin/initdb" ] || { echo "benches/tracker.sh: PostgreSQL is missing (apt-get install postgresql), or leave postgres out of TRACKERS" >&2; exit 1; }
fi

cargo build --release --locked -q
BIN=$PWD/target/release/tidings

# On the disk the tracker would use, not tmpfs, so fsync costs what it costs.
work=$(mktemp -d "$PWD/target/tracker-bench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- nginx with its own config, serving the same GIF bytes --------------------------------------
mkdir -p "$work/www" "$work/nginx-tmp"
printf 'GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x01\x44\x00\x3b' >"$work/www/pixel.gif"
nginx_port=$(free_port)
cat >"$work/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log $work/access.log;
  client_body_temp_path $work/nginx-tmp;
  proxy_temp_path $work/nginx-tmp;
  fastcgi_temp_path $work/nginx-tmp;
  uwsgi_temp_path $work/nginx-tmp;
  scgi_temp_path $work/nginx-tmp;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
    location /p/ {
      default_type image/gif;
      add_header Cache-Control "no-store";
      try_files /pixel.gif =404;
    }
  }
}
EOF
nginx -e "$work/nginx-error.log" -p "$work" -c "$work/nginx.conf" &
pids+=($!)

# --- PostgreSQL: a private cluster on the same disk, with its durability settings left on -----
pg_url=""
if [ -n "$pg_bin" ]; then
  pg=$work/pg
  mkdir -p "$pg/sock"
  as_pg=()
  if [ "$(id -u)" = 0 ]; then
    chmod 755 "$work"  # mktemp made it private; the cluster runs as postgres
    chown -R postgres: "$pg"
    as_pg=(setpriv --reuid=postgres --regid=postgres --clear-groups --)
  fi
  "${as_pg[@]}" "$pg_bin/initdb" --auth=trust --username=postgres -E UTF8 -D "$pg/data" >/dev/null
  pg_port=$(free_port)
  "${as_pg[@]}" "$pg_bin/postgres" -D "$pg/data" -h 127.0.0.1 -p "$pg_port" -k "$pg/sock" \
    -c max_connections=100 >"$work/postgres.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break; sleep 0.1; done
  "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" || { echo "postgres did not start: $(cat "$work/postgres.log")" >&2; exit 1; }
  pg_url="postgres://postgres@127.0.0.1:$pg_port"
fi

export TIDINGS_DATA_DIR=$work/data TIDINGS_CONFIG=$work/none.toml

run_wrk() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "User-Agent: Mozilla/5.0 (bench)" "$1"; }
rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
p99() { awk '$1 == "99%" {print $2}' "$1"; }
answered() { awk '/requests in/ {print $1}' "$1"; }
non2xx() { awk '/Non-2xx or 3xx responses:/ {print $5}' "$1"; }
errors() { awk '/Socket errors:/ {print $0}' "$1"; }
# CPU clock ticks (user + system) used so far by the given processes and their children.
cpu_ticks() {
  local pid
  for pid in "$@" $(for p in "$@"; do pgrep -P "$p"; done); do
    # Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
    sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}'
  done | awk '{s += $1} END {print s + 0}'
}
# µs of CPU per answered request: ticks before, ticks after, wrk's output.
cpu_us() { python3 -c "import os; print(f'{($2 - $1) * 1e6 / os.sysconf(\"SC_CLK_TCK\") / max(1, $(answered "$3")):.1f}')"; }

for _ in $(seq 100); do curl -sf "http://127.0.0.1:$nginx_port/p/x.gif" >/dev/null && break; sleep 0.05; done
nginx_pid=$(cat "$work/nginx.pid")
before=$(cpu_ticks "$nginx_pid")
run_wrk "http://127.0.0.1:$nginx_port/p/x.gif" >"$work/nginx.wrk"
n_cpu=$(cpu_us "$before" "$(cpu_ticks "$nginx_pid")" "$work/nginx.wrk")
n_rps=$(rps "$work/nginx.wrk")

report="$work/report"
printf '%-36s %12s %10s %7s %14s\n' "server" "req/s" "p99" "ratio" "CPU µs/req" >"$report"
printf '%-36s %12s %10s %7s %14s\n' "nginx (static GIF)" "$n_rps" "$(p99 "$work/nginx.wrk")" "1.00" "$n_cpu" >>"$report"
checks="$work/checks"
: >"$checks"
failed=0

for setup in $TRACKERS; do
  case $setup in
    sqlite) db="sqlite:$work/tracker.sqlite3"; args=(--durability fsync) ;;
    sqlite-process) db="sqlite:$work/tracker-process.sqlite3"; args=(--durability process) ;;
    postgres)
      [ -n "$pg_url" ] || { echo "postgres: no cluster" >&2; exit 1; }
      "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres bench
      db="$pg_url/bench"; args=(--durability fsync) ;;
    *) echo "benches/tracker.sh: unknown tracker setup $setup" >&2; exit 2 ;;
  esac
  api_token=$("$BIN" tracker user add bench --db "$db" | tail -1)
  "$BIN" tracker serve --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --db "$db" "${args[@]}" >"$work/$setup.out" 2>"$work/$setup.err" &
  tracker_pid=$!
  pids+=($tracker_pid)
  for _ in $(seq 100); do grep -q "listening on" "$work/$setup.out" 2>/dev/null && break; sleep 0.05; done
  for _ in $(seq 100); do grep -q "metrics on" "$work/$setup.out" 2>/dev/null && break; sleep 0.05; done
  tracker=$(sed -n 's/^tidings tracker listening on //p' "$work/$setup.out")
  metrics_url=$(sed -n 's/^tidings tracker metrics on //p' "$work/$setup.out")
  [ -n "$tracker" ] || { echo "tracker ($setup) did not start: $(cat "$work/$setup.err")" >&2; exit 1; }
  rcpt=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  curl -sf -X POST "$tracker/api/v1/messages" -H "Authorization: Bearer $api_token" \
    -d "{\"message_id\":\"<bench@tidings>\",\"sent_at\":\"2020-01-01T00:00:00Z\",\"recipients\":[{\"address\":\"bench@example.com\",\"token\":\"$rcpt\"}]}" >/dev/null
  measured=("$tracker_pid")
  [ "$setup" = postgres ] && measured+=("$(head -1 "$pg/data/postmaster.pid")")
  before=$(cpu_ticks "${measured[@]}")
  run_wrk "$tracker/p/$rcpt.gif" >"$work/$setup.wrk"
  t_cpu=$(cpu_us "$before" "$(cpu_ticks "${measured[@]}")" "$work/$setup.wrk")
  # Let the last in-flight requests finish before counting.
  sleep 1
  metric=$(curl -sf "$metrics_url" | awk '/events_recorded_total\{kind="open"\}/ {print $2}')
  kill "$tracker_pid"; wait "$tracker_pid" 2>/dev/null || true
  recorded=$("$BIN" tracker stats --db "$db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["opens"])')
  t_rps=$(rps "$work/$setup.wrk")
  ratio=$(python3 -c "print(f'{float(\"$t_rps\")/float(\"$n_rps\"):.2f}')")
  printf '%-36s %12s %10s %7s %14s\n' "tidings tracker ($setup)" "$t_rps" "$(p99 "$work/$setup.wrk")" "$ratio" "$t_cpu" >>"$report"
  {
    if [ -n "$(errors "$work/$setup.wrk")" ]; then echo "$setup: $(errors "$work/$setup.wrk")"; fi
    nx=$(non2xx "$work/$setup.wrk")
    wrk_ok=$(answered "$work/$setup.wrk")
    echo "$setup: wrk received $wrk_ok responses (${nx:-0} non-2xx); the server answered $metric opens; the database holds $recorded"
    if [ "$recorded" -lt "$metric" ] || [ "$recorded" -lt "$wrk_ok" ]; then
      echo "$setup: MISMATCH: answered opens are missing from the database"
    else
      echo "$setup: every answered open is in the database ($((recorded - metric)) more committed for clients that hung up when wrk stopped)"
    fi
  } >>"$checks"
  grep -q "$setup: MISMATCH" "$checks" && failed=1
done

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
cat "$report" "$checks"
exit "$failed"
