//! Raw configuration → [`RoutingTable`]: inheritance, listener groups, server name
//! indexes, location sets in match order, cross-entity checks and (optionally) the
//! file-system lints. Like nginx's `ngx_http_optimize_servers` and
//! `ngx_http_init_locations`: all sorting and indexing happens here, never per request.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diag::{Code, Diag, Diags};
use super::merge::{Provenance, defaults, merge, pick_main};
use super::model::{DocRoot, ListenAddr, ListenHost, Modifier, ServerName};
use super::raw::{Listen, LocationConf, MainConf, ServerConf, Set, Settings};
use super::source::{SourceMap, Span};
use super::table::{
    AddrGroup, Bind, Effective, Location, LocationSet, MainSettings, NameIndex, Origin,
    RoutingTable, ServerId, Sourced, VirtualServer,
};
use super::tls::{self, Certificate, Named};

/// Options that change what resolution looks at.
#[derive(Clone, Copy, Debug)]
pub struct ResolveOptions {
    /// Run the lints that look at the file system (missing directories, interpreters,
    /// unwritable upload stores).
    pub fs_lints: bool,
    /// Seconds since the epoch: the time certificates are judged against.
    pub now: i64,
}

struct Builder<'a> {
    sources: &'a SourceMap,
    diags: &'a mut Diags,
    locations: Vec<Location>,
    /// Every `error_page` directive: server, its URIs, span.
    error_pages: Vec<(ServerId, Vec<String>, Span)>,
}

/// Builds the table. Diagnostics are pushed; the caller keeps the table only without errors.
pub fn resolve(
    main: &MainConf,
    sources: &SourceMap,
    config_dir: &Path,
    opts: ResolveOptions,
    diags: &mut Diags,
) -> RoutingTable {
    let (defaults, builtin) = defaults(config_dir);
    let base = merge(&defaults, &main.settings, sources);
    let mut b = Builder {
        sources,
        diags,
        locations: Vec::new(),
        error_pages: Vec::new(),
    };
    if main.servers.is_empty() && !b.diags.has_errors() {
        b.diags.push(
            Diag::new(
                Code::NoServer,
                Span::new(0, 0, 0),
                "the config defines no server",
            )
            .label("no `server { }` block in this file")
            .help("add one, e.g. `server { listen 8080; root www; }`"),
        );
    }
    let mut servers = b.servers(&main.servers, &base, super::par::threads());
    for id in 0..servers.len() {
        b.note_error_pages(id, &main.settings);
    }
    let groups = b.groups(main, &servers);
    certificates(main, &mut servers, opts.now, b.diags);
    let binds = binds(&groups);
    let main_settings = MainSettings {
        error_log: pick_main(&main.error_log, &builtin.error_log, sources).map(|v| v.0),
        error_log_level: pick_main(&main.error_log, &builtin.error_log, sources).map(|v| v.1),
        worker_processes: pick_main(&main.worker_processes, &builtin.worker_processes, sources),
        worker_connections: pick_main(
            &main.worker_connections,
            &builtin.worker_connections,
            sources,
        ),
    };
    let table = RoutingTable {
        files: sources.files().map(|(_, f)| f.path.clone()).collect(),
        main: main_settings,
        base,
        binds,
        groups,
        servers,
        locations: std::mem::take(&mut b.locations),
    };
    b.check_error_pages(&table);
    if opts.fs_lints {
        fs_lints(main, &table, b.diags);
    }
    hidden_servers(main, &table, b.diags);
    table
}

/// Server counts below this are resolved on the calling thread.
const PARALLEL_SERVERS: usize = 512;

/// What one thread resolved: servers, their locations (ids from 0), `error_page`
/// notes and diagnostics.
type Part = (
    Vec<VirtualServer>,
    Vec<Location>,
    Vec<(ServerId, Vec<String>, Span)>,
    Diags,
);

/// Locations in a list, nested ones included.
fn count_locations(list: &[LocationConf]) -> usize {
    list.iter().map(|l| 1 + count_locations(&l.locations)).sum()
}

/// Adds `off` to every location id in a set.
fn shift(set: &mut LocationSet, off: usize) {
    for id in set.exact.values_mut() {
        *id += off;
    }
    for id in set.prefix.iter_mut().chain(set.regex.iter_mut()) {
        *id += off;
    }
}

