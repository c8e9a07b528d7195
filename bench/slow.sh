#!/usr/bin/env bash
# Slow and greedy clients (issue 11): how many seconds is each server unavailable while
# slowhttptest attacks it, and how long does a normal request wait at the descriptor
# limit?
#
#   bench/slow.sh [-d SECONDS] [-c CONNS] [--servers webserv,nginx]
#                 [--modes slowloris,body-upload,body-cgi,slowread,range,fdlimit]
#                 [--bin PATH] [--label NAME] [--out FILE] [--keep]
#
# Every server runs with `worker_processes 1` and a connection limit of 256
# (`worker_connections 256`), access log off, on 127.0.0.1. For each attack mode:
#
# - slowhttptest opens CONNS (default 300) connections at 100 a second and keeps them
#   going for SECONDS (default 30): slowloris `-H` (a header line every 5 s), slow body
#   `-B` to an upload (`PUT /upload/x`) and to a CGI (`POST /cgi-bin/post.py`; nginx
#   through fcgiwrap), slow read `-X` (a 1 MiB file, 3 requests per connection, a
#   512-1024 byte receive window read 32 bytes every 5 s), range `-R` (a `Range` of
#   many overlapping ranges, on the 1 MiB file).
# - A probe connects once a second, sends `GET /` and must have the whole 200 response
#   within 1 s. The figure is the number of seconds whose probe failed or was late.
#   slowhttptest's own probe (`-p 1`, its "service available" column) is reported beside
#   it.
#
# The `fdlimit` mode starts the server under `ulimit -n 64`, holds 200 connections that
# sent half a request head, then sends 10 probes a second apart (each waits at most
# 45 s): it reports the slowest answer, and how many lines the server logged about
# running out of descriptors from its start to the last probe.
#
# `--bin` measures another webserv build (default: `cargo build --release`), `--label`
# names its column (to compare builds).
#
# Installs slowhttptest, nginx and fcgiwrap with apt-get when missing. Stops everything
# it started by PID. The machine may be shared: a figure far from its neighbours is
# worth a rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_PREFIX=slow
# shellcheck source=bench/lib.sh
. bench/lib.sh

DURATION=30
CONNS=300
SERVERS=webserv,nginx
MODES=slowloris,body-upload,body-cgi,slowread,range,fdlimit
BIN=""
LABEL=webserv
OUT=""
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    -d) DURATION=$2; shift 2 ;;
    -c) CONNS=$2; shift 2 ;;
    --servers) SERVERS=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    --label) LABEL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

command -v slowhttptest >/dev/null || apt_install slowhttptest
if [[ ",$SERVERS," == *",nginx,"* ]]; then
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_install nginx
  command -v fcgiwrap >/dev/null || [ -x /usr/sbin/fcgiwrap ] || apt_install fcgiwrap
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
FCGIWRAP=$(command -v fcgiwrap || echo /usr/sbin/fcgiwrap)
if [ -z "$BIN" ]; then
  cargo build --release --quiet
  BIN=$PWD/target/release/webserv
fi

TMP=$(mktemp -d /tmp/webserv-slow.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
  set +e
  local p
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] || continue
    # Servers run in their own session: their group holds their workers and children.
    kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
  done
  sleep 0.5
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -KILL -- "-$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ "$KEEP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DOC=$TMP/www
mkdir -p "$DOC/cgi-bin" "$DOC/upload" "$TMP/store"
head -c 600 /dev/zero | tr '\0' 'x' >"$DOC/index.html"
head -c $((1 << 20)) /dev/urandom >"$DOC/big.bin"
cat >"$DOC/cgi-bin/post.py" <<'PY'
#!/usr/bin/python3
import os, sys
n = int(os.environ.get("CONTENT_LENGTH") or 0)
data = sys.stdin.buffer.read(n)
sys.stdout.write("Content-Type: text/plain\r\n\r\nread %d bytes\n" % len(data))
PY
chmod 755 "$DOC/cgi-bin/post.py"

cat >"$TMP/probe.py" <<'PY'
"""probe.py PORT SECONDS: one `GET /` a second; prints how many seconds had no complete
200 answer within 1 s, and the slowest complete 200 (0 if none)."""
import socket, sys, time
port, seconds = int(sys.argv[1]), int(sys.argv[2])
req = b"GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n"
bad, slowest, start = 0, 0.0, time.monotonic()
for i in range(seconds):
    tick = start + i
    now = time.monotonic()
    if now < tick:
        time.sleep(tick - now)
    t0 = time.monotonic()
    ok = False
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.sendall(req)
        buf = b""
        while True:
            left = 1 - (time.monotonic() - t0)
            if left <= 0:
                break
            s.settimeout(left)
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        ok = buf.startswith(b"HTTP/1.1 200") and buf.endswith(b"x" * 600)
        s.close()
    except OSError:
        pass
    took = time.monotonic() - t0
    if ok:
        slowest = max(slowest, took)
    if not ok or took > 1:
        bad += 1
