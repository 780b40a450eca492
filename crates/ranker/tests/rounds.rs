//! Waiting-list rounds: worked examples by hand, and what must hold after any sequence of answers.

use graduatorie_ranker::{
    Allocation, Answer, Applicant, Instance, Mechanism, RefusalPolicy, RoundPolicy, RoundState,
    deferred_acceptance, next_round, serial_dictatorship,
};
use proptest::prelude::*;

use crate::common::{at, preferences};

const A: u32 = 0;
const B: u32 = 1;

fn inst(prefs: &[&[u32]]) -> Instance {
    let applicants: Vec<Applicant> = prefs
        .iter()
        .map(|p| Applicant {
            section: 0,
            preferences: p.to_vec(),
        })
        .collect();
    Instance::new(vec![vec![1], vec![1]], &applicants)
}

/// Serial dictatorship in index order (applicant 0 ranks first).
fn sd(inst: &Instance, ok: &dyn Fn(u32) -> bool, _held: &[Option<u32>]) -> Allocation {
    let order: Vec<u32> = (0..u32::try_from(inst.len()).unwrap())
        .filter(|&a| ok(a))
        .collect();
    serial_dictatorship(inst, &order)
}

fn policy(refusal: RefusalPolicy) -> RoundPolicy {
    RoundPolicy {
        refusal,
        no_answer_accepts: true,
        move_up: false,
    }
}

#[test]
fn a_refusal_frees_the_seat_for_the_next_in_line() {
    // A and B have one seat each; ranking 0, 1, 2; everybody wants [A, B].
    // Round 1: 0 → A, 1 → B, 2 waits.
    let i = inst(&[&[A, B], &[A, B], &[A, B]]);
    let first = sd(&i, &|_| true, &[]);
    assert_eq!(at(&first), vec![Some(A), Some(B), None]);
    let answers = [Answer::Refused, Answer::Accepted, Answer::NoAnswer];
    // Losing only the facility: 0 still wants B, but B is kept by 1; A goes to 2.
    let (state, next) = next_round(
        &RoundState::start(i.clone()),
        &first,
        &answers,
        policy(RefusalPolicy::LoseFacility),
        &sd,
    );
    assert_eq!(at(&next), vec![None, Some(B), Some(A)]);
    assert_eq!(state.instance.preferences(0), [B]);
    assert!(state.active[0]);
    // Losing the application: 0 is out.
    let (state, next) = next_round(
        &RoundState::start(i.clone()),
        &first,
        &answers,
        policy(RefusalPolicy::LoseApplication),
        &sd,
    );
    assert_eq!(at(&next), vec![None, Some(B), Some(A)]);
    assert!(!state.active[0]);
    // One refusal allowed (Bologna): 0 keeps the application, loses A.
    let (state, _) = next_round(
        &RoundState::start(i.clone()),
        &first,
        &answers,
        policy(RefusalPolicy::Allowed(1)),
        &sd,
    );
    assert!(state.active[0]);
    // A was 0's first choice: refusing it cancels everything.
    let (state, _) = next_round(
        &RoundState::start(i),
        &first,
        &answers,
        policy(RefusalPolicy::FirstChoiceRefusalCancels),
        &sd,
    );
    assert!(!state.active[0]);
}

#[test]
fn no_answer_counts_as_the_regulation_says() {
    let i = inst(&[&[A, B], &[A, B], &[A, B]]);
    let first = sd(&i, &|_| true, &[]);
    let answers = [Answer::NoAnswer, Answer::Accepted, Answer::NoAnswer];
    // As acceptance: 0 keeps A; 2 still waits.
    let (_, next) = next_round(
        &RoundState::start(i.clone()),
        &first,
        &answers,
        policy(RefusalPolicy::LoseApplication),
        &sd,
    );
    assert_eq!(at(&next), vec![Some(A), Some(B), None]);
    // As refusal (losing the application): A goes to 2.
    let mut p = policy(RefusalPolicy::LoseApplication);
    p.no_answer_accepts = false;
    let (state, next) = next_round(&RoundState::start(i), &first, &answers, p, &sd);
    assert_eq!(at(&next), vec![None, Some(B), Some(A)]);
    assert!(!state.active[0]);
}

