//! Slow and idle clients: header timeout, keep-alive timeout, slowloris; a full
//! connection table that makes room (idle first, then the slowest client), and the
//! minimum rate of a request body.

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use crate::common::*;

const CONF: &str = r#"
server {
    listen 127.0.0.1:8080;
    root www;
    client_header_timeout 1s;
    keepalive_timeout 1s;
}
"#;

#[test]
fn half_a_head_gets_408_or_close_after_header_timeout() {
    let s = Site::new(CONF, &[("www/index.html", b"hi")]);
    let mut c = s.connect();
    let start = Instant::now();
    c.write(b"GET / HTTP/1.1\r\nHo");
    let took = c
        .wait_closed(Duration::from_millis(2500))
        .expect("connection still open 3 s after a 1 s header timeout");
    let total = start.elapsed();
    assert!(
        total <= Duration::from_millis(2500),
        "took {total:?} (close after {took:?})"
    );
    assert!(
        total >= Duration::from_millis(900),
        "closed too early: {total:?}"
    );
    let got = c.leftover();
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 408 "),
        "{:?}",
        String::from_utf8_lossy(got)
    );
}

#[test]
fn idle_keep_alive_closed_after_keepalive_timeout() {
    let s = Site::new(CONF, &[("www/index.html", b"hi")]);
    let mut c = s.connect();
    c.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.read_response(false).status, 200);
    let start = Instant::now();
    let took = c
        .wait_closed(Duration::from_millis(2500))
        .expect("idle connection still open after keepalive_timeout 1s");
    assert!(took <= Duration::from_millis(2500), "{took:?}");
    assert!(
        start.elapsed() >= Duration::from_millis(800),
        "closed too early: {:?}",
        start.elapsed()
    );
    assert!(c.leftover().is_empty(), "{:?}", c.leftover());
}

#[test]
fn slowloris_does_not_starve_normal_clients() {
    let s = Site::new(
        "server {\n    listen 127.0.0.1:8080;\n    root www;\n}\n",
        &[("www/index.html", b"hi")],
    );
    let mut lorises = Vec::new();
    for i in 0..300 {
        let mut c = s.connect();
        c.write(format!("GET /{i} HTTP/1.1\r\nHost: x\r\nX-Slow: ").as_bytes());
        lorises.push(c);
    }
    // Dribble one more byte on each, as slowloris does.
    for c in &mut lorises {
        c.write(b"a");
    }
    let start = Instant::now();
    let r = s.get("/");
    let took = start.elapsed();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hi");
    assert!(
        took < Duration::from_secs(1),
        "normal client waited {took:?}"
    );
    drop(lorises);
}

#[test]
fn dribbling_head_is_cut_off_by_header_timeout() {
    // The header deadline runs from the first byte: sending a byte now and then must not
    // extend it.
    let s = Site::new(CONF, &[("www/index.html", b"hi")]);
    let mut c = s.connect();
    let start = Instant::now();
    c.write(b"GET / HTTP/1.1\r\n");
    let mut cut = false;
    for i in 0..15 {
        // Pacing the attacker, not synchronising: 150 ms between bytes.
        std::thread::sleep(Duration::from_millis(150));
        if c.try_write(format!("X-{i}: v\r\n").as_bytes()).is_err() {
            cut = true;
            break;
        }
        if start.elapsed() > Duration::from_millis(2500) {
            break;
        }
    }
    if !cut {
        let left = Duration::from_millis(2500).saturating_sub(start.elapsed());
        cut = c.wait_closed(left).is_some();
    }
    assert!(
        cut,
        "a dribbling client kept its head open past the header timeout"
    );
    assert!(
        start.elapsed() <= Duration::from_millis(3000),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn slow_body_is_cut_off_by_body_timeout() {
    let s = Site::new(
        "server {\n    listen 127.0.0.1:8080;\n    root www;\n    client_body_timeout 1s;\n}\n",
        &[("www/index.html", b"hi")],
    );
    let mut c = s.connect();
    let start = Instant::now();
    c.write(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345");
    let took = c.wait_closed(Duration::from_millis(2500));
    assert!(
        took.is_some(),
        "connection with a stalled body still open after 3 s"
    );
    assert!(start.elapsed() <= Duration::from_millis(3000));
}

/// The kernel's state of the server's side of the TCP connection from the client port
/// `client` to the server port `server`, from `/proc/net/tcp` (IPv4): "01" is
/// ESTABLISHED, "03" SYN_RECV.
fn server_side_state(server: u16, client: u16) -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let port = |a: &str| u16::from_str_radix(a.rsplit(':').next()?, 16).ok();
        (port(f[1]) == Some(server) && port(f[2]) == Some(client)).then(|| f[3].to_owned())
    })
}

