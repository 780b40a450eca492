//! Rankings: the ordered lists a regulation produces from scored applications.
//!
//! A list is global (one ranking for everybody), per age section, or per facility (when points depend
//! on the facility: each facility ranks the applications that chose it, with the points computed for
//! it). Excluded applications are in no list. Order: the regulation's ([`Regulation::compare`]): tiers,
//! total, tie-break chain, public draw, protocol number; so positions never tie.

use graduatorie_domain::ProtocolNumber;
pub use graduatorie_rules::model::ListKind;
use graduatorie_rules::model::TieKind;
use graduatorie_rules::{BatchScores, Evaluation, Regulation, Standing, draw_value};

use crate::keys::{self, Member};

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

/// Makes the lists of one kind from evaluations. Lists come out in key order.
pub fn rank(regulation: &Regulation, batch: Evaluated<'_>, kind: ListKind) -> Vec<RankedList> {
    let scores = BatchScores::from_evaluations(regulation, batch.evaluations);
    rank_scores(
        regulation,
        Scored {
            scores: &scores,
            protocols: batch.protocols,
            seed: batch.seed,
        },
        kind,
    )
}

/// Makes the lists of one kind from batch scores. Lists come out in key order (sections and
/// facilities by index).
pub fn rank_scores(regulation: &Regulation, batch: Scored<'_>, kind: ListKind) -> Vec<RankedList> {
    let s = batch.scores;
    let protocol = |i: usize| batch.protocols.get(i).copied().flatten();
    // One draw value per application, computed once (not at every comparison).
    let uses_draw = regulation
        .tie_breaks()
        .iter()
        .any(|t| matches!(t.kind, TieKind::Draw));
    let draws: Vec<Option<[u8; 32]>> = (0..s.len)
        .map(|i| match (uses_draw, batch.seed, protocol(i)) {
            (true, Some(seed), Some(p)) => Some(draw_value(seed, p)),
            _ => None,
        })
        .collect();
    let standing = |i: usize, row: Option<usize>| {
        let section = s.section.get(i).copied().flatten();
        let (total, tie_keys) = match row {
            Some(r) => {
                let (_, _, total, _, _, ties) = s.facility(r);
                (total, ties)
            }
            None => (s.total.get(i).copied().unwrap_or_default(), s.tie_keys(i)),
        };
        Standing {
            tier: s.tier(i),
            total,
            tie_keys,
            section,
            protocol: protocol(i),
            draw: draws.get(i).copied().flatten(),
        }
    };
    let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    let admitted = (0..s.len).filter(|&i| !s.excluded.get(i).copied().unwrap_or(true));
    // (list, applicant, facility row when the list is a facility's)
    let mut members: Vec<(ListKey, u32, Option<usize>)> = Vec::new();
    match kind {
        ListKind::Global => members.extend(admitted.map(|i| (ListKey::Global, index(i), None))),
        ListKind::PerSection => members.extend(admitted.filter_map(|i| {
            let section = s.section.get(i).copied().flatten()?;
            Some((ListKey::Section(section), index(i), None))
        })),
        ListKind::PerFacility => {
            for i in admitted {
                for row in s.facility_rows(i) {
                    let (f, ..) = s.facility(row);
                    members.push((ListKey::Facility(f), index(i), Some(row)));
                }
            }
        }
    }
    // Lists one after the other, members in applicant order; then each list in the regulation's order,
    // by sort keys when its standings can be written as bytes, by the comparator otherwise.
    members.sort_by_key(|(k, a, _)| (*k, *a));
    let mut start = 0;
    while start < members.len() {
        let key = members.get(start).map(|m| m.0);
        let end = start
            + members
                .get(start..)
                .map_or(0, |r| r.iter().take_while(|m| Some(m.0) == key).count());
        if let Some(run) = members.get_mut(start..end) {
            sort_list(regulation, run, &standing, batch.seed);
        }
        start = end.max(start + 1);
    }
    let mut lists: Vec<RankedList> = Vec::new();
    for (key, a, _) in members {
        match lists.last_mut() {
            Some(l) if l.key == key => l.order.push(a),
            _ => lists.push(RankedList { key, order: vec![a] }),
        }
    }
    lists
}

/// Sorts the members of one list (stable: members that tie completely keep applicant order).
fn sort_list<'a>(
    regulation: &Regulation,
    run: &mut [(ListKey, u32, Option<usize>)],
    standing: &impl Fn(usize, Option<usize>) -> Standing<'a>,
    seed: Option<&str>,
) {
    let standings: Vec<Standing<'a>> = run.iter().map(|(_, a, r)| standing(*a as usize, *r)).collect();
    let same_section = standings
        .first()
        .is_some_and(|f| f.section.is_some() && standings.iter().all(|s| s.section == f.section));
    let members: Vec<Member<'_>> = standings
        .iter()
        .map(|s| Member {
            tier: s.tier,
            total: s.total,
            ties: s.tie_keys,
            section: if same_section { s.section } else { None },
            protocol: s.protocol,
            draw: s.draw,
        })
        .collect();
    let mut order: Vec<usize> = (0..run.len()).collect();
    match keys::encode(regulation, &members, same_section, seed) {
        Some((bytes, w)) => {
            let key = |i: usize| bytes.get(i * w..(i + 1) * w).unwrap_or(&[]);
            // The first 16 bytes as a number settle most comparisons without touching the keys;
            // the member's index last keeps the order of complete ties (as a stable sort would).
            let mut pairs: Vec<(u128, usize)> = (0..run.len())
                .map(|i| {
                    let mut p = [0u8; 16];
                    for (d, s) in p.iter_mut().zip(key(i)) {
                        *d = *s;
                    }
                    (u128::from_be_bytes(p), i)
                })
                .collect();
            pairs.sort_unstable_by(|a, b| {
                a.0.cmp(&b.0)
                    .then_with(|| key(a.1).cmp(key(b.1)))
                    .then(a.1.cmp(&b.1))
            });
            order = pairs.into_iter().map(|(_, i)| i).collect();
        }
        None => order.sort_by(|&x, &y| match (standings.get(x), standings.get(y)) {
            (Some(a), Some(b)) => regulation.compare(a, b, seed),
            _ => x.cmp(&y),
        }),
    }
    let sorted: Vec<(ListKey, u32, Option<usize>)> =
        order.iter().filter_map(|&i| run.get(i).copied()).collect();
    for (slot, m) in run.iter_mut().zip(sorted) {
        *slot = m;
    }
}
