//! Request bodies: a streaming `chunked` decoder and a `Content-Length` counter.
//!
//! Both are push-style and never buffer on their own: the caller hands in whatever
//! bytes arrived, learns how many belonged to the body, and keeps the rest (the next
//! pipelined request). Every line the decoder has to scan is bounded, so a client
//! cannot make it consume unbounded memory or CPU per byte of body delivered.

use super::request::is_tchar;
use std::fmt;

/// A malformed chunked body. The framing is lost, so the connection must be closed
/// after answering `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkError {
    pub status: u16,
    pub reason: &'static str,
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.reason)
    }
}

impl std::error::Error for ChunkError {}

const fn bad(reason: &'static str) -> ChunkError {
    ChunkError {
        status: 400,
        reason,
    }
}

/// Longest chunk-size line (size digits + extensions), and longest trailer line.
pub const MAX_LINE: usize = 4096;
/// Largest trailer section (all trailer lines together).
pub const MAX_TRAILERS: usize = 16384;
/// More hex digits than this cannot fit a u64 (leading zeros included, as nginx does).
const MAX_SIZE_DIGITS: u8 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex chunk size.
    Size,
    /// Whitespace after the size; only `;` (an extension) or CR may follow.
    SizeWs,
    /// Inside chunk extensions (ignored) up to CR.
    Ext,
    /// CR of the size line seen, LF expected.
    SizeLf,
    /// `remaining` data bytes of the current chunk still to come.
    Data,
    /// Chunk data done: CR expected.
    DataCr,
    /// Chunk data done: LF expected.
    DataLf,
    /// At the start of a trailer line (or of the final empty line).
    TrailerStart,
    /// Inside a trailer field name.
    TrailerName,
    /// Inside a trailer field value (ignored) up to CR.
    TrailerValue,
    /// CR ending a trailer line seen, LF expected.
    TrailerLf,
    /// CR of the final empty line seen, LF expected.
    FinalLf,
    Done,
    Failed(ChunkError),
}

