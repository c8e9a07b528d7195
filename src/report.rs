//! `webserv routes` and `webserv explain`: the routing table and one routing decision, as
//! text or JSON. Both read only the compiled table and the shared router.

use serde_json::{Value, json};

use std::net::SocketAddr;

use crate::confc::model::{DocRoot, Return, fmt_size};
use crate::confc::table::{Effective, GroupId, LocId, LocationSet, RoutingTable};
use crate::confc::tls::fmt_time;
use crate::server::dispatch::{
    self, CgiTarget, Decision, Disk, Facts, Failure, Page, Rewrites, UploadKind, UploadTarget, Why,
    implemented,
};
use crate::server::http::request::{
    BodyFraming, Expect, HeadLimits, Method, RequestHead, parse_head,
};
use crate::server::http::response::reason;
use crate::server::router::{LocStep, Route, ServerWhy, fs_path};
use crate::server::vars::RequestVars;

fn settings_text(t: &RoutingTable, e: &Effective, ssl: bool, indent: &str, out: &mut String) {
    for (name, value, origin) in e.rows_on(ssl) {
        out.push_str(&format!(
            "{indent}{name:<22} {value:<40} {}\n",
            t.origin(origin)
        ));
    }
}

fn settings_json(t: &RoutingTable, e: &Effective, ssl: bool) -> Value {
    let mut m = serde_json::Map::new();
    for (name, value, origin) in e.rows_on(ssl) {
        m.insert(
            name.into(),
            json!({ "value": value, "from": t.origin(origin) }),
        );
    }
    Value::Object(m)
}

/// Locations of one level in match order: exact, prefixes longest first, regexes in file order.
fn ordered(set: &LocationSet) -> Vec<LocId> {
    let mut exact: Vec<LocId> = set.exact.values().copied().collect();
    exact.sort();
    exact
        .into_iter()
        .chain(set.prefix.iter().copied())
        .chain(set.regex.iter().copied())
        .collect()
}

/// `webserv routes` as text.
pub fn routes_text(t: &RoutingTable) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "main: worker_processes {} ({}), worker_connections {} ({}), error_log {} {} ({})\n",
        match t.main.worker_processes.value {
            0 => "auto".to_string(),
            n => n.to_string(),
        },
        t.origin(t.main.worker_processes.origin),
        t.main.worker_connections.value,
        t.origin(t.main.worker_connections.origin),
        t.main.error_log.value,
        crate::confc::model::LOG_LEVELS[t.main.error_log_level.value],
        t.origin(t.main.error_log.origin),
    ));
    for g in &t.groups {
        let ssl = if g.ssl { " ssl" } else { "" };
        out.push_str(&format!("\nlisten {}{ssl}\n", g.addr));
        for &sid in &g.servers {
            let s = &t.servers[sid];
            let names: Vec<String> = s.names.iter().map(|n| format!("\"{n}\"")).collect();
            let default = if sid == g.default {
                if g.default_explicit {
                    " [default_server]"
                } else {
                    " [default: first]"
                }
            } else {
                ""
            };
            out.push_str(&format!(
                "  server #{sid} {}{default}  ({})\n",
                names.join(" "),
                t.origin(s.origin)
            ));
            if g.ssl
                && let Some(c) = &s.tls
            {
                out.push_str(&format!(
                    "    certificate {}  names {}  {}  ({})\n",
                    c.subject,
                    if c.names.is_empty() {
                        "-".to_string()
                    } else {
                        c.names.join(", ")
                    },
                    c.validity(),
                    c.cert_file.display()
                ));
            }
            out.push_str("    (no location matched)\n");
            settings_text(t, &s.settings, g.ssl, "      ", &mut out);
            location_tree_text(t, &s.locations, g.ssl, 2, &mut out);
        }
    }
    out
}

fn location_tree_text(
    t: &RoutingTable,
    set: &LocationSet,
    ssl: bool,
    depth: usize,
    out: &mut String,
) {
    let indent = "  ".repeat(depth);
    for id in ordered(set) {
        let l = &t.locations[id];
        out.push_str(&format!(
            "{indent}location {}  ({})\n",
            l.display(),
            t.origin(l.origin)
        ));
        settings_text(t, &l.settings, ssl, &format!("{indent}    "), out);
        location_tree_text(t, &l.nested, ssl, depth + 1, out);
    }
}

