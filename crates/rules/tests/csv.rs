//! Applications as table rows: columns named after the regulation's inputs, both directions.

use graduatorie_rules::{ApplicationJson, FacilityTable, Regulation};

use crate::helpers::load;

fn cases(name: &str) -> Vec<ApplicationJson> {
    let path = format!("{}/../../config/cases/{name}", env!("CARGO_MANIFEST_DIR"));
    let file: graduatorie_rules::cases::CaseFile =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    file.cases.into_iter().map(|c| c.application).collect()
}

#[test]
fn columns_follow_the_declared_inputs() {
    let reg = load("bologna-nidi.toml");
    let cols = reg.csv_columns();
    assert_eq!(
        &cols[..6],
        &[
            "protocol",
            "submitted_at",
            "preferences",
            "family",
            "residence",
            "vaccinated"
        ]
    );
    // Two parents at most, five fields each: parents.1.* then parents.2.*.
    let parents: Vec<_> = cols.iter().filter(|c| c.starts_with("parents.")).collect();
    assert_eq!(parents.len(), 2 * 5);
    assert_eq!(parents[0], "parents.1.work");
    assert_eq!(parents[5], "parents.2.work");
}

#[test]
fn a_row_gives_back_the_same_application() {
    let reg = load("bologna-nidi.toml");
    let cols = reg.csv_columns();
    let header: Vec<&str> = cols.iter().map(String::as_str).collect();
    let layout = reg.csv_layout(&header).unwrap();
    for app in cases("bologna-nidi.json").into_iter().take(4) {
        let row = reg.csv_record(&app);
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        let back = layout.application(&cells);
        let eval = |a: &ApplicationJson| {
            let facts = reg.facts(a, &mut FacilityTable::open()).unwrap();
            let e = reg.evaluate(&facts).unwrap();
            (e.total, e.tier, e.section, e.tie_keys, facts.protocol)
        };
        assert_eq!(eval(&back), eval(&app));
    }
}

#[test]
fn header_problems_name_the_column() {
    let reg = load("bologna-nidi.toml");
    let err = reg
        .csv_layout(&[
            "\u{feff}protocol",
            "isee",
            "grandparents",
            "isee",
            "parents.3.work",
            "parents.1.wrok",
        ])
        .unwrap_err();
    let got: Vec<_> = err.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        vec![
            "column 3 (grandparents): this regulation has no such input",
            "column 4 (isee): the column appears twice",
            "column 5 (parents.3.work): this regulation has no such input",
            "column 6 (parents.1.wrok): this regulation has no such input",
        ]
    );
}

#[test]
fn answer_problems_map_back_to_columns() {
    let reg = load("unione-sorbara-nidi.toml");
    let cols = [
        "child_birth_date",
        "parent_absent",
        "multiple_birth",
        "pregnancy",
        "parents.2.work",
        "parents.2.weekly_hours",
    ];
    let layout = reg.csv_layout(&cols).unwrap();
    // Record 2 filled, record 1 skipped: record 1's answers are reported at record 1's columns.
    let app = layout.application(&["2025-01-15", "no", "1", "no", "student", ""]);
    let err = reg.facts(&app, &mut FacilityTable::open()).unwrap_err();
    let columns: Vec<_> = err
        .errors
        .iter()
        .filter_map(|e| Regulation::csv_column_of(&e.pointer))
        .collect();
    assert!(columns.contains(&"parents.1.work".to_owned()), "{columns:?}");
    assert_eq!(Regulation::csv_column_of("/inputs/isee").as_deref(), Some("isee"));
    assert_eq!(
        Regulation::csv_column_of("/inputs/parents/1/work").as_deref(),
        Some("parents.2.work")
    );
    assert_eq!(
        Regulation::csv_column_of("/preferences").as_deref(),
        Some("preferences")
    );
}

