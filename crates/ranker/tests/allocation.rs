//! Seat allocation: worked examples by hand, and the properties each mechanism promises.

use graduatorie_ranker::{
    Allocation, Applicant, Instance, Placement, deferred_acceptance, first_choice_first, serial_dictatorship,
};
use proptest::prelude::*;

use crate::common::{at, every_report, preferences};

fn app(section: u16, prefs: &[u32]) -> Applicant {
    Applicant {
        section,
        preferences: prefs.to_vec(),
    }
}

/// Priority by position in one common ranking: `rank[applicant]`, lower first.
fn global(rank: &[u32]) -> impl Fn(u32, u32) -> u32 + '_ {
    move |_, a| rank[a as usize]
}

#[test]
fn serial_dictatorship_by_hand() {
    // Facility 0 has 1 seat, facility 1 has 2 (one section). Ranking: 2, 0, 1, 3.
    // 2 wants [0, 1] → takes 0 (0 is now full). 0 wants [0, 1] → 0 full → takes 1.
    // 1 wants [0] only → waits. 3 wants [1, 0] → takes the last seat of 1.
    let inst = Instance::new(
        vec![vec![1], vec![2]],
        &[app(0, &[0, 1]), app(0, &[0]), app(0, &[0, 1]), app(0, &[1, 0])],
    );
    let a = serial_dictatorship(&inst, &[2, 0, 1, 3]);
    assert_eq!(at(&a), vec![Some(1), None, Some(0), Some(1)]);
    assert_eq!(
        a.placed[0],
        Some(Placement {
            facility: 1,
            choice: 1
        })
    );
}

#[test]
fn sections_have_their_own_seats() {
    // Facility 0: 1 seat for lattanti (section 0), 1 for grandi (section 1). Three lattanti apply.
    let inst = Instance::new(
        vec![vec![1, 1]],
        &[app(0, &[0]), app(0, &[0]), app(1, &[0]), app(0, &[0])],
    );
    let a = serial_dictatorship(&inst, &[0, 1, 2, 3]);
    // Applicant 0 takes the lattanti seat; 1 and 3 wait although a grandi seat is taken by 2 only.
    assert_eq!(at(&a), vec![Some(0), None, Some(0), None]);
}

#[test]
fn deferred_acceptance_by_hand_with_sibling_priority() {
    // Two facilities with one seat each. Common ranking 0 < 1 < 2, but at facility 1 applicant 2 has a
    // sibling and comes first. Preferences: 0: [1, 0]; 1: [1, 0]; 2: [1].
    // Round 1: everyone proposes to 1; 1 keeps 2 (sibling), rejects 0 and 1.
    // 0 and 1 propose to 0; 0 keeps 0 (better ranked), rejects 1, who has nothing left.
    let inst = Instance::new(
        vec![vec![1], vec![1]],
        &[app(0, &[1, 0]), app(0, &[1, 0]), app(0, &[1])],
    );
    let priority = |f: u32, a: u32| if f == 1 && a == 2 { 0 } else { a + 1 };
    let a = deferred_acceptance(&inst, priority, |_| true);
    assert_eq!(at(&a), vec![Some(0), None, Some(1)]);
}

#[test]
fn first_choice_first_rewards_misreporting() {
    // Facility 0 (popular) and 1, one seat each; ranking 0 < 1 < 2.
    // True preferences: 0: [0, 1]; 1: [0, 1]; 2: [1, 0].
    let truthful = Instance::new(
        vec![vec![1], vec![1]],
        &[app(0, &[0, 1]), app(0, &[0, 1]), app(0, &[1, 0])],
    );
    let rank = [0, 1, 2];
    // Round 1: 0 and 1 ask for 0 → 0 gets it; 2 asks for 1 → gets it. Applicant 1 gets nothing.
    assert_eq!(
        at(&first_choice_first(&truthful, global(&rank), |_| true)),
        vec![Some(0), None, Some(1)]
    );
    // If 1 lies and puts facility 1 first, round 1 gives 1 to applicant 1 (ranked before 2).
    let lying = Instance::new(
        vec![vec![1], vec![1]],
        &[app(0, &[0, 1]), app(0, &[1, 0]), app(0, &[1, 0])],
    );
    assert_eq!(
        at(&first_choice_first(&lying, global(&rank), |_| true)),
        vec![Some(0), Some(1), None]
    );
    // With deferred acceptance, lying gains nothing: truthfully 1 already gets facility 1
    // (2 is displaced by 1, who ranks better).
    assert_eq!(
        at(&deferred_acceptance(&truthful, global(&rank), |_| true)),
        vec![Some(0), Some(1), None]
    );
}

