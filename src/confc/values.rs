//! Value parsers: size, time, port, status, flag, listen address, server name. Pure: no I/O.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::diag::Code;
use super::model::{AccessRule, Expires, ListenAddr, ListenHost, ServerName};

/// Why a value was refused: the code, a message and the help that says what is valid.
#[derive(Debug)]
pub struct Bad {
    pub code: Code,
    pub message: String,
    pub help: String,
    /// The value that was probably meant (did-you-mean), offered as a quick fix.
    pub suggestion: Option<&'static str>,
}

fn bad(code: Code, message: impl Into<String>, help: impl Into<String>) -> Bad {
    Bad {
        code,
        message: message.into(),
        help: help.into(),
        suggestion: None,
    }
}

fn split_number(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

/// `512`, `10k`, `8m`, `1g` (case-insensitive units, powers of 1024); `0` means no limit.
pub fn size(s: &str) -> Result<u64, Bad> {
    const HELP: &str =
        "a size is a whole number of bytes with an optional unit: `512`, `10k`, `8m`, `1g`";
    let (digits, unit) = split_number(s);
    if digits.is_empty() {
        return Err(bad(Code::BadSize, format!("`{s}` is not a size"), HELP));
    }
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => {
            return Err(bad(
                Code::BadSize,
                format!("`{unit}` is not a size unit"),
                HELP,
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| {
            bad(
                Code::BadSize,
                format!("`{s}` is too large"),
                "sizes go up to 16 exbibytes (2^64 - 1 bytes)",
            )
        })
}

/// `500ms`, `30s`, `5m`, `1h`, `1d`, a bare number of seconds, or a sequence like `1m30s`.
pub fn time(s: &str) -> Result<Duration, Bad> {
    const HELP: &str = "a time is a number with a unit: `500ms`, `30s`, `5m`, `1h`, `1d` (a bare number is seconds)";
    if s.is_empty() {
        return Err(bad(Code::BadTime, "empty time", HELP));
    }
    let mut rest = s;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (digits, after) = split_number(rest);
        if digits.is_empty() {
            return Err(bad(Code::BadTime, format!("`{s}` is not a time"), HELP));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let unit = &after[..unit_len];
        let ms: u128 = match unit {
            "ms" => 1,
            "" | "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => {
                return Err(bad(
                    Code::BadTime,
                    format!("`{unit}` is not a time unit"),
                    HELP,
                ));
            }
        };
        let n: u128 = digits
            .parse()
            .map_err(|_| bad(Code::BadTime, format!("`{s}` is too large"), HELP))?;
        total = total.saturating_add(n.saturating_mul(ms));
        rest = &after[unit_len..];
    }
    // A year is plenty for any timeout; beyond that it is a typo.
    if total > 365 * 86_400_000 {
        return Err(bad(
            Code::BadTime,
            format!("`{s}` is too long"),
            "times go up to one year (`365d`)",
        ));
    }
    Ok(Duration::from_millis(total as u64))
}

/// 1–65535.
pub fn port(s: &str) -> Result<u16, Bad> {
    const HELP: &str = "a port is a whole number from 1 to 65535";
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(Code::BadPort, format!("`{s}` is not a port"), HELP));
    }
    match s.parse::<u32>() {
        Ok(n @ 1..=65535) => Ok(n as u16),
        _ => Err(bad(
            Code::BadPort,
            format!("port `{s}` is out of range"),
            HELP,
        )),
    }
}

/// A three-digit status code within `range`.
pub fn status(s: &str, range: std::ops::RangeInclusive<u16>, what: &str) -> Result<u16, Bad> {
    let help = format!(
        "{what} takes a status code from {} to {}",
        range.start(),
        range.end()
    );
    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            Code::BadStatus,
            format!("`{s}` is not a status code"),
            help,
        ));
    }
    let n: u16 = s.parse().expect("three digits");
    if !range.contains(&n) {
        return Err(bad(
            Code::BadStatus,
            format!("status {n} is not valid for {what}"),
            help,
        ));
    }
    Ok(n)
}

