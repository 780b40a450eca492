//! The store's tests. Every test in `on_both!` runs twice, on SQLite and on PostgreSQL, each time on a
//! database of its own, so tests run in parallel. PostgreSQL comes from `GRADUATORIE_TEST_POSTGRES`
//! (set by `scripts/with-postgres.sh`, which `make test` uses); without it the PostgreSQL half fails.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod support;

mod after_ranking;
mod applications;
mod concurrency;
mod copy;
mod enrolment;
mod integrity;
mod migrations;
mod protocol;
mod runs;
