//! What answers a request: one decision over the routing table, the facts of the
//! request head and a view of the file system. The connection executes the
//! [`Decision`]; `webserv explain` prints it. Neither restates any part of it, so they
//! cannot disagree.
//!
//! The file system is seen through [`FsView`]: the server's view opens beneath the
//! document root with `openat2(RESOLVE_BENEATH)` and answers regular files from its
//! cache (`HandlerCtx`); `explain`'s ([`Disk`]) makes the same beneath-the-root opens
//! and only looks. Both see a symlink that leaves the root (403), a directory (301
//! without its slash, 409 for DELETE) or a missing file alike.

use std::io;
use std::path::Path;

use super::fs::Roots;
use super::http::request::{BodyFraming, Expect, Method, RequestHead};
use super::router::{Route, fs_target};
use crate::confc::model::{CgiRule, Methods, Modifier, Return};
use crate::confc::table::{Effective, RoutingTable};

/// What a path is, as far as an answer cares.
pub enum Entry<F> {
    /// A regular file, as the view keeps it (the server: its cached content; explain:
    /// its size).
    File(F),
    Dir,
    /// Neither (a FIFO, a socket, a device).
    Other,
}

/// The file system as the decision sees it.
pub trait FsView {
    /// A regular file as an answer needs it.
    type File;
    /// What `rel` beneath `base` is. The resolution never leaves `base`: a symlink out
    /// of it is `PermissionDenied`. May be answered from a cache.
    fn lookup(&mut self, base: &Path, rel: &str) -> io::Result<Entry<Self::File>>;
    /// The same, never from a cache and without reading the file (DELETE, a CGI
    /// script).
    fn probe(&mut self, base: &Path, rel: &str) -> io::Result<Entry<()>>;
    /// What a path outside any document root is (the upload store, the file a PUT
    /// replaces), following symlinks.
    fn kind(&mut self, path: &Path) -> io::Result<Entry<()>>;
}

/// The parts of a request head the decision reads.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub method: Method,
    /// Decoded and normalised; `*` for `OPTIONS *`.
    pub path: &'a str,
    pub expect: Expect,
    pub body: BodyFraming,
}

