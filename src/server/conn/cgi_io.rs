//! The CGI half of a connection: the request body goes to the child's stdin while its
//! stdout is parsed and streamed to the client, all through the event loop. Backpressure
//! both ways: at most `PIPE_CHUNK` bytes wait for stdin, and stdout is not read while the
//! client has not taken what is already queued. The child is killed (its whole process
//! group) on timeout or client disconnect and always reaped.

use std::io::{self, Read, Write};
use std::time::Instant;

use mio::Interest;

use super::{Conn, Next, Phase, WorkerCtx};
use crate::server::cgi::{self, Plan, Proc, parse_output_head};
use crate::server::filecache::TouchOnDrop;
use crate::server::handlers;
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
}

/// How the CGI body is framed toward the client.
enum OutFraming {
    Length(u64),
    Chunked,
    /// HTTP/1.0 without a length: the end of the body is the close.
    Close,
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
    route: Route,
    timeout: std::time::Duration,
    stderr_line: Vec<u8>,
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

    /// Kills the child and hands it to the worker for reaping.
    pub fn abandon(mut self, ctx: &mut WorkerCtx) {
        cgi::kill(&self.proc.child);
        match self.proc.child.try_wait() {
            Ok(Some(_)) => {}
            _ => ctx.zombies.push(self.proc.child),
        }
    }
}

