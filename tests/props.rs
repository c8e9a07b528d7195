//! Property tests of the config compiler: whatever the bytes, `compile_bytes`, every
//! renderer and `fmt` must not panic; a table exists iff there are no errors; every span
//! lies inside its file on char boundaries; `fmt` is idempotent. Plus regression tests for
//! hostile inputs (huge nesting, long lines, NUL, invalid UTF-8, many diagnostics).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use webserv::confc::diag::{Code, Severity};
use webserv::confc::render::{Format, HumanStyle, render};
use webserv::confc::{CompileOptions, Compiled, compile_bytes, parse, schema};

/// A valid config that uses most of the language (checked by `example_is_valid`).
const EXAMPLE: &str = r#"# An example exercising most directives.
worker_processes 2;
worker_connections 1024;
error_log stderr warn;
root html;
client_max_body_size 10m;

server {
    listen 8080 default_server;
    listen 127.0.0.1:8081;
    server_name example.com *.example.com mail.* ~^w\d+\.example\.org$;
    index index.html index.htm;
    autoindex off;
    error_page 404 /404.html;
    keepalive_timeout 30s;

    location = /404.html {
        root errors;
    }
    location / {
        allow_methods GET POST DELETE;
        upload_store uploads;
        location /img/ {
            autoindex on;
        }
    }
    location ^~ /static/ {
        alias "assets/static/";
        cgi_timeout 500ms;
    }
    location ~* \.(py|sh)$ {
        cgi .py /usr/bin/python3;
        cgi .sh;
    }
    location /old {
        return 301 https://example.com/new;
    }
}

server {
    listen [::1]:8080;
    server_name 'b.example.net';
    access_log stdout;
}
"#;

const FORMATS: [Format; 5] = [
    Format::Human,
    Format::Short,
    Format::Json,
    Format::Sarif,
    Format::Github,
];

fn compile(bytes: Vec<u8>) -> Compiled {
    compile_bytes(PathBuf::from("p.conf"), bytes, &CompileOptions::hermetic())
}

/// Every invariant the compiler promises for any input; returns the compilation.
fn check(bytes: &[u8]) -> Compiled {
    let c = compile(bytes.to_vec());
    let has_errors = c.diags.list.iter().any(|d| d.severity == Severity::Error);
    assert_eq!(
        c.table.is_some(),
        !has_errors,
        "table iff no errors: {:?}",
        c.diags.list
    );
    assert_eq!(c.diags.has_errors(), has_errors);
    for d in &c.diags.list {
        assert_eq!(d.severity, d.code.severity(), "{d:?}");
        let spans = std::iter::once(d.span).chain(d.secondary.iter().map(|l| l.span));
        for s in spans {
            let text = &c.sources.file(s.file).text;
            assert!(s.start <= s.end, "reversed span in {d:?}");
            assert!(
                (s.end as usize) <= text.len(),
                "span past the end of the file ({}) in {d:?}",
                text.len()
            );
            assert!(text.is_char_boundary(s.start as usize), "{d:?}");
            assert!(text.is_char_boundary(s.end as usize), "{d:?}");
        }
    }
    let runs = [(&c.sources, c.diags.list.as_slice())];
    for format in FORMATS {
        for graphics in [false, true] {
            let style = HumanStyle {
                graphics,
                color: graphics,
                width: 80,
            };
            let out = render(format, &runs, style);
            if format == Format::Json || format == Format::Sarif {
                let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
                if format == Format::Json {
                    assert_eq!(
                        v["diagnostics"].as_array().unwrap().len(),
                        c.diags.list.len()
                    );
                }
            }
            if format == Format::Short || format == Format::Github {
                assert_eq!(out.lines().count(), c.diags.list.len(), "{out}");
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        check_format(text);
    }
    c
}

fn check_format(text: &str) {
    if let Some(f) = parse::format(text) {
        assert_eq!(
            parse::format(&f).as_deref(),
            Some(f.as_str()),
            "fmt is not idempotent on {text:?}"
        );
        // Formatting keeps the meaning of a config without errors: the same diagnostics
        // (warnings), by code. (Not for one with errors: fmt joins a directive's lines,
        // which turns lower's "missing `;`" guess into a wrong arity.)
        let before = compile(text.as_bytes().to_vec());
        if !before.diags.has_errors() {
            let mut after = codes(&compile(f.into_bytes()));
            let mut before = codes(&before);
            before.sort_unstable();
            after.sort_unstable();
            assert_eq!(before, after, "fmt changed the diagnostics of {text:?}");
        }
    }
}

fn codes(c: &Compiled) -> Vec<&'static str> {
    c.diags.list.iter().map(|d| d.code.slug()).collect()
}

/// Pieces of config text: punctuation, quotes, escapes, every directive name, values.
fn alphabet() -> Vec<String> {
    let mut v: Vec<String> = [
        "{",
        "}",
        ";",
        "\"",
        "'",
        "#",
        "\\",
        "\n",
        " ",
        " ",
        " ",
        "\t",
        "\r\n",
        "80",
        "8080",
        "[::1]:80",
        "*:80",
        "/x",
        "/",
        "~",
        "~*",
        "=",
        "^~",
        "1m",
        "10k",
        "30s",
        "on",
        "off",
        "GET",
        "POST",
        "default_server",
        ".py",
        "*.a.com",
        "404",
        "301",
        "é",
        "\0",
        "a",
        "\\\"",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(schema::DIRECTIVES.iter().map(|s| s.name.to_string()));
    v
}

fn configish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(alphabet()), 0..80).prop_map(|v| v.concat())
}

