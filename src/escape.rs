//! One escaper per output context. Anything that came from a client, a file name or a
//! config reaches HTML, a URL, JSON or a log line only through the function for that
//! context; markup itself is written through [`Html`], which accepts dynamic text only
//! escaped, and literal markup only as `&'static str`.
//!
//! | context | function |
//! |---|---|
//! | HTML element text | [`Html::text`], [`html_text`] |
//! | HTML attribute value (always double-quoted) | [`Html::attr`] |
//! | one URL path segment (autoindex hrefs) | [`url_segment`] |
//! | a URL path (`Location`) | [`url_path`] |
//! | a JSON string | [`json_string`] |
//! | a quoted field of the access log | [`log_field`] |

use std::fmt::Write as _;

/// `true` for RFC 3986 unreserved characters: the only bytes a path segment keeps as
/// they are.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn push_pct(out: &mut String, b: u8) {
    out.push('%');
    out.push(HEX[usize::from(b >> 4)] as char);
    out.push(HEX[usize::from(b & 15)] as char);
}

/// Percent-encodes one path segment: every byte outside the unreserved set becomes
/// `%XX`, `/` `:` `?` `#` `&` included. The result is a relative reference that can
/// never carry a scheme, a query, a fragment or another segment, and that is safe as it
/// stands in a double-quoted HTML attribute. Decoding it gives back exactly `name`.
pub fn url_segment(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len() + name.len() / 2);
    for &b in name {
        if unreserved(b) {
            out.push(b as char);
        } else {
            push_pct(&mut out, b);
        }
    }
    out
}

/// Percent-encodes a decoded absolute path for a `Location` header or an href: each
/// segment as [`url_segment`], the `/` between them kept.
pub fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&url_segment(seg.as_bytes()));
    }
    out
}

/// Escapes text for HTML element content.
pub fn html_text(s: &str) -> String {
    let mut h = Html::default();
    h.text(s);
    h.into_string()
}

/// A JSON string literal, quotes included (serde_json's escaping: `"`, `\` and
/// control characters).
pub fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// A quoted access-log field (request line, Referer, User-Agent) as nginx writes it:
/// `"`, `\` and every byte outside printable ASCII become `\xHH`, so a field never ends
/// early, never spans lines and never carries terminal escapes. Empty is `-`.
pub fn log_field(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".into();
    }
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            out.push(b as char);
        } else {
            out.push_str("\\x");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out
}

/// An HTML document under construction. Literal markup goes in only as `&'static str`
/// ([`Html::raw`]); every other string goes through [`Html::text`] or [`Html::attr`].
#[derive(Default)]
pub struct Html(String);

impl Html {
    /// Literal markup, written by this program.
    pub fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    /// Text for element content.
    pub fn text(&mut self, s: &str) -> &mut Self {
        for c in s.chars() {
            match c {
                '&' => self.0.push_str("&amp;"),
                '<' => self.0.push_str("&lt;"),
                '>' => self.0.push_str("&gt;"),
                '"' => self.0.push_str("&quot;"),
                '\'' => self.0.push_str("&#39;"),
                c => self.0.push(c),
            }
        }
        self
    }

    /// A value inside a double-quoted attribute: as text, and control characters as
    /// character references so that a value stays on its line.
    pub fn attr(&mut self, s: &str) -> &mut Self {
        for c in s.chars() {
            if c.is_control() {
                let _ = write!(self.0, "&#{};", u32::from(c));
            } else {
                let mut b = [0u8; 4];
                self.text(c.encode_utf8(&mut b));
            }
        }
        self
    }

    /// A number.
    pub fn num(&mut self, n: u64) -> &mut Self {
        let _ = write!(self.0, "{n}");
        self
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names an attacker can give a file (by upload, PUT or on disk).
    const HOSTILE: &[&str] = &[
        "javascript:alert(1)",
        "\"><script>alert(1)</script>",
        "a&amp;b",
        "<b>x</b>",
        "%2F",
        "?x=1",
        "#top",
        "a b",
        "ünï ☃",
        "x' onmouseover='alert(1)",
        "line\nbreak",
        "tab\there",
        "../..",
    ];

    fn decode(s: &str) -> Vec<u8> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn a_segment_keeps_only_unreserved_bytes_and_decodes_back() {
        for name in HOSTILE {
            let enc = url_segment(name.as_bytes());
            assert!(
                enc.bytes().all(|b| unreserved(b) || b == b'%'),
                "{name:?} → {enc}"
            );
            assert!(!enc.contains(':'), "a scheme could survive: {enc}");
            assert_eq!(decode(&enc), name.as_bytes());
        }
        assert_eq!(
            url_segment(b"javascript:alert(1)"),
            "javascript%3Aalert%281%29"
        );
        assert_eq!(url_segment(b"a&amp;b"), "a%26amp%3Bb");
        assert_eq!(url_segment(b"%2F"), "%252F");
        // Bytes that are not UTF-8 are encoded exactly.
        assert_eq!(url_segment(b"\xff\xfe."), "%FF%FE.");
    }

    #[test]
    fn a_path_encodes_each_segment() {
        assert_eq!(url_path("/a b/ü/"), "/a%20b/%C3%BC/");
        assert_eq!(url_path("/x:y/?#"), "/x%3Ay/%3F%23");
        assert_eq!(url_path("/"), "/");
    }

    #[test]
    fn html_text_and_attributes_carry_no_markup() {
        for name in HOSTILE {
            let mut h = Html::default();
            h.raw("<a title=\"")
                .attr(name)
                .raw("\">")
                .text(name)
                .raw("</a>");
            let s = h.into_string();
            let inner = &s["<a title=\"".len()..s.len() - "</a>".len()];
            assert!(!inner.contains('<'), "{s}");
            assert_eq!(s.matches('<').count(), 2, "{s}");
            assert_eq!(s.matches('"').count(), 2, "{s}");
            assert!(!inner.contains('\''), "{s}");
            let attr = &inner[..inner.find("\">").unwrap()];
            assert!(!attr.contains('\n'), "{s}");
        }
        assert_eq!(html_text("a&amp;b"), "a&amp;amp;b");
        assert_eq!(html_text("\"><script>"), "&quot;&gt;&lt;script&gt;");
        let mut h = Html::default();
        h.attr("a\nb");
        assert_eq!(h.into_string(), "a&#10;b");
    }

    #[test]
    fn json_strings_are_quoted_and_escaped() {
        assert_eq!(json_string("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(json_string("</script>"), "\"</script>\"");
        for name in HOSTILE {
            let v: serde_json::Value = serde_json::from_str(&json_string(name)).unwrap();
            assert_eq!(v.as_str(), Some(*name));
        }
    }

    #[test]
    fn log_fields_stay_one_quoted_field() {
        assert_eq!(log_field(b"GET / HTTP/1.1"), "GET / HTTP/1.1");
        assert_eq!(log_field(b"a\"b"), "a\\x22b");
        assert_eq!(log_field(b"a\\b"), "a\\x5Cb");
        assert_eq!(log_field(b"a\r\nb"), "a\\x0D\\x0Ab");
        assert_eq!(log_field("ü".as_bytes()), "\\xC3\\xBC");
        assert_eq!(log_field(b"\x1b[31m"), "\\x1B[31m");
        assert_eq!(log_field(b""), "-");
        for name in HOSTILE {
            let f = log_field(name.as_bytes());
            assert!(
                f.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"'),
                "{f}"
            );
        }
    }
}
