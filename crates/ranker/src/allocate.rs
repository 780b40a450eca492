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

pub use crate::instance::{Applicant, ApplicantRef, Instance};
use crate::prefetch::prefetch;

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
    /// Sections per facility (the widest row of `seats`).
    fn sections(&self) -> usize {
        self.seats.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// The numbering of (facility, section) buckets, computed once per allocation (it scans every
    /// facility).
    fn grid(&self) -> Grid {
        Grid {
            width: self.sections(),
            facilities: self.seats.len(),
        }
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

/// How (facility, section) pairs are numbered.
#[derive(Debug, Clone, Copy)]
struct Grid {
    width: usize,
    facilities: usize,
}

impl Grid {
    /// A flat index for (facility, section), or `None` when the facility has no such section.
    fn bucket(self, facility: u32, section: u16) -> Option<usize> {
        let s = usize::from(section);
        (s < self.width && (facility as usize) < self.facilities).then(|| facility as usize * self.width + s)
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
    let grid = instance.grid();
    let mut placed = vec![None; instance.len()];
    for (i, &a) in order.iter().enumerate() {
        prefetch_turn(instance, order, i);
        if let Some(p) = order.get(i + AHEAD).and_then(|&b| placed.get(b as usize)) {
            prefetch(p);
        }
        let Some(applicant) = instance.applicant(a as usize) else {
            continue;
        };
        for (choice, &f) in applicant.preferences.iter().enumerate() {
            let Some(seat) = grid.bucket(f, applicant.section).and_then(|b| free.get_mut(b)) else {
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

/// How many turns ahead [`prefetch_turn`] asks: far enough for the memory to answer in time.
const AHEAD: usize = 16;

/// Asks for what the turns a few places after the `i`th of `order` will read: the applicant, then
/// its preferences (see [`crate::prefetch`]; about 4× faster at a million applicants).
fn prefetch_turn(instance: &Instance, order: &[u32], i: usize) {
    if let Some(&b) = order.get(i + 2 * AHEAD) {
        instance.prefetch_applicant(b as usize);
    }
    if let Some(&b) = order.get(i + AHEAD) {
        instance.prefetch_preferences(b as usize);
    }
}

/// After the seats are given, children at the border of a section still without a seat take the
/// seats left free in the neighbouring section (`border[a]`, a bucket), in `order`, each at its most
/// preferred facility with one: serial dictatorship over what is left. Returns which applicants were
/// placed so. (Counting what is left in one flat vector: copying the instance for it cost a million
/// small allocations.)
pub(crate) fn spare_seats(
    instance: &Instance,
    order: &[u32],
    border: &[Option<u16>],
    allocation: &mut Allocation,
) -> Vec<bool> {
    let mut free = instance.free_seats();
    let grid = instance.grid();
    for (a, p) in allocation.placed.iter().enumerate() {
        let (Some(p), Some(ap)) = (p, instance.applicant(a)) else {
            continue;
        };
        if let Some(seat) = grid.bucket(p.facility, ap.section).and_then(|b| free.get_mut(b)) {
            *seat = seat.saturating_sub(1);
        }
    }
    let mut at_border = vec![false; instance.len()];
    for &a in order {
        let (Some(None), Some(Some(to)), Some(applicant)) = (
            allocation.placed.get(a as usize),
            border.get(a as usize),
            instance.applicant(a as usize),
        ) else {
            continue;
        };
        for (choice, &f) in applicant.preferences.iter().enumerate() {
            let Some(seat) = grid.bucket(f, *to).and_then(|b| free.get_mut(b)) else {
                continue;
            };
            if *seat > 0 {
                *seat -= 1;
                if let Some(p) = allocation.placed.get_mut(a as usize) {
                    *p = Some(placement(choice, f));
                }
                if let Some(b) = at_border.get_mut(a as usize) {
                    *b = true;
                }
                break;
            }
        }
    }
    at_border
}

/// Serial dictatorship where siblings applying together are placed together: `family[a]` is the same
/// number for the members of one family (and different for everybody else). At a family's turn (its
/// best-ranked member's), the family gets the first facility, in that member's preferences, that every
/// member asked for and that has a free seat for each of them in their own sections; otherwise none of
/// them is placed. Members not in `order` (excluded) and members asking for nothing (in later rounds,
/// one holding a seat it accepted) do not take part: the others are placed together without them.
pub fn serial_dictatorship_together(instance: &Instance, order: &[u32], family: &[u32]) -> Allocation {
    let mut free = instance.free_seats();
    let grid = instance.grid();
    let mut placed = vec![None; instance.len()];
    let mut members: std::collections::HashMap<u32, Vec<u32>> = std::collections::HashMap::new();
    for &a in order {
        // A member with nothing left to ask for (one holding a seat from an earlier round) does not
        // take part: its sibling still waiting competes alone.
        if instance
            .applicant(a as usize)
            .is_none_or(|ap| ap.preferences.is_empty())
        {
            continue;
        }
        let key = family.get(a as usize).copied().unwrap_or(u32::MAX - a);
        members.entry(key).or_default().push(a);
    }
    let mut done = std::collections::HashSet::new();
    for &a in order {
        let key = family.get(a as usize).copied().unwrap_or(u32::MAX - a);
        if !members.get(&key).is_some_and(|t| t.contains(&a)) || !done.insert(key) {
            continue; // the family had its turn with its best-ranked member
        }
        let team = members.get(&key).map_or(&[][..], Vec::as_slice);
        let Some(first) = team.first().and_then(|&m| instance.applicant(m as usize)) else {
            continue;
        };
        'facilities: for &f in first.preferences {
            // Seats needed per bucket of this facility.
            let mut need: Vec<(usize, u32)> = Vec::new();
            for &m in team {
                let Some(ap) = instance.applicant(m as usize) else {
                    continue 'facilities;
                };
                let Some(b) = grid.bucket(f, ap.section).filter(|_| ap.preferences.contains(&f)) else {
                    continue 'facilities;
                };
                match need.iter_mut().find(|(x, _)| *x == b) {
                    Some((_, n)) => *n += 1,
                    None => need.push((b, 1)),
                }
            }
            if need.iter().any(|&(b, n)| free.get(b).copied().unwrap_or(0) < n) {
                continue;
            }
            for (b, n) in need {
                if let Some(seat) = free.get_mut(b) {
                    *seat -= n;
                }
            }
            for &m in team {
                let choice = instance
                    .applicant(m as usize)
                    .and_then(|ap| ap.preferences.iter().position(|&p| p == f))
                    .unwrap_or(0);
                if let Some(p) = placed.get_mut(m as usize) {
                    *p = Some(placement(choice, f));
                }
            }
            break;
        }
    }
    Allocation { placed }
}

/// Seats of one facility and section set aside for a group of applicants (a social-services referral,
/// a disability), or limited for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// The facility.
    pub facility: u32,
    /// The age section.
    pub section: u16,
    /// The group (as returned by the `group_of` function of [`deferred_acceptance_with`]).
    pub group: u16,
    /// Seats the group's applicants get first, however they rank among the others; seats the group
    /// does not use go to everybody ("reserved, reverting when unused").
    pub reserved: u32,
    /// Most seats the group may take ("at most 20% of the seats"), if limited.
    pub cap: Option<u32>,
}

/// Family-proposing deferred acceptance. `priority(facility, applicant)` orders applicants at a
/// facility, lower first; keys must be distinct within a facility. `eligible(applicant)` filters out
/// applicants that must not be placed at all.
pub fn deferred_acceptance(
    instance: &Instance,
    priority: impl Fn(u32, u32) -> u32,
    eligible: impl Fn(u32) -> bool,
) -> Allocation {
    deferred_acceptance_with(instance, &[], |_| None, priority, eligible)
}

/// Deferred acceptance where some facilities reserve or limit seats for a group. At such a facility the
/// seats go first to the best applicants of the group, up to the reserved number; then to the best of
/// everybody left, the group counting towards its cap. This choice rule keeps the mechanism stable and
/// strategy-proof. A reservation for a facility and section without seats has no effect; a reserved
/// number above the cap or the seats counts as the smaller of them.
pub fn deferred_acceptance_with(
    instance: &Instance,
    reservations: &[Reservation],
    group_of: impl Fn(u32) -> Option<u16>,
    priority: impl Fn(u32, u32) -> u32,
    eligible: impl Fn(u32) -> bool,
) -> Allocation {
    let n = instance.len();
    let grid = instance.grid();
    // Per bucket, the applicants held so far (as turns, below), best first.
    let mut held: Vec<Vec<(u32, u32)>> = vec![Vec::new(); instance.seats.len() * grid.width];
    let mut rules: Vec<Option<Reservation>> = vec![None; held.len()];
    for r in reservations {
        if let Some(slot) = grid.bucket(r.facility, r.section).and_then(|b| rules.get_mut(b)) {
            *slot = Some(*r);
        }
    }
    // Seats per bucket, in one flat vector (read at every proposal).
    let capacity = instance.free_seats();
    // The result does not depend on the order in which proposals go out (a property of the
    // mechanism), but the work does: applicants propose best first (by their priority at their first
    // choice), so that a seat is rarely taken from someone who held it. With one priority order for
    // every facility nobody is ever displaced, and the proposals are those of serial dictatorship.
    // Each key packs the priority above the applicant: one machine word to sort.
    let mut stride = 0usize;
    let mut first: Vec<u64> = Vec::with_capacity(n);
    for (a, applicant) in instance.applicants().enumerate() {
        let a32 = u32::try_from(a).unwrap_or(u32::MAX);
        if !eligible(a32) {
            continue;
        }
        stride = stride.max(applicant.preferences.len());
        let key = applicant
            .preferences
            .first()
            .map_or(u32::MAX, |&f| priority(f, a32));
        first.push((u64::from(key) << 32) | u64::from(a32));
    }
    first.sort_unstable();
    // Applicants by their turn to propose: below, `r` is a turn and `ranked[r]` its applicant.
    let ranked: Vec<u32> = first.iter().map(|&k| (k & u64::from(u32::MAX)) as u32).collect();
    drop(first);
    let turns = ranked.len();
    let mut turn_of = vec![u32::MAX; n];
    for (r, &a) in ranked.iter().enumerate() {
        if let Some(t) = turn_of.get_mut(a as usize) {
            *t = u32::try_from(r).unwrap_or(u32::MAX);
        }
    }
    // Every proposal an applicant may make, in its order, computed once (reading the applicants in
    // their order) and laid out by turn: proposals are mostly made in that order, so they stream
    // from memory instead of chasing the applicant, its preferences and its priority at every
    // proposal. Turn `r`'s are the row `proposals[r × stride..]`, zero past its end.
    let mut proposals = vec![0u64; turns * stride];
    for (a, applicant) in instance.applicants().enumerate() {
        let Some(&r) = turn_of.get(a).filter(|&&r| r != u32::MAX) else {
            continue;
        };
        let at = r as usize * stride;
        let Some(row) = proposals.get_mut(at..at + stride) else {
            continue;
        };
        let a = u32::try_from(a).unwrap_or(u32::MAX);
        for (slot, &f) in row.iter_mut().zip(applicant.preferences) {
            *slot = match grid
                .bucket(f, applicant.section)
                .filter(|&b| capacity.get(b).copied().unwrap_or(0) > 0)
                .and_then(|b| u32::try_from(b).ok())
                .filter(|&b| b < NO_SEATS - 1)
            {
                Some(b) => Proposal::pack(priority(f, a), b),
                None => Proposal::pack(0, NO_SEATS),
            };
        }
    }
    drop(turn_of);
    // Per turn: how many of its proposals it has made, and the bucket holding it (or [`NO_SEATS`]).
    let mut next = vec![0u32; turns];
    let mut holder = vec![NO_SEATS; turns];
    // A stack of turns: the best on top.
    let mut free: Vec<u32> = (0..u32::try_from(turns).unwrap_or(u32::MAX)).rev().collect();
    let group_of = |r: u32| ranked.get(r as usize).and_then(|&a| group_of(a));
    let mut rejected = Vec::new();
    // Per bucket: how many are held, and the priority of the worst of them.
    let mut count = vec![0u32; held.len()];
    let mut worst = vec![0u32; held.len()];
    // Turns that lost their seat propose again a few proposals later, not at once: their rows of the
    // table are anywhere in memory, and are asked for when the seat is lost (proposing at once waited
    // for that cache miss, a quarter of the loop with priorities that differ by facility). The order
    // of proposals does not change the outcome.
    const LATER: usize = 8;
    let mut displaced: std::collections::VecDeque<u32> = std::collections::VecDeque::with_capacity(LATER + 1);
    let row_of = |r: u32, k: u32| r as usize * stride + k as usize;
    loop {
        let r = if displaced.len() >= LATER {
            displaced.pop_front()
        } else {
            free.pop().or_else(|| displaced.pop_front())
        };
        let Some(r) = r else { break };
        let Some(k) = next.get_mut(r as usize) else {
            continue;
        };
        let Some(Proposal { key, bucket }) = proposals
            .get(r as usize * stride + *k as usize)
            .filter(|_| (*k as usize) < stride)
            .and_then(|&p| Proposal::unpack(p))
        else {
            continue; // nothing left to ask for
        };
        *k += 1;
        let b = bucket as usize;
        let (Some(list), Some(rule), Some(&seats)) = (held.get_mut(b), rules.get(b), capacity.get(b)) else {
            // A facility without this section, or without seats in it: the next preference.
            free.push(r);
            continue;
        };
        let seats = seats as usize;
        // Best-first proposals mostly come after everyone held, and mostly to a full facility: settled
        // from two small flat vectors, without touching the list (a cache miss each) or searching it.
        let (Some(held_now), Some(last)) = (count.get_mut(b), worst.get_mut(b)) else {
            continue;
        };
        if rule.is_none() && (*held_now == 0 || key >= *last) {
            if (*held_now as usize) < seats {
                list.push((key, r));
                *held_now += 1;
                *last = key;
                set(&mut holder, r, bucket);
            } else {
                free.push(r);
            }
            continue;
        }
        let at = list.partition_point(|&(k, _)| k < key);
        list.insert(at, (key, r));
        set(&mut holder, r, bucket);
        match rule {
            None => {
                if list.len() > seats
                    && let Some((_, worst)) = list.pop()
                {
                    set(&mut holder, worst, NO_SEATS);
                    if let Some(k) = next.get(worst as usize)
                        && let Some(p) = proposals.get(row_of(worst, *k))
                    {
                        prefetch(p);
                    }
                    displaced.push_back(worst);
                }
            }
            Some(rule) => {
                choose(list, seats, rule, &group_of, &mut rejected);
                for &x in &rejected {
                    set(&mut holder, x, NO_SEATS);
                }
                free.append(&mut rejected);
            }
        }
        *held_now = u32::try_from(list.len()).unwrap_or(u32::MAX);
        *last = list.last().map_or(0, |&(k, _)| k);
    }
    // The proposal held is the last one made; its bucket names the facility.
    let width = u32::try_from(grid.width).unwrap_or(u32::MAX).max(1);
    let mut placed = vec![None; n];
    for ((&a, &b), &k) in ranked.iter().zip(&holder).zip(&next) {
        if b == NO_SEATS {
            continue;
        }
        if let Some(p) = placed.get_mut(a as usize) {
            *p = Some(placement(k.saturating_sub(1) as usize, b / width));
        }
    }
    Allocation { placed }
}

/// Records what turn `r` holds.
fn set(holder: &mut [u32], r: u32, bucket: u32) {
    if let Some(h) = holder.get_mut(r as usize) {
        *h = bucket;
    }
}

/// One proposal of deferred acceptance.
#[derive(Debug, Clone, Copy)]
struct Proposal {
    /// The applicant's priority at the facility.
    key: u32,
    /// The bucket (facility and section), or [`NO_SEATS`].
    bucket: u32,
}

impl Proposal {
    /// One word: the key above the bucket plus one, so that zero (what a row holds past its end, as
    /// the table is made) is no proposal.
    fn pack(key: u32, bucket: u32) -> u64 {
        (u64::from(key) << 32) | u64::from(bucket.saturating_add(1))
    }

    /// The proposal packed in `word`, or `None` past the end of a row.
    fn unpack(word: u64) -> Option<Proposal> {
        let low = (word & u64::from(u32::MAX)) as u32;
        (low != 0).then(|| Proposal {
            key: (word >> 32) as u32,
            bucket: if low == u32::MAX { NO_SEATS } else { low - 1 },
        })
    }
}

/// A preference for a facility without seats in the applicant's section.
const NO_SEATS: u32 = u32::MAX;

/// The choice rule of a facility with a reservation: keeps in `list` (best first) the applicants it
/// chooses and moves the others to `rejected`.
fn choose(
    list: &mut Vec<(u32, u32)>,
    seats: usize,
    rule: &Reservation,
    group_of: &impl Fn(u32) -> Option<u16>,
    rejected: &mut Vec<u32>,
) {
    let cap = rule.cap.map_or(usize::MAX, |c| c as usize);
    let floor = (rule.reserved as usize).min(cap).min(seats);
    let in_group = |a: u32| group_of(a) == Some(rule.group);
    let mut chosen = vec![false; list.len()];
    let (mut taken, mut group) = (0usize, 0usize);
    // Reserved seats first, to the best of the group.
    for (i, &(_, a)) in list.iter().enumerate() {
        if group == floor {
            break;
        }
        if in_group(a)
            && let Some(c) = chosen.get_mut(i)
        {
            *c = true;
            taken += 1;
            group += 1;
        }
    }
    // Then everybody by priority, the group within its cap.
    for (i, &(_, a)) in list.iter().enumerate() {
        if taken == seats {
            break;
        }
        if chosen.get(i).copied().unwrap_or(true) || (in_group(a) && group >= cap) {
            continue;
        }
        if let Some(c) = chosen.get_mut(i) {
            *c = true;
            taken += 1;
            group += usize::from(in_group(a));
        }
    }
    let mut keep = chosen.iter();
    list.retain(|&(_, a)| {
        let kept = keep.next().copied().unwrap_or(false);
        if !kept {
            rejected.push(a);
        }
        kept
    });
}

/// First choice first (immediate acceptance): in round k every family not yet placed asks for its k-th
/// choice; each facility takes the best of that round's askers, by `priority`, while it has seats.
/// Places given in a round are final.
pub fn first_choice_first(
    instance: &Instance,
    priority: impl Fn(u32, u32) -> u32,
    eligible: impl Fn(u32) -> bool,
) -> Allocation {
    let n = instance.len();
    let mut free = instance.free_seats();
    let grid = instance.grid();
    let mut placed: Vec<Option<Placement>> = vec![None; n];
    let rounds = instance
        .applicants()
        .map(|a| a.preferences.len())
        .max()
        .unwrap_or(0);
    for round in 0..rounds {
        // (bucket, priority, applicant, facility) for everyone asking this round.
        let mut asking: Vec<(usize, u32, u32, u32)> = Vec::new();
        for (a, applicant) in instance.applicants().enumerate() {
            let a = u32::try_from(a).unwrap_or(u32::MAX);
            if placed.get(a as usize).is_some_and(Option::is_some) || !eligible(a) {
                continue;
            }
            let Some(&f) = applicant.preferences.get(round) else {
                continue;
            };
            if let Some(b) = grid.bucket(f, applicant.section) {
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
