//! Reading the input tables of a ranking run: applications, facilities and answers to offers (CSV,
//! UTF-8, header row; `docs/formats.md`).
//!
//! Every wrong cell is reported as `file:line:column (name): message`, all of them at once, and never
//! with the value it holds (it may be personal data). Files saved by a spreadsheet in Italian
//! (semicolon-separated, with a byte-order mark) are read too.
//!
//! A large table of applications is read in two halves at once (a million rows take seconds to type):
//! the second half starts at the first line start past the middle, and is kept only when the first
//! half, read from the top, ends exactly there, so a quoted cell holding line breaks across the middle
//! only costs the second half's work. Either way the result is what one reading from the top gives.

use std::io::Cursor;

use graduatorie_domain::ProtocolNumber;
use graduatorie_ranker::Answer;
use graduatorie_rules::{FacilityTable, FactsBatch, Regulation};

/// At most this many problems are listed; the rest are counted.
const MAX_LISTED: usize = 100;

/// Problems found in input files, each already located.
#[derive(Debug, Default)]
pub struct Problems(Vec<String>);

impl Problems {
    fn push(&mut self, p: String) {
        self.0.push(p);
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The report: one problem per line, at most [`MAX_LISTED`].
    pub fn report(&self) -> String {
        let mut out: Vec<String> = self.0.iter().take(MAX_LISTED).cloned().collect();
        if self.0.len() > MAX_LISTED {
            out.push(format!("… and {} more problems", self.0.len() - MAX_LISTED));
        }
        out.join("\n")
    }
}

/// A table of applications at least this large is read in two halves at once (when the machine has
/// two cores).
const SPLIT_FROM_BYTES: usize = 1 << 20;

type Reader<'a> = csv::Reader<Cursor<&'a [u8]>>;

/// A CSV reader for a file's bytes, its separator guessed from the header line (`;` when it has more
/// semicolons than commas, as spreadsheets in Italian write).
fn reader(bytes: &[u8]) -> Reader<'_> {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let count = |c: u8| first.iter().filter(|&&b| b == c).count();
    let delimiter = if count(b';') > count(b',') { b';' } else { b',' };
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(Cursor::new(bytes))
}

fn header(file: &str, r: &mut Reader<'_>) -> Result<Vec<String>, Problems> {
    let mut p = Problems::default();
    match r.headers() {
        Ok(h) if h.iter().any(|c| !c.trim().is_empty()) => Ok(h
            .iter()
            .map(|c| c.trim().trim_start_matches('\u{feff}').to_owned())
            .collect()),
        Ok(_) => {
            p.push(format!("{file}:1: the header row is missing (the file is empty)"));
            Err(p)
        }
        Err(e) => {
            p.push(format!("{file}: {}", csv_error(&e, r.get_ref().get_ref())));
            Err(p)
        }
    }
}

/// A CSV syntax error in `bytes`, located, without the content of the line.
fn csv_error(e: &csv::Error, bytes: &[u8]) -> String {
    let line = |pos: &Option<csv::Position>| pos.as_ref().map_or(0, |p| Lines::new(bytes, 0).line(p.byte()));
    match e.kind() {
        csv::ErrorKind::Utf8 { pos, .. } => format!(
            "line {}: the text is not UTF-8 (save the file as \"CSV UTF-8\")",
            line(pos)
        ),
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "line {}: {len} cells where the header has {expected_len}",
            line(pos)
        ),
        csv::ErrorKind::Io(_) => "the file could not be read".into(),
        _ => "the file is not valid CSV".into(),
    }
}

/// The line of each record, counted in the bytes. The CSV reader's own count is one short after a
/// Windows line end (it counts the `\n` of `\r\n` only when it reads the next record).
struct Lines<'a> {
    bytes: &'a [u8],
    /// Line breaks before `upto`.
    counted: u64,
    upto: usize,
}

