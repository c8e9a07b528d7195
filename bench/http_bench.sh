#!/usr/bin/env bash
# webserv vs nginx HTTP benchmark (loopback, wrk).
#
#   bench/http_bench.sh [-d SECONDS] [-r REPS] [--workers N] [--no-build] [--strace]
#                       [--points LIST] [--keep]
#
#   -d SECONDS    wrk duration per run (default 5)
#   -r REPS       repetitions per point, interleaved webserv/nginx (default 3; median reported)
#   --workers N   worker_processes for both servers (default 1). With 1 the servers are
#                 pinned to CPU 0 and wrk to CPU 1 (taskset); with N>1 nothing is pinned.
#   --no-build    skip `cargo build --release` (use the existing target/release/webserv)
#   --strace      additionally run `strace -c -f` on each server for a short 1 KiB
#                 keep-alive run and print syscalls per request
#   --points LIST comma list of points to run (default: small,medium,large,close,404)
#   --keep        keep the temp dir (configs, logs, raw wrk output)
#
# Installs what it needs when missing (apt-get: nginx-light|nginx, wrk, procps, util-linux
# for taskset, strace with --strace). Stops every server it started on exit (by PID).
# Loopback only (127.0.0.1), bounded runs.
set -euo pipefail

DUR=5
REPS=3
WORKERS=1
BUILD=1
STRACE=0
KEEP=0
POINTS="small,medium,large,close,404"
while [ $# -gt 0 ]; do
  case "$1" in
    -d) DUR="$2"; shift 2 ;;
    -r) REPS="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --strace) STRACE=1; shift ;;
    --points) POINTS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LOG_PREFIX=bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

# ---------------------------------------------------------------- dependencies
NGINX_BIN="$(command -v nginx || true)"
[ -z "$NGINX_BIN" ] && [ -x /usr/sbin/nginx ] && NGINX_BIN=/usr/sbin/nginx
if [ -z "$NGINX_BIN" ]; then
  if [ "$APT_UPDATED" = 0 ]; then $SUDO apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  if apt-cache show nginx-light >/dev/null 2>&1; then apt_install nginx-light; else apt_install nginx; fi
  NGINX_BIN="$(command -v nginx || echo /usr/sbin/nginx)"
  # Debian's postinst may start the packaged service on :80; we leave it alone (not ours)
  # and use our own instance on other ports.
fi
command -v wrk >/dev/null || apt_install wrk
command -v pgrep >/dev/null || apt_install procps
command -v taskset >/dev/null || apt_install util-linux
if [ "$STRACE" = 1 ]; then command -v strace >/dev/null || apt_install strace; fi

# ---------------------------------------------------------------- build
cd "$ROOT"
if [ "$BUILD" = 1 ]; then
  log "cargo build --release"
  cargo build --release -q
fi
WEBSERV="$ROOT/target/release/webserv"
[ -x "$WEBSERV" ] || { echo "no $WEBSERV (build failed?)" >&2; exit 1; }

# ---------------------------------------------------------------- temp dir, docroot
TMP="$(mktemp -d /tmp/http_bench.XXXXXX)"
chmod 755 "$TMP"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  sleep 0.3
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
  done
  if [ "$KEEP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DOC="$TMP/www"
mkdir -p "$DOC" "$TMP/nginx" "$TMP/raw"
head -c 1024 /dev/urandom | base64 -w 0 | head -c 1024 > "$DOC/1k.txt"
head -c 102400 /dev/urandom > "$DOC/100k.bin"
head -c 10485760 /dev/urandom > "$DOC/10m.bin"
chmod -R a+rX "$TMP"

# Two free loopback ports.
WS_PORT="$(free_port)"
NG_PORT="$(free_port)"
while [ "$NG_PORT" = "$WS_PORT" ]; do NG_PORT="$(free_port)"; done

# ---------------------------------------------------------------- configs
cat > "$TMP/webserv.conf" <<EOF
worker_processes $WORKERS;
server {
    listen 127.0.0.1:$WS_PORT;
    root $DOC;
}
EOF

NG_USER=""
[ "$(id -u)" = 0 ] && NG_USER="user root;"
cat > "$TMP/nginx/nginx.conf" <<EOF
$NG_USER
worker_processes $WORKERS;
daemon off;
master_process on;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    types { text/plain txt; application/octet-stream bin; text/html html; }
    default_type application/octet-stream;
    access_log off;
    log_not_found off;   # webserv does not log 404s either (error_log write per request)
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$NG_PORT;
        root $DOC;
    }
}
EOF

