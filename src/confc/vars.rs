//! nginx variables (`$host`, `${request_uri}`, `$arg_page`, `$http_user_agent`...) in
//! directive arguments, compiled once into a [`Template`]: request time only walks the
//! pieces, it never parses.

use std::fmt;

use super::ast::Token;
use super::diag::{Code, Diag, did_you_mean};
use super::source::{SourceMap, Span};

/// A variable webserv knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Var {
    /// `http` or `https`.
    Scheme,
    /// The request's host (Host without port, lower-case), else the server's first name.
    Host,
    /// The name of the server that answers.
    ServerName,
    /// The port the request arrived on.
    ServerPort,
    /// The request-target as received, query included.
    RequestUri,
    /// The decoded, normalised path (`$uri`, `$document_uri`).
    Uri,
    /// The query string (`$args`, `$query_string`).
    Args,
    /// `?` when there is a query, else nothing.
    IsArgs,
    /// One query argument, by name (`$arg_page`).
    Arg(String),
    RequestMethod,
    RemoteAddr,
    RemotePort,
    /// A request header, by its lower-case name with `-` (`$http_user_agent`).
    Http(String),
    ContentType,
    ContentLength,
}

/// Every fixed variable name, for did-you-mean and documentation.
pub const NAMES: &[&str] = &[
    "scheme",
    "host",
    "server_name",
    "server_port",
    "request_uri",
    "uri",
    "document_uri",
    "args",
    "query_string",
    "is_args",
    "request_method",
    "remote_addr",
    "remote_port",
    "content_type",
    "content_length",
    "arg_NAME",
    "http_NAME",
];

impl Var {
    /// The variable named `name` (without `$`).
    pub fn from_name(name: &str) -> Option<Var> {
        Some(match name {
            "scheme" => Var::Scheme,
            "host" => Var::Host,
            "server_name" => Var::ServerName,
            "server_port" => Var::ServerPort,
            "request_uri" => Var::RequestUri,
            "uri" | "document_uri" => Var::Uri,
            "args" | "query_string" => Var::Args,
            "is_args" => Var::IsArgs,
            "request_method" => Var::RequestMethod,
            "remote_addr" => Var::RemoteAddr,
            "remote_port" => Var::RemotePort,
            "content_type" => Var::ContentType,
            "content_length" => Var::ContentLength,
            _ => {
                if let Some(a) = name.strip_prefix("arg_").filter(|a| !a.is_empty()) {
                    return Some(Var::Arg(a.to_string()));
                }
                let h = name.strip_prefix("http_").filter(|h| !h.is_empty())?;
                return Some(Var::Http(h.to_ascii_lowercase().replace('_', "-")));
            }
        })
    }
}

/// A literal run or a variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Lit(String),
    Var(Var),
}

/// A directive argument with its variables found. Displays as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

/// What request time gives a template to expand: one variable's value appended to `out`
/// (nothing when it has none, as nginx's empty value).
pub trait Vars {
    fn append(&self, var: &Var, out: &mut String);
}

impl Template {
    /// A template without variables.
    pub fn literal(text: &str) -> Template {
        Template {
            source: text.to_string(),
            pieces: vec![Piece::Lit(text.to_string())],
        }
    }

