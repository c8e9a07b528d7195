//! HTTP/1.x request heads: request line, header section, framing and semantics.
//!
//! The parser is stateless over a caller-owned buffer (httparse style): call
//! [`parse_head`] whenever new bytes arrived; it either needs more bytes, or yields a
//! fully validated [`RequestHead`] plus the number of bytes it consumed, or an error
//! whose status the server answers before closing the connection.
//!
//! Line structure is checked by a hand-written pre-pass (exact CRLF everywhere, no
//! bare CR or LF, no NUL, no obs-fold, limits enforced while the head is still
//! incomplete so a slow client cannot grow the buffer); httparse then tokenises the
//! header fields with its strict defaults. The request line is parsed by hand because
//! httparse folds "unsupported version" (505) and "malformed version" (400) into one
//! error and does not know the limits that must trip before the line is complete.

use std::fmt;
use std::net::Ipv6Addr;

/// Size limits that bound what a client can make the server buffer for one head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Longest request-target in bytes; longer → 414.
    pub max_target: usize,
    /// Largest header section in bytes (the field lines after the request line,
    /// including the final empty line); larger → 431.
    pub max_head: usize,
    /// Most header field lines; more → 431.
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_target: 8192,
            max_head: 16384,
            max_headers: 128,
        }
    }
}

/// The request method. Methods are case-sensitive tokens (RFC 9110 §9.1), so `get` is
/// a syntactically valid but unknown method ([`Method::Other`], answered with 501).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Trace,
    Connect,
    Patch,
    /// A valid token that is none of the above; its text is [`RequestHead::method_str`].
    Other,
}

impl Method {
    /// Maps a method token to the enum (exact, case-sensitive match).
    pub fn from_token(token: &[u8]) -> Method {
        match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"OPTIONS" => Method::Options,
            b"TRACE" => Method::Trace,
            b"CONNECT" => Method::Connect,
            b"PATCH" => Method::Patch,
            _ => Method::Other,
        }
    }

    /// The canonical token. `Other` has no fixed text and yields `"OTHER"`: use
    /// [`RequestHead::method_str`] for the text the client actually sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Connect => "CONNECT",
            Method::Patch => "PATCH",
            Method::Other => "OTHER",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Protocol version of an accepted request. `HTTP/1.2`..`HTTP/1.9` are served as 1.1
/// (RFC 9110 §6.2: same major version, highest minor we implement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// How the request body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// Neither Content-Length nor Transfer-Encoding: no body (POST/PUT → 411 is the
    /// caller's decision).
    None,
    /// `Content-Length` (possibly 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`; decode with [`super::body::ChunkedDecoder`].
    Chunked,
}

/// What the `Expect` header asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    None,
    /// `100-continue` from an HTTP/1.1 client: send `100 Continue` (or the final
    /// error status) before reading the body.
    Continue,
    /// Any other expectation: answer 417.
    Unsupported,
}

/// A head the server must reject. Every such error means: send `status`, then close
/// the connection (the framing of whatever follows cannot be trusted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadError {
    pub status: u16,
    pub reason: &'static str,
}

impl HeadError {
    pub const fn new(status: u16, reason: &'static str) -> Self {
        HeadError { status, reason }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.reason)
    }
}

impl std::error::Error for HeadError {}

const fn bad(reason: &'static str) -> HeadError {
    HeadError::new(400, reason)
}

/// Byte range into [`RequestHead`]'s private copy of the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field {
    name: Span,
    value: Span,
}

/// A validated request head. Text the client sent (method, target, header fields) and
/// what the parser derived from it (the decoded path, the lower-cased host) live in one
/// private buffer and are exposed through accessors: a head costs two allocations (the
/// buffer and the field index) however many fields it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: Method,
    pub version: Version,
    pub body: BodyFraming,
    /// Whether the connection may stay open after the response.
    pub keep_alive: bool,
    pub expect: Expect,
    /// Whether any `If-*` or `Range` field is present: without one, a static file's
    /// answer needs no header lookups.
    pub conditional_or_range: bool,
    /// The head as received (from the method to the final CRLF), then the derived text.
    data: Vec<u8>,
    method_span: Span,
    target_span: Span,
    path: Span,
    /// Whether `data[path]` is ASCII, checked once when the head was built: `path()`
    /// relies on it to skip UTF-8 validation.
    path_ascii: bool,
    query: Option<Span>,
    absolute_host: Option<Span>,
    host: Option<Span>,
    /// The host part (no port) of `absolute_host`, else of `host`.
    effective_host: Option<Span>,
    fields: Vec<Field>,
}

impl RequestHead {
    /// Gives the head's allocations back for the next [`parse_head_reusing`].
    pub fn into_bufs(self) -> HeadBufs {
        HeadBufs {
            data: self.data,
            fields: self.fields,
        }
    }

    fn slice(&self, s: Span) -> &[u8] {
        &self.data[s.start..s.end]
    }

    /// A span the parser validated as text: the method, the target, field names and the
    /// query are visible ASCII, the host is ASCII, the path was checked to be UTF-8, so
    /// the conversion never fails. It is still checked here, not assumed: ASCII (nearly
    /// every request) by a word-at-a-time scan, anything else by full validation.
    #[inline]
    fn text(&self, s: Span) -> &str {
        let bytes = self.slice(s);
        if bytes.is_ascii() {
            // SAFETY: ASCII, checked just above, is valid UTF-8.
            unsafe { std::str::from_utf8_unchecked(bytes) }
        } else {
            std::str::from_utf8(bytes).unwrap_or("")
        }
    }

    /// Percent-decoded (`%2F` too, as nginx does), valid UTF-8, normalised path: starts
    /// with `/`, no empty/`.`/`..` segments, trailing `/` kept. `"*"` for `OPTIONS *`.
    /// Only NUL is refused, so it may hold CR, LF or other controls (`%0d%0a`):
    /// re-encode it before echoing it into a header such as `Location`.
    #[inline]
    pub fn path(&self) -> &str {
        let bytes = self.slice(self.path);
        if self.path_ascii {
            debug_assert!(bytes.is_ascii());
            // SAFETY: `path_ascii` is `is_ascii()` of exactly these bytes, computed when
            // the head was built (`build_head`); `data` and `path` are private and never
            // change afterwards. ASCII is valid UTF-8. (Checking again on every call
            // costs about a tenth of a keep-alive GET: the path is read several times.)
            unsafe { std::str::from_utf8_unchecked(bytes) }
        } else {
            std::str::from_utf8(bytes).unwrap_or("")
        }
    }

    /// The raw, undecoded query string after the first `?` (for CGI `QUERY_STRING`).
    pub fn query(&self) -> Option<&str> {
        self.query.map(|s| self.text(s))
    }

    /// Host from an absolute-form target (`http://Host:port/...`), lower-cased, port
    /// kept. RFC 9112 §3.2.2: it takes precedence over the `Host` header.
    pub fn absolute_host(&self) -> Option<&str> {
        self.absolute_host.map(|s| self.text(s))
    }

    /// The `Host` header value, validated, lower-cased, port kept.
    pub fn host(&self) -> Option<&str> {
        self.host.map(|s| self.text(s))
    }

    /// The method exactly as sent (the only source of the text for [`Method::Other`]).
    pub fn method_str(&self) -> &str {
        self.text(self.method_span)
    }

    /// The request-target exactly as sent (for `REQUEST_URI` and logs).
    pub fn target(&self) -> &str {
        self.text(self.target_span)
    }

