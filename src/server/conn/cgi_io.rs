//! The CGI half of a connection: the request body goes to the child's stdin while its
//! stdout is parsed and streamed to the client, all through the event loop. Backpressure
//! both ways: at most `PIPE_CHUNK` bytes wait for stdin, and stdout is not read while the
//! client has not taken what is already queued. The child is killed (its whole process
//! group) on timeout or client disconnect and always reaped.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use mio::Interest;

use super::body::{BodyIn, DISCARD_MAX};
use super::io::{ClientIo, Pool, RBUF, emit};
use super::respond::{Length, Persistence, has_body, write_head};
use super::{Conn, Exchange, Next, Phase, WorkerCtx, body_timeout, send_timeout};
use crate::confc::table::Effective;
use crate::server::cgi::{self, OutputHead, Plan, Proc, parse_output_head};
use crate::server::filecache::TouchOnDrop;
use crate::server::http::request::{Version, parse_head};
use crate::server::http::response as resp;
use crate::server::log;
use crate::server::router::Route;

/// Bytes buffered toward stdin, and queued toward the client, before pausing.
const PIPE_CHUNK: usize = 64 * 1024;

/// Sub-token offsets of a connection's tokens.
pub const SUB_STDIN: usize = 1;
pub const SUB_STDOUT: usize = 2;
pub const SUB_STDERR: usize = 3;
pub const SUB_PIDFD: usize = 4;

/// Where the child's stdin comes from.
pub enum Input {
    /// `Content-Length` bytes still to come from the socket.
    Socket(u64),
    /// A spooled (de-chunked) body: the file and the bytes not yet read from it.
    Spool(std::fs::File, u64),
}

/// The request side of a CGI start.
pub struct CgiRequest {
    pub input: Input,
    /// CONTENT_LENGTH override (the de-chunked length of a spooled body).
    pub length: Option<u64>,
    pub route: Route,
    pub head_only: bool,
    pub version: Version,
    /// The client accepts gzip and `gzip` is on: the output is compressed when its type
    /// is one `gzip` applies to.
    pub gzip: bool,
}

/// How the CGI body is framed toward the client.
enum OutFraming {
    Length(u64),
    Chunked,
    /// HTTP/1.0 without a length: the end of the body is the close.
    Close,
    /// Compressed as it streams; chunked on HTTP/1.1, ended by the close on 1.0.
    Gzip {
        enc: Box<flate2::write::GzEncoder<Vec<u8>>>,
        chunked: bool,
    },
}

/// A running CGI request.
pub struct CgiRun {
    /// A script may write files: when the run ends, cached copies may be stale.
    _touch: TouchOnDrop,
    proc: Proc,
    input: Input,
    inbuf: Vec<u8>,
    /// The child stopped reading stdin: the rest of the body is dropped.
    input_closed: bool,
    out_head: Vec<u8>,
    framing: Option<OutFraming>,
    stdout_eof: bool,
    exited: bool,
    stdin_w: bool,
    stdout_r: bool,
    stderr_r: bool,
    head_only: bool,
    version: Version,
    gzip: bool,
    route: Route,
    timeout: Duration,
    stderr_line: Vec<u8>,
    /// When the run started (the rate of its output to the client is measured from here).
    started: Instant,
}

impl CgiRun {
    /// Marks readiness from an event on one of the CGI tokens.
    pub fn ready(&mut self, sub: usize) {
        match sub {
            SUB_STDIN => self.stdin_w = true,
            SUB_STDOUT => self.stdout_r = true,
            SUB_STDERR => self.stderr_r = true,
            SUB_PIDFD => self.exited = true,
            _ => {}
        }
    }

    /// The inactivity limit (`cgi_timeout`).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// When the run started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Kills the child and hands it to the worker for reaping.
    pub fn abandon(mut self, ctx: &mut WorkerCtx) {
        cgi::kill(&self.proc.child);
        match self.proc.child.try_wait() {
            Ok(Some(_)) => {}
            _ => ctx.zombies.push(self.proc.child),
        }
    }
}

