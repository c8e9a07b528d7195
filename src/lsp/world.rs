//! What the server knows about files: open documents over the disk, the compile units
//! they belong to, and the workspace's include graph.
//!
//! A **unit** is one compilation: a config compiled as `check` would (the open buffers
//! read instead of the disk, included files too), or a fragment compiled inside a small
//! synthetic root that puts it in the context its contents imply (`server { include
//! frag; }`). Each open document belongs to one unit: the unit of a config that includes
//! it (an open one, else a top-level `.conf` of the workspace), else its own.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock as OnceCell;

use lsp_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams, Uri,
};

use crate::confc::ast::Directive;
use crate::confc::load::{self, Disk, FileSource};
use crate::confc::schema::{self, Apply, Ctx};
use crate::confc::source::FileId;
use crate::confc::table::RoutingTable;
use crate::confc::{CompileOptions, Compiled};

use super::syntax;
use super::text::{self, Encoding, LineIndex};
use super::uri;

/// An open document.
pub struct Doc {
    pub uri: Uri,
    pub text: String,
    pub version: i32,
    tree: OnceCell<Vec<Directive>>,
    lines: OnceCell<LineIndex>,
}

impl Doc {
    pub fn new(uri: Uri, text: String, version: i32) -> Doc {
        Doc {
            uri,
            text,
            version,
            tree: OnceCell::new(),
            lines: OnceCell::new(),
        }
    }

    /// The text changed: forget what was derived from it.
    pub fn changed(&mut self) {
        self.tree = OnceCell::new();
        self.lines = OnceCell::new();
    }

    /// The directive tree of the text (file id 0; diagnostics discarded).
    pub fn tree(&self) -> &[Directive] {
        self.tree.get_or_init(|| syntax::parse_text(&self.text))
    }

    pub fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }
}

/// Open documents by file key.
pub type Docs = HashMap<PathBuf, Doc>;

/// The open buffers over the disk, as the compiler reads them.
pub struct Overlay<'a>(pub &'a Docs);

impl FileSource for Overlay<'_> {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        match self.0.get(&uri::key(path)) {
            Some(d) => Ok(d.text.clone().into_bytes()),
            None => load::read_file(path),
        }
    }

    fn exists(&self, path: &Path) -> bool {
        self.0.contains_key(&uri::key(path)) || path.exists()
    }

    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, glob::PatternError> {
        let mut found = Disk.glob(pattern)?;
        let pat = glob::Pattern::new(pattern)?;
        let on_disk: HashSet<PathBuf> = found.iter().map(|p| uri::key(p)).collect();
        for k in self.0.keys() {
            if pat.matches_path(k) && !on_disk.contains(k) {
                found.push(k.clone());
            }
        }
        found.sort();
        Ok(found)
    }
}

/// Which compilation: a file as the root (`ctx: None`), or a fragment compiled inside a
/// synthetic root that gives its top level this context.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitKey {
    pub root: PathBuf,
    pub ctx: Option<CtxKey>,
}

/// [`Ctx`] with an order, for sorting unit keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CtxKey {
    Main,
    Server,
    Location,
}

impl CtxKey {
    fn of(c: Ctx) -> CtxKey {
        match c {
            Ctx::Main => CtxKey::Main,
            Ctx::Server => CtxKey::Server,
            Ctx::Location => CtxKey::Location,
        }
    }
}

/// One compilation and what was derived from it.
pub struct Unit {
    pub key: UnitKey,
    pub compiled: Compiled,
    /// Resolved despite errors: for hover and navigation only.
    pub table: RoutingTable,
    /// The key of each file, by file id.
    pub files: Vec<PathBuf>,
    /// File 0 is the synthetic root of a fragment: nothing in it is shown.
    pub synthetic: bool,
    pub stale: bool,
    lines: Vec<OnceCell<LineIndex>>,
    ctxs: Vec<OnceCell<Ctx>>,
}