/// One edit of a byte string: delete, duplicate, swap two ranges, or insert a byte.
#[derive(Clone, Debug)]
enum Edit {
    Delete(Index, usize),
    Duplicate(Index, usize),
    Swap(Index, Index, usize),
    Insert(Index, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<Index>(), 1usize..80).prop_map(|(i, n)| Edit::Duplicate(i, n)),
        (any::<Index>(), any::<Index>(), 1usize..40).prop_map(|(i, j, n)| Edit::Swap(i, j, n)),
        (
            any::<Index>(),
            prop::sample::select(b"{};\"'#\\\n x".to_vec())
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len();
        if len == 0 {
            break;
        }
        match e {
            Edit::Delete(i, n) => {
                let a = i.index(len);
                bytes.drain(a..(a + n).min(len));
            }
            Edit::Duplicate(i, n) => {
                let a = i.index(len);
                let piece = bytes[a..(a + n).min(len)].to_vec();
                bytes.splice(a..a, piece);
            }
            Edit::Swap(i, j, n) => {
                let (a, b) = (i.index(len), j.index(len));
                let (a, b) = (a.min(b), a.max(b));
                let n = (*n).min(b - a).min(len - b);
                let (x, y) = (bytes[a..a + n].to_vec(), bytes[b..b + n].to_vec());
                bytes[a..a + n].copy_from_slice(&y);
                bytes[b..b + n].copy_from_slice(&x);
            }
            Edit::Insert(i, b) => {
                let a = i.index(len + 1);
                bytes.insert(a, *b);
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&bytes);
    }

    #[test]
    fn arbitrary_configish_text(text in configish()) {
        check(text.as_bytes());
    }

    #[test]
    fn mutated_example(edits in prop::collection::vec(edit(), 1..6)) {
        let bytes = apply(EXAMPLE.as_bytes().to_vec(), &edits);
        check(&bytes);
    }
}

// ---- explicit cases ---------------------------------------------------------------------

#[test]
fn example_is_valid_and_formatted_is_equivalent() {
    let c = check(EXAMPLE.as_bytes());
    assert_eq!(codes(&c), Vec::<&str>::new());
    let t = c.table.expect("valid");
    assert_eq!(t.servers.len(), 2);
    let f = parse::format(EXAMPLE).expect("formats");
    assert_eq!(f, EXAMPLE, "the example is already canonical");
}

#[test]
fn empty_file() {
    let c = check(b"");
    assert_eq!(codes(&c), vec!["resolve::no-server"]);
    assert_eq!(parse::format("").as_deref(), Some(""));
    let c = check(b"\n\n  # only a comment\n");
    assert_eq!(codes(&c), vec!["resolve::no-server"]);
}

#[test]
fn nul_bytes() {
    let c = check(b"\0");
    assert!(c.table.is_none());
    let c = check(b"server { listen 80; server_name a\0b; }\0\0\0");
    assert!(c.table.is_none());
    // One NUL word: an unknown directive that is never ended.
    let c = check(&[0u8; 4096]);
    assert_eq!(
        codes(&c),
        vec!["schema::unknown-directive", "syntax::missing-semicolon"]
    );
}

#[test]
fn invalid_utf8_is_one_diagnostic_at_the_bad_byte() {
    let c = check(b"server {\n    listen 80;\xff\xfe\n}\n");
    assert_eq!(codes(&c), vec!["syntax::invalid-utf8"]);
    let d = &c.diags.list[0];
    assert_eq!(c.sources.file(d.span.file).line_col(d.span.start), (2, 15));
    // Truncated multi-byte sequence at the very end.
    let c = check(b"server { listen 80; } \xe2\x82");
    assert_eq!(codes(&c), vec!["syntax::invalid-utf8"]);
    let c = check(b"\xc3");
    assert_eq!(codes(&c), vec!["syntax::invalid-utf8"]);
}

/// Runs the binary on a file and returns (exit code, stdout, wall time, peak RSS in KiB of
/// all children waited for so far — this test binary starts no other children).
fn run_check(name: &str, bytes: &[u8]) -> (i32, String, Duration, i64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_webserv"))
        .args(["check", "--format", "short", name])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let took = start.elapsed();
    // SAFETY: getrusage only writes the struct we pass.
    let rss = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru);
        ru.ru_maxrss
    };
    let stdout = String::from_utf8(out.stdout).unwrap();
    (out.status.code().unwrap(), stdout, took, rss)
}

