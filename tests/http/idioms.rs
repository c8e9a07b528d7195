//! The nginx idioms over real sockets: variables in `return`, `try_files`, `allow` and
//! `deny`, `auth_basic`, `add_header`, `expires`, `error_page =code`, `types` and
//! `default_type`. The expectations are nginx's (see README, "nginx idioms").

use base64::Engine as _;

use crate::common::*;

const CONF: &str = r#"
server {
    listen 127.0.0.1:8080;
    server_name site.example;
    root www;
    add_header X-Frame-Options DENY;
    add_header X-Always yes always;

    location /go {
        return 301 https://$host$request_uri;
    }
    location /hello {
        return 200 "hi $arg_name from $remote_addr, $request_method $uri$is_args$args ua=$http_user_agent";
    }
    location /app/ {
        try_files $uri $uri/ /app/index.html;
    }
    location /strict/ {
        try_files $uri =404;
    }
    location /inner/ {
        allow 10.0.0.0/8;
        deny all;
    }
    location /local/ {
        allow 127.0.0.1;
        deny all;
    }
    location /private/ {
        auth_basic "Private \"area\"";
        auth_basic_user_file users.htpasswd;
        location /private/open/ {
            auth_basic off;
        }
    }
    location /cached/ {
        expires 1h;
    }
    location /never/ {
        expires -1;
    }
    location /forever/ {
        expires max;
    }
    location /epoch/ {
        expires epoch;
    }
    location /soft/ {
        error_page 404 =200 /soft/fallback.txt;
    }
    location /typed/ {
        default_type text/plain;
        types {
            text/markdown md;
        }
    }
    location /untyped/ {
        default_type application/x-unknown;
    }
    location /noadd/ {
        add_header X-Only here;
    }
}
"#;

/// Hashes made by `htpasswd` (apache2-utils): apr1 (the default) and bcrypt (`-B`).
const USERS: &str = "alice:$apr1$k0wpuOjU$.qUttkSKW7uIbWeekea9s1\n\
bob:$2y$05$OJ5RLeWIOUld3BQMgZIIVOIlu5B97CJwDJq9z1lkBDDZvGop0aCay\n";

fn site() -> Site {
    Site::new(
        CONF,
        &[
            ("users.htpasswd", USERS.as_bytes()),
            ("www/app/index.html", b"<h1>app</h1>"),
            ("www/app/logo.png", b"PNG"),
            ("www/app/docs/index.html", b"docs"),
            ("www/strict/here.txt", b"here"),
            ("www/inner/x.txt", b"x"),
            ("www/local/x.txt", b"local"),
            ("www/private/x.txt", b"secret"),
            ("www/private/open/x.txt", b"open"),
            ("www/cached/a.css", b"a{}"),
            ("www/never/a.txt", b"n"),
            ("www/forever/a.txt", b"f"),
            ("www/epoch/a.txt", b"e"),
            ("www/soft/fallback.txt", b"fallback"),
            ("www/typed/readme.md", b"# md"),
            ("www/typed/page.html", b"<p>"),
            ("www/typed/LICENSE", b"MIT"),
            ("www/untyped/blob", b"?"),
            ("www/noadd/a.txt", b"a"),
        ],
    )
}

fn all<'a>(r: &'a Response, name: &str) -> Vec<&'a str> {
    r.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

#[test]
fn return_expands_variables() {
    let s = site();
    let r = s.send(b"GET /go/x?y=1&z HTTP/1.1\r\nHost: Site.Example:8080\r\n\r\n");
    assert_eq!(r.status, 301);
    assert_eq!(r.h("location"), "https://site.example/go/x?y=1&z");
    let r = s.get_with("/hello?name=ann", "User-Agent: t/1\r\n");
    assert_eq!(r.status, 200);
    // A `return` body's type is `default_type`, as nginx's.
    assert_eq!(r.h("content-type"), "application/octet-stream");
    assert_eq!(
        r.text(),
        "hi ann from 127.0.0.1, GET /hello?name=ann ua=t/1"
    );
}