fn location_tree_json(t: &RoutingTable, set: &LocationSet, ssl: bool) -> Value {
    Value::Array(
        ordered(set)
            .into_iter()
            .map(|id| {
                let l = &t.locations[id];
                json!({
                    "id": id,
                    "modifier": l.modifier.as_str(),
                    "pattern": l.pattern,
                    "from": t.origin(l.origin),
                    "settings": settings_json(t, &l.settings, ssl),
                    "locations": location_tree_json(t, &l.nested, ssl),
                })
            })
            .collect(),
    )
}

/// `webserv routes --format json`.
pub fn routes_json(t: &RoutingTable) -> String {
    let listeners: Vec<Value> = t
        .groups
        .iter()
        .map(|g| {
            json!({
                "listen": g.addr.to_string(),
                "ssl": g.ssl,
                "default_server": g.default,
                "servers": g.servers.iter().map(|&sid| {
                    let s = &t.servers[sid];
                    json!({
                        "id": sid,
                        "names": s.names,
                        "default": sid == g.default,
                        "from": t.origin(s.origin),
                        "certificate": s.tls.as_ref().filter(|_| g.ssl).map(|c| json!({
                            "subject": c.subject,
                            "names": c.names,
                            "not_before": fmt_time(c.not_before),
                            "not_after": fmt_time(c.not_after),
                            "file": c.cert_file.display().to_string(),
                            "key_file": c.key_file.display().to_string(),
                        })),
                        "settings": settings_json(t, &s.settings, g.ssl),
                        "locations": location_tree_json(t, &s.locations, g.ssl),
                    })
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let v = json!({
        "version": 1,
        "main": {
            "worker_processes": match t.main.worker_processes.value {
                0 => json!("auto"),
                n => json!(n),
            },
            "worker_connections": t.main.worker_connections.value,
            "error_log": t.main.error_log.value.to_string(),
        },
        "listeners": listeners,
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&v).expect("json serialises")
    )
}

/// A parsed `explain` target (public for the fuzz targets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub path: String,
    pub query: Option<String>,
}

/// `explain`'s URL argument: `http[s]://host[:port]/path?query`, `/path?query`, or `*`
/// (`OPTIONS *`, the server as a whole). It is read by the server's own request parser,
/// as the target of a GET, so that explain accepts, decodes and normalises a URL exactly
/// as the server would the same request-target: host lower-cased, an empty port meaning
/// none, no path meaning `/`.
pub fn parse_url(url: &str) -> Result<Target, String> {
    if url == "*" {
        return Ok(Target {
            host: None,
            port: None,
            path: "*".into(),
            query: None,
        });
    }
    if !(url.starts_with('/') || url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "`{url}` is neither an http:// URL, a path starting with `/`, nor `*`"
        ));
    }
    // Only visible ASCII can stand in a request-target: a space or a line break would
    // end it and let the rest of the URL pose as the request line's remainder or as
    // header fields.
    if let Some(c) = url.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "`{}` holds {c:?}, which a URL must percent-encode",
            url.escape_debug()
        ));
    }
    let raw = format!("GET {url} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    match parse_head(raw.as_bytes(), &HeadLimits::default()) {
        Ok(Some((head, _))) => {
            let (host, port) = match (head.absolute_host(), head.effective_host()) {
                (Some(authority), Some(host)) => (
                    Some(host.to_owned()),
                    authority[host.len()..]
                        .strip_prefix(':')
                        .and_then(|p| p.parse().ok()),
                ),
                _ => (None, None),
            };
            Ok(Target {
                host,
                port,
                path: head.path().to_owned(),
                query: head.query().map(str::to_owned),
            })
        }
        Ok(None) => Err("incomplete URL".into()),
        Err(e) => Err(format!(
            "the server would answer {} ({}) to this request",
            e.status, e.reason
        )),
    }
}

/// What `explain` is asked about.
#[derive(Clone, Debug)]
pub struct Ask<'a> {
    /// `http://host[:port]/path?query` or `/path`.
    pub url: &'a str,
    pub method: &'a str,
    /// The local address the connection arrived on.
    pub listen: Option<SocketAddr>,
    pub body: AskBody,
}