/// `on` | `off`.
pub fn flag(s: &str) -> Result<bool, Bad> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => {
            // Words people carry over from other config languages, then typos.
            let guess = match s.to_ascii_lowercase().as_str() {
                "on" | "yes" | "true" | "1" | "enable" | "enabled" => Some("on"),
                "off" | "no" | "false" | "0" | "disable" | "disabled" | "none" => Some("off"),
                _ => super::diag::did_you_mean(s, ["on", "off"]),
            };
            let mut b = bad(
                Code::BadFlag,
                format!("`{s}` is not `on` or `off`"),
                match guess {
                    Some(g) => format!("did you mean `{g}`? write `on` or `off`"),
                    None => "write `on` or `off`".to_string(),
                },
            );
            b.suggestion = guess;
            Err(b)
        }
    }
}

/// A whole number in `range`.
pub fn number(s: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, Bad> {
    let help = format!("a whole number from {} to {}", range.start(), range.end());
    match s.parse::<u64>() {
        Ok(n) if range.contains(&n) && s.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        Ok(_) => Err(bad(Code::BadNumber, format!("`{s}` is out of range"), help)),
        Err(_) => Err(bad(Code::BadNumber, format!("`{s}` is not a number"), help)),
    }
}

/// `port`, `addr:port`, `*:port`, `[v6]:port`, `addr` (port 80, as nginx), `localhost:port`.
pub fn listen(s: &str) -> Result<ListenAddr, Bad> {
    const HELP: &str = "write `8080`, `127.0.0.1:8080`, `*:8080` or `[::1]:8080`";
    let addr_err = |what: &str| {
        bad(
            Code::BadAddress,
            format!("`{what}` is not an IP address"),
            HELP,
        )
    };
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(ListenAddr {
            host: ListenHost::Any,
            port: port(s)?,
        });
    }
    let (host, port_str) = if let Some(rest) = s.strip_prefix('[') {
        let Some(close) = rest.find(']') else {
            return Err(bad(
                Code::BadAddress,
                format!("`{s}` has no closing `]`"),
                HELP,
            ));
        };
        let v6: Ipv6Addr = rest[..close]
            .parse()
            .map_err(|_| addr_err(&rest[..close]))?;
        let after = &rest[close + 1..];
        let port_str = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => {
                return Err(bad(
                    Code::BadAddress,
                    format!("`{s}` is not a listen address"),
                    HELP,
                ));
            }
        };
        (ListenHost::Ip(IpAddr::V6(v6)), port_str)
    } else {
        let (h, p) = match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        };
        let host = match h {
            "*" => ListenHost::Any,
            "localhost" => ListenHost::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            _ => ListenHost::Ip(IpAddr::V4(h.parse().map_err(|_| {
                if h.contains(':') {
                    bad(
                        Code::BadAddress,
                        format!("`{s}` looks like an IPv6 address without brackets"),
                        "write IPv6 addresses in brackets: `[::1]:8080`",
                    )
                } else {
                    addr_err(h)
                }
            })?)),
        };
        (host, p)
    };
    let port = match port_str {
        Some(p) => port(p)?,
        None => 80,
    };
    Ok(ListenAddr { host, port })
}

/// Compiles a regex, reusing an identical one compiled earlier on this thread: configs
/// repeat the same location regex in every server, and each compilation costs ~100 µs
/// (a `Regex` clone shares the compiled program).
pub fn regex(pattern: &str, caseless: bool) -> Result<regex::Regex, regex::Error> {
    thread_local! {
        static CACHE: std::cell::RefCell<std::collections::HashMap<(String, bool), regex::Regex>> =
            std::cell::RefCell::default();
    }
    let key = (pattern.to_string(), caseless);
    if let Some(r) = CACHE.with_borrow(|c| c.get(&key).cloned()) {
        return Ok(r);
    }
    let r = regex::RegexBuilder::new(pattern)
        .case_insensitive(caseless)
        .build()?;
    CACHE.with_borrow_mut(|c| {
        if c.len() >= 4096 {
            c.clear();
        }
        c.insert(key, r.clone());
    });
    Ok(r)
}

