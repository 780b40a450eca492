//! One whole run of the engine (scoring, ranking, allocation) on synthetic calls for the Bologna
//! regulation: 2,000 facilities, 4 age sections, 8 preferences per family. Compared in the same run with
//! a naive implementation of the same work (explanations built for every application, the comparator
//! recomputing the public draw at each comparison, facility codes as strings looked up by linear search,
//! records cloned): the ratio, not the time alone, is the figure.
//!
//! Run: `cargo bench -p graduatorie-ranker --bench run` (10k and 100k applications; set
//! `GRADUATORIE_BENCH_SIZES=10000,100000,1000000` for a million, about two minutes of set-up).
//! Results are recorded in docs/performance.md.
#![expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "benchmark set-up")]

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use divan::{Bencher, black_box};
use graduatorie_domain::ProtocolNumber;
use graduatorie_ranker::synthetic::{Generator, code};
use graduatorie_ranker::{Allocation, RunInput, run};
use graduatorie_rules::{Eligibility, Evaluation, FacilityTable, Facts, FactsBatch, Regulation, Standing};

fn main() {
    divan::main();
}

const FACILITIES: u32 = 2_000;
const PREFERENCES: u32 = 8;
const SEED: &str = "2026";

fn sizes() -> Vec<usize> {
    // `cargo test` runs benchmarks once as tests (without `--bench`): a small call is enough there.
    if !std::env::args().any(|a| a == "--bench") {
        return vec![2_000];
    }
    std::env::var("GRADUATORIE_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000])
}

fn load(mechanism: &str) -> Regulation {
    graduatorie_rules::compile_str("bologna.toml", &bologna_text(mechanism)).unwrap()
}

/// The Bologna regulation's text with `mechanism`.
fn bologna_text(mechanism: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/rules/bologna-nidi.toml"
    );
    let bologna = graduatorie_rules::load(path, &mut |p| {
        std::fs::read_to_string(p).map_err(|e| e.to_string())
    })
    .unwrap();
    // Without the spare seats for border ages, which the naive implementation does not do.
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
    text
}

/// Bologna with deferred acceptance and one criterion that depends on the facility (a sibling who
/// attends it, as Bomporto has): priorities differ by facility, so every facility has its own list
/// (8 entries per application) and deferred acceptance cannot be replaced by serial dictatorship.
fn per_facility() -> Regulation {
    let text = bologna_text("deferred_acceptance")
        .replace("lists = \"per_section\"", "lists = \"per_facility\"")
        + r#"
[inputs.sibling_facility]
type = "facility"
label = "Nido frequentato da un fratello o una sorella"
optional = true

[criteria.sibling_same_facility]
label = "Fratello nello stesso nido"
subtotal = "household"
when = "facility == sibling_facility"
points = 4
"#;
    graduatorie_rules::compile_str("bologna-sibling.toml", &text).unwrap()
}

static GLOBAL_ORDER: LazyLock<Regulation> = LazyLock::new(|| load("global_order"));
static DEFERRED: LazyLock<Regulation> = LazyLock::new(|| load("deferred_acceptance"));
static PER_FACILITY: LazyLock<Regulation> = LazyLock::new(per_facility);

struct Call {
    facts: Vec<Facts>,
    /// The same applications, column by column, as the engine takes them.
    batch: FactsBatch,
    seats: Vec<Vec<u32>>,
}

/// A synthetic call of `n` applications, made once per size.
fn call(n: usize) -> &'static Call {
    static CALLS: LazyLock<Mutex<HashMap<usize, &'static Call>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    let mut calls = CALLS.lock().unwrap();
    calls.entry(n).or_insert_with(|| {
        let reg = &*GLOBAL_ORDER;
        let call = generate(reg, n);
        // The naive implementation must give the same seats, or the comparison means nothing.
        let engine = engine_run(reg, call);
        assert_eq!(
            naive(reg, call),
            engine
                .placed
                .iter()
                .map(|p| p.map(|p| p.facility))
                .collect::<Vec<_>>()
        );
        call
    })
}

/// A synthetic call of `n` applications for [`per_facility`], made once per size.
fn sibling_call(n: usize) -> &'static Call {
    static CALLS: LazyLock<Mutex<HashMap<usize, &'static Call>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    let mut calls = CALLS.lock().unwrap();
    calls.entry(n).or_insert_with(|| generate(&PER_FACILITY, n))
}

