//! Problems found in a rules file or in an application, with where they are.
//!
//! A rules file is checked completely before it is refused, so that its author sees every problem at
//! once, each as `file:line:column: message`.

use std::fmt;

use crate::source::{SourceMap, Span};

/// One problem in a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// Where, when known (an error from a missing key points at the enclosing table).
    pub span: Option<Span>,
    /// What is wrong, in plain words.
    pub message: String,
}

impl RuleError {
    /// A problem at a span.
    pub fn at(span: Span, message: impl Into<String>) -> Self {
        Self {
            span: Some(span),
            message: message.into(),
        }
    }
    /// A problem with no precise position.
    pub fn general(message: impl Into<String>) -> Self {
        Self {
            span: None,
            message: message.into(),
        }
    }
}

/// Every problem found in one regulation, ready to print.
#[derive(Debug, Clone)]
pub struct RuleErrors {
    /// The problems, in the order of the source.
    pub errors: Vec<RuleError>,
    /// The files the spans point into.
    pub sources: SourceMap,
}

impl RuleErrors {
    /// The problems as `file:line:column: message` lines, sorted by position.
    pub fn lines(&self) -> Vec<String> {
        let mut errors = self.errors.clone();
        errors.sort_by_key(|e| e.span.map_or((0, 0), |s| (1, s.start)));
        errors.dedup();
        errors
            .iter()
            .map(|e| match e.span.and_then(|s| self.sources.locate(s)) {
                Some(loc) => format!("{loc}: {}", e.message),
                None => match self.sources.files().first() {
                    Some(f) => format!("{}: {}", f.name, e.message),
                    None => e.message.clone(),
                },
            })
            .collect()
    }
}

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in self.lines() {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleErrors {}
