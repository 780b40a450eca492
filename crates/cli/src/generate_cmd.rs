//! `graduatorie generate`: a synthetic call for a regulation (`applications.csv`, `facilities.csv`), for
//! demos, simulations and benchmarks. What the data look like: `graduatorie_ranker::synthetic`.

use std::path::PathBuf;

use clap::Args;
use graduatorie_ranker::synthetic::{Generator, code};
use graduatorie_rules::FacilityTable;
use indicatif::{ProgressBar, ProgressStyle};

use crate::println_out;
use crate::tables::seat_columns;

/// `graduatorie generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of applications.
    #[arg(long)]
    applications: u32,
    /// Number of facilities.
    #[arg(long)]
    facilities: u32,
    /// Preferences per application (at most the number of facilities).
    #[arg(long, default_value_t = 3)]
    preferences: u32,
    /// Seed of the synthetic data (any text).
    #[arg(long, default_value = "graduatorie")]
    seed: String,
    /// Rules file the applications are for.
    #[arg(long)]
    rules: String,
    /// Directory to write applications.csv and facilities.csv into (created if missing).
    #[arg(long)]
    out: String,
}

/// Runs `graduatorie generate`.
pub fn generate(args: GenerateArgs) -> Result<(), String> {
    let reg = crate::rules_cmd::load(&args.rules)?;
    if args.facilities == 0 || args.applications == 0 {
        return Err("--applications and --facilities must be at least 1".into());
    }
    if args.preferences == 0 || args.preferences > args.facilities {
        return Err("--preferences must be between 1 and the number of facilities".into());
    }
    let dir = PathBuf::from(&args.out);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    let mut g = Generator::new(&reg, &args.seed, args.facilities, args.preferences);
    let mut table = FacilityTable::closed((0..args.facilities).map(code));

    // Facilities: seats for about two applications in three, spread over the sections.
    let seat_cols = seat_columns(&reg);
    let mut fac = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let mut header = vec!["code".to_owned(), "name".to_owned()];
    header.extend(seat_cols.iter().cloned());
    let csv_err = |e: csv::Error| e.to_string();
    fac.write_record(&header).map_err(csv_err)?;
    for (f, seats) in (0..).zip(g.seats(args.applications, seat_cols.len())) {
        let mut row = vec![code(f), format!("Struttura {}", f + 1)];
        row.extend(seats.iter().map(u32::to_string));
        fac.write_record(&row).map_err(csv_err)?;
    }
    let fac = fac.into_inner().map_err(|e| e.to_string())?;

    let mut apps = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    apps.write_record(reg.csv_columns()).map_err(csv_err)?;
    let bar = ProgressBar::new(u64::from(args.applications)).with_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("applications");
    let mut skipped = 0u32;
    let mut written = 0u32;
    for i in 0..args.applications {
        match g.application(i + 1, &mut table) {
            Some(app) => {
                apps.write_record(reg.csv_record(&app)).map_err(csv_err)?;
                written += 1;
            }
            None => skipped += 1,
        }
        if i % 4096 == 0 {
            bar.set_position(u64::from(i));
        }
    }
    bar.finish_and_clear();
    let apps = apps.into_inner().map_err(|e| e.to_string())?;
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| format!("{}: cannot write: {e}", p.display()))
    };
    write("facilities.csv", &fac)?;
    write("applications.csv", &apps)?;
    println_out(&format!(
        "{}: {written} applications, {} facilities{}",
        dir.display(),
        args.facilities,
        if skipped > 0 {
            format!(" ({skipped} could not be made acceptable to the regulation and were left out)")
        } else {
            String::new()
        }
    ));
    Ok(())
}
