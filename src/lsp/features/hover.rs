//! Hover: a directive's row of the schema (syntax, contexts, default, doc) and, inside a
//! server or location, the effective value there with where it comes from; on a
//! diagnostic, its code's explanation.

use serde_json::{Value, json};

use crate::confc::schema::{self, Ctx, Spec};
use crate::confc::table::{Effective, Origin};

use super::super::{Answer, Server, syntax};
use super::{At, at, entity_at, md_code};

pub fn hover(s: &mut Server, params: &Value) -> Answer {
    let Some(at) = at(s, params)? else {
        return Ok(Value::Null);
    };
    let mut parts = Vec::new();
    let mut range = None;
    for d in &at.unit.compiled.diags.list {
        if d.span.file == at.file
            && d.span.start as usize <= at.offset
            && at.offset <= d.span.end as usize
        {
            let c = d.code;
            parts.push(format!(
                "{} ({}): {}\n\n{}",
                md_code(c.slug()),
                c.severity().as_str(),
                c.title(),
                c.explanation()
            ));
            range.get_or_insert((d.span.start as usize, d.span.end as usize));
        }
    }
    if let Some((d, token)) = syntax::token_at(at.tree(), at.offset)
        && let Some(spec) = schema::lookup(&d.name.text)
    {
        let mut part = row(spec);
        let entity = entity_at(at.unit, at.file, at.tree(), d.name.span.start as usize);
        let whole_block = token == 0 && syntax::opens(d).is_some();
        // On `server` or `location`: every effective setting of the block it opens.
        let here = d
            .block()
            .filter(|_| whole_block)
            .map(|b| entity_at(at.unit, at.file, at.tree(), b.open.end as usize));
        if let Some(e) = here.and_then(|e| e.settings(at.unit)) {
            part.push_str("\n\n");
            part.push_str(&settings_table(&at, e));
        } else if let Some(e) = entity.settings(at.unit)
            && let Some(line) = effective(&at, e, spec, d.name.span.start as usize)
        {
            part.push_str("\n\n");
            part.push_str(&line);
        }
        parts.push(part);
        let tok = if token == 0 {
            &d.name
        } else {
            &d.args[token - 1]
        };
        range = Some((tok.span.start as usize, tok.span.end as usize));
    }
    if parts.is_empty() {
        return Ok(Value::Null);
    }
    let (a, b) = range.unwrap_or((at.offset, at.offset));
    Ok(json!({
        "contents": { "kind": "markdown", "value": parts.join("\n\n---\n\n") },
        "range": at.range(a, b),
    }))
}

/// The schema row as Markdown.
fn row(spec: &Spec) -> String {
    let ctx: Vec<&str> = spec.contexts.iter().map(|c: &Ctx| c.as_str()).collect();
    let mut facts = vec![format!("in {}", ctx.join(", "))];
    facts.push(match spec.default {
        Some(d) => format!("default {}", md_code(d)),
        None => "no default".into(),
    });
    if spec.repeatable {
        facts.push("repeatable".into());
    }
    if spec.inherited {
        facts.push("inherited".into());
    }
    format!(
        "```webserv\n{}\n```\n{}\n\n{}",
        spec.syntax,
        facts.join(" · "),
        spec.doc
    )
}

/// Where a value came from, said from the point of view of the line at `here`.
fn origin_text(at: &At, o: Origin, here_line: u32) -> String {
    match o {
        Origin::Default => "the default".into(),
        Origin::Config { file, line } if file == at.file && line == here_line => "set here".into(),
        Origin::Config { file, line } if file == at.file => format!("inherited from line {line}"),
        Origin::Config { .. } => format!("inherited from {}", md_code(&at.unit.table.origin(o))),
    }
}

fn line_of(at: &At, offset: usize) -> u32 {
    at.range(offset, offset).start.line + 1
}

/// "Effective here: `value` (set here | inherited from line N | the default)".
fn effective(at: &At, e: &Effective, spec: &Spec, start: usize) -> Option<String> {
    let (_, value, origin) = e.row(spec.name)?;
    Some(format!(
        "Effective here: {} ({})",
        md_code(&value),
        origin_text(at, origin, line_of(at, start))
    ))
}

fn settings_table(at: &At, e: &Effective) -> String {
    let mut out = String::from("| effective here | value | from |\n|---|---|---|\n");
    for (name, value, origin) in e.rows() {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            md_code(name),
            md_code(&value),
            match origin {
                Origin::Default => "default".to_string(),
                Origin::Config { file, line } if file == at.file => format!("line {line}"),
                o => md_code(&at.unit.table.origin(o)),
            }
        ));
    }
    out
}
