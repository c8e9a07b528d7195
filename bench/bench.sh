#!/usr/bin/env bash
# webserv against nginx, lighttpd, h2o and a trivial mio server (the ceiling), over
# loopback with wrk: one script for every point of issue 5.
#
#   bench/bench.sh [-d SECONDS] [-r REPS] [--workers N] [--no-build | --rev REV]
#                  [--points LIST] [--servers LIST] [--idle-conns N] [--strace]
#                  [--out FILE] [--keep]
#
#   -d SECONDS      wrk duration of each run (default 5)
#   -r REPS         repetitions (default 3). Each repetition runs every server once, in
#                   turn (webserv, nginx, lighttpd, h2o, ceiling, webserv, ...); the
#                   tables show the median of the repetitions, per column.
#   --workers N     worker threads/processes for every server (default 1). With 1, each
#                   server and its whole process tree run on CPU 0 (taskset) and wrk on
#                   CPU 1; with N>1 nothing is pinned and the ceiling is left out (it
#                   has one thread).
#   --no-build      use the existing target/release/webserv and examples/ceiling
#   --rev REV       build a clean `git archive REV` export in /tmp (for a shared tree
#                   that others are editing) instead of the working tree
#   --points LIST   comma list (default: all) of
#                     small     1 KiB file, keep-alive, c=64
#                     medium    100 KiB file, keep-alive, c=64
#                     large     10 MiB file, keep-alive, c=8
#                     close     1 KiB file, `Connection: close`, c=64
#                     404       a missing file, keep-alive, c=64
#                     pipeline  1 KiB file, 16 requests per write, c=64
#                     c1        1 KiB file, one connection (latency)
#                     cgi       a /bin/sh CGI script, keep-alive, c=16
#                     idle      10,000 idle keep-alive connections: RSS per connection,
#                               and a c=1 client's latency while they are held
#                     headers   1 KiB file with two add_header lines and expires 1h,
#                               keep-alive, c=64 (webserv and nginx)
#                     gzip      a 100 KiB stylesheet with gzip on to a client that
#                               accepts gzip, keep-alive, c=64 (webserv and nginx)
#                     tls       1 KiB file over TLS (HTTPS), keep-alive, c=64
#                     tlsclose  1 KiB file over TLS, `Connection: close`, c=64: a new TLS
#                               connection (full handshake) per request
#                     tlsidle   the idle point over TLS (each connection did a handshake
#                               and one request)
#                   The TLS points run webserv, nginx (OpenSSL) and h2o only, each on a
#                   second, `ssl` port with the same ECDSA P-256 certificate (made with
#                   the openssl command in the temp dir).
#   --servers LIST  comma list (default: webserv,nginx,lighttpd,h2o,ceiling,ceiling-eq);
#                   ceiling-eq is the ceiling answering with webserv's header lines (the
#                   same bytes on the wire), ceiling the issue's minimal answer
#   --idle-conns N  connections held in the idle point (default 10000)
#   --strace        also count syscalls per request (strace -c -f) in a short 1 KiB
#                   keep-alive run (and a CGI run with the cgi point) of each server
#   --out FILE      where the markdown report goes (default bench/out/bench-DATE-wN.md)
#   --keep          keep the temp dir (configs, logs, raw wrk output)
#
# Installs what is missing with apt-get (nginx-light, lighttpd, h2o, wrk, util-linux,
# python3, strace with --strace), builds webserv and bench/ceiling.rs in release mode,
# writes equivalent configs, checks that every server serves the right bytes, measures,
# prints the report and writes it to a file. Servers listen on 127.0.0.1 only and are
# stopped by PID on exit. See BENCHMARKS.md for what each figure means.
set -euo pipefail

DUR=5
REPS=3
WORKERS=1
BUILD=1
REV=""
STRACE=0
KEEP=0
OUT=""
IDLE_CONNS=10000
ALL_POINTS="small,medium,large,close,404,pipeline,c1,cgi,idle,headers,gzip,tls,tlsclose,tlsidle"
ALL_SERVERS="webserv,nginx,lighttpd,h2o,ceiling,ceiling-eq"
POINTS="$ALL_POINTS"
SERVERS="$ALL_SERVERS"
while [ $# -gt 0 ]; do
  case "$1" in
    -d) DUR="$2"; shift 2 ;;
    -r) REPS="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --rev) REV="$2"; shift 2 ;;
    --points) POINTS="$2"; shift 2 ;;
    --servers) SERVERS="$2"; shift 2 ;;
    --idle-conns) IDLE_CONNS="$2"; shift 2 ;;
    --strace) STRACE=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n "2,/^set -euo/{/^set -euo/d; s/^# \{0,1\}//; p}" "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in DUR REPS WORKERS IDLE_CONNS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer" >&2; exit 2; }
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LOG_PREFIX=bench
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

IFS=',' read -r -a PTS <<<"$POINTS"
IFS=',' read -r -a SRVS <<<"$SERVERS"
for p in "${PTS[@]}"; do
  [[ ",$ALL_POINTS," == *",$p,"* ]] || { echo "unknown point: $p (one of $ALL_POINTS)" >&2; exit 2; }
done
for s in "${SRVS[@]}"; do
  [[ ",$ALL_SERVERS," == *",$s,"* ]] || { echo "unknown server: $s (one of $ALL_SERVERS)" >&2; exit 2; }
done
has_server() { [[ ",$SERVERS," == *",$1,"* ]]; }
has_point() { [[ ",$POINTS," == *",$1,"* ]]; }
NOTES=()   # caveats that go into the report
is_ceiling() { [[ "$1" == ceiling || "$1" == ceiling-eq ]]; }
has_ceiling() { has_server ceiling || has_server ceiling-eq; }
if [ "$WORKERS" -gt 1 ] && has_ceiling; then
  NOTES+=("the ceiling is left out with --workers $WORKERS: it has a single thread")
  kept=()
  for s in "${SRVS[@]}"; do is_ceiling "$s" || kept+=("$s"); done
  SRVS=("${kept[@]}")
  SERVERS="$(IFS=','; echo "${SRVS[*]}")"
fi

# ---------------------------------------------------------------- dependencies
find_bin() { # NAME -> path or empty (sbin is not always on PATH)
  command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || true
}
[ -x "$PYTHON" ] || apt_install python3
command -v wrk >/dev/null || apt_install wrk
command -v taskset >/dev/null || apt_install util-linux
if [ "$STRACE" = 1 ]; then command -v strace >/dev/null || apt_install strace; fi
WITH_TLS=0
if has_point tls || has_point tlsclose || has_point tlsidle; then
  WITH_TLS=1
  command -v openssl >/dev/null || apt_install openssl
fi
NGINX_BIN=""; LIGHTTPD_BIN=""; H2O_BIN=""
if has_server nginx; then
  NGINX_BIN="$(find_bin nginx)"
  if [ -z "$NGINX_BIN" ]; then
    # Debian's postinst may start the packaged service on :80; it is not ours and is left
    # alone (our instances use their own ports and configs).
    apt_update_once
    if apt-cache show nginx-light >/dev/null 2>&1; then apt_install nginx-light; else apt_install nginx; fi
    NGINX_BIN="$(find_bin nginx)"
  fi
fi
if has_server lighttpd; then
  LIGHTTPD_BIN="$(find_bin lighttpd)"
  [ -n "$LIGHTTPD_BIN" ] || { apt_install lighttpd; LIGHTTPD_BIN="$(find_bin lighttpd)"; }
fi
if has_server h2o; then
  H2O_BIN="$(find_bin h2o)"
  [ -n "$H2O_BIN" ] || { apt_install h2o; H2O_BIN="$(find_bin h2o)"; }
fi
# h2o runs CGI through its FastCGI wrapper (h2o 2.2: share/h2o/fastcgi-cgi, in perl).
H2O_CGI=""
if [ -n "$H2O_BIN" ]; then
  for f in /usr/share/h2o/fastcgi-cgi "$(dirname "$H2O_BIN")/../share/h2o/fastcgi-cgi"; do
    if [ -x "$f" ] && command -v perl >/dev/null; then H2O_CGI="$f"; break; fi
  done
  if [ -z "$H2O_CGI" ] && has_point cgi; then
    NOTES+=("h2o is left out of the CGI point: no share/h2o/fastcgi-cgi (or no perl)")
  fi
