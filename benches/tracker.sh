#!/usr/bin/env bash
# Pixel throughput and p99 latency: `tidings tracker serve` (release build, SQLite, every open
# committed before it is answered) beside nginx serving a static 1×1 GIF, on 127.0.0.1, in the
# same run, with the same wrk settings. Prints req/s, p99, the ratio, and checks that the events
# in the database equal the opens the server answered.
#
#   benches/tracker.sh                      # 10 s per server, 64 connections, 2 threads
#   DURATION=20s CONNECTIONS=128 benches/tracker.sh
#   DB=postgres://postgres@127.0.0.1:5432/bench benches/tracker.sh   # the PostgreSQL backend
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}

for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || { echo "benches/tracker.sh: $tool is missing (apt-get install wrk nginx-light curl)" >&2; exit 1; }
done

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
  access_log off;
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

# --- the tracker ---------------------------------------------------------------------------------
export TIDINGS_DATA_DIR=$work/data TIDINGS_CONFIG=$work/none.toml
DB=${DB:-sqlite:$work/tracker.sqlite3}
api_token=$("$BIN" tracker user add bench --db "$DB" | tail -1)
"$BIN" tracker serve --listen 127.0.0.1:0 --db "$DB" >"$work/tracker.out" 2>"$work/tracker.err" &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/tracker.out" 2>/dev/null && break; sleep 0.05; done
tracker=$(sed -n 's/^tidings tracker listening on //p' "$work/tracker.out")
[ -n "$tracker" ] || { echo "tracker did not start: $(cat "$work/tracker.err")" >&2; exit 1; }
rcpt=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
curl -sf -X POST "$tracker/api/v1/messages" -H "Authorization: Bearer $api_token" \
  -d "{\"message_id\":\"<bench@tidings>\",\"sent_at\":\"2020-01-01T00:00:00Z\",\"recipients\":[{\"address\":\"bench@example.com\",\"token\":\"$rcpt\"}]}" >/dev/null
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$nginx_port/p/x.gif" >/dev/null && break; sleep 0.05; done

# --- measure -------------------------------------------------------------------------------------
run_wrk() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "User-Agent: Mozilla/5.0 (bench)" "$1"; }
rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
p99() { awk '$1 == "99%" {print $2}' "$1"; }
answered() { awk '/requests in/ {print $1}' "$1"; }
non2xx() { awk '/Non-2xx or 3xx responses:/ {print $5}' "$1"; }
errors() { awk '/Socket errors:/ {print $0}' "$1"; }

run_wrk "http://127.0.0.1:$nginx_port/p/$rcpt.gif" >"$work/nginx.wrk"
run_wrk "$tracker/p/$rcpt.gif" >"$work/tracker.wrk"

# Let the last in-flight requests finish before counting.
sleep 1
metric=$(curl -sf "$tracker/metrics" | awk '/events_recorded_total\{kind="open"\}/ {print $2}')
recorded=$("$BIN" tracker stats --db "$DB" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["opens"])')

n_rps=$(rps "$work/nginx.wrk"); t_rps=$(rps "$work/tracker.wrk")
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) cores, $(date -u +%F)"
printf '%-28s %12s %10s\n' "server" "req/s" "p99"
printf '%-28s %12s %10s\n' "nginx (static GIF)" "$n_rps" "$(p99 "$work/nginx.wrk")"
printf '%-28s %12s %10s\n' "tidings tracker (${DB%%:*})" "$t_rps" "$(p99 "$work/tracker.wrk")"
python3 -c "print(f'ratio tracker/nginx: {float(\"$t_rps\")/float(\"$n_rps\"):.2f}')"
if [ -n "$(errors "$work/tracker.wrk")" ]; then echo "tracker $(errors "$work/tracker.wrk")"; fi
nx=$(non2xx "$work/tracker.wrk")
wrk_ok=$(answered "$work/tracker.wrk")
echo "tracker: wrk received $wrk_ok responses (${nx:-0} non-2xx); the server answered $metric opens; the database holds $recorded"
echo "  ($((recorded - metric)) committed whose client hung up before the answer was written, when wrk stopped)"
if [ "$recorded" -lt "$metric" ] || [ "$recorded" -lt "$wrk_ok" ]; then
  echo "MISMATCH: answered opens are missing from the database" >&2
  exit 1
fi
echo "every answered open is in the database"
