//! Hover: the schema row, the effective value and its origin, a code's explanation.

use serde_json::json;

use crate::client::Client;
use crate::fixture::{SITE, site};

#[test]
fn a_directive_shows_its_row_and_its_effective_value() {
    let (_d, path) = site();
    let mut c = Client::start(None, json!({}));
    let u = c.open(&path, SITE);
    let h = c.at("textDocument/hover", &u, 6, 10);
    assert_eq!(
        h["contents"]["value"],
        "```webserv\nautoindex on | off;\n```\nin main, server, location · default `off` · inherited\n\n\
         HTML directory listing when no index file exists.\n\nEffective here: `on` (set here)"
    );
    assert_eq!(
        h["range"],
        json!({ "start": { "line": 6, "character": 8 }, "end": { "line": 6, "character": 17 } })
    );
}

#[test]
fn a_location_shows_every_effective_setting_and_where_it_comes_from() {
    let (d, path) = site();
    let mut c = Client::start(None, json!({}));
    let u = c.open(&path, SITE);
    let h = c.at("textDocument/hover", &u, 5, 6);
    let text = h["contents"]["value"].as_str().unwrap();
    let dir = d.path("").display().to_string();
    let dir = dir.trim_end_matches('/');
    for row in [
        format!("| `root` | `{dir}` | line 1 |"),
        "| `index` | `index.html` | line 8 |".to_string(),
        "| `autoindex` | `on` | line 7 |".to_string(),
        "| `allow_methods` | `GET HEAD` | default |".to_string(),
        "| `error_page` | `404 /errors/404.html` | line 5 |".to_string(),
    ] {
        assert!(text.contains(&row), "{row} in:\n{text}");
    }
    assert!(text.starts_with("```webserv\nlocation [= | ^~ | ~ | ~*] pattern { ... }\n```"));
}

#[test]
fn a_diagnostic_shows_its_codes_explanation() {
    let (_d, path) = site();
    let mut c = Client::start(None, json!({}));
    let u = c.open(&path, &SITE.replace("autoindex on;", "autoindex maybe;"));
    let h = c.at("textDocument/hover", &u, 6, 19);
    let text = h["contents"]["value"].as_str().unwrap();
    assert!(
        text.starts_with(
            "`value::flag` (error): not `on` or `off`\n\nFlags are exactly `on` or `off`"
        ),
        "{text}"
    );
    assert!(
        text.contains("autoindex on | off;"),
        "and the directive: {text}"
    );
    assert_eq!(h["range"]["start"], json!({ "line": 6, "character": 18 }));
    // Nothing under the cursor: no hover.
    assert_eq!(
        c.at("textDocument/hover", &u, 8, 0),
        serde_json::Value::Null
    );
}

#[test]
fn a_main_level_directive_shows_the_main_contexts_value() {
    let (d, path) = site();
    let mut c = Client::start(None, json!({}));
    let u = c.open(&path, SITE);
    let h = c.at("textDocument/hover", &u, 0, 1);
    let text = h["contents"]["value"].as_str().unwrap();
    let dir = d.path("").display().to_string();
    let want = format!("Effective here: `{}` (set here)", dir.trim_end_matches('/'));
    assert!(text.ends_with(&want), "{text}");
}
