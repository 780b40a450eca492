//! An application's answers, checked against the inputs a regulation declares and stored as typed
//! values ready for evaluation.
//!
//! Every problem is reported at once, each naming the input by its JSON pointer (`/inputs/parents/1/work`)
//! and never repeating the value, which may be personal data. Answers to questions the regulation does not
//! ask are refused too: the municipality must not collect data its criteria do not use.

use std::collections::HashMap;
use std::str::FromStr;

use graduatorie_domain::{Money, ProtocolNumber};
use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value as Json;

use crate::expr::eval::Env;
use crate::model::{ChoiceSet, InputDef, InputKind, Labelled, Regulation};
use crate::reason::InputReason;
use crate::value::Value;

/// The facilities of a call, numbered so that values can refer to them by index.
#[derive(Debug, Clone, Default)]
pub struct FacilityTable {
    codes: Vec<String>,
    /// foldhash rather than the standard SipHash: a call's million applications look up eight codes
    /// each, and SipHash was most of the time spent reading them. Still seeded per process.
    index: HashMap<String, u32, foldhash::fast::RandomState>,
    closed: bool,
}

impl FacilityTable {
    /// A table that accepts any facility code (for explaining a single application).
    pub fn open() -> Self {
        Self::default()
    }
    /// A table of exactly these facilities; other codes are refused.
    pub fn closed<I: IntoIterator<Item = S>, S: Into<String>>(codes: I) -> Self {
        let mut t = Self::default();
        for c in codes {
            t.intern(&c.into());
        }
        t.closed = true;
        t
    }
    /// Whether other codes are refused (and lookups never change the table).
    pub fn is_closed(&self) -> bool {
        self.closed
    }
    /// The index of a code, adding it when the table is open.
    pub fn lookup(&mut self, code: &str) -> Option<u32> {
        if let Some(&i) = self.index.get(code) {
            return Some(i);
        }
        if self.closed {
            None
        } else {
            Some(self.intern(code))
        }
    }
    fn intern(&mut self, code: &str) -> u32 {
        let i = u32::try_from(self.codes.len()).unwrap_or(u32::MAX);
        self.codes.push(code.to_owned());
        self.index.insert(code.to_owned(), i);
        i
    }
    /// The code of an index.
    pub fn code(&self, i: u32) -> &str {
        self.codes.get(i as usize).map_or("?", String::as_str)
    }
    /// Number of facilities.
    pub fn len(&self) -> usize {
        self.codes.len()
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

/// The values of one list input: `width` values per record.
#[derive(Debug, Clone, Default)]
pub struct ListRows {
    pub(crate) width: usize,
    pub(crate) values: Vec<Value>,
}

/// One application, typed.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Protocol number, when registered.
    pub protocol: Option<ProtocolNumber>,
    pub(crate) scalars: Vec<Value>,
    pub(crate) lists: Vec<ListRows>,
    pub(crate) facility_lists: Vec<Vec<u32>>,
}

impl Facts {
    pub(crate) fn scalar(&self, slot: u16) -> Value {
        self.scalars
            .get(usize::from(slot))
            .copied()
            .unwrap_or(Value::Missing)
    }
    pub(crate) fn list_len(&self, list: u16) -> u32 {
        self.lists.get(usize::from(list)).map_or(0, |l| {
            u32::try_from(l.values.len().checked_div(l.width).unwrap_or(0)).unwrap_or(0)
        })
    }
    pub(crate) fn list_value(&self, list: u16, row: u32, field: u16) -> Value {
        self.lists
            .get(usize::from(list))
            .and_then(|l| l.values.get(row as usize * l.width + usize::from(field)))
            .copied()
            .unwrap_or(Value::Missing)
    }
    pub(crate) fn facility_list(&self, i: u32) -> &[u32] {
        self.facility_lists.get(i as usize).map_or(&[], Vec::as_slice)
    }
    /// The family's preferred facilities, in order.
    pub fn preferences(&self) -> &[u32] {
        match self.scalars.last() {
            Some(Value::Facilities(i)) => self.facility_list(*i),
            _ => &[],
        }
    }
    /// Submission time.
    pub fn submitted_at(&self) -> Option<Timestamp> {
        let n = self.scalars.len();
        match n.checked_sub(2).and_then(|i| self.scalars.get(i)) {
            Some(Value::Time(t)) => Some(*t),
            _ => None,
        }
    }
}

/// An application as JSON: see `docs/formats.md`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationJson {
    /// Protocol number, `2026/000123`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Submission time, RFC 3339.
    #[serde(default)]
    pub submitted_at: Option<String>,
    /// Preferred facility codes, most wanted first.
    #[serde(default)]
    pub preferences: Vec<String>,
    /// Siblings applying together (twins) share this key, so that they can be placed together
    /// (`[allocation] siblings_together`). Not read by the regulation's criteria.
    #[serde(default)]
    pub family: Option<String>,
    /// Answers, by input name.
    #[serde(default)]
    pub inputs: serde_json::Map<String, Json>,
}

