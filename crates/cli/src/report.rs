//! The files of a ranking run, as bytes: the full ranking, the allocation, the waiting lists, the
//! public list and the manifest (`docs/formats.md`, "Output of a ranking run").
//!
//! Nothing here reads a clock or the environment: the same run gives the same bytes, which is what
//! `graduatorie verify` checks. Rows are ordered by list and position, or by protocol number, never by
//! the order of the input rows.

use std::collections::BTreeMap;

use graduatorie_domain::{Money, ProtocolNumber};
use graduatorie_ranker::{BudgetOutcome, ListKey, RankedList, RunOutcome, Status};
use graduatorie_rules::explain::write_value;
use graduatorie_rules::model::TieKind;
use graduatorie_rules::scores::push_digits;
use graduatorie_rules::{BatchScores, Eligibility, FactsBatch, Regulation, Value, draw_value};
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::tables::Facilities;

/// What the report needs besides the outcome.
pub struct Context<'a> {
    /// The regulation.
    pub reg: &'a Regulation,
    /// The applications.
    pub facts: &'a FactsBatch,
    /// The facilities.
    pub facilities: &'a Facilities,
    /// The published seed.
    pub seed: Option<&'a str>,
    /// Indexes of the applications ordered by protocol number (any without one first): the order of
    /// the rows listed by protocol.
    pub by_protocol: &'a [usize],
}

/// SHA-256 of some bytes, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Bytes in lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
}

/// Where a file is handed over piece by piece as it is made (in order; the file is complete when the
/// function making it returns).
pub type Chunks<'a> = dyn FnMut(Vec<u8>) + 'a;

/// A file is handed over in pieces of about this size, so that a list of a million rows is written
/// while it is made and never held whole.
const CHUNK: usize = 1 << 20;

/// A CSV file being built: comma-separated, `\n` line ends, quoted where needed.
struct Table<'a> {
    out: csv::Writer<Shared>,
    bytes: std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
    scratch: String,
    /// Where full pieces go (a whole file), or none (a piece of a row, kept).
    spill: Option<&'a mut Chunks<'a>>,
    /// Rows ended so far.
    rows: usize,
}

/// The bytes a table's CSV writer flushes into, also reachable by the table (to append rows already
/// in CSV form, or to take what was written).
struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> Table<'a> {
    /// A file with its header row, handed to `file` in pieces.
    fn new(header: &[String], file: &'a mut Chunks<'a>) -> Self {
        let mut t = Table::headerless();
        t.bytes.borrow_mut().reserve(CHUNK + CHUNK / 4);
        t.spill = Some(file);
        t.row(header);
        t
    }
    /// A table without a header row (pieces of rows), kept in memory.
    fn headerless() -> Self {
        let bytes = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        Table {
            out: csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Shared(bytes.clone())),
            bytes,
            scratch: String::new(),
            spill: None,
            rows: 0,
        }
    }
    /// At the end of a row: hands over what is written once it fills a piece.
    fn row_done(&mut self) {
        let Some(spill) = self.spill.as_mut() else {
            return;
        };
        // Looked at every few hundred rows: flushing the CSV writer's own buffer at every row costs.
        self.rows = self.rows.wrapping_add(1);
        if !self.rows.is_multiple_of(256) {
            return;
        }
        let _ = self.out.flush();
        if self.bytes.borrow().len() >= CHUNK {
            let next = Vec::with_capacity(CHUNK + CHUNK / 4);
            let piece = std::mem::replace(&mut *self.bytes.borrow_mut(), next);
            spill(piece);
        }
    }
    // Writing to memory cannot fail: the results below are ignored.
    fn field(&mut self, c: &str) {
        let _ = self.out.write_field(text_cell(c).as_bytes());
    }
    /// A protocol number as its `Display` writes it (`2026/000123`; empty when missing), without the
    /// general formatter: a ranking has one or two per row.
    fn protocol(&mut self, p: Option<ProtocolNumber>) {
        self.scratch.clear();
        if let Some(p) = p {
            p.push_to(&mut self.scratch);
        }
        let _ = self.out.write_field(self.scratch.as_bytes());
    }
    /// Bytes in lower-case hex (a public draw value: one per row of a ranking).
    fn hex(&mut self, bytes: &[u8; 32]) {
        let mut buf = [0u8; 64];
        let text = base16ct::lower::encode(bytes, &mut buf).unwrap_or_default();
        let _ = self.out.write_field(text);
    }
    /// A whole number, through the reused buffer.
    fn number(&mut self, n: usize) {
        self.scratch.clear();
        push_digits(u64::try_from(n).unwrap_or(u64::MAX), 1, &mut self.scratch);
        let _ = self.out.write_field(self.scratch.as_bytes());
    }
    /// Points, formatted into a reused buffer (most cells of a ranking are points).
    fn points(&mut self, s: &BatchScores, units: i64) {
        self.scratch.clear();
        s.write_points(units, &mut self.scratch);
        let _ = self.out.write_field(self.scratch.as_bytes());
    }
    fn end(&mut self) {
        let _ = self.out.write_record(None::<&[u8]>);
        self.row_done();
    }
    fn row(&mut self, cells: &[String]) {
        for c in cells {
            self.field(c);
        }
        self.end();
    }
    /// Bytes written so far.
    fn len(&mut self) -> usize {
        let _ = self.out.flush();
        self.bytes.borrow().len()
    }
    /// A value as [`value_text`] writes it (empty when missing), through the reused buffer.
    fn value(&mut self, v: Value) {
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        write_value(v, &mut text);
        self.field(&text);
        self.scratch = text;
    }
    /// Bytes already in CSV form, appended as they are.
    fn raw(&mut self, parts: &[&[u8]]) {
        let _ = self.out.flush();
        let mut bytes = self.bytes.borrow_mut();
        for part in parts {
            bytes.extend_from_slice(part);
        }
    }
    /// The bytes written so far, leaving the table empty.
    fn take(&mut self) -> Vec<u8> {
        let _ = self.out.flush();
        std::mem::take(&mut *self.bytes.borrow_mut())
    }
    /// The end of a file: the last piece handed over.
    fn close(self) {
        let _ = self.finish();
    }
    /// What is kept (a table without pieces), or the last piece handed over (a file).
    fn finish(mut self) -> Vec<u8> {
        let rest = self.take();
        match self.spill.take() {
            Some(spill) => {
                if !rest.is_empty() {
                    spill(rest);
                }
                Vec::new()
            }
            None => rest,
        }
    }
}