impl Builder<'_> {
    /// Every server's effective settings and location sets. With many servers, runs of
    /// them are resolved on one thread per core (a server's locations depend only on
    /// it and the main context), then their location ids are shifted into one table.
    fn servers(
        &mut self,
        list: &[ServerConf],
        base: &Effective,
        parts: usize,
    ) -> Vec<VirtualServer> {
        if list.len() < PARALLEL_SERVERS || parts <= 1 {
            return list
                .iter()
                .enumerate()
                .map(|(id, sc)| self.server(id, sc, base))
                .collect();
        }
        let sources = self.sources;
        let run = |first: ServerId, run: &[ServerConf]| -> Part {
            let mut d = Diags::default();
            let mut b = Builder {
                sources,
                diags: &mut d,
                // Sized up front: a Location is several hundred bytes, and growing a
                // table of tens of thousands by doubling copies it again and again.
                locations: Vec::with_capacity(
                    run.iter().map(|sc| count_locations(&sc.locations)).sum(),
                ),
                error_pages: Vec::new(),
            };
            let vs = run
                .iter()
                .enumerate()
                .map(|(k, sc)| b.server(first + k, sc, base))
                .collect();
            let Builder {
                locations,
                error_pages,
                ..
            } = b;
            (vs, locations, error_pages, d)
        };
        let per = list.len().div_ceil(parts);
        let runs: Vec<(ServerId, &[ServerConf])> = list
            .chunks(per)
            .enumerate()
            .map(|(k, c)| (k * per, c))
            .collect();
        let done: Vec<Part> = super::par::map(&runs, |&(first, servers)| run(first, servers));
        self.locations
            .reserve(done.iter().map(|(_, locs, _, _)| locs.len()).sum());
        let mut servers = Vec::with_capacity(list.len());
        for (mut vs, mut locs, notes, d) in done {
            let off = self.locations.len();
            for v in &mut vs {
                shift(&mut v.locations, off);
            }
            for l in &mut locs {
                l.parent = l.parent.map(|p| p + off);
                shift(&mut l.nested, off);
            }
            self.locations.extend(locs);
            self.error_pages.extend(notes);
            self.diags.append(d);
            servers.extend(vs);
        }
        servers
    }

    fn server(&mut self, id: ServerId, sc: &ServerConf, base: &Effective) -> VirtualServer {
        let mut settings = merge(base, &sc.settings, self.sources);
        // A server-level `return` is the server's own; keep it on the server settings.
        if let Some(r) = &sc.settings.ret {
            settings.ret = Sourced {
                value: Some(r.value.clone()),
                origin: self.sources.origin(r.span),
            };
        }
        self.note_error_pages(id, &sc.settings);
        let mut inner = settings.clone();
        inner.ret = Sourced::default_value(None);
        let locations = self.location_set(id, None, &sc.locations, &inner);
        let listens = if sc.listens.is_empty() {
            vec![ListenAddr {
                host: ListenHost::Any,
                port: 8080,
            }]
        } else {
            sc.listens.iter().map(|l| l.value.addr).collect()
        };
        let names = if sc.names.is_empty() {
            vec![String::new()]
        } else {
            sc.names.iter().map(|n| n.value.display()).collect()
        };
        VirtualServer {
            names,
            listens,
            origin: Origin::Config {
                file: sc.span.file,
                line: self.sources.line(sc.span),
            },
            locations,
            settings,
            tls: None,
        }
    }

    /// One entry per `error_page` directive, with that directive's span.
    fn note_error_pages(&mut self, server: ServerId, s: &Settings) {
        if let Some(ep) = &s.error_pages {
            for (i, page) in ep.value.iter().enumerate() {
                let span = s.error_page_spans.get(i).copied().unwrap_or(ep.span);
                // Only a target without variables can be checked before a request.
                if let Some(uri) = page.uri.as_literal() {
                    self.error_pages.push((server, vec![uri.to_string()], span));
                }
            }
        }
    }

    fn location_set(
        &mut self,
        server: ServerId,
        parent: Option<(usize, &LocationConf)>,
        list: &[LocationConf],
        inherited: &Effective,
    ) -> LocationSet {
        let mut set = LocationSet::default();
        let mut seen: HashMap<(bool, &str), Span> = HashMap::new();
        let mut regexes: Vec<&LocationConf> = Vec::new();
        for lc in list {
            if let Some((_, p)) = parent
                && !self.nested_ok(p, lc)
            {
                continue;
            }
            // `/x` and `^~ /x` are the same prefix to nginx; `= /x` is its own kind.
            let key = (lc.modifier == Modifier::Exact, lc.pattern.as_str());
            if !lc.modifier.is_regex() {
                if let Some(first) = seen.get(&key) {
                    self.diags.push(
                        Diag::new(
                            Code::DuplicateLocation,
                            lc.span,
                            format!(
                                "duplicate location `{}`",
                                if lc.modifier == Modifier::Exact {
                                    format!("= {}", lc.pattern)
                                } else {
                                    lc.pattern.clone()
                                }
                            ),
                        )
                        .label("defined again here")
                        .with(*first, "first defined here")
                        .help("merge the two blocks, or change one pattern"),
                    );
                    continue;
                }
                seen.insert(key, lc.span);
            } else if let Some(prev) = regexes.iter().find(|p| shadows(p, lc)) {
                let why = if prev.pattern == lc.pattern && prev.modifier == lc.modifier {
                    "the same regex is defined earlier".to_string()
                } else {
                    format!(
                        "every path `{}` matches also matches the earlier `{}`",
                        lc.pattern, prev.pattern
                    )
                };
                self.diags.push(
                    Diag::new(Code::UnreachableLocation, lc.span, "unreachable location")
                        .label(why)
                        .with(
                            prev.span,
                            "this earlier regex wins (regexes are tried in file order)",
                        )
                        .help("move the more specific regex first, or remove it"),
                );
            }
            let id = self.location(server, parent.map(|p| p.0), lc, inherited);
            match lc.modifier {
                Modifier::Exact => {
                    set.exact.insert(lc.pattern.clone(), id);
                }
                Modifier::Prefix | Modifier::PrefixNoRegex => set.prefix.push(id),
                Modifier::Regex | Modifier::RegexCaseless => {
                    regexes.push(lc);
                    set.regex.push(id)
                }
            }
        }
        let locs = &self.locations;
        set.prefix
            .sort_by(|a, b| locs[*b].pattern.len().cmp(&locs[*a].pattern.len()));
        set
    }

    /// nginx: a nested prefix location must lie inside its parent prefix, and nothing
    /// nests inside an exact location.
    fn nested_ok(&mut self, parent: &LocationConf, lc: &LocationConf) -> bool {
        let msg = if parent.modifier == Modifier::Exact {
            Some((
                "a location cannot be nested inside an exact (`=`) location".to_string(),
                "an exact location matches one path and has no nested locations; move this one out",
            ))
        } else if parent.modifier.is_prefix()
            && !lc.modifier.is_regex()
            && !lc.pattern.starts_with(&parent.pattern)
        {
            Some((
                format!(
                    "location `{}` is outside its parent `{}`",
                    lc.pattern, parent.pattern
                ),
                "a nested prefix must start with the parent's prefix; move the location out",
            ))
        } else {
            None
        };
        match msg {
            None => true,
            Some((m, help)) => {
                self.diags.push(
                    Diag::new(Code::NestedOutside, lc.pattern_span, m)
                        .label("no request can reach it through the parent")
                        .with(parent.pattern_span, "parent location")
                        .help(help),
                );
                false
            }
        }
    }

    fn location(
        &mut self,
        server: ServerId,
        parent: Option<usize>,
        lc: &LocationConf,
        inherited: &Effective,
    ) -> usize {
        let settings = merge(inherited, &lc.settings, self.sources);
        self.note_error_pages(server, &lc.settings);
        let id = self.locations.len();
        self.locations.push(Location {
            modifier: lc.modifier,
            pattern: lc.pattern.clone(),
            regex: lc.regex.clone(),
            server,
            parent,
            nested: LocationSet::default(),
            origin: Origin::Config {
                file: lc.span.file,
                line: self.sources.line(lc.span),
            },
            settings,
        });
        if !lc.locations.is_empty() {
            let mut inner = self.locations[id].settings.clone();
            inner.ret = Sourced::default_value(None);
            let nested = self.location_set(server, Some((id, lc)), &lc.locations, &inner);
            self.locations[id].nested = nested;
        }
        id
    }

    fn groups(&mut self, main: &MainConf, servers: &[VirtualServer]) -> Vec<AddrGroup> {
        let mut grouping = Grouping::default();
        for (sid, (sc, vs)) in main.servers.iter().zip(servers).enumerate() {
            let mut listens: Vec<(Listen, Span)> =
                sc.listens.iter().map(|l| (l.value, l.span)).collect();
            if listens.is_empty() {
                let addr = vs.listens[0];
                listens.push((
                    Listen {
                        addr,
                        default_server: false,
                        ssl: false,
                    },
                    sc.span,
                ));
            }
            // The same address twice in one server (`listen 8080; listen *:8080;`).
            let mut own: HashMap<ListenAddr, Span> = HashMap::new();
            for (listen, span) in listens {
                if let Some(first) = own.get(&listen.addr) {
                    self.diags.push(duplicate_listen(listen.addr, span, *first));
                    continue;
                }
                own.insert(listen.addr, span);
                grouping.listen(sid, sc, listen, span, self.diags);
            }
        }
        grouping.groups
    }

    fn check_error_pages(&mut self, table: &RoutingTable) {
        let mut reported = HashSet::new();
        for (server, uris, span) in &self.error_pages {
            for uri in uris {
                if !uri.starts_with('/') {
                    continue;
                }
                let path = uri.split('?').next().unwrap_or(uri);
                let loc = table.find_location(*server, path, None);
                let eff = match loc {
                    Some(l) => &table.locations[l].settings,
                    None => &table.servers[*server].settings,
                };
                let problem = if let Some(r) = &eff.ret.value {
                    Some(format!("`{uri}` is answered by `return {}`", r.code))
                } else if !eff.allow_methods.value.contains_name("GET") {
                    Some(format!(
                        "`{uri}` is served by a location that does not allow GET"
                    ))
                } else {
                    None
                };
                if let Some(p) = problem
                    && reported.insert((*span, uri.clone()))
                {
                    self.diags.push(
                        Diag::new(
                            Code::ErrorPageTarget,
                            *span,
                            format!("error page `{uri}` cannot be served"),
                        )
                        .label(p)
                        .help("point error_page at a URI that a location serves with GET"),
                    );
                }
            }
        }
    }
}

