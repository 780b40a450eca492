//! One ranking run, start to finish: score every application, make the lists the regulation names,
//! allocate the seats with its mechanism, then replay the waiting-list rounds answered so far.
//!
//! Everything the run depends on is an argument (the regulation, the applications, the seats, the
//! published seed, the answers of each round), so the same arguments give the same outcome on any
//! machine: that is what lets `graduatorie verify` recompute a published ranking.

use graduatorie_domain::Money;
use graduatorie_rules::model::MechanismKind;
use graduatorie_rules::{BatchScores, EvaluationError, FactsBatch, Regulation};

use crate::allocate::{
    Allocation, Instance, Reservation, deferred_acceptance, deferred_acceptance_with, first_choice_first,
    serial_dictatorship, serial_dictatorship_together,
};
use crate::budget::{Grant, allocate_budget};
use crate::ranking::{ListKey, RankedList, Scored, rank_scores};
use crate::rounds::{Answer, RoundPolicy, RoundState, next_round};

/// What a run needs.
#[derive(Debug, Clone, Copy)]
pub struct RunInput<'a> {
    /// The regulation.
    pub regulation: &'a Regulation,
    /// The applications, typed (their protocol numbers must be distinct).
    pub facts: &'a FactsBatch,
    /// Seats per facility and bucket: `seats[facility][bucket]`, where the bucket is the age section
    /// (0 when the regulation has none), or, when seats are split by time slot,
    /// `section × number of slots + slot`. Facilities are numbered as in the facility table the facts
    /// were read with.
    pub seats: &'a [Vec<u32>],
    /// The published seed of the public draw.
    pub seed: Option<&'a str>,
    /// The families' answers, round by round: per application, its answer (`None` when the family
    /// did not answer by the deadline, or had nothing to answer).
    pub answers: &'a [Vec<Option<Answer>>],
    /// The round from which each application takes part (1 for the first allocation; a late batch
    /// joins a later round). Empty: every application from round 1.
    pub joined: &'a [u32],
    /// Siblings applying together share a number (any number, the same for the whole family), used
    /// when the regulation places them together. Empty: nobody is linked.
    pub family: &'a [u32],
}

/// What a run produces.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Scores of every application.
    pub scores: BatchScores,
    /// The ranked lists.
    pub lists: Vec<RankedList>,
    /// Position (1-based) of each application in each list it is in, as `(list index, position)`.
    pub positions: Positions,
    /// The seats of the last round: accepted in earlier rounds, or offered and awaiting an answer.
    pub allocation: Allocation,
    /// Where the rounds stand (accepted seats, cancelled applications, refused facilities).
    pub state: RoundState,
    /// Per application: its seat (offered or accepted) is in the neighbouring section, given to a
    /// child at the border of its own.
    pub at_border: Vec<bool>,
    /// Per application: the age section its seat is in (its own, or the neighbouring one).
    pub seat_section: Vec<Option<u16>>,
}

/// Position (1-based) of each application in each list it is in, as `(list index, position)`, in list
/// order; one flat table rather than a vector per application (a million small allocations).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions {
    /// Where each application's entries start in `entries` (one more than applications).
    start: Vec<u32>,
    entries: Vec<(u32, u32)>,
}

impl Positions {
    /// The positions of `n` applications in `lists`.
    pub fn of(lists: &[RankedList], n: usize) -> Self {
        let mut start = vec![0u32; n + 1];
        for a in lists.iter().flat_map(|l| l.order.iter()) {
            if let Some(c) = start.get_mut(*a as usize + 1) {
                *c += 1;
            }
        }
        for i in 1..start.len() {
            let before = start.get(i - 1).copied().unwrap_or(0);
            if let Some(c) = start.get_mut(i) {
                *c += before;
            }
        }
        let mut next = start.clone();
        let mut entries = vec![(0, 0); start.last().map_or(0, |&e| e as usize)];
        for (l, list) in lists.iter().enumerate() {
            for (p, &a) in list.order.iter().enumerate() {
                if let Some(at) = next.get_mut(a as usize)
                    && let Some(slot) = entries.get_mut(*at as usize)
                {
                    *slot = (index(l), index(p + 1));
                    *at += 1;
                }
            }
        }
        Positions { start, entries }
    }

