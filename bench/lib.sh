# shellcheck shell=bash
# Shell helpers shared by the benchmark scripts (sourced, not run). The caller sets
# LOG_PREFIX before sourcing.

log() { echo "[$LOG_PREFIX] $*" >&2; }

# The system Python (not a pyenv shim that may sit first on PATH).
PYTHON="${PYTHON:-/usr/bin/python3}"

# apt-get install, with one `apt-get update` first (sudo when not root).
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    $SUDO apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
}
apt_install() {
  apt_update_once
  log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

free_port() {
  "$PYTHON" - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

to_ms() { # wrk "1.23ms" / "456.00us" / "1.20s" -> ms
  awk -v s="$1" 'BEGIN{ n=s+0; u=s; sub(/^[0-9.]+/,"",u);
    m=1; if(u=="us")m=0.001; else if(u=="s")m=1000; else if(u=="m")m=60000;
    printf "%.3f", n*m }'
}

to_bytes() { # wrk "12.34MB" / "1.20GB" / "512.00KB" / "100B" -> bytes (wrk's units are 1024-based)
  awk -v s="$1" 'BEGIN{ n=s+0; u=s; sub(/^[0-9.]+/,"",u);
    m=1; if(u=="KB")m=1024; else if(u=="MB")m=1048576; else if(u=="GB")m=1073741824;
    else if(u=="TB")m=1099511627776; printf "%.0f", n*m }'
}

median() { # reads numbers on stdin
  sort -g | awk '{a[NR]=$1} END{ if (NR==0) {print 0; exit} if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0 && a!="") printf "%.2f", a/b; else print "n/a" }'; }