/// The address groups as [`Builder::groups`] builds them, server by server, with what
/// it remembers to report repeated defaults and names.
#[derive(Default)]
struct Grouping {
    groups: Vec<AddrGroup>,
    by_addr: HashMap<ListenAddr, usize>,
    default_span: HashMap<ListenAddr, Span>,
    /// (group, name) → the span that registered it.
    name_spans: HashMap<(usize, String), (Span, ServerId)>,
    reported: HashSet<(Span, Span)>,
    /// The first listen of each port, and whether it is `ssl`.
    port_ssl: HashMap<u16, (bool, Span)>,
}

impl Grouping {
    /// Server `sid` (`sc`) listens on `listen` (at `span`): joins its address's group,
    /// as its default when it says so, with its names.
    fn listen(
        &mut self,
        sid: ServerId,
        sc: &ServerConf,
        listen: Listen,
        span: Span,
        diags: &mut Diags,
    ) {
        let addr = listen.addr;
        let (ssl, first) = *self.port_ssl.entry(addr.port).or_insert((listen.ssl, span));
        if ssl != listen.ssl {
            diags.push(mixed_port(addr.port, (listen.ssl, span), (ssl, first)));
        }
        let groups = &mut self.groups;
        let gi = *self.by_addr.entry(addr).or_insert_with(|| {
            groups.push(AddrGroup {
                addr,
                servers: Vec::new(),
                default: sid,
                default_explicit: false,
                names: NameIndex::default(),
                ssl,
            });
            groups.len() - 1
        });
        let g = &mut self.groups[gi];
        // Servers are added in id order, so a repeat can only be the last one
        // (a scan of the whole list would be quadratic on one shared port).
        if g.servers.last() == Some(&sid) {
            return;
        }
        g.servers.push(sid);
        if listen.default_server {
            if let Some(first) = self.default_span.get(&addr) {
                diags.push(duplicate_default(addr, span, *first));
            } else {
                self.default_span.insert(addr, span);
                g.default = sid;
                g.default_explicit = true;
            }
        }
        self.names(gi, sid, sc, diags);
    }