#[test]
fn excluded_applicants_are_never_placed() {
    let inst = Instance::new(vec![vec![5]], &[app(0, &[0]), app(0, &[0])]);
    let rank = [0, 1];
    assert_eq!(
        at(&deferred_acceptance(&inst, global(&rank), |a| a != 0)),
        vec![None, Some(0)]
    );
    assert_eq!(
        at(&first_choice_first(&inst, global(&rank), |a| a != 0)),
        vec![None, Some(0)]
    );
    assert_eq!(at(&serial_dictatorship(&inst, &[1])), vec![None, Some(0)]);
}

/// A random instance: up to 4 facilities × 2 sections, up to 9 applicants, distinct priorities.
fn instance() -> impl Strategy<Value = (Instance, Vec<u32>, Vec<Vec<u32>>)> {
    (1usize..5, 1usize..3, 1usize..10).prop_flat_map(|(nf, ns, na)| {
        let seats = prop::collection::vec(prop::collection::vec(0u32..3, ns), nf);
        let apps = prop::collection::vec((0..u16::try_from(ns).unwrap(), preferences(nf)), na);
        let order = Just((0..u32::try_from(na).unwrap()).collect::<Vec<u32>>()).prop_shuffle();
        let per_facility =
            prop::collection::vec(Just((0..na as u32).collect::<Vec<u32>>()).prop_shuffle(), nf);
        (seats, apps, order, per_facility).prop_map(|(seats, apps, order, per_facility)| {
            let applicants: Vec<Applicant> = apps
                .into_iter()
                .map(|(section, preferences)| Applicant { section, preferences })
                .collect();
            (Instance::new(seats, &applicants), order, per_facility)
        })
    })
}

fn check_feasible(inst: &Instance, a: &Allocation) -> Result<(), TestCaseError> {
    let mut used = std::collections::HashMap::new();
    for (i, p) in a.placed.iter().enumerate() {
        let Some(p) = p else { continue };
        let applicant = inst.applicant(i).unwrap();
        prop_assert_eq!(
            applicant.preferences[p.choice as usize],
            p.facility,
            "placement matches its choice"
        );
        *used.entry((p.facility, applicant.section)).or_insert(0u32) += 1;
    }
    for ((f, s), n) in used {
        prop_assert!(
            n <= inst.seats[f as usize][usize::from(s)],
            "capacity exceeded at {f}/{s}"
        );
    }
    Ok(())
}

/// Nobody waits for, or sits below, a preferred facility that still has a seat in its section.
fn check_non_wasteful(
    inst: &Instance,
    a: &Allocation,
    eligible: impl Fn(u32) -> bool,
) -> Result<(), TestCaseError> {
    let mut used = std::collections::HashMap::new();
    for (i, p) in a.placed.iter().enumerate() {
        if let Some(p) = p {
            *used
                .entry((p.facility, inst.applicant(i).unwrap().section))
                .or_insert(0u32) += 1;
        }
    }
    for (i, applicant) in inst.applicants().enumerate() {
        if !eligible(u32::try_from(i).unwrap()) {
            continue;
        }
        let limit = a.placed[i].map_or(applicant.preferences.len(), |p| p.choice as usize);
        for &f in &applicant.preferences[..limit] {
            let seats = inst.seats[f as usize][usize::from(applicant.section)];
            let taken = used.get(&(f, applicant.section)).copied().unwrap_or(0);
            prop_assert!(taken >= seats, "applicant {i} could have had facility {f}");
        }
    }
    Ok(())
}

fn outcome_rank(preferences: &[u32], placed: Option<Placement>) -> usize {
    placed.map_or(usize::MAX, |p| {
        preferences
            .iter()
            .position(|&f| f == p.facility)
            .unwrap_or(usize::MAX)
    })
}

