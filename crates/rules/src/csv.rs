//! Applications as rows of a table (CSV), with columns named as the regulation declares its inputs.
//!
//! Columns: `protocol`, `submitted_at`, `preferences` (facility codes separated by `|`, most wanted
//! first), `family` (a key shared by siblings applying together), then one column per input in
//! declaration order, then, for each list, one column per field and record: `parents.1.work`,
//! `parents.1.hours`, `parents.2.work`… up to the list's `max_items`. An empty cell is an answer not
//! given; a record of a list exists when any of its cells is filled. Cells are
//! text and go through the same checks as JSON answers (`docs/formats.md`).
//!
//! This module only maps cells to answers and back; reading and writing the CSV file itself (quoting,
//! the header row) is the caller's business.

use serde_json::{Map, Value as Json};

use crate::facts::ApplicationJson;
use crate::model::Regulation;

/// A problem with the columns of a table, naming the column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {position} ({name}): {message}")]
pub struct ColumnError {
    /// 1-based column position.
    pub position: usize,
    /// Column name as written in the header.
    pub name: String,
    /// What is wrong.
    pub message: String,
}

const FIXED: [&str; 4] = ["protocol", "submitted_at", "preferences", "family"];

/// Where a column's cells go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Protocol,
    SubmittedAt,
    Preferences,
    Family,
    Input(String),
    Field {
        list: String,
        record: usize,
        field: String,
    },
}

/// The facility codes of a `preferences` cell: separated by `|`, blanks ignored.
pub(crate) fn preference_codes(cell: &str) -> impl Iterator<Item = &str> {
    cell.split('|').map(str::trim).filter(|s| !s.is_empty())
}

/// The columns of a header, checked once and reused for every row.
#[derive(Debug, Clone)]
pub struct Layout {
    targets: Vec<Target>,
    /// The same targets as indexes into the regulation's inputs and lists.
    slots: Vec<Slot>,
    /// Per list: the number of fields and the most records.
    lists: Vec<(usize, usize)>,
    inputs: usize,
}

/// Where a column's cells go, by index.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Protocol,
    SubmittedAt,
    Preferences,
    Family,
    Input(usize),
    Field {
        list: usize,
        record: usize,
        field: usize,
    },
}

/// The filled cells of one row (trimmed), placed where the regulation reads them.
#[derive(Debug, Clone, Default)]
pub struct Row<'a> {
    /// The protocol number as written.
    pub protocol: Option<&'a str>,
    /// The family key.
    pub family: Option<&'a str>,
    pub(crate) submitted_at: Option<&'a str>,
    pub(crate) preferences: Option<&'a str>,
    /// Per scalar input.
    pub(crate) inputs: Vec<Option<&'a str>>,
    /// Per list: the records (up to the highest with a filled cell), `width` cells each.
    pub(crate) records: Vec<(usize, Vec<Option<&'a str>>)>,
}

impl Regulation {
    /// The column names of this regulation's table of applications, in order.
    pub fn csv_columns(&self) -> Vec<String> {
        let mut out: Vec<String> = FIXED.iter().map(|s| (*s).to_owned()).collect();
        out.extend(self.inputs.iter().map(|i| i.id.clone()));
        for l in &self.lists {
            for k in 1..=l.max_items {
                out.extend(l.fields.iter().map(|f| format!("{}.{k}.{}", l.id, f.id)));
            }
        }
        out
    }

    /// Checks a header row: every column must be one of [`Regulation::csv_columns`], none repeated.
    /// Columns may be in any order and optional ones left out.
    pub fn csv_layout(&self, header: &[&str]) -> Result<Layout, Vec<ColumnError>> {
        let mut errors = Vec::new();
        let mut targets = Vec::with_capacity(header.len());
        let mut seen: Vec<&str> = Vec::with_capacity(header.len());
        for (i, raw) in header.iter().enumerate() {
            // A UTF-8 byte-order mark, which spreadsheet programs write, is not part of the first name.
            let name = raw.trim().trim_start_matches('\u{feff}');
            let err = |message: String| ColumnError {
                position: i + 1,
                name: name.to_owned(),
                message,
            };
            if seen.contains(&name) {
                errors.push(err("the column appears twice".into()));
                continue;
            }
            seen.push(name);
            match self.target(name) {
                Some(t) => targets.push(t),
                None => errors.push(err("this regulation has no such input".into())),
            }
        }
        if errors.is_empty() {
            let slots = targets.iter().map(|t| self.slot(t)).collect();
            Ok(Layout {
                targets,
                slots,
                lists: self
                    .lists
                    .iter()
                    .map(|l| (l.fields.len(), l.max_items as usize))
                    .collect(),
                inputs: self.inputs.len(),
            })
        } else {
            Err(errors)
        }
    }

