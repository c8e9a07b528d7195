//! The pages webserv writes itself: error pages, redirect bodies, directory listings and
//! the upload receipt. One design (one inline stylesheet, the system font stack, one
//! content width, a viewport for phones), and every name or client-supplied string goes
//! in through [`crate::escape`]: markup is `&'static str`, text is escaped, hrefs are
//! percent-encoded segments.

use crate::escape::{Html, url_segment};

use super::http::response::{reason, utc_minute};

/// The stylesheet every built-in page shares. At phone width the listing's dates move
/// under their day and long names wrap anywhere, so nothing runs off the screen.
pub const STYLE: &str = "\
:root{color-scheme:light}\
body{font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;margin:0 auto;\
max-width:48rem;padding:1.5rem 1rem;color:#222;background:#fff}\
h1{font-size:1.5rem;font-weight:600;margin:0 0 1rem;overflow-wrap:anywhere}\
p{margin:.5rem 0}a{color:#0645ad}\
table{border-collapse:collapse;width:100%}\
th,td{padding:.4rem .5rem;border-bottom:1px solid #e5e5e5;text-align:left;vertical-align:top}\
th{color:#666;font-weight:500}\
td.n{overflow-wrap:anywhere;word-break:break-word}\
.s{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\
.d{white-space:nowrap;color:#666;font-variant-numeric:tabular-nums}\
.empty{color:#666;font-style:italic}\
footer{margin-top:2rem;padding-top:.5rem;border-top:1px solid #e5e5e5;color:#777;font-size:.875rem}\
@media (max-width:30rem){body{padding:1rem .75rem}th,td{padding:.35rem .3rem}\
.d{font-size:.875rem}.d span{display:block}}";

/// A whole page: `title` is text (escaped), `body` writes the content.
fn page(title: &str, body: impl FnOnce(&mut Html)) -> String {
    let mut h = Html::default();
    h.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .raw("<title>")
        .text(title)
        .raw("</title>\n<style>")
        .raw(STYLE)
        .raw("</style>\n</head>\n<body>\n<h1>")
        .text(title)
        .raw("</h1>\n");
    body(&mut h);
    h.raw("<footer>webserv</footer>\n</body>\n</html>\n");
    h.into_string()
}

/// What happened, in a sentence, for the built-in page of a status.
fn sentence(status: u16) -> &'static str {
    match status {
        301 | 302 | 303 | 307 | 308 => "This page has moved.",
        400 => "The server could not understand the request.",
        401 => "This page needs a user name and a password.",
        403 => "You do not have permission to open this page.",
        404 => "There is nothing at this address.",
        405 => "This page does not accept that request method.",
        408 => "The request took too long to arrive.",
        409 => {
            "The request conflicts with what is there (a directory cannot be replaced or deleted)."
        }
        411 => "The request has a body but does not say how long it is.",
        413 => "The request body is larger than this server accepts here.",
        414 => "The address is longer than this server accepts.",
        416 => "The requested range is not part of the file.",
        431 => "The request's header fields are larger than this server accepts.",
        500 => "The server ran into an internal error.",
        501 => "The server does not implement this request method.",
        502 => "The program that should answer this request failed.",
        503 => "The service is not available right now.",
        504 => "The program that should answer this request took too long.",
        505 => "This server speaks HTTP/1.0 and HTTP/1.1.",
        507 => "The server has no room left to store this.",
        s if s >= 500 => "The server could not answer this request.",
        _ => "The server could not answer this request as asked.",
    }
}

/// The built-in page for an error status; for 405, `allow` lists the methods that are
/// allowed (the `Allow` header's value).
pub fn error_page(status: u16, allow: Option<&str>) -> String {
    let title = format!("{status} {}", reason(status));
    page(&title, |h| {
        h.raw("<p>").text(sentence(status));
        if let Some(allow) = allow {
            h.raw(" Allowed here: ").text(allow).raw(".");
        }
        h.raw("</p>\n<p><a href=\"/\">Go to the home page</a></p>\n");
    })
}

/// The 400 page for a plain HTTP request sent to an HTTPS port (nginx says the same).
pub fn plain_http_on_tls_page() -> String {
    page("400 Bad Request", |h| {
        h.raw("<p>The plain HTTP request was sent to an HTTPS port. Use <code>https://</code> to reach this address.</p>\n");
    })
}

/// The body of a redirect: a sentence and a link to where it goes.
pub fn redirect_page(status: u16, location: &str) -> String {
    let title = format!("{status} {}", reason(status));
    page(&title, |h| {
        h.raw("<p>")
            .text(sentence(status))
            .raw(" It is now at <a href=\"")
            .attr(location)
            .raw("\">")
            .text(location)
            .raw("</a>.</p>\n");
    })
}

/// One row of a directory listing.
pub struct Entry {
    /// The on-disk name (valid UTF-8; other names are not listed).
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
    pub mtime: i64,
}

