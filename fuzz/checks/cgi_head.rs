//! The CGI response-header parser (`server::cgi::parse_output_head`), on whatever a
//! script writes. Properties:
//!
//! - Incremental, like the request head: prefixes answer "need more" up to a point, then
//!   every longer prefix gives the same answer; a complete block of `n` bytes is first
//!   seen at exactly `n`, and ends with an empty line.
//! - Nothing that reaches the client's header block can split it: `Location`,
//!   `Content-Type` and every passed-through line are free of CR, LF and other controls
//!   but HTAB, each passed-through line is `token: value` CRLF, and the fields the server
//!   frames itself (`Connection`, `Transfer-Encoding`, `Keep-Alive`, `Server`, `Date`) are
//!   dropped. A status is within 100..=599.
//! - The head is what the block's lines say, read by hand: the last `Status`, `Location`,
//!   `Content-Type` and `Content-Length` win, every other line but the framing ones is
//!   passed through in order, its value trimmed of spaces and tabs.
//! - Re-serialised, the header block parses to the same head; behind a line that takes the
//!   block past `MAX_OUTPUT_HEAD`, it is refused.

use webserv::server::cgi::{BadOutput, MAX_OUTPUT_HEAD, OutputHead, parse_output_head};

/// Up to this length every prefix is parsed; beyond it, a spread plus those around LFs.
const EVERY_PREFIX: usize = 1024;

/// An `OutputHead`'s fields, comparable.
#[derive(Debug, PartialEq)]
struct View {
    status: Option<u16>,
    location: Option<String>,
    content_type: Option<String>,
    content_length: Option<u64>,
    other: Vec<u8>,
    other_count: usize,
}

fn view(h: &OutputHead) -> View {
    View {
        status: h.status,
        location: h.location.clone(),
        content_type: h.content_type.clone(),
        content_length: h.content_length,
        other: h.other.clone(),
        other_count: h.other_count,
    }
}

type Answer = Result<Option<(View, usize)>, BadOutput>;

fn parse(buf: &[u8]) -> Answer {
    parse_output_head(buf).map(|r| r.map(|(h, n)| (view(&h), n)))
}

pub fn check(data: &[u8]) {
    let full = parse(data);
    prefixes(data, &full);
    if let Ok(Some((v, n))) = &full {
        assert!(
            data[..*n].ends_with(b"\n\n") || data[..*n].ends_with(b"\n\r\n"),
            "a header block ends with an empty line"
        );
        fields(v);
        assert_eq!(&by_hand(&data[..*n]), v, "the block's lines say otherwise");
        let again = serialise(v);
        match parse(&again) {
            Ok(Some((v2, m))) => {
                assert_eq!(m, again.len(), "the re-serialised block is all head");
                assert_eq!(
                    &v2,
                    v,
                    "re-serialised: {:?}",
                    String::from_utf8_lossy(&again)
                );
            }
            other => panic!(
                "{:?} does not parse: {other:?}",
                String::from_utf8_lossy(&again)
            ),
        }
        limit(&data[..*n], v);
    }
}

/// The block's field lines, then a padding line that ends exactly at `MAX_OUTPUT_HEAD`
/// (accepted) or one byte past it (refused), then the empty line.
fn limit(block: &[u8], v: &View) {
    let lines = block
        .strip_suffix(b"\r\n")
        .filter(|l| l.ends_with(b"\n"))
        .unwrap_or(&block[..block.len() - 1]);
    for over in [0, 1] {
        let mut big = lines.to_vec();
        big.extend_from_slice(b"X-Pad: ");
        if big.len() + 1 > MAX_OUTPUT_HEAD {
            return;
        }
        big.resize(MAX_OUTPUT_HEAD - 1 + over, b'a');
        big.push(b'\n');
        big.extend_from_slice(b"\n");
        match (parse(&big), over) {
            (Ok(Some((v2, m))), 0) => {
                assert_eq!(m, big.len());
                assert_eq!((v2.status, v2.other_count), (v.status, v.other_count + 1));
            }
            (Err(BadOutput), 1) => {}
            (other, _) => panic!("a block {over} byte(s) past the limit: {other:?}"),
        }
    }
}

