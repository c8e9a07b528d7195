//! Code actions (the compiler's fixes), formatting (`webserv fmt`), and the
//! `webserv.explain` command (`webserv explain`'s text).

use lsp_server::ErrorCode;
use lsp_types::Range;
use serde_json::{Value, json};

use crate::confc::parse;

use super::super::{Answer, Server, diagnostics};
use super::{EXPLAIN, at_in, doc_key, invalid, prepare};

fn failed(message: String) -> (ErrorCode, String) {
    (ErrorCode::RequestFailed, message)
}

pub fn code_actions(s: &mut Server, params: &Value) -> Answer {
    let (uri, key) = doc_key(params)?;
    let want: Range = params
        .get("range")
        .and_then(|r| serde_json::from_value(r.clone()).ok())
        .ok_or_else(|| invalid("range"))?;
    if prepare(s, &key).is_none() {
        return Ok(json!([]));
    }
    let Some(at) = at_in(s, &key, want.start) else {
        return Ok(json!([]));
    };
    let mut out = Vec::new();
    for d in &at.unit.compiled.diags.list {
        if d.span.file != at.file || d.fix.is_none() {
            continue;
        }
        let p = diagnostics::convert(at.docs, at.unit, d, at.enc);
        let r = p.diagnostic.range;
        let overlaps = r.start <= want.end && want.start <= r.end;
        let Some((title, edit)) = p.fix.filter(|_| overlaps) else {
            continue;
        };
        out.push(json!({
            "title": title,
            "kind": "quickfix",
            "diagnostics": [p.diagnostic],
            "isPreferred": true,
            "edit": { "changes": { uri.as_str(): [edit] } },
        }));
    }
    Ok(json!(out))
}

pub fn formatting(s: &mut Server, params: &Value) -> Answer {
    let (_, key) = doc_key(params)?;
    if prepare(s, &key).is_none() {
        return Ok(Value::Null);
    }
    let Some(at) = at_in(s, &key, Default::default()) else {
        return Ok(Value::Null);
    };
    // As `webserv fmt`: syntax errors found after parsing count too (a missing `;`
    // before a word that is not a directive would join two lines).
    if let Some(d) = at
        .unit
        .compiled
        .diags
        .list
        .iter()
        .find(|d| d.span.file == at.file && d.code.slug().starts_with("syntax::"))
    {
        let line = at
            .range(d.span.start as usize, d.span.start as usize)
            .start
            .line
            + 1;
        return Err(failed(format!(
            "not formatted: syntax error at line {line}: {}",
            d.message
        )));
    }
    let text = &at.doc.text;
    let Some(formatted) = parse::format(text) else {
        return Err(failed("not formatted: the file has syntax errors".into()));
    };
    if formatted == *text {
        return Ok(json!([]));
    }
    Ok(json!([{ "range": at.range(0, text.len()), "newText": formatted }]))
}

/// `webserv.explain` with `[uri, url]`, `[uri, url, method]` or `[{uri, url, method}]`.
pub fn execute(s: &mut Server, params: &Value) -> Answer {
    let command = params.get("command").and_then(Value::as_str);
    if command != Some(EXPLAIN) {
        return Err(invalid("unknown command"));
    }
    let args = params.get("arguments").and_then(Value::as_array);
    let arg = |i: usize, name: &str| -> Option<String> {
        let a = args?;
        let v = match a.first() {
            Some(Value::Object(o)) => o.get(name),
            _ => a.get(i),
        };
        v.and_then(Value::as_str).map(str::to_string)
    };
    let (Some(uri), Some(url)) = (arg(0, "uri"), arg(1, "url")) else {
        return Err(invalid("webserv.explain takes a document URI and a URL"));
    };
    let method = arg(2, "method").unwrap_or_else(|| "GET".into());
    let (_, key) = doc_key(&json!({ "textDocument": { "uri": uri } }))?;
    if prepare(s, &key).is_none() {
        return Err(failed(format!("{uri} is not open")));
    }
    let at = at_in(s, &key, Default::default()).ok_or_else(|| failed("no config".into()))?;
    if at.unit.compiled.diags.has_errors() {
        return Err(failed(format!(
            "the config has {} errors: explain needs a config that compiles",
            at.unit.compiled.diags.errors()
        )));
    }
    let ask = crate::report::Ask {
        method: &method,
        ..crate::report::Ask::get(&url)
    };
    crate::report::explain(&at.unit.table, &ask)
        .map(Value::String)
        .map_err(failed)
}