# ---------------------------------------------------------------- start servers
if [ "$WORKERS" = 1 ]; then
  SRV_PIN=(taskset -c 0)
  WRK_PIN=(taskset -c 1)
  PINNING="server on CPU 0, wrk on CPU 1"
else
  SRV_PIN=()
  WRK_PIN=()
  PINNING="unpinned"
fi

"${SRV_PIN[@]}" "$WEBSERV" run "$TMP/webserv.conf" >"$TMP/webserv.out" 2>"$TMP/webserv.err" &
WS_PID=$!
PIDS+=("$WS_PID")
"${SRV_PIN[@]}" "$NGINX_BIN" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" \
  >"$TMP/nginx.out" 2>"$TMP/nginx.err" &
NG_PID=$!
PIDS+=("$NG_PID")

wait_port() {
  local port=$1 pid=$2 name=$3 i
  for i in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/1k.txt" 2>/dev/null ||
       (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited during start-up; stderr:" >&2
      cat "$TMP/$name.err" >&2 || true
      [ "$name" = nginx ] && cat "$TMP/nginx/error.log" >&2 2>/dev/null
      exit 1
    fi
    sleep 0.1
  done
  echo "$name did not listen on $port" >&2
  exit 1
}
wait_port "$WS_PORT" "$WS_PID" webserv
wait_port "$NG_PORT" "$NG_PID" nginx

# Sanity: both serve the same bytes.
for f in 1k.txt 100k.bin; do
  for port in "$WS_PORT" "$NG_PORT"; do
    got="$(exec 3<>"/dev/tcp/127.0.0.1/$port"; printf 'GET /%s HTTP/1.0\r\nHost: x\r\n\r\n' "$f" >&3; cat <&3 | wc -c)"
    [ "$got" -gt "$(stat -c %s "$DOC/$f")" ] || { echo "port $port: short response for /$f ($got bytes)" >&2; exit 1; }
  done
done

# All PIDs of a server (nginx: master + workers; webserv: one process, threads are
# summed by /proc/PID/stat already since utime/stime of the process include its threads).
server_pids() {
  if [ "$1" = nginx ]; then
    echo "$NG_PID"; pgrep -P "$NG_PID" || true
  else
    echo "$WS_PID"
  fi
}
# utime+stime in clock ticks, summed over the server's processes.
cpu_ticks() {
  local total=0 p f
  for p in $(server_pids "$1"); do
    f="$(cat "/proc/$p/stat" 2>/dev/null)" || continue
    f="${f##*) }"                 # drop "pid (comm) "
    set -- $f                     # fields from 3 (state) on
    total=$((total + ${12} + ${13}))   # field 14 utime, 15 stime
  done
  echo "$total"
}
CLK_TCK="$(getconf CLK_TCK)"
rss_kb() {
  local total=0 p r
  for p in $(server_pids "$1"); do
    r="$(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0)"
    total=$((total + ${r:-0}))
  done
  echo "$total"
}

# ---------------------------------------------------------------- points
# name|path|connections|extra wrk args
point_def() {
  case "$1" in
    small)  echo "1 KiB keep-alive|/1k.txt|64|" ;;
    medium) echo "100 KiB keep-alive|/100k.bin|64|" ;;
    large)  echo "10 MiB keep-alive|/10m.bin|8|" ;;
    close)  echo "1 KiB Connection: close|/1k.txt|64|close" ;;
    404)    echo "404 keep-alive|/missing.txt|64|" ;;
    *) echo "unknown point $1" >&2; exit 2 ;;
  esac
}

to_bytes() { # wrk "12.34MB" -> bytes
  awk -v s="$1" 'BEGIN{ n=s+0; u=s; sub(/^[0-9.]+/,"",u);
    m=1; if(u=="KB")m=1024; else if(u=="MB")m=1048576; else if(u=="GB")m=1073741824;
    printf "%.0f", n*m }'
}

