//! Typed values shared by the compiler passes and the routing table.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub use super::vars::{Template, Var};

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
    pub text: Option<Template>,
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
            for c in t.as_str().chars() {
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

/// The status an `error_page` answers with.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ErrorStatus {
    /// `error_page 404 /x;`: the original status.
    #[default]
    Original,
    /// `error_page 404 =200 /x;`.
    Set(u16),
    /// `error_page 404 = /x;`: the status of whatever answers the target.
    FromTarget,
}

/// `error_page code… uri`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorPage {
    pub codes: Vec<u16>,
    pub status: ErrorStatus,
    pub uri: Template,
}

/// `code… [=[status]] uri`.
impl fmt::Display for ErrorPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.codes {
            write!(f, "{c} ")?;
        }
        match self.status {
            ErrorStatus::Original => {}
            ErrorStatus::Set(s) => write!(f, "={s} ")?,
            ErrorStatus::FromTarget => f.write_str("= ")?,
        }
        write!(f, "{}", self.uri)
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

/// `add_header name value [always];`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddHeader {
    pub name: String,
    pub value: Template,
    /// Added to every status, not only the successful and redirect ones.
    pub always: bool,
}

impl fmt::Display for AddHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} \"{}\"", self.name, self.value)?;
        if self.always {
            f.write_str(" always")?;
        }
        Ok(())
    }
}

/// The statuses `add_header` (without `always`) and `expires` apply to, as nginx's.
pub fn adds_headers(status: u16) -> bool {
    matches!(
        status,
        200 | 201 | 204 | 206 | 301 | 302 | 303 | 304 | 307 | 308
    )
}

/// `expires`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Expires {
    #[default]
    Off,
    /// `expires epoch;`: `Expires` at the epoch, `Cache-Control: no-cache`.
    Epoch,
    /// `expires max;`: 31 Dec 2037, ten years of max-age.
    Max,
    /// `expires [-]time;` in seconds; negative gives `Cache-Control: no-cache`.
    Seconds(i64),
}

impl fmt::Display for Expires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expires::Off => f.write_str("off"),
            Expires::Epoch => f.write_str("epoch"),
            Expires::Max => f.write_str("max"),
            Expires::Seconds(s) if *s < 0 => {
                write!(
                    f,
                    "-{}",
                    fmt_duration(Duration::from_secs(s.unsigned_abs()))
                )
            }
            Expires::Seconds(s) => f.write_str(&fmt_duration(Duration::from_secs(*s as u64))),
        }
    }
}

/// One `allow` or `deny` rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessRule {
    pub allow: bool,
    /// The network and its prefix length; `None` is `all`.
    pub net: Option<(IpAddr, u8)>,
}

impl AccessRule {
    /// Whether the rule covers `ip` (an IPv4-mapped IPv6 peer counts as IPv4).
    pub fn matches(&self, ip: IpAddr) -> bool {
        let Some((net, bits)) = self.net else {
            return true;
        };
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for AccessRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.allow { "allow " } else { "deny " })?;
        match self.net {
            None => f.write_str("all"),
            Some((ip, bits)) if bits == if ip.is_ipv4() { 32 } else { 128 } => write!(f, "{ip}"),
            Some((ip, bits)) => write!(f, "{ip}/{bits}"),
        }
    }
}

/// The first rule that covers `ip` decides; no rule covers it: allowed.
pub fn access_allowed(rules: &[AccessRule], ip: IpAddr) -> bool {
    rules.iter().find(|r| r.matches(ip)).is_none_or(|r| r.allow)
}

/// A password hash from an htpasswd file, in a format webserv verifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordHash {
    /// `$apr1$salt$hash` (htpasswd's default, `-m`).
    Apr1(String),
    /// `$2y$`/`$2b$`/`$2a$` (`htpasswd -B`).
    Bcrypt(String),
    /// `{SHA}base64` (`htpasswd -s`): SHA-1 of the password.
    Sha1(String),
    /// crypt(3) SHA-256 (`$5$`) and SHA-512 (`$6$`).
    ShaCrypt(String),
}

/// The users of an `auth_basic_user_file`, read when the config is compiled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Htpasswd {
    pub path: PathBuf,
    pub users: Vec<(String, PasswordHash)>,
}

/// `try_files file ... uri;` or `try_files file ... =code;`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TryFiles {
    /// Tried in order; one ending in `/` must be a directory.
    pub files: Vec<Template>,
    pub fallback: TryFallback,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TryFallback {
    /// An internal redirect (location matching runs again).
    Uri(Template),
    /// `=404`.
    Status(u16),
}

impl fmt::Display for TryFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.files {
            write!(f, "{t} ")?;
        }
        match &self.fallback {
            TryFallback::Uri(u) => write!(f, "{u}"),
            TryFallback::Status(s) => write!(f, "={s}"),
        }
    }
}

/// A `types { }` table: extension (lower-case, without the dot) → media type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Types {
    pub by_ext: std::collections::HashMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confc::values::access_rule;

    fn rules(list: &[(bool, &str)]) -> Vec<AccessRule> {
        list.iter()
            .map(|(allow, s)| access_rule(*allow, s).unwrap())
            .collect()
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let r = rules(&[
            (false, "192.168.1.1"),
            (true, "192.168.1.0/24"),
            (true, "2001:db8::/32"),
            (false, "all"),
        ]);
        let ok = |ip: &str| access_allowed(&r, ip.parse().unwrap());
        assert!(!ok("192.168.1.1"));
        assert!(ok("192.168.1.2"));
        assert!(ok("192.168.1.255"));
        assert!(!ok("192.168.2.1"));
        assert!(ok("2001:db8:1::5"));
        assert!(!ok("2001:db9::1"));
        // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
        assert!(ok("::ffff:192.168.1.7"));
        assert!(!ok("::ffff:10.0.0.1"));
        // No rule at all: allowed.
        assert!(access_allowed(&[], "10.0.0.1".parse().unwrap()));
        // /0 covers every address of its family.
        let any4 = rules(&[(false, "0.0.0.0/0")]);
        assert!(!access_allowed(&any4, "8.8.8.8".parse().unwrap()));
        assert!(access_allowed(&any4, "::1".parse().unwrap()));
    }

    #[test]
    fn rules_display_as_written() {
        let r = rules(&[(true, "10.0.0.0/8"), (false, "::1"), (false, "all")]);
        let shown: Vec<String> = r.iter().map(|r| r.to_string()).collect();
        assert_eq!(shown, ["allow 10.0.0.0/8", "deny ::1", "deny all"]);
    }
}