    /// First value of the named field (case-insensitive), OWS-trimmed.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|f| self.slice(f.name).eq_ignore_ascii_case(name.as_bytes()))
            .map(|f| self.slice(f.value))
    }

    /// Every value of the named field, in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |f| self.slice(f.name).eq_ignore_ascii_case(name.as_bytes()))
            .map(move |f| self.slice(f.value))
    }

    /// All fields in arrival order, names in their original casing (CGI `HTTP_*`).
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&str, &[u8])> + '_ {
        self.fields
            .iter()
            .map(move |f| (self.text(f.name), self.slice(f.value)))
    }

    /// The `Host` header without its port (`[::1]` keeps its brackets).
    pub fn host_without_port(&self) -> Option<&str> {
        self.host().map(host_part)
    }

    /// The port of the `Host` header, if one was given.
    pub fn host_port(&self) -> Option<u16> {
        self.host().and_then(|h| split_host_port(h).1)
    }

    /// The host the request is for, without port: the absolute-form authority if the
    /// target had one, else the `Host` header (RFC 9112 §3.2.2).
    pub fn effective_host(&self) -> Option<&str> {
        self.effective_host.map(|s| self.text(s))
    }
}

/// The host of a validated `host[:port]` (`[v6]` keeps its brackets), without parsing
/// the port.
fn host_part(h: &str) -> &str {
    &h[..host_part_len(h.as_bytes())]
}

fn host_part_len(b: &[u8]) -> usize {
    if b.first() == Some(&b'[') {
        b.iter().position(|&c| c == b']').map_or(b.len(), |i| i + 1)
    } else {
        b.iter().position(|&c| c == b':').unwrap_or(b.len())
    }
}

/// Splits a validated `host[:port]` (`[v6]:port` included); an empty port is `None`.
fn split_host_port(h: &str) -> (&str, Option<u16>) {
    let split = if h.starts_with('[') {
        h.find(']').map(|i| i + 1).filter(|&i| i < h.len())
    } else {
        h.find(':')
    };
    match split {
        Some(i) => (&h[..i], h[i + 1..].parse().ok()),
        None => (h, None),
    }
}

/// RFC 9112 §2.2 lets a server skip empty lines before the request line (left over
/// from clients that add CRLF after a POST body); more than this is garbage.
const MAX_LEADING_EMPTY_LINES: usize = 4;
/// No real method is this long; a longer token cannot be known, so it is 501 early.
const MAX_METHOD_LEN: usize = 32;
/// httparse slots kept on the stack; heads with more fields (known from the scan) use
/// the heap. Small on purpose: every slot is initialised for every request, and 128
/// of them (4 KiB) were a third of the parser's time.
const STACK_HEADERS: usize = 16;

struct RequestLine {
    start: usize,
    method: Span,
    target: Span,
    /// The [`TARGET`] bits of every target byte, or-ed.
    target_seen: u8,
    version: Version,
    end: usize,
}

/// Parses one request head from the start of `buf`.
///
/// * `Ok(None)`: the head is not complete yet and nothing seen so far is invalid;
///   read more and call again with the grown buffer.
/// * `Ok(Some((head, n)))`: `n` bytes (leading empty lines and the final CRLFCRLF
///   included) form the head; the body or the next pipelined request starts at `n`.
/// * `Err(e)`: answer `e.status` and close. Limits are checked on incomplete input
///   too, so the buffer never needs to grow past them.
///
/// Each call rescans `buf` from the start (cost linear in its length, bounded by the
/// limits), so call it again only after new bytes arrived.
pub fn parse_head(
    buf: &[u8],
    limits: &HeadLimits,
) -> Result<Option<(RequestHead, usize)>, HeadError> {
    parse_head_reusing(buf, limits, &mut HeadBufs::default())
}

/// The two allocations behind a [`RequestHead`], kept for the next head: a worker
/// that hands each head back with [`RequestHead::into_bufs`] parses without
/// allocating.
#[derive(Debug, Default)]
pub struct HeadBufs {
    data: Vec<u8>,
    fields: Vec<Field>,
}

/// [`parse_head`], building the head in `bufs`' allocations (taken when a head is
/// returned, left in place otherwise).
pub fn parse_head_reusing(
    buf: &[u8],
    limits: &HeadLimits,
    bufs: &mut HeadBufs,
) -> Result<Option<(RequestHead, usize)>, HeadError> {
    let Some(line) = scan_request_line(buf, limits)? else {
        return Ok(None);
    };
    let Some((end, nfields)) = scan_field_lines(buf, line.end, limits)? else {
        return Ok(None);
    };
    build_head(buf, &line, end, nfields, std::mem::take(bufs)).map(|head| Some((head, end)))
}

/// The request line, once it is complete: `Ok(None)` while more bytes could still make
/// it valid. Each run (method, target, version) is found with one table- or range-test
/// per byte; the byte that ends it decides between "need more", an error, and the next
/// part.
fn scan_request_line(buf: &[u8], limits: &HeadLimits) -> Result<Option<RequestLine>, HeadError> {
    let Some(start) = skip_empty_lines(buf)? else {
        return Ok(None);
    };
    let Some(method) = scan_method(buf, start)? else {
        return Ok(None);
    };
    let Some((target, target_seen)) = scan_target(buf, method.end + 1, limits)? else {
        return Ok(None);
    };
    let Some((version, end)) = scan_version(buf, target.end + 1)? else {
        return Ok(None);
    };
    Ok(Some(RequestLine {
        start,
        method,
        target,
        target_seen,
        version,
        end,
    }))
}

/// Where the request line starts, after the empty lines a client may send before it
/// (RFC 9112 §2.2, at most [`MAX_LEADING_EMPTY_LINES`]).
#[inline]
fn skip_empty_lines(buf: &[u8]) -> Result<Option<usize>, HeadError> {
    let mut i = 0;
    let mut empty_lines = 0;
    loop {
        match buf.get(i) {
            None => return Ok(None),
            Some(b'\r') => match buf.get(i + 1) {
                None => return Ok(None),
                Some(b'\n') => {
                    empty_lines += 1;
                    if empty_lines > MAX_LEADING_EMPTY_LINES {
                        return Err(bad("too many empty lines before the request line"));
                    }
                    i += 2;
                }
                Some(_) => return Err(bad("bare CR")),
            },
            Some(b'\n') => return Err(bad("bare LF")),
            Some(_) => return Ok(Some(i)),
        }
    }
}

/// The method token starting at `start`, ended by a space.
#[inline]
fn scan_method(buf: &[u8], start: usize) -> Result<Option<Span>, HeadError> {
    let window = &buf[start..buf.len().min(start + MAX_METHOD_LEN + 1)];
    let i = match window.iter().position(|&b| !TCHAR[b as usize]) {
        Some(n) => start + n,
        None if window.len() > MAX_METHOD_LEN => {
            return Err(HeadError::new(501, "method not implemented"));
        }
        None => return Ok(None),
    };
    if buf[i] != b' ' {
        return Err(bad("invalid method token"));
    }
    if i == start {
        return Err(bad("whitespace before the method"));
    }
    Ok(Some(Span { start, end: i }))
}

/// The request-target starting at `start`, ended by a space, and the union of its
/// bytes' classes (which later searches it needs).
#[inline]
fn scan_target(
    buf: &[u8],
    start: usize,
    limits: &HeadLimits,
) -> Result<Option<(Span, u8)>, HeadError> {
    let window_end = start
        .saturating_add(limits.max_target)
        .saturating_add(1)
        .min(buf.len());
    // Only visible ASCII: raw UTF-8, CTLs and the NUL byte must be %-encoded.
    let window = &buf[start..window_end];
    let mut seen = 0;
    let i = match window.iter().position(|&b| {
        let class = TARGET[b as usize];
        seen |= class;
        class == 0
    }) {
        Some(n) => start + n,
        None if window.len() > limits.max_target => {
            return Err(HeadError::new(414, "request-target too long"));
        }
        None => return Ok(None),
    };
    if buf[i] != b' ' {
        return Err(bad("invalid byte in the request-target"));
    }
    if i == start {
        return Err(bad("empty request-target"));
    }
    Ok(Some((Span { start, end: i }, seen)))
}

