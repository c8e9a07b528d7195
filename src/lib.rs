//! webserv: a config compiler (`confc`) and an event-loop HTTP/1.1 server (`server`).
pub mod confc;
pub mod escape;
pub mod lsp;
pub mod report;
pub mod server;
