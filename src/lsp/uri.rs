//! `file://` URIs ↔ paths.

use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use lsp_types::Uri;

/// The path of a `file:` URI (percent-decoded); `None` for other schemes.
pub fn to_path(uri: &Uri) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let s = uri.as_str();
    let rest = s.strip_prefix("file://")?;
    let path = match rest.find('/') {
        Some(0) => rest,
        Some(i) if &rest[..i] == "localhost" => &rest[i..],
        _ => return None,
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = || {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            u8::from_str_radix(h, 16).ok()
        };
        if b[i] == b'%'
            && let Some(v) = hex()
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    Some(clean(&PathBuf::from(std::ffi::OsString::from_vec(out))))
}

/// The `file:` URI of an absolute path.
pub fn from_path(path: &Path) -> Uri {
    use std::os::unix::ffi::OsStrExt;
    let mut s = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&s).unwrap_or_else(|_| Uri::from_str("file:///").expect("a valid URI"))
}

/// An absolute path without `.` and `..` (lexically: the path may not exist).
pub fn clean(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    let mut out = PathBuf::from("/");
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

/// The key a file is known by: its canonical path when it exists, else its clean path.
pub fn key(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| clean(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = Path::new("/tmp/a b/ü%.conf");
        let u = from_path(p);
        assert_eq!(u.as_str(), "file:///tmp/a%20b/%C3%BC%25.conf");
        assert_eq!(to_path(&u).unwrap(), p);
        let u = Uri::from_str("file://localhost/x/../y.conf").unwrap();
        assert_eq!(to_path(&u).unwrap(), Path::new("/y.conf"));
        assert!(to_path(&Uri::from_str("untitled:1").unwrap()).is_none());
    }
}
