//! Completion: directive names valid in the cursor's context (with snippets built from
//! the schema's syntax line), and argument values from the schema's argument kinds:
//! words, status codes, paths relative to the config file, URIs under the root.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::confc::model::DocRoot;
use crate::confc::schema::{self, Arg, DIRECTIVES, Spec};

use super::super::{Answer, Server, syntax};
use super::{At, at, entity_at};

/// LSP completion item kinds.
const KEYWORD: u32 = 14;
const VALUE: u32 = 12;
const FILE: u32 = 17;
const FOLDER: u32 = 19;

/// Entries listed from one directory at most.
const MAX_ENTRIES: usize = 500;

pub fn completion(s: &mut Server, params: &Value) -> Answer {
    let snippets = s.snippets;
    let Some(at) = at(s, params)? else {
        return Ok(json!([]));
    };
    let Some(st) = syntax::statement(&at.doc.text, at.tree(), at.offset) else {
        return Ok(json!([])); // in a comment
    };
    if st.quoted {
        return Ok(json!([]));
    }
    let range = at.range(st.word.start as usize, st.word.end as usize);
    let items: Vec<Value> = match st.before.first() {
        None => directives(&at, snippets),
        Some(first) => match schema::lookup(&first.text) {
            Some(spec) => values(&at, spec, st.before.len() - 1, &st.word_text),
            None => Vec::new(),
        },
    }
    .into_iter()
    .map(|c| {
        let mut v = json!({
            "label": c.label,
            "kind": c.kind,
            "textEdit": { "range": range, "newText": c.text },
        });
        if let Some(spec) = c.directive {
            v["detail"] = json!(spec.syntax);
            v["documentation"] = json!({ "kind": "markdown", "value": spec.doc });
            if snippets {
                v["insertTextFormat"] = json!(2);
            }
        }
        v
    })
    .collect();
    Ok(json!(items))
}

/// One completion: what is shown, what replaces the word under the cursor.
struct Candidate {
    label: String,
    kind: u32,
    text: String,
    /// For a directive name: its row (detail, documentation, a snippet).
    directive: Option<&'static Spec>,
}

fn value(label: String, kind: u32, text: String) -> Candidate {
    Candidate {
        label,
        kind,
        text,
        directive: None,
    }
}

/// The directives allowed in the context around the cursor.
fn directives(at: &At, snippets: bool) -> Vec<Candidate> {
    let ctx = syntax::enclosing(at.tree(), at.offset, at.base()).ctx;
    DIRECTIVES
        .iter()
        .filter(|d| d.contexts.contains(&ctx))
        .map(|d| Candidate {
            label: d.name.into(),
            kind: KEYWORD,
            text: if snippets { snippet(d) } else { d.name.into() },
            directive: Some(d),
        })
        .collect()
}

/// The values offered for argument `index` of `spec`, `word` being typed.
fn values(at: &At, spec: &Spec, index: usize, word: &str) -> Vec<Candidate> {
    let Some(arg) = spec.args.get(index).or(spec.args.last()) else {
        return Vec::new();
    };
    let words = |ws: &[&str]| -> Vec<Candidate> {
        ws.iter()
            .map(|w| value(w.to_string(), VALUE, w.to_string()))
            .collect()
    };
    let codes = |list: &[u16]| -> Vec<Candidate> {
        list.iter()
            .map(|c| value(c.to_string(), VALUE, c.to_string()))
            .collect()
    };
    let files = |base: &Path, rel: &str, dirs_only: bool, prefix: &str| -> Vec<Candidate> {
        paths(base, rel, dirs_only, prefix)
            .into_iter()
            .map(|(label, kind, text)| value(label, kind, text))
            .collect()
    };
    let mut out = Vec::new();
    match *arg {
        Arg::Text => {}
        Arg::Words(ws) => out = words(ws),
        Arg::Status(list) => out = codes(list),
        Arg::Path {
            dirs_only,
            words: ws,
        } => {
            out = words(ws);
            out.extend(files(&at_dir(at), word, dirs_only, ""));
        }
        Arg::Uri(list) => {
            if word.is_empty() || word.starts_with(|c: char| c.is_ascii_digit()) {
                out = codes(list);
            }
            if word.is_empty() || word.starts_with('/') {
                let e = entity_at(at.unit, at.file, at.tree(), at.offset);
                let root = match e.settings(at.unit).map(|e| &e.root.value) {
                    Some(DocRoot::Root(p)) => p.clone(),
                    _ => at_dir(at),
                };
                let rel = word.strip_prefix('/').unwrap_or(word);
                out.extend(files(&root, rel, false, "/"));
            }
        }
    }
    out
}

