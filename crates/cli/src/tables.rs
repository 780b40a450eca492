//! Reading the input tables of a ranking run: applications, facilities and answers to offers (CSV,
//! UTF-8, header row; `docs/formats.md`).
//!
//! Every wrong cell is reported as `file:line:column (name): message`, all of them at once, and never
//! with the value it holds (it may be personal data). Files saved by a spreadsheet in Italian
//! (semicolon-separated, with a byte-order mark) are read too.

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

/// A CSV reader for a file's bytes, its separator guessed from the header line (`;` when it has more
/// semicolons than commas, as spreadsheets in Italian write).
fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let count = |c: u8| first.iter().filter(|&&b| b == c).count();
    let delimiter = if count(b';') > count(b',') { b';' } else { b',' };
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes)
}

fn header(file: &str, r: &mut csv::Reader<&[u8]>) -> Result<Vec<String>, Problems> {
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
            p.push(format!("{file}: {}", csv_error(&e)));
            Err(p)
        }
    }
}

/// A CSV syntax error, located, without the content of the line.
fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { pos, .. } => format!(
            "line {}: the text is not UTF-8 (save the file as \"CSV UTF-8\")",
            pos.as_ref().map_or(0, csv::Position::line)
        ),
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "line {}: {len} cells where the header has {expected_len}",
            pos.as_ref().map_or(0, csv::Position::line)
        ),
        csv::ErrorKind::Io(_) => "the file could not be read".into(),
        _ => "the file is not valid CSV".into(),
    }
}

/// Calls `row` with each data record and its line. A CSV syntax error is reported and ends the reading
/// (the lines after it cannot be trusted).
fn each_record(
    file: &str,
    r: &mut csv::Reader<&[u8]>,
    problems: &mut Problems,
    mut row: impl FnMut(u64, &csv::StringRecord, &mut Problems),
) {
    let mut record = csv::StringRecord::new();
    loop {
        match r.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                problems.push(format!("{file}: {}", csv_error(&e)));
                break;
            }
        }
        let line = record.position().map_or(0, csv::Position::line);
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
    let column = |name: &str| names.iter().position(|n| n == name).map_or(0, |i| i + 1);
    for required in ["protocol", "preferences"] {
        if column(required) == 0 && (required == "protocol" || need_preferences) {
            problems.push(format!("{file}:1: the column '{required}' is missing"));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut out = Applications {
        // About one application per line: the columns are sized once rather than doubled ten times.
        facts: FactsBatch::with_capacity(bytes.iter().filter(|&&b| b == b'\n').count()),
        lines: Vec::new(),
        family: Vec::new(),
    };
    // Protocol numbers with their line and where the line's problems start: repeated numbers are found
    // by sorting afterwards (a map of a million numbers missed the cache at every row), and their
    // problems put where they would have been reported, first of their line.
    let mut protocols: Vec<(ProtocolNumber, u64, usize)> = Vec::with_capacity(out.facts.capacity());
    out.lines.reserve(out.facts.capacity());
    out.family.reserve(out.facts.capacity());
    // One application's typed answers, reused from row to row before they are copied into the batch.
    let mut facts = graduatorie_rules::Facts::default();
    each_record(file, &mut r, &mut problems, |line, record, problems| {
        let cells: Vec<&str> = record.iter().collect();
        let row = layout.row(&cells);
        // Protocol numbers are checked on every row, even one with other problems.
        match row.protocol.map(ProtocolNumber::parse) {
            None => problems.push(format!(
                "{file}:{line}:{} (protocol): every application needs its protocol number",
                column("protocol")
            )),
            Some(Ok(p)) => protocols.push((p, line, problems.0.len())),
            Some(Err(_)) => {} // reported with the other answers below
        }
        match reg.facts_of_row_into(&row, table, &mut facts) {
            Ok(()) => {
                let prefs = facts.preferences();
                if prefs
                    .iter()
                    .enumerate()
                    .any(|(i, f)| prefs.get(..i).is_some_and(|b| b.contains(f)))
                {
                    problems.push(format!(
                        "{file}:{line}:{} (preferences): a facility is listed twice",
                        column("preferences")
                    ));
                }
                out.facts.push(&facts);
                out.lines.push(line);
                out.family.push(row.family.map(str::to_owned));
            }
            Err(e) => {
                for err in e.errors {
                    let name = Regulation::csv_column_of(&err.pointer).unwrap_or_default();
                    let col = column(&name);
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
    protocols.sort_by_key(|&(p, ..)| p);
    let mut repeated: Vec<(usize, String)> = protocols
        .chunk_by(|a, b| a.0 == b.0)
        .flat_map(|same| {
            let first = same.first().map_or(0, |&(_, line, _)| line);
            same.iter().skip(1).map(move |&(_, line, at)| {
                let message = format!(
                    "{file}:{line}:{} (protocol): the same protocol number as line {first}",
                    column("protocol")
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
    each_record(file, &mut r, &mut problems, |line, record, problems| {
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
    each_record(file, &mut r, &mut problems, |line, record, problems| {
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
