//! The open-file cache: one per worker, no locks.
//!
//! A static file request otherwise costs an `openat2`, an `fstat`, a `pread` and a
//! `close` besides the socket I/O. A hit costs none of them: a small file's bytes (and
//! its ETag and Last-Modified, already rendered) come from memory, a large file's open
//! descriptor is reused for `sendfile`.
//!
//! Freshness, as lighttpd's stat cache and nginx's `open_file_cache_valid`:
//! - an entry is trusted for [`TTL`] after the file was opened, then opened again, so a
//!   file changed behind the server's back is seen at most [`TTL`] late;
//! - a change the server makes itself (PUT, an upload, DELETE, a CGI run) calls [`touch`],
//!   which every worker's cache sees at its next lookup and answers by emptying itself,
//!   so a client never reads its own write stale.
//!
//! Only regular files that opened successfully are cached: a 404 or 403 is always
//! looked up again.

use rustc_hash::FxHashMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::http::response::{file_headers, http_date};

/// How long an entry is trusted without looking at the file again.
pub const TTL: Duration = Duration::from_secs(1);
/// Files up to this size are held in memory; larger ones as an open descriptor.
pub const INLINE_MAX: u64 = 32 * 1024;
/// Entries per worker (each large one holds a descriptor).
const MAX_ENTRIES: usize = 1024;
/// Bytes of file content held per worker.
const MAX_BYTES: usize = 8 << 20;
/// Open descriptors held per worker: well under any open-file limit, so the cache can
/// never starve accept() or a file open.
const MAX_FDS: usize = 64;

/// Bumped by every change the server makes to the file system.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Tells every worker's cache that files may have changed.
pub fn touch() {
    GENERATION.fetch_add(1, Ordering::Release);
}

/// Calls [`touch`] when dropped (held by whatever may change files while it lives).
pub struct TouchOnDrop;

impl Drop for TouchOnDrop {
    fn drop(&mut self) {
        touch();
    }
}

/// What a file held in the cache is.
pub enum Content {
    /// The whole file.
    Bytes(Arc<[u8]>),
    /// An open descriptor (sent with sendfile).
    File(Arc<File>),
}

/// A regular file and its validators.
pub struct Cached {
    pub content: Content,
    pub size: u64,
    pub mtime: i64,
    /// `"mtime-size"` in hex, as nginx.
    pub etag: String,
    /// The HTTP date of `mtime`.
    pub last_modified: String,
    /// The file's header lines for a 200 or 206 ([`file_headers`]), rendered once, when
    /// the built-in table knows the type of the path opened (a block with its own
    /// `types`, or `default_type` for an unknown extension, renders them per response).
    pub headers: Option<Arc<[u8]>>,
    /// Until when the entry is trusted: [`TTL`] after the file was opened.
    expires: Instant,
}

impl Cached {
    /// Reads what the cache keeps of an open regular file, opened as `rel`.
    pub fn load(file: File, meta: &std::fs::Metadata, rel: &str) -> std::io::Result<Cached> {
        use std::os::unix::fs::FileExt;
        let size = meta.len();
        let content = if size <= INLINE_MAX {
            let mut buf = vec![0; size as usize];
            file.read_exact_at(&mut buf, 0)?;
            Content::Bytes(buf.into())
        } else {
            Content::File(Arc::new(file))
        };
        let etag = format!("\"{:x}-{:x}\"", meta.mtime(), size);
        let last_modified = http_date(meta.mtime());
        // The type comes from the path opened, unless that is the root or alias itself
        // (a location naming one file): then it is the URI's, rendered per response.
        let known = Some(rel.trim_start_matches('/'))
            .filter(|r| !r.is_empty())
            .and_then(super::mime::builtin_for);
        let headers = known.map(|media| {
            let mut h = Vec::with_capacity(128);
            file_headers(&mut h, media, &last_modified, &etag);
            h.into()
        });
        Ok(Cached {
            content,
            size,
            mtime: meta.mtime(),
            etag,
            last_modified,
            headers,
            expires: Instant::now() + TTL,
        })
    }
}

/// One worker's cache, keyed by root and path below it. FxHash: keys are only ever
/// paths that opened successfully, at most [`MAX_ENTRIES`] of them, so a client cannot
/// grow long collision chains.
#[derive(Default)]
pub struct FileCache {
    map: FxHashMap<Vec<u8>, Arc<Cached>>,
    bytes: usize,
    /// Entries holding a descriptor (at most [`MAX_FDS`]).
    fds: usize,
    generation: u64,
    /// The lookup key, rebuilt in place for every lookup.
    key: Vec<u8>,
    /// When expired entries are dropped next (so a file deleted behind the server's
    /// back does not keep its descriptor, and its disk space, for long).
    next_sweep: Option<Instant>,
}

/// The global generation now: read it before opening a file, and give it to
/// [`FileCache::insert`], so that a change made while the file was being read is not
/// cached over.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

impl FileCache {
    fn set_key(&mut self, root: &Path, rel: &str) {
        use std::os::unix::ffi::OsStrExt;
        self.key.clear();
        // NUL cannot occur in a path, so the pair is unambiguous.
        self.key.extend_from_slice(root.as_os_str().as_bytes());
        self.key.push(0);
        self.key.extend_from_slice(rel.as_bytes());
    }

    /// Empties the cache if the server changed files since it was filled.
    fn follow_generation(&mut self) {
        let generation = generation();
        if generation != self.generation {
            self.clear();
            self.generation = generation;
        }
    }

