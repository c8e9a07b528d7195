//! `webserv run`: compile a config file (or the quick-serve config of a directory),
//! bind, serve until SIGINT/SIGTERM, recompile on SIGHUP.
//!
//! Stopping: the first SIGINT/SIGTERM stops accepting and lets the connections in
//! flight finish (up to `worker::GRACE`); a second one exits at once (130 for SIGINT,
//! 143 for SIGTERM) after killing the CGI process groups and deleting the uploads'
//! temporary files, which the workers would otherwise have cleaned up.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::{Options, ServerHandle, cgi, log, start, upload, worker};
use crate::confc::render::{Format, HumanStyle, render};
use crate::confc::table::RoutingTable;
use crate::confc::{CompileOptions, Compiled, compile_bytes, compile_file};

/// What `webserv run` serves.
#[derive(Clone, Debug)]
pub enum Serve {
    /// A config file (reloaded on SIGHUP).
    Config(PathBuf),
    /// A directory with listings on one address, its requests logged to stdout, like
    /// `python3 -m http.server`.
    Dir { dir: PathBuf, addr: SocketAddr },
}

/// The address quick-serve listens on unless told otherwise.
pub const QUICK_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

/// The config quick-serve compiles. The directory is not written into it: the config
/// is compiled as a file inside the directory, so `root .` is the directory, whatever
/// its name holds (spaces, quotes, `;`, braces, bytes that are not UTF-8).
pub fn quick_config(addr: SocketAddr) -> String {
    format!(
        "server {{\n    listen {addr};\n    root .;\n    autoindex on;\n    access_log stdout;\n}}\n"
    )
}

/// The name the quick-serve config has in diagnostics, as a file inside the directory.
const QUICK_NAME: &str = "(webserv run)";

fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

fn load(what: &Serve) -> Result<Compiled, u8> {
    match what {
        Serve::Config(f) => compile_file(f, &CompileOptions::default()).map_err(|e| {
            eprintln!("webserv: cannot read {}: {e}", f.display());
            2
        }),
        Serve::Dir { dir, addr } => Ok(compile_bytes(
            dir.join(QUICK_NAME),
            quick_config(*addr).into_bytes(),
            &CompileOptions::default(),
        )),
    }
}

/// `webserv run`: compile, bind, serve until SIGINT/SIGTERM; SIGHUP recompiles a config
/// file. Returns the exit code (see `main.rs`); a second stop signal exits from here.
pub fn run_cli(what: &Serve, workers: Option<usize>, style: HumanStyle) -> u8 {
    let compiled = match load(what) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if !compiled.diags.list.is_empty() {
        eprint!(
            "{}",
            render(
                Format::Human,
                &[(&compiled.sources, &compiled.diags.list)],
                style
            )
        );
    }
    let Some(table) = compiled.table else {
        let name = match what {
            Serve::Config(f) => f.display().to_string(),
            Serve::Dir { .. } => QUICK_NAME.to_string(),
        };
        eprintln!(
            "webserv: not started: {} in {name}",
            plural(compiled.diags.errors(), "error")
        );
        return 1;
    };
    super::close_inherited_fds_on_exec();
    let mut signals =
        match signal_hook::iterator::Signals::new([libc::SIGINT, libc::SIGTERM, libc::SIGHUP]) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("webserv: cannot install signal handlers: {e}");
                return 3;
            }
        };
    let urls: Vec<String> = table
        .binds
        .iter()
        .map(|b| format!("http://{}/", b.addr))
        .collect();
    let handle = match start(
        table,
        Options {
            workers: workers.unwrap_or(0),
            ephemeral_ports: false,
        },
    ) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("webserv: {e}");
            return 1;
        }
    };
    let served = match what {
        Serve::Config(f) => f.display().to_string(),
        Serve::Dir { dir, .. } => dir.display().to_string(),
    };
    eprintln!("webserv: serving {served} on {}", urls.join(" "));
    for sig in signals.forever() {
        if sig != libc::SIGHUP {
            break;
        }
        if let Serve::Config(f) = what {
            reload(&handle, f, style);
        }
    }
    drain(handle, signals)
}

/// The first stop signal arrived: stop accepting, say what is left, and wait for it to
/// finish, unless a second stop signal says not to.
fn drain(handle: ServerHandle, mut signals: signal_hook::iterator::Signals) -> u8 {
    match handle.stop_accepting() {
        0 => eprintln!("webserv: stopping"),
        n => eprintln!(
            "webserv: draining {} (up to {} s); press Ctrl-C again to stop now",
            plural(n, "connection"),
            worker::GRACE.as_secs()
        ),
    }
    let closer = signals.handle();
    let joiner = std::thread::spawn(move || {
        handle.join();
        closer.close();
    });
    for sig in signals.forever() {
        if sig == libc::SIGINT || sig == libc::SIGTERM {
            leave_nothing_behind();
            eprintln!("webserv: stopped at once");
            std::process::exit(128 + sig);
        }
    }
    let _ = joiner.join();
    // Whatever the grace period cut short.
    leave_nothing_behind();
    0
}

/// Kills the CGI process groups and deletes the temporary files of unfinished uploads.
fn leave_nothing_behind() {
    cgi::kill_all();
    upload::remove_temporaries();
}

fn reload(handle: &ServerHandle, f: &Path, style: HumanStyle) {
    let c = match compile_file(f, &CompileOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            log::error_log(4, &format!("reload: cannot read {}: {e}", f.display()));
            return;
        }
    };
    match c.table {
        Some(t) => {
            let what = reloaded(f, &t);
            handle.reload(t);
            log::lifecycle(&what);
        }
        None => {
            let text = render(Format::Short, &[(&c.sources, &c.diags.list)], style);
            log::error_log(
                4,
                &format!(
                    "reload of {} failed; still serving the old config:\n{}",
                    f.display(),
                    text.trim_end()
                ),
            );
        }
    }
}

fn reloaded(f: &Path, t: &RoutingTable) -> String {
    let addresses = match t.binds.len() {
        1 => "1 address".to_string(),
        n => format!("{n} addresses"),
    };
    format!(
        "reloaded {}: {} on {addresses}",
        f.display(),
        plural(t.servers.len(), "server")
    )
}
