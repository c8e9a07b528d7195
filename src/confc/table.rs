//! The immutable routing table: what the compiler produces and the only thing the server
//! loads. Everything request time needs is precomputed here: listener groups, server name
//! indexes, location sets in match order, and every location's effective settings with
//! where each value came from.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::model::{
    AccessRule, AddHeader, CgiRule, DocRoot, ErrorPage, Expires, Htpasswd, ListenAddr, LogTarget,
    Methods, Modifier, Return, TlsProtocols, TryFiles, Types, fmt_duration, fmt_flag, fmt_size,
};
use super::source::FileId;
pub use super::tls::Certificate;

/// Where an effective value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Default,
    Config { file: FileId, line: u32 },
}

/// A value and its provenance.
#[derive(Clone, Debug)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T: Default> Default for Sourced<T> {
    fn default() -> Self {
        Sourced::default_value(T::default())
    }
}

impl<T> Sourced<T> {
    pub fn default_value(value: T) -> Sourced<T> {
        Sourced {
            value,
            origin: Origin::Default,
        }
    }

    /// The value changed, the origin kept.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Sourced<U> {
        Sourced {
            value: f(self.value),
            origin: self.origin,
        }
    }
}

/// Index into [`RoutingTable::servers`].
pub type ServerId = usize;
/// Index into [`RoutingTable::locations`].
pub type LocId = usize;
/// Index into [`RoutingTable::groups`].
pub type GroupId = usize;

/// Fully resolved settings of a server or location (nginx merge already applied).
///
/// Adding an inheritable directive: its schema row (with its default and setter), its
/// raw field (`raw::Settings`), its field here with its row in [`Effective::rows`], and
/// its line in `merge::merge`. Nothing else: defaults are lowered from the schema.
#[derive(Clone, Debug, Default)]
pub struct Effective {
    pub root: Sourced<DocRoot>,
    pub index: Sourced<Vec<String>>,
    pub autoindex: Sourced<bool>,
    pub allow_methods: Sourced<Methods>,
    pub ret: Sourced<Option<Return>>,
    pub error_pages: Sourced<Vec<ErrorPage>>,
    pub client_max_body_size: Sourced<u64>,
    pub upload_store: Sourced<Option<PathBuf>>,
    pub cgi: Sourced<Vec<CgiRule>>,
    pub cgi_timeout: Sourced<Duration>,
    pub keepalive_timeout: Sourced<Duration>,
    pub client_header_timeout: Sourced<Duration>,
    pub client_body_timeout: Sourced<Duration>,
    /// Bytes per second a request body must average (0 = no minimum).
    pub client_body_min_rate: Sourced<u64>,
    pub send_timeout: Sourced<Duration>,
    pub access_log: Sourced<LogTarget>,
    /// Not inherited (nginx): a server's `try_files` applies where no location matches.
    pub try_files: Sourced<Option<TryFiles>>,
    pub add_headers: Sourced<Vec<AddHeader>>,
    pub expires: Sourced<Expires>,
    pub gzip: Sourced<bool>,
    pub gzip_static: Sourced<bool>,
    /// Besides `text/html`, which is always compressed when `gzip` is on; `*` is any.
    pub gzip_types: Sourced<Vec<String>>,
    pub gzip_min_length: Sourced<u64>,
    pub gzip_comp_level: Sourced<u64>,
    pub access: Sourced<Vec<AccessRule>>,
    /// The realm; `None` is `off`.
    pub auth_basic: Sourced<Option<String>>,
    pub auth_basic_user_file: Sourced<Option<Arc<Htpasswd>>>,
    pub default_type: Sourced<String>,
    /// `None`: the built-in table.
    pub types: Sourced<Option<Arc<Types>>>,
    pub ssl_certificate: Sourced<Option<PathBuf>>,
    pub ssl_certificate_key: Sourced<Option<PathBuf>>,
    pub ssl_protocols: Sourced<TlsProtocols>,
    pub ssl_session_timeout: Sourced<Duration>,
    pub ssl_session_tickets: Sourced<bool>,
}

impl Effective {
    /// The `error_page` for a status, if one is configured.
    pub fn error_page(&self, status: u16) -> Option<&ErrorPage> {
        self.error_pages
            .value
            .iter()
            .find(|p| p.codes.contains(&status))
    }

