//! The client's side of a connection: the socket, the bytes read and not yet used, the
//! bytes queued and not yet sent (and a file to follow them), and the readiness the
//! events reported. Nothing else reads or writes the client socket.
//!
//! The socket is touched in three places only: `recv` (into the read buffer), `send`
//! (from the write buffer) and `send_file` (a file body, with sendfile). A TLS transport
//! belongs exactly there: `recv` would feed the TLS session and hand back plaintext,
//! `send` would encrypt; it has no `send_file` (the kernel cannot encrypt a file it
//! sends), so a file body would be read into the write buffer in pieces instead. The
//! request logic above sees only the buffers and the readiness flags.
//!
//! On an `ssl` address it is so: `tls` holds the rustls session (`tls_io.rs`), and
//! `fill`, `flush` and `shutdown_write` go through it.

use std::io::{self, Read};
use std::net::Shutdown;
use std::num::NonZeroUsize;
use std::sync::Arc;

use mio::net::TcpStream;
use socket2::SockRef;

use super::tls_io::{self, Got, Tls};

/// Read buffer size: room for the largest head the parser accepts (8 KiB request line
/// + 16 KiB fields) plus pipelined bytes.
pub const RBUF: usize = 32 * 1024;

/// Buffers lent to active connections and returned when they go idle, so an idle
/// keep-alive connection holds no buffer.
#[derive(Default)]
pub struct Pool {
    rbufs: Vec<Vec<u8>>,
    wbufs: Vec<Vec<u8>>,
    /// Where TLS connections read ciphertext (one per worker).
    scratch: Vec<u8>,
}

impl Pool {
    fn scratch(&mut self) -> Vec<u8> {
        let s = std::mem::take(&mut self.scratch);
        if s.len() == tls_io::SCRATCH {
            s
        } else {
            vec![0; tls_io::SCRATCH]
        }
    }

    fn rbuf(&mut self) -> Vec<u8> {
        self.rbufs.pop().unwrap_or_else(|| vec![0; RBUF])
    }

    fn wbuf(&mut self) -> Vec<u8> {
        self.wbufs
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(16 * 1024))
    }

    fn give_rbuf(&mut self, b: Vec<u8>) {
        if b.len() == RBUF && self.rbufs.len() < 256 {
            self.rbufs.push(b);
        }
    }

    fn give_wbuf(&mut self, mut b: Vec<u8>) {
        if b.capacity() > 0 && b.capacity() <= 256 * 1024 && self.wbufs.len() < 256 {
            b.clear();
            self.wbufs.push(b);
        }
    }
}

/// A file body still to send: the file, the next offset and the bytes left.
struct FileOut {
    file: Arc<std::fs::File>,
    offset: u64,
    remaining: u64,
    /// The first offset: `offset - start` bytes are sent.
    start: u64,
    /// Compressed as it goes (then the file is read into the write buffer, never sent
    /// with sendfile).
    gzip: Option<Box<GzipStream>>,
}

/// A gzip stream over a file body. Once its last bytes are queued (`enc` gone) it stays
/// until the response is logged, for the count of compressed bytes.
struct GzipStream {
    enc: Option<flate2::write::GzEncoder<Vec<u8>>>,
    /// HTTP/1.1: every piece as a chunk, and the last chunk at the end; else the bytes
    /// as they are, the close ending them.
    chunked: bool,
    /// Compressed body bytes queued so far.
    produced: u64,
}

/// How much of the file one refill of a gzip stream reads.
const GZIP_PIECE: usize = 64 * 1024;

/// Appends compressed bytes as a chunk (or as they are, when the close ends the body);
/// the number of body bytes. For a CGI's compressed output and a file's gzip stream.
pub(super) fn emit(w: &mut Vec<u8>, out: &[u8], chunked: bool) -> u64 {
    use std::io::Write as _;
    if out.is_empty() {
        return 0;
    }
    if chunked {
        let _ = write!(w, "{:x}\r\n", out.len());
        w.extend_from_slice(out);
        w.extend_from_slice(b"\r\n");
    } else {
        w.extend_from_slice(out);
    }
    out.len() as u64
}

