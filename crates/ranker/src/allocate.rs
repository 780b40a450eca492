//! Seat allocation: who gets a seat in which facility, given the families' preferences and who comes
//! first at each facility.
//!
//! Seats are counted per facility and age section: a child competes only for the seats of its own
//! section. Three mechanisms, the ones regulations name:
//!
//! - **serial dictatorship** ([`serial_dictatorship`]): one ranking; each family in turn, best first,
//!   gets its most preferred facility that still has a seat. The order of preferences never changes a
//!   family's position.
//! - **deferred acceptance** ([`deferred_acceptance`], family-proposing Gale–Shapley with capacities):
//!   for regulations where who comes first differs by facility (siblings, catchment areas). The result is
//!   stable (no family and facility would both rather be matched to each other) and no family gains by
//!   misreporting its preferences. With one common priority order it gives the same result as serial
//!   dictatorship.
//! - **first choice first** ([`first_choice_first`], "immediate acceptance"): every family is placed at
//!   its first choice, if it can be, before anyone is placed at a second choice. Several towns do this;
//!   it rewards families who misreport (put a "safe" facility first), which is why Boston abandoned it
//!   in 2005. Kept because regulations require it, with the trade-off documented.
//!
//! Everything here is pure and deterministic: the same instance gives the same allocation, whatever the
//! order of the applicants in memory, because every decision follows the priority keys, which must be
//! distinct within a facility (the regulation's tie-break chain ends with the protocol number).

use std::collections::BinaryHeap;

/// One family's application as the allocation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicant {
    /// Age section of the child (index into each facility's seats).
    pub section: u16,
    /// Facilities, most wanted first, without repetition.
    pub preferences: Vec<u32>,
}

/// What is on offer and who asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Seats per facility and section: `seats[facility][section]`. A missing entry means no seats.
    pub seats: Vec<Vec<u32>>,
    /// The applicants.
    pub applicants: Vec<Applicant>,
}

/// The result: for each applicant, the facility and the position of that facility in its preferences
/// (0 = first choice), or `None` when it stays on the waiting list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// Per applicant, in the order of [`Instance::applicants`].
    pub placed: Vec<Option<Placement>>,
}

/// A seat given to an applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Placement {
    /// The facility.
    pub facility: u32,
    /// Position of the facility in the applicant's preferences, 0 for the first choice.
    pub choice: u32,
}

impl Instance {
    fn seats_of(&self, facility: u32, section: u16) -> u32 {
        self.seats
            .get(facility as usize)
            .and_then(|s| s.get(usize::from(section)))
            .copied()
            .unwrap_or(0)
    }

