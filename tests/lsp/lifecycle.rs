//! Initialization, shutdown and exit codes, and a server that never dies on input.

use serde_json::{Value, json};

use crate::client::{Client, Dir};

#[test]
fn requests_before_initialize_are_refused_then_initialize_works() {
    let mut c = Client::spawn();
    let r = c.request("textDocument/hover", json!({}));
    assert_eq!(r["error"]["code"], -32002, "{r}");
    c.notify("textDocument/didOpen", json!({}));
    let init = c.initialize(None, json!({}));
    let caps = &init["result"]["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-16");
    assert_eq!(caps["textDocumentSync"]["change"], 2);
    assert_eq!(init["result"]["serverInfo"]["name"], "webserv");
    let again = c.request("initialize", json!({ "capabilities": {} }));
    assert_eq!(again["error"]["code"], -32600, "{again}");
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn utf8_is_used_when_the_client_offers_it() {
    let mut c = Client::spawn();
    let init = c.initialize(
        None,
        json!({ "general": { "positionEncodings": ["utf-8", "utf-16"] } }),
    );
    assert_eq!(init["result"]["capabilities"]["positionEncoding"], "utf-8");
}

#[test]
fn unknown_methods_and_garbage_get_errors_and_the_server_goes_on() {
    let mut c = Client::start(None, json!({}));
    let r = c.request("textDocument/teleport", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    c.notify("$/unknownNotification", json!({ "x": 1 }));
    c.notify("textDocument/didChange", json!("not params"));
    c.send_raw(b"{ this is not json");
    let e = c.wait_for("parse error", |v| v["error"]["code"] == -32700);
    assert_eq!(e["id"], Value::Null);
    c.send_raw(b"[1, 2, 3]");
    c.wait_for("parse error", |v| v["error"]["code"] == -32700);
    let r = c.request("textDocument/teleport", json!({}));
    assert_eq!(r["error"]["code"], -32601, "still answering: {r}");
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn a_panicking_request_is_an_internal_error_and_the_server_survives() {
    let mut c = Client::spawn_with(&[("WEBSERV_LSP_DEBUG", "1")]);
    c.initialize(None, json!({}));
    let r = c.request("webserv/debugPanic", Value::Null);
    assert_eq!(r["error"]["code"], -32603, "{r}");
    let d = Dir::new();
    let u = c.open(&d.path("a.conf"), "server { lisen 80; }\n");
    let diags = c.diagnostics(&u, Some(1));
    assert_eq!(diags.len(), 1, "still working after the panic");
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn exit_status_is_0_after_shutdown_and_1_without() {
    let mut c = Client::start(None, json!({}));
    c.notify("exit", Value::Null);
    assert_eq!(c.exit_status(), 1);

    let mut c = Client::start(None, json!({}));
    let r = c.request("shutdown", Value::Null);
    assert_eq!(r["result"], Value::Null);
    let after = c.request("textDocument/hover", json!({}));
    assert_eq!(after["error"]["code"], -32600, "{after}");
    c.notify("exit", Value::Null);
    assert_eq!(c.exit_status(), 0);

    // Exit before initialize, and the client going away without exit.
    let mut c = Client::spawn();
    c.notify("exit", Value::Null);
    assert_eq!(c.exit_status(), 1);
    let c = Client::start(None, json!({}));
    assert_eq!(c.exit_status(), 1);
}
