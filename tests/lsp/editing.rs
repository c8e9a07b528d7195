//! Code actions, formatting and `webserv.explain`.

use serde_json::{Value, json};

use crate::client::{Client, Dir};
use crate::fixture::{SITE, site};

fn range(a: u32, b: u32, c: u32, d: u32) -> Value {
    json!({ "start": { "line": a, "character": b }, "end": { "line": c, "character": d } })
}

/// The quick fixes offered over a range: (title, edit range, new text).
fn fixes(c: &mut Client, u: &str, r: Value) -> Vec<(String, Value, String)> {
    let v = c.call(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": u }, "range": r, "context": { "diagnostics": [] } }),
    );
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["kind"], "quickfix");
            let e = &a["edit"]["changes"][u][0];
            (
                a["title"].as_str().unwrap().to_string(),
                e["range"].clone(),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn quick_fixes_from_the_diagnostics() {
    let d = Dir::new();
    let mut c = Client::start(None, json!({}));
    let text = "server {\n    lisen 80;\n    root /tmp;\n    root /tmp;\n    index a.html\n    autoindex on;\n    location / {\n";
    let u = c.open(&d.path("a.conf"), text);
    c.diagnostics(&u, Some(1));
    assert_eq!(
        fixes(&mut c, &u, range(1, 6, 1, 6)),
        [(
            "replace with `listen`".into(),
            range(1, 4, 1, 9),
            "listen".into()
        )]
    );
    assert_eq!(
        fixes(&mut c, &u, range(3, 4, 3, 8)),
        [(
            "remove this `root`".into(),
            range(3, 0, 4, 0),
            String::new()
        )]
    );
    assert_eq!(
        fixes(&mut c, &u, range(4, 16, 4, 16)),
        [("insert `;`".into(), range(4, 16, 4, 16), ";".into())]
    );
    assert_eq!(
        fixes(&mut c, &u, range(6, 15, 6, 15)),
        [("close the block".into(), range(7, 0, 7, 0), "}\n".into())]
    );
    // The whole file: every fix, in order.
    assert_eq!(fixes(&mut c, &u, range(0, 0, 7, 0)).len(), 4);
}

#[test]
fn formatting_is_fmt_and_refuses_syntax_errors() {
    let d = Dir::new();
    let mut c = Client::start(None, json!({}));
    let u = c.open(
        &d.path("a.conf"),
        "server{listen 80;\n  location / {root  \"a b\";}}",
    );
    let edits = c.call(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": u }, "options": { "tabSize": 4, "insertSpaces": true } }),
    );
    assert_eq!(
        edits,
        json!([{
            "range": range(0, 0, 1, 28),
            "newText": "server {\n    listen 80;\n    location / {\n        root \"a b\";\n    }\n}\n",
        }])
    );
    let u = c.open(
        &d.path("b.conf"),
        "server {\n    root /x\n    frob on;\n}\n",
    );
    let r = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": u }, "options": {} }),
    );
    assert_eq!(r["error"]["code"], -32803, "{r}");
    assert_eq!(
        r["error"]["message"],
        "not formatted: syntax error at line 2: missing `;`"
    );
    let u = c.open(&d.path("c.conf"), "server {\n    listen 80;\n}\n");
    assert_eq!(
        c.call(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": u }, "options": {} })
        ),
        json!([])
    );
}

#[test]
fn explain_from_the_editor() {
    let (d, path) = site();
    let mut c = Client::start(None, json!({}));
    let u = c.open(&path, SITE);
    let text = c.call(
        "workspace/executeCommand",
        json!({ "command": "webserv.explain", "arguments": [u, "http://a.example.com/errors/404.html"] }),
    );
    let text = text.as_str().unwrap();
    assert!(
        text.starts_with(
            "request   GET http://a.example.com/errors/404.html\nlisten    *:8080 (1 server)\n"
        ),
        "{text}"
    );
    assert!(text.contains("\nlocation  /errors/ ("), "{text}");
    assert!(
        text.contains(&format!(
            "\nanswer    200 static file {}/errors/404.html (10 bytes)\n",
            d.path("").display().to_string().trim_end_matches('/')
        )),
        "{text}"
    );
    // A config with errors cannot be explained.
    c.edit(&u, 2, [6, 18], [6, 20], "maybe");
    let r = c.request(
        "workspace/executeCommand",
        json!({ "command": "webserv.explain", "arguments": [{ "uri": u, "url": "/", "method": "GET" }] }),
    );
    assert_eq!(r["error"]["code"], -32803, "{r}");
}
