//! Source files of a regulation and positions inside them.
//!
//! A regulation may come from several files (a union-wide file and a town's file that extends it). Each
//! file is given a range of *global* byte offsets, so a [`Span`] is two numbers and still says which file
//! it points into; [`SourceMap::locate`] turns it into `file:line:column` for error messages.

use std::cell::Cell;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A range of global byte offsets (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from a byte range.
    pub fn new(range: Range<usize>) -> Self {
        Self {
            start: range.start,
            end: range.end,
        }
    }
    /// The part of this span from `offset` for `len` bytes (used to point inside an expression).
    pub fn sub(self, offset: usize, len: usize) -> Self {
        let start = self.start.saturating_add(offset).min(self.end);
        Self {
            start,
            end: start.saturating_add(len).min(self.end).max(start),
        }
    }
}

/// A source file's name and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name shown in messages (usually the path as given).
    pub name: String,
    /// The text.
    pub text: String,
    base: usize,
    line_starts: Vec<usize>,
}

/// All files of one regulation.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

/// A resolved position: file name, 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File name.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl SourceMap {
    /// Adds a file and returns the global offset of its first byte.
    pub fn add(&mut self, name: &str, text: &str) -> usize {
        // One byte of distance between files keeps an empty file's span distinct from its neighbour's.
        let base = self.files.last().map_or(0, |f| f.base + f.text.len() + 1);
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        self.files.push(SourceFile {
            name: name.to_owned(),
            text: text.to_owned(),
            base,
            line_starts,
        });
        base
    }

    /// The files, in the order they were added.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// The file name, line and column of a span's start.
    pub fn locate(&self, span: Span) -> Option<Location> {
        let file = self.files.iter().rev().find(|f| f.base <= span.start)?;
        let local = (span.start - file.base).min(file.text.len());
        let line = file.line_starts.partition_point(|&s| s <= local).max(1);
        let line_start = file.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = file
            .text
            .get(line_start..local)
            .map_or(1, |t| t.chars().count() + 1);
        Some(Location {
            file: file.name.clone(),
            line,
            column,
        })
    }

    /// The text a span covers, when it lies within one file.
    pub fn text(&self, span: Span) -> Option<&str> {
        let file = self.files.iter().rev().find(|f| f.base <= span.start)?;
        file.text
            .get(span.start - file.base..span.end.checked_sub(file.base)?)
    }
}

thread_local! {
    /// Global offset of the file being deserialised, read by [`Sp`]'s `Deserialize`.
    static BASE: Cell<usize> = const { Cell::new(0) };
}

/// Runs `f` with spans of deserialised [`Sp`] values shifted by `base` (the file's global offset).
pub(crate) fn with_base<T>(base: usize, f: impl FnOnce() -> T) -> T {
    let previous = BASE.with(|b| b.replace(base));
    let out = f();
    BASE.with(|b| b.set(previous));
    out
}

/// A value read from a rules file together with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sp<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Sp<T> {
    /// A value with a span.
    pub fn new(value: T, span: Span) -> Self {
        Self { value, span }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = toml::Spanned::<T>::deserialize(d)?;
        let base = BASE.with(Cell::get);
        let range = spanned.span();
        Ok(Sp {
            span: Span::new(range.start + base..range.end + base),
            value: spanned.into_inner(),
        })
    }
}

impl<T: Serialize> Serialize for Sp<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn locates_lines_and_columns_across_files() {
        let mut map = SourceMap::default();
        let a = map.add("union.toml", "a = 1\nbè = 2\n");
        let b = map.add("town.toml", "x = 3\n\ny = 4");
        assert_eq!(a, 0);
        let loc = map.locate(Span::new(a + 11..a + 12)).unwrap();
        assert_eq!(loc.to_string(), "union.toml:2:5");
        let loc = map.locate(Span::new(b + 7..b + 8)).unwrap();
        assert_eq!(loc.to_string(), "town.toml:3:1");
        assert_eq!(map.text(Span::new(b..b + 5)), Some("x = 3"));
    }
}
