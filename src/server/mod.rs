//! The event-loop HTTP/1.1 server: `RoutingTable` → bytes on sockets. It never sees config text.
pub mod http;
pub mod router;

use std::path::Path;

use crate::confc::render::HumanStyle;

/// `webserv run`: compile, bind, serve until SIGINT/SIGTERM. Returns the exit code.
pub fn run_cli(_file: Option<&Path>, _workers: Option<usize>, _style: HumanStyle) -> u8 {
    eprintln!("webserv: run is not implemented yet");
    3
}
