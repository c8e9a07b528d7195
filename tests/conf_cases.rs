//! Data-driven snapshot tests of the config compiler.
//!
//! Every `tests/conf_cases/**/<case>.conf` (except under directories whose name starts with
//! `_`, which hold included fragments and fixtures) is compiled with the default options:
//!
//! - with diagnostics, `<case>.stderr` holds them rendered in human format (graphics, no
//!   colour, width 100);
//! - without, `<case>.routes` holds `webserv routes` text;
//! - `<case>.explain`, when present: one `URL[@addr:port] => expected` line per request,
//!   hand-written, where `expected` is a location as displayed (`~* \.jpg$`), `none`, or
//!   `server #N`, compared with the `location` / `server` line of `webserv explain`;
//!   each followed by the `answer` line `explain` prints for it (a snapshot).
//!
//! Cases under `tls/` name certificates in `tls/_certs/`, made by [`tls_fixtures`] before
//! the cases run (nothing there is committed), with validity periods around [`NOW`], the
//! time the cases are compiled at: expiry diagnostics do not change with the date.
//!
//! `BLESS=1 cargo test --test conf_cases` rewrites `.stderr` / `.routes` and the `answer`
//! lines of `.explain` files (never their hand-written expectations).
//! The test also fails when a diagnostic code has no case producing it, or a directive
//! appears in no valid case.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use webserv::confc::diag::{Code, Diags};
use webserv::confc::render::{Format, HumanStyle, render};
use webserv::confc::schema::{DIRECTIVES, is_directive};
use webserv::confc::{CompileOptions, Compiled, ast, compile_file, parse};
use webserv::report;

#[path = "support/certs.rs"]
mod certs;

const ROOT: &str = "tests/conf_cases";
const MIN_CASES: usize = 100;

/// The time every case is compiled at: 2030-06-01 00:00 UTC.
const NOW: i64 = 1_906_502_400;

/// Writes the certificates and keys the `tls/` cases name into `tls/_certs/`.
fn tls_fixtures() {
    use certs::{ALWAYS, Ca, pkcs1_pem, rsa_key, sec1_pem};
    use rustls::pki_types::pem::PemObject;
    let dir = Path::new(ROOT).join("tls/_certs");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("a-directory.pem")).expect("fixture directory");
    let write = |name: &str, text: &[u8]| fs::write(dir.join(name), text).expect("fixture");
    let year = ((2030, 1, 1), (2031, 1, 1));
    let root = Ca::new("webserv test root");
    let inter = root.intermediate("webserv test intermediate", ALWAYS);
    let pair = |name: &str, leaf: &certs::Leaf, chain: &[&str]| {
        write(&format!("{name}.pem"), chain.concat().as_bytes());
        write(&format!("{name}.key"), leaf.key.as_bytes());
    };
    let site = inter.leaf(&["a.test", "www.a.test", "*.b.test"], year);
    pair("site", &site, &[&site.cert, &inter.pem()]);
    let other = inter.leaf(&["other.test"], year);
    pair("other", &other, &[&other.cert, &inter.pem()]);
    let rsa = inter.leaf_with(rsa_key(), &["rsa.test"], year);
    pair("rsa", &rsa, &[&rsa.cert, &inter.pem()]);
    write("rsa-pkcs1.key", pkcs1_pem(&rsa.key_pair).as_bytes());
    let ec = inter.leaf(&["ec.test"], year);
    pair("ec", &ec, &[&ec.cert, &inter.pem()]);
    write("ec-sec1.key", sec1_pem(&ec.key_pair).as_bytes());
    let expired = inter.leaf(&["old.test"], ((2029, 1, 1), (2030, 1, 1)));
    pair("expired", &expired, &[&expired.cert, &inter.pem()]);
    let future = inter.leaf(&["new.test"], ((2030, 7, 1), (2031, 7, 1)));
    pair("future", &future, &[&future.cert, &inter.pem()]);
    let soon = inter.leaf(&["soon.test"], ((2030, 1, 1), (2030, 6, 10)));
    pair("soon", &soon, &[&soon.cert, &inter.pem()]);
    let last = inter.leaf(&["last.test"], year);
    pair("leaf-last", &last, &[&inter.pem(), &last.cert]);
    let skip = inter.leaf(&["skip.test"], year);
    pair(
        "misordered",
        &skip,
        &[&skip.cert, &root.pem(), &inter.pem()],
    );
    write("not-pem.pem", b"this is a certificate, honestly\n");
    let der = rustls::pki_types::CertificateDer::from_pem_slice(site.cert.as_bytes());
    write("binary.der", &der.expect("the site certificate is PEM"));
    write(
        "encrypted.key",
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    write(
        "truncated.pem",
        &site.cert.as_bytes()[..site.cert.len() - 30],
    );
}

fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        if p.is_dir() {
            if !name.starts_with('_') {
                cases(&p, out);
            }
        } else if name.ends_with(".conf") {
            out.push(p);
        }
    }
}

fn rendered(c: &Compiled) -> String {
    render(
        Format::Human,
        &[(&c.sources, &c.diags.list[..])],
        HumanStyle {
            graphics: true,
            color: false,
            width: 100,
        },
    )
}

/// A line diff (longest common subsequence), `-` expected, `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("     {}\n", a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("   + {}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("   - {}\n", a[i]));
            i += 1;
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        out.push_str("   (the files differ in their final newline)\n");
    }
    out
}

/// Directive names of a file, found by parsing it (not by matching text).
fn directive_names(text: &str, out: &mut BTreeSet<String>) {
    fn walk(items: &[ast::Directive], out: &mut BTreeSet<String>) {
        for d in items {
            out.insert(d.name.text.clone());
            if let Some(b) = d.block() {
                walk(&b.items, out);
            }
        }
    }
    let mut diags = Diags::default();
    let items = parse::parse(0, text, &is_directive, &mut diags);
    walk(&items, out);
}

/// Checks `<case>.explain` against `webserv explain`; returns the mismatches and the
/// file as it would be with every `answer` line as `explain` prints it now (what
/// `BLESS=1` writes).
fn check_explain(c: &Compiled, spec_path: &Path) -> (Vec<String>, String) {
    let spec = fs::read_to_string(spec_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", spec_path.display()));
    let Some(table) = &c.table else {
        return (
            vec!["the config has errors, so nothing can be explained".into()],
            spec,
        );
    };
    let mut bad = Vec::new();
    let mut blessed = String::new();
    let mut checked = 0;
    let lines: Vec<&str> = spec.lines().collect();
    let mut n = 0;
    while n < lines.len() {
        let raw = lines[n];
        n += 1;
        let line = raw.trim();
        // An `answer` line belongs to the URL line above it, and is checked there.
        if line.is_empty() || line.starts_with('#') || line.starts_with("answer ") {
            if !line.starts_with("answer ") {
                blessed.push_str(raw);
                blessed.push('\n');
            }
            continue;
        }
        blessed.push_str(raw);
        blessed.push('\n');
        let Some((target, expected)) = line.split_once(" => ") else {
            bad.push(format!("line {n}: expected `URL => location`"));
            continue;
        };
        let (url, listen) = match target.trim().rsplit_once('@') {
            Some((u, addr)) => match addr.parse() {
                Ok(a) => (u, Some(a)),
                Err(e) => {
                    bad.push(format!("line {n}: bad address `{addr}`: {e}"));
                    continue;
                }
            },
            None => (target.trim(), None),
        };
        let expected = expected.trim();
        checked += 1;
        let ask = report::Ask {
            listen,
            ..report::Ask::get(url)
        };
        let out = match report::explain(table, &ask) {
            Ok(o) => o,
            Err(e) => {
                bad.push(format!("{target}: explain failed: {e}"));
                continue;
            }
        };
        let answer = out
            .lines()
            .find(|l| l.starts_with("answer "))
            .unwrap_or("answer    (none)");
        blessed.push_str(&format!("    {answer}\n"));
        let written = lines
            .get(n)
            .map(|l| l.trim())
            .filter(|l| l.starts_with("answer "));
        if written != Some(answer) {
            bad.push(format!(
                "{target}\n       expected: {}\n       actual:   {answer}\n       (BLESS=1 rewrites the answer lines)",
                written.unwrap_or("(no answer line)")
            ));
        }
        if let Some(m) = routing_mismatch(&out, expected) {
            bad.push(format!("{target}\n{m}"));
        }
    }
    if checked == 0 {
        bad.push("no `URL => expected` line".into());
    }
    (bad, blessed)
}

/// Compares the `location` / `server` line of an explanation with the hand-written
/// expectation: a location as displayed (`~* \.jpg$`), `none`, or `server #N`.
fn routing_mismatch(out: &str, expected: &str) -> Option<String> {
    let actual = if let Some(want) = expected.strip_prefix("server ") {
        // `server    #1 "a.example.com" (file:line)`
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix("server    "))
            .unwrap_or("");
        let id = line.split(' ').next().unwrap_or("");
        if id == want {
            return None;
        }
        format!("server {line}")
    } else {
        // `location  ~* \.jpg$ (file:line)` or `location  none matched: ...`
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix("location  "))
            .unwrap_or("");
        let shown = if line.starts_with("none matched") {
            "none"
        } else {
            line.rfind(" (").map_or(line, |i| &line[..i])
        };
        if shown == expected {
            return None;
        }
        shown.to_string()
    };
    Some(format!(
        "       expected: {expected}\n       actual:   {actual}\n       explain output (up to the settings):\n{}",
        out.lines()
            .take_while(|l| *l != "settings")
            .map(|l| format!("         | {l}\n"))
            .collect::<String>()
    ))
}