impl<'a> Facts<'a> {
    pub fn of(head: &'a RequestHead) -> Facts<'a> {
        Facts {
            method: head.method,
            path: head.path(),
            expect: head.expect,
            body: head.body,
        }
    }
}

/// What answers a request.
pub enum Decision<'a, F> {
    /// `OPTIONS *`: 200, with what the server as a whole supports in `Allow`.
    ServerOptions,
    /// A `return` directive: the server's own (tried before anything else) or the
    /// location's.
    Return { ret: &'a Return, server_level: bool },
    /// `OPTIONS` on a route: 204 with the location's methods in `Allow`.
    Options(Methods),
    /// A regular file: 200 (or 304, 206 or 416 by the request's conditional and Range
    /// fields). `name` gives the content type; `index` says it is a directory's index.
    File { file: F, name: &'a str, index: bool },
    /// A directory named without its trailing slash: 301 to the name with one.
    AddSlash,
    /// A directory without an index file, with `autoindex on`: 200 and a listing.
    Autoindex { base: &'a Path, rel: &'a str },
    /// DELETE of a file: 204 once it is unlinked.
    Delete { base: &'a Path, rel: &'a str },
    /// A CGI script runs; its output decides the status (200 when it names none).
    Cgi(CgiTarget<'a>),
    /// POST or PUT into `upload_store`: the status comes when the body is complete.
    Upload(UploadTarget<'a>),
    /// An error status, and how it is answered.
    Error(Failure<'a, F>),
}

/// The script a request runs: the first path segment with a CGI extension.
pub struct CgiTarget<'a> {
    pub rule: &'a CgiRule,
    /// The URI of the script (`SCRIPT_NAME`).
    pub script_uri: &'a str,
    /// What follows it (`PATH_INFO`), possibly empty.
    pub path_info: &'a str,
    /// The script's root and path beneath it.
    pub base: &'a Path,
    pub rel: &'a str,
}

/// Where an upload goes.
pub struct UploadTarget<'a> {
    /// The store directory.
    pub dir: &'a Path,
    pub kind: UploadKind<'a>,
}

pub enum UploadKind<'a> {
    /// POST: every file part (multipart) or the body (any other type) under a fresh
    /// name: 201.
    Post,
    /// PUT: this name in the store, created (201) or replaced (204).
    Put { name: &'a str, existed: bool },
}

/// An error status and what is sent for it.
pub struct Failure<'a, F> {
    pub status: u16,
    pub why: Why,
    /// The location's methods, for `Allow` (405).
    pub allow: Option<Methods>,
    pub page: Page<'a, F>,
}

/// The body of an error answer.
pub enum Page<'a, F> {
    /// The built-in page of the status.
    Builtin,
    /// `error_page ... http://...`: 302 to that URL instead.
    Redirect(&'a str),
    /// `error_page ... /uri`: that file, served with the error status. `uri` gives the
    /// content type.
    File { file: F, uri: &'a str },
}

impl<F> Failure<'_, F> {
    /// The status the client receives: 302 when an `error_page` redirects.
    pub fn sent_status(&self) -> u16 {
        match self.page {
            Page::Redirect(_) => 302,
            _ => self.status,
        }
    }
}

/// Why a request failed (what `explain` says after the status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    BodyTooLarge,
    Expectation,
    NotImplemented,
    MethodNotAllowed,
    NoUploadStore,
    LengthRequired,
    NotFound,
    /// Permission denied, or the path resolves outside the document root.
    Forbidden,
    NameTooLong,
    IoError,
    /// `/file.txt/`: a regular file named as a directory.
    FileAsDirectory,
    /// Neither a regular file nor a directory.
    NotRegular,
    NoIndex,
    /// DELETE of a directory.
    IsDirectory,
    CgiScriptMissing,
    CgiScriptForbidden,
    StoreNotDirectory,
    /// PUT naming the store itself.
    PutNoName,
    /// PUT naming a path below a directory of the store.
    PutNested,
    PutBadName,
    /// PUT naming a directory in the store.
    PutIsDirectory,
    /// A failure found while answering, not by the decision (a failed read, a bad
    /// body, a script's output).
    Later,
}

impl Why {
    pub fn text(self) -> &'static str {
        match self {
            Why::BodyTooLarge => "the body is larger than client_max_body_size",
            Why::Expectation => "an Expect other than 100-continue",
            Why::NotImplemented => "a method webserv does not implement",
            Why::MethodNotAllowed => "not in allow_methods",
            Why::NoUploadStore => "nothing here takes a body: no upload_store, no CGI",
            Why::LengthRequired => "a body is required, with Content-Length or chunked",
            Why::NotFound => "no such file",
            Why::Forbidden => "permission denied, or the path leaves the root",
            Why::NameTooLong => "a file name too long",
            Why::IoError => "the file could not be opened",
            Why::FileAsDirectory => "a file named with a trailing slash",
            Why::NotRegular => "neither a regular file nor a directory",
            Why::NoIndex => "a directory without an index file, autoindex off",
            Why::IsDirectory => "DELETE never removes a directory",
            Why::CgiScriptMissing => "the CGI script does not exist",
            Why::CgiScriptForbidden => {
                "the CGI script is not a regular file, or is outside the root"
            }
            Why::StoreNotDirectory => "upload_store is not a directory",
            Why::PutNoName => "PUT names the store itself, not a file in it",
            Why::PutNested => "PUT names a path below the store; no directories are made",
            Why::PutBadName => "PUT names a file the store does not accept",
            Why::PutIsDirectory => "PUT names a directory",
            Why::Later => "found while answering",
        }
    }
}

/// The `Allow` of `OPTIONS *`: what the server as a whole implements.
pub const SERVER_ALLOW: &str = "GET, HEAD, POST, PUT, DELETE, OPTIONS";

/// Whether a method is one webserv implements (others are 501).
pub fn implemented(m: Method) -> bool {
    matches!(
        m,
        Method::Get | Method::Head | Method::Post | Method::Put | Method::Delete | Method::Options
    )
}