/// Listeners use TCP_DEFER_ACCEPT: a connection that has sent nothing is still the
/// kernel's (its server side is in SYN_RECV, not handed to `accept`), and it is served
/// as usual as soon as its request arrives.
#[test]
fn a_silent_connection_is_not_accepted_until_it_speaks() {
    let s = Site::new(CONF, &[("www/index.html", b"hi")]);
    let mut c = s.connect();
    let client_port = c.sock.local_addr().unwrap().port();
    assert_eq!(
        server_side_state(s.addr().port(), client_port).as_deref(),
        Some("03"),
        "the server side of a silent connection should still be in SYN_RECV"
    );
    c.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hi");
    assert_eq!(
        server_side_state(s.addr().port(), client_port).as_deref(),
        Some("01")
    );
}

/// A client that connects and never speaks is not held forever: the kernel hands it
/// over once its SYN-ACK retransmit (about 1 s) is answered, then the 1 s header
/// timeout closes it.
#[test]
fn a_connection_that_never_speaks_is_closed_after_the_header_timeout() {
    let s = Site::new(CONF, &[("www/index.html", b"hi")]);
    let mut c = s.connect();
    let took = c
        .wait_closed(Duration::from_secs(6))
        .expect("a silent connection still open 6 s after connecting");
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );
    assert!(c.leftover().is_empty() || c.leftover().starts_with(b"HTTP/1.1 408 "));
}

/// Whether the server closed `c` (EOF or reset), without waiting; panics on data.
fn is_closed(c: &mut Client) -> bool {
    c.sock.set_nonblocking(true).unwrap();
    let mut b = [0u8; 64];
    let closed = match c.sock.read(&mut b) {
        Ok(0) => true,
        Ok(n) => panic!("unexpected bytes {:?}", String::from_utf8_lossy(&b[..n])),
        Err(e) => e.kind() != ErrorKind::WouldBlock,
    };
    c.sock.set_nonblocking(false).unwrap();
    closed
}

/// How many of `conns` the server closed, once at least `want` are (or 2 s passed).
fn closed_count(conns: &mut [Client], want: usize) -> usize {
    let mut closed = vec![false; conns.len()];
    wait_until(Duration::from_secs(2), || {
        for (c, done) in conns.iter_mut().zip(closed.iter_mut()) {
            *done = *done || is_closed(c);
        }
        closed.iter().filter(|d| **d).count() >= want
    });
    closed.iter().filter(|d| **d).count()
}

/// A normal request on a new connection, answered within a second; the connection is
/// kept open (a client that stays needs a place in the table).
fn served_promptly(s: &Site) -> Client {
    let start = Instant::now();
    let mut c = s.connect();
    let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    c.write(req);
    let r = c.response_to(req);
    let took = start.elapsed();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hi");
    assert!(
        took < Duration::from_secs(1),
        "a new client waited {took:?}"
    );
    c
}

