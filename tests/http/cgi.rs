//! CGI/1.1 (RFC 3875): the meta-variables, argv and cwd of the child, no inherited fds;
//! request bodies (length, chunked, 1 MB and 100 MB echoes through both pipes); output
//! heads (`Status`, cookies, bare LF, chunked/close/length framing, local and absolute
//! `Location`, HEAD); faults (502s, death after the head, 504 and the killed process
//! group, client disconnect, zombies, ignored stdin, a stderr flood); script resolution
//! (missing, symlink out of the root, `.sh` outside a CGI location); and the event loop
//! staying responsive while a CGI hangs.
//!
//! Fixture scripts are written by each test into its own site (`www/cgi/`), executable.
//! Python scripts run under Debian's `/usr/bin/python3`, shell ones under `/bin/sh`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_webserv");

const CONF: &str = r#"
server {
    listen 127.0.0.1:8080;
    root www;
    location /cgi/ {
        cgi .sh /bin/sh;
        cgi .py /usr/bin/python3;
        cgi .cgi;
        allow_methods GET POST HEAD;
        cgi_timeout 1s;
        client_max_body_size 200m;
    }
    location /slow/ {
        cgi .sh /bin/sh;
        allow_methods GET POST;
        cgi_timeout 10s;
    }
    location /plain/ {
        allow_methods GET HEAD;
    }
}
"#;

/// The body of `www/other.txt`, the target of the local redirect.
const OTHER: &[u8] = b"the other file\n";

/// How long a process may take to disappear after it should have been killed.
const GONE: Duration = Duration::from_secs(2);

/// A site with [`CONF`] and the given scripts (paths relative to the site directory),
/// each made executable.
fn cgi_site(scripts: &[(&str, &str)]) -> Site {
    let s = Site::new(CONF, &[("www/other.txt", OTHER)]);
    for (name, text) in scripts {
        script(&s.path(name), text);
    }
    s
}

/// Writes an executable script.
fn script(path: &Path, text: &str) {
    write_file(path, text.as_bytes());
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn canon(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|e| panic!("canonicalize {}: {e}", p.display()))
}

/// Shell lines that write the shell's PID to `file` atomically.
fn write_pid(file: &Path) -> String {
    let f = file.display();
    format!("echo $$ > '{f}.tmp' && mv '{f}.tmp' '{f}'\n")
}

/// Polls for a PID file written by a script.
fn wait_pid(file: &Path, limit: Duration) -> i32 {
    let mut pid = None;
    let ok = wait_until(limit, || {
        pid = std::fs::read_to_string(file)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        pid.is_some()
    });
    assert!(ok, "no PID in {} within {limit:?}", file.display());
    pid.unwrap()
}

