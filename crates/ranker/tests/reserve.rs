//! Reserved seats and quotas for a group (social-services referrals), inside deferred acceptance.

use graduatorie_ranker::{Applicant, Instance, Reservation, deferred_acceptance, deferred_acceptance_with};
use proptest::prelude::*;

use crate::common::{at, every_report, preferences};

const REFERRED: u16 = 1;

fn all_want_a(n: usize) -> Instance {
    let applicants: Vec<Applicant> = (0..n)
        .map(|_| Applicant {
            section: 0,
            preferences: vec![0],
        })
        .collect();
    Instance::new(vec![vec![3]], &applicants)
}

/// Ranking by index: applicant 0 first.
fn by_index(_: u32, a: u32) -> u32 {
    a
}

#[test]
fn a_reserved_seat_goes_to_the_group_even_when_ranked_last() {
    // 3 seats, 1 reserved for referrals. Applicants 0–3 are not referred, 4 is (ranked last).
    // Reserved seat → 4; the other 2 seats → 0 and 1; 2 and 3 wait.
    let r = [Reservation {
        facility: 0,
        section: 0,
        group: REFERRED,
        reserved: 1,
        cap: None,
    }];
    let a = deferred_acceptance_with(
        &all_want_a(5),
        &r,
        |a| (a == 4).then_some(REFERRED),
        by_index,
        |_| true,
    );
    assert_eq!(at(&a), vec![Some(0), Some(0), None, None, Some(0)]);
}

#[test]
fn an_unused_reserved_seat_reverts_to_everybody() {
    // Same, but nobody is referred: the reserved seat goes to 2.
    let r = [Reservation {
        facility: 0,
        section: 0,
        group: REFERRED,
        reserved: 1,
        cap: None,
    }];
    let a = deferred_acceptance_with(&all_want_a(5), &r, |_| None, by_index, |_| true);
    assert_eq!(at(&a), vec![Some(0), Some(0), Some(0), None, None]);
    assert_eq!(a, deferred_acceptance(&all_want_a(5), by_index, |_| true));
}

#[test]
fn a_cap_limits_the_group() {
    // 3 seats, at most 1 for referrals. 0, 1, 2 are referred, 3 and 4 not: 0 (referred, 1 of 1), then
    // 1 and 2 are over the cap, 3 and 4 take the other seats.
    let r = [Reservation {
        facility: 0,
        section: 0,
        group: REFERRED,
        reserved: 0,
        cap: Some(1),
    }];
    let a = deferred_acceptance_with(
        &all_want_a(5),
        &r,
        |a| (a <= 2).then_some(REFERRED),
        by_index,
        |_| true,
    );
    assert_eq!(at(&a), vec![Some(0), None, None, Some(0), Some(0)]);
}

#[test]
fn a_referred_child_rejected_by_a_full_reserve_tries_its_next_choice() {
    // A: 2 seats, 1 reserved (cap 1). B: 1 seat. Ranking 0 < 1 < 2 < 3. 2 and 3 are referred.
    // A takes 2 (reserved, best referred) and 0 (open, best left); 3 is over the cap at A → B.
    // 1 wanted [A] only: waits.
    let inst = Instance::new(
        vec![vec![2], vec![1]],
        &[
            Applicant {
                section: 0,
                preferences: vec![0],
            },
            Applicant {
                section: 0,
                preferences: vec![0],
            },
            Applicant {
                section: 0,
                preferences: vec![0, 1],
            },
            Applicant {
                section: 0,
                preferences: vec![0, 1],
            },
        ],
    );
    let r = [Reservation {
        facility: 0,
        section: 0,
        group: REFERRED,
        reserved: 1,
        cap: Some(1),
    }];
    let a = deferred_acceptance_with(&inst, &r, |a| (a >= 2).then_some(REFERRED), by_index, |_| true);
    assert_eq!(at(&a), vec![Some(0), None, Some(0), Some(1)]);
}

/// An instance, per-facility priorities, who is in the group, and (facility, reserved, cap) rules.
type Case = (Instance, Vec<Vec<u32>>, Vec<bool>, Vec<(u32, u32, Option<u32>)>);

fn instance() -> impl Strategy<Value = Case> {
    (1usize..4, 1usize..10).prop_flat_map(|(nf, na)| {
        let seats = prop::collection::vec(prop::collection::vec(0u32..4, 1), nf);
        let apps = prop::collection::vec(preferences(nf), na);
        let prio = prop::collection::vec(Just((0..na as u32).collect::<Vec<u32>>()).prop_shuffle(), nf);
        let groups = prop::collection::vec(any::<bool>(), na);
        let rules = prop::collection::vec(
            (0..u32::try_from(nf).unwrap(), 0u32..3, prop::option::of(0u32..3)),
            0..3,
        );
        (seats, apps, prio, groups, rules).prop_map(|(seats, apps, prio, groups, rules)| {
            let applicants: Vec<Applicant> = apps
                .into_iter()
                .map(|preferences| Applicant {
                    section: 0,
                    preferences,
                })
                .collect();
            (Instance::new(seats, &applicants), prio, groups, rules)
        })
    })
}

