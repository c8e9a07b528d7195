//! The generic directive checks, as nginx's `ngx_conf_handler` does them before any
//! directive code runs: unknown name (with did-you-mean), context, `;` vs `{`, arity
//! (and a missing `;` read as extra arguments), duplicates. Driven by the schema table.

use std::collections::HashMap;

use super::ast::{Body, Directive};
use super::diag::{Code, Diag, Diags, did_you_mean};
use super::schema::{self, Ctx, DIRECTIVES};
use super::source::{SourceMap, Span};

/// The generic checks nginx's `ngx_conf_handler` does, with better words. Returns the
/// spec when the directive may be applied.
pub fn check(
    d: &Directive,
    ctx: Ctx,
    seen: &mut HashMap<&'static str, Span>,
    sources: &SourceMap,
    diags: &mut Diags,
) -> Option<&'static schema::Spec> {
    // The tests stay here and only the diagnostics are built in helpers: this runs once
    // per directive, and an accepted directive takes no call it does not need.
    let Some(spec) = schema::lookup(d.name.text.as_str()) else {
        diags.push(unknown_directive(d, ctx));
        return None;
    };
    if !spec.contexts.contains(&ctx) {
        diags.push(not_allowed_here(d, spec, ctx));
        return None;
    }
    match (&d.body, spec.block) {
        (Body::Block(b), false) => {
            diags.push(block_unexpected(d, spec, b.open));
            return None;
        }
        (Body::Semi(semi), true) => {
            diags.push(block_expected(d, spec, *semi));
            return None;
        }
        (Body::Missing, true) => return None, // already reported by the parser
        _ => {}
    }
    let n = d.args.len();
    if n < spec.min_args || n > spec.max_args {
        diags.push(bad_arity(d, spec, sources));
        return None;
    }
    if !spec.repeatable {
        if let Some(first) = seen.get(spec.name) {
            diags.push(duplicate(d, *first, sources));
            return None;
        }
        seen.insert(spec.name, d.head_span());
    }
    Some(spec)
}

/// A name no directive has: did-you-mean, or the directives allowed here.
fn unknown_directive(d: &Directive, ctx: Ctx) -> Diag {
    let name = d.name.text.as_str();
    let diag = Diag::new(
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
    match did_you_mean(name, in_ctx).or_else(|| did_you_mean(name, DIRECTIVES.iter().map(|s| s.name)))
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
    }
}

/// A known directive in a context it is not allowed in.
fn not_allowed_here(d: &Directive, spec: &schema::Spec, ctx: Ctx) -> Diag {
    let name = d.name.text.as_str();
    let where_ = spec
        .contexts
        .iter()
        .map(|c| format!("`{}`", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    Diag::new(
        Code::NotAllowedHere,
        d.name.span,
        format!("`{name}` is not allowed in {} context", ctx.as_str()),
    )
    .label(format!("not allowed in `{}`", ctx.as_str()))
    .help(format!("`{name}` is allowed in: {where_}"))
}

/// A simple directive written with a block opening at `open`.
fn block_unexpected(d: &Directive, spec: &schema::Spec, open: Span) -> Diag {
    let name = d.name.text.as_str();
    Diag::new(
        Code::BlockUnexpected,
        open,
        format!("`{name}` takes no block"),
    )
    .label("unexpected `{`")
    .with(d.name.span, format!("`{name}` is a simple directive"))
    .help(format!("write `{}`", spec.syntax))
}

/// A block directive ended by the `;` at `semi`.
fn block_expected(d: &Directive, spec: &schema::Spec, semi: Span) -> Diag {
    let name = d.name.text.as_str();
    Diag::new(Code::BlockExpected, semi, format!("`{name}` needs a block"))
        .label("expected `{` here")
        .with(d.name.span, format!("`{name}` is a block directive"))
        .help(format!("write `{}`", spec.syntax))
}

/// Too few or too many arguments; or too many where the first extra one starts a new
/// line: the `;` of this directive is missing and the next line was read into it (the
/// parser splits only at known directive names, so `root /x` ⏎ `frobnicate on;` lands
/// here).
fn bad_arity(d: &Directive, spec: &schema::Spec, sources: &SourceMap) -> Diag {
    let name = d.name.text.as_str();
    let n = d.args.len();
    if n > spec.max_args && spec.max_args > 0 {
        let last = d.args[spec.max_args - 1].span;
        let extra = &d.args[spec.max_args];
        if sources.line(extra.span) > sources.line(last) {
            return Diag::new(Code::MissingSemicolon, last.after(), "missing `;`")
                .label("expected `;` here")
                .with(extra.span, format!("read as another argument of `{name}`"))
                .help("end each simple directive with `;`")
                .fix("insert `;`", last.after(), ";");
        }
    }
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
    Diag::new(
        Code::WrongArity,
        span,
        format!("`{name}` takes {expected}, found {n}"),
    )
    .label(label)
    .help(format!("syntax: `{}`", spec.syntax))
}

/// A directive that may appear once per block, set again (first set at `first`).
fn duplicate(d: &Directive, first: Span, sources: &SourceMap) -> Diag {
    let name = d.name.text.as_str();
    Diag::new(
        Code::DuplicateDirective,
        d.head_span(),
        format!("`{name}` is set twice in this block"),
    )
    .label("set again here")
    .with(first, "first set here")
    .help(format!("`{name}` may appear once per block; remove one"))
    .fix(format!("remove this `{name}`"), whole_lines(d, sources), "")
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