/// Half a request head: the client is still sending it.
fn half_a_head(s: &Site, i: usize) -> Client {
    let mut c = s.connect();
    c.write(format!("GET /{i} HTTP/1.1\r\nHost: x\r\nX-Slow: a").as_bytes());
    c
}

fn capped(n: usize, extra: &str) -> String {
    format!(
        "worker_connections {n};\nserver {{\n    listen 127.0.0.1:8080;\n    root www;\n{extra}\n}}\n"
    )
}

/// A full table with every connection trickling a head: a new client is served at once
/// (not after the 60 s header timeout), and one head is closed for the place it keeps.
#[test]
fn a_full_table_closes_a_trickling_head_for_a_new_client() {
    let s = Site::new(&capped(8, ""), &[("www/index.html", b"hi")]);
    let mut heads: Vec<Client> = (0..8).map(|i| half_a_head(&s, i)).collect();
    let _kept = served_promptly(&s);
    assert_eq!(closed_count(&mut heads, 1), 1, "exactly one head is closed");
}

/// A client that is served and gone at once takes no one's place.
#[test]
fn a_full_table_closes_nothing_for_a_client_that_leaves() {
    let s = Site::new(&capped(4, ""), &[("www/index.html", b"hi")]);
    let mut heads: Vec<Client> = (0..4).map(|i| half_a_head(&s, i)).collect();
    let r = s.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hi"[..]));
    // A keep-alive client stays: now one head goes, so none went before.
    let _kept = served_promptly(&s);
    assert_eq!(closed_count(&mut heads, 1), 1);
}

/// Idle keep-alive connections go before clients that are still sending.
#[test]
fn idle_connections_are_closed_before_slow_ones() {
    let s = Site::new(&capped(3, ""), &[("www/index.html", b"hi")]);
    let mut idle = s.connect();
    idle.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(idle.read_response(false).status, 200);
    let mut heads = vec![half_a_head(&s, 1), half_a_head(&s, 2)];
    // A third slow client: the idle one makes room for it.
    heads.push(half_a_head(&s, 3));
    assert!(idle.wait_closed(Duration::from_secs(2)).is_some());
    assert_eq!(
        closed_count(&mut heads, 0),
        0,
        "a head went before the idle one"
    );
    // Nothing idle left: a head goes.
    let _kept = served_promptly(&s);
    assert_eq!(closed_count(&mut heads, 1), 1);
}

const UPLOADS: &str =
    "    location /up/ {\n        upload_store www/up;\n        allow_methods GET PUT;\n    }";

/// Of two uploads, the one whose body comes slowest is closed for a new client; the
/// other goes on and completes.
#[test]
fn the_slowest_body_is_closed_first() {
    let s = Site::new(&capped(2, UPLOADS), &[("www/index.html", b"hi")]);
    std::fs::create_dir_all(s.path("www/up")).unwrap();
    let mut slow = s.connect();
    slow.write(b"PUT /up/slow.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nx");
    let body = random_bytes(200_000, 7);
    let mut fast = s.connect();
    fast.write(b"PUT /up/fast.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n");
    fast.write(&body[..100_000]);
    let _kept = served_promptly(&s);
    assert!(
        slow.wait_closed(Duration::from_secs(2)).is_some(),
        "the slow upload was not the one closed"
    );
    fast.write(&body[100_000..]);
    let r = fast.read_response(false);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(std::fs::read(s.path("www/up/fast.bin")).unwrap(), body);
    assert!(!s.path("www/up/slow.txt").exists());
}