/// The part of each admitted application's row that follows the list and the position, written once in
/// application order (so the score columns are read in order), for rows assembled in list order.
#[derive(Default)]
struct Tails {
    bytes: Vec<u8>,
    /// Where each application's tail starts and ends in `bytes` (empty for excluded ones).
    bounds: Vec<(usize, usize)>,
    /// The list's cell as CSV writes it, and the list it is for: the same on every row of a list.
    list: Option<(String, Vec<u8>)>,
    /// A reused buffer for the position.
    digits: String,
}

impl Tails {
    /// The tails of the admitted applications among `range`; parts are joined by [`Tails::then`].
    fn of(s: &BatchScores, range: std::ops::Range<usize>, mut write: impl FnMut(&mut Table, usize)) -> Self {
        let mut t = Table::headerless();
        let mut bounds = Vec::with_capacity(range.len());
        let mut from = 0;
        for i in range {
            if !s.excluded.get(i).copied().unwrap_or(true) {
                write(&mut t, i);
            }
            let to = t.len();
            bounds.push((from, to));
            from = to;
        }
        Tails {
            bytes: t.finish(),
            bounds,
            ..Tails::default()
        }
    }

    /// These tails, then `next` (those of the applications that follow).
    fn then(mut self, next: Tails) -> Tails {
        let shift = self.bytes.len();
        self.bytes.extend_from_slice(&next.bytes);
        self.bounds
            .extend(next.bounds.iter().map(|&(from, to)| (from + shift, to + shift)));
        self
    }

    /// Appends the rows of a list, in its order. The tails are read in list order, all over memory:
    /// the tail a few rows ahead is touched first, so that its cache misses overlap with the copying of
    /// the rows before it instead of following them.
    fn list(&mut self, t: &mut Table, list: &str, order: &[u32]) {
        const AHEAD: usize = 8;
        for (p, &a) in order.iter().enumerate() {
            if let Some(&b) = order.get(p + 2 * AHEAD) {
                std::hint::black_box(self.bounds.get(b as usize).copied());
            }
            if let Some(&b) = order.get(p + AHEAD) {
                let (from, _) = self.bounds.get(b as usize).copied().unwrap_or_default();
                std::hint::black_box(self.bytes.get(from).copied());
            }
            self.row(t, list, p + 1, a as usize);
        }
    }