print(bad, "%.3f" % slowest)
PY

cat >"$TMP/hold.py" <<'PY'
"""hold.py PORT N: N connections that each sent half a request head, held until killed."""
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
held = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /%d HTTP/1.1\r\nHost: x\r\nX-Slow: " % i)
    held.append(s)
print("holding", flush=True)
while True:
    time.sleep(3600)
PY

write_conf() { # KIND DIR PORT
  local kind=$1 dir=$2 port=$3
  case "$kind" in
    webserv) cat >"$dir/webserv.conf" <<EOF
worker_processes 1;
worker_connections 256;
error_log $dir/error.log info;
access_log off;
server {
    listen 127.0.0.1:$port;
    root $DOC;
    location /upload/ {
        allow_methods GET PUT POST;
        upload_store $TMP/store;
    }
    location /cgi-bin/ {
        allow_methods GET POST;
        cgi .py /usr/bin/python3;
    }
}
EOF
      ;;
    nginx)
      local user=""
      [ "$(id -u)" = 0 ] && user="user root;"
      cat >"$dir/nginx.conf" <<EOF
$user
worker_processes 1;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        listen 127.0.0.1:$port deferred;
        root $DOC;
        location /upload/ {
            root $TMP/store;
            dav_methods PUT;
            create_full_put_path on;
        }
        location /cgi-bin/ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_pass unix:$dir/fcgi.sock;
        }
    }
}
EOF
      ;;
  esac
}

SRV_PID=""
FCGI_PID=""
start_server() { # KIND DIR PORT [NOFILE]
  local kind=$1 dir=$2 port=$3 nofile=${4:-} i cmd=()
  write_conf "$kind" "$dir" "$port"
  case "$kind" in
    webserv) cmd=("$BIN" run "$dir/webserv.conf") ;;
    nginx)
      setsid "$FCGIWRAP" -c 8 -s "unix:$dir/fcgi.sock" </dev/null >/dev/null 2>&1 &
      FCGI_PID=$!
      PIDS+=("$FCGI_PID")
      cmd=("$NGINX" -p "$dir" -c "$dir/nginx.conf") ;;
  esac
  if [ -n "$nofile" ]; then
    # shellcheck disable=SC2016 # expanded by the inner shell
    setsid bash -c 'ulimit -n "$0"; exec "$@"' "$nofile" "${cmd[@]}" \
      >"$dir/stdout" 2>"$dir/stderr" </dev/null &
  else
    setsid "${cmd[@]}" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
  fi
  SRV_PID=$!
  PIDS+=("$SRV_PID")
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$SRV_PID" 2>/dev/null || [ "$i" = 100 ]; then
      echo "$kind did not start on $port:" >&2
      tail -20 "$dir/stderr" "$dir/error.log" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.1
  done
}

stop_pid() { # PID: its session's group (or the process), TERM then KILL
  local p=$1 i
  [ -n "$p" ] || return 0
  kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  # Stopped: the cleanup must not signal the PID again (it may be reused).
  local keep=() q
  for q in "${PIDS[@]:-}"; do [ "$q" = "$p" ] || keep+=("$q"); done
  PIDS=("${keep[@]:-}")
}

stop_server() {
  stop_pid "$SRV_PID"
  stop_pid "$FCGI_PID"
  SRV_PID=""
  FCGI_PID=""
}

attack_args() { # MODE PORT
  local base="-c $CONNS -r 100 -l $DURATION -p 1 -g"
  case "$1" in
    slowloris)   echo "-H -i 5 $base -u http://127.0.0.1:$2/" ;;
    body-upload) echo "-B -i 5 -t PUT $base -u http://127.0.0.1:$2/upload/slow.txt" ;;
    body-cgi)    echo "-B -i 5 $base -u http://127.0.0.1:$2/cgi-bin/post.py" ;;
    slowread)    echo "-X -k 3 -w 512 -y 1024 -n 5 -z 32 $base -u http://127.0.0.1:$2/big.bin" ;;
    range)       echo "-R -a 10 -b 3000 $base -u http://127.0.0.1:$2/big.bin" ;;
  esac
}

# slowhttptest's CSV: seconds,closed,pending,connected,service_available
sht_unavailable() { # CSV
  awk -F, 'NR > 1 && $5 ~ /^0/ { n++ } END { print n + 0 }' "$1"
}

