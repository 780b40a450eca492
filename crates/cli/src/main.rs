//! The `graduatorie` command: one binary that serves, migrates, ranks offline, exports and verifies.
//!
//! Exit codes: 0 success; 1 the input was refused (a wrong rules file or application, with the located
//! problems on stderr); 2 the command line itself was wrong (clap's usage errors).

mod compare;
mod db_cmd;
mod demo;
mod generate_cmd;
mod rank_cmd;
mod report;
mod rules_cmd;
mod serve_cmd;
mod tables;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Online enrolment and automatic admission rankings for Italian municipalities.
#[derive(Debug, Parser)]
#[command(name = "graduatorie", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the version.
    Version,
    /// Check, explain and inspect regulation files (config/rules/*.toml).
    #[command(subcommand)]
    Rules(rules_cmd::RulesCommand),
    /// Rank a call offline: score, rank, allocate seats and write every file an auditor needs.
    Rank(rank_cmd::RankArgs),
    /// Recompute a run directory and check that every output and hash matches.
    Verify {
        /// The run directory written by `graduatorie rank`.
        dir: String,
    },
    /// Write a synthetic call (applications.csv, facilities.csv) for a regulation.
    Generate(generate_cmd::GenerateArgs),
    /// Serve the HTTP API (settings: config/default.toml, --config, GRADUATORIE__SECTION__KEY).
    Serve(serve_cmd::ServeArgs),
    /// Create or update the database schema (SQLite file or PostgreSQL).
    Migrate(db_cmd::DatabaseArg),
    /// Copy every row into another, empty database (e.g. from SQLite to PostgreSQL).
    CopyDb(db_cmd::CopyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Version => {
            println_out(&format!("graduatorie {}", env!("CARGO_PKG_VERSION")));
            Ok(())
        }
        Command::Rules(cmd) => rules_cmd::run(cmd),
        Command::Rank(args) => rank_cmd::rank(args),
        Command::Verify { dir } => rank_cmd::verify(&dir),
        Command::Generate(args) => generate_cmd::generate(args),
        Command::Serve(args) => serve_cmd::serve(&args),
        Command::Migrate(db) => db_cmd::migrate(&db),
        Command::CopyDb(args) => db_cmd::copy(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
    }
}

/// Writes a line to standard output (the one place the CLI prints results).
#[expect(clippy::print_stdout, reason = "the CLI's output")]
pub fn println_out(s: &str) {
    println!("{s}");
}
