//! TLS inside [`ClientIo`](super::io::ClientIo): the rustls session between the socket
//! and the plaintext buffers. Ciphertext is read from the socket into the pool's scratch
//! buffer and fed to rustls, whose plaintext lands in the read buffer; plaintext from
//! the write buffer (and a file body, read in 16 KiB pieces: the kernel cannot encrypt
//! what sendfile sends) is encrypted by rustls and written to the socket. Handshakes run
//! inside these same reads and writes, so they are non-blocking and under the
//! connection's deadlines like any other byte.

use std::io::{self, IoSlice, Read, Write};
use std::os::unix::fs::FileExt;

use mio::net::TcpStream;
use rustls::ServerConnection;
use socket2::SockRef;

/// Ciphertext read from the socket at a time: at most a record's worth of plaintext, so
/// rustls' own plaintext buffer (16 KiB) never overflows.
pub const SCRATCH: usize = 16 * 1024;

/// A file body is encrypted this many bytes at a time.
const FILE_CHUNK: usize = 16 * 1024;

/// A connection's TLS session.
pub struct Tls {
    pub conn: ServerConnection,
    /// No byte has come from the client yet: the first one tells TLS from plain HTTP.
    fresh: bool,
}

impl Tls {
    pub fn new(conn: ServerConnection) -> Tls {
        Tls { conn, fresh: true }
    }
}

/// What a read of ciphertext gave.
pub enum Got {
    /// Plaintext was added to the buffer (`usize` bytes), or records that held none
    /// (a handshake message): read again.
    More(usize),
    /// The socket has nothing now.
    Blocked,
    /// End of stream, a TLS error (the alert was sent), or a failed read.
    Closed,
    /// The first bytes are not a TLS handshake: a plain HTTP request to a TLS port.
    PlainHttp,
}

/// The socket as rustls writes to it: `send` with `MSG_NOSIGNAL`, vectored.
struct Sock<'a>(&'a TcpStream);

impl Write for Sock<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        SockRef::from(self.0).send_with_flags(buf, libc::MSG_NOSIGNAL)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        SockRef::from(self.0).send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Tls {
    /// Moves plaintext rustls holds into `out`; the bytes moved.
    pub fn take_plaintext(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        match self.conn.reader().read(out) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Reads ciphertext once into `scratch`, feeds it to rustls, and moves the plaintext
    /// into `out`. `readable` is cleared by a short read (the socket is drained), as for
    /// plain connections.
    pub fn read(
        &mut self,
        sock: &TcpStream,
        scratch: &mut [u8],
        out: &mut [u8],
        readable: &mut bool,
        read_closed: bool,
    ) -> Got {
        let n = match (&*sock).read(scratch) {
            Ok(0) => return Got::Closed,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                *readable = false;
                return Got::Blocked;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Got::More(0),
            Err(_) => return Got::Closed,
        };
        if std::mem::take(&mut self.fresh) && scratch[0] != 0x16 {
            // A TLS connection starts with a handshake record (0x16); a request line
            // starts with a method's letters.
            return Got::PlainHttp;
        }
        if n < scratch.len() && !read_closed {
            *readable = false;
        }
        let mut rest = &scratch[..n];
        let mut got = 0;
        while !rest.is_empty() {
            if self.conn.read_tls(&mut rest).is_err() {
                return Got::Closed;
            }
            if self.conn.process_new_packets().is_err() {
                // rustls queued an alert saying why: send it before closing.
                let _ = self.push(sock, &mut true);
                return Got::Closed;
            }
            match self.take_plaintext(&mut out[got..]) {
                Ok(k) => got += k,
                Err(_) => return Got::Closed,
            }
        }
        // Handshake replies, and TLS 1.3's session ticket as soon as the handshake is
        // done: it also acknowledges the client's Finished, which a client with Nagle's
        // algorithm on waits for (up to the 40 ms delayed ACK) before sending its request.
        let _ = self.push(sock, &mut true);
        Got::More(got)
    }

    /// Whether plaintext is still held by rustls (the read buffer was full): the
    /// connection has input without a socket event.
    pub fn has_plaintext(&mut self) -> bool {
        self.conn
            .process_new_packets()
            .is_ok_and(|s| s.plaintext_bytes_to_read() > 0)
    }

    /// Writes the records rustls has ready. `Ok(true)` when none is left.
    pub fn push(&mut self, sock: &TcpStream, writable: &mut bool) -> io::Result<bool> {
        while self.conn.wants_write() {
            if !*writable {
                return Ok(false);
            }
            match self.conn.write_tls(&mut Sock(sock)) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    *writable = false;
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Encrypts as much of `plain` as rustls takes now (its buffer is bounded); the
    /// bytes taken.
    pub fn encrypt(&mut self, plain: &[u8]) -> io::Result<usize> {
        self.conn.writer().write(plain)
    }

    /// Encrypts the next piece of a file (read with `pread`, never whole); the bytes
    /// taken. Only called when rustls has nothing left to send, so the piece fits.
    pub fn encrypt_file(
        &mut self,
        file: &std::fs::File,
        offset: u64,
        remaining: u64,
    ) -> io::Result<usize> {
        let mut chunk = [0u8; FILE_CHUNK];
        let want = (remaining as usize).min(FILE_CHUNK);
        let n = file.read_at(&mut chunk[..want], offset)?;
        if n == 0 {
            // The file shrank under us: the promised length cannot be kept.
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.encrypt(&chunk[..n])
    }

    /// Says goodbye (`close_notify`) before the write side is shut.
    pub fn close_notify(&mut self, sock: &TcpStream) {
        self.conn.send_close_notify();
        let _ = self.push(sock, &mut true);
    }
}