/// What one round of the CGI pumps came to.
pub enum Step {
    /// Something moved: the inactivity deadline starts again.
    Progress,
    Wait,
    /// The response is complete (what is queued still goes out in the Send phase).
    Done,
    /// The connection cannot go on (the client left, or the response was cut).
    Close,
    /// The script answered with a local `Location`: the server serves it instead.
    Redirect(String),
    /// Done, but the client is still sending this many body bytes the script did not
    /// read: they are read and dropped before the next request.
    DrainBody(u64),
    /// The script failed with this status (502: its output is no CGI response).
    Failed(u16),
}

/// The client went away while the body was being read.
struct Gone;

/// One round of the CGI pumps, in order; each step moves what it can without blocking.
pub fn step(run: &mut CgiRun, io: &mut ClientIo, ex: &mut Exchange, ctx: &mut WorkerCtx) -> Step {
    let mut progress = match read_body(run, io, &mut ctx.pool) {
        Ok(p) => p,
        Err(Gone) => return Step::Close,
    };
    progress |= feed_stdin(run);
    progress |= drain_stderr(run);
    match read_stdout(run, io, ex, ctx) {
        Ok(p) => progress |= p,
        Err(step) => return step,
    }
    match flush(io) {
        Ok(p) => progress |= p,
        Err(Gone) => return Step::Close,
    }
    if let Some(step) = finish(run, io, ex, &mut ctx.pool) {
        return step;
    }
    if progress { Step::Progress } else { Step::Wait }
}

