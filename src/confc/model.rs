//! Typed values shared by the compiler passes and the routing table.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The HTTP methods `allow_methods` can name.
pub const METHOD_NAMES: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];

/// A set of methods, as a bit per entry of [`METHOD_NAMES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Methods(pub u16);

impl Methods {
    pub const GET: Methods = Methods(1);
    pub const HEAD: Methods = Methods(2);

    /// The bit of a method name, if webserv knows it.
    pub fn from_name(name: &str) -> Option<Methods> {
        METHOD_NAMES
            .iter()
            .position(|m| *m == name)
            .map(|i| Methods(1 << i))
    }

    pub fn contains(self, other: Methods) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    pub fn contains_name(self, name: &str) -> bool {
        Methods::from_name(name).is_some_and(|m| self.contains(m))
    }

    pub fn insert(&mut self, other: Methods) {
        self.0 |= other.0;
    }

    /// The names in canonical order, e.g. `GET, HEAD, POST` (the `Allow` header value).
    pub fn names(self) -> Vec<&'static str> {
        METHOD_NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect()
    }
}

impl fmt::Display for Methods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(", "))
    }
}

/// Where files come from: `root` appends the URI, `alias` replaces the location prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocRoot {
    Root(PathBuf),
    Alias {
        path: PathBuf,
        /// The pattern of the location that declared the alias: the part replaced.
        prefix: String,
    },
}

/// Only the zero value that defaults are merged onto: `root`'s real default comes from
/// the schema row like every other.
impl Default for DocRoot {
    fn default() -> Self {
        DocRoot::Root(PathBuf::new())
    }
}

impl DocRoot {
    pub fn path(&self) -> &std::path::Path {
        match self {
            DocRoot::Root(p) | DocRoot::Alias { path: p, .. } => p,
        }
    }
}

/// `return code [url|text]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Return {
    pub code: u16,
    /// For 301/302/303/307/308 the `Location`; otherwise the body text.
    pub text: Option<String>,
}

impl Return {
    pub fn is_redirect(&self) -> bool {
        matches!(self.code, 301 | 302 | 303 | 307 | 308)
    }
}

/// `code [text]`, on one line: a body may hold `\n` and friends, shown escaped.
impl fmt::Display for Return {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(t) = &self.text {
            f.write_str(" ")?;
            for c in t.chars() {
                if c.is_control() {
                    write!(f, "{}", c.escape_default())?;
                } else {
                    write!(f, "{c}")?;
                }
            }
        }
        Ok(())
    }
}

/// `error_page code… uri`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorPage {
    pub codes: Vec<u16>,
    pub uri: String,
}

/// `code… uri`.
impl fmt::Display for ErrorPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.codes {
            write!(f, "{c} ")?;
        }
        f.write_str(&self.uri)
    }
}

/// `cgi .ext [interpreter]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgiRule {
    /// With the dot, e.g. `.py`.
    pub extension: String,
    /// `None`: the script itself is executed.
    pub interpreter: Option<PathBuf>,
}

/// `.ext [interpreter]`.
impl fmt::Display for CgiRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.extension)?;
        if let Some(i) = &self.interpreter {
            write!(f, " {}", i.display())?;
        }
        Ok(())
    }
}

/// `access_log` / `error_log` destinations.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum LogTarget {
    #[default]
    Off,
    Stdout,
    Stderr,
    File(PathBuf),
}

impl fmt::Display for LogTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogTarget::Off => f.write_str("off"),
            LogTarget::Stdout => f.write_str("stdout"),
            LogTarget::Stderr => f.write_str("stderr"),
            LogTarget::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Log levels of `error_log`, least to most severe.
pub const LOG_LEVELS: &[&str] = &[
    "debug", "info", "notice", "warn", "error", "crit", "alert", "emerg",
];

/// The address part of a `listen`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListenHost {
    /// `*` or no address: every IPv4 address.
    Any,
    Ip(IpAddr),
}

