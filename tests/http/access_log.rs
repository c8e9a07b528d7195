//! The access log in combined format.

use std::time::Duration;

use crate::common::*;

#[test]
fn access_log_gets_a_combined_line() {
    let s = Site::new(
        "server {\n    listen 127.0.0.1:8080;\n    root www;\n    access_log access.log;\n}\n",
        &[("www/x.txt", b"12345")],
    );
    let r = s.get_with("/x.txt", "User-Agent: ua-test/1.0\r\n");
    assert_eq!(r.status, 200);
    let log = s.path("access.log");
    let mut text = String::new();
    let found = wait_until(Duration::from_secs(5), || {
        webserv::server::log::flush();
        text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("ua-test/1.0")
    });
    assert!(found, "no access log line in {log:?}: {text:?}");
    let line = text
        .lines()
        .find(|l| l.contains("ua-test/1.0"))
        .unwrap()
        .to_string();
    let (before, after) = line.split_once(" [").expect("[date]");
    assert_eq!(before, "127.0.0.1 - -");
    let (date, rest) = after.split_once("] ").expect("date]");
    // 10/Oct/2000:13:55:36 -0700
    assert_eq!(date.len(), 26, "{date:?}");
    assert_eq!(&date[2..3], "/");
    assert_eq!(&date[6..7], "/");
    assert_eq!(&date[11..12], ":");
    assert!(
        date[21..].starts_with('+') || date[21..].starts_with('-'),
        "{date:?}"
    );
    assert_eq!(rest, "\"GET /x.txt HTTP/1.1\" 200 5 \"-\" \"ua-test/1.0\"");
}

#[test]
fn access_log_records_status_and_referer() {
    let s = Site::new(
        "server {\n    listen 127.0.0.1:8080;\n    root www;\n    access_log access.log;\n}\n",
        &[("www/x.txt", b"12345")],
    );
    let r = s.get_with(
        "/missing?q=1",
        "Referer: http://ref.example/\r\nUser-Agent: ua-404\r\n",
    );
    assert_eq!(r.status, 404);
    let log = s.path("access.log");
    let mut text = String::new();
    let found = wait_until(Duration::from_secs(5), || {
        webserv::server::log::flush();
        text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("ua-404")
    });
    assert!(found, "no access log line: {text:?}");
    let expected = format!(
        "\"GET /missing?q=1 HTTP/1.1\" 404 {} \"http://ref.example/\" \"ua-404\"",
        r.body.len()
    );
    assert!(text.contains(&expected), "{text:?} lacks {expected:?}");
}

#[test]
fn requests_the_parser_refuses_are_logged_too() {
    let s = Site::new(
        "server {\n    listen 127.0.0.1:8080;\n    root www;\n    access_log access.log;\n}\n",
        &[("www/x.txt", b"12345")],
    );
    let r = s.send(b"GET /x.txt HTTP/9.9z\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 400);
    let log = s.path("access.log");
    let mut text = String::new();
    let found = wait_until(Duration::from_secs(5), || {
        webserv::server::log::flush();
        text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("HTTP/9.9z")
    });
    assert!(found, "no access log line in {log:?}: {text:?}");
    let line = text.lines().find(|l| l.contains("HTTP/9.9z")).unwrap();
    let rest = line.split_once("] ").expect("date]").1;
    let len = r.body.len();
    assert_eq!(
        rest,
        format!("\"GET /x.txt HTTP/9.9z\" 400 {len} \"-\" \"-\"")
    );
}
