//! The directive table: every directive webserv knows, once. Validation, did-you-mean,
//! `routes`, the README's directive reference and editor tooling all read this table;
//! no other module matches directive names (nginx's `ngx_command_t`, ripgrep's flag defs).
//!
//! Each row has a typed setter that runs only after the generic checks in `lower`
//! (context, `;` vs `{`, arity, duplicates) passed.

use std::path::{Path, PathBuf};

use super::ast::{Directive, Token};
use super::diag::{Code, Diag, Diags};
use super::model::{
    CgiRule, DocRoot, ErrorPage, LOG_LEVELS, LogTarget, METHOD_NAMES, Methods, Modifier, Return,
};
use super::raw::{MainConf, ServerConf, Set, Settings};
use super::source::{SourceMap, Span};
use super::values::{self, Bad};

/// A configuration context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ctx {
    Main,
    Server,
    Location,
}

impl Ctx {
    pub fn as_str(self) -> &'static str {
        match self {
            Ctx::Main => "main",
            Ctx::Server => "server",
            Ctx::Location => "location",
        }
    }
}

/// What a directive does once it passed the generic checks.
#[derive(Clone, Copy)]
pub enum Apply {
    /// Opens a `server` block.
    Server,
    /// Opens a `location` block.
    Location,
    /// Expanded by the loader before anything else runs.
    Include,
    /// A setting that exists at every level and is merged by inheritance.
    Setting(fn(&mut Settings, &Directive, &mut Cx)),
    /// A `main`-only setting.
    Main(fn(&mut MainConf, &Directive, &mut Cx)),
    /// A `server`-only setting that is not inherited.
    ServerOnly(fn(&mut ServerConf, &Directive, &mut Cx)),
}

/// One directive.
pub struct Spec {
    pub name: &'static str,
    pub contexts: &'static [Ctx],
    pub min_args: usize,
    pub max_args: usize,
    /// What each argument holds (the last entry stands for all later ones), for editor
    /// completion.
    pub args: &'static [Arg],
    pub block: bool,
    pub repeatable: bool,
    pub inherited: bool,
    /// As the user would write it; `None` when there is no default.
    pub default: Option<&'static str>,
    pub syntax: &'static str,
    pub doc: &'static str,
    pub apply: Apply,
}

