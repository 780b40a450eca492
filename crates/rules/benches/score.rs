//! Scoring throughput of a compiled regulation (Bologna nidi, 9 criteria, 6 tie-breaks, 2 tier levels,
//! 4 sections), compared in the same run with a hand-written Rust function that computes the same
//! totals from plain structs: the floor an interpreter of rules files can approach.
//!
//! Run: `cargo bench -p graduatorie-rules --bench score`. Results are recorded in docs/performance.md.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark set-up"
)]

use std::sync::LazyLock;

use divan::{Bencher, black_box};
use graduatorie_rules::{ApplicationJson, Evaluation, FacilityTable, Facts, Regulation};
use rust_decimal::Decimal;
use serde_json::json;

fn main() {
    divan::main();
}

static REGULATION: LazyLock<Regulation> = LazyLock::new(|| {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/rules/bologna-nidi.toml"
    );
    graduatorie_rules::load(path, &mut |p| {
        std::fs::read_to_string(p).map_err(|e| e.to_string())
    })
    .unwrap()
});

/// The same facts as plain data, for the hand-written baseline.
#[derive(Clone, Copy)]
struct Plain {
    family: u8,
    parents: [(u8, bool, bool, bool, u8); 2],
    n_parents: usize,
    disabled_siblings: i64,
    invalid_cohabitants: i64,
    twins: i64,
    other_children: i64,
}

struct Batch {
    facts: Vec<Facts>,
    /// The same applications, column by column, for `score_batch`.
    columns: graduatorie_rules::FactsBatch,
    plain: Vec<Plain>,
}

/// A deterministic pseudo-random generator (no dependency, same numbers on every machine).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn batch(n: usize) -> Batch {
    let reg = &*REGULATION;
    let mut rng = Lcg(42);
    let works = ["employed", "occasional", "student", "none"];
    let families = ["two_parents", "single_parent", "exclusive_custody"];
    let mut facts = Vec::with_capacity(n);
    let mut plain = Vec::with_capacity(n);
    let mut table = FacilityTable::open();
    for i in 0..n {
        let family = rng.next(3) as u8;
        let n_parents = if family == 0 { 2 } else { 1 };
        let mut parents = [(3u8, false, false, false, 0u8); 2];
        let mut parents_json = Vec::new();
        for p in parents.iter_mut().take(n_parents) {
            let work = rng.next(4) as u8;
            let working = work <= 1;
            let shift = working && rng.next(5) == 0;
            let far = working && rng.next(7) == 0;
            let severe = rng.next(50) == 0;
            let invalidity = if rng.next(10) == 0 { rng.next(101) as u8 } else { 0 };
            *p = (work, shift, far, severe, invalidity);
            let mut j = json!({"work": works[usize::from(work)], "severe_disability": severe, "invalidity_percent": invalidity});
            if working {
                j["shift_work"] = json!(shift);
                j["far_workplace"] = json!(far);
            }
            parents_json.push(j);
        }
        let p = Plain {
            family,
            parents,
            n_parents,
            disabled_siblings: (rng.next(30) == 0) as i64,
            invalid_cohabitants: (rng.next(40) == 0) as i64,
            twins: (rng.next(60) == 0) as i64,
            other_children: rng.next(3) as i64,
        };
        let app = json!({
            "protocol": format!("2026/{}", i + 1),
            "submitted_at": "2026-03-02T09:15:00+01:00",
            "inputs": {
                "residence": "resident", "vaccinated": true,
                "child_birth_date": format!("2025-{:02}-{:02}", 1 + rng.next(12), 1 + rng.next(28)),
                "child_disability": false, "social_services": false,
                "family_situation": families[usize::from(family)],
                "parents": parents_json,
                "disabled_siblings": p.disabled_siblings, "invalid_cohabitants": p.invalid_cohabitants,
                "twins": p.twins, "other_children_0_5": p.other_children,
                "isee": format!("{}.{:02}", rng.next(60_000), rng.next(100)),
            }
        });
        let app: ApplicationJson = serde_json::from_value(app).unwrap();
        facts.push(
            reg.facts(&app, &mut table)
                .expect("generated application is valid"),
        );
        plain.push(p);
    }
    // The baseline must compute what the engine computes, or the comparison means nothing.
    let mut out = Evaluation::default();
    for (f, p) in facts.iter().zip(&plain) {
        reg.evaluate_into(f, &mut out, false).unwrap();
        assert_eq!(
            out.total,
            Decimal::from(hand_written(p)),
            "baseline and engine disagree"
        );
    }
    Batch {
        columns: graduatorie_rules::FactsBatch::from_facts(&facts),
        facts,
        plain,
    }
}

/// Bologna's points written directly in Rust.
fn hand_written(p: &Plain) -> i64 {
    let mut total = match p.family {
        1 => 15,
        2 => 12,
        _ => 0,
    };
    for &(work, shift, far, severe, invalidity) in &p.parents[..p.n_parents] {
        let inv = if severe { 100 } else { invalidity };
        total += match inv {
            33..=65 => 5,
            66..=99 => 15,
            100 => 20,
            _ => 0,
        };
        total += match work {
            0 | 2 => 20,
            1 => 10,
            _ => 0,
        };
        total += 2 * i64::from(shift) + 2 * i64::from(far);
    }
    total + 15 * p.disabled_siblings + 5 * p.invalid_cohabitants + 4 * p.twins + 2 * p.other_children
}

static BATCHES: LazyLock<[Batch; 2]> = LazyLock::new(|| [batch(10_000), batch(100_000)]);

fn pick(n: usize) -> &'static Batch {
    &BATCHES[usize::from(n == 100_000)]
}

/// Scores every application of the batch, returning the sum of totals (so nothing is optimised away).
fn score_all<'a>(facts: impl IntoIterator<Item = &'a Facts>, explain: bool) -> Decimal {
    let reg = &*REGULATION;
    let mut out = Evaluation::default();
    let mut sum = Decimal::ZERO;
    for f in facts {
        reg.evaluate_into(black_box(f), &mut out, explain).unwrap();
        sum += out.total;
    }
    sum
}

#[divan::bench(args = [10_000, 100_000], sample_count = 10)]
fn engine(bencher: Bencher, n: usize) {
    let b = pick(n);
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| score_all(&b.facts, false));
}

#[divan::bench(args = [10_000, 100_000], sample_count = 10)]
fn engine_with_explanations(bencher: Bencher, n: usize) {
    let b = pick(n);
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| score_all(&b.facts, true));
}

#[divan::bench(args = [10_000, 100_000], sample_count = 10)]
fn engine_batch(bencher: Bencher, n: usize) {
    let b = pick(n);
    let reg = &*REGULATION;
    bencher.counter(divan::counter::ItemsCount::new(n)).bench(|| {
        reg.score_batch(black_box(&b.columns))
            .unwrap()
            .total
            .iter()
            .sum::<i64>()
    });
}

#[divan::bench(args = [10_000, 100_000], sample_count = 10)]
fn hand_written_baseline(bencher: Bencher, n: usize) {
    let b = pick(n);
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| b.plain.iter().map(|p| hand_written(black_box(p))).sum::<i64>());
}

/// The same application scored repeatedly: everything stays in cache, so the difference with `engine`
/// is the cost of reaching each application's facts in memory.
#[divan::bench(args = [100_000], sample_count = 10)]
fn engine_one_application_repeated(bencher: Bencher, n: usize) {
    let same = vec![pick(n).facts[0].clone(); 1];
    bencher
        .counter(divan::counter::ItemsCount::new(n))
        .bench(|| (0..n).map(|_| score_all(&same, false)).sum::<Decimal>());
}
