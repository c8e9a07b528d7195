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

use std::borrow::Cow;
use std::io;
use std::net::IpAddr;
use std::path::Path;

use super::fs::Roots;
use super::http::request::{BodyFraming, Expect, Method, RequestHead};
use super::router::{Route, fs_target};
use crate::confc::model::{
    CgiRule, ErrorStatus, Methods, Modifier, Return, Template, TryFallback, TryFiles,
    access_allowed,
};
use crate::confc::table::{Effective, RoutingTable};
use crate::confc::vars::Vars;

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

/// The parts of a request the decision reads.
#[derive(Clone, Copy)]
pub struct Facts<'a, 'v> {
    pub method: Method,
    /// Decoded and normalised; `*` for `OPTIONS *`. After a `try_files` rewrite or an
    /// internal redirect, the path the request has now.
    pub path: &'a str,
    pub expect: Expect,
    pub body: BodyFraming,
    /// The client's address (`allow`/`deny`).
    pub peer: IpAddr,
    /// The request head, for the fields only some blocks read (`Authorization` for
    /// `auth_basic`): looked up when needed, not per request.
    pub head: &'a RequestHead,
    /// The values of variables in `return`, `try_files` and `error_page` (only read
    /// while deciding: a decision never borrows them).
    pub vars: &'v dyn Vars,
    /// Whether `try_files` still applies: not to the file it found.
    pub try_files: bool,
}

impl<'a, 'v> Facts<'a, 'v> {
    /// The facts of `head`, now at `path`, from `peer`.
    pub fn new(
        head: &'a RequestHead,
        path: &'a str,
        peer: IpAddr,
        vars: &'v dyn Vars,
    ) -> Facts<'a, 'v> {
        Facts {
            method: head.method,
            path,
            expect: head.expect,
            body: head.body,
            peer,
            head,
            vars,
            try_files: true,
        }
    }
}

/// Internal redirects and `try_files` rewrites one request may go through.
pub const MAX_REWRITES: u8 = 10;

/// Where a request stands while [`Decision::Rewrite`]s move it: the one rule for
/// following them, kept by the connection and by `explain` alike, each of which asks
/// [`decide`] again at [`Rewrites::path`] until the answer is not a rewrite.
pub struct Rewrites {
    /// The path the request has now, once a rewrite changed it.
    uri: Option<String>,
    /// Whether `try_files` still applies: not after a rewrite it made in place.
    pub try_files: bool,
    count: u8,
}

impl Default for Rewrites {
    fn default() -> Self {
        Rewrites {
            uri: None,
            try_files: true,
            count: 0,
        }
    }
}

impl Rewrites {
    /// The path to decide for: the request's own (`original`) until a rewrite.
    pub fn path<'p>(&'p self, original: &'p str) -> &'p str {
        self.uri.as_deref().unwrap_or(original)
    }

    /// The path the last rewrite left, if any.
    pub fn uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// Whether [`MAX_REWRITES`] were followed: one more makes the request a loop
    /// (500, [`Why::RewriteLoop`]).
    pub fn exhausted(&self) -> bool {
        self.count >= MAX_REWRITES
    }

    /// Follows a rewrite to `next` (not [`exhausted`](Self::exhausted)); `relocate`, an
    /// internal redirect, finds the location again.
    pub fn follow(
        &mut self,
        table: &RoutingTable,
        route: &mut Route,
        mut next: String,
        relocate: bool,
    ) {
        self.count += 1;
        self.try_files = relocate;
        // The new URI's query is not kept: `$args` stay the request's.
        if let Some(q) = next.find('?') {
            next.truncate(q);
        }
        if relocate {
            route.location = table.find_location(route.server, &next, None);
        }
        self.uri = Some(next);
    }
}

/// A template's text for a request: as written when it holds no variable.
fn expand<'a>(t: &'a Template, vars: &dyn Vars) -> Cow<'a, str> {
    match t.as_literal() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(t.expand(vars)),
    }
}

