//! Questions about one file's directive tree: which blocks enclose an offset, which
//! directive and argument stand there, what statement the cursor is typing. The tree is
//! the compiler's own parse (a buffer full of mistakes still has one).

use crate::confc::ast::{Body, Directive, Token};
use crate::confc::diag::Diags;
use crate::confc::parse;
use crate::confc::schema::{self, Apply, Ctx};
use crate::confc::source::Span;

/// Parses text (file id 0), discarding diagnostics.
pub fn parse_text(text: &str) -> Vec<Directive> {
    let mut d = Diags::default();
    parse::parse(0, text, &schema::is_directive, &mut d)
}

/// The context a block directive opens, if it opens one.
pub fn opens(d: &Directive) -> Option<Ctx> {
    match schema::lookup(&d.name.text)?.apply {
        Apply::Server => Some(Ctx::Server),
        Apply::Location => Some(Ctx::Location),
        _ => None,
    }
}

/// Whether `offset` lies inside the block of `d` (after its `{`, up to its `}`; to the
/// end of the text when it is never closed).
pub fn inside(d: &Directive, offset: usize) -> bool {
    match &d.body {
        Body::Block(b) => {
            offset >= b.open.end as usize && b.close.is_none_or(|c| offset <= c.start as usize)
        }
        _ => false,
    }
}

/// The blocks around an offset and the context there.
pub struct Enclosing<'a> {
    /// Outermost first.
    pub blocks: Vec<&'a Directive>,
    pub ctx: Ctx,
}

/// The blocks enclosing `offset`; `base` is the context of the file's top level.
pub fn enclosing(items: &[Directive], offset: usize, base: Ctx) -> Enclosing<'_> {
    let mut blocks = Vec::new();
    let mut ctx = base;
    let mut level = items;
    while let Some(d) = level.iter().find(|d| inside(d, offset)) {
        blocks.push(d);
        ctx = opens(d).unwrap_or(ctx);
        level = &d.block().expect("inside a block").items;
    }
    Enclosing { blocks, ctx }
}

/// The directive whose name or arguments hold `offset` (at a token's end counts), at
/// any depth, and the index of that token (0 = the name, k = argument k-1).
pub fn token_at(items: &[Directive], offset: usize) -> Option<(&Directive, usize)> {
    let touches = |t: &Token| t.span.start as usize <= offset && offset <= t.span.end as usize;
    for d in items {
        if touches(&d.name) {
            return Some((d, 0));
        }
        if let Some(i) = d.args.iter().position(touches) {
            return Some((d, i + 1));
        }
        if inside(d, offset) {
            return token_at(&d.block().expect("a block").items, offset);
        }
    }
    None
}

/// The end of a directive: its `;`, its `}`, or its last token.
pub fn end(d: &Directive) -> usize {
    match &d.body {
        Body::Semi(s) => s.end as usize,
        Body::Block(b) => match b.close {
            Some(c) => c.end as usize,
            None => b
                .items
                .last()
                .map_or(b.open.end as usize, end)
                .max(b.open.end as usize),
        },
        Body::Missing => d.head_span().end as usize,
    }
}

/// What the cursor is typing.
pub struct Statement {
    /// The words of the statement before the cursor's word.
    pub before: Vec<Token>,
    /// The word under the cursor (an empty span at the cursor when there is none).
    pub word: Span,
    pub word_text: String,
    /// The cursor's word is a quoted string.
    pub quoted: bool,
}

/// Tokens of the whole tree: words, and the terminators (`;`, `{`, `}`) as `None`.
fn flat<'a>(items: &'a [Directive], out: &mut Vec<(Span, Option<&'a Token>)>) {
    for d in items {
        out.push((d.name.span, Some(&d.name)));
        out.extend(d.args.iter().map(|a| (a.span, Some(a))));
        match &d.body {
            Body::Semi(s) => out.push((*s, None)),
            Body::Block(b) => {
                out.push((b.open, None));
                flat(&b.items, out);
                if let Some(c) = b.close {
                    out.push((c, None));
                }
            }
            Body::Missing => {}
        }
    }
}

/// The statement at `offset`, or `None` inside a comment.
pub fn statement(text: &str, items: &[Directive], offset: usize) -> Option<Statement> {
    // Only the innermost block around the cursor matters: a statement never crosses its
    // braces (and a 1,000-server file is not flattened for one completion).
    let scope = match enclosing(items, offset, Ctx::Main).blocks.last() {
        Some(b) => &b.block().expect("an enclosing block").items[..],
        None => items,
    };
    let mut toks = Vec::new();
    flat(scope, &mut toks);
    toks.sort_by_key(|(s, _)| s.start);
    let word = toks
        .iter()
        .find(|(s, t)| t.is_some() && s.start as usize <= offset && offset <= s.end as usize);
    let (word_span, word_tok) = match word {
        Some((s, t)) => (*s, *t),
        None => (Span::new(0, offset, offset), None),
    };
    // A `#` between the last token before the cursor and the cursor, on its line, starts
    // a comment.
    let line_start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let last_end = toks
        .iter()
        .filter(|(s, _)| (s.end as usize) <= word_span.start as usize)
        .map(|(s, _)| s.end as usize)
        .max()
        .unwrap_or(0)
        .max(line_start);
    if word_tok.is_none() && text.get(last_end..offset).is_some_and(|g| g.contains('#')) {
        return None;
    }
    let mut before = Vec::new();
    for (s, t) in &toks {
        if (s.start >= word_span.start && word_tok.is_some()) || s.start as usize >= offset {
            break;
        }
        match t {
            Some(t) => before.push((*t).clone()),
            None => before.clear(),
        }
    }
    let (word_text, quoted) = match word_tok {
        Some(t) => {
            let end = offset.min(t.span.end as usize);
            let raw = text.get(t.span.start as usize..end).unwrap_or("");
            (raw.to_string(), t.quoted)
        }
        None => (String::new(), false),
    };
    Some(Statement {
        before,
        word: word_span,
        word_text,
        quoted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enclosing_and_statement() {
        let text = "server {\n  location /a {\n    autoindex o\n  }\n  # c\n}\n";
        let items = parse_text(text);
        let at = text.find(" o\n").unwrap() + 2;
        let e = enclosing(&items, at, Ctx::Main);
        assert_eq!(e.ctx, Ctx::Location);
        assert_eq!(e.blocks.len(), 2);
        let st = statement(text, &items, at).unwrap();
        assert_eq!(
            st.before
                .iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>(),
            ["autoindex"]
        );
        assert_eq!(st.word_text, "o");
        let in_comment = text.find("# c").unwrap() + 3;
        assert!(statement(text, &items, in_comment).is_none());
        let fresh = text.find("  # c").unwrap();
        let st = statement(text, &items, fresh).unwrap();
        assert!(st.before.is_empty() && st.word_text.is_empty());
        assert_eq!(enclosing(&items, fresh, Ctx::Main).ctx, Ctx::Server);
    }
}