/// The request body `explain` assumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AskBody {
    /// For POST and PUT a body of unknown length (as chunked), for other methods none.
    Usual,
    /// None at all (a POST or PUT without one is refused with 411).
    None,
    /// `Content-Length` bytes.
    Length(u64),
}

impl<'a> Ask<'a> {
    /// A GET of `url`.
    pub fn get(url: &'a str) -> Ask<'a> {
        Ask {
            url,
            method: "GET",
            listen: None,
            body: AskBody::Usual,
        }
    }
}

/// What the server answers, as the decision says ([`dispatch::decide`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The status the server sends (for CGI: when the script names none).
    pub status: u16,
    /// What answers: `file`, `index`, `autoindex`, `add-slash`, `return`, `options`,
    /// `server-options`, `delete`, `cgi`, `upload`, `error`.
    pub kind: &'static str,
    /// The `answer` line after the status.
    pub text: String,
    /// What else can change the status: `body` (413 past `client_max_body_size`, or
    /// what an upload holds), `script` (a CGI's own status).
    pub depends_on: Option<&'static str>,
    /// The decision's other facts (file, allow, location, script, path_info, store...).
    pub fields: serde_json::Map<String, Value>,
}

/// One request explained: listener, server, location, settings, file and answer.
struct Explanation<'t> {
    group: GroupId,
    server: usize,
    because: String,
    location: Option<LocId>,
    steps: Vec<String>,
    settings: &'t Effective,
    file: std::path::PathBuf,
    maps: String,
    answer: Answer,
    query: Option<String>,
}

/// `webserv explain`: which listener, server and location answer a URL, why, and what
/// the answer is.
pub fn explain(t: &RoutingTable, ask: &Ask) -> Result<String, String> {
    let e = explanation(t, ask)?;
    let g = &t.groups[e.group];
    let s = &t.servers[e.server];
    let mut out = String::new();
    out.push_str(&format!("request   {} {}\n", ask.method, ask.url));
    out.push_str(&format!(
        "listen    {} ({} server{})\n",
        g.addr,
        g.servers.len(),
        if g.servers.len() == 1 { "" } else { "s" }
    ));
    out.push_str(&format!(
        "server    #{} {} ({})\n          because: {}\n",
        e.server,
        s.names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(" "),
        t.origin(s.origin),
        e.because
    ));
    match e.location {
        Some(l) => {
            let l = &t.locations[l];
            out.push_str(&format!(
                "location  {} ({})\n",
                l.display(),
                t.origin(l.origin)
            ));
        }
        None => out.push_str("location  none matched: the server's own settings apply\n"),
    }
    for step in &e.steps {
        out.push_str(&format!("          - {step}\n"));
    }
    out.push_str("settings\n");
    settings_text(t, e.settings, g.ssl, "          ", &mut out);
    out.push_str(&format!("maps to   {} ({})\n", e.file.display(), e.maps));
    out.push_str(&format!(
        "answer    {} {}\n",
        e.answer.status, e.answer.text
    ));
    if let Some(q) = &e.query {
        out.push_str(&format!("query     {q} (passed to CGI as QUERY_STRING)\n"));
    }
    Ok(out)
}

/// `webserv explain --format json`: the same, as fields.
pub fn explain_json(t: &RoutingTable, ask: &Ask) -> Result<String, String> {
    let e = explanation(t, ask)?;
    let g = &t.groups[e.group];
    let s = &t.servers[e.server];
    let location = e.location.map(|id| {
        let l = &t.locations[id];
        json!({
            "id": id,
            "modifier": l.modifier.as_str(),
            "pattern": l.pattern,
            "from": t.origin(l.origin),
        })
    });
    let mut answer = serde_json::Map::new();
    answer.insert("status".into(), json!(e.answer.status));
    answer.insert("kind".into(), json!(e.answer.kind));
    answer.insert("text".into(), json!(e.answer.text));
    answer.insert("depends_on".into(), json!(e.answer.depends_on));
    answer.extend(e.answer.fields);
    let v = json!({
        "version": 1,
        "request": { "method": ask.method, "url": ask.url },
        "listen": { "address": g.addr.to_string(), "servers": g.servers.len() },
        "server": {
            "id": e.server,
            "names": s.names,
            "from": t.origin(s.origin),
            "because": e.because,
        },
        "location": location,
        "steps": e.steps,
        "settings": settings_json(t, e.settings, g.ssl),
        "maps_to": { "path": e.file.display().to_string(), "how": e.maps },
        "answer": Value::Object(answer),
        "query": e.query,
    });
    Ok(format!(
        "{}\n",
        serde_json::to_string_pretty(&v).expect("json serialises")
    ))
}

