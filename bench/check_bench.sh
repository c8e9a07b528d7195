#!/usr/bin/env bash
# Times `webserv check` against `nginx -t` on an equivalent config with many servers.
#
#   bench/check_bench.sh [SERVERS] [RUNS]        (defaults: 10000 servers, 7 runs)
#
# Generates 10,000 servers x 5 locations (bench/gen_check_conf.py), installs nginx and
# hyperfine if missing (apt), builds webserv in release, then prints the median time of
# each and the ratio webserv/nginx. Set NO_BUILD=1 to reuse target/release/webserv.
set -euo pipefail

SERVERS=${1:-10000}
RUNS=${2:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/check-bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

apt_install() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq >/dev/null && apt-get install -y -qq "$@" >/dev/null
    else
        echo "missing $1 and cannot apt-get install it" >&2
        return 1
    fi
}

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
    apt_install nginx-light || apt_install nginx
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
command -v hyperfine >/dev/null || apt_install hyperfine || true

if [ -z "${NO_BUILD:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
fi
WEBSERV="$ROOT/target/release/webserv"

python3 "$ROOT/bench/gen_check_conf.py" "$OUT" "$SERVERS"
echo "config: $SERVERS servers x 5 locations; webserv $(wc -c <"$OUT/webserv.conf") bytes," \
    "nginx $(wc -c <"$OUT/nginx.conf") bytes"

WS_CMD="$WEBSERV check --format short $OUT/webserv.conf"
NG_CMD="$NGINX -t -q -e $OUT/error.log -p $OUT/ -c $OUT/nginx.conf"

# Both must accept their config before timing means anything.
$WS_CMD || { echo "webserv rejects the config" >&2; exit 1; }
$NG_CMD || { echo "nginx rejects the config" >&2; exit 1; }

# Median wall time in seconds of RUNS runs of "$@".
median() {
    local times=() t0 t1
    for _ in $(seq "$RUNS"); do
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1
        t1=$(date +%s%N)
        times+=($(((t1 - t0) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.4f", a[int((NR+1)/2)]/1e6}'
}

if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$OUT/h.json" \
        -n "webserv check" "$WS_CMD" -n "nginx -t" "$NG_CMD" >&2
    read -r WS NG < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(r[0]["median"], r[1]["median"])' "$OUT/h.json")
else
    WS=$(median $WS_CMD)
    NG=$(median $NG_CMD)
fi

awk -v ws="$WS" -v ng="$NG" -v n="$SERVERS" 'BEGIN {
    printf "servers           %d (x 5 locations)\n", n
    printf "webserv check     %.1f ms (median)\n", ws * 1000
    printf "nginx -t          %.1f ms (median)\n", ng * 1000
    printf "ratio             %.3f (webserv / nginx)\n", ws / ng
}'
