//! Go-to-definition (an `include` to its files, an `error_page` URI to the location that
//! serves it), document symbols (servers and locations as a tree), folding ranges.

use serde_json::{Value, json};

use crate::confc::ast::Directive;
use crate::confc::load::FileSource;
use crate::confc::schema::{self, Apply, Arg, Ctx};
use crate::confc::source::FileId;
use crate::confc::table::Origin;

use super::super::world::{Overlay, Unit, resolve_include};
use super::super::{Answer, Server, diagnostics, syntax, uri};
use super::{at, doc_key, entity_at};

pub fn definition(s: &mut Server, params: &Value) -> Answer {
    let Some(at) = at(s, params)? else {
        return Ok(Value::Null);
    };
    let Some((d, token)) = syntax::token_at(at.tree(), at.offset) else {
        return Ok(Value::Null);
    };
    let Some(spec) = schema::lookup(&d.name.text) else {
        return Ok(Value::Null);
    };
    if token == 0 {
        return Ok(Value::Null);
    }
    let arg = &d.args[token - 1];
    let docs = &Overlay(at.docs);
    if matches!(spec.apply, Apply::Include) {
        let dir = at.unit.compiled.sources.file(at.file).dir().to_path_buf();
        let files = resolve_include(&dir, &arg.text, docs as &dyn FileSource);
        let locs: Vec<Value> = files
            .iter()
            .map(|p| {
                json!({
                    "uri": diagnostics::uri_of(docs.0, &uri::key(p)),
                    "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } },
                })
            })
            .collect();
        return Ok(json!(locs));
    }
    let is_uri = matches!(
        spec.args.get(token - 1).or(spec.args.last()),
        Some(Arg::Uri(_))
    );
    if !is_uri || !arg.text.starts_with('/') {
        return Ok(Value::Null);
    }
    let path = arg.text.split('?').next().unwrap_or(&arg.text);
    let entity = entity_at(at.unit, at.file, at.tree(), d.name.span.start as usize);
    let mut locs = Vec::new();
    for sid in entity.servers(at.unit) {
        let Some(l) = at.unit.table.find_location(sid, path, None) else {
            continue;
        };
        let Origin::Config { file, line } = at.unit.table.locations[l].origin else {
            continue;
        };
        if let Some(v) = location_at(at.unit, file, line, docs, at.enc)
            && !locs.contains(&v)
        {
            locs.push(v);
        }
    }
    Ok(json!(locs))
}

/// The `location` directive that starts on `line` of `file`, as an LSP location.
fn location_at(
    unit: &Unit,
    file: FileId,
    line: u32,
    docs: &Overlay,
    enc: super::super::text::Encoding,
) -> Option<Value> {
    let items = syntax::parse_text(unit.text(file));
    let lines = unit.lines(file);
    let text = unit.text(file);
    fn find<'a>(
        items: &'a [Directive],
        want: &dyn Fn(&Directive) -> bool,
    ) -> Option<&'a Directive> {
        for d in items {
            if want(d) {
                return Some(d);
            }
            if let Some(b) = d.block()
                && let Some(x) = find(&b.items, want)
            {
                return Some(x);
            }
        }
        None
    }
    let d = find(&items, &|d| {
        syntax::opens(d) == Some(Ctx::Location)
            && lines.position(text, d.name.span.start as usize, enc).line + 1 == line
    })?;
    Some(json!({
        "uri": diagnostics::uri_of(docs.0, &unit.files[file as usize]),
        "range": lines.range(text, d.name.span.start as usize, d.head_span().end as usize, enc),
    }))
}

pub fn symbols(s: &mut Server, params: &Value) -> Answer {
    let (_, key) = doc_key(params)?;
    let Some(doc) = s.world.docs.get(&key) else {
        return Ok(json!([]));
    };
    let enc = s.enc;
    fn walk(
        doc: &super::super::world::Doc,
        items: &[Directive],
        enc: super::super::text::Encoding,
    ) -> Vec<Value> {
        let mut out = Vec::new();
        for d in items {
            let Some(ctx) = syntax::opens(d) else {
                // An unknown block (`http { }` pasted from nginx): its servers still show.
                if let Some(b) = d.block() {
                    out.extend(walk(doc, &b.items, enc));
                }
                continue;
            };
            let inner = d.block().map_or(&[][..], |b| &b.items[..]);
            let (name, kind) = match ctx {
                Ctx::Server => (schema::server_title(inner), 3),
                _ => {
                    let args: Vec<&str> = d.args.iter().map(|a| a.text.as_str()).collect();
                    (format!("{} {}", d.name.text, args.join(" ")), 2)
                }
            };
            let range = |a: usize, b: usize| doc.lines().range(&doc.text, a, b, enc);
            out.push(json!({
                "name": name,
                "kind": kind,
                "range": range(d.name.span.start as usize, syntax::end(d)),
                "selectionRange": range(d.name.span.start as usize, d.head_span().end as usize),
                "children": walk(doc, inner, enc),
            }));
        }
        out
    }
    Ok(json!(walk(doc, doc.tree(), enc)))
}

pub fn folding(s: &mut Server, params: &Value) -> Answer {
    let (_, key) = doc_key(params)?;
    let Some(doc) = s.world.docs.get(&key) else {
        return Ok(json!([]));
    };
    let line = |o: u32| doc.lines().position(&doc.text, o as usize, s.enc).line;
    let mut out = Vec::new();
    let mut stack: Vec<&[Directive]> = vec![doc.tree()];
    while let Some(items) = stack.pop() {
        for d in items {
            let Some(b) = d.block() else { continue };
            stack.push(&b.items);
            let Some(close) = b.close else { continue };
            let (start, end) = (line(b.open.start), line(close.start));
            if end > start + 1 {
                out.push(json!({ "startLine": start, "endLine": end - 1 }));
            }
        }
    }
    out.sort_by_key(|v| v["startLine"].as_u64());
    Ok(json!(out))
}
