//! CGI/1.1 (RFC 3875): choosing the script, building the environment, spawning the
//! child with non-blocking pipes, and parsing its output head. The connection
//! (`conn.rs`) drives the pipes in the event loop.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::RwLock;
use std::time::Duration;

use mio::unix::pipe;

use super::dispatch::CgiTarget;
use super::http::request::{BodyFraming, RequestHead, Version};
use super::router::{Route, fs_target};
use crate::confc::table::RoutingTable;

/// Everything needed to start one CGI request.
pub struct Plan {
    pub program: PathBuf,
    pub args: Vec<PathBuf>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
}

/// Everything a CGI request runs with, for the script the decision found
/// ([`CgiTarget`]): the program (the script, or its interpreter with the script as the
/// argument), its directory, the RFC 3875 environment.
pub fn plan(
    target: &CgiTarget<'_>,
    table: &RoutingTable,
    route: &Route,
    head: &RequestHead,
    peer: SocketAddr,
    local: SocketAddr,
    https: bool,
) -> Plan {
    let settings = table.settings(route);
    let script = target.base.join(target.rel.trim_start_matches('/'));
    // Absolute, not canonical: the decision's open already proved it resolves inside
    // the root, and canonicalising costs a readlink per path component on every request.
    let script = std::path::absolute(&script).unwrap_or(script);
    let cwd = script
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| PathBuf::from("/"));
    let (program, args) = match &target.rule.interpreter {
        Some(i) => (i.clone(), vec![script.clone()]),
        None => (script.clone(), Vec::new()),
    };
    let mut env = environment(target, &script, table, route, head, (peer, local));
    // What Apache and nginx's fastcgi_params give a script on a TLS connection.
    env.push((
        "REQUEST_SCHEME".into(),
        if https { "https" } else { "http" }.into(),
    ));
    if https {
        env.push(("HTTPS".into(), "on".into()));
    }
    env.extend(http_variables(head));
    Plan {
        program,
        args,
        cwd,
        env,
        timeout: settings.cgi_timeout.value,
    }
}

/// The RFC 3875 meta-variables of a request, `HTTP_*` aside.
fn environment(
    target: &CgiTarget<'_>,
    script: &std::path::Path,
    table: &RoutingTable,
    route: &Route,
    head: &RequestHead,
    (peer, local): (SocketAddr, SocketAddr),
) -> Vec<(String, String)> {
    let server = &table.servers[route.server];
    let server_name = head
        .effective_host()
        .map(str::to_string)
        .or_else(|| {
            server
                .names
                .first()
                .filter(|n| !n.is_empty() && !n.contains('*') && !n.starts_with('~'))
                .cloned()
        })
        .unwrap_or_else(|| local.ip().to_string());
    let mut env: Vec<(String, String)> = vec![
        ("GATEWAY_INTERFACE".into(), "CGI/1.1".into()),
        (
            "SERVER_PROTOCOL".into(),
            match head.version {
                Version::Http10 => "HTTP/1.0".into(),
                Version::Http11 => "HTTP/1.1".into(),
            },
        ),
        (
            "SERVER_SOFTWARE".into(),
            format!("webserv/{}", env!("CARGO_PKG_VERSION")),
        ),
        ("SERVER_NAME".into(), server_name),
        ("SERVER_PORT".into(), local.port().to_string()),
        ("REQUEST_METHOD".into(), head.method_str().to_string()),
        ("REQUEST_URI".into(), head.target().to_string()),
        (
            "QUERY_STRING".into(),
            head.query().unwrap_or_default().to_owned(),
        ),
        ("SCRIPT_NAME".into(), target.script_uri.to_string()),
        ("SCRIPT_FILENAME".into(), script.display().to_string()),
        ("REMOTE_ADDR".into(), peer.ip().to_string()),
        ("REMOTE_PORT".into(), peer.port().to_string()),
        ("REDIRECT_STATUS".into(), "200".into()),
        ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
    ];
    let path_info = target.path_info;
    if !path_info.is_empty() {
        env.push(("PATH_INFO".into(), path_info.to_string()));
        let (b, r) = fs_target(table.settings(route), path_info);
        let translated = b.join(r.trim_start_matches('/'));
        let translated = std::path::absolute(&translated).unwrap_or(translated);
        env.push(("PATH_TRANSLATED".into(), translated.display().to_string()));
    }
    if let Some(ct) = head.header("content-type") {
        env.push((
            "CONTENT_TYPE".into(),
            String::from_utf8_lossy(ct).into_owned(),
        ));
    }
    if let BodyFraming::Length(n) = head.body {
        env.push(("CONTENT_LENGTH".into(), n.to_string()));
    }
    env
}