    /// A column's target as indexes (the target was found by [`Regulation::target`]).
    fn slot(&self, target: &Target) -> Slot {
        match target {
            Target::Protocol => Slot::Protocol,
            Target::SubmittedAt => Slot::SubmittedAt,
            Target::Preferences => Slot::Preferences,
            Target::Family => Slot::Family,
            Target::Input(name) => Slot::Input(
                self.inputs
                    .iter()
                    .position(|i| &i.id == name)
                    .unwrap_or(usize::MAX),
            ),
            Target::Field { list, record, field } => {
                let l = self
                    .lists
                    .iter()
                    .position(|x| &x.id == list)
                    .unwrap_or(usize::MAX);
                let f = self
                    .lists
                    .get(l)
                    .and_then(|x| x.fields.iter().position(|y| &y.id == field))
                    .unwrap_or(usize::MAX);
                Slot::Field {
                    list: l,
                    record: *record,
                    field: f,
                }
            }
        }
    }

    fn target(&self, name: &str) -> Option<Target> {
        match name {
            "protocol" => return Some(Target::Protocol),
            "submitted_at" => return Some(Target::SubmittedAt),
            "preferences" => return Some(Target::Preferences),
            "family" => return Some(Target::Family),
            _ => {}
        }
        if self.inputs.iter().any(|i| i.id == name) {
            return Some(Target::Input(name.to_owned()));
        }
        let mut parts = name.splitn(3, '.');
        let (list, record, field) = (parts.next()?, parts.next()?, parts.next()?);
        let def = self.lists.iter().find(|l| l.id == list)?;
        let record: usize = record
            .parse()
            .ok()
            .filter(|r| (1..=def.max_items as usize).contains(r))?;
        def.fields.iter().any(|f| f.id == field).then(|| Target::Field {
            list: list.to_owned(),
            record,
            field: field.to_owned(),
        })
    }

    /// The column of a JSON pointer reported by [`Regulation::facts`] (`/inputs/parents/0/work` →
    /// `parents.1.work`), so a problem can be reported at its line and column.
    pub fn csv_column_of(pointer: &str) -> Option<String> {
        let rest = pointer.strip_prefix('/')?;
        let mut parts = rest.split('/');
        match (parts.next()?, parts.next(), parts.next(), parts.next()) {
            ("inputs", Some(input), None, None) => Some(input.to_owned()),
            ("inputs", Some(list), Some(row), Some(field)) => {
                Some(format!("{list}.{}.{field}", row.parse::<usize>().ok()? + 1))
            }
            ("inputs", Some(list), Some(_), None) => Some(list.to_owned()),
            (fixed, None, None, None) if FIXED.contains(&fixed) => Some(fixed.to_owned()),
            _ => None,
        }
    }

    /// The cells of an application, in the order of [`Regulation::csv_columns`].
    pub fn csv_record(&self, app: &ApplicationJson) -> Vec<String> {
        let text = |v: Option<&Json>| match v {
            None | Some(Json::Null) => String::new(),
            Some(Json::String(s)) => s.clone(),
            Some(Json::Bool(b)) => b.to_string(),
            Some(other) => other.to_string(),
        };
        let mut out = vec![
            app.protocol.clone().unwrap_or_default(),
            app.submitted_at.clone().unwrap_or_default(),
            app.preferences.join("|"),
            app.family.clone().unwrap_or_default(),
        ];
        out.extend(self.inputs.iter().map(|i| {
            match app.inputs.get(&i.id) {
                Some(Json::Array(items)) => items
                    .iter()
                    .filter_map(Json::as_str)
                    .collect::<Vec<_>>()
                    .join("|"),
                v => text(v),
            }
        }));
        for l in &self.lists {
            let records = app.inputs.get(&l.id).and_then(Json::as_array);
            for k in 0..l.max_items as usize {
                let record = records.and_then(|r| r.get(k));
                out.extend(l.fields.iter().map(|f| text(record.and_then(|r| r.get(&f.id)))));
            }
        }
        out
    }
}

