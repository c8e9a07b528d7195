//! The config compiler: text → [`table::RoutingTable`], or diagnostics.
//!
//! Passes: `load` (read, `parse`, expand includes) → `lower` (schema checks and typed
//! values per block) → `resolve` (inheritance via `merge`, cross-entity checks, indexes,
//! lints) → table. Compilation never panics and never stops at the first error; a table
//! exists iff there are no errors.

pub mod ast;
pub mod check;
pub mod diag;
pub mod htpasswd;
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
pub mod tls;
pub mod values;
pub mod vars;

use std::path::{Path, PathBuf};

use diag::Diags;
use source::SourceMap;
use table::RoutingTable;

/// What a compilation looks at besides the text.
#[derive(Clone, Copy, Debug)]
pub struct CompileOptions {
    /// Lints that read the file system (missing root, interpreter, upload store).
    pub fs_lints: bool,
    /// The time certificates are judged against (expired, not valid yet, expiring
    /// soon), in seconds since the Unix epoch; `None`: the system clock. Snapshot tests
    /// fix it.
    pub now: Option<i64>,
}

impl CompileOptions {
    /// No look at the file system beyond the config files themselves and the
    /// certificates they name (which the table holds, as it holds included files).
    pub fn hermetic() -> CompileOptions {
        CompileOptions {
            fs_lints: false,
            now: None,
        }
    }
}

