#!/bin/sh
# Fresh-process A/B of gw against the minimal undici proxy on one HTTP body size:
# each round starts the proxy anew, warms it for 2 s, then measures 5 s with wrk and
# reports req/s and the proxy's CPU per request (utime+stime from /proc/PID/stat).
# Complements bench/proxy/run.ts, whose long-lived candidates vary more between rounds.
#   npm run build && sh bench/proxy/fresh-ab.sh [ROUNDS] [SIZE]      (SIZE: 65536 or 100)
# Needs nginx (the backend) and wrk; pins the proxy to CPU 1, backend and wrk to CPU 0.
# Ports 48001-48003 on 127.0.0.1 must be free. Stops only the processes it started.
set -eu
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
SIZE=${2:-65536}
D=$(mktemp -d)
chmod 755 "$D"
mkdir -p "$D/root" "$D/logs"
head -c "$SIZE" /dev/urandom > "$D/root/body"
chmod 644 "$D/root/body"
cat > "$D/nginx.conf" <<CONF
worker_processes 1; pid $D/nginx.pid; error_log $D/logs/error.log;
events { worker_connections 4096; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  server { listen 127.0.0.1:48001; root $D/root; } }
CONF
cat > "$D/gw.json" <<JSON
{"listeners":[{"name":"h","protocol":"http","listen":"127.0.0.1:48002","accessLog":true,
  "routes":[{"name":"all","match":{"pathPrefix":"/"},"upstream":"be"}]}],
 "upstreams":[{"name":"be","balance":"round-robin","targets":["127.0.0.1:48001"]}]}
JSON
taskset -c 0 nginx -c "$D/nginx.conf" -p "$D" -g 'daemon off;' &
NGINX=$!
trap 'kill $NGINX 2>/dev/null; rm -rf "$D"' EXIT
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for round in $(seq "$ROUNDS"); do
  for who in gw undici-min; do
    if [ "$who" = gw ]; then
      taskset -c 1 node bin/gw.js proxy --config "$D/gw.json" > "$D/gw.log" 2>&1 &
      PORT=48002
    else
      taskset -c 1 node bench/proxy/minimal-undici-proxy.mjs 48003 127.0.0.1:48001 > /dev/null 2>&1 &
      PORT=48003
    fi
    PROXY=$!
    sleep 1
    taskset -c 0 wrk -t1 -c50 -d2s "http://127.0.0.1:$PORT/body" > /dev/null
    before=$(cpu "$PROXY")
    out=$(taskset -c 0 wrk -t1 -c50 -d5s "http://127.0.0.1:$PORT/body")
    after=$(cpu "$PROXY")
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    ticks=$(getconf CLK_TCK)
    echo "round $round $who: $rate req/s, $(echo "($after - $before) * 1000000 / $ticks / $requests" | bc -l | cut -c1-5) CPU us/req"
    kill -TERM "$PROXY"
    wait "$PROXY" 2>/dev/null || true
  done
done
