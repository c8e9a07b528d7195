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
    AddHeader, CgiRule, DocRoot, ErrorPage, ErrorStatus, LOG_LEVELS, LogTarget, METHOD_NAMES,
    Methods, Modifier, OLD_TLS_PROTOCOL_NAMES, Return, TLS_PROTOCOL_NAMES, Template, TlsProtocols,
    TryFallback, TryFiles, Types,
};
use super::raw::{Listen, MainConf, ServerConf, Set, Settings};
use super::source::{SourceMap, Span};
use super::values::{self, Bad};
use super::vars::Piece;

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
const LISTEN_PARAMS: &[&str] = &["ssl", "default_server"];
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
        max_args: 3,
        args: &[Arg::Text, Arg::Words(LISTEN_PARAMS)],
        block: false,
        repeatable: true,
        inherited: false,
        default: Some("*:8080"),
        syntax: "listen [addr:]port [ssl] [default_server];",
        doc: "An address and port this server accepts connections on; `ssl` makes connections to it speak TLS (HTTPS), `default_server` makes it the fallback for unknown Host values (and TLS clients that send no known name).",
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
        name: "try_files",
        contexts: &[Ctx::Server, Ctx::Location],
        min_args: 2,
        max_args: MANY,
        args: &[Arg::Uri(&[404]), Arg::Uri(&[404])],
        block: false,
        repeatable: false,
        inherited: false,
        default: None,
        syntax: "try_files file ... uri | =code;",
        doc: "Serves the first of `file ...` that exists (`$uri/` tries a directory), else redirects internally to `uri` or answers `=code`. Variables allowed. Not inherited: a server's applies where no location matches.",
        apply: Apply::Setting(set_try_files),
    },
    Spec {
        name: "add_header",
        contexts: ALL,
        min_args: 2,
        max_args: 3,
        args: &[Arg::Text, Arg::Text, Arg::Words(&["always"])],
        block: false,
        repeatable: true,
        inherited: true,
        default: None,
        syntax: "add_header name value [always];",
        doc: "Adds a header to 200, 201, 204, 206, 301, 302, 303, 304, 307 and 308 responses (every response with `always`). Variables allowed. An inner block's `add_header` lines replace the outer ones.",
        apply: Apply::Setting(set_add_header),
    },
    Spec {
        name: "expires",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Words(&["off", "epoch", "max", "1h", "30d"])],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("off"),
        syntax: "expires time | epoch | max | off;",
        doc: "`Expires` and `Cache-Control: max-age` on the statuses `add_header` uses; a negative time or `epoch` gives `no-cache`.",
        apply: Apply::Setting(set_expires),
    },
    Spec {
        name: "gzip",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Words(FLAGS)],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("off"),
        syntax: "gzip on | off;",
        doc: "Compresses responses of the `gzip_types` (and `text/html`) for clients that accept gzip; a static file is compressed once and cached.",
        apply: Apply::Setting(set_gzip),
    },
    Spec {
        name: "gzip_static",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Words(FLAGS)],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("off"),
        syntax: "gzip_static on | off;",
        doc: "Serves `file.gz` beside `file` to clients that accept gzip.",
        apply: Apply::Setting(set_gzip_static),
    },
    Spec {
        name: "gzip_types",
        contexts: ALL,
        min_args: 1,
        max_args: MANY,
        args: &[Arg::Words(&[
            "text/css",
            "text/plain",
            "text/javascript",
            "application/javascript",
            "application/json",
            "image/svg+xml",
            "*",
        ])],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("text/html"),
        syntax: "gzip_types type ... | *;",
        doc: "Media types `gzip` compresses besides `text/html` (always included); `*` is any.",
        apply: Apply::Setting(set_gzip_types),
    },
    Spec {
        name: "gzip_min_length",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Text],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("20"),
        syntax: "gzip_min_length size;",
        doc: "Bodies shorter than this are sent uncompressed.",
        apply: Apply::Setting(set_gzip_min_length),
    },
    Spec {
        name: "gzip_comp_level",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Words(&["1", "2", "3", "4", "5", "6", "7", "8", "9"])],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("1"),
        syntax: "gzip_comp_level 1..9;",
        doc: "Compression level: 1 fastest, 9 smallest.",
        apply: Apply::Setting(set_gzip_comp_level),
    },
    Spec {
        name: "allow",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Words(&["all", "127.0.0.1", "::1"])],
        block: false,
        repeatable: true,
        inherited: true,
        default: None,
        syntax: "allow address | CIDR | all;",
        doc: "Allows clients from these addresses; `allow` and `deny` rules are checked in order, the first match decides (403 for `deny`). An inner block's rules replace the outer ones.",
        apply: Apply::Setting(set_allow),
    },
    Spec {
        name: "deny",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Words(&["all"])],
        block: false,
        repeatable: true,
        inherited: true,
        default: None,
        syntax: "deny address | CIDR | all;",
        doc: "Denies clients from these addresses (403); see `allow`.",
        apply: Apply::Setting(set_deny),
    },
    Spec {
        name: "auth_basic",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Words(&["off"])],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("off"),
        syntax: "auth_basic realm | off;",
        doc: "Asks for a user name and password (401 with `WWW-Authenticate: Basic realm=...`) checked against `auth_basic_user_file`.",
        apply: Apply::Setting(set_auth_basic),
    },
    Spec {
        name: "auth_basic_user_file",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[FILE],
        block: false,
        repeatable: false,
        inherited: true,
        default: None,
        syntax: "auth_basic_user_file file;",
        doc: "An htpasswd file (apr1, bcrypt, `{SHA}`, crypt SHA-256/512), read when the config is compiled or reloaded.",
        apply: Apply::Setting(set_auth_basic_user_file),
    },
    Spec {
        name: "default_type",
        contexts: ALL,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Words(&["application/octet-stream", "text/plain"])],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("application/octet-stream"),
        syntax: "default_type type;",
        doc: "`Content-Type` of files whose extension the types table does not know.",
        apply: Apply::Setting(set_default_type),
    },
    Spec {
        name: "types",
        contexts: ALL,
        min_args: 0,
        max_args: 0,
        args: &[],
        block: true,
        repeatable: false,
        inherited: true,
        default: None,
        syntax: "types { type extension ...; ... }",
        doc: "Replaces the built-in extension → media type table (as in nginx, a `types` block replaces the inherited table, it does not add to it).",
        apply: Apply::Setting(set_types),
    },
    Spec {
        name: "ssl_certificate",
        contexts: MAIN_SERVER,
        min_args: 1,
        max_args: 1,
        args: &[FILE],
        block: false,
        repeatable: false,
        inherited: true,
        default: None,
        syntax: "ssl_certificate file;",
        doc: "The certificate of this server's `ssl` listens, in PEM: the server's own certificate first, then the intermediate certificates (the chain). Read again on reload.",
        apply: Apply::Setting(set_ssl_certificate),
    },
    Spec {
        name: "ssl_certificate_key",
        contexts: MAIN_SERVER,
        min_args: 1,
        max_args: 1,
        args: &[FILE],
        block: false,
        repeatable: false,
        inherited: true,
        default: None,
        syntax: "ssl_certificate_key file;",
        doc: "The certificate's private key in PEM (PKCS#8, PKCS#1 or SEC1), not encrypted.",
        apply: Apply::Setting(set_ssl_certificate_key),
    },
    Spec {
        name: "ssl_protocols",
        contexts: MAIN_SERVER,
        min_args: 1,
        max_args: MANY,
        args: &[Arg::Words(TLS_PROTOCOL_NAMES)],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("TLSv1.2 TLSv1.3"),
        syntax: "ssl_protocols protocol ...;",
        doc: "TLS versions offered: `TLSv1.2`, `TLSv1.3`. Older versions (`SSLv3`, `TLSv1`, `TLSv1.1`) are never spoken.",
        apply: Apply::Setting(set_ssl_protocols),
    },
    Spec {
        name: "ssl_session_timeout",
        contexts: MAIN_SERVER,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Text],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("5m"),
        syntax: "ssl_session_timeout time;",
        doc: "How long a client can resume a TLS session (session cache and tickets alike).",
        apply: Apply::Setting(set_ssl_session_timeout),
    },
    Spec {
        name: "ssl_session_tickets",
        contexts: MAIN_SERVER,
        min_args: 1,
        max_args: 1,
        args: &[Arg::Words(FLAGS)],
        block: false,
        repeatable: false,
        inherited: true,
        default: Some("on"),
        syntax: "ssl_session_tickets on | off;",
        doc: "Resumption by session tickets (the client keeps the session); `off` leaves resumption to the server's session cache.",
        apply: Apply::Setting(set_ssl_session_tickets),
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
        && (first.text.starts_with("http://")
            || first.text.starts_with("https://")
            || first.text.starts_with("$scheme"))
    {
        if let Some(url) = template(first, cx) {
            s.ret = set(
                Return {
                    code: 302,
                    text: Some(url),
                },
                d,
            );
        }
        return;
    }
    let code = match values::status(&first.text, 100..=599, "`return`") {
        Ok(c) => c,
        Err(b) => {
            cx.diags.push(value_diag(first, b));
            return;
        }
    };
    let text = match d.args.get(1) {
        Some(t) => match template(t, cx) {
            Some(t) => Some(t),
            None => return,
        },
        None => None,
    };
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

/// An argument with variables, compiled; a mistake in it is reported.
fn template(tok: &Token, cx: &mut Cx) -> Option<Template> {
    match super::vars::compile(tok, cx.sources) {
        Ok(t) => Some(t),
        Err(diag) => {
            cx.diags.push(diag);
            None
        }
    }
}

/// Whether a URI template can be a local path or a URL: it starts with `/`, with
/// `http://`/`https://`, or with a variable.
fn uri_like(t: &Template) -> bool {
    match t.pieces().first() {
        Some(Piece::Lit(s)) => {
            s.starts_with('/') || s.starts_with("http://") || s.starts_with("https://")
        }
        Some(Piece::Var(_)) => true,
        None => false,
    }
}

fn set_error_page(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    let (codes, uri) = d.args.split_at(d.args.len() - 1);
    let uri = &uri[0];
    let mut list = Vec::new();
    let mut status = ErrorStatus::Original;
    for (i, c) in codes.iter().enumerate() {
        if let Some(rest) = c.text.strip_prefix('=') {
            if i + 1 != codes.len() || i == 0 {
                cx.diags.push(
                    Diag::new(
                        Code::BadParameter,
                        c.span,
                        format!("`{}` out of place", c.text),
                    )
                    .label("`=status` goes right before the URI, after the codes")
                    .help("write `error_page 404 =200 /index.html;`"),
                );
                return;
            }
            status = if rest.is_empty() {
                ErrorStatus::FromTarget
            } else {
                match values::status(rest, 100..=599, "`error_page =`") {
                    Ok(n) => ErrorStatus::Set(n),
                    Err(b) => {
                        cx.diags.push(value_diag(c, b));
                        return;
                    }
                }
            };
            continue;
        }
        match values::status(&c.text, 300..=599, "`error_page`") {
            Ok(n) => list.push(n),
            Err(b) => {
                cx.diags.push(value_diag(c, b));
                return;
            }
        }
    }
    let Some(target) = template(uri, cx) else {
        return;
    };
    if !uri_like(&target) {
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
        status,
        uri: target,
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

time_setter!(set_ssl_session_timeout, ssl_session_timeout);

fn set_ssl_certificate(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    if check_path(&d.args[0], cx.diags) {
        s.ssl_certificate = set(path_arg(&d.args[0], cx), d);
    }
}

fn set_ssl_certificate_key(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    if check_path(&d.args[0], cx.diags) {
        s.ssl_certificate_key = set(path_arg(&d.args[0], cx), d);
    }
}

fn set_ssl_session_tickets(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    match values::flag(&d.args[0].text) {
        Ok(v) => s.ssl_session_tickets = set(v, d),
        Err(b) => cx.diags.push(value_diag(&d.args[0], b)),
    }
}

/// nginx's protocol names. The old ones are dropped with a warning (an nginx config
/// often lists them), anything else is an error, and so is a list with nothing left.
fn set_ssl_protocols(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    let mut p = TlsProtocols::default();
    let mut old = Vec::new();
    let mut ok = true;
    for a in &d.args {
        match a.text.as_str() {
            "TLSv1.2" => p.tls12 = true,
            "TLSv1.3" => p.tls13 = true,
            name if OLD_TLS_PROTOCOL_NAMES.contains(&name) => old.push(a),
            other => {
                cx.diags.push(unknown_protocol(a, other));
                ok = false;
            }
        }
    }
    if !ok {
        return;
    }
    if !p.tls12 && !p.tls13 {
        cx.diags.push(
            Diag::new(
                Code::BadTlsProtocol,
                d.head_span(),
                "no protocol left that webserv speaks",
            )
            .label("webserv never speaks these old versions")
            .help("write `ssl_protocols TLSv1.2 TLSv1.3;` (the default)")
            .fix(
                "use the default",
                d.head_span(),
                "ssl_protocols TLSv1.2 TLSv1.3",
            ),
        );
        return;
    }
    for a in old {
        cx.diags.push(
            Diag::new(
                Code::OldTlsProtocol,
                a.span,
                format!("`{}` is not spoken by webserv", a.text),
            )
            .label("ignored")
            .help("webserv speaks TLSv1.2 and TLSv1.3 only; the older versions are broken, and every current client speaks TLSv1.2"),
        );
    }
    s.ssl_protocols = set(p, d);
}

fn unknown_protocol(a: &Token, name: &str) -> Diag {
    let diag = Diag::new(
        Code::BadTlsProtocol,
        a.span,
        format!("`{name}` is not a TLS protocol name"),
    )
    .label("unknown protocol");
    match super::diag::did_you_mean(name, TLS_PROTOCOL_NAMES.iter().copied()) {
        Some(n) => diag
            .help(format!(
                "did you mean `{n}`? write `TLSv1.2`, `TLSv1.3` or both"
            ))
            .fix(format!("replace with `{n}`"), a.span, n),
        None => diag.help("write `TLSv1.2`, `TLSv1.3` or both"),
    }
}

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
    let mut listen = Listen {
        addr,
        default_server: false,
        ssl: false,
    };
    for p in &d.args[1..] {
        match p.text.as_str() {
            "default_server" | "default" => listen.default_server = true,
            "ssl" => listen.ssl = true,
            _ => {
                cx.diags.push(unknown_listen_param(p));
                return;
            }
        }
    }
    s.listens.push(Set {
        value: listen,
        span: d.head_span(),
    });
}

fn unknown_listen_param(p: &Token) -> Diag {
    let diag = Diag::new(
        Code::BadParameter,
        p.span,
        format!("unknown listen parameter `{}`", p.text),
    )
    .label("webserv does not support this parameter");
    match super::diag::did_you_mean(&p.text, LISTEN_PARAMS.iter().copied()) {
        Some(w) => {
            diag.help(format!("did you mean `{w}`?"))
                .fix(format!("replace with `{w}`"), p.span, w)
        }
        None => diag.help("the listen parameters are `ssl` and `default_server`"),
    }
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

fn set_try_files(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    let (files, last) = d.args.split_at(d.args.len() - 1);
    let last = &last[0];
    let mut list = Vec::with_capacity(files.len());
    for f in files {
        match template(f, cx) {
            Some(t) => list.push(t),
            None => return,
        }
    }
    let fallback = if let Some(code) = last.text.strip_prefix('=') {
        match values::status(code, 100..=599, "`try_files =`") {
            Ok(n) => TryFallback::Status(n),
            Err(b) => return cx.diags.push(value_diag(last, b)),
        }
    } else {
        let Some(t) = template(last, cx) else { return };
        if !matches!(t.pieces().first(), Some(Piece::Var(_))) && !t.as_str().starts_with('/') {
            return cx.diags.push(
                Diag::new(
                    Code::BadParameter,
                    last.span,
                    format!("`{}` is neither a URI nor `=code`", last.text),
                )
                .label("the last argument is where to go when no file exists")
                .help("end with a URI like `/index.html` or a status like `=404`"),
            );
        }
        TryFallback::Uri(t)
    };
    s.try_files = set(
        TryFiles {
            files: list,
            fallback,
        },
        d,
    );
}

fn set_add_header(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    let name = match values::header_name(&d.args[0].text) {
        Ok(n) => n,
        Err(b) => return cx.diags.push(value_diag(&d.args[0], b)),
    };
    let Some(value) = template(&d.args[1], cx) else {
        return;
    };
    if d.args[1]
        .text
        .bytes()
        .any(|b| b.is_ascii_control() && b != b'\t')
    {
        return cx.diags.push(
            Diag::new(
                Code::BadParameter,
                d.args[1].span,
                "a header value with a line break or control character",
            )
            .label("would end the header line early")
            .help("header values are one line of text"),
        );
    }
    let always = match d.args.get(2) {
        None => false,
        Some(t) if t.text == "always" => true,
        Some(t) => {
            return cx.diags.push(
                Diag::new(
                    Code::BadParameter,
                    t.span,
                    format!("unknown add_header parameter `{}`", t.text),
                )
                .label("expected `always` or nothing")
                .help("write `add_header X-Frame-Options DENY always;`"),
            );
        }
    };
    let h = AddHeader {
        name,
        value,
        always,
    };
    match &mut s.add_headers {
        Some(list) => list.value.push(h),
        None => s.add_headers = set(vec![h], d),
    }
}

fn set_expires(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    match values::expires(&d.args[0].text) {
        Ok(v) => s.expires = set(v, d),
        Err(b) => cx.diags.push(value_diag(&d.args[0], b)),
    }
}

macro_rules! flag_setter {
    ($fn:ident, $field:ident) => {
        fn $fn(s: &mut Settings, d: &Directive, cx: &mut Cx) {
            match values::flag(&d.args[0].text) {
                Ok(v) => s.$field = set(v, d),
                Err(b) => cx.diags.push(value_diag(&d.args[0], b)),
            }
        }
    };
}
flag_setter!(set_gzip, gzip);
flag_setter!(set_gzip_static, gzip_static);

fn set_gzip_types(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    let mut list = Vec::with_capacity(d.args.len());
    for a in &d.args {
        if a.text == "*" {
            list.push("*".to_string());
            continue;
        }
        match values::mime_type(&a.text) {
            Ok(t) => list.push(t),
            Err(b) => return cx.diags.push(value_diag(a, b)),
        }
    }
    s.gzip_types = set(list, d);
}

fn set_gzip_min_length(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    match values::size(&d.args[0].text) {
        Ok(v) => s.gzip_min_length = set(v, d),
        Err(b) => cx.diags.push(value_diag(&d.args[0], b)),
    }
}

fn set_gzip_comp_level(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    match values::number(&d.args[0].text, 1..=9) {
        Ok(v) => s.gzip_comp_level = set(v, d),
        Err(mut b) => {
            b.help = "a compression level from 1 (fastest) to 9 (smallest)".into();
            cx.diags.push(value_diag(&d.args[0], b))
        }
    }
}

fn access_rule(s: &mut Settings, d: &Directive, cx: &mut Cx, allow: bool) {
    let rule = match values::access_rule(allow, &d.args[0].text) {
        Ok(r) => r,
        Err(b) => return cx.diags.push(value_diag(&d.args[0], b)),
    };
    if let Some(list) = &s.access
        && let Some(i) = list.value.iter().position(|r| r.net.is_none())
    {
        let all = s.access_spans.get(i).copied().unwrap_or(list.span);
        cx.diags.push(
            Diag::new(
                Code::UnreachableRule,
                d.head_span(),
                format!("`{rule}` comes after a rule for all addresses"),
            )
            .label("never matches")
            .with(all, "every client matches this rule first")
            .help(
                "rules are checked in order and the first match decides: move this rule before it",
            ),
        );
    }
    match &mut s.access {
        Some(list) => list.value.push(rule),
        None => s.access = set(vec![rule], d),
    }
    s.access_spans.push(d.head_span());
}

fn set_allow(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    access_rule(s, d, cx, true)
}

fn set_deny(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    access_rule(s, d, cx, false)
}

fn set_auth_basic(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    let realm = &d.args[0];
    if realm.text == "off" && !realm.quoted {
        s.auth_basic = set(None, d);
        return;
    }
    if realm.text.chars().any(char::is_control) {
        return cx.diags.push(
            Diag::new(
                Code::BadParameter,
                realm.span,
                "a realm with a control character",
            )
            .label("the realm is sent in a header")
            .help("write a realm of plain text, like `auth_basic \"Uploads\";`"),
        );
    }
    s.auth_basic = set(Some(realm.text.clone()), d);
}

fn set_auth_basic_user_file(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    let tok = &d.args[0];
    if !check_path(tok, cx.diags) {
        return;
    }
    let path = path_arg(tok, cx);
    if let Some(h) = super::htpasswd::read(&path, tok, cx.diags) {
        s.auth_basic_user_file = set(std::sync::Arc::new(h), d);
    }
}

fn set_default_type(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    match values::mime_type(&d.args[0].text) {
        Ok(t) => s.default_type = set(t, d),
        Err(b) => cx.diags.push(value_diag(&d.args[0], b)),
    }
}

/// `types { text/html html htm; ... }`: the entries are not directives, so the block is
/// read here, not walked.
fn set_types(s: &mut Settings, d: &Directive, cx: &mut Cx) {
    let Some(block) = d.block() else { return };
    let mut by_ext = std::collections::HashMap::new();
    for entry in &block.items {
        let media = match values::mime_type(&entry.name.text) {
            Ok(t) => t,
            Err(b) => {
                cx.diags.push(value_diag(&entry.name, b));
                continue;
            }
        };
        if entry.block().is_some() || entry.args.is_empty() {
            cx.diags.push(
                Diag::new(
                    Code::BadParameter,
                    entry.head_span(),
                    format!("`{}` lists no extension", entry.name.text),
                )
                .label("expected `type extension ...;`")
                .help("write `text/html html htm;`"),
            );
            continue;
        }
        for ext in &entry.args {
            by_ext.insert(ext.text.to_ascii_lowercase(), media.clone());
        }
    }
    s.types = set(std::sync::Arc::new(Types { by_ext }), d);
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