#[test]
fn cells_are_text_checked_like_json_answers() {
    let reg = load("chivasso-nido.toml");
    let cols = [
        "child_birth_date",
        "household",
        "invalid_members_75",
        "twins",
        "waiting_list_last_year",
        "siblings_attending",
        "other_children",
        "isee",
        "preferences",
    ];
    let layout = reg.csv_layout(&cols).unwrap();
    // Yes/no as "sì"/"no", money with a comma, preferences separated by "|".
    let app = layout.application(&[
        "2025-02-01",
        "orphan",
        "0",
        "sì",
        "no",
        "1",
        "0",
        "9800,50",
        "n1|n2",
    ]);
    let facts = reg.facts(&app, &mut FacilityTable::open()).unwrap();
    let e = reg.evaluate(&facts).unwrap();
    // Orphan 44 + twins 6 + one sibling attending 3 = 53.
    assert_eq!(e.total, rust_decimal::Decimal::from(53));
    assert_eq!(facts.preferences().len(), 2);
}

/// Cells a row may hold: valid answers of every type, near misses and nonsense.
const CELLS: &[&str] = &[
    "",
    " ",
    "sì",
    "no",
    "true",
    "FALSE",
    "x",
    "0",
    "1",
    "3",
    "-2",
    "12,5",
    "4500.01",
    "30000",
    "1e3",
    "2026-03-01",
    "2024-02-29",
    "2025-13-01",
    "2026-01-15T10:30:00Z",
    "yesterday",
    "N1|N2",
    "N2;N1",
    "N1|N1",
    "NX",
    "N1",
    "|",
    "2026/1",
    "2026/000002",
    "bad",
    "employed",
    "single_parent",
    "=cmd",
];

