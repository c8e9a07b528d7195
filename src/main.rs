//! The `webserv` command line: subcommands → library calls → exit codes.
//!
//! Exit codes: 0 valid / served and stopped cleanly; 1 errors in the config (or warnings
//! with `--deny-warnings`), or a server that could not start; 2 usage or unreadable file;
//! 3 internal error.
#![deny(clippy::undocumented_unsafe_blocks)]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use webserv::confc::render::{Format, HumanStyle, render};
use webserv::confc::schema::MAX_WORKERS;
use webserv::confc::{CompileOptions, Compiled, compile_file};
use webserv::server::Serve;
use webserv::server::run::QUICK_ADDR;

#[derive(Parser)]
#[command(
    name = "webserv",
    version,
    about = "A config compiler and event-loop HTTP/1.1 server",
    after_help = "Exit codes: 0 ok, 1 errors in the config (or a server that could not start), \
                  2 usage error or unreadable file, 3 internal error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum When {
    Auto,
    Always,
    Never,
}

/// How diagnostics look on stderr.
#[derive(clap::Args)]
struct HumanArgs {
    /// Colour in diagnostics (auto: when stderr is a terminal and NO_COLOR is unset).
    #[arg(long, value_name = "WHEN", value_enum, default_value = "auto")]
    color: When,
    /// Boxes and arrows in diagnostics, or else narrated plain text (auto: when stderr
    /// is a terminal and NO_GRAPHICS is unset).
    #[arg(long, value_name = "WHEN", value_enum, default_value = "auto")]
    graphics: When,
    /// Width of diagnostics with graphics, in columns (20 or more).
    #[arg(long, value_name = "COLUMNS", default_value_t = 100, value_parser = clap::value_parser!(u16).range(20..))]
    width: u16,
}

