//! Positions: byte offsets (the compiler's spans) ↔ LSP line/character in UTF-16 code
//! units (the protocol's default) or UTF-8 bytes (when the client negotiates it), and
//! applying edits. Out-of-range or mid-character positions are clamped, never trusted.

use lsp_types::{Position, Range};

/// How the client counts characters in a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

/// Byte offsets at which each line starts (lines end at `\n`).
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<u32>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i as u32 + 1));
        LineIndex { starts }
    }

    /// The position of a byte offset (clamped to the text, moved back to a char boundary).
    pub fn position(&self, text: &str, offset: usize, enc: Encoding) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s as usize <= offset) - 1;
        let start = self.starts[line] as usize;
        let prefix = &text[start..offset];
        let character = match enc {
            Encoding::Utf8 => prefix.len(),
            Encoding::Utf16 => prefix.chars().map(char::len_utf16).sum(),
        };
        Position::new(line as u32, character as u32)
    }

    pub fn range(&self, text: &str, start: usize, end: usize, enc: Encoding) -> Range {
        Range::new(
            self.position(text, start, enc),
            self.position(text, end, enc),
        )
    }

    /// The byte offset of a position. A line past the end is the end of the text; a
    /// character past the end of its line is the line's end; a position inside a
    /// character is that character's start.
    pub fn offset(&self, text: &str, pos: Position, enc: Encoding) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return text.len();
        };
        let start = start as usize;
        let end = self
            .starts
            .get(pos.line as usize + 1)
            .map_or(text.len(), |&s| s as usize - 1);
        let line = &text[start..end];
        let want = pos.character as usize;
        let mut units = 0;
        for (i, c) in line.char_indices() {
            if units >= want {
                return start + i;
            }
            units += match enc {
                Encoding::Utf8 => c.len_utf8(),
                Encoding::Utf16 => c.len_utf16(),
            };
            if units > want {
                return start + i;
            }
        }
        end
    }

    /// The byte range of an LSP range (start and end clamped, in order).
    pub fn byte_range(&self, text: &str, r: Range, enc: Encoding) -> (usize, usize) {
        let a = self.offset(text, r.start, enc);
        let b = self.offset(text, r.end, enc);
        (a.min(b), a.max(b))
    }
}

/// Applies one `didChange` content change: a range replaced, or the whole text.
pub fn apply_change(text: &mut String, range: Option<Range>, new_text: &str, enc: Encoding) {
    match range {
        None => {
            text.clear();
            text.push_str(new_text);
        }
        Some(r) => {
            let (a, b) = LineIndex::new(text).byte_range(text, r, enc);
            text.replace_range(a..b, new_text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_and_utf8_columns() {
        let text = "a😀é b\nxy";
        let idx = LineIndex::new(text);
        let b = text.find('b').unwrap();
        assert_eq!(idx.position(text, b, Encoding::Utf16), Position::new(0, 5));
        assert_eq!(idx.position(text, b, Encoding::Utf8), Position::new(0, 8));
        assert_eq!(idx.offset(text, Position::new(0, 5), Encoding::Utf16), b);
        assert_eq!(idx.offset(text, Position::new(0, 8), Encoding::Utf8), b);
        // Inside the surrogate pair / the multi-byte sequence: the character's start.
        assert_eq!(idx.offset(text, Position::new(0, 2), Encoding::Utf16), 1);
        assert_eq!(idx.offset(text, Position::new(0, 3), Encoding::Utf8), 1);
        // Past the line's end, past the last line.
        assert_eq!(idx.offset(text, Position::new(0, 99), Encoding::Utf16), 9);
        assert_eq!(
            idx.offset(text, Position::new(9, 0), Encoding::Utf16),
            text.len()
        );
        assert_eq!(idx.position(text, 99, Encoding::Utf16), Position::new(1, 2));
        assert_eq!(idx.position(text, 2, Encoding::Utf16), Position::new(0, 1));
    }

    #[test]
    fn edits() {
        let mut t = String::from("root /a;\nindex x;\n");
        let r = Range::new(Position::new(1, 6), Position::new(1, 7));
        apply_change(&mut t, Some(r), "i.html", Encoding::Utf16);
        assert_eq!(t, "root /a;\nindex i.html;\n");
        apply_change(&mut t, None, "x", Encoding::Utf16);
        assert_eq!(t, "x");
    }
}