impl Default for CompileOptions {
    fn default() -> CompileOptions {
        CompileOptions {
            fs_lints: true,
            now: None,
        }
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
    compile_source(path, bytes, opts, &load::Disk)
}

/// Compiles bytes read from `path`, reading included files from `files` (an editor's open
/// buffers over the disk).
pub fn compile_source(
    path: PathBuf,
    bytes: Vec<u8>,
    opts: &CompileOptions,
    files: &dyn load::FileSource,
) -> Compiled {
    let (mut compiled, table) = compile_all(path, bytes, opts, files);
    if !compiled.diags.has_errors() {
        compiled.table = Some(table);
    }
    compiled
}

/// [`compile_source`], and the table resolved from whatever lowered cleanly even when
/// there are errors (`Compiled::table` stays `None` then). For editor hover and
/// navigation only: a table built past errors is a best effort, never served.
pub fn analyze(
    path: PathBuf,
    bytes: Vec<u8>,
    opts: &CompileOptions,
    files: &dyn load::FileSource,
) -> (Compiled, RoutingTable) {
    compile_all(path, bytes, opts, files)
}

fn compile_all(
    path: PathBuf,
    bytes: Vec<u8>,
    opts: &CompileOptions,
    files: &dyn load::FileSource,
) -> (Compiled, RoutingTable) {
    let mut sources = SourceMap::new();
    let mut diags = Diags::default();
    let canon = path.canonicalize().unwrap_or_else(|_| path.clone());
    let (id, ok) = load::add_source(path, bytes, None, &mut sources, &mut diags);
    let items = if ok {
        load::parse_file(id, files, &mut sources, &mut diags, &mut vec![canon])
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
            now: opts.now.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64)
            }),
        },
        &mut diags,
    );
    if main.servers.len() >= BACKGROUND_DROP {
        // Freeing a few hundred MB of raw settings takes tens of ms: let another thread
        // do it (`check` exits without waiting, a reload does not stall).
        let _ = std::thread::Builder::new().spawn(move || drop(main));
    }
    diags.sort();
    let compiled = Compiled {
        sources,
        diags,
        table: None,
    };
    (compiled, table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Files in memory, as an editor's buffers would be.
    struct Memory(HashMap<PathBuf, &'static str>);

    impl load::FileSource for Memory {
        fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
            self.0
                .get(path)
                .map(|t| t.as_bytes().to_vec())
                .ok_or_else(|| std::io::ErrorKind::NotFound.into())
        }
        fn exists(&self, path: &Path) -> bool {
            self.0.contains_key(path)
        }
        fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, glob::PatternError> {
            let p = glob::Pattern::new(pattern)?;
            let mut v: Vec<PathBuf> = self
                .0
                .keys()
                .filter(|k| p.matches_path(k))
                .cloned()
                .collect();
            v.sort();
            Ok(v)
        }
    }

    #[test]
    fn includes_come_from_the_file_source() {
        let files = Memory(HashMap::from([
            (PathBuf::from("/m/a.conf"), "autoindex maybe;\n"),
            (PathBuf::from("/m/s/1.conf"), "server { listen 81; }\n"),
        ]));
        let root = "include a.conf;\ninclude s/*.conf;\n";
        let c = compile_source(
            PathBuf::from("/m/root.conf"),
            root.as_bytes().to_vec(),
            &CompileOptions::hermetic(),
            &files,
        );
        let codes: Vec<_> = c.diags.list.iter().map(|d| d.code.slug()).collect();
        assert_eq!(codes, ["value::flag"]);
        assert_eq!(c.sources.file(1).path, Path::new("/m/a.conf"));
        let (c, table) = analyze(
            PathBuf::from("/m/root.conf"),
            root.as_bytes().to_vec(),
            &CompileOptions::hermetic(),
            &files,
        );
        assert!(c.table.is_none(), "errors: no table in `Compiled`");
        assert_eq!(
            table.servers.len(),
            1,
            "the best-effort table is still there"
        );
    }

    /// Applying a diagnostic's fix to the text removes that diagnostic.
    #[test]
    fn fixes_resolve_their_diagnostics() {
        let cases = [
            (
                "server { lisen 80; }\n",
                "schema::unknown-directive",
                "server { listen 80; }\n",
            ),
            (
                "server { autoindex yes; }\n",
                "value::flag",
                "server { autoindex on; }\n",
            ),
            (
                "server { allow_methods get; }\n",
                "value::method",
                "server { allow_methods GET; }\n",
            ),
            (
                "error_log stderr warm;\nserver {}\n",
                "value::log-level",
                "error_log stderr warn;\nserver {}\n",
            ),
            (
                "server { listen 80 default_srever; }\n",
                "value::parameter",
                "server { listen 80 default_server; }\n",
            ),
            (
                "server {\n    listen 80\n    root /x;\n}\n",
                "syntax::missing-semicolon",
                "server {\n    listen 80;\n    root /x;\n}\n",
            ),
            (
                "server {\n    root /x\n    frob on;\n}\n",
                "syntax::missing-semicolon",
                "server {\n    root /x;\n    frob on;\n}\n",
            ),
            (
                "server {\n    listen 80;",
                "syntax::unclosed-block",
                "server {\n    listen 80;\n}\n",
            ),
            (
                "server {\n    root /a;\n    root /b;\n}\n",
                "schema::duplicate-directive",
                "server {\n    root /a;\n}\n",
            ),
            (
                "server { root /a; root /b; }\n",
                "schema::duplicate-directive",
                "server { root /a;  }\n",
            ),
        ];
        for (text, code, fixed) in cases {
            let c = compile_str(text, &CompileOptions::hermetic());
            let d = c
                .diags
                .list
                .iter()
                .find(|d| d.code.slug() == code)
                .unwrap_or_else(|| panic!("{code} in {text:?}: {:?}", c.diags.list));
            let fix = d.fix.as_ref().unwrap_or_else(|| panic!("{code} has a fix"));
            let mut t = text.to_string();
            t.replace_range(fix.span.start as usize..fix.span.end as usize, &fix.text);
            assert_eq!(t, fixed, "{}", fix.title);
            let again = compile_str(&t, &CompileOptions::hermetic());
            assert!(
                again.diags.list.iter().all(|d| d.code.slug() != code),
                "{t:?}: {:?}",
                again.diags.list
            );
        }
    }
}
