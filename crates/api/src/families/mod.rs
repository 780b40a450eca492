//! What families (and front-desk operators on their behalf) do: find open calls, read a call's form,
//! keep drafts, submit, amend, withdraw and follow their applications. Handlers translate HTTP; the
//! checks live in `rules` (answers) and `store` (state, numbering, history).

pub mod access;
pub mod applications;
pub mod body;
pub mod calls;
pub mod drafts;
pub mod outcomes;