/// The answer alone (what the server will send), for scripts and tests.
pub fn predict(t: &RoutingTable, ask: &Ask) -> Result<Answer, String> {
    explanation(t, ask).map(|e| e.answer)
}

/// The address group a request arrives on: an explicit local address, an IP literal in
/// the URL, or the first group on the URL's port (wildcards first). A URL without a port
/// means 80, or 443 for `https://`.
fn pick_group(
    t: &RoutingTable,
    target: &Target,
    https: bool,
    listen: Option<SocketAddr>,
) -> Result<GroupId, String> {
    if let Some(local) = listen {
        return t
            .group_for(local)
            .ok_or_else(|| format!("no listen directive covers {local}"));
    }
    let ip_literal = target.host.as_deref().and_then(|h| {
        h.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .ok()
    });
    let port = target.port.or(if target.host.is_some() {
        Some(if https { 443 } else { 80 })
    } else {
        None
    });
    if let (Some(ip), Some(p)) = (ip_literal, port)
        && let Some(g) = t.group_for(SocketAddr::new(ip, p))
    {
        return Ok(g);
    }
    let on_port: Vec<usize> = (0..t.groups.len())
        .filter(|&g| port.is_none_or(|p| t.groups[g].addr.port == p))
        .collect();
    let pick = on_port
        .iter()
        .copied()
        .find(|&g| t.groups[g].addr.host == crate::confc::model::ListenHost::Any)
        .or(on_port.first().copied());
    match pick {
        Some(g) => Ok(g),
        None if target.port.is_none() && !t.groups.is_empty() => Ok(0),
        None => Err(format!(
            "no server listens on port {}",
            port.unwrap_or(if https { 443 } else { 80 })
        )),
    }
}

fn because(host: Option<&str>, why: ServerWhy<'_>, addr: &dyn std::fmt::Display) -> String {
    match why {
        ServerWhy::Exact(n) => format!("exact name \"{n}\""),
        ServerWhy::LeadingWildcard(suffix) => format!("leading wildcard \"*{suffix}\""),
        ServerWhy::TrailingWildcard(prefix) => format!("trailing wildcard \"{prefix}*\""),
        ServerWhy::Regex(re) => format!("regex \"~{re}\""),
        ServerWhy::DefaultServer => format!(
            "no name matched {:?}: the default_server",
            host.unwrap_or("")
        ),
        ServerWhy::FirstServer => format!(
            "no name matched {:?}: the first server of {addr}",
            host.unwrap_or("")
        ),
    }
}

fn step_text(t: &RoutingTable, step: &LocStep) -> String {
    match *step {
        LocStep::Exact(id) => format!("exact match `= {}`", t.locations[id].pattern),
        LocStep::LongestPrefix(id) => format!("longest prefix `{}`", t.locations[id].display()),
        LocStep::NoRegexStop(id) => format!(
            "`{}` is `^~`: regexes are not tried",
            t.locations[id].pattern
        ),
        LocStep::Nested(id) => format!(
            "searching the locations nested in `{}`",
            t.locations[id].display()
        ),
        LocStep::Regex(id) => format!("regex `{}` matched", t.locations[id].display()),
        LocStep::RegexMisses(n) => format!(
            "{n} regex location{} did not match",
            if n == 1 { "" } else { "s" }
        ),
    }
}