/// The `allow_methods` bit of a method (none for one `allow_methods` cannot name): the
/// position of its name in `METHOD_NAMES`, without comparing names per request (a test
/// keeps the two in step).
fn method_bit(m: Method) -> Methods {
    let i = match m {
        Method::Get => 0,
        Method::Head => 1,
        Method::Post => 2,
        Method::Put => 3,
        Method::Delete => 4,
        Method::Options => 5,
        Method::Patch => 6,
        Method::Trace | Method::Connect | Method::Other => return Methods(0),
    };
    Methods(1 << i)
}

/// Decides what answers a request routed to `route`, in the order nginx does: a body
/// over the limit, the server's `return`, an unimplemented method, `allow_methods`,
/// the location's `return`, a missing body, CGI, then the method's own handler.
pub fn decide<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    req: &Facts<'a>,
    fs: &mut V,
) -> Decision<'a, V::File> {
    let settings = table.settings(route);
    let limit = settings.client_max_body_size.value;
    if matches!(req.body, BodyFraming::Length(n) if limit != 0 && n > limit) {
        return fail(table, route, 413, Why::BodyTooLarge, fs);
    }
    if req.path == "*" {
        return Decision::ServerOptions;
    }
    if req.expect == Expect::Unsupported {
        return fail(table, route, 417, Why::Expectation, fs);
    }
    if let Some(ret) = &table.servers[route.server].settings.ret.value {
        return Decision::Return {
            ret,
            server_level: true,
        };
    }
    if !implemented(req.method) {
        return fail(table, route, 501, Why::NotImplemented, fs);
    }
    let allowed = settings.allow_methods.value;
    if req.method != Method::Options && !allowed.contains(method_bit(req.method)) {
        return not_allowed(table, route, Why::MethodNotAllowed, fs);
    }
    if let Some(ret) = &settings.ret.value {
        return Decision::Return {
            ret,
            server_level: false,
        };
    }
    let takes_body = matches!(req.method, Method::Post | Method::Put);
    if takes_body && req.body == BodyFraming::None {
        return fail(table, route, 411, Why::LengthRequired, fs);
    }
    if req.method != Method::Options
        && !settings.cgi.value.is_empty()
        && let Some(target) = cgi_target(settings, req.path)
    {
        return cgi(table, route, target, fs);
    }
    match req.method {
        Method::Get | Method::Head => static_file(table, route, settings, req.path, fs),
        Method::Delete => delete(table, route, settings, req.path, fs),
        Method::Options => Decision::Options(allowed),
        _ => upload(table, route, settings, req, fs),
    }
}

/// The failure for `status` on `route`, with its `error_page` resolved.
pub fn failure<'a, V: FsView>(
    table: &'a RoutingTable,
    route: Option<&Route>,
    status: u16,
    why: Why,
    fs: &mut V,
) -> Failure<'a, V::File> {
    Failure {
        status,
        why,
        allow: None,
        page: route.map_or(Page::Builtin, |r| error_page(table, r, status, fs)),
    }
}

fn fail<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    status: u16,
    why: Why,
    fs: &mut V,
) -> Decision<'a, V::File> {
    Decision::Error(failure(table, Some(route), status, why, fs))
}

/// 405, with the location's methods in `Allow`.
fn not_allowed<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    why: Why,
    fs: &mut V,
) -> Decision<'a, V::File> {
    let mut f = failure(table, Some(route), 405, why, fs);
    f.allow = Some(table.settings(route).allow_methods.value);
    Decision::Error(f)
}

/// The configured `error_page` for a status: an external URL is a 302; a URI is an
/// internal redirect served with the original status (as nginx does) when the file is
/// there; anything else gets the built-in page.
fn error_page<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    status: u16,
    fs: &mut V,
) -> Page<'a, V::File> {
    let Some(uri) = table.settings(route).error_page(status) else {
        return Page::Builtin;
    };
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return Page::Redirect(uri);
    }
    let path = uri.split('?').next().unwrap_or(uri);
    let settings = match table.find_location(route.server, path, None) {
        Some(l) => &table.locations[l].settings,
        None => &table.servers[route.server].settings,
    };
    let (base, rel) = fs_target(settings, path);
    match fs.lookup(base, rel) {
        Ok(Entry::File(file)) => Page::File { file, uri: path },
        _ => Page::Builtin,
    }
}