/// A client that does not read its response (a 16 MiB file, far more than the socket
/// buffers hold) is closed for a new client instead of holding its slot for the
/// 60 s `send_timeout`.
#[test]
fn a_client_that_does_not_read_is_closed_for_a_new_one() {
    let big = random_bytes(16 << 20, 3);
    let s = Site::new(
        &capped(1, ""),
        &[("www/index.html", b"hi"), ("www/big.bin", &big)],
    );
    let mut reader = s.connect();
    reader.write(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    let _kept = served_promptly(&s);
    let got = reader.read_to_close();
    assert!(got.starts_with(b"HTTP/1.1 200 "));
    assert!(got.len() < big.len(), "the whole file arrived");
}

/// A CGI still computing waits on the server, not on its client: a full table closes a
/// slow client instead, and the script's answer arrives whole.
#[test]
fn a_computing_cgi_is_never_closed_to_make_room() {
    let conf = capped(
        2,
        "    location /cgi/ {\n        cgi .py /usr/bin/python3;\n    }",
    );
    let s = Site::new(&conf, &[("www/index.html", b"hi")]);
    let fifo = s.path("go");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(ok.success());
    let script = format!(
        "import sys\nopen({:?}).read()\nsys.stdout.write('Content-Type: text/plain\\r\\n\\r\\ncomputed')\n",
        fifo.display().to_string()
    );
    write_file(&s.path("www/cgi/wait.py"), script.as_bytes());
    let mut cgi = s.connect();
    cgi.write(b"GET /cgi/wait.py HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut head = half_a_head(&s, 1);
    let _kept = served_promptly(&s);
    assert!(head.wait_closed(Duration::from_secs(2)).is_some());
    // The script waits in `read` until the FIFO's writer closes: it must still be there
    // (a killed script leaves no reader, and a non-blocking open then fails).
    let mut writer = None;
    wait_until(Duration::from_secs(5), || {
        use std::os::unix::fs::OpenOptionsExt;
        writer = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .ok();
        writer.is_some()
    });
    drop(writer.expect("the script is not reading its FIFO"));
    let r = cgi.read_response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"computed");
}

const RATE: &str = "    client_body_timeout 1s;\n    client_body_min_rate 1k;\n    location /up/ {\n        upload_store www/up;\n        allow_methods PUT;\n    }\n    location /cgi/ {\n        cgi .py /usr/bin/python3;\n        allow_methods POST;\n    }";

/// Sends `total` body bytes (after `head`) `step` at a time every `every`, until the
/// server answers; the answer and when it came. The sleeps pace the client.
fn trickle(
    s: &Site,
    head: &str,
    total: usize,
    step: usize,
    every: Duration,
) -> (Response, Duration) {
    let mut c = s.connect();
    let start = Instant::now();
    c.write(head.as_bytes());
    c.sock.set_read_timeout(Some(every)).unwrap();
    let mut sent = 0;
    let mut peek = [0u8; 1];
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "no answer after 8 s"
        );
        if sent < total {
            let n = step.min(total - sent);
            if c.try_write(&vec![b'b'; n]).is_err() {
                break;
            }
            sent += n;
        }
        match c.sock.peek(&mut peek) {
            Ok(_) => break,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("{e}"),
        }
    }
    let took = start.elapsed();
    c.sock.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    (c.read_response(false), took)
}

/// 500 bytes a second, never pausing for the 1 s `client_body_timeout`, is below the
/// 1 KiB/s minimum: cut off with 408 once the body is `1 s + received / 1 KiB/s` old
/// (about 2 s), not after the 20 s it would take.
#[test]
fn a_body_below_the_minimum_rate_gets_408() {
    let s = Site::new(&capped(16, RATE), &[("www/index.html", b"hi")]);
    std::fs::create_dir_all(s.path("www/up")).unwrap();
    let head = "PUT /up/t.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n";
    let (r, took) = trickle(&s, head, 10_000, 100, Duration::from_millis(200));
    assert_eq!(r.status, 408, "{}", r.text());
    assert!(r.closes());
    assert!(
        took >= Duration::from_millis(1500),
        "cut too early: {took:?}"
    );
    assert!(!s.path("www/up/t.txt").exists());
}

