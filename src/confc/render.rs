//! Diagnostic renderers: `human` (miette), `short`, `json`, `sarif`, `github`.
//!
//! miette renders one source per diagnostic, so a label in another file (an include, a
//! duplicate in another file) becomes a related note with that file as its source.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde_json::{Value, json};

use super::diag::{Code, Diag, Severity, doc_url, docs_url};
use super::source::{SourceFile, SourceMap, Span};

/// Output formats of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people, on stderr: graphical on a terminal, else narrated plain text.
    Human,
    /// `file:line:col: severity[code]: message`, one line each, on stdout.
    Short,
    /// Versioned JSON with every label and position, on stdout.
    Json,
    /// SARIF 2.1.0, on stdout.
    Sarif,
    /// GitHub Actions workflow annotations, on stdout.
    Github,
}

/// How `human` looks.
#[derive(Clone, Copy, Debug)]
pub struct HumanStyle {
    /// Boxes and arrows (miette graphical); otherwise narrated text for screen readers
    /// and logs.
    pub graphics: bool,
    pub color: bool,
    pub width: usize,
}

/// Renders diagnostics of one or more compilations in a format. `runs` pairs each
/// compilation's sources with its diagnostics.
pub fn render(format: Format, runs: &[(&SourceMap, &[Diag])], style: HumanStyle) -> String {
    match format {
        Format::Human => runs.iter().map(|(s, d)| human(s, d, style)).collect(),
        Format::Short => runs.iter().map(|(s, d)| short(s, d)).collect(),
        Format::Github => runs.iter().map(|(s, d)| github(s, d)).collect(),
        Format::Json => {
            let all: Vec<Value> = runs
                .iter()
                .flat_map(|(s, d)| d.iter().map(|x| json_diag(s, x)))
                .collect();
            let errors = runs
                .iter()
                .flat_map(|(_, d)| d.iter())
                .filter(|d| d.severity == Severity::Error)
                .count();
            let warnings = runs.iter().flat_map(|(_, d)| d.iter()).count() - errors;
            let v = json!({
                "version": 1,
                "diagnostics": all,
                "summary": { "errors": errors, "warnings": warnings },
            });
            format!(
                "{}\n",
                serde_json::to_string_pretty(&v).expect("json serialises")
            )
        }
        Format::Sarif => sarif(runs),
    }
}

struct Pos {
    path: String,
    line: u32,
    col: u32,
    end_line: u32,
    end_col: u32,
}

fn pos(sources: &SourceMap, span: Span) -> Pos {
    let f = sources.file(span.file);
    let (line, col) = f.line_col(span.start);
    let (end_line, end_col) = f.line_col(span.end);
    Pos {
        path: f.path.display().to_string(),
        line,
        col,
        end_line,
        end_col,
    }
}

fn short(sources: &SourceMap, diags: &[Diag]) -> String {
    let mut out = String::new();
    for d in diags {
        let p = pos(sources, d.span);
        out.push_str(&format!(
            "{}:{}:{}: {}[{}]: {}\n",
            p.path,
            p.line,
            p.col,
            d.severity.as_str(),
            d.code.slug(),
            // One line per diagnostic, even when the message quotes a multi-line token.
            d.message.replace('\r', "\\r").replace('\n', "\\n")
        ));
    }
    out
}

/// GitHub workflow commands: values escape `%`, CR, LF; properties also `:` and `,`.
fn github(sources: &SourceMap, diags: &[Diag]) -> String {
    let esc = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let prop = |s: &str| esc(s).replace(':', "%3A").replace(',', "%2C");
    let mut out = String::new();
    for d in diags {
        let p = pos(sources, d.span);
        let mut msg = d.message.clone();
        if let Some(h) = &d.help {
            msg.push_str("\nhelp: ");
            msg.push_str(h);
        }
        out.push_str(&format!(
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            if d.severity == Severity::Error {
                "error"
            } else {
                "warning"
            },
            prop(&p.path),
            p.line,
            p.col,
            p.end_line,
            p.end_col,
            prop(d.code.slug()),
            esc(&msg)
        ));
    }
    out
}

