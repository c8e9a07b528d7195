//! The harness: a site (config + files in a temporary directory) served in-process on
//! ephemeral ports, raw TCP clients that write exact bytes, and a strict response reader.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use webserv::confc::{CompileOptions, compile_file};
use webserv::server::{Options, ServerHandle, start};

/// How long any single read may block before the test fails instead of hanging.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes placed one level above every document root: must never be served.
pub const CANARY: &[u8] = b"CANARY-7f3a9c-TOP-SECRET";

/// A running server over a temporary site tree. The config is `<dir>/site.conf`, so a
/// relative `root www;` means `<dir>/www`; `<dir>/secret.txt` holds [`CANARY`].
pub struct Site {
    pub dir: TempDir,
    handle: Option<ServerHandle>,
}

impl Site {
    /// Writes `files` (paths relative to the temp dir; parents created) and the config,
    /// compiles it hermetically (no errors allowed) and starts one worker.
    pub fn new(config: &str, files: &[(&str, &[u8])]) -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("secret.txt"), CANARY).unwrap();
        std::fs::create_dir_all(dir.path().join("www")).unwrap();
        for (name, bytes) in files {
            write_file(&dir.path().join(name), bytes);
        }
        let conf = dir.path().join("site.conf");
        std::fs::write(&conf, config).unwrap();
        let compiled = compile_file(&conf, &CompileOptions::hermetic()).expect("read config");
        let table = compiled.table.unwrap_or_else(|| {
            panic!(
                "config does not compile: {:#?}\n--- config ---\n{config}",
                compiled.diags.list
            )
        });
        let handle = start(
            table,
            Options {
                workers: 1,
                ephemeral_ports: true,
            },
        )
        .expect("start server");
        Site {
            dir,
            handle: Some(handle),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Replaces the config (as SIGHUP does): the new one must compile without errors.
    pub fn reload(&self, config: &str) {
        let conf = self.dir.path().join("site.conf");
        std::fs::write(&conf, config).unwrap();
        let compiled = compile_file(&conf, &CompileOptions::hermetic()).expect("read config");
        let table = compiled.table.expect("the new config compiles");
        self.handle.as_ref().unwrap().reload(table);
    }

    /// Where the listener configured with `port` is bound.
    pub fn addr_of(&self, port: u16) -> SocketAddr {
        self.handle
            .as_ref()
            .unwrap()
            .addr(port)
            .unwrap_or_else(|| panic!("no listener configured on port {port}"))
    }

    /// The listener configured on port 8080.
    pub fn addr(&self) -> SocketAddr {
        self.addr_of(8080)
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr())
    }

    /// One request on a fresh connection; the response to it.
    pub fn send(&self, raw: &[u8]) -> Response {
        let mut c = self.connect();
        c.write(raw);
        c.response_to(raw)
    }

    /// `GET path` with `Host: localhost` on a fresh connection.
    pub fn get(&self, path: &str) -> Response {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
    }

    /// `GET path` with extra header lines (each ending in CRLF).
    pub fn get_with(&self, path: &str, headers: &str) -> Response {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n").as_bytes())
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
    }
}

pub fn write_file(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The header, which must be present.
    pub fn h(&self, name: &str) -> &str {
        self.header(name)
            .unwrap_or_else(|| panic!("no `{name}` header in {:#?}", self.headers))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether the server announced it closes the connection.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    }
}

