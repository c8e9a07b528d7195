//! The chunked decoder (`server::http::body::ChunkedDecoder`). Properties:
//!
//! - Whatever the read sizes, its output, its outcome (done after `n` bytes, needs more,
//!   or 400) and the data it emitted before an error equal those of a small whole-input
//!   reference decoder written here from RFC 9112 §7.1's grammar and the decoder's
//!   documented limits (a size line or trailer line of at most `MAX_LINE` bytes with its
//!   CR, trailers of at most `MAX_TRAILERS`, at most 16 size digits).
//! - Its bookkeeping holds after every read: `total_decoded` is the output's length, an
//!   unfinished decoder consumes all it is given, a finished one nothing more, a failed
//!   one fails again the same way.
//! - The input, read as a payload and chunk-encoded (sizes, extensions and trailers
//!   chosen from its hash), decodes back to itself.

use webserv::server::http::body::{ChunkedDecoder, MAX_LINE, MAX_TRAILERS};

use crate::split::{cuttings, fnv1a, pieces, xorshift};

pub fn check(data: &[u8]) {
    let expected = reference(data);
    for cuts in cuttings(data) {
        let got = stream(data, &cuts);
        assert_eq!(got, expected, "reads ending at {cuts:?}");
    }
    let encoded = encode(data);
    let want = (data.to_vec(), End::Done(encoded.len()));
    // One read, a byte per read, and the pseudo-random read sizes.
    let all = cuttings(&encoded);
    let random = all.len() - 4;
    for cuts in all[..2].iter().chain(&all[random..]) {
        assert_eq!(
            stream(&encoded, cuts),
            want,
            "{:?}",
            String::from_utf8_lossy(&encoded)
        );
    }
}

/// How a chunked body ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The last chunk and the trailers ended after this many bytes.
    Done(usize),
    /// Every byte was valid, and more are needed.
    More,
    /// A 400.
    Error,
}

/// Feeds `data` to the decoder in the reads `cuts` makes of it.
fn stream(data: &[u8], cuts: &[usize]) -> (Vec<u8>, End) {
    let mut d = ChunkedDecoder::new();
    let mut out = Vec::new();
    let mut consumed = 0;
    for piece in pieces(data, cuts) {
        let r = d.decode(piece, &mut out);
        assert_eq!(d.total_decoded(), out.len() as u64);
        match r {
            Ok((n, true)) => {
                assert!(n <= piece.len() && d.is_done());
                let before = out.len();
                assert_eq!(d.decode(&piece[n..], &mut out), Ok((0, true)));
                assert_eq!(d.decode(b"0\r\n\r\n", &mut out), Ok((0, true)));
                assert_eq!(out.len(), before, "a finished decoder emits nothing");
                return (out, End::Done(consumed + n));
            }
            Ok((n, false)) => {
                assert_eq!(n, piece.len(), "an unfinished decoder consumes everything");
                assert!(!d.is_done());
                consumed += n;
            }
            Err(e) => {
                assert_eq!(e.status, 400);
                let before = out.len();
                assert_eq!(d.decode(b"0\r\n\r\n", &mut out), Err(e));
                assert_eq!(d.decode(b"", &mut out), Err(e));
                assert_eq!(out.len(), before, "a failed decoder emits nothing");
                return (out, End::Error);
            }
        }
    }
    (out, End::More)
}

/// Whole-input decoding, line by line: the data emitted (up to where it stopped) and
/// how it ended.
pub fn reference(input: &[u8]) -> (Vec<u8>, End) {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let (line, next) = match line(input, pos, MAX_LINE, size_line) {
            Line::Complete(l, next) => (l, next),
            Line::More => return (out, End::More),
            Line::Error => return (out, End::Error),
        };
        let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        let hex = std::str::from_utf8(&line[..digits]).expect("hex digits");
        let size = u64::from_str_radix(hex, 16).expect("at most 16 digits");
        pos = next;
        if size == 0 {
            return trailers(input, pos, out);
        }
        let avail = (input.len() - pos) as u64;
        if avail < size {
            out.extend_from_slice(&input[pos..]);
            return (out, End::More);
        }
        let end = pos + size as usize;
        out.extend_from_slice(&input[pos..end]);
        match input.get(end..end + 2) {
            Some(b"\r\n") => pos = end + 2,
            Some(_) => return (out, End::Error),
            None if input.get(end).is_none_or(|&b| b == b'\r') => return (out, End::More),
            None => return (out, End::Error),
        }
    }
}