fn json_span(sources: &SourceMap, span: Span) -> Value {
    let p = pos(sources, span);
    json!({
        "file": p.path,
        "line": p.line,
        "column": p.col,
        "end_line": p.end_line,
        "end_column": p.end_col,
        "byte_start": span.start,
        "byte_end": span.end,
    })
}

fn json_diag(sources: &SourceMap, d: &Diag) -> Value {
    let mut labels =
        vec![json!({ "span": json_span(sources, d.span), "message": d.label, "primary": true })];
    for l in &d.secondary {
        labels.push(
            json!({ "span": json_span(sources, l.span), "message": l.text, "primary": false }),
        );
    }
    let p = pos(sources, d.span);
    json!({
        "code": d.code.slug(),
        "severity": d.severity.as_str(),
        "message": d.message,
        "file": p.path,
        "line": p.line,
        "column": p.col,
        "end_line": p.end_line,
        "end_column": p.end_col,
        "labels": labels,
        "help": d.help,
        "included_from": include_chain(sources, d.span).iter().map(|s| json_span(sources, *s)).collect::<Vec<_>>(),
    })
}

fn include_chain(sources: &SourceMap, span: Span) -> Vec<Span> {
    let mut chain = Vec::new();
    let mut file = span.file;
    while let Some(from) = sources.file(file).included_from {
        chain.push(from);
        file = from.file;
        if chain.len() > 64 {
            break;
        }
    }
    chain
}

fn sarif(runs: &[(&SourceMap, &[Diag])]) -> String {
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|c| {
            let mut rule = json!({
                "id": c.slug(),
                "shortDescription": { "text": c.title() },
                "fullDescription": { "text": c.explanation() },
                "defaultConfiguration": { "level": if c.severity() == Severity::Error { "error" } else { "warning" } },
            });
            if let Some(url) = doc_url(*c) {
                rule["helpUri"] = json!(url);
            }
            rule
        })
        .collect();
    let region = |sources: &SourceMap, span: Span| {
        let p = pos(sources, span);
        json!({
            "physicalLocation": {
                "artifactLocation": { "uri": p.path },
                "region": { "startLine": p.line, "startColumn": p.col, "endLine": p.end_line, "endColumn": p.end_col },
            }
        })
    };
    let mut results = Vec::new();
    for (sources, diags) in runs {
        for d in *diags {
            let mut message = d.message.clone();
            if let Some(h) = &d.help {
                message.push_str(&format!(" (help: {h})"));
            }
            let related: Vec<Value> = d
                .secondary
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let mut r = region(sources, l.span);
                    r["id"] = json!(i);
                    r["message"] = json!({ "text": l.text });
                    r
                })
                .collect();
            results.push(json!({
                "ruleId": d.code.slug(),
                "ruleIndex": Code::ALL.iter().position(|c| *c == d.code),
                "level": if d.severity == Severity::Error { "error" } else { "warning" },
                "message": { "text": message },
                "locations": [region(sources, d.span)],
                "relatedLocations": related,
            }));
        }
    }
    let mut driver = json!({
        "name": "webserv",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    if let Some(url) = docs_url() {
        driver["informationUri"] = json!(url);
    }
    let v = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": driver },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&v).expect("json serialises")
    )
}

// ---- human (miette) -----------------------------------------------------------------

/// One miette diagnostic: a message with labels in a single source, and related notes for
/// places in other files.
struct Report {
    message: String,
    code: Option<&'static str>,
    severity: miette::Severity,
    help: Option<String>,
    source: NamedSource<Arc<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code.map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(self.related.iter().map(|r| r as &dyn Diagnostic)))
        }
    }
}

struct Texts {
    texts: Vec<Arc<String>>,
}

