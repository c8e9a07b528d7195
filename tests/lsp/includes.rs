//! Files that include each other: buffers over the disk, diagnostics where they are,
//! fragments in the context that includes them.

use serde_json::{Value, json};

use crate::client::{Client, Dir, summary};

#[test]
fn errors_in_an_included_file_go_to_its_uri_with_the_chain() {
    let d = Dir::new();
    let site = d.write(
        "sites/a.conf",
        "server {\n    listen 81;\n    autoindex maybe;\n}\n",
    );
    let root = d.write("main.conf", "worker_processes 1;\ninclude sites/*.conf;\n");
    let mut c = Client::start(None, json!({}));
    let root_uri = c.open(&root, &std::fs::read_to_string(&root).unwrap());
    let site_uri = crate::client::uri(&site);
    let diags = c.diagnostics(&site_uri, None);
    assert_eq!(
        summary(&diags),
        [(
            "value::flag".into(),
            [2, 14, 2, 19],
            "`maybe` is not `on` or `off`".into()
        )]
    );
    let rel = &diags[0]["relatedInformation"];
    let chain: Vec<&Value> = rel
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["message"] == "included from here")
        .collect();
    assert_eq!(chain.len(), 1);
    assert_eq!(chain[0]["location"]["uri"], root_uri.as_str());
    assert_eq!(
        chain[0]["location"]["range"]["start"],
        json!({ "line": 1, "character": 0 })
    );
    assert_eq!(c.diagnostics(&root_uri, Some(1)), Vec::<Value>::new());

    // The included file's buffer, unsaved, overrides the disk.
    let site_uri = c.open(&site, "server {\n    listen 81;\n    autoindex on;\n}\n");
    assert_eq!(c.diagnostics(&site_uri, Some(1)), Vec::<Value>::new());
    // An edit that breaks the buffer shows at once.
    c.edit(&site_uri, 2, [1, 11], [1, 13], "0");
    let diags = c.diagnostics(&site_uri, Some(2));
    assert_eq!(summary(&diags)[0].0, "value::port");
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn a_fragment_alone_is_checked_in_the_context_its_contents_imply() {
    let d = Dir::new();
    let mut c = Client::start(None, json!({}));
    // Bare locations (and a location-only `alias`): as if inside a server.
    let u = c.open(
        &d.path("locations.conf"),
        "location /a/ {\n    alias /tmp/;\n}\nlocation /b {\n    autoindex maybe;\n}\n",
    );
    let diags = c.diagnostics(&u, Some(1));
    assert_eq!(
        summary(&diags)
            .iter()
            .map(|s| s.0.as_str())
            .collect::<Vec<_>>(),
        ["value::flag"]
    );
    // A block's contents: as if inside a location.
    let u = c.open(&d.path("inside.conf"), "alias /tmp/;\nautoindex on;\n");
    assert_eq!(c.diagnostics(&u, Some(1)), Vec::<Value>::new());
    // Bare servers: the main context; and no complaint about a missing server in a
    // file of settings.
    let u = c.open(
        &d.path("servers.conf"),
        "server {\n    listen 82;\n}\nserver {\n    listen 82;\n}\n",
    );
    assert_eq!(
        summary(&c.diagnostics(&u, Some(1)))
            .iter()
            .map(|s| s.0.as_str())
            .collect::<Vec<_>>(),
        ["resolve::duplicate-server"]
    );
    let u = c.open(&d.path("common.conf"), "index a.html;\n");
    assert_eq!(c.diagnostics(&u, Some(1)), Vec::<Value>::new());
}

#[test]
fn a_fragment_is_checked_in_the_workspace_config_that_includes_it() {
    let d = Dir::new();
    d.write(
        "main.conf",
        "server {\n    listen 83;\n    location /x/ {\n        root .;\n        include snippets/x.conf;\n    }\n}\n",
    );
    let frag = d.write("snippets/x.conf", "autoindex on;\n");
    let mut c = Client::start(Some(d.dir.path()), json!({}));
    // `root` is already set in the including location: a duplicate across files.
    let u = c.open(&frag, "autoindex on;\nroot /tmp;\n");
    let diags = c.diagnostics(&u, Some(1));
    assert_eq!(
        summary(&diags),
        [(
            "schema::duplicate-directive".into(),
            [1, 0, 1, 9],
            "`root` is set twice in this block".into()
        )]
    );
    let first = &diags[0]["relatedInformation"][0];
    assert_eq!(first["message"], "first set here");
    assert_eq!(
        first["location"]["uri"],
        crate::client::uri(&d.path("main.conf")).as_str()
    );
    assert_eq!(
        first["location"]["range"]["start"],
        json!({ "line": 3, "character": 8 })
    );
}

#[test]
fn a_config_that_appears_on_disk_claims_the_fragment() {
    let d = Dir::new();
    let frag = d.write("snippets/x.conf", "root /tmp;\n");
    let mut c = Client::start(Some(d.dir.path()), json!({}));
    let u = c.open(&frag, "root /tmp;\n");
    assert_eq!(c.diagnostics(&u, Some(1)), Vec::<Value>::new());
    d.write(
        "main.conf",
        "server {\n    listen 84;\n    root .;\n    include snippets/x.conf;\n}\n",
    );
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": crate::client::uri(&d.path("main.conf")), "type": 1 }] }),
    );
    let diags = c.diagnostics(&u, Some(1));
    assert_eq!(
        summary(&diags),
        [(
            "schema::duplicate-directive".into(),
            [0, 0, 0, 9],
            "`root` is set twice in this block".into()
        )]
    );
}
