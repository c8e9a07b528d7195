//! The streaming `multipart/form-data` parser (`server::multipart`). The input's first
//! line is a `Content-Type` value, the rest the body. Properties:
//!
//! - `boundary_from_content_type` yields only 1 to 70 `bchars` not ending in a space.
//! - Whatever the read sizes (one read, a byte per read, two reads cut at every point
//!   of a short body and at every point of each delimiter lookalike in a long one,
//!   pseudo-random sizes), the events (part names, file names, content types, bytes),
//!   the outcome and `finish` are the same.
//! - The events are well formed: a part's start, its data (never empty), its end; at
//!   most one `Done`, last; no part's data contains the delimiter.
//! - A body that reached its close delimiter has the parts a by-hand split at the
//!   delimiters finds (each part's bytes run from its head's blank line to the next
//!   delimiter), and re-serialised from its events, it parses to the same events.
//! - An error from the event callback stops the parser, which then keeps failing with it.
//! - Every file name, sanitised for storing (`sanitize_filename`), is a plain name: no
//!   `/`, `\`, control character, leading dot or space, trailing dot or space, at most
//!   200 bytes; sanitising it again changes nothing.

use webserv::server::multipart::{
    Event, MultipartError, MultipartParser, boundary_from_content_type, sanitize_filename,
};

use crate::split::{cuttings, fnv1a, pieces, xorshift};

/// An event with owned bytes, adjacent data merged.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    Start {
        name: Option<String>,
        filename: Option<String>,
        content_type: Option<String>,
    },
    Data(Vec<u8>),
    End,
    Done,
}

/// What a run of the parser gave: the events, the last `feed`'s result, `finish`.
type Run = (
    Vec<Ev>,
    Result<(), MultipartError>,
    Result<(), MultipartError>,
);

pub fn check(data: &[u8]) {
    let (ct, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    let Some(boundary) = boundary_from_content_type(ct) else {
        return;
    };
    assert!((1..=70).contains(&boundary.len()), "{boundary:?}");
    assert!(
        boundary
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&c))
    );
    assert_ne!(boundary.last(), Some(&b' '));

    let whole = run(&boundary, body, &[]);
    well_formed(&boundary, &whole);
    for cuts in cuttings(body)
        .into_iter()
        .chain(delimiter_cuts(body, &boundary))
    {
        let got = run(&boundary, body, &cuts);
        assert_eq!(got, whole, "reads ending at {cuts:?}");
    }
    if whole.2.is_ok() {
        assert_eq!(
            Some(part_bytes(&whole.0)),
            parts_by_hand(&boundary, body),
            "parts"
        );
        let again = serialise(&boundary, &whole.0);
        assert_eq!(
            run(&boundary, &again, &[]),
            whole,
            "re-serialised: {:?}",
            String::from_utf8_lossy(&again)
        );
    }
    callback_error(&boundary, body, whole.0.len());
    for e in &whole.0 {
        if let Ev::Start {
            filename: Some(f), ..
        } = e
        {
            stored_name(f);
        }
    }
}

fn stored_name(raw: &str) {
    let Some(name) = sanitize_filename(raw) else {
        return;
    };
    assert!(!name.is_empty() && name.len() <= 200, "{name:?}");
    assert!(
        !name.contains(['/', '\\']) && !name.chars().any(char::is_control),
        "{name:?}"
    );
    assert!(
        !name.starts_with(['.', ' ']) && !name.ends_with(['.', ' ']),
        "{name:?}"
    );
    assert_eq!(
        sanitize_filename(&name).as_deref(),
        Some(name.as_str()),
        "not idempotent"
    );
}

/// Two reads cut at every position from 2 bytes before each `CR LF -` (where a delimiter
/// or a lookalike starts) to 4 bytes past a delimiter there, in a body too long to be
/// cut everywhere.
fn delimiter_cuts(body: &[u8], boundary: &[u8]) -> Vec<Vec<usize>> {
    if body.len() <= 256 {
        return Vec::new();
    }
    let reach = b"\r\n--".len() + boundary.len() + 4;
    let mut cuts = Vec::new();
    for (i, w) in body.windows(3).enumerate() {
        if w == b"\r\n-" {
            let from = i.saturating_sub(2).max(1);
            cuts.extend((from..(i + reach).min(body.len())).map(|c| vec![c]));
        }
        if cuts.len() > 2000 {
            break;
        }
    }
    cuts
}

fn run(boundary: &[u8], body: &[u8], cuts: &[usize]) -> Run {
    let mut p = MultipartParser::new(boundary);
    let mut evs = Vec::new();
    let mut last = Ok(());
    for piece in pieces(body, cuts) {
        last = p.feed(piece, &mut |e| {
            record(&mut evs, e);
            Ok(())
        });
        if last.is_err() {
            break;
        }
    }
    (evs, last, p.finish())
}

fn record(evs: &mut Vec<Ev>, e: Event<'_>) {
    match e {
        Event::PartStart {
            name,
            filename,
            content_type,
        } => evs.push(Ev::Start {
            name,
            filename,
            content_type,
        }),
        Event::Data(d) => {
            assert!(!d.is_empty(), "an empty Data event");
            match evs.last_mut() {
                Some(Ev::Data(v)) => v.extend_from_slice(d),
                _ => evs.push(Ev::Data(d.to_vec())),
            }
        }
        Event::PartEnd => evs.push(Ev::End),
        Event::Done => evs.push(Ev::Done),
    }
}

