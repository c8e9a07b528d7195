//! Streaming `multipart/form-data` parser (RFC 7578 over RFC 2046 §5.1) for uploads.
//!
//! The de-chunked request body is pushed in arbitrary pieces; events come out through a
//! callback. Part bodies are never buffered: only a possible partial delimiter (at most
//! `boundary.len() + 4` bytes) is carried between feeds, plus one part head (bounded by
//! [`MAX_PART_HEAD`]) while it is being read.
//!
//! Every delimiter is `CRLF "--" boundary`; the parser pretends the body starts with a
//! CRLF so the first delimiter may sit at the very start. That CRLF belongs to the
//! delimiter, never to the data before it.

use std::fmt;

/// Maximum size of one part's header block, blank line included.
pub const MAX_PART_HEAD: usize = 8 * 1024;

/// Malformed body: the server answers 400 (or whatever the callback's error means).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultipartError {
    pub reason: &'static str,
}

impl MultipartError {
    const fn new(reason: &'static str) -> Self {
        MultipartError { reason }
    }
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason)
    }
}

impl std::error::Error for MultipartError {}

/// What the parser reports, in body order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A part's headers were read. `filename` prefers a decodable `filename*` (RFC 5987).
    PartStart {
        name: Option<String>,
        filename: Option<String>,
        content_type: Option<String>,
    },
    /// Bytes of the current part's body, in order (possibly in many pieces).
    Data(&'a [u8]),
    /// The current part ended (its closing delimiter line was valid).
    PartEnd,
    /// The close delimiter `--boundary--` was seen; the epilogue is ignored.
    Done,
}

/// Extracts the boundary from a `Content-Type: multipart/form-data; boundary=...` value.
/// Type and parameter names are case-insensitive; the value may be quoted or a token and
/// must be 1..=70 RFC 2046 `bchars`, not ending in a space.
pub fn boundary_from_content_type(ct: &[u8]) -> Option<Vec<u8>> {
    let (media, rest) = match ct.iter().position(|&b| b == b';') {
        Some(i) => (&ct[..i], &ct[i..]),
        None => (ct, &ct[ct.len()..]),
    };
    if !trim(media).eq_ignore_ascii_case(b"multipart/form-data") {
        return None;
    }
    let params = parse_params(rest).ok()?;
    let (_, b) = params.into_iter().find(|(n, _)| n == "boundary")?;
    let valid =
        (1..=70).contains(&b.len()) && b.iter().all(|&c| is_bchar(c)) && b.last() != Some(&b' ');
    valid.then_some(b)
}

fn is_bchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&c)
}

/// A safe basename for storing an upload: the part after the last `/` or `\`, without
/// control characters, leading dots/spaces and trailing spaces/dots, capped at 200 bytes
/// on a char boundary. `None` if nothing is left.
pub fn sanitize_filename(raw: &str) -> Option<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let mut s = cleaned.trim_start_matches(['.', ' ']);
    s = s.trim_end_matches(['.', ' ']);
    if s.len() > 200 {
        let mut end = 200;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s = s[..end].trim_end_matches(['.', ' ']);
    }
    (!s.is_empty()).then(|| s.to_owned())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the first delimiter: bytes are skipped.
    Preamble,
    /// Right after `CRLF--boundary`.
    AfterBoundary,
    /// Saw one `-` after the boundary.
    CloseDash,
    /// Transport padding (spaces/tabs) after the boundary.
    Padding,
    /// Saw CR ending the delimiter line; LF must follow.
    Lf,
    /// Reading a part's header block into `head`.
    Headers,
    /// In a part's body.
    Body,
    Done,
    Failed(&'static str),
}

/// Push-based parser; see the module docs.
pub struct MultipartParser {
    /// `CRLF "--" boundary`.
    delim: Vec<u8>,
    state: State,
    /// A `PartStart` was emitted and its `PartEnd` not yet.
    in_part: bool,
    /// Unconsumed tail of earlier input (a possible partial delimiter), `< delim.len()`.
    carry: Vec<u8>,
    /// Current part head, starting with a virtual CRLF (so an empty head is CRLFCRLF).
    head: Vec<u8>,
}

