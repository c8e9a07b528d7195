#!/usr/bin/env bash
# webserv vs lighttpd CGI benchmark (loopback, wrk, one tiny /bin/sh script).
#
#   bench/cgi_bench.sh [-d SECONDS] [-r REPS] [-c CONNS] [--no-build] [--rev REV]
#                      [--strace] [--points LIST] [--keep]
#
#   -d SECONDS    wrk duration per run (default 5)
#   -r REPS       repetitions per point, interleaved webserv/lighttpd (default 3; median)
#   -c CONNS      wrk connections (default 16; wrk always -t1)
#   --no-build    skip the build (use the existing target/release/webserv)
#   --rev REV     build a clean `git archive REV` export instead of the working tree
#                 (target dir /tmp/webserv-bench-target, reused between runs); use this
#                 when others are editing src/ in the shared tree
#   --strace      additionally trace each server (and its CGI children) with `strace -f`
#                 for a short run and print syscalls per request, split server / child
#   --points LIST comma list of points (default: hello,query)
#   --keep        keep the temp dir (configs, logs, raw wrk output, strace logs)
#
# Both servers run the same script the same way: interpreter /bin/sh for `.sh`
# (webserv `cgi .sh /bin/sh;`, lighttpd `cgi.assign = (".sh" => "/bin/sh")`), one
# process / one worker each, pinned to CPU 0 with taskset (the CGI children inherit the
# pin); wrk runs on CPU 1.
#
# Server CPU = growth of utime+stime+cutime+cstime of the server process (/proc/PID/stat):
# a reaped child's CPU lands in the parent's cutime/cstime, so this covers the server and
# its CGI children (children still running at the end of a run are not counted).
#
# Installs what it needs when missing (apt-get: lighttpd, wrk, procps, util-linux, curl,
# strace with --strace). Stops everything it started on exit (by PID). Loopback only.
set -euo pipefail

DUR=5
REPS=3
CONNS=16
BUILD=1
REV=""
STRACE=0
KEEP=0
POINTS="hello,query"
while [ $# -gt 0 ]; do
  case "$1" in
    -d) DUR="$2"; shift 2 ;;
    -r) REPS="$2"; shift 2 ;;
    -c) CONNS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --rev) REV="$2"; shift 2 ;;
    --strace) STRACE=1; shift ;;
    --points) POINTS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LOG_PREFIX=cgi-bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

# ---------------------------------------------------------------- dependencies
LIGHTTPD_BIN="$(command -v lighttpd || true)"
[ -z "$LIGHTTPD_BIN" ] && [ -x /usr/sbin/lighttpd ] && LIGHTTPD_BIN=/usr/sbin/lighttpd
if [ -z "$LIGHTTPD_BIN" ]; then
  # Debian's postinst may start the packaged service on :80; it is not ours, we leave it
  # alone and run our own instance on a free port.
  apt_install lighttpd
  LIGHTTPD_BIN="$(command -v lighttpd || echo /usr/sbin/lighttpd)"
fi
command -v wrk >/dev/null || apt_install wrk
command -v pgrep >/dev/null || apt_install procps
command -v taskset >/dev/null || apt_install util-linux
command -v curl >/dev/null || apt_install curl
if [ "$STRACE" = 1 ]; then command -v strace >/dev/null || apt_install strace; fi

# ---------------------------------------------------------------- build
cd "$ROOT"
WEBSERV="$ROOT/target/release/webserv"
BUILT_FROM="working tree $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo '+dirty')"
if [ -n "$REV" ]; then
  SRC="/tmp/webserv-bench-src"
  REV_SHA="$(git -C "$ROOT" rev-parse --short "$REV")"
  log "clean export of $REV ($REV_SHA) to $SRC, cargo build --release"
  rm -rf "$SRC"; mkdir -p "$SRC"
  git -C "$ROOT" archive "$REV" | tar -x -C "$SRC"
  CARGO_TARGET_DIR=/tmp/webserv-bench-target cargo build --release -q --manifest-path "$SRC/Cargo.toml"
  WEBSERV=/tmp/webserv-bench-target/release/webserv
  BUILT_FROM="clean export of $REV_SHA"
elif [ "$BUILD" = 1 ]; then
  log "cargo build --release"
  cargo build --release -q
else
  BUILT_FROM="existing binary (--no-build; $(stat -c %y "$WEBSERV" | cut -d. -f1)), tree $BUILT_FROM"