    /// Appends application `i`'s row: the list and the position as CSV fields, then its tail (which
    /// ends the line).
    fn row(&mut self, t: &mut Table, list: &str, position: usize, i: usize) {
        if self.list.as_ref().is_none_or(|(l, _)| l != list) {
            let mut cell = Table::headerless();
            cell.field(list);
            cell.end();
            let mut bytes = cell.finish();
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
            }
            bytes.push(b',');
            self.list = Some((list.to_owned(), bytes));
        }
        self.digits.clear();
        push_digits(u64::try_from(position).unwrap_or(u64::MAX), 1, &mut self.digits);
        self.digits.push(',');
        let (from, to) = self.bounds.get(i).copied().unwrap_or((0, 0));
        let cell = self.list.as_ref().map_or(&[][..], |(_, c)| c.as_slice());
        let tail = self.bytes.get(from..to).unwrap_or(&[]);
        t.raw(&[cell, self.digits.as_bytes(), tail]);
        t.row_done();
    }
}

/// Whether some list is a facility's: its rows then differ from list to list for one application.
pub fn by_facility(lists: &[RankedList]) -> bool {
    lists.iter().any(|l| matches!(l.key, ListKey::Facility(_)))
}

/// Where each application stands ([`RunOutcome::status`]), in application order: the lists read it
/// row by row, eight rows per application with facilities' lists.
pub fn statuses(out: &RunOutcome) -> Vec<Status> {
    (0..out.scores.len).map(|i| out.status(i)).collect()
}

/// The rows of `lists` whose tails (what follows the list and the position) differ from list to list
/// for one application (facilities' lists, eight rows per application): a block of lists at a time,
/// the block's tails made in application order (so that the scores are read in order, not all over
/// memory: that was three quarters of writing eight million rows), then copied in list order.
/// `cell` is a list's first cell, `tail` writes application `i`'s tail in list `key`.
fn by_blocks(
    t: &mut Table,
    lists: &[RankedList],
    cell: impl Fn(ListKey) -> String,
    tail: impl FnMut(&mut Table, usize, ListKey),
) {
    // Rows per block: the block's tails take about a hundred bytes each (two blocks, of ranking.csv
    // and public.csv, are made at once).
    in_blocks(t, lists, 1 << 18, cell, tail);
}

/// [`by_blocks`] with blocks of about `block` rows (a list is never split).
fn in_blocks(
    t: &mut Table,
    lists: &[RankedList],
    block: usize,
    cell: impl Fn(ListKey) -> String,
    mut tail: impl FnMut(&mut Table, usize, ListKey),
) {
    let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    let mut rest = lists;
    while !rest.is_empty() {
        let mut rows = 0;
        let mut take = 0;
        for list in rest {
            if take > 0 && rows + list.order.len() > block {
                break;
            }
            rows += list.order.len();
            take += 1;
        }
        let (block, next) = rest.split_at(take);
        rest = next;
        // Every entry of the block: its applicant, its index in the block, its list.
        let mut entries: Vec<(u32, u32, u32)> = Vec::with_capacity(rows);
        for (l, list) in block.iter().enumerate() {
            for &a in &list.order {
                entries.push((a, index(entries.len()), index(l)));
            }
        }
        entries.sort_unstable();
        let mut made = Table::headerless();
        let mut bounds = vec![(0, 0); rows];
        let mut from = 0;
        for &(a, e, l) in &entries {
            if let Some(list) = block.get(l as usize) {
                tail(&mut made, a as usize, list.key);
            }
            let to = made.len();
            if let Some(b) = bounds.get_mut(e as usize) {
                *b = (from, to);
            }
            from = to;
        }
        drop(entries);
        let mut tails = Tails {
            bytes: made.finish(),
            bounds,
            ..Tails::default()
        };
        let mut first = 0;
        for list in block {
            let n = list.order.len();
            let order: Vec<u32> = (first..first + n).map(index).collect();
            tails.list(t, &cell(list.key), &order);
            first += n;
        }
    }
}

/// A cell a spreadsheet would take for a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`,
/// unless it is a number: a published file must not run anything on the reader's computer.
fn text_cell(c: &str) -> std::borrow::Cow<'_, str> {
    let risky = c.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && c.parse::<Decimal>().is_err() {
        format!("'{c}").into()
    } else {
        c.into()
    }
}

fn protocol_text(p: Option<ProtocolNumber>) -> String {
    p.map(|p| p.to_string()).unwrap_or_default()
}

