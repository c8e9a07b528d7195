//! Virtual hosts: Host matching, absolute-form targets, default and first servers, ports.

use crate::common::*;

const WITH_DEFAULT: &str = r#"
server {
    listen 127.0.0.1:8080;
    server_name a.test;
    return 200 "A";
}
server {
    listen 127.0.0.1:8080 default_server;
    server_name b.test;
    return 200 "B";
}
server {
    listen 127.0.0.1:8080;
    server_name c.test *.wild.test;
    return 200 "C";
}
server {
    listen 127.0.0.1:8081;
    server_name a.test;
    return 200 "A2";
}
"#;

const WITHOUT_DEFAULT: &str = r#"
server {
    listen 127.0.0.1:8080;
    server_name first.test;
    return 200 "first";
}
server {
    listen 127.0.0.1:8080;
    server_name second.test;
    return 200 "second";
}
"#;

fn body(s: &Site, host: &str) -> String {
    let r = s.send(format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes());
    assert_eq!(r.status, 200, "Host: {host}");
    r.text()
}

#[test]
fn host_exact_with_port_and_any_case() {
    let s = Site::new(WITH_DEFAULT, &[]);
    assert_eq!(body(&s, "a.test"), "A");
    assert_eq!(body(&s, "c.test"), "C");
    assert_eq!(body(&s, "a.test:8080"), "A");
    assert_eq!(body(&s, "A.TeSt"), "A");
    assert_eq!(body(&s, "C.TEST:8080"), "C");
    assert_eq!(body(&s, "x.wild.test"), "C");
}

#[test]
fn absolute_form_target_wins_over_host() {
    let s = Site::new(WITH_DEFAULT, &[]);
    let r = s.send(b"GET http://c.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "C");
    let r = s.send(b"GET http://A.test:8080/x HTTP/1.1\r\nHost: c.test\r\n\r\n");
    assert_eq!(r.text(), "A");
}

#[test]
fn unknown_host_goes_to_default_server() {
    let s = Site::new(WITH_DEFAULT, &[]);
    assert_eq!(body(&s, "unknown.test"), "B");
    assert_eq!(body(&s, "127.0.0.1"), "B");
    // HTTP/1.0 without Host.
    let r = s.send(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "B");
}

#[test]
fn unknown_host_without_default_goes_to_first_server() {
    let s = Site::new(WITHOUT_DEFAULT, &[]);
    assert_eq!(body(&s, "second.test"), "second");
    assert_eq!(body(&s, "unknown.test"), "first");
}

#[test]
fn two_servers_on_two_ports() {
    let s = Site::new(WITH_DEFAULT, &[]);
    let mut c = Client::connect(s.addr_of(8081));
    c.write(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    assert_eq!(c.read_response(false).text(), "A2");
    // Any Host on 8081 lands on its only server.
    c.write(b"GET / HTTP/1.1\r\nHost: b.test\r\n\r\n");
    assert_eq!(c.read_response(false).text(), "A2");
    // And 8080 is unaffected.
    assert_eq!(body(&s, "a.test"), "A");
}
