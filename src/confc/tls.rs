//! Certificates for `listen ... ssl`: reading the PEM files named by `ssl_certificate` and
//! `ssl_certificate_key` into what rustls serves, and everything `check` says about them
//! (unreadable, not PEM, key and certificate that do not belong together, expiry, chain
//! order, names not covered). The crypto provider is chosen here, once, for the compiler
//! (which loads the keys) and the server (which handshakes with them).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use super::diag::{Code, Diag, Diags};
use super::model::ServerName;
use super::source::Span;

/// The crypto webserv's TLS runs on: aws-lc-rs, rustls' default key exchange groups, and
/// its cipher suites with AES-128-GCM first (the server's order is used: see
/// `server::tls`). AES-128-GCM's TLS 1.3 key schedule runs on SHA-256, which CPUs
/// accelerate (SHA extensions) where they do not accelerate AES-256-GCM's SHA-384: a
/// handshake costs about a third less, and bulk encryption is cheaper too.
pub fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| {
        use rustls::crypto::aws_lc_rs::cipher_suite::*;
        let mut p = rustls::crypto::aws_lc_rs::default_provider();
        p.cipher_suites = vec![
            TLS13_AES_128_GCM_SHA256,
            TLS13_AES_256_GCM_SHA384,
            TLS13_CHACHA20_POLY1305_SHA256,
            TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ];
        Arc::new(p)
    })
    .clone()
}

/// A loaded certificate chain and its key: what a server's `ssl` listens present.
pub struct Certificate {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// The chain (leaf first) and the signing key, as rustls serves them.
    pub key: Arc<CertifiedKey>,
    /// The leaf's subject, e.g. `CN=example.com`.
    pub subject: String,
    /// The leaf's DNS names (subject alternative names), as written in it.
    pub names: Vec<String>,
    /// The leaf's validity, in seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
}

/// The key is left out: a table printed for debugging shows where it came from only.
impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("subject", &self.subject)
            .field("names", &self.names)
            .field("not_after", &self.not_after)
            .finish()
    }
}

impl Certificate {
    /// Whether the certificate covers a server name: `Some(false)` when a client asking
    /// for that name would refuse it, `None` when the name cannot be checked (a regex,
    /// `mail.*`, the empty name).
    pub fn covers(&self, name: &ServerName) -> Option<bool> {
        let has = |host: &str| self.names.iter().any(|n| dns_match(n, host));
        match name {
            ServerName::Exact(h) if h.is_empty() => None,
            ServerName::Exact(h) => Some(has(h)),
            // `*.example.com` needs a wildcard SAN for the same parent; `.example.com`
            // also the bare name.
            ServerName::Leading { suffix, bare_too } => {
                let wild = format!("*{suffix}");
                let wildcard = self.names.iter().any(|n| n.eq_ignore_ascii_case(&wild));
                Some(wildcard && (!bare_too || has(&suffix[1..])))
            }
            ServerName::Trailing(_) | ServerName::Regex(_) => None,
        }
    }

    /// `until 2031-01-01 00:00 UTC`, for `routes`.
    pub fn validity(&self) -> String {
        format!(
            "valid {} to {}",
            fmt_time(self.not_before),
            fmt_time(self.not_after)
        )
    }
}

/// RFC 6125 matching of one DNS name of a certificate against a host: case-insensitive,
/// a `*` standing for exactly one whole leftmost label.
fn dns_match(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(parent) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(parent)),
        None => pattern.eq_ignore_ascii_case(host),
    }
}

/// Seconds since the epoch as `2031-01-01 00:00 UTC`.
pub fn fmt_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A file named by a directive: its resolved path and the directive's span.
#[derive(Clone, Copy)]
pub struct Named<'a> {
    pub path: &'a Path,
    pub span: Span,
}

/// Certificates that expire within this many days get a warning.
pub const SOON_DAYS: i64 = 14;

