//! Test certificates, made at test time (no private key is committed): a test CA, an
//! intermediate, and leaves with chosen names and validity, as PEM text.

#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};

/// A date as (year, month, day), midnight UTC.
pub type Ymd = (i32, u8, u8);

/// Validity wide enough for any test run.
pub const ALWAYS: (Ymd, Ymd) = ((2020, 1, 1), (2090, 1, 1));

/// A certificate authority that signs leaves (and intermediates).
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A leaf: its certificate (PEM) and its private key (PKCS#8 PEM).
pub struct Leaf {
    pub cert: String,
    pub key: String,
    pub key_pair: KeyPair,
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str, validity: (Ymd, Ymd)) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    set_validity(&mut p, validity);
    p
}

fn set_validity(p: &mut CertificateParams, (from, to): (Ymd, Ymd)) {
    p.not_before = date_time_ymd(from.0, from.1, from.2);
    p.not_after = date_time_ymd(to.0, to.1, to.2);
}

impl Ca {
    /// A self-signed root.
    pub fn new(cn: &str) -> Ca {
        let key = KeyPair::generate().expect("key");
        Ca {
            issuer: CertifiedIssuer::self_signed(ca_params(cn, ALWAYS), key).expect("CA"),
        }
    }

    /// An intermediate CA signed by this one, valid over `validity`.
    pub fn intermediate(&self, cn: &str, validity: (Ymd, Ymd)) -> Ca {
        let key = KeyPair::generate().expect("key");
        Ca {
            issuer: CertifiedIssuer::signed_by(ca_params(cn, validity), key, &self.issuer)
                .expect("intermediate"),
        }
    }

    /// This CA's certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf for `names` (the first is also its CN), ECDSA P-256.
    pub fn leaf(&self, names: &[&str], validity: (Ymd, Ymd)) -> Leaf {
        self.leaf_with(KeyPair::generate().expect("key"), names, validity)
    }

    /// A leaf with a given key pair.
    pub fn leaf_with(&self, key_pair: KeyPair, names: &[&str], validity: (Ymd, Ymd)) -> Leaf {
        let mut p = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("names");
        p.distinguished_name = dn(names.first().copied().unwrap_or("no name"));
        set_validity(&mut p, validity);
        let cert = p.signed_by(&key_pair, &self.issuer).expect("leaf");
        Leaf {
            cert: cert.pem(),
            key: key_pair.serialize_pem(),
            key_pair,
        }
    }
}

/// An RSA 2048 key pair (its PKCS#8 PEM from `serialize_pem`).
pub fn rsa_key() -> KeyPair {
    KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).expect("rsa")
}

/// PEM text of one block.
pub fn pem(label: &str, der: &[u8]) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in base64(der).as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("ascii"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One DER element at the start of `der`: (tag, header length, content length).
fn tlv(der: &[u8]) -> (u8, usize, usize) {
    let tag = der[0];
    let first = der[1] as usize;
    if first < 0x80 {
        return (tag, 2, first);
    }
    let n = first & 0x7f;
    let len = der[2..2 + n]
        .iter()
        .fold(0usize, |a, b| (a << 8) | *b as usize);
    (tag, 2 + n, len)
}

/// The `privateKey` OCTET STRING's contents of a PKCS#8 `PrivateKeyInfo`: an RSA key's
/// PKCS#1 `RSAPrivateKey`.
pub fn pkcs8_inner(pkcs8: &[u8]) -> Vec<u8> {
    let (_, h, _) = tlv(pkcs8);
    let mut rest = &pkcs8[h..];
    // version, algorithm, then the private key.
    for _ in 0..2 {
        let (_, h, l) = tlv(rest);
        rest = &rest[h + l..];
    }
    let (tag, h, l) = tlv(rest);
    assert_eq!(tag, 0x04, "an OCTET STRING");
    rest[h..h + l].to_vec()
}

/// An RSA key as PKCS#1 PEM (`RSA PRIVATE KEY`).
pub fn pkcs1_pem(key: &KeyPair) -> String {
    pem("RSA PRIVATE KEY", &pkcs8_inner(key.serialized_der()))
}

/// An ECDSA P-256 key as SEC1 PEM (`EC PRIVATE KEY`), with the curve named as OpenSSL
/// writes it.
pub fn sec1_pem(key: &KeyPair) -> String {
    let inner = pkcs8_inner(key.serialized_der());
    // ECPrivateKey ::= SEQUENCE { version, privateKey, [0] parameters OPTIONAL,
    // [1] publicKey OPTIONAL }: put the curve in if PKCS#8 left it out.
    let (_, h, _) = tlv(&inner);
    let body = &inner[h..];
    let (_, vh, vl) = tlv(body);
    let (_, kh, kl) = tlv(&body[vh + vl..]);
    let split = vh + vl + kh + kl;
    let mut content = body[..split].to_vec();
    let rest = &body[split..];
    if rest.first() != Some(&0xa0) {
        // [0] { OID prime256v1 }
        content.extend_from_slice(&[
            0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
        ]);
    }
    content.extend_from_slice(rest);
    let mut der = vec![0x30];
    if content.len() < 0x80 {
        der.push(content.len() as u8);
    } else {
        der.extend_from_slice(&[0x81, content.len() as u8]);
    }
    der.extend_from_slice(&content);
    pem("EC PRIVATE KEY", &der)
}