/// The client `explain` assumes: a local one, without credentials.
const EXPLAIN_PEER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// The request `explain` asks about, as the server's parser would hold it (for the
/// variables): the URL's path and query as the request-target, its host as `Host`.
fn request_head(ask: &Ask, target: &Target) -> Result<RequestHead, String> {
    let origin = match ask.url.find("://") {
        Some(i) => ask.url[i + 3..]
            .find('/')
            .map_or("/", |j| &ask.url[i + 3 + j..]),
        None => ask.url,
    };
    let origin = if origin == "*" { "/" } else { origin };
    let method = if ask.method.bytes().all(|b| b.is_ascii_alphabetic()) && !ask.method.is_empty() {
        ask.method
    } else {
        "GET"
    };
    let raw = match &target.host {
        Some(h) => format!("{method} {origin} HTTP/1.1\r\nHost: {h}\r\n\r\n"),
        None => format!("{method} {origin} HTTP/1.0\r\n\r\n"),
    };
    match parse_head(raw.as_bytes(), &HeadLimits::default()) {
        Ok(Some((head, _))) => Ok(head),
        _ => Err(format!(
            "`{}` is not a request the server would take",
            ask.url
        )),
    }
}

fn explanation<'t>(t: &'t RoutingTable, ask: &Ask) -> Result<Explanation<'t>, String> {
    let target = parse_url(ask.url)?;
    let https = ask.url.starts_with("https://");
    let group = pick_group(t, &target, https, ask.listen)?;
    let host = target.host.as_deref();
    let (server, why) = t.select_server(group, host);
    let because = because(host, why, &t.groups[group].addr);
    let mut trail = Vec::new();
    let location = match target.path.as_str() {
        // `OPTIONS *` is about the server as a whole: its own settings.
        "*" => None,
        path => t.find_location(server, path, Some(&mut trail)),
    };
    let mut steps: Vec<String> = trail.iter().map(|s| step_text(t, s)).collect();
    let mut route = Route {
        group,
        server,
        location,
    };
    let method = Method::from_token(ask.method.as_bytes());
    let body = match ask.body {
        AskBody::Length(n) => BodyFraming::Length(n),
        AskBody::Usual if matches!(method, Method::Post | Method::Put) => BodyFraming::Chunked,
        AskBody::Usual | AskBody::None => BodyFraming::None,
    };
    let head = request_head(ask, &target)?;
    let asked = Asked {
        ask,
        head: &head,
        method,
        body,
        port: ask.listen.map_or(t.groups[group].addr.port, |a| a.port()),
    };
    let mut uri = target.path.clone();
    let mut answer = asked.follow(t, &mut route, &mut uri, &mut steps);
    let settings = t.settings(&route);
    let limit = settings.client_max_body_size.value;
    if body == BodyFraming::Chunked && limit != 0 && answer.status != 413 {
        answer
            .text
            .push_str(&format!("; 413 if the body is over {}", fmt_size(limit)));
        answer.depends_on.get_or_insert("body");
    }
    Ok(Explanation {
        group,
        server,
        because,
        location,
        steps,
        settings,
        file: fs_path(settings, &uri),
        maps: match &settings.root.value {
            DocRoot::Root(_) => "root + URI".to_string(),
            DocRoot::Alias { prefix, .. } => format!("alias replaces `{prefix}`"),
        },
        answer,
        query: target.query,
    })
}

/// The request `explain` asks, as the server would see it; what stays the same while
/// rewrites change its URI and location.
struct Asked<'a> {
    ask: &'a Ask<'a>,
    head: &'a RequestHead,
    method: Method,
    body: BodyFraming,
    /// The local port the request arrived on.
    port: u16,
}