/// A server name: exact, `*.example.com`, `.example.com`, `mail.*`, `~regex`.
pub fn server_name(s: &str) -> Result<ServerName, Bad> {
    const HELP: &str = "a wildcard name has one `*` at the start (`*.example.com`) or at the end (`mail.*`); `.example.com` matches the name and its subdomains; `~` starts a regex";
    if let Some(re) = s.strip_prefix('~') {
        return regex(re, true).map(ServerName::Regex).map_err(|e| {
            bad(
                Code::BadRegex,
                format!("bad regex: {}", first_line(&e.to_string())),
                "webserv uses Rust regex syntax (close to PCRE, no look-around or backreferences)",
            )
        });
    }
    let lower = s.to_ascii_lowercase();
    let stars = lower.matches('*').count();
    let wrong = || {
        bad(
            Code::BadServerName,
            format!("`{s}` is not a valid server name"),
            HELP,
        )
    };
    if lower
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b == b'/' || b.is_ascii_control())
    {
        return Err(wrong());
    }
    match stars {
        0 => {
            if let Some(rest) = lower.strip_prefix('.') {
                if rest.is_empty() || rest.starts_with('.') {
                    return Err(wrong());
                }
                Ok(ServerName::Leading {
                    suffix: lower.clone(),
                    bare_too: true,
                })
            } else {
                Ok(ServerName::Exact(lower))
            }
        }
        1 if lower.starts_with("*.") && lower.len() > 2 && !lower[2..].starts_with('.') => {
            Ok(ServerName::Leading {
                suffix: lower[1..].to_string(),
                bare_too: false,
            })
        }
        1 if lower.ends_with(".*") && lower.len() > 2 && !lower.starts_with('.') => {
            Ok(ServerName::Trailing(lower[..lower.len() - 1].to_string()))
        }
        _ => Err(wrong()),
    }
}

/// First line of a (possibly multi-line) error message.
pub fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim();
    // The regex crate prefixes its last line with `error: `; our message says that already.
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// A header field name for `add_header`: a token, and not one of the framing headers the
/// server writes itself (a second `Content-Length` would change how the body is read).
pub fn header_name(s: &str) -> Result<String, Bad> {
    const OWN: &[&str] = &["content-length", "transfer-encoding", "connection"];
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if s.is_empty() || !s.bytes().all(tchar) {
        return Err(bad(
            Code::BadHeader,
            format!("`{s}` is not a header field name"),
            "a field name is letters, digits and `-`, like `X-Frame-Options`",
        ));
    }
    if OWN.contains(&s.to_ascii_lowercase().as_str()) {
        return Err(bad(
            Code::BadHeader,
            format!("`{s}` is written by the server itself"),
            "the server frames every response with `Content-Length` or `Transfer-Encoding` and `Connection`; they cannot be added",
        ));
    }
    Ok(s.to_string())
}

/// A media type `type/subtype` (lower-cased), or `*` in `gzip_types`.
pub fn mime_type(s: &str) -> Result<String, Bad> {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b);
    let ok = match s.split_once('/') {
        Some((t, sub)) => {
            !t.is_empty() && !sub.is_empty() && t.bytes().all(tchar) && sub.bytes().all(tchar)
        }
        None => false,
    };
    if !ok {
        return Err(bad(
            Code::BadMimeType,
            format!("`{s}` is not a media type"),
            "write `type/subtype`, like `text/css` or `application/json`",
        ));
    }
    Ok(s.to_ascii_lowercase())
}

/// `allow`/`deny`'s argument: `all`, an address, or `address/prefix`.
pub fn access_rule(allow: bool, s: &str) -> Result<AccessRule, Bad> {
    const HELP: &str = "write `all`, an address (`192.168.1.10`, `::1`) or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`)";
    if s == "all" {
        return Ok(AccessRule { allow, net: None });
    }
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return Err(bad(
            Code::BadAccessRule,
            format!("`{s}` is not an address or CIDR block"),
            HELP,
        ));
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        None => max,
        Some(b) => match b.parse::<u8>() {
            Ok(n) if n <= max && !b.starts_with('+') => n,
            _ => {
                return Err(bad(
                    Code::BadAccessRule,
                    format!("`/{b}` is not a prefix length for {addr}"),
                    format!(
                        "the prefix length of an IPv{} block is 0 to {max}",
                        if max == 32 { 4 } else { 6 }
                    ),
                ));
            }
        },
    };
    Ok(AccessRule {
        allow,
        net: Some((ip, bits)),
    })
}

