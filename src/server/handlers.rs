//! Responses for what `dispatch::decide` chose: `return`, files (conditional and range
//! requests), the redirect to a directory's slash, autoindex, DELETE's unlink, built-in
//! and configured error pages; and the server's view of the file system (`FsView`
//! through the file cache). The connection does all socket I/O.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::dispatch::{self, Entry, Failure, FsView, Page, Why, kind_of};
use super::filecache::{Cached, Content, FileCache};
use super::fs::Roots;
use super::gzip;
use super::http::request::RequestHead;
use super::http::response::{file_headers, parse_http_date};
use super::pages::{self, error_page};
use super::router::Route;
use crate::confc::model::{Expires, Methods, adds_headers};
use crate::confc::table::{Effective, RoutingTable};
use crate::confc::vars::Vars;

/// What a response carries after its head.
pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// `len` bytes of `file` from `offset` (sent with sendfile or read in bounded chunks).
    File {
        file: Arc<File>,
        offset: u64,
        len: u64,
    },
    /// `len` bytes of a cached file's content from `offset`.
    Shared {
        data: Arc<[u8]>,
        offset: usize,
        len: usize,
    },
    /// A whole file too large to keep compressed, gzip-compressed at `level` as it is
    /// sent: chunked (HTTP/1.1) or ended by the close (HTTP/1.0).
    GzipFile {
        file: Arc<File>,
        len: u64,
        level: u32,
    },
}

impl Body {
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::File { len, .. } => *len,
            Body::Shared { len, .. } => *len as u64,
            // Not known before it is sent: the compressed bytes are counted as they go.
            Body::GzipFile { .. } => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A response before it is serialised.
pub struct Response {
    pub status: u16,
    /// Header lines shared with the file cache (see [`Cached::headers`]), sent
    /// before `headers`.
    pub shared_headers: Option<Arc<[u8]>>,
    /// Extra header lines, each ending in CRLF.
    pub headers: Vec<u8>,
    pub body: Body,
    /// Close the connection after this response.
    pub close: bool,
}

impl Response {
    pub fn new(status: u16, body: Body) -> Response {
        Response {
            status,
            shared_headers: None,
            headers: Vec::new(),
            body,
            close: false,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        if self.headers.capacity() == 0 {
            // Room for a file's Content-Type, Last-Modified, ETag and Accept-Ranges
            // without growing.
            self.headers.reserve(160);
        }
        super::http::response::header(&mut self.headers, name, value.as_bytes());
        self
    }

    fn text(status: u16, content_type: &str, text: String) -> Response {
        Response::new(status, Body::Bytes(text.into_bytes())).header("Content-Type", content_type)
    }
}

/// State a worker keeps for handlers.
pub struct HandlerCtx {
    /// The worker's clock, read after every poll and again for each later request of a
    /// pipelined run (`Conn::drive`): the file cache's 1 s trust window and the `Date`
    /// header use it instead of reading the clock again.
    pub now: Instant,
    pub roots: Roots,
    pub files: FileCache,
    /// Static files compressed for `gzip`.
    pub gz: super::gzip::GzCache,
    /// Built-in error pages, rendered once per status.
    pages: rustc_hash::FxHashMap<u16, Arc<[u8]>>,
    /// The last constant `add_header`/`expires` lines rendered (see [`HandlerCtx::added`]).
    added: Option<AddedCache>,
}

/// Lines that hold no variable, for one block of one table, in one second.
struct AddedCache {
    /// Held so that the block's address cannot be reused by another table.
    table: Arc<RoutingTable>,
    /// The block's address in `table` (compared, never read through).
    block: usize,
    second: i64,
    lines: Arc<Added>,
}

impl Default for HandlerCtx {
    fn default() -> Self {
        HandlerCtx {
            now: Instant::now(),
            roots: Roots::default(),
            files: FileCache::default(),
            gz: Default::default(),
            pages: Default::default(),
            added: None,
        }
    }
}

impl HandlerCtx {
    /// The `add_header`/`expires` lines of a request in the block `settings` of
    /// `table` at `now` (Unix seconds). When no value holds a variable they depend only
    /// on the block and the second, and are rendered once a second for the block last
    /// asked, as `Date` is.
    pub fn added(
        &mut self,
        table: &Arc<RoutingTable>,
        settings: &Effective,
        vars: &dyn Vars,
        now: i64,
    ) -> Arc<Added> {
        let constant = settings
            .add_headers
            .value
            .iter()
            .all(|h| h.value.as_literal().is_some());
        if !constant {
            return Arc::new(added(settings, vars, now));
        }
        let block = std::ptr::from_ref(settings) as usize;
        if let Some(c) = &self.added
            && c.block == block
            && c.second == now
            && Arc::ptr_eq(&c.table, table)
        {
            return c.lines.clone();
        }
        let lines = Arc::new(added(settings, vars, now));
        self.added = Some(AddedCache {
            table: table.clone(),
            block,
            second: now,
            lines: lines.clone(),
        });
        lines
    }