/// 2.5 KiB a second is above the minimum: the body completes.
#[test]
fn a_slow_body_above_the_minimum_rate_completes() {
    let s = Site::new(&capped(16, RATE), &[("www/index.html", b"hi")]);
    std::fs::create_dir_all(s.path("www/up")).unwrap();
    let head = "PUT /up/t.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n";
    let (r, took) = trickle(&s, head, 4000, 250, Duration::from_millis(100));
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(took >= Duration::from_millis(1400), "{took:?}");
    assert_eq!(
        std::fs::read(s.path("www/up/t.txt")).unwrap(),
        vec![b'b'; 4000]
    );
}

/// A body on its way to a CGI script keeps the same minimum rate (it is read before the
/// script starts): 408.
#[test]
fn a_cgi_body_below_the_minimum_rate_gets_408() {
    let s = Site::new(&capped(16, RATE), &[("www/index.html", b"hi")]);
    write_file(
        &s.path("www/cgi/read.py"),
        b"import sys\ndata = sys.stdin.buffer.read()\nsys.stdout.write('Content-Type: text/plain\\r\\n\\r\\nread %d' % len(data))\n",
    );
    let head = "POST /cgi/read.py HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n";
    let (r, took) = trickle(&s, head, 10_000, 100, Duration::from_millis(200));
    assert_eq!(r.status, 408, "{}", r.text());
    assert!(
        took >= Duration::from_millis(1500),
        "cut too early: {took:?}"
    );
}

/// A CGI body that does not come whole with the head is read first, then the script
/// starts: a slow client holds a connection, not a process.
#[test]
fn a_cgi_starts_only_once_a_slow_body_is_complete() {
    let s = Site::new(&capped(16, RATE), &[("www/index.html", b"hi")]);
    write_file(
        &s.path("www/cgi/when.py"),
        b"import sys, time\nstarted = time.time()\ndata = sys.stdin.buffer.read()\nsys.stdout.write('Content-Type: text/plain\\r\\n\\r\\n%f %d' % (started, len(data)))\n",
    );
    let mut c = s.connect();
    c.write(b"POST /cgi/when.py HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345");
    // Pacing the client: the rest of the body comes later.
    std::thread::sleep(Duration::from_millis(300));
    let last_byte = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    c.write(b"67890");
    let r = c.read_response(false);
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let (started, len) = text.split_once(' ').unwrap();
    assert_eq!(len, "10");
    let started: f64 = started.parse().unwrap();
    assert!(
        started >= last_byte,
        "the script started {:.3} s before the body was complete",
        last_byte - started
    );
}

/// `send_timeout` bounds a pause, as nginx's does, not the whole response: a client
/// that keeps reading a download that takes longer than it gets every byte.
#[test]
fn a_download_longer_than_send_timeout_arrives_whole_while_it_moves() {
    let big = random_bytes(16 << 20, 21);
    let s = Site::new(
        "send_timeout 1s;\nserver {\n    listen 127.0.0.1:8080;\n    root www;\n}\n",
        &[("www/big.bin", &big)],
    );
    // A small receive buffer, so that the server waits on this reader.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(64 * 1024).unwrap();
    sock.connect(&s.addr().into()).unwrap();
    let mut c: std::net::TcpStream = sock.into();
    std::io::Write::write_all(&mut c, b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("{e} after {} bytes", got.len()),
        }
        let head_end = find(&got, b"\r\n\r\n").map(|i| i + 4);
        if head_end.is_some_and(|h| got.len() - h >= big.len()) {
            break;
        }
        // About 6 MB/s: the download takes well over the 1 s send_timeout.
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = started.elapsed();
    let head_end = find(&got, b"\r\n\r\n").expect("a response head") + 4;
    assert!(got.starts_with(b"HTTP/1.1 200 "));
    assert_eq!(got.len() - head_end, big.len(), "cut after {took:?}");
    assert!(got[head_end..] == big[..]);
    assert!(
        took > Duration::from_millis(1500),
        "too fast to test anything: {took:?}"
    );
}