impl<'a> Lines<'a> {
    /// Counting from `from` (a record boundary).
    fn new(bytes: &'a [u8], from: usize) -> Self {
        let from = from.min(bytes.len());
        let counted = bytes.get(..from).map_or(0, newlines);
        Lines {
            bytes,
            counted,
            upto: from,
        }
    }
    /// The line of the record the reader placed at `byte` (its position may still be before the line
    /// break that ends the previous record, or before blank lines, which the reader skips).
    fn line(&mut self, byte: u64) -> u64 {
        let mut at = usize::try_from(byte).unwrap_or(usize::MAX).min(self.bytes.len());
        while self.bytes.get(at).is_some_and(|&b| b == b'\r' || b == b'\n') {
            at += 1;
        }
        if at < self.upto {
            *self = Lines::new(self.bytes, 0);
        }
        self.counted += self.bytes.get(self.upto..at).map_or(0, newlines);
        self.upto = at;
        self.counted + 1
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().map(|&b| u64::from(b == b'\n')).sum()
}

/// How a reading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// At the end of the file.
    File,
    /// At the given record boundary (the start of the second half).
    Boundary,
    /// On a CSV syntax error (the lines after it cannot be trusted).
    Broken,
}

/// Calls `row` with each data record and its line, up to the end of the file or, with `until`, up to
/// the record boundary at that byte (a record ending there, perhaps followed by line breaks only). A CSV
/// syntax error is reported and ends the reading.
fn each_record(
    file: &str,
    r: &mut Reader<'_>,
    problems: &mut Problems,
    mut until: Option<usize>,
    mut row: impl FnMut(u64, &csv::StringRecord, &mut Problems),
) -> End {
    let bytes: &[u8] = r.get_ref().get_ref();
    let start = usize::try_from(r.position().byte()).unwrap_or(usize::MAX);
    let mut lines = Lines::new(bytes, start);
    let mut record = csv::StringRecord::new();
    loop {
        if let Some(at) = until {
            let next = usize::try_from(r.position().byte()).unwrap_or(usize::MAX);
            if next > at {
                // The boundary was inside a record (a quoted cell with line breaks): read on.
                until = None;
            } else if bytes
                .get(next..at)
                .is_some_and(|gap| gap.iter().all(|&b| b == b'\r' || b == b'\n'))
            {
                return End::Boundary;
            }
        }
        match r.read_record(&mut record) {
            Ok(false) => return End::File,
            Ok(true) => {}
            Err(e) => {
                problems.push(format!("{file}: {}", csv_error(&e, bytes)));
                return End::Broken;
            }
        }
        let line = lines.line(record.position().map_or(0, csv::Position::byte));
        row(line, &record, problems);
    }
}

/// The applications of a call, typed, with the line each came from.
#[derive(Debug)]
pub struct Applications {
    /// One per data row, column by column.
    pub facts: FactsBatch,
    /// Line of each application in the file.
    pub lines: Vec<u64>,
    /// The `family` key of each application (siblings applying together), if given.
    pub family: Vec<Option<String>>,
}

/// Reads the table of applications. Each must have a protocol number, none repeated; preferences must
/// name facilities of `table`, each at most once (the column is required when `need_preferences`).
pub fn applications(
    file: &str,
    bytes: &[u8],
    reg: &Regulation,
    table: &mut FacilityTable,
    need_preferences: bool,
) -> Result<Applications, Problems> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    // An open table numbers facility codes as they come: only a closed one can be shared by halves.
    let split =
        (cores > 1 && table.is_closed() && bytes.len() >= SPLIT_FROM_BYTES).then_some(bytes.len() / 2);
    read_applications(file, bytes, reg, table, need_preferences, split)
}