    /// The names of server `sid` (`sc`; the empty name when it has none) in group `gi`.
    fn names(&mut self, gi: usize, sid: ServerId, sc: &ServerConf, diags: &mut Diags) {
        let addr = self.groups[gi].addr;
        let index = &mut self.groups[gi].names;
        let names: Vec<(ServerName, Span)> = if sc.names.is_empty() {
            vec![(ServerName::Exact(String::new()), sc.span)]
        } else {
            sc.names.iter().map(|n| (n.value.clone(), n.span)).collect()
        };
        for (name, nspan) in names {
            let key = (gi, name.display());
            if let Some(&(first, first_sid)) = self.name_spans.get(&key) {
                // A name repeated within one server changes nothing.
                if first_sid != sid && first != nspan && self.reported.insert((first, nspan)) {
                    diags.push(duplicate_name(addr, &key.1, nspan, first));
                }
                continue;
            }
            self.name_spans.insert(key, (nspan, sid));
            insert_name(index, name, sid);
        }
    }
}

fn duplicate_listen(addr: ListenAddr, span: Span, first: Span) -> Diag {
    Diag::new(
        Code::DuplicateListen,
        span,
        format!("{addr} is listed twice in this server"),
    )
    .label("same address again")
    .with(first, "first listed here")
    .help("remove one of the two `listen` directives")
}

