//! The batch engine: from scored applications and what is on offer to rankings and allocations.
//!
//! Pure and deterministic, with no I/O, clock or randomness: the same inputs give byte-identical
//! results on any machine, so a published ranking can be recomputed and defended months later.
//!
//! | module | what it is for |
//! |---|---|
//! | [`ranking`] | global, per-section and per-facility lists, in the regulation's order (sorted by byte keys, `keys.rs`) |
//! | [`allocate`] | seats per facility and age section: serial dictatorship (also with siblings together), deferred acceptance (with reserved seats and caps), first choice first |
//! | [`rounds`] | waiting-list rounds: answers, refusal policies, freed seats, moving up |
//! | [`budget`] | vouchers and contributions funded in ranking order until the budget is spent |
//! | [`run`] | one whole run: scores, lists, allocation with the regulation's mechanism (time slots, border ages, late batches), rounds replayed; or a budget run |
//! | [`synthetic`] | synthetic calls (applications and seats) for demos, simulations and benchmarks |
//!
//! The files of a run (lists, public list, manifest) are written by the `graduatorie` command
//! (`crates/cli`); `docs/allocation.md` explains the mechanisms.

pub mod allocate;
pub mod budget;
mod facility_lists;
mod instance;
mod keys;
mod prefetch;
pub mod ranking;
pub mod rounds;
pub mod run;
pub mod synthetic;

pub use allocate::{
    Allocation, Applicant, ApplicantRef, Instance, Placement, Reservation, deferred_acceptance,
    deferred_acceptance_with, first_choice_first, serial_dictatorship, serial_dictatorship_together,
};
pub use budget::{EdgePolicy, Grant, allocate_budget};
pub use ranking::{Evaluated, ListKey, ListKind, RankedList, Scored, rank, rank_scores};
pub use rounds::{Answer, Mechanism, RefusalPolicy, RoundPolicy, RoundState, next_round};
pub use run::{
    Allocated, BudgetInput, BudgetOutcome, Positions, RunError, RunInput, RunOutcome, Status, allocate,
    lists_of, run, run_budget, score_and_rank,
};
