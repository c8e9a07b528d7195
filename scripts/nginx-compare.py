#!/usr/bin/python3
"""The nginx idioms, asked of nginx and of webserv with the same config.

Starts both servers on free loopback ports over one site in a temporary directory,
sends the same requests to each, and prints a table of what each answered (status and
the headers the idiom is about), marking every difference. nginx is where the
expectations of tests/http/idioms.rs come from; the differences webserv makes on
purpose are listed in README.md ("nginx idioms").

    scripts/nginx-compare.py [--webserv target/debug/webserv]

Needs nginx (`apt-get install -y nginx`) and a built webserv. Exit status 0 when the
only differences are the expected ones.
"""

import argparse
import base64
import gzip
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

LOCATIONS = r"""
    add_header X-Frame-Options DENY;
    add_header X-Always yes always;
    location /go { return 301 https://$host$request_uri; }
    location /hello { return 200 "hi $arg_name, $request_method $uri$is_args$args"; }
    location /app/ { try_files $uri $uri/ /app/index.html; }
    location /strict/ { try_files $uri =404; }
    location /inner/ { allow 10.0.0.0/8; deny all; }
    location /local/ { allow 127.0.0.1; deny all; }
    location /private/ {
        auth_basic "Private";
        auth_basic_user_file DIR/users.htpasswd;
        location /private/open/ { auth_basic off; }
    }
    location /cached/ { expires 1h; }
    location /never/ { expires -1; }
    location /forever/ { expires max; }
    location /epoch/ { expires epoch; }
    location /soft/ { error_page 404 =200 /soft/fallback.txt; }
    location /gz/ { gzip on; gzip_types text/css; gzip_min_length 100; }
    location /pre/ { gzip_static on; }
    location /typed/ { default_type text/plain; types { text/markdown md; } }
"""

WEBSERV_CONF = """
worker_processes 1;
server {
    listen 127.0.0.1:PORT;
    root DIR/www;
LOCATIONS
}
"""

NGINX_CONF = """
daemon off;
worker_processes 1;
pid DIR/nginx.pid;
error_log DIR/nginx-error.log;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    server_tokens off;
    client_body_temp_path DIR/tmp;
    proxy_temp_path DIR/tmp;
    fastcgi_temp_path DIR/tmp;
    uwsgi_temp_path DIR/tmp;
    scgi_temp_path DIR/tmp;
    server {
        listen 127.0.0.1:PORT;
        root DIR/www;
LOCATIONS
    }
}
"""

# Made by `htpasswd -bm` (apr1): alice / apple-pie.
USERS = "alice:$apr1$k0wpuOjU$.qUttkSKW7uIbWeekea9s1\n"
CSS = b"body { color: #333; margin: 0 auto; }\n" * 3000
FILES = {
    "www/app/index.html": b"<h1>app</h1>",
    "www/app/logo.png": b"PNG",
    "www/app/docs/index.html": b"docs",
    "www/strict/here.txt": b"here",
    "www/inner/x.txt": b"x",
    "www/local/x.txt": b"local",
    "www/private/x.txt": b"secret",
    "www/private/open/x.txt": b"open",
    "www/cached/a.css": b"a{}",
    "www/never/a.txt": b"n",
    "www/forever/a.txt": b"f",
    "www/epoch/a.txt": b"e",
    "www/soft/fallback.txt": b"fallback",
    "www/gz/big.css": CSS,
    "www/gz/tiny.css": b"a{}",
    "www/pre/app.js": b"original",
    "www/pre/app.js.gz": gzip.compress(b"original"),
    "www/typed/readme.md": b"# md",
    "www/typed/page.html": b"<p>",
}

AUTH = "Basic " + base64.b64encode(b"alice:apple-pie").decode()
GZ = {"Accept-Encoding": "gzip"}
REQUESTS = [
    ("/go?x=1&y", {"Host": "Site.Example:8080"}),
    ("/hello?name=ann", {}),
    ("/app/logo.png", {}),
    ("/app/docs", {}),
    ("/app/users/42", {}),
    ("/strict/here.txt", {}),
    ("/strict/gone.txt", {}),
    ("/inner/x.txt", {}),
    ("/local/x.txt", {}),
    ("/private/x.txt", {}),
    ("/private/x.txt", {"Authorization": AUTH}),
    ("/private/open/x.txt", {}),
    ("/cached/a.css", {}),
    ("/cached/none.css", {}),
    ("/never/a.txt", {}),
    ("/forever/a.txt", {}),
    ("/epoch/a.txt", {}),
    ("/soft/nothing", {}),
    ("/gz/big.css", GZ),
    ("/gz/big.css", {}),
    ("/gz/tiny.css", GZ),
    ("/gz/big.css", {**GZ, "Range": "bytes=0-9"}),
    ("/pre/app.js", GZ),
    ("/typed/readme.md", {}),
    ("/typed/page.html", {}),
]