fn duplicate_default(addr: ListenAddr, span: Span, first: Span) -> Diag {
    Diag::new(
        Code::DuplicateDefault,
        span,
        format!("a second `default_server` for {addr}"),
    )
    .label("second default here")
    .with(first, "first default here")
    .help("only one server per address can be the default; remove one `default_server`")
}

/// Server name `name` used again on `addr` (at `span`, first at `first`).
fn duplicate_name(addr: ListenAddr, name: &str, span: Span, first: Span) -> Diag {
    // A server without `server_name` has the empty name: say so instead of printing
    // empty backquotes.
    if name.is_empty() {
        Diag::new(
            Code::DuplicateServer,
            span,
            format!("two servers on {addr} have the empty server name"),
        )
        .label("this server has no name either")
        .with(first, "this server has no name")
        .help("give each server on one address its own `server_name`; requests would only ever reach the first")
    } else {
        Diag::new(
            Code::DuplicateServer,
            span,
            format!("server name `{name}` is already used on {addr}"),
        )
        .label("same name again")
        .with(first, "first used here")
        .help("two servers on one address need different names; requests would only ever reach the first")
    }
}

fn insert_name(idx: &mut NameIndex, name: ServerName, sid: ServerId) {
    match name {
        ServerName::Exact(n) => {
            idx.exact.entry(n).or_insert(sid);
        }
        ServerName::Leading { suffix, bare_too } => {
            if bare_too {
                idx.exact.entry(suffix[1..].to_string()).or_insert(sid);
            }
            idx.leading.entry(suffix).or_insert(sid);
        }
        ServerName::Trailing(p) => {
            idx.trailing.entry(p).or_insert(sid);
        }
        ServerName::Regex(r) => idx.regex.push((r, sid)),
    }
}

/// What to bind: a wildcard per port carries the IP-specific groups of the same family
/// (nginx binds `*:port` once and picks the group by the accepting address).
fn binds(groups: &[AddrGroup]) -> Vec<Bind> {
    // The first `*:port` group of each port, and each bind's place: lookups, not scans
    // (10,000 ports would otherwise cost 10^8 comparisons).
    let mut wildcard: HashMap<u16, usize> = HashMap::new();
    for (gi, g) in groups.iter().enumerate() {
        if g.addr.host == ListenHost::Any {
            wildcard.entry(g.addr.port).or_insert(gi);
        }
    }
    let mut out: Vec<Bind> = Vec::new();
    let mut index: HashMap<std::net::SocketAddr, usize> = HashMap::new();
    for (gi, g) in groups.iter().enumerate() {
        let covered_by = match g.addr.host {
            ListenHost::Ip(ip) if ip.is_ipv4() => wildcard.get(&g.addr.port).copied(),
            _ => None,
        };
        let bind_addr = match covered_by {
            Some(w) => groups[w].addr.socket_addr(),
            None => g.addr.socket_addr(),
        };
        match index.get(&bind_addr) {
            Some(&b) => out[b].groups.push(gi),
            None => {
                index.insert(bind_addr, out.len());
                out.push(Bind {
                    addr: bind_addr,
                    groups: vec![gi],
                    ssl: g.ssl,
                });
            }
        }
    }
    out
}

