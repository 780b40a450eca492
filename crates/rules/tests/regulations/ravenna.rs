//! Ravenna fees (config/rules/ravenna-nidi-rette.toml), at the band edges and inside the bands. Formulas
//! from shared/regolamenti/README.md; rounding to the cent half away from zero (F2).

use rust_decimal::Decimal;

use crate::helpers::{d, load};

fn fee(isee: Option<&str>) -> (Decimal, Decimal) {
    let reg = load("ravenna-nidi-rette.toml");
    let parts = reg.fee_at(isee.map(d)).unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!((parts[0].id.as_str(), parts[1].id.as_str()), ("monthly", "daily"));
    (parts[0].amount, parts[1].amount)
}

#[test]
fn exempt_up_to_4500() {
    assert_eq!(fee(Some("0")), (d("0"), d("0")));
    assert_eq!(fee(Some("4500.00")), (d("0"), d("0")));
}

#[test]
fn first_band_starts_at_the_minimum() {
    // 30.00 + (4,500.01 − 4,500.01) × … = 30.00; 0.90 likewise.
    assert_eq!(fee(Some("4500.01")), (d("30.00"), d("0.90")));
    // 30.00 + 0.01 × 250.00 / 25,499.99 = 30.000098… → 30.00; 0.90 + 0.01 × 2.60 / 25,499.99 → 0.90.
    assert_eq!(fee(Some("4500.02")), (d("30.00"), d("0.90")));
}

#[test]
fn first_band_ends_at_the_maximum() {
    // 30.00 + 25,499.99 × 250.00 / 25,499.99 = 280.00; 0.90 + 2.60 = 3.50.
    assert_eq!(fee(Some("30000.00")), (d("280.00"), d("3.50")));
}

#[test]
fn second_band_edges() {
    // 280.00 + 0 = 280.00 at 30,000.01, 415.00 at 35,000.00; daily 3.50 → 4.00.
    assert_eq!(fee(Some("30000.01")), (d("280.00"), d("3.50")));
    assert_eq!(fee(Some("35000.00")), (d("415.00"), d("4.00")));
}

#[test]
fn above_the_last_band_and_missing_isee_pay_the_maximum() {
    assert_eq!(fee(Some("35000.01")), (d("415.00"), d("4.00")));
    assert_eq!(fee(Some("120000.00")), (d("415.00"), d("4.00")));
    assert_eq!(fee(None), (d("415.00"), d("4.00")));
}

#[test]
fn inside_the_first_band() {
    // ISEE 10,000.00: 30.00 + 5,499.99 × 250.00 / 25,499.99 = 30.00 + 1,374,997.50 / 25,499.99
    // = 30.00 + 53.92149… = 83.92149… → 83.92.
    // Daily: 0.90 + 5,499.99 × 2.60 / 25,499.99 = 0.90 + 14,299.974 / 25,499.99 = 0.90 + 0.56078… → 1.46.
    assert_eq!(fee(Some("10000.00")), (d("83.92"), d("1.46")));
    // ISEE 17,250.00: 30.00 + 12,749.99 × 250.00 / 25,499.99 = 30.00 + 124.99995… = 154.99995… → 155.00.
    // Daily: 0.90 + 12,749.99 × 2.60 / 25,499.99 = 0.90 + 1.2999995… → 2.20.
    let (monthly, daily) = fee(Some("17250.00"));
    assert_eq!((monthly, daily), (d("155.00"), d("2.20")));
    // Bill for 20 days attended: 155.00 + 2.20 × 20 = 199.00.
    assert_eq!(monthly + daily * Decimal::from(20), d("199.00"));
}

#[test]
fn inside_the_second_band() {
    // ISEE 33,000.00: 280.00 + 2,999.99 × 135.00 / 4,999.99 = 280.00 + 80.99989… → 361.00;
    // daily 3.50 + 2,999.99 × 0.50 / 4,999.99 = 3.50 + 0.29999… → 3.80.
    assert_eq!(fee(Some("33000.00")), (d("361.00"), d("3.80")));
}

#[test]
fn fee_from_an_application() {
    let reg = load("ravenna-nidi-rette.toml");
    let e = crate::helpers::explain(&reg, r#"{"inputs": {"isee": "10000.00"}}"#);
    let fee = e.fee.unwrap();
    assert_eq!(fee[0].amount, d("83.92"));
    assert_eq!(fee[0].per, "mese");
}
