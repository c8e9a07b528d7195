//! Message framing: persistent connections, pipelining, `Connection: close`, HTTP/1.0,
//! request bodies by length and chunked, bad framing, `Expect: 100-continue`.

use crate::common::*;

const CONF: &str = r#"
server {
    listen 127.0.0.1:8080;
    root www;
    location /small/ {
        allow_methods GET POST;
        client_max_body_size 10;
    }
    location /post/ {
        allow_methods GET POST;
    }
    location /up/ {
        allow_methods GET POST PUT;
        upload_store uploads;
    }
}
"#;

fn site() -> Site {
    Site::new(
        CONF,
        &[
            ("www/a.txt", b"A"),
            ("www/b.txt", b"BB"),
            ("www/c.txt", b"CCC"),
        ],
    )
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")
}

#[test]
fn keep_alive_connection_is_reused() {
    let s = site();
    let mut c = s.connect();
    for (path, body) in [
        ("/a.txt", "A"),
        ("/b.txt", "BB"),
        ("/c.txt", "CCC"),
        ("/a.txt", "A"),
    ] {
        c.write(get(path).as_bytes());
        let r = c.read_response(false);
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), body);
        assert!(!r.closes(), "HTTP/1.1 must stay open by default");
    }
}

#[test]
fn pipelined_requests_answered_in_order() {
    let s = site();
    let mut c = s.connect();
    let all = format!("{}{}{}", get("/a.txt"), get("/b.txt"), get("/c.txt"));
    c.write(all.as_bytes());
    for body in ["A", "BB", "CCC"] {
        let r = c.read_response(false);
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), body);
    }
    // Mixed with HEAD and a 404 in the middle.
    let all = format!(
        "HEAD /c.txt HTTP/1.1\r\nHost: x\r\n\r\n{}{}",
        get("/missing"),
        get("/b.txt")
    );
    c.write(all.as_bytes());
    let r = c.read_response(true);
    assert_eq!((r.status, r.h("content-length")), (200, "3"));
    assert_eq!(c.read_response(false).status, 404);
    assert_eq!(c.read_response(false).text(), "BB");
}

#[test]
fn connection_close_closes_and_ignores_what_follows() {
    let s = site();
    let mut c = s.connect();
    c.write(
        format!(
            "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n{}",
            get("/b.txt")
        )
        .as_bytes(),
    );
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "A");
    assert!(r.closes(), "response must say Connection: close");
    c.assert_closed();
}

#[test]
fn http10_closes_by_default() {
    let s = site();
    let mut c = s.connect();
    c.write(format!("GET /a.txt HTTP/1.0\r\n\r\n{}", get("/b.txt")).as_bytes());
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "A");
    c.assert_closed();
}

#[test]
fn http10_keep_alive_on_request() {
    let s = site();
    let mut c = s.connect();
    c.write(b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "A");
    assert!(
        r.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("keep-alive")),
        "{:?}",
        r.headers
    );
    c.write(b"GET /b.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.text(), "BB");
}

#[test]
fn content_length_body_on_get_is_discarded() {
    let s = site();
    let mut c = s.connect();
    c.write(
        format!(
            "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\nGET /c.txt XX{}",
            get("/b.txt")
        )
        .as_bytes(),
    );
    let r = c.read_response(false);
    assert_eq!((r.status, r.text().as_str()), (200, "A"));
    let r = c.read_response(false);
    assert_eq!((r.status, r.text().as_str()), (200, "BB"));
}

#[test]
fn chunked_body_with_extensions_and_trailers_is_discarded() {
    let s = site();
    let mut c = s.connect();
    c.write(
        format!(
            "GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
             5;name=value;x\r\nhello\r\n\
             A\r\n0123456789\r\n\
             0;last\r\nX-Trailer: yes\r\nX-Other: 1\r\n\r\n{}",
            get("/b.txt")
        )
        .as_bytes(),
    );
    let r = c.read_response(false);
    assert_eq!((r.status, r.text().as_str()), (200, "A"));
    let r = c.read_response(false);
    assert_eq!((r.status, r.text().as_str()), (200, "BB"));
}

#[test]
fn identical_duplicate_content_length_is_accepted() {
    let s = site();
    let mut c = s.connect();
    c.write(
        format!(
            "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello{}",
            get("/b.txt")
        )
        .as_bytes(),
    );
    let r = c.read_response(false);
    assert_eq!((r.status, r.text().as_str()), (200, "A"));
    let r = c.read_response(false);
    assert_eq!((r.status, r.text().as_str()), (200, "BB"));
}