impl HumanArgs {
    fn style(&self) -> HumanStyle {
        let tty = std::io::stderr().is_terminal();
        let env = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        let pick = |w: When, env_off: bool| match w {
            When::Always => true,
            When::Never => false,
            When::Auto => tty && !env_off,
        };
        HumanStyle {
            graphics: pick(self.graphics, env("NO_GRAPHICS")),
            color: pick(self.color, env("NO_COLOR")),
            width: usize::from(self.width),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RoutesFormat {
    /// For people.
    Text,
    /// For programs.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check config files: diagnostics and an exit code (0 valid, 1 errors, 2 unreadable).
    Check {
        /// The config files to check (each with the files it includes).
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Exit 1 on warnings too.
        #[arg(long)]
        deny_warnings: bool,
        /// Skip the lints that look at the file system (missing directories, CGI
        /// interpreters, upload stores).
        #[arg(long)]
        no_fs_lints: bool,
        #[command(flatten)]
        human: HumanArgs,
    },
    /// Print the resolved routing table: listeners, servers, locations, effective settings.
    Routes {
        /// The config file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: RoutesFormat,
        #[command(flatten)]
        human: HumanArgs,
    },
    /// Explain which listener, server and location answer a URL, why, and what the
    /// answer is (its status first).
    Explain {
        /// The config file.
        file: PathBuf,
        /// The request: `http://host[:port]/path?query`, or `/path` for the first address.
        url: String,
        /// The request method.
        #[arg(long, default_value = "GET")]
        method: String,
        /// The local address the connection arrived on, e.g. `127.0.0.1:8080`.
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<std::net::SocketAddr>,
        /// The request body's length (without it, a POST or PUT carries a body of
        /// unknown length).
        #[arg(long, value_name = "N")]
        content_length: Option<u64>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: RoutesFormat,
        #[command(flatten)]
        human: HumanArgs,
    },
    /// Print the file in canonical formatting (refuses unparsable input).
    Fmt {
        /// The config file.
        file: PathBuf,
        /// Print nothing; exit 1 if the file is not formatted.
        #[arg(long, conflicts_with = "write")]
        check: bool,
        /// Rewrite the file in place.
        #[arg(long, short)]
        write: bool,
        #[command(flatten)]
        human: HumanArgs,
    },
    /// Language server over stdio (JSON-RPC, LSP 3.17), for editors.
    Lsp {
        /// Accepted for clients that pass it: stdio is the only transport.
        #[arg(long)]
        stdio: bool,
    },
    /// Serve a directory (with listings) or a config file, until Ctrl-C.
    ///
    /// A directory, or none (the current one), is served on 127.0.0.1:8080 with
    /// directory listings, and each request is logged to stdout in combined format. A
    /// file is a config. Ctrl-C (or SIGTERM) lets the requests in flight finish, up to
    /// 10 s; a second Ctrl-C stops at once. SIGHUP reloads a config file.
    Run {
        /// A directory to serve (default: the current directory), or a config file.
        #[arg(value_name = "DIR|FILE")]
        path: Option<PathBuf>,
        /// The port to serve a directory on [default: 8080].
        #[arg(short, long, value_parser = clap::value_parser!(u16).range(1..))]
        port: Option<u16>,
        /// The address to serve a directory on, e.g. 0.0.0.0 for every interface
        /// [default: 127.0.0.1].
        #[arg(long, value_name = "ADDR")]
        bind: Option<std::net::IpAddr>,
        /// Worker threads, 1 to 1024 (default: `worker_processes` from the config, else
        /// one per core).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_WORKERS))]
        workers: Option<u64>,
        #[command(flatten)]
        human: HumanArgs,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // A bug must not look like a config error: panics exit 3.
    match std::panic::catch_unwind(move || run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(_) => {
            eprintln!(
                "webserv: internal error (this is a bug; please report it with the input that caused it)"
            );
            ExitCode::from(3)
        }
    }
}

/// Compiles `path`, or says why it cannot be read (exit 2).
fn compile(path: &std::path::Path, opts: &CompileOptions) -> Result<Compiled, u8> {
    compile_file(path, opts).map_err(|e| {
        eprintln!("webserv: cannot read {}: {e}", path.display());
        2
    })
}

/// Prints diagnostics of a config that did not compile; returns the exit code.
fn report_failure(c: &Compiled, style: HumanStyle) -> u8 {
    eprint!(
        "{}",
        render(Format::Human, &[(&c.sources, &c.diags.list)], style)
    );
    1
}

/// What `run PATH` means: a directory (or none) is quick-served, a file is a config.
/// `--port` and `--bind` only make sense for a directory.
fn serve_what(
    path: Option<PathBuf>,
    port: Option<u16>,
    bind: Option<std::net::IpAddr>,
) -> Result<Serve, u8> {
    let path = path.unwrap_or_else(|| PathBuf::from("."));
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) => {
            eprintln!(
                "webserv: cannot serve {}: {}",
                path.display(),
                io_reason(&e)
            );
            return Err(2);
        }
    };
    if !meta.is_dir() {
        if port.is_some() || bind.is_some() {
            let flag = if port.is_some() { "--port" } else { "--bind" };
            let e = Cli::command().error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "{flag} applies to serving a directory; {} is a config file, which says \
                     where to listen itself (`listen` in a `server` block)",
                    path.display()
                ),
            );
            let _ = e.print();
            return Err(2);
        }
        return Ok(Serve::Config(path));
    }
    let dir = std::fs::canonicalize(&path).map_err(|e| {
        eprintln!(
            "webserv: cannot serve {}: {}",
            path.display(),
            io_reason(&e)
        );
        2
    })?;
    let mut addr = QUICK_ADDR;
    if let Some(p) = port {
        addr.set_port(p);
    }
    if let Some(ip) = bind {
        addr.set_ip(ip);
    }
    Ok(Serve::Dir { dir, addr })
}

/// An I/O error as a phrase, without Rust's `(os error N)`.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Check {
            files,
            format,
            deny_warnings,
            no_fs_lints,
            human,
        } => check(&files, format, deny_warnings, no_fs_lints, &human),
        Command::Routes {
            file,
            format,
            human,
        } => routes(&file, format, &human),
        Command::Explain {
            file,
            url,
            method,
            listen,
            content_length,
            format,
            human,
        } => {
            let ask = webserv::report::Ask {
                url: &url,
                method: &method,
                listen,
                body: content_length.map_or(webserv::report::AskBody::Usual, |n| {
                    webserv::report::AskBody::Length(n)
                }),
            };
            explain(&file, &ask, format, &human)
        }
        Command::Fmt {
            file,
            check,
            write,
            human,
        } => fmt(&file, check, write, &human),
        Command::Lsp { stdio: _ } => webserv::lsp::run(),
        Command::Run {
            path,
            port,
            bind,
            workers,
            human,
        } => match serve_what(path, port, bind) {
            Ok(what) => webserv::server::run_cli(&what, workers.map(|n| n as usize), human.style()),
            Err(code) => code,
        },
    }
}

