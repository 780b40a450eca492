//! Worked examples: applications scored by hand from the regulation text (the arithmetic is written in
//! each test), compared with what the engine computes from `config/rules/`.

mod bologna;
mod chivasso;
mod maranello;
mod pescia;
mod ravenna;
mod sorbara;
