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

use crate::{facility_lists, keys};

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
    // What the ranking's keys read of application `i` with `total` (units): its standing without the
    // tie-break values and the decimal total, which the keys read elsewhere (making them was a third
    // of ranking 8 million facility entries).
    let bare = |i: usize, total: i64| Standing {
        tier: s.tier(i),
        total: rust_decimal::Decimal::ZERO,
        total_units: Some((total, s.points_scale())),
        tie_keys: graduatorie_rules::Ties::NONE,
        section: s.section.get(i).copied().flatten(),
        protocol: protocol(i),
        draw: draws.get(i).copied().flatten(),
    };
    let standing = |i: usize, row: Option<usize>| {
        let (total, tie_keys) = match row {
            Some(r) => {
                let f = s.facility(r);
                (f.total, f.ties)
            }
            None => (s.total.get(i).copied().unwrap_or_default(), s.tie_keys(i)),
        };
        Standing {
            total: s.decimal(total),
            tie_keys,
            ..bare(i, total)
        }
    };
    let admitted = (0..s.len).filter(|&i| !s.excluded.get(i).copied().unwrap_or(true));
    // A tie-break whose direction depends on the section needs each list's own plan: the comparator
    // orders members of different sections first by section there.
    let sectioned = regulation
        .tie_breaks()
        .iter()
        .any(|t| !t.section_order.is_empty());
    if kind == ListKind::PerFacility
        && !sectioned
        && let Some(lists) =
            facility_lists::facility_lists(regulation, s, admitted.clone(), &bare, batch.seed)
    {
        return lists;
    }
    // Everyone in some list, one entry per list they are in: the applicant and, in a facility's
    // list, the facility row; and the list of each entry. In applicant order, lists gathered by
    // index (looking the list up in a map for every member was a sixth of ranking a million).
    let mut who: Vec<u32> = Vec::with_capacity(s.len);
    let mut rows: Vec<u32> = Vec::new();
    let mut by: Vec<Vec<u32>> = Vec::new();
    match kind {
        ListKind::Global => {
            who = admitted.map(index).collect();
            by.push((0..who.len()).map(index).collect());
        }
        ListKind::PerSection => {
            for i in admitted {
                if let Some(section) = s.section.get(i).copied().flatten() {
                    gather(&mut by, usize::from(section), index(who.len()));
                    who.push(index(i));
                }
            }
        }
        ListKind::PerFacility => {
            for i in admitted {
                for row in s.facility_rows(i) {
                    gather(&mut by, s.facility(row).facility as usize, index(who.len()));
                    who.push(index(i));
                    rows.push(index(row));
                }
            }
        }
    }
    let list_key = |l: usize| match kind {
        ListKind::Global => ListKey::Global,
        ListKind::PerSection => ListKey::Section(u16::try_from(l).unwrap_or(u16::MAX)),
        ListKind::PerFacility => ListKey::Facility(index(l)),
    };
    let lists = by
        .into_iter()
        .enumerate()
        .filter(|(_, members)| !members.is_empty())
        .map(|(l, members)| (list_key(l), members));
    let member = |m: usize| {
        let a = who.get(m).copied().unwrap_or(u32::MAX) as usize;
        standing(a, rows.get(m).map(|&r| r as usize))
    };
    let applicant = |m: u32| who.get(m as usize).copied();
    if sectioned {
        return lists
            .map(|(key, members)| {
                let standings: Vec<Standing<'_>> = members.iter().map(|&m| member(m as usize)).collect();
                let order = keys::order(regulation, &standings, batch.seed)
                    .into_iter()
                    .filter_map(|i| applicant(*members.get(i as usize)?))
                    .collect();
                RankedList { key, order }
            })
            .collect();
    }
    // Otherwise every entry's key is made once, under one plan for all lists, reading the scores in
    // applicant order (a list at a time missed the cache at most members; planning each of 2,000
    // facilities' lists apart was 5.5 s of 8 million entries). Tie-break values are read from the
    // facility rows in facilities' lists, else from the applicants.
    let (apps, facility_rows): (&[u32], &[u32]) = if kind == ListKind::PerFacility {
        (&[], &rows)
    } else {
        (&who, &[])
    };
    let table = keys::Rows {
        scores: s,
        apps,
        rows: facility_rows,
    };
    let keyed = |m: usize| {
        let a = who.get(m).copied().unwrap_or(u32::MAX) as usize;
        let total = match rows.get(m) {
            Some(&r) => s.facility_total(r as usize),
            None => s.total.get(a).copied().unwrap_or_default(),
        };
        bare(a, total)
    };
    let (keys, written) = keys::keys(
        regulation,
        keys::Members {
            len: who.len(),
            get: &keyed,
            rows: Some(table),
        },
        batch.seed,
    );
    let standings = keys::Members {
        len: who.len(),
        get: &member,
        rows: Some(table),
    };
    let widest = index(who.len().saturating_sub(1));
    lists
        .map(|(key, members)| {
            let pairs = members
                .iter()
                .filter_map(|&m| Some((keys.get(m as usize).copied()?, m)));
            let order = keys::sort(regulation, standings, pairs, widest, written, batch.seed)
                .into_iter()
                .filter_map(applicant)
                .collect();
            RankedList { key, order }
        })
        .collect()
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
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