/// A problem with one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// JSON pointer of the answer (`/inputs/isee`).
    pub pointer: String,
    /// What is wrong, in English, without the value.
    pub message: String,
    /// What is wrong, as data (for messages in other languages).
    pub reason: InputReason,
}

impl InputError {
    fn new(pointer: String, reason: InputReason) -> Self {
        Self {
            pointer,
            message: reason.en(),
            reason,
        }
    }
}

/// Every problem of an application.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.errors.iter().map(|e| format!("{}: {}", e.pointer, e.message)).collect::<Vec<_>>().join("; "))]
pub struct ApplicationError {
    /// The problems.
    pub errors: Vec<InputError>,
}

impl Regulation {
    /// Checks an application against this regulation and types its answers.
    pub fn facts(
        &self,
        app: &ApplicationJson,
        facilities: &mut FacilityTable,
    ) -> Result<Facts, ApplicationError> {
        let mut errors = Vec::new();
        let mut push = |pointer: String, reason: InputReason| errors.push(InputError::new(pointer, reason));
        let protocol = protocol_of(app.protocol.as_deref(), &mut push);
        let mut facts = Facts {
            protocol,
            ..Facts::default()
        };
        let mut scalar_given = Vec::with_capacity(self.inputs.len());
        for def in &self.inputs {
            // Pointers are built only for problems: most applications have none.
            let pointer = || format!("/inputs/{}", def.id);
            let raw = app.inputs.get(&def.id).filter(|v| !v.is_null());
            scalar_given.push(raw.is_some());
            let value = match raw {
                None => Value::Missing,
                Some(json) => {
                    match convert(
                        def,
                        Raw::Json(json),
                        &self.choices,
                        facilities,
                        &mut facts.facility_lists,
                    ) {
                        Ok(v) => v,
                        Err(message) => {
                            push(pointer(), message);
                            Value::Missing
                        }
                    }
                }
            };
            facts.scalars.push(value);
        }
        facts
            .scalars
            .push(submitted_at_of(app.submitted_at.as_deref(), &mut push));
        let prefs = Json::Array(app.preferences.iter().cloned().map(Json::String).collect());
        let pref_def = InputDef {
            id: "preferences".into(),
            label: String::new(),
            help: None,
            kind: InputKind::Facilities { max: None },
            optional: true,
            ask_if: None,
            sensitive: false,
        };
        match convert(
            &pref_def,
            Raw::Json(&prefs),
            &self.choices,
            facilities,
            &mut facts.facility_lists,
        ) {
            Ok(v) => facts.scalars.push(v),
            Err(message) => {
                push("/preferences".into(), message);
                facts.scalars.push(Value::Missing);
            }
        }
        for key in app.inputs.keys() {
            let known = self.inputs.iter().any(|d| &d.id == key) || self.lists.iter().any(|l| &l.id == key);
            if !known {
                push(format!("/inputs/{key}"), InputReason::Unknown);
            }
        }
        for list in &self.lists {
            let pointer = format!("/inputs/{}", list.id);
            let mut rows = ListRows {
                width: list.fields.len(),
                values: Vec::new(),
            };
            match app.inputs.get(&list.id).filter(|v| !v.is_null()) {
                None => {}
                Some(Json::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let Json::Object(map) = item else {
                            push(format!("{pointer}/{i}"), InputReason::NotARecord);
                            continue;
                        };
                        for key in map.keys() {
                            if !list.fields.iter().any(|f| &f.id == key) {
                                push(format!("{pointer}/{i}/{key}"), InputReason::Unknown);
                            }
                        }
                        for field in &list.fields {
                            let v = match map.get(&field.id).filter(|v| !v.is_null()) {
                                None => Value::Missing,
                                Some(json) => convert(
                                    field,
                                    Raw::Json(json),
                                    &self.choices,
                                    facilities,
                                    &mut facts.facility_lists,
                                )
                                .unwrap_or_else(|message| {
                                    push(format!("{pointer}/{i}/{}", field.id), message);
                                    Value::Missing
                                }),
                            };
                            rows.values.push(v);
                        }
                    }
                }
                Some(_) => push(pointer, InputReason::NotAList),
            }
            facts.lists.push(rows);
        }
        self.check_presence(&mut facts, &scalar_given, &mut errors);
        if errors.is_empty() {
            Ok(facts)
        } else {
            Err(ApplicationError { errors })
        }
    }

    /// Checks an application given as a row of a table ([`crate::csv::Layout::row`]) and types its
    /// answers: the same values and the same problems, in the same order, as [`Regulation::facts`]
    /// gives for [`crate::csv::Layout::application`] of that row, without the JSON object.
    pub fn facts_of_row(
        &self,
        row: &crate::csv::Row<'_>,
        facilities: &mut FacilityTable,
    ) -> Result<Facts, ApplicationError> {
        let mut facts = Facts::default();
        self.facts_of_row_into(row, facilities, &mut facts)?;
        Ok(facts)
    }

    /// [`Regulation::facts_of_row`] into `facts`, reusing its vectors (a table of a million rows
    /// otherwise allocates and frees them a million times). On error `facts` holds a partial
    /// application and must not be used.
    pub fn facts_of_row_into(
        &self,
        row: &crate::csv::Row<'_>,
        facilities: &mut FacilityTable,
        facts: &mut Facts,
    ) -> Result<(), ApplicationError> {
        let mut errors = Vec::new();
        let mut push = |pointer: String, reason: InputReason| errors.push(InputError::new(pointer, reason));
        facts.protocol = protocol_of(row.protocol, &mut push);
        facts.scalars.clear();
        facts.facility_lists.clear();
        facts.lists.truncate(self.lists.len());
        // On the stack for the usual few dozen inputs (a table of a million rows otherwise allocates a
        // vector per row).
        let (mut stack, mut heap) = ([false; 64], Vec::new());
        let scalar_given: &mut [bool] = match stack.get_mut(..self.inputs.len()) {
            Some(s) => s,
            None => {
                heap.resize(self.inputs.len(), false);
                &mut heap
            }
        };
        for (slot, def) in self.inputs.iter().enumerate() {
            let cell = row.inputs.get(slot).copied().flatten();
            if let Some(g) = scalar_given.get_mut(slot) {
                *g = cell.is_some();
            }
            let value = match cell {
                None => Value::Missing,
                Some(t) => convert(
                    def,
                    Raw::Text(t),
                    &self.choices,
                    facilities,
                    &mut facts.facility_lists,
                )
                .unwrap_or_else(|message| {
                    push(format!("/inputs/{}", def.id), message);
                    Value::Missing
                }),
            };
            facts.scalars.push(value);
        }
        facts.scalars.push(submitted_at_of(row.submitted_at, &mut push));
        let items: Vec<&str> = row.preferences.map_or_else(Vec::new, |cell| {
            // Sized once: grown from empty, the vector was reallocated for most applications.
            let mut items = Vec::with_capacity(cell.bytes().filter(|&b| b == b'|').count() + 1);
            items.extend(crate::csv::preference_codes(cell));
            items
        });
        match facility_ids(&items, None, facilities, &mut facts.facility_lists) {
            Ok(v) => facts.scalars.push(v),
            Err(message) => {
                push("/preferences".into(), message);
                facts.scalars.push(Value::Missing);
            }
        }
        for (l, list) in self.lists.iter().enumerate() {
            let mut rows = facts.lists.get_mut(l).map(std::mem::take).unwrap_or_default();
            rows.width = list.fields.len();
            rows.values.clear();
            let cells = row.records.get(l).map_or(&[][..], |(_, c)| c.as_slice());
            for (i, record) in cells.chunks(list.fields.len().max(1)).enumerate() {
                for (field, cell) in list.fields.iter().zip(record) {
                    let v = match cell {
                        None => Value::Missing,
                        Some(t) => convert(
                            field,
                            Raw::Text(t),
                            &self.choices,
                            facilities,
                            &mut facts.facility_lists,
                        )
                        .unwrap_or_else(|message| {
                            push(format!("/inputs/{}/{i}/{}", list.id, field.id), message);
                            Value::Missing
                        }),
                    };
                    rows.values.push(v);
                }
            }
            match facts.lists.get_mut(l) {
                Some(slot) => *slot = rows,
                None => facts.lists.push(rows),
            }
        }
        self.check_presence(facts, scalar_given, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApplicationError { errors })
        }
    }

    /// Required answers must be given, and answers to questions not asked (their `ask_if` is false)
    /// must not. Runs after all values are typed, since conditions read other answers.
    fn check_presence(&self, facts: &mut Facts, given: &[bool], errors: &mut Vec<InputError>) {
        // On the stack for the usual few lists (see `facts_of_row_into`).
        let (mut stack, mut heap) = ([0u32; 8], Vec::new());
        let rows: &mut [u32] = match stack.get_mut(..self.lists.len()) {
            Some(s) => s,
            None => {
                heap.resize(self.lists.len(), 0);
                &mut heap
            }
        };
        let asked = |cond: &Option<crate::expr::Expr>, facts: &Facts, rows: &mut [u32]| -> bool {
            let Some(cond) = cond else { return true };
            cond.eval(&mut Env::new(facts, &[], rows))
                .map(Value::truthy)
                .unwrap_or(true)
        };
        let mut clear = Vec::new();
        for (slot, def) in self.inputs.iter().enumerate() {
            let is_given = given.get(slot).copied().unwrap_or(false);
            let pointer = || format!("/inputs/{}", def.id);
            if asked(&def.ask_if, facts, rows) {
                if !is_given && !def.optional {
                    errors.push(InputError::new(pointer(), InputReason::Required));
                }
            } else if is_given {
                errors.push(InputError::new(pointer(), InputReason::NotAsked));
                clear.push(slot);
            }
        }
        for slot in clear {
            if let Some(v) = facts.scalars.get_mut(slot) {
                *v = Value::Missing;
            }
        }
        for (l, list) in self.lists.iter().enumerate() {
            let l16 = u16::try_from(l).unwrap_or(u16::MAX);
            let n = facts.list_len(l16);
            let pointer = || format!("/inputs/{}", list.id);
            let list_asked = asked(&list.ask_if, facts, rows);
            if !list_asked && n > 0 {
                errors.push(InputError::new(pointer(), InputReason::NotAsked));
            } else if list_asked && (n < list.min_items || n > list.max_items) {
                let reason = InputReason::Records {
                    min: list.min_items,
                    max: list.max_items,
                };
                errors.push(InputError::new(pointer(), reason));
            }
            for row in 0..n {
                if let Some(r) = rows.get_mut(l) {
                    *r = row;
                }
                for (f, field) in list.fields.iter().enumerate() {
                    let f16 = u16::try_from(f).unwrap_or(u16::MAX);
                    let present = facts.list_value(l16, row, f16) != Value::Missing;
                    let field_pointer = || format!("{}/{row}/{}", pointer(), field.id);
                    if asked(&field.ask_if, facts, rows) {
                        if !present && !field.optional {
                            errors.push(InputError::new(field_pointer(), InputReason::Required));
                        }
                    } else if present {
                        errors.push(InputError::new(field_pointer(), InputReason::NotAskedInRecord));
                    }
                }
            }
        }
    }
}