#[test]
fn ten_megabytes_of_open_braces_is_fast_and_small() {
    let text = "{".repeat(10 << 20);
    let start = Instant::now();
    let c = compile(text.clone().into_bytes());
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        codes(&c),
        vec!["syntax::anonymous-block", "syntax::nesting-too-deep"]
    );
    let deep = &c.diags.list[1];
    assert_eq!(deep.code, Code::TooDeep);
    assert_eq!((deep.span.start, deep.span.end), (64, 65));
    assert_eq!(parse::format(&text), None);

    let (code, out, took, rss) = run_check("brace.conf", text.as_bytes());
    assert_eq!(code, 1);
    assert_eq!(
        out,
        "brace.conf:1:1: error[syntax::anonymous-block]: block without a directive\n\
         brace.conf:1:65: error[syntax::nesting-too-deep]: blocks nest deeper than 64 levels\n"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(rss < 200 * 1024, "peak RSS {rss} KiB");
}

#[test]
fn deep_nesting_inside_a_directive_and_after_valid_text() {
    let text = format!("server {{ listen 80; {} ", "location / {".repeat(100));
    let c = check(text.as_bytes());
    assert!(
        codes(&c).contains(&"syntax::nesting-too-deep"),
        "{:?}",
        codes(&c)
    );
    // Braces inside strings, escapes and comments do not nest.
    let text = format!(
        "server {{ listen 80; root \"{}\"; index '{}' a{}; # {}\n}}\n",
        "{".repeat(1000),
        "{".repeat(1000),
        "\\{".repeat(1000),
        "{".repeat(1000)
    );
    let c = check(text.as_bytes());
    assert_eq!(codes(&c), Vec::<&str>::new());
}

