//! webserv: a config compiler (`confc`) and an event-loop HTTP/1.1 server (`server`).
//!
//! `unsafe` appears only where a kernel interface has no safe wrapper in std, mio or
//! socket2 (openat2, pidfd_open, kill of a process group, TCP_DEFER_ACCEPT, fcntl on
//! inherited descriptors, access) and in the request head's UTF-8 fast path; every
//! block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]
pub mod confc;
pub mod escape;
pub mod lsp;
pub mod report;
pub mod server;