/// What answers a request.
pub enum Decision<'a, F> {
    /// `OPTIONS *`: 200, with what the server as a whole supports in `Allow`.
    ServerOptions,
    /// A `return` directive: the server's own (tried before anything else) or the
    /// location's; `text` is its URL or body with the variables expanded.
    Return {
        ret: &'a Return,
        server_level: bool,
        text: Option<Cow<'a, str>>,
    },
    /// Go on with another path: a file `try_files` found, answered in this location
    /// (`relocate` false), or an internal redirect that matches locations again (its
    /// fallback URI).
    Rewrite { uri: String, relocate: bool },
    /// `OPTIONS` on a route: 204 with the location's methods in `Allow`.
    Options(Methods),
    /// A regular file: 200 (or 304, 206 or 416 by the request's conditional and Range
    /// fields). `name` gives the content type; `index` says it is a directory's index.
    /// `base` and `rel` are where it was opened (for `gzip_static`'s `.gz` beside it).
    File {
        file: F,
        name: &'a str,
        index: bool,
        base: &'a Path,
        rel: Cow<'a, str>,
    },
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
    /// The `auth_basic` realm, for `WWW-Authenticate` (401).
    pub realm: Option<&'a str>,
    pub page: Page<'a, F>,
}

/// The body of an error answer.
pub enum Page<'a, F> {
    /// The built-in page of the status.
    Builtin,
    /// `error_page ... http://...`: 302 to that URL instead.
    Redirect(Cow<'a, str>),
    /// `error_page ... [=status] /uri`: that file, of this media type (where the URI's
    /// location says), sent with `status` (the original one unless `=` changed it).
    File {
        file: F,
        uri: Cow<'a, str>,
        media: &'a str,
        status: u16,
    },
}

impl<F> Failure<'_, F> {
    /// The status the client receives: 302 when an `error_page` redirects.
    pub fn sent_status(&self) -> u16 {
        match self.page {
            Page::Redirect(_) => 302,
            Page::File { status, .. } => status,
            Page::Builtin => self.status,
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
    /// `deny` (or no `allow`) covers the client's address.
    AccessDenied,
    /// `auth_basic` and no valid user name and password.
    AuthRequired,
    /// `try_files` found none of its files and ends with `=code`.
    TryFiles,
    /// More than [`MAX_REWRITES`] internal redirects.
    RewriteLoop,
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
            Why::AccessDenied => "the client's address is denied (allow/deny)",
            Why::AuthRequired => "auth_basic: no valid user name and password",
            Why::TryFiles => "try_files found none of its files",
            Why::RewriteLoop => "more than 10 internal redirects",
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
    req: &Facts<'a, '_>,
    fs: &mut V,
) -> Decision<'a, V::File> {
    let settings = table.settings(route);
    let vars = req.vars;
    let limit = settings.client_max_body_size.value;
    if matches!(req.body, BodyFraming::Length(n) if limit != 0 && n > limit) {
        return fail(table, route, 413, Why::BodyTooLarge, vars, fs);
    }
    if req.path == "*" {
        return Decision::ServerOptions;
    }
    if req.expect == Expect::Unsupported {
        return fail(table, route, 417, Why::Expectation, vars, fs);
    }
    if let Some(ret) = &table.servers[route.server].settings.ret.value {
        return answer_return(ret, true, req);
    }
    if !implemented(req.method) {
        return fail(table, route, 501, Why::NotImplemented, vars, fs);
    }
    let allowed = settings.allow_methods.value;
    if req.method != Method::Options && !allowed.contains(method_bit(req.method)) {
        return not_allowed(table, route, Why::MethodNotAllowed, vars, fs);
    }
    if let Some(ret) = &settings.ret.value {
        return answer_return(ret, false, req);
    }
    // nginx's access phase: allow/deny, then auth_basic (a `return` comes before both).
    if !access_allowed(&settings.access.value, req.peer) {
        return fail(table, route, 403, Why::AccessDenied, vars, fs);
    }
    if let (Some(realm), Some(users)) = (
        &settings.auth_basic.value,
        &settings.auth_basic_user_file.value,
    ) && !super::auth::allowed(req.head.header("authorization"), users)
    {
        let mut f = failure(table, Some(route), 401, Why::AuthRequired, Some(vars), fs);
        f.realm = Some(realm);
        return Decision::Error(f);
    }
    if req.try_files
        && let Some(tf) = &settings.try_files.value
        && let Some(d) = try_files(table, route, settings, tf, req, fs)
    {
        return d;
    }
    let takes_body = matches!(req.method, Method::Post | Method::Put);
    if takes_body && req.body == BodyFraming::None {
        return fail(table, route, 411, Why::LengthRequired, vars, fs);
    }
    if req.method != Method::Options
        && !settings.cgi.value.is_empty()
        && let Some(target) = cgi_target(settings, req.path)
    {
        return cgi(table, route, target, vars, fs);
    }
    match req.method {
        Method::Get | Method::Head => static_file(table, route, settings, req.path, vars, fs),
        Method::Delete => delete(table, route, settings, req.path, vars, fs),
        Method::Options => Decision::Options(allowed),
        _ => upload(table, route, settings, req, fs),
    }
}

