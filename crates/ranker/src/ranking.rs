//! Rankings: the ordered lists a regulation produces from scored applications.
//!
//! A list is global (one ranking for everybody), per age section, or per facility (when points depend
//! on the facility: each facility ranks the applications that chose it, with the points computed for
//! it). Excluded applications are in no list. Order: the regulation's ([`Regulation::compare`]): tiers,
//! total, tie-break chain, public draw, protocol number; so positions never tie.

use graduatorie_domain::ProtocolNumber;
pub use graduatorie_rules::model::ListKind;
use graduatorie_rules::model::TieKind;
use graduatorie_rules::{BatchScores, Evaluation, EvaluationError, Regulation, Standing, draw_value};

use crate::keys;

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

/// The applications of a batch, evaluated one by one.
#[derive(Debug, Clone, Copy)]
pub struct Evaluated<'a> {
    /// Evaluations, one per application.
    pub evaluations: &'a [Evaluation],
    /// Protocol numbers, one per application.
    pub protocols: &'a [Option<ProtocolNumber>],
    /// Published seed of the public draw, when the regulation uses it.
    pub seed: Option<&'a str>,
}

/// The applications of a batch, scored together ([`Regulation::score_batch`]).
#[derive(Debug, Clone, Copy)]
pub struct Scored<'a> {
    /// The scores.
    pub scores: &'a BatchScores,
    /// Protocol numbers, one per application.
    pub protocols: &'a [Option<ProtocolNumber>],
    /// Published seed of the public draw, when the regulation uses it.
    pub seed: Option<&'a str>,
}

/// Makes the lists of one kind from evaluations. Lists come out in key order. Fails, naming the
/// application, only when its points exceed what a batch holds (see [`BatchScores::decimal`]).
pub fn rank(
    regulation: &Regulation,
    batch: Evaluated<'_>,
    kind: ListKind,
) -> Result<Vec<RankedList>, (usize, EvaluationError)> {
    let scores = BatchScores::from_evaluations(regulation, batch.evaluations)?;
    Ok(rank_scores(
        regulation,
        Scored {
            scores: &scores,
            protocols: batch.protocols,
            seed: batch.seed,
        },
        kind,
    ))
}

