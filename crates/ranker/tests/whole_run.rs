//! One whole run (`run::run`) on random calls: seats never exceed capacity, no family waits while a
//! facility it still wants has a free seat in its section, a later round never takes an accepted seat
//! away, and the same inputs give the same outcome.

use graduatorie_ranker::{Answer, RunInput, RunOutcome, Status, deferred_acceptance, run};
use graduatorie_rules::{ApplicationJson, FacilityTable, Facts, Regulation};
use proptest::prelude::*;
use serde_json::json;

use crate::common::preferences;

const RULES: &str = r#"
[regulation]
id = "run"
title = "Prova"
service = "nido"
school_year = "2026/2027"
authority = "Comune di Prova"
source = "Delibera n. 1"
reference_date = 2026-12-31

[inputs.age]
type = "integer"
label = "Età in mesi"
min = 0
max = 40

[inputs.siblings]
type = "integer"
label = "Fratelli"
min = 0
max = 3

[sections.small]
label = "Piccoli"
when = "age <= 20"

[sections.big]
label = "Grandi"
when = "age > 20 and age <= 36"

[criteria.siblings]
label = "Fratelli"
points = "siblings"

[[tie_break]]
by = "draw"

[allocation]
refusal = "allowed"
refusals_allowed = 1
no_answer = "refuse"
"#;

const FACILITIES: [&str; 4] = ["A", "B", "C", "D"];

fn facts(reg: &Regulation, apps: &[(u8, u8, Vec<u32>)]) -> Vec<Facts> {
    let mut table = FacilityTable::closed(FACILITIES);
    apps.iter()
        .enumerate()
        .map(|(i, (age, siblings, prefs))| {
            let app: ApplicationJson = serde_json::from_value(json!({
                "protocol": format!("2026/{:06}", i + 1),
                "preferences": prefs.iter().map(|&f| FACILITIES[f as usize]).collect::<Vec<_>>(),
                "inputs": {"age": age, "siblings": siblings},
            }))
            .unwrap();
            reg.facts(&app, &mut table).unwrap()
        })
        .collect()
}

fn outcome(
    reg: &Regulation,
    facts: &[Facts],
    seats: &[Vec<u32>],
    answers: &[Vec<Option<Answer>>],
) -> RunOutcome {
    run(RunInput {
        regulation: reg,
        facts: &graduatorie_rules::FactsBatch::from_facts(facts),
        seats,
        seed: Some("s"),
        answers,
        joined: &[],
        family: &[],
    })
    .unwrap()
}

/// The round's random answers, kept only for the families with a pending offer (only they may answer).
fn answers_to_offers(previous: &RunOutcome, round: &[Option<Answer>]) -> Vec<Option<Answer>> {
    (0..previous.allocation.placed.len())
        .map(|i| match previous.status(i) {
            Status::Offered(_) => round.get(i).copied().flatten(),
            _ => None,
        })
        .collect()
}

fn answer() -> impl Strategy<Value = Option<Answer>> {
    prop_oneof![
        Just(Some(Answer::Accepted)),
        Just(Some(Answer::Refused)),
        Just(Some(Answer::NoAnswer)),
        Just(None)
    ]
}