    /// The built-in page for an error status.
    fn builtin_page(&mut self, status: u16) -> Arc<[u8]> {
        self.pages
            .entry(status)
            .or_insert_with(|| error_page(status, None).into_bytes().into())
            .clone()
    }
}

/// The server's view of the file system: regular files from the cache, or opened
/// beneath their root and then cached.
impl FsView for HandlerCtx {
    type File = Arc<Cached>;

    fn lookup(&mut self, base: &Path, rel: &str) -> io::Result<Entry<Arc<Cached>>> {
        if let Some(hit) = self.files.get(base, rel, self.now) {
            return Ok(Entry::File(hit));
        }
        let seen = super::filecache::generation();
        let file = self.open(base, rel)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(if meta.is_dir() {
                Entry::Dir
            } else {
                Entry::Other
            });
        }
        let entry = Arc::new(Cached::load(file, &meta, rel)?);
        self.files.insert(base, rel, entry.clone(), seen);
        Ok(Entry::File(entry))
    }

    fn probe(&mut self, base: &Path, rel: &str) -> io::Result<Entry<()>> {
        Ok(kind_of(&self.open(base, rel)?.metadata()?))
    }

    fn kind(&mut self, path: &Path) -> io::Result<Entry<()>> {
        Ok(kind_of(&std::fs::metadata(path)?))
    }
}

impl HandlerCtx {
    fn open(&mut self, base: &Path, rel: &str) -> io::Result<File> {
        match self.roots.open(base, rel) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                // Out of descriptors: give back the cache's, so the next try can work.
                self.files.clear();
                Err(e)
            }
            r => r,
        }
    }
}

/// An error status, with the configured `error_page` (an internal redirect served with
/// the original status, as nginx does) or the built-in page.
pub fn error(
    ctx: &mut HandlerCtx,
    table: &RoutingTable,
    route: Option<&Route>,
    status: u16,
) -> Response {
    let f = dispatch::failure(table, route, status, Why::Later, None, ctx);
    failure(ctx, f)
}

/// The answer to a plain HTTP request on a TLS address: 400, and the connection closes.
pub fn plain_http_on_tls() -> Response {
    let mut r = Response::text(
        400,
        "text/html; charset=utf-8",
        super::pages::plain_http_on_tls_page(),
    );
    r.close = true;
    r
}

/// The answer to a failure.
pub fn failure(ctx: &mut HandlerCtx, f: Failure<'_, Arc<Cached>>) -> Response {
    let allow = f.allow.map(allow_header);
    let r = match f.page {
        Page::Redirect(uri) => Response::new(302, Body::Empty).header("Location", &uri),
        Page::File {
            file,
            media,
            status,
            ..
        } => Response::new(status, whole(&file))
            .header("Content-Type", &super::mime::content_type(media)),
        // A 405 page says which methods are allowed, so it is not the shared one.
        Page::Builtin if allow.is_some() => Response::text(
            f.status,
            "text/html; charset=utf-8",
            error_page(f.status, allow.as_deref()),
        ),
        Page::Builtin => {
            let page = ctx.builtin_page(f.status);
            let len = page.len();
            Response::new(
                f.status,
                Body::Shared {
                    data: page,
                    offset: 0,
                    len,
                },
            )
            .header("Content-Type", "text/html; charset=utf-8")
        }
    };
    let r = match &allow {
        Some(m) => r.header("Allow", m),
        None => r,
    };
    match f.realm {
        Some(realm) => r.header("WWW-Authenticate", &basic_challenge(realm)),
        None => r,
    }
}

