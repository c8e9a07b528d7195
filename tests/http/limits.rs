//! Size limits and paths escaping the root (bad request lines, headers, versions and
//! the status-only limit cases are rows in `statuses.rs`).

use crate::common::*;

const CONF: &str = r#"
server {
    listen 127.0.0.1:8080;
    root www;
    location /small/ {
        allow_methods GET POST;
        client_max_body_size 10;
    }
}
"#;

fn site() -> Site {
    Site::new(
        CONF,
        &[
            ("www/a.txt", b"A"),
            ("www/a/b/c.txt", b"c"),
            ("www/small/x", b"x"),
        ],
    )
}

#[test]
fn body_over_limit_is_413_and_close() {
    let s = site();
    let mut c = s.connect();
    // Announce a large body but send only part of it: the answer must not wait for it.
    c.write(b"POST /small/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
    c.write(&[b'z'; 1000]);
    let r = c.read_response(false);
    assert_eq!(r.status, 413);
    assert!(r.closes(), "{:?}", r.headers);
    // After the 413 the connection closes (not reused for the rest of the body).
    let _ = c.try_write(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    let rest = c.read_to_close();
    assert!(
        find(&rest, b"HTTP/1.1 200").is_none(),
        "connection was reused after 413: {:?}",
        String::from_utf8_lossy(&rest)
    );
    // A body within the limit is fine.
    let r = s.send(b"GET /small/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789");
    assert_eq!(r.status, 200);
}

fn assert_no_leak(r: &Response, target: &str) {
    assert_ne!(r.status, 200, "{target} was served");
    assert!(
        find(&r.body, CANARY).is_none(),
        "{target} leaked the file above the root"
    );
}

#[test]
fn traversal_never_leaves_the_root() {
    let s = site();
    for target in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/a/%2e%2e/%2e%2e/secret.txt",
        "/a/b/../../../secret.txt",
        "/..%2fsecret.txt",
        "/a/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/secret.txt%00",
        "/%00/../secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/%c0%ae%c0%ae%c0%afsecret.txt",
        "/.%2e/secret.txt",
        "/..",
        "..",
        "../secret.txt",
    ] {
        let r = s.send(format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
        assert_no_leak(&r, target);
    }
}

#[test]
fn traversal_status_is_400_or_403_or_404() {
    let s = site();
    for target in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/a/%2e%2e/%2e%2e/secret.txt",
    ] {
        let r = s.send(format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
        assert!(
            [400, 403, 404].contains(&r.status),
            "{target}: {}",
            r.status
        );
    }
}

#[test]
fn symlink_out_of_root_is_not_served() {
    let s = site();
    std::os::unix::fs::symlink(s.path("secret.txt"), s.path("www/link.txt")).unwrap();
    std::os::unix::fs::symlink(s.dir.path(), s.path("www/linkdir")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", s.path("www/rel.txt")).unwrap();
    for target in ["/link.txt", "/linkdir/secret.txt", "/rel.txt"] {
        let r = s.get(target);
        assert!(
            r.status == 403 || r.status == 404,
            "{target}: status {}",
            r.status
        );
        assert!(find(&r.body, CANARY).is_none(), "{target} leaked");
    }
    // A symlink that stays inside the root is fine.
    std::os::unix::fs::symlink("a.txt", s.path("www/inside.txt")).unwrap();
    let r = s.get("/inside.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"A");
}

#[test]
fn endless_request_line_is_refused_not_buffered() {
    let s = site();
    let mut c = s.connect();
    // 64 KiB of target with no end: the answer comes as soon as the limit is passed.
    let mut req = b"GET /".to_vec();
    req.extend(std::iter::repeat_n(b'a', 64 * 1024));
    let _ = c.try_write(&req);
    let r = c.read_response(false);
    assert_eq!(r.status, 414);
    // Garbage that is not even a method.
    let mut c = s.connect();
    let _ = c.try_write(&[b'\x01'; 40 * 1024]);
    let r = c.read_response(false);
    assert_eq!(r.status, 400);
}

#[test]
fn many_concurrent_connections_are_all_served() {
    let s = site();
    let mut clients: Vec<Client> = (0..200).map(|_| s.connect()).collect();
    for c in &mut clients {
        c.write(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    for c in &mut clients {
        let r = c.read_response(false);
        assert_eq!((r.status, r.body.as_slice()), (200, &b"A"[..]));
    }
}
