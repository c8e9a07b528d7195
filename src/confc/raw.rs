//! Raw per-block configuration: what each block sets itself, with the span of the
//! directive that set it. Produced by `lower` through the schema's setters; nothing is
//! inherited yet (that is `merge`).

use std::time::Duration;

use super::model::{
    CgiRule, DocRoot, ErrorPage, ListenAddr, LogTarget, Methods, Modifier, Return, ServerName,
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
    /// The `error_page` directive of each entry of `error_pages` (the list's own span is
    /// the first directive's), so diagnostics point at the right line.
    pub error_page_spans: Vec<Span>,
    /// The `cgi` directive of each entry of `cgi`, likewise.
    pub cgi_spans: Vec<Span>,
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
    /// Address and `default_server`.
    pub listens: Vec<Set<(ListenAddr, bool)>>,
    pub names: Vec<Set<ServerName>>,
    pub settings: Settings,
    pub locations: Vec<LocationConf>,
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