impl Context<'_> {
    fn code(&self, f: u32) -> &str {
        self.facilities.codes.get(f as usize).map_or("", String::as_str)
    }
    fn protocol(&self, i: usize) -> Option<ProtocolNumber> {
        self.facts.protocol(i)
    }
    fn section_id(&self, scores: &BatchScores, i: usize) -> &str {
        scores
            .section
            .get(i)
            .copied()
            .flatten()
            .and_then(|s| self.reg.sections().get(usize::from(s)))
            .map_or("", |s| s.id.as_str())
    }
    fn list_id(&self, key: ListKey) -> String {
        match key {
            ListKey::Global => "global".into(),
            ListKey::Section(s) => format!(
                "section:{}",
                self.reg
                    .sections()
                    .get(usize::from(s))
                    .map_or("", |x| x.id.as_str())
            ),
            ListKey::Facility(f) => format!("facility:{}", self.code(f)),
        }
    }
    fn list_label(&self, key: ListKey) -> String {
        match key {
            ListKey::Global => "Graduatoria unica".into(),
            ListKey::Section(s) => self
                .reg
                .sections()
                .get(usize::from(s))
                .map_or_else(String::new, |x| x.label.clone()),
            ListKey::Facility(f) => {
                let name = self.facilities.names.get(f as usize).map_or("", String::as_str);
                if name.is_empty() {
                    self.code(f).to_owned()
                } else {
                    format!("{} {name}", self.code(f))
                }
            }
        }
    }
    /// Position of a facility in the family's own preferences, 1-based.
    fn choice(&self, i: usize, f: u32) -> String {
        self.facts
            .preferences(i)
            .iter()
            .position(|&p| p == f)
            .map_or_else(String::new, |k| (k + 1).to_string())
    }
    /// The facility row of application `i` for a facility list.
    fn facility_row(&self, scores: &BatchScores, i: usize, key: ListKey) -> Option<usize> {
        let ListKey::Facility(f) = key else { return None };
        scores
            .facility_rows(i)
            .find(|&r| scores.facility_of(r) == Some(f))
    }
}