    /// Each setting as (directive, value as written, origin), in directive-table order:
    /// what `routes` and `explain` print.
    pub fn rows(&self) -> Vec<(&'static str, String, Origin)> {
        fn row<T>(
            name: &'static str,
            s: &Sourced<T>,
            show: impl Fn(&T) -> String,
        ) -> (&'static str, String, Origin) {
            (name, show(&s.value), s.origin)
        }
        vec![
            match &self.root.value {
                DocRoot::Root(p) => row("root", &self.root, |_| p.display().to_string()),
                DocRoot::Alias { path, .. } => {
                    row("alias", &self.root, |_| path.display().to_string())
                }
            },
            row("index", &self.index, |v| v.join(" ")),
            row("autoindex", &self.autoindex, flag),
            row("allow_methods", &self.allow_methods, |v| {
                v.names().join(" ")
            }),
            row("return", &self.ret, |v| {
                v.as_ref().map_or("-".into(), Return::to_string)
            }),
            row("error_page", &self.error_pages, |v| comma_list(v)),
            row("client_max_body_size", &self.client_max_body_size, size),
            row("upload_store", &self.upload_store, path_or_dash),
            row("cgi", &self.cgi, |v| comma_list(v)),
            row("cgi_timeout", &self.cgi_timeout, duration),
            row("keepalive_timeout", &self.keepalive_timeout, duration),
            row(
                "client_header_timeout",
                &self.client_header_timeout,
                duration,
            ),
            row("client_body_timeout", &self.client_body_timeout, duration),
            row("client_body_min_rate", &self.client_body_min_rate, size),
            row("send_timeout", &self.send_timeout, duration),
            row("access_log", &self.access_log, LogTarget::to_string),
            row("try_files", &self.try_files, |v| {
                v.as_ref().map_or("-".into(), TryFiles::to_string)
            }),
            row("add_header", &self.add_headers, |v| comma_list(v)),
            row("expires", &self.expires, Expires::to_string),
            row("gzip", &self.gzip, flag),
            row("gzip_static", &self.gzip_static, flag),
            row("gzip_types", &self.gzip_types, |v| v.join(" ")),
            row("gzip_min_length", &self.gzip_min_length, u64::to_string),
            row("gzip_comp_level", &self.gzip_comp_level, u64::to_string),
            row("allow/deny", &self.access, |v| comma_list(v)),
            row("auth_basic", &self.auth_basic, |v| {
                v.as_ref().map_or("off".into(), |r| format!("\"{r}\""))
            }),
            row("auth_basic_user_file", &self.auth_basic_user_file, |v| {
                v.as_ref().map_or("-".into(), |h| {
                    format!("{} ({} users)", h.path.display(), h.users.len())
                })
            }),
            row("default_type", &self.default_type, String::clone),
            row("types", &self.types, |v| {
                v.as_ref().map_or("built-in".into(), |t| {
                    format!("{} extensions", t.by_ext.len())
                })
            }),
            row("ssl_certificate", &self.ssl_certificate, path_or_dash),
            row(
                "ssl_certificate_key",
                &self.ssl_certificate_key,
                path_or_dash,
            ),
            row("ssl_protocols", &self.ssl_protocols, |v| v.to_string()),
            row("ssl_session_timeout", &self.ssl_session_timeout, duration),
            row("ssl_session_tickets", &self.ssl_session_tickets, flag),
        ]
    }

    /// The rows `routes` and `explain` show for requests on an address: the `ssl_*`
    /// settings only on an `ssl` one, the only place they apply.
    pub fn rows_on(&self, ssl: bool) -> Vec<(&'static str, String, Origin)> {
        let mut rows = self.rows();
        if !ssl {
            rows.retain(|(name, _, _)| !name.starts_with("ssl_"));
        }
        rows
    }

    /// The row that shows `directive` (`root` and `alias` share one, as do directives
    /// that set one list, shown as `a/b`).
    pub fn row(&self, directive: &str) -> Option<(&'static str, String, Origin)> {
        self.rows().into_iter().find(|(name, _, _)| {
            name.split('/').any(|n| n == directive)
                || (matches!(directive, "root" | "alias") && matches!(*name, "root" | "alias"))
        })
    }

    /// The CGI rule for a file name, by extension.
    pub fn cgi_for(&self, file_name: &str) -> Option<&CgiRule> {
        self.cgi
            .value
            .iter()
            .find(|r| file_name.len() > r.extension.len() && file_name.ends_with(&r.extension))
    }
}

/// How [`Effective::rows`] shows a flag, a duration, a size, and a list of rules.
fn flag(v: &bool) -> String {
    fmt_flag(*v).into()
}

fn duration(v: &Duration) -> String {
    fmt_duration(*v)
}

fn size(v: &u64) -> String {
    fmt_size(*v)
}

/// The items separated by `, `, or `-` for none.
fn comma_list<T: std::fmt::Display>(v: &[T]) -> String {
    let list = v.iter().map(T::to_string).collect::<Vec<_>>().join(", ");
    if list.is_empty() { "-".into() } else { list }
}

