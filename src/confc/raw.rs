//! Raw per-block configuration: what each block sets itself, with the span of the
//! directive that set it. Produced by `lower` through the schema's setters; nothing is
//! inherited yet (that is `merge`).

use std::sync::Arc;
use std::time::Duration;

use super::model::{
    AccessRule, AddHeader, CgiRule, DocRoot, ErrorPage, Expires, Htpasswd, ListenAddr, LogTarget,
    Methods, Modifier, Return, ServerName, TlsProtocols, TryFiles, Types,
};
use super::source::Span;

/// A value set by a directive, with the directive's span.
#[derive(Clone, Debug)]
pub struct Set<T> {
    pub value: T,
    pub span: Span,
}

/// The inheritable settings of one block, as written in it.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub root: Option<Set<DocRoot>>,
    pub index: Option<Set<Vec<String>>>,
    pub autoindex: Option<Set<bool>>,
    pub allow_methods: Option<Set<Methods>>,
    pub ret: Option<Set<Return>>,
    pub error_pages: Option<Set<Vec<ErrorPage>>>,
    pub client_max_body_size: Option<Set<u64>>,
    pub upload_store: Option<Set<std::path::PathBuf>>,
    pub cgi: Option<Set<Vec<CgiRule>>>,
    pub cgi_timeout: Option<Set<Duration>>,
    pub keepalive_timeout: Option<Set<Duration>>,
    pub client_header_timeout: Option<Set<Duration>>,
    pub client_body_timeout: Option<Set<Duration>>,
    pub client_body_min_rate: Option<Set<u64>>,
    pub send_timeout: Option<Set<Duration>>,
    pub access_log: Option<Set<LogTarget>>,
    pub try_files: Option<Set<TryFiles>>,
    pub add_headers: Option<Set<Vec<AddHeader>>>,
    pub expires: Option<Set<Expires>>,
    pub gzip: Option<Set<bool>>,
    pub gzip_static: Option<Set<bool>>,
    pub gzip_types: Option<Set<Vec<String>>>,
    pub gzip_min_length: Option<Set<u64>>,
    pub gzip_comp_level: Option<Set<u64>>,
    /// `allow` and `deny`, in order: one list.
    pub access: Option<Set<Vec<AccessRule>>>,
    pub auth_basic: Option<Set<Option<String>>>,
    pub auth_basic_user_file: Option<Set<Arc<Htpasswd>>>,
    pub default_type: Option<Set<String>>,
    pub types: Option<Set<Arc<Types>>>,
    pub ssl_certificate: Option<Set<std::path::PathBuf>>,
    pub ssl_certificate_key: Option<Set<std::path::PathBuf>>,
    pub ssl_protocols: Option<Set<TlsProtocols>>,
    pub ssl_session_timeout: Option<Set<Duration>>,
    pub ssl_session_tickets: Option<Set<bool>>,
    /// The `error_page` directive of each entry of `error_pages` (the list's own span is
    /// the first directive's), so diagnostics point at the right line.
    pub error_page_spans: Vec<Span>,
    /// The `cgi` directive of each entry of `cgi`, likewise.
    pub cgi_spans: Vec<Span>,
    /// The `allow`/`deny` directive of each entry of `access`, likewise.
    pub access_spans: Vec<Span>,
}

/// The `main` context.
#[derive(Debug, Default)]
pub struct MainConf {
    pub settings: Settings,
    pub error_log: Option<Set<(LogTarget, usize)>>,
    pub worker_processes: Option<Set<usize>>,
    pub worker_connections: Option<Set<usize>>,
    pub servers: Vec<ServerConf>,
}

/// One `server { }`.
#[derive(Debug, Default)]
pub struct ServerConf {
    /// The `server` keyword.
    pub span: Span,
    pub listens: Vec<Set<Listen>>,
    pub names: Vec<Set<ServerName>>,
    pub settings: Settings,
    pub locations: Vec<LocationConf>,
}

/// One `listen`: the address and its parameters.
#[derive(Clone, Copy, Debug)]
pub struct Listen {
    pub addr: ListenAddr,
    pub default_server: bool,
    /// `ssl`: connections to this address speak TLS.
    pub ssl: bool,
}

/// One `location { }`.
#[derive(Debug)]
pub struct LocationConf {
    /// From `location` to the pattern.
    pub span: Span,
    pub modifier: Modifier,
    pub pattern: String,
    pub pattern_span: Span,
    pub regex: Option<regex::Regex>,
    pub settings: Settings,
    pub locations: Vec<LocationConf>,
}
