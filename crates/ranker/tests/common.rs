//! Helpers shared by the ranker's tests.

use graduatorie_ranker::Allocation;
use proptest::prelude::*;

/// The facility each applicant got, or `None`.
pub fn at(a: &Allocation) -> Vec<Option<u32>> {
    a.placed.iter().map(|p| p.map(|p| p.facility)).collect()
}

/// A random preference list over `nf` facilities: any number of them, in any order, none twice.
pub fn preferences(nf: usize) -> impl Strategy<Value = Vec<u32>> {
    (
        Just((0..u32::try_from(nf).unwrap()).collect::<Vec<u32>>()).prop_shuffle(),
        0..=nf,
    )
        .prop_map(|(mut p, k)| {
            p.truncate(k);
            p
        })
}

/// Every list a family could report: each ordered choice of up to `max_len` distinct facilities among
/// `nf`, the empty list included.
pub fn every_report(nf: u32, max_len: u32) -> Vec<Vec<u32>> {
    let mut reports: Vec<Vec<u32>> = vec![vec![]];
    let mut last: Vec<Vec<u32>> = vec![vec![]];
    for _ in 0..max_len.min(nf) {
        let mut longer = Vec::new();
        for r in &last {
            for f in (0..nf).filter(|f| !r.contains(f)) {
                let mut x = r.clone();
                x.push(f);
                longer.push(x);
            }
        }
        reports.extend(longer.iter().cloned());
        last = longer;
    }
    reports
}