#[test]
fn keepalive_timeout_zero_disables_keep_alive() {
    let s = Site::new(
        &basic_conf("    keepalive_timeout 0;"),
        &[("www/a.txt", b"A"), ("www/b.txt", b"BB")],
    );
    let mut c = s.connect();
    c.write(format!("{}{}", get("/a.txt"), get("/b.txt")).as_bytes());
    let r = c.read_response(false);
    assert_eq!((r.status, r.text().as_str()), (200, "A"));
    assert!(r.closes(), "{:?}", r.headers);
    c.assert_closed();
}

#[test]
fn expect_continue_gets_413_without_sending_body() {
    let s = site();
    let mut c = s.connect();
    // The body is never sent: the final status must come at once, not a 100.
    c.write(
        b"POST /small/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n",
    );
    let r = c.read_response(false);
    assert_eq!(r.status, 413);
}

#[test]
fn expect_continue_gets_405_without_sending_body() {
    let s = site();
    let mut c = s.connect();
    c.write(
        b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    let r = c.read_response(false);
    assert_eq!(r.status, 405);
    assert_eq!(r.h("allow"), "GET, HEAD");
}

#[test]
fn expect_continue_gets_100_where_the_body_is_wanted() {
    let s = site();
    std::fs::create_dir_all(s.path("uploads")).unwrap();
    let mut c = s.connect();
    c.write(
        b"PUT /up/new.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    let interim = c.read_response(false);
    assert_eq!(interim.status, 100);
    c.write(b"hello");
    let r = c.read_response(false);
    assert_eq!(r.status, 201);
    assert_eq!(std::fs::read(s.path("uploads/new.txt")).unwrap(), b"hello");
    // The connection goes on.
    c.write(get("/a.txt").as_bytes());
    assert_eq!(c.read_response(false).text(), "A");
}

#[test]
fn many_pipelined_requests_in_one_write() {
    let s = site();
    let mut c = s.connect();
    let names = ["/a.txt", "/b.txt", "/c.txt"];
    let all: String = (0..300).map(|i| get(names[i % 3])).collect();
    c.write(all.as_bytes());
    for i in 0..300 {
        let r = c.read_response(false);
        assert_eq!(r.status, 200, "response {i}");
        assert_eq!(r.body.len(), i % 3 + 1, "response {i}");
    }
}

#[test]
fn request_sent_byte_by_byte() {
    let s = site();
    let mut c = s.connect();
    for b in b"GET /b.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: slow\r\n\r\n" {
        c.write(&[*b]);
    }
    let r = c.read_response(false);
    assert_eq!((r.status, r.text().as_str()), (200, "BB"));
}

#[test]
fn pipelined_answers_gathered_before_a_bad_request_keep_their_order() {
    // The first two answers wait in the write buffer while the third request is read;
    // its 400 must follow them, not replace them.
    let s = site();
    let mut c = s.connect();
    let all = format!(
        "{}{}GET /a.txt HTTP/1.1\r\nHost x\r\n\r\n",
        get("/a.txt"),
        get("/b.txt")
    );
    c.write(all.as_bytes());
    assert_eq!(c.read_response(false).text(), "A");
    assert_eq!(c.read_response(false).text(), "BB");
    let r = c.read_response(false);
    assert_eq!(r.status, 400);
    assert!(r.closes());
    c.assert_closed();
}

#[test]
fn pipelined_answers_are_sent_when_the_next_request_is_incomplete() {
    // Two whole requests and the start of a third: the two answers must not wait for
    // the rest of the third.
    let s = site();
    let mut c = s.connect();
    c.write(
        format!(
            "{}{}GET /c.txt HTTP/1.1\r\nHo",
            get("/a.txt"),
            get("/b.txt")
        )
        .as_bytes(),
    );
    assert_eq!(c.read_response(false).text(), "A");
    assert_eq!(c.read_response(false).text(), "BB");
    c.write(b"st: x\r\n\r\n");
    assert_eq!(c.read_response(false).text(), "CCC");
}

#[test]
fn a_pipelined_answer_is_not_held_back_by_the_next_requests_body() {
    // `/a.txt` is answered while the POST's head is read in the same turn; the POST's
    // own answer (405) waits for its body, but `/a.txt`'s must not.
    let s = site();
    let mut c = s.connect();
    c.write(
        format!(
            "{}POST /post/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
            get("/a.txt")
        )
        .as_bytes(),
    );
    assert_eq!(c.read_response(false).text(), "A");
    c.write(b"defghij");
    assert_eq!(c.read_response(false).status, 405);
}

#[test]
fn a_pipelined_answer_survives_the_client_ending_mid_body() {
    let s = site();
    let mut c = s.connect();
    c.write(
        format!(
            "{}POST /post/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
            get("/b.txt")
        )
        .as_bytes(),
    );
    c.sock.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(c.read_response(false).text(), "BB");
}