impl Texts {
    fn source(&self, sources: &SourceMap, span: Span) -> NamedSource<Arc<String>> {
        NamedSource::new(
            sources.file(span.file).path.display().to_string(),
            self.texts[span.file as usize].clone(),
        )
    }
}

fn labeled(sources: &SourceMap, span: Span, text: &str, primary: bool) -> LabeledSpan {
    // miette drops empty labels at the very end of the text; widen them to the last char.
    let len = sources.file(span.file).text.len();
    let (start, end) = if span.is_empty() && span.start as usize >= len && len > 0 {
        let text = &sources.file(span.file).text;
        let s = text.char_indices().next_back().map_or(0, |(i, _)| i);
        (s, len)
    } else {
        (span.start as usize, span.end as usize)
    };
    let label = if text.is_empty() {
        None
    } else {
        Some(text.to_string())
    };
    if primary {
        LabeledSpan::new_primary_with_span(label, (start, end - start))
    } else {
        LabeledSpan::new_with_span(label, (start, end - start))
    }
}

fn note(texts: &Texts, sources: &SourceMap, span: Span, message: String, label: &str) -> Report {
    Report {
        message,
        code: None,
        severity: miette::Severity::Advice,
        help: None,
        source: texts.source(sources, span),
        labels: vec![labeled(sources, span, label, true)],
        related: Vec::new(),
    }
}

fn to_report(texts: &Texts, sources: &SourceMap, d: &Diag) -> Report {
    let mut labels = vec![labeled(sources, d.span, &d.label, true)];
    let mut related = Vec::new();
    for l in &d.secondary {
        if l.span.file == d.span.file {
            labels.push(labeled(sources, l.span, &l.text, false));
        } else {
            let p = pos(sources, l.span);
            related.push(note(
                texts,
                sources,
                l.span,
                format!("{} ({}:{})", l.text, p.path, p.line),
                &l.text,
            ));
        }
    }
    for from in include_chain(sources, d.span) {
        let p = pos(sources, from);
        related.push(note(
            texts,
            sources,
            from,
            format!("included from {}:{}", p.path, p.line),
            "included here",
        ));
    }
    Report {
        message: d.message.clone(),
        code: Some(d.code.slug()),
        severity: match d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        },
        help: d.help.clone(),
        source: texts.source(sources, d.span),
        labels,
        related,
    }
}

fn human(sources: &SourceMap, diags: &[Diag], style: HumanStyle) -> String {
    let texts = Texts {
        texts: sources
            .files()
            .map(|(_, f)| Arc::new(f.text.clone()))
            .collect(),
    };
    // miette's graphical handler panics on a label past column 65535 (a format width
    // limit); such diagnostics are narrated instead.
    let wide = |s: Span| sources.file(s.file).line_col(s.end).1 > 16_000;
    let mut out = String::new();
    for d in diags {
        let too_wide = wide(d.span)
            || d.secondary.iter().any(|l| wide(l.span))
            || include_chain(sources, d.span).into_iter().any(wide);
        if style.graphics && !too_wide {
            let theme = if style.color {
                GraphicalTheme::unicode()
            } else {
                GraphicalTheme::unicode_nocolor()
            };
            let handler = GraphicalReportHandler::new_themed(theme)
                .with_width(style.width)
                .with_links(false);
            let _ = handler.render_report(&mut out, &to_report(&texts, sources, d));
        } else {
            narrate(&mut out, sources, d);
        }
        out.push('\n');
    }
    out
}

// ---- narrated (plain text) ----------------------------------------------------------

