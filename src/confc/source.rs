//! Source files, spans and line/column mapping.
//!
//! Every AST node carries a [`Span`]: a file id and a byte range that slices back to the
//! exact source text. Line and column numbers are computed from the file's line index
//! only when a diagnostic or a provenance is printed.

use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceMap`].
pub type FileId = u32;

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    /// The smallest span covering both (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// An empty span right after this one.
    pub fn after(self) -> Span {
        Span {
            file: self.file,
            start: self.end,
            end: self.end,
        }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.end == self.start
    }
}

/// Stride of [`SourceFile`]'s character-count marks, in bytes.
const MARK_STRIDE: usize = 256;

/// One loaded file.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user (or the including directive) named it, for display.
    pub path: PathBuf,
    /// The text; invalid UTF-8 is replaced so that spans stay printable.
    pub text: String,
    /// Byte offsets at which each line starts.
    line_starts: Vec<u32>,
    /// Characters before byte `k * MARK_STRIDE`, so a column costs at most one stride of
    /// counting even on a 64 MiB line (empty for ASCII text, where columns are bytes).
    char_marks: Vec<u32>,
    /// The `include` directive that brought this file in, if any.
    pub included_from: Option<Span>,
}

impl SourceFile {
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line] as usize;
        let end = (offset as usize).min(self.text.len());
        let col = self.chars_before(end) - self.chars_before(start);
        (line as u32 + 1, col as u32 + 1)
    }

    /// How many lines the file has (a final line break ends the last line; it does
    /// not start another).
    pub fn line_count(&self) -> u32 {
        let n = self.line_starts.len() as u32;
        if n > 1 && self.text.ends_with('\n') {
            n - 1
        } else {
            n
        }
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text(&self, line: u32) -> &str {
        let i = line.saturating_sub(1) as usize;
        let start = self
            .line_starts
            .get(i)
            .map_or(self.text.len(), |&s| s as usize);
        let end = self
            .line_starts
            .get(i + 1)
            .map_or(self.text.len(), |&s| s as usize);
        let l = &self.text[start.min(end)..end];
        l.strip_suffix('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .unwrap_or(l)
    }

    /// Characters that start before byte `at` (a char is counted at its first byte).
    fn chars_before(&self, at: usize) -> usize {
        if self.char_marks.is_empty() {
            return at;
        }
        let k = at / MARK_STRIDE;
        let from = k * MARK_STRIDE;
        let lead = self.text.as_bytes()[from..at]
            .iter()
            .filter(|&&b| (b as i8) >= -0x40)
            .count();
        self.char_marks[k] as usize + lead
    }

    /// The directory relative paths in this file are resolved against.
    pub fn dir(&self) -> &Path {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }

    /// A path argument written in this file, resolved against [`SourceFile::dir`] and
    /// normalised once: in a file in the current directory it is kept as written
    /// (`./missing-dir` stays `./missing-dir`, never `././missing-dir`); elsewhere the
    /// `.` segments the join leaves inside are dropped (`./www` in `conf/site.conf` is
    /// `conf/www`). A trailing `/` is kept (it matters to `alias`), and so is `..`
    /// (dropping it with the segment before would be wrong across a symlink).
    pub fn resolve(&self, written: &str) -> PathBuf {
        let p = Path::new(written);
        let dir = match self.path.parent() {
            Some(dir) if !p.is_absolute() && !matches!(dir.to_str(), Some("" | ".")) => dir,
            _ => return p.to_path_buf(),
        };
        let joined = dir.join(p);
        let bytes = joined.as_os_str().as_bytes();
        let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
        for (i, seg) in bytes.split(|&b| b == b'/').enumerate() {
            if i > 0 && (seg == b"." || seg.is_empty()) {
                continue;
            }
            if i > 0 && out != b"/" {
                out.push(b'/');
            }
            out.extend_from_slice(if seg.is_empty() { b"/" } else { seg });
        }
        if written.ends_with('/') && !out.ends_with(b"/") {
            out.push(b'/');
        }
        PathBuf::from(std::ffi::OsString::from_vec(out))
    }
}

/// All files that took part in one compilation.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, path: PathBuf, text: String, included_from: Option<Span>) -> FileId {
        let mut line_starts = vec![0u32];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i as u32 + 1),
        );
        let char_marks = if text.is_ascii() {
            Vec::new()
        } else {
            let mut marks = vec![0u32];
            for chunk in text.as_bytes().chunks(MARK_STRIDE) {
                let lead = chunk.iter().filter(|&&b| (b as i8) >= -0x40).count();
                marks.push(marks[marks.len() - 1] + lead as u32);
            }
            marks
        };
        self.files.push(SourceFile {
            path,
            text,
            line_starts,
            char_marks,
            included_from,
        });
        (self.files.len() - 1) as FileId
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id as usize]
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (i as FileId, f))
    }

    /// The source text a span covers.
    pub fn slice(&self, span: Span) -> &str {
        let text = &self.file(span.file).text;
        text.get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// 1-based line of the span's start.
    pub fn line(&self, span: Span) -> u32 {
        self.file(span.file).line_col(span.start).0
    }

    /// `path:line` of the span's start, for provenance in `routes` and `explain`.
    pub fn location(&self, span: Span) -> String {
        format!(
            "{}:{}",
            self.file(span.file).path.display(),
            self.line(span)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(config: &str, written: &str) -> String {
        let mut m = SourceMap::new();
        let id = m.add(PathBuf::from(config), String::new(), None);
        m.file(id).resolve(written).display().to_string()
    }

    #[test]
    fn paths_are_resolved_and_normalised_once() {
        // In the current directory: as written.
        assert_eq!(resolve("site.conf", "./missing-dir"), "./missing-dir");
        assert_eq!(resolve("site.conf", "www"), "www");
        // Elsewhere: joined, without the `.` segments.
        assert_eq!(resolve("conf/site.conf", "./www"), "conf/www");
        assert_eq!(resolve("conf/site.conf", "."), "conf");
        assert_eq!(resolve("conf/site.conf", "a/./b//c"), "conf/a/b/c");
        assert_eq!(resolve("./conf/site.conf", "www"), "./conf/www");
        assert_eq!(resolve("./site.conf", "./www"), "./www");
        assert_eq!(resolve("/etc/w/site.conf", "www"), "/etc/w/www");
        // `..` stays (a symlink may sit before it); a trailing `/` stays (alias).
        assert_eq!(
            resolve("conf/site.conf", "../_www/docs/"),
            "conf/../_www/docs/"
        );
        assert_eq!(resolve("conf/site.conf", "/abs/./x"), "/abs/./x");
    }
}
