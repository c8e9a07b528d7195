#!/usr/bin/python3
"""Latency of `webserv lsp` (a benchmark, not a test).

- didChange -> publishDiagnostics on conf/examples/site.conf and on a generated
  1,000-server config (bench/gen_check_conf.py): each edit toggles a value between valid
  and invalid, so every edit changes the diagnostics and is published;
- hover and completion latency on both;
- the server's resident memory once the 1,000-server config is open and checked.

Prints medians (and min/max) in milliseconds. The edit's clock starts when the
notification is written and stops when its diagnostics arrive.

usage: bench/lsp_bench.py [--bin target/release/webserv] [--rounds 30]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class Client:
    def __init__(self, binary):
        self.p = subprocess.Popen(
            [binary, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.next_id = 1

    def send(self, msg):
        body = json.dumps(msg).encode()
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.p.stdin.flush()

    def read(self):
        length = 0
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise EOFError("the server closed")
            line = line.strip()
            if not line:
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.p.stdout.read(length))

    def request(self, method, params):
        i = self.next_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
        while True:
            m = self.read()
            if m.get("id") == i and "method" not in m:
                return m

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_diagnostics(self, uri, version):
        while True:
            m = self.read()
            if (
                m.get("method") == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == uri
                and m["params"].get("version") == version
            ):
                return m["params"]["diagnostics"]

    def rss_kib(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def close(self):
        self.request("shutdown", None)
        self.notify("exit", None)
        self.p.wait(timeout=10)


def position_of(text, needle, delta=0):
    i = text.index(needle) + delta
    line = text.count("\n", 0, i)
    col = i - (text.rfind("\n", 0, i) + 1)
    return line, col


def stats(xs):
    return f"median {statistics.median(xs):7.2f} ms  (min {min(xs):.2f}, max {max(xs):.2f}, n={len(xs)})"


def bench_file(binary, path, rounds, toggle, hover_at, complete_at):
    text = open(path).read()
    uri = "file://" + os.path.abspath(path)
    c = Client(binary)
    c.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    c.notify("initialized", {})
    t0 = time.perf_counter()
    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "webserv", "version": 1, "text": text}})
    c.wait_diagnostics(uri, 1)
    opened = (time.perf_counter() - t0) * 1000
    line, col = position_of(text, toggle[0])
    edits = []
    version = 1
    for r in range(rounds):
        old, new = (toggle[0], toggle[1]) if r % 2 == 0 else (toggle[1], toggle[0])
        version += 1
        change = {
            "range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col + len(old)}},
            "text": new,
        }
        t = time.perf_counter()
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
        c.wait_diagnostics(uri, version)
        edits.append((time.perf_counter() - t) * 1000)
    # Back to the valid text for hover and completion.
    if rounds % 2 == 1:
        version += 1
        change = {
            "range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col + len(toggle[1])}},
            "text": toggle[0],
        }
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
        c.wait_diagnostics(uri, version)
    rss = c.rss_kib()
    timed = {}
    for name, method, needle, delta in [
        ("hover", "textDocument/hover", hover_at, 1),
        # Inside the word `autoindex` at the start of a statement in a location.
        ("completion", "textDocument/completion", complete_at + "autoindex", len(complete_at) + 5),
    ]:
        hl, hc = position_of(text, needle, delta)
        xs = []
        for _ in range(rounds):
            t = time.perf_counter()
            r = c.request(method, {"textDocument": {"uri": uri}, "position": {"line": hl, "character": hc}})
            xs.append((time.perf_counter() - t) * 1000)
            assert "result" in r and r["result"], r
        timed[name] = xs
    c.close()
    return opened, edits, timed, rss


def main():
    ap = argparse.ArgumentParser()
    default_bin = os.path.join(ROOT, "target/release/webserv")
    ap.add_argument("--bin", default=default_bin)
    ap.add_argument("--rounds", type=int, default=30)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(HERE, "gen_check_conf.py"), tmp, "1000"], check=True, stdout=subprocess.DEVNULL)
        big = os.path.join(tmp, "webserv.conf")
        cases = [
            ("conf/examples/site.conf", os.path.join(ROOT, "conf/examples/site.conf"),
             ("autoindex on;", "autoindex no;"), "autoindex on;", "    location /files/ {\n        "),
            ("generated 1,000 servers", big,
             ("autoindex on;", "autoindex no;"), "autoindex on;", "    location / {\n        "),
        ]
        for name, path, toggle, hover_at, complete_at in cases:
            size = os.path.getsize(path)
            opened, edits, timed, rss = bench_file(a.bin, path, a.rounds, toggle, hover_at, complete_at)
            print(f"{name} ({size} bytes)")
            print(f"  open -> diagnostics       {opened:7.2f} ms")
            print(f"  didChange -> diagnostics  {stats(edits)}")
            print(f"  hover                     {stats(timed['hover'])}")
            print(f"  completion                {stats(timed['completion'])}")
            print(f"  server RSS after checking {rss / 1024:7.1f} MiB")


if __name__ == "__main__":
    main()