/// The HTTP version starting at `start` and the end of the line (after its CRLF).
#[inline]
fn scan_version(buf: &[u8], start: usize) -> Result<Option<(Version, usize)>, HeadError> {
    if buf[start..].starts_with(b"HTTP/1.1\r\n") {
        return Ok(Some((Version::Http11, start + 10)));
    }
    let mut i = start;
    loop {
        match buf.get(i) {
            None => return Ok(None),
            Some(b'\r') => break,
            Some(0x21..=0x7e) if i - start < 8 => i += 1,
            Some(_) => return Err(bad("malformed HTTP version")),
        }
    }
    match buf.get(i + 1) {
        None => return Ok(None),
        Some(b'\n') => {}
        Some(_) => return Err(bad("bare CR")),
    }
    Ok(Some((parse_version(&buf[start..i])?, i + 2)))
}

/// `HTTP-version = "HTTP" "/" DIGIT "." DIGIT`, case-sensitive (RFC 9112 §2.3).
fn parse_version(v: &[u8]) -> Result<Version, HeadError> {
    let &[b'H', b'T', b'T', b'P', b'/', major, b'.', minor] = v else {
        return Err(bad("malformed HTTP version"));
    };
    if !major.is_ascii_digit() || !minor.is_ascii_digit() {
        return Err(bad("malformed HTTP version"));
    }
    match (major, minor) {
        (b'1', b'0') => Ok(Version::Http10),
        (b'1', _) => Ok(Version::Http11),
        _ => Err(HeadError::new(505, "HTTP version not supported")),
    }
}

/// Walks the field lines from `start`, returning the end of the head (after the empty
/// line) and the number of field lines. Everything httparse would tolerate but we must
/// not (bare LF, obs-fold) and every limit is checked here, incrementally.
fn scan_field_lines(
    buf: &[u8],
    start: usize,
    limits: &HeadLimits,
) -> Result<Option<(usize, usize)>, HeadError> {
    const TOO_LARGE: HeadError = HeadError::new(431, "request header section too large");
    let mut i = start;
    let mut count = 0;
    // Bytes past the size limit are never looked at: reaching it is the error.
    let limit = buf.len().min(start.saturating_add(limits.max_head));
    // `i` is at the start of a line: the empty line ends the head, whitespace there is
    // obs-fold; otherwise the first CR, LF or NUL (found by memchr) ends the line.
    while i < limit {
        match buf[i] {
            b'\r' => {
                return match buf.get(i + 1) {
                    None => Ok(None),
                    Some(b'\n') if i + 2 - start > limits.max_head => Err(TOO_LARGE),
                    Some(b'\n') => Ok(Some((i + 2, count))),
                    Some(_) => Err(bad("bare CR")),
                };
            }
            b' ' | b'\t' => return Err(bad("obs-fold or whitespace before a field name")),
            _ => {}
        }
        let Some(end) = line_end(buf, i, limit) else {
            i = limit;
            break;
        };
        match buf[end] {
            b'\n' => return Err(bad("bare LF")),
            0 => return Err(bad("NUL byte in header section")),
            _ => match buf.get(end + 1) {
                None => return Ok(None),
                Some(b'\n') => {
                    if end + 2 - start > limits.max_head {
                        return Err(TOO_LARGE);
                    }
                    count += 1;
                    if count > limits.max_headers {
                        return Err(HeadError::new(431, "too many header fields"));
                    }
                    i = end + 2;
                }
                Some(_) => return Err(bad("bare CR")),
            },
        }
    }
    if i >= start.saturating_add(limits.max_head) {
        return Err(TOO_LARGE);
    }
    Ok(None)
}

/// The first CR, LF or NUL in `buf[from..to]`. Most field lines are short: their
/// first bytes are tested one by one (a table load each), and only a long line's rest
/// goes to memchr, whose setup costs more than a short line's scan.
fn line_end(buf: &[u8], from: usize, to: usize) -> Option<usize> {
    const SHORT: usize = 48;
    let short_end = to.min(from + SHORT);
    if let Some(n) = buf[from..short_end]
        .iter()
        .position(|&b| LINE_END[b as usize])
    {
        return Some(from + n);
    }
    memchr::memchr3(b'\r', b'\n', 0, &buf[short_end..to]).map(|n| short_end + n)
}

/// The bytes that end a field line's scan: CR, LF and NUL.
const LINE_END: [bool; 256] = {
    let mut t = [false; 256];
    t[b'\r' as usize] = true;
    t[b'\n' as usize] = true;
    t[0] = true;
    t
};

fn build_head(
    buf: &[u8],
    line: &RequestLine,
    end: usize,
    nfields: usize,
    bufs: HeadBufs,
) -> Result<RequestHead, HeadError> {
    let HeadBufs {
        mut data,
        mut fields,
    } = bufs;
    let base = line.start;
    let raw = &buf[base..end];
    let rebase = |s: Span| Span {
        start: s.start - base,
        end: s.end - base,
    };
    let method_span = rebase(line.method);
    let target_span = rebase(line.target);
    let method = Method::from_token(&raw[method_span.start..method_span.end]);
    let version = line.version;

    fields.clear();
    tokenize_fields(raw, line.end - base, nfields, &mut fields)?;
    let sem = Semantics::of(raw, &fields)?;
    let body = sem.framing(version)?;
    if version == Version::Http11 && sem.host.is_none() {
        return Err(bad("missing Host header"));
    }

    // The derived text is never longer than its source: the decoded path and an
    // absolute-form host come from the target, the lower-cased host from its field.
    let host_len = sem.host.map_or(0, |h| h.end - h.start);
    data.clear();
    data.reserve(raw.len() + target_span.end - target_span.start + host_len);
    data.extend_from_slice(raw);
    // A lower-case Host (nearly all) is used where it stands in the head's text.
    let host = match sem.host_case {
        Case::Lower => sem.host,
        Case::Mixed => sem.host.map(|h| push_lowercase(&mut data, h)),
    };
    let seen = line.target_seen;
    let (path, query, absolute_host) = parse_target(&mut data, target_span, method, seen)?;
    // Raw target bytes are visible ASCII: only escapes can make the path non-ASCII.
    let path_ascii = seen & T_PCT == 0 || data[path.start..path.end].is_ascii();
    let effective_host = absolute_host.or(host).map(|s| {
        let len = host_part_len(&data[s.start..s.end]);
        Span {
            start: s.start,
            end: s.start + len,
        }
    });

    Ok(RequestHead {
        method,
        version,
        body,
        keep_alive: sem.keep_alive(version),
        expect: sem.expect(version),
        data,
        method_span,
        target_span,
        path,
        path_ascii,
        query,
        absolute_host,
        host,
        effective_host,
        fields,
        conditional_or_range: sem.conditional_or_range,
    })
}

/// Appends the lower-cased copy of `data[s]` (an ASCII authority) and returns its span.
fn push_lowercase(data: &mut Vec<u8>, s: Span) -> Span {
    let start = data.len();
    data.extend_from_within(s.start..s.end);
    data[start..].make_ascii_lowercase();
    Span {
        start,
        end: data.len(),
    }
}

/// Splits the (already line-checked) header section into name/value spans with
/// httparse, which validates name tokens, the colon right after the name, and value
/// bytes (no CTL but HTAB), and trims the value's OWS.
fn tokenize_fields(
    raw: &[u8],
    section_start: usize,
    nfields: usize,
    fields: &mut Vec<Field>,
) -> Result<(), HeadError> {
    let section = &raw[section_start..];
    let mut stack = [httparse::EMPTY_HEADER; STACK_HEADERS];
    let mut heap;
    let slots: &mut [httparse::Header<'_>] = if nfields <= STACK_HEADERS {
        &mut stack[..nfields]
    } else {
        heap = vec![httparse::EMPTY_HEADER; nfields];
        &mut heap
    };
    let parsed = match httparse::parse_headers(section, slots) {
        Ok(httparse::Status::Complete((_, parsed))) => parsed,
        Ok(httparse::Status::Partial) => return Err(bad("malformed header section")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HeadError::new(431, "too many header fields"));
        }
        Err(httparse::Error::HeaderName) => return Err(bad("invalid header field name")),
        Err(httparse::Error::HeaderValue) => return Err(bad("invalid header field value")),
        Err(_) => return Err(bad("malformed header section")),
    };
    let origin = raw.as_ptr() as usize;
    let span = |s: &[u8]| {
        let start = s.as_ptr() as usize - origin;
        Span {
            start,
            end: start + s.len(),
        }
    };
    fields.reserve(parsed.len());
    for h in parsed {
        if h.name.is_empty() {
            return Err(bad("empty header field name"));
        }
        fields.push(Field {
            name: span(h.name.as_bytes()),
            value: span(h.value),
        });
    }
    Ok(())
}

