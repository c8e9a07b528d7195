//! Answers: carrying out a `dispatch::Decision`, writing a response head (one function,
//! for every response including a CGI's), queueing a response, queueing an error answer.

use std::sync::Arc;

use super::{Conn, Phase, WorkerCtx};
use crate::confc::table::RoutingTable;
use crate::server::dispatch::{self, Decision, Failure, Why};
use crate::server::filecache::Cached;
use crate::server::handlers::{self, Body, HandlerCtx, Response};
use crate::server::http::request::{RequestHead, Version};
use crate::server::http::response as resp;
use crate::server::log;
use crate::server::router::Route;
use crate::server::upload::Upload;

/// Files up to this size are read into the write buffer and sent with the head in one
/// write; larger ones go out with sendfile.
const INLINE_FILE: u64 = 32 * 1024;

/// Whether a response with this status carries a body: 1xx, 204 and 304 never do
/// (RFC 9110 §6.4.1), so their heads state no length either.
#[inline]
pub fn has_body(status: u16) -> bool {
    !(status < 200 || status == 204 || status == 304)
}

/// How a response head states the length of its body.
pub enum Length {
    /// `Content-Length`.
    Known(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Nothing: the close ends the body, or a HEAD answer does not know it.
    Unstated,
}

/// How the connection goes on, for the head's `Connection` field.
pub struct Persistence {
    pub keep_alive: bool,
    pub version: Version,
}

/// Writes a response head: the status line, `Server` and `Date`, the body's length
/// (never for a status without a body), the response's own header lines (`lines`
/// appends them), `Connection`, and the empty line. Returns whether a body may follow.
pub fn write_head(
    w: &mut Vec<u8>,
    status: u16,
    server_and_date: &str,
    length: Length,
    conn: Persistence,
    lines: impl FnOnce(&mut Vec<u8>),
) -> bool {
    resp::status_line(w, status);
    w.extend_from_slice(server_and_date.as_bytes());
    let body = has_body(status);
    if body {
        match length {
            Length::Known(n) => {
                w.extend_from_slice(b"Content-Length: ");
                resp::push_u64(w, n);
                w.extend_from_slice(b"\r\n");
            }
            Length::Chunked => w.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
            Length::Unstated => {}
        }
    }
    lines(w);
    if !conn.keep_alive {
        w.extend_from_slice(b"Connection: close\r\n");
    } else if conn.version == Version::Http10 {
        w.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    w.extend_from_slice(b"\r\n");
    body
}

/// What carrying out a decision gives the connection.
pub enum Executed {
    /// The answer.
    Respond(Response),
    /// The answer, after which the connection closes without reading the body.
    Refuse(Response),
    /// A CGI run to start; it consumes the body.
    Cgi(Box<crate::server::cgi::Plan>),
    /// An upload to feed the body to; it answers when the body is complete.
    Upload(Box<Upload>),
}

/// Carries out a failed decision: its page (built-in pages compressed like any
/// other), refused before the body when the body is too large.
fn failed(
    h: &mut HandlerCtx,
    table: &RoutingTable,
    route: &Route,
    head: &RequestHead,
    f: Failure<'_, Arc<Cached>>,
) -> Executed {
    if f.why == Why::StoreNotDirectory
        && let Some(dir) = &table.settings(route).upload_store.value
    {
        log::error_log(
            4,
            &format!("upload_store {} is not a directory", dir.display()),
        );
    }
    let refuse = f.why == Why::BodyTooLarge;
    let builtin = matches!(f.page, dispatch::Page::Builtin);
    let r = handlers::failure(h, f);
    let r = if builtin {
        handlers::gzip_page(r, table.settings(route), head)
    } else {
        r
    };
    if refuse {
        Executed::Refuse(r)
    } else {
        Executed::Respond(r)
    }
}

impl Conn {
    /// Carries out a decision: a response now, or the handler that consumes the body
    /// before it answers.
    pub(super) fn execute(
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
            Decision::Return {
                ret,
                text,
                server_level,
            } => {
                // A server-level `return` answers before any location: the server's type.
                let settings = if server_level {
                    &table.servers[route.server].settings
                } else {
                    table.settings(route)
                };
                handlers::answer_return(ret.code, text.as_deref(), settings)
            }
            // The connection follows rewrites before it executes a decision.
            Decision::Rewrite { .. } => handlers::error(h, table, Some(route), 500),
            Decision::Options(allowed) => {
                Response::new(204, Body::Empty).header("Allow", &handlers::allow_header(allowed))
            }
            Decision::File {
                file,
                name,
                base,
                rel,
                ..
            } => handlers::serve_file(h, &file, name, (base, &rel), head, table.settings(route)),
            Decision::AddSlash => handlers::add_slash(head),
            Decision::Autoindex { base, rel } => {
                let r = handlers::autoindex(h, table, route, head, base, rel);
                handlers::gzip_page(r, table.settings(route), head)
            }
            Decision::Delete { base, rel } => handlers::delete(h, table, route, base, rel),
            Decision::Cgi(target) => {
                let plan = crate::server::cgi::plan(
                    &target,
                    table,
                    route,
                    head,
                    self.peer,
                    self.local,
                    self.io.is_tls(),
                );
                return Executed::Cgi(Box::new(plan));
            }
            Decision::Upload(target) => match Upload::start(&target, head) {
                Ok(up) => return Executed::Upload(Box::new(up)),
                Err(status) => handlers::error(h, table, Some(route), status),
            },
            Decision::Error(f) => return failed(h, table, route, head, f),
        };
        Executed::Respond(r)
    }

    /// Replaces the current response with an error answer (the configured page or the
    /// built-in one) and closes after it.
    pub(super) fn queue_error(&mut self, ctx: &mut WorkerCtx, route: Option<&Route>, status: u16) {
        let table = ctx.table.clone();
        let r = handlers::error(&mut ctx.handlers, &table, route, status);
        self.respond_closing(ctx, r);
    }

    /// Replaces the current response with `r` and closes after it, lingering, so a
    /// client still sending sees the answer, not a reset.
    pub(super) fn respond_closing(&mut self, ctx: &mut WorkerCtx, mut r: Response) {
        r.close = true;
        self.ex.linger = true;
        self.io.drop_file();
        self.queue(ctx, r, false, Version::Http11);
        self.enter(Phase::Send);
    }

    /// Serialises a response into the write buffer (and the file to follow it), after
    /// the finished answers to earlier pipelined requests.
    pub(super) fn queue(
        &mut self,
        ctx: &mut WorkerCtx,
        r: Response,
        head_only: bool,
        version: Version,
    ) {
        if r.close {
            self.ex.keep_alive = false;
        }
        let streamed = matches!(r.body, Body::GzipFile { .. });
        // A compressed stream's length is known only at its end: chunked, or (HTTP/1.0)
        // ended by the close.
        if streamed && version != Version::Http11 {
            self.ex.keep_alive = false;
        }
        let keep_alive = self.ex.keep_alive;
        self.ex.status = r.status;
        let date = ctx.date.server_and_date(ctx.handlers.now);
        self.io.reset_out();
        let added = self.ex.added();
        let w = self.io.out(&mut ctx.pool);
        let conn = Persistence {
            keep_alive,
            version,
        };
        let length = match (streamed, version) {
            (false, _) => Length::Known(r.body.len()),
            (true, Version::Http11) => Length::Chunked,
            (true, _) => Length::Unstated,
        };
        let body = write_head(w, r.status, date, length, conn, |w| {
            if let Some(h) = &r.shared_headers {
                w.extend_from_slice(h);
            }
            w.extend_from_slice(&r.headers);
            if let Some(a) = added {
                a.write(w, r.status);
            }
        });
        if head_only || !body {
            return;
        }
        self.ex.sent_body = r.body.len();
        match r.body {
            Body::Empty => {}
            Body::Bytes(b) => w.extend_from_slice(&b),
            Body::Shared { data, offset, len } => w.extend_from_slice(&data[offset..offset + len]),
            Body::File { file, offset, len } if len <= INLINE_FILE => {
                let start = w.len();
                w.resize(start + len as usize, 0);
                if read_exact_at(&file, &mut w[start..], offset).is_err() {
                    // The head promised `len` bytes; without them the only honest end
                    // is closing the connection.
                    w.truncate(start);
                    self.ex.sent_body = 0;
                    self.ex.keep_alive = false;
                }
            }
            // Counted as sent now: the log line is written only once it all went out.
            Body::File { file, offset, len } => self.io.send_file_after(file, offset, len),
            Body::GzipFile { file, len, level } => {
                let chunked = version == Version::Http11;
                self.io.send_gzip_after(file, len, level, chunked);
            }
        }
    }
}

fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, offset)
}