/// The header of `ranking.csv`.
fn ranking_header(reg: &Regulation) -> Vec<String> {
    let mut header: Vec<String> = ["list", "position", "protocol", "section", "status"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    header.extend(reg.tiers().iter().map(|t| format!("tier.{}", t.id)));
    header.push("total".into());
    header.extend(reg.criteria().iter().map(|c| c.id.clone()));
    header.extend(reg.subtotals().iter().map(|s| format!("subtotal.{}", s.id)));
    header.extend((1..=reg.tie_breaks().len()).map(|k| format!("tie.{k}")));
    header.push("reasons".into());
    header
}

/// Reasons are not kept by batch scoring; the few applications that need them (excluded, or admitted
/// with reserve) have their eligibility evaluated again (only that: not the points).
#[derive(Default)]
struct Reasons(graduatorie_rules::Evaluation);

impl Reasons {
    fn of(&mut self, cx: &Context<'_>, i: usize) -> String {
        if i >= cx.facts.len() {
            return String::new();
        }
        match cx
            .reg
            .eligibility_into(&cx.facts.get(i), &mut self.0)
            .map(|()| &self.0.eligibility)
        {
            Ok(Eligibility::Excluded(r) | Eligibility::Reserve(r)) => r.join("; "),
            _ => String::new(),
        }
    }
}

/// Everything of an admitted application's row of `ranking.csv` after the list and the position: it
/// depends only on the application (and its facility row in a facility's list).
fn ranking_tail(
    cx: &Context<'_>,
    s: &BatchScores,
    t: &mut Table<'_>,
    i: usize,
    row: Option<usize>,
    reasons: &mut Reasons,
) {
    let reg = cx.reg;
    let (total, points, subtotals, ties) = match row {
        Some(r) => {
            let f = s.facility(r);
            (f.total, f.points, f.subtotals, f.ties)
        }
        None => (
            s.total.get(i).copied().unwrap_or_default(),
            s.points(i),
            s.subtotals(i),
            s.tie_keys(i),
        ),
    };
    let reserve = s.reserve.get(i).copied().unwrap_or(false);
    t.protocol(cx.protocol(i));
    t.field(cx.section_id(s, i));
    t.field(if reserve { "reserve" } else { "admitted" });
    for (&g, level) in s.tier(i).iter().zip(reg.tiers()) {
        t.field(
            level
                .groups
                .get(usize::from(g))
                .map_or("", |(l, _)| l.id.as_str()),
        );
    }
    t.points(s, total);
    for d in points.chain(subtotals.iter().copied()) {
        t.points(s, d);
    }
    for (k, tb) in reg.tie_breaks().iter().enumerate() {
        match tb.kind {
            TieKind::Value(_) => {
                t.value(ties.get(k));
            }
            TieKind::Draw => match (cx.seed, cx.protocol(i)) {
                (Some(seed), Some(p)) => t.hex(&draw_value(seed, p)),
                _ => t.field(""),
            },
            TieKind::Protocol => t.protocol(cx.protocol(i)),
        }
    }
    if reserve {
        t.field(&reasons.of(cx, i));
    } else {
        t.field("");
    }
    t.end();
}

/// The parts of `ranking.csv` that depend only on the scores, not on the allocation: so they can be
/// made while the seats are allocated.
pub struct RankingRows {
    /// Without facility lists, each admitted application's row after its position, formatted once in
    /// application order: the lists visit applications in ranking order, which reads the score columns
    /// all over memory (about ten cache misses a row with a million rows), and copy these instead.
    tails: Option<Tails>,
    /// The rows of the excluded applications, by protocol number, with their reasons.
    excluded: Vec<u8>,
}

impl RankingRows {
    /// All of them.
    pub fn of(cx: &Context<'_>, s: &BatchScores, lists: &[RankedList]) -> Self {
        Self::tails(cx, s, lists, 0..s.len).with_excluded(cx, s)
    }

    /// The rows of the admitted applications among `range` (a part of them: parts are joined with
    /// [`RankingRows::then`], in order).
    pub fn tails(
        cx: &Context<'_>,
        s: &BatchScores,
        lists: &[RankedList],
        range: std::ops::Range<usize>,
    ) -> Self {
        let mut reasons = Reasons::default();
        let tails = (!by_facility(lists))
            .then(|| Tails::of(s, range, |t, i| ranking_tail(cx, s, t, i, None, &mut reasons)));
        RankingRows {
            tails,
            excluded: Vec::new(),
        }
    }

    /// These rows, then `next` (the part that follows).
    pub fn then(mut self, next: RankingRows) -> Self {
        self.tails = match (self.tails, next.tails) {
            (Some(a), Some(b)) => Some(a.then(b)),
            (a, b) => a.or(b),
        };
        self.excluded.extend_from_slice(&next.excluded);
        self
    }

    /// With the rows of the excluded applications.
    pub fn with_excluded(mut self, cx: &Context<'_>, s: &BatchScores) -> Self {
        let mut reasons = Reasons::default();
        let width = ranking_header(cx.reg).len();
        let mut t = Table::headerless();
        for &i in cx.by_protocol {
            if !s.excluded.get(i).copied().unwrap_or(false) {
                continue;
            }
            let mut cells = vec![
                String::new(),
                String::new(),
                protocol_text(cx.protocol(i)),
                cx.section_id(s, i).to_owned(),
                "excluded".to_owned(),
            ];
            cells.resize(width - 1, String::new());
            cells.push(reasons.of(cx, i));
            t.row(&cells);
        }
        self.excluded = t.finish();
        self
    }
}

/// `ranking.csv`: every list with every application's position, tiers, points per criterion,
/// subtotals and tie-break values; then the excluded applications with the reasons. `rows` are
/// [`RankingRows::of`] the same scores and lists.
pub fn ranking<'a>(
    cx: &Context<'_>,
    s: &BatchScores,
    lists: &[RankedList],
    rows: RankingRows,
    file: &'a mut Chunks<'a>,
) {
    let mut t = Table::new(&ranking_header(cx.reg), file);
    let RankingRows { tails, excluded } = rows;
    match tails {
        Some(mut tails) => {
            for list in lists {
                tails.list(&mut t, &cx.list_id(list.key), &list.order);
            }
        }
        None => {
            let mut reasons = Reasons::default();
            by_blocks(
                &mut t,
                lists,
                |k| cx.list_id(k),
                |t, i, key| ranking_tail(cx, s, t, i, cx.facility_row(s, i, key), &mut reasons),
            );
        }
    }
    t.raw(&[&excluded]);
    t.close();
}