impl Asked<'_> {
    /// The answer from `route` for `uri`, following the rewrites the server follows
    /// (`try_files`, internal redirects) alike: each changes `uri` (and, for a redirect,
    /// `route`'s location) and adds to `steps`.
    fn follow(
        &self,
        t: &RoutingTable,
        route: &mut Route,
        uri: &mut String,
        steps: &mut Vec<String>,
    ) -> Answer {
        let mut disk = Disk::default();
        let mut rewrites = Rewrites::default();
        let answer = loop {
            let path = rewrites.path(uri);
            let vars = RequestVars {
                head: self.head,
                peer: EXPLAIN_PEER,
                port: self.port,
                server_name: t.servers[route.server]
                    .names
                    .first()
                    .map_or("", String::as_str),
                scheme: "http",
                uri: path,
            };
            let facts = Facts {
                method: self.method,
                path,
                expect: Expect::None,
                body: self.body,
                peer: EXPLAIN_PEER.ip(),
                head: self.head,
                vars: &vars,
                try_files: rewrites.try_files,
            };
            match dispatch::decide(t, route, &facts, &mut disk) {
                Decision::Rewrite { .. } if rewrites.exhausted() => {
                    let why = Why::RewriteLoop;
                    let f = dispatch::failure(t, Some(route), 500, why, None, &mut disk);
                    break failure_answer(f, &facts, self.ask.method);
                }
                Decision::Rewrite {
                    uri: next,
                    relocate,
                } => {
                    rewrites.follow(t, route, next, relocate);
                    steps.push(rewrite_step(t, route, rewrites.path(""), relocate));
                }
                d => break describe(t.settings(route), &facts, self.ask.method, d),
            }
        };
        if let Some(last) = rewrites.uri() {
            *uri = last.to_string();
        }
        answer
    }
}

/// The step a `try_files` rewrite to `next` took: an internal redirect (`relocate`),
/// which matched `route`'s location again, or a file answered in this location.
fn rewrite_step(t: &RoutingTable, route: &Route, next: &str, relocate: bool) -> String {
    if relocate {
        let at = route.location.map_or("no location".into(), |l| {
            format!("location `{}`", t.locations[l].display())
        });
        format!("try_files: no file; internal redirect to {next} ({at})")
    } else {
        format!("try_files: {next} exists, answered in this location")
    }
}

/// The answer line and fields of a decision.
fn describe(settings: &Effective, req: &Facts, method_text: &str, d: Decision<'_, u64>) -> Answer {
    let mut fields = serde_json::Map::new();
    let mut field = |k: &str, v: Value| {
        fields.insert(k.into(), v);
    };
    let (status, kind, text, depends_on) = match d {
        Decision::ServerOptions => {
            let allow = dispatch::SERVER_ALLOW;
            field("allow", json!(allow));
            (
                200,
                "server-options",
                format!("OPTIONS *, Allow: {allow}"),
                None,
            )
        }
        Decision::Return {
            ret,
            server_level,
            text,
        } => {
            if ret.is_redirect() {
                field("location", json!(text.as_deref().unwrap_or("/")));
            }
            let (status, text) = return_text(ret, server_level, text.as_deref());
            field("server_level", json!(server_level));
            (status, "return", text, None)
        }
        Decision::Options(allowed) => {
            field("allow", json!(allowed.to_string()));
            (204, "options", format!("OPTIONS, Allow: {allowed}"), None)
        }
        Decision::File {
            file, name, index, ..
        } => describe_file(settings, req.path, file, name, index, &mut field),
        Decision::AddSlash => {
            let to = format!("{}/", req.path);
            field("location", json!(to));
            (301, "add-slash", format!("Moved Permanently to {to}"), None)
        }
        Decision::Autoindex { .. } => {
            let dir = fs_path(settings, req.path);
            field("directory", json!(dir.display().to_string()));
            (
                200,
                "autoindex",
                format!("directory listing of {} (autoindex)", dir.display()),
                None,
            )
        }
        Decision::Delete { base, rel } => {
            let path = base.join(rel.trim_start_matches('/'));
            field("file", json!(path.display().to_string()));
            (
                204,
                "delete",
                format!("DELETE removes {}", path.display()),
                None,
            )
        }
        Decision::Cgi(c) => describe_cgi(&c, &mut field),
        Decision::Upload(u) => describe_upload(&u, &mut field),
        Decision::Error(f) => return failure_answer(f, req, method_text),
        // `explanation` follows rewrites before it describes a decision.
        Decision::Rewrite { uri, .. } => (500, "error", format!("rewrite to {uri}"), None),
    };
    Answer {
        status,
        kind,
        text,
        depends_on,
        fields,
    }
}

/// A decision described: status, kind, answer text and what else can change the status
/// (the parts of an [`Answer`] besides its fields).
type Described = (u16, &'static str, String, Option<&'static str>);