impl Unit {
    fn compile(key: &UnitKey, docs: &Docs) -> Unit {
        let overlay = Overlay(docs);
        let wrapper = key.ctx.and_then(|c| wrapper(&key.root, c));
        let synthetic = wrapper.is_some();
        let (path, bytes) = match wrapper {
            Some(text) => (synthetic_path(&key.root), text.into_bytes()),
            None => (
                key.root.clone(),
                overlay.read(&key.root).unwrap_or_default(),
            ),
        };
        let (compiled, table) =
            crate::confc::analyze(path, bytes, &CompileOptions::default(), &overlay);
        let files: Vec<PathBuf> = compiled
            .sources
            .files()
            .map(|(id, f)| {
                if synthetic && id == 0 {
                    f.path.clone()
                } else {
                    uri::key(&f.path)
                }
            })
            .collect();
        let n = files.len();
        Unit {
            key: key.clone(),
            compiled,
            table,
            files,
            synthetic,
            stale: false,
            lines: (0..n).map(|_| OnceCell::new()).collect(),
            ctxs: (0..n).map(|_| OnceCell::new()).collect(),
        }
    }

    /// The file id of a file key (not the synthetic root).
    pub fn file_of(&self, key: &Path) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f == key)
            .filter(|&i| self.visible(i as FileId))
            .map(|i| i as FileId)
    }

    /// Whether diagnostics in this file are shown (not the synthetic root).
    pub fn visible(&self, file: FileId) -> bool {
        !(self.synthetic && file == 0)
    }

    pub fn text(&self, file: FileId) -> &str {
        &self.compiled.sources.file(file).text
    }

    pub fn lines(&self, file: FileId) -> &LineIndex {
        self.lines[file as usize].get_or_init(|| LineIndex::new(self.text(file)))
    }

    /// The context of a file's top level: where the include that brought it in stands.
    pub fn ctx(&self, file: FileId) -> Ctx {
        if let Some(c) = self.ctxs[file as usize].get() {
            return *c;
        }
        let c = match self.compiled.sources.file(file).included_from {
            None => Ctx::Main,
            // An include never comes from a later file, so this recursion ends.
            Some(from) if from.file < file => {
                let base = self.ctx(from.file);
                let items = syntax::parse_text(self.text(from.file));
                syntax::enclosing(&items, from.start as usize, base).ctx
            }
            Some(_) => Ctx::Main,
        };
        *self.ctxs[file as usize].get_or_init(|| c)
    }
}

/// Where the synthetic root of a fragment pretends to be: beside it, under a name no
/// file has.
fn synthetic_path(fragment: &Path) -> PathBuf {
    let name = fragment
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    fragment.with_file_name(format!("{name}.webserv-lsp-context"))
}

/// The synthetic root that includes `fragment` in context `ctx` (`None` for a path that
/// cannot be written in a config).
fn wrapper(fragment: &Path, ctx: CtxKey) -> Option<String> {
    let literal = glob::Pattern::escape(fragment.to_str()?);
    let arg = format!("\"{}\"", literal.replace('\\', "\\\\").replace('"', "\\\""));
    Some(match ctx {
        CtxKey::Main => format!("include {arg};\n"),
        CtxKey::Server => format!("server {{\ninclude {arg};\n}}\n"),
        CtxKey::Location => format!("server {{\nlocation / {{\ninclude {arg};\n}}\n}}\n"),
    })
}

/// The unit a file forms on its own: itself when it has `server` blocks at the top
/// level, else a fragment in the context its top-level directives fit best (ties go to
/// the outer context), so no directive of it is reported as not allowed when some
/// context allows it.
pub fn implied_key(path: &Path, items: &[Directive]) -> UnitKey {
    let lookup = |d: &Directive| schema::lookup(&d.name.text);
    if items
        .iter()
        .any(|d| lookup(d).is_some_and(|s| matches!(s.apply, Apply::Server)))
    {
        return UnitKey {
            root: path.to_path_buf(),
            ctx: None,
        };
    }
    let fits = |c: Ctx| {
        items
            .iter()
            .filter(|d| lookup(d).is_some_and(|s| s.contexts.contains(&c)))
            .count()
    };
    let mut best = Ctx::Main;
    for c in [Ctx::Server, Ctx::Location] {
        if fits(c) > fits(best) {
            best = c;
        }
    }
    UnitKey {
        root: path.to_path_buf(),
        ctx: Some(CtxKey::of(best)),
    }
}

/// The workspace's include graph, read from the disk.
#[derive(Default)]
pub struct Index {
    /// File → the files its includes name.
    includes: HashMap<PathBuf, Vec<PathBuf>>,
    /// The unit each indexed file forms on its own.
    implied: HashMap<PathBuf, UnitKey>,
}

