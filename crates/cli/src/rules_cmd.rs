//! `graduatorie rules …`: check regulation files, explain an application's score, print the form or the
//! effective (flattened) regulation.

use clap::Subcommand;
use graduatorie_rules::cases::CaseFile;
use graduatorie_rules::{ApplicationJson, FacilityTable, Regulation};

use crate::println_out;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Check rules files: one summary line per valid file, every problem as file:line:column otherwise.
    Check {
        /// Rules files.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Evaluate one application (JSON, see docs/formats.md) and explain its score line by line.
    Explain {
        /// Rules file.
        file: String,
        /// Application JSON file.
        application: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the application form the regulation generates, as JSON.
    Form {
        /// Rules file.
        file: String,
    },
    /// Check a regulation against worked examples (a JSON file of cases with their expected results).
    Test {
        /// Rules file.
        file: String,
        /// Cases files (see docs/rules.md, "Checking a regulation on worked examples").
        #[arg(required = true)]
        cases: Vec<String>,
    },
    /// Print the effective regulation after inheritance, as TOML (its SHA-256 is the rules hash).
    Flatten {
        /// Rules file.
        file: String,
    },
}

pub fn run(cmd: RulesCommand) -> Result<(), String> {
    match cmd {
        RulesCommand::Check { files } => {
            let mut failed = 0;
            for f in &files {
                match load(f) {
                    Ok(r) => println_out(&summary(f, &r)),
                    Err(e) => {
                        // Locations may point into a file this one extends, so name the file checked.
                        eprintln!("{f}: refused:");
                        eprint!("{e}");
                        failed += 1;
                    }
                }
            }
            if failed > 0 {
                Err(format!("{failed} of {} files have errors", files.len()))
            } else {
                Ok(())
            }
        }
        RulesCommand::Explain {
            file,
            application,
            json,
        } => {
            let regulation = load(&file)?;
            let text = std::fs::read_to_string(&application)
                .map_err(|e| format!("{application}: cannot read: {e}"))?;
            let app: ApplicationJson = serde_json::from_str(&text)
                .map_err(|e| format!("{application}:{}:{}: {}", e.line(), e.column(), json_message(&e)))?;
            let mut facilities = FacilityTable::open();
            let facts = regulation.facts(&app, &mut facilities).map_err(|e| {
                let lines: Vec<String> = e
                    .errors
                    .iter()
                    .map(|i| format!("{application}: {}: {}", i.pointer, i.message))
                    .collect();
                lines.join("\n")
            })?;
            let evaluation = regulation
                .evaluate(&facts)
                .map_err(|e| format!("{application}: {e}"))?;
            let fee = regulation
                .fee()
                .map(|_| regulation.fee_for(&facts))
                .transpose()
                .map_err(|e| format!("{application}: fee: {e}"))?;
            let explanation = regulation.explain(&evaluation, &facilities, fee);
            if json {
                println_out(&serde_json::to_string_pretty(&explanation).map_err(|e| e.to_string())?);
            } else {
                print_text(&explanation.to_text());
            }
            Ok(())
        }
        RulesCommand::Form { file } => {
            let regulation = load(&file)?;
            println_out(&serde_json::to_string_pretty(&regulation.form()).map_err(|e| e.to_string())?);
            Ok(())
        }
        RulesCommand::Test { file, cases } => {
            let regulation = load(&file)?;
            let (mut checked, mut differ) = (0, 0);
            for path in &cases {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: cannot read: {e}"))?;
                let set: CaseFile = serde_json::from_str(&text)
                    .map_err(|e| format!("{path}:{}:{}: {}", e.line(), e.column(), json_message(&e)))?;
                for case in &set.cases {
                    checked += 1;
                    let diffs = regulation.check_case(case);
                    if diffs.is_empty() {
                        println_out(&format!("ok    {path}: {}", case.name));
                    } else {
                        differ += 1;
                        println_out(&format!("WRONG {path}: {}", case.name));
                        for d in diffs {
                            println_out(&format!("        {d}"));
                        }
                    }
                }
            }
            if differ == 0 {
                println_out(&format!("{checked} cases checked, all as expected"));
                Ok(())
            } else {
                Err(format!(
                    "{differ} of {checked} cases differ from what the regulation gives"
                ))
            }
        }
        RulesCommand::Flatten { file } => {
            let regulation = load(&file)?;
            print_text(&regulation.flattened);
            Ok(())
        }
    }
}

/// Loads a regulation, reading `extends` files from disk.
pub fn load(path: &str) -> Result<Regulation, String> {
    graduatorie_rules::load(path, &mut |p| {
        std::fs::read_to_string(p).map_err(|e| e.to_string())
    })
    .map_err(|e| e.to_string())
}

fn summary(file: &str, r: &Regulation) -> String {
    let short_hash = r.hash.get(..12).unwrap_or(&r.hash);
    format!(
        "{file}: ok — {} ({}, {}), {} inputs, {} criteria, {} tie-breaks{}, rules hash {short_hash}",
        r.identity.id,
        r.identity.authority,
        r.identity.school_year,
        r.inputs().len() + r.lists().len(),
        r.criteria().len(),
        r.tie_breaks().len(),
        if r.fee().is_some() { ", fee" } else { "" },
    )
}

/// serde_json messages for our types never quote values; keep them but drop serde's own position suffix.
fn json_message(e: &serde_json::Error) -> String {
    let m = e.to_string();
    m.split(" at line ").next().unwrap_or(&m).to_owned()
}

#[expect(clippy::print_stdout, reason = "the CLI's output")]
fn print_text(s: &str) {
    print!("{s}");
}
