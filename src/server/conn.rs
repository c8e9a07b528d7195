//! One client connection: a state machine driven by readiness.
//!
//! Readiness is tracked as flags (`readable`, `writable`) set by events and cleared on
//! `WouldBlock`; `drive` runs until the connection waits on something it has no
//! readiness for. Both interests are registered once, edge-triggered, so code that
//! queues output never has to remember to arm writable.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::num::NonZeroU16;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use super::dispatch::{self, Decision, Facts, Why};
use super::filecache::Cached;
use super::handlers::{self, Body, HandlerCtx, Response};
use super::http::body::ChunkedDecoder;
use super::http::request::{
    BodyFraming, Expect, HeadBufs, HeadLimits, Method, RequestHead, Version, parse_head_reusing,
};
use super::http::response::{self as resp, DateCache};
use super::log;
use super::router::Route;
use super::upload::Upload;
use crate::escape;

mod cgi_io;
use crate::confc::model::LogTarget;
use crate::confc::table::{GroupId, RoutingTable};
use cgi_io::{CgiRequest, CgiRun, Input};
pub use cgi_io::{SUB_PIDFD, SUB_STDERR, SUB_STDIN, SUB_STDOUT};

/// Read buffer size: room for the largest head the parser accepts (8 KiB request line
/// + 16 KiB fields) plus pipelined bytes.
pub const RBUF: usize = 32 * 1024;
/// Files up to this size are read into the write buffer and sent with the head in one
/// write; larger ones go out with sendfile.
const INLINE_FILE: u64 = 32 * 1024;
/// Unused request bodies up to this size are read and discarded to keep the connection;
/// larger ones close it after the response.
const DISCARD_MAX: u64 = 1 << 20;
/// Responses to pipelined requests are gathered up to this many bytes per send.
const PIPELINE_BATCH: usize = 64 * 1024;
/// How long a closing connection keeps reading so the response is not lost to a RST.
const LINGER: Duration = Duration::from_secs(2);

/// Buffers lent to active connections and returned when they go idle, so an idle
/// keep-alive connection holds no buffer.
#[derive(Default)]
pub struct Pool {
    rbufs: Vec<Vec<u8>>,
    wbufs: Vec<Vec<u8>>,
}

impl Pool {
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

/// What every connection of a worker shares.
pub struct WorkerCtx {
    pub table: Arc<RoutingTable>,
    pub handlers: HandlerCtx,
    pub date: DateCache,
    pub pool: Pool,
    pub limits: HeadLimits,
    /// The last request head's allocations, for the next one.
    pub head_bufs: HeadBufs,
    pub shutting_down: bool,
    /// For registering CGI pipes under the connection's tokens.
    pub registry: mio::Registry,
    /// Killed CGI children not reaped yet.
    pub zombies: Vec<std::process::Child>,
}

/// Where a connection is in its request cycle.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Phase {
    /// Waiting for (the rest of) a request head. `idle` when no byte of it has come yet.
    Head { idle: bool },
    /// Reading a request body into its sink (dropped, or an upload).
    Body,
    /// A CGI child runs: body to its stdin, its stdout to the client.
    Cgi,
    /// Writing the response.
    Send,
    /// Write side shut; reading until EOF so the peer sees the response, not a reset.
    Linger,
}

enum Framing {
    Length(u64),
    Chunked(ChunkedDecoder),
}

/// Where request body bytes go.
enum Sink {
    /// Dropped; the response is already queued.
    Discard,
    /// Streamed into temporary files; the response comes when the body is complete.
    Upload(Box<Upload>),
    /// A chunked body for a CGI, spooled to an unnamed temporary file so that the
    /// script gets its de-chunked CONTENT_LENGTH (as nginx does).
    Spool {
        file: std::fs::File,
        plan: Box<super::cgi::Plan>,
        head_only: bool,
        version: Version,
    },
}

/// A request body being read.
struct BodyIn {
    framing: Framing,
    /// `client_max_body_size` (0 = none), enforced on the decoded length as it streams.
    limit: u64,
    received: u64,
    sink: Sink,
    /// The route, for error pages of failures found while reading.
    route: Option<Route>,
    /// De-chunked body bytes on their way to the sink.
    scratch: Vec<u8>,
}

/// What carrying out a decision gives the connection.
enum Executed {
    /// The answer.
    Respond(Response),
    /// The answer, after which the connection closes without reading the body.
    Refuse(Response),
    /// A CGI run to start; it consumes the body.
    Cgi(Box<super::cgi::Plan>),
    /// An upload to feed the body to; it answers when the body is complete.
    Upload(Box<Upload>),
}

