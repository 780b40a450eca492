//! `graduatorie verify`'s comparison of a run directory's files with their recomputation, piece by
//! piece as the recomputation hands them over: neither version of a file is ever held whole (the
//! ranking of a million families is 140 MB), and the first difference is named by line and, in a
//! CSV file, by column.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;

/// One file of the directory, compared so far.
pub struct Compare {
    path: PathBuf,
    /// The file, or why it cannot be read.
    file: Result<BufReader<File>, String>,
    /// Complete lines matched so far.
    lines: usize,
    /// The first line (the header of a CSV file), once matched whole.
    header: Option<Vec<u8>>,
    /// What has matched of the current line.
    partial: Vec<u8>,
    /// The file's bytes under the piece being compared.
    read: Vec<u8>,
    /// Whether a difference has been found (nothing more is compared).
    differs: bool,
}

impl Compare {
    /// Starts comparing the file at `path`.
    pub fn open(path: PathBuf) -> Self {
        let file = File::open(&path).map(BufReader::new).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "missing (the run should have it)".to_owned(),
            _ => format!("cannot be read: {e}"),
        });
        Compare {
            path,
            file,
            lines: 0,
            header: None,
            partial: Vec::new(),
            read: Vec::new(),
            differs: false,
        }
    }

    /// Compares the next piece of the recomputed file (`last`: the file ends after it). Returns the
    /// first difference when this piece shows it (once only).
    pub fn piece(&mut self, name: &str, piece: &[u8], last: bool) -> Option<String> {
        if self.differs {
            return None;
        }
        let verdict = self.compare(name, piece, last)?;
        self.differs = true;
        Some(format!("{}: {verdict}", self.path.display()))
    }

    fn compare(&mut self, name: &str, piece: &[u8], last: bool) -> Option<String> {
        let file = match &mut self.file {
            Ok(file) => file,
            Err(why) => return Some(why.clone()),
        };
        self.read.clear();
        let wanted = u64::try_from(piece.len()).unwrap_or(u64::MAX);
        if let Err(e) = file.by_ref().take(wanted).read_to_end(&mut self.read) {
            return Some(format!("cannot be read: {e}"));
        }
        let mut same = self.read == piece;
        if same && last {
            // The file must end here too.
            match file.read_to_end(&mut self.read) {
                Ok(0) => {}
                Ok(_) => same = false,
                Err(e) => return Some(format!("cannot be read: {e}")),
            }
        }
        if same {
            self.advance(piece);
            return None;
        }
        // The difference is in this piece (or just after it): compare what is left of the file with
        // the piece, from the start of the current line.
        if let Err(e) = file.read_to_end(&mut self.read) {
            return Some(format!("cannot be read: {e}"));
        }
        let expected = [self.partial.as_slice(), piece].concat();
        let actual = [self.partial.as_slice(), self.read.as_slice()].concat();
        Some(format!(
            "differs from the recomputation: {}",
            first_difference(name, self.header.as_deref(), self.lines, &expected, &actual)
        ))
    }

    /// Moves past a piece that matched: counts its lines, keeps the header and the current line.
    fn advance(&mut self, piece: &[u8]) {
        let mut rest = piece;
        while let Some(at) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(at);
            if self.lines == 0 {
                self.header = Some([self.partial.as_slice(), line].concat());
            }
            self.partial.clear();
            self.lines += 1;
            rest = after.get(1..).unwrap_or(&[]);
        }
        self.partial.extend_from_slice(rest);
    }
}