fn path_or_dash(p: &Option<PathBuf>) -> String {
    p.as_ref().map_or("-".into(), |p| p.display().to_string())
}

/// Settings of the `main` context only.
#[derive(Clone, Debug)]
pub struct MainSettings {
    pub error_log: Sourced<LogTarget>,
    /// Index into [`super::model::LOG_LEVELS`].
    pub error_log_level: Sourced<usize>,
    /// 0 = `auto` (one per core).
    pub worker_processes: Sourced<usize>,
    pub worker_connections: Sourced<usize>,
}

/// The locations of one level (a server, or the nested locations of a location), in the
/// order nginx searches them.
#[derive(Clone, Debug, Default)]
pub struct LocationSet {
    /// `= pattern` locations, by pattern.
    pub exact: HashMap<String, LocId>,
    /// Prefix and `^~` locations, longest pattern first.
    pub prefix: Vec<LocId>,
    /// Regex locations, in file order.
    pub regex: Vec<LocId>,
}

impl LocationSet {
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefix.is_empty() && self.regex.is_empty()
    }
}

/// One `location` block.
#[derive(Clone, Debug)]
pub struct Location {
    pub modifier: Modifier,
    pub pattern: String,
    pub regex: Option<regex::Regex>,
    pub server: ServerId,
    pub parent: Option<LocId>,
    pub nested: LocationSet,
    pub origin: Origin,
    pub settings: Effective,
}

impl Location {
    /// `location ~* \.jpg$` as written.
    pub fn display(&self) -> String {
        match self.modifier {
            Modifier::Prefix => self.pattern.clone(),
            m => format!("{} {}", m.as_str(), self.pattern),
        }
    }
}

/// One `server` block.
#[derive(Clone, Debug)]
pub struct VirtualServer {
    /// Server names as written (`""` when none).
    pub names: Vec<String>,
    pub listens: Vec<ListenAddr>,
    pub origin: Origin,
    pub locations: LocationSet,
    /// Settings for requests that no location matches.
    pub settings: Effective,
    /// The certificate and key of `ssl_certificate` / `ssl_certificate_key`, loaded and
    /// checked (shared by every server that names the same files): what this server's
    /// `ssl` listens present.
    pub tls: Option<Arc<Certificate>>,
}

/// The servers that share one listen address, and how Host picks among them.
#[derive(Clone, Debug)]
pub struct AddrGroup {
    pub addr: ListenAddr,
    /// In config order.
    pub servers: Vec<ServerId>,
    /// The `default_server`, else the first server of this address.
    pub default: ServerId,
    pub default_explicit: bool,
    pub names: NameIndex,
    /// `listen ... ssl`: connections speak TLS, and every server here has a certificate.
    pub ssl: bool,
}

/// nginx's server name precedence: exact, longest leading wildcard, longest trailing
/// wildcard, first regex.
///
/// The maps use FxHash: they are looked up with every request's Host, and their keys come
/// from the config (a client cannot add entries, so a fast non-keyed hash is safe).
#[derive(Clone, Debug, Default)]
pub struct NameIndex {
    pub exact: rustc_hash::FxHashMap<String, ServerId>,
    /// `.example.com` (from `*.example.com` or `.example.com`).
    pub leading: rustc_hash::FxHashMap<String, ServerId>,
    /// `mail.` (from `mail.*`).
    pub trailing: rustc_hash::FxHashMap<String, ServerId>,
    pub regex: Vec<(regex::Regex, ServerId)>,
}

/// A socket to bind, and the address groups it serves (several when it is a wildcard
/// that also carries IP-specific groups of the same port).
#[derive(Clone, Debug)]
pub struct Bind {
    pub addr: SocketAddr,
    pub groups: Vec<GroupId>,
    /// TLS on this socket (all its groups agree: a port is `ssl` or plain).
    pub ssl: bool,
}

/// The compiled configuration. Immutable; shared by every worker.
#[derive(Clone, Debug)]
pub struct RoutingTable {
    /// Config files by [`FileId`], for provenance.
    pub files: Vec<PathBuf>,
    pub main: MainSettings,
    /// The main context's effective settings (the defaults and what `main` sets): what
    /// applies where no server does (a connection whose address left the table).
    pub base: Effective,
    pub binds: Vec<Bind>,
    pub groups: Vec<AddrGroup>,
    pub servers: Vec<VirtualServer>,
    pub locations: Vec<Location>,
}

impl RoutingTable {
    /// `file:line` or `default`.
    pub fn origin(&self, o: Origin) -> String {
        match o {
            Origin::Default => "default".into(),
            Origin::Config { file, line } => match self.files.get(file as usize) {
                Some(p) => format!("{}:{}", p.display(), line),
                None => format!("?:{line}"),
            },
        }
    }
}
