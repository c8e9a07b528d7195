#!/usr/bin/env bash
# Browser check of the demo site (not part of `cargo test`): installs Debian's chromium
# and playwright-core if missing, serves conf/examples/site.conf, then uploads a file
# through /upload.html, checks it is listed and served, deletes it. Screenshots (the
# upload page, autoindex, the custom 404) land in ${OUT:-/tmp/webserv-browser}.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/webserv-browser}
mkdir -p "$OUT"
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
work=$(mktemp -d)
trap 'kill ${pid:-0} 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install -s playwright-core@1 >/dev/null)
cargo build --release -q
target/release/webserv run conf/examples/site.conf >"$OUT/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break; sleep 0.1; done
echo "hello from the browser test" >"$work/browser-test.txt"
NODE_PATH="$work/node_modules" node scripts/browser/e2e.js http://127.0.0.1:8080 "$work/browser-test.txt" "$OUT"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --window-size=1000,600)
chromium "${flags[@]}" --user-data-dir="$work/c1" --screenshot="$OUT/autoindex.png" http://127.0.0.1:8080/files/ >/dev/null 2>&1
chromium "${flags[@]}" --user-data-dir="$work/c2" --screenshot="$OUT/404.png" http://127.0.0.1:8080/nowhere >/dev/null 2>&1
echo "screenshots in $OUT"
