//! What an allocation is asked: the seats on offer and, per applicant, its age section and the
//! facilities it wants.
//!
//! The preferences of all applicants sit in one flat vector, each applicant's in its own stretch of
//! it: a million applicants would otherwise be a million small vectors, whose allocation, copy (every
//! round copies the instance) and release cost more than the allocation itself. An applicant's
//! preferences only shrink (a refused facility is dropped, a family holding a seat asks only for the
//! ones it prefers), so they always fit in their stretch.

use crate::prefetch::prefetch;

/// One family's application as the allocation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicant {
    /// Age section of the child (index into each facility's seats).
    pub section: u16,
    /// Facilities, most wanted first, without repetition.
    pub preferences: Vec<u32>,
}

/// One applicant of an [`Instance`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplicantRef<'a> {
    /// Age section of the child (index into each facility's seats).
    pub section: u16,
    /// Facilities, most wanted first, without repetition.
    pub preferences: &'a [u32],
}

/// What is on offer and who asks for it.
#[derive(Debug, Clone, Default)]
pub struct Instance {
    /// Seats per facility and section: `seats[facility][section]`. A missing entry means no seats.
    pub seats: Vec<Vec<u32>>,
    /// Per applicant, its section and where its preferences are in `flat` (together, so that a turn
    /// reads one cache line for them).
    spans: Vec<Span>,
    flat: Vec<u32>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    /// Where the preferences end: they shrink in rounds, and the end moves down.
    end: u32,
    section: u16,
}

impl Instance {
    /// An instance of `applicants`.
    pub fn new(seats: Vec<Vec<u32>>, applicants: &[Applicant]) -> Self {
        Self::from_fn(seats, applicants.len(), |a| {
            applicants
                .get(a)
                .map_or((0, &[][..]), |ap| (ap.section, ap.preferences.as_slice()))
        })
    }

    /// An instance of `n` applicants, the `a`th with the section and preferences `applicant(a)`
    /// (called twice per applicant; the preferences are copied).
    pub fn from_fn<'p>(
        seats: Vec<Vec<u32>>,
        n: usize,
        mut applicant: impl FnMut(usize) -> (u16, &'p [u32]),
    ) -> Self {
        // Sized once: growing the flat vector copied it into fresh memory at every doubling.
        let total = (0..n).map(|a| applicant(a).1.len()).sum();
        let mut spans = Vec::with_capacity(n);
        let mut flat = Vec::with_capacity(total);
        for a in 0..n {
            let (section, preferences) = applicant(a);
            let start = offset(flat.len());
            flat.extend_from_slice(preferences);
            spans.push(Span {
                start,
                end: offset(flat.len()),
                section,
            });
        }
        Instance { seats, spans, flat }
    }

    /// How many applicants.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no applicants.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Applicant `a`, if there is one.
    pub fn applicant(&self, a: usize) -> Option<ApplicantRef<'_>> {
        self.spans.get(a).map(|&span| self.borrow(span))
    }

    /// The applicants, in order.
    pub fn applicants(&self) -> impl ExactSizeIterator<Item = ApplicantRef<'_>> + '_ {
        self.spans.iter().map(|&span| self.borrow(span))
    }

    /// The applicants, as owned values (to change one and build another instance).
    pub fn to_applicants(&self) -> Vec<Applicant> {
        self.applicants()
            .map(|ap| Applicant {
                section: ap.section,
                preferences: ap.preferences.to_vec(),
            })
            .collect()
    }

    /// Applicant `a`'s preferences (none for an applicant that is not there).
    pub fn preferences(&self, a: usize) -> &[u32] {
        self.applicant(a).map_or(&[], |ap| ap.preferences)
    }

    fn borrow(&self, span: Span) -> ApplicantRef<'_> {
        ApplicantRef {
            section: span.section,
            preferences: self
                .flat
                .get(span.start as usize..span.end as usize)
                .unwrap_or(&[]),
        }
    }

    /// Moves applicant `a` to another section (a seat accepted in a neighbouring one).
    pub fn set_section(&mut self, a: usize, section: u16) {
        if let Some(span) = self.spans.get_mut(a) {
            span.section = section;
        }
    }

    /// Keeps only the preferences of applicant `a` that `keep` accepts, in their order.
    pub fn retain_preferences(&mut self, a: usize, mut keep: impl FnMut(u32) -> bool) {
        let Some(span) = self.spans.get_mut(a) else {
            return;
        };
        let Some(stretch) = self.flat.get_mut(span.start as usize..span.end as usize) else {
            return;
        };
        let mut kept = 0;
        for i in 0..stretch.len() {
            let Some(&f) = stretch.get(i) else { break };
            if keep(f) {
                if let Some(slot) = stretch.get_mut(kept) {
                    *slot = f;
                }
                kept += 1;
            }
        }
        span.end = span.start.saturating_add(offset(kept));
    }

    /// Keeps only the first `k` preferences of applicant `a`.
    pub fn truncate_preferences(&mut self, a: usize, k: usize) {
        if let Some(span) = self.spans.get_mut(a) {
            span.end = span.end.min(span.start.saturating_add(offset(k)));
        }
    }

    /// Starts loading applicant `a`'s section and where its preferences are (see [`prefetch`]).
    pub(crate) fn prefetch_applicant(&self, a: usize) {
        if let Some(span) = self.spans.get(a) {
            prefetch(span);
        }
    }

    /// Starts loading applicant `a`'s first preference (its span should be loaded by now).
    pub(crate) fn prefetch_preferences(&self, a: usize) {
        if let Some(f) = self.spans.get(a).and_then(|s| self.flat.get(s.start as usize)) {
            prefetch(f);
        }
    }
}