/// Reads and checks a certificate chain and its key. Every problem is a diagnostic on
/// the directive that names the file; `None` when they cannot be served.
pub fn load(cert: Named, key: Named, now: i64, diags: &mut Diags) -> Option<Certificate> {
    let chain = read_chain(cert, diags);
    let secret = read_key(key, diags);
    let (chain, secret) = (chain?, secret?);
    let parsed = parse_chain(cert, &chain, diags)?;
    let certified = match CertifiedKey::from_der(chain.clone(), secret.clone_key(), &provider()) {
        Ok(k) => k,
        Err(rustls::Error::InconsistentKeys(_)) => {
            diags.push(mismatch(cert, key, &chain, &secret));
            return None;
        }
        Err(e) => {
            diags.push(
                Diag::new(
                    Code::BadPem,
                    key.span,
                    format!("the private key in `{}` cannot be used", key.path.display()),
                )
                .label(e.to_string())
                .help("TLS signs with RSA (2048 bits or more), ECDSA P-256/P-384 or Ed25519 keys"),
            );
            return None;
        }
    };
    validity(cert, &parsed, now, diags);
    order(cert, &parsed, diags);
    let leaf = &parsed[0];
    Some(Certificate {
        cert_file: cert.path.to_path_buf(),
        key_file: key.path.to_path_buf(),
        key: Arc::new(certified),
        subject: leaf.subject.clone(),
        names: leaf.names.clone(),
        not_before: leaf.not_before,
        not_after: leaf.not_after,
    })
}

/// What `check` reads from each certificate of a chain.
struct Parsed {
    subject: String,
    subject_der: Vec<u8>,
    issuer_der: Vec<u8>,
    names: Vec<String>,
    not_before: i64,
    not_after: i64,
}

/// Certificate and key files larger than this are refused (a chain is a few KiB).
const MAX_PEM: u64 = 1 << 20;

/// A regular file of at most [`MAX_PEM`] bytes: never a device, a FIFO (whose open
/// would wait for a writer) or anything that does not end.
fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(ErrorKind::IsADirectory.into());
    }
    if !meta.is_file() {
        return Err(Error::other("not a regular file"));
    }
    if meta.len() > MAX_PEM {
        return Err(Error::other("larger than 1 MiB"));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)?
        .take(MAX_PEM)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn read(file: Named, what: &str, diags: &mut Diags) -> Option<Vec<u8>> {
    match read_regular(file.path) {
        Ok(b) => Some(b),
        Err(e) => {
            let reason = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                std::io::ErrorKind::IsADirectory => "a directory".to_string(),
                _ => e.to_string(),
            };
            diags.push(
                Diag::new(
                    Code::CertUnreadable,
                    file.span,
                    format!("cannot read {what} `{}`", file.path.display()),
                )
                .label(reason)
                .help("relative paths start at the directory of this config file; the server reads the file at start and on reload"),
            );
            None
        }
    }
}

/// The PEM sections of a file, or a diagnostic when it is not PEM at all.
fn sections(file: Named, bytes: &[u8], diags: &mut Diags) -> Option<Vec<(SectionKind, Vec<u8>)>> {
    let mut out = Vec::new();
    for s in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        match s {
            Ok(s) => out.push(s),
            Err(e) => {
                diags.push(
                    Diag::new(
                        Code::BadPem,
                        file.span,
                        format!("`{}` is not a valid PEM file", file.path.display()),
                    )
                    .label(pem_error(&e))
                    .help("a PEM file holds `-----BEGIN ...-----` / `-----END ...-----` blocks of base64"),
                );
                return None;
            }
        }
    }
    Some(out)
}

fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { end_marker } => format!(
            "no `-----END {}-----` line",
            String::from_utf8_lossy(end_marker)
        ),
        Error::IllegalSectionStart { .. } => "a malformed `-----BEGIN` line".into(),
        Error::Base64Decode(_) => "a block's base64 does not decode".into(),
        e => e.to_string(),
    }
}