/// Limits of the workspace scan: it must stay fast in a home directory.
const MAX_INDEXED: usize = 2000;
const MAX_DEPTH: usize = 8;
const MAX_INDEXED_SIZE: u64 = 4 << 20;

impl Index {
    /// Reads every `*.conf` under the folders (hidden directories, `target` and
    /// `node_modules` skipped).
    pub fn build(folders: &[PathBuf]) -> Index {
        let mut confs = Vec::new();
        let mut dirs = 0;
        for f in folders {
            walk(f, 0, &mut confs, &mut dirs);
        }
        let mut index = Index::default();
        for path in confs {
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.len() > MAX_INDEXED_SIZE {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let items = syntax::parse_text(&text);
            let key = uri::key(&path);
            let mut names = Vec::new();
            includes_of(&items, &mut names);
            let dir = path.parent().unwrap_or(Path::new("/"));
            let targets = names
                .iter()
                .flat_map(|n| resolve_include(dir, n, &Disk))
                .map(|p| uri::key(&p))
                .collect();
            index.implied.insert(key.clone(), implied_key(&key, &items));
            index.includes.insert(key, targets);
        }
        index
    }

    /// The units of the top-level configs (included by no other) that include `key`,
    /// directly or not, sorted.
    pub fn roots_of(&self, key: &Path) -> Vec<UnitKey> {
        let mut parents: HashMap<&Path, Vec<&Path>> = HashMap::new();
        for (from, tos) in &self.includes {
            for to in tos {
                parents
                    .entry(to.as_path())
                    .or_default()
                    .push(from.as_path());
            }
        }
        let mut seen = HashSet::new();
        let mut todo = vec![key];
        let mut roots = Vec::new();
        while let Some(p) = todo.pop() {
            for &up in parents.get(p).into_iter().flatten() {
                if !seen.insert(up) {
                    continue;
                }
                let top = parents.get(up).is_none_or(|v| v.is_empty());
                if top && up != key {
                    roots.push(self.implied.get(up).cloned().unwrap_or(UnitKey {
                        root: up.to_path_buf(),
                        ctx: None,
                    }));
                }
                todo.push(up);
            }
        }
        roots.sort();
        roots
    }
}

/// Directories read at most by one scan (a workspace opened at `~` or `/`).
const MAX_DIRS: usize = 5000;

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>, dirs: &mut usize) {
    if depth > MAX_DEPTH || out.len() >= MAX_INDEXED || *dirs >= MAX_DIRS {
        return;
    }
    *dirs += 1;
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().take(MAX_INDEXED).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                walk(&e.path(), depth + 1, out, dirs);
            }
        } else if ft.is_file() && name.ends_with(".conf") {
            if out.len() >= MAX_INDEXED {
                return;
            }
            out.push(e.path());
        }
    }
}

/// The arguments of every `include` in a tree.
fn includes_of(items: &[Directive], out: &mut Vec<String>) {
    for d in items {
        if load::is_include(d) && d.args.len() == 1 {
            out.push(d.args[0].text.clone());
        }
        if let Some(b) = d.block() {
            includes_of(&b.items, out);
        }
    }
}

/// The files an include argument names, as the loader finds them.
pub fn resolve_include(dir: &Path, arg: &str, files: &dyn FileSource) -> Vec<PathBuf> {
    let pattern = if Path::new(arg).is_absolute() {
        PathBuf::from(arg)
    } else {
        dir.join(arg)
    };
    if arg.contains(['*', '?', '[']) {
        pattern
            .to_str()
            .and_then(|p| files.glob(p).ok())
            .unwrap_or_default()
    } else if files.exists(&pattern) {
        vec![pattern]
    } else {
        Vec::new()
    }
}

/// Everything the server tracks.
#[derive(Default)]
pub struct World {
    pub docs: Docs,
    pub units: HashMap<UnitKey, Unit>,
    pub folders: Vec<PathBuf>,
    index: Option<Index>,
}

impl World {
    /// A file's content changed (opened, edited, closed): the units that read it are stale.
    pub fn touched(&mut self, key: &Path) {
        for u in self.units.values_mut() {
            if u.key.root == key || u.files.iter().any(|f| f == key) {
                u.stale = true;
            }
        }
    }