    /// Sections per facility (the widest row of `seats`).
    fn sections(&self) -> usize {
        self.seats.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// A flat index for (facility, section), or `None` when the facility has no such section.
    fn bucket(&self, facility: u32, section: u16) -> Option<usize> {
        let s = usize::from(section);
        let width = self.sections();
        (s < width && (facility as usize) < self.seats.len()).then(|| facility as usize * width + s)
    }

    /// Remaining seats per bucket.
    fn free_seats(&self) -> Vec<u32> {
        let width = self.sections();
        let mut free = vec![0; self.seats.len() * width];
        for (f, row) in self.seats.iter().enumerate() {
            for (s, &n) in row.iter().enumerate() {
                if let Some(slot) = free.get_mut(f * width + s) {
                    *slot = n;
                }
            }
        }
        free
    }
}

fn placement(choice: usize, facility: u32) -> Placement {
    Placement {
        facility,
        choice: u32::try_from(choice).unwrap_or(u32::MAX),
    }
}

/// Serial dictatorship over `order` (applicant indexes, best first; applicants not listed are not
/// placed, e.g. excluded ones).
pub fn serial_dictatorship(instance: &Instance, order: &[u32]) -> Allocation {
    let mut free = instance.free_seats();
    let mut placed = vec![None; instance.applicants.len()];
    for &a in order {
        let Some(applicant) = instance.applicants.get(a as usize) else {
            continue;
        };
        for (choice, &f) in applicant.preferences.iter().enumerate() {
            let Some(seat) = instance
                .bucket(f, applicant.section)
                .and_then(|b| free.get_mut(b))
            else {
                continue;
            };
            if *seat > 0 {
                *seat -= 1;
                if let Some(p) = placed.get_mut(a as usize) {
                    *p = Some(placement(choice, f));
                }
                break;
            }
        }
    }
    Allocation { placed }
}

/// Family-proposing deferred acceptance. `priority(facility, applicant)` orders applicants at a
/// facility, lower first; keys must be distinct within a facility. `eligible(applicant)` filters out
/// applicants that must not be placed at all.
pub fn deferred_acceptance(
    instance: &Instance,
    priority: impl Fn(u32, u32) -> u64,
    eligible: impl Fn(u32) -> bool,
) -> Allocation {
    let n = instance.applicants.len();
    let width = instance.sections();
    // Per bucket, the applicants held so far; the top of the heap is the worst of them.
    let mut held: Vec<BinaryHeap<(u64, u32)>> = vec![BinaryHeap::new(); instance.seats.len() * width];
    let mut next = vec![0usize; n];
    // Proposals go out in index order; the result does not depend on it (a property of the mechanism).
    let mut free: Vec<u32> = (0..u32::try_from(n).unwrap_or(u32::MAX))
        .rev()
        .filter(|&a| eligible(a))
        .collect();
    while let Some(a) = free.pop() {
        let Some(applicant) = instance.applicants.get(a as usize) else {
            continue;
        };
        let Some(k) = next.get_mut(a as usize) else {
            continue;
        };
        let Some(&f) = applicant.preferences.get(*k) else {
            continue;
        };
        *k += 1;
        let seats = instance.seats_of(f, applicant.section) as usize;
        let Some(heap) = instance
            .bucket(f, applicant.section)
            .and_then(|b| held.get_mut(b))
        else {
            free.push(a);
            continue;
        };
        if seats == 0 {
            free.push(a);
            continue;
        }
        heap.push((priority(f, a), a));
        if heap.len() > seats
            && let Some((_, worst)) = heap.pop()
        {
            free.push(worst);
        }
    }
    let mut placed = vec![None; n];
    for heap in &held {
        for &(_, a) in heap.iter() {
            let Some(applicant) = instance.applicants.get(a as usize) else {
                continue;
            };
            let choice = next.get(a as usize).copied().unwrap_or(1).saturating_sub(1);
            if let (Some(p), Some(&f)) = (placed.get_mut(a as usize), applicant.preferences.get(choice)) {
                *p = Some(placement(choice, f));
            }
        }
    }
    Allocation { placed }
}

/// First choice first (immediate acceptance): in round k every family not yet placed asks for its k-th
/// choice; each facility takes the best of that round's askers, by `priority`, while it has seats.
/// Places given in a round are final.
pub fn first_choice_first(
    instance: &Instance,
    priority: impl Fn(u32, u32) -> u64,
    eligible: impl Fn(u32) -> bool,
) -> Allocation {
    let n = instance.applicants.len();
    let mut free = instance.free_seats();
    let mut placed: Vec<Option<Placement>> = vec![None; n];
    let rounds = instance
        .applicants
        .iter()
        .map(|a| a.preferences.len())
        .max()
        .unwrap_or(0);
    for round in 0..rounds {
        // (bucket, priority, applicant, facility) for everyone asking this round.
        let mut asking: Vec<(usize, u64, u32, u32)> = Vec::new();
        for (a, applicant) in instance.applicants.iter().enumerate() {
            let a = u32::try_from(a).unwrap_or(u32::MAX);
            if placed.get(a as usize).is_some_and(Option::is_some) || !eligible(a) {
                continue;
            }
            let Some(&f) = applicant.preferences.get(round) else {
                continue;
            };
            if let Some(b) = instance.bucket(f, applicant.section) {
                asking.push((b, priority(f, a), a, f));
            }
        }
        asking.sort_unstable();
        for (b, _, a, f) in asking {
            if let Some(seat) = free.get_mut(b)
                && *seat > 0
            {
                *seat -= 1;
                if let Some(p) = placed.get_mut(a as usize) {
                    *p = Some(placement(round, f));
                }
            }
        }
    }
    Allocation { placed }
}
