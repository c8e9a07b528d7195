//! The requests the server answers, one module per capability, and what it announces.

mod complete;
mod edit;
mod hover;
mod navigate;

use std::path::PathBuf;

use lsp_server::ErrorCode;
use lsp_types::{Position, Range, Uri};
use serde_json::{Value, json};

use crate::confc::ast::Directive;
use crate::confc::schema::Ctx;
use crate::confc::source::FileId;
use crate::confc::table::{Effective, LocId, ServerId};

use super::text::Encoding;
use super::world::{Doc, Docs, Unit};
use super::{Answer, Server, syntax, uri};

/// The command that returns `explain`'s text.
pub const EXPLAIN: &str = "webserv.explain";

/// What the server can do, for `initialize`.
pub fn capabilities(enc: Encoding) -> Value {
    json!({
        "positionEncoding": match enc { Encoding::Utf8 => "utf-8", Encoding::Utf16 => "utf-16" },
        "textDocumentSync": { "openClose": true, "change": 2, "save": { "includeText": false } },
        "hoverProvider": true,
        "completionProvider": { "triggerCharacters": ["/", " "] },
        "definitionProvider": true,
        "documentSymbolProvider": true,
        "foldingRangeProvider": true,
        "codeActionProvider": { "codeActionKinds": ["quickfix"] },
        "documentFormattingProvider": true,
        "executeCommandProvider": { "commands": [EXPLAIN] },
    })
}

/// Answers one request (after `initialize`, before `shutdown`).
pub fn dispatch(s: &mut Server, method: &str, params: Value) -> Answer {
    match method {
        "textDocument/hover" => hover::hover(s, &params),
        "textDocument/completion" => complete::completion(s, &params),
        "textDocument/definition" => navigate::definition(s, &params),
        "textDocument/documentSymbol" => navigate::symbols(s, &params),
        "textDocument/foldingRange" => navigate::folding(s, &params),
        "textDocument/codeAction" => edit::code_actions(s, &params),
        "textDocument/formatting" => edit::formatting(s, &params),
        "workspace/executeCommand" => edit::execute(s, &params),
        // A deliberate panic, to test that one request's failure is contained; only when
        // the environment asks for it.
        "webserv/debugPanic" if std::env::var_os("WEBSERV_LSP_DEBUG").is_some() => {
            panic!("webserv/debugPanic")
        }
        _ => Err((
            ErrorCode::MethodNotFound,
            format!("unknown method {method}"),
        )),
    }
}

fn invalid(what: &str) -> (ErrorCode, String) {
    (ErrorCode::InvalidParams, format!("invalid params: {what}"))
}

/// The file key of a `textDocument.uri` parameter.
fn doc_key(params: &Value) -> Result<(Uri, PathBuf), (ErrorCode, String)> {
    let u: Uri = params
        .pointer("/textDocument/uri")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("textDocument.uri"))?;
    let path = uri::to_path(&u).ok_or_else(|| invalid("not a file: URI"))?;
    Ok((u, uri::key(&path)))
}

fn position(v: &Value) -> Option<Position> {
    serde_json::from_value(v.clone()).ok()
}

/// A document, a position in it and its compile unit, for the requests that need them.
pub struct At<'a> {
    pub docs: &'a Docs,
    pub doc: &'a Doc,
    pub offset: usize,
    pub unit: &'a Unit,
    pub file: FileId,
    pub enc: Encoding,
}

/// Brings the units up to date and finds `key`'s.
fn prepare(s: &mut Server, key: &PathBuf) -> Option<()> {
    s.world.docs.get(key)?;
    s.world.refresh();
    let k = s.world.unit_key(key);
    s.world.units.get(&k)?.file_of(key)?;
    Some(())
}