/// `webserv check`: compiles each file, prints the diagnostics and a summary per file.
fn check(
    files: &[PathBuf],
    format: Format,
    deny_warnings: bool,
    no_fs_lints: bool,
    human: &HumanArgs,
) -> u8 {
    let opts = CompileOptions {
        fs_lints: !no_fs_lints,
        ..CompileOptions::default()
    };
    let mut results = Vec::new();
    let mut code = 0;
    for f in files {
        match compile(f, &opts) {
            Ok(c) => results.push((f, c)),
            Err(c) => code = code.max(c),
        }
    }
    let runs: Vec<_> = results
        .iter()
        .map(|(_, c)| (&c.sources, c.diags.list.as_slice()))
        .collect();
    let style = human.style();
    let text = render(format, &runs, style);
    if format == Format::Human {
        eprint!("{text}");
        for (f, c) in &results {
            eprintln!("{}: {}", f.display(), check_summary(c));
        }
    } else {
        let _ = std::io::stdout().write_all(text.as_bytes());
    }
    for (f, c) in &results {
        if c.diags.has_errors() || (deny_warnings && c.diags.warnings() > 0) {
            code = code.max(1);
        }
        let (e, w) = c.diags.omitted;
        if e + w > 0 {
            eprintln!(
                "{}: {} more diagnostics not shown (only the first {} are kept)",
                f.display(),
                e + w,
                webserv::confc::diag::MAX_DIAGS
            );
        }
    }
    // The process is about to exit: freeing the tables item by item only costs
    // time (tens of ms on a 10,000-server config).
    std::mem::forget(results);
    code
}

/// The human summary line of one checked file, after its name: `ok (N servers, M
/// locations)` when it compiled without warnings, else its counts of errors and warnings.
fn check_summary(c: &Compiled) -> String {
    let (e, w) = (c.diags.errors(), c.diags.warnings());
    let plural = |n: usize, s: &str| format!("{n} {s}{}", if n == 1 { "" } else { "s" });
    match &c.table {
        Some(t) if w == 0 => format!(
            "ok ({}, {})",
            plural(t.servers.len(), "server"),
            plural(t.locations.len(), "location")
        ),
        _ => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    }
}

/// `webserv routes`: the resolved routing table.
fn routes(file: &std::path::Path, format: RoutesFormat, human: &HumanArgs) -> u8 {
    let c = match compile(file, &CompileOptions::hermetic()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(table) = &c.table else {
        return report_failure(&c, human.style());
    };
    let text = match format {
        RoutesFormat::Text => webserv::report::routes_text(table),
        RoutesFormat::Json => webserv::report::routes_json(table),
    };
    print!("{text}");
    0
}

/// `webserv explain`: which location answers a request, and why.
fn explain(
    file: &std::path::Path,
    ask: &webserv::report::Ask<'_>,
    format: RoutesFormat,
    human: &HumanArgs,
) -> u8 {
    let c = match compile(file, &CompileOptions::hermetic()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(table) = &c.table else {
        return report_failure(&c, human.style());
    };
    let explained = match format {
        RoutesFormat::Text => webserv::report::explain(table, ask),
        RoutesFormat::Json => webserv::report::explain_json(table, ask),
    };
    match explained {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!("webserv: {e}");
            2
        }
    }
}

/// `webserv fmt`: the file in canonical formatting, unless it has syntax errors.
fn fmt(file: &std::path::Path, check: bool, write: bool, human: &HumanArgs) -> u8 {
    let bytes = match webserv::confc::load::read_file(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("webserv: cannot read {}: {e}", file.display());
            return 2;
        }
    };
    let Ok(text) = String::from_utf8(bytes.clone()) else {
        let c =
            webserv::confc::compile_bytes(file.to_path_buf(), bytes, &CompileOptions::hermetic());
        return report_failure(&c, human.style());
    };
    // Syntax errors found after parsing count too (a missing `;` before a word
    // that is not a directive): formatting would join the two lines.
    let compiled =
        webserv::confc::compile_bytes(file.to_path_buf(), bytes, &CompileOptions::hermetic());
    let syntax_error = compiled
        .diags
        .list
        .iter()
        .any(|d| d.code.slug().starts_with("syntax::"));
    let formatted = if syntax_error {
        None
    } else {
        webserv::confc::parse::format(&text)
    };
    match formatted {
        Some(formatted) => fmt_output(file, &text, &formatted, check, write),
        None => {
            eprintln!("webserv: refusing to format a file with syntax errors");
            report_failure(&compiled, human.style())
        }
    }
}

/// Where `fmt` puts the formatted text: nowhere (`--check`), the file (`--write`) or stdout.
fn fmt_output(file: &std::path::Path, text: &str, formatted: &str, check: bool, write: bool) -> u8 {
    if check {
        if formatted == text {
            0
        } else {
            eprintln!(
                "{}: not formatted (run `webserv fmt --write {}`)",
                file.display(),
                file.display()
            );
            1
        }
    } else if write {
        if formatted != text
            && let Err(e) = std::fs::write(file, formatted)
        {
            eprintln!("webserv: cannot write {}: {e}", file.display());
            return 2;
        }
        0
    } else {
        print!("{formatted}");
        0
    }
}
