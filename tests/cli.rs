//! End-to-end tests of the `webserv` binary: `check` (exit codes and every output format),
//! `routes`, `explain` and `fmt`. Config files live in a fresh temporary directory that is
//! also the working directory, so the paths in diagnostics are the short relative names.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_webserv");

/// A valid config: one server, two locations, root is the config's own directory.
const OK: &str = "\
server {
    listen 8080;
    server_name a.example.com;
    root .;
    location / {
        allow_methods GET;
    }
    location /up {
        allow_methods GET POST;
    }
}
";

/// Two errors: a port out of range (2:12..2:17) and a misspelt directive (3:5..3:10).
const BAD: &str = "\
server {
    listen 99999;
    lisen 80;
}
";

/// Valid, but with one warning (the root directory does not exist) at 3:5.
const WARN: &str = "\
server {
    listen 8080;
    root /nonexistent/webserv-cli-test;
}
";

const SHORT_BAD: &str = "\
bad.conf:2:12: error[value::port]: port `99999` is out of range
bad.conf:3:5: error[schema::unknown-directive]: unknown directive `lisen`
";

const SHORT_WARN: &str = "\
warn.conf:3:5: warning[lint::missing-directory]: root `/nonexistent/webserv-cli-test` does not exist
";

struct Dir(TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().expect("tempdir"))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn write(&self, name: &str, text: impl AsRef<[u8]>) -> &Dir {
        std::fs::write(self.path().join(name), text).expect("write config");
        self
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name)).expect("read back")
    }

    /// Runs the binary in this directory with NO_COLOR / NO_GRAPHICS unset.
    fn run(&self, args: &[&str]) -> Out {
        self.run_env(args, &[])
    }

    fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(self.path())
            .env_remove("NO_COLOR")
            .env_remove("NO_GRAPHICS")
            .env_remove("WEBSERV_DOCS_URL");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Out(cmd.output().expect("run webserv"))
    }
}

struct Out(Output);

impl Out {
    fn code(&self) -> i32 {
        self.0
            .status
            .code()
            .expect("exited normally, not by a signal")
    }

    fn stdout(&self) -> String {
        String::from_utf8(self.0.stdout.clone()).expect("stdout is UTF-8")
    }

    fn stderr(&self) -> String {
        String::from_utf8(self.0.stderr.clone()).expect("stderr is UTF-8")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.0.stdout).expect("stdout is JSON")
    }
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

// ---- check: exit codes ------------------------------------------------------------------

#[test]
fn check_valid_config_exits_0_and_says_ok() {
    let d = Dir::new();
    d.write("ok.conf", OK);
    let o = d.run(&["check", "ok.conf"]);
    assert_eq!(o.code(), 0);
    assert_eq!(o.stdout(), "");
    assert_eq!(o.stderr(), "ok.conf: ok (1 server, 2 locations)\n");

    let o = d.run(&["check", "--format", "short", "ok.conf"]);
    assert_eq!(o.code(), 0);
    assert_eq!(o.stdout(), "");
    assert_eq!(o.stderr(), "");
}

#[test]
fn check_errors_exit_1() {
    let d = Dir::new();
    d.write("bad.conf", BAD);
    let o = d.run(&["check", "--format", "short", "bad.conf"]);
    assert_eq!(o.code(), 1);
    assert_eq!(o.stdout(), SHORT_BAD);
    assert_eq!(o.stderr(), "");
}

#[test]
fn check_warnings_exit_0_unless_denied() {
    let d = Dir::new();
    d.write("warn.conf", WARN);
    let o = d.run(&["check", "--format", "short", "warn.conf"]);
    assert_eq!(o.code(), 0);
    assert_eq!(o.stdout(), SHORT_WARN);

    let o = d.run(&["check", "--format", "short", "--deny-warnings", "warn.conf"]);
    assert_eq!(o.code(), 1);
    assert_eq!(o.stdout(), SHORT_WARN);

    // The only warning looks at the file system; without fs lints the file is clean.
    let o = d.run(&[
        "check",
        "--format",
        "short",
        "--deny-warnings",
        "--no-fs-lints",
        "warn.conf",
    ]);
    assert_eq!(o.code(), 0);
    assert_eq!(o.stdout(), "");

    let o = d.run(&["check", "--graphics", "never", "warn.conf"]);
    assert_eq!(o.code(), 0);
    assert!(
        o.stderr().ends_with("warn.conf: 0 errors, 1 warning\n"),
        "{}",
        o.stderr()
    );
}

#[test]
fn check_missing_file_exits_2() {
    let d = Dir::new();
    let o = d.run(&["check", "--format", "short", "missing.conf"]);
    assert_eq!(o.code(), 2);
    assert_eq!(o.stdout(), "");
    assert_eq!(
        o.stderr(),
        "webserv: cannot read missing.conf: No such file or directory (os error 2)\n"
    );
}

#[test]
fn check_directory_exits_2() {
    let d = Dir::new();
    std::fs::create_dir(d.path().join("sub.conf")).unwrap();
    let o = d.run(&["check", "--format", "short", "sub.conf"]);
    assert_eq!(o.code(), 2);
    assert_eq!(o.stdout(), "");
    assert_eq!(
        o.stderr(),
        "webserv: cannot read sub.conf: is a directory\n"
    );
}

