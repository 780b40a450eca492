//! Siblings placed together under one order: worked by hand, and never split on random instances.

use graduatorie_ranker::{Applicant, Instance, serial_dictatorship, serial_dictatorship_together};
use proptest::prelude::*;

use crate::common::{at, preferences};

fn app(section: u16, prefs: &[u32]) -> Applicant {
    Applicant {
        section,
        preferences: prefs.to_vec(),
    }
}

#[test]
fn twins_take_the_first_facility_with_a_seat_for_both() {
    // Facility 0 has 1 seat, facility 1 has 2. Twins 0 and 1 (family 7) rank first and third; 2 is
    // second. Twin 0's turn: facility 0 has one seat for two twins → facility 1, both there. Then 2
    // takes facility 0. Without the rule, twin 0 would take facility 0, 2 facility 1, twin 1 facility 1.
    let inst = Instance::new(
        vec![vec![1], vec![2]],
        &[app(0, &[0, 1]), app(0, &[0, 1]), app(0, &[0, 1])],
    );
    let order = [0, 2, 1];
    assert_eq!(
        at(&serial_dictatorship_together(&inst, &order, &[7, 7, 2])),
        vec![Some(1), Some(1), Some(0)]
    );
    assert_eq!(
        at(&serial_dictatorship(&inst, &order)),
        vec![Some(0), Some(1), Some(1)]
    );
    // With one seat in each facility the twins cannot be placed together: neither is, and 2 takes
    // its first choice.
    let inst = Instance::new(vec![vec![1], vec![1]], &inst.to_applicants());
    assert_eq!(
        at(&serial_dictatorship_together(&inst, &order, &[7, 7, 2])),
        vec![None, None, Some(0)]
    );
}

proptest! {
    #[test]
    fn families_are_never_split_and_seats_never_exceeded(
        prefs in prop::collection::vec((0u16..2, preferences(3), 0u32..6), 1..14),
        seats in prop::collection::vec(prop::collection::vec(0u32..3, 2), 3),
    ) {
        let inst = Instance::new(seats.clone(), &prefs.iter().map(|(s, p, _)| app(*s, p)).collect::<Vec<_>>());
        let family: Vec<u32> = prefs.iter().map(|(_, _, f)| *f).collect();
        let order: Vec<u32> = (0..u32::try_from(prefs.len()).unwrap()).collect();
        let got = at(&serial_dictatorship_together(&inst, &order, &family));
        let mut used = vec![vec![0u32; 2]; 3];
        for (a, f) in got.iter().enumerate() {
            if let Some(f) = f {
                used[*f as usize][usize::from(prefs[a].0)] += 1;
                prop_assert!(prefs[a].1.contains(f), "placed where it did not ask");
            }
        }
        for f in 0..3 {
            for s in 0..2 {
                prop_assert!(used[f][s] <= seats[f][s]);
            }
        }
        for a in 0..got.len() {
            for b in 0..got.len() {
                // A member who asks for nothing (in later rounds: one holding a seat) does not take part.
                if family[a] == family[b] && !prefs[a].1.is_empty() && !prefs[b].1.is_empty() {
                    prop_assert_eq!(got[a], got[b], "siblings {} and {} split", a, b);
                }
            }
        }
        // Nobody linked: exactly serial dictatorship.
        let alone: Vec<u32> = order.clone();
        prop_assert_eq!(
            serial_dictatorship_together(&inst, &order, &alone),
            serial_dictatorship(&inst, &order)
        );
    }
}
