#!/usr/bin/env python3
"""Writes two equivalent configs for bench/check_bench.sh: webserv.conf and nginx.conf.

N servers (distinct server_name, a few listen ports), each with 5 locations (prefix,
exact, ^~, regex, nested prefix) and some settings. nginx's copy has the events/http
wrapper, pid and error_log under the output directory, and a big enough server_names hash.

usage: gen_check_conf.py OUT_DIR [SERVERS]
"""

import os
import sys


def server(i, www):
    port = 8000 + i % 4
    name = f"s{i}.example.com"
    return f"""server {{
    listen {port};
    server_name {name} *.{name};
    root {www};
    index index.html index.htm;
    client_max_body_size {1 + i % 9}m;
    keepalive_timeout {30 + i % 30}s;
    error_page 404 /404.html;

    location / {{
        autoindex on;
        location /docs/ {{
            index README.html;
        }}
    }}
    location = /404.html {{
        root {www}/errors;
    }}
    location ^~ /static/ {{
        alias {www}/static/;
    }}
    location ~* \\.(png|jpe?g|gif)$ {{
        client_max_body_size 0;
    }}
    location /old {{
        return 301 https://{name}/new;
    }}
}}
"""


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    www = os.path.join(out, "www")
    for d in ("", "errors", "static"):
        os.makedirs(os.path.join(www, d), exist_ok=True)
    servers = "".join(server(i, www) for i in range(n))
    with open(os.path.join(out, "webserv.conf"), "w") as f:
        f.write(servers)
    with open(os.path.join(out, "nginx.conf"), "w") as f:
        f.write(
            f"""pid {out}/nginx.pid;
error_log {out}/error.log;
events {{}}
http {{
    access_log off;
    server_names_hash_max_size 131072;
    server_names_hash_bucket_size 128;
{servers}}}
"""
        )


if __name__ == "__main__":
    main()
