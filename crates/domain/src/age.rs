//! Ages in whole months, the unit regulations use for age sections ("lattanti 3–12 mesi").
//!
//! A month is completed on the day with the same number as the birth day, or on the last day of the
//! month when that day does not exist (born 31 January: one month old on 28 or 29 February).

use jiff::civil::Date;

/// Whole months from `birth` to `at`; negative when `at` is before `birth` (an unborn child).
pub fn months_between(birth: Date, at: Date) -> i32 {
    if at < birth {
        return -months_between(at, birth);
    }
    let months = (i32::from(at.year()) - i32::from(birth.year())) * 12
        + (i32::from(at.month()) - i32::from(birth.month()));
    let month_not_complete = at.day() < birth.day() && at.day() < at.days_in_month();
    if month_not_complete { months - 1 } else { months }
}

/// Whole years from `birth` to `at` (a birthday on 29 February is reached on 28 February).
pub fn years_between(birth: Date, at: Date) -> i32 {
    months_between(birth, at).div_euclid(12)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i16, m: i8, day: i8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    #[test]
    fn same_day_next_month_completes_a_month() {
        assert_eq!(months_between(d(2025, 1, 15), d(2025, 2, 14)), 0);
        assert_eq!(months_between(d(2025, 1, 15), d(2025, 2, 15)), 1);
        assert_eq!(months_between(d(2024, 9, 1), d(2025, 9, 1)), 12);
        assert_eq!(months_between(d(2024, 9, 2), d(2025, 9, 1)), 11);
    }

    #[test]
    fn end_of_month_birthdays() {
        assert_eq!(months_between(d(2025, 1, 31), d(2025, 2, 27)), 0);
        assert_eq!(months_between(d(2025, 1, 31), d(2025, 2, 28)), 1);
        assert_eq!(months_between(d(2024, 1, 31), d(2024, 2, 29)), 1);
        assert_eq!(months_between(d(2025, 1, 31), d(2025, 3, 30)), 1);
        assert_eq!(months_between(d(2025, 1, 31), d(2025, 3, 31)), 2);
        assert_eq!(years_between(d(2024, 2, 29), d(2025, 2, 28)), 1);
    }

    #[test]
    fn unborn_children_are_negative() {
        assert_eq!(months_between(d(2026, 6, 10), d(2026, 4, 30)), -1);
        assert_eq!(months_between(d(2026, 6, 10), d(2026, 6, 10)), 0);
    }

    fn date() -> impl Strategy<Value = Date> {
        (1990i16..2040, 1i8..=12, 1i8..=31).prop_map(|(y, m, day)| {
            let last = d(y, m, 1).days_in_month();
            d(y, m, day.min(last))
        })
    }

    proptest! {
        #[test]
        fn months_grow_with_time(birth in date(), a in date(), b in date()) {
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            prop_assume!(birth <= a);
            prop_assert!(months_between(birth, a) <= months_between(birth, b));
        }

        #[test]
        fn agrees_with_calendar_addition(birth in date(), n in 0i32..400) {
            // Adding n months to the birth date (clamped to the month's end) reaches exactly n months.
            let target = birth.checked_add(jiff::Span::new().months(n)).unwrap();
            prop_assert_eq!(months_between(birth, target), n);
            let day_before = target.yesterday().unwrap();
            prop_assert!(months_between(birth, day_before) < n || n == 0);
        }
    }
}