/// Where two versions of a file first differ: the line and, for CSV, the column. `expected` and
/// `actual` start at line `before + 1` of the file (0-based line `before`); `header` is the file's
/// first line when it comes before them.
pub fn first_difference(
    name: &str,
    header: Option<&[u8]>,
    before: usize,
    expected: &[u8],
    actual: &[u8],
) -> String {
    let e: Vec<&[u8]> = expected.split(|&b| b == b'\n').collect();
    let a: Vec<&[u8]> = actual.split(|&b| b == b'\n').collect();
    let header = header.or_else(|| e.first().copied()).unwrap_or(&[]);
    for (k, (x, y)) in e.iter().zip(a.iter()).enumerate() {
        if x == y {
            continue;
        }
        let cells = |l: &[u8]| -> Vec<String> {
            let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(l);
            r.records()
                .next()
                .and_then(Result::ok)
                .map(|rec| rec.iter().map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let (cx, cy, names) = (cells(x), cells(y), cells(header));
        let field = (0..cx.len().max(cy.len())).find(|&i| cx.get(i) != cy.get(i));
        let line = before + k;
        return match field {
            Some(i) if line > 0 && name.ends_with(".csv") => format!(
                "first at line {}, column {} ({})",
                line + 1,
                i + 1,
                names.get(i).map_or("", String::as_str)
            ),
            _ => format!("first at line {}", line + 1),
        };
    }
    format!(
        "first at line {} (one file is longer)",
        before + e.len().min(a.len()) + 1
    )
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;

    /// Compares `expected`, handed over in pieces of `size` bytes, with `actual` on disk.
    fn piecewise(path: &std::path::Path, expected: &[u8], size: usize) -> Option<String> {
        let mut c = Compare::open(path.to_path_buf());
        let pieces: Vec<&[u8]> = expected.chunks(size).collect();
        let mut found = None;
        for (k, piece) in pieces.iter().enumerate() {
            if let Some(d) = c.piece("ranking.csv", piece, k + 1 == pieces.len()) {
                assert!(found.is_none(), "a second difference reported");
                found = Some(d);
            }
        }
        found
    }

    /// Whatever the difference and however the file is cut into pieces (mid-line included), the
    /// comparison piece by piece names what comparing the whole files names.
    #[test]
    fn pieces_name_the_same_difference_as_whole_files() {
        let expected: Vec<u8> = (0..12)
            .map(|i| {
                if i == 0 {
                    "protocol,total,isee\n".to_owned()
                } else {
                    format!("2026/{i:04},{},{}.50\n", 30 - i, 1000 * i)
                }
            })
            .collect::<String>()
            .into_bytes();
        let dir = std::env::temp_dir().join(format!("graduatorie-compare-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ranking.csv");
        let mut variants: Vec<Vec<u8>> = vec![expected.clone()];
        for at in 0..expected.len() {
            let mut changed = expected.clone();
            changed[at] = if changed[at] == b'9' { b'8' } else { b'9' };
            variants.push(changed);
            variants.push(expected[..at].to_vec());
        }
        variants.push([expected.as_slice(), b"2026/9999,1,1\n"].concat());
        variants.push([expected.as_slice(), b"x"].concat());
        let mut differences = 0;
        for actual in &variants {
            std::fs::write(&path, actual).unwrap();
            let whole = (actual != &expected).then(|| {
                format!(
                    "{}: differs from the recomputation: {}",
                    path.display(),
                    first_difference("ranking.csv", None, 0, &expected, actual)
                )
            });
            differences += usize::from(whole.is_some());
            for size in [1, 5, 16, 23, 64, 1000] {
                assert_eq!(
                    piecewise(&path, &expected, size),
                    whole,
                    "pieces of {size}, file {:?}",
                    String::from_utf8_lossy(actual)
                );
            }
        }
        assert!(differences > 400, "{differences}");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            piecewise(&path, &expected, 16),
            Some(format!("{}: missing (the run should have it)", path.display()))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_difference_is_named_by_line_and_column() {
        let e = b"protocol,total\n2026/0001,30\n2026/0002,20\n";
        let a = b"protocol,total\n2026/0001,30\n2026/0002,21\n";
        assert_eq!(
            first_difference("ranking.csv", None, 0, e, a),
            "first at line 3, column 2 (total)"
        );
        // The same lines further down a file whose header came before.
        assert_eq!(
            first_difference(
                "ranking.csv",
                Some(b"protocol,total"),
                40,
                b"2026/0002,20\n",
                b"2026/0002,21\n"
            ),
            "first at line 41, column 2 (total)"
        );
        assert_eq!(
            first_difference("ranking.csv", None, 0, e, &e[..28]),
            "first at line 3, column 1 (protocol)"
        );
    }
}