/// What an argument holds: the values an editor offers at its position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Free text: nothing to offer.
    Text,
    /// One of these words.
    Words(&'static [&'static str]),
    /// A path relative to the config file's directory (directories only, or any file),
    /// or one of these words.
    Path {
        dirs_only: bool,
        words: &'static [&'static str],
    },
    /// A status code; these are the common ones.
    Status(&'static [u16]),
    /// A URI this server serves (a path under the effective root), or a status code
    /// (`error_page`'s codes come before its URI).
    Uri(&'static [u16]),
}

const DIR: Arg = Arg::Path {
    dirs_only: true,
    words: &[],
};
const FILE: Arg = Arg::Path {
    dirs_only: false,
    words: &[],
};
const FLAGS: &[&str] = &["on", "off"];
const LOCATION_MODIFIERS: &[&str] = &["=", "^~", "~", "~*"];
const ERROR_STATUSES: &[u16] = &[400, 403, 404, 405, 408, 413, 500, 502, 503, 504];

const ALL: &[Ctx] = &[Ctx::Main, Ctx::Server, Ctx::Location];
const MAIN_SERVER: &[Ctx] = &[Ctx::Main, Ctx::Server];
const MANY: usize = usize::MAX;

/// The table. Order is documentation order.
pub static DIRECTIVES: &[Spec] = &[
    Spec {
        name: "server",
        contexts: &[Ctx::Main],
        min_args: 0,
        max_args: 0,
        args: &[],
        block: true,
        repeatable: true,
        inherited: false,
        default: None,
        syntax: "server { ... }",
        doc: "A virtual server.",
        apply: Apply::Server,
    },
    Spec {
        name: "listen",
        contexts: &[Ctx::Server],
        min_args: 1,
        max_args: 2,
        args: &[Arg::Text, Arg::Words(&["default_server"])],
        block: false,
        repeatable: true,
        inherited: false,
        default: Some("*:8080"),
        syntax: "listen [addr:]port [default_server];",
        doc: "An address and port this server accepts connections on; `default_server` makes it the fallback for unknown Host values.",
        apply: Apply::ServerOnly(set_listen),
    },
    Spec {
        name: "server_name",
        contexts: &[Ctx::Server],
        min_args: 1,
        max_args: MANY,
        args: &[Arg::Text],
        block: false,
        repeatable: true,
        inherited: false,
        default: Some("\"\""),
        syntax: "server_name name ...;",
        doc: "Host names of this server: exact, `*.example.com`, `mail.*`, `.example.com`, `~regex` (nginx precedence).",
        apply: Apply::ServerOnly(set_server_name),
    },
    Spec {
        name: "location",
        contexts: &[Ctx::Server, Ctx::Location],
        min_args: 1,
        max_args: 2,
        args: &[Arg::Words(LOCATION_MODIFIERS), Arg::Text],
        block: true,
        repeatable: true,
        inherited: false,
        default: None,
        syntax: "location [= | ^~ | ~ | ~*] pattern { ... }",
        doc: "Settings for request paths that match (nginx matching: exact, longest prefix, `^~`, regexes in file order).",
        apply: Apply::Location,
    },
    Spec {
        name: "root",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[DIR],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("html"),
        syntax: "root path;",
        doc: "Directory the request URI is appended to. Relative paths are relative to the config file's directory.",
        apply: Apply::Setting(set_root),
    },
    Spec {
        name: "alias",
        contexts: &[Ctx::Location],
        min_args: 1,
        max_args: 1,
        args: &[DIR],
        block: false,
        repeatable: false,
        inherited: true,
        default: None,
        syntax: "alias path;",
        doc: "Replaces the location's prefix with `path` (not with `root` in the same block, not in regex locations).",
        apply: Apply::Setting(set_alias),
    },
    Spec {
        name: "index",
        contexts: ALL,
        min_args: 1,
        max_args: MANY,
        args: &[Arg::Text],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("index.html"),
        syntax: "index file ...;",
        doc: "Files tried in order for a directory URI.",
        apply: Apply::Setting(set_index),
    },
    Spec {
        name: "autoindex",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Words(FLAGS)],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("off"),
        syntax: "autoindex on | off;",
        doc: "HTML directory listing when no index file exists.",
        apply: Apply::Setting(set_autoindex),
    },
    Spec {
        name: "allow_methods",
        contexts: ALL,
        min_args: 1,
        max_args: MANY,
        args: &[Arg::Words(METHOD_NAMES)],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("GET HEAD"),
        syntax: "allow_methods method ...;",
        doc: "Methods accepted here; others get 405 with `Allow`. `GET` implies `HEAD`.",
        apply: Apply::Setting(set_allow_methods),
    },
    Spec {
        name: "return",
        contexts: &[Ctx::Server, Ctx::Location],
        min_args: 1,
        max_args: 2,
        args: &[
            Arg::Status(&[301, 302, 303, 307, 308, 200, 204, 403, 404, 410, 500, 503]),
            Arg::Text,
        ],
        block: false,
        repeatable: false,
        inherited: false,
        default: None,
        syntax: "return code [url | text];",
        doc: "Answers at once: 301/302/303/307/308 redirect to `url`; other codes with `text` as the body. A server-level `return` applies before location matching.",
        apply: Apply::Setting(set_return),
    },
    Spec {
        name: "error_page",
        contexts: ALL,
        min_args: 2,
        max_args: MANY,
        args: &[Arg::Status(ERROR_STATUSES), Arg::Uri(ERROR_STATUSES)],
        block: false,
        repeatable: true,
        inherited: true,
        default: None,
        syntax: "error_page code ... uri;",
        doc: "Serves `uri` (an internal redirect) with the original status for these codes.",
        apply: Apply::Setting(set_error_page),
    },
    Spec {
        name: "client_max_body_size",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Text],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("1m"),
        syntax: "client_max_body_size size;",
        doc: "Largest request body accepted (`0` = no limit); larger gets 413.",
        apply: Apply::Setting(set_body_size),
    },
    Spec {
        name: "upload_store",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[DIR],
        block: false,
        repeatable: false,
        inherited: true,
        default: None,
        syntax: "upload_store dir;",
        doc: "Enables POST (multipart or raw) and PUT uploads into `dir`.",
        apply: Apply::Setting(set_upload_store),
    },
    Spec {
        name: "cgi",
        contexts: ALL,
        min_args: 1,
        max_args: 2,
        args: &[Arg::Text, FILE],
        block: false,
        repeatable: true,
        inherited: true,
        default: None,
        syntax: "cgi .ext [interpreter];",
        doc: "Runs files with this extension as CGI scripts, with `interpreter` or directly.",
        apply: Apply::Setting(set_cgi),
    },
    Spec {
        name: "cgi_timeout",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Text],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("60s"),
        syntax: "cgi_timeout time;",
        doc: "A CGI silent for this long is killed; 504 if nothing was sent yet.",
        apply: Apply::Setting(set_cgi_timeout),
    },
    Spec {
        name: "keepalive_timeout",
        contexts: MAIN_SERVER,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Text],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("75s"),
        syntax: "keepalive_timeout time;",
        doc: "How long an idle keep-alive connection is kept (`0` disables keep-alive).",
        apply: Apply::Setting(set_keepalive_timeout),
    },
    Spec {
        name: "client_header_timeout",
        contexts: MAIN_SERVER,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Text],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("60s"),
        syntax: "client_header_timeout time;",
        doc: "Total time allowed for a request head.",
        apply: Apply::Setting(set_client_header_timeout),
    },
    Spec {
        name: "client_body_timeout",
        contexts: MAIN_SERVER,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Text],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("60s"),
        syntax: "client_body_timeout time;",
        doc: "Longest pause allowed while reading a request body.",
        apply: Apply::Setting(set_client_body_timeout),
    },
    Spec {
        name: "client_body_min_rate",
        contexts: MAIN_SERVER,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Text],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("500"),
        syntax: "client_body_min_rate size;",
        doc: "Slowest average rate of a request body in bytes per second (`0` = none): a body may take `client_body_timeout` plus a second per this many bytes; slower gets 408.",
        apply: Apply::Setting(set_client_body_min_rate),
    },
    Spec {
        name: "send_timeout",
        contexts: MAIN_SERVER,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Text],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("60s"),
        syntax: "send_timeout time;",
        doc: "Longest pause allowed while the client reads the response.",
        apply: Apply::Setting(set_send_timeout),
    },
    Spec {
        name: "access_log",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Path {
            dirs_only: false,
            words: &["off", "stdout"],
        }],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("off"),
        syntax: "access_log path | stdout | off;",
        doc: "Access log in combined format.",
        apply: Apply::Setting(set_access_log),
    },
    Spec {
        name: "error_log",
        contexts: &[Ctx::Main],
        min_args: 1,
        max_args: 2,
        args: &[
            Arg::Path {
                dirs_only: false,
                words: &["stderr"],
            },
            Arg::Words(LOG_LEVELS),
        ],
        block: false,
        repeatable: false,
        inherited: false,
        default: Some("stderr warn"),
        syntax: "error_log path | stderr [level];",
        doc: "Where server errors go, and the least severe level logged.",
        apply: Apply::Main(set_error_log),
    },
    Spec {
        name: "worker_processes",
        contexts: &[Ctx::Main],
        min_args: 1,
        max_args: 1,
        args: &[Arg::Words(&["auto"])],
        block: false,
        repeatable: false,
        inherited: false,
        default: Some("auto"),
        syntax: "worker_processes auto | N;",
        doc: "Worker threads, each with its own event loop (`auto` = one per core).",
        apply: Apply::Main(set_worker_processes),
    },
    Spec {
        name: "worker_connections",
        contexts: &[Ctx::Main],
        min_args: 1,
        max_args: 1,
        args: &[Arg::Text],
        block: false,
        repeatable: false,
        inherited: false,
        default: Some("4096"),
        syntax: "worker_connections N;",
        doc: "Connections per worker; past it, a new client gets the place of an idle keep-alive connection, else of the slowest client (accepting pauses only while every one waits on the server).",
        apply: Apply::Main(set_worker_connections),
    },
    Spec {
        name: "include",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[FILE],
        block: false,
        repeatable: true,
        inherited: false,
        default: None,
        syntax: "include glob;",
        doc: "Inserts the directives of the matching files (sorted), relative to this file's directory.",
        apply: Apply::Include,
    },
];

