//! Hostile file names, uploaded by PUT and by multipart POST or put on disk, never
//! become markup, a foreign scheme or a broken link: in the listing, in the upload
//! receipt, and in redirect bodies.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;

use crate::common::*;
use crate::uploads::{file, json_body, multipart, multipart_request, put};

const CONF: &str = r#"
server {
    listen 127.0.0.1:8080;
    root www;
    location /up/ {
        upload_store www/up;
        allow_methods GET POST PUT DELETE;
        autoindex on;
    }
}
"#;

/// One name per hostile class.
fn hostile() -> Vec<String> {
    let mut v: Vec<String> = [
        "javascript:alert(1)",
        "\"><script>alert(1)</script>",
        "a&amp;b",
        "<b>x</b>",
        "%2F",
        "what?",
        "#frag",
        "two words .txt",
        "ünï ☃.txt",
        "x' onmouseover='alert(1)",
        "<img src=x onerror=alert(1)>",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("{}.txt", "n".repeat(190)));
    v
}

/// An independent oracle for percent-decoding (the code under test is not used).
fn pct_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex escape"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Every tag's attribute names, lower-cased.
fn attribute_names(html: &str) -> Vec<String> {
    let mut names = Vec::new();
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        let mut rest = tag;
        // Skip the element name; then `name="value"` pairs.
        rest = rest.trim_start_matches(|c: char| c != ' ' && c != '\n');
        while let Some(eq) = rest.find('=') {
            names.push(rest[..eq].trim().to_ascii_lowercase());
            let after = &rest[eq + 1..];
            let Some(after) = after.strip_prefix('"') else {
                panic!("unquoted attribute in <{tag}>");
            };
            let end = after.find('"').expect("closing quote");
            rest = &after[end + 1..];
        }
    }
    names
}

/// The hrefs of a page, in order.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect()
}

fn assert_no_markup_from_names(html: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "a script element:\n{html}");
    assert!(!lower.contains("<img"), "an img element:\n{html}");
    assert!(!lower.contains("<b>"), "a b element:\n{html}");
    for name in attribute_names(html) {
        assert!(
            !name.starts_with("on"),
            "an on* attribute {name:?}:\n{html}"
        );
    }
}

/// Stores every hostile name by PUT and by multipart POST, and two names only a disk
/// can hold, then follows every link of the listing back to its file.
#[test]
fn the_listing_of_hostile_names_is_text_and_every_link_returns_its_file() {
    let s = Site::new(CONF, &[]);
    let store = s.path("www/up");
    std::fs::create_dir_all(&store).unwrap();
    // name on disk → content
    let mut want: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for (i, name) in hostile().iter().enumerate() {
        // PUT: the name as one percent-encoded segment (a `/` in it would be a path).
        if !name.contains('/') {
            let put_name = format!("put-{name}");
            let target: String = put_name
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            let content = format!("put {i}").into_bytes();
            let r = put(&s, &format!("/up/{target}"), &content);
            assert_eq!(r.status, 201, "PUT {name:?}: {}", r.text());
            want.insert(put_name.into_bytes(), content);
        }
        // Multipart: the server sanitises the name; its receipt says what it stored.
        let quoted = format!("post-{name}")
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        let content = format!("post {i}").into_bytes();
        let body = multipart("BoUnDaRy", &[file("f", &quoted, &content)]);
        let r = s.send(&multipart_request("/up/", "BoUnDaRy", &body, ""));
        assert_eq!(r.status, 201, "POST {name:?}: {}", r.text());
        let stored = json_body(&r);
        let stored_name = stored["stored"][0]["name"].as_str().unwrap().to_string();
        let location = stored["stored"][0]["location"].as_str().unwrap();
        assert_eq!(r.h("location"), location);
        assert_eq!(
            pct_decode(location),
            format!("/up/{stored_name}").as_bytes()
        );
        want.insert(stored_name.into_bytes(), content);
    }
    // Names only the disk can hold: a newline (listed) and bytes that are not UTF-8
    // (left out of the listing: the server does not serve such paths).
    std::fs::write(store.join("line\nbreak.txt"), b"newline").unwrap();
    want.insert(b"line\nbreak.txt".to_vec(), b"newline".to_vec());
    std::fs::write(
        store.join(std::ffi::OsStr::from_bytes(b"bad-\xff\xfe.txt")),
        b"x",
    )
    .unwrap();

    let r = s.get("/up/");
    assert_eq!(r.status, 200);
    let html = r.text();
    assert_no_markup_from_names(&html);
    let links = hrefs(&html);
    assert_eq!(links.first().map(String::as_str), Some("../"));
    let mut seen: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for href in &links[1..] {
        assert!(!href.contains(':'), "a scheme is possible in {href:?}");
        assert!(!href.starts_with('/'), "not relative: {href:?}");
        assert!(
            href.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
            "an unencoded byte in {href:?}"
        );
        let got = s.get(&format!("/up/{href}"));
        assert_eq!(got.status, 200, "following {href:?}");
        seen.insert(pct_decode(href), got.body);
    }
    assert_eq!(seen, want, "the links resolve to exactly the stored files");
    // The names are shown as text.
    for name in want.keys() {
        let shown = String::from_utf8(name.clone())
            .unwrap()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        assert!(html.contains(&shown), "{shown:?} not shown in the listing");
    }
    assert!(!html.contains("bad-"), "a name that is not UTF-8 is listed");
}