fn prefixes(data: &[u8], full: &Answer) {
    let len = data.len();
    let mut lengths: Vec<usize> = if len <= EVERY_PREFIX {
        (0..len).collect()
    } else {
        let mut l: Vec<usize> = (0..len).step_by(len / 256 + 1).collect();
        for (i, &b) in data.iter().enumerate() {
            if b == b'\n' {
                l.extend(i.saturating_sub(1)..(i + 3).min(len));
            }
        }
        l
    };
    if let Ok(Some((_, n))) = full {
        lengths.extend([n - 1, *n]);
    }
    lengths.sort_unstable();
    lengths.dedup();
    let mut decided: Option<(usize, Answer)> = None;
    for l in lengths {
        let r = parse(&data[..l]);
        match &decided {
            Some((at, d)) => assert_eq!(&r, d, "prefixes of {l} and {at} bytes differ"),
            None if r != Ok(None) => decided = Some((l, r)),
            None => {}
        }
    }
    if let Some((at, d)) = &decided {
        assert_eq!(
            d, full,
            "the whole input and its prefix of {at} bytes differ"
        );
    }
    if let Ok(Some((_, n))) = full {
        let at = decided.as_ref().map(|(at, _)| *at);
        assert_eq!(
            at,
            Some(*n),
            "a complete block must be first seen at its length"
        );
    }
}

fn clean(v: &str) -> bool {
    !v.bytes().any(|b| b.is_ascii_control() && b != b'\t')
        && !v.starts_with([' ', '\t'])
        && !v.ends_with([' ', '\t'])
}

fn fields(v: &View) {
    assert!(
        v.status.is_some() || v.location.is_some() || v.content_type.is_some() || v.other_count > 0,
        "a header block with no field the server uses"
    );
    if let Some(s) = v.status {
        assert!((100..=599).contains(&s), "{s}");
    }
    for s in [&v.location, &v.content_type].into_iter().flatten() {
        assert!(clean(s), "{s:?}");
    }
    let text = std::str::from_utf8(&v.other).expect("passed-through lines are UTF-8");
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), v.other_count);
    assert!(text.is_empty() || text.ends_with("\r\n"));
    for line in lines {
        let (name, value) = line.split_once(": ").expect("`name: value`");
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)),
            "{name:?}"
        );
        let lower = name.to_ascii_lowercase();
        assert!(
            ![
                "status",
                "location",
                "content-type",
                "content-length",
                "connection",
                "transfer-encoding",
                "keep-alive",
                "server",
                "date",
            ]
            .contains(&lower.as_str()),
            "{name} passed through"
        );
        assert!(value.is_empty() || clean(value), "{value:?}");
    }
}

/// The head of a block the parser accepted, from its lines.
fn by_hand(block: &[u8]) -> View {
    let mut v = View {
        status: None,
        location: None,
        content_type: None,
        content_length: None,
        other: Vec::new(),
        other_count: 0,
    };
    let text = std::str::from_utf8(block).expect("an accepted block is UTF-8");
    for line in text.split_terminator('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let Some((name, value)) = line.split_once(':') else {
            assert!(line.is_empty(), "{line:?}");
            break;
        };
        let value = value.trim_matches([' ', '\t']);
        match name.to_ascii_lowercase().as_str() {
            "status" => v.status = value[..3].parse().ok(),
            "location" => v.location = Some(value.into()),
            "content-type" => v.content_type = Some(value.into()),
            "content-length" => v.content_length = value.parse().ok(),
            "connection" | "transfer-encoding" | "keep-alive" | "server" | "date" => {}
            _ => {
                v.other
                    .extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
                v.other_count += 1;
            }
        }
    }
    v
}

/// The header block a script would write for `v`, CRLF-terminated.
fn serialise(v: &View) -> Vec<u8> {
    let mut out = String::new();
    if let Some(s) = v.status {
        out.push_str(&format!("Status: {s}\r\n"));
    }
    if let Some(l) = &v.location {
        out.push_str(&format!("Location: {l}\r\n"));
    }
    if let Some(c) = &v.content_type {
        out.push_str(&format!("Content-Type: {c}\r\n"));
    }
    if let Some(n) = v.content_length {
        out.push_str(&format!("Content-Length: {n}\r\n"));
    }
    let mut out = out.into_bytes();
    out.extend_from_slice(&v.other);
    out.extend_from_slice(b"\r\n");
    out
}