type OnEvent<'f> = &'f mut dyn FnMut(Event<'_>) -> Result<(), MultipartError>;

impl MultipartParser {
    pub fn new(boundary: &[u8]) -> Self {
        let mut delim = Vec::with_capacity(boundary.len() + 4);
        delim.extend_from_slice(b"\r\n--");
        delim.extend_from_slice(boundary);
        let mut carry = Vec::with_capacity(delim.len());
        // The virtual CRLF that lets the first delimiter start the body.
        carry.extend_from_slice(b"\r\n");
        MultipartParser {
            delim,
            state: State::Preamble,
            in_part: false,
            carry,
            head: Vec::new(),
        }
    }

    /// Feeds the next piece of body; calls `on` for every event. Bytes that may begin a
    /// delimiter are kept internally, so the caller just feeds successive chunks. After
    /// an error (the parser's or the callback's) every later call fails the same way.
    pub fn feed(&mut self, input: &[u8], on: OnEvent<'_>) -> Result<(), MultipartError> {
        if let State::Failed(reason) = self.state {
            return Err(MultipartError::new(reason));
        }
        let r = self.feed_inner(input, on);
        if let Err(e) = r {
            self.state = State::Failed(e.reason);
            self.carry.clear();
            self.head = Vec::new();
        }
        r
    }

    /// End of body: Ok only if the close delimiter was reached.
    pub fn finish(&self) -> Result<(), MultipartError> {
        match self.state {
            State::Done => Ok(()),
            State::Failed(reason) => Err(MultipartError::new(reason)),
            _ => Err(MultipartError::new(
                "multipart body ended before the closing boundary",
            )),
        }
    }

    /// True once `Done` was emitted.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn feed_inner(&mut self, mut input: &[u8], on: OnEvent<'_>) -> Result<(), MultipartError> {
        // First drain the carry together with just enough new input to decide it.
        while !self.carry.is_empty() && !input.is_empty() {
            let mut carry = std::mem::take(&mut self.carry);
            let k = input
                .len()
                .min(self.delim.len().saturating_sub(carry.len()).max(1));
            carry.extend_from_slice(&input[..k]);
            let used = self.process(&carry, on);
            let used = match used {
                Ok(u) => u,
                Err(e) => {
                    self.carry = carry;
                    return Err(e);
                }
            };
            let left = carry.len() - used;
            if left <= k {
                // The unconsumed tail lies within the bytes just taken from `input`.
                input = &input[k - left..];
                carry.clear();
            } else {
                carry.drain(..used);
                input = &input[k..];
            }
            self.carry = carry;
        }
        if self.carry.is_empty() {
            let used = self.process(input, on)?;
            self.carry.extend_from_slice(&input[used..]);
        }
        debug_assert!(self.carry.len() < self.delim.len().max(3));
        Ok(())
    }

    /// Consumes what it can of `buf`; returns how much. Only in `Preamble`/`Body` can a
    /// tail stay unconsumed, and only one that is a proper prefix of the delimiter.
    fn process(&mut self, buf: &[u8], on: OnEvent<'_>) -> Result<usize, MultipartError> {
        let mut pos = 0;
        while pos < buf.len() {
            match self.state {
                State::Preamble | State::Body => {
                    let body = self.state == State::Body;
                    match find_delim(&buf[pos..], &self.delim) {
                        Found::At(i) => {
                            if body && i > 0 {
                                on(Event::Data(&buf[pos..pos + i]))?;
                            }
                            pos += i + self.delim.len();
                            self.state = State::AfterBoundary;
                        }
                        Found::Partial(i) => {
                            if body && i > 0 {
                                on(Event::Data(&buf[pos..pos + i]))?;
                            }
                            return Ok(pos + i);
                        }
                    }
                }
                State::AfterBoundary => {
                    self.state = match buf[pos] {
                        b'-' => State::CloseDash,
                        b' ' | b'\t' => State::Padding,
                        b'\r' => State::Lf,
                        _ => return Err(MultipartError::new("garbage after boundary")),
                    };
                    pos += 1;
                }
                State::CloseDash => {
                    if buf[pos] != b'-' {
                        return Err(MultipartError::new("garbage after boundary"));
                    }
                    if std::mem::take(&mut self.in_part) {
                        on(Event::PartEnd)?;
                    }
                    self.state = State::Done;
                    on(Event::Done)?;
                    return Ok(buf.len());
                }
                State::Padding => {
                    self.state = match buf[pos] {
                        b' ' | b'\t' => State::Padding,
                        b'\r' => State::Lf,
                        _ => return Err(MultipartError::new("garbage after boundary")),
                    };
                    pos += 1;
                }
                State::Lf => {
                    if buf[pos] != b'\n' {
                        return Err(MultipartError::new("garbage after boundary"));
                    }
                    pos += 1;
                    if std::mem::take(&mut self.in_part) {
                        on(Event::PartEnd)?;
                    }
                    self.head.clear();
                    self.head.extend_from_slice(b"\r\n");
                    self.state = State::Headers;
                }
                State::Headers => pos += self.part_head(&buf[pos..], on)?,
                State::Done => return Ok(buf.len()),
                State::Failed(reason) => return Err(MultipartError::new(reason)),
            }
        }
        Ok(pos)
    }
}