/// `allocation.csv`: every seat accepted or offered, by protocol number.
pub fn allocation<'a>(cx: &Context<'_>, out: &RunOutcome, file: &'a mut Chunks<'a>) {
    let slots = !cx.reg.time_slots().is_empty();
    let mut header: Vec<String> = ["protocol", "section", "facility", "choice", "status"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    if slots {
        header.insert(2, "time_slot".into());
    }
    let mut t = Table::new(&header, file);
    for &i in cx.by_protocol {
        let (f, status) = match out.status(i) {
            Status::Accepted(f) => (f, "accepted"),
            Status::Offered(f) => (f, "offered"),
            _ => continue,
        };
        let section = out
            .seat_section
            .get(i)
            .copied()
            .flatten()
            .and_then(|s| cx.reg.sections().get(usize::from(s)))
            .map_or("", |s| s.id.as_str());
        let mut cells = vec![
            protocol_text(cx.protocol(i)),
            section.to_owned(),
            cx.code(f).to_owned(),
            cx.choice(i, f),
            status.to_owned(),
        ];
        if slots {
            let slot = cx
                .reg
                .time_slot_at(cx.facts, i)
                .and_then(|s| cx.reg.time_slots().get(usize::from(s)))
                .map_or_else(String::new, |s| s.id.clone());
            cells.insert(2, slot);
        }
        t.row(&cells);
    }
    t.close();
}

/// Whether application `i` still waits in list `key`: it has no seat, or (when families move up) its
/// seat is at a choice it ranked below this list's facility, which it has not refused.
fn waits_in(cx: &Context<'_>, out: &RunOutcome, status: Status, i: usize, key: ListKey) -> bool {
    match (status, key) {
        (Status::Waiting, ListKey::Facility(f)) => still_wanted(out, i, f),
        (Status::Waiting, _) => true,
        (Status::Accepted(g) | Status::Offered(g), ListKey::Facility(f)) if cx.reg.allocation().move_up => {
            let prefs = cx.facts.preferences(i);
            let pos = |x: u32| prefs.iter().position(|&p| p == x);
            still_wanted(out, i, f) && pos(f) < pos(g)
        }
        _ => false,
    }
}

/// The family has not refused facility `f`.
fn still_wanted(out: &RunOutcome, i: usize, f: u32) -> bool {
    out.state.instance.preferences(i).contains(&f)
}

/// `waiting.csv`: per list, the applications still waiting, with their position in the waiting list.
/// `status` is [`statuses`] of `out`.
pub fn waiting<'a>(cx: &Context<'_>, out: &RunOutcome, status: &[Status], file: &'a mut Chunks<'a>) {
    let header: Vec<String> = ["list", "position", "protocol"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let mut t = Table::new(&header, file);
    for list in &out.lists {
        let list_id = cx.list_id(list.key);
        let mut p = 0;
        for &a in &list.order {
            let st = status.get(a as usize).copied().unwrap_or(Status::Excluded);
            if waits_in(cx, out, st, a as usize, list.key) {
                p += 1;
                t.field(&list_id);
                t.number(p);
                t.protocol(cx.protocol(a as usize));
                t.end();
            }
        }
    }
    t.close();
}

/// `public.csv`: what may be published. Only the protocol number, the position, the score, the tier
/// (its label only for levels marked `public`, otherwise just "precedenza") and the outcome: never a
/// name, a code, a birth date, an ISEE or a reason for exclusion.
/// `status` is [`statuses`] of `out`.
pub fn public<'a>(cx: &Context<'_>, out: &RunOutcome, status: &[Status], file: &'a mut Chunks<'a>) {
    let mut t = public_table(file);
    let s = &out.scores;
    // Read per row, in list order (eight rows per application when lists are facilities'): each
    // distinct tier's text made once.
    let mut tiers: Vec<(&[u16], String)> = Vec::new();
    let mut outcome = String::new();
    // What follows the position: written once per application in application order when no list is
    // a facility's (see `ranking`).
    let mut tail = |t: &mut Table, i: usize, key: ListKey| {
        let total = match cx.facility_row(s, i, key) {
            Some(r) => s.facility_total(r),
            None => s.total.get(i).copied().unwrap_or_default(),
        };
        outcome.clear();
        let (text, code) = match (status.get(i).copied().unwrap_or(Status::Excluded), key) {
            (Status::Accepted(f) | Status::Offered(f), ListKey::Facility(g)) if f != g => {
                ("ammessa in altra struttura", None)
            }
            (Status::Accepted(f), _) => ("posto accettato: ", Some(f)),
            (Status::Offered(f), _) => ("posto offerto: ", Some(f)),
            (Status::Waiting, _) => ("in attesa", None),
            (Status::Cancelled, _) => ("decaduta", None),
            (Status::NothingLeft, _) => ("nessuna struttura richiesta disponibile", None),
            (Status::Excluded, _) => ("esclusa", None),
        };
        outcome.push_str(text);
        if let Some(f) = code {
            outcome.push_str(cx.code(f));
        }
        if s.reserve.get(i).copied().unwrap_or(false) {
            outcome.push_str(" (con riserva)");
        }
        t.protocol(cx.protocol(i));
        t.points(s, total);
        // A regulation has a handful of distinct tiers.
        let tier = s.tier(i);
        match tiers.iter().find(|(k, _)| *k == tier) {
            Some((_, text)) => t.field(text),
            None => {
                let text = public_tier(cx, s, i);
                t.field(&text);
                tiers.push((tier, text));
            }
        }
        t.field(&outcome);
        t.end();
    };
    let by_facility = by_facility(&out.lists);
    let mut tails = if by_facility {
        Tails::default()
    } else {
        Tails::of(s, 0..s.len, |t, i| tail(t, i, ListKey::Global))
    };
    if by_facility {
        by_blocks(&mut t, &out.lists, |k| cx.list_label(k), tail);
    } else {
        for list in &out.lists {
            tails.list(&mut t, &cx.list_label(list.key), &list.order);
        }
    }
    public_excluded(&mut t, cx, s);
    t.close();
}

