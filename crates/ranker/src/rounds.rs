//! Waiting-list rounds (*scorrimento*): from an allocation and the families' answers to the next one.
//!
//! Accepted seats are kept: a round never takes an accepted seat away. A refusal is handled by the
//! regulation's [`RefusalPolicy`]; no answer by the deadline counts as acceptance or as refusal. Freed
//! seats go down the waiting list through the same mechanism as the first allocation. When the
//! regulation allows it, a family that accepted a lower choice moves up to a better one that frees up,
//! and the seat it leaves goes down the list in turn.

use crate::allocate::{Allocation, Instance, Placement};
pub use graduatorie_rules::model::RefusalPolicy;

/// A family's answer to an offered seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Accepted.
    Accepted,
    /// Refused.
    Refused,
    /// No answer by the deadline.
    NoAnswer,
}

/// The regulation's rules for rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundPolicy {
    /// What a refusal costs.
    pub refusal: RefusalPolicy,
    /// No answer by the deadline counts as acceptance (`true`, Bologna) or as refusal.
    pub no_answer_accepts: bool,
    /// Families placed at a lower choice move up when a better one frees.
    pub move_up: bool,
}

/// Where the rounds stand: the families' remaining preferences and what they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundState {
    /// The instance with each family's remaining preferences (refused facilities removed).
    pub instance: Instance,
    /// Refusals so far, per applicant.
    pub refusals: Vec<u32>,
    /// Still in the ranking (not cancelled by a refusal).
    pub active: Vec<bool>,
    /// Seats accepted so far (facility), per applicant.
    pub accepted: Vec<Option<u32>>,
}

impl RoundState {
    /// The state before any answer: everybody active, nothing accepted.
    pub fn start(instance: Instance) -> Self {
        let n = instance.len();
        RoundState {
            instance,
            refusals: vec![0; n],
            active: vec![true; n],
            accepted: vec![None; n],
        }
    }
}

/// A mechanism: given an instance (the seats still free), who may be placed, and the facility each
/// applicant already holds (seats accepted in earlier rounds, not counted in the instance), an
/// allocation.
pub type Mechanism<'a> = &'a dyn Fn(&Instance, &dyn Fn(u32) -> bool, &[Option<u32>]) -> Allocation;

/// Applies the answers to `offers` and allocates the seats that are free. Returns the new state and the
/// new allocation (kept seats and new offers; offers are to be answered in the next round).
pub fn next_round(
    state: &RoundState,
    offers: &Allocation,
    answers: &[Answer],
    policy: RoundPolicy,
    mechanism: Mechanism<'_>,
) -> (RoundState, Allocation) {
    let mut s = state.clone();
    let n = s.instance.len();
    for a in 0..n {
        let (Some(Some(offer)), Some(&answer)) = (offers.placed.get(a), answers.get(a)) else {
            continue;
        };
        if s.accepted.get(a).copied().flatten() == Some(offer.facility) {
            continue; // a seat kept from an earlier round needs no new answer
        }
        let accepts = match answer {
            Answer::Accepted => true,
            Answer::Refused => false,
            Answer::NoAnswer => policy.no_answer_accepts,
        };
        if accepts {
            if let Some(slot) = s.accepted.get_mut(a) {
                *slot = Some(offer.facility);
            }
            continue;
        }
        let refusals = s.refusals.get(a).copied().unwrap_or(0) + 1;
        if let Some(r) = s.refusals.get_mut(a) {
            *r = refusals;
        }
        let first = s.instance.preferences(a).first() == Some(&offer.facility);
        let cancel = match policy.refusal {
            RefusalPolicy::LoseFacility => false,
            RefusalPolicy::LoseApplication => true,
            RefusalPolicy::Allowed(k) => refusals > k,
            RefusalPolicy::FirstChoiceRefusalCancels => first,
        };
        if cancel && let Some(x) = s.active.get_mut(a) {
            *x = false;
        }
        s.instance.retain_preferences(a, |f| f != offer.facility);
    }
    let allocation = allocate_free_seats(&mut s, policy.move_up, mechanism);
    (s, allocation)
}

/// Gives the free seats to the waiting families (and, with `move_up`, better seats to those who
/// accepted a lower choice), until nothing changes.
fn allocate_free_seats(s: &mut RoundState, move_up: bool, mechanism: Mechanism<'_>) -> Allocation {
    let n = s.instance.len();
    loop {
        // Seats left after the accepted ones.
        let mut pool = s.instance.clone();
        for (a, acc) in s.accepted.iter().enumerate() {
            let (Some(f), Some(ap)) = (acc, s.instance.applicant(a)) else {
                continue;
            };
            if let Some(seat) = pool
                .seats
                .get_mut(*f as usize)
                .and_then(|r| r.get_mut(usize::from(ap.section)))
            {
                *seat = seat.saturating_sub(1);
            }
        }
        // Families holding a seat compete only for the choices they prefer to it.
        for (a, acc) in s.accepted.iter().enumerate() {
            let Some(f) = acc else {
                continue;
            };
            match (move_up, pool.preferences(a).iter().position(|p| p == f)) {
                (true, Some(k)) => pool.truncate_preferences(a, k),
                _ => pool.truncate_preferences(a, 0),
            }
        }
        let active = s.active.clone();
        let allocation = mechanism(
            &pool,
            &|a| active.get(a as usize).copied().unwrap_or(false),
            &s.accepted,
        );
        // A family that moved up gives back the seat it held; then the round starts again, so that seat
        // goes down the list too. Each pass moves someone strictly up, so this ends.
        let mut moved = false;
        for a in 0..n {
            let (Some(Some(p)), Some(Some(_))) = (allocation.placed.get(a), s.accepted.get(a)) else {
                continue;
            };
            if let Some(slot) = s.accepted.get_mut(a) {
                *slot = Some(p.facility);
                moved = true;
            }
        }
        if moved {
            continue;
        }
        let placed = (0..n)
            .map(|a| {
                let held = s.accepted.get(a).copied().flatten();
                let prefs = s.instance.preferences(a);
                let choice =
                    |f: u32| u32::try_from(prefs.iter().position(|&p| p == f).unwrap_or(0)).unwrap_or(0);
                match (held, allocation.placed.get(a).copied().flatten()) {
                    (Some(f), _) => Some(Placement {
                        facility: f,
                        choice: choice(f),
                    }),
                    (None, Some(p)) => Some(Placement {
                        facility: p.facility,
                        choice: choice(p.facility),
                    }),
                    (None, None) => None,
                }
            })
            .collect();
        return Allocation { placed };
    }
}