/// The `HTTP_*` meta-variables: duplicates joined with ", "; never Proxy (httpoxy) or
/// Authorization; names with `_` dropped (they would collide with `-`).
fn http_variables(head: &RequestHead) -> BTreeMap<String, String> {
    let mut http: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in head.headers() {
        let lower = name.to_ascii_lowercase();
        if name.contains('_')
            || matches!(
                lower.as_str(),
                "proxy" | "authorization" | "content-type" | "content-length"
            )
        {
            continue;
        }
        let key = format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_"));
        let v = String::from_utf8_lossy(value).into_owned();
        http.entry(key)
            .and_modify(|e| {
                e.push_str(", ");
                e.push_str(&v);
            })
            .or_insert(v);
    }
    http
}

/// A running CGI child and its pipe ends (all non-blocking, CLOEXEC).
pub struct Proc {
    pub child: Child,
    pub stdin: Option<pipe::Sender>,
    pub stdout: Option<pipe::Receiver>,
    pub stderr: Option<pipe::Receiver>,
    /// Readable when the child has exited (pidfd_open), where the kernel has it.
    pub pidfd: Option<OwnedFd>,
}

/// Starts the child in its own process group (so a timeout kills everything it started).
/// `content_length` overrides CONTENT_LENGTH (the de-chunked length of a spooled body).
/// Without a body the child's stdin is /dev/null.
pub fn spawn(plan: &Plan, content_length: Option<u64>, has_body: bool) -> io::Result<Proc> {
    // Held across the fork, so `kill_all` sees every child that was started.
    let stopping = STOPPING.read().unwrap_or_else(|p| p.into_inner());
    if *stopping {
        return Err(io::Error::other("the server is stopping"));
    }
    let mut cmd = Command::new(&plan.program);
    cmd.args(&plan.args)
        .env_clear()
        .envs(
            plan.env
                .iter()
                .filter(|(k, _)| !(content_length.is_some() && k == "CONTENT_LENGTH"))
                .map(|(k, v)| (k, v)),
        )
        .current_dir(&plan.cwd)
        // No body: stdin is /dev/null, one pipe (and its epoll work) fewer.
        .stdin(if has_body {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(n) = content_length {
        cmd.env("CONTENT_LENGTH", n.to_string());
    }
    let mut child = cmd.spawn()?;
    // mio's conversions leave the pipes blocking; its set_nonblocking is one
    // ioctl(FIONBIO) each.
    let stdin = child.stdin.take().map(pipe::Sender::from);
    let stdout = child.stdout.take().map(pipe::Receiver::from);
    let stderr = child.stderr.take().map(pipe::Receiver::from);
    if let Some(s) = &stdin {
        let _ = s.set_nonblocking(true);
    }
    for r in [&stdout, &stderr].into_iter().flatten() {
        let _ = r.set_nonblocking(true);
    }
    // SAFETY: pidfd_open takes a pid and flags; the result is a new fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
    let pidfd = if fd >= 0 {
        // SAFETY: a fresh descriptor; pidfd_open sets CLOEXEC itself.
        Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    } else {
        None
    };
    Ok(Proc {
        child,
        stdin,
        stdout,
        stderr,
        pidfd,
    })
}

/// Set by [`kill_all`]; spawning holds it for reading, so no child starts unseen.
static STOPPING: RwLock<bool> = RwLock::new(false);

/// Kills every CGI child's process group and refuses new ones: for a process about to
/// exit without letting the workers finish (a second Ctrl-C). The children are found
/// by asking the kernel which processes have this one as their parent, so nothing is
/// recorded per request; each leads its own process group (`process_group(0)`), which
/// takes the scripts' own children too.
pub fn kill_all() {
    let mut stopping = STOPPING.write().unwrap_or_else(|p| p.into_inner());
    *stopping = true;
    let me = std::process::id();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in procs.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(me) {
            // SAFETY: signalling our own child and the process group it leads.
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }
}

/// Kills the child's whole process group.
pub fn kill(child: &Child) {
    // SAFETY: signalling a process group we created; errors (already gone) are fine.
    unsafe {
        libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
    }
}

/// The parsed header block of a CGI response.
#[derive(Debug, Default)]
pub struct OutputHead {
    pub status: Option<u16>,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    /// Every other header line, as `Name: value\r\n`.
    pub other: Vec<u8>,
    pub other_count: usize,
}

/// A CGI response that is not one (no header block, garbage, a bad field): 502.
#[derive(Debug, PartialEq, Eq)]
pub struct BadOutput;

/// The largest CGI header block accepted.
pub const MAX_OUTPUT_HEAD: usize = 64 * 1024;

/// Parses the CGI header block (lines ended by LF or CRLF, then an empty line).
/// `Ok(None)`: need more output. `Err`: not a valid CGI response (502).
pub fn parse_output_head(buf: &[u8]) -> Result<Option<(OutputHead, usize)>, BadOutput> {
    let mut head = OutputHead::default();
    let mut pos = 0;
    loop {
        let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') else {
            return if buf.len() > MAX_OUTPUT_HEAD {
                Err(BadOutput)
            } else {
                Ok(None)
            };
        };
        let mut line = &buf[pos..pos + nl];
        pos += nl + 1;
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if line.is_empty() {
            if head.status.is_none()
                && head.location.is_none()
                && head.content_type.is_none()
                && head.other_count == 0
            {
                return Err(BadOutput);
            }
            return Ok(Some((head, pos)));
        }
        if pos > MAX_OUTPUT_HEAD {
            return Err(BadOutput);
        }
        let colon = line.iter().position(|&b| b == b':').ok_or(BadOutput)?;
        let name = &line[..colon];
        if name.is_empty()
            || !name
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            return Err(BadOutput);
        }
        let value = std::str::from_utf8(&line[colon + 1..])
            .map_err(|_| BadOutput)?
            .trim_matches([' ', '\t']);
        // No CR (or other control bytes) may reach the client's header block.
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(BadOutput);
        }
        let name = std::str::from_utf8(name).map_err(|_| BadOutput)?;
        match name.to_ascii_lowercase().as_str() {
            "status" => {
                let code = value
                    .get(..3)
                    .and_then(|c| c.parse::<u16>().ok())
                    .filter(|c| (100..=599).contains(c))
                    .ok_or(BadOutput)?;
                head.status = Some(code);
            }
            "location" => head.location = Some(value.to_string()),
            "content-type" => head.content_type = Some(value.to_string()),
            "content-length" => head.content_length = Some(value.parse().map_err(|_| BadOutput)?),
            // Hop-by-hop and framing fields are the server's business.
            "connection" | "transfer-encoding" | "keep-alive" | "server" | "date" => {}
            _ => {
                head.other.extend_from_slice(name.as_bytes());
                head.other.extend_from_slice(b": ");
                head.other.extend_from_slice(value.as_bytes());
                head.other.extend_from_slice(b"\r\n");
                head.other_count += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_heads() {
        let (h, n) = parse_output_head(b"Content-Type: text/plain\r\n\r\nbody")
            .unwrap()
            .unwrap();
        assert_eq!(h.content_type.as_deref(), Some("text/plain"));
        assert_eq!(n, 28);
        let (h, _) =
            parse_output_head(b"Status: 404 Not Found\nSet-Cookie: a=1\nSet-Cookie: b=2\n\n")
                .unwrap()
                .unwrap();
        assert_eq!(h.status, Some(404));
        assert_eq!(h.other, b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n");
        assert!(
            parse_output_head(b"Content-Type: text/plain\r\n")
                .unwrap()
                .is_none()
        );
        assert!(parse_output_head(b"just a body, no header block\n").is_err());
        assert!(parse_output_head(b"\r\n").is_err());
        assert!(parse_output_head(b"X: a\rInjected: b\n\n").is_err());
        assert!(parse_output_head(b"Status: abc\n\n").is_err());
        let (h, _) = parse_output_head(b"Location: /x\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.location.as_deref(), Some("/x"));
    }
}
