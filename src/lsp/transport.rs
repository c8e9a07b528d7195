//! JSON-RPC over stdio: `Content-Length` framing, one reader and one writer thread.
//!
//! lsp-server's own stdio transport ends the connection on the first payload that is not
//! JSON; this one answers it with a parse error and reads on (the frame was read whole, so
//! the stream is still in step). Frames are bounded, so a lying `Content-Length` cannot
//! make the server allocate gigabytes.

use std::io::{self, BufRead, Write};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread;

use lsp_server::Message;

/// Largest frame accepted: a 64 MiB config (the compiler's limit) JSON-escaped, with room.
const MAX_FRAME: usize = 160 << 20;

/// What the reader hands the main loop.
pub enum Incoming {
    Message(Message),
    /// A frame whose payload is not a JSON-RPC message.
    Malformed(String),
}

/// The two ends the main loop uses, and the threads behind them.
pub struct Transport {
    pub incoming: Receiver<Incoming>,
    pub outgoing: SyncSender<Outgoing>,
    writer: thread::JoinHandle<()>,
}

/// What the writer sends: a message, or raw JSON (a response with a null id).
pub enum Outgoing {
    Message(Message),
    Raw(String),
}

impl Transport {
    /// Starts the threads on stdin and stdout.
    pub fn stdio() -> Transport {
        let (in_tx, in_rx) = channel();
        thread::Builder::new()
            .name("lsp-reader".into())
            .spawn(move || read_loop(&mut io::stdin().lock(), &in_tx))
            .expect("spawn the reader thread");
        let (out_tx, out_rx) = sync_channel::<Outgoing>(64);
        let writer = thread::Builder::new()
            .name("lsp-writer".into())
            .spawn(move || {
                let mut out = io::stdout().lock();
                for msg in out_rx {
                    let ok = match msg {
                        Outgoing::Message(m) => m.write(&mut out),
                        Outgoing::Raw(text) => write_frame(&mut out, &text),
                    };
                    if ok.is_err() {
                        break;
                    }
                }
            })
            .expect("spawn the writer thread");
        Transport {
            incoming: in_rx,
            outgoing: out_tx,
            writer,
        }
    }

    /// Waits until everything queued has been written.
    pub fn finish(self) {
        drop(self.outgoing);
        let _ = self.writer.join();
    }
}

fn write_frame(out: &mut impl Write, text: &str) -> io::Result<()> {
    write!(out, "Content-Length: {}\r\n\r\n", text.len())?;
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Reads frames until end of input or a header it cannot read (the stream is lost then).
fn read_loop(input: &mut impl BufRead, tx: &Sender<Incoming>) {
    loop {
        let body = match read_frame(input) {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => {
                let _ = tx.send(Incoming::Malformed(format!("unreadable frame: {e}")));
                return;
            }
        };
        let msg = match serde_json::from_slice::<Message>(&body) {
            Ok(m) => Incoming::Message(m),
            Err(e) => Incoming::Malformed(format!("not a JSON-RPC message: {e}")),
        };
        let is_exit =
            matches!(&msg, Incoming::Message(Message::Notification(n)) if n.method == "exit");
        if tx.send(msg).is_err() || is_exit {
            return;
        }
    }
}

/// One frame's payload; `None` at a clean end of input.
pub fn read_frame(input: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut len = None;
    let mut line = String::new();
    let mut first = true;
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return if first {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        first = false;
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        if let Some((name, value)) = l.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            len = value.trim().parse::<usize>().ok();
        }
        if line.len() > 4096 {
            return Err(io::Error::other("header line too long"));
        }
    }
    let len = len.ok_or_else(|| io::Error::other("no Content-Length"))?;
    if len > MAX_FRAME {
        return Err(io::Error::other("frame too large"));
    }
    let mut body = vec![0; len];
    input.read_exact(&mut body)?;
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_garbage() {
        let raw = b"Content-Length: 2\r\n\r\n{}Content-Length: 3\r\ncontent-type: x\r\n\r\nabc";
        let mut r = &raw[..];
        assert_eq!(read_frame(&mut r).unwrap().unwrap(), b"{}");
        assert_eq!(read_frame(&mut r).unwrap().unwrap(), b"abc");
        assert!(read_frame(&mut r).unwrap().is_none());
        let mut r = &b"Content-Length: 99999999999\r\n\r\n"[..];
        assert!(read_frame(&mut r).is_err());
        let mut r = &b"X: 1\r\n\r\n"[..];
        assert!(read_frame(&mut r).is_err());
    }
}
