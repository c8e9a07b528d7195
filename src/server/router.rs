//! Request routing: listen group → virtual server → location. Pure functions over the
//! [`RoutingTable`]; `webserv explain` and the server both call these, so they cannot
//! disagree. No allocation when serving: reasons borrow the table's text, and the
//! location search notes its steps only when `explain` asks.

use std::net::SocketAddr;

use crate::confc::model::{ListenHost, Modifier};
use crate::confc::table::{
    AddrGroup, Effective, GroupId, LocId, LocationSet, RoutingTable, ServerId,
};

/// Why a server was chosen, naming the table's own text (nothing is allocated): the
/// exact name, the `.suffix` of a leading wildcard, the `prefix.` of a trailing one,
/// the source of a regex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerWhy<'t> {
    Exact(&'t str),
    LeadingWildcard(&'t str),
    TrailingWildcard(&'t str),
    Regex(&'t str),
    /// No name matched (or no Host): the `default_server`.
    DefaultServer,
    /// No name matched and no `default_server`: the first server of the address.
    FirstServer,
}

/// One step of the location search, for `explain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocStep {
    Exact(LocId),
    LongestPrefix(LocId),
    /// The longest prefix is `^~`: regexes are not searched.
    NoRegexStop(LocId),
    /// Searching the nested locations of this one.
    Nested(LocId),
    Regex(LocId),
    RegexMisses(usize),
}

/// The result of routing one request.
#[derive(Clone, Debug)]
pub struct Route {
    pub group: GroupId,
    pub server: ServerId,
    /// `None`: no location matched; the server's own settings apply.
    pub location: Option<LocId>,
}

impl RoutingTable {
    /// The address group that owns a connection accepted on `local` (nginx: an
    /// IP-specific listen hides `*:port` for that IP).
    pub fn group_for(&self, local: SocketAddr) -> Option<GroupId> {
        let mut wildcard = None;
        for (i, g) in self.groups.iter().enumerate() {
            if g.addr.port != local.port() {
                continue;
            }
            match g.addr.host {
                ListenHost::Ip(ip) if ip == local.ip() => return Some(i),
                ListenHost::Ip(ip) if ip.is_unspecified() && ip.is_ipv4() == local.is_ipv4() => {
                    wildcard = Some(i)
                }
                ListenHost::Any if local.is_ipv4() => wildcard = Some(i),
                _ => {}
            }
        }
        wildcard
    }

    /// The server for a Host value (already without port, any case).
    pub fn select_server(&self, group: GroupId, host: Option<&str>) -> (ServerId, ServerWhy<'_>) {
        let g = &self.groups[group];
        if let Some(host) = host {
            let lower;
            let host = if host.bytes().any(|b| b.is_ascii_uppercase()) {
                lower = host.to_ascii_lowercase();
                lower.as_str()
            } else {
                host
            };
            let host = host.strip_suffix('.').unwrap_or(host);
            if let Some(hit) = lookup_name(g, host) {
                return hit;
            }
        } else if let Some((name, &s)) = g.names.exact.get_key_value("") {
            return (s, ServerWhy::Exact(name));
        }
        if g.default_explicit {
            (g.default, ServerWhy::DefaultServer)
        } else {
            (g.default, ServerWhy::FirstServer)
        }
    }

    /// nginx's location search on a decoded, normalised path.
    pub fn find_location(
        &self,
        server: ServerId,
        path: &str,
        trail: Option<&mut Vec<LocStep>>,
    ) -> Option<LocId> {
        let mut found = None;
        let mut trail = Trail(trail);
        self.search(
            &self.servers[server].locations,
            path,
            &mut found,
            &mut trail,
        );
        found
    }

    /// One level of ngx_http_core_find_location. Returns true when the search is final
    /// (exact match, or a regex matched), false when outer regexes may still be tried.
    fn search(
        &self,
        set: &LocationSet,
        path: &str,
        found: &mut Option<LocId>,
        trail: &mut Trail<'_>,
    ) -> bool {
        if let Some(&id) = set.exact.get(path) {
            *found = Some(id);
            trail.push(LocStep::Exact(id));
            return true;
        }
        if let Some(&id) = set
            .prefix
            .iter()
            .find(|&&id| path.starts_with(self.locations[id].pattern.as_str()))
        {
            *found = Some(id);
            trail.push(LocStep::LongestPrefix(id));
            let loc = &self.locations[id];
            let noregex = loc.modifier == Modifier::PrefixNoRegex;
            if !loc.nested.is_empty() {
                trail.push(LocStep::Nested(id));
                if self.search(&loc.nested, path, found, trail) {
                    return true;
                }
            }
            if noregex {
                trail.push(LocStep::NoRegexStop(id));
                return false;
            }
        }
        for (n, &id) in set.regex.iter().enumerate() {
            let re = self.locations[id]
                .regex
                .as_ref()
                .expect("regex location has a regex");
            if re.is_match(path) {
                if n > 0 {
                    trail.push(LocStep::RegexMisses(n));
                }
                *found = Some(id);
                trail.push(LocStep::Regex(id));
                let nested = &self.locations[id].nested;
                if !nested.is_empty() {
                    trail.push(LocStep::Nested(id));
                    self.search(nested, path, found, trail);
                }
                return true;
            }
        }
        if !set.regex.is_empty() {
            trail.push(LocStep::RegexMisses(set.regex.len()));
        }
        false
    }

    /// Full routing of a request that arrived on `group`.
    pub fn route(&self, group: GroupId, host: Option<&str>, path: &str) -> Route {
        // An address with one server needs no Host lookup: every name leads to it.
        let g = &self.groups[group];
        let server = match g.servers[..] {
            [only] => only,
            _ => self.select_server(group, host).0,
        };
        let location = self.find_location(server, path, None);
        Route {
            group,
            server,
            location,
        }
    }

    /// The effective settings of a route.
    pub fn settings(&self, route: &Route) -> &Effective {
        match route.location {
            Some(l) => &self.locations[l].settings,
            None => &self.servers[route.server].settings,
        }
    }
}

/// Where the location search notes its steps: nowhere when serving, in `explain`'s
/// list when it asks (so serving never allocates for it).
struct Trail<'a>(Option<&'a mut Vec<LocStep>>);

impl Trail<'_> {
    fn push(&mut self, step: LocStep) {
        if let Some(steps) = &mut self.0 {
            steps.push(step);
        }
    }
}