impl MultipartParser {
    /// Collects a part's header block from `rest`; once it is complete, parses it and
    /// starts the part's body. Returns the bytes of `rest` used.
    fn part_head(&mut self, rest: &[u8], on: OnEvent<'_>) -> Result<usize, MultipartError> {
        let old = self.head.len();
        let room = MAX_PART_HEAD + 2 - old;
        let take = room.min(rest.len());
        self.head.extend_from_slice(&rest[..take]);
        let from = old.saturating_sub(3);
        match find(&self.head[from..], b"\r\n\r\n") {
            Some(i) => {
                let end = from + i;
                let head = std::mem::take(&mut self.head);
                let start = parse_part_head(&head[2.min(end)..end])?;
                self.head = head;
                self.head.clear();
                self.in_part = true;
                self.state = State::Body;
                on(start)?;
                Ok(end + 4 - old)
            }
            None if self.head.len() >= MAX_PART_HEAD + 2 => {
                Err(MultipartError::new("part header too large"))
            }
            None => Ok(take),
        }
    }
}

enum Found {
    /// The delimiter starts at this offset.
    At(usize),
    /// No delimiter; from this offset to the end may be the start of one (or it's the end).
    Partial(usize),
}

fn find_delim(buf: &[u8], delim: &[u8]) -> Found {
    let first = delim[0];
    let mut i = 0;
    while let Some(off) = buf[i..].iter().position(|&b| b == first) {
        let p = i + off;
        let rest = &buf[p..];
        if rest.len() >= delim.len() {
            if &rest[..delim.len()] == delim {
                return Found::At(p);
            }
        } else if rest == &delim[..rest.len()] {
            return Found::Partial(p);
        }
        i = p + 1;
    }
    Found::Partial(buf.len())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn trim(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

/// Parses a part's header block (lines separated by CRLF, no trailing blank line).
fn parse_part_head(block: &[u8]) -> Result<Event<'static>, MultipartError> {
    // Unfold obsolete continuation lines into (name, value) pairs.
    let mut fields: Vec<(&[u8], Vec<u8>)> = Vec::new();
    if !block.is_empty() {
        for line in block.split_inclusive(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r\n").unwrap_or(line);
            if line.contains(&b'\r') || line.contains(&b'\n') {
                return Err(MultipartError::new("bare CR or LF in part header"));
            }
            if matches!(line.first(), Some(b' ' | b'\t')) {
                let Some((_, v)) = fields.last_mut() else {
                    return Err(MultipartError::new("malformed part header"));
                };
                v.push(b' ');
                v.extend_from_slice(trim(line));
                continue;
            }
            let colon = line
                .iter()
                .position(|&b| b == b':')
                .ok_or(MultipartError::new("malformed part header"))?;
            let name = &line[..colon];
            if name.is_empty() || name.iter().any(|&b| b <= b' ' || b == 0x7f) {
                return Err(MultipartError::new("malformed part header"));
            }
            fields.push((name, trim(&line[colon + 1..]).to_vec()));
        }
    }
    let mut disposition = None;
    let mut content_type = None;
    for (name, value) in &fields {
        if name.eq_ignore_ascii_case(b"content-disposition") {
            if disposition.is_some() {
                return Err(MultipartError::new("duplicate Content-Disposition"));
            }
            disposition = Some(value.as_slice());
        } else if name.eq_ignore_ascii_case(b"content-type") && content_type.is_none() {
            content_type = (!value.is_empty()).then(|| lossy(value));
        }
    }
    let cd = disposition.ok_or(MultipartError::new("part without Content-Disposition"))?;
    let (kind, params) = match cd.iter().position(|&b| b == b';') {
        Some(i) => (&cd[..i], &cd[i..]),
        None => (cd, &cd[cd.len()..]),
    };
    if !trim(kind).eq_ignore_ascii_case(b"form-data") {
        return Err(MultipartError::new("Content-Disposition is not form-data"));
    }
    let params = parse_params(params).map_err(MultipartError::new)?;
    let get = |key: &str| {
        params
            .iter()
            .find(|(n, _)| n == key)
            .map(|(_, v)| v.as_slice())
    };
    let name = get("name").map(lossy);
    let filename = get("filename*")
        .and_then(decode_ext_value)
        .or_else(|| get("filename").map(lossy));
    Ok(Event::PartStart {
        name,
        filename,
        content_type,
    })
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `; name=value` parameters (names lowercased; values token or quoted-string, in which
/// a backslash escapes only `"` and `\`, so unescaped Windows paths survive).
fn parse_params(mut s: &[u8]) -> Result<Vec<(String, Vec<u8>)>, &'static str> {
    let mut out = Vec::new();
    loop {
        s = s.trim_ascii_start();
        let Some((&first, rest)) = s.split_first() else {
            return Ok(out);
        };
        if first != b';' {
            return Err("malformed header parameters");
        }
        s = rest.trim_ascii_start();
        if s.is_empty() {
            return Ok(out);
        }
        let end = s
            .iter()
            .position(|&b| b == b'=' || b == b';')
            .unwrap_or(s.len());
        let name = trim(&s[..end]);
        if name.is_empty() || name.contains(&b'"') {
            return Err("malformed header parameters");
        }
        let name = lossy(name).to_ascii_lowercase();
        if end == s.len() || s[end] == b';' {
            // A parameter without a value carries nothing.
            s = &s[end..];
            continue;
        }
        s = s[end + 1..].trim_ascii_start();
        let value = if s.first() == Some(&b'"') {
            let mut v = Vec::new();
            let mut i = 1;
            let mut closed = false;
            while i < s.len() {
                match s[i] {
                    b'"' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    b'\\' if matches!(s.get(i + 1), Some(b'"' | b'\\')) => {
                        v.push(s[i + 1]);
                        i += 2;
                    }
                    b => {
                        v.push(b);
                        i += 1;
                    }
                }
            }
            if !closed {
                return Err("unterminated quoted string in header");
            }
            s = &s[i..];
            v
        } else {
            let end = s.iter().position(|&b| b == b';').unwrap_or(s.len());
            let v = trim(&s[..end]).to_vec();
            s = &s[end..];
            v
        };
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, value));
        }
    }
}