# The run_* functions leave their figures in RESULT (not on stdout: a command
# substitution's subshell would keep the PIDs it starts from the cleanup).
RESULT=""
run_attack() { # KIND MODE -> "PROBE_BAD SLOWEST SHT_BAD"
  local kind=$1 mode=$2 dir="$TMP/$1-$2" port probe sht
  mkdir -p "$dir"
  port=$(free_port)
  start_server "$kind" "$dir" "$port"
  # shellcheck disable=SC2046
  slowhttptest $(attack_args "$mode" "$port") -o "$dir/sht" >"$dir/sht.log" 2>&1 &
  local sht_pid=$!
  PIDS+=("$sht_pid")
  sleep 1   # the attack's first connections are open before the first probe
  probe=$("$PYTHON" "$TMP/probe.py" "$port" "$((DURATION - 2))")
  wait "$sht_pid" || true
  stop_pid "$sht_pid"
  stop_server
  sht=$(sht_unavailable "$dir/sht.csv" 2>/dev/null || echo "?")
  RESULT="$probe $sht"
}

run_fdlimit() { # KIND -> "SLOWEST_OF_10 LOG_LINES SECONDS"
  local kind=$1 dir="$TMP/$1-fdlimit" port holder slowest=0 i t lines start
  mkdir -p "$dir"
  port=$(free_port)
  start_server "$kind" "$dir" "$port" 64
  start=$(date +%s)
  setsid "$PYTHON" "$TMP/hold.py" "$port" 200 >"$dir/hold.out" &
  holder=$!
  PIDS+=("$holder")
  for i in $(seq 1 100); do grep -q holding "$dir/hold.out" 2>/dev/null && break; sleep 0.1; done
  for i in $(seq 1 10); do
    t=$("$PYTHON" - "$port" <<'PY'
import socket, sys, time
t0 = time.monotonic()
ok = False
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=45)
    s.sendall(b"GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
    s.settimeout(45)
    buf = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        buf += c
    ok = buf.startswith(b"HTTP/1.1 200")
except OSError:
    pass
print("%.3f" % (time.monotonic() - t0) if ok else "fail")
PY
)
    echo "probe $i: $t" >>"$dir/probes"
    [ "$t" = fail ] && t=99
    slowest=$(awk -v a="$slowest" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
    sleep 1
  done
  # Every line that mentions it (a log file that cannot be opened says so on stderr).
  lines=$(cat "$dir/error.log" "$dir/stderr" 2>/dev/null | grep -ci "too many open files" || true)
  RESULT="$slowest $lines $(($(date +%s) - start))"
  stop_pid "$holder"
  stop_server
}

IFS=, read -r -a SERVER_LIST <<<"$SERVERS"
IFS=, read -r -a MODE_LIST <<<"$MODES"
declare -A RES=()
for mode in "${MODE_LIST[@]}"; do
  for kind in "${SERVER_LIST[@]}"; do
    log "$kind: $mode"
    if [ "$mode" = fdlimit ]; then
      run_fdlimit "$kind"
    else
      run_attack "$kind" "$mode"
    fi
    RES[$kind,$mode]=$RESULT
    log "$kind: $mode: ${RES[$kind,$mode]}"
  done
done

label() { if [ "$1" = webserv ]; then echo "$LABEL"; else echo "$1"; fi; }

report() {
  echo "Seconds unavailable out of $((DURATION - 2)) probes (a probe a second, a 200 within 1 s;"
  echo "in brackets slowhttptest's own count with \`-p 1\`), $CONNS connections against a limit of 256:"
  echo
  printf '| mode |'; for kind in "${SERVER_LIST[@]}"; do printf ' %s |' "$(label "$kind")"; done; echo
  printf '|---|'; for kind in "${SERVER_LIST[@]}"; do printf '%s' '---|'; done; echo
  for mode in "${MODE_LIST[@]}"; do
    [ "$mode" = fdlimit ] && continue
    printf '| %s |' "$mode"
    for kind in "${SERVER_LIST[@]}"; do
      read -r bad slowest sht <<<"${RES[$kind,$mode]}"
      printf ' %s s (%s s), slowest 200 %s s |' "$bad" "$sht" "$slowest"
    done
    echo
  done
  if [[ ",$MODES," == *",fdlimit,"* ]]; then
    echo
    echo "At \`ulimit -n 64\` with 200 connections holding half a head (10 probes):"
    echo
    printf '| |'; for kind in "${SERVER_LIST[@]}"; do printf ' %s |' "$(label "$kind")"; done; echo
    printf '|---|'; for kind in "${SERVER_LIST[@]}"; do printf '%s' '---|'; done; echo
    printf '| slowest answer (99 = none within 45 s) |'
    for kind in "${SERVER_LIST[@]}"; do read -r s _ <<<"${RES[$kind,fdlimit]}"; printf ' %s s |' "$s"; done
    echo
    printf '| "too many open files" log lines, from the start (seconds) |'
    for kind in "${SERVER_LIST[@]}"; do
      read -r _ l secs <<<"${RES[$kind,fdlimit]}"
      printf ' %s in %s s |' "$l" "$secs"
    done
    echo
  fi
}
if [ -n "$OUT" ]; then report | tee "$OUT"; else report; fi