/// The header fields the server itself interprets, accumulated across lines.
#[derive(Default)]
struct Semantics {
    /// The span of the validated `Host` value.
    host: Option<Span>,
    host_case: Case,
    content_length: Option<u64>,
    te_present: bool,
    te_codings: usize,
    te_last_chunked: bool,
    te_chunked_not_last: bool,
    te_unsupported: bool,
    close: bool,
    keep_alive: bool,
    expect: Option<Expect>,
    conditional_or_range: bool,
}

impl Semantics {
    /// The fields' meaning, each field checked.
    #[inline]
    fn of(raw: &[u8], fields: &[Field]) -> Result<Semantics, HeadError> {
        let mut sem = Semantics::default();
        for f in fields {
            sem.field(
                &raw[f.name.start..f.name.end],
                &raw[f.value.start..f.value.end],
                f.value,
            )?;
        }
        Ok(sem)
    }

    /// Whether the connection may stay open after this request.
    fn keep_alive(&self, version: Version) -> bool {
        !self.close
            && match version {
                Version::Http11 => true,
                Version::Http10 => self.keep_alive,
            }
    }

    /// The expectation the server acts on: RFC 9110 §10.1.1, an HTTP/1.0 client
    /// cannot understand 100 Continue.
    fn expect(&self, version: Version) -> Expect {
        match (self.expect, version) {
            (Some(Expect::Continue), Version::Http10) | (None, _) => Expect::None,
            (Some(e), _) => e,
        }
    }

    fn field(&mut self, name: &[u8], value: &[u8], span: Span) -> Result<(), HeadError> {
        if name.eq_ignore_ascii_case(b"host") {
            if self.host.is_some() {
                return Err(bad("duplicate Host header"));
            }
            self.host_case = validate_authority(value)?;
            self.host = Some(span);
        } else if name.eq_ignore_ascii_case(b"content-length") {
            self.content_length(value)?;
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.transfer_encoding(value)?;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in list_elements(value) {
                if token.eq_ignore_ascii_case(b"close") {
                    self.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    self.keep_alive = true;
                }
            }
        } else if name
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"if-"))
            || name.eq_ignore_ascii_case(b"range")
        {
            self.conditional_or_range = true;
        } else if name.eq_ignore_ascii_case(b"expect") {
            for e in list_elements(value) {
                let this = if e.eq_ignore_ascii_case(b"100-continue") {
                    Expect::Continue
                } else {
                    Expect::Unsupported
                };
                if self.expect != Some(Expect::Unsupported) {
                    self.expect = Some(this);
                }
            }
        }
        Ok(())
    }

    /// `Content-Length = 1*DIGIT`; a list or repeated lines of one identical value are
    /// collapsed (RFC 9112 §6.3 rule 5), anything else is a smuggling vector → 400.
    fn content_length(&mut self, value: &[u8]) -> Result<(), HeadError> {
        for element in value.split(|&b| b == b',') {
            let digits = trim_ows(element);
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return Err(bad("invalid Content-Length"));
            }
            let mut n: u64 = 0;
            for &d in digits {
                n = n
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(d - b'0')))
                    .ok_or(bad("Content-Length overflow"))?;
            }
            match self.content_length {
                Some(prev) if prev != n => return Err(bad("conflicting Content-Length values")),
                _ => self.content_length = Some(n),
            }
        }
        Ok(())
    }

    fn transfer_encoding(&mut self, value: &[u8]) -> Result<(), HeadError> {
        self.te_present = true;
        for element in list_elements(value) {
            let (name, has_params) = match element.iter().position(|&b| b == b';') {
                Some(p) => (trim_ows(&element[..p]), true),
                None => (element, false),
            };
            if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
                return Err(bad("invalid transfer coding"));
            }
            if self.te_last_chunked {
                self.te_chunked_not_last = true;
            }
            self.te_codings += 1;
            self.te_last_chunked = name.eq_ignore_ascii_case(b"chunked");
            if self.te_last_chunked && has_params {
                return Err(bad("chunked takes no parameters"));
            }
            if !self.te_last_chunked {
                self.te_unsupported = true;
            }
        }
        Ok(())
    }

    fn framing(&self, version: Version) -> Result<BodyFraming, HeadError> {
        if !self.te_present {
            return Ok(match self.content_length {
                Some(n) => BodyFraming::Length(n),
                None => BodyFraming::None,
            });
        }
        if version == Version::Http10 {
            return Err(bad("Transfer-Encoding in an HTTP/1.0 request"));
        }
        if self.content_length.is_some() {
            return Err(bad("both Transfer-Encoding and Content-Length"));
        }
        if self.te_codings == 0 {
            return Err(bad("empty Transfer-Encoding"));
        }
        if self.te_chunked_not_last {
            return Err(bad("chunked is not the final transfer coding"));
        }
        if self.te_unsupported {
            return Err(HeadError::new(501, "unsupported transfer coding"));
        }
        Ok(BodyFraming::Chunked)
    }
}

/// Non-empty, OWS-trimmed elements of a comma list (RFC 9110 §5.6.1).
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// `tchar` (RFC 9110 §5.6.2).
pub(super) fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// [`is_tchar`] as a table: one load per byte.
const TCHAR: [bool; 256] = alnum_and(b"!#$%&'*+-.^_`|~");

/// A byte table: the ASCII letters and digits, and the bytes of `extra`.
const fn alnum_and(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    let mut j = 0;
    while j < extra.len() {
        t[extra[j] as usize] = true;
        j += 1;
    }
    t
}

/// Validates `uri-host [":" port]` (Host header or absolute-form authority): the result
/// is ASCII. uri-host is an `[IPv6]` literal or a reg-name (IPv4 addresses are
/// reg-names syntactically); userinfo and IPvFuture are rejected.
fn validate_authority(v: &[u8]) -> Result<Case, HeadError> {
    const INVALID: HeadError = bad("invalid host");
    let mut case = Case::Lower;
    let port = if v.first() == Some(&b'[') {
        if v.iter().any(u8::is_ascii_uppercase) {
            case = Case::Mixed;
        }
        let close = v.iter().position(|&b| b == b']').ok_or(INVALID)?;
        let inner = std::str::from_utf8(&v[1..close]).map_err(|_| INVALID)?;
        inner.parse::<Ipv6Addr>().map_err(|_| INVALID)?;
        match v[close + 1..].split_first() {
            None => None,
            Some((b':', port)) => Some(port),
            Some(_) => return Err(INVALID),
        }
    } else {
        // One pass: reg-name bytes and escapes up to the first `:`; the common run of
        // lower-case reg-name bytes is skipped with a table test per byte.
        let mut i = v
            .iter()
            .position(|&b| !REG_NAME_LOWER[b as usize])
            .unwrap_or(v.len());
        let port = loop {
            match v.get(i) {
                None => break None,
                Some(&b) if REG_NAME[b as usize] => {
                    if b.is_ascii_uppercase() {
                        case = Case::Mixed;
                    }
                    i += 1;
                }
                Some(b':') => break Some(&v[i + 1..]),
                Some(b'%') => {
                    let hex = |b: Option<&u8>| b.filter(|b| b.is_ascii_hexdigit()).copied();
                    let (Some(hi), Some(lo)) = (hex(v.get(i + 1)), hex(v.get(i + 2))) else {
                        return Err(INVALID);
                    };
                    if hi.is_ascii_uppercase() || lo.is_ascii_uppercase() {
                        case = Case::Mixed;
                    }
                    i += 3;
                }
                Some(_) => return Err(INVALID),
            }
        };
        if i == 0 {
            return Err(INVALID);
        }
        port
    };
    if let Some(port) = port {
        // An empty port is allowed by RFC 3986 and means "default".
        if port.len() > 5 || !port.iter().all(u8::is_ascii_digit) {
            return Err(INVALID);
        }
        let n = port.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
        if n > 65535 {
            return Err(INVALID);
        }
    }
    Ok(case)
}