/// The row for a directive name.
pub fn lookup(name: &str) -> Option<&'static Spec> {
    DIRECTIVES.iter().find(|s| s.name == name)
}

/// How an editor names a `server` block from its contents: its first `server_name` and
/// its first `listen`, as written.
pub fn server_title(items: &[Directive]) -> String {
    let first = |name: &str| {
        items
            .iter()
            .find(|d| d.name.text == name && !d.args.is_empty())
            .map(|d| d.args[0].text.as_str())
    };
    let mut title = String::from("server");
    for part in [first("server_name"), first("listen")]
        .into_iter()
        .flatten()
    {
        title.push(' ');
        title.push_str(part);
    }
    title
}

/// Whether `name` is a directive (used by the parser to spot a missing `;`).
pub fn is_directive(name: &str) -> bool {
    lookup(name).is_some()
}

// ---- setters -------------------------------------------------------------------------

/// What setters need besides the directive.
pub struct Cx<'a> {
    pub diags: &'a mut Diags,
    pub sources: &'a SourceMap,
    /// The enclosing location's modifier and pattern (for `alias`).
    pub location: Option<(Modifier, String)>,
}

impl Cx<'_> {
    /// The directory of the file that holds `span`.
    pub fn dir_of(&self, span: Span) -> &Path {
        self.sources.file(span.file).dir()
    }
}