# run_one SERVER PORT POINT REP -> appends "rps mbps p50 p99 reqs_per_cpu_s errors" to results
declare -A RES
run_one() {
  local srv=$1 port=$2 pt=$3 rep=$4
  local def name path conns extra raw t0 t1 cpu rps bps p50 p99 errs reqs
  def="$(point_def "$pt")"
  IFS='|' read -r name path conns extra <<<"$def"
  local args=(-t1 "-c$conns" "-d${DUR}s" --latency)
  [ "$extra" = close ] && args+=(-H 'Connection: close')
  raw="$TMP/raw/$srv-$pt-$rep.txt"
  if ! kill -0 "$( [ "$srv" = nginx ] && echo "$NG_PID" || echo "$WS_PID")" 2>/dev/null; then
    echo "!! $srv is not running before $pt rep $rep; stderr:" >&2
    cat "$TMP/$srv.err" >&2
    RES[$srv,$pt,$rep]="0 0 0 0 0 DEAD"
    return
  fi
  t0="$(cpu_ticks "$srv")"
  "${WRK_PIN[@]}" wrk "${args[@]}" "http://127.0.0.1:$port$path" >"$raw" 2>&1 || true
  t1="$(cpu_ticks "$srv")"
  cpu="$(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN{printf "%.3f", (b-a)/h}')"
  rps="$(awk '/^Requests\/sec:/{print $2}' "$raw")"
  bps="$(to_bytes "$(awk '/^Transfer\/sec:/{print $2}' "$raw")")"
  p50="$(to_ms "$(awk '$1=="50%"{print $2}' "$raw")")"
  p99="$(to_ms "$(awk '$1=="99%"{print $2}' "$raw")")"
  reqs="$(awk '/requests in/{print $1}' "$raw")"
  # Non-2xx is the expected outcome of the 404 point: only count it elsewhere.
  local errpat='Socket errors|Non-2xx'
  [ "$pt" = 404 ] && errpat='Socket errors'
  errs="$(grep -E "$errpat" "$raw" | sed 's/^ *//; s/  */ /g' | tr '\n' ';' | sed 's/;$//' || true)"
  [ -z "$rps" ] && { rps=0; echo "!! $srv $pt rep $rep: wrk produced no result:" >&2; cat "$raw" >&2; }
  local rpc
  rpc="$(awk -v r="${reqs:-0}" -v c="$cpu" 'BEGIN{ if (c>0) printf "%.0f", r/c; else print 0 }')"
  RES[$srv,$pt,$rep]="$rps $(awk -v b="$bps" 'BEGIN{printf "%.1f", b/1e6}') $p50 $p99 $rpc ${errs:-}"
  printf '  %-7s %-24s rep %d: %10s req/s %9s MB/s p50 %8s ms p99 %8s ms  cpu %6ss  %8s req/cpu-s %s\n' \
    "$srv" "$name" "$rep" "$rps" "$(awk -v b="$bps" 'BEGIN{printf "%.1f", b/1e6}')" "$p50" "$p99" "$cpu" "$rpc" "${errs:-}" >&2
  if ! kill -0 "$( [ "$srv" = nginx ] && echo "$NG_PID" || echo "$WS_PID")" 2>/dev/null; then
    echo "!! $srv DIED during $pt rep $rep; wrk said:" >&2; cat "$raw" >&2
    echo "!! $srv stderr:" >&2; cat "$TMP/$srv.err" >&2
  fi
}

col() { # col SERVER POINT FIELD -> median over reps
  local srv=$1 pt=$2 k=$3 r
  for r in $(seq 1 "$REPS"); do echo "${RES[$srv,$pt,$r]}" | awk -v k="$k" '{print $k}'; done | median
}

log "webserv $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty') on :$WS_PORT (pid $WS_PID), nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*\///') on :$NG_PORT (pid $NG_PID)"
log "workers=$WORKERS, $PINNING, -d ${DUR}s x $REPS reps, interleaved"

IFS=',' read -r -a PTS <<<"$POINTS"
# Warm-up (page cache, pools), not measured.
for port in "$WS_PORT" "$NG_PORT"; do
  "${WRK_PIN[@]}" wrk -t1 -c8 -d1s "http://127.0.0.1:$port/1k.txt" >/dev/null 2>&1 || true
  "${WRK_PIN[@]}" wrk -t1 -c2 -d1s "http://127.0.0.1:$port/10m.bin" >/dev/null 2>&1 || true
done

LOAD0="$(cut -d' ' -f1-3 /proc/loadavg)"
RSS_WS0="$(rss_kb webserv)"; RSS_NG0="$(rss_kb nginx)"
for pt in "${PTS[@]}"; do
  for rep in $(seq 1 "$REPS"); do
    run_one webserv "$WS_PORT" "$pt" "$rep"
    run_one nginx "$NG_PORT" "$pt" "$rep"
  done
