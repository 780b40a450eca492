//! Where the engine's time goes: times scoring, ranking, allocation and the whole run (scoring,
//! ranking, allocation) separately on a synthetic Bologna call, the same call as `benches/run.rs`.
//!
//! Run: `cargo run --release -p graduatorie-ranker --example phases -- 1000000 [global_order|deferred_acceptance]`.
//! With `APPLICATIONS=path/applications.csv` (from `graduatorie generate` with the same
//! regulation, 2,000 facilities) the applications are read from that table instead of generated.
//! Prints the best and the median of three runs per phase (of `BEST` runs, if set) and the peak memory of the
//! process. A diagnostic for `docs/performance.md`, not a benchmark: the figures there come from
//! `cargo bench`.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::print_stdout,
    reason = "diagnostic tool"
)]

use std::time::{Duration, Instant};

use graduatorie_ranker::synthetic::{Generator, code};
use graduatorie_ranker::{RunInput, Scored, allocate, rank_scores, run, score_and_rank};
use graduatorie_rules::{FacilityTable, Facts, FactsBatch};

/// The best and the median of `BEST` runs (3 if unset), as "best (median)".
fn best<T>(mut f: impl FnMut() -> T) -> String {
    let runs: usize = std::env::var("BEST")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(3);
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    format!("{:.1?} ({:.1?})", times[0], times[times.len() / 2])
}

fn peak_kb() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM")).map(str::to_owned))
        .unwrap_or_default()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let mechanism = args.next().unwrap_or_else(|| "global_order".to_owned());
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/rules/bologna-nidi.toml"
    );
    let bologna = graduatorie_rules::load(path, &mut |p| {
        std::fs::read_to_string(p).map_err(|e| e.to_string())
    })
    .unwrap();
    let text: String = bologna
        .flattened
        .replace(
            "mechanism = \"global_order\"",
            &format!("mechanism = \"{mechanism}\""),
        )
        .lines()
        .filter(|l| !l.starts_with("spare_to") && !l.starts_with("spare_if"))
        .map(|l| format!("{l}\n"))
        .collect();
    // `RULES=path` ranks with that regulation as it is instead (e.g. a variant with per-facility
    // points); the applications must then come from a table generated for it.
    let text = match std::env::var("RULES") {
        Ok(path) => std::fs::read_to_string(path).unwrap(),
        Err(_) => text,
    };
    let reg = graduatorie_rules::compile_str("bologna.toml", &text).unwrap();
    let t = Instant::now();
    let mut g = Generator::new(&reg, "bench", 2_000, 8);
    let seats = g.seats(n, reg.sections().len());
    let mut table = FacilityTable::closed((0..2_000).map(code));
    let mut facts = FactsBatch::new();
    if let Ok(path) = std::env::var("APPLICATIONS") {
        // A table written by `graduatorie generate` (much faster than generating here): the first
        // `n` rows.
        let mut reader = csv::Reader::from_path(path).unwrap();
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let layout = reg.csv_layout(&header).unwrap();
        let mut record = csv::StringRecord::new();
        let mut one = Facts::default();
        while facts.len() < n as usize && reader.read_record(&mut record).unwrap() {
            let row = layout.row_of(record.iter());
            reg.facts_of_row_into(&row, &mut table, &mut one).unwrap();
            facts.push(&one);
        }
    } else {
        for i in 1..=n {
            if let Some(app) = g.application(i, &mut table) {
                facts.push(&reg.facts(&app, &mut table).unwrap());
            }
        }
    }
    println!(
        "{n} applications generated and typed in {:.2?}; {}",
        t.elapsed(),
        peak_kb()
    );
    let input = RunInput {
        regulation: &reg,
        facts: &facts,
        seats: &seats,
        seed: Some("2026"),
        answers: &[],
        joined: &[],
        family: &[],
    };
    // `PHASE=peak` runs once and reports the peak memory of the input and that run alone (the
    // timings below keep several runs' scores alive at once).
    if std::env::var("PHASE").as_deref() == Ok("peak") {
        let t = std::time::Instant::now();
        std::hint::black_box(run(input).unwrap());
        println!("one run in {:.2?}; {}", t.elapsed(), peak_kb());
        return;
    }
    let scores = reg.score_batch(&facts).unwrap();
    // `PHASE=score`, `rank`, `allocate` or `run` repeats only that phase (or the whole run), for a profiler attached after the set-up.
    if std::env::var("PHASE").as_deref() == Ok("rank") {
        let protocols = facts.protocols();
        let scored = Scored {
            scores: &scores,
            protocols,
            seed: Some("2026"),
        };
        for _ in 0..40 {
            std::hint::black_box(rank_scores(&reg, scored, reg.allocation().lists));
        }
        println!("done");
        return;
    }
    if std::env::var("PHASE").as_deref() == Ok("score") {
        for _ in 0..30 {
            std::hint::black_box(reg.score_batch(&facts).unwrap());
        }
        println!("done");
        return;
    }
    if std::env::var("PHASE").as_deref() == Ok("allocate") {
        let (scores, lists) = score_and_rank(&reg, &facts, Some("2026")).unwrap();
        for _ in 0..20 {
            std::hint::black_box(allocate(input, &scores, &lists).unwrap());
        }
        println!("done");
        return;
    }
    if std::env::var("PHASE").as_deref() == Ok("run") {
        for _ in 0..20 {
            std::hint::black_box(run(input).unwrap());
        }
        println!("done");
        return;
    }
    println!("score_batch   {:>20}", best(|| reg.score_batch(&facts).unwrap()));
    let protocols = facts.protocols();
    let scored = Scored {
        scores: &scores,
        protocols,
        seed: Some("2026"),
    };
    println!(
        "rank_scores   {:>20}",
        best(|| rank_scores(&reg, scored, reg.allocation().lists))
    );
    let (scores, lists) = score_and_rank(&reg, &facts, Some("2026")).unwrap();
    println!(
        "allocate      {:>20}",
        best(|| allocate(input, &scores, &lists).unwrap())
    );
    println!("whole run     {:>20}", best(|| run(input).unwrap()));
    println!("{}", peak_kb());
}
