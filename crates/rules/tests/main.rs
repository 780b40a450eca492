//! Integration tests of the rules crate: one binary, so one link step.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

mod batch;
mod constructs;
mod csv;
mod errors;
mod helpers;
mod ordering;
mod properties;
mod regulations;