/// Whether a validated authority needs lower-casing.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Case {
    #[default]
    Lower,
    Mixed,
}

/// [`REG_NAME`] without the upper-case letters.
const REG_NAME_LOWER: [bool; 256] = {
    let mut t = REG_NAME;
    let mut b = b'A';
    while b <= b'Z' {
        t[b as usize] = false;
        b += 1;
    }
    t
};

/// Request-target bytes (RFC 9112 §3.2: visible ASCII; raw UTF-8, CTLs and NUL must be
/// %-encoded) as classes: 0 ends the target (SP) or is refused; every other byte has
/// bit 1, and the bytes [`parse_target`] looks for add their own bit, so that one scan
/// tells it which searches it can skip.
const TARGET: [u8; 256] = {
    let mut t = [0; 256];
    let mut b = 0x21;
    while b <= 0x7e {
        t[b] = match b as u8 {
            b'#' => 1 | T_HASH,
            b'%' => 1 | T_PCT,
            b'?' => 1 | T_QUERY,
            _ => 1,
        };
        b += 1;
    }
    t
};
const T_HASH: u8 = 2;
const T_PCT: u8 = 4;
const T_QUERY: u8 = 8;

/// Bytes of a reg-name besides `%` escapes (RFC 3986 §3.2.2: unreserved and sub-delims),
/// as a table: one load per byte instead of a search.
const REG_NAME: [bool; 256] = alnum_and(b"-._~!$&'()*+,;=");

/// Splits the target (`data[target]`) into the normalised path, the raw query and the
/// absolute-form host; the path and the host are appended to `data` (decoded,
/// lower-cased), the query is a span of the target.
fn parse_target(
    data: &mut Vec<u8>,
    target: Span,
    method: Method,
    seen: u8,
) -> Result<(Span, Option<Span>, Option<Span>), HeadError> {
    let t = &data[target.start..target.end];
    if seen & T_HASH != 0 {
        return Err(bad("fragment in request-target"));
    }
    if t == b"*" {
        if method != Method::Options {
            return Err(bad("asterisk-form is only for OPTIONS"));
        }
        // The target itself is the text "*".
        return Ok((target, None, None));
    }
    let (rest_start, absolute_host) = if t[0] == b'/' {
        (target.start, None)
    } else {
        let after_scheme = strip_prefix_ignore_case(t, b"http://")
            .or_else(|| strip_prefix_ignore_case(t, b"https://"))
            .ok_or(bad("invalid request-target form"))?;
        let auth_start = target.end - after_scheme.len();
        let auth_len = after_scheme
            .iter()
            .position(|&b| b == b'/' || b == b'?')
            .unwrap_or(after_scheme.len());
        validate_authority(&after_scheme[..auth_len])?;
        let auth = Span {
            start: auth_start,
            end: auth_start + auth_len,
        };
        (auth.end, Some(push_lowercase(data, auth)))
    };
    let rest = &data[rest_start..target.end];
    let first_q = match seen & T_QUERY {
        0 => None,
        _ => rest.iter().position(|&b| b == b'?'),
    };
    let (path_end, query) = match first_q {
        Some(q) => (
            rest_start + q,
            Some(Span {
                start: rest_start + q + 1,
                end: target.end,
            }),
        ),
        None => (target.end, None),
    };
    // Absolute-form may omit the path ("http://h" or "http://h?q"): it means "/".
    let path = if path_end == rest_start {
        let start = data.len();
        data.push(b'/');
        Span {
            start,
            end: data.len(),
        }
    } else {
        decode_path(data, rest_start..path_end, seen & T_PCT != 0)?
    };
    Ok((path, query, absolute_host))
}

fn strip_prefix_ignore_case<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes then normalises the path `data[raw]` (which starts with `/`),
/// appending the result to `data`.
///
/// Decoding comes first so that `%2e%2e` and `%2f` cannot smuggle a `..` or a `/` past
/// the normaliser; UTF-8 is checked before normalising so that an invalid segment
/// cannot be hidden by a following `..`. Normalising only drops whole segments, which
/// end at an ASCII `/`, so its output stays valid UTF-8.
fn decode_path(
    data: &mut Vec<u8>,
    raw: std::ops::Range<usize>,
    maybe_escaped: bool,
) -> Result<Span, HeadError> {
    let escaped = maybe_escaped && data[raw.clone()].contains(&b'%');
    if !escaped && !dot_or_empty_segment(&data[raw.clone()]) {
        // Already decoded and normal (nearly every path): used where it stands.
        return Ok(Span {
            start: raw.start,
            end: raw.end,
        });
    }
    let start = data.len();
    if escaped {
        decode_escapes(data, raw)?;
    } else {
        // Nothing to decode, and (raw target bytes being visible ASCII) nothing to check.
        data.extend_from_within(raw);
    }
    let path = &mut data[start..];
    if dot_or_empty_segment(path) {
        let len = normalise_in_place(path)?;
        data.truncate(start + len);
    }
    Ok(Span {
        start,
        end: data.len(),
    })
}

/// Whether a path has an empty, `.` or `..` segment, the only ones normalising
/// changes: without "//" or "/." it is already normal.
fn dot_or_empty_segment(path: &[u8]) -> bool {
    path.windows(2)
        .any(|w| w[0] == b'/' && (w[1] == b'/' || w[1] == b'.'))
}

/// Appends the percent-decoded `data[raw]` to `data`, checking that the result is
/// UTF-8 without NUL.
fn decode_escapes(data: &mut Vec<u8>, raw: std::ops::Range<usize>) -> Result<(), HeadError> {
    let start = data.len();
    let mut i = raw.start;
    let mut high = 0u8;
    while i < raw.end {
        let b = data[i];
        if b == b'%' {
            let hi = (i + 1 < raw.end).then(|| hex_val(data[i + 1])).flatten();
            let lo = (i + 2 < raw.end).then(|| hex_val(data[i + 2])).flatten();
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(bad("invalid percent-encoding in path"));
            };
            let v = hi << 4 | lo;
            if v == 0 {
                return Err(bad("encoded NUL in path"));
            }
            high |= v;
            data.push(v);
            i += 3;
        } else {
            data.push(b);
            i += 1;
        }
    }
    // Raw target bytes are visible ASCII: only escapes can make the path non-ASCII.
    if high >= 0x80 && std::str::from_utf8(&data[start..]).is_err() {
        return Err(bad("path is not valid UTF-8"));
    }
    Ok(())
}

