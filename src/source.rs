//! Source text and its coordinates: byte offset ↔ line/column, in Unicode scalar
//! values for humans and in UTF-16 code units for LSP and SARIF consumers.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A byte range into a file's text.
pub type Span = Range<usize>;

/// One file's text, shared cheaply between stages and threads.
#[derive(Debug, Clone)]
pub struct SourceFile {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The path as the user should see it (relative to the working directory when possible).
    path: PathBuf,
    text: String,
    line_starts: Vec<usize>,
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(memchr_newlines(&text).map(|i| i + 1))
            .collect();
        Self {
            inner: Arc::new(Inner {
                path: path.into(),
                text,
                line_starts,
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn text(&self) -> &str {
        &self.inner.text
    }

    /// The path with forward slashes, as every output format shows it.
    pub fn display_path(&self) -> String {
        display_path(&self.inner.path)
    }

    pub fn line_starts(&self) -> &[usize] {
        &self.inner.line_starts
    }

    /// 0-based line index of a byte offset (offsets past the end clamp to the last line).
    pub fn line_index(&self, offset: usize) -> usize {
        match self.inner.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    /// Clamp an offset into the text and onto a character boundary, so that
    /// a span from anywhere can be rendered without slicing mid-character.
    pub fn clamp(&self, offset: usize) -> usize {
        let text = self.text();
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// 1-based line and column, the column counted in Unicode scalar values.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = self.clamp(offset);
        let line = self.line_index(offset);
        let start = self.inner.line_starts[line];
        LineCol {
            line: line + 1,
            column: self.text()[start..offset].chars().count() + 1,
        }
    }

    /// 0-based line and column, the column counted in UTF-16 code units (LSP, SARIF).
    pub fn line_col_utf16(&self, offset: usize) -> (usize, usize) {
        let offset = self.clamp(offset);
        let line = self.line_index(offset);
        let start = self.inner.line_starts[line];
        let column = self.text()[start..offset]
            .chars()
            .map(char::len_utf16)
            .sum();
        (line, column)
    }

    /// The byte range of a 0-based line, its newline included; None past the
    /// last line.
    fn line_bounds(&self, line: usize) -> Option<(usize, usize)> {
        let start = *self.inner.line_starts.get(line)?;
        let end = self
            .inner
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text().len());
        Some((start, end))
    }

    /// The byte offset of a 0-based line and UTF-16 column (LSP positions); clamps
    /// to the line's end.
    pub fn offset_of_utf16(&self, line: usize, column: usize) -> usize {
        let Some((start, end)) = self.line_bounds(line) else {
            return self.text().len();
        };
        let mut units = 0;
        for (i, c) in self.text()[start..end].char_indices() {
            if units >= column || c == '\n' {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }
}

impl SourceFile {
    /// 0-based line and column, the column counted in bytes (LSP's `utf-8`
    /// position encoding).
    pub fn line_col_utf8(&self, offset: usize) -> (usize, usize) {
        let offset = self.clamp(offset);
        let line = self.line_index(offset);
        (line, offset - self.inner.line_starts[line])
    }

    /// The byte offset of a 0-based line and byte column; clamps to the
    /// line's end and back onto a character boundary.
    pub fn offset_of_utf8(&self, line: usize, column: usize) -> usize {
        let Some((start, end)) = self.line_bounds(line) else {
            return self.text().len();
        };
        // Not past the line's own end: its newline, or the text's end.
        let end = if end > start && self.text().as_bytes()[end - 1] == b'\n' {
            end - 1
        } else {
            end
        };
        self.clamp(start + column.min(end - start))
    }
}

impl SourceFile {
    /// A copy whose text has every byte in `spans` masked with `*` (multi-byte
    /// characters become as many `*` as they have bytes), so offsets, lines
    /// and columns before each span stay true and no secret reaches output.
    pub fn redacted(&self, spans: &[Span]) -> Self {
        let mut bytes = self.text().as_bytes().to_vec();
        for span in spans {
            let start = self.clamp(span.start);
            let end = self.clamp(span.end);
            for b in &mut bytes[start..end] {
                if *b != b'\n' {
                    *b = b'*';
                }
            }
        }
        let text = String::from_utf8(bytes).expect("whole characters were replaced by ASCII");
        Self::new(self.path(), text)
    }
}

fn memchr_newlines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter_map(|(i, b)| (b == b'\n').then_some(i))
}

/// A path with forward slashes and no leading `./`, stable across platforms.
pub fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    match s.strip_prefix("./") {
        Some(rest) => rest.to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let file = SourceFile::new("a.json", "{\n  \"é\": \"x\"\n}");
        // The value "x" starts after `  "é": ` on line 2.
        let offset = file.text().find("\"x\"").expect("present");
        assert_eq!(file.line_col(offset), LineCol { line: 2, column: 8 });
        assert_eq!(file.line_col(0), LineCol { line: 1, column: 1 });
    }

    #[test]
    fn utf16_columns_count_surrogate_pairs_twice() {
        let file = SourceFile::new("a.json", "\"😀\": 1");
        let offset = file.text().find(':').expect("present");
        assert_eq!(file.line_col_utf16(offset), (0, 4));
        assert_eq!(file.offset_of_utf16(0, 4), offset);
    }

    #[test]
    fn utf8_columns_count_bytes_and_clamp_to_the_line() {
        let file = SourceFile::new("a.json", "\"😀\": 1\n2");
        let offset = file.text().find(':').expect("present");
        assert_eq!(file.line_col_utf8(offset), (0, 6));
        assert_eq!(file.offset_of_utf8(0, 6), offset);
        // Inside the emoji: back to its start; past the line: its end, not the next line.
        assert_eq!(file.offset_of_utf8(0, 3), 1);
        assert_eq!(
            file.offset_of_utf8(0, 99),
            file.text().find('\n').expect("newline")
        );
        assert_eq!(file.offset_of_utf8(5, 0), file.text().len());
    }

    #[test]
    fn redaction_masks_only_the_spans_and_keeps_offsets() {
        let file = SourceFile::new("a.json", "{\"p\": \"sécret\", \"q\": 1}");
        let start = file.text().find("sécret").expect("present");
        let span = start..start + "sécret".len();
        let redacted = file.redacted(std::slice::from_ref(&span));
        assert_eq!(redacted.text(), "{\"p\": \"*******\", \"q\": 1}");
        assert_eq!(redacted.text().len(), file.text().len());
    }

    #[test]
    fn offsets_past_the_end_and_inside_characters_clamp() {
        let file = SourceFile::new("a.json", "é\n");
        assert_eq!(file.clamp(1), 0);
        assert_eq!(file.line_col(100), LineCol { line: 2, column: 1 });
    }
}