proptest::proptest! {
    /// A row typed directly ([`Regulation::facts_of_row`]) gives exactly what the JSON route gives
    /// ([`Layout::application`] then [`Regulation::facts`]): the same values, or the same problems in the
    /// same order, for every regulation and any cells, valid or not.
    #[test]
    fn a_row_typed_directly_equals_the_json_route(
        which in 0usize..64,
        picks in proptest::collection::vec(0usize..CELLS.len(), 0..200),
        keep_case in proptest::bool::ANY,
    ) {
        let mut names: Vec<String> = std::fs::read_dir(crate::helpers::rules_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let reg = load(&names[which % names.len()]);
        let cols = reg.csv_columns();
        let header: Vec<&str> = cols.iter().map(String::as_str).collect();
        let layout = reg.csv_layout(&header).unwrap();
        // Start from a valid application when there is one (so that most rows are valid), then
        // overwrite some cells.
        let case_file = names[which % names.len()].replace(".toml", ".json");
        let known = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../config/cases")
            .join(&case_file)
            .exists();
        let apps = if known && keep_case { cases(&case_file) } else { Vec::new() };
        let base: Vec<String> = apps
            .get(picks.len() % apps.len().max(1))
            .map_or_else(|| vec![String::new(); cols.len()], |app| reg.csv_record(app));
        let mut cells: Vec<&str> = base.iter().map(String::as_str).collect();
        for (k, p) in picks.iter().enumerate() {
            if k % 3 == 0 {
                let at = (p * 7 + k) % cells.len();
                cells[at] = CELLS[*p];
            }
        }
        let codes = ["N1", "N2", "N3"];
        let via_json = reg.facts(&layout.application(&cells), &mut FacilityTable::closed(codes));
        let direct = reg.facts_of_row(&layout.row(&cells), &mut FacilityTable::closed(codes));
        // Typed into a buffer that held another application first (the base one, or one of empty
        // cells): the same result as into a fresh one.
        let mut reused = graduatorie_rules::Facts::default();
        let _ = reg.facts_of_row_into(&layout.row(&base.iter().map(String::as_str).collect::<Vec<_>>()), &mut FacilityTable::closed(codes), &mut reused);
        let again = reg
            .facts_of_row_into(&layout.row(&cells), &mut FacilityTable::closed(codes), &mut reused)
            .map(|()| reused);
        match (&direct, again) {
            (Ok(a), Ok(b)) => {
                proptest::prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
            }
            (Err(a), Err(b)) => proptest::prop_assert_eq!(a, &b),
            (a, b) => proptest::prop_assert!(false, "{:?} vs {:?}", a.as_ref().map(|_| ()), b.map(|_| ())),
        }
        match (via_json, direct) {
            (Ok(a), Ok(b)) => {
                proptest::prop_assert_eq!(a.protocol, b.protocol);
                proptest::prop_assert_eq!(a.preferences(), b.preferences());
                proptest::prop_assert_eq!(a.submitted_at(), b.submitted_at());
                let (ea, eb) = (reg.evaluate(&a), reg.evaluate(&b));
                proptest::prop_assert_eq!(format!("{ea:?}"), format!("{eb:?}"));
            }
            (Err(a), Err(b)) => proptest::prop_assert_eq!(a, b),
            (a, b) => proptest::prop_assert!(false, "{:?} vs {:?}", a.map(|_| ()), b.map(|_| ())),
        }
    }
}

/// A regulation with more inputs and lists than the reading keeps on the stack (64 inputs, 8 lists):
/// answers still checked and typed one by one.
#[test]
fn many_inputs_and_lists_are_read_like_few() {
    let mut text = crate::helpers::HEAD.to_owned();
    for i in 0..70 {
        let ask = if i == 69 { "ask_if = \"q0\"\n" } else { "" };
        let optional = if i == 1 { "" } else { "optional = true\n" };
        text.push_str(&format!(
            "\n[inputs.q{i}]\ntype = \"bool\"\nlabel = \"Q{i}\"\n{optional}{ask}"
        ));
    }
    for l in 0..10 {
        text.push_str(&format!(
            "\n[inputs.l{l}]\ntype = \"list\"\nlabel = \"L{l}\"\nitem = \"r{l}\"\nmin_items = 0\nmax_items = 2\n\n[inputs.l{l}.fields.n]\ntype = \"integer\"\nlabel = \"N\"\n"
        ));
    }
    // Every answer is read by a rule (the format refuses inputs no rule uses); only q69 and the records
    // of l9 give points.
    for i in 0..70 {
        let p = if i == 69 { 2 } else { 0 };
        text.push_str(&format!(
            "\n[criteria.c{i}]\nlabel = \"C{i}\"\npoints = \"if q{i} then {p} else 0\"\n"
        ));
    }
    for l in 0..10 {
        let count = if l == 9 { "count(l9)" } else { "0" };
        text.push_str(&format!(
            "\n[criteria.r{l}]\nlabel = \"R{l}\"\npoints = \"{count} + sum(l{l}, r{l}.n) * 0\"\n"
        ));
    }
    let reg = graduatorie_rules::compile_str("t.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    let cols = reg.csv_columns();
    let header: Vec<&str> = cols.iter().map(String::as_str).collect();
    let layout = reg.csv_layout(&header).unwrap();
    fn row<'a>(cols: &[String], set: &[(&str, &'a str)]) -> Vec<&'a str> {
        cols.iter()
            .map(|c| set.iter().find(|(k, _)| k == c).map_or("", |(_, v)| *v))
            .collect()
    }
    let read = |cells: &[&str]| reg.facts_of_row(&layout.row(cells), &mut FacilityTable::open());
    // q1 is required; q69 is asked only when q0 is true; the last list's records are counted.
    let good = row(
        &cols,
        &[
            ("protocol", "2026/1"),
            ("q0", "sì"),
            ("q1", "no"),
            ("q69", "sì"),
            ("l9.1.n", "4"),
            ("l9.2.n", "5"),
        ],
    );
    let facts = read(&good).unwrap();
    let e = reg.evaluate(&facts).unwrap();
    // q69 gives 2, two records of l9 give 2: 4.
    assert_eq!(e.total, rust_decimal::Decimal::from(4));
    let missing = row(&cols, &[("protocol", "2026/2"), ("q69", "sì")]);
    let errors: Vec<String> = read(&missing)
        .unwrap_err()
        .errors
        .iter()
        .map(|e| e.pointer.clone())
        .collect();
    assert_eq!(errors, ["/inputs/q1", "/inputs/q69"]);
}