    /// The `(list index, position)` pairs of application `i`, in list order.
    pub fn of_application(&self, i: usize) -> &[(u32, u32)] {
        let from = self.start.get(i).copied().unwrap_or(0) as usize;
        let to = self.start.get(i + 1).copied().unwrap_or(0) as usize;
        self.entries.get(from..to).unwrap_or(&[])
    }
}

/// Why a run could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// An application could not be evaluated.
    #[error("application {index}: {error}")]
    Evaluation {
        /// Index of the application.
        index: usize,
        /// What failed.
        error: EvaluationError,
    },
    /// The amount of a grant could not be computed.
    #[error("application {index}: the grant cannot be computed: {message}")]
    Grant {
        /// Index of the application.
        index: usize,
        /// What failed.
        message: String,
    },
    /// An answer was given in a round where the family had no offer to answer.
    #[error("round {round}: application {index} had no offer to answer")]
    AnswerWithoutOffer {
        /// 1-based number of the round whose offers were answered.
        round: usize,
        /// Index of the application.
        index: usize,
    },
}

/// Where an application stands after the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not admitted to the ranking by the regulation.
    Excluded,
    /// Lost its place in the ranking by refusing (or not answering) an offer.
    Cancelled,
    /// Holds a seat it accepted in an earlier round.
    Accepted(u32),
    /// Has been offered a seat and must answer.
    Offered(u32),
    /// Waiting for a seat.
    Waiting,
    /// Still in the ranking, but no facility it asked for is left to offer (it refused them, or it
    /// asked for none).
    NothingLeft,
}

impl RunOutcome {
    /// Where application `i` stands.
    pub fn status(&self, i: usize) -> Status {
        if self.scores.excluded.get(i).copied().unwrap_or(true) {
            return Status::Excluded;
        }
        let accepted = self.state.accepted.get(i).copied().flatten();
        let placed = self.allocation.placed.get(i).copied().flatten();
        match (accepted, placed) {
            (Some(f), Some(p)) if p.facility == f => Status::Accepted(f),
            (_, Some(p)) => Status::Offered(p.facility),
            (Some(f), None) => Status::Accepted(f),
            (None, None) if !self.state.active.get(i).copied().unwrap_or(false) => Status::Cancelled,
            (None, None) if self.state.instance.preferences(i).is_empty() => Status::NothingLeft,
            (None, None) => Status::Waiting,
        }
    }
}

/// Scores every application and makes the lists the regulation names: the start of every run, and
/// the first half of [`run`] (a caller may use the scores, e.g. to format them, while [`allocate`]
/// runs).
pub fn score_and_rank(
    reg: &Regulation,
    facts: &FactsBatch,
    seed: Option<&str>,
) -> Result<(BatchScores, Vec<RankedList>), RunError> {
    let scores = reg
        .score_batch(facts)
        .map_err(|(index, error)| RunError::Evaluation { index, error })?;
    let lists = lists_of(reg, facts, seed, &scores);
    Ok((scores, lists))
}

/// The lists the regulation names, from the scores of `facts` (however they were computed: e.g. in
/// parts with [`Regulation::score_batch_range`]).
pub fn lists_of(
    reg: &Regulation,
    facts: &FactsBatch,
    seed: Option<&str>,
    scores: &BatchScores,
) -> Vec<RankedList> {
    rank_scores(
        reg,
        Scored {
            scores,
            protocols: facts.protocols(),
            seed,
        },
        reg.allocation().lists,
    )
}

/// Scores, ranks, allocates and replays the rounds answered so far.
pub fn run(input: RunInput<'_>) -> Result<RunOutcome, RunError> {
    let (scores, lists) = score_and_rank(input.regulation, input.facts, input.seed)?;
    let allocated = allocate(input, &scores, &lists)?;
    Ok(RunOutcome::of(scores, lists, allocated))
}

/// What the allocation of a run decided, besides the scores and lists it started from.
#[derive(Debug, Clone)]
pub struct Allocated {
    positions: Positions,
    allocation: Allocation,
    state: RoundState,
    at_border: Vec<bool>,
    seat_section: Vec<Option<u16>>,
}

impl RunOutcome {
    /// The outcome of a run from its two halves ([`score_and_rank`], then [`allocate`]).
    pub fn of(scores: BatchScores, lists: Vec<RankedList>, allocated: Allocated) -> Self {
        let Allocated {
            positions,
            allocation,
            state,
            at_border,
            seat_section,
        } = allocated;
        RunOutcome {
            scores,
            lists,
            positions,
            allocation,
            state,
            at_border,
            seat_section,
        }
    }
}