/// An I/O error of an open as a status.
pub fn io_status(e: &io::Error) -> (u16, Why) {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::InvalidFilename => {
            (404, Why::NotFound)
        }
        io::ErrorKind::PermissionDenied => (403, Why::Forbidden),
        _ => match e.raw_os_error() {
            Some(libc::ENAMETOOLONG) => (414, Why::NameTooLong),
            Some(libc::ENOTDIR) | Some(libc::ENOENT) => (404, Why::NotFound),
            _ => (500, Why::IoError),
        },
    }
}

fn fail_io<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    e: &io::Error,
    fs: &mut V,
) -> Decision<'a, V::File> {
    let (status, why) = io_status(e);
    fail(table, route, status, why, fs)
}

/// GET and HEAD of a file or a directory.
fn static_file<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    settings: &'a Effective,
    path: &'a str,
    fs: &mut V,
) -> Decision<'a, V::File> {
    let (base, rel) = fs_target(settings, path);
    // The common case first: a regular file, usually straight from the cache.
    match fs.lookup(base, rel) {
        Ok(Entry::File(_)) if path.ends_with('/') => {
            // `/file.txt/` names a directory that is a file: nginx answers 404.
            fail(table, route, 404, Why::FileAsDirectory, fs)
        }
        Ok(Entry::File(file)) => Decision::File {
            file,
            name: path,
            index: false,
        },
        Ok(Entry::Dir) => directory(table, route, settings, path, base, rel, fs),
        Ok(Entry::Other) => fail(table, route, 403, Why::NotRegular, fs),
        Err(e) => fail_io(table, route, &e, fs),
    }
}

/// A directory: the slash it needs, its index file, its listing, or 403.
fn directory<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    settings: &'a Effective,
    path: &str,
    base: &'a Path,
    rel: &'a str,
    fs: &mut V,
) -> Decision<'a, V::File> {
    if !path.ends_with('/') {
        return Decision::AddSlash;
    }
    for index in &settings.index.value {
        let mut p = String::with_capacity(rel.len() + index.len() + 1);
        p.push_str(rel.trim_end_matches('/'));
        p.push('/');
        p.push_str(index);
        if let Ok(Entry::File(file)) = fs.lookup(base, &p) {
            return Decision::File {
                file,
                name: index,
                index: true,
            };
        }
    }
    if settings.autoindex.value {
        return Decision::Autoindex { base, rel };
    }
    fail(table, route, 403, Why::NoIndex, fs)
}

/// DELETE: a file (never a directory, never outside the root).
fn delete<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    settings: &'a Effective,
    path: &'a str,
    fs: &mut V,
) -> Decision<'a, V::File> {
    let (base, rel) = fs_target(settings, path);
    match fs.probe(base, rel) {
        Ok(Entry::Dir) => fail(table, route, 409, Why::IsDirectory, fs),
        Ok(_) => Decision::Delete { base, rel },
        Err(e) => fail_io(table, route, &e, fs),
    }
}

/// The CGI script in a request path, if any: the first path segment (left to right)
/// whose name has a `cgi` extension of the location.
pub fn cgi_target<'a>(settings: &'a Effective, path: &'a str) -> Option<CgiTarget<'a>> {
    if settings.cgi.value.is_empty() {
        return None;
    }
    let mut start = 1;
    loop {
        let end = path[start..].find('/').map_or(path.len(), |i| start + i);
        if let Some(rule) = settings.cgi_for(&path[start..end]) {
            let script_uri = &path[..end];
            let (base, rel) = fs_target(settings, script_uri);
            return Some(CgiTarget {
                rule,
                script_uri,
                path_info: &path[end..],
                base,
                rel,
            });
        }
        if end >= path.len() {
            return None;
        }
        start = end + 1;
    }
}

/// A CGI request runs if its script is a regular file inside the root.
fn cgi<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    target: CgiTarget<'a>,
    fs: &mut V,
) -> Decision<'a, V::File> {
    match fs.probe(target.base, target.rel) {
        Ok(Entry::File(())) => Decision::Cgi(target),
        Ok(_) => fail(table, route, 403, Why::CgiScriptForbidden, fs),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            fail(table, route, 403, Why::CgiScriptForbidden, fs)
        }
        Err(_) => fail(table, route, 404, Why::CgiScriptMissing, fs),
    }
}