fn value_diag(tok: &Token, bad: Bad) -> Diag {
    let d = Diag::new(bad.code, tok.span, bad.message)
        .label("invalid value")
        .help(bad.help);
    match bad.suggestion {
        Some(s) => d.fix(format!("replace with `{s}`"), tok.span, s),
        None => d,
    }
}

fn set<T>(value: T, d: &Directive) -> Option<Set<T>> {
    Some(Set {
        value,
        span: d.head_span(),
    })
}

/// Resolves a path argument against the directory of the file that holds it.
fn path_arg(tok: &Token, cx: &Cx) -> PathBuf {
    cx.sources.file(tok.span.file).resolve(&tok.text)
}

fn check_path(tok: &Token, diags: &mut Diags) -> bool {
    if tok.text.is_empty() || tok.text.contains('\0') {
        diags.push(
            Diag::new(Code::BadParameter, tok.span, "empty or NUL-containing path")
                .label("invalid path")
                .help("give a directory path, absolute or relative to this file"),
        );
        return false;
    }
    true
}

/// `root` and `alias` both set the document root: the second one in a block is an
/// error that names both places. True when it was reported.
fn root_and_alias(s: &Settings, d: &Directive, cx: &mut Cx, this: &str, other: &str) -> bool {
    let Some(prev) = &s.root else { return false };
    cx.diags.push(
        Diag::new(
            Code::RootAndAlias,
            d.head_span(),
            "`root` and `alias` in the same block",
        )
        .label(format!("`{this}` here"))
        .with(prev.span, format!("`{other}` here"))
        .help("use one: `root` appends the URI to the path, `alias` replaces the location prefix"),
    );
    true
}

fn set_root(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    let tok = &d.args[0];
    if !check_path(tok, cx.diags) {
        return;
    }
    if root_and_alias(s, d, cx, "root", "alias") {
        return;
    }
    s.root = set(DocRoot::Root(path_arg(tok, cx)), d);
}

fn set_alias(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    let tok = &d.args[0];
    if !check_path(tok, cx.diags) {
        return;
    }
    if root_and_alias(s, d, cx, "alias", "root") {
        return;
    }
    let Some((modifier, pattern)) = cx.location.clone() else {
        return;
    };
    if modifier.is_regex() {
        cx.diags.push(
            Diag::new(
                Code::AliasInRegex,
                d.head_span(),
                "`alias` inside a regex location",
            )
            .label("webserv has no regex captures to build the path from")
            .help("use `root` in regex locations"),
        );
        return;
    }
    s.root = set(
        DocRoot::Alias {
            path: path_arg(tok, cx),
            prefix: pattern,
        },
        d,
    );
}

fn set_index(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    for a in &d.args {
        if a.text.is_empty() || a.text.contains('/') {
            cx.diags.push(
                Diag::new(
                    Code::BadParameter,
                    a.span,
                    format!("`{}` is not an index file name", a.text),
                )
                .label("invalid index file")
                .help("index names are file names without `/`, like `index.html`"),
            );
            return;
        }
    }
    s.index = set(d.args.iter().map(|a| a.text.clone()).collect(), d);
}

fn set_autoindex(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    match values::flag(&d.args[0].text) {
        Ok(v) => s.autoindex = set(v, d),
        Err(b) => cx.diags.push(value_diag(&d.args[0], b)),
    }
}

