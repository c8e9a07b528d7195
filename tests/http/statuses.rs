//! Requests whose whole story is a status: exact bytes in, a status out, and whether the
//! connection stays open for another request. One row each; add a case by adding a line.
//!
//! Every row runs on its own connection to one site. `Stays`: the answer does not say
//! `Connection: close`, and a GET sent after it on the same connection is answered.
//! `Closes`: the answer says `Connection: close` and the server then ends the
//! connection without sending anything more.

use crate::common::*;
use After::{Closes, Stays};

const CONF: &str = r#"
server {
    listen 127.0.0.1:8080;
    root www;
    location / {
        allow_methods GET;
    }
    location /ro/ {
        allow_methods GET POST;
    }
    location /files/ {
        allow_methods GET DELETE;
    }
    location /small/ {
        allow_methods GET POST;
        client_max_body_size 10;
    }
    location /post/ {
        allow_methods GET POST;
    }
    location /up/ {
        allow_methods GET POST PUT;
        upload_store uploads;
    }
}
"#;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    Stays,
    Closes,
}

/// The rows: request bytes, the status, what the connection does after it.
fn cases() -> Vec<(Vec<u8>, u16, After)> {
    let r = |raw: &[u8], status, after| (raw.to_vec(), status, after);
    let long = |n: usize| format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(n));
    let fields = |n: usize, size: usize| {
        let f: String = (0..n)
            .map(|i| format!("X-F{i}: {}\r\n", "v".repeat(size)))
            .collect();
        format!("GET /a.txt HTTP/1.1\r\nHost: x\r\n{f}\r\n")
    };
    vec![
        r(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 200, Stays),
        // Methods.
        r(b"BREW /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 501, Stays),
        r(b"PATCH /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 501, Stays),
        r(b"G@T /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400, Closes),
        r(b"GE(T /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400, Closes),
        r(b" GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400, Closes),
        r(b"DELETE /files/nope.txt HTTP/1.1\r\nHost: x\r\n\r\n", 404, Stays),
        r(b"DELETE /files/sub/ HTTP/1.1\r\nHost: x\r\n\r\n", 409, Stays),
        r(b"DELETE /files/sub HTTP/1.1\r\nHost: x\r\n\r\n", 409, Stays),
        r(b"POST /ro/f.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx", 405, Stays),
        r(b"OPTIONS /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 204, Stays),
        r(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 200, Stays),
        // Framing.
        r(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400, Closes),
        r(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!", 400, Closes),
        // A request pipelined after a framing error is never answered.
        r(b"POST /post/a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400, Closes),
        r(b"POST /post/a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400, Closes),
        r(b"POST /post/a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo, chunked\r\n\r\n0\r\n\r\n", 501, Closes),
        r(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400, Closes),
        r(b"POST /up/ HTTP/1.1\r\nHost: x\r\n\r\n", 411, Stays),
        r(b"PUT /up/f.txt HTTP/1.1\r\nHost: x\r\n\r\n", 411, Stays),
        r(b"POST /small/x HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world", 413, Closes),
        r(b"GET /small/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789", 200, Stays),
        // Versions.
        r(b"GET /a.txt HTTP/2.0\r\nHost: a\r\n\r\n", 505, Closes),
        r(b"GET /a.txt HTTP/1.x\r\nHost: a\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1\r\nHost: a\r\n\r\n", 400, Closes),
        r(b"GET /a.txt http/1.1\r\nHost: a\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1.1\r\nHost: a\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/11\r\nHost: a\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP 1.1\r\nHost: a\r\n\r\n", 400, Closes),
        // Host.
        r(b"GET /a.txt HTTP/1.1\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1\r\nHost: a b\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1\r\nHost: a@b\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1\r\nHost: [::1\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1\r\nHost: a:b:c\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1\r\nHost: a:99999x\r\n\r\n", 400, Closes),
        // Header fields and line structure.
        r(b"GET /a.txt HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1\r\nHost: a\r\nBad Name: v\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1\r\nHost: a\r\n folded: v\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1\nHost: a\n\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400, Closes),
        r(b"GET /a\x00.txt HTTP/1.1\r\nHost: a\r\n\r\n", 400, Closes),
        r(b"GET  /a.txt HTTP/1.1\r\nHost: a\r\n\r\n", 400, Closes),
        r(b"GET /a.txt  HTTP/1.1\r\nHost: a\r\n\r\n", 400, Closes),
        r(b"GET /a.txt HTTP/1.1 \r\nHost: a\r\n\r\n", 400, Closes),
        r(b"GET a.txt HTTP/1.1\r\nHost: a\r\n\r\n", 400, Closes),
        // Limits.
        r(long(9000).as_bytes(), 414, Closes),
        r(long(8000).as_bytes(), 404, Stays),
        r(fields(1, 17000).as_bytes(), 431, Closes),
        r(fields(40, 500).as_bytes(), 431, Closes),
        r(fields(150, 1).as_bytes(), 431, Closes),
        r(fields(50, 1).as_bytes(), 200, Stays),
    ]
}

/// What happened to one row, or why it went wrong.
fn run(s: &Site, raw: &[u8], head_only: bool) -> Result<(u16, After), String> {
    let mut c = s.connect();
    c.write(raw);
    let r = c
        .try_read_response(head_only)
        .ok_or("the connection closed without an answer")?;
    if r.closes() {
        let extra = c.read_to_close();
        if !extra.is_empty() {
            return Err(format!(
                "{} said Connection: close, then sent {:?}",
                r.status,
                String::from_utf8_lossy(&extra)
            ));
        }
        return Ok((r.status, Closes));
    }
    c.write(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    match c.try_read_response(false) {
        Some(next) if next.status == 200 => Ok((r.status, Stays)),
        Some(next) => Err(format!("{}, then {} to a GET", r.status, next.status)),
        None => Err(format!(
            "{} without Connection: close, then the connection closed",
            r.status
        )),
    }
}

#[test]
fn each_request_gets_its_status() {
    let s = Site::new(
        CONF,
        &[
            ("www/a.txt", b"A"),
            ("www/ro/f.txt", b"f"),
            ("www/files/sub/keep.txt", b"keep"),
            ("www/small/x", b"x"),
        ],
    );
    std::fs::create_dir_all(s.path("uploads")).unwrap();
    let mut failures = Vec::new();
    for (raw, status, after) in cases() {
        let got = run(&s, &raw, raw.starts_with(b"HEAD "));
        if got != Ok((status, after)) {
            let shown: String = String::from_utf8_lossy(&raw).chars().take(120).collect();
            failures.push(format!(
                "{shown:?}\n    expected {status} {after:?}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