fn check_capacity_and_waste(
    out: &RunOutcome,
    facts: &[Facts],
    seats: &[Vec<u32>],
) -> Result<(), TestCaseError> {
    let mut used = vec![vec![0u32; 2]; seats.len()];
    for i in 0..facts.len() {
        if let Status::Accepted(f) | Status::Offered(f) = out.status(i) {
            let s = usize::from(out.scores.section[i].unwrap());
            used[f as usize][s] += 1;
        }
    }
    for (f, row) in used.iter().enumerate() {
        for (s, &n) in row.iter().enumerate() {
            prop_assert!(
                n <= seats[f][s],
                "facility {f} section {s}: {n} placed for {} seats",
                seats[f][s]
            );
        }
    }
    for i in 0..facts.len() {
        if out.status(i) != Status::Waiting {
            continue;
        }
        let s = usize::from(out.scores.section[i].unwrap());
        for &f in out.state.instance.preferences(i) {
            prop_assert!(
                used[f as usize][s] == seats[f as usize][s],
                "application {i} waits while facility {f} has a free seat in its section"
            );
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn a_whole_run_respects_capacity_wastes_no_seat_and_keeps_accepted_seats(
        apps in prop::collection::vec((0u8..=36, 0u8..=3, preferences(4)), 1..40),
        seats in prop::collection::vec(prop::collection::vec(0u32..3, 2), 4),
        rounds in prop::collection::vec(prop::collection::vec(answer(), 40), 0..3),
    ) {
        let reg = graduatorie_rules::compile_str("run.toml", RULES).unwrap();
        let facts = facts(&reg, &apps);
        let n = facts.len();
        let mut answers: Vec<Vec<Option<Answer>>> = Vec::new();
        let mut previous = outcome(&reg, &facts, &seats, &answers);
        check_capacity_and_waste(&previous, &facts, &seats)?;
        for round in rounds {
            // Only families with a pending offer may answer.
            answers.push(answers_to_offers(&previous, &round));
            let next = outcome(&reg, &facts, &seats, &answers);
            check_capacity_and_waste(&next, &facts, &seats)?;
            for i in 0..n {
                if let Status::Accepted(f) = previous.status(i) {
                    prop_assert_eq!(next.status(i), Status::Accepted(f), "application {} lost its seat", i);
                }
                if let (Status::Offered(f), Some(Answer::Accepted)) = (previous.status(i), answers.last().unwrap()[i]) {
                    prop_assert_eq!(next.status(i), Status::Accepted(f));
                }
            }
            // Determinism: the same inputs, the same outcome.
            let again = outcome(&reg, &facts, &seats, &answers);
            prop_assert_eq!(&again.allocation, &next.allocation);
            prop_assert_eq!(&again.lists, &next.lists);
            previous = next;
        }
    }
}

proptest! {
    #[test]
    fn reserved_caps_hold_over_rounds(
        apps in prop::collection::vec((0u8..=36, 0u8..=3, preferences(4)), 1..40),
        seats in prop::collection::vec(prop::collection::vec(0u32..4, 2), 4),
        rounds in prop::collection::vec(prop::collection::vec(answer(), 40), 0..3),
    ) {
        // The group: families with two or more siblings; at most half of each facility's seats in a
        // section (rounded down), and one seat reserved for them.
        let rules = format!("{RULES}\n[allocation.reserve]\nwhen = \"siblings >= 2\"\nseats = 1\ncap = \"50%\"\n");
        let reg = graduatorie_rules::compile_str("run.toml", &rules).unwrap();
        let facts = facts(&reg, &apps);
        let n = facts.len();
        let in_group = |i: usize| apps[i].1 >= 2;
        let mut answers: Vec<Vec<Option<Answer>>> = Vec::new();
        let mut previous = outcome(&reg, &facts, &seats, &answers);
        for step in 0..=rounds.len() {
            let out = &previous;
            let mut used = vec![vec![0u32; 2]; 4];
            let mut group = vec![vec![0u32; 2]; 4];
            for i in 0..n {
                if let Status::Accepted(f) | Status::Offered(f) = out.status(i) {
                    let s = usize::from(out.scores.section[i].unwrap());
                    used[f as usize][s] += 1;
                    group[f as usize][s] += u32::from(in_group(i));
                }
            }
            for f in 0..4 {
                for s in 0..2 {
                    prop_assert!(used[f][s] <= seats[f][s]);
                    prop_assert!(group[f][s] <= seats[f][s] / 2, "cap exceeded at {f}/{s}: {} of {}", group[f][s], seats[f][s]);
                }
            }
            let Some(round) = rounds.get(step) else { break };
            answers.push(answers_to_offers(&previous, round));
            let next = outcome(&reg, &facts, &seats, &answers);
            for i in 0..n {
                if let Status::Accepted(f) = previous.status(i) {
                    prop_assert_eq!(next.status(i), Status::Accepted(f));
                }
            }
            previous = next;
        }
    }
}

proptest! {
    /// Deferred acceptance on lists per age section: every facility ranks the families the same way,
    /// so the run takes serial dictatorship's path (`docs/allocation.md`, "One common priority"). Its
    /// first round must be what the proposals themselves give, and every round the global-order one.
    /// Ages above 36 have no section and may not be placed anywhere.
    #[test]
    fn deferred_acceptance_with_a_common_priority_gives_the_global_order_outcome(
        apps in prop::collection::vec((0u8..=40, 0u8..=3, preferences(4)), 1..40),
        seats in prop::collection::vec(prop::collection::vec(0u32..3, 2), 4),
        rounds in prop::collection::vec(prop::collection::vec(answer(), 40), 0..3),
    ) {
        let proposing = RULES.replace("[allocation]\n", "[allocation]\nmechanism = \"deferred_acceptance\"\n");
        prop_assert_ne!(&proposing, RULES);
        let da = graduatorie_rules::compile_str("run.toml", &proposing).unwrap();
        let go = graduatorie_rules::compile_str("run.toml", RULES).unwrap();
        let (da_facts, go_facts) = (facts(&da, &apps), facts(&go, &apps));
        let mut answers: Vec<Vec<Option<Answer>>> = Vec::new();
        let mut previous = outcome(&da, &da_facts, &seats, &answers);
        let priority = |_: u32, a: u32| {
            previous.positions.of_application(a as usize).first().map_or(u32::MAX, |&(_, p)| p)
        };
        let may_be_placed = |a: u32| {
            let a = a as usize;
            !previous.scores.excluded[a] && previous.scores.section[a].is_some()
        };
        let proposals = deferred_acceptance(&previous.state.instance, priority, may_be_placed);
        prop_assert_eq!(&previous.allocation, &proposals);
        prop_assert_eq!(&previous.allocation, &outcome(&go, &go_facts, &seats, &answers).allocation);
        for round in rounds {
            answers.push(answers_to_offers(&previous, &round));
            let next = outcome(&da, &da_facts, &seats, &answers);
            let global = outcome(&go, &go_facts, &seats, &answers);
            prop_assert_eq!(&next.allocation, &global.allocation);
            prop_assert_eq!(&next.state, &global.state);
            previous = next;
        }
    }
}
