//! From rules files to a checked [`Regulation`]: reading the inheritance chain, merging it, and
//! checking every declaration and expression, collecting all problems before refusing the file.
//!
//! This crate does no I/O: [`load`] receives a function that reads a file by path.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use indexmap::IndexMap;
use jiff::civil::Date;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::error::{RuleError, RuleErrors};
use crate::expr::Expr;
use crate::expr::check::{self, Binding, Scope};
use crate::expr::parse;
use crate::model::*;
use crate::raw::*;
use crate::source::{SourceMap, Sp, Span, with_base};
use crate::value::{Ty, Value};

/// Deepest chain of `extends`.
const MAX_EXTENDS: usize = 8;

/// Names the system defines; a rules file cannot declare them.
const RESERVED: [&str; 10] = [
    "submitted_at",
    "preferences",
    "reference_date",
    "facility",
    "preference_rank",
    "total",
    "section",
    "draw",
    "protocol",
    "position",
];

/// Reads a regulation from `path`, following `extends`, with `read` doing the file access.
pub fn load(
    path: &str,
    read: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Regulation, RuleErrors> {
    let mut sources = SourceMap::default();
    let mut chain: Vec<(String, RawFile)> = Vec::new();
    let mut next = Some((path.to_owned(), None::<Span>));
    while let Some((file, from)) = next.take() {
        let fail = |sources: SourceMap, message: String| RuleErrors {
            errors: vec![RuleError { span: from, message }],
            sources,
        };
        if chain.iter().any(|(p, _)| same_path(p, &file)) {
            return Err(fail(
                sources,
                format!("'extends' makes a cycle: {file} is already in the chain"),
            ));
        }
        if chain.len() >= MAX_EXTENDS {
            return Err(fail(
                sources,
                format!("more than {MAX_EXTENDS} files extend one another"),
            ));
        }
        let text = match read(&file) {
            Ok(t) => t,
            Err(e) => return Err(fail(sources, format!("cannot read {file}: {e}"))),
        };
        let raw = parse_file(&file, &text, &mut sources).map_err(|e| RuleErrors {
            errors: vec![e],
            sources: sources.clone(),
        })?;
        if let Some(parent) = &raw.extends {
            let dir = Path::new(&file).parent().unwrap_or(Path::new(""));
            let resolved = dir.join(&parent.value).to_string_lossy().into_owned();
            next = Some((resolved, Some(parent.span)));
        }
        chain.push((file, raw));
    }
    let files: Vec<String> = chain.iter().rev().map(|(p, _)| p.clone()).collect();
    let mut errors = Vec::new();
    let mut merged: Option<RawFile> = None;
    for (_, raw) in chain.into_iter().rev() {
        let has_own_id = raw.regulation.as_ref().is_some_and(|r| r.value.id.is_some());
        match merged.as_mut() {
            None => merged = Some(raw),
            Some(m) => {
                if !has_own_id {
                    let span = raw.extends.as_ref().map(|e| e.span);
                    errors.push(RuleError {
                        span,
                        message: "a file that extends another needs its own [regulation] id".into(),
                    });
                }
                m.merge(raw);
            }
        }
    }
    let merged = merged.unwrap_or_default();
    compile_raw(&merged, sources, files, errors)
}

/// Compiles a single self-contained rules text (no `extends`).
pub fn compile_str(name: &str, text: &str) -> Result<Regulation, RuleErrors> {
    let owned = text.to_owned();
    let target = name.to_owned();
    load(name, &mut |p| {
        if p == target {
            Ok(owned.clone())
        } else {
            Err("only one file is available here".into())
        }
    })
}

fn same_path(a: &str, b: &str) -> bool {
    let norm = |p: &str| {
        let mut parts: Vec<&str> = Vec::new();
        for c in p.split('/') {
            match c {
                "" | "." => {}
                ".." if parts.last().is_some_and(|l| *l != "..") => {
                    parts.pop();
                }
                c => parts.push(c),
            }
        }
        parts.join("/")
    };
    norm(a) == norm(b)
}

fn parse_file(name: &str, text: &str, sources: &mut SourceMap) -> Result<RawFile, RuleError> {
    let base = sources.add(name, text);
    with_base(base, || toml::from_str::<RawFile>(text)).map_err(|e| {
        let message = e.message().trim().replace('\n', " ");
        match e.span() {
            Some(r) => RuleError::at(Span::new(r.start + base..r.end + base), message),
            None => RuleError::at(Span::new(base..base), message),
        }
    })
}

/// Checks a merged file and builds the regulation.
fn compile_raw(
    raw: &RawFile,
    sources: SourceMap,
    files: Vec<String>,
    errors: Vec<RuleError>,
) -> Result<Regulation, RuleErrors> {
    let mut c = Compiler::new(raw, &sources);
    c.errors = errors;
    let identity = c.identity(files);
    c.params();
    c.inputs();
    c.prepare_derived();
    c.compile_all_derived();
    let eligibility = c.eligibility();
    let tiers = c.tiers();
    c.subtotals();
    let criteria = c.criteria();
    let tie_breaks = c.tie_breaks();
    let fee = c.fee();
    let grant = c.grant();
    let per_facility = criteria.iter().any(|c| c.per_facility) || tie_breaks.iter().any(|t| t.per_facility);
    let allocation = c.allocation(per_facility);
    let reserve = c.reserve(allocation.mechanism);
    let borders = c.borders(allocation.mechanism);
    let time_slot = c.time_slot();
    // Only on an otherwise valid file: an expression that failed to compile would make its inputs
    // look unread.
    if c.errors.is_empty() {
        // The allocation reads the reserve's condition and the time slot input; a grant its value.
        let slot_read = time_slot.map(|(i, _)| Expr::Input(i));
        let allocation_reads: Vec<&Expr> = reserve
            .as_ref()
            .map(|r| &r.condition)
            .into_iter()
            .chain(slot_read.as_ref())
            .chain(grant.as_ref().map(|g| &g.value))
            .chain(borders.iter().flatten().map(|(_, e)| e))
            .collect();
        c.unused_inputs(
            &eligibility,
            &tiers,
            &criteria,
            &tie_breaks,
            fee.as_ref(),
            &allocation_reads,
        );
    }
    if !c.errors.is_empty() {
        let errors = std::mem::take(&mut c.errors);
        drop(c);
        return Err(RuleErrors { errors, sources });
    }
    let flattened = toml::to_string(raw).unwrap_or_default();
    let hash = Sha256::digest(flattened.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let section_slot = c.section_slot();
    Ok(Regulation {
        identity,
        hash,
        flattened,
        inputs: c.inputs,
        lists: c.lists,
        choices: c.choices,
        derived: c.derived,
        sections: c.sections,
        section_slot,
        eligibility,
        tiers,
        subtotals: c.subtotals,
        criteria,
        tie_breaks,
        fee,
        points_decimals: c.points_decimals,
        allocation,
        reserve,
        time_slot,
        grant,
        borders,
    })
}

#[derive(Debug, Clone)]
enum DState {
    Pending(Box<Sp<RawDerived>>),
    Busy,
    Done(u16, Ty),
    Failed,
}

/// Which names an expression may use.
#[derive(Debug, Clone, Copy, Default)]
struct Allow {
    facility: bool,
    scores: bool,
    inputs_only: bool,
}

/// `ask_if` conditions read only inputs and parameters.
const ASK_IF: Allow = Allow {
    facility: false,
    scores: false,
    inputs_only: true,
};

struct Compiler<'r> {
    raw: &'r RawFile,
    sources: &'r SourceMap,
    errors: Vec<RuleError>,
    reference_date: Date,
    points_decimals: u32,
    params: IndexMap<String, (Value, Ty)>,
    inputs: Vec<InputDef>,
    input_index: HashMap<String, (u16, Ty)>,
    lists: Vec<ListDef>,
    list_index: HashMap<String, u16>,
    list_fields: Vec<HashMap<String, (u16, Ty)>>,
    choices: Vec<ChoiceSet>,
    derived_state: IndexMap<String, DState>,
    derived_stack: Vec<String>,
    derived: Vec<DerivedDef>,
    sections: Vec<Labelled>,
    subtotals: Vec<Labelled>,
    /// Names declared so far and what declared them, to refuse duplicates.
    declared: HashMap<String, &'static str>,
}

impl<'r> Compiler<'r> {
    fn new(raw: &'r RawFile, sources: &'r SourceMap) -> Self {
        Self {
            raw,
            sources,
            errors: Vec::new(),
            reference_date: Date::constant(2000, 1, 1),
            points_decimals: 2,
            params: IndexMap::new(),
            inputs: Vec::new(),
            input_index: HashMap::new(),
            lists: Vec::new(),
            list_index: HashMap::new(),
            list_fields: Vec::new(),
            choices: Vec::new(),
            derived_state: IndexMap::new(),
            derived_stack: Vec::new(),
            derived: Vec::new(),
            sections: Vec::new(),
            subtotals: Vec::new(),
            declared: HashMap::new(),
        }
    }

    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.errors.push(RuleError::at(span, message));
    }

    /// Records a declared name, refusing reserved words, bad spellings and duplicates.
    fn declare(&mut self, name: &str, what: &'static str, span: Span) -> bool {
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            self.error(span, format!("'{name}' is not a valid name: use lower-case letters, digits and '_', starting with a letter"));
            return false;
        }
        if RESERVED.contains(&name)
            || ["and", "or", "not", "if", "then", "else", "in", "true", "false"].contains(&name)
        {
            self.error(
                span,
                format!("'{name}' is a reserved name and cannot be declared"),
            );
            return false;
        }
        if let Some(previous) = self.declared.get(name) {
            self.error(span, format!("'{name}' is already declared as {previous}"));
            return false;
        }
        self.declared.insert(name.to_owned(), what);
        true
    }

    // ---- identity and parameters ---------------------------------------------------------------

    fn identity(&mut self, files: Vec<String>) -> Identity {
        // A missing [regulation] is reported at the start of the file that was asked for (added first).
        let empty = Sp::new(RawIdentity::default(), Span::default());
        let r = self.raw.regulation.as_ref().unwrap_or(&empty);
        let span = r.span;
        let r = &r.value;
        let text = |c: &mut Self, v: &Option<Sp<String>>, key: &str| -> String {
            match v {
                Some(s) if !s.value.trim().is_empty() => s.value.clone(),
                Some(s) => {
                    c.error(s.span, format!("[regulation] {key} cannot be empty"));
                    String::new()
                }
                None => {
                    c.error(span, format!("[regulation] needs '{key}'"));
                    String::new()
                }
            }
        };
        let id = text(self, &r.id, "id");
        let title = text(self, &r.title, "title");
        let service = text(self, &r.service, "service");
        let school_year = text(self, &r.school_year, "school_year");
        let authority = text(self, &r.authority, "authority");
        let source = text(self, &r.source, "source");
        if let Some(istat) = &r.istat
            && graduatorie_domain::IstatCode::parse(&istat.value).is_err()
        {
            self.error(
                istat.span,
                "istat must be the 6-digit ISTAT code of the municipality, e.g. \"037006\"",
            );
        }
        let source_date = r
            .source_date
            .as_ref()
            .and_then(|d| self.date_value(d, "source_date"));
        match r
            .reference_date
            .as_ref()
            .map(|d| (d, self.date_value(d, "reference_date")))
        {
            Some((_, Some(d))) => self.reference_date = d,
            Some((_, None)) => {}
            None => self.error(
                span,
                "[regulation] needs 'reference_date', the date ages are computed at (e.g. 2026-12-31)",
            ),
        }
        if let Some(p) = &r.points_decimals {
            match u32::try_from(p.value) {
                Ok(d) if d <= 6 => self.points_decimals = d,
                _ => self.error(p.span, "points_decimals must be between 0 and 6"),
            }
        }
        Identity {
            id,
            title,
            service,
            school_year,
            authority,
            istat: r.istat.as_ref().map(|s| s.value.clone()),
            source,
            source_date,
            reference_date: self.reference_date,
            assumptions: r
                .assumptions
                .as_ref()
                .map(|a| a.value.clone())
                .unwrap_or_default(),
            files,
        }
    }

    fn date_value(&mut self, v: &Any, key: &str) -> Option<Date> {
        let parsed = match &v.value {
            toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => dt.date.and_then(|d| {
                Date::new(
                    i16::try_from(d.year).ok()?,
                    i8::try_from(d.month).ok()?,
                    i8::try_from(d.day).ok()?,
                )
                .ok()
            }),
            toml::Value::String(s) => Date::from_str(s).ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.error(v.span, format!("{key} must be a date such as 2026-12-31"));
        }
        parsed
    }

    fn params(&mut self) {
        for (name, v) in &self.raw.params {
            if !self.declare(name, "a parameter", v.span) {
                continue;
            }
            let typed = match &v.value {
                toml::Value::Boolean(b) => Some((Value::Bool(*b), Ty::Bool)),
                toml::Value::Integer(n) => Some((Value::Int(*n), Ty::Int)),
                toml::Value::Float(_) | toml::Value::String(_) => {
                    self.decimal(v, "a parameter").map(|d| (Value::Dec(d), Ty::Dec))
                }
                toml::Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
                    (Some(_), None, None) => self
                        .date_value(v, "a parameter")
                        .map(|d| (Value::Date(d), Ty::Date)),
                    (Some(_), Some(_), Some(_)) => match jiff::Timestamp::from_str(&dt.to_string()) {
                        Ok(t) => Some((Value::Time(t), Ty::Time)),
                        Err(_) => {
                            self.error(v.span, "not a valid date and time");
                            None
                        }
                    },
                    _ => {
                        self.error(
                            v.span,
                            "a date and time needs its UTC offset, e.g. 2026-05-31T23:59:59+02:00",
                        );
                        None
                    }
                },
                _ => {
                    self.error(
                        v.span,
                        "a parameter must be a yes/no, a number, a date or a date and time",
                    );
                    None
                }
            };
            if let Some(t) = typed {
                self.params.insert(name.clone(), t);
            }
        }
    }

    /// A decimal written as a TOML number or as a string of digits.
    fn decimal(&mut self, v: &Any, what: &str) -> Option<Decimal> {
        let d = match &v.value {
            toml::Value::Integer(n) => Some(Decimal::from(*n)),
            // TOML floats are binary; their shortest decimal text is what the author typed.
            toml::Value::Float(f) => Decimal::from_str(&f.to_string()).ok(),
            toml::Value::String(s) => Decimal::from_str(s.trim()).ok(),
            _ => None,
        };
        if d.is_none() {
            self.error(v.span, format!("{what} must be a number"));
        }
        d
    }

    // ---- inputs ---------------------------------------------------------------------------------

    fn inputs(&mut self) {
        for (name, input) in &self.raw.inputs {
            if input.value.enabled.as_ref().is_some_and(|e| !e.value) {
                continue;
            }
            if !self.declare(name, "an input", input.span) {
                continue;
            }
            let kind = input.value.kind.as_ref().map(|k| k.value.as_str());
            if kind == Some("list") {
                self.list_input(name, input);
            } else if let Some(def) = self.input_def(name, input, None) {
                let slot = u16::try_from(self.inputs.len()).unwrap_or(u16::MAX);
                let ty = input_ty(&def.kind);
                self.input_index.insert(name.clone(), (slot, ty));
                self.inputs.push(def);
            }
        }
        // `ask_if` conditions may read any input, so they are compiled once all are declared.
        for (name, input) in &self.raw.inputs {
            let Some(ask) = &input.value.ask_if else { continue };
            let compiled = self.expr(ask, ASK_IF, Some(Ty::Bool), &[], "ask_if");
            if let Some((slot, _)) = self.input_index.get(name) {
                if let Some(def) = self.inputs.get_mut(usize::from(*slot)) {
                    def.ask_if = compiled.map(|(e, _)| e);
                }
            } else if let Some(&l) = self.list_index.get(name)
                && let Some(def) = self.lists.get_mut(usize::from(l))
            {
                def.ask_if = compiled.map(|(e, _)| e);
            }
        }
        for (name, input) in &self.raw.inputs {
            let Some(&l) = self.list_index.get(name) else {
                continue;
            };
            let item = self
                .lists
                .get(usize::from(l))
                .map(|d| d.item.clone())
                .unwrap_or_default();
            for (fname, field) in input.value.fields.iter().flatten() {
                let Some(ask) = &field.value.ask_if else { continue };
                let compiled = self.expr(ask, ASK_IF, Some(Ty::Bool), &[(item.clone(), l)], "ask_if");
                let f = self
                    .list_fields
                    .get(usize::from(l))
                    .and_then(|m| m.get(fname))
                    .map(|(f, _)| *f);
                if let (Some(f), Some(def)) = (f, self.lists.get_mut(usize::from(l)))
                    && let Some(fd) = def.fields.get_mut(usize::from(f))
                {
                    fd.ask_if = compiled.map(|(e, _)| e);
                }
            }
        }
    }

    fn list_input(&mut self, name: &str, input: &Sp<RawInput>) {
        let r = &input.value;
        let l = u16::try_from(self.lists.len()).unwrap_or(u16::MAX);
        let item = match &r.item {
            Some(i) if self.declare(&i.value, "the record name of a list", i.span) => i.value.clone(),
            Some(_) => String::new(),
            None => {
                self.error(
                    input.span,
                    format!("list '{name}' needs 'item', the name of one record (e.g. item = \"parent\")"),
                );
                String::new()
            }
        };
        let count = |c: &mut Self, v: &Option<Sp<i64>>, default: u32| match v {
            None => default,
            Some(n) => u32::try_from(n.value)
                .ok()
                .filter(|n| *n <= 100)
                .unwrap_or_else(|| {
                    c.error(n.span, "must be a whole number from 0 to 100");
                    default
                }),
        };
        let min_items = count(self, &r.min_items, 0);
        let max_items = count(self, &r.max_items, 20);
        if min_items > max_items {
            self.error(input.span, "min_items is larger than max_items");
        }
        let mut fields = Vec::new();
        let mut index = HashMap::new();
        match &r.fields {
            None => self.error(
                input.span,
                format!("list '{name}' needs [inputs.{name}.fields.…]"),
            ),
            Some(fs) => {
                for (fname, f) in fs {
                    if f.value.enabled.as_ref().is_some_and(|e| !e.value) {
                        continue;
                    }
                    if f.value.kind.as_ref().is_some_and(|k| k.value == "list") {
                        self.error(f.span, "lists cannot contain lists");
                        continue;
                    }
                    if index.contains_key(fname) {
                        continue;
                    }
                    if let Some(def) = self.input_def(fname, f, Some(name)) {
                        let fi = u16::try_from(fields.len()).unwrap_or(u16::MAX);
                        index.insert(fname.clone(), (fi, input_ty(&def.kind)));
                        fields.push(def);
                    }
                }
            }
        }
        self.list_index.insert(name.to_owned(), l);
        self.list_fields.push(index);
        let label = self.label(&r.label, input.span, name);
        let item_label = r
            .item_label
            .as_ref()
            .map_or_else(|| item.clone(), |l| l.value.clone());
        self.lists.push(ListDef {
            id: name.to_owned(),
            label,
            item_label,
            help: r.help.as_ref().map(|h| h.value.clone()),
            item,
            min_items,
            max_items,
            fields,
            ask_if: None,
        });
    }

    fn label(&mut self, label: &Option<Sp<String>>, span: Span, name: &str) -> String {
        match label {
            Some(l) => l.value.clone(),
            None => {
                self.error(span, format!("'{name}' needs a label"));
                name.to_owned()
            }
        }
    }

    fn input_def(&mut self, name: &str, input: &Sp<RawInput>, list: Option<&str>) -> Option<InputDef> {
        let r = &input.value;
        let label = self.label(&r.label, input.span, name);
        let Some(kind_name) = &r.kind else {
            self.error(input.span, format!("input '{name}' needs a type"));
            return None;
        };
        if list.is_none() && (r.fields.is_some() || r.item.is_some()) {
            self.error(
                input.span,
                format!(
                    "'fields' and 'item' belong to inputs of type \"list\", not \"{}\"",
                    kind_name.value
                ),
            );
        }
        let set_name = list.map_or_else(|| name.to_owned(), |l| format!("{l}.{name}"));
        let kind = match kind_name.value.as_str() {
            "bool" => InputKind::Bool,
            "integer" => {
                let bound = |c: &mut Self, v: &Option<Any>| match v.as_ref().map(|v| (v, &v.value)) {
                    None => None,
                    Some((_, toml::Value::Integer(n))) => Some(*n),
                    Some((v, _)) => {
                        c.error(v.span, "bounds of a whole number must be whole numbers");
                        None
                    }
                };
                InputKind::Integer {
                    min: bound(self, &r.min),
                    max: bound(self, &r.max),
                }
            }
            "decimal" | "money" => {
                let min = r.min.as_ref().and_then(|v| self.decimal(v, "min"));
                let max = r.max.as_ref().and_then(|v| self.decimal(v, "max"));
                if kind_name.value == "money" {
                    InputKind::Money { min, max }
                } else {
                    InputKind::Decimal { min, max }
                }
            }
            "date" => {
                let min = r.min.as_ref().and_then(|v| self.date_value(v, "min"));
                let max = r.max.as_ref().and_then(|v| self.date_value(v, "max"));
                InputKind::Date { min, max }
            }
            "choice" => {
                let Some(options) = &r.options else {
                    self.error(
                        input.span,
                        format!("choice '{name}' needs options = {{ id = \"label\", … }}"),
                    );
                    return None;
                };
                if options.value.is_empty() {
                    self.error(options.span, "a choice needs at least one option");
                }
                for id in options.value.keys() {
                    let ok = !id.is_empty()
                        && id
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if !ok {
                        self.error(
                            options.span,
                            format!("option id '{id}' must use only letters, digits, '_' and '-'"),
                        );
                    }
                }
                let set = u16::try_from(self.choices.len()).unwrap_or(u16::MAX);
                self.choices.push(ChoiceSet {
                    name: set_name,
                    options: options
                        .value
                        .iter()
                        .map(|(id, label)| Labelled {
                            id: id.clone(),
                            label: label.clone(),
                        })
                        .collect(),
                });
                InputKind::Choice(set)
            }
            "facility" => InputKind::Facility,
            "facilities" => InputKind::Facilities {
                max: r.max_items.as_ref().and_then(|m| u32::try_from(m.value).ok()),
            },
            other => {
                self.error(
                    kind_name.span,
                    format!("unknown type \"{other}\": use bool, integer, decimal, money, date, choice, facility, facilities or list"),
                );
                return None;
            }
        };
        if r.options.is_some() && !matches!(kind, InputKind::Choice(_)) {
            self.error(input.span, "'options' belongs to inputs of type \"choice\"");
        }
        if (r.min.is_some() || r.max.is_some())
            && matches!(
                kind,
                InputKind::Bool | InputKind::Choice(_) | InputKind::Facility | InputKind::Facilities { .. }
            )
        {
            self.error(
                input.span,
                format!("'min'/'max' do not apply to type \"{}\"", kind_name.value),
            );
        }
        Some(InputDef {
            id: name.to_owned(),
            label,
            help: r.help.as_ref().map(|h| h.value.clone()),
            kind,
            optional: r.optional.as_ref().is_some_and(|o| o.value),
            ask_if: None,
            sensitive: r.sensitive.as_ref().is_some_and(|s| s.value),
        })
    }

    // ---- derived values and sections -----------------------------------------------------------

    fn prepare_derived(&mut self) {
        let mut sections = Vec::new();
        for (id, s) in &self.raw.sections {
            if s.value.enabled.as_ref().is_some_and(|e| !e.value) {
                continue;
            }
            let label = self.label(&s.value.label, s.span, id);
            match &s.value.when {
                Some(when) => sections.push(Sp::new(
                    RawCase { when: when.clone(), value: Sp::new(toml::Value::String(id.clone()), s.span), label: Some(label.clone()) },
                    s.span,
                )),
                None => self.error(s.span, format!("section '{id}' needs 'when', the condition on age (e.g. \"age_months >= 3 and age_months <= 12\")")),
            }
            self.sections.push(Labelled {
                id: id.clone(),
                label,
            });
        }
        for (name, d) in &self.raw.derived {
            if d.value.enabled.as_ref().is_some_and(|e| !e.value) {
                continue;
            }
            if self.declare(name, "a derived value", d.span) {
                self.derived_state
                    .insert(name.clone(), DState::Pending(Box::new(d.clone())));
            }
        }
        if !sections.is_empty() {
            let span = sections.first().map_or(Span::default(), |s| s.span);
            let raw = RawDerived {
                label: Some(Sp::new("Sezione".into(), span)),
                expr: None,
                cases: Some(Sp::new(sections, span)),
                otherwise: None,
                enabled: None,
            };
            self.derived_state
                .insert("section".into(), DState::Pending(Box::new(Sp::new(raw, span))));
        }
    }

    fn compile_all_derived(&mut self) {
        let names: Vec<String> = self.derived_state.keys().cloned().collect();
        for name in names {
            // Errors are recorded inside; the result is only needed by references.
            let _ = self.ensure_derived(&name);
        }
    }

    fn section_slot(&self) -> Option<u16> {
        match self.derived_state.get("section") {
            Some(DState::Done(i, _)) => Some(*i),
            _ => None,
        }
    }

    /// Compiles a derived value (and, first, those it reads), detecting cycles.
    fn ensure_derived(&mut self, name: &str) -> Result<Option<(u16, Ty)>, String> {
        let state = match self.derived_state.get_mut(name) {
            None => return Ok(None),
            Some(s) => std::mem::replace(s, DState::Busy),
        };
        let raw = match state {
            DState::Done(i, t) => {
                self.derived_state.insert(name.to_owned(), DState::Done(i, t));
                return Ok(Some((i, t)));
            }
            DState::Failed => {
                self.derived_state.insert(name.to_owned(), DState::Failed);
                return Err(String::new());
            }
            DState::Busy => {
                let mut cycle = self.derived_stack.clone();
                cycle.push(name.to_owned());
                let start = cycle.iter().position(|n| n == name).unwrap_or(0);
                let path = cycle.get(start..).unwrap_or(&[]).join(" → ");
                return Err(format!("derived values depend on each other in a cycle: {path}"));
            }
            DState::Pending(raw) => *raw,
        };
        self.derived_stack.push(name.to_owned());
        let compiled = self.derived_expr(name, &raw);
        self.derived_stack.pop();
        match compiled {
            Some((expr, ty)) => {
                let i = u16::try_from(self.derived.len()).unwrap_or(u16::MAX);
                let label = raw
                    .value
                    .label
                    .as_ref()
                    .map_or_else(|| name.to_owned(), |l| l.value.clone());
                self.derived.push(DerivedDef {
                    id: name.to_owned(),
                    label,
                    expr,
                });
                self.derived_state.insert(name.to_owned(), DState::Done(i, ty));
                Ok(Some((i, ty)))
            }
            None => {
                self.derived_state.insert(name.to_owned(), DState::Failed);
                Err(String::new())
            }
        }
    }

    fn derived_expr(&mut self, name: &str, raw: &Sp<RawDerived>) -> Option<(Expr, Ty)> {
        let d = &raw.value;
        match (&d.expr, &d.cases) {
            (Some(e), None) => {
                if d.otherwise.is_some() {
                    self.error(raw.span, "'otherwise' goes with 'cases'");
                }
                self.expr(e, Allow::default(), None, &[], name)
            }
            (None, Some(cases)) => self.cases(name, cases, d.otherwise.as_ref()),
            _ => {
                self.error(
                    raw.span,
                    format!("derived value '{name}' needs either 'expr' or 'cases'"),
                );
                None
            }
        }
    }

    /// `cases` become nested `if … then … else …`; text values become the options of a new choice list.
    fn cases(
        &mut self,
        name: &str,
        cases: &Sp<Vec<Sp<RawCase>>>,
        otherwise: Option<&Any>,
    ) -> Option<(Expr, Ty)> {
        let textual = cases
            .value
            .iter()
            .any(|c| matches!(c.value.value.value, toml::Value::String(_)));
        let mut options: Vec<Labelled> = Vec::new();
        let set = u16::try_from(self.choices.len()).unwrap_or(u16::MAX);
        let mut value_of = |c: &mut Self, v: &Any, label: Option<&String>| -> Option<(Value, Ty)> {
            match (&v.value, textual) {
                (toml::Value::String(s), true) => {
                    let i = match options.iter().position(|o| &o.id == s) {
                        Some(i) => i,
                        None => {
                            options.push(Labelled {
                                id: s.clone(),
                                label: label.cloned().unwrap_or_else(|| s.clone()),
                            });
                            options.len() - 1
                        }
                    };
                    Some((
                        Value::Choice(u16::try_from(i).unwrap_or(u16::MAX)),
                        Ty::Choice(set),
                    ))
                }
                (toml::Value::Integer(n), false) => Some((Value::Int(*n), Ty::Int)),
                (toml::Value::Float(_), false) => c.decimal(v, "value").map(|d| (Value::Dec(d), Ty::Dec)),
                (toml::Value::Boolean(b), false) => Some((Value::Bool(*b), Ty::Bool)),
                _ => {
                    c.error(
                        v.span,
                        "all case values must be of one kind: all names, or all numbers, or all yes/no",
                    );
                    None
                }
            }
        };
        let mut arms = Vec::new();
        let mut ty: Option<Ty> = None;
        let mut ok = true;
        for case in &cases.value {
            let cond = self.expr(&case.value.when, Allow::default(), Some(Ty::Bool), &[], name);
            let val = value_of(self, &case.value.value, case.value.label.as_ref());
            match (cond, val) {
                (Some((c, _)), Some((v, t))) => {
                    ty = Some(match ty {
                        Some(Ty::Int) if t == Ty::Dec => Ty::Dec,
                        Some(prev) => prev,
                        None => t,
                    });
                    arms.push((c, v));
                }
                _ => ok = false,
            }
        }
        let fallback = match otherwise {
            None => Value::Missing,
            Some(v) => value_of(self, v, None).map_or(Value::Missing, |(v, _)| v),
        };
        if textual {
            self.choices.push(ChoiceSet {
                name: name.to_owned(),
                options,
            });
        }
        if !ok {
            return None;
        }
        let expr = arms.into_iter().rev().fold(Expr::Const(fallback), |acc, (c, v)| {
            Expr::If(Box::new(c), Box::new(Expr::Const(v)), Box::new(acc))
        });
        Some((expr, ty.unwrap_or(Ty::Int)))
    }

    // ---- expressions ----------------------------------------------------------------------------

    /// Parses and checks an expression written in a TOML string, reporting problems at their place.
    fn expr(
        &mut self,
        src: &Sp<String>,
        allow: Allow,
        want: Option<Ty>,
        items: &[(String, u16)],
        what: &str,
    ) -> Option<(Expr, Ty)> {
        let offset = self.sources.text(src.span).map_or(1, |t| {
            if t.starts_with("\"\"\"") || t.starts_with("'''") {
                3
            } else {
                1
            }
        });
        let at = |start: usize, end: usize| src.span.sub(offset + start, end.saturating_sub(start).max(1));
        let ast = match parse::parse(&src.value) {
            Ok(a) => a,
            Err(e) => {
                self.errors.push(RuleError::at(
                    at(e.start, e.end),
                    format!("in {what}: {}", e.message),
                ));
                return None;
            }
        };
        let mut scope = Names { c: self, allow };
        let result = match want {
            Some(ty) => {
                check::check_as_with_items(&ast, &mut scope, ty, &format!("'{what}'"), items).map(|e| (e, ty))
            }
            None => check::check_with_items(&ast, &mut scope, items),
        };
        match result {
            Ok(r) => Some(r),
            Err(e) => {
                if !e.message.is_empty() {
                    self.errors.push(RuleError::at(
                        at(e.start, e.end),
                        format!("in {what}: {}", e.message),
                    ));
                }
                None
            }
        }
    }

    /// A value written either as a number or as an expression in a string.
    fn number_or_expr(
        &mut self,
        v: &Any,
        allow: Allow,
        items: &[(String, u16)],
        what: &str,
    ) -> Option<NumOrExpr> {
        match &v.value {
            toml::Value::Integer(_) | toml::Value::Float(_) => self.decimal(v, what).map(NumOrExpr::Num),
            toml::Value::String(s) => match Decimal::from_str(s.trim()) {
                Ok(d) => Some(NumOrExpr::Num(d)),
                Err(_) => {
                    let src = Sp::new(s.clone(), v.span);
                    self.expr(&src, allow, Some(Ty::Dec), items, what)
                        .map(|(e, _)| NumOrExpr::Expr(e))
                }
            },
            _ => {
                self.error(
                    v.span,
                    format!("{what} must be a number or an expression in quotes"),
                );
                None
            }
        }
    }

    // ---- eligibility, tiers, subtotals ----------------------------------------------------------

    fn eligibility(&mut self) -> Vec<EligibilityRule> {
        let mut out = Vec::new();
        if let Some(slot) = self.section_slot() {
            out.push(EligibilityRule {
                id: "section".into(),
                reason: "L'età del bambino non rientra in nessuna sezione".into(),
                condition: Expr::Present(Box::new(Expr::Derived(slot))),
                reserve: false,
            });
        }
        for (id, rule) in &self.raw.eligibility {
            let r = &rule.value;
            if r.enabled.as_ref().is_some_and(|e| !e.value) {
                continue;
            }
            let reason = match &r.reason {
                Some(reason) => reason.value.clone(),
                None => {
                    self.error(
                        rule.span,
                        format!("eligibility rule '{id}' needs a 'reason' shown to families"),
                    );
                    String::new()
                }
            };
            let (cond, reserve) = match (&r.require, &r.reserve_if) {
                (Some(c), None) => (c, false),
                (None, Some(c)) => (c, true),
                _ => {
                    self.error(
                        rule.span,
                        format!("eligibility rule '{id}' needs exactly one of 'require' or 'reserve_if'"),
                    );
                    continue;
                }
            };
            if let Some((condition, _)) = self.expr(cond, Allow::default(), Some(Ty::Bool), &[], id) {
                out.push(EligibilityRule {
                    id: id.clone(),
                    reason,
                    condition,
                    reserve,
                });
            }
        }
        out
    }

    fn tiers(&mut self) -> Vec<TierLevel> {
        let mut out = Vec::new();
        for (id, level) in &self.raw.tiers {
            let r = &level.value;
            if r.enabled.as_ref().is_some_and(|e| !e.value) {
                continue;
            }
            let label = self.label(&r.label, level.span, id);
            let Some(groups) = &r.groups else {
                self.error(
                    level.span,
                    format!("tier level '{id}' needs groups = [{{ id, label, when }}, …]"),
                );
                continue;
            };
            if groups.value.len() < 2 {
                self.error(groups.span, "a tier level needs at least two groups");
            }
            let mut compiled = Vec::new();
            let mut seen = Vec::new();
            let last = groups.value.len().saturating_sub(1);
            for (i, g) in groups.value.iter().enumerate() {
                let g = &g.value;
                if seen.contains(&g.id.value) {
                    self.error(g.id.span, format!("group '{}' appears twice", g.id.value));
                }
                seen.push(g.id.value.clone());
                let cond = match (&g.when, i == last) {
                    (Some(_), true) => {
                        self.error(g.id.span, "the last group takes everyone left: remove its 'when'");
                        None
                    }
                    (None, false) => {
                        self.error(g.id.span, "only the last group may have no 'when'");
                        None
                    }
                    (Some(w), false) => self
                        .expr(w, Allow::default(), Some(Ty::Bool), &[], &g.id.value)
                        .map(|(e, _)| e),
                    (None, true) => None,
                };
                compiled.push((
                    Labelled {
                        id: g.id.value.clone(),
                        label: g.label.value.clone(),
                    },
                    cond,
                ));
            }
            out.push(TierLevel {
                id: id.clone(),
                label,
                groups: compiled,
                public: level.value.public.as_ref().is_some_and(|p| p.value),
            });
        }
        out
    }

    fn subtotals(&mut self) {
        for (id, label) in &self.raw.subtotals {
            if self.declare(id, "a subtotal", label.span) {
                self.subtotals.push(Labelled {
                    id: id.clone(),
                    label: label.value.clone(),
                });
            }
        }
    }

    // ---- criteria -------------------------------------------------------------------------------

    fn criteria(&mut self) -> Vec<Criterion> {
        let mut out = Vec::new();
        for (id, crit) in &self.raw.criteria {
            let r = &crit.value;
            if r.enabled.as_ref().is_some_and(|e| !e.value) {
                continue;
            }
            if let Some(c) = self.criterion(id, crit) {
                out.push(c);
            }
        }
        out
    }

    fn criterion(&mut self, id: &str, crit: &Sp<RawCriterion>) -> Option<Criterion> {
        let r = &crit.value;
        let label = self.label(&r.label, crit.span, id);
        let subtotal = r.subtotal.as_ref().and_then(|s| {
            let found = self
                .subtotals
                .iter()
                .position(|t| t.id == s.value)
                .and_then(|i| u16::try_from(i).ok());
            if found.is_none() {
                let names: Vec<String> = self.subtotals.iter().map(|t| t.id.clone()).collect();
                self.error(
                    s.span,
                    format!(
                        "unknown subtotal '{}': declare it under [subtotals] (declared: {})",
                        s.value,
                        names.join(", ")
                    ),
                );
            }
            found
        });
        let mut items = Vec::new();
        let for_each = match &r.for_each {
            None => None,
            Some(l) => match self.list_index.get(&l.value).copied() {
                Some(list) => {
                    let item = self
                        .lists
                        .get(usize::from(list))
                        .map(|d| d.item.clone())
                        .unwrap_or_default();
                    items.push((item, list));
                    Some(list)
                }
                None => {
                    self.error(
                        l.span,
                        format!("for_each needs a list input; '{}' is not one", l.value),
                    );
                    return None;
                }
            },
        };
        let allow = Allow {
            facility: true,
            ..Allow::default()
        };
        let when = r
            .when
            .as_ref()
            .map(|w| self.expr(w, allow, Some(Ty::Bool), &items, id));
        let kinds =
            usize::from(r.points.is_some()) + usize::from(r.table.is_some()) + usize::from(r.bands.is_some());
        if kinds != 1 {
            self.error(
                crit.span,
                format!("criterion '{id}' needs exactly one of 'points', 'table' or 'bands'"),
            );
            return None;
        }
        let value = match (&r.value, r.points.is_some()) {
            (Some(v), true) => {
                self.error(
                    v.span,
                    "'value' goes with 'table' or 'bands'; with 'points' write the expression in 'points'",
                );
                None
            }
            (None, false) => {
                self.error(
                    crit.span,
                    format!("criterion '{id}' needs 'value', the expression that 'table' or 'bands' look up"),
                );
                return None;
            }
            (Some(v), false) => Some(self.expr(v, allow, None, &items, id)?),
            (None, true) => None,
        };
        let rule = if let Some(p) = &r.points {
            match self.number_or_expr(p, allow, &items, id)? {
                NumOrExpr::Num(d) => PointsRule::Fixed(d),
                NumOrExpr::Expr(e) => PointsRule::Formula(e),
            }
        } else if let (Some(table), Some((value, ty))) = (&r.table, value.clone()) {
            let Ty::Choice(set) = ty else {
                let found = Names { c: self, allow }.describe(ty);
                self.error(
                    r.value.as_ref().map_or(crit.span, |v| v.span),
                    format!("'table' needs a choice as value, found {found}"),
                );
                return None;
            };
            let options: Vec<String> = self
                .choices
                .get(usize::from(set))
                .map(|s| s.options.iter().map(|o| o.id.clone()).collect())
                .unwrap_or_default();
            let mut points = vec![Decimal::ZERO; options.len()];
            for (key, v) in &table.value {
                match options.iter().position(|o| o == key) {
                    Some(i) => {
                        if let (Some(d), Some(slot)) = (self.decimal(v, "points"), points.get_mut(i)) {
                            *slot = d;
                        }
                    }
                    None => self.error(
                        v.span,
                        format!(
                            "'{key}' is not an option of the value (options: {})",
                            options.join(", ")
                        ),
                    ),
                }
            }
            PointsRule::Table { value, points }
        } else if let (Some(bands), Some((value, ty))) = (&r.bands, value) {
            if !ty.is_number() {
                let found = Names { c: self, allow }.describe(ty);
                self.error(
                    r.value.as_ref().map_or(crit.span, |v| v.span),
                    format!("'bands' need a number as value, found {found}"),
                );
                return None;
            }
            let bands = self.bands(bands, ty, BandUse::Points)?;
            PointsRule::Bands { value, bands }
        } else {
            return None;
        };
        let multiplier = match &r.multiplier {
            None => None,
            Some(m) => Some(match self.number_or_expr(m, allow, &[], "multiplier")? {
                NumOrExpr::Num(d) => Expr::Const(Value::Dec(d)),
                NumOrExpr::Expr(e) => e,
            }),
        };
        let max = match &r.max {
            None => None,
            Some(m) => Some(self.decimal(m, "max")?),
        };
        let when = match when {
            None => None,
            Some(Some((e, _))) => Some(e),
            Some(None) => return None,
        };
        let mut per_facility = when.as_ref().is_some_and(Expr::depends_on_facility)
            || multiplier.as_ref().is_some_and(Expr::depends_on_facility);
        per_facility |= rule.value().is_some_and(Expr::depends_on_facility);
        Some(Criterion {
            id: id.to_owned(),
            label,
            subtotal,
            when,
            for_each,
            rule,
            multiplier,
            max,
            per_facility,
        })
    }

    /// Checks bands: ascending, each from ≤ to, consecutive bands meeting exactly (no gap, no overlap).
    fn bands(&mut self, bands: &Sp<Vec<Sp<RawBand>>>, ty: Ty, use_: BandUse) -> Option<Vec<Band>> {
        if bands.value.is_empty() {
            self.error(bands.span, "'bands' needs at least one band");
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for b in &bands.value {
            let span = b.span;
            let r = &b.value;
            let from = r.from.as_ref().map(|v| self.decimal(v, "from"));
            let to = r.to.as_ref().map(|v| self.decimal(v, "to"));
            if matches!(from, Some(None)) || matches!(to, Some(None)) {
                ok = false;
                continue;
            }
            let (from, to) = (from.flatten(), to.flatten());
            if let (Some(f), Some(t)) = (from, to)
                && f > t
            {
                self.error(span, "band 'from' is larger than 'to'");
                ok = false;
            }
            let fixed = match use_ {
                BandUse::Points => &r.points,
                BandUse::Amount => &r.amount,
            };
            let wrong_key = match use_ {
                BandUse::Points => r
                    .amount
                    .is_some()
                    .then_some("'amount' belongs to fee bands; criteria bands give 'points'"),
                BandUse::Amount => r
                    .points
                    .is_some()
                    .then_some("'points' belongs to criteria bands; fee bands give 'amount'"),
            };
            if let Some(m) = wrong_key {
                self.error(span, m);
                ok = false;
            }
            let gives = match (fixed, &r.linear) {
                (Some(v), None) => self.decimal(v, "the band's value").map(BandValue::Fixed),
                (None, Some(l)) => {
                    if from.is_none() || to.is_none() {
                        self.error(l.span, "'linear' needs both 'from' and 'to'");
                        None
                    } else if from == to {
                        self.error(l.span, "'linear' needs 'from' smaller than 'to'");
                        None
                    } else if let [a, b] = l.value.as_slice() {
                        match (self.decimal(a, "linear"), self.decimal(b, "linear")) {
                            (Some(a), Some(b)) => Some(BandValue::Linear(a, b)),
                            _ => None,
                        }
                    } else {
                        self.error(
                            l.span,
                            "'linear' takes two values: [value at 'from', value at 'to']",
                        );
                        None
                    }
                }
                _ => {
                    let key = if use_ == BandUse::Points {
                        "points"
                    } else {
                        "amount"
                    };
                    self.error(
                        span,
                        format!("each band needs exactly one of '{key}' or 'linear'"),
                    );
                    None
                }
            };
            match gives {
                Some(gives) => out.push((span, Band { from, to, gives })),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        // The smallest step between consecutive values: 1 for whole numbers, the finest decimal written
        // in the bounds (and never coarser than a cent) for decimals.
        let scale = out
            .iter()
            .flat_map(|(_, b)| [b.from, b.to])
            .flatten()
            .map(|d| d.scale())
            .max()
            .unwrap_or(0);
        let step = if ty == Ty::Int {
            Decimal::ONE
        } else {
            Decimal::new(1, scale.max(2))
        };
        for pair in out.windows(2) {
            let [(_, a), (span, b)] = pair else { continue };
            match (a.to, b.from) {
                (None, _) => {
                    self.error(*span, "a band with no 'to' must be the last");
                    ok = false;
                }
                (_, None) => {
                    self.error(*span, "only the first band may have no 'from'");
                    ok = false;
                }
                (Some(t), Some(f)) if f <= t => {
                    self.error(
                        *span,
                        format!("bands overlap: this band starts at {f}, the previous one ends at {t}"),
                    );
                    ok = false;
                }
                (Some(t), Some(f)) if f != t + step => {
                    self.error(
                        *span,
                        format!(
                            "gap between bands: the previous band ends at {t}, so this one must start at {}",
                            t + step
                        ),
                    );
                    ok = false;
                }
                _ => {}
            }
        }
        ok.then(|| out.into_iter().map(|(_, b)| b).collect())
    }

    // ---- tie-breaks and fee ---------------------------------------------------------------------

    fn tie_breaks(&mut self) -> Vec<TieBreak> {
        let Some(list) = &self.raw.tie_break else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for t in &list.value {
            let r = &t.value;
            let order_of = |c: &mut Self, s: &Sp<String>| match s.value.as_str() {
                "asc" => Some(Order::Asc),
                "desc" => Some(Order::Desc),
                _ => {
                    c.error(
                        s.span,
                        "order must be \"asc\" (smallest first) or \"desc\" (largest first)",
                    );
                    None
                }
            };
            let order = r.order.as_ref().map_or(Some(Order::Asc), |o| order_of(self, o));
            let missing_first = match r.missing.as_ref().map(|m| (m, m.value.as_str())) {
                None | Some((_, "last")) => false,
                Some((_, "first")) => true,
                Some((m, _)) => {
                    self.error(m.span, "missing must be \"first\" or \"last\"");
                    false
                }
            };
            let mut section_order = Vec::new();
            for (sid, o) in r.section_order.iter().flat_map(|s| s.value.iter()) {
                match self.sections.iter().position(|s| &s.id == sid) {
                    Some(i) => {
                        if let Some(o) = order_of(self, o) {
                            section_order.push((u16::try_from(i).unwrap_or(u16::MAX), o));
                        }
                    }
                    None => self.error(o.span, format!("'{sid}' is not a section")),
                }
            }
            let (kind, per_facility) = match r.by.value.trim() {
                "draw" => (Some(TieKind::Draw), false),
                "protocol" => (Some(TieKind::Protocol), false),
                _ => {
                    let allow = Allow {
                        facility: true,
                        scores: true,
                        inputs_only: false,
                    };
                    match self.expr(&r.by, allow, None, &[], "tie_break") {
                        Some((_, Ty::List(_) | Ty::Item(_) | Ty::Facilities | Ty::Facility)) => {
                            self.error(
                                r.by.span,
                                "a tie-break must compare a number, a date, a yes/no or a choice",
                            );
                            (None, false)
                        }
                        Some((e, _)) => {
                            let pf = e.depends_on_facility();
                            (Some(TieKind::Value(e)), pf)
                        }
                        None => (None, false),
                    }
                }
            };
            let label = r
                .label
                .as_ref()
                .map_or_else(|| r.by.value.clone(), |l| l.value.clone());
            if let (Some(kind), Some(order)) = (kind, order) {
                out.push(TieBreak {
                    label,
                    kind,
                    order,
                    missing_first,
                    section_order,
                    per_facility,
                });
            }
        }
        out
    }

    /// `[allocation]`: each key checked against its allowed words; what is left out takes the
    /// defaults documented in `docs/rules.md`.
    fn allocation(&mut self, per_facility: bool) -> AllocationRules {
        let has_sections = !self.sections.is_empty();
        let mut out = AllocationRules {
            mechanism: if per_facility {
                MechanismKind::DeferredAcceptance
            } else {
                MechanismKind::GlobalOrder
            },
            lists: if per_facility {
                ListKind::PerFacility
            } else if has_sections {
                ListKind::PerSection
            } else {
                ListKind::Global
            },
            refusal: RefusalPolicy::LoseApplication,
            no_answer_accepts: false,
            move_up: false,
            budget_edge: EdgePolicy::Stop,
            siblings_together: false,
        };
        let Some(raw) = self.raw.allocation.as_ref() else {
            return out;
        };
        let r = &raw.value;
        if let Some(m) = &r.mechanism {
            match m.value.as_str() {
                "global_order" => out.mechanism = MechanismKind::GlobalOrder,
                "deferred_acceptance" => out.mechanism = MechanismKind::DeferredAcceptance,
                "first_choice_first" => out.mechanism = MechanismKind::FirstChoiceFirst,
                _ => self.error(
                    m.span,
                    "mechanism must be \"global_order\", \"deferred_acceptance\" or \"first_choice_first\"",
                ),
            }
        }
        if let Some(l) = &r.lists {
            match l.value.as_str() {
                "global" => out.lists = ListKind::Global,
                "per_section" if has_sections => out.lists = ListKind::PerSection,
                "per_section" => self.error(l.span, "lists = \"per_section\" needs [sections]"),
                "per_facility" => out.lists = ListKind::PerFacility,
                _ => self.error(
                    l.span,
                    "lists must be \"global\", \"per_section\" or \"per_facility\"",
                ),
            }
            if per_facility && out.lists != ListKind::PerFacility {
                self.error(
                    l.span,
                    "points or tie-breaks depend on the facility, so the lists must be \"per_facility\"",
                );
            }
        }
        if out.lists == ListKind::PerFacility && out.mechanism == MechanismKind::GlobalOrder {
            let span = r.mechanism.as_ref().map_or(raw.span, |m| m.span);
            self.error(
                span,
                "with one list per facility there is no single order: use \"deferred_acceptance\" or \"first_choice_first\"",
            );
        }
        let allowed = match &r.refusals_allowed {
            Some(n) => match u32::try_from(n.value) {
                Ok(v) if v >= 1 => Some((v, n.span)),
                _ => {
                    self.error(n.span, "refusals_allowed must be a whole number of at least 1");
                    None
                }
            },
            None => None,
        };
        if let Some(p) = &r.refusal {
            match p.value.as_str() {
                "lose_facility" => out.refusal = RefusalPolicy::LoseFacility,
                "lose_application" => out.refusal = RefusalPolicy::LoseApplication,
                "first_choice_cancels" => out.refusal = RefusalPolicy::FirstChoiceRefusalCancels,
                "allowed" => match allowed {
                    Some((n, _)) => out.refusal = RefusalPolicy::Allowed(n),
                    None if r.refusals_allowed.is_none() => self.error(
                        p.span,
                        "refusal = \"allowed\" needs refusals_allowed: how many refusals keep the application",
                    ),
                    None => {}
                },
                _ => self.error(
                    p.span,
                    "refusal must be \"lose_facility\", \"lose_application\", \"first_choice_cancels\" or \"allowed\"",
                ),
            }
        }
        if let Some((_, span)) = allowed
            && !matches!(out.refusal, RefusalPolicy::Allowed(_))
        {
            self.error(span, "refusals_allowed is used only with refusal = \"allowed\"");
        }
        if let Some(a) = &r.no_answer {
            match a.value.as_str() {
                "accept" => out.no_answer_accepts = true,
                "refuse" => out.no_answer_accepts = false,
                _ => self.error(a.span, "no_answer must be \"accept\" or \"refuse\""),
            }
        }
        if let Some(m) = &r.move_up {
            out.move_up = m.value;
        }
        if let Some(t) = &r.siblings_together {
            out.siblings_together = t.value;
            if t.value && (out.mechanism != MechanismKind::GlobalOrder || r.reserve.is_some()) {
                // With per-facility priorities, keeping siblings together can leave no stable
                // allocation at all (the "couples" problem); with one order it is well defined.
                self.error(
                    t.span,
                    "siblings_together works with mechanism = \"global_order\" and without reserved seats",
                );
            }
        }
        if let Some(e) = &r.budget_edge {
            match e.value.as_str() {
                "stop" => out.budget_edge = EdgePolicy::Stop,
                "skip" => out.budget_edge = EdgePolicy::SkipToNextThatFits,
                "remainder" => out.budget_edge = EdgePolicy::GrantRemainder,
                _ => self.error(e.span, "budget_edge must be \"stop\", \"skip\" or \"remainder\""),
            }
        }
        out
    }

    /// `spare_to` / `spare_if` of each section: a neighbouring section, and who may take its spare seats.
    fn borders(&mut self, mechanism: MechanismKind) -> Vec<Option<(u16, Expr)>> {
        let mut out = Vec::new();
        let raw: Vec<(String, Sp<RawSection>)> = self
            .raw
            .sections
            .iter()
            .filter(|(_, s)| s.value.enabled.as_ref().is_none_or(|e| e.value))
            .map(|(id, s)| (id.clone(), s.clone()))
            .collect();
        for (id, s) in raw {
            let r = &s.value;
            match (&r.spare_to, &r.spare_if) {
                (None, None) => out.push(None),
                (Some(to), Some(cond)) => {
                    let target = self.sections.iter().position(|x| x.id == to.value);
                    let e = self
                        .expr(cond, Allow::default(), Some(Ty::Bool), &[], "spare_if")
                        .map(|(e, _)| e);
                    match target {
                        Some(t) if t != out.len() => {
                            out.push(e.map(|e| (u16::try_from(t).unwrap_or(u16::MAX), e)));
                        }
                        Some(_) => {
                            self.error(to.span, "spare_to must name another section");
                            out.push(None);
                        }
                        None => {
                            self.error(to.span, format!("'{}' is not a section", to.value));
                            out.push(None);
                        }
                    }
                }
                _ => {
                    self.error(
                        s.span,
                        format!("section '{id}': spare_to and spare_if go together (which section, and who)"),
                    );
                    out.push(None);
                }
            }
        }
        if out.iter().any(Option::is_some) && mechanism != MechanismKind::GlobalOrder {
            let span = self.raw.allocation.as_ref().map_or(Span::default(), |a| a.span);
            self.error(
                span,
                "spare seats for children at the border of a section work with mechanism = \"global_order\"",
            );
        }
        out
    }

    /// `[allocation] time_slot`: a choice input asked of everyone, whose options have seats of their own.
    fn time_slot(&mut self) -> Option<(u16, u16)> {
        let name = self.raw.allocation.as_ref()?.value.time_slot.as_ref()?;
        let found = self.inputs.iter().position(|i| i.id == name.value);
        match found.and_then(|i| Some((i, self.inputs.get(i)?))) {
            Some((i, def)) => match def.kind {
                InputKind::Choice(set) if !def.optional && def.ask_if.is_none() => {
                    Some((u16::try_from(i).unwrap_or(u16::MAX), set))
                }
                InputKind::Choice(_) => {
                    self.error(
                        name.span,
                        "the time slot input must be asked of everyone: not optional, no ask_if",
                    );
                    None
                }
                _ => {
                    self.error(name.span, format!("'{}' is not a choice input", name.value));
                    None
                }
            },
            None => {
                self.error(
                    name.span,
                    format!("'{}' is not an input of this regulation", name.value),
                );
                None
            }
        }
    }

    /// `[allocation.reserve]`: who belongs to the group, and how many seats it gets first or at most.
    fn reserve(&mut self, mechanism: MechanismKind) -> Option<Reserve> {
        let raw = self.raw.allocation.as_ref()?.value.reserve.as_ref()?;
        let r = &raw.value;
        let label = r
            .label
            .as_ref()
            .map_or_else(|| "Posti riservati".to_owned(), |l| l.value.clone());
        if mechanism == MechanismKind::FirstChoiceFirst {
            self.error(
                raw.span,
                "reserved seats work with mechanism = \"global_order\" or \"deferred_acceptance\", not \"first_choice_first\"",
            );
        }
        let condition = match &r.when {
            Some(w) => self
                .expr(w, Allow::default(), Some(Ty::Bool), &[], "reserve")
                .map(|(e, _)| e),
            None => {
                self.error(
                    raw.span,
                    "[allocation.reserve] needs 'when': who belongs to the group",
                );
                None
            }
        };
        let count = |c: &mut Self, v: &Any, what: &str| -> Option<SeatCount> {
            match &v.value {
                toml::Value::Integer(n) => match u32::try_from(*n) {
                    Ok(n) => Some(SeatCount::Seats(n)),
                    Err(_) => {
                        c.error(
                            v.span,
                            format!("{what} must be a whole number of seats or a share such as \"20%\""),
                        );
                        None
                    }
                },
                toml::Value::String(t) => match t.trim().strip_suffix('%').map(|p| p.trim().parse::<u32>()) {
                    Some(Ok(p)) if p <= 100 => Some(SeatCount::Percent(p)),
                    _ => {
                        c.error(v.span, format!("{what} must be a whole number of seats or a share such as \"20%\" (0% to 100%)"));
                        None
                    }
                },
                _ => {
                    c.error(
                        v.span,
                        format!("{what} must be a whole number of seats or a share such as \"20%\""),
                    );
                    None
                }
            }
        };
        let seats = match &r.seats {
            Some(v) => count(self, v, "seats"),
            None if r.cap.is_some() => Some(SeatCount::Seats(0)),
            None => {
                self.error(
                    raw.span,
                    "[allocation.reserve] needs 'seats' (reserved), 'cap' (at most), or both",
                );
                None
            }
        };
        let cap = match &r.cap {
            Some(v) => Some(count(self, v, "cap")?),
            None => None,
        };
        Some(Reserve {
            label,
            condition: condition?,
            seats: seats?,
            cap,
        })
    }

    fn fee(&mut self) -> Option<Fee> {
        let raw = self.raw.fee.as_ref()?;
        self.amounts(raw, "fee")
    }

    /// `[grant]`: the amount of a voucher or contribution, written like the fee.
    fn grant(&mut self) -> Option<Fee> {
        let raw = self.raw.grant.as_ref()?;
        self.amounts(raw, "grant")
    }

    /// An amount of money as a function of a value (`[fee]`, `[grant]`): components made of bands.
    fn amounts(&mut self, raw: &Sp<RawFee>, table: &str) -> Option<Fee> {
        let r = &raw.value;
        let label = self.label(&r.label, raw.span, table);
        let value = match &r.value {
            Some(v) => self
                .expr(v, Allow::default(), Some(Ty::Dec), &[], &format!("{table} value"))
                .map(|(e, _)| e),
            None => {
                self.error(raw.span, format!("[{table}] needs 'value', usually \"isee\""));
                None
            }
        };
        let missing_highest = match r.missing.as_ref().map(|m| (m, m.value.as_str())) {
            None | Some((_, "highest")) => true,
            Some((_, "refuse")) => false,
            Some((m, _)) => {
                self.error(m.span, "missing must be \"highest\" or \"refuse\"");
                true
            }
        };
        let rounding = match r.rounding.as_ref().map(|m| (m, m.value.as_str())) {
            None | Some((_, "half_up")) => Rounding::HalfUp,
            Some((_, "half_even")) => Rounding::HalfEven,
            Some((_, "down")) => Rounding::Down,
            Some((_, "up")) => Rounding::Up,
            Some((m, _)) => {
                self.error(
                    m.span,
                    "rounding must be \"half_up\", \"half_even\", \"down\" or \"up\"",
                );
                Rounding::HalfUp
            }
        };
        if r.components.is_empty() {
            self.error(
                raw.span,
                format!("[{table}] needs at least one [{table}.components.ID] with its bands"),
            );
        }
        let mut components = Vec::new();
        for (id, comp) in &r.components {
            let c = &comp.value;
            let label = self.label(&c.label, comp.span, id);
            let Some(bands) = &c.bands else {
                self.error(comp.span, format!("{table} component '{id}' needs bands"));
                continue;
            };
            let Some(checked) = self.bands(bands, Ty::Dec, BandUse::Amount) else {
                continue;
            };
            let starts_open = checked
                .first()
                .is_some_and(|b| b.from.is_none_or(|f| f <= Decimal::ZERO));
            let ends_open = checked.last().is_some_and(|b| b.to.is_none());
            if !starts_open || !ends_open {
                self.error(bands.span, format!("{table} bands must cover every value: the first band starts at 0 (or has no 'from') and the last has no 'to'"));
            }
            components.push(FeeComponent {
                id: id.clone(),
                label,
                per: c.per.as_ref().map_or_else(|| "mese".into(), |p| p.value.clone()),
                bands: checked,
            });
        }
        Some(Fee {
            label,
            value: value?,
            missing_highest,
            rounding,
            components,
        })
    }
}

impl Compiler<'_> {
    /// Refuses inputs that nothing reads: the form is generated from the inputs, and it must not ask for
    /// data the regulation does not use. A value counts as read when a condition, formula, tier,
    /// tie-break or the fee reads it, directly or through derived values that are read themselves.
    fn unused_inputs(
        &mut self,
        eligibility: &[EligibilityRule],
        tiers: &[TierLevel],
        criteria: &[Criterion],
        tie_breaks: &[TieBreak],
        fee: Option<&Fee>,
        allocation: &[&Expr],
    ) {
        let mut roots: Vec<&Expr> = allocation.to_vec();
        roots.extend(eligibility.iter().map(|r| &r.condition));
        roots.extend(
            tiers
                .iter()
                .flat_map(|t| t.groups.iter().filter_map(|(_, c)| c.as_ref())),
        );
        for c in criteria {
            roots.extend(c.when.iter().chain(c.multiplier.iter()).chain(c.rule.value()));
        }
        roots.extend(tie_breaks.iter().filter_map(|t| {
            if let TieKind::Value(e) = &t.kind {
                Some(e)
            } else {
                None
            }
        }));
        roots.extend(fee.map(|f| &f.value));
        roots.extend(self.inputs.iter().filter_map(|i| i.ask_if.as_ref()));
        for l in &self.lists {
            roots.extend(
                l.ask_if
                    .iter()
                    .chain(l.fields.iter().filter_map(|f| f.ask_if.as_ref())),
            );
        }
        let mut inputs = vec![false; self.inputs.len()];
        let mut lists = vec![false; self.lists.len()];
        let mut fields: Vec<Vec<bool>> = self.lists.iter().map(|l| vec![false; l.fields.len()]).collect();
        for c in criteria {
            if let Some(used) = c.for_each.and_then(|l| lists.get_mut(usize::from(l))) {
                *used = true;
            }
        }
        // The section is always read: by its eligibility rule and to split rankings.
        let mut derived_seen = vec![false; self.derived.len()];
        let mut pending: Vec<u16> = self.section_slot().into_iter().collect();
        let mut mark = |e: &Expr, pending: &mut Vec<u16>| {
            e.visit(&mut |n| {
                let slot = match n {
                    Expr::Input(s) => inputs.get_mut(usize::from(*s)),
                    Expr::ItemField { list, field } => {
                        if let Some(l) = lists.get_mut(usize::from(*list)) {
                            *l = true;
                        }
                        fields
                            .get_mut(usize::from(*list))
                            .and_then(|f| f.get_mut(usize::from(*field)))
                    }
                    Expr::Count(l, _)
                    | Expr::Sum(l, _)
                    | Expr::Any(l, _)
                    | Expr::All(l, _)
                    | Expr::ItemIndex(l) => lists.get_mut(usize::from(*l)),
                    Expr::Derived(d) => {
                        pending.push(*d);
                        None
                    }
                    _ => None,
                };
                if let Some(slot) = slot {
                    *slot = true;
                }
            });
        };
        for e in roots {
            mark(e, &mut pending);
        }
        while let Some(d) = pending.pop() {
            let Some(seen) = derived_seen.get_mut(usize::from(d)) else {
                continue;
            };
            if *seen {
                continue;
            }
            *seen = true;
            if let Some(def) = self.derived.get(usize::from(d)) {
                mark(&def.expr, &mut pending);
            }
        }
        let message = |what: &str| {
            format!(
                "{what} is not read by any rule: the form must not ask for data the regulation does not use \
                 (remove it, or write the rule that uses it)"
            )
        };
        let mut problems = Vec::new();
        for (name, raw) in &self.raw.inputs {
            if let Some((slot, _)) = self.input_index.get(name) {
                if !inputs.get(usize::from(*slot)).copied().unwrap_or(true) {
                    problems.push(RuleError::at(raw.span, message(&format!("input '{name}'"))));
                }
            } else if let Some(&l) = self.list_index.get(name) {
                if !lists.get(usize::from(l)).copied().unwrap_or(true) {
                    problems.push(RuleError::at(raw.span, message(&format!("list '{name}'"))));
                    continue;
                }
                let defs = self
                    .lists
                    .get(usize::from(l))
                    .map(|d| d.fields.as_slice())
                    .unwrap_or(&[]);
                for (f, def) in defs.iter().enumerate() {
                    let used = fields
                        .get(usize::from(l))
                        .and_then(|u| u.get(f))
                        .copied()
                        .unwrap_or(true);
                    let span = raw
                        .value
                        .fields
                        .as_ref()
                        .and_then(|fs| fs.get(&def.id))
                        .map_or(raw.span, |s| s.span);
                    if !used {
                        problems.push(RuleError::at(
                            span,
                            message(&format!("field '{}' of list '{name}'", def.id)),
                        ));
                    }
                }
            }
        }
        self.errors.extend(problems);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BandUse {
    Points,
    Amount,
}

enum NumOrExpr {
    Num(Decimal),
    Expr(Expr),
}

fn input_ty(kind: &InputKind) -> Ty {
    match kind {
        InputKind::Bool => Ty::Bool,
        InputKind::Integer { .. } => Ty::Int,
        InputKind::Decimal { .. } | InputKind::Money { .. } => Ty::Dec,
        InputKind::Date { .. } => Ty::Date,
        InputKind::Choice(s) => Ty::Choice(*s),
        InputKind::Facility => Ty::Facility,
        InputKind::Facilities { .. } => Ty::Facilities,
    }
}

/// The names an expression sees, for one context.
struct Names<'c, 'r> {
    c: &'c mut Compiler<'r>,
    allow: Allow,
}

impl Scope for Names<'_, '_> {
    fn lookup(&mut self, name: &str) -> Result<Option<Binding>, String> {
        let n_inputs = u16::try_from(self.c.inputs.len()).unwrap_or(u16::MAX);
        if let Some((slot, ty)) = self.c.input_index.get(name) {
            return Ok(Some(Binding::Input(*slot, *ty)));
        }
        if let Some(l) = self.c.list_index.get(name) {
            return Ok(Some(Binding::List(*l)));
        }
        if let Some((v, ty)) = self.c.params.get(name) {
            return Ok(Some(Binding::Const(*v, *ty)));
        }
        match name {
            "reference_date" => {
                return Ok(Some(Binding::Const(Value::Date(self.c.reference_date), Ty::Date)));
            }
            "submitted_at" => return Ok(Some(Binding::Input(n_inputs, Ty::Time))),
            "preferences" => return Ok(Some(Binding::Input(n_inputs.saturating_add(1), Ty::Facilities))),
            "facility" | "preference_rank" if !self.allow.facility => {
                return Err(format!(
                    "'{name}' can be used only in criteria and tie-breaks, which are evaluated per facility"
                ));
            }
            "facility" => return Ok(Some(Binding::Facility)),
            "preference_rank" => return Ok(Some(Binding::PreferenceRank)),
            "total" if !self.allow.scores => return Err("'total' can be used only in tie-breaks".into()),
            "total" => return Ok(Some(Binding::Total)),
            _ => {}
        }
        if let Some(i) = self.c.subtotals.iter().position(|s| s.id == name) {
            if !self.allow.scores {
                return Err(format!("subtotal '{name}' can be used only in tie-breaks"));
            }
            return Ok(Some(Binding::Subtotal(u16::try_from(i).unwrap_or(u16::MAX))));
        }
        if self.c.derived_state.contains_key(name) {
            if self.allow.inputs_only {
                return Err(format!(
                    "'ask_if' can read only inputs, not the derived value '{name}'"
                ));
            }
            return self
                .c
                .ensure_derived(name)
                .map(|d| d.map(|(i, ty)| Binding::Derived(i, ty)));
        }
        Ok(None)
    }

    fn field(&self, list: u16, name: &str) -> Option<(u16, Ty)> {
        self.c.list_fields.get(usize::from(list))?.get(name).copied()
    }

    fn item_name(&self, list: u16) -> String {
        self.c
            .lists
            .get(usize::from(list))
            .map(|l| l.item.clone())
            .unwrap_or_default()
    }

    fn option(&self, set: u16, name: &str) -> Option<u16> {
        let set = self.c.choices.get(usize::from(set))?;
        set.options
            .iter()
            .position(|o| o.id == name)
            .and_then(|i| u16::try_from(i).ok())
    }

    fn options(&self, set: u16) -> Vec<String> {
        self.c
            .choices
            .get(usize::from(set))
            .map(|s| s.options.iter().map(|o| o.id.clone()).collect())
            .unwrap_or_default()
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.c.declared.keys().cloned().collect();
        names.extend(["reference_date", "submitted_at", "preferences"].map(String::from));
        if self.allow.facility {
            names.extend(["facility", "preference_rank"].map(String::from));
        }
        names.sort();
        names
    }

    fn describe(&self, ty: Ty) -> String {
        match ty {
            Ty::Bool => "a yes/no".into(),
            Ty::Int => "a whole number".into(),
            Ty::Dec => "a number".into(),
            Ty::Date => "a date".into(),
            Ty::Time => "a date and time".into(),
            Ty::Choice(s) => format!(
                "a choice of '{}'",
                self.c
                    .choices
                    .get(usize::from(s))
                    .map_or("?", |c| c.name.as_str())
            ),
            Ty::Facility => "a facility".into(),
            Ty::Facilities => "a list of facilities".into(),
            Ty::List(l) => format!(
                "the list '{}'",
                self.c.lists.get(usize::from(l)).map_or("?", |d| d.id.as_str())
            ),
            Ty::Item(l) => format!(
                "a record of '{}'",
                self.c.lists.get(usize::from(l)).map_or("?", |d| d.id.as_str())
            ),
        }
    }
}