enum Step {
    Progress,
    Wait,
    Done,
    Close,
    /// A local redirect started a new request; its phase is already set.
    Redirected,
    /// Done, but the client is still sending a body the script did not read.
    DrainBody,
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
        let reg = &ctx.registry;
        let base = self.token_base;
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
            route,
            timeout: plan.timeout,
            stderr_line: Vec::new(),
        };
        if !ok {
            run.abandon(ctx);
            self.queue_error(ctx, None, 500);
            return;
        }
        self.cgi = Some(Box::new(run));
        self.phase = Phase::Cgi;
        self.deadline = now + plan.timeout;
    }

    /// Queues an error page and moves to sending it (then closing).
    pub(super) fn queue_error(&mut self, ctx: &mut WorkerCtx, route: Option<&Route>, status: u16) {
        let table = ctx.table.clone();
        let mut r = handlers::error(&mut ctx.handlers, &table, route, status);
        r.close = true;
        self.linger = true;
        self.reset_out();
        self.queue(ctx, r, false, Version::Http11);
        self.phase = Phase::Send;
    }

    /// The CGI inactivity deadline passed: kill; 504 if nothing was sent, else cut.
    pub(super) fn cgi_timeout(&mut self, ctx: &mut WorkerCtx, now: Instant) -> Next {
        let Some(run) = self.cgi.take() else {
            return Next::Close;
        };
        let started = run.framing.is_some();
        let route = run.route.clone();
        run.abandon(ctx);
        if started {
            return Next::Close;
        }
        self.queue_error(ctx, Some(&route), 504);
        self.deadline = now + super::send_timeout(ctx, self.group());
        self.drive(ctx, now)
    }

    /// Runs the CGI pumps until they wait; returns what the connection does next.
    pub(super) fn drive_cgi(&mut self, ctx: &mut WorkerCtx, now: Instant) -> Option<Next> {
        loop {
            match self.cgi_step(ctx) {
                Ok(Step::Progress) => {
                    if let Some(run) = &self.cgi {
                        self.deadline = now + run.timeout;
                    }
                }
                Ok(Step::Wait) => return Some(Next::Wait),
                Ok(Step::Redirected) => return None,
                Ok(Step::DrainBody) => {
                    self.phase = Phase::Body;
                    self.deadline = now + super::body_timeout(ctx, self.group());
                    return None;
                }
                Ok(Step::Close) => {
                    if let Some(run) = self.cgi.take() {
                        run.abandon(ctx);
                    }
                    return Some(Next::Close);
                }
                Ok(Step::Done) => {
                    // Queued bytes still go out in the Send phase.
                    self.phase = Phase::Send;
                    self.deadline = now + super::send_timeout(ctx, self.group());
                    return None;
                }
                Err(status) => {
                    let Some(run) = self.cgi.take() else {
                        return Some(Next::Close);
                    };
                    let route = run.route.clone();
                    let started = run.framing.is_some();
                    run.abandon(ctx);
                    if started {
                        return Some(Next::Close);
                    }
                    self.queue_error(ctx, Some(&route), status);
                    return None;
                }
            }
        }
    }

    fn cgi_step(&mut self, ctx: &mut WorkerCtx) -> Result<Step, u16> {
        let mut progress = false;
        // 1. Request body → inbuf.
        {
            let run = self.cgi.as_mut().expect("cgi phase has a run");
            match &mut run.input {
                Input::Socket(rem) if *rem > 0 && run.inbuf.len() < PIPE_CHUNK => {
                    if self.rend > self.rstart {
                        let take = (*rem as usize)
                            .min(self.rend - self.rstart)
                            .min(PIPE_CHUNK - run.inbuf.len());
                        if !run.input_closed {
                            run.inbuf
                                .extend_from_slice(&self.rbuf[self.rstart..self.rstart + take]);
                        }
                        self.rstart += take;
                        *rem -= take as u64;
                        progress = true;
                    } else if self.readable {
                        match self.fill(ctx) {
                            Ok(0) => return Ok(Step::Close),
                            Ok(_) => progress = true,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                self.readable = false
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(_) => return Ok(Step::Close),
                        }
                    }
                }
                // The body is all read: watch the socket anyway, so a client that goes
                // away gets its child killed (nginx answers that with 499). Bytes of a
                // pipelined next request stay buffered for later.
                Input::Socket(0) | Input::Spool(_, 0)
                    if self.readable && self.rend - self.rstart < super::RBUF =>
                {
                    match self.fill(ctx) {
                        Ok(0) => return Ok(Step::Close),
                        Ok(_) => progress = true,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return Ok(Step::Close),
                    }
                }
                Input::Spool(file, rem)
                    if *rem > 0 && run.inbuf.is_empty() && !run.input_closed =>
                {
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
                    progress = true;
                }
                _ => {}
            }
        }
        let run = self.cgi.as_mut().expect("cgi phase has a run");
        // 2. inbuf → stdin; close stdin once the body is all written.
        if let Some(stdin) = run.proc.stdin.as_mut() {
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
        } else {
            run.inbuf.clear();
        }
        // 3. stderr → error log (drained always, so a flood never blocks the child).
        if run.stderr_r
            && let Some(err) = run.proc.stderr.as_mut()
        {
            let mut buf = [0u8; 8192];
            match err.read(&mut buf) {
                Ok(0) => {
                    // Closing the pipe removes it from the epoll set.
                    run.proc.stderr = None;
                    progress = true;
                }
                Ok(n) => {
                    // Log complete lines, each cut at 512 bytes; a line longer than
                    // 4 KiB is logged in pieces so the buffer stays bounded.
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
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => run.stderr_r = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    run.proc.stderr = None;
                }
            }
        }
        // 4. stdout → head parsing, then the body toward the client.
        let queued = self.wbuf.len() - self.wpos;
        let run = self.cgi.as_mut().expect("cgi phase has a run");
        if run.stdout_r && !run.stdout_eof && queued < PIPE_CHUNK {
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
                    progress = true;
                }
                Ok(n) => {
                    progress = true;
                    // What the script changed before it wrote this may be read back as
                    // soon as the client has it: cached copies may be stale.
                    crate::server::filecache::touch();
                    if run.framing.is_none() {
                        run.out_head.extend_from_slice(&buf[..n]);
                        match parse_output_head(&run.out_head) {
                            Err(cgi::BadOutput) => return Err(502),
                            Ok(None) => {}
                            Ok(Some((head, used))) => {
                                let rest = run.out_head.split_off(used);
                                if let Some(loc) = head
                                    .location
                                    .as_ref()
                                    .filter(|l| l.starts_with('/') && head.status.is_none())
                                {
                                    let loc = loc.clone();
                                    return self.cgi_local_redirect(ctx, &loc);
                                }
                                self.cgi_start_response(ctx, head);
                                self.cgi_body(&rest);
                            }
                        }
                    } else {
                        self.cgi_body(&buf[..n]);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => run.stdout_r = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(502),
            }
        }
        // 5. Queued output → the client.
        if self.wpos < self.wbuf.len() && self.writable {
            match self.flush() {
                Ok(_) => progress = true,
                Err(_) => return Ok(Step::Close),
            }
            // Everything queued went out: reuse the buffer from its start, so a long
            // response never accumulates in memory.
            if self.wpos == self.wbuf.len() {
                self.out_sent();
            }
        }
        // 6. Completion: stdout closed and the child gone.
        let run = self.cgi.as_mut().expect("cgi phase has a run");
        if run.stdout_eof {
            if !run.exited && run.proc.pidfd.is_none() {
                run.exited = matches!(run.proc.child.try_wait(), Ok(Some(_)));
            }
            let status = if run.exited {
                match run.proc.child.try_wait() {
                    Ok(None) => {
                        // A stale event (for an earlier connection in this slot, whose
                        // tokens this one reuses) said the child exited: it has not.
                        run.exited = false;
                        None
                    }
                    r => Some(r.ok().flatten()),
                }
            } else {
                None
            };
            if let Some(status) = status {
                let clean = status.is_some_and(|s| s.success());
                let Some(framing) = run.framing.take() else {
                    // Output ended before a complete header block.
                    return Err(502);
                };
                let run = self.cgi.take().expect("run");
                let head_only = run.head_only;
                let body_left = match run.input {
                    Input::Socket(rem) if rem > 0 => Some(rem),
                    _ => None,
                };
                let route = run.route.clone();
                run.abandon(ctx);
                let complete = match framing {
                    OutFraming::Length(rem) => rem == 0 || head_only,
                    OutFraming::Chunked => {
                        if clean {
                            if !head_only {
                                self.wbuf.extend_from_slice(b"0\r\n\r\n");
                            }
                            true
                        } else {
                            false
                        }
                    }
                    OutFraming::Close => {
                        self.keep_alive = false;
                        true
                    }
                };
                if !complete || !clean {
                    // Death after the head: cut the response, never a clean end.
                    self.keep_alive = false;
                    if !complete {
                        return Ok(Step::Close);
                    }
                }
                // The head (already sent) promised keep-alive: the rest of the body the
                // script did not read is read and dropped before the next request.
                if let Some(rem) = body_left {
                    if rem <= super::DISCARD_MAX && self.keep_alive {
                        self.body = Some(Box::new(super::BodyIn {
                            framing: super::Framing::Length(rem),
                            limit: 0,
                            received: 0,
                            sink: super::Sink::Discard,
                            route: Some(route),
                            scratch: Vec::new(),
                        }));
                        return Ok(Step::DrainBody);
                    }
                    self.linger = true;
                    self.keep_alive = false;
                }
                return Ok(Step::Done);
            }
        }
        Ok(if progress { Step::Progress } else { Step::Wait })
    }

    fn cgi_start_response(&mut self, ctx: &mut WorkerCtx, head: cgi::OutputHead) {
        let run = self.cgi.as_mut().expect("run");
        let status = head
            .status
            .unwrap_or(if head.location.is_some() { 302 } else { 200 });
        self.status = status;
        let no_body = run.head_only || status == 204 || status == 304 || status < 200;
        let framing = match head.content_length {
            Some(n) => OutFraming::Length(n),
            None if no_body => OutFraming::Length(0),
            None if run.version == Version::Http11 => OutFraming::Chunked,
            None => OutFraming::Close,
        };
        if matches!(framing, OutFraming::Close) {
            self.keep_alive = false;
        }
        if self.wbuf.capacity() == 0 {
            self.wbuf = ctx.pool.wbuf();
        }
        // An unsent `100 Continue` stays ahead of the final head.
        if self.wpos == self.wbuf.len() {
            self.wbuf.clear();
            self.wpos = 0;
            self.committed = 0;
        }
        let w = &mut self.wbuf;
        resp::status_line(w, status);
        w.extend_from_slice(ctx.date.server_and_date(ctx.handlers.now).as_bytes());
        if let Some(ct) = &head.content_type {
            resp::header(w, "Content-Type", ct.as_bytes());
        }
        if let Some(l) = &head.location {
            resp::header(w, "Location", l.as_bytes());
        }
        w.extend_from_slice(&head.other);
        match framing {
            // HEAD: the script's own length if it gave one, else none (a HEAD's
            // Content-Length must match what GET would send, which would be chunked).
            OutFraming::Length(_) if run.head_only => {
                if let Some(n) = head.content_length {
                    w.extend_from_slice(b"Content-Length: ");
                    resp::push_u64(w, n);
                    w.extend_from_slice(b"\r\n");
                }
            }
            OutFraming::Length(n) if !(status == 204 || status == 304 || status < 200) => {
                w.extend_from_slice(b"Content-Length: ");
                resp::push_u64(w, n);
                w.extend_from_slice(b"\r\n");
            }
            OutFraming::Chunked => w.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
            _ => {}
        }
        if !self.keep_alive {
            w.extend_from_slice(b"Connection: close\r\n");
        } else if run.version == Version::Http10 {
            w.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        w.extend_from_slice(b"\r\n");
        run.framing = Some(if run.head_only {
            OutFraming::Length(0)
        } else {
            framing
        });
    }

    /// Appends CGI body bytes in the response's framing.
    fn cgi_body(&mut self, data: &[u8]) {
        let run = self.cgi.as_mut().expect("run");
        if data.is_empty() || run.head_only {
            return;
        }
        match run.framing.as_mut() {
            Some(OutFraming::Length(rem)) => {
                let take = (*rem).min(data.len() as u64) as usize;
                self.wbuf.extend_from_slice(&data[..take]);
                *rem -= take as u64;
                self.sent_body += take as u64;
            }
            Some(OutFraming::Chunked) => {
                self.wbuf
                    .extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
                self.wbuf.extend_from_slice(data);
                self.wbuf.extend_from_slice(b"\r\n");
                self.sent_body += data.len() as u64;
            }
            Some(OutFraming::Close) => {
                self.wbuf.extend_from_slice(data);
                self.sent_body += data.len() as u64;
            }
            None => {}
        }
    }

    /// RFC 3875 §6.2.2: a local `Location` is served by the server itself, as a GET.
    /// Nothing of the response has been sent yet, so a redirect that cannot be followed
    /// (a sixth one for the same request: a loop; a target that is no valid request)
    /// is answered here with 500 or 502: the run is gone, so the caller's error path
    /// could not answer it.
    fn cgi_local_redirect(&mut self, ctx: &mut WorkerCtx, location: &str) -> Result<Step, u16> {
        let run = self.cgi.take().expect("run");
        let route = run.route.clone();
        let host = ctx.table.servers[run.route.server]
            .names
            .first()
            .cloned()
            .unwrap_or_default();
        run.abandon(ctx);
        self.redirects += 1;
        let status = if self.redirects > 5 {
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
                    let keep = self.keep_alive;
                    let now = Instant::now();
                    ctx.handlers.now = now;
                    self.on_request(ctx, &head, now);
                    self.keep_alive &= keep;
                    return Ok(Step::Redirected);
                }
                _ => 502,
            }
        };
        self.queue_error(ctx, Some(&route), status);
        self.deadline = Instant::now() + super::send_timeout(ctx, self.group());
        Ok(Step::Redirected)
    }
}
