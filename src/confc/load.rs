//! Reading files and expanding `include` (sorted glob, relative to the including file,
//! cycles refused). Each included file keeps the span of the directive that included it,
//! so its diagnostics can say "included from here".

use std::path::{Path, PathBuf};

use super::ast::{Block, Body, Directive, Token};
use super::diag::{Code, Diag, Diags};
use super::parse::parse;
use super::schema::{self, Apply};
use super::source::{FileId, SourceMap, Span};

/// Largest config file read: far beyond any real config, small enough to stay fast.
pub const MAX_FILE: u64 = 64 << 20;

/// Where the compiler reads config files from: the disk, or (for an editor) open buffers
/// over the disk. Only the config files themselves and their includes go through it; the
/// lints' look at directories and interpreters always reads the disk.
pub trait FileSource: Sync {
    /// The bytes of a file ([`read_file`] on the disk).
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    /// Whether a file named without a glob exists.
    fn exists(&self, path: &Path) -> bool;
    /// The files a glob pattern matches, sorted.
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, glob::PatternError>;
}

/// The file system as it is.
pub struct Disk;

impl FileSource for Disk {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        read_file(path)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, glob::PatternError> {
        let mut v: Vec<PathBuf> = glob::glob(pattern)?
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        v.sort();
        Ok(v)
    }
}

/// Reads a file, refusing more than [`MAX_FILE`] bytes. The length is checked while
/// reading, not from the metadata: `/dev/zero` or a pipe report length 0.
pub fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(std::io::Error::other("file is larger than 64 MiB"));
    }
    Ok(bytes)
}

/// Reads bytes into the source map. Invalid UTF-8 becomes a diagnostic at the first bad
/// byte; the file is then not parsed (its tokens could not be trusted).
pub fn add_source(
    path: PathBuf,
    bytes: Vec<u8>,
    included_from: Option<Span>,
    sources: &mut SourceMap,
    diags: &mut Diags,
) -> (FileId, bool) {
    match String::from_utf8(bytes) {
        Ok(text) => (sources.add(path, text, included_from), true),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let bad_len = e.utf8_error().error_len().unwrap_or(1);
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let id = sources.add(path, text, included_from);
            // The replacement character is 3 bytes where the invalid sequence was.
            let _ = bad_len;
            diags.push(
                Diag::new(
                    Code::InvalidUtf8,
                    Span::new(id, at, at + '\u{FFFD}'.len_utf8()),
                    "the file is not valid UTF-8",
                )
                .label("invalid byte here")
                .help("save the file as UTF-8"),
            );
            (id, false)
        }
    }
}

/// Parses a file that is already in the source map and expands its includes.
pub fn parse_file(
    id: FileId,
    files: &dyn FileSource,
    sources: &mut SourceMap,
    diags: &mut Diags,
    stack: &mut Vec<PathBuf>,
) -> Vec<Directive> {
    let items = parse(id, &sources.file(id).text, &schema::is_directive, diags);
    if !items.iter().any(has_include) {
        // Nothing to splice: keep the tree as built instead of rebuilding every block.
        return items;
    }
    expand(items, files, sources, diags, stack)
}

/// Whether `d` or anything inside it is an `include`.
fn has_include(d: &Directive) -> bool {
    is_include(d) || d.block().is_some_and(|b| b.items.iter().any(has_include))
}

/// Whether `d` is an `include` directive.
pub fn is_include(d: &Directive) -> bool {
    matches!(schema::lookup(&d.name.text), Some(s) if matches!(s.apply, Apply::Include))
}

fn expand(
    items: Vec<Directive>,
    files: &dyn FileSource,
    sources: &mut SourceMap,
    diags: &mut Diags,
    stack: &mut Vec<PathBuf>,
) -> Vec<Directive> {
    let mut out = Vec::with_capacity(items.len());
    for mut d in items {
        if is_include(&d) && matches!(d.body, Body::Semi(_)) && d.args.len() == 1 {
            // Keep the directive (lower checks its context), then splice the files in.
            let included = include(&d, files, sources, diags, stack);
            out.push(d);
            out.extend(included);
            continue;
        }
        if let Body::Block(b) = d.body {
            let items = expand(b.items, files, sources, diags, stack);
            d.body = Body::Block(Block {
                open: b.open,
                close: b.close,
                items,
            });
        }
        out.push(d);
    }
    out
}

fn include(
    d: &Directive,
    files: &dyn FileSource,
    sources: &mut SourceMap,
    diags: &mut Diags,
    stack: &mut Vec<PathBuf>,
) -> Vec<Directive> {
    let arg = &d.args[0];
    let here = d.head_span();
    let pattern = sources.file(arg.span.file).resolve(&arg.text);
    let paths = include_paths(arg, pattern, files, diags);
    let mut out = Vec::new();
    for p in paths {
        let canon = p.canonicalize().unwrap_or_else(|_| p.clone());
        if stack.contains(&canon) {
            diags.push(
                Diag::new(
                    Code::IncludeCycle,
                    arg.span,
                    format!("`{}` includes itself", p.display()),
                )
                .label("this include closes a cycle")
                .help("remove the include, or include the shared part from one place only"),
            );
            continue;
        }
        let bytes = match files.read(&p) {
            Ok(b) => b,
            Err(e) => {
                diags.push(
                    Diag::new(
                        Code::Unreadable,
                        arg.span,
                        format!("cannot read `{}`: {e}", p.display()),
                    )
                    .label("included here")
                    .help("check the path and its permissions"),
                );
                continue;
            }
        };
        let (id, ok) = add_source(p, bytes, Some(here), sources, diags);
        if !ok {
            continue;
        }
        stack.push(canon);
        out.extend(parse_file(id, files, sources, diags, stack));
        stack.pop();
    }
    out
}

/// The files an `include` of `pattern` (its argument `arg`, resolved) names: the matches
/// of a glob, or the one file, which must exist.
fn include_paths(
    arg: &Token,
    pattern: PathBuf,
    files: &dyn FileSource,
    diags: &mut Diags,
) -> Vec<PathBuf> {
    let has_glob = arg.text.contains(['*', '?', '[']);
    if has_glob {
        let Some(pat) = pattern.to_str() else {
            return Vec::new();
        };
        match files.glob(pat) {
            Ok(v) => v,
            Err(e) => {
                diags.push(
                    Diag::new(
                        Code::IncludeGlob,
                        arg.span,
                        format!("bad include pattern: {}", e.msg),
                    )
                    .label("invalid glob")
                    .help("use `*`, `?` and `[...]` as in a shell"),
                );
                Vec::new()
            }
        }
    } else {
        if !files.exists(&pattern) {
            diags.push(
                Diag::new(
                    Code::IncludeNotFound,
                    arg.span,
                    format!("included file `{}` does not exist", pattern.display()),
                )
                .label("no such file")
                .help("paths are relative to the directory of the file that includes them"),
            );
            return Vec::new();
        }
        vec![pattern]
    }
}