/// What one read from the client gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    /// Bytes arrived (or the read was interrupted: try again).
    More,
    /// Nothing to read now: `readable` is cleared until the next event.
    Blocked,
    /// End of stream, or the connection failed.
    Closed,
    /// A plain HTTP request came to a TLS address. The connection speaks plaintext from
    /// now on, to say so (400), and closes.
    PlainHttp,
}

/// The client socket and its buffers.
pub struct ClientIo {
    pub sock: TcpStream,
    /// Readiness reported by events and cleared by `WouldBlock`.
    pub readable: bool,
    pub writable: bool,
    /// The peer's FIN was reported (EPOLLRDHUP): reads will end in EOF.
    pub read_closed: bool,
    /// Lent by the pool while the connection is active; empty when idle.
    rbuf: Vec<u8>,
    /// `rbuf[rstart..rend]` is read and not yet used (u32: the buffer is 32 KiB, and a
    /// `Conn` is held by every idle connection).
    rstart: u32,
    rend: u32,
    wbuf: Vec<u8>,
    /// `wbuf[..wpos]` is sent (u32, like `rend`: a `Conn` stays small).
    wpos: u32,
    /// `wbuf[..committed]` holds finished responses to pipelined requests, not yet
    /// sent: a new response is appended after them, and only its own bytes are ever
    /// replaced.
    committed: u32,
    /// Boxed: most connections never hold one, and idle ones never do.
    file: Option<Box<FileOut>>,
    /// The TLS session of a connection to an `ssl` address.
    tls: Option<Box<Tls>>,
}

impl ClientIo {
    pub fn new(sock: TcpStream, tls: Option<rustls::ServerConnection>) -> ClientIo {
        ClientIo {
            tls: tls.map(|c| Box::new(Tls::new(c))),
            sock,
            readable: false,
            writable: true,
            read_closed: false,
            rbuf: Vec::new(),
            rstart: 0,
            rend: 0,
            wbuf: Vec::new(),
            wpos: 0,
            committed: 0,
            file: None,
        }
    }

    // ---- input ------------------------------------------------------------------------

    /// The bytes read and not yet used.
    pub fn input(&self) -> &[u8] {
        &self.rbuf[self.rstart as usize..self.rend as usize]
    }

    pub fn has_input(&self) -> bool {
        self.rend > self.rstart
    }

    /// Marks `n` bytes of [`ClientIo::input`] used.
    pub fn consume(&mut self, n: usize) {
        self.rstart += n as u32;
    }

    /// Drops everything read and not used.
    pub fn discard_input(&mut self) {
        self.rstart = self.rend;
    }

