//! The request-head parser (`server::http::request::parse_head`) on any bytes, under the
//! default limits and under tiny ones that bring 414 and 431 within reach of short
//! inputs. Properties:
//!
//! - Incremental: the parser is called again on a growing buffer, so every prefix of the
//!   input gets an answer. Prefixes answer `Ok(None)` up to a point, and from there on
//!   every longer prefix gives the same definite answer; a complete head of `n` bytes is
//!   first seen at exactly `n`.
//! - A complete head ends with CRLFCRLF; its method, target and fields are exactly the
//!   text of its lines (a token, visible ASCII, one field per line with its value
//!   OWS-trimmed and free of controls but HTAB); its path is the reference decoding
//!   and normalisation of its target; host, query, framing, keep-alive and `Expect`
//!   agree with the fields; the limits hold.
//! - Re-serialised (method, target, version, fields), it parses to the same head.
//! - Parsed into the allocations of an earlier head (`parse_head_reusing`, as a worker
//!   does for the next request on a connection), the answer is the same as fresh.

use webserv::server::http::request::{
    BodyFraming, Expect, HeadBufs, HeadLimits, Method, RequestHead, Version, parse_head,
    parse_head_reusing,
};

/// Limits small enough that a short input can cross each of them.
const TINY: HeadLimits = HeadLimits {
    max_target: 24,
    max_head: 160,
    max_headers: 4,
};

/// Limits no re-serialised head reaches.
const HUGE: HeadLimits = HeadLimits {
    max_target: 1 << 30,
    max_head: 1 << 30,
    max_headers: 1 << 20,
};

/// Up to this length every prefix is parsed; beyond it, a spread of them plus those
/// around every byte that ends a token or a line.
const EVERY_PREFIX: usize = 1024;

pub fn check(data: &[u8]) {
    for limits in [HeadLimits::default(), TINY] {
        let full = parse_head(data, &limits);
        prefixes(data, &limits, &full);
        reusing(data, &limits, &full);
        if let Ok(Some((head, n))) = &full {
            complete(data, &limits, head, *n);
        }
    }
}

type Answer = Result<Option<(RequestHead, usize)>, webserv::server::http::request::HeadError>;

fn prefixes(data: &[u8], limits: &HeadLimits, full: &Answer) {
    let len = data.len();
    let mut lengths: Vec<usize> = if len <= EVERY_PREFIX {
        (0..len).collect()
    } else {
        let mut l: Vec<usize> = (0..len).step_by(len / 256 + 1).collect();
        for (i, &b) in data.iter().enumerate() {
            if matches!(b, b'\r' | b'\n' | b' ' | b':') {
                l.extend(i.saturating_sub(1)..(i + 3).min(len));
            }
        }
        l.sort_unstable();
        l.dedup();
        l
    };
    if let Ok(Some((_, n))) = full {
        // The decision point itself and the byte before it, whatever the spread.
        lengths.extend([n - 1, *n]);
        lengths.sort_unstable();
        lengths.dedup();
    }
    let mut decided: Option<(usize, Answer)> = None;
    for l in lengths {
        let r = parse_head(&data[..l], limits);
        match &decided {
            Some((at, d)) => assert_eq!(
                &r, d,
                "prefix of {l} bytes answers differently from the prefix of {at}"
            ),
            None if r != Ok(None) => decided = Some((l, r)),
            None => {}
        }
    }
    if let Some((at, d)) = &decided {
        assert_eq!(
            d, full,
            "the whole input answers differently from its prefix of {at} bytes"
        );
    }
    if let Ok(Some((_, n))) = full {
        let at = decided.as_ref().map(|(at, _)| *at);
        assert_eq!(
            at,
            Some(*n),
            "a complete head must be first seen at its length"
        );
    }
}

/// A head with derived text (a decoded path, lower-cased hosts) and more fields than
/// most: the next head parsed into its allocations must find nothing of it there.
const EARLIER: &[u8] = b"POST http://Earlier.example:81/%61/../b?q HTTP/1.1\r\n\
Host: Earlier.Example\r\nContent-Length: 7\r\nConnection: close\r\nExpect: 100-continue\r\n\
If-None-Match: \"x\"\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\n\r\n";

fn reusing(data: &[u8], limits: &HeadLimits, fresh: &Answer) {
    let mut bufs = HeadBufs::default();
    for earlier in [EARLIER, data] {
        if let Ok(Some((head, _))) = parse_head_reusing(earlier, &HUGE, &mut bufs) {
            bufs = head.into_bufs();
        }
        assert_eq!(
            &parse_head_reusing(data, limits, &mut bufs),
            fresh,
            "parsed into an earlier head's buffers"
        );
    }
}