proptest! {
    #[test]
    fn every_mechanism_is_feasible_and_non_wasteful((inst, order, per_facility) in instance()) {
        let rank: Vec<u32> = { let mut r = vec![0; order.len()]; for (pos, &a) in order.iter().enumerate() { r[a as usize] = u32::try_from(pos).unwrap(); } r };
        let sd = serial_dictatorship(&inst, &order);
        let da = deferred_acceptance(&inst, |f, a| per_facility[f as usize][a as usize], |_| true);
        let fcf = first_choice_first(&inst, global(&rank), |_| true);
        for a in [&sd, &da, &fcf] {
            check_feasible(&inst, a)?;
            check_non_wasteful(&inst, a, |_| true)?;
        }
    }

    #[test]
    fn deferred_acceptance_is_stable((inst, _order, per_facility) in instance()) {
        let prio = |f: u32, a: u32| per_facility[f as usize][a as usize];
        let da = deferred_acceptance(&inst, prio, |_| true);
        // No blocking pair: an applicant preferring facility f to its outcome, where f has someone of its
        // section with worse priority (f full, since non-wastefulness is checked above).
        for (i, applicant) in inst.applicants().enumerate() {
            let i32_ = u32::try_from(i).unwrap();
            let limit = da.placed[i].map_or(applicant.preferences.len(), |p| p.choice as usize);
            for &f in &applicant.preferences[..limit] {
                for (j, other) in inst.applicants().enumerate() {
                    let held_there = da.placed[j].is_some_and(|p| p.facility == f) && other.section == applicant.section;
                    prop_assert!(!(held_there && prio(f, i32_) < prio(f, u32::try_from(j).unwrap())),
                        "applicant {i} and facility {f} block (holding {j})");
                }
            }
        }
    }

    #[test]
    fn with_one_common_order_deferred_acceptance_equals_serial_dictatorship((inst, order, _) in instance()) {
        let rank: Vec<u32> = { let mut r = vec![0; order.len()]; for (pos, &a) in order.iter().enumerate() { r[a as usize] = u32::try_from(pos).unwrap(); } r };
        prop_assert_eq!(serial_dictatorship(&inst, &order), deferred_acceptance(&inst, global(&rank), |_| true));
    }

    #[test]
    fn nobody_gains_by_misreporting_under_deferred_acceptance((inst, _order, per_facility) in instance(), who in 0usize..10) {
        prop_assume!(!inst.is_empty());
        let i = who % inst.len();
        let prio = |f: u32, a: u32| per_facility[f as usize][a as usize];
        let truth = inst.preferences(i);
        let honest = outcome_rank(truth, deferred_acceptance(&inst, prio, |_| true).placed[i]);
        // Every report: every ordered subset of up to 3 facilities (all lists on small instances).
        let nf = u32::try_from(inst.seats.len()).unwrap();
        let reports = every_report(nf, 3);
        for report in reports {
            let mut applicants = inst.to_applicants();
            applicants[i].preferences = report;
            let lied = Instance::new(inst.seats.clone(), &applicants);
            let got = outcome_rank(truth, deferred_acceptance(&lied, prio, |_| true).placed[i]);
            prop_assert!(got >= honest, "applicant {i} gains by misreporting");
        }
    }

    #[test]
    fn the_order_of_applicants_in_memory_changes_nothing((inst, _order, per_facility) in instance(), rot in 0usize..10) {
        // Rotate the applicants; priorities follow them, so each applicant must get the same seat.
        let n = inst.len();
        prop_assume!(n > 0);
        let shift = rot % n;
        let mut applicants = inst.to_applicants();
        applicants.rotate_left(shift);
        let moved = Instance::new(inst.seats.clone(), &applicants);
        let original = |k: u32| (k as usize + shift) % n;
        let base = deferred_acceptance(&inst, |f, a| per_facility[f as usize][a as usize], |_| true);
        let other = deferred_acceptance(&moved, |f, a| per_facility[f as usize][original(a)], |_| true);
        for k in 0..n {
            prop_assert_eq!(other.placed[k], base.placed[original(u32::try_from(k).unwrap())]);
        }
        let fcf = first_choice_first(&inst, |f, a| per_facility[f as usize][a as usize], |_| true);
        let fcf_moved = first_choice_first(&moved, |f, a| per_facility[f as usize][original(a)], |_| true);
        for k in 0..n {
            prop_assert_eq!(fcf_moved.placed[k], fcf.placed[original(u32::try_from(k).unwrap())]);
        }
    }
}
