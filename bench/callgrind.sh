#!/usr/bin/env bash
# Userland instructions per 1 KiB keep-alive GET, counted by callgrind (deterministic,
# unlike wall-clock timings on a shared machine).
#
# The release binary serves bench.sh's config (one worker, access_log off, a 1 KiB
# file) under callgrind twice: once answering FEW requests on one connection, once
# FEW + N. The difference divided by N is the cost of one request, with the start,
# the shutdown and the warm-up (first open, cache fill) cancelled out.
#
#   bench/callgrind.sh [N]        # N defaults to 5000; prints instructions per request
#   NO_BUILD=1 bench/callgrind.sh # measure target/release/webserv as it is
#   BIN=/path/to/webserv bench/callgrind.sh   # measure another build (implies NO_BUILD)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
FEW=500
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if [ -z "${BIN:-}" ]; then
  [ "${NO_BUILD:-0}" = 1 ] || cargo build --release --quiet
  BIN=$PWD/target/release/webserv
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/www"
head -c 1024 /dev/zero | tr '\0' 'x' >"$WORK/www/1k.txt"

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# client PORT COUNT: COUNT GETs of /1k.txt on one connection, one at a time, as wrk sends.
client() {
  "$PY" - "$1" "$2" <<'EOF'
import socket, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
for _ in range(600):
    try:
        s = socket.create_connection(("127.0.0.1", port))
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("server did not start")
req = b"GET /1k.txt HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port
buf = b""
size = None
for _ in range(count):
    s.sendall(req)
    while True:
        if size is None and b"\r\n\r\n" in buf:
            head, _, _ = buf.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 "), head
            length = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            size = len(head) + 4 + int(length[0].split(b":")[1])
        if size is not None and len(buf) >= size:
            buf = buf[size:]
            break
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connection closed")
        buf += chunk
s.close()
EOF
}

# run COUNT: total instructions (Ir) of the server answering COUNT requests.
run() {
  local count=$1 port out pid
  port=$(free_port)
  out="$WORK/cg.$count"
  cat >"$WORK/site.conf" <<EOF
worker_processes 1;
keepalive_timeout 75s;
access_log off;
server {
    listen 127.0.0.1:$port;
    root $WORK/www;
}
EOF
  valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" run "$WORK/site.conf" \
    >"$WORK/log.$count" 2>&1 &
  pid=$!
  client "$port" "$count"
  kill -TERM "$pid"
  wait "$pid" || true
  # "summary: 123" (or "totals:") is the whole run's instruction count.
  awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

a=$(run "$FEW")
b=$(run $((FEW + N)))
echo "Ir with $FEW requests: $a; with $((FEW + N)): $b"
echo "instructions per request: $(( (b - a) / N ))"