/// What a head says, read through its accessors (comparable across two buffers).
#[derive(Debug, PartialEq)]
struct View {
    method: Method,
    method_str: String,
    target: String,
    path: String,
    query: Option<String>,
    version: Version,
    host: Option<String>,
    host_without_port: Option<String>,
    host_port: Option<u16>,
    absolute_host: Option<String>,
    effective_host: Option<String>,
    fields: Vec<(String, Vec<u8>)>,
    body: BodyFraming,
    keep_alive: bool,
    expect: Expect,
    conditional_or_range: bool,
}

fn view(h: &RequestHead) -> View {
    View {
        method: h.method,
        method_str: h.method_str().to_owned(),
        target: h.target().to_owned(),
        path: h.path().to_owned(),
        query: h.query().map(str::to_owned),
        version: h.version,
        host: h.host().map(str::to_owned),
        host_without_port: h.host_without_port().map(str::to_owned),
        host_port: h.host_port(),
        absolute_host: h.absolute_host().map(str::to_owned),
        effective_host: h.effective_host().map(str::to_owned),
        fields: h
            .headers()
            .map(|(n, v)| (n.to_owned(), v.to_vec()))
            .collect(),
        body: h.body,
        keep_alive: h.keep_alive,
        expect: h.expect,
        conditional_or_range: h.conditional_or_range,
    }
}

/// The head as a client would send it: request line, `name: value` lines, empty line.
fn serialise(v: &View) -> Vec<u8> {
    let mut out = format!("{} {} {}\r\n", v.method_str, v.target, v.version.as_str()).into_bytes();
    for (name, value) in &v.fields {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn complete(data: &[u8], limits: &HeadLimits, head: &RequestHead, n: usize) {
    assert!(n >= 4 && data[..n].ends_with(b"\r\n\r\n"), "{n}");
    let v = view(head);
    lines(&data[..n], &v);
    semantics(&v, limits);

    let again = serialise(&v);
    match parse_head(&again, &HUGE) {
        Ok(Some((h2, m))) => {
            assert_eq!(m, again.len(), "the re-serialised head is all head");
            assert_eq!(view(&h2), v, "the re-serialised head parses differently");
        }
        other => panic!(
            "the re-serialised head {:?} does not parse: {other:?}",
            String::from_utf8_lossy(&again)
        ),
    }
}

/// The head's text, split into lines by hand, says what the accessors say.
fn lines(head: &[u8], v: &View) {
    let mut text = head;
    while let Some(rest) = text.strip_prefix(b"\r\n") {
        text = rest;
    }
    // Every line CRLF-terminated, the empty line that ends the head left out.
    let mut lines: Vec<&[u8]> = text[..text.len() - 2].split(|&b| b == b'\n').collect();
    assert_eq!(lines.pop(), Some(&b""[..]));
    let request_line = format!("{} {} ", v.method_str, v.target);
    assert!(
        lines[0].starts_with(request_line.as_bytes()),
        "request line"
    );
    assert!(
        !v.method_str.is_empty() && v.method_str.bytes().all(tchar),
        "method {:?}",
        v.method_str
    );
    assert!(v.target.bytes().all(|b| b.is_ascii_graphic()), "target");
    assert_eq!(lines.len() - 1, v.fields.len(), "one field per line");
    for (line, (name, value)) in lines[1..].iter().zip(&v.fields) {
        let line = line.strip_suffix(b"\r").expect("CRLF");
        let colon = line.iter().position(|&b| b == b':').expect("a colon");
        assert_eq!(&line[..colon], name.as_bytes(), "field name");
        let mut raw = &line[colon + 1..];
        while let [b' ' | b'\t', rest @ ..] = raw {
            raw = rest;
        }
        while let [rest @ .., b' ' | b'\t'] = raw {
            raw = rest;
        }
        assert_eq!(raw, value.as_slice(), "field value of {name}");
        assert!(
            !name.is_empty() && name.bytes().all(tchar),
            "field name {name:?}"
        );
        assert!(
            !value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f),
            "control in {name}"
        );
    }
}

fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn semantics(v: &View, limits: &HeadLimits) {
    assert_eq!(v.method, Method::from_token(v.method_str.as_bytes()));
    assert!(v.target.len() <= limits.max_target);
    assert!(v.fields.len() <= limits.max_headers);
    let field = |name: &'static str| {
        v.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    };

    if v.target == "*" {
        assert_eq!((v.method, v.path.as_str()), (Method::Options, "*"));
        assert_eq!((&v.query, &v.absolute_host), (&None, &None));
    } else {
        let form = split_target(&v.target).expect("a target the parser took has a form");
        assert_eq!(v.query.as_deref(), form.query, "query");
        assert_eq!(
            v.absolute_host.as_deref(),
            form.authority.map(str::to_ascii_lowercase).as_deref(),
            "absolute-form host"
        );
        assert_eq!(
            Some(v.path.as_str()),
            reference_path(form.path).as_deref(),
            "path of {:?}",
            v.target
        );
    }

    assert_eq!(v.host.is_some(), field("host").next().is_some());
    assert!(field("host").count() <= 1, "two Host fields accepted");
    if let Some(h) = &v.host {
        let raw = field("host").next().expect("a Host field");
        assert_eq!(
            h.as_bytes(),
            raw.to_ascii_lowercase(),
            "Host is the field lower-cased"
        );
    }
    if v.version == Version::Http11 {
        assert!(v.host.is_some(), "HTTP/1.1 without Host accepted");
    }
    for h in [&v.host, &v.absolute_host].into_iter().flatten() {
        assert!(
            !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()),
            "{h:?}"
        );
        assert!(!h.bytes().any(|b| b.is_ascii_uppercase()), "{h:?}");
    }
    // `host[:port]`, a validated authority, split by hand.
    let split = |h: &str| -> (String, Option<u16>) {
        let at = if h.starts_with('[') {
            h.find(']').expect("a validated IPv6 literal") + 1
        } else {
            h.find(':').unwrap_or(h.len())
        };
        let port = h[at..].strip_prefix(':').filter(|p| !p.is_empty());
        (
            h[..at].to_owned(),
            port.map(|p| p.parse().expect("a validated port")),
        )
    };
    let effective = v.absolute_host.as_ref().or(v.host.as_ref());
    assert_eq!(v.effective_host, effective.map(|h| split(h).0));
    let (without_port, port) = v.host.as_deref().map(split).unzip();
    assert_eq!(v.host_without_port, without_port);
    assert_eq!(v.host_port, port.flatten());

    let te = field("transfer-encoding").next().is_some();
    let cl: Vec<&[u8]> = field("content-length").collect();
    match v.body {
        BodyFraming::Chunked => {
            assert!(te && cl.is_empty() && v.version == Version::Http11);
        }
        BodyFraming::Length(n) => {
            assert!(!te && !cl.is_empty());
            for value in cl {
                for e in value.split(|&b| b == b',') {
                    let e = e.trim_ascii();
                    assert!(e.iter().all(u8::is_ascii_digit), "{e:?}");
                    assert_eq!(
                        std::str::from_utf8(e).ok().and_then(|s| s.parse().ok()),
                        Some(n)
                    );
                }
            }
        }
        BodyFraming::None => assert!(!te && cl.is_empty()),
    }

    let tokens = |name: &'static str, token: &str| {
        field(name).any(|value| {
            value
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    };
    let close = tokens("connection", "close");
    let keep = tokens("connection", "keep-alive");
    let expected = !close && (v.version == Version::Http11 || keep);
    assert_eq!(v.keep_alive, expected, "keep-alive");
    if v.expect == Expect::Continue {
        assert_eq!(v.version, Version::Http11);
        assert!(tokens("expect", "100-continue"));
    }
    if v.expect != Expect::None {
        assert!(field("expect").next().is_some());
    }
    let cond = v.fields.iter().any(|(n, _)| {
        n.eq_ignore_ascii_case("range") || n.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("if-"))
    });
    assert_eq!(v.conditional_or_range, cond);
}

