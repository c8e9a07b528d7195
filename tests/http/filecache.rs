//! The open-file cache (`src/server/filecache.rs`): a client never reads the server's own
//! writes stale (PUT, DELETE, a CGI writing a file), a change made behind the server's
//! back shows within the cache's TTL, and cached bytes serve ranges and large files
//! exactly.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::common::*;

const CONF: &str = r#"
server {
    listen 127.0.0.1:8080;
    root www;
    location /up/ {
        upload_store www/up;
        allow_methods GET PUT DELETE;
    }
    location /cgi/ {
        cgi .sh /bin/sh;
    }
}
"#;

/// The cache's TTL (1 s) with room for a slow machine.
const TTL_BOUND: Duration = Duration::from_secs(3);

fn site() -> Site {
    Site::new(
        CONF,
        &[
            ("www/up/a.txt", b"old"),
            ("www/page.txt", b"first version"),
            ("www/big.bin", &random_bytes(100 * 1024, 7)),
        ],
    )
}

#[test]
fn delete_is_seen_at_once() {
    let s = site();
    assert_eq!(s.get("/up/a.txt").body, b"old", "now cached");
    let r = s.send(b"DELETE /up/a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 204);
    assert_eq!(s.get("/up/a.txt").status, 404);
}

#[test]
fn put_replacement_is_seen_at_once() {
    let s = site();
    assert_eq!(s.get("/up/a.txt").body, b"old", "now cached");
    let r = s.send(b"PUT /up/a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nnew content");
    assert_eq!(r.status, 204);
    let r = s.get("/up/a.txt");
    assert_eq!(r.body, b"new content");
    assert_eq!(r.h("content-length"), "11");
}

#[test]
fn a_cgi_write_is_seen_at_once() {
    let s = site();
    assert_eq!(s.get("/page.txt").body, b"first version", "now cached");
    let script = s.path("www/cgi/write.sh");
    write_file(
        &script,
        b"printf 'second' > ../page.txt\nprintf 'Content-Type: text/plain\\r\\n\\r\\nok'\n",
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = s.get("/cgi/write.sh");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
    assert_eq!(s.get("/page.txt").body, b"second");
}

#[test]
fn a_change_behind_the_servers_back_shows_within_the_ttl() {
    let s = site();
    assert_eq!(s.get("/page.txt").body, b"first version", "now cached");
    let changed = Instant::now();
    std::fs::write(s.path("www/page.txt"), b"edited in place, longer").unwrap();
    let mut seen = Vec::new();
    assert!(
        wait_until(TTL_BOUND, || {
            seen = s.get("/page.txt").body;
            seen == b"edited in place, longer"
        }),
        "still {:?} after {TTL_BOUND:?}",
        String::from_utf8_lossy(&seen)
    );
    assert!(changed.elapsed() < TTL_BOUND);
}

#[test]
fn cached_bytes_serve_ranges_and_validators() {
    let s = site();
    let first = s.get("/page.txt");
    let etag = first.h("etag").to_string();
    let r = s.get_with("/page.txt", "Range: bytes=6-12\r\n");
    assert_eq!(r.status, 206);
    assert_eq!(r.body, b"version");
    assert_eq!(r.h("content-range"), "bytes 6-12/13");
    let r = s.get_with("/page.txt", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!(r.status, 304);
    assert_eq!(r.h("etag"), etag);
}

#[test]
fn a_cached_large_file_is_sent_whole_each_time() {
    let s = site();
    let want = random_bytes(100 * 1024, 7);
    let mut c = s.connect();
    for _ in 0..3 {
        c.write(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        let r = c.read_response(false);
        assert_eq!(r.status, 200);
        assert!(r.body == want, "same 100 KiB every time");
    }
    c.write(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=-5\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.body, &want[want.len() - 5..]);
}

#[test]
fn a_reload_is_seen_at_once_through_a_switched_symlink() {
    // A deploy switches `current` to the new release, then reloads: the cache (keyed
    // by the root's path, which did not change) must not keep serving the old release
    // until its entries expire.
    const LINKED: &str = "server {\n    listen 127.0.0.1:8080;\n    root current;\n}\n";
    let s = Site::new(
        LINKED,
        &[("a/f.txt", b"release a"), ("b/f.txt", b"release b")],
    );
    std::os::unix::fs::symlink("a", s.path("current")).unwrap();
    assert_eq!(s.get("/f.txt").body, b"release a", "now cached");
    let switched = Instant::now();
    std::fs::remove_file(s.path("current")).unwrap();
    std::os::unix::fs::symlink("b", s.path("current")).unwrap();
    s.reload(LINKED);
    // Well under the 1 s an entry lives: only emptying the cache at reload gets there.
    let mut seen = Vec::new();
    assert!(
        wait_until(Duration::from_millis(500), || {
            seen = s.get("/f.txt").body;
            seen == b"release b"
        }),
        "still {:?} {:?} after the reload",
        String::from_utf8_lossy(&seen),
        switched.elapsed()
    );
}
