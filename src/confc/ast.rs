//! The syntax tree: directives with arguments and optional blocks. No directive knowledge.

use super::source::Span;

/// A word or a quoted string, with escapes resolved.
#[derive(Clone, Debug)]
pub struct Token {
    pub text: String,
    pub span: Span,
    pub quoted: bool,
}

/// How a directive ends.
#[derive(Clone, Debug)]
pub enum Body {
    /// `;` (its span).
    Semi(Span),
    /// `{ ... }`.
    Block(Block),
    /// Nothing: a syntax diagnostic was already given.
    Missing,
}

/// `{ directive* }`.
#[derive(Clone, Debug)]
pub struct Block {
    pub open: Span,
    pub close: Option<Span>,
    pub items: Vec<Directive>,
}

/// `name arg* ;` or `name arg* { ... }`.
#[derive(Clone, Debug)]
pub struct Directive {
    pub name: Token,
    pub args: Vec<Token>,
    pub body: Body,
}

impl Directive {
    /// From the name to the last argument (the "head", without the block).
    pub fn head_span(&self) -> Span {
        match self.args.last() {
            Some(a) => self.name.span.to(a.span),
            None => self.name.span,
        }
    }

    /// The span of the arguments, or of the name when there are none.
    pub fn args_span(&self) -> Span {
        match (self.args.first(), self.args.last()) {
            (Some(a), Some(b)) => a.span.to(b.span),
            _ => self.name.span,
        }
    }

    pub fn block(&self) -> Option<&Block> {
        match &self.body {
            Body::Block(b) => Some(b),
            _ => None,
        }
    }
}