fi

# ---------------------------------------------------------------- build
cd "$ROOT"
WEBSERV="$ROOT/target/release/webserv"
CEILING="$ROOT/target/release/examples/ceiling"
BUILT_FROM="working tree $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo '+dirty')"
if [ -n "$REV" ]; then
  SRC="/tmp/webserv-bench-src"
  REV_SHA="$(git -C "$ROOT" rev-parse --short "$REV")"
  log "clean export of $REV ($REV_SHA) to $SRC, cargo build --release (+ example ceiling)"
  rm -rf "$SRC"; mkdir -p "$SRC"
  git -C "$ROOT" archive "$REV" | tar -x -C "$SRC"
  # The ceiling is taken from this tree's bench/ (it may not exist in REV).
  mkdir -p "$SRC/bench"; cp "$ROOT/bench/ceiling.rs" "$SRC/bench/ceiling.rs"
  grep -q 'name = "ceiling"' "$SRC/Cargo.toml" ||
    printf '\n[[example]]\nname = "ceiling"\npath = "bench/ceiling.rs"\n' >>"$SRC/Cargo.toml"
  export CARGO_TARGET_DIR=/tmp/webserv-bench-target
  cargo build --release -q --manifest-path "$SRC/Cargo.toml"
  cargo build --release -q --manifest-path "$SRC/Cargo.toml" --example ceiling
  unset CARGO_TARGET_DIR
  WEBSERV=/tmp/webserv-bench-target/release/webserv
  CEILING=/tmp/webserv-bench-target/release/examples/ceiling
  BUILT_FROM="clean export of $REV_SHA"
elif [ "$BUILD" = 1 ]; then
  log "cargo build --release; cargo build --release --example ceiling"
  cargo build --release -q
  if has_ceiling; then cargo build --release -q --example ceiling; fi
else
  BUILT_FROM="existing binary (--no-build, built $(stat -c %y "$WEBSERV" 2>/dev/null | cut -d. -f1)), tree $BUILT_FROM"
fi
[ -x "$WEBSERV" ] || { echo "no $WEBSERV (build failed?)" >&2; exit 1; }
if has_ceiling && [ ! -x "$CEILING" ]; then
  echo "no $CEILING: run without --no-build, or cargo build --release --example ceiling" >&2
  exit 1
fi

