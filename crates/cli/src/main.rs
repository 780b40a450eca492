//! The `graduatorie` command.
fn main() {}
