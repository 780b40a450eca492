//! Integration tests of the rules crate: one binary, so one link step.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

mod errors;
mod helpers;
mod properties;
mod regulations;