/// What a file without the wanted sections holds instead, as a label and a help.
fn instead(bytes: &[u8], sections: &[(SectionKind, Vec<u8>)], want: &str) -> (String, String) {
    let has = |k: &[SectionKind]| sections.iter().any(|(s, _)| k.contains(s));
    let text = String::from_utf8_lossy(bytes);
    if has(&[
        SectionKind::PrivateKey,
        SectionKind::RsaPrivateKey,
        SectionKind::EcPrivateKey,
    ]) {
        (
            "it holds a private key".into(),
            "are `ssl_certificate` and `ssl_certificate_key` swapped?".into(),
        )
    } else if has(&[SectionKind::Certificate]) {
        (
            "it holds a certificate".into(),
            "are `ssl_certificate` and `ssl_certificate_key` swapped?".into(),
        )
    } else if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        (
            "the key is encrypted".into(),
            "the server cannot ask for a passphrase: decrypt it (`openssl pkey -in enc.pem -out key.pem`)".into(),
        )
    } else if !text.contains("-----BEGIN ") {
        let der = bytes.first() == Some(&0x30);
        (
            "no `-----BEGIN` line: this is not PEM".into(),
            if der {
                "it looks like binary DER: convert it (`openssl x509 -inform der -in cert.der -out cert.pem`)".into()
            } else {
                format!("give a PEM file that holds {want}")
            },
        )
    } else {
        (
            format!("no {want} among its PEM blocks"),
            format!("give a PEM file that holds {want}"),
        )
    }
}

fn read_chain(cert: Named, diags: &mut Diags) -> Option<Vec<CertificateDer<'static>>> {
    let bytes = read(cert, "certificate", diags)?;
    let sections = sections(cert, &bytes, diags)?;
    let chain: Vec<CertificateDer<'static>> = sections
        .iter()
        .filter(|(k, _)| *k == SectionKind::Certificate)
        .map(|(_, der)| CertificateDer::from(der.clone()))
        .collect();
    if chain.is_empty() {
        let (label, help) = instead(&bytes, &sections, "a `CERTIFICATE` block");
        diags.push(
            Diag::new(
                Code::BadPem,
                cert.span,
                format!("`{}` holds no certificate", cert.path.display()),
            )
            .label(label)
            .help(help),
        );
        return None;
    }
    Some(chain)
}

fn read_key(key: Named, diags: &mut Diags) -> Option<PrivateKeyDer<'static>> {
    let bytes = read(key, "private key", diags)?;
    let sections = sections(key, &bytes, diags)?;
    let found = sections
        .into_iter()
        .find_map(|(k, der)| PrivateKeyDer::from_pem(k, der));
    if found.is_none() {
        let all = sections_again(&bytes);
        let (label, help) = instead(&bytes, &all, "a private key");
        diags.push(
            Diag::new(
                Code::BadPem,
                key.span,
                format!("`{}` holds no private key", key.path.display()),
            )
            .label(label)
            .help(help),
        );
    }
    found
}

/// The sections of bytes already known to be valid PEM.
fn sections_again(bytes: &[u8]) -> Vec<(SectionKind, Vec<u8>)> {
    <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes)
        .filter_map(Result::ok)
        .collect()
}

