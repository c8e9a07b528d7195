//! Text → directive tree. The only module that imports pest.
//!
//! The pest grammar is a flat, total token stream; the tree is built here with an explicit
//! stack, which is what lets one pass report an unclosed `{`, a stray `}`, a stray `;` and
//! a missing `;` together, each once, and keeps 10 MB of `{` off the Rust stack.

use pest::Parser;
use pest_derive::Parser;

use super::ast::{Block, Body, Directive, Token};
use super::diag::{Code, Diag, Diags};
use super::source::{FileId, Span};

#[derive(Parser)]
#[grammar = "../grammar/webserv.pest"]
struct ConfParser;

/// Blocks deeper than this are refused: no real config nests this far.
pub const MAX_DEPTH: usize = 64;

struct Frame {
    open: Span,
    owner: Option<(Token, Vec<Token>)>,
    items: Vec<Directive>,
    /// The indentation of the line the block's directive starts, when it starts it.
    indent: Option<usize>,
}

/// Parses one file's text into its top-level directives. `is_directive` tells known
/// directive names, used to detect a missing `;` (nginx-style grammars read `listen 80`
/// ⏎ `root /x;` as one directive).
///
/// A large file is split at top-level cut points into one segment per core, and the
/// segments are lexed and built in parallel: no token, directive or block crosses a cut,
/// so each segment starts from an empty builder and the results concatenate.
pub fn parse(
    file: FileId,
    text: &str,
    is_directive: &(dyn Fn(&str) -> bool + Sync),
    diags: &mut Diags,
) -> Vec<Directive> {
    parse_in(file, text, is_directive, diags, super::par::threads())
}

/// [`parse`] with at most `parts` segments.
fn parse_in(
    file: FileId,
    text: &str,
    is_directive: &(dyn Fn(&str) -> bool + Sync),
    diags: &mut Diags,
    parts: usize,
) -> Vec<Directive> {
    // Text nested too deep is only lexed up to the `{` the builder refuses: pest builds its
    // whole token queue up front, and 10 MB of `{` would otherwise cost seconds and ~800 MB.
    // The scan only saves work: if the builder does not stop there, lex everything.
    let scan = scan(text);
    if let Some(cut) = scan.too_deep {
        let mark = diags.list.len();
        let built = build(file, text, 0..cut, &scan.cuts, is_directive, diags);
        if built.stop == Stop::TooDeep {
            return built.items;
        }
        diags.list.truncate(mark);
    }
    let segments = segments(text, &scan.cuts, parts);
    if segments.len() == 1 {
        return build(file, text, 0..text.len(), &scan.cuts, is_directive, diags).items;
    }
    let results = super::par::map(&segments, |range| {
        let mut d = Diags::default();
        let built = build(file, text, range.clone(), &scan.cuts, is_directive, &mut d);
        (built, d)
    });
    let mut items = Vec::new();
    for (built, d) in results {
        items.extend(built.items);
        diags.append(d);
        // Only the last segment can hold an unterminated string (the scan makes no cuts
        // after one), but a lexer failure stops the file wherever it happens.
        if built.stop != Stop::End {
            break;
        }
    }
    items
}

/// Segments smaller than this are not worth a thread.
const MIN_SEGMENT: usize = 256 * 1024;

/// Splits the text at cut points into at most `parts` segments of at least
/// [`MIN_SEGMENT`] bytes.
fn segments(text: &str, cuts: &[usize], parts: usize) -> Vec<std::ops::Range<usize>> {
    let n = parts.min(text.len() / MIN_SEGMENT).max(1);
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    let mut next = cuts.iter().copied();
    for k in 1..n {
        let target = text.len() * k / n;
        let Some(cut) = next.by_ref().find(|&c| c >= target) else {
            break;
        };
        out.push(start..cut);
        start = cut;
    }
    out.push(start..text.len());
    out
}

/// What a byte scan of the grammar's tokens found.
struct Scan {
    /// The end of the first `{` the tree builder refuses as too deep.
    too_deep: Option<usize>,
    /// Offsets right after a top-level `}` or `;`, about every [`CHUNK`] bytes: no token
    /// crosses them, and the next token is not a `;` (a run of stray `;` is one mistake,
    /// reported once), so the text can be lexed and built a chunk at a time. pest's token queue for
    /// one chunk stays small and warm in the cache instead of growing to hundreds of MB
    /// for a large config.
    cuts: Vec<usize>,
}

