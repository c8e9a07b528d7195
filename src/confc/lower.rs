//! AST → raw per-block configuration: the walker. For every directive it runs the
//! generic checks (`check`), then the schema row's typed setter (`schema`), into the
//! block's raw settings (`raw`). Nothing is inherited yet: each block holds only what it
//! sets itself.

use std::collections::HashMap;

use super::ast::{Block, Directive};
use super::check::check;
use super::diag::{Code, Diag, Diags};
use super::model::Modifier;
use super::raw::{LocationConf, MainConf, ServerConf, Settings};
use super::schema::{Apply, Ctx, Cx};
use super::source::{SourceMap, Span};

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
    };
    let mut deferred = Some(Vec::new());
    walk(items, &mut Scope::Main(&mut main), &mut cx, &mut deferred);
    let deferred: Vec<&Block> = deferred
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
        };
        let mut out = Vec::with_capacity(blocks.len());
        for b in blocks {
            let mut server = ServerConf::default();
            walk(
                &b.items,
                &mut Scope::Server(&mut server),
                &mut cx,
                &mut None,
            );
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

/// Lowers one block's items into `scope`. In the main context `deferred` collects the
/// positions of `server` directives among the items, whose blocks are lowered after it.
fn walk(items: &[Directive], scope: &mut Scope, cx: &mut Cx, deferred: &mut Option<Vec<usize>>) {
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
                let Some(deferred) = deferred.as_mut() else {
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
                    walk(&b.items, &mut Scope::Location(&mut loc), cx, &mut None);
                }
                cx.location = outer;
                if let Some(list) = scope.locations() {
                    list.push(loc);
                }
            }
        }
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
    use crate::confc::schema;

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
