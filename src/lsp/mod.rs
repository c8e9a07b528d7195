//! `webserv lsp`: a language server over stdio (JSON-RPC, LSP 3.17) with no async
//! runtime: one loop on the main thread over messages from a reader thread.
//!
//! It depends on the compiler and the shared router (through `report`'s `explain`),
//! never on the server. Diagnostics are `check`'s own, computed from the open buffers
//! (see `world` for which compilation a file belongs to); they are published when no
//! message is waiting, so a burst of edits costs one compilation.

mod diagnostics;
mod features;
mod syntax;
mod text;
mod transport;
mod uri;
mod world;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};

use lsp_server::{ErrorCode, Message, Notification, Request, Response};
use lsp_types::{PublishDiagnosticsParams, Uri};
use serde_json::{Value, json};

use diagnostics::ByUri;
use text::Encoding;
use transport::{Incoming, Outgoing, Transport};
use world::World;

/// Runs the server on stdin/stdout until `exit`; returns the exit status (0 after
/// `shutdown`, 1 otherwise).
pub fn run() -> u8 {
    let t = Transport::stdio();
    let mut s = Server::new(t.outgoing.clone());
    let code = s.serve(&t.incoming);
    drop(s);
    t.finish();
    code
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Uninitialized,
    Running,
    ShutDown,
}

/// A request's outcome: a result, or an error code and message.
type Answer = Result<Value, (ErrorCode, String)>;

/// The server's state.
pub struct Server {
    out: SyncSender<Outgoing>,
    phase: Phase,
    enc: Encoding,
    snippets: bool,
    world: World,
    /// Open documents whose text changed since diagnostics were last published.
    dirty: bool,
    published: ByUri,
    /// The document version each URI's diagnostics were last published for.
    published_versions: HashMap<String, Option<i32>>,
}

impl Server {
    fn new(out: SyncSender<Outgoing>) -> Server {
        Server {
            out,
            phase: Phase::Uninitialized,
            enc: Encoding::Utf16,
            snippets: false,
            world: World::default(),
            dirty: false,
            published: ByUri::new(),
            published_versions: HashMap::new(),
        }
    }

    fn send(&self, m: impl Into<Message>) {
        let _ = self.out.send(Outgoing::Message(m.into()));
    }

    fn serve(&mut self, incoming: &Receiver<Incoming>) -> u8 {
        loop {
            let msg = match incoming.try_recv() {
                Ok(m) => m,
                Err(TryRecvError::Empty) => {
                    self.publish();
                    match incoming.recv() {
                        Ok(m) => m,
                        Err(_) => return 1,
                    }
                }
                Err(TryRecvError::Disconnected) => return 1,
            };
            match msg {
                Incoming::Malformed(e) => {
                    eprintln!("webserv lsp: {e}");
                    let err = json!({
                        "jsonrpc": "2.0",
                        "id": null,
                        "error": { "code": ErrorCode::ParseError as i32, "message": e },
                    });
                    let _ = self.out.send(Outgoing::Raw(err.to_string()));
                }
                Incoming::Message(Message::Request(r)) => self.request(r),
                Incoming::Message(Message::Notification(n)) if n.method == "exit" => {
                    return if self.phase == Phase::ShutDown { 0 } else { 1 };
                }
                Incoming::Message(Message::Notification(n)) => self.notification(n),
                Incoming::Message(Message::Response(_)) => {}
            }
        }
    }

    fn request(&mut self, r: Request) {
        let answer = match (self.phase, r.method.as_str()) {
            (Phase::Uninitialized, "initialize") => Ok(self.initialize(&r.params)),
            (Phase::Uninitialized, _) => Err((
                ErrorCode::ServerNotInitialized,
                "the server is not initialized".into(),
            )),
            (Phase::ShutDown, _) => {
                Err((ErrorCode::InvalidRequest, "the server is shut down".into()))
            }
            (Phase::Running, "initialize") => Err((
                ErrorCode::InvalidRequest,
                "initialize was already received".into(),
            )),
            (Phase::Running, "shutdown") => {
                self.phase = Phase::ShutDown;
                Ok(Value::Null)
            }
            (Phase::Running, method) => {
                let params = r.params.clone();
                match std::panic::catch_unwind(AssertUnwindSafe(|| {
                    features::dispatch(self, method, params)
                })) {
                    Ok(a) => a,
                    Err(_) => Err((
                        ErrorCode::InternalError,
                        format!(
                            "internal error while answering {method} (a bug: please report it)"
                        ),
                    )),
                }
            }
        };
        let resp = match answer {
            Ok(v) => Response::new_ok(r.id, v),
            Err((code, message)) => Response::new_err(r.id, code as i32, message),
        };
        self.send(resp);
    }

