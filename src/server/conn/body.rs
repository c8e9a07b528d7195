//! The Body phase: a request body read from the client into its sink (dropped after an
//! answer that did not need it, streamed into an upload, or spooled for a CGI), with
//! `client_max_body_size` enforced on the decoded length as it streams.

use std::io::Write;
use std::time::{Duration, Instant};

use super::cgi_io::{CgiRequest, Input};
use super::io::{self, ClientIo, Pool};
use super::{Conn, Next, Phase, WorkerCtx, body_rate, body_timeout, send_timeout};
use crate::server::handlers;
use crate::server::http::body::ChunkedDecoder;
use crate::server::http::request::{BodyFraming, Expect, RequestHead, Version};
use crate::server::router::Route;
use crate::server::upload::Upload;

/// Unused request bodies up to this size are read and discarded to keep the connection;
/// larger ones close it after the response.
pub const DISCARD_MAX: u64 = 1 << 20;

pub enum Framing {
    Length(u64),
    Chunked(ChunkedDecoder),
}

/// Where request body bytes go.
pub enum Sink {
    /// Dropped; the response is already queued.
    Discard,
    /// Streamed into temporary files; the response comes when the body is complete.
    Upload(Box<Upload>),
    /// A body for a CGI that did not come whole with the head (or is chunked), spooled
    /// to an unnamed temporary file: the script starts once it is complete, with its
    /// de-chunked CONTENT_LENGTH (as nginx does).
    Spool {
        file: std::fs::File,
        plan: Box<crate::server::cgi::Plan>,
        head_only: bool,
        version: Version,
        /// The client accepts gzip (for the script's output).
        gzip: bool,
    },
}

/// A request body being read.
pub struct BodyIn {
    framing: Framing,
    /// `client_max_body_size` (0 = none), enforced on the decoded length as it streams.
    limit: u64,
    received: u64,
    sink: Sink,
    /// The route, for error pages of failures found while reading.
    route: Route,
    /// De-chunked body bytes on their way to the sink.
    scratch: Vec<u8>,
    /// When the body started: its average rate is measured from here.
    started: Instant,
}

impl BodyIn {
    /// A body framed as the head says (`None` counts as empty), starting `now`.
    pub fn new(framing: BodyFraming, limit: u64, sink: Sink, route: Route, now: Instant) -> BodyIn {
        BodyIn {
            framing: match framing {
                BodyFraming::Length(n) => Framing::Length(n),
                BodyFraming::None => Framing::Length(0),
                BodyFraming::Chunked => Framing::Chunked(ChunkedDecoder::new()),
            },
            limit,
            received: 0,
            sink,
            route,
            scratch: Vec::new(),
            started: now,
        }
    }

    /// The rest of a body a CGI script did not read, dropped before the next request.
    pub fn leftover(rem: u64, route: Route, now: Instant) -> BodyIn {
        BodyIn::new(BodyFraming::Length(rem), 0, Sink::Discard, route, now)
    }

    /// When the body started and how many (decoded) bytes of it came since.
    pub fn progress(&self) -> (Instant, u64) {
        (self.started, self.received)
    }
}

/// The latest a body that started at `since` and brought `received` bytes may go on at
/// an average of `rate` bytes per second: `grace` (`client_body_timeout`) plus a second
/// for every `rate` bytes (Apache's `mod_reqtimeout` `MinRate`). `None` without a rate.
pub fn rate_deadline(since: Instant, received: u64, grace: Duration, rate: u64) -> Option<Instant> {
    if rate == 0 {
        return None;
    }
    let nanos = u128::from(received % rate) * 1_000_000_000 / u128::from(rate);
    let earned = Duration::from_secs(received / rate) + Duration::from_nanos(nanos as u64);
    since.checked_add(grace.checked_add(earned)?)
}

/// Whether a request has a body to read.
pub fn has_body(framing: BodyFraming) -> bool {
    !matches!(framing, BodyFraming::None | BodyFraming::Length(0))
}

/// Whether a body the answer does not need is read and dropped (to keep the
/// connection) rather than left unread (closing it): not when the client waits for
/// `100 Continue`, not when it announced more than [`DISCARD_MAX`].
pub fn discardable(head: &RequestHead) -> bool {
    head.expect != Expect::Continue
        && match head.body {
            BodyFraming::Length(n) => n <= DISCARD_MAX,
            _ => true,
        }
}

/// The most of an unused body read before giving up with 413.
pub fn discard_limit(limit: u64) -> u64 {
    if limit == 0 {
        DISCARD_MAX
    } else {
        limit.min(DISCARD_MAX)
    }
}

