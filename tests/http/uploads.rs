//! Uploads into `upload_store`: multipart and raw POST, PUT (create/replace), DELETE;
//! sanitised and never-clobbering names; limits, aborts and timeouts that leave nothing
//! behind; `Expect: 100-continue`; and the memory of a 200 MB streamed upload, measured on
//! the real binary.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

const CONF: &str = r#"
server {
    listen 127.0.0.1:8080;
    root www;
    location /up/ {
        upload_store www/up;
        allow_methods GET POST PUT DELETE;
        client_max_body_size 1m;
    }
    location /post/ {
        allow_methods GET POST;
    }
}
"#;

/// The store, relative to the site directory.
const STORE: &str = "www/up";

/// How long a condition polled on the file system may take to become true.
const SETTLE: Duration = Duration::from_secs(5);

fn site_with(conf: &str) -> Site {
    let s = Site::new(conf, &[("www/post/x.txt", b"x")]);
    std::fs::create_dir_all(s.path(STORE)).unwrap();
    s
}

fn site() -> Site {
    site_with(CONF)
}

/// Names in a directory, sorted (hidden ones included).
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn store_names(s: &Site) -> Vec<String> {
    listing(&s.path(STORE))
}

/// The store holds exactly these files with exactly these bytes.
fn assert_store(s: &Site, files: &[(&str, &[u8])]) {
    let mut want: Vec<String> = files.iter().map(|(n, _)| n.to_string()).collect();
    want.sort();
    assert_eq!(store_names(s), want, "store contents");
    for (name, bytes) in files {
        let got = std::fs::read(s.path(STORE).join(name)).unwrap();
        assert_eq!(
            got,
            *bytes,
            "bytes of {name}: got {:?}",
            String::from_utf8_lossy(&got)
        );
    }
}

/// Polls until the store is empty (temporaries removed), failing with what is left.
fn assert_store_becomes_empty(s: &Site) {
    let ok = wait_until(SETTLE, || store_names(s).is_empty());
    assert!(ok, "store not empty: {:?}", store_names(s));
}

fn temps(s: &Site) -> Vec<String> {
    store_names(s)
        .into_iter()
        .filter(|n| n.starts_with(".upload-") && n.ends_with(".part"))
        .collect()
}

/// Polls until exactly one temporary file exists in the store and holds `size` bytes:
/// the body streams to disk as it arrives.
fn wait_for_temp_of_size(s: &Site, size: u64) {
    let ok = wait_until(SETTLE, || {
        let t = temps(s);
        t.len() == 1 && std::fs::metadata(s.path(STORE).join(&t[0])).is_ok_and(|m| m.len() == size)
    });
    assert!(
        ok,
        "no temporary file of {size} bytes in the store: {:?}",
        store_names(s)
            .iter()
            .map(|n| (
                n.clone(),
                std::fs::metadata(s.path(STORE).join(n))
                    .map(|m| m.len())
                    .ok()
            ))
            .collect::<Vec<_>>()
    );
}

/// One part of a multipart body: field name, optional file name, content.
pub(crate) struct Part<'a> {
    name: &'a str,
    filename: Option<&'a str>,
    content: &'a [u8],
}

pub(crate) fn file<'a>(name: &'a str, filename: &'a str, content: &'a [u8]) -> Part<'a> {
    Part {
        name,
        filename: Some(filename),
        content,
    }
}

fn field<'a>(name: &'a str, content: &'a [u8]) -> Part<'a> {
    Part {
        name,
        filename: None,
        content,
    }
}

/// A `multipart/form-data` body with the closing delimiter.
pub(crate) fn multipart(boundary: &str, parts: &[Part]) -> Vec<u8> {
    let mut b = Vec::new();
    for p in parts {
        b.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match p.filename {
            Some(f) => {
                b.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                        p.name
                    )
                    .as_bytes(),
                );
            }
            None => b.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{}\"\r\n\r\n",
                    p.name
                )
                .as_bytes(),
            ),
        }
        b.extend_from_slice(p.content);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    b
}

/// A complete POST of a multipart body to `path` (Content-Length framing).
pub(crate) fn multipart_request(path: &str, boundary: &str, body: &[u8], extra: &str) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

pub(crate) fn json_body(r: &Response) -> Value {
    assert_eq!(r.h("content-type"), "application/json", "{:?}", r.headers);
    serde_json::from_slice(&r.body)
        .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", r.text()))
}