/// `Basic realm="..."`, the realm as a quoted-string (RFC 9110 §5.6.4).
fn basic_challenge(realm: &str) -> String {
    let mut v = String::with_capacity(realm.len() + 16);
    v.push_str("Basic realm=\"");
    for c in realm.chars() {
        if c == '"' || c == '\\' {
            v.push('\\');
        }
        v.push(c);
    }
    v.push('"');
    v
}

/// A `return` directive's answer; `text` is its URL or body, variables expanded, and
/// a body's type is the block's `default_type` (as nginx).
pub fn answer_return(code: u16, text: Option<&str>, settings: &Effective) -> Response {
    if matches!(code, 301 | 302 | 303 | 307 | 308) {
        let loc = text.unwrap_or("/");
        let body = pages::redirect_page(code, loc);
        return Response::text(code, "text/html; charset=utf-8", body).header("Location", loc);
    }
    match text {
        Some(t) => Response::text(
            code,
            &super::mime::content_type(&settings.default_type.value),
            t.to_string(),
        ),
        None if code >= 400 => {
            Response::text(code, "text/html; charset=utf-8", error_page(code, None))
        }
        None => Response::new(code, Body::Empty),
    }
}

/// The `add_header` and `expires` lines of one request, rendered when it was routed
/// (its variables are known then) and written into whichever head answers it.
pub struct Added {
    /// For the statuses nginx adds them to ([`adds_headers`]).
    success: Vec<u8>,
    /// `add_header ... always`: for every status.
    always: Vec<u8>,
}

impl Added {
    /// Appends the lines that apply to a response with `status`.
    pub fn write(&self, w: &mut Vec<u8>, status: u16) {
        if adds_headers(status) {
            w.extend_from_slice(&self.success);
        }
        w.extend_from_slice(&self.always);
    }
}

/// Whether a block adds header lines to its responses.
pub fn adds_lines(settings: &Effective) -> bool {
    !settings.add_headers.value.is_empty() || settings.expires.value != Expires::Off
}

/// The `add_header` and `expires` lines of a block for one request, at `now` (Unix
/// seconds), as nginx writes them.
pub fn added(settings: &Effective, vars: &dyn Vars, now: i64) -> Added {
    use super::http::response::{header, push_http_date, push_u64};
    // Sized once: growing these line by line cost more than writing them.
    let lines = &settings.add_headers.value;
    let capacity = |always: bool| {
        let n = lines.iter().filter(|h| h.always == always).count();
        n * 64 + if always { 0 } else { 80 }
    };
    let mut a = Added {
        success: Vec::with_capacity(capacity(false)),
        always: Vec::with_capacity(capacity(true)),
    };
    let mut value = String::with_capacity(if lines.is_empty() { 0 } else { 64 });
    for h in lines {
        value.clear();
        h.value.expand_into(vars, &mut value);
        let out = if h.always {
            &mut a.always
        } else {
            &mut a.success
        };
        header(out, &h.name, value.as_bytes());
    }
    // nginx: `max` is the end of 2037 and ten years of max-age; `epoch` and a negative
    // time say no-cache.
    let (expires, max_age) = match settings.expires.value {
        Expires::Off => return a,
        Expires::Epoch => (1, None),
        Expires::Max => (2_145_916_555, Some(315_360_000)),
        Expires::Seconds(n) if n < 0 => (now + n, None),
        Expires::Seconds(n) => (now + n, Some(n.unsigned_abs())),
    };
    // Written in place: these lines go out with every response of the block.
    let w = &mut a.success;
    w.extend_from_slice(b"Expires: ");
    push_http_date(w, expires);
    w.extend_from_slice(b"\r\nCache-Control: ");
    match max_age {
        Some(n) => {
            w.extend_from_slice(b"max-age=");
            push_u64(w, n);
        }
        None => w.extend_from_slice(b"no-cache"),
    }
    w.extend_from_slice(b"\r\n");
    a
}

