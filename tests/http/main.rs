//! Integration tests of the HTTP server: a site per test in a temporary directory,
//! served in-process on ephemeral ports (or by the real binary in `lifecycle`), driven by
//! raw TCP clients that write exact bytes. A case that is only "these bytes get this
//! status, and the connection stays or closes" is a row in `statuses.rs`.

mod access_log;
#[path = "../support/certs.rs"]
mod certs;
mod cgi;
mod common;
mod filecache;
mod framing;
mod hostile_names;
mod idioms;
mod lifecycle;
mod limits;
mod methods;
mod slow;
mod static_files;
mod statuses;
mod tls;
mod uploads;
mod vhosts;