fi
[ -x "$WEBSERV" ] || { echo "no $WEBSERV (build failed?)" >&2; exit 1; }

# ---------------------------------------------------------------- temp dir, scripts
TMP="$(mktemp -d /tmp/cgi_bench.XXXXXX)"
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
mkdir -p "$DOC/cgi" "$TMP/raw"
cat > "$DOC/cgi/hello.sh" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\nhello\n'
EOF
cat > "$DOC/cgi/query.sh" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\nquery=%s\n' "$QUERY_STRING"
EOF
chmod 755 "$DOC/cgi/hello.sh" "$DOC/cgi/query.sh"
chmod -R a+rX "$TMP"

WS_PORT="$(free_port)"
LT_PORT="$(free_port)"
while [ "$LT_PORT" = "$WS_PORT" ]; do LT_PORT="$(free_port)"; done

# ---------------------------------------------------------------- configs
cat > "$TMP/webserv.conf" <<EOF
worker_processes 1;
server {
    listen 127.0.0.1:$WS_PORT;
    root $DOC;
    location /cgi/ {
        cgi .sh /bin/sh;
    }
}
EOF

# lighttpd: one process (server.max-worker unset), no access log (mod_accesslog not
# loaded), keep-alive limits raised to match webserv. Runs as the invoking user; as root
# server.username/groupname stay unset (lighttpd then keeps root, like `user root;` in
# http_bench.sh's nginx config).
cat > "$TMP/lighttpd.conf" <<EOF
server.document-root = "$DOC"
server.bind = "127.0.0.1"
server.port = $LT_PORT
server.errorlog = "$TMP/lighttpd.err"
server.pid-file = "$TMP/lighttpd.pid"
server.max-keep-alive-requests = 1000000
server.max-keep-alive-idle = 75
server.max-fds = 4096
server.modules += ("mod_cgi")
cgi.assign = (".sh" => "/bin/sh")
mimetype.assign = (".txt" => "text/plain")
EOF

# ---------------------------------------------------------------- start servers
SRV_PIN=(taskset -c 0)
WRK_PIN=(taskset -c 1)
PINNING="server (and its CGI children) on CPU 0, wrk on CPU 1"

"${SRV_PIN[@]}" "$WEBSERV" run "$TMP/webserv.conf" >"$TMP/webserv.out" 2>"$TMP/webserv.err" &
WS_PID=$!
PIDS+=("$WS_PID")
"${SRV_PIN[@]}" "$LIGHTTPD_BIN" -D -f "$TMP/lighttpd.conf" >"$TMP/lighttpd.out" 2>"$TMP/lighttpd.stderr" &
LT_PID=$!
PIDS+=("$LT_PID")

srv_pid() { if [ "$1" = lighttpd ]; then echo "$LT_PID"; else echo "$WS_PID"; fi; }
srv_port() { if [ "$1" = lighttpd ]; then echo "$LT_PORT"; else echo "$WS_PORT"; fi; }
srv_log() { # stderr / error log of a server, last N lines
  if [ "$1" = lighttpd ]; then tail -n "$2" "$TMP/lighttpd.err" "$TMP/lighttpd.stderr" 2>/dev/null
  else tail -n "$2" "$TMP/webserv.err" 2>/dev/null; fi
}

wait_port() {
  local name=$1 port pid i
  port="$(srv_port "$name")"; pid="$(srv_pid "$name")"
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited during start-up; log:" >&2
      srv_log "$name" 30 >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "$name did not listen on $port" >&2
  exit 1
}
wait_port webserv
wait_port lighttpd

# Sanity: both run the scripts and return the same body.
for srv in webserv lighttpd; do
  port="$(srv_port "$srv")"
  got="$(curl -s "http://127.0.0.1:$port/cgi/hello.sh")"
  [ "$got" = hello ] || { echo "$srv: /cgi/hello.sh returned '$got'" >&2; srv_log "$srv" 20 >&2; exit 1; }
  got="$(curl -s "http://127.0.0.1:$port/cgi/query.sh?a=1&b=2")"
  [ "$got" = "query=a=1&b=2" ] || { echo "$srv: /cgi/query.sh returned '$got'" >&2; srv_log "$srv" 20 >&2; exit 1; }
done