/// The second half of [`run`]: allocates the seats to the lists of [`score_and_rank`] and replays the
/// rounds answered so far.
pub fn allocate(
    input: RunInput<'_>,
    scores: &BatchScores,
    lists: &[RankedList],
) -> Result<Allocated, RunError> {
    let reg = input.regulation;
    let rules = reg.allocation();
    let n = input.facts.len();
    let positions = Positions::of(lists, n);
    let has_sections = !reg.sections().is_empty();
    // Seats are counted per facility and bucket: the age section, and within it the time slot when
    // the regulation splits seats by time slot (bucket = section × slots + slot).
    let slots = u16::try_from(reg.time_slots().len()).unwrap_or(u16::MAX);
    let bucket = |i: usize| -> Option<u16> {
        let section = scores.section.get(i).copied().flatten();
        let section = if has_sections { section? } else { 0 };
        if slots == 0 {
            return Some(section);
        }
        let slot = reg.time_slot_at(input.facts, i)?;
        section.checked_mul(slots)?.checked_add(slot)
    };
    let buckets: Vec<Option<u16>> = (0..n).map(bucket).collect();
    // The bucket of the neighbouring section whose spare seats a child at the border may take.
    let border: Vec<Option<u16>> = if reg.has_borders() {
        (0..n)
            .map(|i| {
                let to = scores.border.get(i).copied().flatten()?;
                if slots == 0 {
                    Some(to)
                } else {
                    let slot = reg.time_slot_at(input.facts, i)?;
                    to.checked_mul(slots)?.checked_add(slot)
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let instance = Instance::from_fn(input.seats.to_vec(), n, |i| {
        (
            buckets.get(i).copied().flatten().unwrap_or(0),
            input.facts.preferences(i),
        )
    });
    // Who may be placed at all: admitted, and in a bucket (a section, a time slot) when seats are
    // split so.
    let admitted: Vec<bool> = (0..n)
        .map(|i| {
            !scores.excluded.get(i).copied().unwrap_or(true) && buckets.get(i).copied().flatten().is_some()
        })
        .collect();
    // Priority of an application at a facility: its position in the list that decides there.
    let facility_list: Vec<Option<usize>> = {
        let width = input.seats.len();
        let mut v = vec![None; width];
        for (l, list) in lists.iter().enumerate() {
            if let ListKey::Facility(f) = list.key
                && let Some(slot) = v.get_mut(f as usize)
            {
                *slot = Some(l);
            }
        }
        v
    };
    // Without facility lists the priority is the same everywhere: one position per applicant, read
    // at every proposal of deferred acceptance (so kept in one flat vector).
    let per_facility = facility_list.iter().any(Option::is_some);
    let common: Vec<u32> = if per_facility {
        Vec::new()
    } else {
        (0..n)
            .map(|a| positions.of_application(a).first().map_or(u32::MAX, |(_, p)| *p))
            .collect()
    };
    // With that one priority everywhere, deferred acceptance has a single stable outcome, the one
    // serial dictatorship gives in list order (`docs/allocation.md`, "One common priority"), and
    // serial dictatorship gets there without a proposal table. It holds when everyone who may be
    // placed stands in exactly one list: lists of different sections never share seats, so their
    // positions never meet at a facility.
    let one_order = !per_facility
        && admitted
            .iter()
            .enumerate()
            .all(|(a, &admitted)| !admitted || positions.of_application(a).len() == 1);
    let priority = |f: u32, a: u32| -> u32 {
        if !per_facility {
            return common.get(a as usize).copied().unwrap_or(u32::MAX);
        }
        let mine = positions.of_application(a as usize);
        let wanted = match facility_list.get(f as usize).copied().flatten() {
            Some(l) => mine.iter().find(|(list, _)| *list as usize == l),
            None => mine.first(),
        };
        wanted.map_or(u32::MAX, |(_, p)| *p)
    };
    // The group the regulation reserves seats for, if any.
    let group: Vec<bool> = match reg.reserve() {
        Some(_) => {
            let mut buffer = Vec::new();
            (0..n)
                .map(|index| {
                    reg.in_reserve_group(&input.facts.get(index), &mut buffer)
                        .map_err(|error| RunError::Evaluation { index, error })
                })
                .collect::<Result<_, _>>()?
        }
        None => Vec::new(),
    };
    let section_of: Vec<u16> = instance.applicants().map(|a| a.section).collect();
    // Reserved seats and caps per facility and section, less the seats the group already holds
    // (accepted in earlier rounds, so not in the instance any more).
    let reservations = |held: &[Option<u32>]| -> Vec<Reservation> {
        let Some(reserve) = reg.reserve() else {
            return Vec::new();
        };
        let mut held_by_group = vec![Vec::<u32>::new(); input.seats.len()];
        for (a, h) in held.iter().enumerate() {
            if let (Some(f), true, Some(&s)) = (h, group.get(a).copied().unwrap_or(false), section_of.get(a))
                && let Some(row) = held_by_group.get_mut(*f as usize)
            {
                if row.len() <= usize::from(s) {
                    row.resize(usize::from(s) + 1, 0);
                }
                if let Some(n) = row.get_mut(usize::from(s)) {
                    *n += 1;
                }
            }
        }
        let mut out = Vec::new();
        for (f, row) in input.seats.iter().enumerate() {
            for (s, &total) in row.iter().enumerate() {
                let held = held_by_group.get(f).and_then(|r| r.get(s)).copied().unwrap_or(0);
                out.push(Reservation {
                    facility: index(f),
                    section: u16::try_from(s).unwrap_or(u16::MAX),
                    group: 0,
                    reserved: reserve.seats.of(total).saturating_sub(held),
                    cap: reserve.cap.map(|c| c.of(total).saturating_sub(held)),
                });
            }
        }
        out
    };
    // One order for serial dictatorship: list by list (lists of different sections never compete
    // for the same seats, so how they are merged does not matter).
    let order: Vec<u32> = lists.iter().flat_map(|l| l.order.iter().copied()).collect();
    // Which seats of the last allocation were given in a neighbouring section (border ages).
    let last_border = std::cell::RefCell::new(vec![false; n]);
    // The round being allocated: applications of a late batch take part from the round they joined.
    let round = std::cell::Cell::new(1u32);
    let present = |a: u32| input.joined.get(a as usize).is_none_or(|&j| j <= round.get());
    let mechanism = |inst: &Instance, eligible: &dyn Fn(u32) -> bool, held: &[Option<u32>]| -> Allocation {
        let eligible =
            |a: u32| eligible(a) && present(a) && admitted.get(a as usize).copied().unwrap_or(false);
        if reg.reserve().is_some() && rules.mechanism != MechanismKind::FirstChoiceFirst {
            // With one common order this is the global-order result with the group's seats set
            // aside (`docs/allocation.md`, "Reserved seats and caps").
            let in_group = |a: u32| group.get(a as usize).copied().unwrap_or(false).then_some(0);
            return deferred_acceptance_with(inst, &reservations(held), in_group, priority, eligible);
        }
        match rules.mechanism {
            MechanismKind::GlobalOrder => {
                let order: Vec<u32> = order.iter().copied().filter(|&a| eligible(a)).collect();
                let mut allocation = if rules.siblings_together && !input.family.is_empty() {
                    serial_dictatorship_together(inst, &order, input.family)
                } else {
                    serial_dictatorship(inst, &order)
                };
                if !border.is_empty() {
                    let placed_at_border =
                        crate::allocate::spare_seats(inst, &order, &border, &mut allocation);
                    last_border.replace(placed_at_border);
                }
                allocation
            }
            MechanismKind::DeferredAcceptance if one_order => {
                let order: Vec<u32> = order.iter().copied().filter(|&a| eligible(a)).collect();
                serial_dictatorship(inst, &order)
            }
            MechanismKind::DeferredAcceptance => deferred_acceptance(inst, priority, eligible),
            MechanismKind::FirstChoiceFirst => first_choice_first(inst, priority, eligible),
        }
    };
    let policy = RoundPolicy {
        refusal: rules.refusal,
        no_answer_accepts: rules.no_answer_accepts,
        move_up: rules.move_up,
    };
    let mut state = RoundState::start(instance);
    let mut allocation = mechanism(&state.instance, &|_| true, &state.accepted);
    for (r, answers) in input.answers.iter().enumerate() {
        round.set(u32::try_from(r + 2).unwrap_or(u32::MAX));
        let mut full = vec![Answer::NoAnswer; n];
        for (i, answer) in answers.iter().enumerate() {
            let Some(answer) = answer else { continue };
            let offer = allocation.placed.get(i).copied().flatten();
            let pending = offer.is_some_and(|p| state.accepted.get(i).copied().flatten() != Some(p.facility));
            if !pending {
                return Err(RunError::AnswerWithoutOffer {
                    round: r + 1,
                    index: i,
                });
            }
            if let Some(slot) = full.get_mut(i) {
                *slot = *answer;
            }
        }
        // A seat accepted in a neighbouring section is counted there from now on: the child's bucket
        // becomes that section's before the round counts the seats kept.
        let moved: Vec<(usize, u16)> = last_border
            .borrow()
            .iter()
            .enumerate()
            .filter(|(_, b)| **b)
            .filter(|&(i, _)| match full.get(i) {
                Some(Answer::Accepted) => true,
                Some(Answer::NoAnswer) => policy.no_answer_accepts,
                _ => false,
            })
            .filter_map(|(i, _)| Some((i, border.get(i).copied().flatten()?)))
            .collect();
        for &(i, to) in &moved {
            state.instance.set_section(i, to);
        }
        (state, allocation) = next_round(&state, &allocation, &full, policy, &mechanism);
    }
    // Whether each seat held or offered now is in a neighbouring section.
    let at_border: Vec<bool> = (0..n)
        .map(|i| {
            let own = buckets.get(i).copied().flatten();
            let now = state.instance.applicant(i).map(|a| a.section);
            let held = state.accepted.get(i).copied().flatten();
            let offered = allocation.placed.get(i).copied().flatten();
            match (held, offered) {
                (Some(h), Some(p)) if h == p.facility => now != own,
                (_, Some(_)) => last_border.borrow().get(i).copied().unwrap_or(false),
                _ => false,
            }
        })
        .collect();
    let seat_section: Vec<Option<u16>> = (0..n)
        .map(|i| {
            if at_border.get(i).copied().unwrap_or(false) {
                let b = border.get(i).copied().flatten()?;
                Some(b.checked_div(slots).unwrap_or(b))
            } else {
                scores.section.get(i).copied().flatten()
            }
        })
        .collect();
    Ok(Allocated {
        positions,
        allocation,
        state,
        at_border,
        seat_section,
    })
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// What a budget run needs: the applications and the money to share.
#[derive(Debug, Clone, Copy)]
pub struct BudgetInput<'a> {
    /// The regulation (with a `[grant]`).
    pub regulation: &'a Regulation,
    /// The applications, typed.
    pub facts: &'a FactsBatch,
    /// The published seed of the public draw.
    pub seed: Option<&'a str>,
    /// The money to share.
    pub budget: Money,
}

/// What a budget run produces.
#[derive(Debug, Clone)]
pub struct BudgetOutcome {
    /// Scores of every application.
    pub scores: BatchScores,
    /// The ranked lists.
    pub lists: Vec<RankedList>,
    /// The amount the regulation gives each admitted application (`None` for excluded ones).
    pub amounts: Vec<Option<Money>>,
    /// The grants, in ranking order.
    pub grants: Vec<Grant>,
}

/// Scores and ranks the applications, then funds them in ranking order (lists one after the other)
/// with the amount the regulation's `[grant]` gives each, until the budget is spent; at the edge, the
/// regulation's `budget_edge`.
pub fn run_budget(input: BudgetInput<'_>) -> Result<BudgetOutcome, RunError> {
    let reg = input.regulation;
    let (scores, lists) = score_and_rank(reg, input.facts, input.seed)?;
    let mut amounts = vec![None; input.facts.len()];
    for index in 0..input.facts.len() {
        if scores.excluded.get(index).copied().unwrap_or(true) {
            continue;
        }
        let amount = reg
            .grant_for(&input.facts.get(index))
            .map_err(|e| RunError::Grant {
                index,
                message: e.to_string(),
            })?;
        let amount = Money::from_decimal(amount).map_err(|e| RunError::Grant {
            index,
            message: e.to_string(),
        })?;
        if let Some(slot) = amounts.get_mut(index) {
            *slot = Some(amount);
        }
    }
    let order: Vec<(u32, Money)> = lists
        .iter()
        .flat_map(|l| l.order.iter())
        .filter_map(|&a| Some((a, amounts.get(a as usize).copied().flatten()?)))
        .collect();
    let grants = allocate_budget(&order, input.budget, reg.allocation().budget_edge);
    Ok(BudgetOutcome {
        scores,
        lists,
        amounts,
        grants,
    })
}