/// The protocol number as written, or a problem at `/protocol`. One definition for both routes.
fn protocol_of(text: Option<&str>, push: &mut impl FnMut(String, InputReason)) -> Option<ProtocolNumber> {
    match text.map(ProtocolNumber::parse) {
        Some(Ok(p)) => Some(p),
        Some(Err(_)) => {
            push("/protocol".into(), InputReason::NotAProtocol);
            None
        }
        None => None,
    }
}

/// The submission time as written, or a problem at `/submitted_at`.
fn submitted_at_of(text: Option<&str>, push: &mut impl FnMut(String, InputReason)) -> Value {
    match text.map(Timestamp::from_str) {
        Some(Ok(t)) => Value::Time(t),
        Some(Err(_)) => {
            push("/submitted_at".into(), InputReason::NotATime);
            Value::Missing
        }
        None => Value::Missing,
    }
}

/// One answer as given: a JSON value (the API, `rules explain`) or the text of a CSV cell.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    Json(&'a Json),
    Text(&'a str),
}

impl<'a> Raw<'a> {
    /// The answer as text (trimmed), when it is text.
    fn text(self) -> Option<&'a str> {
        match self {
            Raw::Json(Json::String(s)) => Some(s.trim()),
            Raw::Text(s) => Some(s.trim()),
            Raw::Json(_) => None,
        }
    }
}