/// A diagnostic as plain text for screen readers and logs, in the layout of miette's
/// narratable handler, with positions counted in characters as in every other format.
/// Ours because miette's attaches a label that lies beyond a snippet to the snippet's
/// last line, and reads a label on a line break as `columns 17 to 16`.
fn narrate(out: &mut String, sources: &SourceMap, d: &Diag) {
    let _ = writeln!(out, "{}", d.message);
    let _ = writeln!(out, "    Diagnostic severity: {}", d.severity.as_str());
    let mut here = vec![(d.span, d.label.as_str())];
    let mut notes = Vec::new();
    for l in &d.secondary {
        if l.span.file == d.span.file {
            here.push((l.span, &l.text));
        } else {
            let p = pos(sources, l.span);
            notes.push((
                format!("{} ({}:{})", l.text, p.path, p.line),
                l.span,
                l.text.as_str(),
            ));
        }
    }
    for from in include_chain(sources, d.span) {
        let p = pos(sources, from);
        notes.push((
            format!("included from {}:{}", p.path, p.line),
            from,
            "included here",
        ));
    }
    snippets(out, sources, &mut here);
    if let Some(h) = &d.help {
        let _ = writeln!(out, "diagnostic help: {h}");
    }
    let _ = writeln!(out, "diagnostic code: {}", d.code.slug());
    if !notes.is_empty() {
        out.push('\n');
        for (message, span, label) in notes {
            let _ = writeln!(out, "Advice: {message}\n    Diagnostic severity: advice\n");
            snippets(out, sources, &mut [(span, label)]);
        }
    }
}

/// Where a label is, as (line, column) of its first and last character. A label on a
/// line break, or empty, is one position: the place after the line's last character.
fn label_at(f: &SourceFile, span: Span) -> ((u32, u32), (u32, u32)) {
    let text = f.text.as_str();
    // The end of a file that ends with a line break is the end of its last line.
    let at = |o: u32| {
        let o = if o as usize >= text.len() && text.ends_with('\n') {
            text.len() as u32 - 1
        } else {
            o
        };
        f.line_col(o)
    };
    let covered = text
        .get(span.start as usize..span.end as usize)
        .unwrap_or("");
    let start = at(span.start);
    if covered.is_empty() || matches!(covered, "\n" | "\r\n") {
        return (start, start);
    }
    let last = covered.char_indices().next_back().map_or(0, |(i, _)| i) as u32;
    (start, at(span.start + last))
}

/// The source lines around `labels` (all in one file), one line of context on each
/// side, with each label narrated under the line it starts or ends on.
fn snippets(out: &mut String, sources: &SourceMap, labels: &mut [(Span, &str)]) {
    let Some(file) = labels.first().map(|(s, _)| s.file) else {
        return;
    };
    let f = sources.file(file);
    labels.sort_by_key(|(s, _)| (s.start, s.end));
    let placed: Vec<_> = labels
        .iter()
        .map(|&(s, text)| (label_at(f, s), text))
        .collect();
    let lines = f.line_count();
    // Each label's lines with one line of context, merged (as miette does) when at
    // most one line would separate them.
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for &(((l0, _), (l1, _)), _) in &placed {
        let (a, b) = (l0.saturating_sub(1).max(1), (l1 + 1).min(lines.max(1)));
        match ranges.last_mut() {
            Some(r) if r.1 + 2 >= a => r.1 = r.1.max(b),
            _ => ranges.push((a, b)),
        }
    }
    for (a, b) in ranges {
        let _ = writeln!(
            out,
            "Begin snippet for {} starting at line {a}, column 1\n",
            f.path.display()
        );
        for n in a..=b {
            let _ = writeln!(out, "snippet line {n}: {}", f.line_text(n));
            for &(((l0, c0), (l1, c1)), text) in &placed {
                let what = if l0 == n && l1 == n && c0 == c1 {
                    format!("label at line {n}, column {c0}")
                } else if l0 == n && l1 == n {
                    format!("label at line {n}, columns {c0} to {c1}")
                } else if l0 == n {
                    format!("label starting at line {n}, column {c0}")
                } else if l1 == n {
                    format!("label ending at line {n}, column {c1}")
                } else {
                    continue;
                };
                let _ = if text.is_empty() {
                    writeln!(out, "    {what}")
                } else {
                    writeln!(out, "    {what}: {text}")
                };
            }
        }
    }
}