# ---------------------------------------------------------------- temp dir, cleanup
TMP="$(mktemp -d /tmp/webserv-bench.XXXXXX)"
chmod 755 "$TMP"
mkdir -p "$TMP/raw" "$TMP/srv"
declare -A SPID=() SPORT=() SKIND=() STPORT=()
PIDS=()        # everything else we started (idle holders, strace)
cleanup() {
  local inst p pids=()
  set +e
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  for inst in "${!SPID[@]}"; do
    # Every process of the tree, by PID: the server's own children (nginx workers, CGI
    # scripts, h2o's helpers) must not outlive it.
    for p in $(tree_pids "${SPID[$inst]}"); do pids+=("$p"); done
    kill "${SPID[$inst]}" 2>/dev/null
  done
  sleep 0.5
  for p in "${pids[@]:-}" "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ "$KEEP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helper (python)
HELPER="$TMP/helper.py"
cat >"$HELPER" <<'PY'
"""bench.sh helper: process-tree accounting, response checks, idle connection holder."""
import os, resource, socket, ssl, struct, sys, time


def tree(root):
    """PIDs of root and all its descendants, with their /proc/PID/stat fields."""
    kids, stat = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()  # from field 3 (state) on
        stat[int(d)] = rest
        kids.setdefault(int(rest[1]), []).append(int(d))
    pids, i = [root], 0
    while i < len(pids):
        pids += kids.get(pids[i], [])
        i += 1
    return [p for p in pids if p in stat], stat


def cmd_tree(root):
    """cpu_ticks own_ticks rss_kb nprocs pid... ; cpu = utime+stime+cutime+cstime summed over
    the tree (a process's stat covers all its threads; cutime/cstime hold reaped children,
    such as finished CGI scripts), own = utime+stime of the root process alone."""
    pids, stat = tree(int(root))
    cpu = sum(sum(int(x) for x in stat[p][11:15]) for p in pids)
    own = sum(int(x) for x in stat[pids[0]][11:13]) if pids else 0
    rss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
        except OSError:
            pass
    print(cpu, own, rss, len(pids), *pids)


def read_response(s, buf):
    """One response from socket s (buf: bytes already read). -> (status, headers, body)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise OSError("connection closed before a full response head")
        buf += d
    i = buf.index(b"\r\n\r\n")
    head = bytes(buf[:i]).decode("latin-1").split("\r\n")
    del buf[: i + 4]
    status = int(head[0].split()[1])
    hdrs = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()

    def need(n):
        while len(buf) < n:
            d = s.recv(1 << 20)
            if not d:
                raise OSError("connection closed in the body")
            buf.extend(d)

    if "content-length" in hdrs:
        n = int(hdrs["content-length"])
        need(n)
        body = bytes(buf[:n])
        del buf[:n]
    elif hdrs.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            while b"\r\n" not in buf:
                need(len(buf) + 1)
            j = buf.index(b"\r\n")
            n = int(bytes(buf[:j]).split(b";")[0], 16)
            del buf[: j + 2]
            need(n + 2)
            body += bytes(buf[:n])
            del buf[: n + 2]
            if n == 0:
                break
    else:
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        body = bytes(buf)
        del buf[:]
    return status, hdrs, body


def request(path, extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()


def cmd_check(port, kind, doc, cgi):
    """Fails (exit 1) unless the server answers like the benchmark assumes."""
    port = int(port)
    fail = []

    def conn():
        return socket.create_connection(("127.0.0.1", port), timeout=10)

    s, buf = conn(), bytearray()
    ceiling = kind.startswith("ceiling")
    files = ["1k.txt"] if ceiling else ["1k.txt", "100k.bin", "10m.bin"]
    for name in files:
        s.sendall(request("/" + name))
        st, h, body = read_response(s, buf)
        want = open(os.path.join(doc, name), "rb").read()
        if st != 200:
            fail.append(f"/{name}: status {st}")
        elif ceiling:
            if len(body) != len(want):
                fail.append(f"/{name}: {len(body)} body bytes, want {len(want)}")
        elif body != want or h.get("content-length") != str(len(want)):
            fail.append(f"/{name}: wrong body ({len(body)} bytes, Content-Length "
                        f"{h.get('content-length')}, want {len(want)})")
    if not ceiling:
        s.sendall(request("/missing.txt"))
        st, _, _ = read_response(s, buf)
        if st != 404:
            fail.append(f"/missing.txt: status {st}, want 404")
    # 16 pipelined requests in one write.
    s.sendall(request("/1k.txt") * 16)
    sts = [read_response(s, buf)[0] for _ in range(16)]
    if sts != [200] * 16:
        fail.append(f"pipelining: statuses {sts}")
    s.close()
    if not ceiling:
        s, buf = conn(), bytearray()
        s.sendall(request("/1k.txt", "Connection: close\r\n"))
        st, _, _ = read_response(s, buf)
        s.settimeout(3)
        try:
            eof = s.recv(1) == b""
        except OSError:
            eof = False
        if st != 200 or not eof:
            fail.append(f"Connection: close: status {st}, closed by the server: {eof}")
        s.close()
    if cgi == "1":
        s, buf = conn(), bytearray()
        for _ in range(2):
            s.sendall(request("/cgi/hello.sh"))
            st, _, body = read_response(s, buf)
            if st != 200 or body != b"hello\n":
                fail.append(f"/cgi/hello.sh: status {st}, body {body[:80]!r}")
                break
        s.close()
    if fail:
        print(f"{kind} on :{port}: " + "; ".join(fail))
        sys.exit(1)


def tls_connect(port, timeout):
    """A TLS connection (no certificate check: the benchmark's own self-signed one)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def cmd_check_tls(port, kind, doc):
    """Fails unless the TLS port serves /1k.txt twice on one connection, right."""
    s, buf = tls_connect(int(port), 10), bytearray()
    want = open(os.path.join(doc, "1k.txt"), "rb").read()
    for _ in range(2):
        s.sendall(request("/1k.txt"))
        st, h, body = read_response(s, buf)
        if st != 200 or body != want:
            print(f"{kind} TLS on :{port}: /1k.txt status {st}, {len(body)} bytes")
            sys.exit(1)
    s.close()


def cmd_hold(port, n, path, ready, release, result, max_wait, tls="0"):
    """Opens n keep-alive connections one after the other (over TLS when tls is 1), each
    sending one request and reading its response; writes `opened seconds error` to
    ready; waits for the release file; writes `opened alive` to result (alive = not
    closed by the server); resets them."""
    port, n, max_wait = int(port), int(n), float(max_wait)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    req, socks, err, t0 = request(path), [], "", time.time()
    n = min(n, hard - 32)
    for i in range(n):
        try:
            if tls == "1":
                s = tls_connect(port, 5)
            else:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(req)
            st, _, _ = read_response(s, bytearray())
        except OSError as e:
            err = f"connection {i + 1}: {e or type(e).__name__}"
            break
        socks.append(s)
        if st != 200:
            err = f"connection {i + 1}: status {st}"
            break
    with open(ready + ".tmp", "w") as f:
        f.write(f"{len(socks)} {time.time() - t0:.1f} {err}\n")
    os.rename(ready + ".tmp", ready)
    deadline = time.time() + max_wait
    while not os.path.exists(release) and time.time() < deadline:
        time.sleep(0.05)
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            s.recv(1)  # b"" = closed by the server; data = unexpected, not idle
        except (BlockingIOError, ssl.SSLWantReadError):  # nothing to read: still open
            alive += 1
        except OSError:
            pass
    with open(result, "w") as f:
        f.write(f"{len(socks)} {alive}\n")
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


if __name__ == "__main__":
    {"tree": cmd_tree, "check": cmd_check, "check_tls": cmd_check_tls,
     "hold": cmd_hold}[sys.argv[1]](*sys.argv[2:])
PY
tree_pids() { "$PYTHON" "$HELPER" tree "$1" | cut -d' ' -f5-; }
tree_stat() { "$PYTHON" "$HELPER" tree "$1" | cut -d' ' -f1-4; } # cpu_ticks own_ticks rss_kb nprocs
CLK_TCK="$(getconf CLK_TCK)"

# ---------------------------------------------------------------- docroot
DOC="$TMP/www"
mkdir -p "$DOC/cgi"
head -c 1024 /dev/urandom | base64 -w 0 | head -c 1024 >"$DOC/1k.txt"
head -c 102400 /dev/urandom >"$DOC/100k.bin"
head -c 10485760 /dev/urandom >"$DOC/10m.bin"
mkdir -p "$DOC/h" "$DOC/gz"
cp "$DOC/1k.txt" "$DOC/h/1k.txt"
# A stylesheet-like 100 KiB (text that compresses as CSS does, about 5:1).
"$PYTHON" - "$DOC/gz/100k.css" <<'EOF'
import random, sys
random.seed(7)
props = ["color", "margin", "padding", "border", "font-size", "line-height", "display",
         "background", "width", "max-width", "grid-template-columns", "transition"]
out = []
n = 0
while n < 102400:
    sel = ".c%d-%s > .x%d" % (random.randrange(5000), random.choice(props), random.randrange(99))
    body = "; ".join("%s: %d%s" % (random.choice(props), random.randrange(1000),
                     random.choice(["px", "em", "%", "rem", ""])) for _ in range(4))
    line = "%s { %s; }\n" % (sel, body)
    out.append(line)
    n += len(line)
open(sys.argv[1], "w").write("".join(out)[:102400])
EOF
cat >"$DOC/cgi/hello.sh" <<'EOF'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\nhello\n'
EOF
chmod 755 "$DOC/cgi/hello.sh"
chmod -R a+rX "$TMP"
# wrk: 16 requests in each write; wrk counts responses, so req/s counts requests.
cat >"$TMP/pipeline.lua" <<'EOF'
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format() end
  req = table.concat(r)
end
request = function() return req end
EOF

# The TLS points' certificate: ECDSA P-256, self-signed, the same file for every server.
if [ "$WITH_TLS" = 1 ]; then
  mkdir -p "$TMP/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$TMP/tls/key.pem" -out "$TMP/tls/cert.pem" 2>/dev/null
  chmod -R a+rX "$TMP/tls"
fi

# ---------------------------------------------------------------- limits, pinning
# Enough descriptors for the idle point: raise the soft limit to the hard one (servers,
# wrk and the holder inherit it). Connection limits of every server: CONN_LIMIT.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE="$(ulimit -n)"
[ "$NOFILE" = unlimited ] && NOFILE=1048576
CONN_LIMIT=$(( NOFILE - 256 < 65536 ? NOFILE - 256 : 65536 ))
if has_point idle && [ "$CONN_LIMIT" -lt $((IDLE_CONNS + 16)) ]; then
  echo "the fd limit ($NOFILE) is too low for --idle-conns $IDLE_CONNS" >&2
  exit 1
fi
# lighttpd caps server.max-connections at server.max-fds / 2 (a file descriptor per
# connection is kept for the file it serves), and max-fds cannot exceed the hard limit.
LT_FDS=$(( NOFILE < 65536 ? NOFILE : 65536 ))
LT_MAXCONN=$(( LT_FDS / 2 ))
if [ "$WORKERS" = 1 ]; then
  SRV_PIN=(taskset -c 0)
  WRK_PIN=(taskset -c 1)
  PINNING="each server and its whole process tree on CPU 0 (taskset), wrk and the idle holder on CPU 1"
else
  SRV_PIN=()
  WRK_PIN=()
  PINNING="nothing pinned"
fi
[ "$(nproc)" -ge 2 ] || { [ "$WORKERS" != 1 ] || { echo "pinning needs 2 CPUs" >&2; exit 1; }; }

# ---------------------------------------------------------------- configs
write_conf() { # KIND DIR PORT WITH_CGI TLS_PORT (empty: none)
  local kind=$1 dir=$2 port=$3 cgi=$4 tport=${5:-}
  case "$kind" in
    webserv)
      {
        echo "worker_processes $WORKERS;"
        echo "worker_connections $CONN_LIMIT;"
        echo "keepalive_timeout 75s;"
        echo "access_log off;"
        echo "server {"
        echo "    listen 127.0.0.1:$port;"
        if [ -n "$tport" ]; then
          echo "    listen 127.0.0.1:$tport ssl;"
          echo "    ssl_certificate $TMP/tls/cert.pem;"
          echo "    ssl_certificate_key $TMP/tls/key.pem;"
        fi
        echo "    root $DOC;"
        [ "$cgi" = 1 ] && echo "    location /cgi/ { cgi .sh /bin/sh; }"
        # Only with their points: an older webserv (--rev) knows neither directive.
        if has_point headers; then
          echo "    location /h/ { add_header X-Frame-Options DENY; add_header X-Content-Type-Options nosniff; expires 1h; }"
        fi
        if has_point gzip; then
          echo "    location /gz/ { gzip on; gzip_types text/css; }"
        fi
        echo "}"
      } >"$dir/webserv.conf" ;;
    nginx)
      local user=""
      [ "$(id -u)" = 0 ] && user="user root;"   # else the workers run as nobody
      mkdir -p "$dir/logs"
      cat >"$dir/nginx.conf" <<EOF
$user
worker_processes $WORKERS;
worker_rlimit_nofile $NOFILE;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections $CONN_LIMIT; }
http {
    types { text/plain txt; application/octet-stream bin; text/html html; text/css css; }
    default_type application/octet-stream;
    access_log off;
    log_not_found off;   # webserv does not log 404s either
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        listen 127.0.0.1:$port deferred;   # TCP_DEFER_ACCEPT, as webserv and h2o
        root $DOC;
        location /h/ { add_header X-Frame-Options DENY; add_header X-Content-Type-Options nosniff; expires 1h; }
        location /gz/ { gzip on; gzip_types text/css; }
    }
