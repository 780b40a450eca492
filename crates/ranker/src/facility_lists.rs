//! Facilities' lists made from one ranking of the applications.
//!
//! When points depend on the facility, each facility ranks the applications that chose it with the
//! points computed for it. But most facility rows rank exactly as their application does (a sibling
//! already at the facility gives points at that facility only:
//! [`BatchScores::facility_row_ranks_as_application`]); those rows appear in every list in the
//! applications' own order. So the applications are sorted once, dealt out to the lists of the
//! facilities they chose in that order, and only the other rows get keys of their own, sorted per
//! list and merged in. With a million applications choosing eight facilities each, that is one sort
//! of a million keys instead of keys and sorts for eight million entries.
//!
//! Exact: every key is made under one plan (applications and the rows apart together), so a row whose
//! fields are its application's has its application's key, and keys compare as the comparator does
//! when they are complete. When they are not (a step the key cannot express), the caller ranks each
//! entry itself ([`facility_lists`] gives nothing).

use graduatorie_rules::{BatchScores, Regulation, Standing};

use crate::keys;
use crate::prefetch::prefetch;
use crate::ranking::{ListKey, RankedList};

/// The lists of the facilities chosen by the applications `admitted` (in index order), or `None`
/// when the keys cannot decide every comparison. `bare(i, total)` is application `i`'s standing with
/// that total (in units), as the keys read it.
pub(crate) fn facility_lists<'a>(
    reg: &Regulation,
    s: &BatchScores,
    admitted: impl Iterator<Item = usize>,
    bare: &dyn Fn(usize, i64) -> Standing<'a>,
    seed: Option<&str>,
) -> Option<Vec<RankedList>> {
    let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    // The applications in some list; for each of their rows in turn (from `starts[m]` for the `m`th),
    // the facility whose list it is dealt to when it ranks as its application (else `APART`), counted
    // per facility; the other rows.
    const APART: u32 = u32::MAX;
    let mut apps: Vec<u32> = Vec::with_capacity(s.len);
    let mut starts: Vec<u32> = Vec::with_capacity(s.len + 1);
    let mut targets: Vec<u32> = Vec::new();
    let mut counts: Vec<u32> = Vec::new();
    let (mut apart_who, mut apart_rows): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    for i in admitted {
        let rows = s.facility_rows(i);
        if rows.is_empty() {
            continue;
        }
        apps.push(index(i));
        starts.push(index(targets.len()));
        for r in rows {
            // (Every row of an application has a facility.)
            let Some(f) = s.facility_of(r).map(|f| f as usize) else {
                continue;
            };
            if counts.len() <= f {
                // Every facility chosen has a list, whether its rows are dealt or apart.
                counts.resize(f + 1, 0);
            }
            if s.facility_row_ranks_as_application(r)
                && let Some(c) = counts.get_mut(f)
            {
                *c += 1;
                targets.push(index(f));
            } else {
                targets.push(APART);
                apart_who.push(index(i));
                apart_rows.push(index(r));
            }
        }
    }
    starts.push(index(targets.len()));
    // Members: the applications, then the rows apart.
    let n_apps = apps.len();
    let member = |m: usize| match m.checked_sub(n_apps) {
        None => {
            let a = apps.get(m).map_or(usize::MAX, |&a| a as usize);
            bare(a, s.total.get(a).copied().unwrap_or_default())
        }
        Some(j) => {
            let a = apart_who.get(j).map_or(usize::MAX, |&a| a as usize);
            let r = apart_rows.get(j).map_or(usize::MAX, |&r| r as usize);
            bare(a, s.facility_total(r))
        }
    };
    let members = keys::Members {
        len: n_apps + apart_rows.len(),
        get: &member,
        rows: Some(keys::Rows {
            scores: s,
            apps: &apps,
            rows: &apart_rows,
        }),
    };
    let (keys, written) = keys::keys(reg, members, seed);
    if !written.complete {
        return None;
    }
    // The applications in order, dealt out to the lists of the rows that rank as them.
    let pairs = (0..n_apps).filter_map(|m| Some((keys.get(m).copied()?, index(m))));
    let order = keys::sort(
        reg,
        members,
        pairs,
        index(n_apps.saturating_sub(1)),
        written,
        seed,
    );
    // Each row apart goes before the application at ranking place `q`: the number of applications
    // whose (key, applicant) is smaller (complete ties keep applicant order). Sorted per list.
    let ranked: Vec<(u128, u32)> = order
        .iter()
        .map(|&m| {
            (
                keys.get(m as usize).copied().unwrap_or(u128::MAX),
                apps.get(m as usize).copied().unwrap_or(u32::MAX),
            )
        })
        .collect();
    let mut apart: Vec<Vec<(u128, u32, u32)>> = vec![Vec::new(); counts.len()];
    for (j, &r) in apart_rows.iter().enumerate() {
        if let (Some(list), Some(&k), Some(&a)) = (
            s.facility_of(r as usize).and_then(|f| apart.get_mut(f as usize)),
            keys.get(n_apps + j),
            apart_who.get(j),
        ) {
            list.push((k, a, index(ranked.partition_point(|&x| x < (k, a)))));
        }
    }
    drop(keys);
    for list in &mut apart {
        list.sort_unstable();
    }
    // The lists, filled in ranking order: each application in the lists of its rows that rank as it,
    // after the rows apart that go before it there. Applications are visited in ranking order, all
    // over memory: where their rows start is asked for a few turns ahead, the rows themselves at half
    // the distance.
    let mut lists: Vec<Vec<u32>> = counts
        .iter()
        .zip(&apart)
        .map(|(&c, x)| Vec::with_capacity(c as usize + x.len()))
        .collect();
    let mut next_apart = vec![0usize; apart.len()];
    const AHEAD: usize = 8;
    let start = |m: u32| starts.get(m as usize).copied().unwrap_or(0) as usize;
    for (p, &m) in order.iter().enumerate() {
        if let Some(&later) = order.get(p + 2 * AHEAD)
            && let Some(x) = starts.get(later as usize)
        {
            prefetch(x);
        }
        if let Some(&next) = order.get(p + AHEAD)
            && let Some(x) = targets.get(start(next))
        {
            prefetch(x);
        }
        let Some(&(_, a)) = ranked.get(p) else { continue };
        for &f in targets.get(start(m)..start(m + 1)).unwrap_or(&[]) {
            let f = f as usize;
            if let (Some(list), Some(before), Some(at)) =
                (lists.get_mut(f), apart.get(f), next_apart.get_mut(f))
            {
                while let Some(&(_, b, q)) = before.get(*at)
                    && q as usize <= p
                {
                    list.push(b);
                    *at += 1;
                }
                list.push(a);
            }
        }
    }
    let lists = lists
        .into_iter()
        .zip(apart)
        .zip(next_apart)
        .enumerate()
        .map(|(f, ((mut list, apart), at))| {
            list.extend(apart.get(at..).unwrap_or(&[]).iter().map(|&(_, b, _)| b));
            RankedList {
                key: ListKey::Facility(index(f)),
                order: list,
            }
        })
        .filter(|l| !l.order.is_empty())
        .collect();
    Some(lists)
}
