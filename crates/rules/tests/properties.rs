//! Nothing panics, whatever the rules file or the application: arbitrary text, mutations of the real
//! regulations, random expressions, and random applications against every real regulation.

use graduatorie_rules::{ApplicationJson, FacilityTable, Regulation};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::helpers::{load, rules_dir};

fn real_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(rules_dir())
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Compiles a text, with `extends` resolved against the real files.
fn compile(text: &str) -> Result<Regulation, graduatorie_rules::RuleErrors> {
    let files = real_files();
    graduatorie_rules::load("mutated.toml", &mut |p| {
        if p == "mutated.toml" {
            return Ok(text.to_owned());
        }
        files
            .iter()
            .find(|(n, _)| p.ends_with(n.as_str()))
            .map(|(_, t)| t.clone())
            .ok_or_else(|| "missing".into())
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    ReplaceNumber(usize, i64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), "[ -~\\n]{1,12}").prop_map(|(a, s)| Mutation::Insert(a, s)),
        (
            any::<usize>(),
            prop::sample::select(vec![
                "\"",
                "'",
                "[",
                "]",
                "{",
                "}",
                "=",
                "\n",
                "(",
                ")",
                " and ",
                " or ",
                "not ",
                "==",
                "??",
                ".",
                "count(",
                "0",
                "-1",
                "99999999999999999999",
                "\"\"\"",
                "#",
                "[[tie_break]]\nby = \"x\"\n",
            ])
        )
            .prop_map(|(a, s)| Mutation::Insert(a, s.to_owned())),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), any::<i64>()).prop_map(|(a, n)| Mutation::ReplaceNumber(a, n)),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let boundary = |s: &str, i: usize| {
        let mut i = i % (s.len() + 1);
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    match m {
        Mutation::Delete(a, n) => {
            let start = boundary(text, *a);
            let end = boundary(text, start + n);
            format!("{}{}", &text[..start], &text[end.max(start)..])
        }
        Mutation::Insert(a, s) => {
            let i = boundary(text, *a);
            format!("{}{s}{}", &text[..i], &text[i..])
        }
        Mutation::DuplicateLine(a) => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let i = a % lines.len();
                lines.insert(i, lines[i]);
            }
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let (i, j) = (a % lines.len(), b % lines.len());
                lines.swap(i, j);
            }
            lines.join("\n")
        }
        Mutation::ReplaceNumber(a, n) => {
            let digits: Vec<usize> = text
                .char_indices()
                .filter(|(_, c)| c.is_ascii_digit())
                .map(|(i, _)| i)
                .collect();
            if digits.is_empty() {
                return text.to_owned();
            }
            let i = digits[a % digits.len()];
            format!("{}{n}{}", &text[..i], &text[i + 1..])
        }
    }
}

/// A random answer for any kind of input, right or wrong.
fn answer() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-5i64..120).prop_map(Value::from),
        "[0-9]{1,7}(\\.[0-9]{1,3})?".prop_map(Value::String),
        "(19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]".prop_map(Value::String),
        prop::sample::select(vec![
            "employed",
            "none",
            "over_6",
            "resident",
            "pending",
            "single_parent",
            "orphan",
            "n1",
            "town",
            "self_employed_or_long_contract",
            "parent_or_sibling",
            "no",
            "all_week",
            "night_shifts",
            "sì",
        ])
        .prop_map(|s| Value::String(s.into())),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Evaluates whatever an application gives; only panics matter.
fn exercise(reg: &Regulation, app: &Value) {
    let Ok(app) = serde_json::from_value::<ApplicationJson>(app.clone()) else {
        return;
    };
    let mut facilities = FacilityTable::open();
    if let Ok(facts) = reg.facts(&app, &mut facilities)
        && let Ok(ev) = reg.evaluate(&facts)
    {
        let fee = reg.fee().and_then(|_| reg.fee_for(&facts).ok());
        let _ = reg.explain(&ev, &facilities, fee).to_text();
    }
}