    /// Whether the connection speaks TLS (`$scheme` is `https`, CGI gets `HTTPS=on`).
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Reads once into the read buffer (borrowed from the pool, and compacted first
    /// when needed).
    pub fn fill(&mut self, pool: &mut Pool) -> Input {
        if self.rbuf.is_empty() {
            self.rbuf = pool.rbuf();
        }
        if self.rstart == self.rend {
            self.rstart = 0;
            self.rend = 0;
        } else if self.rend as usize == self.rbuf.len() {
            if self.rstart == 0 {
                // Full of one head: the parser has already refused anything this big.
                return Input::Closed;
            }
            self.rbuf
                .copy_within(self.rstart as usize..self.rend as usize, 0);
            self.rend -= self.rstart;
            self.rstart = 0;
        }
        if self.tls.is_some() {
            return self.fill_tls(pool);
        }
        let space = self.rbuf.len() - self.rend as usize;
        match self.recv() {
            Ok(0) => Input::Closed,
            Ok(n) => {
                self.rend += n as u32;
                // A short read drained the socket: wait for the next edge instead of
                // paying for a read that returns EAGAIN. (Unless the peer's FIN is
                // known: then the next read must happen, to see the EOF.)
                if n < space && !self.read_closed {
                    self.readable = false;
                }
                Input::More
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.readable = false;
                Input::Blocked
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Input::More,
            Err(_) => Input::Closed,
        }
    }

    /// `fill` on a TLS connection: plaintext rustls already holds first, else one read
    /// of ciphertext.
    fn fill_tls(&mut self, pool: &mut Pool) -> Input {
        let Some(tls) = self.tls.as_mut() else {
            return Input::Closed;
        };
        let end = self.rend as usize;
        match tls.take_plaintext(&mut self.rbuf[end..]) {
            Ok(0) => {}
            Ok(n) => {
                self.rend += n as u32;
                return Input::More;
            }
            Err(_) => return Input::Closed,
        }
        let mut scratch = pool.scratch();
        let got = tls.read(
            &self.sock,
            &mut scratch,
            &mut self.rbuf[end..],
            &mut self.readable,
            self.read_closed,
        );
        pool.scratch = scratch;
        match got {
            Got::More(n) => {
                self.rend += n as u32;
                // The read buffer was full: rustls keeps the rest, with no event to say so.
                if tls.has_plaintext() {
                    self.readable = true;
                }
                Input::More
            }
            Got::Blocked => Input::Blocked,
            Got::Closed => Input::Closed,
            Got::PlainHttp => {
                self.tls = None;
                Input::PlainHttp
            }
        }
    }

    /// The one read from the socket: into the free end of the read buffer.
    fn recv(&mut self) -> io::Result<usize> {
        let end = self.rend as usize;
        self.sock.read(&mut self.rbuf[end..])
    }

    /// Reads and drops whatever the client still sends (a closing connection's linger),
    /// until it would block or the stream ends.
    pub fn drain(&mut self) -> Input {
        let mut scratch = [0u8; 4096];
        loop {
            match self.sock.read(&mut scratch) {
                Ok(0) => return Input::Closed,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                    return Input::Blocked;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Input::Closed,
            }
        }
    }

    // ---- output -----------------------------------------------------------------------

    /// The write buffer, to append a response to (borrowed from the pool if the
    /// connection holds none).
    pub fn out(&mut self, pool: &mut Pool) -> &mut Vec<u8> {
        if self.wbuf.capacity() == 0 {
            self.wbuf = pool.wbuf();
        }
        &mut self.wbuf
    }

    /// Bytes queued and not yet sent (the file body not counted).
    pub fn queued(&self) -> usize {
        self.wbuf.len() - self.wpos as usize
    }

    /// Bytes wait to be sent: queued plaintext, or TLS records the socket had no room
    /// for (a handshake reply, a session ticket).
    pub fn has_output(&self) -> bool {
        (self.wpos as usize) < self.wbuf.len()
            || self.tls.as_ref().is_some_and(|t| t.conn.wants_write())
    }

    /// Finished answers to earlier pipelined requests wait to be sent.
    pub fn committed_unsent(&self) -> bool {
        self.wpos < self.committed
    }

    /// Bytes queued in all (for the pipelining batch limit).
    pub fn out_len(&self) -> usize {
        self.wbuf.len()
    }

    /// The response just queued is finished: the next one goes after it.
    pub fn commit(&mut self) {
        self.committed = self.wbuf.len() as u32;
    }

    /// Queues `len` bytes of `file` from `offset` after what the write buffer holds.
    pub fn send_file_after(&mut self, file: Arc<std::fs::File>, offset: u64, len: u64) {
        self.file = Some(Box::new(FileOut {
            file,
            offset,
            remaining: len,
            start: offset,
            gzip: None,
        }));
    }

    /// Queues the whole `file` (`len` bytes), gzip-compressed at `level` as it is sent,
    /// in chunks or (`chunked` false) as bare bytes.
    pub fn send_gzip_after(
        &mut self,
        file: Arc<std::fs::File>,
        len: u64,
        level: u32,
        chunked: bool,
    ) {
        let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        self.file = Some(Box::new(FileOut {
            file,
            offset: 0,
            remaining: len,
            start: 0,
            gzip: Some(Box::new(GzipStream {
                enc: Some(enc),
                chunked,
                produced: 0,
            })),
        }));
    }

    /// The compressed body bytes of the gzip stream just sent (0 without one); the
    /// finished stream is let go.
    pub fn take_streamed(&mut self) -> u64 {
        match self.file.as_ref().and_then(|f| f.gzip.as_ref()) {
            Some(gz) if gz.enc.is_none() => {
                let n = gz.produced;
                self.file = None;
                n
            }
            _ => 0,
        }
    }

    /// A gzip stream waits for more of its file to be read into the write buffer.
    fn streaming(&self) -> bool {
        self.file
            .as_ref()
            .and_then(|f| f.gzip.as_ref())
            .is_some_and(|gz| gz.enc.is_some())
    }

    /// A file body has bytes still to go (a finished gzip stream has none).
    fn file_pending(&self) -> bool {
        self.file
            .as_ref()
            .is_some_and(|f| f.gzip.as_ref().is_none_or(|gz| gz.enc.is_some()))
    }

    /// Once everything queued is sent: the next piece of a gzip stream into the write
    /// buffer, compressed and framed; at the file's end the stream's last bytes (and
    /// the last chunk).
    fn refill_gzip(&mut self) -> io::Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::FileExt as _;
        let Some(f) = self.file.as_mut() else {
            return Ok(());
        };
        let Some(gz) = f.gzip.as_mut() else {
            return Ok(());
        };
        let Some(enc) = gz.enc.as_mut() else {
            return Ok(());
        };
        self.wbuf.clear();
        self.wpos = 0;
        self.committed = 0;
        let want = f.remaining.min(GZIP_PIECE as u64) as usize;
        if want > 0 {
            let mut piece = vec![0; want];
            let n = f.file.read_at(&mut piece, f.offset)?;
            if n == 0 {
                // The file shrank under us: the stream cannot be completed honestly.
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            enc.write_all(&piece[..n])?;
            f.offset += n as u64;
            f.remaining -= n as u64;
        }
        let mut out = std::mem::take(enc.get_mut());
        let last = f.remaining == 0;
        if last && let Some(enc) = gz.enc.take() {
            out.extend_from_slice(&enc.finish()?);
        }
        gz.produced += emit(&mut self.wbuf, &out, gz.chunked);
        if last && gz.chunked {
            self.wbuf.extend_from_slice(b"0\r\n\r\n");
        }
        Ok(())
    }

    /// Bytes of the queued output sent so far (the write buffer's, then the file's).
    pub fn sent(&self) -> u64 {
        self.wpos as u64 + self.file.as_ref().map_or(0, |f| f.offset - f.start)
    }

    pub fn has_file(&self) -> bool {
        self.file_pending()
    }

    /// Drops the current response's unsent bytes (to replace or start it), keeping
    /// finished responses that still wait to be sent.
    pub fn reset_out(&mut self) {
        if self.committed <= self.wpos {
            self.wbuf.clear();
            self.wpos = 0;
            self.committed = 0;
        } else {
            self.wbuf.truncate(self.committed as usize);
        }
    }

    /// Drops the current response's file body (a failure replaces the response).
    pub fn drop_file(&mut self) {
        self.file = None;
    }

    /// Everything queued went out: reuse the buffer from its start.
    pub fn out_sent(&mut self) {
        self.wbuf.clear();
        self.wpos = 0;
        self.committed = 0;
    }

    /// Writes the finished responses of earlier pipelined requests (`wbuf[..committed]`)
    /// and nothing after them. `Ok(true)` when they are all sent.
    pub fn flush_committed(&mut self) -> io::Result<bool> {
        let rest = self.wbuf.split_off(self.committed as usize);
        let file = self.file.take();
        let sent = self.flush();
        self.wbuf.extend_from_slice(&rest);
        self.file = file;
        sent
    }

    /// Writes the buffered bytes, then the file. `Ok(true)` when all is sent.
    pub fn flush(&mut self) -> io::Result<bool> {
        if self.tls.is_some() {
            return self.flush_tls();
        }
        loop {
            if !self.flush_plain()? {
                return Ok(false);
            }
            if !self.streaming() {
                return Ok(true);
            }
            self.refill_gzip()?;
        }
    }

    /// `flush` without TLS, up to a gzip stream's next piece.
    fn flush_plain(&mut self) -> io::Result<bool> {
        while (self.wpos as usize) < self.wbuf.len() {
            if !self.writable {
                return Ok(false);
            }
            // With a file to follow, MSG_MORE holds the head back so it leaves in the
            // same segments as sendfile's first bytes (nginx uses TCP_NOPUSH for this).
            match self.send(self.file_pending()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.wpos += n as u32,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.writable = false;
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(f) = &mut self.file
            && f.gzip.is_none()
        {
            while f.remaining > 0 {
                if !self.writable {
                    return Ok(false);
                }
                match send_file(&self.sock, f) {
                    Ok(0) => {
                        // The file shrank under us: the promised length cannot be kept.
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                    Ok(n) => {
                        f.offset += n as u64;
                        f.remaining -= n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.writable = false;
                        return Ok(false);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            self.file = None;
        }
        Ok(true)
    }

    /// `flush` on a TLS connection: more plaintext is encrypted (rustls takes a bounded
    /// amount at a time: the write buffer's, then the file's in pieces), and the records
    /// go out, those rustls had queued before in the same write. `Ok(true)` when
    /// everything is on the socket.
    fn flush_tls(&mut self) -> io::Result<bool> {
        loop {
            // A gzip stream's next piece, once the last one's records are out.
            if (self.wpos as usize) == self.wbuf.len()
                && self.streaming()
                && !self.tls.as_ref().is_some_and(|t| t.conn.wants_write())
            {
                self.refill_gzip()?;
            }
            let Some(tls) = self.tls.as_mut() else {
                return Ok(true);
            };
            if (self.wpos as usize) < self.wbuf.len() {
                let n = tls.encrypt(&self.wbuf[self.wpos as usize..])?;
                self.wpos += n as u32;
            } else if let Some(f) = &mut self.file
                && f.gzip.is_none()
            {
                // A file piece only into an empty buffer, so that it fits whole.
                if f.remaining > 0 && !tls.conn.wants_write() {
                    let n = tls.encrypt_file(&f.file, f.offset, f.remaining)?;
                    f.offset += n as u64;
                    f.remaining -= n as u64;
                }
                if f.remaining == 0 {
                    self.file = None;
                }
            }
            if !tls.push(&self.sock, &mut self.writable)? {
                return Ok(false);
            }
            if (self.wpos as usize) == self.wbuf.len() && !self.file_pending() {
                return Ok(true);
            }
        }
    }

    /// The one write to the socket: the unsent part of the write buffer. `more`: a
    /// file follows (`MSG_MORE`). Never raises SIGPIPE (`MSG_NOSIGNAL`).
    fn send(&self, more: bool) -> io::Result<usize> {
        let more = if more { libc::MSG_MORE } else { 0 };
        SockRef::from(&self.sock)
            .send_with_flags(&self.wbuf[self.wpos as usize..], libc::MSG_NOSIGNAL | more)
    }

    /// Shuts the write side (the response is all sent; the client may still be
    /// sending).
    pub fn shutdown_write(&mut self) {
        if let Some(tls) = &mut self.tls {
            tls.close_notify(&self.sock);
        }
        let _ = self.sock.shutdown(Shutdown::Write);
    }

    // ---- buffers ----------------------------------------------------------------------

    /// Gives the buffers back to the pool while the connection waits idle (nothing read
    /// and unused).
    pub fn idle(&mut self, pool: &mut Pool) {
        if self.rend == self.rstart {
            self.rstart = 0;
            self.rend = 0;
            if !self.rbuf.is_empty() {
                pool.give_rbuf(std::mem::take(&mut self.rbuf));
            }
            if self.wbuf.capacity() > 0 {
                pool.give_wbuf(std::mem::take(&mut self.wbuf));
            }
        }
    }

    /// Returns the buffers to the pool as the connection closes, after one last try to
    /// send the finished answers to earlier pipelined requests: whatever ends the
    /// connection (a failed body, a CGI error, a timeout, EOF), they are complete. Best
    /// effort: the socket does not block, and a full buffer loses them.
    pub fn release(&mut self, pool: &mut Pool) {
        if self.wpos < self.committed {
            self.wbuf.truncate(self.committed as usize);
            self.file = None;
            self.writable = true;
            let _ = self.flush();
        }
        if !self.rbuf.is_empty() {
            pool.give_rbuf(std::mem::take(&mut self.rbuf));
        }
        if self.wbuf.capacity() > 0 {
            pool.give_wbuf(std::mem::take(&mut self.wbuf));
        }
    }
}

/// The one sendfile: up to 2 MiB of the file at a time (as nginx), so one big download
/// does not hold the worker.
fn send_file(sock: &TcpStream, f: &FileOut) -> io::Result<usize> {
    let chunk = NonZeroUsize::new(f.remaining.min(2 << 20) as usize);
    SockRef::from(sock).sendfile(&*f.file, f.offset as usize, chunk)
}