/// Target size of a lexing chunk.
const CHUNK: usize = 64 * 1024;

/// A byte scan that follows the grammar's tokens (quotes, `\` escapes, comments, words).
fn scan(text: &str) -> Scan {
    let b = text.as_bytes();
    let mut out = Scan {
        too_deep: None,
        cuts: Vec::new(),
    };
    let mut last_cut = 0;
    let mut i = 0;
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\n' | 0x0B | 0x0C => i += 1,
            b';' => {
                i += 1;
                if depth == 0 && i - last_cut >= CHUNK && !semi_follows(&b[i..]) {
                    out.cuts.push(i);
                    last_cut = i;
                }
            }
            b'#' => {
                i = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| i + p)
            }
            b'{' => {
                // The builder's stack holds the root frame plus one per open block.
                if 1 + depth > MAX_DEPTH {
                    out.too_deep = Some(i + 1);
                    return out;
                }
                depth += 1;
                i += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
                if depth == 0 && i - last_cut >= CHUNK && !semi_follows(&b[i..]) {
                    out.cuts.push(i);
                    last_cut = i;
                }
            }
            q @ (b'"' | b'\'') => {
                i += 1;
                loop {
                    match b.get(i) {
                        // Unterminated: the rest is one token; no cut may fall inside it.
                        None => return out,
                        Some(&c) if c == q => break,
                        Some(b'\\') => i += 2,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
            }
            _ => loop {
                match b.get(i) {
                    Some(b'\\') => i += 2,
                    None
                    | Some(b' ' | b'\t' | b'\r' | b'\n' | 0x0B | 0x0C | b';' | b'{' | b'}') => {
                        break;
                    }
                    Some(_) => i += 1,
                }
            },
        }
    }
    out
}

/// Why [`build`] stopped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// At the end of its range.
    End,
    /// At a block nested too deep.
    TooDeep,
    /// At an unterminated string, or where the lexer failed: the rest is not parsed.
    Abandoned,
}

/// The directives of one range, and why building stopped.
struct Built {
    items: Vec<Directive>,
    stop: Stop,
}

/// Whether the next token in `rest` is a `;`.
fn semi_follows(rest: &[u8]) -> bool {
    rest.iter()
        .find(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0x0B | 0x0C))
        == Some(&b';')
}

/// Lexes `text[range]` (which starts at the top level, as every cut does) and builds the
/// tree; spans are offsets into the whole `text`.
fn build(
    file: FileId,
    text: &str,
    range: std::ops::Range<usize>,
    cuts: &[usize],
    is_directive: &(dyn Fn(&str) -> bool + Sync),
    diags: &mut Diags,
) -> Built {
    let mut b = Builder {
        file,
        text,
        is_directive,
        diags,
        stack: vec![Frame {
            open: Span::new(file, 0, 0),
            owner: None,
            items: Vec::new(),
            indent: None,
        }],
        pending: None,
        misclosed: None,
    };
    let (first, lex_end) = (range.start, range.end);
    let mut start = first;
    let ends = cuts
        .iter()
        .copied()
        .filter(|&c| c > first && c < lex_end)
        .chain(std::iter::once(lex_end));
    for end in ends {
        let stopped = match ConfParser::parse(Rule::file, &text[start..end]) {
            Ok(mut p) => b.tokens(p.next().map(|f| f.into_inner()), start),
            Err(e) => {
                // The grammar is total; this is a safety net, not a path we expect.
                b.diags.push(lex_failure(file, start, &e));
                Err(Stop::Abandoned)
            }
        };
        match stopped {
            Ok(()) => start = end,
            Err(Stop::TooDeep) => {
                return Built {
                    items: b.abandon(),
                    stop: Stop::TooDeep,
                };
            }
            Err(stop) => {
                return Built {
                    items: b.finish(false),
                    stop,
                };
            }
        }
    }
    Built {
        items: b.finish(true),
        stop: Stop::End,
    }
}