/// A public list with its Italian headers.
fn public_table<'a>(file: &'a mut Chunks<'a>) -> Table<'a> {
    let header: Vec<String> = [
        "graduatoria",
        "posizione",
        "protocollo",
        "punteggio",
        "precedenza",
        "esito",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    Table::new(&header, file)
}

/// The excluded applications at the end of a public list, by protocol, with no reason.
fn public_excluded(t: &mut Table, cx: &Context<'_>, s: &BatchScores) {
    for &i in cx.by_protocol {
        if s.excluded.get(i).copied().unwrap_or(false) {
            t.row(&[
                String::new(),
                String::new(),
                protocol_text(cx.protocol(i)),
                String::new(),
                String::new(),
                "esclusa".to_owned(),
            ]);
        }
    }
}

/// The tier of application `i` as published: the group labels of levels marked `public`, otherwise
/// only "precedenza" (for every group but the last).
fn public_tier(cx: &Context<'_>, s: &BatchScores, i: usize) -> String {
    let parts: Vec<String> = s
        .tier(i)
        .iter()
        .zip(cx.reg.tiers())
        .filter_map(|(&g, level)| {
            let last = level.groups.len().saturating_sub(1);
            if level.public {
                level.groups.get(usize::from(g)).map(|(l, _)| l.label.clone())
            } else if usize::from(g) < last {
                Some("precedenza".to_owned())
            } else {
                None
            }
        })
        .collect();
    parts.join(" / ")
}

/// `manifest.json`: what was computed from what, with the SHA-256 of every file.
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// Program and version that made the run.
    pub engine: String,
    /// The regulation.
    pub regulation: ManifestRegulation,
    /// The published seed of the public draw.
    pub seed: Option<String>,
    /// Round number: 1 for the first allocation, one more per answers file.
    pub round: usize,
    /// How seats were given.
    pub allocation: graduatorie_rules::model::AllocationRules,
    /// Counts, for a quick look (calls for seats).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    /// The budget and what was granted (calls for vouchers or contributions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetSummary>,
    /// SHA-256 of each input file in the directory.
    pub inputs: BTreeMap<String, String>,
    /// SHA-256 of each output file.
    pub outputs: BTreeMap<String, String>,
}

/// The regulation as the manifest names it.
#[derive(Debug, Serialize)]
pub struct ManifestRegulation {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Authority.
    pub authority: String,
    /// School year.
    pub school_year: String,
    /// Rules hash: the SHA-256 of `rules.toml`.
    pub hash: String,
}

/// Counts of a run.
#[derive(Debug, Serialize)]
pub struct Counts {
    /// Applications read.
    pub applications: usize,
    /// Excluded by the regulation.
    pub excluded: usize,
    /// Holding an accepted seat.
    pub accepted: usize,
    /// Offered a seat, to answer.
    pub offered: usize,
    /// Waiting.
    pub waiting: usize,
    /// Cancelled by a refusal.
    pub cancelled: usize,
    /// In the ranking with no facility left to offer.
    pub nothing_left: usize,
}

/// Counts of an outcome.
pub fn counts(out: &RunOutcome, n: usize) -> Counts {
    let mut c = Counts {
        applications: n,
        excluded: 0,
        accepted: 0,
        offered: 0,
        waiting: 0,
        cancelled: 0,
        nothing_left: 0,
    };
    for i in 0..n {
        match out.status(i) {
            Status::Excluded => c.excluded += 1,
            Status::Accepted(_) => c.accepted += 1,
            Status::Offered(_) => c.offered += 1,
            Status::Waiting => c.waiting += 1,
            Status::Cancelled => c.cancelled += 1,
            Status::NothingLeft => c.nothing_left += 1,
        }
    }
    c
}

/// A budget run in figures.
#[derive(Debug, Serialize)]
pub struct BudgetSummary {
    /// The money shared, as given.
    pub budget: String,
    /// The total granted (never more than the budget).
    pub granted: String,
    /// Applications read.
    pub applications: usize,
    /// Excluded by the regulation.
    pub excluded: usize,
    /// Beneficiaries funded.
    pub funded: usize,
    /// Of which funded in part (the remainder of the budget).
    pub partial: usize,
}