    /// The text as written (variables unexpanded).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The text when it holds no variable.
    pub fn as_literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Lit(s)] => Some(s),
            _ => None,
        }
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Appends the expansion to `out`.
    pub fn expand_into(&self, vars: &(impl Vars + ?Sized), out: &mut String) {
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Var(v) => vars.append(v, out),
            }
        }
    }

    /// The expansion.
    pub fn expand(&self, vars: &(impl Vars + ?Sized)) -> String {
        let mut out = String::with_capacity(self.source.len() + 32);
        self.expand_into(vars, &mut out);
        out
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// The source spans of each `$` of a token, in order. Escapes never add or remove a `$`
/// (`\$` keeps its backslash), so the k-th `$` of the text is the k-th of the source.
fn dollar_spans(tok: &Token, sources: &SourceMap) -> Vec<u32> {
    let raw = sources.slice(tok.span);
    raw.match_indices('$')
        .map(|(i, _)| tok.span.start + i as u32)
        .collect()
}

/// Compiles a token's text. Errors: an unknown variable (with did-you-mean), a `$` that
/// starts no variable name, an unclosed `${`, a regex capture (`$1`).
pub fn compile(tok: &Token, sources: &SourceMap) -> Result<Template, Diag> {
    let text = tok.text.as_str();
    let dollars = dollar_spans(tok, sources);
    let at = |k: usize, len: usize| -> Span {
        match dollars.get(k) {
            Some(&start) => Span {
                file: tok.span.file,
                start,
                end: (start + len as u32).min(tok.span.end),
            },
            None => tok.span,
        }
    };
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    let mut k = 0;
    while let Some(i) = rest.find('$') {
        lit.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let Some((name, used, braced)) = reference(after) else {
            return Err(
                Diag::new(Code::BadVariable, at(k, 2), "`${` is never closed")
                    .label("no `}` after this")
                    .help("write `${name}`, e.g. `${host}`"),
            );
        };
        let var = variable(name, braced, at(k, 1 + used))?;
        if !lit.is_empty() {
            pieces.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        pieces.push(Piece::Var(var));
        rest = &after[used..];
        k += 1;
    }
    lit.push_str(rest);
    if !lit.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(Template {
        source: text.to_string(),
        pieces,
    })
}

/// The variable reference after a `$`: its name, the bytes it takes after the `$`, and
/// whether it is braced (`${name}`). `None`: a `${` never closed.
fn reference(after: &str) -> Option<(&str, usize, bool)> {
    if let Some(b) = after.strip_prefix('{') {
        let end = b.find('}')?;
        Some((&b[..end], end + 2, true))
    } else {
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        Some((&after[..end], end, false))
    }
}

/// The variable `name` refers to (the reference at `span`), or why it names none.
fn variable(name: &str, braced: bool, span: Span) -> Result<Var, Diag> {
    if name.is_empty() || (braced && !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    {
        return Err(Diag::new(Code::BadVariable, span, "a `$` that starts no variable")
            .label("expected a variable name after `$`")
            .help("variables are `$name` or `${name}` (e.g. `$host`); nginx has no escape for a literal `$`"));
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Diag::new(
            Code::BadVariable,
            span,
            format!("`${name}` is a regex capture, which webserv does not have"),
        )
        .label("regex captures are not supported")
        .help("use `$uri`, `$request_uri` or `$args` to build the value"));
    }
    Var::from_name(name).ok_or_else(|| unknown_variable(name, span))
}

/// No variable is called `name`: did-you-mean, or the list of variables.
fn unknown_variable(name: &str, span: Span) -> Diag {
    let diag = Diag::new(
        Code::UnknownVariable,
        span,
        format!("unknown variable `${name}`"),
    )
    .label("no variable has this name");
    match did_you_mean(name, NAMES.iter().copied().filter(|n| !n.ends_with("NAME"))) {
        Some(s) => diag.help(format!("did you mean `${s}`?")),
        None => diag.help(format!(
            "variables: {}",
            NAMES
                .iter()
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(" ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(sources: &mut SourceMap, raw: &str, text: &str) -> Token {
        let id = sources.add("t.conf".into(), raw.to_string(), None);
        Token {
            text: text.into(),
            span: Span::new(id, 0, raw.len()),
            quoted: raw.starts_with('"'),
        }
    }

    fn compile_text(text: &str) -> Result<Template, Diag> {
        let mut s = SourceMap::new();
        let t = tok(&mut s, text, text);
        compile(&t, &s)
    }

    struct Fake;
    impl Vars for Fake {
        fn append(&self, var: &Var, out: &mut String) {
            match var {
                Var::Host => out.push_str("example.com"),
                Var::RequestUri => out.push_str("/a?b=1"),
                Var::Arg(a) => out.push_str(&format!("<{a}>")),
                Var::Http(h) => out.push_str(&format!("[{h}]")),
                _ => {}
            }
        }
    }

    #[test]
    fn templates_expand_their_variables() {
        let t = compile_text("https://$host$request_uri").unwrap();
        assert_eq!(t.expand(&Fake), "https://example.com/a?b=1");
        assert_eq!(t.as_literal(), None);
        assert_eq!(t.to_string(), "https://$host$request_uri");
        let t = compile_text("${host}x$arg_page-$http_X_Forwarded_For").unwrap();
        assert_eq!(t.expand(&Fake), "example.comx<page>-[x-forwarded-for]");
        let t = compile_text("plain text").unwrap();
        assert_eq!(t.as_literal(), Some("plain text"));
        assert_eq!(compile_text("").unwrap().as_literal(), Some(""));
    }

    #[test]
    fn mistakes_are_diagnosed_at_the_variable() {
        let d = compile_text("https://$hots/").unwrap_err();
        assert_eq!(d.code, Code::UnknownVariable);
        assert_eq!((d.span.start, d.span.end), (8, 13));
        assert_eq!(d.help.as_deref(), Some("did you mean `$host`?"));
        let d = compile_text("5$ each").unwrap_err();
        assert_eq!(d.code, Code::BadVariable);
        assert_eq!((d.span.start, d.span.end), (1, 2));
        assert_eq!(compile_text("${host").unwrap_err().code, Code::BadVariable);
        assert_eq!(compile_text("$1").unwrap_err().code, Code::BadVariable);
        assert_eq!(
            compile_text("${ho st}").unwrap_err().code,
            Code::BadVariable
        );
    }

    #[test]
    fn spans_follow_the_source_inside_quotes() {
        let mut s = SourceMap::new();
        let t = tok(&mut s, "\"a\\\"$nope\"", "a\"$nope");
        let d = compile(&t, &s).unwrap_err();
        assert_eq!((d.span.start, d.span.end), (4, 9));
    }
}
