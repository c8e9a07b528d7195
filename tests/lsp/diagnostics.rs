//! Diagnostics on open and on change: `check`'s own, in UTF-16 (or UTF-8) positions.

use std::process::Command;

use serde_json::{Value, json};

use crate::client::{Client, Dir, summary};

const TEXT: &str = "server {\n    listen 8080;\n    server_name \"héllo😀\"; lisen 80;\n    root .;\n    root .;\n}\n";

#[test]
fn open_publishes_checks_diagnostics_with_codes_labels_and_links() {
    let d = Dir::new();
    // Where the README is published: each code links to its row there.
    let docs = "https://docs.example/webserv/README.md";
    let mut c = Client::spawn_with(&[("WEBSERV_DOCS_URL", docs)]);
    c.initialize(None, json!({}));
    let u = c.open(&d.path("site.conf"), TEXT);
    let diags = c.diagnostics(&u, Some(1));
    assert_eq!(
        summary(&diags),
        [
            (
                "schema::unknown-directive".into(),
                [2, 27, 2, 32],
                "unknown directive `lisen`".into()
            ),
            (
                "schema::duplicate-directive".into(),
                [4, 4, 4, 10],
                "`root` is set twice in this block".into()
            ),
        ]
    );
    for d in &diags {
        assert_eq!(d["severity"], 1);
        assert_eq!(d["source"], "webserv");
        let anchor = d["code"].as_str().unwrap().replace("::", "-");
        assert_eq!(d["codeDescription"]["href"], format!("{docs}#{anchor}"));
    }
    let rel = |d: &Value| -> Vec<(String, u64)> {
        d["relatedInformation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                assert_eq!(r["location"]["uri"], u.as_str());
                (
                    r["message"].as_str().unwrap().to_string(),
                    r["location"]["range"]["start"]["line"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        rel(&diags[0]),
        [("help: did you mean `listen`?".to_string(), 2)]
    );
    assert_eq!(
        rel(&diags[1]),
        [
            ("first set here".to_string(), 3),
            (
                "help: `root` may appear once per block; remove one".to_string(),
                4
            )
        ]
    );
}

#[test]
fn utf8_positions_count_bytes() {
    let d = Dir::new();
    let mut c = Client::start(
        None,
        json!({ "general": { "positionEncodings": ["utf-8"] } }),
    );
    let u = c.open(&d.path("site.conf"), TEXT);
    let diags = c.diagnostics(&u, Some(1));
    assert_eq!(summary(&diags)[0].1, [2, 30, 2, 35]);
}

#[test]
fn changes_are_checked_from_the_buffer() {
    let d = Dir::new();
    let path = d.write("site.conf", "server { }\n");
    let mut c = Client::start(None, json!({}));
    let u = c.open(&path, TEXT);
    assert_eq!(c.diagnostics(&u, Some(1)).len(), 2);
    // `lisen` → `listen` (an insertion inside the line, after the emoji).
    c.edit(&u, 2, [2, 30], [2, 30], "t");
    let diags = c.diagnostics(&u, Some(2));
    assert_eq!(summary(&diags)[0].0, "schema::duplicate-directive");
    assert_eq!(diags.len(), 1);
    c.edit(&u, 3, [4, 0], [5, 0], "");
    assert_eq!(c.diagnostics(&u, Some(3)), Vec::<Value>::new());
    assert_eq!(c.shutdown(), 0);
}

/// The same list as `check --format json`, code for code and column for column.
#[test]
fn the_same_diagnostics_as_check() {
    let text = std::fs::read_to_string("tests/conf_cases/edge/many_mistakes_all_passes.conf")
        .expect("case file");
    let d = Dir::new();
    let path = d.write("m.conf", &text);
    let out = Command::new(env!("CARGO_BIN_EXE_webserv"))
        .args(["check", "--format", "json"])
        .arg(&path)
        .output()
        .expect("run check");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let want: Vec<(String, [u64; 4], String)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let n = |k: &str| d[k].as_u64().unwrap() - 1;
            (
                d["code"].as_str().unwrap().to_string(),
                [n("line"), n("column"), n("end_line"), n("end_column")],
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(want.len() > 10, "a case with many mistakes");
    let mut c = Client::start(None, json!({}));
    let u = c.open(&path, &text);
    assert_eq!(summary(&c.diagnostics(&u, Some(1))), want);
}

#[test]
fn warnings_have_severity_2() {
    let d = Dir::new();
    let mut c = Client::start(None, json!({}));
    let text = "server {\n    listen 8080;\n    root /nonexistent/webserv-lsp-test;\n}\n";
    let u = c.open(&d.path("w.conf"), text);
    let diags = c.diagnostics(&u, Some(1));
    assert_eq!(
        summary(&diags),
        [(
            "lint::missing-directory".into(),
            [2, 4, 2, 38],
            "root `/nonexistent/webserv-lsp-test` does not exist".into()
        )]
    );
    assert_eq!(diags[0]["severity"], 2);
}