/// The directory of the document: where relative paths in it start.
fn at_dir(at: &At) -> PathBuf {
    at.unit.compiled.sources.file(at.file).dir().to_path_buf()
}

/// Entries of the directory named by `word`'s part up to its last `/`, under `base`:
/// (label, kind, text that replaces the word).
fn paths(base: &Path, word: &str, dirs_only: bool, prefix: &str) -> Vec<(String, u32, String)> {
    let (dir_part, partial) = match word.rfind('/') {
        Some(i) => (&word[..=i], &word[i + 1..]),
        None => ("", word),
    };
    let dir = if Path::new(dir_part).is_absolute() {
        PathBuf::from(dir_part)
    } else {
        base.join(dir_part)
    };
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, u32, String)> = rd
        .flatten()
        .take(MAX_ENTRIES)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if name.starts_with('.') && !partial.starts_with('.') {
                return None;
            }
            let is_dir = e.path().is_dir();
            if dirs_only && !is_dir {
                return None;
            }
            let label = if is_dir { format!("{name}/") } else { name };
            let kind = if is_dir { FOLDER } else { FILE };
            Some((label.clone(), kind, format!("{prefix}{dir_part}{label}")))
        })
        .collect();
    out.sort();
    out
}

/// The directive as a snippet from its syntax line: required arguments as
/// placeholders (a choice when the argument is one of a few words), a block opened.
fn snippet(spec: &Spec) -> String {
    let syntax = spec
        .syntax
        .strip_prefix(spec.name)
        .unwrap_or("")
        .trim_end_matches(';');
    // Optional parts (`[...]`) are left out.
    let mut required = String::new();
    let mut depth = 0;
    for c in syntax.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => required.push(c),
            _ => {}
        }
    }
    let body = required.split('{').next().unwrap_or("");
    let mut out = String::from(spec.name);
    let mut n = 0;
    let words: Vec<&str> = body.split_whitespace().filter(|w| *w != "...").collect();
    let mut i = 0;
    while i < words.len() {
        // `a | b | c` is one argument with alternatives.
        let mut alts = vec![words[i]];
        while i + 2 < words.len() && words[i + 1] == "|" {
            alts.push(words[i + 2]);
            i += 2;
        }
        i += 1;
        n += 1;
        let choice = match spec.args.get(n - 1).or(spec.args.last()) {
            Some(Arg::Words(ws)) if alts.iter().all(|a| ws.contains(a)) && alts.len() > 1 => {
                Some(alts.join(","))
            }
            _ => None,
        };
        match choice {
            Some(c) => out.push_str(&format!(" ${{{n}|{c}|}}")),
            None => out.push_str(&format!(" ${{{n}:{}}}", alts[0])),
        }
    }
    if spec.block {
        out.push_str(" {\n\t$0\n}");
    } else {
        out.push_str(";$0");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_from_syntax_lines() {
        let s = |n| snippet(schema::lookup(n).unwrap());
        assert_eq!(s("listen"), "listen ${1:port};$0");
        assert_eq!(s("autoindex"), "autoindex ${1|on,off|};$0");
        assert_eq!(s("location"), "location ${1:pattern} {\n\t$0\n}");
        assert_eq!(s("server"), "server {\n\t$0\n}");
        assert_eq!(s("error_page"), "error_page ${1:code} ${2:uri};$0");
        assert_eq!(s("return"), "return ${1:code};$0");
        assert_eq!(s("access_log"), "access_log ${1:path};$0");
    }
}
