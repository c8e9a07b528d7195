//! One client connection: a state machine driven by readiness.
//!
//! The connection is split by responsibility:
//! - `io.rs`: [`ClientIo`], the client socket, its buffers and readiness, and every read
//!   and write of the socket (the seam a TLS layer plugs into);
//! - `respond.rs`: carrying out a `dispatch::Decision`, writing response heads, queueing
//!   responses and error answers;
//! - `body.rs`: the Body phase, a request body into its sink;
//! - `cgi_io.rs`: the Cgi phase, a CGI child's pipes;
//! - here: the [`Phase`] enum, which carries each phase's own state, and the loop that
//!   runs the phases until the connection has to wait.
//!
//! Readiness is tracked as flags (`readable`, `writable`) set by events and cleared on
//! `WouldBlock`; `drive` runs until the connection waits on something it has no
//! readiness for. Both interests are registered once, edge-triggered, so code that
//! queues output never has to remember to arm writable.

use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use super::dispatch::{self, Decision, Facts, FsView, Rewrites, Why};
use super::handlers::{self, HandlerCtx};
use super::http::request::{
    BodyFraming, Expect, HeadBufs, HeadLimits, Method, RequestHead, parse_head_reusing,
};
use super::http::response::DateCache;
use super::log;
use super::router::Route;
use super::upload::Upload;
use super::vars::RequestVars;
use crate::confc::model::LogTarget;
use crate::confc::table::{GroupId, RoutingTable};
use crate::escape;

mod body;
mod cgi_io;
mod io;
mod respond;
mod tls_io;

use body::{BodyIn, Sink};
use cgi_io::{CgiRequest, CgiRun, Input};
pub use cgi_io::{SUB_PIDFD, SUB_STDERR, SUB_STDIN, SUB_STDOUT};
pub use io::{ClientIo, Pool, RBUF};
use respond::Executed;

/// Responses to pipelined requests are gathered up to this many bytes per send.
const PIPELINE_BATCH: usize = 64 * 1024;
/// How long a closing connection keeps reading so the response is not lost to a RST.
const LINGER: Duration = Duration::from_secs(2);

/// [`Conn::eviction_rank`]'s classes: idle, lingering, and waiting for the client (plus
/// its rate in bytes per second).
const RANK_IDLE: u64 = 0;
const RANK_LINGER: u64 = 1 << 62;
const RANK_SLOW: u64 = 1 << 63;

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
    /// The TLS config of each `ssl` address group of `table` (rebuilt with it).
    pub tls: super::tls::Configs,
}

/// Where a connection is in its request cycle, with what that phase alone needs.
pub enum Phase {
    /// Waiting for (the rest of) a request head. `idle` when no byte of it has come yet.
    Head { idle: bool },
    /// Reading a request body into its sink (dropped, an upload, or a CGI's spool).
    Body(Box<BodyIn>),
    /// A CGI child runs: body to its stdin, its stdout to the client.
    Cgi(Box<CgiRun>),
    /// Writing the response.
    Send,
    /// Write side shut; reading until EOF so the peer sees the response, not a reset.
    Linger,
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

/// The request being answered: how the connection goes on after it, and what its log
/// line says.
struct Exchange {
    keep_alive: bool,
    /// The client may still be sending (an error cut its request, or its body was not
    /// read): close with a lingering read, not at once.
    linger: bool,
    status: u16,
    /// Local CGI redirects followed for the current client request (reset when a
    /// request head arrives).
    redirects: u8,
    sent_body: u64,
    /// What only some requests need, boxed so that a connection does not pay for it.
    extras: Option<Box<Extras>>,
}

/// The parts of a request's state that only some requests have.
#[derive(Default)]
struct Extras {
    log: Option<LogInfo>,
    /// `add_header` and `expires` lines.
    added: Option<Arc<handlers::Added>>,
}

impl Exchange {
    fn extras(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Default::default)
    }