/// [`applications`], with the second half starting at the first line start at or after byte `split`
/// (when there is one past the header).
fn read_applications(
    file: &str,
    bytes: &[u8],
    reg: &Regulation,
    table: &mut FacilityTable,
    need_preferences: bool,
    split: Option<usize>,
) -> Result<Applications, Problems> {
    let mut r = reader(bytes);
    let names = header(file, &mut r)?;
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut problems = Problems::default();
    let layout = match reg.csv_layout(&refs) {
        Ok(l) => l,
        Err(errors) => {
            for e in errors {
                problems.push(format!("{file}:1:{} ({}): {}", e.position, e.name, e.message));
            }
            return Err(problems);
        }
    };
    let rows = Rows {
        file,
        reg,
        layout: &layout,
        names: &names,
    };
    for required in ["protocol", "preferences"] {
        if rows.column(required) == 0 && (required == "protocol" || need_preferences) {
            problems.push(format!("{file}:1: the column '{required}' is missing"));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let first_data = usize::try_from(r.position().byte()).unwrap_or(usize::MAX);
    let boundary = split
        .map(|at| at.max(first_data))
        .and_then(|at| Some(at + bytes.get(at..)?.iter().position(|&b| b == b'\n')? + 1))
        .filter(|&at| at > first_data && at < bytes.len());
    let mut part = match boundary {
        None => rows.read(&mut r, table, bytes, None).0,
        Some(at) => std::thread::scope(|scope| {
            let mut own = table.clone();
            let second = scope.spawn(move || {
                let mut r = reader(bytes);
                // Read the header first: the records after it must have as many cells.
                let _ = r.headers();
                // Lines are counted by `each_record`, not by the reader.
                let mut pos = csv::Position::new();
                pos.set_byte(at as u64);
                r.seek(pos).ok()?;
                Some(rows.read(&mut r, &mut own, bytes.get(at..)?, None).0)
            });
            let (mut first, end) = rows.read(&mut r, table, bytes, Some(at));
            // Joined in any case (a scoped thread is); kept only when the first half ended there.
            let second = second.join().ok().flatten();
            match (end, second) {
                (End::Boundary, Some(second)) => first.append(second),
                // Not expected (the other thread failed): read the second half here.
                (End::Boundary, None) => first.append(rows.read(&mut r, table, bytes, None).0),
                _ => {}
            }
            first
        }),
    };
    problems.0.append(&mut part.problems.0);
    let mut protocols = part.protocols;
    let out = Applications {
        facts: part.facts,
        lines: part.lines,
        family: part.family,
    };
    protocols.sort_by_key(|&(p, ..)| p);
    let mut repeated: Vec<(usize, String)> = protocols
        .chunk_by(|a, b| a.0 == b.0)
        .flat_map(|same| {
            let first = same.first().map_or(0, |&(_, line, _)| line);
            same.iter().skip(1).map(move |&(_, line, at)| {
                let message = format!(
                    "{file}:{line}:{} (protocol): the same protocol number as line {first}",
                    rows.column("protocol")
                );
                (at, message)
            })
        })
        .collect();
    if !repeated.is_empty() {
        repeated.sort_by_key(|&(at, _)| at);
        let mut merged = Vec::with_capacity(problems.0.len() + repeated.len());
        let mut rest = repeated.into_iter().peekable();
        for (k, p) in std::mem::take(&mut problems.0).into_iter().enumerate() {
            while let Some((_, m)) = rest.next_if(|(at, _)| *at == k) {
                merged.push(m);
            }
            merged.push(p);
        }
        merged.extend(rest.map(|(_, m)| m));
        problems.0 = merged;
    }
    if out.facts.is_empty() && problems.is_empty() {
        problems.push(format!("{file}: no applications (only a header row)"));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// One half of a table of applications, read.
#[derive(Debug, Default)]
struct Part {
    facts: FactsBatch,
    lines: Vec<u64>,
    family: Vec<Option<String>>,
    /// Protocol numbers with their line and where the line's problems start in `problems`.
    protocols: Vec<(ProtocolNumber, u64, usize)>,
    problems: Problems,
}

impl Part {
    /// `next` after `self`, as one reading would have given them.
    fn append(&mut self, mut next: Part) {
        let shift = self.problems.0.len();
        self.facts.append(&next.facts);
        self.lines.append(&mut next.lines);
        self.family.append(&mut next.family);
        self.protocols.extend(
            next.protocols
                .into_iter()
                .map(|(p, line, at)| (p, line, at + shift)),
        );
        self.problems.0.append(&mut next.problems.0);
    }
}

/// What reading a row of applications needs; shared by the two halves.
#[derive(Clone, Copy)]
struct Rows<'a> {
    file: &'a str,
    reg: &'a Regulation,
    layout: &'a graduatorie_rules::csv::Layout,
    names: &'a [String],
}

impl Rows<'_> {
    /// The 1-based column of a header name (0 when absent).
    fn column(&self, name: &str) -> usize {
        self.names.iter().position(|n| n == name).map_or(0, |i| i + 1)
    }

    /// Reads the records of `r` (over `bytes`) to the end, or to the record boundary `until`.
    fn read(
        &self,
        r: &mut Reader<'_>,
        table: &mut FacilityTable,
        bytes: &[u8],
        until: Option<usize>,
    ) -> (Part, End) {
        let file = self.file;
        let counted = until.and_then(|at| bytes.get(..at)).unwrap_or(bytes);
        let lines = usize::try_from(newlines(counted)).unwrap_or(0);
        // About one application per line: the columns are sized once rather than doubled ten times.
        // A first half has room for the whole file, as the second is appended to it (room that is
        // never written costs no memory).
        let rest = until.and_then(|at| bytes.get(at..)).map_or(0, newlines);
        let room = lines.saturating_add(usize::try_from(rest).unwrap_or(0));
        let mut out = Part {
            facts: FactsBatch::with_capacity(room),
            ..Part::default()
        };
        // Protocol numbers with their line and where the line's problems start: repeated numbers are
        // found by sorting afterwards (a map of a million numbers missed the cache at every row), and
        // their problems put where they would have been reported, first of their line.
        out.protocols.reserve(lines);
        out.lines.reserve(lines);
        out.family.reserve(lines);
        // One application's typed answers, reused from row to row before they are copied into the batch.
        let mut facts = graduatorie_rules::Facts::default();
        let mut problems = Problems::default();
        let end = each_record(file, r, &mut problems, until, |line, record, problems| {
            let row = self.layout.row_of(record);
            // Protocol numbers are checked on every row, even one with other problems.
            match row.protocol.map(ProtocolNumber::parse) {
                None => problems.push(format!(
                    "{file}:{line}:{} (protocol): every application needs its protocol number",
                    self.column("protocol")
                )),
                Some(Ok(p)) => out.protocols.push((p, line, problems.0.len())),
                Some(Err(_)) => {} // reported with the other answers below
            }
            match self.reg.facts_of_row_into(&row, table, &mut facts) {
                // A facility listed twice is refused by the typing (as in a JSON application).
                Ok(()) => {
                    out.facts.push(&facts);
                    out.lines.push(line);
                    out.family.push(row.family.map(str::to_owned));
                }
                Err(e) => {
                    for err in e.errors {
                        let name = Regulation::csv_column_of(&err.pointer).unwrap_or_default();
                        let col = self.column(&name);
                        if col == 0 {
                            // A record of a list as a whole: no single column holds it.
                            problems.push(format!("{file}:{line} ({name}): {}", err.message));
                        } else {
                            problems.push(format!("{file}:{line}:{col} ({name}): {}", err.message));
                        }
                    }
                }
            }
        });
        out.problems = problems;
        (out, end)
    }
}

/// The facilities of a call and their seats per section.
#[derive(Debug)]
pub struct Facilities {
    /// Codes, in file order.
    pub codes: Vec<String>,
    /// Names (may be empty).
    pub names: Vec<String>,
    /// Seats per facility and section.
    pub seats: Vec<Vec<u32>>,
}

impl Facilities {
    /// No facilities (a call for vouchers or contributions).
    pub fn none() -> Self {
        Facilities {
            codes: Vec::new(),
            names: Vec::new(),
            seats: Vec::new(),
        }
    }
    /// A facility table of these codes, for reading applications.
    pub fn table(&self) -> FacilityTable {
        FacilityTable::closed(self.codes.iter().cloned())
    }
}

/// The seat columns a regulation's facilities table has: `seats.SECTION` per age section, or `seats`;
/// with time slots, `seats.SECTION.SLOT` (or `seats.SLOT`).
pub fn seat_columns(reg: &Regulation) -> Vec<String> {
    let sections: Vec<String> = if reg.sections().is_empty() {
        vec!["seats".into()]
    } else {
        reg.sections().iter().map(|s| format!("seats.{}", s.id)).collect()
    };
    if reg.time_slots().is_empty() {
        return sections;
    }
    // Section by section, each split by time slot: the order of the engine's buckets.
    sections
        .iter()
        .flat_map(|s| reg.time_slots().iter().map(move |t| format!("{s}.{}", t.id)))
        .collect()
}

/// Reads the table of facilities: `code`, optional `name`, and the seat columns of [`seat_columns`]
/// (an empty cell is no seats).
pub fn facilities(file: &str, bytes: &[u8], reg: &Regulation) -> Result<Facilities, Problems> {
    let mut r = reader(bytes);
    let names = header(file, &mut r)?;
    let mut problems = Problems::default();
    let seat_cols = seat_columns(reg);
    // Where each header column goes: code, name, or the seats of a section.
    enum Col {
        Code,
        Name,
        Seats(usize),
    }
    let mut cols = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let col = match n.as_str() {
            "code" => Some(Col::Code),
            "name" => Some(Col::Name),
            other => seat_cols.iter().position(|c| c == other).map(Col::Seats),
        };
        match col {
            Some(c) => cols.push(c),
            None => problems.push(format!(
                "{file}:1:{} ({n}): unknown column; expected code, name, {}",
                i + 1,
                seat_cols.join(", ")
            )),
        }
        if names.iter().take(i).any(|m| m == n) {
            problems.push(format!("{file}:1:{} ({n}): the column appears twice", i + 1));
        }
    }
    for needed in std::iter::once("code").chain(seat_cols.iter().map(String::as_str)) {
        if !names.iter().any(|n| n == needed) {
            problems.push(format!("{file}:1: the column '{needed}' is missing"));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut out = Facilities {
        codes: Vec::new(),
        names: Vec::new(),
        seats: Vec::new(),
    };
    let code_column = names.iter().position(|n| n == "code").map_or(0, |i| i + 1);
    let mut lines: Vec<u64> = Vec::new();
    each_record(file, &mut r, &mut problems, None, |line, record, problems| {
        let mut code = String::new();
        let mut name = String::new();
        let mut seats = vec![0u32; seat_cols.len()];
        for (i, (col, cell)) in cols.iter().zip(record.iter()).enumerate() {
            let cell = cell.trim();
            let at = format!(
                "{file}:{line}:{} ({})",
                i + 1,
                names.get(i).map_or("", String::as_str)
            );
            match col {
                Col::Code => match graduatorie_domain::FacilityCode::parse(cell) {
                    Ok(_) => code = cell.to_owned(),
                    Err(e) => problems.push(format!("{at}: {e}")),
                },
                Col::Name => name = cell.to_owned(),
                Col::Seats(s) if cell.is_empty() => {
                    if let Some(v) = seats.get_mut(*s) {
                        *v = 0;
                    }
                }
                Col::Seats(s) => match cell.parse::<u32>() {
                    Ok(n) if n <= 100_000 => {
                        if let Some(v) = seats.get_mut(*s) {
                            *v = n;
                        }
                    }
                    _ => problems.push(format!("{at}: must be a whole number of seats (0 to 100000)")),
                },
            }
        }
        if !code.is_empty()
            && let Some(first) = out.codes.iter().position(|c| *c == code)
        {
            problems.push(format!(
                "{file}:{line}:{} (code): the same facility code as line {}",
                code_column,
                lines.get(first).copied().unwrap_or(0)
            ));
        }
        lines.push(line);
        out.codes.push(code);
        out.names.push(name);
        out.seats.push(seats);
    });
    if out.codes.is_empty() && problems.is_empty() {
        problems.push(format!("{file}: no facilities (only a header row)"));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Reads the families' answers to the offers of one round: `protocol` and `answer` (`accepted` /
/// `accettato`, `refused` / `rifiutato`, `none` / `nessuna_risposta`). Families that do not appear did
/// not answer. Returns one entry per application, and the line of each answer.
pub fn answers(
    file: &str,
    bytes: &[u8],
    protocols: &[(ProtocolNumber, usize)],
    n: usize,
) -> Result<(Vec<Option<Answer>>, Vec<u64>), Problems> {
    let mut r = reader(bytes);
    let names = header(file, &mut r)?;
    let mut problems = Problems::default();
    let (Some(pc), Some(ac)) = (
        names.iter().position(|c| c == "protocol"),
        names.iter().position(|c| c == "answer"),
    ) else {
        problems.push(format!(
            "{file}:1: the columns 'protocol' and 'answer' are needed"
        ));
        return Err(problems);
    };
    let mut out = vec![None; n];
    let mut lines = vec![0u64; n];
    each_record(file, &mut r, &mut problems, None, |line, record, problems| {
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let answer = match cell(ac).to_lowercase().as_str() {
            "accepted" | "accettato" | "accettata" => Some(Answer::Accepted),
            "refused" | "rifiutato" | "rifiutata" | "rinuncia" => Some(Answer::Refused),
            "none" | "nessuna_risposta" | "nessuna risposta" => Some(Answer::NoAnswer),
            _ => {
                problems.push(format!(
                    "{file}:{line}:{} (answer): must be accepted, refused or none (accettato, rifiutato, nessuna_risposta)",
                    ac + 1
                ));
                None
            }
        };
        let index = match ProtocolNumber::parse(cell(pc)) {
            Ok(p) => match protocols
                .binary_search_by_key(&p, |&(q, _)| q)
                .ok()
                .and_then(|k| protocols.get(k).map(|(_, i)| i))
            {
                Some(&i) => Some(i),
                None => {
                    problems.push(format!(
                        "{file}:{line}:{} (protocol): no application has this protocol number",
                        pc + 1
                    ));
                    None
                }
            },
            Err(e) => {
                problems.push(format!("{file}:{line}:{} (protocol): {e}", pc + 1));
                None
            }
        };
        if let (Some(i), Some(a)) = (index, answer) {
            match out.get_mut(i) {
                Some(slot @ None) => {
                    *slot = Some(a);
                    if let Some(l) = lines.get_mut(i) {
                        *l = line;
                    }
                }
                _ => problems.push(format!(
                    "{file}:{line}:{} (protocol): a second answer for the same application (first on line {})",
                    pc + 1,
                    lines.get(i).copied().unwrap_or(0)
                )),
            }
        }
    });
    if problems.is_empty() {
        Ok((out, lines))
    } else {
        Err(problems)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;
    use graduatorie_ranker::synthetic::{Generator, code};

    const FACILITIES: u32 = 6;

    fn bologna() -> Regulation {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/rules/bologna-nidi.toml"
        );
        graduatorie_rules::compile_str("bologna.toml", &std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn table() -> FacilityTable {
        FacilityTable::closed((0..FACILITIES).map(code))
    }

    /// Synthetic rows of applications, as cells.
    fn rows(reg: &Regulation, n: u32) -> Vec<Vec<String>> {
        let mut g = Generator::new(reg, "split", FACILITIES, 3);
        let mut t = table();
        (1..=n)
            .filter_map(|i| g.application(i, &mut t))
            .map(|a| reg.csv_record(&a))
            .collect()
    }

    fn csv_bytes(reg: &Regulation, rows: &[Vec<String>], crlf: bool) -> Vec<u8> {
        let terminator = if crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        };
        let mut w = csv::WriterBuilder::new()
            .terminator(terminator)
            .flexible(true)
            .from_writer(Vec::new());
        w.write_record(reg.csv_columns()).unwrap();
        for r in rows {
            w.write_record(r).unwrap();
        }
        w.into_inner().unwrap()
    }

    /// Everything a reading gives, as text.
    fn outcome(r: Result<Applications, Problems>) -> String {
        match r {
            Err(p) => format!("problems:\n{}", p.report()),
            Ok(a) => {
                let mut s = format!("lines {:?}\nfamily {:?}\n", a.lines, a.family);
                for i in 0..a.facts.len() {
                    s.push_str(&format!("{:?}\n", a.facts.get(i)));
                }
                s
            }
        }
    }

    /// Reading in two halves gives what one reading gives, wherever the middle falls: between records,
    /// inside a quoted cell holding line breaks, on a CRLF line end, around blank lines, before or after
    /// a wrong cell, a repeated protocol number, a row with too few cells, text that is not UTF-8.
    #[test]
    fn two_halves_read_exactly_as_one_reading() {
        let reg = bologna();
        let base = rows(&reg, 24);
        let column = |name: &str| reg.csv_columns().iter().position(|c| c == name).unwrap();
        let (family, isee, protocol) = (column("family"), column("isee"), column("protocol"));
        let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
        files.push(("plain", csv_bytes(&reg, &base, false)));
        files.push(("crlf", csv_bytes(&reg, &base, true)));
        let mut quoted = base.clone();
        quoted[3][family] = "Rossi\nBianchi, \"detti\"".into();
        quoted[12][family] = "a\n\nb\r\nc".into();
        files.push(("quoted", csv_bytes(&reg, &quoted, false)));
        files.push(("quoted crlf", csv_bytes(&reg, &quoted, true)));
        let mut wrong = quoted.clone();
        wrong[2][isee] = "dodicimila".into();
        wrong[17][isee] = "-4".into();
        wrong[20][protocol] = wrong[5][protocol].clone();
        files.push(("wrong cells", csv_bytes(&reg, &wrong, false)));
        let mut short = wrong.clone();
        short[15].truncate(3);
        files.push(("short row", csv_bytes(&reg, &short, false)));
        files.push(("short row crlf", csv_bytes(&reg, &short, true)));
        let mut blank = csv_bytes(&reg, &wrong, false);
        let third = blank.len() / 3;
        let at = third + blank[third..].iter().position(|&b| b == b'\n').unwrap() + 1;
        blank.splice(at..at, b"\n\n".iter().copied());
        files.push(("blank lines", blank.clone()));
        let mut latin1 = blank;
        let at = latin1.len() * 2 / 3;
        latin1.insert(at, 0xe8);
        files.push(("not utf-8", latin1));
        for (name, bytes) in &files {
            let whole = outcome(read_applications("a.csv", bytes, &reg, &mut table(), true, None));
            assert!(whole.len() > 150, "{name}: {whole}");
            // The second half starts after the first line break at or after the split: one split per
            // line break tries every start.
            let breaks = bytes
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .map(|(i, _)| i);
            for split in std::iter::once(0).chain(breaks) {
                let halves = outcome(read_applications(
                    "a.csv",
                    bytes,
                    &reg,
                    &mut table(),
                    true,
                    Some(split),
                ));
                assert_eq!(halves, whole, "{name}, split at byte {split}");
            }
        }
        // The files do what they are meant to: problems where there are wrong cells, none otherwise.
        let report = |k: usize| {
            outcome(read_applications(
                "a.csv",
                &files[k].1,
                &reg,
                &mut table(),
                true,
                None,
            ))
        };
        assert!(report(3).starts_with("lines"), "{}", report(3));
        assert!(
            report(4).contains("a.csv:26:1 (protocol): the same protocol number as line 8"),
            "{}",
            report(4)
        );
        assert!(
            report(5).contains("a.csv: line 21: 3 cells where the header has 25"),
            "{}",
            report(5)
        );
        assert!(report(8).contains("not UTF-8"), "{}", report(8));
        // A facility listed twice is named at its place in the list.
        let mut twice = base.clone();
        let prefs = column("preferences");
        twice[4][prefs] = format!("{}|{}", code(1), code(1));
        let r = outcome(read_applications(
            "a.csv",
            &csv_bytes(&reg, &twice, false),
            &reg,
            &mut table(),
            true,
            None,
        ));
        assert_eq!(
            r, "problems:\na.csv:6:3 (preferences): facility number 2 is listed twice",
            "{r}"
        );
        // Windows line ends: the same lines as Unix ones (the CSV reader alone counts one short).
        assert_eq!(report(1), report(0));
        assert_eq!(report(3), report(2));
        assert_eq!(report(6), report(5));
    }
}