/// Makes the lists of one kind from batch scores. Lists come out in key order (sections and
/// facilities by index).
pub fn rank_scores(regulation: &Regulation, batch: Scored<'_>, kind: ListKind) -> Vec<RankedList> {
    let s = batch.scores;
    let protocol = |i: usize| batch.protocols.get(i).copied().flatten();
    // One draw value per application, computed once (not at every comparison); none at all when
    // the regulation has no draw (33 MB for a million).
    let uses_draw = regulation
        .tie_breaks()
        .iter()
        .any(|t| matches!(t.kind, TieKind::Draw));
    let draws: Vec<Option<[u8; 32]>> = match (uses_draw, batch.seed) {
        (true, Some(seed)) => (0..s.len)
            .map(|i| protocol(i).map(|p| draw_value(seed, p)))
            .collect(),
        _ => Vec::new(),
    };
    let standing = |i: usize, row: Option<usize>| {
        let section = s.section.get(i).copied().flatten();
        let (total, tie_keys) = match row {
            Some(r) => {
                let f = s.facility(r);
                (f.total, f.ties)
            }
            None => (s.total.get(i).copied().unwrap_or_default(), s.tie_keys(i)),
        };
        Standing {
            tier: s.tier(i),
            total: s.decimal(total),
            total_units: Some((total, s.points_scale())),
            tie_keys,
            section,
            protocol: protocol(i),
            draw: draws.get(i).copied().flatten(),
        }
    };
    let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    let admitted = (0..s.len).filter(|&i| !s.excluded.get(i).copied().unwrap_or(true));
    if kind == ListKind::PerFacility {
        // Members per facility, in applicant order, with the facility row of each.
        let mut by: Vec<Vec<(u32, usize)>> = Vec::new();
        for i in admitted {
            for row in s.facility_rows(i) {
                let f = s.facility(row).facility;
                gather(&mut by, f as usize, (index(i), row));
            }
        }
        return by
            .into_iter()
            .enumerate()
            .filter(|(_, members)| !members.is_empty())
            .map(|(f, members)| {
                let standings: Vec<Standing<'_>> = members
                    .iter()
                    .map(|&(a, r)| standing(a as usize, Some(r)))
                    .collect();
                let order = keys::order(regulation, &standings, batch.seed)
                    .into_iter()
                    .filter_map(|m| members.get(m as usize).map(|&(a, _)| a))
                    .collect();
                RankedList {
                    key: ListKey::Facility(index(f)),
                    order,
                }
            })
            .collect();
    }
    // A global list, or one per section: every admitted applicant is in one list at most. Members in
    // applicant order, gathered by index (looking the list up in a map for every member was a sixth
    // of ranking a million).
    let lists: Vec<(ListKey, Vec<u32>)> = match kind {
        ListKind::PerSection => {
            let mut by: Vec<Vec<u32>> = Vec::new();
            for i in admitted {
                if let Some(section) = s.section.get(i).copied().flatten() {
                    gather(&mut by, usize::from(section), index(i));
                }
            }
            by.into_iter()
                .enumerate()
                .map(|(section, members)| {
                    (
                        ListKey::Section(u16::try_from(section).unwrap_or(u16::MAX)),
                        members,
                    )
                })
                .collect()
        }
        _ => vec![(ListKey::Global, admitted.map(index).collect())],
    };
    let lists = lists.into_iter().filter(|(_, members)| !members.is_empty());
    // A tie-break whose direction depends on the section needs each list's own plan.
    if regulation
        .tie_breaks()
        .iter()
        .any(|t| !t.section_order.is_empty())
    {
        return lists
            .map(|(key, members)| {
                let standings: Vec<Standing<'_>> =
                    members.iter().map(|&a| standing(a as usize, None)).collect();
                let order = keys::order(regulation, &standings, batch.seed)
                    .into_iter()
                    .filter_map(|m| members.get(m as usize).copied())
                    .collect();
                RankedList { key, order }
            })
            .collect();
    }
    // Otherwise each application's key is made once for all lists, reading the scores in applicant
    // order (a list at a time missed the cache at most members): the members of all lists, in
    // applicant order, are the admitted applications in a list.
    let lists: Vec<(ListKey, Vec<u32>)> = lists.collect();
    let mut listed = vec![false; s.len];
    for &a in lists.iter().flat_map(|(_, members)| members) {
        if let Some(l) = listed.get_mut(a as usize) {
            *l = true;
        }
    }
    let everyone: Vec<u32> = (0..s.len)
        .filter(|&a| listed.get(a).copied().unwrap_or(false))
        .map(index)
        .collect();
    let mut at = vec![u32::MAX; s.len];
    for (m, &a) in everyone.iter().enumerate() {
        if let Some(slot) = at.get_mut(a as usize) {
            *slot = index(m);
        }
    }
    let member = |m: usize| standing(everyone.get(m).copied().unwrap_or(u32::MAX) as usize, None);
    let standings = keys::Members {
        len: everyone.len(),
        get: &member,
        rows: Some((s, &everyone)),
    };
    let (keys, written) = keys::keys(regulation, standings, batch.seed);
    let widest = index(everyone.len().saturating_sub(1));
    lists
        .into_iter()
        .map(|(key, members)| {
            let pairs = members.iter().filter_map(|&a| {
                let m = at.get(a as usize).copied()?;
                Some((keys.get(m as usize).copied()?, m))
            });
            let order = keys::sort(regulation, standings, pairs, widest, written, batch.seed)
                .into_iter()
                .filter_map(|m| everyone.get(m as usize).copied())
                .collect();
            RankedList { key, order }
        })
        .collect()
}

/// Adds `member` to list `at` of `lists`, making room for it.
fn gather<T>(lists: &mut Vec<Vec<T>>, at: usize, member: T) {
    if lists.len() <= at {
        lists.resize_with(at + 1, Vec::new);
    }
    if let Some(list) = lists.get_mut(at) {
        list.push(member);
    }
}