fn set_allow_methods(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    let mut m = Methods::default();
    for a in &d.args {
        match Methods::from_name(&a.text) {
            Some(bit) => m.insert(bit),
            None => {
                let mut diag = Diag::new(
                    Code::BadMethod,
                    a.span,
                    format!("unknown method `{}`", a.text),
                )
                .label("not a method webserv knows");
                let upper = a.text.to_ascii_uppercase();
                diag = match METHOD_NAMES.iter().find(|n| **n == upper) {
                    Some(n) => diag
                        .help(format!("methods are case-sensitive: did you mean `{n}`?"))
                        .fix(format!("replace with `{n}`"), a.span, *n),
                    None => match super::diag::did_you_mean(
                        &upper.to_ascii_lowercase(),
                        METHOD_NAMES
                            .iter()
                            .map(|s| s.to_ascii_lowercase())
                            .collect::<Vec<_>>()
                            .iter()
                            .map(|s| s.as_str()),
                    ) {
                        Some(n) => {
                            let n = n.to_ascii_uppercase();
                            diag.help(format!(
                                "did you mean `{n}`? valid methods: {}",
                                METHOD_NAMES.join(" ")
                            ))
                            .fix(
                                format!("replace with `{n}`"),
                                a.span,
                                n,
                            )
                        }
                        None => diag.help(format!("valid methods: {}", METHOD_NAMES.join(" "))),
                    },
                };
                cx.diags.push(diag);
                return;
            }
        }
    }
    // GET implies HEAD, as in nginx's limit_except.
    if m.contains(Methods::GET) {
        m.insert(Methods::HEAD);
    }
    s.allow_methods = set(m, d);
}

fn set_return(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    let first = &d.args[0];
    // `return URL;` is a 302, as in nginx.
    if d.args.len() == 1
        && (first.text.starts_with("http://") || first.text.starts_with("https://"))
    {
        s.ret = set(
            Return {
                code: 302,
                text: Some(first.text.clone()),
            },
            d,
        );
        return;
    }
    let code = match values::status(&first.text, 100..=599, "`return`") {
        Ok(c) => c,
        Err(b) => {
            cx.diags.push(value_diag(first, b));
            return;
        }
    };
    let text = d.args.get(1).map(|t| t.text.clone());
    let r = Return { code, text };
    if r.is_redirect() && r.text.is_none() {
        cx.diags.push(
            Diag::new(
                Code::WrongArity,
                d.head_span(),
                format!("`return {code}` needs a URL"),
            )
            .label("a redirect without a target")
            .help(format!(
                "write `return {code} https://example.com/new;` or `return {code} /path;`"
            )),
        );
        return;
    }
    s.ret = set(r, d);
}

fn set_error_page(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    let (codes, uri) = d.args.split_at(d.args.len() - 1);
    let uri = &uri[0];
    let mut list = Vec::new();
    for c in codes {
        match values::status(&c.text, 300..=599, "`error_page`") {
            Ok(n) => list.push(n),
            Err(b) => {
                cx.diags.push(value_diag(c, b));
                return;
            }
        }
    }
    if !(uri.text.starts_with('/')
        || uri.text.starts_with("http://")
        || uri.text.starts_with("https://"))
    {
        let d = if uri.text.bytes().all(|b| b.is_ascii_digit()) {
            Diag::new(
                Code::WrongArity,
                uri.span,
                "`error_page` needs a URI after the codes",
            )
            .label("this is a status code, not a URI")
            .help("write `error_page 404 /404.html;`")
        } else {
            Diag::new(
                Code::BadParameter,
                uri.span,
                format!("`{}` is not a URI", uri.text),
            )
            .label("the target must start with `/` or be an http(s) URL")
            .help("write `error_page 404 /404.html;`")
        };
        cx.diags.push(d);
        return;
    }
    let page = ErrorPage {
        codes: list,
        uri: uri.text.clone(),
    };
    // Raw settings are per block: an existing list was set earlier in this same block.
    match &mut s.error_pages {
        Some(p) => p.value.push(page),
        None => s.error_pages = set(vec![page], d),
    }
    s.error_page_spans.push(d.head_span());
}

fn set_body_size(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    match values::size(&d.args[0].text) {
        Ok(v) => s.client_max_body_size = set(v, d),
        Err(b) => cx.diags.push(value_diag(&d.args[0], b)),
    }
}