/// Streaming decoder for `Transfer-Encoding: chunked` (RFC 9112 §7.1).
///
/// Input may be split at any byte. Extensions and trailers are syntax-checked but
/// otherwise discarded. Body size limits are the caller's job: check
/// [`total_decoded`](Self::total_decoded) after each call (it is exact, so 413 can be
/// sent as soon as the limit is crossed).
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    size: u64,
    digits: u8,
    remaining: u64,
    line_len: usize,
    trailer_len: usize,
    total: u64,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        ChunkedDecoder {
            state: State::Size,
            size: 0,
            digits: 0,
            remaining: 0,
            line_len: 0,
            trailer_len: 0,
            total: 0,
        }
    }

    /// Data bytes decoded so far (across all calls).
    pub fn total_decoded(&self) -> u64 {
        self.total
    }

    /// Whether the last chunk and the trailer section have been read completely.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes bytes from `input`, appending chunk data to `out`.
    ///
    /// Returns `(consumed, done)`. When `done`, bytes after `consumed` are not part of
    /// the body (they are the next request); otherwise all of `input` was consumed.
    /// After an error every later call returns the same error.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(usize, bool), ChunkError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Done => return Ok((i, true)),
                State::Failed(e) => return Err(e),
                State::Data => {
                    let avail = (input.len() - i) as u64;
                    let take = avail.min(self.remaining) as usize;
                    out.extend_from_slice(&input[i..i + take]);
                    self.remaining -= take as u64;
                    self.total += take as u64;
                    i += take;
                    if self.remaining == 0 {
                        self.state = State::DataCr;
                    }
                    continue;
                }
                _ => {}
            }
            if let Err(e) = self.step(b) {
                self.state = State::Failed(e);
                return Err(e);
            }
            i += 1;
        }
        match self.state {
            State::Failed(e) => Err(e),
            s => Ok((i, s == State::Done)),
        }
    }

    /// One byte of framing (everything but chunk data).
    fn step(&mut self, b: u8) -> Result<(), ChunkError> {
        match self.state {
            State::Size | State::SizeWs | State::Ext => {
                self.line_len += 1;
                if self.line_len > MAX_LINE {
                    return Err(bad("chunk-size line too long"));
                }
            }
            State::TrailerStart | State::TrailerName | State::TrailerValue => {
                self.line_len += 1;
                self.trailer_len += 1;
                if self.line_len > MAX_LINE || self.trailer_len > MAX_TRAILERS {
                    return Err(bad("chunked trailers too large"));
                }
            }
            _ => {}
        }
        self.state = match (self.state, b) {
            (State::Size, b'\r') if self.digits > 0 => State::SizeLf,
            (State::Size, b';') if self.digits > 0 => State::Ext,
            (State::Size, b' ' | b'\t') if self.digits > 0 => State::SizeWs,
            (State::Size, _) => {
                let d = hex_val(b).ok_or(bad("invalid chunk size"))?;
                if self.digits == MAX_SIZE_DIGITS {
                    return Err(bad("chunk size too large"));
                }
                self.digits += 1;
                self.size = self.size << 4 | u64::from(d);
                State::Size
            }
            (State::SizeWs, b' ' | b'\t') => State::SizeWs,
            (State::SizeWs, b';') => State::Ext,
            (State::SizeWs, b'\r') => State::SizeLf,
            (State::SizeWs, _) => return Err(bad("invalid chunk size")),
            (State::Ext, b'\r') => State::SizeLf,
            (State::Ext, b'\t' | 0x20..=0x7e | 0x80..=0xff) => State::Ext,
            (State::Ext, _) => return Err(bad("invalid chunk extension")),
            (State::SizeLf, b'\n') => {
                self.line_len = 0;
                if self.size == 0 {
                    State::TrailerStart
                } else {
                    self.remaining = self.size;
                    State::Data
                }
            }
            (State::SizeLf, _) => return Err(bad("bare CR in chunk-size line")),
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataCr, _) => return Err(bad("missing CRLF after chunk data")),
            (State::DataLf, b'\n') => {
                self.size = 0;
                self.digits = 0;
                State::Size
            }
            (State::DataLf, _) => return Err(bad("missing CRLF after chunk data")),
            (State::TrailerStart, b'\r') => State::FinalLf,
            (State::TrailerStart | State::TrailerName, b) if is_tchar(b) => State::TrailerName,
            (State::TrailerStart, _) => return Err(bad("invalid trailer field")),
            (State::TrailerName, b':') => State::TrailerValue,
            (State::TrailerName, _) => return Err(bad("invalid trailer field")),
            (State::TrailerValue, b'\r') => State::TrailerLf,
            (State::TrailerValue, b'\t' | 0x20..=0x7e | 0x80..=0xff) => State::TrailerValue,
            (State::TrailerValue, _) => return Err(bad("invalid trailer field")),
            (State::TrailerLf, b'\n') => {
                self.line_len = 0;
                State::TrailerStart
            }
            (State::FinalLf, b'\n') => State::Done,
            (State::TrailerLf | State::FinalLf, _) => {
                return Err(bad("bare CR in trailer section"));
            }
            (State::Data | State::Done | State::Failed(_), _) => {
                unreachable!("data, done and failed states are handled by decode")
            }
        };
        Ok(())
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Counts down a `Content-Length` body. Hands back the part of the input that belongs
/// to the body as a sub-slice (no copy); what follows is the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthReader {
    remaining: u64,
}

impl LengthReader {
    pub fn new(length: u64) -> Self {
        LengthReader { remaining: length }
    }