/// `n` synthetic applications for `reg`.
fn generate(reg: &Regulation, n: usize) -> &'static Call {
    let mut g = Generator::new(reg, "bench", FACILITIES, PREFERENCES);
    let seats = g.seats(u32::try_from(n).unwrap(), reg.sections().len());
    let mut table = FacilityTable::closed((0..FACILITIES).map(code));
    let mut facts = Vec::with_capacity(n);
    for i in 1..=u32::try_from(n).unwrap() {
        if let Some(app) = g.application(i, &mut table) {
            facts.push(reg.facts(&app, &mut table).unwrap());
        }
    }
    Box::leak(Box::new(Call {
        batch: FactsBatch::from_facts(&facts),
        facts,
        seats,
    }))
}

fn engine_run(reg: &Regulation, call: &Call) -> Allocation {
    run(RunInput {
        regulation: reg,
        facts: &call.batch,
        seats: &call.seats,
        seed: Some(SEED),
        answers: &[],
        joined: &[],
        family: &[],
    })
    .unwrap()
    .allocation
}

/// Scoring + ranking + serial dictatorship (Bologna: one order per section).
#[divan::bench(args = sizes(), sample_count = 5)]
fn engine_global_order(bencher: Bencher, n: usize) {
    let call = call(n);
    bencher.bench(|| black_box(engine_run(&GLOBAL_ORDER, call)));
}

/// Scoring + ranking + deferred acceptance, Bologna's priorities: one order per section, the same at
/// every facility, so the engine runs serial dictatorship in that order (its only stable outcome,
/// `docs/allocation.md`).
#[divan::bench(args = sizes(), sample_count = 5)]
fn engine_deferred_acceptance(bencher: Bencher, n: usize) {
    let call = call(n);
    bencher.bench(|| black_box(engine_run(&DEFERRED, call)));
}

/// Scoring + ranking + deferred acceptance with priorities that differ by facility
/// ([`per_facility`]): 8 scored entries per application, 2,000 lists, proposals and rejections.
#[divan::bench(args = sizes(), sample_count = 3)]
fn engine_per_facility_priorities(bencher: Bencher, n: usize) {
    let call = sibling_call(n);
    bencher.bench(|| black_box(engine_run(&PER_FACILITY, call)));
}

/// The same work done the straightforward way.
#[divan::bench(args = sizes(), sample_count = 3)]
fn naive_baseline(bencher: Bencher, n: usize) {
    let call = call(n);
    bencher.bench(|| black_box(naive(&GLOBAL_ORDER, call)));
}

/// Straightforward: evaluate each application with its explanation, clone what is needed into records
/// keyed by strings, sort with the comparator (draw recomputed at each comparison), then give seats by
/// linear search over facility codes.
fn naive(reg: &Regulation, call: &Call) -> Vec<Option<u32>> {
    struct Record {
        index: usize,
        evaluation: Evaluation,
        protocol: Option<ProtocolNumber>,
        preferences: Vec<String>,
        section: Option<String>,
    }
    let mut records: Vec<Record> = call
        .facts
        .iter()
        .enumerate()
        .map(|(index, f)| {
            let evaluation = reg.evaluate(f).unwrap();
            let section = evaluation
                .section
                .map(|s| reg.sections()[usize::from(s)].id.clone());
            Record {
                index,
                protocol: f.protocol,
                preferences: f.preferences().iter().map(|&p| code(p)).collect(),
                section,
                evaluation,
            }
        })
        .filter(|r| !matches!(r.evaluation.eligibility, Eligibility::Excluded(_)) && r.section.is_some())
        .collect();
    records.sort_by(|a, b| {
        a.section.cmp(&b.section).then_with(|| {
            reg.compare(
                &Standing::of(&a.evaluation, a.protocol),
                &Standing::of(&b.evaluation, b.protocol),
                Some(SEED),
            )
        })
    });
    let mut seats: Vec<(String, String, u32)> = Vec::new();
    for (f, row) in call.seats.iter().enumerate() {
        for (s, &n) in row.iter().enumerate() {
            seats.push((code(u32::try_from(f).unwrap()), reg.sections()[s].id.clone(), n));
        }
    }
    let mut placed = vec![None; call.facts.len()];
    for r in &records {
        for p in &r.preferences {
            let section = r.section.clone().unwrap();
            if let Some(slot) = seats
                .iter_mut()
                .find(|(c, s, n)| c == p && *s == section && *n > 0)
            {
                slot.2 -= 1;
                placed[r.index] = Some(p[1..].parse::<u32>().unwrap() - 1);
                break;
            }
        }
    }
    placed
}