/// A port that is `ssl` in one listen and plain in another: both are marked.
fn mixed_port(port: u16, this: (bool, Span), first: (bool, Span)) -> Diag {
    let kind = |ssl: bool| if ssl { "`ssl`" } else { "plain HTTP" };
    Diag::new(
        Code::TlsMixedPort,
        this.1,
        format!("port {port} is both `ssl` and plain HTTP"),
    )
    .label(format!("{} here", kind(this.0)))
    .with(first.1, format!("{} here", kind(first.0)))
    .help(format!(
        "a port speaks TLS or plain HTTP: add `ssl` to every listen of port {port}, or move one of them to another port"
    ))
}

/// The certificates of servers with `ssl_certificate` (each pair of files read and
/// checked once, however many servers name it): every server with an `ssl` listen must
/// have one, and its names should be covered by it.
fn certificates(main: &MainConf, servers: &mut [VirtualServer], now: i64, diags: &mut Diags) {
    let mut loaded: HashMap<(Span, Span), Option<Arc<Certificate>>> = HashMap::new();
    let mut reported: HashSet<Span> = HashSet::new();
    for (sc, vs) in main.servers.iter().zip(servers.iter_mut()) {
        let pick = |f: fn(&Settings) -> &Option<Set<PathBuf>>| {
            f(&sc.settings).as_ref().or(f(&main.settings).as_ref())
        };
        let cert = pick(|s| &s.ssl_certificate);
        let key = pick(|s| &s.ssl_certificate_key);
        let ssl_listen = sc.listens.iter().find(|l| l.value.ssl).map(|l| l.span);
        let (cert, key) = match (cert, key) {
            (Some(c), Some(k)) => (c, k),
            (c, k) => {
                if let Some(d) = missing_certificate(ssl_listen, c, k)
                    && reported.insert(d.span)
                {
                    diags.push(d);
                }
                continue;
            }
        };
        let tls = loaded
            .entry((cert.span, key.span))
            .or_insert_with(|| tls::load(named(cert), named(key), now, diags).map(Arc::new))
            .clone();
        if let (Some(t), Some(_)) = (&tls, ssl_listen) {
            for n in &sc.names {
                if t.covers(&n.value) == Some(false) {
                    diags.push(not_covered(&n.value.display(), n.span, t, cert.span));
                }
            }
        }
        vs.tls = tls;
    }
}

fn named(s: &Set<PathBuf>) -> Named<'_> {
    Named {
        path: &s.value,
        span: s.span,
    }
}

/// What a server lacks to speak TLS: a certificate or its key.
fn missing_certificate(
    ssl_listen: Option<Span>,
    cert: Option<&Set<PathBuf>>,
    key: Option<&Set<PathBuf>>,
) -> Option<Diag> {
    let help = "add `ssl_certificate cert.pem;` and `ssl_certificate_key key.pem;` to the server (or to the main context, for every server)";
    match (ssl_listen, cert, key) {
        (Some(l), None, _) => Some(
            Diag::new(Code::NoCertificate, l, "`ssl` listen without `ssl_certificate`")
                .label("this server has no certificate to present")
                .help(help),
        ),
        (_, Some(c), None) => Some(
            Diag::new(
                Code::NoCertificate,
                c.span,
                "`ssl_certificate` without `ssl_certificate_key`",
            )
            .label("no key for this certificate")
            .help("add `ssl_certificate_key key.pem;` beside it: the server signs with the certificate's private key"),
        ),
        _ => None,
    }
}

fn not_covered(name: &str, span: Span, cert: &Certificate, cert_span: Span) -> Diag {
    let names = if cert.names.is_empty() {
        "it has no DNS names (subject alternative names)".to_string()
    } else {
        format!("it covers {}", cert.names.join(", "))
    };
    Diag::new(
        Code::NameNotCovered,
        span,
        format!("the certificate does not cover `{name}`"),
    )
    .label("clients asking for this name would refuse the certificate")
    .with(cert_span, names)
    .help("use a certificate that lists this name, or serve the name from a server whose certificate covers it")
}