fn stored(entries: &[(&str, u64)]) -> Value {
    let list: Vec<Value> = entries
        .iter()
        .map(
            |(name, size)| json!({ "name": name, "size": size, "location": format!("/up/{name}") }),
        )
        .collect();
    json!({ "stored": list })
}

pub(crate) fn put(s: &Site, path: &str, body: &[u8]) -> Response {
    let mut req = format!(
        "PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    s.send(&req)
}

const B: &str = "XyZzy-boundary-42";

// Contents that contain near-misses of the delimiter, so a parser that matches too eagerly
// (or loses a partial match at a read boundary) corrupts them.
const ONE: &[u8] = b"first file\r\n--XyZzy-boundary-4\r\n--XyZzy\r\n-\r\nend\r\n";
const TWO: &[u8] = b"\x00\x01\x02\r\n\r\n--XyZzy-boundary-43\xff\xfe\r";

fn two_files_and_a_field() -> Vec<u8> {
    multipart(
        B,
        &[
            file("f1", "one.txt", ONE),
            field("comment", b"just a field, not a file"),
            file("f2", "two.bin", TWO),
        ],
    )
}

#[test]
fn multipart_two_files_and_a_field_stores_the_files() {
    let s = site();
    let r = s.send(&multipart_request("/up/", B, &two_files_and_a_field(), ""));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.h("location"), "/up/one.txt");
    assert_eq!(
        json_body(&r),
        stored(&[("one.txt", ONE.len() as u64), ("two.bin", TWO.len() as u64)])
    );
    assert_store(&s, &[("one.txt", ONE), ("two.bin", TWO)]);
    // The stored files are served back from the same place.
    let g = s.get("/up/one.txt");
    assert_eq!((g.status, g.body.as_slice()), (200, ONE));
    let g = s.get("/up/two.bin");
    assert_eq!((g.status, g.body.as_slice()), (200, TWO));
}

#[test]
fn multipart_with_accept_html_answers_an_html_listing() {
    let s = site();
    let body = multipart(
        B,
        &[
            file("f1", "one.txt", ONE),
            field("comment", b"x"),
            file("f2", "<b>&.txt", TWO),
        ],
    );
    let r = s.send(&multipart_request(
        "/up/",
        B,
        &body,
        "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n",
    ));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.h("location"), "/up/one.txt");
    assert_eq!(r.h("content-type"), "text/html; charset=utf-8");
    let html = r.text();
    assert!(
        html.contains("<a href=\"/up/one.txt\">one.txt</a>"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"/up/%3Cb%3E%26.txt\">&lt;b&gt;&amp;.txt</a>"),
        "{html}"
    );
    assert!(!html.contains("<b>"), "unescaped name in {html}");
    assert!(!html.contains("\"stored\""), "JSON instead of HTML: {html}");
    assert_store(&s, &[("one.txt", ONE), ("<b>&.txt", TWO)]);
}

#[test]
fn multipart_sent_in_seven_byte_pieces() {
    let s = site();
    let req = multipart_request("/up/", B, &two_files_and_a_field(), "");
    let mut c = s.connect();
    for piece in req.chunks(7) {
        c.sock.write_all(piece).unwrap();
        c.sock.flush().unwrap();
    }
    let r = c.read_response(false);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        json_body(&r),
        stored(&[("one.txt", ONE.len() as u64), ("two.bin", TWO.len() as u64)])
    );
    assert_store(&s, &[("one.txt", ONE), ("two.bin", TWO)]);
}

#[test]
fn multipart_chunked_in_seven_byte_chunks() {
    let s = site();
    let body = two_files_and_a_field();
    let mut c = s.connect();
    c.write(
        format!(
            "POST /up/ HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=\"{B}\"\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .as_bytes(),
    );
    for piece in body.chunks(7) {
        let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
        chunk.extend_from_slice(piece);
        chunk.extend_from_slice(b"\r\n");
        c.sock.write_all(&chunk).unwrap();
        c.sock.flush().unwrap();
    }
    c.write(b"0\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        json_body(&r),
        stored(&[("one.txt", ONE.len() as u64), ("two.bin", TWO.len() as u64)])
    );
    assert_store(&s, &[("one.txt", ONE), ("two.bin", TWO)]);
}

#[test]
fn traversal_in_file_name_is_stripped_to_the_basename() {
    let s = site();
    let top_before = listing(s.dir.path());
    let www_before = listing(&s.path("www"));
    let body = multipart(
        B,
        &[
            file("f", "../../evil.txt", b"evil"),
            file("g", "..\\..\\win.txt", b"win"),
        ],
    );
    let r = s.send(&multipart_request("/up/", B, &body, ""));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.h("location"), "/up/evil.txt");
    assert_eq!(json_body(&r), stored(&[("evil.txt", 4), ("win.txt", 3)]));
    assert_store(&s, &[("evil.txt", b"evil"), ("win.txt", b"win")]);
    // Nothing appeared outside the store.
    assert_eq!(listing(s.dir.path()), top_before);
    assert_eq!(listing(&s.path("www")), www_before);
    assert!(!s.dir.path().join("evil.txt").exists());
    assert!(!s.path("www/evil.txt").exists());
}

