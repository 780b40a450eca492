//! Regulations as data.
//!
//! A municipality's admission regulation (*regolamento*) is written as a TOML file (see `docs/rules.md`):
//! the questions it asks, the values it derives, who is eligible, the tiers above points, the criteria and
//! their points, the tie-break chain and the fee formula. This crate reads such files
//! ([`compile::load`]), checks them completely (every problem reported as `file:line:column: message`),
//! compiles their expressions once, and evaluates applications ([`Regulation::evaluate`]) into a full
//! breakdown. It performs no I/O: callers pass a function that reads files.
//!
//! ```
//! let toml = r#"
//! [regulation]
//! id = "example"
//! title = "Esempio"
//! service = "nido"
//! school_year = "2026/2027"
//! authority = "Comune di Esempio"
//! source = "Delibera n. 1"
//! reference_date = 2026-12-31
//!
//! [inputs.single_parent]
//! type = "bool"
//! label = "Nucleo monoparentale"
//!
//! [criteria.single_parent]
//! label = "Un solo genitore"
//! when = "single_parent"
//! points = 15
//! "#;
//! let regulation = graduatorie_rules::compile::compile_str("example.toml", toml)?;
//! let app: graduatorie_rules::ApplicationJson =
//!     serde_json::from_str(r#"{"inputs": {"single_parent": true}}"#)?;
//! let facts = regulation.facts(&app, &mut graduatorie_rules::FacilityTable::open())?;
//! let evaluation = regulation.evaluate(&facts)?;
//! assert_eq!(evaluation.total, rust_decimal::Decimal::from(15));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod batch;
pub mod cases;
mod column;
pub mod compile;
pub mod csv;
pub mod error;
pub mod evaluate;
pub mod explain;
pub mod expr;
pub mod facts;
pub mod facts_batch;
pub mod fee;
pub mod form;
mod lane;
pub mod model;
pub mod order;
pub mod raw;
pub mod reason;
pub mod scores;
pub mod source;
pub mod value;

pub use compile::{compile_str, load};
pub use error::{RuleError, RuleErrors};
pub use evaluate::{CriterionResult, Eligibility, Evaluation, EvaluationError, FacilityScore};
pub use facts::{ApplicationError, ApplicationJson, FacilityTable, Facts, InputError};
pub use facts_batch::FactsBatch;
pub use fee::{FeeError, FeePart};
pub use model::Regulation;
pub use order::{Standing, draw_value};
pub use reason::InputReason;
pub use scores::{BatchScores, FacilityRow, Points, Ties};
pub use value::{Ordinal, OrdinalKind, Ty, Value};