/// `listen [addr:]port`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenAddr {
    pub host: ListenHost,
    pub port: u16,
}

impl ListenAddr {
    /// The socket address to bind.
    pub fn socket_addr(&self) -> SocketAddr {
        match self.host {
            ListenHost::Any => SocketAddr::from(([0, 0, 0, 0], self.port)),
            ListenHost::Ip(ip) => SocketAddr::new(ip, self.port),
        }
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host {
            ListenHost::Any => write!(f, "*:{}", self.port),
            ListenHost::Ip(IpAddr::V4(ip)) => write!(f, "{ip}:{}", self.port),
            ListenHost::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// The TLS versions `ssl_protocols` can name and webserv speaks.
pub const TLS_PROTOCOL_NAMES: &[&str] = &["TLSv1.2", "TLSv1.3"];

/// Protocol names nginx knows that webserv refuses to speak (rustls has none of them).
pub const OLD_TLS_PROTOCOL_NAMES: &[&str] = &["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"];

/// `ssl_protocols`: a set of TLS versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TlsProtocols {
    pub tls12: bool,
    pub tls13: bool,
}

impl fmt::Display for TlsProtocols {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [(self.tls12, "TLSv1.2"), (self.tls13, "TLSv1.3")]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| n)
            .collect();
        f.write_str(&names.join(" "))
    }
}

/// Location match modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// `location /x`.
    Prefix,
    /// `location = /x`.
    Exact,
    /// `location ^~ /x`: a prefix that stops the regex search.
    PrefixNoRegex,
    /// `location ~ re`.
    Regex,
    /// `location ~* re`.
    RegexCaseless,
}

impl Modifier {
    pub fn as_str(self) -> &'static str {
        match self {
            Modifier::Prefix => "",
            Modifier::Exact => "=",
            Modifier::PrefixNoRegex => "^~",
            Modifier::Regex => "~",
            Modifier::RegexCaseless => "~*",
        }
    }

    pub fn is_regex(self) -> bool {
        matches!(self, Modifier::Regex | Modifier::RegexCaseless)
    }

    pub fn is_prefix(self) -> bool {
        matches!(self, Modifier::Prefix | Modifier::PrefixNoRegex)
    }
}

/// How a server name matches a Host.
#[derive(Clone, Debug)]
pub enum ServerName {
    /// `example.com` (also `""`: requests without Host).
    Exact(String),
    /// `*.example.com` → stored as `.example.com`; `.example.com` also matches `example.com`.
    Leading { suffix: String, bare_too: bool },
    /// `mail.*` → stored as `mail.`.
    Trailing(String),
    /// `~regex`.
    Regex(regex::Regex),
}

impl ServerName {
    /// As written in the config.
    pub fn display(&self) -> String {
        match self {
            ServerName::Exact(s) => s.clone(),
            ServerName::Leading {
                suffix,
                bare_too: false,
            } => format!("*{suffix}"),
            ServerName::Leading {
                suffix,
                bare_too: true,
            } => suffix.clone(),
            ServerName::Trailing(p) => format!("{p}*"),
            ServerName::Regex(r) => format!("~{}", r.as_str()),
        }
    }
}

/// A flag as written.
pub fn fmt_flag(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// A duration as written, for display in `routes`.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0".into()
    } else if ms.is_multiple_of(86_400_000) {
        format!("{}d", ms / 86_400_000)
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// A size as written, for display in `routes`.
pub fn fmt_size(n: u64) -> String {
    const G: u64 = 1 << 30;
    const M: u64 = 1 << 20;
    const K: u64 = 1 << 10;
    match n {
        0 => "0".into(),
        n if n.is_multiple_of(G) => format!("{}g", n / G),
        n if n.is_multiple_of(M) => format!("{}m", n / M),
        n if n.is_multiple_of(K) => format!("{}k", n / K),
        n => n.to_string(),
    }
}