proptest! {

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = compile(&text);
    }

    #[test]
    fn mutated_regulations_never_panic(file in 0usize..64, mutations in prop::collection::vec(mutation(), 1..4)) {
        let files = real_files();
        let (_, text) = &files[file % files.len()];
        let mut text = text.clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        // Whatever still compiles must also evaluate random applications without panicking.
        if let Ok(reg) = compile(&text) {
            exercise(&reg, &json!({"inputs": {}}));
        }
    }

    #[test]
    fn random_expressions_never_panic(expr in "[a-z_ ().,'\\[\\]<>=!?+*/0-9-]{0,60}", place in 0usize..4) {
        let head = "[regulation]\nid = \"t\"\ntitle = \"T\"\nservice = \"nido\"\nschool_year = \"2026/2027\"\nauthority = \"A\"\nsource = \"S\"\nreference_date = 2026-09-01\n[inputs.n]\ntype = \"integer\"\nlabel = \"N\"\n[criteria.keep]\nlabel = \"K\"\nwhen = \"n > 0\"\npoints = 1\n";
        let escaped = expr.replace('\\', "").replace('"', "'");
        let body = match place {
            0 => format!("[criteria.c]\nlabel = \"C\"\nwhen = \"{escaped}\"\npoints = 1\n"),
            1 => format!("[criteria.c]\nlabel = \"C\"\npoints = \"{escaped}\"\n"),
            2 => format!("[derived.d]\nexpr = \"{escaped}\"\n"),
            _ => format!("[[tie_break]]\nby = \"{escaped}\"\n"),
        };
        if let Ok(reg) = compile(&format!("{head}{body}")) {
            prop_assert!(reg.criteria().iter().any(|c| c.id == "keep"));
            for n in [0, 1, -1, i64::MAX, i64::MIN] {
                exercise(&reg, &json!({"inputs": {"n": n}}));
            }
        }
    }

    #[test]
    fn random_applications_never_panic(
        file in 0usize..64,
        answers in prop::collection::vec(answer(), 0..30),
        prefs in prop::collection::vec("[a-z0-9]{1,3}", 0..5),
        time in prop::option::of("20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z"),
        protocol in prop::option::of("[0-9]{4}/[0-9]{1,6}"),
    ) {
        let files = real_files();
        let (name, _) = &files[file % files.len()];
        let reg = load(name);
        // Give each declared input (and each list field) one of the random answers.
        let form = reg.form();
        let mut inputs = Map::new();
        let mut pool = answers.into_iter().cycle();
        for field in &form.fields {
            let mut value = pool.next().unwrap_or(Value::Null);
            if field.kind == "list" {
                let mut record = Map::new();
                for f in &field.fields {
                    record.insert(f.name.clone(), pool.next().unwrap_or(Value::Null));
                }
                value = Value::Array(vec![Value::Object(record); 2]);
            }
            inputs.insert(field.name.clone(), value);
        }
        exercise(&reg, &json!({"inputs": inputs, "preferences": prefs, "submitted_at": time, "protocol": protocol}));
    }
}

