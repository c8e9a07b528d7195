//! `webserv lsp` end to end: the real binary, spoken to over stdin/stdout by a small
//! JSON-RPC client (`client.rs`), one module per capability.

mod client;
mod completion;
mod diagnostics;
mod editing;
mod fixture;
mod hover;
mod includes;
mod lifecycle;
mod navigation;
mod props;
