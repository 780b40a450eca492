//! Integration tests of the ranker: one binary.
#![expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

mod allocation;
mod budget;
mod ranking;