#[test]
fn every_real_regulation_evaluates_a_plausible_application() {
    // A valid application built from each form's first options, to make sure the random test above is
    // not only exercising rejections.
    for (name, _) in real_files() {
        let reg = load(&name);
        let mut inputs = Map::new();
        let plausible = |f: &graduatorie_rules::form::Field| -> Value {
            match f.kind {
                "bool" => json!(false),
                "integer" => json!(
                    f.min
                        .as_deref()
                        .and_then(|m| m.parse::<i64>().ok())
                        .unwrap_or(0)
                        .max(1)
                        .min(
                            f.max
                                .as_deref()
                                .and_then(|m| m.parse::<i64>().ok())
                                .unwrap_or(100)
                        )
                ),
                "decimal" | "money" => json!("1000.00"),
                "date" => json!(f.max.clone().unwrap_or_else(|| "2025-01-01".into())),
                "choice" => json!(f.options[0].value),
                "facility" => json!("n1"),
                "facilities" => json!([]),
                _ => Value::Null,
            }
        };
        for field in reg.form().fields {
            let value = if field.kind == "list" {
                if field.conditional || field.min_items == Some(0) {
                    json!([])
                } else {
                    let record: Map<String, Value> = field
                        .fields
                        .iter()
                        .map(|f| (f.name.clone(), plausible(f)))
                        .collect();
                    json!([record])
                }
            } else {
                plausible(&field)
            };
            inputs.insert(field.name.clone(), value);
        }
        // Conditional questions were answered too; drop those this application is not asked, once.
        let mut app_json = json!({"inputs": inputs});
        let app: ApplicationJson = serde_json::from_value(app_json.clone()).unwrap();
        if let Err(e) = reg.facts(&app, &mut FacilityTable::open()) {
            for err in e.errors.iter().filter(|e| e.message.starts_with("not asked")) {
                let (parent, key) = err.pointer.rsplit_once('/').unwrap();
                app_json
                    .pointer_mut(parent)
                    .unwrap()
                    .as_object_mut()
                    .unwrap()
                    .remove(key);
            }
        }
        let app: ApplicationJson = serde_json::from_value(app_json).unwrap();
        let facts = reg
            .facts(&app, &mut FacilityTable::open())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        reg.evaluate(&facts).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

fn bologna_app(protocol: u32, work: usize, isee: Option<u32>, born_day: u32, late: bool) -> String {
    let works = ["employed", "occasional", "student", "none"];
    let parent = |w: &str| {
        if w == "employed" || w == "occasional" {
            json!({"work": w, "shift_work": false, "far_workplace": false, "severe_disability": false})
        } else {
            json!({"work": w, "severe_disability": false})
        }
    };
    let born = jiff::civil::Date::new(2024, 1, 1)
        .unwrap()
        .checked_add(jiff::Span::new().days(i64::from(born_day)))
        .unwrap();
    json!({
        "protocol": format!("2026/{protocol}"),
        "submitted_at": if late { "2026-05-01T10:00:00+02:00" } else { "2026-03-01T10:00:00+01:00" },
        "inputs": {
            "residence": "resident", "vaccinated": true, "child_birth_date": born.to_string(),
            "child_disability": false, "social_services": false, "family_situation": "two_parents",
            "parents": [parent(works[work % 4]), parent(works[(work / 4) % 4])],
            "disabled_siblings": 0, "invalid_cohabitants": 0, "twins": 0, "other_children_0_5": 0,
            "isee": isee.map(|v| format!("{v}.00")),
        }
    })
    .to_string()
}

proptest! {
    #[test]
    fn ordering_is_a_total_order_independent_of_input_order(
        apps in prop::collection::vec((0usize..16, prop::option::of(0u32..70_000), 0u32..500, any::<bool>()), 2..12),
        seed in "[a-z]{0,8}",
    ) {
        let reg = load("bologna-nidi.toml");
        let texts: Vec<String> = apps
            .iter()
            .enumerate()
            .map(|(i, (w, isee, born, late))| bologna_app(u32::try_from(i + 1).unwrap(), *w, *isee, *born, *late))
            .collect();
        let evs: Vec<_> = texts.iter().map(|t| crate::helpers::evaluation(&reg, t)).collect();
        let st = |i: usize| graduatorie_rules::Standing::of(&evs[i].0, evs[i].1);
        for i in 0..evs.len() {
            prop_assert_eq!(reg.compare(&st(i), &st(i), Some(&seed)), std::cmp::Ordering::Equal);
            for j in 0..evs.len() {
                if i != j {
                    let ab = reg.compare(&st(i), &st(j), Some(&seed));
                    prop_assert_eq!(ab, reg.compare(&st(j), &st(i), Some(&seed)).reverse());
                    prop_assert_ne!(ab, std::cmp::Ordering::Equal, "distinct protocols never tie");
                }
            }
        }
        let forward = crate::helpers::ranked(&reg, &texts, Some(&seed));
        let mut reversed_input = texts.clone();
        reversed_input.reverse();
        prop_assert_eq!(forward, crate::helpers::ranked(&reg, &reversed_input, Some(&seed)));
    }
}
