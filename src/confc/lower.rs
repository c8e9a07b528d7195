//! AST → raw per-block configuration. Runs the generic schema checks (unknown directive,
//! context, `;` vs `{`, arity, duplicates) for every directive, then its typed setter.
//! Nothing is inherited yet: each block holds only what it sets itself.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::ast::{Block, Body, Directive};
use super::diag::{Code, Diag, Diags, did_you_mean};
use super::model::{
    CgiRule, DocRoot, ErrorPage, ListenAddr, LogTarget, Methods, Modifier, Return, ServerName,
};
use super::schema::{self, Apply, Ctx, DIRECTIVES};
use super::source::{SourceMap, Span};

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

/// What setters need besides the directive.
pub struct Cx<'a> {
    pub diags: &'a mut Diags,
    pub sources: &'a SourceMap,
    /// The enclosing location's modifier and pattern (for `alias`).
    pub location: Option<(Modifier, String)>,
    /// In the main context: the positions of `server` directives among the top-level
    /// items, whose blocks are lowered after it.
    deferred: Option<Vec<usize>>,
}

impl Cx<'_> {
    /// The directory of the file that holds `span`.
    pub fn dir_of(&self, span: Span) -> &Path {
        self.sources.file(span.file).dir()
    }
}

enum Scope<'a> {
    Main(&'a mut MainConf),
    Server(&'a mut ServerConf),
    Location(&'a mut LocationConf),
}

impl Scope<'_> {
    fn ctx(&self) -> Ctx {
        match self {
            Scope::Main(_) => Ctx::Main,
            Scope::Server(_) => Ctx::Server,
            Scope::Location(_) => Ctx::Location,
        }
    }

    fn settings(&mut self) -> &mut Settings {
        match self {
            Scope::Main(m) => &mut m.settings,
            Scope::Server(s) => &mut s.settings,
            Scope::Location(l) => &mut l.settings,
        }
    }

    fn locations(&mut self) -> Option<&mut Vec<LocationConf>> {
        match self {
            Scope::Main(_) => None,
            Scope::Server(s) => Some(&mut s.locations),
            Scope::Location(l) => Some(&mut l.locations),
        }
    }
}

/// The contents of a `server` whose block is missing (already reported).
static EMPTY_BLOCK: Block = Block {
    open: Span {
        file: 0,
        start: 0,
        end: 0,
    },
    close: None,
    items: Vec::new(),
};

/// Server blocks below this count are lowered on the calling thread.
const PARALLEL_SERVERS: usize = 512;

/// Lowers the (include-expanded) top-level directives.
///
/// The main context is walked first, with each `server` block's contents set aside;
/// those are then lowered on one thread per core (in contiguous runs, each with its own
/// diagnostics, appended in order), since no server's raw settings depend on another's.
pub fn lower(items: &[Directive], sources: &SourceMap, diags: &mut Diags) -> MainConf {
    lower_in(items, sources, diags, super::par::threads())
}

fn lower_in(items: &[Directive], sources: &SourceMap, diags: &mut Diags, parts: usize) -> MainConf {
    let mut main = MainConf::default();
    let mut cx = Cx {
        diags,
        sources,
        location: None,
        deferred: Some(Vec::new()),
    };
    walk(items, &mut Scope::Main(&mut main), &mut cx);
    let deferred: Vec<&Block> = cx
        .deferred
        .take()
        .unwrap_or_default()
        .into_iter()
        .map(|i| items[i].block().unwrap_or(&EMPTY_BLOCK))
        .collect();
    let parts = if deferred.len() < PARALLEL_SERVERS {
        1
    } else {
        parts.max(1)
    };
    let run = |blocks: &[&Block]| {
        let mut d = Diags::default();
        let mut cx = Cx {
            diags: &mut d,
            sources,
            location: None,
            deferred: None,
        };
        let mut out = Vec::with_capacity(blocks.len());
        for b in blocks {
            let mut server = ServerConf::default();
            walk(&b.items, &mut Scope::Server(&mut server), &mut cx);
            out.push(server);
        }
        (out, d)
    };
    let per = deferred.len().div_ceil(parts).max(1);
    let runs: Vec<&[&Block]> = deferred.chunks(per).collect();
    let done = super::par::map(&runs, |run_of| run(run_of));
    // `deferred` holds one block per server, in order: fill the servers' contents in.
    let mut lowered = done.into_iter().flat_map(|(servers, d)| {
        diags.append(d);
        servers
    });
    for server in &mut main.servers {
        if let Some(l) = lowered.next() {
            server.listens = l.listens;
            server.names = l.names;
            server.settings = l.settings;
            server.locations = l.locations;
        }
    }
    main
}

fn walk(items: &[Directive], scope: &mut Scope, cx: &mut Cx) {
    let ctx = scope.ctx();
    let mut seen: HashMap<&'static str, Span> = HashMap::new();
    for (i, d) in items.iter().enumerate() {
        let Some(spec) = check(d, ctx, &mut seen, cx.sources, cx.diags) else {
            continue;
        };
        match spec.apply {
            Apply::Include => {} // expanded by the loader; a failed include was reported there
            Apply::Setting(f) => f(scope.settings(), d, cx),
            Apply::Main(f) => {
                if let Scope::Main(m) = scope {
                    f(m, d, cx)
                }
            }
            Apply::ServerOnly(f) => {
                if let Scope::Server(s) = scope {
                    f(s, d, cx)
                }
            }
            Apply::Server => {
                let Scope::Main(m) = scope else { continue };
                // Only the main context defers, and `server` is only allowed there.
                let Some(deferred) = cx.deferred.as_mut() else {
                    continue;
                };
                deferred.push(i);
                m.servers.push(ServerConf {
                    span: d.name.span,
                    ..ServerConf::default()
                });
            }
            Apply::Location => {
                let Some(mut loc) = location_head(d, cx.diags) else {
                    continue;
                };
                let outer = cx.location.replace((loc.modifier, loc.pattern.clone()));
                if let Some(b) = d.block() {
                    walk(&b.items, &mut Scope::Location(&mut loc), cx);
                }
                cx.location = outer;
                if let Some(list) = scope.locations() {
                    list.push(loc);
                }
            }
        }
    }
}

/// The generic checks nginx's `ngx_conf_handler` does, with better words. Returns the
/// spec when the directive may be applied.
fn check(
    d: &Directive,
    ctx: Ctx,
    seen: &mut HashMap<&'static str, Span>,
    sources: &SourceMap,
    diags: &mut Diags,
) -> Option<&'static schema::Spec> {
    let name = d.name.text.as_str();
    let Some(spec) = schema::lookup(name) else {
        let mut diag = Diag::new(
            Code::UnknownDirective,
            d.name.span,
            format!("unknown directive `{name}`"),
        )
        .label("no directive has this name");
        let in_ctx = DIRECTIVES
            .iter()
            .filter(|s| s.contexts.contains(&ctx))
            .map(|s| s.name);
        // nginx's wrapper blocks: the most common thing pasted from an nginx config.
        let wrapper = matches!(name, "http" | "events" | "stream") && d.block().is_some();
        diag = match did_you_mean(name, in_ctx)
            .or_else(|| did_you_mean(name, DIRECTIVES.iter().map(|s| s.name)))
        {
            _ if wrapper => diag.help(format!(
                "webserv has no `{name} {{ }}` block: write `server {{ }}` blocks at the top level of the file"
            )),
            Some(s) => diag
                .help(format!("did you mean `{s}`?"))
                .fix(format!("replace with `{s}`"), d.name.span, s),
            None => diag.help(format!(
                "directives allowed in {} context: {}",
                ctx.as_str(),
                DIRECTIVES
                    .iter()
                    .filter(|s| s.contexts.contains(&ctx))
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        diags.push(diag);
        return None;
    };
    if !spec.contexts.contains(&ctx) {
        let where_ = spec
            .contexts
            .iter()
            .map(|c| format!("`{}`", c.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        diags.push(
            Diag::new(
                Code::NotAllowedHere,
                d.name.span,
                format!("`{name}` is not allowed in {} context", ctx.as_str()),
            )
            .label(format!("not allowed in `{}`", ctx.as_str()))
            .help(format!("`{name}` is allowed in: {where_}")),
        );
        return None;
    }
    match (&d.body, spec.block) {
        (Body::Block(b), false) => {
            diags.push(
                Diag::new(
                    Code::BlockUnexpected,
                    b.open,
                    format!("`{name}` takes no block"),
                )
                .label("unexpected `{`")
                .with(d.name.span, format!("`{name}` is a simple directive"))
                .help(format!("write `{}`", spec.syntax)),
            );
            return None;
        }
        (Body::Semi(semi), true) => {
            diags.push(
                Diag::new(
                    Code::BlockExpected,
                    *semi,
                    format!("`{name}` needs a block"),
                )
                .label("expected `{` here")
                .with(d.name.span, format!("`{name}` is a block directive"))
                .help(format!("write `{}`", spec.syntax)),
            );
            return None;
        }
        (Body::Missing, true) => return None, // already reported by the parser
        _ => {}
    }
    let n = d.args.len();
    // Too many arguments, and the first extra one starts a new line: the `;` of this
    // directive is missing and the next line was read into it (the parser splits only at
    // known directive names, so `root /x` ⏎ `frobnicate on;` lands here).
    if n > spec.max_args && spec.max_args > 0 {
        let last = d.args[spec.max_args - 1].span;
        let extra = &d.args[spec.max_args];
        if sources.line(extra.span) > sources.line(last) {
            diags.push(
                Diag::new(Code::MissingSemicolon, last.after(), "missing `;`")
                    .label("expected `;` here")
                    .with(extra.span, format!("read as another argument of `{name}`"))
                    .help("end each simple directive with `;`")
                    .fix("insert `;`", last.after(), ";"),
            );
            return None;
        }
    }
    if n < spec.min_args || n > spec.max_args {
        let expected = match (spec.min_args, spec.max_args) {
            (0, 0) => "no arguments".to_string(),
            (a, b) if a == b => format!("{a} argument{}", if a == 1 { "" } else { "s" }),
            (a, usize::MAX) => format!("at least {a} argument{}", if a == 1 { "" } else { "s" }),
            (a, b) => format!("{a} to {b} arguments"),
        };
        let span = if n > spec.max_args && spec.max_args > 0 {
            d.args[spec.max_args].span.to(d.args[n - 1].span)
        } else if n > spec.max_args {
            d.args_span()
        } else {
            d.head_span()
        };
        let label = if n > spec.max_args {
            "unexpected arguments"
        } else {
            "too few arguments"
        };
        diags.push(
            Diag::new(
                Code::WrongArity,
                span,
                format!("`{name}` takes {expected}, found {n}"),
            )
            .label(label)
            .help(format!("syntax: `{}`", spec.syntax)),
        );
        return None;
    }
    if !spec.repeatable {
        if let Some(first) = seen.get(spec.name) {
            diags.push(
                Diag::new(
                    Code::DuplicateDirective,
                    d.head_span(),
                    format!("`{name}` is set twice in this block"),
                )
                .label("set again here")
                .with(*first, "first set here")
                .help(format!("`{name}` may appear once per block; remove one"))
                .fix(format!("remove this `{name}`"), whole_lines(d, sources), ""),
            );
            return None;
        }
        seen.insert(spec.name, d.head_span());
    }
    Some(spec)
}

/// The text of a simple directive from its name to its `;`, with its line when nothing
/// else is on it (what removing the directive removes).
fn whole_lines(d: &Directive, sources: &SourceMap) -> Span {
    let end = match &d.body {
        Body::Semi(s) => s.end,
        _ => d.head_span().end,
    } as usize;
    let start = d.name.span.start as usize;
    let text = &sources.file(d.name.span.file).text;
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    let blank = |s: &str| s.trim().is_empty();
    if blank(&text[line_start..start]) && blank(&text[end..line_end]) {
        Span::new(d.name.span.file, line_start, line_end)
    } else {
        Span::new(d.name.span.file, start, end)
    }
}

/// `location [modifier] pattern`.
fn location_head(d: &Directive, diags: &mut Diags) -> Option<LocationConf> {
    let (modifier, pat) = if d.args.len() == 2 {
        let m = &d.args[0];
        let modifier = match m.text.as_str() {
            "=" => Modifier::Exact,
            "^~" => Modifier::PrefixNoRegex,
            "~" => Modifier::Regex,
            "~*" => Modifier::RegexCaseless,
            other => {
                diags.push(
                    Diag::new(Code::BadLocationModifier, m.span, format!("`{other}` is not a location modifier"))
                        .label("unknown modifier")
                        .help("modifiers are `=` (exact), `^~` (prefix, no regex), `~` (regex), `~*` (case-insensitive regex)"),
                );
                return None;
            }
        };
        (modifier, &d.args[1])
    } else {
        (Modifier::Prefix, &d.args[0])
    };
    if pat.text.starts_with('@') {
        diags.push(
            Diag::new(
                Code::BadLocationModifier,
                pat.span,
                "named locations are not supported",
            )
            .label("`@name` location")
            .help("use a path location, e.g. `location /errors/ { ... }`"),
        );
        return None;
    }
    let regex = if modifier.is_regex() {
        match super::values::regex(&pat.text, modifier == Modifier::RegexCaseless) {
            Ok(r) => Some(r),
            Err(e) => {
                diags.push(
                    Diag::new(Code::BadRegex, pat.span, format!("bad regex: {}", super::values::first_line(&e.to_string())))
                        .label("does not compile")
                        .help("webserv uses Rust regex syntax (close to PCRE, no look-around or backreferences)"),
                );
                return None;
            }
        }
    } else {
        if !pat.text.starts_with('/') {
            diags.push(
                Diag::new(
                    Code::BadParameter,
                    pat.span,
                    format!("location path `{}` does not start with `/`", pat.text),
                )
                .label("request paths always start with `/`")
                .help(format!("write `location /{} {{ ... }}`", pat.text)),
            );
            return None;
        }
        None
    };
    Some(LocationConf {
        span: d.name.span.to(pat.span),
        modifier,
        pattern: pat.text.clone(),
        pattern_span: pat.span,
        regex,
        settings: Settings::default(),
        locations: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confc::parse::parse;

    #[test]
    fn parallel_lowering_matches_one_thread() {
        // Enough servers to go parallel, with mistakes inside and between them.
        let mut text = String::from("worker_processes 2;\n");
        for i in 0..PARALLEL_SERVERS * 2 {
            text.push_str(&format!(
                "server {{ listen {}; root /r{i}; location /a {{ autoindex maybe; }} \
                 location ~ \\.x$ {{ index i.html; }} bogus {i}; }}\n",
                8000 + i % 3000
            ));
            if i % 100 == 0 {
                text.push_str("worker_connections 10;\nroot /main;\n");
            }
        }
        text.push_str("server;\n");
        let mut sources = SourceMap::new();
        let id = sources.add("t.conf".into(), text.clone(), None);
        let mut d0 = Diags::default();
        let items = parse(id, &text, &schema::is_directive, &mut d0);
        assert!(d0.list.is_empty());
        let run = |parts| {
            let mut d = Diags::default();
            let main = lower_in(&items, &sources, &mut d, parts);
            (format!("{main:?}"), format!("{:?}", d.list))
        };
        let (one, four) = (run(1), run(4));
        assert!(one.0.contains("/r1023") && one.1.contains("bogus"));
        assert!(one.0 == four.0, "the same MainConf");
        assert!(one.1 == four.1, "the same diagnostics in the same order");
    }
}
