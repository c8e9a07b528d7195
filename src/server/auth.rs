//! `auth_basic`: the `Authorization: Basic` credentials of a request checked against the
//! users of an htpasswd file (read when the config was compiled).
//!
//! bcrypt is verified by the `bcrypt` crate and crypt(3) SHA-256/512 by RustCrypto's
//! `sha-crypt`; `{SHA}` is SHA-1 (`sha1`) compared in constant time. apr1, htpasswd's
//! default, is MD5-crypt with Apache's magic string: no maintained crate implements it,
//! so it is written here over RustCrypto's `md-5` (about thirty lines, checked against
//! hashes the real `htpasswd` made).

use base64::Engine as _;
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::confc::model::{Htpasswd, PasswordHash};

/// Whether `authorization` (the header's value) names a user of `file` with the right
/// password.
pub fn allowed(authorization: Option<&[u8]>, file: &Htpasswd) -> bool {
    let Some((user, password)) = authorization.and_then(credentials) else {
        return false;
    };
    file.users
        .iter()
        .find(|(u, _)| u.as_bytes() == user.as_slice())
        .is_some_and(|(_, hash)| verify(hash, &password))
}

/// `Basic base64(user:password)` → (user, password).
fn credentials(value: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

/// Whether `password` matches `hash`.
pub fn verify(hash: &PasswordHash, password: &[u8]) -> bool {
    match hash {
        PasswordHash::Apr1(h) => apr1_matches(h, password),
        PasswordHash::Bcrypt(h) => bcrypt::verify(password, h).unwrap_or(false),
        PasswordHash::Sha1(b64) => {
            let Ok(want) = base64::engine::general_purpose::STANDARD.decode(b64) else {
                return false;
            };
            let got = sha1::Sha1::digest(password);
            want.len() == got.len() && bool::from(got.as_slice().ct_eq(&want))
        }
        PasswordHash::ShaCrypt(h) => {
            let Ok(pw) = std::str::from_utf8(password) else {
                return false;
            };
            if h.starts_with("$5$") {
                sha_crypt::sha256_check(pw, h).is_ok()
            } else {
                sha_crypt::sha512_check(pw, h).is_ok()
            }
        }
    }
}

const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `$apr1$salt$hash`: recomputed from the salt and compared in constant time.
fn apr1_matches(stored: &str, password: &[u8]) -> bool {
    let Some(rest) = stored.strip_prefix("$apr1$") else {
        return false;
    };
    let salt = rest.split('$').next().unwrap_or("");
    let salt = &salt.as_bytes()[..salt.len().min(8)];
    let computed = apr1(password, salt);
    computed.len() == stored.len() && bool::from(computed.as_bytes().ct_eq(stored.as_bytes()))
}

/// Apache's MD5-crypt (`apr_md5_encode`): Poul-Henning Kamp's md5crypt with `$apr1$`.
fn apr1(pw: &[u8], salt: &[u8]) -> String {
    const MAGIC: &[u8] = b"$apr1$";
    let alternate = Md5::new()
        .chain_update(pw)
        .chain_update(salt)
        .chain_update(pw)
        .finalize();
    let mut ctx = Md5::new()
        .chain_update(pw)
        .chain_update(MAGIC)
        .chain_update(salt);
    let mut left = pw.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alternate[..n]);
        left -= n;
    }
    let mut i = pw.len();
    while i != 0 {
        if i & 1 != 0 {
            ctx.update([0u8]);
        } else {
            ctx.update(&pw[..1]);
        }
        i >>= 1;
    }
    let mut fin = ctx.finalize();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 != 0 {
            c.update(pw);
        } else {
            c.update(fin);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(pw);
        }
        if round & 1 != 0 {
            c.update(fin);
        } else {
            c.update(pw);
        }
        fin = c.finalize();
    }
    let mut out = String::with_capacity(37);
    out.push_str("$apr1$");
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    let mut to64 = |mut v: u32, n: usize| {
        for _ in 0..n {
            out.push(ITOA64[(v & 0x3f) as usize] as char);
            v >>= 6;
        }
    };
    let b = |i: usize| u32::from(fin[i]);
    for (x, y, z) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        to64(b(x) << 16 | b(y) << 8 | b(z), 4);
    }
    to64(b(11), 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by `htpasswd` (apache2-utils 2.4): see tests/conf_cases/_auth/users.htpasswd.
    const USERS: &[(&str, &str, &str)] = &[
        (
            "alice",
            "apple-pie",
            "$apr1$k0wpuOjU$.qUttkSKW7uIbWeekea9s1",
        ),
        (
            "bob",
            "b0b's secret",
            "$2y$05$OJ5RLeWIOUld3BQMgZIIVOIlu5B97CJwDJq9z1lkBDDZvGop0aCay",
        ),
        ("carol", "carol-pw", "{SHA}hsAaMBat8aKiQgxhKhAqvbXOPbw="),
        (
            "dave",
            "dave-256",
            "$5$MYmxv5nqdskNp.99$eavaLOTeQUgjuR9OYy.DBJtJcNs4mC8UJuKhUZ9OvV.",
        ),
        (
            "erin",
            "erin-512",
            "$6$zS4ggzxsMDQrSEMS$UElQLnLilBD5hdhuZzZDD0zRXtrPm0AVTiHMIrlkxgNnXcpNeknABUiLUJQlIwlfgnc60mIF4RTQZz8UB1dwn.",
        ),
    ];

    fn file() -> Htpasswd {
        let text: String = USERS.iter().map(|(u, _, h)| format!("{u}:{h}\n")).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        std::fs::write(&path, text).unwrap();
        let mut diags = crate::confc::diag::Diags::default();
        let tok = crate::confc::ast::Token {
            text: "users".into(),
            span: crate::confc::source::Span::new(0, 0, 0),
            quoted: false,
        };
        let h = crate::confc::htpasswd::read(&path, &tok, &mut diags).unwrap();
        assert!(diags.list.is_empty());
        h
    }

    fn basic(user: &str, pw: &str) -> Vec<u8> {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
        format!("Basic {token}").into_bytes()
    }

    #[test]
    fn every_format_htpasswd_writes_is_verified() {
        let f = file();
        for (user, pw, _) in USERS {
            assert!(allowed(Some(&basic(user, pw)), &f), "{user}");
            assert!(!allowed(Some(&basic(user, "wrong")), &f), "{user}");
            assert!(
                !allowed(Some(&basic(user, &format!("{pw}x"))), &f),
                "{user}"
            );
        }
        assert!(!allowed(Some(&basic("mallory", "apple-pie")), &f));
        assert!(!allowed(None, &f));
        assert!(!allowed(Some(b"Bearer abc"), &f));
        assert!(!allowed(Some(b"Basic !!!"), &f));
        // The scheme is case-insensitive (RFC 9110 §11.1).
        let mut lower = basic("alice", "apple-pie");
        lower[..5].copy_from_slice(b"basic");
        assert!(allowed(Some(&lower), &f));
    }

    #[test]
    fn apr1_matches_apache() {
        assert_eq!(
            apr1(b"apple-pie", b"k0wpuOjU"),
            "$apr1$k0wpuOjU$.qUttkSKW7uIbWeekea9s1"
        );
    }
}
