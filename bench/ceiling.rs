//! The ceiling for `bench/bench.sh`: the least an HTTP/1.1 server on mio can do. One
//! thread, edge-triggered; every complete request head (each "\r\n\r\n", so pipelining
//! works) is answered with the same pre-rendered 200 response, keep-alive. The request
//! itself (method, path, headers) is never parsed.
//!
//! With `webserv-head`, the answer carries the header lines webserv sends for a static
//! file (`Server`, `Date`, `Content-Length`, `Content-Type`, `Last-Modified`, `ETag`,
//! `Accept-Ranges`; fixed values of the same length): the same bytes on the wire, so the
//! kernel and the client do the same work per request as with webserv.
//!
//!     cargo run --release --example ceiling -- 127.0.0.1:8090 [BODY_BYTES=1024] [webserv-head]
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};

struct Conn {
    sock: TcpStream,
    matched: u8, // bytes of "\r\n\r\n" seen at the end of the input so far
    out: Vec<u8>,
}

/// Reads until the socket is drained and queues one response per complete request head.
/// Returns false at EOF or on an error.
fn read_requests(c: &mut Conn, buf: &mut [u8], resp: &[u8]) -> bool {
    loop {
        match c.sock.read(buf) {
            Ok(0) => return false,
            Ok(n) => {
                for &b in &buf[..n] {
                    c.matched = match (b, c.matched) {
                        (b'\r', 0 | 2) => c.matched + 1,
                        (b'\r', _) => 1,
                        (b'\n', 1) => 2,
                        (b'\n', 3) => {
                            c.out.extend_from_slice(resp);
                            0
                        }
                        _ => 0,
                    };
                }
                if n < buf.len() {
                    return true; // a short read drained the socket: more data is a new edge
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// Writes what the socket takes; the rest waits for the next WRITABLE edge.
fn flush(c: &mut Conn) -> bool {
    while !c.out.is_empty() {
        match c.sock.write(&c.out) {
            Ok(n) => drop(c.out.drain(..n)),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8090".into());
    let size: usize = args
        .next()
        .map_or(1024, |s| s.parse().expect("BODY_BYTES: a number"));
    let head = match args.next().as_deref() {
        None => {
            format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {size}\r\n\r\n")
        }
        Some("webserv-head") => format!(
            "HTTP/1.1 200 OK\r\nServer: webserv\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\
             Content-Length: {size}\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Last-Modified: Thu, 01 Jan 1970 00:00:00 GMT\r\nETag: \"00000000-{size:x}\"\r\n\
             Accept-Ranges: bytes\r\n\r\n"
        ),
        Some(other) => panic!("unknown head {other:?}: only webserv-head"),
    };
    let mut resp = head.into_bytes();
    resp.resize(resp.len() + size, b'x');

    let mut listener = TcpListener::bind(addr.parse().expect("ADDR: like 127.0.0.1:8090"))?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, Token(0), Interest::READABLE)?;
    let mut conns: HashMap<usize, Conn> = HashMap::new();
    let (mut next, mut events, mut buf) = (1, Events::with_capacity(1024), vec![0; 64 << 10]);
    eprintln!("ceiling: serving {size}-byte bodies on {addr}");
    loop {
        poll.poll(&mut events, None)?; // no signal handlers: no EINTR to retry
        for ev in &events {
            if ev.token() == Token(0) {
                while let Ok((mut sock, _)) = listener.accept() {
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    poll.registry().register(&mut sock, Token(next), interest)?;
                    sock.set_nodelay(true)?;
                    let (matched, out) = (0, Vec::new());
                    conns.insert(next, Conn { sock, matched, out });
                    next += 1;
                }
            } else if let Some(c) = conns.get_mut(&ev.token().0) {
                let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
                let open = (!readable || read_requests(c, &mut buf, &resp)) && flush(c);
                if !open {
                    conns.remove(&ev.token().0); // closing the fd leaves the epoll set
                }
            }
        }
    }
}
