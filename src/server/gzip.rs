//! `gzip` and `gzip_static`: compressed answers for clients that accept them.
//!
//! nginx compresses every response again; webserv compresses a static file once and
//! keeps the result in a per-worker cache keyed by the file and its validator (so the
//! file cache's one-second trust window does not cost a new compression), up to
//! [`MAX_BYTES`] of compressed data; a file over [`MAX_FILE`] is compressed as it is
//! sent instead (`Body::GzipFile`, streamed by `conn/io.rs`). Dynamic bodies (listings,
//! error pages) are small and compressed per response. Ranges are never compressed (the client asked for
//! bytes of the file), and nothing shorter than `gzip_min_length`.

use std::io::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::filecache::{Cached, Content};
use super::http::request::RequestHead;
use super::http::response::header;
use crate::confc::table::Effective;

/// Files larger than this are not kept compressed: they are compressed as they are
/// sent, every time (as nginx does for every file).
pub const MAX_FILE: u64 = 8 << 20;
/// Compressed bytes one worker keeps.
pub const MAX_BYTES: usize = 16 << 20;
const MAX_ENTRIES: usize = 1024;

/// Whether the client accepts gzip: `gzip` (or `x-gzip`, or `*`) with a q-value above 0.
pub fn accepted(head: &RequestHead) -> bool {
    head.header("accept-encoding").is_some_and(accepts)
}

fn accepts(value: &[u8]) -> bool {
    let Ok(v) = std::str::from_utf8(value) else {
        return false;
    };
    let mut star = None;
    for item in v.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .next()
            .map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            return q > 0.0;
        }
        if coding == "*" {
            star = Some(q > 0.0);
        }
    }
    star.unwrap_or(false)
}

/// Whether `gzip` applies to a response of this media type and status here: `text/html`
/// and the `gzip_types`, for 200, 403 and 404 (as nginx).
pub fn applies(settings: &Effective, media: &str, status: u16) -> bool {
    if !settings.gzip.value || !matches!(status, 200 | 403 | 404) {
        return false;
    }
    let essence = media.split(';').next().unwrap_or(media).trim();
    essence.eq_ignore_ascii_case("text/html")
        || settings
            .gzip_types
            .value
            .iter()
            .any(|t| t == "*" || t.eq_ignore_ascii_case(essence))
}

/// gzip of `data` at `level` (1-9).
pub fn compress(data: &[u8], level: u64) -> Vec<u8> {
    let level = flate2::Compression::new(level.clamp(1, 9) as u32);
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 3 + 64), level);
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// The header lines of a file's compressed 200: `Content-Type`, `Last-Modified`, the
/// weak `ETag` nginx gives a compressed answer, `Content-Encoding`, `Vary`.
pub fn header_lines(f: &Cached, media: &str) -> Vec<u8> {
    let mut h = Vec::with_capacity(192);
    h.extend_from_slice(b"Content-Type: ");
    super::mime::push_content_type(&mut h, media);
    h.extend_from_slice(b"\r\n");
    header(&mut h, "Last-Modified", f.last_modified.as_bytes());
    header(&mut h, "ETag", format!("W/{}", f.etag).as_bytes());
    header(&mut h, "Content-Encoding", b"gzip");
    header(&mut h, "Vary", b"Accept-Encoding");
    h
}

/// A compressed file and the header lines its 200 carries.
pub struct Compressed {
    pub bytes: Arc<[u8]>,
    /// `Content-Type`, `Last-Modified`, the weak `ETag`, `Content-Encoding`, `Vary`.
    pub headers: Arc<[u8]>,
}

/// The compressed files of one worker, keyed by file and validated by ETag and level.
#[derive(Default)]
pub struct GzCache {
    map: FxHashMap<Vec<u8>, (String, u64, Arc<Compressed>)>,
    bytes: usize,
    /// The lookup key, rebuilt in place.
    key: Vec<u8>,
}

impl GzCache {
    /// The compressed form of `f` (opened as `key`), made now if need be; `None` when the
    /// file is too large or cannot be read.
    pub fn get(
        &mut self,
        base: &Path,
        rel: &str,
        f: &Cached,
        media: &str,
        level: u64,
    ) -> Option<Arc<Compressed>> {
        self.key.clear();
        self.key.extend_from_slice(base.as_os_str().as_bytes());
        self.key.push(0);
        self.key.extend_from_slice(rel.as_bytes());
        if let Some((etag, l, c)) = self.map.get(self.key.as_slice())
            && *etag == f.etag
            && *l == level
        {
            return Some(c.clone());
        }
        if f.size > MAX_FILE {
            return None;
        }
        let data: std::borrow::Cow<[u8]> = match &f.content {
            Content::Bytes(b) => std::borrow::Cow::Borrowed(&b[..]),
            Content::File(file) => {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0; f.size as usize];
                file.read_exact_at(&mut buf, 0).ok()?;
                std::borrow::Cow::Owned(buf)
            }
        };
        let bytes: Arc<[u8]> = compress(&data, level).into();
        let c = Arc::new(Compressed {
            bytes,
            headers: header_lines(f, media).into(),
        });
        let add = c.bytes.len();
        if self.map.len() >= MAX_ENTRIES || self.bytes + add > MAX_BYTES {
            self.clear();
        }
        if add <= MAX_BYTES {
            if let Some((_, _, old)) = self
                .map
                .insert(self.key.clone(), (f.etag.clone(), level, c.clone()))
            {
                self.bytes -= old.bytes.len();
            }
            self.bytes += add;
        }
        Some(c)
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_is_read_with_q_values() {
        assert!(accepts(b"gzip"));
        assert!(accepts(b"deflate, gzip;q=0.5, br"));
        assert!(accepts(b"GZIP"));
        assert!(accepts(b"x-gzip"));
        assert!(accepts(b"*"));
        assert!(!accepts(b"gzip;q=0"));
        assert!(!accepts(b"gzip;q=0.000"));
        assert!(!accepts(b"br, deflate"));
        assert!(!accepts(b"*;q=0"));
        assert!(!accepts(b"gzip;q=0, *"));
        assert!(!accepts(b""));
        assert!(!accepts(b"\xff"));
    }

    #[test]
    fn compressed_bytes_decompress_to_the_original() {
        use std::io::Read as _;
        let data = b"body{color:red}\n".repeat(200);
        let gz = compress(&data, 5);
        assert!(gz.len() < data.len() / 10);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }
}
