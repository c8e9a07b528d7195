//! Uploads into `upload_store`: POST `multipart/form-data` (every file part), POST of any
//! other body (one file under a fresh name), PUT (create 201 / replace 204).
//!
//! Bodies stream into temporary files in the store directory (`.upload-*.part`, created
//! with O_EXCL) and are moved into place only when the whole body arrived: an aborted,
//! too large or timed-out upload drops the `Upload`, and `Drop` removes every temporary
//! file. Final names never overwrite silently (PUT excepted, which replaces by design).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::dispatch::{UploadKind, UploadTarget};
use super::handlers::{Body, Response};
use super::http::request::RequestHead;
use super::multipart::{Event, MultipartParser, boundary_from_content_type, sanitize_filename};
use crate::escape::{url_path, url_segment};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Every upload's temporary files, process-wide, for an exit that cannot wait for the
/// uploads' `Drop` (a second Ctrl-C): [`remove_temporaries`] deletes them. Only
/// creating and dropping an upload touch it, never the bytes in between.
static TEMPS: Mutex<Temps> = Mutex::new(Temps {
    paths: Vec::new(),
    closed: false,
});

struct Temps {
    paths: Vec<PathBuf>,
    /// Set by [`remove_temporaries`]: no upload may start after it.
    closed: bool,
}

fn temps() -> std::sync::MutexGuard<'static, Temps> {
    TEMPS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Deletes the temporary file of every upload in progress and refuses new ones: for a
/// process about to exit without letting the workers finish.
pub fn remove_temporaries() {
    let mut t = temps();
    t.closed = true;
    for p in t.paths.drain(..) {
        let _ = std::fs::remove_file(p);
    }
}

fn unique() -> u64 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

enum Target {
    /// A multipart file part: its sanitised name (a clash gets a suffix).
    Named(String),
    /// A raw POST body: a fresh name with this extension.
    Fresh(&'static str),
    /// PUT: this exact path, replaced if it exists.
    Put { path: PathBuf, existed: bool },
}

struct Temp {
    path: PathBuf,
    file: File,
    target: Target,
    size: u64,
}

enum Mode {
    Raw,
    Multipart {
        parser: Box<MultipartParser>,
        /// The temp file of the current file part; `None` inside a plain field.
        current: Option<usize>,
    },
}

/// One upload in progress.
pub struct Upload {
    dir: PathBuf,
    /// The URI that names the store, ending in `/` (for `Location`).
    uri_dir: String,
    mode: Mode,
    temps: Vec<Temp>,
    /// Set once the files are in place: nothing left to clean up.
    done: bool,
    /// The request's `Accept` prefers HTML (a browser form).
    html: bool,
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.done {
            for t in &self.temps {
                let _ = std::fs::remove_file(&t.path);
            }
        }
        if !self.temps.is_empty() {
            temps()
                .paths
                .retain(|p| !self.temps.iter().any(|t| t.path == *p));
        }
    }
}

