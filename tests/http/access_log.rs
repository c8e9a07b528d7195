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

/// Hostile bytes in the quoted fields are escaped as nginx does (`\xHH`), so every
/// request stays one line with exactly six quotes.
#[test]
fn hostile_fields_keep_the_line_parseable() {
    let s = Site::new(
        "server {\n    listen 127.0.0.1:8080;\n    root www;\n    access_log access.log;\n}\n",
        &[("www/x.txt", b"12345")],
    );
    let mut raw = b"GET /x.txt?q=\"a\\b HTTP/1.1\r\nHost: x\r\nUser-Agent: ua\" \"evil\\".to_vec();
    raw.extend_from_slice("ü\r\nReferer: r\"\r\n\r\n".as_bytes());
    let r = s.send(&raw);
    assert_eq!(r.status, 200);
    // A refused request whose line carries a raw tab and a quote.
    let bad = s.send(b"GET /\"\tx HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(bad.status, 400);
    let log = s.path("access.log");
    let mut text = String::new();
    let found = wait_until(Duration::from_secs(5), || {
        webserv::server::log::flush();
        text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines().count() >= 2
    });
    assert!(found, "two access log lines expected: {text:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text:?}");
    let rest = lines[0].split_once("] ").expect("date]").1;
    assert_eq!(
        rest,
        "\"GET /x.txt?q=\\x22a\\x5Cb HTTP/1.1\" 200 5 \"r\\x22\" \"ua\\x22 \\x22evil\\x5C\\xC3\\xBC\""
    );
    let rest = lines[1].split_once("] ").expect("date]").1;
    assert_eq!(
        rest,
        format!(
            "\"GET /\\x22\\x09x HTTP/1.1\" 400 {} \"-\" \"-\"",
            bad.body.len()
        )
    );
    for l in &lines {
        assert_eq!(l.matches('"').count(), 6, "{l}");
    }
}