/// Step 1: The request body from the client into `inbuf` (at most `PIPE_CHUNK` waiting), or
/// from the spool file. Once it is all read the socket is still watched, so a client
/// that goes away gets its child killed (nginx answers that with 499); bytes of a
/// pipelined next request stay buffered for later.
fn read_body(run: &mut CgiRun, io: &mut ClientIo, pool: &mut Pool) -> Result<bool, Gone> {
    let read = |io: &mut ClientIo, pool: &mut Pool| match io.fill(pool) {
        super::io::Input::More => Ok(true),
        super::io::Input::Blocked => Ok(false),
        super::io::Input::Closed | super::io::Input::PlainHttp => Err(Gone),
    };
    match &mut run.input {
        Input::Socket(rem) if *rem > 0 && run.inbuf.len() < PIPE_CHUNK => {
            if io.has_input() {
                let avail = io.input();
                let take = (*rem as usize)
                    .min(avail.len())
                    .min(PIPE_CHUNK - run.inbuf.len());
                if !run.input_closed {
                    run.inbuf.extend_from_slice(&avail[..take]);
                }
                io.consume(take);
                *rem -= take as u64;
                Ok(true)
            } else if io.readable {
                read(io, pool)
            } else {
                Ok(false)
            }
        }
        Input::Socket(0) | Input::Spool(_, 0) if io.readable && io.input().len() < RBUF => {
            read(io, pool)
        }
        Input::Spool(file, rem) if *rem > 0 && run.inbuf.is_empty() && !run.input_closed => {
            let want = (*rem as usize).min(PIPE_CHUNK);
            run.inbuf.resize(want, 0);
            match file.read(&mut run.inbuf) {
                Ok(0) | Err(_) => {
                    run.inbuf.clear();
                    *rem = 0;
                }
                Ok(n) => {
                    run.inbuf.truncate(n);
                    *rem -= n as u64;
                }
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Step 2: `inbuf` into the child's stdin; stdin is closed once the body is all written.
fn feed_stdin(run: &mut CgiRun) -> bool {
    let Some(stdin) = run.proc.stdin.as_mut() else {
        run.inbuf.clear();
        return false;
    };
    let mut progress = false;
    if !run.inbuf.is_empty() && run.stdin_w {
        match stdin.write(&run.inbuf) {
            Ok(n) => {
                run.inbuf.drain(..n);
                progress = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => run.stdin_w = false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                // The script does not read its input (EPIPE): drop the rest.
                run.input_closed = true;
                run.inbuf.clear();
                // Closing the pipe removes it from the epoll set.
                run.proc.stdin = None;
                progress = true;
            }
        }
    }
    let exhausted = match &run.input {
        Input::Socket(rem) | Input::Spool(_, rem) => *rem == 0,
    };
    if exhausted && run.inbuf.is_empty() && run.proc.stdin.is_some() {
        // EOF for the script; closing the pipe also removes it from the epoll set.
        run.proc.stdin = None;
        progress = true;
    }
    progress
}

/// Step 3: The child's stderr into the error log, drained always, so a flood never blocks
/// the child. Complete lines are logged, each cut at 512 bytes; a line longer than
/// 4 KiB is logged in pieces so the buffer stays bounded.
fn drain_stderr(run: &mut CgiRun) -> bool {
    if !run.stderr_r {
        return false;
    }
    let Some(err) = run.proc.stderr.as_mut() else {
        return false;
    };
    let mut buf = [0u8; 8192];
    match err.read(&mut buf) {
        Ok(0) => {
            // Closing the pipe removes it from the epoll set.
            run.proc.stderr = None;
            true
        }
        Ok(n) => {
            run.stderr_line.extend_from_slice(&buf[..n]);
            let log_line = |l: &[u8]| {
                let cut = &l[..l.len().min(512)];
                let more = if l.len() > 512 { " [...]" } else { "" };
                log::error_log(
                    4,
                    &format!("cgi stderr: {}{more}", String::from_utf8_lossy(cut)),
                );
            };
            while let Some(i) = run.stderr_line.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = run.stderr_line.drain(..=i).collect();
                log_line(&line[..line.len() - 1]);
            }
            if run.stderr_line.len() > 4096 {
                log_line(&run.stderr_line);
                run.stderr_line.clear();
            }
            true
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            run.stderr_r = false;
            false
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
        Err(_) => {
            run.proc.stderr = None;
            false
        }
    }
}

/// Step 4: The child's stdout: its header block parsed into the response head, then the
/// body toward the client in the response's framing. Not read while the client has
/// not taken what is already queued.
fn read_stdout(
    run: &mut CgiRun,
    io: &mut ClientIo,
    ex: &mut Exchange,
    ctx: &mut WorkerCtx,
) -> Result<bool, Step> {
    if !run.stdout_r || run.stdout_eof || io.queued() >= PIPE_CHUNK {
        return Ok(false);
    }
    let mut buf = [0u8; 16384];
    let read = match run.proc.stdout.as_mut() {
        Some(out) => out.read(&mut buf),
        None => Ok(0),
    };
    match read {
        Ok(0) => {
            run.stdout_eof = true;
            // Closing the pipe removes it from the epoll set.
            run.proc.stdout = None;
        }
        Ok(n) => {
            // What the script changed before it wrote this may be read back as soon as
            // the client has it: cached copies may be stale.
            crate::server::filecache::touch();
            if run.framing.is_some() {
                body_out(run, io.out(&mut ctx.pool), ex, &buf[..n]);
                return Ok(true);
            }
            run.out_head.extend_from_slice(&buf[..n]);
            let Some((head, used)) =
                parse_output_head(&run.out_head).map_err(|_| Step::Failed(502))?
            else {
                return Ok(true);
            };
            let rest = run.out_head.split_off(used);
            if let Some(loc) = head
                .location
                .as_ref()
                .filter(|l| l.starts_with('/') && head.status.is_none())
            {
                return Err(Step::Redirect(loc.clone()));
            }
            start_response(run, io, ex, ctx, head);
            body_out(run, io.out(&mut ctx.pool), ex, &rest);
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            run.stdout_r = false;
            return Ok(false);
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(false),
        Err(_) => return Err(Step::Failed(502)),
    }
    Ok(true)
}

/// How the script's body goes to the client: compressed when gzip applies to its
/// type and length, else by its own length, chunked, or until close (HTTP/1.0).
fn out_framing(run: &CgiRun, settings: &Effective, head: &OutputHead, status: u16) -> OutFraming {
    let compress = run.gzip
        && !run.head_only
        && head
            .content_type
            .as_deref()
            .is_some_and(|t| crate::server::gzip::applies(settings, t, status))
        && head
            .content_length
            .is_none_or(|n| n >= settings.gzip_min_length.value);
    match head.content_length {
        _ if compress => OutFraming::Gzip {
            enc: Box::new(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::new(settings.gzip_comp_level.value.clamp(1, 9) as u32),
            )),
            chunked: run.version == Version::Http11,
        },
        Some(n) => OutFraming::Length(n),
        None if run.head_only || !has_body(status) => OutFraming::Length(0),
        None if run.version == Version::Http11 => OutFraming::Chunked,
        None => OutFraming::Close,
    }
}

/// The response head from the script's header block.
fn start_response(
    run: &mut CgiRun,
    io: &mut ClientIo,
    ex: &mut Exchange,
    ctx: &mut WorkerCtx,
    head: OutputHead,
) {
    let status = head
        .status
        .unwrap_or(if head.location.is_some() { 302 } else { 200 });
    ex.status = status;
    let settings = ctx.table.settings(&run.route);
    let framing = out_framing(run, settings, &head, status);
    let compress = matches!(framing, OutFraming::Gzip { .. });
    if matches!(
        framing,
        OutFraming::Close | OutFraming::Gzip { chunked: false, .. }
    ) {
        ex.keep_alive = false;
    }
    let length = match framing {
        // HEAD: the script's own length if it gave one, else none (a HEAD's
        // Content-Length must match what GET would send, which would be chunked).
        OutFraming::Length(_) if run.head_only => {
            head.content_length.map_or(Length::Unstated, Length::Known)
        }
        OutFraming::Length(n) => Length::Known(n),
        OutFraming::Chunked | OutFraming::Gzip { chunked: true, .. } => Length::Chunked,
        OutFraming::Close | OutFraming::Gzip { chunked: false, .. } => Length::Unstated,
    };
    io.out(&mut ctx.pool);
    // An unsent `100 Continue` stays ahead of the final head.
    if !io.has_output() {
        io.out_sent();
    }
    let conn = Persistence {
        keep_alive: ex.keep_alive,
        version: run.version,
    };
    let date = ctx.date.server_and_date(ctx.handlers.now);
    let added = ex.added();
    let _ = write_head(io.out(&mut ctx.pool), status, date, length, conn, |w| {
        if let Some(ct) = &head.content_type {
            resp::header(w, "Content-Type", ct.as_bytes());
        }
        if let Some(l) = &head.location {
            resp::header(w, "Location", l.as_bytes());
        }
        if compress {
            // The script's own length is of the uncompressed body: not sent.
            w.extend_from_slice(b"Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n");
        }
        w.extend_from_slice(&head.other);
        if let Some(a) = added {
            a.write(w, status);
        }
    });
    run.framing = Some(if run.head_only {
        OutFraming::Length(0)
    } else {
        framing
    });
}

/// Appends CGI body bytes in the response's framing.
fn body_out(run: &mut CgiRun, w: &mut Vec<u8>, ex: &mut Exchange, data: &[u8]) {
    if data.is_empty() || run.head_only {
        return;
    }
    match run.framing.as_mut() {
        Some(OutFraming::Length(rem)) => {
            let take = (*rem).min(data.len() as u64) as usize;
            w.extend_from_slice(&data[..take]);
            *rem -= take as u64;
            ex.sent_body += take as u64;
        }
        Some(OutFraming::Chunked) => {
            let _ = write!(w, "{:x}\r\n", data.len());
            w.extend_from_slice(data);
            w.extend_from_slice(b"\r\n");
            ex.sent_body += data.len() as u64;
        }
        Some(OutFraming::Close) => {
            w.extend_from_slice(data);
            ex.sent_body += data.len() as u64;
        }
        Some(OutFraming::Gzip { enc, chunked }) => {
            // Writing into a Vec cannot fail.
            let _ = enc.write_all(data);
            let out = enc.get_mut();
            ex.sent_body += emit(w, out, *chunked);
            out.clear();
        }
        None => {}
    }
}

/// Step 5: What is queued, toward the client. Once it is all sent the buffer is reused from
/// its start, so a long response never accumulates in memory.
fn flush(io: &mut ClientIo) -> Result<bool, Gone> {
    if !io.has_output() || !io.writable {
        return Ok(false);
    }
    io.flush().map_err(|_| Gone)?;
    if !io.has_output() {
        io.out_sent();
    }
    Ok(true)
}

/// Step 6: Completion: stdout closed and the child gone. Says how the connection goes on;
/// the caller ends the run.
fn finish(run: &mut CgiRun, io: &mut ClientIo, ex: &mut Exchange, pool: &mut Pool) -> Option<Step> {
    if !run.stdout_eof {
        return None;
    }
    if !run.exited && run.proc.pidfd.is_none() {
        run.exited = matches!(run.proc.child.try_wait(), Ok(Some(_)));
    }
    if !run.exited {
        return None;
    }
    let status = match run.proc.child.try_wait() {
        Ok(None) => {
            // A stale event (for an earlier connection in this slot, whose tokens this
            // one reuses) said the child exited: it has not.
            run.exited = false;
            return None;
        }
        r => r.ok().flatten(),
    };
    let clean = status.is_some_and(|s| s.success());
    let Some(framing) = run.framing.take() else {
        // Output ended before a complete header block.
        return Some(Step::Failed(502));
    };
    let complete = match framing {
        OutFraming::Length(rem) => rem == 0 || run.head_only,
        OutFraming::Chunked if clean => {
            if !run.head_only {
                io.out(pool).extend_from_slice(b"0\r\n\r\n");
            }
            true
        }
        OutFraming::Chunked => false,
        OutFraming::Close => {
            ex.keep_alive = false;
            true
        }
        OutFraming::Gzip { enc, chunked } if clean => {
            let w = io.out(pool);
            ex.sent_body += emit(w, &enc.finish().unwrap_or_default(), chunked);
            if chunked {
                w.extend_from_slice(b"0\r\n\r\n");
            } else {
                ex.keep_alive = false;
            }
            true
        }
        OutFraming::Gzip { .. } => false,
    };
    if !complete || !clean {
        // Death after the head: cut the response, never a clean end.
        ex.keep_alive = false;
        if !complete {
            return Some(Step::Close);
        }
    }
    // The head (already sent) promised keep-alive: the rest of the body the script did
    // not read is read and dropped before the next request.
    if let Input::Socket(rem) = run.input
        && rem > 0
    {
        if rem <= DISCARD_MAX && ex.keep_alive {
            return Some(Step::DrainBody(rem));
        }
        ex.linger = true;
        ex.keep_alive = false;
    }
    Some(Step::Done)
}

impl Conn {
    /// Spawns the child and enters the CGI phase.
    pub(super) fn start_cgi(
        &mut self,
        ctx: &mut WorkerCtx,
        plan: &Plan,
        req: CgiRequest,
        now: Instant,
    ) {
        let CgiRequest {
            input,
            length,
            route,
            head_only,
            version,
            gzip,
        } = req;
        let has_body = match &input {
            Input::Socket(n) | Input::Spool(_, n) => *n > 0,
        };
        let mut proc = match cgi::spawn(plan, length, has_body) {
            Ok(p) => p,
            Err(e) => {
                log::error_log(
                    4,
                    &format!("cannot start CGI {}: {e}", plan.program.display()),
                );
                self.queue_error(ctx, Some(&route), 502);
                return;
            }
        };
        let registered = register(&mut proc, &ctx.registry, self.token_base);
        let run = CgiRun {
            _touch: TouchOnDrop,
            proc,
            input,
            inbuf: Vec::new(),
            input_closed: false,
            out_head: Vec::new(),
            framing: None,
            stdout_eof: false,
            exited: false,
            stdin_w: true,
            stdout_r: true,
            stderr_r: true,
            head_only,
            version,
            gzip,
            route,
            timeout: plan.timeout,
            stderr_line: Vec::new(),
            started: now,
        };
        if !registered {
            run.abandon(ctx);
            self.queue_error(ctx, None, 500);
            return;
        }
        self.enter(Phase::Cgi(Box::new(run)));
        self.deadline = now + plan.timeout;
    }

    /// Ends the CGI phase (the child killed and handed over for reaping); the route and
    /// whether the response had started. `None` outside the CGI phase.
    fn end_cgi(&mut self, ctx: &mut WorkerCtx) -> Option<(Route, bool)> {
        let Phase::Cgi(run) = std::mem::replace(&mut self.phase, Phase::Send) else {
            return None;
        };
        let ended = (run.route.clone(), run.framing.is_some());
        run.abandon(ctx);
        Some(ended)
    }

    /// Acts on a round of the CGI pumps.
    pub(super) fn after_cgi_step(
        &mut self,
        ctx: &mut WorkerCtx,
        now: Instant,
        step: Step,
        timeout: Duration,
    ) -> Option<Next> {
        match step {
            Step::Progress => self.deadline = now + timeout,
            Step::Wait => return Some(Next::Wait),
            Step::Redirect(location) => self.cgi_local_redirect(ctx, &location),
            Step::DrainBody(rem) => {
                if let Some((route, _)) = self.end_cgi(ctx) {
                    self.enter(Phase::Body(Box::new(BodyIn::leftover(rem, route, now))));
                    self.deadline = now + body_timeout(ctx, self.group());
                }
            }
            Step::Done => {
                // Queued bytes still go out in the Send phase.
                self.end_cgi(ctx);
                self.deadline = now + send_timeout(ctx, self.group());
            }
            Step::Close => {
                self.end_cgi(ctx);
                return Some(Next::Close);
            }
            Step::Failed(status) => match self.end_cgi(ctx) {
                // Nothing sent yet: the failure can still be answered.
                Some((route, false)) => self.queue_error(ctx, Some(&route), status),
                _ => return Some(Next::Close),
            },
        }
        None
    }

    /// The CGI inactivity deadline passed: kill; 504 if nothing was sent, else cut.
    pub(super) fn cgi_timeout(&mut self, ctx: &mut WorkerCtx, now: Instant) -> Next {
        match self.end_cgi(ctx) {
            Some((route, false)) => {
                self.queue_error(ctx, Some(&route), 504);
                self.deadline = now + send_timeout(ctx, self.group());
                self.drive(ctx, now)
            }
            _ => Next::Close,
        }
    }

    /// RFC 3875 §6.2.2: a local `Location` is served by the server itself, as a GET.
    /// Nothing of the response has been sent yet, so a redirect that cannot be followed
    /// (a sixth one for the same request: a loop; a target that is no valid request)
    /// is answered here with 500 or 502.
    fn cgi_local_redirect(&mut self, ctx: &mut WorkerCtx, location: &str) {
        let Some((route, _)) = self.end_cgi(ctx) else {
            return;
        };
        let host = ctx.table.servers[route.server]
            .names
            .first()
            .cloned()
            .unwrap_or_default();
        self.ex.redirects += 1;
        let status = if self.ex.redirects > 5 {
            500
        } else {
            let host = if host.is_empty() || host.contains(['*', '~']) {
                "localhost".to_string()
            } else {
                host
            };
            let raw = format!("GET {location} HTTP/1.1\r\nHost: {host}\r\n\r\n");
            match parse_head(raw.as_bytes(), &ctx.limits) {
                Ok(Some((head, _))) => {
                    let keep = self.ex.keep_alive;
                    let now = Instant::now();
                    ctx.handlers.now = now;
                    self.on_request(ctx, &head, now);
                    self.ex.keep_alive &= keep;
                    return;
                }
                _ => 502,
            }
        };
        self.queue_error(ctx, Some(&route), status);
        self.deadline = Instant::now() + send_timeout(ctx, self.group());
    }
}

/// Registers the child's pipes (and pidfd) under the connection's tokens.
fn register(proc: &mut Proc, reg: &mio::Registry, base: usize) -> bool {
    let mut ok = true;
    if let Some(s) = proc.stdin.as_mut() {
        ok &= reg
            .register(s, mio::Token(base + SUB_STDIN), Interest::WRITABLE)
            .is_ok();
    }
    if let Some(s) = proc.stdout.as_mut() {
        ok &= reg
            .register(s, mio::Token(base + SUB_STDOUT), Interest::READABLE)
            .is_ok();
    }
    if let Some(s) = proc.stderr.as_mut() {
        ok &= reg
            .register(s, mio::Token(base + SUB_STDERR), Interest::READABLE)
            .is_ok();
    }
    if let Some(fd) = &proc.pidfd {
        use std::os::fd::AsRawFd;
        ok &= reg
            .register(
                &mut mio::unix::SourceFd(&fd.as_raw_fd()),
                mio::Token(base + SUB_PIDFD),
                Interest::READABLE,
            )
            .is_ok();
    }
    ok
}