/// A raw client connection with a read buffer; over TLS when made by
/// [`Client::connect_tls`] (a rustls client), the same bytes in plaintext.
pub struct Client {
    pub sock: TcpStream,
    buf: Vec<u8>,
    eof: bool,
    pub tls: Option<Box<rustls::ClientConnection>>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let sock = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        sock.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        sock.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        sock.set_nodelay(true).unwrap();
        Client {
            sock,
            buf: Vec::new(),
            eof: false,
            tls: None,
        }
    }

    /// A TLS connection (the handshake completes before this returns) asking for
    /// `name` (no SNI when it is an IP address).
    pub fn connect_tls(
        addr: SocketAddr,
        config: &std::sync::Arc<rustls::ClientConfig>,
        name: &str,
    ) -> Client {
        let mut c = Client::connect(addr);
        let name = rustls::pki_types::ServerName::try_from(name.to_string()).expect("name");
        let mut tls = rustls::ClientConnection::new(config.clone(), name).expect("client");
        while tls.is_handshaking() {
            tls.complete_io(&mut c.sock)
                .unwrap_or_else(|e| panic!("TLS handshake with {addr}: {e}"));
        }
        c.tls = Some(Box::new(tls));
        c
    }

    fn stream(&mut self) -> Box<dyn ReadWrite + '_> {
        match &mut self.tls {
            Some(t) => Box::new(rustls::Stream::new(&mut **t, &mut self.sock)),
            None => Box::new(&mut self.sock),
        }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.stream().write_all(bytes).expect("write request");
    }

    /// Like `write`, but a connection the server already closed is not an error.
    pub fn try_write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream().write_all(bytes)
    }

    /// Reads more bytes into the buffer; false on EOF (or a reset). Panics on timeout.
    fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        let mut chunk = [0u8; 64 * 1024];
        loop {
            let got = self.stream().read(&mut chunk);
            match got {
                Ok(0) => {
                    self.eof = true;
                    return false;
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                    panic!(
                        "read timed out after {READ_TIMEOUT:?}; buffered so far: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    )
                }
                Err(_) => {
                    // ECONNRESET and friends: the server is gone.
                    self.eof = true;
                    return false;
                }
            }
        }
    }

    /// The response to `request` (HEAD requests have no body).
    pub fn response_to(&mut self, request: &[u8]) -> Response {
        self.read_response(request.starts_with(b"HEAD "))
    }

    /// Reads one response. Interim (1xx) responses are returned as they are.
    pub fn read_response(&mut self, head_request: bool) -> Response {
        self.try_read_response(head_request).unwrap_or_else(|| {
            panic!(
                "connection closed before a complete response; got {:?}",
                String::from_utf8_lossy(&self.buf)
            )
        })
    }

    /// Reads one response, `None` if the connection closes before a full one.
    pub fn try_read_response(&mut self, head_request: bool) -> Option<Response> {
        let end = loop {
            if let Some(p) = find(&self.buf, b"\r\n\r\n") {
                break p;
            }
            if !self.fill() {
                return None;
            }
        };
        let head = String::from_utf8(self.buf[..end].to_vec()).expect("response head is UTF-8");
        self.buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap().to_string();
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let reason = parts.next().unwrap_or("").to_string();
        assert!(
            version.starts_with("HTTP/1."),
            "status line {status_line:?}"
        );
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l
                    .split_once(':')
                    .unwrap_or_else(|| panic!("bad header line {l:?}"));
                assert!(
                    !n.is_empty() && !n.contains(' '),
                    "bad header name in {l:?}"
                );
                (n.to_string(), v.trim().to_string())
            })
            .collect();
        let mut r = Response {
            version,
            status,
            reason,
            headers,
            body: Vec::new(),
        };
        if head_request || status < 200 || status == 204 || status == 304 {
            return Some(r);
        }
        if r.header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            r.body = self.read_chunked()?;
        } else if let Some(len) = r.header("content-length") {
            let len: usize = len.parse().expect("numeric Content-Length");
            while self.buf.len() < len {
                if !self.fill() {
                    return None;
                }
            }
            r.body = self.buf.drain(..len).collect();
        } else {
            while self.fill() {}
            r.body = std::mem::take(&mut self.buf);
        }
        Some(r)
    }

    fn read_chunked(&mut self) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(p) = find(&self.buf, b"\r\n") {
                    break p;
                }
                if !self.fill() {
                    return None;
                }
            };
            let line = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
            let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
            self.buf.drain(..line_end + 2);
            if size == 0 {
                // Trailers until the empty line.
                loop {
                    let p = loop {
                        if let Some(p) = find(&self.buf, b"\r\n") {
                            break p;
                        }
                        if !self.fill() {
                            return None;
                        }
                    };
                    self.buf.drain(..p + 2);
                    if p == 0 {
                        return Some(body);
                    }
                }
            }
            while self.buf.len() < size + 2 {
                if !self.fill() {
                    return None;
                }
            }
            body.extend(self.buf.drain(..size));
            assert_eq!(&self.buf[..2], b"\r\n", "chunk not followed by CRLF");
            self.buf.drain(..2);
        }
    }

    /// Everything until EOF (after what is already buffered).
    pub fn read_to_close(&mut self) -> Vec<u8> {
        while self.fill() {}
        std::mem::take(&mut self.buf)
    }

    /// True if the server closes the connection (EOF or reset) with no further bytes
    /// within the read timeout; panics if it sends bytes.
    pub fn assert_closed(&mut self) {
        let extra = self.read_to_close();
        assert!(
            extra.is_empty(),
            "expected the connection to be closed, got more bytes: {:?}",
            String::from_utf8_lossy(&extra)
        );
    }

    /// Waits up to `limit` for EOF; returns how long it took (None if still open).
    pub fn wait_closed(&mut self, limit: Duration) -> Option<Duration> {
        let start = Instant::now();
        self.sock
            .set_read_timeout(Some(limit + Duration::from_millis(500)))
            .unwrap();
        let mut chunk = [0u8; 4096];
        loop {
            match self.sock.read(&mut chunk) {
                Ok(0) => return Some(start.elapsed()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                    return None;
                }
                Err(_) => return Some(start.elapsed()),
            }
            if start.elapsed() > limit + Duration::from_millis(500) {
                return None;
            }
        }
    }

    /// Bytes received but not consumed by a response.
    pub fn leftover(&self) -> &[u8] {
        &self.buf
    }
}

/// A socket, or a TLS stream over one.
trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Polls `cond` every 10 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Deterministic pseudo-random bytes (xorshift), for large-file tests.
pub fn random_bytes(n: usize, mut seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.extend_from_slice(&seed.to_le_bytes());
    }
    v.truncate(n);
    v
}

/// A minimal static site: `root www;` with a few files.
pub fn basic_conf(extra: &str) -> String {
    format!("server {{\n    listen 127.0.0.1:8080;\n    root www;\n{extra}\n}}\n")
}

/// A `/proc/PID/status` field in KiB (`VmRSS:`, `VmHWM:`).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap()
}