#[test]
fn moving_up_frees_a_seat_that_goes_down_the_list() {
    // Ranking 0, 1, 2. 0 wants [A]; 1 wants [A, B]; 2 wants [B].
    // Round 1: 0 → A; 1 → B; 2 waits. Then 0 refuses A, 1 accepts B.
    let i = inst(&[&[A], &[A, B], &[B]]);
    let first = sd(&i, &|_| true, &[]);
    assert_eq!(at(&first), vec![Some(A), Some(B), None]);
    let answers = [Answer::Refused, Answer::Accepted, Answer::NoAnswer];
    // With moving up: 1 moves to A (preferred to B), and B goes to 2.
    let mut p = policy(RefusalPolicy::LoseFacility);
    p.move_up = true;
    let (state, next) = next_round(&RoundState::start(i.clone()), &first, &answers, p, &sd);
    assert_eq!(at(&next), vec![None, Some(A), Some(B)]);
    assert_eq!(state.accepted[1], Some(A));
    // Without: 1 keeps B, and A has nobody left who wants it.
    let (_, next) = next_round(
        &RoundState::start(i),
        &first,
        &answers,
        policy(RefusalPolicy::LoseFacility),
        &sd,
    );
    assert_eq!(at(&next), vec![None, Some(B), None]);
}

fn instance() -> impl Strategy<Value = Instance> {
    (1usize..4, 1usize..8).prop_flat_map(|(nf, na)| {
        let seats = prop::collection::vec(prop::collection::vec(0u32..3, 1), nf);
        let apps = prop::collection::vec(preferences(nf), na);
        (seats, apps).prop_map(|(seats, apps)| {
            let applicants: Vec<Applicant> = apps
                .into_iter()
                .map(|preferences| Applicant {
                    section: 0,
                    preferences,
                })
                .collect();
            Instance::new(seats, &applicants)
        })
    })
}

fn answer() -> impl Strategy<Value = Answer> {
    prop::sample::select(vec![Answer::Accepted, Answer::Refused, Answer::NoAnswer])
}

proptest! {
    #[test]
    fn rounds_never_take_an_accepted_seat_away(
        start in instance(),
        rounds in prop::collection::vec(prop::collection::vec(answer(), 8), 1..4),
        refusal in prop::sample::select(vec![RefusalPolicy::LoseFacility, RefusalPolicy::LoseApplication,
            RefusalPolicy::Allowed(1), RefusalPolicy::FirstChoiceRefusalCancels]),
        no_answer_accepts in any::<bool>(),
        move_up in any::<bool>(),
        use_da in any::<bool>(),
    ) {
        let p = RoundPolicy { refusal, no_answer_accepts, move_up };
        let da = |i: &Instance, ok: &dyn Fn(u32) -> bool, _: &[Option<u32>]| deferred_acceptance(i, |_, a| a, ok);
        let mechanism: Mechanism<'_> = if use_da { &da } else { &sd };
        let original = start.clone();
        let mut state = RoundState::start(start);
        let mut offers = mechanism(&state.instance, &|_| true, &[]);
        for answers in rounds {
            let before = state.accepted.clone();
            let (next_state, next_offers) = next_round(&state, &offers, &answers, p, mechanism);
            // Capacities.
            let mut used = vec![0u32; original.seats.len()];
            for pl in next_offers.placed.iter().flatten() { used[pl.facility as usize] += 1; }
            for (f, &u) in used.iter().enumerate() { prop_assert!(u <= original.seats[f][0]); }
            for (a, applicant) in original.applicants().enumerate() {
                let rank = |f: u32| applicant.preferences.iter().position(|&x| x == f).unwrap();
                // An accepted seat is kept, or exchanged for a better one when moving up.
                if let Some(f) = before[a] {
                    let now = next_state.accepted[a].unwrap();
                    prop_assert!(rank(now) <= rank(f));
                    prop_assert!(move_up || now == f);
                    prop_assert_eq!(next_offers.placed[a].map(|p| p.facility), Some(now));
                }
                // Cancelled applications get nothing new.
                if !next_state.active[a] && next_state.accepted[a].is_none() {
                    prop_assert!(next_offers.placed[a].is_none());
                }
                // A refused facility is never offered again.
                if let Some(pl) = next_offers.placed[a] {
                    prop_assert!(next_state.instance.preferences(a).contains(&pl.facility) || next_state.accepted[a] == Some(pl.facility));
                }
            }
            state = next_state;
            offers = next_offers;
        }
    }
}