fn lookup_name<'t>(g: &'t AddrGroup, host: &str) -> Option<(ServerId, ServerWhy<'t>)> {
    let names = &g.names;
    if let Some((name, &s)) = names.exact.get_key_value(host) {
        return Some((s, ServerWhy::Exact(name)));
    }
    if !names.leading.is_empty() {
        // Leftmost dot first: the longest suffix wins.
        for (i, _) in host.match_indices('.') {
            if let Some((suffix, &s)) = names.leading.get_key_value(&host[i..]) {
                return Some((s, ServerWhy::LeadingWildcard(suffix)));
            }
        }
    }
    if !names.trailing.is_empty() {
        // Rightmost dot first: the longest prefix wins.
        for (i, _) in host.rmatch_indices('.') {
            if let Some((prefix, &s)) = names.trailing.get_key_value(&host[..=i]) {
                return Some((s, ServerWhy::TrailingWildcard(prefix)));
            }
        }
    }
    for (re, s) in &names.regex {
        if re.is_match(host) {
            return Some((*s, ServerWhy::Regex(re.as_str())));
        }
    }
    None
}

/// The document root and the path beneath it that a URI path maps to: `root` + URI, or
/// `alias` replacing the location prefix (nginx). The URI path is already decoded and
/// normalised (no `..`).
pub fn fs_target<'a>(settings: &'a Effective, uri_path: &'a str) -> (&'a std::path::Path, &'a str) {
    use crate::confc::model::DocRoot;
    match &settings.root.value {
        DocRoot::Root(root) => (root, uri_path),
        DocRoot::Alias { path, prefix } => (
            path,
            uri_path.strip_prefix(prefix.as_str()).unwrap_or(uri_path),
        ),
    }
}

/// The file-system path a URI path maps to (see [`fs_target`]).
pub fn fs_path(settings: &Effective, uri_path: &str) -> std::path::PathBuf {
    let (base, rel) = fs_target(settings, uri_path);
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() {
        // Keep a trailing slash visible for directory URIs.
        let mut p = base.to_path_buf().into_os_string();
        if uri_path.ends_with('/') && !p.to_string_lossy().ends_with('/') {
            p.push("/");
        }
        return p.into();
    }
    base.join(rel)
}

#[cfg(test)]
mod tests {
    use crate::confc::{CompileOptions, compile_str};

    /// Serving skips the Host lookup for an address with one server; it must pick what
    /// the lookup (and so `explain`) picks, whatever the Host.
    #[test]
    fn route_picks_what_select_server_picks() {
        let c = compile_str(
            "server { listen 8001; server_name only.example; }\n\
             server { listen 8002; server_name a.example; }\n\
             server { listen 8002; server_name b.example *.c.example; }\n",
            &CompileOptions::default(),
        );
        let t = c.table.expect("config compiles");
        assert_eq!(t.groups.len(), 2);
        let hosts = [
            None,
            Some(""),
            Some("only.example"),
            Some("b.example"),
            Some("x.c.example"),
            Some("other"),
        ];
        for group in 0..t.groups.len() {
            for host in hosts {
                assert_eq!(
                    t.route(group, host, "/").server,
                    t.select_server(group, host).0,
                    "group {group}, host {host:?}"
                );
            }
        }
        let servers = |g: usize| hosts.map(|h| t.route(g, h, "/").server);
        assert!(servers(0).iter().all(|&s| s == t.groups[0].servers[0]));
        assert_eq!(servers(1), [1, 1, 1, 2, 2, 1]);
    }
}