/// Types one answer. Strings are accepted for every type, so CSV cells go through the same checks.
fn convert(
    def: &InputDef,
    raw: Raw<'_>,
    choices: &[ChoiceSet],
    facilities: &mut FacilityTable,
    lists: &mut Vec<Vec<u32>>,
) -> Result<Value, InputReason> {
    let text = raw.text();
    match &def.kind {
        InputKind::Bool => match (raw, text) {
            (Raw::Json(Json::Bool(b)), _) => Ok(Value::Bool(*b)),
            (_, Some(t)) => match t {
                "true" | "sì" | "si" | "yes" | "1" | "s" => Ok(Value::Bool(true)),
                "false" | "no" | "0" | "n" => Ok(Value::Bool(false)),
                _ => match t.to_lowercase().as_str() {
                    "true" | "sì" | "si" | "yes" | "1" | "s" => Ok(Value::Bool(true)),
                    "false" | "no" | "0" | "n" => Ok(Value::Bool(false)),
                    _ => Err(InputReason::NotBool),
                },
            },
            _ => Err(InputReason::NotBool),
        },
        InputKind::Integer { min, max } => {
            let n = match (raw, text) {
                (Raw::Json(Json::Number(n)), _) => n.as_i64(),
                (_, Some(t)) => t.parse::<i64>().ok(),
                _ => None,
            }
            .ok_or(InputReason::NotWholeNumber)?;
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                return Err(InputReason::OutOfRange {
                    min: min.map(|m| m.to_string()),
                    max: max.map(|m| m.to_string()),
                });
            }
            Ok(Value::Int(n))
        }
        InputKind::Decimal { min, max } | InputKind::Money { min, max } => {
            let d = if matches!(def.kind, InputKind::Money { .. }) {
                let m = match raw {
                    Raw::Json(Json::String(t)) => Money::parse(t),
                    Raw::Text(t) => Money::parse(t),
                    Raw::Json(Json::Number(n)) => Money::parse(&n.to_string()),
                    Raw::Json(_) => Err(graduatorie_domain::MoneyError::Syntax),
                }
                .map_err(InputReason::Money)?;
                m.to_decimal()
            } else {
                let t = match raw {
                    Raw::Json(Json::Number(n)) => n.to_string(),
                    _ => text.map(|t| t.replace(',', ".")).ok_or(InputReason::NotNumber)?,
                };
                Decimal::from_str(&t).map_err(|_| InputReason::NotNumber)?
            };
            if min.is_some_and(|m| d < m) || max.is_some_and(|m| d > m) {
                return Err(InputReason::OutOfRange {
                    min: min.map(|m| m.to_string()),
                    max: max.map(|m| m.to_string()),
                });
            }
            Ok(Value::Dec(d))
        }
        InputKind::Date { min, max } => {
            let d = text
                .and_then(|t| Date::from_str(t).ok())
                .ok_or(InputReason::NotDate)?;
            if min.is_some_and(|m| d < m) || max.is_some_and(|m| d > m) {
                return Err(InputReason::OutOfRange {
                    min: min.map(|m| m.to_string()),
                    max: max.map(|m| m.to_string()),
                });
            }
            Ok(Value::Date(d))
        }
        InputKind::Choice(set) => match choices.get(usize::from(*set)) {
            Some(c) => convert_choice(&c.options, text),
            None => Err(InputReason::NotAnOption(Vec::new())),
        },
        InputKind::Facility => {
            let t = text.ok_or(InputReason::NotAFacilityCode)?;
            facilities
                .lookup(t)
                .map(Value::Facility)
                .ok_or(InputReason::UnknownFacility)
        }
        InputKind::Facilities { max } => {
            let items: Vec<&str> = match (raw, text) {
                (Raw::Json(Json::Array(a)), _) => a
                    .iter()
                    .map(|v| v.as_str().ok_or(InputReason::NotFacilityList))
                    .collect::<Result<_, _>>()?,
                (_, Some(t)) => t
                    .split(['|', ';'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect(),
                _ => return Err(InputReason::NotFacilityList),
            };
            facility_ids(&items, *max, facilities, lists)
        }
    }
}

/// A list of facility codes as a value: each code known and given once, at most `max`.
fn facility_ids(
    items: &[&str],
    max: Option<u32>,
    facilities: &mut FacilityTable,
    lists: &mut Vec<Vec<u32>>,
) -> Result<Value, InputReason> {
    if max.is_some_and(|m| items.len() > m as usize) {
        return Err(InputReason::TooManyFacilities(max.unwrap_or(0)));
    }
    let mut ids = Vec::with_capacity(items.len());
    for (i, code) in items.iter().enumerate() {
        let id = facilities
            .lookup(code)
            .ok_or(InputReason::UnknownFacilityAt(i + 1))?;
        if ids.contains(&id) {
            return Err(InputReason::FacilityTwice(i + 1));
        }
        ids.push(id);
    }
    lists.push(ids);
    Ok(Value::Facilities(
        u32::try_from(lists.len() - 1).unwrap_or(u32::MAX),
    ))
}

/// Converts a choice answer, which needs the option list.
fn convert_choice(options: &[Labelled], text: Option<&str>) -> Result<Value, InputReason> {
    let all = || InputReason::NotAnOption(options.iter().map(|o| o.id.clone()).collect());
    let t = text.ok_or_else(all)?;
    options
        .iter()
        .position(|o| o.id == t)
        .and_then(|i| u16::try_from(i).ok())
        .map(Value::Choice)
        .ok_or_else(all)
}