fn parse_chain(
    cert: Named,
    chain: &[CertificateDer<'static>],
    diags: &mut Diags,
) -> Option<Vec<Parsed>> {
    let mut out = Vec::with_capacity(chain.len());
    for (i, der) in chain.iter().enumerate() {
        match x509_parser::parse_x509_certificate(der) {
            Ok((_, c)) => out.push(Parsed {
                subject: c.subject().to_string(),
                subject_der: c.subject().as_raw().to_vec(),
                issuer_der: c.issuer().as_raw().to_vec(),
                names: dns_names(&c),
                not_before: c.validity().not_before.timestamp(),
                not_after: c.validity().not_after.timestamp(),
            }),
            Err(e) => {
                diags.push(
                    Diag::new(
                        Code::BadPem,
                        cert.span,
                        format!(
                            "certificate #{} in `{}` cannot be parsed",
                            i + 1,
                            cert.path.display()
                        ),
                    )
                    .label(e.to_string())
                    .help("the `CERTIFICATE` blocks must hold X.509 certificates"),
                );
                return None;
            }
        }
    }
    Some(out)
}

fn dns_names(c: &x509_parser::certificate::X509Certificate) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    match c.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(d.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The key belongs to another certificate: say which, if it is one of the chain.
fn mismatch(
    cert: Named,
    key: Named,
    chain: &[CertificateDer<'static>],
    secret: &PrivateKeyDer<'static>,
) -> Diag {
    let d = Diag::new(
        Code::KeyMismatch,
        key.span,
        format!(
            "the key in `{}` does not belong to the certificate in `{}`",
            key.path.display(),
            cert.path.display()
        ),
    )
    .label("not this certificate's key")
    .with(cert.span, "the certificate");
    let owner = (1..chain.len()).find(|&i| {
        CertifiedKey::from_der(chain[i..].to_vec(), secret.clone_key(), &provider()).is_ok()
    });
    match owner {
        Some(i) => d.help(format!(
            "the key belongs to certificate #{} of the file: the server's own certificate must come first, then its issuers",
            i + 1
        )),
        None => d.help("name the key that was generated with this certificate (or the certificate issued for this key)"),
    }
}

/// Each certificate of the chain inside its validity period, and not about to leave it.
fn validity(cert: Named, chain: &[Parsed], now: i64, diags: &mut Diags) {
    for (i, c) in chain.iter().enumerate() {
        let which = if i == 0 {
            format!("the certificate in `{}`", cert.path.display())
        } else {
            format!(
                "certificate #{} ({}) in `{}`",
                i + 1,
                c.subject,
                cert.path.display()
            )
        };
        let (code, message, label) = if now >= c.not_after {
            (
                Code::CertExpired,
                format!("{which} expired on {}", fmt_time(c.not_after)),
                "expired: clients refuse it",
            )
        } else if now < c.not_before {
            (
                Code::CertExpired,
                format!("{which} is not valid until {}", fmt_time(c.not_before)),
                "not valid yet: clients refuse it",
            )
        } else if c.not_after - now < SOON_DAYS * 86_400 {
            let days = (c.not_after - now) / 86_400;
            (
                Code::CertExpiresSoon,
                format!(
                    "{which} expires on {}, in {}",
                    fmt_time(c.not_after),
                    match days {
                        0 => "less than a day".to_string(),
                        1 => "1 day".to_string(),
                        n => format!("{n} days"),
                    }
                ),
                "expires soon",
            )
        } else {
            continue;
        };
        diags.push(
            Diag::new(code, cert.span, message)
                .label(label)
                .help("renew it and reload (SIGHUP): the server reads the files again"),
        );
    }
}

/// Each certificate after the first should be the issuer of the one before it.
fn order(cert: Named, chain: &[Parsed], diags: &mut Diags) {
    for (i, pair) in chain.windows(2).enumerate() {
        if pair[0].issuer_der != pair[1].subject_der {
            diags.push(
                Diag::new(
                    Code::ChainOrder,
                    cert.span,
                    format!(
                        "the chain in `{}` is out of order",
                        cert.path.display()
                    ),
                )
                .label(format!(
                    "certificate #{} ({}) did not issue certificate #{} ({})",
                    i + 2,
                    pair[1].subject,
                    i + 1,
                    pair[0].subject
                ))
                .help("put the server's certificate first, then the certificate that issued it, and so on up the chain"),
            );
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_regular_files_are_read() {
        let err = |p: &str| read_regular(Path::new(p)).unwrap_err().to_string();
        assert_eq!(err("/dev/zero"), "not a regular file");
        let big = std::env::temp_dir().join(format!("webserv-big-{}.pem", std::process::id()));
        std::fs::write(&big, vec![b'a'; (MAX_PEM + 1) as usize]).unwrap();
        let e = read_regular(&big).unwrap_err().to_string();
        std::fs::remove_file(&big).unwrap();
        assert_eq!(e, "larger than 1 MiB");
    }

    #[test]
    fn dates() {
        assert_eq!(fmt_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(fmt_time(951_782_400 + 3_660), "2000-02-29 01:01 UTC");
        assert_eq!(fmt_time(1_924_992_000), "2031-01-01 00:00 UTC");
        assert_eq!(fmt_time(-86_400), "1969-12-31 00:00 UTC");
    }

    #[test]
    fn dns_names_match_as_clients_do() {
        assert!(dns_match("a.example", "A.Example"));
        assert!(dns_match("*.example", "www.example"));
        assert!(!dns_match("*.example", "example"));
        assert!(!dns_match("*.example", "a.b.example"));
        assert!(!dns_match("*.example", ".example"));
        assert!(!dns_match("a.example", "b.example"));
    }
}