    /// The `add_header`/`expires` lines of the current request.
    fn added(&self) -> Option<&handlers::Added> {
        self.extras.as_ref().and_then(|e| e.added.as_deref())
    }
}

pub struct Conn {
    pub io: ClientIo,
    pub peer: SocketAddr,
    /// The local address with the *configured* port (which differs from the bound one
    /// only when tests bind ephemeral ports).
    pub local: SocketAddr,
    /// The address group `local` belongs to, looked up once (and again after a reload:
    /// see `Worker::check_shared`), not per request; stored plus one, so that the
    /// `Option` costs no space in a struct every idle connection holds.
    group: Option<NonZeroU16>,
    pub phase: Phase,
    pub deadline: Instant,
    /// First of this connection's tokens (socket); CGI pipes use the next ones.
    pub token_base: usize,
    ex: Exchange,
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
        let tls = group
            .and_then(|g| ctx.tls.get(g)?.as_ref())
            .and_then(super::tls::accept);
        Conn {
            io: ClientIo::new(sock, tls),
            peer,
            local,
            group: pack_group(group),
            phase: Phase::Head { idle: true },
            deadline: now + timeout,
            token_base,
            ex: Exchange {
                keep_alive: true,
                linger: false,
                status: 0,
                redirects: 0,
                sent_body: 0,
                extras: None,
            },
        }
    }

    /// `https` on a TLS connection, else `http` (`$scheme`).
    pub fn scheme(&self) -> &'static str {
        if self.io.is_tls() { "https" } else { "http" }
    }

    /// The address group of the connection's local address.
    pub fn group(&self) -> Option<GroupId> {
        self.group.map(|g| g.get() as usize - 1)
    }

    /// Looks the address group up again (in a reloaded table).
    pub fn refresh_group(&mut self, table: &RoutingTable) {
        self.group = pack_group(table.group_for(self.local));
    }

    /// Moves to another phase, dropping what the old one held (a body's sink; a CGI run
    /// is ended before, by `end_cgi`, which kills and reaps its child).
    fn enter(&mut self, to: Phase) {
        let old = std::mem::replace(&mut self.phase, to);
        // Only Body and Cgi hold anything. Forgetting the others skips their drop glue,
        // which the compiler keeps out of line: a call per transition on the hot path.
        if matches!(old, Phase::Body(_) | Phase::Cgi(_)) {
            drop(old);
        } else {
            std::mem::forget(old);
        }
    }

    /// Idle between requests, holding no buffers: the first to close under pressure.
    pub fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Head { idle: true }) && !self.io.has_input()
    }

    /// Where this connection stands when the worker must close one to make room (lower
    /// goes first): idle keep-alive connections, then lingering ones, then those waiting
    /// for the client (a request head or body coming in, a response or a CGI's output
    /// going out), slowest average rate first. `None` when the wait is the server's (a
    /// CGI computing, nothing pending on the client): never closed for room.
    pub fn eviction_rank(&self, ctx: &WorkerCtx, now: Instant) -> Option<u64> {
        let group = self.group();
        let (since, bytes) = match &self.phase {
            Phase::Head { idle: true } if !self.io.has_input() => return Some(RANK_IDLE),
            Phase::Linger => return Some(RANK_LINGER),
            // Bytes of a new head, not yet parsed: it has only just started.
            Phase::Head { idle: true } => (now, self.io.input().len() as u64),
            // A head's deadline is set once, at its first byte, and a response's when it
            // is queued and again when bytes go out: the phase (or its last progress)
            // started its timeout before its deadline.
            Phase::Head { idle: false } => (
                since_deadline(self.deadline, header_timeout(ctx, group), now),
                self.io.input().len() as u64,
            ),
            Phase::Send => (
                since_deadline(self.deadline, send_timeout(ctx, group), now),
                self.io.sent(),
            ),
            Phase::Body(body) => body.progress(),
            // A script's body came whole before it started: only its output can wait on
            // the client.
            Phase::Cgi(run) if self.io.has_output() && !self.io.writable => {
                (run.started(), self.ex.sent_body)
            }
            Phase::Cgi(_) => return None,
        };
        let ms = (now.saturating_duration_since(since).as_millis() as u64).max(1);
        let rate = bytes.saturating_mul(1000) / ms;
        Some(RANK_SLOW + rate.min(RANK_SLOW - 1))
    }

    /// Ends the connection: kills a CGI child, drops a body's sink (an upload removes
    /// its temporary files), returns the buffers to the pool.
    pub fn release(&mut self, ctx: &mut WorkerCtx) {
        self.io.release(&mut ctx.pool);
        if let Phase::Cgi(run) = std::mem::replace(&mut self.phase, Phase::Linger) {
            run.abandon(ctx);
        }
    }

    /// The deadline passed.
    pub fn on_timeout(&mut self, ctx: &mut WorkerCtx, now: Instant) -> Next {
        match self.phase {
            Phase::Head { idle: false } => {
                // A request head that took too long (slowloris): 408 and close.
                self.queue_error(ctx, None, 408);
                self.deadline = now + send_timeout(ctx, self.group());
                self.drive(ctx, now)
            }
            Phase::Body(_) => {
                // A body that paused too long or fell below its minimum rate: 408, and a
                // lingering close (the client may still be sending).
                self.abort_with(ctx, 408);
                self.deadline = now + send_timeout(ctx, self.group());
                self.drive(ctx, now)
            }
            Phase::Cgi(_) => self.cgi_timeout(ctx, now),
            _ => Next::Close,
        }
    }

    /// Readiness on one of the CGI pipe tokens.
    pub fn cgi_ready(&mut self, sub: usize) {
        if let Phase::Cgi(run) = &mut self.phase {
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
            let next = match &mut self.phase {
                Phase::Head { idle } => {
                    let idle = *idle;
                    self.head_turn(ctx, now, idle, &mut answered)
                }
                Phase::Body(body) => {
                    let turn = body::turn(body, &mut self.io, &mut ctx.pool);
                    self.after_body_turn(ctx, now, turn)
                }
                Phase::Cgi(run) => {
                    let step = cgi_io::step(run, &mut self.io, &mut self.ex, ctx);
                    let timeout = run.timeout();
                    self.after_cgi_step(ctx, now, step, timeout)
                }
                Phase::Send => self.send_turn(ctx, now),
                Phase::Linger => match self.io.drain() {
                    io::Input::Blocked => Some(Next::Wait),
                    _ => Some(Next::Close),
                },
            };
            if let Some(next) = next {
                return next;
            }
        }
    }

    /// The Head phase: a complete head is answered; without one, pending output goes
    /// out, then the socket is read (or the connection waits, idle buffers returned).
    fn head_turn(
        &mut self,
        ctx: &mut WorkerCtx,
        now: Instant,
        idle: bool,
        answered: &mut bool,
    ) -> Option<Next> {
        if self.io.has_input() {
            let parsed = parse_head_reusing(self.io.input(), &ctx.limits, &mut ctx.head_bufs);
            match parsed {
                Ok(Some((head, n))) => {
                    self.io.consume(n);
                    if *answered {
                        ctx.handlers.now = Instant::now();
                    }
                    *answered = true;
                    // CGI local redirects are counted per client request.
                    self.ex.redirects = 0;
                    self.on_request(ctx, &head, now);
                    ctx.head_bufs = head.into_bufs();
                    return None;
                }
                Ok(None) => {
                    if idle {
                        // First byte of a new request: the head deadline starts now.
                        self.enter(Phase::Head { idle: false });
                        self.deadline = now + header_timeout(ctx, self.group());
                    }
                }
                Err(e) => {
                    self.log_bad_request(ctx);
                    self.io.discard_input();
                    self.queue_error(ctx, None, e.status);
                    return None;
                }
            }
        }
        // No complete request left: answers to pipelined ones go out before waiting
        // for more.
        if self.io.has_output() {
            match self.io.flush() {
                Ok(true) => self.io.out_sent(),
                Ok(false) => return Some(Next::Wait),
                Err(_) => return Some(Next::Close),
            }
        }
        if !self.io.readable {
            if matches!(self.phase, Phase::Head { idle: true }) {
                self.io.idle(&mut ctx.pool);
            }
            return Some(Next::Wait);
        }
        match self.io.fill(&mut ctx.pool) {
            // EOF: between requests that is a normal close; inside a head, the request
            // is incomplete and there is nothing to answer.
            io::Input::Closed => Some(Next::Close),
            io::Input::More | io::Input::Blocked => None,
            io::Input::PlainHttp => {
                self.respond_closing(ctx, handlers::plain_http_on_tls());
                self.deadline = now + send_timeout(ctx, self.group());
                None
            }
        }
    }

    /// The Send phase: the response goes out (or waits in the buffer for the next
    /// pipelined one); then the next request, a lingering close, or the close.
    fn send_turn(&mut self, ctx: &mut WorkerCtx, now: Instant) -> Option<Next> {
        if self.can_batch() {
            self.finish_request();
            self.io.commit();
            self.enter(Phase::Head { idle: true });
            self.deadline = now + keepalive_timeout(ctx, self.group());
            return None;
        }
        let before = self.io.sent();
        match self.io.flush() {
            Ok(true) => {}
            Ok(false) => {
                // `send_timeout` bounds a pause, as nginx's does: bytes that went out
                // start it again, so a long download is never cut while it moves.
                if self.io.sent() != before {
                    self.deadline = now + send_timeout(ctx, self.group());
                }
                return Some(Next::Wait);
            }
            Err(_) => return Some(Next::Close),
        }
        self.finish_request();
        self.io.out_sent();
        if self.ex.keep_alive {
            self.enter(Phase::Head { idle: true });
            self.deadline = now + keepalive_timeout(ctx, self.group());
            return None;
        }
        // Nothing unread and no body pending: close at once (nginx does). Otherwise
        // linger, so unread bytes do not turn the close into a reset that destroys the
        // response in flight.
        if !self.io.has_input() && !self.ex.linger {
            return Some(Next::Close);
        }
        self.io.shutdown_write();
        self.enter(Phase::Linger);
        self.deadline = now + LINGER;
        None
    }

    /// Whether the response just queued may wait in the buffer while the next request,
    /// already (at least partly) received, is answered: pipelined responses then leave
    /// in one send instead of one each. (Only in the Send phase: no body is being read
    /// and no CGI runs.)
    fn can_batch(&self) -> bool {
        self.ex.keep_alive
            && !self.ex.linger
            && self.io.has_input()
            && !self.io.has_file()
            && self.io.out_len() < PIPELINE_BATCH
    }

    /// A request the parser refused is still logged (as nginx does), under the access
    /// log of the address's default server, with its first line as far as it is text.
    fn log_bad_request(&mut self, ctx: &WorkerCtx) {
        let settings = server_settings(ctx, self.group());
        if settings.access_log.value == LogTarget::Off {
            return;
        }
        let raw = self.io.input();
        let line = raw.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let line = &line[..line.len().min(256)];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.ex.extras().log = Some(LogInfo {
            target: settings.access_log.value.clone(),
            request_line: escape::log_field(line),
            referer: "-".into(),
            user_agent: "-".into(),
        });
    }

    fn finish_request(&mut self) {
        let ex = &mut self.ex;
        ex.sent_body += self.io.take_streamed();
        if let Some(info) = ex.extras.take().and_then(|e| e.log) {
            let line = format!(
                "{} - - [{}] \"{}\" {} {} \"{}\" \"{}\"\n",
                self.peer.ip(),
                log::local_time(log::now_secs()),
                info.request_line,
                ex.status,
                ex.sent_body,
                info.referer,
                info.user_agent
            );
            log::write(&info.target, line);
        }
        ex.sent_body = 0;
        ex.status = 0;
    }

    /// Routes and answers (or starts answering) one request head. `ctx.handlers.now`
    /// must be a fresh clock reading: Date and the file cache's trust window come from
    /// it.
    fn on_request(&mut self, ctx: &mut WorkerCtx, head: &RequestHead, now: Instant) {
        let table = ctx.table.clone();
        let Some(group) = self.group() else {
            self.queue_error(ctx, None, 500);
            return;
        };
        let mut route = if head.path() == "*" {
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
        self.ex.keep_alive =
            head.keep_alive && !ctx.shutting_down && !settings.keepalive_timeout.value.is_zero();
        if settings.access_log.value != LogTarget::Off {
            self.start_log(&settings.access_log.value, head);
        }
        let mut rewrites = Rewrites::default();
        let decision = loop {
            let path = rewrites.path(head.path());
            let try_files = rewrites.try_files;
            match self.decide_at(ctx, &table, &route, head, path, try_files) {
                Decision::Rewrite { .. } if rewrites.exhausted() => {
                    let hs = &mut ctx.handlers;
                    let f =
                        dispatch::failure(&table, Some(&route), 500, Why::RewriteLoop, None, hs);
                    break Decision::Error(f);
                }
                Decision::Rewrite { uri, relocate } => {
                    rewrites.follow(&table, &mut route, uri, relocate);
                }
                d => break d,
            }
        };
        let settings = table.settings(&route);
        if handlers::adds_lines(settings) {
            let vars = self.request_vars(&table, &route, head, rewrites.path(head.path()));
            let lines = ctx.handlers.added(&table, settings, &vars, log::now_secs());
            self.ex.extras().added = Some(lines);
        }
        let limit = settings.client_max_body_size.value;
        match self.execute(ctx, &table, &route, head, decision) {
            Executed::Respond(r) => self.respond(ctx, r, head, limit, route, now),
            // A body over the limit is refused before it is read: the connection
            // closes after the answer.
            Executed::Refuse(r) => self.respond_closing(ctx, r),
            Executed::Cgi(plan) => self.begin_cgi(ctx, plan, head, limit, route, now),
            Executed::Upload(up) => self.begin_upload(ctx, up, head, limit, route, now),
        }
    }

    /// What the access log line of this request will need from its head, kept until
    /// the answer is sent.
    fn start_log(&mut self, target: &LogTarget, head: &RequestHead) {
        self.ex.extras().log = Some(LogInfo {
            target: target.clone(),
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
        });
    }

    /// The variables a request sees; `uri` is the path it has now (`$uri`).
    fn request_vars<'a>(
        &self,
        table: &'a RoutingTable,
        route: &Route,
        head: &'a RequestHead,
        uri: &'a str,
    ) -> RequestVars<'a> {
        RequestVars {
            head,
            peer: self.peer,
            port: self.local.port(),
            server_name: table.servers[route.server]
                .names
                .first()
                .map_or("", String::as_str),
            scheme: self.scheme(),
            uri,
        }
    }

    /// The decision for the request at `path` (its own, or where a rewrite took it).
    fn decide_at<'t>(
        &self,
        ctx: &mut WorkerCtx,
        table: &'t RoutingTable,
        route: &Route,
        head: &'t RequestHead,
        path: &'t str,
        try_files: bool,
    ) -> Decision<'t, <HandlerCtx as FsView>::File> {
        let vars = self.request_vars(table, route, head, path);
        let mut facts = Facts::new(head, path, self.peer.ip(), &vars);
        facts.try_files = try_files;
        dispatch::decide(table, route, &facts, &mut ctx.handlers)
    }

    /// Queues an answer; a request body it did not use is read and dropped (to keep the
    /// connection), or the connection closes after the answer.
    fn respond(
        &mut self,
        ctx: &mut WorkerCtx,
        r: handlers::Response,
        head: &RequestHead,
        limit: u64,
        route: Route,
        now: Instant,
    ) {
        let head_only = head.method == Method::Head;
        if body::has_body(head.body) {
            if self.ex.keep_alive && body::discardable(head) {
                self.queue(ctx, r, head_only, head.version);
                let limit = body::discard_limit(limit);
                let body = BodyIn::new(head.body, limit, Sink::Discard, route, now);
                self.enter(Phase::Body(Box::new(body)));
                self.deadline = now + body_timeout(ctx, self.group());
                return;
            }
            self.ex.keep_alive = false;
            self.ex.linger = true;
        }
        self.queue(ctx, r, head_only, head.version);
        self.enter(Phase::Send);
        self.deadline = now + send_timeout(ctx, self.group());
    }

    /// Starts a CGI request. A body that came whole with the head goes to the script
    /// from the read buffer; one still on its way (and any chunked one, so the script
    /// gets its length) is spooled first, as nginx buffers a FastCGI request body: a
    /// slow client then holds a connection, not a process.
    fn begin_cgi(
        &mut self,
        ctx: &mut WorkerCtx,
        plan: Box<super::cgi::Plan>,
        head: &RequestHead,
        limit: u64,
        route: Route,
        now: Instant,
    ) {
        let head_only = head.method == Method::Head;
        let gzip = ctx.table.settings(&route).gzip.value && super::gzip::accepted(head);
        self.io.reset_out();
        if head.expect == Expect::Continue && body::has_body(head.body) {
            self.continue_100(ctx);
        }
        let length = match head.body {
            BodyFraming::Length(n) if n <= self.io.input().len() as u64 => n,
            BodyFraming::None => 0,
            BodyFraming::Length(_) | BodyFraming::Chunked => {
                let Ok(file) = body::spool_file() else {
                    self.queue_error(ctx, Some(&route), 500);
                    return;
                };
                let sink = Sink::Spool {
                    file,
                    plan,
                    head_only,
                    version: head.version,
                    gzip,
                };
                let body = BodyIn::new(head.body, limit, sink, route, now);
                self.enter(Phase::Body(Box::new(body)));
                self.deadline = now + body_timeout(ctx, self.group());
                return;
            }
        };
        let req = CgiRequest {
            input: Input::Socket(length),
            length: None,
            route,
            head_only,
            version: head.version,
            gzip,
        };
        self.start_cgi(ctx, &plan, req, now);
    }

    /// Starts an upload: the body streams into it, and it answers when the body is
    /// complete.
    fn begin_upload(
        &mut self,
        ctx: &mut WorkerCtx,
        up: Box<Upload>,
        head: &RequestHead,
        limit: u64,
        route: Route,
        now: Instant,
    ) {
        self.io.reset_out();
        if head.expect == Expect::Continue {
            self.continue_100(ctx);
        }
        let body = BodyIn::new(head.body, limit, Sink::Upload(up), route, now);
        if body::has_body(head.body) {
            self.enter(Phase::Body(Box::new(body)));
            self.deadline = now + body_timeout(ctx, self.group());
        } else {
            self.body_done(ctx, body, now);
            self.deadline = now + send_timeout(ctx, self.group());
        }
    }

    /// Queues `100 Continue`: the client may send the body.
    fn continue_100(&mut self, ctx: &mut WorkerCtx) {
        self.io
            .out(&mut ctx.pool)
            .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
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

/// When a phase whose deadline is `timeout` after its start began (`now` if that is
/// before the clock's origin).
fn since_deadline(deadline: Instant, timeout: Duration, now: Instant) -> Instant {
    deadline.checked_sub(timeout).unwrap_or(now)
}

/// What a request body must keep up: `client_body_timeout` (the grace before the rate
/// counts) and `client_body_min_rate`.
fn body_rate(ctx: &WorkerCtx, group: Option<GroupId>) -> (Duration, u64) {
    let s = server_settings(ctx, group);
    (s.client_body_timeout.value, s.client_body_min_rate.value)
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