/// Literal-regex shadowing that can be proven: `a` (any position) shadows every regex
/// whose literal text contains `a`; `^a` shadows `^ab…`; `a$` shadows `…ba$`; and an
/// identical regex shadows its copy.
fn shadows(earlier: &LocationConf, later: &LocationConf) -> bool {
    if earlier.pattern == later.pattern
        && (earlier.modifier == later.modifier || earlier.modifier == Modifier::RegexCaseless)
    {
        return true;
    }
    let (Some(a), Some(b)) = (literal(&earlier.pattern), literal(&later.pattern)) else {
        return false;
    };
    let (at, bt) = if earlier.modifier == Modifier::RegexCaseless {
        (a.text.to_lowercase(), b.text.to_lowercase())
    } else if later.modifier == Modifier::RegexCaseless {
        return false;
    } else {
        (a.text.clone(), b.text.clone())
    };
    match (a.start, a.end) {
        (false, false) => bt.contains(&at),
        (true, false) => b.start && bt.starts_with(&at),
        (false, true) => b.end && bt.ends_with(&at),
        (true, true) => b.start && b.end && bt == at,
    }
}

struct Literal {
    start: bool,
    end: bool,
    text: String,
}

/// A regex that is a plain string, optionally anchored (`\.` and friends unescaped).
fn literal(re: &str) -> Option<Literal> {
    let start = re.starts_with('^');
    let body = re.strip_prefix('^').unwrap_or(re);
    let end = body.ends_with('$') && !body.ends_with("\\$");
    let body = if end { &body[..body.len() - 1] } else { body };
    let mut text = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() => text.push(e),
                _ => return None,
            },
            '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' => {
                return None;
            }
            c => text.push(c),
        }
    }
    Some(Literal { start, end, text })
}

/// Warnings about the file system: directories that do not exist, interpreters that are
/// not executable, upload stores that are not writable.
fn fs_lints(main: &MainConf, _table: &RoutingTable, diags: &mut Diags) {
    let mut blocks: Vec<&Settings> = vec![&main.settings];
    fn collect<'a>(locs: &'a [LocationConf], out: &mut Vec<&'a Settings>) {
        for l in locs {
            out.push(&l.settings);
            collect(&l.locations, out);
        }
    }
    for s in &main.servers {
        blocks.push(&s.settings);
        collect(&s.locations, &mut blocks);
    }
    // Large configs repeat the same few paths thousands of times: ask the file system once.
    let mut exists: HashMap<&Path, bool> = HashMap::new();
    for s in blocks {
        if let Some(r) = &s.root {
            let (what, p) = match &r.value {
                DocRoot::Root(p) => ("root", p),
                DocRoot::Alias { path, .. } => ("alias", path),
            };
            if !*exists.entry(p.as_path()).or_insert_with(|| p.exists()) {
                diags.push(
                    Diag::new(Code::MissingDirectory, r.span, format!("{what} `{}` does not exist", p.display()))
                        .label("missing on this machine")
                        .help("create it, or fix the path (relative paths start at this config file's directory)"),
                );
            }
        }
        if let Some(c) = &s.cgi {
            for (n, rule) in c.value.iter().enumerate() {
                if let Some(i) = &rule.interpreter
                    && !executable(i)
                {
                    diags.push(
                        Diag::new(
                            Code::CgiInterpreter,
                            s.cgi_spans.get(n).copied().unwrap_or(c.span),
                            format!(
                                "CGI interpreter `{}` is missing or not executable",
                                i.display()
                            ),
                        )
                        .label(format!("for `{}` scripts", rule.extension))
                        .help("install it, or give the full path of an executable"),
                    );
                }
            }
        }
        if let Some(u) = &s.upload_store
            && !writable_dir(&u.value)
        {
            diags.push(
                Diag::new(
                    Code::UploadStore,
                    u.span,
                    format!(
                        "upload_store `{}` is not a writable directory",
                        u.value.display()
                    ),
                )
                .label("uploads would fail with 500")
                .help("create the directory and let the server's user write to it"),
            );
        }
    }
}

fn executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let check = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if p.components().count() > 1 {
        return check(p);
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| check(&d.join(p))))
}