/// The `Allow` header value for a location.
pub fn allow_header(m: Methods) -> String {
    m.names().join(", ")
}

/// A directory named without its trailing slash: 301 to the name with one.
pub fn add_slash(head: &RequestHead) -> Response {
    let mut loc = crate::escape::url_path(head.path());
    loc.push('/');
    if let Some(q) = head.query() {
        loc.push('?');
        loc.push_str(q);
    }
    Response::text(
        301,
        "text/html; charset=utf-8",
        pages::redirect_page(301, &loc),
    )
    .header("Location", &loc)
}

fn io_status(e: &io::Error) -> u16 {
    dispatch::io_status(e).0
}

fn etag_matches(list: &[u8], tag: &str) -> bool {
    let list = String::from_utf8_lossy(list);
    list.split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == tag)
}

/// The body of a whole cached file.
fn whole(f: &Cached) -> Body {
    part(f, 0, f.size)
}

/// `len` bytes of a cached file from `offset`.
fn part(f: &Cached, offset: u64, len: u64) -> Body {
    match &f.content {
        Content::Bytes(data) => Body::Shared {
            data: data.clone(),
            offset: offset as usize,
            len: len as usize,
        },
        Content::File(file) => Body::File {
            file: file.clone(),
            offset,
            len,
        },
    }
}

/// A regular file, honouring If-None-Match, If-Modified-Since and a single Range.
pub fn file_response(f: &Cached, name: &str, head: &RequestHead, settings: &Effective) -> Response {
    let size = f.size;
    let tag = f.etag.as_str();
    let mtime = f.mtime;
    let last_modified = f.last_modified.as_str();
    if not_modified(tag, mtime, head) {
        return Response::new(304, Body::Empty)
            .header("ETag", tag)
            .header("Last-Modified", last_modified);
    }
    let mut status = 200;
    let (mut offset, mut len) = (0, size);
    let mut content_range = None;
    let range_applies = head.conditional_or_range
        && head.header("range").is_some()
        && match head.header("if-range") {
            None => true,
            Some(v) => v == tag.as_bytes() || v == last_modified.as_bytes(),
        };
    if range_applies && let Some(r) = head.header("range") {
        match parse_range(r, size) {
            RangeSpec::None => {}
            RangeSpec::Unsatisfiable => {
                return Response::text(416, "text/html; charset=utf-8", error_page(416, None))
                    .header("Content-Range", &format!("bytes */{size}"));
            }
            RangeSpec::Single(a, b) => {
                status = 206;
                offset = a;
                len = b - a + 1;
                content_range = Some(format!("bytes {a}-{b}/{size}"));
            }
        }
    }
    let mut r = Response::new(status, part(f, offset, len));
    match &f.headers {
        // Rendered with the built-in table, which is the one that applies here.
        Some(h) if settings.types.value.is_none() => r.shared_headers = Some(h.clone()),
        _ => {
            let media = super::mime::media_type(name, settings);
            file_headers(&mut r.headers, media, last_modified, tag)
        }
    }
    if let Some(cr) = content_range {
        r = r.header("Content-Range", &cr);
    }
    r
}

/// A regular file's answer: `gzip_static`'s `.gz` beside it or its cached `gzip` form
/// when the client accepts gzip and asks for no range, else the file as it is.
pub fn serve_file(
    h: &mut HandlerCtx,
    f: &Cached,
    name: &str,
    (base, rel): (&Path, &str),
    head: &RequestHead,
    settings: &Effective,
) -> Response {
    if !settings.gzip_static.value && !settings.gzip.value {
        return file_response(f, name, head, settings);
    }
    let ranged = head.conditional_or_range && head.header("range").is_some();
    let accepted = !ranged && gzip::accepted(head);
    let media = super::mime::media_type(name, settings);
    if settings.gzip_static.value && accepted {
        let gz_rel = format!("{rel}.gz");
        if let Ok(Entry::File(gz)) = h.lookup(base, &gz_rel) {
            return precompressed(&gz, media, head);
        }
    }
    if !gzip::applies(settings, media, 200) {
        return file_response(f, name, head, settings);
    }
    let level = settings.gzip_comp_level.value;
    if accepted && f.size >= settings.gzip_min_length.value {
        if f.size > gzip::MAX_FILE
            && let Content::File(file) = &f.content
        {
            return streamed(f, file, media, head, level);
        }
        if let Some(c) = h.gz.get(base, rel, f, media, level) {
            return compressed(f, &c, head);
        }
    }
    // The answer depends on Accept-Encoding, whichever it is.
    let r = file_response(f, name, head, settings);
    r.header("Vary", "Accept-Encoding")
}