# utime+stime+cutime+cstime of the server process, in clock ticks.
cpu_ticks() {
  local f
  f="$(cat "/proc/$(srv_pid "$1")/stat" 2>/dev/null)" || { echo 0; return; }
  f="${f##*) }"               # drop "pid (comm) "
  set -- $f                   # fields from 3 (state) on
  echo $(( ${12} + ${13} + ${14} + ${15} ))   # fields 14-17: utime stime cutime cstime
}
# Same, split: "own children" (utime+stime, cutime+cstime).
cpu_split() {
  local f
  f="$(cat "/proc/$(srv_pid "$1")/stat" 2>/dev/null)" || { echo "0 0"; return; }
  f="${f##*) }"
  set -- $f
  echo "$(( ${12} + ${13} )) $(( ${14} + ${15} ))"
}
CLK_TCK="$(getconf CLK_TCK)"
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$(srv_pid "$1")/status" 2>/dev/null || echo 0; }
zombies() { # zombie children of a server right now
  local n=0 c
  for c in $(pgrep -P "$(srv_pid "$1")" 2>/dev/null || true); do
    [ "$(awk '{print $3}' "/proc/$c/stat" 2>/dev/null)" = Z ] && n=$((n + 1))
  done
  echo "$n"
}

# ---------------------------------------------------------------- points
# name|path
point_def() {
  case "$1" in
    hello) echo "hello.sh keep-alive|/cgi/hello.sh" ;;
    query) echo "query.sh?QUERY_STRING|/cgi/query.sh?name=webserv&n=42" ;;
    close) echo "hello.sh Connection: close|/cgi/hello.sh" ;;
    *) echo "unknown point $1" >&2; exit 2 ;;
  esac
}