fn answer_return<'a, F>(ret: &'a Return, server_level: bool, req: &Facts) -> Decision<'a, F> {
    Decision::Return {
        ret,
        server_level,
        text: ret.text.as_ref().map(|t| expand(t, req.vars)),
    }
}

/// `try_files`: the first candidate that exists; `None` when it is the request's own
/// path (go on as without `try_files`), else a rewrite to it, or the fallback: an
/// internal redirect or a status.
fn try_files<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    settings: &'a Effective,
    tf: &'a TryFiles,
    req: &Facts<'a, '_>,
    fs: &mut V,
) -> Option<Decision<'a, V::File>> {
    let vars = req.vars;
    for t in &tf.files {
        let candidate = expand(t, req.vars);
        // As nginx: an argument written with a final `/` tests for a directory, and
        // the request goes on without that slash (so `$uri/` for `/dir` answers 301
        // to `/dir/`, and for `/dir/` its index); others test for a regular file.
        let test_dir = t.as_str().ends_with('/');
        let uri = if test_dir {
            &candidate[..candidate.len() - 1]
        } else {
            &candidate[..]
        };
        let (base, rel) = fs_target(settings, &candidate);
        let found = match fs.lookup(base, rel) {
            Ok(Entry::Dir) => test_dir,
            Ok(Entry::File(_)) => !test_dir,
            _ => false,
        };
        if found {
            if uri == req.path {
                return None;
            }
            return Some(Decision::Rewrite {
                uri: uri.to_string(),
                relocate: false,
            });
        }
    }
    Some(match &tf.fallback {
        TryFallback::Status(code) => fail(table, route, *code, Why::TryFiles, vars, fs),
        TryFallback::Uri(t) => Decision::Rewrite {
            uri: expand(t, req.vars).into_owned(),
            relocate: true,
        },
    })
}

/// The failure for `status` on `route`, with its `error_page` resolved.
pub fn failure<'a, V: FsView>(
    table: &'a RoutingTable,
    route: Option<&Route>,
    status: u16,
    why: Why,
    vars: Option<&dyn Vars>,
    fs: &mut V,
) -> Failure<'a, V::File> {
    Failure {
        status,
        why,
        allow: None,
        realm: None,
        page: route.map_or(Page::Builtin, |r| error_page(table, r, status, vars, fs)),
    }
}

fn fail<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    status: u16,
    why: Why,
    vars: &dyn Vars,
    fs: &mut V,
) -> Decision<'a, V::File> {
    Decision::Error(failure(table, Some(route), status, why, Some(vars), fs))
}

/// 405, with the location's methods in `Allow`.
fn not_allowed<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    why: Why,
    vars: &dyn Vars,
    fs: &mut V,
) -> Decision<'a, V::File> {
    let mut f = failure(table, Some(route), 405, why, Some(vars), fs);
    f.allow = Some(table.settings(route).allow_methods.value);
    Decision::Error(f)
}

/// The configured `error_page` for a status: an external URL is a 302; a URI is an
/// internal redirect served with the original status (as nginx does; `=code` sets
/// another, `=` the target's own) when the file is there; anything else gets the
/// built-in page. The target's variables are those of the request as it came.
fn error_page<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    status: u16,
    vars: Option<&dyn Vars>,
    fs: &mut V,
) -> Page<'a, V::File> {
    let Some(page) = table.settings(route).error_page(status) else {
        return Page::Builtin;
    };
    let uri = match (page.uri.as_literal(), vars) {
        (Some(s), _) => Cow::Borrowed(s),
        (None, Some(vars)) => Cow::Owned(page.uri.expand(vars)),
        // A failure found while answering has no request left to expand with.
        (None, None) => return Page::Builtin,
    };
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return Page::Redirect(uri);
    }
    let path = match uri.split_once('?') {
        Some((p, _)) => p,
        None => &uri,
    };
    let settings = match table.find_location(route.server, path, None) {
        Some(l) => &table.locations[l].settings,
        None => &table.servers[route.server].settings,
    };
    let (base, rel) = fs_target(settings, path);
    let sent = match page.status {
        ErrorStatus::Original => status,
        ErrorStatus::Set(s) => s,
        ErrorStatus::FromTarget => 200,
    };
    match fs.lookup(base, rel) {
        Ok(Entry::File(file)) => Page::File {
            file,
            media: super::mime::media_type(path, settings),
            uri: Cow::Owned(path.to_string()),
            status: sent,
        },
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
    vars: &dyn Vars,
    fs: &mut V,
) -> Decision<'a, V::File> {
    let (status, why) = io_status(e);
    fail(table, route, status, why, vars, fs)
}