#[test]
fn conf_cases() {
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    tls_fixtures();
    let mut list = Vec::new();
    cases(Path::new(ROOT), &mut list);

    let mut failures: Vec<String> = Vec::new();
    let mut codes_seen: BTreeSet<&'static str> = BTreeSet::new();
    let mut directives_valid: BTreeSet<String> = BTreeSet::new();
    let mut blessed = 0;

    for conf in &list {
        let opts = CompileOptions {
            now: Some(NOW),
            ..CompileOptions::default()
        };
        let c = compile_file(conf, &opts)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", conf.display()));
        codes_seen.extend(c.diags.list.iter().map(|d| d.code.slug()));

        let (snapshot, stale, actual) = if c.diags.list.is_empty() {
            let table = c.table.as_ref().expect("no diagnostics means a table");
            for (_, f) in c.sources.files() {
                directive_names(&f.text, &mut directives_valid);
            }
            (
                conf.with_extension("routes"),
                conf.with_extension("stderr"),
                report::routes_text(table),
            )
        } else {
            (
                conf.with_extension("stderr"),
                conf.with_extension("routes"),
                rendered(&c),
            )
        };

        if bless {
            if fs::read_to_string(&snapshot).ok().as_deref() != Some(actual.as_str()) {
                fs::write(&snapshot, &actual)
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", snapshot.display()));
                blessed += 1;
            }
            if stale.exists() {
                fs::remove_file(&stale)
                    .unwrap_or_else(|e| panic!("cannot remove {}: {e}", stale.display()));
            }
        } else {
            match fs::read_to_string(&snapshot) {
                Ok(expected) if expected == actual => {}
                Ok(expected) => failures.push(format!(
                    "{}: output differs (- snapshot, + actual):\n{}",
                    snapshot.display(),
                    diff(&expected, &actual)
                )),
                Err(_) => failures.push(format!(
                    "{}: missing snapshot (BLESS=1 writes it); actual output:\n{}",
                    snapshot.display(),
                    actual
                        .lines()
                        .map(|l| format!("     {l}\n"))
                        .collect::<String>()
                )),
            }
            if stale.exists() {
                failures.push(format!(
                    "{}: stale snapshot (the case now produces {})",
                    stale.display(),
                    snapshot.display()
                ));
            }
        }

        let explain = conf.with_extension("explain");
        if explain.exists() {
            let (bad, answered) = check_explain(&c, &explain);
            if bless {
                if fs::read_to_string(&explain).ok().as_deref() != Some(answered.as_str()) {
                    fs::write(&explain, &answered)
                        .unwrap_or_else(|e| panic!("cannot write {}: {e}", explain.display()));
                    blessed += 1;
                }
                // Blessing writes only answer lines: a routing mismatch still fails.
                let routing = bad.iter().filter(|m| !m.contains("BLESS=1"));
                failures.extend(routing.map(|m| format!("{}: {m}", explain.display())));
            } else {
                failures.extend(bad.iter().map(|m| format!("{}: {m}", explain.display())));
            }
        }
    }

    if list.len() < MIN_CASES {
        failures.push(format!(
            "only {} cases under {ROOT}, expected at least {MIN_CASES}",
            list.len()
        ));
    }
    let missing_codes: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.slug())
        .filter(|s| !codes_seen.contains(s))
        .collect();
    if !missing_codes.is_empty() {
        failures.push(format!(
            "no case produces these diagnostic codes: {}",
            missing_codes.join(", ")
        ));
    }
    let missing_directives: Vec<&str> = DIRECTIVES
        .iter()
        .map(|s| s.name)
        .filter(|n| !directives_valid.contains(*n))
        .collect();
    if !missing_directives.is_empty() {
        failures.push(format!(
            "these directives appear in no valid case: {}",
            missing_directives.join(", ")
        ));
    }

    if bless {
        eprintln!("blessed {blessed} snapshot(s) of {} cases", list.len());
    }
    assert!(
        failures.is_empty(),
        "{} conf case failure(s) ({} cases):\n\n{}",
        failures.len(),
        list.len(),
        failures.join("\n\n")
    );
}