#[test]
fn a_chain_of_100k_quotes() {
    let c = check("\"".repeat(100_000).as_bytes());
    assert!(c.table.is_none());
    assert!(c.diags.list.len() <= 3, "{:?}", codes(&c));
    let c = check("\"".repeat(100_001).as_bytes());
    assert_eq!(codes(&c), vec!["syntax::unterminated-string"]);
    let c = check("'\"".repeat(50_000).as_bytes());
    assert!(c.table.is_none());
}

#[test]
fn very_long_lines() {
    let name = "a".repeat(1 << 20);
    let text = format!("server {{ listen 80; server_name {name}; }}\n");
    let c = check(text.as_bytes());
    assert_eq!(codes(&c), Vec::<&str>::new());
    let text = format!("server {{ listen 80; {name} 1; }}\n");
    let c = check(text.as_bytes());
    assert_eq!(codes(&c), vec!["schema::unknown-directive"]);
    let d = &c.diags.list[0];
    assert_eq!(c.sources.file(0).line_col(d.span.end), (1, 21 + (1 << 20)));
}

#[test]
fn many_diagnostics_on_one_line_are_not_quadratic() {
    // 100k unknown directives, and 1M stray `;`, on a single line.
    let text = "a;".repeat(100_000);
    let (code, out, took, _) = run_check("many.conf", text.as_bytes());
    assert_eq!(code, 1);
    assert!(
        out.starts_with("many.conf:1:1: error[schema::unknown-directive]"),
        "{}",
        &out[..200]
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
    let (code, out, took, _) = run_check("semis.conf", ";".repeat(1 << 20).as_bytes());
    assert_eq!(code, 1);
    // A run of stray `;` is one mistake, one diagnostic.
    assert_eq!(
        out,
        "semis.conf:1:1: error[syntax::stray-semicolon]: unexpected `;`\n"
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn graphical_labels_past_column_65535_do_not_panic() {
    // miette's graphical handler panics on format widths past u16::MAX; the renderer
    // narrates such diagnostics instead.
    let text = format!("server {{ listen 80; {}lisen 1; }}\n", " ".repeat(70_000));
    let c = check(text.as_bytes());
    assert_eq!(codes(&c), vec!["schema::unknown-directive"]);
    let style = HumanStyle {
        graphics: true,
        color: false,
        width: 100,
    };
    let out = render(
        Format::Human,
        &[(&c.sources, c.diags.list.as_slice())],
        style,
    );
    assert!(
        out.contains("label at line 1, columns 70021 to 70025"),
        "{}",
        &out[..out.len().min(300)]
    );
}

#[test]
fn short_format_keeps_one_line_per_diagnostic() {
    let c = check(b"server { listen 80; server_name \"a\nb*\"; }\n");
    assert_eq!(codes(&c), vec!["value::server-name"]);
    let out = render(
        Format::Short,
        &[(&c.sources, c.diags.list.as_slice())],
        HumanStyle {
            graphics: false,
            color: false,
            width: 100,
        },
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with("p.conf:1:33: error[value::server-name]: `a\\nb*`"),
        "{out}"
    );
}

#[test]
fn columns_on_a_long_non_ascii_line_are_cheap() {
    // Before the character marks, each column counted from the line start: 200k
    // diagnostics on a 2 MB line took minutes.
    let mut sources = webserv::confc::source::SourceMap::new();
    let text = format!("é{}", "a".repeat(2 << 20));
    let id = sources.add(PathBuf::from("x"), text.clone(), None);
    let f = sources.file(id);
    let start = Instant::now();
    for i in 0..200_000u32 {
        let off = 2 + i * 10;
        assert_eq!(f.line_col(off), (1, off));
    }
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(f.line_col(0), (1, 1));
    assert_eq!(f.line_col(text.len() as u32), (1, text.len() as u32));
}