/// Two instances are equal when they offer the same seats to the same applicants, however their
/// preferences shrank to get there.
impl PartialEq for Instance {
    fn eq(&self, other: &Self) -> bool {
        self.seats == other.seats && self.len() == other.len() && self.applicants().eq(other.applicants())
    }
}

impl Eq for Instance {}

/// A position in the flat vector. Batches hold far fewer than 2³² preferences (that would be 16 GB
/// of them); past that the stretches would come out empty or short, never out of bounds.
fn offset(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Instance {
        let applicants = [
            Applicant {
                section: 0,
                preferences: vec![4, 2, 7],
            },
            Applicant {
                section: 1,
                preferences: vec![],
            },
            Applicant {
                section: 2,
                preferences: vec![1, 3],
            },
        ];
        Instance::new(vec![vec![1]], &applicants)
    }

    #[test]
    fn each_applicant_keeps_its_own_section_and_preferences() {
        let inst = three();
        assert_eq!(inst.len(), 3);
        assert_eq!(inst.preferences(0), [4, 2, 7]);
        assert_eq!(inst.preferences(1), [] as [u32; 0]);
        assert_eq!(inst.preferences(2), [1, 3]);
        assert_eq!(inst.applicant(2).map(|a| a.section), Some(2));
        assert_eq!(inst.applicant(3), None);
        assert_eq!(inst.preferences(3), [] as [u32; 0]);
        assert_eq!(
            inst.to_applicants().first().map(|a| a.preferences.clone()),
            Some(vec![4, 2, 7])
        );
    }

    #[test]
    fn preferences_shrink_in_place_without_touching_the_neighbours() {
        let mut inst = three();
        inst.retain_preferences(0, |f| f != 2);
        assert_eq!(inst.preferences(0), [4, 7]);
        inst.truncate_preferences(0, 5);
        assert_eq!(
            inst.preferences(0),
            [4, 7],
            "truncating past the end keeps everything"
        );
        inst.truncate_preferences(0, 1);
        assert_eq!(inst.preferences(0), [4]);
        assert_eq!(inst.preferences(2), [1, 3]);
        inst.set_section(2, 0);
        assert_eq!(inst.applicant(2).map(|a| a.section), Some(0));
    }

    #[test]
    fn equal_when_the_applicants_are_the_same_however_they_got_there() {
        let mut shrunk = three();
        shrunk.retain_preferences(0, |f| f == 4);
        let fresh = Instance::new(
            vec![vec![1]],
            &[
                Applicant {
                    section: 0,
                    preferences: vec![4],
                },
                Applicant {
                    section: 1,
                    preferences: vec![],
                },
                Applicant {
                    section: 2,
                    preferences: vec![1, 3],
                },
            ],
        );
        assert_eq!(shrunk, fresh);
        assert_ne!(three(), fresh);
    }
}