$([ -z "$tport" ] || printf '    server {\n        listen 127.0.0.1:%s ssl deferred;\n        ssl_certificate %s;\n        ssl_certificate_key %s;\n        ssl_protocols TLSv1.2 TLSv1.3;\n        root %s;\n    }\n' "$tport" "$TMP/tls/cert.pem" "$TMP/tls/key.pem" "$DOC")
}
EOF
      ;;
    lighttpd)
      # No mod_accesslog = no access log. As root, server.username stays unset (lighttpd
      # keeps root, like `user root;` for nginx).
      {
        echo "server.document-root = \"$DOC\""
        echo "server.bind = \"127.0.0.1\""
        echo "server.port = $port"
        echo "server.errorlog = \"$dir/error.log\""
        echo "server.pid-file = \"$dir/lighttpd.pid\""
        echo "server.network-backend = \"sendfile\""
        echo "server.max-keep-alive-requests = 1000000"
        echo "server.max-keep-alive-idle = 75"
        echo "server.defer-accept = 1"   # TCP_DEFER_ACCEPT, as webserv and h2o
        echo "server.max-fds = $LT_FDS"
        echo "server.max-connections = $LT_MAXCONN"
        [ "$WORKERS" -gt 1 ] && echo "server.max-worker = $WORKERS"
        echo "mimetype.assign = (\".txt\" => \"text/plain\", \".bin\" => \"application/octet-stream\", \".html\" => \"text/html\")"
        if [ "$cgi" = 1 ]; then
          echo "server.modules += (\"mod_cgi\")"
          echo "cgi.assign = (\".sh\" => \"/bin/sh\")"
        fi
      } >"$dir/lighttpd.conf" ;;
    h2o)
      # No access-log directive = no access log. h2o 2.2 has no sendfile (it reads files
      # with pread into its buffers) and no per-connection request limit.
      {
        [ "$(id -u)" = 0 ] && echo "user: root"
        echo "pid-file: $dir/h2o.pid"
        echo "error-log: $dir/error.log"
        echo "num-threads: $WORKERS"
        echo "max-connections: $CONN_LIMIT"
        echo "http1-request-timeout: 75"   # also the keep-alive idle timeout
        echo "file.send-gzip: OFF"
        echo "listen:"
        echo "  host: 127.0.0.1"
        echo "  port: $port"
        echo "hosts:"
        echo "  default:"
        if [ -n "$tport" ]; then
          echo "    listen:"
          echo "      host: 127.0.0.1"
          echo "      port: $tport"
          echo "      ssl:"
          echo "        certificate-file: $TMP/tls/cert.pem"
          echo "        key-file: $TMP/tls/key.pem"
        fi
        echo "    paths:"
        if [ "$cgi" = 1 ]; then
          echo "      /cgi:"
          echo "        file.dir: $DOC/cgi"
          echo "        file.custom-handler:"
          echo "          extension: .sh"
          echo "          fastcgi.spawn: \"exec $H2O_CGI\""
        fi
        echo "      /:"
        echo "        file.dir: $DOC"
      } >"$dir/h2o.conf" ;;
    ceiling|ceiling-eq) : ;;
  esac
}

server_log() { # INST LINES: the server's stderr and error log
  local d="$TMP/srv/$1"
  tail -n "$2" "$d/stderr" "$d/error.log" 2>/dev/null || true
}

USED_PORTS=" "
tls_server() { [[ "$1" == webserv || "$1" == nginx || "$1" == h2o ]]; }
start_server() { # KIND INST WITH_CGI -> SPID[INST], SPORT[INST], STPORT[INST] (TLS)
  local kind=$1 inst=$2 cgi=$3 dir="$TMP/srv/$2" port pid i cmd=() tport=""
  mkdir -p "$dir"
  port="$(free_port)"
  while [[ "$USED_PORTS" == *" $port "* ]]; do port="$(free_port)"; done
  USED_PORTS+="$port "
  if [ "$WITH_TLS" = 1 ] && tls_server "$kind"; then
    tport="$(free_port)"
    while [[ "$USED_PORTS" == *" $tport "* ]]; do tport="$(free_port)"; done
    USED_PORTS+="$tport "
  fi
  STPORT[$inst]=$tport
  write_conf "$kind" "$dir" "$port" "$cgi" "$tport"
  case "$kind" in
    webserv)  cmd=("$WEBSERV" run "$dir/webserv.conf") ;;
    nginx)    cmd=("$NGINX_BIN" -p "$dir" -c "$dir/nginx.conf") ;;
    lighttpd) cmd=("$LIGHTTPD_BIN" -D -f "$dir/lighttpd.conf") ;;
    h2o)      cmd=("$H2O_BIN" -c "$dir/h2o.conf") ;;
    ceiling)  cmd=("$CEILING" "127.0.0.1:$port" 1024) ;;
    ceiling-eq) cmd=("$CEILING" "127.0.0.1:$port" 1024 webserv-head) ;;
  esac
  # Its own session: lighttpd's master with server.max-worker > 1 signals its whole
  # process group on shutdown (kill(0, SIGTERM)), which would otherwise include us.
  setsid "${SRV_PIN[@]}" "${cmd[@]}" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
  pid=$!
  SPID[$inst]=$pid; SPORT[$inst]=$port; SKIND[$inst]=$kind
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    if ! kill -0 "$pid" 2>/dev/null || [ "$i" = 100 ]; then
      echo "$kind ($inst) did not start listening on $port; its log:" >&2
      server_log "$inst" 30 >&2
      exit 1
    fi
    sleep 0.1
  done
  sleep 0.2   # helpers (h2o's fastcgi wrapper, nginx and lighttpd workers) are forked
  if [ "$WORKERS" = 1 ]; then
    # The children inherit the pin; pin every thread of the tree anyway, in case one was
    # created before taskset took effect.
    for i in $(tree_pids "$pid"); do taskset -a -p -c 0 "$i" >/dev/null 2>&1 || true; done
  fi
}

stop_server() { # INST: SIGTERM, then SIGKILL whatever of its tree is left after 5 s
  local inst=$1 pid=${SPID[$1]} pids i
  pids="$(tree_pids "$pid")"
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  for i in $pids; do kill -9 "$i" 2>/dev/null || true; done
  wait "$pid" 2>/dev/null || true
  unset "SPID[$inst]"
}

# ---------------------------------------------------------------- points
point_def() { # -> title|path|connections|mode
  case "$1" in
    small)    echo "1 KiB keep-alive|/1k.txt|64|" ;;
    medium)   echo "100 KiB keep-alive|/100k.bin|64|" ;;
    large)    echo "10 MiB keep-alive|/10m.bin|8|" ;;
    close)    echo "1 KiB Connection: close|/1k.txt|64|close" ;;
    404)      echo "404 keep-alive|/missing.txt|64|404" ;;
    pipeline) echo "1 KiB pipelined x16|/1k.txt|64|pipeline" ;;
    c1)       echo "1 KiB single connection|/1k.txt|1|" ;;
    cgi)      echo "shell CGI keep-alive|/cgi/hello.sh|16|cgi" ;;
    idle)     echo "$IDLE_CONNS idle keep-alive connections|/1k.txt|1|idle" ;;
    headers)  echo "1 KiB with add_header x2 and expires|/h/1k.txt|64|" ;;
    gzip)     echo "100 KiB stylesheet, gzip on|/gz/100k.css|64|gzip" ;;
    tls)      echo "1 KiB over TLS keep-alive|/1k.txt|64|tls" ;;
    tlsclose) echo "1 KiB over TLS, Connection: close (a handshake each)|/1k.txt|64|tlsclose" ;;
    tlsidle)  echo "$IDLE_CONNS idle TLS keep-alive connections|/1k.txt|1|tlsidle" ;;
  esac
}
is_idle_point() { [[ "$1" == idle || "$1" == tlsidle ]]; }
url_of() { # INST MODE PATH: http on the plain port, https on the TLS one
  case "$2" in
    tls|tlsclose|tlsidle) echo "https://127.0.0.1:${STPORT[$1]}$3" ;;
    *) echo "http://127.0.0.1:${SPORT[$1]}$3" ;;
  esac
}
point_servers() { # PT -> the selected servers that take part
  local pt=$1 s out=()
  for s in "${SRVS[@]}"; do
    if [[ "$pt" == tls* ]]; then tls_server "$s" || continue; fi
    case "$s" in
      ceiling|ceiling-eq) [[ "$pt" == small || "$pt" == pipeline || "$pt" == c1 ]] || continue ;;
      nginx) [ "$pt" != cgi ] || continue ;;
      lighttpd) [[ "$pt" != headers && "$pt" != gzip ]] || continue ;;
      h2o)
        [[ "$pt" != headers && "$pt" != gzip ]] || continue
        [ "$pt" != cgi ] || [ -n "$H2O_CGI" ] || continue ;;
    esac
    out+=("$s")
  done
  echo "${out[@]}"
}
WITH_CGI=0
has_point cgi && WITH_CGI=1