#[test]
fn try_files_serves_the_file_the_directory_or_the_fallback() {
    let s = site();
    // The file itself.
    let r = s.get("/app/logo.png");
    assert_eq!((r.status, r.body.as_slice()), (200, b"PNG".as_slice()));
    assert_eq!(r.h("content-type"), "image/png");
    // `$uri/` tests for a directory; as in nginx, the request goes on without the
    // slash: `/app/docs` gets the 301 that adds it, `/app/docs/` its index.
    let r = s.get("/app/docs");
    assert_eq!((r.status, r.h("location")), (301, "/app/docs/"));
    let r = s.get("/app/docs/");
    assert_eq!((r.status, r.text().as_str()), (200, "docs"));
    // The SPA fallback: an internal redirect, the answer is the index.
    let r = s.get("/app/users/42?tab=1");
    assert_eq!((r.status, r.text().as_str()), (200, "<h1>app</h1>"));
    assert_eq!(r.h("content-type"), "text/html; charset=utf-8");
    // `=404`.
    assert_eq!(s.get("/strict/here.txt").status, 200);
    assert_eq!(s.get("/strict/gone.txt").status, 404);
}

#[test]
fn allow_and_deny_check_the_client_address_in_order() {
    let s = site();
    let r = s.get("/inner/x.txt");
    assert_eq!(r.status, 403);
    let r = s.get("/local/x.txt");
    assert_eq!((r.status, r.text().as_str()), (200, "local"));
}

fn basic(user: &str, pw: &str) -> String {
    let t = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
    format!("Authorization: Basic {t}\r\n")
}

#[test]
fn auth_basic_asks_and_checks_htpasswd_users() {
    let s = site();
    let r = s.get("/private/x.txt");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.h("www-authenticate"),
        "Basic realm=\"Private \\\"area\\\"\""
    );
    assert_eq!(r.h("x-always"), "yes");
    assert_eq!(r.header("x-frame-options"), None, "not on a 401");
    let r = s.get_with("/private/x.txt", &basic("alice", "apple-pie"));
    assert_eq!((r.status, r.text().as_str()), (200, "secret"));
    let r = s.get_with("/private/x.txt", &basic("bob", "b0b's secret"));
    assert_eq!(r.status, 200);
    let r = s.get_with("/private/x.txt", &basic("alice", "apple-pi"));
    assert_eq!(r.status, 401);
    let r = s.get_with("/private/x.txt", &basic("mallory", "apple-pie"));
    assert_eq!(r.status, 401);
    // `auth_basic off` in a nested location.
    let r = s.get("/private/open/x.txt");
    assert_eq!((r.status, r.text().as_str()), (200, "open"));
}

