//! Reading an `auth_basic_user_file` when the config is compiled (and so on reload):
//! `user:hash` lines in the formats `htpasswd` writes. Verifying a password against a
//! hash is request-time work (`server::auth`).

use std::path::Path;

use super::ast::Token;
use super::diag::{Code, Diag, Diags};
use super::model::{Htpasswd, PasswordHash};

/// Files larger than this are refused (an htpasswd file is a few lines per user).
const MAX_FILE: u64 = 16 << 20;

/// The hash format of a line's second field.
fn classify(hash: &str) -> Result<PasswordHash, &'static str> {
    let h = hash.to_string();
    if hash.starts_with("$apr1$") {
        Ok(PasswordHash::Apr1(h))
    } else if hash.starts_with("$2y$") || hash.starts_with("$2b$") || hash.starts_with("$2a$") {
        Ok(PasswordHash::Bcrypt(h))
    } else if let Some(b64) = hash.strip_prefix("{SHA}") {
        Ok(PasswordHash::Sha1(b64.to_string()))
    } else if hash.starts_with("$5$") || hash.starts_with("$6$") {
        Ok(PasswordHash::ShaCrypt(h))
    } else if hash.starts_with("$1$") {
        Err("MD5-crypt (`$1$`); use apr1 (`htpasswd -m`), bcrypt (`-B`) or SHA-512 crypt")
    } else if hash.len() == 13 {
        Err("DES crypt (`htpasswd -d`), which keeps only 8 characters of a password")
    } else {
        Err("not a hash webserv knows (plain text, or another crypt scheme)")
    }
}

/// Reads `path` (the argument `tok` named). A file that cannot be read is an error; a
/// line in a format webserv cannot verify is a warning (that user cannot log in).
pub fn read(path: &Path, tok: &Token, diags: &mut Diags) -> Option<Htpasswd> {
    let text = match std::fs::metadata(path).and_then(|m| {
        if m.len() > MAX_FILE {
            Err(std::io::Error::other("file is larger than 16 MiB"))
        } else {
            std::fs::read_to_string(path)
        }
    }) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Diag::new(
                    Code::Unreadable,
                    tok.span,
                    format!("cannot read `{}`: {}", tok.text, io_reason(&e)),
                )
                .label("the password file")
                .help("create it with `htpasswd -c FILE USER` (apache2-utils), or fix the path (relative to this config file)"),
            );
            return None;
        }
    };
    let mut users = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.splitn(3, ':');
        let (Some(user), Some(hash)) = (fields.next(), fields.next()) else {
            diags.push(entry_warning(tok, n, "a line without `user:hash`".into()));
            continue;
        };
        match classify(hash) {
            Ok(h) => users.push((user.to_string(), h)),
            Err(why) => diags.push(entry_warning(tok, n, format!("user `{user}`: {why}"))),
        }
    }
    Some(Htpasswd {
        path: path.to_path_buf(),
        users,
    })
}

fn entry_warning(tok: &Token, line0: usize, what: String) -> Diag {
    Diag::new(
        Code::HtpasswdEntry,
        tok.span,
        format!("line {} of `{}`: {what}", line0 + 1, tok.text),
    )
    .label("this user cannot log in")
    .help("webserv verifies apr1 (`htpasswd -m`, the default), bcrypt (`-B`), `{SHA}` (`-s`) and crypt SHA-256/512 (`$5$`, `$6$`)")
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::InvalidData => "not UTF-8 text".into(),
        _ => e.to_string(),
    }
}
