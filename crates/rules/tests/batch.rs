//! The batch evaluator gives exactly the row evaluator's results, on every real regulation, across chunk
//! boundaries, and falls back to row evaluation (same results, same errors) when a chunk meets an error.

use graduatorie_rules::form::Field;
use graduatorie_rules::{
    ApplicationJson, BatchScores, Eligibility, Evaluation, FacilityTable, Facts, Regulation,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::helpers::{HEAD, load, rules_dir};

/// A deterministic generator, so a failing case can be replayed from its seed.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const FACILITIES: [&str; 4] = ["n1", "n2", "n3", "n4"];

fn answer(f: &Field, rng: &mut Rng) -> Value {
    if !f.required && rng.chance(20) {
        return Value::Null;
    }
    let int = |s: &Option<String>, default: i64| {
        s.as_deref()
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(default)
    };
    match f.kind {
        "bool" => json!(rng.chance(50)),
        "integer" => {
            let (lo, hi) = (int(&f.min, 0), int(&f.max, 10).min(int(&f.min, 0) + 40));
            json!(lo + i64::try_from(rng.below(u64::try_from(hi - lo + 1).unwrap_or(1))).unwrap())
        }
        "money" => json!(format!("{}.{:02}", rng.below(70_000), rng.below(100))),
        "decimal" => json!(format!("0.{:04}", rng.below(10_000))),
        "date" => {
            let lo = f
                .min
                .as_deref()
                .unwrap_or("2010-01-01")
                .parse::<jiff::civil::Date>()
                .unwrap();
            let hi = f
                .max
                .as_deref()
                .unwrap_or("2026-08-31")
                .parse::<jiff::civil::Date>()
                .unwrap();
            let span = lo.until(hi).unwrap().get_days();
            let day = lo
                .checked_add(
                    jiff::Span::new()
                        .days(i64::try_from(rng.below(u64::try_from(span).unwrap() + 1)).unwrap()),
                )
                .unwrap();
            json!(day.to_string())
        }
        "choice" => json!(f.options[usize::try_from(rng.below(f.options.len() as u64)).unwrap()].value),
        "facility" => json!(FACILITIES[usize::try_from(rng.below(4)).unwrap()]),
        "facilities" => json!(FACILITIES[..usize::try_from(rng.below(3)).unwrap()].to_vec()),
        _ => Value::Null,
    }
}

/// A valid application for `reg` (answers to questions not asked are removed), or `None`.
fn application(reg: &Regulation, protocol: usize, rng: &mut Rng, table: &mut FacilityTable) -> Option<Facts> {
    let mut inputs = Map::new();
    for field in reg.form().fields {
        let value = if field.kind == "list" {
            let lo = u64::from(field.min_items.unwrap_or(0));
            let hi = u64::from(field.max_items.unwrap_or(0)).min(lo + 3);
            let n = lo + rng.below(hi - lo + 1);
            Value::Array(
                (0..n)
                    .map(|_| {
                        Value::Object(
                            field
                                .fields
                                .iter()
                                .map(|f| (f.name.clone(), answer(f, rng)))
                                .collect(),
                        )
                    })
                    .collect(),
            )
        } else {
            answer(&field, rng)
        };
        inputs.insert(field.name.clone(), value);
    }
    let mut prefs: Vec<&str> = FACILITIES.to_vec();
    prefs.rotate_left(usize::try_from(rng.below(4)).unwrap());
    prefs.truncate(1 + usize::try_from(rng.below(4)).unwrap());
    let day = 15 + rng.below(280);
    let submitted = jiff::civil::Date::new(2026, 1, 1)
        .unwrap()
        .checked_add(jiff::Span::new().days(i64::try_from(day).unwrap()))
        .unwrap();
    let mut app = json!({
        "protocol": format!("2026/{}", protocol + 1),
        "submitted_at": format!("{submitted}T{:02}:30:00Z", rng.below(24)),
        "preferences": prefs,
        "inputs": inputs,
    });
    for _ in 0..3 {
        let parsed: ApplicationJson = serde_json::from_value(app.clone()).unwrap();
        match reg.facts(&parsed, table) {
            Ok(facts) => return Some(facts),
            Err(e) => {
                for err in e.errors.iter().filter(|e| e.message.starts_with("not asked")) {
                    let (parent, key) = err.pointer.rsplit_once('/').unwrap();
                    if let Some(obj) = app.pointer_mut(parent).and_then(Value::as_object_mut) {
                        obj.remove(key);
                    }
                }
            }
        }
    }
    None
}

fn assert_same(reg: &Regulation, facts: &[Facts], batch: &BatchScores) {
    assert_eq!(batch.len, facts.len());
    let mut ev = Evaluation::default();
    for (i, f) in facts.iter().enumerate() {
        reg.evaluate_into(f, &mut ev, false).unwrap();
        let ctx = format!("{} application {i}", reg.identity.id);
        assert_eq!(
            batch.excluded[i],
            matches!(ev.eligibility, Eligibility::Excluded(_)),
            "{ctx}"
        );
        assert_eq!(
            batch.reserve[i],
            matches!(ev.eligibility, Eligibility::Reserve(_)),
            "{ctx}"
        );
        assert_eq!(batch.section[i], ev.section, "{ctx}");
        assert_eq!(batch.border[i], ev.border, "{ctx}");
        assert_eq!(batch.tier(i), &ev.tier[..], "{ctx}");
        let decimals = |units: &[i64]| units.iter().map(|&u| batch.decimal(u)).collect::<Vec<_>>();
        let steps = reg.tie_breaks().len();
        let ties = |t: graduatorie_rules::Ties<'_>| (0..steps).map(|k| t.get(k)).collect::<Vec<_>>();
        assert_eq!(batch.points(i).len(), reg.criteria().len(), "{ctx}");
        for r in &ev.criteria {
            assert_eq!(
                batch.decimal(batch.points(i).get(usize::from(r.criterion))),
                r.points,
                "{ctx} criterion {}",
                r.criterion
            );
        }
        assert_eq!(decimals(batch.subtotals(i)), ev.subtotals, "{ctx}");
        assert_eq!(batch.decimal(batch.total[i]), ev.total, "{ctx}");
        let mut text = String::new();
        batch.write_points(batch.total[i], &mut text);
        assert_eq!(text, ev.total.normalize().to_string(), "{ctx}");
        assert_eq!(ties(batch.tie_keys(i)), ev.tie_keys, "{ctx}");
        let rows: Vec<_> = batch.facility_rows(i).collect();
        assert_eq!(rows.len(), ev.facilities.len(), "{ctx}");
        for (row, fs) in rows.into_iter().zip(&ev.facilities) {
            let f = batch.facility(row);
            assert_eq!(
                (f.facility, f.rank, batch.decimal(f.total)),
                (fs.facility, fs.rank, fs.total),
                "{ctx}"
            );
            assert_eq!(decimals(f.subtotals), fs.subtotals, "{ctx}");
            assert_eq!(ties(f.ties), fs.tie_keys, "{ctx}");
            for r in &fs.criteria {
                assert_eq!(
                    batch.decimal(f.points.get(usize::from(r.criterion))),
                    r.points,
                    "{ctx}"
                );
            }
            // The breakdown at a facility is complete: the application's points for the criteria
            // that do not depend on the facility, so that the points add up to the row's total.
            assert_eq!(f.points.len(), reg.criteria().len(), "{ctx}");
            assert_eq!(f.points.sum::<i64>(), f.total, "{ctx} facility row {row}");
        }
        assert_eq!(batch.points(i).sum::<i64>(), batch.total[i], "{ctx}");
    }
}

fn regulations() -> Vec<Regulation> {
    let mut names: Vec<String> = std::fs::read_dir(rules_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.iter().map(|n| load(n)).collect()
}

fn batch_of(reg: &Regulation, n: usize, seed: u64) -> Vec<Facts> {
    let mut rng = Rng(seed);
    let mut table = FacilityTable::closed(FACILITIES);
    (0..n)
        .filter_map(|i| application(reg, i, &mut rng, &mut table))
        .collect()
}

#[test]
fn every_regulation_across_chunk_boundaries() {
    for reg in regulations() {
        // 2,500 applications: two full chunks of 1,024 and a partial one.
        let facts = batch_of(&reg, 2500, 7);
        assert!(
            facts.len() > 2000,
            "{}: only {} valid applications generated",
            reg.identity.id,
            facts.len()
        );
        let columns = graduatorie_rules::FactsBatch::from_facts(&facts);
        let batch = reg.score_batch(&columns).unwrap();
        assert_same(&reg, &facts, &batch);
        // Scored in two parts split inside a chunk, then joined: the same scores.
        let mut parts = reg.score_batch_range(&columns, 0..1500).unwrap();
        parts.append(&reg.score_batch_range(&columns, 1500..facts.len()).unwrap());
        assert_same(&reg, &facts, &parts);
        // The generator reaches the interesting cases, so the comparison is not vacuous.
        assert!(
            batch.total.iter().any(|&t| t != 0) || reg.criteria().is_empty(),
            "{}",
            reg.identity.id
        );
    }
}

/// The tie-break values the ranking's keys read, step by step for a whole column of applications
/// ([`BatchScores::each_tie_ordinal`]) or one application at a time ([`Ties::ordinal`]), are the
/// values the comparator reads ([`Ties::get`]), for every regulation.
#[test]
fn tie_values_read_as_keys_are_the_comparators() {
    let mut present = 0;
    for reg in regulations() {
        let facts = batch_of(&reg, 1500, 29);
        let batch = reg
            .score_batch(&graduatorie_rules::FactsBatch::from_facts(&facts))
            .unwrap();
        // Every other application, backwards.
        let rows: Vec<u32> = (0..facts.len() as u32).rev().step_by(2).collect();
        for k in 0..reg.tie_breaks().len() {
            let mut each = Vec::new();
            batch.each_tie_ordinal(k, &rows, |m, o| each.push((m, o)));
            assert_eq!(each.len(), rows.len(), "{} step {k}", reg.identity.id);
            for (m, o) in each {
                let ties = batch.tie_keys(rows[m] as usize);
                assert_eq!(o, ties.ordinal(k), "{} step {k} row {}", reg.identity.id, rows[m]);
                let value = ties.get(k);
                match o {
                    // A subtotal or the total: the same number, whatever its trailing zeros.
                    graduatorie_rules::Ordinal::Number { units, scale } => {
                        assert_eq!(Some(rust_decimal::Decimal::new(units, scale)), value.as_dec());
                    }
                    _ => assert_eq!(o, value.ordinal(), "{} step {k}", reg.identity.id),
                }
                present += usize::from(!matches!(o, graduatorie_rules::Ordinal::Missing));
            }
        }
    }
    assert!(present > 10_000, "{present}");
}

/// The eligibility alone ([`Regulation::eligibility_into`]) is what a whole evaluation finds: the
/// same derived values, section, border age and eligibility with its reasons, for every regulation.
#[test]
fn eligibility_alone_is_what_the_whole_evaluation_finds() {
    let mut not_eligible = 0;
    for reg in regulations() {
        let facts = batch_of(&reg, 600, 13);
        let (mut whole, mut alone) = (
            graduatorie_rules::Evaluation::default(),
            graduatorie_rules::Evaluation::default(),
        );
        for f in &facts {
            reg.evaluate_into(f, &mut whole, false).unwrap();
            reg.eligibility_into(f, &mut alone).unwrap();
            assert_eq!(alone.eligibility, whole.eligibility, "{}", reg.identity.id);
            assert_eq!((alone.section, alone.border), (whole.section, whole.border));
            assert_eq!(format!("{:?}", alone.derived), format!("{:?}", whole.derived));
            not_eligible += usize::from(!matches!(
                whole.eligibility,
                graduatorie_rules::Eligibility::Eligible
            ));
        }
    }
    // The generator reaches exclusions and reserves, so the comparison of reasons is not vacuous.
    assert!(
        not_eligible > 100,
        "only {not_eligible} applications not simply eligible"
    );
}

/// An application read back from the columns is the application that went in: same protocol,
/// submission time, preferences and, answer by answer, the same evaluation.
#[test]
fn applications_read_back_from_columns_are_unchanged() {
    for reg in regulations() {
        let facts = batch_of(&reg, 300, 11);
        let columns = graduatorie_rules::FactsBatch::from_facts(&facts);
        assert_eq!(columns.len(), facts.len());
        let mut with_preferences = 0;
        for (i, f) in facts.iter().enumerate() {
            let back = columns.get(i);
            assert_eq!(columns.protocol(i), f.protocol, "{}", reg.identity.id);
            assert_eq!(columns.submitted_at(i), f.submitted_at());
            assert_eq!(columns.preferences(i), f.preferences());
            assert_eq!(back.preferences(), f.preferences());
            with_preferences += usize::from(!f.preferences().is_empty());
            let (a, b) = (reg.evaluate(f).unwrap(), reg.evaluate(&back).unwrap());
            assert_eq!(
                format!("{a:?}"),
                format!("{b:?}"),
                "{} application {i}",
                reg.identity.id
            );
        }
        assert!(
            with_preferences > 0,
            "{}: no preferences generated",
            reg.identity.id
        );
    }
}

proptest! {
    #[test]
    fn batch_equals_rows(seed in any::<u64>(), n in 1usize..60, which in 0usize..64, split in 0usize..70) {
        let regs = regulations();
        let reg = &regs[which % regs.len()];
        let facts = batch_of(reg, n, seed);
        let columns = graduatorie_rules::FactsBatch::from_facts(&facts);
        let batch = reg.score_batch(&columns).unwrap();
        assert_same(reg, &facts, &batch);
        // Any split, even an empty part, joined again.
        let split = split.min(facts.len());
        let mut parts = reg.score_batch_range(&columns, 0..split).unwrap();
        parts.append(&reg.score_batch_range(&columns, split..facts.len()).unwrap());
        assert_same(reg, &facts, &parts);
    }
}

fn inline(body: &str) -> Regulation {
    graduatorie_rules::compile_str("t.toml", &format!("{HEAD}{body}")).unwrap()
}

fn facts_from(reg: &Regulation, apps: Vec<Value>) -> Vec<Facts> {
    let mut table = FacilityTable::open();
    apps.into_iter()
        .map(|a| {
            reg.facts(&serde_json::from_value::<ApplicationJson>(a).unwrap(), &mut table)
                .unwrap()
        })
        .collect()
}

#[test]
fn an_error_names_the_application_as_row_evaluation_does() {
    let reg = inline(
        "[inputs.x]\ntype = \"integer\"\nlabel = \"X\"\n\n[criteria.ratio]\nlabel = \"Rapporto\"\npoints = \"10 / x\"\n",
    );
    let apps: Vec<Value> = (0..1500)
        .map(|i| json!({"inputs": {"x": if i == 1300 { 0 } else { 1 + i % 7 }}}))
        .collect();
    let facts = facts_from(&reg, apps);
    let columns = graduatorie_rules::FactsBatch::from_facts(&facts);
    let (index, err) = reg.score_batch(&columns).unwrap_err();
    assert_eq!(index, 1300);
    assert_eq!(err.to_string(), "Rapporto: division by zero");
    // A part names the application by its index in the whole batch.
    let (index, _) = reg.score_batch_range(&columns, 1200..1500).unwrap_err();
    assert_eq!(index, 1300);
    assert!(reg.score_batch_range(&columns, 0..1300).is_ok());
}

#[test]
fn errors_the_row_evaluator_never_meets_fall_back_to_it() {
    // any() stops at the first true record when evaluated row by row, so the division by zero in the
    // second record is never reached; the batch evaluator meets it, then falls back.
    let reg = inline(
        "[inputs.kids]\ntype = \"list\"\nlabel = \"Figli\"\nitem = \"kid\"\n\n[inputs.kids.fields.n]\ntype = \"integer\"\nlabel = \"N\"\n\n[criteria.c]\nlabel = \"C\"\nwhen = \"any(kids, 10 / kid.n > 1)\"\npoints = 3\n",
    );
    let facts = facts_from(
        &reg,
        vec![
            json!({"inputs": {"kids": [{"n": 2}, {"n": 0}]}}),
            json!({"inputs": {"kids": [{"n": 20}]}}),
        ],
    );
    let batch = reg
        .score_batch(&graduatorie_rules::FactsBatch::from_facts(&facts))
        .unwrap();
    assert_same(&reg, &facts, &batch);
    // 3 points at the default 2 decimals: 300 hundredths.
    assert_eq!(batch.total, vec![300, 0]);
}

/// A regulation whose points have `decimals` decimals.
fn with_decimals(decimals: u32, body: &str) -> Regulation {
    graduatorie_rules::compile_str("t.toml", &format!("{HEAD}points_decimals = {decimals}\n{body}")).unwrap()
}

proptest! {
    #[test]
    fn points_are_written_as_their_decimal(decimals in 0u32..=6, units in any::<i64>()) {
        let reg = with_decimals(decimals, "");
        let batch = reg.score_batch(&graduatorie_rules::FactsBatch::new()).unwrap();
        prop_assert_eq!(batch.points_scale(), decimals);
        let mut text = String::new();
        batch.write_points(units, &mut text);
        let expected = rust_decimal::Decimal::new(units, decimals).normalize().to_string();
        prop_assert_eq!(&text, &expected);
        prop_assert_eq!(batch.decimal(units).to_string(), expected);
    }
}

#[test]
fn per_record_points_are_summed_before_rounding() {
    // Each child gives 1/3 of a point; with 2 decimals the criterion is rounded once, on the sum:
    // 1/3 + 1/3 = 0.666… → 0.67 (rounding each record first would give 0.33 + 0.33 = 0.66).
    // Another criterion gives an exact 1.25, summed in hundredths: total 0.67 + 1.25 = 1.92.
    let reg = with_decimals(
        2,
        "[inputs.kids]\ntype = \"list\"\nlabel = \"Figli\"\nitem = \"kid\"\n\n[inputs.kids.fields.n]\ntype = \"integer\"\nlabel = \"N\"\n\n[criteria.third]\nlabel = \"Terzi\"\nfor_each = \"kids\"\npoints = \"kid.n / 3\"\n\n[criteria.fixed]\nlabel = \"Fisso\"\npoints = 1.25\n",
    );
    let facts = facts_from(&reg, vec![json!({"inputs": {"kids": [{"n": 1}, {"n": 1}]}})]);
    let batch = reg
        .score_batch(&graduatorie_rules::FactsBatch::from_facts(&facts))
        .unwrap();
    assert_same(&reg, &facts, &batch);
    assert_eq!(batch.points(0).collect::<Vec<_>>(), [67, 125]);
    assert_eq!(batch.total, vec![192]);
}

#[test]
fn points_beyond_what_a_batch_holds_are_an_error_naming_the_application() {
    // 10^17 points at 2 decimals are 10^19 hundredths, more than a 64-bit number holds (9.2 × 10^18);
    // the row evaluator (decimals) gives them, the batch refuses them for the second application only.
    let reg = inline(
        "[inputs.x]\ntype = \"integer\"\nlabel = \"X\"\nmin = 0\nmax = 1000000000000000000\n\n[criteria.c]\nlabel = \"C\"\npoints = \"x\"\n",
    );
    let facts = facts_from(
        &reg,
        vec![
            json!({"inputs": {"x": 5}}),
            json!({"inputs": {"x": 100_000_000_000_000_000_i64}}),
        ],
    );
    assert!(reg.evaluate(&facts[1]).is_ok());
    let (i, e) = reg
        .score_batch(&graduatorie_rules::FactsBatch::from_facts(&facts))
        .unwrap_err();
    assert_eq!(i, 1);
    assert_eq!(e.error, graduatorie_rules::expr::eval::EvalError::Overflow);
    let (i, _) = graduatorie_rules::BatchScores::from_evaluations(
        &reg,
        &[reg.evaluate(&facts[0]).unwrap(), reg.evaluate(&facts[1]).unwrap()],
    )
    .unwrap_err();
    assert_eq!(i, 1);
}

proptest! {
    /// Values are written as the standard formatting writes them (the fast routes for numbers
    /// included): decimals at any scale, negative ones and zero, whole numbers to the extremes.
    #[test]
    fn values_are_written_as_their_display(
        mantissa in any::<i64>(),
        wide in any::<i128>(),
        scale in 0u32..=28,
        n in any::<i64>(),
        small in -20i64..20,
    ) {
        use graduatorie_rules::Value as V;
        use graduatorie_rules::explain::{value_text, write_value};
        let narrow = rust_decimal::Decimal::new(mantissa, scale);
        let big = rust_decimal::Decimal::try_from_i128_with_scale(wide >> 32, scale).unwrap();
        let tiny = rust_decimal::Decimal::new(small, scale % 3);
        for d in [narrow, big, -narrow, tiny, rust_decimal::Decimal::ZERO, -rust_decimal::Decimal::ZERO] {
            let mut out = String::from("x");
            prop_assert!(write_value(V::Dec(d), &mut out));
            prop_assert_eq!(&out[1..], d.normalize().to_string());
            prop_assert_eq!(value_text(V::Dec(d)), Some(d.normalize().to_string()));
        }
        prop_assert_eq!(value_text(V::Int(n)), Some(n.to_string()));
        prop_assert_eq!(value_text(V::Int(small)), Some(small.to_string()));
        prop_assert_eq!(value_text(V::Choice(u16::MAX)), Some("opzione 65536".to_owned()));
        prop_assert_eq!(value_text(V::Missing), None);
    }
}

/// Bands over a whole number are looked up with integer comparisons when their bounds are whole and
/// their points exact: the same points as the row evaluator's decimal lookup at every edge, below the
/// first band, past the last one, and for a missing value.
#[test]
fn whole_number_bands_match_the_row_evaluator_at_every_edge() {
    let reg = with_decimals(
        1,
        "[inputs.x]\ntype = \"integer\"\nlabel = \"X\"\noptional = true\n\n\
         [criteria.a]\nlabel = \"A\"\nvalue = \"x\"\nbands = [\n  { to = 0, points = 1 },\n  { from = 1, to = 10, points = 2.5 },\n  { from = 11, to = 20, points = 3 },\n]\n\n\
         [criteria.b]\nlabel = \"B\"\nvalue = \"x\"\nbands = [\n  { from = 5, to = 9, points = 4 },\n  { from = 10, points = 7 },\n]\n\n\
         [criteria.c]\nlabel = \"C\"\nvalue = \"x\"\nbands = [\n  { from = 2, to = 6, points = 0.25 },\n  { from = 7, points = 1 },\n]\n",
    );
    let mut apps: Vec<Value> = (-3..=25).map(|x| json!({"inputs": {"x": x}})).collect();
    apps.push(json!({"inputs": {}}));
    let facts = facts_from(&reg, apps);
    let batch = reg
        .score_batch(&graduatorie_rules::FactsBatch::from_facts(&facts))
        .unwrap();
    assert_same(&reg, &facts, &batch);
    // By hand, in tenths (points_decimals = 1): x = -3 is in A's first band (to 0): 1 point = 10;
    // x = 4: A 2.5 = 25, below B's first band: 0; x = 10: A 25, B 7 = 70; x = 11: A 3 = 30;
    // x = 21: past A's last
    // band (to 20): 0, B's open band: 70. C gives 0.25 from 2 to 6, rounded to 0.3 = 3 (rounding of
    // `points_decimals`, half away from zero), then 1 = 10 from 7.
    let points = |x: i64| batch.points(usize::try_from(x + 3).unwrap()).collect::<Vec<_>>();
    assert_eq!(points(-3), [10, 0, 0]);
    assert_eq!(points(4), [25, 0, 3]);
    assert_eq!(points(10), [25, 70, 10]);
    assert_eq!(points(11), [30, 70, 10]);
    assert_eq!(points(21), [0, 70, 10]);
    assert_eq!(batch.points(29).collect::<Vec<_>>(), [0, 0, 0], "missing");
}

/// Random expressions of the condition language, well typed by construction, over inputs of every
/// kind the batch evaluator types (numbers, yes/no, choices, dates, instants, money, records).
struct Exprs(Rng);

impl Exprs {
    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[usize::try_from(self.0.below(options.len() as u64)).unwrap()]
    }

    /// A whole number (or, through a guarded division, a decimal); `kid` inside `kids` aggregates.
    fn int(&mut self, depth: u32, kid: bool) -> String {
        let leaf = depth == 0 || self.0.chance(30);
        if leaf {
            return match self.0.below(if kid { 4 } else { 8 }) {
                0 => self.0.below(20).to_string(),
                1 if kid => "kid.age ?? 1".to_owned(),
                2 | 3 if kid => "kid.age".to_owned(),
                1 => "n ?? 0".to_owned(),
                2 => "m".to_owned(),
                3 => "d1".to_owned(),
                4 => self
                    .pick(&["months(birth, reference_date)", "years(birth, reference_date)"])
                    .to_owned(),
                5 => "count(kids)".to_owned(),
                6 => "n".to_owned(),
                _ => format!("-{}", self.0.below(9)),
            };
        }
        let d = depth - 1;
        match self.0.below(if kid { 5 } else { 8 }) {
            0 => format!("({} + {})", self.int(d, kid), self.int(d, kid)),
            1 => format!("({} - {})", self.int(d, kid), self.int(d, kid)),
            2 => format!("({} * {})", self.int(d, kid), self.pick(&["2", "3", "m", "-1"])),
            3 => format!(
                "(if {} then {} else {})",
                self.boolean(d, kid),
                self.int(d, kid),
                self.int(d, kid)
            ),
            4 => format!("({} ?? {})", self.int(d, kid), self.int(d, kid)),
            5 => format!("count(kids, {})", self.boolean(d, true)),
            6 => format!("sum(kids, {})", self.int(d, true)),
            // Division only where the row evaluator never divides by zero.
            _ => format!(
                "(if m > 0 then {} / m else {})",
                self.int(d, kid),
                self.int(d, kid)
            ),
        }
    }

    /// A whole number for sure: no division in it.
    fn whole(&mut self, depth: u32) -> String {
        loop {
            let e = self.int(depth, false);
            if !e.contains('/') {
                return e;
            }
        }
    }

    fn boolean(&mut self, depth: u32, kid: bool) -> String {
        let leaf = depth == 0 || self.0.chance(25);
        if leaf {
            if kid && self.0.chance(50) {
                return self
                    .pick(&["kid.ok", "present(kid.age)", "kid.age >= 3"])
                    .to_owned();
            }
            return self
                .pick(&[
                    "flag",
                    "c == 'a'",
                    "c != 'b'",
                    "c in ['a', 'c']",
                    "present(n)",
                    "present(birth)",
                    "submitted_at <= deadline",
                    "isee <= limit",
                    "isee > 15000",
                    "birth < '2024-05-01'",
                    "true",
                ])
                .to_owned();
        }
        let d = depth - 1;
        match self.0.below(if kid { 4 } else { 6 }) {
            0 => format!("not ({})", self.boolean(d, kid)),
            1 => format!("({} and {})", self.boolean(d, kid), self.boolean(d, kid)),
            2 => format!("({} or {})", self.boolean(d, kid), self.boolean(d, kid)),
            3 => {
                let op = self.pick(&["<", "<=", ">", ">=", "==", "!="]);
                format!("({} {op} {})", self.int(d, kid), self.int(d, kid))
            }
            4 => format!("any(kids, {})", self.boolean(d, true)),
            _ => format!("all(kids, {})", self.boolean(d, true)),
        }
    }
}

/// A regulation whose derived value, criteria, tiers and tie-breaks are random expressions.
fn random_regulation(seed: u64) -> String {
    let mut g = Exprs(Rng(seed));
    let q = |s: String| format!("{s:?}");
    let mut text = format!(
        "{HEAD}[params]\ndeadline = 2026-03-31T23:59:59+02:00\nlimit = \"20000.50\"\n\n\
         [inputs.n]\ntype = \"integer\"\nlabel = \"N\"\nmin = -5\nmax = 30\noptional = true\n\n\
         [inputs.m]\ntype = \"integer\"\nlabel = \"M\"\nmin = 0\nmax = 4\n\n\
         [inputs.flag]\ntype = \"bool\"\nlabel = \"F\"\noptional = true\n\n\
         [inputs.c]\ntype = \"choice\"\nlabel = \"C\"\noptions = {{ a = \"A\", b = \"B\", c = \"C\" }}\noptional = true\n\n\
         [inputs.birth]\ntype = \"date\"\nlabel = \"Nascita\"\nmin = 2022-01-01\nmax = 2026-06-01\noptional = true\n\n\
         [inputs.isee]\ntype = \"money\"\nlabel = \"ISEE\"\noptional = true\n\n\
         [inputs.kids]\ntype = \"list\"\nlabel = \"Figli\"\nitem = \"kid\"\nmax_items = 3\n\n\
         [inputs.kids.fields.age]\ntype = \"integer\"\nlabel = \"Età\"\nmin = 0\nmax = 10\noptional = true\n\n\
         [inputs.kids.fields.ok]\ntype = \"bool\"\nlabel = \"Ok\"\n\n"
    );
    // Without division, so that `d1` stays a whole number for the bands below.
    let derived = g.whole(2).replace("d1", "m");
    text += &format!("[derived.d1]\nlabel = \"D\"\nexpr = {}\n\n", q(derived));
    text += &format!(
        "[derived.kind]\nlabel = \"K\"\ncases = [\n  {{ when = {}, value = \"x\", label = \"X\" }},\n  {{ when = {}, value = \"y\", label = \"Y\" }},\n]\n\n",
        q(g.boolean(2, false)),
        q(g.boolean(2, false))
    );
    text += &format!(
        "[eligibility.e]\nrequire = {}\nreason = \"R\"\n\n",
        q(g.boolean(1, false))
    );
    text += &format!(
        "[tiers.t]\nlabel = \"T\"\ngroups = [\n  {{ id = \"g1\", label = \"G1\", when = {} }},\n  {{ id = \"g2\", label = \"G2\", when = {} }},\n  {{ id = \"g3\", label = \"G3\" }},\n]\n\n",
        q(g.boolean(2, false)),
        q(g.boolean(2, false))
    );
    text += &format!(
        "[criteria.formula]\nlabel = \"P1\"\npoints = {}\n\n",
        q(g.int(3, false))
    );
    text += &format!(
        "[criteria.when]\nlabel = \"P2\"\nwhen = {}\npoints = 3\n\n",
        q(g.boolean(3, false))
    );
    text += &format!(
        "[criteria.kids]\nlabel = \"P3\"\nfor_each = \"kids\"\nwhen = {}\npoints = {}\n\n",
        q(g.boolean(2, true)),
        q(g.int(2, true))
    );
    // Every input and parameter is read at least once, as the compiler requires.
    text += "[criteria.reads]\nlabel = \"P0\"\nwhen = \"flag or present(n) or m > 0 or present(c) or present(birth) or isee <= limit or submitted_at <= deadline or any(kids, kid.ok or present(kid.age))\"\npoints = 1\n\n";
    text += "[criteria.table]\nlabel = \"P4\"\nvalue = \"kind\"\ntable = { x = 5, y = 2 }\n\n";
    // Bands over a whole number (a division would make it a decimal, with other bounds).
    let banded = g.whole(2);
    text += &format!(
        "[criteria.bands]\nlabel = \"P5\"\nvalue = {}\nbands = [\n  {{ from = 0, to = 4, points = 1 }},\n  {{ from = 5, to = 20, points = 2.5 }},\n]\n\n",
        q(banded)
    );
    for by in [
        g.boolean(2, false),
        g.int(2, false),
        "isee".to_owned(),
        "birth".to_owned(),
    ] {
        text += &format!(
            "[[tie_break]]\nlabel = \"S\"\nby = {}\norder = \"desc\"\n\n",
            q(by)
        );
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Random expressions over every kind of input give, scored in batch, what the row evaluator
    /// gives: the typed loops of the batch evaluator are only a faster way to the same values.
    #[test]
    fn random_expressions_score_as_rows_do(seed in any::<u64>(), n in 1usize..1300) {
        let text = random_regulation(seed);
        let reg = graduatorie_rules::compile_str("t.toml", &text)
            .unwrap_or_else(|e| panic!("{}\n{text}", e.lines().join("\n")));
        let facts = batch_of(&reg, n, seed ^ 0x5eed);
        let columns = graduatorie_rules::FactsBatch::from_facts(&facts);
        let batch = reg.score_batch(&columns).unwrap();
        assert_same(&reg, &facts, &batch);
    }
}
