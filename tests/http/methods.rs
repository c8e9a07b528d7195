//! `allow_methods`, 405 + `Allow`, DELETE (unknown and invalid method tokens are rows in
//! `statuses.rs`).

use crate::common::*;

const CONF: &str = r#"
server {
    listen 127.0.0.1:8080;
    root www;
    location / {
        allow_methods GET;
    }
    location /ro/ {
        allow_methods GET POST;
    }
    location /files/ {
        allow_methods GET DELETE;
    }
}
"#;

fn site() -> Site {
    Site::new(
        CONF,
        &[
            ("www/a.txt", b"a"),
            ("www/files/victim.txt", b"delete me"),
            ("www/files/sub/keep.txt", b"keep"),
            ("www/ro/f.txt", b"f"),
        ],
    )
}

#[test]
fn not_allowed_method_is_405_with_allow() {
    let s = site();
    let r = s.send(b"DELETE /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 405);
    assert_eq!(r.h("allow"), "GET, HEAD");
    assert!(s.path("www/a.txt").exists());
    let r = s.send(b"PUT /ro/f.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx");
    assert_eq!(r.status, 405);
    assert_eq!(r.h("allow"), "GET, HEAD, POST");
}

#[test]
fn get_implies_head() {
    let s = site();
    let r = s.send(b"HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-length"), "1");
}

#[test]
fn delete_file_is_204_and_gone() {
    let s = site();
    let r = s.send(b"DELETE /files/victim.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert!(!s.path("www/files/victim.txt").exists());
    assert_eq!(s.get("/files/victim.txt").status, 404);
}

#[test]
fn delete_directory_is_409() {
    let s = site();
    for target in ["/files/sub/", "/files/sub"] {
        let r = s.send(format!("DELETE {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        assert_eq!(r.status, 409, "{target}");
    }
    assert!(s.path("www/files/sub/keep.txt").exists());
}

#[test]
fn delete_not_allowed_is_405() {
    let s = site();
    let r = s.send(b"DELETE /ro/f.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 405);
    assert_eq!(r.h("allow"), "GET, HEAD, POST");
    assert!(s.path("www/ro/f.txt").exists());
}