fn new_temp(dir: &Path, target: Target) -> io::Result<Temp> {
    // Created under the registry's lock, so none appears after `remove_temporaries`.
    let mut registry = temps();
    if registry.closed {
        return Err(io::Error::other("the server is stopping"));
    }
    for _ in 0..16 {
        let path = dir.join(format!(".upload-{}-{}.part", std::process::id(), unique()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
        {
            Ok(file) => {
                registry.paths.push(path.clone());
                return Ok(Temp {
                    path,
                    file,
                    target,
                    size: 0,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free temporary name"))
}

/// An I/O failure as a status: a missing or unwritable store is the server's fault.
fn io_status(e: &io::Error) -> u16 {
    match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => 507,
        _ => 500,
    }
}

/// Extension for a raw upload, from its Content-Type.
fn extension(ct: Option<&[u8]>) -> &'static str {
    let ct = ct
        .map(|c| String::from_utf8_lossy(c).to_ascii_lowercase())
        .unwrap_or_default();
    let essence = ct.split(';').next().unwrap_or("").trim().to_string();
    match essence.as_str() {
        "text/plain" => ".txt",
        "text/html" => ".html",
        "text/css" => ".css",
        "text/csv" => ".csv",
        "application/json" => ".json",
        "application/xml" | "text/xml" => ".xml",
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/gif" => ".gif",
        "image/svg+xml" => ".svg",
        "image/webp" => ".webp",
        "application/pdf" => ".pdf",
        "application/zip" => ".zip",
        _ => ".bin",
    }
}

impl Upload {
    /// Starts an upload the decision chose ([`UploadTarget`]: a store that is a
    /// directory, and for PUT a valid name in it): creates its temporary file.
    pub fn start(target: &UploadTarget<'_>, head: &RequestHead) -> Result<Upload, u16> {
        let html = head
            .header("accept")
            .is_some_and(|a| String::from_utf8_lossy(a).contains("text/html"));
        let mut up = Upload {
            dir: target.dir.to_path_buf(),
            uri_dir: String::new(),
            mode: Mode::Raw,
            temps: Vec::new(),
            done: false,
            html,
        };
        if let UploadKind::Put { name, existed } = target.kind {
            let path = up.dir.join(name);
            let t = new_temp(&up.dir, Target::Put { path, existed }).map_err(|e| io_status(&e))?;
            up.temps.push(t);
            up.uri_dir = head.path().to_owned();
            return Ok(up);
        }
        up.uri_dir = if head.path().ends_with('/') {
            head.path().to_owned()
        } else {
            format!("{}/", head.path())
        };
        let ct = head.header("content-type");
        let is_multipart = ct
            .is_some_and(|c| c.len() >= 19 && c[..19].eq_ignore_ascii_case(b"multipart/form-data"));
        if is_multipart {
            let boundary = ct.and_then(boundary_from_content_type).ok_or(400u16)?;
            up.mode = Mode::Multipart {
                parser: Box::new(MultipartParser::new(&boundary)),
                current: None,
            };
        } else {
            let t = new_temp(&up.dir, Target::Fresh(extension(ct))).map_err(|e| io_status(&e))?;
            up.temps.push(t);
        }
        Ok(up)
    }

    /// Takes the next piece of the (de-chunked) body.
    pub fn write(&mut self, data: &[u8]) -> Result<(), u16> {
        match &mut self.mode {
            Mode::Raw => {
                let t = self.temps.last_mut().ok_or(500u16)?;
                t.file.write_all(data).map_err(|e| io_status(&e))?;
                t.size += data.len() as u64;
                Ok(())
            }
            Mode::Multipart { parser, current } => {
                let dir = &self.dir;
                let temps = &mut self.temps;
                let mut failure: Option<u16> = None;
                let mut on = |ev: Event<'_>| -> Result<(), super::multipart::MultipartError> {
                    let fail = |s: u16, f: &mut Option<u16>| {
                        *f = Some(s);
                        super::multipart::MultipartError {
                            reason: "upload storage failed",
                        }
                    };
                    match ev {
                        Event::PartStart { filename, .. } => {
                            *current = None;
                            // A part without a file name is a plain form field: not stored.
                            // An empty file name is an empty file input: nothing chosen.
                            if let Some(f) = filename.filter(|f| !f.is_empty()) {
                                let target = match sanitize_filename(&f) {
                                    Some(n) => Target::Named(n),
                                    None => Target::Fresh(".bin"),
                                };
                                match new_temp(dir, target) {
                                    Ok(t) => {
                                        temps.push(t);
                                        *current = Some(temps.len() - 1);
                                    }
                                    Err(e) => return Err(fail(io_status(&e), &mut failure)),
                                }
                            }
                        }
                        Event::Data(d) => {
                            if let Some(i) = *current {
                                let t = &mut temps[i];
                                if let Err(e) = t.file.write_all(d) {
                                    return Err(fail(io_status(&e), &mut failure));
                                }
                                t.size += d.len() as u64;
                            }
                        }
                        Event::PartEnd => *current = None,
                        Event::Done => {}
                    }
                    Ok(())
                };
                match parser.feed(data, &mut on) {
                    Ok(()) => Ok(()),
                    Err(_) => Err(failure.unwrap_or(400)),
                }
            }
        }
    }

    /// The body is complete: move the files into place and answer.
    pub fn finish(mut self) -> Result<Response, u16> {
        // Files appear (or are replaced) below: once that is done, however this
        // returns, cached copies may be stale.
        let _touch = super::filecache::TouchOnDrop;
        if let Mode::Multipart { parser, .. } = &self.mode {
            parser.finish().map_err(|_| 400u16)?;
        }
        if self.temps.is_empty() {
            return Err(400);
        }
        let mut stored: Vec<(String, u64)> = Vec::new();
        let mut put_status = None;
        for t in &self.temps {
            match &t.target {
                Target::Put { path, existed } => {
                    std::fs::rename(&t.path, path).map_err(|e| io_status(&e))?;
                    put_status = Some(if *existed { 204 } else { 201 });
                }
                Target::Named(name) => stored.push((place(&self.dir, &t.path, name)?, t.size)),
                Target::Fresh(ext) => {
                    let ms = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis());
                    let name = format!("upload-{ms}-{}{ext}", unique());
                    stored.push((place(&self.dir, &t.path, &name)?, t.size));
                }
            }
        }
        self.done = true;
        if let Some(status) = put_status {
            let r = Response::new(status, Body::Empty);
            return Ok(if status == 201 {
                r.header("Location", &url_path(&self.uri_dir))
            } else {
                r
            });
        }
        let dir = url_path(&self.uri_dir);
        let files: Vec<(String, u64, String)> = stored
            .into_iter()
            .map(|(name, size)| {
                let location = format!("{dir}{}", url_segment(name.as_bytes()));
                (name, size, location)
            })
            .collect();
        let (body, content_type) = if self.html {
            (super::pages::uploaded(&files), "text/html; charset=utf-8")
        } else {
            let list: Vec<serde_json::Value> = files
                .iter()
                .map(|(name, size, location)| {
                    serde_json::json!({ "name": name, "size": size, "location": location })
                })
                .collect();
            (
                format!("{}\n", serde_json::json!({ "stored": list })),
                "application/json",
            )
        };
        Ok(Response::new(201, Body::Bytes(body.into_bytes()))
            .header("Content-Type", content_type)
            .header("Location", &files[0].2))
    }
}

/// Moves a temp file to `dir/name`, or `name-1`, `name-2`... when taken (never replaces).
fn place(dir: &Path, tmp: &Path, name: &str) -> Result<String, u16> {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    for n in 0..1000u32 {
        let candidate = if n == 0 {
            name.to_string()
        } else {
            format!("{stem}-{n}{ext}")
        };
        match std::fs::hard_link(tmp, dir.join(&candidate)) {
            Ok(()) => {
                let _ = std::fs::remove_file(tmp);
                return Ok(candidate);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_status(&e)),
        }
    }
    Err(409)
}