#[test]
fn leading_dot_is_dropped_from_file_names() {
    let s = site();
    let body = multipart(B, &[file("f", ".hidden", b"not hidden")]);
    let r = s.send(&multipart_request("/up/", B, &body, ""));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.h("location"), "/up/hidden");
    assert_eq!(json_body(&r), stored(&[("hidden", 10)]));
    assert_store(&s, &[("hidden", b"not hidden")]);
}

#[test]
fn file_name_with_space_gets_an_encoded_location() {
    let s = site();
    let body = multipart(B, &[file("f", "my file.txt", b"spaced")]);
    let r = s.send(&multipart_request("/up/", B, &body, ""));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.h("location"), "/up/my%20file.txt");
    assert_eq!(
        json_body(&r),
        json!({ "stored": [{ "name": "my file.txt", "size": 6, "location": "/up/my%20file.txt" }] })
    );
    assert_store(&s, &[("my file.txt", b"spaced")]);
    let g = s.get("/up/my%20file.txt");
    assert_eq!((g.status, g.body.as_slice()), (200, &b"spaced"[..]));
}

#[test]
fn name_clash_gets_a_fresh_name_and_never_overwrites() {
    let s = site();
    let r = s.send(&multipart_request(
        "/up/",
        B,
        &multipart(B, &[file("f", "a.txt", b"original")]),
        "",
    ));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.h("location"), "/up/a.txt");
    assert_eq!(json_body(&r), stored(&[("a.txt", 8)]));

    let r = s.send(&multipart_request(
        "/up/",
        B,
        &multipart(B, &[file("f", "a.txt", b"second")]),
        "",
    ));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.h("location"), "/up/a-1.txt");
    assert_eq!(json_body(&r), stored(&[("a-1.txt", 6)]));

    // Two parts with the same name in one request: each gets its own.
    let r = s.send(&multipart_request(
        "/up/",
        B,
        &multipart(
            B,
            &[file("f", "a.txt", b"third"), file("g", "a.txt", b"fourth")],
        ),
        "",
    ));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.h("location"), "/up/a-2.txt");
    assert_eq!(json_body(&r), stored(&[("a-2.txt", 5), ("a-3.txt", 6)]));

    assert_store(
        &s,
        &[
            ("a.txt", b"original"),
            ("a-1.txt", b"second"),
            ("a-2.txt", b"third"),
            ("a-3.txt", b"fourth"),
        ],
    );
}

/// The single file in the store after a raw POST, checked against the response.
fn check_raw_post(s: &Site, r: &Response, ext: &str, bytes: &[u8]) {
    assert_eq!(r.status, 201, "{}", r.text());
    let names = store_names(s);
    assert_eq!(names.len(), 1, "store: {names:?}");
    let name = &names[0];
    assert!(
        name.ends_with(ext) && !name.starts_with('.'),
        "fresh name {name:?}"
    );
    assert_eq!(r.h("location"), format!("/up/{name}"));
    assert_eq!(json_body(r), stored(&[(name, bytes.len() as u64)]));
    assert_store(s, &[(name, bytes)]);
    let g = s.get(r.h("location"));
    assert_eq!(g.status, 200);
    assert_eq!(g.body, bytes);
}

#[test]
fn raw_post_is_stored_under_a_fresh_name() {
    let s = site();
    let bytes: &[u8] = b"raw body\r\n--not-a-boundary--\r\n\x00\xff";
    let mut req = format!(
        "POST /up/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        bytes.len()
    )
    .into_bytes();
    req.extend_from_slice(bytes);
    let r = s.send(&req);
    check_raw_post(&s, &r, ".txt", bytes);

    // A second raw POST never reuses the first name.
    let first = r.h("location").to_string();
    let r2 = s.send(&req);
    assert_eq!(r2.status, 201, "{}", r2.text());
    assert_ne!(r2.h("location"), first);
    assert_eq!(store_names(&s).len(), 2, "{:?}", store_names(&s));
}