/// `expires`: `off`, `epoch`, `max`, or a time, optionally negative.
pub fn expires(s: &str) -> Result<Expires, Bad> {
    match s {
        "off" => return Ok(Expires::Off),
        "epoch" => return Ok(Expires::Epoch),
        "max" => return Ok(Expires::Max),
        _ => {}
    }
    let (neg, t) = match s.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    match time(t) {
        Ok(d) => {
            let secs = d.as_secs().min(i64::MAX as u64) as i64;
            Ok(Expires::Seconds(if neg { -secs } else { secs }))
        }
        Err(mut b) => {
            if s.starts_with('@') || s == "modified" {
                b.message = format!("`expires {s}` is not supported");
            }
            b.help = "write `off`, `epoch`, `max` or a time like `1h`, `30d` or `-1` (negative: no caching)".into();
            Err(b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size("512").unwrap(), 512);
        assert_eq!(size("10k").unwrap(), 10240);
        assert_eq!(size("8M").unwrap(), 8 << 20);
        assert_eq!(size("1g").unwrap(), 1 << 30);
        assert_eq!(size("0").unwrap(), 0);
        assert_eq!(size("1b").unwrap_err().code, Code::BadSize);
        assert_eq!(size("-1").unwrap_err().code, Code::BadSize);
        assert_eq!(
            size("99999999999999999999").unwrap_err().code,
            Code::BadSize
        );
        assert_eq!(size("17179869184g").unwrap_err().code, Code::BadSize);
    }

    #[test]
    fn times() {
        assert_eq!(time("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(time("30").unwrap(), Duration::from_secs(30));
        assert_eq!(time("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(time("1d").unwrap(), Duration::from_secs(86400));
        assert_eq!(time("10x").unwrap_err().code, Code::BadTime);
        assert_eq!(time("s").unwrap_err().code, Code::BadTime);
        assert_eq!(time("400d").unwrap_err().code, Code::BadTime);
    }

    #[test]
    fn listens() {
        assert_eq!(listen("8080").unwrap().to_string(), "*:8080");
        assert_eq!(listen("127.0.0.1:81").unwrap().to_string(), "127.0.0.1:81");
        assert_eq!(listen("[::1]:82").unwrap().to_string(), "[::1]:82");
        assert_eq!(listen("*:83").unwrap().to_string(), "*:83");
        assert_eq!(listen("10.0.0.1").unwrap().to_string(), "10.0.0.1:80");
        assert_eq!(listen("0").unwrap_err().code, Code::BadPort);
        assert_eq!(listen("65536").unwrap_err().code, Code::BadPort);
        assert_eq!(listen("1.2.3:80").unwrap_err().code, Code::BadAddress);
        assert_eq!(listen("::1:80").unwrap_err().code, Code::BadAddress);
    }

    #[test]
    fn server_names() {
        assert!(matches!(
            server_name("*.a.com").unwrap(),
            ServerName::Leading {
                bare_too: false,
                ..
            }
        ));
        assert!(matches!(
            server_name(".a.com").unwrap(),
            ServerName::Leading { bare_too: true, .. }
        ));
        assert!(matches!(
            server_name("mail.*").unwrap(),
            ServerName::Trailing(_)
        ));
        assert!(matches!(
            server_name("~^www\\.").unwrap(),
            ServerName::Regex(_)
        ));
        assert_eq!(
            server_name("a*b.com").unwrap_err().code,
            Code::BadServerName
        );
        assert_eq!(server_name("*.*").unwrap_err().code, Code::BadServerName);
        assert_eq!(server_name("~(").unwrap_err().code, Code::BadRegex);
    }
}
