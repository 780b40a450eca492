//! The real server on a random port, against SQLite and PostgreSQL.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod support;

mod auth;
mod bad_input;
mod basics;
mod enrolment;
mod isolation;
mod mail;
mod openapi;
mod outage;
mod outcomes;
mod proxy;
mod rate_limit;
mod smtp;