fn set_client_body_min_rate(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    match values::size(&d.args[0].text) {
        Ok(v) => s.client_body_min_rate = set(v, d),
        Err(b) => cx.diags.push(value_diag(&d.args[0], b)),
    }
}

fn set_upload_store(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    if check_path(&d.args[0], cx.diags) {
        s.upload_store = set(path_arg(&d.args[0], cx), d);
    }
}

fn set_cgi(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    let ext = &d.args[0];
    let valid = ext.text.len() > 1
        && ext.text.starts_with('.')
        && ext.text[1..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        cx.diags.push(
            Diag::new(
                Code::BadExtension,
                ext.span,
                format!("`{}` is not a file extension", ext.text),
            )
            .label("expected `.` and letters or digits")
            .help("write `cgi .py /usr/bin/python3;` or `cgi .cgi;`"),
        );
        return;
    }
    let interpreter = d.args.get(1).map(|t| {
        let p = Path::new(&t.text);
        if p.is_absolute() || !t.text.contains('/') {
            p.to_path_buf()
        } else {
            path_arg(t, cx)
        }
    });
    let rule = CgiRule {
        extension: ext.text.clone(),
        interpreter,
    };
    match &mut s.cgi {
        Some(p) => {
            if let Some(i) = p.value.iter().position(|r| r.extension == rule.extension) {
                p.value[i] = rule;
                s.cgi_spans[i] = d.head_span();
            } else {
                p.value.push(rule);
                s.cgi_spans.push(d.head_span());
            }
        }
        None => {
            s.cgi = set(vec![rule], d);
            s.cgi_spans = vec![d.head_span()];
        }
    }
}

macro_rules! time_setter {
    ($fn:ident, $field:ident) => {
        fn $fn(s: &mut Settings, d: &Directive, cx: &mut Cx) {
            match values::time(&d.args[0].text) {
                Ok(v) => s.$field = set(v, d),
                Err(b) => cx.diags.push(value_diag(&d.args[0], b)),
            }
        }
    };
}
time_setter!(set_cgi_timeout, cgi_timeout);
time_setter!(set_keepalive_timeout, keepalive_timeout);
time_setter!(set_client_header_timeout, client_header_timeout);
time_setter!(set_client_body_timeout, client_body_timeout);
time_setter!(set_send_timeout, send_timeout);

fn log_target(tok: &Token, cx: &Cx, allow_stderr: bool) -> LogTarget {
    match tok.text.as_str() {
        "off" => LogTarget::Off,
        "stdout" => LogTarget::Stdout,
        "stderr" if allow_stderr => LogTarget::Stderr,
        _ => LogTarget::File(path_arg(tok, cx)),
    }
}

fn set_access_log(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    if check_path(&d.args[0], cx.diags) {
        s.access_log = set(log_target(&d.args[0], cx, true), d);
    }
}

fn set_error_log(m: &mut MainConf, d: &Directive, cx: &mut Cx) {
    if !check_path(&d.args[0], cx.diags) {
        return;
    }
    let target = log_target(&d.args[0], cx, true);
    let level = match d.args.get(1) {
        None => 3,
        Some(t) => match LOG_LEVELS.iter().position(|l| *l == t.text) {
            Some(i) => i,
            None => {
                let mut diag = Diag::new(
                    Code::BadLogLevel,
                    t.span,
                    format!("`{}` is not a log level", t.text),
                )
                .label("unknown level");
                diag = match super::diag::did_you_mean(&t.text, LOG_LEVELS.iter().copied()) {
                    Some(l) => diag
                        .help(format!(
                            "did you mean `{l}`? levels: {}",
                            LOG_LEVELS.join(" ")
                        ))
                        .fix(format!("replace with `{l}`"), t.span, l),
                    None => diag.help(format!("levels: {}", LOG_LEVELS.join(" "))),
                };
                cx.diags.push(diag);
                return;
            }
        },
    };
    m.error_log = set((target, level), d);
}

/// The most worker threads `worker_processes` (and `run --workers`) accepts.
pub const MAX_WORKERS: u64 = 1024;

fn set_worker_processes(m: &mut MainConf, d: &Directive, cx: &mut Cx) {
    let t = &d.args[0];
    if t.text == "auto" {
        m.worker_processes = set(0, d);
        return;
    }
    match values::number(&t.text, 1..=MAX_WORKERS) {
        Ok(n) => m.worker_processes = set(n as usize, d),
        Err(mut b) => {
            b.help = format!("`auto` or a whole number from 1 to {MAX_WORKERS}");
            cx.diags.push(value_diag(t, b));
        }
    }
}