/// The figures of a budget run.
pub fn budget_summary(out: &BudgetOutcome, budget: Money) -> BudgetSummary {
    let granted: i64 = out.grants.iter().map(|g| g.amount.cents()).sum();
    BudgetSummary {
        budget: budget.to_decimal().to_string(),
        granted: Decimal::new(granted, 2).to_string(),
        applications: out.amounts.len(),
        excluded: out.scores.excluded.iter().filter(|&&e| e).count(),
        funded: out.grants.len(),
        partial: out.grants.iter().filter(|g| g.partial).count(),
    }
}

/// Per application: the amount granted and whether it is partial.
fn granted(out: &BudgetOutcome) -> Vec<Option<(Money, bool)>> {
    let mut v = vec![None; out.amounts.len()];
    for g in &out.grants {
        if let Some(slot) = v.get_mut(g.applicant as usize) {
            *slot = Some((g.amount, g.partial));
        }
    }
    v
}

/// `grants.csv`: every admitted application in ranking order with the amount the regulation gives it
/// and the amount granted.
pub fn grants<'a>(cx: &Context<'_>, out: &BudgetOutcome, file: &'a mut Chunks<'a>) {
    let header: Vec<String> = ["list", "position", "protocol", "amount", "granted", "status"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let mut t = Table::new(&header, file);
    let granted = granted(out);
    for list in &out.lists {
        for (p, &a) in list.order.iter().enumerate() {
            let i = a as usize;
            let amount = out.amounts.get(i).copied().flatten();
            let (given, status) = match granted.get(i).copied().flatten() {
                Some((m, false)) => (m.to_decimal().to_string(), "granted"),
                Some((m, true)) => (m.to_decimal().to_string(), "partial"),
                None => (String::new(), "not_funded"),
            };
            t.row(&[
                cx.list_id(list.key),
                (p + 1).to_string(),
                protocol_text(cx.protocol(i)),
                amount.map_or_else(String::new, |m| m.to_decimal().to_string()),
                given,
                status.to_owned(),
            ]);
        }
    }
    t.close();
}

/// `public.csv` of a budget run: protocol, position, score, tier and outcome only.
pub fn public_grants<'a>(cx: &Context<'_>, out: &BudgetOutcome, file: &'a mut Chunks<'a>) {
    let mut t = public_table(file);
    let granted = granted(out);
    let s = &out.scores;
    for list in &out.lists {
        for (p, &a) in list.order.iter().enumerate() {
            let i = a as usize;
            let outcome = match granted.get(i).copied().flatten() {
                Some((m, false)) => format!("finanziata: {}", m.to_decimal()),
                Some((m, true)) => format!("finanziata in parte: {}", m.to_decimal()),
                None => "non finanziata".to_owned(),
            };
            t.row(&[
                cx.list_label(list.key),
                (p + 1).to_string(),
                protocol_text(cx.protocol(i)),
                s.decimal(s.total.get(i).copied().unwrap_or_default()).to_string(),
                public_tier(cx, s, i),
                outcome,
            ]);
        }
    }
    public_excluded(&mut t, cx, s);
    t.close();
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// Rows made a block at a time come out exactly as rows written one by one in list order, with
    /// blocks of one list, of several, or of everything.
    #[test]
    fn rows_by_blocks_are_rows_in_list_order() {
        let lists: Vec<RankedList> = [vec![3u32, 0, 2], vec![], vec![1, 3], vec![2, 1, 0, 3]]
            .into_iter()
            .enumerate()
            .map(|(f, order)| RankedList {
                key: ListKey::Facility(u32::try_from(f).unwrap()),
                order,
            })
            .collect();
        let cell = |k: ListKey| format!("{k:?}");
        let tail = |t: &mut Table, i: usize, k: ListKey| {
            t.field(&format!("app {i} in {k:?}"));
            t.end();
        };
        let mut expected = Table::headerless();
        for list in &lists {
            for (p, &a) in list.order.iter().enumerate() {
                expected.field(&cell(list.key));
                expected.number(p + 1);
                tail(&mut expected, a as usize, list.key);
            }
        }
        let expected = String::from_utf8(expected.finish()).unwrap();
        assert!(expected.starts_with("Facility(0),1,app 3 in Facility(0)\n"));
        assert_eq!(expected.lines().count(), 9);
        for block in [1, 2, 4, 100] {
            let mut made = Table::headerless();
            in_blocks(&mut made, &lists, block, cell, tail);
            assert_eq!(
                String::from_utf8(made.finish()).unwrap(),
                expected,
                "blocks of {block}"
            );
        }
    }
}
