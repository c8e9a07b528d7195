#!/usr/bin/env bash
# The built-in pages and the demo site in headless Chromium, at 1280 px and 390 px wide:
# a screenshot of every page and, from inside each page, a check that nothing runs off
# the screen sideways; the upload page's round trip (see e2e.js).
#
# Starts its own server (conf/examples/site.conf moved to two free ports) and fails if
# that server does not start. Installs what it lacks: Debian's chromium, node and npm,
# and playwright-core (pinned) under target/browser/. Screenshots go to
# ${OUT:-target/screenshots}.
#
#   scripts/browser/run.sh                 # builds the debug binary if needed
#   WEBSERV=target/release/webserv scripts/browser/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
OUT=${OUT:-$root/target/screenshots}
PLAYWRIGHT_CORE=1.65.2
mkdir -p "$OUT" target/browser

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "$(node -p "try { require('$root/target/browser/node_modules/playwright-core/package.json').version } catch { '' }")" != "$PLAYWRIGHT_CORE" ]; then
    echo "== installing playwright-core@$PLAYWRIGHT_CORE"
    [ -f target/browser/package.json ] || echo '{"private": true}' >target/browser/package.json
    (cd target/browser && npm install --no-audit --no-fund --silent "playwright-core@$PLAYWRIGHT_CORE")
fi

if [ -z "${WEBSERV:-}" ]; then
    cargo build -q
    WEBSERV=target/debug/webserv
fi

free_port() {
    node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}
main_port=$(free_port)
docs_port=$(free_port)
while [ "$docs_port" = "$main_port" ]; do docs_port=$(free_port); done

# The demo config on the free ports, beside the original (its relative paths are
# relative to its own directory).
conf=conf/examples/.browser-$$.conf
sed -e "s/127\.0\.0\.1:8080/127.0.0.1:$main_port/g" -e "s/127\.0\.0\.1:8081/127.0.0.1:$docs_port/g" \
    conf/examples/site.conf >"$conf"
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -f "$conf" conf/examples/www/main/uploads/browser-test*.txt
}
trap cleanup EXIT

"$WEBSERV" run "$conf" >"$OUT/server.log" 2>&1 &
pid=$!
started=
for _ in $(seq 100); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    if grep -q "^webserv: serving " "$OUT/server.log"; then started=1 && break; fi
    sleep 0.1
done
if [ -z "$started" ]; then
    echo "the server did not start:" >&2
    cat "$OUT/server.log" >&2
    exit 1
fi

NODE_PATH="$root/target/browser/node_modules" node scripts/browser/e2e.js \
    "http://127.0.0.1:$main_port" "http://127.0.0.1:$docs_port" "$OUT"