/// The state letter of a process (`R`, `S`, `Z`…) and its parent, if it exists.
fn proc_stat(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) S ppid …`; comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut it = rest.split(' ');
    let state = it.next()?.chars().next()?;
    let ppid = it.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Gone entirely: killed *and* reaped.
fn gone(pid: i32) -> bool {
    proc_stat(pid).is_none()
}

/// Dead: gone, or a zombie waiting for a parent that is not ours to judge (a grandchild
/// re-parented to an init that may not reap).
fn dead(pid: i32) -> bool {
    proc_stat(pid).is_none_or(|(s, _)| s == 'Z')
}

fn describe(pid: i32) -> String {
    match proc_stat(pid) {
        Some((s, ppid)) => format!("pid {pid} still exists in state {s} (ppid {ppid})"),
        None => format!("pid {pid} gone"),
    }
}

/// All headers named `name`, in order.
fn all<'a>(r: &'a Response, name: &str) -> Vec<&'a str> {
    r.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Splits a raw response into its head (without the blank line) and the rest.
fn split_raw(raw: &[u8]) -> (String, Vec<u8>) {
    let end = find(raw, b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    (
        String::from_utf8(raw[..end].to_vec()).unwrap(),
        raw[end + 4..].to_vec(),
    )
}

/// Writes `head`, then `body` from another thread while the response is read, so that
/// neither side can block the other.
fn exchange(c: &mut Client, head: &[u8], body: Vec<u8>) -> Response {
    c.write(head);
    let mut w = c.sock.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        // The server may legitimately close before taking it all.
        let _ = w.write_all(&body);
    });
    let r = c.read_response(false);
    writer.join().unwrap();
    r
}

// ---------------------------------------------------------------------------------------
// Environment

/// Prints argv[0] (the script, for an interpreter rule), the cwd, stdin and `env`.
const ENV_SH: &str = "printf 'Content-Type: text/plain\\r\\n\\r\\n'
printf 'ARG0=%s\\n' \"$0\"
printf 'CWD=%s\\n' \"$(pwd -P)\"
printf -- '--body--\\n'
cat
printf -- '\\n--env--\\n'
env
";

struct EnvOut {
    arg0: String,
    cwd: String,
    body: String,
    env: BTreeMap<String, String>,
}

fn parse_env(r: &Response) -> EnvOut {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.h("content-type"), "text/plain");
    let text = r.text();
    let (top, env) = text
        .split_once("\n--env--\n")
        .unwrap_or_else(|| panic!("no env section in {text:?}"));
    let (first, body) = top
        .split_once("--body--\n")
        .unwrap_or_else(|| panic!("no body section in {text:?}"));
    let mut lines = first.lines();
    let arg0 = lines
        .next()
        .unwrap()
        .strip_prefix("ARG0=")
        .unwrap()
        .to_string();
    let cwd = lines
        .next()
        .unwrap()
        .strip_prefix("CWD=")
        .unwrap()
        .to_string();
    let env = env
        .lines()
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("bad env line {l:?}"));
            (k.to_string(), v.to_string())
        })
        .collect();
    EnvOut {
        arg0,
        cwd,
        body: body.to_string(),
        env,
    }
}

/// The environment without what the server or the shell may add on their own (`PATH`,
/// the shell's `PWD`, which must then be the cwd).
fn meta_vars(out: &EnvOut) -> BTreeMap<String, String> {
    let mut env = out.env.clone();
    env.remove("PATH");
    if let Some(pwd) = env.remove("PWD") {
        assert_eq!(pwd, out.cwd, "PWD");
    }
    env
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn env_has_every_meta_variable_for_get() {
    let s = cgi_site(&[("www/cgi/env.sh", ENV_SH)]);
    let mut c = s.connect();
    let port = c.sock.local_addr().unwrap().port().to_string();
    let req = b"GET /cgi/env.sh/extra/path?a=1&b=%20 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: t/1\r\nX-Dup: a\r\nX-Dup: b\r\nProxy: x\r\nAuthorization: Basic dXNlcjpwYXNz\r\nX_Real: evil\r\nX-Real: good\r\n\r\n";
    c.write(req);
    let r = c.response_to(req);
    let out = parse_env(&r);
    let script = canon(&s.path("www/cgi/env.sh"));
    let www = canon(&s.path("www"));
    assert_eq!(
        out.arg0,
        script.display().to_string(),
        "argv[1] is the script"
    );
    assert_eq!(
        out.cwd,
        canon(&s.path("www/cgi")).display().to_string(),
        "cwd"
    );
    assert_eq!(out.body, "", "stdin of a GET is empty");
    let version = format!("webserv/{}", env!("CARGO_PKG_VERSION"));
    let filename = script.display().to_string();
    let translated = format!("{}/extra/path", www.display());
    let want = map(&[
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("SERVER_SOFTWARE", &version),
        ("SERVER_NAME", "localhost"),
        ("SERVER_PORT", "8080"),
        ("REQUEST_METHOD", "GET"),
        ("REQUEST_URI", "/cgi/env.sh/extra/path?a=1&b=%20"),
        ("QUERY_STRING", "a=1&b=%20"),
        ("SCRIPT_NAME", "/cgi/env.sh"),
        ("SCRIPT_FILENAME", &filename),
        ("PATH_INFO", "/extra/path"),
        ("PATH_TRANSLATED", &translated),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", &port),
        ("REDIRECT_STATUS", "200"),
        ("REQUEST_SCHEME", "http"),
        ("HTTP_HOST", "localhost:8080"),
        ("HTTP_USER_AGENT", "t/1"),
        ("HTTP_X_DUP", "a, b"),
        ("HTTP_X_REAL", "good"),
    ]);
    assert_eq!(meta_vars(&out), want);
}

#[test]
fn env_for_post_without_query_or_path_info() {
    let s = cgi_site(&[("www/cgi/env.sh", ENV_SH)]);
    let mut c = s.connect();
    let port = c.sock.local_addr().unwrap().port().to_string();
    let req = b"POST /cgi/env.sh HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nq=hello";
    c.write(req);
    let out = parse_env(&c.response_to(req));
    assert_eq!(out.body, "q=hello", "stdin");
    let mut env = meta_vars(&out);
    // Optional: PATH_INFO empty rather than absent; the HTTP_ copies of the content
    // fields (RFC 3875 §4.1.18 lets the server drop them), but then with right values.
    if env.get("PATH_INFO").is_some_and(|v| v.is_empty()) {
        env.remove("PATH_INFO");
    }
    if let Some(v) = env.remove("HTTP_CONTENT_TYPE") {
        assert_eq!(v, "application/x-www-form-urlencoded");
    }
    if let Some(v) = env.remove("HTTP_CONTENT_LENGTH") {
        assert_eq!(v, "7");
    }
    let version = format!("webserv/{}", env!("CARGO_PKG_VERSION"));
    let filename = canon(&s.path("www/cgi/env.sh")).display().to_string();
    let want = map(&[
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("SERVER_SOFTWARE", &version),
        ("SERVER_NAME", "localhost"),
        ("SERVER_PORT", "8080"),
        ("REQUEST_METHOD", "POST"),
        ("REQUEST_URI", "/cgi/env.sh"),
        ("QUERY_STRING", ""),
        ("SCRIPT_NAME", "/cgi/env.sh"),
        ("SCRIPT_FILENAME", &filename),
        ("CONTENT_TYPE", "application/x-www-form-urlencoded"),
        ("CONTENT_LENGTH", "7"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", &port),
        ("REDIRECT_STATUS", "200"),
        ("REQUEST_SCHEME", "http"),
        ("HTTP_HOST", "localhost"),
    ]);
    assert_eq!(env, want);
}

#[test]
fn env_server_protocol_http10() {
    let s = cgi_site(&[("www/cgi/env.sh", ENV_SH)]);
    let mut c = s.connect();
    c.write(b"GET /cgi/env.sh HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let raw = c.read_to_close();
    let (head, body) = split_raw(&raw);
    assert!(
        head.starts_with("HTTP/1.1 200 ") || head.starts_with("HTTP/1.0 200 "),
        "{head}"
    );
    let text = String::from_utf8(body).unwrap();
    let env = text.split_once("\n--env--\n").expect("env section").1;
    assert!(
        env.lines().any(|l| l == "SERVER_PROTOCOL=HTTP/1.0"),
        "SERVER_PROTOCOL in {env}"
    );
}

#[test]
fn python_interpreter_gets_script_as_argv1_and_script_dir_as_cwd() {
    let py = "import json, os, sys\n\
              sys.stdout.write('Content-Type: application/json\\r\\n\\r\\n')\n\
              sys.stdout.write(json.dumps({'argv': sys.argv, 'cwd': os.getcwd()}))\n";
    let s = cgi_site(&[("www/cgi/sub/argv.py", py)]);
    let r = s.get("/cgi/sub/argv.py");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.h("content-type"), "application/json");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let script = canon(&s.path("www/cgi/sub/argv.py")).display().to_string();
    let dir = canon(&s.path("www/cgi/sub")).display().to_string();
    assert_eq!(v, serde_json::json!({ "argv": [script], "cwd": dir }));
}

#[test]
fn script_without_interpreter_is_executed_directly() {
    let sh =
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s|%s\\n' \"$0\" \"$(pwd -P)\"\n";
    let s = cgi_site(&[("www/cgi/direct.cgi", sh)]);
    let r = s.get("/cgi/direct.cgi");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        format!(
            "{}|{}\n",
            canon(&s.path("www/cgi/direct.cgi")).display(),
            canon(&s.path("www/cgi")).display()
        )
    );
}

// ---------------------------------------------------------------------------------------
// Request bodies

const ECHO_SH: &str = "printf 'Content-Type: application/octet-stream\\r\\n\\r\\n'\nexec cat\n";

#[test]
fn post_body_reaches_stdin_exactly() {
    let s = cgi_site(&[("www/cgi/echo.sh", ECHO_SH)]);
    let body: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let mut req = format!(
        "POST /cgi/echo.sh HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let mut c = s.connect();
    c.write(&req);
    let r = c.response_to(&req);
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-type"), "application/octet-stream");
    assert_eq!(r.body, body);
    // The connection is still usable.
    let req2 = b"POST /cgi/echo.sh HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc";
    c.write(req2);
    let r2 = c.response_to(req2);
    assert_eq!((r2.status, r2.body.as_slice()), (200, &b"abc"[..]));
}

#[test]
fn chunked_body_arrives_dechunked_with_content_length() {
    let s = cgi_site(&[("www/cgi/env.sh", ENV_SH)]);
    let req = b"POST /cgi/env.sh HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
    let mut c = s.connect();
    c.write(req);
    let out = parse_env(&c.response_to(req));
    assert_eq!(out.body, "hello world");
    assert_eq!(
        out.env.get("CONTENT_LENGTH").map(String::as_str),
        Some("11")
    );
    assert_eq!(
        out.env.get("CONTENT_TYPE").map(String::as_str),
        Some("text/plain")
    );
    assert_eq!(
        out.env.get("REQUEST_METHOD").map(String::as_str),
        Some("POST")
    );
}

#[test]
fn one_megabyte_echo_is_byte_exact() {
    let s = cgi_site(&[("www/cgi/echo.sh", ECHO_SH)]);
    let body = random_bytes(1 << 20, 42);
    let head = format!(
        "POST /cgi/echo.sh HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut c = s.connect();
    let r = exchange(&mut c, head.as_bytes(), body.clone());
    assert_eq!(r.status, 200);
    assert_eq!(r.h("transfer-encoding"), "chunked");
    assert_eq!(r.body.len(), body.len());
    assert!(r.body == body, "echoed bytes differ");
}

#[test]
fn one_megabyte_chunked_echo_is_byte_exact() {
    let s = cgi_site(&[("www/cgi/echo.sh", ECHO_SH)]);
    let body = random_bytes(1 << 20, 7);
    let mut chunked = Vec::new();
    for part in body.chunks(10_000) {
        chunked.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        chunked.extend_from_slice(part);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head =
        "POST /cgi/echo.sh HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut c = s.connect();
    let r = exchange(&mut c, head.as_bytes(), chunked);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), body.len());
    assert!(r.body == body, "echoed bytes differ");
}

#[test]
fn expect_100_continue_then_the_body_reaches_the_script() {
    let s = cgi_site(&[("www/cgi/echo.sh", ECHO_SH)]);
    let mut c = s.connect();
    c.write(b"POST /cgi/echo.sh HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    let interim = c.read_response(false);
    assert_eq!(interim.status, 100);
    c.write(b"hello");
    let r = c.read_response(false);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
}

#[test]
fn pipelined_requests_after_a_cgi_post_are_answered_in_order() {
    let s = cgi_site(&[("www/cgi/echo.sh", ECHO_SH)]);
    let mut c = s.connect();
    c.write(b"POST /cgi/echo.sh HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabcGET /other.txt HTTP/1.1\r\nHost: localhost\r\n\r\nPOST /cgi/echo.sh HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nxy");
    let r1 = c.read_response(false);
    assert_eq!((r1.status, r1.body.as_slice()), (200, &b"abc"[..]));
    let r2 = c.read_response(false);
    assert_eq!((r2.status, r2.body.as_slice()), (200, OTHER));
    let r3 = c.read_response(false);
    assert_eq!((r3.status, r3.body.as_slice()), (200, &b"xy"[..]));
}

// ---------------------------------------------------------------------------------------
// Output heads and framing

#[test]
fn status_header_is_honoured() {
    let sh = "printf 'Status: 404 Not Found\\r\\nContent-Type: text/plain\\r\\n\\r\\nnope\\n'\n";
    let s = cgi_site(&[("www/cgi/status.sh", sh)]);
    let r = s.get("/cgi/status.sh");
    assert_eq!(r.status, 404);
    assert_eq!(r.reason, "Not Found");
    assert_eq!(r.h("content-type"), "text/plain");
    assert_eq!(r.text(), "nope\n");
    assert_eq!(
        r.header("status"),
        None,
        "the Status field is not forwarded"
    );
}

#[test]
fn content_type_and_two_set_cookies_pass_through() {
    let sh = "printf 'Content-Type: text/html; charset=utf-8\\r\\nSet-Cookie: a=1; Path=/\\r\\nSet-Cookie: b=2\\r\\nX-Custom: yes\\r\\n\\r\\n<p>hi</p>'\n";
    let s = cgi_site(&[("www/cgi/cookies.sh", sh)]);
    let r = s.get("/cgi/cookies.sh");
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-type"), "text/html; charset=utf-8");
    assert_eq!(all(&r, "set-cookie"), vec!["a=1; Path=/", "b=2"]);
    assert_eq!(r.h("x-custom"), "yes");
    assert_eq!(r.text(), "<p>hi</p>");
}

#[test]
fn header_lines_ended_by_lf_alone_are_accepted() {
    let sh = "printf 'Content-Type: text/plain\\nX-Lf: 1\\n\\nbody\\n'\n";
    let s = cgi_site(&[("www/cgi/lf.sh", sh)]);
    let r = s.get("/cgi/lf.sh");
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-type"), "text/plain");
    assert_eq!(r.h("x-lf"), "1");
    assert_eq!(r.text(), "body\n");
}

const HELLO_SH: &str = "printf 'Content-Type: text/plain\\r\\n\\r\\n'\nprintf 'hello world\\n'\n";

#[test]
fn output_without_length_is_chunked_on_http11_and_keeps_the_connection() {
    let sh = "printf 'Content-Type: text/plain\\r\\n\\r\\n'\ni=0\nwhile [ $i -lt 200 ]; do printf 'line %d\\n' $i; i=$((i+1)); done\n";
    let s = cgi_site(&[("www/cgi/lines.sh", sh)]);
    let want: String = (0..200).map(|i| format!("line {i}\n")).collect();
    let mut c = s.connect();
    let req = b"GET /cgi/lines.sh HTTP/1.1\r\nHost: localhost\r\n\r\n";
    for _ in 0..2 {
        c.write(req);
        let r = c.response_to(req);
        assert_eq!(r.status, 200);
        assert_eq!(r.h("transfer-encoding"), "chunked");
        assert_eq!(r.header("content-length"), None);
        assert!(!r.closes(), "{:?}", r.headers);
        assert_eq!(r.text(), want);
    }
    assert!(c.leftover().is_empty());
}

#[test]
fn http10_request_gets_a_close_delimited_body() {
    let s = cgi_site(&[("www/cgi/hello.sh", HELLO_SH)]);
    let mut c = s.connect();
    c.write(b"GET /cgi/hello.sh HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let raw = c.read_to_close();
    let (head, body) = split_raw(&raw);
    let lower = head.to_ascii_lowercase();
    assert!(
        head.starts_with("HTTP/1.1 200 ") || head.starts_with("HTTP/1.0 200 "),
        "{head}"
    );
    assert!(!lower.contains("transfer-encoding"), "{head}");
    assert!(!lower.contains("content-length"), "{head}");
    assert!(!lower.contains("keep-alive"), "{head}");
    assert_eq!(body, b"hello world\n");
}

#[test]
fn script_content_length_is_used_instead_of_chunked() {
    let sh = "printf 'Content-Type: text/plain\\r\\nContent-Length: 5\\r\\n\\r\\nhello'\n";
    let s = cgi_site(&[("www/cgi/len.sh", sh)]);
    let mut c = s.connect();
    let req = b"GET /cgi/len.sh HTTP/1.1\r\nHost: localhost\r\n\r\n";
    for _ in 0..2 {
        c.write(req);
        let r = c.response_to(req);
        assert_eq!(r.status, 200);
        assert_eq!(r.h("content-length"), "5");
        assert_eq!(r.header("transfer-encoding"), None);
        assert_eq!(r.text(), "hello");
    }
    assert!(c.leftover().is_empty());
}

#[test]
fn script_writing_more_than_its_content_length_is_cut_to_it() {
    let sh = "printf 'Content-Type: text/plain\\r\\nContent-Length: 5\\r\\n\\r\\nhelloEXTRA'\n";
    let s = cgi_site(&[("www/cgi/long.sh", sh)]);
    let mut c = s.connect();
    let req = b"GET /cgi/long.sh HTTP/1.1\r\nHost: localhost\r\n\r\n";
    c.write(req);
    let r = c.response_to(req);
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    assert_eq!(r.h("content-length"), "5");
    // The excess never reaches the client as the start of a "next response".
    if r.closes() {
        c.assert_closed();
    } else {
        let req2 = b"GET /other.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
        c.write(req2);
        let r2 = c.response_to(req2);
        assert_eq!((r2.status, r2.body.as_slice()), (200, OTHER));
    }
}

#[test]
fn script_writing_less_than_its_content_length_closes_the_connection() {
    let sh = "printf 'Content-Type: text/plain\\r\\nContent-Length: 10\\r\\n\\r\\nhello'\n";
    let s = cgi_site(&[("www/cgi/short.sh", sh)]);
    let mut c = s.connect();
    c.write(b"GET /cgi/short.sh HTTP/1.1\r\nHost: localhost\r\n\r\n");
    // Not a hang until some timeout: EOF right after the 5 bytes.
    let start = Instant::now();
    let raw = c.read_to_close();
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "EOF only after {:?}",
        start.elapsed()
    );
    let (head, body) = split_raw(&raw);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(head.contains("\r\nContent-Length: 10"), "{head}");
    assert_eq!(body, b"hello");
}

#[test]
fn local_location_is_served_internally() {
    let sh = "printf 'Location: /other.txt\\r\\n\\r\\n'\n";
    let s = cgi_site(&[("www/cgi/local.sh", sh)]);
    let mut c = s.connect();
    let req = b"GET /cgi/local.sh HTTP/1.1\r\nHost: localhost\r\n\r\n";
    c.write(req);
    let r = c.response_to(req);
    assert_eq!(r.status, 200, "{:?}", r.headers);
    assert_eq!(r.header("location"), None);
    assert_eq!(r.h("content-length"), OTHER.len().to_string());
    assert_eq!(r.body, OTHER);
    // Exactly what the file itself is served with; and the connection goes on.
    let req2 = b"GET /other.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
    c.write(req2);
    let direct = c.response_to(req2);
    assert_eq!(direct.body, OTHER);
    assert_eq!(r.h("content-type"), direct.h("content-type"));
    assert_eq!(r.header("etag"), direct.header("etag"));
}

/// A script that redirects to itself: after five local redirects the client gets a
/// 500, not a connection closed without an answer.
#[test]
fn local_redirect_loop_is_a_500() {
    let sh = "printf 'Location: /cgi/loop.sh\\r\\n\\r\\n'\n";
    let s = cgi_site(&[("www/cgi/loop.sh", sh)]);
    let mut c = s.connect();
    let req = b"GET /cgi/loop.sh HTTP/1.1\r\nHost: localhost\r\n\r\n";
    c.write(req);
    let r = c.response_to(req);
    assert_eq!(r.status, 500, "{:?}", r.headers);
    assert_eq!(r.h("connection"), "close");
}

/// The redirect limit is per request: a keep-alive connection can fetch a redirecting
/// script more than five times.
#[test]
fn local_redirects_are_counted_per_request() {
    let sh = "printf 'Location: /other.txt\\r\\n\\r\\n'\n";
    let s = cgi_site(&[("www/cgi/local.sh", sh)]);
    let mut c = s.connect();
    let req = b"GET /cgi/local.sh HTTP/1.1\r\nHost: localhost\r\n\r\n";
    for i in 0..8 {
        c.write(req);
        let r = c.response_to(req);
        assert_eq!((i, r.status), (i, 200), "{:?}", r.headers);
        assert_eq!(r.body, OTHER);
    }
}

#[test]
fn absolute_location_is_a_302() {
    let sh = "printf 'Location: http://example.invalid/x\\r\\n\\r\\n'\n";
    let s = cgi_site(&[("www/cgi/away.sh", sh)]);
    let r = s.get("/cgi/away.sh");
    assert_eq!(r.status, 302);
    assert_eq!(r.h("location"), "http://example.invalid/x");
    assert_eq!(all(&r, "location").len(), 1);
    assert_eq!(r.body, b"");
}

#[test]
fn head_gets_headers_without_body() {
    let len_sh = "printf 'Content-Type: text/plain\\r\\nContent-Length: 5\\r\\n\\r\\nhello'\n";
    let s = cgi_site(&[("www/cgi/hello.sh", HELLO_SH), ("www/cgi/len.sh", len_sh)]);
    let mut c = s.connect();
    let head = b"HEAD /cgi/hello.sh HTTP/1.1\r\nHost: localhost\r\n\r\n";
    c.write(head);
    let r = c.response_to(head);
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-type"), "text/plain");
    // RFC 9110 §8.6: a Content-Length on HEAD must be what GET would send (12 bytes here,
    // where GET itself is chunked); absent is fine too.
    assert!(
        r.header("content-length").is_none_or(|v| v == "12"),
        "HEAD Content-Length {:?} but GET sends 12 bytes",
        r.header("content-length")
    );
    let head2 = b"HEAD /cgi/len.sh HTTP/1.1\r\nHost: localhost\r\n\r\n";
    c.write(head2);
    let r = c.response_to(head2);
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-length"), "5");
    // No body bytes slipped in: the next response parses right after.
    let get = b"GET /cgi/len.sh HTTP/1.1\r\nHost: localhost\r\n\r\n";
    c.write(get);
    let r = c.response_to(get);
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    assert!(c.leftover().is_empty(), "{:?}", c.leftover());
}

// ---------------------------------------------------------------------------------------
// Faults

fn assert_502(sh: &str) {
    let s = cgi_site(&[("www/cgi/bad.sh", sh)]);
    let r = s.get("/cgi/bad.sh");
    assert_eq!(r.status, 502, "script {sh:?}: {:?} {}", r.headers, r.text());
    // The server survives.
    assert_eq!(s.get("/other.txt").body, OTHER);
}

#[test]
fn output_without_header_block_is_502() {
    assert_502("printf 'just a body\\n'\n");
}

#[test]
fn empty_output_is_502() {
    assert_502("exit 0\n");
}

#[test]
fn non_zero_exit_before_headers_is_502() {
    assert_502("exit 3\n");
}

#[test]
fn death_after_headers_cuts_the_chunked_body() {
    let sh = "printf 'Content-Type: text/plain\\r\\n\\r\\npartial'\nkill -9 $$\n";
    let s = cgi_site(&[("www/cgi/die.sh", sh)]);
    let mut c = s.connect();
    c.write(b"GET /cgi/die.sh HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let raw = c.read_to_close();
    let (head, body) = split_raw(&raw);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    assert_eq!(
        String::from_utf8_lossy(&body),
        "7\r\npartial\r\n",
        "EOF must come before any last-chunk"
    );
}

const SLEEP_SH_TAIL: &str = "sleep 5\nprintf 'Content-Type: text/plain\\r\\n\\r\\nlate\\n'\n";

#[test]
fn timeout_is_504_and_the_script_is_killed() {
    let s = cgi_site(&[]);
    let pidfile = s.path("sleep.pid");
    script(
        &s.path("www/cgi/sleep.sh"),
        &(write_pid(&pidfile) + SLEEP_SH_TAIL),
    );
    let start = Instant::now();
    let r = s.get("/cgi/sleep.sh");
    let took = start.elapsed();
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "504 after {took:?} with cgi_timeout 1s"
    );
    let pid = wait_pid(&pidfile, Duration::from_secs(1));
    assert!(
        wait_until(GONE, || gone(pid)),
        "timed-out script not killed and reaped: {}",
        describe(pid)
    );
}

#[test]
fn timeout_after_headers_cuts_the_response() {
    let sh = "printf 'Content-Type: text/plain\\r\\n\\r\\nx'\nsleep 5\n";
    let s = cgi_site(&[("www/cgi/stall.sh", sh)]);
    let mut c = s.connect();
    let start = Instant::now();
    c.write(b"GET /cgi/stall.sh HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let raw = c.read_to_close();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "closed after {took:?} with cgi_timeout 1s"
    );
    let (head, body) = split_raw(&raw);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(
        String::from_utf8_lossy(&body),
        "1\r\nx\r\n",
        "EOF must come before any last-chunk"
    );
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let s = cgi_site(&[]);
    let pidfile = s.path("parent.pid");
    let gcfile = s.path("grandchild.pid");
    let g = gcfile.display();
    let text = format!(
        "sleep 60 &\necho $! > '{g}.tmp' && mv '{g}.tmp' '{g}'\n{}wait\n",
        write_pid(&pidfile)
    );
    script(&s.path("www/cgi/spawn.sh"), &text);
    let start = Instant::now();
    let r = s.get("/cgi/spawn.sh");
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let pid = wait_pid(&pidfile, Duration::from_secs(1));
    let gc = wait_pid(&gcfile, Duration::from_secs(1));
    assert!(
        wait_until(GONE, || gone(pid)),
        "script not killed and reaped: {}",
        describe(pid)
    );
    assert!(
        wait_until(GONE, || dead(gc)),
        "background grandchild survived the timeout: {}",
        describe(gc)
    );
}

#[test]
fn client_disconnect_kills_the_script() {
    let s = cgi_site(&[]);
    let pidfile = s.path("slow.pid");
    script(
        &s.path("www/slow/wait.sh"),
        &(write_pid(&pidfile) + SLEEP_SH_TAIL),
    );
    let mut c = s.connect();
    c.write(b"GET /slow/wait.sh HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let pid = wait_pid(&pidfile, Duration::from_secs(3));
    drop(c);
    // The script sleeps 5 s and the location's timeout is 10 s: only the disconnect can
    // end it within the deadline.
    assert!(
        wait_until(Duration::from_millis(2500), || gone(pid)),
        "script still running 2.5 s after the client left: {}",
        describe(pid)
    );
}

#[test]
fn script_ignoring_stdin_still_answers() {
    let sh = "printf 'Content-Type: text/plain\\r\\n\\r\\nignored\\n'\n";
    let s = cgi_site(&[("www/cgi/ignore.sh", sh)]);
    let body = vec![b'x'; 1 << 20];
    let head = format!(
        "POST /cgi/ignore.sh HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut c = s.connect();
    let r = exchange(&mut c, head.as_bytes(), body);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "ignored\n");
    // No hang: the connection either serves the next request or is closed.
    if r.closes() {
        c.assert_closed();
    } else {
        let req = b"GET /other.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
        c.write(req);
        let r2 = c.response_to(req);
        assert_eq!((r2.status, r2.body.as_slice()), (200, OTHER));
    }
}

// ---------------------------------------------------------------------------------------
// Script resolution

#[test]
fn missing_script_is_404() {
    let s = cgi_site(&[]);
    std::fs::create_dir_all(s.path("www/cgi")).unwrap();
    assert_eq!(s.get("/cgi/missing.sh").status, 404);
    assert_eq!(s.get("/cgi/missing.sh/with/path/info").status, 404);
}

#[test]
fn symlink_to_a_script_outside_the_root_is_never_executed() {
    let s = cgi_site(&[]);
    let marker = s.path("marker");
    let outside = s.path("outside.sh");
    script(
        &outside,
        &format!(
            "touch '{}'\nprintf 'Content-Type: text/plain\\r\\n\\r\\nran\\n'\n",
            marker.display()
        ),
    );
    std::fs::create_dir_all(s.path("www/cgi")).unwrap();
    std::os::unix::fs::symlink(&outside, s.path("www/cgi/link.sh")).unwrap();
    let r = s.get("/cgi/link.sh");
    assert!(
        r.status == 403 || r.status == 404,
        "symlink out of the root answered {} {:?}",
        r.status,
        r.text()
    );
    assert!(!marker.exists(), "the outside script was executed");
}

#[test]
fn sh_file_outside_a_cgi_location_is_static() {
    let s = cgi_site(&[("www/plain/hello.sh", HELLO_SH)]);
    let marker_free = HELLO_SH.as_bytes();
    let r = s.get("/plain/hello.sh");
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-length"), marker_free.len().to_string());
    assert_eq!(r.body, marker_free, "served as bytes, not executed");
}

// ---------------------------------------------------------------------------------------
// Concurrency

#[test]
fn hanging_cgi_does_not_block_static_requests() {
    let s = cgi_site(&[]);
    let pidfile = s.path("hang.pid");
    script(
        &s.path("www/cgi/hang.sh"),
        &(write_pid(&pidfile) + SLEEP_SH_TAIL),
    );
    let mut hung = s.connect();
    let req = b"GET /cgi/hang.sh HTTP/1.1\r\nHost: localhost\r\n\r\n";
    hung.write(req);
    wait_pid(&pidfile, Duration::from_secs(3));
    let start = Instant::now();
    for _ in 0..20 {
        let r = s.get("/other.txt");
        assert_eq!((r.status, r.body.as_slice()), (200, OTHER));
    }
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "20 static requests took {took:?} beside a hanging CGI"
    );
    assert_eq!(hung.response_to(req).status, 504);
}

// ---------------------------------------------------------------------------------------
// The real binary: zombies and the memory of a 100 MB echo

/// A `webserv run` child, killed on drop.
struct RealServer {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl RealServer {
    fn start(scripts: &[(&str, String)]) -> RealServer {
        RealServer::start_with(scripts, None)
    }

    /// Starts the server with only stdio open (whatever the test process holds), plus,
    /// with `leak`, `/dev/null` on that descriptor without close-on-exec.
    fn start_with(scripts: &[(&str, String)], leak: Option<i32>) -> RealServer {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = CONF.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
        write_file(&dir.path().join("site.conf"), conf.as_bytes());
        write_file(&dir.path().join("www/other.txt"), OTHER);
        for (name, text) in scripts {
            script(&dir.path().join(name), text);
        }
        let mut cmd = Command::new(BIN);
        cmd.args(["run", "site.conf", "--workers", "1"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls (close_range, open, dup2, close) between
        // fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::close_range(3, libc::c_uint::MAX, 0);
                if let Some(target) = leak {
                    let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
                    if fd >= 0 && fd != target {
                        libc::dup2(fd, target);
                        libc::close(fd);
                    }
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn webserv");
        let mut s = RealServer {
            child,
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&s.addr, Duration::from_millis(200)).is_err() {
            assert!(
                s.child.try_wait().unwrap().is_none(),
                "webserv exited before listening"
            );
            assert!(Instant::now() < deadline, "webserv not listening");
            std::thread::sleep(Duration::from_millis(10));
        }
        s
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn get(&self, path: &str) -> Response {
        let mut c = Client::connect(self.addr);
        let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        c.write(req.as_bytes());
        c.read_response(false)
    }

    /// The server's children, with their states.
    fn children(&self) -> Vec<(i32, char)> {
        let me = self.pid();
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter_map(|pid| {
                let (state, ppid) = proc_stat(pid)?;
                (ppid == me).then_some((pid, state))
            })
            .collect()
    }

    fn status_kib(&self, field: &str) -> u64 {
        status_kib(self.pid() as u32, field)
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn children_are_always_reaped() {
    let scripts = [
        ("www/cgi/hello.sh", HELLO_SH.to_string()),
        ("www/cgi/fail.sh", "exit 3\n".to_string()),
        ("www/cgi/nohead.sh", "printf 'just a body\\n'\n".to_string()),
        (
            "www/cgi/die.sh",
            "printf 'Content-Type: text/plain\\r\\n\\r\\npartial'\nkill -9 $$\n".to_string(),
        ),
        ("www/cgi/sleep.sh", SLEEP_SH_TAIL.to_string()),
    ];
    let srv = RealServer::start(&scripts);
    let _ = &srv.dir;
    // One request runs into the timeout while the others come and go.
    let mut slow = Client::connect(srv.addr);
    let slow_req = b"GET /cgi/sleep.sh HTTP/1.1\r\nHost: localhost\r\n\r\n";
    slow.write(slow_req);
    for _ in 0..3 {
        let r = srv.get("/cgi/hello.sh");
        assert_eq!((r.status, r.text().as_str()), (200, "hello world\n"));
        assert_eq!(srv.get("/cgi/fail.sh").status, 502);
        assert_eq!(srv.get("/cgi/nohead.sh").status, 502);
        let mut c = Client::connect(srv.addr);
        c.write(b"GET /cgi/die.sh HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert!(c.try_read_response(false).is_none(), "die.sh ended cleanly");
    }
    assert_eq!(slow.response_to(slow_req).status, 504);
    let mut last = Vec::new();
    let ok = wait_until(Duration::from_secs(3), || {
        last = srv.children();
        last.is_empty()
    });
    assert!(
        ok,
        "children of the server left (pid, state): {last:?} (zombies: {:?})",
        last.iter().filter(|(_, s)| *s == 'Z').collect::<Vec<_>>()
    );
    assert!(srv.get("/other.txt").status == 200, "server still serves");
}

/// Deterministic bytes generated block by block (xorshift), never held whole.
struct Gen(u64);

impl Gen {
    fn fill(&mut self, buf: &mut [u8]) {
        for w in buf.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            w.copy_from_slice(&self.0.to_le_bytes()[..w.len()]);
        }
    }
}

/// Compares a byte stream against [`Gen`] output as it arrives.
struct Checker {
    stream: Gen,
    block: Vec<u8>,
    pos: usize,
    seen: u64,
}

impl Checker {
    fn check(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.pos == self.block.len() {
                self.stream.fill(&mut self.block);
                self.pos = 0;
            }
            let n = data.len().min(self.block.len() - self.pos);
            assert!(
                data[..n] == self.block[self.pos..self.pos + n],
                "echoed bytes differ near offset {}",
                self.seen
            );
            self.pos += n;
            self.seen += n as u64;
            data = &data[n..];
        }
    }
}

#[test]
fn hundred_megabyte_echo_keeps_memory_bounded() {
    const SIZE: u64 = 100 << 20;
    const BLOCK: usize = 64 * 1024;
    const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
    let srv = RealServer::start(&[("www/cgi/echo.sh", ECHO_SH.to_string())]);
    // Warm up: a small echo, so buffers and pools exist before the baseline.
    let mut c = Client::connect(srv.addr);
    let warm = b"POST /cgi/echo.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nwarm";
    c.write(warm);
    assert_eq!(c.response_to(warm).body, b"warm");
    drop(c);
    let rss_before = srv.status_kib("VmRSS:");

    let sock = TcpStream::connect(srv.addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    sock.set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut w = sock.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        w.write_all(
            format!("POST /cgi/echo.sh HTTP/1.1\r\nHost: x\r\nContent-Length: {SIZE}\r\n\r\n")
                .as_bytes(),
        )?;
        let mut stream = Gen(SEED);
        let mut buf = vec![0u8; BLOCK];
        let mut sent = 0u64;
        while sent < SIZE {
            stream.fill(&mut buf);
            w.write_all(&buf)?;
            sent += BLOCK as u64;
        }
        std::io::Result::Ok(())
    });
    let mut rd = BufReader::with_capacity(BLOCK, sock);
    let mut line = String::new();
    rd.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200 "), "status line {line:?}");
    let mut chunked = false;
    loop {
        line.clear();
        rd.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        assert!(!line.is_empty(), "EOF in the response head");
        if line.eq_ignore_ascii_case("transfer-encoding: chunked\r\n") {
            chunked = true;
        }
    }
    assert!(chunked, "the echo is chunked");
    let mut checker = Checker {
        stream: Gen(SEED),
        block: vec![0u8; BLOCK],
        pos: BLOCK,
        seen: 0,
    };
    let mut buf = vec![0u8; BLOCK];
    loop {
        line.clear();
        rd.read_line(&mut line).unwrap();
        let size = u64::from_str_radix(line.trim_end(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size line {line:?} after {}", checker.seen));
        if size == 0 {
            line.clear();
            rd.read_line(&mut line).unwrap();
            assert_eq!(line, "\r\n");
            break;
        }
        let mut left = size as usize;
        while left > 0 {
            let n = left.min(BLOCK);
            rd.read_exact(&mut buf[..n]).unwrap();
            checker.check(&buf[..n]);
            left -= n;
        }
        let mut crlf = [0u8; 2];
        rd.read_exact(&mut crlf).unwrap();
        assert_eq!(&crlf, b"\r\n");
    }
    writer.join().unwrap().expect("request body written");
    assert_eq!(checker.seen, SIZE);
    let peak = srv.status_kib("VmHWM:");
    let growth = peak.saturating_sub(rss_before);
    assert!(
        growth < 32 * 1024,
        "RSS grew by {growth} KiB during a 100 MB CGI echo (before {rss_before} KiB, peak {peak} KiB)"
    );
}

/// Lists the child's descriptors as `fd target` lines (`closed` for the one `listdir`
/// used, gone again by the time of `readlink`).
const FDS_PY: &str = "import os
fds = sorted(int(x) for x in os.listdir('/proc/self/fd'))
out = []
for fd in fds:
    try:
        t = os.readlink('/proc/self/fd/%d' % fd)
    except OSError:
        t = 'closed'
    out.append('%d %s' % (fd, t))
os.write(1, ('Content-Type: text/plain\\r\\n\\r\\n' + '\\n'.join(out) + '\\n').encode())
";

/// Asserts the FDS_PY output shows stdio pipes and nothing else but listdir's fd.
fn assert_only_stdio(r: &Response) {
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let entries: Vec<(i32, &str)> = text
        .lines()
        .map(|l| {
            let (fd, t) = l.split_once(' ').unwrap();
            (fd.parse().unwrap(), t)
        })
        .collect();
    let open: Vec<(i32, &str)> = entries
        .iter()
        .copied()
        .filter(|(_, t)| *t != "closed")
        .collect();
    let fds: Vec<i32> = open.iter().map(|(fd, _)| *fd).collect();
    assert_eq!(fds, vec![0, 1, 2], "open descriptors in the child:\n{text}");
    assert!(
        entries.len() <= 4,
        "more than stdio + listdir's fd:\n{text}"
    );
    // A request without a body gets /dev/null as stdin; stdout and stderr are pipes.
    for (fd, t) in open {
        let ok = t.starts_with("pipe:") || (fd == 0 && t == "/dev/null");
        assert!(ok, "fd {fd} is {t}, not a pipe:\n{text}");
    }
}

// The real binary, started with only stdio: whatever the CGI sees beyond 0-2 is the
// server's own (its listeners, epoll, pipes of other requests, log files).
#[test]
fn child_inherits_no_fds_beyond_stdio() {
    let srv = RealServer::start(&[("www/cgi/fds.py", FDS_PY.to_string())]);
    // Another connection stays open meanwhile, so there is more than the listener to leak.
    let mut other = Client::connect(srv.addr);
    let r = srv.get("/cgi/fds.py");
    assert_only_stdio(&r);
    other.write(b"GET /other.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(other.read_response(false).body, OTHER);
}

// "No inherited fds" also covers descriptors the server itself was started with (a
// launcher's stray fd): the child must not see them either.
#[test]
fn child_does_not_get_fds_the_server_inherited() {
    let srv = RealServer::start_with(&[("www/cgi/fds.py", FDS_PY.to_string())], Some(9));
    let r = srv.get("/cgi/fds.py");
    assert_only_stdio(&r);
}

// On the real binary so that the 1 MB of error-log lines go to /dev/null.
#[test]
fn stderr_flood_does_not_block_the_script() {
    let sh = "head -c 1048576 /dev/zero | tr '\\000' e >&2\nprintf 'Content-Type: text/plain\\r\\n\\r\\ndone\\n'\n";
    let srv = RealServer::start(&[("www/cgi/noisy.sh", sh.to_string())]);
    let r = srv.get("/cgi/noisy.sh");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "done\n");
}

#[test]
fn pipelined_file_cgi_file_are_answered_in_order() {
    let hi = "printf 'Content-Type: text/plain\\r\\n\\r\\nhi'\n";
    let s = cgi_site(&[("www/cgi/hi.sh", hi)]);
    let mut c = s.connect();
    let get = |p: &str| format!("GET {p} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    c.write(
        format!(
            "{}{}{}",
            get("/other.txt"),
            get("/cgi/hi.sh"),
            get("/other.txt")
        )
        .as_bytes(),
    );
    assert_eq!(c.read_response(false).body, OTHER);
    assert_eq!(c.read_response(false).body, b"hi");
    assert_eq!(c.read_response(false).body, OTHER);
}