fn trailers(input: &[u8], mut pos: usize, out: Vec<u8>) -> (Vec<u8>, End) {
    let mut used = 0;
    loop {
        let room = MAX_LINE.min(MAX_TRAILERS - used);
        match line(input, pos, room, trailer_line) {
            Line::Complete([], next) => return (out, End::Done(next)),
            Line::Complete(l, next) => {
                used += l.len() + 1;
                pos = next;
            }
            Line::More => return (out, End::More),
            Line::Error => return (out, End::Error),
        }
    }
}

enum Line<'a> {
    /// The line's text (CR LF excluded) and where the next line starts.
    Complete(&'a [u8], usize),
    More,
    Error,
}

/// The line at `pos`: at most `max` bytes with its CR, its text accepted by `valid`
/// (called with `complete` false on text the CR has not ended yet, which must then be a
/// prefix of a valid line).
fn line(input: &[u8], pos: usize, max: usize, valid: fn(&[u8], bool) -> bool) -> Line<'_> {
    let rest = &input[pos..];
    let Some(cr) = rest.iter().position(|&b| b == b'\r') else {
        return if rest.len() <= max && valid(rest, false) {
            Line::More
        } else {
            Line::Error
        };
    };
    let text = &rest[..cr];
    if text.len() + 1 > max || !valid(text, true) {
        return Line::Error;
    }
    match rest.get(cr + 1) {
        None => Line::More,
        Some(b'\n') => Line::Complete(text, pos + cr + 2),
        Some(_) => Line::Error,
    }
}

/// `chunk-size [ BWS ";" ext ]`: 1 to 16 hex digits, optional spaces or tabs, then
/// optionally `;` and extension bytes (anything but controls other than HTAB).
fn size_line(s: &[u8], complete: bool) -> bool {
    let digits = s.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits > 16 {
        return false;
    }
    if digits == 0 {
        return s.is_empty() && !complete;
    }
    let rest = &s[digits..];
    let ws = rest
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    match rest[ws..].split_first() {
        None => true,
        Some((b';', ext)) => ext.iter().all(|&b| text_byte(b)),
        Some(_) => false,
    }
}

/// `field-name ":" field-value` with the value unchecked but for controls; the empty
/// line (complete) is the end of the trailers, handled by the caller.
fn trailer_line(s: &[u8], complete: bool) -> bool {
    if s.is_empty() {
        return true;
    }
    let name = s.iter().take_while(|&&b| tchar(b)).count();
    match s[name..].split_first() {
        None => !complete,
        Some((b':', value)) => name > 0 && value.iter().all(|&b| text_byte(b)),
        Some(_) => false,
    }
}

fn text_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `data` chunk-encoded: chunk sizes, digit case, leading zeros, extensions and
/// trailers chosen by the hash of `data`.
fn encode(data: &[u8]) -> Vec<u8> {
    let mut state = fnv1a(data) | 1;
    let mut next = |max: u64| {
        state = xorshift(state);
        state % max
    };
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let size = (1 + next(300) as usize).min(rest.len());
        let mut hex = format!("{size:x}");
        if next(2) == 0 {
            hex = hex.to_uppercase();
        }
        for _ in 0..next(3) {
            hex.insert(0, '0');
        }
        out.extend_from_slice(hex.as_bytes());
        match next(4) {
            0 => out.extend_from_slice(b";name=value"),
            1 => out.extend_from_slice(b" \t; q=\"a b\""),
            _ => {}
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&rest[..size]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[size..];
    }
    out.extend_from_slice(b"0\r\n");
    for _ in 0..next(3) {
        out.extend_from_slice(b"X-Trailer: \x80 value\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}