/// The document and position of a `TextDocumentPositionParams`; `None` for a document
/// that is not open.
fn at<'a>(s: &'a mut Server, params: &Value) -> Result<Option<At<'a>>, (ErrorCode, String)> {
    let (_, key) = doc_key(params)?;
    let pos = params
        .get("position")
        .and_then(position)
        .ok_or_else(|| invalid("position"))?;
    if prepare(s, &key).is_none() {
        return Ok(None);
    }
    let s: &Server = s;
    Ok(at_in(s, &key, pos))
}

/// A document's `At` once `prepare` brought its unit up to date.
fn at_in<'a>(s: &'a Server, key: &PathBuf, pos: Position) -> Option<At<'a>> {
    let k = s.world.unit_key_cached(key);
    let unit = s.world.units.get(&k)?;
    let doc = s.world.docs.get(key)?;
    let file = unit.file_of(key)?;
    Some(At {
        docs: &s.world.docs,
        doc,
        offset: doc.lines().offset(&doc.text, pos, s.enc),
        unit,
        file,
        enc: s.enc,
    })
}

impl At<'_> {
    pub fn range(&self, start: usize, end: usize) -> Range {
        self.doc.lines().range(&self.doc.text, start, end, self.enc)
    }

    /// The context of the document's top level in its unit.
    pub fn base(&self) -> Ctx {
        self.unit.ctx(self.file)
    }

    pub fn tree(&self) -> &[Directive] {
        self.doc.tree()
    }
}

/// The server or location of the routing table a place in a file belongs to.
#[derive(Clone, Copy, Debug)]
pub enum Entity {
    Main,
    Server(ServerId),
    Location(LocId),
}

impl Entity {
    /// The effective settings there (the main context's outside any server).
    pub fn settings(self, unit: &Unit) -> Option<&Effective> {
        match self {
            Entity::Main => Some(&unit.table.base),
            Entity::Server(id) => unit.table.servers.get(id).map(|s| &s.settings),
            Entity::Location(id) => unit.table.locations.get(id).map(|l| &l.settings),
        }
    }

    /// The servers a directive here applies to.
    pub fn servers(self, unit: &Unit) -> Vec<ServerId> {
        match self {
            Entity::Main => (0..unit.table.servers.len()).collect(),
            Entity::Server(id) => vec![id],
            Entity::Location(id) => unit
                .table
                .locations
                .get(id)
                .map(|l| l.server)
                .into_iter()
                .collect(),
        }
    }
}

/// The innermost server or location around `offset` in `file` (following includes out
/// to the file that includes this one).
pub fn entity_at(unit: &Unit, file: FileId, tree: &[Directive], offset: usize) -> Entity {
    use crate::confc::table::Origin;
    let e = syntax::enclosing(tree, offset, Ctx::Main);
    for b in e.blocks.iter().rev() {
        let line = unit
            .lines(file)
            .position(unit.text(file), b.name.span.start as usize, Encoding::Utf8)
            .line
            + 1;
        let origin = Origin::Config { file, line };
        match syntax::opens(b) {
            Some(Ctx::Location) => {
                let pattern = b.args.last().map(|a| a.text.as_str());
                if let Some(id) = unit
                    .table
                    .locations
                    .iter()
                    .position(|l| l.origin == origin && Some(l.pattern.as_str()) == pattern)
                {
                    return Entity::Location(id);
                }
            }
            Some(Ctx::Server) => {
                if let Some(id) = unit.table.servers.iter().position(|s| s.origin == origin) {
                    return Entity::Server(id);
                }
            }
            _ => {}
        }
    }
    match unit.compiled.sources.file(file).included_from {
        Some(from) if from.file < file => {
            let parent = syntax::parse_text(unit.text(from.file));
            entity_at(unit, from.file, &parent, from.start as usize)
        }
        _ => Entity::Main,
    }
}

/// Markdown inline code for any text: a fence longer than any run of backticks in it,
/// one line, table pipes escaped.
pub fn md_code(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in one_line.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if one_line.starts_with('`') || one_line.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{one_line}{pad}{fence}")
}
