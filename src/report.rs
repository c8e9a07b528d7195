//! `webserv routes` and `webserv explain`: the routing table and one routing decision, as
//! text or JSON. Both read only the compiled table and the shared router.

use serde_json::{Value, json};

use crate::confc::model::DocRoot;
use crate::confc::table::{Effective, LocId, LocationSet, RoutingTable};
use crate::server::http::request::{HeadLimits, Method, parse_head};
use crate::server::router::{LocStep, ServerWhy, fs_path};

fn settings_text(t: &RoutingTable, e: &Effective, indent: &str, out: &mut String) {
    for (name, value, origin) in e.rows() {
        out.push_str(&format!(
            "{indent}{name:<22} {value:<40} {}\n",
            t.origin(origin)
        ));
    }
}

fn settings_json(t: &RoutingTable, e: &Effective) -> Value {
    let mut m = serde_json::Map::new();
    for (name, value, origin) in e.rows() {
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
        out.push_str(&format!("\nlisten {}\n", g.addr));
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
            out.push_str("    (no location matched)\n");
            settings_text(t, &s.settings, "      ", &mut out);
            location_tree_text(t, &s.locations, 2, &mut out);
        }
    }
    out
}

fn location_tree_text(t: &RoutingTable, set: &LocationSet, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    for id in ordered(set) {
        let l = &t.locations[id];
        out.push_str(&format!(
            "{indent}location {}  ({})\n",
            l.display(),
            t.origin(l.origin)
        ));
        settings_text(t, &l.settings, &format!("{indent}    "), out);
        location_tree_text(t, &l.nested, depth + 1, out);
    }
}