#[test]
fn add_header_goes_on_success_and_redirects_and_always_on_everything() {
    let s = site();
    let r = s.get("/cached/a.css");
    assert_eq!(r.status, 200);
    assert_eq!(all(&r, "x-frame-options"), ["DENY"]);
    assert_eq!(all(&r, "x-always"), ["yes"]);
    let r = s.get("/go");
    assert_eq!(r.status, 301);
    assert_eq!(all(&r, "x-frame-options"), ["DENY"]);
    let r = s.get("/cached/missing.css");
    assert_eq!(r.status, 404);
    assert_eq!(all(&r, "x-frame-options"), Vec::<&str>::new());
    assert_eq!(all(&r, "x-always"), ["yes"]);
    // 304 gets them too.
    let etag = s.get("/cached/a.css").h("etag").to_string();
    let r = s.get_with("/cached/a.css", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!(r.status, 304);
    assert_eq!(all(&r, "x-frame-options"), ["DENY"]);
    // An inner block's add_header replaces the outer ones, as in nginx.
    let r = s.get("/noadd/a.txt");
    assert_eq!(all(&r, "x-only"), ["here"]);
    assert_eq!(all(&r, "x-frame-options"), Vec::<&str>::new());
    assert_eq!(all(&r, "x-always"), Vec::<&str>::new());
}

#[test]
fn expires_writes_expires_and_cache_control_as_nginx() {
    let s = site();
    let r = s.get("/cached/a.css");
    assert_eq!(r.h("cache-control"), "max-age=3600");
    let date = httpdate(r.h("date"));
    assert_eq!(httpdate(r.h("expires")) - date, 3600);
    let r = s.get("/never/a.txt");
    assert_eq!(r.h("cache-control"), "no-cache");
    assert_eq!(httpdate(r.h("expires")) - httpdate(r.h("date")), -1);
    let r = s.get("/forever/a.txt");
    assert_eq!(r.h("cache-control"), "max-age=315360000");
    assert_eq!(r.h("expires"), "Thu, 31 Dec 2037 23:55:55 GMT");
    let r = s.get("/epoch/a.txt");
    assert_eq!(r.h("cache-control"), "no-cache");
    assert_eq!(r.h("expires"), "Thu, 01 Jan 1970 00:00:01 GMT");
    // Not on errors.
    let r = s.get("/cached/none.css");
    assert_eq!(r.status, 404);
    assert_eq!(r.header("cache-control"), None);
}

/// Seconds since the epoch of an IMF-fixdate (a small parser: the code under test's is
/// not used).
fn httpdate(s: &str) -> i64 {
    let p: Vec<&str> = s.split([' ', ':']).collect();
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (d, m, y): (i64, i64, i64) = (
        p[1].parse().unwrap(),
        months.iter().position(|x| *x == p[2]).unwrap() as i64 + 1,
        p[3].parse().unwrap(),
    );
    let (h, mi, se): (i64, i64, i64) = (
        p[4].parse().unwrap(),
        p[5].parse().unwrap(),
        p[6].parse().unwrap(),
    );
    let (y2, m2) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    let days = 365 * y2 + y2 / 4 - y2 / 100 + y2 / 400 + (153 * (m2 - 3) + 2) / 5 + d - 719_469;
    days * 86_400 + h * 3600 + mi * 60 + se
}

#[test]
fn error_page_can_set_the_status() {
    let s = site();
    let r = s.get("/soft/nothing-here");
    assert_eq!((r.status, r.text().as_str()), (200, "fallback"));
}

#[test]
fn types_replace_the_table_and_default_type_fills_in() {
    let s = site();
    assert_eq!(
        s.get("/typed/readme.md").h("content-type"),
        "text/markdown; charset=utf-8"
    );
    // The block's own table replaces the built-in one: html is unknown there.
    assert_eq!(
        s.get("/typed/page.html").h("content-type"),
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        s.get("/typed/LICENSE").h("content-type"),
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        s.get("/untyped/blob").h("content-type"),
        "application/x-unknown"
    );
}

#[test]
fn a_405_page_says_which_methods_are_allowed() {
    let s = site();
    let r = s.send(b"DELETE /cached/a.css HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 405);
    assert_eq!(r.h("allow"), "GET, HEAD");
    assert!(
        r.text().contains("Allowed here: GET, HEAD."),
        "{}",
        r.text()
    );
}

const GZ_CONF: &str = r#"
server {
    listen 127.0.0.1:8080;
    root www;
    gzip on;
    gzip_types text/css;
    gzip_min_length 100;
    location /pre/ {
        gzip off;
        gzip_static on;
    }
    location /list/ {
        autoindex on;
    }
}
"#;

fn gunzip(b: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .expect("a gzip body");
    out
}

fn gz_site() -> (Site, Vec<u8>) {
    let css = b"body { color: #333; margin: 0 auto; }\n".repeat(3000);
    let s = Site::new(
        GZ_CONF,
        &[
            ("www/big.css", &css),
            ("www/tiny.css", b"a{}"),
            ("www/image.png", &css),
            ("www/page.html", &css),
            ("www/pre/app.js", b"original"),
            ("www/pre/app.js.gz", b"\x1f\x8bpretend"),
            ("www/pre/plain.js", b"plain"),
            ("www/list/a.txt", b"a"),
        ],
    );
    (s, css)
}

#[test]
fn gzip_compresses_listed_types_once_and_keeps_them() {
    let (s, css) = gz_site();
    let accept = "Accept-Encoding: br, gzip;q=0.8\r\n";
    let r = s.get_with("/big.css", accept);
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-encoding"), "gzip");
    assert_eq!(r.h("vary"), "Accept-Encoding");
    assert_eq!(r.h("content-type"), "text/css; charset=utf-8");
    assert!(r.h("etag").starts_with("W/\""), "{}", r.h("etag"));
    assert_eq!(r.header("accept-ranges"), None);
    assert_eq!(
        r.h("content-length").parse::<usize>().unwrap(),
        r.body.len()
    );
    assert_eq!(gunzip(&r.body), css);
    // The same bytes again (from the worker's compressed cache), and a 304 for its tag.
    let again = s.get_with("/big.css", accept);
    assert_eq!(again.body, r.body);
    let etag = r.h("etag").to_string();
    let r304 = s.get_with("/big.css", &format!("{accept}If-None-Match: {etag}\r\n"));
    assert_eq!(r304.status, 304);
    // A client that does not accept gzip gets the file, and Vary.
    let plain = s.get_with("/big.css", "Accept-Encoding: gzip;q=0\r\n");
    assert_eq!(plain.body, css);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.h("vary"), "Accept-Encoding");
    // Never a range, never a small body, never an unlisted type.
    let range = s.get_with("/big.css", &format!("{accept}Range: bytes=0-9\r\n"));
    assert_eq!(range.status, 206);
    assert_eq!(range.body, &css[..10]);
    assert_eq!(range.header("content-encoding"), None);
    let tiny = s.get_with("/tiny.css", accept);
    assert_eq!(
        (tiny.body.as_slice(), tiny.header("content-encoding")),
        (b"a{}".as_slice(), None)
    );
    let png = s.get_with("/image.png", accept);
    assert_eq!(png.header("content-encoding"), None);
    assert_eq!(png.header("vary"), None);
    // text/html is always compressed when gzip is on.
    let html = s.get_with("/page.html", accept);
    assert_eq!(html.h("content-encoding"), "gzip");
    assert_eq!(gunzip(&html.body), css);
}

#[test]
fn gzip_static_serves_the_gz_beside_the_file() {
    let (s, _) = gz_site();
    let r = s.get_with("/pre/app.js", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"\x1f\x8bpretend");
    assert_eq!(r.h("content-encoding"), "gzip");
    assert_eq!(r.h("content-type"), "text/javascript; charset=utf-8");
    assert_eq!(r.h("vary"), "Accept-Encoding");
    let r = s.get("/pre/app.js");
    assert_eq!(
        (r.body.as_slice(), r.header("content-encoding")),
        (b"original".as_slice(), None)
    );
    // No .gz beside it: the file.
    let r = s.get_with("/pre/plain.js", "Accept-Encoding: gzip\r\n");
    assert_eq!(
        (r.body.as_slice(), r.header("content-encoding")),
        (b"plain".as_slice(), None)
    );
}

#[test]
fn gzip_compresses_the_pages_webserv_writes() {
    let (s, _) = gz_site();
    let r = s.get_with("/list/", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-encoding"), "gzip");
    let html = String::from_utf8(gunzip(&r.body)).unwrap();
    assert!(html.contains("<a href=\"a.txt\">a.txt</a>"), "{html}");
    let r = s.get_with("/nothing", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.status, 404);
    assert!(
        String::from_utf8(gunzip(&r.body))
            .unwrap()
            .contains("404 Not Found")
    );
}

/// A script's output is compressed as it streams when its type is one `gzip` applies to
/// (the script's own Content-Length dropped: the body is chunked).
#[test]
fn gzip_compresses_cgi_output_of_listed_types() {
    let html = "printf 'Content-Type: text/html\\r\\nContent-Length: 6000\\r\\n\\r\\n'\ni=0\nwhile [ $i -lt 600 ]; do printf 'line %04d\\n' $i; i=$((i+1)); done\n";
    let png = "printf 'Content-Type: image/png\\r\\n\\r\\n'\nprintf 'not really a png, long enough to be over the minimum length of gzip here'\n";
    let s = Site::new(
        "server {\n    listen 127.0.0.1:8080;\n    root www;\n    gzip on;\n    location /cgi/ { cgi .sh /bin/sh; }\n}\n",
        &[
            ("www/cgi/page.sh", html.as_bytes()),
            ("www/cgi/png.sh", png.as_bytes()),
        ],
    );
    let r = s.get_with("/cgi/page.sh", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-encoding"), "gzip");
    assert_eq!(r.h("vary"), "Accept-Encoding");
    assert_eq!(r.h("transfer-encoding"), "chunked");
    assert_eq!(r.header("content-length"), None);
    let body = String::from_utf8(gunzip(&r.body)).unwrap();
    assert_eq!(body.lines().count(), 600);
    assert!(body.starts_with("line 0000\nline 0001\n") && body.ends_with("line 0599\n"));
    // Without Accept-Encoding: the script's bytes and its length.
    let r = s.get("/cgi/page.sh");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.h("content-length"), "6000");
    // A type gzip does not apply to.
    let r = s.get_with("/cgi/png.sh", "Accept-Encoding: gzip\r\n");
    assert_eq!(r.header("content-encoding"), None);
}

/// Lines without variables are rendered once a second per block: two blocks asked in
/// turn on one connection keep their own lines, and a reload that changes them is seen
/// at once (the worker's rendering belongs to the table it came from).
#[test]
fn constant_added_lines_follow_their_block_and_reloads() {
    let conf = |value: &str| {
        format!(
            "server {{\n    listen 127.0.0.1:8080;\n    root www;\n    \
             location /a/ {{ add_header X-Block {value}-a; expires 1h; }}\n    \
             location /b/ {{ add_header X-Block {value}-b; }}\n}}\n"
        )
    };
    let s = Site::new(&conf("one"), &[("www/a/x", b"a"), ("www/b/x", b"b")]);
    let mut c = s.connect();
    let (a, b) = (
        b"GET /a/x HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /b/x HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    for _ in 0..3 {
        c.write(a);
        let r = c.response_to(a);
        assert_eq!(
            (r.h("x-block"), r.h("cache-control")),
            ("one-a", "max-age=3600")
        );
        c.write(b);
        let r = c.response_to(b);
        assert_eq!((r.h("x-block"), r.header("cache-control")), ("one-b", None));
    }
    // The worker takes the new table at its next wake-up.
    s.reload(&conf("two"));
    let reloaded = wait_until(std::time::Duration::from_secs(5), || {
        s.get("/a/x").h("x-block") == "two-a"
    });
    assert!(reloaded, "the new lines after a reload");
    let r = s.get("/b/x");
    assert_eq!(r.h("x-block"), "two-b");
}

/// As nginx: a request follows at most ten internal redirects; the eleventh is a
/// loop and answers 500.
#[test]
fn ten_internal_redirects_are_followed_and_the_eleventh_is_a_loop() {
    let mut conf = String::from("server {\n    listen 127.0.0.1:8080;\n    root www;\n");
    for i in 0..=10 {
        let next = i + 1;
        conf += &format!("    location = /hop{i} {{ try_files /none /hop{next}; }}\n");
    }
    conf += "    location = /hop11 { return 200 \"arrived\"; }\n}\n";
    let s = Site::new(&conf, &[]);
    let r = s.get("/hop1");
    assert_eq!((r.status, r.text().as_str()), (200, "arrived"));
    assert_eq!(s.get("/hop0").status, 500);
}

/// Files over the compressed cache's limit (8 MiB) are compressed as they are sent, as
/// nginx compresses every file: chunked for HTTP/1.1 (the connection goes on), ended by
/// the close for HTTP/1.0. The access log counts the compressed bytes.
#[test]
fn gzip_streams_files_too_large_to_keep_compressed() {
    let text = b"0123456789 the quick brown fox jumps over the lazy dog\n".repeat(160_000);
    assert!(text.len() as u64 > 8 << 20);
    let s = Site::new(
        "server {\n    listen 127.0.0.1:8080;\n    root www;\n    access_log logs/access.log;\n    \
         gzip on;\n    gzip_types text/plain;\n}\n",
        &[("www/big.txt", &text), ("logs/.keep", b"")],
    );
    let mut c = s.connect();
    let req = b"GET /big.txt HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n";
    c.write(req);
    let r = c.response_to(req);
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-encoding"), "gzip");
    assert_eq!(r.h("transfer-encoding"), "chunked");
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.h("vary"), "Accept-Encoding");
    assert_eq!(r.h("content-type"), "text/plain; charset=utf-8");
    assert!(r.h("etag").starts_with("W/\""), "{}", r.h("etag"));
    assert!(r.body.len() < text.len() / 20, "{} bytes", r.body.len());
    let compressed = r.body.len();
    assert_eq!(gunzip(&r.body), text);
    // The connection goes on after the last chunk; a range is never compressed.
    let range =
        b"GET /big.txt HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nRange: bytes=0-9\r\n\r\n";
    c.write(range);
    let r = c.response_to(range);
    assert_eq!((r.status, r.body.as_slice()), (206, &text[..10]));
    // HTTP/1.0: no chunks; the close ends the body.
    let r = s.send(b"GET /big.txt HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n");
    assert_eq!(r.h("content-encoding"), "gzip");
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.h("connection"), "close");
    assert_eq!(gunzip(&r.body), text);
    // Not accepted: the file as it is.
    let r = s.get("/big.txt");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.h("content-length"), text.len().to_string());
    assert!(r.body == text);
    // The log line of the first answer has the compressed size.
    let log = s.path("logs/access.log");
    assert!(wait_until(std::time::Duration::from_secs(5), || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.lines().count() >= 4)
    }));
    let first = std::fs::read_to_string(&log).unwrap();
    let first = first.lines().next().unwrap().to_string();
    assert!(
        first.contains(&format!("\"GET /big.txt HTTP/1.1\" 200 {compressed} ")),
        "{first}"
    );
}