    fn initialize(&mut self, params: &Value) -> Value {
        let encodings = params.pointer("/capabilities/general/positionEncodings");
        let utf8 = encodings
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|e| e == "utf-8"));
        self.enc = if utf8 {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        };
        self.snippets = params
            .pointer("/capabilities/textDocument/completion/completionItem/snippetSupport")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut folders: Vec<PathBuf> = params
            .get("workspaceFolders")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.get("uri")?.as_str()?.parse::<Uri>().ok())
            .filter_map(|u| uri::to_path(&u))
            .collect();
        if folders.is_empty()
            && let Some(root) = params
                .get("rootUri")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Uri>().ok())
                .and_then(|u| uri::to_path(&u))
                // Clients older than LSP 3.0 send only a path.
                .or_else(|| params.get("rootPath")?.as_str().map(PathBuf::from))
        {
            folders.push(root);
        }
        self.world.folders = folders;
        self.phase = Phase::Running;
        json!({
            "capabilities": features::capabilities(self.enc),
            "serverInfo": { "name": "webserv", "version": env!("CARGO_PKG_VERSION") },
        })
    }

    fn notification(&mut self, n: Notification) {
        if self.phase != Phase::Running {
            return;
        }
        let method = n.method.clone();
        let done = std::panic::catch_unwind(AssertUnwindSafe(|| self.notified(n)));
        if done.is_err() {
            eprintln!("webserv lsp: internal error while handling {method} (a bug)");
        }
    }

    fn notified(&mut self, n: Notification) {
        let w = &mut self.world;
        let changed = match n.method.as_str() {
            "textDocument/didOpen" => w.open(n.params),
            "textDocument/didChange" => w.change(n.params, self.enc),
            "textDocument/didClose" => w.close(n.params),
            "workspace/didChangeWorkspaceFolders" => w.folders_changed(&n.params),
            "textDocument/didSave" | "workspace/didChangeWatchedFiles" => {
                w.disk_changed();
                Some(())
            }
            _ => None,
        };
        if changed.is_some() {
            self.dirty = true;
        }
    }

    /// Compiles what changed and publishes the diagnostics that differ from the last ones.
    fn publish(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let done = std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.world.refresh();
            diagnostics::collect(&self.world.docs, self.world.units.values(), self.enc)
        }));
        let Ok(now) = done else {
            eprintln!("webserv lsp: internal error while checking (a bug)");
            return;
        };
        let mut gone: Vec<String> = self
            .published
            .keys()
            .filter(|u| !now.contains_key(*u))
            .cloned()
            .collect();
        gone.sort();
        for u in gone {
            self.published.remove(&u);
            self.published_versions.remove(&u);
            self.notify_diagnostics(u, Vec::new(), None);
        }
        let mut uris: Vec<&String> = now.keys().collect();
        uris.sort();
        for u in uris {
            let list = &now[u];
            let version = self
                .world
                .docs
                .values()
                .find(|d| d.uri.as_str() == u.as_str())
                .map(|d| d.version);
            // A new version of an open document is always answered (the client learns
            // its diagnostics are current); an unchanged list for the same version is not.
            if self.published.get(u) == Some(list)
                && self.published_versions.get(u) == Some(&version)
            {
                continue;
            }
            self.published_versions.insert(u.clone(), version);
            let diags = list.iter().map(|p| p.diagnostic.clone()).collect();
            self.notify_diagnostics(u.clone(), diags, version);
        }
        self.published = now;
    }

    fn notify_diagnostics(
        &self,
        uri: String,
        diagnostics: Vec<lsp_types::Diagnostic>,
        version: Option<i32>,
    ) {
        let Ok(uri) = uri.parse::<Uri>() else {
            return;
        };
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        };
        self.send(Notification::new(
            "textDocument/publishDiagnostics".into(),
            params,
        ));
    }
}