/// An unnamed temporary file for a spooled request body (gone when closed).
fn spool_file() -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::env::temp_dir();
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .mode(0o600)
        .open(&dir)
    {
        Ok(f) => Ok(f),
        Err(_) => {
            // No O_TMPFILE on this file system: create, then unlink at once.
            let p = dir.join(format!(
                ".webserv-body-{}-{:?}",
                std::process::id(),
                Instant::now()
            ));
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&p)?;
            let _ = std::fs::remove_file(&p);
            Ok(f)
        }
    }
}

/// What `drive` tells the worker.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Wait,
    Close,
}

/// One access-log line in the making.
struct LogInfo {
    target: LogTarget,
    request_line: String,
    referer: String,
    user_agent: String,
}

pub struct Conn {
    pub sock: TcpStream,
    pub peer: SocketAddr,
    /// The local address with the *configured* port (which differs from the bound one
    /// only when tests bind ephemeral ports).
    pub local: SocketAddr,
    /// The address group `local` belongs to, looked up once (and again after a reload:
    /// see `Worker::check_shared`), not per request; stored plus one, so that the
    /// `Option` costs no space in a struct every idle connection holds.
    group: Option<NonZeroU16>,
    pub readable: bool,
    pub writable: bool,
    /// The peer's FIN was reported (EPOLLRDHUP): reads will end in EOF.
    pub read_closed: bool,
    /// The client may still be sending (an error cut its request, or its body was not
    /// read): close with a lingering read, not at once.
    linger: bool,
    pub phase: Phase,
    pub deadline: Instant,
    rbuf: Vec<u8>,
    rstart: usize,
    rend: usize,
    wbuf: Vec<u8>,
    wpos: usize,
    /// `wbuf[..committed]` holds finished responses to pipelined requests, not yet
    /// sent: a new response is appended after them, and only its own bytes are ever
    /// replaced.
    committed: usize,
    /// A file body still to send: the file, the next offset and the bytes left (boxed:
    /// most connections never hold one, and idle ones never do).
    file: Option<Box<(std::sync::Arc<std::fs::File>, u64, u64)>>,
    body: Option<Box<BodyIn>>,
    /// First of this connection's tokens (socket); CGI pipes use the next ones.
    pub token_base: usize,
    cgi: Option<Box<CgiRun>>,
    /// Local CGI redirects followed for the current client request (reset when a
    /// request head arrives).
    redirects: u8,
    keep_alive: bool,
    status: u16,
    sent_body: u64,
    log: Option<Box<LogInfo>>,
}

impl Conn {
    pub fn new(
        sock: TcpStream,
        peer: SocketAddr,
        local: SocketAddr,
        token_base: usize,
        now: Instant,
        ctx: &WorkerCtx,
    ) -> Conn {
        let group = ctx.table.group_for(local);
        let timeout = header_timeout(ctx, group);
        let group = pack_group(group);
        Conn {
            sock,
            peer,
            local,
            group,
            readable: false,
            writable: true,
            read_closed: false,
            linger: false,
            phase: Phase::Head { idle: true },
            deadline: now + timeout,
            rbuf: Vec::new(),
            rstart: 0,
            rend: 0,
            wbuf: Vec::new(),
            wpos: 0,
            committed: 0,
            file: None,
            body: None,
            token_base,
            cgi: None,
            redirects: 0,
            keep_alive: true,
            status: 0,
            sent_body: 0,
            log: None,
        }
    }

    /// The address group of the connection's local address.
    pub fn group(&self) -> Option<GroupId> {
        self.group.map(|g| g.get() as usize - 1)
    }

    /// Looks the address group up again (in a reloaded table).
    pub fn refresh_group(&mut self, table: &RoutingTable) {
        self.group = pack_group(table.group_for(self.local));
    }