/// POST and PUT: into `upload_store`, or 405 where there is none.
fn upload<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    settings: &'a Effective,
    req: &Facts<'a>,
    fs: &mut V,
) -> Decision<'a, V::File> {
    let Some(dir) = &settings.upload_store.value else {
        // Nothing here consumes a body: like nginx's static module, 405.
        return not_allowed(table, route, Why::NoUploadStore, fs);
    };
    if !matches!(fs.kind(dir), Ok(Entry::Dir)) {
        return fail(table, route, 500, Why::StoreNotDirectory, fs);
    }
    if req.method == Method::Post {
        return Decision::Upload(UploadTarget {
            dir,
            kind: UploadKind::Post,
        });
    }
    // The file the URI names inside the store: the part after a prefix location's
    // pattern, else the last segment. One level only: no directories are made.
    let rest = match route.location.map(|l| &table.locations[l]) {
        Some(l) if l.modifier.is_prefix() || l.modifier == Modifier::Exact => req
            .path
            .strip_prefix(l.pattern.as_str())
            .unwrap_or(req.path),
        _ => req.path.rsplit('/').next().unwrap_or(""),
    };
    let name = rest.trim_start_matches('/');
    let refused = if name.is_empty() || name.ends_with('/') {
        Some((409, Why::PutNoName))
    } else if name.contains('/') {
        Some((403, Why::PutNested))
    } else if super::multipart::sanitize_filename(name).as_deref() != Some(name) {
        Some((400, Why::PutBadName))
    } else {
        None
    };
    if let Some((status, why)) = refused {
        return fail(table, route, status, why, fs);
    }
    let existed = match fs.kind(&dir.join(name)) {
        Ok(Entry::Dir) => return fail(table, route, 409, Why::PutIsDirectory, fs),
        Ok(_) => true,
        Err(_) => false,
    };
    Decision::Upload(UploadTarget {
        dir,
        kind: UploadKind::Put { name, existed },
    })
}

/// `explain`'s view of the file system: the server's beneath-the-root opens, no cache,
/// nothing read. A file is its size.
#[derive(Default)]
pub struct Disk {
    roots: Roots,
}

fn entry_of(file: std::fs::File) -> io::Result<Entry<u64>> {
    let meta = file.metadata()?;
    Ok(if meta.is_file() {
        Entry::File(meta.len())
    } else if meta.is_dir() {
        Entry::Dir
    } else {
        Entry::Other
    })
}

impl FsView for Disk {
    type File = u64;

    fn lookup(&mut self, base: &Path, rel: &str) -> io::Result<Entry<u64>> {
        entry_of(self.roots.open(base, rel)?)
    }

    fn probe(&mut self, base: &Path, rel: &str) -> io::Result<Entry<()>> {
        Ok(unit(self.lookup(base, rel)?))
    }

    fn kind(&mut self, path: &Path) -> io::Result<Entry<()>> {
        Ok(kind_of(&std::fs::metadata(path)?))
    }
}

/// An entry without its file.
pub fn unit<F>(e: Entry<F>) -> Entry<()> {
    match e {
        Entry::File(_) => Entry::File(()),
        Entry::Dir => Entry::Dir,
        Entry::Other => Entry::Other,
    }
}

/// What metadata says a path is.
pub fn kind_of(meta: &std::fs::Metadata) -> Entry<()> {
    if meta.is_file() {
        Entry::File(())
    } else if meta.is_dir() {
        Entry::Dir
    } else {
        Entry::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_bits_follow_method_names() {
        for m in [
            Method::Get,
            Method::Head,
            Method::Post,
            Method::Put,
            Method::Delete,
            Method::Options,
            Method::Trace,
            Method::Connect,
            Method::Patch,
            Method::Other,
        ] {
            let by_name = Methods::from_name(m.as_str()).unwrap_or_default();
            assert_eq!(method_bit(m), by_name, "{m}");
        }
    }
}