fn reservations(rules: &[(u32, u32, Option<u32>)]) -> Vec<Reservation> {
    let mut out: Vec<Reservation> = Vec::new();
    for &(f, reserved, cap) in rules {
        if out.iter().all(|r| r.facility != f) {
            out.push(Reservation {
                facility: f,
                section: 0,
                group: REFERRED,
                reserved,
                cap,
            });
        }
    }
    out
}

proptest! {
    #[test]
    fn reserves_and_caps_hold_and_the_result_is_stable((inst, prio, groups, rules) in instance()) {
        let res = reservations(&rules);
        let group_of = |a: u32| groups[a as usize].then_some(REFERRED);
        let priority = |f: u32, a: u32| prio[f as usize][a as usize];
        let alloc = deferred_acceptance_with(&inst, &res, group_of, priority, |_| true);
        for (f, row) in inst.seats.iter().enumerate() {
            let f = u32::try_from(f).unwrap();
            let holders: Vec<u32> = (0..u32::try_from(inst.len()).unwrap())
                .filter(|&a| alloc.placed[a as usize].is_some_and(|p| p.facility == f)).collect();
            prop_assert!(holders.len() <= row[0] as usize, "capacity");
            let rule = res.iter().find(|r| r.facility == f);
            let in_group = holders.iter().filter(|&&a| groups[a as usize]).count();
            if let Some(cap) = rule.and_then(|r| r.cap) {
                prop_assert!(in_group <= cap as usize, "cap");
            }
            // Stability under the choice rule: for anyone preferring f to their outcome, f would not take
            // them over its current holders.
            for (a, applicant) in inst.applicants().enumerate() {
                let limit = alloc.placed[a].map_or(applicant.preferences.len(), |p| p.choice as usize);
                if !applicant.preferences[..limit].contains(&f) { continue; }
                let a = u32::try_from(a).unwrap();
                let mut candidates: Vec<(u32, u32)> = holders.iter().map(|&h| (priority(f, h), h)).collect();
                candidates.push((priority(f, a), a));
                candidates.sort();
                // The facility's choice among holders + a, as documented.
                let seats = row[0] as usize;
                let cap = rule.and_then(|r| r.cap).map_or(usize::MAX, |c| c as usize);
                let floor = rule.map_or(0, |r| r.reserved as usize).min(cap).min(seats);
                let mut chosen = vec![false; candidates.len()];
                let (mut taken, mut g) = (0, 0);
                for (i, &(_, x)) in candidates.iter().enumerate() {
                    if g < floor && groups[x as usize] { chosen[i] = true; taken += 1; g += 1; }
                }
                for (i, &(_, x)) in candidates.iter().enumerate() {
                    if taken == seats { break; }
                    if chosen[i] || (groups[x as usize] && g >= cap) { continue; }
                    chosen[i] = true; taken += 1; if groups[x as usize] { g += 1; }
                }
                let a_chosen = candidates.iter().zip(&chosen).any(|(&(_, x), &c)| x == a && c);
                prop_assert!(!a_chosen, "applicant {a} and facility {f} block");
            }
        }
    }

    #[test]
    fn nobody_gains_by_misreporting_with_reservations((inst, prio, groups, rules) in instance(), who in 0usize..10) {
        let i = who % inst.len();
        let res = reservations(&rules);
        let group_of = |a: u32| groups[a as usize].then_some(REFERRED);
        let priority = |f: u32, a: u32| prio[f as usize][a as usize];
        let truth = inst.preferences(i).to_vec();
        let rank = |p: Option<u32>| p.map_or(usize::MAX, |f| truth.iter().position(|&x| x == f).unwrap_or(usize::MAX));
        let honest = rank(at(&deferred_acceptance_with(&inst, &res, group_of, priority, |_| true))[i]);
        let nf = u32::try_from(inst.seats.len()).unwrap();
        let reports = every_report(nf, nf);
        for report in reports {
            let mut applicants = inst.to_applicants();
            applicants[i].preferences = report;
            let lied = Instance::new(inst.seats.clone(), &applicants);
            let got = rank(at(&deferred_acceptance_with(&lied, &res, group_of, priority, |_| true))[i]);
            prop_assert!(got >= honest, "applicant {i} gains by misreporting");
        }
    }
}
