//! Opening files strictly inside a document root.
//!
//! The request path is already decoded and normalised (no `..` above `/`), but a symlink
//! inside the root could still point outside it. `openat2(RESOLVE_BENEATH)` makes the
//! kernel refuse any resolution that leaves the root directory, symlinks included, in
//! the same single syscall as the open. Root directory fds are cached per worker.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Root directory handles of one worker.
#[derive(Default)]
pub struct Roots {
    dirs: HashMap<PathBuf, OwnedFd>,
    /// openat2 missing (kernel < 5.6): fall back to open + canonical-prefix check.
    no_openat2: bool,
}

fn cstr(p: &[u8]) -> io::Result<CString> {
    CString::new(p).map_err(|_| io::Error::from_raw_os_error(libc::ENOENT))
}

/// A handle on a root directory to resolve beneath (`O_PATH`: nothing is read through
/// it; std adds `O_CLOEXEC`).
fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(path)?;
    Ok(dir.into())
}

impl Roots {
    /// Forgets cached root handles (after a config reload).
    pub fn clear(&mut self) {
        self.dirs.clear();
    }

    /// Opens `rel` (no leading `/`) beneath `root` read-only. Errors: `NotFound`,
    /// `PermissionDenied` (also for anything that would leave the root), others.
    pub fn open(&mut self, root: &Path, rel: &str) -> io::Result<File> {
        let rel = rel.trim_start_matches('/');
        if rel.is_empty() {
            // The root itself (a directory, or an `alias` naming a file).
            return open_nonblocking(root);
        }
        if !self.no_openat2 {
            if !self.dirs.contains_key(root) {
                let fd = open_dir(root)?;
                self.dirs.insert(root.to_path_buf(), fd);
            }
            let dirfd = self.dirs[root].as_raw_fd();
            let c = cstr(rel.as_bytes())?;
            // SAFETY: open_how is plain integers (non-exhaustive, so it cannot be built
            // field by field); all-zero is a valid value.
            let mut how: libc::open_how = unsafe { std::mem::zeroed() };
            // O_NONBLOCK: a FIFO under the root must not block the worker in open(2)
            // (it changes nothing for regular files and directories).
            how.flags = (libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK) as u64;
            how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
            // SAFETY: arguments follow openat2(2); `how` outlives the call.
            let fd = unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    dirfd,
                    c.as_ptr(),
                    &how as *const libc::open_how,
                    std::mem::size_of::<libc::open_how>(),
                )
            };
            if fd >= 0 {
                // SAFETY: a fresh descriptor we own.
                return Ok(unsafe { File::from_raw_fd(fd as i32) });
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::ENOSYS) => self.no_openat2 = true,
                // Resolution would leave the root: as forbidden as it gets.
                Some(libc::EXDEV) | Some(libc::ELOOP) => {
                    return Err(io::Error::from(io::ErrorKind::PermissionDenied));
                }
                _ => return Err(err),
            }
        }
        let full = root.join(rel);
        let canon = full.canonicalize()?;
        let canon_root = root.canonicalize()?;
        if !canon.starts_with(&canon_root) {
            return Err(io::Error::from(io::ErrorKind::PermissionDenied));
        }
        open_nonblocking(&canon)
    }
}

fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}
