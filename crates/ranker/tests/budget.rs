//! Budget allocation: worked examples and the invariants.

use graduatorie_domain::Money;
use graduatorie_ranker::{EdgePolicy, allocate_budget};
use proptest::prelude::*;

fn eur(s: &str) -> Money {
    Money::parse(s).unwrap()
}

fn order(amounts: &[&str]) -> Vec<(u32, Money)> {
    amounts
        .iter()
        .enumerate()
        .map(|(i, a)| (u32::try_from(i).unwrap(), eur(a)))
        .collect()
}

#[test]
fn the_three_edge_policies_by_hand() {
    // Budget 1,000.00; amounts in ranking order 400.00, 350.00, 300.00, 200.00, 50.00.
    // 400 + 350 = 750 → 250.00 left; 300.00 does not fit.
    let list = order(&["400.00", "350.00", "300.00", "200.00", "50.00"]);
    let budget = eur("1000.00");
    // Stop: only the first two.
    let g = allocate_budget(&list, budget, EdgePolicy::Stop);
    assert_eq!(g.iter().map(|g| g.applicant).collect::<Vec<_>>(), vec![0, 1]);
    // Skip: 300 skipped; 200 fits (50.00 left); 50 fits (0.00 left). Total 1,000.00.
    let g = allocate_budget(&list, budget, EdgePolicy::SkipToNextThatFits);
    assert_eq!(
        g.iter().map(|g| g.applicant).collect::<Vec<_>>(),
        vec![0, 1, 3, 4]
    );
    assert_eq!(g.iter().map(|g| g.amount.cents()).sum::<i64>(), 100_000);
    // Remainder: the third gets the 250.00 left, marked partial; nobody after.
    let g = allocate_budget(&list, budget, EdgePolicy::GrantRemainder);
    assert_eq!(g.len(), 3);
    assert_eq!(
        (g[2].applicant, g[2].amount, g[2].partial),
        (2, eur("250.00"), true)
    );
}

#[test]
fn cents_are_exact() {
    // Three grants of 333.33 from 1,000.00: 999.99 granted, 0.01 left, the fourth does not fit.
    let list = order(&["333.33", "333.33", "333.33", "333.33"]);
    let g = allocate_budget(&list, eur("1000.00"), EdgePolicy::GrantRemainder);
    assert_eq!(g.len(), 4);
    assert_eq!(g[3].amount, eur("0.01"));
}

proptest! {
    #[test]
    fn never_over_budget_and_in_order(
        amounts in prop::collection::vec(0i64..100_000, 0..40),
        budget in 0i64..1_000_000,
        policy in prop::sample::select(vec![EdgePolicy::Stop, EdgePolicy::SkipToNextThatFits, EdgePolicy::GrantRemainder]),
    ) {
        let list: Vec<(u32, Money)> = amounts.iter().enumerate()
            .map(|(i, &c)| (u32::try_from(i).unwrap(), Money::from_cents(c).unwrap())).collect();
        let grants = allocate_budget(&list, Money::from_cents(budget).unwrap(), policy);
        let total: i64 = grants.iter().map(|g| g.amount.cents()).sum();
        prop_assert!(total <= budget);
        prop_assert!(grants.windows(2).all(|w| w[0].applicant < w[1].applicant), "in ranking order");
        prop_assert!(grants.iter().filter(|g| g.partial).count() <= 1);
        for g in &grants {
            let want = amounts[g.applicant as usize];
            let as_ruled = if g.partial { g.amount.cents() < want } else { g.amount.cents() == want };
            prop_assert!(as_ruled, "grant differs from the amount the rules give");
        }
        if policy == EdgePolicy::SkipToNextThatFits {
            // Everyone not funded asked for more than was left when their turn came.
            let mut left = budget;
            for (i, &want) in amounts.iter().enumerate() {
                let funded = grants.iter().any(|g| g.applicant as usize == i);
                if funded { left -= want; } else { prop_assert!(want > left || want == 0); }
            }
        }
    }
}
