//! Integration tests of the ranker: one binary.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

mod allocation;
mod budget;
mod common;
mod order_keys;
mod ranking;
mod reserve;
mod rounds;
mod together;
mod whole_run;
