//! Go-to-definition, document symbols, folding ranges.

use serde_json::json;

use crate::client::{Client, uri};
use crate::fixture::{SITE, site};

fn range(a: u32, b: u32, c: u32, d: u32) -> serde_json::Value {
    json!({ "start": { "line": a, "character": b }, "end": { "line": c, "character": d } })
}

#[test]
fn definition_of_an_include_is_the_files_it_matches() {
    let (d, path) = site();
    let text = SITE.replace("        index index.html;", "        include inc/*.conf;");
    let mut c = Client::start(None, json!({}));
    let u = c.open(&path, &text);
    let locs = c.at("textDocument/definition", &u, 7, 20);
    assert_eq!(
        locs,
        json!([
            { "uri": uri(&d.path("inc/a.conf")), "range": range(0, 0, 0, 0) },
            { "uri": uri(&d.path("inc/b.conf")), "range": range(0, 0, 0, 0) },
        ])
    );
}

#[test]
fn definition_of_an_error_page_is_the_location_that_serves_it() {
    let (_d, path) = site();
    let mut c = Client::start(None, json!({}));
    let u = c.open(&path, SITE);
    let locs = c.at("textDocument/definition", &u, 4, 24);
    assert_eq!(locs, json!([{ "uri": u, "range": range(9, 4, 9, 21) }]));
}

#[test]
fn symbols_are_servers_and_locations_as_a_tree() {
    let (_d, path) = site();
    let mut c = Client::start(None, json!({}));
    let u = c.open(&path, SITE);
    let s = c.call(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": u } }),
    );
    assert_eq!(
        s,
        json!([{
            "name": "server a.example.com 8080",
            "kind": 3,
            "range": range(1, 0, 12, 1),
            "selectionRange": range(1, 0, 1, 6),
            "children": [
                { "name": "location /", "kind": 2, "range": range(5, 4, 8, 5),
                  "selectionRange": range(5, 4, 5, 14), "children": [] },
                { "name": "location /errors/", "kind": 2, "range": range(9, 4, 11, 5),
                  "selectionRange": range(9, 4, 9, 21), "children": [] },
            ],
        }])
    );
}

#[test]
fn blocks_fold() {
    let (_d, path) = site();
    let mut c = Client::start(None, json!({}));
    let u = c.open(&path, SITE);
    let f = c.call(
        "textDocument/foldingRange",
        json!({ "textDocument": { "uri": u } }),
    );
    assert_eq!(
        f,
        json!([
            { "startLine": 1, "endLine": 11 },
            { "startLine": 5, "endLine": 7 },
            { "startLine": 9, "endLine": 10 },
        ])
    );
}

#[test]
fn servers_inside_an_unknown_block_still_show() {
    let d = crate::client::Dir::new();
    let mut c = Client::start(None, json!({}));
    let u = c.open(
        &d.path("n.conf"),
        "http {\n    server {\n        listen 81;\n    }\n}\n",
    );
    let s = c.call(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": u } }),
    );
    assert_eq!(s[0]["name"], "server 81");
    assert_eq!(s[0]["range"], range(1, 4, 3, 5));
}