fn location_tree_json(t: &RoutingTable, set: &LocationSet) -> Value {
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
                    "settings": settings_json(t, &l.settings),
                    "locations": location_tree_json(t, &l.nested),
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
                "default_server": g.default,
                "servers": g.servers.iter().map(|&sid| {
                    let s = &t.servers[sid];
                    json!({
                        "id": sid,
                        "names": s.names,
                        "default": sid == g.default,
                        "from": t.origin(s.origin),
                        "settings": settings_json(t, &s.settings),
                        "locations": location_tree_json(t, &s.locations),
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

/// A parsed `explain` target.
struct Target {
    host: Option<String>,
    port: Option<u16>,
    path: String,
    query: Option<String>,
}

fn parse_url(url: &str) -> Result<Target, String> {
    let (authority, rest) = if let Some(r) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    {
        match r.find('/') {
            Some(i) => (Some(&r[..i]), &r[i..]),
            None => (Some(r), "/"),
        }
    } else if url.starts_with('/') {
        (None, url)
    } else {
        return Err(format!(
            "`{url}` is neither an http:// URL nor a path starting with `/`"
        ));
    };
    let (host, port) = match authority {
        None => (None, None),
        Some(a) => {
            let (h, p) = match a.rfind(':') {
                Some(i)
                    if !a[i + 1..].is_empty()
                        && a[i + 1..].bytes().all(|b| b.is_ascii_digit())
                        && !a.ends_with(']') =>
                {
                    (
                        &a[..i],
                        Some(
                            a[i + 1..]
                                .parse::<u16>()
                                .map_err(|_| format!("bad port in `{url}`"))?,
                        ),
                    )
                }
                _ => (a, None),
            };
            (Some(h.to_string()), p)
        }
    };
    // Parse through the server's own request parser so decoding and normalisation match.
    let raw = format!(
        "GET {rest} HTTP/1.1\r\nHost: {}\r\n\r\n",
        host.as_deref().unwrap_or("localhost")
    );
    match parse_head(raw.as_bytes(), &HeadLimits::default()) {
        Ok(Some((head, _))) => Ok(Target {
            host,
            port,
            path: head.path().to_owned(),
            query: head.query().map(str::to_owned),
        }),
        Ok(None) => Err("incomplete URL".into()),
        Err(e) => Err(format!(
            "the server would answer {} ({}) to this request",
            e.status, e.reason
        )),
    }
}

/// `webserv explain`: which listener, server and location answer a URL, and why.
pub fn explain(
    t: &RoutingTable,
    url: &str,
    method: &str,
    listen: Option<std::net::SocketAddr>,
) -> Result<String, String> {
    let target = parse_url(url)?;
    let mut out = String::new();
    // Which address group: an explicit local address, an IP literal in the URL, or the
    // first group on the URL's port (wildcards first).
    let group = if let Some(local) = listen {
        t.group_for(local)
            .ok_or_else(|| format!("no listen directive covers {local}"))?
    } else {
        let ip_literal = target.host.as_deref().and_then(|h| {
            h.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .ok()
        });
        let port = target.port.or(if target.host.is_some() {
            Some(80)
        } else {
            None
        });
        let by_ip = match (ip_literal, port) {
            (Some(ip), Some(p)) => t.group_for(std::net::SocketAddr::new(ip, p)),
            _ => None,
        };
        match by_ip {
            Some(g) => g,
            None => {
                let on_port: Vec<usize> = (0..t.groups.len())
                    .filter(|&g| port.is_none_or(|p| t.groups[g].addr.port == p))
                    .collect();
                let pick = on_port
                    .iter()
                    .copied()
                    .find(|&g| t.groups[g].addr.host == crate::confc::model::ListenHost::Any)
                    .or(on_port.first().copied());
                match pick {
                    Some(g) => g,
                    None if target.port.is_none() && !t.groups.is_empty() => 0,
                    None => {
                        return Err(format!("no server listens on port {}", port.unwrap_or(80)));
                    }
                }
            }
        }
    };
    let g = &t.groups[group];
    out.push_str(&format!("request   {method} {url}\n"));
    out.push_str(&format!(
        "listen    {} ({} server{})\n",
        g.addr,
        g.servers.len(),
        if g.servers.len() == 1 { "" } else { "s" }
    ));
    let host = target.host.as_deref();
    let (sid, why) = t.select_server(group, host);
    let s = &t.servers[sid];
    let why = match why {
        ServerWhy::Exact(n) => format!("exact name \"{n}\""),
        ServerWhy::LeadingWildcard(suffix) => format!("leading wildcard \"*{suffix}\""),
        ServerWhy::TrailingWildcard(prefix) => format!("trailing wildcard \"{prefix}*\""),
        ServerWhy::Regex(re) => format!("regex \"~{re}\""),
        ServerWhy::DefaultServer => format!(
            "no name matched {:?}: the default_server",
            host.unwrap_or("")
        ),
        ServerWhy::FirstServer => format!(
            "no name matched {:?}: the first server of {}",
            host.unwrap_or(""),
            g.addr
        ),
    };
    out.push_str(&format!(
        "server    #{sid} {} ({})\n          because: {why}\n",
        s.names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(" "),
        t.origin(s.origin)
    ));
    let mut trail = Vec::new();
    let loc = t.find_location(sid, &target.path, Some(&mut trail));
    let settings = match loc {
        Some(l) => {
            let l = &t.locations[l];
            out.push_str(&format!(
                "location  {} ({})\n",
                l.display(),
                t.origin(l.origin)
            ));
            &l.settings
        }
        None => {
            out.push_str("location  none matched: the server's own settings apply\n");
            &s.settings
        }
    };
    for step in &trail {
        let line = match *step {
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
        };
        out.push_str(&format!("          - {line}\n"));
    }
    out.push_str("settings\n");
    settings_text(t, settings, "          ", &mut out);
    let file = fs_path(settings, &target.path);
    out.push_str(&format!(
        "maps to   {} ({})\n",
        file.display(),
        match &settings.root.value {
            DocRoot::Root(_) => "root + URI".to_string(),
            DocRoot::Alias { prefix, .. } => format!("alias replaces `{prefix}`"),
        }
    ));
    out.push_str(&format!(
        "answer    {}\n",
        answer(t, sid, settings, method, &target.path, &file)
    ));
    if let Some(q) = &target.query {
        out.push_str(&format!("query     {q} (passed to CGI as QUERY_STRING)\n"));
    }
    Ok(out)
}

/// What would answer, in the order the server decides it.
fn answer(
    t: &RoutingTable,
    sid: usize,
    settings: &Effective,
    method: &str,
    path: &str,
    file: &std::path::Path,
) -> String {
    if let Some(r) = &t.servers[sid].settings.ret.value {
        return return_text("server-level ", r);
    }
    let m = Method::from_token(method.as_bytes());
    if m == Method::Other {
        return format!("501 Not Implemented (`{method}` is not a method webserv implements)");
    }
    if !settings.allow_methods.value.contains_name(method) {
        return format!(
            "405 Method Not Allowed, Allow: {}",
            settings.allow_methods.value
        );
    }
    if let Some(r) = &settings.ret.value {
        return return_text("", r);
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(rule) = settings.cgi_for(&name) {
        let how = match &rule.interpreter {
            Some(i) => format!("via {}", i.display()),
            None => "executed directly".into(),
        };
        return if file.is_file() {
            format!("CGI script {how}")
        } else {
            format!("404 Not Found (CGI script missing; it would run {how})")
        };
    }
    if (method == "POST" || method == "PUT")
        && let Some(store) = &settings.upload_store.value
    {
        return format!("upload into {}", store.display());
    }
    if method == "DELETE" {
        return if file.is_file() {
            "204 No Content (the file is deleted)".into()
        } else {
            "404 Not Found".into()
        };
    }
    match std::fs::metadata(file) {
        Ok(m) if m.is_dir() => {
            if !path.ends_with('/') {
                return format!("301 Moved Permanently to {path}/");
            }
            if let Some(i) = settings.index.value.iter().find(|i| file.join(i).is_file()) {
                return format!("index file {}", file.join(i).display());
            }
            if settings.autoindex.value {
                "200 directory listing (autoindex)".into()
            } else {
                "403 Forbidden (directory without index file, autoindex off)".into()
            }
        }
        Ok(m) => format!("200 static file ({} bytes)", m.len()),
        Err(_) => match settings.error_page(404) {
            Some(uri) => format!("404 Not Found, served with error_page {uri}"),
            None => "404 Not Found".into(),
        },
    }
}

fn return_text(prefix: &str, r: &crate::confc::model::Return) -> String {
    if r.is_redirect() {
        format!(
            "{prefix}return {} to {}",
            r.code,
            r.text.as_deref().unwrap_or("")
        )
    } else {
        match &r.text {
            Some(text) => format!("{prefix}return {} with body {text:?}", r.code),
            None => format!("{prefix}return {}", r.code),
        }
    }
}