    /// `didOpen`. `None` when the document is not a file.
    pub fn open(&mut self, params: serde_json::Value) -> Option<()> {
        let p: DidOpenTextDocumentParams = serde_json::from_value(params).ok()?;
        let d = p.text_document;
        let key = uri::key(&uri::to_path(&d.uri)?);
        self.docs
            .insert(key.clone(), Doc::new(d.uri, d.text, d.version));
        self.opened(&key);
        Some(())
    }

    /// `didChange`: the edits applied in order. `None` for a document that is not open.
    pub fn change(&mut self, params: serde_json::Value, enc: Encoding) -> Option<()> {
        let p: DidChangeTextDocumentParams = serde_json::from_value(params).ok()?;
        let key = uri::key(&uri::to_path(&p.text_document.uri)?);
        let doc = self.docs.get_mut(&key)?;
        for c in p.content_changes {
            text::apply_change(&mut doc.text, c.range, &c.text, enc);
        }
        doc.version = p.text_document.version;
        doc.changed();
        self.touched(&key);
        Some(())
    }

    /// `didClose`: the file is read from the disk again.
    pub fn close(&mut self, params: serde_json::Value) -> Option<()> {
        let p: DidCloseTextDocumentParams = serde_json::from_value(params).ok()?;
        let key = uri::key(&uri::to_path(&p.text_document.uri)?);
        self.docs.remove(&key)?;
        self.touched(&key);
        Some(())
    }

    /// `didChangeWorkspaceFolders`.
    pub fn folders_changed(&mut self, params: &serde_json::Value) -> Option<()> {
        let event = params.get("event")?;
        let uris = |k: &str| -> Vec<PathBuf> {
            event
                .get(k)
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|f| f.get("uri")?.as_str()?.parse::<Uri>().ok())
                .filter_map(|u| uri::to_path(&u))
                .collect()
        };
        let removed = uris("removed");
        self.folders.retain(|f| !removed.contains(f));
        self.folders.extend(uris("added"));
        self.disk_changed();
        Some(())
    }

    /// A document was opened: a `.conf` the workspace index has not seen (a new file)
    /// may include others, so the index is read again.
    fn opened(&mut self, key: &Path) {
        let unseen = self
            .index
            .as_ref()
            .is_some_and(|i| !i.implied.contains_key(key));
        if unseen && self.folders.iter().any(|f| key.starts_with(f)) {
            self.index = None;
        }
        self.touched(key);
    }

    /// Files changed on disk: everything is read again.
    pub fn disk_changed(&mut self) {
        self.index = None;
        for u in self.units.values_mut() {
            u.stale = true;
        }
    }

    /// The unit an open document belongs to.
    pub fn unit_key(&mut self, key: &Path) -> UnitKey {
        if self.index.is_none() {
            self.index = Some(Index::build(&self.folders));
        }
        self.unit_key_cached(key)
    }

    /// [`World::unit_key`] with the workspace index as it is (not rebuilt).
    pub fn unit_key_cached(&self, key: &Path) -> UnitKey {
        let mut from_units: Vec<&UnitKey> = self
            .units
            .values()
            .filter(|u| u.key.root != key && u.file_of(key).is_some())
            .map(|u| &u.key)
            .collect();
        from_units.sort();
        if let Some(k) = from_units.first() {
            return (*k).clone();
        }
        if let Some(k) = self
            .index
            .as_ref()
            .and_then(|i| i.roots_of(key).into_iter().next())
        {
            return k;
        }
        match self.docs.get(key) {
            Some(d) => implied_key(key, d.tree()),
            None => UnitKey {
                root: key.to_path_buf(),
                ctx: None,
            },
        }
    }

    /// Brings the units of all open documents up to date; returns whether any was
    /// compiled.
    pub fn refresh(&mut self) -> bool {
        let mut any = false;
        // A new unit can claim documents (an opened root includes an open fragment):
        // look again until nothing moves.
        for _ in 0..3 {
            let keys: Vec<PathBuf> = self.docs.keys().cloned().collect();
            let wanted: HashSet<UnitKey> = keys.iter().map(|k| self.unit_key(k)).collect();
            self.units.retain(|k, u| wanted.contains(k) && !u.stale);
            let missing: Vec<UnitKey> = wanted
                .into_iter()
                .filter(|k| !self.units.contains_key(k))
                .collect();
            if missing.is_empty() {
                break;
            }
            any = true;
            for k in missing {
                let u = Unit::compile(&k, &self.docs);
                self.units.insert(k, u);
            }
        }
        any
    }
}