/// Whether a conditional request's validators say the client's copy is current.
fn not_modified(tag: &str, mtime: i64, head: &RequestHead) -> bool {
    head.conditional_or_range
        && match head.header("if-none-match") {
            Some(inm) => etag_matches(inm, tag),
            None => head
                .header("if-modified-since")
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(parse_http_date)
                .is_some_and(|since| mtime <= since),
        }
}

/// A file's cached gzip form: 200 with the weak ETag nginx gives it, or 304.
fn compressed(f: &Cached, c: &gzip::Compressed, head: &RequestHead) -> Response {
    if not_modified(&f.etag, f.mtime, head) {
        return Response::new(304, Body::Empty)
            .header("ETag", &format!("W/{}", f.etag))
            .header("Last-Modified", &f.last_modified)
            .header("Vary", "Accept-Encoding");
    }
    let len = c.bytes.len();
    let mut r = Response::new(
        200,
        Body::Shared {
            data: c.bytes.clone(),
            offset: 0,
            len,
        },
    );
    r.shared_headers = Some(c.headers.clone());
    r
}

/// A file too large for the compressed cache: compressed as it is sent, with the same
/// header lines and validators as a cached one.
fn streamed(f: &Cached, file: &Arc<File>, media: &str, head: &RequestHead, level: u64) -> Response {
    if not_modified(&f.etag, f.mtime, head) {
        return Response::new(304, Body::Empty)
            .header("ETag", &format!("W/{}", f.etag))
            .header("Last-Modified", &f.last_modified)
            .header("Vary", "Accept-Encoding");
    }
    let body = Body::GzipFile {
        file: file.clone(),
        len: f.size,
        level: level.clamp(1, 9) as u32,
    };
    let mut r = Response::new(200, body);
    r.shared_headers = Some(gzip::header_lines(f, media).into());
    r
}

/// `gzip_static`: the `.gz` file, with its own validators and the original's type.
fn precompressed(gz: &Cached, media: &str, head: &RequestHead) -> Response {
    if not_modified(&gz.etag, gz.mtime, head) {
        return Response::new(304, Body::Empty)
            .header("ETag", &gz.etag)
            .header("Last-Modified", &gz.last_modified)
            .header("Vary", "Accept-Encoding");
    }
    let mut r = Response::new(200, whole(gz));
    file_headers(&mut r.headers, media, &gz.last_modified, &gz.etag);
    r.header("Content-Encoding", "gzip")
        .header("Vary", "Accept-Encoding")
}

/// A page webserv wrote (a listing, a built-in error page), compressed per response
/// when `gzip` applies to HTML here and the client accepts it.
pub fn gzip_page(r: Response, settings: &Effective, head: &RequestHead) -> Response {
    if !gzip::applies(settings, "text/html", r.status) {
        return r;
    }
    let data = match &r.body {
        Body::Bytes(b) => &b[..],
        Body::Shared { data, offset, len } => &data[*offset..offset + len],
        _ => return r,
    };
    if (data.len() as u64) < settings.gzip_min_length.value || !gzip::accepted(head) {
        return r.header("Vary", "Accept-Encoding");
    }
    let gz = gzip::compress(data, settings.gzip_comp_level.value);
    Response {
        body: Body::Bytes(gz),
        ..r
    }
    .header("Content-Encoding", "gzip")
    .header("Vary", "Accept-Encoding")
}