/// The HTML listing of the directory at `path` (decoded, ending in `/`). Every href is
/// one percent-encoded segment relative to the listing, so it cannot carry a scheme
/// and resolves to exactly that entry.
pub fn listing(path: &str, entries: &[Entry]) -> String {
    page(&format!("Index of {path}"), |h| {
        h.raw("<table>\n<thead><tr><th>Name</th><th class=\"s\">Size</th><th class=\"d\">Modified</th></tr></thead>\n<tbody>\n");
        if path != "/" {
            h.raw("<tr><td class=\"n\" colspan=\"3\"><a href=\"../\">../</a> (parent directory)</td></tr>\n");
        }
        if entries.is_empty() {
            h.raw("<tr><td class=\"empty\" colspan=\"3\">This directory is empty.</td></tr>\n");
        }
        for e in entries {
            let slash = if e.is_dir { "/" } else { "" };
            let href = url_segment(e.name.as_bytes());
            h.raw("<tr><td class=\"n\"><a href=\"")
                .attr(&href)
                .raw(slash)
                .raw("\">")
                .text(&e.name)
                .raw(slash)
                .raw("</a></td><td class=\"s\">");
            if e.is_dir {
                h.raw("—");
            } else {
                h.text(&human_size(e.size));
            }
            let date = utc_minute(e.mtime);
            let (day, time) = date.split_once(' ').unwrap_or((&date, ""));
            h.raw("</td><td class=\"d\">")
                .text(day)
                .raw(" <span>")
                .text(time)
                .raw("</span></td></tr>\n");
        }
        h.raw("</tbody>\n</table>\n");
    })
}

/// The receipt of a POST upload: each stored file, linked, with its size.
pub fn uploaded(files: &[(String, u64, String)]) -> String {
    page("Uploaded", |h| {
        h.raw("<ul>\n");
        for (name, size, location) in files {
            h.raw("<li>Uploaded <a href=\"")
                .attr(location)
                .raw("\">")
                .text(name)
                .raw("</a> (")
                .text(&human_size(*size))
                .raw(")</li>\n");
        }
        h.raw("</ul>\n");
    })
}

/// `512 B`, `2.0 KiB`, `2.9 MiB`: one format for every size a page shows.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_have_one_format() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(2048), "2.0 KiB");
        assert_eq!(human_size(3_040_870), "2.9 MiB");
    }

    #[test]
    fn a_hostile_name_is_text_and_one_relative_segment() {
        let e = Entry {
            name: "\"><script>alert(1)</script>".into(),
            is_dir: false,
            size: 5,
            mtime: 0,
        };
        let js = Entry {
            name: "javascript:alert(1)".into(),
            is_dir: true,
            size: 0,
            mtime: 0,
        };
        let html = listing("/up/<b>/", &[e, js]);
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("<title>Index of /up/&lt;b&gt;/</title>"));
        assert!(html.contains(
            "<a href=\"%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E\">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</a>"
        ));
        assert!(html.contains("<a href=\"javascript%3Aalert%281%29/\">javascript:alert(1)/</a>"));
        assert!(html.contains("1970-01-01 <span>00:00 UTC</span>"));
    }

    #[test]
    fn an_empty_directory_says_so() {
        let html = listing("/", &[]);
        assert!(html.contains("This directory is empty."));
        assert!(!html.contains("../"));
    }

    /// The demo site's pages look like the built-in ones: their stylesheets start with
    /// this one, unchanged.
    #[test]
    fn the_demo_site_shares_the_built_in_stylesheet() {
        for site in ["main", "site2"] {
            let path = format!(
                "{}/conf/examples/www/{site}/style.css",
                env!("CARGO_MANIFEST_DIR")
            );
            let css = std::fs::read_to_string(&path).expect("demo stylesheet");
            assert!(
                css.starts_with(STYLE),
                "{path} does not start with pages::STYLE"
            );
        }
    }

    /// The upload page states the upload location's real size limit, in the one size
    /// format.
    #[test]
    fn the_demo_upload_page_states_the_real_limit() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/examples");
        let c = crate::confc::compile_file(
            &dir.join("site.conf"),
            &crate::confc::CompileOptions::hermetic(),
        )
        .expect("site.conf");
        let table = c.table.expect("site.conf compiles");
        let uploads = table
            .locations
            .iter()
            .find(|l| l.pattern == "/uploads/")
            .expect("location /uploads/");
        let limit = uploads.settings.client_max_body_size.value;
        let page = std::fs::read_to_string(dir.join("www/main/upload.html")).unwrap();
        let stated = format!(
            "<strong id=\"limit\" data-bytes=\"{limit}\">{}</strong>",
            human_size(limit)
        );
        assert!(page.contains(&stated), "upload.html lacks {stated}");
    }

    #[test]
    fn error_pages_say_what_happened() {
        let p = error_page(405, Some("GET, HEAD"));
        assert!(p.contains("<title>405 Method Not Allowed</title>"));
        assert!(p.contains("Allowed here: GET, HEAD."));
        assert!(p.contains("<a href=\"/\">"));
        assert!(p.contains("name=\"viewport\""));
        let r = redirect_page(301, "/a\"b/");
        assert!(r.contains("<a href=\"/a&quot;b/\">/a&quot;b/</a>"));
    }
}