    /// Body bytes still expected.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    pub fn is_done(&self) -> bool {
        self.remaining == 0
    }

    /// Splits `input` into (body bytes, done). `body.len()` bytes were consumed.
    pub fn feed<'a>(&mut self, input: &'a [u8]) -> (&'a [u8], bool) {
        let take = (input.len() as u64).min(self.remaining) as usize;
        self.remaining -= take as u64;
        (&input[..take], self.remaining == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` in one call: Ok((data, consumed, done)) or the error status.
    fn once(input: &[u8]) -> Result<(Vec<u8>, usize, bool), u16> {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        match d.decode(input, &mut out) {
            Ok((n, done)) => {
                assert_eq!(d.total_decoded(), out.len() as u64);
                assert_eq!(d.is_done(), done);
                Ok((out, n, done))
            }
            Err(e) => Err(e.status),
        }
    }

    /// Decodes `input` fed in the given pieces, stopping at `done`.
    fn pieces(parts: &[&[u8]]) -> Result<(Vec<u8>, usize, bool), u16> {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut consumed = 0;
        for p in parts {
            match d.decode(p, &mut out) {
                Ok((n, true)) => return Ok((out, consumed + n, true)),
                Ok((n, false)) => {
                    assert_eq!(n, p.len(), "an unfinished decoder consumes everything");
                    consumed += n;
                }
                Err(e) => return Err(e.status),
            }
        }
        Ok((out, consumed, false))
    }

    const ENCODINGS: &[(&[u8], &[u8])] = &[
        (b"0\r\n\r\n", b""),
        (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"hello world"),
        (
            b"A;name=val;x\r\n0123456789\r\n0;last\r\nX-Trailer: v\r\nY:\r\n\r\n",
            b"0123456789",
        ),
        (
            b"00000000000000a\r\n\r\n\r\n\r\n\r\n\r\n\r\n0000\r\n\r\n",
            b"\r\n\r\n\r\n\r\n\r\n",
        ),
        (b"3 ;ext=\"q s\"\r\na\rb\r\n0\r\nT: x\ty\r\n\r\n", b"a\rb"),
        (
            b"1\r\n\0\r\nf\r\n0123456789abcde\r\n0\r\n\r\n",
            b"\x000123456789abcde",
        ),
    ];

    #[test]
    fn valid_encodings_in_one_call() {
        for (enc, data) in ENCODINGS {
            let mut with_next = enc.to_vec();
            with_next.extend_from_slice(b"GET / HTTP/1.1\r\n");
            assert_eq!(
                once(&with_next),
                Ok((data.to_vec(), enc.len(), true)),
                "{enc:?}"
            );
        }
    }

    #[test]
    fn every_split_point() {
        for (enc, data) in ENCODINGS {
            let mut with_next = enc.to_vec();
            with_next.extend_from_slice(b"NEXT");
            for a in 0..=with_next.len() {
                for b in a..=with_next.len() {
                    let parts = [&with_next[..a], &with_next[a..b], &with_next[b..]];
                    assert_eq!(
                        pieces(&parts),
                        Ok((data.to_vec(), enc.len(), true)),
                        "{enc:?} split {a} {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn byte_at_a_time() {
        for (enc, data) in ENCODINGS {
            let bytes: Vec<&[u8]> = enc.chunks(1).collect();
            assert_eq!(pieces(&bytes), Ok((data.to_vec(), enc.len(), true)));
            for cut in 0..enc.len() {
                let (out, n, done) = pieces(&bytes[..cut]).unwrap();
                assert_eq!((n, done), (cut, false));
                assert!(data.starts_with(&out));
            }
        }
    }

    #[test]
    fn done_consumes_nothing_more() {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        assert_eq!(d.decode(b"0\r\n\r\nGET", &mut out), Ok((5, true)));
        assert_eq!(d.decode(b"GET", &mut out), Ok((0, true)));
        assert_eq!(d.decode(b"", &mut out), Ok((0, true)));
    }

    #[test]
    fn empty_input_is_not_done() {
        let mut d = ChunkedDecoder::new();
        assert_eq!(d.decode(b"", &mut Vec::new()), Ok((0, false)));
    }

    #[test]
    fn malformed_encodings() {
        let big_ext = format!("1;{}\r\na\r\n0\r\n\r\n", "x".repeat(MAX_LINE));
        let ok_ext = format!("1;{}\r\na\r\n0\r\n\r\n", "x".repeat(MAX_LINE - 3));
        let big_trailer = format!("0\r\nX: {}\r\n\r\n", "v".repeat(MAX_LINE));
        let many_trailers = format!(
            "0\r\n{}\r\n",
            "X: 0123456789012345678901234567890123456789\r\n".repeat(400)
        );
        let cases: &[(&[u8], Result<(), u16>)] = &[
            (b"", Ok(())),
            (b"\r\n", Err(400)),
            (b";x\r\n", Err(400)),
            (b" 5\r\nhello\r\n0\r\n\r\n", Err(400)),
            (b"g\r\n", Err(400)),
            (b"-1\r\n", Err(400)),
            (b"+1\r\n", Err(400)),
            (b"0x5\r\nhello\r\n", Err(400)),
            (b"5 5\r\n", Err(400)),
            (b"5\n", Err(400)),
            (b"5\rx", Err(400)),
            (b"5\r\nhelloX\r\n", Err(400)),
            (b"5\r\nhello\rX", Err(400)),
            (b"5\r\nhello\n0\r\n\r\n", Err(400)),
            (b"5\r\nhello\r\n0\r\n\n", Err(400)),
            (b"5\r\nhello\r\n0\r\n\rX", Err(400)),
            (b"5\r\nhi\r\n\r\n", Err(400)),
            (b"1;a\x01b\r\n", Err(400)),
            (b"1;a\nb\r\n", Err(400)),
            (b"1;a\0\r\n", Err(400)),
            (b"0\r\nX: a\x01\r\n\r\n", Err(400)),
            (b"0\r\nX: a\r\n  folded\r\n\r\n", Err(400)),
            (b"0\r\nX : a\r\n\r\n", Err(400)),
            (b"0\r\nNoColon\r\n\r\n", Err(400)),
            (b"0\r\nX: a\n\r\n", Err(400)),
            (b"0\r\nX: a\rb", Err(400)),
            (b"0\r\n:a\r\n\r\n", Err(400)),
            (b"10000000000000000\r\n", Err(400)),
            (b"00000000000000001\r\n", Err(400)),
            (b"ffffffffffffffff", Ok(())),
            (big_ext.as_bytes(), Err(400)),
            (ok_ext.as_bytes(), Ok(())),
            (big_trailer.as_bytes(), Err(400)),
            (many_trailers.as_bytes(), Err(400)),
        ];
        for (input, want) in cases {
            let got = once(input).map(|_| ());
            assert_eq!(got, *want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn huge_chunk_size_is_accepted_and_streamed() {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        assert_eq!(
            d.decode(b"FFFFFFFFFFFFFFFF\r\nabc", &mut out),
            Ok((21, false))
        );
        assert_eq!((out.as_slice(), d.total_decoded()), (&b"abc"[..], 3));
    }

    #[test]
    fn errors_are_sticky() {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let e = d.decode(b"z", &mut out).unwrap_err();
        assert_eq!((e.status, e.reason), (400, "invalid chunk size"));
        assert_eq!(d.decode(b"0\r\n\r\n", &mut out), Err(e));
        assert_eq!(e.to_string(), "400: invalid chunk size");
    }

    #[test]
    fn total_decoded_tracks_data_across_calls() {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        d.decode(b"4\r\nab", &mut out).unwrap();
        assert_eq!(d.total_decoded(), 2);
        d.decode(b"cd\r\n3\r\nxyz\r\n", &mut out).unwrap();
        assert_eq!((d.total_decoded(), out.as_slice()), (7, &b"abcdxyz"[..]));
    }

    #[test]
    fn length_reader() {
        let mut r = LengthReader::new(5);
        assert_eq!(r.feed(b"abc"), (&b"abc"[..], false));
        assert_eq!(r.remaining(), 2);
        assert_eq!(r.feed(b"deGET"), (&b"de"[..], true));
        assert!(r.is_done());
        assert_eq!(r.feed(b"more"), (&b""[..], true));
        let mut zero = LengthReader::new(0);
        assert!(zero.is_done());
        assert_eq!(zero.feed(b"x"), (&b""[..], true));
        let mut huge = LengthReader::new(u64::MAX);
        assert_eq!(huge.feed(b"xy"), (&b"xy"[..], false));
        assert_eq!(huge.remaining(), u64::MAX - 2);
    }

    mod prop {
        use super::super::*;
        use proptest::prelude::*;

        fn run(parts: &[&[u8]]) -> Result<(Vec<u8>, usize, bool), ChunkError> {
            let mut d = ChunkedDecoder::new();
            let mut out = Vec::new();
            let mut consumed = 0;
            for p in parts {
                let (n, done) = d.decode(p, &mut out)?;
                assert!(n <= p.len());
                consumed += n;
                if done {
                    return Ok((out, consumed, true));
                }
            }
            Ok((out, consumed, false))
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            /// Arbitrary bytes never panic, and the result does not depend on where the
            /// input was split.
            #[test]
            fn arbitrary_bytes_split_anywhere(
                data in proptest::collection::vec(any::<u8>(), 0..256),
                split in any::<prop::sample::Index>(),
            ) {
                let at = split.index(data.len() + 1);
                let whole = run(&[&data]);
                let split = run(&[&data[..at], &data[at..]]);
                prop_assert_eq!(whole, split);
            }

            /// Chunk-like input (hex sizes, CRLFs, data) split anywhere decodes the same.
            #[test]
            fn chunky_bytes_split_anywhere(
                data in proptest::collection::vec(prop::sample::select(b"0123abfF;= \r\nX:".to_vec()), 0..256),
                split in any::<prop::sample::Index>(),
            ) {
                let at = split.index(data.len() + 1);
                prop_assert_eq!(run(&[&data]), run(&[&data[..at], &data[at..]]));
            }
        }
    }
}