# run_one SERVER POINT REP -> RES[srv,pt,rep] = "rps p50 p99 cpu_s own_s child_s errors..."
declare -A RES
FAILS=0
run_one() {
  local srv=$1 pt=$2 rep=$3
  local def name path port raw t0 t1 s0 s1 cpu own child rps p50 p99 errs
  def="$(point_def "$pt")"
  IFS='|' read -r name path <<<"$def"
  port="$(srv_port "$srv")"
  local args=(-t1 "-c$CONNS" "-d${DUR}s" --latency)
  [ "$pt" = close ] && args+=(-H 'Connection: close')
  raw="$TMP/raw/$srv-$pt-$rep.txt"
  if ! kill -0 "$(srv_pid "$srv")" 2>/dev/null; then
    echo "!! $srv is not running before $pt rep $rep; log:" >&2
    srv_log "$srv" 30 >&2
    RES[$srv,$pt,$rep]="0 0 0 0 0 0 DEAD"
    FAILS=$((FAILS + 1))
    return
  fi
  t0="$(cpu_ticks "$srv")"; s0="$(cpu_split "$srv")"
  "${WRK_PIN[@]}" wrk "${args[@]}" "http://127.0.0.1:$port$path" >"$raw" 2>&1 || true
  sleep 0.2   # let the last children be reaped so their CPU lands in cutime
  t1="$(cpu_ticks "$srv")"; s1="$(cpu_split "$srv")"
  cpu="$(awk -v a="$t0" -v b="$t1" -v h="$CLK_TCK" 'BEGIN{printf "%.2f", (b-a)/h}')"
  own="$(awk -v a="${s0% *}" -v b="${s1% *}" -v h="$CLK_TCK" 'BEGIN{printf "%.2f", (b-a)/h}')"
  child="$(awk -v a="${s0#* }" -v b="${s1#* }" -v h="$CLK_TCK" 'BEGIN{printf "%.2f", (b-a)/h}')"
  rps="$(awk '/^Requests\/sec:/{print $2}' "$raw")"
  p50="$(to_ms "$(awk '$1=="50%"{print $2}' "$raw")")"
  p99="$(to_ms "$(awk '$1=="99%"{print $2}' "$raw")")"
  errs="$(grep -E 'Socket errors|Non-2xx' "$raw" | sed 's/^ *//; s/  */ /g' | tr '\n' ';' | sed 's/;$//' || true)"
  [ -z "$rps" ] && { rps=0; echo "!! $srv $pt rep $rep: wrk produced no result:" >&2; cat "$raw" >&2; }
  [ -n "$errs" ] && FAILS=$((FAILS + 1))
  RES[$srv,$pt,$rep]="$rps $p50 $p99 $cpu $own $child ${errs:-}"
  printf '  %-8s %-22s rep %d: %8s req/s p50 %8s ms p99 %8s ms  cpu %5ss (server %5ss + children %5ss)  zombies %s %s\n' \
    "$srv" "$name" "$rep" "$rps" "$p50" "$p99" "$cpu" "$own" "$child" "$(zombies "$srv")" "${errs:-}" >&2
  if [ -n "$errs" ]; then
    echo "!! $srv $pt rep $rep: wrk reported errors; wrk output:" >&2; sed 's/^/     /' "$raw" >&2
    echo "!! $srv log (tail):" >&2; srv_log "$srv" 15 | sed 's/^/     /' >&2
  fi
  if ! kill -0 "$(srv_pid "$srv")" 2>/dev/null; then
    echo "!! $srv DIED during $pt rep $rep; log:" >&2; srv_log "$srv" 30 >&2
  fi
}

col() { # col SERVER POINT FIELD -> median over reps
  local srv=$1 pt=$2 k=$3 r
  for r in $(seq 1 "$REPS"); do echo "${RES[$srv,$pt,$r]}" | awk -v k="$k" '{print $k}'; done | median
}
reqs_per_cpu() { # median over reps of requests / cpu-seconds
  local srv=$1 pt=$2 r
  for r in $(seq 1 "$REPS"); do
    echo "${RES[$srv,$pt,$r]}" | awk -v d="$DUR" '{ if ($4>0) printf "%.0f\n", $1*d/$4; else print 0 }'
  done | median
}

log "webserv ($BUILT_FROM) on :$WS_PORT (pid $WS_PID), $("$LIGHTTPD_BIN" -v 2>&1 | head -1 | cut -d' ' -f1) on :$LT_PORT (pid $LT_PID)"
log "$PINNING; wrk -t1 -c$CONNS -d${DUR}s x $REPS reps, interleaved"

IFS=',' read -r -a PTS <<<"$POINTS"
for pt in "${PTS[@]}"; do point_def "$pt" >/dev/null; done
# Warm-up (page cache for /bin/sh and the scripts), not measured.
for srv in webserv lighttpd; do
  "${WRK_PIN[@]}" wrk -t1 -c4 -d1s "http://127.0.0.1:$(srv_port "$srv")/cgi/hello.sh" >/dev/null 2>&1 || true
done

LOAD0="$(cut -d' ' -f1-3 /proc/loadavg)"
RSS_WS0="$(rss_kb webserv)"; RSS_LT0="$(rss_kb lighttpd)"
for pt in "${PTS[@]}"; do
  for rep in $(seq 1 "$REPS"); do
    run_one webserv "$pt" "$rep"
    run_one lighttpd "$pt" "$rep"
  done
done
RSS_WS1="$(rss_kb webserv)"; RSS_LT1="$(rss_kb lighttpd)"
LOAD1="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- table
echo
echo "webserv vs lighttpd CGI (/bin/sh script) — $PINNING, wrk -t1 -c$CONNS -d${DUR}s, median of $REPS interleaved runs"
echo "webserv: $BUILT_FROM; $("$LIGHTTPD_BIN" -v 2>&1 | head -1 | cut -d' ' -f1)"
echo
printf '| %-30s | %-8s | %8s | %8s | %8s | %7s | %7s | %7s | %9s | %s |\n' point server 'req/s' 'p50 ms' 'p99 ms' 'CPU s' 'server' 'child' 'req/CPU-s' 'errors (any rep)'
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' -------------------------------- ---------- ----------: ----------: ----------: ---------: ---------: ---------: -----------: ------------
for pt in "${PTS[@]}"; do
  IFS='|' read -r name _ <<<"$(point_def "$pt")"
  for srv in webserv lighttpd; do
    errs=""
    for r in $(seq 1 "$REPS"); do
      e="$(echo "${RES[$srv,$pt,$r]}" | cut -d' ' -f7-)"
      [ -n "$e" ] && errs="$errs r$r: $e;"
    done
    printf '| %-30s | %-8s | %8.0f | %8.3f | %8.3f | %7.2f | %7.2f | %7.2f | %9.0f | %s |\n' "$name (c=$CONNS)" "$srv" \
      "$(col "$srv" "$pt" 1)" "$(col "$srv" "$pt" 2)" "$(col "$srv" "$pt" 3)" "$(col "$srv" "$pt" 4)" \
      "$(col "$srv" "$pt" 5)" "$(col "$srv" "$pt" 6)" "$(reqs_per_cpu "$srv" "$pt")" "${errs:-none}"
  done
done
echo
echo "ratios webserv/lighttpd (req/s, req/CPU-s: >1 = webserv better; p50, p99: <1 = webserv better)"
echo
printf '| %-30s | %6s | %6s | %6s | %9s |\n' point 'req/s' 'p50' 'p99' 'req/CPU-s'
printf '|%s|%s|%s|%s|%s|\n' -------------------------------- -------: -------: -------: ----------:
for pt in "${PTS[@]}"; do
  IFS='|' read -r name _ <<<"$(point_def "$pt")"
  printf '| %-30s | %6s | %6s | %6s | %9s |\n' "$name (c=$CONNS)" \
    "$(ratio "$(col webserv "$pt" 1)" "$(col lighttpd "$pt" 1)")" \
    "$(ratio "$(col webserv "$pt" 2)" "$(col lighttpd "$pt" 2)")" \
    "$(ratio "$(col webserv "$pt" 3)" "$(col lighttpd "$pt" 3)")" \
    "$(ratio "$(reqs_per_cpu webserv "$pt")" "$(reqs_per_cpu lighttpd "$pt")")"
done
echo
echo "CPU s = server utime+stime+cutime+cstime growth over the run = 'server' (own) + 'child' (reaped CGI children)"
echo "load average (1/5/15 min) before: $LOAD0, after: $LOAD1 (on $(nproc) CPUs; the benchmark itself accounts for ~1-2)"
echo "medians are taken per column, so one row may mix repetitions"
echo "server RSS (kB) before/after: webserv $RSS_WS0 -> $RSS_WS1, lighttpd $RSS_LT0 -> $RSS_LT1"
echo "runs with wrk errors or non-2xx responses: $FAILS"
if [ -s "$TMP/webserv.err" ]; then echo "webserv stderr (tail):"; tail -20 "$TMP/webserv.err"; fi
if [ -s "$TMP/lighttpd.err" ]; then echo "lighttpd error log (tail):"; tail -5 "$TMP/lighttpd.err"; fi

# ---------------------------------------------------------------- syscalls per request
if [ "$STRACE" = 1 ]; then
  echo
  echo "syscalls per request, hello.sh keep-alive, wrk -t1 -c$CONNS -d3s under strace -f (throughput under strace is not meaningful)"
  echo "'server' = the server's own threads, 'child' = everything it forked (the CGI: clone child, /bin/sh)"
  for srv in webserv lighttpd; do
    out="$TMP/strace-$srv.txt"
    pid="$(srv_pid "$srv")"
    tids="$(ls "/proc/$pid/task" | tr '\n' ' ')"
    strace -f -qq -o "$out" -p "$pid" &
    SPID=$!
    PIDS+=("$SPID")
    sleep 0.5
    "${WRK_PIN[@]}" wrk -t1 "-c$CONNS" -d3s "http://127.0.0.1:$(srv_port "$srv")/cgi/hello.sh" >"$TMP/raw/strace-$srv-wrk.txt" 2>&1 || true
    sleep 0.3
    kill -INT "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    reqs="$(awk '/requests in/{print $1}' "$TMP/raw/strace-$srv-wrk.txt")"
    echo
    serr="$(grep -E 'Socket errors|Non-2xx' "$TMP/raw/strace-$srv-wrk.txt" | tr -s ' ' | tr '\n' ';' || true)"
    echo "$srv: $reqs requests (${serr:-no wrk errors})"
    # Lines: "PID name(args) = ret" / "PID name(... <unfinished ...>" / "PID <... name resumed>".
    awk -v r="${reqs:-1}" -v tids="$tids" '
      BEGIN { n = split(tids, t, " "); for (i = 1; i <= n; i++) own[t[i]] = 1 }
      $2 ~ /^<\.\.\./ || $2 ~ /^\+\+\+/ || $2 ~ /^---/ { next }
      { name = $2; sub(/\(.*/, "", name); if (name == "") next
        who = ($1 in own) ? "server" : "child"
        c[who SUBSEP name]++; tot[who]++
        if ($0 ~ /= -1 EAGAIN/) ea[who SUBSEP name]++ }
      END {
        for (w in tot) printf "  %-6s TOTAL            %8.2f per request\n", w, tot[w] / r
        for (k in c) { split(k, p, SUBSEP)
          printf "  %-6s %-16s %8.2f per request%s\n", p[1], p[2], c[k] / r,
            (ea[k] ? sprintf(" (%.2f EAGAIN)", ea[k] / r) : "") }
      }' "$out" | sort -k1,1r -k3,3gr | awk '{ k = $1; if (++seen[k] <= 14) print }'
  done
fi