/// The lexer failed in the chunk at `start`.
fn lex_failure(file: FileId, start: usize, e: &pest::error::Error<Rule>) -> Diag {
    let pos = start
        + match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
    Diag::new(
        Code::UnterminatedString,
        Span::new(file, pos, pos),
        "cannot tokenize the file here",
    )
}

/// A span for "the end of the file" that miette still shows (it hides empty spans at EOF).
fn eof_span(file: FileId, text: &str) -> Span {
    let end = text.len();
    let start = text[..end].char_indices().next_back().map_or(0, |(i, _)| i);
    Span::new(file, start, end)
}

/// Resolves `\` escapes the way nginx does: `\"`, `\'`, `\\`, `\t`, `\r`, `\n`; any other
/// escaped character keeps its backslash.
fn unescape(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

struct Builder<'a> {
    file: FileId,
    text: &'a str,
    is_directive: &'a (dyn Fn(&str) -> bool + Sync),
    diags: &'a mut Diags,
    stack: Vec<Frame>,
    pending: Option<(Token, Vec<Token>)>,
    /// The first block closed by a `}` indented like its parent's directive: if the
    /// parent is still open at the end, the indentation says the missing `}` is this
    /// block's.
    misclosed: Option<Misclosed>,
}

#[derive(Clone, Copy)]
struct Misclosed {
    /// The `{` of the block the `}` closed.
    block: Span,
    brace: Span,
    /// The `{` of the enclosing block, whose `}` this one looks like.
    parent: Span,
}

/// The indentation of the line `at` is on, if only blanks come before `at` on it.
fn indent_before(text: &str, at: u32) -> Option<usize> {
    let before = &text[..at as usize];
    let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    line.bytes()
        .all(|b| b == b' ' || b == b'\t')
        .then_some(line.len())
}