/// The HTML receipt of an upload shows the stored name as text and links to it.
#[test]
fn the_upload_receipt_escapes_names() {
    let s = Site::new(CONF, &[]);
    std::fs::create_dir_all(s.path("www/up")).unwrap();
    let name = "\\\"><script>alert(1)</script>&amp;.txt";
    let body = multipart("BoUnDaRy", &[file("f", name, b"x")]);
    let r = s.send(&multipart_request(
        "/up/",
        "BoUnDaRy",
        &body,
        "Accept: text/html\r\n",
    ));
    assert_eq!(r.status, 201, "{}", r.text());
    let html = r.text();
    assert_no_markup_from_names(&html);
    // The sanitiser keeps the basename after the last `/`: `script>&amp;.txt`.
    assert!(
        html.contains(
            "<li>Uploaded <a href=\"/up/script%3E%26amp%3B.txt\">script&gt;&amp;amp;.txt</a> (1 B)</li>"
        ),
        "{html}"
    );
    assert_eq!(r.h("location"), "/up/script%3E%26amp%3B.txt");
}

/// A directory named by an attacker redirects to itself with a `/`: the `Location` is
/// percent-encoded and the body's link is an escaped attribute.
#[test]
fn a_directory_redirect_encodes_its_location() {
    let s = Site::new(CONF, &[]);
    std::fs::create_dir_all(s.path("www/up/d\"><script>x")).unwrap();
    let r = s.get("/up/d%22%3E%3Cscript%3Ex?a=1");
    assert_eq!(r.status, 301);
    assert_eq!(r.h("location"), "/up/d%22%3E%3Cscript%3Ex/?a=1");
    let html = r.text();
    assert_no_markup_from_names(&html);
    assert!(
        html.contains("<a href=\"/up/d%22%3E%3Cscript%3Ex/?a=1\">"),
        "{html}"
    );
}

/// A symlink that leaves the root is answered 403, so it is not listed; neither is a
/// FIFO, and listing a directory with one does not block.
#[test]
fn entries_the_server_would_refuse_are_not_listed() {
    let s = Site::new(CONF, &[("www/up/ok.txt", b"ok")]);
    std::os::unix::fs::symlink(s.path("secret.txt"), s.path("www/up/escape.txt")).unwrap();
    std::os::unix::fs::symlink("ok.txt", s.path("www/up/inside.txt")).unwrap();
    let fifo = std::ffi::CString::new(s.path("www/up/fifo").as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid C string path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    assert_eq!(s.get("/up/escape.txt").status, 403);
    assert_eq!(s.get("/up/fifo").status, 403);
    let r = s.get("/up/");
    assert_eq!(r.status, 200);
    let links = hrefs(&r.text());
    assert_eq!(links, ["../", "inside.txt", "ok.txt"], "{}", r.text());
}