# wrk output -> "reqs secs bytes rps p50 p99 errors..." (errors: socket errors, non-2xx).
parse_wrk() { # RAW MODE
  local raw=$1 mode=$2 reqs secs bytes rps p50 p99 errs non2xx
  read -r reqs secs bytes < <(awk '/ requests in /{ sub(/s,$/, "", $4); print $1, $4, $5 }' "$raw") || true
  bytes="$(to_bytes "${bytes:-0}")"
  rps="$(awk '/^Requests\/sec:/{print $2}' "$raw")"
  p50="$(to_ms "$(awk '$1=="50%"{print $2}' "$raw")")"
  p99="$(to_ms "$(awk '$1=="99%"{print $2}' "$raw")")"
  errs="$(awk '/Socket errors:/{ gsub(",", ""); e="";
      for (i = 3; i < NF; i += 2) if ($(i+1) > 0) e = e $i " " $(i+1) " ";
      if (e != "") printf "socket errors: %s", e }' "$raw")"
  non2xx="$(awk '/Non-2xx or 3xx responses:/{print $NF}' "$raw")"
  if [ "$mode" = 404 ]; then
    # every answer should be a 404 here: flag the ones that were not
    [ "${non2xx:-0}" = "${reqs:-0}" ] || errs+="only ${non2xx:-0} of ${reqs:-0} non-2xx "
  elif [ -n "$non2xx" ]; then
    errs+="non-2xx: $non2xx "
  fi
  [ "${reqs:-0}" -gt 0 ] 2>/dev/null || errs+="NO RESPONSES "
  echo "${reqs:-0} ${secs:-0} ${bytes:-0} ${rps:-0} $p50 $p99 $errs"
}

declare -A RES=() IDLE=()
FAILS=0
run_wrk() { # SRV PT REP
  local srv=$1 pt=$2 rep=$3 title path conns mode raw args pid c0 o0 c1 o1 cpu own
  local reqs secs bytes rps p50 p99 errs rpc mbpc mbps
  IFS='|' read -r title path conns mode <<<"$(point_def "$pt")"
  pid=${SPID[$srv]}
  raw="$TMP/raw/$srv-$pt-$rep.txt"
  args=(-t1 "-c$conns" "-d${DUR}s" --latency --timeout 5s)
  if [ "$mode" = close ] || [ "$mode" = tlsclose ]; then args+=(-H 'Connection: close'); fi
  [ "$mode" = gzip ] && args+=(-H 'Accept-Encoding: gzip')
  [ "$mode" = pipeline ] && args+=(-s "$TMP/pipeline.lua")
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "!! $srv is not running before $pt rep $rep; its log:" >&2
    server_log "$srv" 30 >&2
    RES[$srv,$pt,$rep]="0 0 0 0 0 0 0 0 0 0 DEAD"
    FAILS=$((FAILS + 1))
    return
  fi
  read -r c0 o0 _ _ < <(tree_stat "$pid") || true
  "${WRK_PIN[@]}" timeout $((DUR + 30)) wrk "${args[@]}" "$(url_of "$srv" "$mode" "$path")" >"$raw" 2>&1 || true
  [ "$mode" = cgi ] && sleep 0.3   # let the last scripts be reaped (their CPU -> cutime)
  read -r c1 o1 _ _ < <(tree_stat "$pid") || true
  cpu="$(awk -v a="$c0" -v b="$c1" -v h="$CLK_TCK" 'BEGIN{printf "%.2f", (b-a)/h}')"
  own="$(awk -v a="$o0" -v b="$o1" -v h="$CLK_TCK" 'BEGIN{printf "%.2f", (b-a)/h}')"
  read -r reqs secs bytes rps p50 p99 errs < <(parse_wrk "$raw" "$mode") || true
  rpc="$(awk -v r="$reqs" -v c="$cpu" 'BEGIN{ if (c>0) printf "%.0f", r/c; else print 0 }')"
  mbpc="$(awk -v b="$bytes" -v c="$cpu" 'BEGIN{ if (c>0) printf "%.1f", b/1e6/c; else print 0 }')"
  mbps="$(awk -v b="$bytes" -v s="$secs" 'BEGIN{ if (s>0) printf "%.1f", b/1e6/s; else print 0 }')"
  RES[$srv,$pt,$rep]="$rps $mbps $p50 $p99 $cpu $own $reqs $bytes $rpc $mbpc $errs"
  printf '  %-9s %-26s rep %d: %9.0f req/s %7s MB/s  p50 %8s  p99 %8s ms  cpu %5ss  %8s req/cpu-s %s\n' \
    "$srv" "$title" "$rep" "$rps" "$mbps" "$p50" "$p99" "$cpu" "$rpc" "$errs" >&2
  if [ -n "$errs" ]; then
    FAILS=$((FAILS + 1))
    [[ "$errs" == *"NO RESPONSES"* ]] && { echo "!! wrk output:" >&2; sed 's/^/     /' "$raw" >&2; }
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "!! $srv DIED during $pt rep $rep; its log:" >&2
    server_log "$srv" 30 >&2
  fi
  sleep 0.2
}

run_idle() { # SRV REP PT: a fresh instance, IDLE_CONNS held, latency of a c=1 client
  local srv=$1 rep=$2 ipt=${3:-idle} inst="$1-${3:-idle}$2" pid port n rss0 rss1 hp ready opened setup herr
  local held alive raw reqs secs bytes rps p50 p99 errs bpc i tls=0 url
  start_server "$srv" "$inst" 0
  pid=${SPID[$inst]}; port=${SPORT[$inst]}
  url="$(url_of "$inst" "$ipt" /1k.txt)"
  if [ "$ipt" = tlsidle ]; then tls=1; port=${STPORT[$inst]}; fi
  n=$IDLE_CONNS
  [ "$srv" = lighttpd ] && [ "$n" -gt $((LT_MAXCONN - 8)) ] && n=$((LT_MAXCONN - 8))
  # Warm up (first-request allocations, buffer pools), then the baseline.
  "${WRK_PIN[@]}" timeout 30 wrk -t1 -c4 -d1s "$url" >/dev/null 2>&1 || true
  sleep 0.3
  read -r _ _ rss0 _ < <(tree_stat "$pid") || true
  ready="$TMP/raw/idle-$inst.ready"
  "${WRK_PIN[@]}" "$PYTHON" "$HELPER" hold "$port" "$n" /1k.txt "$ready" "$ready.release" \
    "$ready.result" $((DUR + 120)) "$tls" 2>"$ready.err" &
  hp=$!
  PIDS+=("$hp")
  # At most 120 s to open them (300 s over TLS: the holder's handshakes are Python's).
  local wait_ds=1200
  [ "$tls" = 1 ] && wait_ds=3000
  for i in $(seq 1 "$wait_ds"); do
    [ -e "$ready" ] && break
    kill -0 "$hp" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -e "$ready" ]; then
    echo "!! $srv idle rep $rep: the holder failed:" >&2; cat "$ready.err" >&2
    touch "$ready.release"; kill "$hp" 2>/dev/null || true; wait "$hp" 2>/dev/null || true
    IDLE[$srv,$ipt,$rep]="0 0 $rss0 $rss0 0 0 0 0 HOLDER-FAILED"
    FAILS=$((FAILS + 1))
    stop_server "$inst"
    return
  fi
  read -r opened setup herr <"$ready"
  sleep 0.5
  read -r _ _ rss1 _ < <(tree_stat "$pid") || true
  raw="$TMP/raw/$srv-$ipt-$rep.txt"
  "${WRK_PIN[@]}" timeout $((DUR + 30)) wrk -t1 -c1 "-d${DUR}s" --latency --timeout 5s \
    "$url" >"$raw" 2>&1 || true
  touch "$ready.release"
  wait "$hp" 2>/dev/null || true
  read -r held alive <"$ready.result" || { held=$opened; alive="?"; }
  read -r reqs secs bytes rps p50 p99 errs < <(parse_wrk "$raw" "") || true
  [ "$opened" = "$n" ] || errs+="opened only $opened of $n ($herr) "
  [ "$alive" = "$held" ] || errs+="$alive of $held still open at the end "
  bpc="$(awk -v a="$rss0" -v b="$rss1" -v n="$opened" 'BEGIN{ if (n>0) printf "%.0f", (b-a)*1024/n; else print 0 }')"
  IDLE[$srv,$ipt,$rep]="$opened $alive $rss0 $rss1 $bpc $p50 $p99 $rps $errs"
  printf '  %-9s %-26s rep %d: %5s held (%ss to open), RSS %6s -> %6s kB = %5s B/conn; c=1 p50 %s p99 %s ms %s\n' \
    "$srv" "$ipt" "$rep" "$opened" "$setup" "$rss0" "$rss1" "$bpc" "$p50" "$p99" "$errs" >&2
  [ -n "$errs" ] && FAILS=$((FAILS + 1))
  stop_server "$inst"
}