#[test]
fn chunked_raw_post_is_stored_dechunked() {
    let s = site();
    let mut c = s.connect();
    c.write(
        b"POST /up/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n\
          5;ext=1\r\nhello\r\n\
          6;name=\"quoted value\";flag\r\n world\r\n\
          A\r\n, chunked!\r\n\
          0;last\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n",
    );
    let r = c.read_response(false);
    check_raw_post(&s, &r, ".txt", b"hello world, chunked!");
}

#[test]
fn put_creates_then_replaces() {
    let s = site();
    let r = put(&s, "/up/new.txt", b"version one");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.h("location"), "/up/new.txt");
    assert_store(&s, &[("new.txt", b"version one")]);

    let r = put(&s, "/up/new.txt", b"v2");
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty());
    assert_store(&s, &[("new.txt", b"v2")]);
    let g = s.get("/up/new.txt");
    assert_eq!((g.status, g.body.as_slice()), (200, &b"v2"[..]));
}

#[test]
fn put_without_a_name_is_409_and_into_a_subdirectory_403() {
    let s = site();
    let r = put(&s, "/up/", b"abc");
    assert_eq!(r.status, 409, "{}", r.text());
    let r = put(&s, "/up/a/b", b"abc");
    assert_eq!(r.status, 403, "{}", r.text());
    assert_store(&s, &[]);
    assert!(!s.path("www/up/a").exists());
}