fn set_worker_connections(m: &mut MainConf, d: &Directive, cx: &mut Cx) {
    match values::number(&d.args[0].text, 1..=1_000_000) {
        Ok(n) => m.worker_connections = set(n as usize, d),
        Err(b) => cx.diags.push(value_diag(&d.args[0], b)),
    }
}

fn set_listen(s: &mut ServerConf, d: &Directive, cx: &mut Cx) {
    let addr = match values::listen(&d.args[0].text) {
        Ok(a) => a,
        Err(b) => {
            cx.diags.push(value_diag(&d.args[0], b));
            return;
        }
    };
    let mut default = false;
    if let Some(p) = d.args.get(1) {
        if p.text == "default_server" || p.text == "default" {
            default = true;
        } else {
            let mut diag = Diag::new(
                Code::BadParameter,
                p.span,
                format!("unknown listen parameter `{}`", p.text),
            )
            .label("webserv does not support this parameter");
            diag = match super::diag::did_you_mean(&p.text, ["default_server"]) {
                Some(_) => diag.help("did you mean `default_server`?").fix(
                    "replace with `default_server`",
                    p.span,
                    "default_server",
                ),
                None => diag.help("the only listen parameter is `default_server`"),
            };
            cx.diags.push(diag);
            return;
        }
    }
    s.listens.push(Set {
        value: (addr, default),
        span: d.head_span(),
    });
}

fn set_server_name(s: &mut ServerConf, d: &Directive, cx: &mut Cx) {
    for a in &d.args {
        match values::server_name(&a.text) {
            Ok(n) => s.names.push(Set {
                value: n,
                span: a.span,
            }),
            Err(b) => cx.diags.push(value_diag(a, b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = DIRECTIVES.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DIRECTIVES.len());
    }

    /// The words an editor offers for an argument are accepted there.
    #[test]
    fn offered_words_are_valid() {
        use super::super::{CompileOptions, compile_str};
        for spec in DIRECTIVES {
            for (i, arg) in spec.args.iter().enumerate() {
                let words: Vec<String> = match arg {
                    Arg::Words(w) | Arg::Path { words: w, .. } => {
                        w.iter().map(|w| w.to_string()).collect()
                    }
                    Arg::Status(c) | Arg::Uri(c) => c.iter().map(|c| c.to_string()).collect(),
                    Arg::Text => continue,
                };
                for w in words {
                    // Arguments before this one: a typical valid value.
                    let before = match spec.name {
                        _ if i == 0 => String::new(),
                        "location" => String::new(),
                        "listen" => "80".into(),
                        "error_log" => "stderr".into(),
                        "error_page" | "return" => "404".into(),
                        _ => "x".into(),
                    };
                    let after = match (spec.name, arg) {
                        ("location", _) => " /x { }".to_string(),
                        ("error_page", Arg::Status(_)) => " /e.html;".into(),
                        (_, Arg::Uri(_)) => " /e.html;".into(),
                        ("return", _) => " /r;".into(),
                        _ => ";".into(),
                    };
                    let line = format!("{} {before} {w}{after}", spec.name);
                    let text = match spec.contexts[0] {
                        Ctx::Main => format!("{line}\nserver {{}}\n"),
                        _ => format!("server {{ location / {{ }} {line} }}\n"),
                    };
                    let out = compile_str(&text, &CompileOptions::hermetic());
                    let errors: Vec<_> = out
                        .diags
                        .list
                        .iter()
                        .filter(|d| d.code.slug().starts_with("value::"))
                        .collect();
                    assert!(errors.is_empty(), "{text:?}: {errors:?}");
                }
            }
        }
    }

    #[test]
    fn every_default_parses_as_its_directive() {
        use super::super::{CompileOptions, compile_str};
        for spec in DIRECTIVES {
            let (Some(default), Apply::Setting(_) | Apply::Main(_)) = (spec.default, spec.apply)
            else {
                continue;
            };
            let text = format!("{} {};\nserver {{}}\n", spec.name, default);
            let out = compile_str(&text, &CompileOptions::hermetic());
            assert!(
                !out.diags.has_errors(),
                "default of {} fails: {:?}",
                spec.name,
                out.diags.list
            );
        }
    }
}