    /// Idle between requests, holding no buffers: the first to close under pressure.
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Head { idle: true } && self.rend == self.rstart
    }

    /// Returns the buffers to the pool (before the connection is dropped).
    pub fn release(&mut self, ctx: &mut WorkerCtx) {
        // Answers to earlier pipelined requests are complete: whatever ends this
        // connection (a failed body, a CGI error, a timeout, EOF), give them one last
        // try. Best effort: the socket does not block, and a full buffer loses them.
        if self.wpos < self.committed {
            self.wbuf.truncate(self.committed);
            self.file = None;
            self.writable = true;
            let _ = self.flush();
        }
        if let Some(run) = self.cgi.take() {
            run.abandon(ctx);
        }
        self.body = None;
        if !self.rbuf.is_empty() {
            ctx.pool.give_rbuf(std::mem::take(&mut self.rbuf));
        }
        if self.wbuf.capacity() > 0 {
            ctx.pool.give_wbuf(std::mem::take(&mut self.wbuf));
        }
    }

    /// The deadline passed.
    pub fn on_timeout(&mut self, ctx: &mut WorkerCtx, now: Instant) -> Next {
        match self.phase {
            Phase::Head { idle: false } => {
                // A request head that took too long (slowloris): 408 and close.
                self.respond_error(ctx, None, 408);
                self.keep_alive = false;
                self.deadline = now + send_timeout(ctx, self.group());
                self.drive(ctx, now)
            }
            Phase::Cgi => self.cgi_timeout(ctx, now),
            _ => Next::Close,
        }
    }

    /// Readiness on one of the CGI pipe tokens.
    pub fn cgi_ready(&mut self, sub: usize) {
        if let Some(run) = self.cgi.as_mut() {
            run.ready(sub);
        }
    }

    /// Runs the state machine until it has to wait.
    pub fn drive(&mut self, ctx: &mut WorkerCtx, now: Instant) -> Next {
        // The worker read the clock after its poll; a run of pipelined requests in one
        // call reads it again for each, so that Date and the file cache's trust window
        // do not stand still while it is answered.
        let mut answered = false;
        loop {
            match self.phase {
                Phase::Head { idle } => {
                    if self.rend > self.rstart {
                        let parsed = parse_head_reusing(
                            &self.rbuf[self.rstart..self.rend],
                            &ctx.limits,
                            &mut ctx.head_bufs,
                        );
                        match parsed {
                            Ok(Some((head, n))) => {
                                self.rstart += n;
                                if answered {
                                    ctx.handlers.now = Instant::now();
                                }
                                answered = true;
                                // CGI local redirects are counted per client request.
                                self.redirects = 0;
                                self.on_request(ctx, &head, now);
                                ctx.head_bufs = head.into_bufs();
                                continue;
                            }
                            Ok(None) => {
                                if idle {
                                    // First byte of a new request: the head deadline starts now.
                                    self.phase = Phase::Head { idle: false };
                                    self.deadline = now + header_timeout(ctx, self.group());
                                }
                            }
                            Err(e) => {
                                self.log_bad_request(ctx);
                                self.rstart = self.rend;
                                self.respond_error(ctx, None, e.status);
                                self.keep_alive = false;
                                continue;
                            }
                        }
                    }
                    // No complete request left: answers to pipelined ones go out
                    // before waiting for more.
                    if self.wpos < self.wbuf.len() {
                        match self.flush() {
                            Ok(true) => self.out_sent(),
                            Ok(false) => return Next::Wait,
                            Err(_) => return Next::Close,
                        }
                    }
                    if !self.readable {
                        if self.rend == self.rstart {
                            self.idle_buffers(ctx);
                        }
                        return Next::Wait;
                    }
                    match self.fill(ctx) {
                        // EOF: between requests that is a normal close; inside a head,
                        // the request is incomplete and there is nothing to answer.
                        Ok(0) => return Next::Close,
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return Next::Close,
                    }
                }
                Phase::Body => {
                    // An interim `100 Continue` goes out before the body is read. (A
                    // final response queued before a discarded body waits: a framing
                    // error in the body still replaces it.)
                    let interim = matches!(&self.body, Some(b) if !matches!(b.sink, Sink::Discard));
                    if interim && self.wpos < self.wbuf.len() {
                        match self.flush() {
                            Ok(_) => {}
                            Err(_) => return Next::Close,
                        }
                    } else if self.wpos < self.committed && self.writable {
                        // Finished answers to earlier pipelined requests go out now; only
                        // this request's own (queued before its body) has to wait.
                        match self.flush_committed() {
                            Ok(_) => {}
                            Err(_) => return Next::Close,
                        }
                    }
                    if self.rend > self.rstart {
                        match self.consume_body() {
                            Err(status) => {
                                self.abort_with(ctx, status);
                                continue;
                            }
                            Ok(true) => {
                                self.body_done(ctx, now);
                                self.deadline = now + send_timeout(ctx, self.group());
                                continue;
                            }
                            Ok(false) => {}
                        }
                    }
                    if !self.readable {
                        return Next::Wait;
                    }
                    match self.fill(ctx) {
                        Ok(0) => return Next::Close,
                        Ok(_) => self.deadline = now + body_timeout(ctx, self.group()),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return Next::Close,
                    }
                }
                Phase::Cgi => {
                    if let Some(next) = self.drive_cgi(ctx, now) {
                        return next;
                    }
                }
                Phase::Send if self.can_batch() => {
                    self.finish_request(ctx);
                    self.committed = self.wbuf.len();
                    self.phase = Phase::Head { idle: true };
                    self.deadline = now + keepalive_timeout(ctx, self.group());
                }
                Phase::Send => match self.flush() {
                    Ok(true) => {
                        self.finish_request(ctx);
                        self.out_sent();
                        if !self.keep_alive {
                            // Nothing unread and no body pending: close at once (nginx
                            // does). Otherwise linger, so unread bytes do not turn the
                            // close into a reset that destroys the response in flight.
                            if self.rend == self.rstart && !self.linger {
                                return Next::Close;
                            }
                            let _ = self.sock.shutdown(Shutdown::Write);
                            self.phase = Phase::Linger;
                            self.deadline = now + LINGER;
                            continue;
                        }
                        self.phase = Phase::Head { idle: true };
                        self.deadline = now + keepalive_timeout(ctx, self.group());
                    }
                    Ok(false) => return Next::Wait,
                    Err(_) => return Next::Close,
                },
                Phase::Linger => {
                    let mut scratch = [0u8; 4096];
                    loop {
                        match self.sock.read(&mut scratch) {
                            Ok(0) => return Next::Close,
                            Ok(_) => {}
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                self.readable = false;
                                return Next::Wait;
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(_) => return Next::Close,
                        }
                    }
                }
            }
        }
    }

    /// A request the parser refused is still logged (as nginx does), under the access
    /// log of the address's default server, with its first line as far as it is text.
    fn log_bad_request(&mut self, ctx: &WorkerCtx) {
        let settings = server_settings(ctx, self.group());
        if settings.access_log.value == LogTarget::Off {
            return;
        }
        let raw = &self.rbuf[self.rstart..self.rend];
        let line = raw.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let line = &line[..line.len().min(256)];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.log = Some(Box::new(LogInfo {
            target: settings.access_log.value.clone(),
            request_line: escape::log_field(line),
            referer: "-".into(),
            user_agent: "-".into(),
        }));
    }

    /// Gives the buffers back while the connection waits idle for its next request.
    fn idle_buffers(&mut self, ctx: &mut WorkerCtx) {
        if self.phase == (Phase::Head { idle: true }) && self.rend == self.rstart {
            self.rstart = 0;
            self.rend = 0;
            if !self.rbuf.is_empty() {
                ctx.pool.give_rbuf(std::mem::take(&mut self.rbuf));
            }
            if self.wbuf.capacity() > 0 {
                ctx.pool.give_wbuf(std::mem::take(&mut self.wbuf));
            }
        }
    }

    /// Reads once into the read buffer (compacting it first when needed).
    fn fill(&mut self, ctx: &mut WorkerCtx) -> io::Result<usize> {
        if self.rbuf.is_empty() {
            self.rbuf = ctx.pool.rbuf();
        }
        if self.rstart == self.rend {
            self.rstart = 0;
            self.rend = 0;
        } else if self.rend == self.rbuf.len() {
            if self.rstart == 0 {
                // Full of one head: the parser has already refused anything this big.
                return Err(io::Error::other("read buffer full"));
            }
            self.rbuf.copy_within(self.rstart..self.rend, 0);
            self.rend -= self.rstart;
            self.rstart = 0;
        }
        let space = self.rbuf.len() - self.rend;
        let n = self.sock.read(&mut self.rbuf[self.rend..])?;
        self.rend += n;
        // A short read drained the socket: wait for the next edge instead of paying
        // for a read that returns EAGAIN. (Unless the peer's FIN is known: then the
        // next read must happen, to see the EOF.)
        if n < space && !self.read_closed {
            self.readable = false;
        }
        Ok(n)
    }

    /// Feeds buffered body bytes to the sink. `Ok(true)` when the body is complete.
    fn consume_body(&mut self) -> Result<bool, u16> {
        let Some(body) = self.body.as_mut() else {
            return Ok(true);
        };
        let avail = &self.rbuf[self.rstart..self.rend];
        let (data, used, done): (&[u8], usize, bool) = match &mut body.framing {
            Framing::Length(rem) => {
                let take = (*rem).min(avail.len() as u64) as usize;
                *rem -= take as u64;
                (&avail[..take], take, *rem == 0)
            }
            Framing::Chunked(dec) => {
                body.scratch.clear();
                let (used, done) = dec.decode(avail, &mut body.scratch).map_err(|e| e.status)?;
                (&body.scratch[..], used, done)
            }
        };
        body.received += data.len() as u64;
        if body.limit != 0 && body.received > body.limit {
            return Err(413);
        }
        match &mut body.sink {
            Sink::Upload(up) => up.write(data)?,
            Sink::Spool { file, .. } => file.write_all(data).map_err(|_| 500u16)?,
            Sink::Discard => {}
        }
        self.rstart += used;
        Ok(done)
    }

    /// The whole body arrived: the sink's response (if it had none yet) goes out.
    fn body_done(&mut self, ctx: &mut WorkerCtx, now: Instant) {
        self.phase = Phase::Send;
        let Some(body) = self.body.take() else { return };
        if let Sink::Spool {
            mut file,
            plan,
            head_only,
            version,
        } = body.sink
        {
            use std::io::Seek;
            let route = body.route.expect("a CGI request has a route");
            if file.rewind().is_err() {
                self.queue_error(ctx, Some(&route), 500);
                return;
            }
            let input = Input::Spool(file, body.received);
            self.start_cgi(
                ctx,
                &plan,
                CgiRequest {
                    input,
                    length: Some(body.received),
                    route,
                    head_only,
                    version,
                },
                now,
            );
            return;
        }
        if let Sink::Upload(up) = body.sink {
            let head_only = false;
            match up.finish() {
                Ok(r) => self.queue(ctx, r, head_only, Version::Http11),
                Err(status) => {
                    let table = ctx.table.clone();
                    let r = handlers::error(&mut ctx.handlers, &table, body.route.as_ref(), status);
                    self.queue(ctx, r, head_only, Version::Http11);
                }
            }
        }
    }

    /// A failure while reading a body: drop the sink (an upload removes its temporary
    /// files), replace any queued response and close.
    fn abort_with(&mut self, ctx: &mut WorkerCtx, status: u16) {
        let route = self.body.take().and_then(|b| b.route);
        self.file = None;
        self.reset_out();
        self.log = None;
        let table = ctx.table.clone();
        let mut r = handlers::error(&mut ctx.handlers, &table, route.as_ref(), status);
        r.close = true;
        self.linger = true;
        self.queue(ctx, r, false, Version::Http11);
        self.phase = Phase::Send;
    }

    /// Writes the finished responses of earlier pipelined requests (`wbuf[..committed]`)
    /// and nothing after them. `Ok(true)` when they are all sent.
    fn flush_committed(&mut self) -> io::Result<bool> {
        let rest = self.wbuf.split_off(self.committed);
        let file = self.file.take();
        let sent = self.flush();
        self.wbuf.extend_from_slice(&rest);
        self.file = file;
        sent
    }

    /// Writes the buffered head/body, then the file. `Ok(true)` when all is sent.
    fn flush(&mut self) -> io::Result<bool> {
        while self.wpos < self.wbuf.len() {
            if !self.writable {
                return Ok(false);
            }
            // With a file to follow, MSG_MORE holds the head back so it leaves in the
            // same segments as sendfile's first bytes (nginx uses TCP_NOPUSH for this).
            let more = if self.file.is_some() {
                libc::MSG_MORE
            } else {
                0
            };
            let rest = &self.wbuf[self.wpos..];
            // SAFETY: a valid buffer and length on an open socket.
            let n = unsafe {
                libc::send(
                    self.sock.as_raw_fd(),
                    rest.as_ptr().cast(),
                    rest.len(),
                    libc::MSG_NOSIGNAL | more,
                )
            };
            let sent = if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            };
            match sent {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.wpos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.writable = false;
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(f) = &mut self.file {
            let (file, offset, remaining) = &mut **f;
            while *remaining > 0 {
                if !self.writable {
                    return Ok(false);
                }
                let mut off = *offset as libc::off_t;
                // 2 MiB at a time (as nginx): one big download does not hold the worker.
                let chunk = (*remaining).min(2 << 20) as usize;
                // SAFETY: both fds are open for the duration of the call; `off` is a
                // valid pointer. sendfile never touches memory we own otherwise.
                let n = unsafe {
                    libc::sendfile(self.sock.as_raw_fd(), file.as_raw_fd(), &mut off, chunk)
                };
                if n < 0 {
                    let e = io::Error::last_os_error();
                    match e.kind() {
                        io::ErrorKind::WouldBlock => {
                            self.writable = false;
                            return Ok(false);
                        }
                        io::ErrorKind::Interrupted => continue,
                        _ => return Err(e),
                    }
                }
                if n == 0 {
                    // The file shrank under us: the promised length cannot be kept.
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                *offset += n as u64;
                *remaining -= n as u64;
                self.sent_body += n as u64;
            }
            self.file = None;
        }
        Ok(true)
    }

    fn finish_request(&mut self, _ctx: &mut WorkerCtx) {
        if let Some(info) = self.log.take() {
            let line = format!(
                "{} - - [{}] \"{}\" {} {} \"{}\" \"{}\"\n",
                self.peer.ip(),
                log::local_time(log::now_secs()),
                info.request_line,
                self.status,
                self.sent_body,
                info.referer,
                info.user_agent
            );
            log::write(&info.target, line);
        }
        self.sent_body = 0;
        self.status = 0;
    }

    /// Drops the current response's unsent bytes (to replace or start it), keeping
    /// finished responses that still wait to be sent.
    pub(super) fn reset_out(&mut self) {
        if self.committed <= self.wpos {
            self.wbuf.clear();
            self.wpos = 0;
            self.committed = 0;
        } else {
            self.wbuf.truncate(self.committed);
        }
    }

    /// Everything queued went out: reuse the buffer from its start.
    pub(super) fn out_sent(&mut self) {
        self.wbuf.clear();
        self.wpos = 0;
        self.committed = 0;
    }

    /// Whether the response just queued may wait in the buffer while the next request,
    /// already (at least partly) received, is answered: pipelined responses then leave
    /// in one send instead of one each.
    fn can_batch(&self) -> bool {
        self.keep_alive
            && !self.linger
            && self.rend > self.rstart
            && self.file.is_none()
            && self.body.is_none()
            && self.cgi.is_none()
            && self.wbuf.len() < PIPELINE_BATCH
    }

    /// Routes and answers one request head.
    /// Answers (or starts answering) one request. `ctx.handlers.now` must be a fresh
    /// clock reading: Date and the file cache's trust window come from it.
    fn on_request(&mut self, ctx: &mut WorkerCtx, head: &RequestHead, now: Instant) {
        let table = ctx.table.clone();
        let Some(group) = self.group() else {
            self.respond_error(ctx, None, 500);
            self.keep_alive = false;
            return;
        };
        let route = if head.path() == "*" {
            // `OPTIONS *` is about the server as a whole: the address's default server.
            Route {
                group,
                server: table.groups[group].default,
                location: None,
            }
        } else {
            table.route(group, head.effective_host(), head.path())
        };
        let settings = table.settings(&route);
        self.keep_alive =
            head.keep_alive && !ctx.shutting_down && !settings.keepalive_timeout.value.is_zero();
        if settings.access_log.value != LogTarget::Off {
            self.log = Some(Box::new(LogInfo {
                target: settings.access_log.value.clone(),
                request_line: escape::log_field(
                    format!(
                        "{} {} {}",
                        head.method_str(),
                        head.target(),
                        head.version.as_str()
                    )
                    .as_bytes(),
                ),
                referer: header_text(head, "referer"),
                user_agent: header_text(head, "user-agent"),
            }));
        }
        let limit = settings.client_max_body_size.value;
        let framing = head.body;
        let has_body = !matches!(framing, BodyFraming::None | BodyFraming::Length(0));
        let new_framing = || match framing {
            BodyFraming::Length(n) => Framing::Length(n),
            _ => Framing::Chunked(ChunkedDecoder::new()),
        };
        let decision = dispatch::decide(&table, &route, &Facts::of(head), &mut ctx.handlers);
        let response = match self.execute(ctx, &table, &route, head, decision) {
            Executed::Respond(r) => r,
            Executed::Refuse(r) => {
                // A body over the limit is refused before it is read: the connection
                // closes after the answer.
                self.respond_closing(ctx, r);
                return;
            }
            Executed::Cgi(plan) => {
                let head_only = head.method == Method::Head;
                self.reset_out();
                if head.expect == Expect::Continue && has_body {
                    if self.wbuf.capacity() == 0 {
                        self.wbuf = ctx.pool.wbuf();
                    }
                    self.wbuf
                        .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                }
                match framing {
                    BodyFraming::Chunked => {
                        let Ok(file) = spool_file() else {
                            self.queue_error(ctx, Some(&route), 500);
                            return;
                        };
                        let sink = Sink::Spool {
                            file,
                            plan,
                            head_only,
                            version: head.version,
                        };
                        self.body = Some(Box::new(BodyIn {
                            framing: new_framing(),
                            limit,
                            received: 0,
                            sink,
                            route: Some(route),
                            scratch: Vec::new(),
                        }));
                        self.phase = Phase::Body;
                        self.deadline = now + body_timeout(ctx, self.group());
                    }
                    BodyFraming::Length(n) => self.start_cgi(
                        ctx,
                        &plan,
                        CgiRequest {
                            input: Input::Socket(n),
                            length: None,
                            route,
                            head_only,
                            version: head.version,
                        },
                        now,
                    ),
                    BodyFraming::None => self.start_cgi(
                        ctx,
                        &plan,
                        CgiRequest {
                            input: Input::Socket(0),
                            length: None,
                            route,
                            head_only,
                            version: head.version,
                        },
                        now,
                    ),
                }
                return;
            }
            Executed::Upload(up) => {
                self.reset_out();
                if head.expect == Expect::Continue {
                    if self.wbuf.capacity() == 0 {
                        self.wbuf = ctx.pool.wbuf();
                    }
                    self.wbuf
                        .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                }
                self.body = Some(Box::new(BodyIn {
                    framing: new_framing(),
                    limit,
                    received: 0,
                    sink: Sink::Upload(up),
                    route: Some(route),
                    scratch: Vec::new(),
                }));
                if has_body {
                    self.phase = Phase::Body;
                    self.deadline = now + body_timeout(ctx, self.group());
                } else {
                    self.body_done(ctx, now);
                    self.deadline = now + send_timeout(ctx, self.group());
                }
                return;
            }
        };
        if has_body {
            let discardable = head.expect != Expect::Continue
                && match framing {
                    BodyFraming::Length(n) => n <= DISCARD_MAX,
                    _ => true,
                };
            if discardable && self.keep_alive {
                let cap = if limit == 0 {
                    DISCARD_MAX
                } else {
                    limit.min(DISCARD_MAX)
                };
                self.body = Some(Box::new(BodyIn {
                    framing: new_framing(),
                    limit: cap,
                    received: 0,
                    sink: Sink::Discard,
                    route: Some(route),
                    scratch: Vec::new(),
                }));
                self.queue(ctx, response, head.method == Method::Head, head.version);
                self.phase = Phase::Body;
                self.deadline = now + body_timeout(ctx, self.group());
                return;
            }
            self.keep_alive = false;
            self.linger = true;
        }
        self.queue(ctx, response, head.method == Method::Head, head.version);
        self.phase = Phase::Send;
        self.deadline = now + send_timeout(ctx, self.group());
    }

    /// Carries out a decision: a response now, or the handler that consumes the body
    /// before it answers.
    fn execute(
        &self,
        ctx: &mut WorkerCtx,
        table: &RoutingTable,
        route: &Route,
        head: &RequestHead,
        decision: Decision<'_, Arc<Cached>>,
    ) -> Executed {
        let h = &mut ctx.handlers;
        let r = match decision {
            Decision::ServerOptions => {
                Response::new(200, Body::Empty).header("Allow", dispatch::SERVER_ALLOW)
            }
            Decision::Return { ret, .. } => handlers::answer_return(ret),
            Decision::Options(allowed) => {
                Response::new(204, Body::Empty).header("Allow", &handlers::allow_header(allowed))
            }
            Decision::File { file, name, .. } => handlers::file_response(&file, name, head),
            Decision::AddSlash => handlers::add_slash(head),
            Decision::Autoindex { base, rel } => {
                handlers::autoindex(h, table, route, head, base, rel)
            }
            Decision::Delete { base, rel } => handlers::delete(h, table, route, base, rel),
            Decision::Cgi(target) => {
                let plan = super::cgi::plan(&target, table, route, head, self.peer, self.local);
                return Executed::Cgi(Box::new(plan));
            }
            Decision::Upload(target) => match Upload::start(&target, head) {
                Ok(up) => return Executed::Upload(Box::new(up)),
                Err(status) => handlers::error(h, table, Some(route), status),
            },
            Decision::Error(f) => {
                if f.why == Why::StoreNotDirectory {
                    let store = &table.settings(route).upload_store.value;
                    if let Some(dir) = store {
                        log::error_log(
                            4,
                            &format!("upload_store {} is not a directory", dir.display()),
                        );
                    }
                }
                let refuse = f.why == Why::BodyTooLarge;
                let r = handlers::failure(h, f);
                if refuse {
                    return Executed::Refuse(r);
                }
                r
            }
        };
        Executed::Respond(r)
    }

    /// Queues an answer after which the connection closes (lingering, so a client still
    /// sending sees it).
    fn respond_closing(&mut self, ctx: &mut WorkerCtx, mut r: Response) {
        r.close = true;
        self.keep_alive = false;
        self.linger = true;
        self.queue(ctx, r, false, Version::Http11);
        self.phase = Phase::Send;
    }

    /// Queues an error response (built-in or configured page).
    fn respond_error(&mut self, ctx: &mut WorkerCtx, route: Option<&Route>, status: u16) {
        let table = ctx.table.clone();
        let r = handlers::error(&mut ctx.handlers, &table, route, status);
        self.respond_closing(ctx, r);
    }

    /// Serialises a response into the write buffer (and the file slot).
    fn queue(&mut self, ctx: &mut WorkerCtx, r: Response, head_only: bool, version: Version) {
        if r.close {
            self.keep_alive = false;
        }
        if self.wbuf.capacity() == 0 {
            self.wbuf = ctx.pool.wbuf();
        }
        self.reset_out();
        self.status = r.status;
        let w = &mut self.wbuf;
        resp::status_line(w, r.status);
        w.extend_from_slice(ctx.date.server_and_date(ctx.handlers.now).as_bytes());
        let no_body_status = r.status == 204 || r.status == 304 || r.status < 200;
        if !no_body_status {
            w.extend_from_slice(b"Content-Length: ");
            resp::push_u64(w, r.body.len());
            w.extend_from_slice(b"\r\n");
        }
        if let Some(h) = &r.shared_headers {
            w.extend_from_slice(h);
        }
        w.extend_from_slice(&r.headers);
        if !self.keep_alive {
            w.extend_from_slice(b"Connection: close\r\n");
        } else if version == Version::Http10 {
            w.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        w.extend_from_slice(b"\r\n");
        if head_only || no_body_status {
            return;
        }
        match r.body {
            Body::Empty => {}
            Body::Bytes(b) => {
                self.sent_body = b.len() as u64;
                w.extend_from_slice(&b);
            }
            Body::Shared { data, offset, len } => {
                self.sent_body = len as u64;
                w.extend_from_slice(&data[offset..offset + len]);
            }
            Body::File { file, offset, len } => {
                if len <= INLINE_FILE {
                    let start = w.len();
                    w.resize(start + len as usize, 0);
                    match read_exact_at(&file, &mut w[start..], offset) {
                        Ok(()) => self.sent_body = len,
                        Err(_) => {
                            // The head promised `len` bytes; without them the only honest
                            // end is closing the connection.
                            w.truncate(start);
                            self.keep_alive = false;
                        }
                    }
                } else {
                    self.file = Some(Box::new((file, offset, len)));
                }
            }
        }
    }
}

fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}

/// A request header as a quoted access-log field (`-` when absent).
fn header_text(head: &RequestHead, name: &str) -> String {
    escape::log_field(head.header(name).unwrap_or_default())
}

/// A group id plus one (no real table has 65,535 listen addresses; one that did
/// would fail like an address without a group: 500).
fn pack_group(group: Option<GroupId>) -> Option<NonZeroU16> {
    group
        .and_then(|g| u16::try_from(g + 1).ok())
        .and_then(NonZeroU16::new)
}

/// The settings of the address's default server; without an address group (its
/// address left the table in a reload), the main context's.
fn server_settings(ctx: &WorkerCtx, group: Option<GroupId>) -> &crate::confc::table::Effective {
    match group {
        Some(g) => &ctx.table.servers[ctx.table.groups[g].default].settings,
        None => &ctx.table.base,
    }
}

fn header_timeout(ctx: &WorkerCtx, group: Option<GroupId>) -> Duration {
    server_settings(ctx, group).client_header_timeout.value
}

fn body_timeout(ctx: &WorkerCtx, group: Option<GroupId>) -> Duration {
    server_settings(ctx, group).client_body_timeout.value
}

fn send_timeout(ctx: &WorkerCtx, group: Option<GroupId>) -> Duration {
    server_settings(ctx, group).send_timeout.value
}

fn keepalive_timeout(ctx: &WorkerCtx, group: Option<GroupId>) -> Duration {
    server_settings(ctx, group).keepalive_timeout.value
}

/// Every held connection costs a `Conn` in the worker's slab and nothing else (the idle
/// point of `bench/bench.sh`; target: at most 400 bytes per connection). A field only
/// some connections need belongs behind one of the boxes. Checked in release builds
/// (CI builds one): mio's debug builds add a registration check to every socket.
#[cfg(not(debug_assertions))]
const _: () = assert!(size_of::<Conn>() <= 224);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_pack_into_two_bytes() {
        assert_eq!(size_of::<Option<NonZeroU16>>(), 2);
        assert_eq!(pack_group(Some(0)).map(NonZeroU16::get), Some(1));
        assert_eq!(pack_group(Some(65_534)).map(NonZeroU16::get), Some(65_535));
        assert_eq!(pack_group(Some(65_535)), None);
        assert_eq!(pack_group(None), None);
    }
}
