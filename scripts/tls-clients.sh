#!/usr/bin/env bash
# HTTPS against independent clients: curl (OpenSSL or whichever TLS it was built with)
# and `openssl s_client`, on a site with two names on one TLS port.
#
# Makes a throwaway CA and two certificates with the openssl command (nothing is kept),
# starts webserv on a free port, and checks: each name gets its own page and its own
# certificate (SNI), TLS 1.2 and 1.3, a 1 MiB download intact, keep-alive across
# requests, session resumption (s_client -sess_out/-sess_in), plain HTTP to the TLS
# port answered 400. Installs curl and openssl from Debian if missing.
#
#   scripts/tls-clients.sh                        # builds the debug binary if needed
#   WEBSERV=target/release/webserv scripts/tls-clients.sh
set -uo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v curl >/dev/null || missing+=(curl)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
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
cd "$dir"

# The CA and a certificate for each name (ECDSA P-256).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=webserv test CA" -keyout ca.key -out ca.pem 2>/dev/null
for n in a b; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=$n.test" -keyout $n.key -out $n.csr 2>/dev/null
    printf 'subjectAltName=DNS:%s.test\n' $n >$n.ext
    openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
        -extfile $n.ext -out $n.pem 2>/dev/null
done
mkdir -p www/a www/b
echo "site a" >www/a/index.html
echo "site b" >www/b/index.html
head -c 1048576 /dev/urandom >www/a/big.bin

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >site.conf <<EOF
worker_processes 1;
server {
    listen 127.0.0.1:$port ssl;
    server_name a.test;
    ssl_certificate a.pem;
    ssl_certificate_key a.key;
    root www/a;
}
server {
    listen 127.0.0.1:$port ssl default_server;
    server_name b.test;
    ssl_certificate b.pem;
    ssl_certificate_key b.key;
    root www/b;
}
EOF
"$WEBSERV" check site.conf || exit 1
"$WEBSERV" run site.conf >server.log 2>&1 &
pid=$!
for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
done

passed=0
failed=0
check() { # name, expected, actual
    if [ "$2" = "$3" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $1: expected [$2], got [$3]"
    fi
}
has() { grep -q -- "$1" && echo yes || echo no; }
url() { echo "https://$1.test:$port$2"; }
curl_() { curl -sS --cacert ca.pem --resolve "a.test:$port:127.0.0.1" --resolve "b.test:$port:127.0.0.1" "$@"; }

echo "== curl ($(curl --version | head -1 | cut -d' ' -f1-2,5-6))"
check "curl a.test" "site a" "$(curl_ "$(url a /)")"
check "curl b.test" "site b" "$(curl_ "$(url b /)")"
check "curl TLS 1.2" "site a" "$(curl_ --tlsv1.2 --tls-max 1.2 "$(url a /)")"
check "curl TLS 1.3" "site b" "$(curl_ --tlsv1.3 "$(url b /)")"
check "curl http/1.1 by ALPN" "1.1" "$(curl_ -o /dev/null -w '%{http_version}' "$(url a /)")"
check "curl 1 MiB intact" "$(sha256sum <www/a/big.bin | cut -d' ' -f1)" \
    "$(curl_ "$(url a /big.bin)" | sha256sum | cut -d' ' -f1)"
# Two URLs in one curl run: the second request reuses the connection.
check "curl keep-alive" "1" "$(curl_ -v "$(url a /)" "$(url a /)" 2>&1 >/dev/null | grep -c 'Re-using\|Reusing')"
check "curl plain HTTP to the TLS port" "400" \
    "$(curl -sS -o plain.html -w '%{http_code}' "http://127.0.0.1:$port/")"
check "the 400 says why" yes "$(has 'plain HTTP request was sent to an HTTPS port' <plain.html)"

echo "== openssl s_client ($(openssl version | cut -d' ' -f1-2))"
s_client() { # servername, extra args...
    local name=$1
    shift
    printf 'GET / HTTP/1.1\r\nHost: %s.test\r\nConnection: close\r\n\r\n' "$name" |
        openssl s_client -connect "127.0.0.1:$port" -servername "$name.test" -CAfile ca.pem \
            -verify_return_error -ign_eof "$@" 2>&1
}
out=$(s_client a)
check "s_client a.test page" yes "$(has '^site a' <<<"$out")"
check "s_client a.test certificate" yes "$(has 'subject=CN *= *a.test' <<<"$out")"
check "s_client verified" yes "$(has 'Verify return code: 0 (ok)' <<<"$out")"
check "s_client TLS 1.3" yes "$(has 'New, TLSv1.3' <<<"$out")"
out=$(s_client b -tls1_2)
check "s_client b.test over TLS 1.2" yes "$(has '^site b' <<<"$out")"
check "s_client b.test certificate" yes "$(has 'subject=CN *= *b.test' <<<"$out")"
check "s_client TLS 1.2 protocol" yes "$(has 'Protocol *: TLSv1.2' <<<"$out")"
s_client a -tls1_2 -sess_out sess.pem >/dev/null
check "s_client resumes a session" yes "$(s_client a -tls1_2 -sess_in sess.pem | has '^Reused')"
# The client allows TLS 1.1 (security level 0); the server must refuse it.
out=$(printf 'hello\r\n' | openssl s_client -connect "127.0.0.1:$port" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' 2>&1)
check "s_client TLS 1.1 refused" yes "$(has 'Cipher is (NONE)' <<<"$out")"

kill -0 "$pid" || { echo "the server died"; cat server.log; exit 1; }
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