/// A static or index file of `size` bytes (`name` is the index file's name).
fn describe_file(
    settings: &Effective,
    uri: &str,
    size: u64,
    name: &str,
    index: bool,
    field: &mut dyn FnMut(&str, Value),
) -> Described {
    let path = if index {
        fs_path(settings, uri).join(name)
    } else {
        fs_path(settings, uri)
    };
    field("file", json!(path.display().to_string()));
    field("size", json!(size));
    let what = if index { "index file" } else { "static file" };
    (
        200,
        if index { "index" } else { "file" },
        format!("{what} {} ({size} bytes)", path.display()),
        None,
    )
}

/// A CGI script: its path, interpreter and `PATH_INFO`.
fn describe_cgi(c: &CgiTarget<'_>, field: &mut dyn FnMut(&str, Value)) -> Described {
    let script = c.base.join(c.rel.trim_start_matches('/'));
    field("script", json!(script.display().to_string()));
    field("path_info", json!(c.path_info));
    let how = match &c.rule.interpreter {
        Some(i) => {
            field("interpreter", json!(i.display().to_string()));
            format!("via {}", i.display())
        }
        None => "executed directly".into(),
    };
    let info = if c.path_info.is_empty() {
        String::new()
    } else {
        format!(", PATH_INFO {}", c.path_info)
    };
    (
        200,
        "cgi",
        format!(
            "CGI script {} {how}{info} (the script's output decides: its Status, else 200)",
            script.display()
        ),
        Some("script"),
    )
}

/// An upload into `upload_store`: POST's parts, or PUT's one file.
fn describe_upload(u: &UploadTarget<'_>, field: &mut dyn FnMut(&str, Value)) -> Described {
    field("store", json!(u.dir.display().to_string()));
    match u.kind {
        UploadKind::Post => (
            201,
            "upload",
            format!(
                "upload into {} (every file part of a multipart body, else the body as one file)",
                u.dir.display()
            ),
            Some("body"),
        ),
        UploadKind::Put { name, existed } => {
            let path = u.dir.join(name);
            field("file", json!(path.display().to_string()));
            let (status, how) = if existed {
                (204, "replaces")
            } else {
                (201, "creates")
            };
            (
                status,
                "upload",
                format!("upload: PUT {how} {}", path.display()),
                Some("body"),
            )
        }
    }
}

fn failure_answer(f: Failure<'_, u64>, req: &Facts, method_text: &str) -> Answer {
    let mut fields = serde_json::Map::new();
    let status = f.status;
    let why = if f.why == Why::NotImplemented && !implemented(req.method) {
        format!("`{method_text}` is not a method webserv implements")
    } else {
        f.why.text().to_string()
    };
    fields.insert("error".into(), json!(status));
    fields.insert("why".into(), json!(why));
    let mut text = format!("{} ({why})", reason(status));
    if let Some(allow) = f.allow {
        fields.insert("allow".into(), json!(allow.to_string()));
        text.push_str(&format!(", Allow: {allow}"));
    }
    if let Some(realm) = f.realm {
        fields.insert("realm".into(), json!(realm));
        text.push_str(&format!(
            ", WWW-Authenticate: Basic realm={realm:?} (explain asks without credentials)"
        ));
    }
    if f.why == Why::AccessDenied {
        text.push_str(&format!(" (explain asks as {})", req.peer));
    }
    let sent = f.sent_status();
    match f.page {
        Page::Builtin => {}
        Page::File { uri, .. } => {
            fields.insert("error_page".into(), json!(uri));
            text.push_str(&format!(", served with error_page {uri}"));
        }
        Page::Redirect(to) => {
            fields.insert("error_page".into(), json!(to));
            fields.insert("location".into(), json!(to));
            text = format!(
                "to {to} (error_page for {status} {}: {why})",
                reason(status)
            );
        }
    }
    Answer {
        status: sent,
        kind: "error",
        text,
        depends_on: None,
        fields,
    }
}

/// A `return`'s status and answer text; `text` is its URL or body as expanded.
fn return_text(r: &Return, server_level: bool, text: Option<&str>) -> (u16, String) {
    let by = if server_level {
        "server-level return"
    } else {
        "return"
    };
    let answer = if r.is_redirect() {
        format!("{by} to {}", text.unwrap_or("/"))
    } else {
        match text {
            Some(text) => format!("{by} with body {text:?}"),
            None => by.to_string(),
        }
    };
    (r.code, answer)
}