fn well_formed(boundary: &[u8], (evs, last, finish): &Run) {
    let mut delim = b"\r\n--".to_vec();
    delim.extend_from_slice(boundary);
    let mut in_part = false;
    for (i, e) in evs.iter().enumerate() {
        match e {
            Ev::Start { .. } => {
                assert!(!in_part, "a part starts inside a part");
                in_part = true;
            }
            Ev::Data(d) => {
                assert!(in_part, "data outside a part");
                assert!(
                    !d.windows(delim.len()).any(|w| w == delim.as_slice()),
                    "a part's data holds the delimiter"
                );
            }
            Ev::End => {
                assert!(in_part, "a part ends outside a part");
                in_part = false;
            }
            Ev::Done => {
                assert!(!in_part && i + 1 == evs.len(), "Done is not last");
            }
        }
    }
    let done = evs.last() == Some(&Ev::Done);
    assert_eq!(finish.is_ok(), done, "finish is Ok iff Done was seen");
    if done {
        assert_eq!(last, &Ok(()));
    }
    if let Err(e) = last {
        assert_eq!(finish, &Err(*e), "finish repeats the error");
    }
}

/// Each part's bytes, from the events.
fn part_bytes(evs: &[Ev]) -> Vec<Vec<u8>> {
    let mut parts = Vec::new();
    for e in evs {
        match e {
            Ev::Start { .. } => parts.push(Vec::new()),
            Ev::Data(d) => parts.last_mut().expect("a part").extend_from_slice(d),
            Ev::End | Ev::Done => {}
        }
    }
    parts
}

/// Each part's bytes of a complete body, split by hand: the body (behind a CRLF, so a
/// delimiter may open it) is cut at each `CRLF--boundary`; a part's head ends at the
/// first blank line after its delimiter line.
fn parts_by_hand(boundary: &[u8], body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| from + i)
    };
    let mut text = b"\r\n".to_vec();
    text.extend_from_slice(body);
    let mut delim = b"\r\n--".to_vec();
    delim.extend_from_slice(boundary);
    let mut pos = find(&text, &delim, 0)? + delim.len();
    let mut parts = Vec::new();
    loop {
        if text[pos..].starts_with(b"--") {
            return Some(parts);
        }
        while matches!(text.get(pos), Some(b' ' | b'\t')) {
            pos += 1;
        }
        if !text[pos..].starts_with(b"\r\n") {
            return None;
        }
        let data = find(&text, b"\r\n\r\n", pos)? + 4;
        let end = find(&text, &delim, data)?;
        parts.push(text[data..end].to_vec());
        pos = end + delim.len();
    }
}

/// The body a client would send for these events (they reached `Done`).
fn serialise(boundary: &[u8], evs: &[Ev]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in evs {
        match e {
            Ev::Start {
                name,
                filename,
                content_type,
            } => {
                out.extend_from_slice(b"--");
                out.extend_from_slice(boundary);
                out.extend_from_slice(b"\r\nContent-Disposition: form-data");
                if let Some(n) = name {
                    out.extend_from_slice(b"; name=\"");
                    for c in n.bytes() {
                        if c == b'"' || c == b'\\' {
                            out.push(b'\\');
                        }
                        out.push(c);
                    }
                    out.push(b'"');
                }
                if let Some(f) = filename {
                    out.extend_from_slice(b"; filename*=UTF-8''");
                    for c in f.bytes() {
                        out.extend_from_slice(format!("%{c:02X}").as_bytes());
                    }
                }
                out.extend_from_slice(b"\r\n");
                if let Some(ct) = content_type {
                    out.extend_from_slice(b"Content-Type: ");
                    out.extend_from_slice(ct.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"\r\n");
            }
            Ev::Data(d) => out.extend_from_slice(d),
            Ev::End => out.extend_from_slice(b"\r\n"),
            Ev::Done => {
                out.extend_from_slice(b"--");
                out.extend_from_slice(boundary);
                out.extend_from_slice(b"--\r\n");
            }
        }
    }
    out
}

/// The callback fails at one event (chosen by the input's hash): the parser returns
/// that error, reports nothing more, and fails the same way from then on.
fn callback_error(boundary: &[u8], body: &[u8], events: usize) {
    if events == 0 {
        return;
    }
    const STOP: MultipartError = MultipartError {
        reason: "the callback stops",
    };
    let stop_at = (xorshift(fnv1a(body) | 1) % events as u64) as usize;
    let mut p = MultipartParser::new(boundary);
    let mut seen = 0;
    let r = p.feed(body, &mut |_| {
        seen += 1;
        if seen > stop_at { Err(STOP) } else { Ok(()) }
    });
    assert_eq!(r, Err(STOP));
    assert_eq!(seen, stop_at + 1, "events after the callback's error");
    let mut more = 0;
    assert_eq!(
        p.feed(body, &mut |_| {
            more += 1;
            Ok(())
        }),
        Err(STOP)
    );
    assert_eq!(more, 0);
    assert_eq!(p.finish(), Err(STOP));
}