HEADERS = [
    "location",
    "content-type",
    "cache-control",
    "www-authenticate",
    "content-encoding",
    "x-frame-options",
    "x-always",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def ask(port, path, headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    h = {"Host": "site.example"}
    h.update(headers)
    c.request("GET", path, headers=h)
    r = c.getresponse()
    body = r.read()
    got = {k.lower(): v for k, v in r.getheaders()}
    if got.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    if "expires" in got and "date" in got:
        from email.utils import parsedate_to_datetime

        delta = parsedate_to_datetime(got["expires"]) - parsedate_to_datetime(got["date"])
        got["expires-delta"] = str(int(delta.total_seconds()))
    return r.status, got, body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--webserv", default="target/debug/webserv")
    args = ap.parse_args()
    webserv = os.path.abspath(args.webserv)
    if not shutil.which("nginx"):
        print("nginx is not installed: apt-get install -y nginx", file=sys.stderr)
        return 2
    d = tempfile.mkdtemp(prefix="webserv-nginx-")
    os.chmod(d, 0o755)  # nginx's workers run as nobody
    os.makedirs(os.path.join(d, "tmp"))
    for rel, data in FILES.items():
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    for root, dirs, _ in os.walk(d):
        for x in dirs:
            os.chmod(os.path.join(root, x), 0o755)
    with open(os.path.join(d, "users.htpasswd"), "w") as f:
        f.write(USERS)
    wp, np_ = free_port(), free_port()
    locs = LOCATIONS.replace("DIR", d)
    with open(os.path.join(d, "webserv.conf"), "w") as f:
        f.write(WEBSERV_CONF.replace("LOCATIONS", locs).replace("DIR", d).replace("PORT", str(wp)))
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF.replace("LOCATIONS", locs).replace("DIR", d).replace("PORT", str(np_)))
    procs = [
        subprocess.Popen([webserv, "run", os.path.join(d, "webserv.conf")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen(["nginx", "-c", os.path.join(d, "nginx.conf"), "-e",
                          os.path.join(d, "nginx-error.log")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    unexpected = 0
    try:
        if not (wait_port(wp) and wait_port(np_)):
            print("a server did not start", file=sys.stderr)
            return 1
        for path, headers in REQUESTS:
            ws, wh, wb = ask(wp, path, headers)
            ns, nh, nb = ask(np_, path, headers)
            extra = " ".join(f"{k}: {v}" for k, v in headers.items() if k != "Authorization")
            if "Authorization" in headers:
                extra += " (with credentials)"
            print(f"GET {path} {extra}".rstrip())
            rows = [("status", str(ws), str(ns))]
            for h in HEADERS + ["expires-delta"]:
                rows.append((h, wh.get(h, "-"), nh.get(h, "-")))
            if ws < 300 or ns < 300:
                rows.append(("body", wb[:40].decode("latin1"), nb[:40].decode("latin1")))
            for name, w, n in rows:
                same = w == n
                if not same and name == "content-type" and w.split(";")[0] == n.split(";")[0]:
                    mark = "  (charset: expected)"
                elif not same and name == "content-type" and path.endswith(".js"):
                    mark = "  (text/javascript, RFC 9239: expected)"
                elif not same and name == "location" and n.endswith(w) and w.startswith("/"):
                    mark = "  (a relative Location: expected)"
                elif not same and "Range" in headers:
                    mark = "  (a range is answered uncompressed: expected)"
                elif not same:
                    mark = "  <-- differs"
                    unexpected += 1
                else:
                    mark = ""
                if not same or name == "status":
                    print(f"    {name:<17} webserv {w!r:<40} nginx {n!r}{mark}")
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(d, ignore_errors=True)
    print(f"\n{unexpected} unexpected difference(s)")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