fn writable_dir(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    if !p.is_dir() {
        return false;
    }
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path; access(2) only reads it.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// nginx: an IP-specific listen hides `*:port` for that IP. Warn for each server on the
/// wildcard that is not also on the specific address.
fn hidden_servers(main: &MainConf, table: &RoutingTable, diags: &mut Diags) {
    // IPv4-specific groups by port: one pass, not every pair of groups.
    let mut specific_by_port: HashMap<u16, Vec<&AddrGroup>> = HashMap::new();
    for g in &table.groups {
        if let ListenHost::Ip(ip) = g.addr.host
            && ip.is_ipv4()
        {
            specific_by_port.entry(g.addr.port).or_default().push(g);
        }
    }
    for g in &table.groups {
        if g.addr.host != ListenHost::Any {
            continue;
        }
        for &specific in specific_by_port.get(&g.addr.port).into_iter().flatten() {
            let ListenHost::Ip(ip) = specific.addr.host else {
                continue;
            };
            let there: HashSet<ServerId> = specific.servers.iter().copied().collect();
            for &sid in &g.servers {
                if there.contains(&sid) {
                    continue;
                }
                let sc = &main.servers[sid];
                let span = sc
                    .listens
                    .iter()
                    .find(|l| l.value.addr == g.addr)
                    .map_or(sc.span, |l| l.span);
                let other = &main.servers[specific.servers[0]];
                let other_span = other
                    .listens
                    .iter()
                    .find(|l| l.value.addr == specific.addr)
                    .map_or(other.span, |l| l.span);
                diags.push(
                    Diag::new(
                        Code::HiddenServer,
                        span,
                        format!("this server is not reachable through {}", specific.addr),
                    )
                    .label(format!("listens on {}", g.addr))
                    .with(
                        other_span,
                        format!("{} takes every connection to {ip}", specific.addr),
                    )
                    .help(format!(
                        "add `listen {};` to this server if it should answer there too",
                        specific.addr
                    )),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confc::model::LogTarget;
    use crate::confc::{lower, parse, schema};

    /// Every location id of a table, in a form that does not depend on hash order.
    fn ids(t: &RoutingTable) -> Vec<String> {
        let set = |s: &LocationSet| {
            let mut exact: Vec<_> = s.exact.iter().map(|(k, v)| format!("{k}={v}")).collect();
            exact.sort();
            format!("{exact:?} {:?} {:?}", s.prefix, s.regex)
        };
        let servers = t.servers.iter().map(|s| set(&s.locations));
        let locations = t.locations.iter().map(|l| {
            format!(
                "{} {} {:?} {}",
                l.display(),
                l.server,
                l.parent,
                set(&l.nested)
            )
        });
        servers.chain(locations).collect()
    }

    #[test]
    fn parallel_resolution_matches_one_thread() {
        let mut text = String::from("root /main;\n");
        for i in 0..PARALLEL_SERVERS * 2 {
            text.push_str(&format!(
                "server {{ listen {}; server_name s{i}; error_page 404 /e{i}.html; \
                 location /p/ {{ location /p/in/ {{ }} location /out {{ }} }} \
                 location = /x {{ }} location ~ a {{ }} location ~ a {{ }} location /d {{ }} \
                 location /d {{ }} }}\n",
                8000 + i % 7
            ));
        }
        let mut sources = crate::confc::source::SourceMap::new();
        let id = sources.add("t.conf".into(), text.clone(), None);
        let mut d0 = Diags::default();
        let items = parse::parse(id, &text, &schema::is_directive, &mut d0);
        let main = lower::lower(&items, &sources, &mut d0);
        let run = |parts| {
            let mut d = Diags::default();
            let mut b = Builder {
                sources: &sources,
                diags: &mut d,
                locations: Vec::new(),
                error_pages: Vec::new(),
            };
            let base = merge(&defaults(Path::new("/")).0, &main.settings, &sources);
            let servers = b.servers(&main.servers, &base, parts);
            let table = RoutingTable {
                files: Vec::new(),
                main: MainSettings {
                    error_log: Sourced::default_value(LogTarget::Stderr),
                    error_log_level: Sourced::default_value(0),
                    worker_processes: Sourced::default_value(0),
                    worker_connections: Sourced::default_value(1),
                },
                base: base.clone(),
                binds: Vec::new(),
                groups: Vec::new(),
                servers,
                locations: std::mem::take(&mut b.locations),
            };
            let notes = format!("{:?}", b.error_pages);
            (ids(&table), notes, format!("{:?}", d.list))
        };
        let (one, four) = (run(1), run(4));
        assert!(
            one.0.len() > PARALLEL_SERVERS * 2 * 6,
            "servers and their locations"
        );
        assert!(one.2.contains("DuplicateLocation") && one.2.contains("NestedOutside"));
        assert!(
            one.0 == four.0,
            "the same servers and locations, ids and all"
        );
        assert!(one.1 == four.1, "the same error_page notes");
        assert!(one.2 == four.2, "the same diagnostics in the same order");
    }
}
