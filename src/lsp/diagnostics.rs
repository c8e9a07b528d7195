//! `check`'s diagnostics as LSP diagnostics: the same list, codes and messages; labels in
//! other places and the include chain as related information; the fix kept beside each
//! for code actions.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;

use lsp_types::{
    CodeDescription, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location,
    NumberOrString, Range, TextEdit, Uri,
};

use crate::confc::diag::{Diag, Severity};
use crate::confc::source::{FileId, Span};

use super::text::Encoding;
use super::uri;
use super::world::{Docs, Unit};

/// A published diagnostic, with what the server needs to answer about it later.
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    pub diagnostic: Diagnostic,
    /// A quick fix: its title and its edit (in the same file).
    pub fix: Option<(String, TextEdit)>,
}

/// What is published, by URI (as text: `Uri` is not a good map key).
pub type ByUri = HashMap<String, Vec<Published>>;

/// The URI of a file: the open document's own (as the client spelled it), else built.
pub fn uri_of(docs: &Docs, key: &PathBuf) -> Uri {
    match docs.get(key) {
        Some(d) => d.uri.clone(),
        None => uri::from_path(key),
    }
}

fn range(unit: &Unit, span: Span, enc: Encoding) -> Range {
    unit.lines(span.file).range(
        unit.text(span.file),
        span.start as usize,
        span.end as usize,
        enc,
    )
}

fn location(docs: &Docs, unit: &Unit, span: Span, enc: Encoding) -> Location {
    Location::new(
        uri_of(docs, &unit.files[span.file as usize]),
        range(unit, span, enc),
    )
}

/// The include directives that brought a file in, innermost first, synthetic root excluded.
fn include_chain(unit: &Unit, file: FileId) -> Vec<Span> {
    let mut chain = Vec::new();
    let mut f = file;
    while let Some(from) = unit.compiled.sources.file(f).included_from {
        if !unit.visible(from.file) || chain.len() > 64 {
            break;
        }
        chain.push(from);
        f = from.file;
    }
    chain
}

pub fn convert(docs: &Docs, unit: &Unit, d: &Diag, enc: Encoding) -> Published {
    let mut related: Vec<DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .filter(|l| unit.visible(l.span.file))
        .map(|l| DiagnosticRelatedInformation {
            location: location(docs, unit, l.span, enc),
            message: l.text.clone(),
        })
        .collect();
    for from in include_chain(unit, d.span.file) {
        related.push(DiagnosticRelatedInformation {
            location: location(docs, unit, from, enc),
            message: "included from here".into(),
        });
    }
    if let Some(h) = &d.help {
        related.push(DiagnosticRelatedInformation {
            location: location(docs, unit, d.span, enc),
            message: format!("help: {h}"),
        });
    }
    let fix = d
        .fix
        .as_ref()
        .filter(|f| f.span.file == d.span.file)
        .map(|f| {
            (
                f.title.clone(),
                TextEdit::new(range(unit, f.span, enc), f.text.clone()),
            )
        });
    Published {
        diagnostic: Diagnostic {
            range: range(unit, d.span, enc),
            severity: Some(match d.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
            }),
            code: Some(NumberOrString::String(d.code.slug().into())),
            code_description: crate::confc::diag::doc_url(d.code)
                .and_then(|url| Uri::from_str(&url).ok())
                .map(|href| CodeDescription { href }),
            source: Some("webserv".into()),
            message: d.message.clone(),
            related_information: if related.is_empty() {
                None
            } else {
                Some(related)
            },
            tags: None,
            data: None,
        },
        fix,
    }
}

/// Every unit's diagnostics by the URI of the file they are in. Every open document is
/// present (an empty list clears it).
pub fn collect<'a>(docs: &Docs, units: impl Iterator<Item = &'a Unit>, enc: Encoding) -> ByUri {
    let mut out: ByUri = docs
        .values()
        .map(|d| (d.uri.as_str().to_string(), Vec::new()))
        .collect();
    for unit in units {
        for d in &unit.compiled.diags.list {
            if !unit.visible(d.span.file) {
                continue;
            }
            let uri = uri_of(docs, &unit.files[d.span.file as usize]);
            let p = convert(docs, unit, d, enc);
            let list = out.entry(uri.as_str().to_string()).or_default();
            // A file two open configs include is reported by both.
            if !list.contains(&p) {
                list.push(p);
            }
        }
    }
    out
}
