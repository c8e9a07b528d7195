//! Whatever the edits, the server keeps answering: random ranges (past the end, inside
//! a surrogate pair) and random text (braces, quotes, emoji, directive names), then
//! requests of every kind, and the final diagnostics for the final version.

use proptest::prelude::*;
use serde_json::json;

use crate::client::{Client, Dir};

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("server {".to_string()),
        Just("location /a {".to_string()),
        Just("}".to_string()),
        Just(";".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("\n".to_string()),
        Just("# c".to_string()),
        Just("😀é".to_string()),
        Just("include *.conf;".to_string()),
        Just("listen 80;".to_string()),
        Just("root /x".to_string()),
        Just("autoindex maybe;".to_string()),
        Just("{".to_string()),
        "[a-z_ ]{0,8}",
    ]
}

fn edit() -> impl Strategy<Value = ([u32; 2], [u32; 2], String)> {
    (
        (0u32..8, 0u32..24),
        (0u32..8, 0u32..24),
        prop::collection::vec(piece(), 0..3),
    )
        .prop_map(|(a, b, t)| ([a.0, a.1], [b.0, b.1], t.concat()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_edits_never_stop_the_server(
        edits in prop::collection::vec(edit(), 1..25),
        at in (0u32..8, 0u32..24),
    ) {
        let pos = json!({ "line": at.0, "character": at.1 });
        let d = Dir::new();
        let mut c = Client::start(Some(d.dir.path()), json!({}));
        let u = c.open(&d.path("x.conf"), "server {\n    listen 80;\n    location / {\n    }\n}\n");
        let mut version = 1;
        for (from, to, text) in &edits {
            version += 1;
            // The end may come before the start: the server orders them.
            c.edit(&u, version, *from, *to, text);
        }
        for (method, extra) in [
            ("textDocument/hover", json!({ "position": pos })),
            ("textDocument/completion", json!({ "position": pos })),
            ("textDocument/definition", json!({ "position": pos })),
            ("textDocument/documentSymbol", json!({})),
            ("textDocument/foldingRange", json!({})),
            ("textDocument/formatting", json!({ "options": {} })),
            ("textDocument/codeAction", json!({ "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 9, "character": 0 } }, "context": { "diagnostics": [] } })),
        ] {
            let mut params = extra;
            params["textDocument"] = json!({ "uri": u });
            let r = c.request(method, params);
            // Formatting a broken buffer is refused; nothing else fails.
            let ok = r.get("result").is_some() || (method == "textDocument/formatting" && r["error"]["code"] == -32803);
            prop_assert!(ok, "{} answered {}", method, r);
        }
        c.diagnostics(&u, Some(version));
        prop_assert_eq!(c.shutdown(), 0);
    }
}