/// Removes empty and `.` segments and resolves `..` (RFC 3986 §5.2.4 semantics, but a
/// `..` above the root is an error instead of being dropped: it is an attack, not a
/// typo). Works in place and returns the new length: the output is never longer than
/// what has been read.
fn normalise_in_place(p: &mut [u8]) -> Result<usize, HeadError> {
    let len = p.len();
    // Invariant: p[..w] is "" (root) or "/seg/seg" without a trailing slash.
    let mut w = 0;
    let mut r = 1; // p[0] == b'/'
    let mut trailing = false;
    while r <= len {
        let seg_end = p[r..]
            .iter()
            .position(|&b| b == b'/')
            .map_or(len, |i| r + i);
        let seg_len = seg_end - r;
        let last = seg_end == len;
        match &p[r..seg_end] {
            b"" | b"." => trailing = last,
            b".." => {
                if w == 0 {
                    return Err(bad("path climbs above the root"));
                }
                w = p[..w].iter().rposition(|&b| b == b'/').unwrap_or(0);
                trailing = last;
            }
            _ => {
                p[w] = b'/';
                p.copy_within(r..seg_end, w + 1);
                w += 1 + seg_len;
                trailing = false;
            }
        }
        r = seg_end + 1;
    }
    if w == 0 || trailing {
        p[w] = b'/';
        w += 1;
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Result<Option<(RequestHead, usize)>, HeadError> {
        parse_head(input, &HeadLimits::default())
    }

    fn head(input: &[u8]) -> RequestHead {
        match parse(input) {
            Ok(Some((h, n))) => {
                assert_eq!(
                    n,
                    input.len(),
                    "consumed for {:?}",
                    String::from_utf8_lossy(input)
                );
                h
            }
            other => panic!("{:?} → {other:?}", String::from_utf8_lossy(input)),
        }
    }

    fn status(input: &[u8]) -> u16 {
        status_with(input, &HeadLimits::default())
    }

    fn status_with(input: &[u8], limits: &HeadLimits) -> u16 {
        match parse_head(input, limits) {
            Ok(Some(_)) => 200,
            Ok(None) => 0,
            Err(e) => e.status,
        }
    }

    /// `case!(input => status)`: 200 = accepted, 0 = needs more bytes, else the error.
    macro_rules! cases {
        ($($input:expr => $status:expr),* $(,)?) => {
            $(assert_eq!(status($input), $status, "input {:?}", String::from_utf8_lossy($input));)*
        };
    }

    #[test]
    fn minimal_requests() {
        cases!(
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" => 200,
            b"GET / HTTP/1.0\r\n\r\n" => 200,
            b"GET /x?y HTTP/1.0\r\nUser-Agent: t\r\n\r\n" => 200,
            b"GET / HTTP/1.1\r\nHost: a\r\n\r" => 0,
            b"GET / HTTP/1.1\r\nHost: a\r\n" => 0,
            b"" => 0,
        );
    }

    #[test]
    fn head_fields() {
        let h = head(b"POST /a%20b/../c/?x=%41&y HTTP/1.1\r\nHost: Example.COM:8080\r\nX-Thing:  v1 \r\nContent-Length: 5\r\nx-thing: v2\r\n\r\n");
        assert_eq!(h.method, Method::Post);
        assert_eq!(h.method_str(), "POST");
        assert_eq!(h.version, Version::Http11);
        assert_eq!(h.target(), "/a%20b/../c/?x=%41&y");
        assert_eq!(h.path(), "/c/");
        assert_eq!(h.query(), Some("x=%41&y"));
        assert_eq!(h.host(), Some("example.com:8080"));
        assert_eq!(h.host_without_port(), Some("example.com"));
        assert_eq!(h.host_port(), Some(8080));
        assert_eq!(h.effective_host(), Some("example.com"));
        assert_eq!(h.absolute_host, None);
        assert_eq!(h.body, BodyFraming::Length(5));
        assert!(h.keep_alive);
        assert_eq!(h.expect, Expect::None);
        assert_eq!(h.header("x-THING"), Some(&b"v1"[..]));
        assert_eq!(
            h.headers_named("X-Thing").collect::<Vec<_>>(),
            [&b"v1"[..], b"v2"]
        );
        let names: Vec<&str> = h.headers().map(|(n, _)| n).collect();
        assert_eq!(names, ["Host", "X-Thing", "Content-Length", "x-thing"]);
        assert_eq!(h.header("missing"), None);
    }

    #[test]
    fn pipelined_requests_consume_exactly_one_head() {
        let first = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
        let mut buf = first.to_vec();
        buf.extend_from_slice(b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
        let (h, n) = parse(&buf).unwrap().unwrap();
        assert_eq!((h.path(), n), ("/1", first.len()));
        let (h, n) = parse(&buf[n..]).unwrap().unwrap();
        assert_eq!((h.path(), n), ("/2", first.len()));
    }

    #[test]
    fn leading_empty_lines() {
        let (h, n) = parse(b"\r\n\r\nGET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert_eq!((h.path(), n), ("/", 22));
        cases!(
            b"\r\n\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n" => 200,
            b"\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n" => 400,
            b"\r\n\r\n\r\n\r\n" => 0,
            b"\nGET / HTTP/1.0\r\n\r\n" => 400,
            b"\rGET / HTTP/1.0\r\n\r\n" => 400,
        );
    }

    #[test]
    fn every_prefix_of_valid_requests_needs_more() {
        let valid: &[&[u8]] = &[
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"\r\nPOST http://h:1/x%2Fy?q HTTP/1.1\r\nHost: [::1]:80\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
            b"OPTIONS * HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 5, 5\r\n\r\n",
            b"FOO /a/./b/../c HTTP/1.1\r\nhost: x.y\r\nX: \t\x80\xff\r\n\r\n",
        ];
        for req in valid {
            assert!(matches!(parse(req), Ok(Some((_, n))) if n == req.len()));
            for cut in 0..req.len() {
                assert_eq!(
                    parse(&req[..cut]),
                    Ok(None),
                    "prefix {cut} of {:?}",
                    String::from_utf8_lossy(req)
                );
            }
        }
    }

    #[test]
    fn line_terminators() {
        cases!(
            b"GET / HTTP/1.1\nHost: a\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\n\n" => 400,
            b"GET / HTTP/1.1\rHost: a\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\n\rX" => 400,
            b"GET / HTTP/1.1\r\nX: a\rb\r\nHost: a\r\n\r\n" => 400,
            b"GET /\r HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
        );
    }

    /// A head built in the previous head's allocations holds nothing of it.
    #[test]
    fn reused_buffers_start_empty() {
        let mut bufs = HeadBufs::default();
        let limits = HeadLimits::default();
        let first =
            b"GET /a/long/path?q=1 HTTP/1.1\r\nHost: first.example\r\nX-A: 1\r\nX-B: 2\r\n\r\n";
        let (h, _) = parse_head_reusing(first, &limits, &mut bufs)
            .unwrap()
            .unwrap();
        assert_eq!(h.headers().len(), 3);
        bufs = h.into_bufs();
        let second = b"GET /b HTTP/1.1\r\nhost: B\r\n\r\n";
        let (h, n) = parse_head_reusing(second, &limits, &mut bufs)
            .unwrap()
            .unwrap();
        assert_eq!(n, second.len());
        assert_eq!(h, head(second));
        assert_eq!((h.path(), h.query(), h.host()), ("/b", None, Some("b")));
        assert_eq!(h.headers().collect::<Vec<_>>(), [("host", &b"B"[..])]);
        assert_eq!(h.header("x-a"), None);
    }

    #[test]
    fn conditional_or_range_flag() {
        let flag = |field: &str| {
            head(format!("GET / HTTP/1.1\r\nHost: a\r\n{field}\r\n\r\n").as_bytes())
                .conditional_or_range
        };
        for yes in [
            "If-None-Match: x",
            "IF-MODIFIED-SINCE: x",
            "if-range: x",
            "Range: bytes=0-1",
        ] {
            assert!(flag(yes), "{yes}");
        }
        for no in [
            "X-If-None-Match: x",
            "Ranges: x",
            "Rang: x",
            "Accept: */*",
            "If: x",
        ] {
            assert!(!flag(no), "{no}");
        }
    }

    /// The host is lower-cased whatever its form; a lower-case one is kept as sent.
    #[test]
    fn host_is_lower_cased() {
        for (sent, want) in [
            ("a.example:80", "a.example:80"),
            ("A.Example:80", "a.example:80"),
            ("a.examplE", "a.example"),
            ("x%4Ay", "x%4ay"),
            ("[::ABCD]:1", "[::abcd]:1"),
            ("[::abcd]", "[::abcd]"),
        ] {
            let h = head(format!("GET / HTTP/1.1\r\nHost: {sent}\r\n\r\n").as_bytes());
            assert_eq!(h.host(), Some(want), "{sent}");
            assert_eq!(h.header("host"), Some(sent.as_bytes()), "{sent}");
        }
    }

    #[test]
    fn effective_host_drops_the_port() {
        let h = head(b"GET / HTTP/1.1\r\nHost: Example.ORG:8080\r\n\r\n");
        assert_eq!(h.effective_host(), Some("example.org"));
        let h = head(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
        assert_eq!(h.effective_host(), Some("[::1]"));
        let h = head(b"GET http://b:1/ HTTP/1.1\r\nHost: a:2\r\n\r\n");
        assert_eq!(h.effective_host(), Some("b"));
        let h = head(b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(h.effective_host(), None);
    }

    /// A field line's first bytes are scanned one by one and the rest with memchr: a
    /// bad byte is found, and a long value kept whole, on either side of that switch.
    #[test]
    fn long_field_lines() {
        for at in [0, 1, 40, 41, 42, 43, 90, 300] {
            let line = |bad: &str| {
                let value = format!("{}{bad}{}", "v".repeat(at), "w".repeat(20));
                format!("GET / HTTP/1.1\r\nX-Long: {value}\r\nHost: a\r\n\r\n").into_bytes()
            };
            // httparse would refuse these too, but with a vaguer reason: the line scan
            // must be what finds them.
            for (bad, reason) in [("\n", "bare LF"), ("\r", "bare CR"), ("\0", "NUL byte")] {
                let err = parse(&line(bad)).expect_err("a bad byte");
                assert_eq!(err.status, 400, "{reason} at {at}");
                assert!(err.reason.starts_with(reason), "{reason} at {at}: {err}");
            }
            let ok = line("");
            let h = head(&ok);
            let want = format!("{}{}", "v".repeat(at), "w".repeat(20));
            assert_eq!(h.header("x-long"), Some(want.as_bytes()), "value at {at}");
            assert_eq!(h.host(), Some("a"));
            // Cut anywhere before its end, the same head needs more bytes.
            for cut in [ok.len() - 1, ok.len() - 3, 20 + at] {
                assert_eq!(status(&ok[..cut]), 0, "cut at {cut} of {at}");
            }
        }
    }

    #[test]
    fn versions() {
        cases!(
            b"GET / HTTP/2.0\r\nHost: a\r\n\r\n" => 505,
            b"GET / HTTP/3.0\r\n\r\n" => 505,
            b"GET / HTTP/9.9\r\n\r\n" => 505,
            b"GET / HTTP/0.9\r\n\r\n" => 505,
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" => 505,
            b"GET / HTTP/1.x\r\nHost: a\r\n\r\n" => 400,
            b"GET / http/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GET / HTTP/01.1\r\nHost: a\r\n\r\n" => 400,
            b"GET / HTTP/1.10\r\nHost: a\r\n\r\n" => 400,
            b"GET / HTTP/1\r\nHost: a\r\n\r\n" => 400,
            b"GET / HTTP/2\r\nHost: a\r\n\r\n" => 400,
            b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n" => 400,
            b"GET / HTTP/1.1.1\r\n" => 400,
            b"GET / HTTP 1.1\r\n" => 400,
            b"GET /\r\n\r\n" => 400,
            b"GET / \r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\n\r\n" => 400,
        );
        assert_eq!(
            head(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n").version,
            Version::Http11
        );
        assert_eq!(head(b"GET / HTTP/1.0\r\n\r\n").version, Version::Http10);
    }

    #[test]
    fn methods() {
        for (text, m) in [
            ("GET", Method::Get),
            ("HEAD", Method::Head),
            ("POST", Method::Post),
            ("PUT", Method::Put),
            ("DELETE", Method::Delete),
            ("OPTIONS", Method::Options),
            ("TRACE", Method::Trace),
            ("CONNECT", Method::Connect),
            ("PATCH", Method::Patch),
        ] {
            let h = head(format!("{text} / HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
            assert_eq!((h.method, h.method_str(), m.as_str()), (m, text, text));
        }
        let h = head(b"BREW / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!((h.method, h.method_str()), (Method::Other, "BREW"));
        let h = head(b"get / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!((h.method, h.method_str()), (Method::Other, "get"));
        let h = head(b"M-SEARCH! / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.method, Method::Other);
        cases!(
            b"GE(T / HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"G\x80T / HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GE\0T / HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b" GET / HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GET /  HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GET\r\n\r\n" => 400,
            b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" => 501,
            b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" => 0,
        );
    }

    #[test]
    fn limits() {
        let small = HeadLimits {
            max_target: 10,
            max_head: 40,
            max_headers: 2,
        };
        let s = |input: &[u8]| status_with(input, &small);
        assert_eq!(s(b"GET /123456789 HTTP/1.1\r\nHost: a\r\n\r\n"), 200);
        assert_eq!(s(b"GET /1234567890 HTTP/1.1\r\nHost: a\r\n\r\n"), 414);
        // Detected before the line ends: a slow client cannot grow the buffer.
        assert_eq!(s(b"GET /1234567890"), 414);
        // Header section of exactly 40 bytes is fine, 41 is not.
        assert_eq!(
            s(b"GET / HTTP/1.1\r\nHost: a\r\nX: 123456789012345678901234\r\n\r\n"),
            200
        );
        assert_eq!(
            s(b"GET / HTTP/1.1\r\nHost: a\r\nX: 1234567890123456789012345\r\n\r\n"),
            431
        );
        assert_eq!(
            s(b"GET / HTTP/1.1\r\nHost: a\r\nX: 123456789012345678901234567890"),
            431
        );
        assert_eq!(s(b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n"), 200);
        assert_eq!(s(b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\n\r\n"), 431);
        assert_eq!(s(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n"), 431);

        let long_target = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(8191));
        assert_eq!(status(long_target.as_bytes()), 200);
        let too_long = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(8192));
        assert_eq!(status(too_long.as_bytes()), 414);
        let mut many = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        // The default allows 128 fields (Host included).
        for i in 0..127 {
            many.push_str(&format!("X-{i}: v\r\n"));
        }
        assert_eq!(status(format!("{many}\r\n").as_bytes()), 200);
        assert_eq!(status(format!("{many}X: v\r\n\r\n").as_bytes()), 431);
        let big = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
            "v".repeat(16384)
        );
        assert_eq!(status(big.as_bytes()), 431);
        assert_eq!(status(&big.as_bytes()[..16410]), 431);

        // More fields than the stack holds when the configured limit allows it.
        let roomy = HeadLimits {
            max_headers: 300,
            ..HeadLimits::default()
        };
        let mut lots = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        for i in 0..250 {
            lots.push_str(&format!("X-{i}: {i}\r\n"));
        }
        lots.push_str("\r\n");
        let (h, _) = parse_head(lots.as_bytes(), &roomy).unwrap().unwrap();
        assert_eq!(h.headers().len(), 251);
        assert_eq!(h.header("x-249"), Some(&b"249"[..]));
    }

    #[test]
    fn host_rules() {
        cases!(
            b"GET / HTTP/1.1\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n" => 400,
            b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost:\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: user@a\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a:b\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: :80\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: [zz]\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: ::1\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a%2\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a%4g:80\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a%41b:80\r\n\r\n" => 200,
            b"GET / HTTP/1.1\r\nHost: \xc3\xa9\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a:65535\r\n\r\n" => 200,
            b"GET / HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n\r\n" => 200,
            b"GET / HTTP/1.1\r\nHost: my-host_1.example.\r\n\r\n" => 200,
            b"GET / HTTP/1.1\r\nHost: a:\r\n\r\n" => 200,
            b"GET / HTTP/1.0\r\n\r\n" => 200,
        );
        let h = head(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
        assert_eq!(
            (h.host_without_port(), h.host_port()),
            (Some("[::1]"), Some(8080))
        );
        let h = head(b"GET / HTTP/1.1\r\nHost: [::FFFF:1.2.3.4]\r\n\r\n");
        assert_eq!(
            (h.host_without_port(), h.host_port()),
            (Some("[::ffff:1.2.3.4]"), None)
        );
        let h = head(b"GET / HTTP/1.1\r\nHost: a:\r\n\r\n");
        assert_eq!((h.host_without_port(), h.host_port()), (Some("a"), None));
        assert_eq!(head(b"GET / HTTP/1.0\r\n\r\n").host, None);
    }

    #[test]
    fn targets() {
        cases!(
            b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n" => 200,
            b"GET * HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GET a/b HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GET http:/a HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GET /a#f HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GET /a\0 HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
            b"GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n" => 400,
        );
        let h = head(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!((h.path(), h.query()), ("*", None));
        let h = head(b"GET HTTP://Other.Host:81/p/../q?a=%20 HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.absolute_host(), Some("other.host:81"));
        assert_eq!(h.effective_host(), Some("other.host"));
        assert_eq!(h.host(), Some("a"));
        assert_eq!((h.path(), h.query()), ("/q", Some("a=%20")));
        let h = head(b"GET https://h?x HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!((h.path(), h.query()), ("/", Some("x")));
        let h = head(b"GET http://h HTTP/1.0\r\n\r\n");
        assert_eq!((h.path(), h.effective_host()), ("/", Some("h")));
        let h = head(b"GET /a? HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!((h.path(), h.query()), ("/a", Some("")));
        let h = head(b"GET /a?b?c/../%zz HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!((h.path(), h.query()), ("/a", Some("b?c/../%zz")));
    }

    fn path_of(raw: &str) -> Result<String, u16> {
        let req = format!("GET {raw} HTTP/1.1\r\nHost: a\r\n\r\n");
        match parse(req.as_bytes()) {
            Ok(Some((h, _))) => Ok(h.path().to_owned()),
            Ok(None) => Err(0),
            Err(e) => Err(e.status),
        }
    }

    #[test]
    fn path_normalisation() {
        for (raw, want) in [
            ("/", Ok("/")),
            ("//", Ok("/")),
            ("/a//b", Ok("/a/b")),
            ("/a/./b", Ok("/a/b")),
            ("/a/b/..", Ok("/a/")),
            ("/a/b/../", Ok("/a/")),
            ("/a/b/.", Ok("/a/b/")),
            ("/a/.", Ok("/a/")),
            ("/a/..", Ok("/")),
            ("/a/../", Ok("/")),
            ("/.", Ok("/")),
            ("/./", Ok("/")),
            ("/a/b/../../c", Ok("/c")),
            ("/a/b/", Ok("/a/b/")),
            ("/a/b", Ok("/a/b")),
            ("/a/..b/c..", Ok("/a/..b/c..")),
            ("/a/.../b", Ok("/a/.../b")),
            ("/a\\..\\b", Ok("/a\\..\\b")),
            ("/a%20b", Ok("/a b")),
            ("/a%2fb", Ok("/a/b")),
            ("/a%2F..%2Fb", Ok("/b")),
            ("/%2e%2e/x", Err(400)),
            ("/a/%2e%2E/%2e/b", Ok("/b")),
            ("/caf%C3%A9", Ok("/caf\u{e9}")),
            ("/%E2%82%AC/", Ok("/\u{20ac}/")),
            ("/..", Err(400)),
            ("/../a", Err(400)),
            ("/a/../..", Err(400)),
            ("/a/../../b", Err(400)),
            ("/a%2f..%2f..%2fetc", Err(400)),
            ("/%00", Err(400)),
            ("/a%0", Err(400)),
            ("/a%", Err(400)),
            ("/a%g1", Err(400)),
            ("/a%1g", Err(400)),
            ("/%c0%ae%c0%ae/", Err(400)),
            ("/%ff", Err(400)),
            ("/%c3/../a", Err(400)),
            ("/%e2%82", Err(400)),
        ] {
            assert_eq!(path_of(raw), want.map(str::to_owned), "path {raw}");
        }
    }

    #[test]
    fn header_syntax() {
        cases!(
            b"GET / HTTP/1.1\r\nHost: a\r\n X: b\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\n\tX: b\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n  c\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\n Host: a\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost : a\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\nX b: c\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\nX(: c\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x1fb\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\nX\0: b\r\n\r\n" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\nX: \0" => 400,
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\r\n\r\n" => 200,
            b"GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n" => 200,
            b"GET / HTTP/1.1\r\nHost: a\r\nX: \xc3\xa9\r\n\r\n" => 200,
        );
        let h = head(b"GET / HTTP/1.1\r\nHost: a\r\nX:\t  b c \t\r\nY:\r\n\r\n");
        assert_eq!(h.header("x"), Some(&b"b c"[..]));
        assert_eq!(h.header("y"), Some(&b""[..]));
    }

    #[test]
    fn content_length() {
        cases!(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5.0\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n" => 400,
        );
        for (req, want) in [
            (
                &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"[..],
                5,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
                5,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,5 , 5\r\n\r\n",
                5,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 007\r\n\r\n",
                7,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
                0,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n",
                u64::MAX,
            ),
        ] {
            assert_eq!(head(req).body, BodyFraming::Length(want));
        }
        assert_eq!(
            head(b"POST / HTTP/1.1\r\nHost: a\r\n\r\n").body,
            BodyFraming::None
        );
    }

    #[test]
    fn transfer_encoding() {
        cases!(
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chun ked\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n\r\n" => 400,
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" => 501,
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\n\r\n" => 501,
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n" => 501,
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" => 400,
            b"POST / HTTP/1.0\r\nTransfer-Encoding: foo\r\n\r\n" => 400,
        );
        for req in [
            &b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:  chunked \r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n",
        ] {
            assert_eq!(head(req).body, BodyFraming::Chunked);
        }
    }

    #[test]
    fn connection_semantics() {
        for (req, want) in [
            (&b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..], true),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                false,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nConnection: CLOSE\r\n\r\n",
                false,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n",
                false,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\nConnection: close\r\n\r\n",
                false,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n",
                true,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n",
                false,
            ),
            (b"GET / HTTP/1.0\r\n\r\n", false),
            (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
            (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
            (
                b"GET / HTTP/1.0\r\nConnection: te, keep-alive\r\n\r\n",
                true,
            ),
            (
                b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
                false,
            ),
        ] {
            assert_eq!(
                head(req).keep_alive,
                want,
                "{:?}",
                String::from_utf8_lossy(req)
            );
        }
    }

    #[test]
    fn expect() {
        for (req, want) in [
            (
                &b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n"[..],
                Expect::Continue,
            ),
            (
                b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n",
                Expect::Continue,
            ),
            (
                b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n",
                Expect::Unsupported,
            ),
            (
                b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, foo\r\n\r\n",
                Expect::Unsupported,
            ),
            (
                b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nExpect: 100-continue\r\n\r\n",
                Expect::Unsupported,
            ),
            (b"PUT / HTTP/1.1\r\nHost: a\r\n\r\n", Expect::None),
            (
                b"PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
                Expect::None,
            ),
            (
                b"PUT / HTTP/1.0\r\nExpect: foo\r\n\r\n",
                Expect::Unsupported,
            ),
        ] {
            assert_eq!(head(req).expect, want, "{:?}", String::from_utf8_lossy(req));
        }
    }

    #[test]
    fn error_display() {
        let e = parse(b"GET / HTTP/2.0\r\n\r\n").unwrap_err();
        assert_eq!(e.to_string(), "505: HTTP version not supported");
    }

    mod prop {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            #[test]
            fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
                let limits = HeadLimits { max_target: 64, max_head: 256, max_headers: 8 };
                if let Ok(Some((h, n))) = parse_head(&data, &limits) {
                    prop_assert!(n <= data.len());
                    prop_assert!(h.path().starts_with('/') || h.path() == "*");
                }
            }

            #[test]
            fn mutated_requests_never_panic(
                pos in 0usize..80,
                byte in any::<u8>(),
                path in "(/[a-z.%2fF0]{0,4}){1,4}",
            ) {
                let mut req = format!("GET {path}?q HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n").into_bytes();
                let pos = pos % req.len();
                req[pos] = byte;
                if let Ok(Some((h, _))) = parse_head(&req, &HeadLimits::default()) {
                    prop_assert!(h.path().starts_with('/'));
                    prop_assert!(!h.path().contains("//"));
                    prop_assert!(!h.path().split('/').any(|s| s == "." || s == ".."));
                }
            }
        }
    }
}