/// What a `Range` header asks of a file (public for the fuzz targets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// Ignore the header (malformed, or several ranges): serve the whole file.
    None,
    Unsatisfiable,
    /// Inclusive byte positions.
    Single(u64, u64),
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` (RFC 9110 §14.1.2). Several ranges are answered
/// with the whole representation, which the RFC allows.
pub fn parse_range(v: &[u8], size: u64) -> RangeSpec {
    let Ok(v) = std::str::from_utf8(v) else {
        return RangeSpec::None;
    };
    let Some(spec) = v.trim().strip_prefix("bytes=") else {
        return RangeSpec::None;
    };
    if spec.contains(',') {
        return RangeSpec::None;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeSpec::None;
    };
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    match (a.is_empty(), b.is_empty()) {
        (true, true) => RangeSpec::None,
        (true, false) => match num(b) {
            Some(0) => RangeSpec::Unsatisfiable,
            Some(n) if size == 0 => {
                let _ = n;
                RangeSpec::Unsatisfiable
            }
            Some(n) => RangeSpec::Single(size.saturating_sub(n), size - 1),
            None => RangeSpec::None,
        },
        (false, _) => {
            let Some(start) = num(a) else {
                return RangeSpec::None;
            };
            let end = if b.is_empty() {
                size.saturating_sub(1)
            } else {
                match num(b) {
                    Some(e) if e >= start => e.min(size.saturating_sub(1)),
                    _ => return RangeSpec::None,
                }
            };
            if start >= size {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::Single(start, end)
            }
        }
    }
}

/// The HTML listing of a directory: names the server would serve (a symlink that
/// leaves the root, a FIFO or a name that is not UTF-8 is left out), directories first.
pub fn autoindex(
    ctx: &mut HandlerCtx,
    table: &RoutingTable,
    route: &Route,
    head: &RequestHead,
    base: &std::path::Path,
    rel: &str,
) -> Response {
    let dir = base.join(rel.trim_start_matches('/'));
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => return error(ctx, table, Some(route), io_status(&e)),
    };
    let mut rows: Vec<pages::Entry> = Vec::new();
    let mut path = String::with_capacity(rel.len() + 64);
    for e in entries.flatten() {
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        // The same open the server does to answer the link: beneath the root.
        path.clear();
        path.push_str(rel.trim_end_matches('/'));
        path.push('/');
        path.push_str(&name);
        let Ok(m) = ctx.roots.open(base, &path).and_then(|f| f.metadata()) else {
            continue;
        };
        if !m.is_dir() && !m.is_file() {
            continue;
        }
        rows.push(pages::Entry {
            name,
            is_dir: m.is_dir(),
            size: m.len(),
            mtime: m.mtime(),
        });
    }
    rows.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    let html = pages::listing(head.path(), &rows);
    Response::text(200, "text/html; charset=utf-8", html)
}

/// DELETE of a file the decision found beneath its root: 204 once it is unlinked.
pub fn delete(
    ctx: &mut HandlerCtx,
    table: &RoutingTable,
    route: &Route,
    base: &Path,
    rel: &str,
) -> Response {
    // The decision's open proved the path resolves beneath the root; unlink the same
    // name.
    let removed = std::fs::remove_file(base.join(rel.trim_start_matches('/')));
    super::filecache::touch();
    match removed {
        Ok(()) => Response::new(204, Body::Empty),
        Err(e) => error(ctx, table, Some(route), io_status(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(v: &str, size: u64) -> Option<(u64, u64)> {
        match parse_range(v.as_bytes(), size) {
            RangeSpec::Single(a, b) => Some((a, b)),
            RangeSpec::Unsatisfiable => Some((u64::MAX, u64::MAX)),
            RangeSpec::None => None,
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(range("bytes=-200", 100), Some((0, 99)));
        assert_eq!(range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(range("bytes=100-", 100), Some((u64::MAX, u64::MAX)));
        assert_eq!(range("bytes=-0", 100), Some((u64::MAX, u64::MAX)));
        assert_eq!(range("bytes=0-1,5-6", 100), None);
        assert_eq!(range("bytes=9-1", 100), None);
        assert_eq!(range("items=0-1", 100), None);
        assert_eq!(range("bytes=a-b", 100), None);
    }

    #[test]
    fn etags() {
        assert!(etag_matches(b"\"a\", \"b\"", "\"b\""));
        assert!(etag_matches(b"W/\"b\"", "\"b\""));
        assert!(etag_matches(b"*", "\"b\""));
        assert!(!etag_matches(b"\"c\"", "\"b\""));
    }
}