impl Layout {
    /// The filled cells of one row (as many cells as header columns), for
    /// [`Regulation::facts_of_row`]: the same answers as [`Layout::application`] gives, without
    /// building a JSON object per row.
    pub fn row<'a>(&self, cells: &[&'a str]) -> Row<'a> {
        self.row_of(cells.iter().copied())
    }

    /// [`Layout::row`] of cells as they come (a CSV record's, without collecting them first).
    pub fn row_of<'a>(&self, cells: impl IntoIterator<Item = &'a str>) -> Row<'a> {
        let mut row = Row {
            inputs: vec![None; self.inputs],
            // Room for every record the header has: grown record by record, most rows reallocated.
            records: self
                .lists
                .iter()
                .map(|&(w, most)| (w, Vec::with_capacity(w * most)))
                .collect(),
            ..Row::default()
        };
        for (slot, cell) in self.slots.iter().zip(cells) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            match *slot {
                Slot::Protocol => row.protocol = Some(cell),
                Slot::SubmittedAt => row.submitted_at = Some(cell),
                Slot::Preferences => row.preferences = Some(cell),
                Slot::Family => row.family = Some(cell),
                Slot::Input(i) => {
                    if let Some(v) = row.inputs.get_mut(i) {
                        *v = Some(cell);
                    }
                }
                Slot::Field { list, record, field } => {
                    let Some((width, cells)) = row.records.get_mut(list) else {
                        continue;
                    };
                    // Records up to this one exist (a skipped number is an empty record).
                    if cells.len() < record * *width {
                        cells.resize(record * *width, None);
                    }
                    if let Some(v) = cells.get_mut((record - 1) * *width + field) {
                        *v = Some(cell);
                    }
                }
            }
        }
        row
    }

    /// An application from the cells of one row (as many cells as header columns).
    pub fn application(&self, cells: &[&str]) -> ApplicationJson {
        let mut app = ApplicationJson {
            protocol: None,
            submitted_at: None,
            preferences: Vec::new(),
            family: None,
            inputs: Map::new(),
        };
        let mut records: Vec<(String, usize, Map<String, Json>)> = Vec::new();
        for (target, cell) in self.targets.iter().zip(cells) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            match target {
                Target::Protocol => app.protocol = Some(cell.to_owned()),
                Target::SubmittedAt => app.submitted_at = Some(cell.to_owned()),
                Target::Family => app.family = Some(cell.to_owned()),
                Target::Preferences => {
                    app.preferences = preference_codes(cell).map(str::to_owned).collect();
                }
                Target::Input(name) => {
                    app.inputs.insert(name.clone(), Json::String(cell.to_owned()));
                }
                Target::Field { list, record, field } => {
                    let at = records.iter().position(|(l, r, _)| l == list && r == record);
                    let fields = match at {
                        Some(i) => records.get_mut(i).map(|(_, _, m)| m),
                        None => {
                            records.push((list.clone(), *record, Map::new()));
                            records.last_mut().map(|(_, _, m)| m)
                        }
                    };
                    if let Some(fields) = fields {
                        fields.insert(field.clone(), Json::String(cell.to_owned()));
                    }
                }
            }
        }
        // Records in order of their number; a skipped number becomes an empty record, so its missing
        // answers are reported at its own columns. Lists with no filled record are not given.
        records.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        for (list, number, fields) in records {
            let entry = app.inputs.entry(list).or_insert_with(|| Json::Array(Vec::new()));
            if let Json::Array(items) = entry {
                while items.len() + 1 < number {
                    items.push(Json::Object(Map::new()));
                }
                items.push(Json::Object(fields));
            }
        }
        app
    }
}
