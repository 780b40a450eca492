//! Rankings from real regulations, worked by hand.

use graduatorie_domain::ProtocolNumber;
use graduatorie_ranker::{Evaluated, ListKey, ListKind, rank};
use graduatorie_rules::{ApplicationJson, Evaluation, FacilityTable, Regulation};
use serde_json::{Value, json};

fn load(name: &str) -> Regulation {
    let path = format!("{}/../../config/rules/{name}", env!("CARGO_MANIFEST_DIR"));
    graduatorie_rules::load(&path, &mut |p| {
        std::fs::read_to_string(p).map_err(|e| e.to_string())
    })
    .unwrap()
}

fn evaluate(
    reg: &Regulation,
    apps: &[Value],
    table: &mut FacilityTable,
) -> (Vec<Evaluation>, Vec<Option<ProtocolNumber>>) {
    apps.iter()
        .map(|a| {
            let app: ApplicationJson = serde_json::from_value(a.clone()).unwrap();
            let facts = reg.facts(&app, table).unwrap_or_else(|e| panic!("{e}"));
            (reg.evaluate(&facts).unwrap(), facts.protocol)
        })
        .unzip()
}

/// The lists of one kind for evaluated applications.
fn make_lists(
    reg: &Regulation,
    evaluations: &[Evaluation],
    protocols: &[Option<ProtocolNumber>],
    seed: Option<&str>,
    kind: ListKind,
) -> Vec<graduatorie_ranker::RankedList> {
    rank(
        reg,
        Evaluated {
            evaluations,
            protocols,
            seed,
        },
        kind,
    )
    .unwrap()
}

fn bologna(protocol: &str, born: &str, residence: &str, works: &[&str]) -> Value {
    let parents: Vec<Value> = works
        .iter()
        .map(|w| {
            if *w == "employed" || *w == "occasional" {
                json!({"work": w, "shift_work": false, "far_workplace": false, "severe_disability": false})
            } else {
                json!({"work": w, "severe_disability": false})
            }
        })
        .collect();
    json!({"protocol": protocol, "submitted_at": "2026-03-02T09:00:00+01:00", "inputs": {
        "residence": residence, "vaccinated": true, "child_birth_date": born, "child_disability": false,
        "social_services": false, "family_situation": "two_parents", "parents": parents,
        "disabled_siblings": 0, "invalid_cohabitants": 0, "twins": 0, "other_children_0_5": 0, "isee": "20000.00"}})
}

#[test]
fn bologna_per_section_lists_leave_out_the_excluded() {
    let reg = load("bologna-nidi.toml");
    let apps = [
        // 0: piccoli (15 months), employed + employed = 40.
        bologna("2026/000001", "2025-05-10", "resident", &["employed", "employed"]),
        // 1: piccoli, employed + student = 40 → ties with 0 on total, work (40), ISEE; older child first:
        //    born 2025-04-01 is older than 2025-05-10 → 1 before 0.
        bologna("2026/000002", "2025-04-01", "resident", &["employed", "student"]),
        // 2: lattanti (born 2025-12-01: 9 months), one employed parent = 20.
        bologna("2026/000003", "2025-12-01", "resident", &["employed"]),
        // 3: not resident → excluded, in no list.
        bologna("2026/000004", "2025-05-10", "none", &["employed", "employed"]),
        // 4: piccoli, occasional = 10.
        bologna("2026/000005", "2025-03-15", "resident", &["occasional"]),
    ];
    let (evs, protocols) = evaluate(&reg, &apps, &mut FacilityTable::open());
    let lists = make_lists(&reg, &evs, &protocols, None, ListKind::PerSection);
    // Sections in file order: lattanti 0, piccoli 1.
    let got: Vec<_> = lists.iter().map(|l| (l.key, l.order.clone())).collect();
    assert_eq!(
        got,
        vec![
            (ListKey::Section(0), vec![2]),
            (ListKey::Section(1), vec![1, 0, 4])
        ]
    );
    let global = make_lists(&reg, &evs, &protocols, None, ListKind::Global);
    // Global: 40 (1), 40 (0), 20 (2), 10 (4).
    assert_eq!(global[0].order, vec![1, 0, 2, 4]);
}

fn bomporto(protocol: &str, born: &str, sibling: Option<&str>) -> Value {
    let mut inputs = json!({
        "child_birth_date": born, "parent_absent": "no", "multiple_birth": 1, "other_children": [],
        "invalid_members": [], "parents": [{"work": "student"}], "residence": "town"
    });
    if let Some(s) = sibling {
        inputs["sibling_facility"] = json!(s);
    }
    json!({"protocol": protocol, "preferences": ["n1", "n2"], "inputs": inputs})
}

#[test]
fn bomporto_per_facility_lists_use_each_facility_points() {
    let reg = load("bomporto-nidi.toml");
    let mut table = FacilityTable::closed(["n1", "n2"]);
    // X (born 2025-01-01) has a sibling at n2; Y (born 2024-01-01, older) has none. Both: student 3.
    // n1 is both families' first choice: 3 + 1 = 4 each; tie → older child first (R4): Y, X.
    // n2: X 3 + 4 (sibling) = 7, Y 3 → X, Y.
    let apps = [
        bomporto("2026/000010", "2025-01-01", Some("n2")),
        bomporto("2026/000011", "2024-01-01", None),
    ];
    let (evs, protocols) = evaluate(&reg, &apps, &mut table);
    let lists = make_lists(&reg, &evs, &protocols, None, ListKind::PerFacility);
    let got: Vec<_> = lists.iter().map(|l| (l.key, l.order.clone())).collect();
    assert_eq!(
        got,
        vec![
            (ListKey::Facility(0), vec![1, 0]),
            (ListKey::Facility(1), vec![0, 1])
        ]
    );
}

#[test]
fn the_order_of_applications_in_the_batch_changes_nothing() {
    let reg = load("bologna-nidi.toml");
    let works = [
        ["employed", "employed"],
        ["employed", "student"],
        ["occasional", "none"],
        ["student", "none"],
    ];
    let apps: Vec<Value> = (0..12)
        .map(|i| {
            bologna(
                &format!("2026/{:06}", i + 1),
                &format!("2025-0{}-1{}", 1 + i % 8, i % 9),
                "resident",
                &works[i % 4],
            )
        })
        .collect();
    let (evs, protocols) = evaluate(&reg, &apps, &mut FacilityTable::open());
    let base = make_lists(&reg, &evs, &protocols, Some("s"), ListKind::Global);
    let protocol_order = |order: &[u32], p: &[Option<ProtocolNumber>]| -> Vec<String> {
        order
            .iter()
            .map(|&i| p[i as usize].unwrap().to_string())
            .collect()
    };
    let mut reversed = apps.clone();
    reversed.reverse();
    let (evs2, protocols2) = evaluate(&reg, &reversed, &mut FacilityTable::open());
    let again = make_lists(&reg, &evs2, &protocols2, Some("s"), ListKind::Global);
    assert_eq!(
        protocol_order(&base[0].order, &protocols),
        protocol_order(&again[0].order, &protocols2)
    );
}
