//! Completion: directives valid in the context, values by argument kind, paths.

use serde_json::{Value, json};

use crate::client::Client;
use crate::fixture::{SITE, site};

fn labels(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

/// The site with `line` (0-based) replaced; returns the client and the document URI.
fn editing(line: usize, with: &str, snippets: bool) -> (Client, String, crate::client::Dir) {
    let (d, path) = site();
    let mut lines: Vec<&str> = SITE.lines().collect();
    lines[line] = with;
    let text = lines.join("\n") + "\n";
    let caps = json!({ "textDocument": { "completion": { "completionItem": { "snippetSupport": snippets } } } });
    let mut c = Client::start(None, caps);
    let u = c.open(&path, &text);
    (c, u, d)
}

#[test]
fn directives_valid_in_a_location_only() {
    let (mut c, u, _d) = editing(7, "        ", false);
    let items = c.at("textDocument/completion", &u, 7, 8);
    assert_eq!(
        labels(&items),
        [
            "location",
            "root",
            "alias",
            "index",
            "autoindex",
            "allow_methods",
            "return",
            "error_page",
            "client_max_body_size",
            "upload_store",
            "cgi",
            "cgi_timeout",
            "access_log",
            "try_files",
            "add_header",
            "expires",
            "gzip",
            "gzip_static",
            "gzip_types",
            "gzip_min_length",
            "gzip_comp_level",
            "allow",
            "deny",
            "auth_basic",
            "auth_basic_user_file",
            "default_type",
            "types",
            "include"
        ]
    );
    // In the server: `listen` and `server_name` too; at the top: `server`, `worker_processes`.
    let (mut c, u, _d) = editing(3, "    serv", false);
    let l = labels(&c.at("textDocument/completion", &u, 3, 8));
    assert!(l.contains(&"server_name".into()) && l.contains(&"listen".into()));
    assert!(!l.contains(&"server".into()) && !l.contains(&"worker_processes".into()));
    let (mut c, u, _d) = editing(0, "", false);
    let l = labels(&c.at("textDocument/completion", &u, 0, 0));
    assert!(l.contains(&"server".into()) && l.contains(&"worker_processes".into()));
    assert!(!l.contains(&"listen".into()) && !l.contains(&"alias".into()));
}

#[test]
fn snippets_fill_in_arguments_and_replace_the_typed_word() {
    let (mut c, u, _d) = editing(7, "        autoi", true);
    let items = c.at("textDocument/completion", &u, 7, 13);
    let a = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "autoindex")
        .unwrap();
    assert_eq!(a["insertTextFormat"], 2);
    assert_eq!(a["textEdit"]["newText"], "autoindex ${1|on,off|};$0");
    assert_eq!(
        a["textEdit"]["range"],
        json!({ "start": { "line": 7, "character": 8 }, "end": { "line": 7, "character": 13 } })
    );
    assert_eq!(a["detail"], "autoindex on | off;");
}

#[test]
fn values_by_argument_kind() {
    let cases: [(&str, Vec<&str>); 5] = [
        ("        autoindex ", vec!["on", "off"]),
        (
            "        allow_methods GET ",
            vec!["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"],
        ),
        ("    location ", vec!["=", "^~", "~", "~*"]),
        (
            "        return ",
            vec![
                "301", "302", "303", "307", "308", "200", "204", "403", "404", "410", "500", "503",
            ],
        ),
        ("        root ", vec!["errors/", "inc/", "www/"]),
    ];
    for (line, want) in cases {
        let (mut c, u, _d) = editing(7, line, false);
        let got = labels(&c.at("textDocument/completion", &u, 7, line.len() as u32));
        assert_eq!(got, want, "after {line:?}");
    }
    let (mut c, u, _d) = editing(0, "error_log stderr ", false);
    let got = labels(&c.at("textDocument/completion", &u, 0, 17));
    assert_eq!(
        got,
        [
            "debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"
        ]
    );
}

#[test]
fn paths_relative_to_the_config_and_uris_under_the_root() {
    let (mut c, u, _d) = editing(7, "        include inc/", false);
    let items = c.at("textDocument/completion", &u, 7, 20);
    assert_eq!(labels(&items), ["a.conf", "b.conf"]);
    assert_eq!(items[0]["textEdit"]["newText"], "inc/a.conf");
    assert_eq!(items[0]["kind"], 17);
    let (mut c, u, _d) = editing(4, "    error_page 404 /errors/", false);
    let items = c.at("textDocument/completion", &u, 4, 27);
    assert_eq!(labels(&items), ["404.html"]);
    assert_eq!(items[0]["textEdit"]["newText"], "/errors/404.html");
    // In a comment: nothing.
    let (mut c, u, _d) = editing(7, "        # root ", false);
    assert_eq!(c.at("textDocument/completion", &u, 7, 15), json!([]));
}