done
RSS_WS1="$(rss_kb webserv)"; RSS_NG1="$(rss_kb nginx)"
LOAD1="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- table
echo
echo "webserv vs nginx — workers=$WORKERS ($PINNING), wrk -t1 -d${DUR}s, median of $REPS interleaved runs"
echo
printf '| %-24s | %-7s | %10s | %8s | %8s | %8s | %12s | %s |\n' point server 'req/s' 'MB/s' 'p50 ms' 'p99 ms' 'req/CPU-s' 'errors (any rep)'
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' -------------------------- --------- ------------ ---------- ---------- ---------- -------------- ------------
for pt in "${PTS[@]}"; do
  IFS='|' read -r name _ conns _ <<<"$(point_def "$pt")"
  for srv in webserv nginx; do
    errs=""
    for r in $(seq 1 "$REPS"); do
      e="$(echo "${RES[$srv,$pt,$r]}" | cut -d' ' -f6-)"
      [ -n "$e" ] && errs="$errs r$r: $e;"
    done
    printf '| %-24s | %-7s | %10.0f | %8.1f | %8.3f | %8.3f | %12.0f | %s |\n' "$name (c=$conns)" "$srv" \
      "$(col "$srv" "$pt" 1)" "$(col "$srv" "$pt" 2)" "$(col "$srv" "$pt" 3)" "$(col "$srv" "$pt" 4)" "$(col "$srv" "$pt" 5)" "${errs:-}"
  done
done
echo
echo "ratios webserv/nginx (req/s and MB/s: >1 = webserv better; p99: <1 = webserv better)"
echo
printf '| %-24s | %8s | %8s | %8s | %10s |\n' point 'req/s' 'MB/s' 'p99' 'req/CPU-s'
printf '|%s|%s|%s|%s|%s|\n' -------------------------- ---------- ---------- ---------- ------------
for pt in "${PTS[@]}"; do
  IFS='|' read -r name _ conns _ <<<"$(point_def "$pt")"
  printf '| %-24s | %8s | %8s | %8s | %10s |\n' "$name (c=$conns)" \
    "$(ratio "$(col webserv "$pt" 1)" "$(col nginx "$pt" 1)")" \
    "$(ratio "$(col webserv "$pt" 2)" "$(col nginx "$pt" 2)")" \
    "$(ratio "$(col webserv "$pt" 4)" "$(col nginx "$pt" 4)")" \
    "$(ratio "$(col webserv "$pt" 5)" "$(col nginx "$pt" 5)")"
done
echo
echo "load average (1/5/15 min) before: $LOAD0, after: $LOAD1 (on $(nproc) CPUs; the benchmark itself accounts for ~1-2)"
echo "medians are taken per column, so one row may mix repetitions"
echo "server RSS (kB) before/after the runs: webserv $RSS_WS0 -> $RSS_WS1, nginx (master+workers) $RSS_NG0 -> $RSS_NG1"
if [ -s "$TMP/webserv.err" ]; then echo "webserv stderr:"; tail -20 "$TMP/webserv.err"; fi
if [ -s "$TMP/nginx/error.log" ]; then echo "nginx error.log (tail):"; tail -5 "$TMP/nginx/error.log"; fi

# ---------------------------------------------------------------- syscalls per request
if [ "$STRACE" = 1 ]; then
  echo
  echo "syscalls per request, 1 KiB keep-alive, wrk -t1 -c64 -d3s under strace -c -f (throughput under strace is not meaningful)"
  for srv in webserv nginx; do
    out="$TMP/strace-$srv.txt"
    if [ "$srv" = webserv ]; then port=$WS_PORT; else port=$NG_PORT; fi
    # attach to every server process (threads follow with -f)
    sargs=()
    for p in $(server_pids "$srv"); do sargs+=(-p "$p"); done
    strace -c -f -o "$out" "${sargs[@]}" &
    SPID=$!
    PIDS+=("$SPID")
    sleep 0.5
    "${WRK_PIN[@]}" wrk -t1 -c64 -d3s "http://127.0.0.1:$port/1k.txt" >"$TMP/raw/strace-$srv-wrk.txt" 2>&1 || true
    kill -INT "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    reqs="$(awk '/requests in/{print $1}' "$TMP/raw/strace-$srv-wrk.txt")"
    echo
    echo "$srv: $reqs requests"
    awk -v r="${reqs:-1}" '
      /^[ ]*[0-9.]+[ ]+[0-9.]+[ ]+[0-9]+[ ]+[0-9]+/ && $NF != "total" {
        # % time, seconds, usecs/call, calls, [errors], syscall
        name=$NF; calls=$4; errs=(NF==6)?$5:0
        printf "  %-16s %8.3f per request (%d calls, %d errors)\n", name, calls/r, calls, errs }
      /total$/ { printf "  %-16s %8.3f per request\n", "TOTAL", $4/r }' "$out" | sort -k2 -g -r | head -14
  done
fi
