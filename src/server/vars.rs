//! The values of nginx variables for one request: what a compiled
//! [`Template`](crate::confc::model::Template) expands to.

use std::net::SocketAddr;

use crate::confc::vars::{Var, Vars};

use super::http::request::RequestHead;

/// Everything a variable can name: the request head, the connection and the server that
/// answers.
pub struct RequestVars<'a> {
    pub head: &'a RequestHead,
    /// The client.
    pub peer: SocketAddr,
    /// The port the request arrived on (as configured).
    pub port: u16,
    /// The first name of the server that answers (`""` when it has none).
    pub server_name: &'a str,
    /// `https` on a TLS listener, else `http`.
    pub scheme: &'a str,
    /// The path the request has now: after an internal redirect (`try_files`,
    /// `error_page`) it differs from the head's (`$uri`).
    pub uri: &'a str,
}

/// The value of query argument `name` (first occurrence, as received: nginx does not
/// decode `$arg_*`).
fn arg<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        k.eq_ignore_ascii_case(name).then_some(v)
    })
}

impl Vars for RequestVars<'_> {
    fn append(&self, var: &Var, out: &mut String) {
        use std::fmt::Write as _;
        match var {
            Var::Scheme => out.push_str(self.scheme),
            Var::Host => out.push_str(match self.head.effective_host() {
                Some(h) if !h.is_empty() => h,
                _ => self.server_name,
            }),
            Var::ServerName => out.push_str(self.server_name),
            Var::ServerPort => {
                let _ = write!(out, "{}", self.port);
            }
            Var::RequestUri => out.push_str(self.head.target()),
            Var::Uri => out.push_str(self.uri),
            Var::Args => out.push_str(self.head.query().unwrap_or("")),
            Var::IsArgs => {
                if self.head.query().is_some() {
                    out.push('?');
                }
            }
            Var::Arg(name) => {
                out.push_str(self.head.query().and_then(|q| arg(q, name)).unwrap_or(""))
            }
            Var::RequestMethod => out.push_str(self.head.method_str()),
            Var::RemoteAddr => {
                let ip = self.peer.ip();
                let ip = match ip {
                    std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, Into::into),
                    v4 => v4,
                };
                let _ = write!(out, "{ip}");
            }
            Var::RemotePort => {
                let _ = write!(out, "{}", self.peer.port());
            }
            Var::Http(name) => push_field(out, self.head.header(name)),
            Var::ContentType => push_field(out, self.head.header("content-type")),
            Var::ContentLength => push_field(out, self.head.header("content-length")),
        }
    }
}

/// A header's value as text (bytes outside ASCII are replaced: the parser lets
/// obs-text through).
fn push_field(out: &mut String, v: Option<&[u8]>) {
    if let Some(v) = v {
        out.push_str(&String::from_utf8_lossy(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confc::vars::compile;
    use crate::confc::{ast::Token, source::SourceMap};
    use crate::server::http::request::{HeadLimits, parse_head};

    fn expand(text: &str, raw: &str) -> String {
        let (head, _) = parse_head(raw.as_bytes(), &HeadLimits::default())
            .unwrap()
            .unwrap();
        let mut s = SourceMap::new();
        let id = s.add("t".into(), text.into(), None);
        let tok = Token {
            text: text.into(),
            span: crate::confc::source::Span::new(id, 0, text.len()),
            quoted: false,
        };
        let t = compile(&tok, &s).unwrap();
        let v = RequestVars {
            head: &head,
            peer: "[::ffff:10.1.2.3]:5555".parse().unwrap(),
            port: 8080,
            server_name: "example.com",
            scheme: "http",
            uri: head.path(),
        };
        t.expand(&v)
    }

    #[test]
    fn variables_take_their_values_from_the_request() {
        let raw = "GET /a%20b/c?x=1&Page=2&y HTTP/1.1\r\nHost: Site.Example:8080\r\nUser-Agent: ua/1\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n";
        assert_eq!(
            expand("$scheme://$host$request_uri", raw),
            "http://site.example/a%20b/c?x=1&Page=2&y"
        );
        assert_eq!(expand("$uri|$args|$is_args", raw), "/a b/c|x=1&Page=2&y|?");
        assert_eq!(expand("$arg_page,$arg_y,$arg_z", raw), "2,,");
        assert_eq!(
            expand("$http_user_agent $http_x_forwarded_for $http_none", raw),
            "ua/1 1.2.3.4 "
        );
        assert_eq!(
            expand(
                "$remote_addr:$remote_port $server_name:$server_port $request_method",
                raw
            ),
            "10.1.2.3:5555 example.com:8080 GET"
        );
        let bare = "GET / HTTP/1.0\r\n\r\n";
        assert_eq!(expand("$host|$is_args|$args", bare), "example.com||");
    }
}
