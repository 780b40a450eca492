//! Budget allocation for vouchers and contributions (*titoli sociali*, *contributi*): beneficiaries in
//! ranking order receive the amount the rules give them until the budget is spent.
//!
//! What happens at the edge, when the next beneficiary's amount no longer fits, is the regulation's
//! choice ([`EdgePolicy`]). Amounts are exact money; the total granted never exceeds the budget.

use graduatorie_domain::Money;
pub use graduatorie_rules::model::EdgePolicy;

/// One grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// Applicant index.
    pub applicant: u32,
    /// Amount granted.
    pub amount: Money,
    /// Less than the rules give (only with [`EdgePolicy::GrantRemainder`]).
    pub partial: bool,
}

/// Grants in ranking order (`order`: applicant and the amount the rules give it, best first).
pub fn allocate_budget(order: &[(u32, Money)], budget: Money, policy: EdgePolicy) -> Vec<Grant> {
    let mut left = budget.cents();
    let mut grants = Vec::new();
    for &(applicant, amount) in order {
        let want = amount.cents();
        if want == 0 {
            continue;
        }
        if want <= left {
            left -= want;
            grants.push(Grant {
                applicant,
                amount,
                partial: false,
            });
            continue;
        }
        match policy {
            EdgePolicy::Stop => break,
            EdgePolicy::SkipToNextThatFits => {}
            EdgePolicy::GrantRemainder => {
                if left > 0 {
                    let amount = Money::from_cents(left).unwrap_or(Money::ZERO);
                    grants.push(Grant {
                        applicant,
                        amount,
                        partial: true,
                    });
                }
                break;
            }
        }
        if left == 0 {
            break;
        }
    }
    grants
}
