//! The config compiler: text → [`table::RoutingTable`], or diagnostics.
//!
//! Passes: `load` (read, `parse`, expand includes) → `lower` (schema checks and typed
//! values per block) → `resolve` (inheritance via `merge`, cross-entity checks, indexes,
//! lints) → table. Compilation never panics and never stops at the first error; a table
//! exists iff there are no errors.

pub mod ast;
pub mod check;
pub mod diag;
pub mod load;
pub mod lower;
pub mod merge;
pub mod model;
pub mod par;
pub mod parse;
pub mod raw;
pub mod render;
pub mod resolve;
pub mod schema;
pub mod source;
pub mod table;
pub mod values;

use std::path::{Path, PathBuf};

use diag::Diags;
use source::SourceMap;
use table::RoutingTable;

/// What a compilation looks at besides the text.
#[derive(Clone, Copy, Debug)]
pub struct CompileOptions {
    /// Lints that read the file system (missing root, interpreter, upload store).
    pub fs_lints: bool,
}

impl CompileOptions {
    /// No look at the file system beyond the config files themselves.
    pub fn hermetic() -> CompileOptions {
        CompileOptions { fs_lints: false }
    }
}

impl Default for CompileOptions {
    fn default() -> CompileOptions {
        CompileOptions { fs_lints: true }
    }
}

/// The outcome of compiling one config.
#[derive(Debug)]
pub struct Compiled {
    pub sources: SourceMap,
    pub diags: Diags,
    /// `Some` iff there are no errors.
    pub table: Option<RoutingTable>,
}

/// Compiles a config file. `Err` only when the file itself cannot be read (exit code 2);
/// everything else is a diagnostic.
pub fn compile_file(path: &Path, opts: &CompileOptions) -> std::io::Result<Compiled> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(std::io::Error::other("is a directory"));
    }
    if meta.len() > load::MAX_FILE {
        return Err(std::io::Error::other("file is larger than 64 MiB"));
    }
    let bytes = load::read_file(path)?;
    Ok(compile_bytes(path.to_path_buf(), bytes, opts))
}

/// Compiles text as if it were a file at `./<string>` (tests, the embedded default).
pub fn compile_str(text: &str, opts: &CompileOptions) -> Compiled {
    compile_bytes(PathBuf::from("<string>"), text.as_bytes().to_vec(), opts)
}

/// Configs with this many servers have their intermediate form freed on another thread.
const BACKGROUND_DROP: usize = 1000;

/// Compiles bytes read from `path`.
pub fn compile_bytes(path: PathBuf, bytes: Vec<u8>, opts: &CompileOptions) -> Compiled {
    let mut sources = SourceMap::new();
    let mut diags = Diags::default();
    let canon = path.canonicalize().unwrap_or_else(|_| path.clone());
    let (id, ok) = load::add_source(path, bytes, None, &mut sources, &mut diags);
    let items = if ok {
        load::parse_file(id, &mut sources, &mut diags, &mut vec![canon])
    } else {
        Vec::new()
    };
    let main = lower::lower(&items, &sources, &mut diags);
    // The tree is done with: free it before resolution allocates, so its memory is reused
    // instead of fresh pages being faulted in.
    drop(items);
    let dir = sources.file(id).dir().to_path_buf();
    let table = resolve::resolve(
        &main,
        &sources,
        &dir,
        resolve::ResolveOptions {
            fs_lints: opts.fs_lints,
        },
        &mut diags,
    );
    if main.servers.len() >= BACKGROUND_DROP {
        // Freeing a few hundred MB of raw settings takes tens of ms: let another thread
        // do it (`check` exits without waiting, a reload does not stall).
        let _ = std::thread::Builder::new().spawn(move || drop(main));
    }
    diags.sort();
    let table = if diags.has_errors() {
        None
    } else {
        Some(table)
    };
    Compiled {
        sources,
        diags,
        table,
    }
}
