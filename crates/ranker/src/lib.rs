//! The batch engine: from scored applications and what is on offer to rankings and allocations.
//!
//! Pure and deterministic, with no I/O, clock or randomness: the same inputs give byte-identical
//! results on any machine, so a published ranking can be recomputed and defended months later.
//! This first part holds the seat-allocation mechanisms ([`allocate`]); rankings, budgets,
//! waiting-list rounds and the offline CLI are built on it (issue 4).

pub mod allocate;
pub mod budget;
pub mod ranking;
pub mod rounds;

pub use allocate::{
    Allocation, Applicant, Instance, Placement, Reservation, deferred_acceptance, deferred_acceptance_with,
    first_choice_first, serial_dictatorship,
};
pub use budget::{EdgePolicy, Grant, allocate_budget};
pub use ranking::{Evaluated, ListKey, ListKind, RankedList, rank};
pub use rounds::{Answer, Mechanism, RefusalPolicy, RoundPolicy, RoundState, next_round};
