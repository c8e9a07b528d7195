//! Static files, conditional and range requests, HEAD, directories, index, autoindex,
//! error pages, `return`, `root` vs `alias`, nested and regex locations.

use std::time::{Duration, SystemTime};

use crate::common::*;

/// Sun, 06 Nov 1994 08:49:37 GMT.
const MTIME: u64 = 784111777;
const MTIME_HTTP: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
const HELLO: &[u8] = b"hello world\n";

fn set_mtime(path: &std::path::Path, unix: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(unix))
        .unwrap();
}

const CONF: &str = r#"
server {
    listen 127.0.0.1:8080;
    root www;
    location / {
    }
    location /list/ {
        autoindex on;
    }
    location /custom/ {
        error_page 404 /404.html;
    }
    location /old {
        return 301 https://example.com/new;
    }
    location /forbidden {
        return 403 "go away";
    }
    location /al/ {
        alias www/aliased/;
    }
    location /rt/ {
        root www/other;
    }
    location /n/ {
        return 200 "outer";
        location /n/deep/ {
            return 200 "inner";
        }
    }
    location ~ \.php$ {
        return 200 "php";
    }
    location ~* \.JPG$ {
        return 200 "jpg";
    }
    location ^~ /static/ {
    }
    location = /exact {
        return 200 "exact";
    }
}
"#;

fn site() -> Site {
    let s = Site::new(
        CONF,
        &[
            ("www/index.html", b"<h1>home</h1>\n"),
            ("www/a.txt", HELLO),
            ("www/style.css", b"body{}"),
            ("www/app.js", b"1;"),
            ("www/data.json", b"{}"),
            ("www/pic.png", b"\x89PNG"),
            ("www/page.HTM", b"<p>"),
            ("www/noext", b"raw"),
            ("www/dir/index.html", b"dir index\n"),
            ("www/list/a.txt", b"a"),
            ("www/list/<b>&x.txt", b"xx"),
            ("www/list/zdir/f", b"f"),
            ("www/list/.hidden", b"h"),
            ("www/noindex/f.txt", b"f"),
            ("www/404.html", b"<p>custom not found</p>\n"),
            ("www/aliased/f.txt", b"from alias\n"),
            ("www/other/rt/f.txt", b"from root\n"),
            ("www/rt/f.txt", b"wrong: default root\n"),
            ("www/al/f.txt", b"wrong: root instead of alias\n"),
            ("www/static/x.php", b"static php source"),
            ("www/r/x.php", b"php source must not be served"),
        ],
    );
    set_mtime(&s.path("www/a.txt"), MTIME);
    s
}

#[test]
fn content_type_by_extension() {
    let s = site();
    for (path, ct) in [
        ("/a.txt", "text/plain; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/page.HTM", "text/html; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/data.json", "application/json"),
        ("/pic.png", "image/png"),
        ("/noext", "application/octet-stream"),
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.h("content-type"), ct, "{path}");
    }
}