#[test]
fn delete_removes_an_uploaded_file() {
    let s = site();
    assert_eq!(put(&s, "/up/gone.txt", b"bye").status, 201);
    assert_store(&s, &[("gone.txt", b"bye")]);
    let r = s.send(b"DELETE /up/gone.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty());
    assert_store(&s, &[]);
    assert_eq!(s.get("/up/gone.txt").status, 404);
    let r = s.send(b"DELETE /up/gone.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 404);
}

#[test]
fn content_length_over_the_limit_is_413_before_the_body() {
    let s = site();
    let mut c = s.connect();
    // Not one body byte is sent: the answer must not wait for them.
    c.write(
        b"POST /up/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1048577\r\n\r\n",
    );
    let r = c.read_response(false);
    assert_eq!(r.status, 413);
    assert!(r.closes(), "{:?}", r.headers);
    c.assert_closed();
    assert_store(&s, &[]);

    // The same for a multipart upload and for PUT.
    let mut c = s.connect();
    c.write(
        format!("POST /up/ HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={B}\r\nContent-Length: 5000000\r\n\r\n").as_bytes(),
    );
    assert_eq!(c.read_response(false).status, 413);
    let mut c = s.connect();
    c.write(b"PUT /up/big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n");
    assert_eq!(c.read_response(false).status, 413);
    assert_store(&s, &[]);

    // Exactly the limit is fine.
    let body = vec![b'L'; 1 << 20];
    let r = put(&s, "/up/limit.bin", &body);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_store(&s, &[("limit.bin", &body)]);
}

#[test]
fn chunked_body_over_the_limit_midway_is_413_and_close() {
    let s = site();
    let mut c = s.connect();
    c.write(
        b"POST /up/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    // 24 chunks of 64 KiB = 1.5 MiB against a 1 MiB limit, written from another thread so
    // the response can be read while the server drops the rest.
    let mut w = c.sock.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let mut chunk = b"10000\r\n".to_vec();
        chunk.extend(std::iter::repeat_n(b'c', 0x10000));
        chunk.extend_from_slice(b"\r\n");
        for _ in 0..24 {
            if w.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = w.write_all(b"0\r\n\r\n");
    });
    let r = c.read_response(false);
    assert_eq!(r.status, 413);
    assert!(r.closes(), "{:?}", r.headers);
    c.assert_closed();
    writer.join().unwrap();
    assert_store_becomes_empty(&s);
}

#[test]
fn client_gone_mid_raw_body_leaves_nothing() {
    let s = site();
    let mut c = s.connect();
    c.write(
        b"POST /up/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 200000\r\n\r\n",
    );
    c.write(&[b'h'; 100_000]);
    wait_for_temp_of_size(&s, 100_000);
    drop(c);
    assert_store_becomes_empty(&s);
    // The server is fine afterwards.
    assert_eq!(put(&s, "/up/after.txt", b"ok").status, 201);
    assert_store(&s, &[("after.txt", b"ok")]);
}

#[test]
fn client_gone_mid_multipart_body_leaves_nothing() {
    let s = site();
    let content = vec![b'm'; 300_000];
    let body = multipart(
        B,
        &[
            file("f1", "done.txt", b"complete"),
            file("f2", "half.bin", &content),
        ],
    );
    let req = multipart_request("/up/", B, &body, "");
    let mut c = s.connect();
    // Everything of the first part and 100 000 bytes of the second.
    let cut = find(&req, &content[..1000]).unwrap() + 100_000;
    c.write(&req[..cut]);
    let ok = wait_until(SETTLE, || {
        let t = temps(&s);
        t.len() == 2
            && t.iter()
                .any(|n| std::fs::metadata(s.path(STORE).join(n)).is_ok_and(|m| m.len() == 100_000))
    });
    assert!(ok, "temporaries not seen: {:?}", store_names(&s));
    drop(c);
    // Not even the complete first part is kept.
    assert_store_becomes_empty(&s);
}

#[test]
fn body_timeout_closes_and_leaves_nothing() {
    let s = site_with(
        r#"
server {
    listen 127.0.0.1:8080;
    root www;
    client_body_timeout 1s;
    location /up/ {
        upload_store www/up;
        allow_methods GET POST PUT DELETE;
        client_max_body_size 1m;
    }
}
"#,
    );
    let mut c = s.connect();
    c.write(b"PUT /up/stalled.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
    c.write(&[b's'; 500]);
    wait_for_temp_of_size(&s, 500);
    let took = c
        .wait_closed(Duration::from_secs(5))
        .expect("connection still open 5 s after a 1 s body timeout");
    // No success was answered (a 408 before closing is acceptable).
    let got = c.leftover();
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 408 "),
        "unexpected bytes after a body timeout: {:?}",
        String::from_utf8_lossy(got)
    );
    assert!(
        took >= Duration::from_millis(500),
        "closed after {took:?}, before the body timeout"
    );
    assert_store_becomes_empty(&s);
}

#[test]
fn multipart_without_closing_delimiter_is_400_and_leaves_nothing() {
    let s = site();
    let mut body = multipart(B, &[file("f", "cut.txt", b"no end")]);
    // Drop the `--B--\r\n` close delimiter; keep the CRLF ending the part.
    let close = format!("--{B}--\r\n");
    body.truncate(body.len() - close.len());
    let r = s.send(&multipart_request("/up/", B, &body, ""));
    assert_eq!(r.status, 400, "{}", r.text());
    assert_store_becomes_empty(&s);

    // Garbage where the first delimiter should be.
    let r = s.send(&multipart_request("/up/", B, b"no delimiter at all", ""));
    assert_eq!(r.status, 400, "{}", r.text());
    assert_store_becomes_empty(&s);
}

#[test]
fn expect_continue_on_a_multipart_upload() {
    let s = site();
    let body = two_files_and_a_field();
    let mut c = s.connect();
    c.write(
        format!(
            "POST /up/ HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={B}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    let interim = c.read_response(false);
    assert_eq!(
        (
            interim.version.as_str(),
            interim.status,
            interim.reason.as_str()
        ),
        ("HTTP/1.1", 100, "Continue")
    );
    assert!(interim.headers.is_empty(), "{:?}", interim.headers);
    // Nothing was stored before the body came.
    assert_store(&s, &[]);
    c.write(&body);
    let r = c.read_response(false);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.h("location"), "/up/one.txt");
    assert_store(&s, &[("one.txt", ONE), ("two.bin", TWO)]);
}

#[test]
fn post_without_length_or_chunked_is_411() {
    let s = site();
    let r = s.send(b"POST /up/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n\r\n");
    assert_eq!(r.status, 411);
    let r = s.send(b"PUT /up/x.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 411);
    assert_store(&s, &[]);
}

#[test]
fn post_where_there_is_no_upload_store_is_405() {
    let s = site();
    let r = s.send(b"POST /post/x.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(r.status, 405);
    assert_eq!(r.h("allow"), "GET, HEAD, POST");
    assert_eq!(std::fs::read(s.path("www/post/x.txt")).unwrap(), b"x");
    assert_eq!(listing(&s.path("www/post")), ["x.txt"]);
}

// ---------------------------------------------------------------------------------------
// Memory of a large streamed upload, on the real binary.

const BIN: &str = env!("CARGO_BIN_EXE_webserv");

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Deterministic bytes generated block by block (xorshift), never held whole.
struct Stream {
    seed: u64,
}

impl Stream {
    fn new() -> Stream {
        Stream {
            seed: 0x9e37_79b9_7f4a_7c15,
        }
    }

    fn next_block(&mut self, buf: &mut [u8]) {
        for w in buf.chunks_mut(8) {
            self.seed ^= self.seed << 13;
            self.seed ^= self.seed >> 7;
            self.seed ^= self.seed << 17;
            w.copy_from_slice(&self.seed.to_le_bytes()[..w.len()]);
        }
    }
}

#[test]
fn streamed_200_mb_upload_keeps_memory_bounded() {
    const SIZE: u64 = 200 << 20;
    const BLOCK: usize = 64 * 1024;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("www/up")).unwrap();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    std::fs::write(
        dir.path().join("site.conf"),
        format!(
            "server {{\n    listen 127.0.0.1:{port};\n    root www;\n    location /up/ {{\n        upload_store www/up;\n        allow_methods GET POST PUT DELETE;\n        client_max_body_size 300m;\n    }}\n}}\n"
        ),
    )
    .unwrap();
    let child = Command::new(BIN)
        .args(["run", "site.conf", "--workers", "1"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn webserv");
    let mut server = Server(child);
    let pid = server.0.id();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            server.0.try_wait().unwrap().is_none(),
            "webserv exited before listening"
        );
        assert!(Instant::now() < deadline, "webserv not listening on {addr}");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Warm up: one small upload, so buffers and pools exist before the baseline.
    let mut c = Client::connect(addr);
    c.write(b"PUT /up/warm.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nwarm");
    assert_eq!(c.read_response(false).status, 201);
    drop(c);
    let rss_before = status_kib(pid, "VmRSS:");

    let head = format!(
        "--{B}\r\nContent-Disposition: form-data; name=\"big\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{B}--\r\n");
    let total = head.len() as u64 + SIZE + tail.len() as u64;
    let mut c = Client::connect(addr);
    c.write(
        format!("POST /up/ HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={B}\r\nContent-Length: {total}\r\n\r\n{head}").as_bytes(),
    );
    let mut stream = Stream::new();
    let mut buf = vec![0u8; BLOCK];
    let mut sent = 0u64;
    while sent < SIZE {
        stream.next_block(&mut buf);
        c.write(&buf);
        sent += BLOCK as u64;
    }
    c.write(tail.as_bytes());
    c.sock
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let r = c.read_response(false);
    let peak = status_kib(pid, "VmHWM:");
    let rss_after = status_kib(pid, "VmRSS:");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.h("location"), "/up/big.bin");
    assert_eq!(
        json_body(&r),
        json!({ "stored": [{ "name": "big.bin", "size": SIZE, "location": "/up/big.bin" }] })
    );
    let growth = peak.saturating_sub(rss_before);
    assert!(
        growth < 32 * 1024,
        "RSS grew by {growth} KiB during a 200 MB upload (before {rss_before} KiB, peak {peak} KiB, after {rss_after} KiB)"
    );

    // The stored file is exactly the bytes sent.
    let path = dir.path().join("www/up/big.bin");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), SIZE);
    let mut f = std::fs::File::open(&path).unwrap();
    let mut stream = Stream::new();
    let mut got = vec![0u8; BLOCK];
    let mut off = 0u64;
    while off < SIZE {
        stream.next_block(&mut buf);
        f.read_exact(&mut got).unwrap();
        assert!(got == buf, "stored file differs in block at offset {off}");
        off += BLOCK as u64;
    }
    assert_eq!(listing(&dir.path().join("www/up")), ["big.bin", "warm.txt"]);
}

#[test]
fn pipelined_get_put_get_are_answered_in_order() {
    let s = site();
    std::fs::write(s.path("www/up/old.txt"), b"old").unwrap();
    let mut c = s.connect();
    c.write(
        b"GET /up/old.txt HTTP/1.1\r\nHost: x\r\n\r\n\
          PUT /up/old.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nnew\
          GET /up/old.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(c.read_response(false).body, b"old");
    assert_eq!(c.read_response(false).status, 204);
    assert_eq!(c.read_response(false).body, b"new");
}
