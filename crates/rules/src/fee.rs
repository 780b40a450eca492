//! The monthly fee (*retta*) as a function of a value, usually the ISEE.
//!
//! Every band gives an amount, fixed or interpolated linearly between its bounds. Interpolation is done
//! in exact decimals (28 significant digits, multiplying before dividing) and only the final amount is
//! rounded to the cent, with the rounding the regulation names (half away from zero unless told).

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::evaluate::band_value;
use crate::expr::eval::Env;
use crate::facts::Facts;
use crate::model::{Regulation, Rounding};

/// One computed part of a fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeePart {
    /// Component id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Unit (`mese`, `giorno`).
    pub per: String,
    /// Amount in euro, rounded to the cent.
    pub amount: Decimal,
}

/// Why a fee cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    /// The regulation has no `[fee]`.
    #[error("this regulation has no fee formula")]
    NoFee,
    /// The value is missing and the regulation refuses to assume the highest fee.
    #[error("the value the fee depends on is missing")]
    Missing,
    /// Arithmetic failed.
    #[error("{0}")]
    Eval(String),
}

impl Regulation {
    /// Computes the fee parts for an application.
    pub fn fee_for(&self, facts: &Facts) -> Result<Vec<FeePart>, FeeError> {
        let fee = self.fee.as_ref().ok_or(FeeError::NoFee)?;
        self.amounts_for(fee, facts)
    }

    /// The amount a beneficiary is granted (`[grant]`): the sum of its components, to the cent.
    pub fn grant_for(&self, facts: &Facts) -> Result<Decimal, FeeError> {
        let grant = self.grant.as_ref().ok_or(FeeError::NoFee)?;
        Ok(self.amounts_for(grant, facts)?.iter().map(|p| p.amount).sum())
    }

    /// True when the regulation grants money (`[grant]`) rather than, or besides, seats.
    pub fn has_grant(&self) -> bool {
        self.grant.is_some()
    }

    fn amounts_for(&self, fee: &crate::model::Fee, facts: &Facts) -> Result<Vec<FeePart>, FeeError> {
        let mut derived = Vec::with_capacity(self.derived.len());
        let mut rows = vec![0u32; self.lists.len()];
        self.derived_values(facts, &mut rows, &mut derived)
            .map_err(|(d, e)| FeeError::Eval(format!("{}: {e}", d.label)))?;
        let mut env = Env::new(facts, &derived, &mut rows);
        let value = fee
            .value
            .eval(&mut env)
            .map_err(|e| FeeError::Eval(e.to_string()))?;
        amounts_at(fee, value.as_dec())
    }

    /// Computes the fee parts for a value (`None`: missing).
    pub fn fee_at(&self, value: Option<Decimal>) -> Result<Vec<FeePart>, FeeError> {
        let fee = self.fee.as_ref().ok_or(FeeError::NoFee)?;
        amounts_at(fee, value)
    }
}

/// The amounts of each component at a value (rounded to the cent, never negative).
fn amounts_at(fee: &crate::model::Fee, value: Option<Decimal>) -> Result<Vec<FeePart>, FeeError> {
    let strategy = match fee.rounding {
        Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
        Rounding::Down => RoundingStrategy::ToZero,
        Rounding::Up => RoundingStrategy::AwayFromZero,
    };
    let mut parts = Vec::with_capacity(fee.components.len());
    for c in &fee.components {
        let amount = match value {
            Some(x) => band_value(&c.bands, x)
                .map_err(|e| FeeError::Eval(e.to_string()))?
                .map(|(_, a)| a),
            None if fee.missing_highest => c.bands.last().map(|b| match b.gives {
                crate::model::BandValue::Fixed(a) => a,
                crate::model::BandValue::Linear(_, z) => z,
            }),
            None => return Err(FeeError::Missing),
        };
        let amount = amount
            .unwrap_or(Decimal::ZERO)
            .round_dp_with_strategy(2, strategy);
        parts.push(FeePart {
            id: c.id.clone(),
            label: c.label.clone(),
            per: c.per.clone(),
            amount: amount.max(Decimal::ZERO),
        });
    }
    Ok(parts)
}
