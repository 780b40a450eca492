//! The application form a regulation generates: exactly the questions its criteria use, with labels,
//! help texts, types and allowed values. Web pages and the API render it; nothing else is asked.

use serde::Serialize;

use crate::model::{InputDef, InputKind, Regulation};

/// The form as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Form {
    /// Regulation id.
    pub regulation: String,
    /// Title.
    pub title: String,
    /// Rules hash.
    pub rules_hash: String,
    /// Questions in order.
    pub fields: Vec<Field>,
    /// Whether preferences are asked.
    pub asks_preferences: bool,
}

/// One question.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    /// Name in the application JSON.
    pub name: String,
    /// Question.
    pub label: String,
    /// Help.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// `bool`, `integer`, `decimal`, `money`, `date`, `choice`, `facility`, `facilities`, `list`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// May be left empty.
    pub required: bool,
    /// Shown only when a condition on other answers holds.
    pub conditional: bool,
    /// Special category of personal data.
    pub sensitive: bool,
    /// Smallest accepted value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    /// Largest accepted value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    /// Options of a choice.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<FormOption>,
    /// Fields of each record of a list.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    /// Fewest records of a list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u32>,
    /// Most records of a list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
}

/// One option of a choice.
#[derive(Debug, Clone, Serialize)]
pub struct FormOption {
    /// Value to send.
    pub value: String,
    /// Label.
    pub label: String,
}

impl Regulation {
    /// The form this regulation generates.
    pub fn form(&self) -> Form {
        let mut fields: Vec<Field> = self.inputs.iter().map(|d| self.field(d)).collect();
        for l in &self.lists {
            fields.push(Field {
                name: l.id.clone(),
                label: l.label.clone(),
                help: l.help.clone(),
                kind: "list",
                required: l.min_items > 0,
                conditional: l.ask_if.is_some(),
                sensitive: l.fields.iter().any(|f| f.sensitive),
                min: None,
                max: None,
                options: Vec::new(),
                fields: l.fields.iter().map(|d| self.field(d)).collect(),
                min_items: Some(l.min_items),
                max_items: Some(l.max_items),
            });
        }
        Form {
            regulation: self.identity.id.clone(),
            title: self.identity.title.clone(),
            rules_hash: self.hash.clone(),
            fields,
            asks_preferences: true,
        }
    }

    fn field(&self, d: &InputDef) -> Field {
        let text = |v: Option<String>| v;
        let (kind, min, max, options) = match &d.kind {
            InputKind::Bool => ("bool", None, None, Vec::new()),
            InputKind::Integer { min, max } => (
                "integer",
                text(min.map(|v| v.to_string())),
                max.map(|v| v.to_string()),
                Vec::new(),
            ),
            InputKind::Decimal { min, max } => (
                "decimal",
                min.map(|v| v.to_string()),
                max.map(|v| v.to_string()),
                Vec::new(),
            ),
            InputKind::Money { min, max } => (
                "money",
                min.map(|v| v.to_string()),
                max.map(|v| v.to_string()),
                Vec::new(),
            ),
            InputKind::Date { min, max } => (
                "date",
                min.map(|v| v.to_string()),
                max.map(|v| v.to_string()),
                Vec::new(),
            ),
            InputKind::Choice(set) => (
                "choice",
                None,
                None,
                self.choices
                    .get(usize::from(*set))
                    .map(|s| {
                        s.options
                            .iter()
                            .map(|o| FormOption {
                                value: o.id.clone(),
                                label: o.label.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            InputKind::Facility => ("facility", None, None, Vec::new()),
            InputKind::Facilities { max } => ("facilities", None, max.map(|m| m.to_string()), Vec::new()),
        };
        Field {
            name: d.id.clone(),
            label: d.label.clone(),
            help: d.help.clone(),
            kind,
            required: !d.optional,
            conditional: d.ask_if.is_some(),
            sensitive: d.sensitive,
            min,
            max,
            options,
            fields: Vec::new(),
            min_items: None,
            max_items: None,
        }
    }
}