/// The parts of an origin- or absolute-form target.
struct Form<'a> {
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
}

fn split_target(t: &str) -> Option<Form<'_>> {
    let (authority, rest) = if t.starts_with('/') {
        (None, t)
    } else {
        let lower = t.get(..8).unwrap_or(t).to_ascii_lowercase();
        let skip = if lower.starts_with("http://") {
            7
        } else if lower.starts_with("https://") {
            8
        } else {
            return None;
        };
        let after = &t[skip..];
        let end = after.find(['/', '?']).unwrap_or(after.len());
        (Some(&after[..end]), &after[end..])
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    Some(Form {
        authority,
        path,
        query,
    })
}

/// Percent-decodes then resolves dot segments with a segment stack (RFC 3986 §5.2.4,
/// with `..` above the root refused); `None` where the server must refuse the path.
pub fn reference_path(raw: &str) -> Option<String> {
    if raw.is_empty() {
        return Some("/".into());
    }
    let mut bytes = Vec::new();
    let mut it = raw.bytes();
    while let Some(b) = it.next() {
        if b == b'%' {
            let hex = |c: Option<u8>| (c? as char).to_digit(16);
            let v = hex(it.next())? * 16 + hex(it.next())?;
            bytes.push(v as u8);
        } else {
            bytes.push(b);
        }
    }
    let decoded = String::from_utf8(bytes).ok()?;
    if decoded.contains('\0') || !decoded.starts_with('/') {
        return None;
    }
    let mut stack: Vec<&str> = Vec::new();
    let mut trailing = false;
    for seg in decoded[1..].split('/') {
        trailing = matches!(seg, "" | "." | "..");
        match seg {
            "" | "." => {}
            ".." => {
                stack.pop()?;
            }
            s => stack.push(s),
        }
    }
    let mut out = format!("/{}", stack.join("/"));
    if trailing && !stack.is_empty() {
        out.push('/');
    }
    Some(out)
}
