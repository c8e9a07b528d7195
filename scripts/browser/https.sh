#!/usr/bin/env bash
# An HTTPS site with two names on one port, in headless Chromium that trusts a test CA
# (see https.js). Makes the CA and the two certificates with the openssl command in a
# temporary directory, trusts the CA in an NSS database under a temporary $HOME (what
# Chromium on Linux reads), serves the site and takes a screenshot of each name into
# ${OUT:-target/screenshots}. Installs what it lacks: chromium, node, npm, certutil
# (libnss3-tools), openssl, and playwright-core (pinned) under target/browser/.
#
#   scripts/browser/https.sh             # builds the debug binary if needed
#   WEBSERV=target/release/webserv scripts/browser/https.sh
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
command -v certutil >/dev/null || missing+=(libnss3-tools)
command -v openssl >/dev/null || missing+=(openssl)
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
WEBSERV=$(realpath "$WEBSERV")

dir=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

(
    cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -subj "/CN=webserv test CA" -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign -keyout ca.key -out ca.pem 2>/dev/null
    for n in a b; do
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj "/CN=$n.test" -keyout $n.key -out $n.csr 2>/dev/null
        printf 'subjectAltName=DNS:%s.test\nextendedKeyUsage=serverAuth\n' $n >$n.ext
        openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
            -extfile $n.ext -out $n.pem 2>/dev/null
        mkdir -p www/$n
        cat >www/$n/index.html <<EOF
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>$n.test</title>
<style>body{font:18px/1.5 system-ui,sans-serif;margin:3em auto;max-width:40em;padding:0 1em}
code{background:#eef;padding:0 .3em}</style></head>
<body><h1>Hello from $n.test</h1>
<p>Served by webserv over HTTPS, on the same port as the other name: the certificate
for <code>$n.test</code> was chosen by SNI.</p></body></html>
EOF
    done
    mkdir -p home/.pki/nssdb
    certutil -N -d sql:home/.pki/nssdb --empty-password
    certutil -A -d sql:home/.pki/nssdb -n "webserv test CA" -t "C,," -i ca.pem
)

port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
cat >"$dir/site.conf" <<EOF
server {
    listen 127.0.0.1:$port ssl;
    server_name a.test;
    ssl_certificate a.pem;
    ssl_certificate_key a.key;
    root www/a;
}
server {
    listen 127.0.0.1:$port ssl;
    server_name b.test;
    ssl_certificate b.pem;
    ssl_certificate_key b.key;
    root www/b;
}
EOF
"$WEBSERV" run "$dir/site.conf" >"$OUT/https-server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

HOME="$dir/home" NODE_PATH="$root/target/browser/node_modules" \
    node scripts/browser/https.js "$port" "$OUT"
