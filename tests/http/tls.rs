//! HTTPS: real TLS handshakes with a rustls client against `listen ... ssl`, with
//! certificates made by a test CA when the test runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, HandshakeKind, ProtocolVersion, RootCertStore};

use crate::certs::{ALWAYS, Ca, Leaf};
use crate::common::*;

/// A CA and the files of two leaves: `a.pem`/`a.key` for `a.test`, `b.pem`/`b.key`
/// for `b.test` and 127.0.0.1 (a client that sends no SNI checks the IP).
struct Pki {
    ca: Ca,
    a: Leaf,
    b: Leaf,
}

impl Pki {
    fn new() -> Pki {
        let ca = Ca::new("webserv test CA");
        let a = ca.leaf(&["a.test"], ALWAYS);
        let b = ca.leaf(&["b.test", "127.0.0.1"], ALWAYS);
        Pki { ca, a, b }
    }

    fn files(&self) -> Vec<(String, Vec<u8>)> {
        vec![
            ("a.pem".into(), self.a.cert.clone().into_bytes()),
            ("a.key".into(), self.a.key.clone().into_bytes()),
            ("b.pem".into(), self.b.cert.clone().into_bytes()),
            ("b.key".into(), self.b.key.clone().into_bytes()),
        ]
    }

    /// A client that trusts the test CA, speaking only `versions`.
    fn client(&self, versions: &[&'static rustls::SupportedProtocolVersion]) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(self.ca.pem().as_bytes()).unwrap())
            .unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        Arc::new(
            ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(versions)
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    fn any_version(&self) -> Arc<ClientConfig> {
        self.client(rustls::ALL_VERSIONS)
    }
}

/// Two HTTPS servers on one port (b is the default), each with its own page.
const TWO_NAMES: &str = "
client_header_timeout 1s;
server {
    listen 8443 ssl;
    server_name a.test;
    ssl_certificate a.pem;
    ssl_certificate_key a.key;
    root www/a;
}
server {
    listen 8443 ssl default_server;
    server_name b.test;
    ssl_certificate b.pem;
    ssl_certificate_key b.key;
    root www/b;
    location = /scheme {
        return 200 \"$scheme\";
    }
}
";

fn site(pki: &Pki, config: &str, extra: &[(&str, &[u8])]) -> Site {
    let owned = pki.files();
    let mut files: Vec<(&str, &[u8])> = owned
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    files.push(("www/a/index.html", b"site a\n"));
    files.push(("www/b/index.html", b"site b\n"));
    files.extend_from_slice(extra);
    Site::new(config, &files)
}

fn get(c: &mut Client, host: &str, path: &str) -> Response {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    c.write(req.as_bytes());
    c.read_response(false)
}

/// The leaf certificate the server presented.
fn presented(c: &Client) -> Vec<u8> {
    let tls = c.tls.as_ref().expect("a TLS client");
    tls.peer_certificates().expect("a certificate")[0].to_vec()
}

fn der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

#[test]
fn tls13_and_tls12_serve_the_same_page() {
    let pki = Pki::new();
    let s = site(&pki, TWO_NAMES, &[]);
    let addr = s.addr_of(8443);
    for (v, want) in [
        (&rustls::version::TLS13, ProtocolVersion::TLSv1_3),
        (&rustls::version::TLS12, ProtocolVersion::TLSv1_2),
    ] {
        let mut c = Client::connect_tls(addr, &pki.client(&[v]), "a.test");
        assert_eq!(c.tls.as_ref().unwrap().protocol_version(), Some(want));
        assert_eq!(
            c.tls.as_ref().unwrap().alpn_protocol(),
            None,
            "no ALPN offered, none chosen"
        );
        let r = get(&mut c, "a.test", "/");
        assert_eq!((r.status, r.text().as_str()), (200, "site a\n"));
    }
}

#[test]
fn sni_picks_each_servers_certificate_and_no_sni_gets_the_default() {
    let pki = Pki::new();
    let s = site(&pki, TWO_NAMES, &[]);
    let addr = s.addr_of(8443);
    let config = pki.any_version();
    let mut a = Client::connect_tls(addr, &config, "a.test");
    assert!(presented(&a) == der(&pki.a.cert), "a.test's certificate");
    assert_eq!(get(&mut a, "a.test", "/").text(), "site a\n");
    let mut b = Client::connect_tls(addr, &config, "b.test");
    assert!(presented(&b) == der(&pki.b.cert), "b.test's certificate");
    assert_eq!(get(&mut b, "b.test", "/").text(), "site b\n");
    // An IP address is never sent as SNI: the default server's certificate.
    let mut none = Client::connect_tls(addr, &config, "127.0.0.1");
    assert!(presented(&none) == der(&pki.b.cert), "the default server's");
    // ... and `$scheme` says how the request came.
    assert_eq!(get(&mut none, "b.test", "/scheme").text(), "https");
}

#[test]
fn alpn_chooses_http_1_1() {
    let pki = Pki::new();
    let s = site(&pki, TWO_NAMES, &[]);
    let mut config = (*pki.any_version()).clone();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut c = Client::connect_tls(s.addr_of(8443), &Arc::new(config), "a.test");
    assert_eq!(
        c.tls.as_ref().unwrap().alpn_protocol(),
        Some(&b"http/1.1"[..])
    );
    assert_eq!(get(&mut c, "a.test", "/").status, 200);
}

#[test]
fn ten_megabytes_arrive_intact_over_tls() {
    let pki = Pki::new();
    let big = random_bytes(10 << 20, 15);
    let s = site(&pki, TWO_NAMES, &[("www/a/big.bin", &big)]);
    let mut c = Client::connect_tls(s.addr_of(8443), &pki.any_version(), "a.test");
    let r = get(&mut c, "a.test", "/big.bin");
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-length"), (10 << 20).to_string());
    assert!(r.body == big, "the body differs from the file");
    // The connection goes on after a large body.
    assert_eq!(get(&mut c, "a.test", "/").text(), "site a\n");
}

/// A file too large to keep compressed goes through gzip as it is sent over TLS too
/// (read into the write buffer piece by piece, each piece's records out before the next).
#[test]
fn a_large_file_is_gzip_streamed_over_tls() {
    let pki = Pki::new();
    let text = b"all work and no play makes jack a dull boy\n".repeat(220_000);
    assert!(text.len() as u64 > 8 << 20);
    let config = TWO_NAMES.replace(
        "root www/a;",
        "root www/a;\n    gzip on;\n    gzip_types text/plain;",
    );
    let s = site(&pki, &config, &[("www/a/big.txt", &text)]);
    let mut c = Client::connect_tls(s.addr_of(8443), &pki.any_version(), "a.test");
    let req = "GET /big.txt HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: gzip\r\n\r\n";
    c.write(req.as_bytes());
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.h("content-encoding"), "gzip");
    assert_eq!(r.h("transfer-encoding"), "chunked");
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut back).unwrap();
    assert!(back == text, "the decompressed body differs from the file");
    assert_eq!(get(&mut c, "a.test", "/").text(), "site a\n");
}

#[test]
fn keep_alive_and_pipelining_over_tls() {
    let pki = Pki::new();
    let s = site(&pki, TWO_NAMES, &[]);
    let mut c = Client::connect_tls(s.addr_of(8443), &pki.any_version(), "a.test");
    let one = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
    c.write(one.repeat(3).as_bytes());
    for _ in 0..3 {
        let r = c.read_response(false);
        assert_eq!((r.status, r.text().as_str()), (200, "site a\n"));
        assert!(!r.closes());
    }
    c.write(b"GET /missing HTTP/1.1\r\nHost: a.test\r\n\r\n");
    assert_eq!(c.read_response(false).status, 404);
    c.write(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n");
    assert!(c.read_response(false).closes());
    c.assert_closed();
}

#[test]
fn plain_http_to_the_tls_port_gets_400_and_the_server_goes_on() {
    let pki = Pki::new();
    let s = site(&pki, TWO_NAMES, &[]);
    let addr = s.addr_of(8443);
    let mut raw = Client::connect(addr);
    raw.write(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    let r = raw.read_response(false);
    assert_eq!(r.status, 400);
    assert!(r.closes());
    assert!(
        r.text()
            .contains("The plain HTTP request was sent to an HTTPS port."),
        "{}",
        r.text()
    );
    raw.assert_closed();
    let mut c = Client::connect_tls(addr, &pki.any_version(), "a.test");
    assert_eq!(get(&mut c, "a.test", "/").status, 200);
}

#[test]
fn a_stalled_handshake_is_cut_off_by_client_header_timeout() {
    let pki = Pki::new();
    let s = site(&pki, TWO_NAMES, &[]);
    let addr = s.addr_of(8443);
    // The first bytes of a ClientHello: a handshake record of 512 bytes, 5 sent.
    let mut half = Client::connect(addr);
    half.write(&[
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ]);
    let took = half
        .wait_closed(Duration::from_secs(3))
        .expect("a stalled handshake is closed by client_header_timeout (1s)");
    assert!(took >= Duration::from_millis(900), "closed after {took:?}");
    // Meanwhile and after, others are served.
    let mut c = Client::connect_tls(addr, &pki.any_version(), "a.test");
    assert_eq!(get(&mut c, "a.test", "/").status, 200);
}

/// TLS 1.3 resumes by ticket (`ssl_session_tickets on`, the default); TLS 1.2 with
/// tickets off resumes by session id from the server's cache.
#[test]
fn sessions_resume() {
    let pki = Pki::new();
    let s = site(&pki, TWO_NAMES, &[]);
    let no_tickets = TWO_NAMES.replace("client_header_timeout 1s;", "ssl_session_tickets off;");
    let s12 = site(&pki, &no_tickets, &[]);
    for (addr, v) in [
        (s.addr_of(8443), &rustls::version::TLS13),
        (s12.addr_of(8443), &rustls::version::TLS12),
    ] {
        let config = pki.client(&[v]);
        let mut first = Client::connect_tls(addr, &config, "a.test");
        assert_eq!(
            first.tls.as_ref().unwrap().handshake_kind(),
            Some(HandshakeKind::Full)
        );
        if v == &rustls::version::TLS13 {
            // The ticket comes right after the handshake, before any request: it also
            // acknowledges the client's Finished (a client with Nagle's algorithm on
            // would otherwise wait for a delayed ACK before sending its request).
            let tls = first.tls.as_mut().unwrap();
            tls.complete_io(&mut first.sock)
                .expect("a session ticket without asking");
        }
        let mut again = Client::connect_tls(addr, &config, "a.test");
        assert_eq!(
            again.tls.as_ref().unwrap().handshake_kind(),
            Some(HandshakeKind::Resumed),
            "{v:?}"
        );
        assert_eq!(get(&mut again, "a.test", "/").text(), "site a\n");
    }
}

#[test]
fn only_the_configured_protocol_is_spoken() {
    let pki = Pki::new();
    let s = site(
        &pki,
        &TWO_NAMES.replace("client_header_timeout 1s;", "ssl_protocols TLSv1.3;"),
        &[],
    );
    let addr: SocketAddr = s.addr_of(8443);
    let mut c = Client::connect(addr);
    let name = rustls::pki_types::ServerName::try_from("a.test").unwrap();
    let mut tls =
        rustls::ClientConnection::new(pki.client(&[&rustls::version::TLS12]), name).unwrap();
    let mut failed = false;
    for _ in 0..10 {
        if tls.complete_io(&mut c.sock).is_err() {
            failed = true;
            break;
        }
        if !tls.is_handshaking() {
            break;
        }
    }
    assert!(
        failed,
        "a TLS 1.2 client was served by a TLSv1.3-only server"
    );
}

/// A reload (what SIGHUP does) with new certificate files: new handshakes get the new
/// certificate, a connection opened before keeps working.
#[test]
fn reload_rotates_the_certificate_and_keeps_open_connections() {
    let pki = Pki::new();
    let s = site(&pki, TWO_NAMES, &[]);
    let addr = s.addr_of(8443);
    let config = pki.any_version();
    let mut kept = Client::connect_tls(addr, &config, "a.test");
    assert_eq!(get(&mut kept, "a.test", "/").status, 200);

    let renewed = pki.ca.leaf(&["a.test"], ALWAYS);
    write_file(&s.path("a.pem"), renewed.cert.as_bytes());
    write_file(&s.path("a.key"), renewed.key.as_bytes());
    s.reload(TWO_NAMES);

    // A new client (one with a session to resume would not be sent a certificate). The
    // worker takes the new table at its next wake-up: wait for it, as for any reload.
    let renewed_seen = wait_until(Duration::from_secs(5), || {
        let fresh = Client::connect_tls(addr, &pki.any_version(), "a.test");
        presented(&fresh) == der(&renewed.cert)
    });
    assert!(renewed_seen, "the new certificate");
    assert!(presented(&kept) == der(&pki.a.cert), "the old one, kept");
    let r = get(&mut kept, "a.test", "/");
    assert_eq!((r.status, r.text().as_str()), (200, "site a\n"));
}

/// A CGI script learns that the request came over TLS (`HTTPS=on`,
/// `REQUEST_SCHEME=https`), as from nginx's fastcgi_params.
#[test]
fn cgi_sees_https() {
    let pki = Pki::new();
    let config = TWO_NAMES.replace(
        "root www/a;",
        "root www/a;\n    location /cgi/ {\n        cgi .sh;\n    }",
    );
    let env = b"#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nenv\n";
    let s = site(&pki, &config, &[]);
    let path = s.path("www/a/cgi/env.sh");
    write_file(&path, env);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = Client::connect_tls(s.addr_of(8443), &pki.any_version(), "a.test");
    let r = get(&mut c, "a.test", "/cgi/env.sh");
    assert_eq!(r.status, 200, "{}", r.text());
    let lines: Vec<String> = r.text().lines().map(str::to_string).collect();
    assert!(lines.contains(&"HTTPS=on".to_string()), "{lines:?}");
    assert!(
        lines.contains(&"REQUEST_SCHEME=https".to_string()),
        "{lines:?}"
    );
}

/// Request bodies arrive through TLS too: a 3 MB PUT (many records, the read buffer
/// full while rustls still holds plaintext) is stored intact, chunked as well, and the
/// connection goes on.
#[test]
fn a_large_upload_over_tls_is_stored_intact() {
    let pki = Pki::new();
    let config = TWO_NAMES.replace(
        "root www/a;",
        "root www/a;\n    location /up/ {\n        upload_store www/a/up;\n        allow_methods GET PUT;\n        client_max_body_size 8m;\n    }",
    );
    let s = site(&pki, &config, &[("www/a/up/.keep", b"")]);
    let body = random_bytes(3 << 20, 7);
    let mut c = Client::connect_tls(s.addr_of(8443), &pki.any_version(), "a.test");
    let head = format!(
        "PUT /up/big.bin HTTP/1.1\r\nHost: a.test\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    c.write(head.as_bytes());
    c.write(&body);
    let r = c.read_response(false);
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(std::fs::read(s.path("www/a/up/big.bin")).unwrap() == body);
    // The same bytes chunked, in 100 KiB chunks.
    c.write(b"PUT /up/chunked.bin HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n");
    for piece in body.chunks(100 << 10) {
        c.write(format!("{:x}\r\n", piece.len()).as_bytes());
        c.write(piece);
        c.write(b"\r\n");
    }
    c.write(b"0\r\n\r\n");
    assert_eq!(c.read_response(false).status, 201);
    assert!(std::fs::read(s.path("www/a/up/chunked.bin")).unwrap() == body);
    let r = get(&mut c, "a.test", "/up/big.bin");
    assert!(
        r.status == 200 && r.body == body,
        "the stored file, served back"
    );
}

/// `ssl_session_timeout`: a session older than it is not resumed (a full handshake),
/// whether by ticket (TLS 1.3) or from the cache (TLS 1.2, tickets off).
#[test]
fn sessions_expire_after_ssl_session_timeout() {
    let pki = Pki::new();
    let short = TWO_NAMES.replace("client_header_timeout 1s;", "ssl_session_timeout 1s;");
    let s = site(&pki, &short, &[]);
    let no_tickets = short.replace(
        "ssl_session_timeout 1s;",
        "ssl_session_timeout 1s;\nssl_session_tickets off;",
    );
    let s12 = site(&pki, &no_tickets, &[]);
    let mut waiting = Vec::new();
    for (addr, v) in [
        (s.addr_of(8443), &rustls::version::TLS13),
        (s12.addr_of(8443), &rustls::version::TLS12),
    ] {
        let config = pki.client(&[v]);
        let mut first = Client::connect_tls(addr, &config, "a.test");
        assert_eq!(get(&mut first, "a.test", "/").status, 200);
        waiting.push((addr, config));
    }
    // Sessions are stamped in whole seconds: two seconds is past any 1 s timeout.
    std::thread::sleep(Duration::from_millis(2100));
    for (addr, config) in waiting {
        let mut again = Client::connect_tls(addr, &config, "a.test");
        assert_eq!(
            again.tls.as_ref().unwrap().handshake_kind(),
            Some(HandshakeKind::Full),
            "an expired session was resumed"
        );
        assert_eq!(get(&mut again, "a.test", "/").status, 200);
    }
}