#[test]
fn usage_errors_exit_2() {
    let d = Dir::new();
    d.write("ok.conf", OK);
    for args in [
        &[][..],
        &["check"][..],
        &["check", "--bogus", "ok.conf"][..],
        &["check", "--format", "xml", "ok.conf"][..],
        &["frobnicate"][..],
        &["routes"][..],
        &["routes", "--format", "yaml", "ok.conf"][..],
        &["explain", "ok.conf"][..],
        &["explain", "--listen", "not-an-addr", "ok.conf", "/"][..],
        &["fmt"][..],
    ] {
        let o = d.run(args);
        assert_eq!(o.code(), 2, "webserv {args:?}");
        assert_eq!(o.stdout(), "", "webserv {args:?}");
        assert!(!o.stderr().is_empty(), "webserv {args:?}");
    }
    // Help and version are not errors.
    assert_eq!(d.run(&["--help"]).code(), 0);
    let o = d.run(&["--version"]);
    assert_eq!(o.code(), 0);
    assert_eq!(
        o.stdout(),
        format!("webserv {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_several_files_worst_exit_wins_and_all_are_reported() {
    let d = Dir::new();
    d.write("ok.conf", OK)
        .write("bad.conf", BAD)
        .write("warn.conf", WARN);

    let o = d.run(&["check", "--format", "short", "warn.conf", "bad.conf"]);
    assert_eq!(o.code(), 1);
    assert_eq!(o.stdout(), format!("{SHORT_WARN}{SHORT_BAD}"));

    let o = d.run(&["check", "--format", "short", "ok.conf", "warn.conf"]);
    assert_eq!(o.code(), 0);
    assert_eq!(o.stdout(), SHORT_WARN);

    // An unreadable file beats errors, and the readable files are still reported.
    let o = d.run(&[
        "check",
        "--format",
        "short",
        "bad.conf",
        "missing.conf",
        "warn.conf",
    ]);
    assert_eq!(o.code(), 2);
    assert_eq!(o.stdout(), format!("{SHORT_BAD}{SHORT_WARN}"));
    assert_eq!(
        o.stderr(),
        "webserv: cannot read missing.conf: No such file or directory (os error 2)\n"
    );

    // Human: one summary line per readable file, in order.
    let o = d.run(&["check", "--graphics", "never", "ok.conf", "bad.conf"]);
    assert_eq!(o.code(), 1);
    let err = o.stderr();
    let tail: Vec<&str> = lines(&err).into_iter().rev().take(2).collect();
    assert_eq!(
        tail,
        vec![
            "bad.conf: 2 errors, 0 warnings",
            "ok.conf: ok (1 server, 2 locations)"
        ]
    );

    // JSON: one document with the diagnostics of both files.
    let o = d.run(&["check", "--format", "json", "bad.conf", "warn.conf"]);
    assert_eq!(o.code(), 1);
    let v = o.json();
    let files: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, vec!["bad.conf", "bad.conf", "warn.conf"]);
    assert_eq!(v["summary"]["errors"], 2);
    assert_eq!(v["summary"]["warnings"], 1);
}

// ---- check: output formats --------------------------------------------------------------

#[test]
fn short_format_exact_lines_for_syntax_and_cross_entity_errors() {
    let d = Dir::new();
    d.write("semi.conf", "server {\n    listen 8080\n    root .;\n}\n")
        .write(
            "dup.conf",
            "server {\n    listen 8080;\n    server_name a;\n}\nserver {\n    listen 8080;\n    server_name a;\n}\n",
        )
        .write("unclosed.conf", "server {\n    listen 8080;\n")
        .write("bin.conf", b"server {\xff}\n");
    let o = d.run(&[
        "check",
        "--format",
        "short",
        "semi.conf",
        "dup.conf",
        "unclosed.conf",
        "bin.conf",
    ]);
    assert_eq!(o.code(), 1);
    assert_eq!(
        o.stdout(),
        "\
semi.conf:2:16: error[syntax::missing-semicolon]: missing `;`
dup.conf:7:17: error[resolve::duplicate-server]: server name `a` is already used on *:8080
unclosed.conf:1:8: error[syntax::unclosed-block]: unclosed block
bin.conf:1:9: error[syntax::invalid-utf8]: the file is not valid UTF-8
"
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    let d = Dir::new();
    // `é` is two bytes; the port starts at character 31 of line 3.
    d.write(
        "u8.conf",
        "server {\n    listen 8080;\n    server_name \"é.x\"; listen 99999;\n}\n",
    );
    let o = d.run(&["check", "--format", "short", "u8.conf"]);
    assert_eq!(
        o.stdout(),
        "u8.conf:3:31: error[value::port]: port `99999` is out of range\n"
    );
    let o = d.run(&["check", "--format", "sarif", "u8.conf"]);
    let region = &o.json()["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 3);
    assert_eq!(region["startColumn"], 31);
    assert_eq!(region["endColumn"], 36);
}

#[test]
fn json_format_is_versioned_with_1_based_positions() {
    let d = Dir::new();
    d.write("bad.conf", BAD);
    let o = d.run(&["check", "--format", "json", "bad.conf"]);
    assert_eq!(o.code(), 1);
    assert_eq!(o.stderr(), "");
    let v = o.json();
    assert_eq!(v["version"], 1);
    assert_eq!(v["summary"]["errors"], 2);
    assert_eq!(v["summary"]["warnings"], 0);
    let diags = v["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 2);

    let d0 = &diags[0];
    assert_eq!(d0["code"], "value::port");
    assert_eq!(d0["severity"], "error");
    assert_eq!(d0["message"], "port `99999` is out of range");
    assert_eq!(d0["file"], "bad.conf");
    assert_eq!(d0["line"], 2);
    assert_eq!(d0["column"], 12);
    assert_eq!(d0["end_line"], 2);
    assert_eq!(d0["end_column"], 17);
    assert_eq!(d0["help"], "a port is a whole number from 1 to 65535");
    let span = &d0["labels"][0]["span"];
    assert_eq!(d0["labels"][0]["primary"], true);
    assert_eq!(span["line"], 2);
    assert_eq!(span["column"], 12);
    // Byte offsets agree with the text: "    listen 99999;" starts at byte 9.
    assert_eq!(span["byte_start"], 20);
    assert_eq!(span["byte_end"], 25);
    assert_eq!(&BAD[20..25], "99999");

    let d1 = &diags[1];
    assert_eq!(d1["code"], "schema::unknown-directive");
    assert_eq!(d1["message"], "unknown directive `lisen`");
    assert_eq!(d1["line"], 3);
    assert_eq!(d1["column"], 5);
    assert_eq!(d1["end_column"], 10);
    assert_eq!(d1["help"], "did you mean `listen`?");
}

#[test]
fn json_format_for_a_valid_config_is_empty() {
    let d = Dir::new();
    d.write("ok.conf", OK);
    let o = d.run(&["check", "--format", "json", "ok.conf"]);
    assert_eq!(o.code(), 0);
    let v = o.json();
    assert_eq!(v["version"], 1);
    assert_eq!(v["diagnostics"], serde_json::json!([]));
    assert_eq!(v["summary"]["errors"], 0);
    assert_eq!(v["summary"]["warnings"], 0);
}

#[test]
fn sarif_format_has_1_based_regions_and_rule_ids() {
    let d = Dir::new();
    d.write("bad.conf", BAD).write(
        "dup.conf",
        "server {\n    listen 8080;\n    server_name a;\n}\nserver {\n    listen 8080;\n    server_name a;\n}\n",
    );
    let o = d.run(&["check", "--format", "sarif", "bad.conf", "dup.conf"]);
    assert_eq!(o.code(), 1);
    let v = o.json();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "webserv");
    let rule = &run["tool"]["driver"]["rules"][0];
    assert_eq!(rule["id"], "io::unreadable");
    assert!(rule["fullDescription"]["text"].as_str().unwrap().len() > 40);
    let results = run["results"].as_array().unwrap();
    let got: Vec<(String, String, i64, i64, i64, i64)> = results
        .iter()
        .map(|r| {
            let loc = &r["locations"][0]["physicalLocation"];
            let reg = &loc["region"];
            (
                r["ruleId"].as_str().unwrap().to_string(),
                loc["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                reg["startLine"].as_i64().unwrap(),
                reg["startColumn"].as_i64().unwrap(),
                reg["endLine"].as_i64().unwrap(),
                reg["endColumn"].as_i64().unwrap(),
            )
        })
        .collect();
    let row = |id: &str, f: &str, l, c, el, ec| (id.to_string(), f.to_string(), l, c, el, ec);
    assert_eq!(
        got,
        vec![
            row("value::port", "bad.conf", 2, 12, 2, 17),
            row("schema::unknown-directive", "bad.conf", 3, 5, 3, 10),
            row("resolve::duplicate-server", "dup.conf", 7, 17, 7, 18),
        ]
    );
    for r in results {
        assert_eq!(r["level"], "error");
        // ruleIndex points at the rule with the same id.
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(run["tool"]["driver"]["rules"][idx]["id"], r["ruleId"]);
    }
    // The duplicate's first occurrence is a related location.
    let rel = &results[2]["relatedLocations"][0];
    assert_eq!(rel["message"]["text"], "first used here");
    assert_eq!(rel["physicalLocation"]["region"]["startLine"], 3);
    assert_eq!(rel["physicalLocation"]["region"]["startColumn"], 17);
}

#[test]
fn github_format_exact_annotations() {
    let d = Dir::new();
    d.write("bad.conf", BAD).write("warn.conf", WARN);
    let o = d.run(&["check", "--format", "github", "bad.conf", "warn.conf"]);
    assert_eq!(o.code(), 1);
    assert_eq!(
        o.stdout(),
        "\
::error file=bad.conf,line=2,col=12,endLine=2,endColumn=17,title=value%3A%3Aport::port `99999` is out of range%0Ahelp: a port is a whole number from 1 to 65535
::error file=bad.conf,line=3,col=5,endLine=3,endColumn=10,title=schema%3A%3Aunknown-directive::unknown directive `lisen`%0Ahelp: did you mean `listen`?
::warning file=warn.conf,line=3,col=5,endLine=3,endColumn=39,title=lint%3A%3Amissing-directory::root `/nonexistent/webserv-cli-test` does not exist%0Ahelp: create it, or fix the path (relative paths start at this config file's directory)
"
    );
}

#[test]
fn human_narrated_has_code_message_help_and_position() {
    let d = Dir::new();
    d.write("bad.conf", BAD);
    let o = d.run(&["check", "--graphics", "never", "bad.conf"]);
    assert_eq!(o.code(), 1);
    assert_eq!(o.stdout(), "");
    let err = o.stderr();
    let ls = lines(&err);
    for want in [
        "port `99999` is out of range",
        "    Diagnostic severity: error",
        "    label at line 2, columns 12 to 16: invalid value",
        "diagnostic help: a port is a whole number from 1 to 65535",
        "diagnostic code: value::port",
        "unknown directive `lisen`",
        "    label at line 3, columns 5 to 9: no directive has this name",
        "diagnostic help: did you mean `listen`?",
        "diagnostic code: schema::unknown-directive",
        "bad.conf: 2 errors, 0 warnings",
    ] {
        assert!(ls.contains(&want), "missing line {want:?} in:\n{err}");
    }
    assert!(!err.contains('\x1b'));
}

#[test]
fn no_color_is_respected() {
    let d = Dir::new();
    d.write("bad.conf", BAD);
    // Not a terminal: auto means plain narrated text, with or without NO_COLOR.
    for env in [&[][..], &[("NO_COLOR", "1")][..]] {
        let o = d.run_env(&["check", "--color", "auto", "bad.conf"], env);
        assert_eq!(o.code(), 1);
        assert!(!o.0.stderr.contains(&0x1b), "{env:?}: {}", o.stderr());
        assert!(o.stderr().contains("diagnostic code: value::port"));
    }
    // Graphics with colour off: boxes, but still no escape sequences.
    let o = d.run_env(
        &[
            "check",
            "--color",
            "auto",
            "--graphics",
            "always",
            "bad.conf",
        ],
        &[("NO_COLOR", "1")],
    );
    assert!(!o.0.stderr.contains(&0x1b), "{}", o.stderr());
    assert!(o.stderr().contains("value::port"));
    // The control: forcing colour does produce escape sequences.
    let o = d.run(&[
        "check",
        "--color",
        "always",
        "--graphics",
        "always",
        "bad.conf",
    ]);
    assert!(o.0.stderr.contains(&0x1b));
}

/// A label after a line's last character, or at the end of the file, is narrated as one
/// position (`line 2, column 16`), never as a backwards range (`columns 16 to 15`).
#[test]
fn narrated_labels_at_line_and_file_ends_are_positions() {
    let d = Dir::new();
    d.write("semi.conf", "server {\n    listen 8080\n}\n")
        .write("eof.conf", "server {\n    listen 8080;\n");
    let o = d.run(&["check", "--graphics", "never", "semi.conf", "eof.conf"]);
    assert_eq!(o.code(), 1);
    let err = o.stderr();
    let ls = lines(&err);
    for want in [
        "    label at line 2, column 16: expected `;` here",
        "    label at line 1, column 8: this `{` is never closed",
        "    label at line 2, column 17: the file ends here",
    ] {
        assert!(ls.contains(&want), "missing line {want:?} in:\n{err}");
    }
    assert!(
        !err.contains("columns"),
        "a range where a position was meant:\n{err}"
    );
}

/// A relative path is shown as written (resolved against the config's directory
/// once), not with the directory's `./` glued on again.
#[test]
fn paths_in_messages_are_normalised_once() {
    let d = Dir::new();
    std::fs::create_dir(d.path().join("conf")).unwrap();
    d.write(
        "here.conf",
        "server {\n    listen 8080;\n    root ./missing-dir;\n}\n",
    )
    .write(
        "conf/there.conf",
        "server {\n    listen 8080;\n    root ./missing-dir/./sub;\n}\n",
    );
    let o = d.run(&["check", "--format", "short", "here.conf", "conf/there.conf"]);
    assert_eq!(o.code(), 0);
    assert_eq!(
        o.stdout(),
        "\
here.conf:3:5: warning[lint::missing-directory]: root `./missing-dir` does not exist
conf/there.conf:3:5: warning[lint::missing-directory]: root `conf/missing-dir/sub` does not exist
"
    );
}

/// An unclosed `location` inside a server: the braces say the server is open at the
/// end, the indentation says the location lost its `}`. The location is the error,
/// the server a secondary label.
#[test]
fn unclosed_block_is_found_by_indentation() {
    let d = Dir::new();
    d.write(
        "u.conf",
        "server {\n    listen 8080;\n    location /a/ {\n        autoindex on;\n\n    location /b/ {\n    }\n}\n",
    );
    let o = d.run(&["check", "--format", "json", "u.conf"]);
    assert_eq!(o.code(), 1);
    let v = o.json();
    let diags = v["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{v:#}");
    let u = &diags[0];
    assert_eq!(u["code"], "syntax::unclosed-block");
    assert_eq!(
        (u["line"].as_i64(), u["column"].as_i64()),
        (Some(3), Some(18))
    );
    let labels: Vec<(i64, i64, &str)> = u["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["span"]["line"].as_i64().unwrap(),
                l["span"]["column"].as_i64().unwrap(),
                l["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        labels,
        vec![
            (3, 18, "this `{` is never closed"),
            (
                8,
                1,
                "this `}`, indented for the block around it, closes it instead"
            ),
            (1, 8, "so this block is still open at the end of the file"),
            (8, 2, "the file ends here"),
        ]
    );
    // Narrated, each label is told under its own line, and only there.
    let o = d.run(&["check", "--graphics", "never", "u.conf"]);
    let err = o.stderr();
    let told: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("snippet line") || l.starts_with("    label"))
        .collect();
    assert_eq!(
        told,
        vec![
            "snippet line 1: server {",
            "    label at line 1, column 8: so this block is still open at the end of the file",
            "snippet line 2:     listen 8080;",
            "snippet line 3:     location /a/ {",
            "    label at line 3, column 18: this `{` is never closed",
            "snippet line 4:         autoindex on;",
            "snippet line 7:     }",
            "snippet line 8: }",
            "    label at line 8, column 1: this `}`, indented for the block around it, closes it instead",
            "    label at line 8, column 2: the file ends here",
        ],
        "{err}"
    );
}

/// SARIF names no made-up address: without a documentation URL there is none; with
/// `WEBSERV_DOCS_URL`, the tool points at it and each rule at its row of the README's
/// diagnostic-code table.
#[test]
fn sarif_links_only_to_configured_documentation() {
    let d = Dir::new();
    d.write("bad.conf", BAD);
    let o = d.run_env(&["check", "--format", "sarif", "bad.conf"], &[]);
    let v = o.json();
    let driver = &v["runs"][0]["tool"]["driver"];
    assert!(driver.get("informationUri").is_none(), "{driver:#}");
    assert!(driver["rules"][0].get("helpUri").is_none());

    let base = "https://docs.example/webserv/README.md";
    let o = d.run_env(
        &["check", "--format", "sarif", "bad.conf"],
        &[("WEBSERV_DOCS_URL", base)],
    );
    let v = o.json();
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["informationUri"], base);
    let idx = run["results"][0]["ruleIndex"].as_u64().unwrap() as usize;
    let rule = &run["tool"]["driver"]["rules"][idx];
    assert_eq!(rule["id"], "value::port");
    assert_eq!(rule["helpUri"], format!("{base}#value-port"));
    // The anchor exists: the README's table row carries it.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains("<a id=\"value-port\"></a>`value::port`"));
}

// ---- run: before the server starts ------------------------------------------------------

#[test]
fn run_refuses_impossible_values_as_usage_errors() {
    let d = Dir::new();
    d.write("ok.conf", OK);
    for args in [
        &["run", "--workers", "0"][..],
        &["run", "--workers", "1025"][..],
        &["run", "--workers", "-1"][..],
        &["run", "--port", "0"][..],
        &["run", "-p", "65536"][..],
        &["run", "--bind", "localhost"][..],
        &["check", "--width", "0", "ok.conf"][..],
        &["fmt", "--check", "--write", "ok.conf"][..],
    ] {
        let o = d.run(args);
        assert_eq!(o.code(), 2, "webserv {args:?}: {}", o.stderr());
        assert!(
            o.stderr().starts_with("error: "),
            "webserv {args:?}: {}",
            o.stderr()
        );
    }
}

#[test]
fn run_a_missing_path_exits_2() {
    let d = Dir::new();
    let o = d.run(&["run", "missing-dir"]);
    assert_eq!(o.code(), 2);
    assert_eq!(
        o.stderr(),
        "webserv: cannot serve missing-dir: no such file or directory\n"
    );
}

/// `--port` and `--bind` are for serving a directory: a config file says where it
/// listens.
#[test]
fn run_a_config_with_port_or_bind_is_a_usage_error() {
    let d = Dir::new();
    d.write("ok.conf", OK);
    for args in [
        &["run", "ok.conf", "-p", "9000"][..],
        &["run", "--bind", "127.0.0.1", "ok.conf"][..],
    ] {
        let o = d.run(args);
        assert_eq!(o.code(), 2, "webserv {args:?}");
        let err = o.stderr();
        assert!(
            err.contains("applies to serving a directory; ok.conf is a config file"),
            "{err}"
        );
    }
}

/// A config with errors: the diagnostics, then one line that says nothing started.
#[test]
fn run_a_broken_config_says_not_started() {
    let d = Dir::new();
    d.write("bad.conf", BAD)
        .write("one.conf", "server {\n    lisen 80;\n}\n");
    let o = d.run(&["run", "bad.conf"]);
    assert_eq!(o.code(), 1);
    let err = o.stderr();
    assert!(err.contains("diagnostic code: value::port"), "{err}");
    assert!(
        err.ends_with("\nwebserv: not started: 2 errors in bad.conf\n"),
        "{err}"
    );
    let o = d.run(&["run", "one.conf"]);
    assert_eq!(o.code(), 1);
    assert!(
        o.stderr()
            .ends_with("\nwebserv: not started: 1 error in one.conf\n"),
        "{}",
        o.stderr()
    );
}

/// Every argument and option in every subcommand's help has a description, and no
/// subcommand lists an option it has no use for (`--version`).
#[test]
fn help_describes_every_argument_and_option() {
    let d = Dir::new();
    for sub in ["check", "routes", "explain", "fmt", "run", "lsp"] {
        let o = d.run(&[sub, "-h"]);
        assert_eq!(o.code(), 0);
        let help = o.stdout();
        let mut section = "";
        let mut entries = 0;
        for line in help.lines() {
            if line.ends_with(':') && !line.starts_with(' ') {
                section = line;
                continue;
            }
            if !matches!(section, "Arguments:" | "Options:") || line.trim().is_empty() {
                continue;
            }
            // `  --name <X>  What it is`: the spec, two spaces or more, a description.
            let (spec, desc) = line
                .trim_start()
                .split_once("  ")
                .unwrap_or_else(|| panic!("webserv {sub} -h: no description: {line:?}"));
            assert!(
                !desc.trim().is_empty(),
                "webserv {sub} -h: {spec} undescribed"
            );
            entries += 1;
        }
        assert!(entries >= 2, "webserv {sub} -h:\n{help}");
        assert!(
            !help.contains("--version"),
            "webserv {sub} -h lists --version:\n{help}"
        );
    }
    let o = d.run(&["run", "-h"]);
    let help = o.stdout();
    for want in [
        "[DIR|FILE]",
        "-p, --port <PORT>",
        "--bind <ADDR>",
        "--workers <N>",
    ] {
        assert!(help.contains(want), "missing {want:?} in:\n{help}");
    }
}

// ---- routes -----------------------------------------------------------------------------

#[test]
fn routes_text_lists_listeners_servers_and_locations() {
    let d = Dir::new();
    d.write("ok.conf", OK);
    let o = d.run(&["routes", "ok.conf"]);
    assert_eq!(o.code(), 0);
    assert_eq!(o.stderr(), "");
    let out = o.stdout();
    let ls = lines(&out);
    assert_eq!(
        ls[0],
        "main: worker_processes auto (default), worker_connections 4096 (default), error_log stderr warn (default)"
    );
    assert_eq!(ls[1], "");
    assert_eq!(ls[2], "listen *:8080");
    assert_eq!(
        ls[3],
        "  server #0 \"a.example.com\" [default: first]  (ok.conf:1)"
    );
    assert!(ls.contains(&"    location /up  (ok.conf:8)"), "{out}");
    assert!(ls.contains(&"    location /  (ok.conf:5)"), "{out}");
    let methods: Vec<String> = ls
        .iter()
        .filter(|l| l.trim_start().starts_with("allow_methods"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        methods,
        vec![
            "allow_methods GET HEAD default",
            "allow_methods GET HEAD POST ok.conf:9",
            "allow_methods GET HEAD ok.conf:6",
        ]
    );
}

#[test]
fn routes_json_parses() {
    let d = Dir::new();
    d.write("ok.conf", OK);
    let o = d.run(&["routes", "--format", "json", "ok.conf"]);
    assert_eq!(o.code(), 0);
    let v = o.json();
    assert_eq!(v["version"], 1);
    assert_eq!(v["main"]["worker_processes"], "auto");
    assert_eq!(v["main"]["worker_connections"], 4096);
    let listeners = v["listeners"].as_array().unwrap();
    assert_eq!(listeners.len(), 1);
    assert_eq!(listeners[0]["listen"], "*:8080");
    assert_eq!(listeners[0]["default_server"], 0);
    let server = &listeners[0]["servers"][0];
    assert_eq!(server["names"], serde_json::json!(["a.example.com"]));
    assert_eq!(server["from"], "ok.conf:1");
    assert_eq!(server["default"], true);
    let locs: Vec<(&str, &str, &str, &str)> = server["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["pattern"].as_str().unwrap(),
                l["from"].as_str().unwrap(),
                l["settings"]["allow_methods"]["value"].as_str().unwrap(),
                l["settings"]["allow_methods"]["from"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        locs,
        vec![
            ("/up", "ok.conf:8", "GET HEAD POST", "ok.conf:9"),
            ("/", "ok.conf:5", "GET HEAD", "ok.conf:6"),
        ]
    );
}

#[test]
fn routes_and_explain_refuse_broken_or_missing_configs() {
    let d = Dir::new();
    d.write("bad.conf", BAD);
    for args in [
        &["routes", "bad.conf"][..],
        &["explain", "bad.conf", "/"][..],
    ] {
        let o = d.run(&[args, &["--graphics", "never"]].concat());
        assert_eq!(o.code(), 1, "{args:?}");
        assert_eq!(o.stdout(), "");
        assert!(o.stderr().contains("diagnostic code: value::port"));
    }
    for args in [
        &["routes", "missing.conf"][..],
        &["explain", "missing.conf", "/"][..],
        &["fmt", "missing.conf"][..],
    ] {
        let o = d.run(args);
        assert_eq!(o.code(), 2, "{args:?}");
        assert_eq!(
            o.stderr(),
            "webserv: cannot read missing.conf: No such file or directory (os error 2)\n"
        );
    }
}

// ---- explain ----------------------------------------------------------------------------

fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `{key}` line in:\n{out}"))
}

#[test]
fn explain_prints_listener_server_location() {
    let d = Dir::new();
    d.write("ok.conf", OK);
    let o = d.run(&["explain", "ok.conf", "http://a.example.com:8080/up/x"]);
    assert_eq!(o.code(), 0);
    let out = o.stdout();
    assert_eq!(
        field(&out, "request "),
        "GET http://a.example.com:8080/up/x"
    );
    assert_eq!(field(&out, "listen "), "*:8080 (1 server)");
    assert_eq!(field(&out, "server "), "#0 \"a.example.com\" (ok.conf:1)");
    assert_eq!(field(&out, "location "), "/up (ok.conf:8)");
    assert!(
        lines(&out).contains(&"          because: exact name \"a.example.com\""),
        "{out}"
    );
    assert!(
        lines(&out).contains(&"          - longest prefix `/up`"),
        "{out}"
    );
}

/// The reason names the configured name that matched, in its configured spelling.
#[test]
fn explain_names_the_server_name_that_matched() {
    let d = Dir::new();
    d.write(
        "names.conf",
        "server { listen 8080; server_name ~^www\\.; }\n\
         server { listen 8080; server_name www.example.*; }\n\
         server { listen 8080; server_name *.example.com; }\n\
         server { listen 8080; server_name www.example.com; }\n",
    );
    for (url, because) in [
        (
            "http://WWW.Example.com:8080/",
            "exact name \"www.example.com\"",
        ),
        (
            "http://ftp.example.com:8080/",
            "leading wildcard \"*.example.com\"",
        ),
        (
            "http://www.example.org:8080/",
            "trailing wildcard \"www.example.*\"",
        ),
        ("http://www.test:8080/", "regex \"~^www\\.\""),
    ] {
        let o = d.run(&["explain", "names.conf", url]);
        assert_eq!(o.code(), 0, "{url}");
        let out = o.stdout();
        let got = out
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("because: "));
        assert_eq!(got, Some(because), "{url}: {out}");
    }
}

#[test]
fn explain_post_where_not_allowed_is_405_with_allow() {
    let d = Dir::new();
    d.write("ok.conf", OK);
    let o = d.run(&[
        "explain",
        "ok.conf",
        "http://a.example.com:8080/x",
        "--method",
        "POST",
    ]);
    assert_eq!(o.code(), 0);
    let out = o.stdout();
    assert_eq!(field(&out, "request "), "POST http://a.example.com:8080/x");
    assert_eq!(field(&out, "location "), "/ (ok.conf:5)");
    assert_eq!(
        field(&out, "answer "),
        "405 Method Not Allowed (not in allow_methods), Allow: GET, HEAD; 413 if the body is over 1m"
    );
}

/// `--format json`: the decision as fields; the status first in the text line too.
#[test]
fn explain_json_gives_the_answer_as_fields() {
    let d = Dir::new();
    d.write("ok.conf", OK);
    let url = "http://a.example.com:8080/up/x";
    let json = |extra: &[&str]| -> Value {
        let mut args = vec!["explain", "ok.conf", url, "--format", "json"];
        args.extend_from_slice(extra);
        let o = d.run(&args);
        assert_eq!(o.code(), 0, "{}", o.stderr());
        serde_json::from_str(&o.stdout()).expect("explain prints JSON")
    };
    let v = json(&["--method", "POST", "--content-length", "5"]);
    assert_eq!(v["location"]["pattern"], "/up");
    assert_eq!(v["answer"]["status"], 405);
    assert_eq!(v["answer"]["kind"], "error");
    assert_eq!(v["answer"]["allow"], "GET, HEAD, POST");
    assert_eq!(v["answer"]["depends_on"], Value::Null);
    let v = json(&["--method", "OPTIONS"]);
    assert_eq!(v["answer"]["status"], 204);
    assert_eq!(v["answer"]["kind"], "options");
    let v = json(&["--method", "POST", "--content-length", "2000000"]);
    assert_eq!(v["answer"]["status"], 413);
    let o = d.run(&["explain", "ok.conf", url, "--method", "OPTIONS"]);
    assert_eq!(
        field(&o.stdout(), "answer "),
        "204 OPTIONS, Allow: GET, HEAD, POST"
    );
}

#[test]
fn explain_rejects_a_bad_url_with_2() {
    let d = Dir::new();
    d.write("ok.conf", OK);
    let o = d.run(&["explain", "ok.conf", "zz"]);
    assert_eq!(o.code(), 2);
    assert_eq!(o.stdout(), "");
    assert_eq!(
        o.stderr(),
        "webserv: `zz` is neither an http:// URL, a path starting with `/`, nor `*`\n"
    );
}

/// explain reads a URL as the server reads the same absolute-form target (found by the
/// `explain_url` fuzz target): no path is `/` even before a query, an empty port is no
/// port, a second port is refused, and nothing after a space or line break is smuggled in.
#[test]
fn explain_reads_a_url_as_the_server_reads_the_target() {
    let d = Dir::new();
    d.write("ok.conf", OK);
    let o = d.run(&["explain", "ok.conf", "http://A.example.com:8080?x=1"]);
    assert_eq!(o.code(), 0, "{}", o.stderr());
    let out = o.stdout();
    assert_eq!(field(&out, "location "), "/ (ok.conf:5)");
    assert_eq!(field(&out, "query "), "x=1 (passed to CGI as QUERY_STRING)");
    assert!(
        lines(&out).contains(&"          because: exact name \"a.example.com\""),
        "{out}"
    );

    let o = d.run(&["explain", "ok.conf", "http://a.example.com:/up"]);
    assert_eq!(o.code(), 0, "{}", o.stderr());
    let out = o.stdout();
    assert_eq!(field(&out, "location "), "/up (ok.conf:8)");
    assert!(
        lines(&out).contains(&"          because: exact name \"a.example.com\""),
        "{out}"
    );

    let o = d.run(&["explain", "ok.conf", "http://a.example.com:1:8080/"]);
    assert_eq!((o.code(), o.stdout()), (2, String::new()));
    assert_eq!(
        o.stderr(),
        "webserv: the server would answer 400 (invalid host) to this request\n"
    );

    let o = d.run(&["explain", "ok.conf", "/x HTTP/1.1\r\nHost: b\r\n\r\n"]);
    assert_eq!((o.code(), o.stdout()), (2, String::new()));
    assert_eq!(
        o.stderr(),
        "webserv: `/x HTTP/1.1\\r\\nHost: b\\r\\n\\r\\n` holds ' ', which a URL must \
         percent-encode\n"
    );
}

// ---- fmt --------------------------------------------------------------------------------

const UNFORMATTED: &str =
    "# top\nserver{listen   8080 ;# port\n\n\n  location / {root  \"a b\";}}\n";
const FORMATTED: &str = "\
# top
server {
    listen 8080;  # port

    location / {
        root \"a b\";
    }
}
";

#[test]
fn fmt_prints_canonical_text() {
    let d = Dir::new();
    d.write("u.conf", UNFORMATTED).write("f.conf", FORMATTED);
    let o = d.run(&["fmt", "u.conf"]);
    assert_eq!(o.code(), 0);
    assert_eq!(o.stdout(), FORMATTED);
    assert_eq!(o.stderr(), "");
    // Printing never touches the file.
    assert_eq!(d.read("u.conf"), UNFORMATTED);
    let o = d.run(&["fmt", "f.conf"]);
    assert_eq!(o.code(), 0);
    assert_eq!(o.stdout(), FORMATTED);
}

#[test]
fn fmt_check_exit_codes() {
    let d = Dir::new();
    d.write("u.conf", UNFORMATTED).write("f.conf", FORMATTED);
    let o = d.run(&["fmt", "--check", "u.conf"]);
    assert_eq!(o.code(), 1);
    assert_eq!(o.stdout(), "");
    assert_eq!(
        o.stderr(),
        "u.conf: not formatted (run `webserv fmt --write u.conf`)\n"
    );
    let o = d.run(&["fmt", "--check", "f.conf"]);
    assert_eq!(o.code(), 0);
    assert_eq!(o.stdout(), "");
    assert_eq!(o.stderr(), "");
    assert_eq!(d.read("u.conf"), UNFORMATTED);
}

#[test]
fn fmt_write_rewrites_in_place() {
    let d = Dir::new();
    d.write("u.conf", UNFORMATTED);
    let o = d.run(&["fmt", "--write", "u.conf"]);
    assert_eq!(o.code(), 0);
    assert_eq!(o.stdout(), "");
    assert_eq!(d.read("u.conf"), FORMATTED);
    assert_eq!(d.run(&["fmt", "--check", "u.conf"]).code(), 0);
}

#[test]
fn fmt_refuses_syntax_errors_and_invalid_utf8() {
    let d = Dir::new();
    d.write("s.conf", "server {\n    listen 8080;\n")
        .write("q.conf", "server { root \"x; }\n")
        .write("bin.conf", b"server { root \xff; }\n")
        .write(
            "semi.conf",
            "server {\n    root /x\n    frobnicate on;\n}\n",
        );
    for (f, code) in [
        ("s.conf", "syntax::unclosed-block"),
        // Found after parsing, not by the parser: fmt would otherwise join the lines.
        ("semi.conf", "syntax::missing-semicolon"),
        ("q.conf", "syntax::unterminated-string"),
        ("bin.conf", "syntax::invalid-utf8"),
    ] {
        for args in [
            &["fmt", "--graphics", "never", f][..],
            &["fmt", "--check", "--graphics", "never", f][..],
            &["fmt", "--write", "--graphics", "never", f][..],
        ] {
            let before = std::fs::read(d.path().join(f)).unwrap();
            let o = d.run(args);
            assert_eq!(o.code(), 1, "{args:?}");
            assert_eq!(o.stdout(), "", "{args:?}");
            assert!(
                lines(&o.stderr()).contains(&format!("diagnostic code: {code}").as_str()),
                "{args:?}: {}",
                o.stderr()
            );
            assert_eq!(std::fs::read(d.path().join(f)).unwrap(), before);
        }
    }
}

// ---- unreadable inputs ------------------------------------------------------------------

#[test]
fn endless_files_are_refused_not_read_forever() {
    let d = Dir::new();
    d.write(
        "z.conf",
        "server {\n    listen 8080;\n}\ninclude /dev/zero;\n",
    );
    let o = d.run(&["check", "--format", "short", "z.conf"]);
    assert_eq!(o.code(), 1);
    assert_eq!(
        o.stdout(),
        "z.conf:4:9: error[io::unreadable]: cannot read `/dev/zero`: file is larger than 64 MiB\n"
    );
    let o = d.run(&["check", "--format", "short", "/dev/zero"]);
    assert_eq!(o.code(), 2);
    assert_eq!(
        o.stderr(),
        "webserv: cannot read /dev/zero: file is larger than 64 MiB\n"
    );
    let o = d.run(&["fmt", "/dev/zero"]);
    assert_eq!(o.code(), 2);
}

#[test]
fn check_reads_a_pipe() {
    let mut child = Command::new(BIN)
        .args(["check", "--format", "short", "/dev/stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"server {\n    listen 99999;\n}\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "/dev/stdin:2:12: error[value::port]: port `99999` is out of range\n"
    );
}