# ---------------------------------------------------------------- start, check
WRK_POINTS=()
for pt in "${PTS[@]}"; do is_idle_point "$pt" || WRK_POINTS+=("$pt"); done
MAIN_SERVERS=()   # servers needed by the wrk points
for s in "${SRVS[@]}"; do
  for pt in "${WRK_POINTS[@]:-}"; do
    [ -n "$pt" ] || continue
    if [[ " $(point_servers "$pt") " == *" $s "* ]]; then MAIN_SERVERS+=("$s"); break; fi
  done
done

for s in "${MAIN_SERVERS[@]:-}"; do
  [ -n "$s" ] || continue
  start_server "$s" "$s" "$WITH_CGI"
done
# Checks: every server serves the same bytes (and the 404, pipelining, Connection: close,
# the CGI) before anything is measured. The idle instances are checked too.
check_server() { # INST WITH_CGI
  local inst=$1 cgi=$2 out
  [ "${SKIND[$inst]}" = nginx ] && cgi=0
  is_ceiling "${SKIND[$inst]}" && cgi=0
  if ! out="$("$PYTHON" "$HELPER" check "${SPORT[$inst]}" "${SKIND[$inst]}" "$DOC" "$cgi" 2>&1)"; then
    echo "CHECK FAILED: $out" >&2
    server_log "$inst" 20 >&2
    exit 1
  fi
  if [ -n "${STPORT[$inst]:-}" ] &&
    ! out="$("$PYTHON" "$HELPER" check_tls "${STPORT[$inst]}" "${SKIND[$inst]}" "$DOC" 2>&1)"; then
    echo "CHECK FAILED: $out" >&2
    server_log "$inst" 20 >&2
    exit 1
  fi
}
for s in "${MAIN_SERVERS[@]:-}"; do
  [ -n "$s" ] || continue
  c=$WITH_CGI
  [[ " $(point_servers cgi) " == *" $s "* ]] || c=0
  check_server "$s" "$c"
done
if has_point idle || has_point tlsidle; then   # the idle points' instances are fresh: check one of each
  for s in $({ has_point idle && point_servers idle; has_point tlsidle && point_servers tlsidle; } | tr ' ' '\n' | sort -u); do
    start_server "$s" "$s-check" 0
    check_server "$s-check" 0
    stop_server "$s-check"
  done
fi
log "responses checked: 200 with the right bytes, 404, pipelining, Connection: close$([ "$WITH_CGI" = 1 ] && echo ', CGI')$([ "$WITH_TLS" = 1 ] && echo ', 1 KiB over TLS')"