/// RFC 5987 `charset'language'pct-encoded` (UTF-8 or ISO-8859-1); None if undecodable.
fn decode_ext_value(v: &[u8]) -> Option<String> {
    let mut it = v.splitn(3, |&b| b == b'\'');
    let charset = it.next()?;
    let _language = it.next()?;
    let encoded = it.next()?;
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut i = 0;
    while i < encoded.len() {
        if encoded[i] == b'%' {
            let h = encoded.get(i + 1..i + 3)?;
            let hex = |c: u8| (c as char).to_digit(16);
            bytes.push((hex(h[0])? * 16 + hex(h[1])?) as u8);
            i += 3;
        } else {
            bytes.push(encoded[i]);
            i += 1;
        }
    }
    if charset.eq_ignore_ascii_case(b"utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case(b"iso-8859-1") {
        Some(bytes.iter().map(|&b| b as char).collect())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Ev {
        Start(Option<String>, Option<String>, Option<String>),
        Data(Vec<u8>),
        End,
        Done,
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    /// Parses `chunks` in order, merging adjacent `Data` events.
    fn run(boundary: &[u8], chunks: &[&[u8]]) -> Result<Vec<Ev>, MultipartError> {
        let mut p = MultipartParser::new(boundary);
        let mut evs: Vec<Ev> = Vec::new();
        for c in chunks {
            p.feed(c, &mut |e| {
                match e {
                    Event::PartStart {
                        name,
                        filename,
                        content_type,
                    } => evs.push(Ev::Start(name, filename, content_type)),
                    Event::Data(d) => {
                        assert!(!d.is_empty(), "empty Data event");
                        match evs.last_mut() {
                            Some(Ev::Data(v)) => v.extend_from_slice(d),
                            _ => evs.push(Ev::Data(d.to_vec())),
                        }
                    }
                    Event::PartEnd => evs.push(Ev::End),
                    Event::Done => evs.push(Ev::Done),
                }
                Ok(())
            })?;
            assert!(p.carry.len() <= boundary.len() + 4);
        }
        p.finish()?;
        Ok(evs)
    }

    fn whole(boundary: &[u8], body: &[u8]) -> Result<Vec<Ev>, MultipartError> {
        run(boundary, &[body])
    }

    fn err(reason: &'static str) -> Result<Vec<Ev>, MultipartError> {
        Err(MultipartError { reason })
    }

    const B: &[u8] = b"XyZ-boundary";

    const BODY1: &[u8] = b"preamble to ignore\r\n\
--XyZ-boundary\r\n\
Content-Disposition: form-data; name=\"title\"\r\n\
\r\n\
hello world\r\n\
--XyZ-boundary\r\n\
content-disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\n\
CONTENT-TYPE: text/plain\r\n\
\r\n\
line1\r\nline2\r\n\r\n\
--XyZ-boundary\r\n\
Content-Disposition: form-data; name=\"empty\"\r\n\
\r\n\
\r\n\
--XyZ-boundary--\r\n\
epilogue --XyZ-boundary garbage";

    fn body1_events() -> Vec<Ev> {
        vec![
            Ev::Start(s("title"), None, None),
            Ev::Data(b"hello world".to_vec()),
            Ev::End,
            Ev::Start(s("upload"), s("a.txt"), s("text/plain")),
            Ev::Data(b"line1\r\nline2\r\n".to_vec()),
            Ev::End,
            Ev::Start(s("empty"), None, None),
            Ev::End,
            Ev::Done,
        ]
    }

    /// Binary data with CR, LF, "--" and boundary-prefix lookalikes; delimiter at start.
    const BIN_DATA: &[u8] = b"\x00\xff\r\n\r\r\n-\r\n--\r\n--XyZ\r\n--XyZ-boundar--XyZ-boundary\n--XyZ-boundary\r--XyZ-boundary\r\n-";

    fn body2() -> Vec<u8> {
        let mut b = b"--XyZ-boundary  \t\r\n\
Content-Disposition: form-data; name=\"bin\"; filename=\"C:\\\\x\\\\q \\\"d\\\".bin\"; filename*=UTF-8''%E2%82%AC%20rates.bin\r\n\
Content-Type: application/octet-stream\r\n\
\r\n"
            .to_vec();
        b.extend_from_slice(BIN_DATA);
        b.extend_from_slice(b"\r\n--XyZ-boundary--");
        b
    }

    fn body2_events() -> Vec<Ev> {
        vec![
            Ev::Start(
                s("bin"),
                s("\u{20ac} rates.bin"),
                s("application/octet-stream"),
            ),
            Ev::Data(BIN_DATA.to_vec()),
            Ev::End,
            Ev::Done,
        ]
    }

    #[test]
    fn full_body_fields_files_and_empty_part() {
        assert_eq!(whole(B, BODY1), Ok(body1_events()));
    }

    #[test]
    fn binary_lookalikes_padding_and_ext_filename() {
        assert_eq!(whole(B, &body2()), Ok(body2_events()));
    }

    #[test]
    fn quoted_filename_with_escapes() {
        let body = b"--b\r\nContent-Disposition: form-data; name=f; filename=\"C:\\\\x\\\\q \\\"d\\\".bin\"\r\n\r\nx\r\n--b--";
        assert_eq!(
            whole(b"b", body),
            Ok(vec![
                Ev::Start(s("f"), s("C:\\x\\q \"d\".bin"), None),
                Ev::Data(b"x".to_vec()),
                Ev::End,
                Ev::Done,
            ])
        );
        // Unescaped Windows path (old IE): backslashes that escape nothing stay.
        let body = b"--b\r\nContent-Disposition: form-data; name=f; filename=\"C:\\x\\a.txt\"\r\n\r\n\r\n--b--";
        assert_eq!(
            whole(b"b", body),
            Ok(vec![
                Ev::Start(s("f"), s("C:\\x\\a.txt"), None),
                Ev::End,
                Ev::Done
            ])
        );
        // Undecodable filename* falls back to filename; ISO-8859-1 is decoded.
        let body = b"--b\r\nContent-Disposition: form-data; filename*=UTF-8''%ZZ; filename=plain.txt\r\n\r\n\r\n--b\r\nContent-Disposition: FORM-DATA; FILENAME*=iso-8859-1'en'caf%E9\r\n\r\n\r\n--b--";
        assert_eq!(
            whole(b"b", body),
            Ok(vec![
                Ev::Start(None, s("plain.txt"), None),
                Ev::End,
                Ev::Start(None, s("caf\u{e9}"), None),
                Ev::End,
                Ev::Done,
            ])
        );
    }

    #[test]
    fn folded_header_and_empty_filename() {
        let body = b"--b\r\nContent-Disposition: form-data;\r\n  name=\"a\"; filename=\"\"\r\nX-Other: y\r\n\r\nz\r\n--b--\r\n";
        assert_eq!(
            whole(b"b", body),
            Ok(vec![
                Ev::Start(s("a"), s(""), None),
                Ev::Data(b"z".to_vec()),
                Ev::End,
                Ev::Done,
            ])
        );
    }

    #[test]
    fn no_parts_then_close() {
        assert_eq!(whole(b"b", b"--b--"), Ok(vec![Ev::Done]));
        assert_eq!(whole(b"b", b"junk\r\n--b--tail"), Ok(vec![Ev::Done]));
    }

    fn split_everywhere(body: &[u8], expected: &[Ev]) {
        for i in 0..=body.len() {
            let (a, b) = body.split_at(i);
            assert_eq!(run(B, &[a, b]).as_deref(), Ok(expected), "split at {i}");
        }
        for i in 0..=body.len() {
            for j in i..=body.len().min(i + 90) {
                let parts = [&body[..i], &body[i..j], &body[j..]];
                assert_eq!(run(B, &parts).as_deref(), Ok(expected), "split {i},{j}");
            }
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(run(B, &bytes).as_deref(), Ok(expected), "byte at a time");
    }

    #[test]
    fn every_split_point_same_events() {
        split_everywhere(BODY1, &body1_events());
        split_everywhere(&body2(), &body2_events());
    }

    #[test]
    fn malformed_inputs() {
        // Missing close delimiter.
        assert_eq!(
            whole(
                B,
                b"--XyZ-boundary\r\nContent-Disposition: form-data; name=a\r\n\r\ndata\r\n"
            ),
            err("multipart body ended before the closing boundary")
        );
        assert_eq!(
            whole(B, b"no delimiter at all"),
            err("multipart body ended before the closing boundary")
        );
        assert_eq!(
            whole(B, b""),
            err("multipart body ended before the closing boundary")
        );
        // Head never terminated.
        assert_eq!(
            whole(B, b"--XyZ-boundary\r\nContent-Disposition: form-data"),
            err("multipart body ended before the closing boundary")
        );
        // No Content-Disposition, or not form-data.
        assert_eq!(
            whole(
                B,
                b"--XyZ-boundary\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ-boundary--"
            ),
            err("part without Content-Disposition")
        );
        assert_eq!(
            whole(B, b"--XyZ-boundary\r\n\r\nx\r\n--XyZ-boundary--"),
            err("part without Content-Disposition")
        );
        assert_eq!(
            whole(
                B,
                b"--XyZ-boundary\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--XyZ-boundary--"
            ),
            err("Content-Disposition is not form-data")
        );
        // Garbage after a boundary (first one, a later one, after one dash, after padding).
        for body in [
            &b"--XyZ-boundaryX\r\n"[..],
            b"--XyZ-boundary\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ-boundary-x",
            b"--XyZ-boundary \tz\r\n",
            b"--XyZ-boundary\rX",
            b"--XyZ-boundary\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ-boundaryy--",
        ] {
            assert_eq!(whole(B, body), err("garbage after boundary"), "{body:?}");
        }
        // Malformed header lines.
        assert_eq!(
            whole(b"b", b"--b\r\nno colon here\r\n\r\n\r\n--b--"),
            err("malformed part header")
        );
        assert_eq!(
            whole(
                b"b",
                b"--b\r\nContent-Disposition: form-data; name=\"open\r\n\r\n\r\n--b--"
            ),
            err("unterminated quoted string in header")
        );
        assert_eq!(
            whole(
                b"b",
                b"--b\r\nContent-Disposition: form-data\r\nContent-Disposition: form-data\r\n\r\n\r\n--b--"
            ),
            err("duplicate Content-Disposition")
        );
    }

    fn head_of_len(n: usize) -> Vec<u8> {
        // "--b\r\n" + head of exactly n bytes (blank line included) + body.
        let cd = b"Content-Disposition: form-data; name=h\r\nX-Pad: ";
        let mut v = b"--b\r\n".to_vec();
        v.extend_from_slice(cd);
        v.resize(5 + n - 4, b'p');
        v.extend_from_slice(b"\r\n\r\nD\r\n--b--");
        v
    }

    #[test]
    fn part_head_limit_is_exact() {
        let ok = vec![
            Ev::Start(s("h"), None, None),
            Ev::Data(b"D".to_vec()),
            Ev::End,
            Ev::Done,
        ];
        assert_eq!(whole(b"b", &head_of_len(MAX_PART_HEAD)), Ok(ok.clone()));
        let body = head_of_len(MAX_PART_HEAD);
        let bytes: Vec<&[u8]> = body.chunks(7).collect();
        assert_eq!(run(b"b", &bytes), Ok(ok));
        assert_eq!(
            whole(b"b", &head_of_len(MAX_PART_HEAD + 1)),
            err("part header too large")
        );
        let huge = head_of_len(100_000);
        let bytes: Vec<&[u8]> = huge.chunks(1000).collect();
        assert_eq!(run(b"b", &bytes), err("part header too large"));
    }

    #[test]
    fn errors_are_sticky_and_callback_errors_propagate() {
        let mut p = MultipartParser::new(b"b");
        let mut count = 0;
        let r = p.feed(
            b"--b\r\nContent-Disposition: form-data\r\n\r\nabc",
            &mut |e| {
                count += 1;
                match e {
                    Event::Data(_) => Err(MultipartError { reason: "too big" }),
                    _ => Ok(()),
                }
            },
        );
        assert_eq!(r, Err(MultipartError { reason: "too big" }));
        assert_eq!(count, 2);
        assert_eq!(
            p.feed(b"\r\n--b--", &mut |_| panic!("no events after an error")),
            Err(MultipartError { reason: "too big" })
        );
        assert_eq!(p.finish(), Err(MultipartError { reason: "too big" }));
        assert!(!p.is_done());
    }

    #[test]
    fn done_ignores_epilogue_and_later_feeds() {
        let mut p = MultipartParser::new(b"b");
        let mut n = 0;
        p.feed(b"--b--\r\n", &mut |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
        p.feed(b"--b\r\nanything", &mut |_| panic!("no events after Done"))
            .unwrap();
        assert_eq!(n, 1);
        assert!(p.is_done());
        assert_eq!(p.finish(), Ok(()));
    }

    #[test]
    fn boundary_parsing() {
        let b = |ct: &str| boundary_from_content_type(ct.as_bytes());
        assert_eq!(
            b("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxk"),
            Some(b"----WebKitFormBoundary7MA4YWxk".to_vec())
        );
        assert_eq!(
            b("Multipart/Form-Data ;charset=utf-8; BOUNDARY=\"a b:c\""),
            Some(b"a b:c".to_vec())
        );
        assert_eq!(b("multipart/form-data;boundary=x"), Some(b"x".to_vec()));
        assert_eq!(b("multipart/form-data"), None);
        assert_eq!(b("multipart/mixed; boundary=x"), None);
        assert_eq!(b("text/plain; boundary=x"), None);
        assert_eq!(b("multipart/form-data; boundary="), None);
        assert_eq!(b("multipart/form-data; boundary=\"\""), None);
        assert_eq!(b("multipart/form-data; boundary=\"ends \""), None);
        assert_eq!(b("multipart/form-data; boundary=bad{char}"), None);
        assert_eq!(b("multipart/form-data; boundary=\"unterminated"), None);
        let max = "a".repeat(70);
        assert_eq!(
            b(&format!("multipart/form-data; boundary={max}")),
            Some(max.into_bytes())
        );
        assert_eq!(
            b(&format!("multipart/form-data; boundary={}", "a".repeat(71))),
            None
        );
    }

    #[test]
    fn sanitize_cases() {
        assert_eq!(sanitize_filename("../../etc/passwd"), s("passwd"));
        assert_eq!(sanitize_filename("C:\\x\\a.txt"), s("a.txt"));
        assert_eq!(sanitize_filename(".hidden"), s("hidden"));
        assert_eq!(sanitize_filename("\u{0}a\nb"), s("ab"));
        assert_eq!(sanitize_filename(".."), None);
        assert_eq!(sanitize_filename(""), None);
        assert_eq!(sanitize_filename("dir/"), None);
        assert_eq!(sanitize_filename(" . .x. . "), s("x"));
        assert_eq!(
            sanitize_filename("r\u{e9}sum\u{e9}.pdf"),
            s("r\u{e9}sum\u{e9}.pdf")
        );
        let long = "\u{20ac}".repeat(100); // 300 bytes; 66 euros = 198 bytes.
        assert_eq!(sanitize_filename(&long), Some("\u{20ac}".repeat(66)));
        let long = format!("{}. .{}", "a".repeat(198), "b".repeat(10));
        assert_eq!(sanitize_filename(&long), Some("a".repeat(198)));
    }

    fn chunked<'a>(body: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut rest = body;
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes[i % sizes.len()].min(rest.len());
            out.push(&rest[..n]);
            rest = &rest[n..];
            i += 1;
        }
        out
    }

    fn content_byte() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            any::<u8>().prop_map(|b| vec![b]),
            Just(b"\r".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"-".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"\r\n--".to_vec()),
            Just(b"\r\n--bo".to_vec()),
            Just(b"\r\n--bound".to_vec()),
            Just(b"--bound".to_vec()),
        ]
    }

    fn content() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(content_byte(), 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            prefix in proptest::sample::select(vec![&b""[..], b"--b\r\n", b"--b\r\nContent-Disposition: form-data\r\n\r\n"]),
            sizes in proptest::collection::vec(1usize..20, 1..8),
        ) {
            let mut full = prefix.to_vec();
            full.extend_from_slice(&body);
            let mut p = MultipartParser::new(b"b");
            for c in chunked(&full, &sizes) {
                if p.feed(c, &mut |_| Ok(())).is_err() {
                    break;
                }
            }
            let _ = p.finish();
        }

        #[test]
        fn random_contents_and_chunkings_roundtrip(
            parts in proptest::collection::vec(content(), 0..5),
            sizes in proptest::collection::vec(1usize..30, 1..8),
            preamble in content(),
        ) {
            let boundary = b"boundary";
            let delim = b"\r\n--boundary";
            for p in parts.iter().chain([&preamble]) {
                prop_assume!(find(p, delim).is_none());
            }
            prop_assume!(!preamble.starts_with(b"--boundary"));
            let mut body = preamble.clone();
            let mut expected = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                body.extend_from_slice(b"\r\n--boundary\r\nContent-Disposition: form-data; name=\"p");
                body.extend_from_slice(i.to_string().as_bytes());
                body.extend_from_slice(b"\"\r\n\r\n");
                body.extend_from_slice(p);
                expected.push(Ev::Start(Some(format!("p{i}")), None, None));
                if !p.is_empty() {
                    expected.push(Ev::Data(p.clone()));
                }
                expected.push(Ev::End);
            }
            body.extend_from_slice(b"\r\n--boundary--\r\n");
            expected.push(Ev::Done);
            let chunks = chunked(&body, &sizes);
            prop_assert_eq!(run(boundary, &chunks), Ok(expected));
        }
    }
}