/// What one turn of the Body phase came to.
pub enum BodyTurn {
    /// The whole body arrived.
    Complete,
    /// Bytes were read: go on (the body deadline starts again).
    Read,
    /// Go on.
    Again,
    /// The body failed with this status (too large, bad chunking, the sink failed).
    Failed(u16),
    Wait,
    Close,
}

/// One turn of the Body phase, over the body being read and the client's I/O.
pub fn turn(body: &mut BodyIn, io: &mut ClientIo, pool: &mut Pool) -> BodyTurn {
    // An interim `100 Continue` goes out before the body is read. (A final response
    // queued before a discarded body waits: a framing error in the body still replaces
    // it.)
    let interim = !matches!(body.sink, Sink::Discard);
    if interim && io.has_output() {
        if io.flush().is_err() {
            return BodyTurn::Close;
        }
    } else if io.committed_unsent() && io.writable {
        // Finished answers to earlier pipelined requests go out now; only this
        // request's own (queued before its body) has to wait.
        if io.flush_committed().is_err() {
            return BodyTurn::Close;
        }
    }
    if io.has_input() {
        match consume(body, io) {
            Err(status) => return BodyTurn::Failed(status),
            Ok(true) => return BodyTurn::Complete,
            Ok(false) => {}
        }
    }
    if !io.readable {
        return BodyTurn::Wait;
    }
    match io.fill(pool) {
        io::Input::More => BodyTurn::Read,
        io::Input::Blocked => BodyTurn::Again,
        io::Input::Closed | io::Input::PlainHttp => BodyTurn::Close,
    }
}

/// Feeds buffered body bytes to the sink. `Ok(true)` when the body is complete.
fn consume(body: &mut BodyIn, io: &mut ClientIo) -> Result<bool, u16> {
    let avail = io.input();
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
    io.consume(used);
    Ok(done)
}

/// An unnamed temporary file for a spooled request body (gone when closed).
pub fn spool_file() -> std::io::Result<std::fs::File> {
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

impl Conn {
    /// Acts on a turn of the Body phase.
    pub(super) fn after_body_turn(
        &mut self,
        ctx: &mut WorkerCtx,
        now: Instant,
        turn: BodyTurn,
    ) -> Option<Next> {
        match turn {
            BodyTurn::Complete => {
                if let Phase::Body(body) = std::mem::replace(&mut self.phase, Phase::Send) {
                    self.body_done(ctx, *body, now);
                }
                self.deadline = now + send_timeout(ctx, self.group());
                None
            }
            BodyTurn::Failed(status) => {
                self.abort_with(ctx, status);
                None
            }
            BodyTurn::Read => {
                self.deadline = now + body_timeout(ctx, self.group());
                if let Phase::Body(body) = &self.phase {
                    let (since, received) = body.progress();
                    let (grace, rate) = body_rate(ctx, self.group());
                    if let Some(d) = rate_deadline(since, received, grace, rate) {
                        self.deadline = self.deadline.min(d);
                    }
                }
                None
            }
            BodyTurn::Again => None,
            BodyTurn::Wait => Some(Next::Wait),
            BodyTurn::Close => Some(Next::Close),
        }
    }

    /// The whole body arrived: the sink's response (if it had none yet) goes out, or
    /// the CGI it was spooled for starts.
    pub(super) fn body_done(&mut self, ctx: &mut WorkerCtx, body: BodyIn, now: Instant) {
        self.enter(Phase::Send);
        let BodyIn {
            sink,
            route,
            received,
            ..
        } = body;
        match sink {
            Sink::Spool {
                mut file,
                plan,
                head_only,
                version,
                gzip,
            } => {
                use std::io::Seek;
                if file.rewind().is_err() {
                    self.queue_error(ctx, Some(&route), 500);
                    return;
                }
                let req = CgiRequest {
                    input: Input::Spool(file, received),
                    length: Some(received),
                    route,
                    head_only,
                    version,
                    gzip,
                };
                self.start_cgi(ctx, &plan, req, now);
            }
            Sink::Upload(up) => {
                let r = match up.finish() {
                    Ok(r) => r,
                    Err(status) => {
                        let table = ctx.table.clone();
                        handlers::error(&mut ctx.handlers, &table, Some(&route), status)
                    }
                };
                self.queue(ctx, r, false, Version::Http11);
            }
            Sink::Discard => {}
        }
    }

    /// A failure while reading a body: drop the sink (an upload removes its temporary
    /// files), replace any queued response and close.
    pub(super) fn abort_with(&mut self, ctx: &mut WorkerCtx, status: u16) {
        let Phase::Body(body) = std::mem::replace(&mut self.phase, Phase::Send) else {
            return;
        };
        let route = body.route.clone();
        drop(body);
        if let Some(e) = &mut self.ex.extras {
            e.log = None;
        }
        self.queue_error(ctx, Some(&route), status);
    }
}