# ---------------------------------------------------------------- versions, header
ver() {
  case "$1" in
    webserv) echo "webserv ($BUILT_FROM)" ;;
    nginx) echo "nginx $({ "$NGINX_BIN" -v 2>&1 || true; } | sed 's/.*nginx\///')" ;;
    lighttpd) echo "lighttpd $({ "$LIGHTTPD_BIN" -v 2>&1 || true; } | head -1 | sed 's/^lighttpd\///; s/ .*//')" ;;
    h2o) echo "h2o $({ "$H2O_BIN" -v 2>&1 || true; } | head -1 | awk '{print $3}')" ;;
    ceiling) echo "ceiling (bench/ceiling.rs, mio $(awk '/^name = "mio"/{getline; gsub(/[^0-9.]/, ""); print}' "$ROOT/Cargo.lock"))" ;;
    ceiling-eq) echo "ceiling-eq (the same, with webserv's header lines)" ;;
  esac
}
START="$(date '+%Y-%m-%d %H:%M')"
LOAD0="$(cut -d' ' -f1-3 /proc/loadavg)"
VERSIONS=""
for s in "${SRVS[@]}"; do VERSIONS+="$(ver "$s"), "; done
VERSIONS+="wrk $( { wrk -v 2>&1 || true; } | head -1 | awk '{print $2}')"
log "$VERSIONS"
log "workers=$WORKERS, $PINNING; wrk -t1 -d${DUR}s, $REPS interleaved repetitions"
EST=$((20 + 3 * ${#MAIN_SERVERS[@]}))   # measured: start-up, checks, warm-ups,
for pt in "${PTS[@]}"; do                # ~0.5 s around each wrk run, ~6 s per idle run
  read -r -a ps <<<"$(point_servers "$pt")"
  if is_idle_point "$pt"; then EST=$((EST + ${#ps[@]} * REPS * (DUR + 6)));
  else EST=$((EST + ${#ps[@]} * REPS * (DUR * 10 + 5) / 10)); fi
done
log "estimated time: $((EST / 60)) min $((EST % 60)) s"

# ---------------------------------------------------------------- measure
for s in "${MAIN_SERVERS[@]:-}"; do   # warm-up, not measured (page cache, pools)
  [ -n "$s" ] || continue
  "${WRK_PIN[@]}" timeout 30 wrk -t1 -c8 -d1s "http://127.0.0.1:${SPORT[$s]}/1k.txt" >/dev/null 2>&1 || true
  if ! is_ceiling "$s" && has_point large; then
    "${WRK_PIN[@]}" timeout 30 wrk -t1 -c2 -d1s "http://127.0.0.1:${SPORT[$s]}/10m.bin" >/dev/null 2>&1 || true
  fi
  if [ "$WITH_CGI" = 1 ] && [[ " $(point_servers cgi) " == *" $s "* ]]; then
    "${WRK_PIN[@]}" timeout 30 wrk -t1 -c4 -d1s "http://127.0.0.1:${SPORT[$s]}/cgi/hello.sh" >/dev/null 2>&1 || true
  fi
  if [ -n "${STPORT[$s]:-}" ]; then
    "${WRK_PIN[@]}" timeout 30 wrk -t1 -c8 -d1s "$(url_of "$s" tls /1k.txt)" >/dev/null 2>&1 || true
  fi
done

T0=$SECONDS
declare -A RSS_BEFORE=() RSS_AFTER=()
for s in "${MAIN_SERVERS[@]:-}"; do
  [ -n "$s" ] || continue
  read -r _ _ rss _ < <(tree_stat "${SPID[$s]}") || true
  RSS_BEFORE[$s]=$rss
done
for pt in "${PTS[@]}"; do
  read -r -a ps <<<"$(point_servers "$pt")"
  IFS='|' read -r title _ conns _ <<<"$(point_def "$pt")"
  log "point $pt: $title ($(IFS=,; echo "${ps[*]}"))"
  for rep in $(seq 1 "$REPS"); do
    for s in "${ps[@]}"; do
      if is_idle_point "$pt"; then run_idle "$s" "$rep" "$pt"; else run_wrk "$s" "$pt" "$rep"; fi
    done
  done
done
for s in "${MAIN_SERVERS[@]:-}"; do
  [ -n "$s" ] || continue
  read -r _ _ rss _ < <(tree_stat "${SPID[$s]}") || true
  RSS_AFTER[$s]=$rss
done
LOAD1="$(cut -d' ' -f1-3 /proc/loadavg)"
ELAPSED=$((SECONDS - T0))

# ---------------------------------------------------------------- report
col() { # SRV PT FIELD -> median over the repetitions
  local r
  for r in $(seq 1 "$REPS"); do echo "${RES[$1,$2,$r]:-}" | awk -v k="$3" '{print $k}'; done | median
}
pcol() { # PEER PT FIELD -> "median (min-max)" of the per-repetition ratios webserv/PEER
  local r a b
  for r in $(seq 1 "$REPS"); do
    a="$(echo "${RES[webserv,$2,$r]:-}" | awk -v k="$3" '{print $k}')"
    b="$(echo "${RES[$1,$2,$r]:-}" | awk -v k="$3" '{print $k}')"
    awk -v a="$a" -v b="$b" 'BEGIN{ if (b > 0 && a != "") printf "%.4f\n", a / b }'
  done | sort -g | awk '{v[NR]=$1} END{ if (NR == 0) { print "n/a"; exit }
    m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
    printf "%.2f (%.2f-%.2f)", m, v[1], v[NR] }'
}
icol() { # SRV FIELD [PT] -> median over the repetitions (the idle point, or PT)
  local r
  for r in $(seq 1 "$REPS"); do echo "${IDLE[$1,${3:-idle},$r]:-}" | awk -v k="$2" '{print $k}'; done | median
}
errors_of() { # "RES|IDLE" SRV [PT] -> "r1: ...; r2: ..." (field 11 on in RES, 9 on in IDLE)
  local r e out=""
  for r in $(seq 1 "$REPS"); do
    if [ "$1" = IDLE ]; then e="$(echo "${IDLE[$2,${3:-idle},$r]:-}" | cut -d' ' -f9-)"
    else e="$(echo "${RES[$2,$3,$r]:-}" | cut -d' ' -f11-)"; fi
    e="${e% }"
    [ -n "$e" ] && out+="r$r: $e; "
  done
  echo "${out%; }"
}
fmt() { awk -v x="$1" -v f="$2" 'BEGIN{ printf f, x }'; }

if [ -z "$OUT" ]; then
  mkdir -p "$ROOT/bench/out"
  OUT="$ROOT/bench/out/bench-$(date +%Y%m%d-%H%M%S)-w$WORKERS.md"
fi
mkdir -p "$(dirname "$OUT")"
{
  echo "# webserv benchmark, $START"
  echo
  echo "- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)), $(awk '/^MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  echo "- servers: $VERSIONS"
  echo "- workers=$WORKERS; $PINNING"
  echo "- wrk -t1 -d${DUR}s --latency per run; $REPS repetitions, servers interleaved within each; medians per column (a row may mix repetitions)"
  echo "- load average (1/5/15 min) before: $LOAD0, after: $LOAD1 (the benchmark itself accounts for 1-2); measuring took $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
  echo "- server CPU: growth of utime+stime+cutime+cstime over the server's whole process tree (/proc/PID/stat, all threads, reaped children included) during the wrk run; req/CPU-s = requests / that"
  echo "- fd limit $NOFILE; connection limits: webserv worker_connections, nginx worker_connections, h2o max-connections = $CONN_LIMIT; lighttpd server.max-connections = $LT_MAXCONN (max-fds $LT_FDS / 2)"
  for n in "${NOTES[@]:-}"; do [ -n "$n" ] && echo "- $n"; done
  for pt in "${WRK_POINTS[@]:-}"; do
    [ -n "$pt" ] || continue
    read -r -a ps <<<"$(point_servers "$pt")"
    IFS='|' read -r title path conns mode <<<"$(point_def "$pt")"
    echo
    echo "## $title (c=$conns, GET $path)"
    echo
    case "$pt" in
      medium|large)
        echo "| server | req/s | MB/s | p50 ms | p99 ms | CPU s | req/CPU-s | MB/CPU-s | CPU ns/B | errors |"
        echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|" ;;
      cgi)
        echo "| server | req/s | MB/s | p50 ms | p99 ms | CPU s | server | children | req/CPU-s | errors |"
        echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|" ;;
      *)
        echo "| server | req/s | MB/s | p50 ms | p99 ms | CPU s | req/CPU-s | errors |"
        echo "|---|--:|--:|--:|--:|--:|--:|---|" ;;
    esac
    for s in "${ps[@]}"; do
      rps="$(fmt "$(col "$s" "$pt" 1)" '%.0f')"
      mbps="$(fmt "$(col "$s" "$pt" 2)" '%.1f')"
      p50="$(fmt "$(col "$s" "$pt" 3)" '%.3f')"
      p99="$(fmt "$(col "$s" "$pt" 4)" '%.3f')"
      [ "$pt" = pipeline ] && p99="n/a"   # see the note under the table
      cpu="$(fmt "$(col "$s" "$pt" 5)" '%.2f')"
      rpc="$(fmt "$(col "$s" "$pt" 9)" '%.0f')"
      errs="$(errors_of RES "$s" "$pt")"
      case "$pt" in
        medium|large)
          mbpc="$(col "$s" "$pt" 10)"
          echo "| $s | $rps | $mbps | $p50 | $p99 | $cpu | $rpc | $(fmt "$mbpc" '%.0f') | $(awk -v m="$mbpc" 'BEGIN{ if (m>0) printf "%.3f", 1000/m; else print "n/a" }') | ${errs:-none} |" ;;
        cgi)
          own="$(col "$s" "$pt" 6)"
          echo "| $s | $rps | $mbps | $p50 | $p99 | $cpu | $(fmt "$own" '%.2f') | $(awk -v c="$cpu" -v o="$own" 'BEGIN{printf "%.2f", c-o}') | $rpc | ${errs:-none} |" ;;
        *)
          echo "| $s | $rps | $mbps | $p50 | $p99 | $cpu | $rpc | ${errs:-none} |" ;;
      esac
    done
    case "$pt" in
      404) echo; echo "(Every answer is a 404; the servers' 404 pages differ in size, so MB/s differs.)" ;;
      pipeline) echo; echo "(wrk writes 16 requests at once and counts responses. Its latency is per batch of 16, and its 99th percentile is broken with pipelining (often printed as 0), so p99 is not shown.)" ;;
      cgi)
        echo
        echo "(CPU s = the server's tree; 'server' = the root process's own utime+stime, 'children' = the rest: CGI scripts and helpers$([ "$WORKERS" -gt 1 ] && echo ", and also the worker processes of nginx-style servers (lighttpd with server.max-worker)").)"
        [[ " ${ps[*]} " == *" h2o "* ]] &&
          echo "(h2o runs CGI through its FastCGI wrapper, $H2O_CGI: a perl FastCGI server that forks a perl handler per request, which forks the script.)"
        ;;
    esac
  done
  for ipt in idle tlsidle; do
    has_point "$ipt" || continue
    read -r -a ps <<<"$(point_servers "$ipt")"
    echo
    if [ "$ipt" = idle ]; then
      echo "## $IDLE_CONNS idle keep-alive connections (each sent GET /1k.txt and read the answer, then held)"
    else
      echo "## $IDLE_CONNS idle TLS keep-alive connections (each made a TLS handshake, sent GET /1k.txt over it and read the answer, then held)"
    fi
    echo
    echo "A fresh server per repetition, warmed up (1 s of wrk -c4), then RSS of its process tree (VmRSS, /proc/PID/status) before and after the connections were opened. While they were held, a c=1 wrk client ran for ${DUR}s on a new connection."
    echo
    echo "| server | held | RSS before kB | RSS held kB | bytes/conn | c=1 req/s | p50 ms | p99 ms | errors |"
    echo "|---|--:|--:|--:|--:|--:|--:|--:|---|"
    for s in "${ps[@]}"; do
      errs="$(errors_of IDLE "$s" "$ipt")"
      echo "| $s | $(fmt "$(icol "$s" 1 "$ipt")" '%.0f') | $(fmt "$(icol "$s" 3 "$ipt")" '%.0f') | $(fmt "$(icol "$s" 4 "$ipt")" '%.0f') | $(fmt "$(icol "$s" 5 "$ipt")" '%.0f') | $(fmt "$(icol "$s" 8 "$ipt")" '%.0f') | $(fmt "$(icol "$s" 6 "$ipt")" '%.3f') | $(fmt "$(icol "$s" 7 "$ipt")" '%.3f') | ${errs:-none} |"
    done
    if [[ " ${ps[*]} " == *" lighttpd "* ]] && [ $((LT_MAXCONN - 8)) -lt "$IDLE_CONNS" ]; then
      echo
      echo "(lighttpd holds $((LT_MAXCONN - 8)), not $IDLE_CONNS: its server.max-connections is capped at server.max-fds / 2 = $LT_MAXCONN with the fd hard limit of $NOFILE here, and the c=1 client needs one more.)"
    fi
    if [[ " ${ps[*]} " == *" nginx "* ]]; then
      echo
      echo "(nginx allocates its connection structures for all worker_connections at start-up, so they are in its 'before' RSS, not in bytes/conn.)"
    fi
  done
  if has_server webserv; then
    echo
    echo "## Ratios, webserv / peer"
    echo
    echo "req/s, MB/s, req/CPU-s: above 1 = webserv better; p99: below 1 = webserv better."
    echo "The first four columns divide the medians above. 'req/CPU-s, paired' is the median"
    echo "(and range) of the ratios taken within each repetition, where the two servers ran"
    echo "seconds apart: it is less moved by the machine's slow drift."
    echo
    echo "| point | peer | req/s | MB/s | p99 | req/CPU-s | req/CPU-s, paired |"
    echo "|---|---|--:|--:|--:|--:|--:|"
    for pt in "${WRK_POINTS[@]:-}"; do
      [ -n "$pt" ] || continue
      read -r -a ps <<<"$(point_servers "$pt")"
      [[ " ${ps[*]} " == *" webserv "* ]] || continue
      IFS='|' read -r title _ conns _ <<<"$(point_def "$pt")"
      for s in "${ps[@]}"; do
        [ "$s" = webserv ] && continue
        p99r="$(ratio "$(col webserv "$pt" 4)" "$(col "$s" "$pt" 4)")"
        [ "$pt" = pipeline ] && p99r="n/a"
        echo "| $title (c=$conns) | $s | $(ratio "$(col webserv "$pt" 1)" "$(col "$s" "$pt" 1)") | $(ratio "$(col webserv "$pt" 2)" "$(col "$s" "$pt" 2)") | $p99r | $(ratio "$(col webserv "$pt" 9)" "$(col "$s" "$pt" 9)") | $(pcol "$s" "$pt" 9) |"
      done
    done
    for ipt in idle tlsidle; do
      has_point "$ipt" || continue
      read -r -a ps <<<"$(point_servers "$ipt")"
      if [[ " ${ps[*]} " == *" webserv "* ]]; then
        echo
        echo "| idle connections | peer | bytes/conn | c=1 p50 | c=1 p99 |"
        echo "|---|---|--:|--:|--:|"
        for s in "${ps[@]}"; do
          [ "$s" = webserv ] && continue
          echo "| $IDLE_CONNS held$([ "$ipt" = tlsidle ] && echo ' (TLS)') | $s | $(ratio "$(icol webserv 5 "$ipt")" "$(icol "$s" 5 "$ipt")") | $(ratio "$(icol webserv 6 "$ipt")" "$(icol "$s" 6 "$ipt")") | $(ratio "$(icol webserv 7 "$ipt")" "$(icol "$s" 7 "$ipt")") |"
        done
        echo
        echo "(bytes/conn, p50, p99: below 1 = webserv better.)"
      fi
    done
  fi
  if [ "${#WRK_POINTS[@]}" -gt 0 ] && [ -n "${WRK_POINTS[0]:-}" ]; then
    echo
    echo "## req/CPU-s in each repetition"
    echo
    echo "Every repetition runs the servers one after another; the spread down a column is"
    echo "the machine's noise (other tenants of the host), which medians and paired ratios damp."
    echo
    hdr="| point | server |"; sep="|---|---|"
    for r in $(seq 1 "$REPS"); do hdr+=" r$r |"; sep+="--:|"; done
    echo "$hdr"; echo "$sep"
    for pt in "${WRK_POINTS[@]}"; do
      [ -n "$pt" ] || continue
      read -r -a ps <<<"$(point_servers "$pt")"
      IFS='|' read -r title _ conns _ <<<"$(point_def "$pt")"
      for s in "${ps[@]}"; do
        row="| $title (c=$conns) | $s |"
        for r in $(seq 1 "$REPS"); do
          row+=" $(echo "${RES[$s,$pt,$r]:-}" | awk '{print ($9 == "" ? "n/a" : $9)}') |"
        done
        echo "$row"
      done
    done
  fi
  echo
  echo "## Notes"
  echo
  echo "- runs with errors (socket errors, unexpected statuses, idle connections lost): $FAILS"
  line=""
  for s in "${MAIN_SERVERS[@]:-}"; do
    [ -n "$s" ] || continue
    line+="$s $(fmt "${RSS_BEFORE[$s]}" '%.0f') -> $(fmt "${RSS_AFTER[$s]}" '%.0f'), "
  done
  [ -n "$line" ] && echo "- RSS of each long-running server tree (kB) before -> after the wrk points: ${line%, }"
  for s in "${MAIN_SERVERS[@]:-}"; do
    [ -n "$s" ] || continue
    logtext="$(grep -v -e 'serving on' -e 'server started' -e 'is ready to serve' -e 'raised RLIMIT_NOFILE' -e '^ceiling:' \
      "$TMP/srv/$s/stderr" "$TMP/srv/$s/error.log" 2>/dev/null | tail -5 || true)"
    if [ -n "$logtext" ]; then
      echo "- $s log (tail):"
      echo '```'
      echo "$logtext"
      echo '```'
    fi
  done
} >"$OUT"