impl Builder<'_> {
    /// Feeds the tokens of the chunk at `start` (offsets in `pairs` are relative to it)
    /// to the tree; stops at a block nested too deep or an unterminated string.
    fn tokens(
        &mut self,
        pairs: Option<pest::iterators::Pairs<'_, Rule>>,
        start: usize,
    ) -> Result<(), Stop> {
        let file = self.file;
        for pair in pairs.into_iter().flatten() {
            let s = pair.as_span();
            let span = Span::new(file, start + s.start(), start + s.end());
            match pair.as_rule() {
                Rule::word => self.word(Token {
                    text: unescape(s.as_str()),
                    span,
                    quoted: false,
                }),
                Rule::dquoted | Rule::squoted => {
                    let raw = s.as_str();
                    self.word(Token {
                        text: unescape(&raw[1..raw.len() - 1]),
                        span,
                        quoted: true,
                    })
                }
                Rule::semi => self.semi(span),
                Rule::open if !self.open(span) => return Err(Stop::TooDeep),
                Rule::close => self.close(span),
                Rule::unterminated => {
                    let quote = Span::new(file, span.start as usize, span.start as usize + 1);
                    self.diags.push(
                        Diag::new(Code::UnterminatedString, quote, "unterminated string")
                            .label("this quote is never closed")
                            .with(eof_span(file, self.text), "the file ends inside the string")
                            .help("close the string with the same quote character"),
                    );
                    // The rest of the file is inside the string: nothing more to say about it.
                    self.pending = None;
                    return Err(Stop::Abandoned);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn word(&mut self, tok: Token) {
        match &mut self.pending {
            Some((_, args)) => args.push(tok),
            None => self.pending = Some((tok, Vec::new())),
        }
    }

    fn semi(&mut self, span: Span) {
        match self.pending.take() {
            Some((name, args)) => self.emit(name, args, Body::Semi(span)),
            None => {
                // A run of stray `;` is one mistake: widen the previous diagnostic.
                if let Some(last) = self.diags.list.last_mut()
                    && last.code == Code::StraySemicolon
                    && last.span.file == self.file
                    && last.span.end <= span.start
                    && self.text[last.span.end as usize..span.start as usize]
                        .trim()
                        .is_empty()
                {
                    last.span.end = span.end;
                    last.label = "these `;` end no directive".into();
                    return;
                }
                self.diags.push(
                    Diag::new(Code::StraySemicolon, span, "unexpected `;`")
                        .label("this `;` ends no directive")
                        .help("remove it"),
                )
            }
        }
    }

    /// Returns false when nesting is too deep and parsing of the file must stop.
    fn open(&mut self, span: Span) -> bool {
        if self.stack.len() > MAX_DEPTH {
            self.diags.push(
                Diag::new(
                    Code::TooDeep,
                    span,
                    format!("blocks nest deeper than {MAX_DEPTH} levels"),
                )
                .label("this block is too deep")
                .help("the rest of this file is not checked"),
            );
            return false;
        }
        let owner = self.pending.take();
        // Inside an anonymous block, another one is the same mistake, not a new one.
        let parent_anonymous =
            self.stack.len() > 1 && self.stack.last().is_some_and(|f| f.owner.is_none());
        if owner.is_none() && !parent_anonymous {
            self.diags.push(
                Diag::new(Code::AnonymousBlock, span, "block without a directive")
                    .label("this `{` follows no directive name")
                    .help("a block belongs to a directive, as in `server { ... }` or `location /x { ... }`"),
            );
        }
        let indent = owner
            .as_ref()
            .and_then(|(name, _)| indent_before(self.text, name.span.start));
        self.stack.push(Frame {
            open: span,
            owner,
            items: Vec::new(),
            indent,
        });
        true
    }

    fn close(&mut self, span: Span) {
        self.flush_pending();
        if self.stack.len() == 1 {
            self.diags.push(
                Diag::new(Code::StrayBrace, span, "unexpected `}`")
                    .label("this `}` closes no block")
                    .help("remove it, or add the `{` it was meant to close"),
            );
            return;
        }
        let frame = self.stack.pop().expect("stack has a frame above the root");
        // A `}` indented like the enclosing block's directive, under a block indented
        // deeper, looks like the enclosing block's own `}`.
        let parent = self.stack.last().expect("root frame");
        if self.misclosed.is_none()
            && let (Some(block), Some(outer)) = (frame.indent, parent.indent)
            && indent_before(self.text, span.start) == Some(outer)
            && outer < block
        {
            self.misclosed = Some(Misclosed {
                block: frame.open,
                brace: span,
                parent: parent.open,
            });
        }
        self.attach(frame, Some(span));
    }

    fn attach(&mut self, frame: Frame, close: Option<Span>) {
        if let Some((name, args)) = frame.owner {
            let block = Block {
                open: frame.open,
                close,
                items: frame.items,
            };
            self.emit(name, args, Body::Block(block));
        }
    }

    /// A directive cut short by `}` or the end of the file.
    fn flush_pending(&mut self) {
        if let Some((name, args)) = self.pending.take() {
            let last = args.last().unwrap_or(&name).span;
            self.missing_semicolon(last);
            self.emit(name, args, Body::Missing);
        }
    }

    fn missing_semicolon(&mut self, after: Span) {
        // Point just past the token; at the very end of the file use its last character,
        // because miette hides empty labels at EOF.
        let span = if after.end as usize >= self.text.trim_end().len() {
            let start = self.text[..after.end as usize]
                .char_indices()
                .next_back()
                .map_or(0, |(i, _)| i);
            Span::new(self.file, start, after.end as usize)
        } else {
            after.after()
        };
        self.diags.push(
            Diag::new(Code::MissingSemicolon, span, "missing `;`")
                .label("expected `;` here")
                .help("end each simple directive with `;`")
                .fix("insert `;`", after.after(), ";"),
        );
    }

    /// Adds a finished directive to the current block, first splitting off directives that
    /// lost their `;`: an unquoted argument that starts a new line and is a directive name
    /// begins a directive of its own.
    fn emit(&mut self, mut name: Token, mut args: Vec<Token>, body: Body) {
        loop {
            let mut prev = name.span;
            let split = args.iter().position(|a| {
                let on_new_line =
                    self.text[prev.end as usize..a.span.start as usize].contains('\n');
                prev = a.span;
                on_new_line && !a.quoted && (self.is_directive)(&a.text)
            });
            let Some(i) = split else { break };
            let rest = args.split_off(i);
            let before = args.last().unwrap_or(&name).span;
            self.missing_semicolon(before);
            let done = Directive {
                name,
                args,
                body: Body::Missing,
            };
            self.stack.last_mut().expect("root frame").items.push(done);
            let mut rest = rest.into_iter();
            name = rest.next().expect("split point is an argument");
            args = rest.collect();
        }
        self.stack
            .last_mut()
            .expect("root frame")
            .items
            .push(Directive { name, args, body });
    }

    /// Parsing stopped early: keep what was complete at the top level, drop the rest.
    fn abandon(mut self) -> Vec<Directive> {
        self.stack.truncate(1);
        self.stack.pop().map(|f| f.items).unwrap_or_default()
    }

    /// One diagnostic for the blocks still open at the end of the file. By the braces,
    /// the innermost open block is the one missing its `}`; but when a `}` indented
    /// less than its block's directive closed that block, the indentation says the
    /// missing `}` is that block's, and the open ones are only its consequence.
    fn report_unclosed(&mut self) {
        let by_indent = self.misclosed_still_open();
        let open = &self.stack[1..];
        let innermost = open.last().expect("unclosed frame").open;
        let mut d = match by_indent {
            Some(m) => Diag::new(Code::UnclosedBlock, m.block, "unclosed block")
                .label("this `{` is never closed")
                .with(
                    m.brace,
                    "this `}`, indented for the block around it, closes it instead",
                )
                .with(
                    innermost,
                    "so this block is still open at the end of the file",
                )
                .help("add the missing `}` where this block ends"),
            None => Diag::new(Code::UnclosedBlock, innermost, "unclosed block")
                .label("this `{` is never closed")
                .help("add the missing `}`"),
        };
        for f in open.iter().rev().skip(1).take(3) {
            d = d.with(f.open, "this one is not closed either");
        }
        d = d.with(eof_span(self.file, self.text), "the file ends here");
        if by_indent.is_none() {
            // Without an indentation clue, the block ends where the file does.
            let end = self.text.len();
            let close = if self.text.ends_with('\n') || end == 0 {
                "}\n"
            } else {
                "\n}\n"
            };
            d = d.fix("close the block", Span::new(self.file, end, end), close);
        }
        self.diags.push(d);
    }

    /// The misclosed block, if its parent is still open at the end of the file: then
    /// the indentation explains the missing `}`.
    fn misclosed_still_open(&self) -> Option<Misclosed> {
        self.misclosed
            .filter(|m| self.stack[1..].iter().any(|f| f.open == m.parent))
    }

    /// Rebuilds the tree the way the indentation reads: the misclosed block ends before
    /// its first directive indented no deeper than the block's own, and those
    /// directives follow it in the parent. Without this, the block would swallow its
    /// siblings and every check after parsing would report the same mistake again
    /// (a location nested in the one before it, say).
    fn repair_misclosed(&mut self) {
        let Some(m) = self.misclosed_still_open() else {
            return;
        };
        let text = self.text;
        let Some(parent) = self.stack.iter_mut().find(|f| f.open == m.parent) else {
            return;
        };
        let Some(at) = parent
            .items
            .iter()
            .position(|d| d.block().is_some_and(|b| b.open == m.block))
        else {
            return;
        };
        let Some(indent) = indent_before(text, parent.items[at].name.span.start) else {
            return;
        };
        let Body::Block(block) = &mut parent.items[at].body else {
            return;
        };
        let Some(cut) = block
            .items
            .iter()
            .position(|d| indent_before(text, d.name.span.start).is_some_and(|i| i <= indent))
        else {
            return;
        };
        let siblings = block.items.split_off(cut);
        block.close = None;
        parent.items.splice(at + 1..at + 1, siblings);
    }

    fn finish(mut self, report: bool) -> Vec<Directive> {
        if report {
            self.flush_pending();
        }
        if self.stack.len() > 1 {
            if report {
                self.report_unclosed();
            }
            self.repair_misclosed();
            while self.stack.len() > 1 {
                let frame = self.stack.pop().expect("frame");
                self.attach(frame, None);
            }
        }
        self.stack.pop().map(|f| f.items).unwrap_or_default()
    }
}

/// Canonical formatting: one directive per line, four-space indent, one space between
/// arguments, ` {` on the directive's line, comments kept, at most one blank line kept
/// between directives. `None` when the text has syntax errors.
pub fn format(text: &str) -> Option<String> {
    let mut diags = Diags::default();
    parse(0, text, &super::schema::is_directive, &mut diags);
    if diags
        .list
        .iter()
        .any(|d| d.code.slug().starts_with("syntax::"))
    {
        return None;
    }
    let pairs = ConfParser::parse(Rule::file, text)
        .ok()?
        .next()?
        .into_inner();
    let mut out = String::new();
    let mut depth = 0usize;
    // Inside a directive: its continuation lines are indented one more level.
    let mut in_directive = false;
    let mut at_line_start = true;
    let mut prev_end = 0usize;
    let indent = |out: &mut String, d: usize| out.push_str(&"    ".repeat(d));
    for pair in pairs {
        let s = pair.as_span();
        let gap = &text[prev_end..s.start()];
        let blank_line = gap.matches('\n').count() >= 2;
        prev_end = s.end();
        match pair.as_rule() {
            Rule::comment => {
                if at_line_start && !gap.contains('\n') && out.ends_with('\n') && !out.is_empty() {
                    // A trailing comment stays on the line it followed.
                    out.pop();
                    out.push_str("  ");
                } else if at_line_start {
                    if blank_line && !out.is_empty() && !out.ends_with("{\n") {
                        out.push('\n');
                    }
                    indent(&mut out, depth + usize::from(in_directive));
                } else {
                    out.push_str("  ");
                }
                out.push_str(s.as_str().trim_end());
                out.push('\n');
                at_line_start = true;
            }
            Rule::word | Rule::dquoted | Rule::squoted => {
                if at_line_start {
                    if blank_line && !in_directive && !out.is_empty() && !out.ends_with("{\n") {
                        out.push('\n');
                    }
                    indent(&mut out, depth + usize::from(in_directive));
                } else {
                    out.push(' ');
                }
                out.push_str(s.as_str());
                in_directive = true;
                at_line_start = false;
            }
            Rule::semi => {
                out.push(';');
                out.push('\n');
                in_directive = false;
                at_line_start = true;
            }
            Rule::open => {
                out.push_str(" {\n");
                depth += 1;
                in_directive = false;
                at_line_start = true;
            }
            Rule::close => {
                depth = depth.saturating_sub(1);
                indent(&mut out, depth);
                out.push_str("}\n");
                at_line_start = true;
            }
            _ => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> (Vec<Directive>, Vec<Code>) {
        let mut diags = Diags::default();
        let known = |n: &str| matches!(n, "root" | "listen" | "server");
        let items = parse(0, text, &known, &mut diags);
        (items, diags.list.iter().map(|d| d.code).collect())
    }

    #[test]
    fn nested_blocks_and_strings() {
        let (items, codes) = parse_str("server { listen 80; root \"/a b\\\"c\"; }\n# c\nx 'y';");
        assert!(codes.is_empty(), "{codes:?}");
        assert_eq!(items.len(), 2);
        let block = items[0].block().unwrap();
        assert_eq!(block.items[1].args[0].text, "/a b\"c");
        assert_eq!(items[1].args[0].text, "y");
    }

    #[test]
    fn missing_semicolon_splits_known_directive() {
        let (items, codes) = parse_str("listen 80\nroot /x;");
        assert_eq!(codes, vec![Code::MissingSemicolon]);
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].name.text, "root");
    }

    #[test]
    fn hash_inside_word_is_not_a_comment() {
        let (items, codes) = parse_str("a b#c;");
        assert!(codes.is_empty());
        assert_eq!(items[0].args[0].text, "b#c");
    }

    #[test]
    fn syntax_errors_each_once() {
        assert_eq!(parse_str("}").1, vec![Code::StrayBrace]);
        assert_eq!(parse_str(";").1, vec![Code::StraySemicolon]);
        assert_eq!(parse_str("server {").1, vec![Code::UnclosedBlock]);
        assert_eq!(parse_str("a \"b;").1, vec![Code::UnterminatedString]);
        assert_eq!(parse_str("{ }").1, vec![Code::AnonymousBlock]);
        assert_eq!(parse_str("a b").1, vec![Code::MissingSemicolon]);
    }

    #[test]
    fn format_is_canonical_and_idempotent() {
        let src = "# top\nserver{listen   80 ;# port\n\n\n  location / {root  \"a b\";}}\n";
        let f = format(src).unwrap();
        assert_eq!(
            f,
            "# top\nserver {\n    listen 80;  # port\n\n    location / {\n        root \"a b\";\n    }\n}\n"
        );
        assert_eq!(format(&f).unwrap(), f);
        assert_eq!(format("server {"), None);
    }

    #[test]
    fn chunked_lexing_matches_one_piece() {
        let mut text = String::new();
        for i in 0..4000 {
            text.push_str(&format!(
                "server {{ listen {i}; root \"/a b;{{}}\"; }} # c;}}\nx 'q';\n"
            ));
        }
        text.push_str("bad \"unterminated");
        let cuts = scan(&text).cuts;
        assert!(
            cuts.len() >= 3,
            "a {}-byte text is cut in chunks",
            text.len()
        );
        let known = |n: &str| matches!(n, "root" | "listen" | "server");
        let (mut d1, mut d2) = (Diags::default(), Diags::default());
        let chunked = build(0, &text, 0..text.len(), &cuts, &known, &mut d1).items;
        let whole = build(0, &text, 0..text.len(), &[], &known, &mut d2).items;
        assert_eq!(chunked.len(), whole.len());
        let spans = |items: &[Directive]| -> Vec<(u32, u32, usize)> {
            items
                .iter()
                .map(|d| (d.name.span.start, d.head_span().end, d.args.len()))
                .collect()
        };
        assert_eq!(spans(&chunked), spans(&whole));
        let codes = |d: &Diags| d.list.iter().map(|x| (x.code, x.span)).collect::<Vec<_>>();
        assert_eq!(codes(&d1), codes(&d2));
        assert_eq!(codes(&d1).len(), 1, "one unterminated string");
    }

    #[test]
    fn deep_nesting_is_one_diagnostic() {
        let text = "{".repeat(100_000);
        let (_, codes) = parse_str(&text);
        assert_eq!(codes, vec![Code::AnonymousBlock, Code::TooDeep]);
    }

    #[test]
    fn parallel_segments_match_one_piece() {
        // Every server is followed by a run of stray `;` and a stray `}`, so most cut
        // points lie just before a `;`: segment boundaries must avoid those, or a run
        // would be reported twice. Then a missing `;` and an unterminated string.
        let pad = "#".repeat(300);
        let mut text = String::new();
        for i in 0..4_000 {
            text.push_str(&format!(
                "server {{ listen {i}; root /a; }} {pad}\n;\n ;;\n}}\n"
            ));
        }
        text.push_str("root /a\nlisten 1;\nx 'unterminated");
        let known = |n: &str| matches!(n, "root" | "listen" | "server");
        let run = |parts| {
            let mut d = Diags::default();
            let items = parse_in(0, &text, &known, &mut d, parts);
            let spans: Vec<(u32, u32, usize)> = items
                .iter()
                .map(|d| (d.name.span.start, d.head_span().end, d.args.len()))
                .collect();
            let codes: Vec<_> = d.list.iter().map(|x| (x.code, x.span)).collect();
            (spans, codes)
        };
        assert_eq!(segments(&text, &scan(&text).cuts, 4).len(), 4);
        let (one, four) = (run(1), run(4));
        assert_eq!(one.0.len(), 4_000 + 2);
        assert_eq!(
            one.1.len(),
            4_000 * 2 + 2,
            "each run once, each `}}`, one `;`, one quote"
        );
        // (Not assert_eq!: a failure would print two vectors of thousands of entries.)
        assert!(one.0 == four.0, "the same directives");
        let first_diff = one.1.iter().zip(&four.1).position(|(a, b)| a != b);
        assert_eq!((four.1.len(), first_diff), (one.1.len(), None));
    }
}