    /// Drops expired entries, at most once per [`TTL`]. The worker calls this from its
    /// loop (which wakes at least once a second), so even an idle worker does not keep
    /// descriptors of deleted files; a lookup only drops the entry it finds expired.
    pub fn sweep(&mut self, now: Instant) {
        if self.map.is_empty() || self.next_sweep.is_some_and(|t| now < t) {
            return;
        }
        self.next_sweep = Some(now + TTL);
        self.map.retain(|_, e| now < e.expires);
        self.recount();
    }

    fn recount(&mut self) {
        self.bytes = self.map.values().map(|e| content_bytes(e)).sum();
        self.fds = self
            .map
            .values()
            .filter(|e| matches!(e.content, Content::File(_)))
            .count();
    }

    /// A trusted entry for `rel` beneath `root`.
    pub fn get(&mut self, root: &Path, rel: &str, now: Instant) -> Option<Arc<Cached>> {
        self.follow_generation();
        if self.map.is_empty() {
            return None;
        }
        self.set_key(root, rel);
        let hit = self.map.get(self.key.as_slice())?;
        if now < hit.expires {
            return Some(hit.clone());
        }
        // Expired (the worker loop's sweep drops the others).
        if let Some(old) = self.map.remove(self.key.as_slice()) {
            self.uncount(&old);
        }
        None
    }

    fn uncount(&mut self, e: &Cached) {
        self.bytes -= content_bytes(e);
        self.fds -= usize::from(matches!(e.content, Content::File(_)));
    }

    /// Keeps an entry loaded by the caller after a miss; `seen` is [`generation`] from
    /// before the file was opened. Not kept if files changed since, or if it would hold
    /// one descriptor too many.
    pub fn insert(&mut self, root: &Path, rel: &str, entry: Arc<Cached>, seen: u64) {
        self.follow_generation();
        if seen != self.generation {
            return;
        }
        let (add, fd) = match &entry.content {
            Content::Bytes(b) => (b.len(), 0),
            Content::File(_) => (0, 1),
        };
        if self.map.len() >= MAX_ENTRIES || self.bytes + add > MAX_BYTES || self.fds + fd > MAX_FDS
        {
            self.next_sweep = None;
            self.sweep(Instant::now());
            if self.map.len() >= MAX_ENTRIES || self.bytes + add > MAX_BYTES {
                self.clear();
            }
            if self.fds + fd > MAX_FDS {
                return;
            }
        }
        self.set_key(root, rel);
        if let Some(old) = self.map.insert(self.key.clone(), entry) {
            self.uncount(&old);
        }
        self.bytes += add;
        self.fds += fd;
    }

    /// Drops every entry (and closes their descriptors, once no response uses them).
    pub fn clear(&mut self) {
        self.map.clear();
        self.bytes = 0;
        self.fds = 0;
    }
}

fn content_bytes(e: &Cached) -> usize {
    match &e.content {
        Content::Bytes(b) => b.len(),
        Content::File(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generation is global: tests that bump it and tests that expect a hit must not
    /// interleave.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn entry(dir: &Path, name: &str, body: &[u8]) -> Arc<Cached> {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        let f = File::open(&p).unwrap();
        let m = f.metadata().unwrap();
        Arc::new(Cached::load(f, &m, name).unwrap())
    }

    #[test]
    fn hit_until_ttl_or_touch() {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let mut c = FileCache::default();
        let now = Instant::now();
        assert!(c.get(dir.path(), "/a", now).is_none());
        c.insert(
            dir.path(),
            "/a",
            entry(dir.path(), "a", b"hello"),
            generation(),
        );
        let hit = c.get(dir.path(), "/a", now).expect("hit");
        assert!(matches!(&hit.content, Content::Bytes(b) if &b[..] == b"hello"));
        assert!(c.get(dir.path(), "/b", now).is_none(), "other path");
        assert!(
            c.get(Path::new("/elsewhere"), "/a", now).is_none(),
            "other root"
        );
        // Past the TTL the entry is dropped, and its bytes with it.
        assert!(c.get(dir.path(), "/a", now + TTL + TTL).is_none());
        assert_eq!(c.bytes, 0);
        c.insert(
            dir.path(),
            "/a",
            entry(dir.path(), "a", b"hello"),
            generation(),
        );
        touch();
        assert!(
            c.get(dir.path(), "/a", now).is_none(),
            "a change empties it"
        );
        assert!(c.map.is_empty());
    }

    #[test]
    fn large_files_keep_a_descriptor_and_bytes_are_bounded() {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let big = entry(dir.path(), "big", &vec![7u8; INLINE_MAX as usize + 1]);
        assert!(matches!(big.content, Content::File(_)));
        assert_eq!(big.size, INLINE_MAX + 1);
        let mut c = FileCache::default();
        let small = entry(dir.path(), "s", &vec![1u8; INLINE_MAX as usize]);
        for i in 0..(MAX_BYTES / INLINE_MAX as usize) * 2 {
            c.insert(dir.path(), &format!("/{i}"), small.clone(), generation());
            assert!(c.bytes <= MAX_BYTES);
        }
    }

    #[test]
    fn descriptors_are_capped() {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let mut c = FileCache::default();
        for i in 0..MAX_FDS * 2 {
            let e = entry(
                dir.path(),
                &format!("big{i}"),
                &vec![1u8; INLINE_MAX as usize + 1],
            );
            c.insert(dir.path(), &format!("/big{i}"), e, generation());
        }
        assert_eq!(c.fds, MAX_FDS, "the rest are served but not kept");
        assert_eq!(c.map.len(), MAX_FDS);
    }

    #[test]
    fn a_change_during_the_load_is_not_cached_over() {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let mut c = FileCache::default();
        let seen = generation();
        let e = entry(dir.path(), "a", b"old");
        touch(); // another worker finished a PUT while this one was reading
        c.insert(dir.path(), "/a", e, seen);
        assert!(c.get(dir.path(), "/a", Instant::now()).is_none());
    }
}