# ---------------------------------------------------------------- syscalls per request
if [ "$STRACE" = 1 ]; then
  strace_one() { # SRV PATH CONNS LABEL
    local srv=$1 path=$2 conns=$3 label=$4 out sargs=() p sp reqs
    out="$TMP/raw/strace-$srv-$label.txt"
    for p in $(tree_pids "${SPID[$srv]}"); do sargs+=(-p "$p"); done
    strace -c -f -o "$out" "${sargs[@]}" 2>/dev/null &
    sp=$!
    PIDS+=("$sp")
    sleep 0.5
    "${WRK_PIN[@]}" timeout 40 wrk -t1 "-c$conns" -d3s "http://127.0.0.1:${SPORT[$srv]}$path" >"$out.wrk" 2>&1 || true
    sleep 0.3
    kill -INT "$sp" 2>/dev/null || true
    wait "$sp" 2>/dev/null || true
    reqs="$(awk '/ requests in /{print $1}' "$out.wrk")"
    echo
    echo "$srv, $label: $reqs requests; top syscalls per request"
    echo '```'
    awk -v r="${reqs:-1}" '
      /^[ ]*[0-9.]+[ ]+[0-9.]+[ ]+[0-9]+[ ]+[0-9]+/ && $NF != "total" {
        name=$NF; calls=$4; errs=(NF==6)?$5:0
        printf "%-16s %8.3f  (%d calls, %d errors)\n", name, calls/r, calls, errs }
      /total$/ { printf "%-16s %8.3f\n", "TOTAL", $4/r }' "$out" | sort -k2 -g -r | head -12 || true
    echo '```'
  }
  {
    echo
    echo "## Syscalls per request (strace -c -f on the server tree, wrk -t1 -d3s; throughput under strace means nothing)"
    for s in "${MAIN_SERVERS[@]:-}"; do
      [ -n "$s" ] || continue
      strace_one "$s" /1k.txt 64 "1 KiB keep-alive c=64"
      if [ "$WITH_CGI" = 1 ] && [[ " $(point_servers cgi) " == *" $s "* ]]; then
        strace_one "$s" /cgi/hello.sh 16 "CGI c=16"
      fi
    done
  } >>"$OUT"
fi

echo
cat "$OUT"
echo
log "report written to $OUT"