/// GET and HEAD of a file or a directory.
fn static_file<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    settings: &'a Effective,
    path: &'a str,
    vars: &dyn Vars,
    fs: &mut V,
) -> Decision<'a, V::File> {
    let (base, rel) = fs_target(settings, path);
    // The common case first: a regular file, usually straight from the cache.
    match fs.lookup(base, rel) {
        Ok(Entry::File(_)) if path.ends_with('/') => {
            // `/file.txt/` names a directory that is a file: nginx answers 404.
            fail(table, route, 404, Why::FileAsDirectory, vars, fs)
        }
        Ok(Entry::File(file)) => Decision::File {
            file,
            name: path,
            index: false,
            base,
            rel: Cow::Borrowed(rel),
        },
        Ok(Entry::Dir) => directory(table, route, settings, path, vars, fs),
        Ok(Entry::Other) => fail(table, route, 403, Why::NotRegular, vars, fs),
        Err(e) => fail_io(table, route, &e, vars, fs),
    }
}

/// A directory: the slash it needs, its index file, its listing, or 403.
fn directory<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    settings: &'a Effective,
    path: &'a str,
    vars: &dyn Vars,
    fs: &mut V,
) -> Decision<'a, V::File> {
    if !path.ends_with('/') {
        return Decision::AddSlash;
    }
    let (base, rel) = fs_target(settings, path);
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
                base,
                rel: Cow::Owned(p),
            };
        }
    }
    if settings.autoindex.value {
        return Decision::Autoindex { base, rel };
    }
    fail(table, route, 403, Why::NoIndex, vars, fs)
}

/// DELETE: a file (never a directory, never outside the root).
fn delete<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    settings: &'a Effective,
    path: &'a str,
    vars: &dyn Vars,
    fs: &mut V,
) -> Decision<'a, V::File> {
    let (base, rel) = fs_target(settings, path);
    match fs.probe(base, rel) {
        Ok(Entry::Dir) => fail(table, route, 409, Why::IsDirectory, vars, fs),
        Ok(_) => Decision::Delete { base, rel },
        Err(e) => fail_io(table, route, &e, vars, fs),
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
    vars: &dyn Vars,
    fs: &mut V,
) -> Decision<'a, V::File> {
    match fs.probe(target.base, target.rel) {
        Ok(Entry::File(())) => Decision::Cgi(target),
        Ok(_) => fail(table, route, 403, Why::CgiScriptForbidden, vars, fs),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            fail(table, route, 403, Why::CgiScriptForbidden, vars, fs)
        }
        Err(_) => fail(table, route, 404, Why::CgiScriptMissing, vars, fs),
    }
}

/// POST and PUT: into `upload_store`, or 405 where there is none.
fn upload<'a, V: FsView>(
    table: &'a RoutingTable,
    route: &Route,
    settings: &'a Effective,
    req: &Facts<'a, '_>,
    fs: &mut V,
) -> Decision<'a, V::File> {
    let vars = req.vars;
    let Some(dir) = &settings.upload_store.value else {
        // Nothing here consumes a body: like nginx's static module, 405.
        return not_allowed(table, route, Why::NoUploadStore, vars, fs);
    };
    if !matches!(fs.kind(dir), Ok(Entry::Dir)) {
        return fail(table, route, 500, Why::StoreNotDirectory, vars, fs);
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
        return fail(table, route, status, why, vars, fs);
    }
    let existed = match fs.kind(&dir.join(name)) {
        Ok(Entry::Dir) => return fail(table, route, 409, Why::PutIsDirectory, vars, fs),
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
