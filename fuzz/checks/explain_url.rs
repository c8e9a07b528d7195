//! `explain`'s URL argument (`report::parse_url`), the input being the URL. Properties:
//!
//! - It reads a URL as the server reads the same request-target: a URL starting with `/`,
//!   `http://` or `https://`, or `*`, is accepted exactly when the server takes it,
//!   whole, as the target of `GET <url> HTTP/1.1` (`OPTIONS * HTTP/1.1` for `*`), and
//!   then the host (lower-cased), port, decoded path and query are the server's.
//! - The path is normalised (starts with `/`, no empty, `.` or `..` segment), or `*`.
//! - Host, port, path (percent-encoded again) and query, put back together as a URL,
//!   parse to the same target.

use webserv::report::{Target, parse_url};
use webserv::server::http::request::{HeadLimits, parse_head};

pub fn check(data: &[u8]) {
    let Ok(url) = std::str::from_utf8(data) else {
        return;
    };
    let got = parse_url(url);
    let form = url == "*"
        || url.starts_with('/')
        || url.starts_with("http://")
        || url.starts_with("https://");
    match (&got, server(url)) {
        (Ok(t), Some(s)) => assert_eq!(t, &s, "explain and the server read {url:?} differently"),
        (Ok(t), None) => panic!("explain takes {url:?} ({t:?}), the server refuses it"),
        (Err(e), Some(s)) if form => {
            panic!("explain refuses {url:?} ({e}), the server takes it: {s:?}")
        }
        (Err(_), _) => {}
    }
    let Ok(t) = got else { return };
    assert!(t.path.starts_with('/') || t.path == "*", "{t:?}");
    for seg in t.path.get(1..).unwrap_or("").split('/').rev().skip(1) {
        assert!(!matches!(seg, "" | "." | ".."), "{t:?}");
    }
    let again = unparse(&t);
    assert_eq!(
        parse_url(&again).as_ref(),
        Ok(&t),
        "{url:?} put back together as {again:?}"
    );
}

/// What the server makes of `url` as the request-target of a GET (of an OPTIONS for
/// `*`), if it takes it whole.
fn server(url: &str) -> Option<Target> {
    let method = if url == "*" { "OPTIONS" } else { "GET" };
    let raw = format!("{method} {url} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let (head, n) = parse_head(raw.as_bytes(), &HeadLimits::default()).ok()??;
    if n != raw.len() || head.target() != url {
        return None;
    }
    let (host, port) = match (head.absolute_host(), head.effective_host()) {
        (Some(a), Some(h)) => (Some(h.to_owned()), a[h.len()..].strip_prefix(':')),
        _ => (None, None),
    };
    Some(Target {
        host,
        port: port
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().expect("a validated port")),
        path: head.path().to_owned(),
        query: head.query().map(str::to_owned),
    })
}

/// `t` as a URL: the path's bytes outside RFC 3986 `pchar` and `/` percent-encoded.
fn unparse(t: &Target) -> String {
    let mut out = String::new();
    if let Some(h) = &t.host {
        out.push_str("http://");
        out.push_str(h);
        if let Some(p) = t.port {
            out.push_str(&format!(":{p}"));
        }
    }
    for b in t.path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if let Some(q) = &t.query {
        out.push('?');
        out.push_str(q);
    }
    out
}
