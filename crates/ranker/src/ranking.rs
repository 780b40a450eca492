//! Rankings: the ordered lists a regulation produces from evaluated applications.
//!
//! A list is global (one ranking for everybody), per age section, or per facility (when points depend
//! on the facility: each facility ranks the applications that chose it, with the points computed for
//! it). Excluded applications are in no list. Order: the regulation's ([`Regulation::compare`]): tiers,
//! total, tie-break chain, public draw, protocol number; so positions never tie.

use graduatorie_domain::ProtocolNumber;
use graduatorie_rules::{Eligibility, Evaluation, Regulation, Standing};

/// Which lists to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// One list for everybody.
    Global,
    /// One list per age section.
    PerSection,
    /// One list per facility, of the applications that chose it.
    PerFacility,
}

/// What a list is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ListKey {
    /// The global list.
    Global,
    /// The list of an age section (index in the regulation's sections).
    Section(u16),
    /// The list of a facility (index in the batch's facility table).
    Facility(u32),
}

/// One ranked list: applicant indexes, best first (position = index + 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankedList {
    /// What the list is about.
    pub key: ListKey,
    /// Applicants, best first.
    pub order: Vec<u32>,
}

/// The applications of a batch, evaluated.
#[derive(Debug, Clone, Copy)]
pub struct Evaluated<'a> {
    /// Evaluations, one per application.
    pub evaluations: &'a [Evaluation],
    /// Protocol numbers, one per application.
    pub protocols: &'a [Option<ProtocolNumber>],
    /// Published seed of the public draw, when the regulation uses it.
    pub seed: Option<&'a str>,
}

/// Makes the lists of one kind. Lists come out in key order (sections and facilities by index).
pub fn rank(regulation: &Regulation, batch: Evaluated<'_>, kind: ListKind) -> Vec<RankedList> {
    let admitted = |i: usize| {
        batch
            .evaluations
            .get(i)
            .is_some_and(|e| !matches!(e.eligibility, Eligibility::Excluded(_)))
    };
    let protocol = |i: usize| batch.protocols.get(i).copied().flatten();
    let n = batch.evaluations.len();
    let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    match kind {
        ListKind::Global | ListKind::PerSection => {
            let mut members: Vec<(ListKey, u32)> = (0..n)
                .filter(|&i| admitted(i))
                .filter_map(|i| {
                    let ev = batch.evaluations.get(i)?;
                    let key = match kind {
                        ListKind::Global => ListKey::Global,
                        _ => ListKey::Section(ev.section?),
                    };
                    Some((key, index(i)))
                })
                .collect();
            members.sort_by(|(ka, a), (kb, b)| {
                ka.cmp(kb).then_with(|| {
                    let (ea, eb) = (
                        batch.evaluations.get(*a as usize),
                        batch.evaluations.get(*b as usize),
                    );
                    match (ea, eb) {
                        (Some(ea), Some(eb)) => regulation.compare(
                            &Standing::of(ea, protocol(*a as usize)),
                            &Standing::of(eb, protocol(*b as usize)),
                            batch.seed,
                        ),
                        _ => a.cmp(b),
                    }
                })
            });
            group(members)
        }
        ListKind::PerFacility => {
            // (facility, applicant, row of that facility in the applicant's evaluation)
            let mut members: Vec<(u32, u32, usize)> = Vec::new();
            for i in (0..n).filter(|&i| admitted(i)) {
                let Some(ev) = batch.evaluations.get(i) else {
                    continue;
                };
                for (row, fs) in ev.facilities.iter().enumerate() {
                    members.push((fs.facility, index(i), row));
                }
            }
            members.sort_by(|(fa, a, ra), (fb, b, rb)| {
                fa.cmp(fb).then_with(|| {
                    let sa = batch
                        .evaluations
                        .get(*a as usize)
                        .and_then(|e| Some((e, e.facilities.get(*ra)?)));
                    let sb = batch
                        .evaluations
                        .get(*b as usize)
                        .and_then(|e| Some((e, e.facilities.get(*rb)?)));
                    match (sa, sb) {
                        (Some((ea, fa)), Some((eb, fb))) => regulation.compare(
                            &Standing::at(ea, fa, protocol(*a as usize)),
                            &Standing::at(eb, fb, protocol(*b as usize)),
                            batch.seed,
                        ),
                        _ => a.cmp(b),
                    }
                })
            });
            group(
                members
                    .into_iter()
                    .map(|(f, a, _)| (ListKey::Facility(f), a))
                    .collect(),
            )
        }
    }
}

fn group(members: Vec<(ListKey, u32)>) -> Vec<RankedList> {
    let mut lists: Vec<RankedList> = Vec::new();
    for (key, a) in members {
        match lists.last_mut() {
            Some(l) if l.key == key => l.order.push(a),
            _ => lists.push(RankedList { key, order: vec![a] }),
        }
    }
    lists
}