#[test]
fn file_has_length_last_modified_and_etag() {
    let s = site();
    let r = s.get("/a.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.version, "HTTP/1.1");
    assert_eq!(r.reason, "OK");
    assert_eq!(r.body, HELLO);
    assert_eq!(r.h("content-length"), "12");
    assert_eq!(r.h("last-modified"), MTIME_HTTP);
    // nginx's format: "<mtime hex>-<size hex>".
    assert_eq!(r.h("etag"), "\"2ebc98a1-c\"");
    assert!(r.header("date").is_some());
}

/// A response's header lines in order, with the Date value masked.
fn header_lines(r: &Response) -> Vec<(&str, &str)> {
    r.headers
        .iter()
        .map(|(n, v)| (n.as_str(), if n == "Date" { "-" } else { v.as_str() }))
        .collect()
}

/// The whole header section of a file's 200, in order and each line once: the first
/// answer opens the file, the second comes from the file cache's pre-rendered lines.
#[test]
fn file_response_headers_are_exact_when_opened_and_when_cached() {
    let s = site();
    let mut c = s.connect();
    for _ in 0..2 {
        c.write(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
        let r = c.read_response(false);
        assert_eq!(r.status, 200);
        assert_eq!(
            header_lines(&r),
            [
                ("Server", "webserv"),
                ("Date", "-"),
                ("Content-Length", "12"),
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Last-Modified", MTIME_HTTP),
                ("ETag", "\"2ebc98a1-c\""),
                ("Accept-Ranges", "bytes"),
            ]
        );
        assert_eq!(r.body, HELLO);
    }
}

/// A 206 carries the same file header lines as a 200, then `Content-Range`, whether the
/// file was just opened or came from the cache.
#[test]
fn range_response_headers_are_exact_when_opened_and_when_cached() {
    let s = site();
    let mut c = s.connect();
    for _ in 0..2 {
        c.write(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-4\r\n\r\n");
        let r = c.read_response(false);
        assert_eq!(r.status, 206);
        assert_eq!(
            header_lines(&r),
            [
                ("Server", "webserv"),
                ("Date", "-"),
                ("Content-Length", "5"),
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Last-Modified", MTIME_HTTP),
                ("ETag", "\"2ebc98a1-c\""),
                ("Accept-Ranges", "bytes"),
                ("Content-Range", "bytes 0-4/12"),
            ]
        );
        assert_eq!(r.body, &HELLO[..5]);
    }
}

#[test]
fn if_none_match_exact_gives_304_and_connection_continues() {
    let s = site();
    let mut c = s.connect();
    c.write(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"2ebc98a1-c\"\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.status, 304);
    assert_eq!(r.h("etag"), "\"2ebc98a1-c\"");
    assert!(r.header("content-length").is_none_or(|v| v == "12"));
    // No body after a 304: the next response on the connection starts right away.
    c.write(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, HELLO);
}

#[test]
fn if_none_match_star_and_list() {
    let s = site();
    assert_eq!(s.get_with("/a.txt", "If-None-Match: *\r\n").status, 304);
    assert_eq!(
        s.get_with("/a.txt", "If-None-Match: \"nope\", \"2ebc98a1-c\"\r\n")
            .status,
        304
    );
    assert_eq!(
        s.get_with("/a.txt", "If-None-Match: W/\"2ebc98a1-c\"\r\n")
            .status,
        304
    );
    let r = s.get_with("/a.txt", "If-None-Match: \"nope\", \"2ebc98a1-d\"\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, HELLO);
}

#[test]
fn if_modified_since() {
    let s = site();
    let r = s.get_with("/a.txt", &format!("If-Modified-Since: {MTIME_HTTP}\r\n"));
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    let r = s.get_with(
        "/a.txt",
        "If-Modified-Since: Sat, 05 Nov 1994 08:49:37 GMT\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, HELLO);
    // If-None-Match takes precedence: a mismatching tag means 200 even if not modified.
    let r = s.get_with(
        "/a.txt",
        &format!("If-None-Match: \"other\"\r\nIf-Modified-Since: {MTIME_HTTP}\r\n"),
    );
    assert_eq!(r.status, 200);
}

#[test]
fn single_range_is_206() {
    let s = site();
    let r = s.get_with("/a.txt", "Range: bytes=2-5\r\n");
    assert_eq!(r.status, 206);
    assert_eq!(r.h("content-range"), "bytes 2-5/12");
    assert_eq!(r.h("content-length"), "4");
    assert_eq!(r.body, b"llo ");
    // Open-ended.
    let r = s.get_with("/a.txt", "Range: bytes=6-\r\n");
    assert_eq!(r.status, 206);
    assert_eq!(r.h("content-range"), "bytes 6-11/12");
    assert_eq!(r.body, b"world\n");
}

#[test]
fn suffix_range() {
    let s = site();
    let r = s.get_with("/a.txt", "Range: bytes=-3\r\n");
    assert_eq!(r.status, 206);
    assert_eq!(r.h("content-range"), "bytes 9-11/12");
    assert_eq!(r.body, b"ld\n");
}

#[test]
fn unsatisfiable_range_is_416() {
    let s = site();
    let r = s.get_with("/a.txt", "Range: bytes=100-\r\n");
    assert_eq!(r.status, 416);
    assert_eq!(r.h("content-range"), "bytes */12");
    assert!(!r.body.windows(HELLO.len()).any(|w| w == HELLO));
}

#[test]
fn head_has_get_headers_and_no_body() {
    let s = site();
    let get = s.get("/a.txt");
    let mut c = s.connect();
    c.write(b"HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = c.read_response(true);
    assert_eq!(head.status, 200);
    for name in [
        "content-type",
        "content-length",
        "last-modified",
        "etag",
        "accept-ranges",
    ] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    assert_eq!(head.h("content-length"), "12");
    // No body bytes: the next response on the same connection parses cleanly.
    c.write(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"<h1>home</h1>\n");
    assert!(c.leftover().is_empty());
}

#[test]
fn large_file_arrives_byte_exact() {
    let data = random_bytes(3 * 1024 * 1024 + 17, 0x9e37_79b9_7f4a_7c15);
    let s = Site::new(&basic_conf(""), &[("www/big.bin", &data)]);
    let mut c = s.connect();
    c.write(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-length"), data.len().to_string());
    assert!(r.body == data, "large body differs");
    // A range deep inside it, on the same connection (sendfile with an offset).
    c.write(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=2000000-2100000\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.status, 206);
    assert_eq!(
        r.h("content-range"),
        format!("bytes 2000000-2100000/{}", data.len())
    );
    assert!(r.body == data[2_000_000..=2_100_000], "range body differs");
}

#[test]
fn directory_without_slash_redirects() {
    let s = site();
    let r = s.get("/dir");
    assert_eq!(r.status, 301);
    assert_eq!(r.h("location"), "/dir/");
    let r = s.get("/dir?x=1");
    assert_eq!(r.status, 301);
    assert_eq!(r.h("location"), "/dir/?x=1");
}

#[test]
fn index_file_served() {
    let s = site();
    let r = s.get("/dir/");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"dir index\n");
    assert_eq!(r.h("content-type"), "text/html; charset=utf-8");
    let r = s.get("/");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"<h1>home</h1>\n");
}

#[test]
fn autoindex_escapes_names_and_lists_dirs_first() {
    let s = site();
    let r = s.get("/list/");
    assert_eq!(r.status, 200);
    assert!(r.h("content-type").starts_with("text/html"));
    let html = r.text();
    assert!(
        html.contains("&lt;b&gt;&amp;x.txt"),
        "escaped name missing:\n{html}"
    );
    assert!(!html.contains("<b>"), "unescaped name in listing:\n{html}");
    let dir = html.find("zdir/").expect("zdir listed");
    let a = html.find("a.txt").expect("a.txt listed");
    let x = html.find("&lt;b&gt;").unwrap();
    assert!(dir < a && dir < x, "directories must come first:\n{html}");
    // The escaped name links to the file, which can be fetched.
    let r = s.get("/list/%3Cb%3E%26x.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"xx");
}

#[test]
fn directory_without_index_and_autoindex_off_is_403() {
    let s = site();
    let r = s.get("/noindex/");
    assert_eq!(r.status, 403);
}

#[test]
fn missing_file_is_404_with_builtin_page() {
    let s = site();
    let r = s.get("/nope.txt");
    assert_eq!(r.status, 404);
    assert_eq!(r.h("content-type"), "text/html; charset=utf-8");
    assert!(r.text().contains("404"), "{}", r.text());
    assert_eq!(r.h("content-length"), r.body.len().to_string());
}

#[test]
fn custom_error_page_keeps_status() {
    let s = site();
    let r = s.get("/custom/nope");
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"<p>custom not found</p>\n");
    assert_eq!(r.h("content-type"), "text/html; charset=utf-8");
}

#[test]
fn return_redirect_sets_location() {
    let s = site();
    let r = s.get("/old");
    assert_eq!(r.status, 301);
    assert_eq!(r.h("location"), "https://example.com/new");
}

#[test]
fn return_code_with_text_body() {
    let s = site();
    let r = s.get("/forbidden");
    assert_eq!(r.status, 403);
    assert_eq!(r.body, b"go away");
}

#[test]
fn server_level_return() {
    let s = Site::new(
        &basic_conf("    return 302 http://elsewhere.example/;\n    location / { }"),
        &[("www/index.html", b"x")],
    );
    for path in ["/", "/index.html", "/anything"] {
        let r = s.get(path);
        assert_eq!(r.status, 302, "{path}");
        assert_eq!(r.h("location"), "http://elsewhere.example/", "{path}");
    }
}

#[test]
fn root_appends_and_alias_replaces() {
    let s = site();
    let r = s.get("/al/f.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"from alias\n");
    let r = s.get("/rt/f.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"from root\n");
}

#[test]
fn nested_locations() {
    let s = site();
    assert_eq!(s.get("/n/deep/x").text(), "inner");
    assert_eq!(s.get("/n/x").text(), "outer");
    assert_eq!(s.get("/exact").text(), "exact");
}

#[test]
fn regex_locations() {
    let s = site();
    // A regex beats a (non-^~) prefix.
    let r = s.get("/r/x.php");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"php");
    // Case-insensitive regex.
    assert_eq!(s.get("/r/photo.jpg").text(), "jpg");
    // Case-sensitive regex does not match another case.
    assert_eq!(s.get("/r/x.PHP").status, 404);
    // ^~ stops the regex search.
    let r = s.get("/static/x.php");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"static php source");
}

#[test]
fn range_edge_cases() {
    let s = site();
    // Malformed or multiple ranges: the whole file (RFC 9110 allows ignoring Range).
    for range in ["bytes=abc", "bytes=5-2", "items=0-1"] {
        let r = s.get_with("/a.txt", &format!("Range: {range}\r\n"));
        assert_eq!(r.status, 200, "{range}");
        assert_eq!(r.body, HELLO, "{range}");
    }
    // A range past the end is clamped.
    let r = s.get_with("/a.txt", "Range: bytes=10-500\r\n");
    assert_eq!(r.status, 206);
    assert_eq!(r.h("content-range"), "bytes 10-11/12");
    assert_eq!(r.body, b"d\n");
    // If-Range with the current ETag: the range applies; with another: the whole file.
    let r = s.get_with("/a.txt", "Range: bytes=0-4\r\nIf-Range: \"2ebc98a1-c\"\r\n");
    assert_eq!((r.status, r.body.as_slice()), (206, &b"hello"[..]));
    let r = s.get_with("/a.txt", "Range: bytes=0-4\r\nIf-Range: \"old\"\r\n");
    assert_eq!((r.status, r.body.as_slice()), (200, HELLO));
}

#[test]
fn query_is_ignored_and_percent_encoding_decoded() {
    let s = Site::new(
        &basic_conf(""),
        &[("www/my file.txt", b"spaced"), ("www/a.txt", HELLO)],
    );
    let r = s.get("/a.txt?x=1&y=../../secret.txt");
    assert_eq!((r.status, r.body.as_slice()), (200, HELLO));
    let r = s.get("/my%20file.txt");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"spaced"[..]));
    let r = s.get("/%61.txt");
    assert_eq!((r.status, r.body.as_slice()), (200, HELLO));
}

#[test]
fn file_with_trailing_slash_is_404() {
    let s = site();
    assert_eq!(s.get("/a.txt/").status, 404);
}

#[test]
fn head_of_error_and_large_file_have_no_body() {
    let data = random_bytes(200_000, 7);
    let s = Site::new(&basic_conf(""), &[("www/big.bin", &data)]);
    let mut c = s.connect();
    c.write(b"HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\nHEAD /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n");
    let r = c.read_response(true);
    assert_eq!((r.status, r.h("content-length")), (200, "200000"));
    let r = c.read_response(true);
    assert_eq!(r.status, 404);
    let r = c.read_response(false);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, data[..10]);
}

#[test]
fn client_abandoning_a_large_download_does_not_hurt_the_server() {
    let data = random_bytes(4 * 1024 * 1024, 11);
    let s = Site::new(
        &basic_conf(""),
        &[("www/big.bin", &data), ("www/a.txt", HELLO)],
    );
    for _ in 0..3 {
        let mut c = s.connect();
        c.write(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut first = [0u8; 1024];
        std::io::Read::read(&mut c.sock, &mut first).unwrap();
        drop(c);
    }
    let r = s.get("/a.txt");
    assert_eq!((r.status, r.body.as_slice()), (200, HELLO));
}

#[test]
fn alias_without_trailing_slash_cannot_climb_out() {
    // The classic nginx misconfiguration: `location /al { alias dir/; }` and
    // `/al../x` mapping to `dir/../x`. The spec forbids leaving the alias root.
    let s = Site::new(
        &basic_conf("    location /al {\n        alias www/aliased/;\n    }"),
        &[
            ("www/aliased/f.txt", b"from alias\n"),
            ("www/private.txt", b"PRIVATE-OUTSIDE-ALIAS"),
        ],
    );
    let r = s.get("/al/f.txt");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"from alias\n"[..]));
    for target in [
        "/al../private.txt",
        "/al..%2fprivate.txt",
        "/al%2e%2e/private.txt",
    ] {
        let r = s.get(target);
        assert_ne!(r.status, 200, "{target}");
        assert!(
            find(&r.body, b"PRIVATE-OUTSIDE-ALIAS").is_none(),
            "{target} escaped the alias"
        );
    }
}

#[test]
fn error_page_variants() {
    let s = Site::new(
        &basic_conf(
            "    error_page 403 /errors/403.html;\n    location / { }\n    location /gone/ {\n        error_page 404 /errors/missing.html;\n    }\n    location /plain404 {\n        return 404;\n    }\n    location /empty200 {\n        return 200;\n    }",
        ),
        &[
            ("www/errors/403.html", b"custom forbidden"),
            ("www/noindex/f.txt", b"f"),
        ],
    );
    // Server-level error_page applies to a 403 from a location that does not set it.
    let r = s.get("/noindex/");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (403, &b"custom forbidden"[..])
    );
    // An error_page whose file is missing falls back to the built-in page.
    let r = s.get("/gone/x");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("404"), "{}", r.text());
    // `return 404` without text: the built-in page (with the same error_page rules).
    let r = s.get("/plain404");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("404"));
    let r = s.get("/empty200");
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
}

#[test]
fn conditional_headers_edge_cases() {
    let s = site();
    // An unparsable date is ignored.
    let r = s.get_with("/a.txt", "If-Modified-Since: yesterday\r\n");
    assert_eq!(r.status, 200);
    // Conditionals do not turn a 404 into a 304.
    let r = s.get_with("/nope.txt", "If-None-Match: *\r\n");
    assert_eq!(r.status, 404);
    // Every response carries Date and Server.
    let r = s.get("/a.txt");
    assert!(r.h("date").ends_with(" GMT"), "{}", r.h("date"));
}

#[test]
fn http10_request_gets_http11_response() {
    let s = site();
    let r = s.send(b"GET /a.txt HTTP/1.0\r\n\r\n");
    assert_eq!(r.version, "HTTP/1.1");
    assert_eq!(r.body, HELLO);
}
